# amaranth: UnusedElaboratable=no
"""`hbnn simulate`: generate, build, run test images, report; Icarus by default, Verilator on request."""

import pytest

from hbnn.cli import main
from hbnn.model import data, layout
from hbnn.model.config import net_config, train_config_for
from hbnn.model.errors import ConfigError
from hbnn.model.export import export
from hbnn.model.training import train
from hbnn.sim.runner import simulate_layout


@pytest.fixture(scope="module")
def mlp_layout(tmp_path_factory):
    config = net_config("digits", "mlp", weights="1.4")
    net = train(config, data.load("digits"), train_config_for(config, epochs=10), progress=False).net
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


def test_simulate_layout_checks_its_options_before_generating(tmp_path, mlp_layout):
    """The library call refuses as the command line does (tests/test_cli.py has the CLI's table)."""
    with pytest.raises(ConfigError, match=r"^unknown simulator 'questa'; choose one of: icarus, verilator$"):
        simulate_layout(mlp_layout, simulator="questa", build_root=tmp_path)
    with pytest.raises(ConfigError, match=r"^images must be a positive integer, not 0$"):
        simulate_layout(mlp_layout, images=0, build_root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_simulate_writes_waves_on_request(capsys, tmp_path, mlp_layout):
    assert main(["simulate", str(mlp_layout), "--images", "3", "--waves", "--build", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    trace = tmp_path / "sim" / "mlp-icarus" / "build" / "hbnn_top.fst"
    assert f"waveform: {trace}" in out and trace.stat().st_size > 0
