# amaranth: UnusedElaboratable=no
"""Sliding windows, max-pool and flatten against naive numpy models, and whole convolutional
networks against the golden model, with random idle and backpressure."""

import numpy as np
import pytest

from hbnn.hw import flatten, network, pool, window
from hbnn.hw.buildable import UnsupportedLayout, check_buildable
from hbnn.hw.packing import pack, position_beats, unpack, unpack_signed
from hbnn.model import data, golden
from hbnn.model.export import export, pixel_codes
from hbnn.model.config import net_config, train_config_for
from hbnn.model.training import train
from random_layouts import random_network, random_pixels
from hbnn.sim.amaranth_stream import run_stream
from hbnn.sim.network_check import input_beats


def naive_windows(fmap, kernel, stride, padding, pad_level):
    spatial = fmap.ndim - 1
    padded = np.pad(fmap, ((0, 0),) + ((padding, padding),) * spatial, constant_values=pad_level)
    outs = [(s - kernel) // stride + 1 for s in padded.shape[1:]]
    windows = []
    for index in np.ndindex(*outs):
        box = tuple(slice(i * stride, i * stride + kernel) for i in index)
        windows.append(padded[(slice(None),) + box].reshape(-1))  # (C, kh, kw) order
    return windows


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((2, 5, 6), 3, 1, 1), ((1, 4, 4), 2, 2, 0), ((3, 6, 5), 3, 2, 1), ((2, 3, 3), 1, 1, 0),
    ((2, 9), 3, 1, 1), ((1, 8), 5, 1, 2), ((2, 7), 2, 2, 0),
])
def test_window_generator_emits_every_window_in_order(shape, kernel, stride, padding):
    rng = np.random.default_rng(sum(shape) + kernel)
    bits, pad_level = 2, 3
    maps = rng.integers(0, 1 << bits, size=(3,) + shape)
    dut = window.Generator(in_shape=shape, kernel=kernel, stride=stride, padding=padding,
                           level_bits=bits, pad_level=pad_level)
    expected = [w for fmap in maps for w in naive_windows(fmap, kernel, stride, padding, pad_level)]
    out = run_stream(dut, position_beats(maps, bits), results_expected=len(expected), seed=kernel)
    got = [unpack(p, expected[0].size, bits) for p in out]
    assert np.array_equal(np.stack(got), np.stack(expected))


@pytest.mark.parametrize("shape, size", [((2, 4, 4), 2), ((3, 5, 7), 2), ((1, 6, 6), 3), ((2, 9), 2), ((2, 8), 4)])
def test_max_pool_of_levels(shape, size):
    rng = np.random.default_rng(size + sum(shape))
    bits = 3
    maps = rng.integers(0, 1 << bits, size=(3,) + shape)
    dut = pool.Unit(in_shape=shape, size=size, level_bits=bits)
    expected = []
    for fmap in maps:
        outs = [d // size for d in shape[1:]]
        for index in np.ndindex(*outs):
            box = tuple(slice(i * size, i * size + size) for i in index)
            expected.append(fmap[(slice(None),) + box].reshape(shape[0], -1).max(axis=1))
    out = run_stream(dut, position_beats(maps, bits), results_expected=len(expected), seed=size)
    assert np.array_equal(np.stack([unpack(p, shape[0], bits) for p in out]), np.stack(expected))


@pytest.mark.parametrize("shape", [(3, 2, 2), (2, 3, 4), (4, 5)])
def test_flatten_is_channel_major(shape):
    rng = np.random.default_rng(sum(shape))
    maps = rng.integers(0, 4, size=(4,) + shape)
    dut = flatten.Collector(in_shape=shape, level_bits=2)
    out = run_stream(dut, position_beats(maps, 2), results_expected=len(maps), seed=1)
    assert np.array_equal(np.stack([unpack(p, maps[0].size, 2) for p in out]), maps.reshape(len(maps), -1))


def run_top(net, pixels, pipeline=0, seed=0):
    top = network.Top(net, pipeline=pipeline)
    payloads = run_stream(top, input_beats(net, pixels), results_expected=len(pixels), seed=seed)
    cls_bits = (net.num_classes - 1).bit_length()
    classes = [p & ((1 << cls_bits) - 1) for p in payloads]
    scores = np.stack([unpack_signed(p >> cls_bits, net.num_classes, top.score_width) for p in payloads])
    return classes, scores


def buildable_random_networks(structure, count):
    found = []
    for seed in range(1000):
        net = random_network(seed, structure)
        try:
            check_buildable(net)
        except UnsupportedLayout:
            continue
        found.append((seed, net))
        if len(found) == count:
            return found
    raise AssertionError("not enough buildable random layouts")


@pytest.mark.parametrize("structure", ["conv1d", "conv2d"])
def test_random_convolutional_networks_are_bit_exact(structure):
    for seed, net in buildable_random_networks(structure, 6):
        pixels = random_pixels(net, 5, seed)
        expected = golden.run(net, pixels)
        classes, scores = run_top(net, pixels, pipeline=seed % 2, seed=seed)
        assert classes == expected.classes.tolist(), seed
        assert np.array_equal(scores, expected.scores.numpy()), seed


def test_a_stride_beyond_the_kernel_is_refused_by_name():
    net = next(n for n in (random_network(s, "conv2d") for s in range(500))
               if n.layers[0].stride > n.layers[0].kernel)
    with pytest.raises(UnsupportedLayout, match=r"layer 0 \(conv2d\): stride 2 is larger than kernel 1"):
        network.Top(net)


@pytest.fixture(scope="module")
def digits_cnn():
    config = net_config("digits", "cnn", weights="1.4")
    return export(train(config, data.load("digits"), train_config_for(config, epochs=20), progress=False).net)


def test_whole_digits_cnn_is_bit_exact(digits_cnn):
    pixels = pixel_codes(digits_cnn, data.load("digits").test_x[:50])
    expected = golden.run(digits_cnn, pixels)
    classes, scores = run_top(digits_cnn, pixels, pipeline=1, seed=3)
    assert classes == expected.classes.tolist()
    assert np.array_equal(scores, expected.scores.numpy())


def test_whole_digits_cnn_every_layer(digits_cnn):
    """Each layout layer as its own chain of stream stages, fed the golden input of that layer."""
    pixels = pixel_codes(digits_cnn, data.load("digits").test_x[:50])
    trace = golden.run(digits_cnn, pixels).trace
    inputs, bits_in = pixels, digits_cnn.pixel_bits
    for index, layer in enumerate(digits_cnn.layers):
        chain = network.Chain(network.layer_stages(digits_cnn, index))
        expected = trace[index].outputs.numpy()
        beats = position_beats(inputs, bits_in) if inputs.ndim > 2 else [pack(v, bits_in) for v in inputs]
        if hasattr(layer, "output_code") and layer.output_code is not None:
            bits_out = layer.output_code.bits
        else:
            bits_out = bits_in  # max-pool keeps the code; the last layer emits scores
        positions = int(np.prod(expected.shape[2:])) if expected.ndim > 2 else 1
        out = run_stream(chain, beats, results_expected=len(inputs) * positions, seed=index)
        if expected.ndim > 2:
            channels = expected.shape[1]
            got = np.stack([unpack(p, channels, bits_out) for p in out])
            want = np.moveaxis(expected.reshape(len(inputs), channels, -1), 1, 2).reshape(-1, channels)
        elif layer.is_last:
            got = np.stack([unpack_signed(p, layer.out_channels, layer.accumulator_width()) for p in out])
            want = expected
        else:
            got = np.stack([unpack(p, layer.out_channels, bits_out) for p in out])
            want = expected
        assert np.array_equal(got, want), f"layer {index} ({layer.kind})"
        inputs, bits_in = expected, bits_out


def test_cnn_latency_and_initiation_interval_are_as_published(digits_cnn):
    """Always-valid source, always-ready sink: results leave `latency` cycles after each image's last
    pixel, and images are accepted every `initiation_interval` cycles."""
    from amaranth.sim import Simulator

    pixels = pixel_codes(digits_cnn, data.load("digits").test_x[:4])
    beats = position_beats(pixels, digits_cnn.pixel_bits)
    top = network.Top(digits_cnn, pipeline=1)
    simulator = Simulator(top)
    simulator.add_clock(1e-6)
    accepted, results = [], []

    async def bench(ctx):
        ctx.set(top.o.ready, 1)
        sent = 0
        for cycle in range(len(beats) * 3 + top.latency + 200):
            ctx.set(top.i.valid, sent < len(beats))
            ctx.set(top.i.payload, beats[min(sent, len(beats) - 1)])
            _, _, ready, valid = await ctx.tick().sample(top.i.ready, top.o.valid)
            if sent < len(beats) and ready:
                accepted.append(cycle)
                sent += 1
            if valid:
                results.append(cycle)

    simulator.add_testbench(bench)
    simulator.run()
    per_image = len(beats) // len(pixels)
    last_beats = [accepted[(n + 1) * per_image - 1] for n in range(len(pixels))]
    assert results == [cycle + top.latency for cycle in last_beats]
    firsts = [accepted[n * per_image] for n in range(len(pixels))]
    assert [b - a for a, b in zip(firsts, firsts[1:])] == [top.initiation_interval] * (len(pixels) - 1)
