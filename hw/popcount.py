"""`popcount.Tree`: the number of ones in a bit vector, as a balanced adder tree.

Ports: `i` (width bits) in, `o` = popcount(i) out (unsigned, enough bits for `width`), and `en`, the
clock enable of the pipeline registers (held high by default). With `element_bits = b > 1` the tree
sums `width` unsigned b-bit elements instead (element n at bits [n b, (n+1) b)): the weighted
popcount sum_t 2^t popcount(bit plane t) in one tree, which is how a first layer adds its pixels.
With `pipeline = p` the tree has p register levels spread evenly over its ceil(log2 width) adder
levels, so `latency` = p cycles and a new input is accepted every cycle while `en` is high.
With `by_fours` (full pipelining) its first level counts four bits at a time in LUTs
(`adders.count_fours`) instead of two levels of 1- and 2-bit adds; same value, same latency.

This is the `generic` popcount, which yosys maps (about 2 LUT4 per input bit); `Counter` is what
every popcount shares, and `hw.popcount_strategy` picks one per design.
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .adders import balanced_sum, popcount_by_fours, spread, tree_depth


def check_shape(width, element_bits) -> None:
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"Popcount width must be a positive integer, not {width!r}")
    if not isinstance(element_bits, int) or element_bits < 1:
        raise ValueError(f"Popcount element bits must be a positive integer, not {element_bits!r}")


class Counter(wiring.Component):
    """What every popcount strategy's tree shares: checked width and element bits, the ports
    `i`, `o`, `en`, the `registered_levels` and the `latency` they give."""

    def __init__(self, width: int, *, element_bits: int = 1, registered_levels=()):
        check_shape(width, element_bits)
        self.width = width
        self.element_bits = element_bits
        self.registered_levels = tuple(registered_levels)
        largest = width * ((1 << element_bits) - 1)
        super().__init__({"i": In(width * element_bits), "o": Out(range(largest + 1)), "en": In(1, init=1)})

    @property
    def latency(self) -> int:
        """Cycles from `i` to `o`."""
        return len(self.registered_levels)


class Tree(Counter):
    def __init__(self, width: int, *, element_bits: int = 1, pipeline: int = 0, registered_levels=None,
                 name_every: int = 1, by_fours: bool = False):
        check_shape(width, element_bits)
        if not isinstance(pipeline, int) or pipeline < 0:
            raise ValueError(f"Pipeline depth must be a non-negative integer, not {pipeline!r}")
        self.name_every = name_every
        # count bits four at a time in LUTs first (`adders.count_fours`; 1-bit elements only)
        self.by_fours = by_fours and element_bits == 1
        # explicit register levels let trees of different widths share one latency (mvu.Unrolled)
        if registered_levels is None:
            registered_levels = spread(pipeline, tree_depth(width))
        super().__init__(width, element_bits=element_bits, registered_levels=registered_levels)

    def elaborate(self, platform):
        m = Module()
        b = self.element_bits
        elements = [self.i[index * b:(index + 1) * b] for index in range(self.width)]
        add = popcount_by_fours if self.by_fours else balanced_sum
        total = add(m, elements, name="pop", registered_levels=self.registered_levels, enable=self.en,
                    name_every=self.name_every)
        m.d.comb += self.o.eq(total)
        return m
