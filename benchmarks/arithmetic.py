"""The arithmetic of each weight layer: per-output popcounts (generic) against one shared adder graph (cse).

Run: `.venv/bin/python benchmarks/arithmetic.py LAYOUT [...] [--yosys]` on layout files written by
`hbnn export`. For every weight layer it prints, as a Markdown table, the cse graph's adds, adder
bits (sum over adds of the result's bits) and depth in the planes form (with its solve time) and
the adder bits in the matrix form (`mvu_shared.FORMS`; the unit builds the cheaper). With `--yosys` it also
synthesizes each layer's MVU alone (`synth_ecp5 -nowidelut`, no I/O, no thresholds; LUTs mapped
as `hbnn synth` maps them) with the generic popcounts and with cse, and prints LUT4, CCU2C and
LUT4 + 2 CCU2C for both, and the cost model's estimate (`hw.cost.graph_lut4`) of the cse unit
against yosys.

With `--place BOARD` each layer is also placed and routed alone with each popcount strategy
(generic, mapped, cse): a harness feeds its input bits from a shift register that an LFSR fills
and registers its output levels (or scores) into an XOR that drives an LED, so the layer is the
whole combinational path; it prints LUT4, placed sites, flip-flops and Fmax.

`--digits BOARD` instead builds the whole digits MLP at 1, 1.4 and 2 bits (Middle-Out, power-of-two
plane ratios, seed 0, as `hbnn demo`) with each popcount strategy (generic, mapped, cse) through
`hbnn compare` (bit-exact on 20 test images first), placed and routed on BOARD, and prints LUT4,
placed logic sites, flip-flops and Fmax.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from amaranth.hdl import Elaboratable



def graph_rows(layer):
    """(graph in the planes form, its solve seconds, graph in the matrix form)."""
    from hbnn.hw import mvu_shared

    started = time.perf_counter()
    planes, _ = mvu_shared.product_graph(layer, "planes")
    planes_seconds = time.perf_counter() - started
    whole, _ = mvu_shared.product_graph(layer, "matrix")
    return planes, planes_seconds, whole


def synthesize(unit, folder: Path, lut_mapper: str = "abc9") -> dict:
    """LUT4 and CCU2C of `unit` alone on ECP5 (`boards.unit_cells`)."""
    from hbnn.boards.unit_cells import synthesize_unit

    cells = synthesize_unit(unit, folder, lut_mapper=lut_mapper)
    return {"lut4": cells.lut4, "ccu2c": cells.carry, "sites": cells.lut4_equivalent}


class LayerHarness(Elaboratable):
    """LFSR -> shift register -> the layer's MVU and thresholds -> register -> XOR -> LED."""

    def __init__(self, unit, layer):
        self.unit, self.layer = unit, layer

    def elaborate(self, platform):
        from amaranth.hdl import Cat, Module, Mux, Signal

        from hbnn.hw import threshold

        m = Module()
        m.submodules.unit = unit = self.unit
        lfsr = Signal(32, init=1)       # Galois LFSR, taps 32, 22, 2, 1
        m.d.sync += lfsr.eq(Mux(lfsr[0], (lfsr >> 1) ^ 0x80200003, lfsr >> 1))
        inputs = Signal(len(unit.i))
        m.d.sync += inputs.eq(Cat(lfsr[0], inputs[:-1]))
        m.d.comb += unit.i.eq(inputs)
        result = unit.o
        if self.layer.thresholds is not None:
            m.submodules.levels = levels = threshold.Unit(
                self.layer.thresholds, acc_width=unit.acc_width, level_bits=self.layer.output_code.bits,
                maps=unit.maps)
            m.d.comb += levels.i.eq(unit.o)
            result = levels.o
        registered = Signal(len(result.as_value()))
        m.d.sync += registered.eq(result.as_value())
        m.d.comb += platform.request("led", 0).o.eq(registered.xor())
        return m


def place_layer(layer, strategy: str, board_name: str, folder: Path) -> list[str]:
    """[LUT4, placed sites, FF, Fmax] of `layer` alone in `LayerHarness` on the board."""
    from hbnn.boards import BOARDS, flow
    from hbnn.hw import mvu, mvu_shared, popcount_library
    from hbnn.hw.popcount_strategy import strategy_for

    board = BOARDS[board_name]
    library = None
    if strategy == "cse":
        make = lambda platform: LayerHarness(mvu_shared.Unrolled(layer), layer)     # noqa: E731
    else:
        library = popcount_library.Library(strategy=strategy_for(strategy, board.family))
        make = lambda platform: LayerHarness(mvu.Unrolled(layer, library=library), layer)   # noqa: E731
    plan = flow.plan_design(board, make, library=library, lut_mapper="abc" if strategy == "cse" else "abc9")
    result = flow.run_tools(plan, board, folder, say=lambda message: None, progress=False)
    return [f"{result.cells.lut4_equivalent:,}", f"{result.placement.logic.used:,}",
            f"{result.cells.flip_flops:,}", f"{result.placement.fmax_mhz:.1f}"]


def digits_rows(board_name: str, root: Path, mixes=("1", "1.4", "2"),
                strategies=("generic", "mapped", "cse")) -> list[list[str]]:
    """Table rows of the whole digits MLP per strategy and mix (module docstring)."""
    from hbnn.boards import BOARDS
    from hbnn.compare import compare

    rows = []
    for strategy in strategies:
        result = compare(dataset="digits", net="mlp", mixes=tuple(mixes), seeds=1, board=BOARDS[board_name],
                         ratio_digits=1, images=20, root=root, energy=False, popcount=strategy, say=lambda message: print(message, file=sys.stderr, flush=True))
        for row in result.rows:
            if not row.fits:
                raise SystemExit(f"{row.label} bits: {row.does_not_fit}")
            cells, placed = row.synthesis.cells, row.synthesis.placement
            rows.append([row.weights, strategy, f"{cells.lut4_equivalent:,}", f"{placed.logic.used:,}",
                         f"{cells.flip_flops:,}", f"{placed.fmax_mhz:.1f}"])
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layouts", nargs="*", help="layout files (.npz) from hbnn export")
    parser.add_argument("--digits", metavar="BOARD",
                        help="instead: the whole digits MLP with each strategy, placed and routed on BOARD")
    parser.add_argument("--strategies", nargs="+", default=["generic", "mapped", "cse"],
                        choices=["generic", "mapped", "cse"], help="strategies of --digits and --place (default: all three)")
    parser.add_argument("--build", type=Path, default=Path("build"), help="root of --digits' builds (default: build)")
    parser.add_argument("--yosys", action="store_true", help="also synthesize each layer's MVU alone (ECP5)")
    parser.add_argument("--layers", type=int, nargs="+", help="only these weight layers (0 = the first)")
    parser.add_argument("--place", metavar="BOARD",
                        help="also place and route each layer alone with --strategies on BOARD")
    parser.add_argument("--skip-generic", action="store_true",
                        help="with --yosys: synthesize only the cse MVU (the generic one of a large layer "
                             "takes minutes)")
    args = parser.parse_args(argv)
    if args.digits:
        header = ["weights", "strategy", "LUT4", "placed logic sites", "FF", "Fmax MHz"]
        rows = digits_rows(args.digits, args.build, strategies=args.strategies)
        print("\n".join("| " + " | ".join(row) + " |" for row in [header, ["---"] * len(header)] + rows))
        return 0
    if not args.layouts:
        parser.error("give layout files, or --digits BOARD")

    from hbnn.hw import cost, mvu, mvu_shared
    from hbnn.model import layout

    header = ["layout", "layer", "fan-in x outputs", "adds, planes", "adder bits, planes", "depth", "solve s",
              "adder bits, matrix form"]
    if args.yosys:
        header += ["generic LUT4 + 2 CCU2C", "cse LUT4", "cse CCU2C", "cse LUT4 + 2 CCU2C", "cse / generic",
                   "model LUT4", "model / (LUT4 + 2 CCU2C)"]
    if args.place:
        header += [f"{strategy} {column}" for strategy in args.strategies
                   for column in ("LUT4", "placed", "FF", "Fmax MHz")]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for path in args.layouts:
        network = layout.load(path)
        for index, layer in enumerate(network.weight_layers()):
            if args.layers is not None and index not in args.layers:
                continue
            planes, seconds, whole = graph_rows(layer)
            row = [Path(path).stem, str(index), f"{layer.fan_in} x {layer.out_channels}", f"{planes.adders:,}",
                   f"{planes.adder_bits():,}", str(planes.depth), f"{seconds:.1f}", f"{whole.adder_bits():,}"]
            if args.yosys:
                with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                    generic = None if args.skip_generic else synthesize(mvu.Unrolled(layer), Path(a))
                    unit = mvu_shared.Unrolled(layer)
                    shared = synthesize(unit, Path(b), "abc")
                    model = cost.graph_lut4(unit.graph)
                row += ["-" if generic is None else f"{generic['sites']:,}", f"{shared['lut4']:,}",
                        f"{shared['ccu2c']:,}", f"{shared['sites']:,}",
                        "-" if generic is None else f"{shared['sites'] / generic['sites']:.2f}",
                        f"{model:,}", f"{model / max(1, shared['sites']):.3f}"]
            if args.place:
                for strategy in args.strategies:
                    folder = args.build / "bench" / "arithmetic" / f"{Path(path).stem}-l{index}-{args.place}-{strategy}"
                    row += place_layer(layer, strategy, args.place, folder)
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
