"""``pathmodels fit --backend pymc``: options pass through, JSON keeps its shape."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pathmodels.cli import app
from tests.bayes.conftest import mediation_data


def test_fit_json_with_pymc_backend(tmp_path: Path, prior_sampling: None) -> None:
    path = tmp_path / "d.csv"
    mediation_data().to_csv(path, index=False)
    runner = CliRunner()
    out = runner.invoke(app, ["fit", "m ~ a*x\ny ~ b*m\nind := a*b", str(path), "--backend",
                              "pymc", "--draws", "40", "--tune", "10", "--chains", "2",
                              "--sampler", "pymc", "--seed", "3", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert set(data) >= {"estimates", "effects", "fit", "converged"}
    assert data["options"]["draws"] == 40 and data["options"]["chains"] == 2
    assert data["fit"]["draws"] == 40
    row = next(r for r in data["estimates"] if r["lhs"] == "ind")
    assert {"est", "se", "ci_lower", "r_hat", "ess_bulk"} <= set(row)


def test_fit_binary_option_and_bad_sampler(tmp_path: Path, prior_sampling: None) -> None:
    import pathmodels as pm

    path = tmp_path / "t.csv"
    pm.load_dataset("ips_trial").to_csv(path, index=False)
    runner = CliRunner()
    out = runner.invoke(app, ["fit", "employ ~ arm\nqol ~ employ", str(path), "--backend",
                              "pymc", "--binary", "employ", "--draws", "20", "--chains", "1",
                              "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["options"]["binary"] == ["employ"]
    bad = runner.invoke(app, ["fit", "employ ~ arm", str(path), "--backend", "pymc",
                              "--sampler", "stan"])
    assert bad.exit_code == 2 and "sampler='stan' is not available" in bad.output
