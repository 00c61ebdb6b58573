"""`mvu_shared.Unrolled`: a fully unrolled, constant-weight MVU whose outputs share their adds.

Same job as `mvu.Unrolled` (the layer's pre-activations Y_o = sum_j W[o, j] V(L_j), model/layout.py),
different arithmetic: instead of one set of popcounts and an adder tree per output, the whole
layer is one `adder_graph.Graph` over all outputs, solved by da4ml with common-subexpression
elimination, so a pattern a ± (b << s) that many outputs need is built once.

The constant matrix K and the integer input vector x:

- pixel inputs: x_j = the pixel's level u_j (0 .. 2^b - 1), and W = sum_i R_i S_i with S_i the
  +-1 (0 where the weight has no plane i) sign matrix of plane i, so Y_o = sum_i R[o, i] (x S_i^T)_o;
- residual inputs: x_{k, j} = bit k of level j (1 = +1, plane-major: row k * fan_in + j), and since
  V = sum_k Q_k (2 bit_k - 1), Y_o = sum_{i, k} 2 Q_k R[o, i] (x_k S_i^T)_o - (sum_k Q_k) sum_j W[o, j].

Two ways to hand that product to da4ml (`FORMS`), and the unit builds the one with fewer adder
bits (`choose_form`; a layer larger than `FORM_SAMPLE` is judged on a sample of its matrix, because
da4ml's time grows steeply and the matrix form of a scattered 1.4-bit layer is the slow one: 81 s
against 6.6 s for the planes form of one 256 x 64 tile of random weights):

- ``planes``: each plane matrix S_i is one `adder_graph.Part`, solved on its own, its outputs
  scaled by shifted copies of R (free wires for power-of-two ratios). Cheaper where partial planes
  are scattered (digits MLP layer 0, Middle-Out 1.4 bits: 7,033 adder bits against 8,528);
- ``matrix``: the integer matrix W (for residual inputs, one block 2 Q_k W per input plane) as one
  part, which da4ml splits into signed digits itself. Cheaper for uniform mixes and for masks shared
  by whole columns (2 bits: 6,224 against 6,318; benchmarks/arithmetic.py).

The graph's output o is ±2^s times one of its nodes. The unit emits that node, X_o, and publishes
`maps[o]`, the `threshold.OutputMap` with Y_o = ±2^s X_o + C_o (C_o the residual constant above),
so the threshold unit folds sign, shift and constant into its comparisons for free. With
`exact=True` (the last layer, whose scores the argmax compares) the unit applies the maps itself
and `o` carries Y_o.

Ports as `mvu.Unrolled`: `i` (fan-in x input bits), `o` (array of signed values, `acc_width` bits),
`en` (clock enable of the pipeline registers). `pipeline` registers are spread over the graph's
levels (adds on the longest path, `adders.spread`; `pipeline_setting.FULL`: one after every
level); a value used in a later stage than it is made is carried there by registers, so every
path has the same `latency`.
"""

import numpy as np
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.layout import WeightLayer, signed_width

from . import adder_graph
from .adders import spread
from .pipeline_setting import FULL, check_pipeline
from .threshold import OutputMap


FORMS = ("planes", "matrix")

#: (kernel rows, outputs): a layer whose parts fit in this is solved whole in both forms to pick
#: one; a larger layer picks its form on a sample this size of every part (rows spread evenly
#: over the fan-in, the first outputs) and is then solved once. On the nine MNIST-1D layers
#: measured (192 x 64 and 640 x 10; Middle-Out 1.4 bits, column-shared, 2 bits) the sample picks
#: the form the whole layer does; a 64-row sample missed two of them.
FORM_SAMPLE = (128, 64)


def layer_product(layer: WeightLayer, form: str = "planes"):
    """(parts, input ranges, constants C): Y = sum of the parts' products + C, in `form` (module
    docstring)."""
    if form not in FORMS:
        raise ValueError(f"unknown product form {form!r}; choose one of: {', '.join(FORMS)}")
    if form == "planes":
        kernels = [signs.T.copy() for signs in layer.plane_signs()]                 # (K, O) each
        scales = list(layer.plane_weights.T)                                        # R[o, i] per plane
    else:
        kernels = [layer.integer_weights().T.copy()]
        scales = [np.ones(layer.out_channels, np.int64)]
    if layer.input.kind == "pixels":
        parts = [adder_graph.Part(range(layer.fan_in), k, r) for k, r in zip(kernels, scales)]
        return parts, [(0, (1 << layer.input.bits) - 1)] * layer.fan_in, np.zeros(layer.out_channels, np.int64)
    q = layer.input.plane_weights
    parts = [adder_graph.Part(range(j * layer.fan_in, (j + 1) * layer.fan_in), k, 2 * qj * r)
             for j, qj in enumerate(q) for k, r in zip(kernels, scales)]
    constants = -int(sum(q)) * layer.integer_weights().sum(axis=1)
    return parts, [(0, 1)] * (len(q) * layer.fan_in), constants


def product_graph(layer: WeightLayer, form: str, progress=None, **tiles) -> tuple[adder_graph.Graph, np.ndarray]:
    """The adder graph of the layer's product in `form`, and the constants C (`progress` as
    `adder_graph.solve_sum`'s)."""
    parts, ranges, constants = layer_product(layer, form)
    return adder_graph.solve_sum(parts, ranges, progress=progress, **tiles), constants


def _sample(parts: list[adder_graph.Part], rows: int, outputs: int) -> list[adder_graph.Part]:
    """`rows` kernel rows spread evenly over each part's fan-in (so masks shared by columns are
    sampled in proportion), and its first `outputs` outputs."""
    picked = []
    for part in parts:
        kernel = np.asarray(part.kernel)
        chosen = np.unique(np.linspace(0, kernel.shape[0] - 1, min(rows, kernel.shape[0])).round().astype(int))
        picked.append(adder_graph.Part([list(part.rows)[r] for r in chosen], kernel[chosen, :outputs],
                                       np.asarray(part.scales)[:outputs]))
    return picked


def fits_sample(layer: WeightLayer) -> bool:
    """Whether every part of the layer lies within `FORM_SAMPLE` (then both forms are solved whole)."""
    return layer.fan_in <= FORM_SAMPLE[0] and layer.out_channels <= FORM_SAMPLE[1]


def choose_form(layer: WeightLayer) -> str:
    """The form whose graph has fewer adder bits on a `FORM_SAMPLE` sample of the layer's parts."""
    bits = {}
    for form in FORMS:
        parts, ranges, _ = layer_product(layer, form)
        bits[form] = adder_graph.solve_sum(_sample(parts, *FORM_SAMPLE), ranges).adder_bits()
    return min(FORMS, key=bits.get)


def solve(layer: WeightLayer, form: str | None = None, progress=None,
          **tiles) -> tuple[adder_graph.Graph, list[OutputMap]]:
    """The layer's adder graph in `form` (None: the form with fewer adder bits, `choose_form` for
    a layer larger than `FORM_SAMPLE`), its outputs cut back to nodes, and the map of each output.
    `progress(outputs)` follows the solve (a layer's solve adds up to its outputs)."""
    if form is None and fits_sample(layer):
        graph, constants = min((product_graph(layer, f, **tiles) for f in FORMS),
                               key=lambda solved: solved[0].adder_bits())
        if progress is not None:
            progress(layer.out_channels)
    else:
        graph, constants = product_graph(layer, form or choose_form(layer), progress, **tiles)
    maps, outputs = [], []
    for term, constant in zip(graph.outputs, constants.tolist()):
        if term is None:                                     # an all-zero column: Y_o = C_o
            outputs.append(None)
            maps.append(OutputMap(offset=int(constant)))
            continue
        shift = graph.nodes[term.node].exponent + term.shift
        if shift < 0:
            raise ValueError("an output of the adder graph is not an integer (negative shift)")
        outputs.append(adder_graph.Term(term.node))
        maps.append(OutputMap(term.negative, shift, int(constant)))
    graph.outputs = outputs
    return graph, maps


class Unrolled(wiring.Component):
    def __init__(self, layer: WeightLayer, *, pipeline=0, exact: bool = False, progress=None,
                 form: str | None = None, **tiles):
        if not isinstance(layer, WeightLayer):
            raise TypeError(f"MVU layer must be a model.layout.WeightLayer, not {type(layer).__name__}")
        check_pipeline(pipeline)
        self.layer = layer
        self.exact = exact
        self.in_bits = layer.input.bits
        self.graph, node_maps = solve(layer, form, progress, **tiles)     # the progress bar follows the solve
        self.maps = [OutputMap() for _ in node_maps] if exact else node_maps
        self._node_maps = node_maps
        depth = self.graph.depth
        self.full = pipeline == FULL          # (read by dense.Layer, as mvu.Unrolled's)
        self.registered_levels = tuple(range(1, depth + 1)) if pipeline == FULL else spread(pipeline, depth)
        if exact:
            self.acc_width = layer.accumulator_width()
        else:
            nodes = [self.graph.nodes[t.node] for t in self.graph.outputs if t is not None]
            self.acc_width = signed_width(min((n.low for n in nodes), default=0),
                                          max((n.high for n in nodes), default=0) + 1)
        super().__init__({
            "i": In(layer.fan_in * self.in_bits),
            "o": Out(data.ArrayLayout(signed(self.acc_width), layer.out_channels)),
            "en": In(1, init=1),
        })

    @property
    def latency(self) -> int:
        return len(self.registered_levels)

    def _input(self, index: int):
        """Element `index` of the graph's input vector x (module docstring)."""
        b, fan_in = self.in_bits, self.layer.fan_in
        if self.layer.input.kind == "pixels":
            return self.i[index * b:(index + 1) * b]
        k, j = divmod(index, fan_in)
        return self.i[j * b + (b - 1 - k)]                 # plane k of a level, MSB first

    def elaborate(self, platform):
        m = Module()
        graph, registered = self.graph, self.registered_levels
        made = {}        # node -> (signal, stage it is valid in)
        carried = {}     # (node, stage) -> the node's value registered into that stage

        def stage_of(level):      # the stage a node's adds are computed in
            return sum(r < level for r in registered)

        def at(node: int, stage: int):
            signal, ready = made[node]
            while ready < stage:
                key = (node, ready + 1)
                if key not in carried:
                    carried[key] = Signal.like(signal, name=f"n{node}_s{ready + 1}")
                    with m.If(self.en):
                        m.d.sync += carried[key].eq(signal)
                signal, ready = carried[key], ready + 1
            return signal

        def magnitude(term, exponent, stage):
            """The term's node shifted to `exponent`, without the term's sign."""
            node = graph.nodes[term.node]
            value = at(term.node, stage)
            shift = node.exponent + term.shift - exponent
            return value.shift_left(shift) if shift else value

        def add(a, b, exponent, stage):
            # a - b, not a + (-b): yosys builds a negated unsigned value as a chain of its own
            # (twice the CCU2Cs of the add), but folds a subtraction into one chain. (The graph
            # never holds -a - b: `adder_graph.Graph.add`.)
            x, y = magnitude(a, exponent, stage), magnitude(b, exponent, stage)
            if a.negative or b.negative:
                return y - x if a.negative else x - y
            return x + y

        for index, node in enumerate(graph.nodes):
            signal = Signal(range(node.low, node.high + 1), name=f"n{index}", attrs={"keep": 1})
            if isinstance(node.op, adder_graph.Input):
                m.d.comb += signal.eq(self._input(node.op.index))
                made[index] = (signal, 0)
                continue
            stage = stage_of(node.level)
            value = add(node.op.a, node.op.b, node.exponent, stage)
            if node.level in registered:
                with m.If(self.en):
                    m.d.sync += signal.eq(value)
                made[index] = (signal, stage + 1)
            else:
                m.d.comb += signal.eq(value)
                made[index] = (signal, stage)

        # Outputs, aligned to the last stage (extra registers past the deepest node included).
        last = len(registered)
        for o, (term, output_map) in enumerate(zip(graph.outputs, self._node_maps)):
            value = 0 if term is None else at(term.node, last)
            if self.exact:
                shifted = value.shift_left(output_map.shift) if output_map.shift and term is not None else value
                value = output_map.offset - shifted if output_map.negative else shifted + output_map.offset
            m.d.comb += self.o[o].eq(value)
        return m
