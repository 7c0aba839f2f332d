// The scenario editors: paste a curl command, edit the config (and see its errors), edit the
// upstream response, and find everything again after a reload.

import assert from "node:assert/strict";
import { test } from "node:test";
import { open, pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

/** Runs from the start and waits for the end. */
async function run(page) {
  await page.getByTestId("run").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === "Finished", null, {
    timeout: 120_000,
  });
}

/** The name/value rows of a header table. */
async function rows(page, testid) {
  const table = page.getByTestId(testid);
  const names = await table.getByTestId("pair-name").evaluateAll((els) => els.map((e) => e.value));
  const values = await table.getByTestId("pair-value").evaluateAll((els) => els.map((e) => e.value));
  return names.map((n, i) => [n, values[i]]);
}

test("a pasted curl command fills the request, and go-headers sends its headers upstream", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await page.getByRole("tab", { name: "Request" }).click();
  await page.getByText("Paste curl / raw HTTP").click();
  const paste = page.getByTestId("paste-input");

  // Nonsense is refused inline; the text stays and the request is untouched.
  await paste.fill("hello world");
  await page.getByTestId("paste-fill").click();
  assert.match(await page.getByTestId("paste-error").textContent(), /request line/);
  assert.equal(await paste.inputValue(), "hello world");
  assert.equal(await page.getByTestId("request-path").inputValue(), "/api/items");

  await paste.fill(
    "curl 'https://shop.example.org/v2/orders?limit=5' \\\n" +
      "  -H 'X-Trace-Id: abc123' \\\n" +
      "  -H 'Accept: text/plain' \\\n" +
      "  --data-raw '{\"sku\":\"w-1\"}'",
  );
  await page.getByTestId("paste-fill").click();
  assert.match(await page.getByTestId("paste-result").textContent(), /POST https:\/\/shop\.example\.org\/v2\/orders\?limit=5/);
  assert.equal(await page.getByTestId("request-method").inputValue(), "POST");
  assert.equal(await page.getByTestId("request-scheme").inputValue(), "https");
  assert.equal(await page.getByTestId("request-authority").inputValue(), "shop.example.org");
  assert.equal(await page.getByTestId("request-path").inputValue(), "/v2/orders?limit=5");
  assert.deepEqual(await rows(page, "request-headers"), [
    ["x-trace-id", "abc123"],
    ["accept", "text/plain"],
    ["content-type", "application/x-www-form-urlencoded"],
  ]);
  assert.equal(await page.getByTestId("request-body").inputValue(), '{"sku":"w-1"}');

  await run(page);
  const upstream = await page.getByTestId("upstream-request").textContent();
  for (const s of ["x-trace-id", "abc123", "text/plain", "x-request-source", '{"sku":"w-1"}']) {
    assert.ok(upstream.includes(s), `upstream request has ${s}: ${upstream}`);
  }
  await screenshot(page, "editors-paste");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("invalid JSON config shows its line inline, keeps the text, and a reload keeps it too", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await page.getByRole("tab", { name: "Config" }).click();
  const editor = page.getByTestId("config-editor");
  const bad = '{\n  "request": {\n    "add": {"x-a": "1",}\n  }\n}';
  await editor.fill(bad);
  const error = page.getByTestId("config-error");
  await error.waitFor();
  assert.match(await error.textContent(), /JSON: line 3, column \d+/);
  assert.equal(await editor.inputValue(), bad, "the typed text is kept");

  // A run refuses to start while the text is invalid (it would use the last valid one).
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Not run:/);
  assert.match(await page.getByTestId("error").textContent(), /plugin configuration is invalid/);

  // Another tab and back, then a reload: the text and its error are still there.
  await page.getByRole("tab", { name: "Request" }).click();
  await page.getByRole("tab", { name: "Config" }).click();
  assert.equal(await editor.inputValue(), bad);
  await page.reload();
  await page.getByTestId("abi").waitFor();
  await page.getByRole("tab", { name: "Config" }).waitFor();
  assert.equal(await page.getByTestId("config-editor").inputValue(), bad);
  assert.match(await page.getByTestId("config-error").textContent(), /line 3/);

  // YAML is fine, and becomes the configuration.
  await page.getByTestId("config-editor").fill("request:\n  add:\n    x-yaml: 'yes'\n");
  assert.equal(await page.getByTestId("config-error").count(), 0);
  await run(page);
  assert.match(await page.getByTestId("upstream-request").textContent(), /x-yaml\s*yes/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("editing the upstream status marks the old run stale and changes the client response", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await run(page);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");

  await page.getByRole("tab", { name: "Response" }).click();
  const status = page.getByTestId("response-status");
  await status.fill("99");
  await status.press("Tab");
  assert.match(await page.getByTestId("response-editor").textContent(), /below the minimum 100/);
  await status.fill("418");
  await status.press("Tab");
  // The old run stays on screen, marked stale, until the next run.
  await page.getByTestId("stale").waitFor();
  assert.equal(await page.getByTestId("client-status").textContent(), "200");

  await run(page);
  assert.equal(await page.getByTestId("stale").count(), 0);
  assert.equal(await page.getByTestId("client-status").textContent(), "418");
  // go-headers still rewrites the response headers.
  assert.match(await page.getByTestId("client-response").textContent(), /x-served-by/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a reload restores the edited scenario and the loaded plugin", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await page.getByRole("tab", { name: "Request" }).click();
  await page.getByTestId("request-path").fill("/restored?x=1");
  await page.getByTestId("request-headers").getByRole("button", { name: "+ header" }).click();
  await page.getByLabel("header 4 name").fill("x-kept");
  await page.getByLabel("header 4 value").fill("after reload");
  await page.getByRole("tab", { name: "Settings" }).click();
  await page.getByTestId("seed").fill("42");
  await page.getByTestId("seed").press("Tab");

  await page.reload();
  await page.getByTestId("abi").waitFor(); // the plugin came back from IndexedDB
  assert.match(await page.getByTestId("import-report").textContent(), /go-headers/);
  // The tab chosen last is chosen again.
  assert.equal(await page.getByRole("tab", { name: "Settings" }).getAttribute("aria-selected"), "true");
  assert.equal(await page.getByTestId("seed").inputValue(), "42");
  await page.getByRole("tab", { name: "Request" }).click();
  assert.equal(await page.getByTestId("request-path").inputValue(), "/restored?x=1");
  assert.deepEqual((await rows(page, "request-headers")).at(-1), ["x-kept", "after reload"]);

  await run(page);
  const upstream = await page.getByTestId("upstream-request").textContent();
  assert.match(upstream, /x-kept\s*after reload/);
  await screenshot(page, "editors-restored");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("the Scenario (JSON) tab applies edits, and session files save and open", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  const tab = page.getByRole("tab", { name: "Scenario (JSON)" });
  await tab.click();
  // Keyboard: arrows move between tabs (and focus them).
  await page.keyboard.press("ArrowLeft");
  assert.equal(await page.getByRole("tab", { name: "Chain" }).getAttribute("aria-selected"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Chain");
  await page.keyboard.press("End");
  assert.equal(await tab.getAttribute("aria-selected"), "true");

  const json = page.getByTestId("scenario-json-editor");
  const text = await json.inputValue();
  await json.fill(text.replace('"path": "/api/items"', '"path": "/from-json"'));
  await page.getByTestId("scenario-apply").click();
  await page.getByRole("tab", { name: "Request" }).click();
  assert.equal(await page.getByTestId("request-path").inputValue(), "/from-json");

  // A bad edit is named and kept; the scenario is not replaced.
  await page.getByRole("tab", { name: "Scenario (JSON)" }).click();
  await json.fill('{"request": {"pth": "/x"}}');
  await page.getByTestId("scenario-apply").click();
  assert.match(await page.getByTestId("scenario-json-error").textContent(), /pth/);
  assert.equal(await json.inputValue(), '{"request": {"pth": "/x"}}');
  await page.getByTestId("scenario-revert").click();
  assert.match(await json.inputValue(), /"\/from-json"/);

  // Save: <name>.scenario.json, naming the plugin so that `pwp run` finds it.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("save-scenario").click()]);
  assert.equal(download.suggestedFilename(), "go-headers-add-replace-and-remove-headers.scenario.json");
  const saved = JSON.parse(await (await download.createReadStream()).toArray().then((c) => Buffer.concat(c).toString()));
  assert.equal(saved.plugin.example, "go-headers");
  assert.match(saved.plugin.sha256, /^[0-9a-f]{64}$/);
  assert.equal(saved.request.path, "/from-json");

  // Open: YAML works; a bad file says why and changes nothing.
  const openFile = page.getByTestId("open-scenario");
  await openFile.setInputFiles({ name: "mine.scenario.yaml", mimeType: "text/yaml", buffer: Buffer.from("name: from yaml\nrequest:\n  path: /yaml\n") });
  await page.waitForFunction(() => document.querySelector('[data-testid="notice"]')?.textContent?.includes("Opened mine.scenario.yaml"));
  assert.equal(await page.getByTestId("scenario-name").inputValue(), "from yaml");
  await openFile.setInputFiles({ name: "bad.scenario.json", mimeType: "application/json", buffer: Buffer.from('{"version": 1, "requst": {}}') });
  const fileError = page.getByTestId("scenario-file-error");
  await fileError.waitFor();
  assert.match(await fileError.textContent(), /bad\.scenario\.json: invalid scenario: .*requst.*The scenario was not changed/);
  assert.equal(await page.getByTestId("scenario-name").inputValue(), "from yaml");
  await page.getByRole("tab", { name: "Request" }).click();
  assert.equal(await page.getByTestId("request-path").inputValue(), "/yaml");
  assert.deepEqual(errors, []);
  await page.context().close();
});
