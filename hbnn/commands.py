"""What each `hbnn` subcommand does: check everything, then call the library, then print.

Every function takes the parsed arguments and returns an exit status. Its first block is the
validation pass: every option, every input file (by content) and every output path, and every
program the command will run, so that a mistake is one `ConfigError` line before any work starts
(`hbnn.cli` prints it). torch and amaranth are imported only after that block.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hbnn.boards import DEFAULT_BOARD
from hbnn.model.errors import ConfigError

BUILD = "build"          # where outputs go unless told otherwise

#: the main job (`hbnn demo`): the bit-mix comparison of the default digits MLP on the default
#: board, with power-of-two plane ratios (what makes heterogeneous mixes cheaper in LUTs). Without
#: 3 bits, which on digits is never the answer (as accurate as 2 bits for 1.5x the LUTs) and whose
#: place and route alone took 6 of the demo's 10.5 minutes: with three training seeds per mix the
#: demo stays under 10 minutes on 2 cores (`hbnn compare --ratio-digits 1` has all five mixes).
DEMO = dict(dataset="digits", net="mlp", mixes=("1", "1.2", "1.4", "2"), board=DEFAULT_BOARD, width=None,
            ratio_digits=1, popcount="generic", pipeline=0, energy=True)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _reporter(args):
    """Where progress messages go: stderr, or nowhere with --quiet (errors are printed anyway)."""
    return (lambda message: None) if getattr(args, "quiet", False) else _say


# -- checks shared by the commands ---------------------------------------------------------------


def output_file(path: str | os.PathLike, *, suffix: str, what: str) -> Path:
    """A file the command will write: it ends in `suffix`, is not a folder, and its folder can be
    made and written."""
    path = Path(path)
    if path.suffix != suffix:
        raise ConfigError(f"{what} {str(path)!r} must end in {suffix}")
    if path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a folder; name a {suffix} file")
    writable_folder(path.parent, what=f"{what} folder")
    return path


def writable_folder(path: str | os.PathLike, *, what: str) -> Path:
    """A folder the command will write into: not a file, and it can be made and written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a file, not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{what} {str(path)!r} cannot be made: {str(existing)!r} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {str(path)!r} is not writable (permission denied on {str(existing)!r})")
    return path


def popcount_strategy(popcount: str, family: str | None):
    """`--popcount` with `--family` (generate, simulate): mapped needs the family, generic takes none."""
    from hbnn.hw.popcount_strategy import Strategy

    if family is not None and popcount != "mapped":
        raise ConfigError("--family applies only to --popcount mapped (the generic popcount is the same "
                          "on every family)")
    if popcount == "mapped" and family is None:
        raise ConfigError("--popcount mapped needs --family ice40 or ecp5 (the cells to instantiate)")
    return Strategy(popcount, family)


def describe_estimate(cost, folded: bool = False) -> str:
    """What a generation will cost (`hw.generate.Estimate`), and which boards could hold it
    (`folded`: the estimate counts the unrolled layers only)."""
    from hbnn import boards

    low, high = cost.lut4
    holds = [name for name, board in boards.BOARDS.items() if board.capacity.logic >= high]
    might = [name for name, board in boards.BOARDS.items() if low <= board.capacity.logic < high]
    if holds or might:
        fit = ", ".join(holds) + (" hold" if len(holds) > 1 else " holds") if holds else ""
        fit += ("; " if holds and might else "") + (f"{', '.join(might)} might" if might else "")
    else:
        largest = max(boards.BOARDS.values(), key=lambda board: board.capacity.logic)
        fit = f"more than any board hbnn knows (the largest, {largest.name}, has {largest.capacity.logic:,})"
    minutes = cost.seconds / 60
    duration = f"{cost.seconds:.0f} s" if minutes < 1 else f"{minutes:.0f} min"
    duration = ("up to " if cost.upper_bound else "about ") + duration
    stop = " (Ctrl-C stops it and leaves no file)" if cost.seconds > 30 else ""
    what = "its unrolled layers need" if folded else "the design needs"
    return (f"{cost.lanes:,} lanes (weight bits x input planes): generation takes {duration}{stop}; "
            f"{what} roughly {low:,}-{high:,} LUT4 after synthesis: {fit}")


def net_config(args):
    """The checked `NetConfig` of `train`'s net options (no torch: config is plain data)."""
    from hbnn.model.config import net_config

    return net_config(args.dataset, args.net, weights=args.weights, act_bits=args.act_bits,
                      pixel_bits=args.pixel_bits, method=args.method, allocation=args.allocation,
                      scale=args.scale, width=args.width, ratio_bits=args.ratio_bits,
                      ratio_digits=args.ratio_digits, gradient=args.gradient)


# -- the commands ----------------------------------------------------------------------------------


def train(args) -> int:
    from hbnn.model.config import checkpoint_name, train_config_for

    config = net_config(args)
    recipe = train_config_for(config, args.epochs, args.seed)
    output = output_file(args.output or Path(BUILD) / "checkpoints" / checkpoint_name(config, args.seed),
                         suffix=".pt", what="checkpoint")

    from hbnn.model.recipes import train_checkpoint

    result, path = train_checkpoint(config, epochs=args.epochs, seed=args.seed, output=output,
                                    progress=not args.quiet)
    print(f"{config.dataset}/{config.net} weights {config.weights}, activations "
          f"{config.act_bits or 'float'} bit, {config.method.name}, {config.allocation}: "
          f"test accuracy {100 * result.test_accuracy:.2f} % "
          f"(train {100 * result.train_accuracy:.2f} %; {recipe.epochs} epochs at learning rate "
          f"{recipe.lr:g}, {result.seconds:.1f} s)")
    print(f"checkpoint: {path}")
    return 0


def evaluate(args) -> int:
    from hbnn.model import checkpoint

    checkpoint.check_file(args.checkpoint)

    from hbnn.model.recipes import evaluate_checkpoint

    config, accuracy = evaluate_checkpoint(args.checkpoint)
    print(f"{config.dataset}/{config.net} weights {config.weights}: test accuracy {100 * accuracy:.2f} %")
    return 0


def export(args) -> int:
    from hbnn.model import checkpoint

    source = checkpoint.check_file(args.checkpoint)
    output = output_file(args.output or Path(BUILD) / "layouts" / (source.stem + ".npz"),
                         suffix=".npz", what="layout")

    from hbnn.model.recipes import export_checkpoint

    path, _, agreement = export_checkpoint(source, output)
    print(agreement.summary())
    print(f"layout: {path}")
    return 0


def inspect(args) -> int:
    from hbnn.model import layout
    from hbnn.model.summary import format_summary

    print(format_summary(layout.load(args.layout)))
    return 0


def generate(args) -> int:
    from hbnn.model import layout

    from hbnn.hw.buildable import check_buildable

    network = layout.load(args.layout)
    check_buildable(network)
    _check_fold(network, args)
    strategy = popcount_strategy(args.popcount, args.family)
    output = output_file(args.output or Path(BUILD) / "verilog" / (Path(args.layout).stem + ".v"),
                         suffix=".v", what="Verilog")

    from hbnn.hw.generate import estimate, generate

    _say(describe_estimate(estimate(network, strategy, fold=args.fold), folded=bool(args.fold)))
    result = generate(network, output, pipeline=args.pipeline, popcount=strategy, progress=True, fold=args.fold)
    info = result.info
    print(f"wrote {result.verilog} and {result.description} in {result.seconds:.1f} s: "
          f"latency {info['latency_cycles']} cycles, one image every "
          f"{info['initiation_interval_cycles']} cycles")
    return 0


def _check_fold(network, args) -> None:
    """`--fold` against the layout and `--pipeline`, before any work: a `ConfigError` if wrong; an
    `auto:CYCLES` target becomes the folding it picks (`fold_schedule.balanced_fold`)."""
    if not args.fold:
        return
    from hbnn.hw.fold_schedule import Schedule, check_fold, describe_fold, resolve_fold

    try:
        auto = not isinstance(args.fold, dict)
        args.fold = resolve_fold(args.fold, network)
        if auto:
            _say(f"--fold {describe_fold(args.fold)} (the smallest folding of each layer within the target)")
        check_fold(network, args.fold, args.pipeline)
        for position, folding in args.fold.items():
            Schedule(network.weight_layers()[position], folding)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"--fold: {error}") from None


def simulate(args) -> int:
    from hbnn import tools
    from hbnn.model import layout

    network = layout.load(args.layout)
    strategy = popcount_strategy(args.popcount, args.family)
    _check_fold(network, args)
    writable_folder(args.build, what="build folder")
    tools.require(*tools.programs_for_simulator(args.sim))

    from hbnn.sim.runner import simulate_layout

    result = simulate_layout(args.layout, images=args.images, simulator=args.sim, waves=args.waves,
                             pipeline=args.pipeline, seed=args.seed, build_root=args.build,
                             popcount=strategy, say=_say, fold=args.fold)
    report = result.report
    accuracy = "" if result.accuracy is None else f", accuracy {100 * result.accuracy:.2f} %"
    print(f"{report.simulator}: {report.images} {result.source}, "
          f"{result.cycles_per_image:.1f} simulated cycles per image, {report.seconds:.1f} s{accuracy}")
    for trace in result.waves:
        print(f"waveform: {trace}")
    if report.bit_exact:
        print("bit-exact: every class and score equals the golden model")
        return 0
    print(f"{len(report.mismatches)} MISMATCHES against the golden model; first ones:")
    for mismatch in report.mismatches[:10]:
        print(f"  image {mismatch['image']}, {mismatch['what']}: expected {mismatch['expected']}, "
              f"got {mismatch['actual']}")
    return 1


def synth(args) -> int:
    from hbnn import boards, tools
    from hbnn.boards import tools as board_tools
    from hbnn.hw.fold_schedule import fold_suffix
    from hbnn.hw.popcount_strategy import strategy_for
    from hbnn.model import layout

    board = boards.get(args.board)
    network = layout.load(args.layout)
    _check_fold(network, args)
    strategy = strategy_for(args.popcount, board.family)
    if args.core_clock is not None:
        board.core_clock(args.core_clock)
    tools.require(*board_tools.programs(board.family))
    build_dir = writable_folder(Path(args.build) / "synth" / (f"{Path(args.layout).stem}-{board.name}"
                                                              + ("" if strategy.name == "generic" else f"-{strategy.name}")
                                                              + fold_suffix(args.fold)),
                                what="build folder")

    from hbnn.boards.flow import synthesize

    report = synthesize(network, board, build_dir, bitstream=args.bitstream, pipeline=args.pipeline,
                        popcount=strategy.name, say=_reporter(args), progress=not args.quiet,
                        placement_seeds=args.placement_seeds, core_mhz=args.core_clock, fold=args.fold)
    print(report.summary(board.title))
    print(f"reports: {build_dir / 'report.json'}" + (f", bitstream: {build_dir / report.bitstream}"
                                                      if report.bitstream else ""))
    return 0


def compare(args) -> int:
    return _compare(args, dataset=args.dataset, net=args.net, board=args.board,
                    mixes=tuple(mix.strip() for mix in args.mixes.split(",") if mix.strip()),
                    width=args.width, ratio_digits=args.ratio_digits, popcount=args.popcount,
                    pipeline=args.pipeline, energy=not args.no_energy, placement_seeds=args.placement_seeds,
                    core_mhz=args.core_clock, fold=args.fold)


def demo(args) -> int:
    """`hbnn compare` on the embedded defaults (`DEMO`)."""
    return _compare(args, **DEMO)


def _compare(args, *, board: str, **options) -> int:
    """The comparison with the options every comparing subcommand has (seed, images, simulator,
    build folder, quiet) from `args` and the others given."""
    from hbnn import boards
    from hbnn import compare as comparison
    from hbnn.compare_output import format_table

    options.update(board=boards.get(board), seed=args.seed, seeds=args.seeds, images=args.images,
                   simulator=args.sim, root=args.build)
    writable_folder(args.build, what="build folder")
    comparison.plan(**options)

    result = comparison.compare(**options, say=_reporter(args))
    print(format_table(result.rows, options["board"]))
    ratio = result.lut_ratio()
    if ratio is not None:
        print(f"LUT4(1.4 bits) / LUT4(2 bits) = {ratio:.3f} (the Middle-Out paper assumes 1.4/2 = 0.70)")
    print("wrote " + ", ".join(result.outputs.values()))
    return 0


def sweep(args) -> int:
    """`hbnn sweep`: check the whole grid, then run its missing steps (`hbnn.sweep`)."""
    from hbnn import executors, sweep_output, sweep_spec
    from hbnn import sweep as sweeping
    from hbnn.step_store import Store

    say = _reporter(args)
    overrides = dict(dataset=args.dataset, net=args.net, mixes=args.mixes, allocations=args.allocations,
                     methods=args.methods, widths=args.widths, seeds=args.seeds, seed=args.seed, boards=args.boards,
                     pipelines=None if args.pipelines is None else tuple(_pipeline_value(p) for p in args.pipelines),
                     popcounts=args.popcounts, folds=args.folds, images=args.images,
                     energy=False if args.no_energy else None)
    spec = sweep_spec.load(args.file, **overrides) if args.file else sweep_spec.from_data({}, **overrides)
    # absolute: a worker's working folder is not this one (docs/sweeps.md, "Workers")
    root = writable_folder(args.build, what="build folder").resolve()
    settings = spec.settings(root)                      # every value and program checked: no work yet
    name = Path(args.file).stem if args.file else "sweep"
    with Store(args.store or root / "sweep.sqlite") as store, \
            executors.opened(args.cluster, args.workers) as (executor, workers, where):
        say(f"sweep {name}: {len(settings[0].plan.points)} designs x {spec.seeds} seeds at {len(settings)} hardware "
            f"setting(s), on {workers} workers of {where}; results in {store.path}")
        result = sweeping.run(settings, root=root, store=store, executor=executor, workers=workers, say=say)
    table = sweep_output.flat_rows(result.settings, result.rows)
    print(sweep_output.format_table(table))
    fronts = sweep_output.fronts_text(table)
    if fronts:
        print(fronts)
    config = settings[0].plan.configs[0]
    outputs = sweep_output.write_outputs(root / "sweep" / name, table, title=f"{config.dataset} {config.net}: {name}")
    counts = result.counts
    print(f"{sum(counts.ran.values())} steps run ({', '.join(f'{counts.ran[kind]} {kind}' for kind in sweeping.KINDS)}), "
          f"{counts.reused} reused, {counts.failed} failed, {counts.skipped} skipped, in "
          f"{result.seconds:.0f} s")
    print("wrote " + ", ".join(outputs.values()))
    return 1 if counts.failed else 0


def _cached_experiment(args, name: str, options: dict) -> dict:
    """A training experiment whose trainings are steps of the sweep machinery (`hbnn.step_runner`):
    stored by content in the result store, run on the local pool or `--cluster`, and reused by
    every later run (a rerun trains nothing; a killed one resumes)."""
    from hbnn import executors
    from hbnn.model import experiments
    from hbnn.step_runner import run_all
    from hbnn.step_store import Store

    store_path = Path(args.store or Path(BUILD) / "sweep.sqlite").resolve()
    say = _reporter(args)
    with Store(store_path) as store, executors.opened(args.cluster, args.workers) as (executor, workers, where):
        say(f"experiment {name}: trainings on {workers} workers of {where}; results in {store.path}")

        def runner(jobs):
            return run_all(jobs, kind="experiment", store=store, executor=executor, workers=workers,
                           root=store_path.parent, say=say, guess_seconds=10,
                           describe=lambda kind, outcome: f"accuracy {100 * outcome['test']:.2f} %")

        return experiments.run(name, args.out, **options, runner=runner)


def _pipeline_value(text: str):
    """A pipeline setting from the command line: `full` or a whole number (checked by the plan)."""
    return int(text) if text.isdigit() else text


def experiment(args) -> int:
    from hbnn.model import experiments
    from hbnn.model.config import check_count
    from hbnn.model.data import DATASETS
    from hbnn.model.errors import unknown_choice

    name = experiments.check_name(args.name)
    options = {"progress": not args.quiet}
    if args.seeds is not None:
        options["seeds"] = check_count("seeds", args.seeds)
    trains = experiments.EXPERIMENTS[name]
    for option, value in (("--epochs", args.epochs), ("--datasets", args.datasets),
                          ("--workers", args.workers), ("--cluster", args.cluster), ("--store", args.store)):
        if value is not None and not trains:
            raise ConfigError(f"{option} does not apply to the {name} experiment, which trains no nets")
    if trains:
        options["epochs"] = args.epochs
        if args.epochs is not None:
            check_count("epochs", args.epochs)
        if args.datasets is not None:
            chosen = tuple(d.strip() for d in args.datasets.split(",") if d.strip())
            for dataset in chosen or (args.datasets,):
                if dataset not in DATASETS:
                    raise unknown_choice("data set", dataset, DATASETS)
            options["datasets"] = chosen
    writable_folder(args.out, what="output folder")
    if not trains:
        outputs = experiments.run(name, args.out, **options)
    else:
        outputs = _cached_experiment(args, name, options)
    print(outputs["markdown"].read_text())
    print(f"wrote {outputs['markdown']}, {outputs['csv']}, {outputs['plot']}")
    return 0
