// Browser benchmark of the release build (not a test: `node --test` does not run this file).
//
//   node e2e/bench.mjs [--runs N] [--json FILE]
//
// Serves dist/ (or PWP_DIST; build it with `trunk build --release`) on 127.0.0.1 without
// compression, drives Debian's Chromium (or CHROMIUM) headless, and measures, as the median of
// N fresh browser contexts (cold caches) unless said otherwise:
//
//   size       the page's wasm and JS, and the engine worker's: raw, gzip -9 and brotli -q 11
//              (the CLIs)
//   longtask   main-thread long tasks (PerformanceObserver "longtask", > 50 ms), counted and
//              the longest, during load (navigation → examples listed), upload (file chosen →
//              Finished) and replay
//   load       navigation start → first contentful paint, app rendered (the Run button is in
//              the DOM), example list loaded (index.json fetched and rendered)
//   upload     for each plugin in UPLOADS: pick the example (for its scenario), then
//              setInputFiles on [data-testid=plugin-file] with the same .wasm rebuilt (a custom
//              section appended: another sha256, nothing compiled) under another name;
//              change event → import report shows it ("load"), run start → first
//              [data-testid=callback] ("first callback") and → run-status "Finished"
//              ("finished"). The run starts at the change event ("Run on upload", the app's
//              default); with that unchecked, at the benchmark's click on Run once the
//              report shows. "drop to finished" = change event → "Finished", wall time (a
//              click that has to wait for background work counts).
//   step       go-headers stepped with step-over: click → run-status shows the next
//              "Paused before callback #n" (and → the next animation frame after it).
//              Step 1 creates the session (instantiate; compiled after the upload); step 2 runs
//              _initialize (Go runtime start). Beside it, "echo": a button in the same page
//              whose click a do-nothing worker answers, click → answer shown and → the next
//              frame: the floor under any step that goes through a worker.
//   replay     go-headers with its scenario replayed PWP_BENCH_REPLAY times (1000): Run click
//              → "Finished", and the long tasks meanwhile
//   native     the same Go plugin in the browser's own engine: fetch the bytes, then
//              WebAssembly.compile, instantiate with stub imports (every function returns 0;
//              the WASI calls a Go runtime start needs write their out-parameters), and call
//              _initialize. The physical limit to compare the app's steps 1 and 2 with.
//
// The app yields to the browser between fuel slices with a message to itself on a
// MessageChannel; the benchmark counts those yields and the time they wait ("yields",
// "yieldWait").
//
// Every time is measured inside the page with performance.now() (Chromium coarsens it to
// 0.1 ms) and MutationObservers, so the Playwright round trips do not count.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { distDir, launch, serve } from "./lib.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const RUNS = Number(opt("--runs", process.env.PWP_BENCH_RUNS ?? 5));
const JSON_OUT = opt("--json", null);
// The largest Go example first (Higress wasm-go, ~6 MB), then a plain Go SDK one (~3.4 MB).
const UPLOADS = (process.env.PWP_BENCH_UPLOADS ?? "higress-redis-counter,go-headers").split(",");
const STEP_PLUGIN = process.env.PWP_BENCH_STEP_PLUGIN ?? "go-headers";
const STEPS = Number(process.env.PWP_BENCH_STEPS ?? 12);
const TIMEOUT = 60_000;
// Which measurements to make (all by default): size, load, upload, step, replay, native.
const PARTS = new Set((process.env.PWP_BENCH_PARTS ?? "size,load,upload,step,replay,native").split(","));
const REPLAY = Number(process.env.PWP_BENCH_REPLAY ?? 1000);
// Wait until the app has warmed its interpreter up (<html data-engine="warm">) before
// uploading or stepping: a user who picks a file a second or more after the page opened.
const WAIT_WARM = process.env.PWP_BENCH_WAIT_WARM === "1";

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const summary = (xs) => {
  const ok = xs.filter((x) => Number.isFinite(x));
  return { median: round(median(ok)), min: round(Math.min(...ok)), max: round(Math.max(...ok)), runs: xs.map((x) => round(x)) };
};

function compressed(file) {
  const raw = statSync(file).size;
  const gzip = execFileSync("gzip", ["-9c", file], { maxBuffer: 1 << 30 }).length;
  const brotli = execFileSync("brotli", ["-q", "11", "-c", file], { maxBuffer: 1 << 30 }).length;
  return { raw, gzip, brotli };
}

function sizes() {
  const files = readdirSync(distDir);
  const wasm = files.find((f) => /^pwp-app-.*_bg\.wasm$/.test(f));
  const js = files.find((f) => /^pwp-app-.*\.js$/.test(f));
  if (!wasm) throw new Error(`no pwp-app-*_bg.wasm in ${distDir}: run trunk build --release`);
  const out = { wasm: { file: wasm, ...compressed(join(distDir, wasm)) } };
  if (js) out.js = { file: js, ...compressed(join(distDir, js)) };
  // The engine worker (its names carry no hash): loaded by the page after the first paint.
  for (const [key, file] of [["workerWasm", "pwp-worker_bg.wasm"], ["workerJs", "pwp-worker.js"]]) {
    if (files.includes(file)) out[key] = { file, ...compressed(join(distDir, file)) };
  }
  if (out.wasm.raw > 5_000_000) console.warn(`warning: ${wasm} is ${out.wasm.raw} bytes; is this a debug build?`);
  return out;
}

// Installed before any page script: timestamps of the moments the benchmark waits for.
function instrument() {
  const b = (window.__bench = { steps: [], yields: 0, yieldWait: 0, longtasks: [] });
  // Main-thread tasks over 50 ms (Chromium reports them with their start and duration).
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch (_) {}
  // Count the app's yields between fuel slices (a message to itself on a fresh
  // MessageChannel) and the time each waits before the run continues.
  const Channel = window.MessageChannel;
  window.MessageChannel = function MessageChannel() {
    const channel = new Channel();
    const post = channel.port2.postMessage.bind(channel.port2);
    let scheduled = 0;
    channel.port2.postMessage = (...args) => {
      b.yields += 1;
      scheduled = performance.now();
      return post(...args);
    };
    channel.port1.addEventListener("message", () => (b.yieldWait += performance.now() - scheduled));
    return channel;
  };
  const q = (sel) => document.querySelector(sel);
  const status = () => q('[data-testid="run-status"]')?.textContent ?? "";
  const check = () => {
    const now = performance.now();
    if (b.app === undefined && q('[data-testid="run"]')) b.app = now;
    if (b.examples === undefined && document.querySelectorAll('[data-testid="example-select"] option').length > 1) b.examples = now;
    if (b.change !== undefined && b.loaded === undefined && (q('[data-testid="import-report"]')?.textContent ?? "").includes(b.expectName)) b.loaded = now;
    if (b.click !== undefined) {
      if (b.firstCallback === undefined && q('[data-testid="callback"]')) b.firstCallback = now;
      if (b.finished === undefined && status() === "Finished") b.finished = now;
    }
    const s = status();
    if (b.stepClick !== undefined && s !== b.stepFrom && /^Paused before callback #\d+/.test(s)) {
      const step = { click: b.stepClick, paused: now, status: s, yields: b.yields - b.stepYields, yieldWait: b.yieldWait - b.stepWait };
      b.stepClick = undefined;
      b.steps.push(step);
      requestAnimationFrame(() => (step.frame = performance.now()));
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
  document.addEventListener(
    "change",
    (e) => {
      if (e.target?.matches?.('[data-testid="plugin-file"]')) {
        b.change = performance.now();
        // "Run on upload" (the app's default): the run starts from the file's change event.
        if (q('[data-testid="run-on-file"]')?.checked) {
          b.click = b.change;
          b.yields = 0;
          b.yieldWait = 0;
        }
      }
    },
    true,
  );
  document.addEventListener(
    "click",
    (e) => {
      if (e.target?.closest?.('[data-testid="run"]')) {
        b.click = performance.now();
        b.yields = 0;
        b.yieldWait = 0;
      }
      if (e.target?.closest?.('[data-testid="step-over"]')) {
        b.stepFrom = status();
        b.stepYields = b.yields;
        b.stepWait = b.yieldWait;
        b.stepClick = performance.now();
      }
    },
    true,
  );
}

/** Long tasks that overlap [from, to]: how many, and the longest (ms). */
function longIn(tasks, from, to) {
  const hit = tasks.filter((t) => t.start < to && t.start + t.duration > from);
  return { count: hit.length, longest: hit.reduce((m, t) => Math.max(m, t.duration), 0) };
}

async function freshPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript(instrument);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url);
  await page.waitForFunction(() => window.__bench.examples !== undefined && window.__bench.app !== undefined, null, { timeout: TIMEOUT });
  if (WAIT_WARM) await page.waitForFunction(() => document.documentElement.dataset.engine === "warm", null, { timeout: TIMEOUT });
  return { context, page, errors };
}

async function pickExample(page, name) {
  await page.getByTestId("example-select").selectOption(`${name}|${name}.scenario.json`);
  await page.waitForFunction((n) => (document.querySelector('[data-testid="import-report"]')?.textContent ?? "").includes(n), name, { timeout: TIMEOUT });
  await page.getByTestId("abi").waitFor({ timeout: TIMEOUT });
}

async function measureLoad(browser, url) {
  const { context, page } = await freshPage(browser, url);
  const t = await page.evaluate(() => {
    const paint = performance.getEntriesByName("first-contentful-paint")[0]?.startTime;
    const nav = performance.getEntriesByType("navigation")[0];
    const wasm = performance.getEntriesByType("resource").find((r) => r.name.endsWith(".wasm"));
    return { fcp: paint, app: window.__bench.app, examples: window.__bench.examples, domContentLoaded: nav?.domContentLoadedEventEnd, wasmFetched: wasm?.responseEnd, longtasks: window.__bench.longtasks };
  });
  await context.close();
  const long = longIn(t.longtasks, 0, t.examples);
  return { ...t, longCount: long.count, longest: long.longest };
}

async function measureUpload(browser, url, name, file) {
  const { context, page, errors } = await freshPage(browser, url);
  await pickExample(page, name);
  const uploadName = `upload-${name}.wasm`;
  await page.evaluate((n) => (window.__bench.expectName = n), uploadName);
  await page.getByTestId("plugin-file").setInputFiles(file);
  await page.waitForFunction(() => window.__bench.loaded !== undefined, null, { timeout: TIMEOUT });
  // With "Run on upload" off, the benchmark clicks Run once the report shows.
  if (!(await page.getByTestId("run-on-file").isChecked())) await page.getByTestId("run").click();
  await page.waitForFunction(() => window.__bench.finished !== undefined, null, { timeout: TIMEOUT }).catch(async () => {
    throw new Error(`${name}: the run did not finish: ${await page.getByTestId("run-status").textContent()} ${errors.join("; ")}`);
  });
  const b = await page.evaluate(() => window.__bench);
  const callbacks = await page.getByTestId("callback").count();
  await context.close();
  return {
    load: b.loaded - b.change,
    firstCallback: b.firstCallback - b.click,
    finished: b.finished - b.click,
    // Wall time from the file's change event to "Finished", the benchmark's own click included:
    // the app compiles in the background once the report shows, and a click that waits for
    // that work must count.
    total: b.finished - b.change,
    clickGap: Math.max(0, b.click - b.loaded),
    yields: b.yields,
    yieldWait: b.yieldWait,
    callbacks,
    longCount: longIn(b.longtasks, b.change, b.finished).count,
    longest: longIn(b.longtasks, b.change, b.finished).longest,
  };
}

async function measureReplay(browser, url, name, requests) {
  const { context, page, errors } = await freshPage(browser, url);
  await pickExample(page, name);
  await page.getByRole("tab", { name: "Settings" }).click();
  await page.getByTestId("requests").fill(String(requests));
  await page.getByTestId("requests").press("Tab");
  await page.getByTestId("run").click();
  await page.waitForFunction(() => window.__bench.finished !== undefined, null, { timeout: 30 * TIMEOUT }).catch(async () => {
    throw new Error(`${name} x${requests}: the run did not finish: ${await page.getByTestId("run-status").textContent()} ${errors.join("; ")}`);
  });
  const b = await page.evaluate(() => window.__bench);
  await context.close();
  const long = longIn(b.longtasks, b.click, b.finished);
  return { finished: b.finished - b.click, longCount: long.count, longest: long.longest };
}

// The floor under a step: in the same page, a button whose click posts to a worker that
// answers at once, and the answer written into the page. Chromium holds a worker's message
// back until the frame after a click has been produced, so even this answer shows a frame
// later than the click's own.
async function measureEcho(browser, url) {
  const { context, page } = await freshPage(browser, url);
  await page.evaluate(() => {
    const worker = new Worker(URL.createObjectURL(new Blob(["onmessage = (e) => postMessage(e.data)"], { type: "text/javascript" })));
    const button = Object.assign(document.createElement("button"), { textContent: "echo" });
    button.dataset.testid = "bench-echo";
    button.style.cssText = "position:fixed;left:8px;bottom:8px;z-index:99999";
    const out = document.createElement("output");
    document.body.append(button, out);
    const echoes = (window.__bench.echoes = []);
    button.addEventListener("click", () => worker.postMessage(performance.now()));
    worker.onmessage = (e) => {
      const echo = { answered: performance.now() - e.data };
      out.textContent = String(echoes.length);
      echoes.push(echo);
      requestAnimationFrame(() => (echo.frame = performance.now() - e.data));
    };
  });
  for (let i = 0; i < STEPS; i++) {
    await page.getByTestId("bench-echo").click();
    await page.waitForFunction((n) => window.__bench.echoes[n]?.frame !== undefined, i, { timeout: TIMEOUT });
    await page.waitForTimeout(50);
  }
  const echoes = await page.evaluate(() => window.__bench.echoes);
  await context.close();
  return echoes;
}

async function measureSteps(browser, url, name) {
  const { context, page } = await freshPage(browser, url);
  await pickExample(page, name);
  const out = [];
  for (let i = 0; i < STEPS; i++) {
    const before = await page.evaluate(() => window.__bench.steps.length);
    const status = await page.getByTestId("run-status").textContent();
    if (status === "Finished") break;
    await page.getByTestId("step-over").click();
    const ok = await page
      .waitForFunction((n) => window.__bench.steps.length > n || document.querySelector('[data-testid="run-status"]')?.textContent === "Finished", before, { timeout: TIMEOUT })
      .then(() => true)
      .catch(() => false);
    if (!ok) break;
    await page.waitForTimeout(50); // let the frame timestamp land
    const s = await page.evaluate((n) => window.__bench.steps[n], before);
    if (!s) break;
    const index = Number(s.status.match(/#(\d+)/)[1]);
    const callback = await page.locator(`[data-testid="callback"][data-index="${index}"]`).getAttribute("data-name").catch(() => null);
    out.push({ step: i + 1, callback, paused: s.paused - s.click, frame: s.frame - s.click, yields: s.yields, yieldWait: s.yieldWait });
  }
  await context.close();
  return out;
}

async function measureNative(browser, url, name) {
  const { context, page } = await freshPage(browser, url);
  const t = await page.evaluate(async (n) => {
    const bytes = await (await fetch(`examples/${n}.wasm`)).arrayBuffer();
    const t0 = performance.now();
    const module = await WebAssembly.compile(bytes);
    const t1 = performance.now();
    // Every function import returns 0 and writes nothing, except the few WASI calls a Go
    // runtime needs to start (sizes of args/environ, clocks, random bytes, writes), which
    // write their out-parameters as a real host would, and fd_prestat_get, which says EBADF.
    let mem = null;
    const view = () => new DataView(mem.buffer);
    const now = () => BigInt(Math.round(performance.now() * 1e6)) + 1_700_000_000_000_000_000n;
    const special = {
      args_sizes_get: (a, b) => (view().setUint32(a, 0, true), view().setUint32(b, 0, true), 0),
      environ_sizes_get: (a, b) => (view().setUint32(a, 0, true), view().setUint32(b, 0, true), 0),
      clock_time_get: (_id, _precision, ptr) => (view().setBigUint64(ptr, now(), true), 0),
      proxy_get_current_time_nanoseconds: (ptr) => (view().setBigUint64(ptr, now(), true), 0),
      random_get: (ptr, len) => {
        for (let o = 0; o < len; o += 65536) crypto.getRandomValues(new Uint8Array(mem.buffer, ptr + o, Math.min(65536, len - o)));
        return 0;
      },
      fd_write: (_fd, iovs, n, written) => {
        let total = 0;
        for (let i = 0; i < n; i++) total += view().getUint32(iovs + i * 8 + 4, true);
        view().setUint32(written, total, true);
        return 0;
      },
      fd_prestat_get: () => 8, // EBADF: no preopened directories (else Go's syscall init loops)
      proc_exit: (code) => {
        throw new Error(`proc_exit(${code})`);
      },
    };
    const imports = {};
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.kind !== "function") continue;
      imports[imp.module] ??= {};
      imports[imp.module][imp.name] = special[imp.name] ?? (() => 0);
    }
    const instance = await WebAssembly.instantiate(module, imports);
    mem = instance.exports.memory;
    const t2 = performance.now();
    instance.exports._initialize?.();
    const t3 = performance.now();
    return { compile: t1 - t0, instantiate: t2 - t1, initialize: t3 - t2, total: t3 - t0, bytes: bytes.byteLength };
  }, name);
  await context.close();
  return t;
}

async function main() {
  const size = PARTS.has("size") ? sizes() : null;
  const server = await serve(distDir);
  const browser = await launch();
  const result = { date: new Date().toISOString(), dist: distDir, runs: RUNS, waitWarm: WAIT_WARM, chromium: browser.version(), size };
  try {
    if (PARTS.has("load")) {
      const loads = [];
      for (let i = 0; i < RUNS; i++) loads.push(await measureLoad(browser, server.url));
      result.load = {};
      for (const k of ["fcp", "app", "examples", "domContentLoaded", "wasmFetched", "longCount", "longest"]) result.load[k] = summary(loads.map((l) => l[k]));

    }
    if (PARTS.has("upload")) {
      const dir = mkdtempSync(join(tmpdir(), "pwp-bench-"));
      result.upload = {};
      for (const name of UPLOADS) {
        const file = join(dir, `upload-${name}.wasm`);
        // A rebuilt plugin: the example with a custom section appended, so its sha256 is not
        // the one the page loaded with the example (nothing of it is compiled yet).
        const label = Buffer.from("pwp-benchmark");
        const section = Buffer.concat([Buffer.from([label.length]), label, Buffer.from(String(Date.now()).padStart(16, "0"))]);
        writeFileSync(file, Buffer.concat([readFileSync(join(distDir, "examples", `${name}.wasm`)), Buffer.from([0, section.length]), section]));
        const runs = [];
        for (let i = 0; i < RUNS; i++) runs.push(await measureUpload(browser, server.url, name, file));
        result.upload[name] = { bytes: statSync(file).size, callbacks: runs[0].callbacks };
        for (const k of ["load", "firstCallback", "finished", "total", "clickGap", "yields", "yieldWait", "longCount", "longest"]) result.upload[name][k] = summary(runs.map((r) => r[k]));
      }

    }
    if (PARTS.has("step")) {
      const stepRuns = [];
      for (let i = 0; i < Math.max(1, Math.min(RUNS, 3)); i++) stepRuns.push(await measureSteps(browser, server.url, STEP_PLUGIN));
      const byStep = stepRuns[0].map((s, i) => ({
        step: s.step,
        callback: s.callback,
        paused: round(median(stepRuns.map((r) => r[i]?.paused))),
        frame: round(median(stepRuns.map((r) => r[i]?.frame))),
        yields: round(median(stepRuns.map((r) => r[i]?.yields)), 0),
        yieldWait: round(median(stepRuns.map((r) => r[i]?.yieldWait))),
      }));
      const later = stepRuns.flatMap((r) => r.slice(2));
      const echoes = [];
      for (let i = 0; i < Math.max(1, Math.min(RUNS, 3)); i++) echoes.push(...(await measureEcho(browser, server.url)));
      result.step = {
        plugin: STEP_PLUGIN,
        steps: byStep,
        later: { paused: summary(later.map((s) => s.paused)), frame: summary(later.map((s) => s.frame)) },
        echo: { answered: summary(echoes.map((e) => e.answered)), frame: summary(echoes.map((e) => e.frame)) },
      };

    }
    if (PARTS.has("replay")) {
      const runs = [];
      for (let i = 0; i < Math.max(1, Math.min(RUNS, 3)); i++) runs.push(await measureReplay(browser, server.url, STEP_PLUGIN, REPLAY));
      result.replay = { plugin: STEP_PLUGIN, requests: REPLAY };
      for (const k of ["finished", "longCount", "longest"]) result.replay[k] = summary(runs.map((r) => r[k]));
    }
    if (PARTS.has("native")) {
      const natives = [];
      for (let i = 0; i < RUNS; i++) natives.push(await measureNative(browser, server.url, STEP_PLUGIN));
      result.native = { plugin: STEP_PLUGIN, bytes: natives[0].bytes };
      for (const k of ["compile", "instantiate", "initialize", "total"]) result.native[k] = summary(natives.map((n) => n[k]));
      if (UPLOADS[0] !== STEP_PLUGIN) {
        const big = [];
        for (let i = 0; i < RUNS; i++) big.push(await measureNative(browser, server.url, UPLOADS[0]));
        result.nativeLargest = { plugin: UPLOADS[0], bytes: big[0].bytes };
        for (const k of ["compile", "instantiate", "initialize", "total"]) result.nativeLargest[k] = summary(big.map((n) => n[k]));
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const text = JSON.stringify(result, null, 2);
  if (JSON_OUT) writeFileSync(JSON_OUT, text + "\n");
  console.log(text);
}

await main();
