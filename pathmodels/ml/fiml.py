"""Full-information maximum likelihood for incomplete data (lavaan's ``missing = "ml"``).

Rows are grouped by missingness pattern; each pattern contributes the normal
log-likelihood of its observed variables, which depends on the data only through the
pattern's mean and covariance (Arbuckle, 1996; Enders, 2010, ch. 4):

``ℓ_k = −½ n_k [p_k log 2π + log|Σ_oo| + tr(Σ_oo⁻¹ (S_k + (ȳ_k − μ_o)(ȳ_k − μ_o)ᵀ))]``.

The objective minimised is ``−2ℓ/N``; its gradient reuses the RAM chain rule, and Fisher
scoring uses the pattern-wise expected information. Standard errors use the observed
information (the Hessian of −ℓ, by central differences of the analytic gradient), as
lavaan does with ``missing = "ml"``. The saturated model is fitted by EM (Little & Rubin,
2002, ch. 8); the baseline model has free means and variances and no covariances among
the non-exogenous variables, which under FIML separates into one problem per variable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pathmodels._typing import FloatArray
from pathmodels.ml.ram import GroupData, RamModel
from pathmodels.spec.table import ParameterTable

__all__ = ["FimlModel", "Pattern", "em_saturated", "missing_patterns"]

_LOG2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Pattern:
    """Rows sharing one missingness pattern."""

    observed: np.ndarray  # indices of observed variables
    n: int
    mean: FloatArray  # (p_k,)
    cov: FloatArray  # (p_k, p_k), divisor n
    mask: np.ndarray  # (p,) bool


def missing_patterns(X: FloatArray) -> list[Pattern]:
    """Group the rows of X (NaN = missing) by pattern; rows with nothing observed are skipped."""
    obs = ~np.isnan(X)
    keys, inverse = np.unique(obs, axis=0, return_inverse=True)
    out = []
    for k, key in enumerate(keys):
        if not key.any():
            continue
        rows = X[inverse.ravel() == k][:, key]
        mean = rows.mean(axis=0)
        c = rows - mean
        out.append(
            Pattern(np.flatnonzero(key), rows.shape[0], mean, c.T @ c / rows.shape[0], key.copy())
        )
    return out


def pattern_loglik(patterns: list[Pattern], sigma: FloatArray, mu: FloatArray) -> float:
    """Normal log-likelihood of incomplete data at (sigma, mu)."""
    total = 0.0
    for pat in patterns:
        o = pat.observed
        s = sigma[np.ix_(o, o)]
        sign, logdet = np.linalg.slogdet(s)
        if sign <= 0:
            return -np.inf
        inv = np.linalg.inv(s)
        d = pat.mean - mu[o]
        total += (
            -0.5 * pat.n * (o.size * _LOG2PI + logdet + np.trace(inv @ (pat.cov + np.outer(d, d))))
        )
    return float(total)


def em_saturated(
    X: FloatArray, patterns: list[Pattern], *, max_iter: int = 10_000, tol: float = 1e-12
) -> tuple[FloatArray, FloatArray, float]:
    """ML mean and covariance of incomplete normal data by EM.

    Returns
    -------
    mu, sigma, loglik
    """
    n, p = X.shape
    mu = np.nanmean(X, axis=0)
    sigma = np.diag(np.nanvar(X, axis=0))
    ll_old = -np.inf
    for _ in range(max_iter):
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for pat in patterns:
            o = pat.observed
            m = np.flatnonzero(~pat.mask)
            if m.size == 0:
                t1 += pat.n * pat.mean
                t2 += pat.n * (pat.cov + np.outer(pat.mean, pat.mean))
                continue
            soo = sigma[np.ix_(o, o)]
            smo = sigma[np.ix_(m, o)]
            beta = np.linalg.solve(soo, smo.T).T  # (m, o)
            cond = sigma[np.ix_(m, m)] - beta @ smo.T
            # Sufficient statistics of the pattern, with E[y_m | y_o] filled in.
            ym = mu[m] + beta @ (pat.mean - mu[o])
            full_mean = np.zeros(p)
            full_mean[o] = pat.mean
            full_mean[m] = ym
            cross = np.zeros((p, p))
            cross[np.ix_(o, o)] = pat.cov + np.outer(pat.mean, pat.mean)
            # E[y_m y_oᵀ] summed over rows = β (S_oo + ȳ ȳᵀ) + (μ_m − β μ_o) ȳᵀ
            e_mo = beta @ (pat.cov + np.outer(pat.mean, pat.mean)) + np.outer(
                mu[m] - beta @ mu[o], pat.mean
            )
            cross[np.ix_(m, o)] = e_mo
            cross[np.ix_(o, m)] = e_mo.T
            e_mm = beta @ (pat.cov + np.outer(pat.mean, pat.mean)) @ beta.T
            a = mu[m] - beta @ mu[o]
            e_mm += np.outer(a, pat.mean @ beta.T) + np.outer(beta @ pat.mean, a) + np.outer(a, a)
            e_mm += cond
            cross[np.ix_(m, m)] = e_mm
            t1 += pat.n * full_mean
            t2 += pat.n * cross
        mu = t1 / n
        sigma = t2 / n - np.outer(mu, mu)
        ll = pattern_loglik(patterns, sigma, mu)
        if abs(ll - ll_old) < tol * max(1.0, abs(ll)):
            break
        ll_old = ll
    return mu, sigma, pattern_loglik(patterns, sigma, mu)


class FimlModel(RamModel):
    """A RAM model whose objective is −2ℓ/N of incomplete data (single theta, not batched)."""

    def __init__(
        self, table: ParameterTable, groups: list[GroupData], patterns: list[list[Pattern]]
    ) -> None:
        super().__init__(table, groups)
        self.patterns = patterns
        self.ntot = sum(gd.n for gd in groups)

    def loglik(self, theta: FloatArray) -> float:
        """Log-likelihood of the incomplete data at theta."""
        total = 0.0
        for g, pats in enumerate(self.patterns):
            sigma, mu = self.implied(theta, g)
            total += pattern_loglik(pats, sigma, mu)
        return total

    def discrepancy(self, theta: FloatArray) -> FloatArray | float:  # type: ignore[override]
        """−2ℓ/N (+inf where a Σ_oo is not positive definite)."""
        if np.ndim(theta) == 2:
            return np.array([self.discrepancy(t) for t in theta])
        for g in range(self.ngroups):
            sigma, _ = self.implied(theta, g)
            if np.linalg.eigvalsh(sigma)[0] <= 0:
                return np.inf
        ll = self.loglik(theta)
        return -2.0 * ll / self.ntot if np.isfinite(ll) else np.inf

    def gradient(self, theta: FloatArray) -> FloatArray:
        """Analytic gradient of −2ℓ/N."""
        if np.ndim(theta) == 2:
            return np.vstack([self.gradient(t) for t in theta])
        grad = np.zeros(self.npar)
        p = self.p
        for g, pats in enumerate(self.patterns):
            B, cov_full, mean_full = self.full_moments(theta, g)
            sigma = cov_full[0, :p, :p]
            mu = mean_full[0, :p]
            W = np.zeros((p, p))
            wmean = np.zeros(p)
            for pat in pats:
                o = pat.observed
                inv = np.linalg.inv(sigma[np.ix_(o, o)])
                d = pat.mean - mu[o]
                outer = pat.cov + np.outer(d, d)
                W[np.ix_(o, o)] += pat.n * (inv - inv @ outer @ inv)
                wmean[o] += -2.0 * pat.n * (inv @ d)
            grad += self.chain_rule(
                g, B, cov_full, mean_full, W[None] / self.ntot, wmean[None] / self.ntot
            )[0]
        return grad

    def expected_information(self, theta: FloatArray) -> FloatArray:
        """Pattern-wise expected information (unit, weighted by n_k/N)."""
        if np.ndim(theta) == 2:
            return np.stack([self.expected_information(t) for t in theta])
        info = np.zeros((self.npar, self.npar))
        for g, pats in enumerate(self.patterns):
            sigma, _ = self.implied(theta, g)
            dsig, dmu = self.moment_jacobian(theta, g)
            dsig, dmu = dsig[0], dmu[0]
            for pat in pats:
                o = pat.observed
                inv = np.linalg.inv(sigma[np.ix_(o, o)])
                ds = dsig[:, o][:, :, o]
                H = np.einsum("ab,kbc->kac", inv, ds)
                part = 0.5 * np.einsum("kab,lba->kl", H, H)
                dm = dmu[:, o]
                part += dm @ inv @ dm.T
                info += pat.n / self.ntot * part
        return info

    def observed_information(self, theta: FloatArray) -> FloatArray:
        """Unit observed information: Hessian of −ℓ/N by central differences of the gradient."""
        k = self.npar
        H = np.zeros((k, k))
        # Steps on each parameter's own scale (its unit-information SD), so that variables
        # in very small or large units get steps that neither vanish nor swamp them.
        natural = 1.0 / np.sqrt(np.clip(np.diag(self.expected_information(theta)), 1e-300, None))
        for j in range(k):
            h = 1e-5 * max(abs(theta[j]), min(natural[j], 1.0))
            e = np.zeros(k)
            e[j] = h
            H[:, j] = (self.gradient(theta + e) - self.gradient(theta - e)) / (2 * h)
        H = 0.5 * (H + H.T)
        return 0.5 * H  # gradient is of −2ℓ/N
