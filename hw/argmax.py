"""`argmax.Unit`: index of the largest score, the lowest index winning ties.

A balanced tournament: at each merge the left (lower-index) candidate is kept unless the right one
is strictly larger, so ties go to the lowest index as in `torch.argmax` and the golden model.
Ports: `i` (array of signed scores), `o` (the class index), `en` (clock enable of the registers).

Combinational by default. `registered_levels` (1-based tournament levels, `adders.spread`) puts a
register after those levels, each merge a compare (a carry chain as wide as the scores) and a
2-way mux: `latency` = len(registered_levels) cycles. A candidate that sits out a level (odd
count) is carried by registers like the others, and levels past the final (`depth`) only delay it.

`compare_registers` (fully pipelined designs) also registers each registered level's comparison
results, with both candidates beside them, before its muxes: `latency` = 2 x len(registered_levels).
A compare is a carry chain whose carry-out leaves through a feed-out cell; with the muxes behind
it in the same cycle it was the critical path of the fully pipelined digits MLP on the ECP5-85F
(6.8 ns of 7 for a 4-wide, 1.4-bit net on its own core clock).
"""

from amaranth.hdl import Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .adders import tree_depth


class Unit(wiring.Component):
    def __init__(self, classes: int, *, width: int, registered_levels=(), compare_registers: bool = False):
        if not isinstance(classes, int) or classes < 1:
            raise ValueError(f"Argmax needs a positive number of classes, not {classes!r}")
        self.classes = classes
        self.width = width
        self.registered_levels = tuple(registered_levels)
        self.compare_registers = compare_registers
        super().__init__({"i": In(data.ArrayLayout(signed(width), classes)), "o": Out(range(classes)),
                          "en": In(1, init=1)})

    @staticmethod
    def levels(classes: int) -> int:
        """Tournament levels: ceil(log2(classes))."""
        return tree_depth(classes)

    @property
    def latency(self) -> int:
        return len(self.registered_levels) * (2 if self.compare_registers else 1)

    def elaborate(self, platform):
        m = Module()
        candidates = [(self.i[c], c) for c in range(self.classes)]
        registered = set(self.registered_levels)
        level = 0
        while len(candidates) > 1 or level < max(registered, default=0):
            level += 1
            before = candidates
            split = self.compare_registers and level in registered
            if split:          # the candidates wait a cycle beside their comparisons
                candidates = [self._held(m, value, which, f"l{level}_{number}_pre")
                              for number, (value, which) in enumerate(candidates)]
            merged = []
            for index in range(0, len(candidates) - 1, 2):
                (left_value, left_index), (right_value, right_index) = candidates[index], candidates[index + 1]
                right_wins = Signal(name=f"l{level}_{index // 2}_right", reset_less=True)
                if split:      # (compared on the candidates before they were held, in step with them)
                    with m.If(self.en):
                        m.d.sync += right_wins.eq(self._offset(before[index + 1][0]) > self._offset(before[index][0]))
                else:
                    m.d.comb += right_wins.eq(right_value > left_value)
                merged.append((Mux(right_wins, right_value, left_value), Mux(right_wins, right_index, left_index)))
            if len(candidates) % 2:
                merged.append(candidates[-1])
            candidates = [self._held(m, value, which, f"l{level}_{number}", registered=level in registered)
                          for number, (value, which) in enumerate(merged)]
        m.d.comb += self.o.eq(candidates[0][1])
        return m

    def _offset(self, value):
        """`value` + 2**(width-1) as an unsigned number (the sign bit flipped): unsigned order is
        the signed order, and an unsigned compare is a carry chain's carry-out alone, where a
        signed one adds LUT levels behind the chain for the overflow."""
        return Value.cast(value).as_unsigned() ^ (1 << (self.width - 1))

    def _held(self, m: Module, value, which, name: str, *, registered: bool = True):
        """A candidate (value, index) through a register enabled by `en`, or through wires."""
        held_value = Signal(signed(self.width), name=f"{name}_value", reset_less=True)    # data: no reset
        held_index = Signal(range(self.classes), name=f"{name}_index", reset_less=True)
        if registered:
            with m.If(self.en):
                m.d.sync += [held_value.eq(value), held_index.eq(which)]
        else:
            m.d.comb += [held_value.eq(value), held_index.eq(which)]
        return held_value, held_index
