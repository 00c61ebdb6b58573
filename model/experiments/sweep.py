"""Train a list of configurations over several seeds and collect test accuracies, with progress."""

from dataclasses import dataclass

from tqdm.auto import tqdm

from .. import data
from ..config import NetConfig, train_config_for
from ..training import train


@dataclass(frozen=True)
class Run:
    key: tuple            # what the caller files the result under
    config: NetConfig


def sweep(runs: list[Run], seeds: int, epochs: int | None = None, progress: bool = True,
          description: str = "runs") -> dict[tuple, list[float]]:
    """key -> test accuracies, one per seed 0..seeds-1, training every run once per seed."""
    results: dict[tuple, list[float]] = {}
    jobs = [(run, seed) for run in runs for seed in range(seeds)]
    bar = tqdm(jobs, desc=description, disable=None if progress else True, unit="run")
    for run, seed in bar:
        bar.set_postfix_str(" ".join(str(k) for k in run.key) + f" seed {seed}")
        train_config = train_config_for(run.config.dataset, epochs, seed)
        result = train(run.config, data.load(run.config.dataset), train_config, progress=False)
        results.setdefault(run.key, []).append(result.test_accuracy)
    return results
