"""riskeval.prediction.fairness: error rates, calibration within groups and AUC by group.

Simulated data with known group error rates (recovered within their intervals), agreement
with statsmodels / scikit-learn on the same quantities, bad inputs, and an office example
("justice by geography": the same cases, offices that flag differently).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from riskeval import RiskevalError
from riskeval.errors import DegenerateDataWarning
from riskeval.prediction.fairness import (
    calibration_within_groups,
    error_rates,
    newcombe_difference,
    score_auc_by_group,
    wilson_interval,
)


def simulate_flags(n_per_group: int, base: dict, fpr: dict, fnr: dict, seed: int
                   ) -> pd.DataFrame:
    """People in groups with given base rates, false positive and false negative rates."""
    rng = np.random.default_rng(seed)
    parts = []
    for g in base:
        y = rng.random(n_per_group) < base[g]
        u = rng.random(n_per_group)
        flag = np.where(y, u >= fnr[g], u < fpr[g])
        parts.append(pd.DataFrame({"group": g, "y": y.astype(int), "flag": flag}))
    return pd.concat(parts, ignore_index=True)


BASE = {"a": 0.30, "b": 0.50, "c": 0.60}
FPR = {"a": 0.20, "b": 0.30, "c": 0.45}
FNR = {"a": 0.40, "b": 0.30, "c": 0.15}


# ---------------------------------------------------------------------------------------------
# intervals against statsmodels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (7, 9), (10, 10), (805, 1795)])
def test_wilson_matches_statsmodels(k, n):
    from statsmodels.stats.proportion import proportion_confint

    for level in (0.9, 0.95):
        lo, hi = wilson_interval(k, n, level)
        ref = proportion_confint(k, n, alpha=1 - level, method="wilson")
        assert (float(lo), float(hi)) == pytest.approx(ref, abs=1e-12)


def test_wilson_empty_denominator_is_nan():
    lo, hi = wilson_interval([0, 3], [0, 5])
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and 0 < lo[1] < hi[1] < 1


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"),
                         [(805, 1795, 349, 1488), (3, 20, 9, 25), (0, 15, 4, 30), (12, 12, 5, 9)])
def test_newcombe_matches_statsmodels(k1, n1, k2, n2):
    from statsmodels.stats.proportion import confint_proportions_2indep

    d, lo, hi = newcombe_difference(k1, n1, k2, n2)
    ref = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
    assert d == pytest.approx(k1 / n1 - k2 / n2)
    assert (lo, hi) == pytest.approx(ref, abs=1e-10)


# ---------------------------------------------------------------------------------------------
# error rates: recovery of known rates
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return simulate_flags(20_000, BASE, FPR, FNR, seed=11)


def test_error_rates_recover_known_group_rates(big):
    out = error_rates("y", "flag", "group", data=big, confidence=0.999)
    t = out.table
    assert list(t.index) == ["a", "b", "c"]
    for g in BASE:
        for rate, truth in (("base_rate", BASE[g]), ("fpr", FPR[g]), ("fnr", FNR[g])):
            assert t.loc[g, rate] == pytest.approx(truth, abs=0.015), (g, rate)
            assert t.loc[g, f"{rate}_low"] <= truth <= t.loc[g, f"{rate}_high"], (g, rate)
        # PPV follows from the three: p(1-fnr) / (p(1-fnr) + (1-p) fpr)
        p, a, b = BASE[g], FPR[g], FNR[g]
        ppv = p * (1 - b) / (p * (1 - b) + (1 - p) * a)
        assert t.loc[g, "ppv"] == pytest.approx(ppv, abs=0.015)
    gap = out.gaps.loc["fpr"]
    assert (gap["higher_group"], gap["lower_group"]) == ("c", "a")
    assert gap["low"] <= FPR["c"] - FPR["a"] <= gap["high"]
    gap = out.gaps.loc["fnr"]
    assert (gap["higher_group"], gap["lower_group"]) == ("a", "c")
    assert gap["difference"] == pytest.approx(FNR["a"] - FNR["c"], abs=0.02)
    assert out.tests.loc["fpr", "pvalue"] < 1e-10 and out.tests.loc["fpr", "df"] == 2


def test_error_rates_counts_and_chi2_match_direct_computation(big):
    out = error_rates(big["y"], big["flag"], big["group"])
    for g, part in big.groupby("group"):
        y, f = part["y"].to_numpy() == 1, part["flag"].to_numpy()
        row = out.table.loc[g]
        assert (row["tp"], row["fp"], row["tn"], row["fn"]) == (
            (y & f).sum(), (~y & f).sum(), (~y & ~f).sum(), (y & ~f).sum())
        assert row["npv"] == pytest.approx((~y & ~f).sum() / (~f).sum())
    neg = big[big["y"] == 0]
    ref = stats.chi2_contingency(pd.crosstab(neg["group"], neg["flag"]), correction=False)
    assert out.tests.loc["fpr", "chi2"] == pytest.approx(ref.statistic)
    assert out.tests.loc["fpr", "pvalue"] == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
    assert out.overall["n"] == len(big)
    assert out.overall["fpr"] == pytest.approx(neg["flag"].mean())


def test_wilson_intervals_cover_at_nominal_rate():
    """Across 400 small studies, the 90% FPR interval covers the true FPR about 90% of the
    time, and the test of equal FPR rejects at about its 5% level when FPRs are equal."""
    rng = np.random.default_rng(5)
    n_rep, n = 400, 60
    base = {"a": 0.4, "b": 0.4}
    cover, reject = 0, 0
    for _ in range(n_rep):
        frame = simulate_flags(n, base, {"a": 0.25, "b": 0.25}, {"a": 0.3, "b": 0.3},
                               seed=int(rng.integers(1 << 31)))
        out = error_rates(frame["y"], frame["flag"], frame["group"], confidence=0.9)
        cover += int(out.table.loc["a", "fpr_low"] <= 0.25 <= out.table.loc["a", "fpr_high"])
        reject += int(out.tests.loc["fpr", "pvalue"] < 0.05)
    assert 0.85 <= cover / n_rep <= 0.95
    assert 0.015 <= reject / n_rep <= 0.09


def test_error_rates_accept_bool_text_categorical_and_series_index():
    y = pd.Series([True, False, True, False, True, False], index=list("uvwxyz"))
    flag = pd.Series(["1", "0", "1", "1", "0", "0"], index=list("uvwxyz"))
    grp = pd.Categorical(["z", "z", "z", "y", "y", "y"], categories=["z", "y", "x"])
    out = error_rates(y, flag, grp)
    assert list(out.table.index) == ["z", "y"]  # category order, unused category dropped
    assert out.table.loc["z", "fnr"] == 0.0 and out.table.loc["y", "fpr"] == 0.5


def test_single_group_warns_and_returns_nan_tests():
    with pytest.warns(DegenerateDataWarning, match="fewer than two groups"):
        out = error_rates([0, 1, 0, 1], [0, 1, 1, 1], ["x"] * 4)
    assert np.isnan(out.tests.loc["fpr", "pvalue"]) and out.table.loc["x", "fpr"] == 0.5


def test_rates_all_zero_give_chi2_zero():
    out = error_rates([0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 1], list("aaabbb"))
    assert out.tests.loc["fpr", "chi2"] == 0 and out.tests.loc["fpr", "pvalue"] == 1.0


def test_summary_mentions_gap_and_test(big):
    text = error_rates("y", "flag", "group", data=big).summary()
    assert "FPR: largest gap" in text and "on 2 df" in text


# ---------------------------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y": [0, 1, 2], "predicted_positive": [0, 1, 1], "groups": "aab"},
         r"y has the value 2 at row 2 .*expected 0/1"),
        ({"y": [0, 1, 1], "predicted_positive": ["no", "yes", "no"], "groups": "aab"},
         r"predicted_positive has the value 'no' at row 0"),
        ({"y": [0, 1], "predicted_positive": [0, 1, 1], "groups": ["a", "a", "b"]},
         r"different lengths \(y has 2, predicted_positive has 3, groups has 3\)"),
        ({"y": [], "predicted_positive": [], "groups": []}, r"inputs are empty"),
        ({"y": [0, np.nan, 1], "predicted_positive": [0, 1, 1], "groups": "aab"},
         r"y is missing at row 1"),
        ({"y": [0, 1, 1], "predicted_positive": [0, 1, 1], "groups": ["a", None, "b"]},
         r"groups is missing at row 1"),
        ({"y": [0, 1, 1], "predicted_positive": [0, 1, 1], "groups": "aab",
          "confidence": 95}, r"confidence=95 is not a level"),
        ({"y": 1, "predicted_positive": [0, 1, 1], "groups": "aab"},
         r"y must be an array"),
        ({"y": np.zeros((3, 2)), "predicted_positive": [0, 1, 1], "groups": "aab"},
         r"shape \(3, 2\)"),
    ],
)
def test_error_rates_bad_input(kwargs, message):
    kw = dict(kwargs)
    if isinstance(kw["groups"], str):
        kw["groups"] = list(kw["groups"])
    with pytest.raises(RiskevalError, match=message):
        error_rates(**kw)


def test_bad_row_is_named_by_series_index():
    y = pd.Series([0, 1, 7], index=[101, 102, 103])
    with pytest.raises(RiskevalError, match=r"value 7 at row 103"):
        error_rates(y, [0, 1, 1], ["a", "b", "b"])


def test_column_names_need_data_and_must_exist():
    frame = pd.DataFrame({"recid": [0, 1], "flag": [1, 1], "office": ["a", "b"]})
    with pytest.raises(RiskevalError, match=r"no data= DataFrame"):
        error_rates("recid", "flag", "office")
    with pytest.raises(RiskevalError, match=r"the y column 'recidd' is not in the table.*'recid'"):
        error_rates("recidd", "flag", "office", data=frame)


def test_calibration_bad_input():
    y = [0, 1, 0, 1]
    with pytest.raises(RiskevalError, match=r"holds text.*order="):
        calibration_within_groups(y, ["Low", "High", "Low", "High"], list("aabb"))
    with pytest.raises(RiskevalError, match=r"value 'Medium' at row 2, which is not one of"):
        calibration_within_groups(y, ["Low", "High", "Medium", "High"], list("aabb"),
                                  order=["Low", "High"])
    with pytest.raises(RiskevalError, match=r"numeric with 25 distinct values.*bins="):
        calibration_within_groups(np.arange(25) % 2, np.arange(25.0), ["a"] * 25)
    with pytest.raises(RiskevalError, match=r"unordered categorical"):
        calibration_within_groups(y, pd.Categorical(["L", "H", "L", "H"]), list("aabb"))
    with pytest.raises(RiskevalError, match=r"bins='x' is not a whole number|bins=1"):
        calibration_within_groups(y, [0.1, 0.5, 0.2, 0.9], list("aabb"), bins=1)


def test_auc_bad_input_and_degenerate_group():
    with pytest.raises(RiskevalError, match=r"score has the value 'high' at row 1"):
        score_auc_by_group([0, 1], [1, "high"], ["a", "a"])
    with pytest.warns(DegenerateDataWarning, match=r"\['b'\] have only one outcome"):
        out = score_auc_by_group([0, 1, 0, 0], [1, 2, 1, 3], list("aabb"))
    assert np.isnan(out.table.loc["b", "auc"]) and out.table.loc["a", "auc"] == 1.0


# ---------------------------------------------------------------------------------------------
# calibration within groups
# ---------------------------------------------------------------------------------------------


def simulate_bands(n: int, seed: int, shift: dict | None = None) -> pd.DataFrame:
    """Bands 0-2 with outcome rates 0.2/0.45/0.7; group 'c' has a riskier band mix; ``shift``
    adds a log-odds shift per group (miscalibration)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n)
    band = np.where(group == "c", rng.choice(3, n, p=[0.2, 0.3, 0.5]),
                    rng.choice(3, n, p=[0.5, 0.3, 0.2]))
    logit = np.log(np.array([0.2, 0.45, 0.7]) / (1 - np.array([0.2, 0.45, 0.7])))[band]
    if shift:
        logit = logit + np.array([shift.get(g, 0.0) for g in group])
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"y": y.astype(int), "band": band, "group": group})


def test_calibration_lr_tests_match_statsmodels_logit():
    import statsmodels.formula.api as smf

    frame = simulate_bands(3000, seed=2, shift={"b": 0.3})
    res = calibration_within_groups("y", "band", "group", data=frame)
    m0 = smf.logit("y ~ 1", frame).fit(disp=0)
    m1 = smf.logit("y ~ C(band)", frame).fit(disp=0)
    m2 = smf.logit("y ~ C(band) + C(group)", frame).fit(disp=0)
    m3 = smf.logit("y ~ C(band) * C(group)", frame).fit(disp=0)
    expected = {"band": (m0, m1, 2), "group": (m1, m3, 6), "group_main": (m1, m2, 2),
                "interaction": (m2, m3, 4)}
    for row, (small, large, df) in expected.items():
        assert res.tests.loc[row, "lr"] == pytest.approx(2 * (large.llf - small.llf), rel=1e-6)
        assert res.tests.loc[row, "df"] == df
    assert res.coefficients.loc["group[b]", "estimate"] == pytest.approx(
        m2.params["C(group)[T.b]"], rel=1e-5)
    assert res.coefficients.loc["group[b]", "se"] == pytest.approx(
        m2.bse["C(group)[T.b]"], rel=1e-4)
    # per-cell rates
    cell = frame.groupby(["group", "band"])["y"].mean()
    for (g, b), rate in cell.items():
        assert res.table.loc[(g, b), "rate"] == pytest.approx(rate)


def test_calibrated_score_passes_calibration_but_fails_error_rate_balance():
    """Chouldechova (2017): same meaning of each band, different base rates -> unequal FPR."""
    frame = simulate_bands(12_000, seed=7)
    cal = calibration_within_groups("y", "band", "group", data=frame)
    assert cal.tests.loc["group", "pvalue"] > 0.001
    assert cal.group_share < 0.02
    frame["flag"] = frame["band"] >= 1
    err = error_rates("y", "flag", "group", data=frame)
    assert err.gaps.loc["fpr", "higher_group"] == "c"
    assert err.gaps.loc["fpr", "difference"] > 0.15
    assert err.tests.loc["fpr", "pvalue"] < 1e-6


def test_miscalibrated_group_is_detected_and_sized():
    frame = simulate_bands(12_000, seed=8, shift={"b": -0.8})
    cal = calibration_within_groups("y", "band", "group", data=frame)
    assert cal.tests.loc["group_main", "pvalue"] < 1e-10
    assert cal.tests.loc["interaction", "pvalue"] > 0.001
    assert cal.coefficients.loc["group[b]", "estimate"] == pytest.approx(-0.8, abs=0.15)
    assert cal.group_share > 0.1
    wide = cal.rates
    assert list(wide.index) == [0, 1, 2] and list(wide.columns) == ["a", "b", "c"]
    assert (wide["b"] < wide["a"]).all()


def test_calibration_text_bands_with_order_and_bins():
    frame = simulate_bands(2000, seed=3)
    names = np.array(["Low", "Medium", "High"])[frame["band"]]
    res = calibration_within_groups(frame["y"], names, frame["group"],
                                    order=["Low", "Medium", "High"])
    assert res.bands == ("Low", "Medium", "High")
    ordered = pd.Categorical(names, categories=["Low", "Medium", "High"], ordered=True)
    res2 = calibration_within_groups(frame["y"], ordered, frame["group"])
    assert res2.tests.equals(res.tests)
    score = frame["band"] + np.random.default_rng(0).random(len(frame))
    res3 = calibration_within_groups(frame["y"], score, frame["group"], bins=3)
    assert len(res3.bands) == 3 and res3.tests.loc["band", "pvalue"] < 1e-20


def test_calibration_with_all_zero_cell_stays_finite():
    y = [0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1]
    band = [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    grp = list("aaaaaabbbbbb")
    res = calibration_within_groups(y, band, grp)
    assert np.isfinite(res.tests["lr"]).all()
    assert res.table.loc[("a", 0), "rate"] == 0.0


# ---------------------------------------------------------------------------------------------
# AUC by group
# ---------------------------------------------------------------------------------------------


def delong_bruteforce(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    pos, neg = score[y == 1], score[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))


def test_auc_matches_sklearn_and_bruteforce_delong():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    n = 900
    group = rng.choice(["x", "y", "z"], n)
    y = rng.random(n) < 0.4
    score = np.round(rng.normal(np.where(y, 1.0, 0.0) * np.where(group == "z", 0.3, 1.0), 1), 1)
    res = score_auc_by_group(y, score, group)
    for g in ["x", "y", "z"]:
        m = group == g
        auc, se = delong_bruteforce(score[m], y[m].astype(int))
        assert res.table.loc[g, "auc"] == pytest.approx(roc_auc_score(y[m], score[m]))
        assert res.table.loc[g, "auc"] == pytest.approx(auc)
        assert res.table.loc[g, "se"] == pytest.approx(se, rel=1e-9)
    assert res.overall["auc"] == pytest.approx(roc_auc_score(y, score))
    assert res.test["df"] == 2 and res.test["pvalue"] < 0.01  # z ranks worse


# ---------------------------------------------------------------------------------------------
# justice by geography: one caseload, six offices
# ---------------------------------------------------------------------------------------------


def test_office_example_justice_by_geography():
    """Six offices see the same kind of case (same risk, same reoffending), but officers in
    'Eastgate' flag people who will not reoffend twice as often. The FPR gap points to
    Eastgate, the chi-square test rejects equal FPR, and because Eastgate's 'high' means less
    risk, the calibration test sees the office too."""
    rng = np.random.default_rng(21)
    offices = ["Northfield", "Southport", "Eastgate", "Westbury", "Midvale", "Lakeside"]
    n = 6000
    office = rng.choice(offices, n)
    risk = rng.beta(2, 3, n)                       # true reoffending probability
    y = rng.random(n) < risk
    perceived = risk + rng.normal(0, 0.12, n) + np.where(office == "Eastgate", 0.15, 0.0)
    flag = perceived > 0.5
    frame = pd.DataFrame({"office": office, "reoffended": y.astype(int), "flag": flag})

    err = error_rates("reoffended", "flag", "office", data=frame)
    assert err.gaps.loc["fpr", "higher_group"] == "Eastgate"
    assert err.gaps.loc["fpr", "low"] > 0.05
    assert err.tests.loc["fpr", "pvalue"] < 1e-8 and err.tests.loc["fpr", "df"] == 5
    others = err.table.drop(index="Eastgate")
    # the other offices do not differ from each other
    rest = error_rates("reoffended", "flag", "office", data=frame[frame["office"] != "Eastgate"])
    assert rest.tests.loc["fpr", "pvalue"] > 0.001
    assert err.table.loc["Eastgate", "fnr"] < others["fnr"].min()

    cal = calibration_within_groups("reoffended", "flag", "office", data=frame,
                                    order=[False, True])
    # Eastgate sorts first, so it is the reference: every other office has higher odds of
    # reoffending in the same band, i.e. Eastgate's bands mean less risk
    assert cal.groups[0] == "Eastgate"
    office_terms = cal.coefficients.filter(like="group[", axis=0)
    assert (office_terms["or_low"] > 1).all()
    assert (cal.rates.idxmin(axis=1) == "Eastgate").all()
    assert cal.tests.loc["group", "pvalue"] < 1e-2
    assert cal.tests.loc["interaction", "pvalue"] > 0.01


def test_results_follow_the_protocol_and_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from riskeval._core.results import Result
    from riskeval.prediction.fairness import GroupCalibrationResult

    rng = np.random.default_rng(5)
    band = rng.integers(0, 3, 400)
    y = rng.random(400) < np.array([0.2, 0.45, 0.7])[band]
    office = rng.choice(["a", "b", "c"], 400)
    results = [error_rates(y, band >= 1, office), score_auc_by_group(y, band, office),
               calibration_within_groups(y, band, office)]
    assert isinstance(results[2], GroupCalibrationResult)
    for res in results:
        assert isinstance(res, Result)
        frame = res.to_frame()
        assert type(frame) is pd.DataFrame and len(frame) >= 3
        assert res.summary() and res._repr_html_().startswith("<h4>")
        fig = res.plot()
        assert len(fig.axes) == 1 and fig.axes[0].has_data()
        plt.close(fig)
