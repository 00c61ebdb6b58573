"""The sweep's result store: one SQLite file holding every finished step, keyed by content.

Tables:

- `steps(key, kind, inputs, result, blob, error, seconds, finished)`: one row per step key
  (`hbnn.step_keys`). `result` is the step's JSON result, `blob` its file (a training step's
  layout .npz), `error` the error text of a step that failed (then `result` is NULL). A failed
  step is run again by the next sweep; a finished one never is.
- `executions(key, kind, status, seconds, finished)`: one row per step that ran to its end
  (ok or failed), in order: the log that shows no step was done twice.

Only the process that runs the sweep writes (workers return their results to it), each step in
its own transaction, so a sweep killed at any moment leaves every finished step stored and no
half-written one. The file is embedded: no server, readable with any SQLite client.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
create table if not exists steps (
    key text primary key, kind text not null, inputs text not null, result text, blob blob,
    error text, seconds real, finished real);
create table if not exists executions (
    key text not null, kind text not null, status text not null, seconds real, finished real);
"""


@dataclass(frozen=True)
class Record:
    key: str
    kind: str
    inputs: dict
    result: dict | None      # None when the step failed
    blob: bytes | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None


class Store:
    """`Store(path)` opens (creating) the SQLite file at `path`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def get(self, key: str) -> Record | None:
        row = self._db.execute("select key, kind, inputs, result, blob, error, seconds from steps where key = ?",
                               (key,)).fetchone()
        if row is None:
            return None
        key, kind, inputs, result, blob, error, seconds = row
        return Record(key, kind, json.loads(inputs), None if result is None else json.loads(result), blob,
                      error, seconds or 0.0)

    def finished(self, key: str) -> Record | None:
        """The step's record when it finished without error, else None (to run)."""
        record = self.get(key)
        return record if record is not None and record.ok else None

    def put(self, key: str, kind: str, inputs: dict, *, result: dict | None = None, blob: bytes | None = None,
            error: str | None = None, seconds: float = 0.0) -> None:
        """Store a step that ran to its end: its result (and file), or its error. An error never
        replaces a result (two sweeps sharing the store may both have run the step)."""
        now = time.time()
        with self._db:                               # one transaction: both rows or neither
            self._db.execute("insert into steps values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (key) do update set "
                             "result = excluded.result, blob = excluded.blob, error = excluded.error, "
                             "seconds = excluded.seconds, finished = excluded.finished "
                             "where excluded.error is null or steps.error is not null",
                             (key, kind, json.dumps(inputs, sort_keys=True),
                              None if result is None else json.dumps(result, sort_keys=True), blob, error,
                              seconds, now))
            self._db.execute("insert into executions values (?, ?, ?, ?, ?)",
                             (key, kind, "failed" if error is not None else "ok", seconds, now))

    def executions(self) -> list[tuple[str, str, str]]:
        """(key, kind, status) of every step that ran to its end, oldest first."""
        return self._db.execute("select key, kind, status from executions order by rowid").fetchall()

    def mean_seconds(self) -> dict[str, float]:
        """kind -> mean seconds of its finished steps (what an ETA is estimated from)."""
        return dict(self._db.execute("select kind, avg(seconds) from steps where error is null group by kind"))
