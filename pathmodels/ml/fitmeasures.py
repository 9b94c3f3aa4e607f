"""Fit measures of a normal-theory ML fit, with lavaan's definitions.

Pure functions of sample and model-implied moments (or of log-likelihoods) and counts.
The fitting engine calls them after estimation; nothing here fits a model.

Every definition was read from lavaan 0.6-14's own code (``lav_fit_measures``,
``lav_fit_cfi``, ``lav_fit_rmsea_ci``, ``lav_fit_srmr_lavobject``, ``lav_model_loglik``,
``lav_partable_ndat``, ``lav_partable_indep_or_unrestricted``, ...) and is checked against
``fitMeasures()`` in ``tests/ml/test_fitmeasures.py`` with numbers made by
``tests/ml/data/fitmeasures_reference.R``. The points where semopy goes wrong, and the
reason this module exists, are:

* **Data points.** Per group ``p(p+1)/2`` covariance moments, plus ``p`` means with a
  meanstructure, *minus* the ``q(q+1)/2`` (+ ``q``) moments of the ``q`` observed
  exogenous covariates when they are ``fixed.x`` (their moments are fixed at the sample
  values, neither data nor parameters). ``df = data points - (npar - n_eq_constraints)``.
* **npar.** lavaan (>= 0.6) turns a label shared by several parameters into ``==``
  constraints: the parameter table keeps one free row per occurrence and
  ``fitMeasures()["npar"]`` reports free rows minus the rank of the equality
  constraints (28 = 31 - 3 for the PoliticalDemocracy model with labels ``a, b, c``).
  AIC, BIC and df all use that net count.
* **Log-likelihood.** The full normal log-likelihood; with ``fixed.x`` lavaan subtracts
  the marginal log-likelihood of the exogenous block, i.e. reports the log-likelihood of
  the endogenous variables *conditional* on the covariates (for the model and the
  saturated model alike, so the chi-square is unchanged).
* **Baseline model.** Free variances (and means) of all observed variables, zero
  covariances, except that the covariances among observed exogenous covariates stay
  saturated: fixed at their sample values with ``fixed.x = TRUE``, free with
  ``fixed.x = FALSE`` (lavaan does this for ``mimic = "lavaan"`` either way). Covariances
  between covariates and the other variables are zero. Hence the same baseline chi-square
  and ``baseline_df = p(p+1)/2 - q(q+1)/2 - (p - q)`` per group whatever ``fixed.x``.
* **RMSEA.** ``sqrt(max(chisq / (N df) - 1/N, 0)) * sqrt(G)`` with the total ``N`` (not
  ``N - 1``; lavaan uses ``N - G`` only for ``likelihood = "wishart"``), its interval by
  inverting the non-central chi-square in the non-centrality ``lambda``
  (``sqrt(lambda / (N df)) * sqrt(G)``), the close-fit p-value with non-centrality
  ``N df h0^2 / G``.
* **SRMR.** lavaan's ``srmr`` for continuous data is ``srmr_bentler``: residuals divided
  by the *observed* standard deviations, the mean residuals included when there is a
  meanstructure, the exogenous block included (its residuals are zero but it counts in
  the denominator), groups averaged with weights ``n_g / N``. Like lavaan, entries
  whose absolute value is below ``1e-5`` are left unstandardised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from pathmodels._typing import BoolArray, FloatArray
from pathmodels.exceptions import DataError, SpecificationError

__all__ = [
    "GroupMoments",
    "baseline_df",
    "baseline_loglik",
    "chisq_from_fmin",
    "data_points",
    "fit_measures",
    "fit_measures_from_loglik",
    "ml_fmin",
    "model_loglik",
    "rmsea",
    "rmsea_ci",
    "unrestricted_loglik",
]

_LOG_2PI = math.log(2.0 * math.pi)
# R's all.equal(x, 0) is TRUE when |x| <= sqrt(.Machine$double.eps); lavaan uses it to
# decide "exactly zero" in CFI, NFI, IFI and RNI.
_R_ALL_EQUAL_TOL = math.sqrt(np.finfo(float).eps)
# lav_residuals_rescale leaves entries with |value| < 1e-5 unstandardised.
_RESCALE_NEAR_ZERO = 1e-5


def _is_r_zero(value: float) -> bool:
    return abs(value) <= _R_ALL_EQUAL_TOL


def _as_matrix(value: object, name: str, group: int) -> FloatArray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"group {group}: {name}= must be a numeric matrix ({exc}).") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise DataError(
            f"group {group}: {name}= must be a square (p, p) matrix, got shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise DataError(f"group {group}: {name}= contains NaN or infinite values.")
    scale = max(1.0, float(np.max(np.abs(array))))
    if not np.allclose(array, array.T, rtol=0.0, atol=1e-10 * scale):
        raise DataError(f"group {group}: {name}= is not symmetric.")
    array = (array + array.T) / 2.0
    array.setflags(write=False)
    return array


def _as_vector(value: object, name: str, group: int, p: int) -> FloatArray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"group {group}: {name}= must be a numeric vector ({exc}).") from exc
    if array.shape != (p,):
        raise DataError(f"group {group}: {name}= must have shape ({p},), got {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise DataError(f"group {group}: {name}= contains NaN or infinite values.")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, kw_only=True)
class GroupMoments:
    """Sample and model-implied moments of one group, the input of the fit measures.

    Parameters
    ----------
    n : int
        Number of observations in the group (after listwise deletion).
    sample_cov : array_like, shape (p, p)
        Sample covariance matrix with the divisor ``n`` (lavaan's ``sampstat``), not
        ``n - 1``.
    implied_cov : array_like, shape (p, p)
        Model-implied covariance matrix at the estimates, variables in the same order.
    sample_mean : array_like, shape (p,), optional
        Sample means. Needed with a meanstructure; without one it may be omitted.
    implied_mean : array_like, shape (p,), optional
        Model-implied means; required with a meanstructure and must be omitted without.
    exo : array_like of bool, shape (p,), optional
        Marks the observed exogenous covariates (lavaan's ``ov.x``: observed variables
        that only ever appear as predictors in ``~`` regressions). Default: none.
    group : int, default 1
        1-based group number, used in error messages only.

    Raises
    ------
    DataError
        If shapes disagree, values are not finite, or ``sample_cov`` is not positive
        definite.
    SpecificationError
        If ``implied_cov`` is not positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> g = GroupMoments(n=100, sample_cov=np.eye(2), implied_cov=np.eye(2))
    >>> g.p, int(g.exo.sum())
    (2, 0)
    """

    n: int
    sample_cov: FloatArray
    implied_cov: FloatArray
    sample_mean: FloatArray | None = None
    implied_mean: FloatArray | None = None
    exo: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    group: int = 1

    def __post_init__(self) -> None:
        g = self.group
        if isinstance(self.n, bool) or int(self.n) != self.n or self.n < 1:
            raise DataError(f"group {g}: n= must be a positive integer, got {self.n!r}.")
        object.__setattr__(self, "n", int(self.n))
        sample_cov = _as_matrix(self.sample_cov, "sample_cov", g)
        implied_cov = _as_matrix(self.implied_cov, "implied_cov", g)
        p = sample_cov.shape[0]
        if implied_cov.shape != sample_cov.shape:
            raise DataError(
                f"group {g}: implied_cov= has shape {implied_cov.shape} but sample_cov= has "
                f"{sample_cov.shape}; pass both over the same observed variables."
            )
        if np.linalg.eigvalsh(sample_cov)[0] <= 0:
            raise DataError(
                f"group {g}: sample_cov= is not positive definite (a variable is constant "
                "or a linear combination of others); drop or combine such variables."
            )
        if np.linalg.eigvalsh(implied_cov)[0] <= 0:
            raise SpecificationError(
                f"group {g}: implied_cov= is not positive definite, so the likelihood and "
                "the fit measures are undefined; inspect the estimates for negative "
                "variances or correlations beyond +-1."
            )
        object.__setattr__(self, "sample_cov", sample_cov)
        object.__setattr__(self, "implied_cov", implied_cov)
        for name in ("sample_mean", "implied_mean"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _as_vector(value, name, g, p))
        if np.size(self.exo) == 0:
            exo = np.zeros(p, dtype=bool)
        else:
            exo = np.array(self.exo)
            if exo.shape != (p,) or exo.dtype != np.bool_:
                raise DataError(
                    f"group {g}: exo= must be a boolean array of shape ({p},), got "
                    f"dtype {exo.dtype} and shape {exo.shape}."
                )
        exo.setflags(write=False)
        object.__setattr__(self, "exo", exo)

    @property
    def p(self) -> int:
        """Number of observed variables."""
        return int(self.sample_cov.shape[0])

    @property
    def q(self) -> int:
        """Number of observed exogenous covariates."""
        return int(self.exo.sum())


# --------------------------------------------------------------------------- counts


def _check_counts(
    n_observed: Sequence[int], n_exogenous: Sequence[int] | None
) -> list[tuple[int, int]]:
    exo = [0] * len(n_observed) if n_exogenous is None else list(n_exogenous)
    if len(exo) != len(n_observed):
        raise SpecificationError(
            f"n_exogenous= has {len(exo)} groups but n_observed= has {len(n_observed)}."
        )
    if len(n_observed) == 0:
        raise SpecificationError("n_observed= is empty; give one count per group.")
    out = []
    for g, (p, q) in enumerate(zip(n_observed, exo, strict=True), start=1):
        if not 0 <= q <= p or p < 1:
            raise SpecificationError(
                f"group {g}: need 1 <= n_observed and 0 <= n_exogenous <= n_observed, "
                f"got n_observed={p}, n_exogenous={q}."
            )
        out.append((int(p), int(q)))
    return out


def data_points(
    n_observed: Sequence[int],
    n_exogenous: Sequence[int] | None = None,
    *,
    meanstructure: bool,
    fixed_x: bool = True,
) -> int:
    """Count the sample moments a model is fitted to, as lavaan's ``lav_partable_ndat``.

    Parameters
    ----------
    n_observed : sequence of int
        Number of observed variables ``p`` in each group.
    n_exogenous : sequence of int, optional
        Number of observed exogenous covariates ``q`` in each group (default 0).
    meanstructure : bool
        Whether means are modelled.
    fixed_x : bool, default True
        Whether the covariates' moments are fixed at their sample values (lavaan's
        default ``fixed.x = TRUE``); then they are not data points.

    Returns
    -------
    int
        ``sum_g p(p+1)/2 [+ p] - (q(q+1)/2 [+ q] if fixed_x)``.

    Examples
    --------
    >>> data_points([5], [2], meanstructure=False)
    12
    >>> data_points([5], [2], meanstructure=False, fixed_x=False)
    15
    """
    total = 0
    for p, q in _check_counts(n_observed, n_exogenous):
        total += p * (p + 1) // 2 + (p if meanstructure else 0)
        if fixed_x:
            total -= q * (q + 1) // 2 + (q if meanstructure else 0)
    return total


def baseline_df(n_observed: Sequence[int], n_exogenous: Sequence[int] | None = None) -> int:
    """Degrees of freedom of lavaan's baseline (independence) model.

    Parameters
    ----------
    n_observed : sequence of int
        Number of observed variables ``p`` in each group.
    n_exogenous : sequence of int, optional
        Number of observed exogenous covariates ``q`` in each group (default 0).

    Returns
    -------
    int
        ``sum_g p(p+1)/2 - q(q+1)/2 - (p - q)``: every covariance except those among the
        covariates, which the baseline keeps saturated. Means and the covariates' own
        moments cancel between data points and parameters, with or without a
        meanstructure and with or without ``fixed.x``.

    Examples
    --------
    >>> baseline_df([5], [2])
    9
    """
    return sum(
        p * (p + 1) // 2 - q * (q + 1) // 2 - (p - q)
        for p, q in _check_counts(n_observed, n_exogenous)
    )


# ----------------------------------------------------------------- log-likelihoods


def _check_groups(groups: Sequence[GroupMoments], meanstructure: bool | None) -> None:
    if len(groups) == 0:
        raise SpecificationError("groups= is empty; pass one GroupMoments per group.")
    for g, group in enumerate(groups, start=1):
        if not isinstance(group, GroupMoments):
            raise SpecificationError(
                f"groups[{g - 1}] is a {type(group).__name__}, expected GroupMoments."
            )
        if meanstructure is None:
            continue
        if meanstructure and (group.sample_mean is None or group.implied_mean is None):
            raise SpecificationError(
                f"group {g}: meanstructure=True needs sample_mean= and implied_mean=."
            )
        if not meanstructure and group.implied_mean is not None:
            raise SpecificationError(
                f"group {g}: implied_mean= given but meanstructure=False; pass "
                "meanstructure=True if the model has intercepts, else implied_mean=None."
            )


def _logdet(matrix: FloatArray) -> float:
    sign, value = np.linalg.slogdet(matrix)
    if sign <= 0:  # pragma: no cover - GroupMoments checks positive definiteness
        return math.nan
    return float(value)


def _mvnorm_loglik(
    n: int, sample_cov: FloatArray, mean_diff: FloatArray | None, sigma: FloatArray
) -> float:
    """Evaluate ``lav_mvnorm_loglik_samplestats`` without the x correction."""
    p = sample_cov.shape[0]
    sigma_inv = np.linalg.inv(sigma)
    dist = float(np.sum(sigma_inv * sample_cov))
    if mean_diff is not None:
        dist += float(mean_diff @ sigma_inv @ mean_diff)
    return -n / 2.0 * (p * _LOG_2PI + _logdet(sigma) + dist)


def _saturated_loglik(n: int, sample_cov: FloatArray) -> float:
    p = sample_cov.shape[0]
    return -n / 2.0 * (p * _LOG_2PI + _logdet(sample_cov) + p)


def _exo_loglik(group: GroupMoments, fixed_x: bool) -> float:
    """Marginal log-likelihood of the fixed.x block (0 without one)."""
    if not fixed_x or group.q == 0:
        return 0.0
    x = group.exo
    return _saturated_loglik(group.n, group.sample_cov[np.ix_(x, x)])


def _check_exo_fixed(group: GroupMoments, g: int, meanstructure: bool) -> None:
    """With fixed.x the implied covariate moments must equal the sample ones."""
    if group.q == 0:
        return
    x = group.exo
    s_xx = group.sample_cov[np.ix_(x, x)]
    i_xx = group.implied_cov[np.ix_(x, x)]
    scale = max(1.0, float(np.max(np.abs(s_xx))))
    bad = not np.allclose(i_xx, s_xx, rtol=1e-6, atol=1e-8 * scale)
    if meanstructure and group.implied_mean is not None and group.sample_mean is not None:
        bad = bad or not np.allclose(
            group.implied_mean[x], group.sample_mean[x], rtol=1e-6, atol=1e-8 * scale
        )
    if bad:
        raise SpecificationError(
            f"group {g}: with fixed_x=True the implied moments of the exogenous covariates "
            "(exo=) must equal their sample moments; check exo= marks only covariates or "
            "pass fixed_x=False."
        )


def model_loglik(
    groups: Sequence[GroupMoments], *, meanstructure: bool, fixed_x: bool = True
) -> float:
    """Compute the normal log-likelihood of the fitted model, as lavaan's ``logl``.

    Parameters
    ----------
    groups : sequence of GroupMoments
        Sample and implied moments of each group.
    meanstructure : bool
        Whether means are modelled; without, the implied means are the sample means.
    fixed_x : bool, default True
        With ``True`` (lavaan's default) the marginal log-likelihood of the exogenous
        covariates (``exo``) is subtracted, giving the log-likelihood conditional on them.

    Returns
    -------
    float
        ``sum_g -n_g/2 [p log 2pi + log|Sigma| + tr(S Sigma^-1) + (m-mu)' Sigma^-1 (m-mu)]``
        minus, with ``fixed_x``, the same expression for the covariate block at its sample
        moments.

    Examples
    --------
    >>> import numpy as np
    >>> g = GroupMoments(n=10, sample_cov=np.eye(2), implied_cov=np.eye(2))
    >>> round(model_loglik([g], meanstructure=False), 4)
    -28.3788
    """
    _check_groups(groups, meanstructure)
    total = 0.0
    for g, group in enumerate(groups, start=1):
        if fixed_x:
            _check_exo_fixed(group, g, meanstructure)
        diff = None
        if meanstructure:
            assert group.sample_mean is not None and group.implied_mean is not None
            diff = group.sample_mean - group.implied_mean
        total += _mvnorm_loglik(group.n, group.sample_cov, diff, group.implied_cov)
        total -= _exo_loglik(group, fixed_x)
    return total


def unrestricted_loglik(groups: Sequence[GroupMoments], *, fixed_x: bool = True) -> float:
    """Log-likelihood of the saturated model, as lavaan's ``unrestricted.logl``.

    Parameters
    ----------
    groups : sequence of GroupMoments
        Moments of each group; only ``n``, ``sample_cov`` and ``exo`` are used.
    fixed_x : bool, default True
        Subtract the covariates' marginal log-likelihood, as :func:`model_loglik`.

    Returns
    -------
    float
        ``sum_g -n_g/2 (p log 2pi + log|S| + p)`` (minus the covariate block).

    Examples
    --------
    >>> import numpy as np
    >>> g = GroupMoments(n=10, sample_cov=np.eye(2), implied_cov=np.eye(2))
    >>> round(unrestricted_loglik([g]), 4)
    -28.3788
    """
    _check_groups(groups, None)
    return sum(
        _saturated_loglik(group.n, group.sample_cov) - _exo_loglik(group, fixed_x)
        for group in groups
    )


def _baseline_cov(group: GroupMoments) -> FloatArray:
    """Implied covariance of lavaan's baseline model for one group."""
    s = group.sample_cov
    base = np.diag(np.diag(s))
    x = group.exo
    if group.q:
        base[np.ix_(x, x)] = s[np.ix_(x, x)]
    return base


def baseline_loglik(groups: Sequence[GroupMoments], *, fixed_x: bool = True) -> float:
    """Log-likelihood of lavaan's baseline (independence) model, in closed form.

    Parameters
    ----------
    groups : sequence of GroupMoments
        Moments of each group; only ``n``, ``sample_cov`` and ``exo`` are used.
    fixed_x : bool, default True
        Subtract the covariates' marginal log-likelihood, as :func:`model_loglik`.

    Returns
    -------
    float
        The log-likelihood at the baseline estimates: means at the sample means,
        variances at the sample variances, the covariates' covariance block at its sample
        values, every other covariance zero.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> g = GroupMoments(n=10, sample_cov=s, implied_cov=s)
    >>> round(2 * (unrestricted_loglik([g]) - baseline_loglik([g])), 4)  # -n log(1 - r^2)
    2.8768
    """
    _check_groups(groups, None)
    return sum(
        _mvnorm_loglik(group.n, group.sample_cov, None, _baseline_cov(group))
        - _exo_loglik(group, fixed_x)
        for group in groups
    )


def _f_ml(group: GroupMoments, meanstructure: bool) -> float:
    s, sigma = group.sample_cov, group.implied_cov
    sigma_inv = np.linalg.inv(sigma)
    value = _logdet(sigma) - _logdet(s) + float(np.sum(sigma_inv * s)) - group.p
    if meanstructure:
        assert group.sample_mean is not None and group.implied_mean is not None
        diff = group.sample_mean - group.implied_mean
        value += float(diff @ sigma_inv @ diff)
    return value


def ml_fmin(groups: Sequence[GroupMoments], *, meanstructure: bool) -> float:
    """Minimum of lavaan's ML objective, as ``fitMeasures()["fmin"]``.

    Parameters
    ----------
    groups : sequence of GroupMoments
        Sample and implied moments of each group.
    meanstructure : bool
        Whether means are modelled.

    Returns
    -------
    float
        ``sum_g (n_g / N) F_g / 2`` with ``F_g = log|Sigma| - log|S| + tr(S Sigma^-1) - p
        + (m - mu)' Sigma^-1 (m - mu)``.

    Examples
    --------
    >>> import numpy as np
    >>> g = GroupMoments(n=10, sample_cov=np.eye(2), implied_cov=2 * np.eye(2))
    >>> round(ml_fmin([g], meanstructure=False), 6)
    0.193147
    """
    _check_groups(groups, meanstructure)
    ntotal = sum(group.n for group in groups)
    return sum(group.n / ntotal * _f_ml(group, meanstructure) for group in groups) / 2.0


def chisq_from_fmin(fmin: float, ntotal: int) -> float:
    """Turn lavaan's ``fmin`` into the ML chi-square, ``2 N fmin``.

    Parameters
    ----------
    fmin : float
        Minimum of the ML objective (:func:`ml_fmin`).
    ntotal : int
        Total number of observations over groups (``N``, not ``N - 1``: lavaan's
        default ``likelihood = "normal"``).

    Returns
    -------
    float
        The likelihood-ratio statistic against the saturated model.

    Examples
    --------
    >>> chisq_from_fmin(0.25, 100)
    50.0
    """
    return 2.0 * ntotal * fmin


# ------------------------------------------------------------- incremental indices


def _cfi(x2: float, df: float, x2_null: float, df_null: float) -> float:
    t1 = max(x2 - df, 0.0)
    t2 = max(x2 - df, x2_null - df_null, 0.0)
    if _is_r_zero(t1) and _is_r_zero(t2):
        return 1.0
    return 1.0 - t1 / t2


def _tli(x2: float, df: float, x2_null: float, df_null: float) -> float:
    t1 = (x2 - df) * df_null
    t2 = (x2_null - df_null) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    return 1.0


def _rfi(x2: float, df: float, x2_null: float, df_null: float) -> float:
    if df > df_null:
        return math.nan
    if df > 0 and df_null > 0:
        t1 = x2_null / df_null - x2 / df
        t2 = x2_null / df_null
        if t1 < 0 or t2 < 0:
            return 1.0
        return t1 / t2
    return 1.0


def _nfi(x2: float, df: float, x2_null: float, df_null: float) -> float:
    if df > df_null or _is_r_zero(x2_null):
        return math.nan
    if df > 0:
        return (x2_null - x2) / x2_null
    return 1.0


def _pnfi(x2: float, df: float, x2_null: float, df_null: float) -> float:
    if df_null > 0 and x2_null > 0:
        return (df / df_null) * ((x2_null - x2) / x2_null)
    return math.nan


def _ifi(x2: float, df: float, x2_null: float) -> float:
    t1 = x2_null - x2
    t2 = x2_null - df
    if t2 < 0:
        return 1.0
    if _is_r_zero(t2):
        return math.nan
    return t1 / t2


def _rni(x2: float, df: float, x2_null: float, df_null: float) -> float:
    t1 = x2 - df
    t2 = x2_null - df_null
    if _is_r_zero(t2):
        return math.nan
    return 1.0 - t1 / t2


def _chisq_pvalue(x2: float, df: float) -> float:
    if df <= 0:
        return math.nan
    return float(special.chdtrc(df, x2))


# -------------------------------------------------------------------------- RMSEA


def _check_rmsea_args(df: float, ntotal: float, n_groups: int) -> None:
    if ntotal <= 0 or n_groups < 1 or df < 0:
        raise SpecificationError(
            f"need ntotal > 0, n_groups >= 1 and df >= 0, got ntotal={ntotal}, "
            f"n_groups={n_groups}, df={df}."
        )


def rmsea(chisq: float, df: float, ntotal: float, *, n_groups: int = 1) -> float:
    """Root mean square error of approximation, lavaan's ``lav_fit_rmsea``.

    Parameters
    ----------
    chisq : float
        Chi-square statistic.
    df : float
        Its degrees of freedom.
    ntotal : float
        Total sample size ``N`` over groups.
    n_groups : int, default 1
        Number of groups ``G``.

    Returns
    -------
    float
        ``sqrt(max(chisq / (N df) - 1 / N, 0)) * sqrt(G)``; 0 when ``df == 0``.

    Notes
    -----
    lavaan (like Mplus) multiplies by ``sqrt(G)`` so that the RMSEA of a multigroup model
    is on the per-group scale (Steiger 1998).

    Examples
    --------
    >>> round(rmsea(85.3055, 24, 301), 4)  # HolzingerSwineford1939 3-factor CFA
    0.0921
    """
    _check_rmsea_args(df, ntotal, n_groups)
    if df <= 0:
        return 0.0
    return math.sqrt(max(chisq / ntotal / df - 1.0 / ntotal, 0.0)) * math.sqrt(n_groups)


def _pchisq(x: float, df: float, ncp: float) -> float:
    # scipy.special's ufuncs: the same cdf as scipy.stats.(nc)chi2, without its per-call
    # argument machinery (this runs ~20 times per fit, inside a root finder).
    if ncp <= 0:
        return float(special.chdtr(df, x))
    return float(special.chndtr(x, df, ncp))


def _find_root(func: object, upper: float) -> float:
    # brentq to machine precision; lavaan's uniroot stops at |d lambda| ~ 1.2e-4.
    return float(optimize.brentq(func, 0.0, upper, xtol=1e-14, rtol=4 * np.finfo(float).eps))  # type: ignore[arg-type]


def rmsea_ci(
    chisq: float, df: float, ntotal: float, *, n_groups: int = 1, level: float = 0.90
) -> tuple[float, float]:
    """Confidence interval of the RMSEA by inverting the non-central chi-square.

    Parameters
    ----------
    chisq : float
        Chi-square statistic.
    df : float
        Its degrees of freedom.
    ntotal : float
        Total sample size ``N`` over groups.
    n_groups : int, default 1
        Number of groups ``G``.
    level : float, default 0.90
        Confidence level.

    Returns
    -------
    tuple of float
        ``(lower, upper)``. The lower bound solves ``P(chi2_df(lambda) <= chisq) =
        (1 + level)/2`` for ``lambda`` on ``[0, chisq]``, the upper one ``= (1 - level)/2``
        on ``[0, max(N, 4 chisq)]``; each becomes ``sqrt(lambda / (N df)) sqrt(G)``, and 0
        where lavaan sets 0 (``df < 1``, no sign change on the bracket).

    Notes
    -----
    Same definition as ``lavaan:::lav_fit_rmsea_ci``, but the roots are found to machine
    precision, whereas lavaan's ``uniroot()`` stops within about ``1.2e-4`` on the
    ``lambda`` scale; the bounds can therefore differ from ``fitMeasures()`` in the fifth
    or sixth significant digit.

    Examples
    --------
    >>> lo, hi = rmsea_ci(85.3055, 24, 301)
    >>> round(lo, 4), round(hi, 4)
    (0.0714, 0.1137)
    """
    _check_rmsea_args(df, ntotal, n_groups)
    if not 0.0 < level < 1.0:
        raise SpecificationError(f"level= must lie strictly between 0 and 1, got {level}.")
    upper_perc = 1.0 - (1.0 - level) / 2.0
    lower_perc = (1.0 - level) / 2.0

    def lower_fn(lam: float) -> float:
        return _pchisq(chisq, df, lam) - upper_perc

    def upper_fn(lam: float) -> float:
        return _pchisq(chisq, df, lam) - lower_perc

    scale = math.sqrt(n_groups)
    if df < 1 or lower_fn(0.0) < 0:
        lower = 0.0
    else:
        lower = math.sqrt(_find_root(lower_fn, chisq) / (ntotal * df)) * scale
    n_rmsea = max(ntotal, 4.0 * chisq)
    if df < 1 or upper_fn(n_rmsea) > 0 or upper_fn(0.0) < 0:
        upper = 0.0
    else:
        upper = math.sqrt(_find_root(upper_fn, n_rmsea) / (ntotal * df)) * scale
    return lower, upper


def _rmsea_pvalues(
    chisq: float, df: float, ntotal: float, n_groups: int, close_h0: float, notclose_h0: float
) -> tuple[float, float]:
    if df <= 0:
        return math.nan, math.nan
    ncp_close = ntotal * df * close_h0**2 / n_groups
    ncp_notclose = ntotal * df * notclose_h0**2 / n_groups
    # lavaan computes 1 - pchisq(); the survival function is the same number, accurate
    # also where 1 - pchisq() rounds to 0.
    if ncp_close > 0:
        p_close = float(1.0 - special.chndtr(chisq, df, ncp_close))
        if p_close < 1e-8:  # where 1 - cdf loses digits, ask for the survival function
            p_close = float(stats.ncx2.sf(chisq, df, ncp_close))
    else:
        p_close = float(special.chdtrc(df, chisq))
    return p_close, _pchisq(chisq, df, ncp_notclose)


# -------------------------------------------------------------------- assembling


def _chisq_block(
    *,
    chisq: float,
    df: float,
    baseline_chisq: float,
    baseline_df: float,
    logl: float,
    unrestricted_logl: float,
    npar: float,
    ntotal: float,
    n_groups: int,
    level: float,
    rmsea_close_h0: float,
    rmsea_notclose_h0: float,
) -> dict[str, float]:
    """Everything that depends only on the chi-squares, counts and log-likelihoods."""
    out: dict[str, float] = {
        "npar": float(npar),
        "fmin": chisq / (2.0 * ntotal),
        "chisq": chisq,
        "df": float(df),
        "pvalue": _chisq_pvalue(chisq, df),
        "baseline_chisq": baseline_chisq,
        "baseline_df": float(baseline_df),
        "baseline_pvalue": _chisq_pvalue(baseline_chisq, baseline_df),
        "cfi": _cfi(chisq, df, baseline_chisq, baseline_df),
        "tli": _tli(chisq, df, baseline_chisq, baseline_df),
    }
    out["nnfi"] = out["tli"]
    out["rfi"] = _rfi(chisq, df, baseline_chisq, baseline_df)
    out["nfi"] = _nfi(chisq, df, baseline_chisq, baseline_df)
    out["pnfi"] = _pnfi(chisq, df, baseline_chisq, baseline_df)
    out["ifi"] = _ifi(chisq, df, baseline_chisq)
    out["rni"] = _rni(chisq, df, baseline_chisq, baseline_df)
    out["logl"] = logl
    out["unrestricted_logl"] = unrestricted_logl
    out["aic"] = -2.0 * logl + 2.0 * npar
    out["bic"] = -2.0 * logl + npar * math.log(ntotal)
    out["ntotal"] = float(ntotal)
    out["bic2"] = -2.0 * logl + npar * math.log((ntotal + 2.0) / 24.0)
    out["rmsea"] = rmsea(chisq, df, ntotal, n_groups=n_groups)
    lower, upper = rmsea_ci(chisq, df, ntotal, n_groups=n_groups, level=level)
    out["rmsea_ci_lower"] = lower
    out["rmsea_ci_upper"] = upper
    out["rmsea_ci_level"] = level
    p_close, p_notclose = _rmsea_pvalues(
        chisq, df, ntotal, n_groups, rmsea_close_h0, rmsea_notclose_h0
    )
    out["rmsea_pvalue"] = p_close
    out["rmsea_close_h0"] = rmsea_close_h0
    out["rmsea_notclose_pvalue"] = p_notclose
    out["rmsea_notclose_h0"] = rmsea_notclose_h0
    for alpha, key in ((0.05, "cn_05"), (0.01, "cn_01")):
        if df == 0 and chisq < np.finfo(float).eps:
            out[key] = math.nan
        elif chisq == 0:
            out[key] = math.inf
        else:
            out[key] = float(special.chdtri(df, alpha)) / (chisq / ntotal) + 1.0
    out["mfi"] = math.exp(-0.5 * (chisq - df) / ntotal)
    out["ecvi"] = chisq / ntotal + 2.0 * npar / ntotal
    return out


def _effective_npar(npar: int, n_eq_constraints: int) -> int:
    if npar < 0 or n_eq_constraints < 0 or n_eq_constraints > npar:
        raise SpecificationError(
            f"need 0 <= n_eq_constraints <= npar, got npar={npar}, "
            f"n_eq_constraints={n_eq_constraints}."
        )
    return npar - n_eq_constraints


def _model_df(ndat: int, npar_eff: int) -> int:
    df = ndat - npar_eff
    if df < 0:
        raise SpecificationError(
            f"the model has {npar_eff} free parameters (net of equality constraints) but "
            f"only {ndat} data points (df = {df}); it is not identified. Fix or constrain "
            "parameters, or check npar= and n_eq_constraints=."
        )
    return df


def _check_level(level: float, close_h0: float, notclose_h0: float) -> None:
    if not 0.0 < level < 1.0:
        raise SpecificationError(f"level= must lie strictly between 0 and 1, got {level}.")
    if close_h0 < 0 or notclose_h0 < 0:
        raise SpecificationError("rmsea_close_h0= and rmsea_notclose_h0= must be >= 0.")


def _rms(stats_: FloatArray, pstar: int) -> float:
    # No elements (e.g. the off-diagonal part of a one-variable model): nothing to average.
    if stats_.size == 0 or pstar == 0:
        return 0.0
    return math.sqrt(float(np.sum(stats_ * stats_)) / pstar)


def _rescale_cov(matrix: FloatArray, variances: FloatArray) -> FloatArray:
    scale = 1.0 / np.sqrt(np.outer(variances, variances))
    scale[np.abs(matrix) < _RESCALE_NEAR_ZERO] = 1.0
    return matrix * scale


def _rescale_mean(vector: FloatArray, variances: FloatArray) -> FloatArray:
    scale = 1.0 / np.sqrt(variances)
    scale[np.abs(vector) < _RESCALE_NEAR_ZERO] = 1.0
    return vector * scale


def _residual_summaries(group: GroupMoments, meanstructure: bool) -> dict[str, float]:
    """RMR, SRMR (Bentler), CRMR (Bollen) and Mplus SRMR of one group."""
    s, sigma = group.sample_cov, group.implied_cov
    p = group.p
    lower = np.tril_indices(p)
    var_obs, var_est = np.diag(s).copy(), np.diag(sigma).copy()
    out: dict[str, float] = {}
    m = mu = None
    if meanstructure:
        assert group.sample_mean is not None and group.implied_mean is not None
        m, mu = group.sample_mean, group.implied_mean
    # lav_residuals(type = "raw" | "cor.bentler" | "cor.bollen") then
    # lav_residuals_summary: rms over vech (and means); crmr leaves out the diagonal.
    kinds = {
        "rmr": (s, sigma, m, mu),
        "srmr_bentler": (
            _rescale_cov(s, var_obs),
            _rescale_cov(sigma, var_obs),
            None if m is None else _rescale_mean(m, var_obs),
            None if mu is None else _rescale_mean(mu, var_obs),
        ),
        "crmr": (
            _rescale_cov(s, var_obs),
            _rescale_cov(sigma, var_est),
            None if m is None else _rescale_mean(m, var_obs),
            None if mu is None else _rescale_mean(mu, var_obs),
        ),
    }
    for name, (obs, est, obs_m, est_m) in kinds.items():
        cov_res = (obs - est)[lower]
        pstar = cov_res.size - (p if name == "crmr" else 0)
        nomean = _rms(cov_res, pstar)
        out[f"{name}_nomean"] = nomean
        if obs_m is not None and est_m is not None:
            total = np.concatenate([obs_m - est_m, cov_res])
            out[name] = _rms(total, pstar + p)
        else:
            out[name] = nomean
    # lav_fit_srmr_mplus
    sd_s, sd_sigma = np.sqrt(var_obs), np.sqrt(var_est)
    r_cor = s / np.outer(sd_s, sd_s) - sigma / np.outer(sd_sigma, sd_sigma)
    off = np.tril_indices(p, k=-1)
    core = float(np.sum(r_cor[off] ** 2)) + float(np.sum(((var_obs - var_est) / var_obs) ** 2))
    e_nomean = p * (p + 1) / 2.0
    out["srmr_mplus_nomean"] = math.sqrt(core / e_nomean)
    if m is not None and mu is not None:
        r_mean = m / sd_s - mu / sd_sigma
        out["srmr_mplus"] = math.sqrt((core + float(np.sum(r_mean**2))) / (e_nomean + p))
    else:
        out["srmr_mplus"] = out["srmr_mplus_nomean"]
    return out


def _gfi_group(group: GroupMoments, meanstructure: bool, fixed_x: bool) -> float:
    """Compute lavaan's GFI of one group: normal-theory weight at the implied moments.

    With ``fixed_x`` lavaan's expected h1 information has zero rows and columns for the
    covariates' moments, which drops them from both quadratic forms.
    """
    s, sigma = group.sample_cov.copy(), group.implied_cov
    resid = s - sigma
    if fixed_x and group.q:
        x = group.exo
        s[np.ix_(x, x)] = 0.0
        resid[np.ix_(x, x)] = 0.0
    sigma_inv = np.linalg.inv(sigma)
    a = sigma_inv @ resid
    b = sigma_inv @ s
    t1 = 0.5 * float(np.sum(a * a.T))
    t2 = 0.5 * float(np.sum(b * b.T))
    if meanstructure:
        assert group.sample_mean is not None and group.implied_mean is not None
        m = group.sample_mean.copy()
        d = m - group.implied_mean
        if fixed_x and group.q:
            m[group.exo] = 0.0
            d[group.exo] = 0.0
        t1 += float(d @ sigma_inv @ d)
        t2 += float(m @ sigma_inv @ m)
    return 1.0 - t1 / t2


def fit_measures(
    groups: Sequence[GroupMoments],
    *,
    npar: int,
    meanstructure: bool,
    n_eq_constraints: int = 0,
    fixed_x: bool = True,
    level: float = 0.90,
    rmsea_close_h0: float = 0.05,
    rmsea_notclose_h0: float = 0.08,
) -> dict[str, float]:
    """All of lavaan's ``fitMeasures(fit, "all")`` for a complete-data ML fit.

    Parameters
    ----------
    groups : sequence of GroupMoments
        Sample moments (divisor ``n``) and model-implied moments of each group.
    npar : int
        Free parameters as rows of the parameter table: a label shared by ``k``
        parameters counts ``k`` times (lavaan >= 0.6 keeps them as separate rows tied by
        ``==`` constraints).
    meanstructure : bool
        Whether means are modelled (then every group needs ``sample_mean`` and
        ``implied_mean``).
    n_eq_constraints : int, default 0
        Rank of the equality constraints (shared labels and explicit ``==``). The
        reported ``npar`` is ``npar - n_eq_constraints``. A caller that already counts a
        shared label once passes its net count as ``npar`` and 0 here.
    fixed_x : bool, default True
        lavaan's ``fixed.x``: the moments of the covariates marked ``exo`` are fixed at
        the sample values (not data points, not in the log-likelihood).
    level : float, default 0.90
        Level of the RMSEA confidence interval.
    rmsea_close_h0 : float, default 0.05
        RMSEA under the null of the close-fit test (``rmsea_pvalue``).
    rmsea_notclose_h0 : float, default 0.08
        RMSEA under the null of the not-close-fit test (``rmsea_notclose_pvalue``).

    Returns
    -------
    dict of str to float
        lavaan's names with dots as underscores: ``npar, fmin, chisq, df, pvalue,
        baseline_chisq, baseline_df, baseline_pvalue, cfi, tli, nnfi, rfi, nfi, pnfi,
        ifi, rni, logl, unrestricted_logl, aic, bic, ntotal, bic2, rmsea, rmsea_ci_lower,
        rmsea_ci_upper, rmsea_ci_level, rmsea_pvalue, rmsea_close_h0,
        rmsea_notclose_pvalue, rmsea_notclose_h0, rmr, rmr_nomean, srmr, srmr_bentler,
        srmr_bentler_nomean, crmr, crmr_nomean, srmr_mplus, srmr_mplus_nomean, cn_05,
        cn_01, gfi, agfi, pgfi, mfi, ecvi``, plus ``baseline_logl``. Values lavaan
        reports as ``NA`` are NaN (p-values when ``df == 0``, for instance).

    Raises
    ------
    SpecificationError
        If counts are inconsistent (negative df, ``n_eq_constraints > npar``), means are
        missing under a meanstructure, or the covariates' implied moments differ from
        their sample moments under ``fixed_x``.

    See Also
    --------
    fit_measures_from_loglik : the same from log-likelihoods (FIML).

    Notes
    -----
    Counting, log-likelihoods, baseline model, RMSEA and SRMR follow lavaan as set out in
    the module docstring. In short, with ``N = sum n_g``: ``chisq = 2 N fmin =
    sum_g n_g F_g``; ``baseline_chisq = sum_g n_g [sum_{j not exo} log s_jj + log|S_xx|
    - log|S|]``; ``cfi = 1 - max(chisq - df, 0) / max(chisq - df, bchisq - bdf, 0)``;
    ``tli = 1 - (chisq - df) bdf / ((bchisq - bdf) df)``; NFI, RFI, IFI, RNI and PNFI
    with lavaan's conventions at ``df = 0``; ``aic = -2 logl + 2 npar``,
    ``bic = -2 logl + npar log N``, ``bic2 = -2 logl + npar log((N + 2) / 24)``.
    ``crmr`` standardises implied covariances by their own SDs and drops the diagonal
    from the count, ``srmr_mplus`` is Mplus's variant, ``rmr`` is unstandardised (all
    averaged over groups with weights ``n_g / N``). ``gfi = 1 - e'We / s'Ws`` with the
    normal-theory weight at the implied moments (covariate moments dropped under
    ``fixed_x``), averaged with weights ``n_g / N``; ``agfi`` and ``pgfi`` count all
    ``p(p+1)/2`` (+ ``p``) moments.

    Difference from lavaan: the RMSEA interval is solved to machine precision (see
    :func:`rmsea_ci`).

    References
    ----------
    Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. Journal
    of Statistical Software, 48(2), 1-36.

    Examples
    --------
    The chain ``x2 ~ x1; x3 ~ x2`` with ``x1`` a fixed.x covariate; its ML solution
    implies ``cov(x1, x3) = 0.3 * 0.4``:

    >>> import numpy as np
    >>> s = np.array([[1.0, 0.3, 0.2], [0.3, 1.0, 0.4], [0.2, 0.4, 1.0]])
    >>> sigma = s.copy()
    >>> sigma[0, 2] = sigma[2, 0] = 0.3 * 0.4
    >>> g = GroupMoments(n=200, sample_cov=s, implied_cov=sigma,
    ...                  exo=np.array([True, False, False]))
    >>> fm = fit_measures([g], npar=4, meanstructure=False)
    >>> fm["df"], round(fm["chisq"], 4), round(fm["cfi"], 4), round(fm["rmsea"], 4)
    (1.0, 1.6816, 0.987, 0.0584)
    """
    _check_groups(groups, meanstructure)
    _check_level(level, rmsea_close_h0, rmsea_notclose_h0)
    npar_eff = _effective_npar(npar, n_eq_constraints)
    n_obs = [group.p for group in groups]
    n_exo = [group.q for group in groups]
    df = _model_df(
        data_points(n_obs, n_exo, meanstructure=meanstructure, fixed_x=fixed_x), npar_eff
    )
    bdf = baseline_df(n_obs, n_exo)
    ntotal = sum(group.n for group in groups)
    n_groups = len(groups)

    logl = model_loglik(groups, meanstructure=meanstructure, fixed_x=fixed_x)
    h1 = unrestricted_loglik(groups, fixed_x=fixed_x)
    chisq = chisq_from_fmin(ml_fmin(groups, meanstructure=meanstructure), ntotal)
    # closed form of 2 (h1 - baseline): the trace term equals p and cancels
    b_chisq = sum(
        group.n * (_logdet(_baseline_cov(group)) - _logdet(group.sample_cov)) for group in groups
    )
    out = _chisq_block(
        chisq=chisq,
        df=df,
        baseline_chisq=b_chisq,
        baseline_df=bdf,
        logl=logl,
        unrestricted_logl=h1,
        npar=npar_eff,
        ntotal=ntotal,
        n_groups=n_groups,
        level=level,
        rmsea_close_h0=rmsea_close_h0,
        rmsea_notclose_h0=rmsea_notclose_h0,
    )
    out["baseline_logl"] = baseline_loglik(groups, fixed_x=fixed_x)

    weights = [group.n / ntotal for group in groups]
    per_group = [_residual_summaries(group, meanstructure) for group in groups]
    for key in per_group[0]:
        out[key] = sum(w * summary[key] for w, summary in zip(weights, per_group, strict=True))
    out["srmr"] = out["srmr_bentler"]

    gfi = sum(
        w * _gfi_group(group, meanstructure, fixed_x)
        for w, group in zip(weights, groups, strict=True)
    )
    nel = sum(p * (p + 1) / 2.0 + (p if meanstructure else 0) for p in n_obs)
    out["gfi"] = gfi
    out["agfi"] = 1.0 - (nel / df) * (1.0 - gfi) if df > 0 else 1.0
    out["pgfi"] = (df / nel) * gfi
    return out


def fit_measures_from_loglik(
    *,
    logl: float,
    unrestricted_logl: float,
    baseline_logl: float,
    n: Sequence[int],
    n_observed: Sequence[int],
    npar: int,
    meanstructure: bool,
    n_exogenous: Sequence[int] | None = None,
    n_eq_constraints: int = 0,
    fixed_x: bool = True,
    level: float = 0.90,
    rmsea_close_h0: float = 0.05,
    rmsea_notclose_h0: float = 0.08,
) -> dict[str, float]:
    """Likelihood-based fit measures from the log-likelihoods of three models.

    For fits where the moments do not summarise the likelihood (FIML with missing
    data): the caller evaluates the log-likelihood of the model, of the saturated model
    (EM estimates) and of the baseline model (fitted by the same estimator), summed over
    groups.

    Parameters
    ----------
    logl : float
        Log-likelihood of the fitted model.
    unrestricted_logl : float
        Log-likelihood of the saturated (h1) model.
    baseline_logl : float
        Log-likelihood of lavaan's baseline model (see :func:`baseline_loglik`).
    n : sequence of int
        Number of observations per group.
    n_observed : sequence of int
        Number of observed variables per group.
    npar : int
        Free parameters as rows of the parameter table (see :func:`fit_measures`).
    meanstructure : bool
        Whether means are modelled (always true for FIML in lavaan).
    n_exogenous : sequence of int, optional
        Observed exogenous covariates per group (default 0).
    n_eq_constraints : int, default 0
        Rank of the equality constraints.
    fixed_x : bool, default True
        lavaan's ``fixed.x``.
    level : float, default 0.90
        Level of the RMSEA confidence interval.
    rmsea_close_h0 : float, default 0.05
        RMSEA under the null of the close-fit test.
    rmsea_notclose_h0 : float, default 0.08
        RMSEA under the null of the not-close-fit test.

    Returns
    -------
    dict of str to float
        ``npar, fmin, chisq, df, pvalue, baseline_chisq, baseline_df, baseline_pvalue,
        cfi, tli, nnfi, rfi, nfi, pnfi, ifi, rni, logl, unrestricted_logl, aic, bic,
        ntotal, bic2, rmsea, rmsea_ci_lower, rmsea_ci_upper, rmsea_ci_level,
        rmsea_pvalue, rmsea_close_h0, rmsea_notclose_pvalue, rmsea_notclose_h0, cn_05,
        cn_01, mfi, ecvi, baseline_logl`` (no SRMR or GFI: they need moments).

    Raises
    ------
    SpecificationError
        If counts are inconsistent.

    See Also
    --------
    fit_measures : the complete-data version from moments.

    Notes
    -----
    ``chisq = 2 (unrestricted_logl - logl)`` and ``baseline_chisq = 2 (unrestricted_logl
    - baseline_logl)``; lavaan's FIML statistic is the same quantity. lavaan adds
    ``cfi_robust``, ``rmsea_robust`` and friends for FIML (Savalei's corrections); they
    need the information matrices and are not computed here. For SRMR under FIML, pass
    the saturated (EM) means and covariances as the sample moments to
    :func:`fit_measures` and take its ``srmr`` entries (lavaan does the same).

    Examples
    --------
    >>> fm = fit_measures_from_loglik(logl=-3421.0, unrestricted_logl=-3378.0,
    ...     baseline_logl=-3700.0, n=[301], n_observed=[9], npar=30, meanstructure=True)
    >>> fm["chisq"], fm["df"], round(fm["cfi"], 4)
    (86.0, 24.0, 0.898)
    """
    _check_level(level, rmsea_close_h0, rmsea_notclose_h0)
    if len(n) != len(n_observed):
        raise SpecificationError(f"n= has {len(n)} groups but n_observed= has {len(n_observed)}.")
    if any(int(size) < 1 for size in n):
        raise SpecificationError(f"n= must hold positive group sizes, got {list(n)}.")
    for name, value in (
        ("logl", logl),
        ("unrestricted_logl", unrestricted_logl),
        ("baseline_logl", baseline_logl),
    ):
        if not math.isfinite(value):
            raise SpecificationError(f"{name}= must be finite, got {value}.")
    npar_eff = _effective_npar(npar, n_eq_constraints)
    df = _model_df(
        data_points(n_observed, n_exogenous, meanstructure=meanstructure, fixed_x=fixed_x),
        npar_eff,
    )
    out = _chisq_block(
        chisq=2.0 * (unrestricted_logl - logl),
        df=df,
        baseline_chisq=2.0 * (unrestricted_logl - baseline_logl),
        baseline_df=baseline_df(n_observed, n_exogenous),
        logl=logl,
        unrestricted_logl=unrestricted_logl,
        npar=npar_eff,
        ntotal=sum(int(size) for size in n),
        n_groups=len(n),
        level=level,
        rmsea_close_h0=rmsea_close_h0,
        rmsea_notclose_h0=rmsea_notclose_h0,
    )
    out["baseline_logl"] = baseline_logl
    return out
