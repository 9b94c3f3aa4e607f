"""pathmodels.ml.compare: lavTestLRT reference numbers and chi-bar-square weights.

LRT reference: the ``lrt`` entries of tests/ml/data/fitmeasures_reference.json (external:
lavaan 0.6-14's lavTestLRT, script beside it). Chi-bar-square: closed-form weights
(orthant probabilities) and Monte Carlo tolerances of 5 MC standard errors.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pathmodels.exceptions import ConvergenceWarning, SpecificationError
from pathmodels.ml.compare import (
    LRTInput,
    chibar_square_pvalue,
    chibar_square_sf,
    chibar_square_weights,
    likelihood_ratio_test,
)
from pathmodels.ml.fitmeasures import GroupMoments, fit_measures
from tests.ml._fixtures import load_reference

REF = load_reference()
LRT = REF["lrt"]
CASES = REF["cases"]

RTOL = 1e-6  # closed form given lavaan's chi-squares; AIC/BIC copied through
ATOL = 1e-10


def inputs_of(entry: dict[str, Any]) -> list[LRTInput]:
    return [
        LRTInput(
            name=m["name"],
            chisq=m["chisq"],
            df=int(m["df"]),
            npar=int(m["npar"]),
            aic=m["aic"],
            bic=m["bic"],
            n=int(m["n"]),
            n_groups=int(m["ngroups"]),
        )
        for m in entry["models"]
    ]


def lavaan_table(entry: dict[str, Any]) -> pd.DataFrame:
    table = pd.DataFrame(entry["table"]).set_index("model")
    table.index.name = "model"
    return table


def assert_table_matches(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(ours.index) == list(theirs.index)
    assert list(ours.columns) == [
        "df", "aic", "bic", "chisq", "chisq_diff", "rmsea", "df_diff", "pvalue"
    ]  # fmt: skip
    for column in ours.columns:
        np.testing.assert_allclose(
            ours[column].to_numpy(dtype=float),
            theirs[column].to_numpy(dtype=float),
            rtol=RTOL,
            atol=ATOL,
            err_msg=column,
        )


@pytest.mark.parametrize("name", list(LRT))
def test_lrt_matches_lavtestlrt(name: str) -> None:
    entry = LRT[name]
    assert_table_matches(likelihood_ratio_test(inputs_of(entry)), lavaan_table(entry))


def test_lrt_sorts_by_df_whatever_the_input_order() -> None:
    entry = LRT["pd_three_models"]
    models = inputs_of(entry)
    forward = likelihood_ratio_test(models)
    backward = likelihood_ratio_test(models[::-1])
    pd.testing.assert_frame_equal(forward, backward)
    assert list(forward.index) == ["pd_free", "pd_labels", "pd_labels_more"]
    assert forward.index.name == "model"


def _groups(case: dict[str, Any]) -> list[GroupMoments]:
    return [
        GroupMoments(
            n=g["n"],
            sample_cov=np.array(g["sample_cov"]),
            implied_cov=np.array(g["implied_cov"]),
            sample_mean=np.array(g["sample_mean"]),
            implied_mean=None if "implied_mean" not in g else np.array(g["implied_mean"]),
            exo=np.array(g["exo"], dtype=bool),
        )
        for g in case["groups"]
    ]


def test_lrt_from_our_fit_measures_matches_lavaan() -> None:
    entry = LRT["hs_cfa_configural_vs_metric"]
    models = []
    for m in entry["models"]:
        case = CASES[m["name"]]
        fm = fit_measures(
            _groups(case),
            npar=case["npar_free"],
            n_eq_constraints=case["n_eq_constraints"],
            meanstructure=case["meanstructure"],
        )
        models.append(LRTInput.from_fit_measures(m["name"], fm, n_groups=case["ngroups"]))
    assert_table_matches(likelihood_ratio_test(models), lavaan_table(entry))


def test_lrt_comparison_fails_on_wrong_numbers() -> None:
    entry = LRT["pd_three_models"]
    models = inputs_of(entry)
    wrong = [models[0], models[1], LRTInput(**{**models[2].__dict__, "chisq": 38.5})]
    with pytest.raises(AssertionError):
        assert_table_matches(likelihood_ratio_test(wrong), lavaan_table(entry))
    # n_groups scales the RMSEA of the difference: a two-group test with G = 1 fails
    entry2 = LRT["hs_cfa_configural_vs_metric"]
    one_group = [LRTInput(**{**m.__dict__, "n_groups": 1}) for m in inputs_of(entry2)]
    with pytest.raises(AssertionError, match="rmsea"):
        assert_table_matches(likelihood_ratio_test(one_group), lavaan_table(entry2))


def test_lrt_errors() -> None:
    models = inputs_of(LRT["pd_three_models"])
    with pytest.raises(SpecificationError, match="at least two"):
        likelihood_ratio_test(models[:1])
    same_df = LRTInput(**{**models[0].__dict__, "name": "twin"})
    with pytest.raises(SpecificationError, match="same df"):
        likelihood_ratio_test([models[0], same_df])
    other_n = LRTInput(**{**models[1].__dict__, "n": 74})
    with pytest.raises(SpecificationError, match="different numbers of observations"):
        likelihood_ratio_test([models[0], other_n])
    other_g = LRTInput(**{**models[1].__dict__, "n_groups": 2})
    with pytest.raises(SpecificationError, match="different numbers of groups"):
        likelihood_ratio_test([models[0], other_g])
    with pytest.raises(SpecificationError, match="unique"):
        likelihood_ratio_test(
            [models[0], LRTInput(**{**models[1].__dict__, "name": models[0].name})]
        )
    with pytest.raises(SpecificationError, match="lacks"):
        LRTInput.from_fit_measures("m", {"chisq": 1.0})


def test_lrt_warns_when_restricted_model_fits_better() -> None:
    models = inputs_of(LRT["pd_three_models"])
    better = LRTInput(**{**models[1].__dict__, "chisq": models[0].chisq - 1.0})
    with pytest.warns(ConvergenceWarning, match="fits better"):
        table = likelihood_ratio_test([models[0], better])
    assert table["pvalue"].iloc[1] == 1.0
    assert table["rmsea"].iloc[1] == 0.0


def test_lrt_no_warning_for_nested_models() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        likelihood_ratio_test(inputs_of(LRT["hs_path_2group"]))


# ------------------------------------------------------------- chi-bar-square

N_SIM = 100_000


def mc_tol(weights: np.ndarray, n_sim: int = N_SIM) -> np.ndarray:
    """Five Monte Carlo standard errors of each weight (binomial proportion)."""
    return 5 * np.sqrt(np.clip(weights * (1 - weights), 1e-12, None) / n_sim)


def test_one_boundary_parameter_is_half_half() -> None:
    w = chibar_square_weights(np.eye(1), n_sim=N_SIM, seed=1)
    expected = np.array([0.5, 0.5])
    assert np.all(np.abs(w - expected) <= mc_tol(expected))
    assert w.sum() == pytest.approx(1.0)


def test_two_independent_boundary_parameters() -> None:
    w = chibar_square_weights(np.diag([0.3, 2.0]), n_sim=N_SIM, seed=2)
    expected = np.array([0.25, 0.5, 0.25])
    assert np.all(np.abs(w - expected) <= mc_tol(expected))


@pytest.mark.parametrize("rho", [-0.7, 0.0, 0.4, 0.9])
def test_two_correlated_boundary_parameters_match_closed_form(rho: float) -> None:
    # Kudo (1963): w2 = P(Z > 0) = 1/4 + asin(rho)/(2 pi), w0 = 1/4 - asin(rho)/(2 pi)
    sd = np.array([math.sqrt(2.0), math.sqrt(0.5)])  # weights depend on rho only
    v = np.array([[1.0, rho], [rho, 1.0]]) * np.outer(sd, sd)
    w = chibar_square_weights(v, n_sim=N_SIM, seed=3)
    shift = math.asin(rho) / (2 * math.pi)
    expected = np.array([0.25 - shift, 0.5, 0.25 + shift])
    assert np.all(np.abs(w - expected) <= mc_tol(expected))


def test_wrong_weights_fail_the_check() -> None:
    w = chibar_square_weights(np.array([[1.0, 0.9], [0.9, 1.0]]), n_sim=N_SIM, seed=3)
    independent = np.array([0.25, 0.5, 0.25])
    assert not np.all(np.abs(w - independent) <= mc_tol(independent))


def test_unrestricted_parameters_do_not_change_weights_but_add_df() -> None:
    # a variance on the boundary and a free covariance, correlated estimators
    vcov = np.array([[0.04, 0.01], [0.01, 0.02]])
    w = chibar_square_weights(vcov, np.array([True, False]), n_sim=N_SIM, seed=4)
    assert w.shape == (2,)
    assert np.all(np.abs(w - 0.5) <= mc_tol(np.array([0.5, 0.5])))
    stat = 5.0
    p = chibar_square_pvalue(stat, vcov, np.array([True, False]), n_sim=N_SIM, seed=4)
    assert p == pytest.approx(w[0] * stats.chi2.sf(stat, 1) + w[1] * stats.chi2.sf(stat, 2))
    # the same through integer positions and through df_free
    assert chibar_square_pvalue(stat, vcov, [0], n_sim=N_SIM, seed=4) == p
    assert chibar_square_pvalue(stat, vcov[:1, :1], df_free=1, n_sim=N_SIM, seed=4) == p


def test_pvalue_is_half_the_naive_one_for_a_single_variance() -> None:
    stat = 3.2
    p = chibar_square_pvalue(stat, [[0.5]], n_sim=N_SIM, seed=5)
    naive = stats.chi2.sf(stat, 1)
    assert abs(p - naive / 2) <= 5 * math.sqrt(0.25 / N_SIM) * naive
    assert chibar_square_pvalue(0.0, [[0.5]]) == 1.0
    assert chibar_square_pvalue(-1e-9, [[0.5]]) == 1.0


def test_many_boundary_parameters_use_nnls_and_agree_with_binomial() -> None:
    k, n_sim = 9, 20_000  # above the enumeration limit: one NNLS per draw
    w = chibar_square_weights(np.eye(k), n_sim=n_sim, seed=6)
    expected = stats.binom.pmf(np.arange(k + 1), k, 0.5)
    assert np.all(np.abs(w - expected) <= mc_tol(expected, n_sim))


def test_enumeration_and_nnls_agree_on_a_correlated_cone() -> None:
    from pathmodels.ml import compare

    rng = np.random.default_rng(7)
    a = rng.normal(size=(5, 5))
    v = a @ a.T + np.eye(5)
    z = rng.standard_normal((3000, 5)) @ np.linalg.cholesky(v).T
    np.testing.assert_array_equal(
        compare._count_positive_enumerate(z, v), compare._count_positive_nnls(z, v)
    )


def test_weights_are_reproducible_by_seed() -> None:
    v = np.array([[1.0, 0.3], [0.3, 2.0]])
    a = chibar_square_weights(v, n_sim=10_000, seed=11)
    b = chibar_square_weights(v, n_sim=10_000, seed=11)
    c = chibar_square_weights(v, n_sim=10_000, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g = chibar_square_weights(v, n_sim=10_000, seed=np.random.default_rng(11))
    np.testing.assert_array_equal(a, g)


def test_chibar_sf_direct() -> None:
    assert chibar_square_sf(2.706, [0.5, 0.5]) == pytest.approx(0.5 * stats.chi2.sf(2.706, 1))
    assert chibar_square_sf(2.0, [0.25, 0.5, 0.25], df_free=1) == pytest.approx(
        0.25 * stats.chi2.sf(2.0, 1) + 0.5 * stats.chi2.sf(2.0, 2) + 0.25 * stats.chi2.sf(2.0, 3)
    )


def test_chibar_errors() -> None:
    with pytest.raises(SpecificationError, match="positive definite"):
        chibar_square_weights([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(SpecificationError, match="marks no parameter"):
        chibar_square_weights(np.eye(2), np.array([False, False]))
    with pytest.raises(SpecificationError, match="shape"):
        chibar_square_weights(np.eye(2), np.array([True]))
    with pytest.raises(SpecificationError, match="positions"):
        chibar_square_weights(np.eye(2), [3])
    with pytest.raises(SpecificationError, match="n_sim"):
        chibar_square_weights(np.eye(2), n_sim=0)
    with pytest.raises(SpecificationError, match="stat="):
        chibar_square_pvalue(math.nan, np.eye(1))
    with pytest.raises(SpecificationError, match="weights="):
        chibar_square_sf(1.0, [0.5, 0.6])
