// The timeline built with forms, not JSON: the Events editor (Settings tab) adds ticks, clock
// advances and requests, moves and removes them; a mock's "Delay (ms)" makes its answer late.
// The run then shows the ticks and the late answers on the timeline. At 1440 px (three panes)
// and 800 px (panes behind tabs).

import assert from "node:assert/strict";
import { test } from "node:test";
import { open, pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

async function openAt(width) {
  const { page, errors } = await open(app.browser, app.server.url, { width, height: 900 });
  return { page, errors, context: page.context() };
}

/** Brings `testid` on screen: its pane's tab first when the pane is hidden (800 px). */
async function show(page, testid) {
  const el = page.getByTestId(testid);
  if (!(await el.isVisible())) {
    const pane = await el.evaluate((e) => e.closest(".pane")?.id);
    await page.locator(`[role="tab"][aria-controls~="${pane}"]`).click();
  }
  await el.scrollIntoViewIfNeeded();
}

async function editorTab(page, name) {
  const tab = page.getByRole("tab", { name, exact: true });
  if (!(await tab.isVisible())) await show(page, "request-editor");
  await tab.click();
}

/** Types into a field and leaves it, as a user does (the fields apply on change). */
async function enter(locator, text) {
  await locator.fill(text);
  await locator.press("Tab");
}

const kinds = (page) => page.getByTestId("event").evaluateAll((els) => els.map((e) => e.dataset.kind));
const marks = async (page, kind) =>
  (await page.locator(`[data-testid="timeline-mark"][data-kind="${kind}"]`).allTextContents()).map((t) =>
    t.replace(/\s+/g, " ").trim(),
  );

async function run(page) {
  await show(page, "run");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
}

for (const width of [1440, 800]) {
  test(`at ${width} px: a late auth answer, built with the forms, shows on the timeline`, async () => {
    const { page, errors, context } = await openAt(width);
    await pickExample(page, "go-http-auth");

    // The auth service answers 300 ms after each check.
    await editorTab(page, "Routing & mocks");
    await enter(page.getByTestId("http-mock-delay"), "300");

    // Without events the run replays the request; the first event writes that request out.
    await editorTab(page, "Settings");
    await page.getByTestId("events-editor").scrollIntoViewIfNeeded();
    assert.match(await page.getByTestId("events-hint").textContent(), /^None: the run replays the request once\./);
    await page.getByTestId("add-advance").click();
    assert.deepEqual(await kinds(page), ["request", "advance"]);
    await enter(page.getByTestId("event-advance"), "100");
    await page.getByTestId("add-request").click();
    await page.getByTestId("event-path").nth(1).fill("/orders/42");
    assert.deepEqual(await kinds(page), ["request", "advance", "request"]);
    // The second request sends its own headers: the scenario's, with another accept.
    await page.getByTestId("event-own-headers").nth(1).check();
    const own = page.getByTestId("event-headers");
    assert.deepEqual(await own.getByTestId("pair-name").evaluateAll((els) => els.map((e) => e.value)), [
      "authorization",
      "accept",
    ]);
    await own.getByTestId("pair-value").nth(1).fill("text/plain");
    // A refused number says why and changes nothing.
    await enter(page.getByTestId("event-advance"), "soon");
    assert.match(await page.getByTestId("event").nth(1).getByRole("alert").textContent(), /not a whole number/);
    await enter(page.getByTestId("event-advance"), "100");
    assert.equal(await page.getByTestId("event").nth(1).getByRole("alert").count(), 0);
    await screenshot(page, `events-form-${width}`);

    // The form wrote the scenario.
    await editorTab(page, "Scenario (JSON)");
    const json = JSON.parse(await page.getByTestId("scenario-json-editor").inputValue());
    assert.deepEqual(json.events, [
      { request: {} },
      { advance_ms: 100 },
      {
        request: {
          path: "/orders/42",
          headers: [
            ["authorization", "Bearer good-token"],
            ["accept", "text/plain"],
          ],
        },
      },
    ]);
    assert.equal(json.mocks.http[0].delay_ms, 300);

    await run(page);
    // Both requests waited; each answer came 300 ms after its call, and both went upstream.
    await show(page, "timeline");
    const answers = await marks(page, "answer");
    assert.equal(answers.length, 2, `${answers}`);
    for (const a of answers) assert.match(a, /answered after 300 ms/);
    assert.equal((await marks(page, "waiting")).length, 2);
    await page.locator('[data-testid="timeline-mark"][data-kind="answer"]').first().scrollIntoViewIfNeeded();
    await screenshot(page, `events-answers-${width}`);
    await show(page, "client-status");
    assert.equal(await page.getByTestId("client-status").textContent(), "200");
    const upstream = await page.getByTestId("upstream-request").textContent();
    assert.match(upstream, /\/orders\/42/);
    assert.match(upstream, /text\/plain/);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("at 1440 px: ticks added, moved and removed with the form fire where they stand", async () => {
  const { page, errors, context } = await openAt(1440);
  // Three requests 100 ms apart through a token bucket that ticks every second.
  await pickExample(page, "go-rate-limit");
  await editorTab(page, "Settings");
  assert.match(
    await page.getByTestId("events-hint").textContent(),
    /^None: the run replays the request 3 times, 100 ms apart\./,
  );
  await page.getByTestId("add-tick").click();
  assert.deepEqual(await kinds(page), ["request", "advance", "request", "advance", "request", "tick"]);
  assert.equal(await page.getByTestId("requests").inputValue(), "1", "events list the requests one by one");

  // The tick goes before the last request; the advance before it goes; it fires twice.
  await page.getByTestId("event-up").nth(5).click();
  await page.getByTestId("event-remove").nth(3).click();
  assert.deepEqual(await kinds(page), ["request", "advance", "request", "tick", "request"]);
  assert.ok(await page.getByTestId("event-up").first().isDisabled());
  assert.ok(await page.getByTestId("event-down").last().isDisabled());
  await enter(page.getByTestId("event-ticks"), "2");
  await page.getByTestId("events-editor").scrollIntoViewIfNeeded();
  await screenshot(page, "events-ticks-form-1440");

  await run(page);
  const ticks = page.locator('[data-testid="callback"][data-name="proxy_on_tick"]');
  assert.equal(await ticks.count(), 2);
  // After the 100 ms advance, each tick moved the clock to the next second; the last request
  // came after them.
  const clock = await marks(page, "clock");
  assert.deepEqual(clock, ["→clock +100 msat 100 ms", "→clock +900 msat 1 s", "→clock +1 sat 2 s"]);
  const requests = await marks(page, "request");
  assert.equal(requests.length, 3);
  await ticks.first().scrollIntoViewIfNeeded();
  await screenshot(page, "events-ticks-run-1440");

  // Removing every event goes back to replaying the request.
  for (let i = 0; i < 5; i++) await page.getByTestId("event-remove").first().click();
  assert.deepEqual(await kinds(page), []);
  assert.match(await page.getByTestId("events-hint").textContent(), /^None: the run replays the request once\./);
  assert.deepEqual(errors, []);
  await context.close();
});

test("at 1440 px: a Redis reply delayed past the client's timeout fails the command", async () => {
  const { page, errors, context } = await openAt(1440);
  // The plugin gives proxy_redis_init a 1000 ms timeout and lets the request through
  // uncounted when INCR fails.
  await pickExample(page, "higress-redis-counter");
  await editorTab(page, "Routing & mocks");
  await enter(page.getByTestId("redis-mock-delay"), "1500");
  await page.getByTestId("redis-mocks").scrollIntoViewIfNeeded();
  await screenshot(page, "events-redis-delay-1440");
  await run(page);
  assert.match(await page.getByTestId("logs").textContent(), /INCR request-count:team-a failed: .*letting the request through uncounted/);
  const upstream = await page.getByTestId("upstream-request").textContent();
  assert.doesNotMatch(upstream, /x-request-count/);
  // Within the timeout the count comes, late.
  await enter(page.getByTestId("redis-mock-delay"), "400");
  await run(page);
  assert.match(await page.getByTestId("upstream-request").textContent(), /x-request-count3/);
  assert.deepEqual(errors, []);
  await context.close();
});
