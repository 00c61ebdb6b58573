# amaranth: UnusedElaboratable=no
"""`hbnn generate`: Verilog plus a JSON description, nothing written for a layout it cannot build."""

import json
import re


from hbnn.cli import main
from hbnn.hw.generate import generate
from hbnn.hw.network import UnsupportedLayout, check_buildable
from hbnn.model import layout
from random_layouts import random_network


def test_generate_writes_verilog_and_a_matching_description(tmp_path):
    net = next(n for n in (random_network(s, "conv2d") for s in range(3, 500)) if _buildable(n))
    result = generate(net, tmp_path / "net.v", pipeline=1)
    text = result.verilog.read_text()
    assert re.search(r"^module hbnn_top\(", text, re.M)
    info = json.loads(result.description.read_text())
    layers = info["layers"]
    assert [entry["kind"] for entry in layers] == [layer.kind for layer in net.layers]
    assert info["latency_cycles"] == sum(entry["latency"] for entry in layers) + 1
    assert info["initiation_interval_cycles"] == max(entry["cycles_per_image"] for entry in layers)
    assert layers[0]["stages"] == ["window.Generator", "dense.Layer"]
    assert info["input"]["width"] == net.input_shape[0] * net.pixel_bits
    assert info["input"]["beats_per_image"] == net.input_shape[1] * net.input_shape[2]
    for port in ("i__payload", "i__valid", "i__ready", "o__payload", "o__valid", "o__ready", "clk", "rst"):
        assert re.search(rf"\b(input|output)\b[^;]*\b{port}\b", text), port
    width = re.search(r"output \[(\d+):0\] o__payload", text)
    assert int(width.group(1)) + 1 == info["output"]["width"]
    fields = info["output"]["fields"]
    assert fields["scores"]["offset"] == fields["cls"]["bits"]
    assert info["output"]["width"] == fields["cls"]["bits"] + fields["scores"]["count"] * fields["scores"]["bits"]


def _buildable(net) -> bool:
    try:
        check_buildable(net)
        return True
    except UnsupportedLayout:
        return False


def test_cli_generate_and_refusal(capsys, tmp_path):
    good = layout.save(random_network(1, "mlp"), tmp_path / "mlp.npz")
    assert main(["generate", str(good), "-o", str(tmp_path / "mlp.v")]) == 0
    assert "latency" in capsys.readouterr().out and (tmp_path / "mlp.json").is_file()

    bad_net = next(n for n in (random_network(s, "conv2d") for s in range(500))
                   if n.layers[0].stride > n.layers[0].kernel)
    bad = layout.save(bad_net, tmp_path / "bad.npz")
    assert main(["generate", str(bad), "-o", str(tmp_path / "bad.v")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hbnn: error: layer 0 (conv2d): stride 2 is larger than kernel 1")
    assert not (tmp_path / "bad.v").exists() and not (tmp_path / "bad.json").exists()
