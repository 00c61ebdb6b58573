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

Either way Y_o = C_o + sum_{i,k} m_{o,i,k} P_{o,i,k} with integer constants C and m, summed by a
balanced adder tree. Ports: `i` (fan-in x input bits; element j at bits [j b, (j+1) b)),
`o` (an array of `out_channels` signed accumulators wide enough for every reachable Y) and `en`, the
clock enable of the pipeline registers. `pipeline` register levels sit inside the popcount trees,
aligned so every lane has the same `latency`. With a `popcount_library.Library` the popcounts are
instances of shared modules (fast Verilog generation); without one they are inline trees (what
the Amaranth simulator runs).
"""

from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from model.layout import WeightLayer

from .adders import balanced_sum, spread, tree_depth


class Unrolled(wiring.Component):
    def __init__(self, layer: WeightLayer, *, pipeline: int = 0, library=None):
        if not isinstance(layer, WeightLayer):
            raise TypeError(f"MVU layer must be a model.layout.WeightLayer, not {type(layer).__name__}")
        if not isinstance(pipeline, int) or pipeline < 0:
            raise ValueError(f"Pipeline depth must be a non-negative integer, not {pipeline!r}")
        self.layer = layer
        self.library = library       # a popcount_library.Library: instantiate shared modules
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

    @staticmethod
    def accumulator_shape(layer: WeightLayer):
        return signed(layer.accumulator_width())

    def input_plane_bit(self, j: int, k: int):
        """Bit k of input element j in the popcount's sense (see the module docstring)."""
        b = self.in_bits
        if self.layer.input.kind == "pixels":
            return self.i[j * b + k]                  # u_t, t = k (LSB first)
        return self.i[j * b + (b - 1 - k)]            # plane k of a level, MSB first; 1 = +1

    def elaborate(self, platform):
        m = Module()
        layer = self.layer
        pixels = layer.input.kind == "pixels"
        input_weights = layer.input.plane_weights
        for o in range(layer.out_channels):
            constant, terms = 0, []
            for i in range(layer.planes.shape[0]):
                members = layer.plane_members(i, o)
                r = int(layer.plane_weights[o, i])
                if members.size == 0 or r == 0:
                    continue
                negative = layer.planes[i, o, members].astype(bool)
                for k, q in enumerate(input_weights):
                    # c_j: pixels count u for +1 weights and ~u for -1 weights; residual inputs
                    # count mismatches, i.e. level bit for -1 weights and ~(level bit) for +1 ones.
                    # One XOR with a constant mask inverts them all at once.
                    gathered = Cat(*[self.input_plane_bit(j, k) for j in members.tolist()])
                    invert = sum(1 << n for n, neg in enumerate(negative.tolist()) if neg == pixels)
                    lanes = Signal(len(members), name=f"o{o}_p{i}_k{k}_lanes")
                    m.d.comb += lanes.eq(gathered ^ invert)
                    if self.library is not None:
                        popcount = self.library.instantiate(
                            m, lanes, registered_levels=self.registered_levels, enable=self.en)
                    else:
                        popcount = balanced_sum(m, [lanes[n] for n in range(len(members))],
                                                name=f"o{o}_p{i}_k{k}",
                                                registered_levels=self.registered_levels,
                                                enable=self.en, name_every=4)
                    if pixels:
                        scale, offset = r * q, -r * q * int(negative.sum())
                    else:
                        scale, offset = -2 * r * q, r * q * int(members.size)
                    constant += offset
                    terms.append(popcount * scale)
            total = balanced_sum(m, terms + [constant], name=f"o{o}_sum")
            accumulator = Signal(signed(self.acc_width), name=f"y{o}")
            m.d.comb += [accumulator.eq(total), self.o[o].eq(accumulator)]
        return m
