# amaranth: UnusedElaboratable=no
"""`hbnn generate`: Verilog plus a JSON description, nothing written for a layout it cannot build."""

import json
import re

from hbnn.cli import main
from hbnn.hw import network, timing
from hbnn.hw.generate import generate
from hbnn.hw.buildable import UnsupportedLayout, check_buildable
from hbnn.hw.popcount_strategy import Strategy
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
    measured = timing.measure(network.Top(net, pipeline=1), beats_per_image=info["input"]["beats_per_image"])
    assert (info["latency_cycles"], info["initiation_interval_cycles"]) == (measured.latency,
                                                                           measured.initiation_interval)
    assert info["initiation_interval_cycles"] >= max(max(entry["stage_cycles_per_image"]) for entry in layers)
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


def test_the_estimate_counts_lanes_and_progress_counts_outputs():
    from hbnn.hw import popcount_library
    from hbnn.hw.generate import estimate
    from hbnn.model.synthetic import dense_layer

    net = dense_layer(1024, 256, "1.4")
    cost = estimate(net)
    assert cost.lanes == int(net.layers[0].bits.sum()) == 367_001 and cost.outputs == 256
    assert cost.lut4[0] < 367_001 * 1.5 < cost.lut4[1] and 10 < cost.seconds < 60
    assert not cost.upper_bound
    shared = estimate(net, Strategy("cse"))            # da4ml's solve: minutes, at most, and half the area
    assert shared.upper_bound and 300 < shared.seconds < 900 and shared.lut4[1] < cost.lut4[0]
    small = dense_layer(16, 3, "2")
    seen, modules = [], []
    library = popcount_library.Library()
    top = network.Top(small, library=library, progress=seen.append)
    from amaranth.back import rtlil

    rtlil.convert(top, name="top", emit_src=False)
    assert seen == [1] * 3                            # one call per output built
    library.rtlil(progress=modules.append)
    assert len(modules) == len(library.entries) > 0


def test_generate_announces_an_upper_bound_for_shared_arithmetic(capsys, tmp_path):
    from hbnn.model.synthetic import dense_layer

    path = layout.save(dense_layer(64, 8, "1.4"), tmp_path / "small.npz")
    assert main(["generate", str(path), "-o", str(tmp_path / "small.v"), "--popcount", "cse"]) == 0
    assert re.match(r"717 lanes \(weight bits x input planes\): generation takes up to \d+ s; the design needs "
                    r"roughly 323-717 LUT4", capsys.readouterr().err)


def test_generate_announces_its_cost_first(capsys, tmp_path):
    from hbnn.model.synthetic import dense_layer

    path = layout.save(dense_layer(64, 8, "1.4"), tmp_path / "small.npz")
    assert main(["generate", str(path), "-o", str(tmp_path / "small.v")]) == 0
    err = capsys.readouterr().err
    assert re.match(r"717 lanes \(weight bits x input planes\): generation takes about \d+ s; the design needs "
                    r"roughly 789-1,362 LUT4 after synthesis: icebreaker, ice40-hx8k, ulx3s-25f, ulx3s-85f hold\n", err), err
