"""The folded MNIST-1D CNN per bit mix: bit-exact on the whole test set, placed and routed.

Run: `.venv/bin/python benchmarks/fold_acceptance.py [--mixes 1,1.4,2] [--fold 1:4x32,2:4x32,3:2x32]
[--board ulx3s-85f] [--sim verilator] [--images all] [--build build]`. For each mix it takes seed 0
of the MNIST-1D CNN at 64 channels (trained or reused as `benchmarks/fold_cycles.py` does; power-of-
two plane ratios), folds the weight layers `--fold` names (the first convolution reads pixels and
stays unrolled), streams the test images through the generated Verilog (`hbnn simulate`: random
idle and backpressure, every class and score against the golden model), then synthesizes, places
and routes it on `--board` (`hbnn synth`). Prints one Markdown table: mismatches, accuracy, LUT4,
FF, block RAM, Fmax, cycles per image (the design's initiation interval) and images/s.
"""

import argparse
import sys
import time
from pathlib import Path

from fold_cycles import layout_for

from hbnn.boards import get
from hbnn.boards.flow import DesignTooBig, synthesize
from hbnn.hw.fold_schedule import fold_suffix, parse_fold
from hbnn.model.layout import save
from hbnn.sim.runner import simulate_layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", default="1,1.4,2")
    parser.add_argument("--fold", default="1:4x32,2:4x32,3:2x32", help="LAYER:PExLANES,... (hbnn --fold)")
    parser.add_argument("--board", default="ulx3s-85f")
    parser.add_argument("--sim", default="verilator")
    parser.add_argument("--images", default="all", help="test images to simulate, or all")
    parser.add_argument("--build", default="build")
    parser.add_argument("--no-simulation", action="store_true",
                        help="place and route only (the Verilog does not depend on the board)")
    args = parser.parse_args()
    fold, board, root = parse_fold(args.fold), get(args.board), Path(args.build)
    images = 1_000_000 if args.images == "all" else int(args.images)
    say = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    rows = []
    for mix in (m.strip() for m in args.mixes.split(",") if m.strip()):
        network = layout_for("mnist1d", "cnn1d", mix, 64, 0, root)
        path = save(network, root / "layouts" / f"mnist1d-cnn1d-w{mix}-fold-s0.npz")
        simulated = None
        if not args.no_simulation:
            start = time.perf_counter()
            simulated = simulate_layout(path, images=min(images, 1000), simulator=args.sim, seed=1, build_root=root,
                                        say=say, fold=fold)
            say(f"{mix} bits: simulated in {time.perf_counter() - start:.0f} s")
        try:
            report = synthesize(network, board, root / "synth" / f"{path.stem}-{board.name}{fold_suffix(fold)}",
                                fold=fold, say=say, progress=False)
        except DesignTooBig as error:
            report = error
        rows.append((mix, simulated, report))
        say(f"{mix} bits: placed and routed")
    print(f"MNIST-1D CNN, width 64, seed 0, folding {args.fold}, {board.title}\n")
    print("| weights | images | mismatches | accuracy | LUT4 | placed LUT4 sites | FF | block RAM | Fmax MHz | "
          "cycles per image | images/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mix, simulated, report in rows:
        checked = ("-", "-", "-") if simulated is None else (
            simulated.report.images, len(simulated.report.mismatches), f"{100 * simulated.accuracy:.2f} %")
        if isinstance(report, DesignTooBig):
            print(f"| {mix} | " + " | ".join(map(str, checked)) + f" | does not fit: {report} |")
            continue
        print(f"| {mix} | " + " | ".join(map(str, checked)) + f" | {report.cells.lut4_equivalent:,} | "
              f"{report.placement.logic.used:,} | {report.cells.flip_flops:,} | {report.cells.bram} | "
              f"{report.fmax_mhz:.1f} | {report.initiation_interval:,} | {report.images_per_second:,.0f} |")


if __name__ == "__main__":
    main()
