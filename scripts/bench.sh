#!/usr/bin/env bash
# Measures the playground and rewrites BENCHMARKS.md: the host natively (divan, with wasmtime as
# the reference engine), the release build in Chromium, and the app's wasm size.
#
#   bash scripts/bench.sh                 everything (the first run also builds wasmtime: 6-20 min)
#   bash scripts/bench.sh --no-wasmtime   without the reference engine
#   bash scripts/bench.sh --no-build      reuse the release build in $PWP_DIST
#
# Outputs go to target/bench/ (divan.txt, browser.json, sizes.txt, env.json); the release build
# goes to $PWP_DIST (default target/bench/dist, so a running `serve.sh --release` keeps dist/).
# Heavy steps run under `nice -n 10`: the machines are shared.
# Honours CARGO_TARGET_DIR. The benchmarks build in their own target dir (PWP_BENCH_TARGET_DIR,
# default <target>/bench-tgt: another profile, and wasmtime) so that they never hold the lock of
# the target dir that test.sh and serve.sh use. PWP_BENCH_RUNS: browser runs per figure (5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PWP_ROOT"

wasmtime=1
build=1
for arg in "$@"; do
  case "$arg" in
    --no-wasmtime) wasmtime=0 ;;
    --no-build) build=0 ;;
    *) pwp_die "unknown argument: $arg (see the header of $0)" ;;
  esac
done

target="${CARGO_TARGET_DIR:-$PWP_ROOT/target}"
bench_target="${PWP_BENCH_TARGET_DIR:-$target/bench-tgt}"
out="$PWP_ROOT/target/bench"
export PWP_DIST="${PWP_DIST:-$out/dist}"
mkdir -p "$out"

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before="$(load)"

pwp_say "examples (skips unchanged ones)"
bash examples/build.sh

if [ "$build" = 1 ]; then
  pwp_say "release build into $PWP_DIST"
  nice -n 10 trunk build --release --dist "$PWP_DIST"
fi
# The wasm-bindgen output before wasm-opt still has its name section: where the bytes go.
pre_opt="$target/wasm-bindgen/release/pwp-app_bg.wasm"
if [ -f "$pre_opt" ]; then
  python3 bench/tools/wasm_sizes.py "${pre_opt#"$PWP_ROOT"/}" --top 25 >"$out/sizes.txt"
else
  : >"$out/sizes.txt"
fi

pwp_say "native benchmarks (cargo bench -p pwp-bench)"
features=()
[ "$wasmtime" = 1 ] && features=(--features wasmtime)
CARGO_TARGET_DIR="$bench_target" nice -n 10 cargo bench -p pwp-bench "${features[@]}" --bench host |
  tee "$out/divan.txt"

pwp_say "browser benchmarks (node e2e/bench.mjs)"
node e2e/bench.mjs --json "$out/browser.json" >/dev/null
pwp_say "browser benchmarks after the app's warm-up (uploads and steps)"
PWP_BENCH_PARTS=upload,step PWP_BENCH_WAIT_WARM=1 node e2e/bench.mjs --json "$out/browser-warm.json" >/dev/null

mem_kb="$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
first() { "$@" 2>/dev/null | head -n1 || true; }
lock_version() { awk -v n="$1" '$0 == "name = \"" n "\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock; }
python3 - "$out/env.json" <<EOF
import json, sys
json.dump({
    "date": "$(date -u +%Y-%m-%dT%H:%MZ)",
    "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes')",
    "nproc": "$(nproc)",
    "cpu": "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)",
    "memory": "$((mem_kb / 1024 / 1024)) GiB",
    "load_before": "$load_before",
    "load_after": "$(load)",
    "rustc": "$(first rustc --version)",
    "wasmi": "$(lock_version wasmi)",
    "wasmtime": "$( [ "$wasmtime" = 1 ] && lock_version wasmtime || echo 'not measured')",
    "trunk": "$(first trunk --version)",
    "wasm_bindgen": "$(first wasm-bindgen --version)",
    "wasm_opt": "$(first wasm-opt --version)",
    "node": "$(node --version)",
}, open(sys.argv[1], "w"), indent=2)
EOF

python3 bench/tools/report.py "$out" >BENCHMARKS.md
pwp_say "wrote BENCHMARKS.md (raw outputs in $out)"
