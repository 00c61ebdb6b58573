"""Simulation benchmark: images per second of the generated Verilog under cocotb, per simulator.

Run: `.venv/bin/python benchmarks/simulation.py [--images-icarus-cnn 20]`. Trains and exports the
digits MLP and CNN at 1.4 bits (seed 0), then runs test images through `hbnn simulate`'s machinery
with Icarus and Verilator (random stalls as in the tests) and prints a Markdown table: images,
build + run seconds, run-only images per second (build time measured separately), bit-exactness.
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch

from hbnn.hw.generate import generate
from hbnn.model import data
from hbnn.model.export import export, pixel_codes
from hbnn.model.config import net_config, train_config_for
from hbnn.model.training import train
from hbnn.sim.runner import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images-icarus-cnn", type=int, default=20,
                        help="Icarus is slow on the CNN: fewer images there")
    args = parser.parse_args()
    torch.set_num_threads(1)
    digits = data.load("digits")
    print("| net | simulator | images | total (s) | images/s | bit-exact |")
    print("|---|---|---|---|---|---|")
    for name in ("mlp", "cnn"):
        config = net_config("digits", name, weights="1.4")
        network = export(train(config, digits, train_config_for(config), progress=False).net)
        with tempfile.TemporaryDirectory() as folder:
            generated = generate(network, Path(folder) / f"{name}.v")
            for simulator in ("icarus", "verilator"):
                count = args.images_icarus_cnn if (name, simulator) == ("cnn", "icarus") else len(digits.test_y)
                pixels = pixel_codes(network, digits.test_x[:count])
                start = time.perf_counter()
                report = simulate(network, generated.verilog, generated.description, pixels,
                                  simulator=simulator, build_dir=Path(folder) / f"build-{simulator}")
                total = time.perf_counter() - start
                print(f"| digits {name} 1.4 | {simulator} | {count} | {total:.1f} | "
                      f"{count / total:.1f} | {report.bit_exact} |", flush=True)


if __name__ == "__main__":
    main()
