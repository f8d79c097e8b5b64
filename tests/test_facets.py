"""Many-facet Rasch analysis (riskeval.variation.facets): fit statistics by hand, the JMLE
estimating equations, parameter recovery, separation formulas, bias analysis and input
errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import riskeval as rv
from riskeval.errors import RiskevalError, RiskevalWarning
from riskeval.variation import FacetsResult, many_facet_rasch

LEVELS = ("low", "medium", "high", "very high")


def simulate(seed: int, n_cases: int, n_officers: int, per_case: int, *,
             severity: np.ndarray | None = None, thresholds=(-1.5, 0.0, 1.5),
             sd_case: float = 1.0, n_offices: int = 0, office_effect=None,
             planted: float = 0.0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Ratings from the rating-scale model; each case rated by ``per_case`` officers drawn
    at random (complete when ``per_case == n_officers``). ``planted`` adds that many logits
    to officer 0's ratings of violent cases (an officer x offence-type interaction)."""
    rng = np.random.default_rng(seed)
    case = np.repeat(np.arange(n_cases), per_case)
    officer = np.concatenate([rng.choice(n_officers, per_case, replace=False)
                              for _ in range(n_cases)])
    b = rng.normal(0.0, sd_case, n_cases)
    c = np.linspace(-1.0, 1.0, n_officers) if severity is None else np.asarray(severity)
    f = np.asarray(thresholds, float)
    violent = (np.arange(n_cases) % 2 == 0)
    theta = b[case] - c[officer] + planted * ((officer == 0) & violent[case])
    office = None
    if n_offices:
        office = np.arange(n_officers) % n_offices
        theta = theta - np.asarray(office_effect)[office[officer]]
    tau = np.concatenate([[0.0], np.cumsum(f)])
    logit = np.outer(theta, np.arange(f.size + 1)) - tau
    p = np.exp(logit - logit.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    x = (rng.random(case.size)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    frame = pd.DataFrame({"case": [f"c{i:03d}" for i in case],
                          "officer": [f"o{j:02d}" for j in officer],
                          "rating": np.asarray(LEVELS[:f.size + 1], object)[x],
                          "offence_type": np.where(violent[case], "violent", "acquisitive")})
    if n_offices:
        frame["office"] = [f"office {o}" for o in office[officer]]
    return frame, c, f


def fit_of(frame, **kw) -> FacetsResult:
    kw.setdefault("categories", LEVELS)
    return many_facet_rasch(frame, case="case", rater="officer", rating="rating", **kw)


# ------------------------------------------------------------------ (1) fit by hand

def _tiny() -> pd.DataFrame:
    """10 cases x 4 officers less 3 ratings, scored 1..4 (no extreme scores)."""
    frame, _, _ = simulate(5, 10, 4, 4, severity=[-0.5, 0.0, 0.2, 0.3], sd_case=0.8)
    frame = frame.drop(index=[1, 6, 23]).reset_index(drop=True)
    frame["rating"] = frame["rating"].map({lv: k + 1 for k, lv in enumerate(LEVELS)})
    return frame[["case", "officer", "rating"]]


TINY = _tiny()


def _by_hand(frame, fit, element_col, labels, off_col=None):
    """Expected score, variance, kurtosis, infit, outfit and ZSTD with explicit loops."""
    b = fit.cases["measure"]
    c = fit.officers["measure"]
    thr = fit.categories["threshold"].to_numpy()[1:]
    m = len(thr)
    rows = {lab: {"y2": 0.0, "w": 0.0, "z2": 0.0, "n": 0, "cw2": 0.0, "cmw": 0.0, "x": 0.0,
                  "e": 0.0}
            for lab in labels}
    for _, r in frame.iterrows():
        theta = b[r["case"]] - c[r["officer"]]
        if off_col is not None:
            theta -= fit.offices["measure"][r[off_col]]
        num = []
        for k in range(m + 1):
            s = 0.0
            for h in range(1, k + 1):
                s += theta - thr[h - 1]
            num.append(math.exp(s))
        tot = sum(num)
        p = [v / tot for v in num]
        e = sum(k * p[k] for k in range(m + 1))
        w = sum((k - e) ** 2 * p[k] for k in range(m + 1))
        kurt = sum((k - e) ** 4 * p[k] for k in range(m + 1))
        x = r["rating"] - 1
        acc = rows[r[element_col]]
        acc["y2"] += (x - e) ** 2
        acc["w"] += w
        acc["z2"] += (x - e) ** 2 / w
        acc["n"] += 1
        acc["cw2"] += kurt / w ** 2
        acc["cmw"] += kurt - w ** 2
        acc["x"] += x
        acc["e"] += e
    out = {}
    for lab, acc in rows.items():
        n = acc["n"]
        outfit = acc["z2"] / n
        infit = acc["y2"] / acc["w"]
        q_out = math.sqrt(acc["cw2"] / n ** 2 - 1 / n)
        q_in = math.sqrt(acc["cmw"] / acc["w"] ** 2)
        out[lab] = {"infit": infit, "outfit": outfit,
                    "infit_zstd": (infit ** (1 / 3) - 1) * 3 / q_in + q_in / 3,
                    "outfit_zstd": (outfit ** (1 / 3) - 1) * 3 / q_out + q_out / 3,
                    "se": 1 / math.sqrt(acc["w"]), "x": acc["x"], "e": acc["e"]}
    return pd.DataFrame(out).T


def test_fit_statistics_by_hand():
    fit = many_facet_rasch(TINY, case="case", rater="officer", rating="rating", tol=1e-12)
    assert (fit.cases["extreme"] == "").all()
    for table, col in ((fit.officers, "officer"), (fit.cases, "case")):
        hand = _by_hand(TINY, fit, col, table.index)
        for stat in ("infit", "outfit", "infit_zstd", "outfit_zstd", "se"):
            np.testing.assert_allclose(table[stat].to_numpy(float),
                                       hand.loc[table.index, stat].to_numpy(float),
                                       rtol=0, atol=1e-10, err_msg=f"{col} {stat}")


def test_fit_statistics_by_hand_with_offices():
    frame = TINY.copy()
    frame["office"] = frame["officer"].map({"o00": "north", "o01": "north", "o02": "south",
                                            "o03": "south"})
    fit = many_facet_rasch(frame, case="case", rater="officer", rating="rating",
                           office="office", tol=1e-12)
    for table, col in ((fit.officers, "officer"), (fit.offices, "office")):
        hand = _by_hand(frame, fit, col, table.index, off_col="office")
        for stat in ("infit", "outfit", "infit_zstd", "outfit_zstd", "se"):
            np.testing.assert_allclose(table[stat].to_numpy(float),
                                       hand.loc[table.index, stat].to_numpy(float),
                                       rtol=0, atol=1e-10, err_msg=f"{col} {stat}")
    # nested: officers centred within their office, offices at 0
    assert abs(fit.offices["measure"].sum()) < 1e-10
    for _, grp in fit.officers.groupby("office"):
        assert abs(grp["measure"].sum()) < 1e-10
    total = fit.officers["measure"] + fit.offices["measure"][fit.officers["office"]].to_numpy()
    np.testing.assert_allclose(fit.officers["total_measure"], total)


def test_fair_average_and_agreement_by_hand():
    fit = many_facet_rasch(TINY, case="case", rater="officer", rating="rating", tol=1e-12)
    thr = fit.categories["threshold"].to_numpy()[1:]
    mean_case = fit.cases["measure"].mean()
    for lab, row in fit.officers.iterrows():
        theta = mean_case - row["measure"]
        num = [math.exp(sum(theta - thr[h] for h in range(k))) for k in range(4)]
        expect = sum(k * v for k, v in enumerate(num)) / sum(num)
        assert abs(row["fair_average"] - (expect + 1)) < 1e-10
        sub = TINY[TINY["officer"] == lab]
        assert abs(row["observed_average"] - sub["rating"].mean()) < 1e-12
    # observed exact agreement of officer x: pairs of ratings of the same case
    agree = pairs = 0
    for _, grp in TINY.groupby("case"):
        mine = grp[grp["officer"] == "o01"]["rating"]
        for v in mine:
            others = grp[grp["officer"] != "o01"]["rating"]
            agree += int((others == v).sum())
            pairs += len(others)
    assert abs(fit.officers.loc["o01", "exact_agree_obs"] - agree / pairs) < 1e-12


# ------------------------------------------------------ (2) the estimating equations

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimating_equations_hold(seed):
    frame, _, _ = simulate(seed, 60, 9, 6, n_offices=3, office_effect=[0.3, 0.0, -0.3],
                           sd_case=0.6)
    fit = fit_of(frame, office="office", tol=1e-10)
    assert fit.converged
    assert (fit.cases["extreme"] == "").all() and (fit.officers["extreme"] == "").all()
    res = fit.residuals
    ok_case = set(fit.cases.index[fit.cases["extreme"] == ""])
    ok_off = set(fit.officers.index[fit.officers["extreme"] == ""])
    active = res[res["case"].isin(ok_case) & res["officer"].isin(ok_off)]
    for col in ("case", "officer", "office"):
        g = active.groupby(col, observed=True)[["observed", "expected"]].sum()
        np.testing.assert_allclose(g["observed"], g["expected"], atol=1e-6)
    # the thresholds' equations: observed count of each category = expected count
    np.testing.assert_allclose(fit.categories["count"], fit.categories["expected_count"],
                               atol=1e-6)
    assert abs(fit.categories["threshold"].iloc[1:].sum()) < 1e-10
    assert abs(fit.offices["measure"].sum()) < 1e-10


# ---------------------------------------------------------- (3) parameter recovery

# (cases, officers, ratings per case): complete, and two incomplete designs
DESIGNS = [(100, 12, 12), (60, 8, 8), (300, 20, 5)]


@pytest.mark.parametrize(("n_cases", "n_officers", "per_case"), DESIGNS)
def test_parameter_recovery(n_cases, n_officers, per_case):
    n_seeds = 30
    slope_raw, slope_cor, slope_thr, corr = [], [], [], []
    for seed in range(n_seeds):
        frame, c, f = simulate(100 + seed, n_cases, n_officers, per_case,
                               severity=np.linspace(-1.5, 1.5, n_officers))
        truth = pd.Series(c, index=[f"o{j:02d}" for j in range(n_officers)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RiskevalWarning)
            raw = fit_of(frame)
            cor = fit_of(frame, bias_correction=True)
        est = raw.officers["measure"].reindex(truth.index).to_numpy()
        est_c = cor.officers["measure"].reindex(truth.index).to_numpy()
        corr.append(np.corrcoef(est, c)[0, 1])
        slope_raw.append(est @ c / (c @ c))
        slope_cor.append(est_c @ c / (c @ c))
        thr = cor.categories["threshold"].to_numpy()[1:]
        slope_thr.append(thr @ f / (f @ f))
    corr = np.array(corr)
    assert corr.min() > 0.95
    slope_raw, slope_cor = np.array(slope_raw), np.array(slope_cor)
    mc = slope_cor.std(ddof=1) / math.sqrt(n_seeds)
    # JMLE spreads the measures out (the slope of estimate on truth is about L/(L-1)); the
    # (L-1)/L correction brings it back to 1 within Monte Carlo error
    assert slope_raw.mean() > 1 + 3 * mc
    assert abs(slope_cor.mean() - 1) < 3 * mc
    assert abs(np.mean(slope_thr) - 1) < 0.1


def test_recovery_with_offices():
    effects = np.array([0.5, 0.0, -0.5])
    est = []
    for seed in range(20):
        frame, _, _ = simulate(seed, 120, 12, 6, severity=np.zeros(12), n_offices=3,
                               office_effect=effects)
        fit = fit_of(frame, office="office", bias_correction=True)
        est.append(fit.offices["measure"].reindex([f"office {k}" for k in range(3)]))
    est = np.array(est)
    mc = est.std(axis=0, ddof=1) / math.sqrt(len(est))
    assert np.all(np.abs(est.mean(axis=0) - effects) < np.maximum(3 * mc, 0.05))


# ---------------------------------------------------------- (4) separation formulas

def test_separation_and_reliability_by_definition():
    frame, _, _ = simulate(7, 80, 10, 5)
    fit = fit_of(frame)
    for facet, table in (("officer", fit.officers), ("case", fit.cases)):
        t = table[table["extreme"] == ""]
        d, se = t["measure"].to_numpy(), t["se"].to_numpy()
        sd = d.std()  # population SD
        rmse = math.sqrt(np.mean(se ** 2))
        true_var = max(sd ** 2 - rmse ** 2, 0.0)
        g = math.sqrt(true_var) / rmse
        row = fit.facets.loc[facet]
        assert row["elements"] == len(t)
        assert abs(row["rmse"] - rmse) < 1e-12
        assert abs(row["separation"] - g) < 1e-10
        assert abs(row["strata"] - (4 * g + 1) / 3) < 1e-10
        assert abs(row["reliability"] - g ** 2 / (1 + g ** 2)) < 1e-10
        assert abs(row["reliability"] - true_var / sd ** 2) < 1e-10
        w = 1 / se ** 2
        q = np.sum(w * (d - np.sum(w * d) / np.sum(w)) ** 2)
        assert abs(row["chi2_fixed"] - q) < 1e-8
        assert abs(row["p_fixed"] - stats.chi2.sf(q, len(t) - 1)) < 1e-12
        wr = 1 / (true_var + se ** 2)
        qr = np.sum(wr * (d - np.sum(wr * d) / np.sum(wr)) ** 2)
        assert abs(row["chi2_random"] - qr) < 1e-8
        assert row["df_random"] == len(t) - 2


# --------------------------------------------------------------- (5) bias analysis

def test_planted_interaction_is_found():
    found = 0
    for seed in range(10):
        # officer o00 rates violent cases 2 logits higher than the others do
        frame, _, _ = simulate(seed, 120, 6, 6, severity=np.zeros(6), planted=2.0)
        fit = fit_of(frame, bias_by="offence_type")
        b = fit.bias.set_index(["officer", "offence_type"])
        row = b.loc[("o00", "violent")]
        assert row["bias"] > 0
        found += row["p_holm"] < 0.05
    assert found >= 9


def test_bias_false_positive_rate():
    hits = 0
    n = 100
    for seed in range(n):
        frame, _, _ = simulate(1000 + seed, 60, 6, 6)
        fit = fit_of(frame, bias_by="offence_type")
        hits += bool((fit.bias["p_holm"] < 0.05).any())
    rate = hits / n
    assert rate <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / n)


def test_holm_adjustment():
    frame, _, _ = simulate(3, 60, 6, 6, planted=1.0)
    t = fit_of(frame, bias_by="offence_type").bias
    p = t["p"].to_numpy()
    order = np.argsort(p)
    adj = np.minimum(np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]), 1)
    np.testing.assert_allclose(t["p_holm"].to_numpy()[order], adj)
    np.testing.assert_allclose(t["t"], t["bias"] / t["se"])
    assert (t["df"] == t["count"] - 1).all()


# ----------------------------------------------------------- extremes and results

def test_extreme_case_flagged_and_finite():
    frame, _, _ = simulate(5, 40, 6, 6)
    frame.loc[frame["case"] == "c000", "rating"] = "low"
    frame.loc[frame["case"] == "c001", "rating"] = "very high"
    fit = fit_of(frame)
    assert fit.cases.loc["c000", "extreme"] == "minimum"
    assert fit.cases.loc["c001", "extreme"] == "maximum"
    low, high = fit.cases.loc["c000", "measure"], fit.cases.loc["c001", "measure"]
    assert np.isfinite(low) and np.isfinite(high)
    others = fit.cases.loc[fit.cases["extreme"] == "", "measure"]
    assert low < others.min() and high > others.max()
    assert np.isnan(fit.cases.loc["c000", "infit"])
    # the extreme measure reproduces the score moved 0.3 points inward
    res = fit.residuals[fit.residuals["case"] == "c000"]
    assert abs((res["expected"] - 1).sum() - 0.3) < 1e-5
    assert fit.facets.loc["case", "extreme"] == 2


def test_extreme_officer():
    frame, _, _ = simulate(6, 40, 6, 6)
    frame.loc[frame["officer"] == "o05", "rating"] = "very high"
    fit = fit_of(frame)
    assert fit.officers.loc["o05", "extreme"] == "maximum"
    assert fit.officers.loc["o05", "measure"] < fit.officers["measure"].drop("o05").min()


def test_result_protocol_and_plots():
    frame, _, _ = simulate(8, 30, 6, 4, n_offices=2, office_effect=[0.2, -0.2])
    fit = fit_of(frame, office="office", bias_by="offence_type")
    assert fit.to_frame().index.equals(fit.officers.index)
    text = fit.summary()
    assert "Facets:" in text and "Rating scale:" in text and "Offices:" in text
    assert "<table" in fit._repr_html_()
    from matplotlib.figure import Figure
    for kind in ("wright", "severity", "office_severity"):
        assert isinstance(fit.plot(kind), Figure)
    u = fit.unexpected(2.0)
    assert (u["z"].abs() >= 2).all()
    assert list(u["z"].abs()) == sorted(u["z"].abs(), reverse=True)
    assert len(fit.unexpected(3.0)) <= len(u)
    with pytest.raises(RiskevalError, match="kind"):
        fit.plot("nope")


def test_row_order_and_labels_do_not_matter():
    frame, _, _ = simulate(11, 50, 8, 4, n_offices=2, office_effect=[0.3, -0.3])
    a = fit_of(frame, office="office", tol=1e-10)
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled["officer"] = "id-" + shuffled["officer"]
    b = fit_of(shuffled, office="office", tol=1e-10)
    for col in ("measure", "se", "infit", "outfit", "fair_average"):
        np.testing.assert_allclose(b.officers[col].to_numpy(),
                                   a.officers[col].reindex(
                                       b.officers.index.str[3:]).to_numpy(), atol=1e-7)
    np.testing.assert_allclose(b.categories["threshold"], a.categories["threshold"],
                               atol=1e-8)


def test_ratings_object_gives_columns():
    frame, _, _ = simulate(9, 30, 5, 5)
    ratings = rv.Ratings(frame, case="case", rater="officer", rating="rating",
                         categories=LEVELS)
    a = many_facet_rasch(ratings)
    b = fit_of(frame)
    pd.testing.assert_series_equal(a.officers["measure"], b.officers["measure"])


def test_text_ratings_need_categories():
    frame, _, _ = simulate(9, 30, 5, 5)
    with pytest.raises(RiskevalError, match="categories"):
        many_facet_rasch(frame, case="case", rater="officer", rating="rating")


# ------------------------------------------------------------------ (6) input errors

def test_single_officer_is_an_error():
    frame = TINY[TINY["officer"] == "o00"]
    with pytest.raises(RiskevalError, match="officer facet has a single element"):
        many_facet_rasch(frame, case="case", rater="officer", rating="rating")


def test_single_case_is_an_error():
    frame = TINY[TINY["case"] == "c000"]
    with pytest.raises(RiskevalError, match="case facet has a single element"):
        many_facet_rasch(frame, case="case", rater="officer", rating="rating",
                         categories=sorted(frame["rating"].unique()))


def test_single_office_is_an_error():
    frame = TINY.assign(office="north")
    with pytest.raises(RiskevalError, match="office facet has a single element"):
        many_facet_rasch(frame, case="case", rater="officer", rating="rating",
                         office="office")


def test_unused_extreme_category_is_named():
    with pytest.raises(RiskevalError, match=r"highest category 5 .*cannot be estimated"):
        many_facet_rasch(TINY, case="case", rater="officer", rating="rating",
                         categories=[1, 2, 3, 4, 5])
    with pytest.raises(RiskevalError, match="lowest category 0"):
        many_facet_rasch(TINY, case="case", rater="officer", rating="rating",
                         categories=[0, 1, 2, 3, 4])


def test_unused_inner_category_is_named():
    frame = TINY.assign(rating=TINY["rating"].map({1: 1, 2: 3, 3: 4, 4: 5}))
    with pytest.raises(RiskevalError, match=r"categor.* 2 inside the scale"):
        many_facet_rasch(frame, case="case", rater="officer", rating="rating",
                         categories=[1, 2, 3, 4, 5])


def test_disconnected_design_names_the_subsets():
    one, _, _ = simulate(1, 20, 4, 4)
    two, _, _ = simulate(2, 20, 4, 4)
    two["case"] = "z" + two["case"]
    two["officer"] = "w" + two["officer"]
    frame = pd.concat([one, two], ignore_index=True)
    with pytest.raises(RiskevalError, match=r"disconnected: 2 subsets") as err:
        fit_of(frame)
    msg = str(err.value)
    assert "subset 1: 4 officer(s) ('o01', 'o02', 'o00', 'o03') and 20 case(s)" in msg
    assert "subset 2: 4 officer(s) ('wo00'" in msg and "(first 'zc000')" in msg


def test_design_disconnected_once_extremes_are_set_aside():
    one, _, _ = simulate(1, 20, 4, 4)
    two, _, _ = simulate(2, 20, 4, 4)
    two["case"] = "z" + two["case"]
    two["officer"] = "w" + two["officer"]
    # the only link: a case that every officer rated in the lowest category
    link = pd.DataFrame({"case": "bridge", "officer": ["o00", "wo00"], "rating": "low",
                         "offence_type": "violent"})
    frame = pd.concat([one, two, link], ignore_index=True)
    with pytest.raises(RiskevalError, match=r"after setting aside the elements with extreme "
                                            r"scores, the design is disconnected: 2 subsets"):
        fit_of(frame)


def test_non_convergence_warns_with_the_change():
    frame, _, _ = simulate(4, 40, 6, 6)
    with pytest.warns(RiskevalWarning, match=r"did not converge in 2 iterations: the largest "
                                             r"change in the last was [0-9.e-]+ logits"):
        fit = fit_of(frame, max_iter=2)
    assert not fit.converged


def test_missing_ids_and_bad_options():
    frame = TINY.astype({"officer": object})
    frame.loc[3, "officer"] = None
    with pytest.raises(RiskevalError, match=r"rater column 'officer' is empty at lines 5"):
        many_facet_rasch(frame, case="case", rater="officer", rating="rating")
    with pytest.raises(RiskevalError, match="the bias_by column 'offence'"):
        many_facet_rasch(TINY, case="case", rater="officer", rating="rating",
                         bias_by="offence")
    with pytest.raises(RiskevalError, match="confidence"):
        many_facet_rasch(TINY, case="case", rater="officer", rating="rating",
                         confidence=2)
    with pytest.raises(RiskevalError, match="tol"):
        many_facet_rasch(TINY, case="case", rater="officer", rating="rating", tol=0)
    with pytest.raises(RiskevalError, match="give the column of the rater"):
        many_facet_rasch(TINY, case="case", rating="rating")


def test_missing_ratings_are_left_out_with_a_note():
    frame = TINY.astype({"rating": float})
    frame.loc[0, "rating"] = np.nan
    fit = many_facet_rasch(frame, case="case", rater="officer", rating="rating")
    assert fit.n_ratings == len(TINY) - 1
    assert any("missing" in n for n in fit.notes)


# ------------------------------------- several attributes, central tendency, separability

def test_bias_by_several_attributes_stacks_the_single_analyses():
    for seed in range(6):
        frame, _, _ = simulate(40 + seed, 60, 6, 5, planted=1.0)
        frame["half"] = np.where(frame["case"].str[-1].astype(int) < 5, "first", "second")
        both = fit_of(frame, bias_by=["offence_type", "half"]).bias
        assert list(both.columns[:3]) == ["officer", "attribute", "value"]
        for col in ("offence_type", "half"):
            one = fit_of(frame, bias_by=col).bias.set_index(["officer", col])
            part = both[both["attribute"] == col].set_index(["officer", "value"])
            part.index = part.index.set_names(["officer", col])
            for stat in ("count", "observed", "expected", "bias", "se", "t", "p"):
                np.testing.assert_allclose(part[stat].to_numpy(float),
                                           one.loc[part.index, stat].to_numpy(float))
        # Holm over every cell of both attributes
        p = both["p"].to_numpy()
        order = np.argsort(p)
        adj = np.minimum(np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]), 1)
        np.testing.assert_allclose(both["p_holm"].to_numpy()[order], adj)


def _pull_to_middle(frame: pd.DataFrame, officers: set, prob: float, seed: int) -> pd.DataFrame:
    """Ratings of ``officers`` at either end moved one level inwards with chance ``prob``."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    code = out["rating"].map({lv: k for k, lv in enumerate(LEVELS)}).to_numpy()
    pull = out["officer"].isin(officers).to_numpy() & (rng.random(len(out)) < prob)
    code = np.where(pull & (code == 0), 1, np.where(pull & (code == 3), 2, code))
    out["rating"] = np.asarray(LEVELS, object)[code]
    return out


def test_end_columns_by_hand_and_central_tendency_found():
    frame, _, _ = simulate(11, 80, 8, 8, severity=np.zeros(8))
    fit = fit_of(frame)
    t = fit.officers
    res = fit.residuals
    for off in ("o00", "o05"):
        r = frame[frame["officer"] == off]
        share = r["rating"].isin(["low", "very high"]).mean()
        assert abs(t.loc[off, "end_observed"] - share) < 1e-12
    # expected ends from the model's category probabilities, by hand for one officer
    b = fit.cases["measure"]
    thr = np.concatenate([[0.0], np.cumsum(fit.categories["threshold"].to_numpy()[1:])])
    rows = res[res["officer"] == "o03"]
    theta = b.loc[rows["case"]].to_numpy() - t.loc["o03", "measure"]
    logit = np.outer(theta, np.arange(4)) - thr
    p = np.exp(logit - logit.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    pe = p[:, 0] + p[:, 3]
    assert abs(t.loc["o03", "end_expected"] - pe.mean()) < 1e-8
    obs = (rows["observed"].isin([0, 3])).sum() if rows["observed"].min() == 0 else \
        (rows["observed"].isin([1, 4])).sum()
    assert abs(t.loc["o03", "end_z"] - (obs - pe.sum()) / np.sqrt((pe * (1 - pe)).sum())) \
        < 1e-8
    found = 0
    for seed in range(8):
        frame, _, _ = simulate(60 + seed, 80, 8, 8, severity=np.zeros(8))
        frame = _pull_to_middle(frame, {"o02"}, 0.7, seed)
        t = fit_of(frame).officers
        assert t.loc["o02", "end_z"] < 0
        found += t.loc["o02", "end_p_holm"] < 0.05
    assert found >= 7


def test_end_z_false_positive_rate():
    hits = 0
    n = 60
    for seed in range(n):
        frame, _, _ = simulate(3000 + seed, 60, 6, 6)
        hits += bool((fit_of(frame).officers["end_p_holm"] < 0.05).any())
    assert hits / n <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / n)


def test_facets_that_cannot_be_separated():
    frame, _, _ = simulate(7, 30, 4, 4)
    # each office holds one officer: officer and office cannot be told apart
    frame["office"] = "office of " + frame["officer"]
    with pytest.raises(RiskevalError, match="every office has a single officer"):
        fit_of(frame, office="office")
    # each officer rated in one year only (cases span both): an officer's drift cannot be
    # told apart from the officer's severity
    frame, _, _ = simulate(8, 40, 4, 4)
    frame["year"] = np.where(frame["officer"].isin(["o00", "o01"]), 2020, 2021)
    with pytest.raises(RiskevalError, match="every officer rated cases of a single value"):
        fit_of(frame, bias_by="year")
    frame, _, _ = simulate(9, 30, 4, 4)
    frame["region"] = "north"
    with pytest.raises(RiskevalError, match="'region' has a single value"):
        fit_of(frame, bias_by="region")
    with pytest.raises(RiskevalError, match="names a column twice"):
        fit_of(frame, bias_by=["offence_type", "offence_type"])
    with pytest.raises(RiskevalError, match="'nope'"):
        fit_of(frame, bias_by=["offence_type", "nope"])
    frame.loc[frame.index[:3], "offence_type"] = None
    fit = fit_of(frame, bias_by=["offence_type"])
    assert any("3 rating(s) without a value" in n for n in fit.notes)
