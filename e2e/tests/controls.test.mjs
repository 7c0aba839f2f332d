// Controls that keep their promises, and one vocabulary: Ctrl/Cmd+Enter runs; controls that
// cannot act are disabled and say why; a URL box with no URL in it says so; the example menu
// counts what it lists; actions keep their ABI names whatever the outcome; a run with an
// invalid config does not start; a plugin with nothing to call says so.

import assert from "node:assert/strict";
import { test } from "node:test";
import { open, pickExample, useApp, waitForStatus, wasmFromText } from "../lib.mjs";

const app = useApp();

const status = (page) => page.getByTestId("run-status").textContent();
test("Ctrl+Enter and Cmd+Enter run, from anywhere on the page, even while typing", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await waitForStatus(page, /^Ready$/);
  assert.match(await page.getByTestId("run").getAttribute("title"), /Ctrl\+Enter/);
  await page.keyboard.press("Control+Enter");
  await waitForStatus(page, /^Finished$/);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");

  // From inside an editor, after an edit (which marks the results stale): Cmd+Enter runs again.
  await page.getByRole("tab", { name: "Request", exact: true }).click();
  await page.getByTestId("request-path").fill("/from-the-keyboard");
  await page.getByTestId("request-path").press("Tab");
  await waitForStatus(page, /\(before your edit\)$/);
  await page.getByTestId("request-path").focus();
  await page.keyboard.press("Meta+Enter");
  await waitForStatus(page, /^Finished$/);
  assert.match(await page.getByTestId("upstream-request").textContent(), /from-the-keyboard/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("controls that cannot act are disabled and their tooltips say why", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  // No plugin yet.
  for (const id of ["run", "step-over", "step-into", "continue", "restart"]) {
    assert.ok(await page.getByTestId(id).isDisabled(), `${id} is disabled without a plugin`);
    assert.match(await page.getByTestId(id).getAttribute("title"), /^Load a plugin first/, id);
  }

  // A callout no mock answers: the run waits, and only an answer (or Run, Restart) can go on.
  await pickExample(page, "go-http-auth");
  await page.getByRole("tab", { name: "Routing & mocks" }).click();
  const mocks = page.getByTestId("http-mock");
  while ((await mocks.count()) > 0) {
    await mocks.first().getByRole("button", { name: "Remove", exact: true }).click();
  }
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Waiting for an answer to callout/);
  await page.getByTestId("callout-answer").waitFor();
  for (const id of ["step-over", "step-into", "continue"]) {
    assert.ok(await page.getByTestId(id).isDisabled(), `${id} is disabled while the callout waits`);
    assert.match(await page.getByTestId(id).getAttribute("title"), /callout waits for an answer/, id);
  }
  assert.ok(await page.getByTestId("restart").isEnabled());
  assert.ok(await page.getByTestId("run").isEnabled());
  // F10 does nothing either, and says nothing new.
  await page.keyboard.press("F10");
  assert.match(await status(page), /^Waiting for an answer to callout/);

  // The answer lets the run go on to the end.
  await page.getByTestId("callout-send").click();
  await waitForStatus(page, /^Finished$/);
  assert.ok(await page.getByTestId("step-over").isEnabled());
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("Load with text that is not a URL says so; the example menu counts what it lists", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  const url = page.getByTestId("plugin-url");
  for (const [text, why] of [
    ["", /Type or paste the URL/],
    ["not a url", /is not a URL/],
    ["plugin", /is not a URL/],
    ["ftp://example.com/p.wasm", /use http/],
    ["https://example.com/p.wasm#sha256=123", /not a SHA-256 digest/],
  ]) {
    await url.fill(text);
    await page.getByTestId("plugin-url-load").click();
    const error = page.getByTestId("plugin-url-error");
    await error.waitFor();
    assert.match(await error.textContent(), why, JSON.stringify(text));
    assert.equal(await url.getAttribute("aria-invalid"), "true");
  }
  // Typing clears the complaint; a real URL loads (its failure is reported too).
  await url.fill("examples/go-headers.wasm");
  assert.equal(await page.getByTestId("plugin-url-error").count(), 0);
  await url.press("Enter");
  await page.getByTestId("abi").waitFor();
  await url.fill("examples/missing.wasm");
  await url.press("Enter");
  await page.getByTestId("load-error").waitFor();
  assert.match(await page.getByTestId("load-error").textContent(), /HTTP 404/);

  const options = page.locator('[data-testid="example-select"] option');
  const prompt = await options.first().textContent();
  const count = Number(prompt.match(/Pick one of (\d+) examples/)?.[1]);
  assert.equal(count, (await options.count()) - 1, `the prompt "${prompt}" counts the entries below it`);
  // 404 for the missing plugin is expected above.
  assert.deepEqual(
    errors.filter((e) => !e.includes("missing.wasm")),
    [],
  );
  await page.context().close();
});

test("actions keep their ABI names when there is a local reply, whose badge says what it was", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  const streamCallbacks = /^proxy_on_(request|response)_(headers|body|trailers)$/;
  for (const [name, scenario, code] of [
    ["rust-basic-auth", "rust-basic-auth.scenario-denied.json", "401"],
    ["go-http-auth", "go-http-auth.scenario-denied.json", "403"],
    ["rust-basic-auth", "rust-basic-auth.scenario.json", "200"],
  ]) {
    await pickExample(page, name, scenario);
    await waitForStatus(page, /^Ready$/);
    await page.getByTestId("run").click();
    await waitForStatus(page, /^Finished$/);
    assert.equal(await page.getByTestId("client-status").textContent(), code, scenario);
    const rows = await page.getByTestId("callback").evaluateAll((els) =>
      els.map((e) => ({ name: e.dataset.name, result: e.querySelector(".cb-result").textContent })),
    );
    const stream = rows.filter((r) => streamCallbacks.test(r.name));
    assert.ok(stream.length > 0, scenario);
    for (const r of stream) {
      assert.match(r.result, /^(Continue|StopIteration|StopAllIterationAndBuffer|StopAllIterationAndWatermark|StopIterationAndBuffer|StopIterationAndWatermark|StopIterationNoBuffer)$/, `${scenario}: ${r.name} → ${r.result}`);
    }
    if (code !== "200") {
      const badge = await page.getByTestId("local-reply").textContent();
      assert.match(badge, new RegExp(`^local reply · ${code} · \\S`), scenario);
    }
  }
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a run with an invalid config does not start and says why", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await page.getByRole("tab", { name: "Config" }).click();
  await page.getByTestId("config-editor").fill('{"request": {"add": {"x-a": "1",}}}');
  await page.getByTestId("config-error").waitFor();
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Not run: the plugin configuration is invalid/);
  assert.match(await page.getByTestId("error").textContent(), /plugin configuration is invalid.*JSON: line 1, column \d+/s);
  assert.equal(await page.getByTestId("callback").count(), 0, "nothing ran");
  assert.match(await page.getByTestId("timeline-empty").textContent(), /did not start/);
  // Fixed, it runs.
  await page.getByTestId("config-editor").fill('{"request": {"add": {"x-a": "1"}}}');
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  assert.match(await page.getByTestId("upstream-request").textContent(), /x-a/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a plugin with no callbacks finishes and the timeline says why nothing ran", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  // The ABI marker and an allocator, so that Envoy would load it, and not one callback.
  const empty = wasmFromText(`(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "helper") (result i32) (i32.const 7)))`);
  await page.getByTestId("plugin-file").setInputFiles({ name: "nothing.wasm", mimeType: "application/wasm", buffer: empty });
  await page.getByTestId("abi").waitFor();
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  const text = await page.getByTestId("timeline-empty").textContent();
  assert.doesNotMatch(text, /Run or step/);
  assert.match(text, /exports no proxy-wasm callback/);
  assert.deepEqual(errors, []);
  await page.context().close();
});
