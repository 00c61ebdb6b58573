"""Which entries of a weight tensor get 1, 2 or 3 bits (Fromm et al., NeurIPS 2018, §3).

`allocate(w, mix, rule)` returns an int8 tensor `bits` shaped like `w`. The number of entries per
bitwidth is `mix.counts(w.numel())`, exactly; the rule only decides *which* entries:

- ``middle-out`` (the paper's rule, Algorithm 1 and Eq. 6, our default): entries whose magnitude
  lies nearest the mean magnitude are represented well by ±mu with one bit. Sort the entries once
  by k_j = | |w_j| - mean_i |w_i| | ascending and hand out bit counts in consecutive chunks of that
  order: the first counts[0] entries get 1 bit, the next counts[1] get 2 bits, the rest 3.
- ``middle-out-residual`` (hbnn's variant): the same first step, then the entries still active
  are ranked again by their residual. For b = 1, 2: among the active entries A_b with residuals E
  (E = w at b = 1), mu_b = mean_{j in A_b} |E_j|, and the counts[b] entries with the smallest
  | |E_j| - mu_b | get b bits; the others continue with E_j - mu_b sign(E_j). It moves 9 % of the
  bit counts at 1.4 bits and 23 % at 1.8 and has lower reconstruction error than the paper's rule
  (`hbnn experiment reconstruction` shows both).
- ``top-down``: the largest |w| get the fewest bits.
- ``bottom-up``: the smallest |w| get the fewest bits.
- ``random``: a uniformly random assignment, fixed by `seed` (the same seed gives the same mask on
  every call, so a layer's random mask does not change from step to step).

Shared rules give every weight of a fan-in position (a column of the O x K matrix w.view(O, -1))
the same bit count, within a group of outputs, so that a partial plane is a dense block of
columns that shared arithmetic (`hw.mvu_shared`) computes like a narrow 1-bit layer, instead of
scattered entries that cost nearly what a full plane costs (docs/hardware.md):

- ``middle-out-column``: one bit count per column for all outputs; a column's statistic is the mean
  over its entries of the Middle-Out statistic k, and columns take bit counts in the paper's order;
- ``middle-out-group8``: the same within each group of 8 consecutive outputs (the last group may be
  smaller), each group choosing its own columns.

They hand out `mix.counts(K)` columns per group, so the entry counts are O * mix.counts(K), equal
to `mix.counts(w.numel())` up to rounding. A 1-D tensor is one output.

Masks carry no gradient; training recomputes them from the float weights on every forward pass and
export freezes them.
"""

import torch

from .bitmix import BitMix
from .config import SHARED_ALLOCATIONS, check_allocation
from .layout import MAX_WEIGHT_BITS
from .sign import sign


@torch.no_grad()
def allocate(w: torch.Tensor, mix: BitMix, rule: str = "middle-out", seed: int = 0) -> torch.Tensor:
    """Bit count per entry of `w` (int8, values 1..3), with exactly `mix.counts(w.numel())`."""
    check_allocation(rule)
    flat = w.detach().flatten().float()
    if rule in SHARED_ALLOCATIONS:
        return _shared_middle_out(flat.view(w.shape[0] if w.dim() > 1 else 1, -1), mix,
                                  SHARED_ALLOCATIONS[rule]).view(w.shape)
    counts = mix.counts(flat.numel())
    if rule == "middle-out-residual":
        return _middle_out_residual(flat, counts).view(w.shape)
    bits = torch.empty(flat.numel(), dtype=torch.int8)
    bits[_order(flat, rule, seed)] = _bits_in_order(counts)
    return bits.view(w.shape)


def _order(flat: torch.Tensor, rule: str, seed: int) -> torch.Tensor:
    """The entries from fewest to most bits under a one-sort `rule` (ties: lower index first)."""
    if rule == "random":
        return torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(seed))
    if rule == "middle-out":
        magnitude = flat.abs()
        return torch.argsort((magnitude - magnitude.mean()).abs(), stable=True)
    return torch.argsort(flat.abs(), descending=(rule == "top-down"), stable=True)


def _shared_middle_out(w: torch.Tensor, mix: BitMix, group: int | None) -> torch.Tensor:
    """Bit counts of an O x K matrix, one per column within each group of `group` rows (None: all)."""
    magnitude = w.abs()
    nearness = (magnitude - magnitude.mean()).abs()          # the paper's k, tensor-wide mean
    bits = torch.empty(w.shape, dtype=torch.int8)
    in_order = _bits_in_order(mix.counts(w.shape[1]))
    step = w.shape[0] if group is None else group
    for first in range(0, w.shape[0], step):
        rows = slice(first, first + step)
        order = torch.argsort(nearness[rows].mean(dim=0), stable=True)
        bits[rows, order] = in_order
    return bits


def _bits_in_order(counts: tuple[int, ...]) -> torch.Tensor:
    """[1]*counts[0] + [2]*counts[1] + [3]*counts[2] as an int8 tensor."""
    return torch.repeat_interleave(
        torch.arange(1, MAX_WEIGHT_BITS + 1, dtype=torch.int8), torch.tensor(counts))


def _middle_out_residual(flat: torch.Tensor, counts: tuple[int, ...]) -> torch.Tensor:
    bits = torch.full((flat.numel(),), MAX_WEIGHT_BITS, dtype=torch.int8)
    active = torch.arange(flat.numel())
    residual = flat.clone()
    for b, count in enumerate(counts[:-1], start=1):
        if active.numel() == 0:
            break
        r = residual[active]
        mu = r.abs().mean()
        nearness = (r.abs() - mu).abs()
        order = torch.argsort(nearness, stable=True)
        bits[active[order[:count]]] = b
        residual[active] = r - mu * sign(r)
        active = active[order[count:]]
    return bits
