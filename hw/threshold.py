"""`threshold.Unit`: accumulators to activation levels by integer thresholds (multi-threshold).

For every output o with ascending thresholds T[o, 0..L-2], the level is the number of thresholds
reached, level_o = sum_m (Y_o >= T[o, m]) in 0 .. L-1, which is the residual activation code with
plane 1 as its most significant bit (model/layout.py). Comparisons with constants; combinational.
Ports: `i` (array of signed accumulators), `o` (array of unsigned levels).
"""

from amaranth.hdl import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .adders import balanced_sum


class Unit(wiring.Component):
    def __init__(self, thresholds, *, acc_width: int, level_bits: int):
        rows = [[int(t) for t in row] for row in thresholds]
        if not rows or any(len(row) != (1 << level_bits) - 1 for row in rows):
            raise ValueError(f"Each output needs {(1 << level_bits) - 1} thresholds for {level_bits}-bit levels")
        if any(a > b for row in rows for a, b in zip(row, row[1:])):
            raise ValueError("Thresholds must ascend along each output")
        self.thresholds = rows
        self.level_bits = level_bits
        super().__init__({
            "i": In(data.ArrayLayout(signed(acc_width), len(rows))),
            "o": Out(data.ArrayLayout(level_bits, len(rows))),
        })

    def elaborate(self, platform):
        m = Module()
        for o, row in enumerate(self.thresholds):
            reached = [self.i[o] >= t for t in row]
            m.d.comb += self.o[o].eq(balanced_sum(m, reached, name=f"level{o}"))
        return m
