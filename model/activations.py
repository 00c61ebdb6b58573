"""Activation quantizers: unsigned fixed-point pixels for the first layer, residual n-bit codes after.

`PixelQuantizer(bits)` maps inputs x in [0, 1] to the integer code c = round(x (2^b - 1)) and feeds
c / (2^b - 1) to the first layer; hardware reads c as b unsigned bit planes (DESIGN.md §3).

`ResidualActivation(bits)` is residual binarization of a pre-activation z with n = 1..3 bit planes:

    a_1 = sign(z),  a_k = sign(z - sum_{m<k} gamma_m a_m),   output = sum_k gamma_k a_k

The scales gamma_k = mean|E_{k-1}| are batch statistics while training and running averages
(momentum 0.1, as BatchNorm) in evaluation, so they are constants that export can freeze into
integer ratios. The output is a non-decreasing staircase in z (for gamma_1 > gamma_2 > gamma_3,
which the residual construction gives in practice), which is what lets hardware compare the integer
pre-activation against thresholds and max-pool on codes. Backward: straight-through within the
representable range, d out / dz = 1{|z| <= sum_k gamma_k} (BNN's clipped identity, widened to the
top level). With ``bits=0`` the activation is a float ReLU, for float baselines.
"""

import torch
from torch import nn

from .errors import ConfigError
from .sign import sign

MAX_ACT_BITS = 3
MAX_PIXEL_BITS = 8


def check_act_bits(bits: int) -> int:
    if not isinstance(bits, int) or not 0 <= bits <= MAX_ACT_BITS:
        raise ConfigError(
            f"activation bits must be 1..{MAX_ACT_BITS} (or 0 for float), not {bits!r}")
    return bits


def check_pixel_bits(bits: int) -> int:
    if not isinstance(bits, int) or not 1 <= bits <= MAX_PIXEL_BITS:
        raise ConfigError(f"pixel bits must be 1..{MAX_PIXEL_BITS}, not {bits!r}")
    return bits


class PixelQuantizer(nn.Module):
    """x in [0, 1] -> c / (2^b - 1) with c = round(x (2^b - 1)); padding value 0 (code 0)."""

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
        return self.codes(x).to(x.dtype) / self.levels

    def pad_value(self) -> float:
        return 0.0


class ResidualActivation(nn.Module):
    """n-bit residual activation with running scales; see the module docstring."""

    def __init__(self, bits: int, momentum: float = 0.1):
        super().__init__()
        self.bits = check_act_bits(bits)
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

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        scales = self._scales(z)
        residual, out = z.detach(), torch.zeros_like(z)
        for gamma in scales:
            step = gamma * sign(residual)
            out = out + step
            residual = residual - step
        clip = scales.sum()
        self._top = float(clip)
        window = (z.abs() <= clip).to(z.dtype)
        return out.detach() + window * (z - z.detach())

    def pad_value(self) -> float:
        """The code with every plane +1 (stored bits 0): the top level sum_k gamma_k."""
        if self.training:
            return self._top  # set by this module's forward, which runs before the next layer pads
        return float(self.running_scales.sum())

    def extra_repr(self) -> str:
        return f"bits={self.bits}"


class FloatActivation(nn.ReLU):
    """ReLU for float baselines; pads with 0."""

    def pad_value(self) -> float:
        return 0.0
