#!/usr/bin/python3
"""Splits a model exported by ocr-convert into its convolutional part (image
-> last feature map) and its sequence part (feature map -> log-probs: the
collapse, the DBLSTM and the output layer), so that ONNX Runtime can be timed
on each part alongside ocrcore's per-op profile (ort_parts.js).

  ort_split.py MODEL.onnx CNN.onnx SEQUENCE.onnx
"""
import sys

import onnx
import onnx.utils


def main():
    model_path, cnn_path, seq_path = sys.argv[1:4]
    model = onnx.load(model_path)
    # ocr-convert writes the collapse as Transpose + Reshape right after the
    # last convolutional layer: its input is the feature map.
    transposes = [n for n in model.graph.node if n.op_type == "Transpose"]
    if not transposes:
        raise SystemExit(f"{model_path}: no Transpose node (not an ocr-convert CRNN export)")
    feature_map = transposes[0].input[0]
    image = model.graph.input[0].name
    log_probs = model.graph.output[0].name
    onnx.utils.extract_model(model_path, cnn_path, [image], [feature_map])
    onnx.utils.extract_model(model_path, seq_path, [feature_map], [log_probs])


if __name__ == "__main__":
    main()
