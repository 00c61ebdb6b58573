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
experiment. `residual_quantize` is the training form: the same loop, but each plane goes through a
PC++ `PlaneQuantizer` applied to u_n = E_{n-1} / mu_n. The scales mu_n carry no gradient, and
neither do the earlier planes inside E_{n-1} (E_{n-1} = T - constant for the backward pass), so
each plane is its own forward/backward pair and

    dT_hat/dT = sum_{n <= M_j} B'(u_n)

(for BinaryConnect, M_j: a per-weight constant that Adam's step normalization removes).
Backpropagating through the whole residual chain instead gives 1 - prod_n (1 - B'(u_n)), whose
products of slopes above 1 (SignSwish) flip signs and explode; we measured BNN++ at 1.4 bits on
the digits MLP falling to chance that way.
"""

from dataclasses import dataclass

import torch

from .errors import unknown_choice
from .sign import sign

SCALES = ("tensor", "channel")


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise unknown_choice("scale granularity", scale, SCALES)
    return scale


@dataclass
class ResidualCode:
    """Exact residual binarization of a tensor: T_hat = sum_n scales[n] * signs[n] * active[n]."""

    signs: torch.Tensor    # (planes, *shape) of +-1
    active: torch.Tensor   # (planes, *shape) bool, active[n] = bits > n
    scales: torch.Tensor   # (planes, O, 1, ...) per channel, or (planes, 1, 1, ...) per tensor

    def reconstruct(self) -> torch.Tensor:
        return (self.scales * self.signs * self.active).sum(dim=0)


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


def residual_quantize(t: torch.Tensor, bits: torch.Tensor, plane, scale: str = "tensor") -> torch.Tensor:
    """Differentiable T_hat: plane n contributes mu_n * plane(E_{n-1} / mu_n) on its active entries."""
    residual = t
    out = torch.zeros_like(t)
    for n in range(int(bits.max())):
        active = bits > n
        mu = _masked_mean_abs(residual.detach(), active, scale)
        safe_mu = torch.where(mu > 0, mu, torch.ones_like(mu))
        residual = t - (t - residual).detach()  # earlier planes: no gradient (docstring)
        contribution = torch.where(active, mu * plane(residual / safe_mu), torch.zeros_like(t))
        out = out + contribution
        residual = residual - contribution
    return out


def normalized_error(t: torch.Tensor, t_hat: torch.Tensor) -> float:
    """||T - T_hat|| / ||T||, the reconstruction error of Fromm et al., Fig. 2a."""
    return float(torch.linalg.vector_norm(t - t_hat) / torch.linalg.vector_norm(t))
