# amaranth: UnusedElaboratable=no
"""The shared-arithmetic MVU (`mvu_shared`, da4ml's adder graph) against the golden model, and its
adder graph against plain integer products, in the Amaranth simulator."""

import dataclasses
import itertools
import random

import numpy as np
import pytest
from amaranth.hdl import Module, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hbnn.hw import adder_graph, mvu, mvu_shared, threshold
from hbnn.hw.packing import pack, unpack_signed
from hbnn.model import golden
from hbnn.model.layout import InputCode, MaxPool
from random_layouts import _weight_layer, random_network, random_pixels


@pytest.mark.parametrize("shape, entries, inputs, tiles", [
    ((40, 12), (-13, 13), (0, 15), {}),
    ((30, 7), (-2, 2), (0, 1), {"tile_inputs": 8, "tile_outputs": 3}),   # several tiles
    ((9, 5), (0, 0), (0, 1), {}),                                          # all-zero matrix
])
def test_the_adder_graph_computes_the_product(shape, entries, inputs, tiles):
    rng = np.random.default_rng(shape[0])
    kernel = rng.integers(entries[0], entries[1] + 1, size=shape)
    kernel[:, 0] = 0                                                      # one zero output
    graph = adder_graph.solve(kernel, [inputs] * shape[0], **tiles)
    x = rng.integers(inputs[0], inputs[1] + 1, size=(100, shape[0]))
    x[0], x[1] = inputs[0], inputs[1]                                     # the range's corners
    assert np.array_equal(graph.evaluate(x), x @ kernel)
    for node in graph.nodes:                                              # ranges hold every value
        assert node.low <= node.high


def test_a_transposed_kernel_is_read_as_itself():
    """da4ml reads its buffer as C-ordered whatever the strides; the graph must copy first."""
    rng = np.random.default_rng(3)
    kernel = rng.integers(-3, 4, size=(12, 20)).T                        # a Fortran-ordered view
    graph = adder_graph.solve(kernel, [(0, 1)] * 20)
    x = rng.integers(0, 2, size=(20, 20))
    assert np.array_equal(graph.evaluate(x), x @ kernel)


def test_bad_kernels_are_refused():
    with pytest.raises(ValueError, match="Kernel must be a 2-D integer array, not float64 of shape \\(2, 2\\)"):
        adder_graph.solve(np.zeros((2, 2)), [(0, 1)] * 2)
    with pytest.raises(ValueError, match="Kernel has 2 inputs but 3 input ranges were given"):
        adder_graph.solve(np.zeros((2, 2), int), [(0, 1)] * 3)
    with pytest.raises(ValueError, match="tile_inputs must be a positive integer, not 0"):
        adder_graph.solve(np.zeros((2, 2), int), [(0, 1)] * 2, tile_inputs=0)


def _networks(structure, count):
    return [random_network(seed, structure) for seed in range(count)]


def _run(dut, layer, inputs, enables):
    """Feed inputs[n] in cycle n with clock enable enables[n]; return, after every cycle, the
    outputs mapped back to Y by `maps` and what a naive stalling pipeline holds there (None:
    nothing yet). A stalled cycle's input is dropped by both."""
    stages, observed = [None] * dut.latency, []
    simulator = Simulator(dut)
    if dut.latency:
        simulator.add_clock(1e-6)

    async def bench(ctx):
        nonlocal stages
        for n, enable in enumerate(enables):
            current = n % len(inputs)
            ctx.set(dut.i, pack(inputs[current], layer.input.bits))
            ctx.set(dut.en, enable)
            if dut.latency:
                if enable:
                    stages = [current] + stages[:-1]
                await ctx.tick()
            await ctx.delay(1e-8)
            want = stages[-1] if dut.latency else current
            if want is not None:
                raw = unpack_signed(ctx.get(Value.cast(dut.o)), layer.out_channels, dut.acc_width)
                observed.append((want, [m.apply(int(v)) for m, v in zip(dut.maps, raw)]))

    simulator.add_testbench(bench)
    simulator.run()
    return observed


@pytest.mark.parametrize("form", mvu_shared.FORMS)
@pytest.mark.parametrize("structure", ["mlp", "conv1d"])
@pytest.mark.parametrize("pipeline", [0, 1, 3])
def test_shared_mvu_equals_the_golden_model(structure, pipeline, form):
    """Every layer of random layouts (pixel and residual inputs, 1-3 bit weights, empty planes):
    the unit's outputs, mapped by `maps`, are the golden accumulators; with `exact` they are
    the accumulators themselves; under a random clock enable nothing is lost or repeated."""
    checked = 0
    for network in _networks(structure, 6):
        pixels = random_pixels(network, 6, 0)
        result = golden.run(network, pixels)
        level_inputs = pixels.reshape(len(pixels), -1)
        for index, layer in enumerate(network.layers):
            if not hasattr(layer, "bits"):
                continue
            trace = result.trace[index]
            if layer.kind != "dense":
                continue                                  # windows are the layer's job (dense.Layer)
            inputs = level_inputs if index == 0 else result.trace[index - 1].outputs.numpy().reshape(len(pixels), -1)
            expected = trace.accumulators.numpy().reshape(len(pixels), -1)
            rng = random.Random(index)
            for exact in (False, True):
                dut = mvu_shared.Unrolled(layer, pipeline=pipeline, exact=exact, form=form)
                if exact:
                    assert all(m == threshold.IDENTITY for m in dut.maps)
                enables = [1] * 3 + [rng.random() < 0.6 for _ in range(30)]
                observed = _run(dut, layer, inputs, enables)
                assert len(observed) >= 10
                for n, got in observed:
                    assert got == expected[n].tolist()
                checked += 1
    assert checked >= 6


def test_the_unit_builds_the_form_with_fewer_adder_bits():
    chosen = 0
    for network in _networks("mlp", 4):
        for layer in network.weight_layers():
            bits = {form: mvu_shared.solve(layer, form)[0].adder_bits() for form in mvu_shared.FORMS}
            assert mvu_shared.Unrolled(layer).graph.adder_bits() == min(bits.values())
            chosen += bits["planes"] != bits["matrix"]
    assert chosen >= 2                     # the forms differ on these layers, so the choice is tested
    with pytest.raises(ValueError, match="unknown product form 'rows'"):
        mvu_shared.layer_product(layer, "rows")


def test_a_large_layer_picks_its_form_on_a_spread_sample_and_is_solved_once(monkeypatch):
    """Past `FORM_SAMPLE`, the form is chosen on rows spread over the fan-in, the layer is solved
    only in that form, and the progress callback adds up to the layer's outputs."""
    monkeypatch.setattr(mvu_shared, "FORM_SAMPLE", (8, 6))
    layer = _weight_layer(np.random.default_rng(2), "dense", (40,), 14, InputCode("pixels", 4, (1, 2, 4, 8)),
                          last=True)
    assert not mvu_shared.fits_sample(layer)
    parts, ranges, _ = mvu_shared.layer_product(layer, "planes")
    sample = mvu_shared._sample(parts, 8, 6)
    assert sample[0].rows[0] == parts[0].rows[0] and sample[0].rows[-1] == parts[0].rows[-1]   # spread
    assert len(sample[0].rows) == 8 and sample[0].kernel.shape == (8, 6)
    bits = {form: adder_graph.solve_sum(mvu_shared._sample(mvu_shared.layer_product(layer, form)[0], 8, 6),
                                        ranges).adder_bits() for form in mvu_shared.FORMS}
    picked = mvu_shared.choose_form(layer)
    assert bits[picked] == min(bits.values())
    solved = []
    monkeypatch.setattr(mvu_shared, "product_graph",
                        lambda layer, form, progress=None, _real=mvu_shared.product_graph, **tiles:
                        solved.append(form) or _real(layer, form, progress, **tiles))
    done = []
    unit = mvu_shared.Unrolled(layer, progress=done.append, tile_outputs=5)     # 3 columns of tiles
    assert solved == [picked]
    assert sum(done) == pytest.approx(layer.out_channels) and len(done) >= 3
    assert unit.graph.adder_bits() == mvu_shared.solve(layer, picked, tile_outputs=5)[0].adder_bits()


class _Levels(wiring.Component):
    """An MVU and its threshold unit, combinational: input levels in, output levels out (hidden
    layers), so a folded output map is proven together with the comparisons that absorb it."""

    def __init__(self, unit, layer):
        self.unit, self.layer = unit, layer
        super().__init__({"i": In(len(unit.i)),
                          "o": Out(data.ArrayLayout(layer.output_code.bits, layer.out_channels))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = self.unit
        m.submodules.levels = levels = threshold.Unit(self.layer.thresholds, acc_width=self.unit.acc_width,
                                                      level_bits=self.layer.output_code.bits, maps=self.unit.maps)
        m.d.comb += [self.unit.i.eq(self.i), levels.i.eq(self.unit.o), self.o.eq(levels.o)]
        return m


def _small(layer, inputs: int, outputs: int):
    """The first `inputs` x `outputs` corner of a dense layer: SAT proves adder-graph equivalence
    quickly only on narrow layers (a 12-input one does not finish in 8 minutes)."""
    inputs, outputs = min(inputs, layer.fan_in), min(outputs, layer.out_channels)
    return dataclasses.replace(
        layer, in_shape=(inputs,), out_channels=outputs, bits=layer.bits[:outputs, :inputs],
        planes=layer.planes[:, :outputs, :inputs], plane_weights=layer.plane_weights[:outputs],
        thresholds=None if layer.thresholds is None else layer.thresholds[:outputs])


@pytest.mark.parametrize("seed", [1, 7, 11])
def test_yosys_proves_the_shared_mvu_equal_to_the_generic_one(tmp_path, seed):
    """SAT over all inputs: the scores (exact) and the levels after folded thresholds equal
    those of the per-output popcount MVU, on narrow dense layers with pixel and residual inputs."""
    from amaranth.back import verilog

    from test_popcount_library import prove

    network = random_network(seed, "mlp")
    for layer, form in itertools.product(network.layers, mvu_shared.FORMS):
        layer = _small(layer, 4, 3)
        if layer.is_last:
            pair = mvu.Unrolled(layer), mvu_shared.Unrolled(layer, exact=True, form=form)
        else:
            pair = (_Levels(mvu.Unrolled(layer), layer),
                    _Levels(mvu_shared.Unrolled(layer, form=form), layer))
        for name, unit in zip(("inline", "shared"), pair):
            (tmp_path / f"{name}.v").write_text(verilog.convert(unit, name=name, emit_src=False))
        result = prove(tmp_path)
        assert result.returncode == 0, result.stdout[-800:] + result.stderr[-800:]
