"""`hw.elastic.Credits` in the Amaranth simulator against a naive model: every item that enters
leaves once, in order, under random valid/ready patterns, long backpressure and multi-beat items;
full rate and the published latency when nothing holds it back."""

import random

import pytest
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hbnn.hw import elastic

WIDTH = 12


class Shift(wiring.Component):
    """A stalling stream pipeline of `latency` registers (as every hbnn stage): out = in + 1."""

    def __init__(self, latency: int):
        self.latency = latency
        super().__init__({"i": In(stream.Signature(WIDTH)), "o": Out(stream.Signature(WIDTH))})

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]
        valid, payload = self.i.valid, self.i.payload + 1
        for stage in range(self.latency):
            v, p = Signal(name=f"v{stage}"), Signal(WIDTH, name=f"p{stage}")
            with m.If(advance):
                m.d.sync += [v.eq(valid), p.eq(payload)]
            valid, payload = v, p
        m.d.comb += [self.o.valid.eq(valid), self.o.payload.eq(payload)]
        return m


class Collect(wiring.Component):
    """`beats` input beats per item, summed; the sum leaves `latency` cycles after the last beat.
    Drops `i.ready` on every 3rd cycle (a window generator at a padding position)."""

    def __init__(self, beats: int, latency: int):
        self.beats, self.latency = beats, latency
        super().__init__({"i": In(stream.Signature(WIDTH)), "o": Out(stream.Signature(WIDTH))})

    def elaborate(self, platform):
        m = Module()
        phase = Signal(range(3))
        m.d.sync += phase.eq(Mux(phase == 2, 0, phase + 1))
        m.d.comb += self.i.ready.eq(phase != 2)
        count, total = Signal(range(self.beats)), Signal(WIDTH)
        done, result = Signal(), Signal(WIDTH)
        m.d.sync += done.eq(0)
        with m.If(self.i.valid & self.i.ready):
            last = count == self.beats - 1
            m.d.sync += [count.eq(Mux(last, 0, count + 1)), total.eq(Mux(last, 0, total + self.i.payload))]
            with m.If(last):
                m.d.sync += [done.eq(1), result.eq(total + self.i.payload)]
        valid, payload = done, result
        for stage in range(self.latency - 1):
            v, p = Signal(name=f"v{stage}"), Signal(WIDTH, name=f"p{stage}")
            m.d.sync += [v.eq(valid), p.eq(payload)]
            valid, payload = v, p
        m.d.comb += [self.o.valid.eq(valid), self.o.payload.eq(payload)]
        return m


def run(dut, *, cycles: int, valid, ready, items):
    """Drive `items` (a list of input beats) with valid(cycle) and ready(cycle) patterns; returns
    (accepted beats, delivered outputs as (cycle, value), cycles at which beats were accepted).
    Fails if the FIFO is ever written while full."""
    accepted, delivered, accept_cycles = [], [], []

    async def bench(ctx):
        queue = dut.queue
        for cycle in range(cycles):
            beat = items[len(accepted)] if len(accepted) < len(items) else None
            ctx.set(dut.i.valid, beat is not None and valid(cycle))
            ctx.set(dut.i.payload, beat or 0)
            ctx.set(dut.o.ready, ready(cycle))
            await ctx.delay(1e-9)          # let the combinational ready settle
            if ctx.get(queue.w_en):
                assert ctx.get(queue.w_rdy), f"FIFO overflow at cycle {cycle}"
            if ctx.get(dut.i.valid) and ctx.get(dut.i.ready):
                accepted.append(beat)
                accept_cycles.append(cycle)
            if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
                delivered.append((cycle, ctx.get(dut.o.payload)))
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    simulator.add_testbench(bench)
    simulator.run()
    return accepted, delivered, accept_cycles


@pytest.mark.parametrize("latency, seed", [(0, 1), (1, 2), (4, 3), (9, 4)])
def test_every_item_leaves_once_in_order_under_random_valid_and_ready(latency, seed):
    rng = random.Random(seed)
    for valid_p, ready_p in ((0.9, 0.3), (0.5, 0.5), (0.2, 0.95), (1.0, 0.7)):
        dut = elastic.Credits(Shift(latency), latency=latency)
        pattern_v = [rng.random() < valid_p for _ in range(400)]
        pattern_r = [rng.random() < ready_p for _ in range(400)] + [True] * 100      # then drain
        items = [rng.randrange(1 << (WIDTH - 1)) for _ in range(300)]
        accepted, delivered, _ = run(dut, cycles=500, valid=lambda c: c < 400 and pattern_v[c],
                                     ready=lambda c: pattern_r[c], items=items)
        assert len(accepted) > 50
        assert [value for _, value in delivered] == [x + 1 for x in accepted]      # none lost, none twice


def test_a_long_backpressure_stretch_loses_nothing_and_admits_only_what_fits():
    latency = 6
    dut = elastic.Credits(Shift(latency), latency=latency)
    rng = random.Random(9)
    stall = range(50, 50 + rng.randrange(150, 250))
    items = list(range(1, 400))
    accepted, delivered, accept_cycles = run(dut, cycles=600, valid=lambda c: c < 550,
                                             ready=lambda c: c not in stall, items=items)
    during = [c for c in accept_cycles if c in stall]
    assert len(during) <= dut.depth                   # the reserved slots, and no more
    assert [value for _, value in delivered] == [x + 1 for x in accepted] and len(accepted) > 300


@pytest.mark.parametrize("latency", [0, 3, 11])
def test_full_rate_and_the_published_latency_when_nothing_holds_it_back(latency):
    dut = elastic.Credits(Shift(latency), latency=latency)
    assert dut.depth == elastic.depth_for(latency) and dut.latency == latency + 2
    accepted, delivered, accept_cycles = run(dut, cycles=200, valid=lambda c: True, ready=lambda c: True,
                                             items=list(range(1, 1000)))
    assert accept_cycles == list(range(200))          # one item per cycle, never refused
    assert delivered[0][0] == dut.latency             # the first result, `latency` cycles later
    assert [c for c, _ in delivered] == list(range(dut.latency, 200))
    # one entry fewer and the credit round trip shows: the rate drops below one per cycle
    short = elastic.Credits(Shift(latency), latency=latency, depth=dut.depth - 1)
    _, _, refused = run(short, cycles=200, valid=lambda c: True, ready=lambda c: True, items=list(range(1, 1000)))
    assert len(refused) < 195


@pytest.mark.parametrize("beats, latency, seed", [(3, 2, 5), (5, 4, 6)])
def test_multi_beat_items_take_one_credit_per_item(beats, latency, seed):
    rng = random.Random(seed)
    for ready_p in (0.2, 0.6, 1.0):
        dut = elastic.Credits(Collect(beats, latency), latency=latency, beats_per_item=beats, depth=2)
        pattern_v = [rng.random() < 0.8 for _ in range(600)]
        pattern_r = [rng.random() < ready_p for _ in range(600)] + [True] * 100
        items = [rng.randrange(1, 50) for _ in range(3 * beats * 60)]
        accepted, delivered, _ = run(dut, cycles=700, valid=lambda c: c < 600 and pattern_v[c],
                                     ready=lambda c: pattern_r[c], items=items)
        whole = len(accepted) // beats
        sums = [sum(accepted[n * beats:(n + 1) * beats]) % (1 << WIDTH) for n in range(whole)]
        assert whole >= 10
        assert [value for _, value in delivered] == sums


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="latency must be >= 0"):
        elastic.depth_for(-1)
    inner = Shift(1)
    inner._MustUse__silence = True                    # refused with it, so never elaborated
    with pytest.raises(ValueError, match="at least one entry"):
        elastic.Credits(inner, latency=1, depth=0)
