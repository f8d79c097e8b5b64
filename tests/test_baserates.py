"""Base rates: shares by band, threshold metrics, the majority condition, inflation's cost."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from riskeval import RiskevalError
from riskeval.prediction import baserates
from riskeval.prediction.baserates import plot_base_rates


def _population() -> pd.DataFrame:
    """1,000 people: 250 low (5 serious), 550 medium (22), 180 high (18), 20 very high (6);
    reoffending 10%, 30%, 50%, 70%."""
    rows = []
    for band, n, k, serious in (("low", 250, 25, 5), ("medium", 550, 165, 22),
                                ("high", 180, 90, 18), ("very high", 20, 14, 6)):
        y = np.r_[np.ones(k), np.zeros(n - k)]
        s = np.r_[np.ones(serious), np.zeros(n - serious)]
        rows.append(pd.DataFrame({"band": band, "y": y, "serious": s}))
    return pd.concat(rows, ignore_index=True)


def test_band_table_by_hand():
    d = _population()
    t = baserates.band_table(d["band"], d["y"], serious=d["serious"],
                             resources={"high": 2.0, "very high": 10.0})
    assert list(t.index) == ["low", "medium", "high", "very high"]
    assert list(t["n"]) == [250, 550, 180, 20]
    np.testing.assert_allclose(t["rate"], [0.1, 0.3, 0.5, 0.7])
    np.testing.assert_allclose(t["serious_share"], np.array([5, 22, 18, 6]) / 51)
    # most serious reoffences come from low and medium: 27 of 51
    assert t["serious_share"].iloc[:2].sum() == pytest.approx(27 / 51)
    assert list(t["resources"]) == [0.0, 0.0, 360.0, 200.0]
    # Wilson interval for 25 of 250 (by hand: 0.0686 to 0.1433)
    assert t.loc["low", "rate_low"] == pytest.approx(0.06862, abs=1e-4)
    assert t.loc["low", "rate_high"] == pytest.approx(0.14347, abs=1e-4)


def test_threshold_metrics_by_hand():
    d = _population()
    m = baserates.threshold_metrics(d["band"], d["y"], at="high")
    # flagged 200, of whom 104 reoffend; 190 of the 800 others reoffend
    assert m["flagged"] == 200 and m["events_captured"] == 104 and m["events"] == 294
    assert m["ppv"] == pytest.approx(104 / 200)
    assert m["sensitivity"] == pytest.approx(104 / 294)
    assert m["specificity"] == pytest.approx((800 - 190) / (1000 - 294))
    assert m["npv"] == pytest.approx(610 / 800)
    assert m["number_needed"] == pytest.approx(200 / 104)
    assert m["events_missed_share"] == pytest.approx(190 / 294)
    assert m["ppv_low"] < m["ppv"] < m["ppv_high"]


def test_majority_condition_and_where_it_flips():
    d = _population()
    t = baserates.band_table(d["band"], d["y"], serious=d["serious"])
    c = baserates.majority_condition(t, at="high")
    # serious rates: high+ 24/200 = 0.12, lower 27/800 = 0.03375; ratio 3.556 < 800/200 = 4
    assert c["rate_ratio"] == pytest.approx(0.12 / 0.03375)
    assert c["population_ratio"] == pytest.approx(4.0)
    assert not c["most_from_high"]
    assert c["share_from_high"] == pytest.approx(24 / 51)
    # the share curve crosses one half exactly at the stated population share
    curve = baserates.share_curve(t, shares=[c["high_population_share_for_half"]])
    assert curve["share_from_high"].iloc[0] == pytest.approx(0.5)
    # more people rated high at the same rates: now most serious events come from high+
    assert baserates.share_curve(t, shares=[0.25])["share_from_high"].iloc[0] > 0.5


def test_inflation_cost_moves_people_up_and_lowers_ppv():
    d = _population()
    after = d["band"].copy()
    # inflation: 100 medium non-reoffenders rated high
    idx = d.index[(d["band"] == "medium") & (d["y"] == 0)][:100]
    after.loc[idx] = "high"
    cost = baserates.inflation_cost(d["band"], after, d["y"],
                                    resources={"high": 2.0, "very high": 10.0})
    assert cost.loc["change", "flagged"] == 100
    assert cost.loc["change", "resources"] == pytest.approx(200.0)
    assert cost.loc["after", "ppv"] == pytest.approx(104 / 300)
    assert cost.loc["change", "sensitivity"] == pytest.approx(0.0)
    assert cost.attrs["moved_up"] == 100 and cost.attrs["moved_down"] == 0


def test_errors_are_named_and_plot_draws():
    d = _population()
    with pytest.raises(RiskevalError, match="outcome has the value 'yes' at row 3"):
        baserates.band_table(d["band"], d["y"].astype(object).where(d.index != 3, "yes"))
    with pytest.raises(RiskevalError, match="at='severe'"):
        baserates.threshold_metrics(d["band"], d["y"], at="severe")
    with pytest.raises(RiskevalError, match="resources names band 'extreme'"):
        baserates.band_table(d["band"], d["y"], resources={"extreme": 1.0})
    with pytest.raises(RiskevalError, match="same people"):
        baserates.inflation_cost(d["band"], d["band"].iloc[:10], d["y"])
    t = baserates.band_table(d["band"], d["y"], serious=d["serious"])
    fig = plot_base_rates(t)
    bars, curve = fig.axes
    assert len(bars.patches) == 8 and curve.get_xlabel().startswith("share of people rated")


def test_simulated_outcomes_follow_the_truth_and_the_practitioners_base_rate_fact():
    import riskeval as rv

    v = rv.world.vignettes.population(50_000, seed=3)
    o = baserates.simulate_outcomes(v, seed=1)
    assert o["reconvicted"].mean() == pytest.approx(v["p_reconviction"].mean(), abs=0.01)
    assert o["serious"].mean() == pytest.approx(0.01, abs=0.002)
    t = baserates.band_table(v["reference"], o["reconvicted"], serious=o["serious"])
    c = baserates.majority_condition(t)
    # most serious further offences come from low/medium, though their rate is far lower
    assert not c["most_from_high"] and 0.3 < c["share_from_high"] < 0.5
    assert c["rate_ratio"] > 2
    again = baserates.simulate_outcomes(v, seed=1)
    pd.testing.assert_frame_equal(o, again)
    with pytest.raises(RiskevalError, match="lack column 'harm_latent'"):
        baserates.simulate_outcomes(v.drop(columns="harm_latent"), seed=1)
