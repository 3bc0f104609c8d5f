#!/usr/bin/env bash
# `make e2e`: the Postman collection, run by newman (from ./node_modules) top to bottom,
# the README's tour and the masto.js check of the Mastodon API, against the real service
# and a fresh SecantusDB, both started here and stopped after.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_secantus
ensure_node_tools
ensure_python_tool openapi-spec-validator==0.9.0 openapi-spec-validator
python3 postman/build.py --check
echo "==> docs: every link in README.md and docs/ resolves"
python3 scripts/docs_check.py
python3 scripts/config_doc.py --check

echo "==> cargo build"
cargo build --quiet

prepare_stack e2e
echo "==> openapi-spec-validator: the document of /api/openapi.json"
./target/debug/rookery openapi >"$work/openapi.json"
"$VENV/bin/openapi-spec-validator" "$work/openapi.json"
python3 scripts/api_reference.py "$work/openapi.json" --check

admin_password="e2e-Admin-$(date +%s)"
export ROOKERY__EMAIL__DEV_OUTBOX=true

ROOKERY_ADMIN_PASSWORD="$admin_password" ./target/debug/rookery create-admin \
    --username admin --email admin@example.com
start_service ./target/debug/rookery

# The README's tour, as a reader pastes it: its last answer, the feed (the only one with
# `results`), shows the post.
echo "==> the README's tour, as pasted, against 127.0.0.1:$port"
python3 scripts/docs_check.py --tour >"$work/tour.sh"
ROOKERY="http://127.0.0.1:$port" bash -e "$work/tour.sh" >"$work/tour.out"
if ! grep -qE '"results":\[\{.*"content":"Hello from the tour #rookery"' "$work/tour.out"; then
    echo "the tour's feed does not show its post:" >&2
    cat "$work/tour.out" >&2
    exit 1
fi

# The Mastodon API as masto.js (a Mastodon client library) drives it: OAuth through the
# authorization page's forms, PKCE, the account, revocation.
echo "==> masto.js: scripts/mastodon_check.mjs against 127.0.0.1:$port"
if ! node scripts/mastodon_check.mjs "http://127.0.0.1:$port"; then
    echo "==> the service's log:" >&2
    tail -n 50 "$work/service.log" >&2
    exit 1
fi

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
