#!/usr/bin/env bash
# Install the test dependencies (a real Chromium included) and run every test.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh

# Tests read the real MNIST files from PLAYGROUND_DATA_DIR (default: ../shared/data/mnist).
export PLAYGROUND_DATA_DIR="${PLAYGROUND_DATA_DIR:-$(cd .. && pwd)/shared/data/mnist}"
exec python3 -m pytest "$@"
