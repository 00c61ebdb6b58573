"""Carry chains of several ripple adders, placed cell by cell with `hw.primitives`.

A chain is a list of cells, the carry rippling from each to the next (CIN of the first is 0):

- `Sum(a, b)`: S = a ^ b ^ CIN, COUT = majority(a, b, CIN): one bit of a ripple-carry adder;
- `Pass(inject)`: S = CIN, COUT = inject (or 0): it hands the carry of the adder below out to the
  fabric (the adder's top result bit) and starts the next adder with `inject` as its carry-in.

So one `Pass` between two adders both finishes the first (its carry-out needs a cell to reach the
fabric anyway) and starts the second with a free extra input bit (its carry-in): chaining the adders
of a tree level costs one cell per adder instead of two. On iCE40 a Pass is an SB_CARRY with
I0 = I1 = inject (majority(z, z, CI) = z) and a LUT passing I3 = CI; on ECP5 it is a CCU2C half with
P = 0 (S = CIN, COUT = G) and G = A = inject.

Timing tools see a path through every Pass (CIN -> COUT), though its COUT never depends on CIN, so
`hw.popcount_mapped` chooses which adders share a chain with care.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Const, Module, Value

from .primitives import Cells, half_init, lut_init


@dataclass(frozen=True)
class Sum:
    """S = a ^ b ^ CIN, COUT = majority(a, b, CIN)."""
    a: Value
    b: Value


@dataclass(frozen=True)
class Pass:
    """S = CIN, COUT = inject (0 when None)."""
    inject: Value | None = None


XOR3 = lut_init(lambda i0, i1, i2, i3: i1 ^ i2 ^ i3)     # S of a Sum (I3 = CIN)
FEED = lut_init(lambda i0, i1, i2, i3: i3)               # S of a Pass: CIN to the fabric
SUM_HALF = half_init(lambda a, b, c: a ^ b, lambda a, b: a)   # P = A ^ B; G = A (= B when P = 0)
PASS_HALF = half_init(lambda a, b, c: 0, lambda a, b: a)       # P = 0: S = CIN, COUT = G = A


def place(m: Module, cells: Cells, chain: list) -> list:
    """Place `chain` (Sum and Pass cells); returns each cell's S output (None where nothing reads it:
    a Pass at the start of the chain has no carry to hand out)."""
    if cells.family == "ice40":
        return _place_ice40(m, cells, chain)
    return _place_ecp5(m, cells, chain)


def _place_ice40(m: Module, cells: Cells, chain: list) -> list:
    zero = Const(0, 1)
    carry, outputs = zero, []
    for index, cell in enumerate(chain):
        starts = index == 0
        if isinstance(cell, Sum):
            o, carry = cells.ice40_cell(m, init=XOR3, i0=zero, i1=cell.a, i2=cell.b, ci=carry)
        else:
            inject = zero if cell.inject is None else cell.inject
            last = index == len(chain) - 1
            o, carry = cells.ice40_cell(m, init=FEED, i0=zero, i1=inject, i2=inject, ci=carry,
                                        with_lut=not starts, with_carry=not last)
        outputs.append(o)
    return outputs


def _place_ecp5(m: Module, cells: Cells, chain: list) -> list:
    zero = Const(0, 1)
    # An ECP5 chain's first CIN comes from the slice below whatever it is driven with (nextpnr adds
    # a whole feed-in CCU2C to make a constant of it), so every chain starts with a Pass, whose
    # COUT = G ignores CIN, and leaves CIN unconnected.
    starts_with_pass = bool(chain) and isinstance(chain[0], Pass)
    if not starts_with_pass:
        chain = [Pass(None)] + chain
    halves = []
    for cell in chain:
        if isinstance(cell, Sum):
            halves.append((SUM_HALF, cell.a, cell.b, zero))
        else:
            halves.append((PASS_HALF, zero if cell.inject is None else cell.inject, zero, zero))
    if len(halves) % 2:
        halves.append((PASS_HALF, zero, zero, zero))      # a CCU2C has two halves
    carry, outputs = None, []
    for index in range(0, len(halves), 2):
        s0, s1, carry = cells.ecp5_ccu2c(m, halves[index:index + 2], carry,
                                         carry_out=index + 2 < len(halves))
        outputs += [s0, s1]
    outputs = [None] + outputs[1:len(chain)]            # the first Pass has no carry to hand out
    return outputs if starts_with_pass else outputs[1:]
