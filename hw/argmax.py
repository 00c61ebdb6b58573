"""`argmax.Unit`: index of the largest score, the lowest index winning ties.

A balanced tournament: at each merge the left (lower-index) candidate is kept unless the right one
is strictly larger, so ties go to the lowest index as in `torch.argmax` and the golden model.
Combinational. Ports: `i` (array of signed scores), `o` (the class index).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class Unit(wiring.Component):
    def __init__(self, classes: int, *, width: int):
        if not isinstance(classes, int) or classes < 1:
            raise ValueError(f"Argmax needs a positive number of classes, not {classes!r}")
        self.classes = classes
        self.width = width
        super().__init__({"i": In(data.ArrayLayout(signed(width), classes)), "o": Out(range(classes))})

    def elaborate(self, platform):
        m = Module()
        candidates = [(self.i[c], c) for c in range(self.classes)]
        level = 0
        while len(candidates) > 1:
            level += 1
            merged = []
            for index in range(0, len(candidates) - 1, 2):
                (left_value, left_index), (right_value, right_index) = candidates[index], candidates[index + 1]
                right_wins = Signal(name=f"l{level}_{index // 2}_right")
                value = Signal(signed(self.width), name=f"l{level}_{index // 2}_value")
                which = Signal(range(self.classes), name=f"l{level}_{index // 2}_index")
                m.d.comb += [
                    right_wins.eq(right_value > left_value),
                    value.eq(Mux(right_wins, right_value, left_value)),
                    which.eq(Mux(right_wins, right_index, left_index)),
                ]
                merged.append((value, which))
            if len(candidates) % 2:
                merged.append(candidates[-1])
            candidates = merged
        m.d.comb += self.o.eq(candidates[0][1])
        return m
