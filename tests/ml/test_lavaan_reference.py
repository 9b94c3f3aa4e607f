"""ML fits compared with lavaan 0.6-14 on the committed reference cases.

Each case is a tiny subclass of :class:`CheckResult`: ``res1`` is ours, ``res2`` is
lavaan's (``tests/reference/lavaan``), with a tolerance per quantity.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.exceptions import PathModelsWarning
from tests.reference.lavaan_cases import LavaanCase, load_case

FIT_KEYS = {
    "chisq": "chisq",
    "df": "df",
    "pvalue": "pvalue",
    "cfi": "cfi",
    "tli": "tli",
    "rmsea": "rmsea",
    "rmsea_ci_lower": "rmsea.ci.lower",
    "rmsea_ci_upper": "rmsea.ci.upper",
    "srmr": "srmr",
    "aic": "aic",
    "bic": "bic",
    "loglik": "logl",
    "npar": "npar",
    "baseline_chisq": "baseline.chisq",
    "baseline_df": "baseline.df",
    "unrestricted_logl": "unrestricted.logl",
}


def fit_case(case: LavaanCase, **extra: Any) -> pm.Result:
    """Fit a reference case the way its lavaan call did."""
    opts = case.options
    auto = not case.call.startswith("lavaan(")
    spec = pm.Spec.from_syntax(case.syntax, name=case.name, auto=auto)
    kwargs: dict[str, Any] = {
        "group": opts.get("group") or None,
        "group_equal": tuple(opts.get("group.equal") or ()),
        "missing": "fiml" if opts.get("missing") == "ml" else "listwise",
        "meanstructure": bool(opts.get("meanstructure")),
    }
    kwargs.update(extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PathModelsWarning)
        return pm.fit(spec, case.data, **kwargs)


def merged(ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    ref = ref[ref["op"].isin(["=~", "~", "~~", "~1", ":="])].copy()
    ours = ours.copy()
    ref["rhs"] = ref["rhs"].fillna("").astype(str)
    # lavaan prints := right-hand sides without spaces; match :: rows on lhs only.
    ours.loc[ours["op"] == ":=", "rhs"] = ""
    ref.loc[ref["op"] == ":=", "rhs"] = ""
    ours.loc[ours["op"] == ":=", "group"] = 0
    ref.loc[ref["op"] == ":=", "group"] = 0
    # ~~ may be written in either order.
    for frame in (ours, ref):
        swap = (frame["op"] == "~~") & (frame["lhs"] > frame["rhs"])
        frame.loc[swap, ["lhs", "rhs"]] = frame.loc[swap, ["rhs", "lhs"]].to_numpy()
    keys = ["lhs", "op", "rhs", "group"]
    out = ours.merge(ref, on=keys, suffixes=("", "_ref"), how="outer", indicator=True)
    return out


class CheckResult:
    """Comparisons of one fit with lavaan, at class-attribute tolerances."""

    case_name: ClassVar[str]
    rtol_est: ClassVar[float] = 1e-4
    atol_est: ClassVar[float] = 2e-5
    rtol_se: ClassVar[float] = 1e-3
    atol_se: ClassVar[float] = 2e-5
    rtol_fit: ClassVar[float] = 1e-4
    atol_fit: ClassVar[float] = 1e-5
    rtol_std: ClassVar[float] = 1e-3
    fit_extra: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def pair(cls) -> tuple[pm.Result, LavaanCase]:
        case = load_case(cls.case_name)
        return fit_case(case, **cls.fit_extra), case

    def test_same_parameters(self, pair: tuple[pm.Result, LavaanCase]) -> None:
        res1, res2 = pair
        m = merged(res1.estimates, res2.estimates)
        missing = m[m["_merge"] != "both"]
        assert missing.empty, (
            f"parameters differ from lavaan:\n{missing[['lhs', 'op', 'rhs', 'group', '_merge']]}"
        )

    def test_converged(self, pair: tuple[pm.Result, LavaanCase]) -> None:
        res1, res2 = pair
        assert res1.converged == bool(res2.converged)

    def test_estimates(self, pair: tuple[pm.Result, LavaanCase]) -> None:
        res1, res2 = pair
        m = merged(res1.estimates, res2.estimates)
        m = m[m["_merge"] == "both"]
        np.testing.assert_allclose(m["est"], m["est_ref"], rtol=self.rtol_est, atol=self.atol_est)

    def test_se(self, pair: tuple[pm.Result, LavaanCase]) -> None:
        res1, res2 = pair
        m = merged(res1.estimates, res2.estimates)
        m = m[(m["_merge"] == "both") & m["se_ref"].notna()]
        np.testing.assert_allclose(m["se"], m["se_ref"], rtol=self.rtol_se, atol=self.atol_se)

    def test_ci(self, pair: tuple[pm.Result, LavaanCase]) -> None:
        res1, res2 = pair
        m = merged(res1.estimates, res2.estimates)
        m = m[(m["_merge"] == "both") & m["ci_lower_ref"].notna()]
        np.testing.assert_allclose(m["ci_lower"], m["ci_lower_ref"], rtol=self.rtol_se, atol=1e-4)
        np.testing.assert_allclose(m["ci_upper"], m["ci_upper_ref"], rtol=self.rtol_se, atol=1e-4)

    def test_std_all(self, pair: tuple[pm.Result, LavaanCase]) -> None:
        res1, res2 = pair
        m = merged(res1.estimates, res2.estimates)
        m = m[(m["_merge"] == "both") & m["std_all_ref"].notna()]
        np.testing.assert_allclose(m["std_all"], m["std_all_ref"], rtol=self.rtol_std, atol=1e-5)

    def test_fit_measures(self, pair: tuple[pm.Result, LavaanCase]) -> None:
        res1, res2 = pair
        for ours, theirs in FIT_KEYS.items():
            ref = res2.fit.get(theirs, np.nan)
            if ref is None or not np.isfinite(ref):
                continue
            got = res1.fit_measures[ours]
            np.testing.assert_allclose(
                got, ref, rtol=self.rtol_fit, atol=self.atol_fit, err_msg=f"fit measure {ours}"
            )


class TestSimpleMediation(CheckResult):
    case_name = "simple_mediation"


class TestSimpleMediationMeans(CheckResult):
    case_name = "simple_mediation_means"


class TestParallelMediation(CheckResult):
    case_name = "parallel_mediation"


class TestSerialMediation(CheckResult):
    case_name = "serial_mediation"


class TestIPSChain(CheckResult):
    case_name = "ips_chain"


class TestCFA(CheckResult):
    case_name = "cfa_hs"


class TestPoliticalDemocracy(CheckResult):
    case_name = "sem_pd"


class TestEqualityConstraints(CheckResult):
    case_name = "equality_constraints"


class TestInequalityConstraint(CheckResult):
    case_name = "inequality_constraint"
    rtol_est = 1e-3  # SLSQP stops a little earlier than lavaan's nlminb on the active bound
    rtol_se = 5e-3


class TestModeratedMediation(CheckResult):
    case_name = "moderated_mediation"


class TestTwoGroupFree(CheckResult):
    case_name = "twogroup_mediation_free"


class TestTwoGroupEqual(CheckResult):
    case_name = "twogroup_mediation_equal"


class TestListwise(CheckResult):
    case_name = "fiml_mediation_listwise"


class TestCLPMFree(CheckResult):
    case_name = "clpm3_free"


class TestCLPMInvariant(CheckResult):
    case_name = "clpm3_invariant"


class TestRICLPM(CheckResult):
    case_name = "riclpm4"


class TestRICLPMListwise(CheckResult):
    case_name = "riclpm4_listwise"


class TestCLPMOnRICLPMData(CheckResult):
    case_name = "clpm_on_riclpm"


class TestRICLPMTrivariate(CheckResult):
    case_name = "riclpm3_trivariate"


class TestSemopyBackend(CheckResult):
    """semopy's optimiser with our post-processing gives lavaan's numbers too."""

    case_name = "ips_chain"
    fit_extra: ClassVar[dict[str, Any]] = {"backend": "semopy"}
    rtol_est = 1e-3  # semopy's SLSQP stops earlier than Fisher scoring
    rtol_fit = 1e-3


def test_compare_matches_lavaan_lrt() -> None:
    restricted = fit_case(load_case("equality_constraints"))
    free = fit_case(load_case("parallel_mediation"))
    lrt = load_case("equality_constraints").lrt
    assert lrt is not None
    table = pm.compare(restricted, free)
    ref = lrt["table"]
    ref_diff = ref["Chisq diff"].dropna().iloc[0]
    np.testing.assert_allclose(table["chisq_diff"].dropna().iloc[0], ref_diff, rtol=1e-4)
    np.testing.assert_allclose(
        table["pvalue"].dropna().iloc[0], ref["Pr(>Chisq)"].dropna().iloc[0], rtol=1e-4
    )
    assert int(table["df_diff"].dropna().iloc[0]) == int(ref["Df diff"].dropna().iloc[0])


def test_checks_fail_on_wrong_numbers() -> None:
    """The comparison helper is not vacuous: a perturbed estimate is caught."""
    case = load_case("simple_mediation")
    res = fit_case(case)
    wrong = res.estimates.copy()
    wrong.loc[0, "est"] *= 1.001
    m = merged(wrong, case.estimates)
    m = m[m["_merge"] == "both"]
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(
            m["est"], m["est_ref"], rtol=CheckResult.rtol_est, atol=CheckResult.atol_est
        )


class TestFimlMediation(CheckResult):
    case_name = "fiml_mediation"
    rtol_se = 2e-3  # observed information from differences of the analytic gradient


class TestRICLPMFiml(CheckResult):
    case_name = "riclpm4_fiml"
    rtol_se = 2e-3


# ---------------------------------------------------------------- resampling intervals
BOOT_CASES = ["simple_mediation", "parallel_mediation", "ips_chain", "moderated_mediation"]


def _defined(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["op"] == ":="].set_index("lhs")


@pytest.mark.parametrize("name", BOOT_CASES)
def test_bootstrap_matches_lavaan_within_monte_carlo_error(name: str) -> None:
    """Percentile and bias-corrected bootstrap CIs of := parameters, 2000 draws each.

    Two independent sets of 2000 draws give 2.5%/97.5% quantiles whose difference has a
    Monte Carlo SD of about 0.085 SE; we allow 0.35 SE (about 4 MC SD).
    """
    case = load_case(name)
    assert case.boot is not None
    ours = {}
    for ci in ("percentile", "bc"):
        res = fit_case(case, se="bootstrap", n_boot=2000, ci=ci, seed=11)
        ours[ci] = _defined(res.estimates)
        assert res.boot is not None and res.boot.n_draws == 2000
    for ci, key in (("percentile", "perc"), ("bc", "bca_simple")):
        ref = _defined(case.boot[key])
        mine = ours[ci].loc[ref.index]
        scale = ref["se"].to_numpy()
        np.testing.assert_array_less(np.abs(mine["ci_lower"] - ref["ci_lower"]), 0.35 * scale)
        np.testing.assert_array_less(np.abs(mine["ci_upper"] - ref["ci_upper"]), 0.35 * scale)
        np.testing.assert_allclose(mine["se"], ref["se"], rtol=0.1)


@pytest.mark.parametrize("name", BOOT_CASES)
def test_monte_carlo_ci_matches_semtools(name: str) -> None:
    """semTools::monteCarloCI with 20000 draws; the MC SD of a bound is ~0.02 SE."""
    case = load_case(name)
    assert case.mc is not None
    res = fit_case(case, ci="mc", n_mc=20000, seed=5)
    mine = _defined(res.estimates)
    ref = case.mc.set_index(case.mc.columns[0])
    se = mine.loc[ref.index, "se"].to_numpy()
    np.testing.assert_array_less(
        np.abs(mine.loc[ref.index, "ci_lower"] - ref["ci_lower"]), 0.1 * se
    )
    np.testing.assert_array_less(
        np.abs(mine.loc[ref.index, "ci_upper"] - ref["ci_upper"]), 0.1 * se
    )


def test_missing_patterns_and_coverage() -> None:
    case = load_case("riclpm4_fiml")
    res = fit_case(case)
    pats = res.missing_patterns()
    cols = [c for c in pats.columns if c != "n"]
    X = case.data[cols]
    assert pats["n"].sum() == len(X)
    # Each pattern's count equals the number of rows with exactly that pattern.
    for _, row in pats.iterrows():
        mask = np.all(X.notna().to_numpy() == row[cols].to_numpy(dtype=bool), axis=1)
        assert mask.sum() == row["n"]
    cov = res.coverage()
    both = X.notna().to_numpy().astype(float)
    np.testing.assert_allclose(cov.to_numpy(), both.T @ both / len(X), rtol=1e-6)
    assert "Missing-data patterns" in res.summary()


def test_two_group_lrt_matches_lavaan() -> None:
    equal = fit_case(load_case("twogroup_mediation_equal"))
    free = fit_case(load_case("twogroup_mediation_free"))
    lrt = load_case("twogroup_mediation_equal").lrt
    assert lrt is not None
    table = pm.compare(equal, free)
    ref = lrt["table"]
    np.testing.assert_allclose(
        table["chisq_diff"].dropna().iloc[0], ref["Chisq diff"].dropna().iloc[0], rtol=1e-4
    )
    np.testing.assert_allclose(
        table["pvalue"].dropna().iloc[0], ref["Pr(>Chisq)"].dropna().iloc[0], rtol=1e-4
    )


def test_effects_per_group_equal_defined_products() -> None:
    res = fit_case(load_case("twogroup_mediation_free"))
    eff = res.effects[res.effects["effect"] == "indirect"].set_index("group")
    est = res.estimates[res.estimates["op"] == ":="].set_index("lhs")
    np.testing.assert_allclose(eff.loc[1, "est"], est.loc["ind1", "est"], rtol=1e-10)
    np.testing.assert_allclose(eff.loc[2, "est"], est.loc["ind2", "est"], rtol=1e-10)
    np.testing.assert_allclose(eff.loc[1, "se"], est.loc["ind1", "se"], rtol=1e-6)
