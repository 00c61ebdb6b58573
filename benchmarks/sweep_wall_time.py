"""Wall time of one sweep on the local process pool and on a local Dask cluster, side by side.

    .venv/bin/python benchmarks/sweep_wall_time.py [SWEEP.toml] [--workers 2]

Runs `hbnn sweep SWEEP.toml` twice from empty result stores (so every step runs): once on the
local pool of `--workers` processes, once with `--cluster` on a Dask `LocalCluster` of as many
worker processes (one thread each) started here. Prints both wall times and checks that the two
tables are identical (`sweep.csv`). Default sweep: docs/digits-sweep.toml (README "Sweeps").
"""

import argparse
import filecmp
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def sweep(file: Path, build: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hbnn", "sweep", str(file), "--build", str(build), "--quiet", *extra],
                   check=True)
    return time.perf_counter() - start


def main() -> None:
    from distributed import LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=Path(__file__).parent.parent / "docs" / "digits-sweep.toml",
                        type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        pool, cluster_build = Path(scratch) / "pool", Path(scratch) / "cluster"
        pooled = sweep(args.file, pool, "--workers", str(args.workers))
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            clustered = sweep(args.file, cluster_build, "--cluster", cluster.scheduler_address)
        table = Path("sweep") / args.file.stem / "sweep.csv"
        same = filecmp.cmp(pool / table, cluster_build / table, shallow=False)
        print(f"{args.file.name}: local pool of {args.workers} processes {pooled:.0f} s, local Dask cluster of "
              f"{args.workers} workers {clustered:.0f} s (cluster / pool = {clustered / pooled:.2f}); "
              f"tables {'identical' if same else 'DIFFERENT'}")
        print((pool / table).read_text())
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
