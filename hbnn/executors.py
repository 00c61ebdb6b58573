"""Where sweep steps run: a local process pool by default, or a Dask distributed cluster.

Both are `concurrent.futures.Executor`s (Dask's through `Client.get_executor`), so the sweep
(`hbnn.sweep`) submits steps and waits for them the same way on one laptop and on a cluster.

Why Dask distributed rather than Ray: its wheels are pure Python (Ray's are 60+ MB of native
code per platform), its executor is the standard `concurrent.futures` interface the local pool
already has, `dask-jobqueue` starts its workers as Slurm/PBS/SGE jobs, and a `LocalCluster` is a
real scheduler with real worker processes for the tests. See docs/sweeps.md.

Local pool size: one worker per core, and no more than the memory allows at `GB_PER_WORKER`
each (nextpnr on the largest designs hbnn builds peaks near 1.5 GB).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context

from hbnn.model.errors import ConfigError

GB_PER_WORKER = 2.0
CONNECT_SECONDS = 10      # how long --cluster waits for the scheduler to answer
WORKER_SECONDS = 300      # and then for its first worker


def local_pool(workers: int | None = None) -> tuple[Executor, int]:
    """(a process pool of `workers` processes, their count); default `default_workers()`.
    Spawned: fresh interpreters, so no torch thread pool is inherited half-initialized."""
    count = workers or default_workers()
    return ProcessPoolExecutor(count, mp_context=get_context("spawn")), count


def default_workers() -> int:
    """One per core, at most one per `GB_PER_WORKER` of available memory, at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    memory = available_gb()
    by_memory = cores if memory is None else int(memory // GB_PER_WORKER)
    return max(1, min(cores, by_memory))


def available_gb() -> float | None:
    """MemAvailable of /proc/meminfo in GB; None where there is no such file."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        return None
    return None


def cluster(address: str) -> tuple[Executor, int, object]:
    """(an executor on the Dask scheduler at `address`, its worker threads, the client to close).
    `ConfigError` when Dask is not installed or no scheduler answers within `CONNECT_SECONDS`."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--cluster needs Dask distributed: pip install 'distributed'") from None
    try:
        client = Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError) as error:
        raise ConfigError(f"--cluster: no Dask scheduler answers at {address} ({error})") from None
    try:                                 # jobs of a batch system may still be starting
        client.wait_for_workers(1, timeout=WORKER_SECONDS)
    except TimeoutError:
        client.close()
        raise ConfigError(f"--cluster: the Dask scheduler at {address} has no workers (waited "
                          f"{WORKER_SECONDS} s); start some with `dask worker {address}`") from None
    # counted once: workers that join later take steps but do not raise how many run at once
    threads = sum(client.nthreads().values())
    # pure=False: a step is run each time it is submitted (the store decides what to reuse)
    return client.get_executor(pure=False), threads, client



@contextmanager
def opened(address: str | None = None, workers: int | None = None) -> Iterator[tuple[Executor, int, str]]:
    """(executor, its workers, where it runs) for a run: the Dask cluster at `address`, else a local
    pool of `workers`. On leaving, the executor is shut down: after waiting for its steps when the
    run ended normally, cancelling the queued ones on an error or Ctrl-C (finished steps are
    already stored)."""
    if address:
        executor, count, client = cluster(address)
        where = f"the Dask cluster at {address}"
    else:
        (executor, count), client = local_pool(workers), None
        where = "a local process pool"
    try:
        yield executor, count, where
    except BaseException:
        if client is None:
            executor.shutdown(wait=False, cancel_futures=True)
        else:                 # Dask's executor has no cancel_futures; the runner cancelled its steps
            executor.shutdown(wait=False)
        raise
    else:
        executor.shutdown()
    finally:
        if client is not None:
            client.close()
