#!/usr/bin/env bash
# Tests deploy/nginx.conf for real: Debian's nginx with the brotli static module serves a release
# build of the site, precompressed, under the config's sub-path, on 127.0.0.1, and curl checks the
# answers: MIME types, content encodings, cache headers, 404s outside the sub-path, and that every
# URL the page loads resolves.
#
#   bash scripts/test-nginx.sh            build the site for the sub-path (a release build: cargo
#                                         reuses the `trunk` step's, so this is wasm-bindgen and
#                                         wasm-opt again) into a temp dir, then serve it
#   bash scripts/test-nginx.sh DIR        serve DIR, a release build made for that sub-path
#
# Everything lives in one temp dir (the site, pid file, logs, nginx's temp paths), nginx runs in
# the foreground as an unprivileged user (nobody when started as root) on a free port, and it is
# stopped however the script ends. The only changes to the config under test are its `listen`
# and `alias` lines (port and directory); each must match exactly once.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PWP_ROOT"

conf=deploy/nginx.conf
module=/usr/lib/nginx/modules/ngx_http_brotli_static_module.so

for tool in nginx curl brotli gzip node; do
  command -v "$tool" >/dev/null || pwp_die "$tool not found; run scripts/setup.sh"
done
[ -f "$module" ] || pwp_die "$module not found; run scripts/setup.sh (libnginx-mod-http-brotli-static)"

# The sub-path: the path of the config's one `location ^~ /path/ {` line.
subpath="$(sed -n 's|^[[:space:]]*location \^~ \(/[^[:space:]]*/\) {.*$|\1|p' "$conf")"
if [ -z "$subpath" ] || [ "$(wc -l <<<"$subpath")" != 1 ]; then
  pwp_die "$conf must have exactly one 'location ^~ /some/path/ {' line (the sub-path)"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pwp-nginx.XXXXXX")"
nginx_pid=
cleanup() {
  local rc=$?
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$nginx_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$nginx_pid" 2>/dev/null || true
  fi
  [ -z "$nginx_pid" ] || wait "$nginx_pid" 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ -s "$tmp/var/logs/error.log" ]; then
    printf -- '--- nginx error.log (last 20 lines)\n' >&2
    tail -n 20 "$tmp/var/logs/error.log" >&2
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The site: a release build for the sub-path, and its .br/.gz copies.
site="$tmp/site"
if [ $# -gt 0 ]; then
  [ -f "$1/index.html" ] || pwp_die "$1/index.html not found"
  mkdir -p "$site"
  cp -R "$1"/. "$site"/
else
  pwp_say "trunk build --release --public-url $subpath"
  trunk build --release --public-url "$subpath" --dist "$site"
fi
# Brotli quality 5 instead of 11: the same files, 10 times faster (this tests nginx, not ratios).
PWP_BROTLI_QUALITY=5 bash scripts/precompress.sh "$site"

# The config under test, with only its port and directory changed.
port="$(node -e 'const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
replace_once() { # replace_once FILE LITERAL-LINE-PATTERN REPLACEMENT
  local n
  n="$(grep -c -x -- "$2" "$1" || true)"
  [ "$n" = 1 ] || pwp_die "$conf: expected exactly one line matching '$2', found $n"
  local out
  out="$(awk -v pat="^$2\$" -v rep="$3" '$0 ~ pat { print rep; next } { print }' "$1")"
  printf '%s\n' "$out" >"$1"
}
mkdir -p "$tmp/var/logs" "$tmp/var/temp"
cp "$conf" "$tmp/server.conf"
replace_once "$tmp/server.conf" '[[:space:]]*listen 80;' "    listen 127.0.0.1:$port;"
replace_once "$tmp/server.conf" '[[:space:]]*alias /usr/share/nginx/html/;' "        alias $site/;"

# The main context: what the nginx images and Debian's nginx.conf set, with every path in $tmp.
cat >"$tmp/nginx.conf" <<EOF
load_module $module;
worker_processes 1;
pid $tmp/var/nginx.pid;
error_log $tmp/var/logs/error.log warn;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $tmp/var/logs/access.log;
    client_body_temp_path $tmp/var/temp/client_body;
    proxy_temp_path $tmp/var/temp/proxy;
    fastcgi_temp_path $tmp/var/temp/fastcgi;
    uwsgi_temp_path $tmp/var/temp/uwsgi;
    scgi_temp_path $tmp/var/temp/scgi;
    include $tmp/server.conf;
}
EOF

# Unprivileged: as root (CI), drop to nobody, who must be able to read the site and write logs.
run_as=()
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null || pwp_die "setpriv (util-linux) not found"
  run_as=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups --)
  chmod 755 "$tmp"
  chmod -R a+rX "$site"
  chown -R nobody "$tmp/var"
  "${run_as[@]}" test -r "$site/index.html" ||
    pwp_die "nobody cannot read $site/index.html; set TMPDIR to a directory others can enter"
fi
nginx_args=(-p "$tmp/" -e "$tmp/var/logs/error.log" -c "$tmp/nginx.conf")
"${run_as[@]}" nginx -t -q "${nginx_args[@]}"
"${run_as[@]}" nginx "${nginx_args[@]}" -g 'daemon off;' &
nginx_pid=$!

origin="http://127.0.0.1:$port"
ready=0
for _ in $(seq 100); do
  kill -0 "$nginx_pid" 2>/dev/null || pwp_die "nginx exited at start-up"
  if curl -s --noproxy '*' --max-time 2 -o /dev/null "$origin/"; then
    ready=1
    break
  fi
  sleep 0.1
done
[ "$ready" = 1 ] || pwp_die "nginx did not answer on $origin within 10 s"

# fetch PATH [CURL-ARGS...]: GET PATH; sets $status, the headers in $tmp/h, the body in $tmp/b.
fetch() {
  local path=$1
  shift
  : >"$tmp/h"
  status="$(curl -sS --noproxy '*' --max-time 10 -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' "$@" "$origin$path" || true)"
}
# header NAME: the last response's header value ('' when absent).
header() {
  tr -d '\r' <"$tmp/h" | awk -v n="$1" 'BEGIN { n = tolower(n) }
    { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^ +/, "", v); print v } }' | tail -n 1
}
failures=0
check() { # check WHAT ACTUAL OP EXPECTED, OP: = (equal), ~ (contains), !~ (does not contain)
  local ok=0
  case "$3" in
    =) [ "$2" = "$4" ] && ok=1 ;;
    '~') [[ "$2" == *"$4"* ]] && ok=1 ;;
    '!~') [[ "$2" != *"$4"* ]] && ok=1 ;;
  esac
  if [ "$ok" = 1 ]; then
    printf 'ok    %s\n' "$1"
  else
    printf 'FAIL  %s: got "%s", expected %s "%s"\n' "$1" "$2" "$3" "$4"
    failures=$((failures + 1))
  fi
}
same_body() { # same_body WHAT FILE: the last body is FILE's bytes
  if cmp -s "$tmp/b" "$2"; then check "$1" same = same; else check "$1" different = "the bytes of ${2#"$site"/}"; fi
}

pwp_say "nginx $(nginx -v 2>&1 | sed 's|.*/||') serves $site at $origin$subpath"
# The effective uid of nginx's master process (from /proc: minimal images have no ps).
euid="$(awk '/^Uid:/ { print $3 }' "/proc/$nginx_pid/status")"
check "nginx runs unprivileged (effective uid $euid)" "$([ -n "$euid" ] && [ "$euid" != 0 ] && echo yes)" = yes

# The page, and every URL it loads.
fetch "$subpath"
check "GET $subpath: status" "$status" = 200
check "GET $subpath: content-type" "$(header content-type)" '~' text/html
check "GET $subpath: cache-control (revalidate)" "$(header cache-control)" = no-cache
page="$(cat "$tmp/b")"
check "GET $subpath: <base href>" "$page" '~' "<base href=\"$subpath\""
etag="$(header etag)"
fetch "$subpath" -H "if-none-match: $etag"
check "GET $subpath again with its ETag: status (revalidated)" "$status" = 304

mapfile -t urls < <(grep -oE "(href|src)=\"[^\"]*\"|[\"'](/|\./)[^\"' ]+[\"']" <<<"$page" |
  sed -E 's/^(href|src)=//; s/^["'\'']//; s/["'\'']$//' | grep -vE '^(data:|#|https?:)' | sort -u)
wasm=''
js=''
css=''
for url in "${urls[@]}"; do
  case "$url" in /*) ;; *) url="$subpath${url#./}" ;; esac
  check "the page's URL $url is under $subpath" "$url" '~' "$subpath"
  fetch "$url"
  check "GET $url: status" "$status" = 200
  # Trunk's hashed names are immutable; anything else is revalidated, such as wasm-bindgen's
  # snippets/<crate>-<hash>/inline0.js, whose content can change under the same name.
  case "${url#"$subpath"}" in
    pwp-app-*_bg.wasm) wasm=$url ;;
    pwp-app-*.js) js=$url ;;
    styles-*.css) css=$url ;;
    *)
      check "GET $url: cache-control (not a hashed name: revalidate)" "$(header cache-control)" = no-cache
      ;;
  esac
done
check "the page loads a hashed wasm, js and css" "${wasm:+wasm} ${js:+js} ${css:+css}" = "wasm js css"

# The app's wasm: type, encodings, immutable.
if [ -n "$wasm" ]; then
  file="$site/${wasm#"$subpath"}"
  fetch "$wasm"
  check "GET ${wasm##*/}: content-type" "$(header content-type)" = application/wasm
  check "GET ${wasm##*/}: cache-control" "$(header cache-control)" = "public, max-age=31536000, immutable"
  check "GET ${wasm##*/} without accept-encoding: content-encoding" "$(header content-encoding)" = ""
  same_body "GET ${wasm##*/} without accept-encoding: body" "$file"
  fetch "$wasm" -H 'accept-encoding: br'
  check "GET ${wasm##*/} accept-encoding br: content-encoding" "$(header content-encoding)" = br
  check "GET ${wasm##*/} accept-encoding br: vary" "$(header vary)" '~' Accept-Encoding
  check "GET ${wasm##*/} accept-encoding br: content-type" "$(header content-type)" = application/wasm
  same_body "GET ${wasm##*/} accept-encoding br: body" "$file.br"
  fetch "$wasm" -H 'accept-encoding: gzip'
  check "GET ${wasm##*/} accept-encoding gzip: content-encoding" "$(header content-encoding)" = gzip
  same_body "GET ${wasm##*/} accept-encoding gzip: body" "$file.gz"
  fetch "$wasm" -H 'accept-encoding: gzip, deflate, br, zstd'
  check "GET ${wasm##*/} accept-encoding gzip, deflate, br, zstd: content-encoding" "$(header content-encoding)" = br
fi
if [ -n "$js" ]; then
  fetch "$js" -H 'accept-encoding: br'
  check "GET ${js##*/}: content-type" "$(header content-type)" '~' text/javascript
  check "GET ${js##*/}: cache-control" "$(header cache-control)" = "public, max-age=31536000, immutable"
  check "GET ${js##*/}: content-encoding" "$(header content-encoding)" = br
fi
if [ -n "$css" ]; then
  fetch "$css" -H 'accept-encoding: gzip'
  check "GET ${css##*/}: content-type" "$(header content-type)" '~' text/css
  check "GET ${css##*/}: cache-control" "$(header cache-control)" = "public, max-age=31536000, immutable"
  check "GET ${css##*/}: content-encoding" "$(header content-encoding)" = gzip
fi

# index.html and the examples: revalidated, compressed.
fetch "${subpath}index.html" -H 'accept-encoding: br'
check "GET index.html accept-encoding br: content-encoding" "$(header content-encoding)" = br
check "GET index.html: cache-control" "$(header cache-control)" = no-cache
fetch "${subpath}examples/index.json" -H 'accept-encoding: gzip, br'
check "GET examples/index.json: status" "$status" = 200
check "GET examples/index.json: content-type" "$(header content-type)" '~' application/json
check "GET examples/index.json: cache-control" "$(header cache-control)" = no-cache
check "GET examples/index.json: content-encoding" "$(header content-encoding)" = br
plugin="$(find "$site/examples" -maxdepth 1 -name '*.wasm' | sort | head -n 1)"
if [ -n "$plugin" ]; then
  fetch "${subpath}examples/${plugin##*/}" -H 'accept-encoding: gzip'
  check "GET examples/${plugin##*/}: content-type" "$(header content-type)" = application/wasm
  check "GET examples/${plugin##*/}: cache-control" "$(header cache-control)" = no-cache
  check "GET examples/${plugin##*/}: content-encoding" "$(header content-encoding)" = gzip
  same_body "GET examples/${plugin##*/} accept-encoding gzip: body" "$plugin.gz"
else
  check "the site has example plugins" none = "examples/*.wasm"
fi

# Nothing outside the sub-path, nothing that is not there.
for path in / /index.html "/${wasm##*/}" /examples/index.json "${subpath%/}x/" "${subpath}no-such-file.js"; do
  fetch "$path"
  check "GET $path: status" "$status" = 404
done

# deploy/Dockerfile puts the config and dist/ where the config expects them.
check "deploy/Dockerfile copies the config into conf.d" \
  "$(grep -c -x 'COPY deploy/nginx.conf /etc/nginx/conf.d/default.conf' deploy/Dockerfile)" = 1
check "deploy/Dockerfile copies dist/ to the config's alias directory" \
  "$(grep -c -x 'COPY dist/ /usr/share/nginx/html/' deploy/Dockerfile)" = 1

if [ "$failures" -gt 0 ]; then
  pwp_die "$failures nginx check(s) failed ($conf)"
fi
pwp_say "every nginx check passed ($conf under $subpath)"
