"""Each experiment writes Markdown, CSV and a PNG with the numbers it measured (tiny settings)."""

import csv

from hbnn.model import experiments
from hbnn.model.config import ALLOCATIONS


def test_reconstruction_writes_all_three_and_middle_out_wins(tmp_path):
    out = experiments.run("reconstruction", tmp_path, size=4096, seeds=1, progress=False)
    rows = list(csv.DictReader(out["csv"].open()))
    assert len(rows) == 12
    row = next(r for r in rows if r["average bits"] == "1.4")
    others = [float(row[rule]) for rule in ALLOCATIONS[1:]]
    assert float(row["middle-out"]) < min(others)
    assert "| 1.4 | 70/20/10 |" in out["markdown"].read_text()
    assert out["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bitmix_and_methods_run_end_to_end(tmp_path):
    out = experiments.run("bitmix", tmp_path, datasets=("digits",), mixes=("1", "1.4"), seeds=2,
                          epochs=2, progress=False)
    results = out["results"]
    assert len(results["digits", "1.4", "random"]) == 2
    assert ("digits", "1", "top-down") not in results  # homogeneous: trained once
    text = out["markdown"].read_text()
    assert "| digits | mlp | 1.4 | 1.4 |" in text and " ± " in text
    assert out["plot"].stat().st_size > 1000

    out = experiments.run("methods", tmp_path, datasets=("digits",), mixes=("1.4",), seeds=1,
                          epochs=2, progress=False)
    rows = list(csv.DictReader(out["csv"].open()))
    assert [r["weights"] for r in rows] == ["1.4"]
    assert set(rows[0]) >= {"bc", "pc", "bnn", "bnn+", "bnn++", "pq"}
