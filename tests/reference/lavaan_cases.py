"""Loader for the lavaan reference fixtures in ``tests/reference/lavaan``.

Each case is a pair of files written by ``lavaan/make_reference.R``:

* ``lavaan/<case>.json`` -- lavaan's output (external reference values),
* ``lavaan/data/<case>.csv`` -- the data lavaan was fitted to.

Tests never run R; they call :func:`load_case` and compare against it::

    from tests.reference.lavaan_cases import list_cases, load_case

    case = load_case("simple_mediation")
    case.estimates.query("op == ':='")[["lhs", "est", "se", "ci_lower"]]

Column names with dots are renamed with underscores (``ci.lower`` ->
``ci_lower``, ``std.all`` -> ``std_all`` ...); JSON ``null`` becomes NaN in
numeric columns and ``""`` in label columns; ``group`` is the 1-based lavaan
group number (``0`` for rows that belong to no group, such as ``:=`` rows in
the parameter table).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CASES_DIR",
    "ESTIMATE_COLUMNS",
    "PARTABLE_COLUMNS",
    "LavaanCase",
    "list_cases",
    "load_case",
]

CASES_DIR = Path(__file__).resolve().parent / "lavaan"

#: columns of ``LavaanCase.estimates`` (always present, in this order first)
ESTIMATE_COLUMNS = [
    "lhs",
    "op",
    "rhs",
    "block",
    "group",
    "label",
    "est",
    "se",
    "z",
    "pvalue",
    "ci_lower",
    "ci_upper",
    "std_lv",
    "std_all",
    "std_nox",
]

#: columns of ``LavaanCase.partable`` (always present, in this order first)
PARTABLE_COLUMNS = [
    "id",
    "lhs",
    "op",
    "rhs",
    "user",
    "block",
    "group",
    "free",
    "ustart",
    "exo",
    "label",
    "plabel",
    "start",
    "est",
    "se",
]

_TEXT_COLUMNS = {"lhs", "op", "rhs", "label", "plabel", "name", "model"}
_INT_COLUMNS = {"id", "user", "block", "group", "free", "exo", "efa"}


@dataclass(frozen=True, eq=False)
class LavaanCase:
    """One lavaan reference case (see ``lavaan/README.md``)."""

    name: str
    syntax: str
    options: dict[str, Any]
    call: str
    data: pd.DataFrame
    estimates: pd.DataFrame
    partable: pd.DataFrame
    vcov: pd.DataFrame
    fit: dict[str, float]
    boot: dict[str, Any] | None
    mc: pd.DataFrame | None
    lrt: dict[str, Any] | None
    timing: dict[str, Any]
    lavaan_version: str
    # --- further fields from the JSON file -----------------------------
    kind: str
    description: str
    R_version: str
    semTools_version: str
    seed: int | None
    data_file: str
    n: int | list[int]
    nobs: int | list[int]
    converged: bool
    warnings: list[str]
    implied: list[dict[str, Any]]
    sampstat: list[dict[str, Any]]
    raw: dict[str, Any]

    @property
    def n_groups(self) -> int:
        return len(self.n) if isinstance(self.n, list) else 1

    @property
    def group_labels(self) -> list[str]:
        return list(self.options.get("group.label") or [])

    @property
    def observed(self) -> list[str]:
        """Observed variables of the model (lavaan's order, first group)."""
        return list(self.implied[0]["cov"].index)


def list_cases() -> list[str]:
    """Names of all reference cases (sorted)."""
    return sorted(p.stem for p in CASES_DIR.glob("*.json"))


def _renamed(columns: Iterable[str]) -> dict[str, str]:
    return {c: c.replace(".", "_") for c in columns if "." in c}


def _table(rows: list[dict[str, Any]], first: list[str] | None = None) -> pd.DataFrame:
    """Rows from the JSON (list of objects) -> DataFrame with clean dtypes."""
    df = pd.DataFrame.from_records(rows)
    df = df.rename(columns=_renamed(df.columns))
    if first is not None:
        for col in first:
            if col not in df.columns:
                df[col] = "" if col in _TEXT_COLUMNS else np.nan
        df = df[first + [c for c in df.columns if c not in first]]
    for col in df.columns:
        if col in _TEXT_COLUMNS:
            df[col] = df[col].fillna("").astype(str)
        elif col in _INT_COLUMNS and df[col].notna().all():
            df[col] = df[col].astype(np.int64)
        else:
            df[col] = pd.to_numeric(df[col]).astype(float)
    return df.reset_index(drop=True)


def _square(obj: dict[str, Any]) -> pd.DataFrame:
    names = list(obj["names"])
    mat = np.array(obj["matrix"], dtype=float).reshape(len(names), len(names))
    return pd.DataFrame(mat, index=names, columns=names)


def _moments(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        item: dict[str, Any] = {"group": int(g["group"]), "group_label": g.get("group_label")}
        if "cov" in g:
            item["cov"] = _square(g["cov"])
        if "mean" in g:
            item["mean"] = pd.Series(
                np.asarray(g["mean"]["values"], dtype=float), index=list(g["mean"]["names"])
            )
        out.append(item)
    return out


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)


def _boot(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    out = {k: v for k, v in raw.items() if k not in ("perc", "bca_simple")}
    cols = ["lhs", "op", "rhs", "label", "est", "se", "ci_lower", "ci_upper"]
    out["perc"] = _table(raw["perc"], cols)
    out["bca_simple"] = _table(raw["bca_simple"], cols)
    return out


def _mc(raw: dict[str, Any] | None) -> pd.DataFrame | None:
    if raw is None:
        return None
    df = _table(raw["rows"], ["name", "est", "ci_lower", "ci_upper"])
    df.attrs.update({k: v for k, v in raw.items() if k != "rows"})
    return df


def _lrt(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    out = {k: v for k, v in raw.items() if k != "rows"}
    table = pd.DataFrame.from_records(raw["rows"])
    for col in table.columns:
        if col != "model":
            table[col] = pd.to_numeric(table[col]).astype(float)
    out["table"] = table.set_index("model")
    return out


def _int_or_list(v: Any) -> int | list[int]:
    return [int(x) for x in v] if isinstance(v, list) else int(v)


def load_case(name: str) -> LavaanCase:
    """Load one reference case; unknown names raise ``KeyError``."""
    path = CASES_DIR / f"{name}.json"
    if not isinstance(name, str) or "/" in name or not path.is_file():
        raise KeyError(
            f"unknown lavaan reference case {name!r}; valid cases: {', '.join(list_cases())}"
        )
    raw = json.loads(path.read_text())
    data = pd.read_csv(CASES_DIR / raw["data_file"])
    return LavaanCase(
        name=raw["case"],
        syntax=raw["syntax"],
        options=dict(raw["options"]),
        call=raw["call"],
        data=data,
        estimates=_table(raw["estimates"], ESTIMATE_COLUMNS),
        partable=_table(raw["partable"], PARTABLE_COLUMNS),
        vcov=_square(raw["vcov"]),
        fit={k: _float(v) for k, v in raw["fit"].items()},
        boot=_boot(raw.get("boot")),
        mc=_mc(raw.get("mc")),
        lrt=_lrt(raw.get("lrt")),
        timing=dict(raw["timing"]),
        lavaan_version=raw["lavaan_version"],
        kind=raw["kind"],
        description=raw.get("description", ""),
        R_version=raw["R_version"],
        semTools_version=raw["semTools_version"],
        seed=raw.get("seed"),
        data_file=raw["data_file"],
        n=_int_or_list(raw["n"]),
        nobs=_int_or_list(raw["nobs"]),
        converged=bool(raw["converged"]),
        warnings=list(raw.get("warnings") or []),
        implied=_moments(raw["implied"]),
        sampstat=_moments(raw["sampstat"]),
        raw=raw,
    )
