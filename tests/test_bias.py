"""Bias diagnostics: direction, symmetry, anchoring and overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval import RiskevalError
from riskeval.variation.bias import anchoring, directional, overrides, symmetry

LEVELS = list(rv.RISK_LEVELS)


@pytest.fixture(scope="module")
def world() -> rv.World:
    return rv.world.scenarios.six_office_study(n_vignettes=120, seed=31)


def _table(pairs: dict[tuple[str, str], int], officers: int = 1) -> pd.DataFrame:
    rows = [(ref, rat) for (ref, rat), k in pairs.items() for _ in range(k)]
    frame = pd.DataFrame(rows, columns=["reference", "rating"])
    frame["officer"] = [f"o{i % officers}" for i in range(len(frame))]
    return frame


def test_directional_counts_and_wilson_interval():
    from statsmodels.stats.proportion import proportion_confint

    t = _table({("low", "low"): 30, ("low", "medium"): 12, ("medium", "low"): 3,
                ("medium", "high"): 5, ("high", "high"): 10})
    out = directional(t, rating="rating", reference="reference", categories=LEVELS)
    row = out.loc["(all)"]
    assert row["n"] == 60
    assert row["upward"] == pytest.approx(17 / 60) and row["downward"] == pytest.approx(3 / 60)
    assert row["net"] == pytest.approx(14 / 60)
    lo, hi = proportion_confint(17, 60, method="wilson")
    assert (row["upward_low"], row["upward_high"]) == pytest.approx((lo, hi))
    assert row["mean_shift"] == pytest.approx((12 - 3 + 5) / 60)


def test_directional_cluster_robust_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    officers = np.repeat(np.arange(15), 20)
    bias = rng.normal(0, 0.6, 15)[officers]
    ref = rng.integers(0, 3, len(officers))
    rat = np.clip(ref + np.round(bias + rng.normal(0, 0.5, len(officers))), 0, 3).astype(int)
    frame = pd.DataFrame({"rating": rat, "reference": ref, "officer": officers})
    out = directional(frame, rating="rating", reference="reference", cluster="officer",
                      categories=[0, 1, 2, 3]).loc["(all)"]
    y = (rat > ref).astype(float)
    ols = sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster",
                                         cov_kwds={"groups": officers})
    half = 1.959963984540054 * ols.bse[0]
    assert out["upward"] == pytest.approx(ols.params[0])
    assert out["upward_high"] - out["upward"] == pytest.approx(half, rel=1e-6)
    naive = directional(frame, rating="rating", reference="reference",
                        categories=[0, 1, 2, 3]).loc["(all)"]
    # ratings cluster by officer, so the honest interval is wider
    assert out["upward_high"] - out["upward_low"] > 1.5 * (naive["upward_high"]
                                                           - naive["upward_low"])


def test_symmetry_matches_statsmodels_bowker_and_mcnemar():
    from statsmodels.stats.contingency_tables import SquareTable, mcnemar

    t = _table({("low", "low"): 20, ("low", "medium"): 9, ("low", "high"): 4,
                ("medium", "low"): 3, ("medium", "medium"): 25, ("medium", "high"): 11,
                ("high", "low"): 1, ("high", "medium"): 4, ("high", "high"): 14})
    res = symmetry(t, rating="rating", reference="reference", categories=LEVELS[:3])
    sm = SquareTable(res.table.to_numpy(), shift_zeros=False).symmetry("bowker")
    assert res.statistic == pytest.approx(sm.statistic)
    assert res.df == sm.df and res.pvalue == pytest.approx(sm.pvalue)
    assert res.upward == 24 and res.downward == 8
    two = _table({("low", "low"): 40, ("low", "high"): 15, ("high", "low"): 5,
                  ("high", "high"): 30})
    r2 = symmetry(two, rating="rating", reference="reference", categories=["low", "high"])
    m = mcnemar(r2.table.to_numpy(), exact=False, correction=False)
    assert r2.test == "McNemar's test"
    assert r2.statistic == pytest.approx(m.statistic) and r2.pvalue == pytest.approx(m.pvalue)


def test_inflation_shows_as_net_upward_departure(world):
    on = rv.simulate(world.only("defensive_inflation"), seed=2)
    off = rv.simulate(world.only(), seed=2)
    d_on = directional(on, rating="rating", reference="reference", cluster="officer")
    d_off = directional(off, rating="rating", reference="reference", cluster="officer")
    assert d_on.loc["(all)", "net_low"] > 0.1                      # clearly upward
    assert d_off.loc["(all)", "net_low"] < 0 < d_off.loc["(all)", "net_high"]  # symmetric
    res_on = symmetry(on, rating="rating", reference="reference")
    assert res_on.pvalue < 1e-10 and res_on.upward > 3 * res_on.downward
    # noise alone with unequal level frequencies also breaks symmetry (documented caveat),
    # but departures stay balanced overall
    res_off = symmetry(off, rating="rating", reference="reference")
    assert 0.8 < res_off.upward / res_off.downward < 1.25
    per = directional(on, rating="rating", reference="reference", by="office",
                      cluster="officer")
    assert len(per) == 7 and (per.drop("(all)")["net"] > 0).all()


def test_anchoring_asymmetry(world):
    w = world.with_design(occasions=2, evidence_change_sd=0.6)
    kw = dict(rating="rating", case="case", rater="officer", occasion="occasion",
              evidence="true_latent")
    on = anchoring(rv.simulate(w.only("anchoring"), seed=3), **kw)
    off = anchoring(rv.simulate(w.only(), seed=3), **kw)
    assert on.loc["asymmetry", "upgraded_low"] > 0.05
    assert off.loc["asymmetry", "upgraded_low"] < 0 < off.loc["asymmetry", "upgraded_high"]
    assert on.loc["down", "downgraded"] < off.loc["down", "downgraded"] - 0.05
    assert on.loc["up", "upgraded"] == pytest.approx(off.loc["up", "upgraded"], abs=1e-12)
    by_level = anchoring(rv.simulate(w.only(), seed=3), **{**kw, "evidence": "reference"})
    assert set(by_level.index) == {"down", "none", "up", "asymmetry"}


def test_overrides_direction_and_effect(world):
    r = rv.simulate(world.only("manager_override"), seed=5)
    out = overrides(r, original="officer_rating", rating="rating",
                    reference="reference", by="office", cluster="officer").loc["(all)"]
    assert out["changed"] == pytest.approx(r["changed_by_manager_override"].mean())
    moved = r["rating"] != r["officer_rating"]
    up = (r["rating"].cat.codes > r["officer_rating"].cat.codes) & moved
    assert out["raised"] == pytest.approx(up.mean())
    before = (r["officer_rating"] == r["reference"]).mean()
    after = (r["rating"] == r["reference"]).mean()
    assert out["agreement_change"] == pytest.approx(after - before)


def test_errors():
    t = pd.DataFrame({"rating": ["low", "high"], "reference": ["low", "sever"]})
    with pytest.raises(RiskevalError, match="holds 'sever', which is not one of the levels"):
        directional(t, rating="rating", reference="reference", categories=LEVELS)
    with pytest.raises(RiskevalError, match="holds text; give its levels lowest first"):
        directional(t, rating="rating", reference="reference")
    with pytest.raises(RiskevalError, match="the reference column 'ref' is not in the table"):
        directional(t, rating="rating", reference="ref")
    same = pd.DataFrame({"rating": ["low", "high"], "reference": ["low", "high"]})
    with pytest.raises(RiskevalError, match="no rating departs"):
        symmetry(same, rating="rating", reference="reference", categories=LEVELS)
    once = pd.DataFrame({"rating": ["low"], "case": [1], "officer": [1], "t": [0], "e": [0.1]})
    with pytest.raises(RiskevalError, match="no officer assessed the same case twice"):
        anchoring(once, rating="rating", case="case", rater="officer", occasion="t",
                  evidence="e", categories=LEVELS)


def test_symmetry_holds_its_level_under_exact_symmetry():
    """Swap each (reference, rating) pair with probability 1/2: the null holds exactly."""
    rng = np.random.default_rng(8)
    pvals = []
    for _ in range(300):
        a = rng.integers(0, 4, 400)
        b = np.clip(a + rng.integers(-1, 2, 400), 0, 3)
        swap = rng.random(400) < 0.5
        ref, rat = np.where(swap, b, a), np.where(swap, a, b)
        t = pd.DataFrame({"reference": ref, "rating": rat})
        pvals.append(symmetry(t, rating="rating", reference="reference",
                              categories=[0, 1, 2, 3]).pvalue)
    rate = np.mean(np.array(pvals) < 0.05)
    assert 0.02 < rate < 0.09, rate


def test_inflation_trend_detects_growth_with_scrutiny():
    w = rv.world.scenarios.six_office_study(n_vignettes=16).with_design(
        occasions=5, interval_years=3.0, start_year=2015.0)
    kw = dict(rating="rating", reference="reference", year="year", case="case",
              rater="officer", office="office")
    on = rv.variation.bias.inflation_trend(rv.simulate(w.only("defensive_inflation", "who_assesses")
                                             .with_mechanisms(defensive_inflation={
                                                 "strength": 1.5}), seed=4), **kw)
    off = rv.variation.bias.inflation_trend(rv.simulate(w.only("who_assesses"), seed=4), **kw)
    assert on["ci_low"] > 0.01                      # ratings drift up relative to evidence
    assert off["ci_low"] < 0 < off["ci_high"]       # no drift without inflation
    assert on["years"] == 5
    one_year = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)
    with pytest.raises(RiskevalError, match="holds a single year"):
        rv.variation.bias.inflation_trend(one_year, **kw)


@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning")  # the reference, n = 1
@pytest.mark.parametrize("seed", range(25))
def test_directional_without_clusters_equals_the_per_group_intervals(seed):
    """The one-pass computation for independent ratings gives, for every group, the numbers
    of the per-group interval function (Wilson shares, normal net direction), including
    groups of one rating and groups where every rating agrees."""
    from riskeval.variation.bias import _mean_ci, directional

    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 60))
    levels = ["low", "medium", "high", "very high"]
    ref = rng.integers(0, 4, n)
    shift = rng.choice([-1, 0, 0, 1], n) * (rng.random() < 0.8)
    rating = np.clip(ref + shift, 0, 3)
    officer = rng.integers(0, max(1, n // int(rng.integers(1, 6))), n)
    data = pd.DataFrame({"rating": np.array(levels)[rating], "reference": np.array(levels)[ref],
                         "officer": [f"o{k}" for k in officer]})
    got = directional(data, rating="rating", reference="reference", by="officer",
                      categories=levels)
    diff = rating - ref
    groups = [("(all)", np.arange(n))] + [
        (key, np.flatnonzero(data["officer"].to_numpy() == key))
        for key in pd.unique(data["officer"])]
    for key, rows in groups:
        d = diff[rows]
        for name, y, bounded in (("upward", d > 0, True), ("downward", d < 0, True),
                                 ("agree", d == 0, True), ("net", np.sign(d), False)):
            with np.errstate(invalid="ignore", divide="ignore"):
                m, _, lo, hi = _mean_ci(y.astype(float), None, 0.95, bounded)
            np.testing.assert_allclose(
                got.loc[key, [name, f"{name}_low", f"{name}_high"]].to_numpy(dtype=float),
                [m, lo, hi], rtol=1e-12, atol=1e-14, equal_nan=True, err_msg=f"{key} {name}")
        assert got.loc[key, "n"] == len(rows)
        assert got.loc[key, "mean_shift"] == pytest.approx(d.mean(), abs=1e-14)


@pytest.mark.parametrize("seed", range(30))
def test_directional_by_group_with_clusters_matches_statsmodels(seed):
    """Clustered intervals of every group (clusters coded once for the table) equal
    statsmodels' cluster-robust SE of a mean (CR1, g/(g-1)), on random designs with officer
    ids that are numbers, text or repeat across offices."""
    import statsmodels.api as sm

    rng = np.random.default_rng(seed)
    n_off = int(rng.integers(2, 5))
    rows = []
    for f in range(n_off):
        for k in range(int(rng.integers(1, 6))):
            lean = rng.normal(0, 0.7)
            for _ in range(int(rng.integers(1, 15))):
                ref = int(rng.integers(0, 4))
                rows.append({"office": f"F{f}", "officer": k if seed % 2 else f"o{f}-{k}",
                             "reference": ref,
                             "rating": int(np.clip(round(ref + lean + rng.normal(0, 0.6)),
                                                   0, 3))})
    data = pd.DataFrame(rows)
    got = directional(data, rating="rating", reference="reference", by="office",
                      cluster="officer", categories=[0, 1, 2, 3])
    z = 1.959963984540054
    for key in ["(all)", *pd.unique(data["office"])]:
        sub = data if key == "(all)" else data[data["office"] == key]
        diff = (sub["rating"] - sub["reference"]).to_numpy()
        for name, y, lo_cap in (("upward", (diff > 0).astype(float), 0.0),
                                ("net", np.sign(diff).astype(float), -1.0)):
            row = got.loc[key]
            assert row[name] == pytest.approx(y.mean(), abs=1e-14)
            if sub["officer"].nunique() < 2:
                assert np.isnan(row[f"{name}_low"])
                continue
            ols = sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster",
                                                 cov_kwds={"groups": pd.factorize(
                                                     sub["officer"])[0]})
            se = float(ols.bse[0])
            assert row[f"{name}_low"] == pytest.approx(max(lo_cap, y.mean() - z * se),
                                                       abs=1e-10)
            assert row[f"{name}_high"] == pytest.approx(min(1.0, y.mean() + z * se), abs=1e-10)
