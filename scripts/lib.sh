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

# Waits until something listens on 127.0.0.1:$1, failing if process $2 exits first.
wait_for_port() {
    local port="$1" pid="$2" tries=0
    until port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the database server exited before listening on $port" >&2
            return 1
        fi
        tries=$((tries + 1))
        if [ "$tries" -gt 600 ]; then
            echo "the database server did not listen on $port within 60 s" >&2
            return 1
        fi
        sleep 0.1
    done
}
