"""Direct, specific indirect, total indirect and total effects from the reduced form.

Inputs are matrices, not specs. Variables are indexed ``0..p-1``; ``B[..., i, j]`` is the
direct effect of variable ``j`` on variable ``i`` (leading dimensions are draws, e.g.
bootstrap or posterior draws, and everything is vectorised over them); ``structure`` is
a boolean ``(p, p)`` array, True where the model has a path ``j → i`` (free, or fixed
to a non-zero value).

Total effects come from the reduced form ``(I − B)⁻¹ − I`` (Bollen 1987), so they are
right for non-recursive (feedback) models too; specific indirect effects are products
of coefficients along each route and exist only in recursive models.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from pathmodels._typing import BoolArray, FloatArray
from pathmodels.exceptions import (
    InadmissibleSolutionWarning,
    PathModelsWarning,
    SpecificationError,
    close_matches,
)

__all__ = [
    "EffectRow",
    "decompose",
    "default_pairs",
    "enumerate_paths",
    "is_recursive",
    "total_effects",
]

EffectKind = Literal["direct", "indirect", "total_indirect", "total"]


@dataclass(frozen=True)
class EffectRow:
    """One effect of ``cause`` on ``outcome``.

    Attributes
    ----------
    cause, outcome : str
        Variable names.
    effect : {"direct", "indirect", "total_indirect", "total"}
        Kind of effect; ``"indirect"`` rows are specific indirect effects, one per route.
    path : str
        The route, e.g. ``"x -> m1 -> m2 -> y"``; ``"x -> ... -> y"`` for the total
        indirect and total rows.
    value : float or numpy.ndarray
        The effect; an array over the leading (draw) dimensions of ``B``.
    std_all : float or numpy.ndarray or None
        ``value · sd[cause] / sd[outcome]`` when model-implied SDs were given.
    """

    cause: str
    outcome: str
    effect: EffectKind
    path: str
    value: float | np.ndarray
    std_all: float | np.ndarray | None = None


def _as_structure(structure: npt.ArrayLike) -> BoolArray:
    s = np.asarray(structure)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise SpecificationError(
            f"structure= must be a square (p, p) boolean matrix; got shape {s.shape}"
        )
    return s.astype(bool)


def _topological_order(s: BoolArray) -> list[int] | None:
    """Kahn's algorithm on j → i edges; None when there is a cycle (incl. self-loops)."""
    p = s.shape[0]
    indegree = s.sum(axis=1).astype(int)
    ready = [i for i in range(p) if indegree[i] == 0]
    order: list[int] = []
    while ready:
        j = ready.pop(0)
        order.append(j)
        for i in np.flatnonzero(s[:, j]):
            indegree[i] -= 1
            if indegree[i] == 0:
                ready.append(int(i))
    return order if len(order) == p else None


def is_recursive(structure: npt.ArrayLike) -> bool:
    """Whether the path structure has no feedback loops (is a directed acyclic graph).

    Parameters
    ----------
    structure : array_like of bool, shape (p, p)
        ``structure[i, j]`` is True when the model has a path ``j → i``.

    Returns
    -------
    bool
        False when some variable affects itself through a chain of paths (including a
        path ``i → i``).

    Raises
    ------
    SpecificationError
        If ``structure`` is not square.

    Examples
    --------
    >>> chain = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=bool)  # 0 -> 1 -> 2
    >>> is_recursive(chain)
    True
    >>> loop = chain.copy(); loop[1, 2] = True                           # 2 -> 1 too
    >>> is_recursive(loop)
    False
    """
    return _topological_order(_as_structure(structure)) is not None


def _nonrecursive_error(what: str) -> SpecificationError:
    return SpecificationError(
        f"{what}: the model is non-recursive (it has a feedback loop), so a cause reaches "
        "an outcome through infinitely many routes and specific indirect effects are not "
        "defined; only direct, total indirect and total effects are available"
    )


def enumerate_paths(
    structure: npt.ArrayLike, cause: int, outcome: int, *, max_paths: int = 10_000
) -> list[tuple[int, ...]]:
    """Every directed route from ``cause`` to ``outcome``.

    Parameters
    ----------
    structure : array_like of bool, shape (p, p)
        ``structure[i, j]`` is True when the model has a path ``j → i``.
    cause, outcome : int
        Variable indices.
    max_paths : int, default 10000
        Stop with an error beyond this many routes.

    Returns
    -------
    list of tuple of int
        Each route as the indices it visits, ``cause`` first and ``outcome`` last (the
        direct path is ``(cause, outcome)``); shorter routes first, then in
        lexicographic order of the indices. Empty when there is no route (or
        ``cause == outcome``).

    Raises
    ------
    SpecificationError
        The model is non-recursive, an index is out of range, or there are more than
        ``max_paths`` routes.

    Examples
    --------
    >>> s = np.zeros((4, 4), dtype=bool)
    >>> s[1, 0] = s[2, 0] = s[2, 1] = s[3, 2] = s[3, 0] = True   # x=0, m1=1, m2=2, y=3
    >>> enumerate_paths(s, 0, 3)
    [(0, 3), (0, 2, 3), (0, 1, 2, 3)]
    """
    s = _as_structure(structure)
    p = s.shape[0]
    for label, idx in (("cause", cause), ("outcome", outcome)):
        if not 0 <= int(idx) < p:
            raise SpecificationError(f"{label}={idx!r} is not a variable index in 0..{p - 1}")
    if _topological_order(s) is None:
        raise _nonrecursive_error("cannot enumerate paths")
    cause, outcome = int(cause), int(outcome)
    if cause == outcome:
        return []
    # Prune to variables that can still reach the outcome.
    reaches = np.zeros(p, dtype=bool)
    reaches[outcome] = True
    frontier = [outcome]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(s[i, :]):
            if not reaches[j]:
                reaches[j] = True
                frontier.append(int(j))
    routes: list[tuple[int, ...]] = []

    def walk(route: list[int]) -> None:
        node = route[-1]
        if node == outcome:
            routes.append(tuple(route))
            if len(routes) > max_paths:
                raise SpecificationError(
                    f"more than max_paths={max_paths} routes from variable {cause} to "
                    f"{outcome}; raise max_paths or ask for total effects only"
                )
            return
        for nxt in np.flatnonzero(s[:, node] & reaches):
            route.append(int(nxt))
            walk(route)
            route.pop()

    if reaches[cause]:
        walk([cause])
    return sorted(routes, key=lambda r: (len(r), r))


def total_effects(B: npt.ArrayLike) -> FloatArray:
    """Total effects ``(I − B)⁻¹ − I``, vectorised over leading dimensions.

    Parameters
    ----------
    B : array_like, shape (..., p, p)
        Direct effects, ``B[..., i, j]`` of variable ``j`` on variable ``i``.

    Returns
    -------
    numpy.ndarray, shape (..., p, p)
        ``T[..., i, j]``: total effect of ``j`` on ``i``. Stacks where ``I − B`` is
        singular are NaN (with a warning).

    Raises
    ------
    SpecificationError
        ``B`` is not a stack of square matrices, or a single ``I − B`` is singular.

    Warns
    -----
    PathModelsWarning
        Some (not all) matrices of a stack have a singular ``I − B``.

    Notes
    -----
    ``T = Σ_{k≥1} Bᵏ = (I − B)⁻¹ − I`` (Bollen 1987). For a recursive model ``B`` is
    nilpotent and the sum is finite. For a non-recursive model the series converges
    only when the spectral radius of ``B`` is below 1 (the system is stable); the
    closed form exists whenever ``I − B`` is invertible, but is then the equilibrium
    effect only for a stable system (:func:`decompose` warns otherwise).

    References
    ----------
    Bollen, K. A. (1987). Total, direct, and indirect effects in structural equation
    models. *Sociological Methodology*, 17, 37-69.

    Examples
    --------
    >>> B = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.2, 0.4, 0.0]])
    >>> total_effects(B)[2, 0].round(12)     # 0.2 + 0.5 * 0.4
    np.float64(0.4)
    """
    b = np.asarray(B, dtype=float)
    if b.ndim < 2 or b.shape[-1] != b.shape[-2]:
        raise SpecificationError(f"B= must have shape (..., p, p); got {b.shape}")
    p = b.shape[-1]
    eye = np.eye(p)
    system = eye - b
    try:
        inv = np.linalg.solve(system, np.broadcast_to(eye, b.shape))
    except np.linalg.LinAlgError:
        if b.ndim == 2:
            raise SpecificationError(
                "I - B is singular, so the total effects are infinite: the feedback loops "
                "of the model amplify without bound. Check the coefficients of the loop"
            ) from None
        flat = system.reshape(-1, p, p)
        inv_flat = np.full_like(flat, np.nan)
        for idx in range(flat.shape[0]):
            try:
                inv_flat[idx] = np.linalg.solve(flat[idx], eye)
            except np.linalg.LinAlgError:
                continue
        n_bad = int(np.isnan(inv_flat[:, 0, 0]).sum())
        warnings.warn(
            f"I - B is singular for {n_bad} of {flat.shape[0]} draws; their total effects are NaN",
            PathModelsWarning,
            stacklevel=2,
        )
        inv = inv_flat.reshape(b.shape)
    return np.asarray(inv - eye, dtype=float)


def _value(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x


def _index(names: Sequence[str], name: str, role: str) -> int:
    try:
        return list(names).index(name)
    except ValueError:
        raise SpecificationError(
            f"{role} {name!r} is not a variable of the model; " + close_matches(name, names)
        ) from None


def _reachability(s: BoolArray) -> BoolArray:
    """``R[i, j]``: a route of one or more steps leads from ``j`` to ``i``."""
    reach = s.copy()
    for _ in range(s.shape[0]):
        nxt = reach | ((reach.astype(np.int64) @ s.astype(np.int64)) > 0)
        if np.array_equal(nxt, reach):
            break
        reach = nxt
    return reach


def decompose(
    B: npt.ArrayLike,
    structure: npt.ArrayLike,
    names: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    *,
    sd: npt.ArrayLike | None = None,
) -> list[EffectRow]:
    """Direct, specific indirect, total indirect and total effects for cause-outcome pairs.

    Parameters
    ----------
    B : array_like, shape (..., p, p)
        Direct effects, ``B[..., i, j]`` of variable ``j`` on variable ``i``; leading
        dimensions are draws.
    structure : array_like of bool, shape (p, p)
        True where the model has a path ``j → i``.
    names : sequence of str
        The ``p`` variable names.
    pairs : sequence of (str, str)
        ``(cause, outcome)`` pairs; see :func:`default_pairs`.
    sd : array_like, shape (..., p), optional
        Model-implied standard deviations of the variables (same leading dimensions as
        ``B``), for fully standardised effects.

    Returns
    -------
    list of EffectRow
        For each pair in order: the ``direct`` row (when the path exists), one
        ``indirect`` row per route through mediators (recursive models only; shorter
        routes first), ``total_indirect`` (when some route has a mediator) and
        ``total``. A pair with no route at all gets a single ``total`` row of 0.

    Raises
    ------
    SpecificationError
        Unknown names (with close matches), a pair of a variable with itself, or shapes
        that do not agree.

    Warns
    -----
    InadmissibleSolutionWarning
        For a non-recursive model whose feedback system is unstable (spectral radius of
        ``B`` at least 1): its "total effects" are not sums of path effects.

    Notes
    -----
    ``total = [(I − B)⁻¹ − I][o, c]``; ``total_indirect = total − B[o, c]``, from the
    reduced form so it is right for non-recursive models as well; a specific indirect
    effect is the product of ``B`` along its route. In a recursive model ``direct +
    Σ indirect = total``. Standardised: ``std_all = value · sd[c] / sd[o]``, which
    equals lavaan's ``std.all`` of the corresponding ``:=`` product of standardised
    coefficients.

    Examples
    --------
    >>> names = ["x", "m", "y"]
    >>> s = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]], dtype=bool)
    >>> B = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.2, 0.4, 0.0]])
    >>> for row in decompose(B, s, names, [("x", "y")]):
    ...     print(f"{row.effect:15s} {row.path:15s} {row.value:.2f}")
    direct          x -> y          0.20
    indirect        x -> m -> y     0.20
    total_indirect  x -> ... -> y   0.20
    total           x -> ... -> y   0.40
    """
    b = np.asarray(B, dtype=float)
    s = _as_structure(structure)
    p = s.shape[0]
    names = list(names)
    if len(names) != p or len(set(names)) != p:
        raise SpecificationError(
            f"names= must give {p} distinct variable names, one per row of structure="
        )
    if b.shape[-2:] != (p, p):
        raise SpecificationError(f"B= must have shape (..., {p}, {p}); got {b.shape}")
    sd_arr: np.ndarray | None = None
    if sd is not None:
        sd_arr = np.asarray(sd, dtype=float)
        if sd_arr.shape != b.shape[:-1]:
            raise SpecificationError(
                f"sd= must have shape {b.shape[:-1]} (the leading dimensions of B= and one "
                f"entry per variable); got {sd_arr.shape}"
            )
    recursive, reach, via_mediator = _structure_facts(s.tobytes(), p)
    total = total_effects(b)
    if not recursive:
        radius = np.max(np.abs(np.linalg.eigvals(b)), axis=-1)
        if np.any(radius >= 1.0):
            warnings.warn(
                f"the feedback loops are unstable (spectral radius of B up to "
                f"{float(np.max(radius)):.3g} >= 1 in {int(np.sum(radius >= 1.0))} of "
                f"{radius.size} cases): total effects from (I - B)^-1 are not the sum of "
                "path effects and are not interpretable as equilibrium effects",
                InadmissibleSolutionWarning,
                stacklevel=2,
            )

    rows: list[EffectRow] = []
    for cause_name, outcome_name in pairs:
        c = _index(names, cause_name, "cause")
        o = _index(names, outcome_name, "outcome")
        if c == o:
            raise SpecificationError(
                f"pair ({cause_name!r}, {outcome_name!r}): a variable has no effect on itself "
                "in this decomposition; choose two different variables"
            )

        def row(
            kind: EffectKind, path: str, value: np.ndarray, c: int = c, o: int = o
        ) -> EffectRow:
            std = None
            if sd_arr is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    std = _value(value * sd_arr[..., c] / sd_arr[..., o])
            return EffectRow(names[c], names[o], kind, path, _value(value), std)

        aggregate = f"{cause_name} -> ... -> {outcome_name}"
        if not reach[o, c]:
            rows.append(row("total", aggregate, np.zeros(b.shape[:-2])))
            continue
        direct = b[..., o, c] if s[o, c] else np.zeros(b.shape[:-2])
        if s[o, c]:
            rows.append(row("direct", f"{cause_name} -> {outcome_name}", direct))
        if recursive:
            for route in _cached_paths(s.tobytes(), p, c, o):
                if len(route) == 2:
                    continue
                value = np.prod(
                    np.stack([b[..., route[k + 1], route[k]] for k in range(len(route) - 1)]),
                    axis=0,
                )
                rows.append(row("indirect", " -> ".join(names[v] for v in route), value))
        if via_mediator[o, c]:
            rows.append(row("total_indirect", aggregate, total[..., o, c] - direct))
        rows.append(row("total", aggregate, total[..., o, c]))
    return rows


@functools.lru_cache(maxsize=512)
def _structure_facts(key: bytes, p: int) -> tuple[bool, np.ndarray, np.ndarray]:
    """Recursiveness, reachability and 'reached through a mediator' of a structure.

    Cached on the structure's bytes: bootstrap and delta-method Jacobians decompose the
    same structure thousands of times.
    """
    s = np.frombuffer(key, dtype=bool).reshape(p, p)
    reach = _reachability(s)
    # Some route with at least one mediator: c -> ... -> m -> o.
    via_mediator = (s.astype(np.int64) @ reach.astype(np.int64)) > 0
    return _topological_order(s) is not None, reach, via_mediator


@functools.lru_cache(maxsize=4096)
def _cached_paths(key: bytes, p: int, cause: int, outcome: int) -> tuple[tuple[int, ...], ...]:
    s = np.frombuffer(key, dtype=bool).reshape(p, p)
    return tuple(enumerate_paths(s, cause, outcome))


def default_pairs(
    structure: npt.ArrayLike, names: Sequence[str], exogenous: Sequence[str]
) -> list[tuple[str, str]]:
    """List the usual pairs: each exogenous variable → each final outcome it reaches.

    Parameters
    ----------
    structure : array_like of bool, shape (p, p)
        True where the model has a path ``j → i``.
    names : sequence of str
        The ``p`` variable names.
    exogenous : sequence of str
        Exogenous variables (causes), in the order the rows should come.

    Returns
    -------
    list of (str, str)
        ``(cause, outcome)`` for every exogenous variable (in the given order) and every
        final outcome -- a variable with incoming but no outgoing paths -- that it
        reaches (in variable order).

    Raises
    ------
    SpecificationError
        An exogenous name is not in ``names`` (with close matches).

    Examples
    --------
    >>> s = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]], dtype=bool)
    >>> default_pairs(s, ["x", "m", "y"], ["x"])
    [('x', 'y')]
    """
    s = _as_structure(structure)
    names = list(names)
    if len(names) != s.shape[0]:
        raise SpecificationError(
            f"names= has {len(names)} entries but structure= has {s.shape[0]} variables"
        )
    reach = _reachability(s)
    final = s.any(axis=1) & ~s.any(axis=0)
    pairs: list[tuple[str, str]] = []
    for cause_name in exogenous:
        c = _index(names, cause_name, "exogenous variable")
        pairs.extend((cause_name, names[o]) for o in np.flatnonzero(final & reach[:, c]) if o != c)
    return pairs
