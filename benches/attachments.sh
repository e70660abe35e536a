#!/usr/bin/env bash
# Attachments over HTTP: a 20 MB upload and its download through the release build of
# `helpcenter serve` (local store), against the disk's own speed for the same file, and
# the server's memory while the bytes stream (the kernel's peak resident set, VmHWM,
# reset before each transfer: its growth over the idle server is what streaming costs).
#
#   bash benches/attachments.sh          # prints one table; about a minute
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/pg-up.sh >/dev/null
cargo build --release --locked --quiet --bin helpcenter
bin=target/release/helpcenter
work="$(mktemp -d)"
db="helpcenter_attachments_bench_$$"
export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$db"
export JWT_SECRET="bench-secret-of-at-least-32-bytes-long!!"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
mkdir -p "$work/articles"
"$bin" serve --articles "$work/articles" --index "$work/index" --bind "127.0.0.1:$port" --no-watch \
  --attachments-dir "$work/attachments" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql -X -q "postgres://postgres:postgres@127.0.0.1:5432/postgres" \
    -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
sub="$(python3 -c 'import uuid; print(uuid.uuid4())')"
token="$("$bin" token --sub "$sub" --email bench@example.com --ttl 1h)"
for _ in $(seq 1 120); do
  curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/tickets" >/dev/null 2>&1 && break
  sleep 0.5
done

# 20 MB: a PNG's signature, then random bytes (nothing compresses it on the way).
file="$work/screen.png"
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' >"$file"
head -c $((20 * 1024 * 1024 - 16)) /dev/urandom >>"$file"
size=$(stat -c %s "$file")

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
# The kernel's peak resident set since the last reset (writing 5 to clear_refs resets
# it to the current resident set): every byte the transfer made resident counts.
peak_kb() { awk '/^VmHWM/ {print $2}' "/proc/$server/status"; }
reset_peak() { echo 5 >"/proc/$server/clear_refs"; }

# Warm-up: one small upload, so lazily allocated pools are in place before measuring.
curl -fsS -H "Authorization: Bearer $token" --data-binary @<(head -c 4096 "$file") \
  "$base/api/v1/uploads?filename=warm.png" >/dev/null
sync
idle_up=$(rss_kb)

reset_peak
up=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
  -X POST -T "$file" -w '\n%{time_total} %{speed_upload}' "$base/api/v1/uploads?filename=screen.png")
upload_token=$(echo "$up" | head -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
read -r up_s up_bps <<<"$(echo "$up" | tail -1)"
up_peak=$(peak_kb)

ticket=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"subject\": \"Bench\", \"body\": \"20 MB\", \"uploads\": [\"$upload_token\"]}" "$base/api/v1/tickets" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
attachment=$(curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/tickets/$ticket/timeline" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["attachments"][0]["id"])')

idle_down=$(rss_kb)
reset_peak
read -r down_s down_bps <<<"$(curl -fsS -H "Authorization: Bearer $token" -o "$work/back.png" \
  -w '%{time_total} %{speed_download}' "$base/api/v1/tickets/$ticket/attachments/$attachment")"
down_peak=$(peak_kb)
cmp -s "$file" "$work/back.png" || { echo "the download differs from the upload" >&2; exit 1; }

# The disk's own speed for the same bytes: a copy onto the store's file system, synced.
disk=$( { /usr/bin/time -f '%e' sh -c "cp '$file' '$work/copy.png' && sync '$work/copy.png'"; } 2>&1 )

mb() { python3 -c "print(f'{$1 / 1048576:.0f}')"; }
echo "| 20 MB file ($size bytes) | seconds | MB/s | server RSS peak − idle |"
echo "| --- | --- | --- | --- |"
echo "| upload (POST /api/v1/uploads, curl -T) | $up_s | $(mb "$up_bps") | $(( (up_peak - idle_up) / 1024 )) MB ($((up_peak - idle_up)) KB) |"
echo "| download (GET …/attachments/{id}) | $down_s | $(mb "$down_bps") | $(( (down_peak - idle_down) / 1024 )) MB ($((down_peak - idle_down)) KB) |"
echo "| disk: cp + sync of the same file | $disk | $(python3 -c "print(f'{$size / 1048576 / max($disk, 0.001):.0f}')") | — |"
echo "idle server RSS: $((idle_up / 1024)) MB"
