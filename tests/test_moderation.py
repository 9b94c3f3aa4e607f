"""Conditional effects and the index of moderated mediation, against lavaan's := rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.exceptions import SpecificationError
from tests.ml.test_lavaan_reference import fit_case
from tests.reference.lavaan_cases import load_case

CASE = load_case("moderated_mediation")
PROBES = {"ind_lo": CASE.options["w_lo"], "ind_mid": CASE.options["w_mid"],
          "ind_hi": CASE.options["w_hi"]}


def _lavaan_defined() -> pd.DataFrame:
    est = CASE.estimates
    return est[est["op"] == ":="].set_index("lhs")


def test_conditional_indirect_equals_lavaan_defined_parameters() -> None:
    res = fit_case(CASE)
    tab = res.conditional_effects("w", PROBES, products={"xw": ("x", "w")})
    ind = tab[(tab["effect"] == "indirect")].set_index("at")
    ref = _lavaan_defined()
    for name in PROBES:
        np.testing.assert_allclose(ind.loc[name, "est"], ref.loc[name, "est"], rtol=1e-5)
        np.testing.assert_allclose(ind.loc[name, "se"], ref.loc[name, "se"], rtol=1e-3)
        np.testing.assert_allclose(ind.loc[name, "ci_lower"], ref.loc[name, "ci_lower"], rtol=1e-3)
    index = tab[tab["effect"] == "index"].iloc[0]
    np.testing.assert_allclose(index["est"], ref.loc["index", "est"], rtol=1e-5)
    np.testing.assert_allclose(index["se"], ref.loc["index", "se"], rtol=1e-3)


def test_conditional_direct_effect_is_unmoderated_here() -> None:
    res = fit_case(CASE)
    tab = res.conditional_effects("w", PROBES, products={"xw": ("x", "w")})
    direct = tab[tab["effect"] == "direct"]["est"].to_numpy()
    np.testing.assert_allclose(direct, res.params["cp"], rtol=1e-12)


def test_bootstrap_conditional_intervals_match_lavaan() -> None:
    res = fit_case(CASE, se="bootstrap", n_boot=2000, seed=3)
    tab = res.conditional_effects("w", PROBES, products={"xw": ("x", "w")})
    ind = tab[tab["effect"] == "indirect"].set_index("at")
    assert CASE.boot is not None
    ref = CASE.boot["perc"]
    ref = ref[ref["op"] == ":="].set_index("lhs")
    for name in PROBES:
        scale = ref.loc[name, "se"]
        assert abs(ind.loc[name, "ci_lower"] - ref.loc[name, "ci_lower"]) < 0.35 * scale
        assert abs(ind.loc[name, "ci_upper"] - ref.loc[name, "ci_upper"]) < 0.35 * scale


def test_default_probe_values_and_colon_syntax() -> None:
    data = CASE.data.drop(columns=["xw"])
    res = pm.fit("m ~ x + w + x:w\ny ~ m + x + w", data)
    tab = res.conditional_effects("w")
    assert list(dict.fromkeys(tab["at"])) == ["mean-1sd", "mean", "mean+1sd", "p16", "p50",
                                               "p84", "index"]
    w = data["w"]
    mean_row = tab[(tab["at"] == "mean") & (tab["effect"] == "indirect")].iloc[0]
    expected = (res.params["m~x"] + res.params["m~x:w"] * w.mean()) * res.params["y~m"]
    np.testing.assert_allclose(mean_row["est"], expected, rtol=1e-10)
    np.testing.assert_allclose(tab[tab["at"] == "mean+1sd"]["value"].iloc[0],
                               w.mean() + w.std(ddof=1), rtol=1e-12)


def test_moderator_errors() -> None:
    res = fit_case(CASE)
    with pytest.raises(SpecificationError, match="no product term"):
        res.conditional_effects("x")
    with pytest.raises(SpecificationError, match="not an observed variable"):
        res.conditional_effects("ww", products={"xw": ("x", "ww")}, values=None)


def test_bca_conditional_intervals_use_the_jackknife() -> None:
    res = fit_case(CASE, se="bootstrap", n_boot=500, ci="bca", seed=3)
    assert res.boot is not None and res.boot.jackknife is not None
    tab = res.conditional_effects("w", PROBES, products={"xw": ("x", "w")})
    perc = fit_case(CASE, se="bootstrap", n_boot=500, ci="percentile", seed=3)
    tab_p = perc.conditional_effects("w", PROBES, products={"xw": ("x", "w")})
    # Same draws, different interval rule: BCa bounds differ from percentile ones.
    assert not np.allclose(tab["ci_lower"], tab_p["ci_lower"])
    index = tab[tab["effect"] == "index"].iloc[0]
    ref = res.estimates.set_index("lhs").loc["index"]
    np.testing.assert_allclose(index["ci_lower"], ref["ci_lower"], rtol=1e-10)
