"""Priors, parametrisation and bad input, checked before anything is sampled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.bayes.plan import Plan
from pathmodels.bayes.priors import Prior, check_support, parse_prior
from pathmodels.exceptions import DataError, SpecificationError
from pathmodels.ml.data import prepare_data
from tests.bayes.conftest import SIMPLE, mediation_data
from tests.reference.lavaan_cases import load_case

IPS = load_case("ips_chain")


def plan_of(syntax: str, data: pd.DataFrame, **kw: object) -> Plan:
    spec = pm.Spec.from_syntax(syntax)
    table = spec.table(meanstructure=True)
    return Plan(table, prepare_data(table, data), **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- prior syntax
def test_parse_prior_forms() -> None:
    assert parse_prior(("normal", 0, 1), "a") == Prior("normal", (0.0, 1.0))
    assert parse_prior({"dist": "halfnormal", "sigma": 2}, "v") == Prior("halfnormal", (2.0,))
    assert parse_prior(["Half_Normal", 2], "v") == Prior("halfnormal", (2.0,))
    assert parse_prior(Prior("lkj", (2.0,)), "c").as_beta() == (2.0, 2.0)


@pytest.mark.parametrize("bad, fragment", [
    (("normla", 0, 1), "did you mean 'normal'"),
    (("normal", 0), "takes 2 parameter"),
    (("normal", 0, -1), "must be positive"),
    (("uniform", 1, 0), "lower < upper"),
    (("normal", 0, float("inf")), "not finite"),
    (3.0, "not a prior"),
    ({"dist": "normal", "mu": 0}, "'sigma' is missing"),
])
def test_parse_prior_errors(bad: object, fragment: str) -> None:
    with pytest.raises(SpecificationError, match=fragment):
        parse_prior(bad, "a")


def test_support_checks() -> None:
    with pytest.raises(SpecificationError, match="positive support"):
        check_support(Prior("normal", (0.0, 1.0)), "sd", "y~~y")
    with pytest.raises(SpecificationError, match="correlation"):
        check_support(Prior("normal", (0.0, 1.0)), "cor", "a~~b")
    with pytest.raises(SpecificationError, match="correlations"):
        check_support(Prior("beta", (2.0, 2.0)), "coef", "a")
    check_support(Prior("uniform", (0.0, 5.0)), "sd", "y~~y")
    check_support(Prior("uniform", (-0.5, 0.5)), "cor", "a~~b")


# ---------------------------------------------------------------------- keys
def _prior_of(plan: Plan, name: str) -> Prior:
    return next(r.prior for r in plan.raw if r.name == name)


def test_priors_by_label_parameter_and_operator() -> None:
    plan = plan_of(IPS.syntax, IPS.data, priors={
        "a": ("normal", 0, 1), "~": ("normal", 0, 3), "qol~age": ("student_t", 3, 0, 1),
        "qol~~qol": ("halfnormal", 2)})
    assert _prior_of(plan, "a") == Prior("normal", (0.0, 1.0))          # label beats operator
    assert _prior_of(plan, "qol~age") == Prior("student_t", (3.0, 0.0, 1.0))
    assert _prior_of(plan, "b1") == Prior("normal", (0.0, 3.0))          # operator
    assert _prior_of(plan, "qol~~qol") == Prior("halfnormal", (2.0,))


def test_default_priors_scale_with_the_data() -> None:
    data = IPS.data.copy()
    plan1 = plan_of(IPS.syntax, data)
    data["qol"] *= 10
    plan2 = plan_of(IPS.syntax, data)
    s1, s2 = _prior_of(plan1, "c1").params[1], _prior_of(plan2, "c1").params[1]
    np.testing.assert_allclose(s2 / s1, 10.0)
    sd = data["qol"].std()
    # qol's residual SD prior is halfnormal(2.5 s_qol)
    np.testing.assert_allclose(_prior_of(plan2, "qol~~qol").params[0], 2.5 * sd, rtol=1e-12)


def test_unknown_prior_key_lists_valid_names() -> None:
    with pytest.raises(SpecificationError) as err:
        plan_of(IPS.syntax, IPS.data, priors={"qol~selfst": ("normal", 0, 1)})
    msg = str(err.value)
    assert "no parameter 'qol~selfst'" in msg and "did you mean 'qol~selfest'" in msg
    assert "labels (a, b1, b2, c1, c2)" in msg and "cor" in msg and ".g1" not in msg
    with pytest.raises(SpecificationError, match="no parameter 'c3'; Valid keys"):
        plan_of(IPS.syntax, IPS.data, priors={"c3": ("normal", 0, 1)})


def test_prior_for_a_fixed_parameter_is_refused() -> None:
    case = load_case("riclpm4")
    spec = pm.Spec.from_syntax(case.syntax, auto=False)
    table = spec.table(meanstructure=True)
    with pytest.raises(SpecificationError, match="fixed in the model"):
        Plan(table, prepare_data(table, case.data), priors={"x1~~x1": ("halfnormal", 1)})


def test_conflicting_priors_for_one_parameter() -> None:
    with pytest.raises(SpecificationError, match="same parameter"):
        plan_of(IPS.syntax, IPS.data, priors={"a": ("normal", 0, 1),
                                              "employ~arm": ("normal", 0, 2)})


def test_variance_prior_needs_positive_support() -> None:
    with pytest.raises(SpecificationError, match="standard deviation"):
        plan_of(IPS.syntax, IPS.data, priors={"qol~~qol": ("normal", 0, 1)})


def test_residual_block_is_conditional_regressions_unless_named() -> None:
    plan = plan_of(IPS.syntax, IPS.data)
    kinds = {plan.param_names[k]: rec.kind for k, rec in enumerate(plan.recipes) if rec}
    assert kinds["selfest~~support"] == "block"
    assert kinds["selfest~~selfest"] == "block" and kinds["qol~~qol"] == "square"
    assert kinds["qol~1"] == "centred"
    named = plan_of(IPS.syntax, IPS.data, priors={"selfest~~support": ("lkj", 4)})
    kinds = {named.param_names[k]: rec.kind for k, rec in enumerate(named.recipes) if rec}
    assert kinds["selfest~~support"] == "cor" and kinds["selfest~~selfest"] == "square"
    assert _prior_of(named, "selfest~~support (cor)") == Prior("lkj", (4.0,))


def test_intercept_prior_switches_to_the_raw_intercept() -> None:
    plan = plan_of(IPS.syntax, IPS.data, priors={"qol~1": ("normal", 0, 10)})
    k = plan.param_names.index("qol~1")
    assert plan.recipes[k].kind == "raw"
    assert _prior_of(plan, "qol~1") == Prior("normal", (0.0, 10.0))


# ---------------------------------------------------------------------- identification
def test_non_identified_model_is_refused_before_sampling() -> None:
    rng = np.random.default_rng(1)
    f = rng.standard_normal(300)
    data = pd.DataFrame({"x1": f + rng.standard_normal(300), "x2": f + rng.standard_normal(300)})
    spec = pm.Spec.from_syntax("f =~ x1 + x2")
    table = spec.table(meanstructure=True)
    plan = Plan(table, prepare_data(table, data))
    with pytest.raises(SpecificationError, match="not identified"):
        plan.check_identified(plan.data.moments)


def test_identified_models_pass_the_check() -> None:
    for name in ("ips_chain", "cfa_hs", "riclpm4", "sem_pd", "twogroup_mediation_free"):
        case = load_case(name)
        spec = pm.Spec.from_syntax(case.syntax, auto=not case.call.startswith("lavaan("))
        grp = case.options.get("group") or None
        ng = 1 if grp is None else int(case.data[grp].nunique())
        table = spec.table(ngroups=ng, meanstructure=True)
        plan = Plan(table, prepare_data(table, case.data, group=grp))
        plan.check_identified(plan.data.moments)


def test_fit_refuses_a_non_identified_model_without_sampling(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from pathmodels.bayes import sampling

    def boom(*_: object) -> None:
        raise AssertionError("sampled a non-identified model")

    monkeypatch.setattr(sampling, "run_sampler", boom)
    rng = np.random.default_rng(1)
    f = rng.standard_normal(300)
    data = pd.DataFrame({"x1": f + rng.standard_normal(300), "x2": f + rng.standard_normal(300)})
    with pytest.raises(SpecificationError, match="not identified"):
        pm.fit("f =~ x1 + x2", data, backend="pymc")


# ---------------------------------------------------------------------- binary / ordinal
def _trial() -> pd.DataFrame:
    return pm.load_dataset("ips_trial")


def test_binary_with_other_values_is_a_data_error() -> None:
    data = _trial()
    data.loc[3, "employ"] = 2
    with pytest.raises(DataError, match="values other than 0 and 1.*e.g. 2"):
        pm.fit("employ ~ arm\nqol ~ employ", data, backend="pymc", binary=["employ"])


@pytest.mark.parametrize("kwargs, fragment", [
    ({"binary": ["employed"]}, "did you mean 'employ'"),
    ({"binary": ["arm"]}, "exogenous covariate"),
    ({"binary": ["employ"], "ordinal": ["employ"]}, "both binary= and ordinal="),
    ({"ordinal": ["employ"]}, "declare a two-category variable binary="),
    ({"binary": ["employ"], "link": "cloglog"}, "link='cloglog' is not an option"),
    ({"sampler": "stan"}, "sampler='stan' is not available"),
    ({"draws": 0}, "draws=0 must be an integer >= 1"),
    ({"target_accept": 1.5}, "target_accept=1.5 must lie in"),
    ({"binary": "employ"}, "takes a list of names"),
])
def test_bad_bayesian_options(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises((SpecificationError, DataError), match=fragment):
        pm.fit("employ ~ arm\nqol ~ employ", _trial(), backend="pymc", **kwargs)


def test_binary_in_a_latent_model_is_refused() -> None:
    case = load_case("cfa_hs")
    data = case.data.copy()
    data["x1"] = (data["x1"] > data["x1"].median()).astype(float)
    with pytest.raises(SpecificationError, match="latent variables"):
        pm.fit(case.syntax, data, backend="pymc", binary=["x1"])


def test_user_covariance_with_a_binary_variable_is_refused() -> None:
    with pytest.raises(SpecificationError, match="residual covariance with a binary"):
        pm.fit("employ ~ arm\nqol ~ arm\nemploy ~~ qol", _trial(), backend="pymc",
               binary=["employ"])


def test_missing_values_with_binary_variables_are_refused() -> None:
    data = _trial()
    data.loc[:10, "qol"] = np.nan
    with pytest.raises(SpecificationError, match="missing='fiml' with binary"):
        pm.fit("employ ~ arm\nqol ~ employ", data, backend="pymc", binary=["employ"],
               missing="fiml")


def test_binary_variance_is_fixed_and_default_covariance_dropped() -> None:
    data = _trial()
    plan = plan_of("employ ~ arm\nqol ~ arm\nselfest ~ arm", data, binary=("employ",))
    k = plan.param_names.index("employ~~employ")
    assert plan.is_constant(k) and plan.recipes[k].value == 1.0
    # lavaan's auto.cov.y would free employ ~~ qol; with a binary outcome it is fixed at 0
    assert {plan.table.rhs[i] for i in plan.zeroed} | {plan.table.lhs[i] for i in plan.zeroed} \
        >= {"employ"}
    logit = plan_of("employ ~ arm\nqol ~ employ", data, binary=("employ",), link="logit")
    k = logit.param_names.index("employ~~employ")
    np.testing.assert_allclose(logit.recipes[k].value, np.pi ** 2 / 3)


def test_simple_plan_is_regression_family() -> None:
    plan = plan_of(SIMPLE, mediation_data())
    assert plan.family == "regression" and plan.recursive and not plan.discrete
