"""Compile (once per model structure) and sample.

A compiled model is cached under :func:`~pathmodels.bayes.model.structure_key`; a second
fit of the same structure — another dataset in a power loop, a refit with other priors of
the same families — only swaps the ``pm.Data`` values. Nothing else carries over: every
fit starts from its own initial values, mass matrix and seed, so a fit never depends on
an earlier one.

BLAS and OpenMP are pinned to one thread while sampling (threadpoolctl); with two cores,
multithreaded BLAS inside two sampling processes oversubscribes the CPU badly.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pathmodels.bayes.model import (
    build_model,
    data_values,
    packed_values,
    raw_from_draws,
    rv_names,
    structure_key,
)
from pathmodels.bayes.plan import Plan
from pathmodels.exceptions import BackendUnavailableError

__all__ = ["Draws", "compiled", "prior_draws", "run_sampler"]

_CACHE: OrderedDict[Any, Bundle] = OrderedDict()
_CACHE_SIZE = 16
MAX_TREEDEPTH = 10


@dataclass
class Bundle:
    """A PyMC model and its compiled samplers, for one model structure."""

    model: Any
    build_seconds: float
    nutpie: Any = None
    uses: int = 0


@dataclass(frozen=True)
class Draws:
    """Raw output of a sampler (or of the prior, when sampling is mocked).

    Attributes
    ----------
    theta : array (chains, draws, k)
    taus : dict (var, group) -> array (chains, draws, K - 1)
    diverging, max_depth : bool arrays (chains, draws)
    tree_depth : int array (chains, draws)
    step_size : float array (chains,)
    sampler : str
    compile_seconds, sampling_seconds : float
    seed : int
    reused : bool
        The compiled model came from the cache (data swapped, nothing recompiled).
    """

    theta: np.ndarray
    taus: dict[tuple[str, int], np.ndarray]
    diverging: np.ndarray
    tree_depth: np.ndarray
    max_depth: np.ndarray
    step_size: np.ndarray
    sampler: str
    compile_seconds: float
    sampling_seconds: float
    seed: int
    reused: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def chains(self) -> int:
        """Number of chains."""
        return int(self.theta.shape[0])

    @property
    def draws(self) -> int:
        """Draws per chain."""
        return int(self.theta.shape[1])


def compiled(plan: Plan) -> tuple[Bundle, bool, float]:
    """The cached model for this plan's structure, with this plan's data set.

    Returns
    -------
    (bundle, reused, seconds)
        ``reused`` is True when nothing was built; ``seconds`` is the build time.
    """
    import pymc as pm

    key = structure_key(plan)
    t0 = time.perf_counter()
    bundle = _CACHE.get(key)
    reused = bundle is not None
    if bundle is None:
        model = build_model(plan)
        bundle = Bundle(model=model, build_seconds=time.perf_counter() - t0)
        _CACHE[key] = bundle
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
        pm.set_data(packed_values(data_values(plan)), model=bundle.model)
    bundle.uses += 1
    return bundle, reused, time.perf_counter() - t0


def clear_cache() -> None:
    """Forget every compiled model (frees memory; the next fit recompiles)."""
    _CACHE.clear()


def _cores(chains: int) -> int:
    return max(1, min(chains, 2, os.cpu_count() or 1))


def _var_names(plan: Plan) -> list[str]:
    # Only the sampled variables are stored; theta is computed afterwards in numpy
    # (Plan.theta_from_raw), which spares the samplers a deterministic per draw.
    return rv_names(plan)


def _theta_and_taus(plan: Plan, post: Any) -> tuple[np.ndarray, dict[tuple[str, int], Any]]:
    values = {name: np.asarray(post[name].values) for name in rv_names(plan)}
    first = next(iter(values.values()))
    chains, draws = first.shape[:2]
    raw = raw_from_draws(plan, values)
    theta = plan.theta_from_raw(raw).reshape(chains, draws, plan.npar)
    taus = {k: raw[:, start:start + count].reshape(chains, draws, count)
            for k, (start, count) in plan.thresholds.items()}
    return theta, taus


def _seed(seed: int | None) -> int:
    if seed is not None:
        return int(seed)
    return int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))


def run_sampler(plan: Plan, options: dict[str, Any]) -> Draws:
    """Sample the posterior of a plan with PyMC's NUTS or nutpie.

    Parameters
    ----------
    plan : Plan
    options : dict
        ``draws, tune, chains, sampler, target_accept, seed, progress``.

    Returns
    -------
    Draws
    """
    from threadpoolctl import threadpool_limits

    sampler = options["sampler"]
    seed = _seed(options.get("seed"))
    t0 = time.perf_counter()
    bundle, reused, _ = compiled(plan)
    chains, draws, tune = int(options["chains"]), int(options["draws"]), int(options["tune"])
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*samples per chain.*")
        # PyMC's worker processes fork a process that has (idle) numba/BLAS threads.
        warnings.filterwarnings("ignore", message=".*use of fork\\(\\) may lead to deadlocks.*",
                                category=DeprecationWarning)
        if sampler == "nutpie":
            return _run_nutpie(plan, bundle, reused, options, seed, t0, chains, draws, tune)
        return _run_pymc(plan, bundle, reused, options, seed, t0, chains, draws, tune)


def _run_pymc(plan: Plan, bundle: Bundle, reused: bool, options: dict[str, Any], seed: int,
              t0: float, chains: int, draws: int, tune: int) -> Draws:
    import pymc as pm

    progress = bool(options.get("progress"))
    idata = pm.sample(
        draws=draws, tune=tune, chains=chains, cores=_cores(chains), random_seed=seed,
        nuts_sampler="pymc", model=bundle.model, progressbar=progress, quiet=not progress,
        compute_convergence_checks=False, var_names=_var_names(plan),
        target_accept=float(options["target_accept"]),
    )
    total = time.perf_counter() - t0
    post = idata["posterior"]
    sampling = float(post.attrs.get("sampling_time", total))
    stats = idata["sample_stats"]
    depth = np.asarray(stats["tree_depth"].values, dtype=np.int64)
    reached = np.asarray(stats["reached_max_treedepth"].values, dtype=bool) if \
        "reached_max_treedepth" in stats else depth >= MAX_TREEDEPTH
    step = np.asarray(stats["step_size"].values, dtype=float)[:, -1]
    theta, taus = _theta_and_taus(plan, post)
    return Draws(
        theta=theta, taus=taus,
        diverging=np.asarray(stats["diverging"].values, dtype=bool),
        tree_depth=depth, max_depth=reached, step_size=step, sampler="pymc",
        compile_seconds=max(total - sampling, 0.0), sampling_seconds=sampling, seed=seed,
        reused=reused,
    )


def _run_nutpie(plan: Plan, bundle: Bundle, reused: bool, options: dict[str, Any], seed: int,
                t0: float, chains: int, draws: int, tune: int) -> Draws:
    try:
        import nutpie
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendUnavailableError(
            "sampler='nutpie' needs the nutpie package; install it with pip install "
            "'pathmodels[bayes]', or use sampler='pymc'") from exc
    if bundle.nutpie is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bundle.nutpie = nutpie.compile_pymc_model(bundle.model, var_names=_var_names(plan))
        model = bundle.nutpie
    else:
        model = bundle.nutpie.with_data(**packed_values(data_values(plan)))
    compile_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    idata = nutpie.sample(model, draws=draws, tune=tune, chains=chains, cores=_cores(chains),
                          seed=seed, progress_bar=bool(options.get("progress")),
                          target_accept=float(options["target_accept"]), save_warmup=False)
    sampling = time.perf_counter() - t1
    post = idata["posterior"]
    stats = idata["sample_stats"]
    depth = np.asarray(stats["depth"].values, dtype=np.int64)
    reached = np.asarray(stats["maxdepth_reached"].values, dtype=bool)
    step = np.asarray(stats["step_size"].values, dtype=float)[:, -1]
    theta, taus = _theta_and_taus(plan, post)
    return Draws(
        theta=theta, taus=taus,
        diverging=np.asarray(stats["diverging"].values, dtype=bool),
        tree_depth=depth, max_depth=reached, step_size=step, sampler="nutpie",
        compile_seconds=compile_s, sampling_seconds=sampling, seed=seed, reused=reused,
    )


def prior_draws(plan: Plan, *, chains: int, draws: int, seed: int | None) -> Draws:
    """Draws from the prior, shaped like a sampler's output.

    Used by prior predictive checks, and to stand in for sampling in tests and docs.
    Drawn in numpy from the documented priors (no compilation).
    """
    seed_ = _seed(seed)
    t0 = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence(seed_))
    raw = plan.sample_prior_raw(chains * draws, rng)
    theta = plan.theta_from_raw(raw).reshape(chains, draws, plan.npar)
    taus = {k: raw[:, start:start + count].reshape(chains, draws, count)
            for k, (start, count) in plan.thresholds.items()}
    zeros = np.zeros((chains, draws))
    return Draws(
        theta=theta, taus=taus, diverging=zeros.astype(bool),
        tree_depth=zeros.astype(np.int64), max_depth=zeros.astype(bool),
        step_size=np.zeros(chains), sampler="prior",
        compile_seconds=time.perf_counter() - t0, sampling_seconds=0.0, seed=seed_,
        reused=False,
    )
