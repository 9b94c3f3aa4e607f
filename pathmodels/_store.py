"""A resumable store of power-simulation replicates (SQLite, standard library only).

Each finished replicate is one row keyed by ``(design_key, rep)``: the design key is a hash
of everything that determines the replicate's numbers (population, analysis model, N,
design options, tests, seed and the design's index), so a run started again with the same
arguments finds its earlier replicates and computes only the missing ones. Rows are
written in one transaction per batch and ``INSERT OR IGNORE`` keeps a replicate from ever
being counted twice. The database runs in WAL mode, so a process killed at any moment
leaves every committed batch intact.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Record", "ReplicateStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replicates (
    design_key TEXT NOT NULL,
    rep INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (design_key, rep)
);
CREATE TABLE IF NOT EXISTS designs (
    design_key TEXT PRIMARY KEY,
    description TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Record:
    """The outcome of one replicate.

    Attributes
    ----------
    rep : int
        Replicate number within its design.
    status : str
        ``"ok"``, ``"nonconverged"`` or ``"failed"``.
    reason : str
        Why a replicate is not ``"ok"`` (empty otherwise).
    payload : dict
        Estimates, standard errors, test decisions and interval coverage.
    """

    rep: int
    status: str
    reason: str
    payload: dict[str, Any]

    def to_row(self, design_key: str) -> tuple[str, int, str, str, str, float]:
        """The row stored for this record (floats round-trip exactly through JSON)."""
        return (
            design_key,
            self.rep,
            self.status,
            self.reason,
            json.dumps(self.payload, allow_nan=True),
            time.time(),
        )

    @classmethod
    def from_row(cls, rep: int, status: str, reason: str, payload: str) -> Record:
        """Rebuild a record from a stored row."""
        return cls(int(rep), status, reason, json.loads(payload))


class ReplicateStore:
    """Replicates of power runs kept in an SQLite file.

    Parameters
    ----------
    path : str or Path
        The database file; created with its tables when missing.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.db")
    >>> store = ReplicateStore(path)
    >>> store.put("abc", [Record(0, "ok", "", {"est": [0.1]})])
    >>> store.put("abc", [Record(0, "ok", "", {"est": [9.9]})])  # never twice
    >>> [r.payload["est"] for r in store.get("abc").values()]
    [[0.1]]
    >>> store.close()
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def describe(self, design_key: str, description: dict[str, Any]) -> None:
        """Record what a design key stands for (for people reading the file)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO designs VALUES (?, ?)",
            (design_key, json.dumps(description, sort_keys=True, default=str)),
        )

    def get(self, design_key: str, reps: int | None = None) -> dict[int, Record]:
        """Stored replicates of one design (optionally only those numbered below ``reps``)."""
        query = "SELECT rep, status, reason, payload FROM replicates WHERE design_key = ?"
        args: tuple[Any, ...] = (design_key,)
        if reps is not None:
            query += " AND rep < ?"
            args = (design_key, int(reps))
        return {int(row[0]): Record.from_row(*row) for row in self._conn.execute(query, args)}

    def put(self, design_key: str, records: Iterable[Record]) -> None:
        """Commit finished replicates in one transaction; existing ones are kept."""
        rows = [r.to_row(design_key) for r in records]
        if not rows:
            return
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT OR IGNORE INTO replicates VALUES (?, ?, ?, ?, ?, ?)", rows
            )

    def count(self, design_keys: Sequence[str] | None = None) -> int:
        """Number of stored replicates (of some designs, or all)."""
        if design_keys is None:
            return int(self._conn.execute("SELECT COUNT(*) FROM replicates").fetchone()[0])
        total = 0
        for key in design_keys:
            total += int(
                self._conn.execute(
                    "SELECT COUNT(*) FROM replicates WHERE design_key = ?", (key,)
                ).fetchone()[0]
            )
        return total

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
