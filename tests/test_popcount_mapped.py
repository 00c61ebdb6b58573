# amaranth: UnusedElaboratable=no
"""The mapped popcount strategy: vendor-cell trees against a reference popcount.

Three tiers, each of which a wrong cell table or a wrong chain would fail:
- the Amaranth simulator on behavioural cells (exhaustive for small widths, random for large, with
  pipeline registers and multi-bit elements);
- a yosys SAT proof that the Instance netlist, read with yosys's own models of SB_LUT4/SB_CARRY and
  CCU2C, equals the generic adder tree;
- whole networks in the Amaranth simulator and in Icarus (cocotb), against the golden model.
"""

import json
import random

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from hbnn.boards.chain_starts import free_chain_starts, ignores_carry_in
from hbnn.hw import carry_chain
from hbnn.hw.generate import generate
from hbnn.hw.buildable import UnsupportedLayout, check_buildable
from hbnn.hw.families import FAMILIES
from hbnn.model.errors import ConfigError
from hbnn.hw.popcount import Tree
from hbnn.hw.popcount_strategy import GENERIC, Strategy, strategy_for
from hbnn.hw.popcount_mapped import Tree as MappedTree
from hbnn.hw.popcount_mapped import adders_by_level, plan
from hbnn.hw.primitives import Cells, half_init, lut_init, simulation_models
from random_layouts import random_network
from hbnn.sim.network_check import check
from hbnn.sim.runner import simulate
from test_popcount_library import prove



def buildable_network(seed: int, structure: str):
    """The first random network from `seed` on that the generator can build."""
    for candidate in range(seed, seed + 500):
        network = random_network(candidate, structure)
        try:
            check_buildable(network)
        except UnsupportedLayout:
            continue
        return network
    raise AssertionError(f"no buildable {structure} network from seed {seed}")


def counts_of(tree, vectors, *, element_bits=1):
    """The tree's output for each input vector (registered trees: after their latency)."""
    outputs = []

    async def bench(ctx):
        for vector in vectors + [0] * tree.latency:
            ctx.set(tree.i, vector)
            if tree.latency:
                await ctx.tick()
            outputs.append(ctx.get(tree.o))

    simulator = Simulator(tree)
    if tree.latency:
        simulator.add_clock(1e-6)
    simulator.add_testbench(bench)
    simulator.run()
    return outputs[tree.latency - 1:][:len(vectors)] if tree.latency else outputs


def reference(vector, width, element_bits=1):
    mask = (1 << element_bits) - 1
    return sum(vector >> (element_bits * n) & mask for n in range(width))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 7, 9])
def test_small_trees_count_every_input_exhaustively(family, width):
    tree = MappedTree(width, family=family, behavioural=True)
    vectors = list(range(1 << width))
    assert counts_of(tree, vectors) == [bin(v).count("1") for v in vectors]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("width, element_bits, levels", [
    (64, 1, ()), (100, 1, ()), (257, 1, ()), (64, 1, (2, 4)), (100, 1, (1, 3, 5, 7, 8)),
    (12, 3, ()), (9, 2, (2, 5))])
def test_large_trees_count_random_inputs(family, width, element_bits, levels):
    rng = random.Random(width * 7 + element_bits)
    tree = MappedTree(width, family=family, element_bits=element_bits, registered_levels=levels,
                      behavioural=True)
    vectors = [rng.getrandbits(width * element_bits) for _ in range(120)] + [0, (1 << width * element_bits) - 1]
    assert tree.latency == len(levels)
    assert counts_of(tree, vectors) == [reference(v, width, element_bits) for v in vectors]


def test_plan_absorbs_one_input_per_adder_as_carry_in():
    root = plan(list(range(15)), absorb=True)
    levels = adders_by_level(root)
    assert sorted(levels) == [1, 2, 3]                         # 15 = 2^4 - 1 bits: 3 adder levels
    assert [len(levels[level]) for level in (1, 2, 3)] == [4, 2, 1]
    assert all(adder.carry is not None for adders in levels.values() for adder in adders)


def test_cell_tables_agree_with_yosys_own_adder_cells():
    # yosys's iCE40 adder LUT is 0x6996 with I0 tied 0; ECP5's adder half is 0x96AA with C = 0, D = 1
    yosys_ice40, yosys_ecp5 = 0b0110_1001_1001_0110, 0b1001_0110_1010_1010
    used_ice40 = [k for k in range(16) if not k & 1]                   # I0 = 0
    assert all((carry_chain.XOR3 >> k & 1) == (yosys_ice40 >> k & 1) for k in used_ice40)
    used_ecp5 = [8, 9, 10, 11, 0, 1, 2, 3]                               # P at C = 0, D = 1; G
    assert all((carry_chain.SUM_HALF >> k & 1) == (yosys_ecp5 >> k & 1) for k in used_ecp5)
    assert carry_chain.FEED == lut_init(lambda i0, i1, i2, i3: i3) == 0xFF00
    assert carry_chain.PASS_HALF == half_init(lambda a, b, c: 0, lambda a, b: a) == 0x000A


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("width", [6, 11])
def test_instance_netlist_equals_generic_tree_under_yosys_models(tmp_path, family, width):
    """A SAT proof over all inputs, with the cells' meaning taken from yosys's models."""
    inline = verilog.convert(Tree(width), name="inline", emit_src=False)
    mapped = verilog.convert(MappedTree(width, family=family), name="shared", emit_src=False)
    assert ("SB_LUT4" if family == "ice40" else "CCU2C") in mapped
    (tmp_path / "inline.v").write_text(inline)
    (tmp_path / "shared.v").write_text(mapped + "\n" + simulation_models(family))
    result = prove(tmp_path)
    assert result.returncode == 0, result.stdout[-800:] + result.stderr[-800:]


def test_the_proof_catches_a_wrong_cell_table(tmp_path, monkeypatch):
    monkeypatch.setattr(carry_chain, "SUM_HALF", carry_chain.SUM_HALF ^ 1 << 9)   # P(A=1, B=0) flipped
    (tmp_path / "inline.v").write_text(verilog.convert(Tree(6), name="inline", emit_src=False))
    (tmp_path / "shared.v").write_text(verilog.convert(MappedTree(6, family="ecp5"), name="shared",
                                                       emit_src=False) + "\n" + simulation_models("ecp5"))
    assert prove(tmp_path).returncode != 0


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed, structure", [(7, "mlp"), (3, "conv1d"), (4, "conv2d")])
def test_mapped_networks_are_bit_exact_in_the_amaranth_simulator(family, seed, structure):
    network = buildable_network(seed, structure)
    pixels = np.random.default_rng(seed).integers(0, 1 << network.pixel_bits,
                                                  size=(5,) + tuple(network.input_shape))
    result = check(network, pixels, pipeline=1, popcount=Strategy("mapped", family), seed=seed)
    assert result.bit_exact, result.mismatches[:5]


@pytest.mark.parametrize("family", FAMILIES)
def test_mapped_network_verilog_is_bit_exact_in_icarus(tmp_path, family):
    network = random_network(7, "mlp")
    pixels = np.random.default_rng(2).integers(0, 1 << network.pixel_bits, size=(12,) + tuple(network.input_shape))
    generated = generate(network, tmp_path / "net.v", pipeline=2, popcount=Strategy("mapped", family))
    assert generated.info["popcount"] == {"strategy": "mapped", "family": family}
    report = simulate(network, generated.verilog, generated.description, pixels, build_dir=tmp_path / "build",
                      seed=1)
    assert report.bit_exact, report.mismatches[:5]


def test_strategy_validation():
    assert strategy_for("generic", "ecp5") == GENERIC
    assert strategy_for("mapped", "ice40").label == "mapped-ice40"
    assert strategy_for("cse", "ecp5") == Strategy("cse") and Strategy("cse").label == "cse"
    with pytest.raises(ConfigError, match=r"^unknown popcount strategy 'fast'; choose one of: generic, mapped, cse$"):
        Strategy("fast")
    with pytest.raises(ConfigError, match=r"^the cse popcount strategy takes no FPGA family, not 'ecp5'"):
        Strategy("cse", "ecp5")
    with pytest.raises(ValueError, match=r"^the cse strategy builds no popcounts"):
        Strategy("cse").tree(8)
    with pytest.raises(ConfigError, match=r"^the mapped popcount strategy needs an FPGA family \(ice40 or ecp5\)"):
        Strategy("mapped")
    with pytest.raises(ConfigError, match=r"^the generic popcount strategy takes no FPGA family, not 'ice40'"):
        Strategy("generic", "ice40")
    with pytest.raises(ConfigError, match=r"^unknown FPGA family 'xc7'; choose one of: ice40, ecp5$"):
        Cells("xc7", behavioural=True)
    with pytest.raises(ValueError, match=r"^Carry chain length must be an integer of at least 2, not 1$"):
        MappedTree(8, family="ice40", max_cells=1)


def _ccu2c(init0, cin, cout):
    return {"type": "CCU2C", "parameters": {"INIT0": format(init0, "016b"), "INJECT1_0": "NO"},
            "port_directions": {"CIN": "input", "COUT": "output", "D0": "input"},
            "connections": {"CIN": cin, "COUT": cout, "D0": ["1"]}}


def test_chain_starts_are_freed_only_where_the_carry_in_is_ignored(tmp_path):
    cells = {"start": _ccu2c(carry_chain.PASS_HALF, ["0"], [5]), "middle": _ccu2c(carry_chain.SUM_HALF, [5], [6]),
             "adder": _ccu2c(carry_chain.SUM_HALF, ["0"], [7]), "reader": {
                 "type": "LUT4", "parameters": {}, "port_directions": {"A": "input"}, "connections": {"A": [7]}}}
    path = tmp_path / "top.json"
    path.write_text(json.dumps({"modules": {"top": {"ports": {}, "cells": cells}}}))
    assert ignores_carry_in(cells["start"]) and not ignores_carry_in(cells["adder"])
    assert free_chain_starts(path) == 1
    freed = json.loads(path.read_text())["modules"]["top"]["cells"]
    assert freed["start"]["connections"]["CIN"] == ["x"]          # a Pass half ignores it
    assert freed["adder"]["connections"]["CIN"] == ["0"]          # a Sum half reads it
    assert freed["middle"]["connections"]["COUT"] == ["x"]        # nothing reads carry 6
    assert freed["adder"]["connections"]["COUT"] == [7]           # a LUT reads carry 7


def test_cli_generates_mapped_verilog_and_needs_a_family(tmp_path, capsys):
    from hbnn.cli import main
    from hbnn.model import layout

    path = layout.save(random_network(7, "mlp"), tmp_path / "net.npz")
    try:
        code = main(["generate", str(path), "--popcount", "mapped"])
    except SystemExit as exit:
        code = exit.code
    assert code == 2
    assert capsys.readouterr().err == ("hbnn: error: --popcount mapped needs --family ice40 or ecp5 "
                                       "(the cells to instantiate)\n")
    assert not (tmp_path / "net.v").exists()
    assert main(["generate", str(path), "--popcount", "mapped", "--family", "ice40",
                 "-o", str(tmp_path / "net.v")]) == 0
    text = (tmp_path / "net.v").read_text()
    assert "SB_CARRY" in text and "SB_LUT4" in text and "CCU2C" not in text
    assert json.loads((tmp_path / "net.json").read_text())["popcount"]["family"] == "ice40"
