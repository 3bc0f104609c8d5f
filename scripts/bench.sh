#!/usr/bin/env bash
# `make bench` / `make bench-quick`: a fresh SecantusDB (secantusd-rs, data on disk as
# with `make run`) and a release build of the service (production bcrypt cost, rate
# limiting off). First examples/bench_api.rs: a data set seeded through the API, every
# row at 16 connections (bench-quick: 100 users; make bench: 1 000 users, 20 000 posts);
# then examples/bench.rs seeds its data straight into a second database, drives the load
# from its own process and writes the results.
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

# The API-seeded table (examples/bench_api.rs) on a database of its own; extra arguments
# go to the driver (`--users 1000` grows the data set through the API).
api_table() {
    local database="$1" out="$2"
    shift 2
    MONGODB_DATABASE="$database" ROOKERY__EMAIL__DEV_OUTBOX=true start_service "${ROOKERY_BIN:-./target/release/rookery}"
    ./target/release/examples/bench_api \
        --base-url "http://127.0.0.1:$port" \
        --service-pid "$service_pid" \
        --db-pid "$db_pid" \
        --mongodb-uri "$MONGODB_URI" \
        --database "$database" \
        --command "$command" \
        --out "$out" \
        ${BENCH_API_ROWS:+--rows "$BENCH_API_ROWS"} \
        "$@"
    kill "$service_pid" && wait "$service_pid" 2>/dev/null || true
    service_pid=""
}

command="make bench"
out="bench/RESULTS.md"
if [ "$scale" = quick ]; then
    # The quick run is a smoke test of the harness; the full run is the record.
    command="make bench-quick"
    out="bench/QUICK.md"
fi
if [ -n "${BENCH_MIXED_ONLY:-}" ]; then
    # BENCH_MIXED_ONLY=1: only the directly seeded part below (the mixed load, RSS).
    :
elif [ "$scale" = quick ]; then
    echo "==> the API-seeded table"
    # BENCH_API_USERS=1000: the grown data set instead (as `make bench` runs it).
    if [ -n "${BENCH_API_USERS:-}" ]; then
        api_table rookery_bench_api_grown "${BENCH_OUT:-$out}" --users "$BENCH_API_USERS"
    else
        api_table rookery_bench_api "${BENCH_OUT:-$out}"
    fi
    # BENCH_API_ONLY=1: only this table (while working on one of its rows);
    # BENCH_API_ROWS=like,comment: only the rows so named, printed, not written
    # (`followers` adds the create latency by follower count).
    [ -n "${BENCH_API_ONLY:-}" ] && exit 0
else
    # Cost flat with size: the same table with ten times the users, posts and follows,
    # grown through the API (about 10 minutes, most of it bcrypt at cost 12).
    echo "==> the API-seeded table, 1 000 users and 20 000 posts"
    api_table rookery_bench_api_grown "${BENCH_OUT:-$out}" --users 1000
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
