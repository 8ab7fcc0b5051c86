#!/usr/bin/env bash
# Drift check (for maintainers, not CI): install the NEWEST versions that the ranges in
# requirements.in / requirements-dev.in allow into a throwaway virtual environment and run the whole
# suite there, so a new release of a dependency that breaks us is found before a user installs it.
# Usage: bash scripts/test-newest.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=$(mktemp -d /tmp/cnn-playground-newest.XXXXXX)
trap 'rm -rf "$venv"' EXIT

python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade -r requirements-dev.in
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .

echo "Versions that differ from the locked requirements-dev.txt:"
# names compared as pip normalises them (Jinja2 = jinja2, typing_extensions = typing-extensions)
normalise() { grep -E '^[A-Za-z0-9_.-]+==' | awk -F'==' '{n = tolower($1); gsub(/[_.]/, "-", n); print n "==" $2}' | sort; }
"$venv/bin/python" -m pip freeze --exclude-editable | normalise >"$venv/newest.txt"
normalise <requirements-dev.txt | comm -13 - "$venv/newest.txt" || true

export PLAYGROUND_DATA_DIR="${PLAYGROUND_DATA_DIR:-$(cd "$root/.." && pwd)/shared/data/mnist}"
"$venv/bin/python" -m pytest "$@"
