# amaranth: UnusedElaboratable=no
"""The main job end to end, as `make demo` runs it (fewer images)."""

import json

from hbnn.cli import main
from sim.flow import demo


def test_demo_trains_exports_generates_and_is_bit_exact(tmp_path):
    result = demo(images=20, progress=False, root=tmp_path)
    binarized, baseline = result.rows
    assert binarized.result.test_accuracy >= 0.90 and baseline.config.is_float
    assert result.agreement.same_class == 1.0
    assert result.layout_path.is_file() and result.generated.verilog.is_file()
    info = json.loads(result.generated.description.read_text())
    assert info["initiation_interval_cycles"] == 1
    assert result.simulation.images == 20 and result.simulation.bit_exact
    assert result.simulation.simulator == "icarus"


def test_demo_command_reports_bit_exact(capsys, tmp_path):
    assert main(["demo", "--quiet", "--images", "10", "--build", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Verilog in icarus (cocotb, random stalls) vs golden model on 10 test images: bit-exact" in out
    assert "float baseline" in out and "golden = float class on 100.00 %" in out
