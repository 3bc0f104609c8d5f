#!/usr/bin/env bash
# `make fuzz`: schemathesis (PyPI) against the live /api/openapi.json, signed in as an
# admin, for a bounded number of examples per operation. It fails on any 5xx, and on any
# answer whose status, content type, headers or body the document does not describe.
#   FUZZ_EXAMPLES (default 25) examples per operation; FUZZ_SECONDS (default 900) in all.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_secantus
ensure_python_tool schemathesis==4.32.5 schemathesis

echo "==> cargo build"
cargo build --quiet

work="$(mktemp -d -t rookery-fuzz.XXXXXX)"
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
admin_password="fuzz-Admin-$(date +%s)"
export ROOKERY_ENV=development
export MONGODB_URI="mongodb://127.0.0.1:$db_port"
export MONGODB_DATABASE=rookery_fuzz
export PORT="$port"
export PUBLIC_URL="http://127.0.0.1:$port"
export ROOKERY__EMAIL__MAIL_DIR="$work/mail"
export RATE_LIMIT_ENABLED=false
# The fuzzer tries logins by the hundred; hashing strength is not what it tests.
export BCRYPT_COST=4
export ROOKERY__AUTH__ACCESS_TOKEN_TTL_SECS=86400
export RUST_LOG="${RUST_LOG:-warn}"

ROOKERY_ADMIN_PASSWORD="$admin_password" ./target/debug/rookery create-admin \
    --username fuzzadmin --email fuzz@example.com
./target/debug/rookery serve >"$work/service.log" 2>&1 &
service_pid=$!
wait_for_port "$port" "$service_pid" "the service" || { cat "$work/service.log" >&2; exit 1; }

access="$(python3 - "$port" "$admin_password" <<'PY'
import json, sys, urllib.request
port, password = sys.argv[1], sys.argv[2]
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/api/auth/login",
    data=json.dumps({"login": "fuzzadmin", "password": password}).encode(),
    headers={"Content-Type": "application/json"},
)
print(json.load(urllib.request.urlopen(request))["access"])
PY
)"

echo "==> schemathesis against http://127.0.0.1:$port/api/openapi.json"
status=0
# Left out: what would end the fuzzer's own session or account (logout, password
# change, role and status changes) and the WebSocket upgrades, which are not HTTP
# request/response operations.
timeout "${FUZZ_SECONDS:-900}" "$VENV/bin/schemathesis" run \
    "http://127.0.0.1:$port/api/openapi.json" \
    --header "Authorization: Bearer $access" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "${FUZZ_EXAMPLES:-25}" \
    --seed "${FUZZ_SEED:-20261201}" \
    --workers 2 \
    --request-timeout 10 \
    --generation-allow-x00 false \
    --exclude-path-regex '^/api/(auth/(logout|logout-all|password/change)|notifications/ws|activity/ws|activity-log|users/\{user\}/(role|status))$' \
    --no-color || status=$?
if [ "$status" -ne 0 ]; then
    echo "==> the service's log:" >&2
    tail -n 50 "$work/service.log" >&2
fi
exit "$status"
