"""interval_excludes_zero: the hook the power module calls once per simulated dataset."""

from __future__ import annotations

import pytest

from pathmodels.bayes import BayesTestOutcome, interval_excludes_zero, sampling
from pathmodels.exceptions import SpecificationError
from tests.bayes.conftest import SIMPLE, mediation_data


def test_interval_test_on_a_clear_and_a_null_effect() -> None:
    sampling.clear_cache()
    strong = interval_excludes_zero(SIMPLE, mediation_data(300, seed=1), "ind", draws=300,
                                    tune=300, chains=2, seed=1)
    assert isinstance(strong, BayesTestOutcome)
    assert strong.excludes_zero and strong.ci_lower > 0 and strong.compiled
    null = interval_excludes_zero(SIMPLE, mediation_data(300, seed=2, a=0.0, b=0.0), "ind",
                                  draws=300, tune=300, chains=2, seed=2)
    assert not null.compiled  # same structure: compiled model reused
    assert null.ci_lower < 0 < null.ci_upper and not null.excludes_zero
    assert set(null.to_dict()) >= {"est", "sd", "excludes_zero", "converged", "seconds"}
    again = interval_excludes_zero(SIMPLE, mediation_data(300, seed=1), "ind", draws=300,
                                   tune=300, chains=2, seed=1)
    assert again.est == strong.est and again.ci_lower == strong.ci_lower


@pytest.mark.parametrize("target", ["a", "y~m", ("x", "y", "total_indirect")])
def test_targets(target: object, prior_sampling: None) -> None:
    out = interval_excludes_zero(SIMPLE, mediation_data(), target, draws=30, chains=2, seed=1)
    assert out.sd > 0


def test_unknown_target_lists_valid_names(prior_sampling: None) -> None:
    with pytest.raises(SpecificationError, match="did you mean 'ind'"):
        interval_excludes_zero(SIMPLE, mediation_data(), "indd", draws=10, chains=1)
    with pytest.raises(SpecificationError, match="no 'direkt' effect"):
        interval_excludes_zero(SIMPLE, mediation_data(), ("x", "y", "direkt"), draws=10,
                               chains=1)
