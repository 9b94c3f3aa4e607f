"""Tests for pathmodels.effects: paths, reduced-form totals and their decomposition."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from pathmodels.effects import (
    EffectRow,
    decompose,
    default_pairs,
    enumerate_paths,
    is_recursive,
    total_effects,
)
from pathmodels.exceptions import (
    InadmissibleSolutionWarning,
    PathModelsWarning,
    SpecificationError,
)
from tests.reference.lavaan_cases import load_case


def _structure(p: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """Boolean structure from (cause, outcome) edges."""
    s = np.zeros((p, p), dtype=bool)
    for cause, outcome in edges:
        s[outcome, cause] = True
    return s


# x=0, m1=1, m2=2, y=3 with every forward path: the serial mediation model.
SERIAL = _structure(4, [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)])


def test_is_recursive() -> None:
    assert is_recursive(SERIAL)
    assert is_recursive(np.zeros((3, 3), dtype=bool))
    loop = SERIAL.copy()
    loop[1, 3] = True  # y -> m1 closes m1 -> y -> m1
    assert not is_recursive(loop)
    self_loop = np.zeros((2, 2), dtype=bool)
    self_loop[1, 1] = True
    assert not is_recursive(self_loop)
    with pytest.raises(SpecificationError, match="square"):
        is_recursive(np.zeros((2, 3), dtype=bool))


def test_enumerate_paths_order() -> None:
    assert enumerate_paths(SERIAL, 0, 3) == [(0, 3), (0, 1, 3), (0, 2, 3), (0, 1, 2, 3)]
    assert enumerate_paths(SERIAL, 1, 3) == [(1, 3), (1, 2, 3)]
    assert enumerate_paths(SERIAL, 3, 0) == []  # against the arrows
    assert enumerate_paths(SERIAL, 2, 2) == []


def test_enumerate_paths_counts_every_route() -> None:
    # Complete DAG on p nodes: 2^(p-2) routes from the first to the last node.
    p = 8
    full = np.tril(np.ones((p, p), dtype=bool), k=-1)
    routes = enumerate_paths(full, 0, p - 1)
    assert len(routes) == 2 ** (p - 2)
    assert len(set(routes)) == len(routes)
    assert all(r[0] == 0 and r[-1] == p - 1 for r in routes)
    assert routes == sorted(routes, key=lambda r: (len(r), r))
    with pytest.raises(SpecificationError, match="more than max_paths=10 routes"):
        enumerate_paths(full, 0, p - 1, max_paths=10)


def test_enumerate_paths_errors() -> None:
    loop = SERIAL.copy()
    loop[1, 3] = True
    with pytest.raises(SpecificationError, match="non-recursive.*only direct, total indirect"):
        enumerate_paths(loop, 0, 3)
    with pytest.raises(SpecificationError, match=r"cause=7 is not a variable index in 0..3"):
        enumerate_paths(SERIAL, 7, 3)


def test_total_effects_known_and_vectorised() -> None:
    B = np.zeros((3, 3))
    B[1, 0], B[2, 0], B[2, 1] = 0.5, 0.2, 0.4
    total = total_effects(B)
    assert total[2, 0] == pytest.approx(0.2 + 0.5 * 0.4, rel=1e-14)
    assert total[1, 0] == pytest.approx(0.5, rel=1e-14)
    assert total[0, 2] == 0.0
    rng = np.random.default_rng(0)
    stack = rng.normal(scale=0.3, size=(5, 2, 3, 3)) * np.tril(np.ones((3, 3)), -1)
    out = total_effects(stack)
    assert out.shape == (5, 2, 3, 3)
    for idx in itertools.product(range(5), range(2)):
        assert_allclose(out[idx], np.linalg.inv(np.eye(3) - stack[idx]) - np.eye(3), atol=1e-14)


def test_total_effects_nonrecursive_equals_the_path_series() -> None:
    # x -> y1 <-> y2 feedback loop, stable (spectral radius 0.3).
    B = np.zeros((3, 3))
    B[1, 0], B[1, 2], B[2, 1] = 0.6, 0.3, 0.3
    series = np.sum([np.linalg.matrix_power(B, k) for k in range(1, 200)], axis=0)
    assert_allclose(total_effects(B), series, atol=1e-14)


def test_total_effects_singular() -> None:
    B = np.array([[0.0, 1.0], [1.0, 0.0]])  # I - B singular
    with pytest.raises(SpecificationError, match="I - B is singular"):
        total_effects(B)
    stack = np.stack([B, 0.5 * B])
    with pytest.warns(PathModelsWarning, match="singular for 1 of 2 draws"):
        out = total_effects(stack)
    assert np.all(np.isnan(out[0]))
    assert_allclose(out[1], np.linalg.inv(np.eye(2) - 0.5 * B) - np.eye(2))


def _rows(rows: list[EffectRow]) -> dict[tuple[str, str], EffectRow]:
    return {(r.effect, r.path): r for r in rows}


def test_decompose_matches_lavaan_serial_mediation() -> None:
    case = load_case("serial_mediation")
    est = case.estimates.set_index("label")
    names = ["x", "m1", "m2", "y"]
    coef = {lab: est.loc[lab, "est"] for lab in ["a1", "a2", "d21", "b1", "b2", "cp"]}
    B = np.zeros((4, 4))
    B[1, 0], B[2, 0], B[2, 1] = coef["a1"], coef["a2"], coef["d21"]
    B[3, 1], B[3, 2], B[3, 0] = coef["b1"], coef["b2"], coef["cp"]
    cov = case.implied[0]["cov"].loc[names, names].to_numpy()
    sd = np.sqrt(np.diag(cov))
    rows = decompose(B, SERIAL, names, [("x", "y")], sd=sd)
    assert [(r.effect, r.path) for r in rows] == [
        ("direct", "x -> y"),
        ("indirect", "x -> m1 -> y"),
        ("indirect", "x -> m2 -> y"),
        ("indirect", "x -> m1 -> m2 -> y"),
        ("total_indirect", "x -> ... -> y"),
        ("total", "x -> ... -> y"),
    ]
    lavaan_label = ["cp", "ind1", "ind2", "ind3", "total_ind", "total"]
    value = np.array([r.value for r in rows])
    std_all = np.array([r.std_all for r in rows])
    expected = est.loc[lavaan_label, "est"].to_numpy()
    expected_std = est.loc[lavaan_label, "std_all"].to_numpy()
    # Products and sums of the same 15-digit estimates: agreement to rounding.
    assert_allclose(value, expected, rtol=1e-12)
    # std.all uses lavaan's model-implied SDs (printed to 15 digits).
    assert_allclose(std_all, expected_std, rtol=1e-10)
    with pytest.raises(AssertionError):  # the check would catch a wrong value
        assert_allclose(value * (1 + 1e-9), expected, rtol=1e-12)
    with pytest.raises(AssertionError):  # ... and std.all computed with sd[y]/sd[x]
        assert_allclose(value * sd[3] / sd[0], expected_std, rtol=1e-10)


def test_decompose_vectorised_over_draws() -> None:
    rng = np.random.default_rng(1)
    draws = rng.normal(scale=0.5, size=(40, 4, 4)) * SERIAL
    sd = rng.uniform(0.5, 2.0, size=(40, 4))
    names = ["x", "m1", "m2", "y"]
    stacked = decompose(draws, SERIAL, names, [("x", "y"), ("m1", "y")], sd=sd)
    for d in range(0, 40, 7):
        single = decompose(draws[d], SERIAL, names, [("x", "y"), ("m1", "y")], sd=sd[d])
        assert len(single) == len(stacked)
        for many, one in zip(stacked, single, strict=True):
            assert (many.effect, many.path) == (one.effect, one.path)
            assert isinstance(one.value, float) and isinstance(many.value, np.ndarray)
            assert many.value[d] == pytest.approx(one.value, rel=1e-13, abs=1e-15)
            assert isinstance(many.std_all, np.ndarray)
            assert many.std_all[d] == pytest.approx(one.std_all, rel=1e-13, abs=1e-15)


def test_decompose_pairs_without_direct_or_route() -> None:
    # x -> m -> y, no direct path; z unconnected.
    s = _structure(4, [(0, 1), (1, 2)])
    B = np.zeros((4, 4))
    B[1, 0], B[2, 1] = 0.5, 0.4
    rows = decompose(B, s, ["x", "m", "y", "z"], [("x", "y"), ("z", "y"), ("x", "m")])
    got = [(r.cause, r.outcome, r.effect, r.value) for r in rows]
    assert got == [
        ("x", "y", "indirect", pytest.approx(0.2)),
        ("x", "y", "total_indirect", pytest.approx(0.2)),
        ("x", "y", "total", pytest.approx(0.2)),
        ("z", "y", "total", 0.0),  # no route: a single zero total
        ("x", "m", "direct", 0.5),  # only the direct path: no total_indirect row
        ("x", "m", "total", pytest.approx(0.5)),
    ]
    assert all(r.std_all is None for r in rows)


def test_decompose_nonrecursive() -> None:
    # x -> y1, y1 <-> y2, y2 -> z: no specific indirect rows, totals from (I - B)^-1.
    names = ["x", "y1", "y2", "z"]
    s = _structure(4, [(0, 1), (1, 2), (2, 1), (2, 3), (0, 2)])
    B = np.zeros((4, 4))
    B[1, 0], B[2, 1], B[1, 2], B[3, 2], B[2, 0] = 0.6, 0.5, 0.2, 0.7, 0.1
    rows = decompose(B, s, names, [("x", "y2"), ("x", "z")])
    assert [(r.outcome, r.effect) for r in rows] == [
        ("y2", "direct"),
        ("y2", "total_indirect"),
        ("y2", "total"),
        ("z", "total_indirect"),
        ("z", "total"),
    ]
    series = np.sum([np.linalg.matrix_power(B, k) for k in range(1, 300)], axis=0)
    assert rows[2].value == pytest.approx(series[2, 0], rel=1e-12)
    assert rows[1].value == pytest.approx(series[2, 0] - 0.1, rel=1e-12)
    assert rows[4].value == pytest.approx(series[3, 0], rel=1e-12)


def test_decompose_warns_for_unstable_feedback() -> None:
    s = _structure(3, [(0, 1), (1, 2), (2, 1)])
    B = np.zeros((3, 3))
    B[1, 0], B[2, 1], B[1, 2] = 0.5, 1.5, 0.9  # loop gain 1.35
    with pytest.warns(InadmissibleSolutionWarning, match="unstable"):
        decompose(B, s, ["x", "a", "b"], [("x", "b")])


def test_decompose_input_errors() -> None:
    B = np.zeros((4, 4))
    names = ["x", "m1", "m2", "y"]
    with pytest.raises(SpecificationError, match="did you mean 'm1'"):
        decompose(B, SERIAL, names, [("x", "m11")])
    with pytest.raises(SpecificationError, match="no effect on itself"):
        decompose(B, SERIAL, names, [("y", "y")])
    with pytest.raises(SpecificationError, match="distinct variable names"):
        decompose(B, SERIAL, ["x", "x", "m", "y"], [("x", "y")])
    with pytest.raises(SpecificationError, match=r"sd= must have shape \(4,\)"):
        decompose(B, SERIAL, names, [("x", "y")], sd=np.ones(3))
    with pytest.raises(SpecificationError, match=r"B= must have shape \(\.\.\., 4, 4\)"):
        decompose(np.zeros((3, 3)), SERIAL, names, [("x", "y")])


def test_default_pairs() -> None:
    # x1, x2 -> m -> y1; x2 -> y2; y1 -> w (so y1 is not final); c is isolated.
    names = ["x1", "x2", "m", "y1", "y2", "w", "c"]
    s = _structure(7, [(0, 2), (1, 2), (2, 3), (1, 4), (3, 5)])
    assert default_pairs(s, names, ["x2", "x1", "c"]) == [
        ("x2", "y2"),
        ("x2", "w"),
        ("x1", "w"),
    ]
    with pytest.raises(SpecificationError, match="did you mean 'x1'"):
        default_pairs(s, names, ["x11"])


# --------------------------------------------------------------- hypothesis
@st.composite
def _dags(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    p = draw(st.integers(2, 7))
    order = draw(st.permutations(range(p)))
    s = np.zeros((p, p), dtype=bool)
    for i, j in itertools.combinations(range(p), 2):  # edge order[i] -> order[j]
        s[order[j], order[i]] = draw(st.booleans())
    n_draws = draw(st.sampled_from([1, 3]))
    coef = draw(
        st.lists(
            st.floats(-1.5, 1.5, allow_nan=False),
            min_size=n_draws * p * p,
            max_size=n_draws * p * p,
        )
    )
    B = np.asarray(coef).reshape(n_draws, p, p) * s
    return s, B


@settings(max_examples=200, deadline=None)
@given(dag=_dags())
def test_direct_plus_indirect_equals_total(dag: tuple[np.ndarray, np.ndarray]) -> None:
    s, B = dag
    p = s.shape[0]
    assert is_recursive(s)
    names = [f"v{i}" for i in range(p)]
    pairs = [(names[c], names[o]) for c, o in itertools.permutations(range(p), 2)]
    rows = decompose(B, s, names, pairs)
    total = total_effects(B)
    by_pair: dict[tuple[str, str], list[EffectRow]] = {}
    for r in rows:
        by_pair.setdefault((r.cause, r.outcome), []).append(r)
    assert set(by_pair) == set(pairs)
    for (c_name, o_name), group in by_pair.items():
        c, o = names.index(c_name), names.index(o_name)
        kinds = {r.effect: r for r in group}
        specific = [np.asarray(r.value) for r in group if r.effect == "indirect"]
        direct = np.asarray(kinds["direct"].value) if "direct" in kinds else 0.0
        indirect_sum = np.sum(specific, axis=0) if specific else 0.0
        assert_allclose(direct + indirect_sum, kinds["total"].value, atol=1e-10)
        assert_allclose(kinds["total"].value, total[:, o, c], atol=1e-10)
        routes = enumerate_paths(s, c, o)
        assert len(specific) == sum(len(r) > 2 for r in routes)
        if specific:
            assert_allclose(kinds["total_indirect"].value, indirect_sum, atol=1e-10)
        else:
            assert "total_indirect" not in kinds
        if not routes:
            assert [r.effect for r in group] == ["total"]
            assert np.all(np.asarray(group[0].value) == 0.0)
