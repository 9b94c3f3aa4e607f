"""Posterior summaries against lavaan's ML fits (N >= 500, weak default priors).

With weak priors and large N the posterior is close to normal around the ML estimate with
SD equal to the ML standard error (Bernstein-von Mises). Criteria: every posterior mean
within 2 posterior SD of lavaan's estimate, every posterior SD within 15% of lavaan's SE
(Monte Carlo error of an SD with ESS ~ 1000 is ~2%). The FIML fixture (N = 300) checks
missing data handled inside the model against lavaan's FIML.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.exceptions import PathModelsWarning
from tests.ml.test_lavaan_reference import merged
from tests.reference.lavaan_cases import LavaanCase, load_case


def fit_case_bayes(case: LavaanCase, **extra: Any) -> pm.BayesResult:
    opts = case.options
    spec = pm.Spec.from_syntax(case.syntax, name=case.name,
                               auto=not case.call.startswith("lavaan("))
    kwargs: dict[str, Any] = {
        "group": opts.get("group") or None,
        "missing": "fiml" if opts.get("missing") == "ml" else "listwise",
        "meanstructure": bool(opts.get("meanstructure")),
        "backend": "pymc", "seed": 20261125,
    }
    kwargs.update(extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PathModelsWarning)
        return pm.fit(spec, case.data, **kwargs)


def agreement(ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """Rows of both tables with free parameters: z distance and SD/SE ratio."""
    m = merged(ours, ref)
    missing = m[m["_merge"] != "both"]
    assert missing.empty, f"parameters differ from lavaan:\n{missing}"
    m = m[m["se_ref"] > 0].copy()
    m["z_dist"] = (m["est"] - m["est_ref"]) / m["se"]
    m["sd_ratio"] = m["se"] / m["se_ref"]
    return m


def check_agreement(ours: pd.DataFrame, ref: pd.DataFrame, *, z_max: float = 2.0,
                    ratio_tol: float = 0.15) -> pd.DataFrame:
    m = agreement(ours, ref)
    bad = m[(m["z_dist"].abs() > z_max) | ((m["sd_ratio"] - 1).abs() > ratio_tol)]
    assert bad.empty, "posterior disagrees with lavaan:\n" + bad[
        ["lhs", "op", "rhs", "group", "est", "est_ref", "se", "se_ref", "z_dist",
         "sd_ratio"]].to_string()
    return m


class CheckBayesVsLavaan:
    case_name: ClassVar[str]
    fit_extra: ClassVar[dict[str, Any]] = {"draws": 1000, "tune": 1000, "chains": 2}

    @pytest.fixture(scope="class")
    @classmethod
    def pair(cls) -> tuple[pm.BayesResult, LavaanCase]:
        case = load_case(cls.case_name)
        return fit_case_bayes(case, **cls.fit_extra), case

    def test_converged(self, pair: tuple[pm.BayesResult, LavaanCase]) -> None:
        res, _ = pair
        assert res.diagnostics["divergences"] == 0
        assert res.diagnostics["max_r_hat"] < 1.02

    def test_means_and_sds(self, pair: tuple[pm.BayesResult, LavaanCase]) -> None:
        res, case = pair
        m = check_agreement(res.estimates, case.estimates)
        assert len(m) >= 5

    def test_effects_against_defined(self, pair: tuple[pm.BayesResult, LavaanCase]) -> None:
        res, case = pair
        ref = case.estimates[case.estimates["op"] == ":="]
        for _, r in ref.iterrows():
            ours = res.estimates[(res.estimates["op"] == ":=") & (res.estimates["lhs"] == r["lhs"])]
            assert abs(float(ours["est"].iloc[0]) - r["est"]) < 2 * float(ours["se"].iloc[0])


class TestIPSChain(CheckBayesVsLavaan):
    case_name = "ips_chain"


class TestFIMLMediation(CheckBayesVsLavaan):
    """Missing m and y (MAR) integrated out in the model vs lavaan's FIML (N = 300)."""

    case_name = "fiml_mediation"


@pytest.mark.slow
class TestRICLPM(CheckBayesVsLavaan):
    case_name = "riclpm4"


@pytest.mark.slow
class TestTwoGroup(CheckBayesVsLavaan):
    case_name = "twogroup_mediation_free"


@pytest.mark.slow
def test_riclpm_with_nutpie() -> None:
    pytest.importorskip("nutpie")
    case = load_case("riclpm4")
    res = fit_case_bayes(case, draws=1000, tune=1000, chains=2, sampler="nutpie")
    check_agreement(res.estimates, case.estimates)


def test_check_fails_on_wrong_numbers() -> None:
    """The comparison is not vacuous: shifted means or scaled SDs fail it."""
    case = load_case("ips_chain")
    ref = case.estimates
    ours = ref[ref["op"].isin(["~", "~~", ":="])][["lhs", "op", "rhs", "group", "label", "est",
                                                   "se"]].copy()
    ours["label"] = ours["label"].fillna("")
    check_agreement(ours, ref)  # lavaan against itself passes
    shifted = ours.copy()
    shifted.loc[shifted.index[0], "est"] += 2.5 * shifted.loc[shifted.index[0], "se"]
    with pytest.raises(AssertionError, match="disagrees"):
        check_agreement(shifted, ref)
    wide = ours.copy()
    wide["se"] *= 1.2
    with pytest.raises(AssertionError, match="disagrees"):
        check_agreement(wide, ref)


def test_fiml_beats_listwise_against_lavaan_fiml() -> None:
    """Listwise deletion on the FIML fixture is further from lavaan's FIML than ours."""
    case = load_case("fiml_mediation")
    full = fit_case_bayes(case, draws=500, tune=500, chains=2)
    listwise = fit_case_bayes(case, draws=500, tune=500, chains=2, missing="listwise")
    d_full = agreement(full.estimates, case.estimates)
    d_list = agreement(listwise.estimates[listwise.estimates["op"] != "~1"],
                       case.estimates[case.estimates["op"] != "~1"])
    assert full.fit_measures["n"] == 300 and listwise.fit_measures["n"] < 300
    assert np.abs(d_full["z_dist"]).max() < np.abs(d_list["z_dist"]).max()
