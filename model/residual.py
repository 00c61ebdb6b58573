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
the hardware multiplies by, so export adds no rounding of its own.

`residual_quantize` is the training form. The residual chain is the exact one above (so the
signs, masks and scales are those of `residual_binarize`); plane n passes its exact residual, in
units of its box b_n, through a PC++ `PlaneQuantizer`: q_n = plane(u_n), u_n = E_{n-1} / b_n, and
the output is sum_n r_n q_n with the rounded ratios r_n. The boxes follow from the latent box
|T| <= b_1 = 1 (`model.proxconnect.LATENT_BOX`): a residual in [-b_n, b_n] minus mu_n sign lies in
[-b_{n+1}, b_{n+1}] with b_{n+1} = max(mu_n, b_n - mu_n), so every u_n is in [-1, 1].
The scales and boxes carry no gradient, and neither do the earlier planes inside E_{n-1}
(E_{n-1} = T - constant for the backward pass). Two estimators (`MethodConfig.gradient`):

- ``single`` (default, the paper's straight-through estimator): only plane 1 carries a gradient,
  dT_hat/dT = r_1 B'(u_1) / b_1, the same for every weight whatever its bit count.
- ``per-plane``: every plane carries its own, dT_hat/dT = sum_{n <= M_j} (r_n / b_n) B'(u_n), about
  M_j times the single one for BinaryConnect (a 3-bit weight gets about 3x).

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

    def boxes(self, box: float = 1.0) -> torch.Tensor:
        """b_n, shaped like `scales`: b_1 = `box`, b_{n+1} = max(mu_n, b_n - mu_n) (docstring).

        If |T| <= box, every plane's residual E_{n-1} lies in [-b_n, b_n] on its active entries.
        """
        boxes = [torch.full_like(self.scales[0], box)]
        for mu in self.scales[:-1]:
            boxes.append(torch.maximum(mu, boxes[-1] - mu))
        return torch.stack(boxes)

    def residuals(self, t: torch.Tensor) -> torch.Tensor:
        """E_{n-1} for every plane n, shaped (planes, *t.shape): what plane n binarizes."""
        residual, out = t.detach(), []
        for s, a, mu in zip(self.signs, self.active, self.scales):
            out.append(residual)
            residual = residual - mu * s * a
        return torch.stack(out)

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
                      ratio_bits: int = 6, ratio_digits: int = 0, gradient: str = "single") -> torch.Tensor:
    """Differentiable T_hat / mu_ref with ratios rounded as `ResidualCode.reconstruct_in_units`.

    `t` must lie in the latent box [-1, 1]. Plane n outputs r_n plane(E_{n-1} / b_n) on its active
    entries; with `gradient="single"` only plane 1 carries a gradient (module docstring).
    """
    code = residual_binarize(t, bits, scale)
    ratios = round_ratios(code.scales / code.unit(), ratio_bits, ratio_digits)
    boxes = code.boxes()
    out = torch.zeros_like(t)
    for n, exact in enumerate(code.residuals(t)):
        residual = t - (t.detach() - exact)  # the value E_{n-1}; earlier planes: no gradient
        q = plane(residual / boxes[n])
        if n > 0 and gradient == "single":
            q = q.detach()
        out = out + ratios[n] * torch.where(code.active[n], q, torch.zeros_like(q))
    return out


def normalized_error(t: torch.Tensor, t_hat: torch.Tensor) -> float:
    """||T - T_hat|| / ||T||, the reconstruction error of Fromm et al., Fig. 2a."""
    return float(torch.linalg.vector_norm(t - t_hat) / torch.linalg.vector_norm(t))
