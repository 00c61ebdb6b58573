"""`flatten.Collector`: gathers a streamed (C, H, W) or (C, L) map into one vector for a dense layer.

Input: one position per beat (C levels), raster order. Output: one beat per image holding all
C x H x W levels in the layout's flatten order, channel-major (element (c, h, w) at index
c H W + h W + w), as `torch.flatten`. The output leaves from a register; while it waits to be
taken, the input is held, so nothing is overwritten.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import raster


class Collector(wiring.Component):
    def __init__(self, *, in_shape: tuple, level_bits: int):
        self.channels, *self.spatial = in_shape
        self.level_bits = level_bits
        self.positions = raster.count(self.spatial)
        super().__init__({
            "i": In(stream.Signature(self.channels * level_bits)),
            "o": Out(stream.Signature(self.channels * self.positions * level_bits)),
        })

    latency = 1  # cycles from an image's last position to its vector

    @property
    def cycles_per_image(self) -> int:
        return self.positions

    def elaborate(self, platform):
        m = Module()
        n, positions = self.level_bits, self.positions
        position = Signal(range(max(positions, 2)))
        advance = Signal()
        take = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance),
                     take.eq(advance & self.i.valid)]

        # Store each channel's level of this position at its flattened index.
        gathered = Signal(self.channels * positions * n)
        for p in range(positions):
            with m.If(take & (position == p)):
                for c in range(self.channels):
                    index = c * positions + p
                    m.d.sync += gathered[index * n:(index + 1) * n].eq(self.i.payload[c * n:(c + 1) * n])
        last = position == positions - 1
        with m.If(take):
            m.d.sync += position.eq(Mux(last, 0, position + 1))
        with m.If(advance):
            m.d.sync += self.o.valid.eq(take & last)

        # The output register is the gathered vector itself, plus the final position's levels.
        final = Signal.like(gathered)
        m.d.comb += final.eq(gathered)
        for c in range(self.channels):
            index = c * positions + positions - 1
            m.d.comb += final[index * n:(index + 1) * n].eq(self.i.payload[c * n:(c + 1) * n])
        with m.If(take & last):
            m.d.sync += self.o.payload.eq(final)
        return m
