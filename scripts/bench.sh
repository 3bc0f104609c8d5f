#!/usr/bin/env bash
# `make bench` / `make bench-quick`: a fresh SecantusDB and a release build of the service
# (production bcrypt cost, rate limiting off), then examples/bench.rs seeds the data and
# drives the load from its own process and writes bench/RESULTS.md.
#   scripts/bench.sh [quick|full] [extra bench arguments, e.g. --posts 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scale="${1:-full}"
shift || true
ensure_secantus

echo "==> cargo build --release (service and bench driver)"
cargo build --release --quiet --bin rookery --example bench

prepare_stack bench
export ROOKERY__EMAIL__DEV_OUTBOX=false
export ROOKERY__SERVER__DEBUG_HEADERS=true
export ROOKERY__DATABASE__TIMEOUT_SECS=30
export BCRYPT_COST=12
# Seeding a full data set takes longer than an access token's 15 minutes.
export ROOKERY__AUTH__ACCESS_TOKEN_TTL_SECS=86400
start_service ./target/release/rookery

command="make bench"
out="bench/RESULTS.md"
if [ "$scale" = quick ]; then
    # The quick run is a smoke test of the harness; the full run is the record.
    command="make bench-quick"
    out="bench/QUICK.md"
fi
./target/release/examples/bench \
    --base-url "http://127.0.0.1:$port" \
    --mongodb-uri "mongodb://127.0.0.1:$db_port" \
    --database rookery_bench \
    --service-pid "$service_pid" \
    --scale "$scale" \
    --command "$command" \
    --out "${BENCH_OUT:-$out}" \
    "$@"
