// Two engines, one host, one trace. The engine worker runs a plain Run on the browser's own
// WebAssembly and everything else on the interpreter (wasmi): here every example scenario and
// every WAT fixture of the host's tests runs on both, in the worker the app ships, spoken to
// in its own protocol, and the reports must be identical apart from fuel and durations.
// Then the app's paths: a fast Run, a plugin that loops on the browser's engine, a trap's
// wasm backtrace, and "Step from here".

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import binaryen from "binaryen";
import { applyScenario, minimalPlugin, open, pickExample, root, scenarioJson, screenshot, useApp, waitForStatus, wasmFromText } from "../lib.mjs";

const app = useApp();

const examples = join(root, "public/examples");
const fixtures = join(root, "host/tests/fixtures");
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * Installs `window.__bothEngines(modules, scenario)` in the page: a worker of its own (the
 * app's worker script), loaded with `modules` ([{sha, base64}] or [{sha, url}]), runs
 * `scenario` on the interpreter and then on the browser's engine, and answers both reports
 * (rebuilt from the worker's deltas) and the engine each said it ran on.
 */
async function installHarness(page) {
  await page.evaluate(() => {
    // pwp-proto's envelope; the worker's messages are {kind: fields}, or "kind" alone.
    const envelope = (m) => JSON.stringify({ v: 4, m });
    // pwp-proto's `apply`: each growing list keeps its first `from[i]` items and takes the
    // rest from the delta (an empty list may be left out of the JSON).
    const apply = (before, delta) => {
      const out = delta.report;
      const keys = ["callbacks", "logs", "timeline", "memory_pages", "requests"];
      keys.forEach((k, i) => (out[k] = (before?.[k] ?? []).slice(0, delta.from[i]).concat(out[k] ?? [])));
      return out;
    };
    window.__bothEngines = async (modules, scenario) => {
      const worker = new Worker("pwp-worker_loader.js");
      const inbox = [];
      let wake = null;
      worker.onmessage = (e) => {
        const m = JSON.parse(e.data).m;
        const t = typeof m === "string" ? m : Object.keys(m)[0];
        inbox.push({ t, ...(typeof m === "string" ? {} : m[t]) });
        wake?.();
      };
      const next = async (pred) => {
        for (;;) {
          const i = inbox.findIndex(pred);
          if (i >= 0) return inbox.splice(i, 1)[0];
          await new Promise((r) => (wake = r));
        }
      };
      await next((m) => m.t === "ready");
      const bytes = [];
      for (const m of modules) {
        if (m.url) bytes.push(new Uint8Array(await (await fetch(m.url)).arrayBuffer()));
        else bytes.push(Uint8Array.from(atob(m.base64), (c) => c.charCodeAt(0)));
      }
      worker.postMessage([envelope({ t: "load", plugins: modules.map((m) => m.sha) }), ...bytes]);
      for (const m of modules) {
        const loaded = await next((x) => x.t === "loaded" && x.sha256 === m.sha);
        if (loaded.error) return { error: loaded.error };
      }
      const out = {};
      let run = 0;
      for (const engine of ["interpreter", "browser"]) {
        run += 1;
        worker.postMessage([
          envelope({ t: "start", run, plugins: modules.map((m) => m.sha), scenario, engine }),
        ]);
        worker.postMessage([
          envelope({ t: "step", run, until: "End", breakpoints: { callbacks: [], hostcalls: [], traps: false } }),
        ]);
        let report = null;
        let browser = null;
        for (;;) {
          const m = await next((x) => ["progress", "stopped", "refused"].includes(x.t) && x.run === run);
          if (m.t === "refused") {
            out[engine] = { refused: m.message };
            break;
          }
          report = apply(report, m.snapshot.report);
          browser = m.snapshot.browser_engine;
          if (m.t === "stopped") {
            out[engine] = { report, browser, how: m.how };
            break;
          }
        }
      }
      worker.terminate();
      return out;
    };
  });
}

/** A report without what may differ between engines: fuel, durations, the wasm backtrace. */
function comparable(value) {
  if (Array.isArray(value)) return value.map(comparable);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (["fuel", "duration_us", "wasm_backtrace"].includes(k)) continue;
      out[k] = comparable(v);
    }
    return out;
  }
  return value;
}

/** Where `a` and `b` first differ, as a path and both values; null when they are equal. */
function firstDifference(a, b, path = "report") {
  if (a === b) return null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return `${path}: interpreter ${JSON.stringify(a)}, browser ${JSON.stringify(b)}`;
  }
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = firstDifference(a[k], b[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}

/** Runs on both engines and asserts they agree; answers the browser engine's report. */
async function assertAlike(page, label, modules, scenario, { mayNotLoad = false } = {}) {
  const both = await page.evaluate(([m, s]) => window.__bothEngines(m, s), [modules, scenario]);
  if (both.error && mayNotLoad) return null;
  assert.ok(!both.error, `${label}: ${both.error}`);
  const { interpreter, browser } = both;
  assert.deepEqual(browser.refused, interpreter.refused, `${label}: refused alike`);
  if (interpreter.refused) return null;
  assert.equal(interpreter.browser, false, `${label}: the interpreter run`);
  assert.equal(browser.browser, !scenario.concurrency, `${label}: ran on the browser's engine`);
  assert.equal(browser.how, interpreter.how, label);
  const difference = firstDifference(comparable(interpreter.report), comparable(browser.report));
  assert.equal(difference, null, `${label}: the engines disagree at ${difference}`);
  return browser.report;
}

test("every example scenario reports the same on the interpreter and the browser's engine", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await installHarness(page);
  const index = JSON.parse(readFileSync(join(examples, "index.json"), "utf8"));
  let ran = 0;
  for (const example of index) {
    for (const file of [example.scenario, ...example.scenarios]) {
      // The app reads the scenario (migrating old versions); its JSON tab shows it as sent.
      await pickExample(page, example.name, file);
      await page.getByRole("tab", { name: "Scenario (JSON)" }).click();
      const scenario = JSON.parse(await page.getByTestId("scenario-json-editor").inputValue());
      const names = [example.name, ...(scenario.chain ?? []).map((f) => f.plugin.example)];
      const modules = names.map((n) => {
        const entry = index.find((e) => e.name === n);
        return { sha: entry.sha256, url: `examples/${entry.wasm}` };
      });
      const report = await assertAlike(page, file, modules, scenario);
      assert.ok(report?.callbacks.length > 0, `${file}: something ran`);
      ran += 1;
    }
  }
  assert.ok(ran >= 25, `${ran} example scenarios`);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("every WAT fixture of the host's tests reports the same on both engines", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await installHarness(page);
  const names = readdirSync(fixtures).filter((f) => f.endsWith(".wat")).sort();
  assert.ok(names.length >= 40, `${names.length} fixtures`);
  let compared = 0;
  for (const name of names) {
    let bytes;
    try {
      bytes = wasmFromText(readFileSync(join(fixtures, name), "utf8"));
    } catch {
      continue; // binaryen cannot read every fixture's text; the native test covers all
    }
    const modules = [{ sha: sha256(bytes), base64: bytes.toString("base64") }];
    // Lenient: fixtures of shapes Envoy refuses still run, as in the native fixture tests.
    const scenario = { version: 2, settings: { lenient: true } };
    const report = await assertAlike(page, name, modules, scenario, { mayNotLoad: true });
    if (report) compared += 1;
    // The hostile ones misbehave when the request carries `x-evil`; all but the loops (which
    // only fuel or the page's deadline stop) end on their own.
    const text = readFileSync(join(fixtures, name), "utf8");
    if (report && text.includes('"x-evil"') && !name.includes("loop")) {
      await assertAlike(page, `${name} (x-evil)`, modules, { ...scenario, request: { headers: [["x-evil", ""]] } });
    }
  }
  assert.ok(compared >= 30, `only ${compared} fixtures compared`);
  assert.deepEqual(errors, []);
  await page.context().close();
});

/** The host's looping fixture: proxy_on_request_headers loops when `x-evil` is sent. */
const LOOP = wasmFromText(readFileSync(join(fixtures, "hostile_loop_headers.wat"), "utf8"));

/** A plugin that traps two calls deep in proxy_on_request_headers, its names kept. */
function trapping() {
  binaryen.setDebugInfo(true);
  try {
    return minimalPlugin("(call $check_auth)", "(func $parse_token (unreachable)) (func $check_auth (call $parse_token))");
  } finally {
    binaryen.setDebugInfo(false);
  }
}

const engine = (page) => page.getByTestId("engine").getAttribute("data-engine");

test("Run uses the browser's engine; Step from here replays on the interpreter and steps in", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  assert.equal(await engine(page), "browser");
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  const headers = page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"]');
  await headers.click();
  const index = await page.locator('[data-testid="callback"].selected').getAttribute("data-index");
  await page.getByTestId("step-from").click();
  await waitForStatus(page, /^Paused before/);
  assert.equal(await engine(page), "interpreter");
  assert.equal(await page.locator('[data-testid="callback"].selected').getAttribute("data-index"), index);
  await page.getByTestId("step-into").click();
  await waitForStatus(page, /^Paused after host call 0 of/);
  assert.equal(await page.getByTestId("run-note").count(), 0, "the replay's note is gone once it is there");
  await screenshot(page, "engines-step-from-here");
  // A breakpoint on a callback pauses a run on the browser's engine (between callbacks);
  // Step into from there replays to that callback on the interpreter and steps in.
  await headers.locator("button.bp").click();
  await page.getByTestId("restart").click();
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Paused before/);
  assert.equal(await engine(page), "browser");
  await page.getByTestId("step-into").click();
  await waitForStatus(page, /^Paused after host call 0 of/);
  assert.equal(await engine(page), "interpreter");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a file chosen runs at once on the browser's engine (Run on upload), and not once that is off", async () => {
  const { page, errors } = await open(app.browser, app.server.url, { runOnFile: true });
  await pickExample(page, "go-headers");
  assert.equal(await page.getByTestId("run-status").textContent(), "Ready", "an example waits for Run");
  assert.equal(await page.getByTestId("run-on-file").isChecked(), true, "on by default");
  const bytes = readFileSync(join(examples, "go-headers.wasm"));
  await page.getByTestId("plugin-file").setInputFiles({ name: "rebuilt.wasm", mimeType: "application/wasm", buffer: bytes });
  await waitForStatus(page, /^Finished$/);
  assert.equal(await engine(page), "browser");
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  assert.match(await page.getByTestId("import-report").textContent(), /rebuilt\.wasm/);
  // Off, remembered across a reload: a file chosen waits for Run.
  await page.getByTestId("run-on-file").uncheck();
  await page.reload();
  await pickExample(page, "go-headers");
  assert.equal(await page.getByTestId("run-on-file").isChecked(), false);
  await page.getByTestId("plugin-file").setInputFiles({ name: "again.wasm", mimeType: "application/wasm", buffer: bytes });
  await page.waitForFunction(() => document.querySelector('[data-testid="import-report"]')?.textContent?.includes("again.wasm"));
  assert.equal(await page.getByTestId("run-status").textContent(), "Ready");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a plugin that loops on the browser's engine is stopped by the deadline and named on the interpreter", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.getByTestId("plugin-file").setInputFiles({ name: "loop.wasm", mimeType: "application/wasm", buffer: LOOP });
  await page.getByTestId("abi").waitFor();
  const scenario = await scenarioJson(page);
  scenario.request = { ...(scenario.request ?? {}), headers: [["x-evil", ""]] };
  scenario.settings = { ...(scenario.settings ?? {}), limits: { ...(scenario.settings?.limits ?? {}), fuel_per_callback: 30_000_000 } };
  await applyScenario(page, scenario);
  await page.evaluate(() => (window.__pwpDeadlineMs = 300));
  const first = page.workers().find((w) => w.url().endsWith("/pwp-worker_loader.js"));
  const closed = new Promise((resolve) => first.once("close", resolve));
  await page.getByTestId("run").click();
  await closed; // the stuck worker was terminated
  await page.waitForFunction(() => document.querySelector('[data-testid="error"]')?.textContent?.includes("out_of_fuel"));
  assert.match(await page.getByTestId("error").textContent(), /proxy_on_request_headers/);
  assert.match(await page.getByTestId("run-note").textContent(), /ran past its deadline of 300 ms/);
  assert.equal(await engine(page), "interpreter");
  await screenshot(page, "engines-deadline");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("a trap on the browser's engine shows its wasm backtrace with function names", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.getByTestId("plugin-file").setInputFiles({ name: "trap.wasm", mimeType: "application/wasm", buffer: trapping() });
  await page.getByTestId("abi").waitFor();
  await page.getByTestId("run").click();
  await page.getByTestId("wasm-backtrace").waitFor();
  assert.equal(await engine(page), "browser");
  const frames = await page.locator('[data-testid="wasm-backtrace"] li').allTextContents();
  assert.match(frames[0], /^parse_token \(wasm-function\[\d+\]:0x[0-9a-f]+\)$/);
  assert.match(frames[1], /^check_auth /);
  assert.match(frames[2], /^proxy_on_request_headers /);
  assert.equal(frames.length, 3, "only the plugin's frames, not the host's");
  assert.match(await page.getByTestId("error").textContent(), /unreachable executed/);
  assert.deepEqual(errors, []);
  await page.context().close();
});
