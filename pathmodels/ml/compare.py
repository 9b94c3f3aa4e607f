"""Comparing fitted models: likelihood-ratio tests and the chi-bar-square mixture.

:func:`likelihood_ratio_test` reproduces lavaan's ``lavTestLRT`` for standard (not
robust) ML test statistics. :func:`chibar_square_pvalue` gives the p-value of a
likelihood-ratio statistic when the null hypothesis puts parameters on the boundary of
their space (a variance equal to 0), where the plain chi-square difference test is
conservative (Stoel, Garre, Dolan & van den Wittenboer, 2006).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, stats

from pathmodels._typing import FloatArray
from pathmodels.exceptions import ConvergenceWarning, SpecificationError
from pathmodels.ml.fitmeasures import rmsea

__all__ = [
    "LRTInput",
    "chibar_square_pvalue",
    "chibar_square_sf",
    "chibar_square_weights",
    "likelihood_ratio_test",
]

LRT_COLUMNS = ("df", "aic", "bic", "chisq", "chisq_diff", "rmsea", "df_diff", "pvalue")
# lavTestLRT warns when a difference is below -eps^(1/3).
_NEGATIVE_DIFF_TOL = np.finfo(float).eps ** (1.0 / 3.0)
# Largest number of boundary parameters handled by vectorised enumeration of the
# 2^k faces of the orthant; beyond it each draw is projected by NNLS.
_MAX_ENUMERATE = 8


@dataclass(frozen=True, kw_only=True)
class LRTInput:
    """What a likelihood-ratio test needs from one fitted model.

    Parameters
    ----------
    name : str
        Label of the model (the row name of the table).
    chisq : float
        Its chi-square test statistic against the saturated model.
    df : int
        Its degrees of freedom.
    npar : int
        Number of free parameters (net of equality constraints).
    aic : float
        Akaike information criterion.
    bic : float
        Bayesian information criterion.
    n : int
        Total number of observations.
    n_groups : int, default 1
        Number of groups (scales the RMSEA of the difference, as in lavaan).

    Examples
    --------
    >>> LRTInput(name="m0", chisq=40.18, df=38, npar=28, aic=3153.6, bic=3218.5, n=75)
    LRTInput(name='m0', chisq=40.18, df=38, npar=28, aic=3153.6, bic=3218.5, n=75, n_groups=1)
    """

    name: str
    chisq: float
    df: int
    npar: int
    aic: float
    bic: float
    n: int
    n_groups: int = 1

    @classmethod
    def from_fit_measures(
        cls, name: str, fit_measures: Mapping[str, float], *, n_groups: int = 1
    ) -> LRTInput:
        """Build the input from a :func:`~pathmodels.ml.fitmeasures.fit_measures` dict.

        Parameters
        ----------
        name : str
            Label of the model.
        fit_measures : mapping of str to float
            Needs ``chisq, df, npar, aic, bic, ntotal``.
        n_groups : int, default 1
            Number of groups.

        Returns
        -------
        LRTInput
            The model's row of the test.

        Raises
        ------
        SpecificationError
            If a needed key is missing.

        Examples
        --------
        >>> fm = {"chisq": 40.18, "df": 38.0, "npar": 28.0, "aic": 3153.6,
        ...       "bic": 3218.5, "ntotal": 75.0}
        >>> LRTInput.from_fit_measures("m0", fm).df
        38
        """
        needed = ("chisq", "df", "npar", "aic", "bic", "ntotal")
        missing = [key for key in needed if key not in fit_measures]
        if missing:
            raise SpecificationError(
                f"fit_measures= of model {name!r} lacks {', '.join(missing)}; pass the "
                "dict returned by fit_measures()."
            )
        return cls(
            name=name,
            chisq=float(fit_measures["chisq"]),
            df=int(round(fit_measures["df"])),
            npar=int(round(fit_measures["npar"])),
            aic=float(fit_measures["aic"]),
            bic=float(fit_measures["bic"]),
            n=int(round(fit_measures["ntotal"])),
            n_groups=n_groups,
        )


def likelihood_ratio_test(models: Sequence[LRTInput]) -> pd.DataFrame:
    """Chi-square difference tests between nested models, as lavaan's ``lavTestLRT``.

    Parameters
    ----------
    models : sequence of LRTInput
        Two or more models fitted to the same data, in any order.

    Returns
    -------
    pandas.DataFrame
        One row per model, indexed by ``name`` (index name ``model``) and sorted by
        ``df`` (least restricted first), with columns ``df, aic, bic, chisq,
        chisq_diff, rmsea, df_diff, pvalue``. Row ``i > 0`` tests model ``i`` against
        model ``i - 1``; the first row has NaN in the difference columns.

    Raises
    ------
    SpecificationError
        If fewer than two models are given, names repeat, the models were fitted to
        different numbers of observations or groups, or two models have the same df (then
        they cannot be nested and the difference has no chi-square distribution).

    Warns
    -----
    ConvergenceWarning
        If a more restricted model fits better than a less restricted one (difference
        below ``-eps^(1/3)``): the models are not nested or the larger one missed its
        optimum.

    Notes
    -----
    ``chisq_diff = chisq_i - chisq_{i-1}``, ``df_diff = df_i - df_{i-1}``,
    ``pvalue = P(chi2_{df_diff} >= chisq_diff)`` and ``rmsea =
    sqrt(max(chisq_diff / (N df_diff) - 1/N, 0)) sqrt(G)`` (lavaan's RMSEA of the
    difference). lavaan only warns on equal df and prints a NaN p-value; here it is an
    error. For robust (scaled) statistics lavaan uses scaled difference tests, which this
    function does not do.

    Examples
    --------
    >>> m_free = LRTInput(name="free", chisq=38.125, df=35, npar=31, aic=3157.6,
    ...                   bic=3229.4, n=75)
    >>> m_eq = LRTInput(name="equal", chisq=40.179, df=38, npar=28, aic=3153.6,
    ...                 bic=3218.5, n=75)
    >>> table = likelihood_ratio_test([m_eq, m_free])
    >>> list(table.index), round(float(table.loc["equal", "pvalue"]), 3)
    (['free', 'equal'], 0.561)
    """
    models = list(models)
    if len(models) < 2:
        raise SpecificationError(
            f"likelihood_ratio_test() needs at least two models, got {len(models)}."
        )
    for i, model in enumerate(models):
        if not isinstance(model, LRTInput):
            raise SpecificationError(f"models[{i}] is a {type(model).__name__}, expected LRTInput.")
    names = [model.name for model in models]
    if len(set(names)) != len(names):
        raise SpecificationError(f"model names must be unique, got {names}.")
    sizes = {model.n for model in models}
    if len(sizes) > 1:
        detail = ", ".join(f"{m.name}: n={m.n}" for m in models)
        raise SpecificationError(
            f"the models were fitted to different numbers of observations ({detail}); a "
            "likelihood-ratio test needs the same data. Check missing-data handling."
        )
    groups = {model.n_groups for model in models}
    if len(groups) > 1:
        detail = ", ".join(f"{m.name}: n_groups={m.n_groups}" for m in models)
        raise SpecificationError(f"the models have different numbers of groups ({detail}).")
    ordered = sorted(models, key=lambda m: m.df)  # stable, as R's order()
    for previous, current in itertools.pairwise(ordered):
        if current.df == previous.df:
            raise SpecificationError(
                f"models {previous.name!r} and {current.name!r} have the same df "
                f"({current.df}), so they are not nested; compare them by aic/bic instead."
            )
    n = ordered[0].n
    n_groups = ordered[0].n_groups
    rows = []
    for i, model in enumerate(ordered):
        row = {
            "df": float(model.df),
            "aic": float(model.aic),
            "bic": float(model.bic),
            "chisq": float(model.chisq),
            "chisq_diff": math.nan,
            "rmsea": math.nan,
            "df_diff": math.nan,
            "pvalue": math.nan,
        }
        if i > 0:
            previous = ordered[i - 1]
            diff = model.chisq - previous.chisq
            ddf = model.df - previous.df
            if diff < -_NEGATIVE_DIFF_TOL:
                warnings.warn(
                    f"model {model.name!r} (df={model.df}) fits better than the less "
                    f"restricted {previous.name!r} (df={previous.df}): chisq difference "
                    f"{diff:.6g}. Either they are not nested or {previous.name!r} did not "
                    "reach its optimum; refit it from other starting values.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            row["chisq_diff"] = diff
            row["df_diff"] = float(ddf)
            row["rmsea"] = rmsea(max(diff, 0.0), ddf, n, n_groups=n_groups)
            row["pvalue"] = float(stats.chi2.sf(diff, ddf))
        rows.append(row)
    table = pd.DataFrame(rows, index=pd.Index([m.name for m in ordered], name="model"))
    return table.loc[:, list(LRT_COLUMNS)]


# ------------------------------------------------------------------ chi-bar-square


def _boundary_block(vcov: npt.ArrayLike, boundary: npt.ArrayLike | None) -> tuple[FloatArray, int]:
    """Covariance of the boundary parameters and the number of unrestricted ones."""
    v = np.array(vcov, dtype=np.float64)
    if v.ndim == 0:
        v = v.reshape(1, 1)
    if v.ndim != 2 or v.shape[0] != v.shape[1] or v.shape[0] == 0:
        raise SpecificationError(f"vcov= must be a square (k, k) matrix, got shape {v.shape}.")
    if not np.all(np.isfinite(v)) or not np.allclose(v, v.T, rtol=1e-10, atol=1e-12):
        raise SpecificationError("vcov= must be a finite symmetric matrix.")
    k = v.shape[0]
    if boundary is None:
        mask = np.ones(k, dtype=bool)
    else:
        mask = np.array(boundary)
        if mask.dtype != np.bool_:
            if not np.issubdtype(mask.dtype, np.integer):
                raise SpecificationError(
                    "boundary= must be a boolean mask over the rows of vcov= or their "
                    "integer positions."
                )
            idx = mask.ravel()
            if np.any((idx < 0) | (idx >= k)):
                raise SpecificationError(f"boundary= positions must lie in 0..{k - 1}.")
            mask = np.zeros(k, dtype=bool)
            mask[idx] = True
        elif mask.shape != (k,):
            raise SpecificationError(
                f"boundary= must have shape ({k},) to match vcov=, got {mask.shape}."
            )
    if not mask.any():
        raise SpecificationError(
            "boundary= marks no parameter; without boundary parameters the statistic is a "
            "plain chi-square (use scipy.stats.chi2.sf)."
        )
    block = (v[np.ix_(mask, mask)] + v[np.ix_(mask, mask)].T) / 2.0
    if np.linalg.eigvalsh(block)[0] <= 0:
        raise SpecificationError(
            "the covariance of the boundary parameters in vcov= is not positive definite."
        )
    if np.linalg.eigvalsh((v + v.T) / 2.0)[0] <= 0:
        raise SpecificationError("vcov= is not positive definite.")
    return block, int(k - mask.sum())


def _count_positive_enumerate(z: FloatArray, v: FloatArray) -> npt.NDArray[np.int64]:
    """Count the positive components of the projection of each row of ``z``.

    The projection of ``z`` onto the non-negative orthant in the metric ``v^-1`` has
    free (positive) set ``A`` and zero set ``B`` exactly when
    ``z_A - v_AB v_BB^-1 z_B > 0`` and ``v_BB^-1 z_B <= 0`` (Kuhn-Tucker conditions);
    one face matches each draw with probability one.
    """
    n, k = z.shape
    counts = np.full(n, -1, dtype=np.int64)
    open_rows = np.arange(n)
    for size in range(k + 1):
        for free in itertools.combinations(range(k), size):
            if open_rows.size == 0:
                return counts
            zz = z[open_rows]
            a = list(free)
            b = [j for j in range(k) if j not in free]
            if not b:
                hit = np.all(zz > 0, axis=1)
            else:
                mult = zz[:, b] @ np.linalg.inv(v[np.ix_(b, b)])
                hit = np.all(mult <= 0, axis=1)
                if a:
                    theta = zz[:, a] - mult @ v[np.ix_(b, a)]
                    hit &= np.all(theta > 0, axis=1)
            counts[open_rows[hit]] = size
            open_rows = open_rows[~hit]
    if open_rows.size:  # pragma: no cover - probability zero
        unresolved = counts < 0
        counts[unresolved] = _count_positive_nnls(z[unresolved], v)
    return counts


def _count_positive_nnls(z: FloatArray, v: FloatArray) -> npt.NDArray[np.int64]:
    """Do as :func:`_count_positive_enumerate` with one NNLS problem per draw."""
    r = np.linalg.cholesky(np.linalg.inv(v)).T  # v^-1 = r' r
    counts = np.empty(z.shape[0], dtype=np.int64)
    for i, row in enumerate(z):
        theta, _ = optimize.nnls(r, r @ row)
        counts[i] = int(np.sum(theta > 1e-12 * max(1.0, float(np.max(np.abs(row))))))
    return counts


def chibar_square_weights(
    vcov: npt.ArrayLike,
    boundary: npt.ArrayLike | None = None,
    *,
    n_sim: int = 100_000,
    seed: int | np.random.SeedSequence | np.random.Generator = 0,
) -> FloatArray:
    """Mixing weights of the chi-bar-square distribution, by simulation.

    Parameters
    ----------
    vcov : array_like, shape (k, k)
        Asymptotic covariance matrix of the estimators of the tested parameters under the
        larger model (e.g. the inverse information at the null estimates).
    boundary : array_like of bool, shape (k,), or of int, optional
        Which tested parameters lie on the boundary under the null (constrained ``>= 0``),
        as a mask or as positions. Default: all of them.
    n_sim : int, default 100_000
        Number of simulated draws; each weight has Monte Carlo SE at most
        ``0.5 / sqrt(n_sim)``.
    seed : int, SeedSequence or Generator, default 0
        Seed of the draws (a fixed default, so the same call gives the same weights).

    Returns
    -------
    numpy.ndarray
        ``weights[j]``, ``j = 0..m`` for ``m`` boundary parameters: the probability that
        ``j`` of them are positive after projecting ``Z ~ N(0, vcov)`` onto the cone
        ``{theta_b >= 0}`` in the metric ``vcov^-1``. They sum to 1.

    Raises
    ------
    SpecificationError
        If ``vcov`` is not a positive-definite matrix, ``boundary`` does not match it or
        marks nothing, or ``n_sim < 1``.

    Notes
    -----
    Minimising over the unrestricted parameters first leaves a projection of the boundary
    block alone, with ``Z_b ~ N(0, V_bb)`` in the metric ``V_bb^-1``, so only ``V_bb``
    matters (Shapiro, 1985). Up to 8 boundary parameters each draw is assigned to the
    face of the orthant whose Kuhn-Tucker conditions it meets, vectorised over draws;
    more use one non-negative least-squares problem per draw.

    References
    ----------
    Shapiro, A. (1985). Asymptotic distribution of test statistics in the analysis of
    moment structures under inequality constraints. Biometrika, 72(1), 133-144.

    Stoel, R. D., Garre, F. G., Dolan, C., & van den Wittenboer, G. (2006). On the
    likelihood ratio test in structural equation modeling when parameters are subject to
    boundary constraints. Psychological Methods, 11(4), 439-455.

    Examples
    --------
    >>> import numpy as np
    >>> w = chibar_square_weights(np.eye(2), n_sim=200_000, seed=1)
    >>> np.round(w, 2)
    array([0.25, 0.5 , 0.25])
    """
    if int(n_sim) < 1:
        raise SpecificationError(f"n_sim= must be a positive integer, got {n_sim}.")
    v, _ = _boundary_block(vcov, boundary)
    m = v.shape[0]
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(v)
    counts = np.zeros(m + 1, dtype=np.int64)
    remaining = int(n_sim)
    chunk = 50_000
    while remaining > 0:
        size = min(chunk, remaining)
        z = rng.standard_normal((size, m)) @ chol.T
        if m <= _MAX_ENUMERATE:
            positive = _count_positive_enumerate(z, v)
        else:
            positive = _count_positive_nnls(z, v)
        counts += np.bincount(positive, minlength=m + 1)
        remaining -= size
    return counts / float(n_sim)


def chibar_square_sf(stat: float, weights: npt.ArrayLike, *, df_free: int = 0) -> float:
    """Survival function of a chi-bar-square mixture with given weights.

    Parameters
    ----------
    stat : float
        Likelihood-ratio statistic.
    weights : array_like, shape (m + 1,)
        Mixing weights for ``j = 0..m`` positive boundary components.
    df_free : int, default 0
        Degrees of freedom contributed by tested parameters not on the boundary.

    Returns
    -------
    float
        ``sum_j weights[j] P(chi2_{df_free + j} >= stat)``, with ``chi2_0`` a point mass
        at 0.

    Examples
    --------
    >>> round(chibar_square_sf(2.706, [0.5, 0.5]), 4)  # half the chi2_1 p-value
    0.05
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or np.any(w < 0) or not math.isclose(float(w.sum()), 1.0, abs_tol=1e-8):
        raise SpecificationError(
            "weights= must be a 1-d array of non-negative numbers summing to 1."
        )
    if df_free < 0:
        raise SpecificationError(f"df_free= must be >= 0, got {df_free}.")
    if not math.isfinite(stat):
        raise SpecificationError(f"stat= must be finite, got {stat}.")
    total = 0.0
    for j, weight in enumerate(w):
        df = df_free + j
        tail = (1.0 if stat <= 0 else 0.0) if df == 0 else float(stats.chi2.sf(stat, df))
        total += float(weight) * tail
    return min(total, 1.0)


def chibar_square_pvalue(
    stat: float,
    vcov: npt.ArrayLike,
    boundary: npt.ArrayLike | None = None,
    *,
    df_free: int = 0,
    n_sim: int = 100_000,
    seed: int | np.random.SeedSequence | np.random.Generator = 0,
) -> float:
    """P-value of a likelihood-ratio statistic with parameters on the boundary.

    Parameters
    ----------
    stat : float
        Likelihood-ratio (chi-square difference) statistic.
    vcov : array_like, shape (k, k)
        Asymptotic covariance of the estimators of the tested parameters under the larger
        model.
    boundary : array_like of bool, shape (k,), or of int, optional
        Which of them lie on the boundary under the null (default: all). The others are
        unrestricted and each adds one degree of freedom.
    df_free : int, default 0
        Further unrestricted tested parameters not included in ``vcov``.
    n_sim : int, default 100_000
        Number of draws for the weights (:func:`chibar_square_weights`).
    seed : int, SeedSequence or Generator, default 0
        Seed of the draws.

    Returns
    -------
    float
        ``sum_j w_j P(chi2_{d + j} >= stat)`` with ``d = df_free +`` the number of
        unrestricted rows of ``vcov``.

    Raises
    ------
    SpecificationError
        As :func:`chibar_square_weights`, or if ``stat`` is not finite.

    See Also
    --------
    chibar_square_weights : the weights ``w_j``.
    chibar_square_sf : the p-value for given weights.

    Notes
    -----
    Testing ``psi = 0`` for one variance gives weights ``(1/2, 1/2)``: the p-value is
    half the naive ``chi2_1`` one (Stoel et al., 2006).

    References
    ----------
    Stoel, R. D., Garre, F. G., Dolan, C., & van den Wittenboer, G. (2006). On the
    likelihood ratio test in structural equation modeling when parameters are subject to
    boundary constraints. Psychological Methods, 11(4), 439-455.

    Examples
    --------
    >>> round(chibar_square_pvalue(3.84, [[0.02]]), 3)
    0.025
    """
    _, n_unrestricted = _boundary_block(vcov, boundary)
    if not math.isfinite(stat):
        raise SpecificationError(f"stat= must be finite, got {stat}.")
    weights = chibar_square_weights(vcov, boundary, n_sim=n_sim, seed=seed)
    return chibar_square_sf(stat, weights, df_free=df_free + n_unrestricted)
