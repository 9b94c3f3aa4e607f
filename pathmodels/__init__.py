"""pathmodels: longitudinal mediation and path analysis.

One frozen model spec (lavaan syntax or a builder) feeds ML fits that equal lavaan's,
effects with delta, bootstrap and Monte Carlo intervals, and (in later steps) Bayesian
fits, simulation and Monte Carlo power.

Examples
--------
>>> import pathmodels as pm
>>> spec = pm.mediation("arm", "employ", "qol")
>>> res = pm.fit(spec, pm.load_dataset("ips_trial"))
>>> sorted(set(res.effects["effect"]))
['direct', 'indirect', 'total', 'total_indirect']
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pathmodels.builders import chain, mediation
from pathmodels.data import list_datasets, load_dataset
from pathmodels.exceptions import (
    BackendUnavailableError,
    BoundaryWarning,
    ConvergenceWarning,
    DataError,
    InadmissibleSolutionWarning,
    ModelSyntaxError,
    PathModelsError,
    PathModelsWarning,
    SpecificationError,
)
from pathmodels.fit import fit
from pathmodels.library import list_models, load_model
from pathmodels.longitudinal import clpm, compare_random_intercepts, half_longitudinal, riclpm
from pathmodels.power import PowerResult, power
from pathmodels.results import Result, compare
from pathmodels.simulate import simulate
from pathmodels.spec import Spec

try:
    __version__ = version("pathmodels")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"

__all__ = [
    "BackendUnavailableError",
    "BayesResult",
    "BoundaryWarning",
    "ConvergenceWarning",
    "DataError",
    "InadmissibleSolutionWarning",
    "ModelSyntaxError",
    "PathModelsError",
    "PathModelsWarning",
    "PowerResult",
    "Result",
    "Spec",
    "SpecificationError",
    "__version__",
    "chain",
    "clpm",
    "compare",
    "compare_random_intercepts",
    "fit",
    "half_longitudinal",
    "list_datasets",
    "list_models",
    "load_dataset",
    "load_model",
    "mediation",
    "power",
    "riclpm",
    "simulate",
]


def __getattr__(name: str) -> object:
    """Load ``BayesResult`` on first use, so that ``import pathmodels`` stays light."""
    if name == "BayesResult":
        from pathmodels.bayes.result import BayesResult

        return BayesResult
    raise AttributeError(f"module 'pathmodels' has no attribute {name!r}")
