// Plugin-controlled and link-controlled text is shown as text, never as markup: a plugin that
// logs, sets headers, stores shared data and answers with HTML and script payloads, a request
// edited to carry them, and a share link whose scenario is full of them. Nothing runs (no
// `window.__pwned`), nothing is injected (no `<img src=x>`, no script, no request for `/x`),
// and every payload is visible literally where the app shows it.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { open, screenshot, useApp, wasmFromText } from "../lib.mjs";

const app = useApp();

const IMG = `<img src=x onerror="window.__pwned=1">`;
const SCRIPT = `<script>window.__pwned=2</script>`;
const SVG = `<svg onload="window.__pwned=3"></svg>`;
const PATH_IMG = `<img src=x onerror="window.__pwned=4">`;
const HEADER_SCRIPT = `<script>window.__pwned=5</script>`;

/** Bytes as a WAT string literal body (every byte escaped, so quotes and `<` are safe). */
const watBytes = (bytes) => [...Buffer.from(bytes)].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");

/** The proxy-wasm header-map encoding: count, sizes, then NUL-terminated names and values. */
function pairs(list) {
  const parts = [Buffer.alloc(4)];
  parts[0].writeUInt32LE(list.length);
  for (const [k, v] of list) {
    const sizes = Buffer.alloc(8);
    sizes.writeUInt32LE(Buffer.byteLength(k), 0);
    sizes.writeUInt32LE(Buffer.byteLength(v), 4);
    parts.push(sizes);
  }
  for (const [k, v] of list) parts.push(Buffer.from(`${k}\0${v}\0`));
  return Buffer.concat(parts);
}

/**
 * A plugin that logs payloads, adds a request header and a response header whose values are
 * payloads, stores a payload in shared data, and answers the response with a local reply whose
 * details, header and body are payloads.
 */
function hostilePlugin() {
  const data = [];
  let at = 1024;
  const put = (bytes) => {
    const buf = Buffer.from(bytes);
    const ptr = at;
    data.push(`(data (i32.const ${ptr}) "${watBytes(buf)}")`);
    at += buf.length + 16;
    return `(i32.const ${ptr}) (i32.const ${buf.length})`;
  };
  const img = put(IMG);
  const script = put(SCRIPT);
  const svg = put(SVG);
  const reqName = put("x-evil-req");
  const respName = put("x-evil-resp");
  const details = put(IMG);
  const body = put(`${SCRIPT}${IMG}`);
  const headers = put(pairs([["x-evil-local", SVG]]));
  return wasmFromText(`(module
    (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
    (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
    (import "env" "proxy_set_shared_data" (func $shared (param i32 i32 i32 i32 i32) (result i32)))
    (import "env" "proxy_send_local_response"
      (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 32768))
    ${data.join("\n    ")}
    (func (export "proxy_abi_version_0_2_1"))
    (func (export "_initialize"))
    (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
      (global.get $heap)
      (global.set $heap (i32.add (global.get $heap) (local.get $n))))
    (func (export "proxy_on_context_create") (param i32 i32))
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
      (drop (call $log (i32.const 2) ${img}))
      (drop (call $log (i32.const 3) ${script}))
      (drop (call $add (i32.const 0) ${reqName} ${img}))
      (drop (call $shared ${img} ${script} (i32.const 0)))
      (i32.const 0))
    (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
      (drop (call $log (i32.const 4) ${svg}))
      (drop (call $add (i32.const 2) ${respName} ${script}))
      (drop (call $reply (i32.const 403) ${details} ${body} ${headers} (i32.const -1)))
      (i32.const 0)))`);
}

const PLUGIN = hostilePlugin();

/** Runs to the end and waits for the report. */
async function run(page) {
  await page.getByTestId("run").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === "Finished", null, { timeout: 60_000 });
}

const text = (page, testid) => page.getByTestId(testid).textContent();

/** Nothing ran, nothing was injected, nothing was fetched because of a payload. */
async function assertInert(page) {
  const found = await page.evaluate(() => ({
    pwned: window.__pwned,
    images: document.querySelectorAll('img[src="x"]').length,
    svgs: document.querySelectorAll("svg[onload]").length,
    scripts: [...document.querySelectorAll("script")].filter((s) => s.textContent.includes("__pwned")).length,
    handlers: [...document.querySelectorAll("[onerror], [onload]")].length,
  }));
  assert.deepEqual(found, { pwned: undefined, images: 0, svgs: 0, scripts: 0, handlers: 0 });
  assert.deepEqual(app.server.requests.filter((p) => p.endsWith("/x")), [], "no request for an injected <img src=x>");
}

test("what a plugin logs, adds and answers is shown as text, never run as markup", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.getByTestId("plugin-file").setInputFiles({ name: "hostile.wasm", mimeType: "application/wasm", buffer: PLUGIN });
  await page.getByTestId("abi").waitFor();

  // The request editor carries payloads too.
  await page.getByRole("tab", { name: "Request" }).click();
  await page.getByTestId("request-path").fill(`/p?q=${PATH_IMG}`);
  await page.getByTestId("request-path").press("Tab");
  await page.getByTestId("request-headers").getByRole("button", { name: "+ header" }).click();
  const row = page.getByTestId("request-headers").getByTestId("pair-row").last();
  await row.getByTestId("pair-name").fill("x-user");
  await row.getByTestId("pair-value").fill(HEADER_SCRIPT);

  await run(page);
  await assertInert(page);

  const logs = await text(page, "logs");
  for (const payload of [IMG, SCRIPT, SVG]) assert.ok(logs.includes(payload), `logs show ${payload} literally: ${logs}`);

  const upstream = await text(page, "upstream-request");
  for (const payload of [IMG, PATH_IMG, HEADER_SCRIPT]) {
    assert.ok(upstream.includes(payload), `the upstream request shows ${payload} literally: ${upstream}`);
  }

  assert.equal(await text(page, "client-status"), "403");
  const client = await text(page, "client-response");
  for (const payload of [IMG, SCRIPT, SVG]) {
    assert.ok(client.includes(payload), `the client response shows ${payload} literally: ${client}`);
  }
  // Envoy turns the spaces of response code details into underscores.
  const details = await text(page, "local-reply");
  assert.ok(details.includes(IMG.replaceAll(" ", "_")), `the local reply's details are text: ${details}`);

  const shared = await text(page, "shared-data");
  assert.ok(shared.includes(IMG) && shared.includes(SCRIPT), `shared data is text: ${shared}`);

  // The response callback's host calls show the header it added, as text.
  await page.locator('[data-testid="callback"][data-name="proxy_on_response_headers"]').click();
  const calls = await text(page, "hostcalls");
  assert.ok(calls.includes("x-evil-resp") && calls.includes("window.__pwned=2"), `host calls: ${calls}`);

  await assertInert(page);
  await screenshot(page, "untrusted-plugin");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a share link whose scenario is full of markup opens, runs and shows it as text", async () => {
  const scenario = {
    version: 1,
    name: IMG,
    description: SCRIPT,
    plugin: {
      inline: PLUGIN.toString("base64"),
      sha256: createHash("sha256").update(PLUGIN).digest("hex"),
      file_name: `${SVG}.wasm`,
      size: PLUGIN.length,
    },
    settings: { config: SVG, env: { [IMG]: SCRIPT } },
    request: { path: `/shared?q=${PATH_IMG}`, headers: [["x-link", HEADER_SCRIPT], [IMG, "name"]] },
    response: { headers: [["x-up", SVG]] },
    expect: {
      upstream_request: { headers: { [IMG]: true, "x-link": HEADER_SCRIPT } },
      logs: [{ matches: SCRIPT.replace(/[[\]().*+?^$|\\{}]/g, "\\$&") }],
    },
  };
  const link = `${app.server.url}#s=j${Buffer.from(JSON.stringify({ v: 1, scenario })).toString("base64url")}`;
  const { page, errors } = await open(app.browser, link);
  await page.getByTestId("abi").waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="notice"]')?.textContent?.includes("Opened the shared session"));
  const notice = await text(page, "notice");
  assert.ok(notice.includes(IMG), `the notice names the scenario literally: ${notice}`);
  assert.ok((await text(page, "import-report")).includes(`${SVG}.wasm`), "the plugin's file name is text");
  await assertInert(page);

  await run(page);
  await assertInert(page);
  const upstream = await text(page, "upstream-request");
  for (const payload of [IMG, PATH_IMG, HEADER_SCRIPT]) {
    assert.ok(upstream.includes(payload), `the upstream request shows ${payload} literally: ${upstream}`);
  }
  const client = await text(page, "client-response");
  assert.ok(client.includes(SCRIPT) && client.includes(SVG), `the client response is text: ${client}`);
  const logs = await text(page, "logs");
  assert.ok(logs.includes(IMG) && logs.includes(SCRIPT), `logs are text: ${logs}`);
  const expectations = await text(page, "expectations");
  assert.ok(expectations.includes(IMG), `expectation names are text: ${expectations}`);

  // The scenario's own fields hold the payloads as values.
  await page.getByRole("tab", { name: "Scenario" }).click();
  assert.equal(await page.getByTestId("scenario-name").inputValue(), IMG);
  assert.equal(await page.getByTestId("scenario-description").inputValue(), SCRIPT);

  await assertInert(page);
  await screenshot(page, "untrusted-link");
  assert.deepEqual(errors, []);
  await page.context().close();
});
