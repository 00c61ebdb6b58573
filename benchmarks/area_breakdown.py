"""Where the LUTs of a synthesized design go: popcounts against the logic that combines them.

Run: `.venv/bin/python benchmarks/area_breakdown.py BUILD/synth/<layout>-<board> [...]` on build
folders written by `hbnn synth` or `hbnn compare` (it reads their `top.stat.json`, yosys'
statistics with the popcount modules and stream stages kept as hierarchy, and `report.json`).

For every stage of the core it prints the LUT4-equivalent count (LUT4 + 2 per ECP5 CCU2C) inside
its popcount modules and in the stage's own logic (the scaled sum of the popcounts, thresholds,
registers' enables), as a Markdown table.
"""

import json
import sys
from pathlib import Path

from hbnn.boards import flow, reports


def breakdown(build: Path) -> list[tuple[str, int, int]]:
    stat = reports.read_stat(build / "top.stat.json")
    family = json.loads((build / "report.json").read_text())["family"]
    rows = []
    index = 0
    while True:
        try:
            module = reports.module_named(stat, flow.stage_module(index))
        except KeyError:
            return rows
        total = reports.cell_counts(family, reports.flat_cells(stat, module)).lut4_equivalent
        own_cells = {cell: count for cell, count in stat["modules"][module]["num_cells_by_type"].items()
                     if cell.lstrip("\\") not in {name.lstrip("\\") for name in stat["modules"]}}
        own = reports.cell_counts(family, own_cells).lut4_equivalent
        rows.append((f"stage{index}", total - own, own))
        index += 1


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    print("| build | stage | LUT4 in popcounts | LUT4 combining them |")
    print("|---|---|---|---|")
    for folder in argv:
        for stage, popcounts, own in breakdown(Path(folder)):
            print(f"| {Path(folder).name} | {stage} | {popcounts:,} | {own:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
