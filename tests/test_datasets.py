"""Tests of the bundled example datasets (pathmodels.data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from pathmodels.data import list_datasets, load_dataset, make_ips_panel, make_ips_trial
from pathmodels.exceptions import DataError

TRIAL_COLUMNS = ["id", "site", "arm", "age", "employ", "selfest", "support", "qol"]


def test_list_datasets() -> None:
    table = list_datasets()
    assert list(table.columns) == ["name", "title"]
    assert table["name"].tolist() == ["ips_panel", "ips_trial"]


def test_unknown_dataset_lists_close_matches() -> None:
    with pytest.raises(DataError, match="did you mean 'ips_trial'"):
        load_dataset("ips_trail")
    with pytest.raises(DataError, match="valid names: ips_panel, ips_trial"):
        load_dataset("nothing_like_it")


def test_load_returns_a_fresh_copy() -> None:
    first = load_dataset("ips_trial")
    first.loc[0, "qol"] = -99.0
    assert load_dataset("ips_trial").loc[0, "qol"] != -99.0


# ------------------------------------------------------------------ ips_trial


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return load_dataset("ips_trial")


def test_trial_design(trial: pd.DataFrame) -> None:
    assert list(trial.columns) == TRIAL_COLUMNS
    assert len(trial) == 600
    assert trial["id"].tolist() == list(range(1, 601))
    assert not trial.isna().any().any()
    # 4 sites of 150, randomised 75:75 within each
    counts = trial.groupby(["site", "arm"]).size()
    assert counts.tolist() == [75] * 8


def test_trial_ranges(trial: pd.DataFrame) -> None:
    assert set(trial["arm"]) == {0, 1}
    assert set(trial["employ"]) == {0, 1}
    assert trial["age"].between(18, 65).all()
    assert trial["selfest"].between(10, 40).all()
    assert trial["support"].between(12, 84).all()
    assert trial["qol"].between(1, 7).all()
    # MANSA-like mean of 12 items: multiples of 1/12, rounded to 2 decimals
    assert np.allclose(np.round(trial["qol"] * 12), trial["qol"] * 12, atol=0.07)


def test_trial_employment_rates_near_cited_targets(trial: pd.DataFrame) -> None:
    """Targets 25% (control) and 55% (IPS); SE of a rate with n = 300 is about 0.028."""
    rates = trial.groupby("arm")["employ"].mean()
    assert rates[0] == pytest.approx(0.25, abs=0.06)
    assert rates[1] == pytest.approx(0.55, abs=0.06)
    assert rates[1] / rates[0] > 1.8  # IPS roughly doubles employment


def test_trial_paths_point_the_stated_way(trial: pd.DataFrame) -> None:
    by_job = trial.groupby("employ")[["selfest", "support"]].mean()
    assert by_job.loc[1, "selfest"] > by_job.loc[0, "selfest"]
    assert by_job.loc[1, "support"] > by_job.loc[0, "support"]
    # quality of life: regressed on self-esteem and support, neither arm nor employment
    # adds much (no direct path in the population)
    z = (trial - trial.mean()) / trial.std()
    design = np.column_stack([np.ones(len(z)), z[["selfest", "support", "arm", "employ"]]])
    coef, *_ = np.linalg.lstsq(design, z["qol"], rcond=None)
    assert coef[1] > 0.2 and coef[2] > 0.1
    assert abs(coef[3]) < 0.1 and abs(coef[4]) < 0.1


def test_calibration_hits_target_rates_in_expectation() -> None:
    b0, b_arm = make_ips_trial.calibrate_employment()
    age = make_ips_trial._age_distribution()

    def rate(shift: float) -> float:
        def f(years: float) -> float:
            z = (years - make_ips_trial.AGE_MEAN) / make_ips_trial.AGE_SD
            eta = shift + make_ips_trial.SITE_EFFECTS + make_ips_trial.AGE_EFFECT * z
            return float(np.mean(special.ndtr(eta)) * age.pdf(years))

        return integrate.quad(f, 18, 65)[0]

    assert rate(b0) == pytest.approx(0.25, abs=1e-8)
    assert rate(b0 + b_arm) == pytest.approx(0.55, abs=1e-8)


def test_trial_file_is_reproduced_by_its_script(trial: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(make_ips_trial.simulate(), trial, check_exact=False, atol=1e-9)


def test_trial_script_depends_on_seed() -> None:
    other = make_ips_trial.simulate(seed=1)
    assert not other.equals(make_ips_trial.simulate())


def test_trial_script_rejects_unbalanced_n() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        make_ips_trial.simulate(601)


# ------------------------------------------------------------------ ips_panel


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return load_dataset("ips_panel")


def test_panel_layout(panel: pd.DataFrame) -> None:
    expected = ["id", "site", "arm", "age"] + [
        f"{v}_{w}" for w in (1, 2, 3) for v in ("employ", "selfest", "support", "qol")
    ]
    assert list(panel.columns) == expected
    assert len(panel) == 600
    assert not panel[["id", "site", "arm", "age"]].isna().any().any()
    assert not panel.filter(like="_1").isna().any().any()


def test_panel_dropout_is_monotone_and_about_15_percent(panel: pd.DataFrame) -> None:
    present = pd.DataFrame(
        {
            w: panel[[f"{v}_{w}" for v in ("employ", "selfest", "support", "qol")]]
            .notna()
            .all(axis=1)
            for w in (1, 2, 3)
        }
    )
    absent = pd.DataFrame(
        {
            w: panel[[f"{v}_{w}" for v in ("employ", "selfest", "support", "qol")]]
            .isna()
            .all(axis=1)
            for w in (1, 2, 3)
        }
    )
    assert (present | absent).all().all(), "a wave is either complete or missing"
    assert not (present[3] & ~present[2]).any(), "dropout is monotone"
    # SE of a 15% rate with n = 600 (510) is about 0.015 (0.016)
    assert 1 - present[2].mean() == pytest.approx(0.15, abs=0.05)
    assert 1 - present[3].sum() / present[2].sum() == pytest.approx(0.15, abs=0.05)


def test_panel_dropout_depends_on_observed_previous_wave(panel: pd.DataFrame) -> None:
    """MAR: people with lower quality of life at wave 1 leave more often."""
    left = panel["qol_2"].isna()
    assert panel.loc[left, "qol_1"].mean() < panel.loc[~left, "qol_1"].mean()


def test_panel_employment_rates(panel: pd.DataFrame) -> None:
    rates = panel.groupby("arm")[["employ_1", "employ_3"]].mean()
    assert rates.loc[0, "employ_1"] == pytest.approx(0.10, abs=0.05)
    assert rates.loc[1, "employ_1"] == pytest.approx(0.10, abs=0.05)
    # cited end-of-trial rates; among completers they sit slightly higher (MAR dropout)
    assert rates.loc[0, "employ_3"] == pytest.approx(0.25, abs=0.07)
    assert rates.loc[1, "employ_3"] == pytest.approx(0.55, abs=0.07)


def test_panel_ranges(panel: pd.DataFrame) -> None:
    for w in (1, 2, 3):
        assert panel[f"employ_{w}"].dropna().isin([0, 1]).all()
        assert panel[f"selfest_{w}"].dropna().between(10, 40).all()
        assert panel[f"support_{w}"].dropna().between(12, 84).all()
        assert panel[f"qol_{w}"].dropna().between(1, 7).all()


def test_panel_calibration_targets() -> None:
    intercepts = make_ips_panel.calibrate()
    assert set(intercepts.employ) == {1, 2, 3}
    assert set(intercepts.dropout) == {2, 3}
    # the IPS arm needs a larger intercept at follow-up, none at baseline
    assert intercepts.employ[1][1] == pytest.approx(intercepts.employ[1][0], abs=0.02)
    assert intercepts.employ[3][1] > intercepts.employ[3][0] + 0.4


def test_panel_file_is_reproduced_by_its_script(panel: pd.DataFrame) -> None:
    again = make_ips_panel.simulate().astype("float64")
    pd.testing.assert_frame_equal(again, panel.astype("float64"), check_exact=False, atol=1e-9)
