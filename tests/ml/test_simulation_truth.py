"""Simulation truth: bias and 95% CI coverage of the indirect effect over many data sets.

Population: x ~ N(0, 1); m = a·x + e_m; y = b·m + c'·x + e_y with unit residual variances,
a = b = 0.3, c' = 0.1, so the indirect effect is 0.09. Each replicate is a fresh data set
of N = 400 fitted with ``pathmodels.fit``. With 1000 replicates the Monte Carlo SE of a
coverage of 0.95 is 0.007, so coverage must lie in [0.93, 0.97]; mean bias must be within
3 Monte Carlo SEs of zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm

A, B, CP = 0.3, 0.3, 0.1
SYNTAX = "m ~ a*x\ny ~ b*m + cp*x\nind := a*b"


def _replicate(rng: np.random.Generator, n: int) -> pd.DataFrame:
    x = rng.standard_normal(n)
    m = A * x + rng.standard_normal(n)
    y = B * m + CP * x + rng.standard_normal(n)
    return pd.DataFrame({"x": x, "m": m, "y": y})


@pytest.mark.slow
@pytest.mark.parametrize("ci", ["delta", "mc"])
def test_indirect_effect_bias_and_coverage(ci: str) -> None:
    reps, n = 1000, 400
    spec = pm.Spec.from_syntax(SYNTAX)
    est = np.empty(reps)
    covered = np.empty(reps, dtype=bool)
    for r in range(reps):
        rng = np.random.default_rng(np.random.SeedSequence(20261125, spawn_key=(r,)))
        res = pm.fit(spec, _replicate(rng, n), ci=ci, n_mc=2000, seed=r)
        row = res.estimates.set_index("lhs").loc["ind"]
        est[r] = row["est"]
        covered[r] = row["ci_lower"] <= A * B <= row["ci_upper"]
    bias = est.mean() - A * B
    mcse = est.std(ddof=1) / np.sqrt(reps)
    assert abs(bias) < 3 * mcse, f"bias {bias:.5f} vs MCSE {mcse:.5f}"
    assert 0.93 <= covered.mean() <= 0.97, f"coverage {covered.mean():.3f}"


@pytest.mark.slow
def test_bootstrap_coverage_of_indirect_effect() -> None:
    """Percentile bootstrap (999 draws) over 300 replicates: coverage in the binomial band."""
    reps, n = 300, 200
    spec = pm.Spec.from_syntax(SYNTAX)
    covered = np.empty(reps, dtype=bool)
    for r in range(reps):
        rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(r,)))
        res = pm.fit(spec, _replicate(rng, n), se="bootstrap", n_boot=999, seed=r)
        row = res.estimates.set_index("lhs").loc["ind"]
        covered[r] = row["ci_lower"] <= A * B <= row["ci_upper"]
    # 300 replicates: binomial SD 0.0126; allow 2.5 SD.
    assert 0.918 <= covered.mean() <= 0.982, f"coverage {covered.mean():.3f}"
