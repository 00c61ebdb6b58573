"""Train a list of configurations over several seeds, in parallel worker processes, with progress.

Each (run, seed) is one job: a fresh net trained with the run's recipe (`config.train_config_for`,
or the run's own epochs and learning rate), on the data set or on its validation split; a run's
`measure` also measures each trained net in its worker (e.g. the cost of its arithmetic). Jobs go to
`workers` processes (default: one per core; each trains on one thread, `model.reproducible`, so
the results are the same whatever the number of workers). `workers=1` trains in this process.

A `runner` replaces that pool: `runner(jobs)` gets one `Job` per (run, seed) and returns each
job's `Outcome` as a dict, in order. `hbnn experiment` passes the sweep machinery's
(`hbnn.commands.experiment`): cached by content in the result store, on a local pool or a Dask
cluster, so a rerun trains nothing it has trained before.
"""

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context

from tqdm.auto import tqdm

from .. import data
from ..config import NetConfig, TrainConfig, train_config_for


@dataclass(frozen=True)
class Run:
    key: tuple                  # what the caller files the result under
    config: NetConfig
    validation: bool = False    # train on the training set minus `data.validation_split`, score on it
    epochs: int | None = None   # None: the recipe's (or the sweep's `epochs`)
    lr: float | None = None     # None: the recipe's
    measure: Callable | None = None   # a module-level function of the trained net -> dict of numbers


@dataclass(frozen=True)
class Outcome:
    """Accuracies of one trained net (test = the validation split for validation runs)."""

    test: float                 # exact sign, statistics re-estimated: what export and hardware compute
    train: float
    training_forward: float     # test accuracy under the quantizers' training forward
    measures: dict | None = None   # what the run's `measure` returned for the trained net


def train_config(run: Run, seed: int, epochs: int | None = None) -> TrainConfig:
    recipe = train_config_for(run.config, run.epochs or epochs, seed)
    return TrainConfig(epochs=recipe.epochs, lr=run.lr or recipe.lr, seed=seed)


@dataclass(frozen=True)
class Job:
    """One (run, seed) for a `runner`: what its result depends on (JSON), the call and a title."""
    inputs: dict
    call: Callable               # job_step
    kwargs: dict
    title: str


def job_inputs(run: Run, seed: int, epochs: int | None) -> dict:
    """Everything a job's outcome depends on: the net, the data (validation split or not), the
    training configuration and the measuring function (by name)."""
    measure = None if run.measure is None else f"{run.measure.__module__}.{run.measure.__qualname__}"
    return {"config": run.config.to_dict(), "validation": run.validation,
            "train": asdict(train_config(run, seed, epochs)), "measure": measure}


def job_step(run: Run, seed: int, epochs: int | None, work: str) -> tuple[dict, None]:
    """A job as a sweep step (`work`, its folder, is not needed: nothing is written)."""
    return asdict(_job(run, seed, epochs)), None


def _job(run: Run, seed: int, epochs: int | None) -> Outcome:
    from ..training import train

    dataset = data.load(run.config.dataset)
    if run.validation:
        dataset = data.validation_split(dataset)
    result = train(run.config, dataset, train_config(run, seed, epochs), progress=False)
    measures = None if run.measure is None else run.measure(result.net)
    return Outcome(result.test_accuracy, result.train_accuracy, result.training_forward_accuracy, measures)


def sweep(runs: list[Run], seeds: int, epochs: int | None = None, progress: bool = True,
          description: str = "runs", workers: int | None = None, runner: Callable | None = None
          ) -> dict[tuple, list[Outcome]]:
    """key -> one `Outcome` per seed 0..seeds-1, training every run once per seed."""
    jobs = [(run, seed) for run in runs for seed in range(seeds)]
    if runner is not None:
        outcomes = runner([Job(job_inputs(run, seed, epochs), job_step, {"run": run, "seed": seed, "epochs": epochs},
                               f"{description} {' '.join(str(k) for k in run.key)} seed {seed}")
                           for run, seed in jobs])
        results: dict[tuple, list[Outcome]] = {}
        for (run, _), outcome in zip(jobs, outcomes):
            results.setdefault(run.key, []).append(Outcome(**outcome))
        return results
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    done: dict[tuple[int, int], Outcome] = {}
    bar = tqdm(total=len(jobs), desc=description, disable=None if progress else True, unit="run")
    if workers <= 1:
        for index, (run, seed) in enumerate(jobs):
            bar.set_postfix_str(" ".join(str(k) for k in run.key) + f" seed {seed}")
            done[index] = _job(run, seed, epochs)
            bar.update()
    else:
        # spawn: fresh interpreters, so no torch thread pool is inherited half-initialized
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_job, run, seed, epochs): index for index, (run, seed) in enumerate(jobs)}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                bar.update()
    bar.close()
    results: dict[tuple, list[Outcome]] = {}
    for index, (run, _) in enumerate(jobs):
        results.setdefault(run.key, []).append(done[index])
    return results
