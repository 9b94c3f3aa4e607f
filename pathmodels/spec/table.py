"""Build lavaan's parameter table from parsed statements.

This reproduces what lavaan's ``lavaanify()`` does for ``sem()``/``cfa()`` defaults
(``auto.var``, ``auto.fix.first``, ``auto.fix.single``, ``auto.cov.lv.x``, ``auto.cov.y``,
``fixed.x``, ``int.ov.free``), including its classification of variables
(``lav_partable_vnames``) and its ordering of observed variables (indicators, then
dependent variables, then exogenous covariates). With ``auto=False`` the table is built as
by ``lavaan()``: default variance rows exist but are fixed at zero, so the syntax must say
everything (as the published RI-CLPM code does).

Equality constraints from shared labels (``b*m1 + b*m2``), from ``c()`` labels repeated
across groups and from simple ``a == b`` constraints are represented by giving the rows the
same index into the free-parameter vector (column ``free``), which is equivalent to
lavaan's explicit ``==`` rows but leaves an unconstrained optimisation problem.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pathmodels.exceptions import SpecificationError, close_matches
from pathmodels.spec.syntax import Constraint, Definition, Formula, Modifier, Statement

if TYPE_CHECKING:
    import pandas as pd

    from pathmodels.expressions import Expression

__all__ = ["GROUP_EQUAL_CLASSES", "ParameterTable", "TableOptions", "VariableRoles", "build_table"]

GROUP_EQUAL_CLASSES = (
    "loadings",
    "regressions",
    "intercepts",
    "means",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
)


@dataclass(frozen=True, slots=True)
class TableOptions:
    """Options that shape the parameter table (lavaan argument names in brackets).

    Attributes
    ----------
    ngroups : int
        Number of groups (``group=``).
    meanstructure : bool
        Add intercepts/means (``meanstructure``).
    auto : bool
        ``sem()`` defaults (True) or bare ``lavaan()`` (False).
    fixed_x : bool
        Treat observed exogenous covariates as fixed (``fixed.x``).
    int_ov_free, int_lv_free : bool
        Free observed intercepts / latent means (``int.ov.free``, ``int.lv.free``).
    group_equal : tuple of str
        Parameter classes constrained equal across groups (``group.equal``).
    group_partial : tuple of str
        Parameters exempt from ``group_equal``, written ``"y~x"`` (``group.partial``).
    std_lv : bool
        Fix latent variances to 1 instead of the first loading (``std.lv``).
    """

    ngroups: int = 1
    meanstructure: bool = False
    auto: bool = True
    fixed_x: bool = True
    int_ov_free: bool = True
    int_lv_free: bool = False
    group_equal: tuple[str, ...] = ()
    group_partial: tuple[str, ...] = ()
    std_lv: bool = False

    def __post_init__(self) -> None:
        if self.ngroups < 1:
            raise SpecificationError(f"ngroups must be at least 1, got {self.ngroups}")
        for cls in self.group_equal:
            if cls not in GROUP_EQUAL_CLASSES:
                raise SpecificationError(
                    f"unknown group_equal class {cls!r}; " + close_matches(cls, GROUP_EQUAL_CLASSES)
                )


@dataclass(frozen=True, slots=True)
class VariableRoles:
    """Names of the model's variables by role, in lavaan's order."""

    observed: tuple[str, ...]
    latent: tuple[str, ...]
    exogenous_x: tuple[str, ...]  # observed covariates treated as fixed (fixed.x)
    outcomes: tuple[str, ...]  # pure dependent variables (lavaan's ov.y + lv.y)
    dependent: tuple[str, ...]  # every lhs of ~ (lavaan's eqs.y)
    indicators: tuple[str, ...]
    interactions: tuple[str, ...]  # observed product terms written x:w


@dataclass(frozen=True)
class ParameterTable:
    """lavaan's parameter table: one row per model parameter.

    Columns are tuples/arrays of equal length; ``free`` is the 1-based index of the row in
    the free-parameter vector (0 = fixed), shared by rows constrained equal. ``value`` is
    the fixed value, or the user's starting value (NaN = none) for free rows; exogenous
    rows (``exo``) get their values from the sample statistics at fit time.
    """

    lhs: tuple[str, ...]
    op: tuple[str, ...]
    rhs: tuple[str, ...]
    group: np.ndarray
    user: np.ndarray
    free: np.ndarray
    value: np.ndarray
    label: tuple[str, ...]
    exo: np.ndarray
    roles: VariableRoles
    options: TableOptions
    definitions: tuple[tuple[str, Expression], ...] = ()
    constraints: tuple[tuple[Expression, str, Expression], ...] = ()
    lavaan_free_count: int = 0  # number of free rows before merging equalities
    _index: Any = field(default=None, repr=False, compare=False)

    @property
    def npar(self) -> int:
        """Number of distinct free parameters (after equality constraints)."""
        return int(self.free.max()) if self.free.size else 0

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self.lhs)

    @property
    def ngroups(self) -> int:
        """Number of groups."""
        return self.options.ngroups

    @property
    def n_equality_constraints(self) -> int:
        """Equality constraints absorbed by shared indices (lavaan counts these)."""
        return self.lavaan_free_count - self.npar

    def rows(self, *, op: str | None = None, group: int | None = None) -> list[int]:
        """Row positions matching an operator and/or group."""
        return [
            i
            for i in range(self.n_rows)
            if (op is None or self.op[i] == op) and (group is None or self.group[i] == group)
        ]

    def find(self, lhs: str, op: str, rhs: str, group: int = 1) -> int:
        """Row position of a parameter; ``~~`` is matched in either order."""
        for i in range(self.n_rows):
            if self.group[i] != group or self.op[i] != op:
                continue
            if (self.lhs[i], self.rhs[i]) == (lhs, rhs) or (
                op == "~~" and (self.lhs[i], self.rhs[i]) == (rhs, lhs)
            ):
                return i
        raise SpecificationError(f"the model has no parameter {lhs} {op} {rhs} in group {group}")

    def labels_to_free(self) -> dict[str, int]:
        """Map each label of a free parameter to its free index (1-based)."""
        out: dict[str, int] = {}
        for lab, fr in zip(self.label, self.free, strict=True):
            if lab and fr > 0:
                out.setdefault(lab, int(fr))
        return out

    def to_frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame with lavaan's column names."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "id": np.arange(1, self.n_rows + 1),
                "lhs": self.lhs,
                "op": self.op,
                "rhs": self.rhs,
                "user": self.user.astype(int),
                "group": self.group.astype(int),
                "free": self.free.astype(int),
                "value": self.value,
                "exo": self.exo.astype(int),
                "label": self.label,
            }
        )
        extra = [
            {
                "id": 0,
                "lhs": name,
                "op": ":=",
                "rhs": str(expr),
                "user": 1,
                "group": 0,
                "free": 0,
                "value": np.nan,
                "exo": 0,
                "label": name,
            }
            for name, expr in self.definitions
        ] + [
            {
                "id": 0,
                "lhs": str(a),
                "op": op,
                "rhs": str(b),
                "user": 1,
                "group": 0,
                "free": 0,
                "value": np.nan,
                "exo": 0,
                "label": "",
            }
            for a, op, b in self.constraints
        ]
        if extra:
            more = pd.DataFrame(extra)
            more["id"] = np.arange(self.n_rows + 1, self.n_rows + 1 + len(extra))
            frame = pd.concat([frame, more], ignore_index=True)
        return frame


# --------------------------------------------------------------------------- helpers


@dataclass
class _Row:
    lhs: str
    op: str
    rhs: str
    user: bool
    modifier: Modifier = field(default_factory=Modifier)
    free: bool = True
    value: float = float("nan")
    exo: bool = False
    source: str = ""


def _unique(seq: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(seq))


def _roles(user_rows: list[_Row], fixed_x: bool) -> VariableRoles:
    """Lavaan's lav_partable_vnames for one block."""
    lv = _unique([r.lhs for r in user_rows if r.op == "=~"])
    eqs_y = _unique([r.lhs for r in user_rows if r.op == "~"])
    eqs_x = _unique([r.rhs for r in user_rows if r.op == "~"])
    v_ind = _unique([r.rhs for r in user_rows if r.op == "=~"])
    ov_ind = [v for v in v_ind if v not in lv]
    ov_y_int = [v for v in eqs_y if v not in lv and v not in ov_ind]
    ov_x = [v for v in eqs_x if v not in lv and v not in ov_ind and v not in ov_y_int]
    # Interaction terms involving a dependent variable are not exogenous.
    bad = [v for v in ov_x if ":" in v and any(p in eqs_y for p in v.split(":"))]
    ov_y_int = _unique(ov_y_int + bad)
    ov_x = [v for v in ov_x if v not in bad]
    ov_cov = [r.lhs for r in user_rows if r.op == "~~" and r.lhs not in lv] + [
        r.rhs for r in user_rows if r.op == "~~" and r.rhs not in lv
    ]
    ov_int = [r.lhs for r in user_rows if r.op == "~1" and r.lhs not in lv]
    base = _unique(ov_ind + ov_y_int + ov_x)
    extra = [v for v in _unique(ov_cov + ov_int) if v not in base]
    observed = base + extra
    if fixed_x:
        mentioned = {r.lhs for r in user_rows if r.op in ("~~", "~1")} | {
            r.rhs for r in user_rows if r.op == "~~"
        }
        exo_x = [v for v in ov_x if v not in mentioned]
    else:
        exo_x = []
    lv_y = [v for v in lv if v in eqs_y and v not in v_ind and v not in eqs_x]
    ov_y = [v for v in observed if v in eqs_y and v not in v_ind and v not in eqs_x and v not in lv]
    return VariableRoles(
        observed=tuple(observed),
        latent=tuple(lv),
        exogenous_x=tuple(exo_x),
        outcomes=tuple(lv_y + ov_y),
        dependent=tuple(eqs_y),
        indicators=tuple(v_ind),
        interactions=tuple(v for v in observed if ":" in v),
    )


def _key(lhs: str, op: str, rhs: str) -> tuple[str, str, str]:
    if op == "~~" and rhs < lhs:
        return (rhs, op, lhs)
    return (lhs, op, rhs)


def _flatten(
    statements: Sequence[Statement],
) -> tuple[list[_Row], list[Definition], list[Constraint]]:
    rows: list[_Row] = []
    seen: set[tuple[str, str, str]] = set()
    defs: list[Definition] = []
    cons: list[Constraint] = []
    for st in statements:
        if isinstance(st, Definition):
            defs.append(st)
            continue
        if isinstance(st, Constraint):
            cons.append(st)
            continue
        assert isinstance(st, Formula)
        for lhs in st.lhs:
            for term in st.rhs:
                rhs = "" if st.op == "~1" else term.name
                if st.op == "=~" and term.name == lhs:
                    raise SpecificationError(
                        f"line {st.line}: latent variable {lhs!r} cannot be its own indicator"
                    )
                if st.op == "~" and term.name == lhs:
                    raise SpecificationError(
                        f"line {st.line}: {lhs!r} cannot be regressed on itself ({st.source})"
                    )
                key = _key(lhs, st.op, rhs)
                if key in seen:
                    # lavaan warns and ignores duplicated elements; we refuse, since the
                    # second occurrence usually carries a different label or value.
                    raise SpecificationError(
                        f"line {st.line}: {lhs} {st.op} {rhs} is specified twice; remove one"
                    )
                seen.add(key)
                rows.append(_Row(lhs, st.op, rhs, True, term.modifier, source=st.source))
    return rows, defs, cons


def _defaults(roles: VariableRoles, opts: TableOptions) -> list[_Row]:
    lv_x = [v for v in roles.latent if v not in roles.indicators and v not in roles.dependent]
    nox = [v for v in roles.observed if v not in roles.exogenous_x]
    out: list[_Row] = []
    for v in list(nox) + list(roles.latent):
        out.append(_Row(v, "~~", v, False))
    if opts.auto:
        for a, b in itertools.combinations(lv_x, 2):
            out.append(_Row(a, "~~", b, False))
        for a, b in itertools.combinations(roles.outcomes, 2):
            out.append(_Row(a, "~~", b, False))
    xs = list(roles.exogenous_x)
    for j, a in enumerate(xs):
        for b in xs[j:]:
            out.append(_Row(a, "~~", b, False))
    if opts.meanstructure:
        for v in list(roles.observed) + list(roles.latent):
            out.append(_Row(v, "~1", "", False))
    return out


def _apply_auto_rules(rows: list[_Row], roles: VariableRoles, opts: TableOptions) -> None:
    lv = set(roles.latent)
    if not opts.auto:
        for r in rows:
            if r.op == "~~" and r.lhs == r.rhs and not r.user:
                r.free, r.value = False, 0.0
    if opts.std_lv:
        for r in rows:
            if r.op == "~~" and r.lhs == r.rhs and r.lhs in lv:
                r.free, r.value = False, 1.0
    elif opts.auto:
        seen_first: set[str] = set()
        for r in rows:
            if r.op == "=~" and r.lhs not in seen_first:
                seen_first.add(r.lhs)
                r.free, r.value = False, 1.0
    if opts.auto:
        counts: dict[str, list[str]] = {}
        for r in rows:
            if r.op == "=~":
                counts.setdefault(r.lhs, []).append(r.rhs)
        all_ind = [r.rhs for r in rows if r.op == "=~"]
        single = [
            ind[0]
            for ind in counts.values()
            if len(ind) == 1 and all_ind.count(ind[0]) == 1 and ind[0] not in lv
        ]
        for r in rows:
            if r.op == "~~" and r.lhs == r.rhs and r.lhs in single and not r.user:
                r.free, r.value = False, 0.0
    if opts.meanstructure:
        for r in rows:
            if r.op == "~1" and not r.user:
                if r.lhs in lv and not opts.int_lv_free:
                    r.free, r.value = False, 0.0
                elif r.lhs not in lv and not opts.int_ov_free:
                    r.free, r.value = False, 0.0
    if opts.fixed_x:
        xs = set(roles.exogenous_x)
        for r in rows:
            if not r.user and (
                (r.op == "~~" and r.lhs in xs and r.rhs in xs) or (r.op == "~1" and r.lhs in xs)
            ):
                r.free, r.value, r.exo = False, float("nan"), True


def _per_group(items: tuple[Any, ...], g: int, ngroups: int, what: str, row: _Row) -> Any:
    if len(items) == 1:
        return items[0]
    if len(items) != ngroups:
        raise SpecificationError(
            f"{row.lhs} {row.op} {row.rhs}: c() gives {len(items)} {what} but the model has "
            f"{ngroups} group(s); give one per group, e.g. c(a1, a2)*x for two groups"
        )
    return items[g]


# --------------------------------------------------------------------------- build


def build_table(
    statements: Sequence[Statement], options: TableOptions | None = None
) -> ParameterTable:
    """Build the parameter table of a parsed model.

    Parameters
    ----------
    statements : sequence of Statement
        Output of :func:`pathmodels.spec.syntax.parse_statements`.
    options : TableOptions, optional
        Number of groups, mean structure and default rules.

    Returns
    -------
    ParameterTable

    Raises
    ------
    SpecificationError
        Inconsistent modifiers, unknown labels in ``:=``/constraints, labels that clash
        with variable names.
    """
    from pathmodels.expressions import parse_expression  # noqa: F401

    opts = options or TableOptions()
    user_rows, defs, cons = _flatten(statements)
    if not user_rows:
        raise SpecificationError(
            "the model has only defined parameters or constraints; add at least one "
            "formula such as 'y ~ x'"
        )
    roles = _roles(user_rows, opts.fixed_x)
    _check_measured(user_rows, roles)
    defaults = [
        r
        for r in _defaults(roles, opts)
        if _key(r.lhs, r.op, r.rhs) not in {_key(u.lhs, u.op, u.rhs) for u in user_rows}
    ]
    block = user_rows + defaults
    _apply_auto_rules(block, roles, opts)

    ng = opts.ngroups
    lhs: list[str] = []
    op: list[str] = []
    rhs: list[str] = []
    group: list[int] = []
    user: list[bool] = []
    is_free: list[bool] = []
    value: list[float] = []
    label: list[str] = []
    exo: list[bool] = []
    for g in range(ng):
        for r in block:
            free, val, lab = r.free, r.value, ""
            mod = r.modifier
            if mod.values:
                v = _per_group(mod.values, g, ng, "values", r)
                if v is None:
                    free, val = True, float("nan")
                else:
                    free, val = False, float(v)
            if mod.labels:
                lab = _per_group(mod.labels, g, ng, "labels", r)
            if mod.starts and free:
                val = float(_per_group(mod.starts, g, ng, "starting values", r))
            lhs.append(r.lhs)
            op.append(r.op)
            rhs.append(r.rhs)
            group.append(g + 1)
            user.append(r.user)
            is_free.append(free)
            value.append(val)
            label.append(lab)
            exo.append(r.exo)

    names = set(roles.observed) | set(roles.latent)
    clash = sorted({lab for lab in label if lab in names})
    if clash:
        raise SpecificationError(
            f"label(s) {', '.join(clash)} are also variable names; rename the label(s), "
            "e.g. b_" + clash[0]
        )

    # group.equal: unlabelled free parameters of the named classes share one label.
    if ng > 1 and opts.group_equal:
        lv = set(roles.latent)
        partial = {p.replace(" ", "") for p in opts.group_partial}

        def cls_of(i: int) -> str | None:
            o, a, b = op[i], lhs[i], rhs[i]
            if o == "=~":
                return "loadings"
            if o == "~":
                return "regressions"
            if o == "~1":
                return "means" if a in lv else "intercepts"
            if o == "~~":
                if a in lv and b in lv:
                    return "lv.variances" if a == b else "lv.covariances"
                return "residuals" if a == b else "residual.covariances"
            return None

        for i in range(len(lhs)):
            if is_free[i] and not label[i] and not exo[i] and cls_of(i) in opts.group_equal:
                if f"{lhs[i]}{op[i]}{rhs[i]}" in partial:
                    continue
                label[i] = f".ge.{lhs[i]}{op[i]}{rhs[i]}"

    # Free indices: shared labels share an index.
    free_idx = np.zeros(len(lhs), dtype=np.int64)
    by_label: dict[str, int] = {}
    fixed_labels: dict[str, float] = {}
    k = 0
    n_free_rows = 0
    for i in range(len(lhs)):
        if not is_free[i]:
            if label[i]:
                fixed_labels.setdefault(label[i], value[i])
            continue
        n_free_rows += 1
        if label[i] and label[i] in by_label:
            free_idx[i] = by_label[label[i]]
            continue
        k += 1
        free_idx[i] = k
        if label[i]:
            by_label[label[i]] = k
    both = sorted(set(by_label) & set(fixed_labels))
    if both:
        raise SpecificationError(
            f"label {both[0]!r} is used for a fixed and a free parameter; a shared label "
            "means 'equal', so fix all of them or none"
        )

    # Defined parameters and constraints.
    known = set(by_label) | set(fixed_labels)
    definitions: list[tuple[str, Expression]] = []
    for d in defs:
        if d.name in names:
            raise SpecificationError(
                f"line {d.line}: defined parameter {d.name!r} has the name of a variable; "
                "choose another name"
            )
        if d.name in known:
            raise SpecificationError(
                f"line {d.line}: {d.name!r} is already a label; a defined parameter needs a "
                "new name"
            )
        expr = parse_expression(
            d.expression, line=d.line, column_offset=d.column - 1, source_line=d.source_line
        )
        _check_names(expr.names, known, d.line, d.name)
        definitions.append((d.name, expr))
        known.add(d.name)
    constraints: list[tuple[Expression, str, Expression]] = []
    for c in cons:
        a = parse_expression(
            c.lhs, line=c.line, column_offset=c.column - 1, source_line=c.source_line
        )
        b = parse_expression(
            c.rhs,
            line=c.rhs_line or c.line,
            column_offset=max(c.rhs_column - 1, 0),
            source_line=c.rhs_source_line,
        )
        _check_names(a.names + b.names, known, c.line, f"{c.lhs} {c.op} {c.rhs}")
        # a == b between two free labels: merge indices (no optimiser constraint needed).
        if (
            c.op == "=="
            and len(a.names) == 1
            and len(b.names) == 1
            and str(a) == a.names[0]
            and str(b) == b.names[0]
            and a.names[0] in by_label
            and b.names[0] in by_label
        ):
            keep, drop = sorted((by_label[a.names[0]], by_label[b.names[0]]))
            if keep != drop:
                free_idx[free_idx == drop] = keep
                free_idx[free_idx > drop] -= 1
                for lab_, idx in list(by_label.items()):
                    if idx == drop:
                        by_label[lab_] = keep
                    elif idx > drop:
                        by_label[lab_] = idx - 1
            continue
        constraints.append((a, c.op, b))

    return ParameterTable(
        lhs=tuple(lhs),
        op=tuple(op),
        rhs=tuple(rhs),
        group=np.asarray(group, dtype=np.int64),
        user=np.asarray(user, dtype=bool),
        free=free_idx,
        value=np.asarray(value, dtype=float),
        label=tuple(label),
        exo=np.asarray(exo, dtype=bool),
        roles=roles,
        options=opts,
        definitions=tuple(definitions),
        constraints=tuple(constraints),
        lavaan_free_count=n_free_rows,
    )


def _check_measured(rows: list[_Row], roles: VariableRoles) -> None:
    """Every latent variable must reach an observed variable through ``=~``."""
    if not roles.observed:
        raise SpecificationError(
            "the model has no observed variables: every variable is the left side of '=~' "
            f"({', '.join(roles.latent)}); give each latent variable observed indicators, "
            "e.g. 'f =~ x1 + x2 + x3'"
        )
    indicators: dict[str, list[str]] = {}
    for r in rows:
        if r.op == "=~":
            indicators.setdefault(r.lhs, []).append(r.rhs)
    lv = set(roles.latent)
    for name in roles.latent:
        seen, stack = {name}, [name]
        measured = False
        while stack and not measured:
            for ind in indicators.get(stack.pop(), []):
                if ind not in lv:
                    measured = True
                    break
                if ind not in seen:
                    seen.add(ind)
                    stack.append(ind)
        if not measured:
            raise SpecificationError(
                f"latent variable {name!r} has no observed indicators, directly or through "
                f"other latent variables ({', '.join(sorted(seen))} only measure each "
                "other); add observed indicators, e.g. "
                f"'{name} =~ x1 + x2 + x3'"
            )


def _check_names(used: Sequence[str], known: set[str], line: int, what: str) -> None:
    for name in used:
        if name not in known:
            raise SpecificationError(
                f"line {line}: {what!r} uses {name!r}, which is not a parameter label; "
                "label the path first (e.g. 'y ~ b*m'), " + close_matches(name, known)
            )


def freeze(mapping: dict[str, Any] | None) -> MappingProxyType[str, Any]:
    """Read-only view of a metadata mapping."""
    return MappingProxyType(dict(mapping or {}))


OpName = Literal["=~", "~", "~~", "~1"]
