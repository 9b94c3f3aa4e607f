"""Priors of the Bayesian backend: the user's overrides, checked, and the defaults.

A prior is written as a tuple ``(family, *parameters)`` — ``("normal", 0, 1)``,
``("halfnormal", 2)`` — or as a :class:`Prior`. ``priors=`` maps *keys* to priors; a key is

* a label from the syntax: ``"a"`` (every row carrying it: one shared parameter);
* a parameter written as in the parameter table without spaces: ``"qol~selfest"``,
  ``"visual=~x2"``, ``"selfest~~support"``, ``"qol~~qol"``, ``"qol~1"``, ``"employ|t1"``;
  in a multigroup fit ``"qol~selfest.g2"`` names group 2 only;
* an operator class: ``"~"`` (regressions), ``"=~"`` (loadings), ``"~1"`` (intercepts),
  ``"~~"`` (variances), ``"cor"`` (covariances, through their correlation) or ``"|"``
  (thresholds of ordinal variables).

The most specific key wins: parameter or label, then operator class, then the default.

What a prior is *on*:

* regressions, loadings, intercepts and thresholds: the coefficient itself;
* variances: the standard deviation ``sqrt(variance)``, so the family must have positive
  support (``halfnormal``, ``halfcauchy``, ``halfstudent_t``, ``exponential``, ``gamma``,
  ``lognormal``, ``inverse_gamma``, or ``uniform`` with a lower bound of 0);
* covariances: the correlation ``r = cov / (sd_1 sd_2)``, with ``("beta", a, b)`` on
  ``(r + 1) / 2``, ``("lkj", eta)`` (the LKJ marginal, ``beta(eta, eta)``) or
  ``("uniform", lower, upper)`` within [-1, 1].

Default priors (weakly informative, scaled to the data; ``s_v`` is the sample SD of an
observed variable, or for a latent variable that of its first indicator with a loading
fixed at 1, and 1 — or pi/sqrt(3) with ``link="logit"`` — for the latent response of a
binary or ordinal variable):

* regression ``y ~ x``: ``normal(0, 2.5 s_y / s_x)``; loading ``f =~ x``:
  ``normal(0, 2.5 s_x / s_f)``;
* intercept of ``y``: ``normal(mean(y), 2.5 s_y)`` on the intercept *at the sample means
  of y's observed predictors* (the model samples that centred intercept; the table reports
  lavaan's intercept). Binary and latent variables: ``normal(0, 2.5 s_y)``;
* residual or latent variance of ``v``: ``halfnormal(2.5 s_v)`` on its SD;
* a block of free, mutually covarying residuals (``selfest ~~ support``) is sampled as a
  chain of conditional regressions: ``e_2 = lambda e_1 + u_2``, ``normal(0, 2.5 s_2 / s_1)``
  on ``lambda`` and ``halfnormal(2.5 s_v)`` on the SD of each ``u``. This modified-Cholesky
  form samples about twice as efficiently as a multivariate normal with an LKJ prior.
  Naming one of the block's parameters in ``priors=`` switches that block to the direct
  form below, so that your prior applies to exactly the parameter you named;
* other covariances: ``lkj(2)`` on the correlation (``beta(2, 2)`` on ``(r + 1) / 2``);
* thresholds of an ordinal variable: ``normal(0, 2.5)`` on the ordered cutpoints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pathmodels.exceptions import SpecificationError, close_matches

__all__ = ["FAMILIES", "OPERATOR_KEYS", "Prior", "parse_prior"]

#: family -> (parameter names, support of the family)
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "normal": (("mu", "sigma"), "real"),
    "student_t": (("nu", "mu", "sigma"), "real"),
    "cauchy": (("alpha", "beta"), "real"),
    "laplace": (("mu", "b"), "real"),
    "halfnormal": (("sigma",), "positive"),
    "halfcauchy": (("beta",), "positive"),
    "halfstudent_t": (("nu", "sigma"), "positive"),
    "exponential": (("lam",), "positive"),
    "gamma": (("alpha", "beta"), "positive"),
    "inverse_gamma": (("alpha", "beta"), "positive"),
    "lognormal": (("mu", "sigma"), "positive"),
    "uniform": (("lower", "upper"), "interval"),
    "beta": (("alpha", "beta"), "unit"),
    "lkj": (("eta",), "unit"),
}

#: operator keys and what they apply to
OPERATOR_KEYS: dict[str, str] = {
    "~": "regressions",
    "=~": "loadings",
    "~1": "intercepts",
    "~~": "variances (prior on the SD)",
    "cor": "covariances (prior on the correlation)",
    "|": "thresholds of ordinal variables",
}

# Parameters that must be positive (scales, shapes, degrees of freedom).
_POSITIVE = {"sigma", "beta", "b", "nu", "lam", "alpha", "eta"}
_ALIASES = {"halfnormal": "halfnormal", "half_normal": "halfnormal", "halfcauchy": "halfcauchy",
            "half_cauchy": "halfcauchy", "studentt": "student_t", "t": "student_t",
            "halfstudentt": "halfstudent_t", "half_student_t": "halfstudent_t",
            "invgamma": "inverse_gamma", "inversegamma": "inverse_gamma"}


@dataclass(frozen=True)
class Prior:
    """One prior distribution.

    Attributes
    ----------
    family : str
        One of :data:`FAMILIES`.
    params : tuple of float
        Its parameters in the order of :data:`FAMILIES` (``normal``: mu, sigma).

    Examples
    --------
    >>> Prior("normal", (0.0, 2.5))
    Prior('normal', 0, 2.5)
    >>> parse_prior(("halfnormal", 2), "qol~~qol")
    Prior('halfnormal', 2)
    """

    family: str
    params: tuple[float, ...]

    def __repr__(self) -> str:
        args = ", ".join(f"{p:g}" for p in self.params)
        return f"Prior({self.family!r}, {args})"

    def __str__(self) -> str:
        return f"{self.family}(" + ", ".join(f"{p:.3g}" for p in self.params) + ")"

    @property
    def support(self) -> str:
        """``"real"``, ``"positive"``, ``"interval"`` or ``"unit"``."""
        return FAMILIES[self.family][1]

    def as_beta(self) -> tuple[float, float]:
        """(a, b) of the beta distribution on (r + 1)/2 for a correlation prior."""
        if self.family == "lkj":
            return (self.params[0], self.params[0])
        return (self.params[0], self.params[1])


def parse_prior(value: Any, key: str) -> Prior:
    """Turn what a user wrote for ``priors[key]`` into a checked :class:`Prior`.

    Parameters
    ----------
    value : tuple, list, mapping or Prior
        ``("normal", 0, 1)``, ``{"dist": "normal", "mu": 0, "sigma": 1}`` or a Prior.
    key : str
        The key it was given under (for messages).

    Returns
    -------
    Prior

    Raises
    ------
    SpecificationError
        Unknown family (with close matches), wrong number of parameters, non-finite
        values, or a scale that is not positive.
    """
    if isinstance(value, Prior):
        family, params = value.family, tuple(value.params)
    elif isinstance(value, Mapping):
        items = dict(value)
        family = str(items.pop("dist", items.pop("family", "")))
        family = _ALIASES.get(family.lower(), family.lower())
        if family not in FAMILIES:
            raise SpecificationError(
                f"priors[{key!r}]: unknown distribution {family!r}; "
                + close_matches(family, FAMILIES))
        names = FAMILIES[family][0]
        unknown = [k for k in items if k not in names]
        if unknown:
            raise SpecificationError(
                f"priors[{key!r}]: {family} has no parameter {unknown[0]!r}; its parameters "
                f"are {', '.join(names)}")
        missing = [n for n in names if n not in items]
        if missing:
            raise SpecificationError(
                f"priors[{key!r}]: {family} needs {', '.join(names)}; {missing[0]!r} is missing")
        params = tuple(items[n] for n in names)
    elif isinstance(value, (tuple, list)) and value and isinstance(value[0], str):
        family = _ALIASES.get(value[0].lower(), value[0].lower())
        params = tuple(value[1:])
    else:
        raise SpecificationError(
            f"priors[{key!r}] = {value!r} is not a prior; write a tuple such as "
            "('normal', 0, 1) or ('halfnormal', 2)")
    if family not in FAMILIES:
        raise SpecificationError(
            f"priors[{key!r}]: unknown distribution {family!r}; " + close_matches(family, FAMILIES))
    names = FAMILIES[family][0]
    if len(params) != len(names):
        raise SpecificationError(
            f"priors[{key!r}]: {family} takes {len(names)} parameter(s) ({', '.join(names)}), "
            f"got {len(params)}: {params!r}")
    try:
        nums = tuple(float(p) for p in params)
    except (TypeError, ValueError):
        raise SpecificationError(
            f"priors[{key!r}]: the parameters of {family} must be numbers, got {params!r}"
        ) from None
    for name, num in zip(names, nums, strict=True):
        if not math.isfinite(num):
            raise SpecificationError(f"priors[{key!r}]: {family} parameter {name}={num} is "
                                     "not finite")
        if name in _POSITIVE and num <= 0:
            raise SpecificationError(f"priors[{key!r}]: {family} parameter {name} must be "
                                     f"positive, got {num:g}")
    if family == "uniform" and not nums[0] < nums[1]:
        raise SpecificationError(f"priors[{key!r}]: uniform needs lower < upper, got {nums}")
    return Prior(family, nums)


def check_support(prior: Prior, kind: str, key: str) -> None:
    """Refuse a prior whose support does not fit the parameter it was given to.

    Parameters
    ----------
    prior : Prior
    kind : {"coef", "sd", "cor", "threshold"}
        What the prior applies to (see the module docstring).
    key : str
        The ``priors=`` key, for the message.

    Raises
    ------
    SpecificationError
    """
    support = prior.support
    if kind == "sd":
        ok = support == "positive" or (prior.family == "uniform" and prior.params[0] >= 0)
        if not ok:
            raise SpecificationError(
                f"priors[{key!r}] = {prior} is given to a variance; variance priors apply to "
                "the standard deviation and need positive support, e.g. ('halfnormal', 2), "
                "('exponential', 1) or ('gamma', 2, 1)")
    elif kind == "cor":
        ok = support == "unit" or (prior.family == "uniform" and -1 <= prior.params[0]
                                   and prior.params[1] <= 1)
        if not ok:
            raise SpecificationError(
                f"priors[{key!r}] = {prior} is given to a covariance; covariance priors apply "
                "to the correlation: use ('lkj', 2), ('beta', 2, 2) on (r + 1)/2 or "
                "('uniform', -1, 1)")
    elif kind == "threshold":
        if prior.family != "normal":
            raise SpecificationError(
                f"priors[{key!r}] = {prior}: thresholds are ordered cutpoints and take a "
                "('normal', mu, sigma) prior")
    else:
        if support in ("unit",):
            raise SpecificationError(
                f"priors[{key!r}] = {prior} is a prior for correlations; regressions, "
                "loadings and intercepts take e.g. ('normal', 0, 1) or ('student_t', 3, 0, 1)")
