"""`argmax.Unit`: index of the largest score, the lowest index winning ties.

A balanced tournament: at each merge the left (lower-index) candidate is kept unless the right one
is strictly larger, so ties go to the lowest index as in `torch.argmax` and the golden model.
Ports: `i` (array of signed scores), `o` (the class index), `en` (clock enable of the registers).

Combinational by default. `registered_levels` (1-based tournament levels, `adders.spread`) puts a
register after those levels, each merge a compare (a carry chain as wide as the scores) and a
2-way mux: `latency` = len(registered_levels) cycles. A candidate that sits out a level (odd
count) is carried by registers like the others, and levels past the final (`depth`) only delay it.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .adders import tree_depth


class Unit(wiring.Component):
    def __init__(self, classes: int, *, width: int, registered_levels=()):
        if not isinstance(classes, int) or classes < 1:
            raise ValueError(f"Argmax needs a positive number of classes, not {classes!r}")
        self.classes = classes
        self.width = width
        self.registered_levels = tuple(registered_levels)
        super().__init__({"i": In(data.ArrayLayout(signed(width), classes)), "o": Out(range(classes)),
                          "en": In(1, init=1)})

    @staticmethod
    def levels(classes: int) -> int:
        """Tournament levels: ceil(log2(classes))."""
        return tree_depth(classes)

    @property
    def latency(self) -> int:
        return len(self.registered_levels)

    def elaborate(self, platform):
        m = Module()
        candidates = [(self.i[c], c) for c in range(self.classes)]
        registered = set(self.registered_levels)
        level = 0
        while len(candidates) > 1 or level < max(registered, default=0):
            level += 1
            merged = []
            for index in range(0, len(candidates) - 1, 2):
                (left_value, left_index), (right_value, right_index) = candidates[index], candidates[index + 1]
                right_wins = Signal(name=f"l{level}_{index // 2}_right")
                m.d.comb += right_wins.eq(right_value > left_value)
                merged.append((Mux(right_wins, right_value, left_value), Mux(right_wins, right_index, left_index)))
            if len(candidates) % 2:
                merged.append(candidates[-1])
            candidates = []
            for number, (value, which) in enumerate(merged):
                held_value = Signal(signed(self.width), name=f"l{level}_{number}_value")
                held_index = Signal(range(self.classes), name=f"l{level}_{number}_index")
                if level in registered:
                    with m.If(self.en):
                        m.d.sync += [held_value.eq(value), held_index.eq(which)]
                else:
                    m.d.comb += [held_value.eq(value), held_index.eq(which)]
                candidates.append((held_value, held_index))
        m.d.comb += self.o.eq(candidates[0][1])
        return m
