#!/usr/bin/env bash
# `make bench` / `make bench-quick`: a fresh SecantusDB (secantusd-rs, data on disk as
# with `make run`) and a release build of the service (production bcrypt cost, rate
# limiting off). bench-quick first runs examples/bench_api.rs (a data set seeded through
# the API, six requests at 16 connections); then examples/bench.rs seeds its data straight
# into a second database, drives the load from its own process and writes the results.
#   scripts/bench.sh [quick|full] [extra bench arguments, e.g. --posts 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scale="${1:-full}"
shift || true
ensure_secantus

echo "==> cargo build --release (service and bench driver)"
cargo build --release --quiet --bin rookery --example bench --example bench_api

DB_PARENT="${TMPDIR:-/tmp}" prepare_stack bench
export ROOKERY__EMAIL__DEV_OUTBOX=false
export ROOKERY__SERVER__DEBUG_HEADERS=true
export ROOKERY__DATABASE__TIMEOUT_SECS=30
export BCRYPT_COST=12
# Seeding a full data set takes longer than an access token's 15 minutes.
export ROOKERY__AUTH__ACCESS_TOKEN_TTL_SECS=86400

command="make bench"
out="bench/RESULTS.md"
if [ "$scale" = quick ]; then
    # The quick run is a smoke test of the harness; the full run is the record.
    command="make bench-quick"
    out="bench/QUICK.md"
    echo "==> the API-seeded table"
    MONGODB_DATABASE=rookery_bench_api ROOKERY__EMAIL__DEV_OUTBOX=true start_service "${ROOKERY_BIN:-./target/release/rookery}"
    ./target/release/examples/bench_api \
        --base-url "http://127.0.0.1:$port" \
        --service-pid "$service_pid" \
        --db-pid "$db_pid" \
        --mongodb-uri "$MONGODB_URI" \
        --database rookery_bench_api \
        --command "$command" \
        --out "${BENCH_OUT:-$out}"
    kill "$service_pid" && wait "$service_pid" 2>/dev/null || true
    service_pid=""
    # BENCH_API_ONLY=1: only this table (while working on one of its rows).
    [ -n "${BENCH_API_ONLY:-}" ] && exit 0
fi
# This harness's targets count commands per request, so its service monitors them (the
# shipped default does not: it costs 20-30 % of the service's CPU).
export ROOKERY__DATABASE__COMMAND_MONITORING=true
start_service "${ROOKERY_BIN:-./target/release/rookery}"
./target/release/examples/bench \
    --db-pid "$db_pid" \
    --base-url "http://127.0.0.1:$port" \
    --mongodb-uri "mongodb://127.0.0.1:$db_port" \
    --database rookery_bench \
    --service-pid "$service_pid" \
    --scale "$scale" \
    --command "$command" \
    --out "${BENCH_OUT:-$out}" \
    "$@"
