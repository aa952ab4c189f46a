#!/usr/bin/env bash
# Makes sure a redis-server binary exists (Debian package) so the shared-store tests run
# against a real Redis. The tests start and stop their own server on a free loopback port.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found: installing Debian's redis-server" >&2
  (apt-get update -qq || true) >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
else
  echo "redis-server is missing and cannot be installed automatically (need root + apt-get)." >&2
  exit 1
fi
