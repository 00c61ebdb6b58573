"""Each experiment writes Markdown, CSV and a PNG with the numbers it measured (tiny settings)."""

import csv

import pytest

from hbnn.model import data, experiments
from hbnn.model.config import METHODS, net_config
from hbnn.model.experiments.report import confidence_interval, separated
from hbnn.model.experiments.sweep import Run, sweep
from hbnn.model.experiments import reconstruction
from hbnn.model.experiments.reconstruction import FIG_2A


def test_reconstruction_writes_all_three_and_middle_out_beats_the_one_sort_rules(tmp_path):
    out = experiments.run("reconstruction", tmp_path, size=4096, seeds=1, progress=False)
    rows = list(csv.DictReader(out["csv"].open()))
    assert [r["mix (1/2/3-bit %)"] for r in rows] == ["/".join(map(str, p)) for p in FIG_2A]
    row = next(r for r in rows if r["average bits"] == "1.4")
    others = [float(row[rule]) for rule in ("top-down", "bottom-up", "random")]
    assert float(row["middle-out-residual"]) < float(row["middle-out"]) < min(others)
    assert "| 1.2 | 90/0/10 | — |" in out["markdown"].read_text()
    assert out["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_papers_middle_out_reproduces_fig_2a():
    table = reconstruction.errors()  # the experiment's defaults: 3 tensors of 65,536 entries
    for percent, paper in FIG_2A.items():
        if paper is not None:
            assert table[percent, "middle-out"] == pytest.approx(paper, abs=0.01), percent
    # the residual re-rank is a different rule: clearly lower from 1.6 bits on
    assert table[(40, 40, 20), "middle-out-residual"] < table[(40, 40, 20), "middle-out"] - 0.03


def test_bitmix_and_methods_run_end_to_end(tmp_path):
    out = experiments.run("bitmix", tmp_path, datasets=("digits",), mixes=("1", "1.4"), seeds=2,
                          epochs=2, progress=False, workers=1)
    results = out["results"]
    assert len(results["digits", "1.4", "random"]) == 2
    assert ("digits", "1", "top-down") not in results  # homogeneous: trained once
    text = out["markdown"].read_text()
    assert "| digits | mlp | 1.4 | 1.4 |" in text and " ± " in text and "] " in text
    assert out["plot"].stat().st_size > 1000

    out = experiments.run("methods", tmp_path, datasets=("digits",), mixes=("1.4",), seeds=2,
                          epochs=2, progress=False, workers=1)
    rows = list(csv.DictReader(out["csv"].open()))
    assert [r["method"] for r in rows] == list(METHODS) and {r["weights"] for r in rows} == {"1.4"}
    outcome = out["results"]["digits", "1.4", "bnn++"][0]
    assert 0 <= outcome.test <= 1 and 0 <= outcome.training_forward <= 1 and 0 <= outcome.train <= 1
    assert rows[0]["vs bc"] == ""  # bc is not compared with itself


def test_gradient_and_recipes_run_end_to_end(tmp_path):
    out = experiments.run("gradient", tmp_path, datasets=("digits",), mixes=("3",), seeds=2,
                          epochs=1, progress=False, workers=1)
    single, per_plane = (out["results"]["digits", "3", g] for g in ("single", "per-plane"))
    assert [o.test for o in single] != [o.test for o in per_plane]  # the estimators differ
    out = experiments.run("recipes", tmp_path, datasets=("digits",), seeds=1, epochs=1,
                          progress=False, workers=1)
    chosen = out["chosen"]
    assert set(chosen) == {("digits", kind) for kind in ("float", "1", "mixed", "multi")}
    assert 'Recipe(1, ' in out["markdown"].read_text()


def test_masks_measures_the_shared_arithmetic_of_every_trained_net(tmp_path):
    out = experiments.run("masks", tmp_path, datasets=("digits",), seeds=1, epochs=2, progress=False,
                          workers=1)
    results = out["results"]
    lut4 = {key[1:]: outcomes[0].measures["lut4"] for key, outcomes in results.items()}
    # a column-shared mask makes each partial plane a dense block of columns: cheaper than the
    # scattered Middle-Out mask, whose partial planes cost about what whole planes cost
    assert lut4["1", "middle-out"] < lut4["1.4", "middle-out-column"] < lut4["1.4", "middle-out"]
    layers = results["digits", "1.4", "middle-out"][0].measures["layers"]
    assert len(layers) == 2 and sum(layer["lut4"] for layer in layers) == lut4["1.4", "middle-out"]
    rows = list(csv.DictReader(out["csv"].open()))
    assert [row["allocation"] for row in rows] == ["-", "-", "middle-out", "middle-out-column",
                                                   "middle-out-group8", "random"]
    assert next(row for row in rows if row["weights"] == "2")["LUT4 / LUT4(2 bits)"] == "1.00"


def test_a_sweep_gives_the_same_results_in_worker_processes():
    runs = [Run(("a",), net_config("digits", weights="1.4")), Run(("b",), net_config("digits", weights="1"))]
    here = sweep(runs, seeds=2, epochs=1, progress=False, workers=1)
    pool = sweep(runs, seeds=2, epochs=1, progress=False, workers=2)
    assert here == pool


def test_validation_runs_never_see_the_test_set():
    digits = data.load("digits")
    split = data.validation_split(digits)
    assert len(split.train_y) + len(split.test_y) == len(digits.train_y)
    assert len(split.test_y) == round(0.2 * len(digits.train_y))
    rows = {row.tobytes() for row in digits.train_x}
    assert all(row.tobytes() in rows for row in split.test_x)  # held out of the training set only


def test_intervals_and_orderings():
    low, high = confidence_interval([0.80, 0.82, 0.84])  # mean 0.82, std 0.02, t(0.975, 2) = 4.303
    assert (low, high) == pytest.approx((0.82 - 4.303 * 0.02 / 3 ** 0.5, 0.82 + 4.303 * 0.02 / 3 ** 0.5), abs=1e-4)
    assert separated([0.90, 0.91, 0.92], [0.80, 0.81, 0.82]) == 1
    assert separated([0.80, 0.81, 0.82], [0.90, 0.91, 0.92]) == -1
    assert separated([0.80, 0.85, 0.90], [0.82, 0.84, 0.86]) == 0
