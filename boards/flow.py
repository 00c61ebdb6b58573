"""Synthesis, place and route of a layout for a board: `hbnn synth`.

    synthesize(network, board, build_dir=...) -> SynthesisReport

1. The network core (`hw.network.Top`, popcounts as shared modules) goes inside the UART bridge
   (`hbnn.hw.bridge`), so the design needs only the board's clock, UART and LED pins.
2. amaranth-boards renders the build (`platform.prepare`). hbnn adds the popcount modules' RTLIL,
   keeps the popcount modules and each stream stage as hierarchy (yosys maps each popcount width
   once: 10-45 s for the digits MLP, where ABC on the flat netlist ran past 12 minutes; and its
   statistics give LUTs per layer), splits nets before LUT mapping (YosysHQ/yosys#4349), and
   raises the clock constraint to `CLOCK_TARGET_MHZ` with `--timing-allow-fail`, because nextpnr
   stops optimizing once a target is met: the achieved figure is then the design's real Fmax.
   docs/synthesis.md explains each choice.
3. Each command of amaranth's script runs on its own (yosys, then nextpnr, then the bitstream packer
   only with `bitstream=True`), with the tool variables set to the YoWASP tools (`boards.tools`)
   and with progress. Between yosys and nextpnr the cell counts are checked against the board's
   capacity, so a design that cannot fit fails in seconds with needed against available. nextpnr
   runs under a watchdog (`boards.route_watchdog`): a router that livelocks is stopped and the
   design placed again with another seed.
4. Reports: yosys `stat -json` and nextpnr `--report` JSON, parsed by `boards.reports`.

Everything is built in a temporary folder beside `build_dir` and renamed into place only when the
flow succeeds: a failed or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hbnn.files import atomic_folder
from hbnn.model.errors import ConfigError
from hbnn.model.layout import Network

from . import chain_starts, reports, route_watchdog, tools
from .board import Board
from .route_watchdog import RoutingStuck

#: nextpnr's router per family. ECP5: router2, 51 s instead of router1's 169 s on the digits MLP
#: at 1.2 bits (ECP5-85F) for 8 % lower Fmax; these unrolled designs are dense in routing, which
#: router1 handles slowly. iCE40: router1 (nextpnr's default), because router2 can iterate without
#: end on a small iCE40UP5K design with 2 overused wires (a 32x4 mapped-popcount layer: 99,000
#: iterations in 9 minutes; router1 routes it in 3 s), and iCE40 designs are small enough for router1.
ROUTER = {"ecp5": "router2", "ice40": "router1"}
#: ... and for a fully pipelined design (`--pipeline full`), where every net runs from a register to
#: the next level's register: router1 routes those as fast as router2 and to a faster clock
#: (digits MLP, 1.4 bits, ECP5-85F, core clock: 193.8 MHz against 177.6 MHz, 134 s and 133 s).
ROUTER_FULL = {"ecp5": "router1", "ice40": "router1"}
CLOCK_TARGET_MHZ = 500   # far above what either family reaches: nextpnr optimizes all the way
NAME = "top"             # file stem of every build product (amaranth's default)
POLL_SECONDS = 2.0       # how often a watched tool run (nextpnr) is checked


class DesignTooBig(ConfigError):
    """The synthesized design needs more of a resource than the board's device has. `cells`: its
    cells after synthesis, when the check came from them (not from nextpnr's packing)."""

    def __init__(self, message: str, cells: reports.CellCounts | None = None):
        super().__init__(message)
        self.cells = cells


class ToolFailed(RuntimeError):
    """yosys, nextpnr or a packer exited with an error; the message quotes its error line."""


@dataclass(frozen=True)
class LayerCells:
    index: int
    kind: str
    cells: reports.CellCounts


@dataclass(frozen=True)
class SynthesisReport:
    board: str
    family: str
    cells: reports.CellCounts          # whole design (core, UART bridge), after yosys
    layers: list[LayerCells]           # the core's layers (argmax and bridge not included)
    placement: reports.Placement       # after nextpnr
    initiation_interval: int           # cycles per image at full rate (design JSON)
    latency_cycles: int
    seconds: dict[str, float] = field(default_factory=dict)
    bitstream: str | None = None       # file name inside the build folder
    placement_seed: int | None = None  # nextpnr --seed that routed; None: nextpnr's default (route_watchdog)
    # Fmax of further placements of the same netlist (`placement_seeds`), by nextpnr --seed
    fmax_by_seed: dict[str, float] = field(default_factory=dict)
    core_clock_mhz: float | None = None   # the PLL's output when the core has its own clock

    @property
    def fmax_mhz(self) -> float:
        """The design's Fmax: the median over every placement seed when several ran, else the one."""
        return statistics.median([self.placement.fmax_mhz, *self.fmax_by_seed.values()])

    @property
    def images_per_second(self) -> float:
        """Throughput of the core at Fmax (the UART bridge is far slower; this is the datapath)."""
        return self.fmax_mhz * 1e6 / self.initiation_interval

    @property
    def latency_ns(self) -> float:
        """From an accepted image to its class, at Fmax: latency_cycles / Fmax."""
        return self.latency_cycles * 1e3 / self.fmax_mhz

    @property
    def lut4_ns(self) -> float:
        """Area-delay product: LUT4 (with the carry cells' LUT4s) x ns per image (II / Fmax), i.e.
        LUT4 / throughput; lower is better, and a design twice as large pays off only at twice
        the throughput."""
        return self.cells.lut4_equivalent * self.initiation_interval * 1e3 / self.fmax_mhz

    def summary(self, title: str) -> str:
        """The report as a few aligned lines (whole design, then each layer), for `hbnn synth`."""
        cells, placed = self.cells, self.placement
        logic = "logic cells" if self.family == "ice40" else "LUT4 sites"
        # iCE40 flip-flops live inside the logic cells, so only ECP5 has a separate FF count
        placed_flip_flops = "" if self.family == "ice40" else f"FF {placed.flip_flops.used:,}, "

        def sites(counts) -> str:
            """An ECP5 CCU2C holds two LUT4s: their total too (mapped popcounts are mostly CCU2Cs)."""
            return f" ({counts.lut4_equivalent:,} LUT4 sites)" if self.family == "ecp5" else ""

        lines = [title,
                 f"  synthesis:       LUT4 {cells.lut4:,}, carry {cells.carry:,}{sites(cells)}, "
                 f"FF {cells.flip_flops:,}, BRAM {cells.bram}, DSP {cells.dsp}",
                 f"  place and route: {logic} {placed.logic.used:,}/{placed.logic.available:,} "
                 f"({100 * placed.logic.fraction:.1f} %), {placed_flip_flops}"
                 f"BRAM {placed.bram.used}/{placed.bram.available}, DSP {placed.dsp.used}/{placed.dsp.available}, "
                 f"IO {placed.io.used}/{placed.io.available}",
                 f"  timing:          Fmax {self.fmax_mhz:.1f} MHz{self._seeds_note()}, latency {self.latency_cycles} cycles "
                 f"({self.latency_ns:,.0f} ns), one image every {self.initiation_interval} cycle(s): "
                 f"{self.images_per_second / 1e6:.2f} M images/s (core; the UART bridge is slower), "
                 f"LUT4 x ns per image {self.lut4_ns:,.0f}"]
        for layer in self.layers:
            lines.append(f"  layer {layer.index} ({layer.kind}): LUT4 {layer.cells.lut4:,}, carry "
                         f"{layer.cells.carry:,}{sites(layer.cells)}, FF {layer.cells.flip_flops:,}")
        lines.extend(self._clock_notes())
        lines.append("  time: " + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in self.seconds.items()))
        if self.placement_seed is not None:
            lines.append(f"  placed with nextpnr --seed {self.placement_seed} (the default seed's routing made no progress)")
        return "\n".join(lines)

    def _clock_notes(self) -> list[str]:
        """Whether each clock meets what it runs at: the core clock's PLL frequency (when it has
        one; the design clock's own target is raised for a true Fmax) and the board clock."""
        notes = []
        if self.core_clock_mhz is not None:
            verdict = "met" if self.fmax_mhz >= self.core_clock_mhz else \
                f"NOT met: build with --core-clock {int(self.fmax_mhz)} or less"
            notes.append(f"  core clock:      PLL at {self.core_clock_mhz:.2f} MHz, timing {verdict}")
        for name, clock in self.placement.other_clocks.items():
            verdict = "met" if clock.met else "NOT met"
            notes.append(f"  other clock:     {name} Fmax {clock.achieved_mhz:.1f} MHz, runs at "
                         f"{clock.constraint_mhz:g} MHz: {verdict}")
        return notes

    def _seeds_note(self) -> str:
        if not self.fmax_by_seed:
            return ""
        first = "default" if self.placement_seed is None else str(self.placement_seed)
        each = ", ".join(f"{seed} {fmax:.1f}" for seed, fmax in {first: self.placement.fmax_mhz,
                                                               **self.fmax_by_seed}.items())
        return f" (median of {len(self.fmax_by_seed) + 1} placement seeds: {each})"

    @classmethod
    def from_json(cls, data: dict) -> SynthesisReport:
        """The report `to_json` wrote (what a sweep's result store keeps)."""
        def cells(counts: dict) -> reports.CellCounts:
            return reports.CellCounts(**{k: v for k, v in counts.items() if k != "lut4_equivalent"})

        placed = dict(data["placement"])
        for name in ("logic", "flip_flops", "bram", "dsp", "io"):
            placed[name] = reports.Usage(**placed[name])
        placed["other_clocks"] = {name: reports.ClockTiming(**clock) for name, clock in placed["other_clocks"].items()}
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "cells": cells(data["cells"]), "placement": reports.Placement(**placed),
                      "layers": [LayerCells(layer["index"], layer["kind"], cells(layer["cells"]))
                                 for layer in data["layers"]]})

    def to_json(self) -> dict:
        data = asdict(self)
        data["fmax_mhz"] = self.fmax_mhz
        data["images_per_second"] = self.images_per_second
        data["latency_ns"] = self.latency_ns
        data["lut4_ns"] = self.lut4_ns
        data["cells"]["lut4_equivalent"] = self.cells.lut4_equivalent
        for layer, entry in zip(self.layers, data["layers"]):
            entry["cells"]["lut4_equivalent"] = layer.cells.lut4_equivalent
        return data


def synthesize(network: Network, board: Board, build_dir: str | Path, *, bitstream: bool = False,
               pipeline: int = 0, popcount: str = "generic", say=print, progress: bool = True,
               placement_seeds: int = 1, core_mhz: float | None = None, fold=None) -> SynthesisReport:
    """Synthesize, place and route `network` on `board` in `build_dir` (replaced on success);
    popcounts built with the `popcount` strategy ("generic" or "mapped": `hw.popcount`); Fmax the
    median over `placement_seeds` placements. `core_mhz`: the core on a PLL-made clock of its own
    at that frequency (`hw.core_clock`), the UART bridge on the board clock; Fmax is then the
    core clock's. `fold` folds weight layers (`hw.network.Top`)."""
    from hbnn.model.config import check_count

    check_count("placement seeds", placement_seeds)
    return prepare(network, board, build_dir, bitstream=bitstream, pipeline=pipeline, popcount=popcount,
                   say=say, core_mhz=core_mhz, fold=fold).run(progress=progress, placement_seeds=placement_seeds)


@dataclass
class PreparedBuild:
    """An elaborated design with its build files, ready for the tools (`run`)."""
    board: Board
    build_dir: Path
    plan: object            # amaranth.build.run.BuildPlan
    info: dict              # hw.generate.describe() of the core
    bitstream: bool
    say: object
    seconds: dict[str, float]
    core_clock_mhz: float | None = None   # the core clock's PLL frequency, if it has one

    def run(self, *, progress: bool = True, placement_seeds: int = 1) -> SynthesisReport:
        """Run yosys, check the fit, run nextpnr (and the packer); move the build into place."""
        board, info = self.board, self.info

        def report(work: Path, result: ToolResults) -> SynthesisReport:
            report = SynthesisReport(
                board=board.name, family=board.family, cells=result.cells,
                layers=_layer_cells(result.stat, info, board.family), placement=result.placement,
                initiation_interval=info["initiation_interval_cycles"], latency_cycles=info["latency_cycles"],
                seconds={k: round(v, 1) for k, v in (self.seconds | result.seconds).items()},
                bitstream=result.bitstream, placement_seed=result.placement_seed,
                fmax_by_seed=result.fmax_by_seed, core_clock_mhz=self.core_clock_mhz)
            (work / "core.json").write_text(json.dumps(info, indent=2) + "\n")
            (work / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
            return report

        return run_tools(self.plan, board, self.build_dir, bitstream=self.bitstream, say=self.say,
                         progress=progress, finish=report, placement_seeds=placement_seeds)


@dataclass
class ToolResults:
    stat: dict                         # yosys `stat -json`
    cells: reports.CellCounts          # whole design, after yosys
    placement: reports.Placement       # after nextpnr
    seconds: dict[str, float]
    bitstream: str | None
    placement_seed: int | None         # nextpnr --seed that routed (None: the command's own)
    fmax_by_seed: dict[str, float]     # the further placements' Fmax (placement_seeds > 1)


def run_tools(plan, board: Board, build_dir: Path, *, bitstream: bool = False, say=print,
              progress: bool = True, finish=None, placement_seeds: int = 1):
    """Run a build plan's yosys, capacity check, nextpnr (and packer with `bitstream`) in a
    temporary folder beside `build_dir`, renamed to `build_dir` on success. Returns
    `finish(folder, ToolResults)` (called before the rename, to write reports), or the ToolResults.
    `placement_seeds` > 1 places and routes the same netlist again with the next seeds (reports
    and logs `seed<N>.report.json`, `seed<N>.tim`), for an Fmax that is a median, not one draw."""
    env = tools.environment(board.family)
    seconds = {}
    with atomic_folder(build_dir) as work:
        _extract(plan.files, work)
        preamble, commands = _script_commands(plan.files[f"build_{NAME}.sh"])
        synth, place, pack = commands
        seconds["yosys"] = _run(preamble, synth, work, env, f"synthesis (yosys {board.family})",
                                log=f"{NAME}.rpt", say=say, progress=progress)
        stat = reports.read_stat(work / f"{NAME}.stat.json")
        cells = reports.cell_counts(board.family, reports.flat_cells(stat, reports.module_named(stat, NAME)))
        _check_fits(cells, board)
        if board.family == "ecp5":
            chain_starts.free_chain_starts(work / f"{NAME}.json")
        try:
            seconds["nextpnr"], placement_seed = _place_and_route(preamble, place, work, env, say=say,
                                                                  progress=progress)
        except DesignTooBig as error:          # found by nextpnr's packing: the cells are yosys's
            error.cells = error.cells or cells
            raise
        placed = reports.placement(board.family, work / f"{NAME}.report.json")
        fmax_by_seed = {}
        first = placement_seed or 1
        for seed in range(first + 1, first + placement_seeds):
            if progress:
                say(f"placement seed {seed} ({len(fmax_by_seed) + 2} of {placement_seeds})")
            spent, routed = _place_and_route(preamble, _with_seed_outputs(place, seed), work, env, say=say,
                                             progress=progress, log=f"seed{seed}.tim")
            seconds["nextpnr"] += spent
            fmax_by_seed[str(seed if routed is None else routed)] = reports.placement(board.family, work / f"seed{seed}.report.json").fmax_mhz
            for output in work.glob(f"seed{seed}.*"):
                if output.suffix not in (".json", ".tim"):
                    output.unlink()        # its bitstream configuration: only the timing is wanted
        packed = None
        if bitstream:
            seconds["pack"] = _run(preamble, pack, work, env, "bitstream", log=None, say=say, progress=progress)
            packed = next(name for name in (f"{NAME}.bin", f"{NAME}.bit") if (work / name).exists())
        result = ToolResults(stat, cells, placed, seconds, packed, placement_seed, fmax_by_seed)
        if finish is not None:
            result = finish(work, result)
    return result


def _place_and_route(preamble: str, command: str, work: Path, env: dict, *, say, progress: bool,
                     log: str = f"{NAME}.tim"):
    """nextpnr under the routing watchdog (`route_watchdog`): (seconds, the seed that routed)."""
    title = "place and route (nextpnr)"

    def run(seeded: str, stop) -> float:
        return _run(preamble, seeded, work, env, title, log=log, say=say, progress=progress, stop=stop)

    try:
        return route_watchdog.place_and_route(run, command, work / log, say=say)
    except RoutingStuck as stuck:
        raise ToolFailed(str(stuck)) from None
    except ToolFailed:
        # the capacity check before nextpnr knows only a lower bound on iCE40 logic cells (a carry
        # cell without a LUT to share with needs a cell of its own); past it, nextpnr's packer
        # fails with an obscure placement error after printing the real counts
        over = overfull_bels((work / log).read_text(errors="replace") if (work / log).exists() else "")
        if over:
            raise DesignTooBig("after packing, the design needs " + ", ".join(
                f"{used:,} {bel} but the device has {available:,}" for bel, used, available in over)) from None
        raise


def overfull_bels(log: str) -> list[tuple[str, int, int]]:
    """(bel, used, available) for each line of nextpnr's "Device utilisation" that is over 100 %."""
    found = re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%$", log, flags=re.MULTILINE)
    return [(bel, int(used), int(available)) for bel, used, available in found if int(used) > int(available)]


def _with_seed_outputs(command: str, seed: int) -> str:
    """The nextpnr command placing with `--seed seed` and writing seed<seed>.* instead of top.*
    (report, log, and the configuration it must write: `--textcfg` on ECP5, `--asc` on iCE40)."""
    renamed, count = re.subn(rf"--(report|log|textcfg|asc) {NAME}\.", rf"--\1 seed{seed}.", command)
    if count != 3:
        raise RuntimeError(f"expected a report, a log and a configuration in the nextpnr command: {command}")
    return route_watchdog.reseeded(renamed, seed)


def prepare(network: Network, board: Board, build_dir: str | Path, *, bitstream: bool = False,
            pipeline: int = 0, popcount: str = "generic", say=print, core_mhz: float | None = None,
            fold=None) -> PreparedBuild:
    """Check the layout, the core clock and the tools, elaborate the bridged core and render its
    build files."""
    from hbnn.hw.buildable import check_buildable

    check_buildable(network)
    # an unreachable frequency fails before the tools are compiled
    core_clock_mhz = None if core_mhz is None else board.core_clock(core_mhz).output_mhz
    tools.prepare(board.family, say=say)
    start = time.perf_counter()
    plan, info = _plan(network, board, pipeline=pipeline, popcount=popcount, core_mhz=core_mhz, fold=fold)
    return PreparedBuild(board, Path(build_dir), plan, info, bitstream, say,
                         {"elaborate": time.perf_counter() - start}, core_clock_mhz)


def _plan(network: Network, board: Board, *, pipeline: int, popcount: str = "generic",
          core_mhz: float | None = None, fold=None):
    """amaranth-boards' build plan for the bridged core (see `plan_design`)."""
    from hbnn.hw import bridge, popcount_library
    from hbnn.hw import generate as hw_generate
    from hbnn.hw import network as hw_network
    from hbnn.hw.pipeline_setting import FULL
    from hbnn.hw.popcount_strategy import strategy_for

    strategy = strategy_for(popcount, board.family)
    library = popcount_library.Library(strategy=strategy)
    core = hw_network.Top(network, pipeline=pipeline, library=library, fold=fold)
    info = hw_generate.describe(core, pipeline=pipeline, layout_hash=network.content_hash, popcount=strategy)
    stages = sum(len(layer["stages"]) for layer in info["layers"])
    # a fully pipelined core is fast enough that the bridge's handshakes must not cross the chip
    # (with a core clock of its own, the clock crossing takes their place)
    edge_stages = bridge.EDGE_STAGES_FULL if pipeline == FULL and core_mhz is None else 0
    plan = plan_design(board, lambda platform: bridge.board_top(core, platform, edge_stages=edge_stages,
                                                                core_mhz=core_mhz, family=board.family,
                                                                pll_on_pad=board.clock_on_pll_pad),
                       library=library,
                       kept=[f"*.{stage_module(index)}" for index in range(stages)],
                       lut_mapper="abc" if strategy.name == "cse" else "abc9",
                       # every add of a full pipeline is its own short chain: a feed-in each is a third
                       chains_without_feed_in=pipeline == FULL,
                       router=(ROUTER_FULL if pipeline == FULL else ROUTER)[board.family])
    return plan, info


def stage_module(index: int) -> str:
    """The end of the name of stream stage `index`'s module in the synthesized hierarchy: the
    bridge's `core`, then where `hw.network.Top` puts the stage. Kept as hierarchy, so yosys's
    statistics give each stage's (and so each layer's) cells."""
    from hbnn.hw.network import Top

    return "core." + Top.STAGE_PATH.format(index=index)


#: LUT mapping with yosys's older `abc` instead of synth's `abc9` step, per family: the steps of
#: synth_ecp5 / synth_ice40's `map_luts` label with abc9 replaced (yosys 0.70's script). abc9 maps
#: with the carry chains as timed boxes and takes over 20 minutes on a shared-arithmetic (cse)
#: layer, which is almost nothing but carry chains (digits MLP, Middle-Out 1.4 bits, first layer
#: with its thresholds: 3,959 CCU2C + 198 LUT4 in 10 s with abc, not finished after 18 minutes
#: with abc9); abc sees the chains as black boxes and maps the little logic between them.
ABC_LUT_MAPPING = {
    "ecp5": ("techmap -map +/lattice/latches_map.v", "abc -lut 4 -dress", "clean"),
    "ice40": ("techmap -map +/ice40/latches_map.v", "abc -lut 4 -dress", "ice40_wrapcarry -unwrap",
              "techmap -map +/ice40/ff_map.v", "clean", "opt_lut -tech ice40"),
}
LUT_MAPPERS = ("abc9", "abc")
#: the $alu map whose ECP5 carry chains need no nextpnr feed-in cell (the file's header explains)
ECP5_ALU_MAP = Path(__file__).with_name("ecp5_alu.v")


def plan_design(board: Board, make_top, *, library=None, kept=(), nextpnr_options: str = "",
                lut_mapper: str = "abc9", chains_without_feed_in: bool = False, router: str | None = None):
    """amaranth-boards' build plan for `make_top(platform)` on `board`, with hbnn's three changes:
    the popcount library's modules added and kept as hierarchy with the modules matching `kept`,
    nets split before LUT mapping, and the clock target raised (module docstring). `lut_mapper`:
    synth's own abc9 step, or `abc` (`ABC_LUT_MAPPING`, for shared-arithmetic designs).
    `chains_without_feed_in` (ECP5): adds mapped by `ECP5_ALU_MAP` instead of yosys's own map,
    their carry chains starting with a Pass half, so nextpnr adds no feed-in cell to each.
    `router`: nextpnr's router, by default the family's (`ROUTER`)."""
    import os

    from amaranth.hdl import Fragment

    from hbnn.hw import fanout

    if lut_mapper not in LUT_MAPPERS:
        raise ValueError(f"unknown LUT mapper {lut_mapper!r}; choose one of: {', '.join(LUT_MAPPERS)}")

    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    platform = board.make_platform()
    fragment = Fragment.get(make_top(platform), platform)      # instantiates the popcounts
    # the registered copies of fan-out trees (full pipelining), which yosys would merge into one
    kept = [fanout.KEPT_MODULES, *kept]
    if library is not None and library.entries:
        platform.add_file("hbnn_popcounts.il", library.rtlil())
        kept.insert(0, f"{library.prefix}.*")
    synth = f"synth_{board.family} {' '.join(board.synth_options)} -top {NAME}"
    own_alu_map = chains_without_feed_in and board.family == "ecp5"
    # with our own $alu map, synth stops before its gate mapping, which then finds no $alu left
    before_luts = f"techmap -map {ECP5_ALU_MAP.name}\n{synth} -run map_gates:map_luts\n" if own_alu_map else ""
    if lut_mapper == "abc9":
        lut_mapping = f"{synth} -run map_luts:"
    else:
        lut_mapping = "\n".join(ABC_LUT_MAPPING[board.family]) + f"\n{synth} -run map_cells:"
    plan = platform.prepare(
        fragment, name=NAME,
        script_after_read=("setattr -mod -set keep_hierarchy 1 " + " ".join(kept)) if kept else "",
        # yosys 0.70's abc9 can fail on hierarchical Amaranth netlists with "Assert
        # `count_id(wire->name) == 0'" (YosysHQ/yosys#4349); splitting nets first avoids it, so
        # the synth script stops before LUT mapping, splits, and resumes.
        synth_opts=" ".join(board.synth_options) + (" -run :map_gates" if own_alu_map else " -run :map_luts"),
        script_after_synth=f"{before_luts}splitnets\n{lut_mapping}\ntee -q -o {NAME}.stat.json stat -json",
        nextpnr_opts=(f"--timing-allow-fail --router {router or ROUTER[board.family]} --report {NAME}.report.json "
                      f"{nextpnr_options}"),
    )
    _raise_clock_target(plan.files, CLOCK_TARGET_MHZ)
    if own_alu_map:      # beside the build, not among the sources yosys reads as the design
        plan.files[ECP5_ALU_MAP.name] = ECP5_ALU_MAP.read_text()
    return plan


def _extract(files: dict, root: Path) -> None:
    """Write a build plan's files under `root`. (BuildPlan.extract changes the process's working
    directory while it writes, which races when two builds are prepared from two threads.)"""
    for name, content in files.items():
        path = root / name
        if path.resolve().parent != root.resolve() and root.resolve() not in path.resolve().parents:
            raise ValueError(f"build file {name!r} would land outside {root}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def _raise_clock_target(files: dict, mhz: float) -> None:
    """Rewrite the design clock's constraint (iCE40 .pcf `set_frequency NET MHZ`, ECP5 .lpf
    `FREQUENCY PORT|NET "NET" HZ HZ;`) to `mhz`: the board clock's, or the core clock's when
    the core has one (`hw.core_clock`; the board clock then keeps its own frequency, as the UART
    bridge needs no more). Fails loudly if amaranth's format ever changes."""
    from hbnn.hw.core_clock import CLOCK_NET

    rules = {f"{NAME}.pcf": (r"^(set_frequency (\S+)) [0-9.]+$", rf"\g<1> {mhz}"),
             f"{NAME}.lpf": (r'^(FREQUENCY (?:PORT|NET) "([^"]+)") [0-9.e+]+ HZ;$', rf"\g<1> {mhz * 1e6:.1f} HZ;")}
    for name, (pattern, replacement) in rules.items():
        if name in files:
            found = list(re.finditer(pattern, files[name], flags=re.MULTILINE))
            if len(found) > 1:      # the board clock and the core clock: raise the core's
                found = [match for match in found if match[2].endswith(CLOCK_NET)]
            if len(found) != 1:
                raise RuntimeError(f"expected one design clock constraint in {name}, found {len(found)}")
            match = found[0]
            files[name] = files[name][:match.start()] + match.expand(replacement) + files[name][match.end():]


def _script_commands(script: str) -> tuple[str, list[str]]:
    """Split amaranth's build_top.sh into its variable defaults and its tool commands."""
    lines = [line for line in script.splitlines() if line.strip() and not line.startswith("#")]
    commands = [line for line in lines if line.startswith('"$')]
    preamble = "\n".join(line for line in lines if not line.startswith('"$'))
    if len(commands) != 3:
        raise RuntimeError(f"expected yosys, nextpnr and pack commands in the build script, found {commands}")
    return preamble, commands


def _run(preamble: str, command: str, cwd: Path, env: dict, title: str, *, log: str | None, say,
         progress: bool, stop=None) -> float:
    """Run one tool command of the build script; raise `ToolFailed` with its error line. With
    `stop`, a predicate polled every `POLL_SECONDS`: when it says so, the command's whole process
    group is stopped and `route_watchdog.RoutingStuck` raised."""
    start = time.perf_counter()
    done = threading.Event()
    ticker = threading.Thread(target=_tick, args=(title, start, done, say), daemon=True)
    if progress:
        ticker.start()
    try:
        with tempfile.TemporaryFile() as output:
            # its own session, so that stopping it stops the YoWASP runner under `sh` as well
            process = subprocess.Popen(["sh", "-c", preamble + "\n" + command], cwd=cwd, env=env,
                                       stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                while process.poll() is None:
                    if stop is not None and stop():
                        raise RoutingStuck(title)
                    _wait(process, POLL_SECONDS if stop is not None else None)
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            output.seek(0)
            text = output.read().decode(errors="replace")
    finally:
        done.set()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        if log and (cwd / log).exists():
            text += (cwd / log).read_text(errors="replace")
        errors = [line.strip() for line in text.splitlines() if "ERROR" in line]
        detail = errors[0] if errors else (text.strip().splitlines() or ["no output"])[-1]
        raise ToolFailed(f"{title} failed after {seconds:.0f} s: {detail}")
    if progress:
        say(f"{title}: {seconds:.0f} s")
    return seconds


def _wait(process: subprocess.Popen, seconds: float | None) -> None:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass


def _tick(title: str, start: float, done: threading.Event, say) -> None:
    """Report a long tool run every 30 s, so a minutes-long synthesis is visibly alive."""
    while not done.wait(30):
        say(f"{title}: running, {time.perf_counter() - start:.0f} s")


def _check_fits(cells: reports.CellCounts, board: Board) -> None:
    """Refuse before place and route when the cells cannot fit the device."""
    capacity = board.capacity
    if board.family == "ice40":   # a logic cell holds one LUT4 and one flip-flop
        needed = {"logic cells": (max(cells.lut4, cells.flip_flops), capacity.logic)}
    else:
        needed = {"LUT4 sites": (cells.lut4_equivalent, capacity.logic),
                  "flip-flops": (cells.flip_flops, capacity.flip_flops)}
    needed |= {"block RAMs": (cells.bram, capacity.bram), "DSP blocks": (cells.dsp, capacity.dsp)}
    for what, (used, available) in needed.items():
        if used > available:
            raise DesignTooBig(f"the design needs {'at least ' if what == 'logic cells' else ''}"
                               f"{used:,} {what} but {board.name} has {available:,} "
                               f"(LUT4 {cells.lut4:,}, carry {cells.carry:,}, FF {cells.flip_flops:,})", cells)


def _layer_cells(stat: dict, info: dict, family: str) -> list[LayerCells]:
    """Cells of each layout layer: the sum of its stream stages' kept modules."""
    result, stage = [], 0
    for layer in info["layers"]:
        totals: dict[str, int] = {}
        for _ in layer["stages"]:
            module = reports.module_named(stat, stage_module(stage))
            for cell, count in reports.flat_cells(stat, module).items():
                totals[cell] = totals.get(cell, 0) + count
            stage += 1
        result.append(LayerCells(layer["index"], layer["kind"], reports.cell_counts(family, totals)))
    return result
