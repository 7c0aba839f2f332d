// What a real user throws at the playground: a real plugin file, files that are not plugins,
// and a plugin that loops forever. The page must say what happened and keep answering.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { minimalPlugin, open, pickExample, root, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

/** A proxy-wasm plugin whose request-headers callback never returns. */
const LOOPING_PLUGIN = minimalPlugin("(loop $forever (br $forever))");

const status = (page) => page.getByTestId("run-status").textContent();
test("uploading a real example file shows its import report", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.getByTestId("plugin-file").setInputFiles(join(root, "public/examples/rust-basic-auth.wasm"));
  await page.getByTestId("abi").waitFor();
  assert.equal(await page.getByTestId("abi").textContent(), "0.2.1");
  assert.match(await page.getByTestId("toolchain").textContent(), /Rust/);
  const report = await page.getByTestId("import-report").textContent();
  assert.match(report, /rust-basic-auth\.wasm/);
  assert.match(report, /implemented/);
  assert.match(await page.getByTestId("envoy-would-load").textContent(), /Envoy and Istio would load it/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("of two files chosen in a row, the second is the one loaded, even when the first is read last", async () => {
  const { page, errors } = await open(app.browser, app.server.url, { runOnFile: true });
  // Both chosen in one task: the worker reads, hashes and inspects a 6 MB Go plugin well
  // after a 130 KB Rust one.
  await page.evaluate(async () => {
    const file = async (name) => new File([await (await fetch(`examples/${name}`)).arrayBuffer()], name);
    const files = [await file("higress-redis-counter.wasm"), await file("rust-basic-auth.wasm")];
    const input = document.querySelector('[data-testid="plugin-file"]');
    for (const f of files) {
      const chosen = new DataTransfer();
      chosen.items.add(f);
      input.files = chosen.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  await waitForStatus(page, /^Finished$/);
  // Long enough for the first file's answer to have come back.
  await page.waitForTimeout(1500);
  assert.match(await page.getByTestId("import-report").textContent(), /rust-basic-auth\.wasm/);
  assert.match(await page.getByTestId("toolchain").textContent(), /Rust/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("files that are not plugins are refused with a clear message, and the scenario is kept", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await page.getByRole("tab", { name: "Request" }).click();
  await page.getByTestId("request-path").fill("/kept");
  const upload = page.getByTestId("plugin-file");
  const loadError = page.getByTestId("import-report").getByTestId("load-error");

  const html = "<!doctype html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n";
  await upload.setInputFiles({ name: "plugin.wasm", mimeType: "application/wasm", buffer: Buffer.from(html) });
  await loadError.waitFor();
  assert.match(await loadError.textContent(), /plugin\.wasm: not a WebAssembly module: it is a text document \(an HTML error page/);

  await upload.setInputFiles({ name: "empty.wasm", mimeType: "application/wasm", buffer: Buffer.alloc(0) });
  await page.waitForFunction(() => document.querySelector('[data-testid="load-error"]')?.textContent?.includes("empty.wasm"));
  assert.match(await loadError.textContent(), /empty\.wasm: not a WebAssembly module: the file is empty/);

  // Truncated: the right magic bytes, then nothing sensible.
  await upload.setInputFiles({ name: "cut.wasm", mimeType: "application/wasm", buffer: Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x7f]) });
  await page.waitForFunction(() => document.querySelector('[data-testid="load-error"]')?.textContent?.includes("cut.wasm"));
  assert.match(await loadError.textContent(), /cut\.wasm: invalid WebAssembly/);

  assert.equal(await page.getByTestId("request-path").inputValue(), "/kept", "the scenario is kept");
  // The plugin loaded before the bad files stays loaded and still runs.
  assert.match(await loadError.textContent(), /go-headers is still loaded/);
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  assert.match(await page.getByTestId("upstream-request").textContent(), /\/kept/);
  await screenshot(page, "robustness-broken-file");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a looping plugin can be cancelled, is stopped by its fuel limit, and the page keeps answering", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.getByTestId("plugin-file").setInputFiles({ name: "loop.wasm", mimeType: "application/wasm", buffer: LOOPING_PLUGIN });
  await page.getByTestId("abi").waitFor();

  // With ample fuel it runs for a long while: the page answers, and Cancel stops it.
  await page.getByRole("tab", { name: "Settings" }).click();
  // Cancel by message and fuel are the interpreter's (the browser's engine is stopped by its
  // deadline instead: engines.test.mjs).
  await page.getByTestId("interpreter-only").check();
  await page.getByTestId("limit-fuel").fill("100,000,000,000");
  await page.getByTestId("limit-fuel").press("Tab");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Running/);
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
  const before = await theme();
  const started = Date.now();
  await page.getByTestId("theme-toggle").click();
  await page.waitForFunction((t) => document.documentElement.dataset.theme !== t, before, { timeout: 2_000 });
  assert.ok(Date.now() - started < 2_000, "the theme toggle answered while the plugin ran");
  assert.match(await status(page), /^Running… \(\d+ slices\)/);
  await page.getByTestId("cancel").click();
  await waitForStatus(page, /^Cancelled/, 5_000);
  assert.equal(await page.getByTestId("cancel").count(), 0);

  // A smaller fuel limit stops it with out_of_fuel, shown as the run's error.
  await page.getByTestId("limit-fuel").fill("30,000,000");
  await page.getByTestId("limit-fuel").press("Tab");
  await page.getByTestId("stale").waitFor();
  await page.getByTestId("run").click();
  await waitForStatus(page, /^(Finished|Callback #\d+ failed)/);
  await page.waitForFunction(() => document.querySelector('[data-testid="error"]')?.textContent?.includes("out_of_fuel"));
  const error = await page.getByTestId("error").textContent();
  assert.match(error, /out_of_fuel: the plugin used up its fuel/);
  assert.match(error, /proxy_on_request_headers/);
  await screenshot(page, "robustness-out-of-fuel");

  // The next run of a good example works.
  await pickExample(page, "go-headers");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  assert.equal((await page.getByTestId("error").textContent()).trim(), "");
  assert.deepEqual(errors, []);
  await page.context().close();
});
