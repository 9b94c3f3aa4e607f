"""Binary and ordinal variables: natural effects by g-computation, scale warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special

import pathmodels as pm
from pathmodels.bayes import draws as D
from pathmodels.bayes.plan import Plan
from pathmodels.bayes.result import MixedScaleWarning
from pathmodels.exceptions import ConvergenceWarning
from pathmodels.ml.data import prepare_data
from pathmodels.ml.ram import RamModel

A_, B_, G_, C_ = 0.8, 0.5, -0.3, 0.2  # employ* = -0.3 + 0.8 arm + G age + e; y = 0.5 employ


def probit_data(n: int = 800, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    arm = rng.integers(0, 2, n).astype(float)
    age = rng.standard_normal(n)
    employ = (-0.3 + A_ * arm + G_ * age + rng.standard_normal(n) > 0).astype(float)
    y = B_ * employ + C_ * arm + rng.standard_normal(n)
    return pd.DataFrame({"arm": arm, "age": age, "employ": employ, "y": y})


def true_effects(data: pd.DataFrame) -> dict[str, float]:
    """Natural effects of arm 0 -> 1 on y under the population model, given the ages."""
    age = data["age"].to_numpy()
    p0 = special.ndtr(-0.3 + G_ * age)
    p1 = special.ndtr(-0.3 + A_ + G_ * age)
    nie = B_ * float(np.mean(p1 - p0))
    return {"natural_indirect": nie, "natural_direct": C_, "natural_total": nie + C_}


SYNTAX = "employ ~ a*arm + age\ny ~ b*employ + cp*arm"


def _plan(data: pd.DataFrame, syntax: str = SYNTAX, **kw: object) -> Plan:
    spec = pm.Spec.from_syntax(syntax)
    table = spec.table(meanstructure=True)
    return Plan(table, prepare_data(table, data), **kw)  # type: ignore[arg-type]


def _theta(plan: Plan, values: dict[str, float]) -> np.ndarray:
    theta = np.zeros(plan.npar)
    for k, name in enumerate(plan.param_names):
        theta[k] = values.get(name, 1.0 if "~~" in name else 0.0)
    return theta


def test_g_computation_matches_the_probit_formula() -> None:
    data = probit_data()
    plan = _plan(data, binary=("employ",))
    theta = _theta(plan, {"a": A_, "employ~age": G_, "employ~1": -0.3, "b": B_, "cp": C_,
                          "y~~y": 1.0})
    ram = RamModel(plan.table, list(plan.data.moments))
    rng = np.random.default_rng(1)
    res = D.natural_effects(plan, ram, np.tile(theta, (40, 1)), {}, "arm", "y", 0.0, 1.0, 0,
                            rng)
    truth = true_effects(data)
    for k, v in truth.items():
        # Monte Carlo over 40 x 800 simulated people: SE of the mean about 0.003
        np.testing.assert_allclose(res[k].mean(), v, atol=0.01)
    np.testing.assert_allclose(res["natural_direct"], C_, atol=1e-12)


def test_g_computation_is_the_product_in_a_linear_model() -> None:
    rng = np.random.default_rng(2)
    n = 300
    x = rng.standard_normal(n)
    m1 = 0.5 * x + rng.standard_normal(n)
    m2 = 0.3 * m1 + rng.standard_normal(n)
    y = 0.4 * m2 + 0.2 * x + rng.standard_normal(n)
    data = pd.DataFrame({"x": x, "m1": m1, "m2": m2, "y": y})
    plan = _plan(data, "m1 ~ x\nm2 ~ m1\ny ~ m2 + x")
    thetas = np.array([_theta(plan, {"m1~x": a, "m2~m1": b, "y~m2": c, "y~x": 0.2})
                       for a, b, c in rng.uniform(0.1, 0.9, (5, 3))])
    ram = RamModel(plan.table, list(plan.data.moments))
    res = D.natural_effects(plan, ram, thetas, {}, "x", "y", 0.0, 1.0, 0, rng)
    prod = thetas[:, plan.param_names.index("m1~x")] * thetas[:, plan.param_names.index(
        "m2~m1")] * thetas[:, plan.param_names.index("y~m2")]
    np.testing.assert_allclose(res["natural_indirect"], prod, atol=1e-10)
    np.testing.assert_allclose(res["natural_direct"], 0.2, atol=1e-10)


def test_probit_fit_recovers_natural_effects(quiet_convergence: None) -> None:
    data = probit_data()
    res = pm.fit(SYNTAX + "\nind := a*b", data, backend="pymc", binary=["employ"], draws=500,
                 tune=500, chains=2, seed=4)
    eff = res.effects[res.effects["cause"] == "arm"].set_index("effect")
    truth = true_effects(data)
    for kind, value in truth.items():
        row = eff.loc[kind]
        assert abs(row["est"] - value) < 3 * row["se"], (kind, row["est"], value)
        assert np.isfinite(row["r_hat"])
    # the latent-scale product is reported too, and differs from the natural effect
    ind = res.estimates.set_index("lhs").loc["ind"]
    assert abs(ind["est"] - A_ * B_) < 3 * ind["se"]
    assert not np.isclose(ind["est"], eff.loc["natural_indirect", "est"], rtol=0.2)
    est = res.estimates.set_index(["lhs", "op", "rhs"])
    assert est.loc[("employ", "~~", "employ"), "se"] == 0.0
    assert abs(est.loc[("employ", "~", "arm"), "est"] - A_) < 3 * est.loc[
        ("employ", "~", "arm"), "se"]
    assert "natural" in res.summary() and res.info["notes"]
    nat = res.natural_effects("arm", "y", x0=1.0, x1=0.0)
    np.testing.assert_allclose(nat.set_index("effect").loc["natural_total", "est"],
                               -eff.loc["natural_total", "est"], atol=0.01)


def test_logit_mediator_product_warns(prior_sampling: None) -> None:
    data = probit_data(300)
    with pytest.warns(MixedScaleWarning, match="employ is a binary mediator with link='logit'"):
        res = pm.fit(SYNTAX + "\nind := a*b", data, backend="pymc", binary=["employ"],
                     link="logit", draws=20, chains=1)
    assert any("mixed scales" in w for w in res.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MixedScaleWarning)
        pm.fit(SYNTAX + "\nind := a*b", data, backend="pymc", binary=["employ"], draws=20,
               chains=1)  # probit: a latent-response product, no warning


def test_ordinal_outcome_thresholds(prior_sampling: None) -> None:
    rng = np.random.default_rng(5)
    n = 300
    x = rng.standard_normal(n)
    y = np.digitize(0.7 * x + rng.standard_normal(n), [-0.5, 0.5, 1.2]) + 1.0
    data = pd.DataFrame({"x": x, "y": y})
    res = pm.fit("y ~ x", data, backend="pymc", ordinal=["y"], draws=30, chains=2)
    thr = res.estimates[res.estimates["op"] == "|"]
    assert list(thr["rhs"]) == ["t1", "t2", "t3"]
    pp = res.idata["posterior_predictive"]["y"].values
    assert set(np.unique(pp)) <= {1.0, 2.0, 3.0, 4.0}


@pytest.mark.slow
def test_ordinal_fit_recovers_the_slope() -> None:
    rng = np.random.default_rng(6)
    n = 600
    x = rng.standard_normal(n)
    y = np.digitize(0.7 * x + rng.standard_normal(n), [-0.5, 0.5, 1.2]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = pm.fit("y ~ x", pd.DataFrame({"x": x, "y": y}), backend="pymc", ordinal=["y"],
                     draws=500, tune=500, chains=2, seed=1)
    est = res.estimates.set_index(["lhs", "op", "rhs"])
    row = est.loc[("y", "~", "x")]
    assert abs(row["est"] - 0.7) < 3 * row["se"]
    for j, cut in enumerate([-0.5, 0.5, 1.2], start=1):
        r = est.loc[("y", "|", f"t{j}")]
        assert abs(r["est"] - cut) < 3 * r["se"]
