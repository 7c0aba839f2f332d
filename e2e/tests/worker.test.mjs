// The engine runs in a dedicated Web Worker: plugin code never runs on the page's thread, a
// replay streams its progress, the page answers input while a plugin loops, Cancel reaches the
// looping plugin by message, and
// a worker that does not answer is replaced without losing the user's inputs.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { applyScenario, open, pickExample, root, scenarioJson, screenshot, useApp, waitForStatus, wasmFromText } from "../lib.mjs";

const app = useApp();

/** The host's looping fixture: proxy_on_request_headers loops when `x-evil` is sent. */
const LOOP = wasmFromText(readFileSync(join(root, "host/tests/fixtures/hostile_loop_headers.wat"), "utf8"));

const status = (page) => page.getByTestId("run-status").textContent();
const theme = (page) => page.evaluate(() => document.documentElement.dataset.theme);

/** The engine worker the page started (by its script's name). */
function engineWorkers(page) {
  return page.workers().filter((w) => w.url().endsWith("/pwp-worker_loader.js"));
}

/** Waits until the page has `n` engine workers running. */
async function waitForWorkers(page, n) {
  for (let i = 0; i < 100 && engineWorkers(page).length !== n; i++) await page.waitForTimeout(50);
}

/**
 * Uploads the looping fixture with a scenario that triggers it and ample fuel, on the
 * interpreter: Cancel by message reaches a plugin only there (between fuel slices); the
 * browser's engine is stopped by its deadline instead (engines.test.mjs).
 */
async function loadLoop(page) {
  await page.getByTestId("plugin-file").setInputFiles({ name: "loop.wasm", mimeType: "application/wasm", buffer: LOOP });
  await page.getByTestId("abi").waitFor();
  const scenario = await scenarioJson(page);
  scenario.request = { ...(scenario.request ?? {}), headers: [["x-evil", ""]] };
  scenario.settings = {
    ...(scenario.settings ?? {}),
    engine: "interpreter",
    limits: { ...(scenario.settings?.limits ?? {}), fuel_per_callback: 100_000_000_000 },
  };
  await applyScenario(page, scenario);
}

/**
 * Requests in the long replay: 10,000 take ~14 s in the release dist on 2 busy cores (plain
 * runs on the browser's engine; BENCHMARKS.md, "Replays in the page").
 */
const REPLAY = 10_000;

test("a replay runs in the engine worker, which streams its progress to the page", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await waitForWorkers(page, 1);
  assert.equal(engineWorkers(page).length, 1, "the page started one engine worker");
  await page.getByRole("tab", { name: "Settings" }).click();
  await page.getByTestId("requests").fill(String(REPLAY));
  await page.getByTestId("requests").press("Tab");
  // Every status the run bar showed, and the status when the theme changed.
  await page.evaluate(() => {
    window.__statuses = [];
    window.__statusAtTheme = null;
    const status = () => document.querySelector('[data-testid="run-status"]')?.textContent ?? "";
    new MutationObserver(() => window.__statuses.push(status())).observe(document.querySelector('[data-testid="run-status"]'), {
      childList: true,
      characterData: true,
      subtree: true,
    });
    new MutationObserver(() => (window.__statusAtTheme ??= status())).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-theme"],
    });
  });
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Running… \([1-9]/);
  // The charts draw while the replay runs, and the page answers a click.
  await page.getByTestId("memory-chart").waitFor();
  await page.getByTestId("theme-toggle").click();
  await waitForStatus(page, /^Finished$/, 600_000);
  assert.match(await page.evaluate(() => window.__statusAtTheme), /^Running… \(\d+ slices\)/, "the click was handled during the replay");
  const statuses = await page.evaluate(() => window.__statuses);
  const progress = new Set(statuses.filter((t) => /^Running… \([1-9]/.test(t)));
  assert.ok(progress.size >= 1, `the run bar followed the worker's progress: ${[...progress]}`);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  assert.equal(await page.locator('[data-testid="expectations"] li.fail').count(), 0);
  // Memory and time per request, and what the memory did. go-headers' Go heap grows 8 pages
  // every ~450 requests until request ~3,400, then stays (one more step near 9,100): over the
  // second half of 10,000 requests it is flat.
  const chart = page.getByTestId("requests-chart");
  assert.match(await chart.locator("figcaption").textContent(), new RegExp(`^${REPLAY} requests: memory`));
  for (const id of ["memory-chart", "time-chart"]) {
    const points = await page.getByTestId(id).locator("polyline").getAttribute("points");
    assert.equal(points.split(" ").length, 240, `${id}: the series cut to 240 points`);
  }
  assert.match(await page.getByTestId("memory-verdict").textContent(), /^flat after warm-up \(\d+ KiB per 1,000 requests\)$/);
  // The timeline holds every callback but renders only a window of them, scrolled to the end.
  const timeline = page.getByTestId("timeline");
  const rows = Number(await timeline.getAttribute("data-rows"));
  assert.ok(rows > 5 * REPLAY, `${rows} rows`);
  const rendered = await page.getByTestId("callback").count();
  assert.ok(rendered > 0 && rendered < 100, `${rendered} rows rendered`);
  const last = await page.getByTestId("callback").last().getAttribute("data-index");
  assert.equal(Number(last), rows - 1, "the last callback is in view");
  // A replay's progress carries no host calls (a summary); selecting a callback late in the
  // run asks the worker for its host calls.
  const late = page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"]').last();
  const index = Number(await late.getAttribute("data-index"));
  assert.ok(index > rows - 100, `callback ${index} of ${rows}`);
  assert.match(await late.locator(".cb-meta").textContent(), /^9 calls/, "its host calls counted in the row");
  await late.click();
  await page.getByTestId("hostcall").first().waitFor();
  const calls = await page.getByTestId("hostcall").evaluateAll((rows) => rows.map((r) => r.dataset.name));
  assert.equal(calls.length, 9, calls.join(", "));
  assert.ok(calls.includes("proxy_replace_header_map_value"), calls.join(", "));
  assert.match(await page.locator(".callback-detail h3").textContent(), new RegExp(`^#${index} proxy_on_request_headers`));
  // (Its log lines are past limits.max_log_lines: timeline.test.mjs shows a replay's lines.)
  await screenshot(page, `replay-${REPLAY}`);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("Cancel stops a runaway plugin in the worker by message, and it runs again", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await loadLoop(page);
  await page.evaluate(() => {
    window.__statusAtTheme = null;
    new MutationObserver(
      () => (window.__statusAtTheme ??= document.querySelector('[data-testid="run-status"]')?.textContent ?? ""),
    ).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  });
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Running… \([1-9]\d* slices\)/);
  // The page handles a click while the plugin loops in the worker.
  await page.getByTestId("theme-toggle").click();
  assert.match(await page.evaluate(() => window.__statusAtTheme), /^Running… \(\d+ slices\)/);
  const worker = engineWorkers(page)[0];
  await page.getByTestId("cancel").click();
  await waitForStatus(page, /^Cancelled/);
  // The worker answered: the same worker goes on, and the callback that looped is shown.
  assert.equal(engineWorkers(page)[0], worker);
  await page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"]').waitFor();
  assert.equal(await page.getByTestId("notice").count(), 0, "no failure to report");
  await page.getByTestId("restart").click();
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Running… \([1-9]\d* slices\)/);
  await page.getByTestId("cancel").click();
  await waitForStatus(page, /^Cancelled/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a worker that misses the Cancel deadline is replaced; the inputs stay and runs work again", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await loadLoop(page);
  // No time at all to answer: the page replaces the worker at once (the path a stuck engine
  // takes after CANCEL_DEADLINE_MS).
  await page.evaluate(() => (window.__pwpCancelDeadlineMs = 0));
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Running… \([1-9]\d* slices\)/);
  const first = engineWorkers(page)[0];
  const closed = new Promise((resolve) => first.once("close", resolve));
  await page.getByTestId("cancel").click();
  await waitForStatus(page, /^Cancelled/);
  await closed;
  const notice = await page.getByTestId("notice").textContent();
  assert.match(notice, /did not stop within 0 ms of Cancel: the engine was stopped and restarted/);
  assert.match(notice, /Your inputs are kept/);
  await page.getByTestId("stale").waitFor();
  await page.waitForFunction(() => true);
  await waitForWorkers(page, 1);
  assert.equal(engineWorkers(page).length, 1, "a new engine worker");
  assert.notEqual(engineWorkers(page)[0], first);
  // The inputs survived: the scenario still has the header and the fuel limit.
  const scenario = await scenarioJson(page);
  assert.deepEqual(scenario.request.headers, [["x-evil", ""]]);
  assert.equal(scenario.settings.limits.fuel_per_callback, 100_000_000_000);
  await screenshot(page, "worker-replaced");

  // The new worker gets the plugin again: with a small fuel limit the loop ends out_of_fuel.
  await page.evaluate(() => delete window.__pwpCancelDeadlineMs);
  scenario.settings.limits.fuel_per_callback = 30_000_000;
  await applyScenario(page, scenario);
  await page.getByTestId("run").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="error"]')?.textContent?.includes("out_of_fuel"));
  // And an example runs to the end on it.
  await pickExample(page, "go-headers");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  assert.deepEqual(errors, []);
  await page.context().close();
});
