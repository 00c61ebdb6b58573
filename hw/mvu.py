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
aligned so every lane has the same `latency`. With a `popcount_library.Library` the popcounts are
instances of shared modules (fast Verilog generation); by default (`popcount_library.Inline`) they
are trees built in place (what the Amaranth simulator runs). Either builds them with its
`popcount.Strategy` (generic adder trees, or mapped vendor cells).
"""

import numpy as np
from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.layout import WeightLayer

from . import popcount_library
from .adders import balanced_sum, constant_product_terms, spread, tree_depth
from .threshold import IDENTITY


class Unrolled(wiring.Component):
    def __init__(self, layer: WeightLayer, *, pipeline: int = 0, library=None, progress=None):
        if not isinstance(layer, WeightLayer):
            raise TypeError(f"MVU layer must be a model.layout.WeightLayer, not {type(layer).__name__}")
        if not isinstance(pipeline, int) or pipeline < 0:
            raise ValueError(f"Pipeline depth must be a non-negative integer, not {pipeline!r}")
        self.layer = layer
        # where popcounts come from: popcount_library.Library (shared modules) or .Inline (in place)
        self.library = popcount_library.Inline() if library is None else library
        self.progress = progress      # called with 1 after each output is built (long generations)
        self.in_bits = layer.input.bits
        self.acc_width = layer.accumulator_width()
        largest = int((layer.bits > 0).sum(axis=1).max())
        self.registered_levels = spread(pipeline, tree_depth(largest))
        super().__init__({
            "i": In(layer.fan_in * self.in_bits),
            "o": Out(data.ArrayLayout(self.accumulator_shape(layer), layer.out_channels)),
            "en": In(1, init=1),
        })

    @property
    def latency(self) -> int:
        return len(self.registered_levels)

    @property
    def maps(self) -> list:
        """Every output is Y itself (`threshold.OutputMap`; `mvu_shared` leaves a map to fold)."""
        return [IDENTITY] * self.layer.out_channels

    @staticmethod
    def accumulator_shape(layer: WeightLayer):
        return signed(layer.accumulator_width())

    def input_plane_bit(self, j: int, k: int):
        """Bit k of input element j in the popcount's sense (see the module docstring)."""
        b = self.in_bits
        if self.layer.input.kind == "pixels":
            return self.i[j * b + k]                  # u_t, t = k (LSB first)
        return self.i[j * b + (b - 1 - k)]            # plane k of a level, MSB first; 1 = +1

    def pixel(self, j: int):
        """Input element j as an unsigned pixel value (pixel inputs)."""
        return self.i[j * self.in_bits:(j + 1) * self.in_bits]

    def _popcount(self, m: Module, elements: list, *, name: str):
        """Sum of `elements` (equal-width unsigned values: bits, or pixels), registered at
        `registered_levels`, from the popcount source (shared module instance, or inline tree)."""
        bits = len(elements[0])
        lanes = Signal(len(elements) * bits, name=f"{name}_in")
        m.d.comb += lanes.eq(Cat(*elements))
        return self.library.instantiate(m, lanes, element_bits=bits, registered_levels=self.registered_levels,
                                        enable=self.en, name=name)

    def _difference(self, m: Module, plus: list, minus: list, *, name: str):
        """sum(plus) - sum(minus) as one signed value (either list may be empty)."""
        parts = []
        if plus:
            parts.append(self._popcount(m, plus, name=f"{name}_pos"))
        if minus:
            negative = self._popcount(m, minus, name=f"{name}_neg")
            parts.append(-negative)
        if len(parts) == 2:
            difference = Signal(signed(max(len(parts[0]), len(negative)) + 1), name=f"{name}_diff")
            m.d.comb += difference.eq(parts[0] + parts[1])
            return difference
        return parts[0]

    def elaborate(self, platform):
        m = Module()
        layer = self.layer
        pixels = layer.input.kind == "pixels"
        input_weights = layer.input.plane_weights
        everyone = np.arange(layer.fan_in)
        totals = {}   # shared across outputs: sum of all pixels, or popcount of all bits of plane k

        def shared_total(key, elements):
            if key not in totals:
                totals[key] = self._popcount(m, elements, name=f"total_{key}")
            return totals[key]

        for o in range(layer.out_channels):
            constant, terms = 0, []
            for i in range(layer.planes.shape[0]):
                members = layer.plane_members(i, o)
                r = int(layer.plane_weights[o, i])
                if members.size == 0 or r == 0:
                    continue
                negative = layer.planes[i, o, members].astype(bool)
                positive_members, negative_members = members[~negative], members[negative]
                # A plane that spans the whole fan-in counts only its smaller sign group and takes
                # the other from the shared total (sum_neg = T - sum_pos): about half the lanes.
                whole = members.size == layer.fan_in
                smaller_is_pos = positive_members.size <= negative_members.size
                if pixels:
                    # D = sum_pos u - sum_neg u  (= 2 sum_pos u - T  or  T - 2 sum_neg u)
                    if whole:
                        chosen, sign = (positive_members, 1) if smaller_is_pos else (negative_members, -1)
                        total = shared_total("pixels", [self.pixel(j) for j in everyone.tolist()])
                        terms.extend(constant_product_terms(total, -sign * r))      # no $mul, no DSPs
                        if chosen.size:
                            terms.extend(constant_product_terms(
                                self._popcount(m, [self.pixel(j) for j in chosen.tolist()], name=f"o{o}_p{i}_part"),
                                2 * sign * r))
                    else:   # subtract before scaling: one set of shifted copies instead of two
                        difference = self._difference(m, [self.pixel(j) for j in positive_members.tolist()],
                                                      [self.pixel(j) for j in negative_members.tolist()],
                                                      name=f"o{o}_p{i}")
                        terms.extend(constant_product_terms(difference, r))
                    continue
                # residual inputs: D = n - 2 P with P = popcount of the mismatches (level bit for
                # -1 weights, ~level bit for +1 weights) = pop(bits of -1 weights) + n_pos -
                # pop(bits of +1 weights): raw input bits, no inverters. So
                # D = n - 2 n_pos + 2 pop(pos) - 2 pop(neg)  (= ... + 4 pop(pos) - 2 T  or  ... - 4 pop(neg) + 2 T)
                for k, q in enumerate(input_weights):
                    constant += r * q * (int(members.size) - 2 * int(positive_members.size))
                    if whole:
                        chosen, sign = (positive_members, 1) if smaller_is_pos else (negative_members, -1)
                        total = shared_total(f"k{k}", [self.input_plane_bit(j, k) for j in everyone.tolist()])
                        terms.extend(constant_product_terms(total, -2 * sign * r * q))
                        if chosen.size:
                            terms.extend(constant_product_terms(
                                self._popcount(m, [self.input_plane_bit(j, k) for j in chosen.tolist()],
                                               name=f"o{o}_p{i}_k{k}_part"), 4 * sign * r * q))
                    else:
                        difference = self._difference(
                            m, [self.input_plane_bit(j, k) for j in positive_members.tolist()],
                            [self.input_plane_bit(j, k) for j in negative_members.tolist()], name=f"o{o}_p{i}_k{k}")
                        terms.extend(constant_product_terms(difference, 2 * r * q))
            total = balanced_sum(m, terms + [constant], name=f"o{o}_sum")
            accumulator = Signal(signed(self.acc_width), name=f"y{o}")
            m.d.comb += [accumulator.eq(total), self.o[o].eq(accumulator)]
            if self.progress is not None:
                self.progress(1)
        return m
