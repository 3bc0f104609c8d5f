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

port="$(free_port)"
log="$(mktemp -t secantusd.XXXXXX.log)"
"$SECANTUSD" --host 127.0.0.1 --port "$port" --storage-path :memory: --log-level WARNING >"$log" 2>&1 &
db_pid=$!
trap 'kill "$db_pid" 2>/dev/null; wait "$db_pid" 2>/dev/null || true' EXIT
wait_for_port "$port" "$db_pid" || { cat "$log" >&2; exit 1; }

echo "==> cargo test (database on 127.0.0.1:$port)"
ROOKERY_TEST_MONGODB_URI="mongodb://127.0.0.1:$port" \
    cargo test --all-targets -- --test-threads "${TEST_THREADS:-8}"
