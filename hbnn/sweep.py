"""`hbnn sweep`: a grid of designs, run as content-keyed steps on a pool or a cluster, resumable.

A sweep (`hbnn.sweep_spec.SweepSpec`) crosses designs (mix x allocation x method x width, each
trained with every seed) with hardware settings (board x pipeline x popcount strategy x folding).
It becomes a graph of steps (`hbnn.sweep_steps`):

    train(design, seed)  --all seeds of a design-->  check(median seed's layout, setting)
                                                      --bit-exact-->  build(layout, setting)

`check` depends on the setting only through what the Verilog depends on (popcount strategy for
the board's family, pipeline, folding, simulator, images), so boards of one family share it.
Every step has a content key (`hbnn.step_keys`); before a step runs, the store
(`hbnn.step_store`) is asked for it, and a finished one is reused, never run again. Each result is
stored the moment it arrives, so a sweep killed at any point resumes where it stopped. A step
that fails records its error; the steps that need it are skipped (their rows say why) and the
rest of the sweep goes on.

The running, reusing, storing and progress lines are `hbnn.step_runner`'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from hbnn import sweep_steps
from hbnn.step_runner import Counts, Runner, Step
from hbnn.step_store import Record, Store

KINDS = ("train", "check", "build")
#: which waiting steps start first: trainings (short, and everything waits for them), then checks
#: (short, they unlock builds), then builds, the largest design first (its weight-bit lanes), so
#: the last build to end is a short one and the workers finish close together
PRIORITY = {"train": 3, "check": 2, "build": 1}
#: seconds per step the ETA assumes until the store has timed one of the kind (digits MLP, 2 cores)
GUESSED_SECONDS = {"train": 5, "check": 5, "build": 60}


@dataclass(frozen=True)
class SweepResult:
    settings: list               # hbnn.sweep_spec.Setting per hardware setting
    rows: dict                   # setting index -> list of hbnn.compare.MixResult (one per design)
    counts: Counts
    seconds: float


def run(settings: list, *, root: Path, store: Store, executor, workers: int, say=print) -> SweepResult:
    """Run every step of the sweep's `settings` (`hbnn.sweep_spec.SweepSpec.settings`) not yet in
    `store` on `executor` (`workers` at once); returns the rows of every (setting, design)."""
    start = time.perf_counter()
    sweep = _Sweep(settings, Path(root), Runner(store, executor, workers, root=Path(root), total=0, say=say,
                                                 describe=_summary, guesses=GUESSED_SECONDS))
    counts = sweep.runner.run()
    return SweepResult(settings, sweep.rows(), counts, time.perf_counter() - start)


class _Sweep:
    """The graph of one sweep: its steps, made as what they need finishes, and its rows."""

    def __init__(self, settings: list, root: Path, runner: Runner):
        self.settings, self.root, self.runner = settings, root, runner
        plan = settings[0].plan
        self.points, self.configs, self.seeds = plan.points, plan.configs, plan.seeds
        self.check_groups = self._check_groups()
        self.trained: dict = {}          # (design index, seed) -> Record
        self.checked: dict = {}          # (setting index, design index) -> Record
        self.built: dict = {}            # (setting index, design index) -> Record
        self.errors: dict = {}           # (setting index or None, design index) -> why the row has no hardware
        self.hardware_seed: dict = {}    # design index -> the median seed
        runner.counts.total = len(self.points) * (len(self.seeds) + len(self.check_groups) + len(settings))
        for index in range(len(self.points)):
            for seed in self.seeds:
                runner.add(self._train_step(index, seed))

    # -- the graph ---------------------------------------------------------------------------------

    def _check_groups(self) -> dict:
        """What the generated Verilog depends on -> the settings that share its check."""
        groups: dict = {}
        for index, setting in enumerate(self.settings):
            groups.setdefault(setting.check_inputs(), []).append(index)
        return groups

    def _train_step(self, index: int, seed: int) -> Step:
        config = self.configs[index]
        return Step("train", train_inputs(config, seed), sweep_steps.train, {"config": config.to_dict(), "seed": seed},
                    f"train {self._design(index)} seed {seed}", then=lambda record: self._trained(index, seed, record),
                    failed=lambda why: self._training_failed(index, why), priority=(PRIORITY["train"],))

    def _trained(self, index: int, seed: int, record: Record) -> None:
        self.trained[index, seed] = record
        if any((index, one) not in self.trained for one in self.seeds):
            return
        from hbnn.compare import median_seed

        seed = median_seed({one: self.trained[index, one].result["accuracy"] for one in self.seeds})
        self.hardware_seed[index] = seed
        for check_inputs, members in self.check_groups.items():
            self.runner.add(self._check_step(index, self.trained[index, seed], check_inputs, members))

    def _training_failed(self, index: int, why: str) -> None:
        if (None, index) not in self.errors:          # its checks and builds will never be made
            self.runner.skip(len(self.check_groups) + len(self.settings))
        self.errors[None, index] = f"training failed: {why}"

    def _check_step(self, index: int, layout: Record, check_inputs: tuple, members: list) -> Step:
        options = {"dataset": self.configs[index].dataset, **dict(check_inputs)}
        return Step("check", {"layout": layout_hash(layout), **options}, sweep_steps.check,
                    {"layout": layout.blob, **options},
                    f"check {self._design(index)} {self.settings[members[0]].verilog_name}",
                    then=lambda record: self._checked(index, layout, members, record),
                    failed=lambda why: self._hardware_failed(index, members, f"simulation failed: {why}", skips=True),
                    priority=(PRIORITY["check"],))

    def _checked(self, index: int, layout: Record, members: list, record: Record) -> None:
        for member in members:
            self.checked[member, index] = record
            self.runner.add(self._build_step(index, layout, member))

    def _build_step(self, index: int, layout: Record, member: int) -> Step:
        options = {"dataset": self.configs[index].dataset, **self.settings[member].build_inputs()}
        return Step("build", {"layout": layout_hash(layout), **options}, sweep_steps.build,
                    {"layout": layout.blob, **options}, f"build {self._design(index)} {self.settings[member].name}",
                    then=lambda record: self.built.__setitem__((member, index), record),
                    failed=lambda why: self._hardware_failed(index, [member], f"build failed: {why}", skips=False),
                    priority=(PRIORITY["build"], layout.result["lanes"]))

    def _hardware_failed(self, index: int, members: list, why: str, *, skips: bool) -> None:
        if skips:                                     # a failed check: its builds will never be made
            self.runner.skip(len(members))
        for member in members:
            self.errors[member, index] = why

    def _design(self, index: int) -> str:
        return f"{self.points[index].label} bits width {self._width(index)}"

    # -- the rows ----------------------------------------------------------------------------------

    def rows(self) -> dict:
        from hbnn.compare import MixResult
        from hbnn.boards.flow import SynthesisReport

        rows = {}
        for member, setting in enumerate(self.settings):
            rows[member] = []
            for index, point in enumerate(self.points):
                records = [self.trained.get((index, seed)) for seed in self.seeds]
                error = self.errors.get((None, index)) or self.errors.get((member, index))
                if any(record is None or not record.ok for record in records):
                    error = error or "not trained"
                    rows[member].append(self._failed_row(point, index, error))
                    continue
                seed = self.hardware_seed[index]
                trained = self.trained[index, seed].result
                checked, built = self.checked.get((member, index)), self.built.get((member, index))
                if built is None or not built.ok or checked is None:
                    rows[member].append(self._failed_row(point, index, error or "not built", records))
                    continue
                result = built.result
                synthesis = None if result["synthesis"] is None else SynthesisReport.from_json(result["synthesis"])
                rows[member].append(MixResult(
                    point.mix, point.allocation, self._width(index), trained["average_bits"], self.seeds,
                    tuple(record.result["accuracy"] for record in records), seed, trained["accuracy"],
                    trained["float_accuracy"], checked.result["images"], synthesis, result["energy"],
                    self._layout_path(index, seed),
                    None if synthesis is None else str(self.root / "steps" / f"build-{built.key[:16]}" / "synth"),
                    does_not_fit=result["does_not_fit"], needed_lut4=result["needed_lut4"], method=point.method))
        return rows

    def _failed_row(self, point, index: int, error: str, records=None):
        from hbnn.compare import MixResult

        accuracies = tuple(record.result["accuracy"] for record in records) if records else ()
        seed = self.hardware_seed.get(index, self.seeds[0])
        trained = self.trained.get((index, seed))
        ok = trained is not None and trained.ok
        return MixResult(point.mix, point.allocation, self._width(index),
                         trained.result["average_bits"] if ok else float("nan"), self.seeds, accuracies, seed,
                         trained.result["accuracy"] if ok else float("nan"),
                         trained.result["float_accuracy"] if ok else float("nan"), 0, None, None,
                         self._layout_path(index, seed) if ok else "", None, error=error, method=point.method)

    def _layout_path(self, index: int, seed: int) -> str:
        """Where the train step left the layout (on the machine that ran it)."""
        record = self.trained[index, seed]
        return str(self.root / "steps" / f"train-{record.key[:16]}" / f"{record.result['name']}.npz")

    def _width(self, index: int) -> int:
        from hbnn.compare import _default_width

        point = self.points[index]
        return point.width if point.width is not None else _default_width(self.configs[index])


def layout_hash(record: Record) -> str:
    """A trained layout as the steps after training know it: the sha256 of its bytes."""
    from hbnn import step_keys

    return step_keys.content_hash(record.blob)


def train_inputs(config, seed: int) -> dict:
    """What a training step's result depends on: the net's whole configuration and the training
    configuration of its data set's recipe (epochs, batch, learning rate, seed)."""
    from dataclasses import asdict

    from hbnn.model.config import train_config_for

    return {"config": config.to_dict(), "train": asdict(train_config_for(config, None, seed))}


def _summary(kind: str, result: dict) -> str:
    if kind == "train":
        return f"test accuracy {100 * result['accuracy']:.2f} % ({result['average_bits']:.3f} bits)"
    if kind == "check":
        return f"bit-exact on {result['images']} test images"
    if result["synthesis"] is None:
        return f"does not fit: {result['does_not_fit']}"
    cells = result["synthesis"]["cells"]
    return f"LUT4 {cells['lut4_equivalent']:,}, Fmax {result['synthesis']['fmax_mhz']:.1f} MHz"
