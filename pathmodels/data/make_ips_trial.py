"""Simulate ``ips_trial.csv``: a two-arm trial of Individual Placement and Support.

The bundled example dataset for the chain

    IPS -> competitive employment -> {self-esteem, social support} -> quality of life

(model ``ips_employment_qol`` in the library). It is simulated, not real: no person in
it exists. Rebuild it with::

    python -m pathmodels.data.make_ips_trial

which writes ``pathmodels/data/ips_trial.csv`` next to this file; the same ``SEED``
gives the same file on every machine (one ``numpy.random.Generator`` seeded from a
``SeedSequence``; no global random state).

Design
------
N = 600 people at 4 sites (150 each), randomised 1:1 within site (75 IPS, 75 control).
Outcomes are measured once, at 18 months.

Data-generating model
---------------------
Working on a standardised scale (residual variances 1), with ``z_age`` the age in
SD units::

    employ*  = b0 + b_arm*arm + u_site + g_age*z_age + e_emp,  employ = 1 if employ* > 0
    z_selfest = 0.50*employ + e_se
    z_support = 0.30*employ + e_ss,                 corr(e_se, e_ss) = 0.20
    z_qol     = 0.35*z_selfest + 0.25*z_support + 0.00*arm + e_qol

then each score is put on its scale (rounded and kept in range):
``selfest = 27 + 4.5*z_selfest`` on 10-40, ``support = 55 + 13*z_support`` on 12-84,
``qol = 4.3 + 0.8*z_qol`` on 1-7 in steps of 1/12.

Sources and assumptions
-----------------------
Cited (Winsper et al., 2020, as summarised in the project's logic model): IPS roughly
doubles competitive employment compared with other vocational services, with
meta-analytic rates near 55-60% (IPS) and 20-25% (control). The script takes the
conservative ends, 55% and 25%, and chooses ``b0`` and ``b_arm`` so that these are the
expected employment rates of the two arms once site and age effects are averaged over.
The review also reads the programme-level effect of IPS on quality of life as small and
indirect (through employment); hence no direct arm -> qol path.

Assumptions (not evidence; chosen to be plausible for an illustration):

- age ~ normal(38, 10) truncated to 18-65 years, rounded down to whole years;
- site effects on the employment propensity -0.15, -0.05, 0.05, 0.15 (local labour
  markets differ); age effect ``g_age = -0.15`` per SD (older people find work a
  little less often);
- employment raises self-esteem by 0.50 and social support by 0.30 residual SDs;
  residual correlation of self-esteem and support 0.20;
- self-esteem (0.35) and support (0.25) raise quality of life; no direct effect of the
  arm or of employment on quality of life other than through them;
- the means and SDs that put the scores on their scales (self-esteem 27 and 4.5,
  a Rosenberg-like 10-40 scale; support 55 and 13, a 12-84 sum of twelve 1-7 items;
  quality of life 4.3 and 0.8, a MANSA-like mean of twelve 1-7 satisfaction ratings).

The standardised paths match the population model of ``ips_employment_qol``, except
that arm -> employ is about 0.81 rather than 0.80 here: site and age add latent
variance, so a slightly larger shift gives the same rates
(``pathmodels.library.population("ips_employment_qol")``).

References
----------
Winsper C, Crawford-Docherty A, Weich S, Fenton S-J, Singh SP (2020). How do
recovery-oriented interventions contribute to personal mental health recovery? A
systematic review and logic model. Clinical Psychology Review 76:101815.
doi:10.1016/j.cpr.2020.101815
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

__all__ = ["SEED", "TARGET_RATES", "calibrate_employment", "simulate", "main"]

#: Seed of the published file (the article number of Winsper et al., 2020).
SEED = 101815
#: Expected competitive-employment rate by arm (cited; conservative ends of the ranges).
TARGET_RATES = {0: 0.25, 1: 0.55}

N = 600
N_SITES = 4
SITE_EFFECTS = np.array([-0.15, -0.05, 0.05, 0.15])  # assumption
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 38.0, 10.0, 18.0, 65.0  # assumption
AGE_EFFECT = -0.15  # assumption: probit units per SD of age

EMPLOY_TO_SELFEST = 0.50  # assumption
EMPLOY_TO_SUPPORT = 0.30  # assumption
RESIDUAL_CORR_SE_SS = 0.20  # assumption
SELFEST_TO_QOL = 0.35  # assumption
SUPPORT_TO_QOL = 0.25  # assumption
ARM_TO_QOL = 0.00  # assumption (review: effect on QoL indirect)

# Scales (assumptions): mean and SD of the standardised score, range, rounding step.
SELFEST_SCALE = (27.0, 4.5, 10, 40)
SUPPORT_SCALE = (55.0, 13.0, 12, 84)
QOL_SCALE = (4.3, 0.8, 1.0, 7.0)


def _age_distribution() -> stats.rv_continuous:
    lower = (AGE_MIN - AGE_MEAN) / AGE_SD
    upper = (AGE_MAX - AGE_MEAN) / AGE_SD
    return stats.truncnorm(lower, upper, loc=AGE_MEAN, scale=AGE_SD)


def calibrate_employment() -> tuple[float, float]:
    """Find the intercept and arm effect that give the target employment rates.

    The expected rate in arm ``a`` is the average over the four (equally sized) sites
    and over the age distribution of ``Phi(b0 + b_arm*a + u_site + g_age*z_age)``.
    It is computed by numerical integration, so the calibration uses no random draws.

    Returns
    -------
    tuple of float
        ``(b0, b_arm)`` on the probit scale.
    """
    age = _age_distribution()

    def expected_rate(shift: float) -> float:
        def integrand(years: float) -> float:
            z_age = (years - AGE_MEAN) / AGE_SD
            return float(
                np.mean(special.ndtr(shift + SITE_EFFECTS + AGE_EFFECT * z_age)) * age.pdf(years)
            )

        value, _ = integrate.quad(integrand, AGE_MIN, AGE_MAX)
        return float(value)

    def solve(target: float) -> float:
        return float(optimize.brentq(lambda s: expected_rate(s) - target, -5.0, 5.0, xtol=1e-12))

    b0 = solve(TARGET_RATES[0])
    return b0, solve(TARGET_RATES[1]) - b0


def _to_scale(z: np.ndarray, scale: tuple[float, float, float, float], step: float) -> np.ndarray:
    mean, sd, low, high = scale
    return np.clip(np.round((mean + sd * z) / step) * step, low, high)


def simulate(n: int = N, *, seed: int = SEED) -> pd.DataFrame:
    """Simulate the trial.

    Parameters
    ----------
    n : int, default 600
        Number of participants; a multiple of ``2 * N_SITES`` (equal sites, 1:1 within
        site).
    seed : int, default SEED
        Seed of the ``SeedSequence`` behind the one random generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, site, arm, age, employ, selfest, support, qol``.
    """
    if n % (2 * N_SITES):
        raise ValueError(f"n must be a multiple of {2 * N_SITES}, got {n}.")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    b0, b_arm = calibrate_employment()

    per_site = n // N_SITES
    site = np.repeat(np.arange(1, N_SITES + 1), per_site)
    # 1:1 randomisation within site (permuted block of the whole site).
    arm = np.concatenate(
        [rng.permutation(np.repeat([0, 1], per_site // 2)) for _ in range(N_SITES)]
    )
    age_years = _age_distribution().rvs(size=n, random_state=rng)
    z_age = (age_years - AGE_MEAN) / AGE_SD

    propensity = b0 + b_arm * arm + SITE_EFFECTS[site - 1] + AGE_EFFECT * z_age
    employ = (propensity + rng.standard_normal(n) > 0).astype(int)

    cov = np.array([[1.0, RESIDUAL_CORR_SE_SS], [RESIDUAL_CORR_SE_SS, 1.0]])
    residuals = rng.multivariate_normal(np.zeros(2), cov, size=n, method="cholesky")
    z_selfest = EMPLOY_TO_SELFEST * employ + residuals[:, 0]
    z_support = EMPLOY_TO_SUPPORT * employ + residuals[:, 1]
    z_qol = (
        SELFEST_TO_QOL * z_selfest
        + SUPPORT_TO_QOL * z_support
        + ARM_TO_QOL * arm
        + rng.standard_normal(n)
    )

    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "site": site,
            "arm": arm,
            "age": np.floor(age_years).astype(int),
            "employ": employ,
            "selfest": _to_scale(z_selfest, SELFEST_SCALE, 1.0).astype(int),
            "support": _to_scale(z_support, SUPPORT_SCALE, 1.0).astype(int),
            "qol": np.round(_to_scale(z_qol, QOL_SCALE, 1.0 / 12.0), 2),
        }
    )


def main() -> None:
    """Write ``ips_trial.csv`` next to this file and print a short summary."""
    data = simulate()
    path = Path(__file__).with_name("ips_trial.csv")
    data.to_csv(path, index=False)
    rates = data.groupby("arm")["employ"].mean()
    print(f"wrote {path} ({len(data)} rows)")
    print(f"employment: control {rates[0]:.3f}, IPS {rates[1]:.3f}")
    print(data.groupby("arm")[["selfest", "support", "qol"]].mean().round(2).to_string())


if __name__ == "__main__":
    main()
