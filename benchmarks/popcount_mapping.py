"""Popcount area and speed after place and route: the `generic` and `mapped` strategies.

Run: `.venv/bin/python benchmarks/popcount_mapping.py [--widths 64 256 1024] [--families ice40 ecp5]`
(about 15 minutes on 2 cores for the default 24 builds; `--jobs` runs builds side by side).

Each build is one popcount of N bits on a board (iCE40: icebreaker's UP5K; ECP5: ULX3S 85F), fed by
a shift register that a 32-bit LFSR fills, its output registered and XOR-reduced to an LED, so
inputs and output are registers and the popcount is the whole combinational path. It is synthesized
with hbnn's flow (`boards.flow.plan_design`: the popcount kept as its own module) and placed and
routed by nextpnr, which writes the routed netlist. Counted there, for the popcount's cells only
(names under the popcount instance, plus any carry feed cells nextpnr inserted on its nets):

- LUT4: LUTs computing logic (iCE40 logic cells with a LUT that is not a plain carry feed-through;
  ECP5 LUT4s and CCU2C halves that add), per input bit;
- logic cells: everything the popcount occupies (iCE40 logic cells incl. carry feed-in/feed-out
  and register-only cells; ECP5 LUT4 sites = LUT4 + 2 per CCU2C), per input bit;
- flip-flops: the popcount's pipeline registers (inside the logic cells on iCE40);
- Fmax: nextpnr's figure for the design (the popcount is its critical path).

`--pipeline P` adds P register levels inside each popcount (`hw.adders.spread` over its levels).
Results go to build/bench/popcount/<N>-<family>-<strategy>-p<P>/ and a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from amaranth.hdl import Cat, Elaboratable, Module, Mux, Signal

from hbnn.boards import BOARDS, flow, reports
from hbnn.hw import popcount_library
from hbnn.hw.adders import spread, tree_depth
from hbnn.hw.popcount_strategy import strategy_for

BOARD_OF = {"ice40": "icebreaker", "ecp5": "ulx3s-85f"}
INSTANCE = "pop"


class Harness(Elaboratable):
    """LFSR -> N-bit shift register -> popcount -> register -> XOR -> LED (see module docstring)."""

    def __init__(self, width: int, library, registered_levels):
        self.width, self.library, self.registered_levels = width, library, registered_levels

    def elaborate(self, platform):
        m = Module()
        lfsr = Signal(32, init=1)       # Galois LFSR, taps 32, 22, 2, 1
        m.d.sync += lfsr.eq(Mux(lfsr[0], (lfsr >> 1) ^ 0x80200003, lfsr >> 1))
        lanes = Signal(self.width)
        m.d.sync += lanes.eq(Cat(lfsr[0], lanes[:-1]))
        count = self.library.instantiate(m, lanes, registered_levels=self.registered_levels, name=INSTANCE)
        result = Signal.like(count)
        m.d.sync += result.eq(count)
        m.d.comb += platform.request("led", 0).o.eq(result.xor())
        return m


def build(width: int, family: str, strategy: str, pipeline: int, root: Path, say=print) -> dict:
    """Place and route one popcount; returns its row of the table."""
    board = BOARDS[BOARD_OF[family]]
    library = popcount_library.Library(strategy=strategy_for(strategy, family))
    levels = spread(pipeline, tree_depth(width))
    plan = flow.plan_design(board, lambda platform: Harness(width, library, levels), library=library,
                            nextpnr_options="--write routed.json")
    folder = root / f"{width}-{family}-{strategy}-p{pipeline}"
    result = flow.run_tools(plan, board, folder, say=say, progress=False)
    counts = count_cells(folder / "routed.json", family)
    return {"width": width, "family": family, "strategy": strategy, "pipeline": pipeline,
            "lut4": counts["lut4"], "cells": counts["cells"], "flip_flops": counts["flip_flops"],
            "fmax_mhz": round(result.placement.fmax_mhz, 1),
            "lut4_per_bit": round(counts["lut4"] / width, 3), "cells_per_bit": round(counts["cells"] / width, 3),
            "folder": str(folder)}


def _depends_on_two(init: int, pins: dict) -> bool:
    """Whether a LUT4 (INIT bit {I3,I2,I1,I0}, or {D,C,B,A}) computes something: its output
    changes with at least two of its connected inputs (a feed-through or an unused LUT does not)."""
    variable = [k for k, bit in enumerate(pins) if bit not in ("0", "1", "x", None)]
    fixed = sum(1 << k for k, bit in enumerate(pins) if bit == "1")
    def value(index): return init >> index & 1
    count = 0
    for k in variable:
        others = [j for j in variable if j != k]
        for combo in range(1 << len(others)):
            index = fixed | sum(((combo >> n) & 1) << j for n, j in enumerate(others))
            if value(index) != value(index | 1 << k):
                count += 1
                break
    return count >= 2


def count_cells(routed: Path, family: str) -> dict:
    """LUT4 computing logic and logic cells of the popcount instance in nextpnr's routed netlist
    (module docstring); carry cells nextpnr inserted count when they touch the popcount's nets."""
    top = json.loads(Path(routed).read_text())["modules"]["top"]
    names = {}
    for name, net in top["netnames"].items():
        for bit in net["bits"]:
            names.setdefault(bit, []).append(name)
    def first(bits): return bits[0] if bits else None
    def ours(name, cell):
        if name.startswith(INSTANCE + "."):
            return True
        return name.startswith("$nextpnr") and any(
            other.startswith(INSTANCE + ".") for bits in cell["connections"].values() for bit in bits
            for other in names.get(bit, []))
    lut4 = cells = flip_flops = 0
    for name, cell in top["cells"].items():
        if not ours(name, cell):
            continue
        parameters, pins = cell["parameters"], cell["connections"]
        if family == "ice40" and cell["type"] == "ICESTORM_LC":
            cells += 1
            flip_flops += parameters.get("DFF_ENABLE", "0") == "1"
            lut4 += _depends_on_two(int(parameters.get("LUT_INIT", "0"), 2),
                                    [first(pins.get(f"I{k}", [])) for k in range(4)])
        elif family == "ecp5" and cell["type"] == "TRELLIS_FF":
            flip_flops += 1
        elif family == "ecp5" and cell["type"] == "TRELLIS_COMB":
            cells += 1
            init = int(parameters.get("INITVAL", "0"), 2)
            if parameters.get("MODE") == "CCU2":
                lut4 += (init >> 8) != 0           # a Sum half; a Pass half has P = 0
            else:
                lut4 += _depends_on_two(init, [first(pins.get(p, [])) for p in "ABCD"])
    return {"lut4": lut4, "cells": cells, "flip_flops": flip_flops}


COLUMNS = ("width", "family", "strategy", "pipeline", "lut4", "lut4_per_bit", "cells", "cells_per_bit",
           "flip_flops", "fmax_mhz")
DIGITS_COLUMNS = ("weights", "strategy", "pipeline", "lanes", "popcount_cells", "popcount_cells_per_bit", "design_lut4",
                  "placed_sites", "fmax_mhz", "accuracy")


def popcount_usage(stat: dict, family: str, top: str) -> tuple[int, int]:
    """(input bits, LUT4-equivalent cells) of all popcount module instances under `top`, from
    yosys statistics with the popcount modules kept as hierarchy."""
    modules = {name.removeprefix("\\"): entry for name, entry in stat["modules"].items()}
    lanes = cells = 0

    def visit(module: str, multiplicity: int):
        nonlocal lanes, cells
        for cell_type, count in modules[module].get("num_cells_by_type", {}).items():
            cell_type = cell_type.removeprefix("\\")
            if cell_type.startswith("hbnn_popcount."):
                shape = re.match(r"hbnn_popcount\.w(\d+)(?:x(\d+))?", cell_type)
                lanes += multiplicity * count * int(shape.group(1)) * int(shape.group(2) or 1)
                cells += multiplicity * count * reports.cell_counts(
                    family, reports.flat_cells(stat, cell_type)).lut4_equivalent
            elif cell_type in modules:
                visit(cell_type, multiplicity * count)
    visit(top.removeprefix("\\"), 1)
    return lanes, cells


def digits_rows(board_name: str, mixes, root: Path, *, pipeline: int = 0) -> list[dict]:
    """The digits MLP at `mixes` (power-of-two plane ratios, as `hbnn demo`) built with each
    strategy through `hbnn compare` (which also checks the Verilog bit-exact on 20 test images)."""
    from hbnn.compare import compare

    board = BOARDS[board_name]
    rows = []
    for strategy in ("generic", "mapped"):
        result = compare(dataset="digits", net="mlp", mixes=tuple(mixes), seeds=1, board=board, ratio_digits=1,
                         images=20, root=root, energy=False, popcount=strategy, pipeline=pipeline,
                         say=lambda message: print(message, file=sys.stderr, flush=True))
        for row in result.rows:
            if not row.fits:
                raise SystemExit(f"{row.label} bits: {row.does_not_fit}")
            stat = reports.read_stat(Path(row.build) / "top.stat.json")
            lanes, cells = popcount_usage(stat, board.family, reports.module_named(stat, "top"))
            placed = row.synthesis.placement
            rows.append({"weights": row.weights, "strategy": strategy, "pipeline": pipeline, "lanes": lanes,
                         "popcount_cells": cells,
                         "popcount_cells_per_bit": round(cells / lanes, 3),
                         "design_lut4": row.synthesis.cells.lut4_equivalent, "placed_sites": placed.logic.used,
                         "fmax_mhz": round(placed.fmax_mhz, 1), "accuracy": round(100 * row.accuracy, 2)})
    return rows


def table(rows: list[dict], columns=COLUMNS) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[column]) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--families", nargs="+", default=["ice40", "ecp5"], choices=sorted(BOARD_OF))
    parser.add_argument("--strategies", nargs="+", default=["generic", "mapped"], choices=["generic", "mapped"])
    parser.add_argument("--pipelines", type=int, nargs="+", default=[0, 2],
                        help="register levels per popcount; -1 = one after every adder level (default: 0 2)")
    parser.add_argument("--jobs", type=int, default=2, help="builds run side by side (default: 2)")
    parser.add_argument("--build", type=Path, default=Path("build/bench/popcount"))
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--digits", action="store_true",
                        help="instead: the digits MLP at 1, 1.4 and 2 bits with each strategy, through "
                             "`hbnn compare` on --board (trains missing checkpoints first)")
    parser.add_argument("--board", default="ulx3s-85f", help="board of --digits (default: ulx3s-85f)")
    args = parser.parse_args(argv)
    if args.digits:
        rows = [row for pipeline in args.pipelines if pipeline >= 0
                for row in digits_rows(args.board, ("1", "1.4", "2"), Path("build"), pipeline=pipeline)]
        print(table(rows, DIGITS_COLUMNS))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    jobs = [(w, f, s, tree_depth(w) if p < 0 else p) for w in args.widths for f in args.families
            for s in args.strategies for p in args.pipelines]
    rows = []
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(build, *job, args.build, say=lambda message: None) for job in jobs]
        for index, (job, future) in enumerate(zip(jobs, futures)):
            try:
                rows.append(future.result())
            except (flow.ToolFailed, flow.DesignTooBig) as error:   # e.g. does not fit the device
                rows.append(dict(zip(COLUMNS[:4], job)) | {column: "-" for column in COLUMNS[4:]})
                print(f"[{index + 1}/{len(jobs)}] {job}: {error}", flush=True)
                continue
            print(f"[{index + 1}/{len(jobs)}] " + ", ".join(f"{k}={rows[-1][k]}" for k in COLUMNS), flush=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
