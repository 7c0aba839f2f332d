#!/usr/bin/env bash
# Builds every example plugin into public/examples/<name>.wasm, copies its
# scenarios next to it and writes public/examples/index.json.
#
#   bash examples/build.sh              build all examples (skips unchanged ones)
#   bash examples/build.sh NAME...      build only these (index.json still lists
#                                       every example that has been built)
#   bash examples/build.sh --list       print the example names, in index order
#   bash examples/build.sh --force ...  rebuild even when up to date
#
# An example is up to date when the hash of its build inputs (the tracked and
# untracked-but-not-ignored files of its folder, except README.md and
# scenario*.json, plus the toolchain version and this script's build recipe)
# equals the stamp in examples/.stamps/<name> and its .wasm exists.
#
# Needs: Go >= 1.24 (Go examples), rustup/cargo with the wasm32-wasip1 target
# (Rust examples), sha256sum. python3, when present, checks each module's
# proxy-wasm ABI marker and _initialize export.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$root/public/examples"
stamps="$here/.stamps"
export CARGO_TARGET_DIR="$here/target"

# name|language|sdk|expected ABI marker|title|one-line description — index order.
examples=(
  "go-headers|go|proxy-wasm-go-sdk|0_2_0|Add, replace and remove headers|Edits request and response headers from a JSON config and logs each change."
  "go-http-auth|go|proxy-wasm-go-sdk|0_2_0|External authorization callout|Pauses each request, asks an auth cluster over DispatchHttpCall and resumes it or answers 403."
  "go-body-rewrite|go|proxy-wasm-go-sdk|0_2_0|Rewrite a JSON request body|Buffers a JSON body, sets and redacts fields from the config and drops content-length."
  "go-rate-limit|go|proxy-wasm-go-sdk|0_2_0|Token-bucket rate limit|Shared-data token bucket with CAS, refilled on tick, with metrics and 429 + retry-after."
  "go-token-refresh|go|proxy-wasm-go-sdk|0_2_0|Token refreshed on tick|Fetches a bearer token by HTTP call on each tick; requests before the first token wait and resume."
  "go-network|go|proxy-wasm-go-sdk|0_2_0|L4 network filter: log, count, deny|A TCP filter: logs each side's bytes, counts them in metrics and closes a connection that sends a denied word."
  "higress-request-block|go|higress wasm-go|0_2_100|Higress request-block with per-route rules|Blocks by URL, header or body keyword with global config and _rules_ for routes, domains and services."
  "higress-redis-counter|go|higress wasm-go|0_2_100|Count requests in Redis|Pauses for an INCR through the wasm-go Redis client, then adds x-request-count or answers 429."
  "rust-basic-auth|rust|proxy-wasm (Rust)|0_2_1|Basic auth and API keys|Checks Basic credentials or an x-api-key against the config; 401 with www-authenticate otherwise."
  "rust-body-transform|rust|proxy-wasm (Rust)|0_2_1|Streaming response-body rewrite|Find-and-replace on each response chunk as it streams, without buffering the body."
)

# Bump when the build commands below change, so that stamps are invalidated.
recipe="v1 go:-trimpath,-buildmode=c-shared,-mod=readonly,-buildvcs=false rust:release,wasm32-wasip1"

field() { local IFS='|'; read -r -a f <<<"$1"; echo "${f[$2]}"; }
names() { for e in "${examples[@]}"; do field "$e" 0; done; }
entry() { for e in "${examples[@]}"; do [[ "$(field "$e" 0)" == "$1" ]] && { echo "$e"; return 0; }; done; return 1; }

force=0
selected=()
for arg in "$@"; do
  case "$arg" in
    --list) names; exit 0 ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option: $arg" >&2; exit 2 ;;
    *) entry "$arg" >/dev/null || { echo "unknown example: $arg (see --list)" >&2; exit 2; }
       selected+=("$arg") ;;
  esac
done
if [[ ${#selected[@]} -eq 0 ]]; then
  mapfile -t selected < <(names)
fi

mkdir -p "$out" "$stamps"

# ---- toolchains (looked up once, only when needed) -------------------------
# The usual install places, for shells whose PATH lacks them.
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
if ! command -v cargo >/dev/null && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
  PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
go_version=""
rust_version=""
need_go() {
  [[ -n "$go_version" ]] && return 0
  command -v go >/dev/null || { echo "go not found (Go >= 1.24 is needed for the Go examples)" >&2; exit 1; }
  go_version="$(go env GOVERSION)"
  local minor="${go_version#go1.}"; minor="${minor%%.*}"; minor="${minor%%[!0-9]*}"
  if [[ -z "$minor" || "$minor" -lt 24 ]]; then
    echo "$go_version is too old: the Go examples need Go >= 1.24 (GOOS=wasip1 -buildmode=c-shared)" >&2
    exit 1
  fi
}
need_rust() {
  [[ -n "$rust_version" ]] && return 0
  command -v cargo >/dev/null || { echo "cargo not found (needed for the Rust examples)" >&2; exit 1; }
  rust_version="$(rustc -V) / $(cargo -V)"
}
rust_target_checked=0
ensure_rust_target() {
  [[ $rust_target_checked -eq 1 ]] && return 0
  rust_target_checked=1
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip1; then
    echo "adding the wasm32-wasip1 target (rustup target add wasm32-wasip1)"
    rustup target add wasm32-wasip1
  fi
}

# ---- inputs hash -----------------------------------------------------------
# Files of an example folder that feed its build, one per line, sorted.
input_files() {
  local dir="$1"
  if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$root" ls-files --cached --others --exclude-standard -- "examples/$dir" \
      | sed "s|^examples/$dir/||"
  else
    (cd "$here/$dir" && find . -type f -not -path './target/*' | sed 's|^\./||')
  fi | grep -Ev '(^|/)(README\.md|scenario[^/]*\.json)$' | LC_ALL=C sort
}

inputs_hash() {
  local dir="$1" toolchain="$2"
  {
    echo "recipe $recipe"
    echo "toolchain $toolchain"
    input_files "$dir" | while IFS= read -r f; do
      [[ -f "$here/$dir/$f" ]] || continue # deleted but still in the index
      printf '%s  %s\n' "$(sha256sum <"$here/$dir/$f" | cut -d' ' -f1)" "$f"
    done
  } | sha256sum | cut -d' ' -f1
}

# ---- builders --------------------------------------------------------------
build_go() {
  local name="$1" tmp="$2"
  (cd "$here/$name" &&
    GOOS=wasip1 GOARCH=wasm GOFLAGS="-mod=readonly -buildvcs=false" \
      go build -trimpath -buildmode=c-shared -o "$tmp" .)
}

build_rust() {
  local name="$1" tmp="$2" crate
  ensure_rust_target
  (cd "$here/$name" && cargo build --quiet --locked --release --target wasm32-wasip1)
  crate="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$here/$name/Cargo.toml" | head -n1)"
  cp "$CARGO_TARGET_DIR/wasm32-wasip1/release/${crate//-/_}.wasm" "$tmp"
}

human() { # bytes -> "123.4 KB" / "3.4 MB"
  awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MB", b/1048576; else printf "%.1f KB", b/1024 }'
}

check_abi() { # prints "<abi> ..." or fails
  local file="$1" abi="$2"
  if command -v python3 >/dev/null; then
    python3 "$here/tools/wasm-abi.py" --check "$abi" "$file"
  else
    echo "$abi (not checked: no python3)"
  fi
}

status=0
for name in "${selected[@]}"; do
  e="$(entry "$name")"
  lang="$(field "$e" 1)"
  abi="$(field "$e" 3)"
  if [[ "$lang" == go ]]; then need_go; toolchain="$go_version"; else need_rust; toolchain="$rust_version"; fi

  wasm="$out/$name.wasm"
  stamp="$stamps/$name"
  hash="$(inputs_hash "$name" "$toolchain")"
  start=$SECONDS
  if [[ $force -eq 0 && -f "$wasm" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    what="up to date"
  else
    tmp="$out/.$name.wasm.tmp"
    rm -f "$stamp"
    if ! "build_$lang" "$name" "$tmp"; then
      echo "FAILED     $name" >&2
      rm -f "$tmp"
      status=1
      continue
    fi
    if ! check_abi "$tmp" "$abi" >/dev/null; then
      echo "FAILED     $name: wrong exports" >&2
      rm -f "$tmp"
      status=1
      continue
    fi
    mv -f "$tmp" "$wasm"
    echo "$hash" >"$stamp"
    what="built in $((SECONDS - start))s"
  fi

  # Scenarios are copied every time (cheap) and never trigger a rebuild.
  rm -f "$out/$name".scenario*.json
  for s in "$here/$name"/scenario*.json; do
    [[ -e "$s" ]] || continue
    cp "$s" "$out/$name.$(basename "$s")"
  done
  printf '%-22s %-18s %10s  %s\n' "$name" "$what" "$(human "$(stat -c %s "$wasm")")" "abi $abi"
done

# ---- index.json (every example that has a .wasm, in the fixed order) -------
json_str() { local s="${1//\\/\\\\}"; s="${s//\"/\\\"}"; printf '"%s"' "$s"; }
{
  echo "["
  first=1
  for e in "${examples[@]}"; do
    name="$(field "$e" 0)"
    wasm="$out/$name.wasm"
    [[ -f "$wasm" ]] || continue
    [[ $first -eq 1 ]] || echo ","
    first=0
    extras=()
    for s in "$out/$name".scenario-*.json; do
      [[ -e "$s" ]] && extras+=("$(json_str "$(basename "$s")")")
    done
    scenario="null"
    [[ -f "$out/$name.scenario.json" ]] && scenario="$(json_str "$name.scenario.json")"
    printf '  {"name": %s, "title": %s, "language": %s, "sdk": %s,\n' \
      "$(json_str "$name")" "$(json_str "$(field "$e" 4)")" "$(json_str "$(field "$e" 1)")" "$(json_str "$(field "$e" 2)")"
    printf '   "description": %s,\n' "$(json_str "$(field "$e" 5)")"
    printf '   "wasm": %s, "scenario": %s, "scenarios": [%s],\n' \
      "$(json_str "$name.wasm")" "$scenario" "$(IFS=,; echo "${extras[*]:-}" | sed 's/,/, /g')"
    printf '   "size": %d, "sha256": "%s"}' "$(stat -c %s "$wasm")" "$(sha256sum "$wasm" | cut -d' ' -f1)"
  done
  echo
  echo "]"
} >"$out/index.json.tmp"
mv -f "$out/index.json.tmp" "$out/index.json"

exit $status
