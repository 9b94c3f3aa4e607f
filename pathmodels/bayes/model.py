"""Build the PyMC model of a :class:`~pathmodels.bayes.plan.Plan`.

Every number that depends on the data — cross-product matrices, means, per-row data of
binary and ordinal equations, prior hyperparameters and initial values — is a ``pm.Data``
container, so one compiled model serves every dataset of the same structure
(:func:`data_values` gives the values for a new plan; :func:`structure_key` says when two
plans share a structure).

The likelihood is added as one ``pm.Potential``:

* ``regression`` family, complete rows: ``sum_j -n/2 log(2 pi psi_j) - q_j / (2 psi_j)``
  with ``q = diag(T W C W' T')``, where ``W = [ybar - alpha - B obar, E - B]`` maps the
  centred data ``z = [1, o - obar]`` to residuals, ``C = sum z z'`` and ``T = I - Lambda``
  decorrelates residual blocks (modified Cholesky). Binary and ordinal equations add
  per-row probit/logit terms.
* ``sem`` family and incomplete rows: for each missing-data pattern the multivariate
  normal of the observed endogenous variables given the exogenous covariates, with
  ``mu = F (I - A)^-1 (m + A_x xbar)``, ``Pi = F (I - A)^-1 A_x`` and
  ``Sigma = F (I - A)^-1 S (I - A)^-T F'``, again through cross-products.

"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pathmodels.bayes.plan import Plan

__all__ = ["build_model", "data_values", "packed_values", "raw_from_draws", "rv_names",
           "structure_key"]

_LOG2PI = math.log(2.0 * math.pi)


def _dist(family: str) -> Any:
    import pymc as pm

    return {
        "normal": pm.Normal, "student_t": pm.StudentT, "cauchy": pm.Cauchy,
        "laplace": pm.Laplace, "halfnormal": pm.HalfNormal, "halfcauchy": pm.HalfCauchy,
        "halfstudent_t": pm.HalfStudentT, "exponential": pm.Exponential, "gamma": pm.Gamma,
        "inverse_gamma": pm.InverseGamma, "lognormal": pm.LogNormal, "uniform": pm.Uniform,
        "beta": pm.Beta, "lkj": pm.Beta,
    }[family]


def _rv_groups(plan: Plan) -> list[tuple[str, str, list[int]]]:
    """Raw parameters grouped into vector RVs: (rv name, family, raw ids)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for rid, raw in enumerate(plan.raw):
        if raw.role == "threshold":
            continue
        role = "cor" if raw.role == "cor" else ("scale" if raw.role in ("sd", "psi") else "coef")
        groups.setdefault((role, raw.prior.family), []).append(rid)
    out = []
    for (role, family), ids in sorted(groups.items()):
        default = {"coef": "normal", "scale": "halfnormal", "cor": "lkj"}[role]
        name = role if family == default else f"{role}_{family}"
        out.append((name, family, ids))
    return out


def rv_names(plan: Plan) -> list[str]:
    """Names of the model's free random variables (what a sampler stores)."""
    return [name for name, _, _ in _rv_groups(plan)] + [
        f"tau_{v}_g{g}" for (v, g) in plan.thresholds]


def raw_from_draws(plan: Plan, values: dict[str, np.ndarray]) -> np.ndarray:
    """Raw parameters (R, n_raw) from sampler output ``name -> (chains, draws, size)``."""
    first = next(iter(values.values()))
    R = int(np.prod(first.shape[:2]))
    raw = np.zeros((R, len(plan.raw)))
    for name, family, ids in _rv_groups(plan):
        v = np.asarray(values[name], dtype=float).reshape(R, -1)
        if name.startswith("cor") and family in ("beta", "lkj"):
            v = 2.0 * v - 1.0
        raw[:, ids] = v
    for (var, g), (start, count) in plan.thresholds.items():
        raw[:, start:start + count] = np.asarray(values[f"tau_{var}_g{g}"],
                                                 dtype=float).reshape(R, count)
    return raw


def _hyper(plan: Plan, family: str, ids: list[int]) -> list[np.ndarray]:
    """Hyperparameter vectors (one per parameter of the family) of a vector RV."""
    fam = "beta" if family == "lkj" else family
    cols = []
    if fam == "beta":
        ab = np.array([plan.raw[r].prior.as_beta() for r in ids], dtype=float)
        return [ab[:, 0], ab[:, 1]]
    width = len(plan.raw[ids[0]].prior.params)
    for j in range(width):
        cols.append(np.array([plan.raw[r].prior.params[j] for r in ids], dtype=float))
    return cols


def _init(plan: Plan, family: str, ids: list[int]) -> np.ndarray:
    vals = []
    for r in ids:
        raw = plan.raw[r]
        x = raw.init
        if raw.role == "cor":
            x = (x + 1.0) / 2.0 if family in ("beta", "lkj") else x
            if family == "uniform":
                lo, hi = raw.prior.params
                x = min(max(x, lo + 1e-3 * (hi - lo)), hi - 1e-3 * (hi - lo))
        elif family == "uniform":
            lo, hi = raw.prior.params
            x = min(max(x, lo + 1e-3 * (hi - lo)), hi - 1e-3 * (hi - lo))
        elif raw.role in ("sd", "psi") or family in ("halfnormal", "halfcauchy", "halfstudent_t",
                                                        "exponential", "gamma", "inverse_gamma",
                                                        "lognormal"):
            x = max(x, 1e-3)
        vals.append(x)
    return np.asarray(vals, dtype=float)


def structure_key(plan: Plan) -> tuple[Any, ...]:
    """What must match for two plans to share one compiled model."""
    t = plan.table
    patterns = tuple(tuple(p.observed for p in gd.patterns) for gd in plan.groups)
    return (
        t.lhs, t.op, t.rhs, tuple(t.group.tolist()), tuple(t.free.tolist()),
        tuple(np.nan_to_num(t.value, nan=-999.0).tolist()), t.options,
        plan.binary, plan.ordinal, plan.link, plan.family,
        tuple((r.role, r.prior.family) for r in plan.raw),
        tuple((rc.kind, rc.a, rc.refs, rc.group, rc.var, rc.cell) if rc else None
              for rc in plan.recipes),
        tuple((c.group, c.variables, c.kind, c.psi, c.lam) for c in plan.components),
        tuple(sorted((k, v) for k, v in plan.thresholds.items())),
        patterns, tuple(gd.complete_cross is not None for gd in plan.groups),
        tuple(fast_layout(plan, g) is not None for g in range(plan.ngroups)),
    )


def data_values(plan: Plan) -> dict[str, np.ndarray]:
    """Values of every ``pm.Data`` container of the model built from ``plan``."""
    out: dict[str, np.ndarray] = {}
    for name, family, ids in _rv_groups(plan):
        for j, col in enumerate(_hyper(plan, family, ids)):
            out[f"{name}__h{j}"] = col
        out[f"{name}__init"] = _init(plan, family, ids)
    for (var, g), (first, count) in plan.thresholds.items():
        prior = plan.raw[first].prior
        out[f"tau_{var}_g{g}__h0"] = np.full(count, prior.params[0])
        out[f"tau_{var}_g{g}__h1"] = np.full(count, prior.params[1])
        out[f"tau_{var}_g{g}__init"] = np.array([plan.raw[first + j].init for j in range(count)])
    for g, gd in enumerate(plan.groups):
        out[f"means_g{g}"] = gd.means.astype(float)
        if plan.family == "regression":
            out[f"wbase_g{g}"] = _wbase(plan, g)
        layout = fast_layout(plan, g)
        if layout is not None:
            out[f"u0_g{g}"], out[f"umap_g{g}"] = _fast_data(plan, g, layout)
        if gd.complete_cross is not None and plan.family == "regression":
            out[f"cross_g{g}"] = gd.complete_cross
            # C = R R' (R lower triangular): q_j = |w_j R|^2 costs one product, not two.
            out[f"croot_g{g}"] = _root(gd.complete_cross)
            out[f"n_g{g}"] = np.asarray(float(gd.n_complete))
        for k, pat in enumerate(_pattern_terms(plan, g)):
            out[f"cross_g{g}_p{k}"] = pat.cross
            out[f"n_g{g}_p{k}"] = np.asarray(float(pat.n))
        if plan.discrete:
            Z = np.nan_to_num(gd.rows - gd.means)
            out[f"rows_g{g}"] = Z
            for v in plan.binary:
                out[f"y_{v}_g{g}"] = np.nan_to_num(gd.rows[:, plan.observed.index(v)])
            for v in plan.ordinal:
                out[f"y_{v}_g{g}"] = np.maximum(gd.codes[v], 0).astype(np.int64)
    return out


def _root(C: np.ndarray) -> np.ndarray:
    """A square root R of a PSD matrix, C = R R' (Cholesky, or eigen if singular)."""
    try:
        return np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(C)
        return V * np.sqrt(np.clip(w, 0.0, None))


def _wbase(plan: Plan, g: int) -> np.ndarray:
    """[ybar | E - B_fixed] of group g: the constant part of the residual map W."""
    t = plan.table
    ny, p = len(plan.y_names), plan.p
    base = np.zeros((ny, 1 + p))
    gd = plan.groups[g]
    for j, v in enumerate(plan.y_names):
        base[j, 0] = gd.means[plan.observed.index(v)]
        if v not in plan.discrete:
            base[j, 1 + plan.observed.index(v)] = 1.0
    for i in range(t.n_rows):
        if (t.group[i] == g + 1 and t.op[i] == "~" and t.lhs[i] in plan.y_names
                and t.free[i] == 0 and not np.isnan(t.value[i])):
            base[plan.y_names.index(t.lhs[i]), 1 + plan.observed.index(t.rhs[i])] -= float(
                t.value[i])
    return base


def _packed_names(values: dict[str, np.ndarray]) -> list[str]:
    """Data whose shapes are fixed by the structure (not per-row data), in a fixed order."""
    return sorted(k for k in values if not (k.startswith("rows_g") or k.startswith("y_")))


def packed_values(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``pm.Data`` values of the model by name.

    ``pack`` holds the structure-sized arrays, flattened and concatenated; per-row
    arrays keep their own containers.
    """
    names = _packed_names(values)
    out = {k: v for k, v in values.items() if k not in names}
    out["pack"] = np.concatenate([np.ravel(np.asarray(values[k], dtype=float)) for k in names]
                                 ) if names else np.zeros(0)
    return out


def _pattern_terms(plan: Plan, g: int) -> list[Any]:
    """Patterns that need the multivariate-normal term (all of them for ``sem``)."""
    gd = plan.groups[g]
    ny = len(plan.y_names)
    if plan.family == "sem":
        return list(gd.patterns)
    return [p for p in gd.patterns if len(p.observed) < ny]


def build_model(plan: Plan) -> Any:
    """The ``pymc.Model`` of a plan: raw parameters, ``theta`` and the likelihood.

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    pymc.Model
        With a deterministic ``theta`` (every free parameter of the table, lavaan's
        parametrisation) and, for ordinal variables, ``tau_<var>_g<g>`` (centred thresholds).
    """
    import pymc as pm
    import pytensor.tensor as pt

    values = data_values(plan)
    packed = packed_values(values)
    with pm.Model(check_bounds=False) as model:
        data = {k: pm.Data(k, v) for k, v in packed.items() if k != "pack"}
        # Arrays whose shapes depend only on the model structure share one container:
        # fewer inputs make every log-density evaluation cheaper.
        pack = pm.Data("pack", packed["pack"])
        at = 0
        for k in _packed_names(values):
            shape = np.shape(values[k])
            size = int(np.prod(shape))
            data[k] = pack[at:at + size].reshape(shape) if shape else pack[at]
            at += size
        parts, order = [], []
        rvs: dict[str, Any] = {}
        for name, family, ids in _rv_groups(plan):
            hyper = [data[f"{name}__h{j}"] for j in range(len(_hyper(plan, family, ids)))]
            rv = _dist(family)(name, *hyper, shape=len(ids), initval=data[f"{name}__init"])
            if name.startswith("cor") and family in ("beta", "lkj"):
                rv = 2.0 * rv - 1.0
            parts.append(rv)
            rvs[name] = rv
            order += ids
        raw_all = pt.concatenate(parts) if parts else pt.zeros(0)
        where = {rid: i for i, rid in enumerate(order)}
        taus = {}
        for (var, g), (_first, count) in plan.thresholds.items():
            nm = f"tau_{var}_g{g}"
            taus[(var, g)] = pm.Normal(nm, data[nm + "__h0"], data[nm + "__h1"], shape=count,
                                       transform=pm.distributions.transforms.ordered,
                                       initval=data[nm + "__init"])
        theta = _theta(plan, raw_all, where, data)
        pm.Deterministic("theta", theta)
        total = pt.as_tensor_variable(0.0)
        for g in range(plan.ngroups):
            if fast_layout(plan, g) is not None:
                total = total + _fast_regression(plan, g, rvs, data)
                total = total + _loglik_group(plan, g, theta, raw_all, where, taus, data,
                                              skip_complete=True)
            else:
                total = total + _loglik_group(plan, g, theta, raw_all, where, taus, data)
        pm.Potential("loglik", total)
    return model


def _block_cov(plan: Plan, b: int, raw_all: Any, where: dict[int, int]) -> Any:
    """Covariance matrix of a modified-Cholesky block: (I - Lambda)^-1 Psi (I - Lambda)^-T."""
    import pytensor.tensor as pt

    comp = plan.components[b]
    kdim = len(comp.variables)
    eye = pt.eye(kdim)
    psi = raw_all[[where[r] for r in comp.psi]] ** 2
    if comp.lam:
        rows = np.asarray([j for j, _, _ in comp.lam], dtype=np.int64)
        cols = np.asarray([l_ for _, l_, _ in comp.lam], dtype=np.int64)
        lam = pt.set_subtensor(pt.zeros((kdim, kdim))[rows, cols],
                               raw_all[[where[r] for _, _, r in comp.lam]])
        L = pt.linalg.solve_triangular(eye - lam, eye, lower=True, unit_diagonal=True,
                                       check_finite=False)
    else:
        L = eye
    return (L * psi[None, :]) @ L.T


def _theta(plan: Plan, raw_all: Any, where: dict[int, int], data: dict[str, Any]) -> Any:
    """Every free parameter of the table from the sampled raw parameters (vectorised)."""
    import pytensor.tensor as pt

    t = plan.table
    theta = pt.zeros(plan.npar)
    by_kind: dict[str, list[Any]] = {}
    for k, rec in enumerate(plan.recipes):
        assert rec is not None
        by_kind.setdefault(rec.kind, []).append((k, rec))
    if "raw" in by_kind:
        ks = np.asarray([k for k, _ in by_kind["raw"]], dtype=np.int64)
        theta = pt.set_subtensor(theta[ks], raw_all[[where[r.a] for _, r in by_kind["raw"]]])
    if "square" in by_kind:
        ks = np.asarray([k for k, _ in by_kind["square"]], dtype=np.int64)
        theta = pt.set_subtensor(
            theta[ks], raw_all[[where[r.a] for _, r in by_kind["square"]]] ** 2)
    if "const" in by_kind:
        ks = np.asarray([k for k, _ in by_kind["const"]], dtype=np.int64)
        theta = pt.set_subtensor(theta[ks], np.asarray([r.value for _, r in by_kind["const"]]))
    if "block" in by_kind:
        for b in sorted({r.a for _, r in by_kind["block"]}):
            cells = [(k, r) for k, r in by_kind["block"] if r.a == b]
            cov = _block_cov(plan, b, raw_all, where)
            ks = np.asarray([k for k, _ in cells], dtype=np.int64)
            ii = np.asarray([r.cell[0] for _, r in cells], dtype=np.int64)
            jj = np.asarray([r.cell[1] for _, r in cells], dtype=np.int64)
            theta = pt.set_subtensor(theta[ks], cov[ii, jj])
    if "cor" in by_kind:
        cors = by_kind["cor"]
        consts = [val for _, r in cors for kind, val in r.refs if kind == "const"]
        ext = pt.concatenate([pt.sqrt(pt.abs(theta)), pt.as_tensor_variable(
            np.asarray(consts, dtype=float))]) if consts else pt.sqrt(pt.abs(theta))
        idx: list[list[int]] = [[], []]
        c = plan.npar
        for _, r in cors:
            for side, (kind, val) in enumerate(r.refs):
                if kind == "theta":
                    idx[side].append(int(val))
                else:
                    idx[side].append(c)
                    c += 1
        ks = np.asarray([k for k, _ in cors], dtype=np.int64)
        rr = raw_all[[where[r.a] for _, r in cors]]
        theta = pt.set_subtensor(theta[ks], rr * ext[np.asarray(idx[0])] * ext[np.asarray(
            idx[1])])
    if "centred" in by_kind:
        for g in range(plan.ngroups):
            cells = [(k, r) for k, r in by_kind["centred"] if r.group == g]
            if not cells:
                continue
            G = np.zeros((len(cells), plan.p))
            rows, cols, pars = [], [], []
            for ci, (_, r) in enumerate(cells):
                for i in range(t.n_rows):
                    if t.group[i] != g + 1 or t.op[i] != "~" or t.lhs[i] != r.var \
                            or t.rhs[i] not in plan.observed:
                        continue
                    j = plan.observed.index(t.rhs[i])
                    if t.free[i] > 0:
                        rows.append(ci)
                        cols.append(j)
                        pars.append(int(t.free[i]) - 1)
                    else:
                        G[ci, j] = float(t.value[i])
            Gt = pt.as_tensor_variable(G)
            if pars:
                Gt = pt.set_subtensor(Gt[np.asarray(rows), np.asarray(cols)],
                                      theta[np.asarray(pars)])
            ks = np.asarray([k for k, _ in cells], dtype=np.int64)
            c_raw = raw_all[[where[r.a] for _, r in cells]]
            theta = pt.set_subtensor(theta[ks], c_raw - Gt @ data[f"means_g{g}"])
    return theta


def _matrices(plan: Plan, theta: Any, g: int) -> tuple[Any, Any, Any]:
    """A, S, m of group g (0-based) as tensors."""
    import pytensor.tensor as pt

    t = plan.table
    v = plan.v
    kind, row, col, par, fixed = [], [], [], [], []
    for i in range(t.n_rows):
        if t.group[i] != g + 1 or t.op[i] not in ("=~", "~", "~~", "~1") or t.exo[i]:
            continue
        op, lhs, rhs = t.op[i], t.lhs[i], t.rhs[i]
        if op == "=~":
            k, r, c = 0, plan.pos[rhs], plan.pos[lhs]
        elif op == "~":
            k, r, c = 0, plan.pos[lhs], plan.pos[rhs]
        elif op == "~~":
            k, r, c = 1, plan.pos[lhs], plan.pos[rhs]
        else:
            k, r, c = 2, plan.pos[lhs], 0
        kind.append(k)
        row.append(r)
        col.append(c)
        par.append(int(t.free[i]) - 1)
        fixed.append(0.0 if np.isnan(t.value[i]) else float(t.value[i]))
    kind_a, row_a, col_a, par_a = (np.asarray(x, dtype=np.int64) for x in (kind, row, col, par))
    vals = pt.as_tensor_variable(np.asarray(fixed, dtype=float))
    free = np.flatnonzero(par_a >= 0)
    if free.size:
        vals = pt.set_subtensor(vals[free], theta[par_a[free]])
    A = pt.zeros((v, v))
    S = pt.zeros((v, v))
    m = pt.zeros(v)
    a = np.flatnonzero(kind_a == 0)
    s = np.flatnonzero(kind_a == 1)
    mm = np.flatnonzero(kind_a == 2)
    if a.size:
        A = pt.set_subtensor(A[row_a[a], col_a[a]], vals[a])
    if s.size:
        S = pt.set_subtensor(S[row_a[s], col_a[s]], vals[s])
        S = pt.set_subtensor(S[col_a[s], row_a[s]], vals[s])
    if mm.size:
        m = pt.set_subtensor(m[row_a[mm]], vals[mm])
    return A, S, m


def fast_layout(plan: Plan, g: int) -> dict[str, Any] | None:
    """Index layout of the fast Gaussian path of a path model, or None if it does not apply.

    It applies to group g of a recursive model of continuous variables whose coefficients,
    centred intercepts and residual-regression coefficients are all in the ``coef`` vector
    and whose residual (conditional) SDs are all in the ``scale`` vector (the default
    priors). The likelihood is then ``sum_j -n/2 log(2 pi psi_j) - |u_j|^2 / (2 psi_j)``
    with ``u = T (U0 + M coef)``: ``U0 + M coef = W R`` is the residual map times a
    square root of the cross-product matrix, linear in the coefficients with a constant
    (data) matrix ``M``.
    """
    gd = plan.groups[g]
    if (plan.family != "regression" or plan.discrete or not plan.recursive
            or gd.complete_cross is None):
        return None
    groups = {name: (family, ids) for name, family, ids in _rv_groups(plan)}
    if "coef" not in groups or "scale" not in groups:
        return None
    coef_pos = {rid: k for k, rid in enumerate(groups["coef"][1])}
    scale_pos = {rid: k for k, rid in enumerate(groups["scale"][1])}
    t = plan.table
    cont = list(plan.continuous_y)
    cells: list[tuple[int, int, int]] = []
    for i in range(t.n_rows):
        if t.group[i] != g + 1 or t.lhs[i] not in cont or t.free[i] <= 0:
            continue
        if t.op[i] not in ("~", "~1"):
            continue
        rec = plan.recipes[int(t.free[i]) - 1]
        if rec is None or rec.kind not in ("raw", "centred") or rec.a not in coef_pos:
            return None
        if t.op[i] == "~1" and rec.kind != "centred":
            return None
        col = 0 if t.op[i] == "~1" else 1 + plan.observed.index(t.rhs[i])
        cells.append((cont.index(t.lhs[i]), col, coef_pos[rec.a]))
    if sum(1 for j, c, _ in cells if c == 0) != len(cont):
        return None  # an intercept is fixed or not centred
    psi: dict[int, int] = {}
    lam: list[tuple[int, int, int]] = []
    for comp in plan.components:
        if comp.group != g:
            continue
        rows = [cont.index(v) for v in comp.variables]
        if comp.kind == "single":
            i = t.find(comp.variables[0], "~~", comp.variables[0], group=g + 1)
            rec = plan.recipes[int(t.free[i]) - 1] if t.free[i] > 0 else None
            if rec is None or rec.kind != "square" or rec.a not in scale_pos:
                return None
            psi[rows[0]] = scale_pos[rec.a]
        elif comp.kind == "block":
            if any(r not in scale_pos for r in comp.psi) or any(
                    r not in coef_pos for *_, r in comp.lam):
                return None
            for j, rid in enumerate(comp.psi):
                psi[rows[j]] = scale_pos[rid]
            lam += [(rows[j], rows[l_], coef_pos[rid]) for j, l_, rid in comp.lam]
        else:
            return None
    if sorted(psi) != list(range(len(cont))):
        return None
    return {"rows": cont, "cells": cells, "psi": [psi[j] for j in range(len(cont))],
            "lam": lam, "n_coef": len(coef_pos)}


def _fast_data(plan: Plan, g: int, layout: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """U0 (ny, 1 + p) and M (ny (1 + p), n_coef) of the fast path (see fast_layout)."""
    gd = plan.groups[g]
    R = _root(gd.complete_cross)
    cont = layout["rows"]
    yi = [plan.y_names.index(v) for v in cont]
    base = _wbase(plan, g)[yi]
    width = 1 + plan.p
    M = np.zeros((len(cont) * width, layout["n_coef"]))
    for j, c, pos in layout["cells"]:
        M[j * width:(j + 1) * width, pos] -= R[c, :]
    return base @ R, M


def _fast_regression(plan: Plan, g: int, rvs: dict[str, Any], data: dict[str, Any]) -> Any:
    """Gaussian path model, complete rows of group g: few, fused operations (fast_layout)."""
    import pytensor.tensor as pt

    layout = fast_layout(plan, g)
    assert layout is not None
    ny = len(layout["rows"])
    coef, scale = rvs["coef"], rvs["scale"]
    U = (data[f"u0_g{g}"].ravel() + data[f"umap_g{g}"] @ coef).reshape((ny, 1 + plan.p))
    if layout["lam"]:
        rows = np.asarray([j for j, _, _ in layout["lam"]], dtype=np.int64)
        cols = np.asarray([l_ for _, l_, _ in layout["lam"]], dtype=np.int64)
        pos = np.asarray([k for _, _, k in layout["lam"]], dtype=np.int64)
        T = pt.set_subtensor(pt.eye(ny)[rows, cols], -coef[pos])
        U = T @ U
    q = pt.sum(U * U, axis=1)
    psi = scale[np.asarray(layout["psi"], dtype=np.int64)] ** 2
    n = data[f"n_g{g}"]
    return -0.5 * pt.sum(n * (_LOG2PI + pt.log(psi)) + q / psi)


def _loglik_group(plan: Plan, g: int, theta: Any, raw_all: Any, where: dict[int, int],
                  taus: dict[tuple[str, int], Any], data: dict[str, Any],
                  skip_complete: bool = False) -> Any:
    import pytensor.tensor as pt

    gd = plan.groups[g]
    total = pt.as_tensor_variable(0.0)
    means = data[f"means_g{g}"]
    mats = None
    if plan.family == "regression" and not skip_complete:
        W, ybar = _residual_map(plan, g, raw_all, where, data)
        # Mean of each equation at the means of its predictors.
        shift = ybar - W[:, 0]
        if gd.complete_cross is not None:
            total = total + _regression_term(plan, g, W, theta, raw_all, where, data)
        for v in plan.binary + plan.ordinal:
            j = plan.y_names.index(v)
            eta = -(data[f"rows_g{g}"] @ W[j, 1:])  # the own column of a discrete row is 0
            y = data[f"y_{v}_g{g}"]
            if v in plan.binary:
                eta = eta + shift[j]
                if plan.link == "probit":
                    from pymc.distributions.dist_math import normal_lcdf

                    total = total + pt.sum(normal_lcdf(0.0, 1.0, (2.0 * y - 1.0) * eta))
                else:
                    total = total + pt.sum(y * eta - pt.softplus(eta))
            else:
                import pymc as pm

                tau = taus[(v, g)]
                log_p = pm.logp(pm.OrderedProbit.dist(eta=eta, cutpoints=tau), y)
                total = total + pt.sum(log_p)
    pats = _pattern_terms(plan, g)
    if pats:
        mats = _matrices(plan, theta, g)
        mu, Pi, Sig = _conditional_moments(plan, *mats, means)
        ybar_all = means[[plan.observed.index(v) for v in plan.y_names]]
        q = len(plan.x_names)
        for k, pat in enumerate(pats):
            seen = np.asarray(pat.observed, dtype=np.int64)
            n_p = data[f"n_g{g}_p{k}"]
            r0 = ybar_all[seen] - mu[seen]
            parts = [r0[:, None]]
            if q:
                parts.append(-Pi[seen])
            parts.append(pt.eye(seen.size))
            Wp = pt.concatenate(parts, axis=1)
            Q = Wp @ data[f"cross_g{g}_p{k}"] @ Wp.T
            total = total + _mvn_term(Sig[seen][:, seen], Q, n_p, seen.size)
    return total


def _residual_map(plan: Plan, g: int, raw_all: Any, where: dict[int, int],
                  data: dict[str, Any]) -> tuple[Any, Any]:
    """W (ny, 1 + p) with residuals = W [1, o - obar] for every endogenous equation.

    Row j is ``[ybar_j - shift_j, e_j - b_j]``: ``b_j`` the direct effects on y_j and
    ``shift_j`` the mean of its equation at the means of its predictors (the centred
    intercept). For a discrete y_j the own column is 0 (its residual is not Gaussian).
    """
    import pytensor.tensor as pt

    t = plan.table
    p = plan.p
    ny = len(plan.y_names)
    means = data[f"means_g{g}"]
    ybar = means[[plan.observed.index(v) for v in plan.y_names]]
    base = np.zeros((ny, 1 + p))
    rows, cols, src = [], [], []
    for j, v in enumerate(plan.y_names):
        if v not in plan.discrete:
            base[j, 1 + plan.observed.index(v)] = 1.0
    intercept: dict[int, tuple[str, Any]] = {}
    for i in range(t.n_rows):
        if t.group[i] != g + 1 or t.lhs[i] not in plan.y_names:
            continue
        j = plan.y_names.index(t.lhs[i])
        if t.op[i] == "~":
            c = 1 + plan.observed.index(t.rhs[i])
            if t.free[i] > 0:
                rec = plan.recipes[int(t.free[i]) - 1]
                assert rec is not None and rec.kind == "raw"
                rows.append(j)
                cols.append(c)
                src.append(where[rec.a])
            elif not np.isnan(t.value[i]):
                base[j, c] -= float(t.value[i])
        elif t.op[i] == "~1":
            if t.free[i] > 0:
                rec = plan.recipes[int(t.free[i]) - 1]
                assert rec is not None
                if rec.kind == "centred":
                    intercept[j] = ("centred", where[rec.a])
                elif rec.kind == "raw":
                    intercept[j] = ("alpha", where[rec.a])
                else:
                    intercept[j] = ("const", float(rec.value))
            else:
                intercept[j] = ("const", 0.0 if np.isnan(t.value[i]) else float(t.value[i]))
    cent = [j for j in range(ny) if intercept.get(j, ("const", 0.0))[0] == "centred"]
    if len(cent) == ny and f"wbase_g{g}" in data:
        # Fast path (every intercept centred): W = [ybar | E - B_fixed] - scatter(raw) in
        # one indexed update; column 0 gets -c_j on top of ybar_j.
        rows_all = rows + cent
        cols_all = cols + [0] * len(cent)
        src_all = src + [intercept[j][1] for j in cent]
        W = pt.inc_subtensor(data[f"wbase_g{g}"][np.asarray(rows_all), np.asarray(cols_all)],
                             -raw_all[np.asarray(src_all, dtype=np.int64)])
        return W, ybar
    W = pt.as_tensor_variable(base)
    if rows:
        W = pt.set_subtensor(W[np.asarray(rows), np.asarray(cols)],
                             -raw_all[np.asarray(src, dtype=np.int64)])
    # shift_j: the centred intercept, or alpha_j + b_j' obar = alpha_j + ybar_j - W_j obar.
    other = [j for j in range(ny) if j not in cent]
    shift = pt.zeros(ny)
    if cent:
        shift = pt.set_subtensor(shift[np.asarray(cent)],
                                 raw_all[np.asarray([intercept[j][1] for j in cent])])
    if other:
        o_idx = np.asarray(other)
        alpha_parts = []
        for j in other:
            kind, val = intercept.get(j, ("const", 0.0))
            alpha_parts.append(raw_all[val] if kind == "alpha" else pt.as_tensor_variable(val))
        alpha = pt.stack(alpha_parts)
        own = pt.as_tensor_variable(base[o_idx, 1:] * 0.0 + np.asarray(
            [[1.0 if (k == plan.observed.index(plan.y_names[j])) else 0.0 for k in range(p)]
             for j in other]))
        b_obar = (own - W[o_idx, 1:]) @ means
        shift = pt.set_subtensor(shift[o_idx], alpha + b_obar)
    W = pt.set_subtensor(W[:, 0], ybar - shift)
    return W, ybar


def _regression_term(plan: Plan, g: int, W: Any, theta: Any, raw_all: Any,
                     where: dict[int, int], data: dict[str, Any]) -> Any:
    """Gaussian equations of group g on complete rows, from the cross-product matrix."""
    import pytensor.tensor as pt

    cont = plan.continuous_y
    if not cont:
        return pt.as_tensor_variable(0.0)
    yc = np.asarray([plan.y_names.index(v) for v in cont], dtype=np.int64)
    Wc = W[yc] if len(cont) < len(plan.y_names) else W
    C = data[f"cross_g{g}"]
    n = data[f"n_g{g}"]
    idx = {v: r for r, v in enumerate(cont)}
    t_rows: list[int] = []
    t_cols: list[int] = []
    t_src: list[int] = []
    psi_src: dict[int, tuple[str, Any]] = {}
    direct = []
    for comp in plan.components:
        if comp.group != g or not all(v in idx for v in comp.variables):
            continue
        rows = [idx[v] for v in comp.variables]
        if comp.kind == "single":
            i = plan.table.find(comp.variables[0], "~~", comp.variables[0], group=g + 1)
            k = int(plan.table.free[i]) - 1
            rec = plan.recipes[k] if k >= 0 else None
            if rec is None:
                psi_src[rows[0]] = ("const", float(plan.table.value[i]))
            elif rec.kind == "square":
                psi_src[rows[0]] = ("raw", where[rec.a])
            else:
                psi_src[rows[0]] = ("theta", k)
        elif comp.kind == "block":
            for j, l_, rid in comp.lam:
                t_rows.append(rows[j])
                t_cols.append(rows[l_])
                t_src.append(where[rid])
            for j, rid in enumerate(comp.psi):
                psi_src[rows[j]] = ("raw", where[rid])
        else:
            direct.append((rows, comp))
    total = pt.as_tensor_variable(0.0)
    simple = sorted(psi_src)
    V = Wc
    if t_rows:
        T = pt.set_subtensor(pt.eye(len(cont))[np.asarray(t_rows), np.asarray(t_cols)],
                             -raw_all[np.asarray(t_src)])
        V = T @ Wc
    if simple:
        s_idx = np.asarray(simple, dtype=np.int64)
        Vs = V[s_idx] if len(simple) < len(cont) else V
        VR = Vs @ data[f"croot_g{g}"]
        qdiag = pt.sum(VR * VR, axis=1)
        pieces = []
        for r in simple:
            kind, val = psi_src[r]
            pieces.append(raw_all[val] ** 2 if kind == "raw" else (
                theta[val] if kind == "theta" else pt.as_tensor_variable(val)))
        raw_ids = [psi_src[r][1] for r in simple if psi_src[r][0] == "raw"]
        if len(raw_ids) == len(simple):
            psi_v = raw_all[np.asarray(raw_ids, dtype=np.int64)] ** 2
        else:
            psi_v = pt.stack(pieces)
        total = total - 0.5 * pt.sum(n * (_LOG2PI + pt.log(psi_v)) + qdiag / psi_v)
    for rows, comp in direct:
        r_idx = np.asarray(rows, dtype=np.int64)
        Sc = _component_cov(plan, comp, theta)
        Vd = V[r_idx]
        total = total + _mvn_term(Sc, Vd @ C @ Vd.T, n, len(rows))
    if not plan.recursive:
        own = np.zeros((len(cont), len(cont)))
        cpos = [1 + plan.observed.index(v) for v in cont]
        IB = Wc[:, np.asarray(cpos)] + pt.as_tensor_variable(own)
        total = total + n * pt.log(pt.abs(pt.linalg.det(IB)))
    return total


def _component_cov(plan: Plan, comp: Any, theta: Any) -> Any:
    """Covariance matrix of a direct component from theta (fixed entries from the table)."""
    import pytensor.tensor as pt

    t = plan.table
    k = len(comp.variables)
    base = np.zeros((k, k))
    rows, cols, pars = [], [], []
    for a, va in enumerate(comp.variables):
        for b, vb in enumerate(comp.variables):
            if b > a:
                continue
            try:
                i = t.find(va, "~~", vb, group=comp.group + 1)
            except Exception:  # noqa: BLE001 - no such covariance: zero
                continue
            if t.free[i] > 0:
                rows += [a, b]
                cols += [b, a]
                pars += [int(t.free[i]) - 1] * 2
            else:
                base[a, b] = base[b, a] = 0.0 if np.isnan(t.value[i]) else float(t.value[i])
    out = pt.as_tensor_variable(base)
    if pars:
        out = pt.set_subtensor(out[np.asarray(rows), np.asarray(cols)], theta[np.asarray(pars)])
    return out


def _mvn_term(Sig: Any, Q: Any, n: Any, dim: int) -> Any:
    """-n/2 (d log 2pi + log|Sig|) - tr(Sig^-1 Q)/2, NaN (rejected) if Sig is not PD."""
    import pytensor.tensor as pt

    L = pt.linalg.cholesky(Sig, lower=True, check_finite=False, on_error="nan")
    X = pt.linalg.solve_triangular(L, Q, lower=True, check_finite=False)
    Y = pt.linalg.solve_triangular(L, X.T, lower=True, check_finite=False)
    logdet = 2.0 * pt.sum(pt.log(pt.diagonal(L)))
    return -0.5 * (n * (dim * _LOG2PI + logdet) + pt.trace(Y))


def _conditional_moments(plan: Plan, A: Any, S: Any, m: Any, means: Any) -> tuple[Any, Any, Any]:
    """Conditional moments of the endogenous observed variables given the covariates.

    Returns the mean at the covariates' means, the slopes on the covariates and the
    covariance matrix.
    """
    import pytensor.tensor as pt

    N = np.asarray([plan.pos[v] for v in plan.y_names] + [plan.pos[f] for f in plan.latent],
                   dtype=np.int64)
    X = np.asarray([plan.pos[x] for x in plan.x_names], dtype=np.int64)
    ny = len(plan.y_names)
    A_NN = A[N][:, N]
    Binv = pt.linalg.inv(pt.eye(N.size) - A_NN)
    m_N = m[N]
    if X.size:
        A_NX = A[N][:, X]
        xbar = means[[plan.observed.index(x) for x in plan.x_names]]
        mu = Binv @ (m_N + A_NX @ xbar)
        Pi = (Binv @ A_NX)[:ny]
    else:
        mu = Binv @ m_N
        Pi = None
    BY = Binv[:ny]
    Sig = BY @ S[N][:, N] @ BY.T
    return mu[:ny], Pi, Sig
