"""The model library: the recovery logic model's chains as ready-to-fit path models.

Each model is one YAML file (schema in ``models/README.md``) holding a chain of the
recovery logic model of Winsper et al. (2020): its lavaan syntax with labelled paths and
``:=`` effects, a population version with numbers on the paths for simulation (each
number either cited or labelled as an assumption), and a description of every variable.

A file may give, instead of (or as well as) ``syntax``, a builder block that writes it:
``clpm:``, ``riclpm:`` or ``half_longitudinal:`` with the builder's arguments (e.g.
``riclpm: {variables: [employ, selfest], waves: 3, sep: "_", arm: arm}``); see
:mod:`pathmodels.longitudinal`. Only the observed variables of such a model are declared
under ``variables`` (the builder names its latent variables).

The files are looked up first in the installed package (``pathmodels/_library``, where
the wheel puts them) and otherwise in the repository's top-level ``models/`` folder.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources.abc import Traversable
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from pathmodels.exceptions import ModelSyntaxError, SpecificationError, close_matches

if TYPE_CHECKING:
    from pathmodels.spec import Spec

__all__ = [
    "ModelEntry",
    "PopulationEntry",
    "VariableEntry",
    "VariableType",
    "list_models",
    "load_model",
    "model_entry",
    "population",
]

_TOP_KEYS = ("name", "title", "description", "chain", "evidence", "citation", "syntax")
_POPULATION_KEYS = ("syntax", "source", "assumptions")
# Optional blocks that build the model with a builder instead of (or as well as) giving
# its syntax: ``riclpm: {variables: [employ, selfest], waves: 3, sep: _}``.
_BUILDER_KEYS = ("clpm", "half_longitudinal", "riclpm")


class VariableType(StrEnum):
    """Measurement level of a library variable."""

    BINARY = "binary"
    CONTINUOUS = "continuous"
    ORDINAL = "ordinal"


@dataclass(frozen=True)
class VariableEntry:
    """One variable of a library model.

    Attributes
    ----------
    description : str
        What the variable measures, with its coding or scale.
    type : VariableType
        ``binary``, ``continuous`` or ``ordinal``.
    """

    description: str
    type: VariableType


@dataclass(frozen=True)
class PopulationEntry:
    """The population (data-generating) version of a library model.

    Attributes
    ----------
    syntax : str
        The model's regressions and covariances with numbers on the paths.
    source : str
        The cited facts behind the numbers that have a source.
    assumptions : str
        Every number that is not cited, labelled as an assumption.
    thresholds : Mapping[str, tuple[float, ...]]
        Thresholds on the latent (probit, residual variance 1) scale of binary and
        ordinal variables: the observed value is 1 where the latent value exceeds the
        threshold. Empty when every variable is continuous.
    """

    syntax: str
    source: str
    assumptions: str
    thresholds: Mapping[str, tuple[float, ...]]


@dataclass(frozen=True)
class ModelEntry:
    """Everything a library YAML file says about one model.

    Attributes
    ----------
    name : str
        The model's name, equal to the file's stem.
    title : str
        A one-line title.
    description : str
        What the model is for and how to read it.
    chain : str
        The chain of the logic model it encodes, e.g. ``"IPS -> employment -> QoL"``.
    evidence : str
        What the review found for this chain.
    citation : str
        The reference for the chain.
    syntax : str
        lavaan syntax with labelled paths and ``:=`` effects.
    population : PopulationEntry
        Numbers on the paths for simulation, with their sources and assumptions.
    variables : Mapping[str, VariableEntry]
        Every variable in the syntax, with description and type.
    path : str
        The file the entry was read from.
    builder : Mapping or None
        For a model written by a builder block (``clpm:``, ``riclpm:``,
        ``half_longitudinal:``): ``{"name": <builder>, "arguments": {...}}``; its
        ``syntax`` is what the builder wrote.
    """

    name: str
    title: str
    description: str
    chain: str
    evidence: str
    citation: str
    syntax: str
    population: PopulationEntry
    variables: Mapping[str, VariableEntry]
    path: str
    builder: Mapping[str, Any] | None = None


# ------------------------------------------------------------------------ finding files


def _library_dir() -> Traversable:
    """Return the folder holding the library's YAML files."""
    try:
        bundled = importlib.resources.files("pathmodels") / "_library"
        if bundled.is_dir():
            return bundled
    except (ModuleNotFoundError, TypeError, FileNotFoundError):  # pragma: no cover
        pass
    return Path(__file__).resolve().parents[1] / "models"


def _library_files() -> dict[str, Traversable]:
    folder = _library_dir()
    if not folder.is_dir():  # pragma: no cover - a broken installation
        raise SpecificationError(
            f"the model library folder {folder} does not exist; reinstall pathmodels."
        )
    files = [f for f in folder.iterdir() if f.is_file() and f.name.endswith(".yaml")]
    return {f.name.removesuffix(".yaml"): f for f in sorted(files, key=lambda f: f.name)}


# ------------------------------------------------------------------- reading and checks


def _parse(text: str, where: str, key: str, *, auto: bool = True) -> Spec:
    """Parse *text* with the real parser; name the file and key if it fails."""
    from pathmodels.spec import Spec

    try:
        return Spec.from_syntax(text, auto=auto)
    except ModelSyntaxError as error:
        raise _fail(where, key, f"does not parse: {error}") from error
    except SpecificationError as error:
        raise _fail(where, key, f"is not a valid model: {error}") from error


def _variables(spec: Spec, *, latent: bool = True) -> set[str]:
    return set(spec.observed) | (set(spec.latent) if latent else set())


def _build(name: str, arguments: Any, where: str) -> Spec:
    """Run the builder of a ``clpm:``/``riclpm:``/``half_longitudinal:`` block."""
    import inspect

    from pathmodels import longitudinal

    builder = getattr(longitudinal, name)
    if not isinstance(arguments, Mapping):
        raise _fail(where, name, f"must map the builder's arguments to values, got {arguments!r}.")
    allowed = [p for p in inspect.signature(builder).parameters if p not in ("data", "name")]
    for key in arguments:
        if key not in allowed:
            raise _fail(
                where,
                f"{name}.{key}",
                f"is not an argument of {name}(); " + close_matches(str(key), allowed),
            )
    kwargs = dict(arguments)
    if name == "half_longitudinal":
        missing = [k for k in ("x", "m", "y") if k not in kwargs]
    else:
        missing = [k for k in ("variables", "waves") if k not in kwargs]
    if missing:
        raise _fail(where, name, f"lacks {', '.join(missing)}; see models/README.md.")
    try:
        return builder(**kwargs)  # type: ignore[no-any-return]
    except SpecificationError as error:
        raise _fail(where, name, f"does not build: {error}") from error


def _paths(spec: Spec) -> set[tuple[str, str, str]]:
    """Return the user's regressions, loadings and covariances (``a ~~ b`` = ``b ~~ a``)."""
    frame = spec.to_frame()
    rows = frame[(frame["user"] == 1) & frame["op"].isin(["~", "~~", "=~"])]
    return {
        (min(lhs, rhs), op, max(lhs, rhs)) if op == "~~" else (lhs, op, rhs)
        for lhs, op, rhs in zip(rows["lhs"], rows["op"], rows["rhs"], strict=True)
    }


def _hint(name: str, valid: Iterable[str]) -> str:
    """Close matches, counting a name that contains *name* as close (``mhfa``)."""
    pool = sorted(valid)
    hint = close_matches(name, pool)
    partial = [v for v in pool if name and name.lower() in v.lower()]
    if partial and not hint.startswith("did you mean"):
        quoted = " or ".join(f"'{v}'" for v in partial[:3])
        hint = f"did you mean {quoted}? V{hint[1:]}"
    return hint


def _fail(where: str, key: str, problem: str) -> SpecificationError:
    return SpecificationError(f"{where}: key '{key}' {problem}")


def _text(mapping: Mapping[str, Any], key: str, where: str, prefix: str = "") -> str:
    full = prefix + key
    if key not in mapping:
        raise _fail(where, full, "is missing; see models/README.md for the schema.")
    value = mapping[key]
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, full, f"must be a non-empty string, got {value!r}.")
    return value


def _thresholds(
    raw: Any, variables: Mapping[str, VariableEntry], where: str
) -> Mapping[str, tuple[float, ...]]:
    key = "population.thresholds"
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        raise _fail(where, key, f"must map variable names to numbers, got {raw!r}.")
    out: dict[str, tuple[float, ...]] = {}
    for name, value in raw.items():
        if name not in variables:
            raise _fail(
                where,
                key,
                f"names {name!r}, not a declared variable; " + close_matches(str(name), variables),
            )
        kind = variables[name].type
        values = value if isinstance(value, list) else [value]
        if not values or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        ):
            raise _fail(
                where, f"{key}.{name}", f"must be a number or a list of numbers, got {value!r}."
            )
        if kind is VariableType.CONTINUOUS:
            raise _fail(where, f"{key}.{name}", "is given for a continuous variable.")
        if kind is VariableType.BINARY and len(values) != 1:
            raise _fail(where, f"{key}.{name}", "must be one number for a binary variable.")
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise _fail(where, f"{key}.{name}", "must increase.")
        out[str(name)] = tuple(float(v) for v in values)
    return MappingProxyType(out)


def _entry_from_text(text: str, where: str, stem: str) -> ModelEntry:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SpecificationError(f"{where}: not valid YAML: {error}") from error
    if not isinstance(raw, Mapping):
        raise SpecificationError(
            f"{where}: the file must hold a mapping of keys (name, title, ...), "
            f"got {type(raw).__name__}; see models/README.md for the schema."
        )
    known = {*_TOP_KEYS, *_BUILDER_KEYS, "population", "variables"}
    for key in raw:
        if key not in known:
            raise _fail(
                where, str(key), "is not part of the schema; " + close_matches(str(key), known)
            )
    blocks = [key for key in _BUILDER_KEYS if key in raw]
    if len(blocks) > 1:
        raise _fail(where, blocks[1], f"comes with {blocks[0]!r}; give one builder block.")
    built = _build(blocks[0], raw[blocks[0]], where) if blocks else None
    fields = {
        key: _text(raw, key, where)
        for key in _TOP_KEYS
        if not (key == "syntax" and built is not None and "syntax" not in raw)
    }
    if built is not None:
        if "syntax" in raw:
            given = _parse(fields["syntax"], where, "syntax", auto=built.auto)
            if given.to_syntax() != built.to_syntax():
                ours = set(built.to_syntax().splitlines())
                theirs = set(given.to_syntax().splitlines())
                differing = sorted(ours ^ theirs)[:3]
                raise _fail(
                    where,
                    "syntax",
                    f"differs from what the {blocks[0]!r} block builds (e.g. "
                    f"{'; '.join(differing)}); remove 'syntax' or make the two agree.",
                )
        fields["syntax"] = built.syntax
    if fields["name"] != stem:
        raise _fail(where, "name", f"is {fields['name']!r} but must equal the file stem {stem!r}.")

    pop = raw.get("population")
    if not isinstance(pop, Mapping):
        raise _fail(
            where,
            "population",
            f"must be a mapping with keys {', '.join(_POPULATION_KEYS)}, got {pop!r}.",
        )
    for key in pop:
        if key not in {*_POPULATION_KEYS, "thresholds"}:
            raise _fail(
                where,
                f"population.{key}",
                "is not part of the schema; "
                + close_matches(str(key), {*_POPULATION_KEYS, "thresholds"}),
            )
    pop_fields = {key: _text(pop, key, where, "population.") for key in _POPULATION_KEYS}

    declared = raw.get("variables")
    if not isinstance(declared, Mapping) or not declared:
        raise _fail(
            where,
            "variables",
            f"must map each variable to {{description, type}}, got {declared!r}.",
        )
    variables: dict[str, VariableEntry] = {}
    for name, info in declared.items():
        prefix = f"variables.{name}."
        if not isinstance(info, Mapping):
            raise _fail(
                where,
                f"variables.{name}",
                f"must be a mapping {{description, type}}, got {info!r}.",
            )
        for key in info:
            if key not in ("description", "type"):
                raise _fail(
                    where,
                    prefix + str(key),
                    "is not part of the schema; "
                    + close_matches(str(key), ["description", "type"]),
                )
        description = _text(info, "description", where, prefix)
        kind = _text(info, "type", where, prefix)
        try:
            variable_type = VariableType(kind)
        except ValueError:
            raise _fail(
                where,
                prefix + "type",
                f"is {kind!r}; " + close_matches(kind, [t.value for t in VariableType]),
            ) from None
        variables[str(name)] = VariableEntry(description=description, type=variable_type)

    auto = built.auto if built is not None else True
    # Builders generate latent names (random intercepts, within components); only the
    # observed variables of their models need declaring.
    latent = built is None
    model = built if built is not None else _parse(fields["syntax"], where, "syntax")
    pop_model = _parse(pop_fields["syntax"], where, "population.syntax", auto=auto)
    for key, spec in (("syntax", model), ("population.syntax", pop_model)):
        undeclared = sorted(_variables(spec, latent=latent) - variables.keys())
        if undeclared:
            raise _fail(
                where,
                key,
                f"uses undeclared variable(s) {', '.join(undeclared)}; add them under 'variables'.",
            )
    unused = sorted(variables.keys() - _variables(model, latent=latent))
    if unused:
        raise _fail(
            where, "variables", f"declares {', '.join(unused)}, not used in 'syntax'; remove them."
        )
    paths, pop_paths = _paths(model), _paths(pop_model)
    if paths != pop_paths:
        parts = []
        for label, diff in (
            ("only in syntax", paths - pop_paths),
            ("only in population.syntax", pop_paths - paths),
        ):
            if diff:
                parts.append(f"{label}: " + ", ".join(" ".join(p) for p in sorted(diff)))
        show = "; ".join(parts)
        raise _fail(where, "population.syntax", f"must have the same paths as 'syntax' ({show}).")

    return ModelEntry(
        **fields,
        population=PopulationEntry(
            **pop_fields, thresholds=_thresholds(pop.get("thresholds"), variables, where)
        ),
        variables=MappingProxyType(variables),
        path=where,
        builder=(
            None
            if built is None
            else MappingProxyType({"name": blocks[0], "arguments": dict(raw[blocks[0]])})
        ),
    )


# ------------------------------------------------------------------------------ public


def list_models() -> pd.DataFrame:
    """List the models in the library.

    Returns
    -------
    pandas.DataFrame
        One row per model, sorted by name, with columns ``name``, ``title`` and
        ``chain``.

    Raises
    ------
    SpecificationError
        If a library file is malformed (names the file and key).

    See Also
    --------
    model_entry : Everything a library file says about one model.
    load_model : A library model as a :class:`~pathmodels.spec.Spec`.

    Examples
    --------
    >>> table = list_models()
    >>> "ips_employment_qol" in set(table["name"])
    True
    >>> list(table.columns)
    ['name', 'title', 'chain']
    """
    rows = []
    for name in _library_files():
        entry = model_entry(name)
        rows.append({"name": entry.name, "title": entry.title, "chain": entry.chain})
    return pd.DataFrame(rows, columns=["name", "title", "chain"])


def model_entry(name: str | PathLike[str]) -> ModelEntry:
    """Read and check one library model.

    Parameters
    ----------
    name : str or path-like
        A library name (see :func:`list_models`) or the path of a ``.yaml`` file
        following the library's schema.

    Returns
    -------
    ModelEntry
        The file's fields, checked.

    Raises
    ------
    SpecificationError
        If the name is not in the library (with close matches), the file does not
        exist, or the file is malformed: a key missing or of the wrong type, a variable
        used but not declared, a population model whose paths differ from the model's,
        or syntax that does not parse. The message names the file and the key.

    Examples
    --------
    >>> entry = model_entry("ips_employment_qol")
    >>> entry.chain
    'IPS -> competitive employment -> {self-esteem, social support} -> QoL'
    >>> entry.variables["employ"].type.value
    'binary'
    """
    text_name = str(name)
    if isinstance(name, PathLike) or text_name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise SpecificationError(f"model file {path} does not exist.")
        stem = path.name.rsplit(".", 1)[0]
        return _entry_from_text(path.read_text(encoding="utf-8"), str(path), stem)
    files = _library_files()
    if text_name not in files:
        raise SpecificationError(f"unknown library model {text_name!r}; " + _hint(text_name, files))
    file = files[text_name]
    return _entry_from_text(file.read_text(encoding="utf-8"), str(file), text_name)


def load_model(name: str | PathLike[str]) -> Spec:
    """Load a library model as a spec.

    Parameters
    ----------
    name : str or path-like
        A library name (see :func:`list_models`) or the path of a ``.yaml`` file.

    Returns
    -------
    Spec
        The model, named after the entry, with the entry's title, chain, citation,
        file and variables in ``meta``.

    Raises
    ------
    SpecificationError
        As :func:`model_entry`.

    See Also
    --------
    population : The population version of the model, for simulation.

    Examples
    --------
    >>> spec = load_model("ips_employment_qol")
    """
    from pathmodels.spec import Spec

    entry = model_entry(name)
    meta = {
        "title": entry.title,
        "description": entry.description,
        "chain": entry.chain,
        "evidence": entry.evidence,
        "citation": entry.citation,
        "file": entry.path,
        "variables": {
            key: {"description": v.description, "type": v.type.value}
            for key, v in entry.variables.items()
        },
    }
    if entry.builder is not None:
        built = _build(entry.builder["name"], entry.builder["arguments"], entry.path)
        return Spec.from_syntax(
            built.syntax, name=entry.name, auto=built.auto, meta={**built.meta, **meta}
        )
    return Spec.from_syntax(entry.syntax, name=entry.name, meta=meta)


def population(name: str | PathLike[str]) -> str:
    """Return the population syntax of a library model, for simulation.

    Parameters
    ----------
    name : str or path-like
        A library name (see :func:`list_models`) or the path of a ``.yaml`` file.

    Returns
    -------
    str
        lavaan syntax with numbers on the paths. Where the numbers come from is in
        ``model_entry(name).population.source`` and ``.assumptions``.

    Raises
    ------
    SpecificationError
        As :func:`model_entry`.

    Examples
    --------
    >>> print(population("ips_employment_qol").splitlines()[-1])
    selfest ~~ 0.20*support
    """
    return model_entry(name).population.syntax
