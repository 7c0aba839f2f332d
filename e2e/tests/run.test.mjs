// Running and stepping real example plugins in the app.browser.

import assert from "node:assert/strict";
import { test } from "node:test";
import { distDir, open, pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

test("an example runs end to end and shows its callout, response and expectations", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-http-auth");
  assert.equal(await page.getByTestId("abi").textContent(), "0.2.0");
  await page.getByTestId("run").click();
  await page.locator('[data-testid="callback"][data-name="proxy_on_delete"]').waitFor();
  assert.equal(await page.locator('[data-testid="callback"][data-name="proxy_on_http_call_response"]').count(), 1);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  assert.match(await page.getByTestId("upstream-request").textContent(), /x-auth-user/);
  assert.match(await page.getByTestId("callouts").textContent(), /auth \/check/);
  assert.equal(await page.locator('[data-testid="expectations"] li.fail').count(), 0);
  assert.ok((await page.locator('[data-testid="expectations"] li.pass').count()) > 3);
  await screenshot(page, "go-http-auth");
  assert.deepEqual(errors, []);
});

test("stepping a Go example goes callback by callback, then into host calls", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  const callbacks = page.getByTestId("callback");
  await page.getByTestId("step-over").click();
  await waitForStatus(page, /^Paused before/);
  assert.equal(await callbacks.count(), 1);
  assert.equal(await callbacks.first().getAttribute("data-name"), "_initialize");
  for (const expected of ["proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", "proxy_on_context_create", "proxy_on_request_headers"]) {
    const before = await callbacks.count();
    await page.keyboard.press("F10");
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="callback"]').length > n, before);
    assert.equal(await callbacks.last().getAttribute("data-name"), expected);
  }
  // Step into the request-headers callback: one host call at a time.
  await page.getByTestId("step-into").click();
  await waitForStatus(page, /^Paused after host call 0/);
  assert.equal(await page.locator('[data-testid="hostcalls"] [data-testid="hostcall"]').count(), 1);
  await page.getByTestId("continue").click();
  await waitForStatus(page, /^Finished$/);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  assert.deepEqual(errors, []);
});

test("every example opens with its scenario and runs green in the browser", async () => {
  const { readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const index = JSON.parse(readFileSync(join(distDir, "examples", "index.json"), "utf8"));
  assert.ok(index.length >= 8, `only ${index.length} examples`);
  const { page, errors } = await open(app.browser, app.server.url);
  for (const example of index) {
    for (const scenario of [example.scenario, ...(example.scenarios ?? [])]) {
      await pickExample(page, example.name, scenario);
      // Loading resets the run: wait for that before running the new scenario.
      await waitForStatus(page, /^Ready$/);
      await page.getByTestId("run").click();
      await waitForStatus(page, /^Finished$/);
      const failed = await page.locator('[data-testid="expectations"] li.fail').allTextContents();
      assert.deepEqual(failed, [], `${scenario}: failed expectations`);
      assert.ok((await page.locator('[data-testid="expectations"] li.pass').count()) > 0, `${scenario}: no expectations shown`);
    }
  }
  assert.deepEqual(errors, []);
});
