"""Golden model against the trained float model, for every bundled net at 1, 1.4 and 2 bits.

Run: `.venv/bin/python benchmarks/agreement.py [--seed 0]`. Trains each net at its defaults
(1-bit hidden activations, Middle-Out, BinaryConnect), exports it, runs the integer golden model on
the whole test set and prints a Markdown table: class agreement, both accuracies, the golden
model's run time on the test set, and the accumulator widths. The README quotes its output.
"""

import argparse
import time

import torch

from hbnn.model import data, golden
from hbnn.model.agreement import measure
from hbnn.model.export import export, pixel_codes
from hbnn.model.config import NETS, net_config, train_config_for
from hbnn.model.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for the golden model's timed run (training always uses one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| data set | net | weights | same class (%) | float acc (%) | golden acc (%) | golden run (ms) | accumulator widths |")
    print("|---|---|---|---|---|---|---|---|")
    for dataset, net in NETS:
        ds = data.load(dataset)
        for mix in ("1", "1.4", "2"):
            config = net_config(dataset, net, weights=mix)
            model = train(config, ds, train_config_for(config, seed=args.seed), progress=False).net
            network = export(model)
            agreement = measure(model, network, ds)
            pixels = pixel_codes(network, ds.test_x)
            start = time.perf_counter()
            golden.run(network, pixels)
            milliseconds = 1000 * (time.perf_counter() - start)
            widths = "/".join(str(layer.accumulator_width()) for layer in network.weight_layers())
            print(f"| {dataset} | {net} | {mix} | {100 * agreement.same_class:.2f} | "
                  f"{100 * agreement.float_accuracy:.2f} | {100 * agreement.golden_accuracy:.2f} | "
                  f"{milliseconds:.1f} | {widths} |", flush=True)


if __name__ == "__main__":
    main()
