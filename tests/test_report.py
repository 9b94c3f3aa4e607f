"""Tests of pathmodels.report: path diagram, effects plot and the HTML report.

The Results here are built by hand from lavaan's output in ``tests/reference/lavaan``
(estimates, standardized solution and fit measures of real models), so the report is
tested on realistic numbers without depending on the fitting code; one test also runs
the real ``pm.fit`` end to end.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pathmodels as pm
from pathmodels.exceptions import SpecificationError
from pathmodels.results import EFFECT_COLUMNS, ESTIMATE_COLUMNS, Result
from pathmodels.spec import Spec

REFERENCE = Path(__file__).resolve().parent / "reference" / "lavaan"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# (cause, outcome, effect, path, defined parameter holding the value) per case
EFFECT_ROWS = {
    "ips_chain": [
        ("arm", "qol", "direct", "arm -> qol", None),
        ("arm", "qol", "indirect", "arm -> employ -> selfest -> qol", "ind_se"),
        ("arm", "qol", "indirect", "arm -> employ -> support -> qol", "ind_ss"),
        ("arm", "qol", "total_indirect", "", "ind_total"),
        ("arm", "qol", "total", "", "ind_total"),
    ],
    "serial_mediation": [],
    "sem_pd": [
        ("ind60", "dem65", "direct", "ind60 -> dem65", None),
        ("ind60", "dem65", "indirect", "ind60 -> dem60 -> dem65", "ind"),
        ("ind60", "dem65", "total_indirect", "", "ind"),
        ("ind60", "dem65", "total", "", "total"),
    ],
}


def _fit_measures(fit: dict, converged: bool) -> dict[str, float]:
    names = {"logl": "loglik", "ntotal": "n", "rmsea.ci.lower": "rmsea_ci_lower",
             "rmsea.ci.upper": "rmsea_ci_upper"}
    out = {names.get(k, k.replace(".", "_")): (np.nan if v is None else float(v))
           for k, v in fit.items() if not isinstance(v, (list, dict, str))}
    keep = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower",
            "rmsea_ci_upper", "srmr", "aic", "bic", "loglik", "n", "npar"]
    res = {k: out.get(k, np.nan) for k in keep}
    res["converged"] = converged
    return res


def result_from_reference(case: str, *, warnings: tuple[str, ...] = (),
                          meta: dict | None = None) -> Result:
    """A Result holding lavaan's numbers for one reference case."""
    raw = json.loads((REFERENCE / f"{case}.json").read_text())
    spec = Spec.from_syntax(raw["syntax"], name=case, meta=meta or {})
    ngroups = len(raw["n"]) if isinstance(raw["n"], list) else 1
    table = spec.table(ngroups=ngroups)
    est = pd.DataFrame.from_records(raw["estimates"]).rename(
        columns=lambda c: c.replace(".", "_"))
    est = est[est["op"].isin(["=~", "~", "~~", "~1", ":="])].reset_index(drop=True)
    for col in ("label",):
        est[col] = est[col].fillna("").astype(str)
    est["group"] = est["group"].astype(int)
    for col in ("est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_all"):
        est[col] = pd.to_numeric(est[col]).astype(float)
    est = est[list(ESTIMATE_COLUMNS)]

    defined = est[est["op"] == ":="].set_index("lhs")
    records = []
    for cause, outcome, kind, path, source in EFFECT_ROWS.get(case, []):
        if source is None:
            hit = est[(est["op"] == "~") & (est["lhs"] == outcome) & (est["rhs"] == cause)]
            values = hit.iloc[0] if len(hit) else None
        else:
            values = defined.loc[source]
        rec = {"cause": cause, "outcome": outcome, "effect": kind, "path": path, "group": 1}
        for col in ("est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_all"):
            rec[col] = float(values[col]) if values is not None else (
                0.0 if col in ("est", "std_all") else np.nan)
        records.append(rec)
    effects = pd.DataFrame.from_records(records, columns=list(EFFECT_COLUMNS))
    fit = _fit_measures(raw["fit"], bool(raw["converged"]))
    return Result(
        spec=spec, table=table, estimates=est, effects=effects, fit_measures=fit,
        vcov=pd.DataFrame(), converged=bool(raw["converged"]), warnings=tuple(warnings),
        options={"estimator": "ML", "se": "standard", "ci": "delta", "level": 0.95,
                 "missing": "listwise", "seed": None},
        info={"version": pm.__version__, "engine": "lavaan reference", "iterations":
              raw.get("iterations")},
    )


def synthetic_result(spec: Spec, *, seed: int = 0) -> Result:
    """A Result with made-up numbers on a spec's parameter table (for layouts)."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    f = spec.table().to_frame()
    f = f[f["op"].isin(["~", "=~", "~~", ":="])].copy()
    free = f["free"].to_numpy() > 0
    f["group"] = 1
    f["est"] = np.where(free, rng.normal(0.3, 0.2, len(f)), f["value"])
    f["se"] = np.where(free, rng.uniform(0.03, 0.2, len(f)), np.nan)
    f["z"] = f["est"] / f["se"]
    f["pvalue"] = 2 * stats.norm.sf(np.abs(f["z"]))
    f["ci_lower"] = f["est"] - 1.96 * f["se"]
    f["ci_upper"] = f["est"] + 1.96 * f["se"]
    f["std_all"] = f["est"] * 0.8
    return Result(
        spec=spec, table=spec.table(), estimates=f[list(ESTIMATE_COLUMNS)].reset_index(drop=True),
        effects=pd.DataFrame(columns=list(EFFECT_COLUMNS)), fit_measures={}, vcov=pd.DataFrame(),
        converged=True, warnings=(), options={}, info={},
    )


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def ips() -> Result:
    meta = {"title": "IPS <trial> & employment", "chain": "IPS -> employment -> QoL",
            "citation": "Winsper et al. (2020)"}
    return result_from_reference(
        "ips_chain", meta=meta,
        warnings=("Inadmissible solution: qol has a negative variance <check this>",))


@pytest.fixture(scope="module")
def report_dir(ips: Result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pathmodels.report import write_report

    page = write_report(ips, tmp_path_factory.mktemp("report") / "nested" / "ips")
    assert page.name == "report.html"
    return page.parent


def _node_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "node"]


def _patches(fig, prefix: str) -> dict[str, object]:
    return {p.get_gid().split(":", 1)[1]: p for p in fig.axes[0].patches
            if (p.get_gid() or "").startswith(prefix)}


# ---------------------------------------------------------------------------- imports
def test_import_does_not_load_matplotlib() -> None:
    code = ("import sys, pathmodels, pathmodels.report; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------- diagram
@pytest.mark.parametrize("case", ["ips_chain", "cfa_hs", "sem_pd", "clpm3_free", "riclpm4",
                                  "moderated_mediation"])
def test_diagram_one_box_per_observed_variable(case: str) -> None:
    from matplotlib.patches import Ellipse, Rectangle

    from pathmodels.report import path_diagram

    res = result_from_reference(case)
    fig = path_diagram(res)
    roles = res.table.roles
    texts = _node_texts(fig)
    assert sorted(texts) == sorted(roles.observed + roles.latent)
    boxes = _patches(fig, "observed:")
    ellipses = _patches(fig, "latent:")
    assert sorted(boxes) == sorted(roles.observed)
    assert sorted(ellipses) == sorted(roles.latent)
    assert all(isinstance(p, Rectangle) for p in boxes.values())
    assert all(isinstance(p, Ellipse) for p in ellipses.values())


def _centre(patch) -> tuple[float, float]:
    from matplotlib.patches import Ellipse

    if isinstance(patch, Ellipse):
        return patch.center
    return (patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2)


def test_diagram_layers_follow_causal_order_and_arrows_point_forward(ips: Result) -> None:
    from pathmodels.report import path_diagram

    fig = path_diagram(ips)
    boxes = _patches(fig, "observed:")
    x = {name: _centre(p)[0] for name, p in boxes.items()}
    assert x["arm"] == x["age"] < x["employ"] < x["selfest"] == x["support"] < x["qol"]
    arrows = _patches(fig, "regression:")
    regs = ips.estimates[ips.estimates["op"] == "~"]
    expected = [f"{cause}->{effect}"
                for effect, cause in zip(regs["lhs"], regs["rhs"], strict=True)]
    assert sorted(arrows) == sorted(expected)
    for key, arrow in arrows.items():
        source, target = key.split("->")
        # FancyArrowPatch has no public getter for its end points
        (xa, ya), (xb, yb) = arrow._posA_posB  # from cause to effect
        assert (xa, ya) == _centre(boxes[source])
        assert (xb, yb) == _centre(boxes[target])
        assert arrow.get_arrowstyle().__class__.__name__ == "CurveFilledB"  # head at target
    covs = _patches(fig, "covariance:")
    # selfest ~~ support and the exogenous arm ~~ age; no variances
    assert sorted(covs) == ["arm->age", "selfest->support"]
    assert all(a.get_arrowstyle().__class__.__name__ == "CurveFilledAB" for a in covs.values())
    assert all(abs(a.get_connectionstyle().rad) > 0 for a in covs.values())


def test_diagram_puts_final_outcomes_in_the_last_column() -> None:
    from pathmodels.report import path_diagram

    # z is an outcome one step from x but is drawn with the other final outcome, y
    spec = Spec.from_syntax("m ~ x\ny ~ m\nz ~ x")
    boxes = {k: _centre(p) for k, p in _patches(path_diagram(synthetic_result(spec)),
                                                  "observed:").items()}
    assert boxes["x"][0] < boxes["m"][0] < boxes["y"][0] == boxes["z"][0]


def _densify(poly: np.ndarray, step: float = 2.0) -> np.ndarray:
    """Points every `step` pixels along a polyline (curves come flattened)."""
    out = [poly[:1]]
    for p0, p1 in zip(poly[:-1], poly[1:], strict=True):
        n = max(2, int(np.hypot(*(p1 - p0)) / step))
        out.append(p0 + np.linspace(0, 1, n)[:, None] * (p1 - p0))
    return np.concatenate(out)


@pytest.mark.parametrize("make", [
    lambda: synthetic_result(pm.load_model("ips_employment_qol")),  # arm -> qol skips employ
    lambda: synthetic_result(pm.load_model("peer_role_modelling")),
    lambda: result_from_reference("ips_chain"),
    lambda: result_from_reference("sem_pd"),
    lambda: result_from_reference("clpm3_free"),
])
def test_arrows_miss_the_boxes_they_do_not_join(make) -> None:
    from pathmodels.report import path_diagram

    fig = path_diagram(make())
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    nodes = {k: p.get_window_extent(renderer)
             for k, p in {**_patches(fig, "observed:"), **_patches(fig, "latent:")}.items()}
    arrows = {**_patches(fig, "regression:"), **_patches(fig, "loading:"),
              **_patches(fig, "covariance:")}
    assert arrows
    for key, arrow in arrows.items():
        ends = set(key.split(":")[-1].split("->"))
        path = arrow.get_transform().transform_path(arrow.get_path())  # to pixels
        points = np.concatenate([_densify(poly)
                                 for poly in path.to_polygons(closed_only=False)])
        for name, box in nodes.items():
            if name in ends:
                continue
            inside = ((points[:, 0] > box.x0 + 1) & (points[:, 0] < box.x1 - 1)
                      & (points[:, 1] > box.y0 + 1) & (points[:, 1] < box.y1 - 1))
            assert not inside.any(), f"{key} crosses {name}"


def test_diagram_places_indicators_beside_their_latent() -> None:
    from pathmodels.report import path_diagram

    fig = path_diagram(result_from_reference("sem_pd"))
    boxes = {k: _centre(p) for k, p in _patches(fig, "observed:").items()}
    lat = {k: _centre(p) for k, p in _patches(fig, "latent:").items()}
    assert lat["ind60"][0] < lat["dem60"][0] < lat["dem65"][0]
    # exogenous factor: indicators in a column on its left
    assert {boxes[f"x{i}"][0] for i in (1, 2, 3)} == {boxes["x1"][0]}
    assert boxes["x1"][0] < lat["ind60"][0]
    assert boxes["x1"][1] > boxes["x2"][1] > boxes["x3"][1]
    # middle factor: a row above it; final factor: a column on its right
    assert {boxes[f"y{i}"][1] for i in (1, 2, 3, 4)} == {boxes["y1"][1]} and \
        boxes["y1"][1] > lat["dem60"][1]
    assert all(boxes[f"y{i}"][0] > lat["dem65"][0] for i in (5, 6, 7, 8))


def _extents(fig):
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == "estimate"]
    nodes = [p.get_window_extent(renderer) for p in ax.patches
             if (p.get_gid() or "").startswith(("observed:", "latent:"))]
    names = [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == "node"]
    return labels, nodes, names


def _overlap(a, b, tol: float = 0.5) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tol)


@pytest.mark.parametrize("case", ["ips_chain", "cfa_hs", "sem_pd", "clpm3_free", "riclpm4",
                                  "serial_mediation", "parallel_mediation",
                                  "moderated_mediation"])
def test_diagram_labels_overlap_no_box_and_no_other_label(case: str) -> None:
    from pathmodels.report import path_diagram

    fig = path_diagram(result_from_reference(case))
    labels, nodes, names = _extents(fig)
    assert len(labels) > 0
    for i, a in enumerate(labels):
        assert not any(_overlap(a, b) for b in labels[i + 1:]), case
        assert not any(_overlap(a, b) for b in nodes), case
    for i, a in enumerate(names):  # node names stay inside their own box, apart
        assert not any(_overlap(a, b) for b in names[i + 1:]), case
    width, height = fig.get_size_inches() * fig.dpi
    for box in labels + nodes:  # nothing cut off at the edges
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height


@pytest.mark.parametrize("name", ["ips_employment_qol", "working_alliance",
                                  "peer_role_modelling", "imr_self_determination"])
def test_library_chains_draw_without_overlaps(name: str) -> None:
    from pathmodels.report import path_diagram

    res = synthetic_result(pm.load_model(name))
    fig = path_diagram(res)
    labels, nodes, _ = _extents(fig)
    assert sorted(_node_texts(fig)) == sorted(res.table.roles.observed)
    for i, a in enumerate(labels):
        assert not any(_overlap(a, b) for b in labels[i + 1:] + nodes), name


def test_diagram_labels_show_estimates_or_std_all_with_stars(ips: Result) -> None:
    from pathmodels.report import path_diagram

    raw = [t.get_text() for t in path_diagram(ips).axes[0].texts if t.get_gid() == "estimate"]
    std = [t.get_text() for t in path_diagram(ips, standardized=True).axes[0].texts
           if t.get_gid() == "estimate"]
    assert "0.78***" in raw and "0.36***" in std  # employ ~ arm: 0.7755, std 0.3612
    assert "0.02" in raw  # employ ~ age, p = 0.57: no star
    assert "0.12**" in raw  # selfest ~ age, p = 0.004
    assert "0.08" in raw  # qol ~ age, p = 0.055: not significant at .05
    assert "0.14***" in raw  # selfest ~~ support
    # 8 regressions + 2 covariances, no variance and no defined parameter
    assert len(raw) == len(std) == 10


def test_diagram_nonsignificant_paths_are_grey(ips: Result) -> None:
    from matplotlib.colors import to_hex

    from pathmodels.report import path_diagram

    arrows = _patches(path_diagram(ips), "regression:")
    assert to_hex(arrows["age->qol"].get_edgecolor()) != to_hex(
        arrows["arm->employ"].get_edgecolor())


def test_diagram_skips_paths_fixed_at_zero() -> None:
    from pathmodels.report import path_diagram

    fig = path_diagram(result_from_reference("riclpm4"))
    covs = set(_patches(fig, "covariance:"))
    assert "RIx->wx1" not in covs and "RIy->wy1" not in covs  # RIx ~~ 0*wx1
    assert "RIx->RIy" in covs and "wx1->wy1" in covs


def test_diagram_of_a_feedback_loop() -> None:
    from pathmodels.report import path_diagram

    spec = Spec.from_syntax("y1 ~ y2 + x1\ny2 ~ y1 + x2")
    fig = path_diagram(synthetic_result(spec))
    arrows = _patches(fig, "regression:")
    assert {"y2->y1", "y1->y2"} <= set(arrows)
    # two arcs to opposite sides rather than one line drawn twice
    assert arrows["y2->y1"].get_connectionstyle().rad != 0
    assert arrows["y1->y2"].get_connectionstyle().rad != 0


def test_diagram_group_and_axes() -> None:
    from matplotlib.figure import Figure

    from pathmodels.report import path_diagram

    res = result_from_reference("twogroup_mediation_free")
    est = res.estimates
    b2 = est[(est["lhs"] == "y") & (est["rhs"] == "m") & (est["group"] == 2)]["est"].iloc[0]
    fig = path_diagram(res, group=2)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "estimate"]
    assert any(t.startswith(f"{b2:.2f}") for t in texts)
    with pytest.raises(SpecificationError, match="group=3"):
        path_diagram(res, group=3)
    mine = Figure(figsize=(4, 3))
    ax = mine.add_subplot()
    assert path_diagram(res, ax=ax) is mine
    assert sorted(_node_texts(mine)) == ["m", "x", "y"]


# ---------------------------------------------------------------------------- effects plot
def test_effects_plot_has_a_row_per_effect(ips: Result) -> None:
    from pathmodels.report import effects_plot

    fig = effects_plot(ips)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["arm \u2192 qol", "direct",
                     "indirect: arm \u2192 employ \u2192 selfest \u2192 qol",
                     "indirect: arm \u2192 employ \u2192 support \u2192 qol",
                     "total indirect", "total"]
    points = [ln for ln in ax.lines if (ln.get_gid() or "").startswith("effect:")]
    assert len(points) == len(ips.effects)
    ind = ips.effects.iloc[1]
    assert points[1].get_xdata()[0] == pytest.approx(ind["est"])
    values = [t.get_text() for t in ax.texts]
    assert f"{ind['est']:.3f}***  [{ind['ci_lower']:.3f}, {ind['ci_upper']:.3f}]" in values
    lo, hi = ax.get_xlim()
    assert lo <= ips.effects["ci_lower"].min() and hi >= ips.effects["ci_upper"].max()


def test_effects_plot_without_effects() -> None:
    from pathmodels.report import effects_plot

    fig = effects_plot(result_from_reference("cfa_hs"))
    assert any("no effects" in t.get_text() for t in fig.texts)


# ---------------------------------------------------------------------------- report
def test_report_writes_every_file(report_dir: Path) -> None:
    names = sorted(p.name for p in report_dir.iterdir())
    assert names == ["diagram.png", "effects.csv", "effects.png", "estimates.csv", "fit.json",
                     "report.html", "summary.txt"]


@pytest.mark.parametrize("name", ["diagram.png", "effects.png"])
def test_report_images_are_valid_pngs(report_dir: Path, name: str) -> None:
    from matplotlib.image import imread

    data = (report_dir / name).read_bytes()
    assert data[:8] == PNG_SIGNATURE
    image = imread(report_dir / name)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_report_html_is_self_contained_with_embedded_pngs(report_dir: Path) -> None:
    import base64

    page = (report_dir / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2
    assert {base64.b64decode(i) for i in images} == {
        (report_dir / "diagram.png").read_bytes(), (report_dir / "effects.png").read_bytes()}
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<style>" in page


def _text_of(page: str) -> str:
    return re.sub(r'src="data:[^"]*"', "", page)


def test_report_html_content(ips: Result, report_dir: Path) -> None:
    page = _text_of((report_dir / "report.html").read_text(encoding="utf-8"))
    # title and metadata, escaped
    assert "<h1>ips_chain \u2014 IPS &lt;trial&gt; &amp; employment</h1>" in page
    assert "IPS -&gt; employment -&gt; QoL" in page and "Winsper et al. (2020)" in page
    # warnings first, in a highlighted box, escaped
    box = page.index('<div class="warnings">')
    assert box < page.index("<h2>Fit measures</h2>")
    assert "qol has a negative variance &lt;check this&gt;" in page
    assert "<check this>" not in page
    # fit measures with 3 decimals and integers as integers
    assert f'<td class="num">{ips.fit_measures["chisq"]:.3f}</td>' in page
    assert '<td class="num">3.966</td>' in page
    assert '<td>df</td><td>Degrees of freedom</td><td class="num">5</td>' in page
    # every effect row's path, and the estimates
    for path in ips.effects["path"]:
        assert html.escape(path) in page
    assert "arm -&gt; employ -&gt; support -&gt; qol" in page
    for value in ips.estimates["est"]:
        assert f"{value:.3f}" in page
    # sections in order
    order = ["Fit measures", "Effects", "Parameter estimates", "Path diagram", "Model syntax"]
    positions = [page.index(f"<h2>{h}") for h in order]
    assert positions == sorted(positions)
    assert html.escape(ips.spec.syntax.strip()) in page
    # NaN is blank, never "nan"
    assert not re.search(r">\s*nan\s*<", page, flags=re.IGNORECASE)
    direct = re.search(r"<tr><td>arm</td><td>qol</td><td>direct</td>.*?</tr>", page)
    assert direct and direct.group(0).count('<td class="num"></td>') == 5


def test_report_without_warnings_has_no_warning_box(tmp_path: Path) -> None:
    from pathmodels.report import write_report

    page = write_report(result_from_reference("clpm3_free"), tmp_path).read_text()
    assert 'class="warnings"' not in page
    assert "No effects were computed" in page


def test_report_csvs_round_trip(ips: Result, report_dir: Path) -> None:
    est = pd.read_csv(report_dir / "estimates.csv", keep_default_na=False,
                      na_values={c: [""] for c in ("est", "se", "z", "pvalue", "ci_lower",
                                                    "ci_upper", "std_all")})
    pd.testing.assert_frame_equal(est, ips.estimates.reset_index(drop=True), check_dtype=False)
    eff = pd.read_csv(report_dir / "effects.csv", keep_default_na=False,
                      na_values={c: [""] for c in ("est", "se", "z", "pvalue", "ci_lower",
                                                    "ci_upper", "std_all")})
    pd.testing.assert_frame_equal(eff, ips.effects.reset_index(drop=True), check_dtype=False)


def test_report_fit_json_and_summary(ips: Result, report_dir: Path) -> None:
    data = json.loads((report_dir / "fit.json").read_text())
    assert data["fit_measures"]["chisq"] == pytest.approx(ips.fit_measures["chisq"], rel=1e-15)
    assert data["fit_measures"]["df"] == 5
    assert data["warnings"] == list(ips.warnings)
    assert data["options"]["ci"] == "delta" and data["options"]["seed"] is None
    assert (report_dir / "summary.txt").read_text().rstrip("\n") == ips.summary()


def test_report_of_a_multigroup_fit(tmp_path: Path) -> None:
    from pathmodels.report import write_report

    page = write_report(result_from_reference("twogroup_mediation_free"), tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"diagram.png", "diagram_group2.png", "effects_group2.png"} <= names
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 4
    assert "<th>group</th>" in text


def test_effects_plot_text_fits_in_the_figure(ips: Result) -> None:
    from pathmodels.report import effects_plot

    fig = effects_plot(ips)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width = fig.get_size_inches()[0] * fig.dpi
    ax = fig.axes[0]
    boxes = [t.get_window_extent(renderer) for t in list(ax.texts) + ax.get_yticklabels()]
    assert min(b.x0 for b in boxes) >= 0 and max(b.x1 for b in boxes) <= width


# ---------------------------------------------------------------------------- real fit
def test_report_of_a_real_fit(tmp_path: Path) -> None:
    from matplotlib.image import imread

    from pathmodels.report import path_diagram, write_report

    res = pm.fit(pm.load_model("ips_employment_qol"), pm.load_dataset("ips_trial"))
    fig = path_diagram(res)
    assert sorted(_node_texts(fig)) == sorted(res.spec.roles.observed)
    page = write_report(res, tmp_path).read_text(encoding="utf-8")
    assert res.spec.meta["title"] in html.unescape(page)
    assert html.escape(res.spec.meta["citation"]) in page
    assert f"{res.fit_measures['chisq']:.3f}" in page
    for path in res.effects["path"]:
        assert html.escape(path) in page
    assert imread(tmp_path / "diagram.png").shape[1] > 600
    eff = pd.read_csv(tmp_path / "effects.csv")
    np.testing.assert_allclose(eff["est"], res.effects["est"], rtol=1e-12)
