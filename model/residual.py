"""Residual binarization with per-entry bit counts (Fromm et al., NeurIPS 2018, §3).

For a tensor T with bit counts M_j (1..3):

    E_0 = T
    for n = 1 .. max(M):
        A_n  = {j : M_j >= n}                  (entries still active)
        T_n  = sign(E_{n-1})                   (sign(0) = +1)
        mu_n = mean_{j in A_n} |E_{n-1,j}|     (per tensor, or per output channel = dim 0)
        E_n  = E_{n-1} - mu_n T_n on A_n       (unchanged elsewhere)
    T_hat = sum_n mu_n T_n [M_j >= n]

`residual_binarize` is the exact form used for evaluation, export and the reconstruction
experiment. The network computes in units of mu_ref = max_o mu_{o,1} with every ratio mu_n / mu_ref
rounded to F fractional bits (`reconstruct_in_units`), which are the integers R = round(2^F ratio)
the hardware multiplies by, so export adds no rounding of its own. `residual_quantize` is the training form: the same loop, but each plane goes through a
PC++ `PlaneQuantizer` applied to u_n = E_{n-1} / mu_n. The scales mu_n carry no gradient, and
neither do the earlier planes inside E_{n-1} (E_{n-1} = T - constant for the backward pass), so
each plane is its own forward/backward pair and, with the rounded ratio r_n ~ mu_n / mu_ref that
plane n is weighted by,

    dT_hat/dT = sum_{n <= M_j} (r_n / mu_n) B'(u_n)  ~  (1 / mu_ref) sum_{n <= M_j} B'(u_n)

(for BinaryConnect about M_j / mu_ref: per-weight constants that Adam's step normalization removes).
Backpropagating through the whole residual chain instead gives 1 - prod_n (1 - B'(u_n)), whose
products of slopes above 1 (SignSwish) flip signs and explode; we measured BNN++ at 1.4 bits on
the digits MLP falling to chance that way.
"""

from dataclasses import dataclass

import torch

from .config import check_scale
from .sign import sign


@dataclass
class ResidualCode:
    """Exact residual binarization of a tensor: T_hat = sum_n scales[n] * signs[n] * active[n]."""

    signs: torch.Tensor    # (planes, *shape) of +-1
    active: torch.Tensor   # (planes, *shape) bool, active[n] = bits > n
    scales: torch.Tensor   # (planes, O, 1, ...) per channel, or (planes, 1, 1, ...) per tensor

    def reconstruct(self) -> torch.Tensor:
        return (self.scales * self.signs * self.active).sum(dim=0)

    def unit(self) -> torch.Tensor:
        """mu_ref = max over channels of the first plane's scale: the unit hardware counts in."""
        return self.scales[0].max()

    def integer_ratios(self, ratio_bits: int, ratio_digits: int = 0) -> torch.Tensor:
        """R_n = round(2^F mu_n / mu_ref), shaped like `scales` (float tensor of whole numbers)."""
        return round_ratios(self.scales / self.unit(), ratio_bits, ratio_digits) * (1 << ratio_bits)

    def reconstruct_in_units(self, ratio_bits: int, ratio_digits: int = 0) -> torch.Tensor:
        """sum_n (R_n / 2^F) T_n on active entries: T_hat / mu_ref with ratios rounded to F bits."""
        ratios = round_ratios(self.scales / self.unit(), ratio_bits, ratio_digits)
        return (ratios * self.signs * self.active).sum(dim=0)


def round_ratios(ratios: torch.Tensor, ratio_bits: int, ratio_digits: int = 0) -> torch.Tensor:
    """Ratios rounded to `ratio_bits` fractional bits (round half to even), as hardware stores them.

    With `ratio_digits = d > 0` the integer 2^F ratio also has at most d nonzero signed binary
    digits (d = 1: a power of two): each digit is the power of two nearest to what is left,
    greedily. Hardware multiplies a count by R as one shifted copy per digit, each copy an adder
    in every output's sum, so fewer digits make the scaled planes cheap (docs/quantization.md).
    """
    step = float(1 << ratio_bits)
    if not ratio_digits:
        return torch.round(ratios * step) / step
    remainder = torch.round(ratios * step)
    result = torch.zeros_like(remainder)
    for _ in range(ratio_digits):
        size = remainder.abs()
        lower = torch.exp2(torch.floor(torch.log2(torch.clamp(size, min=1.0))))
        nearest = torch.where(size - lower <= 2 * lower - size, lower, 2 * lower)
        digit = torch.where(size < 0.5, torch.zeros_like(size), nearest) * torch.sign(remainder)
        result = result + digit
        remainder = remainder - digit
    return result / step


def _masked_mean_abs(e: torch.Tensor, active: torch.Tensor, scale: str) -> torch.Tensor:
    """mean |e| over active entries, per tensor or per dim-0 channel, shaped to broadcast; 0 if none."""
    a = active.to(e.dtype)
    dims = tuple(range(1, e.dim())) if scale == "channel" else tuple(range(e.dim()))
    total = (e.abs() * a).sum(dim=dims, keepdim=True)
    count = a.sum(dim=dims, keepdim=True)
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


@torch.no_grad()
def residual_binarize(t: torch.Tensor, bits: torch.Tensor, scale: str = "tensor") -> ResidualCode:
    """Exact residual binarization of `t` with bit counts `bits` (same shape, values >= 1)."""
    check_scale(scale)
    planes = int(bits.max())
    residual = t.detach() if t.is_floating_point() else t.detach().float()
    signs, actives, scales = [], [], []
    for n in range(planes):
        active = bits > n
        mu = _masked_mean_abs(residual, active, scale)
        s = sign(residual)
        residual = residual - mu * s * active
        signs.append(s)
        actives.append(active)
        scales.append(mu)
    return ResidualCode(torch.stack(signs), torch.stack(actives), torch.stack(scales))


def residual_quantize(t: torch.Tensor, bits: torch.Tensor, plane, scale: str = "tensor",
                      ratio_bits: int = 6, ratio_digits: int = 0) -> torch.Tensor:
    """Differentiable T_hat / mu_ref with ratios rounded as `ResidualCode.reconstruct_in_units`.

    Plane n takes q_n = plane(E_{n-1} / mu_n) on its active entries; the residual chain uses the
    exact mu_n (so the signs are those of `residual_binarize`), the output the rounded ratio.
    """
    residual = t
    out = torch.zeros_like(t)
    unit = None
    for n in range(int(bits.max())):
        active = bits > n
        mu = _masked_mean_abs(residual.detach(), active, scale)
        if unit is None:
            unit = mu.max()  # plane 1 covers every entry: mu_ref
        safe_mu = torch.where(mu > 0, mu, torch.ones_like(mu))
        residual = t - (t - residual).detach()  # earlier planes: no gradient (docstring)
        q = torch.where(active, plane(residual / safe_mu), torch.zeros_like(t))
        out = out + round_ratios(mu / unit, ratio_bits, ratio_digits) * q
        residual = residual - mu * q
    return out


def normalized_error(t: torch.Tensor, t_hat: torch.Tensor) -> float:
    """||T - T_hat|| / ||T||, the reconstruction error of Fromm et al., Fig. 2a."""
    return float(torch.linalg.vector_norm(t - t_hat) / torch.linalg.vector_norm(t))
