"""Training reproduces bit for bit: the same seed gives the same checkpoint and layout bytes whatever
the process's thread count, because training runs on one thread with pinned CPU kernels."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hbnn.model import reproducible


def _train_and_export(folder: Path, threads: int) -> dict[str, str]:
    """`hbnn train` then `hbnn export` in a fresh process with `threads` OpenMP threads; the
    SHA-256 of the checkpoint and of the layout."""
    folder.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    hbnn = [sys.executable, "-m", "hbnn"]
    subprocess.run(hbnn + ["train", "--weights", "2", "--epochs", "5", "--quiet", "-o", str(folder / "net.pt")],
                   env=env, check=True, capture_output=True)
    subprocess.run(hbnn + ["export", str(folder / "net.pt"), "-o", str(folder / "net.npz")],
                   env=env, check=True, capture_output=True)
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("net.pt", "net.npz")}


def test_two_thread_counts_give_identical_checkpoints_and_layouts(tmp_path):
    # (without `single_thread`, 1 and 2 threads give different weights after these 5 epochs)
    assert _train_and_export(tmp_path / "one", 1) == _train_and_export(tmp_path / "two", 2)


def test_importing_hbnn_pins_the_kernels_and_keeps_a_users_choice():
    probe = ("import hbnn, os, torch; print(os.environ['ATEN_CPU_CAPABILITY'], "
             "torch.backends.cpu.get_cpu_capability())")
    env = {k: v for k, v in os.environ.items() if k not in reproducible.PINNED_KERNELS}
    pinned = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " avx2" not in flags:
        pytest.skip("this CPU has no AVX2, the pinned kernels")
    assert pinned.stdout.split() == ["avx2", reproducible.PINNED_CAPABILITY]
    chosen = subprocess.run([sys.executable, "-c", probe], env={**env, "ATEN_CPU_CAPABILITY": "default"},
                            capture_output=True, text=True, check=True)
    assert chosen.stdout.split() == ["default", "DEFAULT"]


def test_single_thread_restores_the_setting():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with reproducible.single_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
