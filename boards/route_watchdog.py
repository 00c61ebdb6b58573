"""A watchdog on nextpnr's router: a run that stops making progress is stopped and placed again
with another seed.

Why: nextpnr's routers can livelock on one placement. Measured on a 32-input mapped-popcount layer
for the iCEBreaker (`tests/test_boards.py`, built in a fresh clone whose paths changed the netlist's
names and so the placement): router1 reached 559 unrouted arcs in 0.5 s and then ripped up and
rerouted the same 1,000 arcs per batch for 33 minutes without end; the same netlist with `--seed 2`,
`3` or `4` routes in 0.6-0.9 s. Router2 can loop the same way (`boards.flow.ROUTER`). The livelock
is deterministic for a netlist and seed, so waiting longer never helps, and another seed does.

Progress: nextpnr writes its log (`--log top.tim`) as it runs. The figure that must fall:

    router1, a row every 1000 arcs:  "Info:    8374000 |  8372059   1735 | 1000  0 |   559|  0.19  1975.60|"
                                      remaining arcs = the 4th column group (559)
    router2, a row per iteration:    "Info:     iter=12 wires=229325 overused=223 overuse=224 archfail=NA"
                                      overused wires = 223

The run is stuck when its best figure has not fallen for

    max(STALL_FLOOR_SECONDS, STALL_FACTOR x (seconds from the first progress row to that best)),

so a router that needed P seconds of steady progress gets 2P more to find its next improvement
(at least 2 minutes: a slow router2 iteration of a big ECP5 design under load takes about a minute).
Before the first progress row (YoWASP compiling nextpnr on a fresh machine, packing, placing) and
after routing (a figure of 0, or "Routing complete": timing analysis and writing the configuration
can take minutes) the watchdog does not judge. A stuck run is stopped (its whole process group) and rerun with
`--seed` 2, 3, ... (`ATTEMPTS` runs in all); `place_and_route` returns the seed that routed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

ATTEMPTS = 3               # the command as given, then two more seeds
STALL_FLOOR_SECONDS = 120.0
STALL_FACTOR = 2.0
RETRY_SEEDS_FROM = 2       # nextpnr's unseeded run is the first attempt; retries take 2, 3, ...

_ROUTER1_ROW = re.compile(r"^Info:\s+\d+\s*\|\s*\d+\s+\d+\s*\|\s*\d+\s+\d+\s*\|\s*(\d+)\s*\|")
_ROUTER2_ROW = re.compile(r"^Info:\s+iter=\d+\s.*\boverused=(\d+)\b")
_SEED = re.compile(r"--seed[ =](\d+)")


class RoutingStuck(RuntimeError):
    """A routing run stopped making progress (the watchdog stopped it)."""


def progress_figure(line: str) -> int | None:
    """The routing figure in one log line (remaining arcs or overused wires), or None."""
    match = _ROUTER1_ROW.match(line) or _ROUTER2_ROW.match(line)
    return int(match.group(1)) if match else None


@dataclass
class RoutingWatch:
    """Follows a growing nextpnr log and says when routing is stuck (module docstring)."""
    log: Path
    floor_seconds: float | None = None     # None: STALL_FLOOR_SECONDS
    factor: float | None = None            # None: STALL_FACTOR
    clock: object = time.monotonic
    first_row_at: float | None = None
    best: int | None = None
    best_at: float | None = None
    routed: bool = False
    _offset: int = 0
    _partial: str = field(default="", repr=False)

    def __post_init__(self):
        self.floor_seconds = STALL_FLOOR_SECONDS if self.floor_seconds is None else self.floor_seconds
        self.factor = STALL_FACTOR if self.factor is None else self.factor

    def feed(self, line: str, now: float) -> None:
        if line.startswith("Info: Routing complete"):
            self.routed = True
        figure = progress_figure(line)
        if figure is None:
            return
        if self.first_row_at is None:
            self.first_row_at = now
        if self.best is None or figure < self.best:
            self.best, self.best_at = figure, now

    def stuck(self) -> bool:
        """Read what the log gained since the last call; True when the run is stuck."""
        now = self.clock()
        if self.log.exists():
            with self.log.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
            self._offset += len(chunk)
            *lines, self._partial = (self._partial + chunk.decode(errors="replace")).split("\n")
            for line in lines:
                self.feed(line, now)
        # nothing to judge before the router reports, and nothing once it has finished: nextpnr
        # goes on with timing analysis and the bitstream configuration (minutes on a big design)
        if self.best_at is None or self.routed or self.best == 0:
            return False
        allowed = max(self.floor_seconds, self.factor * (self.best_at - self.first_row_at))
        return now - self.best_at > allowed

    def describe(self) -> str:
        return f"stuck at {self.best:,} unrouted arcs or overused wires"


def reseeded(command: str, seed: int) -> str:
    """`command` with nextpnr's `--seed` set to `seed` (replaced if the command has one)."""
    if _SEED.search(command):
        return _SEED.sub(f"--seed {seed}", command)
    return f"{command} --seed {seed}"


def place_and_route(run, command: str, log: Path, *, say, attempts: int = ATTEMPTS,
                    make_watch=RoutingWatch) -> tuple[float, int | None]:
    """Run nextpnr `command` through `run(command, stop)` (which runs it, polls `stop()` and raises
    `RoutingStuck` after stopping it when `stop()` is true, and returns its seconds) until a run
    finishes. Returns (seconds of all attempts, the seed that routed; None for the command's own)."""
    given = _SEED.search(command)
    first_retry = int(given.group(1)) + 1 if given else RETRY_SEEDS_FROM
    seeds = [None] + [first_retry + index for index in range(attempts - 1)]
    spent, failures = 0.0, []
    for seed in seeds:
        watch = make_watch(log)
        start = time.perf_counter()
        try:
            run(command if seed is None else reseeded(command, seed), watch.stuck)
        except RoutingStuck:
            spent += time.perf_counter() - start
            failures.append(f"{'the default seed' if seed is None else f'--seed {seed}'}: {watch.describe()}")
            say(f"place and route: the router made no progress ({failures[-1]}); trying another seed")
            continue
        return spent + time.perf_counter() - start, seed
    raise RoutingStuck(f"place and route made no progress with {len(seeds)} seeds ({'; '.join(failures)}); "
                       f"see {log.name}")
