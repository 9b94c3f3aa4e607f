"""What a Bayesian fit needs to know before PyMC is imported.

A :class:`Plan` reads the parameter table and the prepared data and decides

* the *family* of the likelihood: ``"regression"`` (observed variables only: a product of
  per-equation regressions, evaluated on cross-product matrices so that its cost does
  not grow with N) or ``"sem"`` (latent variables: the multivariate normal of the
  observed variables given the exogenous covariates, from the RAM matrices);
* how every free parameter is sampled (its *recipe*): directly, as the square of a
  standard deviation, as a correlation times two SDs, from a block of conditional
  regressions (modified Cholesky), as a centred intercept, or as a constant (the
  residual variance of a probit variable);
* the priors (defaults scaled to the data, overridden by ``priors=``);
* the data summaries the likelihood reads (per group and missing-data pattern).

Everything here is numpy; :mod:`pathmodels.bayes.model` turns a Plan into a PyMC model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pathmodels._typing import FloatArray
from pathmodels.bayes.priors import OPERATOR_KEYS, Prior, check_support, parse_prior
from pathmodels.exceptions import DataError, SpecificationError, close_matches
from pathmodels.ml.data import PreparedData
from pathmodels.spec.table import ParameterTable

__all__ = ["Component", "PatternData", "Plan", "RawParam", "Recipe"]

_LOGIT_SCALE = math.pi / math.sqrt(3.0)
_RAM_OPS = ("=~", "~", "~~", "~1")


@dataclass(frozen=True)
class RawParam:
    """One scalar the sampler moves (before transforms into table values)."""

    name: str
    role: str  # "coef", "sd", "cor", "lambda", "psi"
    prior: Prior
    init: float


@dataclass(frozen=True)
class Recipe:
    """How free parameter ``index`` (0-based) is computed.

    kind:
      ``raw``       theta = raw[a]
      ``square``    theta = raw[a] ** 2                 (variance from its SD)
      ``cor``       theta = r * sd_i * sd_j, r = raw[a]; sd refs in ``refs``
      ``centred``   theta = raw[a] - sum_k B[j, k] * mean_k (group ``group``, variable ``var``)
      ``block``     theta = S_block[i, j] of Cholesky block ``a``
      ``const``     theta = value
    """

    index: int
    kind: str
    a: int = -1
    value: float = 0.0
    refs: tuple[tuple[str, float], ...] = ()  # ("theta", k) or ("const", sd) for cor
    group: int = 0
    var: str = ""
    cell: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Component:
    """A set of continuous endogenous variables with correlated residuals (one group)."""

    group: int  # 0-based
    variables: tuple[str, ...]
    kind: str  # "single", "block" (modified Cholesky), "direct"
    psi: tuple[int, ...] = ()  # raw ids of the conditional SDs (block)
    lam: tuple[tuple[int, int, int], ...] = ()  # (row j, col l, raw id) with l < j (block)


@dataclass(frozen=True)
class PatternData:
    """Cross-products of one missing-data pattern of one group.

    ``observed`` indexes the group's endogenous observed variables (``Plan.y_names``);
    ``cross`` is ``sum_i z_i z_i'`` with ``z = [1, x - xbar, y_O - ybar_O]``.
    """

    group: int
    observed: tuple[int, ...]
    n: int
    cross: FloatArray


@dataclass
class GroupData:
    """Data summaries of one group."""

    n: int
    means: FloatArray  # (p,) means of the observed variables (rows used)
    complete_cross: FloatArray | None  # (1+p, 1+p) over complete rows, centred at means
    n_complete: int
    patterns: list[PatternData]
    rows: FloatArray  # (n, p) raw data of the group (NaN = missing)
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # ordinal codes per variable


class Plan:
    """Parametrisation, priors and data summaries of one Bayesian fit.

    Parameters
    ----------
    table : ParameterTable
        Built with ``meanstructure=True`` (the model always has intercepts).
    data : PreparedData
    binary, ordinal : sequence of str
    link : {"probit", "logit"}
    priors : mapping, optional
    """

    def __init__(self, table: ParameterTable, data: PreparedData, *, binary: Sequence[str] = (),
                 ordinal: Sequence[str] = (), link: str = "probit",
                 priors: Mapping[str, Any] | None = None) -> None:
        self.table = table
        self.data = data
        roles = table.roles
        self.observed = tuple(roles.observed)
        self.latent = tuple(roles.latent)
        self.names = self.observed + self.latent
        self.pos = {v: k for k, v in enumerate(self.names)}
        self.p = len(self.observed)
        self.v = len(self.names)
        self.x_names = tuple(roles.exogenous_x)
        self.y_names = tuple(v for v in self.observed if v not in self.x_names)
        self.ngroups = table.ngroups
        self.npar = table.npar
        self.link = link
        self.family = "sem" if self.latent else "regression"
        self.binary = tuple(binary)
        self.ordinal = tuple(ordinal)
        self._check_discrete()
        self.discrete = self.binary + self.ordinal
        self.continuous_y = tuple(v for v in self.y_names if v not in self.discrete)
        self.structure = self._structure()
        self.recursive = _is_dag(self.structure)
        if self.discrete and not self.recursive:
            raise SpecificationError(
                "binary= and ordinal= variables need a recursive model (no feedback loops); "
                "this model has a loop, so its binary/ordinal equations have no likelihood "
                "as a product of regressions")
        self.scale = self._scales()
        self.groups = self._group_data()
        self.categories: dict[str, np.ndarray] = {}
        self._ordinal_codes()
        user = self._resolve_priors(priors or {})
        self.raw: list[RawParam] = []
        self.recipes: list[Recipe | None] = [None] * self.npar
        self.components: list[Component] = []
        self.thresholds: dict[tuple[str, int], tuple[int, int]] = {}  # (var, g) -> (first, K-1)
        self._param_rows = self._rows_by_free()
        self._build_recipes(user)
        self.param_names = self._free_names()

    # ------------------------------------------------------------------ checks
    def _check_discrete(self) -> None:
        for name, kind in [(v, "binary") for v in self.binary] + [(v, "ordinal")
                                                                  for v in self.ordinal]:
            if name not in self.observed:
                raise SpecificationError(
                    f"{kind}=: {name!r} is not an observed variable of the model; "
                    + close_matches(name, self.observed))
            if name in self.x_names:
                raise SpecificationError(
                    f"{kind}=: {name!r} is an exogenous covariate, which the model conditions "
                    "on (as lavaan's fixed.x) and does not model; binary= and ordinal= apply "
                    "to endogenous variables — drop it from the list")
        both = set(self.binary) & set(self.ordinal)
        if both:
            raise SpecificationError(f"{sorted(both)[0]!r} is declared both binary= and "
                                     "ordinal=; choose one")
        if self.link not in ("probit", "logit"):
            raise SpecificationError(f"link={self.link!r} is not an option; "
                                     + close_matches(self.link, ("probit", "logit")))
        if (self.binary or self.ordinal) and self.latent:
            raise SpecificationError(
                "binary= and ordinal= variables are available in models of observed variables "
                "(path models); this model has latent variables "
                f"({', '.join(self.latent)}). Treat the variable as continuous or fit the "
                "measurement part separately")
        t = self.table
        self.zeroed: list[int] = []  # default covariances with discrete variables, fixed at 0
        for i in range(t.n_rows):
            if t.op[i] == "~~" and t.lhs[i] != t.rhs[i] and (
                    t.lhs[i] in self.binary + self.ordinal or t.rhs[i] in self.binary
                    + self.ordinal) and (t.free[i] > 0 or (t.value[i] != 0
                                                          and not np.isnan(t.value[i]))):
                if not t.user[i] and t.free[i] > 0:
                    self.zeroed.append(i)
                    continue
                raise SpecificationError(
                    f"{t.lhs[i]} ~~ {t.rhs[i]}: a residual covariance with a binary or ordinal "
                    "variable is not available; remove it, or model the shared cause explicitly")
        # values
        for X, lab in zip(self.data.arrays, self.data.group_labels, strict=True):
            for name in self.binary:
                col = X[:, self.observed.index(name)]
                vals = np.unique(col[~np.isnan(col)])
                bad = vals[(vals != 0) & (vals != 1)]
                if bad.size:
                    shown = ", ".join(f"{b:g}" for b in bad[:3])
                    where = f" in group {lab!r}" if self.table.ngroups > 1 else ""
                    raise DataError(
                        f"binary variable {name!r} has values other than 0 and 1{where} "
                        f"(e.g. {shown}); recode it as 0/1, or declare it ordinal=")
                if vals.size < 2:
                    raise DataError(f"binary variable {name!r} takes a single value "
                                    f"({vals[0]:g}); a constant cannot be modelled")

    def _structure(self) -> np.ndarray:
        t = self.table
        out = np.zeros((self.v, self.v), dtype=bool)
        for i in range(t.n_rows):
            fixed_zero = t.free[i] == 0 and (np.isnan(t.value[i]) or t.value[i] == 0)
            if fixed_zero:
                continue
            if t.op[i] == "~":
                out[self.pos[t.lhs[i]], self.pos[t.rhs[i]]] = True
            elif t.op[i] == "=~":
                out[self.pos[t.rhs[i]], self.pos[t.lhs[i]]] = True
        return out

    # ------------------------------------------------------------------ data
    def _scales(self) -> dict[str, float]:
        X = np.vstack(self.data.arrays)
        scale: dict[str, float] = {}
        for j, v in enumerate(self.observed):
            col = X[:, j][~np.isnan(X[:, j])]
            sd = float(col.std(ddof=1)) if col.size > 1 else 1.0
            scale[v] = sd if sd > 0 else 1.0
        latent_scale = _LOGIT_SCALE if self.link == "logit" else 1.0
        for v in self.binary:
            scale[v + "*"] = latent_scale
        for v in self.ordinal:
            scale[v + "*"] = 1.0
        for f in self.latent:
            scale[f] = self._latent_scale(f, scale, set())
        return scale

    def _latent_scale(self, f: str, scale: dict[str, float], seen: set[str]) -> float:
        t = self.table
        seen = seen | {f}
        for i in range(t.n_rows):
            if t.op[i] == "~~" and t.lhs[i] == f and t.rhs[i] == f and t.free[i] == 0 \
                    and not np.isnan(t.value[i]) and t.value[i] > 0:
                return math.sqrt(float(t.value[i]))
        for i in range(t.n_rows):
            if t.op[i] == "=~" and t.lhs[i] == f and t.free[i] == 0 and not np.isnan(
                    t.value[i]) and t.value[i] != 0:
                ind = t.rhs[i]
                if ind in scale:
                    return scale[ind] / abs(float(t.value[i]))
                if ind in self.latent and ind not in seen:
                    return self._latent_scale(ind, scale, seen) / abs(float(t.value[i]))
        return 1.0

    def _group_data(self) -> list[GroupData]:
        out = []
        xi = [self.observed.index(v) for v in self.x_names]
        yi = [self.observed.index(v) for v in self.y_names]
        for g, X in enumerate(self.data.arrays):
            means = np.nanmean(X, axis=0)
            Z = X - means
            obs_y = ~np.isnan(X[:, yi])
            complete = obs_y.all(axis=1)
            cross = None
            if complete.any():
                Zc = np.column_stack([np.ones(int(complete.sum())), Z[complete]])
                cross = Zc.T @ Zc
            patterns: list[PatternData] = []
            keys, inverse = np.unique(obs_y, axis=0, return_inverse=True)
            inverse = np.asarray(inverse).reshape(-1)
            order = sorted(range(keys.shape[0]), key=lambda k: -int(keys[k].sum()))
            for k in order:
                observed = tuple(int(j) for j in np.flatnonzero(keys[k]))
                if not observed:
                    continue
                members = inverse == k
                cols = xi + [yi[j] for j in observed]
                Zp = np.column_stack([np.ones(int(members.sum())), Z[members][:, cols]])
                patterns.append(PatternData(g, observed, int(members.sum()), Zp.T @ Zp))
            out.append(GroupData(n=X.shape[0], means=means, complete_cross=cross,
                                 n_complete=int(complete.sum()), patterns=patterns, rows=X))
        return out

    def _ordinal_codes(self) -> None:
        for name in self.ordinal:
            j = self.observed.index(name)
            allv = np.concatenate([X[:, j] for X in self.data.arrays])
            cats = np.unique(allv[~np.isnan(allv)])
            if cats.size < 3:
                raise DataError(f"ordinal variable {name!r} has {cats.size} categories; "
                                "declare a two-category variable binary= instead")
            if cats.size > 20:
                raise DataError(f"ordinal variable {name!r} has {cats.size} distinct values; "
                                "an ordinal variable has a few ordered categories — treat it "
                                "as continuous or recode it")
            self.categories[name] = cats
            for gd in self.groups:
                col = gd.rows[:, j]
                codes = np.full(col.shape, -1, dtype=np.int64)
                ok = ~np.isnan(col)
                codes[ok] = np.searchsorted(cats, col[ok])
                gd.codes[name] = codes

    @property
    def has_missing(self) -> bool:
        """Whether some endogenous value is missing in some group."""
        return any(gd.n_complete < gd.n for gd in self.groups)

    # ------------------------------------------------------------------ priors
    def _rows_by_free(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        t = self.table
        for i in range(t.n_rows):
            if t.free[i] > 0 and t.op[i] in _RAM_OPS:
                out.setdefault(int(t.free[i]) - 1, []).append(i)
        return out

    def row_key(self, i: int, *, with_group: bool | None = None) -> str:
        """The ``priors=`` / posterior name of table row i (``lhs op rhs``, ``.gN``)."""
        t = self.table
        base = f"{t.lhs[i]}{t.op[i]}" + (t.rhs[i] if t.op[i] != "~1" else "")
        if with_group is None:
            with_group = t.ngroups > 1
        return base + (f".g{int(t.group[i])}" if with_group else "")

    def _resolve_priors(self, priors: Mapping[str, Any]) -> dict[int, tuple[str, Prior]]:
        """User priors per free index (0-based) -> (key, prior); thresholds under -1-k."""
        t = self.table
        labels: dict[str, set[int]] = {}
        names: dict[str, set[int]] = {}
        fixed_names: dict[str, float] = {}
        for i in range(t.n_rows):
            if t.op[i] not in _RAM_OPS:
                continue
            keys = {self.row_key(i, with_group=False)}
            if t.ngroups > 1:
                keys.add(self.row_key(i, with_group=True))
            if t.op[i] == "~~" and t.lhs[i] != t.rhs[i]:
                swapped = f"{t.rhs[i]}~~{t.lhs[i]}"
                keys.add(swapped)
                if t.ngroups > 1:
                    keys.add(swapped + f".g{int(t.group[i])}")
            for key in keys:
                if t.free[i] > 0:
                    names.setdefault(key, set()).add(int(t.free[i]) - 1)
                else:
                    fixed_names[key] = float(t.value[i])
            if t.label[i] and t.free[i] > 0 and not t.label[i].startswith(".ge."):
                labels.setdefault(t.label[i], set()).add(int(t.free[i]) - 1)
        for name in self.ordinal:
            names.setdefault(f"{name}|", set())
        valid = sorted(set(labels) | set(names) | set(OPERATOR_KEYS))
        resolved: dict[int, tuple[str, Prior]] = {}
        self.operator_priors: dict[str, Prior] = {}
        self.threshold_priors: dict[str, Prior] = {}
        specific: dict[int, tuple[str, Prior]] = {}
        for key, value in priors.items():
            norm = str(key).replace(" ", "")
            if norm in OPERATOR_KEYS:
                prior = parse_prior(value, key)
                kind = {"~~": "sd", "cor": "cor", "|": "threshold"}.get(norm, "coef")
                check_support(prior, kind, key)
                self.operator_priors[norm] = prior
                continue
            if norm.endswith("|") or "|" in norm:
                var = norm.split("|")[0]
                if var not in self.ordinal:
                    raise SpecificationError(
                        f"priors: {key!r} names thresholds of {var!r}, which is not declared "
                        "ordinal=; " + close_matches(norm, valid))
                prior = parse_prior(value, key)
                check_support(prior, "threshold", key)
                self.threshold_priors[var] = prior
                continue
            if norm in fixed_names:
                raise SpecificationError(
                    f"priors: {key!r} is fixed in the model (value {fixed_names[norm]:g}); "
                    "priors apply to free parameters only — free it in the syntax first")
            targets = labels.get(norm) or names.get(norm)
            if not targets:
                hint = close_matches(norm, valid).split("?")[0] + "? " if close_matches(
                    norm, valid).startswith("did you mean") else ""
                shown = sorted(names)[:12]
                raise SpecificationError(
                    f"priors: the model has no parameter {key!r}; {hint}Valid keys are labels "
                    f"({', '.join(sorted(labels)) or 'none'}), parameters written lhs op rhs "
                    f"({', '.join(shown)}{', ...' if len(names) > 12 else ''}) and operator "
                    f"classes ({', '.join(OPERATOR_KEYS)})")
            prior = parse_prior(value, key)
            for k in targets:
                if k in specific and specific[k][1] != prior:
                    raise SpecificationError(
                        f"priors: {key!r} and {specific[k][0]!r} name the same parameter with "
                        f"different priors ({prior} and {specific[k][1]})")
                specific[k] = (str(key), prior)
        resolved.update(specific)
        self.valid_prior_keys = tuple(valid)
        return resolved

    def _op_prior(self, op_key: str) -> Prior | None:
        return self.operator_priors.get(op_key)

    # ------------------------------------------------------------------ recipes
    def _add_raw(self, name: str, role: str, prior: Prior, init: float) -> int:
        self.raw.append(RawParam(name, role, prior, float(init)))
        return len(self.raw) - 1

    def _scale_of(self, v: str) -> float:
        if v in self.binary or v in self.ordinal:
            return self.scale[v + "*"]
        return self.scale[v]

    def _build_recipes(self, user: dict[int, tuple[str, Prior]]) -> None:
        t = self.table
        rows_of = self._param_rows
        discrete = set(self.binary) | set(self.ordinal)
        const: dict[int, float] = {}
        for i in self.zeroed:
            k = int(t.free[i]) - 1
            const[k] = 0.0
            self.recipes[k] = Recipe(k, "const", value=0.0)
        # Residual variance of discrete variables and intercepts of ordinal ones are fixed.
        for k, rows in rows_of.items():
            i = rows[0]
            lhs, op, rhs = t.lhs[i], t.op[i], t.rhs[i]
            fixed_val = None
            if op == "~~" and lhs == rhs and lhs in discrete:
                fixed_val = 1.0 if (lhs in self.ordinal or self.link == "probit") else (
                    _LOGIT_SCALE ** 2)
            elif op == "~1" and lhs in self.ordinal:
                fixed_val = 0.0
            if fixed_val is not None:
                if len(rows) > 1 and any(t.lhs[r] != lhs or t.op[r] != op for r in rows):
                    kind = "binary" if lhs in self.binary else "ordinal"
                    raise SpecificationError(
                        f"{lhs} {op} {rhs} is fixed for a {kind} variable but shares its "
                        "label with other parameters; remove the label")
                if k in user:
                    raise SpecificationError(
                        f"priors: {user[k][0]!r} is fixed at {fixed_val:g} for the "
                        f"{'binary' if lhs in self.binary else 'ordinal'} variable {lhs!r} "
                        "(its latent response is identified that way); drop that prior")
                const[k] = fixed_val
                self.recipes[k] = Recipe(k, "const", value=fixed_val)
        # Variance components per group.
        blocks_done: set[int] = set()
        for g in range(self.ngroups):
            self._components(g, user, const, blocks_done)
        # Everything else.
        for k, rows in rows_of.items():
            if self.recipes[k] is not None:
                continue
            i = rows[0]
            lhs, op, rhs = t.lhs[i], t.op[i], t.rhs[i]
            g = int(t.group[i]) - 1
            name = self.param_label(k)
            if op in ("~", "=~"):
                dep, cause = (lhs, rhs) if op == "~" else (rhs, lhs)
                prior = self._pick(k, user, op, "coef",
                                   Prior("normal", (0.0, 2.5 * self._scale_of(dep)
                                                    / self._scale_of(cause))))
                init = 0.0
                if op == "=~":
                    init = self._scale_of(dep) / self._scale_of(cause)
                a = self._add_raw(name, "coef", prior, init)
                self.recipes[k] = Recipe(k, "raw", a=a)
            elif op == "~1":
                centred = (len(rows) == 1 and k not in user and "~1" not in self.operator_priors
                           and lhs in self.observed)
                mean = float(self.groups[g].means[self.observed.index(lhs)]) if \
                    lhs in self.observed else 0.0
                if lhs in discrete or lhs in self.latent:
                    mean = 0.0
                s = self._scale_of(lhs)
                if centred:
                    prior = Prior("normal", (mean, 2.5 * s))
                    a = self._add_raw(name, "coef", prior, mean)
                    self.recipes[k] = Recipe(k, "centred", a=a, group=g, var=lhs)
                else:
                    spread = 1.0 + sum(
                        abs(float(self.groups[g].means[self.observed.index(c)]))
                        / self.scale[c] for c in self._parents(lhs) if c in self.observed)
                    prior = self._pick(k, user, "~1", "coef",
                                       Prior("normal", (mean, 2.5 * s * spread)))
                    a = self._add_raw(name, "coef", prior, mean)
                    self.recipes[k] = Recipe(k, "raw", a=a)
            elif op == "~~" and lhs == rhs:  # pragma: no cover - handled by _components
                raise AssertionError(f"variance {name} without recipe")
        for k in range(self.npar):
            if self.recipes[k] is None:  # pragma: no cover - defensive
                raise SpecificationError(f"internal: no sampling recipe for parameter "
                                         f"{self.param_label(k)}")
        # Thresholds of ordinal variables (one ordered vector per variable and group).
        from scipy import stats

        for name in self.ordinal:
            K = self.categories[name].size
            prior = self.threshold_priors.get(name) or self.operator_priors.get("|") or \
                Prior("normal", (0.0, 2.5))
            for g, gd in enumerate(self.groups):
                codes = gd.codes[name]
                codes = codes[codes >= 0]
                cum = np.cumsum(np.bincount(codes, minlength=K))[:-1] / max(codes.size, 1)
                init = stats.norm.ppf(np.clip(cum, 0.02, 0.98))
                init = np.maximum.accumulate(init + np.arange(K - 1) * 1e-3)
                first = len(self.raw)
                for j in range(K - 1):
                    suffix = f".g{g + 1}" if self.ngroups > 1 else ""
                    self._add_raw(f"{name}|t{j + 1}{suffix}", "threshold", prior, float(init[j]))
                self.thresholds[(name, g)] = (first, K - 1)

    def _parents(self, v: str) -> list[str]:
        j = self.pos[v]
        return [self.names[c] for c in np.flatnonzero(self.structure[j])]

    def _pick(self, k: int, user: dict[int, tuple[str, Prior]], op_key: str, kind: str,
              default: Prior) -> Prior:
        if k in user:
            check_support(user[k][1], kind, user[k][0])
            return user[k][1]
        op = self.operator_priors.get(op_key)
        return op if op is not None else default

    def _components(self, g: int, user: dict[int, tuple[str, Prior]], const: dict[int, float],
                    done: set[int]) -> None:
        """Variances and covariances of group g (0-based): components and their recipes."""
        t = self.table
        grp = g + 1
        var_row: dict[str, int] = {}
        cov_rows: list[int] = []
        for i in range(t.n_rows):
            if t.group[i] != grp or t.op[i] != "~~" or t.exo[i]:
                continue
            if t.lhs[i] == t.rhs[i]:
                var_row[t.lhs[i]] = i
            elif i in self.zeroed:
                continue
            elif t.free[i] > 0 or (not np.isnan(t.value[i]) and t.value[i] != 0):
                cov_rows.append(i)
        # Connected components over covariance edges.
        parent = {v: v for v in var_row}

        def find(v: str) -> str:
            while parent[v] != v:
                parent[v] = parent[parent[v]]
                v = parent[v]
            return v

        for i in cov_rows:
            a, b = t.lhs[i], t.rhs[i]
            for v in (a, b):
                if v not in var_row:
                    raise SpecificationError(
                        f"{a} ~~ {b}: {v!r} has no variance in the model (it is an exogenous "
                        "covariate); give it one with '{v} ~~ {v}' or drop the covariance")
                    parent.setdefault(v, v)
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
        comps: dict[str, list[str]] = {}
        for v in self.names:
            if v in var_row:
                comps.setdefault(find(v), []).append(v)
        counts = np.bincount(t.free[t.free > 0], minlength=self.npar + 1)

        def unshared(i: int) -> bool:
            return t.free[i] > 0 and counts[t.free[i]] == 1

        for members in comps.values():
            rows_v = [var_row[v] for v in members]
            rows_c = [i for i in cov_rows if t.lhs[i] in members]
            pairs = {(t.lhs[i], t.rhs[i]) for i in rows_c} | {(t.rhs[i], t.lhs[i])
                                                              for i in rows_c}
            complete = all((a, b) in pairs for a in members for b in members if a != b)
            user_named = any(int(t.free[i]) - 1 in user for i in rows_v + rows_c) or (
                "~~" in self.operator_priors or "cor" in self.operator_priors)
            cont = [v for v in members if v not in self.binary and v not in self.ordinal]
            if len(members) >= 2 and complete and not user_named and all(
                    unshared(i) for i in rows_v + rows_c):
                self._block(g, members, rows_v, rows_c)
                continue
            # Direct: variances from SDs, covariances from correlations.
            for v, i in zip(members, rows_v, strict=True):
                k = int(t.free[i]) - 1
                if t.free[i] == 0:
                    if t.value[i] == 0 and v in self.y_names and self.family == "regression":
                        raise SpecificationError(
                            f"{v} ~~ 0*{v}: the residual variance of an observed endogenous "
                            "variable is fixed at 0, so its equation is deterministic and has "
                            "no likelihood; free it")
                    continue
                if k in done or self.recipes[k] is not None:
                    continue
                done.add(k)
                s = self._scale_of(v)
                prior = self._pick(k, user, "~~", "sd", Prior("halfnormal", (2.5 * s,)))
                init = 0.7 * s if v in self.observed else 0.5 * s
                a = self._add_raw(self.param_label(k), "sd", prior, init)
                self.recipes[k] = Recipe(k, "square", a=a)
            for i in rows_c:
                k = int(t.free[i]) - 1
                if t.free[i] == 0 or k in done:
                    continue
                done.add(k)
                refs = []
                for v in (t.lhs[i], t.rhs[i]):
                    vi = var_row[v]
                    if t.free[vi] > 0:
                        refs.append(("theta", float(int(t.free[vi]) - 1)))
                    else:
                        val = float(t.value[vi])
                        if val <= 0:
                            raise SpecificationError(
                                f"{t.lhs[i]} ~~ {t.rhs[i]}: the variance of {v!r} is fixed at "
                                f"{val:g}, so it cannot covary; drop the covariance")
                        refs.append(("const", math.sqrt(val)))
                prior = self._pick(k, user, "cor", "cor", Prior("lkj", (2.0,)))
                a = self._add_raw(self.param_label(k) + " (cor)", "cor", prior, 0.0)
                self.recipes[k] = Recipe(k, "cor", a=a, refs=tuple(refs))
            kind = "single" if len(members) == 1 else "direct"
            if len(cont) == len(members):
                self.components.append(Component(g, tuple(members), kind))

    def _block(self, g: int, members: list[str], rows_v: list[int], rows_c: list[int]) -> None:
        """A complete block of free residual (co)variances as conditional regressions."""
        t = self.table
        psi, lam = [], []
        for j, v in enumerate(members):
            s = self._scale_of(v)
            psi.append(self._add_raw(f"{v}~~{v} (conditional sd)", "psi",
                                     Prior("halfnormal", (2.5 * s,)), 0.7 * s))
            for l_, w in enumerate(members[:j]):
                lam.append((j, l_, self._add_raw(
                    f"{v}~~{w} (residual regression)", "lambda",
                    Prior("normal", (0.0, 2.5 * s / self._scale_of(w))), 0.0)))
        block_id = len(self.components)
        self.components.append(Component(g, tuple(members), "block", tuple(psi), tuple(lam)))
        for v, i in zip(members, rows_v, strict=True):
            j = members.index(v)
            k = int(t.free[i]) - 1
            self.recipes[k] = Recipe(k, "block", a=block_id, cell=(j, j))
        for i in rows_c:
            j, l_ = members.index(t.lhs[i]), members.index(t.rhs[i])
            k = int(t.free[i]) - 1
            self.recipes[k] = Recipe(k, "block", a=block_id, cell=(max(j, l_), min(j, l_)))

    # ------------------------------------------------------------------ names
    def param_label(self, k: int) -> str:
        """Name of free parameter k (0-based): its label, else ``lhs op rhs[.gN]``."""
        rows = self._param_rows[k]
        lab = self.table.label[rows[0]]
        if lab and not lab.startswith(".ge."):
            return lab
        return self.row_key(rows[0])

    def _free_names(self) -> list[str]:
        names = [self.param_label(k) for k in range(self.npar)]
        seen: dict[str, int] = {}
        out = []
        for n in names:
            if n in seen:
                seen[n] += 1
                out.append(f"{n}#{seen[n]}")
            else:
                seen[n] = 0
                out.append(n)
        return out

    def is_constant(self, k: int) -> bool:
        """Free parameter k is held fixed (probit variance, ordinal intercept)."""
        rec = self.recipes[k]
        return rec is not None and rec.kind == "const"

    # ------------------------------------------------------------------ identification
    def check_identified(self, moments: Sequence[Any]) -> None:
        """Refuse a model whose parameters are not (locally) identified.

        The Jacobian of the model-implied means and covariances with respect to the free
        parameters is evaluated at two random generic points; a rank below the number of
        sampled parameters means some combination of parameters leaves the likelihood
        unchanged, so the posterior is a ridge that NUTS cannot explore.
        """
        from pathmodels.ml.ram import RamModel

        ram = RamModel(self.table, list(moments))
        active = [k for k in range(self.npar) if not self.is_constant(k)]
        if not active:
            return
        rng = np.random.default_rng(20240611)
        deficient = []
        for _ in range(2):
            theta = self._generic_point(rng)
            blocks = []
            for g in range(self.ngroups):
                dsig, dmu = ram.moment_jacobian(theta, g)
                p = ram.p
                iu = np.triu_indices(p)
                J = np.concatenate([dsig[0][:, iu[0], iu[1]], dmu[0]], axis=1)  # (k, m)
                xi = [self.observed.index(x) for x in self.x_names]
                keep = np.ones(J.shape[1], dtype=bool)
                for c, (a, b) in enumerate(zip(*iu, strict=True)):
                    if a in xi and b in xi:
                        keep[c] = False
                for c in xi:
                    keep[len(iu[0]) + c] = False
                blocks.append(J[:, keep])
            J = np.concatenate(blocks, axis=1)[active]
            u, s, vt = np.linalg.svd(J, full_matrices=True)
            tol = 1e-8 * max(1.0, float(s.max(initial=0.0)))
            rank = int((s > tol).sum())
            if rank >= len(active):
                return
            null = u[:, -1] if u.shape[1] > rank else u[:, rank]
            deficient.append(null)
        direction = deficient[-1]
        names = [self.param_names[k] for k in active]
        involved = [names[j] for j in np.argsort(-np.abs(direction)) if abs(direction[j]) > 0.1]
        raise SpecificationError(
            "the model is not identified: some combination of these parameters leaves the "
            f"likelihood unchanged: {', '.join(involved[:6])}. Sampling it would give an "
            "unbounded ridge (only the prior keeps it finite). Fix one of them (a loading to "
            "1, a path to 0), add an equality constraint, or drop a path")

    def _generic_point(self, rng: np.random.Generator) -> FloatArray:
        t = self.table
        theta = np.zeros(self.npar)
        for k, rows in self._param_rows.items():
            i = rows[0]
            op = t.op[i]
            if self.is_constant(k):
                rec = self.recipes[k]
                assert rec is not None
                theta[k] = rec.value
            elif op == "~":
                theta[k] = rng.uniform(0.15, 0.45) * rng.choice([-1, 1])
            elif op == "=~":
                theta[k] = rng.uniform(0.6, 1.4)
            elif op == "~1":
                theta[k] = rng.normal()
            elif t.lhs[i] == t.rhs[i]:
                theta[k] = rng.uniform(0.8, 1.6)
            else:
                theta[k] = rng.uniform(-0.2, 0.2)
        return theta


    # ------------------------------------------------------------------ raw -> theta
    def theta_from_raw(self, raw: FloatArray) -> FloatArray:
        """Table parameters (R, npar) from raw draws (R, n_raw), as the PyMC model does.

        This is the numpy twin of :func:`pathmodels.bayes.model._theta` (a test checks
        that both agree); sampling stores only the raw parameters, and theta is computed
        here once, after sampling.
        """
        raw = np.atleast_2d(np.asarray(raw, dtype=float))
        R = raw.shape[0]
        theta = np.zeros((R, self.npar))
        pending = []
        blocks: dict[int, FloatArray] = {}
        for k, rec in enumerate(self.recipes):
            assert rec is not None
            if rec.kind == "raw":
                theta[:, k] = raw[:, rec.a]
            elif rec.kind == "square":
                theta[:, k] = raw[:, rec.a] ** 2
            elif rec.kind == "const":
                theta[:, k] = rec.value
            elif rec.kind == "block":
                if rec.a not in blocks:
                    comp = self.components[rec.a]
                    kdim = len(comp.variables)
                    lam = np.zeros((R, kdim, kdim))
                    for j, l_, rid in comp.lam:
                        lam[:, j, l_] = raw[:, rid]
                    psi = raw[:, list(comp.psi)] ** 2
                    L = np.linalg.inv(np.eye(kdim) - lam)
                    blocks[rec.a] = (L * psi[:, None, :]) @ np.swapaxes(L, 1, 2)
                theta[:, k] = blocks[rec.a][:, rec.cell[0], rec.cell[1]]
            else:
                pending.append(rec)
        for rec in pending:
            if rec.kind == "cor":
                sds = [np.sqrt(np.abs(theta[:, int(val)])) if kind == "theta" else val
                       for kind, val in rec.refs]
                theta[:, rec.index] = raw[:, rec.a] * sds[0] * sds[1]
        t = self.table
        for rec in pending:
            if rec.kind == "centred":
                val = raw[:, rec.a].copy()
                means = self.groups[rec.group].means
                for i in range(t.n_rows):
                    if t.group[i] != rec.group + 1 or t.op[i] != "~" or t.lhs[i] != rec.var \
                            or t.rhs[i] not in self.observed:
                        continue
                    coef = theta[:, int(t.free[i]) - 1] if t.free[i] > 0 else float(t.value[i])
                    val = val - coef * means[self.observed.index(t.rhs[i])]
                theta[:, rec.index] = val
        return theta

    def sample_prior_raw(self, size: int, rng: np.random.Generator) -> FloatArray:
        """Independent draws (size, n_raw) from the prior of every raw parameter."""
        out = np.zeros((size, len(self.raw)))
        for rid, raw in enumerate(self.raw):
            out[:, rid] = _draw_prior(raw.prior, raw.role, size, rng)
        for (_, _g), (first, count) in self.thresholds.items():
            out[:, first:first + count] = np.sort(out[:, first:first + count], axis=1)
        return out


def _draw_prior(prior: Prior, role: str, size: int, rng: np.random.Generator) -> FloatArray:
    f, a = prior.family, prior.params
    if f == "normal":
        x = rng.normal(a[0], a[1], size)
    elif f == "student_t":
        x = a[1] + a[2] * rng.standard_t(a[0], size)
    elif f == "cauchy":
        x = a[0] + a[1] * rng.standard_cauchy(size)
    elif f == "laplace":
        x = rng.laplace(a[0], a[1], size)
    elif f == "halfnormal":
        x = np.abs(rng.normal(0.0, a[0], size))
    elif f == "halfcauchy":
        x = np.abs(a[0] * rng.standard_cauchy(size))
    elif f == "halfstudent_t":
        x = np.abs(a[1] * rng.standard_t(a[0], size))
    elif f == "exponential":
        x = rng.exponential(1.0 / a[0], size)
    elif f == "gamma":
        x = rng.gamma(a[0], 1.0 / a[1], size)
    elif f == "inverse_gamma":
        x = 1.0 / rng.gamma(a[0], 1.0 / a[1], size)
    elif f == "lognormal":
        x = rng.lognormal(a[0], a[1], size)
    elif f == "uniform":
        x = rng.uniform(a[0], a[1], size)
    else:  # beta / lkj: correlations on (-1, 1)
        b = prior.as_beta()
        x = 2.0 * rng.beta(b[0], b[1], size) - 1.0
    return x


def _is_dag(structure: np.ndarray) -> bool:
    from pathmodels.effects import is_recursive

    return bool(is_recursive(structure))
