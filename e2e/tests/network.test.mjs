// An L4 network filter in the app: the go-network example's connection, frame by frame.

import assert from "node:assert/strict";
import { test } from "node:test";
import { open, pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

async function runToEnd(page) {
  await waitForStatus(page, /^Ready$/);
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
}

test("the network example shows its connection: bytes each way, frames, closes", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-network");
  await runToEnd(page);
  const connection = page.getByTestId("connection");
  await connection.waitFor();
  // An L4 run has a connection instead of a request and a response.
  assert.equal(await page.getByTestId("upstream-request").count(), 0);
  assert.equal(await page.getByTestId("client-response").count(), 0);
  assert.equal(await page.getByTestId("conn-frame").count(), 4);
  assert.match(await page.getByTestId("conn-down").textContent(), /client → upstream\s*1414\s*0/);
  assert.match(await page.getByTestId("conn-up").textContent(), /upstream → client\s*77 \+ end of stream\s*0/);
  assert.match(await page.getByTestId("conn-closes").textContent(), /upstream unknown.*downstream remote/s);
  assert.match(await page.getByTestId("conn-end").textContent(), /^Closed/);
  assert.equal(await page.locator('[data-testid="callback"][data-name="proxy_on_downstream_data"]').count(), 2);
  assert.equal(await page.locator('[data-testid="expectations"] li.fail').count(), 0);
  assert.match(await page.getByTestId("expectations").textContent(), /connection\.to_upstream/);
  await screenshot(page, "go-network");
  assert.deepEqual(errors, []);
});

test("a held read and the plugin's close show in the connection view", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-network", "go-network.scenario-deny.json");
  await runToEnd(page);
  const frames = page.getByTestId("conn-frame");
  assert.match(await frames.nth(0).textContent(), /13 bytes held in the connection buffer/);
  assert.match(await frames.nth(1).textContent(), /plugin saw 18 bytes → StopIteration/);
  assert.match(await frames.nth(2).textContent(), /not delivered: the connection is closed/);
  assert.match(await page.getByTestId("conn-closes").textContent(), /downstream local — the plugin closed the connection/);
  assert.equal(await page.locator('[data-testid="expectations"] li.fail').count(), 0);
  assert.deepEqual(errors, []);
});

test("frames edited in the scenario JSON run as edited", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-network");
  await page.getByTestId("tab-scenario").click();
  const editor = page.getByTestId("scenario-json-editor");
  const scenario = JSON.parse(await editor.inputValue());
  scenario.connection.frames = [
    { from: "downstream", data: "hello" },
    { from: "upstream", data: "world", end_of_stream: true },
    { from: "downstream", close: "local" },
  ];
  scenario.expect = {};
  await editor.fill(JSON.stringify(scenario, null, 2));
  await page.getByTestId("scenario-apply").click();
  await runToEnd(page);
  assert.equal(await page.getByTestId("conn-frame").count(), 3);
  assert.match(await page.getByTestId("conn-down").textContent(), /client → upstream\s*55\s*0/);
  assert.match(await page.getByTestId("conn-closes").textContent(), /downstream local — Envoy closed the client's connection/);
  assert.deepEqual(errors, []);
});

test("the request tab edits the frames: turn L4 on, change bytes, add a close", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-network");
  await page.getByTestId("tab-request").click();
  const toggle = page.getByTestId("connection-toggle");
  assert.equal(await toggle.isChecked(), true);
  assert.equal(await page.getByTestId("request-editor").isVisible(), false, "no HTTP request in an L4 scenario");
  // Off and on again: the default connection, a ping answered by a pong, then a close.
  await toggle.uncheck();
  assert.equal(await page.getByTestId("request-editor").isVisible(), true);
  await toggle.check();
  const frames = page.getByTestId("conn-frame-editor");
  assert.equal(await frames.count(), 3);
  await frames.nth(0).getByRole("textbox", { name: "Frame 1 data" }).fill("PING FLUSHALL\n");
  await runToEnd(page);
  assert.match(await page.getByTestId("conn-closes").textContent(), /downstream local — the plugin closed the connection/);
  assert.match(await page.getByTestId("conn-frame").nth(1).textContent(), /not delivered/);
  assert.deepEqual(errors, []);
});

test("a frame's After (ms) moves the clock before it, on the timeline", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-network");
  await page.getByTestId("tab-request").click();
  await page.getByTestId("conn-frame-after").nth(2).fill("1500");
  await page.getByTestId("conn-frame-after").nth(2).press("Tab");
  await runToEnd(page);
  const marks = await page.locator('[data-testid="timeline-mark"][data-kind="clock"]').allTextContents();
  assert.deepEqual(
    marks.map((t) => t.replace(/\s+/g, " ").trim()),
    ["→clock +1.5 sat 1.5 s"],
  );
  // The upstream's answer still reaches the client.
  assert.match(await page.getByTestId("conn-frame").nth(2).textContent(), /PONG/);
  assert.deepEqual(errors, []);
});

test("stepping an L4 run shows the connection buffers as the plugin sees them", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-network", "go-network.scenario-deny.json");
  await waitForStatus(page, /^Ready$/);
  const data = page.locator('[data-testid="callback"][data-name="proxy_on_downstream_data"]');
  // Callback by callback until the run stops before the second downstream read.
  while ((await data.count()) < 2) {
    const before = await page.getByTestId("callback").count();
    await page.getByTestId("step-over").click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="callback"]').length > n, before);
  }
  const now = page.getByTestId("connection-now");
  await now.waitFor();
  const text = await now.textContent();
  // The held 13 bytes with the new read appended, still the plugin's to read and change.
  assert.match(text, /DOWNSTREAM_DATA \(client → upstream\) readable and writable18 bytes: "\*1\\r\\n\$8\\r\\nFLUSHALL\\r\\n"/);
  assert.match(text, /UPSTREAM_DATA \(upstream → client\) not available to the plugin now0 bytes/);
  await page.getByTestId("continue").click();
  await waitForStatus(page, /^Finished$/);
  assert.equal(await now.count(), 0, "no connection-now once finished");
  assert.deepEqual(errors, []);
});

for (const width of [800, 1440]) {
  test(`the connection view at ${width} px`, async () => {
    const context = await app.browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (err) => errors.push(`page: ${err.message}`));
    await page.goto(app.server.url);
    await pickExample(page, "go-network", "go-network.scenario-deny.json");
    await runToEnd(page);
    const connection = page.getByTestId("connection");
    assert.ok(await connection.isVisible(), "the connection view is on screen after a run");
    const box = await connection.boundingBox();
    assert.ok(box.width <= width, `the connection view fits: ${box.width} px`);
    await screenshot(page, `go-network-${width}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("a network plugin exports as one: Istio type NETWORK, Envoy network filters before tcp_proxy", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-network");
  await waitForStatus(page, /^Ready$/);
  await page.getByTestId("export-open").click();
  await page.getByTestId("export-dialog").waitFor();
  const output = page.getByTestId("export-output");

  await page.getByTestId("export-format").selectOption("istio");
  await page.waitForFunction(() => /kind: WasmPlugin/.test(document.querySelector('[data-testid="export-output"]')?.textContent ?? ""));
  assert.match(await output.textContent(), /^\s*type: NETWORK$/m);

  await page.getByTestId("export-format").selectOption("envoy");
  await page.waitForFunction(() => /tcp_proxy/.test(document.querySelector('[data-testid="export-output"]')?.textContent ?? ""));
  const envoy = await output.textContent();
  assert.ok(envoy.indexOf("envoy.filters.network.wasm") < envoy.indexOf("envoy.filters.network.tcp_proxy"), envoy);
  // Named for what it is, in the menu and the file.
  assert.equal(await page.locator('[data-testid="export-format"] option[value="envoy"]').textContent(), "Envoy network filters");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-download").click()]);
  assert.equal(download.suggestedFilename(), "envoy-network-filters.yaml");
  assert.deepEqual(errors, []);
  await page.context().close();
});
