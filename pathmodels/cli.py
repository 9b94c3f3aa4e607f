"""The ``pathmodels`` command line (typer).

Results go to stdout (a readable table, or one JSON object with ``--json``); progress and
logs go to stderr. Bad input exits with status 2 and a one-line message.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from pathmodels.exceptions import PathModelsError, PathModelsWarning

app = typer.Typer(
    name="pathmodels",
    help="Longitudinal mediation and path analysis: fit, simulate, plan power.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message.splitlines()[0] if message else 'failed'}", err=True)
    rest = message.splitlines()[1:]
    for line in rest:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(code=2)


def _read_data(source: str) -> Any:
    import pandas as pd

    from pathmodels.data import list_datasets, load_dataset

    path = Path(source)
    if path.exists():
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    names = list(list_datasets()["name"])
    if source in names:
        return load_dataset(source)
    from pathmodels.exceptions import DataError, close_matches

    raise DataError(
        f"data {source!r} is neither a file nor a bundled dataset; " + close_matches(source, names)
    )


def _fit_or_exit(model: str, data: str, **options: Any) -> Any:
    """Read the data and fit; warnings go to stderr, bad input exits with status 2."""
    from pathmodels.fit import fit

    try:
        frame = _read_data(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PathModelsWarning)
            result = fit(model, frame, **options)
        for w in caught:
            typer.echo(f"warning: {w.message}", err=True)
    except PathModelsError as exc:
        _fail(str(exc))
    return result


@app.command("models")
def models_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the model library."""
    from pathmodels.library import list_models

    frame = list_models()
    if as_json:
        typer.echo(frame.to_json(orient="records"))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="pathmodels model library")
    for col in frame.columns:
        table.add_column(str(col))
    for _, row in frame.iterrows():
        table.add_row(*[str(v) for v in row])
    Console().print(table)


@app.command("show")
def show_cmd(
    model: Annotated[str, typer.Argument(help="Library name, .lav/.yaml file or syntax.")],
) -> None:
    """Print a model's spec and parameter table."""
    from pathmodels.spec import as_spec

    try:
        spec = as_spec(model)
    except PathModelsError as exc:
        _fail(str(exc))
        return
    typer.echo(str(spec))
    meta = dict(spec.meta)
    for key in ("title", "chain", "citation"):
        if meta.get(key):
            typer.echo(f"{key}: {meta[key]}")
    typer.echo("")
    typer.echo(spec.to_frame().to_string(index=False))


@app.command("fit")
def fit_cmd(
    model: Annotated[str, typer.Argument(help="Library name, .lav/.yaml file or syntax.")],
    data: Annotated[str, typer.Argument(help="CSV/Parquet file or bundled dataset name.")],
    missing: Annotated[str, typer.Option(help="listwise or fiml.")] = "listwise",
    group: Annotated[str | None, typer.Option(help="Column defining groups.")] = None,
    se: Annotated[str, typer.Option(help="standard or bootstrap.")] = "standard",
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates.")] = 2000,
    ci: Annotated[str | None, typer.Option(help="delta, percentile, bc, bca or mc.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    seed: Annotated[int | None, typer.Option(help="Seed for bootstrap/MC draws.")] = None,
    backend: Annotated[str, typer.Option(help="pathmodels, semopy or pymc.")] = "pathmodels",
    draws: Annotated[int, typer.Option(help="pymc: posterior draws per chain.")] = 1000,
    tune: Annotated[int, typer.Option(help="pymc: tuning steps per chain.")] = 1000,
    chains: Annotated[int, typer.Option(help="pymc: number of chains.")] = 4,
    sampler: Annotated[str, typer.Option(help="pymc: NUTS sampler, pymc or nutpie.")] = "pymc",
    binary: Annotated[
        str | None, typer.Option(help="pymc: comma-separated binary (0/1) variables, e.g. employ.")
    ] = None,
    ordinal: Annotated[
        str | None, typer.Option(help="pymc: comma-separated ordinal variables.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write tables, summary and report here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Fit MODEL to DATA (ML, or Bayesian with --backend pymc); print estimates and effects."""
    result = _fit_or_exit(
        model,
        data,
        missing=missing,
        group=group,
        se=se,
        n_boot=n_boot,
        ci=ci,
        level=level,
        seed=seed,
        backend=backend,
        progress=not quiet and not as_json,
        draws=draws,
        tune=tune,
        chains=chains,
        sampler=sampler,
        binary=_names(binary),
        ordinal=_names(ordinal),
    )
    if out is not None:
        from pathmodels.report import write_report

        path = write_report(result, out)
        typer.echo(f"report written to {path}", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        typer.echo(result.summary())


@app.command("report")
def report_cmd(
    model: Annotated[str, typer.Argument(help="Library name, .lav/.yaml file or syntax.")],
    data: Annotated[str, typer.Argument(help="CSV/Parquet file or bundled dataset name.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Directory for the report.")] = Path(
        "report"
    ),
    missing: Annotated[str, typer.Option(help="listwise or fiml.")] = "listwise",
    group: Annotated[str | None, typer.Option(help="Column defining groups.")] = None,
    se: Annotated[str, typer.Option(help="standard or bootstrap.")] = "standard",
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates.")] = 2000,
    ci: Annotated[str | None, typer.Option(help="delta, percentile, bc, bca or mc.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for bootstrap/MC draws.")] = None,
) -> None:
    """Fit MODEL to DATA and write an HTML report (tables, path diagram, effects plot)."""
    from pathmodels.report import write_report

    result = _fit_or_exit(
        model, data, missing=missing, group=group, se=se, n_boot=n_boot, ci=ci, seed=seed
    )
    typer.echo(str(write_report(result, out)))


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else ()


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except PathModelsError as exc:  # pragma: no cover - commands catch their own
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _register_extensions() -> None:
    """Import modules that add commands to :data:`app` (simulate, power, report)."""
    import importlib

    for name in ("pathmodels.cli_design",):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


_register_extensions()


if __name__ == "__main__":  # pragma: no cover
    main()
