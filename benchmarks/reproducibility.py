"""What training gives without hbnn's reproducibility guards, and with them (hbnn.model.reproducible).

Trains one net (default: the digits MLP at 2 bits, seed 0, default epochs) in fresh processes:

- guarded, as hbnn trains: 1 thread, pinned AVX2 kernels; once with OMP_NUM_THREADS=1 and once =2;
- unguarded: the thread guard removed, with 1 and with 2 threads, on the pinned kernels and on the
  machine's best (ATEN_CPU_CAPABILITY=avx512, ONEDNN_MAX_CPU_ISA=ALL, MKL_CBWR=AUTO: a value the
  user sets is kept; each library falls back to what the CPU has).

Prints test accuracy, a hash of the trained weights and the training time per run. Usage:

    .venv/bin/python benchmarks/reproducibility.py [--weights 2] [--net mlp] [--dataset digits]
"""

import argparse
import os
import subprocess
import sys

RUN = """
import contextlib, hashlib, sys, time
import torch
import hbnn.model.training as training
from hbnn.model import data
from hbnn.model.config import net_config, train_config_for
if sys.argv[1] == "unguarded":
    training.single_thread = contextlib.nullcontext
    torch.set_num_threads(int(sys.argv[2]))
dataset, net, weights = sys.argv[3:6]
data.load(dataset)
start = time.perf_counter()
config = net_config(dataset, net, weights=weights)
result = training.train(config, data.load(dataset), train_config_for(config), progress=False)
seconds = time.perf_counter() - start
digest = hashlib.sha256(b"".join(v.numpy().tobytes() for v in result.net.state_dict().values()))
print(f"{100 * result.test_accuracy:.2f} {digest.hexdigest()[:12]} {result.kernels} {seconds:.1f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--net", default="mlp")
    parser.add_argument("--weights", default="2")
    args = parser.parse_args()
    machine_kernels = {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "ALL", "MKL_CBWR": "AUTO"}
    cases = [("guarded", 1, {}), ("guarded", 2, {}), ("unguarded", 1, {}), ("unguarded", 2, {}),
             ("unguarded", 1, machine_kernels), ("unguarded", 2, machine_kernels)]
    print(f"{args.dataset} {args.net} weights {args.weights}, seed 0")
    print(f"{'run':<10} {'threads':>7} {'kernels':>8} {'accuracy %':>10}  {'weights hash':<12} {'seconds':>7}")
    for guard, threads, overrides in cases:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), **overrides}
        output = subprocess.run([sys.executable, "-c", RUN, guard, str(threads), args.dataset, args.net,
                                 args.weights], env=env, capture_output=True, text=True, check=True).stdout
        accuracy, digest, kernels, seconds = output.split()
        print(f"{guard:<10} {threads:>7} {kernels:>8} {accuracy:>10}  {digest:<12} {seconds:>7}")


if __name__ == "__main__":
    main()
