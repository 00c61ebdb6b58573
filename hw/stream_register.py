"""`stream_register.Stage`: one register on a stream, with nothing combinational through it.

    o.valid = full, o.payload = held                 (registers)
    i.ready = ~full                                  (a register)
    full' = (full & ~o.ready) | (~full & i.valid),   held' = i.payload when ~full & i.valid

Neither `valid` nor `ready` passes through the stage combinationally, so a chain of stages turns
a long route (a board's UART bridge at the pins, the network core across the device) into
register-to-register hops that the placer can spread out. The price is rate: an item moves every
other cycle at most (the slot is emptied in one cycle and refilled in the next), which a UART
bridge, many thousand cycles per byte, never notices. No item is lost or duplicated
(`tests/test_stream_register.py` against a queue model). Latency: 1 cycle.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class Stage(wiring.Component):
    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        full = Signal()
        m.d.comb += [self.o.valid.eq(full), self.i.ready.eq(~full)]
        with m.If(full):
            with m.If(self.o.ready):
                m.d.sync += full.eq(0)
        with m.Elif(self.i.valid):
            m.d.sync += [full.eq(1), self.o.payload.eq(self.i.payload)]
        return m


def chain(m: Module, shape, stages: int, *, name: str) -> tuple:
    """`stages` Stages in a row inside `m`: (the first's input, the last's output) stream ports,
    or None when `stages` is 0."""
    if stages == 0:
        return None
    units = [Stage(shape) for _ in range(stages)]
    for index, unit in enumerate(units):
        m.submodules[f"{name}{index}"] = unit
    for before, after in zip(units, units[1:]):
        wiring.connect(m, before.o, after.i)
    return units[0].i, units[-1].o
