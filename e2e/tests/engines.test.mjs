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
import { open, pickExample, root, screenshot, useApp, waitForStatus, wasmFromText } from "../lib.mjs";

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
    const envelope = (m) => JSON.stringify({ v: 1, m });
    const apply = (before, delta) => {
      const out = delta.report;
      if (delta.from.every((f) => f === 0)) return out;
      const keys = ["callbacks", "logs", "timeline", "memory_pages", "requests"];
      keys.forEach((k, i) => (out[k] = before[k].slice(0, delta.from[i]).concat(out[k])));
      return out;
    };
    window.__bothEngines = async (modules, scenario) => {
      const worker = new Worker("pwp-worker_loader.js");
      const inbox = [];
      let wake = null;
      worker.onmessage = (e) => {
        inbox.push(JSON.parse(e.data).m);
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
      if (!["fuel", "duration_us", "wasm_backtrace"].includes(k)) out[k] = comparable(v);
    }
    return out;
  }
  return value;
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
  assert.deepEqual(comparable(browser.report), comparable(interpreter.report), `${label}: the engines disagree`);
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
    const report = await assertAlike(page, name, modules, { version: 2, settings: { lenient: true } }, { mayNotLoad: true });
    if (report) compared += 1;
  }
  assert.ok(compared >= 30, `only ${compared} fixtures compared`);
  assert.deepEqual(errors, []);
  await page.context().close();
});
