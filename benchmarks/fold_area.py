"""Area of one folded weight layer (`hw.folded.Layer`) per bit mix and lanes: LUT4, FF, block RAM, cycles.

Run: `.venv/bin/python benchmarks/fold_area.py [--layer 1] [--pe 4] [--lanes 16 24 32 48]
[--mixes 1.4,2] [--board ulx3s-85f]`. Takes seed 0 of the MNIST-1D CNN at 64 channels (trained
or reused as `benchmarks/fold_cycles.py` does), folds weight layer `--layer` (a convolution read
as the dense layer of one window: the unit is the same) and synthesizes the unit alone with the
board's yosys flow (`boards.unit_cells`, synth's abc9 LUT mapping, the board's platform so the
memories map as in a build). Prints one Markdown table: LUT4 (LUT4 cells + 2 per CCU2C carry
cell; the LUT RAM of the small partial-sum memories is not in it, as no place and route runs),
FF, block RAMs, cycles per input vector, and LUT4 x cycles (area-time per vector). Takes
about 10-30 s per design on the 2-core machine.
"""

import argparse
import tempfile
from dataclasses import replace

from fold_cycles import layout_for

from hbnn.boards import get
from hbnn.boards.unit_cells import synthesize_unit
from hbnn.hw.fold_schedule import Folding
from hbnn.hw.folded import Layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", type=int, default=1, help="weight layer index (default: the second conv)")
    parser.add_argument("--pe", type=int, default=4)
    parser.add_argument("--lanes", type=int, nargs="+", default=[16, 24, 32, 48])
    parser.add_argument("--mixes", default="1.4,2")
    parser.add_argument("--board", default="ulx3s-85f")
    parser.add_argument("--build", default="build", help="folder of checkpoints and layouts")
    args = parser.parse_args()
    board = get(args.board)
    from pathlib import Path
    print(f"MNIST-1D CNN, width 64, seed 0, weight layer {args.layer}, PE {args.pe}, {board.title}\n")
    print("| weights | lanes | split (E, S) | LUT4 | FF | block RAM | cycles per vector | LUT4 x cycles |")
    print("|---|---|---|---|---|---|---|---|")
    for mix in (m.strip() for m in args.mixes.split(",") if m.strip()):
        network = layout_for("mnist1d", "cnn1d", mix, 64, 0, Path(args.build))
        layer = network.weight_layers()[args.layer]
        layer = replace(layer, kind="dense", in_shape=(layer.fan_in,), kernel=1, stride=1, padding=0)
        for lanes in args.lanes:
            unit = Layer(layer, folding=Folding(pe=args.pe, lanes=lanes))
            with tempfile.TemporaryDirectory() as folder:
                cells = synthesize_unit(unit, folder, family=board.family, synth_options=board.synth_options,
                                        platform=board.make_platform())
            s = unit.schedule
            print(f"| {mix} | {lanes} | {s.elements}, {s.sparse_lanes} | {cells.lut4_equivalent:,} | "
                  f"{cells.flip_flops:,} | {cells.bram} | {unit.initiation_interval} | "
                  f"{cells.lut4_equivalent * unit.initiation_interval:,} |", flush=True)


if __name__ == "__main__":
    main()
