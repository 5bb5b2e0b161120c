#!/usr/bin/env bash
# tools/docker-cluster.sh — a Tessera cluster of containers on this host: 3 masters + 3 replicas.
#
#   tools/docker-cluster.sh up       start the nodes (host networking, one host directory per node as
#                                    /data), wait until each answers, create the cluster with
#                                    `redis-cli --cluster create ... --cluster-replicas 1` unless it
#                                    already exists, wait for cluster_state:ok
#   tools/docker-cluster.sh down     remove the containers (the data directories stay)
#   tools/docker-cluster.sh purge    down, then delete the data directories
#   tools/docker-cluster.sh status   `docker ps` of the nodes and `redis-cli --cluster check`
#
# Environment (defaults in brackets):
#   TESSERA_IMAGE [tessera]          TESSERA_DATA_DIR [/tmp/tessera-docker]  (node N uses DATA_DIR/node-N)
#   TESSERA_FIRST_PORT [6381]        TESSERA_NODES [6]       TESSERA_REPLICAS [1]
#   TESSERA_NAME_PREFIX [tessera-node-]  (containers tessera-node-1 ... tessera-node-6)
#   TESSERA_DOCKER_PRIVILEGED [0]    1 adds --privileged=true (not needed; some runtimes refuse it)
#   TESSERA_SERVER_ARGS []           more server arguments for every node, e.g. "--cluster-node-timeout 5000"
#
# Owns: only the containers and directories named above. Needs redis-cli (Debian's redis-tools) on
# the host and a Docker engine (tools/docker-engine.sh start).
set -euo pipefail

IMAGE="${TESSERA_IMAGE:-tessera}"
DATA_DIR="${TESSERA_DATA_DIR:-/tmp/tessera-docker}"
FIRST_PORT="${TESSERA_FIRST_PORT:-6381}"
NODES="${TESSERA_NODES:-6}"
REPLICAS="${TESSERA_REPLICAS:-1}"
PREFIX="${TESSERA_NAME_PREFIX:-tessera-node-}"
PRIV=()
[ "${TESSERA_DOCKER_PRIVILEGED:-0}" = 1 ] && PRIV=(--privileged=true)
read -r -a EXTRA <<<"${TESSERA_SERVER_ARGS:-}"

say() { echo "docker-cluster: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
port_of() { echo $((FIRST_PORT + $1 - 1)); }

# wait_for SECONDS MESSAGE COMMAND...: retry COMMAND every 0.5 s until it succeeds or time is up.
wait_for() {
  local secs="$1" msg="$2"; shift 2
  local i
  for ((i = 0; i < secs * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "$msg (waited ${secs}s)"
}

cluster_ok() { redis-cli -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }
answers() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }

do_up() {
  command -v redis-cli >/dev/null || die "redis-cli not found: apt-get install redis-tools"
  docker image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE not found: run 'make docker'"
  local n p name addrs=()
  for ((n = 1; n <= NODES; n++)); do
    p="$(port_of "$n")"; name="$PREFIX$n"
    addrs+=("127.0.0.1:$p")
    if [ -n "$(docker ps -q --filter "name=^${name}\$")" ]; then say "$name already running"; continue; fi
    if [ -n "$(docker ps -aq --filter "name=^${name}\$")" ]; then
      say "starting existing $name"; docker start "$name" >/dev/null; continue
    fi
    answers "$p" && die "port $p is taken by another server"
    mkdir -p "$DATA_DIR/node-$n"
    say "$name on port $p, data in $DATA_DIR/node-$n"
    docker run -d --name "$name" --net host "${PRIV[@]}" -v "$DATA_DIR/node-$n:/data" "$IMAGE" \
      --cluster-enabled yes --appendonly yes --port "$p" "${EXTRA[@]}" >/dev/null
  done
  for ((n = 1; n <= NODES; n++)); do
    wait_for 30 "$PREFIX$n does not answer on port $(port_of "$n"); see: docker logs $PREFIX$n" answers "$(port_of "$n")"
  done
  if cluster_ok "$FIRST_PORT"; then
    say "cluster already created"
  else
    say "redis-cli --cluster create ${addrs[*]} --cluster-replicas $REPLICAS"
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$REPLICAS" --cluster-yes
  fi
  for ((n = 1; n <= NODES; n++)); do
    wait_for 60 "node on port $(port_of "$n") never reported cluster_state:ok" cluster_ok "$(port_of "$n")"
  done
  say "cluster is up: redis-cli -c -p $FIRST_PORT"
}

do_down() {
  local n names=()
  for ((n = 1; n <= NODES; n++)); do
    [ -n "$(docker ps -aq --filter "name=^$PREFIX$n\$")" ] && names+=("$PREFIX$n")
  done
  if [ ${#names[@]} -gt 0 ]; then
    docker stop "${names[@]}" >/dev/null
    docker rm "${names[@]}" >/dev/null
    say "removed ${names[*]}"
  fi
}

do_purge() {
  do_down
  local n
  for ((n = 1; n <= NODES; n++)); do rm -rf "${DATA_DIR:?}/node-$n"; done
  say "deleted $DATA_DIR/node-1..$NODES"
}

do_status() {
  docker ps -a --filter "name=^$PREFIX" --format 'table {{.Names}}\t{{.Status}}'
  redis-cli --cluster check "127.0.0.1:$FIRST_PORT"
}

case "${1:-}" in
  up) do_up ;;
  down) do_down ;;
  purge) do_purge ;;
  status) do_status ;;
  *) echo "usage: $0 up|down|purge|status" >&2; exit 2 ;;
esac
