"""Training that gives the same bits on any x86-64 machine: one thread and pinned CPU kernels.

A float sum depends on its order, and PyTorch's CPU kernels choose the order from two things the
machine decides: how many threads share a reduction (each sums its own chunk) and which vector
instructions run it (AVX2 or AVX-512, 8 or 16 lanes). A binarized net amplifies the difference:
one weight whose sign flips changes every later step. Measured on a 2-core AVX-512 machine
(`benchmarks/reproducibility.py`: digits MLP at 2 bits, seed 0, test accuracy): 97.50 % on 1
thread and 95.56 % on 2 with the machine's AVX-512 kernels, 96.94 % and 97.22 % with AVX2 kernels,
and with both guards below 96.94 % (the same weights, bit for bit) with 1 or 2 threads.

So hbnn fixes both:

- **Kernels**: the libraries read these variables the first time a kernel runs, so
  `pin_cpu_kernels()` sets them when hbnn is imported (`hbnn/__init__.py`), before any of its
  code runs torch: `ATEN_CPU_CAPABILITY=avx2` (ATen's vectorized kernels), `ONEDNN_MAX_CPU_ISA=AVX2`
  (oneDNN's convolutions) and `MKL_CBWR=AVX2` (MKL's conditional numerical reproducibility for
  matrix products). AVX2 is what every x86-64 CPU of the last decade runs. A value already set in
  the environment is kept: that is how a user chooses other kernels (and gives up portability).
- **Threads**: `train` runs inside `single_thread()`, whatever the process's thread setting. On the
  bundled nets one thread costs little (the MNIST-1D CNN at 1.4 bits, 30 epochs: 38.5 s guarded,
  30.3-37.5 s on two threads without the guards; `benchmarks/reproducibility.py --dataset mnist1d
  --net cnn1d --weights 1.4`).

`kernels_in_use()` names the kernels torch actually runs; training records it in the checkpoint
and warns when it differs from the pinned ones (torch ran a kernel before hbnn was imported).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

#: environment variable -> value, read by ATen, oneDNN and MKL at their first kernel
PINNED_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}
#: what torch.backends.cpu.get_cpu_capability() reports when the pin took effect
PINNED_CAPABILITY = "AVX2"


def pin_cpu_kernels() -> None:
    """Set every `PINNED_KERNELS` variable the environment does not already set."""
    for variable, value in PINNED_KERNELS.items():
        os.environ.setdefault(variable, value)


def kernels_in_use() -> str:
    """The vector instruction set of torch's CPU kernels in this process ("AVX2", "AVX512", ...)."""
    import torch

    return torch.backends.cpu.get_cpu_capability()


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block; the previous setting comes back after."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
