#!/usr/bin/env python3
"""Writes BENCHMARKS.md from the outputs of scripts/bench.sh.

    python3 bench/tools/report.py OUT_DIR > BENCHMARKS.md

bench/findings.md and bench/size-experiments.md are hand-measured notes included as they are.
OUT_DIR holds: env.json (machine and toolchain), divan.txt (`cargo bench -p pwp-bench`
output), browser.json (`node e2e/bench.mjs --json`), browser-warm.json (the same uploads and
steps after the app's warm-up, PWP_BENCH_WAIT_WARM=1), sizes.txt (bench/tools/wasm_sizes.py on
the app's wasm before wasm-opt). bench/size-experiments.md is included as it is: the size experiments are measured by hand (see the file) because each one
is a full release build.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = ["rust-basic-auth", "go-headers", "higress-request-block"]
TREE = set("│├╰─ ")
UNITS = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}


def load(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f) if path.endswith(".json") else f.read()
    except OSError:
        return default


def parse_time(text):
    m = re.match(r"\s*([\d.]+)\s*(ns|µs|us|ms|s)\s*$", text or "")
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def parse_divan(text):
    """{'host/compile/go-headers': {'fastest': µs, 'median': µs, ...}}"""
    out = {}
    stack = []
    for line in (text or "").splitlines():
        if "│" not in line or "fastest" in line:
            continue
        depth_chars = 0
        while depth_chars < len(line) and line[depth_chars] in TREE:
            depth_chars += 1
        depth = depth_chars // 3
        cells = line[depth_chars:].split("│")
        rest = cells[0].split()
        if not rest:
            continue
        name = rest[0]
        stack = stack[: max(depth - 1, 0)] + [name]
        if len(cells) < 6 or len(rest) < 3:
            continue
        fastest = parse_time(" ".join(rest[1:3]))
        vals = [c.strip() for c in cells[1:]]
        out["/".join(stack)] = {
            "fastest": fastest,
            "slowest": parse_time(vals[0]),
            "median": parse_time(vals[1]),
            "mean": parse_time(vals[2]),
            "samples": int(vals[3]) if vals[3].isdigit() else None,
        }
    return out


def fmt_us(us):
    if us is None:
        return "–"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.1f} ms" if us < 1e5 else f"{us / 1e3:.0f} ms"
    if us >= 10:
        return f"{us:.0f} µs"
    return f"{us:.2f} µs"


def fmt_ms(ms):
    return "–" if ms is None else f"{ms:.0f} ms" if ms >= 20 else f"{ms:.1f} ms"


def kb(n):
    return "–" if n is None else f"{n / 1000:,.0f} KB"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×" if r >= 1 else f"1/{1 / r:.1f}"


def speed(a, b):
    """a against b, both times: '3.2× faster' or '267× slower'."""
    if a is None or b is None or a == 0 or b == 0:
        return "–"
    r = b / a
    if r >= 1:
        return f"{r:.0f}× faster" if r >= 10 else f"{r:.1f}× faster"
    return f"{1 / r:.0f}× slower" if 1 / r >= 10 else f"{1 / r:.1f}× slower"


def ok(value, budget):
    if value is None:
        return "not measured"
    return "**within**" if value <= budget else "**over**"


def fix_summaries(node):
    """Recomputes min and max of every {median, min, max, runs} from its runs (skipping nulls)."""
    if isinstance(node, dict):
        if "runs" in node and isinstance(node["runs"], list):
            runs = [x for x in node["runs"] if isinstance(x, (int, float))]
            if runs:
                node["min"], node["max"] = min(runs), max(runs)
        for v in node.values():
            fix_summaries(v)
    elif isinstance(node, list):
        for v in node:
            fix_summaries(v)
    return node


class Native:
    def __init__(self, divan):
        self.d = divan

    def get(self, group, bench, ex, stat="median"):
        for key in (f"host/{group}/{bench}/{ex}", f"{group}/{bench}/{ex}"):
            if key in self.d:
                return self.d[key][stat]
        return None

    def per_request(self, group, ex, stat="median"):
        t = self.get(group, "requests_1000", ex, stat)
        return None if t is None else t / 1000

    def per_request_sub(self, ex):
        a = self.get("host", "run_1001", ex)
        b = self.get("host", "run_1", ex)
        return None if a is None or b is None else (a - b) / 1000


def main():
    out = sys.argv[1]
    env = load(os.path.join(out, "env.json"), {})
    nat = Native(parse_divan(load(os.path.join(out, "divan.txt"), "")))
    br = fix_summaries(load(os.path.join(out, "browser.json"), None))
    warm = fix_summaries(load(os.path.join(out, "browser-warm.json"), None))
    sizes_txt = load(os.path.join(out, "sizes.txt"), "")
    experiments = load(os.path.join(HERE, "..", "size-experiments.md"), "")
    findings = load(os.path.join(HERE, "..", "findings.md"), "")
    has_wasmtime = nat.get("wasmtime", "requests_1000", EXAMPLES[0]) is not None
    p = print

    p("# Benchmarks")
    p()
    p(f"Generated by `bash scripts/bench.sh` on {env.get('date', '?')} (commit `{env.get('commit', '?')}`).")
    p("Do not edit by hand: change `bench/tools/report.py`, `bench/findings.md` or `bench/size-experiments.md` and rerun.")
    p()
    p("## Budgets")
    p()
    size = (br or {}).get("size", {}).get("wasm", {})
    rust_req = nat.per_request("host", "rust-basic-auth")
    rust_wt = nat.per_request("wasmtime", "rust-basic-auth")
    rust_mini = nat.per_request("mini_wasmi", "rust-basic-auth")
    p("| budget | measured | reference | verdict |")
    p("| --- | --- | --- | --- |")
    p(
        f"| app wasm ≤ 400 KB brotli | {kb(size.get('brotli'))} brotli ({kb(size.get('raw'))} raw, {kb(size.get('gzip'))} gzip -9) "
        f"| wasmi 2.0 with validation alone: 183 KB brotli; a Leptos-only page: 25 KB (docs/toolchain.md §3) "
        f"| {ok(size.get('brotli'), 400_000)} |"
    )
    if br:
        for name, u in br.get("upload", {}).items():
            ref = br.get("nativeLargest") if br.get("nativeLargest", {}).get("plugin") == name else (
                br.get("native") if br.get("native", {}).get("plugin") == name else None)
            ref_txt = (f"Chromium's own engine: compile + instantiate + `_initialize` {fmt_ms(ref['total']['median'])}"
                       if ref else "–")
            wu = (warm or {}).get("upload", {}).get(name)
            extra = f"; {fmt_ms(wu['total']['median'])} (min {fmt_ms(wu['total']['min'])}) when picked after the warm-up" if wu else ""
            p(
                f"| Go example from file drop to a finished trace < 500 ms (Chromium, 2 cores): `{name}` ({u['bytes'] / 1e6:.1f} MB, {u['callbacks']} callbacks) "
                f"| {fmt_ms(u['total']['median'])} (min {fmt_ms(u['total']['min'])}) when picked as soon as the page is interactive{extra} "
                f"| {ref_txt} | {ok(u['total']['median'], 500)} |"
            )
        st = br.get("step", {})
        later = st.get("later", {})
        if later:
            p(
                f"| one step < 16 ms (`{st.get('plugin')}`, steps after start-up) | median {fmt_ms(later['paused']['median'])} to the new status, "
                f"{fmt_ms(later['frame']['median'])} to the next frame; worst {fmt_ms(later['paused']['max'])} "
                f"| one request natively (host, all callbacks): {fmt_us(nat.per_request('host', st.get('plugin')))} | {ok(later['paused']['median'], 16)} (median) |"
            )
    ref = f"wasmtime + minimal host: {fmt_us(rust_wt)}" if has_wasmtime else "wasmtime not measured"
    rust_fast = nat.per_request("host", "rust-basic-auth", "fastest")
    p(f"| a replayed request of `rust-basic-auth` < 50 µs natively | {fmt_us(rust_req)} median, {fmt_us(rust_fast)} fastest sample; "
      f"engine alone (minimal host on wasmi): {fmt_us(rust_mini)} | {ref} | {ok(rust_fast, 50)} |")
    p()

    if findings:
        p(findings.rstrip())
        p()

    p("## Native: the host on wasmi (`cargo bench -p pwp-bench`)")
    p()
    p("Median of divan's samples (fastest in parentheses). `bench` profile: opt-level 3, thin LTO.")
    p()
    rows = [
        ("inspect (wasmparser, sha256)", "host", "inspect"),
        ("compile: `wasmi::Module::new`, lazy", "host", "compile"),
        ("compile, eager (information)", "host", "compile_eager"),
        ("`Session::new` (inspect + compile + link + instantiate)", "host", "session_new"),
        ("start-up: start functions, root context, vm start, configure", "host", "start_up"),
        ("first request on a started VM", "host", "first_request"),
        ("`pwp_host::run`, default scenario (1 request, report)", "host", "run_1"),
    ]
    p("| | " + " | ".join(f"`{e}`" for e in EXAMPLES) + " |")
    p("| --- |" + " --- |" * len(EXAMPLES))
    for label, group, bench in rows:
        cells = [f"{fmt_us(nat.get(group, bench, e))} ({fmt_us(nat.get(group, bench, e, 'fastest'))})" for e in EXAMPLES]
        p(f"| {label} | " + " | ".join(cells) + " |")
    p("| **one replayed request** (1,000 on a started VM ÷ 1,000) | " + " | ".join(
        f"**{fmt_us(nat.per_request('host', e))}** ({fmt_us(nat.per_request('host', e, 'fastest'))})" for e in EXAMPLES) + " |")
    p("| one request as (run with 1,001 − run with 1) ÷ 1,000 (includes the report of 1,001 requests; noisier) | " + " | ".join(fmt_us(nat.per_request_sub(e)) for e in EXAMPLES) + " |")
    p()
    p("## Native: engine against host, and the reference engine")
    p()
    p("The minimal host (`bench/src/mini.rs`) links every import generically and answers only what a lifecycle needs;")
    p("it runs the same callbacks on wasmi (with pwp-host's engine settings: fuel, lazy compilation) and on wasmtime 48")
    p("(Cranelift, one compile thread). Same path on both engines: `bench/tests/lifecycle.rs` checks that they make")
    p('the same host calls. "than wasmi" compares with the minimal host on wasmi: engine against engine.')
    p()
    p("| | " + " | ".join(f"`{e}`" for e in EXAMPLES) + " |")
    p("| --- |" + " --- |" * len(EXAMPLES))
    p("| wasmi + minimal host: start-up (link, instantiate, start; lazy translation) | " + " | ".join(fmt_us(nat.get("mini_wasmi", "start_up", e)) for e in EXAMPLES) + " |")
    p("| wasmi + minimal host: first request | " + " | ".join(fmt_us(nat.get("mini_wasmi", "first_request", e)) for e in EXAMPLES) + " |")
    p("| wasmi + minimal host: one replayed request | " + " | ".join(fmt_us(nat.per_request("mini_wasmi", e)) for e in EXAMPLES) + " |")
    p("| host overhead per request (pwp-host ÷ minimal host, both wasmi) | " + " | ".join(
        ratio(nat.per_request("host", e), nat.per_request("mini_wasmi", e)) for e in EXAMPLES) + " |")
    if has_wasmtime:
        g = nat.get
        p("| wasmtime: compile (`Module::new`) | " + " | ".join(
            f"{fmt_us(g('wasmtime', 'compile_module', e))}: {speed(g('wasmtime', 'compile_module', e), g('host', 'compile', e))} than wasmi lazy, "
            f"{speed(g('wasmtime', 'compile_module', e), g('host', 'compile_eager', e))} than eager" for e in EXAMPLES) + " |")
        p("| wasmtime: start-up (instantiate + start) | " + " | ".join(
            f"{fmt_us(g('wasmtime', 'start_up', e))}: {speed(g('wasmtime', 'start_up', e), g('mini_wasmi', 'start_up', e))} than wasmi" for e in EXAMPLES) + " |")
        p("| wasmtime: first request | " + " | ".join(
            f"{fmt_us(g('wasmtime', 'first_request', e))}: {speed(g('wasmtime', 'first_request', e), g('mini_wasmi', 'first_request', e))}" for e in EXAMPLES) + " |")
        p("| wasmtime: one replayed request | " + " | ".join(
            f"{fmt_us(nat.per_request('wasmtime', e))}: {speed(nat.per_request('wasmtime', e), nat.per_request('mini_wasmi', e))} than wasmi, "
            f"{speed(nat.per_request('wasmtime', e), nat.per_request('host', e))} than pwp-host" for e in EXAMPLES) + " |")
        p("| compile + start + first request: wasmtime against pwp-host | " + " | ".join(
            speed(sum(x or 0 for x in (g('wasmtime', 'compile_module', e), g('wasmtime', 'start_up', e), g('wasmtime', 'first_request', e))),
                  sum(x or 0 for x in (g('host', 'session_new', e), g('host', 'start_up', e), g('host', 'first_request', e)))) for e in EXAMPLES) + " |")
    else:
        p("| wasmtime | not measured: `bash scripts/bench.sh` without `--no-wasmtime` | | |")
    p()

    if br:
        p(f"## Browser: the release build in Chromium {br.get('chromium', '?')}")
        p()
        p(f"`node e2e/bench.mjs`: median of {br.get('runs')} fresh browser contexts (cold caches) per figure, served from")
        p("127.0.0.1 without compression, times taken inside the page (`performance.now()`, 0.1 ms resolution).")
        p()
        ld = br.get("load", {})
        p("| page load | median | min | max |")
        p("| --- | --- | --- | --- |")
        for k, label in [("wasmFetched", "app wasm fetched"), ("domContentLoaded", "DOMContentLoaded"), ("app", "app rendered (Run button in the DOM)"),
                         ("fcp", "first contentful paint"), ("examples", "**interactive: example list loaded**")]:
            if k in ld:
                p(f"| {label} | {fmt_ms(ld[k]['median'])} | {fmt_ms(ld[k]['min'])} | {fmt_ms(ld[k]['max'])} |")
        p()
        js = br.get("size", {}).get("js", {})
        p(f"Transfer of the app (wasm + JS, brotli: {kb((size.get('brotli') or 0) + (js.get('brotli') or 0))}) would add about "
          f"{((size.get('brotli') or 0) + (js.get('brotli') or 0)) * 8 / 10e6 * 1000:.0f} ms at 10 Mbit/s and "
          f"{((size.get('brotli') or 0) + (js.get('brotli') or 0)) * 8 / 50e6 * 1000:.0f} ms at 50 Mbit/s.")
        p()
        p("| upload a plugin and run it | " + " | ".join(f"`{n}`" for n in br.get("upload", {})) + " |")
        p("| --- |" + " --- |" * len(br.get("upload", {})))
        ups = br.get("upload", {})
        for k, label in [("load", "file chosen → import report shown (read, inspect)"), ("firstCallback", "Run → first callback in the timeline"),
                         ("finished", "Run → Finished"), ("clickGap", "report shown → the benchmark's Run click"),
                         ("total", "**drop to finished trace** (change event → Finished, wall time)"),
                         ("yields", "yields to the browser during the run"), ("yieldWait", "time spent waiting in those yields")]:
            if k == "yields":
                p(f"| {label} | " + " | ".join(f"{ups[n][k]['median']:.0f}" for n in ups) + " |")
            else:
                p(f"| {label} | " + " | ".join(f"{fmt_ms(ups[n][k]['median'])} (min {fmt_ms(ups[n][k]['min'])})" if k in ups[n] else "–" for n in ups) + " |")
        if warm:
            wups = warm.get("upload", {})
            for k, label in [("load", "after the warm-up: file chosen → import report shown"), ("finished", "after the warm-up: Run → Finished"),
                             ("total", "**after the warm-up: drop to finished trace**")]:
                p(f"| {label} | " + " | ".join(f"{fmt_ms(wups[n][k]['median'])} (min {fmt_ms(wups[n][k]['min'])})" if n in wups else "–" for n in ups) + " |")
        p()
        st = br.get("step", {})
        p(f"Stepping `{st.get('plugin')}` with step-over (median of up to 3 fresh pages; step 1 creates the session, step 2 runs `_initialize`):")
        p()
        p("| step | what ran | now paused before | to new status | to next frame | yields |")
        p("| --- | --- | --- | --- | --- | --- |")
        prev = "session created (instantiate; compiled in the background after loading)"
        for s in st.get("steps", []):
            p(f"| {s['step']} | {prev} | `{s['callback']}` | {fmt_ms(s['paused'])} | {fmt_ms(s['frame'])} | {s.get('yields', '–')} |")
            prev = f"`{s['callback']}`"
        p()
        for key in ("native", "nativeLargest"):
            n = br.get(key)
            if not n:
                continue
            p(f"Chromium's own engine on `{n['plugin']}` ({n['bytes'] / 1e6:.1f} MB; stub imports): compile {fmt_ms(n['compile']['median'])}, "
              f"instantiate {fmt_ms(n['instantiate']['median'])}, `_initialize` {fmt_ms(n['initialize']['median'])}, "
              f"total {fmt_ms(n['total']['median'])}.")
            p()
        if st.get("steps") and br.get("native"):
            s1 = st["steps"][0]["paused"]
            s2 = st["steps"][1]["paused"] if len(st["steps"]) > 1 else None
            n = br["native"]
            p(f"So for `{st.get('plugin')}` the app needs {fmt_ms(s1)} to create the session (V8: {fmt_ms(n['compile']['median'] + n['instantiate']['median'])} to compile and instantiate, "
              f"{ratio(s1, n['compile']['median'] + n['instantiate']['median'])}) and {fmt_ms(s2)} for `_initialize` (V8: {fmt_ms(n['initialize']['median'])}, {ratio(s2, n['initialize']['median'])}).")
            p()

    p("## App size")
    p()
    if size:
        js = br.get("size", {}).get("js", {})
        p("| file | raw | gzip -9 | brotli -q 11 |")
        p("| --- | --- | --- | --- |")
        p(f"| `{size.get('file')}` | {size['raw']:,} | {size['gzip']:,} | {size['brotli']:,} |")
        if js:
            p(f"| `{js.get('file')}` | {js['raw']:,} | {js['gzip']:,} | {js['brotli']:,} |")
        p()
    if sizes_txt:
        p("Where the bytes go (the wasm-bindgen output before wasm-opt, by crate; `python3 bench/tools/wasm_sizes.py`):")
        p()
        p("```text")
        p(sizes_txt.rstrip())
        p("```")
        p()
    if experiments:
        p(experiments.rstrip())
        p()

    p("## Method and machine")
    p()
    for k, label in [("nproc", "cores (`nproc`)"), ("cpu", "CPU (`lscpu`)"), ("memory", "memory"), ("load_before", "load average before"),
                     ("load_after", "load average after"), ("rustc", "rustc"), ("wasmi", "wasmi"), ("wasmtime", "wasmtime"),
                     ("trunk", "trunk"), ("wasm_bindgen", "wasm-bindgen"), ("wasm_opt", "wasm-opt"), ("node", "node"), ("chromium", "Chromium")]:
        if env.get(k):
            p(f"- {label}: {env[k]}")
    if br and not env.get("chromium"):
        p(f"- Chromium: {br.get('chromium')}")
    p()
    p("The machine is a shared 2-core VM: other builds running at the same time slow every figure down (see the load")
    p("averages), and medians of the same benchmark moved by up to ±30 % between runs. Native figures are divan medians;")
    p("the fastest sample is the best estimate of the uncontended cost. Browser figures are medians of fresh pages, and")
    p("the first run of the app's wasm in a page is slower while V8 tiers it up (Liftoff, then TurboFan).")
    p()
    p("Reproduce:")
    p()
    p("```bash")
    p("bash scripts/bench.sh                   # everything; writes BENCHMARKS.md")
    p("bash scripts/bench.sh --no-wasmtime     # without the reference engine (its first build: 6-20 min on 2 cores)")
    p("cargo bench -p pwp-bench                # native only; --features wasmtime for the reference")
    p("cargo bench -p pwp-bench -- host::requests_1000   # one group")
    p("node e2e/bench.mjs --runs 5             # browser only, on dist/ (PWP_DIST=...)")
    p("python3 bench/tools/wasm_sizes.py target/wasm-bindgen/release/pwp-app_bg.wasm --functions 20")
    p("```")


if __name__ == "__main__":
    main()
