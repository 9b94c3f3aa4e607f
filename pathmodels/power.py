r"""Monte Carlo power for path models and mediation designs.

:func:`power` draws many replicate samples from a population model at each design point
(sample size, and optionally number of waves and attrition), fits the analysis model to
each by maximum likelihood, tests the target effects and counts how often they are
significant. The result, :class:`PowerResult`, holds the power table, the N needed for a
target power (:meth:`PowerResult.n_for`) and power curves (:meth:`PowerResult.plot`).

Three paths, chosen per design point:

* **moments** (complete, multivariate normal data): ML depends on the data only through
  the sample mean and covariance, so each replicate's moments are drawn directly
  (Wishart; :class:`~pathmodels.simulate.MomentSampler`) and all replicates are fitted
  at once by batched Fisher scoring, warm-started at the population values;
* **raw** (complete data with binary variables, sites or product terms): raw data are
  drawn per replicate, their moments stacked and fitted in one batch;
* **fiml** (attrition): raw data with dropout, one FIML fit per replicate.

Replicate ``r`` of design ``d`` draws everything from
``numpy.random.SeedSequence(seed, spawn_key=(d, r))`` (data first, then Monte Carlo
draws, then bootstrap indices), and replicates are fitted in fixed chunks, so a table is
identical for any ``n_jobs``, on a Dask cluster, and after a resumed run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special, stats

from pathmodels._store import Record, ReplicateStore
from pathmodels._typing import FloatArray
from pathmodels.exceptions import DataError, PathModelsError, SpecificationError, close_matches
from pathmodels.expressions import BinaryOp, Expression, Name
from pathmodels.simulate import (
    Attrition,
    MomentSampler,
    Population,
    compile_population,
    expected_retained,
    resolve_population,
    spec_from_state,
    spec_state,
)
from pathmodels.spec import ParameterTable, Spec, as_spec

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_TESTS", "TABLE_COLUMNS", "TESTS", "PowerResult", "SampleSize", "power"]

#: Tests :func:`power` knows.
TESTS = ("joint", "mc", "sobel", "bootstrap", "wald", "bayes")
#: Columns of :attr:`PowerResult.table` (design columns such as ``waves`` follow ``n``).
TABLE_COLUMNS = (
    "n",
    "target",
    "test",
    "power",
    "mcse",
    "reps",
    "n_converged",
    "n_admissible",
    "mean_est",
    "sd_est",
    "mean_se",
    "bias",
    "coverage",
)
#: Tests run when ``tests=`` is not given (bootstrap is left out for its cost).
DEFAULT_TESTS = ("joint", "mc", "sobel", "wald")
_PARAMETER_TESTS = ("wald", "mc", "bootstrap", "bayes")
_DEFINED_TESTS = ("joint", "sobel", "mc", "bootstrap", "bayes")
_STORE_VERSION = 2  # bump when the numbers a stored replicate holds would change
_CHUNK = {"moments": 250, "raw": 100, "fiml": 4}


# ============================================================================ analysis
@dataclass(frozen=True)
class _Target:
    name: str
    kind: str  # "parameter" or "defined"
    index: int  # free index (parameter targets)
    components: tuple[int, ...]  # free indices of a product of labels (joint test)
    involved: tuple[int, ...]  # free indices the value depends on
    truth: float
    tests: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class _Analysis:
    spec: Spec
    table: ParameterTable
    columns: tuple[tuple[int, ...], ...]  # population columns (products for x:w)
    theta_star: FloatArray
    targets: tuple[_Target, ...]
    label_rows: Mapping[str, int]
    predictors: tuple[int, ...]  # per free index: predictors in its equation (-1: not a path)
    variance_index: tuple[int, ...]  # free indices of variances (admissibility)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "spec": spec_state(self.spec)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({**state, "spec": spec_from_state(state["spec"])})


def _row_labels(table: ParameterTable) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, lab in enumerate(table.label):
        if lab and not lab.startswith(".ge."):
            out.setdefault(lab, i)
    return out


def _label_values(an: _Analysis, rows: FloatArray) -> dict[str, Any]:
    values: dict[str, Any] = {lab: rows[..., i] for lab, i in an.label_rows.items()}
    for name, expr in an.table.definitions:
        values[name] = np.asarray(expr.evaluate(values), dtype=float)
    return values


def _target_values(an: _Analysis, theta: FloatArray, model: Any) -> FloatArray:
    """Target values (R, T) at a batch of free-parameter vectors."""
    th = np.atleast_2d(theta)
    values = None
    out = np.empty((th.shape[0], len(an.targets)))
    for t, tgt in enumerate(an.targets):
        if tgt.kind == "parameter":
            out[:, t] = th[:, tgt.index]
            continue
        if values is None:
            values = _label_values(an, np.atleast_2d(model.row_values(th)))
        out[:, t] = np.broadcast_to(values[tgt.name], (th.shape[0],))
    return out


def _is_product(node: Any) -> list[str] | None:
    if isinstance(node, Name):
        return [node.name]
    if isinstance(node, BinaryOp) and node.op == "*":
        left, right = _is_product(node.left), _is_product(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def _parse_target_path(text: str) -> tuple[str, str, str] | None:
    for op in ("=~", "~~", "~"):
        if op in text:
            lhs, rhs = (part.strip() for part in text.split(op, 1))
            if lhs and rhs:
                return lhs, op, rhs
    return None


def _resolve_targets(
    table: ParameterTable, requested: Sequence[str] | None
) -> list[tuple[str, str, int, tuple[int, ...], tuple[int, ...]]]:
    defs = {name: expr for name, expr in table.definitions}
    labels = table.labels_to_free()
    label_rows = _row_labels(table)
    if requested is None:
        requested = list(defs) or [lab for lab in label_rows if lab in labels]
        if not requested:
            raise SpecificationError(
                "power: the analysis model has no labelled parameters or := effects to test; "
                "label the paths (e.g. 'm ~ a*x') and pass targets=['a'], or write "
                "'ind := a*b'"
            )
    out = []
    for name in requested:
        if name in defs:
            involved = _involved(defs, name, labels)
            comps = _is_product(defs[name].tree)
            components = (
                tuple(labels[c] - 1 for c in comps)
                if comps and all(c in labels for c in comps)
                else ()
            )
            out.append((name, "defined", -1, components, involved))
            continue
        if name in label_rows:
            k = int(table.free[label_rows[name]]) - 1
        else:
            path = _parse_target_path(name)
            if path is None:
                raise SpecificationError(
                    f"power: target {name!r} is neither a label, a := parameter nor a path "
                    "like 'y~x'; " + close_matches(name, list(defs) + list(label_rows))
                )
            try:
                k = int(table.free[table.find(*path)]) - 1
            except SpecificationError:
                raise SpecificationError(
                    f"power: the analysis model has no parameter {name!r}; write paths as "
                    "'y~x', 'f=~x1' or 'x~~y'"
                ) from None
        if k < 0:
            raise SpecificationError(
                f"power: target {name!r} is fixed in the analysis model, so "
                "it cannot be tested; free it (remove its number)"
            )
        out.append((name, "parameter", k, (), (k,)))
    return out


def _involved(
    defs: Mapping[str, Expression], name: str, labels: Mapping[str, int]
) -> tuple[int, ...]:
    seen: dict[int, None] = {}
    stack = list(defs[name].names)
    while stack:
        lab = stack.pop(0)
        if lab in labels:
            seen.setdefault(labels[lab] - 1, None)
        elif lab in defs:
            stack.extend(defs[lab].names)
    return tuple(sorted(seen))


def _population_moments(
    pop: Population, columns: Sequence[tuple[int, ...]]
) -> tuple[FloatArray, FloatArray]:
    if all(len(c) == 1 for c in columns):
        mean, cov = pop.moments()
        idx = [c[0] for c in columns]
        return mean[idx], cov[np.ix_(idx, idx)]
    from pathmodels.simulate import _AUX_N, _AUX_SEED

    X = pop.draw(np.random.default_rng(np.random.SeedSequence(_AUX_SEED)), _AUX_N, complete=True)
    Z = _columns(X, columns)
    return Z.mean(axis=0), np.cov(Z, rowvar=False, bias=True)


def _columns(X: FloatArray, columns: Sequence[tuple[int, ...]]) -> FloatArray:
    if all(len(c) == 1 for c in columns):
        return X[:, [c[0] for c in columns]]
    return np.column_stack([np.prod(X[:, list(c)], axis=1) for c in columns])


def _prepare_analysis(
    spec: Spec,
    pop: Population,
    *,
    meanstructure: bool,
    targets: Sequence[str] | None,
    tests: Sequence[str],
) -> _Analysis:
    from pathmodels.ml.estimate import fit_ram, start_values
    from pathmodels.ml.ram import GroupData, RamModel

    if spec.min_groups > 1:
        raise SpecificationError(
            "power: multigroup analysis models are not supported yet; "
            "analyse one group (or add the group as a covariate)"
        )
    has_means = any(op == "~1" for op in spec.table().op)
    table = spec.table(meanstructure=meanstructure or has_means)
    if table.constraints:
        raise SpecificationError(
            "power: the analysis model has ==, < or > constraints, which the batched fits do "
            "not take; express equalities with shared labels (b*x1 + b*x2)"
        )
    columns: list[tuple[int, ...]] = []
    for var in table.roles.observed:
        if var in pop.observed:
            columns.append((pop.observed.index(var),))
        elif ":" in var and all(p in pop.observed for p in var.split(":")):
            columns.append(tuple(pop.observed.index(p) for p in var.split(":")))
        else:
            raise SpecificationError(
                f"power: the analysis model uses {var!r}, which the population does not "
                "generate; " + close_matches(var, pop.observed)
            )
    mean, cov = _population_moments(pop, columns)
    big = 1_000_000
    model = RamModel(table, [GroupData(big, cov, mean)])
    est = fit_ram(model, start_values(model))
    if not est.converged:
        raise SpecificationError(
            "power: the analysis model cannot be fitted to the population's own moments (the "
            f"optimiser did not converge: {est.message}); check that the model can describe "
            "the population"
        )
    info = model.expected_information(est.theta)
    w, vec = np.linalg.eigh(info)
    if w[0] <= 1e-9 * max(w[-1], 1.0):
        from pathmodels.ml.backend import _free_names

        names = _free_names(table)
        involved = [names[j] for j in np.argsort(-np.abs(vec[:, 0])) if abs(vec[j, 0]) > 0.1][:6]
        raise SpecificationError(
            "power: the analysis model is not identified (singular information at the "
            f"population values) for {', '.join(involved)}; fix or drop one of them"
        )
    resolved = _resolve_targets(table, targets)
    label_rows = _row_labels(table)
    preds = []
    for k in range(table.npar):
        rows = np.flatnonzero(table.free == k + 1)
        i = int(rows[0])
        if table.op[i] == "~":
            preds.append(
                sum(
                    1
                    for j in range(table.n_rows)
                    if table.op[j] == "~"
                    and table.lhs[j] == table.lhs[i]
                    and table.group[j] == table.group[i]
                )
            )
        else:
            preds.append(-1)
    variance_index = tuple(
        sorted(
            {
                int(table.free[i]) - 1
                for i in range(table.n_rows)
                if table.op[i] == "~~" and table.lhs[i] == table.rhs[i] and table.free[i] > 0
            }
        )
    )
    tlist = []
    for name, kind, k, comps, inv in resolved:
        allowed = _PARAMETER_TESTS if kind == "parameter" else _DEFINED_TESTS
        applicable = tuple(t for t in tests if t in allowed and (t != "joint" or comps))
        tlist.append(_Target(name, kind, k, comps, inv, float("nan"), applicable))
    an = _Analysis(
        spec,
        table,
        tuple(columns),
        est.theta,
        tuple(tlist),
        label_rows,
        tuple(preds),
        variance_index,
    )
    truth = _target_values(an, est.theta[None, :], model)[0]
    tlist = [dataclasses.replace(tg, truth=float(tr)) for tg, tr in zip(tlist, truth, strict=True)]
    return dataclasses.replace(an, targets=tuple(tlist))


# ============================================================================ designs
@dataclass(frozen=True, eq=False)
class _Design:
    index: int
    n: int
    waves: int | None
    attrition: Attrition | None
    population: Population
    analysis: _Analysis
    path: str  # "moments", "raw" or "fiml"
    missing: str
    key: str
    sampler: MomentSampler | None


@dataclass(frozen=True)
class _Options:
    entropy: int
    tests: tuple[str, ...]
    alpha: float
    dist: str
    n_mc: int
    n_boot: int


def _fingerprint(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(np.ascontiguousarray(part, dtype=float).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()[:32]


def _population_fingerprint(pop: Population) -> str:
    return _fingerprint(
        pop.names,
        pop.observed,
        pop.A,
        pop.S,
        pop.m,
        {k: [list(d.thresholds), d.link] for k, d in pop.discrete.items()},
        {k: list(v) for k, v in pop.arms.items()},
        repr(pop.sites),
        dict(pop.error_variance),
        repr(pop.attrition),
        {str(k): list(v) for k, v in pop.waves.items()},
    )


# ============================================================================ replicates
def _generators(opts: _Options, design: int, reps: Sequence[int]) -> list[np.random.Generator]:
    return [
        np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(opts.entropy, spawn_key=(design, r)))
        )
        for r in reps
    ]


def _inverse_batch(mats: FloatArray) -> tuple[FloatArray, np.ndarray]:
    ok = np.ones(mats.shape[0], dtype=bool)
    try:
        return np.linalg.inv(mats), ok
    except np.linalg.LinAlgError:
        out = np.full_like(mats, np.nan)
        for r in range(mats.shape[0]):
            try:
                out[r] = np.linalg.inv(mats[r])
            except np.linalg.LinAlgError:
                ok[r] = False
        return out, ok


def _fit_batch(
    an: _Analysis, n: int, mean: FloatArray, cov: FloatArray
) -> tuple[FloatArray, FloatArray, list[str], list[str], Any]:
    """Fit stacked sample moments; returns theta, vcov, status, reason, model."""
    from pathmodels.ml.estimate import scoring
    from pathmodels.ml.ram import GroupData, RamModel

    R, k = cov.shape[0], an.table.npar
    status = ["ok"] * R
    reason = [""] * R
    theta = np.full((R, k), np.nan)
    vcov = np.full((R, k, k), np.nan)
    w = np.linalg.eigvalsh(cov)
    singular = w[:, 0] <= 1e-10 * np.maximum(w[:, -1], 1e-300)
    for r in np.flatnonzero(singular):
        status[r] = "failed"
        reason[r] = "singular sample covariance (a constant or collinear column)"
    good = np.flatnonzero(~singular)
    model = RamModel(an.table, [GroupData(n, cov, mean)])
    if good.size:
        sub = model.take(good)
        with np.errstate(all="ignore"):
            th, done, _ = scoring(sub, np.tile(an.theta_star, (good.size, 1)))
        theta[good] = th
        for r in good[~done]:
            status[r] = "nonconverged"
            reason[r] = "Fisher scoring did not reach the gradient tolerance"
        conv = good[done]
        if conv.size:
            with np.errstate(all="ignore"):
                info = np.atleast_3d(model.take(conv).expected_information(theta[conv]))
                inv, ok = _inverse_batch(n * info)
            diag = np.einsum("rii->ri", inv)
            ok &= np.all(np.isfinite(diag), axis=1) & np.all(diag > 0, axis=1)
            vcov[conv] = inv
            for r in conv[~ok]:
                status[r] = "failed"
                reason[r] = "singular information matrix at the estimates"
    return theta, vcov, status, reason, model


def _fit_fiml(an: _Analysis, X: FloatArray) -> tuple[FloatArray, FloatArray, str, str, Any]:
    from pathmodels.ml.estimate import fit_ram
    from pathmodels.ml.fiml import FimlModel, missing_patterns
    from pathmodels.ml.ram import GroupData

    X = X[~np.all(np.isnan(X), axis=1)]
    n, p = X.shape
    mean = np.nanmean(X, axis=0)
    cov = np.zeros((p, p))
    for i in range(p):
        for j in range(i, p):
            both = ~np.isnan(X[:, i]) & ~np.isnan(X[:, j])
            if both.sum() > 1:
                xi, xj = X[both, i], X[both, j]
                cov[i, j] = cov[j, i] = float(np.mean((xi - xi.mean()) * (xj - xj.mean())))
    k = an.table.npar
    nan_theta, nan_v = np.full(k, np.nan), np.full((k, k), np.nan)
    if np.any(np.diag(cov) <= 1e-12):
        return nan_theta, nan_v, "failed", "a column is constant among observed rows", None
    model = FimlModel(an.table, [GroupData(n, cov, mean)], [missing_patterns(X)])
    with np.errstate(all="ignore"):
        est = fit_ram(model, an.theta_star.copy())
    if not est.converged:
        return est.theta, nan_v, "nonconverged", est.message, model
    try:
        with np.errstate(all="ignore"):
            vcov = np.linalg.inv(model.observed_information(est.theta) * n)
    except np.linalg.LinAlgError:
        return est.theta, nan_v, "failed", "singular information matrix at the estimates", model
    if not np.all(np.isfinite(np.diag(vcov))) or np.any(np.diag(vcov) <= 0):
        return est.theta, nan_v, "failed", "information matrix not positive definite", model
    return est.theta, vcov, "ok", "", model


def _run_chunk(design: _Design, opts: _Options, reps: Sequence[int]) -> list[Record]:
    """Simulate, fit and test the replicates ``reps`` of one design."""
    reps = list(reps)
    an = design.analysis
    rngs = _generators(opts, design.index, reps)
    if design.path == "moments":
        assert design.sampler is not None
        mean, cov = design.sampler.draw(rngs)
        return _records_from_moments(design, opts, reps, rngs, [], design.n, mean, cov)
    raw = [_columns(design.population.draw(rng, design.n), an.columns) for rng in rngs]
    if design.path == "fiml":
        return _records_fiml(design, opts, reps, rngs, raw)
    if design.missing == "listwise":
        raw = [X[~np.isnan(X).any(axis=1)] for X in raw]
    sizes = {X.shape[0] for X in raw}
    if len(sizes) > 1:  # listwise deletion left different sample sizes: fit one by one
        return [
            rec
            for r in range(len(reps))
            for rec in _records_from_moments(
                design, opts, [reps[r]], [rngs[r]], [raw[r]], raw[r].shape[0]
            )
        ]
    mean = np.stack([X.mean(axis=0) for X in raw])
    cov = np.stack([np.cov(X, rowvar=False, bias=True) for X in raw])
    return _records_from_moments(design, opts, reps, rngs, raw, sizes.pop(), mean, cov)


def _records_fiml(
    design: _Design,
    opts: _Options,
    reps: list[int],
    rngs: list[np.random.Generator],
    raw: list[FloatArray],
) -> list[Record]:
    an = design.analysis
    fits = [_fit_fiml(an, X) for X in raw]
    theta = np.stack([f[0] for f in fits])
    vcov = np.stack([f[1] for f in fits])
    status = [f[2] for f in fits]
    reason = [f[3] for f in fits]
    models = [f[4] for f in fits]
    n_eff = np.array([int((~np.all(np.isnan(X), axis=1)).sum()) for X in raw])
    est = np.full((len(reps), len(an.targets)), np.nan)
    for r in range(len(reps)):
        if status[r] == "ok":
            est[r] = _target_values(an, theta[r][None], models[r])[0]
    return _finish(
        design,
        opts,
        reps,
        rngs,
        raw,
        theta,
        vcov,
        status,
        reason,
        est,
        n_eff,
        per_replicate_models=models,
    )


def _records_from_moments(
    design: _Design,
    opts: _Options,
    reps: list[int],
    rngs: list[np.random.Generator],
    raw: list[FloatArray],
    n: int,
    mean: FloatArray | None = None,
    cov: FloatArray | None = None,
) -> list[Record]:
    an = design.analysis
    if mean is None or cov is None:
        X = raw[0]
        if X.shape[0] < 2:
            return [Record(reps[0], "failed", "fewer than 2 complete rows", _empty(an, opts))]
        mean, cov = X.mean(axis=0)[None], np.cov(X, rowvar=False, bias=True)[None]
    theta, vcov, status, reason, model = _fit_batch(an, n, mean, cov)
    R = len(reps)
    est = np.full((R, len(an.targets)), np.nan)
    okr = np.array([s != "failed" for s in status])
    if okr.any():
        est[okr] = _target_values(an, theta[okr], model.take(np.flatnonzero(okr)))
    return _finish(
        design, opts, reps, rngs, raw, theta, vcov, status, reason, est, np.full(R, n), model=model
    )


def _empty(an: _Analysis, opts: _Options) -> dict[str, Any]:
    T, K = len(an.targets), len(opts.tests)
    nan = float("nan")
    sig = [
        [0.0 if opts.tests[k] in an.targets[t].tests else nan for k in range(K)] for t in range(T)
    ]
    return {
        "adm": False,
        "est": [nan] * T,
        "se": [nan] * T,
        "sig": sig,
        "cov": [[nan] * K for _ in range(T)],
    }


def _delta_se(an: _Analysis, theta: FloatArray, vcov: FloatArray, model: Any) -> FloatArray:
    """Delta-method SEs (R, T) of the targets."""
    R, T = theta.shape[0], len(an.targets)
    se = np.full((R, T), np.nan)
    defined = [t for t, tg in enumerate(an.targets) if tg.kind == "defined"]
    for t, tg in enumerate(an.targets):
        if tg.kind == "parameter":
            se[:, t] = np.sqrt(vcov[:, tg.index, tg.index])
    if not defined:
        return se
    involved = sorted({j for t in defined for j in an.targets[t].involved})
    J = np.zeros((R, T, len(involved)))
    for c, j in enumerate(involved):
        h = 1e-6 * np.maximum(1.0, np.abs(theta[:, j]))
        up, down = theta.copy(), theta.copy()
        up[:, j] += h
        down[:, j] -= h
        diff = _target_values(an, up, model) - _target_values(an, down, model)
        J[:, :, c] = diff / (2 * h[:, None])
    V = vcov[:, involved][:, :, involved]
    var = np.einsum("rti,rij,rtj->rt", J, V, J)
    for t in defined:
        se[:, t] = np.sqrt(np.clip(var[:, t], 0.0, None))
    return se


def _finish(
    design: _Design,
    opts: _Options,
    reps: list[int],
    rngs: list[np.random.Generator],
    raw: list[FloatArray],
    theta: FloatArray,
    vcov: FloatArray,
    status: list[str],
    reason: list[str],
    est: FloatArray,
    n_eff: np.ndarray,
    model: Any = None,
    per_replicate_models: list[Any] | None = None,
) -> list[Record]:
    an = design.analysis
    R, T, K = len(reps), len(an.targets), len(opts.tests)
    ok = np.array([s == "ok" for s in status])
    se = np.full((R, T), np.nan)
    if ok.any():
        idx = np.flatnonzero(ok)
        if per_replicate_models is None:
            se[idx] = _delta_se(an, theta[idx], vcov[idx], model.take(idx))
        else:
            for r in idx:
                se[r] = _delta_se(an, theta[r][None], vcov[r][None], per_replicate_models[r])[0]
    sig = np.full((R, T, K), np.nan)
    cover = np.full((R, T, K), np.nan)
    for t, tg in enumerate(an.targets):
        for kk, test in enumerate(opts.tests):
            if test in tg.tests:
                sig[:, t, kk] = 0.0
    alpha = opts.alpha
    zcrit = float(special.ndtri(1 - alpha / 2))
    with np.errstate(all="ignore"):
        for t, tg in enumerate(an.targets):
            for kk, test in enumerate(opts.tests):
                if test not in tg.tests:
                    continue
                if test == "wald":
                    s_, crit = _path_se_crit(an, tg.index, se[:, t], n_eff, opts.dist, alpha, zcrit)
                    sig[ok, t, kk] = (np.abs(est[ok, t]) > crit[ok] * s_[ok]).astype(float)
                    cover[ok, t, kk] = np.abs(est[ok, t] - tg.truth) <= crit[ok] * s_[ok]
                elif test == "sobel":
                    sig[ok, t, kk] = (np.abs(est[ok, t]) > zcrit * se[ok, t]).astype(float)
                    cover[ok, t, kk] = np.abs(est[ok, t] - tg.truth) <= zcrit * se[ok, t]
                elif test == "joint":
                    allsig = np.ones(R, dtype=bool)
                    for c in tg.components:
                        s_c = np.sqrt(vcov[:, c, c])
                        s_, crit = _path_se_crit(an, c, s_c, n_eff, opts.dist, alpha, zcrit)
                        allsig &= np.abs(theta[:, c]) > crit * s_
                    sig[ok, t, kk] = allsig[ok].astype(float)
    mc = [t for t, tg in enumerate(an.targets) if "mc" in tg.tests and "mc" in opts.tests]
    if mc:
        _mc_tests(design, opts, rngs, theta, vcov, ok, mc, sig, cover)
    boot = [
        t
        for t, tg in enumerate(an.targets)
        if "bootstrap" in tg.tests and "bootstrap" in opts.tests
    ]
    if boot:
        _boot_tests(design, opts, rngs, raw, theta, ok, boot, sig, cover)
    bayes = [t for t, tg in enumerate(an.targets) if "bayes" in tg.tests and "bayes" in opts.tests]
    if bayes:
        _bayes_tests(design, opts, rngs, raw, ok, bayes, sig, cover)
    adm = np.ones(R, dtype=bool)
    if an.variance_index:
        adm = np.all(theta[:, list(an.variance_index)] >= 0, axis=1)
    out = []
    for i in range(R):
        good = bool(ok[i])
        payload = {
            "adm": bool(adm[i]) and good,
            "est": [float(x) if good else float("nan") for x in est[i]],
            "se": [float(x) for x in se[i]],
            "sig": sig[i].tolist(),
            "cov": cover[i].astype(float).tolist(),
        }
        out.append(Record(reps[i], status[i], reason[i], payload))
    return out


def _path_se_crit(
    an: _Analysis, k: int, se: FloatArray, n: np.ndarray, dist: str, alpha: float, zcrit: float
) -> tuple[FloatArray, FloatArray]:
    """SE and critical value of one parameter's test (OLS-style t when dist='t')."""
    q = an.predictors[k]
    if dist != "t" or q < 0:
        return se, np.full(se.shape, zcrit)
    df = np.maximum(n - q - 1, 1).astype(float)
    return se * np.sqrt(n / df), stats.t.ppf(1 - alpha / 2, df)


def _mc_tests(
    design: _Design,
    opts: _Options,
    rngs: list[np.random.Generator],
    theta: FloatArray,
    vcov: FloatArray,
    ok: np.ndarray,
    targets: list[int],
    sig: FloatArray,
    cover: FloatArray,
) -> None:
    an = design.analysis
    kk = opts.tests.index("mc")
    involved = sorted({j for t in targets for j in an.targets[t].involved})
    q, D = len(involved), opts.n_mc
    idx = np.flatnonzero(ok)
    Z = np.empty((len(rngs), q, D))
    for r, rng in enumerate(rngs):  # every replicate draws, in order, even if it failed
        rng.standard_normal((q, D), out=Z[r])
    if not idx.size:
        return
    V = vcov[idx][:, involved][:, :, involved]
    w, Q = np.linalg.eigh((V + np.swapaxes(V, 1, 2)) / 2)
    root = Q * np.sqrt(np.clip(w, 0.0, None))[:, None, :]
    # draws[r, j] = theta_j + sum_k root[r, j, k] Z[r, k]: a loop over the (few) parameters
    # with whole-array operations is several times faster than R tiny matrix products.
    Zi = Z[idx]
    draws = np.empty((idx.size, q, D))
    for j in range(q):
        acc = np.multiply(Zi[:, 0, :], root[:, j, 0, None])
        for k in range(1, q):
            acc += Zi[:, k, :] * root[:, j, k, None]
        acc += theta[idx, involved[j]][:, None]
        draws[:, j, :] = acc
    column = {j: c for c, j in enumerate(involved)}
    values = None
    lo_q, hi_q = opts.alpha / 2, 1 - opts.alpha / 2
    for t in targets:
        tg = an.targets[t]
        if tg.kind == "parameter":
            val = draws[:, column[tg.index], :]
        else:
            if values is None:
                values = _draw_values(an, theta[idx], draws, column)
            val = np.broadcast_to(values[tg.name], (idx.size, D))
        lo, hi = np.quantile(val, [lo_q, hi_q], axis=1)
        sig[idx, t, kk] = ((lo > 0) | (hi < 0)).astype(float)
        cover[idx, t, kk] = ((lo <= tg.truth) & (tg.truth <= hi)).astype(float)


def _draw_values(
    an: _Analysis, theta: FloatArray, draws: FloatArray, column: Mapping[int, int]
) -> dict[str, Any]:
    """Label and := values with the involved parameters replaced by their draws."""
    table = an.table
    values: dict[str, Any] = {}
    for lab, i in an.label_rows.items():
        k = int(table.free[i]) - 1
        if k < 0:
            values[lab] = float(table.value[i])
        elif k in column:
            values[lab] = draws[:, column[k], :]
        else:
            values[lab] = theta[:, k][:, None]
    for name, expr in table.definitions:
        values[name] = np.asarray(expr.evaluate(values), dtype=float)
    return values


def _boot_tests(
    design: _Design,
    opts: _Options,
    rngs: list[np.random.Generator],
    raw: list[FloatArray],
    theta: FloatArray,
    ok: np.ndarray,
    targets: list[int],
    sig: FloatArray,
    cover: FloatArray,
) -> None:
    from pathmodels.ml.estimate import scoring
    from pathmodels.ml.ram import GroupData, RamModel

    an = design.analysis
    kk = opts.tests.index("bootstrap")
    B = opts.n_boot
    for r, rng in enumerate(rngs):
        X = raw[r]
        index = rng.integers(0, X.shape[0], size=(B, X.shape[0]))
        if not ok[r]:
            continue
        Xb = X[index]
        mean = Xb.mean(axis=1)
        cent = Xb - mean[:, None, :]
        cov = np.einsum("rni,rnj->rij", cent, cent) / X.shape[0]
        model = RamModel(an.table, [GroupData(X.shape[0], cov, mean)])
        with np.errstate(all="ignore"):
            th, done, _ = scoring(model, np.tile(theta[r], (B, 1)))
        if not done.any():
            continue
        vals = _target_values(an, th[done], model.take(np.flatnonzero(done)))
        lo, hi = np.quantile(vals, [opts.alpha / 2, 1 - opts.alpha / 2], axis=0)
        for t in targets:
            sig[r, t, kk] = float(lo[t] > 0 or hi[t] < 0)
            cover[r, t, kk] = float(lo[t] <= an.targets[t].truth <= hi[t])


def _bayes_tests(
    design: _Design,
    opts: _Options,
    rngs: list[np.random.Generator],
    raw: list[FloatArray],
    ok: np.ndarray,
    targets: list[int],
    sig: FloatArray,
    cover: FloatArray,
) -> None:
    """Bayesian test: the (1 − alpha) posterior HDI of the target excludes 0.

    Each replicate is sampled with PyMC (2 chains × 500 draws after 500 tuning steps,
    the model compiled once per process), so this test costs seconds per replicate: use
    it for small designs. Replicates whose chains did not converge count as
    non-significant, like non-converged ML fits.
    """
    import pandas as pd

    from pathmodels.bayes.power import interval_excludes_zero

    an = design.analysis
    kk = opts.tests.index("bayes")
    names = list(an.table.roles.observed)
    if any(":" in v for v in names):
        raise SpecificationError(
            "power: the bayes test needs product terms as precomputed columns, not x:w"
        )
    for r, rng in enumerate(rngs):
        seed = int(rng.integers(2**31 - 1))
        if not ok[r]:
            continue
        frame = pd.DataFrame(raw[r], columns=names)
        for t in targets:
            tg = an.targets[t]
            out = interval_excludes_zero(an.spec, frame, tg.name, level=1.0 - opts.alpha, seed=seed)
            sig[r, t, kk] = float(out.excludes_zero and out.converged)
            cover[r, t, kk] = float(out.ci_lower <= tg.truth <= out.ci_upper)


# ============================================================================ results
@dataclass(frozen=True)
class SampleSize:
    """The sample size reaching a target power, from a smooth fit over the N grid.

    Attributes
    ----------
    n : int
        Smallest whole N whose fitted power reaches ``power`` (the estimate rounded up).
    estimate : float
        The N where the fitted curve crosses ``power``.
    ci_lower, ci_upper : float
        A 95% interval for ``estimate`` from the uncertainty of the fitted curve.
    power : float
        The target power.
    target, test : str
    bracket : (int, int)
        The grid N below and at/above the target power (search over the grid).
    method : str
        How the curve was fitted.
    """

    n: int
    estimate: float
    ci_lower: float
    ci_upper: float
    power: float
    target: str
    test: str
    bracket: tuple[int, int]
    method: str

    def __str__(self) -> str:
        return (
            f"N = {self.n} for power {self.power:g} ({self.target}, {self.test}); "
            f"95% CI {self.ci_lower:.0f} to {self.ci_upper:.0f}; grid bracket "
            f"{self.bracket[0]}-{self.bracket[1]}; {self.method}"
        )

    def __int__(self) -> int:
        return self.n


@dataclass(frozen=True)
class PowerResult:
    r"""Monte Carlo power of tests of target effects over a grid of designs.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per design × target × test with columns ``n, target, test, power, mcse,
        reps, n_converged, n_admissible, mean_est, sd_est, mean_se, bias, coverage``
        (design columns ``waves``/``attrition`` follow ``n`` when those vary). ``power``
        counts non-converged replicates as non-significant; ``mcse`` is its Monte Carlo
        SE, ``sqrt(power (1 - power) / reps)``. ``mean_est``, ``sd_est`` (the empirical
        SE) and ``mean_se`` (mean model SE, delta method for ``:=`` targets) use the
        converged replicates; ``bias`` is ``mean_est`` minus the population value;
        ``coverage`` is the share of converged replicates whose interval for the test
        (Wald, Sobel, Monte Carlo or bootstrap percentile) holds the population value
        (NaN for the joint test, which has no interval).
    replicates : pandas.DataFrame
        One row per design × replicate × target: status, reason, estimate, SE, and the
        decision of each test (``sig_<test>``).
    truth : dict
        Population value of each target: the value the estimator converges to (the
        analysis model fitted to the population moments), which equals the number in the
        syntax when the analysis model is the population's.
    options : dict
        Everything that shaped the run (tests, alpha, dist, seed, reps, n_mc, ...).
    elapsed_s : float
        Wall time of the run.
    notes : tuple of str
        Tests skipped for a target, paths used, failures.

    Examples
    --------
    >>> res = power("m ~ a*0.3*x\ny ~ b*0.3*m\nind := a*b", n=[60, 90, 120, 150],
    ...             reps=200, seed=1, tests="joint", progress=False)
    >>> list(res.table["power"].round(3))
    [0.505, 0.705, 0.85, 0.89]
    >>> size = res.n_for(0.8)
    >>> size.n, size.bracket
    (113, (90, 120))
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    truth: Mapping[str, float]
    options: Mapping[str, Any]
    elapsed_s: float
    notes: tuple[str, ...] = ()
    design_columns: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------------ n_for
    def n_for(
        self,
        power: float = 0.8,
        *,
        target: str | None = None,
        test: str | None = None,
        waves: int | None = None,
        attrition: Any = None,
    ) -> SampleSize:
        """The sample size at which a test reaches a target power.

        First a search over the N grid finds the two grid points that bracket the
        target power; then a probit curve ``power = Φ(β0 + β1 √N)`` is fitted by
        binomial maximum likelihood to the grid points near the bracket (weights =
        replicates) and solved for N. The interval comes from the sampling covariance of
        (β0, β1) (4,000 parametric draws, fixed seed).

        Parameters
        ----------
        power : float, default 0.8
        target : str, optional
            Needed when the table has several targets.
        test : str, optional
            Needed when the table has several tests.
        waves, attrition : optional
            Select a design when the table varies them.

        Returns
        -------
        SampleSize

        Raises
        ------
        SpecificationError
            Ambiguous target/test, or a power the grid does not bracket (the message
            says which N to add).
        """
        if not 0 < power < 1:
            raise SpecificationError(f"n_for: power={power} must lie between 0 and 1")
        rows = self._select(target, test, waves, attrition).sort_values("n")
        ns = rows["n"].to_numpy(dtype=float)
        ps = rows["power"].to_numpy(dtype=float)
        reps = rows["reps"].to_numpy(dtype=float)
        tname, tst = str(rows["target"].iloc[0]), str(rows["test"].iloc[0])
        above = np.flatnonzero(ps >= power)
        if not above.size:
            raise SpecificationError(
                f"n_for: power for {tname} ({tst}) stays below {power} on the grid (largest "
                f"{ps.max():.3f} at N = {ns[np.argmax(ps)]:.0f}); add larger N to n="
            )
        hi = int(above[0])
        if hi == 0:
            raise SpecificationError(
                f"n_for: power for {tname} ({tst}) is already {ps[0]:.3f} >= {power} at the "
                f"smallest N = {ns[0]:.0f}; add smaller N to n="
            )
        lo = hi - 1
        keep = np.arange(max(0, lo - 2), min(len(ns), hi + 3))
        beta, cov = _probit_fit(np.sqrt(ns[keep]), ps[keep] * reps[keep], reps[keep])
        target_z = float(special.ndtri(power))
        method = "probit in sqrt(N) over " + ", ".join(f"{n:.0f}" for n in ns[keep])
        if beta is None or beta[1] <= 0:
            frac = (power - ps[lo]) / (ps[hi] - ps[lo])
            est = float(ns[lo] + frac * (ns[hi] - ns[lo]))
            return SampleSize(
                math.ceil(est),
                est,
                float(ns[lo]),
                float(ns[hi]),
                power,
                tname,
                tst,
                (int(ns[lo]), int(ns[hi])),
                "linear interpolation",
            )
        est = ((target_z - beta[0]) / beta[1]) ** 2
        rng = np.random.default_rng(np.random.SeedSequence(12345))
        draws = rng.multivariate_normal(beta, cov, size=4000)
        draws = draws[draws[:, 1] > 0]
        ests = ((target_z - draws[:, 0]) / draws[:, 1]) ** 2
        ci = np.quantile(ests, [0.025, 0.975]) if ests.size else np.array([np.nan, np.nan])
        return SampleSize(
            math.ceil(est - 1e-9),
            float(est),
            float(ci[0]),
            float(ci[1]),
            power,
            tname,
            tst,
            (int(ns[lo]), int(ns[hi])),
            method,
        )

    def _select(
        self, target: str | None, test: str | None, waves: Any, attrition: Any
    ) -> pd.DataFrame:
        rows = self.table
        for col, value, what in (("target", target, "target="), ("test", test, "test=")):
            options = list(dict.fromkeys(rows[col]))
            if value is None:
                if len(options) > 1:
                    raise SpecificationError(
                        f"n_for: the table has several {col}s; pass "
                        f"{what} one of {', '.join(map(str, options))}"
                    )
                continue
            if value not in options:
                raise SpecificationError(
                    f"n_for: no {col} {value!r} in the table; "
                    + close_matches(str(value), map(str, options))
                )
            rows = rows[rows[col] == value]
        for col, value in (("waves", waves), ("attrition", attrition)):
            if col not in rows.columns:
                continue
            options = list(dict.fromkeys(rows[col]))
            if value is None and len(options) > 1:
                raise SpecificationError(
                    f"n_for: the table varies {col}; pass {col}= one of "
                    f"{', '.join(map(str, options))}"
                )
            if value is not None:
                rows = rows[rows[col].astype(str) == str(value)]
        if rows.empty:
            raise SpecificationError("n_for: no rows match the selection")
        return rows

    # ------------------------------------------------------------------ plot
    def plot(
        self,
        *,
        power: float = 0.8,
        target: str | None = None,
        test: str | None = None,
        ax: Any = None,
    ) -> Figure:
        """Power curves with Monte Carlo error bands and the N for the target power.

        Parameters
        ----------
        power : float, default 0.8
            Target power, drawn as a horizontal line; the N reaching it (by
            :meth:`n_for`) is marked on each curve that brackets it.
        target, test : str, optional
            Restrict to one target or test.
        ax : matplotlib Axes, optional
            Draw into these axes.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from matplotlib.figure import Figure

        if ax is None:
            fig = Figure(figsize=(6.4, 4.2))
            ax = fig.subplots()
        else:
            fig = ax.figure
        rows = self.table
        if target is not None:
            rows = rows[rows["target"] == target]
        if test is not None:
            rows = rows[rows["test"] == test]
        keys = ["target", "test", *[c for c in self.design_columns if c in rows.columns]]
        for k_curve, (key, grp) in enumerate(rows.groupby(keys, sort=False)):
            grp = grp.sort_values("n")
            parts = key if isinstance(key, tuple) else (key,)
            label = " / ".join(
                [str(p) for p in parts[:2]]
                + [f"{c}={v}" for c, v in zip(keys[2:], parts[2:], strict=True)]
            )
            line = ax.plot(grp["n"], grp["power"], marker="o", ms=3, label=label)[0]
            band = 1.96 * grp["mcse"]
            ax.fill_between(
                grp["n"],
                grp["power"] - band,
                grp["power"] + band,
                color=line.get_color(),
                alpha=0.15,
                lw=0,
            )
            extra = dict(zip(keys[2:], key[2:], strict=True)) if isinstance(key, tuple) else {}
            try:
                size = self.n_for(
                    power, target=str(grp["target"].iloc[0]), test=str(grp["test"].iloc[0]), **extra
                )
            except PathModelsError:
                continue
            ax.axvline(size.estimate, color=line.get_color(), ls=":", lw=1)
            ax.annotate(
                f"N≈{size.n}",
                (size.estimate, power),
                textcoords="offset points",
                xytext=(3, -12 - 10 * k_curve),
                fontsize=8,
                color=line.get_color(),
            )
        ax.axhline(power, color="grey", ls="--", lw=1)
        ax.set_xlabel("N")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8, frameon=False)
        ax.set_title(
            f"Monte Carlo power ({self.options.get('reps')} replicates per N, "
            f"alpha = {self.options.get('alpha')})",
            fontsize=10,
        )
        return fig

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """The power table as text, with the run's options."""
        t = self.table.copy()
        for col in ("power", "mcse", "coverage"):
            t[col] = t[col].map(lambda x: f"{x:.3f}")
        for col in ("mean_est", "sd_est", "mean_se", "bias"):
            t[col] = t[col].map(lambda x: f"{x:.4f}")
        head = (
            f"Monte Carlo power: {self.options.get('reps')} replicates per design, "
            f"alpha = {self.options.get('alpha')}, dist = {self.options.get('dist')}, "
            f"seed = {self.options.get('seed')}, {self.elapsed_s:.1f} s"
        )
        lines = [head, t.to_string(index=False)]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """``{"table": [rows], "elapsed_s": float, ...}`` (JSON-ready)."""
        records = [
            {k: _json_value(v) for k, v in row.items()}
            for row in self.table.to_dict(orient="records")
        ]
        return {
            "table": records,
            "elapsed_s": float(self.elapsed_s),
            "truth": {k: float(v) for k, v in self.truth.items()},
            "options": {
                k: v
                for k, v in self.options.items()
                if isinstance(v, str | int | float | bool | list | type(None))
            },
            "notes": list(self.notes),
        }


def _json_value(value: Any) -> Any:
    """Plain Python value for JSON: NaN becomes None, numpy scalars become Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _probit_fit(
    x: FloatArray, successes: FloatArray, trials: FloatArray
) -> tuple[FloatArray | None, FloatArray]:
    """Binomial ML fit of P = Φ(b0 + b1 x) by Newton-Raphson (Fisher scoring)."""
    if len(x) < 2:
        return None, np.zeros((2, 2))
    X = np.column_stack([np.ones_like(x), x])
    p_obs = np.clip(successes / trials, 0.5 / trials, 1 - 0.5 / trials)
    beta = np.linalg.lstsq(X, special.ndtri(p_obs), rcond=None)[0]
    info = np.eye(2)
    for _ in range(100):
        eta = X @ beta
        mu = np.clip(special.ndtr(eta), 1e-12, 1 - 1e-12)
        dens = stats.norm.pdf(eta)
        w = trials * dens**2 / (mu * (1 - mu))
        score = X.T @ (trials * dens * (successes / trials - mu) / (mu * (1 - mu)))
        info = X.T @ (w[:, None] * X)
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            return None, np.zeros((2, 2))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    try:
        return beta, np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return None, np.zeros((2, 2))


# ============================================================================ execution
_WORKER: dict[str, Any] = {}


def _worker_init(designs: list[_Design], opts: _Options) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    _WORKER["designs"] = {d.index: d for d in designs}
    _WORKER["opts"] = opts


def _worker_task(design_index: int, reps: list[int]) -> tuple[int, list[Record]]:
    return design_index, _run_chunk(_WORKER["designs"][design_index], _WORKER["opts"], reps)


def _dask_task(
    designs: dict[int, _Design], opts: _Options, design_index: int, reps: list[int]
) -> tuple[int, list[Record]]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return design_index, _run_chunk(designs[design_index], opts, reps)


def _execute(
    tasks: list[tuple[int, list[int]]],
    designs: list[_Design],
    opts: _Options,
    n_jobs: int,
    cluster: Any,
    sink: Callable[[int, list[Record]], None],
) -> None:
    by_index = {d.index: d for d in designs}
    if cluster is not None:
        _execute_dask(tasks, by_index, opts, cluster, sink)
        return
    if n_jobs == 1 or len(tasks) <= 1:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            _execute_here(tasks, by_index, opts, sink)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("spawn")
    with (
        _spawnable_main(),
        ProcessPoolExecutor(
            max_workers=n_jobs, mp_context=ctx, initializer=_worker_init, initargs=(designs, opts)
        ) as pool,
    ):
        pending: set[Any] = set()
        queue = list(tasks)
        while queue or pending:
            while queue and len(pending) < 2 * n_jobs:
                d, reps = queue.pop(0)
                pending.add(pool.submit(_worker_task, d, reps))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                d, records = fut.result()
                sink(d, records)


@contextlib.contextmanager
def _spawnable_main() -> Iterator[None]:
    """Hide a ``__main__.__file__`` that is not a file (``python - < script``).

    Spawned workers re-import the main script from its path; when the main program came
    from stdin there is no such file and every worker would die at start-up.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or os.path.exists(path):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _execute_here(
    tasks: list[tuple[int, list[int]]],
    by_index: dict[int, _Design],
    opts: _Options,
    sink: Callable[[int, list[Record]], None],
) -> None:
    for d, reps in tasks:
        if by_index[d].path == "fiml":
            for r in reps:  # commit every replicate as it finishes
                sink(d, _run_chunk(by_index[d], opts, [r]))
        else:
            sink(d, _run_chunk(by_index[d], opts, reps))


def _execute_dask(
    tasks: list[tuple[int, list[int]]],
    designs: dict[int, _Design],
    opts: _Options,
    cluster: Any,
    sink: Callable[[int, list[Record]], None],
) -> None:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from pathmodels.exceptions import BackendUnavailableError

        raise BackendUnavailableError(
            "cluster= needs dask.distributed; install the extra: pip install 'pathmodels[dask]'"
        ) from exc
    own = isinstance(cluster, str)
    client = Client(cluster) if own else cluster
    try:
        shared = client.scatter(designs, broadcast=True)
        futures = [
            client.submit(_dask_task, shared, opts, d, reps, pure=False) for d, reps in tasks
        ]
        for fut in as_completed(futures):
            d, records = fut.result()
            sink(d, records)
    finally:
        if own:
            client.close()


class _Progress:
    def __init__(self, enabled: bool, total: int, done: int) -> None:
        self.enabled = enabled and total > 0
        self.bar: Any = None
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                speed = task.finished_speed or task.speed
                return Text("" if speed is None else f"{speed:,.0f} rep/s")

        self.bar = Progress(
            TextColumn("power"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.bar.start()
        self.task = self.bar.add_task("power", total=total, completed=done)

    def advance(self, k: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, k)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# ============================================================================ power()
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return [None]
    if isinstance(value, list | tuple) and not isinstance(value, Attrition):
        return list(value)
    return [value]


def power(
    population: Any,
    model: Any = None,
    *,
    n: int | Sequence[int],
    reps: int = 1000,
    targets: str | Sequence[str] | None = None,
    tests: str | Sequence[str] | None = None,
    alpha: float = 0.05,
    seed: int | None = None,
    n_jobs: int = 1,
    store: str | Path | None = None,
    progress: bool = True,
    dist: str = "z",
    cluster: Any = None,
    waves: int | Sequence[int] | None = None,
    attrition: Any = None,
    missing: str = "fiml",
    arms: Any = None,
    binary: Any = None,
    standardized: bool = False,
    sites: Any = None,
    reliability: Mapping[str, float] | None = None,
    n_mc: int = 1000,
    n_boot: int = 1000,
) -> PowerResult:
    r"""Monte Carlo power of tests of indirect effects and paths.

    Parameters
    ----------
    population : Spec, str, Path or callable
        The data-generating model, as for :func:`pathmodels.simulate`: syntax with
        numbers, a Spec, a library name, a file, or a function ``waves -> syntax``.
    model : Spec, str, Path or callable, optional
        The analysis model. Default: a library model's own syntax, otherwise the
        population with its numbers freed (labelled parameters are all freed, even
        zeros; unlabelled zeros stay fixed — label a zero path, ``cp*0*x``, to estimate
        it).
    n : int or sequence of int
        Sample sizes.
    reps : int, default 1000
        Replicates per design point.
    targets : str or sequence of str, optional
        Labels, ``:=`` parameters or paths (``"y~x"``); default every ``:=`` parameter,
        or every labelled parameter when there are none.
    tests : str or sequence of str, optional
        ``"joint"``: every path of a product of labels significant (Kenny's joint
        significance test); ``"sobel"``: Wald test with the delta-method SE (Sobel's for
        a product); ``"mc"``: Monte Carlo percentile interval (Preacher & Selig, 2012);
        ``"bootstrap"``: percentile bootstrap (``n_boot`` refits per replicate: about
        ``n_boot`` times slower, so not a default); ``"wald"``: z (or t) test of a single
        parameter; ``"bayes"``: the 1 − alpha posterior HDI of a PyMC fit excludes 0
        (seconds per replicate — for small designs; needs complete data). Each applies
        where it makes sense: ``wald`` to parameters, ``joint`` and ``sobel`` to ``:=``
        targets, ``mc``, ``bootstrap`` and ``bayes`` to both. Default
        ``("joint", "mc", "sobel", "wald")``, each where it applies; a test asked for
        explicitly that applies to no target is reported in ``notes``.
    alpha : float, default 0.05
        Two-sided significance level.
    seed : int, optional
        Root of every random stream; ``None`` draws fresh entropy (recorded in
        ``options["seed"]``). Needed with ``store=``.
    n_jobs : int, default 1
        Local worker processes (BLAS pinned to one thread each).
    store : str or Path, optional
        SQLite file keeping every finished replicate; a run started again with the same
        arguments resumes where it stopped.
    progress : bool, default True
        A progress bar on stderr with replicates/s and time remaining.
    dist : {"z", "t"}
        Reference distribution of ``wald`` and ``joint`` tests. ``"t"``: regression
        coefficients are tested as OLS does, SE rescaled to the df-corrected residual
        variance and t with df = N - predictors - 1 (classic power tables, e.g. Fritz &
        MacKinnon, 2007, were made this way); other parameters keep z.
    cluster : str or dask.distributed.Client, optional
        Run replicates on a Dask cluster (address or client) instead of local processes.
    waves : int or sequence of int, optional
        Number(s) of waves for a callable population (and model); a sequence adds a
        ``waves`` design column.
    attrition : Attrition, float or sequence of those, optional
        Dropout per follow-up wave; a sequence adds an ``attrition`` design column.
        Incomplete data are analysed by FIML (one fit per replicate).
    missing : {"fiml", "listwise"}
        Analysis of incomplete data.
    arms, binary, standardized, sites, reliability
        Design options passed to :func:`pathmodels.simulate`.
    n_mc : int, default 1000
        Monte Carlo draws per replicate for the ``mc`` test.
    n_boot : int, default 1000
        Bootstrap resamples per replicate for the ``bootstrap`` test.

    Returns
    -------
    PowerResult

    Raises
    ------
    SpecificationError
        Impossible populations, analysis models that cannot describe the population or
        are not identified, unknown targets or tests — all before any replicate runs.
    DataError
        Sample sizes too small for the analysis model, or attrition expected to leave
        fewer participants than free parameters.

    See Also
    --------
    pathmodels.simulate : one simulated data set from the same population.

    Notes
    -----
    The truth behind ``bias`` and ``coverage`` is the value the ML estimator converges to
    under the population (the analysis model fitted to the population moments). It
    equals the population number when the analysis model is the population's, and it is
    on the analysis scale when it is not (e.g. a linear-probability path to a binary
    mediator). Sites are simulated with their intraclass correlation but analysed as
    independent rows, as a single-level SEM would be.

    Examples
    --------
    >>> res = power("m ~ a*0.39*x\ny ~ b*0.39*m + cp*0*x\nind := a*b", n=[50, 100],
    ...             reps=200, seed=1, progress=False)
    >>> print(res.table[["n", "test", "power", "mcse"]].round(3).to_string(index=False))
      n  test  power  mcse
     50 joint  0.665 0.033
     50    mc  0.650 0.034
     50 sobel  0.445 0.035
    100 joint  0.960 0.014
    100    mc  0.955 0.015
    100 sobel  0.895 0.022
    >>> res.n_for(0.8, test="joint").n
    64
    """
    t0 = time.perf_counter()
    explicit = tests is not None
    tests_t = (
        DEFAULT_TESTS if tests is None else (tests,) if isinstance(tests, str) else tuple(tests)
    )
    for t in tests_t:
        if t not in TESTS:
            raise SpecificationError(f"power: unknown test {t!r}; " + close_matches(t, TESTS))
    if not tests_t:
        raise SpecificationError("power: give at least one test, e.g. tests=('joint', 'mc')")
    if dist not in ("z", "t"):
        raise SpecificationError(f"power: dist={dist!r} is not an option; use 'z' or 't'")
    if missing not in ("fiml", "listwise"):
        raise SpecificationError(
            f"power: missing={missing!r} is not an option; use 'fiml' or 'listwise'"
        )
    if not 0 < alpha < 1:
        raise SpecificationError(f"power: alpha={alpha} must lie between 0 and 1")
    if int(reps) != reps or reps < 1:
        raise SpecificationError(f"power: reps={reps!r} must be a positive integer")
    ns = [n] if isinstance(n, int | np.integer) else list(n)
    if not ns or any(isinstance(x, bool) or int(x) != x or x < 2 for x in ns):
        raise DataError(f"power: n={n!r} must be sample sizes of at least 2, e.g. n=[50, 100]")
    ns = [int(x) for x in ns]
    if int(n_jobs) != n_jobs or n_jobs < 1:
        raise SpecificationError(f"power: n_jobs={n_jobs!r} must be a positive integer")
    if store is not None and seed is None:
        raise SpecificationError(
            "power: store= needs seed= so that a restarted run draws the same replicates"
        )
    if n_mc < 100 or n_boot < 100:
        raise SpecificationError("power: n_mc and n_boot must be at least 100")
    entropy = int(seed) if seed is not None else int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    target_list = (
        None if targets is None else ([targets] if isinstance(targets, str) else list(targets))
    )
    opts = _Options(entropy, tests_t, float(alpha), dist, int(n_mc), int(n_boot))

    wave_grid = _as_list(waves)
    att_grid = [
        a if a is None or isinstance(a, Attrition) else Attrition(float(a))
        for a in _as_list(attrition)
    ]
    design_cols = ([("waves")] if isinstance(waves, list | tuple) else []) + (
        ["attrition"] if isinstance(attrition, list | tuple) else []
    )
    designs: list[_Design] = []
    notes: list[str] = []
    truth: dict[str, float] = {}
    d = 0
    for w in wave_grid:
        src = resolve_population(population, w)
        base = compile_population(
            src,
            arms=arms,
            binary=binary,
            standardized=standardized,
            sites=sites,
            reliability=reliability,
        )
        mspec = _analysis_spec(model, src, w)
        analyses: dict[str, _Analysis] = {}
        for att in att_grid:
            pop = base.with_attrition(att)
            if att is None or all(r == 0 for r in att.rates(max(len(pop.wave_columns()) - 1, 1))):
                path_kind = (
                    "moments"
                    if (
                        pop.is_normal
                        and len(pop.arms) <= 1
                        and "bootstrap" not in tests_t
                        and "bayes" not in tests_t
                    )
                    else "raw"
                )
                fit_kind, meanstructure = "complete", False
            else:
                path_kind = "fiml" if missing == "fiml" else "raw"
                fit_kind, meanstructure = path_kind, missing == "fiml"
                if path_kind == "fiml" and ("bootstrap" in tests_t or "bayes" in tests_t):
                    raise SpecificationError(
                        "power: the bootstrap and bayes tests are not available with "
                        "attrition and missing='fiml'; use tests=('joint', 'mc') or "
                        "missing='listwise'"
                    )
            if fit_kind not in analyses:
                analyses[fit_kind] = _prepare_analysis(
                    mspec, base, meanstructure=meanstructure, targets=target_list, tests=tests_t
                )
            an = analyses[fit_kind]
            for tg in an.targets:
                truth.setdefault(tg.name, tg.truth)
                skipped = [t for t in tests_t if t not in tg.tests]
                msg = (
                    f"{tg.name}: test(s) {', '.join(skipped)} do not apply to a "
                    f"{'parameter' if tg.kind == 'parameter' else ':= parameter'}"
                    + (
                        " that is not a product of labels"
                        if "joint" in skipped and tg.kind == "defined"
                        else ""
                    )
                )
                if skipped and explicit and msg not in notes:
                    notes.append(msg)
            for size in ns:
                npar = an.table.npar
                if size <= npar:
                    raise DataError(
                        f"power: N = {size} is not larger than the {npar} free "
                        "parameters of the analysis model; use larger n="
                    )
                if att is not None and expected_retained(pop, size) < npar:
                    raise DataError(
                        f"power: with attrition {att}, N = {size} is expected to keep "
                        f"{expected_retained(pop, size):.0f} participants to the last wave, "
                        f"fewer than the {npar} free parameters; use larger n= or less attrition"
                    )
                sampler = (
                    MomentSampler.from_population(
                        pop, [c[0] for c in an.columns], size, means=an.table.options.meanstructure
                    )
                    if path_kind == "moments"
                    else None
                )
                key = _fingerprint(
                    _STORE_VERSION,
                    _population_fingerprint(pop),
                    an.spec.to_syntax(),
                    an.spec.auto,
                    an.table.options.meanstructure,
                    path_kind,
                    missing,
                    size,
                    d,
                    [t.name for t in an.targets],
                    dataclasses.asdict(opts),
                )
                designs.append(_Design(d, size, w, att, pop, an, path_kind, missing, key, sampler))
                d += 1
    if not any(t.tests for dd in designs for t in dd.analysis.targets):
        raise SpecificationError(
            "power: none of the tests applies to the targets; use 'wald' "
            "or 'mc' for parameters and 'joint'/'sobel'/'mc' for := effects"
        )

    results: dict[int, dict[int, Record]] = {dd.index: {} for dd in designs}
    db = ReplicateStore(store) if store is not None else None
    try:
        if db is not None:
            for dd in designs:
                db.describe(
                    dd.key,
                    {
                        "n": dd.n,
                        "design": dd.index,
                        "waves": dd.waves,
                        "attrition": str(dd.attrition),
                        "path": dd.path,
                        "model": dd.analysis.spec.to_syntax(),
                        "seed": entropy,
                    },
                )
                results[dd.index].update(db.get(dd.key, reps))
        tasks = []
        for dd in designs:
            chunk = _CHUNK[dd.path]
            for start in range(0, reps, chunk):
                block = list(range(start, min(start + chunk, reps)))
                if any(r not in results[dd.index] for r in block):
                    tasks.append((dd.index, block))
        done_count = sum(len(v) for v in results.values())
        bar = _Progress(progress, len(designs) * reps, done_count)
        keys = {dd.index: dd.key for dd in designs}

        def sink(d_index: int, records: list[Record]) -> None:
            fresh = [r for r in records if r.rep not in results[d_index]]
            if db is not None:
                db.put(keys[d_index], fresh)
            for r in fresh:
                results[d_index][r.rep] = r
            bar.advance(len(fresh))

        try:
            _execute(tasks, designs, opts, int(n_jobs), cluster, sink)
        finally:
            bar.close()
    finally:
        if db is not None:
            db.close()

    table, replicates = _aggregate(designs, results, opts, reps, design_cols)
    failed = replicates.drop_duplicates(["design", "rep"])
    failed = failed[failed["status"] != "ok"]
    if len(failed):
        top = failed["reason"].value_counts().head(3)
        notes.append(
            f"{len(failed)} replicate(s) did not give a usable fit (counted as "
            "non-significant): " + "; ".join(f"{k} ({v})" for k, v in top.items())
        )
    paths = sorted({dd.path for dd in designs})
    notes.append("fitting path: " + ", ".join(paths))
    options = {
        "reps": int(reps),
        "alpha": float(alpha),
        "dist": dist,
        "tests": list(tests_t),
        "seed": entropy,
        "n": ns,
        "n_mc": int(n_mc),
        "n_boot": int(n_boot),
        "n_jobs": int(n_jobs),
        "missing": missing,
        "paths": paths,
        "store": None if store is None else str(store),
    }
    return PowerResult(
        table,
        replicates,
        truth,
        options,
        time.perf_counter() - t0,
        tuple(notes),
        tuple(design_cols),
    )


def _analysis_spec(model: Any, src: Any, waves: int | None) -> Spec:
    if model is None:
        if src.model is not None:
            return src.model  # type: ignore[no-any-return]
        spec = src.spec
        return spec.free(labels=spec.labels).free() if spec.labels else spec.free()
    if callable(model) and not isinstance(model, Spec | str | Path):
        if waves is None:
            raise SpecificationError(
                "power: model is a function of the number of waves; pass waves="
            )
        return _analysis_spec(model(int(waves)), src, waves)
    return as_spec(model)


def _aggregate(
    designs: list[_Design],
    results: dict[int, dict[int, Record]],
    opts: _Options,
    reps: int,
    design_cols: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    rep_rows: list[dict[str, Any]] = []
    for dd in designs:
        recs = [results[dd.index][r] for r in range(reps)]
        an = dd.analysis
        ok = np.array([r.status == "ok" for r in recs])
        adm = np.array([bool(r.payload["adm"]) for r in recs])
        est = np.array([r.payload["est"] for r in recs], dtype=float).reshape(reps, -1)
        se = np.array([r.payload["se"] for r in recs], dtype=float).reshape(reps, -1)
        sig = np.array([r.payload["sig"] for r in recs], dtype=float).reshape(
            reps, len(an.targets), len(opts.tests)
        )
        cov = np.array([r.payload["cov"] for r in recs], dtype=float).reshape(sig.shape)
        extra: dict[str, Any] = {}
        if "waves" in design_cols:
            extra["waves"] = dd.waves
        if "attrition" in design_cols:
            extra["attrition"] = (
                0.0
                if dd.attrition is None
                else dd.attrition.rate
                if isinstance(dd.attrition.rate, float) and dd.attrition.mechanism == "mcar"
                else str(dd.attrition)
            )
        for t, tg in enumerate(an.targets):
            e = est[ok, t]
            s = se[ok, t]
            for k, test in enumerate(opts.tests):
                if test not in tg.tests:
                    continue
                p = float(np.sum(sig[:, t, k] == 1.0)) / reps
                rows.append(
                    {
                        "n": dd.n,
                        **extra,
                        "target": tg.name,
                        "test": test,
                        "power": p,
                        "mcse": math.sqrt(p * (1 - p) / reps),
                        "reps": reps,
                        "n_converged": int(ok.sum()),
                        "n_admissible": int(adm.sum()),
                        "mean_est": float(np.mean(e)) if e.size else float("nan"),
                        "sd_est": float(np.std(e, ddof=1)) if e.size > 1 else float("nan"),
                        "mean_se": float(np.mean(s)) if s.size else float("nan"),
                        "bias": float(np.mean(e) - tg.truth) if e.size else float("nan"),
                        "coverage": float(np.nanmean(cov[ok, t, k]))
                        if test != "joint" and ok.any()
                        else float("nan"),
                    }
                )
        for i, r in enumerate(recs):
            for t, tg in enumerate(an.targets):
                row = {
                    "design": dd.index,
                    "n": dd.n,
                    **extra,
                    "rep": r.rep,
                    "status": r.status,
                    "reason": r.reason,
                    "admissible": bool(adm[i]),
                    "target": tg.name,
                    "est": est[i, t],
                    "se": se[i, t],
                }
                for k, test in enumerate(opts.tests):
                    row[f"sig_{test}"] = sig[i, t, k]
                rep_rows.append(row)
    cols = ["n", *design_cols, *TABLE_COLUMNS[1:]]
    table = pd.DataFrame(rows, columns=cols)
    return table, pd.DataFrame(rep_rows)
