"""Bad input raises a typed pathmodels error that names the culprit and the fix.

One test per kind of mistake a user makes (issue 3, item 9): syntax errors, unknown or
misspelled names, unusable columns, too little data, unidentified models, NaN/inf and
duplicate columns. Each asserts the exception *type* and that the message says what is
wrong, where, and how to fix it. The "edge models" and "units" sections began as strict
xfails pinning engine gaps and now hold the fixed behaviour; ``tests/test_properties.py``
fuzzes the same surface with hypothesis.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.exceptions import (
    DataError,
    ModelSyntaxError,
    PathModelsWarning,
    SpecificationError,
)
from pathmodels.ml.data import MissingDataWarning

MEDIATION = "m ~ a*x\ny ~ b*m + c*x\nind := a*b"


def _frame(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    m = 0.5 * x + rng.normal(size=n)
    y = 0.4 * m + 0.2 * x + rng.normal(size=n)
    z = rng.normal(size=n)
    return pd.DataFrame({"x": x, "m": m, "y": y, "z": z})


@pytest.fixture
def data() -> pd.DataFrame:
    return _frame()


# --------------------------------------------------------------------------- syntax errors

SYNTAX_CASES = [
    # text, line, column, what the message must say
    ("m ~ x\ny ~ b*", 2, 7, "expected a variable after '*'"),
    ("y ~ x x", 1, 7, "expected '+' between terms, found 'x'"),
    ("y = x", 1, 1, "no operator found; each line needs one of =~"),
    ("y ~ x @ m", 1, 7, "unexpected character '@'"),
    ("y ~ x\n  z", 2, 3, "no operator found"),
    ("y ~ x ~ m", 1, 7, "a second operator '~' in one formula"),
    ("y ~ 0.5", 1, 5, "put a fixed value before '*', e.g. 0.5*x"),
    ("~ x", 1, 1, "expected a variable name before '~'"),
    ("m ~ x\ny ~~", 2, 5, "expected something after '~~'"),
    ("y ~ x +\n    m +\n    ", 2, 8, "expected a term after '+'"),
    ("f <~ x1 + x2", 1, 3, "formative indicators (<~) are not supported"),
    ("y ~ foo(1)*x", 1, 5, "unknown modifier function foo(); use c(), start()"),
    ("y ~ x + 1", 1, 3, "write intercepts on their own line"),
    ("y ~ c(a, 1)*x", 1, 5, "c() mixes labels and fixed values"),
    ("m ~ x\ny <- m", 2, 3, "'<-' is not lavaan syntax; write a regression as 'y ~ x'"),
    ("y ~ a*x\nind := a*", 2, 10, "after '*', found the end of the expression"),
    ("y ~ a*x\nind := exp(a", 2, 13, "missing ')'"),
    ("y ~ a*x\nind := foo(a)", 2, 8, "unknown function 'foo'; allowed functions: abs"),
]


@pytest.mark.parametrize(("text", "line", "column", "says"), SYNTAX_CASES)
def test_syntax_error_points_at_the_token(text: str, line: int, column: int, says: str) -> None:
    with pytest.raises(ModelSyntaxError) as info:
        pm.Spec.from_syntax(text)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert says in str(err)
    # line, column and a caret under the offending character of the source line
    source = text.split("\n")[line - 1]
    assert str(err).startswith(f"line {line}, column {column}: ")
    assert f"\n  {source}\n  " + " " * (column - 1) + "^" in str(err)


def test_syntax_error_message_matches_style_guide_layout() -> None:
    with pytest.raises(ModelSyntaxError) as info:
        pm.Spec.from_syntax("m ~ a*x\nz ~ m\ny ~ b*")
    assert str(info.value) == (
        "line 3, column 7: expected a variable after '*'\n"
        "  y ~ b*\n"
        "        ^"
    )


@pytest.mark.parametrize("text", ["", "   \n\t", "# only a comment\n! and another"])
def test_empty_syntax(text: str) -> None:
    with pytest.raises(ModelSyntaxError,
                       match=r"empty; write at least one formula, e\.g\. 'y ~ x'"):
        pm.Spec.from_syntax(text)


def test_syntax_must_be_text() -> None:
    with pytest.raises(ModelSyntaxError, match="must be a string, got int"):
        pm.Spec.from_syntax(3)  # type: ignore[arg-type]


def test_syntax_errors_also_come_out_of_fit(data: pd.DataFrame) -> None:
    with pytest.raises(ModelSyntaxError, match=r"line 1, column 7: expected '\+' between"):
        pm.fit("y ~ x m", data)


def test_syntax_error_is_a_value_error_too() -> None:
    # callers that catch ValueError keep working
    with pytest.raises(ValueError):
        pm.Spec.from_syntax("y ~ x x")


# --------------------------------------------------------------------------- specification


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("y ~ x\ny ~ x", r"line 2: y ~ x is specified twice; remove one"),
        ("y ~ y", r"'y' cannot be regressed on itself"),
        ("f =~ f + x1", r"latent variable 'f' cannot be its own indicator"),
        ("y ~ x*m", None),  # a label that is not a variable of the model is fine
        ("y ~ m*x + m", r"label\(s\) m are also variable names; rename the label\(s\), e\.g\. b_m"),
        ("y ~ a*x + 0.5*m\nz ~ a*m + a*0.3*x",
         r"label 'a' is used for a fixed and a free parameter"),
        ("y ~ a*x\ny := a", r"defined parameter 'y' has the name of a variable; choose another"),
        ("y ~ a*x\na := 2*a", r"'a' is already a label; a defined parameter needs a new name"),
        ("y ~ a*x\nind := a*bb", r"'ind' uses 'bb', which is not a parameter label; label the path "
         r"first .*valid names: a"),
        ("y ~ ab*x\nind := 2*abb", r"uses 'abb'.*did you mean 'ab'"),
        ("y ~ a*x\na == bb", r"'a == bb' uses 'bb'"),
        ("ind := a*b", r"only defined parameters or constraints; add at least one formula"),
        ("f =~ g\ng =~ f", r"no observed variables.*give each latent variable observed indicators"),
        ("f =~ g\ng =~ f\ny ~ x", r"latent variable 'f' has no observed indicators.*f, g only "
         r"measure each other"),
    ],
)
def test_inconsistent_specification(text: str, pattern: str | None) -> None:
    if pattern is None:
        pm.Spec.from_syntax(text)
        return
    with pytest.raises(SpecificationError, match=pattern):
        pm.Spec.from_syntax(text)


def test_group_modifier_count_must_match_groups(data: pd.DataFrame) -> None:
    with pytest.raises(SpecificationError, match=r"c\(\) gives 2 labels but the model has 1 "
                       r"group\(s\); give one per group"):
        pm.fit("y ~ c(b1, b2)*x", data)
    two = data.assign(g=np.arange(len(data)) % 2)
    with pytest.raises(SpecificationError, match=r"c\(\) gives 3 labels but the model has 2"):
        pm.fit("y ~ c(b1, b2, b3)*x", two, group="g")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"missing": "fmil"}, r"missing='fmil' is not an option; did you mean 'fiml'"),
        ({"se": "bootstrapped"}, r"se='bootstrapped' is not an option; did you mean 'bootstrap'"),
        ({"ci": "bcaa"}, r"ci='bcaa' is not an option; did you mean 'bca'"),
        ({"level": 95}, r"level=95 must lie between 0 and 1, e\.g\. 0\.95"),
        ({"estimator": "WLSMV"}, r"estimator='WLSMV' is not available"),
        ({"effects": [("xx", "y")]}, r"effects: 'xx' is not a model variable; did you mean 'x'"),
    ],
)
def test_misspelled_options(data: pd.DataFrame, kwargs: dict[str, object], pattern: str) -> None:
    with pytest.raises(SpecificationError, match=pattern):
        pm.fit(MEDIATION, data, **kwargs)  # type: ignore[arg-type]


def test_misspelled_group_equal(data: pd.DataFrame) -> None:
    two = data.assign(g=np.arange(len(data)) % 2)
    with pytest.raises(SpecificationError, match=r"unknown group_equal class 'regresions'; "
                       r"did you mean 'regressions'"):
        pm.fit("y ~ x", two, group="g", group_equal=["regresions"])


def test_misspelled_library_model(data: pd.DataFrame) -> None:
    with pytest.raises(SpecificationError, match=r"unknown library model 'ips_employment_qoll'"
                       r".*did you mean 'ips_employment_qol'"):
        pm.fit("ips_employment_qoll", data)


def test_model_of_the_wrong_type(data: pd.DataFrame) -> None:
    with pytest.raises(SpecificationError, match="model must be a Spec, lavaan syntax, a file "
                       "path or a library name, got int"):
        pm.fit(3, data)  # type: ignore[arg-type]


def test_unknown_backend_lists_registered_ones(data: pd.DataFrame) -> None:
    with pytest.raises(pm.BackendUnavailableError, match=r"unknown backend 'semopi'.*"
                       r"did you mean 'semopy'"):
        pm.fit(MEDIATION, data, backend="semopi")


# --------------------------------------------------------------------------- variables


def test_misspelled_variable_gets_close_matches() -> None:
    trial = pm.load_dataset("ips_trial")
    with pytest.raises(DataError) as info:
        pm.fit("employ ~ arm\nselfesteem ~ employ + arm", trial)
    msg = str(info.value)
    assert "variable 'selfesteem' of the model is not a column of the data" in msg
    assert "did you mean 'selfest'?" in msg
    assert re.search(r"Valid names: age, arm, employ, id, qol, selfest, site, support$", msg)


def test_unknown_variable_without_a_close_match_lists_the_columns(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"variable 'wellbeing' of the model is not a column of "
                       r"the data; valid names: m, x, y, z$"):
        pm.fit("wellbeing ~ x", data)


def test_unknown_variable_in_an_interaction(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"variable 'w' of the model is not a column"):
        pm.fit("y ~ x + x:w", data)


def test_latent_name_that_is_a_column(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"'x' is a latent variable in the model \(defined with "
                       r"=~\) but also a column of the data; rename the latent variable"):
        pm.fit("x =~ m + y + z", data)


# --------------------------------------------------------------------------- columns


@pytest.mark.parametrize(
    ("column", "pattern"),
    [
        (["a", "b"] * 100, r"column 'c' is not numeric \(values like 'a', 'b'\); recode it as "
         r"numbers \(e\.g\. 0/1 for a two-level factor\)"),
        (pd.Categorical(["lo", "hi"] * 100), r"column 'c' is not numeric \(values like 'lo', "
         r"'hi'\)"),
        ([str(v) for v in np.arange(200) / 7], r"column 'c' is not numeric \(values like '0\.0'"),
        (pd.date_range("2020-01-01", periods=200), r"column 'c' is not numeric"),
        (np.arange(200) + 1j, r"column 'c' holds complex numbers; .*keep the real part"),
    ],
    ids=["strings", "categorical", "numbers-as-text", "dates", "complex"],
)
def test_non_numeric_column(data: pd.DataFrame, column: object, pattern: str) -> None:
    with pytest.raises(DataError, match=pattern):
        pm.fit("y ~ x + c", data.assign(c=column))


def test_boolean_column_is_numeric(data: pd.DataFrame) -> None:
    res = pm.fit("y ~ x + c", data.assign(c=data["z"] > 0))
    assert res.converged


def test_non_numeric_column_not_in_the_model_is_ignored(data: pd.DataFrame) -> None:
    res = pm.fit(MEDIATION, data.assign(site=["a", "b"] * 100))
    assert res.converged


@pytest.mark.parametrize("value", [1.0, 0.0, -3.5, 1e9])
def test_constant_column(data: pd.DataFrame, value: float) -> None:
    with pytest.raises(DataError, match=re.escape(
            f"column 'c' is constant (every value is {value:g}); a constant cannot be "
            "modelled — drop it from the model")):
        pm.fit("y ~ x + c", data.assign(c=value))


def test_constant_within_a_group(data: pd.DataFrame) -> None:
    g = np.arange(len(data)) % 2
    c = np.where(g == 0, 1.0, data["z"])
    with pytest.raises(DataError, match=r"column 'c' is constant in group 0 \(every value is 1\)"):
        pm.fit("y ~ x + c", data.assign(c=c, g=g), group="g")


def test_column_that_varies_too_little_to_fit(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"column 'c' varies too little to be modelled .*rescale "
                       r"it"):
        pm.fit("y ~ x + c", data.assign(c=data["z"] * 1e-200))


def test_values_too_large_for_double_precision(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"column 'c' has values as large as .*e\+200.*rescale it"):
        pm.fit("y ~ x + c", data.assign(c=data["z"] * 1e200))


def test_variances_too_far_apart(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"the variance of 'c' .* times that of 'x'.*rescale the "
                       r"variables .*within a factor of about 1000"):
        pm.fit("y ~ x + c", data.assign(c=data["z"] * 1e8))


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (lambda d: 2.0 * d["x"], {"c", "x"}),
        (lambda d: d["x"] - 3.0 * d["m"] + 1.0, {"c", "m", "x"}),
    ],
    ids=["copy", "linear-combination"],
)
def test_perfectly_collinear_predictors(data: pd.DataFrame, make: object,
                                        names: set[str]) -> None:
    frame = data.assign(c=make(data))  # type: ignore[operator]
    formula = "y ~ " + " + ".join(sorted(names))
    with pytest.raises(DataError) as info:
        pm.fit(formula, frame)
    msg = str(info.value)
    listed = re.search(r"variables (.*) are perfectly collinear", msg)
    assert listed is not None, msg
    assert set(listed.group(1).split(", ")) == names
    assert "sample covariance matrix is singular; drop one of them" in msg


@pytest.mark.parametrize(
    "column",
    [np.full(200, np.nan), [None] * 200, pd.array([None] * 200, dtype="Float64")],
    ids=["nan", "none-object", "nullable"],
)
def test_all_missing_column(data: pd.DataFrame, column: object) -> None:
    for missing in ("listwise", "fiml"):
        with pytest.raises(DataError, match=r"column 'c' is entirely missing; drop it from the "
                           r"model or supply its values"):
            pm.fit("y ~ x + c", data.assign(c=column), missing=missing)


def test_fiml_variables_never_observed_together(data: pd.DataFrame) -> None:
    frame = data.copy()
    frame.loc[:99, "m"] = np.nan
    frame.loc[100:, "y"] = np.nan
    with pytest.raises(DataError, match=r"variables 'm' and 'y' are never observed together "
                       r"\(no row has both\).*FIML needs some rows where both are observed"):
        pm.fit("m ~ x\ny ~ m", frame, missing="fiml")


def test_fiml_variable_with_one_observed_value(data: pd.DataFrame) -> None:
    frame = data.copy()
    frame.loc[1:, "y"] = np.nan
    with pytest.raises(DataError, match=r"column 'y' has 1 observed value\(s\); at least 2 are "
                       r"needed to estimate its variance"):
        pm.fit("m ~ x\ny ~ m", frame, missing="fiml")


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_values(data: pd.DataFrame, value: float) -> None:
    frame = data.copy()
    frame.loc[[3, 7], "m"] = value
    with pytest.raises(DataError, match=r"column 'm' contains infinite values in rows \[3, 7\]; "
                       r"replace or drop them"):
        pm.fit(MEDIATION, frame)


def test_nan_rows_are_dropped_with_a_warning_not_silently(data: pd.DataFrame) -> None:
    frame = data.copy()
    frame.loc[[0, 5, 9], "y"] = np.nan
    with pytest.warns(MissingDataWarning, match=r"listwise deletion dropped 3 of 200 rows with "
                      r"missing values; use missing='fiml' to keep them") as record:
        res = pm.fit(MEDIATION, frame)
    assert record[0].filename == __file__  # points at the user's call
    assert res.fit_measures["n"] == 197
    assert res.info["n_dropped"] == 3


def test_nan_with_fiml_keeps_rows(data: pd.DataFrame) -> None:
    frame = data.copy()
    frame.loc[[0, 5, 9], "y"] = np.nan
    res = pm.fit(MEDIATION, frame, missing="fiml")
    assert res.fit_measures["n"] == 200


@pytest.mark.parametrize("extra", ["x", "z"], ids=["used", "unused"])
def test_duplicate_column_names(data: pd.DataFrame, extra: str) -> None:
    frame = pd.concat([data, data[[extra]]], axis=1)
    with pytest.raises(DataError, match=rf"duplicate column name\(s\) {extra}; rename them so "
                       r"each variable appears once"):
        pm.fit(MEDIATION, frame)


def test_data_of_the_wrong_type() -> None:
    with pytest.raises(DataError, match=r"data must be a pandas DataFrame \(or a dict of "
                       r"columns\), got list; read a CSV with pandas\.read_csv\(path\)"):
        pm.fit(MEDIATION, [[1, 2, 3]])


def test_empty_data(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="data has no rows"):
        pm.fit(MEDIATION, data.iloc[:0])


# --------------------------------------------------------------------------- too little data


def test_n_smaller_than_free_parameters(data: pd.DataFrame) -> None:
    # 5 free parameters: a, b, c and two residual variances (x is fixed.x)
    npar = pm.Spec.from_syntax(MEDIATION).table().npar
    with pytest.raises(DataError, match=rf"N = 4 rows is smaller than the {npar} free "
                       r"parameters; collect more data or simplify the model"):
        pm.fit(MEDIATION, data.iloc[:4])


def test_n_smaller_than_free_parameters_after_listwise_deletion(data: pd.DataFrame) -> None:
    frame = data.iloc[:10].copy()
    frame.loc[frame.index[:7], "y"] = np.nan
    with pytest.warns(MissingDataWarning), pytest.raises(DataError, match=r"N = 3 rows is "
                                                         r"smaller than the 5 free parameters"):
        pm.fit(MEDIATION, frame)


def test_fewer_rows_than_variables(data: pd.DataFrame) -> None:
    # 5 free parameters, 5 rows, 5 observed variables: N >= npar but the sample
    # covariance matrix of 5 variables from 5 rows is singular.
    frame = data.assign(w=data["z"] ** 2).iloc[:5]
    with pytest.raises(DataError, match=r"only 5 usable rows for 5 observed variables, so the "
                       r"sample covariance matrix is singular; at least 6 rows are needed"):
        pm.fit("y ~ x + m + z + w", frame)


def test_single_row(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"only 1 usable row\(s\); at least 2 are needed"):
        pm.fit("y ~ x", data.iloc[:1])


# --------------------------------------------------------------------------- identification


def test_more_parameters_than_moments(data: pd.DataFrame) -> None:
    with pytest.raises(SpecificationError, match=r"the model has 6 free parameters but the data "
                       r"supply only 5 moments \(df = -1\); it is not identified — fix or drop "
                       r"parameters"):
        pm.fit("m ~ x + y\ny ~ m + x", data)


def test_singular_information_names_the_parameters(data: pd.DataFrame) -> None:
    # df = 3 > 0, yet a factor with two indicators and nothing else is not identified
    frame = data.rename(columns={"z": "w"}).assign(z=_frame(seed=2)["z"])
    with pytest.raises(SpecificationError) as info:
        pm.fit("f =~ x + m\nz ~ w", frame)
    msg = str(info.value)
    assert "the model is not identified: the information matrix is singular" in msg
    assert "f =~ m" in msg
    assert "Fix one of them (e.g. a loading to 1 or a path to 0)" in msg


def test_more_parameters_than_moments_names_the_parameters(data: pd.DataFrame) -> None:
    with pytest.raises(SpecificationError) as info:
        pm.fit("m ~ x + y\ny ~ m + x", data)
    involved = str(info.value).partition("Parameters involved: ")[2]
    assert "m ~ y" in involved and "y ~ m" in involved  # the feedback loop


# --------------------------------------------------------------------------- groups


def test_group_column_missing(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"group column 'arm' is not in the data; valid names: "
                       r"m, x, y, z"):
        pm.fit(MEDIATION, data, group="arm")


def test_group_column_with_missing_values(data: pd.DataFrame) -> None:
    g = np.where(np.arange(len(data)) < 3, np.nan, np.arange(len(data)) % 2)
    with pytest.raises(DataError, match=r"group column 'g' has 3 missing value\(s\); drop those "
                       r"rows or give them a group"):
        pm.fit(MEDIATION, data.assign(g=g), group="g")


def test_group_column_that_is_a_model_variable(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"group column 'x' is also a variable of the model"):
        pm.fit(MEDIATION, data, group="x")


def test_group_with_too_few_rows(data: pd.DataFrame) -> None:
    g = np.r_[np.zeros(len(data) - 1), 1.0]
    with pytest.raises(DataError, match=r"only 1 usable row\(s\) in group 1\.0; at least 2"):
        pm.fit("y ~ x", data.assign(g=g), group="g")


# --------------------------------------------------------------------------- edge models
# Each of these raised a bare numpy/Python error or gave a silent number until the gap was
# pinned here by a strict xfail and fixed in the engine (commits 839e97a, 7a97f14).


def test_threshold_syntax_is_a_syntax_error_in_fit(data: pd.DataFrame) -> None:
    # not mistaken for the name of a library model
    with pytest.raises(ModelSyntaxError, match=r"line 1, column 3: thresholds \(\|\) are only "
                       r"used with ordinal data"):
        pm.fit("y | t1", data)


def test_model_without_free_parameters(data: pd.DataFrame) -> None:
    # lavaan fits a fully fixed model: its chi-square tests the fixed values
    res = pm.fit("y ~ 0.5*x\ny ~~ 1*y", data)
    assert res.fit_measures["npar"] == 0
    assert res.fit_measures["df"] == 2
    xy = data[["x", "y"]].to_numpy()
    S = np.cov(xy, rowvar=False, bias=True)
    sigma = np.array([[S[0, 0], 0.5 * S[0, 0]], [0.5 * S[0, 0], 0.25 * S[0, 0] + 1.0]])
    f_ml = (np.linalg.slogdet(sigma)[1] - np.linalg.slogdet(S)[1]
            + np.trace(S @ np.linalg.inv(sigma)) - 2)
    assert res.fit_measures["chisq"] == pytest.approx(len(data) * f_ml, rel=1e-8)


def test_single_variable_model(data: pd.DataFrame) -> None:
    res = pm.fit("y ~ 1", data)
    est = res.estimates.set_index(["lhs", "op"])
    y = data["y"].to_numpy()
    assert est.loc[("y", "~1"), "est"] == pytest.approx(y.mean(), rel=1e-8)
    assert est.loc[("y", "~~"), "est"] == pytest.approx(y.var(), rel=1e-8)
    assert est.loc[("y", "~1"), "se"] == pytest.approx(np.sqrt(y.var() / y.size), rel=1e-6)
    assert res.fit_measures["df"] == 0


def test_bootstrap_of_a_tiny_sample_counts_failed_resamples(data: pd.DataFrame) -> None:
    res = pm.fit("y ~ x", data.iloc[:5], se="bootstrap", n_boot=50, seed=1)
    assert res.boot is not None
    # 5 rows: some resamples repeat one row or two and cannot be fitted
    assert 0 < res.boot.n_failed < 50
    assert f"(failed {res.boot.n_failed}, " in res.summary()


def test_variable_in_large_units_is_not_reported_unidentified(data: pd.DataFrame) -> None:
    small = pm.fit("m ~ x\ny ~ b*m + x", data)
    big = pm.fit("m ~ x\ny ~ b*m + x", data.assign(y=data["y"] * 1000.0))
    assert big.params["b"] == pytest.approx(1000.0 * small.params["b"], rel=1e-6)


def test_large_mean_with_fiml_is_not_reported_unidentified(data: pd.DataFrame) -> None:
    plain = pm.fit("m ~ x\ny ~ m\nx ~~ x", data, missing="fiml")
    shifted = pm.fit("m ~ x\ny ~ m\nx ~~ x", data.assign(x=data["x"] + 1000.0),
                     missing="fiml")
    assert shifted.converged
    slopes = ["m~x", "y~m"]
    np.testing.assert_allclose(shifted.params[slopes], plain.params[slopes], rtol=1e-6)


def test_undefined_defined_parameter_warns(data: pd.DataFrame) -> None:
    with pytest.warns(PathModelsWarning, match=r"defined parameter 'ratio' is nan at the "
                      r"estimates .*check its expression"):
        res = pm.fit("y ~ a*x\nratio := log(-a - 10)", data)
    assert any(w.startswith("defined parameter 'ratio'") for w in res.warnings)


# --------------------------------------------------------------------------- units


def _cfa_frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    f = rng.normal(size=300)
    frame = pd.DataFrame({v: f + rng.normal(size=300) for v in ("x", "m", "y")})
    frame["z"] = 0.5 * f + rng.normal(size=300)
    return frame


def _check_rescaled_fit(scale: float, missing: str) -> None:
    # Rescaling one indicator rescales its loading and residual variance and changes
    # nothing else. FIML's optimiser stops at a gradient near 1e-6 (as lavaan's), which
    # leaves estimates equal to about 1e-5 relative; listwise fits agree to 1e-6.
    rel = 1e-6 if missing == "listwise" else 1e-4
    frame = _cfa_frame()
    model = "f =~ m + x + y\nz ~ f"
    plain = pm.fit(model, frame, missing=missing)
    scaled = pm.fit(model, frame.assign(x=frame["x"] * scale), missing=missing)
    assert scaled.fit_measures["chisq"] == pytest.approx(plain.fit_measures["chisq"], rel=rel)
    assert scaled.params["f=~x"] == pytest.approx(scale * plain.params["f=~x"], rel=rel)
    assert scaled.params["x~~x"] == pytest.approx(scale**2 * plain.params["x~~x"], rel=rel)
    assert scaled.params["z~f"] == pytest.approx(plain.params["z~f"], rel=rel)


@pytest.mark.parametrize("scale", [1e-3, 1e4, 1e5])
def test_cfa_indicator_on_another_scale(scale: float) -> None:
    # raised numpy LinAlgError or 'not identified' before the engine's scaled checks
    _check_rescaled_fit(scale, "listwise")


@pytest.mark.parametrize("scale", [1e-3, 10.0, 1e4])
def test_cfa_indicator_on_another_scale_fiml(scale: float) -> None:
    # 1e-3 was reported 'not identified' before FIML's observed information took steps on
    # each parameter's own scale (commit 7a97f14)
    _check_rescaled_fit(scale, "fiml")


def test_infinite_defined_parameter_warns_only_with_our_warning(data: pd.DataFrame) -> None:
    # the numeric Jacobian of an infinite value leaked numpy's RuntimeWarning (inf - inf)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(PathModelsWarning, match=r"defined parameter 'ratio' is inf"):
            pm.fit("y ~ a*x\nratio := a/0", data)
