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
from hbnn.model.errors import ConfigError


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
    clock_mhz: float          # the board clock (the platform's default_clk_frequency; a test checks)
    capacity: Capacity
    synth_options: tuple[str, ...] = ()   # extra synth_ice40 / synth_ecp5 options
    # the board clock's pin is the PLL's own input pad (`hw.core_clock`: the PLL then takes the
    # pin and hands the board clock on, instead of reading it from the clock network)
    clock_on_pll_pad: bool = False

    def __post_init__(self):
        check_family(self.family)

    def core_clock(self, mhz: float):
        """The PLL setting (`hw.pll_settings`) that makes a core clock of `mhz` from the board
        clock; a ConfigError if the device's PLL cannot. Imports no amaranth: the command line
        checks `--core-clock` with it before any work."""
        from hbnn.hw.pll_settings import pll_setting

        try:
            return pll_setting(self.family, input_mhz=self.clock_mhz, target_mhz=mhz)
        except ValueError as error:
            raise ConfigError(f"--core-clock: {error}") from None

    def make_platform(self):
        """A fresh amaranth-boards platform object (they collect files, so never share one)."""
        module, _, cls = self.platform.partition(":")
        return getattr(importlib.import_module(module), cls)()
