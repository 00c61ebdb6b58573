"""Fan-out trees (hw/fanout.py): shape, the copies in simulation, and that synthesis keeps them."""

import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hbnn.boards.unit_cells import synthesize_unit
from hbnn.hw import fanout
from clocked_bench import run_clocked


def test_depth_is_the_levels_of_a_tree_of_copies_per_register():
    f = fanout.COPIES_PER_REGISTER
    assert [fanout.depth(n) for n in (1, 2, f, f + 1, f * f, f * f + 1)] == [0, 1, 1, 2, 2, 3]
    assert [len(group) for group in fanout.groups(10)] == [4, 4, 2]


class Copies(wiring.Component):
    """`source` copied to consumers that each need some of its bits; `o[g]` = consumer g's copy."""

    def __init__(self, width: int, needs: list[set[int]], enabled: bool):
        self.needs, self.enabled = needs, enabled
        ports = {"i": In(width), "o": Out(width * len(needs))}
        if enabled:
            ports["en"] = In(1)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        copies = fanout.tree(m, self.i, self.needs, name="x", enable=self.en if self.enabled else None)
        width = len(self.i)
        for g, copy in enumerate(copies):
            m.d.comb += self.o[g * width:(g + 1) * width].eq(copy)
        self.replicas = {name: len(unit.i) for name, (unit, *_) in m._named_submodules.items()}
        return m


NEEDS = [{0, 1}, {1, 2, 3}, {7}, {0}, set(), {4, 5, 6}]         # 6 consumers: two levels


@pytest.mark.parametrize("enabled", [False, True])
def test_each_consumer_sees_its_bits_depth_enabled_cycles_later_and_zeros_elsewhere(enabled):
    dut = Copies(8, NEEDS, enabled)
    rng = random.Random(1)
    history, seen = [], []

    async def bench(ctx):
        for _ in range(60):
            value, enable = rng.randrange(256), (rng.random() < 0.6) if enabled else True
            ctx.set(dut.i, value)
            if enabled:
                ctx.set(dut.en, enable)
            await ctx.delay(1e-9)
            seen.append(ctx.get(dut.o))
            if enable:
                history.append(value)
            await ctx.tick()

    run_clocked(dut, bench)
    depth = fanout.depth(len(NEEDS))
    assert depth == 2
    # the enabled cycles before each observation; a copy shows the value fed `depth` of them ago
    enabled_before, count = [], 0
    rng = random.Random(1)
    for _ in range(60):
        rng.randrange(256)
        enable = (rng.random() < 0.6) if enabled else True
        enabled_before.append(count)
        count += enable
    checked = 0
    for n, output in enumerate(seen):
        if enabled_before[n] < depth:
            continue
        fed = history[enabled_before[n] - depth]
        for g, bits in enumerate(NEEDS):
            copy = (output >> (8 * g)) & 0xFF
            assert copy == sum(fed & (1 << bit) for bit in bits), (n, g)
        checked += 1
    assert checked > 20


def test_registers_copy_only_what_the_consumers_below_need_and_drive_at_most_f_copies():
    dut = Copies(8, NEEDS, False)
    Simulator(dut)           # elaborates
    widths = dut.replicas
    leaves = {name: width for name, width in widths.items() if "_l1_" in name}
    roots = {name: width for name, width in widths.items() if "_l0_" in name}
    assert sorted(leaves.values()) == sorted(len(bits) for bits in NEEDS if bits)    # the empty one has none
    assert len(roots) == 2 and sorted(roots.values()) == [3, 5]   # the union of 4 leaves, then of 2
    assert len(leaves) <= len(roots) * fanout.COPIES_PER_REGISTER


def test_synthesis_keeps_every_copy(tmp_path):
    """yosys would merge identical flip-flops into one; the kept `replica_*` modules stop it."""
    dut = Copies(8, [set(range(8))] * 8, False)
    cells = synthesize_unit(dut, tmp_path)
    assert cells.flip_flops == 8 * (2 + 8)        # two registers on level 0, eight leaves
