"""The tools' own JSON reports, parsed into data (never scraped from logs).

- yosys `stat -json` (written after synthesis): cells per module. `cell_counts` adds up a module and
  everything it instantiates, so the per-stage modules hbnn keeps as hierarchy give LUTs per layer.
- nextpnr `--report`: `utilization.{BEL}.{used,available}` and `fmax.{clock}.achieved` (MHz), read
  by `placement`. After place and route is what the device really holds: on iCE40, nextpnr adds
  logic cells that only feed a carry chain, which yosys' counts do not show.

Cell names per family (yosys techmap output / nextpnr BELs):

    ice40: LUT4 SB_LUT4, carry SB_CARRY, FF SB_DFF*, BRAM SB_RAM40_4K / SB_SPRAM256KA, DSP SB_MAC16
           placed: ICESTORM_LC (LUT4 + FF + carry each), ICESTORM_RAM, ICESTORM_DSP, SB_IO
    ecp5:  LUT4 LUT4, carry CCU2C (two LUT4s and a 2-bit carry), FF TRELLIS_FF, BRAM DP16KD,
           DSP MULT18X18D / ALU54B; placed: TRELLIS_COMB (LUT4 sites), TRELLIS_FF, DP16KD,
           MULT18X18D, TRELLIS_IO
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hbnn.hw.families import check_family


@dataclass(frozen=True)
class CellCounts:
    """Technology cells after synthesis (yosys), before place and route."""
    family: str
    lut4: int
    carry: int         # SB_CARRY or CCU2C cells
    flip_flops: int
    bram: int
    dsp: int

    @property
    def lut4_equivalent(self) -> int:
        """LUT4s including those inside ECP5 carry cells (a CCU2C holds two); = lut4 on iCE40."""
        return self.lut4 + 2 * self.carry if self.family == "ecp5" else self.lut4


_CELLS = {
    "ice40": {"lut4": ("SB_LUT4",), "carry": ("SB_CARRY",), "flip_flops": ("SB_DFF",),
              "bram": ("SB_RAM40_4K", "SB_SPRAM256KA"), "dsp": ("SB_MAC16",)},
    "ecp5": {"lut4": ("LUT4",), "carry": ("CCU2C",), "flip_flops": ("TRELLIS_FF",),
             "bram": ("DP16KD", "PDPW16KD"), "dsp": ("MULT18X18D", "ALU54B")},
}
_PLACED = {
    "ice40": {"logic": "ICESTORM_LC", "flip_flops": "ICESTORM_LC", "bram": "ICESTORM_RAM",
              "dsp": "ICESTORM_DSP", "io": "SB_IO"},
    "ecp5": {"logic": "TRELLIS_COMB", "flip_flops": "TRELLIS_FF", "bram": "DP16KD",
             "dsp": "MULT18X18D", "io": "TRELLIS_IO"},
}


def flat_cells(stat: dict, module: str) -> dict[str, int]:
    """Cell types of `module` with every submodule instance replaced by that module's cells.

    (yosys names modules `\\name` in `modules` but cell types `name` in `num_cells_by_type`.)"""
    modules = {name.removeprefix("\\"): entry for name, entry in stat["modules"].items()}
    module = module.removeprefix("\\")
    if module not in modules:
        raise KeyError(f"module {module!r} not in the yosys statistics")
    totals: dict[str, int] = {}
    for cell_type, count in modules[module].get("num_cells_by_type", {}).items():
        cell_type = cell_type.removeprefix("\\")
        if cell_type in modules:
            for inner, inner_count in flat_cells(stat, cell_type).items():
                totals[inner] = totals.get(inner, 0) + count * inner_count
        else:
            totals[cell_type] = totals.get(cell_type, 0) + count
    return totals


def cell_counts(family: str, cells: dict[str, int]) -> CellCounts:
    """Group technology cells (type -> count) into LUT4, carry, FF, BRAM and DSP."""
    check_family(family)
    grouped = {kind: sum(count for cell, count in cells.items()
                         if any(cell == name or (kind == "flip_flops" and cell.startswith(name))
                                for name in names))
               for kind, names in _CELLS[family].items()}
    return CellCounts(family, **grouped)


def read_stat(path: str | Path) -> dict:
    """yosys `stat -json` output (yosys writes it through `tee -o`, preceded by nothing else)."""
    return json.loads(Path(path).read_text())


def module_named(stat: dict, suffix: str) -> str:
    """The one module whose name is `suffix` or ends in `.suffix` (Amaranth names submodules by
    their hierarchy, e.g. `top.bridge.core.stage0`)."""
    names = [name for name in stat["modules"] if name.lstrip("\\") == suffix
             or name.lstrip("\\").endswith("." + suffix)]
    if len(names) != 1:
        raise KeyError(f"expected one module named *{suffix} in the yosys statistics, found {names}")
    return names[0]


@dataclass(frozen=True)
class Usage:
    used: int
    available: int

    @property
    def fraction(self) -> float:
        return self.used / self.available if self.available else 0.0


@dataclass(frozen=True)
class ClockTiming:
    achieved_mhz: float     # routed delays
    constraint_mhz: float   # what the clock runs at (or the raised target, `boards.flow`)

    @property
    def met(self) -> bool:
        return self.achieved_mhz >= self.constraint_mhz


@dataclass(frozen=True)
class Placement:
    """Resources and timing after place and route (nextpnr `--report`)."""
    logic: Usage        # ICESTORM_LC or TRELLIS_COMB
    flip_flops: Usage   # ICESTORM_LC (shared with logic) or TRELLIS_FF
    bram: Usage
    dsp: Usage
    io: Usage
    fmax_mhz: float     # achieved on the design clock (the core's), routed delays
    # the other clocks by nextpnr's name: the board clock of the UART bridge when the core has a
    # clock of its own (`hbnn synth --core-clock`)
    other_clocks: dict[str, ClockTiming] = field(default_factory=dict)


def placement(family: str, report: dict | str | Path) -> Placement:
    """Parse a nextpnr `--report` JSON (a dict, or a path to one)."""
    check_family(family)
    if not isinstance(report, dict):
        report = json.loads(Path(report).read_text())
    utilization = report["utilization"]

    def usage(bel: str) -> Usage:
        entry = utilization.get(bel, {"used": 0, "available": 0})
        return Usage(int(entry["used"]), int(entry["available"]))

    clocks = report.get("fmax", {})
    if not clocks:
        raise ValueError("the nextpnr report has no clock (fmax is empty): is the design clocked?")
    # nextpnr names each clock after its net (cd_sync.clk, $glbnet$cd_sync.clk). The design clock
    # is the one timed against the highest target: the flow raises it far above reach.
    timing = {name: ClockTiming(float(entry["achieved"]), float(entry["constraint"]))
              for name, entry in clocks.items()}
    design = max(timing, key=lambda name: (timing[name].constraint_mhz, -timing[name].achieved_mhz))
    others = {name: clock for name, clock in timing.items() if name != design}
    return Placement(**{kind: usage(bel) for kind, bel in _PLACED[family].items()},
                     fmax_mhz=timing[design].achieved_mhz, other_clocks=others)
