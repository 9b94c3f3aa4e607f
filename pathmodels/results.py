"""Result objects shared by every backend.

A :class:`Result` is frozen: its tables are built once, in shared code, from estimates
plus their sampling covariance (ML) or from draws (bootstrap, Monte Carlo).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pathmodels.exceptions import SpecificationError, close_matches

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pathmodels.spec import ParameterTable, Spec

__all__ = ["ESTIMATE_COLUMNS", "EFFECT_COLUMNS", "FIT_KEYS", "BootstrapDraws", "Result", "compare"]

ESTIMATE_COLUMNS = (
    "lhs",
    "op",
    "rhs",
    "label",
    "group",
    "est",
    "se",
    "z",
    "pvalue",
    "ci_lower",
    "ci_upper",
    "std_all",
)
EFFECT_COLUMNS = (
    "cause",
    "outcome",
    "effect",
    "path",
    "group",
    "est",
    "se",
    "z",
    "pvalue",
    "ci_lower",
    "ci_upper",
    "std_all",
)
FIT_KEYS = (
    "chisq",
    "df",
    "pvalue",
    "cfi",
    "tli",
    "rmsea",
    "rmsea_ci_lower",
    "rmsea_ci_upper",
    "srmr",
    "aic",
    "bic",
    "loglik",
    "n",
    "npar",
    "converged",
)


@dataclass(frozen=True)
class BootstrapDraws:
    """Kept bootstrap (or Monte Carlo) draws.

    Attributes
    ----------
    kind : {"bootstrap", "mc"}
    theta : array (R, k)
        Free-parameter draws; rows of failed replicates are NaN.
    converged : bool array (R,)
    admissible : bool array (R,)
    seed : int or None
    jackknife : array (n, k) or None
        Leave-one-out estimates, kept for BCa intervals.
    values : array or None
        Each kept draw of every row of ``estimates`` followed by every row of ``effects``
        (failed replicates left out), so that other interval types need no new draws.
    jackknife_values : array or None
        The same quantities at the leave-one-out fits (BCa).
    """

    kind: str
    theta: np.ndarray
    converged: np.ndarray
    admissible: np.ndarray
    seed: int | None
    jackknife: np.ndarray | None = None
    values: np.ndarray | None = None  # (n_ok, q) draws of estimates, := and effects rows
    jackknife_values: np.ndarray | None = None  # (n, q) the same at leave-one-out fits

    @property
    def n_draws(self) -> int:
        """Number of replicates requested."""
        return int(self.theta.shape[0])

    @property
    def n_failed(self) -> int:
        """Replicates whose fit did not converge (excluded from the intervals)."""
        return int((~self.converged).sum())

    @property
    def n_inadmissible(self) -> int:
        """Converged replicates with an inadmissible solution (kept, as lavaan does)."""
        return int((self.converged & ~self.admissible).sum())


@dataclass(frozen=True)
class Result:
    """The fit of a model to data.

    Attributes
    ----------
    spec : Spec
        The model fitted.
    table : ParameterTable
        Its parameter table for this fit (groups, mean structure).
    estimates : pandas.DataFrame
        One row per parameter incl. ``:=`` rows; columns ``lhs, op, rhs, label, group,
        est, se, z, pvalue, ci_lower, ci_upper, std_all`` (lavaan's
        ``parameterEstimates`` with ``standardizedSolution``'s ``std.all``).
    effects : pandas.DataFrame
        Direct, specific indirect, total indirect and total effects with SE and CI.
    fit_measures : dict
        lavaan's fit indices (names with ``.`` → ``_``), plus ``loglik``, ``n``,
        ``converged``.
    vcov : pandas.DataFrame
        Sampling covariance of the free parameters.
    converged : bool
    warnings : tuple of str
        Inadmissible solutions, boundary estimates, non-convergence.
    options : dict
        Everything that shaped the fit (estimator, se, ci, level, missing, group, seed...).
    info : dict
        Versions, timings, number of iterations, dropped rows, group labels.
    boot : BootstrapDraws or None
        Draws behind bootstrap or Monte Carlo intervals.
    """

    spec: Spec
    table: ParameterTable
    estimates: pd.DataFrame
    effects: pd.DataFrame
    fit_measures: dict[str, float]
    vcov: pd.DataFrame
    converged: bool
    warnings: tuple[str, ...]
    options: dict[str, Any]
    info: dict[str, Any]
    boot: BootstrapDraws | None = None
    theta: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    # ------------------------------------------------------------------ accessors
    @property
    def params(self) -> pd.Series:
        """Estimates indexed like lavaan's ``coef()``: label or ``lhs op rhs``."""
        est = self.estimates
        keys = [
            lab if lab else f"{lhs}{o}{r}" + (f".g{g}" if self.table.ngroups > 1 else "")
            for lab, lhs, o, r, g in zip(
                est["label"], est["lhs"], est["op"], est["rhs"], est["group"], strict=True
            )
        ]
        return pd.Series(est["est"].to_numpy(), index=keys, name="est")

    def effect(self, cause: str, outcome: str, *, kind: str = "total_indirect") -> pd.Series:
        """One row of :attr:`effects`.

        Parameters
        ----------
        cause, outcome : str
        kind : {"direct", "total_indirect", "total"} or a route like ``"x -> m -> y"``

        Returns
        -------
        pandas.Series
        """
        eff = self.effects
        sel = eff[(eff["cause"] == cause) & (eff["outcome"] == outcome)]
        if sel.empty:
            pairs = sorted(
                {f"{c} -> {o}" for c, o in zip(eff["cause"], eff["outcome"], strict=True)}
            )
            raise SpecificationError(
                f"no effects computed for {cause} -> {outcome}; "
                + close_matches(f"{cause} -> {outcome}", pairs)
                + "; pass effects=[(cause, outcome)] to fit()"
            )
        row = (
            sel[sel["effect"] == kind]
            if kind in ("direct", "total_indirect", "total", "indirect")
            else sel[sel["path"] == kind]
        )
        if row.empty:
            raise SpecificationError(
                f"no {kind!r} effect for {cause} -> {outcome}; available: "
                + ", ".join(sorted(set(sel["effect"]) | set(sel["path"])))
            )
        return row.iloc[0]

    def with_intervals(self, ci: str, *, level: float | None = None) -> Result:
        """The same fit with intervals of another type computed from the kept draws.

        Parameters
        ----------
        ci : {"percentile", "bc", "bca", "delta"}
            ``"bca"`` needs a fit made with ``ci="bca"`` (which keeps the jackknife);
            ``"delta"`` means est ± z·SE with the SE of the fit.
        level : float, optional
            Default: the fit's level.

        Returns
        -------
        Result
            A copy whose ``ci_lower``/``ci_upper`` columns (estimates and effects) follow
            ``ci``; no replicate is refitted.

        Raises
        ------
        SpecificationError
            The fit kept no draws, or BCa was asked of a fit without jackknife values.
        """
        import dataclasses

        from scipy import stats

        from pathmodels import intervals

        lvl = float(self.options.get("level", 0.95) if level is None else level)
        est = np.concatenate([self.estimates["est"].to_numpy(), self.effects["est"].to_numpy()])
        se = np.concatenate([self.estimates["se"].to_numpy(), self.effects["se"].to_numpy()])
        if ci == "delta":
            z = stats.norm.ppf(0.5 + lvl / 2)
            bounds = np.column_stack([est - z * se, est + z * se])
        else:
            boot = self.boot
            if boot is None or boot.values is None:
                raise SpecificationError(
                    f"ci={ci!r} needs draws; fit with se='bootstrap' (or ci='mc') first"
                )
            if ci == "percentile":
                bounds = intervals.percentile_interval(boot.values, lvl)
            elif ci == "bc":
                bounds = intervals.bias_corrected_interval(boot.values, est, lvl)
            elif ci == "bca":
                if boot.jackknife_values is None:
                    raise SpecificationError(
                        "ci='bca' needs the jackknife; fit with ci='bca' and then ask for the "
                        "other interval types with with_intervals()"
                    )
                bounds = intervals.bca_interval(boot.values, est, boot.jackknife_values, lvl)
            else:
                raise SpecificationError(
                    f"ci={ci!r} is not an option; "
                    + close_matches(ci, ["percentile", "bc", "bca", "delta"])
                )
        fixed = se == 0
        lo = np.where(fixed, est, bounds[:, 0])
        hi = np.where(fixed, est, bounds[:, 1])
        ne = len(self.estimates)
        estimates = self.estimates.assign(ci_lower=lo[:ne], ci_upper=hi[:ne])
        effects = self.effects.assign(ci_lower=lo[ne:], ci_upper=hi[ne:])
        options = {**self.options, "ci": ci, "level": lvl}
        return dataclasses.replace(self, estimates=estimates, effects=effects, options=options)

    def missing_patterns(self, group: int = 1) -> pd.DataFrame:
        """Missing-data patterns: one row per pattern, 1 = observed, with its count."""
        info = self.info["missing"][group - 1]
        names = info["variables"]
        rows = [
            {"n": p["n"], **{v: int(v in p["observed"]) for v in names}} for p in info["patterns"]
        ]
        return pd.DataFrame(rows, columns=["n", *names])

    def coverage(self, group: int = 1) -> pd.DataFrame:
        """Covariance coverage: the proportion of rows observing each pair of variables."""
        info = self.info["missing"][group - 1]
        names = info["variables"]
        return pd.DataFrame(info["coverage"], index=names, columns=names)

    def conditional_effects(
        self, moderator: str, values: Any = None, **kwargs: Any
    ) -> pd.DataFrame:
        """Conditional effects at moderator values.

        See :func:`pathmodels.moderation.conditional_effects` for the parameters.
        """
        from pathmodels.moderation import conditional_effects

        return conditional_effects(self, moderator, values, **kwargs)

    # ------------------------------------------------------------------ output
    def summary(self) -> str:
        """A text summary in the style of lavaan's ``summary()``."""
        fm = self.fit_measures
        lines: list[str] = []
        for w in self.warnings:
            lines.append(f"WARNING: {w}")
        if self.warnings:
            lines.append("")
        name = self.spec.name or "model"
        lines.append(
            f"pathmodels {self.info.get('version', '')} — ML fit of {name} "
            f"({self.info.get('engine', '')})"
        )
        status = "converged" if self.converged else "DID NOT CONVERGE"
        lines.append(f"  {status} after {self.info.get('iterations', '?')} iterations")
        lines.append(f"  Number of observations {int(fm.get('n', 0)):>28d}")
        if self.table.ngroups > 1:
            labels = self.info.get("group_labels", [])
            ns = self.info.get("group_n", [])
            for lab, n in zip(labels, ns, strict=False):
                lines.append(f"    group {lab!s:<20} {n:>16d}")
        miss = self.info.get("missing") or []
        if miss and any(len(m["patterns"]) > 1 for m in miss):
            npat = sum(len(m["patterns"]) for m in miss)
            cov = min(min(min(r) for r in m["coverage"]) for m in miss)
            lines.append(f"  Missing-data patterns {npat:>27d}")
            lines.append(f"  Lowest covariance coverage {cov:>22.3f}")
        if self.info.get("n_dropped"):
            lines.append(f"  Rows dropped (missing data) {self.info['n_dropped']:>21d}")
        lines.append(f"  Number of free parameters {int(fm.get('npar', 0)):>23d}")
        lines.append(
            f"  Standard errors: {self.options.get('se')}; CIs: {self.options.get('ci')} "
            f"({100 * self.options.get('level', 0.95):.0f}%)"
        )
        if self.boot is not None:
            lines.append(
                f"  {self.boot.kind} draws: {self.boot.n_draws} "
                f"(failed {self.boot.n_failed}, inadmissible {self.boot.n_inadmissible})"
            )
        lines.append("")
        lines.append("Model test (ML)")
        lines.append(
            f"  Chi-square {fm.get('chisq', math.nan):>14.3f}   df {fm.get('df', math.nan):>4.0f}"
            f"   p {fm.get('pvalue', math.nan):.3f}"
        )
        lines.append(
            f"  CFI {fm.get('cfi', math.nan):.3f}  TLI {fm.get('tli', math.nan):.3f}  "
            f"RMSEA {fm.get('rmsea', math.nan):.3f} "
            f"[{fm.get('rmsea_ci_lower', math.nan):.3f}, "
            f"{fm.get('rmsea_ci_upper', math.nan):.3f}]  SRMR {fm.get('srmr', math.nan):.3f}"
        )
        lines.append(
            f"  logLik {fm.get('loglik', math.nan):.3f}  AIC {fm.get('aic', math.nan):.3f}"
            f"  BIC {fm.get('bic', math.nan):.3f}"
        )
        sections = [
            ("=~", "Latent variables"),
            ("~", "Regressions"),
            ("~~", "Covariances and variances"),
            ("~1", "Intercepts"),
            (":=", "Defined parameters"),
        ]
        est = self.estimates
        groups = sorted(set(est["group"]) - {0}) + ([0] if 0 in set(est["group"]) else [])
        for g in groups:
            if self.table.ngroups > 1 and g != 0:
                lines.append("")
                lines.append(f"Group {g} [{self._group_label(int(g))}]")
            for op, title in sections:
                sub = est[(est["op"] == op) & (est["group"] == g)]
                if sub.empty:
                    continue
                lines.append("")
                lines.append(f"{title}:")
                lines.append(
                    f"  {'':<34}{'Estimate':>9}{'Std.Err':>9}{'z-value':>9}{'P(>|z|)':>9}"
                    f"{'ci.lower':>9}{'ci.upper':>9}{'Std.all':>9}"
                )
                for _, r in sub.iterrows():
                    left = f"{r['lhs']} {r['op']} {r['rhs']}" if op != "~1" else f"{r['lhs']} ~1"
                    if op == ":=":
                        left = f"{r['lhs']} := {r['rhs']}"
                    elif r["label"]:
                        left += f" ({r['label']})"
                    lines.append(
                        f"  {left[:34]:<34}"
                        + "".join(
                            _fmt(r[c])
                            for c in ("est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_all")
                        )
                    )
        if not self.effects.empty:
            lines.append("")
            lines.append("Effects (direct, indirect, total):")
            lines.append(
                f"  {'':<40}{'Estimate':>9}{'Std.Err':>9}{'P(>|z|)':>9}{'ci.lower':>9}"
                f"{'ci.upper':>9}{'Std.all':>9}"
            )
            for _, r in self.effects.iterrows():
                tag = (
                    r["path"]
                    if r["effect"] == "indirect"
                    else f"{r['cause']} -> {r['outcome']} ({r['effect']})"
                )
                if self.table.ngroups > 1:
                    tag = f"[g{r['group']}] " + tag
                lines.append(
                    f"  {tag[:40]:<40}"
                    + "".join(
                        _fmt(r[c])
                        for c in ("est", "se", "pvalue", "ci_lower", "ci_upper", "std_all")
                    )
                )
        return "\n".join(lines)

    def _group_label(self, g: int) -> str:
        labels = self.info.get("group_labels", [])
        return str(labels[g - 1]) if 0 < g <= len(labels) else str(g)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI: estimates, effects, fit, converged (+ warnings, options)."""
        return {
            "estimates": _records(self.estimates),
            "effects": _records(self.effects),
            "fit": {k: _clean(v) for k, v in self.fit_measures.items()},
            "converged": bool(self.converged),
            "warnings": list(self.warnings),
            "options": {k: _clean(v) for k, v in self.options.items()},
            "info": {k: _clean(v) for k, v in self.info.items()},
        }

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as a JSON string (NaN → null)."""
        return json.dumps(self.to_dict(), **kwargs)

    def plot(self, **kwargs: Any) -> Figure:
        """Path diagram of the fitted model (see :func:`pathmodels.report.path_diagram`)."""
        from pathmodels.report import path_diagram

        return path_diagram(self, **kwargs)


def _fmt(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return f"{'':>9}"
    if not np.isfinite(x):
        return f"{'':>9}"
    return f"{x:>9.3f}"


def _clean(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def compare(*results: Result, names: list[str] | None = None) -> pd.DataFrame:
    """Likelihood-ratio tests between nested fits, like lavaan's ``lavTestLRT``.

    Parameters
    ----------
    *results : Result
        Two or more fits of nested models to the same data.
    names : list of str, optional
        Row names (default the spec names or ``model1``, ...).

    Returns
    -------
    pandas.DataFrame
        Sorted by df, indexed by model: ``df, aic, bic, chisq, chisq_diff, rmsea, df_diff,
        pvalue`` (``rmsea`` of the difference, multiplied by √G with G groups, as lavaan).

    Raises
    ------
    SpecificationError
        Fewer than two results, different N, or equal df.
    """
    from pathmodels.ml.compare import LRTInput, likelihood_ratio_test

    if len(results) < 2:
        raise SpecificationError("compare() needs at least two fitted results")
    labels = names or [r.spec.name or f"model{i + 1}" for i, r in enumerate(results)]
    if len(set(labels)) < len(labels):
        labels = [f"{lab}_{i + 1}" for i, lab in enumerate(labels)]
    inputs = [
        LRTInput(
            name=lab,
            chisq=float(r.fit_measures["chisq"]),
            df=int(r.fit_measures["df"]),
            npar=int(r.fit_measures["npar"]),
            aic=float(r.fit_measures["aic"]),
            bic=float(r.fit_measures["bic"]),
            n=int(r.fit_measures["n"]),
            n_groups=int(r.table.ngroups),
        )
        for lab, r in zip(labels, results, strict=True)
    ]
    return likelihood_ratio_test(inputs)
