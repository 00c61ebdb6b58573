"""Hardware-aware bit masks: accuracy and shared-arithmetic cost of each allocation rule.

A constant-weight circuit pays for the information in its weight matrix: a Middle-Out mask that
scatters the 2nd and 3rd planes over every output costs about what a whole plane costs, while a
mask shared by all outputs of a column makes each partial plane a dense block of a few columns
(`model.allocation`, shared rules). This experiment trains, for each data set's default net, the
references 1 and 2 bits and, at each heterogeneous mix, the paper's Middle-Out, the shared rules
and random allocation (the control), over `seeds` seeds, and reports

- test accuracy, mean ± std with the 95 % interval; ▲ / ▼ where the interval lies wholly above /
  below Middle-Out's at that mix;
- the LUT4 of the net's arithmetic built as shared adder graphs (`--popcount cse`), estimated from
  the exported weights by `hw.cost` (mean over seeds), and its ratio to the 2-bit net's.
"""

from pathlib import Path

from hbnn.files import write_atomic

from ..bitmix import parse_mix
from ..config import DEFAULT_NET, SHARED_ALLOCATIONS, net_config
from .report import csv_text, markdown_table, mean_std, percent, plt, save_figure, separated, summary
from .sweep import Run, sweep

MIXES = ("1.4",)
REFERENCES = ("1", "2")                      # uniform mixes, one allocation
RULES = ("middle-out",) + tuple(SHARED_ALLOCATIONS) + ("random",)
RATIO_DIGITS = 1     # power-of-two plane ratios: scaling a partial plane is a shift (README)


def arithmetic_cost(net) -> dict:
    """The shared-arithmetic cost of a trained net (runs in the sweep's worker)."""
    from hbnn.hw import cost

    from ..export import export

    return cost.shared_arithmetic(export(net))


def run(out_dir: Path, datasets=("digits", "mnist1d"), mixes=MIXES, seeds: int = 3,
        epochs: int | None = None, method: str = "bc", progress: bool = True,
        workers: int | None = None,
        runner=None) -> dict:
    points = [(mix, "middle-out") for mix in REFERENCES] + [(mix, rule) for mix in mixes for rule in RULES]
    runs = [Run((dataset, mix, rule), net_config(dataset, weights=mix, allocation=rule, method=method,
                                                 ratio_digits=RATIO_DIGITS), measure=arithmetic_cost)
            for dataset in datasets for mix, rule in points]
    results = sweep(runs, seeds, epochs, progress, description="masks", workers=workers, runner=runner)

    def accuracies(key):
        return [outcome.test for outcome in results[key]]

    def lut4(key):
        return mean_std([outcome.measures["lut4"] for outcome in results[key]])[0]

    header = ["data set", "net", "weights", "allocation", "test (%) [95 % CI]", "train (%)",
              "cse LUT4 (estimate)", "LUT4 / LUT4(2 bits)"]
    rows = []
    for dataset in datasets:
        two_bits = lut4((dataset, "2", "middle-out"))
        for mix, rule in points:
            key = (dataset, mix, rule)
            text = summary(accuracies(key))
            if mix not in REFERENCES and rule != "middle-out":
                mark = separated(accuracies(key), accuracies((dataset, mix, "middle-out")))
                text += {1: " ▲", -1: " ▼", 0: ""}[mark]
            rows.append([dataset, DEFAULT_NET[dataset], mix, rule if mix not in REFERENCES else "-", text,
                         percent(*mean_std([outcome.train for outcome in results[key]])),
                         f"{lut4(key):,.0f}", f"{lut4(key) / two_bits:.2f}"])
    md = ("# Hardware-aware masks: accuracy and shared-arithmetic cost\n\n"
          f"Mean ± std over {seeds} seeds, 95 % interval of the mean in brackets; 1-bit hidden "
          f"activations, method {method}, power-of-two plane ratios, each data set's recipe. ▲ / ▼: the interval lies wholly "
          "above / below Middle-Out's at that mix. LUT4: the whole net's weight layers built as "
          "shared adder graphs (`--popcount cse`), estimated from the exported weights by "
          "`hbnn.hw.cost` (mean over seeds). Command: `hbnn experiment masks`.\n\n")
    md += markdown_table(header, rows)
    outputs = {"markdown": write_atomic(out_dir / "masks.md", md),
               "csv": write_atomic(out_dir / "masks.csv", csv_text(header, rows))}

    figure, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    for axis, dataset in zip(axes[0], datasets):
        for mix, rule in points:
            key = (dataset, mix, rule)
            mean, std = mean_std(accuracies(key))
            label = f"{mix} bits" if mix in REFERENCES else f"{parse_mix(mix).average_bits:.1f} bits, {rule}"
            axis.errorbar([lut4(key)], [100 * mean], yerr=[100 * std], marker="o", capsize=3, label=label)
        axis.set_title(f"{dataset} / {DEFAULT_NET[dataset]}")
        axis.set_xlabel("cse LUT4 (estimate)")
        axis.set_ylabel("test accuracy (%)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    outputs["plot"] = save_figure(figure, out_dir / "masks.png")
    outputs["results"] = results
    return outputs
