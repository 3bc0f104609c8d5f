# Shared shell helpers for the Makefile's scripts.

VENV="${ROOKERY_VENV:-.venv}"
SECANTUSD="$VENV/bin/secantusd-py"
SECANTUS_VERSION="0.7.0b3"

# Installs SecantusDB into the project's own virtualenv, once.
ensure_secantus() {
    if [ ! -x "$SECANTUSD" ]; then
        echo "==> installing SecantusDB $SECANTUS_VERSION into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "SecantusDB==$SECANTUS_VERSION"
    fi
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
    if [ ! -x node_modules/.bin/newman ]; then
        echo "==> installing Node tools (newman) into node_modules"
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

# Starts SecantusDB in memory on a free loopback port, logging to $1; sets db_port and
# db_pid. The caller stops it (kill "$db_pid").
start_memory_database() {
    local log="$1"
    db_port="$(free_port)"
    "$SECANTUSD" --host 127.0.0.1 --port "$db_port" --storage-path :memory: --log-level WARNING \
        >"$log" 2>&1 &
    db_pid=$!
    wait_for_port "$db_port" "$db_pid" || { cat "$log" >&2; return 1; }
}

# For the scripts that run the service against a throwaway database (e2e, fuzz, soak,
# bench): makes a work folder, starts SecantusDB in memory, and exports the environment of
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
    [ -n "$db_pid" ] && kill "$db_pid" 2>/dev/null && wait "$db_pid" 2>/dev/null
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
