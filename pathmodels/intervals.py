"""Confidence intervals: normal-theory, bootstrap (percentile, BC, BCa) and Monte Carlo.

Every function is vectorised over ``k`` quantities and returns intervals as an array of
shape ``(k, 2)`` (lower, upper). Bootstrap draws come as an ``(R, k)`` array, one row per
bootstrap replicate; non-finite entries (failed replicates) are dropped column by column,
as lavaan does.

The bootstrap intervals reproduce lavaan 0.6.14's ``parameterEstimates(boot.ci.type=...)``
to floating-point accuracy: lavaan computes every percentile-type endpoint with the
``norm.inter`` interpolation it copies from the boot package (Davison & Hinkley 1997,
eq. 5.8), not with ``quantile()``. ``tests/data/intervals_reference.R`` records lavaan's
and boot's numbers for the tests.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import special

from pathmodels._typing import BoolArray, FloatArray, IntArray
from pathmodels.exceptions import PathModelsWarning, SpecificationError

__all__ = [
    "accelerated_interval",
    "bca_interval",
    "bias_corrected_interval",
    "jackknife_acceleration",
    "mc_draws",
    "normal_interval",
    "percentile_interval",
    "regression_acceleration",
    "two_sided_pvalue",
]


# --------------------------------------------------------------------------- helpers
def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise SpecificationError(
            f"level={level!r} is not a confidence level; give a number strictly between 0 and "
            "1, e.g. level=0.95"
        )
    return level


def _tail_probabilities(level: float) -> FloatArray:
    # Written exactly as lavaan does, (1 + c(-level, level))/2, so the floating-point
    # values -- and hence the order-statistic ranks (R + 1) * alpha -- are identical.
    return (1.0 + np.array([-level, level])) / 2.0


def _as_draws(draws: npt.ArrayLike, name: str = "draws") -> FloatArray:
    arr = np.asarray(draws, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise SpecificationError(
            f"{name}= must have shape (R, k), one row per replicate and one column per "
            f"quantity; got shape {arr.shape}"
        )
    return arr


def _as_vector(values: npt.ArrayLike, k: int, name: str) -> FloatArray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or (arr.shape[0] != k and arr.shape[0] != 1):
        raise SpecificationError(
            f"{name}= must hold one value per quantity ({k}); got shape {arr.shape}"
        )
    return np.broadcast_to(arr, (k,)).astype(float)


def _sorted_finite(draws: FloatArray) -> tuple[FloatArray, IntArray]:
    """Sort each column with its non-finite entries pushed to the end."""
    finite = np.isfinite(draws)
    count = finite.sum(axis=0).astype(np.int64)
    ordered = np.sort(np.where(finite, draws, np.inf), axis=0)
    return ordered, count


def _norm_inter(
    ordered: FloatArray, count: IntArray, alpha: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Vectorised ``boot:::norm.inter``: quantiles by interpolation on the normal scale.

    ``ordered`` is ``(R, k)`` sorted with non-finite values last, ``count`` the number of
    finite values per column, ``alpha`` a ``(k, m)`` array of tail probabilities. Returns
    the ``(k, m)`` endpoints and a ``(k,)`` mask of columns where an extreme order
    statistic (rank outside (1, R)) was used.
    """
    n_rows = ordered.shape[0]
    if n_rows == 0:
        return np.full(alpha.shape, np.nan), np.zeros(alpha.shape[0], dtype=bool)
    r = count[:, None].astype(float)
    with np.errstate(invalid="ignore"):
        rk = (r + 1.0) * alpha
        k = np.trunc(rk)
    bad_alpha = ~np.isfinite(rk)
    k = np.where(bad_alpha, 0.0, k)
    k_int = k.astype(np.int64)
    n = count[:, None]

    def order_stat(index: IntArray) -> FloatArray:
        # index is the 1-based rank, clipped into the array; callers mask invalid ones.
        rows = np.clip(index - 1, 0, max(n_rows - 1, 0))
        return np.take_along_axis(ordered.T, rows, axis=1)

    t_k = order_stat(k_int)
    t_k1 = order_stat(k_int + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_alpha = special.ndtri(alpha)
        z_k = special.ndtri(k / (r + 1.0))
        z_k1 = special.ndtri((k + 1.0) / (r + 1.0))
        interpolated = t_k + (z_alpha - z_k) / (z_k1 - z_k) * (t_k1 - t_k)
    out = np.where(k == rk, t_k, interpolated)
    out = np.where(k_int == 0, order_stat(np.ones_like(k_int)), out)
    out = np.where(k_int == n, order_stat(np.broadcast_to(n, k_int.shape)), out)
    # Beyond the largest draw R (only reachable when a BC/BCa adjusted alpha is
    # > R/(R+1)) R indexes past the end of the vector and returns NA.
    out = np.where((k_int > n) | bad_alpha | (n == 0), np.nan, out)
    extreme = np.any(~bad_alpha & ~((rk > 1.0) & (rk < r)), axis=1)
    return out, extreme


def _warn_extreme(extreme: BoolArray, count: IntArray, what: str, stacklevel: int) -> None:
    if np.any(extreme):
        idx = ", ".join(str(i) for i in np.flatnonzero(extreme)[:10])
        warnings.warn(
            f"{what}: extreme order statistics used as endpoints for quantities [{idx}] "
            f"(with {int(count[extreme].min())} draws; NaN where the rank exceeds the number "
            "of draws); the interval is unreliable -- increase the number of bootstrap/Monte "
            "Carlo draws",
            PathModelsWarning,
            stacklevel=stacklevel + 1,
        )


def _warn_no_draws(count: IntArray, what: str, stacklevel: int) -> None:
    if np.any(count == 0):
        idx = ", ".join(str(i) for i in np.flatnonzero(count == 0)[:10])
        warnings.warn(
            f"{what}: no finite draws for quantities [{idx}]; their interval is NaN. "
            "Check why every replicate failed for them",
            PathModelsWarning,
            stacklevel=stacklevel + 1,
        )


# -------------------------------------------------------------------- normal theory
def normal_interval(est: npt.ArrayLike, se: npt.ArrayLike, level: float = 0.95) -> FloatArray:
    """Wald confidence interval ``est ± z·se``.

    Parameters
    ----------
    est : array_like, shape (k,)
        Point estimates.
    se : array_like, shape (k,)
        Standard errors (delta-method SEs for defined parameters).
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray, shape (k, 2)
        Lower and upper limits.

    Raises
    ------
    SpecificationError
        If ``level`` is not in (0, 1) or the shapes differ.

    Notes
    -----
    ``est + se * Φ⁻¹((1 ∓ level)/2)``, as lavaan's ``parameterEstimates()`` for
    ``se = "standard"``.

    Examples
    --------
    >>> normal_interval([0.5, 0.0], [0.1, 1.0]).round(4)
    array([[ 0.304,  0.696],
           [-1.96 ,  1.96 ]])
    """
    level = _check_level(level)
    est_arr = np.atleast_1d(np.asarray(est, dtype=float))
    se_arr = np.atleast_1d(np.asarray(se, dtype=float))
    if est_arr.ndim != 1 or est_arr.shape != se_arr.shape:
        raise SpecificationError(
            f"est= and se= must be vectors of the same length; got shapes {est_arr.shape} "
            f"and {se_arr.shape}"
        )
    a = (1.0 - level) / 2.0
    factor = special.ndtri(np.array([a, 1.0 - a]))
    return est_arr[:, None] + se_arr[:, None] * factor[None, :]


def two_sided_pvalue(z: npt.ArrayLike) -> FloatArray:
    """Two-sided p-value of a standard-normal test statistic.

    Parameters
    ----------
    z : array_like
        z statistics (estimate / SE); NaN stays NaN.

    Returns
    -------
    numpy.ndarray
        ``2·Φ(−|z|)``, same shape as ``z``.

    Notes
    -----
    lavaan writes ``2 * (1 - pnorm(abs(z)))``, which rounds to exactly 0 once
    ``|z| > 8.3``; the form used here keeps the tiny p-values (e.g. ``1.2e-23`` at
    ``z = 10``). The two agree to about 1e-16 in absolute terms.

    Examples
    --------
    >>> two_sided_pvalue([1.959963984540054, 0.0, -3.0]).round(6)
    array([0.05  , 1.    , 0.0027])
    """
    zz = np.asarray(z, dtype=float)
    return np.asarray(2.0 * special.ndtr(-np.abs(zz)), dtype=float)


# ------------------------------------------------------------------------ bootstrap
def percentile_interval(draws: npt.ArrayLike, level: float = 0.95) -> FloatArray:
    """Percentile interval from bootstrap or Monte Carlo draws, exactly as lavaan.

    Parameters
    ----------
    draws : array_like, shape (R, k)
        One row per replicate, one column per quantity. NaN and ±inf entries (failed
        replicates) are ignored column by column. A 1-D array is one quantity.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    numpy.ndarray, shape (k, 2)
        Lower and upper limits; NaN for a column without finite draws.

    Raises
    ------
    SpecificationError
        If ``level`` is not in (0, 1) or ``draws`` is not 1-D or 2-D.

    Warns
    -----
    PathModelsWarning
        When an endpoint is an extreme order statistic (``(R+1)·α ≤ 1`` or ``≥ R``), as
        boot and lavaan do, and when a column has no finite draw.

    See Also
    --------
    bias_corrected_interval, bca_interval

    Notes
    -----
    With the ``R`` finite draws sorted, ``t*(1) ≤ … ≤ t*(R)``, the endpoint for tail
    probability ``α`` is the order statistic of rank ``r = (R+1)α`` when ``r`` is an
    integer; otherwise, with ``k = ⌊r⌋``, it interpolates on the normal-quantile scale
    (Davison & Hinkley 1997, eq. 5.8)::

        t*(k) + (Φ⁻¹(α) − Φ⁻¹(k/(R+1))) / (Φ⁻¹((k+1)/(R+1)) − Φ⁻¹(k/(R+1)))
                · (t*(k+1) − t*(k))

    taking ``t*(1)`` when ``k = 0`` and ``t*(R)`` when ``k = R``. This is the
    ``norm.inter`` function of the boot package, which lavaan copies into
    ``parameterEstimates()`` for ``boot.ci.type = "perc"`` with
    ``α = (1 ∓ level)/2``; it is *not* ``quantile()``. The same interval serves Monte
    Carlo draws (MacKinnon, Lockwood & Williams 2004; Preacher & Selig 2012).

    References
    ----------
    Davison, A. C., & Hinkley, D. V. (1997). *Bootstrap Methods and their Application*.
    Cambridge University Press.

    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman &
    Hall, ch. 13.

    Examples
    --------
    >>> draws = np.arange(1.0, 1000.0)[:, None]    # 999 draws: ranks 25 and 975
    >>> percentile_interval(draws, 0.95).round(6)
    array([[ 25., 975.]])
    """
    level = _check_level(level)
    arr = _as_draws(draws)
    ordered, count = _sorted_finite(arr)
    alpha = np.broadcast_to(_tail_probabilities(level), (arr.shape[1], 2))
    out, extreme = _norm_inter(ordered, count, alpha)
    _warn_no_draws(count, "percentile interval", stacklevel=2)
    _warn_extreme(extreme & (count > 0), count, "percentile interval", stacklevel=2)
    return out


def accelerated_interval(
    draws: npt.ArrayLike,
    estimate: npt.ArrayLike,
    acceleration: npt.ArrayLike,
    level: float = 0.95,
) -> FloatArray:
    """Bias-corrected and accelerated interval for a given acceleration ``a``.

    The engine behind :func:`bias_corrected_interval` (``a = 0``) and
    :func:`bca_interval` (``a`` from the jackknife); call it directly with ``a`` from
    :func:`regression_acceleration` to reproduce lavaan's ``boot.ci.type = "bca"``.

    Parameters
    ----------
    draws : array_like, shape (R, k)
        Bootstrap draws; non-finite entries are ignored column by column.
    estimate : array_like, shape (k,)
        The estimates from the original sample.
    acceleration : array_like, shape (k,)
        Acceleration constants ``a``.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    numpy.ndarray, shape (k, 2)
        Lower and upper limits.

    Raises
    ------
    SpecificationError
        If ``level`` is not in (0, 1) or the shapes disagree.

    Warns
    -----
    PathModelsWarning
        For extreme order statistics, for columns without finite draws, and when the
        bias correction is infinite (every draw on one side of the estimate) or ``a`` is
        not finite; those intervals are NaN.

    Notes
    -----
    With ``p`` the proportion of finite draws strictly below the estimate,
    ``w = Φ⁻¹(p)``, ``z_α = Φ⁻¹(α)`` and ``α = (1 ∓ level)/2`` (Efron 1987; Efron &
    Tibshirani 1993, eq. 14.10), the endpoints are the :func:`percentile_interval`
    quantiles at the adjusted probabilities::

        α̃ = Φ(w + (w + z_α) / (1 − a·(w + z_α)))

    exactly as lavaan and ``boot::boot.ci`` compute them (ties with the estimate count
    as *not* below it). A column whose draws are all equal gets ``(estimate,
    estimate)``, as lavaan does for free parameters.

    Differences from lavaan: when no draw (or every draw) lies below the estimate,
    lavaan returns the smallest draw for both limits (or NA); ``boot.ci`` stops with
    "estimated adjustment 'w' is infinite". pathmodels returns NaN with a warning.

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. *Journal of the American
    Statistical Association*, 82(397), 171-185.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> draws = rng.normal(size=(2000, 1))
    >>> accelerated_interval(draws, [0.0], [0.0]).round(2)
    array([[-1.9 ,  2.05]])
    """
    return _accelerated(draws, estimate, acceleration, level, stacklevel=3)


def _accelerated(
    draws: npt.ArrayLike,
    estimate: npt.ArrayLike,
    acceleration: npt.ArrayLike,
    level: float,
    *,
    stacklevel: int,
) -> FloatArray:
    # stacklevel: frames between the warnings.warn call in here and the user's call.
    level = _check_level(level)
    arr = _as_draws(draws)
    k = arr.shape[1]
    t0 = _as_vector(estimate, k, "estimate")
    a = _as_vector(acceleration, k, "acceleration")
    ordered, count = _sorted_finite(arr)
    finite = np.isfinite(arr)
    below = np.sum(finite & (arr < t0[None, :]), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = special.ndtri(below / count)
        z_alpha = special.ndtri(_tail_probabilities(level))[None, :]
        wz = w[:, None] + z_alpha
        adj_alpha = special.ndtr(w[:, None] + wz / (1.0 - a[:, None] * wz))
    bad = (count > 0) & (~np.isfinite(w) | ~np.isfinite(a))
    adj_alpha = np.where(bad[:, None], np.nan, adj_alpha)
    out, extreme = _norm_inter(ordered, count, adj_alpha)
    lowest = ordered[0, :]
    highest = np.take_along_axis(ordered, np.maximum(count - 1, 0)[None, :], axis=0)[0]
    constant = (count > 0) & (lowest == highest)
    out = np.where(constant[:, None], t0[:, None], out)
    bad &= ~constant
    _warn_no_draws(count, "bias-corrected interval", stacklevel)
    if np.any(bad):
        idx = ", ".join(str(i) for i in np.flatnonzero(bad)[:10])
        warnings.warn(
            f"bias-corrected interval: for quantities [{idx}] the estimate lies outside "
            "the range of the bootstrap draws or the acceleration is not finite, so the "
            "bias correction is infinite; their interval is NaN. Use a percentile "
            "interval or inspect the draws",
            PathModelsWarning,
            stacklevel=stacklevel,
        )
    _warn_extreme(
        extreme & ~bad & ~constant & (count > 0), count, "bias-corrected interval", stacklevel
    )
    return out


def bias_corrected_interval(
    draws: npt.ArrayLike, estimate: npt.ArrayLike, level: float = 0.95
) -> FloatArray:
    """Bias-corrected percentile interval, lavaan's ``boot.ci.type = "bca.simple"``.

    Parameters
    ----------
    draws : array_like, shape (R, k)
        Bootstrap draws; non-finite entries are ignored column by column.
    estimate : array_like, shape (k,)
        Estimates from the original sample.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    numpy.ndarray, shape (k, 2)
        Lower and upper limits.

    Raises
    ------
    SpecificationError
        If ``level`` is not in (0, 1) or the shapes disagree.

    Warns
    -----
    PathModelsWarning
        See :func:`accelerated_interval`.

    See Also
    --------
    accelerated_interval : the formula (here with ``a = 0``).

    Notes
    -----
    ``α̃ = Φ(2w + z_α)`` with ``w = Φ⁻¹(#{t* < t̂}/R)`` (Efron & Tibshirani 1993,
    §14.3 with ``a = 0``); endpoints by ``norm.inter`` as in :func:`percentile_interval`.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman &
    Hall.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> draws = rng.normal(loc=0.1, size=(1000, 1))   # draws centred above the estimate
    >>> bias_corrected_interval(draws, [0.0]).round(2)
    array([[-1.98,  1.91]])
    """
    arr = _as_draws(draws)
    return _accelerated(arr, estimate, np.zeros(arr.shape[1]), level, stacklevel=3)


def jackknife_acceleration(jackknife: npt.ArrayLike) -> FloatArray:
    """Acceleration constant of the BCa interval from leave-one-out estimates.

    Parameters
    ----------
    jackknife : array_like, shape (n, k)
        Estimate of each of the ``k`` quantities with case ``i`` deleted.

    Returns
    -------
    numpy.ndarray, shape (k,)
        ``a``; NaN where the jackknife values are all equal or not finite.

    Raises
    ------
    SpecificationError
        If ``jackknife`` is not 1-D or 2-D.

    Notes
    -----
    ``a = Σ L_i³ / (6 (Σ L_i²)^{3/2})`` with ``L_i = θ̄₍.₎ − θ̂₍ᵢ₎`` (Efron 1987;
    Efron & Tibshirani 1993, eq. 14.15). ``boot::empinf(type = "jack")`` uses
    ``θ̂ − θ̂₍ᵢ₎`` instead, which is not centred; pass ``L = (n−1)(θ̄₍.₎ − θ̂₍ᵢ₎)`` to
    ``boot.ci`` to get this value.

    Examples
    --------
    >>> jackknife_acceleration([[1.0], [2.0], [3.0]])
    array([0.])
    >>> jackknife_acceleration([[1.0], [1.0], [4.0]]).round(4)   # skewed
    array([-0.068])
    """
    jk = _as_draws(jackknife, "jackknife")
    centred = jk.mean(axis=0) - jk
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.sum(centred**3, axis=0) / (6.0 * np.sum(centred**2, axis=0) ** 1.5)
    return np.asarray(a, dtype=float)


def regression_acceleration(
    draws: npt.ArrayLike,
    frequencies: npt.ArrayLike,
    *,
    reference_cases: Sequence[int] = (0,),
) -> FloatArray:
    """Acceleration constant from regression on bootstrap frequencies, as lavaan's "bca".

    Parameters
    ----------
    draws : array_like, shape (R, k)
        Bootstrap draws. Rows with any non-finite entry are dropped (lavaan drops failed
        replicates before this step).
    frequencies : array_like, shape (R, n)
        How often each of the ``n`` cases appears in each bootstrap sample.
    reference_cases : sequence of int, default (0,)
        Cases whose frequency column is left out of the regression, one per group (the
        first case of each group), because each group's frequencies sum to its size.

    Returns
    -------
    numpy.ndarray, shape (k,)
        ``a`` for each quantity.

    Raises
    ------
    SpecificationError
        Shapes disagree, or fewer usable replicates than cases (``R < n``; lavaan stops
        with the same condition).

    Notes
    -----
    The empirical influence values ``L`` are the slopes of the least-squares regression
    of the draws on the frequencies (Davison & Hinkley 1997, §2.7.4, ``empinf(type =
    "reg")``), with ``L = 0`` for the reference cases; then ``a = Σ(L−L̄)³ /
    (6 (Σ(L−L̄)²)^{3/2})``. lavaan 0.6.14 appends a single zero whatever the number of
    groups, and for defined parameters drops only the first case's column (rank-deficient
    with several groups); pathmodels appends one zero per reference case, so the two
    agree exactly for one group.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> x = rng.exponential(size=20)
    >>> freq = rng.multinomial(20, np.full(20, 1 / 20), size=200)
    >>> draws = (freq @ x / 20)[:, None]                 # bootstrap means
    >>> a = regression_acceleration(draws, freq)
    >>> bool(np.isclose(a[0], jackknife_acceleration(
    ...     [[np.delete(x, i).mean()] for i in range(20)])[0]))
    True
    """
    arr = _as_draws(draws)
    freq = np.asarray(frequencies, dtype=float)
    if freq.ndim != 2 or freq.shape[0] != arr.shape[0]:
        raise SpecificationError(
            f"frequencies= must have one row per bootstrap draw ({arr.shape[0]}) and one "
            f"column per case; got shape {freq.shape}"
        )
    n_cases = freq.shape[1]
    refs = sorted({int(i) for i in reference_cases})
    if not refs or refs[0] < 0 or refs[-1] >= n_cases:
        raise SpecificationError(
            f"reference_cases={list(reference_cases)!r} must be case indices in 0..{n_cases - 1}"
        )
    keep = np.all(np.isfinite(arr), axis=1)
    if keep.sum() < n_cases:
        raise SpecificationError(
            f"BCa intervals need at least as many successful bootstrap draws as cases: "
            f"{int(keep.sum())} draws for {n_cases} cases; increase n_boot"
        )
    others = np.setdiff1d(np.arange(n_cases), refs)
    design = np.column_stack([np.ones(int(keep.sum())), freq[keep][:, others]])
    coef, *_ = np.linalg.lstsq(design, arr[keep], rcond=None)
    influence = np.zeros((n_cases, arr.shape[1]))
    influence[others] = coef[1:]
    return jackknife_acceleration(-influence)


def bca_interval(
    draws: npt.ArrayLike,
    estimate: npt.ArrayLike,
    jackknife: npt.ArrayLike,
    level: float = 0.95,
) -> FloatArray:
    """Bias-corrected and accelerated (BCa) bootstrap interval, ``a`` from the jackknife.

    Parameters
    ----------
    draws : array_like, shape (R, k)
        Bootstrap draws; non-finite entries are ignored column by column.
    estimate : array_like, shape (k,)
        Estimates from the original sample.
    jackknife : array_like, shape (n, k)
        Leave-one-out estimates, one row per deleted case.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    numpy.ndarray, shape (k, 2)
        Lower and upper limits.

    Raises
    ------
    SpecificationError
        If ``level`` is not in (0, 1) or the shapes disagree.

    Warns
    -----
    PathModelsWarning
        See :func:`accelerated_interval`.

    See Also
    --------
    jackknife_acceleration, accelerated_interval
    regression_acceleration : the acceleration lavaan's ``"bca"`` uses.

    Notes
    -----
    Efron's (1987) BCa: :func:`accelerated_interval` with ``a`` from
    :func:`jackknife_acceleration`. It equals ``boot::boot.ci(type = "bca", L = L)``
    with ``L`` the centred jackknife influence values. lavaan's own ``"bca"`` estimates
    ``a`` by regression on the bootstrap frequencies instead; use
    :func:`regression_acceleration` for that.

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. *JASA*, 82, 171-185.

    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 14.

    Examples
    --------
    >>> rng = np.random.default_rng(4)
    >>> x = rng.exponential(size=30)
    >>> idx = rng.integers(0, 30, size=(2000, 30))
    >>> draws = x[idx].mean(axis=1)[:, None]
    >>> jack = np.array([[np.delete(x, i).mean()] for i in range(30)])
    >>> bca_interval(draws, [x.mean()], jack).round(2)
    array([[0.89, 1.78]])
    """
    arr = _as_draws(draws)
    jk = _as_draws(jackknife, "jackknife")
    if jk.shape[1] != arr.shape[1]:
        raise SpecificationError(
            f"jackknife= has {jk.shape[1]} columns but draws= has {arr.shape[1]}; give one "
            "column per quantity"
        )
    return _accelerated(arr, estimate, jackknife_acceleration(jk), level, stacklevel=3)


# ---------------------------------------------------------------------- Monte Carlo
def mc_draws(
    theta: npt.ArrayLike,
    vcov: npt.ArrayLike,
    n_draws: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Multivariate normal draws of the parameters for Monte Carlo intervals.

    Parameters
    ----------
    theta : array_like, shape (q,)
        Parameter estimates (the mean of the draws).
    vcov : array_like, shape (q, q)
        Their covariance matrix. It may be singular (positive semi-definite), as with
        equality constraints; tiny negative eigenvalues from rounding are set to 0.
    n_draws : int
        Number of draws.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray, shape (n_draws, q)
        Draws from N(theta, vcov).

    Raises
    ------
    SpecificationError
        If the shapes disagree, ``vcov`` is not symmetric or not finite, or it has an
        eigenvalue below ``-√ε·λ_max`` (clearly indefinite; usually an inadmissible or
        non-converged fit).
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.

    Notes
    -----
    With ``vcov = Q Λ Qᵀ`` (``numpy.linalg.eigh``), draws are ``θ + Z Λ^{1/2} Qᵀ`` with
    ``Z`` standard normal, which works when ``vcov`` is singular, unlike a Cholesky
    factor. Quantities computed from the draws give Monte Carlo intervals for indirect
    effects (MacKinnon, Lockwood & Williams 2004; Preacher & Selig 2012) via
    :func:`percentile_interval`. lavaan itself has no Monte Carlo interval; semTools'
    ``monteCarloCI`` uses ``MASS::mvrnorm``, which also factors with ``eigen``.

    References
    ----------
    MacKinnon, D. P., Lockwood, C. M., & Williams, J. (2004). Confidence limits for the
    indirect effect. *Multivariate Behavioral Research*, 39(1), 99-128.

    Preacher, K. J., & Selig, J. P. (2012). Advantages of Monte Carlo confidence
    intervals for indirect effects. *Communication Methods and Measures*, 6(2), 77-98.

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> draws = mc_draws([0.4, 0.3], [[0.01, 0.0], [0.0, 0.04]], 20000, rng)
    >>> draws.shape
    (20000, 2)
    >>> np.round(draws.std(axis=0), 2)
    array([0.1, 0.2])
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng= must be a numpy.random.Generator, got {type(rng).__name__}; use "
            "numpy.random.default_rng(seed)"
        )
    mean = np.atleast_1d(np.asarray(theta, dtype=float))
    cov = np.asarray(vcov, dtype=float)
    q = mean.shape[0]
    if mean.ndim != 1 or cov.shape != (q, q):
        raise SpecificationError(
            f"vcov= must be a ({q}, {q}) matrix for {q} parameters; got shape {cov.shape}"
        )
    if int(n_draws) != n_draws or n_draws < 1:
        raise SpecificationError(f"n_draws={n_draws!r} must be a positive integer")
    if not (np.all(np.isfinite(cov)) and np.all(np.isfinite(mean))):
        raise SpecificationError(
            "theta= or vcov= contains NaN or inf; Monte Carlo draws need a finite "
            "estimate and covariance matrix (did the fit converge?)"
        )
    scale = float(np.max(np.abs(cov))) if q else 0.0
    tol = np.sqrt(np.finfo(float).eps) * max(scale, np.finfo(float).tiny)
    if np.max(np.abs(cov - cov.T), initial=0.0) > tol:
        raise SpecificationError("vcov= is not symmetric; pass a covariance matrix")
    eigval, eigvec = np.linalg.eigh((cov + cov.T) / 2.0)
    lam_max = float(eigval.max(initial=0.0))
    if q and eigval.min() < -np.sqrt(np.finfo(float).eps) * max(lam_max, np.finfo(float).tiny):
        raise SpecificationError(
            f"vcov= is not positive semi-definite (smallest eigenvalue {eigval.min():.3g}, "
            f"largest {lam_max:.3g}); Monte Carlo draws are impossible. The fit is "
            "probably inadmissible or not converged -- inspect its warnings"
        )
    root = eigvec * np.sqrt(np.clip(eigval, 0.0, None))[None, :]
    z = rng.standard_normal((int(n_draws), q))
    return np.asarray(mean[None, :] + z @ root.T, dtype=float)
