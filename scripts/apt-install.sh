#!/usr/bin/env bash
# Install Debian packages (e.g. chromium, nginx, postgresql) that are not there yet, with sudo when not root.
# Usage: bash scripts/apt-install.sh COMMAND=PACKAGE ...   (e.g. nginx=nginx chromium=chromium)
# Exits 1 with one line when a package is missing and apt-get cannot be used here.
set -euo pipefail

missing=()
for pair in "$@"; do
  command="${pair%%=*}"; package="${pair#*=}"
  # Debian keeps some programs out of PATH: nginx in /usr/sbin, PostgreSQL's in /usr/lib/postgresql/N/bin
  if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$command" ] \
    && ! compgen -G "/usr/lib/postgresql/*/bin/$command" >/dev/null; then
    missing+=("$package")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
if ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; }; then
  echo "Please install ${missing[*]} (Debian/Ubuntu: apt-get install -y ${missing[*]})." >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
