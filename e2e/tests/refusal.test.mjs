// A plugin Envoy would refuse to load is refused with Envoy's reason, and running it anyway is
// a visible choice: "Run anyway" makes the session lenient, runs it, and a badge says so.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { open, root, screenshot, useApp, wasmFromText } from "../lib.mjs";

const app = useApp();

/** The host's fixture: proxy_on_request_headers takes one parameter instead of three. */
const BAD_SIGNATURE = wasmFromText(readFileSync(join(root, "host/tests/fixtures/hostile_bad_signature.wat"), "utf8"));

const statusIs = (page, text) =>
  page.waitForFunction(
    (t) => document.querySelector('[data-testid="run-status"]')?.textContent === t,
    text,
    { timeout: 60_000 },
  );

test("a plugin with a bad callback signature is refused with the reason, and Run anyway runs it", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.getByTestId("plugin-file").setInputFiles({ name: "bad-signature.wasm", mimeType: "application/wasm", buffer: BAD_SIGNATURE });
  await page.waitForFunction(() => document.querySelector('[data-testid="import-report"]')?.textContent?.includes("bad-signature.wasm"));
  assert.match(await page.getByTestId("envoy-would-load").textContent(), /would refuse it/);

  await page.getByTestId("run").click();
  await statusIs(page, "Envoy would refuse to load this plugin");
  const error = page.getByTestId("error");
  assert.match(await error.textContent(), /Envoy would refuse to load this plugin/);
  assert.match(
    await error.getByTestId("refusal-reasons").textContent(),
    /Bad function signature for: proxy_on_request_headers: it is func \(i32\) -> i32, Envoy expects func \(i32 i32 i32\) -> i32/,
  );
  assert.equal(await page.getByTestId("timeline").locator("li").count(), 0, "nothing ran");
  assert.equal(await page.getByTestId("lenient-badge").count(), 0);
  await screenshot(page, "refusal-bad-signature");

  await error.getByTestId("run-anyway").click();
  await statusIs(page, "Finished");
  assert.match(await page.getByTestId("lenient-badge").textContent(), /running a plugin Envoy would refuse/);
  assert.match(await page.getByTestId("lenient-badge").getAttribute("title"), /Bad function signature for: proxy_on_request_headers/);
  assert.equal(await page.getByTestId("error").locator(".error-box").count(), 0, "the refusal is gone");
  // The callback ran with the one argument it declares, and the request went through.
  assert.match(await page.getByTestId("timeline").textContent(), /proxy_on_request_headers/);
  assert.match(await page.getByTestId("logs").textContent(), /one parameter/);
  assert.match(await page.getByTestId("client-response").textContent(), /200/);
  // The choice is the session's: the Settings tab shows it, and unticking it refuses again.
  await page.getByRole("tab", { name: "Settings" }).click();
  const lenient = page.getByTestId("lenient");
  assert.equal(await lenient.isChecked(), true);
  await screenshot(page, "refusal-run-anyway");
  await lenient.uncheck();
  await page.getByTestId("lenient-badge").waitFor({ state: "detached" });
  await page.getByTestId("run").click();
  await statusIs(page, "Envoy would refuse to load this plugin");
  assert.deepEqual(errors, []);
  await page.context().close();
});
