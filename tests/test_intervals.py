"""Tests for pathmodels.intervals against lavaan 0.6.14 and the boot package.

The reference numbers come from ``tests/data/intervals_reference.R`` (external: R
computed them) and from ``tests/reference/lavaan`` (lavaan fits). Tests never run R.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from pathmodels.exceptions import PathModelsWarning, SpecificationError
from pathmodels.intervals import (
    _norm_inter,
    _sorted_finite,
    accelerated_interval,
    bca_interval,
    bias_corrected_interval,
    jackknife_acceleration,
    mc_draws,
    normal_interval,
    percentile_interval,
    regression_acceleration,
    two_sided_pvalue,
)
from tests.reference.lavaan_cases import load_case

REFERENCE = Path(__file__).parent / "data" / "intervals_reference.json"

# Bootstrap endpoints are order statistics or a normal-scale interpolation between two
# of them: pure floating-point arithmetic on the same draws, so they agree with R to
# rounding error (R's qnorm and scipy's ndtri differ in the last bits).
RTOL, ATOL = 1e-12, 1e-14


def _numbers(value: Any) -> Any:
    """Turn the fixture's "NaN"/"Inf"/"-Inf" strings back into floats."""
    if isinstance(value, list):
        return np.array([_numbers(v) for v in value], dtype=float)
    if isinstance(value, str):
        return float(value.replace("Inf", "inf"))
    return value


@pytest.fixture(scope="module")
def ref() -> dict[str, Any]:
    data = json.loads(REFERENCE.read_text())
    assert data["kind"] == "external"
    assert data["lavaan_version"] == "0.6.14"
    return data


def _flagged(record: list[warnings.WarningMessage]) -> list[int]:
    """Quantity indices our 'extreme order statistics' warning lists."""
    hits = [str(w.message) for w in record if "extreme order statistics" in str(w.message)]
    assert len(hits) <= 1
    if not hits:
        return []
    match = re.search(r"quantities \[([\d, ]+)\]", hits[0])
    assert match is not None
    return [int(i) for i in match.group(1).split(",")]


def _run(func: Any, *args: Any) -> tuple[np.ndarray, list[int]]:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = func(*args)
    return out, _flagged(record)


# --------------------------------------------------------------- lavaan bootstrap
def _lavaan_case(ref: dict[str, Any], ci_type: str, level: float) -> dict[str, Any]:
    (case,) = [
        c for c in ref["lavaan"]["intervals"] if c["type"] == ci_type and c["level"] == level
    ]
    return case


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_percentile_matches_lavaan_perc(ref: dict[str, Any], level: float) -> None:
    lav = ref["lavaan"]
    case = _lavaan_case(ref, "perc", level)
    expected = np.column_stack([_numbers(case["lower"]), _numbers(case["upper"])])
    out, flagged = _run(percentile_interval, _numbers(lav["draws"]), level)
    assert out.shape == (len(lav["names"]), 2)
    assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    assert len(flagged) == case["n_extreme_warnings"]


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_bias_corrected_matches_lavaan_bca_simple(ref: dict[str, Any], level: float) -> None:
    lav = ref["lavaan"]
    case = _lavaan_case(ref, "bca.simple", level)
    expected = np.column_stack([_numbers(case["lower"]), _numbers(case["upper"])])
    out, flagged = _run(
        bias_corrected_interval, _numbers(lav["draws"]), _numbers(lav["estimate"]), level
    )
    assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    # lavaan warned once per quantity with an extreme endpoint; we list the same number.
    assert case["n_extreme_warnings"] > 0
    assert len(flagged) == case["n_extreme_warnings"]


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_regression_acceleration_matches_lavaan_bca(ref: dict[str, Any], level: float) -> None:
    lav = ref["lavaan"]
    draws, freq = _numbers(lav["draws"]), np.array(lav["frequencies"], dtype=float)
    n_free = lav["n_free"]
    # lavaan regresses the free parameters and the defined parameters separately.
    accel = np.concatenate(
        [
            regression_acceleration(draws[:, :n_free], freq),
            regression_acceleration(draws[:, n_free:], freq),
        ]
    )
    case = _lavaan_case(ref, "bca", level)
    expected = np.column_stack([_numbers(case["lower"]), _numbers(case["upper"])])
    out, flagged = _run(accelerated_interval, draws, _numbers(lav["estimate"]), accel, level)
    assert_allclose(out, expected, rtol=1e-10, atol=1e-12)  # lstsq vs lm.fit's QR
    assert len(flagged) == case["n_extreme_warnings"]
    # The acceleration matters: with a = 0 (bca.simple) the limits differ.
    simple, _ = _run(bias_corrected_interval, draws, _numbers(lav["estimate"]), level)
    assert np.max(np.abs(simple - expected)) > 1e-4


def test_lavaan_comparison_detects_wrong_values(ref: dict[str, Any]) -> None:
    lav = ref["lavaan"]
    case = _lavaan_case(ref, "perc", 0.95)
    expected = np.column_stack([_numbers(case["lower"]), _numbers(case["upper"])])
    out = percentile_interval(_numbers(lav["draws"]), 0.95)
    # quantile() (linear interpolation) is what lavaan does *not* use: it must fail.
    naive = np.quantile(_numbers(lav["draws"]), [0.025, 0.975], axis=0).T
    with pytest.raises(AssertionError):
        assert_allclose(naive, expected, rtol=RTOL, atol=ATOL)
    with pytest.raises(AssertionError):
        assert_allclose(out * (1 + 1e-9), expected, rtol=RTOL, atol=ATOL)


# -------------------------------------------------------------- boot's norm.inter
def test_norm_inter_matches_boot(ref: dict[str, Any]) -> None:
    for case in ref["norm_inter"]:
        draws = _numbers(case["draws"])[:, None]
        ordered, count = _sorted_finite(draws)
        out, extreme = _norm_inter(ordered, count, _numbers(case["alpha"])[None, :])
        assert_allclose(
            out[0], _numbers(case["endpoints"]), rtol=RTOL, atol=ATOL, err_msg=case["name"]
        )
        assert bool(extreme[0]) == case["extreme_warning"], case["name"]


def test_percentile_interval_on_boot_cases(ref: dict[str, Any]) -> None:
    cases = [c for c in ref["norm_inter"] if c["level"] is not None]
    assert len(cases) == 6
    for case in cases:
        out, flagged = _run(percentile_interval, _numbers(case["draws"]), case["level"])
        assert_allclose(
            out[0], _numbers(case["endpoints"]), rtol=RTOL, atol=ATOL, err_msg=case["name"]
        )
        assert (flagged == [0]) == case["extreme_warning"], case["name"]


def test_integer_ranks_are_exact_order_statistics() -> None:
    draws = np.arange(1.0, 1000.0)[::-1]  # R = 999 draws, (R + 1) * alpha = 25 and 975
    assert_allclose(percentile_interval(draws, 0.95), [[25.0, 975.0]], rtol=1e-12)
    # 0.90 gives ranks 50 and 950, up to the rounding of (1 - 0.9)/2.
    assert_allclose(percentile_interval(draws, 0.90), [[50.0, 950.0]], rtol=1e-9)


def test_nan_rows_are_ignored() -> None:
    rng = np.random.default_rng(10)
    draws = rng.normal(size=(500, 3))
    with_failures = np.vstack([draws[:200], np.full((7, 3), np.nan), draws[200:]])
    with_failures[3, 1] = np.inf  # one quantity failed in one more draw
    expected = percentile_interval(draws)
    got = percentile_interval(with_failures)
    assert_allclose(got[[0, 2]], expected[[0, 2]], rtol=1e-15)
    assert_allclose(got[1], percentile_interval(np.delete(draws[:, 1], 3))[0], rtol=1e-15)
    assert not np.allclose(got[1], expected[1], rtol=1e-15, atol=0)
    est = np.zeros(3)
    assert_allclose(
        bias_corrected_interval(with_failures, est)[[0, 2]],
        bias_corrected_interval(draws, est)[[0, 2]],
        rtol=1e-15,
    )


def test_column_without_finite_draws_is_nan_with_warning() -> None:
    draws = np.column_stack([np.linspace(0, 1, 100), np.full(100, np.nan)])
    with pytest.warns(PathModelsWarning, match=r"no finite draws for quantities \[1\]"):
        out = percentile_interval(draws)
    assert np.all(np.isfinite(out[0])) and np.all(np.isnan(out[1]))


def test_tiny_r_warns_extreme_order_statistics() -> None:
    with pytest.warns(PathModelsWarning, match="extreme order statistics"):
        out = percentile_interval(np.arange(10.0), 0.95)  # (R+1)*0.025 = 0.275 < 1
    assert_allclose(out, [[0.0, 9.0]])


# ----------------------------------------------------------------------- BC / BCa
def test_bca_matches_boot_with_centred_jackknife(ref: dict[str, Any]) -> None:
    case = ref["boot_bca"]
    draws, jack = _numbers(case["draws"]), _numbers(case["jackknife"])[:, None]
    for item in case["intervals"]:
        out, flagged = _run(bca_interval, draws, _numbers(case["estimate"]), jack, item["level"])
        assert_allclose(out[0], _numbers(item["bca"]), rtol=RTOL, atol=ATOL)
        assert (flagged == [0]) == item["extreme_warning"]
        perc, _ = _run(percentile_interval, draws, item["level"])
        assert_allclose(perc[0], _numbers(item["perc"]), rtol=RTOL, atol=ATOL)
        # A wrong acceleration sign gives different limits.
        wrong, _ = _run(bca_interval, draws, _numbers(case["estimate"]), -jack, item["level"])
        assert np.max(np.abs(wrong[0] - _numbers(item["bca"]))) > 1e-2


def test_jackknife_acceleration_of_the_mean_is_the_skewness_formula() -> None:
    rng = np.random.default_rng(3)
    x = rng.exponential(size=25)
    jack = np.array([np.delete(x, i).mean() for i in range(x.size)])[:, None]
    dev = x - x.mean()
    expected = np.sum(dev**3) / (6.0 * np.sum(dev**2) ** 1.5)
    assert expected > 0.01
    assert_allclose(jackknife_acceleration(jack), [expected], rtol=1e-10)


def test_regression_acceleration_equals_jackknife_for_a_linear_statistic() -> None:
    rng = np.random.default_rng(4)
    x = rng.gamma(2.0, size=30)
    freq = rng.multinomial(30, np.full(30, 1 / 30), size=400)
    draws = np.column_stack([freq @ x / 30, 2.0 - 3.0 * (freq @ x / 30)])
    jack = np.array([np.delete(x, i).mean() for i in range(30)])
    expected = jackknife_acceleration(np.column_stack([jack, 2.0 - 3.0 * jack]))
    assert expected[0] == pytest.approx(-expected[1])  # a flips sign with the statistic
    assert_allclose(regression_acceleration(draws, freq), expected, rtol=1e-8)
    with pytest.raises(SpecificationError, match="at least as many successful bootstrap draws"):
        regression_acceleration(draws[:20], freq[:20])


def test_bca_agrees_with_scipy_bootstrap_in_a_large_sample() -> None:
    # scipy interpolates quantiles linearly and counts ties as half, so agreement is only
    # up to the interpolation scheme; with many draws that is far below the CI width.
    rng = np.random.default_rng(5)
    x = rng.exponential(size=40)
    res = stats.bootstrap(
        (x,), np.mean, n_resamples=20000, method="BCa", rng=np.random.default_rng(6)
    )
    draws = res.bootstrap_distribution[:, None]
    jack = np.array([np.delete(x, i).mean() for i in range(x.size)])[:, None]
    ours = bca_interval(draws, [x.mean()], jack)[0]
    scipy_ci = [res.confidence_interval.low, res.confidence_interval.high]
    assert_allclose(ours, scipy_ci, rtol=2e-3)


def test_constant_draws_give_the_estimate() -> None:
    draws = np.column_stack([np.full(50, 2.0), np.linspace(-1, 1, 50)])
    out = bias_corrected_interval(draws, [2.0, 0.0])
    assert_allclose(out[0], [2.0, 2.0])
    assert out[1, 0] < 0 < out[1, 1]


def test_estimate_outside_draws_is_nan_with_warning() -> None:
    draws = np.linspace(1.0, 2.0, 200)[:, None]
    with pytest.warns(PathModelsWarning, match="bias correction is infinite"):
        out = bias_corrected_interval(draws, [5.0])
    assert np.all(np.isnan(out))


def test_bias_correction_shifts_towards_the_estimate() -> None:
    # Draws shifted up by 0.2 SD relative to the estimate: w = Phi^-1(P(t < 0)) < 0,
    # so both limits move down compared with the percentile interval.
    rng = np.random.default_rng(8)
    draws = rng.normal(0.2, 1.0, size=(4000, 1))
    perc = percentile_interval(draws)
    bc = bias_corrected_interval(draws, [0.0])
    assert bc[0, 0] < perc[0, 0] and bc[0, 1] < perc[0, 1]
    # a = 0 reproduces the bias-corrected interval exactly.
    assert_allclose(accelerated_interval(draws, [0.0], [0.0]), bc, rtol=0, atol=0)


# ------------------------------------------------------------------ normal theory
def test_normal_interval_and_pvalue_match_lavaan() -> None:
    case = load_case("serial_mediation")
    est = case.estimates
    rows = est[est["op"].isin(["~", ":="])]
    ci = normal_interval(rows["est"], rows["se"], 0.95)
    assert_allclose(ci[:, 0], rows["ci_lower"], rtol=1e-12, atol=1e-14)
    assert_allclose(ci[:, 1], rows["ci_upper"], rtol=1e-12, atol=1e-14)
    # lavaan's 2*(1 - pnorm(|z|)) loses relative precision for tiny p: absolute check.
    assert_allclose(two_sided_pvalue(rows["z"]), rows["pvalue"], rtol=1e-9, atol=1e-15)
    with pytest.raises(AssertionError):
        assert_allclose(
            normal_interval(rows["est"], rows["se"], 0.9)[:, 0], rows["ci_lower"], rtol=1e-12
        )


def test_pvalue_known_values() -> None:
    assert_allclose(
        two_sided_pvalue([0.0, 1.959963984540054, -2.5758293035489004]),
        [1.0, 0.05, 0.01],
        rtol=1e-12,
    )
    assert np.isnan(two_sided_pvalue(np.nan))
    assert_allclose(two_sided_pvalue(20.0), 2 * stats.norm.sf(20.0), rtol=1e-12)  # lavaan: 0


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 95.0, np.nan])
def test_bad_level(level: float) -> None:
    with pytest.raises(SpecificationError, match="strictly between 0 and 1"):
        percentile_interval(np.arange(100.0), level)
    with pytest.raises(SpecificationError, match="strictly between 0 and 1"):
        normal_interval([0.0], [1.0], level)


def test_shape_errors() -> None:
    with pytest.raises(SpecificationError, match="shape"):
        percentile_interval(np.zeros((2, 3, 4)))
    with pytest.raises(SpecificationError, match="one value per quantity"):
        bias_corrected_interval(np.zeros((10, 3)), [0.0, 1.0])
    with pytest.raises(SpecificationError, match="same length"):
        normal_interval([0.0, 1.0], [1.0])


# ----------------------------------------------------------------- Monte Carlo
def test_mc_draws_moments_and_reproducibility() -> None:
    theta = np.array([0.4, -0.3, 1.0])
    vcov = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, -0.02], [0.0, -0.02, 0.25]])
    draws = mc_draws(theta, vcov, 50_000, np.random.default_rng(1))
    assert draws.shape == (50_000, 3)
    se = np.sqrt(np.diag(vcov) / 50_000)
    assert np.all(np.abs(draws.mean(axis=0) - theta) < 4 * se)
    assert_allclose(np.cov(draws.T), vcov, atol=4 * 0.25 * np.sqrt(2 / 50_000))
    again = mc_draws(theta, vcov, 50_000, np.random.default_rng(1))
    assert np.array_equal(draws, again)
    other = mc_draws(theta, vcov, 50_000, np.random.default_rng(2))
    assert not np.array_equal(draws, other)


def test_mc_draws_singular_vcov_keeps_the_constraint() -> None:
    # b1 == b2 (equality constraint): their covariance is singular.
    vcov = np.array([[0.04, 0.04, 0.01], [0.04, 0.04, 0.01], [0.01, 0.01, 0.09]])
    vcov[0, 1] -= 1e-19  # rounding noise: eigenvalues a hair below 0
    vcov[1, 0] -= 1e-19
    draws = mc_draws([0.3, 0.3, 0.1], vcov, 1000, np.random.default_rng(3))
    assert np.max(np.abs(draws[:, 0] - draws[:, 1])) < 1e-12
    assert draws[:, 0].std() > 0.15


def test_mc_draws_rejects_indefinite_and_bad_inputs() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(SpecificationError, match="not positive semi-definite"):
        mc_draws([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], 10, rng)
    with pytest.raises(SpecificationError, match="not symmetric"):
        mc_draws([0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]], 10, rng)
    with pytest.raises(SpecificationError, match="NaN or inf"):
        mc_draws([0.0, np.nan], np.eye(2), 10, rng)
    with pytest.raises(SpecificationError, match=r"\(2, 2\)"):
        mc_draws([0.0, 0.0], np.eye(3), 10, rng)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        mc_draws([0.0], [[1.0]], 10, 42)  # type: ignore[arg-type]


def test_mc_interval_matches_semtools_monte_carlo_ci() -> None:
    case = load_case("simple_mediation")
    names = list(case.vcov.index)
    est = case.estimates.set_index("label")
    theta = est.loc[names[:3], "est"].to_numpy()
    vcov = case.vcov.loc[names[:3], names[:3]].to_numpy()
    n_rep = 20_000
    draws = mc_draws(theta, vcov, n_rep, np.random.default_rng(2024))
    a, b, cp = draws.T
    derived = np.column_stack([a * b, cp + a * b])
    ours = percentile_interval(derived, 0.95)
    assert case.mc is not None
    ref = case.mc.set_index("name").loc[["ind", "total"], ["ci_lower", "ci_upper"]].to_numpy()
    # Both are Monte Carlo estimates of the same quantiles; the MC SE of a quantile is
    # sqrt(p(1-p)/n) / density. Allow 4 SEs of the difference of two such estimates.
    for j in range(2):
        for side, p in enumerate((0.025, 0.975)):
            density = stats.gaussian_kde(derived[:, j])(ours[j, side])[0]
            mcse = np.sqrt(p * (1 - p) / n_rep) / density
            assert abs(ours[j, side] - ref[j, side]) < 4 * np.sqrt(2) * mcse
    assert np.max(np.abs(ours - ref)) < 0.01


def _norm_inter_transliterated(t: np.ndarray, alpha: float) -> float:
    """boot:::norm.inter for one alpha, line by line in scalar Python (for cross-checks)."""
    t = np.sort(t[np.isfinite(t)])
    r = len(t)
    rk = (r + 1) * alpha
    k = int(np.trunc(rk))
    if k > r:  # R indexes past the end of the vector: NA
        return np.nan
    if k == rk:
        return float(t[k - 1]) if k > 0 else float(t[0])
    if k == 0:
        return float(t[0])
    if k == r:
        return float(t[-1])
    z = stats.norm.ppf
    return float(
        t[k - 1]
        + (z(alpha) - z(k / (r + 1))) / (z((k + 1) / (r + 1)) - z(k / (r + 1))) * (t[k] - t[k - 1])
    )


def test_ties_with_the_estimate_count_as_not_below() -> None:
    # lavaan and boot: w = qnorm(sum(t < t0) / R); a draw equal to t0 is not below it.
    draws = np.repeat(np.arange(50.0), 4)  # 200 draws, 4 of them equal to 20
    w = stats.norm.ppf(80 / 200)
    z = stats.norm.ppf([0.025, 0.975])
    adjusted = stats.norm.cdf(2 * w + z)
    expected = [_norm_inter_transliterated(draws, a) for a in adjusted]
    assert_allclose(bias_corrected_interval(draws, [20.0])[0], expected, rtol=1e-12)
    wrong = stats.norm.cdf(2 * stats.norm.ppf(84 / 200) + z)  # counting ties as below
    assert not np.allclose(expected, [_norm_inter_transliterated(draws, a) for a in wrong])


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    level=st.floats(0.5, 0.99),
    accel=st.floats(-0.2, 0.2),
)
def test_vectorised_engine_matches_scalar_transliteration(
    n: int, seed: int, level: float, accel: float
) -> None:
    rng = np.random.default_rng(seed)
    draws = np.round(rng.normal(size=(n, 3)), 1)  # ties on purpose
    draws[rng.random(size=(n, 3)) < 0.1] = np.nan
    estimate = np.round(rng.normal(size=3) * 0.5, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PathModelsWarning)
        perc = percentile_interval(draws, level)
        bca = accelerated_interval(draws, estimate, np.full(3, accel), level)
    alpha = (1 + np.array([-level, level])) / 2
    for j in range(3):
        t = draws[:, j][np.isfinite(draws[:, j])]
        if t.size == 0:
            assert np.all(np.isnan(perc[j])) and np.all(np.isnan(bca[j]))
            continue
        assert_allclose(
            perc[j], [_norm_inter_transliterated(t, a) for a in alpha], rtol=1e-12, atol=1e-13
        )
        if np.ptp(t) == 0:
            assert_allclose(bca[j], [estimate[j]] * 2)
            continue
        w = stats.norm.ppf(np.sum(t < estimate[j]) / t.size)
        if not np.isfinite(w):
            assert np.all(np.isnan(bca[j]))
            continue
        zz = stats.norm.ppf(alpha)
        adjusted = stats.norm.cdf(w + (w + zz) / (1 - accel * (w + zz)))
        expected = [_norm_inter_transliterated(t, a) for a in adjusted]
        assert_allclose(bca[j], expected, rtol=1e-10, atol=1e-12)
