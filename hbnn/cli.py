"""The `hbnn` command: thin subcommands over library functions (see `model.recipes`).

Every bad value ends in one line, `hbnn: error: ...`, naming the value and the valid choices, and
exit status 2; outputs go under build/ unless told otherwise.
"""

import argparse
import os
import sys
from pathlib import Path

from . import __version__


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) so every error reads the same."""

    def error(self, message):
        self.exit(2, f"hbnn: error: {message}\n")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" only where there is a default worth showing."""

    def _get_help_string(self, action):
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def _formatter(prog):
    return _Help(prog, max_help_position=32)


def _add_net_options(parser):
    from hbnn.model.activations import MAX_ACT_BITS
    from hbnn.model.allocation import ALLOCATIONS
    from hbnn.model.bitmix import NAMED_MIXES
    from hbnn.model.data import DATASETS
    from hbnn.model.nets import NETS
    from hbnn.model.proxconnect import METHODS
    from hbnn.model.residual import SCALES

    nets = "; ".join(f"{d}: " + "|".join(n for ds, n in NETS if ds == d) for d in DATASETS)
    parser.add_argument("--dataset", default="digits", help=f"bundled data set ({', '.join(DATASETS)})")
    parser.add_argument("--net", default=None,
                        help=f"network ({nets}); default: mlp for digits, cnn1d for mnist1d")
    parser.add_argument("--weights", default="1.4",
                        help="weight bit mix: percentages 1/2/3-bit like 70/20/10, a named average ("
                             + ", ".join(NAMED_MIXES) + "), or float")
    parser.add_argument("--act-bits", type=int, default=1,
                        help=f"hidden activation bits 1..{MAX_ACT_BITS}, 0 = float ReLU")
    parser.add_argument("--pixel-bits", type=int, default=None,
                        help="unsigned input precision of the first layer; default: the net's (4)")
    parser.add_argument("--method", default="bc", help=f"ProxConnect++ method ({', '.join(METHODS)})")
    parser.add_argument("--allocation", default="middle-out",
                        help=f"which weights get more bits ({', '.join(ALLOCATIONS)})")
    parser.add_argument("--scale", default="tensor", help=f"bit-plane scale per ({', '.join(SCALES)})")
    parser.add_argument("--ratio-bits", type=int, default=6,
                        help="fractional bits of the bit-plane and activation scale ratios (0..12); "
                             "training uses the rounded ratios, so export is exact")
    parser.add_argument("--ratio-digits", type=int, default=0,
                        help="at most this many signed binary digits per weight-plane ratio (1: powers "
                             "of two, cheapest hardware); 0 = any")
    parser.add_argument("--width", type=int, default=None,
                        help="hidden width (MLP) or base channels (CNN); default: the net's")


def _net_config(args):
    from hbnn.model.recipes import net_config

    return net_config(args.dataset, args.net, weights=args.weights, act_bits=args.act_bits,
                      pixel_bits=args.pixel_bits, method=args.method, allocation=args.allocation,
                      scale=args.scale, width=args.width, ratio_bits=args.ratio_bits,
                      ratio_digits=args.ratio_digits)


def _config_error(message: str):
    """A ConfigError without importing model at module load (keeps `hbnn --help` fast)."""
    from hbnn.model.errors import ConfigError

    return ConfigError(message)


def _cmd_train(args) -> int:
    from hbnn.model.recipes import train_checkpoint

    config = _net_config(args)
    result, path = train_checkpoint(config, epochs=args.epochs, seed=args.seed, output=args.output,
                                    progress=not args.quiet)
    print(f"{config.dataset}/{config.net} weights {config.weights}, activations "
          f"{config.act_bits or 'float'} bit, {config.method.name}, {config.allocation}: "
          f"test accuracy {100 * result.test_accuracy:.2f} % "
          f"(train {100 * result.train_accuracy:.2f} %, {result.seconds:.1f} s)")
    print(f"checkpoint: {path}")
    return 0


def _cmd_evaluate(args) -> int:
    from hbnn.model.recipes import evaluate_checkpoint

    config, acc = evaluate_checkpoint(args.checkpoint)
    print(f"{config.dataset}/{config.net} weights {config.weights}: test accuracy {100 * acc:.2f} %")
    return 0


def _cmd_export(args) -> int:
    from hbnn.model.recipes import export_checkpoint

    path, network, agreement = export_checkpoint(args.checkpoint, args.output)
    print(agreement.summary())
    print(f"layout: {path}")
    return 0


def _cmd_inspect(args) -> int:
    from hbnn.model import layout
    from hbnn.model.summary import format_summary

    print(format_summary(layout.load(args.layout)))
    return 0


def _cmd_generate(args) -> int:
    from hbnn.hw.generate import generate
    from hbnn.hw.network import UnsupportedLayout
    from hbnn.model import layout

    network = layout.load(args.layout)
    if args.pipeline < 0:
        raise _config_error(f"pipeline depth must be a non-negative integer, not {args.pipeline}")
    output = args.output or f"build/verilog/{Path(args.layout).stem}.v"
    try:
        result = generate(network, output, pipeline=args.pipeline, popcount=_strategy(args))
    except UnsupportedLayout as error:
        raise _config_error(str(error)) from None
    info = result.info
    print(f"wrote {result.verilog} and {result.description} in {result.seconds:.1f} s: "
          f"latency {info['latency_cycles']} cycles, one image every "
          f"{info['initiation_interval_cycles']} cycles")
    return 0


def _cmd_simulate(args) -> int:
    from hbnn.sim.runner import simulate_layout

    try:
        result = simulate_layout(args.layout, images=args.images, simulator=args.sim, waves=args.waves,
                                 pipeline=args.pipeline, seed=args.seed, build_root=args.build,
                                 popcount=_strategy(args),
                                 say=lambda message: print(message, file=sys.stderr, flush=True))
    except ValueError as error:
        raise _config_error(str(error)) from None
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


def _cmd_synth(args) -> int:
    from hbnn import boards
    from hbnn.boards.flow import ToolFailed, synthesize
    from hbnn.hw.network import UnsupportedLayout
    from hbnn.model import layout

    board = boards.get(args.board)
    network = layout.load(args.layout)
    if args.pipeline < 0:
        raise _config_error(f"pipeline depth must be a non-negative integer, not {args.pipeline}")
    built = "" if args.popcount == "generic" else f"-{args.popcount}"
    build_dir = Path(args.build) / "synth" / f"{Path(args.layout).stem}-{board.name}{built}"
    say = lambda message: print(message, file=sys.stderr, flush=True)
    try:
        report = synthesize(network, board, build_dir, bitstream=args.bitstream, pipeline=args.pipeline,
                            popcount=args.popcount, say=say, progress=not args.quiet)
    except UnsupportedLayout as error:
        raise _config_error(str(error)) from None
    except ToolFailed as error:
        print(f"hbnn: error: {error}", file=sys.stderr)
        return 1
    print(format_synthesis(report, board))
    print(f"reports: {build_dir / 'report.json'}" + (f", bitstream: {build_dir / report.bitstream}"
                                                      if report.bitstream else ""))
    return 0


def _cmd_compare(args) -> int:
    from hbnn import boards
    from hbnn.boards.compare import compare, format_table
    from hbnn.boards.flow import ToolFailed

    board = boards.get(args.board)
    mixes = tuple(mix.strip() for mix in args.mixes.split(",") if mix.strip())
    if args.images < 1:
        raise _config_error(f"images must be a positive integer, not {args.images}")
    say = lambda message: print(message, file=sys.stderr, flush=True)
    try:
        result = compare(dataset=args.dataset, net=args.net, mixes=mixes, board=board, width=args.width,
                         ratio_digits=args.ratio_digits,
                         seed=args.seed,
                         images=args.images, simulator=args.sim, root=args.build, energy=not args.no_energy,
                         popcount=args.popcount, pipeline=args.pipeline,
                         progress=not args.quiet, say=say)
    except ToolFailed as error:
        print(f"hbnn: error: {error}", file=sys.stderr)
        return 1
    print(format_table(result.rows, board))
    ratio = result.lut_ratio()
    if ratio is not None:
        print(f"LUT4(1.4 bits) / LUT4(2 bits) = {ratio:.3f} (the Middle-Out paper assumes 1.4/2 = 0.70)")
    print("wrote " + ", ".join(result.outputs.values()))
    return 0


def _strategy(args):
    """The popcount strategy of `generate`/`simulate`: --popcount, with --family for `mapped`."""
    from hbnn.hw.popcount import Strategy

    if args.popcount == "mapped" and args.family is None:
        raise _config_error("--popcount mapped needs --family ice40 or ecp5 (the cells to instantiate)")
    return Strategy(args.popcount, args.family if args.popcount == "mapped" else None)


def _add_popcount_option(parser, *, family: bool) -> None:
    parser.add_argument("--popcount", choices=("generic", "mapped"), default="generic",
                        help="popcount strategy: generic adder trees for yosys to map, or trees "
                             "placed from the FPGA's LUT4 and carry cells")
    if family:
        parser.add_argument("--family", choices=("ice40", "ecp5"), default=None,
                            help="FPGA family whose cells a mapped popcount instantiates")


def format_synthesis(report, board) -> str:
    """The synthesis report as a few aligned lines (whole design, then each layer)."""
    cells, placed = report.cells, report.placement
    logic = "logic cells" if report.family == "ice40" else "LUT4 sites"
    # iCE40 flip-flops live inside the logic cells, so only ECP5 has a separate FF count
    placed_flip_flops = "" if report.family == "ice40" else f"FF {placed.flip_flops.used:,}, "
    def sites(counts) -> str:
        """An ECP5 CCU2C holds two LUT4s: their total too (mapped popcounts are mostly CCU2Cs)."""
        return f" ({counts.lut4_equivalent:,} LUT4 sites)" if report.family == "ecp5" else ""

    lines = [f"{board.title}",
             f"  synthesis:       LUT4 {cells.lut4:,}, carry {cells.carry:,}{sites(cells)}, FF {cells.flip_flops:,}, "
             f"BRAM {cells.bram}, DSP {cells.dsp}",
             f"  place and route: {logic} {placed.logic.used:,}/{placed.logic.available:,} "
             f"({100 * placed.logic.fraction:.1f} %), {placed_flip_flops}"
             f"BRAM {placed.bram.used}/{placed.bram.available}, DSP {placed.dsp.used}/{placed.dsp.available}, "
             f"IO {placed.io.used}/{placed.io.available}",
             f"  timing:          Fmax {placed.fmax_mhz:.1f} MHz, one image every "
             f"{report.initiation_interval} cycle(s): {report.images_per_second / 1e6:.2f} M images/s "
             f"(core; the UART bridge is slower)"]
    for layer in report.layers:
        lines.append(f"  layer {layer.index} ({layer.kind}): LUT4 {layer.cells.lut4:,}, carry "
                     f"{layer.cells.carry:,}{sites(layer.cells)}, FF {layer.cells.flip_flops:,}")
    lines.append("  time: " + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in report.seconds.items()))
    return "\n".join(lines)


def _cmd_demo(args) -> int:
    """The main job: `hbnn compare` on the embedded defaults."""
    return _cmd_compare(argparse.Namespace(
        dataset="digits", net="mlp", mixes=",".join(DEMO_MIXES), board=DEMO_BOARD, width=None,
        ratio_digits=DEMO_RATIO_DIGITS,
        images=args.images, sim=args.sim, seed=args.seed, no_energy=False, build=args.build,
        quiet=args.quiet, popcount=DEMO_POPCOUNT, pipeline=0))


DEMO_MIXES = ("1", "1.2", "1.4", "2", "3")
DEMO_BOARD = "ulx3s-85f"
DEMO_RATIO_DIGITS = 1    # power-of-two plane ratios: what makes heterogeneous mixes cheaper in LUTs
DEMO_POPCOUNT = "generic"


def _cmd_experiment(args) -> int:
    from hbnn.model import experiments

    options = {"progress": not args.quiet, "seeds": args.seeds}
    if args.name != "reconstruction":
        options["epochs"] = args.epochs
        if args.datasets:
            options["datasets"] = tuple(args.datasets.split(","))
    outputs = experiments.run(args.name, args.out, **options)
    print(outputs["markdown"].read_text())
    print(f"wrote {outputs['markdown']}, {outputs['csv']}, {outputs['plot']}")
    return 0


def _add_simulator_option(parser) -> None:
    parser.add_argument("--sim", default=os.environ.get("SIM", "icarus"),
                        help="simulator: icarus or verilator (default from $SIM, else icarus)")


def build_parser() -> argparse.ArgumentParser:
    from hbnn import boards  # plain data; no amaranth until a board is built
    parser = _Parser(prog="hbnn", formatter_class=_formatter,
                     description="Heterogeneous-bitwidth binarized neural networks: train in PyTorch, "
                                 "generate bit-exact FPGA hardware.")
    parser.add_argument("--version", action="version", version=f"hbnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=_Parser)

    demo = commands.add_parser("demo", formatter_class=_formatter,
                               help="the main job on the embedded defaults",
                               description="The bit-mix comparison on the embedded defaults: the digits "
                                           "MLP (64-32-10) with 1, 1.2, 1.4, 2 and 3-bit Middle-Out weights "
                                           "is trained (or reused), exported, checked bit-exact in "
                                           "simulation, synthesized, placed and routed for the ULX3S "
                                           "ECP5-85F, and its LUTs, Fmax and energy are compared "
                                           "(= hbnn compare --ratio-digits 1: power-of-two plane "
                                           "ratios, the hardware-friendly setting).")
    demo.add_argument("--seed", type=int, default=0, help="training seed")
    demo.add_argument("--images", type=int, default=20,
                      help="test images per mix run through the simulated Verilog")
    _add_simulator_option(demo)
    demo.add_argument("--build", default="build", help="folder for all outputs")
    demo.add_argument("--quiet", action="store_true", help="no progress messages")
    demo.set_defaults(run=_cmd_demo)

    train = commands.add_parser("train", formatter_class=_formatter, help="train a net, save a checkpoint",
                                description="Train a heterogeneous-bitwidth binarized net on a bundled "
                                            "data set and save a checkpoint.")
    _add_net_options(train)
    train.add_argument("--epochs", type=int, default=None,
                       help="training epochs; default: 60 for digits, 30 for mnist1d")
    train.add_argument("--seed", type=int, default=0, help="random seed (weights, batches, random masks)")
    train.add_argument("-o", "--output", default=None,
                       help="checkpoint path; default: build/checkpoints/<configuration>.pt")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser("evaluate", formatter_class=_formatter,
                                   help="test accuracy of a checkpoint")
    evaluate.add_argument("checkpoint", help="a checkpoint written by `hbnn train`")
    evaluate.set_defaults(run=_cmd_evaluate)

    export = commands.add_parser("export", formatter_class=_formatter,
                                 help="freeze a checkpoint into an integer layout file",
                                 description="Freeze masks and signs, fold BatchNorm and the next "
                                             "activation into integer thresholds, write a layout (.npz), "
                                             "and compare the integer golden model with the float model "
                                             "on the test set.")
    export.add_argument("checkpoint", help="a checkpoint written by `hbnn train`")
    export.add_argument("-o", "--output", default=None,
                        help="layout path; default: build/layouts/<checkpoint name>.npz")
    export.set_defaults(run=_cmd_export)

    generate = commands.add_parser("generate", formatter_class=_formatter,
                                   help="Verilog for a layout, with a JSON of ports, latency and throughput",
                                   description="Elaborate a layout into one streaming Amaranth design and "
                                               "write Verilog (amaranth.back.verilog) and a JSON description.")
    generate.add_argument("layout", help="a layout written by `hbnn export`")
    generate.add_argument("-o", "--output", default=None,
                          help="Verilog path; default: build/verilog/<layout name>.v")
    generate.add_argument("--pipeline", type=int, default=0,
                          help="register levels inside every popcount tree (raises Fmax and latency)")
    _add_popcount_option(generate, family=True)
    generate.set_defaults(run=_cmd_generate)

    simulate = commands.add_parser("simulate", formatter_class=_formatter,
                                   help="run the generated Verilog in a simulator against the golden model",
                                   description="Generate Verilog for a layout, build it with cocotb, stream "
                                               "test images through it with random stalls, and compare "
                                               "every class and score with the golden model. Exits 1 on "
                                               "any mismatch.")
    simulate.add_argument("layout", help="a layout written by `hbnn export`")
    simulate.add_argument("--images", type=int, default=100, help="test images to run")
    _add_simulator_option(simulate)
    simulate.add_argument("--waves", action="store_true", help="write waveforms (FST/VCD) in the build folder")
    simulate.add_argument("--pipeline", type=int, default=0, help="register levels inside every popcount")
    simulate.add_argument("--seed", type=int, default=0, help="seed of the random stalls")
    simulate.add_argument("--build", default="build", help="folder for the generated files and builds")
    _add_popcount_option(simulate, family=True)
    simulate.set_defaults(run=_cmd_simulate)

    synth = commands.add_parser("synth", formatter_class=_formatter,
                                help="synthesize, place and route a layout for a board (yosys, nextpnr)",
                                description="Put the network behind a UART bridge, synthesize it with "
                                            "yosys, place and route it with nextpnr (the YoWASP builds "
                                            "from PyPI) and report LUT4, carry, FF, BRAM, DSP, IO, "
                                            "Fmax and LUTs per layer. Outputs go to "
                                            "BUILD/synth/<layout>-<board>/ only when the flow succeeds.")
    synth.add_argument("layout", help="a layout written by `hbnn export`")
    synth.add_argument("--board", default=boards.DEFAULT_BOARD, help=f"target: {', '.join(boards.BOARDS)}")
    synth.add_argument("--bitstream", action="store_true", help="also pack the bitstream (icepack/ecppack)")
    synth.add_argument("--pipeline", type=int, default=0, help="register levels inside every popcount")
    synth.add_argument("--build", default="build", help="folder for the build")
    synth.add_argument("--quiet", action="store_true", help="no progress messages")
    _add_popcount_option(synth, family=False)
    synth.set_defaults(run=_cmd_synth)

    compare = commands.add_parser("compare", formatter_class=_formatter,
                                  help="one net at several bit mixes: accuracy, LUTs, Fmax, energy",
                                  description="For each weight bit mix: train (or reuse the checkpoint), "
                                              "export, generate Verilog, check test images bit-exact in "
                                              "simulation, synthesize, place and route for the board, and "
                                              "estimate energy; print one table and write CSV, JSON and a "
                                              "plot to BUILD/compare/<dataset>-<net>-<board>/.")
    compare.add_argument("--dataset", default="digits", help="bundled data set (digits, mnist1d)")
    compare.add_argument("--net", default="mlp", help="network of the data set")
    compare.add_argument("--mixes", default=",".join(DEMO_MIXES),
                         help="comma-separated weight bit mixes (named averages or 70/20/10 percentages)")
    compare.add_argument("--board", default=boards.DEFAULT_BOARD, help=f"target: {', '.join(boards.BOARDS)}")
    compare.add_argument("--width", type=int, default=None, help="hidden width / base channels; default: the net's")
    compare.add_argument("--ratio-digits", type=int, default=0,
                         help="signed binary digits per weight-plane ratio (1: powers of two); 0 = any")
    compare.add_argument("--images", type=int, default=20, help="test images checked bit-exact per mix")
    _add_simulator_option(compare)
    compare.add_argument("--seed", type=int, default=0, help="training seed")
    compare.add_argument("--no-energy", action="store_true", help="skip the energy estimate")
    compare.add_argument("--build", default="build", help="folder for all outputs")
    compare.add_argument("--quiet", action="store_true", help="no progress messages")
    compare.add_argument("--pipeline", type=int, default=0, help="register levels inside every popcount")
    _add_popcount_option(compare, family=False)
    compare.set_defaults(run=_cmd_compare)

    inspect = commands.add_parser("inspect", formatter_class=_formatter, help="summarize a layout file")
    inspect.add_argument("layout", help="a layout written by `hbnn export`")
    inspect.set_defaults(run=_cmd_inspect)

    experiment = commands.add_parser("experiment", formatter_class=_formatter,
                                     help="reproduce a paper experiment",
                                     description="reconstruction: error vs average bits on Gaussian data; "
                                                 "bitmix: accuracy vs weight mix and allocation; "
                                                 "methods: the six ProxConnect++ methods.")
    experiment.add_argument("name", help="reconstruction, bitmix or methods")
    experiment.add_argument("--seeds", type=int, default=3, help="seeds (or Gaussian tensors) per point")
    experiment.add_argument("--epochs", type=int, default=None,
                            help="training epochs; default: 60 for digits, 30 for mnist1d")
    experiment.add_argument("--datasets", default=None,
                            help="comma-separated data sets; default: digits,mnist1d")
    experiment.add_argument("--out", default="build/experiments", help="output folder")
    experiment.add_argument("--quiet", action="store_true", help="no progress bars")
    experiment.set_defaults(run=_cmd_experiment)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from hbnn.model.errors import ConfigError
    from hbnn.model.layout import LayoutError

    try:
        return args.run(args)
    except (ConfigError, LayoutError) as error:
        print(f"hbnn: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hbnn: interrupted", file=sys.stderr)
        return 130
