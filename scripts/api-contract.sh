#!/usr/bin/env bash
# The API contract, checked against a live server (issue 6):
#   1. openapi-typescript (npm) generates TypeScript types from /api/v1/openapi.json,
#      and tsc compiles them;
#   2. schemathesis (PyPI) sends generated requests, once with a customer's token and
#      once with an agent's, and fails on any 5xx or any response that breaks the
#      document (schema, status code, content type).
# The server runs the bundled articles on its own fresh database. The tools are
# installed at pinned versions into a cache folder outside the clone.
# Usage: bash scripts/api-contract.sh   (MAX_EXAMPLES=n for a longer run)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
OPENAPI_TYPESCRIPT_VERSION=7.13.0
TYPESCRIPT_VERSION=5.9.3
tools="${HELPCENTER_TOOLS_DIR:-$HOME/.cache/helpcenter/contract-tools}"
max_examples="${MAX_EXAMPLES:-50}"
log() { echo "api-contract: $*" >&2; }

# The tools, pinned, installed once.
mkdir -p "$tools"
if [ "$("$tools/venv/bin/st" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
if [ ! -x "$tools/npm/node_modules/.bin/openapi-typescript" ] \
  || ! grep -q "\"version\": \"$OPENAPI_TYPESCRIPT_VERSION\"" "$tools/npm/node_modules/openapi-typescript/package.json" \
  || ! grep -q "\"version\": \"$TYPESCRIPT_VERSION\"" "$tools/npm/node_modules/typescript/package.json"; then
  log "installing openapi-typescript $OPENAPI_TYPESCRIPT_VERSION and typescript $TYPESCRIPT_VERSION"
  mkdir -p "$tools/npm"
  npm install --prefix "$tools/npm" --no-audit --no-fund --silent \
    "openapi-typescript@$OPENAPI_TYPESCRIPT_VERSION" "typescript@$TYPESCRIPT_VERSION" >/dev/null
fi

# A server of its own: fresh database, fresh index, free port.
# shellcheck source=scripts/lib/live-server.sh
source scripts/lib/live-server.sh
start_live_server contract

# 1. TypeScript types from the served document, compiled.
curl -fsS "$base/api/v1/openapi.json" -o "$work/openapi.json"
"$tools/npm/node_modules/.bin/openapi-typescript" "$work/openapi.json" -o "$work/api.d.ts" >/dev/null
for name in SearchResults Problem Ticket TicketDetail TimelinePage TicketEvent Rating SatisfactionReport; do
  grep -q "^        $name: " "$work/api.d.ts" || { log "api.d.ts lacks the schema $name"; exit 1; }
done
"$tools/npm/node_modules/.bin/tsc" --noEmit --strict "$work/api.d.ts"
log "openapi-typescript: $(grep -c '' "$work/api.d.ts") lines of types, compiled by tsc"

# 2. schemathesis with a valid token: a customer, then an agent.
token_for() { "$bin" token --sub "$1" --email "$2" --ttl 1h; }
customer="$(python3 -c 'import uuid; print(uuid.uuid4())')"
agent="$(python3 -c 'import uuid; print(uuid.uuid4())')"
customer_token="$(token_for "$customer" customer@example.com)"
agent_token="$(token_for "$agent" agent@example.com)"
# The first request of a user creates their profile; then the agent gets their role.
curl -fsS -H "Authorization: Bearer $customer_token" "$base/api/v1/tickets" >/dev/null
curl -fsS -H "Authorization: Bearer $agent_token" "$base/api/v1/tickets" >/dev/null
"$bin" users set-role "$agent" agent >/dev/null
# A ticket of the customer's, so that the ticket paths meet a real one as well.
curl -fsS -H "Authorization: Bearer $customer_token" -H 'Content-Type: application/json' \
  -d '{"subject": "Cannot download my invoice", "body": "The download button does nothing."}' \
  "$base/api/v1/tickets" >/dev/null

run_schemathesis() {
  local who="$1" token="$2"
  log "schemathesis as the $who ($max_examples examples per operation)"
  # The event stream never ends by design, so it cannot be one request and response;
  # tests/ticket_events.rs covers it over real HTTP.
  # Run from the scratch folder: schemathesis keeps a cache in its working directory.
  (cd "$work" && "$tools/venv/bin/st" run "$base/api/v1/openapi.json" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --exclude-path /api/v1/events \
    --max-examples "$max_examples" \
    --request-timeout 10 \
    --seed 6 \
    --no-color \
    --report junit --report-dir "$work/reports-$who")
}
run_schemathesis customer "$customer_token"
run_schemathesis agent "$agent_token"
log "passed"
