"""`threshold.Unit`: accumulators to activation levels by integer thresholds (multi-threshold).

For every output o with ascending thresholds T[o, 0..L-2], the level is the number of thresholds
reached, level_o = sum_m (Y_o >= T[o, m]) in 0 .. L-1, which is the residual activation code with
plane 1 as its most significant bit (model/layout.py). Comparisons with constants; combinational.
Ports: `i` (array of signed accumulators), `o` (array of unsigned levels).

An MVU may deliver X_o instead of Y_o, related by an `OutputMap` Y = ±2^s X + C (a shared adder
graph leaves each output's final shift, sign and constant out: `mvu_shared`). The unit folds the
map into its constants instead of spending adders on it:
Y >= T  <=>  X >= ceil((T - C) / 2^s)  for +,   X <= floor((C - T) / 2^s)  for -.
"""

from dataclasses import dataclass

from amaranth.hdl import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .adders import balanced_sum


@dataclass(frozen=True)
class OutputMap:
    """Y = (-1 if negative else 1) * 2^shift * X + offset: how an MVU output X gives Y."""
    negative: bool = False
    shift: int = 0
    offset: int = 0

    def apply(self, x: int) -> int:
        value = x << self.shift
        return (-value if self.negative else value) + self.offset

    def condition(self, threshold: int) -> tuple[str, int]:
        """(">=", u) or ("<=", u) with  Y >= threshold  <=>  X (op) u."""
        scale = 1 << self.shift
        if self.negative:
            return "<=", (self.offset - threshold) // scale
        return ">=", -((self.offset - threshold) // scale)      # ceil((T - C) / 2^s)


IDENTITY = OutputMap()


class Unit(wiring.Component):
    def __init__(self, thresholds, *, acc_width: int, level_bits: int, maps=None):
        rows = [[int(t) for t in row] for row in thresholds]
        if not rows or any(len(row) != (1 << level_bits) - 1 for row in rows):
            raise ValueError(f"Each output needs {(1 << level_bits) - 1} thresholds for {level_bits}-bit levels")
        if any(a > b for row in rows for a, b in zip(row, row[1:])):
            raise ValueError("Thresholds must ascend along each output")
        maps = [IDENTITY] * len(rows) if maps is None else list(maps)
        if len(maps) != len(rows):
            raise ValueError(f"Need one output map per output ({len(rows)}), not {len(maps)}")
        self.thresholds = rows
        self.maps = maps
        self.level_bits = level_bits
        super().__init__({
            "i": In(data.ArrayLayout(signed(acc_width), len(rows))),
            "o": Out(data.ArrayLayout(level_bits, len(rows))),
        })

    def elaborate(self, platform):
        m = Module()
        for o, (row, output_map) in enumerate(zip(self.thresholds, self.maps)):
            reached = []
            for t in row:
                relation, bound = output_map.condition(t)
                reached.append(self.i[o] >= bound if relation == ">=" else self.i[o] <= bound)
            m.d.comb += self.o[o].eq(balanced_sum(m, reached, name=f"level{o}"))
        return m
