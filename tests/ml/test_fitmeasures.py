"""pathmodels.ml.fitmeasures against lavaan 0.6-14's fitMeasures().

Reference: tests/ml/data/fitmeasures_reference.json, written by the R script beside it
(external: lavaan). The inputs are lavaan's own sample and implied moments, so every
measure is a closed-form function of them and agrees to rounding; tolerances below are
per quantity.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathmodels.exceptions import DataError, SpecificationError
from pathmodels.ml.fitmeasures import (
    GroupMoments,
    baseline_df,
    baseline_loglik,
    chisq_from_fmin,
    data_points,
    fit_measures,
    fit_measures_from_loglik,
    ml_fmin,
    model_loglik,
    rmsea,
    rmsea_ci,
    unrestricted_loglik,
)
from tests.ml._fixtures import load_reference

REF = load_reference()
CASES = REF["cases"]
COMPLETE = [name for name, case in CASES.items() if case["options"]["missing"] != "ml"]
FIML = [name for name, case in CASES.items() if case["options"]["missing"] == "ml"]


def groups_of(case: dict[str, Any]) -> list[GroupMoments]:
    return [
        GroupMoments(
            n=g["n"],
            sample_cov=np.array(g["sample_cov"]),
            implied_cov=np.array(g["implied_cov"]),
            sample_mean=np.array(g["sample_mean"]),
            implied_mean=None if "implied_mean" not in g else np.array(g["implied_mean"]),
            exo=np.array(g["exo"], dtype=bool),
            group=i,
        )
        for i, g in enumerate(case["groups"], start=1)
    ]


def ours_for(case: dict[str, Any], **override: Any) -> dict[str, float]:
    kwargs: dict[str, Any] = {
        "npar": case["npar_free"],
        "n_eq_constraints": case["n_eq_constraints"],
        "meanstructure": case["meanstructure"],
        "fixed_x": case["options"]["fixed.x"],
    }
    kwargs.update(override)
    return fit_measures(groups_of(case), **kwargs)


def ours_from_loglik(case: dict[str, Any], **override: Any) -> dict[str, float]:
    fm = case["fit_measures"]
    kwargs: dict[str, Any] = {
        "logl": fm["logl"],
        "unrestricted_logl": fm["unrestricted.logl"],
        "baseline_logl": case["baseline_logl"],
        "n": [g["n"] for g in case["groups"]],
        "n_observed": [len(g["exo"]) for g in case["groups"]],
        "n_exogenous": [sum(g["exo"]) for g in case["groups"]],
        "npar": case["npar_free"],
        "n_eq_constraints": case["n_eq_constraints"],
        "meanstructure": case["meanstructure"],
        "fixed_x": case["options"]["fixed.x"],
    }
    kwargs.update(override)
    return fit_measures_from_loglik(**kwargs)


# ------------------------------------------------------------------ check mixin


class CheckFitMeasures:
    """res1 = ours, res2 = lavaan's fitMeasures(); tolerances per quantity."""

    rtol: ClassVar[float] = 1e-6
    atol: ClassVar[float] = 1e-10
    # lavaan's uniroot() stops within ~1.2e-4 on the non-centrality scale: measured
    # relative gaps to the exact root reach 7e-7, so allow 5e-6 against fitMeasures()
    # and check the exact root against R's own (tol = 1e-12) at 1e-8 separately.
    rtol_ci: ClassVar[float] = 5e-6
    case: ClassVar[str]
    keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def compare(cls, res1: dict[str, float], res2: dict[str, float], keys: list[str]) -> None:
        bad = []
        for key in keys:
            ours = res1[key.replace(".", "_")]
            theirs = res2[key]
            rtol = cls.rtol_ci if key.startswith("rmsea.ci.") else cls.rtol
            if not np.isclose(ours, theirs, rtol=rtol, atol=cls.atol, equal_nan=True):
                bad.append(f"{key}: ours {ours!r} lavaan {theirs!r}")
        assert not bad, "\n".join(bad)


def lavaan_keys(case: dict[str, Any], available: dict[str, float]) -> list[str]:
    """Every fitMeasures() entry we compute (lavaan's robust FIML extras excluded)."""
    keys = [key for key in case["fit_measures"] if key.replace(".", "_") in available]
    assert keys, "nothing to compare"
    return keys


@pytest.mark.parametrize("name", COMPLETE)
def test_fit_measures_match_lavaan(name: str) -> None:
    case = CASES[name]
    ours = ours_for(case)
    keys = lavaan_keys(case, ours)
    # all of lavaan's non-robust measures are covered for complete data
    assert {k for k in case["fit_measures"] if "robust" not in k} == set(keys)
    CheckFitMeasures.compare(ours, case["fit_measures"], keys)


@pytest.mark.parametrize("name", list(CASES))
def test_fit_measures_from_loglik_match_lavaan(name: str) -> None:
    case = CASES[name]
    ours = ours_from_loglik(case)
    keys = lavaan_keys(case, ours)
    expected = {
        "npar", "fmin", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df",
        "baseline.pvalue", "cfi", "tli", "nnfi", "rfi", "nfi", "pnfi", "ifi", "rni", "logl",
        "unrestricted.logl", "aic", "bic", "ntotal", "bic2", "rmsea", "rmsea.ci.lower",
        "rmsea.ci.upper", "rmsea.pvalue", "rmsea.notclose.pvalue", "cn_05", "cn_01", "mfi",
        "ecvi",
    }  # fmt: skip
    assert expected <= set(keys)
    CheckFitMeasures.compare(ours, case["fit_measures"], keys)


@pytest.mark.parametrize("name", list(CASES))
def test_rmsea_ci_exact_root_matches_r(name: str) -> None:
    case = CASES[name]
    fm = case["fit_measures"]
    lower, upper = rmsea_ci(
        fm["chisq"], fm["df"], fm["ntotal"], n_groups=case["ngroups"], level=fm["rmsea.ci.level"]
    )
    precise = case["rmsea_ci_precise"]
    np.testing.assert_allclose([lower, upper], [precise["lower"], precise["upper"]], rtol=1e-8)


@pytest.mark.parametrize("name", COMPLETE)
def test_logliks_match_lavaan(name: str) -> None:
    case = CASES[name]
    groups = groups_of(case)
    fixed_x = case["options"]["fixed.x"]
    fm = case["fit_measures"]
    np.testing.assert_allclose(
        model_loglik(groups, meanstructure=case["meanstructure"], fixed_x=fixed_x),
        fm["logl"],
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        unrestricted_loglik(groups, fixed_x=fixed_x), fm["unrestricted.logl"], rtol=1e-10
    )
    # lavaan's fitted independence model agrees with the closed form to its optimiser's
    # precision (nlminb on variances; means and exogenous block are exact)
    np.testing.assert_allclose(
        baseline_loglik(groups, fixed_x=fixed_x), case["baseline_logl"], rtol=1e-8
    )
    fmin = ml_fmin(groups, meanstructure=case["meanstructure"])
    np.testing.assert_allclose(fmin, fm["fmin"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        chisq_from_fmin(fmin, fm["ntotal"]), fm["chisq"], rtol=1e-6, atol=1e-10
    )


@pytest.mark.parametrize("name", list(CASES))
def test_counts_match_lavaan(name: str) -> None:
    case = CASES[name]
    p = [len(g["exo"]) for g in case["groups"]]
    q = [sum(g["exo"]) for g in case["groups"]]
    fm = case["fit_measures"]
    ndat = data_points(
        p, q, meanstructure=case["meanstructure"], fixed_x=case["options"]["fixed.x"]
    )
    assert ndat - fm["npar"] == fm["df"]
    assert baseline_df(p, q) == fm["baseline.df"]
    assert case["npar_free"] - case["n_eq_constraints"] == fm["npar"]


def test_shared_labels_count_as_equality_constraints() -> None:
    # PoliticalDemocracy with labels a, b, c: 31 free rows, 3 == constraints, npar 28
    case = CASES["pd_labels"]
    assert (case["npar_free"], case["n_eq_constraints"]) == (31, 3)
    fm = case["fit_measures"]
    assert (fm["npar"], fm["df"]) == (28, 38)
    assert math.isclose(fm["aic"], -2 * fm["logl"] + 2 * 28, rel_tol=1e-12)
    ours = ours_for(case)
    assert (ours["npar"], ours["df"]) == (28.0, 38.0)
    # a caller that counts each shared label once passes the net count directly
    net = ours_for(case, npar=28, n_eq_constraints=0)
    assert net == ours


def test_fixed_x_false_changes_df_and_logl_not_baseline() -> None:
    fixed = CASES["hs_path_fixed_x"]["fit_measures"]
    free = CASES["hs_path_fixed_x_false"]["fit_measures"]
    assert fixed["df"] == free["df"] and fixed["chisq"] == pytest.approx(free["chisq"])
    assert fixed["baseline.df"] == free["baseline.df"] == 9
    assert fixed["logl"] != pytest.approx(free["logl"])


# ----------------------------------------------------------- the checks have teeth


def test_comparison_fails_with_npar_off_by_one() -> None:
    case = CASES["hs_path_fixed_x"]
    ours = ours_for(case, npar=case["npar_free"] + 1)
    with pytest.raises(AssertionError, match="df: ours 3.0 lavaan 4"):
        CheckFitMeasures.compare(ours, case["fit_measures"], lavaan_keys(case, ours))
    for key in ("aic", "bic", "cfi", "tli", "rmsea", "rmsea.pvalue"):
        with pytest.raises(AssertionError):
            CheckFitMeasures.compare(ours, case["fit_measures"], [key])


def test_comparison_fails_without_exo_flags_as_semopy() -> None:
    # semopy counts the covariates' moments as data: df too high by q(q+1)/2 = 3, and a
    # baseline that zeroes their covariance: CFI/TLI/RMSEA wrong, chisq itself right
    case = CASES["hs_path_fixed_x"]
    groups = [
        GroupMoments(
            n=g.n, sample_cov=g.sample_cov, implied_cov=g.implied_cov, sample_mean=g.sample_mean
        )
        for g in groups_of(case)
    ]
    ours = fit_measures(groups, npar=case["npar_free"], meanstructure=False)
    lavaan = case["fit_measures"]
    assert ours["df"] == lavaan["df"] + 3
    assert ours["chisq"] == pytest.approx(lavaan["chisq"], rel=1e-10)
    for key in ("df", "cfi", "tli", "rmsea", "baseline.chisq", "logl"):
        with pytest.raises(AssertionError):
            CheckFitMeasures.compare(ours, lavaan, [key])


def test_comparison_fails_with_wrong_moments() -> None:
    case = CASES["hs_cfa"]
    groups = groups_of(case)
    g = groups[0]
    wrong = GroupMoments(
        n=g.n, sample_cov=g.sample_cov * 1.01, implied_cov=g.implied_cov, exo=g.exo
    )
    ours = fit_measures([wrong], npar=case["npar_free"], meanstructure=False)
    for key in ("chisq", "srmr", "gfi", "logl", "unrestricted.logl"):
        with pytest.raises(AssertionError):
            CheckFitMeasures.compare(ours, case["fit_measures"], [key])


def test_loader_maps_na_and_keeps_provenance() -> None:
    assert REF["source"] == "external"
    assert REF["lavaan_version"] == "0.6.14"
    saturated = CASES["hs_saturated"]["fit_measures"]
    assert math.isnan(saturated["pvalue"]) and math.isnan(saturated["rmsea.pvalue"])
    assert saturated["df"] == 0
    assert CASES["pd_labels"]["fit_measures"]["chisq"] == pytest.approx(40.1794895, rel=1e-8)
    first = REF["lrt"]["pd_three_models"]["table"][0]
    assert math.isnan(first["pvalue"]) and first["model"] == "pd_free"
    for case in CASES.values():
        for g in case["groups"]:
            p = len(g["ov_names"])
            assert np.array(g["sample_cov"]).shape == (p, p) == np.array(g["implied_cov"]).shape
            assert len(g["exo"]) == p


# ------------------------------------------------------------ direct formulas


def test_saturated_model_conventions() -> None:
    ours = ours_for(CASES["hs_saturated"])
    assert ours["df"] == 0 and ours["chisq"] == pytest.approx(0, abs=1e-10)
    assert ours["cfi"] == 1 and ours["tli"] == 1 and ours["rmsea"] == 0
    assert (ours["rmsea_ci_lower"], ours["rmsea_ci_upper"]) == (0.0, 0.0)
    assert math.isnan(ours["pvalue"]) and math.isnan(ours["cn_05"])


def test_rmsea_multigroup_scaling() -> None:
    one = rmsea(100.0, 40, 500, n_groups=1)
    assert rmsea(100.0, 40, 500, n_groups=2) == pytest.approx(one * math.sqrt(2))
    assert rmsea(30.0, 40, 500) == 0.0
    lo1, hi1 = rmsea_ci(100.0, 40, 500)
    lo2, hi2 = rmsea_ci(100.0, 40, 500, n_groups=2)
    assert (lo2, hi2) == pytest.approx((lo1 * math.sqrt(2), hi1 * math.sqrt(2)))


def test_rmsea_ci_brackets_point_estimate() -> None:
    lo, hi = rmsea_ci(85.3055, 24, 301)
    assert lo < rmsea(85.3055, 24, 301) < hi


# --------------------------------------------------------------------- errors


def test_group_moments_validation() -> None:
    eye = np.eye(2)
    with pytest.raises(DataError, match="square"):
        GroupMoments(n=10, sample_cov=np.ones((2, 3)), implied_cov=eye)
    with pytest.raises(DataError, match="not positive definite"):
        GroupMoments(n=10, sample_cov=np.ones((2, 2)), implied_cov=eye)
    with pytest.raises(SpecificationError, match="implied_cov= is not positive definite"):
        GroupMoments(n=10, sample_cov=eye, implied_cov=np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(DataError, match="exo="):
        GroupMoments(n=10, sample_cov=eye, implied_cov=eye, exo=np.array([1, 0]))
    with pytest.raises(DataError, match="n= must be a positive integer"):
        GroupMoments(n=0, sample_cov=eye, implied_cov=eye)
    with pytest.raises(DataError, match="not symmetric"):
        GroupMoments(n=5, sample_cov=np.array([[1.0, 0.1], [0.2, 1.0]]), implied_cov=eye)
    g = GroupMoments(n=5, sample_cov=eye, implied_cov=eye)
    with pytest.raises(AttributeError):
        g.n = 6  # type: ignore[misc]
    assert not g.sample_cov.flags.writeable


def test_meanstructure_needs_means() -> None:
    g = GroupMoments(n=10, sample_cov=np.eye(2), implied_cov=np.eye(2))
    with pytest.raises(SpecificationError, match="meanstructure=True needs"):
        fit_measures([g], npar=1, meanstructure=True)
    gm = GroupMoments(
        n=10,
        sample_cov=np.eye(2),
        implied_cov=np.eye(2),
        sample_mean=np.zeros(2),
        implied_mean=np.zeros(2),
    )
    with pytest.raises(SpecificationError, match="meanstructure=False"):
        fit_measures([gm], npar=1, meanstructure=False)


def test_fixed_x_requires_sample_moments_for_covariates() -> None:
    s = np.array([[1.0, 0.3], [0.3, 1.0]])
    g = GroupMoments(n=50, sample_cov=s, implied_cov=np.eye(2), exo=np.array([True, True]))
    with pytest.raises(SpecificationError, match="fixed_x=True"):
        fit_measures([g], npar=0, meanstructure=False)


def test_count_errors() -> None:
    g = GroupMoments(n=10, sample_cov=np.eye(2), implied_cov=np.eye(2))
    with pytest.raises(SpecificationError, match="not identified"):
        fit_measures([g], npar=4, meanstructure=False)
    with pytest.raises(SpecificationError, match="n_eq_constraints"):
        fit_measures([g], npar=1, n_eq_constraints=2, meanstructure=False)
    with pytest.raises(SpecificationError, match="empty"):
        fit_measures([], npar=1, meanstructure=False)
    with pytest.raises(SpecificationError, match="level="):
        fit_measures([g], npar=1, meanstructure=False, level=1.5)
    with pytest.raises(SpecificationError, match="n_exogenous"):
        data_points([3], [4], meanstructure=False)
    with pytest.raises(SpecificationError, match="finite"):
        fit_measures_from_loglik(
            logl=math.nan, unrestricted_logl=0.0, baseline_logl=0.0, n=[10], n_observed=[2],
            npar=1, meanstructure=False,
        )  # fmt: skip


# ----------------------------------------------------------------- invariants


@st.composite
def moment_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    s = a @ a.T / p + 0.5 * np.eye(p)
    b = rng.normal(size=(p, p))
    sigma = b @ b.T / p + 0.5 * np.eye(p)
    perm = rng.permutation(p)
    return s, sigma, perm


@settings(max_examples=40, deadline=None)
@given(moment_pairs(), st.integers(20, 500))
def test_chisq_is_twice_loglik_difference(
    pair: tuple[np.ndarray, np.ndarray, np.ndarray], n: int
) -> None:
    s, sigma, _ = pair
    g = GroupMoments(n=n, sample_cov=s, implied_cov=sigma)
    chisq = chisq_from_fmin(ml_fmin([g], meanstructure=False), n)
    llr = 2 * (unrestricted_loglik([g]) - model_loglik([g], meanstructure=False))
    assert chisq == pytest.approx(llr, rel=1e-8, abs=1e-8)
    assert chisq >= -1e-10


@settings(max_examples=40, deadline=None)
@given(moment_pairs(), st.integers(20, 500))
def test_measures_do_not_depend_on_variable_order(
    pair: tuple[np.ndarray, np.ndarray, np.ndarray], n: int
) -> None:
    s, sigma, perm = pair
    p = s.shape[0]
    exo = np.zeros(p, dtype=bool)
    exo[0] = True
    d = np.ones(p)
    d[0] = math.sqrt(s[0, 0] / sigma[0, 0])
    sigma = sigma * np.outer(d, d)  # one fixed.x covariate at its sample variance
    g1 = GroupMoments(n=n, sample_cov=s, implied_cov=sigma, exo=exo)
    g2 = GroupMoments(
        n=n, sample_cov=s[np.ix_(perm, perm)], implied_cov=sigma[np.ix_(perm, perm)], exo=exo[perm]
    )
    npar = p * (p + 1) // 2 - 1 - 1  # df = 1 whatever p
    a = fit_measures([g1], npar=npar, meanstructure=False)
    b = fit_measures([g2], npar=npar, meanstructure=False)
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-8, abs=1e-10, nan_ok=True), key


@settings(max_examples=25, deadline=None)
@given(moment_pairs(), st.integers(20, 500))
def test_saturated_fit_is_perfect(pair: tuple[np.ndarray, np.ndarray, np.ndarray], n: int) -> None:
    s, _, _ = pair
    p = s.shape[0]
    g = GroupMoments(n=n, sample_cov=s, implied_cov=s)
    fm = fit_measures([g], npar=p * (p + 1) // 2, meanstructure=False)
    assert fm["chisq"] == pytest.approx(0, abs=1e-9)
    assert fm["srmr"] == pytest.approx(0, abs=1e-12) and fm["gfi"] == pytest.approx(1)
    assert fm["logl"] == pytest.approx(fm["unrestricted_logl"])
    assert fm["cfi"] == pytest.approx(1) and fm["rmsea"] == 0


@pytest.mark.parametrize("name", FIML)
def test_fiml_srmr_from_em_moments_matches_lavaan(name: str) -> None:
    # lavaan's SRMR under FIML compares the implied moments with the saturated (EM)
    # ones; the fixture stores those as the sample moments
    case = CASES[name]
    ours = ours_for(case)
    keys = ["rmr", "rmr_nomean", "srmr", "srmr_bentler", "srmr_bentler_nomean", "crmr",
            "crmr_nomean", "srmr_mplus", "srmr_mplus_nomean"]  # fmt: skip
    CheckFitMeasures.compare(ours, case["fit_measures"], keys)
    with pytest.raises(AssertionError):  # but the chi-square needs the FIML likelihood
        CheckFitMeasures.compare(ours, case["fit_measures"], ["chisq"])
