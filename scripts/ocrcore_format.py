"""Write ocrcore model files from Python (PyTorch state_dicts).

The format is safetensors with ocrcore metadata (docs/model-format.md); this
module has no dependency beyond numpy, so any PyTorch user can convert a model:

    from ocrcore_format import write_model
    write_model("model.ocrm", model.state_dict(), architecture, alphabet)
"""
import json
import os
import struct

import numpy as np

FORMAT_VERSION = "1"


def write_safetensors(path, tensors, metadata=None):
    """8-byte little-endian header length, JSON header, raw little-endian data."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in tensors.items():
        if hasattr(t, "detach"):
            t = t.detach().cpu().numpy()
        a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header).encode()
    text += b" " * ((8 - (len(text) + 8) % 8) % 8)  # data section 8-byte aligned
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns ({name: float32 numpy array}, metadata) of an F32 safetensors file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {e['dtype']}, expected F32")
        b, end = e["data_offsets"]
        tensors[name] = np.frombuffer(data[b:end], dtype="<f4").reshape(e["shape"]).copy()
    return tensors, metadata


def write_model(path, state_dict, architecture, alphabet, preprocessing=None, extra=None):
    """Writes an ocrcore model: state_dict tensors (num_batches_tracked dropped),
    architecture (dict, docs/model-format.md), alphabet (list, index 0 = blank)."""
    tensors = {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    metadata = {
        "ocrcore.format_version": FORMAT_VERSION,
        "ocrcore.architecture": json.dumps(architecture),
        "ocrcore.alphabet": json.dumps(alphabet),
        "ocrcore.preprocessing": json.dumps(preprocessing or {"height": architecture["input_height"]}),
    }
    metadata.update(extra or {})
    write_safetensors(path, tensors, metadata)
