"""Tests of the model library (models/*.yaml and pathmodels.library)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from scipy.stats import norm

from pathmodels.builders import chain_syntax
from pathmodels.exceptions import SpecificationError
from pathmodels.library import (
    ModelEntry,
    VariableType,
    list_models,
    load_model,
    model_entry,
    population,
)

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
NAMES = sorted(p.stem for p in MODELS_DIR.glob("*.yaml"))

EXPECTED = {
    "choice_opportunities",
    "imr_self_determination",
    "ips_employment_qol",
    "ips_employment_recovery",
    "mhfa_public",
    "peer_role_modelling",
    "staff_training",
    "working_alliance",
}
LONGITUDINAL = {"employ_selfest_riclpm", "employ_support_riclpm", "ips_employ_qol_longitudinal"}


def test_library_holds_every_chain() -> None:
    assert set(NAMES) == EXPECTED | LONGITUDINAL


def test_list_models_table() -> None:
    table = list_models()
    assert list(table.columns) == ["name", "title", "chain"]
    assert table["name"].tolist() == sorted(EXPECTED | LONGITUDINAL)
    assert table["title"].str.len().min() > 0
    ips = table.set_index("name").loc["ips_employment_qol", "chain"]
    assert ips == "IPS -> competitive employment -> {self-esteem, social support} -> QoL"


@pytest.mark.parametrize("name", NAMES)
def test_entry_loads_and_mentions_only_declared_variables(name: str) -> None:
    from pathmodels.spec import Spec

    entry = model_entry(name)
    assert isinstance(entry, ModelEntry)
    assert entry.name == name
    assert "doi:10.1016/j.cpr.2020.101815" in entry.citation
    spec = load_model(name)
    pop = Spec.from_syntax(entry.population.syntax)
    assert spec.name == name
    assert set(spec.observed) == set(entry.variables)
    assert set(pop.observed) <= set(entry.variables)
    assert spec.meta["chain"] == entry.chain
    assert spec.meta["variables"]["arm"]["type"] == "binary"


@pytest.mark.parametrize("name", NAMES)
def test_population_has_numbers_on_every_path(name: str) -> None:
    from pathmodels.spec import Spec

    entry = model_entry(name)
    pop = Spec.from_syntax(population(name))
    frame = pop.to_frame()
    user = frame[(frame["user"] == 1) & frame["op"].isin(["~", "~~"])]
    assert len(user) > 0
    assert (user["free"] == 0).all(), "every population path needs a number"
    assert set(pop.observed) == set(entry.variables)
    # assumptions must be labelled as such
    assert "assumption" in entry.population.assumptions.lower()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_library_syntax_is_what_the_chain_builder_writes(name: str) -> None:
    """Every cross-sectional model follows the convention chain_syntax(stages, direct=True)."""
    entry = model_entry(name)
    assert entry.syntax == chain_syntax(_stages(entry.syntax), direct=True)


def _stages(syntax: str) -> list[list[str]]:
    """Recover a chain's stages from its regressions: a variable's stage is its depth."""
    parents: dict[str, list[str]] = {}
    for line in syntax.splitlines():
        if " ~ " in line:
            lhs, rhs = line.split(" ~ ")
            parents[lhs] = [term.split("*")[1] for term in rhs.split(" + ")]
    depth: dict[str, int] = {}
    for var, ps in parents.items():  # regressions are written in causal order
        for p in ps:
            depth.setdefault(p, 0)
        depth[var] = 1 + max(depth[p] for p in ps)
    stages: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for var, d in depth.items():
        stages[d].append(var)
    return stages


def test_ips_population_matches_cited_employment_rates() -> None:
    entry = model_entry("ips_employment_qol")
    (threshold,) = entry.population.thresholds["employ"]
    shift = 0.80
    assert "employ ~ 0.80*arm" in entry.population.syntax
    # employ = 1 when the latent value exceeds the threshold
    assert 1 - norm.cdf(threshold) == pytest.approx(0.25, abs=0.001)
    assert 1 - norm.cdf(threshold - shift) == pytest.approx(0.55, abs=0.002)
    assert entry.variables["employ"].type is VariableType.BINARY
    assert "55-60%" in entry.population.source


def test_library_models_without_cited_numbers_say_so() -> None:
    for name in NAMES:
        entry = model_entry(name)
        if not any(v == "employ" or v.startswith("employ_") for v in entry.variables):
            assert entry.population.source.startswith("None")
            assert entry.population.assumptions.startswith("All numbers are assumptions")


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(SpecificationError, match="did you mean 'ips_employment_qol'"):
        model_entry("ips_employment_qo")
    with pytest.raises(SpecificationError, match="unknown library model 'nothing'"):
        load_model("nothing")
    with pytest.raises(SpecificationError, match="did you mean"):
        population("mhfa")


def test_entry_is_frozen() -> None:
    entry = model_entry("mhfa_public")
    with pytest.raises(AttributeError):
        entry.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        entry.variables["new"] = entry.variables["arm"]  # type: ignore[index]


# ------------------------------------------------------------------ malformed files


def _write(tmp_path: Path, data: dict[str, object], stem: str = "ips_employment_qol") -> Path:
    path = tmp_path / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def good() -> dict[str, object]:
    raw = yaml.safe_load((MODELS_DIR / "ips_employment_qol.yaml").read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def test_a_path_to_a_good_file_loads(tmp_path: Path, good: dict[str, object]) -> None:
    path = _write(tmp_path, good)
    assert model_entry(path).syntax == model_entry("ips_employment_qol").syntax
    assert model_entry(str(path)).path == str(path)
    assert load_model(path).name == "ips_employment_qol"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecificationError, match="does not exist"):
        model_entry(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (lambda d: d.pop("title"), "title", "is missing"),
        (lambda d: d.update(title=3), "title", "must be a non-empty string"),
        (lambda d: d.update(chain=""), "chain", "must be a non-empty string"),
        (lambda d: d.update(name="other"), "name", "must equal the file stem"),
        (lambda d: d.update(extra="x"), "extra", "is not part of the schema"),
        (lambda d: d.update(population="x"), "population", "must be a mapping"),
        (lambda d: d["population"].pop("source"), "population.source", "is missing"),
        (lambda d: d["population"].update(sorce="x"), "population.sorce", "did you mean 'source'"),
        (lambda d: d.update(variables=[]), "variables", "must map each variable"),
        (lambda d: d["variables"].update(qol="x"), "variables.qol", "must be a mapping"),
        (lambda d: d["variables"]["qol"].pop("type"), "variables.qol.type", "is missing"),
        (
            lambda d: d["variables"]["qol"].update(type="continous"),
            "variables.qol.type",
            "did you mean 'continuous'",
        ),
        (
            lambda d: d["variables"]["qol"].update(unit="x"),
            "variables.qol.unit",
            "is not part of the schema",
        ),
        (lambda d: d["variables"].pop("qol"), "syntax", "undeclared variable"),
        (
            lambda d: d["variables"].update(age={"description": "age", "type": "continuous"}),
            "variables",
            "declares age, not used",
        ),
        (lambda d: d.update(syntax="qol ~ b*"), "syntax", "does not parse"),
        (
            lambda d: d["population"].update(syntax="employ ~ 0.8*arm\nqol ~ 0.3*selfest\n"),
            "population.syntax",
            "only in syntax",
        ),
        (
            lambda d: d["population"].update(thresholds={"qol": 0.5}),
            "population.thresholds.qol",
            "continuous variable",
        ),
        (
            lambda d: d["population"].update(thresholds={"employ": [0.1, 0.2]}),
            "population.thresholds.employ",
            "one number",
        ),
        (
            lambda d: d["population"].update(thresholds={"emply": 0.5}),
            "population.thresholds",
            "did you mean 'employ'",
        ),
    ],
)
def test_malformed_file_names_file_and_key(
    tmp_path: Path, good: dict[str, object], edit: object, key: str, problem: str
) -> None:
    edit(good)  # type: ignore[operator]
    path = _write(tmp_path, good)
    with pytest.raises(SpecificationError) as info:
        model_entry(path)
    message = str(info.value)
    assert str(path) in message
    assert f"key '{key}'" in message
    assert problem in message


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match="must hold a mapping"):
        model_entry(path)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match="not valid YAML"):
        model_entry(path)


def test_installed_library_folder_is_preferred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel puts models/ at pathmodels/_library; the loader looks there first."""
    import importlib.resources

    import pathmodels.library as library

    bundled = tmp_path / "_library"
    bundled.mkdir()
    source = MODELS_DIR / "mhfa_public.yaml"
    (bundled / "mhfa_public.yaml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)
    assert library.list_models()["name"].tolist() == ["mhfa_public"]
    assert library.model_entry("mhfa_public").path == str(bundled / "mhfa_public.yaml")
