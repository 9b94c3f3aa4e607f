"""The ML backend: from a parameter table and data to a :class:`~pathmodels.results.Result`.

Steps (lavaan's ``lav_lavaan_step*`` in small functions): sample statistics → start values →
Fisher scoring (or SLSQP with constraints) → expected-information covariance → parameter
table with SEs, CIs and ``std.all`` → ``:=`` parameters and effects by the delta method →
fit measures → admissibility checks → optional bootstrap / Monte Carlo draws.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from pathmodels._typing import FloatArray
from pathmodels.exceptions import (
    BoundaryWarning,
    ConvergenceWarning,
    DataError,
    InadmissibleSolutionWarning,
    SpecificationError,
)
from pathmodels.ml.data import PreparedData
from pathmodels.ml.estimate import (
    Estimate,
    constraint_functions,
    constraint_jacobian,
    fit_ram,
    scoring,
)
from pathmodels.ml.ram import GroupData, RamModel
from pathmodels.results import EFFECT_COLUMNS, ESTIMATE_COLUMNS, BootstrapDraws
from pathmodels.spec.table import ParameterTable

__all__ = ["Derived", "MLFit", "fit_ml"]


@dataclass(frozen=True)
class EffectKey:
    """Identity of one effect row."""

    group: int
    cause: str
    outcome: str
    effect: str
    path: str


@dataclass(frozen=True)
class Derived:
    """Quantities derived from theta, batched over replicates."""

    rows: FloatArray  # (R, n_rows)
    defined: FloatArray  # (R, n_def)
    effects: FloatArray  # (R, n_eff)
    effects_std: FloatArray  # (R, n_eff)


class MLFit:
    """Everything computed for one ML fit; :func:`fit_ml` turns it into a Result."""

    def __init__(
        self,
        table: ParameterTable,
        data: PreparedData,
        pairs: list[tuple[str, str]] | None,
        *,
        fiml: bool = False,
    ) -> None:
        self.table = table
        self.data = data
        self.fiml = fiml
        if fiml:
            from pathmodels.ml.fiml import FimlModel, missing_patterns

            self.patterns = [missing_patterns(X) for X in data.arrays]
            self.model: RamModel = FimlModel(table, list(data.moments), self.patterns)
        else:
            self.model = RamModel(table, list(data.moments))
        self.n = data.n
        self.labels = _label_rows(table)
        self.effect_keys = self._effect_keys(pairs)

    # ------------------------------------------------------------------ effects
    def _effect_keys(self, pairs: list[tuple[str, str]] | None) -> list[EffectKey]:
        from pathmodels.effects import decompose, default_pairs, is_recursive

        model = self.model
        structure = model.structure()
        names = list(model.names)
        exo = [names[j] for j in range(model.v) if not structure[j].any()]
        if pairs is None:
            pairs = default_pairs(structure, names, exo)
            # Effects on the indicators of latent variables are measurement, not structure:
            # leave them out of the default decomposition (ask for them with effects=).
            indicators = {
                self.table.rhs[i] for i in range(self.table.n_rows) if self.table.op[i] == "=~"
            }
            pairs = [(c, o) for c, o in pairs if o not in indicators]
        else:
            for cause, outcome in pairs:
                for nm in (cause, outcome):
                    if nm not in names:
                        from pathmodels.exceptions import close_matches

                        raise SpecificationError(
                            f"effects: {nm!r} is not a model variable; " + close_matches(nm, names)
                        )
        self.pairs = list(pairs)
        self.structure = structure
        self.recursive = is_recursive(structure)
        keys: list[EffectKey] = []
        if not self.pairs:
            return keys
        zero = np.zeros((1, model.v, model.v))
        zero[0][structure] = 1.0
        rows = (
            decompose(zero, structure, names, self.pairs)
            if self.recursive
            else _nonrecursive_rows(zero, names, self.pairs)
        )
        for g in range(1, self.table.ngroups + 1):
            for r in rows:
                keys.append(EffectKey(g, r.cause, r.outcome, r.effect, r.path))
        self.effect_rows_template = rows
        return keys

    def derived(self, theta: FloatArray, *, effects: bool = True) -> Derived:
        """Row values, ``:=`` values and effects for a batch of parameter vectors."""
        from pathmodels.effects import decompose

        th = np.atleast_2d(theta)
        R = th.shape[0]
        rows = np.atleast_2d(self.model.row_values(th))
        values: dict[str, Any] = {lab: rows[:, i] for lab, i in self.labels.items()}
        defined = np.zeros((R, len(self.table.definitions)))
        for j, (name, expr) in enumerate(self.table.definitions):
            val = np.broadcast_to(np.asarray(expr.evaluate(values), dtype=float), (R,))
            defined[:, j] = val
            values[name] = defined[:, j]
        n_eff = len(self.effect_keys)
        eff = np.zeros((R, n_eff))
        eff_std = np.zeros((R, n_eff))
        if effects and n_eff:
            per_group = n_eff // self.table.ngroups
            names = list(self.model.names)
            for g in range(self.table.ngroups):
                A, _, _ = self.model.matrices(th, g)
                _, cov, _ = self.model.full_moments(th, g)
                sd = np.sqrt(np.clip(np.einsum("rii->ri", cov), 0.0, None))
                out = (
                    decompose(A, self.structure, names, self.pairs, sd=sd)
                    if self.recursive
                    else _nonrecursive_rows(A, names, self.pairs, sd=sd)
                )
                for k, r in enumerate(out):
                    eff[:, g * per_group + k] = np.broadcast_to(r.value, (R,))
                    eff_std[:, g * per_group + k] = np.broadcast_to(
                        r.std_all if r.std_all is not None else np.nan, (R,)
                    )
        return Derived(rows, defined, eff, eff_std)


def _nonrecursive_rows(
    B: FloatArray, names: list[str], pairs: list[tuple[str, str]], sd: FloatArray | None = None
) -> list[Any]:
    """Direct, total indirect and total effects where specific paths are infinite."""
    from pathmodels.effects import EffectRow, total_effects

    tot = total_effects(B)
    out = []
    for cause, outcome in pairs:
        c, o = names.index(cause), names.index(outcome)
        scale = None if sd is None else sd[..., c] / sd[..., o]
        for kind, val in (
            ("direct", B[..., o, c]),
            ("total_indirect", tot[..., o, c] - B[..., o, c]),
            ("total", tot[..., o, c]),
        ):
            out.append(
                EffectRow(
                    cause=cause,
                    outcome=outcome,
                    effect=kind,  # type: ignore[arg-type]
                    path=f"{cause} -> {outcome}" if kind == "direct" else "",
                    value=val,
                    std_all=None if scale is None else val * scale,
                )
            )
    return out


def _label_rows(table: ParameterTable) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, lab in enumerate(table.label):
        if lab and not lab.startswith(".ge."):
            out.setdefault(lab, i)
    return out


# ---------------------------------------------------------------------- covariance
def _vcov(fit: MLFit, est: Estimate) -> FloatArray:
    model = fit.model
    if model.npar == 0:
        return np.zeros((0, 0))
    if fit.fiml:
        # lavaan uses the observed information with missing = "ml".
        info = model.observed_information(est.theta) * fit.n  # type: ignore[attr-defined]
    else:
        info = model.expected_information(est.theta) * fit.n
    k = info.shape[0]
    if est.active_constraints:
        funcs = constraint_functions(
            list(fit.table.constraints), _label_index(fit.table), fit.table.definitions
        )
        J = constraint_jacobian(funcs, est.theta, est.active_constraints)
        # Null-space of the active constraints: V = Z (Zᵀ I Z)⁻¹ Zᵀ.
        _, s, vt = np.linalg.svd(J)
        rank = int((s > 1e-8 * max(1.0, s.max(initial=0.0))).sum())
        Z = vt[rank:].T
        inner = Z.T @ info @ Z
        _check_identified(inner, fit, Z)
        return Z @ np.linalg.inv(inner) @ Z.T
    _check_identified(info, fit, np.eye(k))
    return np.linalg.inv(info)


def _check_identified(info: FloatArray, fit: MLFit, basis: FloatArray) -> None:
    """Raise when the information matrix is singular (the model is not identified).

    The test runs on the information scaled to unit diagonal, so that variables measured
    in large units (incomes, years) do not look unidentified.
    """
    if info.size == 0:
        return
    d = np.sqrt(np.clip(np.diag(info), 0.0, None))
    zero = d <= 1e-300
    scale = np.where(zero, 1.0, 1.0 / np.where(zero, 1.0, d))
    scaled = info * np.outer(scale, scale)
    scaled[zero, :] = 0.0
    scaled[:, zero] = 0.0
    eigval, eigvec = np.linalg.eigh(scaled)
    tol = 1e-10 * max(eigval[-1], 1.0)
    if eigval[0] > tol and not zero.any():
        return
    # Involvement of each parameter in the whole null space (a basis-free measure, so the
    # message is the same on every run even when several directions are unidentified).
    null = eigvec[:, eigval <= tol]
    weights = (
        np.sqrt(np.sum((basis @ (scale[:, None] * null)) ** 2, axis=1))
        if null.size
        else np.zeros(basis.shape[0])
    )
    weights = np.maximum(weights, np.abs(basis @ zero.astype(float)))
    _raise_unidentified(fit.table, weights)


def _raise_unidentified(table: ParameterTable, direction: FloatArray) -> None:
    names = _free_names(table)
    big = np.abs(direction) / max(float(np.max(np.abs(direction))), 1e-300)
    involved = [names[j] for j in np.argsort(-big) if big[j] > 0.1][:6]
    raise SpecificationError(
        "the model is not identified: the information matrix is singular, so these "
        f"parameters cannot all be estimated: {', '.join(involved)}. Fix one of them (e.g. a "
        "loading to 1 or a path to 0), add an equality constraint, or drop a path"
    )


def _free_names(table: ParameterTable) -> list[str]:
    names = [""] * table.npar
    for i in range(table.n_rows):
        k = table.free[i] - 1
        if k >= 0 and not names[k]:
            g = f" (group {table.group[i]})" if table.ngroups > 1 else ""
            names[k] = f"{table.lhs[i]} {table.op[i]} {table.rhs[i]}".strip() + g
    return names


def _label_index(table: ParameterTable) -> dict[str, int]:
    return {lab: k - 1 for lab, k in table.labels_to_free().items()}


def _jacobian(fit: MLFit, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Numeric Jacobians of defined values, effects and std effects w.r.t. theta."""
    k = theta.size
    h = 1e-6 * np.maximum(1.0, np.abs(theta))
    plus = theta + np.diag(h)
    minus = theta - np.diag(h)
    # Non-finite := values (1/0) are warned about by the caller; keep numpy quiet here.
    with np.errstate(all="ignore"):
        d = fit.derived(np.vstack([plus, minus]))
        jd = ((d.defined[:k] - d.defined[k:]) / (2 * h[:, None])).T
        je = ((d.effects[:k] - d.effects[k:]) / (2 * h[:, None])).T
    return jd, je, np.zeros_like(je)


# ---------------------------------------------------------------------- std.all
def _std_all(fit: MLFit, theta: FloatArray) -> FloatArray:
    table, model = fit.table, fit.model
    out = np.full(table.n_rows, np.nan)
    rows = model.row_values(theta)
    for g in range(table.ngroups):
        _, cov, _ = model.full_moments(theta, g)
        _, S, _ = model.matrices(theta, g)
        var = np.einsum("rii->ri", cov)[0]
        resvar = np.einsum("rii->ri", S)[0]
        sd = np.sqrt(np.clip(var, 0.0, None))
        pos = model.pos
        for i in np.flatnonzero(table.group == g + 1):
            op, lhs, rhs, val = table.op[i], table.lhs[i], table.rhs[i], rows[i]
            with np.errstate(divide="ignore", invalid="ignore"):
                if op == "=~":
                    out[i] = val * sd[pos[lhs]] / sd[pos[rhs]]
                elif op == "~":
                    out[i] = val * sd[pos[rhs]] / sd[pos[lhs]]
                elif op == "~~":
                    if lhs == rhs:
                        out[i] = val / var[pos[lhs]]
                    else:
                        out[i] = val / np.sqrt(resvar[pos[lhs]] * resvar[pos[rhs]])
                elif op == "~1":
                    out[i] = val / sd[pos[lhs]]
    return out


# ---------------------------------------------------------------------- admissibility
def _admissibility(
    fit: MLFit, theta: FloatArray, std: FloatArray
) -> list[tuple[type[Warning], str]]:
    table, model = fit.table, fit.model
    found: list[tuple[type[Warning], str]] = []
    rows = model.row_values(theta)
    lv = set(model.latent)
    for i in range(table.n_rows):
        if table.op[i] == "~~" and table.lhs[i] == table.rhs[i] and rows[i] < -1e-8:
            kind = "latent variance" if table.lhs[i] in lv else "residual variance"
            where = f" in group {table.group[i]}" if table.ngroups > 1 else ""
            found.append(
                (
                    InadmissibleSolutionWarning,
                    f"negative {kind} {table.lhs[i]} ~~ {table.lhs[i]} = {rows[i]:.4g}{where} "
                    "(a Heywood case): inspect the model for misspecification, a "
                    "too-small sample or an over-extracted factor",
                )
            )
        if (
            table.op[i] == "~~"
            and table.lhs[i] != table.rhs[i]
            and np.isfinite(std[i])
            and abs(std[i]) > 1.0
        ):
            found.append(
                (
                    InadmissibleSolutionWarning,
                    f"{table.lhs[i]} ~~ {table.rhs[i]} implies a correlation of "
                    f"{std[i]:.3f}, outside [-1, 1]",
                )
            )
    for g in range(table.ngroups):
        _, S, _ = model.matrices(theta, g)
        S = S[0]
        gl = f" in group {g + 1}" if table.ngroups > 1 else ""
        nlv = len(model.latent)
        if nlv:
            psi = S[model.p :, model.p :]
            if np.linalg.eigvalsh(psi)[0] < -1e-10:
                found.append(
                    (
                        InadmissibleSolutionWarning,
                        f"the covariance matrix of the latent variables is not positive "
                        f"definite{gl}: inspect latent variances and correlations",
                    )
                )
        theta_m = S[: model.p, : model.p]
        exo = [model.pos[x] for x in table.roles.exogenous_x]
        keep = [j for j in range(model.p) if j not in exo]
        if (
            keep
            and np.linalg.eigvalsh(theta_m[np.ix_(keep, keep)])[0] < -1e-10
            and not any(
                rows[i] < -1e-8
                for i in range(table.n_rows)
                if table.op[i] == "~~" and table.lhs[i] == table.rhs[i]
            )
        ):
            found.append(
                (
                    InadmissibleSolutionWarning,
                    f"the residual covariance matrix of the observed variables is not "
                    f"positive definite{gl}: inspect residual covariances",
                )
            )
        sigma, _ = model.implied(theta, g)
        if np.linalg.eigvalsh(sigma)[0] <= 0:
            found.append(
                (
                    InadmissibleSolutionWarning,
                    f"the model-implied covariance matrix is not positive definite{gl}",
                )
            )
    return found


def admissible_batch(fit: MLFit, rows: FloatArray) -> np.ndarray:
    """True for replicates with no negative variance (rows: (R, n_rows))."""
    t = fit.table
    var_rows = [
        i for i in range(t.n_rows) if t.op[i] == "~~" and t.lhs[i] == t.rhs[i] and t.free[i] > 0
    ]
    if not var_rows:
        return np.ones(rows.shape[0], dtype=bool)
    return np.all(rows[:, var_rows] >= -1e-8, axis=1)


# ---------------------------------------------------------------------- resampling
def _weighted_moments(X: FloatArray, W: FloatArray) -> GroupData:
    """Means and covariances (divisor m) of R reweightings of the rows of X.

    ``W`` (R, n) holds how often each row enters each replicate (bootstrap counts, or
    leave-one-out indicators), all rows summing to the same m. Working from the counts
    replaces an (R, n, p) gather by two small matrix products.
    """
    m = float(W[0].sum())
    centre = X.mean(axis=0)
    Xc = X - centre
    iu, ju = np.triu_indices(X.shape[1])
    Z = Xc[:, iu] * Xc[:, ju]  # (n, p(p+1)/2) cross-products
    mean_c = W @ Xc / m
    cross = W @ Z / m
    R, p = W.shape[0], X.shape[1]
    cov = np.empty((R, p, p))
    cov[:, iu, ju] = cross - mean_c[:, iu] * mean_c[:, ju]
    cov[:, ju, iu] = cov[:, iu, ju]
    return GroupData(n=int(round(m)), cov=cov, mean=mean_c + centre)


def _batched_moments(arrays: list[FloatArray], index: list[np.ndarray]) -> list[GroupData]:
    """Moments of resamples given as row indices (R, n) per group."""
    out = []
    for X, idx in zip(arrays, index, strict=True):
        R, n = idx.shape[0], X.shape[0]
        counts = np.bincount((idx + n * np.arange(R)[:, None]).ravel(), minlength=R * n)
        out.append(_weighted_moments(X, counts.reshape(R, n).astype(float)))
    return out


def _refit_batch(
    fit: MLFit, groups: list[GroupData], theta_hat: FloatArray
) -> tuple[FloatArray, np.ndarray]:
    model = RamModel(fit.table, groups)
    R = groups[0].cov.shape[0]
    start = np.tile(theta_hat, (R, 1))
    # Replicates stop at a gradient of 1e-6 (|Δθ| below 1e-6, far inside Monte Carlo error).
    theta, done, _ = scoring(model, start, tol=1e-6)
    theta = np.where(done[:, None], theta, np.nan)
    return theta, done


def bootstrap_draws(
    fit: MLFit,
    theta_hat: FloatArray,
    n_boot: int,
    rng: np.random.Generator,
    progress: Any = None,
    chunk: int = 1000,
) -> tuple[FloatArray, np.ndarray]:
    """Nonparametric bootstrap: resample rows within groups, refit every replicate.

    Replicates are fitted in batches with Fisher scoring warm-started at the estimate.
    """
    arrays = list(fit.data.arrays)
    thetas, oks = [], []
    done_count = 0
    while done_count < n_boot:
        r = min(chunk, n_boot - done_count)
        index = [rng.integers(0, X.shape[0], size=(r, X.shape[0])) for X in arrays]
        groups = _batched_moments(arrays, index)
        # A resample whose covariance matrix is singular (a tiny sample drawing one row
        # repeatedly) cannot be fitted: count it as failed instead of fitting it.
        usable = np.ones(r, dtype=bool)
        for gd in groups:
            d = np.sqrt(np.clip(np.einsum("rii->ri", gd.cov), 0.0, None))
            with np.errstate(all="ignore"):
                corr = gd.cov / (d[:, :, None] * d[:, None, :])
            good = np.all(d > 0, axis=1)
            corr[~good] = np.eye(corr.shape[-1])
            usable &= good & (np.linalg.eigvalsh(corr)[:, 0] > 1e-10)
        th = np.full((r, theta_hat.size), np.nan)
        ok = np.zeros(r, dtype=bool)
        if usable.any():
            sub = [GroupData(gd.n, gd.cov[usable], gd.mean[usable]) for gd in groups]
            with np.errstate(all="ignore"):
                try:
                    th_u, ok_u = _refit_batch(fit, sub, theta_hat)
                except np.linalg.LinAlgError:
                    th_u = np.full((int(usable.sum()), theta_hat.size), np.nan)
                    ok_u = np.zeros(int(usable.sum()), dtype=bool)
            th[usable], ok[usable] = th_u, ok_u
        thetas.append(th)
        oks.append(ok)
        done_count += r
        if progress is not None:
            progress(r)
    return np.vstack(thetas), np.concatenate(oks)


def jackknife_draws(fit: MLFit, theta_hat: FloatArray) -> FloatArray:
    """Leave-one-out estimates (n, k) for the BCa acceleration."""
    arrays = list(fit.data.arrays)
    out = []
    for g, X in enumerate(arrays):
        n = X.shape[0]
        groups = []
        for h, Y in enumerate(arrays):
            if h == g:
                groups.append(_weighted_moments(Y, 1.0 - np.eye(n)))
            else:
                full = fit.data.moments[h]
                groups.append(
                    GroupData(
                        full.n,
                        np.broadcast_to(full.cov, (n, *full.cov.shape)).copy(),
                        np.broadcast_to(full.mean, (n, full.mean.size)).copy(),
                    )
                )
        with np.errstate(all="ignore"):
            th, _ = _refit_batch(fit, groups, theta_hat)
        out.append(th)
    return np.vstack(out)


# ---------------------------------------------------------------------- main
def fit_ml(
    table: ParameterTable,
    data: PreparedData,
    options: dict[str, Any],
    pairs: list[tuple[str, str]] | None = None,
    theta_override: FloatArray | None = None,
    engine: str = "pathmodels",
) -> dict[str, Any]:
    """Fit by ML and compute every table of a Result (returned as keyword arguments)."""
    from pathmodels import intervals

    t0 = time.perf_counter()
    fit = MLFit(table, data, pairs, fiml=options["missing"] == "fiml")
    n_moments = sum(
        (len(table.roles.observed) * (len(table.roles.observed) + 1)) // 2
        + (len(table.roles.observed) if table.options.meanstructure else 0)
        for _ in range(table.ngroups)
    )
    nx = len(table.roles.exogenous_x)
    n_exo = table.ngroups * (nx * (nx + 1) // 2 + (nx if table.options.meanstructure else 0))
    df = n_moments - n_exo - table.npar
    if df < 0:
        from pathmodels.ml.estimate import start_values

        hint = ""
        try:
            with np.errstate(all="ignore"):
                info = fit.model.expected_information(start_values(fit.model))
            eigval, eigvec = np.linalg.eigh(info)
            names = _free_names(table)
            v = np.abs(eigvec[:, 0]) / max(float(np.max(np.abs(eigvec[:, 0]))), 1e-300)
            hint = (
                " Parameters involved: "
                + ", ".join(names[j] for j in np.argsort(-v) if v[j] > 0.1)[:300]
                + "."
            )
        except (np.linalg.LinAlgError, ValueError):
            hint = ""
        raise SpecificationError(
            f"the model has {table.npar} free parameters but the data supply only "
            f"{n_moments - n_exo} moments (df = {df}); it is not identified — fix or drop "
            "parameters." + hint
        )
    if data.n < table.npar:
        raise DataError(
            f"N = {data.n} rows is smaller than the {table.npar} free parameters; "
            "collect more data or simplify the model"
        )
    if table.ngroups > 1:
        for g, X in enumerate(data.arrays, start=1):
            k_g = len(
                {int(f) for f, gg in zip(table.free, table.group, strict=True) if f > 0 and gg == g}
            )
            if X.shape[0] < k_g:
                raise DataError(
                    f"group {data.group_labels[g - 1]!r} has {X.shape[0]} rows but "
                    f"{k_g} free parameters; merge small groups or constrain parameters "
                    "equal across groups (group_equal=...)"
                )
    label_index = _label_index(table)
    if theta_override is not None:
        est = Estimate(
            theta_override,
            0.5 * float(fit.model.discrepancy(theta_override)),
            True,
            0,
            "external optimiser",
            float(np.max(np.abs(fit.model.gradient(theta_override)))),
        )
        if table.constraints:
            raise SpecificationError("an external optimiser cannot take general constraints")
    else:
        est = fit_ram(
            fit.model, constraints=list(table.constraints) or None, label_index=label_index
        )
    theta = est.theta
    notes: list[tuple[type[Warning], str]] = []
    if not est.converged:
        notes.append(
            (
                ConvergenceWarning,
                f"the optimiser did not converge ({est.message}; largest gradient "
                f"{est.gradient_max:.2e}); estimates are unreliable — check the model, "
                "scale variables to similar variances or give start values",
            )
        )
    vcov = _vcov(fit, est)
    se_free = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
    level = float(options["level"])
    zcrit = float(special.ndtri(0.5 + level / 2))

    # Parameter rows.
    d0 = fit.derived(theta)
    rows = d0.rows[0]
    se_rows = np.array([se_free[k - 1] if k > 0 else 0.0 for k in table.free])
    std = _std_all(fit, theta)
    lo = np.where(table.free > 0, rows - zcrit * se_rows, rows)
    hi = np.where(table.free > 0, rows + zcrit * se_rows, rows)
    # Defined parameters.
    jd, je, _ = _jacobian(fit, theta)
    def_vals = d0.defined[0]
    def_se = (
        np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jd, vcov, jd), 0.0, None))
        if jd.size
        else np.zeros(jd.shape[0])
    )
    std_values: dict[str, Any] = {}
    for lab, i in fit.labels.items():
        std_values[lab] = std[i]
    def_std = []
    for name, expr in table.definitions:
        try:
            val = float(expr.evaluate(std_values))
        except Exception:  # noqa: BLE001 - a definition of non-standardisable parameters
            val = float("nan")
        std_values[name] = val
        def_std.append(val)
    def_names = [n for n, _ in table.definitions]
    for name, val in zip(def_names, def_vals, strict=True):
        if not np.isfinite(val):
            notes.append(
                (
                    InadmissibleSolutionWarning,
                    f"defined parameter {name!r} is {val} at the estimates (e.g. the log of a "
                    "negative number or a division by zero); check its expression",
                )
            )
    nr, nd = rows.size, def_vals.size
    # One column dict for parameters and := rows, one for effects; frames are built once.
    est_cols: dict[str, Any] = {
        "lhs": list(table.lhs) + def_names,
        "op": list(table.op) + [":="] * nd,
        "rhs": list(table.rhs) + [str(e) for _, e in table.definitions],
        "label": [lab if not lab.startswith(".ge.") else "" for lab in table.label] + def_names,
        "group": np.concatenate([table.group.astype(int), np.zeros(nd, dtype=int)]),
        "est": np.concatenate([rows, def_vals]),
        "se": np.concatenate([se_rows, def_se]),
        "ci_lower": np.concatenate([lo, def_vals - zcrit * def_se]),
        "ci_upper": np.concatenate([hi, def_vals + zcrit * def_se]),
        "std_all": np.concatenate([std, np.asarray(def_std, dtype=float)]),
    }
    eff_vals = d0.effects[0]
    eff_se = (
        np.sqrt(np.clip(np.einsum("ij,jk,ik->i", je, vcov, je), 0.0, None))
        if je.size
        else np.zeros(je.shape[0])
    )
    keys = fit.effect_keys
    eff_cols: dict[str, Any] = {
        "cause": [k.cause for k in keys],
        "outcome": [k.outcome for k in keys],
        "effect": [k.effect for k in keys],
        "path": [k.path for k in keys],
        "group": np.array([k.group for k in keys], dtype=int),
        "est": eff_vals,
        "se": eff_se,
        "ci_lower": eff_vals - zcrit * eff_se,
        "ci_upper": eff_vals + zcrit * eff_se,
        "std_all": d0.effects_std[0],
    }

    # Resampling intervals.
    boot = None
    ci = options["ci"]
    if options["se"] == "bootstrap" or ci in ("percentile", "bc", "bca", "mc"):
        rng = np.random.default_rng(np.random.SeedSequence(options.get("seed")))
        if ci == "mc":
            draws = intervals.mc_draws(theta, vcov, int(options["n_mc"]), rng)
            ok = np.ones(draws.shape[0], dtype=bool)
            kind = "mc"
        else:
            if not data.complete:
                raise SpecificationError(
                    "bootstrap with missing='fiml' is not available yet; "
                    "use ci='mc' or missing='listwise'"
                )
            draws, ok = bootstrap_draws(
                fit, theta, int(options["n_boot"]), rng, progress=options.get("progress_callback")
            )
            kind = "bootstrap"
        dd = fit.derived(np.where(ok[:, None], draws, theta))
        adm = admissible_batch(fit, dd.rows) & ok
        boot = BootstrapDraws(kind, draws, ok, adm, options.get("seed"))
        all_draws = np.hstack([dd.rows, dd.defined, dd.effects])[ok]
        all_est = np.concatenate([rows, def_vals, eff_vals])
        if kind == "bootstrap" and ok.sum() < 0.5 * ok.size:
            notes.append(
                (
                    ConvergenceWarning,
                    f"{ok.size - ok.sum()} of {ok.size} bootstrap "
                    "replicates failed to converge; intervals rest on the rest",
                )
            )
        if ci == "delta":
            # se="bootstrap" with ci="delta": est ± z·SE with the bootstrap SE (lavaan's
            # boot.ci.type = "norm").
            boot_sd = np.nanstd(all_draws, axis=0, ddof=1)
            bounds = np.column_stack([all_est - zcrit * boot_sd, all_est + zcrit * boot_sd])
        elif ci == "percentile" or ci == "mc":
            bounds = intervals.percentile_interval(all_draws, level)
        elif ci == "bc":
            bounds = intervals.bias_corrected_interval(all_draws, all_est, level)
        else:
            jack = jackknife_draws(fit, theta)
            jack = np.where(np.isnan(jack), theta, jack)
            jd_ = fit.derived(jack)
            jvals = np.hstack([jd_.rows, jd_.defined, jd_.effects])
            boot = BootstrapDraws(
                kind, draws, ok, adm, options.get("seed"), jackknife=jack, jackknife_values=jvals
            )
            bounds = intervals.bca_interval(all_draws, all_est, jvals, level)
        boot = dataclasses.replace(boot, values=all_draws)
        fixed_rows = np.concatenate([table.free == 0, np.zeros(nd + eff_vals.size, dtype=bool)])
        lo_all = np.where(fixed_rows, all_est, bounds[:, 0])
        hi_all = np.where(fixed_rows, all_est, bounds[:, 1])
        est_cols["ci_lower"], eff_cols["ci_lower"] = lo_all[: nr + nd], lo_all[nr + nd :]
        est_cols["ci_upper"], eff_cols["ci_upper"] = hi_all[: nr + nd], hi_all[nr + nd :]
        if options["se"] == "bootstrap":
            se_all = np.where(fixed_rows, 0.0, np.nanstd(all_draws, axis=0, ddof=1))
            est_cols["se"], eff_cols["se"] = se_all[: nr + nd], se_all[nr + nd :]
        options = {**options, "ci": ci}
    for cols in (est_cols, eff_cols):
        with np.errstate(divide="ignore", invalid="ignore"):
            zz = np.where(cols["se"] > 0, cols["est"] / cols["se"], np.nan)
        cols["z"] = zz
        cols["pvalue"] = np.where(np.isfinite(zz), 2 * special.ndtr(-np.abs(zz)), np.nan)

    # Fit measures.
    fm = (
        compute_fiml_fit_measures(fit, theta)
        if fit.fiml
        else compute_fit_measures(fit.model, theta, data, table)
    )
    fm["converged"] = bool(est.converged)
    # A saturated model's chi-square is zero up to rounding; do not print "-0.000".
    if abs(fm.get("chisq", 0.0)) < 1e-10 * max(1.0, fm.get("baseline_chisq", 1.0)):
        fm["chisq"] = 0.0
    notes += _admissibility(fit, theta, std)
    seen = set()
    messages = []
    for cls, msg in notes:
        if msg in seen:
            continue
        seen.add(msg)
        messages.append(msg)
        warnings.warn(cls(msg), stacklevel=4)
    boundary = [
        i
        for i in range(table.n_rows)
        if table.op[i] == "~~"
        and table.lhs[i] == table.rhs[i]
        and table.free[i] > 0
        and abs(rows[i]) < 1e-8
    ]
    for i in boundary:
        msg = f"variance {table.lhs[i]} ~~ {table.lhs[i]} is estimated at the boundary (0)"
        messages.append(msg)
        warnings.warn(BoundaryWarning(msg), stacklevel=4)
    names = _free_names(table)
    return {
        "estimates": pd.DataFrame({c: est_cols[c] for c in ESTIMATE_COLUMNS}),
        "effects": pd.DataFrame({c: eff_cols[c] for c in EFFECT_COLUMNS}),
        "fit_measures": fm,
        "vcov": pd.DataFrame(vcov, index=names, columns=names),
        "converged": bool(est.converged),
        "warnings": tuple(messages),
        "options": options,
        "info": {
            "engine": engine,
            "iterations": est.iterations,
            "fmin": est.fmin,
            "gradient_max": est.gradient_max,
            "seconds": time.perf_counter() - t0,
            "n_dropped": data.n_dropped,
            "group_labels": list(data.group_labels),
            "group_n": [int(a.shape[0]) for a in data.arrays],
            "variable_summary": _variable_summary(table, data),
            "missing": _missing_summary(table, data),
        },
        "boot": boot,
        "theta": theta,
    }


def compute_fit_measures(
    model: RamModel, theta: FloatArray, data: PreparedData, table: ParameterTable
) -> dict[str, Any]:
    """Lavaan's fit measures for a complete-data fit, plus ``loglik`` and ``n``."""
    from pathmodels.ml.fitmeasures import GroupMoments, fit_measures

    exo = np.array([v in table.roles.exogenous_x for v in model.observed], dtype=bool)
    groups = []
    for g, gd in enumerate(data.moments):
        sigma, mu = model.implied(theta, g)
        groups.append(
            GroupMoments(
                n=gd.n,
                sample_cov=gd.cov,
                implied_cov=sigma,
                sample_mean=gd.mean if table.options.meanstructure else None,
                implied_mean=mu if table.options.meanstructure else None,
                exo=exo,
                group=g + 1,
            )
        )
    fm: dict[str, Any] = dict(
        fit_measures(
            groups,
            npar=table.npar,
            meanstructure=table.options.meanstructure,
            fixed_x=table.options.fixed_x,
        )
    )
    fm["loglik"] = fm.get("logl", float("nan"))
    fm["n"] = data.n
    return fm


def compute_fiml_fit_measures(fit: MLFit, theta: FloatArray) -> dict[str, Any]:
    """Fit measures of a FIML fit, as lavaan computes them.

    Likelihood-based measures come from the log-likelihoods of the model, the saturated
    model (EM) and the baseline model; SRMR from the EM moments.
    """
    from pathmodels.ml.fiml import em_saturated
    from pathmodels.ml.fitmeasures import GroupMoments, fit_measures, fit_measures_from_loglik

    table, model, data = fit.table, fit.model, fit.data
    exo = np.array([v in table.roles.exogenous_x for v in model.observed], dtype=bool)
    logl = model.loglik(theta)  # type: ignore[attr-defined]
    h1 = 0.0
    base = 0.0
    em_groups = []
    for g, (X, pats) in enumerate(zip(data.arrays, fit.patterns, strict=True)):
        mu, sigma, ll = em_saturated(X, pats)
        n = X.shape[0]
        exo_ll = 0.0
        if exo.any():
            sx = data.moments[g].cov[np.ix_(exo, exo)]
            q = int(exo.sum())
            exo_ll = -n / 2.0 * (q * np.log(2 * np.pi) + np.linalg.slogdet(sx)[1] + q)
        logl -= exo_ll
        h1 += ll - exo_ll
        for j in np.flatnonzero(~exo):
            col = X[:, j][~np.isnan(X[:, j])]
            var = col.var()
            base += -0.5 * col.size * (np.log(2 * np.pi) + np.log(var) + 1.0)
        sig_m, mu_m = model.implied(theta, g)
        em_groups.append(
            GroupMoments(
                n=n,
                sample_cov=sigma,
                implied_cov=sig_m,
                sample_mean=mu,
                implied_mean=mu_m,
                exo=exo,
                group=g + 1,
            )
        )
    fm: dict[str, Any] = dict(
        fit_measures_from_loglik(
            logl=logl,
            unrestricted_logl=h1,
            baseline_logl=base,
            n=[a.shape[0] for a in data.arrays],
            n_observed=[model.p] * table.ngroups,
            npar=table.npar,
            meanstructure=True,
            n_exogenous=[int(exo.sum())] * table.ngroups,
            fixed_x=table.options.fixed_x,
        )
    )
    try:
        with np.errstate(all="ignore"):
            moment_based = fit_measures(
                em_groups, npar=table.npar, meanstructure=True, fixed_x=False
            )
        for key in ("srmr", "srmr_bentler", "srmr_bentler_nomean", "crmr"):
            if key in moment_based:
                fm[key] = moment_based[key]
    except Exception as exc:  # noqa: BLE001 - SRMR is optional; say why it is missing
        fm["srmr"] = float("nan")
        fm["srmr_note"] = f"SRMR unavailable: {exc}"
    fm["loglik"] = fm.get("logl", float("nan"))
    fm["n"] = data.n
    return fm


def _variable_summary(
    table: ParameterTable, data: PreparedData
) -> dict[str, list[dict[str, float]]]:
    """Mean, SD (n − 1) and 16th/50th/84th percentiles of each observed variable per group."""
    names = table.roles.observed
    out: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for X in data.arrays:
        if np.isnan(X).any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
                q = np.nanpercentile(X, [16, 50, 84], axis=0)
                mean = np.nanmean(X, axis=0)
                sd = np.nanstd(X, axis=0, ddof=1)
        else:
            q = np.percentile(X, [16, 50, 84], axis=0)
            mean = X.mean(axis=0)
            sd = X.std(axis=0, ddof=1)
        for j, name in enumerate(names):
            out[name].append(
                {
                    "mean": float(mean[j]),
                    "sd": float(sd[j]),
                    "p16": float(q[0, j]),
                    "p50": float(q[1, j]),
                    "p84": float(q[2, j]),
                }
            )
    return out


def _missing_summary(table: ParameterTable, data: PreparedData) -> list[dict[str, Any]]:
    """Missing-data patterns and covariance coverage per group.

    The counterparts of lavaan's ``lavInspect(fit, "patterns")`` and ``"coverage"``.
    """
    out = []
    names = list(table.roles.observed)
    for X in data.arrays:
        obs = ~np.isnan(X)
        if obs.all():
            out.append(
                {
                    "n": int(X.shape[0]),
                    "patterns": [{"n": int(X.shape[0]), "observed": names}],
                    "coverage": np.ones((len(names), len(names))).tolist(),
                    "variables": names,
                }
            )
            continue
        keys, counts = np.unique(obs, axis=0, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        patterns = [
            {"n": int(counts[i]), "observed": [names[j] for j in np.flatnonzero(keys[i])]}
            for i in order
        ]
        coverage = (obs.T.astype(float) @ obs.astype(float)) / X.shape[0]
        out.append(
            {
                "n": int(X.shape[0]),
                "patterns": patterns,
                "coverage": coverage.round(6).tolist(),
                "variables": names,
            }
        )
    return out
