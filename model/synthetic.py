"""Synthetic layouts for benchmarks: one dense layer with a chosen bit mix, no training needed.

`dense_layer(inputs, outputs, mix, seed)` is a one-layer `Network` reading `inputs` 1-bit unsigned
inputs and emitting `outputs` scores, with the mix's exact share of 1-, 2- and 3-bit weights
(`bitmix.BitMix.counts`, as training allocates them) placed at random, random signs and plane weights of a 6-bit grid (as export produces). Its cost in
lanes is outputs x inputs x average bits, the quantity area should follow.
"""

import numpy as np

from .bitmix import parse_mix
from .layout import MAX_WEIGHT_BITS, InputCode, Network, WeightLayer, validate


def dense_layer(inputs: int, outputs: int, mix: str, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    counts = parse_mix(mix).counts(inputs * outputs)
    bits = np.repeat(np.arange(1, MAX_WEIGHT_BITS + 1, dtype=np.uint8), counts)
    bits = rng.permutation(bits).reshape(outputs, inputs)
    planes_count = int(bits.max())
    active = np.arange(planes_count)[:, None, None] < bits[None]
    planes = (rng.integers(0, 2, size=(planes_count, outputs, inputs)) * active).astype(np.uint8)
    ratios = [64, 35, 17][:planes_count]              # typical mu_n / mu_1 on a 6-bit grid
    plane_weights = np.tile(np.array(ratios, dtype=np.int64), (outputs, 1))
    layer = WeightLayer(kind="dense", in_shape=(inputs,), out_channels=outputs, kernel=1, stride=1,
                        padding=0, input=InputCode("pixels", 1, (1,)), bits=bits, planes=planes,
                        plane_weights=plane_weights, frac_bits=6, thresholds=None, output_code=None)
    return validate(Network((inputs,), 1, outputs, (layer,), {"net": f"synthetic {outputs}x{inputs}",
                                                              "weights": mix}))
