"""A Bayesian test for power studies: does the posterior interval exclude 0.

:func:`interval_excludes_zero` fits one dataset and returns a small, flat outcome that a
power loop can tabulate. It is built for many calls: the PyMC model is compiled on the
first call for a model structure and reused afterwards (only the data are swapped), no
posterior predictive, LOO or natural effects are computed, and warnings are counted in
the outcome instead of being raised per replicate.

Cost: with ``sampler="pymc"``, 2 chains x 500 draws of the IPS chain (N = 600) take about
1-2 s per replicate after the first (which compiles, 5-20 s) — roughly a thousand times an
ML fit. A power curve of 4 sample sizes x 500 replicates is an hour or more; keep it to
small designs, few replicates, or use it to confirm an ML-based power estimate.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pathmodels.exceptions import PathModelsWarning, SpecificationError, close_matches

__all__ = ["BayesTestOutcome", "interval_excludes_zero"]


@dataclass(frozen=True)
class BayesTestOutcome:
    """Result of one Bayesian interval test.

    Attributes
    ----------
    target : str
    est, sd : float
        Posterior mean and SD of the target.
    ci_lower, ci_upper : float
        Highest-density interval at ``level``.
    level : float
    excludes_zero : bool
        The interval lies entirely above or below 0 (the test "rejects").
    r_hat, ess_bulk : float
    divergences : int
    converged : bool
        No divergences, R-hat <= 1.01 and bulk ESS >= 100 per chain (capped at a quarter
        of the draws) for the target.
    seconds : float
        Wall time of this call (compile + sampling + summary).
    compiled : bool
        This call compiled the model (False: a cached model was reused).
    warnings : tuple of str
        Messages of warnings raised while preparing the data (e.g. listwise deletion).
    """

    target: str
    est: float
    sd: float
    ci_lower: float
    ci_upper: float
    level: float
    excludes_zero: bool
    r_hat: float
    ess_bulk: float
    divergences: int
    converged: bool
    seconds: float
    compiled: bool
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The outcome as a plain dict (for a DataFrame row)."""
        return asdict(self)


def interval_excludes_zero(
    model: Any,
    data: Any,
    target: str | tuple[str, str, str],
    *,
    level: float = 0.95,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    sampler: str = "pymc",
    priors: Any = None,
    binary: tuple[str, ...] = (),
    ordinal: tuple[str, ...] = (),
    link: str = "probit",
    missing: str = "listwise",
    group: str | None = None,
    target_accept: float = 0.9,
    seed: int | None = None,
) -> BayesTestOutcome:
    r"""Fit one dataset and report whether the posterior interval of ``target`` excludes 0.

    Parameters
    ----------
    model : Spec, str or Path
        As for :func:`pathmodels.fit`.
    data : pandas.DataFrame
    target : str or (cause, outcome, kind)
        A label (``"a"``), a ``:=`` parameter (``"ind"``), a parameter written
        ``"lhs~rhs"``, or an effect ``("arm", "qol", "total_indirect")``.
    level : float, default 0.95
        Probability of the highest-density interval.
    draws, tune, chains, sampler, priors, binary, ordinal, link, missing, group,
    target_accept, seed
        As for :func:`pathmodels.fit` with ``backend="pymc"``.

    Returns
    -------
    BayesTestOutcome

    Raises
    ------
    SpecificationError
        Unknown target (the message lists the valid names), bad options.

    Notes
    -----
    Hook for :func:`pathmodels.power`: call it once per simulated dataset with the
    replicate's seed (``SeedSequence(seed, spawn_key=(design, replicate))`` drawn into an
    int) and count ``excludes_zero``; count non-converged replicates as the power module
    counts ML non-convergence. The first call per model structure compiles (seconds); the
    rest reuse the compiled model in the same process (with ``n_jobs`` > 1 each worker
    compiles once).

    Examples
    --------
    >>> import pathmodels as pm
    >>> from pathmodels.bayes import interval_excludes_zero
    >>> data = pm.load_dataset("ips_trial")
    >>> out = interval_excludes_zero("employ ~ a*arm\\nqol ~ b*employ\\nind := a*b",
    ...                              data, "ind", draws=200, tune=200, seed=1
    ...                              )  # doctest: +SKIP
    >>> out.excludes_zero  # doctest: +SKIP
    True
    """
    from pathmodels.bayes import check_options, prepare, sampling
    from pathmodels.bayes.draws import hdi, summarise
    from pathmodels.bayes.result import _pairs_and_fit
    from pathmodels.spec import as_spec

    t0 = time.perf_counter()
    if not 0 < level < 1:
        raise SpecificationError(f"level={level} must lie between 0 and 1, e.g. 0.95")
    if missing not in ("listwise", "fiml"):
        raise SpecificationError(f"missing={missing!r} is not an option; "
                                 + close_matches(missing, ("listwise", "fiml")))
    spec = as_spec(model)
    pairs = [tuple(target[:2])] if isinstance(target, tuple) else None
    opts = check_options({"draws": draws, "tune": tune, "chains": chains, "sampler": sampler,
                          "priors": priors, "binary": binary, "ordinal": ordinal,
                          "link": link, "target_accept": target_accept, "seed": seed,
                          "missing": missing, "group": group, "level": level,
                          "effects": pairs})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PathModelsWarning)
        plan, _ = prepare(spec, data, opts)
    fit = _pairs_and_fit(plan, pairs)
    column = _target_column(plan, fit, target)
    out = sampling.run_sampler(plan, opts)
    R = out.chains * out.draws
    theta = out.theta.reshape(R, plan.npar)
    with np.errstate(all="ignore"):
        x = column(theta)
    sm = summarise(x[:, None], out.chains, level)
    lo, hi = hdi(x[:, None], level)[0]
    divergences = int(out.diverging.sum())
    ess_min = min(100.0 * out.chains, R / 4.0)
    converged = bool(divergences == 0 and np.isfinite(sm["r_hat"][0])
                     and sm["r_hat"][0] <= 1.01 and sm["ess_bulk"][0] >= ess_min)
    return BayesTestOutcome(
        target=target if isinstance(target, str) else " ".join(target),
        est=float(sm["mean"][0]), sd=float(sm["sd"][0]), ci_lower=float(lo),
        ci_upper=float(hi), level=float(level),
        excludes_zero=bool(np.isfinite(lo) and (lo > 0 or hi < 0)),
        r_hat=float(sm["r_hat"][0]), ess_bulk=float(sm["ess_bulk"][0]),
        divergences=divergences, converged=converged, seconds=time.perf_counter() - t0,
        compiled=not out.reused, warnings=tuple(str(w.message) for w in caught),
    )


def _target_column(plan: Any, fit: Any, target: str | tuple[str, str, str]) -> Any:
    """A function theta (R, k) -> draws (R,) of the target."""
    if isinstance(target, tuple):
        if len(target) != 3:
            raise SpecificationError("an effect target is (cause, outcome, kind), e.g. "
                                     "('arm', 'qol', 'total_indirect')")
        keys = fit.effect_keys
        hits = [j for j, k in enumerate(keys) if k.cause == target[0]
                and k.outcome == target[1] and (k.effect == target[2] or k.path == target[2])
                and k.group == 1]
        if not hits:
            valid = sorted({k.effect for k in keys} | {k.path for k in keys if k.path})
            raise SpecificationError(f"no {target[2]!r} effect of {target[0]} on {target[1]}; "
                                     + close_matches(target[2], valid))
        j = hits[0]
        return lambda theta: fit.derived(theta).effects[:, j]
    names = {n: k for k, n in enumerate(plan.param_names)}
    defined = [n for n, _ in plan.table.definitions]
    if target in defined:
        j = defined.index(target)
        return lambda theta: fit.derived(theta, effects=False).defined[:, j]
    if target in names:
        k = names[target]
        return lambda theta: theta[:, k]
    keyed = {}
    for k in range(plan.npar):
        for i in plan._param_rows[k]:
            keyed[plan.row_key(i, with_group=False)] = k
            keyed[plan.row_key(i, with_group=True)] = k
    if target.replace(" ", "") in keyed:
        k = keyed[target.replace(" ", "")]
        return lambda theta: theta[:, k]
    valid = sorted(set(names) | set(defined) | set(keyed))
    raise SpecificationError(f"target {target!r} is not a parameter of the model; "
                             + close_matches(target, valid))
