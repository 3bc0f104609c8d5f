#!/usr/bin/env bash
# `make run`: the service on :8080 in development mode. Without MONGODB_URI, a local
# SecantusDB keeps its data under var/db/ and stops when the service does.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

export ROOKERY_ENV="${ROOKERY_ENV:-development}"
if [ -z "${MONGODB_URI:-}" ]; then
    db_port="${ROOKERY_DB_PORT:-27017}"
    if port_open "$db_port"; then
        echo "==> using the database already listening on 127.0.0.1:$db_port"
    else
        ensure_secantus
        mkdir -p var/db
        echo "==> starting SecantusDB on 127.0.0.1:$db_port (data in var/db, log in var/db.log)"
        "$SECANTUSD" --host 127.0.0.1 --port "$db_port" --storage-path var/db >var/db.log 2>&1 &
        db_pid=$!
        trap 'kill "$db_pid" 2>/dev/null; wait "$db_pid" 2>/dev/null || true' EXIT
        wait_for_port "$db_port" "$db_pid" || { cat var/db.log >&2; exit 1; }
    fi
    export MONGODB_URI="mongodb://127.0.0.1:$db_port"
fi
cargo run --release --quiet -- serve
