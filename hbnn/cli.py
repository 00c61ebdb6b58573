"""The `hbnn` command line: the parser, and the error contract every subcommand keeps.

Contract: each subcommand checks all of its options, input files and output paths, and finds every
program it will run, before any work starts (`hbnn.commands`). Anything a user can get wrong is
one line on stderr, `hbnn: error: ...`, naming the value and the valid choices, and exit status 2.
A run that fails after it started (a tool exits with an error, the Verilog differs from the
golden model, the disk is full or read-only) is one line and exit status 1; an interrupt is 130; a
reader that goes away (`| head`) ends it quietly. Any other exception is a bug in hbnn and keeps
its traceback. Options are never abbreviated (`--weight` is an error, not
`--weights`), and every default is shown in `--help`.

Building the parser imports neither torch nor amaranth (the choices come from plain-data modules),
so `hbnn --help` and every refusal answer in a fraction of a second.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import warnings

from . import __version__, commands


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) so every error reads the same,
    and no option is ever abbreviated."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"hbnn: error: {message}\n")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" wherever there is a default, 0 included (not for flags and `None`,
    whose help text says what happens)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is argparse.SUPPRESS or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def _formatter(prog):
    return _Help(prog, max_help_position=32)


def _count(minimum: int):
    """An argparse type: an integer of at least `minimum`, else a one-line error naming the value."""
    kind = {0: "a non-negative integer", 1: "a positive integer"}[minimum]

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {kind}, not {value}")
        return value
    return parse


_natural, _positive = _count(0), _count(1)


def _images(text: str):
    """An argparse type: a positive count of test images, or `all` (the whole test set)."""
    return "all" if text.strip() == "all" else _positive(text)


def _positive_list(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated positive integers (e.g. widths 16,24,32)."""
    return tuple(_positive(part.strip()) for part in text.split(",") if part.strip()) or _positive("")


# -- options shared by several subcommands -----------------------------------------------------


def _text_list(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated values (at least one)."""
    values = tuple(value.strip() for value in text.split(",") if value.strip())
    if not values:
        raise argparse.ArgumentTypeError(f"must name at least one value, not {text!r}")
    return values


def _fold_list(text: str) -> tuple[str, ...]:
    """An argparse type: `--fold` values separated by semicolons (they contain commas); `none`
    (or nothing between two semicolons) is the unrolled design."""
    folds = tuple("" if value.strip() in ("", "none") else value.strip() for value in text.split(";"))
    for fold in folds:
        if fold:
            _fold(fold)
    return folds


def _add_net_options(parser) -> None:
    from hbnn.model.bitmix import NAMED_MIXES
    from hbnn.model.config import ALLOCATIONS, GRADIENTS, METHODS, NETS, SCALES
    from hbnn.model.data import DATASETS
    from hbnn.model.layout import MAX_ACTIVATION_BITS, MAX_PIXEL_BITS

    nets = "; ".join(f"{d}: " + "|".join(n for ds, n in NETS if ds == d) for d in DATASETS)
    parser.add_argument("--dataset", default="digits", help=f"bundled data set ({', '.join(DATASETS)})")
    parser.add_argument("--net", default=None,
                        help=f"network ({nets}); default: mlp for digits, cnn1d for mnist1d")
    parser.add_argument("--weights", default="1.4",
                        help="weight bit mix: percentages 1/2/3-bit like 70/20/10, a named average ("
                             + ", ".join(NAMED_MIXES) + "), or float")
    parser.add_argument("--act-bits", type=_natural, default=1,
                        help=f"hidden activation bits 1..{MAX_ACTIVATION_BITS}, 0 = float ReLU")
    parser.add_argument("--pixel-bits", type=_positive, default=None,
                        help=f"unsigned input precision of the first layer, 1..{MAX_PIXEL_BITS}; "
                             "default: the net's (4)")
    parser.add_argument("--method", default="bc", help=f"ProxConnect++ method ({', '.join(METHODS)})")
    parser.add_argument("--allocation", default="middle-out",
                        help=f"which weights get more bits ({', '.join(ALLOCATIONS)})")
    parser.add_argument("--scale", default="tensor", help=f"bit-plane scale per ({', '.join(SCALES)})")
    parser.add_argument("--gradient", default="single",
                        help=f"straight-through gradient across the bit planes ({', '.join(GRADIENTS)}): "
                             "the paper's one estimator, or one per plane")
    parser.add_argument("--ratio-bits", type=_natural, default=6,
                        help="fractional bits of the bit-plane and activation scale ratios (0..12); "
                             "training uses the rounded ratios, so export is exact")
    _add_ratio_digits_option(parser)
    _add_width_option(parser)


def _add_ratio_digits_option(parser) -> None:
    parser.add_argument("--ratio-digits", type=_natural, default=0,
                        help="at most this many signed binary digits per weight-plane ratio (1: powers "
                             "of two, cheapest hardware), 0..4; 0 = any")


def _add_width_option(parser) -> None:
    parser.add_argument("--width", type=_positive, default=None,
                        help="hidden width (MLP) or base channels (CNN); default: the net's")


def _add_popcount_options(parser, *, family: bool) -> None:
    from hbnn.hw.families import FAMILIES
    from hbnn.hw.popcount_strategy import STRATEGIES

    parser.add_argument("--popcount", default="generic",
                        help=f"arithmetic strategy ({', '.join(STRATEGIES)}): popcount trees for yosys to map, "
                             "popcount trees placed from the FPGA's LUT4 and carry cells, or one adder "
                             "graph per layer shared by all its outputs (da4ml)")
    if family:
        parser.add_argument("--family", default=None,
                            help=f"FPGA family whose cells a mapped popcount instantiates ({', '.join(FAMILIES)}); "
                                 "only with --popcount mapped")


def _pipeline(text: str):
    """An argparse type: `full`, or a non-negative integer."""
    from hbnn.hw.pipeline_setting import FULL

    if text == FULL:
        return FULL
    try:
        return _natural(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer or {FULL!r}, not {text!r}") from None


def _fold(text: str):
    """An argparse type: `hw.fold_schedule.parse_fold`."""
    from hbnn.hw.fold_schedule import parse_fold
    from hbnn.model.errors import ConfigError

    try:
        return parse_fold(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--fold: ")) from None


def _add_fold_option(parser) -> None:
    parser.add_argument("--fold", type=_fold, default=None, metavar="LAYER:PExLANES,...|auto:CYCLES",
                        help="fold weight layers onto PE processing elements of LANES weight-plane bits each "
                             "(weights in block RAM; docs/folded.md), e.g. 1:4x32,2:4x32; LAYER counts weight "
                             "layers from 0; the others stay unrolled. auto:CYCLES folds every layer after the "
                             "first, each the smallest that takes at most CYCLES cycles per image (default: none)")


def _add_pipeline_option(parser) -> None:
    parser.add_argument("--pipeline", type=_pipeline, default=0, metavar="N|full",
                        help="register levels inside every popcount tree or adder graph (raises Fmax and "
                             "latency); full: a register after every adder level of the whole datapath "
                             "(popcounts, combining adders, argmax), and a datapath that never stalls: "
                             "credit-counted input, output FIFO")


def _megahertz(text: str) -> float:
    """An argparse type: a positive frequency in MHz."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive frequency in MHz, not {text!r}")
    return value


def _add_core_clock_option(parser) -> None:
    parser.add_argument("--core-clock", type=_megahertz, default=None, metavar="MHZ",
                        help="run the network core on a clock of its own, made by the device's PLL at "
                             "(the nearest reachable frequency to) MHZ, the UART bridge staying on the "
                             "board clock; Fmax is then the core clock's, and the report says whether MHZ "
                             "is met (default: one clock, the board's)")


def _add_placement_seeds_option(parser) -> None:
    parser.add_argument("--placement-seeds", type=_positive, default=1, metavar="N",
                        help="place and route each design N times (nextpnr's default seed, then --seed 2, "
                             "3, ...) and report the median Fmax; each placement takes as long as the first")


def _add_seeds_option(parser) -> None:
    from hbnn.compare import SEEDS

    parser.add_argument("--seeds", type=_positive, default=SEEDS,
                        help="training seeds per design (--seed, --seed + 1, ...): accuracy is their mean ± "
                             "std, and the median seed's design is the one built")


def _add_simulator_option(parser) -> None:
    from hbnn.tools import SIMULATORS

    parser.add_argument("--sim", default=os.environ.get("SIM", "icarus"),
                        help=f"simulator ({', '.join(SIMULATORS)}); the default comes from $SIM, else icarus")


def _add_run_options(parser, *, images: int, build: bool = True) -> None:
    """Seed, test images, simulator, build folder and --quiet: what every comparing command has."""
    parser.add_argument("--seed", type=_natural, default=0,
                        help="training seed, the first of --seeds where there are several (and the simulator's stalls)")
    parser.add_argument("--images", type=_images, default=images,
                        help="test images per design run through the simulated Verilog, or all")
    _add_simulator_option(parser)
    if build:
        parser.add_argument("--build", default=commands.BUILD, help="folder for all outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def build_parser() -> argparse.ArgumentParser:
    from hbnn import boards
    from hbnn.compare import DEFAULT_MIXES
    from hbnn.model.experiments import EXPERIMENTS

    parser = _Parser(prog="hbnn", description="Heterogeneous-bitwidth binarized neural networks: train in "
                                              "PyTorch, generate bit-exact FPGA hardware.")
    parser.add_argument("--version", action="version", version=f"hbnn {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    def command(name, run, help, description=None):
        sub = subcommands.add_parser(name, help=help, description=description or help)
        sub.set_defaults(run=run)
        return sub

    demo = command("demo", commands.demo, "the main job on the embedded defaults",
                   "The bit-mix comparison on the embedded defaults: the digits MLP (64-32-10) with "
                   f"{', '.join(commands.DEMO['mixes'])}-bit Middle-Out weights is trained with each "
                   "of --seeds training seeds (or reused), exported, "
                   f"checked bit-exact in simulation, synthesized, placed and routed for the "
                   f"{boards.get(commands.DEMO['board']).title}, and its LUTs, Fmax and energy are "
                   f"compared (= hbnn compare --ratio-digits 1 --mixes {','.join(commands.DEMO['mixes'])}: "
                   "power-of-two plane ratios, the hardware-friendly setting).")
    _add_run_options(demo, images=20)
    _add_seeds_option(demo)

    train = command("train", commands.train, "train a net, save a checkpoint",
                    "Train a heterogeneous-bitwidth binarized net on a bundled data set and save a checkpoint.")
    _add_net_options(train)
    train.add_argument("--epochs", type=_positive, default=None,
                       help="training epochs; default: the recipe of the data set and weight class "
                            "(hbnn.model.config.RECIPES; train prints it)")
    train.add_argument("--seed", type=_natural, default=0, help="random seed (weights, batches, random masks)")
    train.add_argument("-o", "--output", default=None,
                       help="checkpoint path (.pt); default: build/checkpoints/<configuration>.pt")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    evaluate = command("evaluate", commands.evaluate, "test accuracy of a checkpoint")
    evaluate.add_argument("checkpoint", help="a checkpoint written by `hbnn train`")

    export = command("export", commands.export, "freeze a checkpoint into an integer layout file",
                     "Freeze masks and signs, fold BatchNorm and the next activation into integer "
                     "thresholds, write a layout (.npz), and compare the integer golden model with the "
                     "float model on the test set.")
    export.add_argument("checkpoint", help="a checkpoint written by `hbnn train`")
    export.add_argument("-o", "--output", default=None,
                        help="layout path (.npz); default: build/layouts/<checkpoint name>.npz")

    inspect = command("inspect", commands.inspect, "summarize a layout file")
    inspect.add_argument("layout", help="a layout written by `hbnn export`")

    generate = command("generate", commands.generate,
                       "Verilog for a layout, with a JSON of ports, latency and throughput",
                       "Elaborate a layout into one streaming Amaranth design and write Verilog "
                       "(amaranth.back.verilog) and a JSON description beside it.")
    generate.add_argument("layout", help="a layout written by `hbnn export`")
    generate.add_argument("-o", "--output", default=None,
                          help="Verilog path (.v); default: build/verilog/<layout name>.v")
    _add_pipeline_option(generate)
    _add_fold_option(generate)
    _add_popcount_options(generate, family=True)

    simulate = command("simulate", commands.simulate,
                       "run the generated Verilog in a simulator against the golden model",
                       "Generate Verilog for a layout, build it with cocotb, stream test images through "
                       "it with random stalls, and compare every class and score with the golden model. "
                       "Exits 1 on any mismatch.")
    simulate.add_argument("layout", help="a layout written by `hbnn export`")
    simulate.add_argument("--images", type=_positive, default=100, help="test images to run")
    _add_simulator_option(simulate)
    simulate.add_argument("--waves", action="store_true", help="write waveforms (FST/VCD) in the build folder")
    _add_pipeline_option(simulate)
    _add_fold_option(simulate)
    simulate.add_argument("--seed", type=_natural, default=0,
                          help="seed of the random stalls (and of random inputs for a layout without a data set)")
    simulate.add_argument("--build", default=commands.BUILD, help="folder for the generated files and builds")
    _add_popcount_options(simulate, family=True)

    synth = command("synth", commands.synth,
                    "synthesize, place and route a layout for a board (yosys, nextpnr)",
                    "Put the network behind a UART bridge, synthesize it with yosys, place and route it "
                    "with nextpnr (the YoWASP builds from PyPI) and report LUT4, carry, FF, BRAM, DSP, "
                    "IO, Fmax and LUTs per layer. Outputs go to BUILD/synth/<layout>-<board>/ only when "
                    "the flow succeeds.")
    synth.add_argument("layout", help="a layout written by `hbnn export`")
    synth.add_argument("--board", default=boards.DEFAULT_BOARD, help=f"target: {', '.join(boards.BOARDS)}")
    synth.add_argument("--bitstream", action="store_true", help="also pack the bitstream (icepack/ecppack)")
    _add_pipeline_option(synth)
    _add_fold_option(synth)
    synth.add_argument("--build", default=commands.BUILD, help="folder for the build")
    synth.add_argument("--quiet", action="store_true", help="no progress messages")
    _add_popcount_options(synth, family=False)
    _add_placement_seeds_option(synth)
    _add_core_clock_option(synth)

    compare = command("compare", commands.compare,
                      "one net at several bit mixes: accuracy, LUTs, Fmax, energy",
                      "For each weight bit mix: train (or reuse the checkpoint), export, generate "
                      "Verilog, check test images bit-exact in simulation, synthesize, place and route "
                      "for the board, and estimate energy; print one table and write CSV, JSON and a "
                      "plot to BUILD/compare/<dataset>-<net>-<board>/.")
    compare.add_argument("--dataset", default="digits", help="bundled data set (digits, mnist1d)")
    compare.add_argument("--net", default="mlp", help="network of the data set")
    compare.add_argument("--mixes", default=",".join(DEFAULT_MIXES),
                         help="comma-separated weight bit mixes (named averages or 70/20/10 percentages), "
                              "each with the Middle-Out allocation or another after a colon, e.g. "
                              "1.4:random (the control that shows what the allocation rule is worth), "
                              "and at --width or a width of its own after @, e.g. 1@96")
    compare.add_argument("--board", default=boards.DEFAULT_BOARD, help=f"target: {', '.join(boards.BOARDS)}")
    compare.add_argument("--width", type=_positive_list, default=None, metavar="W[,W...]",
                         help="hidden width (MLP) or base channels (CNN), or several: every mix is built "
                              "at each (a wider net with fewer bits is the rival of a narrower one with "
                              "more); default: the net's")
    _add_ratio_digits_option(compare)
    _add_run_options(compare, images=20)
    _add_seeds_option(compare)
    compare.add_argument("--no-energy", action="store_true", help="skip the energy estimate")
    _add_pipeline_option(compare)
    _add_fold_option(compare)
    _add_popcount_options(compare, family=False)
    _add_placement_seeds_option(compare)
    _add_core_clock_option(compare)

    sweep = command("sweep", commands.sweep, "a grid of designs and hardware settings, cached and resumable",
                    "Run a design-space sweep: every design (mix x allocation x method x width, trained "
                    "with each seed) at every hardware setting (board x pipeline x popcount x fold), as "
                    "train, check (bit-exact simulation) and build (synthesis, place and route, energy) "
                    "steps on a local process pool or a Dask cluster. Each step's result is stored under "
                    "the hash of its inputs: a rerun runs only what is missing, a killed sweep resumes. "
                    "Writes sweep.csv, sweep.json and sweep.png (Pareto fronts) to BUILD/sweep/NAME/. "
                    "Options given here override the file's values (docs/sweeps.md).")
    sweep.add_argument("file", nargs="?", default=None, help="sweep description (TOML); default: the options alone")
    sweep.add_argument("--dataset", default=None, help="bundled data set (digits, mnist1d)")
    sweep.add_argument("--net", default=None, help="network of the data set")
    sweep.add_argument("--mixes", type=_text_list, default=None, metavar="M[,M...]",
                       help="weight bit mixes as in hbnn compare (1.4, 1.4:random, 1@96)")
    sweep.add_argument("--allocations", type=_text_list, default=None, metavar="A[,A...]",
                       help="allocations for the heterogeneous mixes that name none (default: middle-out)")
    sweep.add_argument("--methods", type=_text_list, default=None, metavar="M[,M...]",
                       help="training methods (default: bc)")
    sweep.add_argument("--widths", type=_positive_list, default=None, metavar="W[,W...]",
                       help="hidden widths / base channels (default: the net's)")
    sweep.add_argument("--seeds", type=_positive, default=None, help="training seeds per design (default: 3)")
    sweep.add_argument("--seed", type=_natural, default=None, help="the first training seed (default: 0)")
    sweep.add_argument("--boards", type=_text_list, default=None, metavar="B[,B...]",
                       help=f"target boards: {', '.join(boards.BOARDS)} (default: {boards.DEFAULT_BOARD})")
    sweep.add_argument("--pipelines", type=_text_list, default=None, metavar="P[,P...]",
                       help="pipeline settings: register levels or full (default: 0)")
    sweep.add_argument("--popcounts", type=_text_list, default=None, metavar="S[,S...]",
                       help="popcount strategies (default: generic)")
    sweep.add_argument("--folds", type=_fold_list, default=None, metavar="F[;F...]",
                       help="foldings as --fold takes them, separated by semicolons, none for unrolled, "
                            "e.g. 'none;1:4x32,2:4x32' (default: none)")
    sweep.add_argument("--images", type=_images, default=None,
                       help="test images proven bit-exact per design, or all (default: 20)")
    sweep.add_argument("--no-energy", action="store_true", help="skip the energy estimate")
    sweep.add_argument("--workers", type=_positive, default=None,
                       help="local worker processes (default: one per core, at most one per 2 GB of free memory)")
    sweep.add_argument("--cluster", default=None, metavar="ADDRESS",
                       help="run the steps on the Dask scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786) "
                            "instead of the local pool")
    sweep.add_argument("--store", default=None,
                       help="result store (SQLite file; default: BUILD/sweep.sqlite), shared by every sweep")
    sweep.add_argument("--build", default=commands.BUILD, help="folder for all outputs")
    sweep.add_argument("--quiet", action="store_true", help="no progress messages")

    experiment = command("experiment", commands.experiment, "reproduce a paper experiment",
                         "reconstruction: error vs average bits on Gaussian data (Fromm et al., Fig. 2a); "
                         "recipes: learning rate and epochs per weight class on a validation split; "
                         "bitmix: accuracy vs weight mix and allocation; methods: the six ProxConnect++ "
                         "methods; gradient: the single against the per-plane straight-through gradient; "
                         "masks: accuracy and shared-arithmetic LUT4 of hardware-aware bit masks. "
                         "Each writes Markdown, CSV and PNG.")
    experiment.add_argument("name", help=", ".join(EXPERIMENTS))
    experiment.add_argument("--seeds", type=_positive, default=None,
                            help="seeds (or Gaussian tensors) per point; default: 5 for bitmix, methods "
                                 "and gradient, 3 for recipes, reconstruction and masks")
    experiment.add_argument("--epochs", type=_positive, default=None,
                            help="training epochs; default: each data set's recipe (recipes: its grid)")
    experiment.add_argument("--datasets", default=None,
                            help="comma-separated data sets (bitmix, methods, gradient, masks); default: "
                                 "digits,mnist1d")
    experiment.add_argument("--workers", type=_positive, default=None,
                            help="training processes at once (default: one per core, at most one per 2 GB of "
                                 "free memory)")
    experiment.add_argument("--cluster", default=None, metavar="ADDRESS",
                            help="train on the Dask scheduler at ADDRESS instead of the local pool (docs/sweeps.md)")
    experiment.add_argument("--store", default=None,
                            help="result store (SQLite) whose finished trainings are reused (default: "
                                 f"{commands.BUILD}/sweep.sqlite)")
    experiment.add_argument("--out", default=f"{commands.BUILD}/experiments", help="output folder")
    experiment.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


#: what the machine, not hbnn, gets wrong while writing: no permission, disk full, quota, read-only
_ENVIRONMENT_ERRORS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from hbnn.boards.flow import ToolFailed
    from hbnn.step_runner import StepsFailed
    from hbnn.model.errors import ConfigError

    try:
        return args.run(args)
    except ConfigError as error:           # what a user can get wrong, found before any work
        print(f"hbnn: error: {error}", file=sys.stderr)
        return 2
    except (ToolFailed, StepsFailed) as error:   # a run that failed after it started
        print(f"hbnn: error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader went away (`hbnn ... | head`): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        if error.errno not in _ENVIRONMENT_ERRORS:
            raise                              # anything else from the system is a bug in hbnn
        print(f"hbnn: error: {error.strerror}: {error.filename}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hbnn: interrupted", file=sys.stderr)
        # what an interrupted elaboration leaves behind is garbage, not news: no warnings about it
        warnings.simplefilter("ignore")
        return 130
