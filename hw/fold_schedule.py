"""`fold_schedule.Schedule`: the order in which a folded MVU (PE rows x lanes) visits a weight layer.

A *lane* is one weight-plane bit: a weight with b bits is b lanes (its plane-i bit counts toward
plane i's dot product, model/layout.py). A folded unit has `pe` processing elements, each working
on one row (output) at a time, and `lanes` lanes per element per cycle; a row of n lanes costs about
n / lanes cycles, so a 1.4-bit layer should take 0.7x the cycles of a 2-bit one. This module decides
which lane does what in which cycle, as plain arrays (no Amaranth): the folded unit's memories are
initialised from them, and `evaluate` runs them in numpy, so the schedule is checked against the
layout's own arithmetic before any hardware exists.

Planes. Plane i is *dense* when every weight of the layer has more than i bits (plane 0 always;
both planes of a 2-bit layer), *sparse* otherwise (the 2nd and 3rd planes of a Middle-Out mix:
members scattered over the fan-in, about 30 % and 10 % of it at 1.4 bits).

Dense side, one schedule for every PE (they run in lockstep): each cycle covers `elements` (E)
consecutive inputs, block b = inputs b E .. b E + E - 1, in every dense plane, so D dense planes use
D E lanes and one input block read serves every PE. A row takes `blocks` = ceil(K / E) cycles; the
lanes of the last block beyond K are masked (`dense_valid`).

Sparse side, one schedule per PE: a row's sparse members as (input index, sign) entries,
`sparse_lanes` (S) per cycle, each lane reading its input element by index (the gather; the unit
gives each lane its own block-RAM copy of the input vector, docs/folded.md says why). A cycle
serves one plane of one row, so a row takes max(1, sum over sparse planes of ceil(m_i / S))
cycles for m_i members of plane i, and its partial sum ends on a cycle boundary. The sparse side of a PE runs ahead of or behind its dense side; the
unit adds the two partial sums of a row when both are done.

Rows are dealt to PEs `slots` = ceil(O / pe) each (idle slots where O is not a multiple of pe),
balancing the PEs' sparse cycles (largest row first, to the least loaded PE with a free slot).
Cycles per input vector, when vectors stream back to back:

    cycles = max(slots * blocks, max over PEs of the PE's sparse cycles)

`choose_split` picks E (and so S = lanes - D E) for the fewest cycles; of equal splits the one with
the fewest sparse lanes (each costs a block RAM). Measured on the MNIST-1D CNN at 64 channels
(`benchmarks/fold_cycles.py`): a 1.4-bit conv layer takes 0.75x the cycles of the 2-bit layer at
16 to 48 lanes; the ideal, lanes alone, is 0.70x. What is lost is the dense side's ceil(K / E).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hbnn.model.layout import Network, WeightLayer

from .pipeline_setting import FULL

__all__ = ["Balanced", "Folding", "Schedule", "balanced_fold", "check_fold", "check_foldable", "choose_split",
           "describe_fold", "fold_suffix", "gather_word_inputs", "parse_fold", "resolve_fold", "unit_interval"]


@dataclass(frozen=True)
class Folding:
    """`pe` processing elements (rows in parallel), `lanes` weight-plane lanes per PE per cycle."""
    pe: int
    lanes: int

    def __post_init__(self):
        for name in ("pe", "lanes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class Balanced:
    """`--fold auto:CYCLES`: fold every foldable weight layer after the first, each as small as
    keeps it within `cycles` per image (`balanced_fold`)."""
    cycles: int


def parse_fold(text: str):
    """`--fold`: comma-separated `LAYER:PExLANES` (LAYER a weight layer's position, 0 first), e.g.
    `1:4x32,2:4x32`, or `auto:CYCLES` (a `Balanced` target); a `ConfigError` naming the bad part."""
    from hbnn.model.errors import ConfigError

    if text.startswith("auto:"):
        cycles = text.removeprefix("auto:")
        if not cycles.isdigit() or int(cycles) < 1:
            raise ConfigError(f"--fold: {text!r}: auto needs a positive number of cycles per image, like auto:5000")
        return Balanced(int(cycles))
    fold = {}
    for part in (piece.strip() for piece in text.split(",")):
        layer, _, shape = part.partition(":")
        pe, _, lanes = shape.partition("x")
        if not (layer.isdigit() and pe.isdigit() and lanes.isdigit()):
            raise ConfigError(f"--fold: {part!r} is not LAYER:PExLANES (e.g. 1:4x32)")
        if int(layer) in fold:
            raise ConfigError(f"--fold: weight layer {layer} is folded twice")
        try:
            fold[int(layer)] = Folding(pe=int(pe), lanes=int(lanes))
        except ValueError as error:
            raise ConfigError(f"--fold: {part!r}: {error}") from None
    return fold


def describe_fold(fold) -> str:
    """The inverse of `parse_fold` (for names and reports)."""
    if isinstance(fold, Balanced):
        return f"auto:{fold.cycles}"
    return ",".join(f"{layer}:{f.pe}x{f.lanes}" for layer, f in sorted(fold.items()))


# the PE and lane counts `balanced_fold` tries (a lane count above a row's weight bits is no faster)
BALANCED_PES = (1, 2, 4, 8, 16, 32, 64)
BALANCED_LANES = (4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def balanced_fold(network: Network, cycles: int) -> dict[int, Folding]:
    """FINN's balance: every foldable weight layer after the first (the first reads pixels) gets the
    folding with the fewest PE x lanes whose cycles per image (the unit's cycles per vector times
    the layer's output positions) stay within `cycles`, so no folded layer is the bottleneck; ties
    go to fewer PEs. A `ValueError` names a layer no folding tried brings within the target."""
    fold = {}
    for position, layer in enumerate(network.weight_layers()):
        try:
            check_foldable(layer)
        except ValueError:
            continue
        positions = int(np.prod(layer.out_shape[1:])) if layer.kind != "dense" else 1
        widest = int(layer.bits.sum(axis=1).max())
        best, fastest = None, None
        for pe in (p for p in BALANCED_PES if p <= layer.out_channels):
            for lanes in sorted({lane for lane in BALANCED_LANES if lane < widest} | {widest}):
                try:
                    schedule = Schedule(layer, Folding(pe=pe, lanes=lanes))
                except ValueError:
                    continue
                per_image = unit_interval(schedule) * positions
                fastest = per_image if fastest is None else min(fastest, per_image)
                if per_image <= cycles and (best is None or (pe * lanes, pe) < best[0]):
                    best = ((pe * lanes, pe), Folding(pe=pe, lanes=lanes))
        if best is None:
            raise ValueError(f"weight layer {position} cannot be folded within {cycles} cycles per image (the "
                             f"fastest folding tried takes {fastest}); raise the target")
        fold[position] = best[1]
    return fold


def gather_word_inputs(schedule: Schedule) -> int:
    """Inputs per word of the folded unit's gather copies: the fewest (a power of two) that load a
    vector within the cycles the unit spends on it."""
    w = 1
    while -(-schedule.layer.fan_in // w) > schedule.cycles:
        w *= 2
    return w


def unit_interval(schedule: Schedule) -> int:
    """Cycles per vector of the folded unit that runs `schedule` (`folded.Layer`): the schedule's
    cycles, the loading of its gather copies (if it has sparse planes), and its combine (a cycle per
    row slot, one to write the last, one while the vector leaves: the next combine writes the output
    register only after that)."""
    words = -(-schedule.layer.fan_in // gather_word_inputs(schedule)) if schedule.sparse_planes else 0
    return max(schedule.cycles, words, schedule.slots + 2)


def resolve_fold(fold, network: Network) -> dict[int, Folding]:
    """An explicit folding as it is, a `Balanced` target as `balanced_fold` makes it for `network`."""
    if isinstance(fold, Balanced):
        return balanced_fold(network, fold.cycles)
    return fold or {}


# why a folding is refused, worded once (the command line's comparison checks them before training)
PIXELS_REFUSED = "a folded layer needs residual (+-1 plane) inputs; a layer reading pixels stays unrolled"
FULL_PIPELINE_REFUSED = ("folded layers cannot be fully pipelined yet (--pipeline full needs every stage to take "
                         "a vector per cycle); fold with --pipeline 0")


def check_foldable(layer: WeightLayer) -> None:
    """A `ValueError` naming what a folded unit cannot compute yet, if `layer` has it."""
    if layer.input.kind != "residual":
        raise ValueError(PIXELS_REFUSED)
    ratios = layer.plane_weights
    if not bool((ratios == ratios[0]).all()):
        raise ValueError("a folded layer needs the same plane ratios R for every output (a per-tensor scale); "
                         "this layer's differ between outputs")


def check_fold(network: Network, fold, pipeline) -> dict:
    """`fold` ({weight layer position: `fold_schedule.Folding`}, or None) checked against the
    network and the pipeline setting; a `ValueError` names the first problem."""
    if not fold:
        return {}
    count = len(network.weight_layers())
    for position, folding in fold.items():
        if not isinstance(position, int) or not 0 <= position < count:
            raise ValueError(f"folding names weight layer {position!r}; the network has weight layers 0-{count - 1}")
        if not isinstance(folding, Folding):
            raise TypeError(f"weight layer {position}'s folding must be a fold_schedule.Folding, not {folding!r}")
        check_foldable(network.weight_layers()[position])
    if pipeline == FULL:
        raise ValueError(FULL_PIPELINE_REFUSED)
    return dict(fold)


def fold_suffix(fold: dict[int, Folding] | None) -> str:
    """What a build folder's name adds for a folding: `-fold1_4x32-2_4x32` (nothing without one)."""
    return "-fold" + describe_fold(fold).replace(",", "-").replace(":", "_") if fold else ""


def dense_planes(layer: WeightLayer) -> tuple[int, ...]:
    """Planes every weight of `layer` takes part in (plane 0 always)."""
    return tuple(i for i in range(layer.planes.shape[0]) if bool((layer.bits > i).all()))


def sparse_planes(layer: WeightLayer) -> tuple[int, ...]:
    """Planes some but not all weights take part in."""
    return tuple(i for i in range(layer.planes.shape[0])
                 if bool((layer.bits > i).any()) and not bool((layer.bits > i).all()))


def choose_split(layer: WeightLayer, folding: Folding) -> tuple[int, int]:
    """(elements E, sparse lanes S) with D E + S = lanes for the fewest cycles per vector (module
    docstring); a `ValueError` if the lanes cannot hold one element of every dense plane (and one
    sparse lane, where there are sparse planes)."""
    d, has_sparse = len(dense_planes(layer)), bool(sparse_planes(layer))
    if folding.lanes < d + has_sparse:
        raise ValueError(f"{folding.lanes} lanes per PE cannot hold one input of the layer's {d} dense "
                         f"plane(s)" + (" and one sparse lane" if has_sparse else "")
                         + f": it needs at least {d + has_sparse}")
    if not has_sparse:
        return folding.lanes // d, 0
    best = None
    for elements in range(1, (folding.lanes - 1) // d + 1):
        sparse = folding.lanes - d * elements
        cycles = Schedule(layer, folding, elements=elements).cycles
        if best is None or (cycles, sparse) < best[:2]:
            best = (cycles, sparse, elements)
    return best[2], best[1]


class Schedule:
    """The folded walk of `layer` with `folding` (module docstring). `elements` (E) fixes the
    split; by default `choose_split` picks it.

    Arrays, per PE p (first index) where it applies:
    - `rows[p, s]`: the layer row in slot s, -1 for an idle slot;
    - `dense_signs[p, s * blocks + b, d, e]`: the sign bit (1 = -1) of weight (row, b E + e) in
      dense plane `dense_planes[d]` (0 on masked lanes and idle slots);
    - `dense_valid[b, e]`: lane e of block b holds an input (b E + e < K);
    - `sparse_valid`, `sparse_sign`, `sparse_index` `[p, t, lane]`: the entry of a sparse lane in
      cycle t, padded to `sparse_cycles`; `sparse_plane[p, t]`: the plane every entry of cycle t
      belongs to (an index into `sparse_planes`);
    - `sparse_row_end[p, t]`: cycle t is the last of a row's sparse entries (every slot has one,
      idle slots an empty one, so the unit pairs partial sums by counting).
    """

    def __init__(self, layer: WeightLayer, folding: Folding, *, elements: int | None = None):
        if not isinstance(layer, WeightLayer):
            raise TypeError(f"a schedule needs a model.layout.WeightLayer, not {type(layer).__name__}")
        if not isinstance(folding, Folding):
            raise TypeError(f"a schedule needs a fold_schedule.Folding, not {type(folding).__name__}")
        self.layer, self.folding = layer, folding
        self.dense_planes, self.sparse_planes = dense_planes(layer), sparse_planes(layer)
        if elements is None:
            elements, _ = choose_split(layer, folding)
        d = len(self.dense_planes)
        sparse_lanes = folding.lanes - d * elements
        if elements < 1 or sparse_lanes < (1 if self.sparse_planes else 0):
            raise ValueError(f"{elements} inputs per cycle in {d} dense plane(s) leave {sparse_lanes} of "
                             f"{folding.lanes} lanes for the sparse planes")
        self.elements = elements
        self.sparse_lanes = sparse_lanes if self.sparse_planes else 0
        self.blocks = -(-layer.fan_in // elements)
        self.slots = -(-layer.out_channels // folding.pe)
        self.rows = self._deal_rows()

    # -- the sizes ---------------------------------------------------------------------------------

    def sparse_members(self) -> np.ndarray:
        """m[o]: sparse entries of row o (members of every sparse plane)."""
        bits = self.layer.bits
        return sum(((bits > i).sum(axis=1) for i in self.sparse_planes), np.zeros(bits.shape[0], np.int64))

    def row_sparse_cycles(self, row: int) -> int:
        """Cycles of a row's sparse entries: each sparse plane's members, S per cycle (a cycle
        serves one plane, so the unit needs no plane tag per lane), at least one cycle."""
        if not self.sparse_planes:
            return 0
        bits = self.layer.bits[row]
        return max(1, sum(-(-int((bits > i).sum()) // self.sparse_lanes) for i in self.sparse_planes))

    @property
    def dense_cycles(self) -> int:
        """Cycles of the dense side per input vector (every PE)."""
        return self.slots * self.blocks

    @cached_property
    def pe_sparse_cycles(self) -> list[int]:
        """Cycles of each PE's sparse side per input vector (idle slots take one empty cycle)."""
        if not self.sparse_planes:
            return [0] * self.folding.pe
        return [sum(self.row_sparse_cycles(r) if r >= 0 else 1 for r in slots) for slots in self.rows]

    @property
    def sparse_cycles(self) -> int:
        return max(self.pe_sparse_cycles)

    @property
    def cycles(self) -> int:
        """Cycles per input vector when vectors stream back to back (module docstring)."""
        return max(self.dense_cycles, self.sparse_cycles)

    @property
    def lanes_used(self) -> float:
        """The fraction of lane-cycles doing work: the layer's lanes / (pe lanes cycles)."""
        return int(self.layer.bits.sum()) / (self.folding.pe * self.folding.lanes * self.cycles)

    # -- rows to PEs -------------------------------------------------------------------------------

    def _deal_rows(self) -> np.ndarray:
        """rows[p, s] (module docstring): largest sparse load first, to the least loaded PE with a
        free slot (ties: the lower PE), so each PE holds `slots` rows or idle slots."""
        pe, slots = self.folding.pe, self.slots
        load = [0] * pe
        dealt = [[] for _ in range(pe)]
        weight = [self.row_sparse_cycles(r) for r in range(self.layer.out_channels)]
        for row in sorted(range(self.layer.out_channels), key=lambda r: (-weight[r], r)):
            p = min((p for p in range(pe) if len(dealt[p]) < slots), key=lambda p: (load[p], p))
            dealt[p].append(row)
            load[p] += weight[row]
        table = np.full((pe, slots), -1, dtype=np.int64)
        for p, rows in enumerate(dealt):
            table[p, :len(rows)] = sorted(rows)
        return table

    # -- memory images -----------------------------------------------------------------------------

    @cached_property
    def dense_valid(self) -> np.ndarray:
        j = np.arange(self.blocks)[:, None] * self.elements + np.arange(self.elements)[None]
        return j < self.layer.fan_in

    @cached_property
    def dense_signs(self) -> np.ndarray:
        pe, e, k = self.folding.pe, self.elements, self.layer.fan_in
        signs = np.zeros((pe, self.slots * self.blocks, len(self.dense_planes), e), dtype=np.uint8)
        padded = np.zeros((len(self.dense_planes), self.blocks * e), dtype=np.uint8)
        for p in range(pe):
            for s, row in enumerate(self.rows[p]):
                if row < 0:
                    continue
                padded[:, :k] = self.layer.planes[list(self.dense_planes), row, :]
                signs[p, s * self.blocks:(s + 1) * self.blocks] = \
                    padded.reshape(len(self.dense_planes), self.blocks, e).transpose(1, 0, 2)
        return signs

    def row_entries(self, row: int) -> list[tuple[int, int, int]]:
        """(sparse plane position, input index, sign bit) of a row's sparse members, plane by plane
        in input order."""
        layer = self.layer
        return [(position, int(j), int(layer.planes[plane, row, j]))
                for position, plane in enumerate(self.sparse_planes)
                for j in layer.plane_members(plane, row)]

    @cached_property
    def _sparse(self) -> dict[str, np.ndarray]:
        pe, lanes, cycles = self.folding.pe, max(self.sparse_lanes, 1), max(self.sparse_cycles, 0)
        arrays = {name: np.zeros((pe, cycles, lanes), dtype=np.int64) for name in ("valid", "sign", "index")}
        plane_of_cycle = np.zeros((pe, cycles), dtype=np.int64)
        row_end = np.zeros((pe, cycles), dtype=bool)
        for p in range(pe if self.sparse_planes else 0):
            t = 0
            for row in self.rows[p]:
                start = t
                for position, plane in enumerate(self.sparse_planes):
                    members = self.layer.plane_members(plane, row) if row >= 0 else []
                    for n, j in enumerate(members):
                        cycle, lane = t + n // lanes, n % lanes
                        arrays["valid"][p, cycle, lane] = 1
                        arrays["sign"][p, cycle, lane] = int(self.layer.planes[plane, row, j])
                        arrays["index"][p, cycle, lane] = int(j)
                        plane_of_cycle[p, cycle] = position
                    t += -(-len(members) // lanes)
                t = max(t, start + 1)                 # a row without sparse entries: one empty cycle
                row_end[p, t - 1] = True
        arrays["plane"], arrays["row_end"] = plane_of_cycle, row_end
        return arrays

    @property
    def sparse_valid(self) -> np.ndarray:
        return self._sparse["valid"]

    @property
    def sparse_plane(self) -> np.ndarray:
        return self._sparse["plane"]

    @property
    def sparse_sign(self) -> np.ndarray:
        return self._sparse["sign"]

    @property
    def sparse_index(self) -> np.ndarray:
        return self._sparse["index"]

    @property
    def sparse_row_end(self) -> np.ndarray:
        return self._sparse["row_end"]

    # -- the schedule, run ---------------------------------------------------------------------------

    def plane_dots(self, values: np.ndarray) -> np.ndarray:
        """D[o, i] = sum over plane i's members j of s_{i,o,j} x_j, for one input vector of values
        `values` (K,) (x_j: any integers), computed by walking the memory images cycle by cycle as
        the unit does: the dense side block by block, the sparse side entry by entry."""
        layer, e = self.layer, self.elements
        dots = np.zeros((layer.out_channels, layer.planes.shape[0]), dtype=np.int64)
        padded = np.zeros(self.blocks * e, dtype=np.int64)
        padded[:layer.fan_in] = values
        blocks = padded.reshape(self.blocks, e)
        for p in range(self.folding.pe):
            for s, row in enumerate(self.rows[p]):
                for b in range(self.blocks):
                    signs = self.dense_signs[p, s * self.blocks + b].astype(np.int64)
                    products = (1 - 2 * signs) * blocks[b] * self.dense_valid[b]
                    if row >= 0:
                        dots[row, list(self.dense_planes)] += products.sum(axis=1)
            slot = 0
            for t in range(self.sparse_cycles):
                row = self.rows[p, slot] if slot < self.slots else -1
                plane = self.sparse_planes[self.sparse_plane[p, t]]
                for lane in range(self.sparse_lanes):
                    if self.sparse_valid[p, t, lane]:
                        sign = 1 - 2 * int(self.sparse_sign[p, t, lane])
                        dots[row, plane] += sign * int(values[self.sparse_index[p, t, lane]])
                slot += int(self.sparse_row_end[p, t])
        return dots

