"""The residual planes' gradient: the paper's single straight-through estimator against per-plane.

Fromm et al. pass one straight-through gradient through the whole residual code; hbnn's per-plane
option gives every plane its own, so a weight with M bits gets about M times the gradient
(`model.residual`). For each data set's default net, mixes 1.4 and 3 bits (where weights have
several planes), BinaryConnect: test and train accuracy under both, mean ± std and the 95 %
interval over `seeds` seeds; an ordering is named only where the intervals do not overlap.
"""

from dataclasses import replace
from pathlib import Path

from hbnn.files import write_atomic

from ..config import DEFAULT_NET, GRADIENTS, net_config
from .report import csv_text, markdown_table, mean_std, percent, plt, save_figure, separated, summary
from .sweep import Run, sweep


def _config(dataset: str, mix: str, gradient: str):
    config = net_config(dataset, weights=mix)
    return replace(config, method=replace(config.method, gradient=gradient))


def run(out_dir: Path, datasets=("digits", "mnist1d"), mixes=("1.4", "3"), seeds: int = 5,
        epochs: int | None = None, progress: bool = True, workers: int | None = None,
        runner=None) -> dict:
    runs = [Run((dataset, mix, gradient), _config(dataset, mix, gradient))
            for dataset in datasets for mix in mixes for gradient in GRADIENTS]
    results = sweep(runs, seeds, epochs, progress, description="gradient", workers=workers, runner=runner)

    def values(key, field="test"):
        return [getattr(outcome, field) for outcome in results[key]]

    header = ["data set", "net", "weights"] + [f"{g}: test (%) [95 % CI]" for g in GRADIENTS] \
        + [f"{g}: train (%)" for g in GRADIENTS] + ["ordering"]
    rows = []
    for dataset in datasets:
        for mix in mixes:
            single, per_plane = (values((dataset, mix, g)) for g in GRADIENTS)
            order = {1: "single > per-plane", -1: "per-plane > single", 0: "none (intervals overlap)"}
            rows.append([dataset, DEFAULT_NET[dataset], mix]
                        + [summary(values((dataset, mix, g))) for g in GRADIENTS]
                        + [percent(*mean_std(values((dataset, mix, g), "train"))) for g in GRADIENTS]
                        + [order[separated(single, per_plane)]])
    md = ("# Single against per-plane straight-through gradient\n\n"
          f"Mean ± std over {seeds} seeds, 95 % interval of the mean in brackets; Middle-Out, "
          "BinaryConnect, 1-bit hidden activations. Command: `hbnn experiment gradient`.\n\n")
    md += markdown_table(header, rows)
    outputs = {"markdown": write_atomic(out_dir / "gradient.md", md),
               "csv": write_atomic(out_dir / "gradient.csv", csv_text(header, rows))}

    figure, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for axis, dataset in zip(axes[0], datasets):
        for i, gradient in enumerate(GRADIENTS):
            stats = [mean_std(values((dataset, mix, gradient))) for mix in mixes]
            axis.bar([m + 0.4 * i for m in range(len(mixes))], [100 * s[0] for s in stats], 0.4,
                     yerr=[100 * s[1] for s in stats], capsize=3, label=gradient)
        axis.set_xticks([m + 0.2 for m in range(len(mixes))], [f"{mix} bits" for mix in mixes])
        axis.set_title(f"{dataset} / {DEFAULT_NET[dataset]}")
        axis.set_ylabel("test accuracy (%)")
        axis.grid(alpha=0.3, axis="y")
        axis.legend()
    outputs["plot"] = save_figure(figure, out_dir / "gradient.png")
    outputs["results"] = results
    return outputs
