"""Coverage of Bayesian intervals for indirect effects over simulated datasets.

Run from the repository root (about 15-25 minutes on 2 cores)::

    /work/venv/bin/python validation/bayes_coverage.py [--reps 200] [--reps-binary 60]

Two populations, each replicate a fresh dataset from
``numpy.random.SeedSequence(20261125, spawn_key=(scenario, replicate))``, fitted with
``pathmodels.fit(..., backend="pymc")`` (default weak priors, 4 chains x 500 draws after
500 tuning steps, PyMC's NUTS, ``level=0.90``); the compiled model is reused across
replicates (only the data are swapped), so the run also exercises the power-loop path.

A. Simple mediation, N = 200: x ~ N(0, 1); m = 0.3 x + e_m; y = 0.3 m + 0.1 x + e_y
   (unit residual variances). Target: ``ind := a*b`` = 0.09.
B. Binary mediator (probit), N = 400: arm ~ Bernoulli(0.5), age ~ N(0, 1);
   employ = 1[-0.3 + 0.8 arm - 0.3 age + e > 0]; y = 0.5 employ + 0.2 arm + e_y.
   Target: the natural indirect effect of arm (0 -> 1) on y by g-computation, whose true
   value given the sample's ages is 0.5 * mean_i[Phi(0.5 - 0.3 age_i) - Phi(-0.3 - 0.3 age_i)].

Criterion (issue 6): the 90% posterior intervals (HDI) cover the truth in 85-95% of the
replicates. With R replicates the Monte Carlo SE of a 90% coverage is sqrt(0.09 / R)
(0.021 for R = 200). Also reported: mean bias with its Monte Carlo SE, the mean posterior
SD against the SD of the posterior means across replicates (calibration of the
uncertainty), and replicates with convergence warnings (kept, and counted).

Writes ``validation/results/bayes_coverage.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import special  # noqa: E402

import pathmodels as pm  # noqa: E402
from pathmodels.exceptions import ConvergenceWarning  # noqa: E402

RESULTS = ROOT / "validation" / "results"
SEED = 20261125
LEVEL = 0.90
FIT = {"backend": "pymc", "draws": 500, "tune": 500, "chains": 4, "level": LEVEL}


def scenario_a(rng: np.random.Generator, n: int = 200) -> tuple[pd.DataFrame, float]:
    """Simple mediation data and the true indirect effect."""
    x = rng.standard_normal(n)
    m = 0.3 * x + rng.standard_normal(n)
    y = 0.3 * m + 0.1 * x + rng.standard_normal(n)
    return pd.DataFrame({"x": x, "m": m, "y": y}), 0.09


def scenario_b(rng: np.random.Generator, n: int = 400) -> tuple[pd.DataFrame, float]:
    """Binary-mediator data and the sample-average natural indirect effect."""
    arm = rng.integers(0, 2, n).astype(float)
    age = rng.standard_normal(n)
    employ = (-0.3 + 0.8 * arm - 0.3 * age + rng.standard_normal(n) > 0).astype(float)
    y = 0.5 * employ + 0.2 * arm + rng.standard_normal(n)
    truth = 0.5 * float(np.mean(special.ndtr(0.5 - 0.3 * age) - special.ndtr(-0.3 - 0.3 * age)))
    return pd.DataFrame({"arm": arm, "age": age, "employ": employ, "y": y}), truth


def run(name: str, key: int, reps: int) -> dict[str, Any]:
    """Fit ``reps`` datasets of one scenario; coverage, bias and calibration."""
    rows = []
    t0 = time.perf_counter()
    for r in range(reps):
        rng = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(key, r)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            if key == 0:
                data, truth = scenario_a(rng)
                res = pm.fit("m ~ a*x\ny ~ b*m + cp*x\nind := a*b", data, seed=r, **FIT)
                row = res.estimates.set_index("lhs").loc["ind"]
            else:
                data, truth = scenario_b(rng)
                res = pm.fit("employ ~ arm + age\ny ~ employ + arm", data, binary=["employ"],
                             seed=r, **FIT)
                eff = res.effects
                row = eff[(eff["cause"] == "arm") & (eff["effect"] == "natural_indirect")].iloc[0]
        rows.append({"rep": r, "truth": truth, "est": float(row["est"]), "sd": float(row["se"]),
                     "lower": float(row["ci_lower"]), "upper": float(row["ci_upper"]),
                     "r_hat": float(row["r_hat"]), "ess_bulk": float(row["ess_bulk"]),
                     "warned": any(issubclass(w.category, ConvergenceWarning) for w in caught),
                     "compiled_reused": bool(res.info["reused_compiled"]),
                     "sampling_s": float(res.info["sampling_seconds"])})
        if (r + 1) % 10 == 0:
            cov = np.mean([(x["lower"] <= x["truth"] <= x["upper"]) for x in rows])
            print(f"{name}: {r + 1}/{reps} coverage so far {cov:.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    frame = pd.DataFrame(rows)
    covered = (frame["lower"] <= frame["truth"]) & (frame["truth"] <= frame["upper"])
    bias = frame["est"] - frame["truth"]
    out = {
        "scenario": name, "reps": reps, "level": LEVEL,
        "coverage": float(covered.mean()),
        "coverage_mcse": math.sqrt(LEVEL * (1 - LEVEL) / reps),
        "below": float((frame["upper"] < frame["truth"]).mean()),
        "above": float((frame["lower"] > frame["truth"]).mean()),
        "mean_truth": float(frame["truth"].mean()),
        "mean_bias": float(bias.mean()), "bias_mcse": float(bias.std(ddof=1) / math.sqrt(reps)),
        "mean_posterior_sd": float(frame["sd"].mean()),
        "sd_of_estimates": float(frame["est"].std(ddof=1)),
        "max_r_hat": float(frame["r_hat"].max()), "min_ess_bulk": float(frame["ess_bulk"].min()),
        "warned": int(frame["warned"].sum()),
        "compiled_once": bool(frame["compiled_reused"].iloc[1:].all()),
        "median_sampling_s": float(frame["sampling_s"].median()),
        "seconds": time.perf_counter() - t0,
        "passes": bool(0.85 <= covered.mean() <= 0.95),
    }
    out["replicates"] = rows
    return out


def main() -> None:
    """Run both scenarios and write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--reps-binary", type=int, default=60)
    args = parser.parse_args()
    started = _dt.datetime.now().isoformat(timespec="seconds")
    results = [run("A: simple mediation, ind = a*b", 0, args.reps)]
    if args.reps_binary:
        results.append(run("B: binary mediator, natural indirect effect", 1, args.reps_binary))
    from importlib.metadata import version

    meta = {"started": started, "platform": platform.platform(),
            "versions": {p: version(p) for p in ("pymc", "pytensor", "arviz", "numpy")},
            "fit": FIT, "seed": SEED}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bayes_coverage.json").write_text(json.dumps({"meta": meta, "results": results},
                                                            indent=1))
    lines = ["# Coverage of 90% posterior intervals (HDI) of indirect effects", "",
             f"Fits: `pathmodels.fit(..., backend='pymc')`, default priors, 4 chains x 500 draws "
             f"(tune 500), level 0.90. Started {started}; {meta['platform']}.", "",
             "| scenario | reps | coverage (MCSE) | below / above | mean bias (MCSE) | "
             "mean post. SD | SD of estimates | warned | passes 85-95% |",
             "| --- | ---: | --- | --- | --- | ---: | ---: | ---: | --- |"]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['reps']} | {r['coverage']:.3f} ({r['coverage_mcse']:.3f}) | "
            f"{r['below']:.3f} / {r['above']:.3f} | {r['mean_bias']:+.4f} ({r['bias_mcse']:.4f}) "
            f"| {r['mean_posterior_sd']:.4f} | {r['sd_of_estimates']:.4f} | {r['warned']} | "
            f"{'yes' if r['passes'] else 'NO'} |")
    lines += ["", "Truth: A 0.09; B the sample-average natural indirect effect (mean "
              f"{results[-1]['mean_truth']:.4f}). 'warned': replicates with a convergence "
              "warning (kept). The compiled model was reused across replicates: "
              + ", ".join(f"{r['scenario'][:1]} {r['compiled_once']}" for r in results) + "."]
    (RESULTS / "bayes_coverage.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
