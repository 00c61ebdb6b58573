"""Fully pipelined designs, bit-exact on the whole digits test set in Verilator, under stalls.

Run: `.venv/bin/python benchmarks/pipeline_acceptance.py [--mixes 1,1.4,2] [--sim verilator]`.
Trains the demo's digits MLP (Middle-Out, power-of-two ratios, seed 0) at each mix, generates it
with `--pipeline full`, and streams every test image through the whole network and through each
layer alone (fed the golden model's input for it), with random idle at the source (30 %), random
backpressure at the sink (30 %) and the sink's ready held low for a random stretch mid-stream of
3-6x the pipeline's latency (credits run out, the output FIFO fills). Prints a Markdown table:
every class, score and level compared with the golden model; a lost or repeated image shifts every
later result and shows as mismatches.
"""

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch

from hbnn.hw.generate import generate
from hbnn.model import data
from hbnn.model.config import net_config, train_config_for
from hbnn.model.export import export, pixel_codes
from hbnn.model.training import train
from hbnn.sim.runner import simulate, simulate_layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", default="1,1.4,2", help="comma-separated weight mixes")
    parser.add_argument("--sim", default="verilator", help="simulator (icarus, verilator)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    digits = data.load("digits")
    print("| weights | unit | images | stall (start, cycles) | cycles | seconds | mismatches | bit-exact |")
    print("|---|---|---|---|---|---|---|---|")
    for mix in (part.strip() for part in args.mixes.split(",") if part.strip()):
        config = net_config("digits", "mlp", weights=mix, ratio_digits=1)
        network = export(train(config, digits, train_config_for(config, None, 0), progress=False).net)
        pixels = pixel_codes(network, digits.test_x)
        rng = random.Random(mix)
        with tempfile.TemporaryDirectory() as folder:
            generated = generate(network, Path(folder) / "net.v", pipeline="full")
            latency = generated.info["latency_cycles"]
            stall = (rng.randrange(50, 150), rng.randrange(3 * latency, 6 * latency))
            start = time.perf_counter()
            report = simulate(network, generated.verilog, generated.description, pixels, simulator=args.sim,
                              build_dir=Path(folder) / "network", seed=1, idle=0.3, backpressure=0.3, stall=stall)
            _row(mix, "whole network", report, stall, time.perf_counter() - start)
            for index in range(len(network.layers)):
                start = time.perf_counter()
                report = simulate_layer(network, index, pixels, simulator=args.sim, build_dir=Path(folder),
                                        pipeline="full", seed=2 + index, idle=0.3, backpressure=0.3, stall=stall)
                _row(mix, f"layer {index} alone", report, stall, time.perf_counter() - start)


def _row(mix: str, unit: str, report, stall, seconds: float) -> None:
    print(f"| {mix} | {unit} | {report.images} | {stall[0]}, {stall[1]} | {report.cycles:,} | {seconds:.1f} | "
          f"{len(report.mismatches)} | {report.bit_exact} |", flush=True)


if __name__ == "__main__":
    main()
