"""Quantities computed on posterior (or prior) draws, in numpy.

Everything is vectorised over draws: ``theta`` is ``(R, k)`` (R = chains x draws) and
the RAM matrices are ``(R, v, v)``. Long arrays are processed in chunks of draws so that
memory stays bounded for large N.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from pathmodels._typing import FloatArray
from pathmodels.bayes.plan import Plan
from pathmodels.ml.ram import RamModel

__all__ = [
    "conditional_moments",
    "hdi",
    "natural_effects",
    "pointwise_loglik",
    "predictive",
    "std_all",
    "thresholds",
]

_CHUNK = 400
_LOGIT_SCALE = math.pi / math.sqrt(3.0)


def hdi(samples: FloatArray, level: float) -> FloatArray:
    """Highest-density intervals of each column: (m, 2) from draws (R, m).

    The shortest interval holding ``ceil(level * R)`` sorted draws (ArviZ's "nearest"
    method); NaN for columns with non-finite draws.
    """
    x = np.sort(np.asarray(samples, dtype=float), axis=0)
    R = x.shape[0]
    k = min(R - 1, max(1, int(math.ceil(level * R)) - 1))
    width = x[k:] - x[: R - k]
    j = np.argmin(np.where(np.isfinite(width), width, np.inf), axis=0)
    cols = np.arange(x.shape[1])
    out = np.column_stack([x[j, cols], x[j + k, cols]])
    bad = ~np.isfinite(x).all(axis=0)
    out[bad] = np.nan
    return out


def conditional_moments(plan: Plan, A: FloatArray, S: FloatArray, m: FloatArray,
                        g: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mu (R, ny) at the covariates' group means, Pi (R, ny, q), Sigma (R, ny, ny)."""
    N = [plan.pos[v] for v in plan.y_names] + [plan.pos[f] for f in plan.latent]
    X = [plan.pos[x] for x in plan.x_names]
    ny = len(plan.y_names)
    A_NN = A[:, N][:, :, N]
    Binv = np.linalg.inv(np.eye(len(N)) - A_NN)
    means = plan.groups[g].means
    xbar = means[[plan.observed.index(x) for x in plan.x_names]]
    if X:
        A_NX = A[:, N][:, :, X]
        mu = np.einsum("rij,rj->ri", Binv, m[:, N] + A_NX @ xbar)
        Pi = (Binv @ A_NX)[:, :ny]
    else:
        mu = np.einsum("rij,rj->ri", Binv, m[:, N])
        Pi = np.zeros((A.shape[0], ny, 0))
    BY = Binv[:, :ny]
    Sig = BY @ S[:, N][:, :, N] @ np.swapaxes(BY, 1, 2)
    return mu[:, :ny], Pi, Sig


def _xy(plan: Plan, g: int) -> tuple[FloatArray, FloatArray]:
    """Centred covariates (n, q) and endogenous values (n, ny) of group g (NaN missing)."""
    gd = plan.groups[g]
    xi = [plan.observed.index(x) for x in plan.x_names]
    yi = [plan.observed.index(y) for y in plan.y_names]
    return gd.rows[:, xi] - gd.means[xi], gd.rows[:, yi]


def thresholds(plan: Plan, ram: RamModel, theta: FloatArray,
               taus: dict[tuple[str, int], FloatArray]) -> dict[tuple[str, int], FloatArray]:
    """Thresholds of ordinal variables on lavaan's scale (intercept 0, uncentred data)."""
    out = {}
    for (var, g), tau_c in taus.items():
        A, _, _ = ram.matrices(theta, g)
        j = plan.pos[var]
        shift = A[:, j, : plan.p] @ plan.groups[g].means
        out[(var, g)] = tau_c + shift[:, None]
    return out


def pointwise_loglik(plan: Plan, ram: RamModel, theta: FloatArray,
                     taus: dict[tuple[str, int], FloatArray]) -> FloatArray:
    """Log p(y_i | x_i, theta) for every draw and row: (R, N), rows of groups in order."""
    R = theta.shape[0]
    out = []
    for g in range(plan.ngroups):
        n = plan.groups[g].n
        ll = np.zeros((R, n))
        for lo in range(0, R, _CHUNK):
            th = theta[lo:lo + _CHUNK]
            tc = {k: v[lo:lo + _CHUNK] for k, v in taus.items()}
            ll[lo:lo + _CHUNK] = (_loglik_equations(plan, ram, th, tc, g) if plan.discrete
                                  else _loglik_gaussian(plan, ram, th, g))
        out.append(ll)
    return np.concatenate(out, axis=1)


def _loglik_gaussian(plan: Plan, ram: RamModel, theta: FloatArray, g: int) -> FloatArray:
    A, S, m = ram.matrices(theta, g)
    mu, Pi, Sig = conditional_moments(plan, A, S, m, g)
    xc, y = _xy(plan, g)
    R, n = theta.shape[0], y.shape[0]
    out = np.zeros((R, n))
    obs = ~np.isnan(y)
    keys, inverse = np.unique(obs, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for k in range(keys.shape[0]):
        seen = np.flatnonzero(keys[k])
        rows = np.flatnonzero(inverse == k)
        if seen.size == 0:
            continue
        pred = mu[:, None, seen] + np.einsum("rij,nj->rni", Pi[:, seen], xc[rows])
        resid = y[rows][:, seen][None] - pred  # (R, n_p, |seen|)
        L = np.linalg.cholesky(Sig[:, seen][:, :, seen])
        z = np.linalg.solve(L[:, None], resid[..., None])[..., 0]
        logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        out[:, rows] = -0.5 * (seen.size * np.log(2 * np.pi) + logdet[:, None]
                               + (z ** 2).sum(axis=2))
    return out


def _eta(plan: Plan, A: FloatArray, m: FloatArray, values: FloatArray, var: str,
         g: int) -> FloatArray:
    """Linear predictor of ``var`` (R, n) from values of all observed variables (R|1, n, p)."""
    j = plan.pos[var]
    if var in plan.ordinal:  # centred form: thresholds are centred too
        centred = values - plan.groups[g].means
        return np.einsum("rnp,rp->rn", np.broadcast_to(centred, (A.shape[0],) + centred.shape[1:]),
                         A[:, j, : plan.p])
    return m[:, j, None] + np.einsum(
        "rnp,rp->rn", np.broadcast_to(values, (A.shape[0],) + values.shape[1:]),
        A[:, j, : plan.p])


def _discrete_logp(plan: Plan, var: str, eta: FloatArray, y: FloatArray,
                   tau: FloatArray | None) -> FloatArray:
    if var in plan.binary:
        if plan.link == "probit":
            return special.log_ndtr((2.0 * y - 1.0) * eta)
        return y * eta - np.logaddexp(0.0, eta)
    assert tau is not None
    K = tau.shape[1] + 1
    cuts = np.concatenate([np.full((tau.shape[0], 1), -np.inf), tau,
                           np.full((tau.shape[0], 1), np.inf)], axis=1)
    codes = y.astype(np.int64)
    upper = np.take_along_axis(cuts[:, None, :], (codes + 1)[None, :, None].repeat(
        cuts.shape[0], 0), axis=2)[..., 0]
    lower = np.take_along_axis(cuts[:, None, :], codes[None, :, None].repeat(
        cuts.shape[0], 0), axis=2)[..., 0]
    del K
    pu = special.ndtr(upper - eta)
    pl = special.ndtr(lower - eta)
    return np.log(np.clip(pu - pl, 1e-300, None))


def _loglik_equations(plan: Plan, ram: RamModel, theta: FloatArray,
                      taus: dict[tuple[str, int], FloatArray], g: int) -> FloatArray:
    A, S, m = ram.matrices(theta, g)
    gd = plan.groups[g]
    X = gd.rows[None]  # (1, n, p)
    R, n = theta.shape[0], gd.n
    out = np.zeros((R, n))
    cont = list(plan.continuous_y)
    if cont:
        cp = [plan.pos[v] for v in cont]
        oi = [plan.observed.index(v) for v in cont]
        resid = X[..., oi] - (m[:, None, cp] + np.einsum("np,rcp->rnc", gd.rows,
                                                          A[:, cp, : plan.p]))
        Scc = S[:, cp][:, :, cp]
        L = np.linalg.cholesky(Scc)
        z = np.linalg.solve(L[:, None], resid[..., None])[..., 0]
        logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        out += -0.5 * (len(cont) * np.log(2 * np.pi) + logdet[:, None] + (z ** 2).sum(axis=2))
    for var in plan.discrete:
        eta = _eta(plan, A, m, X, var, g)
        y = gd.codes[var] if var in plan.ordinal else gd.rows[:, plan.observed.index(var)]
        out += _discrete_logp(plan, var, eta, np.asarray(y, dtype=float), taus.get((var, g)))
    return out


# ---------------------------------------------------------------------- simulation
def _topological(plan: Plan) -> list[str]:
    from pathmodels.effects import _topological_order

    order = _topological_order(plan.structure)
    assert order is not None
    return [plan.names[j] for j in order if plan.names[j] in plan.y_names]


def simulate(plan: Plan, ram: RamModel, theta: FloatArray,
             taus: dict[tuple[str, int], FloatArray], g: int, rng: np.random.Generator, *,
             set_values: dict[str, FloatArray] | None = None,
             noise: dict[str, FloatArray] | None = None,
             expected: str | None = None) -> dict[str, FloatArray]:
    """Simulate the endogenous variables of group g equation by equation.

    Parameters
    ----------
    set_values : dict, optional
        Variables held at given values, (R|1, n) arrays (interventions ``do(v = x)``);
        their own equations are skipped.
    noise : dict, optional
        Standard-normal / uniform noise per variable, (R, n), for common random numbers.
    expected : str, optional
        For this variable return its conditional expectation given its parents (the
        mean, or for a binary variable the probability) instead of a draw.

    Returns
    -------
    dict
        (R, n) values of every observed variable.
    """
    A, S, m = ram.matrices(theta, g)
    gd = plan.groups[g]
    R, n = theta.shape[0], gd.n
    set_values = set_values or {}
    values = {v: np.broadcast_to(gd.rows[:, plan.observed.index(v)], (R, n))
              for v in plan.x_names}
    values.update({k: np.broadcast_to(v, (R, n)) for k, v in set_values.items()})
    noise = noise if noise is not None else draw_noise(plan, R, n, rng)
    # Correlated Gaussian residuals, per component.
    cont = list(plan.continuous_y)
    resid: dict[str, FloatArray] = {}
    if cont:
        cp = [plan.pos[v] for v in cont]
        Scc = S[:, cp][:, :, cp]
        L = np.linalg.cholesky(Scc + 1e-12 * np.eye(len(cp)))
        Z = np.stack([noise[v] for v in cont], axis=-1)  # (R, n, c)
        E = np.einsum("rij,rnj->rni", L, Z)
        resid = {v: E[..., k] for k, v in enumerate(cont)}
    for v in _topological(plan):
        if v in set_values:
            continue
        j = plan.pos[v]
        parents = np.flatnonzero(A[0, j, : plan.p] != 0) if R else []
        eta = m[:, j, None] + sum(A[:, j, c, None] * values[plan.observed[c]]
                                  for c in np.flatnonzero(np.any(A[:, j, : plan.p] != 0,
                                                                 axis=0)))
        del parents
        eta = np.broadcast_to(eta, (R, n))
        if v in plan.binary:
            if v == expected:
                values[v] = (special.ndtr(eta) if plan.link == "probit"
                             else special.expit(eta))
            else:
                u = noise[v]
                p1 = special.ndtr(eta) if plan.link == "probit" else special.expit(eta)
                values[v] = (u < p1).astype(float)
        elif v in plan.ordinal:
            cats = plan.categories[v]
            tau = taus[(v, g)]
            eta_c = eta - m[:, j, None] - A[:, j, : plan.p] @ gd.means[:, None]
            cum = special.ndtr(tau[:, None, :] - eta_c[..., None])  # (R, n, K-1)
            if v == expected:
                probs = np.diff(np.concatenate([np.zeros(cum.shape[:2] + (1,)), cum,
                                                np.ones(cum.shape[:2] + (1,))], axis=2), axis=2)
                values[v] = probs @ cats
            else:
                code = (noise[v][..., None] > cum).sum(axis=2)
                values[v] = cats[code]
        else:
            values[v] = eta if v == expected else eta + resid[v]
    return values


def draw_noise(plan: Plan, R: int, n: int, rng: np.random.Generator) -> dict[str, FloatArray]:
    """Standard-normal noise for continuous and uniform noise for discrete variables."""
    out = {}
    for v in plan.y_names:
        out[v] = rng.uniform(size=(R, n)) if v in plan.discrete else rng.standard_normal((R, n))
    return out


def predictive(plan: Plan, ram: RamModel, theta: FloatArray,
               taus: dict[tuple[str, int], FloatArray],
               rng: np.random.Generator) -> dict[str, FloatArray]:
    """Replicated endogenous variables for each draw and row: name -> (R, N)."""
    out: dict[str, list[FloatArray]] = {v: [] for v in plan.y_names}
    for g in range(plan.ngroups):
        parts: dict[str, list[FloatArray]] = {v: [] for v in plan.y_names}
        for lo in range(0, theta.shape[0], _CHUNK):
            th = theta[lo:lo + _CHUNK]
            tc = {k: v[lo:lo + _CHUNK] for k, v in taus.items()}
            if plan.discrete:
                sim = simulate(plan, ram, th, tc, g, rng)
                for v in plan.y_names:
                    parts[v].append(np.asarray(sim[v]))
            else:
                A, S, m = ram.matrices(th, g)
                mu, Pi, Sig = conditional_moments(plan, A, S, m, g)
                xc, _ = _xy(plan, g)
                mean = mu[:, None, :] + np.einsum("rij,nj->rni", Pi, xc)
                w, V = np.linalg.eigh(Sig)
                root = V * np.sqrt(np.clip(w, 0.0, None))[:, None, :]
                z = rng.standard_normal(mean.shape)
                y = mean + np.einsum("rij,rnj->rni", root, z)
                for k, v in enumerate(plan.y_names):
                    parts[v].append(y[..., k])
        for v in plan.y_names:
            out[v].append(np.concatenate(parts[v], axis=0))
    return {v: np.concatenate(arrs, axis=1) for v, arrs in out.items()}


# ---------------------------------------------------------------------- g-computation
def natural_effects(plan: Plan, ram: RamModel, theta: FloatArray,
                    taus: dict[tuple[str, int], FloatArray], cause: str, outcome: str,
                    x0: float, x1: float, g: int, rng: np.random.Generator
                    ) -> dict[str, FloatArray]:
    """Natural direct, indirect and total effects of ``cause`` (x0 -> x1) on ``outcome``.

    ``E[Y(x, M(x'))]`` is computed by simulating the model with every mediator (a
    descendant of the cause that is an ancestor of the outcome) at its value under x',
    the cause at x, over the empirical distribution of the other covariates, with common
    random numbers across the three worlds; the outcome enters as its conditional
    expectation (mean, or probability for a binary outcome), which removes its own noise.

    Returns
    -------
    dict
        ``natural_direct`` = E[Y(x1, M(x0))] - E[Y(x0, M(x0))],
        ``natural_indirect`` = E[Y(x1, M(x1))] - E[Y(x1, M(x0))] and
        ``natural_total``, each of shape (R,).
    """
    from pathmodels.effects import _reachability

    reach = _reachability(plan.structure)
    c, o = plan.pos[cause], plan.pos[outcome]
    mediators = [plan.names[k] for k in range(plan.v)
                 if reach[k, c] and reach[o, k] and k not in (c, o)]
    R = theta.shape[0]
    res: dict[str, list[FloatArray]] = {"natural_direct": [], "natural_indirect": [],
                                        "natural_total": []}
    n = plan.groups[g].n
    for lo in range(0, R, _CHUNK):
        th = theta[lo:lo + _CHUNK]
        tc = {k: v[lo:lo + _CHUNK] for k, v in taus.items()}
        r = th.shape[0]
        noise = draw_noise(plan, r, n, rng)
        full = np.full((r, n), 1.0)
        w0 = simulate(plan, ram, th, tc, g, rng, set_values={cause: x0 * full}, noise=noise,
                      expected=outcome)
        w1 = simulate(plan, ram, th, tc, g, rng, set_values={cause: x1 * full}, noise=noise,
                      expected=outcome)
        cross = {cause: x1 * full}
        cross.update({mv: w0[mv] for mv in mediators})
        w10 = simulate(plan, ram, th, tc, g, rng, set_values=cross, noise=noise,
                       expected=outcome)
        e00, e11, e10 = (np.mean(w[outcome], axis=1) for w in (w0, w1, w10))
        res["natural_direct"].append(e10 - e00)
        res["natural_indirect"].append(e11 - e10)
        res["natural_total"].append(e11 - e00)
    return {k: np.concatenate(v) for k, v in res.items()}


# ---------------------------------------------------------------------- standardisation
def std_all(plan: Plan, ram: RamModel, theta: FloatArray) -> FloatArray:
    """Lavaan's ``std.all`` of every table row for every draw: (R, n_rows)."""
    t = plan.table
    rows = np.atleast_2d(ram.row_values(theta))
    out = np.full(rows.shape, np.nan)
    for g in range(plan.ngroups):
        _, cov, _ = ram.full_moments(theta, g)
        _, S, _ = ram.matrices(theta, g)
        var = np.einsum("rii->ri", cov)
        resvar = np.einsum("rii->ri", S)
        sd = np.sqrt(np.clip(var, 0.0, None))
        pos = ram.pos
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in np.flatnonzero(t.group == g + 1):
                op, lhs, rhs, val = t.op[i], t.lhs[i], t.rhs[i], rows[:, i]
                if op == "=~":
                    out[:, i] = val * sd[:, pos[lhs]] / sd[:, pos[rhs]]
                elif op == "~":
                    out[:, i] = val * sd[:, pos[rhs]] / sd[:, pos[lhs]]
                elif op == "~~":
                    if lhs == rhs:
                        out[:, i] = val / var[:, pos[lhs]]
                    else:
                        out[:, i] = val / np.sqrt(resvar[:, pos[lhs]] * resvar[:, pos[rhs]])
                elif op == "~1":
                    out[:, i] = val / sd[:, pos[lhs]]
    return out


def tail_probability(samples: FloatArray) -> FloatArray:
    """Two-sided posterior tail probability ``2 min(P(x > 0), P(x < 0))`` per column."""
    x = np.asarray(samples, dtype=float)
    pos = np.mean(x > 0, axis=0)
    neg = np.mean(x < 0, axis=0)
    return np.clip(2.0 * np.minimum(pos, neg), 0.0, 1.0)


def summarise(samples: FloatArray, chains: int, level: float) -> dict[str, FloatArray]:
    """Mean, SD, HDI, tail probability, R-hat and ESS (bulk, tail) per column of (R, m)."""
    import arviz_stats as azs

    R, mcols = samples.shape
    arr = samples.reshape(chains, R // chains, mcols)
    out = {
        "mean": samples.mean(axis=0),
        "sd": samples.std(axis=0, ddof=1) if R > 1 else np.zeros(mcols),
        "hdi": hdi(samples, level) if R > 1 else np.column_stack([samples[0], samples[0]]),
        "p": tail_probability(samples),
    }
    const = np.ptp(samples, axis=0) == 0 if R else np.ones(mcols, dtype=bool)
    finite = np.isfinite(samples).all(axis=0)
    ok = ~const & finite
    rhat = np.full(mcols, np.nan)
    ess_b = np.full(mcols, np.nan)
    ess_t = np.full(mcols, np.nan)
    if ok.any() and R // chains >= 4:
        sub = arr[:, :, ok]
        with np.errstate(all="ignore"):
            rhat[ok] = np.asarray(azs.rhat(sub, chain_axis=0, draw_axis=1), dtype=float)
            ess_b[ok] = np.asarray(azs.ess(sub, chain_axis=0, draw_axis=1, method="bulk"),
                                   dtype=float)
            ess_t[ok] = np.asarray(azs.ess(sub, chain_axis=0, draw_axis=1, method="tail",
                                           prob=0.05), dtype=float)
    out["r_hat"], out["ess_bulk"], out["ess_tail"] = rhat, ess_b, ess_t
    return out


def as_chains(x: FloatArray, chains: int) -> FloatArray:
    """(R, ...) -> (chains, R / chains, ...)."""
    return x.reshape((chains, x.shape[0] // chains) + x.shape[1:])
