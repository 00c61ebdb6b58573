# amaranth: UnusedElaboratable=no
"""The generated Verilog itself, in Icarus Verilog through cocotb, against the golden model."""

from dataclasses import replace

import numpy as np
import pytest

from hbnn.hw.fold_schedule import Folding
from hbnn.hw.generate import generate
from hbnn.model import data
from hbnn.model.export import export, pixel_codes
from hbnn.model.config import net_config, train_config_for
from hbnn.model.training import train
from hbnn.sim.runner import simulate


@pytest.fixture(scope="module")
def digits_nets():
    nets = {}
    for name, epochs in (("mlp", 20), ("cnn", 5)):
        config = net_config("digits", name, weights="1.4")
        nets[name] = export(train(config, data.load("digits"), train_config_for(config, epochs=epochs),
                                  progress=False).net)
    return nets


def run(network, pixels, folder, **options):
    generated = generate(network, folder / "net.v", pipeline=options.pop("pipeline", 0), fold=options.pop("fold", None))
    return simulate(network, generated.verilog, generated.description, pixels,
                    build_dir=folder / "build", **options)


def test_mlp_verilog_is_bit_exact_on_test_images(digits_nets, tmp_path):
    pixels = pixel_codes(digits_nets["mlp"], data.load("digits").test_x[:40])
    report = run(digits_nets["mlp"], pixels, tmp_path, pipeline=2, seed=1)
    assert report.images == 40 and report.bit_exact, report.mismatches[:5]


def test_mlp_verilog_is_bit_exact_on_random_inputs(digits_nets, tmp_path):
    network = digits_nets["mlp"]
    pixels = np.random.default_rng(3).integers(0, 1 << network.pixel_bits, size=(30, 1, 8, 8))
    report = run(network, pixels, tmp_path, seed=2, idle=0.5, backpressure=0.5)
    assert report.bit_exact, report.mismatches[:5]


def test_cnn_verilog_is_bit_exact(digits_nets, tmp_path):
    pixels = pixel_codes(digits_nets["cnn"], data.load("digits").test_x[:3])
    report = run(digits_nets["cnn"], pixels, tmp_path, seed=3)
    assert report.images == 3 and report.bit_exact, report.mismatches[:5]
    assert report.cycles >= 3 * 100   # one image per 100 cycles at best (the padded 10x10 map)


def test_a_wrong_design_is_caught_and_named(digits_nets, tmp_path):
    network = digits_nets["mlp"]
    first = network.layers[0]
    planes = first.planes.copy()
    planes[0, 0, :] ^= 1
    broken = replace(network, layers=(replace(first, planes=planes),) + network.layers[1:])
    pixels = pixel_codes(network, data.load("digits").test_x[:20])
    report = run(broken, pixels, tmp_path, reference=network)
    assert not report.bit_exact
    first_mismatch = report.mismatches[0]
    assert set(first_mismatch) == {"layer", "image", "position", "what", "expected", "actual"}
    assert first_mismatch["layer"] == "network"
    assert first_mismatch["what"] == "class" or first_mismatch["what"].startswith("score ")


@pytest.mark.parametrize("net_name", ["mlp", "cnn"])
def test_every_layer_alone_in_verilog(digits_nets, tmp_path, net_name):
    """Each layer type wrapped as its own top, fed the golden input of that layer, every output
    beat (channel levels per position, or scores) compared with the golden trace."""
    from hbnn.sim.runner import simulate_layer

    network = digits_nets[net_name]
    pixels = pixel_codes(network, data.load("digits").test_x[:2])
    for index, layer in enumerate(network.layers):
        report = simulate_layer(network, index, pixels, build_dir=tmp_path, seed=index)
        assert report.bit_exact, (index, report.mismatches[:3])


def test_a_wrong_layer_is_named_with_channel_and_position(digits_nets, tmp_path):
    from hbnn.sim.runner import simulate_layer

    network = digits_nets["cnn"]
    first = network.layers[0]
    planes = first.planes.copy()
    planes[0, 3, :] ^= 1                      # output channel 3 of the first convolution
    broken = replace(network, layers=(replace(first, planes=planes),) + network.layers[1:])
    pixels = pixel_codes(network, data.load("digits").test_x[:1])
    report = simulate_layer(broken, 0, pixels, build_dir=tmp_path, reference=network)
    assert not report.bit_exact
    assert {m["what"] for m in report.mismatches} == {"channel 3"}
    assert all(m["layer"] == "layer 0 (conv2d)" and 0 <= m["position"] < 64 for m in report.mismatches)


@pytest.mark.parametrize("dataset, net, mix", [("mnist1d", "cnn1d", "1"), ("mnist1d", "cnn1d", "2"),
                                               ("mnist1d", "mlp", "1.4"), ("mnist1d", "mlp", "2"),
                                               ("digits", "mlp", "1"), ("digits", "cnn", "1"),
                                               ("digits", "cnn", "2")])
def test_other_nets_and_mixes_in_verilog(tmp_path, dataset, net, mix):
    """Every bundled net at other bit mixes (narrow, briefly trained: Icarus is slow on wide nets),
    on test images and random inputs."""
    config = net_config(dataset, net, weights=mix, width=4)
    network = export(train(config, data.load(dataset), train_config_for(config, epochs=2),
                           progress=False).net)
    images = pixel_codes(network, data.load(dataset).test_x[:2])
    noise = np.random.default_rng(5).integers(0, 1 << network.pixel_bits, size=(2,) + network.input_shape)
    report = run(network, np.concatenate([images, noise]), tmp_path, seed=4)
    assert report.images == 4 and report.bit_exact, report.mismatches[:3]


@pytest.mark.parametrize("family, source", [("ecp5", "test images"), ("ice40", "random inputs")])
def test_mapped_mlp_verilog_is_bit_exact(digits_nets, tmp_path, family, source):
    """The digits MLP with popcounts built from iCE40 / ECP5 cells, run in Icarus on yosys's models
    of those cells."""
    from hbnn.hw.popcount_strategy import Strategy

    network = digits_nets["mlp"]
    if source == "test images":
        pixels = pixel_codes(network, data.load("digits").test_x[40:60])
    else:
        pixels = np.random.default_rng(5).integers(0, 1 << network.pixel_bits, size=(20, 1, 8, 8))
    generated = generate(network, tmp_path / "net.v", pipeline=2, popcount=Strategy("mapped", family))
    report = simulate(network, generated.verilog, generated.description, pixels, build_dir=tmp_path / "build",
                      seed=4)
    assert report.images == 20 and report.bit_exact, report.mismatches[:5]


def test_mapped_mlp_is_bit_exact_in_the_amaranth_simulator(digits_nets):
    from hbnn.hw.popcount_strategy import Strategy
    from hbnn.sim.network_check import check

    network = digits_nets["mlp"]
    pixels = pixel_codes(network, data.load("digits").test_x[60:63])
    result = check(network, pixels, pipeline=1, popcount=Strategy("mapped", "ecp5"), seed=2)
    assert result.images == 3 and result.bit_exact, result.mismatches[:5]


@pytest.mark.parametrize("net_name, source, pipeline", [("mlp", "test images", 3), ("mlp", "random inputs", 0),
                                                        ("cnn", "test images", 2)])
def test_cse_verilog_is_bit_exact(digits_nets, tmp_path, net_name, source, pipeline):
    """The shared adder graphs (`--popcount cse`: folded output maps in the thresholds, exact
    scores in the last layer), in Icarus, with idle cycles and backpressure."""
    from hbnn.hw.popcount_strategy import Strategy

    network = digits_nets[net_name]
    count = 20 if net_name == "mlp" else 3
    if source == "test images":
        pixels = pixel_codes(network, data.load("digits").test_x[80:80 + count])
    else:
        pixels = np.random.default_rng(6).integers(0, 1 << network.pixel_bits, size=(count, 1, 8, 8))
    generated = generate(network, tmp_path / "net.v", pipeline=pipeline, popcount=Strategy("cse"))
    report = simulate(network, generated.verilog, generated.description, pixels, build_dir=tmp_path / "build",
                      seed=5, idle=0.3, backpressure=0.3)
    assert report.images == count and report.bit_exact, report.mismatches[:5]


def test_cse_nets_are_bit_exact_in_the_amaranth_simulator(digits_nets):
    from hbnn.hw.popcount_strategy import Strategy
    from hbnn.sim.network_check import check

    for name in ("mlp", "cnn"):
        network = digits_nets[name]
        pixels = pixel_codes(network, data.load("digits").test_x[63:65])
        result = check(network, pixels, pipeline=1, popcount=Strategy("cse"), seed=3)
        assert result.images == 2 and result.bit_exact, (name, result.mismatches[:5])


@pytest.mark.parametrize("source", ["test images", "random inputs"])
def test_fully_pipelined_mlp_verilog_is_bit_exact_through_a_long_stall(digits_nets, tmp_path, source):
    """--pipeline full in Verilog: random idle and backpressure, and the sink's ready held low for
    a random stretch mid-stream several times the pipeline's latency, so the credits run out and
    the output FIFO fills; every class and score arrives once, in order (a lost or repeated image
    shifts every later result and fails the comparison; a lost one also times out)."""
    import random

    network = digits_nets["mlp"]
    if source == "test images":
        pixels = pixel_codes(network, data.load("digits").test_x[:60])
    else:
        pixels = np.random.default_rng(5).integers(0, 1 << network.pixel_bits, size=(60, 1, 8, 8))
    generated = generate(network, tmp_path / "net.v", pipeline="full")
    latency = generated.info["latency_cycles"]
    rng = random.Random(source)
    stall = (rng.randrange(20, 60), rng.randrange(3 * latency, 6 * latency))
    report = simulate(network, generated.verilog, generated.description, pixels, build_dir=tmp_path / "build",
                      seed=len(source), idle=0.3, backpressure=0.3, stall=stall)
    assert report.images == 60 and report.bit_exact, report.mismatches[:5]
    assert report.cycles > stall[0] + stall[1]


def test_every_layer_of_the_fully_pipelined_mlp_alone_in_verilog(digits_nets, tmp_path):
    from hbnn.sim.runner import simulate_layer

    network = digits_nets["mlp"]
    pixels = pixel_codes(network, data.load("digits").test_x[:30])
    for index in range(len(network.layers)):
        report = simulate_layer(network, index, pixels, build_dir=tmp_path, pipeline="full", seed=index,
                                idle=0.3, backpressure=0.3, stall=(15, 40))
        assert report.bit_exact, (index, report.mismatches[:3])


@pytest.mark.parametrize("net_name, fold, source", [
    ("mlp", {1: Folding(pe=2, lanes=8)}, "test images"),
    ("mlp", {1: Folding(pe=3, lanes=5)}, "random inputs"),
    ("cnn", {1: Folding(pe=4, lanes=24), 2: Folding(pe=2, lanes=16)}, "test images"),
])
def test_folded_and_unrolled_layers_in_one_network_are_bit_exact_in_verilog(digits_nets, tmp_path, net_name, fold,
                                                                            source):
    """Weight layers folded (`--fold`), the first (pixels) unrolled, under random idle and
    backpressure; the folded unit's memories (weights, entries, gather copies, sums) in Verilog."""
    network = digits_nets[net_name]
    count = 20 if net_name == "mlp" else 2
    if source == "test images":
        pixels = pixel_codes(network, data.load("digits").test_x[:count])
    else:
        pixels = np.random.default_rng(7).integers(0, 1 << network.pixel_bits, size=(count,) + network.input_shape)
    report = run(network, pixels, tmp_path, seed=5, fold=fold)
    assert report.images == count and report.bit_exact, report.mismatches[:5]
