"""`mvu.Unrolled`: a fully unrolled, constant-weight matrix-vector unit for one weight layer.

It computes, for every output o, the integer pre-activation of the layout (model/layout.py):

    Y_o = sum_i R[o, i] sum_k Q_k D_{o,i,k}

with one XNOR-popcount lane per weight bit: plane i of output o only counts the weights whose bit
count exceeds i, so a weight with b bits costs b lanes, and a layer with no 3-bit weights has no
plane-3 logic at all. Weights are constants, so XNOR with a weight is a wire or an inverter:

- residual inputs (level bit 1 = +1): the ±1 dot product over the n members of plane i is
  D = n - 2 P with P = popcount of the mismatches, c_j = level bit XOR (weight is +1);
- pixel inputs (unsigned planes u_t, weight Q_t = 2^t): D = sum_pos u - sum_neg u = P - n_neg with
  P = popcount of c_j = u_j for +1 weights and NOT u_j for -1 weights.

No inverter is built: the members whose c_j is an inverted input bit are counted apart,
P = popcount(plain bits) + n_inv - popcount(inverted bits), so every popcount sees raw input bits
and is a pure function of its width (one shared module per width, mapped once by synthesis).
A plane whose members are the whole fan-in (plane 0 always; every plane of a uniform mix) counts
only its smaller sign group: the other group's count is T minus it, with T the popcount (or pixel
sum) of all inputs, computed once and shared by every output. That halves the lanes of such planes.
Either way Y_o = C_o + sum m P over the popcounts, with integer constants C and m, summed by a
balanced adder tree; each m P enters it as shifted copies of P (`adders.signed_digits`), so the
netlist has adds only and synthesis never spends DSP blocks on constant multiplies.

Ports: `i` (fan-in x input bits; element j at bits [j b, (j+1) b)),
`o` (an array of `out_channels` signed accumulators wide enough for every reachable Y) and `en`, the
clock enable of the pipeline registers. `pipeline` register levels sit inside the popcount trees,
aligned so every lane has the same `latency`. `pipeline="full"` registers every adder level: each
popcount level, and each level of the combining tree, which then takes a positive and a negative
popcount as two terms instead of subtracting them first (one add per stage), and gives each group
of outputs its own registered copy of the input (`fanout`: a register tree); `latency` = fan-out
depth + popcount depth + combining depth, all known before elaboration (`_plan`). With a `popcount_library.Library` the popcounts are
instances of shared modules (fast Verilog generation); by default (`popcount_library.Inline`) they
are trees built in place (what the Amaranth simulator runs). Either builds them with its
`popcount.Strategy` (generic adder trees, or mapped vendor cells).
"""

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.layout import WeightLayer

from . import fanout, popcount_library
from .adders import balanced_sum, constant_product_terms, signed_digits, spread, tree_depth
from .pipeline_setting import FULL, check_pipeline
from .threshold import IDENTITY


@dataclass(frozen=True)
class Count:
    """A popcount (residual inputs: bit `plane` of the `members`' levels) or pixel sum (pixel
    inputs, plane None) of the input elements `members`; `shared` ones are built once per layer."""
    name: str
    members: tuple[int, ...]
    plane: int | None = None
    shared: bool = False


@dataclass
class OutputPlan:
    """Y_o = constant + sum of m * (plus - minus) over `parts` (a None count is 0)."""
    constant: int
    parts: list[tuple[Count | None, Count | None, int]]

    def terms(self) -> int:
        """Terms of the combining tree (each multiplier in signed digits, and the constant)."""
        return sum(len(signed_digits(m)) for _, _, m in self.parts) + 1


class Unrolled(wiring.Component):
    def __init__(self, layer: WeightLayer, *, pipeline=0, library=None, progress=None):
        if not isinstance(layer, WeightLayer):
            raise TypeError(f"MVU layer must be a model.layout.WeightLayer, not {type(layer).__name__}")
        check_pipeline(pipeline)
        self.layer = layer
        # where popcounts come from: popcount_library.Library (shared modules) or .Inline (in place)
        self.library = popcount_library.Inline() if library is None else library
        self.progress = progress      # called with 1 after each output is built (long generations)
        self.in_bits = layer.input.bits
        self.acc_width = layer.accumulator_width()
        self.full = pipeline == FULL
        largest = int((layer.bits > 0).sum(axis=1).max())
        popcount_depth = tree_depth(largest)
        self.plans = [self._plan(o) for o in range(layer.out_channels)]
        # Full pipelining: each group of outputs reads its own registered copy of the input
        # (`fanout`), so no input bit drives lanes all over the layer from one flip-flop.
        self.groups = fanout.groups(layer.out_channels) if self.full else [range(layer.out_channels)]
        self.fanout_depth = fanout.depth(len(self.groups))
        # Set (through `dense.Layer.free_running`) when the pipeline never stalls: the copies'
        # registers then have no clock enable (they sit in kept modules, where a constant enable
        # arriving through a port would not be optimized away).
        self.free_running = False
        if self.full:
            self.registered_levels = tuple(range(1, popcount_depth + 1))
            self.combining_levels = tuple(range(1, max(tree_depth(p.terms()) for p in self.plans) + 1))
        else:
            self.registered_levels = spread(pipeline, popcount_depth)
            self.combining_levels = ()
        super().__init__({
            "i": In(layer.fan_in * self.in_bits),
            "o": Out(data.ArrayLayout(self.accumulator_shape(layer), layer.out_channels)),
            "en": In(1, init=1),
        })

    @property
    def latency(self) -> int:
        return self.fanout_depth + len(self.registered_levels) + len(self.combining_levels)

    @property
    def maps(self) -> list:
        """Every output is Y itself (`threshold.OutputMap`; `mvu_shared` leaves a map to fold)."""
        return [IDENTITY] * self.layer.out_channels

    @staticmethod
    def accumulator_shape(layer: WeightLayer):
        return signed(layer.accumulator_width())

    def input_bits(self, count: Count) -> list[list[int]]:
        """Per element of `count`, the positions in `i` of the bits it sums: bit k of element j in
        the popcount's sense (module docstring), or all of a pixel's bits (LSB first)."""
        b = self.in_bits
        if count.plane is None:
            return [list(range(j * b, (j + 1) * b)) for j in count.members]          # a pixel u
        if self.layer.input.kind == "pixels":
            return [[j * b + count.plane] for j in count.members]                    # u_t, t = k
        return [[j * b + (b - 1 - count.plane)] for j in count.members]    # level plane k, MSB first

    def _plan(self, o: int) -> OutputPlan:
        """Output o as popcounts times constants (module docstring), before any logic is built."""
        layer = self.layer
        pixels = layer.input.kind == "pixels"
        everyone = tuple(range(layer.fan_in))
        plan = OutputPlan(0, [])

        def product(count: Count, multiplier: int):
            plan.parts.append((count, None, multiplier))

        def difference(plus: Count, minus: Count, multiplier: int):
            if self.full:           # one add per stage: the two counts are terms of the combining tree
                plan.parts.extend((c, None, s * multiplier) for c, s in ((plus, 1), (minus, -1)) if c.members)
            elif plus.members or minus.members:
                plan.parts.append((plus if plus.members else None, minus if minus.members else None, multiplier))

        for i in range(layer.planes.shape[0]):
            members = layer.plane_members(i, o)
            r = int(layer.plane_weights[o, i])
            if members.size == 0 or r == 0:
                continue
            negative = layer.planes[i, o, members].astype(bool)
            positive_members = tuple(members[~negative].tolist())
            negative_members = tuple(members[negative].tolist())
            # A plane that spans the whole fan-in counts only its smaller sign group and takes
            # the other from the shared total (sum_neg = T - sum_pos): about half the lanes.
            whole = members.size == layer.fan_in
            smaller_is_pos = len(positive_members) <= len(negative_members)
            chosen, sign = (positive_members, 1) if smaller_is_pos else (negative_members, -1)
            if pixels:
                # D = sum_pos u - sum_neg u  (= 2 sum_pos u - T  or  T - 2 sum_neg u)
                if whole:
                    product(Count("total_pixels", everyone, shared=True), -sign * r)     # no $mul
                    if chosen:
                        product(Count(f"o{o}_p{i}_part", chosen), 2 * sign * r)
                else:   # subtract before scaling: one set of shifted copies instead of two
                    difference(Count(f"o{o}_p{i}_pos", positive_members),
                               Count(f"o{o}_p{i}_neg", negative_members), r)
                continue
            # residual inputs: D = n - 2 P with P = popcount of the mismatches (level bit for
            # -1 weights, ~level bit for +1 weights) = pop(bits of -1 weights) + n_pos -
            # pop(bits of +1 weights): raw input bits, no inverters. So
            # D = n - 2 n_pos + 2 pop(pos) - 2 pop(neg)  (= ... + 4 pop(pos) - 2 T  or  ... - 4 pop(neg) + 2 T)
            for k, q in enumerate(layer.input.plane_weights):
                plan.constant += r * q * (int(members.size) - 2 * len(positive_members))
                if whole:
                    product(Count(f"total_k{k}", everyone, k, shared=True), -2 * sign * r * q)
                    if chosen:
                        product(Count(f"o{o}_p{i}_k{k}_part", chosen, k), 4 * sign * r * q)
                else:
                    difference(Count(f"o{o}_p{i}_k{k}_pos", positive_members, k),
                               Count(f"o{o}_p{i}_k{k}_neg", negative_members, k), 2 * r * q)
        return plan

    def _popcount(self, m: Module, count: Count, source):
        """Sum of the count's elements of `source` (`i` or a copy of it; equal-width unsigned
        values: bits, or pixels), registered at `registered_levels`, from the popcount source
        (shared module instance, or inline tree)."""
        elements = self.input_bits(count)
        bits = len(elements[0])
        lanes = Signal(len(elements) * bits, name=f"{count.name}_in")
        m.d.comb += lanes.eq(Cat(*(source[position] for element in elements for position in element)))
        return self.library.instantiate(m, lanes, element_bits=bits, registered_levels=self.registered_levels,
                                        enable=self.en, name=count.name, by_fours=self.full)

    def _input_needs(self, group: range) -> set[int]:
        """The bits of `i` that the own (not shared) counts of a group's outputs read."""
        return {position for o in group for plus, minus, _ in self.plans[o].parts
                for count in (plus, minus) if count is not None and not count.shared
                for element in self.input_bits(count) for position in element}

    def elaborate(self, platform):
        m = Module()
        enable = None if self.free_running else self.en
        inputs = fanout.tree(m, self.i, [self._input_needs(group) for group in self.groups],
                             name="i", enable=enable)
        group_of = {o: g for g, group in enumerate(self.groups) for o in group}
        shared = {}   # the whole-fan-in totals, built once for every output, and copied per group

        def popcount(count: Count, o: int):
            if not count.shared:
                return self._popcount(m, count, inputs[group_of[o]])
            if count.name not in shared:
                total = self._popcount(m, count, self.i)
                copies = fanout.tree(m, total, [set(range(len(total)))] * len(self.groups),
                                     name=count.name, enable=enable)
                shared[count.name] = copies
            return shared[count.name][group_of[o]]

        for o, plan in enumerate(self.plans):
            terms = []
            for plus, minus, multiplier in plan.parts:
                if minus is None or plus is None:
                    if minus is None:
                        terms.extend(constant_product_terms(popcount(plus, o), multiplier))
                    elif self.full:     # a term to subtract (balanced_sum's `subtract`)
                        terms.extend(constant_product_terms(popcount(minus, o), -multiplier))
                    else:               # negated, then scaled: the netlist the README's tables measured
                        terms.extend(constant_product_terms(-popcount(minus, o), multiplier))
                    continue
                positive, negative = popcount(plus, o), popcount(minus, o)
                difference = Signal(signed(max(len(positive), len(negative)) + 1), name=f"{plus.name[:-4]}_diff")
                # positive + (-negative) as the generic tables were measured; yosys builds the
                # negation as a chain of its own (positive - negative is cheaper: docs/hardware.md)
                m.d.comb += difference.eq(positive + -negative)
                terms.extend(constant_product_terms(difference, multiplier))
            total = balanced_sum(m, terms + [plan.constant], name=f"o{o}_sum",
                                 registered_levels=self.combining_levels, enable=self.en, subtract=self.full)
            accumulator = Signal(signed(self.acc_width), name=f"y{o}")
            m.d.comb += [accumulator.eq(total), self.o[o].eq(accumulator)]
            if self.progress is not None:
                self.progress(1)
        return m
