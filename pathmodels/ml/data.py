"""Check a user's data against a model and compute sample statistics.

Every check raises :class:`~pathmodels.exceptions.DataError` naming the column and the fix;
rows dropped by listwise deletion are counted and warned about, never dropped silently.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from types import FrameType

import numpy as np
import pandas as pd

from pathmodels._typing import FloatArray
from pathmodels.exceptions import DataError, MissingDataWarning, close_matches
from pathmodels.ml.ram import GroupData
from pathmodels.spec.table import ParameterTable

__all__ = ["MissingDataWarning", "PreparedData", "prepare_data"]


@dataclass(frozen=True)
class PreparedData:
    """Numeric data of the model's observed variables, split by group."""

    columns: tuple[str, ...]
    arrays: tuple[FloatArray, ...]  # one (n_g, p) array per group, NaN = missing
    group_labels: tuple[object, ...]
    moments: tuple[GroupData, ...]
    n_dropped: int
    complete: bool

    @property
    def n(self) -> int:
        """Total number of rows used."""
        return sum(a.shape[0] for a in self.arrays)


def _user_stacklevel() -> int:
    """``stacklevel`` that points a warning at the first caller outside pathmodels.

    Counted from the function that calls ``warnings.warn``, so the warning names the user's
    ``pm.fit(...)`` line however many of our own frames lie in between.
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame: FrameType | None = sys._getframe(1)  # the caller, which calls warnings.warn
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
        level += 1
    return level


def _check_frame(data: object) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, dict):
        frame = pd.DataFrame(data)
    else:
        raise DataError(
            f"data must be a pandas DataFrame (or a dict of columns), got {type(data).__name__}; "
            "read a CSV with pandas.read_csv(path)"
        )
    cols = [str(c) for c in frame.columns]
    dups = sorted(c for c, k in Counter(cols).items() if k > 1)
    if dups:
        raise DataError(
            f"duplicate column name(s) {', '.join(dups)}; rename them so each variable appears once"
        )
    if frame.shape[0] == 0:
        raise DataError("data has no rows")
    return frame


def _is_real_numeric(dtype: object) -> bool:
    """Numeric and real: complex numbers cannot be modelled (casting drops the imaginary part)."""
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def _numeric_column(frame: pd.DataFrame, name: str) -> FloatArray:
    col = frame[name]
    if pd.api.types.is_bool_dtype(col):
        return col.astype(float).to_numpy()
    if col.isna().all():
        raise DataError(
            f"column {name!r} is entirely missing; drop it from the model or supply its values"
        )
    if pd.api.types.is_complex_dtype(col):
        raise DataError(
            f"column {name!r} holds complex numbers; pathmodels models real "
            "values — keep the real part (e.g. data[col].real) or drop it"
        )
    if not pd.api.types.is_numeric_dtype(col):
        sample = col.dropna().astype(str).unique()[:3]
        raise DataError(
            f"column {name!r} is not numeric (values like {', '.join(map(repr, sample))}); "
            "recode it as numbers (e.g. 0/1 for a two-level factor)"
        )
    values = col.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(values).any():
        raise DataError(
            f"column {name!r} contains infinite values in rows "
            f"{np.flatnonzero(np.isinf(values))[:5].tolist()}; replace or drop them"
        )
    return values


def prepare_data(
    table: ParameterTable,
    data: object,
    *,
    group: str | None = None,
    missing: str = "listwise",
) -> PreparedData:
    """Validate data and compute per-group sample moments for a parameter table.

    Parameters
    ----------
    table : ParameterTable
    data : pandas.DataFrame
    group : str, optional
        Column holding the group of each row.
    missing : {"listwise", "fiml"}
        Listwise deletion drops incomplete rows (with a warning); FIML keeps them.

    Returns
    -------
    PreparedData

    Raises
    ------
    DataError
        Missing, duplicate, non-numeric, constant, all-missing or infinite columns, latent
        names that are columns, collinear variables, too few rows.
    """
    frame = _check_frame(data)
    roles = table.roles
    columns = [str(c) for c in frame.columns]
    needed = [v for v in roles.observed if ":" not in v]
    for inter in roles.interactions:
        needed += [part for part in inter.split(":") if part not in needed]
    absent = [v for v in needed if v not in columns]
    if absent:
        raise DataError(
            f"variable {absent[0]!r} of the model is not a column of the data; "
            + close_matches(absent[0], columns)
        )
    clash = [v for v in roles.latent if v in columns]
    if clash:
        raise DataError(
            f"{clash[0]!r} is a latent variable in the model (defined with =~) but also a "
            "column of the data; rename the latent variable"
        )
    dtypes = frame.dtypes
    numeric = [_is_real_numeric(dtypes[name]) for name in needed]
    if all(numeric):
        # Column by column: much cheaper than frame.loc[:, needed] on pandas 3.
        block = np.column_stack(
            [frame[name].to_numpy(dtype=float, na_value=np.nan) for name in needed]
        )
        if np.isinf(block).any():
            bad = needed[int(np.flatnonzero(np.isinf(block).any(axis=0))[0])]
            _numeric_column(frame, bad)  # raises with the rows named
        values = {name: block[:, j] for j, name in enumerate(needed)}
    else:
        values = {name: _numeric_column(frame, name) for name in needed}
    for inter in roles.interactions:
        parts = inter.split(":")
        prod = np.ones(frame.shape[0])
        for part in parts:
            prod = prod * values[part]
        values[inter] = prod
    matrix = np.column_stack([values[v] for v in roles.observed])
    for j, v in enumerate(roles.observed):
        if np.isnan(matrix[:, j]).all():
            raise DataError(
                f"column {v!r} is entirely missing; drop it from the model or supply its values"
            )

    # Groups.
    if group is not None:
        if group not in columns:
            raise DataError(
                f"group column {group!r} is not in the data; " + close_matches(group, columns)
            )
        if group in needed:
            raise DataError(
                f"group column {group!r} is also a variable of the model; a group "
                "column holds a few categories that split the sample — pass another "
                "column as group= or drop it from the model"
            )
        gcol = frame[group]
        if gcol.isna().any():
            raise DataError(
                f"group column {group!r} has {int(gcol.isna().sum())} missing "
                "value(s); drop those rows or give them a group"
            )
        labels = tuple(pd.unique(gcol))
        if len(labels) != table.ngroups:
            raise DataError(
                f"group column {group!r} has {len(labels)} groups but the table was "
                f"built for {table.ngroups}"
            )
        masks = [(gcol == lab).to_numpy() for lab in labels]
    else:
        labels = (1,)
        masks = [np.ones(frame.shape[0], dtype=bool)]

    incomplete = np.isnan(matrix).any(axis=1)
    n_dropped = 0
    if missing == "listwise":
        n_dropped = int(incomplete.sum())
        if n_dropped:
            warnings.warn(
                MissingDataWarning(
                    f"listwise deletion dropped {n_dropped} of {frame.shape[0]} rows with "
                    "missing values; use missing='fiml' to keep them (valid under MAR)"
                ),
                stacklevel=_user_stacklevel(),
            )
        keep = ~incomplete
    else:
        exo_cols = [j for j, v in enumerate(roles.observed) if v in roles.exogenous_x]
        exo_missing = (
            np.isnan(matrix[:, exo_cols]).any(axis=1)
            if exo_cols
            else np.zeros(matrix.shape[0], dtype=bool)
        )
        if exo_missing.any():
            warnings.warn(
                MissingDataWarning(
                    f"{int(exo_missing.sum())} row(s) have a missing exogenous covariate and "
                    "were dropped: with fixed.x the model conditions on covariates (as lavaan "
                    "does); to keep them, give the covariate a variance in the syntax "
                    "(e.g. 'x ~~ x') so that it is modelled"
                ),
                stacklevel=_user_stacklevel(),
            )
            matrix = matrix.copy()
            matrix[exo_missing] = np.nan
        all_missing = np.isnan(matrix).all(axis=1)
        n_dropped = int(all_missing.sum())
        if n_dropped > int(exo_missing.sum()):
            warnings.warn(
                MissingDataWarning(
                    f"{n_dropped} row(s) have every model variable missing and were dropped"
                ),
                stacklevel=_user_stacklevel(),
            )
        keep = ~all_missing
    n_used = int(keep.sum())
    if 2 <= n_used < table.npar:
        raise DataError(
            f"N = {n_used} rows is smaller than the {table.npar} free parameters; "
            "collect more data or simplify the model"
        )
    arrays = []
    moments = []
    p = len(roles.observed)
    for lab, mask in zip(labels, masks, strict=True):
        arr = matrix[mask & keep]
        shown = lab.item() if isinstance(lab, np.generic) else lab
        where = f" in group {shown!r}" if group is not None else ""
        if arr.shape[0] < 2:
            raise DataError(f"only {arr.shape[0]} usable row(s){where}; at least 2 are needed")
        if arr.shape[0] <= p:
            raise DataError(
                f"only {arr.shape[0]} usable rows{where} for {p} observed variables, so the "
                f"sample covariance matrix is singular; at least {p + 1} rows are needed — "
                "collect more data or drop variables from the model"
            )
        observed = ~np.isnan(arr)
        n_obs = observed.sum(axis=0)
        few = [roles.observed[j] for j in range(p) if n_obs[j] < 2]
        if few:
            raise DataError(
                f"column {few[0]!r} has {int(n_obs[roles.observed.index(few[0])])} "
                f"observed value(s){where}; at least 2 are needed to estimate its "
                "variance — supply more values or drop it from the model"
            )
        joint = observed.T.astype(float) @ observed.astype(float)
        never = np.argwhere(joint == 0)
        if never.size:
            a, b = roles.observed[never[0][0]], roles.observed[never[0][1]]
            raise DataError(
                f"variables {a!r} and {b!r} are never observed together{where} (no "
                "row has both), so their covariance cannot be estimated; FIML "
                "needs some rows where both are observed"
            )
        if missing == "listwise" or not np.isnan(arr).any():
            with np.errstate(over="ignore", invalid="ignore"):  # _check_scale reports overflow
                mean = arr.mean(axis=0)
                cov = np.cov(arr, rowvar=False, bias=True).reshape(arr.shape[1], arr.shape[1])
        else:
            mean = np.nanmean(arr, axis=0)
            # Pairwise covariances (start values only); N divisor so that complete
            # columns, such as fixed.x covariates, get their exact sample moments.
            counts = (~np.isnan(arr)).sum(axis=0)
            pair_n = np.minimum.outer(counts, counts).astype(float)
            cov = pd.DataFrame(arr).cov(min_periods=1).to_numpy() * (pair_n - 1) / pair_n
            # A pair seen together in one row only has no covariance; 0 is a start value.
            cov = np.where(np.isnan(cov) & ~np.eye(p, dtype=bool), 0.0, cov)
        _check_scale(arr, mean, cov, roles.observed, where)
        _check_collinear(cov, roles.observed, where)
        moments.append(GroupData(n=int(arr.shape[0]), cov=cov, mean=mean))
        arrays.append(arr)
    return PreparedData(
        columns=tuple(roles.observed),
        arrays=tuple(arrays),
        group_labels=labels,
        moments=tuple(moments),
        n_dropped=n_dropped,
        complete=not any(np.isnan(a).any() for a in arrays),
    )


# Largest ratio of two variances the engine is asked to handle. lavaan warns beyond 1e3;
# beyond 1e12 double precision leaves too few digits for the small variance (a variance of
# 1e-8 next to one of 1e4 is a unit problem, not a finding), so we refuse.
_MAX_VARIANCE_RATIO = 1e12


def _check_scale(
    arr: FloatArray, mean: FloatArray, cov: FloatArray, names: tuple[str, ...], where: str
) -> None:
    """Constant columns, overflowing values and variances too far apart to fit."""
    with np.errstate(invalid="ignore", over="ignore"):
        var = np.diag(cov)
        bad = [j for j in range(len(names)) if not (np.isfinite(var[j]) and np.isfinite(mean[j]))]
        if bad:
            j = bad[0]
            big = float(np.nanmax(np.abs(arr[:, j])))
            raise DataError(
                f"column {names[j]!r} has values as large as {big:.3g}{where}, too large for "
                "their variance to be computed in double precision; rescale it (e.g. divide by "
                "a power of 10 or standardise it)"
            )
        sd = np.sqrt(var)
    for j, name in enumerate(names):
        if sd[j] > 1e-12 * max(1.0, abs(mean[j])):
            continue
        col = arr[:, j][~np.isnan(arr[:, j])]
        if np.unique(col).size == 1:
            raise DataError(
                f"column {name!r} is constant{where} (every value is {col[0]:g}); "
                "a constant cannot be modelled — drop it from the model"
            )
        raise DataError(
            f"column {name!r} varies too little{where} to be modelled (SD {sd[j]:.3g} against "
            f"a mean of {mean[j]:.3g}); rescale it (e.g. subtract its mean and multiply by a "
            "power of 10, or standardise it) or drop it from the model"
        )
    hi, lo = int(np.argmax(var)), int(np.argmin(var))
    if var[hi] > _MAX_VARIANCE_RATIO * var[lo]:
        raise DataError(
            f"the variance of {names[hi]!r} ({var[hi]:.3g}) is {var[hi] / var[lo]:.3g} times that "
            f"of {names[lo]!r} ({var[lo]:.3g}){where}; variances this far apart cannot be "
            "fitted accurately — rescale the variables (e.g. change units or standardise) so "
            "their variances are within a factor of about 1000 of each other"
        )


def _check_collinear(cov: FloatArray, names: tuple[str, ...], where: str) -> None:
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    eigval, eigvec = np.linalg.eigh(corr)
    if eigval[0] > 1e-10:
        return
    vec = eigvec[:, 0]
    involved = [names[j] for j in np.argsort(-np.abs(vec)) if abs(vec[j]) > 0.1]
    raise DataError(
        f"variables {', '.join(involved)} are perfectly collinear{where} (one is a linear "
        "combination of the others), so the sample covariance matrix is singular; drop one "
        "of them"
    )
