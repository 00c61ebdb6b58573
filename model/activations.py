"""Activation quantizers: unsigned fixed-point pixels for the first layer, residual n-bit codes after.

`PixelQuantizer(bits)` maps inputs x in [0, 1] to the integer code c = round(x (2^b - 1)) and feeds
c itself to the first layer; hardware reads c as b unsigned bit planes (`model/layout.py`).

`ResidualActivation(bits)` is residual binarization of a pre-activation z with n = 1..3 bit planes:

    a_1 = sign(z),  a_k = sign(z - sum_{m<k} gamma_m a_m),   output = sum_k q_k a_k
    q_k = round(2^G gamma_k / gamma_1) / 2^G      (G = `ratio_bits`; q_1 = 1)

The scales gamma_k = mean|E_{k-1}| are batch statistics while training and running averages
(momentum 0.1, as BatchNorm) in evaluation, so they are constants that export can freeze into
integer ratios. The output is in units of gamma_1 (BatchNorm after the next layer absorbs the
constant) with the ratios rounded to the integers Q_k = 2^G q_k that hardware uses, so 1-bit
activations are exactly +-1 and export adds no rounding. The output is a non-decreasing staircase in z (for gamma_1 > gamma_2 > gamma_3,
which the residual construction gives in practice), which is what lets hardware compare the integer
pre-activation against thresholds and max-pool on codes. Backward: straight-through within the
representable range, d out / dz = 1{|z| <= sum_k gamma_k} (BNN's clipped identity, widened to the
top level), scaled by 1/gamma_1 like the output. With ``bits=0`` the activation is a float ReLU, for float baselines.
"""

import torch
from torch import nn

from .config import check_act_bits, check_pixel_bits
from .errors import ConfigError
from .residual import round_ratios
from .sign import sign


class PixelQuantizer(nn.Module):
    """x in [0, 1] -> the code c = round(x (2^b - 1)) as a float; padding value 0 (code 0)."""

    def __init__(self, bits: int):
        super().__init__()
        self.bits = check_pixel_bits(bits)

    @property
    def levels(self) -> int:
        return (1 << self.bits) - 1

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Integer pixel codes 0 .. 2^b - 1 (round half to even, as torch.round)."""
        return torch.round(x.clamp(0.0, 1.0) * self.levels).to(torch.int64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.codes(x).to(x.dtype)

    def pad_value(self) -> float:
        return 0.0


class ResidualActivation(nn.Module):
    """n-bit residual activation with running scales; see the module docstring."""

    def __init__(self, bits: int, momentum: float = 0.1, ratio_bits: int = 6):
        super().__init__()
        self.bits = check_act_bits(bits)
        self.ratio_bits = ratio_bits
        if bits == 0:
            raise ConfigError("ResidualActivation needs 1..3 bits; use a ReLU for float")
        self.momentum = momentum
        self.register_buffer("running_scales", torch.ones(bits))
        self.register_buffer("tracked", torch.tensor(False))

    def _scales(self, z: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.running_scales
        with torch.no_grad():
            residual, scales = z.detach(), []
            for _ in range(self.bits):
                gamma = residual.abs().mean()
                scales.append(gamma)
                residual = residual - gamma * sign(residual)
            batch = torch.stack(scales)
            if bool(self.tracked):
                self.running_scales.lerp_(batch, self.momentum)
            else:
                self.running_scales.copy_(batch)
                self.tracked.fill_(True)
        return batch

    def ratios(self, scales: torch.Tensor | None = None) -> torch.Tensor:
        """q_k = round(2^G gamma_k / gamma_1) / 2^G of the running (or given) scales."""
        scales = self.running_scales if scales is None else scales
        return round_ratios(scales / scales[0], self.ratio_bits)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        scales = self._scales(z)
        ratios = self.ratios(scales)
        residual, out = z.detach(), torch.zeros_like(z)
        for gamma, q in zip(scales, ratios):
            a = sign(residual)
            out = out + q * a
            residual = residual - gamma * a
        clip = scales.sum()
        self._top = float(ratios.sum())
        window = (z.abs() <= clip).to(z.dtype)
        return out.detach() + window * (z - z.detach()) / scales[0]

    def pad_value(self) -> float:
        """The code with every plane +1 (stored bits 0): the top level sum_k q_k."""
        if self.training:
            return self._top  # set by this module's forward, which runs before the next layer pads
        return float(self.ratios().sum())

    def extra_repr(self) -> str:
        return f"bits={self.bits}, ratio_bits={self.ratio_bits}"


class FloatActivation(nn.ReLU):
    """ReLU for float baselines; pads with 0."""

    def pad_value(self) -> float:
        return 0.0
