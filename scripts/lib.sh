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
