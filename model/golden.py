"""The golden model: runs a layout on integer tensors exactly as the hardware computes it.

Only int64 arithmetic, no floats anywhere, so its outputs are the reference every simulation is
judged against. Per weight layer (see `model.layout` for the conventions):

    V   = values[L]                       integer value of each input level (pixels: the code)
    pad with the input code's pad level   (pixel 0; residual codes: every plane +1)
    X   = patches of V in (C, kh, kw) order (dense: the flattened input)
    Y   = X @ W^T                         W = `integer_weights()`, Y int64 per output and position
    L'  = #{m : Y_o >= T[o, m]}           hidden layers; the last layer's Y are the scores

Max-pool layers take the max of levels over each window. The class is the argmax of the scores,
lowest index on ties (torch.argmax returns the first maximum). Vectorized over the batch: the whole
digits test set runs in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from .layout import MaxPool, Network, WeightLayer


@dataclass
class LayerTrace:
    """What one layer produced: accumulators Y (weight layers) and output levels or scores."""

    kind: str
    accumulators: torch.Tensor | None   # (N, O, *spatial) int64; None for max-pool
    outputs: torch.Tensor               # levels (N, C, *spatial) or scores (N, O)


@dataclass
class GoldenResult:
    scores: torch.Tensor    # (N, classes) int64
    classes: torch.Tensor   # (N,) int64
    trace: list[LayerTrace]


def _patches(values: torch.Tensor, layer: WeightLayer) -> torch.Tensor:
    """(N, positions, K) fan-in vectors in (C, kh, kw) order."""
    if layer.kind == "dense":
        return values.reshape(values.shape[0], 1, -1)
    p, k, s = layer.padding, layer.kernel, layer.stride
    if layer.kind == "conv1d":
        padded = F.pad(values, (p, p), value=int(layer.input.values()[layer.input.pad_level]))
        windows = padded.unfold(2, k, s)                       # (N, C, OL, k)
        return windows.permute(0, 2, 1, 3).reshape(values.shape[0], windows.shape[2], -1)
    padded = F.pad(values, (p, p, p, p), value=int(layer.input.values()[layer.input.pad_level]))
    windows = padded.unfold(2, k, s).unfold(3, k, s)           # (N, C, OH, OW, k, k)
    n, c, oh, ow = windows.shape[:4]
    return windows.permute(0, 2, 3, 1, 4, 5).reshape(n, oh * ow, c * k * k)


def run_weight_layer(layer: WeightLayer, levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(accumulators Y, output levels or scores) of one weight layer on input levels."""
    values = torch.as_tensor(layer.input.values())[levels]
    patches = _patches(values, layer)
    weights = torch.as_tensor(layer.integer_weights())
    y = patches @ weights.T                                    # (N, positions, O)
    y = y.permute(0, 2, 1).reshape((levels.shape[0],) + layer.out_shape)
    if layer.is_last:
        return y, y
    thresholds = torch.as_tensor(layer.thresholds)
    view = (1, layer.out_channels) + (1,) * (y.dim() - 2) + (thresholds.shape[1],)
    out = (y.unsqueeze(-1) >= thresholds.reshape(view)).sum(dim=-1)
    return y, out


def run_maxpool(layer: MaxPool, levels: torch.Tensor) -> torch.Tensor:
    s = layer.size
    if levels.dim() == 3:
        return levels.unfold(2, s, s).amax(dim=-1)
    return levels.unfold(2, s, s).unfold(3, s, s).amax(dim=(-1, -2))


def run(network: Network, pixels) -> GoldenResult:
    """Run `network` on integer pixel codes shaped (N, *input_shape)."""
    levels = torch.as_tensor(np.asarray(pixels), dtype=torch.int64)
    if tuple(levels.shape[1:]) != tuple(network.input_shape):
        raise ValueError(f"pixels have shape {tuple(levels.shape[1:])} per image, "
                         f"the network reads {tuple(network.input_shape)}")
    limit = (1 << network.pixel_bits) - 1
    if levels.numel() and (levels.min() < 0 or levels.max() > limit):
        raise ValueError(f"pixel codes must lie in 0..{limit}, found {int(levels.min())}..{int(levels.max())}")
    trace = []
    for layer in network.layers:
        if isinstance(layer, MaxPool):
            levels = run_maxpool(layer, levels)
            trace.append(LayerTrace("maxpool", None, levels))
            continue
        y, levels = run_weight_layer(layer, levels)
        trace.append(LayerTrace(layer.kind, y, levels))
    scores = levels
    return GoldenResult(scores, scores.argmax(dim=1), trace)
