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

prepare_stack soak
password="soak-Pass-$(date +%s)"
export ROOKERY__AUTH__ACCESS_TOKEN_TTL_SECS=86400

users=()
for i in $(seq 1 12); do
    users+=("soak_$i")
    ROOKERY_ADMIN_PASSWORD="$password" ./target/release/rookery create-admin \
        --username "soak_$i" --email "soak_$i@example.com" >/dev/null
done
start_service ./target/release/rookery

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
