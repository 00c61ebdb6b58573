"""stream_register.Stage and chains of it against a queue model: random valid and ready for a
few hundred cycles, nothing lost, duplicated or reordered, and no combinational path through."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hbnn.hw import stream_register
from clocked_bench import run_clocked


class Chain(wiring.Component):
    def __init__(self, stages: int):
        self.stages = stages
        super().__init__({"i": In(stream.Signature(8)), "o": Out(stream.Signature(8))})

    def elaborate(self, platform):
        m = Module()
        first, last = stream_register.chain(m, 8, self.stages, name="stage")
        wiring.connect(m, wiring.flipped(self.i), first)
        wiring.connect(m, last, wiring.flipped(self.o))
        return m


@pytest.mark.parametrize("stages, seed", [(1, 0), (1, 1), (3, 2), (3, 3)])
def test_a_chain_passes_every_item_once_in_order(stages, seed):
    dut = Chain(stages)
    rng = random.Random(seed)
    items = [rng.randrange(256) for _ in range(120)]
    received, sent = [], []
    readies = []

    async def bench(ctx):
        index = 0
        for cycle in range(1200):
            valid = index < len(items) and rng.random() < 0.7
            ready = rng.random() < (0.2 if 300 <= cycle < 500 else 0.7)     # a stretch of backpressure
            ctx.set(dut.i.valid, valid)
            ctx.set(dut.i.payload, items[index] if index < len(items) else 0)
            ctx.set(dut.o.ready, ready)
            i_ready = ctx.get(dut.i.ready)
            o_valid, o_payload = ctx.get(dut.o.valid), ctx.get(dut.o.payload)
            readies.append(i_ready)
            if valid and i_ready:
                sent.append(items[index])
                index += 1
            if o_valid and ready:
                received.append(o_payload)
            await ctx.tick()

    run_clocked(dut, bench)
    assert sent == items and received == items


def test_nothing_passes_combinationally():
    """i.ready does not follow o.ready, and o.valid does not follow i.valid, within a cycle."""
    dut = stream_register.Stage(8)

    async def bench(ctx):
        for o_ready in (0, 1):
            ctx.set(dut.o.ready, o_ready)
            assert ctx.get(dut.i.ready) == 1            # empty: ready whatever the sink does
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload, 42)
        assert ctx.get(dut.o.valid) == 0                # not before the clock edge
        ctx.set(dut.o.ready, 0)
        await ctx.tick()
        ctx.set(dut.i.valid, 0)
        assert (ctx.get(dut.o.valid), ctx.get(dut.o.payload), ctx.get(dut.i.ready)) == (1, 42, 0)
        ctx.set(dut.o.ready, 1)
        assert ctx.get(dut.i.ready) == 0                # still full until the edge
        await ctx.tick()
        assert (ctx.get(dut.o.valid), ctx.get(dut.i.ready)) == (0, 1)

    run_clocked(dut, bench)
