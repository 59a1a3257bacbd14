#!/usr/bin/env bash
# Installs what a fresh machine lacks for motcua: uv, the locked Python packages, and (when run as
# root on Debian/Ubuntu) Java and Maven for the local Kafka broker; with --browser (the tests) also
# Debian's Chromium, which the console's browser tests drive. MongoDB comes from a `mongod` on PATH
# or the hash-pinned PyPI wheel (deploy/local/mongo.py).
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: Python >= 3.11 is needed (found $("$PYTHON" --version 2>&1))" >&2; exit 2; }

if ! "$PYTHON" -m uv --version >/dev/null 2>&1 && ! command -v uv >/dev/null 2>&1; then
  echo "installing uv"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
  missing+=(chromium)
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: missing ${missing[*]}; the local stack will say how to install them" >&2
  fi
fi

uv_cmd() { if command -v uv >/dev/null 2>&1; then uv "$@"; else "$PYTHON" -m uv "$@"; fi; }
uv_cmd sync --frozen --quiet
