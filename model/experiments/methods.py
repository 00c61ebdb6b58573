"""The six ProxConnect++ methods (Lu et al., NeurIPS 2023) on the same nets and weight mixes.

For each data set's default net and each mix (default 1 and 1.4 bits, Middle-Out, 1-bit hidden
activations): test accuracy of BC, PC, BNN, BNN+, BNN++ and PQ, mean ± std over `seeds` seeds.
"""

from pathlib import Path

from hbnn.files import write_atomic

from ..bitmix import parse_mix
from ..config import DEFAULT_NET, METHODS, net_config
from .report import csv_text, markdown_table, mean_std, percent, plt, save_figure
from .sweep import Run, sweep


def run(out_dir: Path, datasets=("digits", "mnist1d"), mixes=("1", "1.4"), seeds: int = 3,
        epochs: int | None = None, progress: bool = True) -> dict:
    runs = [Run((dataset, mix, method), net_config(dataset, weights=mix, method=method))
            for dataset in datasets for mix in mixes for method in METHODS]
    results = sweep(runs, seeds, epochs, progress, description="methods")
    header = ["data set", "net", "weights"] + list(METHODS)
    rows = [[dataset, DEFAULT_NET[dataset], mix]
            + [percent(*mean_std(results[dataset, mix, method])) for method in METHODS]
            for dataset in datasets for mix in mixes]
    md = ("# Test accuracy (%) of the ProxConnect++ methods\n\n"
          f"Mean ± std over {seeds} seeds; Middle-Out allocation, 1-bit hidden activations. "
          "Command: `hbnn experiment methods`.\n\n")
    md += markdown_table(header, rows)
    outputs = {"markdown": write_atomic(out_dir / "methods.md", md),
               "csv": write_atomic(out_dir / "methods.csv", csv_text(header, rows))}

    figure, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    width = 0.8 / len(mixes)
    for axis, dataset in zip(axes[0], datasets):
        for i, mix in enumerate(mixes):
            stats = [mean_std(results[dataset, mix, method]) for method in METHODS]
            axis.bar([m + i * width for m in range(len(METHODS))], [100 * s[0] for s in stats],
                     width, yerr=[100 * s[1] for s in stats], capsize=3,
                     label=f"{parse_mix(mix).average_bits:.1f} bits")
        axis.set_xticks([m + width * (len(mixes) - 1) / 2 for m in range(len(METHODS))], METHODS)
        axis.set_title(f"{dataset} / {DEFAULT_NET[dataset]}")
        axis.set_ylabel("test accuracy (%)")
        axis.set_ylim(0, 100)
        axis.grid(alpha=0.3, axis="y")
        axis.legend()
    outputs["plot"] = save_figure(figure, out_dir / "methods.png")
    outputs["results"] = results
    return outputs
