"""Reports of a fitted model: path diagram, effects forest plot and an HTML page.

:func:`path_diagram` draws the fitted model with observed variables as boxes and latent
variables as ellipses, laid out left to right in causal order; :func:`effects_plot`
compares direct, specific indirect, total indirect and total effects with their
intervals; :func:`write_report` writes both, the result tables (CSV and JSON) and one
self-contained HTML page to a folder.

matplotlib is imported inside the functions that draw, so ``import pathmodels`` does not
load it; the figures are built with matplotlib's object API (``Figure`` with an Agg
canvas), never with ``pyplot``, so drawing leaves no global state behind.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pathmodels.exceptions import SpecificationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from pathmodels.results import Result

__all__ = ["effects_plot", "path_diagram", "write_report"]

# ---------------------------------------------------------------------------- geometry
# The diagram is laid out in inches: on a figure we create, one data unit is one inch, so
# text measured in points converts exactly and labels can be kept from overlapping.
_NODE_FONT = 10.0
_LABEL_FONT = 8.5
_BOX_H = 0.42
_BOX_PAD = 0.30
_BOX_MIN_W = 0.75
_ELLIPSE_H = 0.62
_ELLIPSE_PAD = 0.60
_ELLIPSE_MIN_W = 1.05
_V_GAP = 0.6  # between structural nodes stacked in a column
_IND_V_GAP = 0.16  # between indicators stacked beside their latent
_IND_H_GAP = 0.14  # between indicators in a row above/below their latent
_IND_COL_GAP = 1.15  # latent edge to indicator column
_IND_ROW_DY = 1.4  # latent centre to indicator row centre
_MARGIN = 0.25
_TITLE_H = 0.45
_CAPTION_H = 0.35
_N_POINTS = 81  # points sampled along each curve
_NODE_CLEARANCE = 0.07  # curves must keep this far from boxes they do not join
_SIG_COLOR = "#1d2b3a"
_NONSIG_COLOR = "#97a3b0"
_COV_COLOR = "#4d5b6a"


@dataclass
class _Node:
    name: str
    latent: bool
    structural: bool = True
    layer: int = 0
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    indicators: list[str] = field(default_factory=list)
    placement: str = ""  # where its indicators go: left, right, above, below
    floating: bool = False  # a factor of indicators placed with other latents (RI-CLPM)
    loads: list[str] = field(default_factory=list)  # every variable it loads on

    def rect(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        return (self.x - self.w / 2 - margin, self.y - self.h / 2 - margin,
                self.x + self.w / 2 + margin, self.y + self.h / 2 + margin)


@dataclass
class _Edge:
    source: str
    target: str
    kind: str  # "regression", "loading" or "covariance"
    value: float
    pvalue: float
    text: str
    rad: float = 0.0
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    from_sides: bool = False  # runs between side midpoints, not centres
    label_xy: tuple[float, float] | None = None


# ---------------------------------------------------------------------------- helpers
def _stars(pvalue: float) -> str:
    if not np.isfinite(pvalue):
        return ""
    if pvalue < 0.001:
        return "***"
    if pvalue < 0.01:
        return "**"
    if pvalue < 0.05:
        return "*"
    return ""


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _group_title(result: Result, group: int) -> str:
    """``, group 2 (label)`` for multigroup fits, else nothing."""
    if result.table.ngroups <= 1:
        return ""
    labels = result.info.get("group_labels") or []
    return f", group {group}" + (f" ({labels[group - 1]})" if 0 < group <= len(labels) else "")


def _select_group(frame: pd.DataFrame, group: int, result: Result, what: str) -> pd.DataFrame:
    """Rows of one group; a single-group result accepts only group 1."""
    if frame.empty:
        return frame
    groups = sorted({int(g) for g in frame["group"] if int(g) > 0})
    if group not in groups and not (group == 1 and not groups):
        labels = result.info.get("group_labels") or []
        known = ", ".join(
            f"{g}" + (f" ({labels[g - 1]})" if 0 < g <= len(labels) else "") for g in groups
        )
        raise SpecificationError(
            f"{what}: group={group!r} is not a group of this fit; groups are 1-based: {known}"
        )
    return frame[frame["group"] == group]


def _renderer() -> RendererAgg:
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(8, 8, 72)  # 72 dpi: measured pixels are points


def _text_size(renderer: RendererAgg, text: str, size: float,
               weight: str = "normal") -> tuple[float, float]:
    """Width and height of a one-line text in inches."""
    from matplotlib.font_manager import FontProperties

    if not text:
        return 0.0, 0.0
    w, h, _ = renderer.get_text_width_height_descent(
        text, FontProperties(size=size, weight=weight), ismath=False)
    return w / 72.0, h / 72.0


def _quad(p0: tuple[float, float], p1: tuple[float, float], rad: float,
          n: int = _N_POINTS) -> np.ndarray:
    """Points of matplotlib's ``arc3`` connection (a quadratic Bezier) from p0 to p1."""
    (x1, y1), (x2, y2) = p0, p1
    cx = (x1 + x2) / 2 + rad * (y2 - y1)
    cy = (y1 + y2) / 2 - rad * (x2 - x1)
    t = np.linspace(0.0, 1.0, n)[:, None]
    a = np.array([x1, y1])
    c = np.array([cx, cy])
    b = np.array([x2, y2])
    return np.asarray((1 - t) ** 2 * a + 2 * (1 - t) * t * c + t**2 * b)


def _inside(points: np.ndarray, rect: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = rect
    return np.asarray((points[:, 0] > x0) & (points[:, 0] < x1)
                      & (points[:, 1] > y0) & (points[:, 1] < y1))


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


# ---------------------------------------------------------------------------- the graph
def _diagram_graph(result: Result, group: int, standardized: bool,
                   decimals: int) -> tuple[dict[str, _Node], list[_Edge]]:
    """Nodes and edges of one group, read from the estimates table."""
    est = result.estimates
    est = est[est["op"].isin(["=~", "~", "~~"])]
    est = _select_group(est, group, result, "path_diagram")
    roles = result.table.roles
    column = "std_all" if standardized else "est"

    nodes: dict[str, _Node] = {}
    for name in roles.latent:
        nodes[name] = _Node(name, latent=True)
    for name in roles.observed:
        nodes.setdefault(name, _Node(name, latent=False))

    edges: list[_Edge] = []
    for row in est.itertuples(index=False):
        lhs, op, rhs = str(row.lhs), str(row.op), str(row.rhs)
        if op == "~~" and lhs == rhs:
            continue  # variances: no clutter
        for name in (lhs, rhs):
            nodes.setdefault(name, _Node(name, latent=False))
        value = _as_float(getattr(row, column))
        pvalue = _as_float(row.pvalue)
        if _as_float(row.est) == 0.0 and not _as_float(row.se) > 0:
            continue  # fixed at zero: a path that is absent, not one to draw
        text = "" if not np.isfinite(value) else f"{value:.{decimals}f}{_stars(pvalue)}"
        if op == "~":
            edges.append(_Edge(rhs, lhs, "regression", value, pvalue, text))
        elif op == "=~":
            edges.append(_Edge(lhs, rhs, "loading", value, pvalue, text))
        else:
            edges.append(_Edge(lhs, rhs, "covariance", value, pvalue, text))
    return nodes, edges


def _classify(nodes: dict[str, _Node], edges: list[_Edge]) -> None:
    """Mark pure indicators and attach each to one latent (the one with fewest indicators)."""
    in_regression = {e.source for e in edges if e.kind == "regression"} | {
        e.target for e in edges if e.kind == "regression"}
    loads: dict[str, list[str]] = {}
    for e in edges:
        if e.kind == "loading":
            loads.setdefault(e.target, []).append(e.source)
            nodes[e.source].loads.append(e.target)
    n_ind = {name: sum(1 for e in edges if e.kind == "loading" and e.source == name)
             for name in nodes}
    for name, owners in loads.items():
        node = nodes[name]
        if node.latent or name in in_regression:
            continue  # higher-order factors and regressed indicators stay structural
        node.structural = False
        owner = min(owners, key=lambda o: (n_ind[o], owners.index(o)))
        nodes[owner].indicators.append(name)
    # A factor whose indicators all sit with other latents (the random intercepts of an
    # RI-CLPM) floats in a band above or below them instead of taking a column.
    for node in nodes.values():
        if (node.latent and node.loads and not node.indicators
                and node.name not in in_regression
                and all(not nodes[t].structural for t in node.loads)):
            node.floating = True


def _layers(nodes: dict[str, _Node], edges: list[_Edge]) -> list[list[str]]:
    """Layer = longest path from an exogenous variable; final outcomes go last."""
    structural = [n for n, node in nodes.items() if node.structural and not node.floating]
    parents: dict[str, list[str]] = {n: [] for n in structural}
    children: dict[str, list[str]] = {n: [] for n in structural}
    for e in edges:
        if e.kind == "covariance" or e.source not in parents or e.target not in parents:
            continue
        if e.source != e.target:
            parents[e.target].append(e.source)
            children[e.source].append(e.target)
    layer: dict[str, int] = {}
    active: set[str] = set()

    def visit(name: str) -> int:
        if name in layer:
            return layer[name]
        active.add(name)
        best = 0
        for p in parents[name]:
            if p not in active:  # an edge back into the path: a feedback loop, ignore
                best = max(best, visit(p) + 1)
        active.discard(name)
        layer[name] = best
        return best

    for name in structural:
        visit(name)
    last = max(layer.values(), default=0)
    for name in structural:
        if parents[name] and not children[name]:
            layer[name] = last
    columns: list[list[str]] = [[] for _ in range(last + 1)]
    for name in structural:  # order of first appearance in the model
        nodes[name].layer = layer[name]
        columns[layer[name]].append(name)
    return _order_columns(columns, parents, children)


def _order_columns(columns: list[list[str]], parents: dict[str, list[str]],
                   children: dict[str, list[str]]) -> list[list[str]]:
    """Barycentre sweeps to reduce crossings; keeps the best ordering seen."""

    def positions(cols: list[list[str]]) -> dict[str, float]:
        return {n: i - (len(c) - 1) / 2 for c in cols for i, n in enumerate(c)}

    def crossings(cols: list[list[str]]) -> int:
        pos = positions(cols)
        lay = {n: k for k, c in enumerate(cols) for n in c}
        pairs = [(pos[p], pos[n]) for n in pos for p in parents[n] if lay[p] == lay[n] - 1]
        count = 0
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1:]:
                count += (a1 - a2) * (b1 - b2) < 0
        return count

    def barycentre(n: str, pos: dict[str, float], neighbours: dict[str, list[str]]) -> float:
        near = [pos[m] for m in neighbours[n] if m in pos]
        return float(np.mean(near)) if near else pos[n]

    best = [list(c) for c in columns]
    best_cross = crossings(best)
    cols = [list(c) for c in columns]
    for sweep in range(6):
        pos = positions(cols)
        neighbours = parents if sweep % 2 == 0 else children
        order = range(len(cols)) if sweep % 2 == 0 else range(len(cols) - 1, -1, -1)
        for k in order:
            keys = {n: barycentre(n, pos, neighbours) for n in cols[k]}
            cols[k] = sorted(cols[k], key=keys.__getitem__)
            pos = positions(cols)
        cross = crossings(cols)
        if cross < best_cross:
            best, best_cross = [list(c) for c in cols], cross
    return best


# ---------------------------------------------------------------------------- layout
def _layout(nodes: dict[str, _Node], columns: list[list[str]], renderer: RendererAgg,
            col_gap: float) -> None:
    """Sizes and positions (inches) of every node."""
    for node in nodes.values():
        tw, _ = _text_size(renderer, node.name, _NODE_FONT)
        if node.latent:
            node.w, node.h = max(_ELLIPSE_MIN_W, tw + _ELLIPSE_PAD), _ELLIPSE_H
        else:
            node.w, node.h = max(_BOX_MIN_W, tw + _BOX_PAD), _BOX_H
    last = len(columns) - 1
    for k, col in enumerate(columns):
        for i, name in enumerate(col):
            node = nodes[name]
            if not node.indicators:
                continue
            if len(node.indicators) > 1 and k == 0:
                node.placement = "left"
            elif len(node.indicators) > 1 and k == last:
                node.placement = "right"
            else:
                node.placement = "above" if i < max(1, len(col) / 2) else "below"

    def row_width(node: _Node) -> float:
        ws = [nodes[i].w for i in node.indicators]
        return sum(ws) + _IND_H_GAP * (len(ws) - 1)

    def stack_height(node: _Node) -> float:
        return len(node.indicators) * _BOX_H + _IND_V_GAP * (len(node.indicators) - 1)

    def extents(node: _Node) -> tuple[float, float]:
        up = down = node.h / 2
        if node.placement in ("left", "right"):
            up = down = max(up, stack_height(node) / 2)
        elif node.placement == "above":
            up = _IND_ROW_DY + _BOX_H / 2
        elif node.placement == "below":
            down = _IND_ROW_DY + _BOX_H / 2
        return up, down

    half = []
    for col in columns:
        hw = 0.0
        for name in col:
            node = nodes[name]
            hw = max(hw, node.w / 2)
            if node.placement in ("above", "below"):
                hw = max(hw, row_width(node) / 2)
        half.append(hw)
    xs = [0.0]
    for k in range(1, len(columns)):
        xs.append(xs[-1] + half[k - 1] + col_gap + half[k])

    for k, col in enumerate(columns):
        cur = 0.0
        for name in col:
            node = nodes[name]
            up, down = extents(node)
            node.x, node.y = xs[k], cur - up
            cur = node.y - down - _V_GAP
        top, bottom = 0.0, cur + _V_GAP
        shift = -(top + bottom) / 2
        for name in col:
            nodes[name].y += shift

    def widest(side: str) -> float:
        return max((nodes[i].w for n in nodes.values() if n.placement == side
                    for i in n.indicators), default=0.0)

    left_w, right_w = widest("left"), widest("right")
    for node in nodes.values():
        if not node.indicators:
            continue
        k = node.layer
        inds = [nodes[i] for i in node.indicators]
        if node.placement in ("left", "right"):
            sign = -1.0 if node.placement == "left" else 1.0
            width = left_w if node.placement == "left" else right_w
            x = xs[k] + sign * (half[k] + _IND_COL_GAP + width / 2)
            y = node.y + stack_height(node) / 2 - _BOX_H / 2
            for ind in inds:
                ind.x, ind.y = x, y
                y -= _BOX_H + _IND_V_GAP
        else:
            y = node.y + (_IND_ROW_DY if node.placement == "above" else -_IND_ROW_DY)
            x = node.x - row_width(node) / 2
            for ind in inds:
                ind.x, ind.y = x + ind.w / 2, y
                x += ind.w + _IND_H_GAP
    _place_floating(nodes)
    # Anything left unplaced (an indicator whose latent is missing) goes below everything.
    placed = {i for n in nodes.values() for i in n.indicators}
    stray = [n for n in nodes.values() if not n.structural and n.name not in placed]
    if stray:
        y = min(n.y - n.h / 2 for n in nodes.values()) - 1.0
        for i, node in enumerate(stray):
            node.x, node.y = i * (node.w + 0.3), y


def _place_floating(nodes: dict[str, _Node]) -> None:
    """Put floating factors in a band above or below their indicators."""
    floating = [n for n in nodes.values() if n.floating]
    fixed = [n for n in nodes.values() if not n.floating]
    if not floating or not fixed:
        return
    top = max(n.y + n.h / 2 for n in fixed)
    bottom = min(n.y - n.h / 2 for n in fixed)
    middle = (top + bottom) / 2
    bands: dict[bool, list[_Node]] = {True: [], False: []}
    for node in floating:
        targets = [nodes[t] for t in node.loads]
        node.x = float(np.mean([t.x for t in targets]))
        above = float(np.mean([t.y for t in targets])) >= middle
        node.y = top + 1.3 + node.h / 2 if above else bottom - 1.3 - node.h / 2
        bands[above].append(node)
    for band in bands.values():
        band.sort(key=lambda n: n.x)
        for left, right in zip(band, band[1:], strict=False):
            right.x = max(right.x, left.x + (left.w + right.w) / 2 + 0.5)


def _anchors(node: _Node) -> list[tuple[float, float]]:
    """Midpoints of a node's four sides."""
    return [(node.x - node.w / 2, node.y), (node.x + node.w / 2, node.y),
            (node.x, node.y + node.h / 2), (node.x, node.y - node.h / 2)]


def _route(nodes: dict[str, _Node], edges: list[_Edge]) -> None:
    """Pick a curvature (and, if need be, end points) so arrows miss the boxes they skip.

    Arrows run between node centres and are clipped at the node outlines. Only when every
    curvature tried would cross a box do they run between side midpoints instead (say, a
    covariance into the lower of two stacked boxes, coming from above).
    """
    xc = float(np.mean([n.x for n in nodes.values()]))
    yc = float(np.mean([n.y for n in nodes.values()]))
    pairs = {(e.source, e.target) for e in edges if e.kind != "covariance"}
    routed: list[np.ndarray] = []

    def span(e: _Edge) -> tuple[int, float]:
        a, b = nodes[e.source], nodes[e.target]
        return (e.kind == "covariance", math.hypot(a.x - b.x, a.y - b.y))

    for e in sorted(edges, key=span):
        a, b = nodes[e.source], nodes[e.target]
        dx, dy = b.x - a.x, b.y - a.y
        # Which sign of rad bulges outwards (away from the centre of the drawing)?
        if abs(dx) > 1e-9:
            out = -np.sign(dx) if (a.y + b.y) / 2 >= yc else np.sign(dx)
        else:
            out = np.sign(dy) if a.x >= xc else -np.sign(dy)
        out = out or 1.0
        loop = (e.target, e.source) in pairs and e.kind != "covariance"
        if e.kind == "covariance":
            mags = [0.5, 0.7, 0.35, 0.9, 1.1]
        elif loop:  # feedback loop: two arcs, not one line
            mags = [0.15, 0.3, 0.45]
        else:
            mags = [0.0, 0.08, 0.15, 0.22, 0.3, 0.4, 0.5, 0.65]
        others = [n.rect(_NODE_CLEARANCE) for n in nodes.values()
                  if n.name not in (e.source, e.target)]
        centre = [((a.x, a.y), (b.x, b.y))]
        sides = [(pa, pb) for pa in _anchors(a) for pb in _anchors(b)]
        best: tuple[Any, ...] | None = None
        for a_rank, ends in enumerate((centre, sides)):
            if best is not None and best[0][0] == 0:
                break
            for start, end in ends:
                for m_rank, mag in enumerate(mags):
                    signs = [1.0] if mag == 0 else [out, -out]
                    for s_rank, sign in enumerate(signs):
                        rad = float(mag if loop else mag * sign)  # loops: opposite sides
                        pts = _quad(start, end, rad)
                        hits = sum(int(_inside(pts, r).any()) for r in others)
                        if a_rank:  # from a side: must not cut back through its own box
                            hits += int(_inside(pts[1:-1], a.rect(-0.02)).any())
                            hits += int(_inside(pts[1:-1], b.rect(-0.02)).any())
                        inner = pts[8:-8]
                        near = 0
                        for other in routed:
                            d = np.hypot(inner[:, None, 0] - other[None, :, 0],
                                         inner[:, None, 1] - other[None, :, 1])
                            near += int((d.min(axis=1) < 0.12).sum())
                        if e.kind == "covariance":
                            key: tuple[Any, ...] = (hits, a_rank, near // 4, m_rank, s_rank)
                        else:
                            key = (hits, a_rank, m_rank, near, s_rank)
                        if best is None or key < best[0]:
                            best = (key, rad, pts, a_rank)
        assert best is not None
        e.rad, e.points, e.from_sides = best[1], best[2], bool(best[3])
        routed.append(e.points[8:-8])


def _place_labels(nodes: dict[str, _Node], edges: list[_Edge], renderer: RendererAgg,
                  ) -> list[tuple[float, float, float, float]]:
    """Put each estimate on its curve where it covers no box, label or other arrow."""
    boxes = [n.rect(0.02) for n in nodes.values()]
    taken: list[tuple[float, float, float, float]] = []
    spots = {
        "regression": [0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73, 0.2, 0.8],
        "loading": [0.62, 0.7, 0.55, 0.77, 0.48, 0.84],
        "covariance": [0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75],
    }
    order = sorted(edges, key=lambda e: e.kind == "covariance")
    for e in order:
        if not e.text:
            continue
        others = [o.points for o in edges if o is not e]
        w, h = _text_size(renderer, e.text, _LABEL_FONT)
        w, h = w + 0.1, h + 0.1
        best: tuple[float, tuple[float, float], tuple[float, float, float, float]] | None = None
        for rank, t in enumerate(spots[e.kind]):
            x, y = e.points[int(round(t * (len(e.points) - 1)))]
            rect = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            conflict = (10 * sum(_overlap(rect, r) for r in boxes + taken)
                        + 0.03 * sum(int(_inside(pts, rect).sum()) for pts in others))
            cost = conflict + 0.002 * rank
            if best is None or cost < best[0]:
                best = (cost, (float(x), float(y)), rect)
            if conflict == 0:
                break
        assert best is not None
        e.label_xy = best[1]
        taken.append(best[2])
    return taken


# ---------------------------------------------------------------------------- diagram
def path_diagram(
    result: Result,
    *,
    standardized: bool = False,
    group: int = 1,
    ax: Axes | None = None,
    decimals: int = 2,
) -> Figure:
    """Draw the fitted model as a path diagram.

    Observed variables are boxes and latent variables ellipses. Structural variables are
    placed in columns from left to right by causal order: a variable's column is the
    length of the longest chain of regressions leading to it from an exogenous variable,
    and final outcomes (variables that predict nothing) share the last column. Indicators
    sit beside their latent variable: to the left of a first-column latent, to the right
    of a last-column one, and in a row above or below otherwise. Straight arrows are
    regressions and loadings, labelled with the estimate and significance stars;
    curved two-headed arrows are (residual) covariances between distinct variables.
    Variances and intercepts are not drawn. Paths with ``p >= .05`` are grey.

    Parameters
    ----------
    result : Result
        A fitted model.
    standardized : bool, default False
        Label paths with ``std_all`` instead of the unstandardized estimate.
    group : int, default 1
        Which group of a multigroup fit to draw (1-based).
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (their aspect is set equal and their frame hidden; text is
        scaled down if the axes are smaller than the diagram). Default: a new figure
        sized to the diagram.
    decimals : int, default 2
        Decimals of the path labels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).

    Raises
    ------
    SpecificationError
        ``group`` is not a group of the fit.

    See Also
    --------
    effects_plot : Forest plot of the direct and indirect effects.
    write_report : Writes this diagram with the tables to a folder.

    Notes
    -----
    Stars: ``***`` p < .001, ``**`` p < .01, ``*`` p < .05 (the two-sided Wald p-values
    of the estimates table, also when ``standardized=True``). Feedback loops of
    non-recursive models are drawn as two arcs; the layering ignores the edge that
    closes a loop. Curvatures and label positions are chosen so that arrows miss the
    boxes they do not join and labels cover no box or other label.

    Examples
    --------
    >>> import pathmodels as pm
    >>> from pathmodels.report import path_diagram
    >>> res = pm.fit(pm.load_model("ips_employment_qol"), pm.load_dataset("ips_trial"))
    >>> fig = path_diagram(res)
    >>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_gid() == "node")
    ['arm', 'employ', 'qol', 'selfest', 'support']
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse, FancyArrowPatch, Rectangle

    nodes, edges = _diagram_graph(result, group, standardized, decimals)
    _classify(nodes, edges)
    columns = _layers(nodes, edges)
    renderer = _renderer()
    widest_label = max((_text_size(renderer, e.text, _LABEL_FONT)[0] for e in edges
                        if e.kind == "regression"), default=0.5)
    _layout(nodes, columns, renderer, col_gap=max(1.5, widest_label + 0.95))
    _route(nodes, edges)
    label_rects = _place_labels(nodes, edges, renderer)

    # extents of everything drawn
    xs: list[float] = []
    ys: list[float] = []
    for node in nodes.values():
        x0, y0, x1, y1 = node.rect()
        xs += [x0, x1]
        ys += [y0, y1]
    for e in edges:
        xs += list(e.points[:, 0])
        ys += list(e.points[:, 1])
    for x0, y0, x1, y1 in label_rects:
        xs += [x0, x1]
        ys += [y0, y1]
    if not xs:
        xs, ys = [0.0, 1.0], [0.0, 1.0]
    xmin, xmax = min(xs) - _MARGIN, max(xs) + _MARGIN
    ymin, ymax = min(ys) - _MARGIN, max(ys) + _MARGIN
    width, height = xmax - xmin, ymax - ymin

    name = result.spec.name or "model"
    scale_name = "standardized (std.all)" if standardized else "unstandardized"
    title = f"{name}: {scale_name} estimates"
    title += _group_title(result, group)
    caption = ("*** p < .001   ** p < .01   * p < .05   grey: p \u2265 .05   "
               "curved two-headed arrows: (residual) covariances")

    if ax is None:
        fig_w = max(width, _text_size(renderer, caption, 8.0)[0] + 0.4, 4.0)
        fig_h = height + _TITLE_H + _CAPTION_H
        fig = Figure(figsize=(fig_w, fig_h))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, _CAPTION_H / fig_h, 1.0, height / fig_h))
        extra = (fig_w - width) / 2
        xmin, xmax = xmin - extra, xmax + extra
        font_scale = 1.0
        fig.text(0.5, 1 - 0.5 * _TITLE_H / fig_h, title, ha="center", va="center",
                 fontsize=11, fontweight="bold")
        fig.text(0.5, 0.5 * _CAPTION_H / fig_h, caption, ha="center", va="center",
                 fontsize=8, color="#4d5b6a")
    else:
        try:
            parent = ax.get_figure(root=True)
        except TypeError:  # matplotlib < 3.10: a subfigure's .figure is the root figure
            parent = ax.figure.figure  # type: ignore[assignment,union-attr]
        if parent is None:
            raise SpecificationError("path_diagram: ax= must belong to a figure")
        fig = parent
        bbox = ax.get_position()
        fw, fh = fig.get_size_inches()
        font_scale = float(np.clip(min(bbox.width * fw / width, bbox.height * fh / height),
                                   0.4, 1.0))
        ax.set_title(title, fontsize=11 * font_scale)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()

    patches: dict[str, Patch] = {}
    for node in nodes.values():
        patch: Patch
        if node.latent:
            patch = Ellipse((node.x, node.y), node.w, node.h, facecolor="#fff4e0",
                            edgecolor="#8a5a00", linewidth=1.3, zorder=3)
        else:
            patch = Rectangle((node.x - node.w / 2, node.y - node.h / 2), node.w, node.h,
                              facecolor="#eef3fa", edgecolor="#2b4a6f", linewidth=1.2,
                              zorder=3)
        patch.set_gid(f"{'latent' if node.latent else 'observed'}:{node.name}")
        ax.add_patch(patch)
        patches[node.name] = patch
        ax.text(node.x, node.y, node.name, ha="center", va="center",
                fontsize=_NODE_FONT * font_scale, zorder=4, gid="node",
                fontstyle="italic" if node.latent else "normal")

    for e in edges:
        significant = bool(np.isfinite(e.pvalue) and e.pvalue < 0.05) or not np.isfinite(e.pvalue)
        if e.kind == "covariance":
            color = _COV_COLOR if significant else _NONSIG_COLOR
            style, lw = "<|-|>", 0.9
        else:
            color = _SIG_COLOR if significant else _NONSIG_COLOR
            style, lw = "-|>", 1.2
        start, end = (e.points[0], e.points[-1])
        clip = not e.from_sides
        arrow = FancyArrowPatch(
            tuple(start), tuple(end), patchA=patches[e.source] if clip else None,
            patchB=patches[e.target] if clip else None,
            arrowstyle=style, mutation_scale=11 * font_scale, linewidth=lw, color=color,
            connectionstyle=f"arc3,rad={e.rad:.4f}", shrinkA=1.5, shrinkB=1.5, zorder=2,
            linestyle="-" if significant else (0, (4, 2)),
        )
        arrow.set_gid(f"{e.kind}:{e.source}->{e.target}")
        ax.add_patch(arrow)
        if e.label_xy is not None:
            ax.text(*e.label_xy, e.text, ha="center", va="center",
                    fontsize=_LABEL_FONT * font_scale, color=color, zorder=5, gid="estimate",
                    bbox={"boxstyle": "round,pad=0.12", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.92})
    return fig


# ---------------------------------------------------------------------------- effects
_EFFECT_ORDER = {"direct": 0, "indirect": 1, "total_indirect": 2, "total": 3}
_EFFECT_STYLE = {
    "direct": ("s", "#2166ac"),
    "indirect": ("o", "#e08214"),
    "total_indirect": ("D", "#b35806"),
    "total": ("D", "#1d2b3a"),
}


def _effect_rows(effects: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """Effects grouped by (cause, outcome) in order of appearance, rows in plot order."""
    out = []
    pairs = list(dict.fromkeys(zip(effects["cause"], effects["outcome"], strict=True)))
    for cause, outcome in pairs:
        sub = effects[(effects["cause"] == cause) & (effects["outcome"] == outcome)]
        rank = sub["effect"].map(_EFFECT_ORDER).fillna(1.5)
        sub = sub.assign(_rank=rank.to_numpy()).sort_values("_rank", kind="stable")
        out.append((str(cause), str(outcome), sub.drop(columns="_rank")))
    return out


def _effect_label(row: pd.Series) -> str:
    kind = str(row["effect"])
    if kind == "indirect":
        return "indirect: " + str(row["path"]).replace(" -> ", " \u2192 ")
    if kind == "total_indirect":
        return "total indirect"
    return kind


def effects_plot(result: Result, *, group: int = 1) -> Figure:
    """Forest plot of direct, specific indirect, total indirect and total effects.

    One block per (cause, outcome) pair of :attr:`Result.effects`; each effect is a
    point with its confidence interval (the interval method and level of the fit), and
    its estimate, interval and significance stars are printed on the right.

    Parameters
    ----------
    result : Result
        A fitted model.
    group : int, default 1
        Which group of a multigroup fit (1-based).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecificationError
        ``group`` is not a group of the fit.

    See Also
    --------
    path_diagram : The model drawn as a path diagram.

    Examples
    --------
    >>> import pathmodels as pm
    >>> from pathmodels.report import effects_plot
    >>> res = pm.fit(pm.load_model("ips_employment_qol"), pm.load_dataset("ips_trial"))
    >>> fig = effects_plot(res)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()][:2]
    ['arm \u2192 qol', 'direct']
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    effects = _select_group(result.effects, group, result, "effects_plot")
    name = result.spec.name or "model"
    level = result.options.get("level", 0.95)
    ci = result.options.get("ci", "")
    renderer = _renderer()
    if effects.empty:
        fig = Figure(figsize=(6.0, 1.5))
        FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, f"{name}: no effects were computed for this model",
                 ha="center", va="center", fontsize=11)
        return fig

    blocks = _effect_rows(effects)
    labels: list[str] = []
    headers: list[int] = []
    tick_y: list[float] = []
    rows: list[tuple[float, pd.Series]] = []
    y = 0.0
    for cause, outcome, sub in blocks:
        headers.append(len(labels))
        labels.append(f"{cause} \u2192 {outcome}")
        tick_y.append(y)
        y -= 1.0
        for _, r in sub.iterrows():
            labels.append(_effect_label(r))
            tick_y.append(y)
            rows.append((y, r))
            y -= 1.0
        y -= 0.4

    label_w = max(_text_size(renderer, s, 9.0)[0] for s in labels) + 0.25
    value_texts = []
    for _, r in rows:
        est, lo, hi = (_as_float(r[c]) for c in ("est", "ci_lower", "ci_upper"))
        txt = _fmt3(est) + _stars(_as_float(r["pvalue"]))
        if np.isfinite(lo) and np.isfinite(hi):
            txt += f"  [{_fmt3(lo)}, {_fmt3(hi)}]"
        value_texts.append(txt)
    value_w = max(_text_size(renderer, s, 8.5)[0] for s in value_texts) + 0.15
    plot_w = 4.0
    fig_w = label_w + plot_w + value_w + 0.2
    bottom, top = 0.6, 0.5
    fig_h = 0.28 * (len(labels) + 0.4 * len(blocks)) + bottom + top
    fig = Figure(figsize=(fig_w, fig_h))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((label_w / fig_w, bottom / fig_h, plot_w / fig_w,
                       (fig_h - bottom - top) / fig_h))

    for (yv, r), txt in zip(rows, value_texts, strict=True):
        marker, color = _EFFECT_STYLE.get(str(r["effect"]), ("o", "#555555"))
        est, lo, hi = (_as_float(r[c]) for c in ("est", "ci_lower", "ci_upper"))
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [yv, yv], color=color, linewidth=1.6, solid_capstyle="butt")
            ax.plot([lo, lo], [yv - 0.18, yv + 0.18], color=color, linewidth=1.2)
            ax.plot([hi, hi], [yv - 0.18, yv + 0.18], color=color, linewidth=1.2)
        if np.isfinite(est):
            ax.plot([est], [yv], marker=marker, color=color, markersize=6.5, linestyle="none",
                    zorder=3, gid=f"effect:{r['effect']}")
        ax.text(1.02, yv, txt, transform=ax.get_yaxis_transform(), va="center",
                ha="left", fontsize=8.5, color=color)
    ax.axvline(0.0, color="#888888", linewidth=0.8, linestyle="--", zorder=0)
    for h in headers[1:]:
        ax.axhline(tick_y[h] + 0.7, color="#cccccc", linewidth=0.8)
    ax.set_yticks(tick_y, labels)
    for i, tick in enumerate(ax.get_yticklabels()):
        tick.set_fontsize(9.0)
        if i in headers:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", labelsize=8.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.set_ylim(min(tick_y) - 0.7, max(tick_y) + 0.7)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    level_txt = f"{100 * float(level):.0f}% CI" + (f" ({ci})" if ci else "")
    ax.set_xlabel(f"effect (unstandardized) with {level_txt}", fontsize=9)
    title = f"{name}: direct and indirect effects"
    title += _group_title(result, group)
    fig.text(0.5, 1 - 0.22 / fig_h, title, ha="center", va="center", fontsize=11,
             fontweight="bold")
    return fig


# ---------------------------------------------------------------------------- report
_FIT_LABELS = {
    "chisq": "Model chi-square",
    "df": "Degrees of freedom",
    "pvalue": "p-value (chi-square)",
    "cfi": "Comparative fit index (CFI)",
    "tli": "Tucker-Lewis index (TLI)",
    "rmsea": "RMSEA",
    "rmsea_ci_lower": "RMSEA 90% CI lower",
    "rmsea_ci_upper": "RMSEA 90% CI upper",
    "srmr": "SRMR",
    "aic": "AIC",
    "bic": "BIC",
    "loglik": "Log-likelihood",
    "n": "Number of observations",
    "npar": "Number of free parameters",
    "converged": "Converged",
}
_INT_KEYS = {"df", "n", "npar", "group"}

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1150px; color: #1d2b3a; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #d5dde6; padding-bottom: 0.2em;
     margin-top: 1.8em; }
.meta { color: #4d5b6a; margin: 0.2em 0; }
.warnings { background: #fff3cd; border: 1px solid #e0b84c; border-left: 6px solid #d39e00;
            padding: 0.6em 1em; margin: 1em 0; }
.warnings ul { margin: 0.3em 0; padding-left: 1.2em; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.5em 0; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e3e8ee; }
th { background: #eef3fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #f8fafc; }
img { max-width: 100%; height: auto; border: 1px solid #e3e8ee; }
pre { background: #f6f8fa; padding: 0.8em; border: 1px solid #e3e8ee; overflow-x: auto; }
"""


def _fmt3(value: Any) -> str:
    x = _as_float(value)
    return "" if not np.isfinite(x) else f"{x:.3f}"


def _cell(key: str, value: Any) -> tuple[str, bool]:
    """Text of a table cell (escaped) and whether it is a number."""
    if value is None:
        return "", True
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), False
    if isinstance(value, (int, np.integer)):
        return str(int(value)), True
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "", True
        if key in _INT_KEYS and float(value).is_integer():
            return str(int(value)), True
        return f"{float(value):.3f}", True
    return html.escape(str(value)), False


def _html_table(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for rec in frame[list(columns)].to_dict("records"):
        cells = []
        for c in columns:
            text, numeric = _cell(c, rec[c])
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _fit_table(fit: dict[str, Any]) -> str:
    keys = [k for k in _FIT_LABELS if k in fit] + [k for k in fit if k not in _FIT_LABELS]
    rows = []
    for k in keys:
        text, numeric = _cell(k, fit[k])
        cls = ' class="num"' if numeric else ""
        label = html.escape(_FIT_LABELS.get(k, k))
        rows.append(f"<tr><td>{html.escape(k)}</td><td>{label}</td><td{cls}>{text}</td></tr>")
    return ("<table><thead><tr><th>measure</th><th>description</th><th>value</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _png_bytes(fig: Figure, path: Path) -> bytes:
    fig.savefig(path, dpi=150, facecolor="white")
    return path.read_bytes()


def _img(data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _groups(result: Result) -> list[int]:
    return list(range(1, int(result.table.ngroups) + 1))


def write_report(result: Result, out_dir: str | Path) -> Path:
    """Write the tables, figures and a self-contained HTML report of a fit to a folder.

    Files written (the folder is created if needed):

    - ``estimates.csv``, ``effects.csv``: :attr:`Result.estimates` and
      :attr:`Result.effects` at full precision;
    - ``fit.json``: fit measures, warnings and options (NaN as ``null``);
    - ``summary.txt``: :meth:`Result.summary`;
    - ``diagram.png``: :func:`path_diagram`; ``effects.png``: :func:`effects_plot`
      (multigroup fits add ``diagram_group2.png``, ``effects_group2.png``, ...);
    - ``report.html``: one page with the images embedded as data URIs: title and model
      description, warnings in a highlighted box, fit measures, the effects table and
      plot, all estimates, the path diagram and the lavaan syntax. Numbers have three
      decimals; missing values are blank.

    Parameters
    ----------
    result : Result
        A fitted model.
    out_dir : str or Path
        Folder to write into.

    Returns
    -------
    Path
        The path of ``report.html``.

    See Also
    --------
    path_diagram, effects_plot

    Examples
    --------
    >>> import tempfile
    >>> import pathmodels as pm
    >>> from pathmodels.report import write_report
    >>> res = pm.fit(pm.load_model("ips_employment_qol"), pm.load_dataset("ips_trial"))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = write_report(res, tmp)
    ...     sorted(p.name for p in page.parent.iterdir())
    ['diagram.png', 'effects.csv', 'effects.png', 'estimates.csv', 'fit.json', 'report.html', 'summary.txt']
    """  # noqa: E501
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result.estimates.to_csv(out / "estimates.csv", index=False)
    result.effects.to_csv(out / "effects.csv", index=False)
    as_dict = result.to_dict()
    (out / "fit.json").write_text(json.dumps(
        {"model": result.spec.name, "fit_measures": as_dict["fit"],
         "warnings": as_dict["warnings"], "options": as_dict["options"],
         "converged": as_dict["converged"]}, indent=2, allow_nan=False) + "\n")
    summary = result.summary()
    (out / "summary.txt").write_text(summary + "\n")

    multi = result.table.ngroups > 1
    diagrams: list[tuple[int, bytes]] = []
    plots: list[tuple[int, bytes]] = []
    for g in _groups(result):
        suffix = "" if g == 1 else f"_group{g}"
        diagram = path_diagram(result, group=g)
        diagrams.append((g, _png_bytes(diagram, out / f"diagram{suffix}.png")))
        plots.append((g, _png_bytes(effects_plot(result, group=g), out / f"effects{suffix}.png")))

    page = _html_page(result, diagrams, plots, multi)
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _html_page(result: Result, diagrams: Iterable[tuple[int, bytes]],
               plots: Iterable[tuple[int, bytes]], multi: bool) -> str:
    spec = result.spec
    meta = dict(spec.meta)
    name = spec.name or "model"
    title = str(meta.get("title") or "")
    heading = name + (f" \u2014 {title}" if title else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(heading)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(heading)}</h1>",
    ]
    for key, label in (("chain", "Chain"), ("description", "Description"),
                       ("citation", "Citation")):
        if meta.get(key):
            parts.append(f'<p class="meta"><b>{label}:</b> {html.escape(str(meta[key]))}</p>')
    fm = result.fit_measures
    opts = result.options
    run = (f"pathmodels {result.info.get('version', '')}, engine "
           f"{result.info.get('engine', '')}; N = {_cell('n', fm.get('n'))[0]}; "
           f"standard errors: {opts.get('se', '')}; intervals: {opts.get('ci', '')} "
           f"({_fmt_level(opts.get('level'))}); missing: {opts.get('missing', '')}; "
           f"{'converged' if result.converged else 'DID NOT CONVERGE'}")
    parts.append(f'<p class="meta">{html.escape(run)}</p>')
    if result.warnings or not result.converged:
        items = list(result.warnings)
        if not result.converged and not any("converge" in w.lower() for w in items):
            items.insert(0, "The optimiser did not converge: the estimates are not a solution.")
        lis = "".join(f"<li>{html.escape(w)}</li>" for w in items)
        parts.append(f'<div class="warnings"><b>Warnings</b><ul>{lis}</ul></div>')

    parts.append("<h2>Fit measures</h2>")
    parts.append(_fit_table(fm))

    parts.append("<h2>Effects: direct, indirect and total</h2>")
    eff_cols = [c for c in result.effects.columns if c != "group" or multi]
    if result.effects.empty:
        parts.append("<p>No effects were computed for this model.</p>")
    else:
        parts.append(_html_table(result.effects, eff_cols))
    for g, data in plots:
        if multi:
            parts.append(f"<h3>Group {g}</h3>")
        parts.append(_img(data, f"effects plot, group {g}"))

    parts.append("<h2>Parameter estimates</h2>")
    est_cols = [c for c in result.estimates.columns if c != "group" or multi]
    parts.append(_html_table(result.estimates, est_cols))

    parts.append("<h2>Path diagram</h2>")
    for g, data in diagrams:
        if multi:
            parts.append(f"<h3>Group {g}</h3>")
        parts.append(_img(data, f"path diagram, group {g}"))

    parts.append("<h2>Model syntax (lavaan)</h2>")
    parts.append(f"<pre>{html.escape(spec.syntax.strip())}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _fmt_level(level: Any) -> str:
    x = _as_float(level)
    return "" if not np.isfinite(x) else f"{100 * x:g}%"
