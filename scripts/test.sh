#!/usr/bin/env bash
# `make test`: lint, then every test against a real database server (secantusd-rs) on a
# free loopback port, its data in a throwaway folder.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_secantus
ensure_ffmpeg

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings

db_pid=""
db_storage=""
trap 'stop_throwaway_database; wait 2>/dev/null || true' EXIT
start_memory_database "$(mktemp -t secantusd.XXXXXX.log)"

echo "==> cargo test (database on 127.0.0.1:$db_port)"
ROOKERY_TEST_MONGODB_URI="mongodb://127.0.0.1:$db_port" \
    cargo test --all-targets -- --test-threads "${TEST_THREADS:-8}"
