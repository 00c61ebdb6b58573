"""Training recipes (epochs, learning rate) per data set and weight class, chosen on a validation split.

For each data set and each weight class of `config.RECIPES` (float, 1 bit, mixed 1 < bits < 2,
multi-bit), at the class's representative mix (`REPRESENTATIVE`, Middle-Out, BinaryConnect): train
on the training set minus its validation fifth (`data.validation_split`) and score on that fifth,
mean over `seeds` seeds. Stage 1 tries every learning rate of `LEARNING_RATES` at the shorter epoch
count; stage 2 trains the best rate at every epoch count of `EPOCHS`. The winner of each class is
the highest mean validation accuracy (the shorter run on a tie). The test set is never looked at.
The table lists every point; the chosen recipes are what `config.RECIPES` bundles.
"""

from pathlib import Path

from hbnn.files import write_atomic

from ..config import net_config
from .report import csv_text, markdown_table, mean_std, percent, plt, save_figure
from .sweep import Run, sweep

#: weight class -> the mix it is tuned at
REPRESENTATIVE = {"float": "float", "1": "1", "mixed": "1.4", "multi": "2"}
LEARNING_RATES = (1e-2, 3e-2, 1e-1, 3e-1)
EPOCHS = {"digits": (30, 60), "mnist1d": (30, 60)}


def _config(dataset: str, weights: str):
    return net_config(dataset, weights=weights, act_bits=0 if weights == "float" else 1)


def run(out_dir: Path, datasets=("digits", "mnist1d"), seeds: int = 3, epochs: int | None = None,
        progress: bool = True, workers: int | None = None,
        runner=None) -> dict:
    if epochs is not None:  # a quick check of the machinery: one epoch count for every data set
        schedule = {dataset: (epochs,) for dataset in datasets}
    else:
        schedule = {dataset: EPOCHS[dataset] for dataset in datasets}
    first = [Run((dataset, kind, lr, schedule[dataset][0]), _config(dataset, weights), validation=True,
                 epochs=schedule[dataset][0], lr=lr)
             for dataset in datasets for kind, weights in REPRESENTATIVE.items() for lr in LEARNING_RATES]
    results = sweep(first, seeds, progress=progress, description="recipes: learning rates", workers=workers,
                    runner=runner)

    def mean(key):
        return mean_std([o.test for o in results[key]])[0]

    best_lr = {(dataset, kind): max(LEARNING_RATES, key=lambda lr: mean((dataset, kind, lr, schedule[dataset][0])))
               for dataset in datasets for kind in REPRESENTATIVE}
    second = [Run((dataset, kind, best_lr[dataset, kind], count), _config(dataset, weights), validation=True,
                  epochs=count, lr=best_lr[dataset, kind])
              for dataset in datasets for kind, weights in REPRESENTATIVE.items()
              for count in schedule[dataset][1:]]
    if second:
        results.update(sweep(second, seeds, progress=progress, description="recipes: epochs", workers=workers,
                             runner=runner))
    chosen = {}
    for dataset in datasets:
        for kind in REPRESENTATIVE:
            candidates = [key for key in results if key[:2] == (dataset, kind)]
            chosen[dataset, kind] = max(candidates, key=lambda key: (mean(key), -key[3]))

    header = ["data set", "weight class", "mix", "learning rate", "epochs", "validation accuracy (%)",
              "train accuracy (%)", "chosen"]
    rows = [[key[0], key[1], REPRESENTATIVE[key[1]], f"{key[2]:g}", key[3],
             percent(*mean_std([o.test for o in results[key]])),
             percent(*mean_std([o.train for o in results[key]])),
             "yes" if chosen[key[:2]] == key else ""]
            for key in sorted(results, key=lambda k: (k[0], list(REPRESENTATIVE).index(k[1]), k[3], k[2]))]
    bundle = "\n".join(f'    ("{d}", "{k}"): Recipe({key[3]}, {key[2]:g}),' for (d, k), key in chosen.items())
    md = ("# Training recipes chosen on the validation split\n\n"
          f"Mean ± std over {seeds} seeds of the accuracy on the held-out fifth of the training set "
          "(the test set is not used); Middle-Out, BinaryConnect, 1-bit hidden activations. "
          "Command: `hbnn experiment recipes`.\n\n" + markdown_table(header, rows)
          + "\nAs `hbnn.model.config.RECIPES`:\n\n```python\n" + bundle + "\n```\n")
    outputs = {"markdown": write_atomic(out_dir / "recipes.md", md),
               "csv": write_atomic(out_dir / "recipes.csv", csv_text(header, rows))}

    figure, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    for axis, dataset in zip(axes[0], datasets):
        for kind in REPRESENTATIVE:
            count = schedule[dataset][0]
            stats = [mean_std([o.test for o in results[dataset, kind, lr, count]]) for lr in LEARNING_RATES]
            axis.errorbar(LEARNING_RATES, [100 * m for m, _ in stats], yerr=[100 * s for _, s in stats],
                          marker="o", capsize=3, label=f"{REPRESENTATIVE[kind]} ({count} epochs)")
        axis.set_xscale("log")
        axis.set_title(f"{dataset}: validation accuracy")
        axis.set_xlabel("Adam learning rate")
        axis.set_ylabel("validation accuracy (%)")
        axis.grid(alpha=0.3)
        axis.legend()
    outputs["plot"] = save_figure(figure, out_dir / "recipes.png")
    outputs["results"], outputs["chosen"] = results, chosen
    return outputs
