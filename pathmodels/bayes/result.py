"""``BayesResult``: the same tables as an ML :class:`~pathmodels.results.Result`, from draws.

Columns of ``estimates`` and ``effects`` are those of the ML result plus ``r_hat``,
``ess_bulk`` and ``ess_tail``:

* ``est`` — posterior mean; ``se`` — posterior standard deviation;
* ``ci_lower``, ``ci_upper`` — highest-density interval at ``level`` (default 95%);
* ``z`` — NaN (there is no Wald statistic);
* ``pvalue`` — the two-sided *posterior tail probability* ``2 min(P(theta > 0),
  P(theta < 0))``; with weak priors and a near-normal posterior it is close to the Wald
  p-value, but it is a statement about the posterior, not a frequentist test;
* ``std_all`` — posterior mean of the standardised value (NaN in models with binary or
  ordinal variables, whose latent-response variances make it ambiguous).

Fixed parameters are reported at their value with ``se = 0`` and NaN diagnostics.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pathmodels.bayes import draws as D
from pathmodels.exceptions import ConvergenceWarning, PathModelsWarning, SpecificationError
from pathmodels.results import EFFECT_COLUMNS, ESTIMATE_COLUMNS, Result

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pathmodels.bayes.plan import Plan
    from pathmodels.bayes.sampling import Draws

__all__ = ["DIAGNOSTIC_COLUMNS", "BayesResult", "MixedScaleWarning", "make_result"]

DIAGNOSTIC_COLUMNS = ("r_hat", "ess_bulk", "ess_tail")
RHAT_MAX = 1.01
_PPC_DRAWS = 1000


class MixedScaleWarning(PathModelsWarning):
    """A product of coefficients mixes a logit (log-odds) scale with an outcome scale."""


@dataclass
class _State:
    plan: Plan
    draws: Draws
    theta: np.ndarray  # (R, k)
    taus: dict[tuple[str, int], np.ndarray]  # (R, K-1) centred
    effect_draws: np.ndarray  # (R, n_eff)
    defined_draws: np.ndarray  # (R, n_def)
    row_draws: np.ndarray  # (R, n_rows)


@dataclass(frozen=True)
class BayesResult(Result):
    """A Bayesian fit: posterior summaries in :class:`~pathmodels.results.Result`'s tables.

    Attributes
    ----------
    idata : xarray.DataTree
        ArviZ data: ``posterior`` (one variable per free parameter, named by label or
        ``lhs op rhs``, and per ``:=`` parameter), ``posterior_predictive`` (replicated
        endogenous variables, at most 1000 draws, evenly thinned), ``log_likelihood``
        (``obs``: log p(y_i | x_i) of each row), ``observed_data`` and ``sample_stats``.
    diagnostics : dict
        Divergences, tree-depth hits, largest R-hat, smallest ESS (and which quantity),
        ESS per second of sampling.

    See Also
    --------
    pathmodels.bayes.compare : LOO comparison of Bayesian fits.
    """

    idata: Any = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    state: Any = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ draws
    def draws_of(self, name: str) -> np.ndarray:
        """Posterior draws (chains, draws) of a parameter or ``:=`` parameter.

        Parameters
        ----------
        name : str
            A label, a ``:=`` name or a parameter written ``lhs op rhs`` without spaces.

        Returns
        -------
        numpy.ndarray

        Raises
        ------
        SpecificationError
            Unknown name (the message lists the valid ones).
        """
        post = self.idata["posterior"]
        if name in post:
            return np.asarray(post[name].values)
        from pathmodels.exceptions import close_matches

        raise SpecificationError(f"no posterior draws named {name!r}; "
                                 + close_matches(name, [str(k) for k in post.data_vars]))

    def effect_draws(self, cause: str, outcome: str, kind: str = "total_indirect",
                     group: int = 1) -> np.ndarray:
        """Posterior draws (chains, draws) of one row of :attr:`effects`.

        Parameters
        ----------
        cause, outcome : str
        kind : str
            ``direct``, ``total_indirect``, ``total``, ``natural_direct``,
            ``natural_indirect``, ``natural_total`` or a route ``"x -> m -> y"``.
        group : int
            1-based group.

        Returns
        -------
        numpy.ndarray
        """
        eff = self.effects.reset_index(drop=True)
        sel = eff[(eff["cause"] == cause) & (eff["outcome"] == outcome) & (eff["group"] == group)]
        row = sel[(sel["effect"] == kind) | (sel["path"] == kind)]
        if row.empty:
            self.effect(cause, outcome, kind=kind)  # raises with the valid names
            raise SpecificationError(f"no {kind!r} effect of {cause} on {outcome} in group "
                                     f"{group}")
        st: _State = self.state
        j = int(row.index[0])
        return D.as_chains(st.effect_draws[:, j], st.draws.chains)

    # ------------------------------------------------------------------ model checking
    def loo(self) -> Any:
        """PSIS-LOO cross-validation of this fit (ArviZ's ``loo``).

        Returns
        -------
        arviz_stats.ELPDData
            ``elpd``, ``se``, ``p`` and Pareto k per observation (a row of the data).
        """
        import arviz_stats as azs

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return azs.loo(self.idata)

    def prior_predictive(self, draws: int = 500, *, seed: int | None = None) -> Any:
        """Draws from the priors and data simulated from them, to check the priors.

        Parameters
        ----------
        draws : int, default 500
        seed : int, optional

        Returns
        -------
        xarray.DataTree
            Groups ``prior`` (parameters, named as in ``posterior``),
            ``prior_predictive`` (simulated endogenous variables, one value per row of
            the data) and ``observed_data``.

        Examples
        --------
        Compare the spread of simulated outcomes with the data's:
        ``res.prior_predictive(200, seed=1)["prior_predictive"]["qol"].std()``.
        """
        from pathmodels.bayes.sampling import prior_draws

        st: _State = self.state
        plan = st.plan
        pd_ = prior_draws(plan, chains=1, draws=int(draws), seed=seed)
        theta = pd_.theta.reshape(-1, plan.npar)
        taus = {k: np.sort(v.reshape(theta.shape[0], -1), axis=1) for k, v in pd_.taus.items()}
        ram = _ram(plan)
        rng = np.random.default_rng(np.random.SeedSequence(pd_.seed))
        with np.errstate(all="ignore"):
            sims = D.predictive(plan, ram, theta, taus, rng)
        params = _param_dict(plan, theta, taus, ram, chains=1)
        return _datatree({"prior": params,
                          "prior_predictive": {v: a[None] for v, a in sims.items()},
                          "observed_data": _observed(plan)}, plan)

    # ------------------------------------------------------------------ natural effects
    def natural_effects(self, cause: str, outcome: str, *, x0: float | None = None,
                        x1: float | None = None, group: int = 1,
                        seed: int | None = None) -> pd.DataFrame:
        """Natural direct, indirect and total effects by g-computation on the posterior.

        Parameters
        ----------
        cause, outcome : str
            Observed variables.
        x0, x1 : float, optional
            The contrast ``do(cause = x0)`` vs ``do(cause = x1)``; default 0 -> 1 for a
            0/1 cause, else mean -> mean + 1.
        group : int
        seed : int, optional

        Returns
        -------
        pandas.DataFrame
            Rows ``natural_direct``, ``natural_indirect``, ``natural_total`` with the
            effect columns (posterior mean, SD, HDI, diagnostics).
        """
        st: _State = self.state
        rows = _natural_rows(st.plan, st, [(cause, outcome)], float(self.options["level"]),
                             x0=x0, x1=x1, groups=[group - 1], seed=seed)
        return pd.DataFrame(rows[0], columns=list(EFFECT_COLUMNS) + list(DIAGNOSTIC_COLUMNS))

    # ------------------------------------------------------------------ output
    def summary(self) -> str:
        """A text summary: sampler, diagnostics, parameters, ``:=`` and effects."""
        lines: list[str] = []
        for w in self.warnings:
            lines.append(f"WARNING: {w}")
        if self.warnings:
            lines.append("")
        info, dg = self.info, self.diagnostics
        name = self.spec.name or "model"
        lines.append(f"pathmodels {info.get('version', '')} — Bayesian fit of {name} "
                     f"(PyMC, sampler {info.get('sampler')})")
        lines.append(f"  {dg.get('chains')} chains x {dg.get('draws')} draws "
                     f"(tune {self.options.get('tune')}), seed {info.get('seed')}")
        lines.append(f"  compile {info.get('compile_seconds', math.nan):.1f} s, sampling "
                     f"{info.get('sampling_seconds', math.nan):.1f} s"
                     + (" (compiled model reused)" if info.get("reused_compiled") else ""))
        lines.append(f"  Number of observations {int(self.fit_measures.get('n', 0)):>28d}")
        lines.append(f"  Divergent transitions {dg.get('divergences', 0):>28d}")
        lines.append(f"  Max tree depth hits {dg.get('max_treedepth_hits', 0):>30d}")
        lines.append(f"  Largest R-hat {dg.get('max_r_hat', math.nan):>36.3f}")
        lines.append(f"  Smallest ESS (bulk) {dg.get('min_ess_bulk', math.nan):>30.0f}"
                     f"  ({dg.get('min_ess_bulk_name', '')})")
        fm = self.fit_measures
        if np.isfinite(fm.get("elpd_loo", np.nan)):
            lines.append(f"  ELPD (LOO) {fm['elpd_loo']:.2f} (SE {fm['se_elpd_loo']:.2f}), "
                         f"p_loo {fm['p_loo']:.2f}")
        lvl = 100 * float(self.options.get("level", 0.95))
        lines.append(f"  Estimates: posterior mean; Post.SD; {lvl:.0f}% HDI; P: two-sided "
                     "posterior tail probability")
        for note in info.get("notes", []):
            lines.append(f"  Note: {note}")
        head = (f"  {'':<34}{'Estimate':>9}{'Post.SD':>9}{'hdi.low':>9}{'hdi.upp':>9}"
                f"{'P':>7}{'Rhat':>7}{'ESS':>7}{'Std.all':>9}")
        sections = [("=~", "Latent variables"), ("~", "Regressions"),
                    ("~~", "Covariances and variances"), ("~1", "Intercepts"),
                    ("|", "Thresholds"), (":=", "Defined parameters")]
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
                lines += ["", f"{title}:", head]
                for _, r in sub.iterrows():
                    left = f"{r['lhs']} {r['op']} {r['rhs']}" if op != "~1" else f"{r['lhs']} ~1"
                    if op == ":=":
                        left = f"{r['lhs']} := {r['rhs']}"
                    elif r["label"]:
                        left += f" ({r['label']})"
                    lines.append(f"  {left[:34]:<34}" + _row_text(r))
        if not self.effects.empty:
            lines += ["", "Effects (direct, indirect, total; natural effects by g-computation):",
                      head.replace(" " * 34, " " * 34)]
            for _, r in self.effects.iterrows():
                tag = r["path"] if r["effect"] == "indirect" else \
                    f"{r['cause']} -> {r['outcome']} ({r['effect']})"
                if self.table.ngroups > 1:
                    tag = f"[g{r['group']}] " + tag
                lines.append(f"  {tag[:34]:<34}" + _row_text(r))
        return "\n".join(lines)

    def plot(self, kind: str = "effects", **kwargs: Any) -> Figure:
        """Posterior densities of direct vs indirect effects (or the path diagram).

        Parameters
        ----------
        kind : {"effects", "diagram"}
            ``"effects"``: one panel per (cause, outcome) pair with the posterior of the
            direct effect, each specific indirect effect and the total indirect effect
            (and the natural effects when there are binary/ordinal variables).
            ``"diagram"``: the path diagram with posterior means.
        **kwargs
            ``group`` (int, default 1) for ``"effects"``; passed to
            :func:`pathmodels.report.path_diagram` for ``"diagram"``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        if kind == "diagram":
            return super().plot(**kwargs)
        if kind != "effects":
            raise SpecificationError(f"kind={kind!r} is not an option; use 'effects' or "
                                     "'diagram'")
        import matplotlib.pyplot as plt

        group = int(kwargs.get("group", 1))
        eff = self.effects.reset_index(drop=True)
        eff = eff[eff["group"] == group]
        pairs = list(dict.fromkeys(zip(eff["cause"], eff["outcome"], strict=True)))
        if not pairs:
            raise SpecificationError("there are no effects to plot; pass effects=[(cause, "
                                     "outcome)] to fit()")
        fig, axes = plt.subplots(len(pairs), 1, figsize=(7, 2.6 * len(pairs)), squeeze=False)
        st: _State = self.state
        for ax, (c, o) in zip(axes[:, 0], pairs, strict=True):
            sub = eff[(eff["cause"] == c) & (eff["outcome"] == o)]
            for idx, r in sub.iterrows():
                if r["effect"] == "total":
                    continue
                x = st.effect_draws[:, int(idx)] if "natural" not in r["effect"] else None
                if x is None:
                    x = self.effect_draws(c, o, r["effect"], group=group).ravel()
                label = r["path"] if r["effect"] == "indirect" else r["effect"]
                style = "--" if r["effect"].startswith("natural") else "-"
                _density(ax, x, label, style)
            ax.axvline(0.0, color="0.5", lw=0.8)
            ax.set_title(f"{c} -> {o}")
            ax.set_yticks([])
            ax.legend(fontsize=8, frameon=False)
        axes[-1, 0].set_xlabel("effect (posterior)")
        fig.tight_layout()
        return fig


def _density(ax: Any, x: np.ndarray, label: str, style: str) -> None:
    from scipy import stats

    x = x[np.isfinite(x)]
    if x.size < 2 or np.ptp(x) == 0:
        ax.axvline(float(x.mean()) if x.size else 0.0, ls=style, label=label)
        return
    grid = np.linspace(*np.percentile(x, [0.5, 99.5]), 200)
    ax.plot(grid, stats.gaussian_kde(x)(grid), style, label=label)


def _row_text(r: Any) -> str:
    def f(v: Any, w: int = 9, d: int = 3) -> str:
        try:
            x = float(v)
        except (TypeError, ValueError):
            return " " * w
        return f"{x:>{w}.{d}f}" if np.isfinite(x) else " " * w

    ess = r.get("ess_bulk", np.nan)
    ess_s = f"{float(ess):>7.0f}" if np.isfinite(ess) else " " * 7
    return (f(r["est"]) + f(r["se"]) + f(r["ci_lower"]) + f(r["ci_upper"]) + f(r["pvalue"], 7)
            + f(r.get("r_hat", np.nan), 7, 2) + ess_s + f(r["std_all"]))


# ---------------------------------------------------------------------- construction
def _ram(plan: Plan) -> Any:
    from pathmodels.ml.ram import RamModel

    return RamModel(plan.table, list(plan.data.moments))


def _param_dict(plan: Plan, theta: np.ndarray, taus: dict[tuple[str, int], np.ndarray],
                ram: Any, chains: int) -> dict[str, np.ndarray]:
    out = {}
    for k, name in enumerate(plan.param_names):
        if not plan.is_constant(k):
            out[name] = D.as_chains(theta[:, k], chains)
    for (var, g), tau in D.thresholds(plan, ram, theta, taus).items():
        for j in range(tau.shape[1]):
            suffix = f".g{g + 1}" if plan.ngroups > 1 else ""
            out[f"{var}|t{j + 1}{suffix}"] = D.as_chains(tau[:, j], chains)
    return out


def _observed(plan: Plan) -> dict[str, np.ndarray]:
    return {v: np.concatenate([gd.rows[:, plan.observed.index(v)] for gd in plan.groups])
            for v in plan.y_names}


def _datatree(groups: dict[str, dict[str, np.ndarray]], plan: Plan) -> Any:
    import arviz_base as azb

    n = sum(gd.n for gd in plan.groups)
    dims = {v: ["obs_id"] for v in plan.y_names}
    dims["obs"] = ["obs_id"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return azb.from_dict(groups, dims=dims, coords={"obs_id": np.arange(n)})


def _pairs_and_fit(plan: Plan, pairs: list[tuple[str, str]] | None) -> Any:
    from pathmodels.ml.backend import MLFit

    return MLFit(plan.table, plan.data, pairs)


def _contrast(plan: Plan, cause: str, x0: float | None, x1: float | None) -> tuple[float, float]:
    if x0 is not None and x1 is not None:
        return float(x0), float(x1)
    if cause in plan.observed:
        col = np.concatenate([gd.rows[:, plan.observed.index(cause)] for gd in plan.groups])
        col = col[~np.isnan(col)]
        if np.isin(np.unique(col), [0.0, 1.0]).all():
            base = (0.0, 1.0)
        else:
            base = (float(col.mean()), float(col.mean()) + 1.0)
    else:
        base = (0.0, 1.0)
    return (base[0] if x0 is None else float(x0), base[1] if x1 is None else float(x1))


def _natural_rows(plan: Plan, st: _State, pairs: list[tuple[str, str]], level: float, *,
                  x0: float | None = None, x1: float | None = None,
                  groups: list[int] | None = None, seed: int | None = None
                  ) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    ram = _ram(plan)
    rows, samples = [], []
    chains = st.draws.chains
    base_seed = st.draws.seed if seed is None else seed
    for g in (groups if groups is not None else range(plan.ngroups)):
        for c, o in pairs:
            if c not in plan.observed or o not in plan.observed:
                continue
            a, b = _contrast(plan, c, x0, x1)
            rng = np.random.default_rng(np.random.SeedSequence(base_seed, spawn_key=(7, g)))
            with np.errstate(all="ignore"):
                res = D.natural_effects(plan, ram, st.theta, st.taus, c, o, a, b, g, rng)
            for kind in ("natural_direct", "natural_indirect", "natural_total"):
                x = res[kind]
                sm = D.summarise(x[:, None], chains, level)
                rows.append({
                    "cause": c, "outcome": o, "effect": kind,
                    "path": f"{c} -> ... -> {o} ({a:g} -> {b:g})", "group": g + 1,
                    "est": sm["mean"][0], "se": sm["sd"][0], "z": np.nan, "pvalue": sm["p"][0],
                    "ci_lower": sm["hdi"][0, 0], "ci_upper": sm["hdi"][0, 1], "std_all": np.nan,
                    "r_hat": sm["r_hat"][0], "ess_bulk": sm["ess_bulk"][0],
                    "ess_tail": sm["ess_tail"][0],
                })
                samples.append(x)
    return rows, samples


def make_result(spec: Any, plan: Plan, draws: Draws, options: dict[str, Any],
                info: dict[str, Any], pairs: list[tuple[str, str]] | None,
                report_means: bool) -> BayesResult:
    """Summarise draws into a :class:`BayesResult` and warn about convergence problems."""
    level = float(options["level"])
    chains = draws.chains
    R = chains * draws.draws
    theta = draws.theta.reshape(R, plan.npar)
    taus = {k: v.reshape(R, -1) for k, v in draws.taus.items()}
    table = plan.table
    fit = _pairs_and_fit(plan, pairs)
    with np.errstate(all="ignore"):
        derived = fit.derived(theta)
    rows_d = derived.rows
    ram = fit.model
    discrete = bool(plan.discrete)
    # ---------------------------------------------------------------- parameter rows
    sm = D.summarise(rows_d, chains, level)
    if not discrete:
        with np.errstate(all="ignore"):
            std_draws = D.std_all(plan, ram, theta)
        std_mean = np.nanmean(std_draws, axis=0) if R else np.full(table.n_rows, np.nan)
    else:
        std_mean = np.full(table.n_rows, np.nan)
    sampled = np.array([f > 0 and not plan.is_constant(int(f) - 1) for f in table.free])
    value = rows_d[0] if R else np.zeros(table.n_rows)
    frame = pd.DataFrame({
        "lhs": table.lhs, "op": table.op, "rhs": table.rhs,
        "label": [lab if not lab.startswith(".ge.") else "" for lab in table.label],
        "group": table.group.astype(int),
        "est": np.where(sampled, sm["mean"], value),
        "se": np.where(sampled, sm["sd"], 0.0), "z": np.nan,
        "pvalue": np.where(sampled, sm["p"], np.nan),
        "ci_lower": np.where(sampled, sm["hdi"][:, 0], value),
        "ci_upper": np.where(sampled, sm["hdi"][:, 1], value),
        "std_all": std_mean,
        "r_hat": np.where(sampled, sm["r_hat"], np.nan),
        "ess_bulk": np.where(sampled, sm["ess_bulk"], np.nan),
        "ess_tail": np.where(sampled, sm["ess_tail"], np.nan),
    })
    if not report_means:
        frame = frame[frame["op"] != "~1"]
    parts = [frame]
    # thresholds
    tau_rows = []
    for (var, g), tau in D.thresholds(plan, ram, theta, taus).items():
        ts = D.summarise(tau, chains, level)
        for j in range(tau.shape[1]):
            tau_rows.append({
                "lhs": var, "op": "|", "rhs": f"t{j + 1}", "label": "", "group": g + 1,
                "est": ts["mean"][j], "se": ts["sd"][j], "z": np.nan, "pvalue": ts["p"][j],
                "ci_lower": ts["hdi"][j, 0], "ci_upper": ts["hdi"][j, 1], "std_all": np.nan,
                "r_hat": ts["r_hat"][j], "ess_bulk": ts["ess_bulk"][j],
                "ess_tail": ts["ess_tail"][j]})
    if tau_rows:
        parts.append(pd.DataFrame(tau_rows))
    # defined parameters
    defs = table.definitions
    if defs:
        ds = D.summarise(derived.defined, chains, level)
        std_def = np.full(len(defs), np.nan)
        if not discrete:
            labels = {lab: i for i, lab in enumerate(table.label) if lab}
            vals: dict[str, Any] = {lab: std_draws[:, i] for lab, i in labels.items()}
            for j, (name, expr) in enumerate(defs):
                try:
                    v = np.asarray(expr.evaluate(vals), dtype=float)
                    vals[name] = v
                    std_def[j] = float(np.nanmean(v))
                except Exception:  # noqa: BLE001 - not standardisable: NaN
                    vals[name] = np.full(R, np.nan)
        parts.append(pd.DataFrame({
            "lhs": [n for n, _ in defs], "op": ":=", "rhs": [str(e) for _, e in defs],
            "label": [n for n, _ in defs], "group": 0, "est": ds["mean"], "se": ds["sd"],
            "z": np.nan, "pvalue": ds["p"], "ci_lower": ds["hdi"][:, 0],
            "ci_upper": ds["hdi"][:, 1], "std_all": std_def, "r_hat": ds["r_hat"],
            "ess_bulk": ds["ess_bulk"], "ess_tail": ds["ess_tail"]}))
    estimates = pd.concat(parts, ignore_index=True)[
        list(ESTIMATE_COLUMNS) + list(DIAGNOSTIC_COLUMNS)]
    # ---------------------------------------------------------------- effects
    keys = fit.effect_keys
    es = D.summarise(derived.effects, chains, level) if keys else None
    eff = pd.DataFrame({
        "cause": [k.cause for k in keys], "outcome": [k.outcome for k in keys],
        "effect": [k.effect for k in keys], "path": [k.path for k in keys],
        "group": [k.group for k in keys],
        "est": es["mean"] if es else [], "se": es["sd"] if es else [], "z": np.nan,
        "pvalue": es["p"] if es else [],
        "ci_lower": es["hdi"][:, 0] if es else [], "ci_upper": es["hdi"][:, 1] if es else [],
        "std_all": (np.nanmean(derived.effects_std, axis=0) if (es and not discrete)
                    else np.full(len(keys), np.nan)),
        "r_hat": es["r_hat"] if es else [], "ess_bulk": es["ess_bulk"] if es else [],
        "ess_tail": es["ess_tail"] if es else [],
    }, columns=list(EFFECT_COLUMNS) + list(DIAGNOSTIC_COLUMNS))
    effect_samples = derived.effects
    state = _State(plan, draws, theta, taus, effect_samples, derived.defined, rows_d)
    notes: list[str] = []
    if discrete and fit.pairs:
        nat_rows, nat_samples = _natural_rows(plan, state, fit.pairs, level)
        if nat_rows:
            eff = pd.concat([eff, pd.DataFrame(nat_rows)], ignore_index=True)
            effect_samples = np.column_stack([derived.effects] + nat_samples) if len(keys) \
                else np.column_stack(nat_samples)
            state.effect_draws = effect_samples
        for i in plan.zeroed:
            notes.append(f"{table.lhs[i]} ~~ {table.rhs[i]} (a default residual covariance) is "
                         "fixed at 0: residual covariances with binary/ordinal variables are "
                         "not available")
        notes.append("binary/ordinal equations are probit (or logit) regressions on the "
                     "latent-response scale; direct/indirect/total rows multiply those "
                     "coefficients (latent scale), natural_* rows are counterfactual effects "
                     "on the outcome's own scale (g-computation)")
    messages: list[tuple[type[Warning], str]] = []
    messages += _mixed_scale(plan, fit)
    # ---------------------------------------------------------------- diagnostics
    diag, conv_msgs = _diagnostics(estimates, eff, draws, options)
    messages += [(ConvergenceWarning, m) for m in conv_msgs]
    converged = not conv_msgs
    # ---------------------------------------------------------------- idata
    rng = np.random.default_rng(np.random.SeedSequence(draws.seed, spawn_key=(3,)))
    per_chain = max(1, min(draws.draws, math.ceil(_PPC_DRAWS / chains)))
    keep = np.linspace(0, draws.draws - 1, per_chain).round().astype(int)
    sel = (np.arange(chains)[:, None] * draws.draws + keep[None, :]).ravel()
    with np.errstate(all="ignore"):
        loglik = D.pointwise_loglik(plan, ram, theta, taus)
        ppc = D.predictive(plan, ram, theta[sel], {k: v[sel] for k, v in taus.items()}, rng)
    post = _param_dict(plan, theta, taus, ram, chains)
    for j, (name, _) in enumerate(defs):
        post[name] = D.as_chains(derived.defined[:, j], chains)
    stats = {"diverging": draws.diverging, "tree_depth": draws.tree_depth,
             "reached_max_treedepth": draws.max_depth}
    idata = _datatree({
        "posterior": post,
        "posterior_predictive": {v: a.reshape(chains, per_chain, -1) for v, a in ppc.items()},
        "log_likelihood": {"obs": D.as_chains(loglik, chains)},
        "observed_data": _observed(plan),
        "sample_stats": stats,
    }, plan)
    # ---------------------------------------------------------------- fit measures
    fm: dict[str, Any] = {
        "n": int(plan.data.n), "npar": int(sum(not plan.is_constant(k)
                                               for k in range(plan.npar))),
        "converged": converged, "chains": chains, "draws": draws.draws,
        "divergences": diag["divergences"], "max_treedepth_hits": diag["max_treedepth_hits"],
        "max_r_hat": diag["max_r_hat"], "min_ess_bulk": diag["min_ess_bulk"],
        "min_ess_tail": diag["min_ess_tail"],
    }
    if chains * draws.draws >= 20 and np.isfinite(loglik).all():
        import arviz_stats as azs

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                loo = azs.loo(idata)
                fm.update({"elpd_loo": float(loo.elpd), "se_elpd_loo": float(loo.se),
                           "p_loo": float(loo.p), "looic": -2.0 * float(loo.elpd),
                           "pareto_k_max": float(np.nanmax(np.asarray(loo.pareto_k)))})
            except Exception as exc:  # noqa: BLE001 - LOO is a summary; say why it is absent
                fm["loo_note"] = f"LOO unavailable: {exc}"
    names = [plan.param_names[k] for k in range(plan.npar) if not plan.is_constant(k)]
    free_theta = theta[:, [k for k in range(plan.npar) if not plan.is_constant(k)]]
    vcov = np.atleast_2d(np.cov(free_theta, rowvar=False)) if R > 1 else np.zeros(
        (len(names), len(names)))
    info = {**info, "notes": notes, "family": plan.family, "sampler": draws.sampler,
            "seed": draws.seed, "compile_seconds": draws.compile_seconds,
            "sampling_seconds": draws.sampling_seconds, "reused_compiled": draws.reused,
            "group_labels": list(plan.data.group_labels),
            "group_n": [int(gd.n) for gd in plan.groups], "n_dropped": plan.data.n_dropped,
            "ess_per_second": diag["min_ess_bulk"] / draws.sampling_seconds
            if draws.sampling_seconds > 0 else math.nan}
    texts = []
    for cls, msg in messages:
        if msg not in texts:
            texts.append(msg)
            warnings.warn(cls(msg), stacklevel=4)
    return BayesResult(
        spec=spec, table=table, estimates=estimates, effects=eff, fit_measures=fm,
        vcov=pd.DataFrame(vcov, index=names, columns=names), converged=converged,
        warnings=tuple(texts), options=dict(options), info=info, boot=None,
        theta=theta.mean(axis=0) if R else np.zeros(plan.npar), idata=idata,
        diagnostics=diag, state=state,
    )


def _mixed_scale(plan: Plan, fit: Any) -> list[tuple[type[Warning], str]]:
    """Warn when a logit mediator's coefficient is multiplied into an indirect effect."""
    if plan.link != "logit" or not plan.binary:
        return []
    out = []
    t = plan.table
    for v in plan.binary:
        into = {t.label[i] for i in range(t.n_rows) if t.op[i] == "~" and t.lhs[i] == v
                and t.label[i]}
        out_of = {t.label[i] for i in range(t.n_rows) if t.op[i] == "~" and t.rhs[i] == v
                  and t.label[i]}
        culprits = [name for name, expr in t.definitions
                    if set(expr.names) & into and set(expr.names) & out_of]
        routes = [k.path for k in fit.effect_keys if k.effect == "indirect"
                  and f" {v} " in f" {k.path.replace('->', ' ')} "]
        if culprits or routes:
            what = (f"the := parameter(s) {', '.join(culprits)}" if culprits else "") + (
                " and " if culprits and routes else "") + (
                f"indirect effects through {v}" if routes else "")
            out.append((MixedScaleWarning,
                        f"{v} is a binary mediator with link='logit': {what} multiply a "
                        f"log-odds coefficient (paths into {v}) by an effect per unit of the "
                        f"observed 0/1 {v} (paths out of it), a product on mixed scales with no "
                        "causal meaning. Read the natural_indirect/natural_direct rows of "
                        "effects (g-computation, on the outcome's scale) instead, or use "
                        "link='probit' for a latent-response product"))
    return out


def _diagnostics(estimates: pd.DataFrame, effects: pd.DataFrame, draws: Draws,
                 options: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    total = draws.chains * draws.draws
    frames = [estimates.assign(name=_names(estimates)), effects.assign(name=[
        f"{c} -> {o} ({e})" if e != "indirect" else p for c, o, e, p in zip(
            effects["cause"], effects["outcome"], effects["effect"], effects["path"],
            strict=True)])]
    allq = pd.concat([f[["name", "r_hat", "ess_bulk", "ess_tail"]] for f in frames],
                     ignore_index=True)
    div = int(draws.diverging.sum())
    depth = int(draws.max_depth.sum())
    rh = allq["r_hat"].to_numpy(dtype=float)
    eb = allq["ess_bulk"].to_numpy(dtype=float)
    et = allq["ess_tail"].to_numpy(dtype=float)
    diag: dict[str, Any] = {
        "chains": draws.chains, "draws": draws.draws, "divergences": div,
        "max_treedepth_hits": depth,
        "max_r_hat": float(np.nanmax(rh)) if np.isfinite(rh).any() else math.nan,
        "max_r_hat_name": str(allq["name"].iloc[int(np.nanargmax(rh))])
        if np.isfinite(rh).any() else "",
        "min_ess_bulk": float(np.nanmin(eb)) if np.isfinite(eb).any() else math.nan,
        "min_ess_bulk_name": str(allq["name"].iloc[int(np.nanargmin(eb))])
        if np.isfinite(eb).any() else "",
        "min_ess_tail": float(np.nanmin(et)) if np.isfinite(et).any() else math.nan,
        "sampler": draws.sampler,
    }
    msgs = []
    if draws.sampler == "prior":
        return diag, msgs
    if div:
        msgs.append(
            f"{div} divergent transition(s) after tuning (of {total}): NUTS met curvature it "
            "could not follow, so the posterior may be biased there. Raise target_accept "
            f"(now {options['target_accept']}; try 0.95 or 0.99), give variances tighter "
            "priors, or check that the model is identified")
    if depth > 0.01 * total:
        msgs.append(
            f"{depth} of {total} transitions hit the maximum tree depth: sampling was slow "
            "and may not have explored the posterior. Strongly correlated or badly scaled "
            "parameters cause this; rescale the variables (similar variances) or simplify "
            "the model")
    if np.isfinite(rh).any() and diag["max_r_hat"] > RHAT_MAX:
        msgs.append(
            f"R-hat up to {diag['max_r_hat']:.3f} ({diag['max_r_hat_name']}) exceeds "
            f"{RHAT_MAX}: the chains disagree. Run more tuning and draws (tune=, draws=), "
            "and inspect the trace of that quantity (arviz.plot_trace(res.idata))")
    ess_min = min(100.0 * draws.chains, total / 4.0)
    if np.isfinite(eb).any() and (diag["min_ess_bulk"] < ess_min
                                  or diag["min_ess_tail"] < ess_min):
        msgs.append(
            f"effective sample size as low as {min(diag['min_ess_bulk'], diag['min_ess_tail']):.0f}"
            f" ({diag['min_ess_bulk_name']}; need at least {ess_min:.0f}): means and "
            "especially interval bounds are imprecise. Increase draws= (and chains=)")
    return diag, msgs


def _names(frame: pd.DataFrame) -> list[str]:
    return [lab if lab else f"{lhs}{op}{rhs}" for lab, lhs, op, rhs in zip(
        frame["label"], frame["lhs"], frame["op"], frame["rhs"], strict=True)]
