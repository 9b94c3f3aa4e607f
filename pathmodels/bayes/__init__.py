"""Bayesian backend: the same Spec fitted with PyMC (NUTS or nutpie).

``pathmodels.fit(model, data, backend="pymc", ...)`` calls :func:`fit_bayes`, which

1. builds the parameter table with intercepts (``meanstructure``) and checks the data;
2. makes a :class:`~pathmodels.bayes.plan.Plan` — likelihood family, parametrisation,
   priors (:mod:`pathmodels.bayes.priors` documents the defaults and the ``priors=``
   keys), and refuses non-identified models before sampling;
3. compiles the PyMC model once per model structure (later fits of the same structure
   swap ``pm.Data`` values) and samples with BLAS pinned to one thread;
4. summarises the draws into a :class:`~pathmodels.bayes.result.BayesResult`: the ML
   result's tables plus R-hat and ESS, ``:=`` parameters and effects computed on every
   draw, natural (counterfactual) effects for binary/ordinal models, and an ArviZ
   ``DataTree``.

Importing this module does not import PyMC; the functions do.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pathmodels.bayes.power import BayesTestOutcome, interval_excludes_zero
from pathmodels.bayes.priors import Prior
from pathmodels.bayes.result import BayesResult, MixedScaleWarning
from pathmodels.exceptions import SpecificationError, close_matches

__all__ = [
    "BayesResult",
    "BayesTestOutcome",
    "MixedScaleWarning",
    "Prior",
    "compare",
    "fit_bayes",
    "interval_excludes_zero",
]

SAMPLERS = ("pymc", "nutpie")


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validate the Bayesian options of :func:`pathmodels.fit`; return them normalised.

    Raises
    ------
    SpecificationError
        A sampler that does not exist, non-positive draws/chains, a target_accept
        outside (0, 1), an unknown link.
    """
    opts = dict(options)
    defaults = {"draws": 1000, "tune": 1000, "chains": 4, "sampler": "pymc", "priors": None,
                "binary": (), "ordinal": (), "link": "probit", "target_accept": 0.9,
                "progress": False, "missing": "listwise", "group": None, "level": 0.95,
                "seed": None, "effects": None, "meanstructure": None}
    for k, v in defaults.items():
        opts.setdefault(k, v)
    if opts["sampler"] not in SAMPLERS:
        raise SpecificationError(f"sampler={opts['sampler']!r} is not available; "
                                 + close_matches(str(opts["sampler"]), SAMPLERS))
    for name, low in (("draws", 1), ("tune", 0), ("chains", 1)):
        try:
            val = int(opts[name])
        except (TypeError, ValueError):
            raise SpecificationError(f"{name}={opts[name]!r} must be an integer") from None
        if val < low or val != opts[name]:
            raise SpecificationError(f"{name}={opts[name]!r} must be an integer >= {low}")
        opts[name] = val
    if not 0.0 < float(opts["target_accept"]) < 1.0:
        raise SpecificationError(f"target_accept={opts['target_accept']} must lie in (0, 1), "
                                 "e.g. 0.9")
    if opts["link"] not in ("probit", "logit"):
        raise SpecificationError(f"link={opts['link']!r} is not an option; "
                                 + close_matches(str(opts["link"]), ("probit", "logit")))
    if isinstance(opts["binary"], str) or isinstance(opts["ordinal"], str):
        raise SpecificationError("binary= and ordinal= take a list of names, e.g. "
                                 "binary=['employ']")
    opts["binary"], opts["ordinal"] = tuple(opts["binary"]), tuple(opts["ordinal"])
    for name in ("binary", "ordinal"):
        vals = opts[name]
        if len(vals) > 1 and all(isinstance(v, str) and len(v) == 1 for v in vals):
            raise SpecificationError(
                f"{name}= takes a list of names, e.g. {name}=['{''.join(vals)}']; it received "
                f"the letters of {''.join(vals)!r}")
    if opts["priors"] is not None and not hasattr(opts["priors"], "items"):
        raise SpecificationError("priors= must be a mapping such as {'a': ('normal', 0, 1)}")
    if opts["sampler"] == "nutpie":
        import importlib.util

        if importlib.util.find_spec("nutpie") is None:
            from pathmodels.exceptions import BackendUnavailableError

            raise BackendUnavailableError("sampler='nutpie' needs nutpie; install it with "
                                          "pip install 'pathmodels[bayes]' or use sampler='pymc'")
    return opts


def prepare(spec: Any, data: Any, opts: dict[str, Any]) -> tuple[Any, bool]:
    """Table, prepared data and Plan of a Bayesian fit (no sampling).

    Returns
    -------
    (plan, report_means)
    """
    import pandas as pd

    from pathmodels.bayes.plan import Plan
    from pathmodels.ml.data import prepare_data

    group = opts["group"]
    ngroups = 1
    if group is not None and isinstance(data, pd.DataFrame) and group in data.columns:
        ngroups = int(data[group].dropna().nunique())
    table = spec.table(ngroups=ngroups, meanstructure=True,
                       group_equal=tuple(opts.get("group_equal", ()) or ()),
                       group_partial=tuple(opts.get("group_partial", ()) or ()))
    has_means = any(op == "~1" for op in spec.table(ngroups=spec.min_groups).op)
    report = opts["meanstructure"]
    if report is None:
        report = has_means or ngroups > 1 or opts["missing"] == "fiml"
    prepared = prepare_data(table, data, group=group, missing=opts["missing"])
    plan = Plan(table, prepared, binary=opts["binary"], ordinal=opts["ordinal"],
                link=opts["link"], priors=opts["priors"])
    if plan.discrete and plan.has_missing:
        raise SpecificationError(
            "missing='fiml' with binary= or ordinal= variables is not available: missing "
            "values are integrated out only in models of continuous variables. Use "
            "missing='listwise', or treat the variables as continuous")
    plan.check_identified(prepared.moments)
    from pathmodels.bayes.result import _pairs_and_fit

    _pairs_and_fit(plan, opts["effects"])  # unknown names in effects= fail before sampling
    return plan, bool(report)


def fit_bayes(spec: Any, data: Any, options: dict[str, Any]) -> BayesResult:
    r"""Fit a Spec by MCMC; the ``backend="pymc"`` branch of :func:`pathmodels.fit`.

    Parameters
    ----------
    spec : Spec
    data : pandas.DataFrame
    options : dict
        ``draws, tune, chains, sampler ("pymc" | "nutpie"), priors, binary, ordinal,
        link ("probit" | "logit"), target_accept, seed, missing ("listwise" | "fiml":
        missing endogenous values integrated out in the model, valid under MAR), group,
        level, effects, progress, meanstructure``.

    Returns
    -------
    BayesResult

    Raises
    ------
    SpecificationError
        Bad options, unknown prior keys (the message lists the valid ones), a model that
        is not identified, binary/ordinal variables in a model with latent variables.
    DataError
        Data the model cannot use, e.g. a binary variable with values other than 0/1.

    Warns
    -----
    ConvergenceWarning
        Divergences, tree-depth hits, R-hat > 1.01, low ESS (also in ``.warnings``).
    MixedScaleWarning
        A logit mediator's coefficient multiplied into an indirect effect.

    Examples
    --------
    >>> import pathmodels as pm
    >>> from pathmodels.bayes import fit_bayes
    >>> spec = pm.Spec.from_syntax("m ~ a*x\ny ~ b*m + x\nind := a*b")
    >>> # res = fit_bayes(spec, data, {"draws": 1000, "chains": 4, "seed": 1})
    """
    from pathmodels import __version__
    from pathmodels.bayes import sampling
    from pathmodels.bayes.result import make_result

    t0 = time.perf_counter()
    opts = check_options(options)
    plan, report_means = prepare(spec, data, opts)
    draws = sampling.run_sampler(plan, opts)
    import pymc

    info = {"version": __version__, "engine": "pymc", "pymc": pymc.__version__}
    if draws.sampler == "nutpie":
        import nutpie

        info["nutpie"] = nutpie.__version__
    result = make_result(spec, plan, draws, opts, info, opts["effects"], report_means)
    result.info["elapsed_s"] = time.perf_counter() - t0
    return result


def compare(*results: BayesResult, names: Sequence[str] | None = None) -> Any:
    """Compare Bayesian fits of the same data by PSIS-LOO (ArviZ's ``compare``).

    Parameters
    ----------
    *results : BayesResult
        Two or more fits to the same rows (e.g. full vs partial mediation, CLPM vs
        RI-CLPM on the same variables).
    names : sequence of str, optional
        Row names (default the spec names or ``model1``, ...).

    Returns
    -------
    pandas.DataFrame
        ArviZ's table, best model first: ``rank, elpd, p, elpd_diff, weight, se, dse,
        warning``.

    Raises
    ------
    SpecificationError
        Fewer than two results, a non-Bayesian result, or fits to different numbers of
        rows or of different outcome variables.
    """
    import warnings

    import arviz_stats as azs

    if len(results) < 2:
        raise SpecificationError("compare() needs at least two Bayesian fits")
    for r in results:
        if not isinstance(r, BayesResult):
            raise SpecificationError("pathmodels.bayes.compare() compares Bayesian fits "
                                     "(backend='pymc'); use pathmodels.compare() for ML fits")
    ns = {int(r.fit_measures["n"]) for r in results}
    if len(ns) > 1:
        raise SpecificationError(f"the fits use different numbers of rows ({sorted(ns)}); "
                                 "LOO compares models of the same data")
    outs = {tuple(r.state.plan.y_names) for r in results}
    if len({frozenset(o) for o in outs}) > 1:
        raise SpecificationError(
            "the fits model different endogenous variables ("
            + " vs ".join(", ".join(o) for o in outs) + "); their log-likelihoods are "
            "densities of different data and cannot be compared")
    labels = list(names) if names else [r.spec.name or f"model{i + 1}"
                                        for i, r in enumerate(results)]
    if len(set(labels)) < len(labels):
        labels = [f"{lab}_{i + 1}" for i, lab in enumerate(labels)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return azs.compare(dict(zip(labels, (r.idata for r in results), strict=True)))
