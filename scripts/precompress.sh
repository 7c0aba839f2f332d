#!/usr/bin/env bash
# Writes a brotli (.br) and a gzip (.gz) copy beside every compressible file of a built site, for
# web servers that serve precompressed files (nginx: brotli_static, gzip_static; Caddy:
# precompressed br gzip). The originals stay, for clients that accept neither.
#
#   bash scripts/precompress.sh [DIR]    DIR defaults to dist/
#   PWP_BROTLI_QUALITY=5 bash ...        faster, larger .br files (default 11, the smallest)
#
# Compressible: .wasm .js .css .html .json .svg .txt .yaml (the app, the example plugins and their
# scenarios). Existing .br/.gz files are overwritten, so a second run is safe. Needs the `brotli`
# and `gzip` commands (Debian: apt-get install brotli; scripts/setup.sh installs it).
set -euo pipefail

dir="${1:-dist}"
[ -d "$dir" ] || {
  printf 'precompress: %s is not a directory (build the site first: trunk build --release)\n' "$dir" >&2
  exit 1
}
for tool in brotli gzip; do
  command -v "$tool" >/dev/null || {
    printf 'precompress: "%s" not found (Debian: apt-get install %s)\n' "$tool" "$tool" >&2
    exit 1
  }
done

# One file per job, on every core: brotli at quality 11 is the slow part (the Go example plugins
# are 3-6 MB each; about 2 minutes for a whole dist/ on 2 busy cores, 14 s at quality 9, whose
# .br files are 13% larger). -n keeps the name and time stamp out of the gzip header, so the
# output is reproducible.
# shellcheck disable=SC2016 # $1 expands in the inner shell
find "$dir" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \
  -o -name '*.json' -o -name '*.svg' -o -name '*.txt' -o -name '*.yaml' \) -print0 |
  xargs -0 -r -n 1 -P "$(nproc 2>/dev/null || echo 2)" sh -c 'brotli -f -q "$0" -o "$1.br" -- "$1" && gzip -c -n -9 -- "$1" >"$1.gz"' "${PWP_BROTLI_QUALITY:-11}"

count="$(find "$dir" -type f -name '*.br' | wc -l)"
printf 'precompress: %s files in %s have .br and .gz copies\n' "$count" "$dir" >&2
