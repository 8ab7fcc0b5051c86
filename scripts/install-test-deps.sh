#!/usr/bin/env bash
# Install what the tests need: the locked Python packages (requirements-dev.txt), the project itself
# (editable, so tests and benchmarks import it without path edits) and a real Chromium for the browser
# tests (Debian's package where apt is there: Playwright's own browser download needs the internet).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  else
    python3 -m playwright install --with-deps chromium
  fi
fi
