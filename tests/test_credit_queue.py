"""`hw.credit_queue.CreditQueue` in the Amaranth simulator against a Python deque: random writes
(never more items than its depth, as the credits guarantee) and random reads, every depth from 1
to a few above a power of two."""

import random
from collections import deque

import pytest

from hbnn.hw.credit_queue import CreditQueue
from clocked_bench import run_clocked


def run(depth: int, *, cycles: int, seed: int, write_chance: float, read_chance: float):
    """(values written, values read, (cycle written, cycle first offered) per value, levels
    seen against the model's item count)."""
    dut = CreditQueue(width=8, depth=depth)
    rng = random.Random(seed)
    written, read, offered_at, written_at = [], [], {}, {}
    model = deque()
    levels = []

    async def bench(ctx):
        for cycle in range(cycles):
            # the credits' rule: write only while fewer than `depth` items are held or leaving
            leaving = ctx.get(dut.r_rdy) and rng.random() < read_chance
            write = len(model) < depth and rng.random() < write_chance
            value = rng.randrange(256)
            ctx.set(dut.w_en, write)
            ctx.set(dut.w_data, value)
            ctx.set(dut.r_en, leaving)
            levels.append((ctx.get(dut.level), len(model)))
            assert not write or ctx.get(dut.w_rdy), f"w_rdy low below the depth at cycle {cycle}"
            if ctx.get(dut.r_rdy):
                offered_at.setdefault(len(read), cycle)
            if leaving:
                read.append(ctx.get(dut.r_data))
                model.popleft()
            if write:
                written.append(value)
                written_at[len(written) - 1] = cycle
                model.append(value)
            await ctx.tick()

    run_clocked(dut, bench)
    return written, read, written_at, offered_at, levels


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 8, 9, 35])
@pytest.mark.parametrize("write_chance, read_chance", [(0.9, 0.3), (0.5, 0.5), (0.3, 0.95), (1.0, 1.0)])
def test_every_item_leaves_once_in_order(depth, write_chance, read_chance):
    written, read, _, _, levels = run(depth, cycles=400, seed=depth, write_chance=write_chance,
                                      read_chance=read_chance)
    assert read == written[:len(read)]                   # in order, none lost or duplicated
    assert len(written) - len(read) <= depth
    assert len(read) > 20                                # the patterns did move items
    assert all(level <= depth for level, _ in levels)
    # `level` counts what the queue holds: items written last cycle are in it, items still in the
    # model's count but not yet written are not (the model counts them as they are written)
    assert all(level == held for level, held in levels)


@pytest.mark.parametrize("depth", [1, 4, 35])
def test_an_item_written_into_an_empty_queue_is_offered_two_cycles_later(depth):
    written, read, written_at, offered_at, _ = run(depth, cycles=300, seed=7, write_chance=0.1, read_chance=1.0)
    assert len(read) > 10
    # with reads always taken and rare writes, the queue is empty whenever a write arrives
    gaps = {offered_at[index] - written_at[index] for index in offered_at if index in written_at}
    assert gaps == {2}


def test_full_rate_when_the_sink_always_takes():
    written, read, *_ = run(35, cycles=300, seed=3, write_chance=1.0, read_chance=1.0)
    assert len(read) >= 300 - 3                          # one item per cycle after the 2-cycle fill


def test_bad_depth_is_refused():
    with pytest.raises(ValueError, match="at least one entry"):
        CreditQueue(width=8, depth=0)


@pytest.mark.parametrize("platform_name, block_rams", [("ulx3s-85f", 0), (None, 1)])
def test_on_the_ecp5_the_storage_is_lut_ram_not_a_block_ram_with_a_slow_output(tmp_path, platform_name, block_rams):
    # 64 entries of 36 bits: left to itself, yosys maps them to a DP16KD block RAM, whose
    # unregistered output was the critical path of the fully pipelined digits MLP (121-130 MHz)
    from hbnn.boards import get
    from hbnn.boards.unit_cells import synthesize_unit

    platform = get(platform_name).make_platform() if platform_name else None
    cells = synthesize_unit(CreditQueue(width=36, depth=40), tmp_path, platform=platform)
    assert cells.bram == block_rams
