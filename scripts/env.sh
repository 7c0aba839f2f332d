# shellcheck shell=bash
# Sourced by every script in scripts/ (and usable interactively: `source scripts/env.sh`).
# Puts the project's tools first on PATH:
#   e2e/node_modules/.bin  wasm-opt 132 from npm binaryen (Debian's /usr/bin/wasm-opt 108 can't
#                          parse wasm-bindgen 0.2.130 output), playwright-core
#   $CARGO_HOME/bin        trunk 0.21.14, wasm-bindgen 0.2.130, cargo
#   $PWP_TOOLS_BIN         actionlint (a Go module; ${PWP_CACHE_DIR:-~/.cache/pwp}/bin)
#   /usr/sbin              Debian's nginx, for users whose PATH lacks it
PWP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PWP_ROOT
export PWP_TOOLS_BIN="${PWP_CACHE_DIR:-$HOME/.cache/pwp}/bin"
export PATH="$PWP_ROOT/e2e/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PWP_TOOLS_BIN:$PATH:/usr/sbin"

# trunk 0.21 reads NO_COLOR as its --no-color flag and rejects anything but true/false
# ("invalid value '1' for '--no-color'"), so normalise the usual NO_COLOR=1.
if [ -n "${NO_COLOR:-}" ]; then export NO_COLOR=true; fi

# Pinned tool versions (Trunk.toml [tools] must agree; wasm-bindgen must equal Cargo.lock).
export PWP_TRUNK_VERSION="0.21.14"
export PWP_WASM_BINDGEN_VERSION="0.2.130"
export PWP_WASM_OPT_VERSION="132"
export PWP_ACTIONLINT_VERSION="1.7.12"

# Log helpers.
pwp_say() { printf '[pwp] %s\n' "$*" >&2; }
pwp_die() {
  printf '[pwp] ERROR: %s\n' "$*" >&2
  exit 1
}
