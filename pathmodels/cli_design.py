"""``pathmodels simulate`` and ``pathmodels power``: design planning from the command line.

Both commands take a population as a library name, a ``.yaml``/``.lav`` file or lavaan
syntax with numbers. Results go to stdout (CSV data, a readable power table, or one JSON
object with ``--json``); progress goes to stderr. Bad input exits with status 2 and a
one-line message.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from pathmodels.cli import _fail, app
from pathmodels.exceptions import PathModelsError, SpecificationError

__all__ = ["power_cmd", "simulate_cmd"]


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            if "=" not in part:
                raise SpecificationError(
                    f"{what} expects NAME=VALUE, got {part!r} (e.g. {what} employ=0.3)"
                )
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _binary(items: list[str] | None) -> dict[str, Any] | None:
    from pathmodels.simulate import Binary

    raw = _pairs(items, "--binary")
    if not raw:
        return None
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if value in ("probit", "logit"):
            out[name] = Binary(link=value)  # type: ignore[arg-type]
            continue
        try:
            numbers = [float(v) for v in value.split(":")]
        except ValueError:
            raise SpecificationError(
                f"--binary {name}={value}: give a rate (0.3), rates per arm (0.28:0.55) or "
                "a link (probit/logit)"
            ) from None
        out[name] = (
            Binary(rate=numbers[0]) if len(numbers) == 1 else Binary(rates=(numbers[0], numbers[1]))
        )
    return out


def _ratio(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        control, treated = (float(v) for v in text.split(":"))
    except ValueError:
        raise SpecificationError(
            f"--arms {text!r}: give the allocation ratio as control:intervention, e.g. 1:1 or 1:2"
        ) from None
    return control, treated


def _attrition(text: str | None, mechanism: str, strength: float) -> Any:
    from pathmodels.simulate import Attrition

    if text is None:
        return None
    grid = []
    for part in text.split(","):
        try:
            rates = tuple(float(r) for r in part.split("/"))
        except ValueError:
            raise SpecificationError(
                f"--attrition {text!r}: give rates like 0.2, 0.1/0.2 (per wave) or a grid 0,0.1,0.2"
            ) from None
        rate: float | tuple[float, ...] = rates[0] if len(rates) == 1 else rates
        grid.append(Attrition(rate, mechanism=mechanism, strength=strength))  # type: ignore[arg-type]
    return grid[0] if len(grid) == 1 else grid


def _waves(text: str | None) -> dict[int, list[str]] | None:
    if text is None:
        return None
    groups = [g.replace(",", " ").split() for g in text.split("|")]
    return {t + 1: names for t, names in enumerate(groups) if names}


def _design(
    arms: str | None,
    binary: list[str] | None,
    sites: int | None,
    icc: float,
    reliability: list[str] | None,
) -> dict[str, Any]:
    rel = {k: float(v) for k, v in _pairs(reliability, "--reliability").items()}
    return {
        "arms": _ratio(arms),
        "binary": _binary(binary),
        "sites": None if sites is None else (sites, icc),
        "reliability": rel or None,
    }


@app.command("simulate")
def simulate_cmd(
    population: Annotated[
        str, typer.Argument(help="Library name, .yaml/.lav file or syntax with numbers.")
    ],
    n: Annotated[int, typer.Option("--n", help="Number of participants.")],
    seed: Annotated[int | None, typer.Option(help="Seed (same seed, same data).")] = None,
    out: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="CSV or Parquet (.parquet) file; default CSV on stdout."),
    ] = None,
    waves: Annotated[
        str | None,
        typer.Option(
            help="Variables per wave: 'x1 y1 | x2 y2 | x3 y3' (default: from name suffixes)."
        ),
    ] = None,
    attrition: Annotated[
        str | None, typer.Option(help="Dropout per follow-up wave, e.g. 0.2 or 0.1/0.2.")
    ] = None,
    mechanism: Annotated[str, typer.Option(help="mcar, mar or mnar.")] = "mcar",
    strength: Annotated[float, typer.Option(help="Log-odds of dropout per SD (mar/mnar).")] = -1.0,
    standardized: Annotated[bool, typer.Option(help="Unit variances.")] = False,
    arms: Annotated[
        str | None,
        typer.Option(help="Allocation ratio control:intervention of the variable 'arm', e.g. 1:1."),
    ] = None,
    binary: Annotated[
        list[str] | None,
        typer.Option(help="NAME=RATE, NAME=R0:R1 (per arm) or NAME=logit; repeatable."),
    ] = None,
    sites: Annotated[int | None, typer.Option(help="Number of sites.")] = None,
    icc: Annotated[float, typer.Option(help="Intraclass correlation across sites.")] = 0.05,
    reliability: Annotated[
        list[str] | None, typer.Option(help="NAME=RELIABILITY; repeatable.")
    ] = None,
) -> None:
    """Simulate one data set from a population model."""
    from pathmodels.simulate import simulate

    try:
        frame = simulate(
            population,
            n,
            seed=seed,
            waves=_waves(waves),
            attrition=_attrition(attrition, mechanism, strength),
            standardized=standardized,
            **_design(arms, binary, sites, icc, reliability),
        )
    except PathModelsError as exc:
        _fail(str(exc))
        return
    if out is None:
        frame.to_csv(sys.stdout, index=False)
        return
    if out.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)
    typer.echo(f"wrote {len(frame)} rows x {frame.shape[1]} columns to {out}", err=True)


@app.command("power")
def power_cmd(
    population: Annotated[
        str, typer.Argument(help="Library name, .yaml/.lav file or syntax with numbers.")
    ],
    n: Annotated[str, typer.Option("--n", help="Sample sizes, e.g. 50,100,200.")],
    model: Annotated[
        str | None,
        typer.Option(help="Analysis model (default: the population's own, numbers freed)."),
    ] = None,
    reps: Annotated[int, typer.Option(help="Replicates per design.")] = 1000,
    target: Annotated[
        list[str] | None,
        typer.Option(help="Label, := name or path y~x; repeatable or comma-separated."),
    ] = None,
    test: Annotated[str | None, typer.Option(help="joint,mc,sobel,bootstrap,wald.")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    seed: Annotated[int | None, typer.Option(help="Seed of every random stream.")] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs", help="Local worker processes.")] = 1,
    store: Annotated[
        Path | None, typer.Option(help="SQLite file; rerun the same command to resume.")
    ] = None,
    dist: Annotated[str, typer.Option(help="z, or t for OLS-style tests of paths.")] = "z",
    cluster: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    attrition: Annotated[
        str | None, typer.Option(help="Dropout per wave (0.2, 0.1/0.2) or a grid 0,0.1,0.2.")
    ] = None,
    mechanism: Annotated[str, typer.Option(help="mcar, mar or mnar.")] = "mcar",
    strength: Annotated[float, typer.Option(help="Log-odds of dropout per SD.")] = -1.0,
    missing: Annotated[str, typer.Option(help="fiml or listwise.")] = "fiml",
    standardized: Annotated[bool, typer.Option(help="Unit variances.")] = False,
    arms: Annotated[str | None, typer.Option(help="Allocation ratio control:intervention.")] = None,
    binary: Annotated[list[str] | None, typer.Option(help="NAME=RATE or NAME=R0:R1.")] = None,
    sites: Annotated[int | None, typer.Option(help="Number of sites.")] = None,
    icc: Annotated[float, typer.Option(help="Intraclass correlation across sites.")] = 0.05,
    reliability: Annotated[list[str] | None, typer.Option(help="NAME=RELIABILITY.")] = None,
    n_mc: Annotated[int, typer.Option("--n-mc", help="Monte Carlo draws per replicate.")] = 1000,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 1000,
    n_for: Annotated[
        float | None, typer.Option("--n-for", help="Also report the N reaching this power.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Save power curves (PNG/SVG/PDF).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Monte Carlo power of tests of indirect effects and paths over a grid of N."""
    from pathmodels.power import power

    t0 = time.perf_counter()
    try:
        try:
            sizes = [int(x) for x in n.replace(" ", "").split(",") if x]
        except ValueError:
            raise SpecificationError(f"--n {n!r}: give sample sizes like 50,100,200") from None
        targets = [t.strip() for item in (target or []) for t in item.split(",") if t.strip()]
        tests = None if test is None else [t.strip() for t in test.split(",") if t.strip()]
        result = power(
            population,
            model,
            n=sizes,
            reps=reps,
            targets=targets or None,
            tests=tests,
            alpha=alpha,
            seed=seed,
            n_jobs=n_jobs,
            store=store,
            progress=not quiet,
            dist=dist,
            cluster=cluster,
            attrition=_attrition(attrition, mechanism, strength),
            missing=missing,
            standardized=standardized,
            n_mc=n_mc,
            n_boot=n_boot,
            **_design(arms, binary, sites, icc, reliability),
        )
        sizes_found = _sample_sizes(result, n_for) if n_for is not None else []
    except PathModelsError as exc:
        _fail(str(exc))
        return
    if plot is not None:
        result.plot(power=n_for or 0.8).savefig(plot, dpi=150, bbox_inches="tight")
        typer.echo(f"power curves written to {plot}", err=True)
    if as_json:
        payload = result.to_dict()
        payload["elapsed_s"] = time.perf_counter() - t0
        if n_for is not None:
            payload["n_for"] = [s for s in sizes_found if isinstance(s, dict)]
        typer.echo(json.dumps(payload))
        return
    typer.echo(result.summary())
    for s in sizes_found:
        typer.echo(
            s
            if isinstance(s, str)
            else f"N for power {s['power']}: {s['n']} ({s['target']}, {s['test']}; 95% CI "
            f"{s['ci_lower']:.0f}-{s['ci_upper']:.0f})"
        )


def _sample_sizes(result: Any, level: float) -> list[Any]:
    out: list[Any] = []
    for (tgt, tst), _ in result.table.groupby(["target", "test"], sort=False):
        try:
            size = result.n_for(level, target=tgt, test=tst)
        except PathModelsError as exc:
            out.append(f"N for power {level} ({tgt}, {tst}): {str(exc).split(': ', 1)[-1]}")
            continue
        out.append(
            {
                "target": tgt,
                "test": tst,
                "power": level,
                "n": size.n,
                "estimate": size.estimate,
                "ci_lower": size.ci_lower,
                "ci_upper": size.ci_upper,
            }
        )
    return out
