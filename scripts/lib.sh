# Shared shell helpers for the Makefile's scripts.

VENV="${ROOKERY_VENV:-.venv}"

# The database of `make run`, `make test` and every script: SecantusDB's Rust server,
# `secantusd-rs` from the crate `secantus-mdb` (GPL-2.0-only). It always runs as its own
# process; nothing of it is linked into rookery. Built once into .tools/ (git-ignored).
SECANTUS_RS_VERSION="0.5.3-beta.196"
TOOLS="${ROOKERY_TOOLS:-$PWD/.tools}"
SECANTUSD="$TOOLS/secantus-mdb-$SECANTUS_RS_VERSION/bin/secantusd-rs"

# Builds secantusd-rs into $TOOLS, once (about 10 minutes on 2 cores). Its WiredTiger
# build needs cmake: installed from Debian when missing and we may (root with apt-get),
# else one line says what to install.
# apt-get install, quietly, updating the package lists first if that is what it lacks.
apt_install() {
    apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq "$@" >/dev/null; }
}

# Runs "$@" and, while it runs, prints a line every 8 s, so that a long first step
# (a build, a package install) never looks hung: `with_heartbeat "building x" cmd …`.
with_heartbeat() {
    local what="$1"
    shift
    local started
    started=$(date +%s)
    (
        while sleep 8; do
            echo "    ... still $what ($(($(date +%s) - started)) s so far)"
        done
    ) &
    local ticker=$!
    local rc=0
    "$@" || rc=$?
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
    return "$rc"
}

ensure_secantus() {
    [ -x "$SECANTUSD" ] && return 0
    if ! command -v cmake >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "==> installing cmake (Debian) to build secantusd-rs (about a minute)"
            with_heartbeat "installing cmake" apt_install cmake
        else
            echo "secantusd-rs needs cmake to build: install it (Debian/Ubuntu: sudo apt-get install cmake) and run again" >&2
            return 1
        fi
    fi
    local root="${SECANTUSD%/bin/secantusd-rs}"
    echo "==> building secantusd-rs $SECANTUS_RS_VERSION into $root (once; about 10 minutes on 2 cores)"
    rm -rf "$root.partial"
    with_heartbeat "building secantusd-rs" \
        cargo install secantus-mdb --version "$SECANTUS_RS_VERSION" --locked --ignore-rust-version \
        --root "$root.partial" --target-dir "$TOOLS/build"
    rm -rf "$root" "$TOOLS/build"
    mv "$root.partial" "$root"
}

# FFmpeg (Debian's ffmpeg package) processes uploaded videos. Installed when missing and
# we may (root with apt-get); otherwise a loud message, and ROOKERY_TEST_FFMPEG=0 makes
# the tests that need it skip (only those), saying so.
ensure_ffmpeg() {
    if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
        export ROOKERY_TEST_FFMPEG=1
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing ffmpeg (Debian) to process videos (a minute or two)"
        if with_heartbeat "installing ffmpeg" apt_install ffmpeg; then
            export ROOKERY_TEST_FFMPEG=1
            return 0
        fi
    fi
    echo "!!! FFmpeg is not installed and cannot be installed here (Debian/Ubuntu: sudo apt-get install ffmpeg)." >&2
    echo "!!! The video-processing tests will be SKIPPED; uploaded videos stay 'processing'." >&2
    export ROOKERY_TEST_FFMPEG=0
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits until something listens on 127.0.0.1:$1, failing if process $2 (named $3) exits
# first.
wait_for_port() {
    local port="$1" pid="$2" name="${3:-the database server}" tries=0
    until port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited before listening on $port" >&2
            return 1
        fi
        tries=$((tries + 1))
        if [ "$tries" -gt 600 ]; then
            echo "$name did not listen on $port within 60 s" >&2
            return 1
        fi
        sleep 0.1
    done
}

# Installs the Node tools of package-lock.json into ./node_modules, once.
ensure_node_tools() {
    if [ ! -x node_modules/.bin/newman ] || [ ! -f node_modules/masto/package.json ]; then
        echo "==> installing Node tools (newman, masto) into node_modules"
        npm ci --no-audit --no-fund --loglevel=error
    fi
}

# Installs a pinned Python tool (pip requirement $1, command $2) into the virtualenv, once.
ensure_python_tool() {
    local requirement="$1" command="$2"
    if [ ! -x "$VENV/bin/$command" ]; then
        [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
        echo "==> installing $requirement into $VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "$requirement"
    fi
}

# Starts secantusd-rs on 127.0.0.1:$2 with its data in the folder $1, logging to $3; sets
# db_pid. The caller stops it (kill "$db_pid").
start_database() {
    local storage="$1" port="$2" log="$3"
    mkdir -p "$storage"
    "$SECANTUSD" --host 127.0.0.1 --port "$port" --storage-path "$storage" --log-level WARNING \
        >"$log" 2>&1 &
    db_pid=$!
    wait_for_port "$port" "$db_pid" || { cat "$log" >&2; return 1; }
}

# Starts a throwaway secantusd-rs on a free loopback port, its data in a fresh folder in
# memory (/dev/shm) when there is one, or under $DB_PARENT when set (the benchmarks put it
# on disk, as `make run` does), logging to $1; sets db_port, db_pid and db_storage. The
# caller stops it and removes the folder (stop_throwaway_database).
start_memory_database() {
    local log="$1" parent="${DB_PARENT:-/dev/shm}"
    [ -d "$parent" ] && [ -w "$parent" ] || parent="${TMPDIR:-/tmp}"
    db_storage="$(mktemp -d "$parent/rookery-db.XXXXXX")"
    db_port="$(free_port)"
    start_database "$db_storage" "$db_port" "$log"
}

stop_throwaway_database() {
    [ -n "${db_pid:-}" ] && kill "$db_pid" 2>/dev/null && wait "$db_pid" 2>/dev/null
    [ -n "${db_storage:-}" ] && rm -rf "$db_storage"
    return 0
}

# For the scripts that run the service against a throwaway database (e2e, fuzz, soak,
# bench): makes a work folder, starts secantusd-rs on a throwaway folder, and exports the environment of
# a development service on a free port against it, with rate limiting off and emails as
# files. Sets work, db_port, db_pid and port; everything stops and the folder goes when
# the script exits. $1 names the folder and the database.
prepare_stack() {
    work="$(mktemp -d -t "rookery-$1.XXXXXX")"
    db_pid=""
    service_pid=""
    trap stop_stack EXIT
    start_memory_database "$work/db.log"
    port="$(free_port)"
    export ROOKERY_ENV=development
    export MONGODB_URI="mongodb://127.0.0.1:$db_port"
    export MONGODB_DATABASE="rookery_$1"
    export PORT="$port"
    export PUBLIC_URL="http://127.0.0.1:$port"
    export ROOKERY__EMAIL__MAIL_DIR="$work/mail"
    export RATE_LIMIT_ENABLED=false
    export RUST_LOG="${RUST_LOG:-warn}"
}

stop_stack() {
    [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
    stop_throwaway_database
    rm -rf "$work"
    return 0
}

# Starts the binary $1 as `serve` on the stack's port (service_pid), logging to
# $work/service.log, and waits until it listens.
start_service() {
    "$1" serve >"$work/service.log" 2>&1 &
    service_pid=$!
    wait_for_port "$port" "$service_pid" "the service" || { cat "$work/service.log" >&2; return 1; }
}
