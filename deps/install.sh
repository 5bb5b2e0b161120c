#!/usr/bin/env bash
# Installs, idempotently, the Debian packages that building and testing Tessera need.
# Safe to run again: packages already present are skipped and apt is not touched.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-rt-14-dev
  libuv1-dev libjemalloc-dev libxxhash-dev libcmocka-dev
  redis-tools redis-server
  python3 python3-redis python3-pytest
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian's redis-server package starts a system service on port 6379; tests never
# use it and start their own reference processes, so keep it out of the way.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
  $SUDO systemctl disable redis-server || true
fi
echo "deps: done"
