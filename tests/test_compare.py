# amaranth: UnusedElaboratable=no
"""`hbnn compare` (and `hbnn demo`, which is compare on the defaults): a small real run end to end,
a rerun that reuses every step, and bad input refused before any work. (Compare is a sweep of one
hardware setting: tests/test_sweep.py tests the machinery itself.)"""

import csv
import json
from pathlib import Path

import pytest

from hbnn import boards, step_keys
from hbnn import compare as compare_module
from hbnn.compare import compare
from hbnn.compare_output import COLUMNS
from hbnn.model.config import net_config
from hbnn.model.errors import ConfigError
from hbnn.tools import ToolMissing


@pytest.fixture(scope="module")
def small_comparison(tmp_path_factory):
    """The digits MLP at width 4 (so two designs place and route in about a minute) on the 25F:
    1 bit and 1.4 bits with random allocation, three training seeds each."""
    root = tmp_path_factory.mktemp("compare")
    messages = []
    result = compare(dataset="digits", net="mlp", mixes=("1", "1.4:random"), board=boards.get("ulx3s-25f"),
                     width=4, images=6, root=root, say=messages.append, workers=2)
    return result, root, messages


def test_compare_measures_every_mix(small_comparison):
    result, root, messages = small_comparison
    one, random14 = result.rows
    assert (one.weights, one.allocation, random14.weights, random14.allocation) == ("1", "middle-out", "1.4", "random")
    assert (one.label, random14.label) == ("1", "1.4:random") and one.width == random14.width == 4
    assert one.average_bits == 1.0 and random14.average_bits == pytest.approx(1.4, abs=0.01)
    assert one.lut4 < random14.lut4                         # more weight bits, more LUTs
    assert one.synthesis.placement.logic.available == 24288
    for row in result.rows:
        assert row.seeds == (0, 1, 2) and len(row.seed_accuracies) == 3
        assert row.accuracy_std > 0                          # three different nets
        # the built design is the median seed's: at most one seed on either side of its accuracy
        assert sum(a < row.accuracy for a in row.seed_accuracies) <= 1
        assert sum(a > row.accuracy for a in row.seed_accuracies) <= 1
        assert row.simulated_images == 6 and 0.5 < row.accuracy <= 1
        assert row.accuracy == row.float_accuracy            # export is exact
        assert row.synthesis.placement.fmax_mhz > 10 and row.synthesis.initiation_interval == 1
        assert row.energy["fpga_nj_per_image"] > 0 and row.energy["transistors"] > 1000
        assert 0 < row.energy["activity_factor"] < 1
        assert row.layout.endswith(f"-s{row.hardware_seed}.npz")   # the median seed's layout was built
    assert result.lut_ratio("1", "1.4:random") == pytest.approx(one.lut4 / random14.lut4)
    assert result.lut_ratio() is None                        # no 1.4-bit Middle-Out row here
    assert any("bit-exact on 6 test images" in message for message in messages)
    # 6 trainings, 2 checks, 2 builds, none of them found in the (empty) store
    assert any("| 10/10 done (0 reused)" in message for message in messages)


def test_compare_writes_csv_json_and_plot(small_comparison):
    result, root, _ = small_comparison
    folder = root / "compare" / "digits-mlp-width4-ulx3s-25f"
    assert result.outputs == {"csv": str(folder / "compare.csv"), "json": str(folder / "compare.json"),
                              "plot": str(folder / "compare.png")}
    rows = list(csv.DictReader(open(result.outputs["csv"])))
    assert tuple(rows[0]) == COLUMNS and [(row["weights"], row["allocation"]) for row in rows] == [
        ("1", "middle-out"), ("1.4", "random")]
    assert int(rows[1]["lut4"]) == result.rows[1].lut4
    for row, measured in zip(rows, result.rows):
        assert row["seeds"] == "0 1 2" and int(row["hardware_seed"]) == measured.hardware_seed
        assert float(row["accuracy_percent"]) == pytest.approx(100 * measured.accuracy_mean, abs=0.01)
        assert float(row["accuracy_std_percent"]) == pytest.approx(100 * measured.accuracy_std, abs=0.01)
        fmax, cycles = float(row["fmax_mhz"]), int(row["latency_cycles"])
        # latency and area-delay from the synthesis report's cycles and Fmax
        assert cycles >= 3 and float(row["latency_ns"]) == pytest.approx(cycles * 1e3 / fmax, rel=1e-3)
        assert int(row["lut4_ns"]) == pytest.approx(int(row["lut4"]) * 1e3 / fmax, rel=1e-3)      # II = 1
    # the cheapest design is always on the LUT4 front; the other only if it is more accurate
    cheap, costly = sorted(result.rows, key=lambda row: row.lut4)
    flags = {row["allocation"]: row["pareto_lut4"] == "True" for row in rows}
    assert flags[cheap.allocation] and flags[costly.allocation] == (costly.accuracy_mean > cheap.accuracy_mean)
    document = json.loads(open(result.outputs["json"]).read())
    assert document["board"] == "ulx3s-25f" and document["paper_assumed_ratio_1.4_over_2"] == 0.70
    assert document["training_seeds"] == [0, 1, 2]
    assert document["details"][0]["synthesis"]["placement"]["logic"]["available"] == 24288
    assert open(result.outputs["plot"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert not list(root.rglob("*.partial")) and not list(root.rglob("*.tmp"))


def test_a_rerun_reuses_every_step(small_comparison):
    from hbnn.step_store import Store

    measured, root, _ = small_comparison
    with Store(root / "sweep.sqlite") as store:
        before = store.executions()
    messages = []
    again = compare(dataset="digits", net="mlp", mixes=("1", "1.4:random"), board=boards.get("ulx3s-25f"),
                    width=4, images=6, root=root, say=messages.append, workers=2)
    with Store(root / "sweep.sqlite") as store:
        assert store.executions() == before                    # nothing ran
    assert again.rows == measured.rows and messages == []


def test_a_design_that_does_not_fit_stays_a_row_and_leaves_the_fronts(small_comparison):
    """The same two designs on a board with room for the 1-bit one only: the 1.4-bit row keeps its
    accuracy and LUT4, says why it does not fit, and is on no front; the comparison goes on."""
    from dataclasses import replace

    from hbnn.compare_output import format_table, table_rows

    measured, root, _ = small_comparison
    one, random14 = measured.rows
    room = (one.lut4 + random14.lut4) // 2
    board = boards.get("ulx3s-25f")
    small = replace(board, name="small25f", capacity=replace(board.capacity, logic=room))
    result = compare(dataset="digits", net="mlp", mixes=("1", "1.4:random"), board=small, width=4, images=6,
                     root=root, say=lambda message: None)
    placed, too_big = result.rows
    assert placed.fits and placed.lut4 == one.lut4 and placed.energy["fpga_nj_per_image"] > 0
    assert not too_big.fits and too_big.synthesis is None and too_big.lut4 == random14.lut4
    assert too_big.energy is None and too_big.build is None          # nothing measured for it
    assert too_big.does_not_fit == (f"the design needs {random14.lut4:,} LUT4 sites but small25f has {room:,} "
                                    f"(LUT4 {random14.synthesis.cells.lut4:,}, carry {random14.synthesis.cells.carry:,}, "
                                    f"FF {random14.synthesis.cells.flip_flops:,})")
    assert too_big.seed_accuracies == random14.seed_accuracies           # its accuracy still counts
    flat = table_rows(result.rows)
    assert [row["pareto_lut4"] for row in flat] == [True, False] and flat[1]["fmax_mhz"] is None
    assert [row["pareto_energy"] for row in flat] == [True, False]
    assert f"does not fit: {too_big.does_not_fit}" in format_table(result.rows, small)
    assert open(result.outputs["plot"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_trained_net_is_reused_only_for_the_same_net_and_seed():
    from hbnn.sweep import train_inputs

    key = step_keys.step_key("train", train_inputs(net_config("digits", "mlp", weights="1", width=2), 3))
    assert key == step_keys.step_key("train", train_inputs(net_config("digits", "mlp", weights="1", width=2), 3))
    for config, seed in ((net_config("digits", "mlp", weights="1", width=3), 3),
                         (net_config("digits", "mlp", weights="1", width=2), 4),
                         (net_config("digits", "mlp", weights="1", width=2, method="pq"), 3)):
        assert step_keys.step_key("train", train_inputs(config, seed)) != key


def test_the_median_seed_is_the_middle_one_ranked_by_accuracy_then_seed():
    assert compare_module.median_seed({0: 0.9, 1: 0.8, 2: 0.95}) == 0
    assert compare_module.median_seed({0: 0.9, 1: 0.8, 2: 0.95, 3: 0.85}) == 3      # 0.85 < 0.9
    assert compare_module.median_seed({5: 0.9, 6: 0.9, 7: 0.9}) == 6
    assert compare_module.median_seed({4: 0.7}) == 4


def test_the_plan_crosses_mixes_with_widths_and_names_allocations(tmp_path):
    checked = compare_module.plan(mixes=("1", "1.4", "1.4:random"), width=(8, 16), seeds=2, seed=5,
                                  board=boards.get("ulx3s-25f"), root=tmp_path, energy=False)
    assert [(point.label, point.width) for point in checked.points] == [
        ("1", 8), ("1.4", 8), ("1.4:random", 8), ("1", 16), ("1.4", 16), ("1.4:random", 16)]
    assert [config.allocation for config in checked.configs[:3]] == ["middle-out", "middle-out", "random"]
    assert checked.configs[3].layers[0].out == 16 and checked.seeds == (5, 6)
    assert checked.name == "digits-mlp-width8-16-ulx3s-25f"
    assert checked.checkpoint_suffix(checked.points[4]) == "-width16"
    assert checked.images == 20
    mixed = compare_module.plan(mixes=("1", "2", "1@24", "1.4:random@12"), width=8, board=boards.get("ulx3s-25f"),
                                root=tmp_path, energy=False)
    assert [(point.label, point.width) for point in mixed.points] == [("1", 8), ("2", 8), ("1", 24), ("1.4:random", 12)]
    assert mixed.name == "digits-mlp-width8-12-24-ulx3s-25f"
    assert compare_module.plan(images="all", board=boards.get("ulx3s-25f"), root=tmp_path).images is None
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("options, message", [
    ({"mixes": ()}, "no bit mixes given; name at least one, e.g. 1,1.4,2"),
    ({"mixes": ("1", "1.4", "seven")}, "unknown weight mix 'seven'; give percentages like 70/20/10 or one of: "),
    ({"images": 0}, "images must be a positive integer, not 0"),
    ({"pipeline": -1}, "the pipeline setting must be a non-negative integer or 'full', not -1"),
    ({"seed": -2}, "seed must be a non-negative integer, not -2"),
    ({"seeds": 0}, "seeds must be a positive integer, not 0"),
    ({"mixes": ("1.4:sideways",)}, "unknown allocation 'sideways'"),
    ({"mixes": ("1.4:random", "70/20/10:random")}, "bit mixes 1.4:random, 70/20/10:random name the same design"),
    ({"mixes": ("1@32", "1"), "width": 32}, "bit mixes 1@32 name the same design; give each once"),
    ({"mixes": ("1", "1@32")}, "bit mixes 1, 1@32 name the same design; give each once"),     # 32: the default
    ({"mixes": ("1@wide",)}, "the width after @ in '1@wide' must be a positive integer, like 1@96"),
    ({"mixes": ("1@0",)}, "width must be a positive integer, not 0"),
    ({"width": (8, 8)}, "widths 8, 8 repeat a width; give each once"),
    ({"width": (8, 0)}, "width must be a positive integer, not 0"),
    ({"placement_seeds": 0}, "placement seeds must be a positive integer, not 0"),
    ({"popcount": "fast"}, "unknown popcount strategy 'fast'; choose one of: generic, mapped"),
    ({"simulator": "questa"}, "unknown simulator 'questa'; choose one of: icarus, verilator"),
])
def test_compare_checks_everything_before_any_work(tmp_path, options, message):
    """The library call refuses as the command line does (tests/test_cli.py has the CLI's table)."""
    with pytest.raises(ConfigError) as error:
        compare(**{"board": boards.get("ulx3s-25f"), "root": tmp_path, **options})
    assert str(error.value).startswith(message)
    assert not list(tmp_path.iterdir())


def test_a_missing_program_is_found_before_training(tmp_path, monkeypatch):
    assert compare_module.plan(board=boards.get("ulx3s-25f"), simulator="verilator", energy=False,
                               root=tmp_path).mixes == compare_module.DEFAULT_MIXES
    monkeypatch.setenv("PATH", "/nonexistent")           # no Icarus Verilog
    with pytest.raises(ToolMissing, match=r"^iverilog is not installed on PATH"):
        compare(board=boards.get("ulx3s-25f"), root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_demo_is_compare_on_the_defaults():
    from hbnn import commands

    assert commands.DEMO["mixes"] == ("1", "1.2", "1.4", "2") and commands.DEMO["board"] == "ulx3s-85f"
    assert commands.DEMO["ratio_digits"] == 1 and commands.DEMO["popcount"] == "generic"


def test_a_comparison_with_a_folded_layer(small_comparison, tmp_path):
    """`fold`: the second layer folded onto 1 PE of 4 lanes, simulated bit-exact and built; the
    design takes an image every time the folded layer finishes one, and its weights and gather
    copies are block RAM the unrolled design (the small comparison's) does not have. (At this
    width, 40 weights, the folded layer costs more LUT4 than the unrolled one: docs/folded.md.)"""
    from hbnn.hw.fold_schedule import Folding
    from hbnn.hw.folded import Layer
    from hbnn.model.layout import load

    _, root, _ = small_comparison
    messages = []
    result = compare(dataset="digits", net="mlp", mixes=("1.4:random",), board=boards.get("ulx3s-25f"), width=4,
                     images=6, root=root, say=messages.append, workers=2, energy=False,
                     fold={1: Folding(pe=1, lanes=4)})
    row, = result.rows
    unrolled = small_comparison[0].rows[1]
    assert row.layout == unrolled.layout and row.build != unrolled.build     # the same net, built folded
    built = json.loads((Path(row.build) / "core.json").read_text())
    assert [layer["folding"] and (layer["folding"]["pe"], layer["folding"]["lanes"]) for layer in built["layers"]] == [
        None, (1, 4)]
    layer = load(row.layout).weight_layers()[1]
    assert row.synthesis.initiation_interval == Layer(layer, folding=Folding(pe=1, lanes=4)).initiation_interval > 1
    assert row.synthesis.cells.bram > unrolled.synthesis.cells.bram
    from hbnn.compare_output import table_rows
    flat, = table_rows(result.rows)                     # the CSV and JSON columns report both
    assert (flat["block_ram"], flat["cycles_per_image"]) == (row.synthesis.cells.bram,
                                                             row.synthesis.initiation_interval)
    assert any("bit-exact on 6 test images" in message for message in messages)
