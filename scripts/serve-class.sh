#!/usr/bin/env bash
# Serve a class: several app processes behind nginx on one address (nginx installed from Debian where missing).
# Usage: bash scripts/serve-class.sh [--replicas N] [--port P] [--host ADDRESS]   (Ctrl-C stops everything)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/apt-install.sh nginx=nginx
exec python3 -m playground.serve.cluster "$@"
