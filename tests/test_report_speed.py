"""Saving the audit report quickly on large designs changes none of what it says.

* the files, the tables (CSV) and summary.json are those of the result's own table objects,
  byte for byte, for a small (six offices) and a medium (300 officers) design;
* the figures are valid PNG files of the sizes the report lays out;
* the pairwise-agreement heatmap of a small design holds one cell per pair of officers; of a
  design with more officers than the figure has pixels, each cell is the mean of a block of
  k x k pairs (checked against numpy), and the title and the page say so.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval import RiskevalError
from riskeval._core import plots
from riskeval._core.safecsv import write_csv
from riskeval.audit import _report, audit

ROLES = {"case": "case", "rater": "officer", "rating": "rating", "office": "office"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _audit(world, seed, **kw):
    return audit(rv.simulate(world, seed=seed), **ROLES, reference="reference",
                 progress=False, **kw)


@pytest.fixture(scope="module")
def small():
    return _audit(rv.world.scenarios.six_office_study(), 11)


@pytest.fixture(scope="module")
def medium():
    world = rv.world.scenarios.six_office_study(n_offices=10, officers_per_office=30,
                                                n_vignettes=8)
    return _audit(world, 12, ordinal=False)


@pytest.fixture(scope="module")
def large():
    # more officers than the heatmap's axes have pixels (PAIRWISE_FIGURE_CELLS)
    world = rv.world.scenarios.six_office_study(n_offices=24, officers_per_office=50,
                                                n_vignettes=6)
    return _audit(world, 13, ordinal=False)


@pytest.fixture(scope="module", params=["small", "medium"])
def design(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def saved(design, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report"
    design.save(out)
    return design, out


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _generic_clean(x):
    """summary.json's cleaning written plainly (the report's is faster on plain types)."""
    if isinstance(x, dict):
        return {str(k): _generic_clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_generic_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if isinstance(x, float):
        if math.isnan(x):
            return None
        return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")
    if x is None or isinstance(x, bool | int | str):
        return x
    return str(x)


def _records(frame):
    """A table as summary.json lists it, from pandas directly."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame().T
    f = frame.reset_index()
    f.columns = [str(c) for c in f.columns]
    return json.loads(f.to_json(orient="records", double_precision=15, default_handler=str))


# -- files, tables and summary.json ----------------------------------------------------------


def test_the_report_holds_the_same_files(saved):
    a, out = saved
    want = {".riskeval-report", "report.html", "summary.json",
            *(f"tables/{k}.csv" for k in a.tables()),
            *(f"figures/{k}.png" for k in a.figures())}
    assert set(_files(out)) == want
    assert set(a.figures()) == {"variance_shares", "effects", "funnel", "pairwise_agreement",
                                "confusion", "wright_map", "agreement_by_office"}
    n = len(a.pairwise.matrix)
    assert ("pairwise_agreement" in a.tables()) == (n <= _report.PAIRS_MAX_OFFICERS)


def test_every_table_file_is_the_table_of_the_result_byte_for_byte(saved):
    a, out = saved
    for name, frame in a.tables().items():
        assert (out / "tables" / f"{name}.csv").read_bytes() == write_csv(frame).encode(), name
    # the tables are the result's own objects
    tabs = a.tables()
    assert tabs["agreement"].equals(a.agreement)
    assert tabs["variance"].equals(a.variance)
    assert tabs["officer_agreement"].equals(a.pairwise.by_rater())
    assert tabs["officer_effects"].equals(a.effects["officer"])


def test_summary_json_is_the_results_numbers_byte_for_byte(saved):
    a, out = saved
    text = (out / "summary.json").read_text(encoding="utf-8")
    assert text == json.dumps(a.to_dict(), indent=2)
    assert text == json.dumps(_generic_clean(a.to_dict()), indent=2)
    summary = json.loads(text)
    for name, frame in a.tables().items():
        if name == "findings":
            continue
        assert summary["tables"][name] == _records(frame), name


def test_the_fast_cleaning_equals_the_plain_one_on_awkward_values():
    class Sub(float):
        pass

    payload = {1: [np.float64("nan"), np.float32(2.5), np.int64(3), np.bool_(True)],
               "t": (float("inf"), -math.inf, float("nan"), 0.1, Sub(2.0)),
               "n": {"x": [None, True, False, "a", pd.Timestamp("2020-01-01")]},
               2.5: {}, "e": [], "big": 10**20}
    got = _report._clean(payload)
    assert json.dumps(got, indent=2) == json.dumps(_generic_clean(payload), indent=2)


def test_the_page_shows_every_figure_and_the_tables(saved):
    a, out = saved
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(a.figures())
    assert "Agreement between pairs of officers" in page
    assert "block of" not in page          # one cell per pair: nothing aggregated
    worst = a.pairwise.by_rater().nsmallest(10, "agreement")
    assert _report._table_html(worst) in page


# -- figures -----------------------------------------------------------------------------------


def test_figures_are_pngs_of_the_sizes_laid_out(saved):
    from PIL import Image

    a, out = saved
    figs = a.figures()
    n = len(a.pairwise.matrix)
    side = min(12.0, max(5.0, 0.12 * n))
    expected = {"variance_shares": (6, 3), "funnel": (6.5, 4.5), "confusion": (5.5, 4.5),
                "pairwise_agreement": (side + 1, side)}
    for name, fig in figs.items():
        data = (out / "figures" / f"{name}.png").read_bytes()
        w, h = _png_size(data)
        inches = expected.get(name, tuple(fig.get_size_inches()))
        assert (w, h) == (int(inches[0] * 110 + 1e-9), int(inches[1] * 110 + 1e-9)), name
        with Image.open(out / "figures" / f"{name}.png") as im:
            im.verify()
        with Image.open(out / "figures" / f"{name}.png") as im:
            pixels = np.asarray(im.convert("L"))
        assert pixels.std() > 0, name      # something is drawn
    assert figs["effects"].get_size_inches()[0] == pytest.approx(9.0)


def _heatmap_image(fig):
    ax = fig.axes[0]
    (image,) = ax.get_images()
    return ax, image


def test_a_small_heatmap_keeps_one_cell_per_pair_of_officers(saved):
    a, _ = saved
    ax, image = _heatmap_image(a.figures()["pairwise_agreement"])
    matrix = a.pairwise.matrix.to_numpy(dtype=float)
    held = np.ma.filled(image.get_array().astype(float), np.nan)
    assert held.shape == matrix.shape
    np.testing.assert_array_equal(held, matrix)
    assert ax.get_title() == "Exact agreement between pairs of officers"
    assert _report._pairwise_block(len(matrix)) == 1


def test_a_large_heatmap_draws_block_means_of_the_matrix(large, tmp_path):
    n = len(large.pairwise.matrix)
    k = _report._pairwise_block(n)
    assert n > _report.PAIRWISE_FIGURE_CELLS and k == math.ceil(n / _report.PAIRWISE_FIGURE_CELLS)
    assert k >= 2
    fig = large.figures()["pairwise_agreement"]
    ax, image = _heatmap_image(fig)
    matrix = large.pairwise.matrix.to_numpy(dtype=float)
    nb = -(-n // k)
    want = _numpy_block_means(matrix, k, k)
    held = np.ma.filled(image.get_array().astype(float), np.nan)
    assert held.shape == (nb, nb)
    np.testing.assert_allclose(held, want, rtol=1e-12, atol=1e-14)
    # the blocks sit over the officers they stand for, on the table's axes
    assert image.get_extent() == [-0.5, nb * k - 0.5, nb * k - 0.5, -0.5]
    assert ax.get_xlim() == (-0.5, n - 0.5) and ax.get_ylim() == (n - 0.5, -0.5)
    assert f"block of {k} × {k} pairs" in ax.get_title() and f"{n:,} officers" in ax.get_title()
    # no block is narrower than a pixel of the saved figure
    png = _report._png(fig)
    fig.set_dpi(110)
    fig.canvas.draw()
    box = ax.get_window_extent()
    assert min(box.width, box.height) >= nb
    assert _png_size(png) == (13 * 110, 12 * 110)
    page = _report.render_body(large, pngs={})
    assert f"block of {k} × {k} pairs of neighbouring officers" in page


def test_a_large_report_saves_with_the_same_files_and_tables(large, tmp_path):
    out = tmp_path / "report"
    large.save(out)
    tabs = large.tables()
    assert "pairwise_agreement" not in tabs      # above PAIRS_MAX_OFFICERS, as before
    for name, frame in tabs.items():
        assert (out / "tables" / f"{name}.csv").read_bytes() == write_csv(frame).encode()
    assert (out / "summary.json").read_text(encoding="utf-8") == json.dumps(
        large.to_dict(), indent=2)
    assert {p.name for p in (out / "figures").iterdir()} == {
        f"{k}.png" for k in large.figures()}


# -- the plotting helpers ----------------------------------------------------------------------


def _numpy_block_means(values, br, bc):
    nr, nc = values.shape
    rb, cb = -(-nr // br), -(-nc // bc)
    padded = np.full((rb * br, cb * bc), np.nan)
    padded[:nr, :nc] = values
    blocks = padded.reshape(rb, br, cb, bc)
    with np.errstate(all="ignore"):
        sums = np.nansum(blocks, axis=(1, 3))
        counts = np.sum(~np.isnan(blocks), axis=(1, 3))
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@pytest.mark.parametrize("shape,block", [((7, 5), 2), ((9, 9), 3), ((10, 4), (3, 4)),
                                         ((6, 6), 1), ((5, 8), (5, 3))])
def test_block_means_are_the_means_of_the_defined_cells(shape, block):
    rng = np.random.default_rng(sum(shape))
    values = rng.random(shape)
    values[rng.random(shape) < 0.3] = np.nan
    values[:2, :2] = np.nan          # a block with nothing defined stays NaN
    br, bc = (block, block) if isinstance(block, int) else block
    got = plots.block_means(values, block)
    np.testing.assert_allclose(got, _numpy_block_means(values, br, bc), rtol=1e-12)
    full = rng.random(shape)
    np.testing.assert_allclose(plots.block_means(full, block),
                               _numpy_block_means(full, br, bc), rtol=1e-12)


def test_block_means_refuse_an_empty_block():
    from matplotlib.figure import Figure

    with pytest.raises(RiskevalError, match="at least 1"):
        plots.block_means(np.ones((3, 3)), 0)
    with pytest.raises(RiskevalError, match="at least 1"):
        plots.heatmap(np.ones((3, 3)), ax=Figure().subplots(), block=(2, 0))


def test_heatmap_with_blocks_keeps_the_tables_labels_and_coordinates():
    from matplotlib.figure import Figure

    rng = np.random.default_rng(5)
    names = [f"officer {i}" for i in range(50)]
    table = pd.DataFrame(rng.random((50, 50)), index=names, columns=names)
    ax = Figure(figsize=(6, 5)).subplots()
    plots.heatmap(table, ax=ax, block=4, annotate=True)
    (image,) = ax.get_images()
    assert image.get_array().shape == (13, 13)
    assert ax.get_xlim() == (-0.5, 49.5) and len(ax.texts) == 0
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    positions = list(ax.get_yticks())
    assert all(t == names[int(p)] for t, p in zip(ticks, positions, strict=True))
    # without blocks: every cell
    ax = Figure(figsize=(6, 5)).subplots()
    plots.heatmap(table, ax=ax)
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), table.to_numpy())


@pytest.mark.parametrize("obj", [
    1, "a", None, 2.5, True, [], {}, [1, [2, {}], {"a": []}], {"x": {"y": {"z": 1.5}}},
    {"é": "ü\n\"}, {"}, [float("nan"), float("inf")], {1: 2}, (1, 2), {"a": (1, 2)},
    [True, False, None, 1e300, -0.0, 10**30], [{"a": "},\n      {"}, {"b": 1}],
    [{"a": 1}, {}], [{"a": 1}, [1]], [{"a": {"b": 1}}], [[{"a": 1}]], {"r": [{"a": 1}]},
    {"t": [{"x": "}, {", "y": None}, {"x": 2.5, "y": "\"}"}], "u": [1, "2", None]},
    [{"a": np.float64(1.0)}], {"a": [np.int64(3)]}, {"a": {1, 2}}])
def test_the_json_writer_writes_what_json_dumps_writes(obj):
    try:
        want = json.dumps(obj, indent=2)
    except TypeError:
        with pytest.raises(TypeError):
            _report._json(obj)
        return
    assert _report._json(obj) == want


def test_the_caterpillar_draws_every_interval_and_point_in_two_lines():
    from matplotlib.figure import Figure

    rng = np.random.default_rng(8)
    n = 3000
    effects = pd.DataFrame({"estimate": rng.normal(size=n), "se": rng.uniform(0.1, 0.3, n)},
                           index=pd.Index([f"o{i:04d}" for i in range(n)], name="officer"))
    effects.iloc[5, 1] = np.nan          # an interval that is not defined is not drawn
    ax = Figure(figsize=(4.5, 12)).subplots()
    plots.caterpillar(effects, ax, "officer effects")
    order = effects.sort_index(kind="stable").sort_values("estimate", kind="stable")
    intervals, points, zero = ax.get_lines()
    assert len(ax.collections) == 0 and list(zero.get_xdata()) == [0, 0]
    x = np.asarray(intervals.get_xdata(), float).reshape(n, 3)
    y = np.asarray(intervals.get_ydata(), float).reshape(n, 3)
    est, se = order["estimate"].to_numpy(), order["se"].to_numpy()
    np.testing.assert_array_equal(x[:, 0], est - 1.96 * se)
    np.testing.assert_array_equal(x[:, 1], est + 1.96 * se)
    assert np.isnan(x[:, 2]).all() and np.isnan(y[:, 2]).all()
    np.testing.assert_array_equal(y[:, :2], np.repeat(np.arange(n), 2).reshape(n, 2))
    np.testing.assert_array_equal(points.get_xdata(), est)
    np.testing.assert_array_equal(points.get_ydata(), np.arange(n))
    assert points.get_marker() == "o" and points.get_linestyle() == "None"
    assert list(ax.get_yticks()) == []
