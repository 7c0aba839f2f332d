// The virtual clock while paused: Tick and Advance clock add an event where the run stands,
// the timeline shows the clock moving and the ticks it fired, and the run then goes on to
// the end. At 1440 px (three panes) and 800 px (the run bar above two tabs).

import assert from "node:assert/strict";
import { test } from "node:test";
import { open, pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

const ticks = (page) => page.locator('[data-testid="callback"][data-name="proxy_on_tick"]').count();
const marks = (page) => page.getByTestId("timeline-mark").allTextContents();

for (const width of [1440, 800]) {
  test(`at ${width} px: pause, tick, see the tick, advance the clock, finish`, async () => {
    const { page, errors } = await open(app.browser, app.server.url, { width, height: 900 });
    const context = page.context();
    // Three requests 100 ms apart through a token bucket that refills every 1000 ms.
    await pickExample(page, "go-rate-limit");

    // Not paused: the clock controls say how to use them.
    assert.ok(await page.getByTestId("tick").isDisabled());
    assert.match(await page.getByTestId("tick").getAttribute("title"), /^Pause the run first/);

    // Step over to the first request's headers.
    for (let i = 0; i < 20; i++) {
      await page.getByTestId("step-over").click();
      await waitForStatus(page, /^Paused/);
      if (/proxy_on_request_headers/.test(await page.getByTestId("run-status").textContent())) break;
    }
    assert.match(await page.getByTestId("run-status").textContent(), /before callback #\d+ proxy_on_request_headers/);
    assert.equal(await ticks(page), 0);

    // Tick: the paused callback ends, then the clock moves a period and proxy_on_tick fires.
    assert.ok(await page.getByTestId("tick").isEnabled());
    await page.getByTestId("tick").click();
    await waitForStatus(page, /^Paused after the tick or clock advance you added$/);
    assert.equal(await ticks(page), 1);
    assert.deepEqual(
      (await marks(page)).map((t) => t.replace(/\s+/g, " ").trim()),
      ["→clock +1 sat 1 s"],
    );
    const tickRow = page.locator('[data-testid="callback"][data-name="proxy_on_tick"]');
    // A tick belongs to no request; the tick it ran is selected, its host calls below.
    assert.equal(await tickRow.locator(".req").textContent(), "");
    assert.match(await tickRow.getAttribute("class"), /selected/);
    await tickRow.scrollIntoViewIfNeeded();
    await screenshot(page, `timeline-tick-${width}`);

    // Advance the clock by 2.5 s: two more ticks fall due on the way.
    await page.getByTestId("advance-ms").fill("0");
    assert.ok(await page.getByTestId("advance-clock").isDisabled());
    assert.match(await page.getByTestId("advance-clock").getAttribute("title"), /whole number of milliseconds/);
    await page.getByTestId("advance-ms").fill("2500");
    await page.getByTestId("advance-clock").click();
    await waitForStatus(page, /^Paused after the tick or clock advance you added$/);
    assert.equal(await ticks(page), 3);
    const clock = (await marks(page)).filter((t) => t.includes("clock"));
    assert.deepEqual(
      clock.map((t) => t.replace(/\s+/g, " ").trim()),
      ["→clock +1 sat 1 s", "→clock +1 sat 2 s", "→clock +1 sat 3 s", "→clock +500 msat 3.5 s"],
    );
    await screenshot(page, `timeline-advance-${width}`);

    // Continue to the end: the run finishes, with the ticks and the marks kept.
    await page.getByTestId("continue").click();
    await waitForStatus(page, /^Finished$/);
    assert.equal(await ticks(page), 3);
    assert.ok(await page.getByTestId("tick").isDisabled(), "a finished run takes no more events");
    // With the bucket refilled while the first request was paused, no request was denied.
    assert.equal(await page.getByTestId("client-status").textContent(), "200");
    await screenshot(page, `timeline-finished-${width}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

/** Whether callback `index` is rendered and wholly inside the timeline's scroll box. */
function inView(i) {
  const list = document.querySelector('[data-testid="timeline"]');
  const row = list.querySelector(`[data-testid="callback"][data-index="${i}"]`);
  if (!row) return false;
  const a = list.getBoundingClientRect();
  const b = row.getBoundingClientRect();
  return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
}

for (const width of [1440, 800]) {
  test(`at ${width} px: a long replay's timeline renders a window of rows; stepping brings the paused callback into view`, async () => {
    const { page, errors } = await open(app.browser, app.server.url, { width, height: 900 });
    const context = page.context();
    await pickExample(page, "go-headers");
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByTestId("requests").fill("60");
    await page.getByTestId("requests").press("Tab");
    await page.getByTestId("run").click();
    await waitForStatus(page, /^Finished$/);
    const timeline = page.getByTestId("timeline");
    if (!(await timeline.isVisible())) await page.getByTestId("pane-tab-run").click();
    const rows = Number(await timeline.getAttribute("data-rows"));
    assert.ok(rows > 400, `${rows} rows`);
    assert.match(await timeline.getAttribute("class"), /\bwindowed\b/);
    const rendered = await page.getByTestId("callback").count();
    assert.ok(rendered > 5 && rendered < 60, `${rendered} of ${rows} rows rendered`);
    // It followed the run to its end.
    // (go-headers' replay has no timeline marks: rows are callbacks.)
    await page.waitForFunction(inView, rows - 1);

    // A breakpoint on proxy_on_done (its dot), then run again: each Continue pauses before the
    // next request's proxy_on_done, and the list keeps it in view.
    const done = page.locator('[data-testid="callback"][data-name="proxy_on_done"]').last();
    await done.hover();
    await done.locator(".bp").click();
    await page.getByTestId("restart").click();
    await page.getByTestId("run").click();
    await waitForStatus(page, /^Paused before callback #\d+ proxy_on_done/);
    for (let i = 0; i < 30; i++) {
      await page.getByTestId("continue").click();
      await waitForStatus(page, new RegExp(`^Paused before callback #\\d+ proxy_on_done`));
    }
    // Scrolled away to the top, the next pause scrolls the list back to it.
    await timeline.evaluate((el) => (el.scrollTop = 0));
    await page.getByTestId("continue").click();
    await waitForStatus(page, /^Paused before callback #\d+ proxy_on_done/);
    const current = page.locator('[data-testid="callback"].current');
    await current.waitFor();
    const index = Number(await current.getAttribute("data-index"));
    assert.ok(index > 200, `paused in callback ${index}`);
    assert.match(await timeline.getAttribute("class"), /\bwindowed\b/, "over 200 rows: windowed while paused too");
    await page.waitForFunction(inView, index);
    // Selecting a rendered row shows its host calls.
    const row = page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"]').last();
    await row.click();
    assert.match(await row.getAttribute("class"), /selected/);
    // (A replay's host calls come from the worker when a callback is selected, and so do its
    // log lines.)
    await page.getByTestId("hostcall").first().waitFor();
    await page.locator(".logs-bar").getByText("only the selected callback").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="logs"] li').length === 3);
    assert.match(await page.getByTestId("logs").textContent(), /request: added x-request-source: proxy-wasm/);
    await screenshot(page, `timeline-windowed-${width}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
}
