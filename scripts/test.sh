#!/usr/bin/env bash
# `make test`: lint, then every test against a real SecantusDB on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_secantus

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings

db_pid=""
trap '[ -n "$db_pid" ] && kill "$db_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
start_memory_database "$(mktemp -t secantusd.XXXXXX.log)"

echo "==> cargo test (database on 127.0.0.1:$db_port)"
ROOKERY_TEST_MONGODB_URI="mongodb://127.0.0.1:$db_port" \
    cargo test --all-targets -- --test-threads "${TEST_THREADS:-8}"
