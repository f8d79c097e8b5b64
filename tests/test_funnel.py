"""Funnel plots: exact binomial limits, flags, over-dispersion, clustering, errors and figures."""

from __future__ import annotations

import dataclasses
import itertools
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from riskeval import RiskevalError
from riskeval._core import plots
from riskeval.variation.funnel import FunnelResult, control_limits, funnel

# ----------------------------------------------------------------------------- helpers


def _frame(n: list[int] | np.ndarray, events: list[int] | np.ndarray,
           names: list[str] | None = None) -> pd.DataFrame:
    """One row per rating: group g has n[g] ratings of which events[g] are positive."""
    names = names or [f"office {i:02d}" for i in range(len(n))]
    groups, outcome = [], []
    for name, k, e in zip(names, n, events, strict=True):
        groups += [name] * int(k)
        outcome += [True] * int(e) + [False] * int(k - e)
    return pd.DataFrame({"office": groups, "high": outcome})


def _binomial(rng: np.random.Generator, groups: int, p: float | np.ndarray,
              low: int = 80, high: int = 400) -> pd.DataFrame:
    n = rng.integers(low, high, size=groups)
    return _frame(n, rng.binomial(n, p))


def _beta_binomial(rng: np.random.Generator, groups: int, mean: float, sd: float,
                   low: int = 80, high: int = 400) -> pd.DataFrame:
    """Group rates drawn from a beta distribution with the given mean and SD."""
    k = mean * (1 - mean) / sd ** 2 - 1
    p = rng.beta(mean * k, (1 - mean) * k, size=groups)
    return _binomial(rng, groups, p, low, high)


def _interpolated_quantile(n: int, p: Fraction, q: Fraction) -> float:
    """The limit for tail probability q, written as the inverse of the binomial CDF joined by
    straight lines between whole counts (with F(-1) = 0), in exact rational arithmetic."""
    pmf = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
    below = Fraction(0)  # F(k - 1)
    for k in range(n + 1):
        upto = below + pmf[k]  # F(k)
        if upto >= q:
            x = (k - 1) + (q - below) / (upto - below)
            return min(1.0, max(0.0, float(x) / n))
        below = upto
    raise AssertionError("unreachable: F(n) = 1")


# ----------------------------------------------------------------------------- control limits


@pytest.mark.parametrize("p", [Fraction(1, 20), Fraction(3, 10), Fraction(1, 2), Fraction(17, 20)])
def test_limits_match_the_interpolated_binomial_cdf(p):
    ns = [1, 2, 3, 5, 10, 17, 37, 100, 250]
    got = control_limits(float(p), ns)
    assert list(got["n"]) == ns
    for level, name in [(Fraction(95, 100), "95"), (Fraction(998, 1000), "99.8")]:
        tail = (1 - level) / 2
        for i, n in enumerate(ns):
            assert got[f"low_{name}"].iloc[i] == pytest.approx(
                _interpolated_quantile(n, p, tail), abs=1e-9)
            assert got[f"high_{name}"].iloc[i] == pytest.approx(
                _interpolated_quantile(n, p, 1 - tail), abs=1e-9)


def test_limits_by_hand_for_a_small_case():
    # n = 4, p = 1/2: F = 1/16, 5/16, 11/16, 15/16, 1. Tail 0.025 falls in [F(-1), F(0)] =
    # [0, 0.0625]: x = -1 + 0.025 / 0.0625 = -0.6 -> clipped to 0. Tail 0.975 falls in
    # [F(3), F(4)] = [0.9375, 1]: x = 3 + 0.0375 / 0.0625 = 3.6 -> 0.9.
    got = control_limits(0.5, 4, confidence=[0.95]).iloc[0]
    assert got["low_95"] == 0.0
    assert got["high_95"] == pytest.approx(0.9)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.8])
def test_limits_approach_the_normal_approximation(p):
    n = 100_000
    got = control_limits(p, [n]).iloc[0]
    for level, name in [(0.95, "95"), (0.998, "99.8")]:
        half = stats.norm.ppf(1 - (1 - level) / 2) * math.sqrt(p * (1 - p) / n)
        assert got[f"low_{name}"] == pytest.approx(p - half, abs=1e-3)
        assert got[f"high_{name}"] == pytest.approx(p + half, abs=1e-3)
    # and closer than the width itself says: the skewness correction is O(1/n)
    assert got["high_95"] - got["low_95"] == pytest.approx(
        2 * 1.959964 * math.sqrt(p * (1 - p) / n), rel=1e-2)


@pytest.mark.parametrize("p", [0.01, 0.1, 0.3, 0.5, 0.7, 0.95])
def test_limits_contain_the_target_and_are_nested(p):
    ns = np.unique(np.r_[1:60, np.geomspace(60, 50_000, 40).astype(int)])
    got = control_limits(p, ns)
    assert (got["low_99.8"] <= got["low_95"]).all()
    assert (got["high_95"] <= got["high_99.8"]).all()
    # the target lies inside, unless the group is so small that a count of 0 alone covers
    # the upper tail, where the interpolated upper limit is 0: see the next test
    upper_ok = (1 - p) ** ns < 0.975
    assert (got["high_95"][upper_ok] >= p).all() and (got["low_95"] <= p).all()
    assert upper_ok[60:].all()  # the large-n end is always checked
    assert ((got.drop(columns="n") >= 0) & (got.drop(columns="n") <= 1)).all().all()
    # the funnel narrows overall
    assert (got["high_95"] - got["low_95"]).iloc[-1] < (got["high_95"] - got["low_95"]).iloc[9]


def test_limits_when_a_single_count_covers_the_tail():
    # n = 1, p = 0.01: F(0) = 0.99 >= 0.975, so r = 0 and alpha = (0.99 - 0.975) / 0.99;
    # (0 - alpha) / 1 < 0 is clipped to 0: any event in a group of one is outside.
    got = control_limits(0.01, [1, 2, 3]).iloc[0]
    assert got["high_95"] == 0.0 and got["low_95"] == 0.0
    # no mirror case below: F(-1) = 0 anchors the interpolation; n = 1, p = 0.99 gives
    # r = 1, alpha = (1 - 0.025) / 0.99 and a lower limit of 1 - alpha
    assert control_limits(0.99, 1)["low_95"].iloc[0] == pytest.approx(1 - 0.975 / 0.99)
    res = funnel(_frame([1, 400, 400], [1, 4, 4]), group="office", outcome="high", target=0.01)
    assert res.table["outside_95"].tolist() == [True, False, False]


def test_limit_columns_are_named_from_the_levels():
    got = control_limits(0.3, [20, 50], confidence=(0.998, 0.9, 0.95))
    assert list(got.columns) == ["n", "low_90", "high_90", "low_95", "high_95", "low_99.8",
                                 "high_99.8"]
    assert list(control_limits(0.3, 20).columns) == ["n", "low_95", "high_95", "low_99.8",
                                                     "high_99.8"]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"target": 0.0, "n": [10]}, "target must be a proportion strictly between 0 and 1; got 0"),
    ({"target": 1.2, "n": [10]}, "strictly between 0 and 1; got 1.2"),
    ({"target": "a", "n": [10]}, "target must be a proportion"),
    ({"target": 0.3, "n": [10, 0]}, r"positive whole numbers .*got 0 at position 1"),
    ({"target": 0.3, "n": [2.5]}, r"positive whole numbers .*got 2.5"),
    ({"target": 0.3, "n": []}, "n is empty"),
    ({"target": 0.3, "n": ["10"]}, r"positive whole numbers .*got '10'"),
    ({"target": 0.3, "n": [True]}, r"positive whole numbers .*got True"),
    ({"target": 0.3, "n": [10], "confidence": (0.95, 1.5)},
     r"confidence levels must lie strictly .*1.5"),
    ({"target": 0.3, "n": [10], "confidence": ()}, "confidence is empty"),
])
def test_control_limits_errors(kwargs, match):
    with pytest.raises(RiskevalError, match=match):
        control_limits(**kwargs)


# ----------------------------------------------------------------------------- funnel


def test_funnel_table_matches_the_counts_and_control_limits():
    data = _frame([50, 120, 200], [10, 40, 60], names=["A", "B", "C"])
    res = funnel(data, group="office", outcome="high")
    t = res.table
    assert list(t.index) == ["A", "B", "C"] and t.index.name == "office"
    assert list(t["n"]) == [50, 120, 200] and list(t["events"]) == [10, 40, 60]
    assert res.target == pytest.approx(110 / 370) and res.target_source == "overall"
    assert t["rate"].tolist() == pytest.approx([0.2, 40 / 120, 0.3])
    p = 110 / 370
    assert t["z"].tolist() == pytest.approx(
        [(r - p) / math.sqrt(p * (1 - p) / n) for r, n in zip(t["rate"], t["n"], strict=True)])
    lim = control_limits(p, [50, 120, 200]).set_index("n")
    for col in ["low_95", "high_95", "low_99.8", "high_99.8"]:
        assert t[col].tolist() == pytest.approx(lim[col].tolist())
    # fewer than 10 groups: no winsorising, so phi is the plain mean of z^2
    assert res.phi == pytest.approx(np.mean(t["z"] ** 2)) == pytest.approx(res.phi_raw)
    assert res.phi_pvalue == pytest.approx(stats.chi2.sf(3 * res.phi_raw, 2))
    assert res.levels == (0.95, 0.998) and not res.widened

    given = funnel(data, group="office", outcome="high", target=0.25)
    assert given.target == 0.25 and given.target_source == "given"


def test_funnel_flags_the_group_with_a_truly_higher_rate():
    rng = np.random.default_rng(2024)
    p = np.full(24, 0.30)
    p[7] = 0.50
    n = rng.integers(150, 400, size=24)
    data = _frame(n, rng.binomial(n, p))
    res = funnel(data, group="office", outcome="high")
    t = res.table
    assert res.outside == ["office 07"]
    assert t.loc["office 07", "outside_99.8"] and t.loc["office 07", "outside_95"]
    assert t.loc["office 07", "direction"] == "above"
    others = t.drop(index="office 07")
    assert not others["outside_99.8"].any()
    # at most a chance share of the 23 null groups crosses the 95% limits
    assert others["outside_95"].sum() <= 3
    assert set(t["direction"]) <= {"above", "below", "within"}
    assert (t.loc[t["direction"] == "within", "outside_95"] == False).all()  # noqa: E712
    assert "office 07 (above)" in res.summary()


def test_a_lower_group_is_flagged_below():
    data = _frame([300] * 12, [90] * 11 + [30])
    res = funnel(data, group="office", outcome="high", target=0.3)
    assert res.outside == ["office 11"]
    assert res.table.loc["office 11", "direction"] == "below"


def test_phi_is_about_one_for_binomial_data_and_large_when_overdispersed():
    rng = np.random.default_rng(7)
    raw, wins, rejected = [], [], 0
    for _ in range(200):
        res = funnel(_binomial(rng, 20, 0.3, 60, 200), group="office", outcome="high")
        raw.append(res.phi_raw)
        wins.append(res.phi)
        rejected += res.phi_pvalue < 0.05
    # unwinsorised: E[z^2] = 1 under the binomial (slightly less, the target is estimated)
    assert np.mean(raw) == pytest.approx(1.0, abs=0.06)
    # winsorised at the 10th/90th percentiles it is well below 1: for standard normal
    # z-scores its expectation tends to 0.679 (about 0.70 with 20 groups; a little less
    # here, as the target is estimated from the same data)
    c = stats.norm.ppf(0.9)
    limit = 0.8 - 2 * c * stats.norm.pdf(c) + 0.2 * c ** 2
    assert limit - 0.05 < np.mean(wins) < limit + 0.05
    assert 0.01 <= rejected / 200 <= 0.10  # the test holds its size

    over = funnel(_beta_binomial(rng, 30, 0.3, 0.08), group="office", outcome="high")
    assert over.phi > 2 and over.phi_raw > 2
    assert over.phi_pvalue < 1e-6


def test_winsorising_clips_z_at_the_10th_and_90th_percentiles():
    rng = np.random.default_rng(3)
    res = funnel(_beta_binomial(rng, 15, 0.3, 0.05), group="office", outcome="high")
    z = res.table["z"].to_numpy()
    lo, hi = np.percentile(z, [10, 90])
    assert res.phi == pytest.approx(np.mean(np.clip(z, lo, hi) ** 2))
    assert res.phi < res.phi_raw
    assert res.phi_pvalue == pytest.approx(stats.chi2.sf(15 * res.phi_raw, 14))


def test_overdispersion_widens_the_limits():
    rng = np.random.default_rng(11)
    data = _beta_binomial(rng, 30, 0.3, 0.08)
    plain = funnel(data, group="office", outcome="high")
    wide = funnel(data, group="office", outcome="high", overdispersion=True)
    assert wide.widened and not plain.widened
    assert wide.phi == pytest.approx(plain.phi) and wide.phi > 1
    t, p = wide.table, wide.target
    for level, name in [(0.95, "95"), (0.998, "99.8")]:
        half = stats.norm.ppf(1 - (1 - level) / 2) * np.sqrt(wide.phi * p * (1 - p) / t["n"])
        assert t[f"low_{name}"].to_numpy() == pytest.approx(np.clip(p - half, 0, 1))
        assert t[f"high_{name}"].to_numpy() == pytest.approx(np.clip(p + half, 0, 1))
        assert (t[f"high_{name}"] - t[f"low_{name}"]
                > plain.table[f"high_{name}"] - plain.table[f"low_{name}"]).all()
    assert t["z_adjusted"].to_numpy() == pytest.approx(t["z"] / math.sqrt(wide.phi))
    assert len(wide.outside) < len(plain.outside)
    assert set(wide.outside) <= set(plain.outside)
    assert "widened" in wide.summary()
    # the drawing curve follows the widened limits too
    cw, cp = wide.curve(n_max=400), plain.curve(n_max=400)
    assert ((cw["high_95"] - cw["low_95"]).iloc[-1]
            > (cp["high_95"] - cp["low_95"]).iloc[-1])


def test_overdispersion_keeps_exact_limits_when_phi_is_at_most_one():
    data = _frame([100] * 12, [30] * 12)  # every group exactly at the target: phi = 0
    res = funnel(data, group="office", outcome="high", overdispersion=True)
    assert res.phi == 0 and not res.widened and "z_adjusted" not in res.table
    assert res.table["high_95"].iloc[0] == pytest.approx(
        control_limits(0.3, 100)["high_95"].iloc[0])
    assert res.outside == []


def test_cluster_discounts_ratings_by_the_design_effect():
    rng = np.random.default_rng(5)
    rows = []
    for g in range(12):
        for o in range(6):
            p = np.clip(0.3 + rng.normal(0, 0.12), 0.02, 0.98)  # officer effects
            rows += [(f"office {g:02d}", f"officer {o}", rng.random() < p) for _ in range(40)]
    data = pd.DataFrame(rows, columns=["office", "officer", "high"])
    plain = funnel(data, group="office", outcome="high")
    clus = funnel(data, group="office", outcome="high", cluster="officer")
    t = clus.table
    assert clus.cluster_icc is not None and clus.cluster_icc > 0.02
    # balanced: sum(m^2)/n = 40 ratings per officer, so deff = 1 + 39 rho
    assert t["deff"].to_numpy() == pytest.approx(1 + 39 * clus.cluster_icc)
    assert t["n_eff"].to_numpy() == pytest.approx(t["n"] / t["deff"])
    assert (np.abs(t["z"]) < np.abs(plain.table["z"])).all()
    assert clus.phi_raw < plain.phi_raw
    assert clus.x == "n_eff" and plain.x == "n"
    # the ICC against a direct one-way ANOVA on officer-within-office
    cell = data.groupby(["office", "officer"])["high"].agg(["sum", "count"])
    office = data.groupby("office")["high"].agg(["sum", "count"])
    ssw = (cell["sum"] - cell["sum"] ** 2 / cell["count"]).sum()
    ssb = (cell["sum"] ** 2 / cell["count"]).sum() - (office["sum"] ** 2 / office["count"]).sum()
    msw, msb = ssw / (len(data) - len(cell)), ssb / (len(cell) - len(office))
    s2b = (msb - msw) / 40
    assert clus.cluster_icc == pytest.approx(s2b / (s2b + msw))


def test_cluster_without_clustering_changes_little():
    rng = np.random.default_rng(8)
    data = _binomial(rng, 15, 0.3, 100, 200)
    data["officer"] = rng.integers(0, 5, size=len(data))
    res = funnel(data, group="office", outcome="high", cluster="officer")
    assert res.cluster_icc < 0.02
    assert (res.table["deff"] < 1.5).all()


def test_outcome_forms_that_are_accepted():
    base = _frame([40, 60], [10, 30], names=["A", "B"])
    ref = funnel(base, group="office", outcome="high").table
    for col in (base["high"].astype(int), base["high"].astype(float),
                base["high"].astype(object), base["high"].astype("boolean")):
        got = funnel(base.assign(high=col), group="office", outcome="high").table
        pd.testing.assert_frame_equal(got, ref)
    # missing outcomes are left out
    with_na = base.assign(high=base["high"].astype("boolean"))
    with_na.loc[[0, 1], "high"] = pd.NA
    got = funnel(with_na, group="office", outcome="high").table
    assert got.loc["A", "n"] == 38


def test_result_is_frozen_and_curve_is_whole_numbers():
    res = funnel(_frame([50, 80, 300], [10, 30, 90]), group="office", outcome="high")
    assert isinstance(res, FunnelResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.phi = 2.0  # type: ignore[misc]
    cur = res.curve()
    assert cur["n"].iloc[0] == 1 and cur["n"].iloc[-1] == math.ceil(1.05 * 300)
    assert cur["n"].is_monotonic_increasing and cur["n"].is_unique and len(cur) <= 200
    assert list(cur.columns) == ["n", "low_95", "high_95", "low_99.8", "high_99.8"]
    assert len(res.curve(n_max=1000, points=50)) <= 50
    with pytest.raises(RiskevalError, match="points must be"):
        res.curve(points=1)
    assert res.summary().startswith("3 office groups, target")


# ----------------------------------------------------------------------------- errors


def _small() -> pd.DataFrame:
    return _frame([5, 5], [2, 3], names=["A", "B"])


def test_missing_column_is_named():
    with pytest.raises(RiskevalError, match=r"the outcome column 'hgh' is not in the table"):
        funnel(_small(), group="office", outcome="hgh")
    with pytest.raises(RiskevalError, match=r"the group column 'ofice' is not in the table"):
        funnel(_small(), group="ofice", outcome="high")
    with pytest.raises(RiskevalError, match=r"the cluster column 'officer' is not in the table"):
        funnel(_small(), group="office", outcome="high", cluster="officer")


def test_outcome_that_is_not_binary_names_value_and_row():
    data = _small().astype({"high": object})
    data.loc[3, "high"] = "maybe"
    with pytest.raises(RiskevalError, match=r"outcome column 'high' has the value 'maybe' at "
                                            r"row 3 \(1 such values\); expected 0/1 .* Derive"):
        funnel(data, group="office", outcome="high")
    nums = _small().assign(high=[0, 1, 2, 0, 1, 0, 1, 1, 0, 0])
    with pytest.raises(RiskevalError, match=r"the value 2 at row 2 \(1 such values\)"):
        funnel(nums, group="office", outcome="high")
    # text "0"/"1" reads as the numbers (one 0/1 check for the whole package), so a column of
    # "1" is the all-events case
    text = _small().assign(high=["1"] * 10)
    with pytest.raises(RiskevalError, match=r"every rating in 'high' is 1"):
        funnel(text, group="office", outcome="high")
    as_text = funnel(_small().assign(high=_small()["high"].astype(int).astype(str)),
                     group="office", outcome="high")
    pd.testing.assert_frame_equal(as_text.table,
                                  funnel(_small(), group="office", outcome="high").table)


def test_group_with_no_ratings():
    data = _small()
    data["office"] = pd.Categorical(data["office"], categories=["A", "B", "C"])
    with pytest.raises(RiskevalError,
                       match=r"group\(s\) \['C'\] of 'office' have no rating .*\(n = 0\)"):
        funnel(data, group="office", outcome="high")
    allna = pd.concat([_small(), pd.DataFrame({"office": ["C"], "high": [np.nan]})],
                      ignore_index=True)
    with pytest.raises(RiskevalError, match=r"\['C'\] .*\(n = 0\)"):
        funnel(allna, group="office", outcome="high")


def test_fewer_than_two_groups():
    data = _frame([10], [4], names=["A"])
    with pytest.raises(RiskevalError, match=r"has 1 group\(s\) \(\['A'\]\); a funnel plot compares "
                                            r"at least 2"):
        funnel(data, group="office", outcome="high")


def test_other_bad_inputs():
    with pytest.raises(RiskevalError, match="target must be a proportion"):
        funnel(_small(), group="office", outcome="high", target=1.0)
    with pytest.raises(RiskevalError, match=r"every rating in 'high' is 0, .*pass target="):
        funnel(_small().assign(high=False), group="office", outcome="high")
    blank = _small().astype({"office": object})
    blank.loc[2, "office"] = None
    with pytest.raises(RiskevalError, match=r"group column 'office' is empty on lines 4"):
        funnel(blank, group="office", outcome="high")
    one_each = _small().assign(officer=lambda d: d["office"] + "-x")
    with pytest.raises(RiskevalError, match=r"single cluster in every 'office' group"):
        funnel(one_each, group="office", outcome="high", cluster="officer")
    with pytest.raises(RiskevalError, match="same column is given for two roles"):
        funnel(_small(), group="office", outcome="office")


# ----------------------------------------------------------------------------- figures


@pytest.fixture
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


def _visible_labels(labels) -> list:
    return [t for t in labels if t.get_visible() and t.get_text()]


def test_funnel_plot_draws_points_target_limits_and_labels(plt):
    rng = np.random.default_rng(2024)
    p = np.full(20, 0.3)
    p[[3, 12]] = [0.55, 0.08]
    n = rng.integers(150, 400, size=20)
    res = funnel(_frame(n, rng.binomial(n, p)), group="office", outcome="high")
    assert sorted(res.outside) == ["office 03", "office 12"]
    fig = res.plot(ylabel="share rated high or very high")
    assert isinstance(fig, plt.Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 1 + 2 * 2  # target, low/high per level
    assert ax.lines[1].get_linestyle() == "--" and ax.lines[3].get_linestyle() == ":"
    # groups within the limits, then the two outside (drawn in red)
    assert [len(c.get_offsets()) for c in ax.collections] == [18, 2]
    assert sorted(t.get_text() for t in ax.texts) == ["office 03", "office 12"]
    assert ax.get_xlabel() == "ratings in the office"
    assert ax.get_ylabel() == "share rated high or very high"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"target {res.target:.3g}", "95% limits", "99.8% limits", "office",
                      "outside the 99.8% limits"]

    _, ax2 = plt.subplots()
    assert plots.funnel(res, ax2) is ax2
    assert ax2.get_ylabel() == "share of ratings"


def test_heatmap_small_table_is_annotated_and_labelled(plt):
    table = pd.DataFrame(np.arange(20).reshape(5, 4) / 20,
                         index=pd.Index([f"r{i}" for i in range(5)], name="officer"),
                         columns=pd.Index(list("abcd"), name="other officer"))
    table.iloc[0, 0] = np.nan
    fig = plots.heatmap(table, title="agreement")
    assert isinstance(fig, plt.Figure)
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the matrix and its colorbar
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcd")
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"r{i}" for i in range(5)]
    assert len(ax.texts) == 19  # NaN cell left blank
    assert {t.get_text() for t in ax.texts} >= {"0.05", "0.95"}
    assert ax.get_xlabel() == "other officer" and ax.get_ylabel() == "officer"
    assert ax.get_title() == "agreement"
    assert len(plots.heatmap(table.to_numpy(), annotate=False).axes[0].texts) == 0
    _, ax2 = plt.subplots()
    assert plots.heatmap(table, ax=ax2, xlabel="x", fmt="{:.0%}") is ax2
    assert ax2.get_xlabel() == "x" and "95%" in {t.get_text() for t in ax2.texts}


@pytest.mark.parametrize("size", [100, 40])
def test_heatmap_large_table_thins_labels_that_do_not_overlap(plt, size):
    rng = np.random.default_rng(0)
    names = [f"officer {i}" for i in range(size)]
    fig = plots.heatmap(pd.DataFrame(rng.random((size, size)), index=names, columns=names))
    ax = fig.axes[0]
    assert len(ax.texts) == 0  # no cell annotations beyond 15 x 15
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for axis, labels in (("x", ax.get_xticklabels()), ("y", ax.get_yticklabels())):
        shown = _visible_labels(labels)
        assert 5 <= len(shown) <= 30
        boxes = sorted((t.get_window_extent(renderer) for t in shown),
                       key=lambda b: b.x0 if axis == "x" else b.y0)
        for a, b in itertools.pairwise(boxes):
            if axis == "x":
                assert a.x1 <= b.x0 + 0.5
            else:
                assert a.y1 <= b.y0 + 0.5


def test_confusion_outlines_the_diagonal_and_writes_counts(plt):
    levels = ["low", "medium", "high", "very high"]
    counts = pd.DataFrame([[30, 5, 1, 0], [4, 25, 6, 1], [0, 7, 20, 3], [0, 1, 4, 9]],
                          index=pd.Index(levels, name="reference"),
                          columns=pd.Index(levels, name="rating"))
    fig = plots.confusion(counts)
    ax = fig.axes[0]
    assert len(ax.texts) == 16 and ax.texts[0].get_text() == "30"
    outlines = [p for p in ax.patches if not p.get_fill()]
    assert sorted((p.get_x() + 0.5, p.get_y() + 0.5) for p in outlines) == [
        (i, i) for i in range(4)]
    assert ax.get_xlabel() == "rating" and ax.get_ylabel() == "reference"
    # diagonal found by label when the columns are in another order
    shuffled = counts[["medium", "low", "very high", "high"]]
    ax2 = plots.confusion(shuffled).axes[0]
    cells = sorted((p.get_y() + 0.5, p.get_x() + 0.5) for p in ax2.patches if not p.get_fill())
    assert cells == [(0, 1), (1, 0), (2, 3), (3, 2)]
    unnamed = plots.confusion(counts.to_numpy()).axes[0]
    assert unnamed.get_xlabel() == "rating" and unnamed.get_ylabel() == "reference level"
    with pytest.raises(RiskevalError, match="counts"):
        plots.confusion(-counts)
