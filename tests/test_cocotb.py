# amaranth: UnusedElaboratable=no
"""The generated Verilog itself, in Icarus Verilog through cocotb, against the golden model."""

from dataclasses import replace

import numpy as np
import pytest

from hw.generate import generate
from model import data
from model.export import export, pixel_codes
from model.recipes import net_config, train_config_for
from model.training import train
from sim.runner import simulate


@pytest.fixture(scope="module")
def digits_nets():
    nets = {}
    for name, epochs in (("mlp", 20), ("cnn", 5)):
        config = net_config("digits", name, weights="1.4")
        nets[name] = export(train(config, data.load("digits"), train_config_for("digits", epochs=epochs),
                                  progress=False).net)
    return nets


def run(network, pixels, folder, **options):
    generated = generate(network, folder / "net.v", pipeline=options.pop("pipeline", 0))
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
    assert set(first_mismatch) == {"image", "what", "expected", "actual"}
    assert first_mismatch["what"] == "class" or first_mismatch["what"].startswith("score ")
