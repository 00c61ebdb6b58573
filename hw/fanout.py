"""Fan-out trees: registered copies of a signal for consumers spread over the fabric.

A fully pipelined layer (`pipeline="full"`) reads each input bit in popcount lanes of nearly every
output, so from one flip-flop the net spans the whole layer. On the digits MLP at 1.4 bits
(ULX3S-85F) that net was the critical path of the first full build: 10.7 ns of routing from the
input register to a layer-0 popcount, 81 MHz, while every popcount level behind it is one carry
chain. Here the outputs of a layer are cut into groups of `OUTPUTS_PER_COPY`, each group reads
its own copy of the bits it uses, and the copies come from a tree of registers in which each
register drives at most `COPIES_PER_REGISTER` registers of the next level:

    depth = ceil(log_F(leaves)),  leaves = ceil(outputs / OUTPUTS_PER_COPY),  F = COPIES_PER_REGISTER

(depth 0 for a single group: its consumers read the source itself). Every leaf is `depth`
registers behind the source, so the groups stay aligned; a signal built once for the whole layer
(a shared total) goes through a tree of the same shape to reach the groups at the same time.

yosys merges identical flip-flops (`opt_merge`), which would fold every copy back into one: each
register of the tree is therefore its own module, named `replica_*`, which the synthesis flow
keeps as hierarchy (`KEPT_MODULES`, used by `boards.flow.plan_design`).
"""

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

OUTPUTS_PER_COPY = 4       # outputs that read one leaf copy (about 4-12 popcount lanes per bit)
COPIES_PER_REGISTER = 4    # registers one register of the tree drives
KEPT_MODULES = "*.replica_*"


def groups(outputs: int) -> list[range]:
    """The outputs of a layer, cut into consecutive groups that share one copy."""
    return [range(start, min(start + OUTPUTS_PER_COPY, outputs)) for start in range(0, outputs, OUTPUTS_PER_COPY)]


def depth(leaves: int) -> int:
    """Register levels between the source and each of `leaves` copies (module docstring)."""
    levels, reach = 0, 1
    while reach < leaves:
        levels, reach = levels + 1, reach * COPIES_PER_REGISTER
    return levels


class Replica(wiring.Component):
    """One register of a tree: `o` is `i` one cycle later (while `en`, when it has one)."""

    def __init__(self, width: int, *, enabled: bool):
        self.enabled = enabled
        ports = {"i": In(width), "o": Out(width)}
        if enabled:
            ports["en"] = In(1)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        copy = Signal.like(self.o, reset_less=True)      # data: no reset (hw.adders)
        m.d.comb += self.o.eq(copy)
        if self.enabled:
            with m.If(self.en):
                m.d.sync += copy.eq(self.i)
        else:
            m.d.sync += copy.eq(self.i)
        return m


def tree(m: Module, source, needs: list[set[int]], *, name: str, enable=None) -> list[Value]:
    """Copies of `source` for `len(needs)` consumers, each `depth(len(needs))` registers behind it.

    `needs[g]`: the bits of `source` consumer g reads (only those are copied on its branch).
    Returns one full-width value per consumer, with its bits outside `needs[g]` left 0.
    `enable`: the pipeline's clock enable, or None for registers that never stall."""
    source = Value.cast(source)
    levels = depth(len(needs))
    if levels == 0:
        return [source for _ in needs]
    # the bits each register of each level holds, from the leaves up: a register holds what the
    # registers it drives need
    holds = [[frozenset(bits) for bits in needs]]
    for _ in range(levels - 1):
        below = holds[0]
        holds.insert(0, [frozenset().union(*below[start:start + COPIES_PER_REGISTER])
                         for start in range(0, len(below), COPIES_PER_REGISTER)])
    # then from the source down: each register copies its bits from the register above it
    above = [{bit: source[bit] for bit in range(len(source))}]     # bit of source -> its copy
    for level, registers in enumerate(holds):
        copies = []
        for index, bits in enumerate(registers):
            parent = above[index // COPIES_PER_REGISTER]
            order = sorted(bits)
            copy = {}
            if order:
                replica = m.submodules[f"replica_{name}_l{level}_{index}"] = Replica(
                    len(order), enabled=enable is not None)
                m.d.comb += replica.i.eq(Cat(*(parent[bit] for bit in order)))
                if enable is not None:
                    m.d.comb += replica.en.eq(enable)
                copy = {bit: replica.o[position] for position, bit in enumerate(order)}
            copies.append(copy)
        above = copies
    leaves = []
    for index, copy in enumerate(above):
        full = Signal(source.shape(), name=f"{name}_copy{index}")
        m.d.comb += [full[bit].eq(value) for bit, value in copy.items()]
        leaves.append(full)
    return leaves
