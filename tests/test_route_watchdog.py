"""The nextpnr routing watchdog: progress rows parsed from real logs, the stall rule, and a stuck
router stopped and rerun with another seed through the flow's own tool runner."""

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hbnn.boards import flow, route_watchdog
from hbnn.boards.route_watchdog import RoutingWatch, progress_figure, reseeded

# rows copied from nextpnr 0.x logs of hbnn builds (router1 on iCE40, router2 on ECP5)
ROUTER1_ROW = "Info:    8374000 |  8372059       1735 | 1000     0 |       559|       0.19    1975.60|"
ROUTER2_ROW = "Info:     iter=12 wires=229325 overused=223 overuse=224 archfail=NA"
NOT_ROWS = ["Info:            |   (re-)routed arcs  |   delta    | remaining|       time spent     |",
            "Info:    IterCnt |  w/ripup   wo/ripup |  w/r  wo/r |      arcs| batch(sec) total(sec)|",
            "Info:     at iteration #5, type ALL: wirelen solved = 635, spread = 2200, legal = 2485; time = 0.02s",
            "Info:   at iteration #20: temp = 0.000000, timing cost = 486, wirelen = 1809",
            "Info: Routing 2431 arcs."]


def test_progress_rows_of_both_routers_are_read_and_other_lines_are_not():
    assert progress_figure(ROUTER1_ROW) == 559
    assert progress_figure(ROUTER2_ROW) == 223
    assert [progress_figure(line) for line in NOT_ROWS] == [None] * len(NOT_ROWS)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def router1_row(remaining: int) -> str:
    return f"Info:       1000 |      176        783 |  176   783 |      {remaining}|       0.13       0.13|\n"


def watch_log(tmp_path, rows_at: list[tuple[float, int]], *, floor=10.0, factor=2.0, until: float):
    """Feed `rows_at` (time, remaining arcs) into a log as time passes; the times `stuck()` said so."""
    log, clock = tmp_path / "top.tim", Clock()
    log.write_text("Info: Routing..\n")
    watch = RoutingWatch(log, floor_seconds=floor, factor=factor, clock=clock)
    stuck_at, pending = [], list(rows_at)
    while clock.now <= until:
        while pending and pending[0][0] <= clock.now:
            with log.open("a") as handle:
                handle.write(router1_row(pending.pop(0)[1]))
        if watch.stuck():
            stuck_at.append(clock.now)
        clock.now += 1.0
    return stuck_at


def test_a_router_that_keeps_improving_is_never_stuck(tmp_path):
    rows = [(t, 5000 - 10 * t) for t in range(0, 400, 5)]
    assert watch_log(tmp_path, rows, until=400) == []


def test_no_judgement_before_the_router_prints_progress(tmp_path):
    assert watch_log(tmp_path, [], until=1000) == []


def test_a_flat_figure_is_stuck_after_the_floor(tmp_path):
    rows = [(0, 900), (1, 559)] + [(t, 559) for t in range(2, 60)]
    stuck = watch_log(tmp_path, rows, until=30)
    assert stuck and stuck[0] == 12.0          # best at t = 1, floor 10 s: stuck from t = 12


def test_long_steady_progress_earns_proportionally_longer_patience(tmp_path):
    # 100 s of progress down to 1000 arcs, then flat: allowed 2 x 100 s, not the 10 s floor
    rows = [(t, 2000 - 10 * t) for t in range(0, 101)] + [(t, 1000) for t in range(101, 400)]
    stuck = watch_log(tmp_path, rows, until=400)
    assert stuck[0] == 301.0


def test_a_finished_router_is_never_stuck_however_long_nextpnr_goes_on(tmp_path):
    # router1 ends at 0 arcs; then nextpnr analyses timing and writes the configuration (on an
    # iCE40 HX8K design: over two minutes, which the first watchdog took for a stall)
    assert watch_log(tmp_path, [(0, 900), (3, 400), (5, 0)], until=1000) == []
    log, clock = tmp_path / "top.tim", Clock()
    log.write_text(ROUTER2_ROW + "\nInfo: Routing complete.\n")       # router2 says so in words
    watch = RoutingWatch(log, clock=clock, floor_seconds=10)
    clock.now = 1000
    assert not watch.stuck()


def test_a_row_split_across_two_reads_is_read_once_whole(tmp_path):
    log, clock = tmp_path / "top.tim", Clock()
    log.write_text(ROUTER1_ROW[:30])
    watch = RoutingWatch(log, clock=clock)
    assert not watch.stuck() and watch.best is None
    with log.open("a") as handle:
        handle.write(ROUTER1_ROW[30:] + "\n")
    watch.stuck()
    assert watch.best == 559


def test_reseeded_appends_or_replaces_the_seed():
    assert reseeded('"$NEXTPNR" --json top.json', 2) == '"$NEXTPNR" --json top.json --seed 2'
    assert reseeded('"$NEXTPNR" --seed 7 --json top.json', 8) == '"$NEXTPNR" --seed 8 --json top.json'


FAKE_NEXTPNR = textwrap.dedent("""\
    # a stand-in for nextpnr: router1 rows in --log; stuck at 559 arcs forever unless seeded with
    # one of the seeds in ROUTES, which routes; writes its pid so the test can see it was stopped
    import os, sys, time
    args = sys.argv[1:]
    log = args[args.index("--log") + 1]
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else None
    with open("pids", "a") as pids:
        pids.write(f"{os.getpid()}\\n")
    if os.environ.get("FAIL"):
        print("ERROR: Unable to place cell 'x'")
        sys.exit(1)
    routes = {int(s) for s in os.environ.get("ROUTES", "").split()}
    with open(log, "w") as out:
        out.write("Info: Routing..\\n")
        for remaining in range(600, 558, -10) if seed not in routes else range(600, -1, -100):
            out.write(f"Info:  1000 |  1 2 |  1 2 |  {remaining}|  0.1  0.1|\\n"); out.flush()
        while seed not in routes:
            out.write("Info:  1000 |  1 2 |  1 2 |  559|  0.1  0.1|\\n"); out.flush()
            time.sleep(0.05)
    """)


@pytest.fixture
def fake_nextpnr(tmp_path, monkeypatch):
    (tmp_path / "fake_nextpnr.py").write_text(FAKE_NEXTPNR)
    monkeypatch.setattr(route_watchdog, "STALL_FLOOR_SECONDS", 1.0)
    monkeypatch.setattr(flow, "POLL_SECONDS", 0.1)
    command = f'"{sys.executable}" fake_nextpnr.py --log top.tim --json top.json'
    said = []

    def place(**env):
        return flow._place_and_route("set -e", command, tmp_path, dict(os.environ, **env),
                                     say=said.append, progress=False)

    def all_stopped() -> bool:
        """Every fake run has ended within 5 s (SIGKILL reaches the orphaned child at once,
        but its exit is asynchronous to our wait on the shell)."""
        pids = [int(line) for line in (tmp_path / "pids").read_text().split()]
        deadline = time.monotonic() + 5
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        return all(_gone(pid) for pid in pids) and len(pids) > 0

    return place, said, all_stopped, tmp_path


def test_a_stuck_router_is_stopped_and_the_next_seed_routes(fake_nextpnr):
    place, said, all_stopped, folder = fake_nextpnr
    seconds, seed = place(ROUTES="3")
    assert seed == 3                                   # default stuck, --seed 2 stuck, --seed 3 routes
    assert len((folder / "pids").read_text().split()) == 3
    assert all_stopped()
    assert sum("made no progress" in line and "stuck at 559" in line for line in said) == 2
    assert seconds > 2.0                               # two stalls of at least the 1 s floor


def test_a_router_stuck_with_every_seed_fails_naming_them(fake_nextpnr):
    place, said, all_stopped, _ = fake_nextpnr
    with pytest.raises(flow.ToolFailed, match=r"no progress with 3 seeds .*--seed 2.*--seed 3"):
        place(ROUTES="")
    assert all_stopped()


def test_a_failing_nextpnr_is_reported_once_not_retried(fake_nextpnr):
    place, said, _, folder = fake_nextpnr
    with pytest.raises(flow.ToolFailed, match="Unable to place cell"):
        place(FAIL="1")
    assert len((folder / "pids").read_text().split()) == 1


def _gone(pid: int) -> bool:
    """No such process, or only its exit status left (a zombie waiting for init to reap it)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except FileNotFoundError:
        return True
