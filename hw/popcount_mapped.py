"""`popcount_mapped.Tree`: a popcount built from the target FPGA's own LUT4 and carry cells.

Left to itself, yosys turns any popcount into full adders of two LUT4s each (about 2 LUT4 per
input bit; one full adder removes one bit). A carry-chain cell removes one bit with one LUT4: it
adds two operand bits and the incoming carry, S + 2 COUT = a + b + CIN. So this tree is made of
ripple-carry adders placed cell by cell (`hw.carry_chain`), each one absorbing an extra input bit
as its carry-in:

    count(bits) = count(left half) + count(right half) + carry-in bit

Adders share carry chains: a `Pass` cell between two adders hands the first one's carry-out to the
fabric and injects the next one's carry-in, so an adder of two w-bit operands costs w + 1 cells.
For N = 2^(d+1) - 1 inputs that is N - d - 1 Sum cells (one LUT4 of logic per input bit) plus about
N/2 Pass cells: about 1.5 logic cells per input bit, against yosys's 2.

Which adders share a chain is a timing choice, because timing analysis follows the carry through
every Pass (its COUT does not depend on its CIN, but nextpnr's cell models say it may). The tree is
cut into subtrees of level H (2^(H+1) - 1 inputs; H = 4 on iCE40, 3 on ECP5); each subtree's adders
form one chain, level 1 first, then level 2, and so on. A level-2 adder then reads level-1 results
from the same chain a few cells back, so the carry path through the chain is close to the path the
data takes anyway, and a chain never crosses a pipeline register. Adders above level H have chains
of their own. (The first version, one chain per level cut every 16 cells, was both slower and larger.)

Ports and pipelining are those of `popcount.Tree` (`i`, `o`, `en`; `registered_levels` are the
adder levels whose outputs are registered, levels past the root being extra output registers;
`latency` = their number). On iCE40, where a flip-flop alone takes a whole logic cell, inputs are
all consumed before the first registered level (`pipelined_plan`); on ECP5, whose flip-flops sit
beside the LUTs, an input waits in registers for the carry-in slot of a higher adder, which keeps
one LUT4 per input bit however many registers there are.

`family` picks the cells (iCE40 SB_LUT4 + SB_CARRY, ECP5 CCU2C); `behavioural=True` builds them as
Amaranth logic for the Amaranth simulator, otherwise as `Instance`s (`hw.primitives`).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Signal

from . import carry_chain
from .carry_chain import Pass, Sum
from .popcount import Counter
from .families import check_family
from .primitives import Cells

# cells of a chain's level-1 part, which sets the subtree size (module docstring), per family: the
# largest that kept Fmax at or above the generic tree's with two pipeline registers at N = 1024
# (benchmarks/popcount_mapping.py); ECP5 routes into a chain more slowly than it ripples along it
MAX_CELLS = {"ice40": 16, "ecp5": 8}
CHAIN_LIMIT = 96     # no chain longer than this: a UP5K column holds 8 x 30 logic cells
# chains of a pipeline stage one adder level deep (a register after every level): on iCE40 at most
# 8 cells (Fmax at or above the generic tree's at N = 64 and 256); ECP5's carry is far faster (in
# nextpnr's timing reports 0.07 ns per CCU2C, against 0.28 ns per UP5K cell), so its chains are not cut
STAGE_CHAIN_LIMIT = {"ice40": 8, "ecp5": CHAIN_LIMIT}


@dataclass
class Add:
    """One adder of the plan: left + right (+ leaf `carry` as carry-in); leaves are ints."""
    left: Add | int
    right: Add | int
    carry: int | None
    level: int


@dataclass
class Operand:
    """An unsigned value as its bits, LSB first, and the largest value it can take."""
    bits: list
    maximum: int


def pipelined_plan(leaves: list[int], *, absorb: bool, first_register: int | None):
    """`plan`, except that with pipeline registers no input waits past the first registered level
    for its carry-in slot (it would need a register, a whole logic cell on iCE40): groups of
    2^(r+1) - 1 inputs are counted in r levels, and the group counts added without carry-ins."""
    if not absorb or first_register is None:
        return plan(leaves, absorb=absorb)
    size = (1 << (first_register + 1)) - 1
    nodes = [plan(leaves[start:start + size], absorb=True) for start in range(0, len(leaves), size)]
    while len(nodes) > 1:
        paired = []
        for index in range(0, len(nodes) - 1, 2):
            paired.append(join(nodes[index], nodes[index + 1], None))
        nodes = paired + ([nodes[-1]] if len(nodes) % 2 else [])
    return nodes[0]


def plan(leaves: list[int], *, absorb: bool) -> Add | int:
    """The adder tree over `leaves`: halves added with one leaf as carry-in when `absorb`."""
    if len(leaves) == 1:
        return leaves[0]
    carry = None
    if absorb and len(leaves) > 2:
        carry, leaves = leaves[0], leaves[1:]
    half = len(leaves) // 2
    return join(plan(leaves[:half], absorb=absorb), plan(leaves[half:], absorb=absorb), carry)


def join(left, right, carry: int | None) -> Add:
    """The adder of two plan nodes, one level above the higher of them (leaves are level 0)."""
    level = 1 + max(node.level if isinstance(node, Add) else 0 for node in (left, right))
    return Add(left, right, carry, level)


def maxima(root, leaf_maximum: int) -> dict[int, int]:
    """The largest value of every adder's result (by id), leaves being at most `leaf_maximum`."""
    found: dict[int, int] = {}

    def visit(node) -> int:
        if not isinstance(node, Add):
            return leaf_maximum
        found[id(node)] = visit(node.left) + visit(node.right) + (node.carry is not None)
        return found[id(node)]
    visit(root)
    return found


def adders_by_level(root) -> dict[int, list[Add]]:
    """The plan's adders grouped by level, each level in left-to-right order (neighbours in a chain
    are neighbours in the tree, which keeps placement local)."""
    levels: dict[int, list[Add]] = {}

    def visit(node):
        if isinstance(node, Add):
            visit(node.left)
            visit(node.right)
            levels.setdefault(node.level, []).append(node)
    visit(root)
    return levels


def chain_subtrees(root, *, top_level: int) -> dict[int, object]:
    """For every adder (by id), the adder whose subtree's adders of one level share a carry chain:
    the top of the largest subtree around it with no level above `top_level`, or itself when its
    level is above. (Each chain then reads only the chain below it in its own subtree, so a path
    rippling through the chains of successive levels gains only a few carry steps per level.)"""
    owner: dict[int, object] = {}

    def visit(node, top):
        if not isinstance(node, Add):
            return
        if node.level > top_level:
            top = None
            owner[id(node)] = node
        else:
            top = top if top is not None else node
            owner[id(node)] = top
        visit(node.left, top)
        visit(node.right, top)
    visit(root, None)
    return owner


class Tree(Counter):
    def __init__(self, width: int, *, family: str, element_bits: int = 1, registered_levels=(),
                 behavioural: bool = False, max_cells: int | None = None):
        check_family(family)
        max_cells = MAX_CELLS[family] if max_cells is None else max_cells
        if not isinstance(max_cells, int) or max_cells < 2:
            raise ValueError(f"Carry chain length must be an integer of at least 2, not {max_cells!r}")
        self.family = family
        self.behavioural = behavioural
        self.max_cells = max_cells
        super().__init__(width, element_bits=element_bits, registered_levels=registered_levels)

    def elaborate(self, platform):
        m = Module()
        b = self.element_bits
        cells = Cells(self.family, behavioural=self.behavioural)
        values = {leaf: Operand([self.i[leaf * b + t] for t in range(b)], (1 << b) - 1)
                  for leaf in range(self.width)}
        # ECP5 flip-flops sit beside the LUTs, so inputs may wait in registers for a carry-in slot
        # higher up; an iCE40 flip-flop takes a logic cell of its own
        waits = self.family == "ecp5"
        root = pipelined_plan(list(range(self.width)), absorb=b == 1,
                              first_register=None if waits else min(self.registered_levels, default=None))
        levels = adders_by_level(root)
        depth = max(levels, default=0)
        subtree_of = chain_subtrees(root, top_level=self._subtree_level())
        largest = maxima(root, (1 << b) - 1)
        registered = set(self.registered_levels)
        stage: list[Add] = []          # the adders between two register levels
        stage_levels = 0
        last = max(depth, max(registered, default=0))
        for level in range(1, last + 1):
            stage += levels.get(level, [])
            stage_levels += 1
            if level in registered or level == last:
                # a stage of one level: its chains are the stage's whole timing path, and an iCE40
                # carry step (0.28 ns) is slow enough to matter there
                limit = STAGE_CHAIN_LIMIT[self.family] if stage_levels == 1 else CHAIN_LIMIT
                stage_levels = 0
                for group in self._chains(stage, subtree_of, largest, limit=limit):
                    self._place(m, cells, group, values)
                stage = []
            if level in registered:
                self._register(m, values, name=f"l{level}")
        result = values[id(root) if isinstance(root, Add) else root]
        m.d.comb += self.o.eq(Cat(*result.bits))
        return m

    def _subtree_level(self) -> int:
        """H: the adders up to level H of one subtree share a carry chain; its level-1 part,
        2^(H-1) adders of 2 cells, is kept within `max_cells`."""
        level = 1
        while 1 << (level + 1) <= self.max_cells:
            level += 1
        return level

    def _chains(self, adders: list[Add], subtree_of, largest, *, limit: int) -> list[list[Add]]:
        """The adders of one pipeline stage (in level order) as carry chains: one per level-H
        subtree, its levels one after the other (module docstring); an adder above level H, or
        one that would take a chain past `limit` cells, starts a chain of its own."""
        groups: dict[int, list[list[Add]]] = {}
        cells: dict[int, int] = {}
        leaf_maximum = (1 << self.element_bits) - 1
        for adder in adders:
            key = id(subtree_of[id(adder)])
            operands = [largest[id(node)] if isinstance(node, Add) else leaf_maximum
                        for node in (adder.left, adder.right)]
            size = max(operands).bit_length() + 1            # its Sum cells and one Pass
            if key not in groups or cells[key] + size > limit:
                groups.setdefault(key, []).append([])
                cells[key] = 1
            groups[key][-1].append(adder)
            cells[key] += size
        return [chain for chains in groups.values() for chain in chains]

    @staticmethod
    def _key(node):
        return id(node) if isinstance(node, Add) else node

    def _place(self, m: Module, cells: Cells, group: list[Add], values) -> None:
        """One carry chain: the adders of `group`, a Pass before each carry-in and after each
        carry-out (shared between neighbours). Each result gets fresh signals, so a later adder of
        the same chain can read an earlier one's; results replace the operands in `values`."""
        zero = Const(0, 1)
        chain, slots = [], []
        previous_feeds = False
        for adder in group:
            x, y = values.pop(self._key(adder.left)), values.pop(self._key(adder.right))
            carry_in = values.pop(adder.carry).bits[0] if adder.carry is not None else None
            maximum = x.maximum + y.maximum + (carry_in is not None)
            width = max(len(x.bits), len(y.bits))
            if previous_feeds or carry_in is not None:
                chain.append(Pass(carry_in))
            start = len(chain)
            chain += [Sum(x.bits[t] if t < len(x.bits) else zero, y.bits[t] if t < len(y.bits) else zero)
                      for t in range(width)]
            # a carry-out is possible only if the sum can need more bits than the operands
            previous_feeds = maximum.bit_length() > width
            result = Signal(maximum.bit_length(), name=f"sum{len(values)}_l{adder.level}")
            values[id(adder)] = Operand([result[t] for t in range(len(result))], maximum)
            slots.append((result, start, width, previous_feeds))
        if previous_feeds:
            chain.append(Pass(None))
        outputs = carry_chain.place(m, cells, chain)
        for result, start, width, feeds in slots:
            bits = outputs[start:start + width] + ([outputs[start + width]] if feeds else [])
            m.d.comb += result.eq(Cat(*bits))

    def _register(self, m: Module, values, *, name: str) -> None:
        """Register every live operand (results, and inputs still waiting to be a carry-in)."""
        for index, (key, operand) in enumerate(list(values.items())):
            register = Signal(len(operand.bits), name=f"{name}_v{index}", reset_less=True)
            with m.If(self.en):
                m.d.sync += register.eq(Cat(*operand.bits))
            values[key] = Operand([register[t] for t in range(len(operand.bits))], operand.maximum)
