// A chain of plugins in the app: the example chains, the timeline's filter tags, and adding,
// reordering and removing plugins of the chain.

import assert from "node:assert/strict";
import { test } from "node:test";
import { open, pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

const finished = (page) => waitForStatus(page, /^Finished$/);

test("a 401 from the first plugin keeps the second from the request, and the timeline says whose callback is whose", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "rust-basic-auth", "rust-basic-auth.scenario-chain-denied.json");
  await page.getByTestId("tab-chain").click();
  const names = page.locator('[data-testid="chain-editor"] [data-testid="chain-filter-name"]');
  assert.deepEqual(await names.allTextContents(), ["rust-basic-auth", "go-headers"]);
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="chain-filter-status"]')?.textContent?.startsWith("ABI 0.2.0"));
  await page.getByTestId("run").click();
  await finished(page);
  assert.equal(await page.getByTestId("client-status").textContent(), "401");
  assert.equal(await page.locator('[data-testid="expectations"] li.fail').count(), 0);
  // go-headers never gets the request headers: only its start-up and the access-log path.
  const rows = await page.locator('[data-testid="callback"]').evaluateAll((els) =>
    els.map((e) => `${e.querySelector('[data-testid="cb-filter"]')?.textContent ?? "-"} ${e.dataset.name}`));
  assert.ok(rows.includes("rust-basic-auth proxy_on_request_headers"), rows.join("\n"));
  assert.ok(!rows.includes("go-headers proxy_on_request_headers"), rows.join("\n"));
  assert.ok(rows.includes("go-headers proxy_on_log"), rows.join("\n"));
  assert.match(await page.getByTestId("chain-results").textContent(), /go-headers: VM 2, \d+ callbacks, request headers seen 0 time/);
  // Export: one WasmPlugin per plugin, the first with the higher priority.
  await page.getByTestId("export-open").click();
  await page.getByTestId("export-dialog").waitFor();
  await page.getByTestId("export-format").selectOption("istio");
  const exported = await page.getByTestId("export-output").textContent();
  const docs = exported.split("---\n");
  assert.equal(docs.length, 2, exported);
  assert.match(docs[0], /name: rust-basic-auth[\s\S]*priority: 20/);
  assert.match(docs[1], /name: go-headers[\s\S]*priority: 10/);
  await page.keyboard.press("Escape");
  await page.setViewportSize({ width: 1440, height: 900 });
  await screenshot(page, "chain-denied-1440");
  await page.setViewportSize({ width: 800, height: 900 });
  await screenshot(page, "chain-denied-800");
  assert.deepEqual(errors, []);
});

test("plugins are added, moved and removed, and the run follows the new order", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "rust-basic-auth", "rust-basic-auth.scenario-chain.json");
  await page.getByTestId("tab-chain").click();
  const names = page.locator('[data-testid="chain-editor"] [data-testid="chain-filter-name"]');
  await page.getByTestId("chain-add-example").selectOption("rust-body-transform");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="chain-editor"] [data-testid="chain-filter"]').length === 3);
  assert.deepEqual(await names.allTextContents(), ["rust-basic-auth", "go-headers", "rust-body-transform"]);
  // Its own configuration: rewrite "Alice" in JSON responses.
  await page.getByTestId("chain-config").nth(1).fill('{"find": "Alice", "replace": "ALICE", "content_types": ["application/json"]}');
  // Move the new one up, before go-headers.
  await page.getByRole("button", { name: "Move filter 3 up" }).click();
  assert.deepEqual(await names.allTextContents(), ["rust-basic-auth", "rust-body-transform", "go-headers"]);
  await page.setViewportSize({ width: 1440, height: 900 });
  await screenshot(page, "chain-editor-1440");
  await page.setViewportSize({ width: 800, height: 900 });
  await page.getByTestId("pane-tab-inputs").click();
  await screenshot(page, "chain-editor-800");
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.getByTestId("run").click();
  await finished(page);
  const order = await page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"] [data-testid="cb-filter"]').allTextContents();
  assert.deepEqual(order, ["rust-basic-auth", "rust-body-transform", "go-headers"]);
  // The response walks the chain backward.
  const back = await page.locator('[data-testid="callback"][data-name="proxy_on_response_headers"] [data-testid="cb-filter"]').allTextContents();
  assert.deepEqual(back, ["go-headers", "rust-body-transform", "rust-basic-auth"]);
  assert.match(await page.getByTestId("client-response").textContent(), /ALICE/);
  // Remove go-headers: the upstream no longer gets its header.
  await page.getByRole("button", { name: "Remove filter 3" }).click();
  assert.deepEqual(await names.allTextContents(), ["rust-basic-auth", "rust-body-transform"]);
  await page.getByTestId("run").click();
  await finished(page);
  assert.doesNotMatch(await page.getByTestId("upstream-request").textContent(), /x-request-source/);
  assert.equal(await page.locator('[data-testid="cb-filter"]', { hasText: "go-headers" }).count(), 0);
  // The scenario itself says what the chain is.
  await page.getByTestId("tab-scenario").click();
  const json = JSON.parse(await page.getByTestId("scenario-json-editor").inputValue());
  assert.deepEqual(json.chain.map((f) => f.plugin.example), ["rust-body-transform"]);
  assert.deepEqual(errors, []);
});

test("a plugin uploaded into the chain comes back after a reload", async () => {
  const { readFileSync } = await import("node:fs");
  const { createHash } = await import("node:crypto");
  const { join } = await import("node:path");
  const { distDir } = await import("../lib.mjs");
  const file = join(distDir, "examples", "go-headers.wasm");
  const sha = createHash("sha256").update(readFileSync(file)).digest("hex");
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "rust-basic-auth");
  await page.getByTestId("tab-chain").click();
  await page.getByTestId("chain-add-file").setInputFiles(file);
  const status = page.locator('[data-testid="chain-editor"] [data-testid="chain-filter-status"]');
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="chain-filter-status"]')?.textContent?.startsWith("ABI 0.2.0"));
  assert.deepEqual(
    await page.locator('[data-testid="chain-editor"] [data-testid="chain-filter-name"]').allTextContents(),
    ["rust-basic-auth", "go-headers.wasm"],
  );
  // Stored under its sha256, as the session's own plugin is.
  await page.waitForFunction(async (key) => {
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open("pwp", 1);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const found = await new Promise((resolve) => {
      const req = db.transaction("plugins").objectStore("plugins").getKey(key);
      req.onsuccess = () => resolve(req.result !== undefined);
      req.onerror = () => resolve(false);
    });
    db.close();
    return found;
  }, sha);
  await page.reload();
  await page.getByTestId("tab-chain").click();
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="chain-filter-status"]')?.textContent?.startsWith("ABI 0.2.0"));
  assert.match(await status.first().textContent(), /Go/);
  await page.getByTestId("run").click();
  await finished(page);
  const tags = await page.locator('[data-testid="cb-filter"]').allTextContents();
  assert.ok(tags.includes("go-headers"), tags.join(","));
  assert.deepEqual(errors, []);
});

/** The timeline in order: `<filter> <callback>` for a callback, `mark:<kind>` for a mark. */
const timelineRows = (page) =>
  page.locator('[data-testid="callback"], [data-testid="timeline-mark"]').evaluateAll((els) =>
    els.map((e) => (e.dataset.testid === "timeline-mark"
      ? `mark:${e.dataset.kind}`
      : `${e.querySelector('[data-testid="cb-filter"]')?.textContent ?? "-"} ${e.dataset.name}`)));

test("a slow auth answer holds the chain: the second plugin sees each request after its late answer, stepping and running", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.setViewportSize({ width: 1440, height: 900 });
  await pickExample(page, "go-http-auth", "go-http-auth.scenario-chain-slow-auth.json");
  await page.getByTestId("tab-chain").click();
  assert.deepEqual(
    await page.locator('[data-testid="chain-editor"] [data-testid="chain-filter-name"]').allTextContents(),
    ["go-http-auth", "go-headers"],
  );
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="chain-filter-status"]')?.textContent?.startsWith("ABI"));

  // Step to the first late answer: both requests wait at go-http-auth, go-headers has seen
  // neither yet.
  let paused = false;
  for (let i = 0; i < 60 && !paused; i++) {
    await page.getByTestId("step-over").click();
    await waitForStatus(page, /^Paused/);
    paused = /proxy_on_http_call_response/.test(await page.getByTestId("run-status").textContent());
  }
  assert.ok(paused, await page.getByTestId("run-status").textContent());
  let rows = await timelineRows(page);
  assert.equal(rows.filter((r) => r === "mark:waiting").length, 2, rows.join("\n"));
  assert.ok(rows.includes("mark:answer"), rows.join("\n"));
  assert.ok(!rows.some((r) => r.startsWith("go-headers proxy_on_request_headers")), rows.join("\n"));

  // The rest of the run: each request reaches go-headers right after its own answer.
  await page.getByTestId("continue").click();
  await finished(page);
  assert.equal(await page.locator('[data-testid="expectations"] li.fail').count(), 0);
  rows = await timelineRows(page);
  const answers = rows.flatMap((r, i) => (r === "mark:answer" ? [i] : []));
  const seen = rows.flatMap((r, i) => (r === "go-headers proxy_on_request_headers" ? [i] : []));
  assert.equal(answers.length, 2, rows.join("\n"));
  assert.equal(seen.length, 2, rows.join("\n"));
  assert.ok(answers[0] < seen[0] && seen[0] < answers[1] && answers[1] < seen[1], rows.join("\n"));
  // Between each answer and go-headers: go-http-auth's callout response, then the resume.
  for (const [a, s] of [[answers[0], seen[0]], [answers[1], seen[1]]]) {
    const between = rows.slice(a + 1, s);
    assert.equal(between[0], "go-http-auth proxy_on_http_call_response", between.join("\n"));
    assert.ok(between.includes("mark:resumed"), between.join("\n"));
  }
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  await page.locator('[data-testid="timeline-mark"][data-kind="answer"]').first().scrollIntoViewIfNeeded();
  await screenshot(page, "chain-slow-auth-1440");
  assert.deepEqual(errors, []);
});
