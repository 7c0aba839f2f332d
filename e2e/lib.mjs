// Test harness: Debian's Chromium through playwright-core, and a tiny static server for dist/.
//
// No browser download: playwright-core drives /usr/bin/chromium (override with CHROMIUM).
// The server maps a URL prefix (default "/") onto a directory, with correct MIME types
// (application/wasm matters: it lets the browser compile while downloading).

import { createServer } from "node:http";
import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import binaryen from "binaryen";
import { chromium } from "playwright-core";
import { after, before } from "node:test";

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root. */
export const root = resolve(here, "..");
/** The release build that `trunk build --release` writes (override with PWP_DIST). */
export const distDir = resolve(process.env.PWP_DIST ?? join(root, "dist"));
/** Screenshots and other outputs of the tests (git-ignored). */
export const artifactsDir = join(here, "artifacts");

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".yaml": "text/yaml; charset=utf-8",
  ".yml": "text/yaml; charset=utf-8",
};

/**
 * Serves `dir` under `prefix` on a free 127.0.0.1 port.
 * @returns {Promise<{url: string, requests: string[], close: () => Promise<void>}>}
 *   `url` is the base URL (ending in `prefix`); `requests` lists every request path.
 */
export async function serve(dir, { prefix = "/" } = {}) {
  const base = resolve(dir);
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    requests.push(path);
    const send = (status, type, body, extra = {}) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...extra });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (!path.startsWith(prefix)) return send(404, MIME[".txt"], "not found\n");
    let file = normalize(join(base, path.slice(prefix.length)));
    if (file !== base && !file.startsWith(base + sep)) return send(403, MIME[".txt"], "forbidden\n");
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const type = MIME[extname(file)] ?? "application/octet-stream";
      send(200, type, await readFile(file));
    } catch {
      send(404, MIME[".txt"], "not found\n");
    }
  });
  await new Promise((ok, fail) => server.listen(0, "127.0.0.1", ok).once("error", fail));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    requests,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

/** Launches headless Chromium (Debian's, or CHROMIUM). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Opens `url` in a fresh context (1280x720 unless `width`/`height`) and collects every console
 * error, page error and failed request into `errors`. "Run on upload" is off unless
 * `runOnFile` (the app's default is on): most suites upload, then drive the run themselves.
 * @returns {Promise<{page: import("playwright-core").Page, errors: string[]}>}
 */
export async function open(browser, url, { runOnFile = false, width = 1280, height = 720 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  if (!runOnFile) await context.addInitScript(() => localStorage.setItem("pwp.run-on-file", "off"));
  const page = await context.newPage();
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on("pageerror", (err) => errors.push(`page: ${err.message}`));
  page.on("requestfailed", (req) => errors.push(`request: ${req.url()} ${req.failure()?.errorText}`));
  page.on("response", (res) => {
    if (res.status() >= 400) errors.push(`response: ${res.status()} ${res.url()}`);
  });
  await page.goto(url);
  return { page, errors };
}

/** Saves a full-page screenshot to e2e/artifacts/<name>.png and returns its path. */
export async function screenshot(page, name) {
  await mkdir(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Every data-testid the app shell must render (the real UI fills them later). */
export const SHELL_TESTIDS = [
  "plugin-file",
  "example-select",
  "plugin-url",
  "import-report",
  "config-editor",
  "request-editor",
  "response-editor",
  "run",
  "step-over",
  "step-into",
  "continue",
  "restart",
  "timeline",
  "hostcalls",
  "logs",
  "upstream-request",
  "client-response",
  "error",
];

/**
 * Picks an example (and one of its scenarios) from the menu and waits until its import report
 * shows: another plugin's report may still be on screen.
 */
export async function pickExample(page, name, scenario = `${name}.scenario.json`) {
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="example-select"] option').length > 1);
  await page.getByTestId("example-select").selectOption(`${name}|${scenario}`);
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="import-report"]')?.textContent?.includes(`${n} ·`),
    name,
  );
}

/** Waits until the run bar's status matches `pattern` (a slow Go start-up can take a while). */
export function waitForStatus(page, pattern, timeout = 120_000) {
  return page.waitForFunction(
    (source) => new RegExp(source).test(document.querySelector('[data-testid="run-status"]')?.textContent ?? ""),
    pattern.source,
    { timeout },
  );
}

/** The scenario as the Scenario (JSON) tab shows it. */
export async function scenarioJson(page) {
  await page.getByRole("tab", { name: "Scenario (JSON)" }).click();
  return JSON.parse(await page.getByTestId("scenario-json-editor").inputValue());
}

/** Puts `scenario` in the Scenario (JSON) tab and applies it. */
export async function applyScenario(page, scenario) {
  await page.getByRole("tab", { name: "Scenario (JSON)" }).click();
  await page.getByTestId("scenario-json-editor").fill(JSON.stringify(scenario, null, 2));
  await page.getByTestId("scenario-apply").click();
}

/** Compiles WebAssembly text with binaryen (already an e2e dependency: Trunk's wasm-opt). */
export function wasmFromText(wat) {
  const module = binaryen.parseText(wat);
  assert.ok(module.validate(), "the test's WAT is valid");
  const bytes = Buffer.from(module.emitBinary());
  module.dispose();
  return bytes;
}

/**
 * A minimal proxy-wasm plugin (ABI 0.2.1, a bump allocator) whose proxy_on_request_headers
 * runs `body` and then continues; `functions` are more functions `body` may call.
 */
export function minimalPlugin(body, functions = "") {
  return wasmFromText(`(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (global.get $heap)
    (global.set $heap (i32.add (global.get $heap) (local.get $n))))
  (func (export "proxy_on_context_create") (param i32 i32))
  ${functions}
  (func $proxy_on_request_headers (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ${body}
    (i32.const 0)))`);
}

/**
 * Serves the release build and launches Chromium for the tests of one file (registering the
 * `before` and `after` hooks): `app.server` and `app.browser` are set once the tests run.
 */
export function useApp() {
  const app = {};
  before(async () => {
    app.server = await serve(distDir);
    app.browser = await launch();
  });
  after(async () => {
    await app.browser?.close();
    await app.server?.close();
  });
  return app;
}
