// The stepping view tells the truth: stepping and running give the same timeline, edits while
// paused apply where they can and never throw results away silently, and resource failures
// (memory limit, cancel, fuel) are named by their cause.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { distDir, minimalPlugin, open, pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

/** Ends `proxy_on_request_headers` in `body`, a minimal plugin around it. */
const plugin = (body) => minimalPlugin(body);

/** Loops forever in the request-headers callback. */
const LOOPING = plugin("(loop $forever (br $forever))");
/** Asks for 1 GiB more memory, as an allocator does for a large allocation; aborts when refused. */
const GREEDY = plugin("(if (i32.eq (memory.grow (i32.const 16384)) (i32.const -1)) (then (unreachable)))");

const status = (page) => page.getByTestId("run-status").textContent();
/**
 * Each timeline row as shown: name, action or return value and host calls (no duration; no
 * fuel either, which only the interpreter meters: a Run goes to the browser's engine).
 */
const rows = (page) =>
  page.$$eval('[data-testid="callback"]', (els) =>
    els.map((e) => ({
      name: e.dataset.name,
      result: e.querySelector(".cb-result")?.textContent ?? "",
      meta: (e.querySelector(".cb-meta")?.textContent ?? "").replace(/ · [\d.]+ µs$/, "").replace(/ · \d+ fuel$/, ""),
    })),
  );
/** The fuel each row shows, if any. */
const fuel = (page) =>
  page.$$eval('[data-testid="callback"] .cb-meta', (els) => els.map((e) => / · (\d+) fuel/.exec(e.textContent)?.[1] ?? null));

async function upload(page, name, buffer) {
  await page.getByTestId("plugin-file").setInputFiles({ name, mimeType: "application/wasm", buffer });
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="import-report"]')?.textContent?.includes(n),
    name,
  );
  await waitForStatus(page, /^Ready$/);
}

test("stepping every example to the end gives the same timeline as running it", async () => {
  const index = JSON.parse(readFileSync(join(distDir, "examples", "index.json"), "utf8"));
  const { page, errors } = await open(app.browser, app.server.url);
  for (const example of index) {
    await pickExample(page, example.name, example.scenario);
    await waitForStatus(page, /^Ready$/);
    await page.getByTestId("run").click();
    await waitForStatus(page, /^Finished$/);
    const ran = await rows(page);
    assert.ok(ran.length > 3, `${example.name}: only ${ran.length} callbacks`);

    await page.getByTestId("restart").click();
    await waitForStatus(page, /^Ready$/);
    for (;;) {
      const before = await page.getByTestId("callback").count();
      await page.getByTestId("step-over").click();
      await page.waitForFunction(
        (n) => {
          const s = document.querySelector('[data-testid="run-status"]')?.textContent ?? "";
          const count = document.querySelectorAll('[data-testid="callback"]').length;
          return s === "Finished" || (s.startsWith("Paused before callback") && count > n);
        },
        before,
      );
      if ((await status(page)) === "Finished") break;
    }
    const stepped = await rows(page);
    assert.deepEqual(stepped, ran, `${example.name}: stepped over to the end`);
    const stepFuel = await fuel(page);
    assert.ok(
      stepFuel.every((f) => f !== null && f !== "0"),
      `${example.name}: a stepped row shows no fuel, or 0: ${JSON.stringify(stepFuel)}`,
    );
    for (const start of stepped.filter((r) => r.name === "proxy_on_vm_start")) {
      assert.equal(start.result, "1", `${example.name}: proxy_on_vm_start shows its return value`);
    }

    // Step a few, then Continue to the end: the same again.
    await page.getByTestId("restart").click();
    await waitForStatus(page, /^Ready$/);
    for (let i = 0; i < 3; i++) {
      const before = await page.getByTestId("callback").count();
      await page.getByTestId("step-over").click();
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid="callback"]').length > n &&
          document.querySelector('[data-testid="run-status"]')?.textContent?.startsWith("Paused before"),
        before,
      );
    }
    await page.getByTestId("continue").click();
    await waitForStatus(page, /^Finished$/);
    assert.deepEqual(await rows(page), ran, `${example.name}: stepped, then continued`);
  }
  await pickExample(page, "go-headers");
  await waitForStatus(page, /^Ready$/);
  for (let i = 0; i < 3; i++) {
    await page.getByTestId("step-over").click();
    await waitForStatus(page, new RegExp(`^Paused before callback #${i}( |$)`));
  }
  await screenshot(page, "truth-stepped");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("an edit while paused keeps the results, marked stale, until the next run", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await waitForStatus(page, /^Ready$/);
  for (let i = 0; i < 4; i++) {
    const before = await page.getByTestId("callback").count();
    await page.getByTestId("step-over").click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="callback"]').length > n, before);
  }
  await waitForStatus(page, /^Paused before callback #3( |$)/);
  const before = await rows(page);
  assert.equal(await page.getByTestId("stale").count(), 0);

  await page.getByRole("tab", { name: "Request" }).click();
  await page.getByTestId("request-path").fill("/edited");
  await page.getByTestId("stale").waitFor();
  assert.match(await page.getByTestId("stale").textContent(), /from before your edit — Run again/);
  assert.deepEqual(await rows(page), before, "the paused run's timeline stays on screen");
  assert.notEqual(await status(page), "Ready");
  await screenshot(page, "truth-paused-edit");

  // The next run uses the edit and is no longer stale.
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  assert.equal(await page.getByTestId("stale").count(), 0);
  assert.match(await page.getByTestId("upstream-request").textContent(), /\/edited/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a mock added while a callout waits answers it, and the run goes on", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-http-auth");
  await page.getByRole("tab", { name: "Mocks" }).click();
  await page.getByTestId("http-mock").getByRole("button", { name: "Remove", exact: true }).click();
  await waitForStatus(page, /^Ready$/);
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Waiting for an answer to callout/);
  const waiting = (await rows(page)).length;

  await page.getByTestId("add-http-mock").click();
  // A mock that does not match yet: the run still waits, nothing is thrown away.
  await waitForStatus(page, /^Waiting for an answer to callout/);
  assert.equal((await rows(page)).length, waiting);
  assert.equal(await page.getByTestId("stale").count(), 0);
  await page.getByTestId("http-mock").getByLabel("Cluster").fill("auth");
  await waitForStatus(page, /^Finished$/);
  assert.equal(await page.locator('[data-testid="callback"][data-name="proxy_on_http_call_response"]').count(), 1);
  assert.equal(await page.getByTestId("stale").count(), 0);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a refused memory growth is reported as the memory limit, in its callback", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await upload(page, "greedy.wasm", GREEDY);
  await page.getByTestId("run").click();
  await waitForStatus(page, /^(Finished|Callback #\d+ failed)/);
  const error = await page.getByTestId("error").textContent();
  assert.match(error, /memory_limit: memory limit reached in proxy_on_request_headers/);
  assert.match(error, /past the limit of 4096 pages = 256 MiB/);
  assert.match(error, /then trapped: unreachable executed/);
  assert.match(
    await page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"] .cb-result').textContent(),
    /memory_limit/,
  );
  await screenshot(page, "truth-memory-limit");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a looping plugin: Cancel says cancelled, and the default fuel ends it by itself", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await upload(page, "loop.wasm", LOOPING);

  // With ample fuel it runs until cancelled; the run says so, not "Paused" or "0 fuel".
  await page.getByRole("tab", { name: "Settings" }).click();
  // Cancel by message and fuel are the interpreter's (the browser's engine is stopped by its
  // deadline instead: engines.test.mjs).
  await page.getByTestId("interpreter-only").check();
  await page.getByTestId("limit-fuel").fill("100,000,000,000");
  await page.getByTestId("limit-fuel").press("Tab");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Running/);
  await page.getByTestId("cancel").click();
  await waitForStatus(page, /^Cancelled/, 10_000);
  assert.match(await status(page), /^Cancelled during proxy_on_request_headers/);
  const last = page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"] .cb-meta');
  assert.match(await last.textContent(), /cancelled/);
  assert.doesNotMatch(await last.textContent(), /0 fuel/);

  // Left alone with the page's default fuel, the loop ends by itself with out_of_fuel.
  await page.getByTestId("limit-fuel").fill("");
  await page.getByTestId("limit-fuel").press("Tab");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^(Finished|Callback #\d+ failed)/);
  const error = await page.getByTestId("error").textContent();
  assert.match(error, /out_of_fuel: the plugin used up its fuel/);
  assert.match(error, /proxy_on_request_headers/);
  assert.deepEqual(errors, []);
  await page.context().close();
});
