"""The model specification: one frozen object every part of pathmodels reads.

A :class:`Spec` holds the parsed lavaan syntax. Its parameter table (lavaan's
``partable``) is built for a given number of groups and mean structure by
:meth:`Spec.table`; everything downstream — ML and Bayesian fits, simulation, power —
reads that table and nothing else.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pathmodels.exceptions import SpecificationError, close_matches
from pathmodels.spec.syntax import (
    Constraint,
    Definition,
    Formula,
    Modifier,
    Statement,
    Term,
    parse_statements,
)
from pathmodels.spec.table import ParameterTable, TableOptions, VariableRoles, build_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ParameterTable", "Spec", "TableOptions", "VariableRoles", "as_spec"]


def _term_text(term: Term) -> str:
    mod = str(term.modifier)
    return f"{mod}*{term.name}" if mod else term.name


def _statement_text(st: Statement) -> str:
    if isinstance(st, Definition):
        return f"{st.name} := {st.expression}"
    if isinstance(st, Constraint):
        return f"{st.lhs} {st.op} {st.rhs}"
    lhs = " + ".join(st.lhs)
    if st.op == "~1":
        return f"{lhs} ~ " + " + ".join(_term_text(t) for t in st.rhs)
    return f"{lhs} {st.op} " + " + ".join(_term_text(t) for t in st.rhs)


@dataclass(frozen=True)
class Spec:
    r"""An immutable model specification parsed from lavaan syntax.

    Build one with :meth:`Spec.from_syntax`, a builder (:func:`pathmodels.mediation`,
    :func:`pathmodels.chain`, ...) or :func:`pathmodels.load_model`.

    Attributes
    ----------
    statements : tuple
        Parsed formulas, definitions and constraints.
    syntax : str
        The syntax the spec was parsed from (or printed from, after edits).
    name : str or None
        A short name (library models have one).
    auto : bool
        Apply ``sem()`` defaults (residual variances, exogenous covariances, fixed first
        loadings); ``False`` builds the table as bare ``lavaan()`` does.
    meta : Mapping
        Free-form metadata (description, citation, ...); not part of equality.

    Examples
    --------
    >>> spec = Spec.from_syntax("m ~ a*x\ny ~ b*m + c*x\nind := a*b")
    >>> spec.observed
    ('m', 'y', 'x')
    >>> spec.table().npar
    5
    """

    statements: tuple[Statement, ...]
    syntax: str
    name: str | None = None
    auto: bool = True
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))
        # Build the default table once so that errors surface at construction.
        self.table(ngroups=self.min_groups)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle support (the read-only ``meta`` view itself cannot be pickled)."""
        return (
            _rebuild_spec,
            (self.statements, self.syntax, self.name, self.auto, dict(self.meta)),
        )

    @property
    def min_groups(self) -> int:
        """Number of groups implied by ``c()`` modifiers (1 when there are none)."""
        most = 1
        for st in self.statements:
            if isinstance(st, Formula):
                for t in st.rhs:
                    m = t.modifier
                    most = max(most, len(m.values), len(m.labels), len(m.starts))
        return most

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_syntax(
        cls,
        syntax: str,
        *,
        name: str | None = None,
        auto: bool = True,
        meta: Mapping[str, Any] | None = None,
    ) -> Spec:
        """Parse lavaan model syntax.

        Parameters
        ----------
        syntax : str
            lavaan model syntax (``=~ ~ ~~ ~1 := == < >``, labels, fixed values,
            ``c()`` per-group modifiers, ``#`` comments, multi-line formulas).
        name : str, optional
            A short name for printing and reports.
        auto : bool, default True
            ``sem()`` defaults; ``False`` for fully explicit syntax as ``lavaan()`` reads.
        meta : mapping, optional
            Metadata kept with the spec.

        Returns
        -------
        Spec

        Raises
        ------
        ModelSyntaxError
            The syntax cannot be parsed (line, column and caret in the message).
        SpecificationError
            The syntax parses but is inconsistent (unknown labels in ``:=``, ...).
        """
        statements = tuple(parse_statements(syntax))
        return cls(statements=statements, syntax=syntax, name=name, auto=auto, meta=meta or {})

    # ------------------------------------------------------------------ table
    def table(
        self,
        *,
        ngroups: int = 1,
        meanstructure: bool = False,
        fixed_x: bool = True,
        group_equal: Iterable[str] = (),
        group_partial: Iterable[str] = (),
        std_lv: bool = False,
    ) -> ParameterTable:
        """The parameter table for a number of groups and a mean structure.

        Parameters
        ----------
        ngroups : int, default 1
        meanstructure : bool, default False
        fixed_x : bool, default True
        group_equal : iterable of str
            Classes constrained equal across groups (lavaan's ``group.equal``).
        group_partial : iterable of str
            Exceptions to ``group_equal`` written ``"y~x"``.
        std_lv : bool, default False
            Identify latent variables by unit variance instead of the first loading.

        Returns
        -------
        ParameterTable
        """
        options = TableOptions(
            ngroups=ngroups,
            meanstructure=meanstructure,
            auto=self.auto,
            fixed_x=fixed_x,
            group_equal=tuple(group_equal),
            group_partial=tuple(group_partial),
            std_lv=std_lv,
        )
        return _cached_table(self.statements, options)

    # ------------------------------------------------------------------ views
    @property
    def roles(self) -> VariableRoles:
        """Variables by role (observed, latent, exogenous covariates, outcomes...)."""
        return self.table(ngroups=self.min_groups).roles

    @property
    def observed(self) -> tuple[str, ...]:
        """Observed variables in lavaan's order."""
        return self.roles.observed

    @property
    def latent(self) -> tuple[str, ...]:
        """Latent variables."""
        return self.roles.latent

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels used in the model, in order of appearance."""
        return tuple(dict.fromkeys(lab for lab in self.table(ngroups=self.min_groups).label if lab))

    @property
    def defined(self) -> tuple[str, ...]:
        """Names of ``:=`` parameters."""
        return tuple(st.name for st in self.statements if isinstance(st, Definition))

    def to_frame(self) -> pd.DataFrame:
        """The parameter table (as many groups as ``c()`` modifiers need) as a DataFrame."""
        return self.table(ngroups=self.min_groups).to_frame()

    def to_syntax(self) -> str:
        """Print the spec as lavaan syntax, one statement per line."""
        return "\n".join(_statement_text(st) for st in self.statements)

    def __str__(self) -> str:
        head = f"Spec {self.name!r}" if self.name else "Spec"
        roles = self.roles
        lines = [
            f"{head}: {len(roles.observed)} observed, {len(roles.latent)} latent variables, "
            f"{self.table(ngroups=self.min_groups).npar} free parameters",
        ]
        lines += ["  " + _statement_text(st) for st in self.statements]
        return "\n".join(lines)

    # ------------------------------------------------------------------ edits
    def _replace_modifiers(self, edit: Any) -> Spec:
        new: list[Statement] = []
        for st in self.statements:
            if isinstance(st, Formula):
                terms = tuple(dataclasses.replace(t, modifier=edit(st, t)) for t in st.rhs)
                new.append(dataclasses.replace(st, rhs=terms))
            else:
                new.append(st)
        statements = tuple(new)
        syntax = "\n".join(_statement_text(s) for s in statements)
        return Spec(
            statements=statements, syntax=syntax, name=self.name, auto=self.auto, meta=self.meta
        )

    def with_values(self, values: Mapping[str, float]) -> Spec:
        """Return a new Spec with labelled parameters fixed at the given values.

        Parameters
        ----------
        values : mapping of label to float

        Returns
        -------
        Spec

        Examples
        --------
        >>> s = Spec.from_syntax("y ~ b*x").with_values({"b": 0.3})
        >>> s.to_syntax()
        'y ~ b*0.3*x'
        """
        unknown = [k for k in values if k not in self.labels]
        if unknown:
            raise SpecificationError(
                f"with_values: no parameter labelled {unknown[0]!r}; "
                + close_matches(unknown[0], self.labels)
            )

        def edit(st: Formula, t: Term) -> Modifier:
            labs = t.modifier.labels
            if len(labs) == 1 and labs[0] in values:
                return dataclasses.replace(t.modifier, values=(float(values[labs[0]]),))
            if len(labs) > 1 and any(lab in values for lab in labs):
                vals = tuple(float(values[lab]) if lab in values else None for lab in labs)
                return dataclasses.replace(t.modifier, values=vals)
            return t.modifier

        return self._replace_modifiers(edit)

    def free(self, labels: Iterable[str] | None = None) -> Spec:
        r"""Return a new Spec with fixed numbers removed, so those paths are estimated.

        Parameters
        ----------
        labels : iterable of str, optional
            Only these labelled parameters; default every fixed number except structural
            ones: zeros, and unit loadings of latent variables whose loadings are all 1
            (random intercepts, single-indicator definitions).

        Returns
        -------
        Spec

        Examples
        --------
        >>> Spec.from_syntax("m ~ 0.4*x\ny ~ 0.3*m").free().to_syntax()
        'm ~ x\ny ~ m'
        """
        wanted = None if labels is None else set(labels)
        unit_latents: set[str] = set()
        for st in self.statements:
            if isinstance(st, Formula) and st.op == "=~":
                if all(
                    t.modifier.values and all(v == 1.0 for v in t.modifier.values) for t in st.rhs
                ):
                    unit_latents.update(st.lhs)

        def edit(st: Formula, t: Term) -> Modifier:
            mod = t.modifier
            if not mod.values or any(v is None for v in mod.values):
                return mod
            if wanted is not None:
                if not (set(mod.labels) & wanted):
                    return mod
            else:
                if all(v == 0.0 for v in mod.values):
                    return mod
                if st.op == "=~" and set(st.lhs) & unit_latents:
                    return mod
            return dataclasses.replace(mod, values=())

        return self._replace_modifiers(edit)


def _rebuild_spec(
    statements: tuple[Statement, ...], syntax: str, name: str | None, auto: bool,
    meta: dict[str, Any],
) -> Spec:
    return Spec(statements=statements, syntax=syntax, name=name, auto=auto, meta=meta)


@lru_cache(maxsize=256)
def _cached_table(statements: tuple[Statement, ...], options: TableOptions) -> ParameterTable:
    return build_table(statements, options)


def as_spec(model: Spec | str | Path) -> Spec:
    """Turn what a user passed as ``model`` into a Spec.

    Parameters
    ----------
    model : Spec, str or Path
        A Spec; lavaan syntax; a path to a ``.lav``/``.txt`` (syntax) or ``.yaml`` file;
        or the name of a model in the library.

    Returns
    -------
    Spec

    Raises
    ------
    SpecificationError
        A name that is neither a file nor a library model.
    """
    if isinstance(model, Spec):
        return model
    if isinstance(model, Path) or (
        isinstance(model, str)
        and "\n" not in model
        and model.endswith((".lav", ".txt", ".yaml", ".yml"))
    ):
        path = Path(model)
        if not path.exists():
            raise SpecificationError(f"model file {str(path)!r} does not exist")
        if path.suffix in (".yaml", ".yml"):
            from pathmodels.library import load_model

            return load_model(str(path))
        return Spec.from_syntax(path.read_text(), name=path.stem)
    if isinstance(model, str):
        # A library name is a single word; anything else is model syntax (which may be
        # malformed: the parser then says where).
        if re.fullmatch(r"[A-Za-z0-9_.\-]+", model.strip()) is None:
            return Spec.from_syntax(model)
        from pathmodels.library import load_model

        return load_model(model)
    raise SpecificationError(
        f"model must be a Spec, lavaan syntax, a file path or a library name, got "
        f"{type(model).__name__}"
    )
