#!/usr/bin/env bash
# Attachments on an S3-compatible store, end to end: a live server configured with
# --attachments-s3-bucket and the standard AWS_* variables stores uploads in a bucket
# of moto's S3 server (PyPI `moto[server]`, pinned, installed into the tools' cache
# folder; it speaks the S3 API as AWS, MinIO and Supabase Storage do). A 12 MB file
# goes up in 5 MB parts (S3's multipart upload), is attached to a ticket, comes back
# byte for byte, and lies in the bucket under the service's own key; an upload over
# the limit and a refused type leave nothing in the bucket.
# Usage: bash scripts/s3-attachments.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
tools="${HELPCENTER_TOOLS_DIR:-$HOME/.cache/helpcenter/contract-tools}"
log() { echo "s3-attachments: $*" >&2; }

mkdir -p "$tools"
if [ "$("$tools/moto/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ]; then
  log "installing moto[server] $MOTO_VERSION"
  python3 -m venv "$tools/moto"
  "$tools/moto/bin/pip" install -q "moto[server]==$MOTO_VERSION"
fi

moto_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
s3="http://127.0.0.1:$moto_port"
"$tools/moto/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto=$!
for _ in $(seq 1 60); do curl -fsS "$s3/" >/dev/null 2>&1 && break; sleep 0.25; done
bucket="helpcenter-attachments"
curl -fsS -X PUT "$s3/$bucket" >/dev/null

export AWS_ENDPOINT="$s3" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
LIVE_SERVER_ARGS=(--attachments-s3-bucket "$bucket" --attachment-max-mb 16)
# shellcheck source=scripts/lib/live-server.sh
source scripts/lib/live-server.sh
start_live_server s3
trap 'stop_live_server; kill "$moto" 2>/dev/null || true' EXIT

customer="$(python3 -c 'import uuid; print(uuid.uuid4())')"
token="$("$bin" token --sub "$customer" --email s3@example.com --ttl 1h)"
auth=(-H "Authorization: Bearer $token")
keys() { curl -fsS "$s3/$bucket?list-type=2" | python3 -c '
import re, sys
print("\n".join(re.findall(r"<Key>([^<]+)</Key>", sys.stdin.read())))'; }

# A call to the service: its body on a 2xx status; otherwise the status, the problem+json
# and the end of the server's log, then exit (a bare curl -f said only "503").
api() {
  local out status
  out="$(mktemp)"
  status="$(curl -sS -o "$out" -w '%{http_code}' "$@")"
  if [ "${status:0:1}" != 2 ]; then
    log "HTTP $status from: curl $*"
    cat "$out" >&2
    echo >&2
    tail -n 20 "$work/server.log" >&2
    exit 1
  fi
  cat "$out"
  rm -f "$out"
}

file="$work/screen.png"
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' >"$file"
head -c $((12 * 1024 * 1024)) /dev/urandom >>"$file"
up="$(api "${auth[@]}" -X POST -T "$file" "$base/api/v1/uploads?filename=screen.png")"
read -r upload_token attachment <<<"$(echo "$up" | python3 -c 'import json,sys; u=json.load(sys.stdin); print(u["token"], u["id"])')"
[ "$(keys)" = "attachments/$attachment" ] || { log "the bucket should hold attachments/$attachment, holds: $(keys)"; exit 1; }
ticket="$(api "${auth[@]}" -H 'Content-Type: application/json' \
  -d "{\"subject\": \"S3\", \"body\": \"12 MB\", \"uploads\": [\"$upload_token\"]}" "$base/api/v1/tickets" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
api "${auth[@]}" "$base/api/v1/tickets/$ticket/attachments/$attachment" >"$work/back.png"
cmp -s "$file" "$work/back.png" || { log "the download differs from the upload"; exit 1; }

# Over the limit (no Content-Length: counted while streaming) and a refused type:
# answered, and nothing more in the bucket.
status="$(head -c $((17 * 1024 * 1024)) /dev/zero | cat <(printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR') - \
  | curl -sS -o /dev/null -w '%{http_code}' "${auth[@]}" -H 'Transfer-Encoding: chunked' \
      -X POST --data-binary @- "$base/api/v1/uploads?filename=big.png" || true)"
[ "$status" = "413" ] || { log "an upload over the limit should be 413, got $status"; exit 1; }
status="$(printf '<html><script>alert(1)</script>' | curl -sS -o /dev/null -w '%{http_code}' "${auth[@]}" \
  -X POST --data-binary @- "$base/api/v1/uploads?filename=cat.png")"
[ "$status" = "415" ] || { log "HTML named .png should be 415, got $status"; exit 1; }
[ "$(keys | wc -l)" = "1" ] || { log "refused uploads left objects: $(keys)"; exit 1; }
log "passed: 12 MB up in parts, attached, down byte for byte; 413 and 415 left nothing in the bucket"
