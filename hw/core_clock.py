"""`core_clock.CoreClock`: a clock of its own for the network core, the board clock through a PLL.

A fully pipelined core runs several times faster than the board's oscillator (25 MHz on the
ULX3S, 12 MHz on the iCE40 boards), and faster than the UART bridge has any need for. So with
`hbnn synth --core-clock MHZ` the bridge stays on the board clock (`sync`) and the core gets the
domain `core`, made here by the device's PLL from `sync`'s clock; `bridge.UartBridge` crosses
between them (`clock_crossing.Handshake`).

    core clock = board clock * feedback / (input * output)       (the PLL's dividers)

The dividers come from `hw.pll_settings` (the closest reachable frequency to the target).

Where the board clock's pin is the PLL's own pad (the iCEBreaker's UP5K), the PLL takes the pin
(SB_PLL40_2_PAD) and hands the board clock on to `sync` unchanged beside the core clock, so this
module then makes `sync` too (reset-less, like the boards' own). The core domain is held in reset
until the PLL reports lock; the reset is released synchronously to the core clock
(`amaranth.lib.cdc.ResetSynchronizer`).
"""

from __future__ import annotations

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Instance, Module, Signal
from amaranth.lib.cdc import ResetSynchronizer

from .pll_settings import PllSetting, ice40_filter_range, pll_setting

__all__ = ["CoreClock", "PllSetting", "pll_setting"]

DOMAIN = "core"          # the clock domain a core clock drives
CLOCK_NET = "pll_clk"    # the PLL output's wire, named in the clock constraint (`boards.flow`)


class CoreClock(Elaboratable):
    """The clock domain `core` at `setting.output_mhz`, from the `sync` clock through the PLL.

    `platform` (when given) learns the core clock's frequency as a clock constraint, so nextpnr
    times the core against it (`boards.flow` raises it further, as for the board clock)."""

    def __init__(self, setting: PllSetting, *, from_pad: bool = False):
        if not isinstance(setting, PllSetting):
            raise TypeError(f"Core clock setting must be a PllSetting, not {setting!r}")
        if from_pad and setting.family != "ice40":
            raise ValueError(f"A PLL on the clock pad is an ice40 option, not {setting.family!r}")
        self.setting = setting
        self.from_pad = from_pad
        self.domain = ClockDomain(DOMAIN)

    def elaborate(self, platform):
        m = Module()
        m.domains.core = domain = self.domain
        locked = Signal()
        # The PLL's output under a name yosys keeps for the clock net (a kept wire wins its choice
        # among a net's names), so the clock constraint below finds the net in nextpnr.
        clock = Signal(name=CLOCK_NET, attrs={"keep": 1})
        m.d.comb += domain.clk.eq(clock)
        setting, dividers = self.setting, self.setting.dividers
        if setting.family == "ecp5":
            m.submodules.pll = Instance(
                "EHXPLLL",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
                p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD", p_CLKOP_ENABLE="ENABLED",
                p_FEEDBK_PATH="CLKOP", p_CLKOP_FPHASE=0,
                p_CLKI_DIV=dividers["CLKI_DIV"], p_CLKFB_DIV=dividers["CLKFB_DIV"],
                p_CLKOP_DIV=dividers["CLKOP_DIV"], p_CLKOP_CPHASE=dividers["CLKOP_DIV"] // 2,
                # the loop filter values ecppll writes for every configuration
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
                a_MFG_GMCREF_SEL="2",
                a_FREQUENCY_PIN_CLKI=f"{setting.input_mhz:g}", a_FREQUENCY_PIN_CLKOP=f"{setting.output_mhz:g}",
                i_CLKI=ClockSignal("sync"), i_CLKFB=clock, o_CLKOP=clock, o_LOCK=locked,
                i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1,
                i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0)
        elif not self.from_pad:
            m.submodules.pll = Instance(
                "SB_PLL40_CORE",
                p_FEEDBACK_PATH="SIMPLE", p_PLLOUT_SELECT="GENCLK",
                p_DIVR=dividers["DIVR"], p_DIVF=dividers["DIVF"], p_DIVQ=dividers["DIVQ"],
                p_FILTER_RANGE=ice40_filter_range(setting.pfd_mhz),
                i_REFERENCECLK=ClockSignal("sync"), o_PLLOUTGLOBAL=clock, o_LOCK=locked,
                i_RESETB=1, i_BYPASS=0)
        else:
            # port A: the pad's clock as it is (the board clock, `sync`); port B: the PLL's output
            pin = platform.request(platform.default_clk, dir="-")
            m.domains.sync = board = ClockDomain("sync", reset_less=True)
            m.submodules.pll = Instance(
                "SB_PLL40_2_PAD",
                p_FEEDBACK_PATH="SIMPLE", p_PLLOUT_SELECT_PORTB="GENCLK",
                p_DIVR=dividers["DIVR"], p_DIVF=dividers["DIVF"], p_DIVQ=dividers["DIVQ"],
                p_FILTER_RANGE=ice40_filter_range(setting.pfd_mhz),
                i_PACKAGEPIN=pin.io, o_PLLOUTGLOBALA=board.clk, o_PLLOUTGLOBALB=clock, o_LOCK=locked,
                i_RESETB=1, i_BYPASS=0)
        # (the boards' `sync` domains have no reset signal: the devices' power-up reset clears them)
        m.submodules.reset = ResetSynchronizer(~locked, domain=DOMAIN)
        if platform is not None:
            platform.add_clock_constraint(clock, setting.output_mhz * 1e6)
        return m
