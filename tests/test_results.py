"""Result objects: what a notebook user sees, and intervals kept inside a coefficient's range."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import riskeval as rv

FOUR = np.array([[1, 1, 2, 1], [2, 2, 2, 2], [3, 3, 2, 3], [1, 2, 1, 1], [3, 3, 3, 3],
                 [2, 1, 2, 2]], dtype=float)


def test_result_is_immutable_and_readable():
    res = rv.gwet_ac(FOUR)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0
    with pytest.raises(TypeError):
        res.extra["pa"] = 0.0
    frame = res.to_frame()
    assert list(frame.index) == ["Gwet's AC1"]
    assert frame.loc["Gwet's AC1", "estimate"] == res.estimate
    assert (frame.loc["Gwet's AC1", "ci_low"], frame.loc["Gwet's AC1", "ci_high"]) == res.ci
    assert repr(res).startswith("<Gwet's AC1 = ")
    assert "Gwet, K. L. (2008)" in res._repr_html_()
    assert "6 cases, 4 raters, 24 ratings" in res.summary()


def test_icc_result_views():
    res = rv.icc(FOUR, form="ICC3k")
    assert res.estimate == res.to_frame().loc["ICC3k", "ICC"]
    assert res["ICC1"]["df2"] == 18.0  # n (k - 1) = 6 * 3
    assert "ICC3k" in res.summary() and "<table" in res._repr_html_()
    with pytest.raises(rv.RiskevalError, match="form='ICC4'"):
        rv.icc(FOUR, form="ICC4")


def test_analytic_intervals_stay_in_range():
    # two cases only: the t interval (1 df) is far wider than the coefficient's range
    tiny = np.array([[1.0, 2.0], [1.0, 1.0]])
    pct = rv.percent_agreement(tiny)
    assert pct.ci[0] == 0.0 and pct.ci[1] == 1.0
    for fn in (rv.fleiss_kappa, rv.gwet_ac, rv.brennan_prediger):
        lo, hi = fn(tiny).ci
        assert lo == -1.0 and hi == 1.0


def test_bad_options_are_named():
    with pytest.raises(rv.RiskevalError, match="ci='wald'"):
        rv.gwet_ac(FOUR, ci="wald")
    with pytest.raises(rv.RiskevalError, match="resample='raters'"):
        rv.gwet_ac(FOUR, ci="percentile", resample="raters", seed=1)
    with pytest.raises(rv.RiskevalError, match="n_boot=10"):
        rv.gwet_ac(FOUR, ci="bca", n_boot=10, seed=1)
    with pytest.raises(rv.RiskevalError, match="unknown weights 'cubic'"):
        rv.gwet_ac(FOUR, weights="cubic")
    with pytest.raises(rv.RiskevalError, match="level='binary'"):
        rv.krippendorff_alpha(FOUR, level="binary")
    with pytest.raises(rv.RiskevalError, match="seed must be"):
        rv.gwet_ac(FOUR, ci="percentile", seed="one")
    with pytest.raises(rv.RiskevalError, match="exactly two raters"):
        rv.cohen_kappa(FOUR)
    labels = np.array([["low", "high"], ["high", "high"], ["low", "low"]], dtype=object)
    with pytest.raises(rv.RiskevalError, match="need ordered categories"):
        rv.gwet_ac(labels, weights="quadratic")
