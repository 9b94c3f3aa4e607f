"""Tests for pathmodels.expressions: the := and constraint language, and the delta method."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from pathmodels.exceptions import ModelSyntaxError, SpecificationError
from pathmodels.expressions import (
    FUNCTIONS,
    BinaryOp,
    Call,
    Name,
    Number,
    UnaryOp,
    delta_covariance,
    numeric_jacobian,
    parse_expression,
)
from tests.reference.lavaan_cases import load_case

VALUES = {"a": 0.5, "b": -0.4, "c": 2.0, "a.1": 3.0, "b_2": 0.25}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a*b", 0.5 * -0.4),
        ("a*b + c", 0.5 * -0.4 + 2.0),
        ("a + b*c", 0.5 + -0.4 * 2.0),
        ("(a + b)*c", (0.5 - 0.4) * 2.0),
        ("a - b - c", 0.5 + 0.4 - 2.0),  # left-associative
        ("c/a/c", 2.0 / 0.5 / 2.0),
        ("-c^2", -4.0),  # R: ^ binds tighter than unary minus
        ("(-c)^2", 4.0),
        ("c^3^2", 2.0**9),  # right-associative
        ("c**3", 8.0),
        ("c^-1", 0.5),
        ("--a", 0.5),
        ("+a", 0.5),
        ("a*-b", 0.2),
        ("2*a.1", 6.0),
        ("b_2*4", 1.0),
        ("1e-3*c", 0.002),
        (".5 + 5.", 5.5),
        ("1.5E+2", 150.0),
        ("exp(0)", 1.0),
        ("log(exp(c))", 2.0),
        ("log10(100)", 2.0),
        ("sqrt(c*c)", 2.0),
        ("abs(b)", 0.4),
        ("tanh(atanh(a))", 0.5),
        ("pnorm(1.959963984540054)", 0.975),
        ("qnorm(0.975)", 1.959963984540054),
        ("a*b/(1 - b)", 0.5 * -0.4 / 1.4),
        ("  a\n  * b ", -0.2),
    ],
)
def test_known_values(text: str, expected: float) -> None:
    value = parse_expression(text).evaluate(VALUES)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-14, abs=1e-15)


def test_names_in_order_of_first_appearance() -> None:
    expr = parse_expression("b*a + a*c^b + exp(a.1)")
    assert expr.names == ("b", "a", "c", "a.1")
    assert parse_expression("2*3").names == ()


def test_equality_is_structural() -> None:
    assert parse_expression("a*b") == parse_expression(" ( a ) * (b) ")
    assert parse_expression("a^2") == parse_expression("a**2")
    assert parse_expression("a*b") != parse_expression("b*a")
    assert parse_expression("a - b - c") != parse_expression("a - (b - c)")
    assert hash(parse_expression("a*b")) == hash(parse_expression("a * b"))


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("a * b", "a*b"),
        ("(a*b)", "a*b"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("-(a*b)", "-(a*b)"),
        ("(-a)*b", "-a*b"),
        ("(-a)^2", "(-a)^2"),
        ("-a**2", "-a^2"),
        ("(a^b)^c", "(a^b)^c"),
        ("a^(b^c)", "a^b^c"),
        ("a^(-1)", "a^-1"),
        ("a/(b*c)", "a/(b*c)"),
        ("0.50*a + 1e-3", "0.5*a + 0.001"),
        ("exp( -a )", "exp(-a)"),
        ("a", "a"),
    ],
)
def test_str_is_normalised(text: str, printed: str) -> None:
    expr = parse_expression(text)
    assert str(expr) == printed
    assert parse_expression(str(expr)) == expr
    assert expr.text == text


def test_vectorised_evaluation() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=1000), rng.normal(size=1000)
    expr = parse_expression("a*b + c")
    out = expr.evaluate({"a": a, "b": b, "c": 2.0})
    assert isinstance(out, np.ndarray) and out.shape == (1000,)
    assert_allclose(out, a * b + 2.0, rtol=1e-15)
    grid = expr.evaluate({"a": a[:3, None], "b": b[None, :4], "c": 0.0})
    assert np.shape(grid) == (3, 4)


def test_integer_values_allow_negative_powers() -> None:
    assert parse_expression("k^-2").evaluate({"k": 2}) == 0.25
    assert_allclose(parse_expression("k^-1").evaluate({"k": np.array([1, 2, 4])}), [1, 0.5, 0.25])


def test_invalid_operations_follow_r() -> None:
    assert math.isnan(parse_expression("log(a)").evaluate({"a": -1.0}))
    assert parse_expression("1/a").evaluate({"a": 0.0}) == math.inf


def test_missing_name_lists_close_matches() -> None:
    expr = parse_expression("ab*b")
    with pytest.raises(SpecificationError, match=r"no value for 'ab'.*did you mean 'a_b'"):
        expr.evaluate({"a_b": 1.0, "b": 2.0})


def test_non_numeric_value_is_rejected() -> None:
    with pytest.raises(SpecificationError, match="must be a number"):
        parse_expression("a*2").evaluate({"a": "x"})  # type: ignore[dict-item]


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("a*", 3, "expected a number, name or '(' after '*'"),
        ("a*b+", 5, "after '+'"),
        ("a*/b", 3, "after '*', found '/'"),
        ("(a+b", 5, "missing ')' to close the '(' at column 1"),
        ("a+b)", 4, "unmatched ')'"),
        ("a b", 3, "did you mean 'a*b'"),
        ("2a", 2, "did you mean '2*a'"),
        ("foo(a)", 1, "unknown function 'foo'; allowed functions: abs, atanh, exp"),
        ("log(a, 2)", 6, "log() takes exactly one argument"),
        ("exp(a", 6, "missing ')' to close exp("),
        ("a == b", 3, "unexpected character '='"),
        ("_a", 1, "cannot start with '_'"),
        ("a $ b", 3, "unexpected character '$'"),
        ("", 1, "expected an expression, found nothing"),
        ("   ", 1, "expected an expression, found nothing"),
        ("a,b", 2, "outside a function call"),
        ("1e999", 1, "too large"),
        ("a.b()", 1, "unknown function 'a.b'"),
        ("exp()", 5, "after '(', found ')'"),
    ],
)
def test_syntax_errors_point_at_the_token(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ModelSyntaxError) as info:
        parse_expression(text)
    err = info.value
    assert err.column == column
    assert fragment in str(err)
    lines = str(err).splitlines()
    # The expression is echoed with a caret under the offending column.
    assert lines[-2] == "  " + text
    assert lines[-1] == "  " + " " * (column - 1) + "^"


def test_syntax_error_inside_a_model_line() -> None:
    source = "ind := a*"
    with pytest.raises(ModelSyntaxError) as info:
        parse_expression("a*", line=3, column_offset=7, source_line=source)
    err = info.value
    assert (err.line, err.column) == (3, 10)
    assert str(err).splitlines() == [
        "line 3, column 10: expected a number, name or '(' after '*', found the end of the "
        "expression",
        "  ind := a*",
        "           ^",
    ]


def test_multiline_expression_reports_the_inner_line() -> None:
    with pytest.raises(ModelSyntaxError) as info:
        parse_expression("a +\n  b * ", line=4)
    assert (info.value.line, info.value.column) == (5, 6)


def test_unknown_function_lists_every_allowed_one() -> None:
    with pytest.raises(ModelSyntaxError) as info:
        parse_expression("sin(a)")
    for name in FUNCTIONS:
        assert name in str(info.value)


# --------------------------------------------------------------- hypothesis
_NAMES = st.sampled_from(["a", "b", "c", "a.1", "b_2", "ind"])
_LEAVES = st.one_of(
    _NAMES.map(lambda n: ("name", n)),
    st.floats(0.0, 1e6, allow_nan=False).map(lambda v: ("num", v)),
    st.integers(0, 20).map(lambda v: ("num", float(v))),
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/", "^"]), children, children),
        st.tuples(st.just("neg"), children),
        st.tuples(st.sampled_from(["exp", "abs", "tanh", "sqrt"]), children),
    )


_TREES = st.recursive(_LEAVES, _extend, max_leaves=12)


def _render(tree: Any, draw: Any) -> str:
    """Fully parenthesised text with random spacing and power spelling."""
    kind = tree[0]
    sp = draw(st.sampled_from(["", " ", "  "]))
    if kind == "name":
        return tree[1]
    if kind == "num":
        return repr(tree[1])
    if kind == "neg":
        return f"(-{sp}{_render(tree[1], draw)})"
    if kind in ("+", "-", "*", "/", "^"):
        op = draw(st.sampled_from(["^", "**"])) if kind == "^" else kind
        return f"({_render(tree[1], draw)}{sp}{op}{sp}{_render(tree[2], draw)})"
    return f"{kind}({sp}{_render(tree[1], draw)})"


def _reference(tree: Any, env: dict[str, float]) -> float:
    """Independent evaluator of the generated tree (Python floats, numpy semantics)."""
    kind = tree[0]
    if kind == "name":
        return env[tree[1]]
    if kind == "num":
        return tree[1]
    if kind == "neg":
        return -_reference(tree[1], env)
    if kind in ("+", "-", "*", "/", "^"):
        x, y = np.float64(_reference(tree[1], env)), np.float64(_reference(tree[2], env))
        return float(
            {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power}[kind](
                x, y
            )
        )
    return float(
        getattr(np, {"exp": "exp", "abs": "abs", "tanh": "tanh", "sqrt": "sqrt"}[kind])(
            np.float64(_reference(tree[1], env))
        )
    )


def _same(x: float | np.ndarray, y: float | np.ndarray) -> bool:
    assert isinstance(x, float) and isinstance(y, float)
    return (math.isnan(x) and math.isnan(y)) or x == y


@settings(max_examples=300, deadline=None)
@given(
    tree=_TREES,
    data=st.data(),
    values=st.lists(st.floats(-3, 3, allow_nan=False), min_size=6, max_size=6),
)
def test_parser_matches_an_independent_evaluator_and_str_round_trips(
    tree: Any, data: st.DataObject, values: list[float]
) -> None:
    env = dict(zip(["a", "b", "c", "a.1", "b_2", "ind"], values, strict=True))
    text = _render(tree, data.draw)
    expr = parse_expression(text)
    with np.errstate(all="ignore"):
        expected = _reference(tree, env)
    got = expr.evaluate(env)
    assert _same(got, expected), (text, got, expected)
    again = parse_expression(str(expr))
    assert again == expr, (text, str(expr))
    assert _same(again.evaluate(env), got)
    assert str(again) == str(expr)


_PIECES = st.sampled_from(
    [
        "a",
        "b1",
        "x.y",
        "2",
        ".5",
        "1e-3",
        "1e",
        "+",
        "-",
        "*",
        "/",
        "^",
        "**",
        "(",
        ")",
        ",",
        "exp",
        "log(",
        "foo(",
        " ",
        "\n",
        "=",
        "#",
        "$",
        "_",
        "~",
        ":=",
        "e+",
    ]
)


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=12))
def test_random_text_parses_or_raises_model_syntax_error(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        expr = parse_expression(text, line=1, column_offset=4, source_line="d := " + text)
    except ModelSyntaxError as err:
        assert err.line is not None and err.line >= 1
        assert err.column is not None and 1 <= err.column
        return
    # Whatever parses must print to something that parses back to the same tree.
    assert parse_expression(str(expr)) == expr


def test_tree_nodes() -> None:
    tree = parse_expression("-exp(a)*2^b").tree
    assert tree == BinaryOp(
        "*", UnaryOp("-", Call("exp", Name("a"))), BinaryOp("^", Number(2.0), Name("b"))
    )


# ------------------------------------------------------------------- delta method
def test_numeric_jacobian_known_values() -> None:
    def func(t: np.ndarray) -> list[float]:
        return [t[0] * t[1] * t[2], math.exp(t[0]), t[1] ** 2 / t[2]]

    theta = np.array([0.3, -1.2, 250.0])
    exact = np.array(
        [
            [theta[1] * theta[2], theta[0] * theta[2], theta[0] * theta[1]],
            [math.exp(theta[0]), 0.0, 0.0],
            [0.0, 2 * theta[1] / theta[2], -(theta[1] ** 2) / theta[2] ** 2],
        ]
    )
    jac = numeric_jacobian(func, theta)
    assert jac.shape == (3, 3)
    assert_allclose(jac, exact, rtol=1e-9, atol=1e-12)
    # The comparison is tight enough to catch a relative error of 1e-7.
    with pytest.raises(AssertionError):
        assert_allclose(jac * (1 + 1e-7), exact, rtol=1e-9, atol=1e-12)


def test_numeric_jacobian_scalar_function() -> None:
    jac = numeric_jacobian(lambda t: t[0] ** 3, [2.0])
    assert jac.shape == (1, 1)
    assert jac[0, 0] == pytest.approx(12.0, rel=1e-9)
    with pytest.raises(SpecificationError, match="finite vector"):
        numeric_jacobian(lambda t: t, [np.nan])
    with pytest.raises(SpecificationError, match="positive"):
        numeric_jacobian(lambda t: t, [1.0], rel_step=0.0)


@pytest.mark.parametrize(
    "case_name", ["simple_mediation", "serial_mediation", "parallel_mediation"]
)
def test_delta_method_ses_match_lavaan(case_name: str) -> None:
    case = load_case(case_name)
    est = case.estimates
    labels = list(case.vcov.index)  # lavaan's names of the free parameters, in order
    free = case.partable[case.partable["free"] > 0].sort_values("free")
    assert len(free) == len(labels)
    theta = free["est"].to_numpy()
    defs = est[est["op"] == ":="]
    assert len(defs) >= 2
    exprs = [(row.lhs, parse_expression(row.rhs)) for row in defs.itertuples()]

    def def_function(t: np.ndarray) -> np.ndarray:
        env: dict[str, Any] = dict(zip(labels, t, strict=True))
        out = []
        for name, expr in exprs:  # later definitions may use earlier ones
            env[name] = expr.evaluate(env)
            out.append(env[name])
        return np.array(out)

    assert_allclose(def_function(theta), defs["est"], rtol=1e-12)
    cov = delta_covariance(def_function, theta, case.vcov.to_numpy())
    se = np.sqrt(np.diag(cov))
    # lavaan: complex-step Jacobian (exact); ours: central differences, exact up to
    # rounding for these multilinear functions. SEs printed to 15 digits.
    assert_allclose(se, defs["se"], rtol=1e-8)
    with pytest.raises(AssertionError):
        assert_allclose(se * (1 + 1e-6), defs["se"], rtol=1e-8)


def test_delta_covariance_shape_check() -> None:
    with pytest.raises(SpecificationError, match=r"\(2, 2\)"):
        delta_covariance(lambda t: t, [0.0, 1.0], np.eye(3))
