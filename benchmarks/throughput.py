"""Throughput of the digits MLP per bit mix and pipeline setting: LUT4, FF, Fmax, latency, images/s.

Run: `.venv/bin/python benchmarks/throughput.py [--board ulx3s-85f] [--mixes 1 1.4 2]
[--pipelines 0 full] [--placement-seeds 5] [--width W] [--core-clock MHZ]`. For each pipeline setting it runs `hbnn
compare` on the demo nets (digits MLP, Middle-Out, power-of-two plane ratios, seed 0; trained or
reused from `--build`), so every design is checked bit-exact on 20 test images in Icarus before
it is built; each design is placed and routed `--placement-seeds` times (nextpnr's default seed,
then --seed 2, 3, ...) and Fmax is the median. It prints one Markdown table:

    weights | pipeline | LUT4 | placed | FF | Fmax MHz (median) | Fmax range | latency cycles |
    latency ns | images/s | LUT4 x ns per image | placed / unpipelined

"placed / unpipelined" compares the placed logic sites with pipeline 0 of the same mix (when
pipeline 0 is among `--pipelines`): the issue's budget for full pipelining is 1.15.
"""

import argparse
import sys
from pathlib import Path


def rows(board_name: str, root: Path, mixes, pipelines, placement_seeds: int, width: int | None,
         core_mhz: float | None = None) -> list[dict]:
    """One dict per (pipeline, mix), in the order of `pipelines` then `mixes`."""
    from hbnn.boards import BOARDS
    from hbnn.compare import compare

    table = []
    for pipeline in pipelines:
        result = compare(dataset="digits", net="mlp", mixes=tuple(mixes), seeds=1, board=BOARDS[board_name],
                         ratio_digits=1, width=width, images=20, root=root, energy=False, pipeline=pipeline,
                         placement_seeds=placement_seeds, core_mhz=core_mhz if pipeline == "full" else None,
                         say=lambda message: print(message, file=sys.stderr, flush=True))
        for row in result.rows:
            if not row.fits:
                raise SystemExit(f"{row.label} bits: {row.does_not_fit}")
            synthesis = row.synthesis
            each = [synthesis.placement.fmax_mhz, *synthesis.fmax_by_seed.values()]
            table.append({"weights": row.weights, "pipeline": str(pipeline), "lut4": synthesis.cells.lut4_equivalent,
                          "placed": synthesis.placement.logic.used, "ff": synthesis.cells.flip_flops,
                          "fmax": synthesis.fmax_mhz, "fmax_low": min(each), "fmax_high": max(each),
                          "latency": synthesis.latency_cycles, "latency_ns": synthesis.latency_ns,
                          "images_per_second": synthesis.images_per_second, "lut4_ns": synthesis.lut4_ns})
    return table


def markdown(table: list[dict]) -> str:
    unpipelined = {row["weights"]: row["placed"] for row in table if row["pipeline"] == "0"}
    lines = ["| weights | pipeline | LUT4 | placed | FF | Fmax MHz (median) | Fmax range | latency cycles | "
             "latency ns | images/s | LUT4 x ns per image | placed / unpipelined |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in table:
        ratio = unpipelined.get(row["weights"])
        lines.append(f"| {row['weights']} | {row['pipeline']} | {row['lut4']:,} | {row['placed']:,} | {row['ff']:,} | "
                     f"{row['fmax']:.1f} | {row['fmax_low']:.1f}-{row['fmax_high']:.1f} | {row['latency']} | "
                     f"{row['latency_ns']:,.0f} | {row['images_per_second'] / 1e6:.1f} M | {row['lut4_ns']:,.0f} | "
                     + ("-" if ratio is None else f"{row['placed'] / ratio:.2f}") + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    from hbnn.cli import _megahertz, _pipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="ulx3s-85f", help="target board (default: ulx3s-85f)")
    parser.add_argument("--mixes", nargs="+", default=["1", "1.4", "2"], help="bit mixes (default: 1 1.4 2)")
    parser.add_argument("--pipelines", nargs="+", type=_pipeline, default=[0, "full"],
                        help="pipeline settings, each N or full (default: 0 full)")
    parser.add_argument("--placement-seeds", type=int, default=5, help="placements per design (default: 5)")
    parser.add_argument("--width", type=int, default=None, help="hidden width of the MLP (default: the net's)")
    parser.add_argument("--build", type=Path, default=Path("build"), help="root of the builds (default: build)")
    parser.add_argument("--core-clock", type=_megahertz, default=None, metavar="MHZ",
                        help="fully pipelined designs on a PLL-made core clock of MHZ (hbnn synth --core-clock); "
                             "Fmax is then the core clock's (default: one clock)")
    args = parser.parse_args(argv)
    print(markdown(rows(args.board, args.build, args.mixes, args.pipelines, args.placement_seeds, args.width,
                        args.core_clock)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
