#!/usr/bin/env bash
# `make run`: the service on :8080 in development mode. Without MONGODB_URI, a local
# SecantusDB (secantusd-rs) keeps its data under var/db/ and stops when the service does.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

export ROOKERY_ENV="${ROOKERY_ENV:-development}"
ensure_ffmpeg || true
if [ -z "${MONGODB_URI:-}" ]; then
    db_port="${ROOKERY_DB_PORT:-27017}"
    if port_open "$db_port"; then
        echo "==> using the database already listening on 127.0.0.1:$db_port"
    else
        ensure_secantus
        echo "==> starting SecantusDB on 127.0.0.1:$db_port (data in var/db, log in var/db.log)"
        trap 'kill "$db_pid" 2>/dev/null; wait "$db_pid" 2>/dev/null || true' EXIT
        start_database var/db "$db_port" var/db.log
    fi
    export MONGODB_URI="mongodb://127.0.0.1:$db_port"
fi
# The first build takes about 8 minutes on 2 cores: cargo shows its progress, and a line
# every 8 s says it is still going; later builds take seconds.
if [ ! -x target/release/rookery ]; then
    echo "==> building Rookery (release; the first build takes about 8 minutes on 2 cores)"
fi
with_heartbeat "building Rookery" cargo build --release --bin rookery
./target/release/rookery serve
