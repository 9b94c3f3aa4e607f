"""Helpers shared by the design studies: write the table, the N for 80% power and the plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pathmodels.exceptions import PathModelsError
from pathmodels.power import PowerResult


def sample_sizes(result: PowerResult, power: float = 0.8, **design: Any) -> pd.DataFrame:
    """N for ``power`` for every target x test (x design value) in the table."""
    rows = []
    keys = ["target", "test", *design.get("by", [])]
    for key, _ in result.table.groupby(keys, sort=False):
        sel = dict(zip(keys, key, strict=True))
        extra = {k: sel[k] for k in design.get("by", [])}
        try:
            size = result.n_for(power, target=sel["target"], test=sel["test"], **extra)
            rows.append(
                {
                    **sel,
                    "n_for_80": size.n,
                    "ci_lower": round(size.ci_lower),
                    "ci_upper": round(size.ci_upper),
                    "bracket": f"{size.bracket}",
                }
            )
        except PathModelsError as exc:
            rows.append(
                {
                    **sel,
                    "n_for_80": None,
                    "ci_lower": None,
                    "ci_upper": None,
                    "bracket": str(exc).split(";")[0].split(": ", 1)[-1],
                }
            )
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table (no extra dependency)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.4g}"
        return "" if v is None else str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write(
    result: PowerResult,
    folder: Path,
    title: str,
    intro: str,
    sizes: pd.DataFrame,
    columns: list[str] | None = None,
    **plot: Any,
) -> None:
    """results.csv (full table), results.md (readable) and power.png."""
    result.table.to_csv(folder / "results.csv", index=False)
    shown = result.table if columns is None else result.table[columns]
    md = [
        f"# {title}",
        "",
        intro.strip(),
        "",
        f"{result.options['reps']} replicates per design point, alpha = "
        f"{result.options['alpha']}, seed {result.options['seed']}, "
        f"{', '.join(result.options['paths'])} path; this file was written in "
        f"{result.elapsed_s:.0f} s (replicates already in runs.db are read back, not "
        "recomputed; see simulations/README.md for full-run times).",
        "",
        "## N for 80% power",
        "",
        markdown(sizes),
        "",
        "## Power table",
        "",
        markdown(shown),
        "",
        "Population values of the targets (what the estimator converges to): "
        + ", ".join(f"{k} = {v:.4f}" for k, v in result.truth.items()),
        "",
    ]
    md += [f"- {note}" for note in result.notes]
    (folder / "results.md").write_text("\n".join(md) + "\n")
    fig = result.plot(**plot)
    fig.savefig(folder / "power.png", dpi=130, bbox_inches="tight")


def report(
    result: PowerResult,
    folder: Path,
    title: str,
    intro: str,
    by: list[str] | None = None,
    **plot: Any,
) -> None:
    """The end of every study: N for 80% power (per ``by`` value), :func:`write`, print."""
    sizes = sample_sizes(result, by=by or [])
    write(result, folder, title, intro, sizes, **plot)
    print(result.summary())
    print(sizes.to_string(index=False))
