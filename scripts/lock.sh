#!/usr/bin/env bash
# Compile the direct dependencies (requirements.in, requirements-dev.in: names and ranges) into the
# fully pinned requirements.txt and requirements-dev.txt that every install uses.
# Usage: bash scripts/lock.sh [--upgrade]   (--upgrade: the newest versions the ranges allow)
# Then run the tests (bash scripts/test.sh) before committing the new pins.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check "uv>=0.5"
# torch is the CPU build: from the wheel folder where the machine has one, else PyTorch's CPU index.
if ls /opt/wheels/torch-*+cpu-*.whl >/dev/null 2>&1; then
  source=(--find-links /opt/wheels)
else
  source=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
fi
common=(--custom-compile-command "bash scripts/lock.sh" --python-version 3.11 --no-emit-find-links --no-emit-index-url "${source[@]}" "$@")
python3 -m uv pip compile requirements.in -o requirements.txt "${common[@]}"
python3 -m uv pip compile requirements-dev.in -c requirements.txt -o requirements-dev.txt "${common[@]}"
