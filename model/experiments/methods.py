"""The six ProxConnect++ methods (Lu et al., NeurIPS 2023) on the same nets and weight mixes.

For each data set's default net and each mix (default 1 and 1.4 bits, Middle-Out, 1-bit hidden
activations): test accuracy of BC, PC, BNN, BNN+, BNN++ and PQ at exact sign (what export and
hardware compute), the test accuracy under each method's own training forward, and the train
accuracy; mean ± std and the 95 % interval over `seeds` seeds. A method is marked above or below
BinaryConnect only where the two intervals do not overlap (`report.separated`).
"""

from pathlib import Path

from hbnn.files import write_atomic

from ..bitmix import parse_mix
from ..config import DEFAULT_NET, METHODS, net_config
from .report import (csv_text, markdown_table, mean_std, percent, plt, save_figure, separated,
                     summary)
from .sweep import Run, sweep


def run(out_dir: Path, datasets=("digits", "mnist1d"), mixes=("1", "1.4"), seeds: int = 5,
        epochs: int | None = None, progress: bool = True, workers: int | None = None,
        runner=None) -> dict:
    runs = [Run((dataset, mix, method), net_config(dataset, weights=mix, method=method))
            for dataset in datasets for mix in mixes for method in METHODS]
    results = sweep(runs, seeds, epochs, progress, description="methods", workers=workers, runner=runner)

    def values(key, field="test"):
        return [getattr(outcome, field) for outcome in results[key]]

    header = ["data set", "net", "weights", "method", "test, exact sign (%) [95 % CI]",
              "test, training forward (%)", "gap (points)", "train (%)", "vs bc"]
    rows = []
    for dataset in datasets:
        for mix in mixes:
            for method in METHODS:
                key = (dataset, mix, method)
                gap = mean_std([f - t for f, t in zip(values(key, "training_forward"), values(key))])
                order = separated(values(key), values((dataset, mix, "bc"))) if method != "bc" else 0
                rows.append([dataset, DEFAULT_NET[dataset], mix, method, summary(values(key)),
                             percent(*mean_std(values(key, "training_forward"))),
                             f"{100 * gap[0]:+.1f} ± {100 * gap[1]:.1f}",
                             percent(*mean_std(values(key, "train"))),
                             {1: "above", -1: "below", 0: ""}[order]])
    md = ("# Test accuracy (%) of the ProxConnect++ methods\n\n"
          f"Mean ± std over {seeds} seeds, 95 % interval of the mean in brackets; Middle-Out "
          "allocation, 1-bit hidden activations, each data set's recipe (`config.RECIPES`). "
          "\"Training forward\" is the net under the quantizers' training forward at the end of "
          "training, each with its own re-estimated statistics; \"vs bc\" names an ordering only "
          "where the intervals do not overlap. Command: `hbnn experiment methods`.\n\n")
    md += markdown_table(header, rows)
    outputs = {"markdown": write_atomic(out_dir / "methods.md", md),
               "csv": write_atomic(out_dir / "methods.csv", csv_text(header, rows))}

    figure, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    width = 0.8 / len(mixes)
    for axis, dataset in zip(axes[0], datasets):
        for i, mix in enumerate(mixes):
            stats = [mean_std(values((dataset, mix, method))) for method in METHODS]
            axis.bar([m + i * width for m in range(len(METHODS))], [100 * s[0] for s in stats],
                     width, yerr=[100 * s[1] for s in stats], capsize=3,
                     label=f"{parse_mix(mix).average_bits:.1f} bits")
        axis.set_xticks([m + width * (len(mixes) - 1) / 2 for m in range(len(METHODS))], METHODS)
        axis.set_title(f"{dataset} / {DEFAULT_NET[dataset]}: exact sign")
        axis.set_ylabel("test accuracy (%)")
        axis.set_ylim(0, 100)
        axis.grid(alpha=0.3, axis="y")
        axis.legend()
    outputs["plot"] = save_figure(figure, out_dir / "methods.png")
    outputs["results"] = results
    return outputs
