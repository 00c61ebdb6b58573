# amaranth: UnusedElaboratable=no
"""`hbnn simulate`: generate, build, run test images, report; Icarus by default, Verilator on request."""

import pytest

from hbnn.cli import main
from hbnn.model import layout
from hbnn.model.export import export
from hbnn.model.recipes import net_config, train_config_for
from hbnn.model.training import train
from hbnn.model import data


@pytest.fixture(scope="module")
def mlp_layout(tmp_path_factory):
    config = net_config("digits", "mlp", weights="1.4")
    net = train(config, data.load("digits"), train_config_for("digits", epochs=10), progress=False).net
    return layout.save(export(net, {"dataset": "digits", "net": "mlp"}),
                       tmp_path_factory.mktemp("layout") / "mlp.npz")


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_simulate_reports_bit_exact(capsys, tmp_path, mlp_layout, simulator):
    code = main(["simulate", str(mlp_layout), "--images", "25", "--sim", simulator, "--build", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith(f"{simulator}: 25 test images of digits, ")
    assert "bit-exact: every class and score equals the golden model" in out
    assert (tmp_path / "sim" / f"mlp-{simulator}" / "build" / "simulation.log").is_file()


def test_simulate_names_bad_values(capsys, mlp_layout):
    assert main(["simulate", str(mlp_layout), "--sim", "questa"]) == 2
    assert capsys.readouterr().err == "hbnn: error: unknown simulator 'questa'; choose one of: icarus, verilator\n"
    assert main(["simulate", str(mlp_layout), "--images", "0"]) == 2
    assert capsys.readouterr().err == "hbnn: error: images must be a positive integer, not 0\n"


def test_simulate_writes_waves_on_request(capsys, tmp_path, mlp_layout):
    assert main(["simulate", str(mlp_layout), "--images", "3", "--waves", "--build", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    trace = tmp_path / "sim" / "mlp-icarus" / "build" / "hbnn_top.fst"
    assert f"waveform: {trace}" in out and trace.stat().st_size > 0
