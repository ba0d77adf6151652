"""PyTorch twin of an ocrcore architecture JSON (docs/model-format.md).

Builds an nn.Module whose state_dict names and shapes are exactly the tensor
names of the model file, so weights move between the two without renaming.
Used by fixture scripts and by the PyTorch peer in benchmarks/.
"""
import json

import torch
import torch.nn as nn


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


class TuckerConv(nn.Module):
    def __init__(self, spec):
        super().__init__()
        r1, r2 = spec["ranks"]
        k, s, p = _pair(spec["kernel_size"]), _pair(spec.get("stride", 1)), _pair(spec.get("padding", 0))
        cin = spec["in_channels"]
        self.has_in = r1 > 0
        if self.has_in:
            self.__setattr__("in", nn.Conv2d(cin, r1, 1, bias=False))
        self.core = nn.Conv2d(r1 if r1 > 0 else cin, r2, k, s, p, bias=False)
        self.out = nn.Conv2d(r2, spec["out_channels"], 1, bias=spec.get("bias", True))

    def forward(self, x):
        if self.has_in:
            x = getattr(self, "in")(x)
        return self.out(self.core(x))


class Collapse(nn.Module):
    def forward(self, x):  # N C H W -> T N (C*H)
        n, c, h, w = x.shape
        return x.permute(3, 0, 1, 2).reshape(w, n, c * h)


class Lstm(nn.Module):
    """nn.LSTM over T x N x D with per-line lengths (packed sequences)."""

    def __init__(self, spec):
        super().__init__()
        self.lstm = nn.LSTM(spec["input_size"], spec["hidden_size"], spec.get("num_layers", 1),
                            bidirectional=spec.get("bidirectional", True))

    def forward(self, x, lengths=None):
        if lengths is None:
            return self.lstm(x)[0]
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, _ = self.lstm(packed)
        return nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])[0]


class Net(nn.Module):
    """Sequential network; forward(x[, frame_lengths]) returns T x N x K log-probs."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        self.items = []  # (kind, module-or-None)
        for i, spec in enumerate(arch["layers"]):
            t = spec["type"]
            if t == "conv2d":
                m = nn.Conv2d(spec["in_channels"], spec["out_channels"], _pair(spec["kernel_size"]),
                              _pair(spec.get("stride", 1)), _pair(spec.get("padding", 0)),
                              bias=spec.get("bias", True))
            elif t == "tucker_conv":
                m = TuckerConv(spec)
            elif t == "batchnorm2d":
                m = nn.BatchNorm2d(spec["num_features"], eps=spec.get("eps", 1e-5))
            elif t == "relu":
                m = nn.ReLU()
            elif t == "maxpool2d":
                k = _pair(spec["kernel_size"])
                m = nn.MaxPool2d(k, _pair(spec.get("stride", k)), _pair(spec.get("padding", 0)),
                                 ceil_mode=spec.get("ceil_mode", False))
            elif t == "dropout":
                m = nn.Dropout(spec.get("p", 0.0))
            elif t == "collapse":
                m = Collapse()
            elif t == "lstm":
                m = Lstm(spec)
            elif t == "linear":
                m = nn.Linear(spec["in_features"], spec["out_features"], bias=spec.get("bias", True))
            else:
                raise ValueError(f"layer {i}: unknown type {t}")
            self.items.append((t, m))
            # Registered under the file's name prefix so state_dict keys match.
            name = spec.get("name", f"_anon{i}")
            self._register(name, m)

    def _register(self, dotted, module):
        parts = dotted.split(".")
        parent = self
        for p in parts[:-1]:
            if not hasattr(parent, p):
                parent.add_module(p, nn.Module())
            parent = getattr(parent, p)
        parent.add_module(parts[-1], module)

    def state_dict_for_file(self):
        """state_dict with the LSTM's inner `.lstm.` level removed (file names)."""
        out = {}
        for k, v in self.state_dict().items():
            if k.endswith("num_batches_tracked"):
                continue
            out[k.replace(".lstm.weight", ".weight").replace(".lstm.bias", ".bias")] = v
        return out

    def load_file_tensors(self, tensors):
        sd = self.state_dict()
        for k in sd:
            if k.endswith("num_batches_tracked"):
                continue
            src = k.replace(".lstm.weight", ".weight").replace(".lstm.bias", ".bias")
            sd[k] = torch.as_tensor(tensors[src]).reshape(sd[k].shape)
        self.load_state_dict(sd)

    def forward(self, x, frame_lengths=None):
        for t, m in self.items:
            if t == "lstm":
                x = m(x, frame_lengths)
            else:
                x = m(x)
        return torch.log_softmax(x, dim=-1)


def load_architecture(path):
    with open(path) as f:
        return json.load(f)
