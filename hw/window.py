"""`window.Generator`: sliding windows over a streamed feature map (a line buffer).

Input stream: one position of a (C, H, W) or (C, L) map per beat, in raster order, its C levels
packed channel by channel (`hw.packing`). Output stream: one window per beat, in raster order of
the output positions, packed in the layout's fan-in order (C, kh, kw).

The generator walks the *padded* map, (H + 2p) x (W + 2p) positions, one per cycle: a padding
position shifts in the pad level without consuming input, a real one consumes a beat. A shift
register of (k - 1)(W + 2p) + k positions holds the last rows; after shifting position (r, c), the
window whose bottom-right corner is (r, c) sits at fixed taps:

    window[dr, dc] = buffer[(k - 1 - dr)(W + 2p) + (k - 1 - dc)]        (0 = newest)

and it is emitted when r, c >= k - 1 and both are on the stride grid. Windows go out through a
register; the walk advances only while that register is free or being taken, so backpressure
stalls it in place. Images follow each other without gaps: cycles per image = padded positions.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.layout import conv_output_size

from . import raster


class Generator(wiring.Component):
    def __init__(self, *, in_shape: tuple, kernel: int, stride: int, padding: int, level_bits: int,
                 pad_level: int):
        if len(in_shape) not in (2, 3):
            raise ValueError(f"Window generator needs a (C, L) or (C, H, W) shape, not {in_shape}")
        self.channels, *self.spatial = in_shape
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.level_bits = level_bits
        self.pad_level = pad_level
        self.padded = [s + 2 * padding for s in self.spatial]
        self.out_spatial = [conv_output_size(s, kernel, stride, padding) for s in self.spatial]
        if min(self.out_spatial) < 1:
            raise ValueError(f"Kernel {kernel} does not fit the padded map {self.padded}")
        self.position_bits = self.channels * level_bits
        taps = kernel ** len(self.spatial)
        super().__init__({
            "i": In(stream.Signature(self.position_bits)),
            "o": Out(stream.Signature(taps * self.position_bits)),
        })

    @property
    def latency(self) -> int:
        """Cycles from the last input beat of an image to its last window (trailing padding + register)."""
        width = self.padded[-1]
        trailing = self.padding + (self.padding * width if len(self.spatial) == 2 else 0)
        return trailing + 1

    @property
    def cycles_per_image(self) -> int:
        return raster.count(self.padded)

    def elaborate(self, platform):
        m = Module()
        k, p = self.kernel, self.padding
        two_d = len(self.spatial) == 2
        width = self.padded[-1]
        height = self.padded[0] if two_d else 1
        length = ((k - 1) * width if two_d else 0) + k

        # Walk over the padded map: (row, col) of the position shifted in next.
        row = Signal(range(max(height, 2)))
        col = Signal(range(max(width, 2)))
        in_rows = (row >= p) & (row < height - p) if two_d else Const(1)
        is_pad = Signal()
        m.d.comb += is_pad.eq(~(in_rows & (col >= p) & (col < width - p)))

        advance = Signal()     # the output register is free or being taken
        step = Signal()        # a position shifts in this cycle
        m.d.comb += [
            advance.eq(~self.o.valid | self.o.ready),
            step.eq(advance & (is_pad | self.i.valid)),
            self.i.ready.eq(advance & ~is_pad),
        ]
        incoming = Signal(self.position_bits)
        pad_word = Cat(*[Const(self.pad_level, self.level_bits)] * self.channels)
        with m.If(is_pad):
            m.d.comb += incoming.eq(pad_word)
        with m.Else():
            m.d.comb += incoming.eq(self.i.payload)

        # The line buffer: a shift register of positions, newest at index 0.
        buffer = [Signal(self.position_bits, name=f"tap{t}") for t in range(length - 1)]
        after = [incoming] + buffer          # the buffer as it will be after this step
        with m.If(step):
            m.d.sync += [buffer[t].eq(after[t]) for t in range(length - 1)]

        # The window completed by this step, in (C, kh, kw) order, into the output register.
        rows = range(k) if two_d else [0]
        fields = []
        for c in range(self.channels):
            for dr in rows:
                for dc in range(k):
                    tap = ((k - 1 - dr) * width if two_d else 0) + (k - 1 - dc)
                    fields.append(after[tap][c * self.level_bits:(c + 1) * self.level_bits])
        row_ok = self._on_grid(row, height) if two_d else Const(1)
        col_ok = self._on_grid(col, width)
        with m.If(advance):
            m.d.sync += self.o.valid.eq(step & row_ok & col_ok)
        with m.If(step):
            m.d.sync += self.o.payload.eq(Cat(*fields))

        # Advance the walk, wrapping to the next image.
        raster.step(m, row=row if two_d else None, col=col, height=height, width=width, when=step)
        return m

    def _on_grid(self, counter, size):
        """counter is the last row/column of a window on the stride grid (constant comparisons)."""
        k, s = self.kernel, self.stride
        ends = [e for e in range(k - 1, size) if (e - (k - 1)) % s == 0]
        if s == 1:
            return counter >= k - 1
        hit = Const(0)
        for end in ends:
            hit = hit | (counter == end)
        return hit
