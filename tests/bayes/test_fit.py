"""BayesResult: tables, idata, methods, determinism and the compiled-model cache."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.bayes import compare, sampling
from pathmodels.bayes.result import DIAGNOSTIC_COLUMNS
from pathmodels.exceptions import ConvergenceWarning, SpecificationError
from pathmodels.results import EFFECT_COLUMNS, ESTIMATE_COLUMNS
from tests.bayes.conftest import SIMPLE, mediation_data


def test_import_pathmodels_does_not_load_pymc() -> None:
    code = ("import sys, pathmodels; assert 'pymc' not in sys.modules; "
            "assert 'arviz_stats' not in sys.modules; assert 'nutpie' not in sys.modules; "
            "pathmodels.BayesResult; assert 'pymc' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "ok"


def test_columns_match_the_ml_result(simple_fit: pm.BayesResult) -> None:
    res = simple_fit
    assert list(res.estimates.columns) == list(ESTIMATE_COLUMNS) + list(DIAGNOSTIC_COLUMNS)
    assert list(res.effects.columns) == list(EFFECT_COLUMNS) + list(DIAGNOSTIC_COLUMNS)
    ml = pm.fit(SIMPLE, mediation_data())
    key = ["lhs", "op", "rhs", "group"]
    assert res.estimates[key].equals(ml.estimates[key])
    assert res.effects[["cause", "outcome", "effect", "path"]].equals(
        ml.effects[["cause", "outcome", "effect", "path"]])
    free = res.estimates[res.estimates["op"].isin(["~", "~~"]) & (res.estimates["se"] > 0)]
    assert free["r_hat"].notna().all() and (free["ess_bulk"] > 50).all()
    assert res.estimates["z"].isna().all()


def test_defined_parameters_and_effects_are_computed_on_every_draw(
        simple_fit: pm.BayesResult) -> None:
    res = simple_fit
    a, b = res.draws_of("a"), res.draws_of("b")
    ind = res.draws_of("ind")
    np.testing.assert_allclose(ind, a * b)
    row = res.estimates.set_index("lhs").loc["ind"]
    np.testing.assert_allclose(row["est"], (a * b).mean())
    np.testing.assert_allclose(row["se"], (a * b).std(ddof=1))
    assert np.isfinite(row["r_hat"]) and row["ess_bulk"] > 50
    eff = res.effect_draws("x", "y", "total_indirect")
    np.testing.assert_allclose(eff, a * b)
    lo, hi = res.effect("x", "y")[["ci_lower", "ci_upper"]]
    assert lo < (a * b).mean() < hi
    # an HDI holds `level` of the draws
    inside = np.mean((ind >= row["ci_lower"]) & (ind <= row["ci_upper"]))
    assert 0.94 <= inside <= 0.96


def test_tail_probability_is_documented_pvalue(simple_fit: pm.BayesResult) -> None:
    b = simple_fit.draws_of("b").ravel()
    p = simple_fit.estimates.set_index("label").loc["b", "pvalue"]
    np.testing.assert_allclose(p, 2 * min(np.mean(b > 0), np.mean(b < 0)))


def test_idata_groups(simple_fit: pm.BayesResult) -> None:
    idata = simple_fit.idata
    for group in ("posterior", "posterior_predictive", "log_likelihood", "observed_data",
                  "sample_stats"):
        assert group in idata.children, group
    assert set(idata["posterior"].data_vars) >= {"a", "b", "cp", "ind", "m~~m", "y~~y"}
    assert idata["log_likelihood"]["obs"].shape == (2, 300, 200)
    assert idata["posterior_predictive"]["y"].shape[-1] == 200
    np.testing.assert_allclose(idata["observed_data"]["m"].values, mediation_data()["m"])


def test_posterior_predictive_resembles_the_data(simple_fit: pm.BayesResult) -> None:
    rep = simple_fit.idata["posterior_predictive"]["y"].values
    obs = mediation_data()["y"]
    assert abs(rep.mean() - obs.mean()) < 0.1
    assert abs(rep.std(axis=-1).mean() / obs.std() - 1) < 0.1


def test_loo_and_compare(simple_fit: pm.BayesResult, quiet_convergence: None) -> None:
    loo = simple_fit.loo()
    np.testing.assert_allclose(float(loo.elpd), simple_fit.fit_measures["elpd_loo"])
    no_b = pm.fit("m ~ a*x\ny ~ cp*x\nm ~~ 0*y", mediation_data(), backend="pymc", draws=300,
                  tune=300, chains=2, seed=3)
    table = compare(simple_fit, no_b, names=["full", "no_b"])
    assert table.index[0] == "full" and table.loc["no_b", "elpd_diff"] < -5
    with pytest.raises(SpecificationError, match="at least two"):
        compare(simple_fit)
    ml = pm.fit(SIMPLE, mediation_data())
    with pytest.raises(SpecificationError, match="Bayesian fits"):
        compare(simple_fit, ml)  # type: ignore[arg-type]


def test_summary_and_json(simple_fit: pm.BayesResult) -> None:
    text = simple_fit.summary()
    assert "Bayesian fit" in text and "Rhat" in text and "ind := a*b" in text
    assert str(simple_fit) == text
    data = json.loads(simple_fit.to_json())
    assert set(data) >= {"estimates", "effects", "fit", "converged"}
    assert data["fit"]["n"] == 200 and "elpd_loo" in data["fit"]
    assert set(data["estimates"][0]) >= set(ESTIMATE_COLUMNS) | {"r_hat", "ess_bulk"}


def test_plot_effects(simple_fit: pm.BayesResult) -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = simple_fit.plot()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "direct" in labels and "x -> m -> y" in labels
    with pytest.raises(SpecificationError, match="kind="):
        simple_fit.plot(kind="trace")


def test_prior_predictive(simple_fit: pm.BayesResult) -> None:
    prior = simple_fit.prior_predictive(100, seed=1)
    assert prior["prior"]["a"].shape == (1, 100)
    sims = prior["prior_predictive"]["y"].values
    assert sims.shape == (1, 100, 200) and np.isfinite(sims).all()
    # weakly informative: prior predictive spread covers the data's but is not absurd
    spread = sims.std(axis=-1)
    obs = mediation_data()["y"].std()
    assert np.median(spread) > 0.5 * obs and np.median(spread) < 50 * obs


def test_same_seed_same_result_and_cache_does_not_leak(quiet_convergence: None) -> None:
    data = mediation_data(seed=4)
    sampling.clear_cache()
    r1 = pm.fit(SIMPLE, data, backend="pymc", draws=100, tune=100, chains=2, seed=5)
    assert not r1.info["reused_compiled"]
    other = mediation_data(seed=9)
    pm.fit(SIMPLE, other, backend="pymc", draws=100, tune=100, chains=2, seed=6)
    r2 = pm.fit(SIMPLE, data, backend="pymc", draws=100, tune=100, chains=2, seed=5)
    assert r2.info["reused_compiled"]
    pd.testing.assert_frame_equal(r1.estimates, r2.estimates)
    r3 = pm.fit(SIMPLE, data, backend="pymc", draws=100, tune=100, chains=2, seed=7)
    assert not r3.estimates["est"].equals(r1.estimates["est"])


def test_prior_sampling_mock_runs_the_pipeline(prior_sampling: None) -> None:
    res = pm.fit(SIMPLE, mediation_data(), backend="pymc", draws=50, chains=2, seed=1)
    assert res.info["sampler"] == "prior" and res.warnings == ()
    assert res.idata["posterior"]["a"].shape == (2, 50)


def test_diagnostics_become_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    def fake(plan: object, opts: dict[str, object]) -> sampling.Draws:
        d = sampling.prior_draws(plan, chains=2, draws=100, seed=1)  # type: ignore[arg-type]
        div = np.zeros((2, 100), dtype=bool)
        div[0, :7] = True
        depth = np.zeros((2, 100), dtype=bool)
        depth[:, :10] = True
        return dataclasses.replace(d, sampler="pymc", diverging=div, max_depth=depth)

    monkeypatch.setattr(sampling, "run_sampler", fake)
    with pytest.warns(ConvergenceWarning) as record:
        res = pm.fit(SIMPLE, mediation_data(), backend="pymc", draws=100, chains=2)
    text = " ".join(str(w.message) for w in record)
    assert "7 divergent transition" in text and "target_accept" in text
    assert "maximum tree depth" in text
    assert not res.converged and res.fit_measures["divergences"] == 7
    assert any("divergent" in w for w in res.warnings)
    assert res.summary().startswith("WARNING:")


def test_unknown_effect_pair_fails_before_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampling, "run_sampler", lambda *a: (_ for _ in ()).throw(
        AssertionError("sampled")))
    with pytest.raises(SpecificationError, match="not a model variable"):
        pm.fit(SIMPLE, mediation_data(), backend="pymc", effects=[("x", "yy")])


def test_missing_values_are_integrated_out(prior_sampling: None) -> None:
    data = mediation_data()
    data.loc[:19, "y"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        listwise = pm.fit(SIMPLE, data, backend="pymc", draws=20, chains=1)
    full = pm.fit(SIMPLE, data, backend="pymc", draws=20, chains=1, missing="fiml")
    assert listwise.fit_measures["n"] == 180 and full.fit_measures["n"] == 200
    assert "~1" in set(full.estimates["op"])
