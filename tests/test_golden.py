"""The golden model against a plain bit-level numpy re-implementation, and against trained nets."""

import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import layout_reference
from hbnn.model import data, golden
from hbnn.model.agreement import measure
from hbnn.model.export import export, pixel_codes, reduce_fraction, staircase_boundaries
from hbnn.model.config import net_config, train_config_for
from hbnn.model.training import train
from random_layouts import random_network, random_pixels


def assert_matches_reference(network, pixels):
    result = golden.run(network, pixels)
    expected = layout_reference.run(network, pixels)
    produced = []
    for trace in result.trace:
        if trace.accumulators is not None:
            produced.append(trace.accumulators.numpy())
        produced.append(trace.outputs.numpy())
    assert len(produced) == len(expected)
    for index, (mine, theirs) in enumerate(zip(produced, expected)):
        assert mine.shape == theirs.shape, index
        assert np.array_equal(mine, theirs), f"trace entry {index} differs"
    scores = expected[-1]
    assert np.array_equal(result.classes.numpy(), scores.argmax(axis=1))  # first maximum wins


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from(("mlp", "conv1d", "conv2d")))
def test_golden_equals_bit_level_reference_on_random_layouts(seed, structure):
    network = random_network(seed, structure)
    assert_matches_reference(network, random_pixels(network, 7, seed))


def test_ties_go_to_the_lowest_index():
    network = random_network(0, "mlp")
    last = network.layers[-1]
    # all-zero plane weights make every score 0: a full tie
    zero = type(last)(**{**last.__dict__, "plane_weights": np.zeros_like(last.plane_weights)})
    network = type(network)(network.input_shape, network.pixel_bits, network.num_classes,
                            network.layers[:-1] + (zero,), {})
    result = golden.run(network, random_pixels(network, 5, 1))
    assert result.scores.abs().sum() == 0 and result.classes.tolist() == [0] * 5


def test_bad_pixels_are_refused():
    network = random_network(2, "mlp")
    with pytest.raises(ValueError, match="pixel codes must lie in 0.."):
        golden.run(network, np.full((1,) + network.input_shape, 1 << network.pixel_bits))
    with pytest.raises(ValueError, match="pixels have shape"):
        golden.run(network, np.zeros((1, 99)))


def test_staircase_boundaries_and_fraction_reduction():
    assert staircase_boundaries(np.array([1.0])).tolist() == [0.0]
    assert staircase_boundaries(np.array([1.0, 0.5])).tolist() == [-1.0, 0.0, 1.0]
    assert staircase_boundaries(np.array([1.0, 0.5, 0.25])).tolist() == [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5]
    values, f = reduce_fraction(np.array([64, 32, 16]), 6)
    assert values.tolist() == [4, 2, 1] and f == 2
    values, f = reduce_fraction(np.array([64, 45]), 6)
    assert values.tolist() == [64, 45] and f == 6


@pytest.fixture(scope="module")
def trained():
    """Short trainings of every bundled net at 1, 1.4 and 2 bits (accuracy is not the point)."""
    runs = {}
    for dataset, net in (("digits", "mlp"), ("digits", "cnn"), ("mnist1d", "cnn1d"), ("mnist1d", "mlp")):
        for mix in ("1", "1.4", "2"):
            config = net_config(dataset, net, weights=mix, width=16)
            runs[dataset, net, mix] = train(config, data.load(dataset),
                                            train_config_for(config, epochs=3), progress=False).net
    return runs


@pytest.mark.parametrize("dataset, net", [("digits", "mlp"), ("digits", "cnn"), ("mnist1d", "cnn1d"),
                                          ("mnist1d", "mlp")])
@pytest.mark.parametrize("mix", ["1", "1.4", "2"])
def test_golden_follows_the_float_model(trained, dataset, net, mix):
    model = trained[dataset, net, mix]
    network = export(model)
    agreement = measure(model, network, data.load(dataset))
    assert agreement.same_class >= 0.995
    assert agreement.accuracy_gap_points <= 0.3


@pytest.mark.parametrize("dataset, net", [("digits", "cnn"), ("mnist1d", "cnn1d")])
def test_real_exports_match_the_bit_level_reference(trained, dataset, net):
    network = export(trained[dataset, net, "1.4"])
    pixels = pixel_codes(network, data.load(dataset).test_x[:4])
    assert_matches_reference(network, pixels)


def test_every_layer_of_a_real_export_matches_the_float_net(trained):
    """Hidden levels, not only classes: the float net's activation codes equal the golden levels."""
    model = trained["digits", "cnn", "1.4"]
    network = export(model)
    x = torch.from_numpy(data.load("digits").test_x)
    result = golden.run(network, pixel_codes(network, data.load("digits").test_x))
    values = x
    with torch.no_grad():
        h = model.pixels(values)
        previous = model.pixels
        golden_levels = [t.outputs for t in result.trace if t.kind == "maxpool"]
        for block, levels in zip(model.blocks[:-1], golden_levels):
            if block.spec.padding:
                h = torch.nn.functional.pad(h, (block.spec.padding,) * 4, value=previous.pad_value())
            h = block(h)
            previous = block.act
            assert torch.equal(h >= 0, levels >= 1)  # 1-bit codes: level 1 is +1
    assert result.scores.shape == (360, 10)


def test_negative_batchnorm_gain_is_folded_into_the_weights(trained):
    model = trained["digits", "mlp", "1.4"]
    norm = model.blocks[0].norm
    with torch.no_grad():
        norm.weight[:4] = -norm.weight[:4].abs()
        norm.weight[4] = 0.0          # a constant channel
    network = export(model)
    agreement = measure(model, network, data.load("digits"))
    assert agreement.same_class == 1.0
    plain = export(trained["digits", "mlp", "1.4"])
    assert np.array_equal(network.layers[0].bits, plain.layers[0].bits)
    t = network.layers[0].thresholds
    low, high = network.layers[0].accumulator_bounds()
    assert t[4, 0] in (low[4], high[4] + 1)


def test_golden_is_fast_on_the_digits_test_set(trained):
    network = export(trained["digits", "cnn", "1.4"])
    pixels = pixel_codes(network, data.load("digits").test_x)
    start = time.perf_counter()
    golden.run(network, pixels)
    assert time.perf_counter() - start < 1.0
