"""Bootstrap machinery: one resampling serves every interval type; moments from counts."""

from __future__ import annotations

import numpy as np
import pytest

from pathmodels.exceptions import SpecificationError
from pathmodels.ml.backend import _batched_moments, _weighted_moments
from tests.ml.test_lavaan_reference import fit_case
from tests.reference.lavaan_cases import load_case


def test_moments_from_counts_equal_gathered_resamples() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) * [1.0, 10.0, 0.1] + [5.0, -2.0, 100.0]
    idx = rng.integers(0, 40, size=(9, 40))
    got = _batched_moments([X], [idx])[0]
    for r in range(9):
        Xb = X[idx[r]]
        np.testing.assert_allclose(got.mean[r], Xb.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(got.cov[r], np.cov(Xb, rowvar=False, bias=True),
                                   rtol=1e-10, atol=1e-12)
    jack = _weighted_moments(X, 1.0 - np.eye(40))
    assert jack.n == 39
    np.testing.assert_allclose(jack.cov[7], np.cov(np.delete(X, 7, axis=0), rowvar=False,
                                                   bias=True), rtol=1e-10)


def test_with_intervals_reuses_the_draws() -> None:
    case = load_case("simple_mediation")
    bca = fit_case(case, se="bootstrap", n_boot=400, ci="bca", seed=9)
    perc = fit_case(case, se="bootstrap", n_boot=400, ci="percentile", seed=9)
    again = bca.with_intervals("percentile")
    np.testing.assert_allclose(again.estimates["ci_lower"], perc.estimates["ci_lower"],
                               rtol=1e-10)
    np.testing.assert_allclose(again.effects["ci_upper"], perc.effects["ci_upper"], rtol=1e-10)
    # And back: BCa from the kept jackknife equals the original BCa intervals.
    back = again.with_intervals("bca")
    np.testing.assert_allclose(back.estimates["ci_lower"], bca.estimates["ci_lower"],
                               rtol=1e-10)
    assert again.options["ci"] == "percentile"
    with pytest.raises(SpecificationError, match="needs the jackknife"):
        perc.with_intervals("bca")
    with pytest.raises(SpecificationError, match="needs draws"):
        fit_case(case).with_intervals("percentile")
