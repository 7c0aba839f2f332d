// The app shell: it loads from the release build, renders every placeholder, logs no errors,
// and the theme toggle switches and remembers <html data-theme>.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { SHELL_TESTIDS, distDir, open, screenshot, useApp, waitForStatus } from "../lib.mjs";

before(async () => {
  assert.ok(existsSync(join(distDir, "index.html")), `no ${distDir}/index.html: run trunk build --release`);
  assert.ok(
    existsSync(join(distDir, "examples", "index.json")),
    `no ${distDir}/examples/index.json: run examples/build.sh, then trunk build --release`,
  );
});

const app = useApp();

test("the shell shows the header and every placeholder, with no errors", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.getByRole("heading", { name: "Proxy-Wasm Playground" }).waitFor();
  for (const id of SHELL_TESTIDS) {
    assert.equal(await page.getByTestId(id).count(), 1, `exactly one data-testid="${id}"`);
  }
  // The example list comes from examples/index.json, resolved against the document base.
  await page.waitForFunction(
    () => !document.querySelector('[data-testid="example-select"] option')?.textContent?.startsWith("Loading"),
  );
  assert.ok(app.server.requests.includes("/examples/index.json"), `requests: ${app.server.requests}`);
  await screenshot(page, "shell");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("the theme toggle switches data-theme and remembers it", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
  const toggle = page.getByTestId("theme-toggle");
  await toggle.waitFor();
  const first = await theme();
  assert.ok(first === "light" || first === "dark", `data-theme is ${first}`);
  const other = first === "light" ? "dark" : "light";

  await toggle.click();
  await page.waitForFunction((t) => document.documentElement.dataset.theme === t, other);
  assert.equal(await page.evaluate(() => localStorage.getItem("pwp-theme")), other);
  await screenshot(page, `shell-${other}`);

  await page.reload();
  await toggle.waitFor();
  assert.equal(await theme(), other, "the choice survives a reload");
  await toggle.click();
  await page.waitForFunction((t) => document.documentElement.dataset.theme === t, first);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("the interpreter warms up in the background; a run started meanwhile takes precedence", async () => {
  // Left alone, the page runs its built-in warm-up plugin and says so on <html>.
  const { page, errors } = await open(app.browser, app.server.url);
  await page.waitForFunction(() => document.documentElement.dataset.engine === "warm", null, { timeout: 30_000 });
  assert.deepEqual(errors, []);
  await page.context().close();

  // A run started at once finishes normally, and the warm-up gives way to it for good.
  const second = await open(app.browser, app.server.url);
  await second.page.evaluate(() => {
    window.__warmAt = null;
    window.__runAt = null;
    new MutationObserver(() => (window.__warmAt ??= document.documentElement.dataset.engine && performance.now())).observe(
      document.documentElement,
      { attributes: true, attributeFilter: ["data-engine"] },
    );
    document.addEventListener("click", (e) => e.target.closest?.('[data-testid="run"]') && (window.__runAt ??= performance.now()), true);
  });
  await second.page.getByTestId("example-select").selectOption("rust-basic-auth|rust-basic-auth.scenario.json");
  await second.page.getByTestId("abi").waitFor();
  await second.page.getByTestId("run").click();
  await waitForStatus(second.page, /^Finished$/);
  await second.page.waitForTimeout(3000);
  const { warmAt, runAt } = await second.page.evaluate(() => ({ warmAt: window.__warmAt, runAt: window.__runAt }));
  if (warmAt === null || warmAt > runAt) {
    // The run began first (the usual case: the warm-up takes about a second).
    assert.equal(warmAt, null, "the warm-up stopped when the user's run began and did not resume");
  }
  assert.deepEqual(second.errors, []);
  await second.page.context().close();
});
