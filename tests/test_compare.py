# amaranth: UnusedElaboratable=no
"""`hbnn compare` (and `hbnn demo`, which is compare on the defaults): a small real run end to end,
checkpoint reuse, and bad input refused before any work."""

import csv
import json

import pytest

from hbnn import boards
from hbnn import compare as compare_module
from hbnn.compare import COLUMNS, compare
from hbnn.model.config import net_config
from hbnn.model.errors import ConfigError
from hbnn.tools import ToolMissing


@pytest.fixture(scope="module")
def small_comparison(tmp_path_factory):
    """The digits MLP at width 4 (so two bit mixes place and route in about a minute) on the 25F."""
    root = tmp_path_factory.mktemp("compare")
    messages = []
    result = compare(dataset="digits", net="mlp", mixes=("1", "2"), board=boards.get("ulx3s-25f"), width=4,
                     images=6, root=root, progress=False, say=messages.append)
    return result, root, messages


def test_compare_measures_every_mix(small_comparison):
    result, root, messages = small_comparison
    one, two = result.rows
    assert (one.weights, two.weights) == ("1", "2")
    assert one.average_bits == 1.0 and two.average_bits == 2.0
    assert one.lut4 < two.lut4                              # more weight bits, more LUTs
    assert one.synthesis.placement.logic.available == 24288
    for row in result.rows:
        assert row.simulated_images == 6 and 0.5 < row.accuracy <= 1
        assert row.accuracy == row.float_accuracy            # export is exact
        assert row.synthesis.placement.fmax_mhz > 10 and row.synthesis.initiation_interval == 1
        assert row.energy["fpga_nj_per_image"] > 0 and row.energy["transistors"] > 1000
        assert 0 < row.energy["activity_factor"] < 1
    assert result.lut_ratio("1", "2") == pytest.approx(one.lut4 / two.lut4)
    assert result.lut_ratio() is None                        # no 1.4-bit row here
    assert any("bit-exact on 6 test images" in message for message in messages)


def test_compare_writes_csv_json_and_plot(small_comparison):
    result, root, _ = small_comparison
    folder = root / "compare" / "digits-mlp-width4-ulx3s-25f"
    assert result.outputs == {"csv": str(folder / "compare.csv"), "json": str(folder / "compare.json"),
                              "plot": str(folder / "compare.png")}
    rows = list(csv.DictReader(open(result.outputs["csv"])))
    assert tuple(rows[0]) == COLUMNS and [row["weights"] for row in rows] == ["1", "2"]
    assert int(rows[1]["lut4"]) == result.rows[1].lut4
    for row in rows:      # latency and area-delay from the synthesis report's cycles and Fmax
        fmax, cycles = float(row["fmax_mhz"]), int(row["latency_cycles"])
        assert cycles >= 3 and float(row["latency_ns"]) == pytest.approx(cycles * 1e3 / fmax, rel=1e-3)
        assert int(row["lut4_ns"]) == pytest.approx(int(row["lut4"]) * 1e3 / fmax, rel=1e-3)      # II = 1
    document = json.loads(open(result.outputs["json"]).read())
    assert document["board"] == "ulx3s-25f" and document["paper_assumed_ratio_1.4_over_2"] == 0.70
    assert document["details"][0]["synthesis"]["placement"]["logic"]["available"] == 24288
    assert open(result.outputs["plot"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert not list(root.rglob("*.partial")) and not list(root.rglob("*.tmp"))


def test_a_matching_checkpoint_is_reused(tmp_path):
    config = net_config("digits", "mlp", weights="1", width=2)
    first, path, reused = compare_module._trained(config, seed=3, root=tmp_path, progress=False, suffix="-width2")
    assert not reused and path.name == "digits-mlp-w1-a1-bc-middle-out-s3-width2.pt"
    again, same_path, reused = compare_module._trained(config, seed=3, root=tmp_path, progress=False,
                                                       suffix="-width2")
    assert reused and same_path == path and again.float_accuracy == first.float_accuracy
    other = net_config("digits", "mlp", weights="1", width=3)    # same file name, other net: retrain
    _, _, reused = compare_module._trained(other, seed=3, root=tmp_path, progress=False, suffix="-width2")
    assert not reused


@pytest.mark.parametrize("options, message", [
    ({"mixes": ()}, "no bit mixes given; name at least one, e.g. 1,1.4,2"),
    ({"mixes": ("1", "1.4", "seven")}, "unknown weight mix 'seven'; give percentages like 70/20/10 or one of: "),
    ({"images": 0}, "images must be a positive integer, not 0"),
    ({"pipeline": -1}, "the pipeline setting must be a non-negative integer or 'full', not -1"),
    ({"seed": -2}, "seed must be a non-negative integer, not -2"),
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

    assert commands.DEMO["mixes"] == ("1", "1.2", "1.4", "2", "3") and commands.DEMO["board"] == "ulx3s-85f"
    assert commands.DEMO["ratio_digits"] == 1 and commands.DEMO["popcount"] == "generic"
