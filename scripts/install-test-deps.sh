#!/usr/bin/env bash
# Install what the tests need: the locked Python packages (requirements-dev.txt), the project itself
# (editable, so tests and benchmarks import it without path edits) and a real Chromium for the browser
# tests, nginx for the class server and PostgreSQL for the class store (Debian's packages where apt is there: Playwright's own browser
# download needs the internet).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .

# Debian's Chromium for the browser tests, nginx for the class server and PostgreSQL for the class store's tests. Where apt cannot be used
# (no root, no sudo): Playwright's own Chromium (needs the internet) and no nginx (those tests say so and skip).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  bash scripts/apt-install.sh chromium=chromium || python3 -m playwright install --with-deps chromium
fi
bash scripts/apt-install.sh nginx=nginx || echo "nginx could not be installed: the class server's tests will be skipped." >&2
# PostgreSQL for the class store's tests (they start a throwaway server of their own on 127.0.0.1)
bash scripts/apt-install.sh pg_ctl=postgresql || echo "PostgreSQL could not be installed: the class store's PostgreSQL tests will fail." >&2
