"""Simulate ``ips_panel.csv``: an IPS trial followed over three waves, with dropout.

The bundled example dataset for longitudinal questions of the recovery logic model:
does work raise self-esteem and social support, do self-esteem and support raise the
chance of getting work, or both (cross-lagged and RI-CLPM models)? It is simulated, not
real: no person in it exists. Rebuild it with::

    python -m pathmodels.data.make_ips_panel

which writes ``pathmodels/data/ips_panel.csv`` next to this file; the same ``SEED``
gives the same file on every machine (numpy ``Generator`` seeded from a
``SeedSequence``; no global random state).

Design
------
N = 600 people at 4 sites (150 each), randomised 1:1 within site to IPS or usual
vocational services, measured at baseline (wave 1), 6 months (wave 2) and 12 months
(wave 3). Wide format: ``employ_1, selfest_1, support_1, qol_1, employ_2, ...``.
About 15% of the people still in the study drop out at each follow-up wave (monotone
dropout, missing at random: the chance of leaving depends only on values observed at
the previous wave). A dropped-out person has all later measures missing.

Data-generating model
---------------------
On a standardised scale (``z_`` scores; ``z_age`` is age in SD units), with site
effects ``u_site`` and ``g_age`` as in ``make_ips_trial``::

    wave 1   z_selfest_1, z_support_1 ~ bivariate normal, correlation 0.30
             employ_1* = c_1 + 0.20*z_selfest_1 + 0.15*z_support_1 + u_site + g_age*z_age + e
             z_qol_1   = 0.35*z_selfest_1 + 0.25*z_support_1 + e
    wave t   employ_t* = c_t[arm] + 1.20*employ_(t-1) + 0.20*z_selfest_(t-1)
                         + 0.15*z_support_(t-1) + u_site + g_age*z_age + e
             z_selfest_t = 0.60*z_selfest_(t-1) + 0.40*employ_(t-1) + 0.8*e_se
             z_support_t = 0.60*z_support_(t-1) + 0.25*employ_(t-1) + 0.8*e_ss
             z_qol_t     = 0.30*z_qol_(t-1) + 0.35*z_selfest_t + 0.25*z_support_t + 0.9*e_q
    employ_t = 1 if employ_t* > 0;  corr(e_se, e_ss) = 0.20;  all e standard normal.
    dropout at wave t (of those present at t-1):
             logit P = d_t - 0.50*(qol_(t-1) - 4.3)/0.8 - 0.30*employ_(t-1)

Scores are put on the scales of ``make_ips_trial`` (self-esteem 10-40, support 12-84,
quality of life 1-7 in steps of 1/12).

The intercepts ``c_t[arm]`` and ``d_t`` are calibrated (:func:`calibrate`) on a large
auxiliary sample drawn from its own fixed seed, so that the expected employment rates
and dropout rates equal the targets below; the dataset's own seed does not change them.

Sources and assumptions
-----------------------
Cited (Winsper et al., 2020, as summarised in the project's logic model): IPS roughly
doubles competitive employment, with meta-analytic rates near 55-60% (IPS) and 20-25%
(other vocational services). The last wave's targets are the conservative ends, 55% and
25%; that these rates are reached by 12 months is an assumption. The logic model also
names employment -> self-esteem and employment -> social support, and the reverse
direction, as a cross-lagged question; this script builds in both directions.

Assumptions (not evidence; chosen to be plausible for an illustration): every
coefficient above; employment at baseline 10% in both arms (trials of IPS enrol people
out of work, a few of whom have some work); employment at 6 months 18% (control) and 40%
(IPS); dropout 15% per follow-up wave, more likely after low quality of life or no
work; age, site effects and score scales as in ``make_ips_trial``.

References
----------
Winsper C, Crawford-Docherty A, Weich S, Fenton S-J, Singh SP (2020). How do
recovery-oriented interventions contribute to personal mental health recovery? A
systematic review and logic model. Clinical Psychology Review 76:101815.
doi:10.1016/j.cpr.2020.101815
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, special

from pathmodels.data.make_ips_trial import (
    AGE_EFFECT,
    AGE_MEAN,
    AGE_SD,
    N_SITES,
    QOL_SCALE,
    SELFEST_SCALE,
    SITE_EFFECTS,
    SUPPORT_SCALE,
    _age_distribution,
    _to_scale,
)

__all__ = ["SEED", "TARGET_DROPOUT", "TARGET_RATES", "Intercepts", "calibrate", "main", "simulate"]

#: Seed of the published file.
SEED = 101816
#: Seed of the auxiliary sample used only to calibrate the intercepts.
CALIBRATION_SEED = 2020
CALIBRATION_N = 400_000

N = 600
WAVES = 3
#: Expected employment rate by wave and arm (wave 3: cited rates; others: assumptions).
TARGET_RATES = {1: {0: 0.10, 1: 0.10}, 2: {0: 0.18, 1: 0.40}, 3: {0: 0.25, 1: 0.55}}
#: Expected share of those present at the previous wave who drop out (assumption).
TARGET_DROPOUT = {2: 0.15, 3: 0.15}

# Coefficients (all assumptions).
BASELINE_CORR = 0.30
SELFEST_TO_EMPLOY = 0.20
SUPPORT_TO_EMPLOY = 0.15
EMPLOY_PERSISTENCE = 1.20
SELFEST_STABILITY = 0.60
SUPPORT_STABILITY = 0.60
EMPLOY_TO_SELFEST = 0.40
EMPLOY_TO_SUPPORT = 0.25
RESIDUAL_SD = 0.80
RESIDUAL_CORR = 0.20
QOL_STABILITY = 0.30
SELFEST_TO_QOL = 0.35
SUPPORT_TO_QOL = 0.25
QOL_RESIDUAL_SD = 0.90
DROPOUT_QOL = -0.50
DROPOUT_EMPLOY = -0.30


@dataclass(frozen=True)
class Intercepts:
    """Calibrated intercepts: employment ``employ[wave][arm]``, dropout ``dropout[wave]``."""

    employ: dict[int, dict[int, float]]
    dropout: dict[int, float]


def _solve(values: np.ndarray, target: float, link: str) -> float:
    """Intercept c such that mean(link(c + values)) equals target."""
    cdf = special.ndtr if link == "probit" else special.expit
    return float(optimize.brentq(lambda c: cdf(c + values).mean() - target, -10, 10, xtol=1e-12))


def _run(
    n: int, rng: np.random.Generator, fixed: Intercepts | None
) -> tuple[pd.DataFrame, Intercepts]:
    """Simulate *n* people; calibrate the intercepts on the way when *fixed* is None."""
    per_site = n // N_SITES
    site = np.repeat(np.arange(1, N_SITES + 1), per_site)
    arm = np.concatenate(
        [rng.permutation(np.repeat([0, 1], per_site // 2)) for _ in range(N_SITES)]
    )
    age_years = _age_distribution().rvs(size=n, random_state=rng)
    context = SITE_EFFECTS[site - 1] + AGE_EFFECT * (age_years - AGE_MEAN) / AGE_SD

    employ_c: dict[int, dict[int, float]] = {}
    dropout_c: dict[int, float] = {}
    columns: dict[str, np.ndarray] = {
        "id": np.arange(1, n + 1),
        "site": site,
        "arm": arm,
        "age": np.floor(age_years).astype(int),
    }
    present = np.ones(n, dtype=bool)
    z_se = z_ss = z_q = employ = qol_obs = np.zeros(n)
    for wave in range(1, WAVES + 1):
        # Dropout before this wave depends on what was observed at the previous one.
        if wave > 1:
            x = DROPOUT_QOL * (qol_obs - QOL_SCALE[0]) / QOL_SCALE[1] + DROPOUT_EMPLOY * employ
            if fixed is None:
                dropout_c[wave] = _solve(x[present], TARGET_DROPOUT[wave], "logit")
            d = fixed.dropout[wave] if fixed else dropout_c[wave]
            present &= rng.random(n) >= special.expit(d + x)

        if wave == 1:
            cov = np.array([[1.0, BASELINE_CORR], [BASELINE_CORR, 1.0]])
            z = rng.multivariate_normal(np.zeros(2), cov, size=n, method="cholesky")
            new_se, new_ss = z[:, 0], z[:, 1]
            push = SELFEST_TO_EMPLOY * new_se + SUPPORT_TO_EMPLOY * new_ss + context
        else:
            cov = RESIDUAL_SD**2 * np.array([[1.0, RESIDUAL_CORR], [RESIDUAL_CORR, 1.0]])
            e = rng.multivariate_normal(np.zeros(2), cov, size=n, method="cholesky")
            new_se = SELFEST_STABILITY * z_se + EMPLOY_TO_SELFEST * employ + e[:, 0]
            new_ss = SUPPORT_STABILITY * z_ss + EMPLOY_TO_SUPPORT * employ + e[:, 1]
            push = (
                EMPLOY_PERSISTENCE * employ
                + SELFEST_TO_EMPLOY * z_se
                + SUPPORT_TO_EMPLOY * z_ss
                + context
            )
        if fixed is None:
            employ_c[wave] = {
                a: _solve(push[arm == a], TARGET_RATES[wave][a], "probit") for a in (0, 1)
            }
        rates = fixed.employ[wave] if fixed else employ_c[wave]
        intercept = np.where(arm == 1, rates[1], rates[0])
        new_employ = (intercept + push + rng.standard_normal(n) > 0).astype(float)
        if wave == 1:
            new_q = SELFEST_TO_QOL * new_se + SUPPORT_TO_QOL * new_ss + rng.standard_normal(n)
        else:
            new_q = (
                QOL_STABILITY * z_q
                + SELFEST_TO_QOL * new_se
                + SUPPORT_TO_QOL * new_ss
                + QOL_RESIDUAL_SD * rng.standard_normal(n)
            )
        z_se, z_ss, z_q, employ = new_se, new_ss, new_q, new_employ
        qol_obs = _to_scale(z_q, QOL_SCALE, 1.0 / 12.0)

        missing = ~present
        columns[f"employ_{wave}"] = _masked(employ, missing)
        columns[f"selfest_{wave}"] = _masked(_to_scale(z_se, SELFEST_SCALE, 1.0), missing)
        columns[f"support_{wave}"] = _masked(_to_scale(z_ss, SUPPORT_SCALE, 1.0), missing)
        columns[f"qol_{wave}"] = _masked(np.round(qol_obs, 2), missing, integer=False)
    return pd.DataFrame(columns), Intercepts(employ_c, dropout_c)


def _masked(values: np.ndarray, missing: np.ndarray, *, integer: bool = True) -> pd.Series:
    """Values with the dropped-out people set missing (nullable integers where whole)."""
    series = pd.Series(values, dtype="Int64" if integer else "Float64")
    series[missing] = pd.NA
    return series


def calibrate() -> Intercepts:
    """Calibrate the employment and dropout intercepts on a large auxiliary sample.

    The sample (``CALIBRATION_N`` people from ``CALIBRATION_SEED``) runs through the same
    model; at each wave the intercepts are solved so that the mean predicted
    probability equals the target. Only the intercepts are kept.

    Returns
    -------
    Intercepts
    """
    rng = np.random.default_rng(np.random.SeedSequence(CALIBRATION_SEED))
    _, intercepts = _run(CALIBRATION_N, rng, None)
    return intercepts


def simulate(n: int = N, *, seed: int = SEED) -> pd.DataFrame:
    """Simulate the panel.

    Parameters
    ----------
    n : int, default 600
        Number of participants; a multiple of ``2 * N_SITES``.
    seed : int, default SEED
        Seed of the ``SeedSequence`` behind the one random generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, site, arm, age`` and ``employ_t, selfest_t, support_t, qol_t`` for
        waves t = 1, 2, 3 (missing after dropout).
    """
    if n % (2 * N_SITES):
        raise ValueError(f"n must be a multiple of {2 * N_SITES}, got {n}.")
    intercepts = calibrate()
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    data, _ = _run(n, rng, intercepts)
    return data


def main() -> None:
    """Write ``ips_panel.csv`` next to this file and print a short summary."""
    data = simulate()
    path = Path(__file__).with_name("ips_panel.csv")
    data.to_csv(path, index=False)
    print(f"wrote {path} ({len(data)} rows)")
    for wave in range(1, WAVES + 1):
        col = f"employ_{wave}"
        rates = data.groupby("arm")[col].mean()
        observed = data[col].notna().mean()
        print(
            f"wave {wave}: observed {observed:.3f}; employment control {rates[0]:.3f}, "
            f"IPS {rates[1]:.3f}"
        )


if __name__ == "__main__":
    main()
