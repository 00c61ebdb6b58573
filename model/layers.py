"""Binarized Linear, Conv1d and Conv2d layers with heterogeneous per-weight bitwidths.

Each layer owns float latent weights and a `WeightQuantizer` that, on every forward pass,

1. recomputes the bit mask M from the float weights with the chosen allocation (no gradient),
2. builds T_hat by residual binarization with M, through the chosen PC++ plane quantizer in
   training and with exact sign in evaluation,

so `layer.weight` stays float and `layer.quantized_weight()` is what the network computes with,
in units of the tensor's first-plane scale (see `WeightQuantizer.forward`). The latent weights
live in the box [-1, 1]: they start uniform in it and `after_step` clips them back after every
optimizer step (`model.proxconnect`).
Layers have no bias (BatchNorm after them supplies it) and no padding of their own: the network
pads with the previous activation's padding value, which for binary codes is not zero.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .allocation import allocate
from .bitmix import BitMix
from .config import MethodConfig, check_allocation, check_scale
from .proxconnect import LATENT_BOX, PlaneQuantizer, clip_to_box, proxquant_step
from .residual import residual_binarize, residual_quantize


class WeightQuantizer(nn.Module):
    """Heterogeneous residual binarization of one weight tensor; `progress` drives PC++ schedules."""

    def __init__(self, *, mix: BitMix, allocation: str, method: MethodConfig, scale: str, seed: int,
                 ratio_bits: int, ratio_digits: int = 0):
        super().__init__()
        self.ratio_bits = ratio_bits
        self.ratio_digits = ratio_digits
        self.mix = mix
        self.allocation = check_allocation(allocation)
        self.method = method
        self.scale = check_scale(scale)
        self.seed = seed
        self.progress = 0.0
        self.training_forward = False  # True: the training forward even in evaluation mode

    def bits(self, w: torch.Tensor) -> torch.Tensor:
        return allocate(w, self.mix, self.allocation, seed=self.seed)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """T_hat / mu_ref with ratios rounded to `ratio_bits`: the units the hardware counts in.

        mu_ref = max_o mu_{o,1} is one constant per tensor (no gradient), which changes nothing
        after BatchNorm or in an argmax; rounding the ratios mu_n / mu_ref to F fractional bits
        makes them the integers export stores. So the evaluated float model computes what the
        integer hardware computes: a 1-bit layer sums exact +-1 products, and ties and thresholds
        fall where the golden model's do.
        """
        bits = self.bits(w)
        if not (self.training or self.training_forward):
            code = residual_binarize(w, bits, self.scale)
            return code.reconstruct_in_units(self.ratio_bits, self.ratio_digits).to(w.dtype)
        plane = PlaneQuantizer(self.method, self.progress)
        if plane.float_forward:
            with torch.no_grad():
                unit = residual_binarize(w, torch.ones_like(bits), self.scale).unit()
            return w / unit
        return residual_quantize(w, bits, plane, self.scale, self.ratio_bits, self.ratio_digits,
                                 self.method.gradient)

    @staticmethod
    def initialize(w: torch.Tensor) -> None:
        """Latent weights uniform in the box [-1, 1] (`model.proxconnect`), from torch's seeded RNG."""
        nn.init.uniform_(w, -LATENT_BOX, LATENT_BOX)

    @torch.no_grad()
    def after_step(self, w: torch.Tensor, learning_rate: float) -> None:
        """After each optimizer step (taken with `learning_rate`): ProxQuant's proximal step (its
        soft phase), then the box clip."""
        plane = PlaneQuantizer(self.method, self.progress)
        if plane.float_forward:
            # The prox target is what evaluation computes (ratios rounded), back in raw units, so
            # that at convergence the float forward pass and BatchNorm's statistics match it.
            code = residual_binarize(w, self.bits(w), self.scale)
            quantized = code.reconstruct_in_units(self.ratio_bits, self.ratio_digits) * code.unit()
            proxquant_step(w, quantized, learning_rate * plane.proxquant_lambda())
        clip_to_box(w)

    def extra_repr(self) -> str:
        return (f"mix={self.mix.name}, allocation={self.allocation}, method={self.method.name}, "
                f"scale={self.scale}")


class _BinaryWeights:
    """Shared by the three layer types: `quantized_weight()` and the ProxQuant hook."""

    quantizer: WeightQuantizer

    def _attach(self, quantizer: WeightQuantizer) -> None:
        """Own `quantizer` and start the latent weights in its box."""
        self.quantizer = quantizer
        quantizer.initialize(self.weight)

    def quantized_weight(self) -> torch.Tensor:
        return self.quantizer(self.weight)

    def after_step(self, learning_rate: float) -> None:
        self.quantizer.after_step(self.weight, learning_rate)


class BinaryLinear(_BinaryWeights, nn.Linear):
    def __init__(self, in_features: int, out_features: int, quantizer: WeightQuantizer):
        super().__init__(in_features, out_features, bias=False)
        self._attach(quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight())


class BinaryConv1d(_BinaryWeights, nn.Conv1d):
    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 quantizer: WeightQuantizer):
        super().__init__(in_channels, out_channels, kernel, stride=stride, bias=False)
        self._attach(quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.quantized_weight(), stride=self.stride)


class BinaryConv2d(_BinaryWeights, nn.Conv2d):
    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 quantizer: WeightQuantizer):
        super().__init__(in_channels, out_channels, kernel, stride=stride, bias=False)
        self._attach(quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.quantized_weight(), stride=self.stride)
