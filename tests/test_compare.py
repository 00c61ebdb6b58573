# amaranth: UnusedElaboratable=no
"""`hbnn compare` (and `hbnn demo`, which is compare on the defaults): a small real run end to end,
checkpoint reuse, and bad input refused before any work."""

import csv
import json
import re

import pytest

from hbnn import boards
from hbnn.boards import compare as compare_module
from hbnn.boards.compare import COLUMNS, compare
from hbnn.cli import main
from hbnn.model.recipes import net_config


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


@pytest.mark.parametrize("arguments, message", [
    (["--mixes", ","], "no bit mixes given; name at least one, e.g. 1,1.4,2"),
    (["--board", "de10"], "unknown board 'de10'; choose one of: icebreaker, ice40-hx8k, ulx3s-25f, ulx3s-85f"),
    (["--images", "0"], "images must be a positive integer, not 0"),
])
def test_compare_refuses_bad_input_before_any_work(capsys, tmp_path, arguments, message):
    assert main(["compare", "--build", str(tmp_path), *arguments]) == 2
    assert capsys.readouterr().err == f"hbnn: error: {message}\n"
    assert not list(tmp_path.iterdir())


def test_a_bad_mix_is_refused_before_training(capsys, tmp_path):
    assert main(["compare", "--mixes", "1,1.4,seven", "--build", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert re.match(r"hbnn: error: .*'seven'", err) and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_demo_is_compare_on_the_defaults():
    from hbnn import cli

    assert cli.DEMO_MIXES == ("1", "1.2", "1.4", "2", "3") and cli.DEMO_BOARD == "ulx3s-85f"
    assert cli.DEMO_RATIO_DIGITS == 1
    assert compare_module.DEFAULT_MIXES == cli.DEMO_MIXES
