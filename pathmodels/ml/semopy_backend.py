"""semopy adapter: semopy's optimiser for the point estimates, our code for the rest.

semopy's likelihood and optimiser are right on single-group, complete-data models once told
to converge tightly (its default stops early on latent-variable models while reporting
success). Everything else — SEs, fit measures, ``:=``, effects — is computed by our shared
code at semopy's estimates, and the result is checked: if semopy stopped away from the
optimum (gradient not small) we say so on the result.

This module is the only place that imports semopy; its names (``lval``, ``rval``,
``Estimate``) are mapped here.
"""

from __future__ import annotations

import numpy as np

from pathmodels._typing import FloatArray
from pathmodels.exceptions import BackendUnavailableError
from pathmodels.ml.data import PreparedData
from pathmodels.spec.table import ParameterTable

__all__ = ["semopy_estimates", "semopy_syntax"]


def _fmt(value: float) -> str:
    return repr(float(value))


def semopy_syntax(table: ParameterTable) -> str:
    """Write a table as explicit semopy syntax (every parameter spelled out)."""
    lines = []
    for i in range(table.n_rows):
        if table.exo[i]:
            continue  # semopy fixes exogenous covariate moments itself
        op, lhs, rhs = table.op[i], table.lhs[i], table.rhs[i]
        if table.free[i] > 0:
            mod = f"p{table.free[i]}*"
        else:
            mod = f"{_fmt(table.value[i])}*"
        lines.append(f"{lhs} {op} {mod}{rhs}")
    return "\n".join(lines)


def semopy_estimates(table: ParameterTable, data: PreparedData) -> FloatArray:
    """Fit with semopy and return our free-parameter vector at semopy's solution.

    Raises
    ------
    BackendUnavailableError
        semopy is missing, or the model needs what semopy gets wrong (several groups,
        means, missing data, general constraints): use ``backend="pathmodels"``.
    """
    reasons = []
    if table.ngroups > 1:
        reasons.append(
            "several groups (semopy fits each group separately, ignoring cross-group labels)"
        )
    if table.options.meanstructure:
        reasons.append("a mean structure")
    if not data.complete:
        reasons.append("missing values")
    if table.constraints:
        reasons.append("general constraints")
    if any(":" in v for v in table.roles.observed):
        reasons.append("interaction terms written x:w")
    if reasons:
        raise BackendUnavailableError(
            "backend='semopy' cannot fit this model ("
            + "; ".join(reasons)
            + "); use backend='pathmodels', which agrees with lavaan here"
        )
    try:
        import pandas as pd
        import semopy
    except ImportError as exc:  # pragma: no cover - semopy is a core dependency
        raise BackendUnavailableError("semopy is not installed; pip install semopy") from exc
    frame = pd.DataFrame(data.arrays[0], columns=list(table.roles.observed))
    model = semopy.Model(semopy_syntax(table), mimic_lavaan=True)
    model.fit(
        frame,
        obj="MLW",
        solver="SLSQP",
        clean_slate=True,
        options={"ftol": 1e-14, "maxiter": 20000},
    )
    active = [name for name, par in model.parameters.items() if par.active]
    params = dict(zip(active, np.asarray(model.param_vals, dtype=float), strict=True))
    theta = np.zeros(table.npar)
    for k in range(1, table.npar + 1):
        name = f"p{k}"
        if name not in params:
            raise BackendUnavailableError(
                f"semopy did not estimate parameter {k}; use backend='pathmodels'"
            )
        theta[k - 1] = params[name]
    return theta
