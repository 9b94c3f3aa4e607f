"""A power run killed with SIGKILL and started again finishes with nothing lost or doubled.

The run is the real command line (``pathmodels power ... --store runs.db``) in a child
process, killed by its process-group id while it is writing, then run again unchanged.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pathmodels.power import power

ROOT = Path(__file__).resolve().parents[1]
SIMPLE = "m ~ a*0.39*x\ny ~ b*0.39*m + cp*0*x\nind := a*b"


def command(db: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from pathmodels.cli import main; main()",
        "power",
        SIMPLE,
        "--seed",
        "11",
        "--store",
        str(db),
        "--json",
        "--quiet",
        *extra,
    ]


def stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=30) as con:
            return int(con.execute("SELECT COUNT(*) FROM replicates").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def duplicates(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(
            con.execute(
                "SELECT COUNT(*) FROM (SELECT design_key, rep, COUNT(*) AS k FROM replicates "
                "GROUP BY design_key, rep HAVING k > 1)"
            ).fetchone()[0]
        )


def kill_midway(cmd: list[str], db: Path, at_least: int, total: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while stored(db) < at_least:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"the run ended before it could be killed: {err}")
            if time.monotonic() > deadline:
                pytest.fail("the run stored nothing within 240 s")
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the child and any workers it started
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    done = stored(db)
    assert at_least <= done < total, "kill the run while it is still writing"
    return done


def finish(cmd: list[str]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_sigkill_during_fiml_run_then_resume(tmp_path: Path) -> None:
    # FIML path: one fit per replicate, each committed as it finishes.
    db = tmp_path / "runs.db"
    args = ("--n", "60,90", "--reps", "100", "--attrition", "0.3", "--test", "joint,sobel")
    total = 2 * 100
    kill_midway(command(db, *args), db, at_least=20, total=total)
    payload = finish(command(db, *args))
    assert stored(db) == total and duplicates(db) == 0
    fresh = power(
        SIMPLE,
        n=[60, 90],
        reps=100,
        attrition=0.3,
        tests=["joint", "sobel"],
        seed=11,
        progress=False,
    )
    got = pd.DataFrame(payload["table"])  # type: ignore[arg-type]
    cols = ["n", "target", "test", "power", "n_converged", "mean_est", "mean_se"]
    pd.testing.assert_frame_equal(
        got[cols], fresh.table[cols].reset_index(drop=True), check_dtype=False
    )
    again = finish(command(db, *args))  # a third run only reads the store
    assert again["table"] == payload["table"]


@pytest.mark.slow
def test_sigkill_with_worker_processes_then_resume(tmp_path: Path) -> None:
    # Batched path in two worker processes: chunks of 250 replicates, each one transaction.
    db = tmp_path / "runs.db"
    args = ("--n", "50,80", "--reps", "8000", "--n-jobs", "2", "--test", "joint,mc")
    total = 2 * 8000
    kill_midway(command(db, *args), db, at_least=1000, total=total)
    payload = finish(command(db, *args))
    assert stored(db) == total and duplicates(db) == 0
    fresh = power(SIMPLE, n=[50, 80], reps=8000, tests=["joint", "mc"], seed=11, progress=False)
    got = pd.DataFrame(payload["table"])  # type: ignore[arg-type]
    expected = fresh.table.reset_index(drop=True)
    pd.testing.assert_frame_equal(got[expected.columns].astype(expected.dtypes.to_dict()), expected)
