# amaranth: UnusedElaboratable=no
"""The design JSON's latency and initiation interval are exact: the skeleton's figures (`hw.timing`)
equal what the full design does in the Amaranth simulator, on the two cases an independent bench
found wrong before and on 200 random convolutional stacks (kernels, strides, padding, pools)."""

import numpy as np
import pytest

from hbnn.hw import network, timing
from hbnn.model.layout import InputCode, MaxPool, Network, conv_output_size, validate
from random_layouts import _weight_layer


def _stack(seed: int) -> Network:
    """1 to 3 random convolutions (stride up to the kernel, padding up to 2, an optional 2x pool
    after each), then one or two dense layers: small maps, random channels, bits and weights."""
    rng = np.random.default_rng(seed)
    dims = int(rng.integers(1, 3))
    shape = (int(rng.integers(1, 3)),) + tuple(int(rng.integers(3, 14 if dims == 1 else 7)) for _ in range(dims))
    bits = int(rng.integers(1, 3))
    code = InputCode("pixels", bits, tuple(1 << t for t in range(bits)))
    layers, current = [], shape
    for _ in range(int(rng.integers(1, 4))):
        kernel = int(rng.integers(1, 5))
        stride = int(rng.integers(1, kernel + 1))
        padding = int(rng.integers(0, 3))
        if min(conv_output_size(s, kernel, stride, padding) for s in current[1:]) < 1:
            break
        conv = _weight_layer(rng, f"conv{dims}d", current, int(rng.integers(1, 3)), code, kernel, stride, padding)
        layers.append(conv)
        current, code = conv.out_shape, conv.output_code
        if min(current[1:]) >= 2 and rng.random() < 0.4:
            layers.append(MaxPool(current, 2))
            current = layers[-1].out_shape
    if not layers:
        return _stack(seed + 1000)
    if rng.random() < 0.5:
        hidden = _weight_layer(rng, "dense", current, int(rng.integers(1, 4)), code)
        layers.append(hidden)
        current, code = hidden.out_shape, hidden.output_code
    classes = int(rng.integers(2, 4))
    layers.append(_weight_layer(rng, "dense", current, classes, code, last=True))
    return validate(Network(shape, bits, classes, tuple(layers), {"seed": seed}))


def _measured(net: Network, pipeline: int = 0) -> timing.Timing:
    """The full design itself in the Amaranth simulator."""
    return timing.measure(network.Top(net, pipeline=pipeline), beats_per_image=timing.beats_per_image(net))


def _reproducer(kind, pixels, convs):
    """pixels shape at 1 bit, then (kernel, stride, padding) convolutions of one channel, then a
    dense layer of 2 outputs."""
    rng = np.random.default_rng(0)
    code = InputCode("pixels", 1, (1,))
    layers, current = [], pixels
    for kernel, stride, padding in convs:
        layers.append(_weight_layer(rng, kind, current, 1, code, kernel, stride, padding))
        current, code = layers[-1].out_shape, layers[-1].output_code
    layers.append(_weight_layer(rng, "dense", current, 2, code, last=True))
    return validate(Network(pixels, 1, 2, tuple(layers)))


def test_the_two_reproducers():
    """conv2d k1 p1 -> conv2d k2 p1 on 3x3: 23 cycles, not the 21 the stages' sum gave; conv1d k2 s2 p1
    -> conv1d k4 s2 p2 on 13: one image per 16 cycles, not 15 (an always-valid source stalls once)."""
    first = _reproducer("conv2d", (1, 3, 3), [(1, 1, 1), (2, 1, 1)])
    second = _reproducer("conv1d", (1, 13), [(2, 2, 1), (4, 2, 2)])
    assert (timing.timing(first).latency, timing.timing(second).initiation_interval) == (23, 16)
    for net in (first, second):
        assert timing.timing(net) == _measured(net)


@pytest.mark.parametrize("block", range(10))
def test_published_timing_is_what_the_design_does(block):
    """200 random stacks in 10 blocks: published (skeleton) == measured (full design)."""
    for seed in range(20 * block, 20 * block + 20):
        net = _stack(seed)
        pipeline = seed % 3
        assert timing.timing(net, pipeline=pipeline) == _measured(net, pipeline), seed


def test_the_skeleton_keeps_the_structure_and_drops_the_width():
    net = _stack(7)
    frame = timing.skeleton(net)
    assert [layer.kind for layer in frame.layers] == [layer.kind for layer in net.layers]
    for layer, bare in zip(net.layers, frame.layers):
        assert bare.in_shape[1:] == (layer.in_shape[1:] if layer.kind != "dense" else ())
        if layer.kind != "maxpool":
            assert (bare.kernel, bare.stride, bare.padding) == (layer.kernel, layer.stride, layer.padding)
            assert bare.bits.max() == 1
    assert frame.pixel_bits == 1 and frame.input_shape[0] == 1
