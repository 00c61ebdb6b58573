"""Export a trained `Net` to an integer layout (`model.layout.Network`).

For each weight layer, in evaluation mode (exact sign, frozen masks and activation scales):

1. **Masks and signs**: bits = the allocation of the float weights; planes = the sign bits of the
   exact residual binarization (1 = -1), flattened to (O, K) in torch's (C, kh, kw) order.
2. **Plane weights**: R[o, i] = round(2^F mu_{o,i} / mu_ref) with mu_ref = max_o mu_{o,1} and
   F = the net's `ratio_bits`: the very integers the float net already computes with
   (`ResidualCode.reconstruct_in_units`), so export rounds nothing. Activation ratios likewise:
   Q_k = round(2^G gamma_k / gamma_1). **Rule for F (and G)**: start from `ratio_bits` and halve
   while every R (Q) is even, so exact ratios cost no bits (one plane with per-tensor scales
   gives F = 0 and R = 1).
3. **Thresholds**: the float net computes in units of mu_ref and gamma_1 (see
   `WeightQuantizer.forward` and `ResidualActivation`), so its pre-activation is y_o = c Y_o with
   c = s_in 2^-F > 0 (s_in = 1 for pixel codes, 2^-G for activations). BatchNorm gives
   z = g'(y - m) + beta with g' = gamma_bn / sqrt(var + eps). The next activation's level L is
   reached when z >= theta_L, theta_L = sum_{m < k} gamma_m a_m over the bits of L above the plane k
   that separates L - 1 from L. Hence Y_o >= T_L = ceil(((theta_L - beta) / g' + m) / c). A
   negative g' is folded into the weights (every sign of that output flips, Y -> -Y) so every
   comparison stays >=: then T_L = ceil(((theta_L - beta) / |g'| - m) / c). g' = 0 makes the level
   constant. Thresholds are clamped to the accumulator range [low, high + 1], which changes no
   comparison.
4. **Max-pool** after BatchNorm becomes a `MaxPool` of levels (the staircase is monotone in Y).

The last layer emits Y_o; its float scores are c Y_o exp(s), so the argmax is the same up to the
rounding of the ratios, which `agreement` measures rather than assumes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .activations import ResidualActivation
from .errors import ConfigError
from .layout import InputCode, MaxPool, Network, WeightLayer, validate
from .nets import Net
from .residual import residual_binarize


def reduce_fraction(values: np.ndarray, frac_bits: int) -> tuple[np.ndarray, int]:
    """Divide integers by 2 while all are even and frac_bits > 0: the same ratios in fewer bits."""
    values = np.asarray(values, dtype=np.int64)
    while frac_bits > 0 and np.all(values % 2 == 0):
        values, frac_bits = values // 2, frac_bits - 1
    return values, frac_bits


def staircase_boundaries(scales: np.ndarray) -> np.ndarray:
    """theta_L for L = 1 .. 2^n - 1 of the residual activation with scales gamma_1..gamma_n."""
    n = len(scales)
    thetas = []
    for level in range(1, 1 << n):
        # plane k (1-based, MSB first) flips between L - 1 and L: the lowest set bit of L
        k = n - ((level & -level).bit_length() - 1)
        prefix = [(level >> (n - m)) & 1 for m in range(1, k)]
        thetas.append(sum(scales[m] * (2 * bit - 1) for m, bit in enumerate(prefix)))
    return np.array(thetas, dtype=np.float64)


def _activation_code(act: ResidualActivation) -> tuple[InputCode, float]:
    """The integer code of an activation and its value scale s_in = 2^-G (the net's unit is gamma_1)."""
    gammas = act.running_scales.detach().double().numpy()
    if np.any(np.diff(gammas) >= 0) or gammas[0] <= 0:
        raise ConfigError(f"activation scales {gammas.tolist()} do not decrease, so the activation is "
                          "not a monotone staircase and has no threshold form")
    q = (act.ratios().double() * (1 << act.ratio_bits)).round().numpy()
    q, g = reduce_fraction(q, act.ratio_bits)
    return InputCode("residual", len(q), tuple(int(v) for v in q)), 1.0 / (1 << g)


def export(net: Net, provenance: dict | None = None) -> Network:
    """The integer layout of a trained `net` (see the module docstring); validated."""
    net = net.eval()
    config = net.config
    if config.act_bits == 0:
        raise ConfigError("export needs binarized activations; this net has float activations (act-bits 0)")
    shape = tuple(config.input_shape)
    bits = config.pixel_bits
    code = InputCode("pixels", bits, tuple(1 << t for t in range(bits)))
    value_scale = 1.0  # the first layer reads the pixel codes themselves
    layers = []
    for index, block in enumerate(net.blocks):
        spec = block.spec
        if not hasattr(block.weights, "quantizer"):
            raise ConfigError(f"layer {index} ({spec.kind}) has float weights; export needs every layer binarized")
        last = block.norm is None
        layer, shape, next_code, next_scale = _weight_layer(block, shape, code, value_scale, last)
        layers.append(layer)
        if spec.pool > 1:
            pool = MaxPool(shape, spec.pool)
            layers.append(pool)
            shape = pool.out_shape
        code, value_scale = next_code, next_scale
    network = Network(tuple(config.input_shape), config.pixel_bits, config.num_classes, tuple(layers),
                      dict(provenance or {}))
    return validate(network)


@torch.no_grad()
def _weight_layer(block, in_shape, code: InputCode, value_scale: float, last: bool):
    spec = block.spec
    weight = block.weights.weight.detach().double()
    out_channels = weight.shape[0]
    quantizer = block.weights.quantizer
    bits = quantizer.bits(block.weights.weight).reshape(out_channels, -1)
    binary = residual_binarize(weight.reshape(out_channels, -1), bits, quantizer.scale)
    planes = ((binary.signs < 0) & binary.active).to(torch.uint8).numpy()
    ratios = binary.integer_ratios(quantizer.ratio_bits, quantizer.ratio_digits)[:, :, 0].T.numpy()   # (O or 1, P)
    ratios = np.broadcast_to(ratios, (out_channels, ratios.shape[1]))
    plane_weights, f = reduce_fraction(ratios, quantizer.ratio_bits)
    c = value_scale / (1 << f)
    kind_shape = (int(np.prod(in_shape)),) if spec.kind == "dense" else tuple(in_shape)

    thresholds, output_code, next_scale = None, None, None
    if not last:
        output_code, next_scale = _activation_code(block.act)
        norm = block.norm
        gain = (norm.weight / torch.sqrt(norm.running_var + norm.eps)).double().numpy()
        mean = norm.running_mean.double().numpy()
        beta = norm.bias.double().numpy()
        thetas = staircase_boundaries(block.act.running_scales.double().numpy())
        # a negative gain: flip every sign of that output (Y -> -Y), so comparisons stay >=
        negative = gain < 0
        active = np.arange(planes.shape[0])[:, None, None] < bits.numpy()[None]
        planes[:, negative, :] ^= active[:, negative, :].astype(np.uint8)
        thresholds = np.empty((out_channels, len(thetas)), dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.abs(gain)[:, None]
            signed_mean = np.where(negative, -mean, mean)[:, None]
            exact = ((thetas[None, :] - beta[:, None]) / magnitude + signed_mean) / c
        constant = gain == 0
        thresholds[:] = np.ceil(exact)
        # g' = 0: z = beta for every input, so level L is always (or never) reached
        thresholds[constant] = np.where(beta[constant, None] >= thetas[None, :], -np.inf, np.inf)
    layer = WeightLayer(kind=spec.kind, in_shape=kind_shape, out_channels=out_channels,
                        kernel=spec.kernel if spec.kind != "dense" else 1, stride=spec.stride,
                        padding=spec.padding, input=code, bits=bits.numpy().astype(np.uint8),
                        planes=planes, plane_weights=plane_weights, frac_bits=f,
                        thresholds=None, output_code=output_code)
    if thresholds is not None:
        low, high = layer.accumulator_bounds()
        clamped = np.clip(thresholds, low[:, None].astype(np.float64), (high[:, None] + 1).astype(np.float64))
        layer = replace(layer, thresholds=clamped.astype(np.int64))
    return layer, layer.out_shape, output_code, next_scale


def pixel_codes(network: Network, images: np.ndarray) -> np.ndarray:
    """Integer pixel levels round(x (2^b - 1)) of images in [0, 1], as the net's PixelQuantizer."""
    levels = (1 << network.pixel_bits) - 1
    return np.round(np.clip(images, 0.0, 1.0) * levels).astype(np.int64)
