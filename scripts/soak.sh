#!/usr/bin/env bash
# `make soak`: the mixed workload for SOAK_SECONDS (default 600) at SOAK_CONCURRENCY
# (default 64) with random client disconnects, against a release build on a fresh
# SecantusDB; then `rookery check` must find every counter and feed consistent.
# Writes bench/SOAK.md. Rate limiting is off, as for the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_secantus
echo "==> cargo build --release (service and soak driver)"
cargo build --release --quiet --bin rookery --example soak

work="$(mktemp -d -t rookery-soak.XXXXXX)"
db_pid=""
service_pid=""
stop() {
    [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
    [ -n "$db_pid" ] && kill "$db_pid" 2>/dev/null && wait "$db_pid" 2>/dev/null
    rm -rf "$work"
    return 0
}
trap stop EXIT

start_memory_database "$work/db.log"

port="$(free_port)"
password="soak-Pass-$(date +%s)"
export ROOKERY_ENV=development
export MONGODB_URI="mongodb://127.0.0.1:$db_port"
export MONGODB_DATABASE=rookery_soak
export PORT="$port"
export PUBLIC_URL="http://127.0.0.1:$port"
export ROOKERY__EMAIL__MAIL_DIR="$work/mail"
export ROOKERY__AUTH__ACCESS_TOKEN_TTL_SECS=86400
export RATE_LIMIT_ENABLED=false
export RUST_LOG=warn

users=()
for i in $(seq 1 12); do
    users+=("soak_$i")
    ROOKERY_ADMIN_PASSWORD="$password" ./target/release/rookery create-admin \
        --username "soak_$i" --email "soak_$i@example.com" >/dev/null
done
./target/release/rookery serve >"$work/service.log" 2>&1 &
service_pid=$!
wait_for_port "$port" "$service_pid" "the service" || { cat "$work/service.log" >&2; exit 1; }

status=0
./target/release/examples/soak \
    --base-url "http://127.0.0.1:$port" \
    --service-pid "$service_pid" \
    --seconds "${SOAK_SECONDS:-600}" \
    --concurrency "${SOAK_CONCURRENCY:-64}" \
    --users "$(IFS=,; echo "${users[*]}")" \
    --password "$password" \
    --out "${SOAK_OUT:-bench/SOAK.md}" || status=$?

echo "==> rookery check"
check="$(./target/release/rookery check 2>&1)" || status=1
echo "$check"
{
    echo
    echo '`rookery check` afterwards:'
    echo
    echo '```'
    echo "$check"
    echo '```'
} >>"${SOAK_OUT:-bench/SOAK.md}"
if [ "$status" -ne 0 ]; then
    echo "==> the service's log:" >&2
    tail -n 50 "$work/service.log" >&2
fi
exit "$status"
