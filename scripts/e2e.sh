#!/usr/bin/env bash
# `make e2e`: the Postman collection, run by newman (from ./node_modules) top to bottom
# against the real service and a fresh SecantusDB, both started here and stopped after.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_secantus
ensure_node_tools
ensure_python_tool openapi-spec-validator==0.9.0 openapi-spec-validator
python3 postman/build.py --check

echo "==> cargo build"
cargo build --quiet

work="$(mktemp -d -t rookery-e2e.XXXXXX)"
echo "==> openapi-spec-validator: the document of /api/openapi.json"
./target/debug/rookery openapi >"$work/openapi.json"
"$VENV/bin/openapi-spec-validator" "$work/openapi.json"
python3 scripts/api_reference.py "$work/openapi.json" --check

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
admin_password="e2e-Admin-$(date +%s)"
export ROOKERY_ENV=development
export MONGODB_URI="mongodb://127.0.0.1:$db_port"
export MONGODB_DATABASE=rookery_e2e
export PORT="$port"
export PUBLIC_URL="http://127.0.0.1:$port"
export ROOKERY__EMAIL__MAIL_DIR="$work/mail"
export ROOKERY__EMAIL__DEV_OUTBOX=true
export RATE_LIMIT_ENABLED=false
export RUST_LOG="${RUST_LOG:-warn}"

ROOKERY_ADMIN_PASSWORD="$admin_password" ./target/debug/rookery create-admin \
    --username admin --email admin@example.com
./target/debug/rookery serve >"$work/service.log" 2>&1 &
service_pid=$!
wait_for_port "$port" "$service_pid" "the service" || { cat "$work/service.log" >&2; exit 1; }

echo "==> newman: postman/rookery.postman_collection.json against 127.0.0.1:$port"
status=0
node_modules/.bin/newman run postman/rookery.postman_collection.json \
    --environment postman/rookery.postman_environment.json \
    --env-var "base_url=http://127.0.0.1:$port" \
    --env-var "admin_login=admin" \
    --env-var "admin_password=$admin_password" \
    --working-dir postman \
    --reporters cli --color off --disable-unicode || status=$?
if [ "$status" -ne 0 ]; then
    echo "==> the service's log:" >&2
    tail -n 50 "$work/service.log" >&2
fi
exit "$status"
