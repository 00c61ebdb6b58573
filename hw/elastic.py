"""`elastic.Credits`: a pipeline that never stalls, behind credit-counted admission and an output FIFO.

Why: a stage that stalls (`advance = ~o.valid | o.ready`, docs/hardware.md "Streams and stages")
fans `advance` out to the clock enable of every one of its pipeline registers, and `ready` runs
combinationally from the last stage back through every stage to the input. The deeper the
pipeline, the longer that net. A pipeline that never stalls has neither: its registers load every
cycle and `valid` travels with the data. Backpressure is absorbed at the end instead, by a FIFO
of `depth` entries, and the input admits an item only while a FIFO slot is reserved for it:

    credits = depth - (items in flight + items in the FIFO)
    i.ready = inner.i.ready & (credits > 0)
    credits' = credits - take + give

The register holds `spare = credits - 1`, so `credits > 0` is its sign bit: no compare between
the register and the input's `ready`. Its update is one of two sums of registers alone, chosen by
`take`:

    spare' = take ? spare + (gave - 1) : spare + gave

`take` depends on `spare`'s own sign bit through the input's handshake; with `take` entering an
adder (`spare - take + gave`), that loop ran through a carry chain and was the critical path on the
ECP5 (5.2 ns, 192 MHz). The two sums are two parallel adders (`gave - 1` is 0 or -1: an operand,
not a second adder after the first), and `take` only picks one of them.

take = the first beat of an item is accepted (an item is `beats_per_item` input beats: 1 for an
MLP's image, the pixel positions of an image for a CNN); give = an item left the FIFO
(o.valid & o.ready) in the cycle before: registered, because the FIFO's output and the input's
credits sit at the two ends of the datapath (on the digits MLP, fully pipelined on the ECP5-85F,
that path was the critical one at 92.8 MHz: 4.7 ns of routing from the sink's ready to the
credits). Neither `ready` nor any clock enable depends on `o.ready` combinationally,
so nothing in the inner pipeline waits for the sink: no item can be lost (a slot is reserved
before it enters) or duplicated (the FIFO hands each entry out once).

Protocol of `inner`: a stream component (`i`, `o`) whose output is held always ready, so it never
stalls internally except, possibly, by dropping its own `i.ready` (a window generator at a
padding position); it must emit exactly one output beat per `beats_per_item` input beats.

Latency: inner's latency + 2 cycles (the FIFO is `credit_queue.CreditQueue`, block-RAM
compatible: one cycle to write, one to its output register; its flags are registers). Throughput: one item per cycle, as long as the
sink takes it, when `depth >= depth_for(latency)`: a credit returns `latency + 4` cycles after it
was taken (`tests/test_elastic.py` checks full rate at that depth).
"""

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .credit_queue import CreditQueue


def depth_for(latency: int, beats_per_item: int = 1) -> int:
    """FIFO entries that sustain the inner pipeline's full rate (module docstring): the items that
    can be in flight during one credit round trip of latency + 4 cycles."""
    if latency < 0 or beats_per_item < 1:
        raise ValueError(f"latency must be >= 0 and beats_per_item >= 1, not {latency}, {beats_per_item}")
    return -(-(latency + 4) // beats_per_item)


def admit(m: Module, *, source, sink, inner_i, inner_o, depth: int, beats_per_item: int = 1):
    """Build the credit counter and output FIFO into `m` (module docstring): `source` is the
    outside input stream (its valid and payload read, its ready driven), `sink` the outside output
    stream, `inner_i` and `inner_o` the inner pipeline's input and output streams. Returns the FIFO
    (a submodule `queue` of `m`). `Credits` is this around one inner component; `network.Top` uses
    it around its own datapath."""
    if depth < 1:
        raise ValueError(f"the output FIFO needs at least one entry, not {depth}")
    m.submodules.queue = queue = CreditQueue(width=len(Value.cast(inner_o.payload)), depth=depth)
    spare = Signal(range(-1, depth), init=depth - 1)    # credits - 1: >= 0 while a credit is left
    first_beat = Signal(init=1)      # the next accepted beat starts an item
    admit, accepted = Signal(name="admit"), Signal(name="accepted")
    take, give, gave = Signal(name="take"), Signal(name="give"), Signal(name="gave")
    m.d.comb += [
        admit.eq(~first_beat | ~spare[-1]),           # an item's later beats hold its credit
        source.ready.eq(inner_i.ready & admit),
        inner_i.valid.eq(source.valid & admit),
        inner_i.payload.eq(source.payload),
        accepted.eq(source.valid & source.ready),
        take.eq(accepted & first_beat),
        inner_o.ready.eq(1),                          # the inner pipeline never waits
        queue.w_en.eq(inner_o.valid),                 # a slot was reserved for it
        queue.w_data.eq(inner_o.payload),
        sink.valid.eq(queue.r_rdy),
        sink.payload.eq(queue.r_data),
        queue.r_en.eq(sink.ready),
        give.eq(queue.r_rdy & sink.ready),
    ]
    m.d.sync += [gave.eq(give), spare.eq(Mux(take, spare + Mux(gave, 0, -1), spare + gave))]
    if beats_per_item > 1:
        beat = Signal(range(beats_per_item))
        last = beat == beats_per_item - 1
        with m.If(accepted):
            m.d.sync += [beat.eq(Mux(last, 0, beat + 1)), first_beat.eq(last)]
    return queue


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
        super().__init__({"i": In(inner.i.signature.flip()), "o": Out(inner.o.signature)})

    @property
    def latency(self) -> int:
        return self.inner_latency + 2

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = self.inner
        self.queue = admit(m, source=self.i, sink=self.o, inner_i=self.inner.i, inner_o=self.inner.o,
                           depth=self.depth, beats_per_item=self.beats_per_item)
        return m
