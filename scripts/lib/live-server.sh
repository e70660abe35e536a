# Sourced by the scripts that test a live server (api-contract.sh, browser-tests.sh).
# `start_live_server NAME` builds the debug binary and starts `helpcenter serve` on a
# copy of the bundled articles, its own fresh database (helpcenter_NAME_PID, dropped on
# exit), a fresh index and a free port, then waits for /readyz and for the ticket API.
# It sets `bin`, `base`,
# `work` (a scratch folder removed on exit) and exports DATABASE_URL and, for the
# asymmetric path Supabase uses, a fresh ES256 key: JWT_JWKS_FILE (the server verifies
# with it, HS256 refused) and HELPCENTER_TOKEN_KEY (so `$bin token ...` mints ES256
# tokens the server accepts). Extra `serve` options may be given in the array
# LIVE_SERVER_ARGS. Expects `log` to be defined.

start_live_server() {
  local name="$1"
  local target="${CARGO_TARGET_DIR:-target}"
  bash scripts/pg-up.sh >/dev/null
  cargo build --locked --quiet
  bin="$target/debug/helpcenter"
  work="$(mktemp -d)"
  live_database="helpcenter_${name}_$$"
  export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$live_database"
  unset JWT_SECRET
  "$bin" keys generate --out "$work/keys" --kid "$name-key" >/dev/null 2>&1
  export JWT_JWKS_FILE="$work/keys/jwks.json"
  export HELPCENTER_TOKEN_KEY="$work/keys/$name-key.pem"
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  cp -r articles "$work/articles"
  "$bin" serve --articles "$work/articles" --index "$work/index" --bind "127.0.0.1:$port" --no-watch \
    --attachments-dir "$work/attachments" ${LIVE_SERVER_ARGS[@]+"${LIVE_SERVER_ARGS[@]}"} \
    >"$work/server.log" 2>&1 &
  live_server=$!
  trap stop_live_server EXIT
  # /readyz covers the knowledge base, which works without a database; the ticket API
  # answers 503 until its database and key set are ready too (the first requests of
  # s3-attachments.sh once met that 503), so wait for a signed-in request as well.
  local probe
  probe="$("$bin" token --sub "$(python3 -c 'import uuid; print(uuid.uuid4())')" --ttl 1h)"
  for _ in $(seq 1 120); do
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then
      local code
      code="$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $probe" \
        "$base/api/v1/tickets?limit=1" || true)"
      [ "$code" = 200 ] && return 0
    fi
    kill -0 "$live_server" 2>/dev/null || { cat "$work/server.log" >&2; log "the server exited"; exit 1; }
    sleep 0.5
  done
  cat "$work/server.log" >&2
  log "the server never got ready"
  exit 1
}

stop_live_server() {
  kill "$live_server" 2>/dev/null || true
  wait "$live_server" 2>/dev/null || true
  psql -X -q "postgres://postgres:postgres@127.0.0.1:5432/postgres" \
    -c "drop database if exists \"$live_database\" with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
