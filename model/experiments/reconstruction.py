"""Reconstruction error against average bits on Gaussian data (Fromm et al., Fig. 2a).

For every named mix and every allocation, residual-binarize a standard Gaussian tensor and report
the normalized error ||T - T_hat|| / ||T||, averaged over `seeds` tensors of `size` entries.
The paper reads about 0.60 at 1 bit, 0.36 at 2, 0.24 at 3, and 0.33 for Middle-Out at 1.4 bits
with the other allocations between 0.41 and 0.58.
"""

from pathlib import Path

import torch

from hbnn.files import write_atomic

from ..allocation import allocate
from ..bitmix import NAMED_MIXES, parse_mix
from ..config import ALLOCATIONS
from ..residual import normalized_error, residual_binarize
from .report import csv_text, markdown_table, mean_std, plt, save_figure


def errors(size: int = 1 << 16, seeds: int = 3) -> dict[tuple[str, str], float]:
    """(mix name, allocation) -> mean normalized error over `seeds` Gaussian tensors."""
    tensors = [torch.randn(size, generator=torch.Generator().manual_seed(s)) for s in range(seeds)]
    table = {}
    for mix_name in NAMED_MIXES:
        mix = parse_mix(mix_name)
        for rule in ALLOCATIONS:
            values = []
            for seed, t in enumerate(tensors):
                code = residual_binarize(t, allocate(t, mix, rule, seed=seed))
                values.append(normalized_error(t, code.reconstruct()))
            table[mix_name, rule] = mean_std(values)[0]
    return table


def run(out_dir: Path, size: int = 1 << 16, seeds: int = 3, progress: bool = True) -> dict:
    table = errors(size, seeds)
    header = ["average bits", "mix (1/2/3-bit %)"] + list(ALLOCATIONS)
    rows = []
    for name, percent in NAMED_MIXES.items():
        mix = parse_mix(name)
        rows.append([f"{mix.average_bits:.1f}", "/".join(map(str, percent))]
                    + [f"{table[name, rule]:.3f}" for rule in ALLOCATIONS])
    title = (f"Normalized reconstruction error ||T - T_hat|| / ||T|| of N(0, 1) data "
             f"({size} entries, mean of {seeds} tensors)")
    md = f"# Reconstruction error\n\n{title}. Command: `hbnn experiment reconstruction`.\n\n"
    md += markdown_table(header, rows)
    outputs = {"markdown": write_atomic(out_dir / "reconstruction.md", md),
               "csv": write_atomic(out_dir / "reconstruction.csv", csv_text(header, rows))}

    figure, axis = plt.subplots(figsize=(6, 4))
    # Lines join the heterogeneous mixes (1 to 1.9 bits); the homogeneous 1, 2 and 3 bits are
    # points of their own, since joining 1.9 to 2 would suggest a trend that is not there.
    mixed = [name for name in NAMED_MIXES if parse_mix(name).average_bits < 2]
    averages = [parse_mix(name).average_bits for name in mixed]
    for rule in ALLOCATIONS:
        axis.plot(averages, [table[name, rule] for name in mixed], marker="o", label=rule)
    homogeneous = ["1", "2", "3"]
    axis.plot([1, 2, 3], [table[name, "middle-out"] for name in homogeneous], "ks",
              label="homogeneous")
    axis.set_xlabel("average bits per entry")
    axis.set_ylabel("||T - T_hat|| / ||T||")
    axis.set_title("Residual binarization of Gaussian data")
    axis.grid(alpha=0.3)
    axis.legend()
    outputs["plot"] = save_figure(figure, out_dir / "reconstruction.png")
    outputs["table"] = table
    return outputs
