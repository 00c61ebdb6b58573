# amaranth: UnusedElaboratable=no
"""Stream layers and whole networks in the Amaranth simulator against the golden model, with
random idle on the source and backpressure on the sink."""

import numpy as np
import pytest

from hbnn.hw import dense, network
from hbnn.hw.packing import pack, unpack, unpack_signed
from hbnn.model import data, golden
from hbnn.model.export import export, pixel_codes
from hbnn.model.config import net_config, train_config_for
from hbnn.model.training import train
from random_layouts import random_network, random_pixels
from hbnn.sim.amaranth_stream import run_stream


def layer_outputs(layer, payloads):
    if layer.is_last:
        width = layer.accumulator_width()
        return np.stack([unpack_signed(p, layer.out_channels, width) for p in payloads])
    return np.stack([unpack(p, layer.out_channels, layer.output_code.bits) for p in payloads])


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("pipeline", [0, 2])
def test_dense_layers_stream_the_golden_outputs(seed, pipeline):
    net = random_network(seed, "mlp")
    pixels = random_pixels(net, 20, seed)
    result = golden.run(net, pixels)
    levels = pixels.reshape(len(pixels), -1)
    for index, layer in enumerate(net.layers):
        dut = dense.Layer(layer, pipeline=pipeline)
        beats = [pack(v, layer.input.bits) for v in levels]
        out = layer_outputs(layer, run_stream(dut, beats, seed=seed + index))
        expected = result.trace[index].outputs.numpy().reshape(len(pixels), -1)
        assert np.array_equal(out, expected), f"layer {index}"
        levels = expected


@pytest.fixture(scope="module")
def digits_mlp():
    config = net_config("digits", "mlp", weights="1.4")
    net = train(config, data.load("digits"), train_config_for(config), progress=False).net
    return export(net)


def unpack_result(top, payload):
    classes = top.network.num_classes
    cls_bits = (classes - 1).bit_length()
    return payload & ((1 << cls_bits) - 1), unpack_signed(payload >> cls_bits, classes, top.score_width)


@pytest.mark.parametrize("pipeline", [0, 3])
def test_whole_digits_mlp_is_bit_exact(digits_mlp, pipeline):
    images = data.load("digits").test_x[:60]
    pixels = pixel_codes(digits_mlp, images)
    expected = golden.run(digits_mlp, pixels)
    top = network.Top(digits_mlp, pipeline=pipeline)
    assert top.latency == 2 * (pipeline + 1) + 1  # per layer: pipeline + output register; + result register
    payloads = run_stream(top, [pack(p, digits_mlp.pixel_bits) for p in pixels], seed=pipeline)
    classes, scores = zip(*(unpack_result(top, p) for p in payloads))
    assert list(classes) == expected.classes.tolist()
    assert np.array_equal(np.stack(scores), expected.scores.numpy())


def test_whole_digits_mlp_every_layer(digits_mlp):
    """Each layer of the trained MLP, as its own stream component, against the golden trace."""
    pixels = pixel_codes(digits_mlp, data.load("digits").test_x[:50])
    trace = golden.run(digits_mlp, pixels).trace
    levels = pixels.reshape(len(pixels), -1)
    for index, layer in enumerate(digits_mlp.layers):
        out = layer_outputs(layer, run_stream(dense.Layer(layer, pipeline=1),
                                              [pack(v, layer.input.bits) for v in levels], seed=index))
        assert np.array_equal(out, trace[index].outputs.numpy().reshape(len(pixels), -1))
        levels = out


def back_to_back(top, network, pixels):
    """Cycles at which an always-valid source's images were accepted and an always-ready sink's
    results appeared."""
    from amaranth.sim import Simulator

    simulator = Simulator(top)
    simulator.add_clock(1e-6)
    accepted, produced = [], []

    async def bench(ctx):
        ctx.set(top.o.ready, 1)
        for cycle in range(len(pixels) + top.latency + 2):
            ctx.set(top.i.payload, pack(pixels[min(cycle, len(pixels) - 1)], network.pixel_bits))
            ctx.set(top.i.valid, cycle < len(pixels))
            _, _, ready, valid = await ctx.tick().sample(top.i.ready, top.o.valid)
            if cycle < len(pixels) and ready:
                accepted.append(cycle)
            if valid:
                produced.append(cycle)

    simulator.add_testbench(bench)
    simulator.run()
    return accepted, produced


def test_full_throughput_without_stalls(digits_mlp):
    """With an always-ready sink and an always-valid source, one image per cycle."""
    pixels = pixel_codes(digits_mlp, data.load("digits").test_x[:20])
    top = network.Top(digits_mlp, pipeline=2)
    accepted, produced = back_to_back(top, digits_mlp, pixels)
    assert accepted == list(range(len(pixels)))
    assert produced == [c + top.latency for c in range(len(pixels))]


def test_a_fully_pipelined_mlp_takes_one_image_per_cycle_and_is_bit_exact(digits_mlp):
    """pipeline="full": every adder level registered, the datapath elastic; always-valid source and
    always-ready sink give one result per cycle `latency` cycles later, and the results are the
    golden model's, also under random idle and backpressure."""
    from hbnn.sim.network_check import check

    pixels = pixel_codes(digits_mlp, data.load("digits").test_x[:40])
    top = network.Top(digits_mlp, pipeline="full")
    assert top.initiation_interval == 1 and top.latency > 2 * (3 + 1) + 1
    accepted, produced = back_to_back(top, digits_mlp, pixels)
    assert accepted == list(range(len(pixels)))
    assert produced == [c + top.latency for c in range(len(pixels))]
    for seed in (1, 2):
        result = check(digits_mlp, pixels, pipeline="full", seed=seed)
        assert result.bit_exact, result.mismatches[:5]


@pytest.mark.parametrize("structure, seed", [("mlp", 3), ("mlp", 4), ("conv1d", 5), ("conv2d", 6)])
def test_fully_pipelined_random_nets_are_bit_exact_under_idle_and_backpressure(structure, seed):
    from hbnn.sim.network_check import check

    net = random_network(seed, structure)
    result = check(net, random_pixels(net, 12, seed), pipeline="full", seed=seed)
    assert result.bit_exact, result.mismatches[:5]


def test_the_check_catches_one_flipped_weight(digits_mlp):
    """The bench can fail: hardware built with one sign bit flipped disagrees with the golden model."""
    from dataclasses import replace

    from hbnn.sim.network_check import check

    first = digits_mlp.layers[0]
    planes = first.planes.copy()
    planes[0, 0, :] ^= 1                      # output 0, plane 0: every sign flipped
    broken = replace(digits_mlp, layers=(replace(first, planes=planes),) + digits_mlp.layers[1:])
    pixels = pixel_codes(digits_mlp, data.load("digits").test_x[:20])
    result = check(broken, pixels, reference=digits_mlp)
    assert not result.bit_exact
    assert all(kind.startswith(("class", "score")) for _, kind, _, _ in result.mismatches)
    assert check(digits_mlp, pixels).bit_exact


def with_bits(network, pattern: str):
    """The random network with its first layer's bit counts forced: "1" (only 1-bit weights),
    "3" (every weight 3 bits) or "empty" (output 0 all 1-bit while the others have 3 bits, so planes
    2 and 3 are empty for output 0 only)."""
    from dataclasses import replace

    layer = network.layers[0]
    bits = np.full_like(layer.bits, 1 if pattern == "1" else 3)
    if pattern == "empty":
        bits[0, :] = 1
    planes_count = int(bits.max())
    rng = np.random.default_rng(0)
    active = np.arange(planes_count)[:, None, None] < bits[None]
    planes = (rng.integers(0, 2, size=(planes_count,) + bits.shape) * active).astype(np.uint8)
    weights = np.tile(np.array([64, 35, 17][:planes_count], dtype=np.int64), (bits.shape[0], 1))
    layer = replace(layer, bits=bits, planes=planes, plane_weights=weights)
    if not layer.is_last:
        low, high = layer.accumulator_bounds()
        thresholds = np.linspace(low, high + 1, layer.thresholds.shape[1] + 2)[1:-1].T
        layer = replace(layer, thresholds=np.sort(np.round(thresholds).astype(np.int64), axis=1))
    from hbnn.model.layout import validate
    return validate(replace(network, layers=(layer,) + network.layers[1:]))


@pytest.mark.parametrize("pattern", ["1", "3", "empty"])
def test_bit_patterns_stream_the_golden_outputs(pattern):
    net = with_bits(next(n for n in (random_network(s, "mlp") for s in range(50))
                         if len(n.layers) == 2 and n.layers[0].out_channels >= 2), pattern)
    assert (pattern != "1") == (net.layers[0].planes.shape[0] == 3)
    pixels = random_pixels(net, 15, 4)
    result = golden.run(net, pixels)
    layer = net.layers[0]
    out = layer_outputs(layer, run_stream(dense.Layer(layer, pipeline=1),
                                          [pack(v, layer.input.bits) for v in pixels.reshape(len(pixels), -1)]))
    assert np.array_equal(out, result.trace[0].outputs.numpy())
