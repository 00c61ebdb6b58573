"""What `hbnn sweep` writes: one table over every (hardware setting, design), and its fronts.

`sweep.csv` has the columns of `hbnn compare`'s CSV (`hbnn.compare_output.COLUMNS`) after the
setting's own (board, pipeline, popcount, fold), with the Pareto flags taken over the whole sweep:
a design is on the LUT4 front when no design of any setting is as accurate for fewer LUT4, and
likewise for nJ per image. `sweep.json` holds the rows and both fronts as lists; `sweep.png` draws
accuracy against LUT4 and against energy, the fronts as staircases. All of it is made from the
result store, so rerunning a finished sweep rewrites the same files without running a step.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hbnn.files import write_atomic

from . import compare_output, pareto

SETTING_COLUMNS = ("board", "pipeline", "popcount", "fold")
COLUMNS = SETTING_COLUMNS + compare_output.COLUMNS


def flat_rows(settings, rows: dict) -> list[dict]:
    """One dict per (setting, design), `COLUMNS`, the fronts over all of them."""
    pairs = [(setting, row) for index, setting in enumerate(settings) for row in rows[index]]
    table = []
    for setting, row in pairs:
        flat = compare_output.table_rows([row])[0]
        table.append({"board": setting.plan.board.name, "pipeline": setting.plan.pipeline,
                      "popcount": setting.plan.strategy.name, "fold": setting.fold, **flat})
    placed = [index for index, (_, row) in enumerate(pairs) if row.fits]
    accuracies = [pairs[index][1].accuracy_mean for index in placed]
    lut4 = pareto.on_front([pairs[index][1].lut4 for index in placed], accuracies)
    energies = [pairs[index][1].energy for index in placed]
    energy = (pareto.on_front([one["fpga_nj_per_image"] for one in energies], accuracies)
              if placed and all(one is not None for one in energies) else None)
    for flat in table:
        flat["pareto_lut4"], flat["pareto_energy"] = False, None if energy is None else False
    for position, index in enumerate(placed):
        table[index]["pareto_lut4"] = lut4[position]
        if energy is not None:
            table[index]["pareto_energy"] = energy[position]
    return table


def varying(table: list[dict]) -> tuple[str, ...]:
    """The setting columns that take more than one value in `table` (what a label must name)."""
    return tuple(column for column in SETTING_COLUMNS if len({str(flat[column]) for flat in table}) > 1)


def setting_text(flat: dict, columns=SETTING_COLUMNS) -> str:
    """`ulx3s-85f p0 generic fold 1:4x32`, of `columns` only."""
    parts = {"board": flat["board"], "pipeline": f"p{flat['pipeline']}", "popcount": flat["popcount"],
             "fold": f"fold {flat['fold']}" if flat["fold"] else ""}
    return " ".join(parts[column] for column in columns if parts[column])


def label(flat: dict, columns=SETTING_COLUMNS) -> str:
    """A design and the setting `columns` in a few characters: `1.4:random w16 ulx3s-85f p0 generic`."""
    design = flat["weights"] + ("" if flat["allocation"] == "middle-out" else f":{flat['allocation']}") + (
        "" if flat["method"] == "bc" else f"/{flat['method']}")
    return " ".join(part for part in (f"{design} w{flat['width']}", setting_text(flat, columns)) if part)


def format_table(table: list[dict]) -> str:
    """The sweep as aligned text, fronts marked (L: accuracy vs LUT4, E: vs energy); the setting
    is named on each row when it varies, else once above the table."""
    columns = varying(table)
    lines = [] if columns or not table else [f"every design at {setting_text(table[0])}"]
    lines.append(f"{'design':>44} {'avg bits':>8} {'accuracy %':>13} {'LUT4':>8} {'Fmax MHz':>9} "
                 f"{'nJ/image':>9} {'Pareto':>6}")
    for flat in table:
        head = f"{label(flat, columns):>44} {flat['average_bits']:8.3f} {flat['accuracy_percent']:6.2f} ± " \
               f"{flat['accuracy_std_percent']:4.2f}"
        if flat["error"]:
            lines.append(f"{head} failed: {flat['error']}")
        elif flat["does_not_fit"]:
            lines.append(f"{head} does not fit: {flat['does_not_fit']}")
        else:
            energy = "-" if flat["energy_nj_per_image"] is None else f"{flat['energy_nj_per_image']:.2f}"
            marks = ("L" if flat["pareto_lut4"] else "") + ("E" if flat["pareto_energy"] else "")
            lines.append(f"{head} {flat['lut4']:8,} {flat['fmax_mhz']:9.1f} {energy:>9} {marks or '-':>6}")
    return "\n".join(lines)


def fronts_text(table: list[dict]) -> str:
    """The fronts, each design on a line, by rising cost."""
    lines, columns = [], varying(table)
    for key, cost, unit in (("pareto_lut4", "lut4", "LUT4"), ("pareto_energy", "energy_nj_per_image", "nJ/image")):
        members = sorted((flat for flat in table if flat[key]), key=lambda flat: flat[cost])
        if members:
            lines.append(f"Pareto front, accuracy against {unit}:")
            lines += [f"  {label(flat, columns):>30}  {flat[cost]:>8,} {unit}  {flat['accuracy_percent']:6.2f} %"
                      for flat in members]
    return "\n".join(lines)


def write_outputs(out_dir: Path, table: list[dict], *, title: str) -> dict[str, str]:
    """sweep.csv, sweep.json and sweep.png, each written to a temporary name and renamed."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(table)
    document = {"title": title, "rows": table,
                "pareto_lut4": [label(flat) for flat in table if flat["pareto_lut4"]],
                "pareto_energy": [label(flat) for flat in table if flat["pareto_energy"]]}
    outputs = {"csv": out_dir / "sweep.csv", "json": out_dir / "sweep.json", "plot": out_dir / "sweep.png"}
    write_atomic(outputs["csv"], text.getvalue())
    write_atomic(outputs["json"], json.dumps(document, indent=2) + "\n")
    write_atomic(outputs["plot"], plot(table, title))
    return {key: str(path) for key, path in outputs.items()}


def plot(table: list[dict], title: str) -> bytes:
    """PNG: accuracy (error bars: one std over seeds) against LUT4 and against nJ per image, the
    fronts in red as staircases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    placed = [flat for flat in table if flat["lut4"] is not None and not flat["does_not_fit"] and not flat["error"]]
    figure, axes = plt.subplots(1, 2, figsize=(13, 5), dpi=110)
    panels = (("lut4", "pareto_lut4", "LUT4 (yosys, incl. carry cells)"),
              ("energy_nj_per_image", "pareto_energy", "nJ per image (estimate, docs/energy.md)"))
    for axis, (cost, flag, name) in zip(axes, panels):
        points = [flat for flat in placed if flat[cost] is not None]
        if not points:
            axis.text(0.5, 0.5, "not measured", ha="center", va="center")
            axis.set_axis_off()
            continue
        columns = varying(table)
        for flat in points:
            axis.errorbar(flat[cost], flat["accuracy_percent"], yerr=flat["accuracy_std_percent"], fmt="o",
                          capsize=3, color="tab:red" if flat[flag] else "tab:gray", markersize=6)
            axis.annotate(label(flat, columns), (flat[cost], flat["accuracy_percent"]), textcoords="offset points",
                          xytext=(5, 4), fontsize=6)
        line = pareto.front_line([flat[cost] for flat in points], [flat["accuracy_percent"] for flat in points])
        axis.step([x for x, _ in line], [y for _, y in line], where="post", color="tab:red", alpha=0.6,
                  label="Pareto front (red points)")
        axis.set_xlabel(name)
        axis.set_ylabel("test accuracy (%), mean ± std over seeds")
        axis.set_xlim(0, max(flat[cost] for flat in points) * 1.15)
        axis.legend(fontsize=7, loc="lower right")
    axes[0].set_title(title + ("" if varying(table) or not table else f" ({setting_text(table[0])})"), fontsize=9)
    figure.tight_layout()
    return compare_output.png_bytes(figure, plt)
