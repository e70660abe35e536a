#!/usr/bin/env bash
# Search throughput over HTTP with insights recording on and off, loaded by wrk (C,
# epoll; Debian's package) instead of an in-process client, so that the load costs
# the two cores as little as a client can: the release build of `helpcenter serve` on
# the docker-docs corpus, twice (recording on and off, each its own index folder), 8
# connections, the committed query list, a new browser session (X-HC-Session) every
# five searches per thread; series off, on, off, on.
#
#   apt-get install wrk && bash benches/insights_wrk.sh     # HC_BENCH_SECONDS (10)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${HC_BENCH_CORPUS_DIR:-../shared/corpora/docker-docs/articles}"
[ -d "$corpus" ] || { echo "insights_wrk: skipped, $corpus is absent"; exit 0; }
command -v wrk >/dev/null || { echo "insights_wrk: needs wrk (apt-get install wrk)"; exit 1; }
seconds="${HC_BENCH_SECONDS:-10}"
bash scripts/pg-up.sh >/dev/null
cargo build --release --locked --quiet --bin helpcenter
bin=target/release/helpcenter
work="$(mktemp -d)"
db="helpcenter_insights_wrk_$$"
export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$db"
export JWT_SECRET="bench-secret-of-at-least-32-bytes-long!!"
cleanup() {
  # The servers start in command substitutions (subshells): their pids are in files.
  for f in "$work"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -X -q "postgres://postgres:postgres@127.0.0.1:5432/postgres" \
    -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start() { # name insights
  local port; port=$(free_port)
  "$bin" serve --articles "$corpus" --index "$work/index-$1" --bind "127.0.0.1:$port" --no-watch \
    --attachments-dir "$work/files-$1" --insights "$2" >"$work/$1.log" 2>&1 &
  echo $! >"$work/$1.pid"
  echo "http://127.0.0.1:$port"
}
on=$(start on on)
off=$(start off off)
for base in "$on" "$off"; do
  for _ in $(seq 1 600); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fsS "$base/readyz" >/dev/null
done

# The query list as request paths, for wrk's Lua.
python3 - "$work/paths.lua" <<'PY'
import sys, urllib.parse
paths = []
for line in open("benches/queries/docker-docs.txt"):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    category = None
    if " | " in line:
        f, line = line.split(" | ", 1)
        category = f.removeprefix("category=")
    q = [("q", line)] + ([("category", category)] if category else [])
    paths.append("/api/v1/search?" + urllib.parse.urlencode(q))
with open(sys.argv[1], "w") as out:
    out.write("paths = {" + ",".join(repr(p).replace("'", '"') for p in paths) + "}\n")
PY
cat >>"$work/paths.lua" <<'LUA'
local counter = 0
local thread_id = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
function request()
  counter = counter + 1
  local session = string.format("wrkbench-%d-%d", thread_id, math.floor(counter / 5))
  return wrk.format("GET", paths[(counter % #paths) + 1], { ["X-HC-Session"] = session })
end
LUA

run() { # label base
  wrk -t2 -c8 -d"${seconds}s" --latency -s "$work/paths.lua" "$2" >"$work/wrk.out"
  local rps p50 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.out")
  echo "| $1 | $rps | $p50 | ${non2xx:-0} |"
}
echo "insights_wrk: docker-docs, 8 connections (wrk -t2 -c8), ${seconds} s a series"
echo "| recording | searches/s | p50 | non-2xx |"
echo "| --- | --- | --- | --- |"
run off "$off"; run on "$on"; run off "$off"; run on "$on"
status=$(curl -fsS "$on/api/v1/insights/status")
echo "recorder (on): $status"
