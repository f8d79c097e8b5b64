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


def test_every_agreement_result_follows_the_result_protocol():
    """Issue 16: each result is a Result with to_frame, summary, an HTML view, and (for one
    coefficient) estimate and ci."""
    from riskeval._core.results import Result, TableResult

    ratings = rv.data.datasets.example_ratings()
    cols = ("vignette", "officer", "rosh")
    for res in (rv.fleiss_kappa(ratings, *cols), rv.icc(ratings, *cols)):
        assert isinstance(res, Result)
        assert res.to_frame().shape[0] >= 1
        assert isinstance(res.estimate, float) and len(res.ci) == 2
        assert res.summary() and res._repr_html_().startswith("<div>")
    pa = rv.agreement.pairwise_agreement(ratings, *cols)
    assert isinstance(pa, Result)
    assert list(pa.to_frame().columns) == ["rater_1", "rater_2", "agreement", "shared"]
    assert len(pa.to_frame()) == 12 * 11 // 2
    assert pa.summary().startswith("Pairwise agreement (identity weights): 12 raters")
    assert "<h4>Pairwise agreement" in pa._repr_html_()
    wide = rv.as_ratings(ratings, *cols)
    assert isinstance(wide, Result)
    assert wide.summary().startswith("Ratings: 24 cases x 12 raters, 283 ratings given")
    assert wide.counts()["n"].sum() == 283
    assert "<h4>Ratings: 24 cases" in wide._repr_html_()
    table = rv.agreement_summary(ratings, *cols)
    per = rv.by_group(rv.fleiss_kappa, ratings, group="office", case="vignette",
                      rater="officer", rating="rosh")
    for t in (table, per):
        assert isinstance(t, TableResult)
        assert type(t.to_frame()).__name__ == "DataFrame"
        assert t.summary().splitlines()[0] == t.title
    assert per.title == "Fleiss' kappa by office"
    assert table.loc["Fleiss' kappa", "estimate"] == rv.fleiss_kappa(ratings, *cols).estimate


def test_bootstrap_interval_is_a_result_with_named_fields():
    from riskeval.agreement import BootstrapInterval, bootstrap_interval

    x = np.linspace(0.0, 1.0, 40)

    def mean(U, V):
        return U @ x / U.sum(axis=1)

    pct = bootstrap_interval(mean, 0.5, 40, 1, n_boot=400, seed=2)
    bca = bootstrap_interval(mean, 0.5, 40, 1, n_boot=400, seed=2, method="bca")
    assert isinstance(pct, BootstrapInterval) and pct.n_boot_valid == 400
    assert pct.ci[0] < 0.5 < pct.ci[1] and bca.ci[0] < 0.5 < bca.ci[1]
    assert set(pct.info()) == {"boot_sd", "n_boot_valid"}
    assert set(bca.info()) == {"boot_sd", "n_boot_valid", "z0", "acceleration"}
    assert pct.to_frame().loc["ci_low", "value"] == pct.ci[0]
    assert "Bootstrap percentile interval" in pct.summary()
    # the agreement results carry the same numbers in their extra
    res = rv.gwet_ac(FOUR, ci="bca", n_boot=300, seed=5)
    assert {"boot_sd", "n_boot_valid", "z0", "acceleration"} <= set(res.extra)
