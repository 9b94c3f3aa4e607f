"""Tests of the longitudinal builders (CLPM, RI-CLPM, half-longitudinal mediation).

The builders' specs are fitted to the data of lavaan reference cases and must give
lavaan's numbers: the main fixtures (``tests/reference/lavaan``: hand-written lavaan
syntax from make_reference.R) and the longitudinal ones
(``tests/reference/lavaan/longitudinal``, from make_reference_longitudinal.R), matched
by lhs/op/rhs. Our generated names equal the fixtures' (``wx1``, ``RIx``, ...);
``:=`` rows are matched by name, through ``DEFINED`` where the fixture names differ.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import optimize, stats

import pathmodels as pm
import tests.reference.lavaan_cases as lavaan_cases
from pathmodels.exceptions import DataError, PathModelsWarning, SpecificationError
from pathmodels.library import model_entry
from pathmodels.longitudinal import clpm, compare_random_intercepts, half_longitudinal, riclpm
from tests.ml.test_lavaan_reference import FIT_KEYS as REFERENCE_FIT_KEYS
from tests.reference.lavaan_cases import LavaanCase, load_case

LONGITUDINAL_DIR = lavaan_cases.CASES_DIR / "longitudinal"
MODELS_DIR = Path(__file__).resolve().parents[1] / "models"

# lavaan's fit measures as in the ML reference tests, less the baseline and saturated
# models' own numbers.
FIT_KEYS = {
    ours: theirs
    for ours, theirs in REFERENCE_FIT_KEYS.items()
    if ours not in {"baseline_chisq", "baseline_df", "unrestricted_logl"}
}


def load_longitudinal(name: str) -> LavaanCase:
    """Load a case of make_reference_longitudinal.R with the fixtures' own loader."""
    saved = lavaan_cases.CASES_DIR
    lavaan_cases.CASES_DIR = LONGITUDINAL_DIR
    try:
        return lavaan_cases.load_case(name)
    finally:
        lavaan_cases.CASES_DIR = saved


@dataclass(frozen=True)
class Reference:
    """A builder call and the lavaan case it must reproduce."""

    case: str
    build: Callable[[], pm.Spec]
    fit_options: dict[str, Any]
    longitudinal: bool = False
    rtol_se: float = 1e-3
    defined: dict[str, str] | None = None  # fixture := name -> ours

    def load(self) -> LavaanCase:
        return load_longitudinal(self.case) if self.longitudinal else load_case(self.case)


FIML = {"missing": "fiml"}
CLASSES = ["autoregressive", "cross_lagged", "residual_covariances", "residual_variances"]
REFERENCES = [
    Reference("clpm3_free", lambda: clpm(["x", "y"], 3), {}),
    Reference("clpm3_invariant", lambda: clpm(["x", "y"], 3, constrain=True), {}),
    Reference("clpm_on_riclpm", lambda: clpm(["x", "y"], 4), {"meanstructure": True}),
    Reference("riclpm4", lambda: riclpm(["x", "y"], 4), {}),
    Reference("riclpm4_fiml", lambda: riclpm(["x", "y"], 4), FIML, rtol_se=2e-3),
    Reference("riclpm4_listwise", lambda: riclpm(["x", "y"], 4), {}),
    Reference(
        "riclpm3_trivariate",
        lambda: riclpm(["x", "m", "y"], 4, constrain=[("x", "m"), "m -> y"]),
        {},
        defined={"ind": "ind_wx1_wm2_wy3"},
    ),
    Reference(
        "riclpm4_constrained",
        lambda: riclpm(
            ["x", "y"],
            4,
            constrain={"autoregressive", "cross_lagged", "residual_covariances", "means"},
        ),
        {},
        longitudinal=True,
    ),
    Reference(
        "clpm3_stationary",
        lambda: clpm(["x", "y"], 3, constrain=[*CLASSES, "intercepts"]),
        {},
        longitudinal=True,
    ),
    Reference(
        "clpm_tri_lag2",
        lambda: clpm(["x", "m", "y"], 4, constrain=True, lag2=True),
        {},
        longitudinal=True,
    ),
    Reference("half_longitudinal", lambda: half_longitudinal("x", "m", "y"), {}, longitudinal=True),
    Reference(
        "panel_clpm_mediation",
        lambda: clpm(["employ", "qol"], 3, sep="_", arm="arm"),
        FIML,
        longitudinal=True,
        rtol_se=2e-3,
    ),
    Reference(
        "panel_riclpm_employ_selfest",
        lambda: pm.load_model("employ_selfest_riclpm"),
        FIML,
        longitudinal=True,
        rtol_se=2e-3,
    ),
    Reference(
        "panel_riclpm_employ_support",
        lambda: pm.load_model("employ_support_riclpm"),
        FIML,
        longitudinal=True,
        rtol_se=2e-3,
    ),
    Reference(
        "panel_riclpm_arm_between",
        lambda: riclpm(["selfest", "support"], 3, sep="_", arm="arm", covariates=["age"]),
        FIML,
        longitudinal=True,
        rtol_se=2e-3,
    ),
]


def fit_quietly(spec: pm.Spec, data: pd.DataFrame, **options: Any) -> pm.Result:
    """Fit, keeping expected admissibility warnings (they are tested separately)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PathModelsWarning)
        return pm.fit(spec, data, **options)


def _key(frame: pd.DataFrame, rename: dict[str, str] | None = None) -> pd.DataFrame:
    frame = frame[frame["op"].isin(["=~", "~", "~~", "~1", ":="])].copy()
    frame["rhs"] = frame["rhs"].fillna("").astype(str)
    frame.loc[frame["op"] == ":=", "rhs"] = ""
    if rename:
        frame["lhs"] = frame["lhs"].replace(rename)
    swap = (frame["op"] == "~~") & (frame["lhs"] > frame["rhs"])
    frame.loc[swap, ["lhs", "rhs"]] = frame.loc[swap, ["rhs", "lhs"]].to_numpy()
    return frame


def matched(ours: pd.DataFrame, ref: pd.DataFrame, defined: dict[str, str] | None) -> pd.DataFrame:
    """Our estimates merged with lavaan's on lhs/op/rhs; every lavaan row must match."""
    left = _key(ours)
    right = _key(ref, defined)
    merged = left.merge(
        right, on=["lhs", "op", "rhs"], how="outer", suffixes=("", "_ref"), indicator=True
    )
    unmatched_ref = merged[merged["_merge"] == "right_only"]
    assert unmatched_ref.empty, f"lavaan rows we lack:\n{unmatched_ref[['lhs', 'op', 'rhs']]}"
    # Every parameter of ours is in lavaan's table; only extra := effects may be ours alone.
    extra = merged[(merged["_merge"] == "left_only") & (merged["op"] != ":=")]
    assert extra.empty, f"parameters lavaan does not have:\n{extra[['lhs', 'op', 'rhs']]}"
    return merged[merged["_merge"] == "both"]


def assert_matches(res: pm.Result, case: LavaanCase, ref: Reference) -> None:
    m = matched(res.estimates, case.estimates, ref.defined)
    np.testing.assert_allclose(m["est"], m["est_ref"], rtol=1e-4, atol=2e-5, err_msg="est")
    se = m[m["se_ref"].notna()]
    np.testing.assert_allclose(se["se"], se["se_ref"], rtol=ref.rtol_se, atol=2e-5, err_msg="se")
    std = m[m["std_all_ref"].notna() & m["std_all"].notna()]
    np.testing.assert_allclose(
        std["std_all"], std["std_all_ref"], rtol=1e-3, atol=1e-5, err_msg="std_all"
    )
    for ours, theirs in FIT_KEYS.items():
        value = case.fit.get(theirs)
        if value is None or not np.isfinite(value):
            continue
        np.testing.assert_allclose(
            res.fit_measures[ours], value, rtol=1e-4, atol=1e-5, err_msg=f"fit measure {ours}"
        )


@pytest.fixture(scope="module", params=REFERENCES, ids=[r.case for r in REFERENCES])
def reference_fit(request: pytest.FixtureRequest) -> tuple[pm.Result, LavaanCase, Reference]:
    ref: Reference = request.param
    case = ref.load()
    return fit_quietly(ref.build(), case.data, **ref.fit_options), case, ref


def test_builder_reproduces_lavaan(reference_fit: tuple[pm.Result, LavaanCase, Reference]) -> None:
    res, case, ref = reference_fit
    assert res.converged and case.converged
    assert_matches(res, case, ref)


def test_riclpm_spec_is_built_as_bare_lavaan(
    reference_fit: tuple[pm.Result, LavaanCase, Reference],
) -> None:
    res, case, _ = reference_fit
    assert res.spec.auto is case.call.startswith(("sem(", "cfa("))


def test_comparison_catches_wrong_numbers() -> None:
    """The helper is not vacuous: a perturbed estimate, SE or fit measure fails it."""
    ref = REFERENCES[3]  # riclpm4
    case = ref.load()
    res = fit_quietly(ref.build(), case.data)
    assert_matches(res, case, ref)
    for column, factor in (("est", 1.001), ("se", 1.01)):
        wrong = res.estimates.copy()
        row = wrong.index[(wrong["op"] == "~") & (wrong["lhs"] == "wx3")][0]
        wrong.loc[row, column] *= factor
        with pytest.raises(AssertionError):
            assert_matches(_with(res, estimates=wrong), case, ref)
    measures = dict(res.fit_measures, chisq=res.fit_measures["chisq"] * 1.001)
    with pytest.raises(AssertionError):
        assert_matches(_with(res, fit_measures=measures), case, ref)
    # a parameter lavaan does not have is caught, too
    extra = pd.concat([res.estimates, res.estimates.iloc[[0]].assign(rhs="x9")])
    with pytest.raises(AssertionError, match="lavaan does not have"):
        assert_matches(_with(res, estimates=extra), case, ref)


def _with(res: pm.Result, **changes: Any) -> pm.Result:
    import dataclasses

    return dataclasses.replace(res, **changes)


# ------------------------------------------------------------------ := lagged effects


def _labelled(res: pm.Result) -> dict[str, float]:
    est = res.estimates
    rows = est[(est["label"] != "") & (est["op"] != ":=")]
    return dict(zip(rows["label"], rows["est"], strict=True))


def _defined(res: pm.Result) -> pd.DataFrame:
    est = res.estimates
    return est[est["op"] == ":="].set_index("lhs")


EFFECT_MODELS = {
    "clpm_tri_lag2": lambda: clpm(["x", "m", "y"], 4, constrain=True, lag2=True),
    "riclpm3_trivariate": lambda: riclpm(["x", "m", "y"], 4),
    "panel_clpm_mediation": lambda: clpm(["employ", "qol"], 3, sep="_", arm="arm"),
    "panel_riclpm_employ_support": lambda: riclpm(
        ["employ", "support"], 3, sep="_", arm="arm", arm_predicts="followup"
    ),
    "panel_riclpm_arm_between": lambda: riclpm(
        ["selfest", "support", "employ"], 3, sep="_", arm="arm", arm_predicts=("wave1", "followup")
    ),
}


def _effect_data(name: str) -> pd.DataFrame:
    longitudinal = name != "riclpm3_trivariate"
    return (load_longitudinal(name) if longitudinal else load_case(name)).data


@pytest.fixture(scope="module", params=sorted(EFFECT_MODELS))
def effect_fit(request: pytest.FixtureRequest) -> tuple[pm.Spec, pm.Result]:
    spec = EFFECT_MODELS[request.param]()
    data = _effect_data(request.param)
    missing = "listwise" if request.param == "riclpm3_trivariate" else "fiml"
    pairs = list(spec.meta["effect_pairs"])
    assert pairs, "the builder wrote no lagged effects"
    return spec, fit_quietly(spec, data, missing=missing, effects=pairs)


def test_each_route_is_the_product_of_its_labelled_paths(
    effect_fit: tuple[pm.Spec, pm.Result],
) -> None:
    spec, res = effect_fit
    params = _labelled(res)
    defined = _defined(res)
    checked = 0
    for line in spec.syntax.splitlines():
        if ":=" not in line:
            continue
        name, expression = (part.strip() for part in line.split(":="))
        terms = [t.strip() for t in expression.split("+")]
        value = 0.0
        for term in terms:
            if term in defined.index:
                value += float(defined.loc[term, "est"])
            else:
                value += float(np.prod([params[factor] for factor in term.split("*")]))
        assert defined.loc[name, "est"] == pytest.approx(value, rel=1e-10, abs=1e-12), name
        checked += 1
    assert checked == len(spec.meta["effects"])


def test_each_defined_effect_equals_the_effects_table(
    effect_fit: tuple[pm.Spec, pm.Result],
) -> None:
    """Every := effect equals Result.effects (reduced form): estimate and delta-method SE."""
    spec, res = effect_fit
    defined = _defined(res)
    effects = res.effects
    kinds = set()
    for record in spec.meta["effects"]:
        rows = effects[
            (effects["cause"] == record["cause"]) & (effects["outcome"] == record["outcome"])
        ]
        if record["effect"] == "indirect":
            row = rows[(rows["effect"] == "indirect") & (rows["path"] == record["path"])]
        elif record["effect"] == "mediated":
            continue  # a partial sum: checked against its terms above
        else:
            row = rows[rows["effect"] == record["effect"]]
        assert len(row) == 1, record
        mine = defined.loc[record["name"]]
        assert mine["est"] == pytest.approx(row["est"].iloc[0], rel=1e-8, abs=1e-10)
        assert mine["se"] == pytest.approx(row["se"].iloc[0], rel=1e-4, abs=1e-8)
        kinds.add(record["effect"])
    # the indirect routes add up to the total indirect effect of each pair
    for cause, outcome in spec.meta["effect_pairs"]:
        rows = effects[(effects["cause"] == cause) & (effects["outcome"] == outcome)]
        routes = rows.loc[rows["effect"] == "indirect", "est"].sum()
        total_indirect = rows.loc[rows["effect"] == "total_indirect", "est"].iloc[0]
        assert routes == pytest.approx(total_indirect, rel=1e-10)
    assert "indirect" in kinds


def test_lagged_effects_match_lavaan_defined_parameters() -> None:
    """The := rows lavaan computed from its own hand-written definitions."""
    for name, build in (
        ("clpm_tri_lag2", EFFECT_MODELS["clpm_tri_lag2"]),
        ("panel_clpm_mediation", EFFECT_MODELS["panel_clpm_mediation"]),
    ):
        case = load_longitudinal(name)
        spec = build()
        res = fit_quietly(spec, case.data, missing="fiml" if "panel" in name else "listwise")
        ref = case.estimates[case.estimates["op"] == ":="].set_index("lhs")
        ours = _defined(res)
        assert set(ref.index) == set(ours.index)
        np.testing.assert_allclose(ours.loc[ref.index, "est"], ref["est"], rtol=1e-4, atol=2e-6)
        np.testing.assert_allclose(ours.loc[ref.index, "se"], ref["se"], rtol=2e-3, atol=2e-6)


def test_effect_names_and_sums_for_three_variables() -> None:
    spec = clpm(["x", "m1", "m2", "y"], 3)
    defs = dict(line.split(" := ") for line in spec.syntax.splitlines() if ":=" in line)
    assert defs["ind_x1_m12_y3"] == "cl_m1_x_2*cl_y_m1_3"
    assert defs["mediated_x1_y3"] == "ind_x1_m12_y3 + ind_x1_m22_y3"
    assert defs["total_ind_x1_y3"].count("+") == 3  # four routes through wave 2
    assert "total_x1_y3" not in defs  # no lag-2 path: total = total indirect
    assert spec.meta["effect_pairs"] == (("x1", "y3"),)


def test_pairs_with_too_many_routes_are_left_to_the_effects_table() -> None:
    spec = clpm(["x", "m", "y"], 6, arm="arm")
    assert spec.meta["effect_pairs"] == (("x1", "y3"), ("x2", "y4"), ("x3", "y5"), ("x4", "y6"))
    assert not any(name.startswith(("ind_arm", "total_arm")) for name in spec.defined)
    short = clpm(["x", "m", "y"], 3, arm="arm")
    assert ("arm", "y3") in short.meta["effect_pairs"]


def test_indirect_option() -> None:
    assert not clpm(["x", "y"], 3).defined  # bivariate, no arm: nothing to mediate
    assert not clpm(["x", "m", "y"], 3, indirect=False).defined
    reverse = clpm(["x", "y"], 3, indirect=["y", "x"])
    assert reverse.defined == ("ind_y1_x2_x3", "ind_y1_y2_x3", "total_ind_y1_x3")
    with pytest.raises(SpecificationError, match="did you mean 'y'"):
        clpm(["x", "y"], 3, indirect=["x", "yy"])
    with pytest.raises(SpecificationError, match="two or more distinct"):
        clpm(["x", "y"], 3, indirect=["x"])
    # an arm that predicts only the random intercepts has no within-person routes
    assert not riclpm(["x", "y"], 3, arm="arm", arm_predicts="intercepts").defined


# -------------------------------------------------------------- half-longitudinal


def test_half_longitudinal_indirect_is_a_times_b() -> None:
    case = load_longitudinal("half_longitudinal")
    res = fit_quietly(half_longitudinal("x", "m", "y"), case.data)
    params = _labelled(res)
    defined = _defined(res)
    assert defined.loc["ind", "est"] == pytest.approx(params["a"] * params["b"], rel=1e-12)
    assert defined.loc["total", "est"] == pytest.approx(
        params["cp"] + params["a"] * params["b"], rel=1e-12
    )
    assert res.fit_measures["df"] == 0


def test_half_longitudinal_options() -> None:
    restricted = half_longitudinal(
        "x", "m", "y", waves=("b", "f"), sep="_", full=False, direct=False
    )
    assert "y_f ~ b*m_b + y_b" in restricted.syntax
    assert restricted.defined == ("ind",)
    with_columns = half_longitudinal("x", "m", "y", columns={"m": ["med0", "med1"]})
    assert "m2" not in with_columns.observed and "med1" in with_columns.observed
    covariate = half_longitudinal("x", "m", "y", covariates=["age"])
    assert covariate.syntax.splitlines()[0] == "x1 ~ age"
    case = load_longitudinal("half_longitudinal")
    res = fit_quietly(half_longitudinal("x", "m", "y", full=False), case.data)
    assert res.converged and res.fit_measures["df"] == 3
    with pytest.raises(SpecificationError, match="two wave labels"):
        half_longitudinal("x", "m", "y", waves=(1, 2, 3))
    with pytest.raises(SpecificationError, match="three different"):
        half_longitudinal("x", "x", "y")


# -------------------------------------------------------- RI-CLPM vs CLPM comparison


@pytest.fixture(scope="module")
def riclpm_vs_clpm() -> tuple[pm.Result, pm.Result, LavaanCase]:
    case = load_case("clpm_on_riclpm")
    ri = fit_quietly(riclpm(["x", "y"], 4), case.data)
    cl = fit_quietly(clpm(["x", "y"], 4), case.data, meanstructure=True)
    return ri, cl, case


def test_compare_random_intercepts_naive_part_equals_lavtestlrt(
    riclpm_vs_clpm: tuple[pm.Result, pm.Result, LavaanCase],
) -> None:
    ri, cl, case = riclpm_vs_clpm
    table = compare_random_intercepts(ri, cl)
    assert case.lrt is not None
    ref = case.lrt["table"].rename(index={"riclpm4": "riclpm", "clpm_on_riclpm": "clpm"})
    assert list(table.index) == ["riclpm", "clpm"]
    for ours, theirs in (("df", "Df"), ("aic", "AIC"), ("bic", "BIC"), ("chisq", "Chisq")):
        np.testing.assert_allclose(table[ours], ref.loc[table.index, theirs], rtol=1e-6)
    row, lav = table.loc["clpm"], ref.loc["clpm"]
    assert row["chisq_diff"] == pytest.approx(lav["Chisq diff"], rel=1e-5)
    assert row["df_diff"] == lav["Df diff"] == 3
    assert row["pvalue"] == pytest.approx(lav["Pr(>Chisq)"], rel=1e-3)
    assert row["rmsea"] == pytest.approx(lav["RMSEA"], rel=1e-5)
    assert 0 <= row["pvalue_chibar"] <= row["pvalue"]
    assert row["n_boundary"] == 2
    assert "boundary" in row["note"] and "Stoel" in row["note"]


def _orthant_lrt_draws(vcov: np.ndarray, boundary: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Brute force: the LR statistic of Z ~ N(0, V) against {theta_b >= 0}, per draw.

    Projected gradient descent with Nesterov acceleration, vectorised over draws (an
    algorithm unrelated to the face enumeration of pathmodels.ml.compare), in
    coordinates scaled by the SDs (which keeps the orthant an orthant).
    """
    rng = np.random.default_rng(seed)
    sd = np.sqrt(np.diag(vcov))
    w = np.linalg.inv(vcov / np.outer(sd, sd))
    z = rng.multivariate_normal(np.zeros(len(vcov)), vcov, size=n) / sd
    step = 1.0 / np.linalg.eigvalsh(w).max()
    x = z.copy()
    x[:, boundary] = np.maximum(x[:, boundary], 0.0)
    y, momentum = x.copy(), 1.0
    for _ in range(3000):
        new = y - step * (y - z) @ w
        new[:, boundary] = np.maximum(new[:, boundary], 0.0)
        following = (1.0 + np.sqrt(1.0 + 4.0 * momentum**2)) / 2.0
        y = new + (momentum - 1.0) / following * (new - x)
        x, momentum = new, following
    r = z - x
    return np.einsum("ij,jk,ik->i", z, w, z) - np.einsum("ij,jk,ik->i", r, w, r)


def _orthant_lrt_lbfgs(vcov: np.ndarray, boundary: np.ndarray, z: np.ndarray) -> float:
    w = np.linalg.inv(vcov)
    bounds = [(0, None) if b else (None, None) for b in boundary]
    fit = optimize.minimize(
        lambda t: (z - t) @ w @ (z - t),
        np.zeros(len(z)),
        jac=lambda t: -2 * w @ (z - t),
        bounds=bounds,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    return float(z @ w @ z - fit.fun)


def test_chibar_pvalue_agrees_with_brute_force_simulation() -> None:
    """On the bundled panel (naive p ~ .16) the mixture p equals a direct simulation of
    the boundary-constrained LR statistic, within Monte Carlo error, and lies between
    the chi-square(1) and chi-square(3) tail probabilities."""
    panel = pm.load_dataset("ips_panel")
    ri = fit_quietly(riclpm(["selfest", "support"], 3, sep="_"), panel, missing="fiml")
    cl = fit_quietly(clpm(["selfest", "support"], 3, sep="_"), panel, missing="fiml")
    row = compare_random_intercepts(ri, cl).loc["clpm"]
    stat = row["chisq_diff"]
    assert stats.chi2.sf(stat, 1) < row["pvalue_chibar"] < row["pvalue"]
    assert row["pvalue"] == pytest.approx(stats.chi2.sf(stat, 3), rel=1e-10)
    names = ["RIselfest~~RIselfest", "RIselfest~~RIsupport", "RIsupport~~RIsupport"]
    free = ri.table.to_frame()
    index = [
        int(
            free[
                (free["lhs"] == n.split("~~")[0])
                & (free["rhs"] == n.split("~~")[1])
                & (free["op"] == "~~")
            ]["free"].iloc[0]
        )
        - 1
        for n in names
    ]
    vcov = ri.vcov.to_numpy()[np.ix_(index, index)]
    boundary = np.array([True, False, True])
    n = 20_000
    draws = _orthant_lrt_draws(vcov, boundary, n, seed=7)
    # the vectorised solver agrees with a general optimiser on some draws
    check = np.random.default_rng(7).multivariate_normal(np.zeros(3), vcov, size=n)[:25]
    np.testing.assert_allclose(
        draws[:25], [_orthant_lrt_lbfgs(vcov, boundary, z) for z in check], rtol=1e-5, atol=1e-6
    )
    simulated = float(np.mean(draws >= stat))
    mc_se = np.sqrt(simulated * (1 - simulated) / n)
    assert abs(row["pvalue_chibar"] - simulated) < 4 * mc_se + 0.003


def test_compare_random_intercepts_rejects_wrong_inputs(
    riclpm_vs_clpm: tuple[pm.Result, pm.Result, LavaanCase],
) -> None:
    ri, cl, case = riclpm_vs_clpm
    with pytest.raises(SpecificationError, match="no random intercepts"):
        compare_random_intercepts(cl, ri)
    fewer = fit_quietly(clpm(["x", "y"], 4), case.data.iloc[:700], meanstructure=True)
    with pytest.raises(SpecificationError, match="different numbers of observations"):
        compare_random_intercepts(ri, fewer)
    constrained = fit_quietly(clpm(["x", "y"], 4, constrain=True), case.data, meanstructure=True)
    with pytest.raises(SpecificationError, match="df difference is 11 but the RI-CLPM has 3"):
        compare_random_intercepts(ri, constrained)


# ------------------------------------------------------------------ syntax options


def test_waves_and_columns_both_ways() -> None:
    stems = clpm(["employ", "selfest"], [0, 6, 12], sep="_")
    assert stems.observed == (
        "employ_6",
        "selfest_6",
        "employ_12",
        "selfest_12",
        "employ_0",
        "selfest_0",
    )
    explicit = clpm(
        ["employ", "selfest"],
        [0, 6, 12],
        sep="_",
        columns={"employ": ["emp_b", "emp_6m", "emp_12m"]},
    )
    assert "emp_6m ~ ar_employ_6*emp_b + cl_employ_selfest_6*selfest_0" in explicit.syntax
    mapping = clpm({"employ": ["e1", "e2"], "selfest": ["s1", "s2"]}, 2)
    assert mapping.meta["columns"] == {"employ": ("e1", "e2"), "selfest": ("s1", "s2")}
    ri = riclpm(["employ", "selfest"], ["b", "6m", "12m"], sep="_")
    assert "wemploy6m =~ 1*employ_6m" in ri.syntax
    assert ri.meta["within"]["employ"] == ("wemployb", "wemploy6m", "wemploy12m")


def test_constrain_classes_write_shared_labels() -> None:
    spec = clpm(
        ["x", "y"], 3, constrain={"residual_covariances", "residual_variances", "intercepts"}
    )
    lines = spec.syntax.splitlines()
    assert "x1 ~~ y1" in lines  # wave 1 is not a residual covariance
    assert {"x2 ~~ rc_x_y*y2", "x3 ~~ rc_x_y*y3", "x3 ~~ rv_x*x3", "y2 ~ int_y*1"} <= set(lines)
    assert "ar_x_2" in spec.labels  # lagged paths stay free
    ri = riclpm(["x", "y"], 3, constrain=["means", "residual_variances"])
    assert {"x1 ~ mean_x*1", "x3 ~ mean_x*1", "wy3 ~~ rv_y*wy3", "wy1 ~~ wy1"} <= set(
        ri.syntax.splitlines()
    )
    one_path = clpm(["x", "y"], 3, constrain=[("x", "y")])
    assert "cl_y_x" in one_path.labels and "cl_x_y_2" in one_path.labels


def test_lag2_and_within_covariances() -> None:
    spec = clpm(["x", "y"], 3, lag2="autoregressive", within_covariances=False)
    assert "x3 ~ ar_x_3*x2 + cl_x_y_3*y2 + ar2_x_3*x1" in spec.syntax
    assert "cl2" not in spec.syntax
    assert {"x1 ~~ 0*y1", "x3 ~~ 0*y3"} <= set(spec.syntax.splitlines())
    ri = riclpm(["x", "y"], 4, lag2=True)
    assert "wy4 ~ cl_y_x_4*wx3 + ar_y_4*wy3 + cl2_y_x_4*wx2 + ar2_y_4*wy2" in ri.syntax


def test_arm_and_covariates() -> None:
    spec = clpm(["x", "y"], 2, arm="arm", covariates=["age"])
    assert spec.syntax.splitlines()[:2] == ["x1 ~ arm_x1*arm + age", "y1 ~ arm_y1*arm + age"]
    assert "y2 ~ cl_y_x_2*x1 + ar_y_2*y1 + arm_y2*arm + age" in spec.syntax
    ri = riclpm(
        ["x", "y"], 3, arm="arm", arm_predicts=["intercepts", "followup"], covariates=["age"]
    )
    regressions = [line for line in ri.syntax.splitlines() if " ~ " in line and "~ 1" not in line]
    assert regressions[:2] == ["RIx ~ arm_RIx*arm + age", "RIy ~ arm_RIy*arm + age"]
    assert "wx2 ~ ar_x_2*wx1 + cl_x_y_2*wy1 + arm_wx2*arm + age" in regressions
    assert not any(line.startswith("wx1 ~ ") for line in regressions)


def test_riclpm_table_matches_hamaker_syntax() -> None:
    """The builder's table equals that of the published syntax (fixture riclpm4)."""
    case = load_case("riclpm4")
    ours = riclpm(["x", "y"], 4).table(meanstructure=True).to_frame()
    theirs = pm.Spec.from_syntax(case.syntax, auto=False).table(meanstructure=True).to_frame()

    def rows(frame: pd.DataFrame) -> set[tuple[str, str, str, bool, float]]:
        out = set()
        for lhs, op, rhs, free, value in zip(
            frame["lhs"], frame["op"], frame["rhs"], frame["free"], frame["value"], strict=True
        ):
            if op == ":=":
                continue
            if op == "~~":
                lhs, rhs = sorted((lhs, rhs))
            fixed = 0.0 if free > 0 else round(float(value), 12)
            out.add((lhs, op, rhs, bool(free > 0), fixed))
        return out

    assert rows(ours) == rows(theirs)


# --------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pm.load_dataset("ips_panel")


def test_missing_wave_columns_list_close_matches(panel: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"'selfest_4'.*did you mean") as error:
        clpm(["employ", "selfest"], 4, sep="_", data=panel)
    assert "employ_4" in str(error.value)
    with pytest.raises(DataError, match="did you mean 'arm'"):
        riclpm(["employ", "selfest"], 3, sep="_", arm="amr", data=panel)


def test_inconsistent_suffixes_are_named(panel: pd.DataFrame) -> None:
    odd = panel.rename(columns={f"selfest_{t}": f"selfest{t}" for t in (1, 2, 3)})
    with pytest.raises(DataError, match=r"selfest1, selfest2, selfest3.*columns=") as error:
        riclpm(["employ", "selfest"], 3, sep="_", data=odd)
    assert "suffixes do not follow sep='_'" in str(error.value)
    fixed = riclpm(
        ["employ", "selfest"],
        3,
        sep="_",
        data=odd,
        columns={"selfest": ["selfest1", "selfest2", "selfest3"]},
    )
    assert "selfest2" in fixed.observed
    with pytest.raises(SpecificationError, match="inconsistent waves"):
        clpm(["employ", "selfest"], 3, columns={"selfest": ["s1", "s2"]})


def test_too_few_waves_or_variables() -> None:
    with pytest.raises(SpecificationError, match="at least 3 waves.*not identified.*clpm"):
        riclpm(["x", "y"], 2)
    with pytest.raises(SpecificationError, match="at least 2 waves"):
        clpm(["x", "y"], 1)
    with pytest.raises(SpecificationError, match="at least 2 variables"):
        clpm(["x"], 3)
    with pytest.raises(SpecificationError, match="lag2= needs at least 3 waves"):
        clpm(["x", "y"], 2, lag2=True)


def test_unknown_options_say_what_is_valid() -> None:
    with pytest.raises(SpecificationError, match="did you mean 'autoregressive'"):
        clpm(["x", "y"], 3, constrain={"autoregresive"})
    with pytest.raises(SpecificationError, match="did you mean 'intercepts'"):
        clpm(["x", "y"], 3, constrain="intercept")
    with pytest.raises(SpecificationError, match="unknown option 'means'.*intercepts"):
        clpm(["x", "y"], 3, constrain="means")  # a CLPM has intercepts, not grand means
    with pytest.raises(SpecificationError, match="did you mean 'means'"):
        riclpm(["x", "y"], 3, constrain="mean")
    with pytest.raises(SpecificationError, match="lagged path.*did you mean 'y'"):
        clpm(["x", "y"], 3, constrain=[("x", "yy")])
    with pytest.raises(SpecificationError, match="did you mean 'cross_lagged'"):
        clpm(["x", "y"], 3, lag2=["cross-lagged"])
    with pytest.raises(SpecificationError, match="did you mean 'followup'"):
        riclpm(["x", "y"], 3, arm="arm", arm_predicts="follow-up")


def test_name_clashes() -> None:
    with pytest.raises(SpecificationError, match="generated name"):
        riclpm({"x": ["wy1", "x2", "x3"], "y": ["y1", "y2", "y3"]}, 3)
    with pytest.raises(SpecificationError, match="also a wave column"):
        clpm(["x", "y"], 3, covariates=["x1"])
    with pytest.raises(SpecificationError, match="both arm= and covariates="):
        clpm(["x", "y"], 3, arm="arm", covariates=["arm"])
    with pytest.raises(SpecificationError, match="not a valid variable name"):
        clpm(["x-1", "y"], 3)
    with pytest.raises(SpecificationError, match="letters and digits"):
        clpm(["x", "y"], ["t 1", "t2"])
    with pytest.raises(SpecificationError, match="more than one"):
        clpm({"x": ["a", "b"], "y": ["a", "c"]}, 2)


# ------------------------------------------------------------------- model library

LONGITUDINAL_MODELS = [
    "employ_selfest_riclpm",
    "employ_support_riclpm",
    "ips_employ_qol_longitudinal",
]


@pytest.mark.parametrize("name", LONGITUDINAL_MODELS)
def test_library_model_loads_and_fits_the_panel(name: str, panel: pd.DataFrame) -> None:
    entry = model_entry(name)
    assert entry.builder is not None and entry.builder["name"] in ("clpm", "riclpm")
    assert "doi:10.1016/j.cpr.2020.101815" in entry.citation
    assert "assumption" in entry.population.assumptions.lower()
    assert "55-60%" in entry.population.source
    spec = pm.load_model(name)
    assert spec.name == name and spec.meta["chain"] == entry.chain
    assert spec.auto is (entry.builder["name"] == "clpm")
    assert set(spec.observed) == set(entry.variables) <= set(panel.columns)
    pop = pm.Spec.from_syntax(entry.population.syntax, auto=spec.auto)
    user = pop.to_frame()
    user = user[(user["user"] == 1) & user["op"].isin(["~", "~~"])]
    assert (user["free"] == 0).all(), "every population path needs a number"
    res = fit_quietly(spec, panel, missing="fiml")
    assert res.converged
    assert res.fit_measures["df"] > 0


def test_library_riclpm_on_the_panel_is_flagged_inadmissible(panel: pd.DataFrame) -> None:
    """The panel was simulated without stable between-person differences in self-esteem:
    the random-intercept variances come out negative, and the fit says so."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = pm.fit(pm.load_model("employ_selfest_riclpm"), panel, missing="fiml")
    messages = [str(w.message) for w in caught if issubclass(w.category, PathModelsWarning)]
    assert any("negative latent variance RIselfest" in m for m in messages)
    assert any("RIemploy" in w for w in res.warnings)
    assert res.converged


@pytest.mark.parametrize("name", LONGITUDINAL_MODELS)
def test_library_thresholds_give_the_cited_rates(name: str) -> None:
    """Wave-3 employment rates of the population: 25% control, 55% IPS (cited)."""
    entry = model_entry(name)
    (tau,) = entry.population.thresholds["employ_3"]
    if entry.builder is not None and entry.builder["name"] == "riclpm":
        sd, shift = _riclpm_employ_sd_and_shift(entry.population.syntax)
        assert stats.norm.sf(tau / sd) == pytest.approx(0.25, abs=0.002)
        assert stats.norm.sf((tau - shift) / sd) == pytest.approx(0.55, abs=0.002)


def _riclpm_employ_sd_and_shift(syntax: str) -> tuple[float, float]:
    """Model-implied SD of RIemploy + wemploy3 and the arm's shift of it (wave 3)."""
    number = r"([0-9.]+)"

    def value(pattern: str) -> float:
        found = re.search(pattern, syntax)
        assert found is not None, pattern
        return float(found.group(1))

    other = re.search(r"RIemploy ~~ [0-9.]+\*RI(?!employ)(\w+)", syntax)
    assert other is not None
    o = other.group(1)
    b = np.array(
        [
            [
                value(rf"wemploy2 ~ {number}\*wemploy1"),
                value(rf"wemploy2 ~ [0-9.]+\*wemploy1 \+ {number}\*w{o}1"),
            ],
            [
                value(rf"w{o}2 ~ {number}\*wemploy1"),
                value(rf"w{o}2 ~ [0-9.]+\*wemploy1 \+ {number}\*w{o}1"),
            ],
        ]
    )
    w1 = np.array(
        [
            [value(rf"wemploy1 ~~ {number}\*wemploy1"), value(rf"wemploy1 ~~ {number}\*w{o}1")],
            [value(rf"wemploy1 ~~ {number}\*w{o}1"), value(rf"w{o}1 ~~ {number}\*w{o}1")],
        ]
    )
    psi = np.array(
        [
            [value(rf"wemploy2 ~~ {number}\*wemploy2"), value(rf"wemploy2 ~~ {number}\*w{o}2")],
            [value(rf"wemploy2 ~~ {number}\*w{o}2"), value(rf"w{o}2 ~~ {number}\*w{o}2")],
        ]
    )
    var = b @ (b @ w1 @ b.T + psi) @ b.T + psi
    sd = float(np.sqrt(value(rf"RIemploy ~~ {number}\*RIemploy") + var[0, 0]))
    arm2 = value(rf"wemploy2 ~ .*\+ {number}\*arm")
    arm3 = value(rf"wemploy3 ~ .*\+ {number}\*arm")
    return sd, arm3 + b[0, 0] * arm2


def _yaml(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    raw = yaml.safe_load((MODELS_DIR / "employ_selfest_riclpm.yaml").read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "employ_selfest_riclpm.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_builder_block_with_matching_syntax_loads(tmp_path: Path) -> None:
    syntax = riclpm(["employ", "selfest"], 3, sep="_", arm="arm", arm_predicts="followup").syntax
    path = _yaml(tmp_path, lambda raw: raw.update(syntax=syntax))
    assert pm.load_model(path).to_syntax() == pm.load_model("employ_selfest_riclpm").to_syntax()


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda raw: raw["riclpm"].update(wave=3), "riclpm.wave' is not an argument.*'waves'"),
        (lambda raw: raw["riclpm"].pop("waves"), "lacks waves"),
        (lambda raw: raw["riclpm"].update(waves=2), "does not build.*at least 3 waves"),
        (lambda raw: raw.update(syntax="employ_2 ~ employ_1\n"), "differs from what"),
        (lambda raw: raw.update(clpm={"variables": ["employ"], "waves": 3}), "one builder block"),
        (lambda raw: raw["variables"].pop("selfest_2"), "undeclared variable.*selfest_2"),
        (lambda raw: raw.update(riclpm=[1]), "must map the builder's arguments"),
    ],
)
def test_builder_block_errors(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], problem: str
) -> None:
    path = _yaml(tmp_path, edit)
    with pytest.raises(SpecificationError, match=problem):
        model_entry(path)
