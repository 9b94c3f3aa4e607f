"""Fixtures of the Bayesian tests.

``prior_sampling`` replaces NUTS by draws from the prior (as the docs and STYLE.md ask
for tests of plumbing): the whole pipeline — plan, compiled model, summaries, effects,
idata — runs, in a fraction of the time, with numbers that mean nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.exceptions import ConvergenceWarning

pytest.importorskip("pymc")


@pytest.fixture
def prior_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathmodels.bayes import sampling

    def fake(plan: Any, opts: dict[str, Any]) -> Any:
        return sampling.prior_draws(plan, chains=int(opts["chains"]), draws=int(opts["draws"]),
                                    seed=opts.get("seed"))

    monkeypatch.setattr(sampling, "run_sampler", fake)


@pytest.fixture
def quiet_convergence() -> Iterator[None]:
    """Short test chains may trip the convergence warnings; tests that do not check them
    ignore them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def mediation_data(n: int = 200, seed: int = 0, a: float = 0.4, b: float = 0.4,
                   cp: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    x = rng.standard_normal(n)
    m = a * x + rng.standard_normal(n)
    y = b * m + cp * x + rng.standard_normal(n)
    return pd.DataFrame({"x": x, "m": m, "y": y})


SIMPLE = "m ~ a*x\ny ~ b*m + cp*x\nind := a*b"


@pytest.fixture(scope="session")
def simple_fit() -> pm.BayesResult:
    """One real (short) NUTS fit of a simple mediation model, shared by several tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = pm.fit(SIMPLE, mediation_data(), backend="pymc", draws=300, tune=300, chains=2,
                     seed=11)
    assert isinstance(res, pm.BayesResult)
    return res
