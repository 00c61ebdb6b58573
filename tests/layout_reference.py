"""A deliberately plain numpy re-implementation of a layout, at the bit level, for tests.

It shares nothing with `model.golden` but the layout object: it decomposes every input level into
its bit planes and computes each plane pair with XOR/AND and popcounts over the member weights,
as model/layout.py states it, with explicit loops over positions.
"""

import numpy as np

from hbnn.model.layout import MaxPool, Network, WeightLayer


def input_planes(layer: WeightLayer, levels: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(weight, bit array) per input plane: pixels give {0,1} planes with weight 2^t; residual
    codes give stored sign bits (1 = -1) with weight Q_k, plane k read MSB first."""
    code = layer.input
    if code.kind == "pixels":
        return [(1 << t, (levels >> t) & 1) for t in range(code.bits)]
    return [(q, 1 - ((levels >> (code.bits - 1 - k)) & 1)) for k, q in enumerate(code.plane_weights)]


def window_levels(layer: WeightLayer, levels: np.ndarray) -> list[np.ndarray]:
    """Fan-in level vectors (N, K) for each output position, in (C, kh, kw) order."""
    n = levels.shape[0]
    if layer.kind == "dense":
        return [levels.reshape(n, -1)]
    p, k, s = layer.padding, layer.kernel, layer.stride
    pad = layer.input.pad_level
    if layer.kind == "conv1d":
        padded = np.pad(levels, ((0, 0), (0, 0), (p, p)), constant_values=pad)
        return [padded[:, :, x * s:x * s + k].reshape(n, -1) for x in range(layer.out_shape[1])]
    padded = np.pad(levels, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=pad)
    return [padded[:, :, y * s:y * s + k, x * s:x * s + k].reshape(n, -1)
            for y in range(layer.out_shape[1]) for x in range(layer.out_shape[2])]


def weight_layer(layer: WeightLayer, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, o = levels.shape[0], layer.out_channels
    windows = window_levels(layer, levels)
    y = np.zeros((n, o, len(windows)), dtype=np.int64)
    for position, window in enumerate(windows):
        for weight, bits in input_planes(layer, window):
            for out in range(o):
                for i in range(layer.planes.shape[0]):
                    members = layer.bits[out] > i
                    w = layer.planes[i, out].astype(np.int64)
                    if layer.input.kind == "pixels":
                        # sum_j u_j s_j = popcount(u) - 2 popcount(u AND w) over members
                        dot = (bits & members).sum(1) - 2 * (bits & w & members).sum(1)
                    else:
                        # +-1 dot = members - 2 popcount(a XOR w) over members
                        dot = members.sum() - 2 * ((bits ^ w) & members).sum(1)
                    y[:, out, position] += int(layer.plane_weights[out, i]) * weight * dot
    y = y.reshape((n,) + layer.out_shape)
    if layer.is_last:
        return y, y
    levels_out = np.zeros_like(y)
    for m in range(layer.thresholds.shape[1]):
        t = layer.thresholds[:, m].reshape((1, o) + (1,) * (y.ndim - 2))
        levels_out += (y >= t)
    return y, levels_out


def maxpool(layer: MaxPool, levels: np.ndarray) -> np.ndarray:
    s = layer.size
    out = np.zeros((levels.shape[0],) + layer.out_shape, dtype=levels.dtype)
    for index in np.ndindex(*layer.out_shape[1:]):
        window = tuple(slice(i * s, i * s + s) for i in index)
        out[(slice(None), slice(None)) + index] = levels[(slice(None), slice(None)) + window].reshape(
            levels.shape[0], levels.shape[1], -1).max(axis=2)
    return out


def run(network: Network, pixels: np.ndarray) -> list[np.ndarray]:
    """Per layer: accumulators then levels for weight layers, levels for max-pools; last = scores."""
    levels = np.asarray(pixels, dtype=np.int64)
    trace = []
    for layer in network.layers:
        if isinstance(layer, MaxPool):
            levels = maxpool(layer, levels)
            trace.append(levels)
        else:
            y, levels = weight_layer(layer, levels)
            trace.append(y)
            trace.append(levels)
    return trace
