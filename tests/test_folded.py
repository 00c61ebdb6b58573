# amaranth: UnusedElaboratable=no
"""`hw.folded.Layer` in the Amaranth simulator against the plain layout reference: random layouts
(all 1-bit, all 3-bit, Middle-Out-like mixes, a row with empty higher planes, fan-in not a
multiple of the block, rows not a multiple of the PEs), random idle at the source and random
backpressure at the sink, and the cycle counts the unit publishes."""

import random

import numpy as np
import pytest

from hbnn.hw.fold_schedule import Folding
from hbnn.hw.fold_schedule import check_foldable
from hbnn.hw.folded import Layer
from hbnn.model.layout import InputCode, WeightLayer
from clocked_bench import run_clocked
from layout_reference import weight_layer as reference
from random_layouts import bits_for_mix


def foldable_layer(rng, out_channels: int, fan_in: int, mix: str, *, in_bits: int, last: bool) -> WeightLayer:
    """A dense layer on `in_bits`-bit residual inputs whose bit counts follow `mix`
    (`random_layouts.bits_for_mix`), one set of plane ratios for every row, thresholds inside the
    reachable range (or the last layer)."""
    bits, planes = bits_for_mix(rng, out_channels, fan_in, mix)
    count = planes.shape[0]
    ratios = np.array(sorted(rng.integers(1, 9, size=count).tolist(), reverse=True), dtype=np.int64)
    q = tuple(sorted(rng.choice(np.arange(1, 6), size=in_bits, replace=False).tolist(), reverse=True))
    layer = WeightLayer(kind="dense", in_shape=(fan_in,), out_channels=out_channels, kernel=1, stride=1, padding=0,
                        input=InputCode("residual", in_bits, tuple(int(v) for v in q)), bits=bits, planes=planes,
                        plane_weights=np.tile(ratios, (out_channels, 1)), frac_bits=0, thresholds=None,
                        output_code=None)
    if last:
        return layer
    levels = int(rng.integers(1, 3))
    low, high = layer.accumulator_bounds()
    # thresholds around the middle of the range, so every level occurs; some outside it
    thresholds = np.stack([np.sort(rng.integers(lo // 3, hi // 3 + 2, size=(1 << levels) - 1)) for lo, hi in zip(low, high)])
    thresholds[0, 0] = int(high[0]) + 5                 # a threshold no input reaches
    thresholds[0] = np.sort(thresholds[0])
    return WeightLayer(**{**layer.__dict__, "thresholds": thresholds.astype(np.int64),
                          "output_code": InputCode("residual", levels, tuple(range(levels, 0, -1)))})


def unpack(dut: Layer, payload) -> list[int]:
    """Per row: the score (last layer, an array of signed values) or the level (packed bits)."""
    if dut.layer.is_last:
        return [int(value) for value in payload]
    bits = dut.layer.output_code.bits
    return [(payload >> (row * bits)) & ((1 << bits) - 1) for row in range(dut.layer.out_channels)]


def stream(dut: Layer, vectors: np.ndarray, *, seed: int, idle: float, backpressure: float):
    """Every vector in through `i`, every output out of `o` (with random idle and backpressure);
    returns the outputs (levels or scores per row) and the cycle each output left."""
    rng = random.Random(seed)
    b = dut.in_bits
    received, cycles = [], []

    async def source(ctx):
        for vector in vectors:
            payload = sum(int(level) << (j * b) for j, level in enumerate(vector))
            while rng.random() < idle:
                await ctx.tick()
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, payload)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        cycle = 0
        while len(received) < len(vectors):
            ready = rng.random() >= backpressure
            ctx.set(dut.o.ready, ready)
            if ready and ctx.get(dut.o.valid):
                received.append(unpack(dut, ctx.get(dut.o.payload)))
                cycles.append(cycle)
            await ctx.tick()
            cycle += 1
            assert cycle < 200 * (len(vectors) + 1) * (dut.latency + dut.initiation_interval), "the unit hangs"

    run_clocked(dut, source, sink)
    return np.array(received), cycles


CASES = [  # (out_channels, fan_in, mix, in_bits, pe, lanes, last)
    (6, 20, "middle-out", 1, 2, 8, False),
    (5, 13, "empty-row", 2, 2, 7, False),
    (7, 11, "middle-out", 1, 3, 6, True),
    (4, 9, "1", 1, 3, 4, False),
    (5, 10, "3", 2, 2, 6, True),
    (3, 7, "empty-row", 1, 4, 5, False),
    (6, 4, "1", 1, 2, 8, False),          # one block per row: the combine sets the interval
]


@pytest.mark.parametrize("out_channels, fan_in, mix, in_bits, pe, lanes, last", CASES)
def test_the_folded_layer_equals_the_reference_under_idle_and_backpressure(out_channels, fan_in, mix, in_bits,
                                                                          pe, lanes, last):
    rng = np.random.default_rng(fan_in * 10 + out_channels)
    layer = foldable_layer(rng, out_channels, fan_in, mix, in_bits=in_bits, last=last)
    dut = Layer(layer, folding=Folding(pe=pe, lanes=lanes))
    vectors = rng.integers(0, 1 << in_bits, size=(12, fan_in))
    scores, levels = reference(layer, vectors)
    received, _ = stream(dut, vectors, seed=fan_in, idle=0.3, backpressure=0.3)
    assert np.array_equal(received, scores if last else levels)


@pytest.mark.parametrize("out_channels, fan_in, mix, in_bits, pe, lanes, last", CASES)
def test_back_to_back_vectors_leave_at_the_published_latency_and_interval(
        out_channels, fan_in, mix, in_bits, pe, lanes, last):
    rng = np.random.default_rng(fan_in)
    layer = foldable_layer(rng, out_channels, fan_in, mix, in_bits=in_bits, last=last)
    dut = Layer(layer, folding=Folding(pe=pe, lanes=lanes))
    vectors = rng.integers(0, 1 << in_bits, size=(24, fan_in))
    scores, levels = reference(layer, vectors)
    received, cycles = stream(dut, vectors, seed=1, idle=0, backpressure=0)
    assert np.array_equal(received, scores if last else levels)
    assert cycles[0] == dut.latency
    # the first vectors catch up on the first one's loading; then one leaves every interval
    intervals = [b - a for a, b in zip(cycles, cycles[1:])]
    assert max(intervals) == dut.initiation_interval and intervals[-3:] == [dut.initiation_interval] * 3


def test_layers_the_folded_unit_cannot_compute_are_refused():
    rng = np.random.default_rng(0)
    layer = foldable_layer(rng, 3, 5, "middle-out", in_bits=1, last=True)
    pixels = WeightLayer(**{**layer.__dict__, "input": InputCode("pixels", 2, (1, 2))})
    with pytest.raises(ValueError, match="^a folded layer needs residual"):
        check_foldable(pixels)
    ratios = layer.plane_weights.copy()
    ratios[1, 0] += 1
    with pytest.raises(ValueError, match="same plane ratios R for every output"):
        Layer(WeightLayer(**{**layer.__dict__, "plane_weights": ratios}), folding=Folding(pe=1, lanes=4))


def foldable_network(seed: int, structure: str):
    """`random_layouts.random_network` with each weight layer after the first given one set of
    plane ratios for all its outputs (row 0's), so it can be folded."""
    from dataclasses import replace

    from hbnn.model.layout import validate
    from random_layouts import random_network

    net = random_network(seed, structure)
    layers = list(net.layers)
    for index, layer in enumerate(layers):
        if index > 0 and isinstance(layer, WeightLayer):
            layers[index] = replace(layer, plane_weights=np.tile(layer.plane_weights[0], (layer.out_channels, 1)))
    return validate(replace(net, layers=tuple(layers)))


@pytest.mark.parametrize("structure, seed", [("mlp", 1), ("mlp", 4), ("conv1d", 0), ("conv1d", 7), ("conv2d", 2), ("conv2d", 5)])
def test_networks_with_folded_layers_are_bit_exact_and_their_timing_is_exact(structure, seed):
    """Every weight layer after the first folded (the first reads pixels and stays unrolled): the
    whole network against the golden model under idle and backpressure, and the latency and
    interval `network.Top` publishes (measured on its skeleton, folded layers standing in by their
    control) equal to the real design's, measured."""
    from hbnn.hw import network, timing
    from hbnn.sim.network_check import check
    from random_layouts import random_pixels

    net = foldable_network(seed, structure)
    fold = {position: Folding(pe=2, lanes=3 + position) for position in range(1, len(net.weight_layers()))}
    pixels = random_pixels(net, 10, seed)
    result = check(net, pixels, seed=seed, fold=fold)
    assert result.bit_exact, result.mismatches[:5]
    top = network.Top(net, fold=fold)
    real = timing.measure(network.Top(net, fold=fold), beats_per_image=timing.beats_per_image(net), images=16)
    assert (top.latency, top.initiation_interval) == (real.latency, real.initiation_interval)


def test_a_folding_the_network_cannot_take_is_refused():
    from hbnn.hw import network

    net = foldable_network(1, "mlp")
    count = len(net.weight_layers())
    with pytest.raises(ValueError, match=f"folding names weight layer {count}; the network has weight layers 0-{count - 1}"):
        network.Top(net, fold={count: Folding(pe=1, lanes=4)})
    with pytest.raises(ValueError, match="^a folded layer needs residual"):
        network.Top(net, fold={0: Folding(pe=1, lanes=4)})
    with pytest.raises(ValueError, match="cannot be fully pipelined yet"):
        network.Top(net, pipeline="full", fold={count - 1: Folding(pe=1, lanes=4)})
