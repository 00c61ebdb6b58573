"""Run content-keyed steps on an executor, reusing every one the store has finished.

A `Step` is a function call with JSON inputs; its key is `hbnn.step_keys.step_key(kind, inputs)`.
`Runner.add` queues a step; `Runner.run` works until nothing is queued or running:

    for each queued step: store has it finished?  yes -> reused: its `then(record)` now
                                                  no  -> waits for a free worker; the waiting
                                                         step of highest `priority` starts first
    a submitted step ends -> stored (result or error) in one transaction -> `then(record)`, or
                             `failed(why)` when it raised; the progress line is said

`then` may add further steps (a sweep's graph unfolds that way: `hbnn.sweep`); independent steps
(an experiment's trainings: `hbnn.commands.experiment`) need none. The executor is any
`concurrent.futures.Executor` (`hbnn.executors`: a local pool or a Dask cluster); a step runs as
`hbnn.sweep_steps.timed(call, **kwargs, work=FOLDER)` on it, FOLDER = `root/steps/KIND-KEY`.

Progress: one line per step that ends, with the count of the whole run: done (run or reused),
running, queued, failed, skipped (never made: a step they need failed), and an ETA = the known
queued and running steps times the store's mean seconds of their kind (a guess per kind until the
store has timed one), plus the steps not yet made times the mean over kinds, over the workers.
"""

from __future__ import annotations

import statistics
import traceback
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from hbnn import step_keys, sweep_steps
from hbnn.step_store import Record, Store


class StepsFailed(RuntimeError):
    """Steps failed after the others ran (their errors, with tracebacks, are in the store), or a
    worker died."""


class VersionMismatch(RuntimeError):
    """A worker ran a step with other package versions or hbnn source than the step's key holds."""


def _differences(versions: dict, kind: str) -> str:
    here = step_keys.versions(kind)
    return ", ".join(f"{name} {versions.get(name)} (here {here.get(name)})" for name in sorted(set(here) | set(versions))
                     if versions.get(name) != here.get(name))


@dataclass
class Step:
    kind: str
    inputs: dict                 # what the key hashes (JSON data)
    call: object                 # a module-level function: (**kwargs, work) -> (result, file bytes or None)
    kwargs: dict                 # its arguments
    title: str                   # what the progress line calls it
    then: object = None          # called with the step's Record once it is finished (run or reused)
    failed: object = None        # called with the last line of its error when it raised
    priority: tuple = ()         # of the steps waiting, the highest starts first (ties: the first added)
    key: str = field(init=False)

    def __post_init__(self):
        self.key = step_keys.step_key(self.kind, self.inputs)


@dataclass
class Counts:
    total: int                   # every step the run will make, as far as known at the start
    done: int = 0                # finished: run here or reused from the store
    reused: int = 0
    failed: int = 0
    skipped: int = 0             # never made: a step they need failed
    ran: Counter = field(default_factory=Counter)     # kind -> steps run (not reused)


class Runner:
    def __init__(self, store: Store, executor, workers: int, *, root: Path, total: int, say=print,
                 describe=None, guesses: dict | None = None):
        """`describe(kind, result) -> str`: what a finished step's progress line says of it;
        `guesses`: kind -> seconds the ETA assumes until the store has timed a step of that kind."""
        self.store, self.executor, self.workers, self.root, self.say = store, executor, max(1, workers), root, say
        self.describe = describe or (lambda kind, result: "done")
        self.guesses = guesses or {}
        self.counts = Counts(total=total)
        self.queue: list[Step] = []
        self.in_flight: dict = {}                 # future -> Step

    def add(self, step: Step) -> None:
        self.queue.append(step)

    def skip(self, count: int) -> None:
        """`count` steps of the total will never be made (what they need failed)."""
        self.counts.skipped += count

    def run(self) -> Counts:
        try:
            while self.queue or self.in_flight:
                self._submit_queued()
                if not self.in_flight:
                    break
                finished, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
                ended = [self._finish(self.in_flight.pop(future), future) for future in finished]
                self._submit_queued()              # the freed workers first, then what ended
                for step, what, seconds in ended:
                    self._report(step, what, seconds)
        except BaseException:                       # Ctrl-C or a broken pool: stop what is queued
            for future, step in list(self.in_flight.items()):
                future.cancel()
                if future.done() and not future.cancelled() and future.exception() is None:
                    self._store(step, *future.result()[:3])     # finished just now: keep it
            raise
        return self.counts

    def _submit_queued(self) -> None:
        """Reuse every queued step the store has finished (which may queue more), then start the
        highest-priority waiting steps on the free workers. At most one step per worker is in the
        executor, so a long step added late (a large design's build) can still start before short
        ones added early."""
        reused = True
        while reused:
            reused = False
            for step in list(self.queue):
                record = self.store.finished(step.key)
                if record is not None:              # finished by an earlier run: reused
                    self.queue.remove(step)
                    self.counts.done += 1
                    self.counts.reused += 1
                    reused = True
                    if step.then is not None:
                        step.then(record)
        while self.queue and len(self.in_flight) < self.workers:
            step = max(self.queue, key=lambda one: one.priority)      # max keeps the first of equals
            self.queue.remove(step)
            work = self.root / "steps" / f"{step.kind}-{step.key[:16]}"
            self.in_flight[self.executor.submit(sweep_steps.timed, step.kind, step.call, **step.kwargs,
                                                work=str(work))] = step

    def _finish(self, step: Step, future) -> tuple[Step, str, float]:
        """Store the step's result or error, call its `then` or `failed`: (step, what its progress
        line says, its seconds). A worker process that died (killed, out of memory) ends the run:
        `StepsFailed`, nothing stored for the steps it held, so a rerun runs them again."""
        self.counts.ran[step.kind] += 1
        try:
            result, blob, seconds, versions = future.result()
            if versions != step_keys.versions(step.kind):
                raise VersionMismatch(f"the worker computed {step.kind} with {_differences(versions, step.kind)}; "
                                      "give every worker the sweep's environment (docs/sweeps.md, Workers)")
        except BrokenExecutor as error:
            raise StepsFailed(f"a worker process died while running {step.title} ({error}); every finished "
                              "step is stored, and rerunning the same command resumes") from None
        except Exception as error:                                  # the step's own failure
            text = "".join(traceback.format_exception(error)).strip()
            seconds = getattr(error, "seconds", 0.0)
            self.store.put(step.key, step.kind, step.inputs, error=text, seconds=seconds)
            self.counts.failed += 1
            why = last_line(text)
            if step.failed is not None:
                step.failed(why)
            return step, f"FAILED: {why}", seconds
        record = self._store(step, result, blob, seconds)
        self.counts.done += 1
        if step.then is not None:
            step.then(record)
        return step, self.describe(step.kind, result), seconds

    def _store(self, step: Step, result: dict, blob: bytes | None, seconds: float) -> Record:
        self.store.put(step.key, step.kind, step.inputs, result=result, blob=blob, seconds=seconds)
        return Record(step.key, step.kind, step.inputs, result, blob, None, seconds)

    def _report(self, step: Step, what: str, seconds: float) -> None:
        counts = self.counts
        self.say(f"{step.title}: {what} ({seconds:.0f} s) | {counts.done}/{counts.total} done "
                 f"({counts.reused} reused), {len(self.in_flight)} running, {len(self.queue)} queued, "
                 f"{counts.failed} failed" + (f", {counts.skipped} skipped" if counts.skipped else "")
                 + f", ETA {self._eta()}")

    def _eta(self) -> str:
        counts = self.counts
        left = counts.total - counts.done - counts.failed - counts.skipped
        means = {**self.guesses, **self.store.mean_seconds()}
        if left <= 0:
            return "0 s"
        if not means:
            return "unknown"
        fallback = statistics.mean(means.values())
        known = [step.kind for step in [*self.queue, *self.in_flight.values()]]
        seconds = sum(means.get(kind, fallback) for kind in known) + max(0, left - len(known)) * fallback
        return duration(seconds / self.workers)


def run_all(jobs, *, kind: str, store: Store, executor, workers: int, root: Path, say=print, describe=None,
            guess_seconds: float | None = None) -> list[dict]:
    """Independent jobs (each with `inputs`, `call`, `kwargs`, `title`) as steps of `kind`: their
    results, in order; `StepsFailed` (after every job ran) when any failed."""
    results: list = [None] * len(jobs)
    runner = Runner(store, executor, workers, root=root, total=len(jobs), say=say, describe=describe,
                    guesses=None if guess_seconds is None else {kind: guess_seconds})
    for index, job in enumerate(jobs):
        runner.add(Step(kind, job.inputs, job.call, job.kwargs, job.title,
                        then=lambda record, index=index: results.__setitem__(index, record.result)))
    counts = runner.run()
    if counts.failed:
        raise StepsFailed(f"{counts.failed} of {len(jobs)} {kind} steps failed; the store {store.path} has each "
                          f"traceback (a rerun runs only those)")
    return results


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1] if text.strip() else "unknown error"


def duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
