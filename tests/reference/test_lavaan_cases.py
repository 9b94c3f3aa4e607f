"""Tests of the lavaan reference fixtures and their loader.

These check that the fixtures are internally consistent (so a corrupted or
hand-edited file, or a loader bug, is caught) -- not pathmodels itself.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

try:
    from tests.reference.lavaan_cases import (
        CASES_DIR,
        ESTIMATE_COLUMNS,
        PARTABLE_COLUMNS,
        LavaanCase,
        list_cases,
        load_case,
    )
except (
    ModuleNotFoundError
):  # plain `pytest` with --import-mode=importlib: repo root not on sys.path
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.reference.lavaan_cases import (
        CASES_DIR,
        ESTIMATE_COLUMNS,
        PARTABLE_COLUMNS,
        LavaanCase,
        list_cases,
        load_case,
    )

EXPECTED_CASES = {
    "simple_mediation",
    "simple_mediation_means",
    "parallel_mediation",
    "serial_mediation",
    "ips_chain",
    "cfa_hs",
    "sem_pd",
    "equality_constraints",
    "inequality_constraint",
    "moderated_mediation",
    "fiml_mediation",
    "fiml_mediation_listwise",
    "clpm3_free",
    "clpm3_invariant",
    "riclpm4",
    "riclpm4_fiml",
    "riclpm4_listwise",
    "clpm_on_riclpm",
    "twogroup_mediation_free",
    "twogroup_mediation_equal",
    "riclpm3_trivariate",
}
BOOT_CASES = {"simple_mediation", "parallel_mediation", "ips_chain", "moderated_mediation"}
LRT_CASES = {
    "equality_constraints": "parallel_mediation",
    "clpm3_invariant": "clpm3_free",
    "clpm_on_riclpm": "riclpm4",
    "twogroup_mediation_equal": "twogroup_mediation_free",
}
Z975 = stats.norm.ppf(0.975)  # 1.959963984540054

CASES = list_cases()


@pytest.fixture(scope="module", params=CASES)
def case(request) -> LavaanCase:
    return load_case(request.param)


def _se_rows(est: pd.DataFrame) -> pd.DataFrame:
    """Rows with a usable standard error (free and defined parameters)."""
    return est[est["se"].notna() & (est["se"] > 0)]


# ----------------------------------------------------------------- listing


def test_list_cases_is_the_documented_set():
    assert set(CASES) == EXPECTED_CASES
    assert CASES == sorted(CASES)


def test_every_case_has_its_data_file():
    for name in CASES:
        assert (CASES_DIR / "data" / f"{name}.csv").is_file(), name


def test_unknown_case_raises_keyerror_listing_valid_cases():
    with pytest.raises(KeyError) as err:
        load_case("no_such_case")
    msg = str(err.value)
    assert "no_such_case" in msg
    assert "simple_mediation" in msg and "riclpm4" in msg


def test_path_like_names_are_rejected():
    with pytest.raises(KeyError):
        load_case("../lavaan/simple_mediation")


# --------------------------------------------------------------- structure


def test_case_metadata(case):
    assert case.kind == "external"
    assert case.lavaan_version == "0.6.14"
    assert case.R_version.startswith("R version")
    assert case.converged is True
    assert case.data_file == f"data/{case.name}.csv"
    assert case.syntax.strip()
    assert re.match(r"^(sem|cfa|lavaan)\(model, data = data", case.call)
    assert case.timing["fit_seconds_median"] > 0
    assert case.timing["n_repeats"] == 20


def test_estimate_and_partable_columns(case):
    assert list(case.estimates.columns[: len(ESTIMATE_COLUMNS)]) == ESTIMATE_COLUMNS
    assert list(case.partable.columns[: len(PARTABLE_COLUMNS)]) == PARTABLE_COLUMNS
    est = case.estimates
    # labels are strings, never NaN
    assert est["label"].map(type).eq(str).all()
    assert case.partable["label"].map(type).eq(str).all()
    # group numbers are 1-based ints; 0 for := and constraint rows
    assert est["group"].dtype == np.int64
    nogroup = est["op"].isin([":=", "==", "<", ">"])
    assert (est.loc[nogroup, "group"] == 0).all()
    assert est.loc[~nogroup, "group"].min() == 1
    assert est["group"].max() == case.n_groups
    assert (est["block"] == est["group"]).all()
    # null -> NaN: R^2 rows have no standard error
    r2 = est[est["op"] == "r2"]
    assert len(r2) > 0
    assert r2["se"].isna().all() and r2["est"].between(0, 1).all()


def test_pvalue_is_two_sided_normal_p_of_z(case):
    rows = _se_rows(case.estimates)
    assert len(rows) > 0
    np.testing.assert_allclose(rows["z"], rows["est"] / rows["se"], rtol=1e-8)
    expected = 2 * stats.norm.sf(np.abs(rows["z"]))
    np.testing.assert_allclose(rows["pvalue"], expected, rtol=1e-6, atol=1e-14)
    assert rows["pvalue"].between(0, 1).all()


def test_wald_ci_is_est_plus_minus_1_96_se(case):
    est = case.estimates
    rows = _se_rows(est)
    np.testing.assert_allclose(
        rows["ci_lower"], rows["est"] - Z975 * rows["se"], rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        rows["ci_upper"], rows["est"] + Z975 * rows["se"], rtol=1e-9, atol=1e-12
    )
    fixed = est[(est["se"] == 0)]
    np.testing.assert_allclose(fixed["ci_lower"], fixed["est"])
    np.testing.assert_allclose(fixed["ci_upper"], fixed["est"])


def test_estimates_agree_with_partable(case):
    pt = case.partable
    est = case.estimates
    model_rows = pt[pt["op"].isin(["=~", "~", "~~", "~1", ":="])]
    key = ["lhs", "op", "rhs", "group"]
    merged = model_rows.merge(est, on=key, suffixes=("_pt", "_pe"), validate="one_to_one")
    assert len(merged) == len(model_rows)
    np.testing.assert_allclose(merged["est_pt"], merged["est_pe"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(merged["se_pt"], merged["se_pe"], rtol=1e-12, atol=1e-15)


def test_vcov_matches_partable_standard_errors(case):
    v = case.vcov
    assert list(v.index) == list(v.columns)
    m = v.to_numpy()
    scale = np.abs(np.diag(m)).max()
    np.testing.assert_allclose(m, m.T, atol=1e-12 * scale)
    free = case.partable[case.partable["free"] > 0].sort_values("free")
    assert len(v) == free["free"].max() == len(free)
    np.testing.assert_allclose(
        np.sqrt(np.clip(np.diag(m), 0, None)), free["se"], rtol=1e-8, atol=1e-12
    )


def test_fit_measures_are_present_and_consistent(case):
    fit = case.fit
    for key in (
        "chisq",
        "df",
        "pvalue",
        "cfi",
        "tli",
        "rmsea",
        "srmr",
        "aic",
        "bic",
        "logl",
        "unrestricted.logl",
        "npar",
        "ntotal",
    ):
        assert key in fit, key
    for key in ("chisq", "df", "cfi", "rmsea", "srmr", "aic", "bic", "logl", "npar"):
        assert math.isfinite(fit[key]), key
    assert fit["chisq"] >= -1e-8 and fit["df"] >= 0
    # likelihood-ratio chi-square, AIC and BIC from the log-likelihoods
    assert fit["chisq"] == pytest.approx(2 * (fit["unrestricted.logl"] - fit["logl"]), abs=1e-6)
    assert fit["aic"] == pytest.approx(-2 * fit["logl"] + 2 * fit["npar"], rel=1e-12)
    assert fit["bic"] == pytest.approx(
        -2 * fit["logl"] + fit["npar"] * math.log(fit["ntotal"]), rel=1e-12
    )
    if fit["df"] > 0:
        assert fit["pvalue"] == pytest.approx(stats.chi2.sf(fit["chisq"], fit["df"]), rel=1e-8)
    assert fit["ntotal"] == sum(case.nobs) if isinstance(case.nobs, list) else case.nobs


# -------------------------------------------------------------------- data


def test_csv_has_n_rows(case):
    data = case.data
    if case.n_groups == 1:
        assert isinstance(case.n, int)
        assert len(data) == case.n
        assert case.options["group"] is None
    else:
        group_var = case.options["group"]
        counts = data[group_var].value_counts()
        assert [int(counts[g]) for g in case.group_labels] == case.n
        assert len(data) == sum(case.n)


def test_nobs_matches_missing_data_handling(case):
    obs = case.observed
    assert set(obs) <= set(case.data.columns)
    complete = int(case.data[obs].notna().all(axis=1).sum())
    n_total = case.n if isinstance(case.n, int) else sum(case.n)
    nobs_total = case.nobs if isinstance(case.nobs, int) else sum(case.nobs)
    if case.options["missing"] == "ml":
        assert complete < n_total  # there really is missing data
        assert nobs_total == n_total
        assert case.options["meanstructure"] is True
    else:
        assert nobs_total == complete


def test_sample_statistics_are_those_of_the_csv(case):
    """lavaan's sample moments (N divisor) equal the CSV's: R fitted this file."""
    if case.options["missing"] == "ml":
        pytest.skip("FIML sample statistics are EM estimates")
    groups = (
        [(None, case.data)]
        if case.n_groups == 1
        else [(g, case.data[case.data[case.options["group"]] == g]) for g in case.group_labels]
    )
    for (label, df), ss in zip(groups, case.sampstat, strict=True):
        if label is not None:
            assert ss["group_label"] == label
        cov = ss["cov"]
        names = list(cov.index)
        x = df[names].dropna().to_numpy(dtype=float)
        np.testing.assert_allclose(
            cov.to_numpy(), np.cov(x, rowvar=False, ddof=0), rtol=1e-9, atol=1e-12
        )
        if "mean" in ss:
            np.testing.assert_allclose(
                ss["mean"][names].to_numpy(), x.mean(axis=0), rtol=1e-9, atol=1e-12
            )


def test_implied_moments_shape(case):
    assert len(case.implied) == case.n_groups == len(case.sampstat)
    for imp in case.implied:
        cov = imp["cov"]
        assert list(cov.index) == list(cov.columns)
        np.testing.assert_allclose(cov.to_numpy(), cov.to_numpy().T, atol=1e-12)
        assert np.linalg.eigvalsh(cov.to_numpy()).min() > 0
        assert ("mean" in imp) == bool(case.options["meanstructure"])


# ---------------------------------------------------- bootstrap, MC, LRT


def test_bootstrap_only_where_requested(case):
    assert (case.boot is not None) == (case.name in BOOT_CASES)
    assert (case.mc is not None) == (case.name in BOOT_CASES)
    assert (case.lrt is not None) == (case.name in LRT_CASES)


@pytest.mark.parametrize("name", sorted(BOOT_CASES))
def test_bootstrap_section(name):
    case = load_case(name)
    boot = case.boot
    assert boot["n_boot"] == 2000 and boot["iseed"] == 2024
    assert boot["n_failed"] == 0 and boot["n_rows"] == 2000
    assert boot["seconds"] > 0
    assert 'se = "bootstrap", bootstrap = 2000L, iseed = 2024L' in boot["call"]
    main = case.estimates[case.estimates["op"] != "r2"]
    defined = set(main.loc[main["op"] == ":=", "lhs"])
    assert defined
    for kind in ("perc", "bca_simple"):
        tab = boot[kind]
        assert list(tab.columns) == [
            "lhs",
            "op",
            "rhs",
            "label",
            "est",
            "se",
            "ci_lower",
            "ci_upper",
        ]
        # the point estimates of the bootstrap fit are the ML estimates
        merged = tab.merge(main, on=["lhs", "op", "rhs"], suffixes=("", "_ml"))
        assert len(merged) == len(tab) == len(main)
        np.testing.assert_allclose(merged["est"], merged["est_ml"], rtol=1e-10, atol=1e-14)
        free = merged[merged["se_ml"] > 0]
        assert (free["se"] > 0).all()
        assert (free["ci_lower"] < free["ci_upper"]).all()
        # bootstrap SEs are within a factor 1.5 of the delta-method SEs
        assert ((free["se"] / free["se_ml"]).between(1 / 1.5, 1.5)).all()
        assert defined <= set(tab.loc[tab["op"] == ":=", "lhs"])
    # percentile and BCa intervals are not the same numbers
    assert not np.allclose(boot["perc"]["ci_lower"], boot["bca_simple"]["ci_lower"])
    # Monte Carlo CIs for every defined parameter, containing the estimate
    mc = case.mc
    assert set(mc["name"]) == defined
    assert mc.attrs["n_rep"] == 20000
    d = main.set_index("lhs").loc[mc["name"]]
    np.testing.assert_allclose(mc["est"], d["est"], rtol=1e-10)
    assert ((mc["ci_lower"] < mc["est"]) & (mc["est"] < mc["ci_upper"])).all()


@pytest.mark.parametrize("name", sorted(LRT_CASES))
def test_lrt_section(name):
    case = load_case(name)
    lrt = case.lrt
    assert lrt["restricted"] == name and lrt["free"] == LRT_CASES[name]
    free = load_case(lrt["free"])
    table = lrt["table"]
    assert set(table.index) == {name, lrt["free"]}
    for model, fit in ((name, case.fit), (lrt["free"], free.fit)):
        assert table.loc[model, "Chisq"] == pytest.approx(fit["chisq"], abs=1e-8)
        assert table.loc[model, "Df"] == fit["df"]
        assert table.loc[model, "AIC"] == pytest.approx(fit["aic"], rel=1e-12)
    row = table.loc[name]
    assert row["Df diff"] == case.fit["df"] - free.fit["df"] > 0
    assert row["Chisq diff"] == pytest.approx(case.fit["chisq"] - free.fit["chisq"], abs=1e-8)
    assert row["Pr(>Chisq)"] == pytest.approx(
        stats.chi2.sf(row["Chisq diff"], row["Df diff"]), rel=1e-8
    )
    # same data on both sides
    pd.testing.assert_frame_equal(case.data, free.data)


# -------------------------------------------------------- specific cases


def test_options_reflect_the_call(case):
    opts = case.options
    assert opts["estimator"] == "ML"
    assert opts["se"] == "standard"
    expected_missing = re.search(r'missing = "(\w+)"', case.call)
    assert opts["missing"] == (expected_missing.group(1) if expected_missing else "listwise")
    # lavaan's default information matrix: observed with FIML, expected otherwise
    info = "observed" if opts["missing"] == "ml" else "expected"
    assert opts["information"][0] == info
    if "group = " in case.call:
        assert opts["group"] == re.search(r'group = "(\w+)"', case.call).group(1)
    if "meanstructure = TRUE" in case.call:
        assert opts["meanstructure"] is True


def test_moderated_mediation_probe_values():
    case = load_case("moderated_mediation")
    o = case.options
    w = case.data["w"]
    assert o["w_mean"] == pytest.approx(w.mean(), abs=1e-10)
    assert o["w_sd"] == pytest.approx(w.std(ddof=1), abs=1e-10)
    assert o["w_lo"] == pytest.approx(o["w_mean"] - o["w_sd"], abs=1e-9)
    assert o["w_hi"] == pytest.approx(o["w_mean"] + o["w_sd"], abs=1e-9)
    np.testing.assert_allclose(case.data["xw"], case.data["x"] * case.data["w"], atol=1e-12)
    est = case.estimates.set_index("lhs")
    a1 = est.loc["m"].query("rhs == 'x'")["est"].item()
    a3 = est.loc["m"].query("rhs == 'xw'")["est"].item()
    b = est.loc["y"].query("rhs == 'm'")["est"].item()
    for name, wv in (("ind_lo", o["w_lo"]), ("ind_mid", o["w_mid"]), ("ind_hi", o["w_hi"])):
        assert f"{wv:.10f}" in case.syntax
        assert est.loc[name, "est"] == pytest.approx((a1 + a3 * wv) * b, rel=1e-10)


def test_inequality_constraint_is_active():
    case = load_case("inequality_constraint")
    free = load_case("simple_mediation")
    est = case.estimates.set_index("label")
    assert free.estimates.set_index("label").loc["cp", "est"] < 0.2
    assert est.loc["cp", "est"] == pytest.approx(0.2, abs=1e-6)
    ineq = case.partable[case.partable["op"] == ">"]
    assert list(ineq[["lhs", "rhs"]].itertuples(index=False, name=None)) == [("cp", "0.2")]
    assert case.fit["chisq"] > 1  # the constraint costs fit


def test_equality_constraints_hold():
    case = load_case("equality_constraints")
    est = case.estimates
    reg = est[est["op"] == "~"].set_index(["lhs", "rhs"])["est"]
    assert reg[("m1", "x")] == pytest.approx(reg[("m2", "x")], abs=1e-6)
    assert reg[("y", "m1")] == pytest.approx(reg[("y", "m2")], rel=1e-12)


def test_group_equal_regressions_are_equal_across_groups():
    case = load_case("twogroup_mediation_equal")
    reg = case.estimates[case.estimates["op"] == "~"]
    g1 = reg[reg["group"] == 1].set_index(["lhs", "rhs"])["est"]
    g2 = reg[reg["group"] == 2].set_index(["lhs", "rhs"])["est"]
    np.testing.assert_allclose(g1.sort_index(), g2.sort_index(), rtol=1e-8)
    assert case.options["group.equal"] == ["regressions"]
    assert case.group_labels == ["A", "B"]


def test_defined_parameters_are_functions_of_estimates():
    case = load_case("serial_mediation")
    e = case.estimates.set_index("label")["est"]
    assert e["ind3"] == pytest.approx(e["a1"] * e["d21"] * e["b2"], rel=1e-12)
    assert e["total"] == pytest.approx(e["cp"] + e["ind1"] + e["ind2"] + e["ind3"], rel=1e-12)
