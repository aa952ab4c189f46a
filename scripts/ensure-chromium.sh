#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the dashboard's browser test (Playwright drives
# /usr/bin/chromium; it never downloads a browser of its own). When it cannot be installed the
# test skips and says why.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium not found: installing Debian's chromium" >&2
  (apt-get update -qq || true) >/dev/null
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    echo "chromium could not be installed: the dashboard's browser test will be skipped" >&2
  fi
else
  echo "chromium is missing and cannot be installed automatically (need root + apt-get): the dashboard's browser test will be skipped" >&2
fi
exit 0
