"""``pathmodels.fit``: one entry point for every backend."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pathmodels.exceptions import BackendUnavailableError, SpecificationError, close_matches
from pathmodels.results import Result
from pathmodels.spec import Spec, as_spec

__all__ = ["BACKENDS", "Backend", "fit"]

_SE = ("standard", "bootstrap")
_CI = ("delta", "percentile", "bc", "bca", "mc")
_MISSING = ("listwise", "fiml")


class Backend(Protocol):
    """What a backend provides: ``fit(spec, data, options) -> Result``."""

    def __call__(self, spec: Spec, data: Any, options: dict[str, Any]) -> Result:
        """Fit ``spec`` to ``data``."""
        ...


def _ml_backend(engine: str) -> Callable[[Spec, Any, dict[str, Any]], Result]:
    def run(spec: Spec, data: Any, options: dict[str, Any]) -> Result:
        from pathmodels import __version__
        from pathmodels.ml.backend import fit_ml
        from pathmodels.ml.data import prepare_data

        group = options["group"]
        ngroups = 1
        if group is not None:
            import pandas as pd

            if isinstance(data, pd.DataFrame) and group in data.columns:
                ngroups = int(data[group].dropna().nunique())
        has_means = any(op == "~1" for op in spec.table(ngroups=spec.min_groups).op)
        meanstructure = options["meanstructure"]
        if meanstructure is None:
            meanstructure = has_means or ngroups > 1 or options["missing"] == "fiml"
        table = spec.table(
            ngroups=ngroups,
            meanstructure=bool(meanstructure),
            group_equal=options["group_equal"],
            group_partial=options["group_partial"],
        )
        prepared = prepare_data(table, data, group=group, missing=options["missing"])
        theta = None
        if engine == "semopy":
            from pathmodels.ml.semopy_backend import semopy_estimates

            theta = semopy_estimates(table, prepared)
        kwargs = fit_ml(
            table,
            prepared,
            {**options, "meanstructure": bool(meanstructure)},
            pairs=options["effects"],
            theta_override=theta,
            engine=engine,
        )
        kwargs["info"]["version"] = __version__
        return Result(spec=spec, table=table, **kwargs)

    return run


BACKENDS: dict[str, Callable[[Spec, Any, dict[str, Any]], Result]] = {
    "pathmodels": _ml_backend("pathmodels"),
    "semopy": _ml_backend("semopy"),
}


def fit(
    model: Spec | str | Path,
    data: Any,
    *,
    estimator: str = "ML",
    backend: str = "pathmodels",
    missing: str = "listwise",
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    meanstructure: bool | None = None,
    se: str = "standard",
    n_boot: int = 2000,
    ci: str | None = None,
    n_mc: int = 20000,
    level: float = 0.95,
    seed: int | None = None,
    effects: Sequence[tuple[str, str]] | None = None,
    progress: bool = False,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    sampler: str = "pymc",
    priors: Any = None,
    binary: Sequence[str] = (),
    ordinal: Sequence[str] = (),
    link: str = "probit",
    target_accept: float = 0.9,
) -> Any:
    r"""Fit a path model or SEM by maximum likelihood.

    Parameters
    ----------
    model : Spec, str or Path
        A :class:`~pathmodels.spec.Spec`, lavaan syntax, a ``.lav``/``.yaml`` file or the
        name of a library model.
    data : pandas.DataFrame
        One row per participant; columns named as the model's observed variables.
    estimator : {"ML"}
        Normal-theory maximum likelihood (lavaan's default, N divisor).
    backend : {"pathmodels", "semopy"}
        ``"pathmodels"`` (default): our own numpy engine. ``"semopy"``: semopy's
        optimiser for the point estimates (single group, complete data, no general
        constraints), our code for everything else. Both agree with lavaan.
    missing : {"listwise", "fiml"}
        Listwise deletion (warns with the number of rows dropped) or FIML.
    group : str, optional
        Column defining groups for a multigroup fit.
    group_equal : sequence of str
        Parameter classes constrained equal across groups (lavaan's ``group.equal``):
        ``"loadings", "regressions", "intercepts", "means", "residuals",
        "residual.covariances", "lv.variances", "lv.covariances"``.
    group_partial : sequence of str
        Exceptions to ``group_equal``, e.g. ``["y~x"]``.
    meanstructure : bool, optional
        Model means; default: when the syntax has ``~1``, with groups or with FIML.
    se : {"standard", "bootstrap"}
        Expected-information SEs (as lavaan) or bootstrap SEs (SD of the draws).
    n_boot : int, default 2000
        Bootstrap replicates.
    ci : {"delta", "percentile", "bc", "bca", "mc"}, optional
        Interval type. Default ``"delta"`` (Wald: est ± z·SE), or ``"percentile"`` when
        ``se="bootstrap"``. ``"bc"`` is lavaan's ``bca.simple`` (bias-corrected),
        ``"bca"`` adds the jackknife acceleration (Efron, 1987); ``"mc"`` draws the
        estimates from their normal sampling distribution (MacKinnon et al., 2004).
    n_mc : int, default 20000
        Monte Carlo draws for ``ci="mc"``.
    level : float, default 0.95
        Confidence level.
    seed : int, optional
        Seed for bootstrap/Monte Carlo draws (numpy SeedSequence).
    effects : sequence of (cause, outcome), optional
        Pairs to decompose; default every exogenous variable → every final outcome.
    progress : bool, default False
        Show a progress bar on stderr during bootstrapping (or sampling).
    draws, tune, chains : int
        Bayesian backend only: posterior draws and tuning steps per chain, and chains.
    sampler : {"pymc", "nutpie"}
        Bayesian backend only: PyMC's NUTS or nutpie (extra ``bayes``).
    priors : mapping, optional
        Bayesian backend only: prior overrides per label, operator or parameter.
    binary, ordinal : sequence of str
        Bayesian backend only: variables with a Bernoulli (probit/logit) or cumulative
        probit likelihood.
    link : {"probit", "logit"}
        Bayesian backend only: link of binary variables.
    target_accept : float
        Bayesian backend only: NUTS target acceptance rate.

    Returns
    -------
    Result
        ``BayesResult`` (same tables plus ``idata``) for ``backend="pymc"``.

    Raises
    ------
    SpecificationError
        Unknown options, unidentified models.
    DataError
        Data that cannot be used with the model.

    Warns
    -----
    ConvergenceWarning, InadmissibleSolutionWarning, BoundaryWarning
        Listed on ``Result.warnings`` too.

    See Also
    --------
    compare : likelihood-ratio tests between fits.

    Notes
    -----
    Differences from lavaan are listed on the "Implementation choices vs lavaan" page of
    the docs.

    Examples
    --------
    >>> import pathmodels as pm
    >>> data = pm.load_dataset("ips_trial")
    >>> res = pm.fit("employ ~ a*arm\nqol ~ b*employ + arm\nind := a*b", data)
    >>> round(float(res.estimates.query("op == ':='")["est"].iloc[0]), 3) == round(
    ...     float(res.params["a"] * res.params["b"]), 3)
    True
    """
    t0 = time.perf_counter()
    if estimator.upper() != "ML":
        raise SpecificationError(
            f"estimator={estimator!r} is not available; the ML backend "
            "offers estimator='ML' (use backend='pymc' for Bayesian fits)"
        )
    _choice("se", se, _SE)
    _choice("missing", missing, _MISSING)
    if ci is None:
        ci = "percentile" if se == "bootstrap" else "delta"
    _choice("ci", ci, _CI)
    if not 0 < level < 1:
        raise SpecificationError(f"level={level} must lie between 0 and 1, e.g. 0.95")
    if n_boot < 10 and (se == "bootstrap" or ci in ("percentile", "bc", "bca")):
        raise SpecificationError(f"n_boot={n_boot} is too small; use at least 1000 for CIs")
    if backend not in BACKENDS and backend != "pymc":
        raise BackendUnavailableError(
            f"unknown backend {backend!r}; registered: {', '.join(sorted(BACKENDS))}, pymc. "
            + close_matches(backend, list(BACKENDS) + ["pymc"])
        )
    spec = as_spec(model)
    if backend == "pymc":
        try:
            from pathmodels.bayes import fit_bayes
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("pathmodels"):
                raise BackendUnavailableError(
                    "backend='pymc' is not available in this version; use backend='pathmodels'"
                ) from exc
            raise BackendUnavailableError(
                f"backend='pymc' needs {exc.name}; install it with pip install 'pathmodels[bayes]'"
            ) from exc
        return fit_bayes(
            spec,
            data,
            {
                "missing": missing,
                "group": group,
                "level": float(level),
                "seed": seed,
                "effects": None if effects is None else [tuple(p) for p in effects],
                "draws": int(draws),
                "tune": int(tune),
                "chains": int(chains),
                "sampler": sampler,
                "priors": priors,
                "binary": tuple(binary),
                "ordinal": tuple(ordinal),
                "link": link,
                "target_accept": float(target_accept),
                "progress": progress,
                "meanstructure": meanstructure,
            },
        )
    options: dict[str, Any] = {
        "estimator": "ML",
        "backend": backend,
        "missing": missing,
        "group": group,
        "group_equal": tuple(group_equal),
        "group_partial": tuple(group_partial),
        "meanstructure": meanstructure,
        "se": se,
        "n_boot": int(n_boot),
        "ci": ci,
        "n_mc": int(n_mc),
        "level": float(level),
        "seed": seed,
        "effects": None if effects is None else [tuple(p) for p in effects],
    }
    with single_threaded_blas():
        if progress and (se == "bootstrap" or ci in ("percentile", "bc", "bca")):
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("bootstrap", total=n_boot)
                options["progress_callback"] = lambda k: bar.advance(task, k)
                result = BACKENDS[backend](spec, data, options)
        else:
            result = BACKENDS[backend](spec, data, options)
    result.options.pop("progress_callback", None)
    result.info["elapsed_s"] = time.perf_counter() - t0
    result.info["numpy"] = np.__version__
    return result


_BLAS: Any = None


def single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread.

    pathmodels multiplies many small matrices; multithreaded OpenBLAS only adds
    synchronisation there and, on a loaded 2-core machine, made a trivariate RI-CLPM fit
    15x slower (838 ms vs 54 ms). The controller is built once and reused.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def _choice(name: str, value: str, valid: Sequence[str]) -> None:
    if value not in valid:
        raise SpecificationError(
            f"{name}={value!r} is not an option; " + close_matches(value, valid)
        )
