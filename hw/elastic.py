"""`elastic.Credits`: a pipeline that never stalls, behind credit-counted admission and an output FIFO.

Why: a stage that stalls (`advance = ~o.valid | o.ready`, docs/hardware.md "Streams and stages")
fans `advance` out to the clock enable of every one of its pipeline registers, and `ready` runs
combinationally from the last stage back through every stage to the input. The deeper the
pipeline, the longer that net. A pipeline that never stalls has neither: its registers load every
cycle and `valid` travels with the data. Backpressure is absorbed at the end instead, by a FIFO
of `depth` entries, and the input admits an item only while a FIFO slot is reserved for it:

    credits = depth - (items in flight + items in the FIFO)      (a register)
    i.ready = inner.i.ready & (credits > 0)
    credits' = credits - take + give

take = the first beat of an item is accepted (an item is `beats_per_item` input beats: 1 for an
MLP's image, the pixel positions of an image for a CNN); give = an item leaves the FIFO
(o.valid & o.ready). Neither `ready` nor any clock enable depends on `o.ready` combinationally,
so nothing in the inner pipeline waits for the sink: no item can be lost (a slot is reserved
before it enters) or duplicated (the FIFO hands each entry out once).

Protocol of `inner`: a stream component (`i`, `o`) whose output is held always ready, so it never
stalls internally except, possibly, by dropping its own `i.ready` (a window generator at a
padding position); it must emit exactly one output beat per `beats_per_item` input beats.

Latency: inner's latency + 2 cycles (the FIFO is `SyncFIFOBuffered`, block-RAM compatible: one
cycle to write, one to its output register). Throughput: one item per cycle, as long as the
sink takes it, when `depth >= depth_for(latency)`: a credit returns `latency + 3` cycles after it
was taken (`tests/test_elastic.py` checks full rate at that depth).
"""

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out


def depth_for(latency: int, beats_per_item: int = 1) -> int:
    """FIFO entries that sustain the inner pipeline's full rate (module docstring): the items that
    can be in flight during one credit round trip of latency + 3 cycles."""
    if latency < 0 or beats_per_item < 1:
        raise ValueError(f"latency must be >= 0 and beats_per_item >= 1, not {latency}, {beats_per_item}")
    return -(-(latency + 3) // beats_per_item)


class Credits(wiring.Component):
    """`inner` (latency `latency` cycles) made elastic; see the module docstring. Ports: `i` and
    `o`, the inner unit's stream signatures."""

    def __init__(self, inner, *, latency: int, beats_per_item: int = 1, depth: int | None = None):
        self.inner = inner
        self.beats_per_item = beats_per_item
        self.depth = depth_for(latency, beats_per_item) if depth is None else depth
        if self.depth < 1:
            self._MustUse__silence = True          # refused: never meant to be elaborated
            raise ValueError(f"the output FIFO needs at least one entry, not {self.depth}")
        self.inner_latency = latency
        width = len(Value.cast(inner.o.payload))
        # One entry more than the credits: SyncFIFOBuffered is a SyncFIFO of depth - 1 plus an
        # output register, and an entry spends a cycle in the former before it moves on, so with
        # `depth` entries of room it could refuse a write that a credit has reserved.
        self.queue = fifo.SyncFIFOBuffered(width=width, depth=self.depth + 1)
        super().__init__({"i": In(inner.i.signature.flip()), "o": Out(inner.o.signature)})

    @property
    def latency(self) -> int:
        return self.inner_latency + 2

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self.inner
        m.submodules.queue = queue = self.queue

        credits = Signal(range(self.depth + 1), init=self.depth)
        first_beat = Signal(init=1)      # the next accepted beat starts an item
        admit, accepted, take, give = Signal(), Signal(), Signal(), Signal()
        m.d.comb += [
            admit.eq(~first_beat | (credits != 0)),      # an item's later beats hold its credit
            self.i.ready.eq(inner.i.ready & admit),
            inner.i.valid.eq(self.i.valid & admit),
            inner.i.payload.eq(self.i.payload),
            accepted.eq(self.i.valid & self.i.ready),
            take.eq(accepted & first_beat),
            inner.o.ready.eq(1),                          # the inner pipeline never waits
            queue.w_en.eq(inner.o.valid),                 # a slot was reserved for it
            queue.w_data.eq(inner.o.payload),
            self.o.valid.eq(queue.r_rdy),
            self.o.payload.eq(queue.r_data),
            queue.r_en.eq(self.o.ready),
            give.eq(queue.r_rdy & self.o.ready),
        ]
        m.d.sync += credits.eq(credits - take + give)
        if self.beats_per_item > 1:
            beat = Signal(range(self.beats_per_item))
            last = beat == self.beats_per_item - 1
            with m.If(accepted):
                m.d.sync += [beat.eq(Mux(last, 0, beat + 1)), first_beat.eq(last)]
        return m
