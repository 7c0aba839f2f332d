// The layout at every window size: from a phone (390 px, an opened share link) through a
// half-screen laptop window (800 px) to a wide screen (1440 px), no two panes overlap, nothing
// spills out of its pane, and every part of every pane can be reached and is not covered.
// And the paused view: where a stepping user looks.

import assert from "node:assert/strict";
import { test } from "node:test";
import { pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

/** The three panes, by the classes they have always had. */
const PANES = [".pane-left", ".pane-middle", ".pane-right"];
/** What a user must be able to reach in each pane, by data-testid (and the Run button). */
const PARTS = {
  ".pane-left": ["plugin-url", "import-report", "request-editor"],
  ".pane-middle": ["timeline", "hostcalls", "logs"],
  ".pane-right": ["upstream-request", "client-response", "expectations"],
};
/** Before a run the timeline, the logs and the expectations are empty lists, with nothing to reach. */
const BEFORE_A_RUN = { timeline: null, logs: null, expectations: null };

/** A page of its own at `width` x `height`, with its errors collected. */
async function sized(width, height, url = app.server.url) {
  const context = await app.browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(`page: ${err.message}`));
  page.on("console", (msg) => msg.type() === "error" && errors.push(`console: ${msg.text()}`));
  await page.goto(url);
  return { page, errors };
}

async function runToEnd(page) {
  await page.getByTestId("run").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === "Finished", null, {
    timeout: 120_000,
  });
}

/** Page rectangles of the panes on screen, and of any pane whose content spills out of it. */
function layoutFacts(page) {
  return page.evaluate((ids) => {
    const panes = [];
    const spills = [];
    for (const id of ids) {
      const el = document.querySelector(id);
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      panes.push({ id, left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX, bottom: r.bottom + scrollY });
      const style = getComputedStyle(el);
      const scrolls = (o) => o === "auto" || o === "scroll";
      if (el.scrollHeight > el.clientHeight + 1 && !scrolls(style.overflowY)) spills.push(`${id} spills ${el.scrollHeight - el.clientHeight}px down`);
      if (el.scrollWidth > el.clientWidth + 1 && !scrolls(style.overflowX)) spills.push(`${id} spills ${el.scrollWidth - el.clientWidth}px sideways`);
    }
    const pageWide = document.documentElement.scrollWidth > innerWidth + 1 ? `the page scrolls sideways (${document.documentElement.scrollWidth}px)` : null;
    return { panes, spills, pageWide };
  }, PANES);
}

function assertNoOverlap({ panes, spills, pageWide }, where) {
  for (let i = 0; i < panes.length; i++) {
    for (let j = i + 1; j < panes.length; j++) {
      const a = panes[i];
      const b = panes[j];
      const overlap = a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
      assert.ok(!overlap, `${where}: ${a.id} and ${b.id} overlap: ${JSON.stringify([a, b])}`);
    }
  }
  assert.deepEqual(spills, [], `${where}: content spills out of a pane`);
  assert.equal(pageWide, null, where);
}

/**
 * Brings `testid` on screen the way a user would (its pane's tab when the pane is hidden, then
 * scrolling), and checks that the middle of its visible part is the element itself, not
 * something drawn over it.
 */
async function reach(page, testid, where) {
  const el = testid.startsWith(".") ? page.locator(testid) : page.getByTestId(testid);
  if (!(await el.isVisible())) {
    const pane = await el.evaluate((e) => e.closest(".pane")?.id);
    const tab = page.locator(`[role="tab"][aria-controls~="${pane}"]`);
    assert.equal(await tab.count(), 1, `${where}: ${testid} is hidden and no tab shows ${pane}`);
    await tab.click();
  }
  await el.scrollIntoViewIfNeeded();
  assert.ok(await el.isVisible(), `${where}: ${testid} is visible`);
  const covered = await el.evaluate((e) => {
    const r = e.getBoundingClientRect();
    const [x0, x1] = [Math.max(r.left, 0), Math.min(r.right, innerWidth)];
    const [y0, y1] = [Math.max(r.top, 0), Math.min(r.bottom, innerHeight)];
    if (x1 - x0 < 4 || y1 - y0 < 4) return `not in the window (${JSON.stringify(r)})`;
    const at = document.elementFromPoint((x0 + x1) / 2, (y0 + y1) / 2);
    if (e.contains(at)) return null;
    return `covered by <${at?.tagName.toLowerCase()} class="${at?.className}" data-testid="${at?.closest("[data-testid]")?.dataset.testid}">`;
  });
  assert.equal(covered, null, `${where}: ${testid}`);
}

async function checkEverything(page, where, { ran = true } = {}) {
  assertNoOverlap(await layoutFacts(page), `${where}, at the top`);
  for (const pane of PANES) {
    const parts = PARTS[pane].map((p) => (ran || !(p in BEFORE_A_RUN) ? p : BEFORE_A_RUN[p])).filter(Boolean);
    for (const part of ["run", pane, ...parts]) {
      if (part === "request-editor") await reachRequestTab(page);
      await reach(page, part, where);
      assertNoOverlap(await layoutFacts(page), `${where}, after reaching ${part}`);
    }
  }
}

async function reachRequestTab(page) {
  const tab = page.getByRole("tab", { name: "Request", exact: true });
  if (!(await tab.isVisible())) await reach(page, ".pane-left", "the inputs");
  await tab.click();
}

for (const [width, height] of [
  [800, 900],
  [1024, 768],
  [1440, 900],
]) {
  test(`at ${width} px every pane is reachable and nothing overlaps`, async () => {
    const { page, errors } = await sized(width, height);
    await pickExample(page, "go-http-auth");
    await checkEverything(page, `${width} px, loaded`, { ran: false });
    await runToEnd(page);
    await checkEverything(page, `${width} px, after a run`);
    assert.equal(await page.getByTestId("client-status").textContent(), "200");
    if (width === 800 || width === 1440) await screenshot(page, `layout-${width}`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}

test("a share link opened on a 390 px phone reads well and runs", async () => {
  // A colleague shares a session from a wide screen…
  const wide = await sized(1440, 900);
  await pickExample(wide.page, "rust-basic-auth", "rust-basic-auth.scenario-denied.json");
  await wide.page.getByTestId("share").click();
  await wide.page.waitForFunction(() => document.querySelector('[data-testid="share-status"]')?.textContent !== "Copying…");
  const link = await wide.page.getByTestId("share-link").inputValue();
  await wide.page.context().close();

  // …and it opens on a phone.
  const { page, errors } = await sized(390, 844, link);
  await page.getByTestId("abi").waitFor();
  await checkEverything(page, "390 px, opened", { ran: false });
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  await reach(page, "client-response", "390 px, after Run");
  assert.equal(await page.getByTestId("client-status").textContent(), "401");
  await checkEverything(page, "390 px, after a run");
  await page.evaluate(() => scrollTo(0, 0));
  await screenshot(page, "layout-390");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("stepping into a request shows the stream now without scrolling, in readable words", async () => {
  for (const [width, height] of [
    [1440, 900],
    [800, 900],
  ]) {
    const { page, errors } = await sized(width, height);
    await pickExample(page, "go-headers");
    // Step to the request-headers callback, then into its first host call.
    for (let i = 0; i < 6; i++) {
      const before = await page.getByTestId("callback").count();
      await page.getByTestId("step-over").click();
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="callback"]').length > n, before);
    }
    assert.equal(await page.getByTestId("callback").last().getAttribute("data-name"), "proxy_on_request_headers");
    await page.getByTestId("step-into").click();
    await waitForStatus(page, /^Paused after host call 0/);
    const status = await page.getByTestId("run-status").textContent();
    assert.match(status, /of callback #5 proxy_on_request_headers$/);

    // Where the user is already looking: on screen without scrolling, not covered.
    const now = page.getByTestId("stream-now");
    await now.waitFor();
    const box = await now.boundingBox();
    assert.ok(box.y >= 0 && box.y < height - 80, `${width} px: the stream view starts on screen (y = ${box.y})`);
    assert.equal(await page.evaluate(() => scrollY), 0, `${width} px: no scrolling happened`);
    await reach(page, "stream-now", `${width} px`);
    const text = await now.textContent();
    assert.match(text, /#5 proxy_on_request_headers/);
    assert.match(text, /req 1/);
    assert.equal(await page.getByTestId("access-request-headers").textContent(), "readable and writable");
    assert.doesNotMatch(text, /ReadWrite|ReadOnly|\bNone\b/);
    // The timeline's rows: the callback number and the request number look different.
    const row = page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"]');
    assert.equal(await row.locator(".cb-no").textContent(), "#5");
    assert.equal(await row.locator(".req").textContent(), "req 1");
    if (width === 1440) await screenshot(page, "layout-paused-1440");
    assert.deepEqual(errors, []);
    await page.context().close();
  }
});
