"""`adder_graph.Graph`: a constant matrix product y = x K as a graph of shared shifted adds (da4ml).

A fully unrolled layer multiplies its input vector by a constant integer matrix. Written output by
output, every output pays for its own adds; with common-subexpression elimination (CSE) a
pattern a ± (b << s) that several outputs need is built once and shared. da4ml (the CMVM solver of
hls4ml/HGQ, Sun et al., TRETS 2025) finds those patterns: it splits K into canonical signed digits,
first factors K = K1 K2 along a spanning tree of similar columns, then greedily shares the most
frequent two-term patterns of each factor. This module asks da4ml for that program and turns it
into plain integers: no floats, no da4ml types leave it, and every value range is exact interval
arithmetic in Python integers, so the hardware widths never depend on float rounding.

Nodes (`Graph.nodes`, in dependency order):

- `Input(index)`: element `index` of x, an integer in [low, high] (`Graph.input_ranges`);
- `Add(a, b)`: a + b with each operand a `Term` (node, shift, negative): ±node · 2^shift.

Each node n carries the value n.value · 2^n.exponent (trailing zero bits are not stored), its
range `low .. high` of n.value, and its `level`: adds on its longest path from an input. Output o
is `outputs[o]`, a `Term` or None (the output is 0).

Large layers are cut into tiles of at most `tile_inputs` x `tile_outputs` (da4ml's time grows
steeply with the inputs: `benchmarks/arithmetic.py` prints each layer's solve time); tiles along
the inputs are summed by a balanced tree of adds. Sharing happens only inside a tile, so the tile
size trades generation time for logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .adders import signed_digits

TILE_INPUTS = 256       # rows of K per da4ml call (see the module docstring)
TILE_OUTPUTS = 64       # columns of K per da4ml call


@dataclass(frozen=True)
class Term:
    """±node · 2^shift."""
    node: int
    shift: int = 0
    negative: bool = False


@dataclass(frozen=True)
class Input:
    index: int


@dataclass(frozen=True)
class Add:
    a: Term
    b: Term


@dataclass
class Node:
    op: Input | Add
    low: int            # the stored integer lies in low .. high
    high: int
    exponent: int       # value = stored integer * 2^exponent
    level: int          # adds on the longest path from an input


@dataclass
class Graph:
    input_ranges: list[tuple[int, int]]
    nodes: list[Node] = field(default_factory=list)
    outputs: list[Term | None] = field(default_factory=list)

    # -- construction ---------------------------------------------------------------------------
    def input(self, index: int) -> Term:
        low, high = self.input_ranges[index]
        self.nodes.append(Node(Input(index), low, high, 0, 0))
        return Term(len(self.nodes) - 1)

    def add(self, a: Term, b: Term) -> Term:
        """The term a + b (each operand already shifted and signed by its Term). -a - b is stored
        as the node a + b and returned negated: a negation costs a carry chain of its own in
        hardware, while the consumers of the node absorb the sign for free (a subtraction, or the
        threshold's output map)."""
        if a.negative and b.negative:
            positive = self.add(Term(a.node, a.shift), Term(b.node, b.shift))
            return Term(positive.node, positive.shift, negative=True)
        x, y = self.nodes[a.node], self.nodes[b.node]
        exponent = min(x.exponent + a.shift, y.exponent + b.shift)
        low, high = 0, 0
        for term, node in ((a, x), (b, y)):
            scale = 1 << (node.exponent + term.shift - exponent)
            lo, hi = node.low * scale, node.high * scale
            if term.negative:
                lo, hi = -hi, -lo
            low, high = low + lo, high + hi
        self.nodes.append(Node(Add(a, b), low, high, exponent, max(x.level, y.level) + 1))
        return Term(len(self.nodes) - 1)

    # -- reading ----------------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Adds on the longest path from an input to an output."""
        return max((self.nodes[t.node].level for t in self.outputs if t is not None), default=0)

    @property
    def adders(self) -> int:
        return sum(isinstance(n.op, Add) for n in self.nodes)

    def adder_bits(self) -> int:
        """Sum over adds of the result's bits: the logic-size measure of the issue's tables."""
        return sum(signed_bits(n.low, n.high) for n in self.nodes if isinstance(n.op, Add))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """y = x K for integer inputs x (..., inputs) by walking the graph (int64 or Python ints);
        the reference every elaboration of the graph is tested against."""
        x = np.asarray(x, dtype=np.int64)
        values = []
        for node in self.nodes:
            if isinstance(node.op, Input):
                values.append(x[..., node.op.index])
            else:
                values.append(self._term(values, node.op.a, node.exponent) + self._term(values, node.op.b, node.exponent))
        out = [np.zeros(x.shape[:-1], dtype=np.int64) if t is None else self._term(values, t, 0) for t in self.outputs]
        return np.stack(out, axis=-1)

    def _term(self, values, term: Term, exponent: int):
        """Term's value in units of 2^exponent (the shift is never negative, by construction)."""
        shift = self.nodes[term.node].exponent + term.shift - exponent
        value = values[term.node] * (1 << shift)
        return -value if term.negative else value


def signed_bits(low: int, high: int) -> int:
    """Bits of the narrowest integer (unsigned if low >= 0, else two's complement) holding low..high."""
    if low >= 0:
        return max(int(high).bit_length(), 1)
    return max(int(-low - 1).bit_length(), int(high).bit_length()) + 1


def solve(kernel: np.ndarray, input_ranges: list[tuple[int, int]], **tiles) -> Graph:
    """The graph of y = x K for an integer `kernel` K (inputs x outputs) and integer inputs x_i in
    `input_ranges[i]` (low, high); see the module docstring."""
    kernel = np.asarray(kernel)
    return solve_sum([Part(range(len(input_ranges)), kernel, np.ones(kernel.shape[1:], np.int64))],
                     input_ranges, **tiles)


@dataclass(frozen=True)
class Part:
    """One term of a sum of products: scales[o] * (x[rows] K)_o."""
    rows: range | list[int]
    kernel: np.ndarray          # len(rows) x outputs, integer
    scales: np.ndarray          # outputs, integer


def solve_sum(parts: list[Part], input_ranges: list[tuple[int, int]], *, tile_inputs: int = TILE_INPUTS,
              tile_outputs: int = TILE_OUTPUTS, progress=None) -> Graph:
    """The graph of y_o = sum_p scales_p[o] (x[rows_p] K_p)_o: each part's matrix solved on its own
    (sharing inside a part), each part's output o scaled by shifted copies of its signed digits
    (`adders.signed_digits`), and the parts of an output added by a balanced tree.

    Why parts: a residual weight matrix is sum_i R_i S_i with +-1 (or 0) plane matrices S_i, and
    solving each S_i on its own is sometimes cheaper than solving W whole (`mvu_shared.FORMS` builds
    both and measures). `progress`, if given, is called with the share of the outputs each solved
    tile column adds (the outputs / len(parts) per part: a whole solve adds up to the outputs)."""
    for name, value in (("tile_inputs", tile_inputs), ("tile_outputs", tile_outputs)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
    outputs = None
    for part in parts:
        kernel = np.asarray(part.kernel)
        if kernel.ndim != 2 or kernel.dtype.kind not in "iu":
            raise ValueError(f"Kernel must be a 2-D integer array, not {kernel.dtype} of shape {kernel.shape}")
        if len(part.rows) != kernel.shape[0]:
            raise ValueError(f"Kernel has {kernel.shape[0]} inputs but {len(part.rows)} input ranges were given")
        if np.abs(kernel).max(initial=0) >= 1 << 24:
            raise ValueError("Kernel entries must be below 2^24 in magnitude (da4ml solves in float32)")
        if outputs is not None and kernel.shape[1] != outputs:
            raise ValueError(f"Every part needs the same outputs: {kernel.shape[1]} against {outputs}")
        outputs = kernel.shape[1]
    graph = Graph([(int(lo), int(hi)) for lo, hi in input_ranges])
    inputs = [graph.input(i) for i in range(len(input_ranges))]
    terms = [[] for _ in range(outputs or 0)]
    for part in parts:
        products = _solve_matrix(graph, np.asarray(part.kernel), [inputs[r] for r in part.rows],
                                 tile_inputs, tile_outputs,
                                 None if progress is None else lambda n: progress(n / len(parts)))
        for o, (term, scale) in enumerate(zip(products, np.asarray(part.scales).tolist())):
            if term is not None:
                terms[o].extend(_scaled(term, shift, sign < 0) for sign, shift in signed_digits(int(scale)))
    graph.outputs = [_balanced_add(graph, output_terms) for output_terms in terms]
    return graph


def _solve_matrix(graph: Graph, kernel: np.ndarray, inputs: list[Term], tile_inputs: int,
                  tile_outputs: int, progress=None) -> list[Term | None]:
    """x K in tiles of at most tile_inputs x tile_outputs; input tiles summed by balanced adds
    (`progress(columns)` after each column of tiles)."""
    n_in, n_out = kernel.shape
    outputs = []
    for first_out in range(0, n_out, tile_outputs):
        columns = slice(first_out, min(first_out + tile_outputs, n_out))
        partials = [_solve_tile(graph, kernel[first_in:first_in + tile_inputs, columns],
                                inputs[first_in:first_in + tile_inputs])
                    for first_in in range(0, n_in, tile_inputs)]
        for column in zip(*partials):
            outputs.append(_balanced_add(graph, [t for t in column if t is not None]))
        if progress is not None:
            progress(columns.stop - columns.start)
    return outputs


def _balanced_add(graph: Graph, terms: list[Term]) -> Term | None:
    while len(terms) > 1:
        terms = [graph.add(terms[n], terms[n + 1]) if n + 1 < len(terms) else terms[n]
                 for n in range(0, len(terms), 2)]
    return terms[0] if terms else None


def _solve_tile(graph: Graph, kernel: np.ndarray, inputs: list[Term]) -> list[Term | None]:
    """One da4ml call: the tile's two-stage program appended to `graph`; returns its outputs."""
    from da4ml.cmvm import solve as da4ml_solve

    if not kernel.any():
        return [None] * kernel.shape[1]

    # da4ml's binding reads the buffer as C-ordered whatever its strides: a transposed view
    # silently gives a different matrix, so the copy below is not optional.
    matrix = np.ascontiguousarray(kernel, dtype=np.float32)
    ranges = [(float(graph.nodes[t.node].low), float(graph.nodes[t.node].high), 1.0) for t in inputs]
    pipeline = da4ml_solve(matrix, qintervals=ranges)
    terms = inputs
    for stage in pipeline.solutions:
        terms = _append_stage(graph, stage, terms)
    return terms


def _append_stage(graph: Graph, stage, inputs: list[Term | None]) -> list[Term | None]:
    """Translate one da4ml `CombLogic` (ops on a buffer) into graph nodes."""
    buffer: list[Term | None] = []
    for op in stage.ops:
        if op.opcode == -1:                  # copy of input id0, scaled by the stage's input shift
            term = inputs[op.id0]
            shift = int(stage.inp_shifts[op.id0])
            buffer.append(None if term is None else _scaled(term, shift, False))
        elif op.opcode in (0, 1):            # buf[id0] ± buf[id1] << data
            a, b = buffer[op.id0], buffer[op.id1]
            b = None if b is None else _scaled(b, int(op.data), op.opcode == 1)
            buffer.append(a if b is None else b if a is None else graph.add(a, b))
        else:
            raise NotImplementedError(f"da4ml op code {op.opcode} in a constant matrix product")
    outputs = []
    for index, shift, negative in zip(stage.out_idxs, stage.out_shifts, stage.out_negs):
        term = None if index < 0 else buffer[index]
        outputs.append(None if term is None else _scaled(term, int(shift), bool(negative)))
    return outputs


def _scaled(term: Term, shift: int, negative: bool) -> Term:
    return Term(term.node, term.shift + shift, term.negative != negative)
