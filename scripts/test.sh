#!/usr/bin/env bash
# Runs every test: the suite (in parallel, each test on its own database, index and
# port), then the PostgreSQL restart test alone, because it restarts the whole cluster
# under the tests beside it, then builds the benches, then the API contract against a
# live server (openapi-typescript and schemathesis, scripts/api-contract.sh), then the
# pages in headless Chromium (scripts/browser-tests.sh). Postgres is started first and
# again after the restart test.
#
# A test that cannot check its claim here (a shared corpus under ../shared/corpora
# absent, a PostgreSQL without TLS) reports `ok` to cargo, so it records itself in
# HELPCENTER_SKIP_LOG and one line after the suite lists every such skip. In CI (CI
# set) or with HELPCENTER_REQUIRE_CORPORA=1 a missing corpus fails its test instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/pg-up.sh

skip_log="$(mktemp "${TMPDIR:-/tmp}/helpcenter-skips.XXXXXX")"
trap 'rm -f "$skip_log"' EXIT
export HELPCENTER_SKIP_LOG="$skip_log"
cargo test --locked
cargo test --locked --test postgres_restart -- --ignored
if [ -s "$skip_log" ]; then
  echo "skipped, not passed ($(wc -l <"$skip_log") tests): $(sort "$skip_log" | paste -sd ';' - | sed 's/;/; /g')"
else
  echo "skipped: none"
fi

# The benches are not run here (they take minutes and need the corpora), but they must
# keep compiling: `cargo test` does not build them. `cargo build --benches` builds them
# with the dev profile, on the dependencies the suite built and the dev library the
# live server below needs anyway: measured on the 2-core machine, 7 s more. `cargo
# bench --no-run` would build everything again optimized (the bench profile): 681 s
# more from a cold target folder, for no extra check.
cargo build --locked --benches

bash scripts/pg-up.sh >/dev/null
bash scripts/api-contract.sh
bash scripts/s3-attachments.sh
bash scripts/browser-tests.sh
