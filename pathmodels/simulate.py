r"""Simulated cohorts and trials from a population model.

A population model is lavaan syntax with numbers on the paths. As in lavaan's
``simulateData``, what the syntax leaves unspecified is filled in: regressions and
covariances 0, (residual) variances 1, loadings 1 (0.7 with ``standardized=True``),
intercepts 0. On top of the linear model, :func:`simulate` adds what a trial design
needs: randomised arms with an allocation ratio, binary or ordinal variables cut from a
latent response (probit) or drawn from a logit, calibrated to target rates (overall or
per arm), measurement error with a given reliability, sites with an intraclass
correlation, and monotone attrition per wave that is MCAR, MAR or MNAR with target rates.

Generation runs in the causal (topological) order of the model, so a variable that
depends on a binary variable depends on its observed 0/1 value, as the model library
assumes. Every draw comes from a :class:`numpy.random.Generator` built from a
:class:`numpy.random.SeedSequence`; nothing touches numpy's global random state.

The compiled form, :class:`Population`, is what :func:`pathmodels.power` uses: it draws
raw data (:meth:`Population.draw`), gives the exact population moments of the observed
variables (:meth:`Population.moments`) and says whether the data are multivariate normal
(:attr:`Population.is_normal`), in which case power draws replicate sample moments
directly (Wishart) instead of raw data.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import optimize, special

from pathmodels._typing import FloatArray
from pathmodels.exceptions import DataError, SpecificationError, close_matches
from pathmodels.spec import Spec

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Attrition",
    "Binary",
    "MomentSampler",
    "Population",
    "Sites",
    "compile_population",
    "resolve_population",
    "simulate",
]


_AUX_SEED = 20_070_601  # fixed seed of the auxiliary samples used for calibration
_AUX_N = 200_000
_TOL = 1e-10


# ----------------------------------------------------------------------------- options
@dataclass(frozen=True)
class Binary:
    """How a variable becomes binary (or ordinal).

    The variable's linear predictor plus a residual is a latent response; the observed
    value counts the thresholds it exceeds (0/1 for one threshold). Give at most one of
    ``threshold``, ``rate`` and ``rates``; with none, the threshold is 0.

    Parameters
    ----------
    threshold : float or tuple of float, optional
        Threshold(s) on the latent scale (increasing for an ordinal variable).
    rate : float, optional
        Target proportion of 1s over the whole sample; the threshold is calibrated.
    rates : mapping of arm value to float, or (control, intervention), optional
        Target proportions of 1s in each arm, e.g. ``{0: 0.28, 1: 0.55}``: both the
        threshold and the arm -> variable path are calibrated (the path's number in the
        syntax is replaced). The variable must have a direct path from the arm.
    link : {"probit", "logit"}
        ``"probit"``: normal residual with the variance in the syntax (default 1);
        ``"logit"``: standard logistic residual (the syntax's residual variance and
        covariances must be left unspecified).
    arm : str, optional
        The arm variable for ``rates`` when the population has several.

    Examples
    --------
    >>> Binary(rates=(0.28, 0.55)).rates
    {0: 0.28, 1: 0.55}
    """

    threshold: float | tuple[float, ...] | None = None
    rate: float | None = None
    rates: Mapping[int, float] | tuple[float, float] | None = None
    link: Literal["probit", "logit"] = "probit"
    arm: str | None = None

    def __post_init__(self) -> None:
        given = [x is not None for x in (self.threshold, self.rate, self.rates)]
        if sum(given) > 1:
            raise SpecificationError("Binary: give one of threshold=, rate= or rates=, not several")
        if self.link not in ("probit", "logit"):
            raise SpecificationError(
                f"Binary: link={self.link!r} is not an option; "
                + close_matches(str(self.link), ["probit", "logit"])
            )
        if self.threshold is not None:
            th = (
                tuple(float(t) for t in self.threshold)
                if isinstance(self.threshold, Sequence)
                else (float(self.threshold),)
            )
            if not th or any(b <= a for a, b in zip(th, th[1:], strict=False)):
                raise SpecificationError(f"Binary: thresholds {th} must be increasing")
            object.__setattr__(self, "threshold", th)
        if self.rate is not None:
            _check_rate(self.rate, "Binary(rate=)")
        if self.rates is not None:
            rates = (
                dict(self.rates) if isinstance(self.rates, Mapping) else dict(enumerate(self.rates))
            )
            if sorted(rates) != [0, 1]:
                raise SpecificationError(
                    f"Binary(rates=) needs a rate for arm 0 and arm 1, got keys {sorted(rates)}"
                )
            for value in rates.values():
                _check_rate(value, "Binary(rates=)")
            object.__setattr__(self, "rates", {0: float(rates[0]), 1: float(rates[1])})


@dataclass(frozen=True)
class Sites:
    """Participants recruited at several sites with an intraclass correlation.

    Parameters
    ----------
    n_sites : int
        Number of sites; participants are split as evenly as possible.
    icc : float
        Share of each affected variable's residual variance that lies between sites
        (``0 <= icc < 1``); the total residual variance is unchanged.
    variables : tuple of str, optional
        Variables with site effects; default every endogenous observed variable (binary
        ones on their latent scale). Site effects are independent across variables.

    Examples
    --------
    >>> Sites(4, 0.05).n_sites
    4
    """

    n_sites: int
    icc: float
    variables: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if int(self.n_sites) != self.n_sites or self.n_sites < 1:
            raise SpecificationError(f"Sites: n_sites={self.n_sites!r} must be a positive integer")
        if not 0.0 <= float(self.icc) < 1.0:
            raise SpecificationError(f"Sites: icc={self.icc!r} must lie in [0, 1)")
        if self.variables is not None:
            object.__setattr__(self, "variables", tuple(self.variables))


@dataclass(frozen=True)
class Attrition:
    """Monotone dropout by wave.

    At each follow-up wave, a share ``rate`` of the participants still in the study drop
    out; everything they would have provided from that wave on is missing. The baseline
    (first) wave and variables belonging to no wave (the arm, covariates) are complete.

    Parameters
    ----------
    rate : float or tuple of float
        Dropout among those still present, one rate for every follow-up wave or one per
        follow-up wave. Each must lie in [0, 1).
    mechanism : {"mcar", "mar", "mnar"}
        ``"mcar"``: everyone equally likely. ``"mar"``: the log-odds of dropping out at
        wave t move by ``strength`` per SD of the mean of the driving variables observed
        at wave t-1. ``"mnar"``: the same with their (unobserved) values at wave t.
    strength : float, default -1.0
        Log-odds ratio per SD; negative means people with lower values drop out more.
    on : tuple of str, optional
        Variables (or their stems without the wave suffix, e.g. ``"qol"``) driving MAR or
        MNAR dropout; default every continuous variable of the wave.

    Notes
    -----
    The intercept of each wave's logistic model is solved for in every sample so that
    the expected share dropping out equals ``rate`` exactly.

    Examples
    --------
    >>> Attrition(0.2, mechanism="mar").rate
    0.2
    >>> str(Attrition((0.1, 0.2)))
    '10%/20% per wave (mcar)'
    """

    rate: float | tuple[float, ...]
    mechanism: Literal["mcar", "mar", "mnar"] = "mcar"
    strength: float = -1.0
    on: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        rates = self.rate if isinstance(self.rate, Sequence) else (self.rate,)
        for r in rates:
            if not (isinstance(r, int | float) and 0.0 <= float(r) < 1.0):
                raise SpecificationError(
                    f"attrition rate {r!r} must lie in [0, 1); e.g. Attrition(0.2) for 20% "
                    "dropout per wave"
                )
        if isinstance(self.rate, Sequence):
            object.__setattr__(self, "rate", tuple(float(r) for r in self.rate))
        else:
            object.__setattr__(self, "rate", float(self.rate))
        if self.mechanism not in ("mcar", "mar", "mnar"):
            raise SpecificationError(
                f"attrition mechanism {self.mechanism!r} is not an option; "
                + close_matches(str(self.mechanism), ["mcar", "mar", "mnar"])
            )
        if self.on is not None:
            object.__setattr__(self, "on", tuple(self.on))

    def rates(self, n_followup: int) -> tuple[float, ...]:
        """Dropout rate of each of ``n_followup`` follow-up waves."""
        if isinstance(self.rate, tuple):
            if len(self.rate) != n_followup:
                raise SpecificationError(
                    f"attrition gives {len(self.rate)} rates but the population has "
                    f"{n_followup} follow-up wave(s); give one rate or one per follow-up wave"
                )
            return self.rate
        return (float(self.rate),) * n_followup

    def __str__(self) -> str:
        rates = self.rate if isinstance(self.rate, tuple) else (self.rate,)
        text = "/".join(f"{100 * r:g}%" for r in rates)
        return f"{text} per wave ({self.mechanism})"


def _check_rate(value: object, where: str) -> None:
    if not (isinstance(value, int | float) and 0.0 < float(value) < 1.0):
        raise SpecificationError(
            f"{where}: the rate {value!r} must lie strictly between 0 "
            "and 1 (a proportion, e.g. 0.55 for 55%)"
        )


# ----------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class _Source:
    spec: Spec
    thresholds: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    arms: tuple[str, ...] = ()
    model: Spec | None = None


def resolve_population(population: Any, waves: int | None = None) -> _Source:
    """Turn what a user passed as ``population`` into a Spec plus library extras.

    Parameters
    ----------
    population : Spec, str, Path or callable
        lavaan syntax with numbers, a Spec, a library name, a ``.yaml`` (library schema)
        or ``.lav`` file, or a function of the number of waves returning one of those.
    waves : int, optional
        Passed to a callable population.

    Returns
    -------
    _Source
        The spec, thresholds and arms declared by a library entry, and the library's
        analysis model (``None`` otherwise).

    Raises
    ------
    SpecificationError
        Unknown names or files, a callable without ``waves=``.
    """
    if isinstance(population, _Source):
        return population
    if callable(population) and not isinstance(population, Spec | str | Path):
        if waves is None:
            raise SpecificationError(
                "population is a function of the number of waves; pass waves= (e.g. waves=3)"
            )
        return resolve_population(population(int(waves)))
    if isinstance(population, Spec):
        return _Source(population)
    if isinstance(population, Path) or (
        isinstance(population, str)
        and "\n" not in population
        and not any(op in population for op in ("~", ":=", "=="))
    ):
        from pathmodels import library

        text = str(population)
        if text.endswith((".lav", ".txt")):
            path = Path(text)
            if not path.is_file():
                raise SpecificationError(f"population file {text!r} does not exist")
            return _Source(Spec.from_syntax(path.read_text(), name=path.stem))
        entry = library.model_entry(text)
        spec = Spec.from_syntax(entry.population.syntax, name=entry.name)
        exo = _exogenous_observed(spec)
        arms = tuple(
            v
            for v, info in entry.variables.items()
            if info.type.value == "binary" and v in exo and v not in entry.population.thresholds
        )
        return _Source(spec, dict(entry.population.thresholds), arms, library.load_model(text))
    if isinstance(population, str):
        return _Source(Spec.from_syntax(population))
    raise SpecificationError(
        f"population must be lavaan syntax with numbers, a Spec, a library name or a "
        f"function of the number of waves, got {type(population).__name__}"
    )


def _exogenous_observed(spec: Spec) -> set[str]:
    frame = spec.to_frame()
    incoming = set(frame.loc[frame["op"] == "~", "lhs"]) | set(
        frame.loc[frame["op"] == "=~", "rhs"]
    )
    return {v for v in spec.observed if v not in incoming and ":" not in v}


# ----------------------------------------------------------------------------- waves
_WAVE_UNDERSCORE = re.compile(r"^(?P<stem>.+?)_(?P<t>\d+)$")
_WAVE_DIGITS = re.compile(r"^(?P<stem>.*?[A-Za-z_])(?P<t>\d+)$")


def infer_waves(names: Sequence[str]) -> dict[int, tuple[str, ...]]:
    """Group variable names by wave from a numeric suffix (``qol_2`` or ``x2``).

    Names ending in ``_<t>`` are used when there are any; otherwise names ending in
    digits. Names without a suffix belong to no wave. With fewer than two waves found,
    the result is empty.

    Parameters
    ----------
    names : sequence of str

    Returns
    -------
    dict of int to tuple of str

    Examples
    --------
    >>> infer_waves(["arm", "x1", "y1", "x2", "y2"])
    {1: ('x1', 'y1'), 2: ('x2', 'y2')}
    """
    for pattern in (_WAVE_UNDERSCORE, _WAVE_DIGITS):
        out: dict[int, list[str]] = {}
        for name in names:
            hit = pattern.match(name)
            if hit:
                out.setdefault(int(hit["t"]), []).append(name)
        if len(out) >= 2:
            return {t: tuple(out[t]) for t in sorted(out)}
    return {}


def _stem(name: str) -> str:
    for pattern in (_WAVE_UNDERSCORE, _WAVE_DIGITS):
        hit = pattern.match(name)
        if hit:
            return hit["stem"]
    return name


# ----------------------------------------------------------------------------- population
@dataclass(frozen=True)
class _Discrete:
    thresholds: tuple[float, ...]
    link: str


@dataclass(frozen=True, eq=False)
class Population:
    """A compiled population: matrices, design and missing-data mechanism.

    Build one with :func:`compile_population`. Variables are the observed ones (lavaan's
    order) followed by the latent ones; ``A[i, j]`` is the effect of j on i, ``S`` the
    residual covariance, ``m`` the intercepts.

    Attributes
    ----------
    spec : Spec
        The population syntax as parsed.
    names : tuple of str
        Observed then latent variables.
    observed : tuple of str
        Columns of the simulated data (interaction terms excluded).
    A, S, m : numpy.ndarray
        Paths, residual covariances and intercepts actually used (after defaults,
        standardisation and calibration).
    discrete : mapping
        Binary/ordinal variables with thresholds and link.
    arms : mapping of str to (float, float)
        Randomised arm variables and their allocation ratio (control, intervention).
    sites : Sites or None
    error_variance : mapping of str to float
        Measurement-error variances added to observed variables (from ``reliability``).
    waves : mapping of int to tuple of str
        Variables of each wave (first = baseline).
    attrition : Attrition or None
    """

    spec: Spec
    names: tuple[str, ...]
    observed: tuple[str, ...]
    A: FloatArray
    S: FloatArray
    m: FloatArray
    order: tuple[int, ...] | None
    root: FloatArray
    discrete: Mapping[str, _Discrete]
    arms: Mapping[str, tuple[float, float]]
    sites: Sites | None
    error_variance: Mapping[str, float]
    waves: Mapping[int, tuple[str, ...]]
    attrition: Attrition | None
    interactions: tuple[str, ...]
    notes: tuple[str, ...] = ()

    # ------------------------------------------------------------------ pickling
    # Spec keeps its metadata in a read-only mappingproxy, which pickle refuses; worker
    # processes get the syntax and rebuild the Spec.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["spec"] = spec_state(self.spec)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["spec"] = spec_from_state(state["spec"])
        self.__dict__.update(state)

    # ------------------------------------------------------------------ properties
    @property
    def is_normal(self) -> bool:
        """True when complete data are multivariate normal given the arms.

        Then replicate sample moments can be drawn without raw data.
        """
        clustered = self.sites is not None and self.sites.icc > 0
        return not self.discrete and not self.interactions and not clustered

    @property
    def p_observed(self) -> int:
        """Number of observed columns."""
        return len(self.observed)

    def with_attrition(self, attrition: Attrition | None) -> Population:
        """The same population with another attrition mechanism (checked)."""
        if attrition is not None:
            _check_attrition(attrition, self.waves, self.discrete, self.observed)
        return dataclasses.replace(self, attrition=attrition)

    def syntax(self) -> str:
        """The population as lavaan syntax with every number actually used.

        Returns
        -------
        str
        """
        table = self.spec.table(ngroups=1, meanstructure=True, fixed_x=False, std_lv=True)
        loadings = {
            (table.rhs[i], table.lhs[i]) for i in range(table.n_rows) if table.op[i] == "=~"
        }
        names, v = self.names, len(self.names)
        lines = []
        for j in range(v):
            inds = [
                f"{_fmt(self.A[i, j])}*{names[i]}"
                for i in range(v)
                if (names[i], names[j]) in loadings
            ]
            if inds:
                lines.append(f"{names[j]} =~ " + " + ".join(inds))
        for i in range(v):
            if names[i] in self.interactions:
                continue
            regs = [
                f"{_fmt(self.A[i, j])}*{names[j]}"
                for j in range(v)
                if self.A[i, j] != 0 and (names[i], names[j]) not in loadings
            ]
            if regs:
                lines.append(f"{names[i]} ~ " + " + ".join(regs))
        for i in range(v):
            for j in range(i, v):
                if (self.S[i, j] != 0 or i == j) and names[i] not in self.interactions:
                    lines.append(f"{names[i]} ~~ {_fmt(self.S[i, j])}*{names[j]}")
        for i in range(v):
            if self.m[i] != 0:
                lines.append(f"{names[i]} ~ {_fmt(self.m[i])}*1")
        return "\n".join(lines)

    # ------------------------------------------------------------------ moments
    def moments(self) -> tuple[FloatArray, FloatArray]:
        """Population mean and covariance of the observed columns (complete data).

        Exact for normal populations (arms enter with their allocation mean and
        variance); from a large fixed-seed auxiliary sample (200,000 rows) when some
        variables are binary, ordinal or products.

        Returns
        -------
        mean : numpy.ndarray (p,)
        cov : numpy.ndarray (p, p)
        """
        if not self.discrete and not self.interactions:
            return self.linear_moments()
        rng = np.random.default_rng(np.random.SeedSequence(_AUX_SEED))
        X = self.draw(rng, _AUX_N, complete=True)
        return X.mean(axis=0), np.cov(X, rowvar=False, bias=True)

    def linear_moments(self) -> tuple[FloatArray, FloatArray]:
        """Moments of the linear model (binary variables as their latent responses).

        Returns
        -------
        mean : numpy.ndarray (p,)
        cov : numpy.ndarray (p, p)
        """
        S = self.S.copy()
        m = self.m.copy()
        for arm, ratio in self.arms.items():
            k = self.names.index(arm)
            p1 = ratio[1] / sum(ratio)
            S[k, :] = 0.0
            S[:, k] = 0.0
            S[k, k] = p1 * (1 - p1)
            m[k] = p1
        B = np.linalg.inv(np.eye(len(self.names)) - self.A)
        idx = [self.names.index(v) for v in self.observed]
        cov = (B @ S @ B.T)[np.ix_(idx, idx)].copy()
        for name, err in self.error_variance.items():
            k = self.observed.index(name)
            cov[k, k] += err
        return (B @ m)[idx], cov

    # ------------------------------------------------------------------ drawing
    def draw(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        complete: bool = False,
        sites_out: list[Any] | None = None,
    ) -> FloatArray:
        """Draw one sample of raw data.

        Parameters
        ----------
        rng : numpy.random.Generator
        n : int
            Number of participants.
        complete : bool, default False
            Skip attrition.
        sites_out : list, optional
            If given, the site code of each row is appended to it.

        Returns
        -------
        numpy.ndarray (n, p)
            Columns in :attr:`observed` order; NaN where a participant had dropped out.
        """
        Y = self._forward(rng, n, sites_out)
        idx = [self.names.index(v) for v in self.observed]
        X = Y[:, idx]
        for name, err in self.error_variance.items():
            k = self.observed.index(name)
            X[:, k] += math.sqrt(err) * rng.standard_normal(n)
        if self.attrition is not None and not complete:
            self._drop(rng, X)
        return X

    def _assign(
        self, rng: np.random.Generator, n: int
    ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        site = None
        blocks = [np.arange(n)]
        if self.sites is not None:
            k = self.sites.n_sites
            site = np.repeat(np.arange(k), [n // k + (s < n % k) for s in range(k)])
            blocks = [np.flatnonzero(site == s) for s in range(k)]
        arms: dict[str, np.ndarray] = {}
        for arm, ratio in self.arms.items():
            values = np.zeros(n)
            for rows in blocks:
                n1 = int(round(rows.size * ratio[1] / sum(ratio)))
                coded = np.zeros(rows.size)
                coded[:n1] = 1.0
                values[rows] = rng.permutation(coded)
            arms[arm] = values
        return site, arms

    def _forward(
        self, rng: np.random.Generator, n: int, sites_out: list[Any] | None = None
    ) -> FloatArray:
        v = len(self.names)
        site, arms = self._assign(rng, n)
        if sites_out is not None and site is not None:
            sites_out.append(site)
        E = rng.standard_normal((n, v)) @ self.root.T
        logit = [self.names.index(k) for k, d in self.discrete.items() if d.link == "logit"]
        if logit:
            E[:, logit] = rng.logistic(size=(n, len(logit)))
        if site is not None and self.sites is not None and self.sites.icc > 0:
            affected = self._site_variables()
            u = rng.standard_normal((self.sites.n_sites, len(affected)))
            for c, k in enumerate(affected):
                sd = (
                    math.sqrt(self.S[k, k])
                    if self.names[k] not in self.discrete
                    or self.discrete[self.names[k]].link == "probit"
                    else math.pi / math.sqrt(3)
                )
                E[:, k] = (
                    math.sqrt(1 - self.sites.icc) * E[:, k]
                    + math.sqrt(self.sites.icc) * sd * u[site, c]
                )
        Y = np.zeros((n, v))
        if self.order is None:
            for arm, values in arms.items():
                k = self.names.index(arm)
                E[:, k] = values - self.m[k]
            B = np.linalg.inv(np.eye(v) - self.A)
            return (self.m + E) @ B.T
        for i in self.order:
            name = self.names[i]
            if name in arms:
                Y[:, i] = arms[name]
                continue
            if name in self.interactions:
                parts = [self.names.index(p) for p in name.split(":")]
                Y[:, i] = np.prod(Y[:, parts], axis=1)
                continue
            parents = np.flatnonzero(self.A[i])
            y = self.m[i] + E[:, i]
            if parents.size:
                y = y + Y[:, parents] @ self.A[i, parents]
            disc = self.discrete.get(name)
            if disc is not None:
                y = np.searchsorted(np.asarray(disc.thresholds), y, side="left").astype(float)
            Y[:, i] = y
        return Y

    def _site_variables(self) -> list[int]:
        assert self.sites is not None
        if self.sites.variables is not None:
            return [self.names.index(v) for v in self.sites.variables]
        return [
            k
            for k, name in enumerate(self.names)
            if name in self.observed and self.A[k].any() and name not in self.arms
        ]

    def _drop(self, rng: np.random.Generator, X: FloatArray) -> None:
        att = self.attrition
        assert att is not None
        waves = self.wave_columns()
        if len(waves) < 2:
            return
        rates = att.rates(len(waves) - 1)
        present = np.ones(X.shape[0], dtype=bool)
        for t in range(1, len(waves)):
            rate = rates[t - 1]
            if rate <= 0 or not present.any():
                continue
            if att.mechanism == "mcar":
                prob = np.full(int(present.sum()), rate)
            else:
                cols = self._driver_columns(waves[t - 1 if att.mechanism == "mar" else t])
                z = X[np.ix_(present, cols)].mean(axis=1)
                sd = z.std()
                z = (z - z.mean()) / sd if sd > 0 else np.zeros_like(z)
                prob = _calibrated_probabilities(att.strength * z, rate)
            leave = rng.random(prob.size) < prob
            rows = np.flatnonzero(present)[leave]
            present[rows] = False
            later = [c for w in waves[t:] for c in w]
            X[np.ix_(rows, later)] = np.nan

    def wave_columns(self) -> list[list[int]]:
        """Column indices of each wave; without named waves, baseline vs follow-up."""
        if self.waves:
            return [
                [self.observed.index(v) for v in names if v in self.observed]
                for _, names in sorted(self.waves.items())
            ]
        exo = [k for k, v in enumerate(self.observed) if not self.A[self.names.index(v)].any()]
        rest = [k for k in range(len(self.observed)) if k not in exo]
        return [exo, rest]

    def _driver_columns(self, wave: list[int]) -> list[int]:
        att = self.attrition
        assert att is not None
        names = [self.observed[k] for k in wave]
        if att.on is not None:
            cols = [
                k for k in wave if self.observed[k] in att.on or _stem(self.observed[k]) in att.on
            ]
        else:
            cols = [k for k, v in zip(wave, names, strict=True) if v not in self.discrete]
        return cols or list(wave)


def spec_state(spec: Spec) -> tuple[str, str | None, bool]:
    """A picklable stand-in for a Spec (its syntax, name and ``auto`` flag)."""
    return (spec.syntax, spec.name, spec.auto)


def spec_from_state(state: tuple[str, str | None, bool]) -> Spec:
    """Rebuild a Spec from :func:`spec_state`."""
    return Spec.from_syntax(state[0], name=state[1], auto=state[2])


def _calibrated_probabilities(eta: FloatArray, rate: float) -> FloatArray:
    """Logistic probabilities expit(alpha + eta) with mean exactly ``rate``."""
    if not np.any(eta):
        return np.full(eta.shape, rate)

    def gap(alpha: float) -> float:
        return float(special.expit(alpha + eta).mean() - rate)

    lo, hi = -50.0, 50.0
    alpha = optimize.brentq(gap, lo, hi, xtol=1e-12)
    return np.asarray(special.expit(alpha + eta))


def _fmt(x: float) -> str:
    return f"{x:.6g}"


# ----------------------------------------------------------------------------- compile
def _values(spec: Spec, standardized: bool) -> tuple[Any, FloatArray]:
    if spec.min_groups > 1:
        raise SpecificationError(
            "the population has c() modifiers for several groups; simulate each group from "
            "its own single-group population and stack the data frames"
        )
    table = spec.table(ngroups=1, meanstructure=True, fixed_x=False, std_lv=True)
    vals = np.array(table.value, dtype=float)
    for i in range(table.n_rows):
        if np.isnan(vals[i]):
            op = table.op[i]
            if op == "~~" and table.lhs[i] == table.rhs[i]:
                vals[i] = 1.0
            elif op == "=~":
                vals[i] = 0.7 if standardized else 1.0
            else:
                vals[i] = 0.0
    return table, vals


def _topological(edges: np.ndarray) -> tuple[int, ...] | None:
    v = edges.shape[0]
    parents = [set(np.flatnonzero(edges[i]).tolist()) - {i} for i in range(v)]
    order: list[int] = []
    placed: set[int] = set()
    while len(order) < v:
        ready = [i for i in range(v) if i not in placed and parents[i] <= placed]
        if not ready:
            return None
        for i in ready:
            order.append(i)
            placed.add(i)
    return tuple(order)


def compile_population(
    population: Any,
    *,
    waves: int | Mapping[int, Sequence[str]] | None = None,
    arms: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    binary: Mapping[str, Any] | Sequence[str] | None = None,
    standardized: bool = False,
    sites: Sites | tuple[int, float] | None = None,
    reliability: Mapping[str, float] | None = None,
    attrition: Attrition | float | None = None,
) -> Population:
    r"""Check a population and turn it into a :class:`Population` ready to draw from.

    Parameters are those of :func:`simulate`.

    Returns
    -------
    Population

    Raises
    ------
    SpecificationError
        Anything that makes the population impossible: a residual covariance matrix or
        implied covariance that is not positive (semi-)definite, explained variance of 1
        or more with ``standardized=True``, rates outside (0, 1), unknown variables, a
        feedback loop through a binary variable.

    Examples
    --------
    >>> pop = compile_population("m ~ 0.4*x\ny ~ 0.3*m")
    >>> pop.observed, pop.is_normal
    (('m', 'y', 'x'), True)
    >>> np.round(pop.moments()[1], 3).tolist()
    [[1.16, 0.348, 0.4], [0.348, 1.104, 0.12], [0.4, 0.12, 1.0]]
    """
    src = resolve_population(population, waves if isinstance(waves, int) else None)
    spec = src.spec
    table, vals = _values(spec, standardized)
    roles = table.roles
    names = tuple(roles.observed) + tuple(roles.latent)
    pos = {nm: k for k, nm in enumerate(names)}
    v = len(names)
    A = np.zeros((v, v))
    S = np.zeros((v, v))
    m = np.zeros(v)
    edges = np.zeros((v, v), dtype=bool)  # structure (also where the value is 0)
    user_var: set[int] = set()
    for i in range(table.n_rows):
        op, lhs, rhs, x = table.op[i], table.lhs[i], table.rhs[i], vals[i]
        if op == "~":
            A[pos[lhs], pos[rhs]] = x
            edges[pos[lhs], pos[rhs]] = True
        elif op == "=~":
            A[pos[rhs], pos[lhs]] = x
            edges[pos[rhs], pos[lhs]] = True
        elif op == "~~":
            S[pos[lhs], pos[rhs]] = S[pos[rhs], pos[lhs]] = x
            if lhs == rhs and table.user[i] and not np.isnan(table.value[i]):
                user_var.add(pos[lhs])
        elif op == "~1":
            m[pos[lhs]] = x
    interactions = tuple(roles.interactions)
    for inter in interactions:
        for part in inter.split(":"):
            if part not in pos:
                raise SpecificationError(
                    f"interaction {inter!r}: {part!r} is not a variable of the population"
                )
            edges[pos[inter], pos[part]] = True
        S[pos[inter], :] = S[:, pos[inter]] = 0.0
    order = _topological(edges)
    observed = tuple(o for o in roles.observed if o not in interactions)

    # Arms.
    arm_map = _arms(arms, src.arms, observed, edges, pos)
    # Binary / ordinal variables.
    specs = _binary_specs(binary, src.thresholds, names)
    for name in specs:
        if name in arm_map:
            raise SpecificationError(
                f"{name!r} is both an arm and a binary outcome; drop it from "
                "one of arms= and binary="
            )
        if name in roles.latent:
            raise SpecificationError(
                f"binary=: {name!r} is a latent variable; only observed variables can be binary"
            )
    if (specs or interactions) and order is None:
        raise SpecificationError(
            "the population has a feedback loop (non-recursive paths); binary variables and "
            "interaction terms need a recursive population"
        )
    for name, b in specs.items():
        k = pos[name]
        if b.link == "logit":
            if np.any(np.delete(S[k], k)) or k in user_var:
                raise SpecificationError(
                    f"{name!r} has link='logit', whose residual is standard logistic: remove its "
                    "residual variance and covariances from the population syntax"
                )
    for name in arm_map:
        k = pos[name]
        if np.any(np.delete(S[k], k)):
            raise SpecificationError(
                f"arm {name!r} is randomised, so it cannot covary with other "
                "variables; remove its covariances from the population syntax"
            )
    # Sites and reliability.
    if sites is not None and not isinstance(sites, Sites):
        try:
            sites = Sites(*sites)
        except TypeError:
            raise SpecificationError(
                "sites= must be Sites(n_sites, icc) or a tuple (n_sites, icc), e.g. sites=(4, 0.05)"
            ) from None
    if sites is not None and sites.variables is not None:
        _known(sites.variables, observed, "sites=Sites(variables=)")
    errors: dict[str, float] = {}
    for name, rel in (reliability or {}).items():
        _known([name], observed, "reliability=")
        if not 0.0 < float(rel) <= 1.0:
            raise SpecificationError(f"reliability of {name!r} is {rel!r}; it must lie in (0, 1]")
        if name in specs or name in arm_map:
            raise SpecificationError(
                f"reliability=: {name!r} is binary or an arm; measurement "
                "error applies to continuous variables"
            )
        errors[name] = float(rel)

    # Standardisation and the residual root.
    notes: list[str] = []
    discrete_present = bool(specs)
    S = _standardize_and_check(
        A, S, m, names, order, standardized, user_var, arm_map, specs, roles.latent, interactions
    )
    root = _root(S, order, names)
    pop = Population(
        spec=spec,
        names=names,
        observed=observed,
        A=A,
        S=S,
        m=m,
        order=order,
        root=root,
        discrete={n: _Discrete((0.0,), b.link) for n, b in specs.items()},
        arms={a: r for a, r in arm_map.items()},
        sites=sites,
        error_variance={},
        waves={},
        attrition=None,
        interactions=interactions,
    )
    if standardized and discrete_present:
        pop = _standardize_discrete(pop, user_var)
    # Thresholds, rates.
    pop = _calibrate(pop, specs)
    # Implied covariance must be positive definite.
    _check_implied(pop)
    # Reliability: error variance from the true-score variance.
    if errors:
        _, cov = pop.moments()
        err = {
            nm: cov[observed.index(nm), observed.index(nm)] * (1 - rel) / rel
            for nm, rel in errors.items()
        }
        pop = dataclasses.replace(pop, error_variance=err)
    # Waves and attrition.
    wave_map = _waves(waves, observed)
    pop = dataclasses.replace(pop, waves=wave_map, notes=tuple(notes))
    if attrition is not None:
        att = attrition if isinstance(attrition, Attrition) else Attrition(float(attrition))
        pop = pop.with_attrition(att)
    return pop


def _known(names: Sequence[str], valid: Sequence[str], where: str) -> None:
    for name in names:
        if name not in valid:
            raise SpecificationError(
                f"{where} names {name!r}, not an observed variable of the "
                "population; " + close_matches(name, valid)
            )


def _arms(
    arms: Any,
    declared: tuple[str, ...],
    observed: tuple[str, ...],
    A: np.ndarray,
    pos: dict[str, int],
) -> dict[str, tuple[float, float]]:
    if arms is None:
        return {a: (1.0, 1.0) for a in declared}
    if isinstance(arms, Mapping):
        raw = dict(arms)
    else:
        exo = [v for v in observed if not A[pos[v]].any()]
        candidates = [v for v in ("arm", *declared) if v in observed] or (
            exo if len(exo) == 1 else []
        )
        if not candidates:
            raise SpecificationError(
                "arms= gives an allocation ratio but the population has no variable named "
                "'arm'; name the arm variable: arms={'treat': (1, 1)}"
            )
        raw = {candidates[0]: arms}
    out: dict[str, tuple[float, float]] = {}
    for name, ratio in raw.items():
        _known([name], observed, "arms=")
        if A[pos[name]].any():
            raise SpecificationError(
                f"arm {name!r} has paths into it; a randomised arm must be exogenous"
            )
        try:
            r = tuple(float(x) for x in ratio)
        except TypeError:
            raise SpecificationError(
                f"arms=: the allocation ratio of {name!r} must be a pair "
                "(control, intervention), e.g. (1, 1) or (1, 2)"
            ) from None
        if len(r) != 2 or min(r) <= 0:
            raise SpecificationError(
                f"arms=: the allocation ratio of {name!r} must be two positive numbers "
                f"(control, intervention), got {ratio!r}; code more arms as several 0/1 variables"
            )
        out[name] = (r[0], r[1])
    return out


def _binary_specs(
    binary: Any, thresholds: Mapping[str, tuple[float, ...]], names: tuple[str, ...]
) -> dict[str, Binary]:
    out: dict[str, Binary] = {n: Binary(threshold=t) for n, t in thresholds.items()}
    if binary is None:
        return out
    if isinstance(binary, str):
        binary = [binary]
    items = binary.items() if isinstance(binary, Mapping) else ((b, Binary()) for b in binary)
    for name, value in items:
        if name not in names:
            raise SpecificationError(
                f"binary= names {name!r}, not a variable of the population; "
                + close_matches(name, names)
            )
        if isinstance(value, Binary):
            out[name] = value
        elif isinstance(value, Mapping):
            out[name] = Binary(rates=value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = Binary(rate=float(value))
        elif isinstance(value, str):
            out[name] = Binary(link=value)  # type: ignore[arg-type]
        elif isinstance(value, Sequence) and len(value) == 2:
            out[name] = Binary(rates=tuple(value))  # type: ignore[arg-type]
        else:
            raise SpecificationError(
                f"binary={{{name!r}: {value!r}}} is not understood; give a rate (0.3), rates per "
                "arm ({0: 0.28, 1: 0.55}) or a Binary(...)"
            )
    return out


def _root(S: FloatArray, order: tuple[int, ...] | None, names: tuple[str, ...]) -> FloatArray:
    """A factor L with L Lᵀ = S, lower-triangular in causal order (zero pivots allowed)."""
    v = S.shape[0]
    if order is None:
        w, q = np.linalg.eigh(S)
        if w.min(initial=0.0) < -1e-9 * max(1.0, w.max(initial=0.0)):
            _not_psd(S, names)
        return np.asarray(q * np.sqrt(np.clip(w, 0.0, None)))
    L = np.zeros((v, v))
    done: list[int] = []
    scale = max(1.0, float(np.abs(S).max(initial=0.0)))
    for i in order:
        for k in done:
            resid = S[i, k] - L[i] @ L[k]
            if L[k, k] > 0:
                L[i, k] = resid / L[k, k]
            elif abs(resid) > 1e-9 * scale:
                _not_psd(S, names)
        d = S[i, i] - L[i] @ L[i]
        if d < -1e-9 * scale:
            _not_psd(S, names)
        L[i, i] = math.sqrt(max(d, 0.0))
        done.append(i)
    return L


def _not_psd(S: FloatArray, names: tuple[str, ...]) -> None:
    w, q = np.linalg.eigh(S)
    vec = q[:, 0]
    involved = [names[j] for j in np.argsort(-np.abs(vec)) if abs(vec[j]) > 0.1][:6]
    raise SpecificationError(
        "the population's residual (co)variances are not positive semi-definite (smallest "
        f"eigenvalue {w[0]:.3g}); check the variances and covariances of "
        f"{', '.join(involved)}: a covariance cannot exceed the product of the two SDs"
    )


def _standardize_and_check(
    A: FloatArray,
    S: FloatArray,
    m: FloatArray,
    names: tuple[str, ...],
    order: tuple[int, ...] | None,
    standardized: bool,
    user_var: set[int],
    arms: Mapping[str, tuple[float, float]],
    specs: Mapping[str, Binary],
    latent: Sequence[str],
    interactions: tuple[str, ...],
) -> FloatArray:
    S = S.copy()
    v = len(names)
    for arm, ratio in arms.items():
        k = names.index(arm)
        p1 = ratio[1] / sum(ratio)
        S[k, k] = p1 * (1 - p1)
    for name, b in specs.items():
        if b.link == "logit":
            k = names.index(name)
            S[k, k] = math.pi**2 / 3
    if order is None:
        if np.linalg.matrix_rank(np.eye(v) - A) < v:
            raise SpecificationError(
                "the population's paths form a loop with unit gain, so "
                "I - A is singular; shrink the feedback paths"
            )
    if not standardized or specs:
        return S
    adjust = [
        k
        for k in range(v)
        if k not in user_var and names[k] not in arms and names[k] not in interactions
    ]
    B = np.linalg.inv(np.eye(v) - A)
    for _ in range(500):
        var = np.einsum("ij,jk,ik->i", B, S, B)
        gap = 1.0 - var[adjust]
        if np.max(np.abs(gap), initial=0.0) < 1e-13:
            break
        S[adjust, adjust] += gap / np.diag(B)[adjust] ** 2
        bad = [names[k] for k in adjust if S[k, k] <= 0]
        if bad:
            raise SpecificationError(
                f"standardized=True is impossible: the paths into {bad[0]!r} already explain "
                "all of its variance (R² >= 1); make the paths into it smaller"
            )
    else:  # pragma: no cover - only feedback loops iterate
        raise SpecificationError(
            "standardized=True did not converge for this non-recursive "
            "population; give the residual variances yourself"
        )
    for k in range(v):
        if names[k] in arms:
            S[k, k] = 1.0  # restored below; arms keep their allocation variance
    for arm, ratio in arms.items():
        k = names.index(arm)
        p1 = ratio[1] / sum(ratio)
        S[k, k] = p1 * (1 - p1)
    return S


def _standardize_discrete(pop: Population, user_var: set[int]) -> Population:
    """Sequential standardisation when binary parents make moments non-normal."""
    assert pop.order is not None
    rng = np.random.default_rng(np.random.SeedSequence(_AUX_SEED))
    n = _AUX_N
    v = len(pop.names)
    site, arms = pop._assign(rng, n)
    U = rng.standard_normal((n, v))
    S = pop.S.copy()
    L = np.zeros((v, v))
    Y = np.zeros((n, v))
    done: list[int] = []
    for i in pop.order:
        name = pop.names[i]
        for k in done:
            if L[k, k] > 0:
                L[i, k] = (S[i, k] - L[i] @ L[k]) / L[k, k]
        if name in arms:
            Y[:, i] = arms[name]
            L[i, i] = math.sqrt(max(S[i, i] - L[i] @ L[i], 0.0))
            done.append(i)
            continue
        parents = np.flatnonzero(pop.A[i])
        pre = pop.m[i] + U @ L[i] + (Y[:, parents] @ pop.A[i, parents] if parents.size else 0.0)
        disc = pop.discrete.get(name)
        if i in user_var or name in pop.interactions or (disc is not None and disc.link == "logit"):
            L[i, i] = math.sqrt(max(S[i, i] - L[i] @ L[i], 0.0))
        else:
            d = 1.0 - float(np.var(pre))
            if d <= 0:
                raise SpecificationError(
                    f"standardized=True is impossible: the paths into {name!r} already explain "
                    "all of its variance (R² >= 1); make the paths into it smaller"
                )
            L[i, i] = math.sqrt(d)
            S[i, i] = float(L[i] @ L[i])
        y = pre + L[i, i] * U[:, i]
        if name in pop.interactions:
            y = np.prod(Y[:, [pop.names.index(p) for p in name.split(":")]], axis=1)
        elif disc is not None:
            y = np.searchsorted(np.asarray(disc.thresholds), y, side="left").astype(float)
        Y[:, i] = y
        done.append(i)
    return dataclasses.replace(pop, S=S, root=_root(S, pop.order, pop.names))


def _calibrate(pop: Population, specs: Mapping[str, Binary]) -> Population:
    """Set thresholds (and arm paths) so binary variables hit their target rates."""
    if not specs:
        return pop
    assert pop.order is not None
    discrete = dict(pop.discrete)
    A = pop.A.copy()
    for i in pop.order:
        name = pop.names[i]
        b = specs.get(name)
        if b is None:
            continue
        if b.threshold is not None:
            discrete[name] = _Discrete(tuple(b.threshold), b.link)  # type: ignore[arg-type]
            continue
        if b.rate is None and b.rates is None:
            discrete[name] = _Discrete((0.0,), b.link)
            continue
        ka = -1
        if b.rates is not None:
            in_arms = [a for a in pop.arms if _has_edge_in_spec(pop, name, a)]
            arm = b.arm or (in_arms[0] if len(in_arms) == 1 else None)
            if arm is None or arm not in pop.arms:
                raise SpecificationError(
                    f"binary=: rates per arm for {name!r} need one randomised arm with a direct "
                    f"path {name} ~ arm in the population (declare it with arms=(1, 1); with "
                    "several arms say which: Binary(rates=..., arm='arm'))"
                )
            if not _has_edge_in_spec(pop, name, arm):
                raise SpecificationError(
                    f"binary=: rates per arm for {name!r} need a direct path {name} ~ {arm} in "
                    "the population (its value is calibrated)"
                )
            ka = pop.names.index(arm)
        current = dataclasses.replace(pop, A=A, discrete=discrete)
        parents = set(np.flatnonzero(A[i]).tolist()) - {ka}
        # Exact when nothing but the arm feeds the latent response; otherwise quantiles of a
        # large fixed-seed auxiliary sample (rates within about 0.002).
        exact = not parents and not np.any(np.delete(pop.S[i], i)) and pop.sites is None
        sd = math.sqrt(pop.S[i, i]) if b.link == "probit" else 1.0
        quant = special.ndtri if b.link == "probit" else special.logit
        if b.rates is not None:
            rates = dict(b.rates)  # type: ignore[arg-type]
            if exact:
                tau = pop.m[i] - sd * float(quant(rates[0]))
                A[i, ka] = sd * float(quant(rates[1]) - quant(rates[0]))
            else:
                lat, armv = _latent_sample(current, i, exclude=ka)
                tau = float(np.quantile(lat[armv == 0], 1 - rates[0]))
                A[i, ka] = tau - float(np.quantile(lat[armv == 1], 1 - rates[1]))
        else:
            rate = float(b.rate)  # type: ignore[arg-type]
            if exact:
                tau = pop.m[i] + sd * float(quant(1 - rate))
            else:
                tau = float(np.quantile(_latent_sample(current, i)[0], 1 - rate))
        discrete[name] = _Discrete((float(tau),), b.link)
    return dataclasses.replace(pop, A=A, discrete=discrete)


def _has_edge_in_spec(pop: Population, lhs: str, rhs: str) -> bool:
    table = pop.spec.table(ngroups=1, meanstructure=True, fixed_x=False, std_lv=True)
    return any(
        table.op[i] == "~" and table.lhs[i] == lhs and table.rhs[i] == rhs
        for i in range(table.n_rows)
    )


def _latent_sample(
    pop: Population, i: int, exclude: int | None = None
) -> tuple[FloatArray, FloatArray]:
    """Latent response of variable i (without the path from ``exclude``) in a big sample."""
    rng = np.random.default_rng(np.random.SeedSequence(_AUX_SEED, spawn_key=(i,)))
    A = pop.A.copy()
    armv = np.zeros(0)
    if exclude is not None:
        A[i, exclude] = 0.0
    name = pop.names[i]
    disc = dict(pop.discrete)
    disc.pop(name, None)
    probe = dataclasses.replace(pop, A=A, discrete=disc, error_variance={}, attrition=None)
    Y = probe._forward(rng, _AUX_N)
    if exclude is not None:
        armv = Y[:, exclude]
    return Y[:, i], armv


def _check_implied(pop: Population) -> None:
    _, cov = pop.linear_moments()
    try:
        np.linalg.cholesky(cov)
        return
    except np.linalg.LinAlgError:
        pass
    w, q = np.linalg.eigh(cov)
    vec = q[:, 0]
    involved = [pop.observed[j] for j in np.argsort(-np.abs(vec)) if abs(vec[j]) > 0.1][:6]
    raise SpecificationError(
        "the population's implied covariance matrix of the observed variables is not "
        f"positive definite (smallest eigenvalue {w[0]:.3g}); the variables "
        f"{', '.join(involved)} are (nearly) linearly dependent: give them residual variance "
        "or change the paths into them"
    )


def _waves(waves: Any, observed: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    if isinstance(waves, Mapping):
        out: dict[int, tuple[str, ...]] = {}
        for t, members in sorted(waves.items()):
            members = tuple(members)
            _known(members, observed, f"waves={{{t}: ...}}")
            out[int(t)] = members
        seen = [v for ms in out.values() for v in ms]
        dup = sorted({v for v in seen if seen.count(v) > 1})
        if dup:
            raise SpecificationError(f"waves=: {dup[0]!r} is listed in more than one wave")
        return out
    return infer_waves(observed)


def _check_attrition(
    att: Attrition,
    waves: Mapping[int, tuple[str, ...]],
    discrete: Mapping[str, _Discrete],
    observed: tuple[str, ...],
) -> None:
    n_follow = max(len(waves) - 1, 1)
    att.rates(n_follow)
    if att.on is not None:
        stems = {_stem(v) for v in observed} | set(observed)
        for name in att.on:
            if name not in stems:
                raise SpecificationError(
                    f"Attrition(on=) names {name!r}, not a variable (or stem) "
                    "of the population; " + close_matches(name, sorted(stems))
                )


def expected_retained(pop: Population, n: int) -> float:
    """Expected number of participants still present at the last wave."""
    if pop.attrition is None:
        return float(n)
    waves = pop.wave_columns()
    keep = 1.0
    for r in pop.attrition.rates(max(len(waves) - 1, 1)):
        keep *= 1.0 - r
    return n * keep


# ----------------------------------------------------------------------------- moments
@dataclass(frozen=True, eq=False)
class MomentSampler:
    r"""Sample means and covariances of normal data, drawn without raw data.

    For complete multivariate normal data the sample covariance (divisor N) is
    ``W / N`` with ``W ~ Wishart(Σ, N - 1)``, independent of the sample mean
    ``~ N(μ, Σ / N)``; ``W`` is drawn by Bartlett's decomposition. With a randomised
    0/1 arm the allocation is fixed by design, so the arm's moments are exact and the
    other variables' moments are those of a multivariate regression on the arm:
    coefficients ``~ N(Π, Ω / (N s²_x))``, residual cross-products ``~ Wishart(Ω, N - 2)``.

    Build one with :meth:`from_population`; :meth:`draw` takes one generator per
    replicate, so each replicate's numbers depend on its own stream only.

    Examples
    --------
    >>> pop = compile_population("m ~ 0.4*x\ny ~ 0.3*m")
    >>> sampler = MomentSampler.from_population(pop, [0, 1, 2], 50, means=True)
    >>> mean, cov = sampler.draw([np.random.default_rng(s) for s in range(4)])
    >>> mean.shape, cov.shape
    ((4, 3), (4, 3, 3))
    """

    n: int
    p: int
    means: bool
    arm: int  # column of the randomised arm, or -1
    mu: FloatArray
    chol: FloatArray  # Cholesky factor of Σ (no arm) or Ω (with an arm, other columns)
    pi: FloatArray  # regression of the other columns on the arm
    xbar: float
    sxx: float

    @classmethod
    def from_population(
        cls, pop: Population, columns: Sequence[int], n: int, *, means: bool
    ) -> MomentSampler:
        """Sampler for some observed columns of a normal population at sample size n."""
        if not pop.is_normal or len(pop.arms) > 1:
            raise SpecificationError(
                "moment sampling needs a normal population with at most one arm"
            )
        mean, cov = pop.moments()
        cols = list(columns)
        mu, sigma = mean[cols], cov[np.ix_(cols, cols)]
        arm = -1
        for name in pop.arms:
            k = pop.observed.index(name)
            if k in cols:
                arm = cols.index(k)
        if arm < 0:
            return cls(
                n, len(cols), means, -1, mu, np.linalg.cholesky(sigma), np.zeros(0), 0.0, 0.0
            )
        ratio = pop.arms[pop.observed[cols[arm]]]
        sizes = (
            [n]
            if pop.sites is None
            else [
                n // pop.sites.n_sites + (s < n % pop.sites.n_sites)
                for s in range(pop.sites.n_sites)
            ]
        )
        n1 = sum(int(round(size * ratio[1] / sum(ratio))) for size in sizes)
        xbar = n1 / n
        rest = [j for j in range(len(cols)) if j != arm]
        s_yx = sigma[rest, arm]
        s_xx = sigma[arm, arm]
        pi = s_yx / s_xx
        omega = sigma[np.ix_(rest, rest)] - np.outer(s_yx, s_yx) / s_xx
        mu_y = mu[rest] + pi * (xbar - mu[arm])
        mu_full = mu.copy()
        mu_full[rest] = mu_y
        mu_full[arm] = xbar
        return cls(
            n,
            len(cols),
            means,
            arm,
            mu_full,
            np.linalg.cholesky(omega),
            pi,
            xbar,
            xbar * (1.0 - xbar),
        )

    def draw(self, rngs: Sequence[np.random.Generator]) -> tuple[FloatArray, FloatArray]:
        """One (mean, covariance) per generator: shapes (R, p) and (R, p, p)."""
        R, n = len(rngs), self.n
        q = self.p - (1 if self.arm >= 0 else 0)
        n_low = q * (q - 1) // 2
        n_norm = n_low + (q if self.means else 0) + (q if self.arm >= 0 else 0)
        df = (n - 1 - (1 if self.arm >= 0 else 0)) - np.arange(q, dtype=float)
        Z = np.empty((R, n_norm))
        C = np.empty((R, q))
        for r, rng in enumerate(rngs):
            Z[r] = rng.standard_normal(n_norm)
            C[r] = rng.chisquare(df)
        low = np.tril_indices(q, -1)
        T = np.zeros((R, q, q))
        T[:, low[0], low[1]] = Z[:, :n_low]
        T[:, np.arange(q), np.arange(q)] = np.sqrt(C)
        LT = self.chol @ T
        W = LT @ np.swapaxes(LT, 1, 2) / n
        at = n_low
        if self.means:
            ebar = (Z[:, at : at + q] @ self.chol.T) / np.sqrt(n)
            at += q
        else:
            ebar = np.zeros((R, q))
        if self.arm < 0:
            return self.mu + ebar, W
        bhat = self.pi + (Z[:, at : at + q] @ self.chol.T) / np.sqrt(n * self.sxx)
        rest = [j for j in range(self.p) if j != self.arm]
        cov = np.zeros((R, self.p, self.p))
        cov[np.ix_(np.arange(R), rest, rest)] = W + self.sxx * bhat[:, :, None] * bhat[:, None, :]
        cov[:, rest, self.arm] = self.sxx * bhat
        cov[:, self.arm, rest] = self.sxx * bhat
        cov[:, self.arm, self.arm] = self.sxx
        mean = np.tile(self.mu, (R, 1))
        mean[:, rest] += ebar
        return mean, cov


# ----------------------------------------------------------------------------- simulate
def simulate(
    population: Any,
    n: int,
    *,
    seed: int | np.random.SeedSequence | None = None,
    waves: int | Mapping[int, Sequence[str]] | None = None,
    arms: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    attrition: Attrition | float | None = None,
    standardized: bool = False,
    binary: Mapping[str, Any] | Sequence[str] | None = None,
    sites: Sites | tuple[int, float] | None = None,
    reliability: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    r"""Simulate a cohort or trial from a population model.

    Parameters
    ----------
    population : Spec, str, Path or callable
        lavaan syntax with numbers on the paths (``"m ~ 0.4*x\ny ~ 0.3*m"``), a Spec, a
        library model name (its ``population`` block, thresholds and binary arm are
        used), a ``.yaml`` or ``.lav`` file, or a function ``waves -> syntax`` for
        designs whose number of waves varies.
    n : int
        Number of participants.
    seed : int or numpy.random.SeedSequence, optional
        Seed of the random stream; the same seed gives the same data on every machine.
        ``None`` draws fresh entropy.
    waves : int or mapping of int to sequence of str, optional
        The number of waves for a callable population, or the variables of each wave
        (first = baseline, never missing). Default: from name suffixes (``qol_2``,
        ``x2``); without any, attrition treats the exogenous variables as baseline and
        the rest as one follow-up wave.
    arms : (float, float) or mapping of str to (float, float), optional
        Randomised 0/1 arm variables and their allocation ratio (control, intervention);
        a bare ratio applies to the variable named ``arm``. Allocation is exact (block
        randomisation, within site when there are sites). Library models randomise
        their binary exogenous variable 1:1 by default.
    attrition : Attrition or float, optional
        Monotone dropout per follow-up wave; a float is an MCAR rate.
    standardized : bool, default False
        Set every residual variance left unspecified so that each variable has variance
        1 (latent response scale for binary variables); arms keep their 0/1 coding.
    binary : mapping or sequence of str, optional
        Variables to make binary: ``{"employ": 0.3}`` (30% overall), ``{"employ": {0:
        0.28, 1: 0.55}}`` (rates per arm; calibrates threshold and arm path),
        ``{"employ": Binary(threshold=0.674)}``, or just names (threshold 0).
    sites : Sites or (int, float), optional
        Number of sites and intraclass correlation; adds a ``site`` column.
    reliability : mapping of str to float, optional
        Add measurement error to observed continuous variables so that the share of
        true-score variance equals the reliability; other variables depend on the true
        score.

    Returns
    -------
    pandas.DataFrame
        One row per participant, one column per observed variable (lavaan's order), plus
        ``site``; arms, binary and ordinal columns are integers (nullable ``Int64`` when
        they can be missing). ``attrs`` holds the population syntax actually used,
        thresholds, waves and the seed.

    Raises
    ------
    SpecificationError
        An impossible population (not positive definite, R² >= 1 with
        ``standardized=True``), rates outside (0, 1), unknown variable names.
    DataError
        ``n`` too small for the design (fewer than 2, or fewer than the sites).

    See Also
    --------
    pathmodels.power : Monte Carlo power from the same population.

    Notes
    -----
    Defaults follow lavaan's ``simulateData``: unspecified regressions and covariances 0,
    variances 1, loadings 1 (0.7 if standardized), latent variances 1. One difference:
    with ``standardized=True`` lavaan overrides residual variances written in the syntax
    (with a warning); pathmodels keeps them and standardises only the others, so
    ``x1 ~~ 0*x1`` in an RI-CLPM stays 0.

    Examples
    --------
    >>> df = simulate("m ~ 0.4*x\ny ~ 0.3*m", 200, seed=1)
    >>> list(df.columns), df.shape
    (['m', 'y', 'x'], (200, 3))
    >>> trial = simulate("employ ~ arm\nqol ~ 0.4*employ", 400, seed=2, arms=(1, 1),
    ...                  binary={"employ": {0: 0.28, 1: 0.55}})
    >>> trial.groupby("arm")["employ"].mean().round(1).tolist()
    [0.3, 0.6]
    """
    import pandas as pd

    pop = compile_population(
        population,
        waves=waves,
        arms=arms,
        binary=binary,
        standardized=standardized,
        sites=sites,
        reliability=reliability,
        attrition=attrition,
    )
    n = _check_n(n, pop)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss)
    site_codes: list[Any] = []
    X = pop.draw(rng, n, sites_out=site_codes)
    frame = pd.DataFrame(X, columns=list(pop.observed))
    has_missing = bool(np.isnan(X).any())
    for name in pop.observed:
        if name in pop.arms or name in pop.discrete:
            col = frame[name]
            frame[name] = (
                col.astype("Int64")
                if col.isna().any() or has_missing and name not in pop.arms
                else col.astype("int64")
            )
    if site_codes:
        frame["site"] = site_codes[0].astype("int64") + 1
    frame.attrs.update(
        {
            "population": pop.syntax(),
            "thresholds": {k: list(d.thresholds) for k, d in pop.discrete.items()},
            "waves": {int(t): list(v) for t, v in pop.waves.items()},
            "seed": ss.entropy if isinstance(ss.entropy, int) else None,
            "attrition": None if pop.attrition is None else str(pop.attrition),
        }
    )
    return frame


def _check_n(n: Any, pop: Population) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise DataError(f"n={n!r} must be an integer of at least 2 participants")
    if pop.sites is not None and n < pop.sites.n_sites:
        raise DataError(
            f"n={n} is smaller than the {pop.sites.n_sites} sites; recruit at least "
            "one participant per site"
        )
    return int(n)
