// Foreign-function mocks are edited in the mocks tab like the other mocks, and answer the
// plugin's proxy_call_foreign_function: the host calls say a mock answered.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { open, root, screenshot, useApp, wasmFromText } from "../lib.mjs";

const app = useApp();

/** The host's fixture: calls get_token("req-1") and puts the answer in x-token, then compress. */
const FOREIGN = wasmFromText(readFileSync(join(root, "host/tests/fixtures/hc_foreign_function.wat"), "utf8"));

const statusIs = (page, text) =>
  page.waitForFunction(
    (t) => document.querySelector('[data-testid="run-status"]')?.textContent === t,
    text,
    { timeout: 60_000 },
  );

test("a foreign function mock added in the mocks tab answers the plugin", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.getByTestId("plugin-file").setInputFiles({ name: "foreign.wasm", mimeType: "application/wasm", buffer: FOREIGN });
  await page.waitForFunction(() => document.querySelector('[data-testid="import-report"]')?.textContent?.includes("foreign.wasm"));

  // Unmocked, Envoy does not know get_token: no header.
  await page.getByTestId("run").click();
  await statusIs(page, "Finished");
  assert.doesNotMatch(await page.getByTestId("upstream-request").textContent(), /x-token/);

  await page.getByRole("tab", { name: "Routing & mocks" }).click();
  await page.getByTestId("add-foreign-mock").click();
  await page.getByTestId("add-foreign-mock").click();
  const [token, compress] = [page.getByTestId("foreign-mock").nth(0), page.getByTestId("foreign-mock").nth(1)];
  await token.getByLabel("Foreign function mock 1 name").fill("get_token");
  await token.getByLabel("Foreign function mock 1 result").fill("tok-42");
  await token.getByLabel("Foreign function mock 1 result").press("Tab");
  await compress.getByLabel("Foreign function mock 2 name").fill("compress");
  await compress.getByLabel("Foreign function mock 2 status").selectOption("InternalFailure");
  assert.equal(await compress.getByLabel("Foreign function mock 2 result").isDisabled(), true, "an error status returns no bytes");

  await page.getByTestId("run").click();
  await statusIs(page, "Finished");
  assert.match(await page.getByTestId("upstream-request").textContent(), /x-token\s*tok-42/);
  await page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"]').click();
  const calls = await page.getByTestId("hostcalls").textContent();
  assert.match(calls, /get_token args="req-1" -> "tok-42" \(mocks\.foreign\)/);
  assert.match(calls, /compress args="hello hello hello" -> InternalFailure \(mocks\.foreign, in place of Envoy's built-in\)/);
  await screenshot(page, "foreign-mocks");

  // The mocks are the scenario's, as its JSON shows.
  await page.getByRole("tab", { name: "Scenario (JSON)" }).click();
  const json = JSON.parse(await page.getByTestId("scenario-json-editor").inputValue());
  assert.deepEqual(json.mocks.foreign, [
    { name: "get_token", result: "tok-42" },
    { name: "compress", status: "InternalFailure" },
  ]);
  assert.equal(json.version, 2);
  assert.deepEqual(errors, []);
  await page.context().close();
});
