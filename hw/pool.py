"""`pool.Unit`: max-pool of activation levels over a streamed map, window = stride = `size`.

Input and output streams carry one position (C levels, `hw.packing` order) per beat, in raster
order. Levels are unsigned and the activation staircase is monotone, so the max of levels is the
level of the max. Positions past the last whole window are consumed and dropped (PyTorch's floor
mode). A row of running maxima, one entry per output column, holds the band of `size` rows being
pooled; an output leaves through a register when the bottom-right position of its window arrives.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import raster


class Unit(wiring.Component):
    def __init__(self, *, in_shape: tuple, size: int, level_bits: int):
        if size < 2:
            raise ValueError(f"Pool size must be at least 2, not {size}")
        self.channels, *self.spatial = in_shape
        self.size, self.level_bits = size, level_bits
        self.out_spatial = [d // size for d in self.spatial]
        if min(self.out_spatial) < 1:
            raise ValueError(f"Pool size {size} does not fit the map {tuple(in_shape)}")
        width = self.channels * level_bits
        super().__init__({"i": In(stream.Signature(width)), "o": Out(stream.Signature(width))})

    latency = 1  # cycles from a window's last position to its output

    @property
    def cycles_per_image(self) -> int:
        return raster.count(self.spatial)

    def elaborate(self, platform):
        m = Module()
        n, c_count, size = self.level_bits, self.channels, self.size
        two_d = len(self.spatial) == 2
        height = self.spatial[0] if two_d else 1
        width = self.spatial[-1]
        columns = self.out_spatial[-1]

        row = Signal(range(max(height, 2)))
        col = Signal(range(max(width, 2)))
        advance = Signal()
        take = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance),
                     take.eq(advance & self.i.valid)]

        # Where this position falls: which output column, and first/last of its window.
        out_col = Signal(range(max(columns, 2)))
        m.d.comb += out_col.eq(col // size if (size & (size - 1)) else col >> (size.bit_length() - 1))
        inside = (col < columns * size) & ((row < self.out_spatial[0] * size) if two_d else Const(1))
        first = (col % size == 0) & ((row % size == 0) if two_d else Const(1))
        last = (col % size == size - 1) & ((row % size == size - 1) if two_d else Const(1))

        # Running maxima per output column and channel.
        running = [Signal(c_count * n, name=f"max{j}") for j in range(columns)]
        current = Signal(c_count * n)
        m.d.comb += current.eq(Mux(out_col < columns, Cat(*running).word_select(out_col, c_count * n), 0))
        levels = [self.i.payload[c * n:(c + 1) * n] for c in range(c_count)]
        kept = [current[c * n:(c + 1) * n] for c in range(c_count)]
        merged = Signal(c_count * n)
        m.d.comb += merged.eq(Cat(*[Mux(first | (x > y), x, y) for x, y in zip(levels, kept)]))

        with m.If(take & inside):
            for j in range(columns):
                with m.If(out_col == j):
                    m.d.sync += running[j].eq(merged)
        with m.If(advance):
            m.d.sync += self.o.valid.eq(take & inside & last)
        with m.If(take):
            m.d.sync += self.o.payload.eq(merged)

        # Raster walk over the input map, wrapping to the next image.
        raster.step(m, row=row if two_d else None, col=col, height=height, width=width, when=take)
        return m
