#!/usr/bin/env bash
# Serves the playground with the examples at http://127.0.0.1:8080 (rebuilds on change).
#   PORT=9000 bash scripts/serve.sh        another port
#   bash scripts/serve.sh --release        an optimised build (slower to rebuild)
# Extra arguments go to `trunk serve`.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$PWP_ROOT/scripts/setup.sh"
cd "$PWP_ROOT"
pwp_say "serving on http://127.0.0.1:${PORT:-8080}/"
# Its own dist directory, so that a running server and scripts/test.sh (which builds dist/)
# never overwrite each other's staging files.
exec trunk serve --address 127.0.0.1 --port "${PORT:-8080}" --dist target/trunk-serve "$@"
