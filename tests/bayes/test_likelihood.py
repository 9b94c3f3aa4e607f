"""The compiled log-likelihood equals an independent computation.

The PyMC model evaluates the likelihood from cross-product matrices (and per-row terms
for binary/ordinal equations). At a random parameter point we compare its value with

* scipy's multivariate normal density of each row's endogenous variables given its
  covariates, from the RAM model's implied joint moments (Gaussian models, missing data);
* per-row probit/logit/ordered-probit probabilities written out by hand;

and the numpy pointwise log-likelihood (used for LOO) with the same reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import pathmodels as pm
from pathmodels.bayes import draws as D
from pathmodels.bayes.model import build_model, raw_from_draws, rv_names
from pathmodels.bayes.plan import Plan
from pathmodels.ml.data import prepare_data
from pathmodels.ml.ram import RamModel
from tests.reference.lavaan_cases import load_case


def _plan(syntax: str, data: pd.DataFrame, *, auto: bool = True, group: str | None = None,
          missing: str = "listwise", **kw: object) -> Plan:
    spec = pm.Spec.from_syntax(syntax, auto=auto)
    ng = 1 if group is None else int(data[group].nunique())
    table = spec.table(ngroups=ng, meanstructure=True)
    prep = prepare_data(table, data, group=group, missing=missing)
    return Plan(table, prep, **kw)  # type: ignore[arg-type]


def _at_random_point(plan: Plan, seed: int) -> tuple[float, np.ndarray, dict]:
    """Model log-likelihood, theta and thresholds at a jittered initial point."""
    model = build_model(plan)
    rng = np.random.default_rng(seed)
    point = {k: v + rng.uniform(-0.3, 0.3, size=np.shape(v))
             for k, v in model.initial_point().items()}

    def value(var: object) -> np.ndarray:
        out = model.replace_rvs_by_values([var])[0]
        fn = model.compile_fn(out, inputs=model.value_vars, on_unused_input="ignore")
        return np.asarray(fn(point), dtype=float)

    loglik = float(value(model.potentials[0]))
    theta = value(model["theta"])
    # Sampling stores only the random variables; theta is rebuilt in numpy afterwards.
    rvs = {name: value(model[name])[None, None] for name in rv_names(plan)}
    np.testing.assert_allclose(plan.theta_from_raw(raw_from_draws(plan, rvs))[0], theta,
                               rtol=1e-10, atol=1e-12)
    taus = {}
    for (var, g) in plan.thresholds:
        taus[(var, g)] = value(model[f"tau_{var}_g{g}"])[None]
    return loglik, theta, taus


def _scipy_gaussian(plan: Plan, theta: np.ndarray) -> float:
    """sum_i log N(y_i,obs | x_i) from the implied joint moments, conditioned by hand."""
    ram = RamModel(plan.table, list(plan.data.moments))
    total = 0.0
    xi = [plan.observed.index(x) for x in plan.x_names]
    yi = [plan.observed.index(y) for y in plan.y_names]
    for g, X in enumerate(plan.data.arrays):
        _, cov, mean = ram.full_moments(theta, g)
        cov, mean = cov[0][: plan.p, : plan.p], mean[0][: plan.p]
        for row in X:
            seen = [j for j in yi if not np.isnan(row[j])]
            if not seen:
                continue
            if xi:
                Sxx = cov[np.ix_(xi, xi)]
                Syx = cov[np.ix_(seen, xi)]
                mu = mean[seen] + Syx @ np.linalg.solve(Sxx, row[xi] - mean[xi])
                S = cov[np.ix_(seen, seen)] - Syx @ np.linalg.solve(Sxx, Syx.T)
            else:
                mu, S = mean[seen], cov[np.ix_(seen, seen)]
            total += stats.multivariate_normal(mu, S).logpdf(row[seen])
    return float(total)


GAUSSIAN_CASES = ["ips_chain", "fiml_mediation", "cfa_hs", "riclpm4", "twogroup_mediation_free",
                  "sem_pd"]


@pytest.mark.parametrize("case_name", GAUSSIAN_CASES)
def test_gaussian_likelihood_matches_scipy(case_name: str) -> None:
    case = load_case(case_name)
    opts = case.options
    plan = _plan(case.syntax, case.data, auto=not case.call.startswith("lavaan("),
                 group=opts.get("group") or None,
                 missing="fiml" if opts.get("missing") == "ml" else "listwise")
    loglik, theta, taus = _at_random_point(plan, seed=3)
    ref = _scipy_gaussian(plan, theta)
    assert np.isfinite(ref)
    np.testing.assert_allclose(loglik, ref, rtol=1e-9, atol=1e-6)
    ram = RamModel(plan.table, list(plan.data.moments))
    pointwise = D.pointwise_loglik(plan, ram, theta[None], taus)
    np.testing.assert_allclose(pointwise.sum(), ref, rtol=1e-9, atol=1e-6)


def test_reference_detects_a_wrong_likelihood() -> None:
    """The scipy reference is not vacuous: a perturbed theta gives another value."""
    case = load_case("ips_chain")
    plan = _plan(case.syntax, case.data)
    loglik, theta, _ = _at_random_point(plan, seed=3)
    wrong = theta.copy()
    wrong[0] += 0.05
    assert abs(_scipy_gaussian(plan, wrong) - loglik) > 1e-3


def _discrete_data(n: int = 150, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    z = rng.standard_normal(n)
    b = (0.3 + 0.8 * x + rng.standard_normal(n) > 0).astype(float)
    c = 0.5 * b + 0.3 * x + rng.standard_normal(n)
    o = np.digitize(0.6 * c + rng.standard_normal(n), [-0.7, 0.2, 1.0]).astype(float)
    d = 0.4 * c + 0.2 * z + rng.standard_normal(n)
    return pd.DataFrame({"x": x, "z": z, "b": b, "c": c, "o": o, "d": d})


@pytest.mark.parametrize("link", ["probit", "logit"])
def test_discrete_likelihood_by_hand(link: str) -> None:
    data = _discrete_data()
    syntax = "b ~ x\nc ~ b + x\no ~ c\nd ~ c + z"
    plan = _plan(syntax, data, binary=("b",), ordinal=("o",), link=link)
    loglik, theta, taus = _at_random_point(plan, seed=4)
    ram = RamModel(plan.table, list(plan.data.moments))
    A, S, m = ram.matrices(theta, 0)
    A, S, m = A[0], S[0], m[0]
    X = plan.data.arrays[0]
    col = {v: X[:, plan.observed.index(v)] for v in plan.observed}
    pos = plan.pos

    def eta(v: str) -> np.ndarray:
        return m[pos[v]] + sum(A[pos[v], pos[u]] * col[u] for u in plan.observed)

    ref = 0.0
    e = eta("b")
    p1 = special.ndtr(e) if link == "probit" else special.expit(e)
    ref += np.sum(np.where(col["b"] == 1, np.log(p1), np.log1p(-p1)))
    for v in ("c", "d"):
        ref += stats.norm(eta(v), np.sqrt(S[pos[v], pos[v]])).logpdf(col[v]).sum()
    tau = taus[("o", 0)][0] + A[pos["o"], : plan.p] @ plan.groups[0].means  # lavaan scale
    codes = np.searchsorted(plan.categories["o"], col["o"])
    cuts = np.concatenate([[-np.inf], tau, [np.inf]])
    eo = eta("o")
    ref += np.sum(np.log(special.ndtr(cuts[codes + 1] - eo) - special.ndtr(cuts[codes] - eo)))
    np.testing.assert_allclose(loglik, ref, rtol=1e-8)
    pointwise = D.pointwise_loglik(plan, ram, theta[None], taus)
    np.testing.assert_allclose(pointwise.sum(), ref, rtol=1e-8)


def test_nonrecursive_likelihood_has_the_jacobian() -> None:
    rng = np.random.default_rng(8)
    n = 300
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    e1, e2 = rng.standard_normal(n), rng.standard_normal(n)
    # y1 = 0.3 y2 + x1 + e1, y2 = 0.2 y1 + x2 + e2
    B = np.array([[0, 0.3], [0.2, 0]])
    rhs = np.column_stack([x1 + e1, x2 + e2])
    y = np.linalg.solve(np.eye(2) - B, rhs.T).T
    data = pd.DataFrame({"y1": y[:, 0], "y2": y[:, 1], "x1": x1, "x2": x2})
    plan = _plan("y1 ~ y2 + x1\ny2 ~ y1 + x2", data)
    assert not plan.recursive
    loglik, theta, _ = _at_random_point(plan, seed=2)
    np.testing.assert_allclose(loglik, _scipy_gaussian(plan, theta), rtol=1e-9)
