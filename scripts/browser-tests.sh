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

# A server of its own: fresh database, fresh index, free port.
# shellcheck source=scripts/lib/live-server.sh
source scripts/lib/live-server.sh
start_live_server browser

screenshots="${SCREENSHOTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/helpcenter-screenshots.XXXXXX")}"
mkdir -p "$screenshots"
# At most 10 minutes in all, whatever hangs (each story also has its own limit).
status=0
BASE_URL="$base" HELPCENTER_BIN="$bin" SCREENSHOTS_DIR="$screenshots" CHROMIUM="$chromium" \
  PLAYWRIGHT_CORE="$tools/node_modules/playwright-core" \
  timeout 600 node tests/browser/e2e.mjs || status=$?
if [ "$status" -ne 0 ]; then
  log "failed; the server's log:"
  tail -n 40 "$work/server.log" >&2
  exit "$status"
fi
log "passed; screenshots in $screenshots"
