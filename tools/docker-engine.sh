#!/usr/bin/env bash
# tools/docker-engine.sh — make sure a Docker engine answers, or say loudly why not.
#
#   tools/docker-engine.sh start    engine already up: nothing to do. Otherwise install Debian's
#                                   docker.io when dockerd is missing (root only), start dockerd in
#                                   the background, record its pid, wait until `docker info` answers.
#   tools/docker-engine.sh stop     stop the dockerd THIS script started (by its pidfile), nothing else.
#   tools/docker-engine.sh status   exit 0 when the engine answers.
#
# Owns: the pidfile and log of the dockerd it starts. Must not: kill a dockerd it did not start,
# change the configuration of an engine that was already running.
# Environment: TESSERA_DOCKERD_PIDFILE (default /tmp/tessera-dockerd.pid),
#              TESSERA_DOCKERD_LOG (default /tmp/tessera-dockerd.log),
#              TESSERA_DOCKERD_WAIT seconds to wait for the engine (default 60).
set -euo pipefail

PIDFILE="${TESSERA_DOCKERD_PIDFILE:-/tmp/tessera-dockerd.pid}"
LOG="${TESSERA_DOCKERD_LOG:-/tmp/tessera-dockerd.log}"
WAIT="${TESSERA_DOCKERD_WAIT:-60}"

say() { echo "docker-engine: $*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

install_engine() {
  if command -v dockerd >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    say "dockerd is not installed and we are not root: install Debian's docker.io package"
    return 1
  fi
  say "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
}

do_start() {
  if engine_up; then return 0; fi
  install_engine
  if ! command -v docker >/dev/null 2>&1; then
    say "no docker client on PATH"; return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    say "no Docker engine answers and only root can start dockerd here"; return 1
  fi
  if [ -f "$PIDFILE" ] && [ "$(cat "/proc/$(cat "$PIDFILE")/comm" 2>/dev/null)" = dockerd ]; then
    say "FAILED: dockerd $(cat "$PIDFILE") (ours) is running but does not answer; see $LOG"; return 1
  fi
  say "starting dockerd (log: $LOG, pidfile: $PIDFILE)"
  # Detached from our stdin/stdout so callers (make, pytest) do not wait on it.
  setsid dockerd </dev/null >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  local i
  for ((i = 0; i < WAIT * 2; i++)); do
    if engine_up; then say "engine is up (dockerd pid $(cat "$PIDFILE"))"; return 0; fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then break; fi
    sleep 0.5
  done
  say "FAILED: no Docker engine after ${WAIT}s; last lines of $LOG:"
  tail -n 25 "$LOG" >&2 || true
  return 1
}

do_stop() {
  [ -f "$PIDFILE" ] || { say "no pidfile $PIDFILE: not stopping anything"; return 0; }
  local pid; pid="$(cat "$PIDFILE")"
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "dockerd" ]; then
    say "pid $pid is not a dockerd any more: nothing to stop"; rm -f "$PIDFILE"; return 0
  fi
  kill -TERM "$pid"
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; say "dockerd $pid stopped"; return 0; }
    sleep 0.5
  done
  say "dockerd $pid did not stop within 30s"; return 1
}

case "${1:-start}" in
  start) do_start ;;
  stop) do_stop ;;
  status) engine_up ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
