"""What `hbnn compare` writes: the text table, `compare.csv`, `compare.json` and `compare.png`.

Accuracy is the mean ± sample standard deviation over the training seeds; every hardware column
is the median seed's design (`hardware_seed`). A design the board cannot hold keeps its row with
its accuracy, its LUT4 after synthesis and why (`does_not_fit`), and is left out of the fronts
and the plot. Two Pareto fronts (`hbnn.pareto`) are marked: mean
accuracy against LUT4, and against the energy estimate (nJ per image). The plot shows both fronts
with one-std error bars, uniform mixes (1, 2, 3 bits) as circles and heterogeneous ones as
triangles, then LUT4 and throughput against average bits.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from hbnn.files import write_atomic

from hbnn.boards.board import Board

from . import pareto

COLUMNS = ("weights", "allocation", "method", "width", "average_bits", "accuracy_percent", "accuracy_std_percent",
           "seeds", "seed_accuracies_percent", "hardware_seed", "hardware_accuracy_percent",
           "pytorch_accuracy_percent", "lut4", "carry", "flip_flops", "logic_placed", "block_ram", "fmax_mhz",
           "latency_cycles", "cycles_per_image", "latency_ns", "images_per_second", "lut4_ns", "energy_nj_per_image",
           "pareto_lut4", "pareto_energy",
           "simulated_images", "does_not_fit", "error")


def fronts(rows) -> tuple[list[bool], list[bool] | None]:
    """Which rows lie on the accuracy/LUT4 front and on the accuracy/energy front (None without
    energy), among the designs that fit the board (one that does not is on neither)."""
    placed = [row for row in rows if row.fits]
    accuracies = [row.accuracy_mean for row in placed]
    by_lut4 = dict(zip(map(id, placed), pareto.on_front([row.lut4 for row in placed], accuracies)))
    lut4_flags = [by_lut4.get(id(row), False) for row in rows]
    if not placed or any(row.energy is None for row in placed):
        return lut4_flags, None
    by_energy = dict(zip(map(id, placed), pareto.on_front([row.energy["fpga_nj_per_image"] for row in placed],
                                                          accuracies)))
    return lut4_flags, [by_energy.get(id(row), False) for row in rows]


def table_rows(rows) -> list[dict]:
    """One flat dict per design, the CSV's columns."""
    by_lut4, by_energy = fronts(rows)
    table = []
    for index, row in enumerate(rows):
        synthesis = row.synthesis
        table.append({
            "weights": row.weights, "allocation": row.allocation, "method": row.method, "width": row.width,
            "average_bits": round(row.average_bits, 4),
            "accuracy_percent": round(100 * row.accuracy_mean, 2),
            "accuracy_std_percent": round(100 * row.accuracy_std, 2),
            "seeds": " ".join(str(seed) for seed in row.seeds),
            "seed_accuracies_percent": " ".join(f"{100 * value:.2f}" for value in row.seed_accuracies),
            "hardware_seed": row.hardware_seed, "hardware_accuracy_percent": round(100 * row.accuracy, 2),
            "pytorch_accuracy_percent": round(100 * row.float_accuracy, 2), "lut4": row.lut4,
            **(_hardware_columns(synthesis) if row.fits else dict.fromkeys(HARDWARE_COLUMNS)),
            "energy_nj_per_image": None if row.energy is None else round(row.energy["fpga_nj_per_image"], 3),
            "pareto_lut4": by_lut4[index], "pareto_energy": None if by_energy is None else by_energy[index],
            "simulated_images": row.simulated_images, "does_not_fit": row.does_not_fit or "",
            "error": row.error or "",
        })
    return table


HARDWARE_COLUMNS = ("carry", "flip_flops", "logic_placed", "block_ram", "fmax_mhz", "latency_cycles",
                    "cycles_per_image", "latency_ns", "images_per_second", "lut4_ns")


def _hardware_columns(synthesis) -> dict:
    return {"carry": synthesis.cells.carry, "flip_flops": synthesis.cells.flip_flops,
            "logic_placed": synthesis.placement.logic.used, "block_ram": synthesis.cells.bram,
            "fmax_mhz": round(synthesis.fmax_mhz, 2), "latency_cycles": synthesis.latency_cycles,
            "cycles_per_image": synthesis.initiation_interval, "latency_ns": round(synthesis.latency_ns, 1),
            "images_per_second": round(synthesis.images_per_second), "lut4_ns": round(synthesis.lut4_ns)}


def format_table(rows, board: Board) -> str:
    """The comparison as an aligned text table; `*` marks a Pareto-optimal design (L: accuracy
    against LUT4, E: against energy)."""
    seeds = len(rows[0].seeds) if rows else 0
    header = (f"{'weights':>18} {'width':>5} {'avg bits':>8} {'accuracy %':>13} {'seed':>4} {'LUT4':>8} "
              f"{'FF':>6} {'Fmax MHz':>9} {'images/s':>11} {'LUT4 x ns':>10} {'nJ/image':>9} {'Pareto':>6}")
    lines = [f"{board.title}; accuracy: mean ± std over {seeds} training seed(s), the test set through the "
             f"golden model (= the hardware); hardware columns: the median seed's design; LUT4 includes "
             f"the LUT4s inside carry cells; LUT4 x ns = LUT4 x ns per image; energy is an estimate "
             f"(docs/energy.md); Pareto: L = no design is as accurate for fewer LUT4, E = for less energy",
             header]
    for row, flat in zip(rows, table_rows(rows)):
        if not row.fits:
            why = f"failed: {row.error}" if row.error else f"does not fit: {row.does_not_fit}"
            lines.append(f"{row.label:>18} {row.width:5} {flat['average_bits']:8.3f} "
                         f"{flat['accuracy_percent']:6.2f} ± {flat['accuracy_std_percent']:4.2f} {row.hardware_seed:4} "
                         f"{why}")
            continue
        energy = "-" if flat["energy_nj_per_image"] is None else f"{flat['energy_nj_per_image']:.2f}"
        marks = ("L" if flat["pareto_lut4"] else "") + ("E" if flat["pareto_energy"] else "")
        lines.append(f"{row.label:>18} {row.width:5} {flat['average_bits']:8.3f} "
                     f"{flat['accuracy_percent']:6.2f} ± {flat['accuracy_std_percent']:4.2f} {row.hardware_seed:4} "
                     f"{flat['lut4']:8,} {flat['flip_flops']:6,} {flat['fmax_mhz']:9.1f} "
                     f"{flat['images_per_second']:11,.0f} {flat['lut4_ns']:10,} {energy:>9} {marks or '-':>6}")
    return "\n".join(lines)


def lut_ratio(rows, low: str = "1.4", high: str = "2") -> float | None:
    """LUT4(low) / LUT4(high) at the first row's width, among designs that fit; the Middle-Out
    paper assumes cost linear in bits (1.4/2 = 0.70)."""
    by_label = {row.label: row for row in rows if row.width == rows[0].width and row.fits} if rows else {}
    if low in by_label and high in by_label:
        return by_label[low].lut4 / by_label[high].lut4
    return None


def write_outputs(out_dir: Path, dataset: str, net: str, board: Board, rows, *, seeds) -> dict[str, str]:
    """CSV, JSON and plot, each written to a temporary name and renamed into place."""
    table = table_rows(rows)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(table)
    ratio = lut_ratio(rows)
    document = {"dataset": dataset, "net": net, "board": board.name, "board_title": board.title,
                "training_seeds": list(seeds), "lut4_ratio_1.4_over_2": ratio, "paper_assumed_ratio_1.4_over_2": 0.70,
                "pareto_lut4": [row.label + f" w{row.width}" for row, flat in zip(rows, table) if flat["pareto_lut4"]],
                "pareto_energy": [row.label + f" w{row.width}" for row, flat in zip(rows, table) if flat["pareto_energy"]],
                "rows": table, "details": [{**asdict(row), "synthesis": row.synthesis.to_json() if row.fits else None}
                                           for row in rows]}
    outputs = {"csv": out_dir / "compare.csv", "json": out_dir / "compare.json", "plot": out_dir / "compare.png"}
    write_atomic(outputs["csv"], text.getvalue())
    write_atomic(outputs["json"], json.dumps(document, indent=2) + "\n")
    write_atomic(outputs["plot"], plot(rows, board, f"{dataset} {net}"))
    return {key: str(path) for key, path in outputs.items()}


def plot(rows, board: Board, title: str) -> bytes:
    """PNG, four panels. Top: mean accuracy (error bars: one std over seeds) against LUT4 and
    against nJ/image, the Pareto front drawn as a staircase. Bottom: LUT4 against average bits with
    the linear-in-bits cost the Middle-Out paper assumes (through the measured 2-bit point), and
    throughput with area-delay (LUT4 x ns per image) against average bits, for the designs at the
    width of the first one that fits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in rows if row.fits]          # a design that does not fit has no costs to plot
    figure, axes = plt.subplots(2, 2, figsize=(12, 8.4), dpi=110)
    if not rows:
        figure.text(0.5, 0.5, "no design fits the board", ha="center", va="center")
        return png_bytes(figure, plt)
    _pareto_panel(axes[0][0], rows, [row.lut4 for row in rows], "LUT4 (yosys, incl. carry cells)")
    if all(row.energy is not None for row in rows):
        _pareto_panel(axes[0][1], rows, [row.energy["fpga_nj_per_image"] for row in rows],
                      "nJ per image (estimate, docs/energy.md)")
    else:
        axes[0][1].text(0.5, 0.5, "energy not measured (--no-energy)", ha="center", va="center")
        axes[0][1].set_axis_off()
    axes[0][0].set_title(f"{title} on {board.title}: accuracy against cost", fontsize=9)
    first_width = [row for row in rows if row.width == rows[0].width]     # the first placed row's width
    _cost_panel(axes[1][0], first_width)
    _speed_panel(axes[1][1], first_width)
    figure.tight_layout()
    return png_bytes(figure, plt)


def png_bytes(figure, plt) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _pareto_panel(axis, rows, costs, label: str) -> None:
    accuracies = [100 * row.accuracy_mean for row in rows]
    flags = pareto.on_front(costs, accuracies)
    for row, cost, accuracy, flag in zip(rows, costs, accuracies, flags):
        marker = "o" if row.uniform else ("x" if row.allocation == "random" else "^")
        axis.errorbar(cost, accuracy, yerr=100 * row.accuracy_std, fmt=marker, capsize=3,
                      color="tab:red" if flag else "tab:gray", markersize=7)
        axis.annotate(f"{row.label} w{row.width}", (cost, accuracy), textcoords="offset points", xytext=(5, 4),
                      fontsize=7)
    line = pareto.front_line(costs, accuracies)
    steps_x = [x for x, _ in line for _ in (0, 1)][1:] + [max(costs) * 1.05]
    steps_y = [y for _, y in line for _ in (0, 1)]
    axis.plot(steps_x, steps_y, "-", color="tab:red", linewidth=1, alpha=0.6, label="Pareto front (red points)")
    for marker, what in (("o", "uniform bits"), ("^", "heterogeneous (Middle-Out etc.)"), ("x", "random allocation")):
        axis.plot([], [], marker, color="tab:gray", label=what)
    axis.set_xlabel(label)
    axis.set_ylabel("test accuracy (%), mean ± std over seeds")
    axis.set_xlim(0, max(costs) * 1.1)
    axis.legend(fontsize=7, loc="lower right")


def _cost_panel(axis, rows) -> None:
    ordered = sorted(rows, key=lambda row: row.average_bits)
    bits = [row.average_bits for row in ordered]
    luts = [row.lut4 for row in ordered]
    axis.plot(bits, luts, "o", color="tab:blue", label="LUT4 (measured, yosys)")
    two = [row for row in ordered if abs(row.average_bits - 2) < 1e-9]
    if two:
        line = np.linspace(0, max(bits) * 1.05, 50)
        axis.plot(line, two[0].lut4 * line / 2, "--", color="tab:gray", label="cost linear in bits (paper), through 2 bits")
    axis.set_xlabel("average weight bits")
    axis.set_ylabel("LUT4")
    axis.set_xlim(0, max(bits) * 1.05)
    axis.set_ylim(0, max(luts) * 1.15)
    axis.legend(loc="lower right", fontsize=8)
    axis.set_title(f"cost against bits (width {rows[0].width})", fontsize=9)


def _speed_panel(axis, rows) -> None:
    ordered = sorted(rows, key=lambda row: row.average_bits)
    bits = [row.average_bits for row in ordered]
    axis.plot(bits, [row.synthesis.images_per_second / 1e6 for row in ordered], "o", color="tab:green",
              label="throughput (M images/s, core at Fmax)")
    axis.set_xlabel("average weight bits")
    axis.set_ylabel("M images/s")
    axis.set_xlim(0, max(bits) * 1.05)
    axis.set_ylim(0, max(row.synthesis.images_per_second / 1e6 for row in ordered) * 1.2)
    area_delay = axis.twinx()
    area_delay.plot(bits, [row.synthesis.lut4_ns / 1e3 for row in ordered], "s", color="tab:purple",
                    label="area-delay (LUT4 x us per image)")
    area_delay.set_ylabel("LUT4 x us per image")
    area_delay.set_ylim(0, max(row.synthesis.lut4_ns / 1e3 for row in ordered) * 1.2)
    handles = axis.get_legend_handles_labels()
    more = area_delay.get_legend_handles_labels()
    axis.legend(handles[0] + more[0], handles[1] + more[1], loc="lower center", fontsize=8)
    axis.set_title("throughput and area-delay", fontsize=9)
