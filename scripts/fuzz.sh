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

prepare_stack fuzz
admin_password="fuzz-Admin-$(date +%s)"
# The fuzzer tries logins by the hundred; hashing strength is not what it tests.
export BCRYPT_COST=4
export ROOKERY__AUTH__ACCESS_TOKEN_TTL_SECS=86400
# It reads notifications by the hundred too: a read limit of 20 a second still answers
# some with 429 (documented) without making the run wait minutes for its turns.
export ROOKERY__RATE_LIMIT__NOTIFICATION_READS_PER_SEC=20

ROOKERY_ADMIN_PASSWORD="$admin_password" ./target/debug/rookery create-admin \
    --username fuzzadmin --email fuzz@example.com
start_service ./target/debug/rookery

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
    --exclude-path-regex '^/api/(auth/(logout|logout-all|password/change)|notifications/ws|activity/ws|v1/streaming|activity-log|users/\{user\}/(role|status))$' \
    --no-color || status=$?
if [ "$status" -ne 0 ]; then
    echo "==> the service's log:" >&2
    tail -n 50 "$work/service.log" >&2
fi
exit "$status"
