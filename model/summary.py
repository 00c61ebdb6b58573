"""Per-layer summary of a layout: what `hbnn inspect` prints.

Binary operations count one XNOR (or AND, for pixel planes) per weight bit per input bit plane
per output position: positions x sum_{o,j} bits[o, j] x input planes. This is the quantity that
area (unrolled) or cycles (folded) scale with, and the one heterogeneous bit mixes reduce.
"""

from dataclasses import dataclass

import numpy as np

from .layout import MaxPool, Network, WeightLayer


@dataclass(frozen=True)
class LayerSummary:
    index: int
    kind: str
    in_shape: tuple
    out_shape: tuple
    weights: int = 0
    by_bits: tuple = (0, 0, 0)       # weights with 1, 2, 3 bits
    weight_bits: int = 0             # sum of bit counts: sign bits stored
    binary_ops: int = 0
    input_planes: int = 0
    frac_bits: int = 0
    accumulator_width: int = 0
    max_popcount_width: int = 0

    @property
    def average_bits(self) -> float:
        return self.weight_bits / self.weights if self.weights else 0.0


def summarize(network: Network) -> list[LayerSummary]:
    rows = []
    for index, layer in enumerate(network.layers):
        if isinstance(layer, MaxPool):
            rows.append(LayerSummary(index, "maxpool", tuple(layer.in_shape), layer.out_shape))
            continue
        rows.append(_weight_summary(index, layer))
    return rows


def _weight_summary(index: int, layer: WeightLayer) -> LayerSummary:
    positions = int(np.prod(layer.out_shape[1:])) if layer.kind != "dense" else 1
    weight_bits = int(layer.bits.astype(np.int64).sum())
    return LayerSummary(
        index=index, kind=layer.kind, in_shape=tuple(layer.in_shape), out_shape=layer.out_shape,
        weights=int(layer.bits.size),
        by_bits=tuple(int((layer.bits == b).sum()) for b in (1, 2, 3)),
        weight_bits=weight_bits, binary_ops=positions * weight_bits * layer.input.bits,
        input_planes=layer.input.bits, frac_bits=layer.frac_bits,
        accumulator_width=layer.accumulator_width(),
        max_popcount_width=int(layer.popcount_widths().max()))


def format_summary(network: Network) -> str:
    rows = summarize(network)
    header = ("layer", "kind", "in", "out", "weights", "1/2/3-bit", "avg bits", "weight bits",
              "in planes", "binary ops", "F", "acc width")
    lines = [header]
    for r in rows:
        shape = "x".join(map(str, r.in_shape)), "x".join(map(str, r.out_shape))
        if r.kind == "maxpool":
            lines.append((str(r.index), r.kind) + shape + ("",) * 8)
            continue
        lines.append((str(r.index), r.kind) + shape + (
            str(r.weights), "/".join(map(str, r.by_bits)), f"{r.average_bits:.2f}", str(r.weight_bits),
            str(r.input_planes), str(r.binary_ops), str(r.frac_bits), str(r.accumulator_width)))
    weights = sum(r.weights for r in rows)
    bits = sum(r.weight_bits for r in rows)
    lines.append(("total", "", "", "", str(weights), "/".join(str(sum(r.by_bits[b] for r in rows)) for b in range(3)),
                  f"{bits / weights:.2f}", str(bits), "", str(sum(r.binary_ops for r in rows)), "", ""))
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    text = "\n".join("  ".join(cell.rjust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
    p = network.provenance
    head = (f"{p.get('dataset', '?')}/{p.get('net', '?')}, weights {p.get('weights', '?')}, "
            f"input {'x'.join(map(str, network.input_shape))} at {network.pixel_bits} bits, "
            f"{network.num_classes} classes")
    return head + "\n" + text
