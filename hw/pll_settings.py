"""PLL settings: the dividers that make a core clock from a board clock (plain Python, no amaranth).

    core clock = board clock * feedback / (input * output)       (the PLL's dividers)

The dividers are the closest reachable frequency to the target within the PLL's ranges (the
rules of the open tools' own calculators, prjtrellis `ecppll` and icestorm `icepll`):

- ECP5 EHXPLLL, feedback from CLKOP: f_pfd = f_in / CLKI_DIV in [3.125, 400] MHz,
  f_vco = f_pfd * CLKFB_DIV * CLKOP_DIV in [400, 800] MHz, f_out = f_vco / CLKOP_DIV in
  [3.125, 400] MHz.
- iCE40 SB_PLL40, simple feedback: f_pfd = f_in / (DIVR + 1) in [10, 133] MHz,
  f_vco = f_pfd * (DIVF + 1) in [533, 1066] MHz, f_out = f_vco / 2**DIVQ in [16, 275] MHz.

`hw.core_clock` instantiates the PLL; the command line checks a `--core-clock` here, before
anything heavy is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from .families import check_family

__all__ = ["PllSetting", "pll_setting", "ice40_filter_range"]


@dataclass(frozen=True)
class PllSetting:
    """The dividers of one PLL configuration and the frequencies they give."""
    family: str
    input_mhz: float
    output_mhz: float
    vco_mhz: float
    pfd_mhz: float
    dividers: dict      # the primitive's divider parameters by name (CLKI_DIV, ... / DIVR, ...)


def _ecp5_settings(input_mhz: float):
    for clki_div in range(1, 129):
        pfd = input_mhz / clki_div
        if not 3.125 <= pfd <= 400:
            continue
        for clkfb_div in range(1, 81):
            for clkop_div in range(1, 129):
                vco = pfd * clkfb_div * clkop_div
                output = vco / clkop_div
                if 400 <= vco <= 800 and 3.125 <= output <= 400:
                    yield PllSetting("ecp5", input_mhz, output, vco, pfd,
                                     {"CLKI_DIV": clki_div, "CLKFB_DIV": clkfb_div, "CLKOP_DIV": clkop_div})


def _ice40_settings(input_mhz: float):
    for divr in range(16):
        pfd = input_mhz / (divr + 1)
        if not 10 <= pfd <= 133:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533 <= vco <= 1066:
                continue
            for divq in range(1, 7):
                output = vco / 2 ** divq
                if 16 <= output <= 275:
                    yield PllSetting("ice40", input_mhz, output, vco, pfd,
                                     {"DIVR": divr, "DIVF": divf, "DIVQ": divq})


_SETTINGS = {"ecp5": _ecp5_settings, "ice40": _ice40_settings}


def pll_setting(family: str, *, input_mhz: float, target_mhz: float) -> PllSetting:
    """The PLL configuration of `family` whose output is closest to `target_mhz` (ties: the VCO
    nearest the middle of its range, where the PLL's jitter is lowest); ValueError if the target
    is more than 1 % from every reachable frequency."""
    check_family(family)
    if not isinstance(target_mhz, (int, float)) or isinstance(target_mhz, bool) or target_mhz <= 0:
        raise ValueError(f"Core clock must be a positive frequency in MHz, not {target_mhz!r}")
    middle = {"ecp5": 600, "ice40": 800}[family]
    best = min(_SETTINGS[family](input_mhz),
               key=lambda s: (round(abs(s.output_mhz - target_mhz), 6), abs(s.vco_mhz - middle)))
    if abs(best.output_mhz - target_mhz) > 0.01 * target_mhz:
        raise ValueError(f"Core clock {target_mhz:g} MHz is out of the {family} PLL's reach from "
                         f"{input_mhz:g} MHz (closest: {best.output_mhz:g} MHz)")
    return best


def ice40_filter_range(pfd_mhz: float) -> int:
    """SB_PLL40's loop filter setting for its phase detector frequency (icepll's table)."""
    for limit, setting in ((17, 1), (26, 2), (44, 3), (66, 4), (101, 5)):
        if pfd_mhz < limit:
            return setting
    return 6
