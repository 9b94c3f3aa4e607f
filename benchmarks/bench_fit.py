"""Time pathmodels against lavaan on the same models and data.

Run from the repository root (numpy's current OpenBLAS kernels, see README.md)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        /work/venv/bin/python benchmarks/bench_fit.py [--run-lavaan]

lavaan's times come from ``benchmarks/results/lavaan_times.json``, written by
``benchmarks/lavaan_bench.R`` (run it first, or pass ``--run-lavaan`` to have this
script run it when the JSON is missing; ``--rerun-lavaan`` always runs it).

Each task is fitted exactly as the lavaan reference fixture was
(``tests/reference/lavaan/<case>.json``): the model syntax is parsed and fitted inside
the timed region, just as lavaan's timed call parses its model string. One warm-up run,
then the median of ``--repeats`` (single fits) or ``--boot-repeats`` (2000-draw
bootstraps) runs timed with :func:`time.perf_counter`, once with BLAS pinned to one
thread (threadpoolctl) and once with the default thread count. Before a time counts,
the fit's estimates are compared with lavaan's (the same tolerances as the reference
tests), so the speed is that of a correct fit.

The table printed (and written to ``benchmarks/results/latest.md``) has: case, n, task,
our median seconds (1 BLAS thread and default), lavaan's median seconds, the ratio
lavaan/ours, the target ratio, and pass/fail; then machine and versions.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import pathmodels as pm  # noqa: E402
from pathmodels.exceptions import PathModelsWarning  # noqa: E402
from tests.ml.test_lavaan_reference import fit_case  # noqa: E402  (fits a case as lavaan did)
from tests.reference.lavaan_cases import LavaanCase, load_case  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LAVAAN_JSON = RESULTS / "lavaan_times.json"
R_SCRIPT = ROOT / "benchmarks" / "lavaan_bench.R"

# Tolerances of tests/ml/test_lavaan_reference.py (ML estimates vs lavaan).
RTOL_EST = 1e-4
ATOL_EST = 2e-5


# --------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """One timed job: ``runs`` are the pm.fit keyword sets fitted one after another."""

    case: str
    task: str
    runs: tuple[dict[str, Any], ...]
    lavaan_task: str  # "fit" or "boot"
    lavaan_field: str | None  # None: the task's median; else a sub-timing of the boot entry
    target: float  # required ratio lavaan / ours
    target_text: str
    boot_ref: str | None = None  # lavaan bootstrap CI table to compare with
    note: str = ""
    also: tuple[str, ...] = ()  # further interval types from the same draws (with_intervals)


BOOT = {"se": "bootstrap", "n_boot": 2000, "seed": 1}

TASKS = (
    Task("simple_mediation", "fit", ({},), "fit", None, 5.0, "≥ 5 (step 1)"),
    Task("ips_chain", "fit", ({},), "fit", None, 5.0, "≥ 5 (step 1)"),
    Task("riclpm4", "fit", ({},), "fit", None, 3.0, "≥ 3 (step 2)"),
    Task("riclpm4_fiml", "fit FIML", ({},), "fit", None, 1.0, "≥ 1 (step 2)"),
    Task(
        "ips_chain",
        "boot 2000: percentile + BCa",
        ({**BOOT, "ci": "bca"},),
        "boot",
        None,
        50.0,
        "≥ 50 (step 1)",
        boot_ref=None,
        note="ours: one pm.fit(ci='bca') (2000 draws + jackknife) and "
        "Result.with_intervals('percentile') on the same draws; lavaan: one "
        "se='bootstrap' fit + parameterEstimates(perc) + (bca.simple)",
        also=("percentile",),
    ),
    Task(
        "ips_chain",
        "boot 2000: percentile",
        ({**BOOT, "ci": "percentile"},),
        "boot",
        "fit_plus_perc",
        50.0,
        "≥ 50",
        boot_ref="perc",
    ),
    Task(
        "ips_chain",
        "boot 2000: bc (= lavaan bca.simple)",
        ({**BOOT, "ci": "bc"},),
        "boot",
        "fit_plus_bca_simple",
        50.0,
        "≥ 50",
        boot_ref="bca_simple",
    ),
    Task(
        "ips_chain",
        "boot 2000: BCa (jackknife a)",
        ({**BOOT, "ci": "bca"},),
        "boot",
        "fit_plus_bca_simple",
        50.0,
        "≥ 50",
        boot_ref=None,
        note="lavaan has no accelerated BCa for se='bootstrap'; timed against its bca.simple",
    ),
)


# --------------------------------------------------------------------------- checks
def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["rhs"] = out["rhs"].fillna("").astype(str)
    defined = out["op"] == ":="
    out.loc[defined, "rhs"] = ""  # lavaan prints := right-hand sides without spaces
    out.loc[defined, "group"] = 0
    swap = (out["op"] == "~~") & (out["lhs"] > out["rhs"])
    out.loc[swap, ["lhs", "rhs"]] = out.loc[swap, ["rhs", "lhs"]].to_numpy()
    return out


def estimate_check(result: pm.Result, case: LavaanCase) -> dict[str, Any]:
    """Largest |ours - lavaan| over the estimates, and whether all are within tolerance."""
    ref = case.estimates[case.estimates["op"].isin(["=~", "~", "~~", "~1", ":="])]
    m = _keyed(result.estimates).merge(
        _keyed(ref),
        on=["lhs", "op", "rhs", "group"],
        suffixes=("", "_ref"),
        how="outer",
        indicator=True,
    )
    both = m[m["_merge"] == "both"]
    diff = np.abs(both["est"].to_numpy(float) - both["est_ref"].to_numpy(float))
    ok_rows = diff <= ATOL_EST + RTOL_EST * np.abs(both["est_ref"].to_numpy(float))
    return {
        "n_compared": int(len(both)),
        "n_unmatched": int((m["_merge"] != "both").sum()),
        "max_abs_diff": float(diff.max()) if diff.size else float("nan"),
        "ok": bool(ok_rows.all() and (m["_merge"] == "both").all() and result.converged),
    }


def boot_ci_check(result: pm.Result, case: LavaanCase, which: str) -> float:
    """Largest |our CI bound - lavaan's| in units of lavaan's bootstrap SE (MC noise)."""
    if case.boot is None:
        return float("nan")
    ref = case.boot[which].copy()
    ref["group"] = 1
    m = _keyed(result.estimates).merge(_keyed(ref), on=["lhs", "op", "rhs"], suffixes=("", "_ref"))
    m = m[m["se_ref"] > 0]
    d = np.maximum(
        np.abs(m["ci_lower"] - m["ci_lower_ref"]), np.abs(m["ci_upper"] - m["ci_upper_ref"])
    )
    return float((d / m["se_ref"]).max())


# --------------------------------------------------------------------------- timing
def blas_info() -> list[dict[str, Any]]:
    return [
        {k: d.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
        for d in threadpool_info()
    ]


@dataclass
class Row:
    task: Task
    n: int
    ours_1: list[float] = field(default_factory=list)
    ours_default: list[float] = field(default_factory=list)
    cpu_1: list[float] = field(default_factory=list)
    lavaan: float | None = None
    lavaan_cpu: float | None = None
    # --paired: lavaan's time of the run just before each of ours
    lav_walls: list[float] = field(default_factory=list)
    lav_cpus: list[float] = field(default_factory=list)
    check: dict[str, Any] = field(default_factory=dict)
    ci_dev_se: float = float("nan")

    @property
    def paired(self) -> bool:
        return bool(self.lav_walls)

    @staticmethod
    def med(xs: list[float]) -> float | None:
        return statistics.median(xs) if xs else None

    def ratio(self, xs: list[float]) -> float | None:
        """lavaan / ours: median of the pair ratios (--paired), else ratio of medians."""
        if self.paired and len(xs) == len(self.lav_walls):
            return statistics.median(a / b for a, b in zip(self.lav_walls, xs, strict=True))
        m = self.med(xs)
        return None if m is None or self.lavaan is None else self.lavaan / m

    def cpu_ratio(self) -> float | None:
        if self.paired and len(self.cpu_1) == len(self.lav_cpus):
            pairs = [(a, b) for a, b in zip(self.lav_cpus, self.cpu_1, strict=True) if b > 0]
            return statistics.median(a / b for a, b in pairs) if pairs else None
        m = self.med(self.cpu_1)
        return None if not m or not self.lavaan_cpu else self.lavaan_cpu / m

    def passed(self) -> bool | None:
        ratios = [
            r for r in (self.ratio(self.ours_1), self.ratio(self.ours_default)) if r is not None
        ]
        if not ratios:
            return None
        return all(r >= self.task.target for r in ratios) and bool(self.check.get("ok"))


def make_job(case: LavaanCase, task: Task) -> Callable[[], list[pm.Result]]:
    def job() -> list[pm.Result]:
        results = [fit_case(case, **kw) for kw in task.runs]
        results += [results[-1].with_intervals(ci) for ci in task.also]
        return results

    return job


def timed_once(job: Callable[[], Any], mode: str) -> tuple[float, float, Any]:
    """Wall and CPU seconds of one call, BLAS pinned to one thread when mode == "1"."""
    gc.collect()
    with threadpool_limits(limits=1, user_api="blas") if mode == "1" else _nothing():
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = job()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
    return wall, cpu, out


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def record(row: Row, mode: str, wall: float, cpu: float) -> None:
    if mode == "1":
        row.ours_1.append(wall)
        row.cpu_1.append(cpu)
    else:
        row.ours_default.append(wall)


def finish_checks(row: Row, case: LavaanCase, results: list[pm.Result]) -> None:
    row.check = estimate_check(results[0], case)
    for r in results[1:]:
        c = estimate_check(r, case)
        row.check["ok"] = row.check["ok"] and c["ok"]
        row.check["max_abs_diff"] = max(row.check["max_abs_diff"], c["max_abs_diff"])
    if row.task.boot_ref:
        row.ci_dev_se = boot_ci_check(results[0], case, row.task.boot_ref)


def run_task(task: Task, repeats: int, modes: list[str]) -> Row:
    """Ours alone: per mode one warm-up, then ``repeats`` timed runs."""
    case = load_case(task.case)
    job = make_job(case, task)
    row = Row(task, n=len(case.data))
    results: list[pm.Result] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PathModelsWarning)
        for mode in modes:
            timed_once(job, mode)
            for _ in range(repeats):
                wall, cpu, results = timed_once(job, mode)
                record(row, mode, wall, cpu)
    finish_checks(row, case, results)
    return row


class LavaanServer:
    """``Rscript benchmarks/lavaan_bench.R --serve``: one lavaan run per request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["Rscript", str(R_SCRIPT), "--serve"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        hello = self._read()
        self.versions: dict[str, Any] = hello["versions"]
        self.machine: dict[str, Any] = hello["machine"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the lavaan server (Rscript benchmarks/lavaan_bench.R --serve) died")
        out: dict[str, Any] = json.loads(line)
        if "error" in out:
            raise SystemExit(f"lavaan failed: {out['error']}")
        return out

    def run(self, task: str, case: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{task} {case}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=60)


def run_paired(
    tasks: list[Task], repeats: int, boot_repeats: int, modes: list[str], server: LavaanServer
) -> tuple[list[Row], dict[str, float]]:
    """Alternate lavaan and ours: each repeat runs lavaan once, then each of our tasks once.

    Tasks that share a lavaan job (the bootstrap variants) share its run. Both sides get a
    warm-up (lavaan: one plain fit of the case).
    """
    groups: dict[tuple[str, str], list[Task]] = {}
    for t in tasks:
        groups.setdefault((t.case, t.lavaan_task), []).append(t)
    rows: list[Row] = []
    lav_diff: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PathModelsWarning)
        for (case_name, ltask), group in groups.items():
            case = load_case(case_name)
            reps = boot_repeats if ltask == "boot" else repeats
            grows = [Row(t, n=len(case.data)) for t in group]
            jobs = [make_job(case, t) for t in group]
            server.run("fit", case_name)
            for job in jobs:
                for mode in modes:
                    timed_once(job, mode)
            last: list[list[pm.Result]] = [[] for _ in group]
            for _ in range(reps):
                lav = server.run(ltask, case_name)
                lav_diff[f"{ltask} {case_name}"] = float(lav["max_abs_diff"])
                for k, (row, job) in enumerate(zip(grows, jobs, strict=True)):
                    row.lav_walls.append(float(lav["wall"]))
                    row.lav_cpus.append(float(lav["cpu"]))
                    for mode in modes:
                        wall, cpu, last[k] = timed_once(job, mode)
                        record(row, mode, wall, cpu)
            for row, results in zip(grows, last, strict=True):
                row.lavaan = statistics.median(row.lav_walls)
                row.lavaan_cpu = statistics.median(row.lav_cpus)
                finish_checks(row, case, results)
                print(progress_line(row), flush=True)
            rows.extend(grows)
    order = {id(t): i for i, t in enumerate(tasks)}
    rows.sort(key=lambda r: order[id(r.task)])
    return rows, lav_diff


def progress_line(row: Row) -> str:
    return (
        f"{row.task.case:18s} {row.task.task:38s} 1thr {_s(row.med(row.ours_1)):>8s}  "
        f"default {_s(row.med(row.ours_default)):>8s}  lavaan {_s(row.lavaan):>8s}  "
        f"max|Δest| {row.check['max_abs_diff']:.1e}"
    )


# --------------------------------------------------------------------------- lavaan side
def lavaan_times(
    path: Path, run: bool, rerun: bool, repeats: int, boot_repeats: int
) -> dict[str, Any]:
    if rerun or (run and not path.exists()):
        cmd = [
            "Rscript",
            str(R_SCRIPT),
            "--repeats",
            str(repeats),
            "--boot-repeats",
            str(boot_repeats),
            "--out",
            str(path),
        ]
        print("running:", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True)
    if not path.exists():
        raise SystemExit(
            f"{path} is missing: run `Rscript benchmarks/lavaan_bench.R` from the "
            "repo root first, or pass --run-lavaan"
        )
    return json.loads(path.read_text())


def lavaan_median(lav: dict[str, Any], task: Task) -> tuple[float | None, float | None]:
    """lavaan's median wall seconds for the task, and its median CPU seconds.

    The CPU time of a bootstrap entry covers the fit and both interval tables (the tables
    take milliseconds).
    """
    for entry in lav["results"]:
        if entry["case"] == task.case and entry["task"] == task.lavaan_task:
            wall = float(
                entry[task.lavaan_field]["median"] if task.lavaan_field else entry["median"]
            )
            cpu = entry.get("cpu", {}).get("median")
            return wall, None if cpu is None else float(cpu)
    return None, None


# --------------------------------------------------------------------------- report
def machine() -> dict[str, Any]:
    cpu, cores_per_socket, sockets = "unknown", None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = line.partition(":")
            key, val = key.strip(), val.strip()
            if key == "model name" and cpu == "unknown":
                cpu = val
            elif key == "cpu cores" and cores_per_socket is None:
                cores_per_socket = int(val)
            elif key == "physical id":
                sockets.add(val)
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return {
        "cpu_model": cpu,
        "logical_cpus": os.cpu_count(),
        "physical_cores": None
        if cores_per_socket is None
        else cores_per_socket * max(1, len(sockets)),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": mem,
        "platform": platform.platform(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "blas": blas_info(),
        "loadavg_start": _loadavg(),
    }


def _loadavg() -> str | None:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return None


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "pathmodels"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return rev + ("+uncommitted changes in pathmodels/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions(lav: dict[str, Any]) -> dict[str, Any]:
    import threadpoolctl

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "pathmodels": pm.__version__,
        "pathmodels_git": git_revision(),
        "R": lav["versions"]["R"],
        "lavaan": lav["versions"]["lavaan"],
        "R_blas": lav["versions"].get("blas"),
    }


def _s(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.4f}" if x < 1 else f"{x:.3f}" if x < 10 else f"{x:.2f}"


def _r(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}×"


def table(rows: list[Row]) -> str:
    head = (
        "| case | n | task | ours, 1 BLAS thread (median s) | ours, default threads (median s) "
        "| lavaan (median s) | ratio lavaan/ours (1 thr) | ratio (default) | ratio of CPU "
        "times (1 thr) | target | max abs Δest vs lavaan | pass |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        p = r.passed()
        verdict = "—" if p is None else ("**pass**" if p else "**FAIL**")
        if not r.check.get("ok", True):
            verdict += " (estimates differ)"
        lines.append(
            f"| {r.task.case} | {r.n} | {r.task.task} | {_s(r.med(r.ours_1))} | "
            f"{_s(r.med(r.ours_default))} | {_s(r.lavaan)} | {_r(r.ratio(r.ours_1))} | "
            f"{_r(r.ratio(r.ours_default))} | {_r(r.cpu_ratio())} | {r.task.target_text} | "
            f"{r.check.get('max_abs_diff', float('nan')):.1e} | {verdict} |"
        )
    return "\n".join(lines)


def report(
    rows: list[Row],
    lav: dict[str, Any],
    args: argparse.Namespace,
    mach: dict[str, Any],
    vers: dict[str, Any],
    date: str,
) -> str:
    blas = ", ".join(
        f"{b['internal_api']} {b['version']} kernel {b['architecture']} "
        f"({b['num_threads']} threads by default)"
        for b in mach["blas"]
    )
    lm = lav["machine"]
    if lav.get("mode") == "paired":
        mode_text = (
            f"Paired run: lavaan (`Rscript benchmarks/lavaan_bench.R --serve`) and pathmodels "
            f"alternate run by run in this call, so both meet the same load; one warm-up each, "
            f"then {args.repeats} pairs per single fit and {args.boot_repeats} per bootstrap "
            "(one lavaan bootstrap, timed with both interval tables, is paired with each of our "
            "bootstrap tasks). Columns of seconds are medians; ratios are medians of the "
            "per-pair ratios lavaan/ours."
        )
    else:
        mode_text = (
            f"Separate runs: ours median of {args.repeats} single fits and {args.boot_repeats} "
            f"bootstraps after a warm-up; lavaan's from {args.lavaan_json.name} (median of "
            f"{lav['repeats']} and {lav['boot_repeats']}, timed {lav['date']}). "
            "Ratio = lavaan median / our median."
        )
    notes = [f"- {r.task.task}: {r.task.note}" for r in rows if r.task.note]
    ci_notes = [
        f"- {r.task.task}: largest |our CI bound − lavaan's| = {r.ci_dev_se:.2f} × "
        "lavaan's bootstrap SE (different random draws; Monte Carlo noise, not a check)"
        for r in rows
        if np.isfinite(r.ci_dev_se)
    ]
    parts = [
        f"Benchmark run {date}",
        "",
        table(rows),
        "",
        mode_text,
        f"Pass needs both wall-time ratios at target and every estimate within rtol "
        f"{RTOL_EST:g} / atol {ATOL_EST:g} of lavaan's. The CPU-time ratio (process CPU "
        "seconds, ours with one BLAS thread) is shown as a check that other load on a shared "
        "machine moves less; pass/fail uses wall time.",
        "",
        *notes,
        *ci_notes,
        "",
        f"Machine: {mach['cpu_model']}, {mach['logical_cpus']} logical CPUs "
        f"({mach['physical_cores']} cores reported), {mach['memory_gib']} GiB, {mach['platform']}.",
        f"Load average (1, 5, 15 min) at start / end: ours {mach['loadavg_start']} / "
        f"{mach['loadavg_end']}; lavaan {lm.get('loadavg_start')} / {lm.get('loadavg_end')} "
        "(the machine is shared: a load above the core count means the timings are noisy).",
        f"Python BLAS: {blas}; OPENBLAS_CORETYPE={mach['OPENBLAS_CORETYPE']}, "
        f"OPENBLAS_L2_SIZE={mach['OPENBLAS_L2_SIZE']}.",
        f"R BLAS: {vers['R_blas']}.",
        f"Versions: Python {vers['python']}, numpy {vers['numpy']}, scipy {vers['scipy']}, "
        f"pandas {vers['pandas']}, pathmodels {vers['pathmodels']} ({vers['pathmodels_git']}), "
        f"{vers['R']}, lavaan {vers['lavaan']}.",
    ]
    return "\n".join(parts) + "\n"


README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- latest-table:start -->", "<!-- latest-table:end -->"


def paste_into_readme(text: str) -> None:
    body = README.read_text()
    if START not in body or END not in body:
        raise SystemExit(f"{README} lacks the markers {START} / {END}")
    head, _, rest = body.partition(START)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{START}\n{text}{END}{tail}")


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=20, help="timed single fits (default 20)")
    ap.add_argument("--boot-repeats", type=int, default=5, help="timed bootstraps (default 5)")
    ap.add_argument("--threads", choices=("both", "1", "default"), default="both")
    ap.add_argument("--lavaan-json", type=Path, default=LAVAAN_JSON)
    ap.add_argument(
        "--run-lavaan",
        action="store_true",
        help="run benchmarks/lavaan_bench.R if the lavaan JSON is missing",
    )
    ap.add_argument("--rerun-lavaan", action="store_true", help="always run the R script first")
    ap.add_argument(
        "--paired",
        action="store_true",
        help="time lavaan in the same call, alternating lavaan and pathmodels run by run "
        "(Rscript lavaan_bench.R --serve); ratios are medians of the pair ratios",
    )
    ap.add_argument("--only", default="", help="comma-separated substrings of case/task to run")
    ap.add_argument("--out-md", type=Path, default=RESULTS / "latest.md")
    ap.add_argument("--out-json", type=Path, default=RESULTS / "pathmodels_times.json")
    ap.add_argument(
        "--update-readme",
        action="store_true",
        help="paste the table into benchmarks/README.md between its markers",
    )
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.boot_repeats < 1:
        ap.error("--repeats and --boot-repeats must be at least 1")

    modes = ["1", "default"] if args.threads == "both" else [args.threads]
    mach = machine()
    if mach["OPENBLAS_CORETYPE"]:
        print(
            f"note: OPENBLAS_CORETYPE={mach['OPENBLAS_CORETYPE']} is set; numpy runs an older "
            "OpenBLAS kernel. See benchmarks/README.md.",
            file=sys.stderr,
        )
    date = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    tasks = [t for t in TASKS if not wanted or any(w in f"{t.case} {t.task}" for w in wanted)]
    rows: list[Row] = []
    if args.paired:
        server = LavaanServer()
        try:
            rows, lav_diff = run_paired(tasks, args.repeats, args.boot_repeats, modes, server)
        finally:
            server.close()
        lav = {
            "mode": "paired",
            "date": date,
            "versions": server.versions,
            "machine": {**server.machine, "loadavg_end": _loadavg()},
            "repeats": args.repeats,
            "boot_repeats": args.boot_repeats,
            "max_abs_diff_vs_fixture": lav_diff,
        }
    else:
        lav = lavaan_times(
            args.lavaan_json, args.run_lavaan, args.rerun_lavaan, args.repeats, args.boot_repeats
        )
        for task in tasks:
            boot = task.lavaan_task == "boot"
            row = run_task(task, args.boot_repeats if boot else args.repeats, modes)
            row.lavaan, row.lavaan_cpu = lavaan_median(lav, task)
            rows.append(row)
            print(progress_line(row), flush=True)
    vers = versions(lav)
    mach["loadavg_end"] = _loadavg()
    text = report(rows, lav, args, mach, vers, date)
    print()
    print(text)
    args.out_md.parent.mkdir(parents=True, exist_ok=True)
    args.out_md.write_text(f"# Latest benchmark: pathmodels vs lavaan\n\n{text}")
    args.out_json.write_text(
        json.dumps(
            {
                "date": date,
                "machine": mach,
                "versions": vers,
                "repeats": args.repeats,
                "boot_repeats": args.boot_repeats,
                "rows": [
                    {
                        "case": r.task.case,
                        "task": r.task.task,
                        "n": r.n,
                        "runs": list(r.task.runs),
                        "ours_1_thread": {
                            "median": r.med(r.ours_1),
                            "seconds": r.ours_1,
                            "cpu_median": r.med(r.cpu_1),
                            "cpu_seconds": r.cpu_1,
                        },
                        "ours_default": {
                            "median": r.med(r.ours_default),
                            "seconds": r.ours_default,
                        },
                        "lavaan_median": r.lavaan,
                        "lavaan_cpu_median": r.lavaan_cpu,
                        "ratio_1_thread": r.ratio(r.ours_1),
                        "ratio_cpu": r.cpu_ratio(),
                        "ratio_default": r.ratio(r.ours_default),
                        "target": r.task.target,
                        "passed": r.passed(),
                        "estimate_check": r.check,
                        "boot_ci_deviation_in_se": None
                        if not np.isfinite(r.ci_dev_se)
                        else r.ci_dev_se,
                    }
                    for r in rows
                ],
            },
            indent=2,
            default=str,
        )
    )
    if args.update_readme:
        paste_into_readme(text)
    failed = [r for r in rows if r.passed() is False]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
