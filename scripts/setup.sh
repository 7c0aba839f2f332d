#!/usr/bin/env bash
# Installs what is missing, and only that; a second run takes a second or two.
#   - rustup targets wasm32-unknown-unknown (the app) and wasm32-wasip1 (example plugins)
#   - Debian chromium + chromium-driver (browser tests); nginx, libnginx-mod-http-brotli-static and
#     brotli (scripts/test-nginx.sh); shellcheck
#   - trunk 0.21.14 and wasm-bindgen-cli 0.2.130 (cargo install; ~8 and ~2.5 minutes on 2 cores)
#   - e2e/node_modules (npm ci): playwright-core and binaryen 132's wasm-opt
#   - actionlint 1.7.12 (go install, into $PWP_TOOLS_BIN; about a minute), which lints the workflows
#   - the example plugins (examples/build.sh -> public/examples/ with index.json)
# Tools land on PATH through scripts/env.sh, which every script sources.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PWP_ROOT"

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    pwp_die "need root for: $*"
  fi
}

# Rust targets.
command -v rustup >/dev/null || pwp_die "rustup not found; install Rust from https://rustup.rs"
installed_targets="$(rustup target list --installed)"
for target in wasm32-unknown-unknown wasm32-wasip1; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    pwp_say "adding rust target $target"
    rustup target add "$target"
  fi
done

# Debian packages: chromium for the browser tests, nginx with the brotli static module and the
# brotli CLI for the nginx test, shellcheck, node/npm if absent. On a machine with systemd, Debian
# starts nginx's own service (port 80) when it installs the package; the test runs its own nginx,
# so `sudo systemctl disable --now nginx` if you do not want that one.
missing_debs=()
command -v chromium >/dev/null || missing_debs+=(chromium)
command -v chromedriver >/dev/null || missing_debs+=(chromium-driver)
command -v npm >/dev/null || missing_debs+=(nodejs npm)
command -v nginx >/dev/null || missing_debs+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ] || missing_debs+=(libnginx-mod-http-brotli-static)
command -v brotli >/dev/null || missing_debs+=(brotli)
command -v shellcheck >/dev/null || missing_debs+=(shellcheck)
if [ "${#missing_debs[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || pwp_die "missing ${missing_debs[*]} and no apt-get; install them yourself"
  pwp_say "installing Debian packages: ${missing_debs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Update the package lists only when an install cannot proceed without it.
  if ! as_root apt-get install -y --no-install-recommends "${missing_debs[@]}"; then
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends "${missing_debs[@]}"
  fi
fi

# Cargo-installed tools. wasm-bindgen-cli must NOT use --locked: its lockfile wants a
# webpki-roots that the registry mirror lacks (docs/toolchain.md G3).
lock_wbg="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')"
[ "$lock_wbg" = "$PWP_WASM_BINDGEN_VERSION" ] ||
  pwp_die "Cargo.lock has wasm-bindgen $lock_wbg but the toolchain pins $PWP_WASM_BINDGEN_VERSION; update scripts/env.sh, Trunk.toml and app/Cargo.toml together"
if [ "$(trunk --version 2>/dev/null)" != "trunk $PWP_TRUNK_VERSION" ]; then
  pwp_say "installing trunk $PWP_TRUNK_VERSION (about 8 minutes on 2 cores)"
  cargo install trunk --version "$PWP_TRUNK_VERSION" --locked --force
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $PWP_WASM_BINDGEN_VERSION" ]; then
  pwp_say "installing wasm-bindgen-cli $PWP_WASM_BINDGEN_VERSION (about 2.5 minutes on 2 cores)"
  cargo install wasm-bindgen-cli --version "$PWP_WASM_BINDGEN_VERSION" --force
fi

# actionlint, a Go module (no prebuilt download), into the project's tool cache.
if [ "$(actionlint -version 2>/dev/null | head -n 1)" != "v$PWP_ACTIONLINT_VERSION" ]; then
  command -v go >/dev/null || pwp_die "go not found; install Go >= 1.24 (https://go.dev/dl/)"
  pwp_say "installing actionlint $PWP_ACTIONLINT_VERSION into $PWP_TOOLS_BIN (go install)"
  mkdir -p "$PWP_TOOLS_BIN"
  GOBIN="$PWP_TOOLS_BIN" go install "github.com/rhysd/actionlint/cmd/actionlint@v$PWP_ACTIONLINT_VERSION"
fi

# npm packages, reinstalled only when the lockfile changed.
stamp=e2e/node_modules/.pwp-lock.sha256
lock_sum="$(sha256sum e2e/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  pwp_say "npm ci in e2e/"
  (cd e2e && npm ci --no-audit --no-fund)
  echo "$lock_sum" >"$stamp"
fi
case "$(wasm-opt --version 2>/dev/null)" in
  *"version $PWP_WASM_OPT_VERSION "*) ;;
  *) pwp_die "wasm-opt on PATH is '$(command -v wasm-opt)' ($(wasm-opt --version 2>&1 || true)); expected binaryen $PWP_WASM_OPT_VERSION from e2e/node_modules/.bin" ;;
esac

# The example plugins, served by the app at examples/ (Trunk copies public/examples/).
mkdir -p public/examples
if [ -f examples/build.sh ]; then
  bash examples/build.sh
else
  pwp_say "examples/build.sh not found; the app will have no examples"
fi
