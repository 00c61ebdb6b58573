"""Writing an experiment's table as Markdown and CSV and saving its plot as PNG (`hbnn.files`: whole
files or none)."""

import csv
import io
from pathlib import Path

import matplotlib

from hbnn.files import atomic_output

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def save_figure(figure, path: Path) -> Path:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1; 0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return mean, std


def percent(mean: float, std: float) -> str:
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def confidence_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """The `level` confidence interval of the mean: mean ± t_{(1+level)/2, n-1} std / sqrt(n)
    (Student's t; the values are accuracies of independently seeded runs)."""
    from scipy.stats import t

    mean, std = mean_std(values)
    n = len(values)
    if n < 2:
        return mean, mean
    half = float(t.ppf((1 + level) / 2, n - 1)) * std / n ** 0.5
    return mean - half, mean + half


def separated(a: list[float], b: list[float]) -> int:
    """+1 if a's 95 % interval lies wholly above b's, -1 if wholly below, 0 if they overlap: an
    ordering is claimed only when this is not 0."""
    (a_low, a_high), (b_low, b_high) = confidence_interval(a), confidence_interval(b)
    return 1 if a_low > b_high else -1 if a_high < b_low else 0


def summary(values: list[float]) -> str:
    """"mean ± std [low, high]" in percent, the interval at 95 %."""
    low, high = confidence_interval(values)
    return f"{percent(*mean_std(values))} [{100 * low:.1f}, {100 * high:.1f}]"
