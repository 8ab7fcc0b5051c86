#!/usr/bin/env bash
# Install the test dependencies (a real Chromium included) and run every test.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# A real browser for the browser tests: Debian's chromium where apt is available (Playwright's own
# download needs the internet), otherwise Playwright's bundled Chromium.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  else
    python3 -m playwright install --with-deps chromium
  fi
fi

# Tests read the real MNIST files from PLAYGROUND_DATA_DIR (default: ../shared/data/mnist).
export PLAYGROUND_DATA_DIR="${PLAYGROUND_DATA_DIR:-$(cd .. && pwd)/shared/data/mnist}"
exec python3 -m pytest "$@"
