"""The command line: output shapes, exit codes, files written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import pathmodels as pm
from pathmodels.cli import app

runner = CliRunner()


def test_models_lists_the_library() -> None:
    out = runner.invoke(app, ["models", "--json"])
    assert out.exit_code == 0
    names = {row["name"] for row in json.loads(out.stdout)}
    assert "ips_employment_qol" in names


def test_show_prints_the_parameter_table() -> None:
    out = runner.invoke(app, ["show", "ips_employment_qol"])
    assert out.exit_code == 0
    assert "employ ~ p_employ_arm*arm" in out.stdout
    assert "selfest" in out.stdout


def test_fit_json_shape_matches_the_python_api() -> None:
    out = runner.invoke(app, ["fit", "ips_employment_qol", "ips_trial", "--json"])
    assert out.exit_code == 0, out.stderr
    payload = json.loads(out.stdout)
    assert set(payload) >= {"estimates", "effects", "fit", "converged"}
    assert payload["converged"] is True
    res = pm.fit(pm.load_model("ips_employment_qol"), pm.load_dataset("ips_trial"))
    ours = {(r["lhs"], r["op"], r["rhs"]): r["est"] for r in payload["estimates"]}
    for _, row in res.estimates.iterrows():
        assert ours[(row["lhs"], row["op"], row["rhs"])] == pytest.approx(row["est"], rel=1e-12)
    assert payload["fit"]["chisq"] == pytest.approx(res.fit_measures["chisq"], rel=1e-12)
    kinds = {r["effect"] for r in payload["effects"]}
    assert kinds == {"direct", "indirect", "total_indirect", "total"}


def test_fit_bootstrap_from_a_csv_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(150)
    m = 0.5 * x + rng.standard_normal(150)
    y = 0.4 * m + rng.standard_normal(150)
    csv = tmp_path / "d.csv"
    pd.DataFrame({"x": x, "m": m, "y": y}).to_csv(csv, index=False)
    model = tmp_path / "m.lav"
    model.write_text("m ~ a*x\ny ~ b*m + x\nind := a*b\n")
    out = runner.invoke(app, ["fit", str(model), str(csv), "--se", "bootstrap", "--n-boot",
                              "200", "--ci", "bc", "--seed", "4", "--json"])
    assert out.exit_code == 0, out.stderr
    payload = json.loads(out.stdout)
    ind = next(r for r in payload["estimates"] if r["lhs"] == "ind")
    assert ind["ci_lower"] < ind["est"] < ind["ci_upper"]
    assert payload["options"]["ci"] == "bc"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["fit", "nosuchmodel", "ips_trial"], "unknown library model"),
        (["fit", "y ~ b*", "ips_trial"], "column"),
        (["fit", "qol ~ employd", "ips_trial"], "did you mean 'employ'"),
        (["fit", "ips_employment_qol", "nosuch.csv"], "neither a file"),
        (["fit", "ips_employment_qol", "ips_trial", "--ci", "bcx"], "did you mean"),
    ],
)
def test_bad_input_exits_2_with_a_one_line_message(args: list[str], needle: str) -> None:
    out = runner.invoke(app, args)
    assert out.exit_code == 2
    assert out.stderr.startswith("error: ")
    assert needle in out.stderr


def test_fit_out_and_report_write_files(tmp_path: Path) -> None:
    out = runner.invoke(app, ["fit", "ips_employment_qol", "ips_trial", "--out",
                              str(tmp_path / "r")])
    assert out.exit_code == 0, out.stderr
    for name in ("report.html", "estimates.csv", "effects.csv", "fit.json", "summary.txt"):
        assert (tmp_path / "r" / name).stat().st_size > 0
    out = runner.invoke(app, ["report", "ips_employment_qol", "ips_trial", "-o",
                              str(tmp_path / "r2")])
    assert out.exit_code == 0, out.stderr
    assert Path(out.stdout.strip()).name == "report.html"
