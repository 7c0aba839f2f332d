#!/usr/bin/env bash
# Runs every check, in the order CI runs them: format, the workflow and shell lints, lints
# (native and wasm), the API docs, the host's wasm build, the architecture rule, native tests, the release
# build, a build for a sub-path, the nginx deployment and the browser tests.
#
#   bash scripts/test.sh                  everything (setup first; fast when already done)
#   bash scripts/test.sh clippy e2e       only the steps whose names are given
#   PWP_KEEP_GOING=1 bash scripts/test.sh run the remaining steps after a failure
#
# Honours CARGO_TARGET_DIR if the caller sets one (.ci/run does, for warm CI runs).
# shellcheck disable=SC2317 # the step functions are called through `step`
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PWP_ROOT"

only=("$@")
passed=()
failed=()
started=$SECONDS

wanted() {
  [ "${#only[@]}" -eq 0 ] && return 0
  local name
  for name in "${only[@]}"; do [ "$name" = "$1" ] && return 0; done
  return 1
}

# step NAME COMMAND...: run one step with a banner and its time.
step() {
  local name=$1
  shift
  wanted "$name" || return 0
  local t0=$SECONDS
  printf '\n==== [%s] %s\n' "$name" "$*" >&2
  if "$@"; then
    passed+=("$name")
    printf '==== [%s] ok in %ss\n' "$name" "$((SECONDS - t0))" >&2
  else
    failed+=("$name")
    printf '==== [%s] FAILED after %ss\n' "$name" "$((SECONDS - t0))" >&2
    if [ -z "${PWP_KEEP_GOING:-}" ]; then summary; fi
  fi
}

summary() {
  local total=$((SECONDS - started))
  if [ "${#failed[@]}" -eq 0 ]; then
    printf '\n==== test.sh: PASSED %d steps in %ss (%s)\n' "${#passed[@]}" "$total" "${passed[*]}" >&2
    exit 0
  fi
  printf '\n==== test.sh: FAILED %s; passed %d steps in %ss (%s)\n' \
    "${failed[*]}" "${#passed[@]}" "$total" "${passed[*]:-none}" >&2
  exit 1
}

# pwp-host must stay free of browser crates: the CLI and native tests link it too. pwp-model (the
# data) must stay free of browser crates and of the wasm engine: a page without the engine uses it.
# pwp-proto (the page-worker messages) is tested natively: no browser crates, and no host or engine
# (the page links it). The page (pwp-app) holds neither the host nor an engine: plugins are
# inspected and run in the worker.
architecture() {
  local browser='leptos[a-z_-]*|web-sys|js-sys|wasm-bindgen[a-z_-]*|gloo[a-z_-]*'
  local engine='wasmi[a-z_-]*|wasmparser|wasmtime[a-z_-]*|wat|wast'
  forbid pwp-host "$browser" "browser crates" &&
    forbid pwp-model "$browser|$engine" "browser crates or a wasm engine" &&
    forbid pwp-proto "$browser|pwp-host|$engine" "browser crates, pwp-host or wasm engines" &&
    forbid pwp-app "pwp-host|$engine" "pwp-host or wasm engines"
}

# The page never runs plugin code: its release wasm holds no interpreter (wasmi's translator,
# executor and instruction set), and the engine worker's does. The `architecture` step keeps the
# host and the engine out of the page's dependencies; this checks what the linker kept, by the
# source paths the panic locations leave in each module's data.
engine_split() {
  local page worker engine='wasmi-[0-9.]+/src/engine/(translator|executor)|wasmi_ir-[0-9]'
  page="$(find dist -maxdepth 1 -name 'pwp-app-*_bg.wasm' | head -n 1)"
  worker=dist/pwp-worker_bg.wasm
  if [ -z "$page" ] || [ ! -f "$worker" ]; then
    echo "no release build in dist/ (run the trunk step)" >&2
    return 1
  fi
  if grep -aqE "$engine" "$page"; then
    printf '%s holds the interpreter:\n%s\n' "$page" "$(grep -aoE "$engine" "$page" | sort -u)" >&2
    return 1
  fi
  if ! grep -aqE "$engine" "$worker"; then
    echo "$worker holds no interpreter: is this check still looking for the right names?" >&2
    return 1
  fi
  echo "the page ($page) holds no interpreter; the engine worker does"
}

# forbid PACKAGE REGEX WHAT: PACKAGE's dependency tree (all targets) has no crate matching REGEX.
forbid() {
  local package=$1 pattern=$2 what=$3 tree bad
  tree="$(cargo tree -p "$package" -e normal --target all --prefix none)" || return 1
  bad="$(grep -E "^($pattern) v" <<<"$tree" | sed "s/ (\*)$//" | sort -u || true)"
  if [ -n "$bad" ]; then
    printf '%s must not depend on %s, but its dependency tree has:\n%s\n' "$package" "$what" "$bad" >&2
    printf 'Find the path with: cargo tree -p %s -e normal --target all -i <crate>\n' "$package" >&2
    return 1
  fi
  echo "$package depends on no $what"
}

# Commit subjects of at most 72 characters, for every commit after the one that set the rule
# (earlier history is as it is). A shallow clone without that commit has nothing to check.
commit_subjects() {
  local since=15ccfdc long
  if ! git rev-parse -q --verify "$since^{commit}" >/dev/null; then
    echo "commit $since is not in this clone (shallow?): nothing to check"
    return 0
  fi
  long="$(git log --format='%s' "$since..HEAD" | awk 'length($0) > 72')"
  if [ -n "$long" ]; then
    printf 'commit subjects over 72 characters:\n%s\n' "$long" >&2
    return 1
  fi
  echo "every commit subject since $since fits in 72 characters"
}

# Every GitHub Actions workflow, and the one plugin repositories copy. ci.yml runs action.yml
# with `uses: ./`, so actionlint checks that job's inputs against it too, and it passes each
# `run:` script to shellcheck.
lint_workflows() {
  actionlint .github/workflows/*.yml docs/ci/pwp.yml && echo "actionlint: no findings"
}

# The shell scripts, and the `run:` scripts of the composite action (actionlint reads workflows
# only), extracted with the yaml package from e2e/node_modules.
lint_shell() {
  local dir rc=0
  shellcheck -x -S warning scripts/*.sh .ci/run examples/build.sh || rc=1
  dir="$(mktemp -d)"
  (cd e2e && node -e '
    const fs = require("fs");
    const [file, out] = process.argv.slice(1);
    const steps = require("yaml").parse(fs.readFileSync(file, "utf8")).runs.steps;
    for (const [i, s] of steps.entries()) {
      if (!s.run) continue;
      const name = `action.yml-step-${i + 1}-${(s.name ?? s.id ?? "").replace(/[^A-Za-z0-9]+/g, "-")}.sh`;
      fs.writeFileSync(`${out}/${name}`, `#!/usr/bin/env bash\n${s.run}`);
    }' "$PWP_ROOT/action.yml" "$dir") || rc=1
  (cd "$dir" && shellcheck -- *.sh) || rc=1
  rm -rf "$dir"
  [ "$rc" = 0 ] && echo "shellcheck: no findings"
}

# The app built for a sub-path, for e2e/tests/subpath.test.mjs. A dev build: --public-url is
# handled the same way, and it skips wasm-opt (~30 s on every release build).
subpath_build() {
  trunk build --public-url /pwp/sub/ --dist e2e/artifacts/dist-subpath
}

step setup bash scripts/setup.sh
step fmt cargo fmt --all -- --check
step commits commit_subjects
step actionlint lint_workflows
step shellcheck lint_shell
step clippy cargo clippy --workspace --all-targets -- -D warnings
step clippy-wasm cargo clippy -p pwp-model -p pwp-host -p pwp-proto -p pwp-app -p pwp-worker --target wasm32-unknown-unknown -- -D warnings
step doc env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
step host-wasm cargo build -p pwp-host --target wasm32-unknown-unknown
step architecture architecture
step test cargo test --workspace
step trunk trunk build --release
step engine-split engine_split
step trunk-subpath subpath_build
step nginx bash scripts/test-nginx.sh
step e2e bash -c 'cd e2e && node --test'
summary
