"""`clock_crossing.Handshake`: a stream from one clock domain into another, for slow streams.

The UART bridge hands the network core one input beat per few thousand cycles, over a payload up
to hundreds of bits wide. A FIFO crossing (`amaranth.lib.fifo.AsyncFIFO`) reads its storage
through a pointer in the reading domain, so every payload bit hangs on that pointer: on the ECP5-85F
with a 256-bit beat that read was the core clock's critical path (9.2 ns, 7.7 of them routing).
This crossing times nothing wide in the reading domain: the payload waits in a register of the
writing domain, and only a request toggle and an acknowledge toggle cross, each through a
two-register synchronizer (`amaranth.lib.cdc.FFSynchronizer`):

    writing domain (`i`):  idle = (req == ack_seen);  i.ready = idle
                           on i.valid & idle:  held <- i.payload,  req <- ~req
    reading domain (`o`):  o.valid = (req_seen != ack);  o.payload = held
                           on o.valid & o.ready:  ack <- ~ack

`held` changes only while idle, i.e. after the reader's acknowledge of the previous item has
crossed back, and the reader sees `o.valid` only two of its cycles after `req` toggled, by when
`held` has long been stable: the payload path from `held` to the reader is an unrelated-clock
path that needs no timing (nextpnr lists it among the cross-domain delays, apart from either
clock's Fmax). No item is lost or duplicated (`tests/test_clock_crossing.py`, against a queue,
under random valid and ready in two unrelated clocks).

Rate: one item per round trip, about 3 cycles of each clock (synchronizer, toggle, sample).
Latency: 3 reading-domain cycles at most from `i.valid` to `o.valid`.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["Handshake"]


class Handshake(wiring.Component):
    """`i` in domain `i_domain`, `o` in domain `o_domain` (module docstring); `shape` the payload's."""

    def __init__(self, shape, *, i_domain: str, o_domain: str):
        for name, domain in (("Input", i_domain), ("Output", o_domain)):
            if not isinstance(domain, str) or not domain:
                raise TypeError(f"{name} clock domain must be a non-empty string, not {domain!r}")
        if i_domain == o_domain:
            raise ValueError(f"A clock crossing needs two different domains, not {i_domain!r} twice")
        self.i_domain, self.o_domain = i_domain, o_domain
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        write, read = m.d[self.i_domain], m.d[self.o_domain]
        req, ack = Signal(), Signal()                 # toggles: in the writing, in the reading domain
        req_seen, ack_seen = Signal(), Signal()       # each synchronized into the other domain
        held = Signal.like(self.i.payload)
        m.submodules.req_sync = FFSynchronizer(req, req_seen, o_domain=self.o_domain)
        m.submodules.ack_sync = FFSynchronizer(ack, ack_seen, o_domain=self.i_domain)

        # Writing side
        idle = req == ack_seen
        m.d.comb += self.i.ready.eq(idle)
        with m.If(self.i.valid & idle):
            write += [held.eq(self.i.payload), req.eq(~req)]

        # Reading side
        m.d.comb += [self.o.valid.eq(req_seen != ack), self.o.payload.eq(held)]
        with m.If(self.o.valid & self.o.ready):
            read += ack.eq(~ack)
        return m
