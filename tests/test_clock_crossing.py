# amaranth: UnusedElaboratable=no
"""clock_crossing.Handshake against a queue model: a writer and a reader on two unrelated clocks
(either faster), random valid and ready for a few hundred items; nothing lost, duplicated or
reordered, and the reader's payload never changes while it is offered."""

import random
import re

import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from hbnn.hw import clock_crossing


@pytest.mark.parametrize("write_period, read_period, seed", [
    (1e-6, 0.13e-6, 0), (1e-6, 0.37e-6, 1), (0.2e-6, 1.1e-6, 2), (0.5e-6, 0.5e-6, 3)])
def test_every_item_crosses_once_in_order(write_period, read_period, seed):
    dut = clock_crossing.Handshake(12, i_domain="write", o_domain="read")
    top = Module()
    top.submodules.dut = dut
    top.domains.write = ClockDomain("write")
    top.domains.read = ClockDomain("read")
    rng = random.Random(seed)
    items = [rng.getrandbits(12) for _ in range(150)]
    sent, received = [], []

    async def writer(ctx):
        index = 0
        while index < len(items):
            valid = rng.random() < 0.7
            ctx.set(dut.i.valid, valid)
            ctx.set(dut.i.payload, items[index] if valid else rng.getrandbits(12))   # junk when idle
            _, _, ready = await ctx.tick("write").sample(dut.i.ready)
            if valid and ready:
                sent.append(items[index])
                index += 1
        ctx.set(dut.i.valid, 0)

    async def reader(ctx):
        offered = None                    # the payload on offer, which must hold until taken
        while len(received) < len(items):
            ready = rng.random() < (0.2 if 50 <= len(received) < 80 else 0.8)   # a stretch of backpressure
            ctx.set(dut.o.ready, ready)
            _, _, valid, payload = await ctx.tick("read").sample(dut.o.valid, dut.o.payload)
            if valid:
                assert offered is None or payload == offered, "payload changed while offered"
                offered = payload
                if ready:
                    received.append(payload)
                    offered = None
        # nothing more comes out
        ctx.set(dut.o.ready, 1)
        for _ in range(20):
            _, _, valid = await ctx.tick("read").sample(dut.o.valid)
            assert not valid

    simulator = Simulator(top)
    simulator.add_clock(write_period, domain="write")
    simulator.add_clock(read_period, domain="read", phase=read_period / 3)
    simulator.add_testbench(writer)
    simulator.add_testbench(reader)
    simulator.run()
    assert sent == items and received == items


def test_constructor_errors():
    with pytest.raises(ValueError, match=re.escape("A clock crossing needs two different domains, not 'sync' twice")):
        clock_crossing.Handshake(8, i_domain="sync", o_domain="sync")
    with pytest.raises(TypeError, match=re.escape("Output clock domain must be a non-empty string, not ''")):
        clock_crossing.Handshake(8, i_domain="sync", o_domain="")
