"""Random but valid layouts (numpy only), for property tests of the golden model and the file format."""

from dataclasses import replace

import numpy as np

from hbnn.model.layout import InputCode, MaxPool, Network, WeightLayer, validate


def _weight_layer(rng, kind, in_shape, out_channels, code, kernel=1, stride=1, padding=0, last=False):
    fan_in = int(np.prod(in_shape)) if kind == "dense" else in_shape[0] * kernel ** (len(in_shape) - 1)
    max_bits = int(rng.integers(1, 4))
    bits = rng.integers(1, max_bits + 1, size=(out_channels, fan_in)).astype(np.uint8)
    if rng.random() < 0.3:
        bits[0, :] = 1  # an output whose higher planes are empty
    planes_count = int(bits.max())
    active = np.arange(planes_count)[:, None, None] < bits[None]
    planes = (rng.integers(0, 2, size=(planes_count, out_channels, fan_in)) * active).astype(np.uint8)
    plane_weights = rng.integers(0, 17, size=(out_channels, planes_count)).astype(np.int64)
    out_code = None
    if not last:
        n = int(rng.integers(1, 4))
        q = sorted(rng.choice(np.arange(1, 9), size=n, replace=False), reverse=True)   # Q_1 > Q_2 > ...
        out_code = InputCode("residual", n, tuple(int(v) for v in q))
    layer = WeightLayer(kind=kind, in_shape=tuple(in_shape) if kind != "dense" else (fan_in,),
                        out_channels=out_channels, kernel=kernel, stride=stride, padding=padding,
                        input=code, bits=bits, planes=planes, plane_weights=plane_weights,
                        frac_bits=int(rng.integers(0, 5)), thresholds=None, output_code=out_code)
    if last:
        return layer
    low, high = layer.accumulator_bounds()
    span = [np.sort(rng.integers(lo, hi + 2, size=out_code.levels - 1)) for lo, hi in zip(low, high)]
    return replace(layer, thresholds=np.stack(span).astype(np.int64))


def bits_for_mix(rng, out_channels: int, fan_in: int, mix: str) -> tuple[np.ndarray, np.ndarray]:
    """(bits, planes) of an O x K weight matrix whose bit counts follow `mix`: "1" or "3" (every
    weight), "middle-out" (70 % 1 bit, 20 % 2, 10 % 3, scattered like a Middle-Out mask), "mixed"
    (1-3 bits at random), "empty-row" (mixed, but row 0 all 1-bit: its higher planes are empty);
    random sign bits where a weight has the plane, 0 elsewhere."""
    if mix in ("1", "3"):
        bits = np.full((out_channels, fan_in), int(mix), dtype=np.uint8)
    elif mix == "middle-out":
        bits = rng.choice(np.array([1, 2, 3], dtype=np.uint8), size=(out_channels, fan_in), p=[0.7, 0.2, 0.1])
    else:
        bits = rng.integers(1, 4, size=(out_channels, fan_in)).astype(np.uint8)
        if mix == "empty-row":
            bits[0] = 1
    count = int(bits.max())
    active = np.arange(count)[:, None, None] < bits[None]
    planes = (rng.integers(0, 2, size=(count, out_channels, fan_in)) * active).astype(np.uint8)
    return bits, planes


def random_network(seed: int, structure: str) -> Network:
    rng = np.random.default_rng(seed)
    pixel_bits = int(rng.integers(1, 5))
    code = InputCode("pixels", pixel_bits, tuple(1 << t for t in range(pixel_bits)))
    classes = int(rng.integers(2, 6))
    layers = []
    if structure == "mlp":
        shape = (int(rng.integers(1, 13)),)
        current = shape
    else:
        spatial = 1 if structure == "conv1d" else 2
        channels = int(rng.integers(1, 4))
        shape = (channels,) + tuple(int(rng.integers(3, 8)) for _ in range(spatial))
        kernel = int(rng.integers(1, 4))
        stride = int(rng.integers(1, 3))
        padding = int(rng.integers(0, 2))
        conv = _weight_layer(rng, structure, shape, int(rng.integers(1, 5)), code, kernel, stride, padding)
        layers.append(conv)
        current, code = conv.out_shape, conv.output_code
        if min(current[1:]) >= 2 and rng.random() < 0.7:
            pool = MaxPool(current, 2)
            layers.append(pool)
            current = pool.out_shape
    for _ in range(int(rng.integers(0, 2))):
        hidden = _weight_layer(rng, "dense", current, int(rng.integers(1, 7)), code)
        layers.append(hidden)
        current, code = hidden.out_shape, hidden.output_code
    layers.append(_weight_layer(rng, "dense", current, classes, code, last=True))
    return validate(Network(shape, pixel_bits, classes, tuple(layers), {"seed": seed, "structure": structure}))


def random_pixels(network: Network, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 1 << network.pixel_bits, size=(count,) + tuple(network.input_shape))
