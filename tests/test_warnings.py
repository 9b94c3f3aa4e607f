"""Questionable fits return a Result and say so; unusable ones raise; imports stay light.

STYLE.md: a non-converged, inadmissible or boundary fit still returns its Result, warns
with ``stacklevel`` at the user's call, appears in ``Result.warnings`` and atop
``summary()``, and says what to inspect next.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.exceptions import (
    BoundaryWarning,
    ConvergenceWarning,
    InadmissibleSolutionWarning,
    PathModelsWarning,
    SpecificationError,
)

ROOT = Path(__file__).resolve().parents[1]


def _exact_data(cov: np.ndarray, names: list[str], n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Data whose sample covariance (N divisor) and means are exactly ``cov`` and 0."""
    z = np.random.default_rng(seed).normal(size=(n, len(names)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False, bias=True))).T
    return pd.DataFrame(z @ np.linalg.cholesky(cov).T, columns=names)


# One factor, three indicators, just identified. With correlations r12 = r13 = 0.8 and
# r23 = 0.5, the ML solution reproduces them exactly: the loading of x1 (in correlation
# units) is sqrt(r12 * r13 / r23) = sqrt(1.28) > 1, so its residual variance is
# 1 - 1.28 = -0.28 — a Heywood case, with the covariance matrix itself positive definite.
HEYWOOD_COV = np.array([[1.0, 0.8, 0.8], [0.8, 1.0, 0.5], [0.8, 0.5, 1.0]])
CFA = "f =~ x1 + x2 + x3"


@pytest.fixture(scope="module")
def heywood_data() -> pd.DataFrame:
    assert np.linalg.eigvalsh(HEYWOOD_COV)[0] > 0
    return _exact_data(HEYWOOD_COV, ["x1", "x2", "x3"])


def test_heywood_case_returns_a_result_and_warns(heywood_data: pd.DataFrame) -> None:
    with pytest.warns(InadmissibleSolutionWarning, match=r"negative residual variance x1 ~~ x1 "
                      r"= -0\.28 \(a Heywood case\): inspect the model") as record:
        res = pm.fit(CFA, heywood_data)
    assert isinstance(res, pm.Result)
    # stacklevel: the warning names this file (the user's call), not pathmodels' code
    heywood = [w for w in record if issubclass(w.category, InadmissibleSolutionWarning)]
    assert heywood[0].filename == __file__
    # the number itself is returned, not hidden
    theta = res.estimates.set_index(["lhs", "op", "rhs"])["est"]
    assert theta[("x1", "~~", "x1")] == pytest.approx(-0.28, abs=1e-6)
    assert theta[("f", "=~", "x2")] == pytest.approx(0.5 / 0.8, rel=1e-6)
    # listed on the Result and on top of the summary
    assert any(w.startswith("negative residual variance x1 ~~ x1") for w in res.warnings)
    first = res.summary().splitlines()[0]
    assert first.startswith("WARNING: negative residual variance x1 ~~ x1 = -0.28")
    assert str(res).splitlines()[0] == first


def test_heywood_case_warns_only_once_per_problem(heywood_data: pd.DataFrame) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        res = pm.fit(CFA, heywood_data)
    ours = [str(w.message) for w in record if issubclass(w.category, PathModelsWarning)]
    assert ours == list(res.warnings)
    assert len(set(ours)) == len(ours)


def test_heywood_bootstrap_counts_inadmissible_draws(heywood_data: pd.DataFrame) -> None:
    with pytest.warns(InadmissibleSolutionWarning):
        res = pm.fit(CFA, heywood_data, se="bootstrap", n_boot=100, seed=11)
    assert res.boot is not None
    # the population value is -0.28, so (nearly) every draw is inadmissible too
    assert res.boot.n_inadmissible > 80
    assert f"inadmissible {res.boot.n_inadmissible})" in res.summary()


def test_admissible_fit_has_no_warnings() -> None:
    # the check is not vacuous: the same model on a proper covariance stays silent
    cov = np.array([[1.0, 0.5, 0.4], [0.5, 1.0, 0.3], [0.4, 0.3, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", PathModelsWarning)
        res = pm.fit(CFA, _exact_data(cov, ["x1", "x2", "x3"]))
    assert res.warnings == ()
    assert not res.summary().startswith("WARNING")


def test_non_convergence_returns_a_result_and_warns() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    data = pd.DataFrame({"x": x, "y": 0.5 * x + rng.normal(size=200)})
    with pytest.warns(ConvergenceWarning, match=r"the optimiser did not converge .*estimates "
                      r"are unreliable — check the model") as record:
        res = pm.fit("y ~ a*x\na > 1\na < 0", data)  # contradictory constraints
    assert record[0].filename == __file__
    assert not res.converged
    assert res.fit_measures["converged"] is False
    lines = res.summary().splitlines()
    assert lines[0].startswith("WARNING: the optimiser did not converge")
    assert any("DID NOT CONVERGE" in line for line in lines)
    assert any(w.startswith("the optimiser did not converge") for w in res.warnings)


def test_boundary_estimate_returns_a_result_and_warns(heywood_data: pd.DataFrame) -> None:
    # the Heywood model with the variance constrained positive: it ends on the boundary
    with pytest.warns(BoundaryWarning, match=r"variance x1 ~~ x1 is estimated at the boundary "
                      r"\(0\)") as record:
        res = pm.fit(CFA + "\nx1 ~~ v*x1\nv > 0", heywood_data)
    boundary = [w for w in record if issubclass(w.category, BoundaryWarning)]
    assert boundary[0].filename == __file__
    assert res.params["v"] == pytest.approx(0.0, abs=1e-8)
    assert "variance x1 ~~ x1 is estimated at the boundary (0)" in res.warnings
    assert any(line == "WARNING: variance x1 ~~ x1 is estimated at the boundary (0)"
               for line in res.summary().splitlines()[: len(res.warnings)])


def test_boundary_estimate_is_not_also_a_heywood_case() -> None:
    # Rounding decides the sign of the boundary value; over these datasets it falls
    # below zero in several (deterministically, for a given BLAS).
    heywood = []
    for seed in range(12):
        for n in (100, 300):
            data = _exact_data(HEYWOOD_COV, ["x1", "x2", "x3"], n=n, seed=seed)
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                pm.fit(CFA + "\nx1 ~~ v*x1\nv > 0", data)
            heywood += [str(w.message) for w in record
                        if issubclass(w.category, InadmissibleSolutionWarning)]
    assert heywood == []


def test_unidentified_model_raises_naming_parameters() -> None:
    # A factor with two indicators and nothing else to borrow from: df = 3 overall, but
    # its loading, variance and residual variances cannot all be estimated.
    rng = np.random.default_rng(5)
    n = 300
    f = rng.normal(size=n)
    data = pd.DataFrame({"a": f + rng.normal(size=n), "b": f + rng.normal(size=n),
                         "w": rng.normal(size=n)})
    data["z"] = 0.3 * data["w"] + rng.normal(size=n)
    with pytest.raises(SpecificationError) as info:
        pm.fit("f =~ a + b\nz ~ w", data)
    msg = str(info.value)
    assert msg.startswith("the model is not identified")
    assert "f =~ b" in msg
    assert "Fix one of them (e.g. a loading to 1 or a path to 0), add an equality " \
           "constraint, or drop a path" in msg


HEAVY = ("semopy", "pymc", "arviz", "matplotlib", "linearmodels", "dask")


def test_import_pathmodels_stays_light() -> None:
    code = (
        "import json, sys\n"
        "import pathmodels\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert json.loads(out.stdout) == []


def test_import_check_can_fail() -> None:
    # the subprocess check sees modules that are imported (no vacuous test)
    code = "import json, sys, pathmodels, email\nprint(json.dumps('email' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert json.loads(out.stdout) is True
