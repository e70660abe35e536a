#!/usr/bin/env bash
# Runs every test: the suite (in parallel, each test on its own database, index and
# port), then the PostgreSQL restart test alone, because it restarts the whole cluster
# under the tests beside it, then the API contract against a live server
# (openapi-typescript and schemathesis, scripts/api-contract.sh), then the pages in
# headless Chromium (scripts/browser-tests.sh). Postgres is started first and again
# after the restart test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/pg-up.sh
cargo test --locked
cargo test --locked --test postgres_restart -- --ignored
bash scripts/pg-up.sh >/dev/null
bash scripts/api-contract.sh
bash scripts/browser-tests.sh
