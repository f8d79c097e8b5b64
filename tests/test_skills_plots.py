"""Kaplan-Meier figure of supervisees' reconviction by officers' skill (plots.km)."""

from __future__ import annotations

import numpy as np
import pytest

from riskeval import RiskevalError
from riskeval import skills as sk
from riskeval._core import plots


@pytest.fixture
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


@pytest.fixture(scope="module")
def km_result():
    d = sk.simulate_skills(seed=3, n_officers=30, supervisees_per_officer=20)
    table = sk.supervision_table(d.supervisees, sk.officer_scores(d.sessions))
    return sk.km_by_group(table)


def test_km_draws_two_step_curves_with_clipped_bands(plt, km_result):
    curves, logrank = km_result.curves, km_result.test
    fig = plots.km(curves, logrank=logrank, title="simulated study")
    assert isinstance(fig, plt.Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    assert all(line.get_drawstyle() == "steps-post" for line in ax.lines)
    assert len(ax.collections) == 2  # one band per group
    for line, band, key in zip(ax.lines, ax.collections, ("higher", "lower"), strict=True):
        x, y = (np.asarray(v, float) for v in line.get_data())
        assert x[0] == 0.0 and y[0] == 1.0
        assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) <= 1e-12)  # survival falls
        assert x[-1] == pytest.approx(float(np.max(curves[key].time)))
        verts = np.vstack([p.vertices for p in band.get_paths()])
        assert verts[:, 1].min() >= 0.0 and verts[:, 1].max() <= 1.0
        # the band surrounds the curve
        assert verts[:, 1].min() < y[-1] < verts[:, 1].max()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"higher-skilled officers (n={int(logrank['n_higher'])})",
                      f"lower-skilled officers (n={int(logrank['n_lower'])})"]
    assert ax.get_xlabel() == "years since start of supervision"
    assert ax.get_ylabel() == "share not reconvicted"
    assert "simulated study" in ax.get_title() and "log-rank p" in ax.get_title()
    assert f"{logrank['p']:.3f}" in ax.get_title() or "p < 0.001" in ax.get_title()


def test_km_final_survival_is_one_minus_the_reconvicted_share(plt, km_result):
    curves, logrank = km_result.curves, km_result.test
    _, ax = plt.subplots()
    assert plots.km(curves, ax=ax) is ax
    assert ax.get_title() == ""
    for line, key in zip(ax.lines, ("higher", "lower"), strict=True):
        final = float(np.asarray(line.get_ydata(), float)[-1])
        assert final == pytest.approx(1 - logrank[f"reconvicted_{key}"], abs=1e-12)


def test_km_band_is_clipped_at_zero_and_one(plt):
    from statsmodels.duration.survfunc import SurvfuncRight

    # tiny groups: Greenwood bands of +/- 1.96 SE pass 1 early and 0 late
    curves = {"higher": SurvfuncRight(np.array([0.2, 0.5, 1.0, 2.0]), np.array([1, 1, 1, 0])),
              "lower": SurvfuncRight(np.array([0.1, 0.3, 0.4]), np.array([1, 1, 1]))}
    fig = plots.km(curves)
    ax = fig.axes[0]
    for band in ax.collections:
        verts = np.vstack([p.vertices for p in band.get_paths()])
        assert verts[:, 1].min() >= 0.0 and verts[:, 1].max() <= 1.0
    assert float(ax.lines[1].get_ydata()[-1]) == 0.0
    assert "lower-skilled officers (n=3)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_km_needs_both_groups():
    with pytest.raises(RiskevalError, match="'lower' is missing"):
        plots.km({"higher": None})


def test_km_result_draws_itself(plt, km_result):
    fig = km_result.plot(title="simulated study")
    assert isinstance(fig, plt.Figure)
    assert "log-rank p" in fig.axes[0].get_title()
    _, ax = plt.subplots()
    assert km_result.plot(ax=ax) is ax and len(ax.lines) == 2
