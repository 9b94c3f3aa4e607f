"""The RAM (reticular action model) form of a parameter table, with analytic derivatives.

Variables are the observed ones (lavaan's order) followed by the latent ones. For group g

* ``A`` (v×v): ``A[i, j]`` is the direct effect of variable j on variable i
  (regressions ``i ~ j`` and loadings ``j =~ i``);
* ``S`` (v×v): (residual) variances and covariances;
* ``m`` (v): intercepts and latent means;

and with ``B = (I − A)⁻¹`` the model-implied moments of the observed variables are
``Σ = F B S Bᵀ Fᵀ`` and ``μ = F B m`` (McArdle & McDonald, 1984).

The ML discrepancy is lavaan's (Bollen, 1989, eq. 4.67, with means):
``F_g = log|Σ| + tr(S Σ⁻¹) + (ȳ − μ)ᵀ Σ⁻¹ (ȳ − μ) − log|S| − p``, weighted by n_g/N
across groups. lavaan reports ``fmin = F/2`` and ``chisq = N·F``.

Every function is batched: ``theta`` may be ``(k,)`` or ``(R, k)`` and the sample moments
``(p, p)`` or ``(R, p, p)``, so that bootstrap and Monte Carlo replicates are fitted
together with stacked numpy linear algebra instead of a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pathmodels._typing import FloatArray, IntArray
from pathmodels.spec.table import ParameterTable

__all__ = ["GroupData", "RamModel"]

_A, _S, _M = 0, 1, 2


@dataclass(frozen=True)
class GroupData:
    """Sample moments of one group (covariance with divisor N); may be batched (R, ...)."""

    n: int
    cov: FloatArray
    mean: FloatArray


@dataclass(frozen=True)
class _GroupIndex:
    kind: IntArray  # 0 A, 1 S, 2 m
    row: IntArray
    col: IntArray
    par: IntArray  # 0-based free index, -1 fixed
    fixed: FloatArray  # fixed value (exo rows filled from data), shape (n_rows,) or (R, n_rows)
    table_rows: IntArray  # row position in the parameter table
    scatter: FloatArray  # (n_rows, k): 1 where row feeds free parameter


class RamModel:
    """Matrices, implied moments, ML discrepancy and its derivatives for one table.

    Parameters
    ----------
    table : ParameterTable
    groups : sequence of GroupData, optional
        Sample moments; fills the exogenous (``fixed.x``) rows with sample values. With
        batched moments ``(R, p, p)`` every method works on ``(R, k)`` parameters.
    """

    def __init__(self, table: ParameterTable, groups: list[GroupData] | None = None) -> None:
        self.table = table
        roles = table.roles
        self.observed = roles.observed
        self.latent = roles.latent
        self.names = tuple(self.observed) + tuple(self.latent)
        self.p = len(self.observed)
        self.v = len(self.names)
        self.npar = table.npar
        self.meanstructure = table.options.meanstructure
        self.ngroups = table.ngroups
        self.groups = groups
        self._memo: dict[tuple[object, ...], tuple[FloatArray, FloatArray, FloatArray]] = {}
        self.batch = None if groups is None or groups[0].cov.ndim == 2 else groups[0].cov.shape[0]
        pos = {name: k for k, name in enumerate(self.names)}
        self.pos = pos
        self._index: list[_GroupIndex] = []
        for g in range(1, self.ngroups + 1):
            kind, row, col, par, trow = [], [], [], [], []
            for i in np.flatnonzero(table.group == g):
                op = table.op[i]
                lhs, rhs = table.lhs[i], table.rhs[i]
                if op == "=~":
                    k, r, c = _A, pos[rhs], pos[lhs]
                elif op == "~":
                    k, r, c = _A, pos[lhs], pos[rhs]
                elif op == "~~":
                    k, r, c = _S, pos[lhs], pos[rhs]
                elif op == "~1":
                    k, r, c = _M, pos[lhs], 0
                else:  # pragma: no cover
                    continue
                kind.append(k)
                row.append(r)
                col.append(c)
                par.append(int(table.free[i]) - 1)
                trow.append(i)
            kind_a = np.asarray(kind, dtype=np.int64)
            row_a = np.asarray(row, dtype=np.int64)
            col_a = np.asarray(col, dtype=np.int64)
            trow_a = np.asarray(trow, dtype=np.int64)
            fixed = np.where(np.isnan(table.value[trow_a]), 0.0, table.value[trow_a])
            exo = table.exo[trow_a]
            if groups is not None and exo.any():
                gd = groups[g - 1]
                ex = np.flatnonzero(exo)
                is_mean = kind_a[ex] == _M
                if gd.cov.ndim == 3:
                    fixed = np.broadcast_to(fixed, (gd.cov.shape[0], fixed.size)).copy()
                    fixed[:, ex] = np.where(
                        is_mean, gd.mean[:, row_a[ex]], gd.cov[:, row_a[ex], col_a[ex]]
                    )
                else:
                    fixed = fixed.copy()
                    fixed[ex] = np.where(is_mean, gd.mean[row_a[ex]], gd.cov[row_a[ex], col_a[ex]])
            par_a = np.asarray(par, dtype=np.int64)
            scatter = np.zeros((par_a.size, self.npar))
            free = np.flatnonzero(par_a >= 0)
            scatter[free, par_a[free]] = 1.0
            self._index.append(_GroupIndex(kind_a, row_a, col_a, par_a, fixed, trow_a, scatter))

    def take(self, members: np.ndarray) -> RamModel:
        """The same model restricted to some replicates of a batched model."""
        if self.batch is None:
            return self
        import copy
        from dataclasses import replace

        out = copy.copy(self)
        out._memo = {}
        assert self.groups is not None
        out.groups = [GroupData(gd.n, gd.cov[members], gd.mean[members]) for gd in self.groups]
        out._index = [
            replace(idx, fixed=idx.fixed[members]) if idx.fixed.ndim == 2 else idx
            for idx in self._index
        ]
        out.batch = int(np.size(members))
        return out

    # ------------------------------------------------------------------ matrices
    def _values(self, theta: FloatArray, g: int) -> FloatArray:
        idx = self._index[g]
        theta = np.atleast_2d(theta)
        vals = np.broadcast_to(idx.fixed, (theta.shape[0], idx.kind.size)).copy()
        free = idx.par >= 0
        vals[:, free] = theta[:, idx.par[free]]
        return vals

    def matrices(self, theta: FloatArray, g: int = 0) -> tuple[FloatArray, FloatArray, FloatArray]:
        """A, S, m of group g (0-based): shapes (R, v, v), (R, v, v), (R, v)."""
        idx = self._index[g]
        vals = self._values(theta, g)
        R, v = vals.shape[0], self.v
        A = np.zeros((R, v, v))
        S = np.zeros((R, v, v))
        m = np.zeros((R, v))
        a = idx.kind == _A
        A[:, idx.row[a], idx.col[a]] = vals[:, a]
        s = idx.kind == _S
        S[:, idx.row[s], idx.col[s]] = vals[:, s]
        S[:, idx.col[s], idx.row[s]] = vals[:, s]
        mm = idx.kind == _M
        m[:, idx.row[mm]] = vals[:, mm]
        return A, S, m

    def row_values(self, theta: FloatArray) -> FloatArray:
        """Value of every table row (free from theta, fixed/exo from table and data).

        Shape (n_rows,) for a single theta, (R, n_rows) for a batch.
        """
        single = np.ndim(theta) == 1
        th = np.atleast_2d(theta)
        out = np.broadcast_to(
            np.array(self.table.value, dtype=float), (th.shape[0], self.table.n_rows)
        ).copy()
        for g in range(self.ngroups):
            out[:, self._index[g].table_rows] = self._values(th, g)
        return out[0] if single else out

    def structure(self) -> np.ndarray:
        """Boolean (v, v): True where a directed path j → i exists in any group."""
        out = np.zeros((self.v, self.v), dtype=bool)
        for idx in self._index:
            a = idx.kind == _A
            fixed = np.atleast_2d(idx.fixed)[0]
            nonzero = (idx.par[a] >= 0) | (fixed[a] != 0)
            out[idx.row[a][nonzero], idx.col[a][nonzero]] = True
        return out

    def full_moments(
        self, theta: FloatArray, g: int = 0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """B = (I − A)⁻¹, implied covariance and mean of all variables, batched.

        The last few results are memoised on (group, theta): an optimiser asks for the
        gradient, the information and the objective at the same point.
        """
        th = np.atleast_2d(theta)
        key = (g, th.shape, th.tobytes()) if th.size <= 4096 else None
        if key is not None:
            hit = self._memo.get(key)
            if hit is not None:
                return hit
        A, S, m = self.matrices(th, g)
        B = np.linalg.inv(np.eye(self.v) - A)
        cov = B @ S @ np.swapaxes(B, -1, -2)
        out = (B, cov, np.einsum("rij,rj->ri", B, m))
        if key is not None:
            if len(self._memo) >= 8:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = out
        return out

    def implied(self, theta: FloatArray, g: int = 0) -> tuple[FloatArray, FloatArray]:
        """Implied covariance and mean of the observed variables (batched like theta)."""
        _, cov, mean = self.full_moments(theta, g)
        p = self.p
        if np.ndim(theta) == 1:
            return cov[0, :p, :p], mean[0, :p]
        return cov[:, :p, :p], mean[:, :p]

    def _sample(self, g: int) -> tuple[FloatArray, FloatArray, int]:
        assert self.groups is not None
        gd = self.groups[g]
        cov = gd.cov if gd.cov.ndim == 3 else gd.cov[None]
        mean = gd.mean if gd.mean.ndim == 2 else gd.mean[None]
        return cov, mean, gd.n

    # ------------------------------------------------------------------ objective
    def discrepancy(self, theta: FloatArray) -> FloatArray | float:
        """ML discrepancy F (lavaan's fmin is F/2); +inf where Σ is not positive definite."""
        assert self.groups is not None
        ntot = sum(gd.n for gd in self.groups)
        th = np.atleast_2d(theta)
        total = np.zeros(th.shape[0])
        p = self.p
        for g in range(self.ngroups):
            cov_s, mean_s, n = self._sample(g)
            _, cov, mean = self.full_moments(th, g)
            sigma = cov[:, :p, :p]
            # A Cholesky factor proves positive definiteness (slogdet alone would accept
            # an even number of negative eigenvalues); fall back per replicate on failure.
            try:
                chol = np.linalg.cholesky(sigma)
                bad = np.zeros(sigma.shape[0], dtype=bool)
            except np.linalg.LinAlgError:
                bad = np.linalg.eigvalsh(sigma)[:, 0] <= 0
                sigma = np.where(bad[:, None, None], np.eye(p), sigma)
                chol = np.linalg.cholesky(sigma)
            logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            inv = np.linalg.inv(sigma)
            f = logdet + (np.broadcast_to(cov_s, inv.shape) * inv).sum(axis=(1, 2))
            if self.meanstructure:
                d = mean_s - mean[:, :p]
                f += np.einsum("ri,rij,rj->r", d, inv, d)
            _, logdet_s = np.linalg.slogdet(cov_s)
            f = f - logdet_s - p
            f[bad] = np.inf
            total += n / ntot * f
        return float(total[0]) if np.ndim(theta) == 1 else total

    def gradient(self, theta: FloatArray) -> FloatArray:
        """Analytic gradient of :meth:`discrepancy`, shape like theta."""
        assert self.groups is not None
        ntot = sum(gd.n for gd in self.groups)
        th = np.atleast_2d(theta)
        grad = np.zeros((th.shape[0], self.npar))
        p = self.p
        for g in range(self.ngroups):
            cov_s, mean_s, n = self._sample(g)
            B, cov_full, mean_full = self.full_moments(th, g)
            inv = np.linalg.inv(cov_full[:, :p, :p])
            if self.meanstructure:
                d = mean_s - mean_full[:, :p]
                outer = cov_s + d[:, :, None] * d[:, None, :]
                wmean = -2.0 * np.einsum("rij,rj->ri", inv, d)
            else:
                outer = np.broadcast_to(cov_s, inv.shape)
                wmean = None
            W = inv - inv @ outer @ inv
            grad += n / ntot * self.chain_rule(g, B, cov_full, mean_full, W, wmean)
        return grad[0] if np.ndim(theta) == 1 else grad

    def chain_rule(
        self,
        g: int,
        B: FloatArray,
        cov_full: FloatArray,
        mean_full: FloatArray,
        W: FloatArray,
        wmean: FloatArray | None,
    ) -> FloatArray:
        """Gradient w.r.t. theta from dF/dΣ (W, (R, p, p)) and dF/dμ (wmean, (R, p))."""
        R = W.shape[0]
        p, v = self.p, self.v
        G = np.zeros((R, v, v))
        G[:, :p, :p] = W
        dA = 2.0 * np.swapaxes(cov_full @ G @ B, -1, -2)
        dS = np.swapaxes(B, -1, -2) @ G @ B
        diag = np.einsum("rii->ri", dS).copy()
        dS = 2.0 * dS
        dS[:, np.arange(v), np.arange(v)] -= diag
        dm = np.zeros((R, v))
        if wmean is not None:
            vvec = np.zeros((R, v))
            vvec[:, :p] = wmean
            vvec = np.einsum("rji,rj->ri", B, vvec)  # Bᵀ (dF/dμ)
            dA = dA + vvec[:, :, None] * mean_full[:, None, :]
            dm = vvec
        idx = self._index[g]
        vals = np.where(
            idx.kind == _A,
            dA[:, idx.row, idx.col],
            np.where(idx.kind == _S, dS[:, idx.row, idx.col], dm[:, idx.row]),
        )
        return vals @ idx.scatter

    # ------------------------------------------------------------------ derivatives
    def moment_jacobian(self, theta: FloatArray, g: int = 0) -> tuple[FloatArray, FloatArray]:
        """dΣ/dθ (R, k, p, p) and dμ/dθ (R, k, p) of group g (R = 1 for a single theta)."""
        th = np.atleast_2d(theta)
        B, cov_full, mean_full = self.full_moments(th, g)
        p = self.p
        idx = self._index[g]
        free = idx.par >= 0
        kind, row, col = idx.kind[free], idx.row[free], idx.col[free]
        scat = idx.scatter[free]  # (nf, k)
        left = B[:, :p, row]  # (R, p, nf)
        is_a = kind == _A
        is_s = kind == _S
        right = np.where(
            is_a[None, None, :],
            np.swapaxes(cov_full[:, col, :p], 1, 2),
            B[:, :p, col],
        )  # (R, p, nf)
        t = np.swapaxes(left, 1, 2)[:, :, :, None] * np.swapaxes(right, 1, 2)[:, :, None, :]
        sym = t + np.swapaxes(t, -1, -2)
        diag_s = is_s & (row == col)
        t = np.where(diag_s[None, :, None, None], t, sym)
        t = np.where((is_a | is_s)[None, :, None, None], t, 0.0)
        R_ = t.shape[0]
        dsig = (scat.T @ t.reshape(R_, t.shape[1], -1)).reshape(R_, self.npar, p, p)
        if self.meanstructure:
            mu_part = np.where(
                is_a[None, None, :],
                left * mean_full[:, col][:, None, :],
                np.where(is_s[None, None, :], 0.0, left),
            )  # (R, p, nf)
            dmu = np.einsum("rin,nk->rki", mu_part, scat)
        else:
            dmu = np.zeros((th.shape[0], self.npar, p))
        return dsig, dmu

    def expected_information(self, theta: FloatArray) -> FloatArray:
        """Unit expected information (groups weighted by n_g/N), shape (k, k) or (R, k, k)."""
        assert self.groups is not None
        ntot = sum(gd.n for gd in self.groups)
        th = np.atleast_2d(theta)
        info = np.zeros((th.shape[0], self.npar, self.npar))
        for g in range(self.ngroups):
            n = self.groups[g].n
            sigma, _ = self.implied(th, g)
            inv = np.linalg.inv(sigma)
            dsig, dmu = self.moment_jacobian(th, g)
            H = inv[:, None] @ dsig  # (R, k, p, p)
            R, k = H.shape[0], H.shape[1]
            flat = H.reshape(R, k, -1)
            flat_t = np.swapaxes(H, -1, -2).reshape(R, k, -1)
            part = 0.5 * (flat @ np.swapaxes(flat_t, 1, 2))
            if self.meanstructure:
                part += dmu @ inv @ np.swapaxes(dmu, 1, 2)
            info += n / ntot * part
        return info[0] if np.ndim(theta) == 1 else info
