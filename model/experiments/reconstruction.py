"""Reconstruction error against average bits on Gaussian data (Fromm et al., Fig. 2a).

For each mix of the paper's Fig. 2a and every allocation, residual-binarize a standard Gaussian
tensor and report the normalized error ||T - T_hat|| / ||T||, averaged over `seeds` tensors of
`size` entries, beside the value read off the figure for Middle-Out.

The figure's mixes are not all the paper's training mixes (`bitmix.NAMED_MIXES`): its 1.2-bit point
is 90/0/10 (1.2 bits with no 2-bit entries), where Table 1's 1.2 is 85/10/5. The values read off
the figure: 1 bit 0.60, 2 bits 0.36, 3 bits 0.242; Middle-Out 1.4 0.328, 1.6 0.291, 1.7 0.261,
1.8 0.240, 1.9 0.251 (so even at 1.9 bits Middle-Out does not beat homogeneous 3 bits, and at 1.8
it only ties). The paper's one-sort rule (`middle-out`) reproduces them within 0.01; hbnn's
residual re-rank (`middle-out-residual`) is lower from 1.6 bits on.
"""

from pathlib import Path

import torch

from hbnn.files import write_atomic

from ..allocation import allocate
from ..bitmix import BitMix
from ..config import ENTRY_ALLOCATIONS
from ..residual import normalized_error, residual_binarize
from .report import csv_text, markdown_table, mean_std, plt, save_figure

#: Fig. 2a's mixes (percent of entries with 1, 2, 3 bits) and the Middle-Out error read off the
#: figure (None where the figure has a point but we read no value from it).
FIG_2A: dict[tuple[int, int, int], float | None] = {
    (100, 0, 0): 0.60,
    (90, 0, 10): None,
    (70, 20, 10): 0.328,
    (60, 20, 20): 0.291,
    (50, 30, 20): 0.261,
    (40, 40, 20): 0.240,
    (40, 30, 30): 0.251,
    (0, 100, 0): 0.36,
    (0, 0, 100): 0.242,
}


def errors(size: int = 1 << 16, seeds: int = 3) -> dict[tuple[tuple[int, ...], str], float]:
    """(mix percentages, allocation) -> mean normalized error over `seeds` Gaussian tensors."""
    tensors = [torch.randn(size, generator=torch.Generator().manual_seed(s)) for s in range(seeds)]
    table = {}
    for percent in FIG_2A:
        mix = BitMix(percent)
        for rule in ENTRY_ALLOCATIONS:
            values = []
            for seed, t in enumerate(tensors):
                code = residual_binarize(t, allocate(t, mix, rule, seed=seed))
                values.append(normalized_error(t, code.reconstruct()))
            table[percent, rule] = mean_std(values)[0]
    return table


def run(out_dir: Path, size: int = 1 << 16, seeds: int = 3, progress: bool = True) -> dict:
    table = errors(size, seeds)
    header = ["average bits", "mix (1/2/3-bit %)", "paper (Fig. 2a, middle-out)"] + list(ENTRY_ALLOCATIONS)
    rows = []
    for percent, paper in FIG_2A.items():
        rows.append([f"{BitMix(percent).average_bits:.1f}", "/".join(map(str, percent)),
                     "—" if paper is None else f"{paper:.3f}"]
                    + [f"{table[percent, rule]:.3f}" for rule in ENTRY_ALLOCATIONS])
    title = (f"Normalized reconstruction error ||T - T_hat|| / ||T|| of N(0, 1) data "
             f"({size} entries, mean of {seeds} tensors) at the mixes of Fromm et al., Fig. 2a")
    md = f"# Reconstruction error\n\n{title}. Command: `hbnn experiment reconstruction`.\n\n"
    md += markdown_table(header, rows)
    outputs = {"markdown": write_atomic(out_dir / "reconstruction.md", md),
               "csv": write_atomic(out_dir / "reconstruction.csv", csv_text(header, rows))}

    figure, axis = plt.subplots(figsize=(6, 4))
    # Lines join the heterogeneous mixes; the homogeneous 1, 2 and 3 bits are points of their own,
    # since joining 1.9 to 2 would suggest a trend that is not there.
    mixed = [p for p in FIG_2A if p.count(0) < 2]
    averages = [BitMix(p).average_bits for p in mixed]
    for rule in ENTRY_ALLOCATIONS:
        axis.plot(averages, [table[p, rule] for p in mixed], marker="o", label=rule)
    read = [(BitMix(p).average_bits, v) for p, v in FIG_2A.items() if v is not None and p in mixed]
    axis.plot(*zip(*read), "kx", markersize=8, label="paper, Fig. 2a (middle-out)")
    homogeneous = [p for p in FIG_2A if p.count(0) == 2]
    axis.plot([BitMix(p).average_bits for p in homogeneous],
              [table[p, "middle-out"] for p in homogeneous], "ks", label="homogeneous")
    axis.set_xlabel("average bits per entry")
    axis.set_ylabel("||T - T_hat|| / ||T||")
    axis.set_title("Residual binarization of Gaussian data")
    axis.grid(alpha=0.3)
    axis.legend()
    outputs["plot"] = save_figure(figure, out_dir / "reconstruction.png")
    outputs["table"] = table
    return outputs
