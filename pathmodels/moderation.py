"""Conditional (moderated) direct and indirect effects.

With a product term ``P = x·w`` in an equation (written ``x:w`` in the syntax, or a
precomputed column named in ``products``), the effect of x on that outcome at a moderator
value w₀ is ``β_x + β_P·w₀`` (Hayes, 2015; Preacher, Rucker & Hayes, 2007). pathmodels
builds the matrix of direct effects *at* w₀ — adding ``β_P·w₀`` to the x path of every
equation with the product and removing the product's own column — and decomposes it with
the same reduced-form code as unconditional effects, so first-stage, second-stage and
direct-path moderation are all covered. The index of moderated mediation (Hayes, 2015) is
the derivative of the conditional indirect effect with respect to w; it is constant when
only one stage is moderated, and reported at w = 0 otherwise with a note.

Intervals follow the fit's ``ci``: delta method, or the kept bootstrap / Monte Carlo draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from pathmodels._typing import FloatArray
from pathmodels.exceptions import SpecificationError, close_matches

if TYPE_CHECKING:
    from pathmodels.results import Result

__all__ = ["conditional_effects", "moderator_values"]


def moderator_values(result: Result, moderator: str, *, group: int = 1) -> dict[str, float]:
    """Default probe values: mean − SD, mean, mean + SD and the 16th/50th/84th percentiles."""
    summ = result.info.get("variable_summary", {})
    if moderator not in summ:
        raise SpecificationError(
            f"moderator {moderator!r} is not an observed variable of the fit; "
            + close_matches(moderator, list(summ))
        )
    s = summ[moderator][group - 1]
    if not s["sd"] > 0:
        raise SpecificationError(f"moderator {moderator!r} is constant; it cannot moderate")
    return {
        "mean-1sd": s["mean"] - s["sd"],
        "mean": s["mean"],
        "mean+1sd": s["mean"] + s["sd"],
        "p16": s["p16"],
        "p50": s["p50"],
        "p84": s["p84"],
    }


def _products(
    result: Result, moderator: str, products: Mapping[str, Sequence[str]] | None
) -> dict[str, str]:
    """Map each product variable to the focal predictor it moderates (x in x·w)."""
    observed = result.table.roles.observed
    found: dict[str, str] = {}
    for v in observed:
        if ":" in v:
            parts = v.split(":")
            if moderator in parts and len(parts) == 2:
                found[v] = parts[1 - parts.index(moderator)]
    for name, given in (products or {}).items():
        if name not in observed:
            raise SpecificationError(
                f"products: {name!r} is not a model variable; " + close_matches(name, observed)
            )
        parts = list(given)
        if len(parts) != 2 or moderator not in parts:
            raise SpecificationError(
                f"products[{name!r}] must name the two variables multiplied, one of them the "
                f"moderator {moderator!r}, e.g. products={{'xw': ('x', '{moderator}')}}"
            )
        found[name] = parts[1 - parts.index(moderator)]
    if not found:
        raise SpecificationError(
            f"no product term with {moderator!r} in the model; write it as x:{moderator} in "
            "the syntax or name a precomputed column with products={'xw': ('x', "
            f"'{moderator}')}}"
        )
    return found


def conditional_effects(
    result: Result,
    moderator: str,
    values: Mapping[str, float] | Sequence[float] | None = None,
    *,
    products: Mapping[str, Sequence[str]] | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    group: int = 1,
) -> pd.DataFrame:
    r"""Conditional direct, indirect and total effects at chosen moderator values.

    Parameters
    ----------
    result : Result
        An ML fit whose model has product terms with the moderator.
    moderator : str
        The moderating variable (w).
    values : mapping or sequence of float, optional
        Probe values; default mean ± 1 SD and the 16th/50th/84th percentiles.
    products : mapping, optional
        Precomputed product columns, ``{"xw": ("x", "w")}``; ``x:w`` terms are found
        automatically.
    pairs : sequence of (cause, outcome), optional
        Default: the fit's effect pairs whose cause is a focal predictor.
    group : int, default 1

    Returns
    -------
    pandas.DataFrame
        Columns ``moderator, at, value, cause, outcome, effect, path, est, se, z, pvalue,
        ci_lower, ci_upper``; ``effect`` is direct / indirect / total_indirect / total, plus
        ``index`` rows (index of moderated mediation for each indirect route).

    Examples
    --------
    >>> import numpy as np, pandas as pd, pathmodels as pm
    >>> rng = np.random.default_rng(1)
    >>> x, w = rng.standard_normal(400), rng.standard_normal(400)
    >>> m = 0.4 * x + 0.2 * w + 0.3 * x * w + rng.standard_normal(400)
    >>> y = 0.5 * m + rng.standard_normal(400)
    >>> data = pd.DataFrame({"x": x, "w": w, "m": m, "y": y})
    >>> res = pm.fit("m ~ x + w + x:w\ny ~ m + x", data)
    >>> tab = res.conditional_effects("w")
    >>> idx = tab[tab["effect"] == "index"]["est"].iloc[0]
    >>> bool(abs(idx - res.params["m~x:w"] * res.params["y~m"]) < 1e-8)
    True
    """
    from pathmodels.effects import decompose, default_pairs, is_recursive
    from pathmodels.ml.ram import RamModel

    prods = _products(result, moderator, products)
    if values is None:
        probe = moderator_values(result, moderator, group=group)
    elif isinstance(values, Mapping):
        probe = {str(k): float(v) for k, v in values.items()}
    else:
        probe = {f"{float(v):g}": float(v) for v in values}
    table = result.table
    model = RamModel(table)
    names = list(model.names)
    pos = model.pos
    structure = model.structure()
    cond_structure = structure.copy()
    for prod, focal in prods.items():
        j, x = pos[prod], pos[focal]
        for o in np.flatnonzero(structure[:, j]):
            cond_structure[o, x] = True
        cond_structure[:, j] = False
    if not is_recursive(cond_structure):
        raise SpecificationError("conditional effects need a recursive model")
    if pairs is None:
        exo = [
            names[j]
            for j in range(model.v)
            if not cond_structure[j].any() and names[j] not in prods
        ]
        pairs = [
            p for p in default_pairs(cond_structure, names, exo) if p[0] in set(prods.values())
        ]
    pairs = [tuple(p) for p in pairs]  # type: ignore[misc]

    def at(A: FloatArray, w0: float) -> list[Any]:
        """Effects decomposed from the direct effects at moderator value w0."""
        Bc = A.copy()
        for prod, focal in prods.items():
            j, x = pos[prod], pos[focal]
            Bc[:, :, x] += A[:, :, j] * w0
            Bc[:, :, j] = 0.0
        return decompose(Bc, cond_structure, names, pairs)

    def evaluate(theta: FloatArray) -> FloatArray:
        th = np.atleast_2d(theta)
        R = th.shape[0]
        A, _, _ = model.matrices(th, group - 1)
        out = [
            np.column_stack([np.broadcast_to(r.value, (R,)) for r in at(A, w0)])
            for w0 in probe.values()
        ]
        # Index of moderated mediation: d(indirect)/dw by a unit step from w = 0
        # (exact when one stage is moderated, the linear case).
        base, step = (
            np.column_stack(
                [np.broadcast_to(r.value, (R,)) for r in at(A, w0) if r.effect == "indirect"]
                or [np.zeros(R)]
            )
            for w0 in (0.0, 1.0)
        )
        out.append(step - base)
        return np.hstack(out)

    template = decompose(np.where(cond_structure, 1.0, 0.0)[None], cond_structure, names, pairs)
    indirect = [r for r in template if r.effect == "indirect"]
    theta = np.asarray(result.theta, dtype=float)
    est = evaluate(theta)[0]
    level = float(result.options.get("level", 0.95))
    zcrit = stats.norm.ppf(0.5 + level / 2)
    boot = result.boot
    if boot is not None:
        from pathmodels import intervals

        ok = boot.converged
        draws = evaluate(boot.theta[ok])
        se = draws.std(axis=0, ddof=1)
        ci = result.options.get("ci", "percentile")
        if ci == "bc":
            bounds = intervals.bias_corrected_interval(draws, est, level)
        elif ci == "bca" and boot.jackknife is not None:
            bounds = intervals.bca_interval(draws, est, evaluate(boot.jackknife), level)
        elif ci == "delta":
            bounds = np.column_stack([est - zcrit * se, est + zcrit * se])
        else:
            bounds = intervals.percentile_interval(draws, level)
        lo, hi = bounds[:, 0], bounds[:, 1]
    else:
        k = theta.size
        h = 1e-6 * np.maximum(1.0, np.abs(theta))
        both = evaluate(np.vstack([theta + np.diag(h), theta - np.diag(h)]))
        J = ((both[:k] - both[k:]) / (2 * h[:, None])).T
        V = result.vcov.to_numpy()
        se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", J, V, J), 0.0, None))
        lo, hi = est - zcrit * se, est + zcrit * se
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    pval = np.where(np.isfinite(z), 2 * stats.norm.sf(np.abs(z)), np.nan)
    records: list[dict[str, Any]] = []
    k = 0
    for label, w0 in probe.items():
        for r in template:
            records.append(
                {
                    "moderator": moderator,
                    "at": label,
                    "value": w0,
                    "cause": r.cause,
                    "outcome": r.outcome,
                    "effect": r.effect,
                    "path": r.path,
                }
            )
            k += 1
    for r in indirect or []:
        records.append(
            {
                "moderator": moderator,
                "at": "index",
                "value": np.nan,
                "cause": r.cause,
                "outcome": r.outcome,
                "effect": "index",
                "path": r.path,
            }
        )
    if not indirect:
        records.append(
            {
                "moderator": moderator,
                "at": "index",
                "value": np.nan,
                "cause": "",
                "outcome": "",
                "effect": "index",
                "path": "(no indirect route)",
            }
        )
    frame = pd.DataFrame.from_records(records)
    frame["est"], frame["se"], frame["z"], frame["pvalue"] = est, se, z, pval
    frame["ci_lower"], frame["ci_upper"] = lo, hi
    return frame
