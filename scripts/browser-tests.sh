#!/usr/bin/env bash
# The pages, end to end in headless Chromium (tests/browser/e2e.mjs, playwright-core):
#   a. search as you type on the home page, by keyboard, to an article and its TOC;
#   b. the search page's facets, and the search form without JavaScript;
#   c. the customer portal: sign-in link, a ticket with suggested articles, a reply,
#      another customer who sees none of it, sign-out;
#   d. screenshots of the home, search, article and portal pages at 390x844 and 1280x800.
# The server runs the bundled articles on its own fresh database. playwright-core is
# installed at the version pinned in tests/browser/package.json into a cache folder
# outside the clone; the browser is Debian's chromium (installed with apt-get when
# missing and we are root).
# Usage: bash scripts/browser-tests.sh
#   SCREENSHOTS_DIR=docs/screenshots bash scripts/browser-tests.sh   refreshes the committed
#   screenshots (default: a temporary folder, kept and printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${HELPCENTER_TOOLS_DIR:-$HOME/.cache/helpcenter/contract-tools}/browser"
target="${CARGO_TARGET_DIR:-target}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
log() { echo "browser-tests: $*" >&2; }

# The browser: Debian's chromium (playwright's own browser downloads are not used).
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -x "$chromium" ]; then
    log "no browser at $chromium: install Debian's chromium (apt-get install chromium, as root) or set CHROMIUM"
    exit 1
  fi
fi
command -v node >/dev/null 2>&1 || { log "node is not installed (it runs tests/browser/e2e.mjs)"; exit 1; }

# playwright-core, pinned, installed once.
PLAYWRIGHT_CORE_VERSION="$(node -p "require('./tests/browser/package.json').dependencies['playwright-core']")"
if ! grep -q "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$tools/node_modules/playwright-core/package.json" 2>/dev/null; then
  log "installing playwright-core $PLAYWRIGHT_CORE_VERSION"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null
fi

bash scripts/pg-up.sh >/dev/null
cargo build --locked --quiet
bin="$target/debug/helpcenter"

# A server of its own: fresh database, fresh index, free port.
work="$(mktemp -d)"
database="helpcenter_browser_$$"
admin_url="postgres://postgres:postgres@127.0.0.1:5432/postgres"
export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$database"
export JWT_SECRET="browser-tests-secret-$$-$RANDOM$RANDOM"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
cp -r articles "$work/articles"
"$bin" serve --articles "$work/articles" --index "$work/index" --bind "127.0.0.1:$port" --no-watch \
  >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql -X -q "$admin_url" -c "drop database if exists \"$database\" with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; log "the server exited"; exit 1; }
  sleep 0.5
done
curl -fsS "$base/readyz" >/dev/null || { cat "$work/server.log" >&2; log "the server never got ready"; exit 1; }

screenshots="${SCREENSHOTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/helpcenter-screenshots.XXXXXX")}"
mkdir -p "$screenshots"
status=0
BASE_URL="$base" HELPCENTER_BIN="$bin" SCREENSHOTS_DIR="$screenshots" CHROMIUM="$chromium" \
  PLAYWRIGHT_CORE="$tools/node_modules/playwright-core" \
  node tests/browser/e2e.mjs || status=$?
if [ "$status" -ne 0 ]; then
  log "failed; the server's log:"
  tail -n 40 "$work/server.log" >&2
  exit "$status"
fi
log "passed; screenshots in $screenshots"
