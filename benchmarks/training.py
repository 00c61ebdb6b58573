"""Wall-clock training time and test accuracy of every bundled net at its defaults.

Run: `.venv/bin/python benchmarks/training.py [--seeds 1]`. Prints a Markdown table (the README
quotes it). Times include building the net and evaluating; the data sets are built once beforehand
and not timed. Training runs on one thread whatever the machine has (`hbnn.model.reproducible`).
"""

import argparse
import time

import torch

from hbnn.model import data
from hbnn.model.config import NETS, net_config, train_config_for
from hbnn.model.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="runs per configuration")
    args = parser.parse_args()
    for name in data.DATASETS:
        data.load(name)
    print(f"torch {torch.__version__}, training on one thread\n")
    print("| data set | net | weights | activations | epochs | seconds | test accuracy (%) |")
    print("|---|---|---|---|---|---|---|")
    for dataset, net in NETS:
        for weights, act_bits in (("1.4", 1), ("float", 0)):
            config = net_config(dataset, net, weights=weights, act_bits=act_bits)
            for seed in range(args.seeds):
                train_config = train_config_for(config, seed=seed)
                start = time.perf_counter()
                result = train(config, data.load(dataset), train_config, progress=False)
                seconds = time.perf_counter() - start
                print(f"| {dataset} | {net} | {weights} | {act_bits or 'float'} | {train_config.epochs} "
                      f"| {seconds:.1f} | {100 * result.test_accuracy:.1f} |", flush=True)


if __name__ == "__main__":
    main()
