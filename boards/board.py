"""What hbnn needs to know about an FPGA board: its Amaranth platform and its capacity.

A `Board` is plain data, one module per board (`boards/icebreaker.py`, ...). The platform comes
from amaranth-boards, which already knows the pins (clock, UART, LEDs), the device, the package and
the build scripts; hbnn adds the capacity, used to refuse a design that cannot fit before spending
minutes in place and route. Capacities are the `available` counts nextpnr 0.11 reports for the
device (`--report`), so a `DesignTooBig` message and a report speak the same numbers.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from hbnn.hw.families import check_family


@dataclass(frozen=True)
class Capacity:
    """Resources of the device, in nextpnr's units.

    `logic` counts iCE40 logic cells (one LUT4 + one flip-flop + carry each) or ECP5 LUT4 sites
    (TRELLIS_COMB; each holds a LUT4 or half a CCU2C carry cell); `flip_flops` the ECP5 TRELLIS_FF
    sites (on iCE40 the flip-flops live in the logic cells, so `flip_flops == logic`).
    """
    logic: int
    flip_flops: int
    bram: int          # SB_RAM40_4K (4 kbit) or DP16KD (18 kbit) blocks
    dsp: int           # SB_MAC16 or MULT18X18D
    io: int            # I/O sites nextpnr offers for the device (the package may bond fewer)


@dataclass(frozen=True)
class Board:
    name: str                 # the name users type: `hbnn synth --board NAME`
    title: str                # board and device, for reports
    family: str               # "ice40" or "ecp5": picks the yosys synth_* pass and nextpnr
    platform: str             # "module:Class" of the amaranth-boards platform
    capacity: Capacity
    synth_options: tuple[str, ...] = ()   # extra synth_ice40 / synth_ecp5 options

    def __post_init__(self):
        check_family(self.family)

    def make_platform(self):
        """A fresh amaranth-boards platform object (they collect files, so never share one)."""
        module, _, cls = self.platform.partition(":")
        return getattr(importlib.import_module(module), cls)()
