# amaranth: UnusedElaboratable=no
"""Hardware units in the Amaranth simulator, each against a deliberately naive reference."""

import dataclasses
import random
import re

import numpy as np
import pytest
from amaranth.hdl import Shape, Value
from amaranth.sim import Simulator

from hbnn.hw import argmax, fanout, mvu, popcount, threshold
from hbnn.hw.adders import spread, tree_depth
from hbnn.hw.packing import pack, unpack, unpack_signed
from hbnn.model import golden
from hbnn.model.layout import validate
from random_layouts import random_network, random_pixels


def simulate_combinational(dut, cases, check):
    """Set inputs with `cases` (callables taking ctx), let them settle, and run `check(ctx)`."""
    simulator = Simulator(dut)

    async def bench(ctx):
        for case in cases:
            case(ctx)
            await ctx.delay(1e-6)
            check(ctx, case)

    simulator.add_testbench(bench)
    simulator.run()


@pytest.mark.parametrize("width", [1, 2, 7, 64, 300])
@pytest.mark.parametrize("pipeline", [0, 1, 3, 9])
@pytest.mark.parametrize("by_fours", [False, True])
def test_popcount_tree_counts_ones(width, pipeline, by_fours):
    """Also counting four bits at a time in LUTs first (`by_fours`, full pipelining): the same
    counts with the same latency, however the registers fall."""
    dut = popcount.Tree(width, pipeline=pipeline, by_fours=by_fours)
    assert dut.latency == pipeline
    rng = random.Random(width * 10 + pipeline)
    values = [0, (1 << width) - 1] + [rng.getrandbits(width) for _ in range(30)]
    enables = [1] * 2 + [rng.random() < 0.7 for _ in range(30)]
    # naive model of a stalling pipeline: inputs advance one stage per enabled cycle
    expected, stages = [], [None] * pipeline
    for value, enable in zip(values, enables):
        if pipeline == 0:
            expected.append(bin(value).count("1"))
            continue
        if enable:
            stages = [value] + stages[:-1]
        expected.append(None if stages[-1] is None else bin(stages[-1]).count("1"))
    simulator = Simulator(dut)
    if pipeline:
        simulator.add_clock(1e-6)

    async def bench(ctx):
        for value, enable, want in zip(values, enables, expected):
            ctx.set(dut.i, value)
            ctx.set(dut.en, enable)
            if pipeline:
                await ctx.tick()
            await ctx.delay(1e-8)
            if want is not None:
                assert ctx.get(dut.o) == want

    simulator.add_testbench(bench)
    simulator.run()


@pytest.mark.parametrize("width, element_bits", [(1, 4), (5, 2), (33, 4), (100, 3)])
def test_popcount_tree_sums_multi_bit_elements(width, element_bits):
    dut = popcount.Tree(width, element_bits=element_bits)
    assert len(dut.i) == width * element_bits and dut.o.shape().width == (width * ((1 << element_bits) - 1)).bit_length()
    rng = random.Random(width)
    values = [0, (1 << (width * element_bits)) - 1] + [rng.getrandbits(width * element_bits) for _ in range(30)]
    mask = (1 << element_bits) - 1

    async def bench(ctx):
        for value in values:
            ctx.set(dut.i, value)
            await ctx.delay(1e-8)
            assert ctx.get(dut.o) == sum((value >> (n * element_bits)) & mask for n in range(width))

    simulator = Simulator(dut)
    simulator.add_testbench(bench)
    simulator.run()
    with pytest.raises(ValueError, match=re.escape("Popcount element bits must be a positive integer, not 0")):
        popcount.Tree(4, element_bits=0)


@pytest.mark.parametrize("subtract", [False, True])
@pytest.mark.parametrize("negated", ["none", "some", "all"])
def test_balanced_sum_with_negated_terms(subtract, negated):
    """Signed and unsigned terms, some `Negated`: the exact sum, with and without subtracting in
    the tree (`subtract`), and with a register after every level; all-negated trees too."""
    from amaranth.hdl import Module, Signal, signed
    from hbnn.hw.adders import Negated, balanced_sum

    rng = random.Random(len(negated) + subtract)
    shapes = [4, signed(5), 3, signed(6), 7, 2, signed(3)]
    inputs = [Signal(shape, name=f"t{n}") for n, shape in enumerate(shapes)]
    flags = {"none": [False] * 7, "all": [True] * 7, "some": [n % 3 == 1 for n in range(7)]}[negated]
    terms = [Negated(t) if flag else t for t, flag in zip(inputs, flags)]
    m = Module()
    levels = tree_depth(len(terms))
    total = balanced_sum(m, terms, name="sum", registered_levels=range(1, levels + 1), subtract=subtract)
    out = Signal(signed(12))
    m.d.comb += out.eq(total)

    def value_range(shape):
        shape = Shape.cast(shape)
        return (-(1 << shape.width - 1), (1 << shape.width - 1) - 1) if shape.signed else (0, (1 << shape.width) - 1)

    vectors = [[rng.randint(*value_range(shape)) for shape in shapes] for _ in range(40)]
    seen = []

    async def bench(ctx):
        for vector in vectors + [[0] * 7] * levels:
            for signal, v in zip(inputs, vector):
                ctx.set(signal, v)
            await ctx.tick()
            seen.append(ctx.get(out))

    simulator = Simulator(m)
    simulator.add_clock(1e-6)
    simulator.add_testbench(bench)
    simulator.run()
    expected = [sum(-v if flag else v for v, flag in zip(vector, flags)) for vector in vectors]
    assert seen[levels - 1:levels - 1 + len(vectors)] == expected


def test_spread_places_registers_evenly():
    assert spread(0, 5) == ()
    assert spread(2, 6) == (3, 6)
    assert spread(3, 10) == (3, 7, 10)
    assert spread(3, 1) == (1, 2, 3)       # past the root: extra output registers
    with pytest.raises(ValueError, match="Pipeline stages must be a non-negative integer, not -1"):
        spread(-1, 3)
    with pytest.raises(ValueError, match="Popcount width must be a positive integer, not 0"):
        popcount.Tree(0)


@pytest.mark.parametrize("seed", range(12))
def test_mvu_accumulators_equal_the_golden_model(seed):
    network = random_network(seed, "mlp")
    layer = network.layers[0]          # reads pixels
    pixels = random_pixels(network, 12, seed)
    expected = golden.run(network, pixels).trace[0].accumulators.numpy()
    cases = [pixels[n].reshape(-1) for n in range(len(pixels))]
    dut = mvu.Unrolled(layer)
    width = dut.acc_width

    def drive(image):
        return lambda ctx: ctx.set(dut.i, pack(image, layer.input.bits))

    def check(ctx, case):
        n = cases_index[id(case)]
        got = unpack_signed(ctx.get(Value.cast(dut.o)), layer.out_channels, width)
        assert np.array_equal(got, expected[n])

    drivers = [drive(image) for image in cases]
    cases_index = {id(d): n for n, d in enumerate(drivers)}
    simulate_combinational(dut, drivers, check)


def test_mvu_on_residual_inputs_with_every_bitwidth():
    # a hidden layer: residual input codes; find random layouts whose second layer has 3 planes
    networks = [n for n in (random_network(s, "mlp") for s in range(200)) if len(n.layers) > 1
                and n.layers[1].planes.shape[0] == 3 and n.layers[1].input.bits > 1][:3]
    assert networks
    for network in networks:
        pixels = random_pixels(network, 10, 1)
        result = golden.run(network, pixels)
        hidden_levels = result.trace[0].outputs.numpy()
        expected = result.trace[1].accumulators.numpy()
        layer = network.layers[1]
        dut = mvu.Unrolled(layer, pipeline=2)
        simulator = Simulator(dut)
        simulator.add_clock(1e-6)

        async def bench(ctx, layer=layer, dut=dut):
            for n in range(len(pixels) + dut.latency):
                if n < len(pixels):
                    ctx.set(dut.i, pack(hidden_levels[n], layer.input.bits))
                await ctx.tick()
                await ctx.delay(1e-8)
                if n + 1 >= dut.latency and n + 1 - dut.latency < len(pixels):
                    got = unpack_signed(ctx.get(Value.cast(dut.o)), layer.out_channels, dut.acc_width)
                    assert np.array_equal(got, expected[n + 1 - dut.latency])

        simulator.add_testbench(bench)
        simulator.run()


@pytest.mark.parametrize("seed", range(6))
def test_a_fully_pipelined_mvu_gives_the_golden_accumulators_latency_enabled_cycles_later(seed):
    """pipeline="full": a register after every popcount and combining level, and a fan-out tree
    of input copies per group of outputs; the latency is known before elaboration, and every layer of a random net (pixel and residual inputs, 1-3
    bit weights) gives the golden accumulators under a random clock enable."""
    network = random_network(seed, "mlp")
    pixels = random_pixels(network, 16, seed)
    result = golden.run(network, pixels)
    rng = random.Random(seed)
    for index, layer in enumerate(network.weight_layers()):
        inputs = pixels.reshape(len(pixels), -1) if index == 0 else result.trace[index - 1].outputs.numpy()
        expected = result.trace[index].accumulators.numpy()
        dut = mvu.Unrolled(layer, pipeline="full")
        copies = -(-layer.out_channels // fanout.OUTPUTS_PER_COPY)
        assert dut.fanout_depth == fanout.depth(copies) == (0 if copies == 1 else 1 if copies <= 4 else 2)
        assert dut.latency == dut.fanout_depth + len(dut.registered_levels) + len(dut.combining_levels) >= 2
        assert len(dut.registered_levels) == tree_depth(int((layer.bits > 0).sum(axis=1).max()))
        enables = [rng.random() < 0.7 for _ in range(len(inputs) * 3)]
        seen = []

        async def bench(ctx, dut=dut, layer=layer, inputs=inputs, enables=enables, seen=seen):
            fed = 0
            for enable in enables:
                ctx.set(dut.i, pack(inputs[min(fed, len(inputs) - 1)], layer.input.bits))
                ctx.set(dut.en, enable)
                await ctx.delay(1e-9)
                seen.append(unpack_signed(ctx.get(Value.cast(dut.o)), layer.out_channels, dut.acc_width))
                fed += enable
                await ctx.tick()

        simulator = Simulator(dut)
        simulator.add_clock(1e-6)
        simulator.add_testbench(bench)
        simulator.run()
        # after an enabled cycle n the registers hold input n; the output shows input e - latency
        # (e = enabled cycles so far), the last input once the feed ran out
        checked, enabled = 0, 0
        for n, got in enumerate(seen):
            if enabled >= dut.latency:
                fed_index = min(enabled - dut.latency, len(inputs) - 1)
                assert np.array_equal(got, expected[fed_index]), (index, n)
                checked += 1
            enabled += enables[n]
        assert checked > len(inputs)


def test_mvu_with_one_sign_per_output_uses_the_shared_total_correctly():
    """Plane 0 spans the fan-in, so the MVU counts only the smaller sign group and takes the other
    from a shared total; outputs whose weights are all +1 or all -1 leave that group empty."""
    network = next(n for n in (random_network(s, "mlp") for s in range(100))
                   if len(n.layers) > 1 and min(layer.out_channels for layer in n.layers[:2]) > 1)
    layers = list(network.layers)
    for index in (0, 1):
        planes = layers[index].planes.copy()
        planes[0, 0, :] = 0                      # output 0: every weight +1
        planes[0, 1, :] = 1                      # output 1: every weight -1
        layers[index] = dataclasses.replace(layers[index], planes=planes)
    network = validate(dataclasses.replace(network, layers=tuple(layers)))
    pixels = random_pixels(network, 8, 0)
    result = golden.run(network, pixels)
    for index in (0, 1):
        layer = network.layers[index]
        inputs = pixels.reshape(len(pixels), -1) if index == 0 else result.trace[0].outputs.numpy()
        expected = result.trace[index].accumulators.numpy()
        dut = mvu.Unrolled(layer)

        async def bench(ctx, dut=dut, layer=layer, inputs=inputs, expected=expected):
            for n in range(len(inputs)):
                ctx.set(dut.i, pack(inputs[n], layer.input.bits))
                await ctx.delay(1e-8)
                got = unpack_signed(ctx.get(Value.cast(dut.o)), layer.out_channels, dut.acc_width)
                assert np.array_equal(got, expected[n])

        simulator = Simulator(dut)
        simulator.add_testbench(bench)
        simulator.run()


def test_a_layer_without_three_bit_weights_has_no_plane_three_logic():
    network = next(n for n in (random_network(s, "mlp") for s in range(100)) if n.layers[0].planes.shape[0] == 2)
    from amaranth.back import rtlil
    text = rtlil.convert(mvu.Unrolled(network.layers[0]))
    assert "_p1_" in text and "_p2_" not in text      # signal names: o{output}_p{plane}_...


def test_threshold_unit_counts_reached_thresholds():
    thresholds = [[-5, 0, 0], [1, 2, 9]]
    dut = threshold.Unit(thresholds, acc_width=8, level_bits=2)
    values = [(-6, 0), (-5, 1), (0, 2), (3, 8), (100, 9), (-128, 127)]

    def setter(pair):
        return lambda ctx: [ctx.set(dut.i[o], v) for o, v in enumerate(pair)]

    def check(ctx, case):
        pair = values[drivers.index(case)]
        got = unpack(ctx.get(Value.cast(dut.o)), 2, 2)
        want = [sum(v >= t for t in row) for v, row in zip(pair, thresholds)]
        assert got.tolist() == want

    drivers = [setter(p) for p in values]
    simulate_combinational(dut, drivers, check)
    with pytest.raises(ValueError, match="Thresholds must ascend along each output"):
        threshold.Unit([[3, 1, 5]], acc_width=8, level_bits=2)


def test_threshold_unit_with_output_maps_beyond_the_accumulator_range():
    """Thresholds whose bounds fall below, inside and above a 5-bit accumulator's range, through
    positive and negative output maps (Y = ±2^s X + C): every X of the range against the rule."""
    thresholds = [[-200, -3, 40], [-7, 0, 7], [-1, 60, 300]]
    maps = [threshold.OutputMap(), threshold.OutputMap(negative=True, shift=1, offset=3),
            threshold.OutputMap(shift=2, offset=-5)]
    dut = threshold.Unit(thresholds, acc_width=5, level_bits=2, maps=maps)
    values = list(range(-16, 16))

    def setter(x):
        return lambda ctx: [ctx.set(dut.i[o], x) for o in range(3)]

    def check(ctx, case):
        x = values[drivers.index(case)]
        got = unpack(ctx.get(Value.cast(dut.o)), 3, 2)
        want = [sum(output_map.apply(x) >= t for t in row) for row, output_map in zip(thresholds, maps)]
        assert got.tolist() == want, x

    drivers = [setter(x) for x in values]
    simulate_combinational(dut, drivers, check)


@pytest.mark.parametrize("compare_registers", [False, True])
@pytest.mark.parametrize("classes, levels", [(10, (1, 2, 3, 4)), (10, (2, 4)), (3, (1, 2, 3)), (1, (1,))])
def test_a_pipelined_argmax_gives_each_vector_its_winner_latency_cycles_later(classes, levels, compare_registers):
    """Registers after the given tournament levels (past the last, too), and with
    `compare_registers` also between each such level's compares and muxes: one vector per cycle,
    its index `latency` cycles later, ties to the lowest index; held while `en` is low."""
    dut = argmax.Unit(classes, width=6, registered_levels=levels, compare_registers=compare_registers)
    assert dut.latency == len(levels) * (2 if compare_registers else 1)
    rng = random.Random(classes + len(levels))
    vectors = [[rng.randint(-4, 4) for _ in range(classes)] for _ in range(60)]
    enables = [rng.random() < 0.7 for _ in vectors]
    seen = []

    async def bench(ctx):
        for vector, enable in zip(vectors, enables):
            for c, v in enumerate(vector):
                ctx.set(dut.i[c], v)
            ctx.set(dut.en, enable)
            await ctx.delay(1e-9)
            seen.append(ctx.get(dut.o))
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    simulator.add_testbench(bench)
    simulator.run()
    # the vector that is out in cycle n is the latency-th enabled one before it
    entered = [n for n, enable in enumerate(enables) if enable]
    for n, got in enumerate(seen):
        earlier = [e for e in entered if e < n]
        if len(earlier) >= dut.latency:
            vector = vectors[earlier[-dut.latency]]
            assert got == vector.index(max(vector)), n


@pytest.mark.parametrize("classes", [1, 2, 3, 10])
def test_argmax_picks_the_lowest_index_among_ties(classes):
    dut = argmax.Unit(classes, width=6)
    rng = random.Random(classes)
    vectors = [[rng.randint(-4, 4) for _ in range(classes)] for _ in range(40)] + [[7] * classes]

    def setter(vector):
        return lambda ctx: [ctx.set(dut.i[c], v) for c, v in enumerate(vector)]

    drivers = [setter(v) for v in vectors]

    def check(ctx, case):
        vector = vectors[drivers.index(case)]
        assert ctx.get(dut.o) == vector.index(max(vector))

    simulate_combinational(dut, drivers, check)
