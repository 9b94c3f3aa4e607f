"""Tests of the cohort simulator (pathmodels.simulate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pathmodels.exceptions import DataError, SpecificationError
from pathmodels.simulate import (
    Attrition,
    Binary,
    MomentSampler,
    Sites,
    compile_population,
    infer_waves,
    simulate,
)

# ------------------------------------------------------------------ lavaan reference
# Implied covariances of lavaan 0.6.14's simulateData (external reference), made by:
#
#   cases <- list(mediation = "m ~ 0.4*x\ny ~ 0.3*m + 0.2*x",
#                 cfa = "f =~ 0.8*x1 + 0.7*x2 + 0.6*x3\ny ~ 0.5*f",
#                 defaults = "f =~ x1 + x2 + x3\ny ~ 0.5*f + z\nz ~~ 2*z")
#   d <- simulateData(cases[[nm]], sample.nobs = 10L, seed = 1, standardized = std,
#                     return.fit = TRUE)
#   lavInspect(attr(d, "fit"), "implied")$cov
LAVAAN_IMPLIED = {
    ("mediation", False): (
        ["m", "y", "x"],
        [[1.16, 0.428, 0.4], [0.428, 1.1924, 0.32], [0.4, 0.32, 1]],
    ),
    ("mediation", True): (["m", "y", "x"], [[1, 0.38, 0.4], [0.38, 1.0756, 0.32], [0.4, 0.32, 1]]),
    ("cfa", False): (
        ["x1", "x2", "x3", "y"],
        [
            [1.64, 0.56, 0.48, 0.4],
            [0.56, 1.49, 0.42, 0.35],
            [0.48, 0.42, 1.36, 0.3],
            [0.4, 0.35, 0.3, 1.25],
        ],
    ),
    ("cfa", True): (
        ["x1", "x2", "x3", "y"],
        [[1, 0.56, 0.48, 0.4], [0.56, 1, 0.42, 0.35], [0.48, 0.42, 1, 0.3], [0.4, 0.35, 0.3, 1]],
    ),
    ("defaults", False): (
        ["x1", "x2", "x3", "y", "z"],
        [
            [2, 1, 1, 0.5, 0],
            [1, 2, 1, 0.5, 0],
            [1, 1, 2, 0.5, 0],
            [0.5, 0.5, 0.5, 1.25, 0],
            [0, 0, 0, 0, 2],
        ],
    ),
}
CASES = {
    "mediation": "m ~ 0.4*x\ny ~ 0.3*m + 0.2*x",
    "cfa": "f =~ 0.8*x1 + 0.7*x2 + 0.6*x3\ny ~ 0.5*f",
    "defaults": "f =~ x1 + x2 + x3\ny ~ 0.5*f + z\nz ~~ 2*z",
}


def implied(syntax: str, standardized: bool = False) -> pd.DataFrame:
    pop = compile_population(syntax, standardized=standardized)
    _, cov = pop.moments()
    return pd.DataFrame(cov, index=pop.observed, columns=pop.observed)


@pytest.mark.parametrize("case,std", [k for k in LAVAAN_IMPLIED if k != ("mediation", True)])
def test_implied_covariance_equals_lavaan_simulatedata(case: str, std: bool) -> None:
    names, ref = LAVAAN_IMPLIED[(case, std)]
    ours = implied(CASES[case], std).loc[names, names].to_numpy()
    np.testing.assert_allclose(ours, np.array(ref), rtol=1e-12, atol=1e-12)


def test_standardized_chain_has_unit_variances_where_lavaan_does_not() -> None:
    # lavaan sets all residual variances in one pass, from an implied covariance computed
    # with every residual variance at 0, so y in a chain keeps variance 1.0756. pathmodels
    # solves for them jointly: every variance is exactly 1 (documented difference).
    ours = implied(CASES["mediation"], True)
    np.testing.assert_allclose(np.diag(ours), 1.0, atol=1e-12)
    names, ref = LAVAAN_IMPLIED[("mediation", True)]
    ref_frame = pd.DataFrame(ref, index=names, columns=names)
    assert ref_frame.loc["y", "y"] == pytest.approx(1.0756)
    # Where lavaan's pass is exact (x, m and their covariance) the two agree.
    np.testing.assert_allclose(
        ours.loc[["x", "m"], ["x", "m"]], ref_frame.loc[["x", "m"], ["x", "m"]], atol=1e-12
    )
    # The residual variances are the textbook ones: 1 - R².
    pop = compile_population(CASES["mediation"], standardized=True)
    m, y = pop.names.index("m"), pop.names.index("y")
    assert pop.S[m, m] == pytest.approx(1 - 0.4**2)
    r2_y = 0.3**2 + 0.2**2 + 2 * 0.3 * 0.2 * 0.4
    assert pop.S[y, y] == pytest.approx(1 - r2_y)


def test_standardized_keeps_residual_variances_written_in_the_syntax() -> None:
    pop = compile_population(
        "f =~ 1*x1 + 1*x2\nx1 ~~ 0*x1\nx2 ~~ 0.5*x2\ny ~ 0.4*x1", standardized=True
    )
    assert pop.S[pop.names.index("x1"), pop.names.index("x1")] == 0.0
    assert pop.S[pop.names.index("x2"), pop.names.index("x2")] == 0.5
    _, cov = pop.moments()
    assert cov[pop.observed.index("y"), pop.observed.index("y")] == pytest.approx(1.0)


# ------------------------------------------------------------------ sampling
def assert_sample_matches(
    frame: pd.DataFrame, mean: np.ndarray, cov: np.ndarray, z: float = 5.0
) -> None:
    """Sample moments within z standard errors of the population's (normal theory)."""
    X = frame.to_numpy(dtype=float)
    n = X.shape[0]
    se_mean = np.sqrt(np.diag(cov) / n)
    np.testing.assert_array_less(np.abs(X.mean(axis=0) - mean), z * se_mean)
    se_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n)
    np.testing.assert_array_less(np.abs(np.cov(X, rowvar=False) - cov), z * se_cov)


def test_large_sample_moments_match_population() -> None:
    pop = compile_population(CASES["cfa"])
    frame = simulate(CASES["cfa"], 50_000, seed=11)
    mean, cov = pop.moments()
    assert_sample_matches(frame[list(pop.observed)], mean, cov)


def test_moment_check_rejects_a_wrong_population() -> None:
    frame = simulate(CASES["cfa"], 50_000, seed=11)
    pop = compile_population(CASES["cfa"].replace("0.5*f", "0.6*f"))
    mean, cov = pop.moments()
    with pytest.raises(AssertionError):
        assert_sample_matches(frame[list(pop.observed)], mean, cov)


def test_same_seed_same_data_and_no_global_state() -> None:
    state = np.random.get_state()[1].copy()
    a = simulate(CASES["mediation"], 50, seed=3)
    b = simulate(CASES["mediation"], 50, seed=3)
    c = simulate(CASES["mediation"], 50, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    assert a.attrs["seed"] == 3
    ss = np.random.SeedSequence(3)
    pd.testing.assert_frame_equal(simulate(CASES["mediation"], 50, seed=ss), a)


def test_columns_in_lavaan_order_and_attrs() -> None:
    frame = simulate("m ~ 0.4*x\ny ~ 0.3*m", 10, seed=1)
    assert list(frame.columns) == ["m", "y", "x"]
    assert "m ~ 0.4*x" in frame.attrs["population"]
    assert "y ~~ 1*y" in frame.attrs["population"]


def test_callable_population_takes_waves() -> None:
    def chain(waves: int) -> str:
        return "\n".join(f"x{t} ~ 0.5*x{t - 1}" for t in range(2, waves + 1))

    assert list(simulate(chain, 5, seed=1, waves=4).columns) == ["x2", "x3", "x4", "x1"]
    with pytest.raises(SpecificationError, match="waves="):
        simulate(chain, 5, seed=1)


# ------------------------------------------------------------------ trial design
def test_arm_allocation_is_exact() -> None:
    frame = simulate("y ~ 0.5*arm", 300, seed=1, arms=(1, 2))
    assert frame["arm"].dtype == np.int64
    assert int(frame["arm"].sum()) == 200
    assert set(frame["arm"]) == {0, 1}


def test_arm_shifts_the_mean_by_the_path() -> None:
    frame = simulate("y ~ 0.5*arm", 40_000, seed=2, arms=(1, 1))
    diff = frame.groupby("arm")["y"].mean().diff().iloc[-1]
    assert diff == pytest.approx(0.5, abs=5 * np.sqrt(2 / 20_000))


@pytest.mark.parametrize("link", ["probit", "logit"])
def test_binary_rates_per_arm(link: str) -> None:
    rates = {0: 0.28, 1: 0.55}
    frame = simulate(
        "employ ~ arm\nqol ~ 0.4*employ",
        40_000,
        seed=5,
        arms=(1, 1),
        binary={"employ": Binary(rates=rates, link=link)},
    )  # type: ignore[arg-type]
    got = frame.groupby("arm")["employ"].mean()
    for arm, rate in rates.items():
        assert got[arm] == pytest.approx(rate, abs=4 * np.sqrt(rate * (1 - rate) / 20_000))


def test_binary_rates_with_other_parents_are_calibrated_by_simulation() -> None:
    frame = simulate(
        "employ ~ arm + 0.8*x\nqol ~ 0.4*employ",
        40_000,
        seed=6,
        arms=(1, 1),
        binary={"employ": {0: 0.25, 1: 0.55}},
    )
    got = frame.groupby("arm")["employ"].mean()
    # Auxiliary-sample calibration is good to about 0.002, plus sampling error.
    assert got[0] == pytest.approx(0.25, abs=0.012)
    assert got[1] == pytest.approx(0.55, abs=0.012)


def test_binary_overall_rate_and_threshold() -> None:
    frame = simulate("employ ~ 0.5*x", 40_000, seed=7, binary={"employ": 0.3})
    assert frame["employ"].mean() == pytest.approx(0.3, abs=4 * np.sqrt(0.21 / 40_000))
    frame = simulate("employ ~ 0*x", 40_000, seed=7, binary={"employ": Binary(threshold=1.0)})
    assert frame["employ"].mean() == pytest.approx(0.1587, abs=0.01)


def test_ordinal_variable_counts_thresholds() -> None:
    frame = simulate("y ~ 0*x", 20_000, seed=1, binary={"y": Binary(threshold=(-1.0, 1.0))})
    shares = frame["y"].value_counts(normalize=True).sort_index()
    np.testing.assert_allclose(shares.to_numpy(), [0.1587, 0.6827, 0.1587], atol=0.015)


def test_library_model_uses_its_thresholds_and_randomises_its_arm() -> None:
    frame = simulate("ips_employment_qol", 40_000, seed=8)
    got = frame.groupby("arm")["employ"].mean()
    assert int(frame["arm"].sum()) == 20_000
    assert got[0] == pytest.approx(0.25, abs=0.01)
    assert got[1] == pytest.approx(0.55, abs=0.01)
    # selfest depends on the observed 0/1 employment: mean difference 0.50.
    diff = frame.groupby("employ")["selfest"].mean().diff().iloc[-1]
    assert diff == pytest.approx(0.50, abs=0.03)


def test_reliability_adds_measurement_error() -> None:
    pop = compile_population("m ~ 0.3*arm\ny ~ 0.4*m", arms=(1, 1), reliability={"m": 0.7})
    true_var = 0.3**2 * 0.25 + 1.0
    _, cov = pop.moments()
    assert cov[pop.observed.index("m"), pop.observed.index("m")] == pytest.approx(true_var / 0.7)
    # y depends on the true score, not on the error.
    assert cov[pop.observed.index("y"), pop.observed.index("m")] == pytest.approx(0.4 * true_var)


def test_sites_add_a_site_column_and_an_icc() -> None:
    frame = simulate("y ~ 0.3*arm", 20_000, seed=9, arms=(1, 1), sites=Sites(200, 0.2))
    assert frame["site"].nunique() == 200
    assert (frame.groupby("site")["arm"].mean() == 0.5).all()  # randomised within site
    resid = frame["y"] - 0.3 * frame["arm"]
    between = resid.groupby(frame["site"]).mean().var() - resid.var() * 0.8 / 100
    assert between / resid.var() == pytest.approx(0.2, abs=0.05)


# ------------------------------------------------------------------ attrition
PANEL = "x2 ~ 0.5*x1\nx3 ~ 0.5*x2\ny2 ~ 0.4*y1 + 0.2*x1\ny3 ~ 0.4*y2 + 0.2*x2"


def test_waves_are_inferred_from_suffixes() -> None:
    assert infer_waves(["arm", "qol_1", "qol_2", "m2"]) == {1: ("qol_1",), 2: ("qol_2",)}
    assert infer_waves(["m1", "m2", "y"]) == {1: ("m1",), 2: ("m2",)}
    assert infer_waves(["x", "y"]) == {}


@pytest.mark.parametrize("mechanism", ["mcar", "mar", "mnar"])
def test_attrition_rates_and_monotone_dropout(mechanism: str) -> None:
    frame = simulate(PANEL, 20_000, seed=10, attrition=Attrition(0.2, mechanism=mechanism))
    miss = frame.isna().mean()
    assert miss["x1"] == 0 and miss["y1"] == 0
    assert miss["x2"] == pytest.approx(0.2, abs=0.015)
    assert miss["x3"] == pytest.approx(1 - 0.8**2, abs=0.015)
    # monotone: missing at wave 2 implies missing at wave 3, whole waves at once
    assert not (frame["x2"].isna() & frame["x3"].notna()).any()
    assert (frame["x2"].isna() == frame["y2"].isna()).all()


def test_mar_depends_on_the_previous_wave_and_mnar_on_the_current() -> None:
    mar = simulate(PANEL, 20_000, seed=12, attrition=Attrition(0.3, mechanism="mar"))
    gone = mar["x2"].isna()
    # strength -1: people with lower wave-1 values leave more often
    assert mar.loc[gone, "x1"].mean() < mar.loc[~gone, "x1"].mean() - 0.2
    mcar = simulate(PANEL, 20_000, seed=12, attrition=Attrition(0.3))
    gone = mcar["x2"].isna()
    assert abs(mcar.loc[gone, "x1"].mean() - mcar.loc[~gone, "x1"].mean()) < 0.06
    mnar = simulate(
        PANEL,
        20_000,
        seed=12,
        attrition=Attrition(0.3, mechanism="mnar"),
    )
    complete = simulate(PANEL, 20_000, seed=12)
    # MNAR drops low wave-2 values: the observed mean of x2 is biased upwards.
    assert mnar["x2"].mean() > complete["x2"].mean() + 0.1


def test_attrition_per_wave_rates_and_errors() -> None:
    frame = simulate(PANEL, 20_000, seed=13, attrition=Attrition((0.1, 0.5)))
    assert frame["x3"].isna().mean() == pytest.approx(1 - 0.9 * 0.5, abs=0.015)
    with pytest.raises(SpecificationError, match="follow-up wave"):
        simulate(PANEL, 10, seed=1, attrition=Attrition((0.1, 0.2, 0.3)))
    with pytest.raises(SpecificationError, match=r"\[0, 1\)"):
        Attrition(1.2)


def test_attrition_without_waves_drops_the_follow_up() -> None:
    frame = simulate("m ~ 0.3*arm\ny ~ 0.4*m", 10_000, seed=14, arms=(1, 1), attrition=0.25)
    assert frame["arm"].notna().all()
    assert frame["m"].isna().mean() == pytest.approx(0.25, abs=0.02)
    assert (frame["m"].isna() == frame["y"].isna()).all()


# ------------------------------------------------------------------ moment sampler
@pytest.mark.parametrize(
    "syntax,arms", [(CASES["mediation"], None), ("m ~ 0.5*arm\ny ~ 0.4*m + 0.2*arm", (1, 2))]
)
def test_moment_sampler_has_the_wishart_moments(syntax: str, arms: object) -> None:
    pop = compile_population(syntax, arms=arms)
    n, R = 30, 20_000
    sampler = MomentSampler.from_population(pop, range(3), n, means=True)
    rngs = [np.random.default_rng(np.random.SeedSequence(1, spawn_key=(r,))) for r in range(R)]
    mean, cov = sampler.draw(rngs)
    mu, sigma = pop.moments()
    if arms is not None:  # the arm's moments are fixed by design
        k = pop.observed.index("arm")
        assert np.all(mean[:, k] == 2 / 3)
        assert np.all(cov[:, k, k] == pytest.approx(2 / 9))
    # E[S] = (n-1)/n Σ; Var(S_ij) = (n-1)(σ_ij² + σ_ii σ_jj)/n² for random columns.
    expected = (n - 1) / n * sigma
    var = (n - 1) * (sigma**2 + np.outer(np.diag(sigma), np.diag(sigma))) / n**2
    rand = [j for j in range(3) if arms is None or pop.observed[j] != "arm"]
    idx = np.ix_(rand, rand)
    np.testing.assert_array_less(
        np.abs(cov.mean(axis=0) - expected)[idx], 5 * np.sqrt(var / R)[idx]
    )
    if arms is None:
        np.testing.assert_allclose(cov.var(axis=0), var, rtol=0.05)
        np.testing.assert_allclose(mean.std(axis=0), np.sqrt(np.diag(sigma) / n), rtol=0.03)
    # and the same distribution as moments of raw data
    raw = np.stack(
        [
            np.cov(pop.draw(np.random.default_rng(10**6 + r), n), rowvar=False, bias=True)
            for r in range(4000)
        ]
    )
    np.testing.assert_array_less(
        np.abs(raw.mean(axis=0) - cov.mean(axis=0))[idx], 6 * np.sqrt(var / 4000)[idx]
    )


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "syntax,kwargs,error,match",
    [
        ("m ~~ 2*y\ny ~ x", {}, SpecificationError, "positive semi-definite"),
        ("m ~ 1.2*x\ny ~ m", {"standardized": True}, SpecificationError, "R²"),
        ("y ~ x", {"binary": {"y": 1.5}}, SpecificationError, "strictly between 0 and 1"),
        (
            "y ~ arm",
            {"arms": (1, 1), "binary": {"y": {0: 0.2, 1: 0.0}}},
            SpecificationError,
            "strictly between",
        ),
        ("y ~ x", {"binary": {"yy": 0.3}}, SpecificationError, "did you mean 'y'"),
        (
            "y ~ x\ny ~~ 0.3*x",
            {"binary": {"y": Binary(link="logit")}},
            SpecificationError,
            "logistic",
        ),
        ("y ~ x\narm ~ y", {"arms": {"arm": (1, 1)}}, SpecificationError, "exogenous"),
        ("y ~ x", {"arms": (1, 1, 1)}, SpecificationError, "control, intervention"),
        ("y ~ c(a, b)*x", {}, SpecificationError, "each group"),
        ("y ~ x", {"reliability": {"y": 1.5}}, SpecificationError, r"\(0, 1\]"),
        ("y ~ x", {"sites": (0, 0.1)}, SpecificationError, "positive integer"),
        ("y ~ x", {"sites": (4, 1.0)}, SpecificationError, r"\[0, 1\)"),
    ],
)
def test_impossible_populations_raise_before_drawing(
    syntax: str, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        simulate(syntax, 100, seed=1, **kwargs)  # type: ignore[arg-type]


def test_bad_sample_sizes() -> None:
    with pytest.raises(DataError, match="at least 2"):
        simulate("y ~ 0.3*x", 1, seed=1)
    with pytest.raises(DataError, match="sites"):
        simulate("y ~ 0.3*x", 3, seed=1, sites=(4, 0.1))


def test_implied_covariance_not_positive_definite() -> None:
    with pytest.raises(SpecificationError, match="implied covariance"):
        simulate("y ~ 1*x\ny ~~ 0*y", 10, seed=1)
