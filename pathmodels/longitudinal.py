"""Builders for longitudinal path models: CLPM, RI-CLPM and half-longitudinal mediation.

:func:`clpm` writes a cross-lagged panel model, :func:`riclpm` the random-intercept
cross-lagged panel model of Hamaker, Kuiper & Grasman (2015) and
:func:`half_longitudinal` the two-wave mediation model of Cole & Maxwell (2003). Each
returns a :class:`~pathmodels.spec.Spec` with every lagged path labelled and, for
mediation, the lagged indirect effects written as ``:=`` parameters.
:func:`compare_random_intercepts` tests an RI-CLPM against the CLPM nested in it, with
the chi-bar-square p-value that the boundary of the random-intercept variances calls for.

Variables are given as name stems plus wave suffixes (``"employ"`` with ``sep="_"`` and
``waves=3`` means ``employ_1, employ_2, employ_3``) or as explicit column lists
(``columns={"employ": ["emp_b", "emp_6m", "emp_12m"]}``), or both.

Labels (``<t>`` is the wave label of the outcome of the path; it is dropped when the
path is constrained equal over time):

==========================  ==========================================================
``ar_<v>_<t>``              autoregressive path ``v`` at ``t-1`` -> ``v`` at ``t``
``cl_<to>_<from>_<t>``      cross-lagged path ``from`` at ``t-1`` -> ``to`` at ``t``
``ar2_...``, ``cl2_...``    the same at lag 2 (``lag2=``)
``rc_<a>_<b>``              residual covariance at waves 2.. (when constrained)
``rv_<v>``                  residual variance at waves 2.. (when constrained)
``mean_<v>``, ``int_<v>``   grand mean (RI-CLPM) / intercept (CLPM) (when constrained)
``<arm>_<node>``            effect of the arm (or time-invariant covariate) on a node
==========================  ==========================================================

Defined effects name the nodes of their route, a node being ``<stem><wave>`` in the
CLPM and the within component ``w<stem><wave>`` in the RI-CLPM: ``ind_x1_m2_y3`` is
x at wave 1 -> m at wave 2 -> y at wave 3; ``mediated_x1_y3`` sums the routes through
the mediators, ``total_ind_x1_y3`` every route, ``total_x1_y3`` adds the direct lag-2
path when there is one.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pathmodels.builders import _check_unique_labels, _names
from pathmodels.exceptions import DataError, SpecificationError, close_matches

if TYPE_CHECKING:
    from pathmodels.results import Result
    from pathmodels.spec import Spec

__all__ = ["clpm", "compare_random_intercepts", "half_longitudinal", "riclpm"]

#: Classes of parameters that ``constrain=`` can hold equal over time, per builder.
_CLASSES = ("autoregressive", "cross_lagged", "residual_covariances", "residual_variances")
CLPM_CONSTRAINTS = (*_CLASSES, "intercepts")
RICLPM_CONSTRAINTS = (*_CLASSES, "means")
#: What ``arm_predicts=`` may name in the RI-CLPM.
ARM_TARGETS = ("intercepts", "wave1", "followup")
_LAG2_KINDS = ("autoregressive", "cross_lagged")
# A pair (cause, outcome) may have so many routes that writing each as := is useless;
# beyond this many the builder writes none for that pair (Result.effects has them all).
_MAX_ROUTES = 64
_LABEL_PART = re.compile(r"[A-Za-z0-9]+\Z")


# ------------------------------------------------------------------------ the panel


@dataclass(frozen=True)
class _Panel:
    """Variables (stems), wave labels and the data column of each (stem, wave)."""

    stems: tuple[str, ...]
    waves: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]]


def _wave_labels(waves: int | Sequence[int | str], minimum: int, builder: str) -> list[str]:
    if isinstance(waves, bool) or not isinstance(waves, int | Sequence) or isinstance(waves, str):
        raise SpecificationError(
            f"waves= must be the number of waves (e.g. 3) or a sequence of wave labels "
            f"(e.g. [0, 6, 12]), got {waves!r}."
        )
    labels = (
        [str(k) for k in range(1, waves + 1)] if isinstance(waves, int) else [str(w) for w in waves]
    )
    for label in labels:
        if not _LABEL_PART.match(label):
            raise SpecificationError(
                f"wave label {label!r} must be letters and digits only (it becomes part of "
                "column and parameter names), e.g. waves=[0, 6, 12] or ['b', '6m', '12m']."
            )
    if len(set(labels)) != len(labels):
        raise SpecificationError(f"waves= repeats a label: {labels}; give each wave once.")
    if len(labels) < minimum:
        why = (
            " (with fewer, the random intercepts cannot be told apart from the within-person "
            "variances: the model is not identified)"
            if builder == "riclpm"
            else ""
        )
        raise SpecificationError(
            f"{builder}() needs at least {minimum} waves, got {len(labels)}{why}; "
            + ("use clpm() for two waves." if builder == "riclpm" else "add waves.")
        )
    return labels


def _panel(
    variables: Sequence[str] | Mapping[str, Sequence[str]],
    waves: int | Sequence[int | str],
    columns: Mapping[str, Sequence[str]] | None,
    sep: str,
    *,
    minimum_waves: int,
    builder: str,
    minimum_variables: int = 2,
) -> _Panel:
    explicit: dict[str, Sequence[str]] = {}
    if isinstance(variables, Mapping):
        explicit.update(variables)
        stems = _names(list(variables), "variables")
    else:
        stems = _names(variables, "variables")
    if len(stems) < minimum_variables:
        raise SpecificationError(
            f"{builder}() needs at least {minimum_variables} variables, got {len(stems)}: "
            f"{stems}; give the stems, e.g. ['employ', 'selfest']."
        )
    if len(set(stems)) != len(stems):
        raise SpecificationError(f"variables= repeats a name: {stems}.")
    if not isinstance(sep, str):
        raise SpecificationError(f"sep= must be a string such as '' or '_', got {sep!r}.")
    if columns is not None:
        if not isinstance(columns, Mapping):
            raise SpecificationError(
                "columns= must map a variable to its column per wave, e.g. "
                "{'employ': ['emp_b', 'emp_6m', 'emp_12m']}."
            )
        for stem in columns:
            if stem not in stems:
                raise SpecificationError(
                    f"columns= names {stem!r}, which is not in variables=; "
                    + close_matches(str(stem), stems)
                )
        explicit.update(columns)
    labels = _wave_labels(waves, minimum_waves, builder)
    resolved: dict[str, tuple[str, ...]] = {}
    for stem in stems:
        if stem in explicit:
            cols = explicit[stem]
            if isinstance(cols, str):
                raise SpecificationError(
                    f"columns[{stem!r}] must be a list of columns, one per wave, not a string."
                )
            cols = _names(cols, f"columns[{stem!r}]")
            if len(cols) != len(labels):
                raise SpecificationError(
                    f"inconsistent waves: {stem!r} has {len(cols)} column(s) {cols} but "
                    f"waves= gives {len(labels)} ({', '.join(labels)}); give one column per "
                    "wave for every variable."
                )
            resolved[stem] = tuple(cols)
        else:
            resolved[stem] = tuple(_names([f"{stem}{sep}{label}" for label in labels], "variables"))
    every = [c for cols in resolved.values() for c in cols]
    repeated = sorted({c for c in every if every.count(c) > 1})
    if repeated:
        raise SpecificationError(
            f"column(s) {', '.join(repeated)} are used for more than one (variable, wave); "
            "each wave of each variable needs its own column."
        )
    return _Panel(stems=tuple(stems), waves=tuple(labels), columns=resolved)


def _check_data(panel: _Panel, data: Any, others: Sequence[str], sep: str) -> None:
    """Raise a DataError naming every wave column absent from ``data``, with the fix."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data= must be a pandas DataFrame, got {type(data).__name__}.")
    present = [str(c) for c in data.columns]
    problems: list[str] = []
    for stem in panel.stems:
        wanted = panel.columns[stem]
        absent = [c for c in wanted if c not in present]
        if not absent:
            continue
        found = sorted(c for c in present if c.startswith(stem) and c not in wanted)
        line = f"{stem!r}: no column {', '.join(repr(c) for c in absent)}"
        if found:
            line += (
                f"; the data has {', '.join(found[:8])}, whose suffixes do not follow "
                f"sep={sep!r} and waves {', '.join(panel.waves)}; fix sep=/waves=, or pass "
                f"columns={{{stem!r}: {found if len(found) == len(wanted) else '[...]'}}} "
                "with one column per wave, in wave order"
            )
        else:
            line += "; " + close_matches(absent[0], present)
        problems.append(line)
    for name in others:
        if name not in present:
            problems.append(
                f"{name!r} (time-invariant): not in the data; " + close_matches(name, present)
            )
    if problems:
        raise DataError("wave columns missing from the data:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------- constraints


@dataclass(frozen=True)
class _Constraints:
    classes: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str]] = frozenset()  # (cause, outcome) stems

    def lagged(self, cause: str, outcome: str) -> bool:
        kind = "autoregressive" if cause == outcome else "cross_lagged"
        return kind in self.classes or (cause, outcome) in self.pairs


def _constraints(
    constrain: bool | str | Iterable[str | Sequence[str]],
    valid: Sequence[str],
    stems: Sequence[str],
) -> _Constraints:
    if constrain is True:
        return _Constraints(frozenset({"autoregressive", "cross_lagged"}))
    if constrain is False or constrain is None:
        return _Constraints()
    items: list[Any] = [constrain] if isinstance(constrain, str) else list(constrain)
    classes: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for item in items:
        pair: tuple[str, ...] | None = None
        if isinstance(item, str) and "->" in item:
            pair = tuple(part.strip() for part in item.split("->"))
        elif not isinstance(item, str) and isinstance(item, Sequence):
            pair = tuple(str(part) for part in item)
        if pair is not None:
            if len(pair) != 2 or any(p not in stems for p in pair):
                bad = next((p for p in pair if p not in stems), str(pair))
                raise SpecificationError(
                    f"constrain= item {item!r} must name a lagged path between two of the "
                    f"variables as (cause, outcome) or 'cause -> outcome'; "
                    + close_matches(bad, stems)
                )
            pairs.add((pair[0], pair[1]))
            continue
        if item not in valid:
            raise SpecificationError(
                f"constrain= has unknown option {item!r}; "
                + close_matches(str(item), valid)
                + "; or give a lagged path as ('cause', 'outcome'). True means "
                "{'autoregressive', 'cross_lagged'}."
            )
        classes.add(item)
    return _Constraints(frozenset(classes), frozenset(pairs))


def _choices(
    value: bool | str | Iterable[str], valid: Sequence[str], argument: str
) -> frozenset[str]:
    """Options given as True (all), False (none), one string or several strings."""
    if value is True or value is False:
        return frozenset(valid) if value else frozenset()
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        if item not in valid:
            raise SpecificationError(
                f"{argument}= has unknown option {item!r}; " + close_matches(str(item), valid)
            )
    if not items:
        raise SpecificationError(f"{argument}= is empty; name one or more of {', '.join(valid)}.")
    return frozenset(items)


# -------------------------------------------------------------------- model writing


@dataclass
class _Writer:
    """Collects statements, the labelled regression graph and the labels used."""

    lines: list[str] = field(default_factory=list)
    terms: dict[str, list[str]] = field(default_factory=dict)  # lhs -> rhs terms, in order
    parents: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # node -> (from, label)
    labels: list[str] = field(default_factory=list)
    defined: list[str] = field(default_factory=list)
    defs: list[str] = field(default_factory=list)  # := statements
    effects: list[dict[str, str]] = field(default_factory=list)

    def path(self, outcome: str, cause: str, label: str | None) -> None:
        self.terms.setdefault(outcome, []).append(f"{label}*{cause}" if label else cause)
        if label:
            self.parents.setdefault(outcome, []).append((cause, label))
            if label not in self.labels:
                self.labels.append(label)

    def covariate(self, outcome: str, name: str) -> None:
        self.terms.setdefault(outcome, []).append(name)

    def regressions(self) -> list[str]:
        return [f"{lhs} ~ {' + '.join(rhs)}" for lhs, rhs in self.terms.items()]

    def label(self, label: str) -> str:
        if label not in self.labels:
            self.labels.append(label)
        return label


def _lag_label(outcome: str, cause: str, wave: str, lag: int, constrained: bool) -> str:
    base = ("ar" if cause == outcome else "cl") + ("2" if lag == 2 else "")
    name = f"{base}_{outcome}" if cause == outcome else f"{base}_{outcome}_{cause}"
    return name if constrained else f"{name}_{wave}"


def _lagged(
    writer: _Writer,
    panel: _Panel,
    node: dict[str, list[str]],
    constraints: _Constraints,
    lag2: frozenset[str],
) -> None:
    """Regress every node at wave t on every node at t-1 (and t-2 for lag2 kinds)."""
    for t in range(1, len(panel.waves)):
        for outcome in panel.stems:
            for lag in (1, 2):
                if t - lag < 0:
                    continue
                for cause in panel.stems:
                    kind = "autoregressive" if cause == outcome else "cross_lagged"
                    if lag == 2 and kind not in lag2:
                        continue
                    label = _lag_label(
                        outcome, cause, panel.waves[t], lag, constraints.lagged(cause, outcome)
                    )
                    writer.path(node[outcome][t], node[cause][t - lag], label)


def _covariances(
    writer: _Writer,
    panel: _Panel,
    node: dict[str, list[str]],
    constraints: _Constraints,
    *,
    within: bool,
    variances: bool,
) -> None:
    """Within-wave covariances (wave 1) and residual covariances/variances (later waves)."""
    for t, _wave in enumerate(panel.waves):
        for a, b in itertools.combinations(panel.stems, 2):
            if not within:
                writer.lines.append(f"{node[a][t]} ~~ 0*{node[b][t]}")
                continue
            mod = ""
            if t > 0 and "residual_covariances" in constraints.classes:
                mod = writer.label(f"rc_{a}_{b}") + "*"
            writer.lines.append(f"{node[a][t]} ~~ {mod}{node[b][t]}")
    for t in range(len(panel.waves)):
        for v in panel.stems:
            constrained = t > 0 and "residual_variances" in constraints.classes
            if constrained:
                writer.lines.append(f"{node[v][t]} ~~ {writer.label(f'rv_{v}')}*{node[v][t]}")
            elif variances:
                writer.lines.append(f"{node[v][t]} ~~ {node[v][t]}")


def _routes(
    parents: Mapping[str, list[tuple[str, str]]], source: str, target: str
) -> list[list[tuple[str, str]]]:
    """Every route source -> ... -> target as a list of (node, label-into-node) steps."""
    children: dict[str, list[tuple[str, str]]] = {}
    for child, ps in parents.items():
        for parent, label in ps:
            children.setdefault(parent, []).append((child, label))
    out: list[list[tuple[str, str]]] = []

    def walk(at: str, steps: list[tuple[str, str]]) -> None:
        if len(out) > _MAX_ROUTES:
            return
        if at == target:
            out.append(steps)
            return
        for child, label in children.get(at, []):
            walk(child, [*steps, (child, label)])

    walk(source, [])
    return out


def _write_effects(
    writer: _Writer,
    source: str,
    target: str,
    short: Mapping[str, str],
    mediators: Collection[str],
) -> None:
    """Write ``:=`` rows for every route from ``source`` to ``target`` and their sums."""
    routes = _routes(writer.parents, source, target)
    if len(routes) > _MAX_ROUTES:
        return
    direct = [steps[0][1] for steps in routes if len(steps) == 1]
    indirect = [steps for steps in routes if len(steps) > 1]
    if not indirect:
        return
    pair = f"{short[source]}_{short[target]}"
    whole = f"{source} -> ... -> {target}"

    def define(name: str, expression: str, kind: str, path: str) -> str:
        writer.defs.append(f"{name} := {expression}")
        writer.defined.append(name)
        writer.effects.append(
            {"name": name, "cause": source, "outcome": target, "effect": kind, "path": path}
        )
        return name

    route_names: list[str] = []
    through: list[str] = []
    for steps in indirect:
        nodes = [source] + [n for n, _ in steps]
        name = "ind_" + "_".join(short[n] for n in nodes)
        product = "*".join(label for _, label in steps)
        route_names.append(define(name, product, "indirect", " -> ".join(nodes)))
        if any(n in mediators for n, _ in steps[:-1]):
            through.append(name)
    # The sum over routes through the mediators, when it is neither one route nor all.
    if 1 < len(through) < len(route_names):
        define(f"mediated_{pair}", " + ".join(through), "mediated", "")
    indirect_name = route_names[0]
    if len(route_names) > 1:
        indirect_name = define(
            f"total_ind_{pair}", " + ".join(route_names), "total_indirect", whole
        )
    if direct:
        define(f"total_{pair}", f"{direct[0]} + {indirect_name}", "total", whole)


def _roles(
    indirect: bool | Sequence[str], stems: Sequence[str], arm: str | None
) -> tuple[list[str], bool] | None:
    """The causal order used for := effects, and whether the lag-2 pairs are written.

    Returns None when no effects are written.
    """
    if indirect is False:
        return None
    if indirect is True:
        order = list(stems)
        if len(order) >= 3:
            return order, True
        return (order, False) if arm is not None else None
    order = _names(indirect, "indirect")
    for stem in order:
        if stem not in stems:
            raise SpecificationError(
                f"indirect= names {stem!r}, which is not one of the variables; "
                + close_matches(stem, stems)
            )
    if len(order) < 2 or len(set(order)) != len(order):
        raise SpecificationError(
            f"indirect= must list two or more distinct variables in causal order "
            f"(cause, mediators..., outcome), got {order}."
        )
    return order, True


def _effects(
    writer: _Writer,
    panel: _Panel,
    node: Mapping[str, Sequence[str]],
    short: Mapping[str, str],
    roles: tuple[list[str], bool] | None,
    arm: str | None,
) -> list[tuple[str, str]]:
    """Write the lagged := effects; return the (cause, outcome) pairs they decompose."""
    if roles is None:
        return []
    order, lagged_pairs = roles
    cause, outcome, mediators = order[0], order[-1], order[1:-1]
    pairs: list[tuple[str, str]] = []
    if lagged_pairs:
        inner = {n for m in mediators for n in node[m]}
        for t in range(len(panel.waves) - 2):
            pair = (node[cause][t], node[outcome][t + 2])
            before = len(writer.defs)
            _write_effects(writer, *pair, short, inner)
            if len(writer.defs) > before:
                pairs.append(pair)
    if arm is not None:
        inner = {n for m in order[:-1] for n in node[m]}
        pair = (arm, node[outcome][-1])
        before = len(writer.defs)
        _write_effects(writer, *pair, short, inner)
        if len(writer.defs) > before:
            pairs.append(pair)
    return pairs


def _time_invariant(
    covariates: Sequence[str], arm: str | None, panel: _Panel, generated: Iterable[str] = ()
) -> tuple[list[str], str | None]:
    controls = _names(covariates, "covariates")
    arm_name = None if arm is None else _names([arm], "arm")[0]
    columns = {c for cols in panel.columns.values() for c in cols}
    taken = columns | set(generated)
    for name in [*controls, *([arm_name] if arm_name else [])]:
        if name in taken:
            raise SpecificationError(
                f"{name!r} is given as a time-invariant covariate but is also a wave column "
                "or a generated name; each variable can play one role."
            )
    if arm_name is not None and arm_name in controls:
        raise SpecificationError(f"{arm_name!r} is in both arm= and covariates=; give it once.")
    if len(set(controls)) != len(controls):
        raise SpecificationError(f"covariates= repeats a name: {controls}.")
    return controls, arm_name


def _finish(
    writer: _Writer,
    head: Sequence[str],
    tail: Sequence[str],
    variables: Iterable[str],
    *,
    name: str | None,
    auto: bool,
    meta: dict[str, Any],
) -> Spec:
    from pathmodels.spec import Spec

    _check_unique_labels(variables, writer.labels + writer.defined)
    lines = [*head, *writer.regressions(), *writer.lines, *tail, *writer.defs]
    text = "\n".join(lines) + "\n"
    return Spec.from_syntax(text, name=name, auto=auto, meta=meta)


def _meta(builder: str, panel: _Panel, **options: Any) -> dict[str, Any]:
    return {
        "builder": builder,
        "variables": panel.stems,
        "waves": panel.waves,
        "columns": {stem: panel.columns[stem] for stem in panel.stems},
        **options,
    }


# ------------------------------------------------------------------------------ CLPM


def clpm(
    variables: Sequence[str] | Mapping[str, Sequence[str]],
    waves: int | Sequence[int | str],
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
    sep: str = "",
    constrain: bool | str | Iterable[str | Sequence[str]] = False,
    lag2: bool | str | Iterable[str] = False,
    within_covariances: bool = True,
    covariates: Sequence[str] = (),
    arm: str | None = None,
    indirect: bool | Sequence[str] = True,
    data: pd.DataFrame | None = None,
    name: str | None = None,
) -> Spec:
    """Build a cross-lagged panel model (CLPM).

    Every variable at wave t is regressed on every variable at wave t-1
    (autoregressive and cross-lagged paths); the variables covary within wave 1 and
    their residuals covary within each later wave. The spec uses ``sem()`` defaults.

    Parameters
    ----------
    variables : sequence of str, or mapping of str to sequence of str
        Variable name stems in causal order (e.g. ``["x", "m", "y"]``), or a mapping
        from stem to its columns, one per wave.
    waves : int or sequence of int or str
        Number of waves (labels 1..T) or the wave labels (e.g. ``[0, 6, 12]``). At
        least 2.
    columns : mapping of str to sequence of str, optional
        Explicit columns for some or all variables, one per wave
        (``{"employ": ["emp_b", "emp_6m", "emp_12m"]}``); the others are
        ``<stem><sep><wave>``.
    sep : str, default ""
        Separator between stem and wave label in column names (``"_"`` for
        ``employ_1``).
    constrain : bool, str or iterable, default False
        Parameters held equal over time: any of ``"autoregressive"``,
        ``"cross_lagged"``, ``"residual_covariances"``, ``"residual_variances"``,
        ``"intercepts"`` (regression intercepts at waves 2..T; adds a mean structure),
        or a single lagged path as ``("x", "m")`` or ``"x -> m"``. ``True`` means
        ``{"autoregressive", "cross_lagged"}``.
    lag2 : bool, str or iterable of str, default False
        Add lag-2 paths: ``"autoregressive"``, ``"cross_lagged"`` or both (``True``).
        Needs 3 or more waves.
    within_covariances : bool, default True
        Free the within-wave covariances; ``False`` fixes them at 0.
    covariates : sequence of str, default ()
        Time-invariant covariates predicting every variable at every wave (unlabelled).
    arm : str, optional
        A randomised arm (or other time-invariant cause) predicting every variable at
        every wave, with labelled paths ``<arm>_<stem><wave>``; with wave 1 measured
        before randomisation, the paths to wave 1 estimate baseline imbalance (0 in
        expectation).
    indirect : bool or sequence of str, default True
        Write the lagged indirect effects as ``:=``. With ``True``: for three or more
        variables, the first is the cause, the last the outcome and those between
        the mediators, and every route x at t -> (any variable) at t+1 -> y at t+2 is
        written, with the sum through the mediators, the total indirect effect and,
        with lag-2 paths, the total; with an ``arm``, every route from the arm to the
        last variable at the last wave (a pair with more than 64 routes gets none:
        ``fit(..., effects=[(cause, outcome)])`` still decomposes it). ``meta`` lists
        the pairs written. A sequence gives the causal order explicitly
        (e.g. ``["employ", "selfest"]``). ``False`` writes none.
    data : pandas.DataFrame, optional
        If given, check that every column exists (a :class:`DataError` lists close
        matches and the suffixes found).
    name : str, optional
        Name given to the spec.

    Returns
    -------
    Spec
        The model; ``meta`` holds the options, the columns, ``effects`` (one record
        per ``:=`` effect: name, cause, outcome, kind, route) and ``effect_pairs`` (the
        pairs to pass to ``fit(..., effects=...)`` to get the same decomposition).

    Raises
    ------
    SpecificationError
        Fewer than 2 waves or variables, names that are not identifiers, columns lists
        of unequal length, unknown ``constrain``/``lag2`` options, clashing labels.
    DataError
        With ``data=``: a wave column that is not in the data.

    See Also
    --------
    riclpm : The random-intercept CLPM, separating stable between-person differences.
    half_longitudinal : Two-wave mediation.

    Notes
    -----
    The CLPM mixes stable between-person differences into its lagged paths; when
    people differ stably, prefer :func:`riclpm` (Hamaker et al., 2015) and test the
    random intercepts with :func:`compare_random_intercepts`. Lagged mediation
    follows Cole & Maxwell (2003): the indirect effect of x at t on y at t+2 through
    m at t+1 is the product of the two lagged paths.

    References
    ----------
    Cole DA, Maxwell SE (2003). Testing mediational models with longitudinal data.
    *Journal of Abnormal Psychology* 112:558-577.

    Examples
    --------
    >>> spec = clpm(["x", "y"], 3)
    >>> print(spec.syntax, end="")
    x2 ~ ar_x_2*x1 + cl_x_y_2*y1
    y2 ~ cl_y_x_2*x1 + ar_y_2*y1
    x3 ~ ar_x_3*x2 + cl_x_y_3*y2
    y3 ~ cl_y_x_3*x2 + ar_y_3*y2
    x1 ~~ y1
    x2 ~~ y2
    x3 ~~ y3

    Three waves of x -> m -> y with lagged paths equal over time; the lagged
    indirect effects are written for you:

    >>> spec = clpm(["x", "m", "y"], 3, constrain=True)
    >>> [line for line in spec.syntax.splitlines() if ":=" in line]
    ['ind_x1_x2_y3 := ar_x*cl_y_x', 'ind_x1_m2_y3 := cl_m_x*cl_y_m', \
'ind_x1_y2_y3 := cl_y_x*ar_y', 'total_ind_x1_y3 := ind_x1_x2_y3 + ind_x1_m2_y3 + ind_x1_y2_y3']

    IPS -> employment -> quality of life over three waves of the bundled panel:

    >>> import pathmodels as pm
    >>> panel = pm.load_dataset("ips_panel")
    >>> spec = clpm(["employ", "qol"], 3, sep="_", arm="arm", data=panel)
    >>> res = pm.fit(spec, panel, missing="fiml")
    >>> res.converged
    True
    """
    panel = _panel(variables, waves, columns, sep, minimum_waves=2, builder="clpm")
    cons = _constraints(constrain, CLPM_CONSTRAINTS, panel.stems)
    lag2_kinds = _choices(lag2, _LAG2_KINDS, "lag2")
    if lag2_kinds and len(panel.waves) < 3:
        raise SpecificationError("lag2= needs at least 3 waves; drop lag2 or add waves.")
    controls, arm_name = _time_invariant(covariates, arm, panel)
    if data is not None:
        _check_data(panel, data, [*controls, *([arm_name] if arm_name else [])], sep)

    node = {stem: list(panel.columns[stem]) for stem in panel.stems}
    short = {node[s][t]: f"{s}{w}" for s in panel.stems for t, w in enumerate(panel.waves)}
    writer = _Writer()

    def predictors(target: str) -> None:
        if arm_name is not None:
            writer.path(target, arm_name, f"{arm_name}_{short[target]}")
        for control in controls:
            writer.covariate(target, control)

    for stem in panel.stems:
        predictors(node[stem][0])
    _lagged(writer, panel, node, cons, lag2_kinds)
    for t in range(1, len(panel.waves)):
        for stem in panel.stems:
            predictors(node[stem][t])
    _covariances(writer, panel, node, cons, within=within_covariances, variances=False)
    tail = []
    if "intercepts" in cons.classes:
        for stem in panel.stems:
            label = writer.label(f"int_{stem}")
            tail += [f"{node[stem][t]} ~ {label}*1" for t in range(1, len(panel.waves))]
    if arm_name is not None:
        short[arm_name] = arm_name
    pairs = _effects(writer, panel, node, short, _roles(indirect, panel.stems, arm_name), arm_name)
    meta = _meta(
        "clpm",
        panel,
        sep=sep,
        constrain=tuple(sorted(cons.classes)),
        constrain_paths=tuple(sorted(cons.pairs)),
        lag2=tuple(sorted(lag2_kinds)),
        within_covariances=within_covariances,
        covariates=tuple(controls),
        arm=arm_name,
        effects=tuple(writer.effects),
        effect_pairs=tuple(pairs),
    )
    everything = [*short, *controls]
    return _finish(writer, [], tail, everything, name=name, auto=True, meta=meta)


# --------------------------------------------------------------------------- RI-CLPM


def riclpm(
    variables: Sequence[str] | Mapping[str, Sequence[str]],
    waves: int | Sequence[int | str],
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
    sep: str = "",
    constrain: bool | str | Iterable[str | Sequence[str]] = False,
    lag2: bool | str | Iterable[str] = False,
    within_covariances: bool = True,
    covariates: Sequence[str] = (),
    arm: str | None = None,
    arm_predicts: str | Iterable[str] = ("intercepts", "wave1"),
    indirect: bool | Sequence[str] = True,
    data: pd.DataFrame | None = None,
    name: str | None = None,
) -> Spec:
    """Build a random-intercept cross-lagged panel model (RI-CLPM).

    The specification of Hamaker, Kuiper & Grasman (2015): each variable has a random
    intercept ``RI<stem>`` (loadings fixed at 1 on all its waves) and a within-person
    component ``w<stem><wave> =~ 1*<column>`` at each wave; the observed residual
    variances are fixed at 0; the lagged regressions link the within components;
    within components covary at wave 1 and their residuals at later waves; the random
    intercepts covary with each other but not with the wave-1 within components; the
    grand means are free per wave (or equal, ``constrain="means"``). The spec is
    built as bare ``lavaan()`` reads it (``auto=False``).

    Parameters
    ----------
    variables, waves, columns, sep, lag2, within_covariances, data, name
        As in :func:`clpm`; at least 3 waves.
    constrain : bool, str or iterable, default False
        As in :func:`clpm`, with ``"means"`` (grand means equal over waves) instead of
        ``"intercepts"``; residual covariances and variances are those of the within
        components.
    covariates : sequence of str, default ()
        Time-invariant covariates predicting what ``arm_predicts`` names (unlabelled).
    arm : str, optional
        A randomised arm (or other time-invariant covariate) with labelled paths
        ``<arm>_<node>``.
    arm_predicts : str or iterable of str, default ("intercepts", "wave1")
        What the arm (and the covariates) predict: ``"intercepts"`` (the random
        intercepts), ``"wave1"`` (the wave-1 within components), ``"followup"`` (the
        within components at waves 2..T: the intervention's impulse on change, the
        usual choice when wave 1 is a pre-randomisation baseline). Parts not named are
        uncorrelated with the arm.
    indirect : bool or sequence of str, default True
        As in :func:`clpm`, on the within components: routes ``w<x><t> -> ... ->
        w<y><t+2>``, and with an arm that predicts within components, every route from
        the arm to the last within component of the outcome.

    Returns
    -------
    Spec
        The model (``auto=False``); ``meta`` as in :func:`clpm`, plus
        ``random_intercepts`` and ``within`` (stem -> names).

    Raises
    ------
    SpecificationError
        Fewer than 3 waves, or as :func:`clpm`.
    DataError
        With ``data=``: a wave column that is not in the data.

    See Also
    --------
    clpm : The model without random intercepts.
    compare_random_intercepts : Likelihood-ratio test of RI-CLPM vs CLPM.

    Notes
    -----
    Fit with a mean structure (the ``~ 1`` rows make it the default). A negative
    random-intercept variance, or one estimated at 0, means the stable part is too
    small to separate; :func:`pathmodels.fit` flags it.

    References
    ----------
    Hamaker EL, Kuiper RM, Grasman RPPP (2015). A critique of the cross-lagged panel
    model. *Psychological Methods* 20:102-116.

    Mulder JD, Hamaker EL (2021). Three extensions of the random intercept
    cross-lagged panel model. *Structural Equation Modeling* 28:638-648.

    Examples
    --------
    >>> spec = riclpm(["x", "y"], 3)
    >>> for line in spec.syntax.splitlines()[:6]:
    ...     print(line)
    RIx =~ 1*x1 + 1*x2 + 1*x3
    RIy =~ 1*y1 + 1*y2 + 1*y3
    wx1 =~ 1*x1
    wx2 =~ 1*x2
    wx3 =~ 1*x3
    wy1 =~ 1*y1

    Employment and social support in the bundled IPS panel, with the trial arm acting on
    the within-person change after baseline:

    >>> import pathmodels as pm
    >>> panel = pm.load_dataset("ips_panel")
    >>> spec = riclpm(["employ", "support"], 3, sep="_", arm="arm",
    ...               arm_predicts="followup", data=panel)
    >>> res = pm.fit(spec, panel, missing="fiml")
    >>> res.converged
    True
    """
    panel = _panel(variables, waves, columns, sep, minimum_waves=3, builder="riclpm")
    cons = _constraints(constrain, RICLPM_CONSTRAINTS, panel.stems)
    lag2_kinds = _choices(lag2, _LAG2_KINDS, "lag2")
    targets = _choices(arm_predicts, ARM_TARGETS, "arm_predicts")
    ri = {stem: f"RI{stem}" for stem in panel.stems}
    within = {stem: [f"w{stem}{w}" for w in panel.waves] for stem in panel.stems}
    generated = [*ri.values(), *(n for names in within.values() for n in names)]
    columns_used = {c for cols in panel.columns.values() for c in cols}
    clash = sorted(set(generated) & columns_used)
    if clash:
        raise SpecificationError(
            f"generated name(s) {', '.join(clash)} (random intercepts RI<stem>, within "
            "components w<stem><wave>) equal data columns; rename those columns."
        )
    controls, arm_name = _time_invariant(covariates, arm, panel, generated)
    if data is not None:
        _check_data(panel, data, [*controls, *([arm_name] if arm_name else [])], sep)

    short = {n: n for n in generated}
    writer = _Writer()
    head = [f"{ri[s]} =~ " + " + ".join(f"1*{c}" for c in panel.columns[s]) for s in panel.stems]
    head += [
        f"{within[s][t]} =~ 1*{panel.columns[s][t]}"
        for s in panel.stems
        for t in range(len(panel.waves))
    ]
    head += [f"{c} ~~ 0*{c}" for s in panel.stems for c in panel.columns[s]]

    def predictors(target: str) -> None:
        if arm_name is not None:
            writer.path(target, arm_name, f"{arm_name}_{short[target]}")
        for control in controls:
            writer.covariate(target, control)

    if "intercepts" in targets and (arm_name or controls):
        for stem in panel.stems:
            predictors(ri[stem])
    if "wave1" in targets and (arm_name or controls):
        for stem in panel.stems:
            predictors(within[stem][0])
    _lagged(writer, panel, within, cons, lag2_kinds)
    if "followup" in targets and (arm_name or controls):
        for t in range(1, len(panel.waves)):
            for stem in panel.stems:
                predictors(within[stem][t])
    _covariances(writer, panel, within, cons, within=within_covariances, variances=True)
    tail = [
        f"{ri[a]} ~~ {ri[b]}" for a, b in itertools.combinations_with_replacement(panel.stems, 2)
    ]
    tail += [f"{ri[a]} ~~ 0*{within[b][0]}" for a in panel.stems for b in panel.stems]
    for stem in panel.stems:
        mod = writer.label(f"mean_{stem}") + "*" if "means" in cons.classes else ""
        tail += [f"{c} ~ {mod}1" for c in panel.columns[stem]]
    if arm_name is not None:
        short[arm_name] = arm_name
    pairs = _effects(
        writer, panel, within, short, _roles(indirect, panel.stems, arm_name), arm_name
    )
    meta = _meta(
        "riclpm",
        panel,
        sep=sep,
        constrain=tuple(sorted(cons.classes)),
        constrain_paths=tuple(sorted(cons.pairs)),
        lag2=tuple(sorted(lag2_kinds)),
        within_covariances=within_covariances,
        covariates=tuple(controls),
        arm=arm_name,
        arm_predicts=tuple(sorted(targets)),
        random_intercepts=dict(ri),
        within={s: tuple(v) for s, v in within.items()},
        effects=tuple(writer.effects),
        effect_pairs=tuple(pairs),
    )
    everything = [*generated, *columns_used, *controls, *([arm_name] if arm_name else [])]
    return _finish(writer, head, tail, everything, name=name, auto=False, meta=meta)


# ----------------------------------------------------------------- half-longitudinal


def half_longitudinal(
    x: str,
    m: str,
    y: str,
    waves: Sequence[int | str] = (1, 2),
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
    sep: str = "",
    full: bool = True,
    direct: bool = True,
    covariates: Sequence[str] = (),
    data: pd.DataFrame | None = None,
    name: str | None = None,
) -> Spec:
    """Build the two-wave ("half-longitudinal") mediation model of Cole & Maxwell (2003).

    With x, m and y measured at two waves, the a path is x at wave 1 -> m at wave 2
    controlling m at wave 1, the b path is m at wave 1 -> y at wave 2 controlling y at
    wave 1, and the indirect effect is ``ind := a*b``: under stationarity (the same
    a and b between every pair of adjacent waves) it estimates the indirect effect
    x_t -> m_(t+1) -> y_(t+2) that three waves would show.

    Parameters
    ----------
    x, m, y : str
        Stems of the cause, the mediator and the outcome.
    waves : sequence of two int or str, default (1, 2)
        Labels of the two waves (columns ``<stem><sep><wave>``).
    columns : mapping of str to sequence of str, optional
        Explicit columns ``{stem: [wave-1 column, wave-2 column]}`` for some or all
        stems.
    sep : str, default ""
        Separator between stem and wave label.
    full : bool, default True
        Regress each wave-2 variable on all three wave-1 variables (the saturated
        two-wave model, df = 0 without covariates); ``False`` keeps only the
        stabilities and the a, b and c' paths (testable restrictions).
    direct : bool, default True
        Include x at wave 1 -> y at wave 2 (``cp``) and ``total := cp + ind``.
    covariates : sequence of str, default ()
        Time-invariant covariates predicting all six variables (unlabelled).
    data : pandas.DataFrame, optional
        If given, check that every column exists.
    name : str, optional
        Name given to the spec.

    Returns
    -------
    Spec
        Labels ``a`` (x1 -> m2), ``b`` (m1 -> y2), ``cp`` (x1 -> y2); defined
        ``ind := a*b`` and ``total := cp + ind``.

    Raises
    ------
    SpecificationError
        Not exactly two waves, invalid or repeated names.
    DataError
        With ``data=``: a column that is not in the data.

    See Also
    --------
    clpm : Three or more waves, where the lagged indirect effect is a route of the model.

    Notes
    -----
    ``a`` and ``b`` come from different intervals, so ``ind`` is not a route of the
    fitted model and does not appear in ``Result.effects``; it is an estimate of the
    longitudinal indirect effect only under stationarity (Cole & Maxwell, 2003,
    "half-longitudinal design"; Maxwell & Cole, 2007).

    References
    ----------
    Cole DA, Maxwell SE (2003). Testing mediational models with longitudinal data.
    *Journal of Abnormal Psychology* 112:558-577.

    Examples
    --------
    >>> spec = half_longitudinal("x", "m", "y", full=False)
    >>> print(spec.syntax, end="")
    x2 ~ x1
    m2 ~ a*x1 + m1
    y2 ~ cp*x1 + b*m1 + y1
    x1 ~~ m1
    x1 ~~ y1
    m1 ~~ y1
    x2 ~~ m2
    x2 ~~ y2
    m2 ~~ y2
    ind := a*b
    total := cp + ind
    """
    if isinstance(waves, int | str) or len(waves) != 2:
        raise SpecificationError(
            f"waves= must give the two wave labels, e.g. (1, 2), got {waves!r}; for three "
            "or more waves use clpm() or riclpm(), whose lagged indirect effects are routes "
            "of the model."
        )
    stems = _names([x, m, y], "x, m, y")
    if len(set(stems)) != 3:
        raise SpecificationError(f"x, m and y must be three different variables, got {stems}.")
    panel = _panel(
        stems,
        list(waves),
        columns,
        sep,
        minimum_waves=2,
        builder="half_longitudinal",
        minimum_variables=3,
    )
    controls, _ = _time_invariant(covariates, None, panel)
    if data is not None:
        _check_data(panel, data, controls, sep)
    (x1, x2), (m1, m2), (y1, y2) = (panel.columns[s] for s in stems)
    writer = _Writer()
    labels = {(x1, m2): "a", (m1, y2): "b"}
    if direct:
        labels[(x1, y2)] = "cp"
    if full:
        causes = {x2: [x1, m1, y1], m2: [x1, m1, y1], y2: [x1, m1, y1]}
    else:
        causes = {x2: [x1], m2: [x1, m1], y2: [x1, m1, y1]}
    for outcome, sources in causes.items():
        for cause in sources:
            if (cause, outcome) == (x1, y2) and not direct:
                continue
            writer.path(outcome, cause, labels.get((cause, outcome)))
        for control in controls:
            writer.covariate(outcome, control)
    if controls:
        for cause in (x1, m1, y1):
            for control in controls:
                writer.covariate(cause, control)
        # wave-1 regressions must come first for readability
        writer.terms = {k: writer.terms[k] for k in (x1, m1, y1, x2, m2, y2)}
    for wave in ((x1, m1, y1), (x2, m2, y2)):
        writer.lines += [f"{p} ~~ {q}" for p, q in itertools.combinations(wave, 2)]
    writer.defs.append("ind := a*b")
    writer.defined.append("ind")
    if direct:
        writer.defs.append("total := cp + ind")
        writer.defined.append("total")
    meta = _meta(
        "half_longitudinal",
        panel,
        sep=sep,
        x=stems[0],
        m=stems[1],
        y=stems[2],
        full=full,
        direct=direct,
        covariates=tuple(controls),
    )
    return _finish(
        writer, [], [], [*stems, x1, x2, m1, m2, y1, y2, *controls], name=name, auto=True, meta=meta
    )


# ----------------------------------------------------------------- model comparison


def _random_intercept_rows(result: Result) -> list[int]:
    """Rows of the free random-intercept (co)variances.

    Random intercepts are latent variables whose loadings are all fixed at 1 on three or
    more indicators.
    """
    table = result.table
    loads: dict[str, list[float]] = {}
    for i in range(table.n_rows):
        if table.op[i] == "=~":
            loads.setdefault(table.lhs[i], []).append(
                math.nan if table.free[i] > 0 else float(table.value[i])
            )
    intercepts = {lv for lv, v in loads.items() if len(v) >= 3 and all(x == 1.0 for x in v)}
    return [
        i
        for i in range(table.n_rows)
        if table.op[i] == "~~"
        and table.lhs[i] in intercepts
        and table.rhs[i] in intercepts
        and table.free[i] > 0
    ]


def compare_random_intercepts(
    riclpm_result: Result,
    clpm_result: Result,
    *,
    n_sim: int = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Likelihood-ratio test of an RI-CLPM against the CLPM nested in it.

    The CLPM is the RI-CLPM with the random-intercept variances and covariances fixed
    at 0. A variance fixed at 0 lies on the boundary of its space, so the usual
    chi-square reference distribution of the likelihood-ratio statistic is wrong
    (too conservative); its correct reference is a mixture of chi-squares, the
    chi-bar-square (Stoel et al., 2006). Both p-values are reported.

    Parameters
    ----------
    riclpm_result : Result
        The fit of the RI-CLPM (e.g. of :func:`riclpm`).
    clpm_result : Result
        The fit of the CLPM (e.g. of :func:`clpm` with the same variables, waves and
        options) to the same data, with the same mean structure.
    n_sim : int, default 100_000
        Draws for the mixture weights.
    seed : int, default 0
        Seed of those draws.

    Returns
    -------
    pandas.DataFrame
        Indexed ``riclpm``, ``clpm`` (sorted by df, as ``lavTestLRT``), with columns
        ``df, aic, bic, chisq, chisq_diff, rmsea, df_diff, pvalue`` (the naive
        chi-square difference test, equal to lavaan's ``lavTestLRT``),
        ``pvalue_chibar`` (the chi-bar-square p-value), ``n_boundary`` (random-
        intercept variances on the boundary) and ``note``.

    Raises
    ------
    SpecificationError
        If ``riclpm_result`` has no random intercepts, the fits are not to the same
        number of observations, or the df difference is not the number of
        random-intercept (co)variances (the models are then not nested this way).

    See Also
    --------
    pathmodels.compare : The likelihood-ratio table for any nested fits.
    pathmodels.ml.compare.chibar_square_pvalue : The mixture p-value.

    Notes
    -----
    The weights come from the RI-CLPM's sampling covariance of the random-intercept
    (co)variances: the variances are constrained to be non-negative, the
    covariances are treated as unrestricted. For one random intercept this is the
    exact 50:50 mixture of chi-square(0) and chi-square(1); with several, the true
    boundary (a positive semi-definite matrix) is smaller than this orthant, so the
    mixture p-value is still slightly conservative, but much closer than the naive
    one, which it never exceeds.

    References
    ----------
    Stoel RD, Garre FG, Dolan C, van den Wittenboer G (2006). On the likelihood ratio
    test in structural equation modeling when parameters are subject to boundary
    constraints. *Psychological Methods* 11:439-455.

    Hamaker EL, Kuiper RM, Grasman RPPP (2015). A critique of the cross-lagged panel
    model. *Psychological Methods* 20:102-116.

    Examples
    --------
    >>> import pathmodels as pm
    >>> panel = pm.load_dataset("ips_panel")
    >>> ri = pm.fit(riclpm(["selfest", "support"], 3, sep="_"), panel, missing="fiml")
    >>> cl = pm.fit(clpm(["selfest", "support"], 3, sep="_"), panel, missing="fiml")
    >>> table = compare_random_intercepts(ri, cl)
    >>> int(table.loc["clpm", "df_diff"])
    3
    >>> bool(table.loc["clpm", "pvalue_chibar"] <= table.loc["clpm", "pvalue"])
    True
    """
    from pathmodels.ml.compare import LRTInput, chibar_square_pvalue, likelihood_ratio_test

    rows = _random_intercept_rows(riclpm_result)
    if not rows:
        raise SpecificationError(
            "riclpm_result has no random intercepts (latent variables whose loadings are "
            "all fixed at 1 on three or more waves); pass the RI-CLPM fit first and the "
            "CLPM fit second."
        )
    fits = {"riclpm": riclpm_result, "clpm": clpm_result}
    for label, res in fits.items():
        if not res.converged:
            raise SpecificationError(
                f"the {label} fit did not converge; a likelihood-ratio test needs both fits "
                "at their maximum."
            )
    n = {label: int(res.fit_measures["n"]) for label, res in fits.items()}
    if n["riclpm"] != n["clpm"]:
        raise SpecificationError(
            f"the fits use different numbers of observations ({n['riclpm']} vs {n['clpm']}); "
            "fit both models to the same rows with the same missing= option."
        )
    inputs = [
        LRTInput(
            name=label,
            chisq=float(res.fit_measures["chisq"]),
            df=int(res.fit_measures["df"]),
            npar=int(res.fit_measures["npar"]),
            aic=float(res.fit_measures["aic"]),
            bic=float(res.fit_measures["bic"]),
            n=n[label],
            n_groups=res.table.ngroups,
        )
        for label, res in fits.items()
    ]
    table = likelihood_ratio_test(inputs)
    df_diff = int(table.loc["clpm", "df_diff"])
    tested = sorted({int(riclpm_result.table.free[i]) - 1 for i in rows})
    if df_diff != len(tested):
        raise SpecificationError(
            f"the df difference is {df_diff} but the RI-CLPM has {len(tested)} free "
            "random-intercept (co)variances; the CLPM must be the RI-CLPM without random "
            "intercepts (same variables, waves, constraints, covariates and mean structure). "
            "With an arm predicting the random intercepts, compare models without it."
        )
    table_ = riclpm_result.table
    variance = [table_.lhs[i] == table_.rhs[i] for i in rows]
    position = {int(table_.free[i]) - 1: v for i, v in zip(rows, variance, strict=True)}
    boundary = np.array([position[k] for k in tested])
    vcov = riclpm_result.vcov.to_numpy()[np.ix_(tested, tested)]
    stat = max(float(table.loc["clpm", "chisq_diff"]), 0.0)
    p_mix = chibar_square_pvalue(stat, vcov, boundary, n_sim=n_sim, seed=seed)
    k = int(boundary.sum())
    table["pvalue_chibar"] = [math.nan, p_mix]
    table["n_boundary"] = [math.nan, float(k)]
    note = (
        f"{k} random-intercept variance(s) are tested at 0, the boundary of their space, "
        "so the chi-square p-value is too large; pvalue_chibar uses the chi-bar-square "
        "mixture (Stoel et al., 2006) with the variances bounded at 0 and the "
        "covariances free"
        + (" (slightly conservative for several random intercepts)." if k > 1 else ".")
    )
    table["note"] = ["", note]
    return table
