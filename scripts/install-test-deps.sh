#!/usr/bin/env bash
# Install what the tests need: the locked Python packages (requirements-dev.txt), the project itself
# (editable, so tests and benchmarks import it without path edits) and a real Chromium for the browser
# tests and nginx for the class server (Debian's packages where apt is there: Playwright's own browser
# download needs the internet).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .

# Debian's Chromium for the browser tests and nginx for the class server's tests; without apt, Playwright's
# own Chromium (needs the internet) and no nginx (those tests then say so and are skipped)
if command -v apt-get >/dev/null 2>&1; then
  if command -v chromium-browser >/dev/null 2>&1; then
    bash scripts/apt-install.sh nginx=nginx
  else
    bash scripts/apt-install.sh chromium=chromium nginx=nginx
  fi
elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  python3 -m playwright install --with-deps chromium
fi
