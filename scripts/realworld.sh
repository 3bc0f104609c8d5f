#!/usr/bin/env bash
# `make realworld`: the RealWorld (Conduit) API under /realworld/api, checked by newman
# with postman/realworld.postman_collection.json against the real service and a fresh
# SecantusDB, as a RealWorld front end or test suite would use it: accounts sign in right
# after registering (auth.require_email_verification off) and a browser origin is allowed.
# Set REALWORLD_COLLECTION to a RealWorld suite of your own (e.g. the RealWorld project's
# api/Conduit.postman_collection.json) to run that too, with APIURL, USERNAME, EMAIL and
# PASSWORD set as it expects.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_secantus
ensure_node_tools
python3 postman/realworld.py --check

echo "==> cargo build"
cargo build --quiet

prepare_stack realworld
export ROOKERY__AUTH__REQUIRE_EMAIL_VERIFICATION=false
export CORS_ALLOWED_ORIGINS="http://localhost:4100"
start_service ./target/debug/rookery

apiurl="http://127.0.0.1:$port/realworld/api"
password="Conduit-$(date +%s)"
status=0
echo "==> newman: postman/realworld.postman_collection.json against $apiurl"
node_modules/.bin/newman run postman/realworld.postman_collection.json \
    --env-var "APIURL=$apiurl" \
    --env-var "base_url=http://127.0.0.1:$port" \
    --env-var "PASSWORD=$password" \
    --reporters cli --color off --disable-unicode || status=$?
if [ "$status" -eq 0 ] && [ -n "${REALWORLD_COLLECTION:-}" ]; then
    user="u$(date +%s)"
    echo "==> newman: $REALWORLD_COLLECTION against $apiurl"
    node_modules/.bin/newman run "$REALWORLD_COLLECTION" \
        --global-var "APIURL=$apiurl" \
        --global-var "USERNAME=$user" \
        --global-var "EMAIL=$user@example.com" \
        --global-var "PASSWORD=${PASSWORD:-$password}" \
        --reporters cli --color off --disable-unicode || status=$?
fi
if [ "$status" -ne 0 ]; then
    echo "==> the service's log:" >&2
    tail -n 50 "$work/service.log" >&2
fi
exit "$status"
