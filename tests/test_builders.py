"""Tests of the mediation and chain builders (pathmodels.builders)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathmodels.builders import chain, chain_syntax, mediation, mediation_syntax
from pathmodels.exceptions import SpecificationError


def lines(text: str) -> list[str]:
    return text.splitlines()


# ------------------------------------------------------------------ exact syntax


def test_simple_mediation_syntax() -> None:
    assert lines(mediation_syntax("arm", "employ", "qol")) == [
        "employ ~ a_employ*arm",
        "qol ~ cp*arm + b_employ*employ",
        "ind_employ := a_employ*b_employ",
        "total := cp + ind_employ",
    ]


def test_simple_mediation_one_element_list_is_simple() -> None:
    assert mediation_syntax("x", ["m"], "y") == mediation_syntax("x", "m", "y")


def test_simple_mediation_without_direct_path() -> None:
    assert lines(mediation_syntax("x", "m", "y", direct=False)) == [
        "m ~ a_m*x",
        "y ~ b_m*m",
        "ind_m := a_m*b_m",
    ]


def test_parallel_mediation_syntax_with_covariates() -> None:
    text = mediation_syntax("arm", ["selfest", "support"], "qol", covariates=["age", "site"])
    assert lines(text) == [
        "selfest ~ a_selfest*arm + age + site",
        "support ~ a_support*arm + age + site",
        "qol ~ cp*arm + b_selfest*selfest + b_support*support + age + site",
        "selfest ~~ support",
        "ind_selfest := a_selfest*b_selfest",
        "ind_support := a_support*b_support",
        "total_ind := ind_selfest + ind_support",
        "total := cp + total_ind",
    ]


def test_parallel_mediation_without_mediator_covariances() -> None:
    text = mediation_syntax("x", ["m1", "m2", "m3"], "y", covary_mediators=False)
    assert "~~" not in text
    with_cov = mediation_syntax("x", ["m1", "m2", "m3"], "y")
    assert [ln for ln in lines(with_cov) if "~~" in ln] == [
        "m1 ~~ m2",
        "m1 ~~ m3",
        "m2 ~~ m3",
    ]


def test_single_covariate_string_is_one_covariate() -> None:
    assert mediation_syntax("x", "m", "y", covariates="age") == mediation_syntax(
        "x", "m", "y", covariates=["age"]
    )


def test_serial_mediation_two_mediators() -> None:
    assert lines(mediation_syntax("x", ["m1", "m2"], "y", serial=True)) == [
        "m1 ~ a_m1*x",
        "m2 ~ a_m2*x + d_m2_m1*m1",
        "y ~ cp*x + b_m1*m1 + b_m2*m2",
        "ind_m1 := a_m1*b_m1",
        "ind_m2 := a_m2*b_m2",
        "ind_m1_m2 := a_m1*d_m2_m1*b_m2",
        "total_ind := ind_m1 + ind_m2 + ind_m1_m2",
        "total := cp + total_ind",
    ]


def test_serial_mediation_three_mediators_has_every_route() -> None:
    text = mediation_syntax("x", ["m1", "m2", "m3"], "y", serial=True, direct=False)
    defined = [ln.split(" := ")[0] for ln in lines(text) if ":=" in ln]
    assert defined == [
        "ind_m1",
        "ind_m2",
        "ind_m3",
        "ind_m1_m2",
        "ind_m1_m3",
        "ind_m2_m3",
        "ind_m1_m2_m3",
        "total_ind",
    ]
    assert "ind_m1_m2_m3 := a_m1*d_m2_m1*d_m3_m2*b_m3" in lines(text)
    assert "m3 ~ a_m3*x + d_m3_m1*m1 + d_m3_m2*m2" in lines(text)
    # serial mediators are linked by regressions: no residual covariances on top
    assert "~~" not in text


def test_chain_ips_example() -> None:
    text = chain_syntax(["arm", "employ", ["selfest", "support"], "qol"])
    assert lines(text) == [
        "employ ~ p_employ_arm*arm",
        "selfest ~ p_selfest_employ*employ",
        "support ~ p_support_employ*employ",
        "qol ~ p_qol_selfest*selfest + p_qol_support*support",
        "selfest ~~ support",
        "ind_arm_employ_selfest_qol := p_employ_arm*p_selfest_employ*p_qol_selfest",
        "ind_arm_employ_support_qol := p_employ_arm*p_support_employ*p_qol_support",
        "total_ind := ind_arm_employ_selfest_qol + ind_arm_employ_support_qol",
    ]


def test_chain_direct_and_covariates() -> None:
    text = chain_syntax(["arm", "employ", "qol"], direct=True, covariates=["age"])
    assert lines(text) == [
        "employ ~ p_employ_arm*arm + age",
        "qol ~ p_qol_employ*employ + p_qol_arm*arm + age",
        "ind_arm_employ_qol := p_employ_arm*p_qol_employ",
        "total := p_qol_arm + ind_arm_employ_qol",
    ]


def test_chain_full_regresses_on_all_earlier_stages() -> None:
    text = chain_syntax(["x", "m1", "m2", "y"], full=True)
    assert lines(text)[:3] == [
        "m1 ~ p_m1_x*x",
        "m2 ~ p_m2_x*x + p_m2_m1*m1",
        "y ~ p_y_x*x + p_y_m1*m1 + p_y_m2*m2",
    ]
    defined = {ln.split(" := ")[0] for ln in lines(text) if ":=" in ln}
    assert defined == {
        "ind_x_m1_m2_y",
        "ind_x_m1_y",
        "ind_x_m2_y",
        "total_ind",
        "total",
    }
    assert "total := p_y_x + total_ind" in lines(text)


def test_chain_several_sources_and_outcomes_names_effects_per_pair() -> None:
    text = chain_syntax([["a", "b"], "m", ["y1", "y2"]], direct=True, covary_within_stage=False)
    assert lines(text) == [
        "m ~ p_m_a*a + p_m_b*b",
        "y1 ~ p_y1_m*m + p_y1_a*a + p_y1_b*b",
        "y2 ~ p_y2_m*m + p_y2_a*a + p_y2_b*b",
        "ind_a_m_y1 := p_m_a*p_y1_m",
        "total_a_y1 := p_y1_a + ind_a_m_y1",
        "ind_a_m_y2 := p_m_a*p_y2_m",
        "total_a_y2 := p_y2_a + ind_a_m_y2",
        "ind_b_m_y1 := p_m_b*p_y1_m",
        "total_b_y1 := p_y1_b + ind_b_m_y1",
        "ind_b_m_y2 := p_m_b*p_y2_m",
        "total_b_y2 := p_y2_b + ind_b_m_y2",
    ]


def test_chain_per_pair_total_indirect() -> None:
    text = chain_syntax(["arm", ["e", "s"], ["y1", "y2"]], covary_within_stage=False)
    assert "total_ind_arm_y1 := ind_arm_e_y1 + ind_arm_s_y1" in lines(text)
    assert "total_ind_arm_y2 := ind_arm_e_y2 + ind_arm_s_y2" in lines(text)
    assert not any(ln.startswith("total_arm") for ln in lines(text))


def test_two_stage_chain_is_a_regression_without_effects() -> None:
    assert lines(chain_syntax(["x", ["y1", "y2"]])) == [
        "y1 ~ p_y1_x*x",
        "y2 ~ p_y2_x*x",
        "y1 ~~ y2",
    ]


def test_first_stage_variables_get_no_covariance_line() -> None:
    text = chain_syntax([["a", "b"], "y"])
    assert "~~" not in text


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mediation_syntax("x", ["m", "x"], "y"), "in both x= and m="),
        (lambda: mediation_syntax("x", "m", "m"), "in both m= and y="),
        (lambda: mediation_syntax("x", ["m", "m"], "y"), "twice in m="),
        (lambda: mediation_syntax("x", "m", "y", covariates=["y"]), "in both y= and covariates="),
        (lambda: mediation_syntax("x", [], "y"), "m= is empty"),
        (lambda: mediation_syntax("x", "self-esteem", "y"), "not a valid variable name"),
        (lambda: mediation_syntax("1x", "m", "y"), "not a valid variable name"),
        (lambda: mediation_syntax("x", "m", "y", covariates=["a b"]), "not a valid"),
        (lambda: mediation_syntax(["x"], "m", "y"), "one variable name"),  # type: ignore[arg-type]
        (lambda: mediation_syntax("x", [1], "y"), "must contain variable names"),  # type: ignore[list-item]
        (lambda: chain_syntax(["x"]), "at least two"),
        (lambda: chain_syntax("x"), "not a single string"),
        (lambda: chain_syntax(["x", [], "y"]), r"stages\[1\] is empty"),
        (lambda: chain_syntax(["x", "m", "x"]), "twice in stages="),
        (lambda: chain_syntax(["x", "m", "y"], covariates=["m"]), "in both stages= and"),
        (lambda: chain_syntax(["x", "m", "y-1"]), "not a valid variable name"),
    ],
)
def test_invalid_input_raises_specification_error(call: object, message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        call()  # type: ignore[operator]


def test_label_collision_from_underscores_is_caught() -> None:
    # p_a_b_c would label both a <- b_c and a_b <- c
    with pytest.raises(SpecificationError, match="p_a_b_c"):
        chain_syntax([["b_c", "c"], ["a", "a_b"]])
    # ind_m1_m2 is the serial route m1 -> m2 and also the mediator 'm1_m2'
    with pytest.raises(SpecificationError, match="ind_m1_m2"):
        mediation_syntax("x", ["m1", "m2", "m1_m2"], "y", serial=True)


def test_label_equal_to_variable_name_is_caught() -> None:
    with pytest.raises(SpecificationError, match="'cp'"):
        mediation_syntax("x", "m", "y", covariates=["cp"])
    with pytest.raises(SpecificationError, match="'total'"):
        mediation_syntax("x", "m", "total")


# ------------------------------------------- effects agree with the reduced form


def _effects(text: str, values: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Evaluate the defined parameters, and return the regression coefficients."""
    coef: dict[str, float] = {}
    defined: dict[str, float] = {}
    for line in lines(text):
        if ":=" in line:
            name, expression = line.split(" := ")
            defined[name] = eval(expression, {}, {**values, **defined})  # noqa: S307
        elif " ~ " in line:
            lhs, rhs = line.split(" ~ ")
            for term in rhs.split(" + "):
                if "*" in term:
                    label, var = term.split("*")
                    coef[f"{lhs}<-{var}"] = values[label]
    return defined, coef


def _reduced_form_total(coef: dict[str, float], source: str, target: str) -> float:
    names = sorted({n for key in coef for n in key.split("<-")})
    index = {n: i for i, n in enumerate(names)}
    beta = np.zeros((len(names), len(names)))
    for key, value in coef.items():
        to, frm = key.split("<-")
        beta[index[to], index[frm]] = value
    total = np.linalg.inv(np.eye(len(names)) - beta)
    return float(total[index[target], index[source]])


def _labels(text: str) -> set[str]:
    return set(re.findall(r"\b([abdp]_\w+|cp)\*", text))


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=3),
    full=st.booleans(),
    direct=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_chain_effects_sum_to_reduced_form_total(
    sizes: list[int], full: bool, direct: bool, seed: int
) -> None:
    stages: list[str | list[str]] = ["x"]
    stages += [[f"s{k}v{j}" for j in range(size)] for k, size in enumerate(sizes)]
    stages.append("y")
    text = chain_syntax(stages, full=full, direct=direct)
    rng = np.random.default_rng(seed)
    values = {label: float(rng.uniform(-1, 1)) for label in _labels(text)}
    defined, coef = _effects(text, values)
    truth = _reduced_form_total(coef, "x", "y")
    direct_path = values.get("p_y_x", 0.0)
    indirect = defined.get("total_ind")
    if indirect is None:  # one route only
        (indirect,) = [v for k, v in defined.items() if k.startswith("ind_")]
    assert direct_path + indirect == pytest.approx(truth, rel=1e-12, abs=1e-12)
    if "total" in defined:
        assert defined["total"] == pytest.approx(truth, rel=1e-12, abs=1e-12)
    assert ("total" in defined) == ("p_y_x" in values)


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(min_value=1, max_value=4),
    serial=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_mediation_effects_sum_to_reduced_form_total(k: int, serial: bool, seed: int) -> None:
    mediators = [f"m{j}" for j in range(1, k + 1)]
    text = mediation_syntax("x", mediators, "y", serial=serial)
    rng = np.random.default_rng(seed)
    values = {label: float(rng.uniform(-1, 1)) for label in _labels(text)}
    defined, coef = _effects(text, values)
    n_routes = sum(1 for name in defined if name.startswith("ind_"))
    assert n_routes == (2**k - 1 if serial else k)
    assert defined["total"] == pytest.approx(_reduced_form_total(coef, "x", "y"), rel=1e-12)


def test_effect_check_fails_on_a_missing_route() -> None:
    """The reduced-form check is not vacuous: drop a route and it disagrees."""
    text = chain_syntax(["x", "m1", "m2", "y"], full=True)
    values = {label: 0.5 for label in _labels(text)}
    defined, coef = _effects(text, values)
    truth = _reduced_form_total(coef, "x", "y")
    assert defined["total"] - defined["ind_x_m1_y"] != pytest.approx(truth)


# ------------------------------------------------------------------ through Spec


def test_mediation_returns_spec_with_labels_and_effects() -> None:
    spec = mediation("arm", ["selfest", "support"], "qol", covariates=["age"], name="ips")
    assert spec.name == "ips"
    assert spec.syntax == mediation_syntax("arm", ["selfest", "support"], "qol", covariates=["age"])
    assert set(spec.labels) == {"a_selfest", "a_support", "b_selfest", "b_support", "cp"}
    assert spec.defined == ("ind_selfest", "ind_support", "total_ind", "total")
    assert set(spec.observed) == {"arm", "selfest", "support", "qol", "age"}
    assert spec.meta["builder"] == "mediation"


def test_serial_mediation_spec_parses() -> None:
    spec = mediation("x", ["m1", "m2", "m3"], "y", serial=True)
    assert len(spec.defined) == 7 + 2


def test_chain_returns_spec() -> None:
    spec = chain(["arm", "employ", ["selfest", "support"], "qol"], direct=True, name="ips")
    assert spec.name == "ips"
    assert spec.defined == (
        "ind_arm_employ_selfest_qol",
        "ind_arm_employ_support_qol",
        "total_ind",
        "total",
    )
    assert "p_qol_arm" in spec.labels
    assert spec.meta["stages"] == (("arm",), ("employ",), ("selfest", "support"), ("qol",))
