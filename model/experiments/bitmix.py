"""Test accuracy against weight mix, Middle-Out against the other allocations (Fromm et al., §5).

For each data set's default net: the mixes 1, 1.2, 1.4, 1.6, 2 and 3 bits (1-bit hidden
activations, BinaryConnect, the data set's recipes), every allocation for the heterogeneous mixes
(for 1, 2 and 3 bits the allocation changes nothing, so those are trained once), and the float
baseline; test accuracy as mean ± std with the 95 % interval over `seeds` seeds, and train
accuracy. A cell is marked ▲ or ▼ where its interval lies wholly above or below the paper's
Middle-Out at the same mix (`report.separated`); unmarked differences are within the seed spread.
"""

from pathlib import Path

from hbnn.files import write_atomic

from ..bitmix import parse_mix
from ..config import DEFAULT_NET, ENTRY_ALLOCATIONS, net_config
from .report import csv_text, markdown_table, mean_std, percent, plt, save_figure, separated, summary
from .sweep import Run, sweep

MIXES = ("1", "1.2", "1.4", "1.6", "2", "3")


def _homogeneous(mix: str) -> bool:
    """True for one bitwidth (and for float): the allocation rule changes nothing."""
    return mix == "float" or parse_mix(mix).percent.count(0) == len(parse_mix(mix).percent) - 1


def run(out_dir: Path, datasets=("digits", "mnist1d"), mixes=MIXES, seeds: int = 5,
        epochs: int | None = None, method: str = "bc", progress: bool = True,
        workers: int | None = None,
        runner=None) -> dict:
    runs = []
    for dataset in datasets:
        runs.append(Run((dataset, "float", "-"), net_config(dataset, weights="float", act_bits=0)))
        for mix in mixes:
            rules = ENTRY_ALLOCATIONS[:1] if _homogeneous(mix) else ENTRY_ALLOCATIONS
            for rule in rules:
                config = net_config(dataset, weights=mix, allocation=rule, method=method)
                runs.append(Run((dataset, mix, rule), config))
    results = sweep(runs, seeds, epochs, progress, description="bitmix", workers=workers, runner=runner)

    def values(dataset, mix, rule, field="test"):
        key = (dataset, mix, rule if not _homogeneous(mix) else "-" if mix == "float" else ENTRY_ALLOCATIONS[0])
        return [getattr(outcome, field) for outcome in results[key]]

    def cell(dataset, mix, rule):
        text = summary(values(dataset, mix, rule))
        if rule == ENTRY_ALLOCATIONS[0] or _homogeneous(mix):
            return text
        mark = separated(values(dataset, mix, rule), values(dataset, mix, ENTRY_ALLOCATIONS[0]))
        return text + {1: " ▲", -1: " ▼", 0: ""}[mark]

    header = (["data set", "net", "weights", "average bits"] + list(ENTRY_ALLOCATIONS)
              + ["train, middle-out (%)"])
    rows = []
    for dataset in datasets:
        net = DEFAULT_NET[dataset]
        floats = values(dataset, "float", "-")
        rows.append([dataset, net, "float", "32", summary(floats)] + [""] * (len(ENTRY_ALLOCATIONS) - 1)
                    + [percent(*mean_std(values(dataset, "float", "-", "train")))])
        for mix in mixes:
            cells = [cell(dataset, mix, rule) for rule in ENTRY_ALLOCATIONS]
            if _homogeneous(mix):
                cells = cells[:1] + [""] * (len(ENTRY_ALLOCATIONS) - 1)
            rows.append([dataset, net, mix, f"{parse_mix(mix).average_bits:.1f}"] + cells
                        + [percent(*mean_std(values(dataset, mix, ENTRY_ALLOCATIONS[0], "train")))])
    md = ("# Test accuracy (%) against weight mix\n\n"
          f"Mean ± std over {seeds} seeds, 95 % interval of the mean in brackets; 1-bit hidden "
          f"activations, method {method}; for 1, 2 and 3 bits every allocation is the same net. "
          "▲ / ▼: the interval lies wholly above / below middle-out's at that mix. "
          "Command: `hbnn experiment bitmix`.\n\n")
    md += markdown_table(header, rows)
    outputs = {"markdown": write_atomic(out_dir / "bitmix.md", md),
               "csv": write_atomic(out_dir / "bitmix.csv", csv_text(header, rows))}

    figure, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    for axis, dataset in zip(axes[0], datasets):
        averages = [parse_mix(mix).average_bits for mix in mixes]
        for rule in ENTRY_ALLOCATIONS:
            stats = [mean_std(values(dataset, mix, rule)) for mix in mixes]
            axis.errorbar(averages, [100 * m for m, _ in stats], yerr=[100 * s for _, s in stats],
                          marker="o", capsize=3, label=rule)
        baseline = 100 * mean_std(values(dataset, "float", "-"))[0]
        axis.axhline(baseline, color="grey", linestyle="--", label="float")
        axis.set_title(f"{dataset} / {DEFAULT_NET[dataset]}")
        axis.set_xlabel("average weight bits")
        axis.set_ylabel("test accuracy (%)")
        axis.grid(alpha=0.3)
        axis.legend()
    outputs["plot"] = save_figure(figure, out_dir / "bitmix.png")
    outputs["results"] = results
    return outputs
