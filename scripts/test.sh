#!/usr/bin/env bash
# Runs every test: the suite (in parallel, each test on its own database, index and
# port), then the PostgreSQL restart test alone, because it restarts the whole cluster
# under the tests beside it. Postgres is started first and again afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/pg-up.sh
cargo test --locked
cargo test --locked --test postgres_restart -- --ignored
bash scripts/pg-up.sh >/dev/null
