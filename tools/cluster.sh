#!/usr/bin/env bash
# tools/cluster.sh — a local Tessera cluster for trying things out: 3 masters + 3 replicas
# on 127.0.0.1:7001-7006 (bus ports 17001-17006), one directory per node.
#
#   tools/cluster.sh up       build (unless NO_BUILD=1), start the six nodes, and join them with
#                             `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`
#                             (nodes restarted from their nodes.conf rejoin without a create)
#   tools/cluster.sh status   each node's pid, role and cluster_state, then `--cluster check`
#   tools/cluster.sh down     stop the nodes by pidfile (SIGTERM, SIGKILL after 10 s)
#   tools/cluster.sh clean    down, then remove the data directory
#
# Environment: CLUSTER_DATA (default ./cluster-data), BASE_PORT (7000: nodes BASE_PORT+1..+N),
# NODES (6), REPLICAS (1), TESSERA_BIN (src/tessera-server), CLUSTER_EXTRA_ARGS (added to every
# node's command line, e.g. "--appendonly yes --cluster-node-timeout 5000").
# Every wait has a deadline; only processes named in our pidfiles are signalled.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${CLUSTER_DATA:-$ROOT/cluster-data}"
BASE_PORT="${BASE_PORT:-7000}"
NODES="${NODES:-6}"
REPLICAS="${REPLICAS:-1}"
BIN="${TESSERA_BIN:-$ROOT/src/tessera-server}"
EXTRA="${CLUSTER_EXTRA_ARGS:-}"

ports() { seq $((BASE_PORT + 1)) $((BASE_PORT + NODES)); }
node_dir() { echo "$DATA/$1"; }
pidfile() { echo "$DATA/$1/tessera.pid"; }

# pid of the node on port $1 if it is running, else nothing.
node_pid() {
    local f pid
    f="$(pidfile "$1")"
    [ -f "$f" ] || return 0
    pid="$(cat "$f" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

# wait_until <seconds> <description> <command...>: poll every 0.2 s until the command succeeds.
wait_until() {
    local secs="$1" what="$2"
    shift 2
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$end" ]; then
            echo "cluster.sh: timed out after ${secs}s waiting for $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

answers_ping() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = "PONG" ]; }
state_ok() { redis-cli -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }
known_nodes() { redis-cli -p "$1" cluster info 2>/dev/null | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p'; }

start_node() {
    local port="$1" dir
    dir="$(node_dir "$port")"
    mkdir -p "$dir"
    if [ -n "$(node_pid "$port")" ]; then
        echo "node $port already running (pid $(node_pid "$port"))"
        return 0
    fi
    # shellcheck disable=SC2086
    "$BIN" --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
        --dir "$dir" --daemonize yes --pidfile "$(pidfile "$port")" --logfile "$dir/tessera.log" \
        $EXTRA
    if ! wait_until 10 "node $port to answer PING" answers_ping "$port"; then
        echo "--- $dir/tessera.log" >&2
        tail -n 20 "$dir/tessera.log" >&2 || true
        return 1
    fi
    echo "node $port started (pid $(node_pid "$port"), dir $dir)"
}

cmd_up() {
    command -v redis-cli >/dev/null || { echo "cluster.sh: redis-cli not found (apt-get install redis-tools)" >&2; exit 1; }
    if [ "${NO_BUILD:-0}" != "1" ]; then
        make -C "$ROOT" >/dev/null
    fi
    [ -x "$BIN" ] || { echo "cluster.sh: $BIN not found; run make" >&2; exit 1; }
    mkdir -p "$DATA"
    for p in $(ports); do start_node "$p"; done
    local first=$((BASE_PORT + 1))
    if [ "$(known_nodes "$first")" = "$NODES" ]; then
        echo "the nodes already know each other (restarted from nodes.conf): no create needed"
    else
        local addrs=()
        for p in $(ports); do addrs+=("127.0.0.1:$p"); done
        redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$REPLICAS" --cluster-yes
    fi
    wait_until 30 "cluster_state:ok on every node" all_ok
    echo "cluster is up: redis-cli -c -p $first"
}

all_ok() {
    for p in $(ports); do state_ok "$p" || return 1; done
}

cmd_status() {
    local first=$((BASE_PORT + 1)) running=0
    for p in $(ports); do
        local pid role state
        pid="$(node_pid "$p")"
        if [ -z "$pid" ]; then
            printf '127.0.0.1:%s  not running\n' "$p"
            continue
        fi
        running=$((running + 1))
        role="$(redis-cli -p "$p" cluster nodes 2>/dev/null | awk '$3 ~ /myself/ {sub("myself,", "", $3); print $3}')"
        state="$(redis-cli -p "$p" cluster info 2>/dev/null | sed -n 's/^cluster_state:\(.*\)\r\{0,1\}$/\1/p' | tr -d '\r')"
        printf '127.0.0.1:%s  pid %-7s %-8s cluster_state:%s\n' "$p" "$pid" "$role" "$state"
    done
    if [ "$running" -gt 0 ]; then
        local p
        for p in $(ports); do
            if [ -n "$(node_pid "$p")" ]; then
                redis-cli --cluster check "127.0.0.1:$p" || true
                break
            fi
        done
    fi
}

cmd_down() {
    local pids=()
    for p in $(ports); do
        local pid
        pid="$(node_pid "$p")"
        if [ -n "$pid" ]; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    local end=$((SECONDS + 10))
    for pid in "${pids[@]+"${pids[@]}"}"; do
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$SECONDS" -ge "$end" ]; then
                echo "pid $pid did not stop within 10s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
    done
    echo "stopped ${#pids[@]} node(s)"
}

case "${1:-}" in
up) cmd_up ;;
status) cmd_status ;;
down) cmd_down ;;
clean)
    cmd_down
    rm -rf -- "$DATA"
    echo "removed $DATA"
    ;;
*)
    echo "usage: $0 up|status|down|clean" >&2
    exit 2
    ;;
esac
