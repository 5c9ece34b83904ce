#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the end-to-end
# tests (test/e2e, driven by playwright-core; no browser download), with a
# colour emoji font so reactions show in screenshots.
set -euo pipefail

if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "emoji"; then
  echo "Chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
  exit 0
fi
echo "installing Chromium"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji
echo "Chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
