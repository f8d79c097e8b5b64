"""Actuarial scores, DeLong AUCs, calibration and reclassification
(riskeval.prediction)."""

from __future__ import annotations

import hashlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from riskeval import RISK_LEVELS, DegenerateDataWarning, RiskevalError
from riskeval.prediction import (
    ActuarialScore,
    FixedScore,
    auc,
    calibration,
    delong_test,
    reclassification,
)

# ------------------------------------------------------------------------- reference data

# pROC's example data set ``aSAH`` (Turck et al. 2010, Intensive Care Medicine 36(1), 107-115;
# shipped with the R package pROC, Robin et al. 2011, BMC Bioinformatics 12, 77; pROC and its
# data are distributed under the GPL (>= 3), which permits redistribution): 113 patients
# after aneurysmal subarachnoid haemorrhage, in the package's row order. ``_ASAH_POOR`` is
# outcome == "Poor" (41 patients); s100b and ndka are biomarkers, wfns the WFNS grade 1-5 (an
# ordered factor in R, used by pROC through its codes 1-5, so it is full of ties).
#
# The transcription is checked below against the values the pROC repository itself expects
# (github.com/xrobin/pROC, tests/testthat/): the AUCs ("theta") of
# helper-deLongPlacementsCpp-expected.R, the DeLong variances of test-var.R, the ndka interval of
# test-ci.auc.R and the three paired tests of test-roc.test.R. The per-case DeLong placements of
# s100b in helper-deLongPlacementsCpp-expected.R were also compared case by case (agreement to
# 5e-16) when this file was written.
_ASAH_POOR = (
    "000011010010110010111010000000001001101100000000011000100"
    "01010011101101111000110100000010000000000001111110001000"
)
_ASAH_S100B = (
    "0.13 0.14 0.1 0.04 0.13 0.1 0.47 0.16 0.18 0.1 0.12 0.1 0.44 0.71 0.04 0.08 0.49 0.04 "
    "0.07 0.33 0.09 0.09 0.07 0.11 0.07 0.17 0.07 0.11 0.13 0.19 0.05 0.16 0.41 0.14 0.34 "
    "0.35 0.48 0.09 0.96 0.25 0.5 0.46 0.16 0.07 0.43 0.45 0.11 0.08 0.09 0.86 0.52 0.08 0.06 "
    "0.13 2.07 0.1 0.14 0.15 0.07 0.06 0.77 0.05 0.09 0.3 0.03 0.09 0.04 0.23 0.7 0.09 0.27 "
    "0.71 0.08 0.26 0.08 0.16 0.09 0.13 0.1 0.08 0.11 0.33 0.11 0.28 0.07 0.1 0.32 0.22 0.07 "
    "0.05 0.24 0.38 0.1 0.15 0.08 0.14 0.1 0.07 0.04 0.19 0.56 0.14 0.58 0.32 0.82 0.74 0.15 "
    "0.47 0.17 0.44 0.15 0.5 0.48"
)
_ASAH_WFNS = (
    "1 1 1 1 3 2 5 4 1 2 5 2 5 5 1 2 5 2 2 5 2 1 1 1 1 2 1 2 1 1 3 4 2 1 4 5 4 1 4 2 5 5 1 1 "
    "2 4 1 1 2 5 5 2 1 2 5 1 2 2 2 1 5 1 1 2 5 2 1 4 5 2 4 4 1 4 1 2 1 4 2 1 2 3 2 4 2 1 4 5 "
    "1 1 5 4 2 2 1 1 1 3 1 2 5 2 2 5 5 5 2 4 4 5 1 1 1"
)
_ASAH_NDKA = (
    "3.01 8.54 8.09 10.42 17.4 12.75 6 13.2 15.54 6.01 15.96 17.86 5.18 8.9 13.41 20.75 11.6 "
    "16.11 32.37 54.82 32.41 49.94 40.34 9.47 6.29 12.53 6.54 6.3 80.3 12.8 9.8 9.81 9.85 "
    "18.21 5.03 14.04 21.93 8.02 7.42 8.38 6.59 9.63 13.12 7.96 14.34 41.43 7.63 7.06 12.59 "
    "13.56 3.87 9.44 7.66 12.98 419.19 27.19 22.27 9.95 21.22 11.73 10.4 58.83 6.39 11.09 "
    "12.22 13.67 17.21 22.63 12.9 9.7 21.57 8.23 72.57 15.54 10.51 10.6 14.57 5.19 9.63 4.61 "
    "21.48 17.3 12.71 9.44 11.07 19.46 10.83 5.37 11.97 7.75 9.83 10.55 28.49 8.53 12.57 12.9 "
    "46.83 11.68 12.67 9.01 9.57 34.06 11.72 14.26 47.61 11.67 24.58 10.33 13.87 15.89 22.43 "
    "6.79 13.45"
)


@pytest.fixture(scope="module")
def asah() -> pd.DataFrame:
    data = pd.DataFrame({
        "poor": [int(c) for c in _ASAH_POOR],
        "s100b": [float(v) for v in _ASAH_S100B.split()],
        "wfns": [int(v) for v in _ASAH_WFNS.split()],
        "ndka": [float(v) for v in _ASAH_NDKA.split()],
    })
    assert data.shape == (113, 4) and data["poor"].sum() == 41
    # the transcription, fixed: sha256 of data.to_csv(index=False)
    assert hashlib.sha256(data.to_csv(index=False).encode()).hexdigest() == (
        "99a69436a77aab794c950e73e5e6ed91421263d3d7f979bcf995e7106f064241")
    return data


def _brute_delong(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) by definition: psi over every event/non-event pair, then the
    structural components V10 (per event) and V01 (per non-event) and S = S10/m + S01/n."""
    events = [i for i in range(len(y)) if y[i] == 1]
    nonevents = [j for j in range(len(y)) if y[j] == 0]
    m, n, k = len(events), len(nonevents), len(scores)
    v10 = np.zeros((k, m))
    v01 = np.zeros((k, n))
    for r, s in enumerate(scores):
        for a, i in enumerate(events):
            for b, j in enumerate(nonevents):
                psi = 1.0 if s[i] > s[j] else (0.5 if s[i] == s[j] else 0.0)
                v10[r, a] += psi / n
                v01[r, b] += psi / m
    aucs = v10.mean(axis=1)
    s10 = np.zeros((k, k))
    s01 = np.zeros((k, k))
    for r in range(k):
        for t in range(k):
            s10[r, t] = sum((v10[r, a] - aucs[r]) * (v10[t, a] - aucs[t])
                            for a in range(m)) / (m - 1)
            s01[r, t] = sum((v01[r, b] - aucs[r]) * (v01[t, b] - aucs[t])
                            for b in range(n)) / (n - 1)
    return aucs, s10 / m + s01 / n


def _offenders(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, dict[str, float]]:
    """Simulated probation cases with a known OGRS-style reconviction model."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 65, n)
    male = rng.random(n) < 0.8
    previous = rng.poisson(np.exp(0.8 + 0.3 * male))
    truth = {"intercept": -1.0, "age": -0.03, "1/age": 25.0, "male": 0.4, "n_previous": 0.12}
    lp = (truth["intercept"] + truth["age"] * age + truth["1/age"] / age + truth["male"] * male
          + truth["n_previous"] * previous)
    y = (rng.random(n) < special.expit(lp)).astype(int)
    frame = pd.DataFrame({"age": age, "sex": np.where(male, "male", "female"),
                          "n_previous": previous})
    return frame, y, truth


# ==================================================================================== AUC


def test_auc_equals_sklearn_and_the_mean_of_its_components():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    continuous = y * 0.8 + rng.normal(size=300)
    tied = np.round(continuous)  # a handful of values: most pairs tie
    for score in (continuous, tied):
        res = auc(y, score)
        assert res.estimate == pytest.approx(roc_auc_score(y, score), abs=1e-15)
        assert res.v10.mean() == pytest.approx(res.estimate, abs=1e-12)
        assert res.v01.mean() == pytest.approx(res.estimate, abs=1e-12)
        assert (res.n_events, res.n_nonevents) == (int(y.sum()), int(300 - y.sum()))


@pytest.mark.parametrize("seed", [0, 1])
def test_delong_variance_equals_brute_force_components(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 70)
    continuous = y + rng.normal(size=70)
    tied = np.round(continuous * 2) / 2  # heavy ties within and across classes
    for score in (continuous, tied):
        want_auc, want_cov = _brute_delong(y, [score])
        res = auc(y, score)
        assert res.estimate == pytest.approx(want_auc[0], abs=1e-12)
        assert res.variance == pytest.approx(want_cov[0, 0], rel=1e-10)


def test_paired_test_equals_brute_force_covariance():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 80)
    a = np.round(y * 0.7 + rng.normal(size=80), 1)
    b = np.round(0.6 * a + rng.normal(scale=0.8, size=80), 0)  # correlated with a, many ties
    aucs, cov = _brute_delong(y, [a, b])
    res = delong_test(y, a, b)
    np.testing.assert_allclose(res.auc, aucs, atol=1e-12)
    np.testing.assert_allclose(res.covariance, cov, rtol=1e-10)
    var_d = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    assert res.difference == pytest.approx(aucs[0] - aucs[1], abs=1e-12)
    assert res.se_difference == pytest.approx(math.sqrt(var_d), rel=1e-10)
    assert res.z == pytest.approx((aucs[0] - aucs[1]) / math.sqrt(var_d), rel=1e-10)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(res.z)), rel=1e-12)
    half = stats.norm.ppf(0.975) * res.se_difference
    assert res.ci == pytest.approx((res.difference - half, res.difference + half))
    assert res.correlation == pytest.approx(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]))


def test_auc_reproduces_proc_on_asah(asah):
    """pROC's expected AUCs, DeLong variances and the ndka interval (tests/testthat)."""
    y = asah["poor"]
    expected = {  # theta of helper-deLongPlacementsCpp-expected.R; var() of test-var.R
        "s100b": (0.731368563685637, 0.00266868245717244),
        "wfns": (0.823678861788618, 0.00146991470882363),
        "ndka": (0.611957994579946, 0.0031908105493913),
    }
    for marker, (theta, var) in expected.items():
        res = auc(y, asah[marker])
        assert res.name == marker
        assert res.estimate == pytest.approx(theta, abs=1e-14)
        assert res.variance == pytest.approx(var, rel=1e-12)
    ndka = auc(y, asah["ndka"])  # ci.auc(r.ndka) in test-ci.auc.R
    assert ndka.ci == pytest.approx((0.501244999271703, 0.722670989888189), abs=1e-14)
    # roc(aSAH$outcome, aSAH$s100b, ci = TRUE) prints "0.7314 ... 95% CI: 0.6301-0.8326 (DeLong)"
    s100b = auc(y, asah["s100b"])
    assert (round(s100b.estimate, 4), round(s100b.ci[0], 4), round(s100b.ci[1], 4)) == (
        0.7314, 0.6301, 0.8326)


def test_delong_test_reproduces_proc_roc_test_on_asah(asah):
    """roc.test(r.wfns, r.s100b) etc. with pROC's defaults (test-roc.test.R)."""
    y = asah["poor"]
    expected = [  # (a, b, Z, p, conf.int)
        ("wfns", "s100b", 2.20898359144091, 0.0271757822291882,
         (0.0104061769564846, 0.174214419249478)),
        ("wfns", "ndka", 2.79777591868904, 0.00514557970691098,
         (0.0634011709339876, 0.3600405634833566)),
        ("ndka", "s100b", -1.39077002573558, 0.164295175223054,
         (-0.2876917446341914, 0.0488706064228094)),
    ]
    for a, b, z, p, ci in expected:
        res = delong_test(y, asah[a], asah[b])
        assert res.names == (a, b)
        assert res.z == pytest.approx(z, rel=1e-12)
        assert res.p_value == pytest.approx(p, rel=1e-10)
        assert res.ci == pytest.approx(ci, rel=1e-10)
        swapped = delong_test(y, asah[b], asah[a])
        assert swapped.z == pytest.approx(-z, rel=1e-12)
        assert swapped.p_value == pytest.approx(p, rel=1e-10)
    assert "DeLong" in delong_test(y, asah["wfns"], asah["s100b"]).summary()


def test_logit_interval_is_the_delta_method_interval_back_transformed(asah):
    res = auc(asah["poor"], asah["wfns"], ci_scale="logit", confidence=0.9)
    q = stats.norm.ppf(0.95)
    half = q * res.se / (res.estimate * (1 - res.estimate))
    want = special.expit(special.logit(res.estimate) + np.array([-half, half]))
    assert res.ci == pytest.approx(tuple(want), rel=1e-12)
    plain = auc(asah["poor"], asah["wfns"], confidence=0.9)
    # pulled towards 0.5, away from the bound at 1: longer below the estimate than above
    assert res.ci[0] < plain.ci[0] and res.ci[1] < plain.ci[1]
    assert res.estimate - res.ci[0] > res.ci[1] - res.estimate
    assert res.ci_scale == "logit" and res.confidence == 0.9


def test_ordered_levels_are_ranked_in_risk_order():
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    labels = ["low", "medium", "high", "very high", "Low", "medium ", "high", "low"]
    codes = np.array([0, 1, 2, 3, 0, 1, 2, 0])
    assert auc(y, labels).estimate == pytest.approx(auc(y, codes).estimate)
    assert auc(y, labels).variance == pytest.approx(auc(y, codes).variance)
    cat = pd.Categorical(["b", "a", "c", "c", "a", "b", "c", "a"], categories=["a", "b", "c"],
                         ordered=True)
    assert auc(y, cat).estimate == pytest.approx(roc_auc_score(y, cat.codes))
    with pytest.raises(RiskevalError, match="order is not known"):
        auc(y, ["x", "y", "z", "x", "y", "z", "x", "y"])


def test_identical_scores_give_z_0_with_a_warning(asah):
    with pytest.warns(DegenerateDataWarning, match="variance 0"):
        res = delong_test(asah["poor"], asah["wfns"], asah["wfns"] * 10)
    assert (res.z, res.p_value, res.difference) == (0.0, 1.0, 0.0)
    with pytest.warns(DegenerateDataWarning, match="single point"):
        perfect = auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert perfect.ci == (1.0, 1.0)


@pytest.mark.parametrize("y, score, match", [
    ([0, 1, 2, 0], [0.1, 0.2, 0.3, 0.4], r"y has the value 2 at row 2 \(1 such values\); exp"),
    ([0, 1, np.nan, 0], [0.1, 0.2, 0.3, 0.4], r"y is missing at row 2 \(1 missing in all\)"),
    (["no", "yes", "no", "yes"], [0.1, 0.2, 0.3, 0.4],
     r"y has the value 'no' at row 0 \(4 such values\); expected 0/1"),
    ([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], "only 1 .* both outcomes"),
    ([0, 1, 0, 1], [0.1, np.inf, 0.3, 0.4], "finite numbers; positions 1"),
    ([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.4], "finite numbers"),
    ([0, 1, 0, 1], [0.1, 0.2, 0.3], "y has 4 values; expected 3"),
    ([0, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], "at least two cases of each outcome; y has 1"),
])
def test_auc_refuses_bad_input_naming_it(y, score, match):
    with pytest.raises(RiskevalError, match=match):
        auc(y, score)


def test_bad_arguments_are_named():
    with pytest.raises(RiskevalError, match="confidence"):
        auc([0, 1, 0, 1], [1, 2, 3, 4], confidence=95)
    with pytest.raises(RiskevalError, match="ci_scale"):
        auc([0, 1, 0, 1], [1, 2, 3, 4], ci_scale="exact")
    with pytest.raises(RiskevalError, match="score_b has 3 values but score_a has 4"):
        delong_test([0, 1, 0, 1], [1, 2, 3, 4], [1, 2, 3])
    series = pd.Series([0.1, None, 0.3, 0.4], index=["w", "x", "y", "z"])
    with pytest.raises(RiskevalError, match="rows 'x'"):
        auc([0, 1, 0, 1], series)


# ========================================================================= ActuarialScore


def test_actuarial_score_recovers_the_generating_model():
    frame, y, truth = _offenders(6000, seed=3)
    score = ActuarialScore().fit(frame, y)
    table = score.coef_table()
    assert list(table.index) == ["intercept", "age", "1/age", "male", "n_previous"]
    assert list(score.classes_) == [0, 1]
    for term, value in truth.items():
        assert abs(table.at[term, "coef"] - value) < 4 * table.at[term, "se"], term
    assert np.allclose(table["odds_ratio"], np.exp(table["coef"]))
    proba = score.predict_proba(frame)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.allclose(score.decision_function(frame), special.logit(proba[:, 1]))
    assert set(score.predict(frame)) <= {0, 1}


def test_coef_table_equals_statsmodels_maximum_likelihood():
    import statsmodels.api as sm

    frame, y, _ = _offenders(2000, seed=11)
    male = (frame["sex"] == "male").astype(float)
    design = np.column_stack([np.ones(len(y)), frame["age"], 1 / frame["age"], male,
                              frame["n_previous"]])
    ml = sm.GLM(y, design, family=sm.families.Binomial()).fit(tol=1e-12)
    table = ActuarialScore(max_iter=200).fit(frame, y).coef_table(confidence=0.9)
    np.testing.assert_allclose(table["coef"], ml.params, rtol=1e-5)
    np.testing.assert_allclose(table["se"], ml.bse, rtol=1e-6)
    np.testing.assert_allclose(table[["ci_low", "ci_high"]], ml.conf_int(alpha=0.1),
                               rtol=1e-5)


def test_sex_labels_are_coded_male_1_and_bad_ones_are_named():
    frame, y, _ = _offenders(400, seed=5)
    reference = ActuarialScore().fit(frame, y).predict_proba(frame)
    male = frame["sex"] == "male"
    for coding in (np.where(male, "M", "f"), np.where(male, " Male", "FEMALE"),
                   male.astype(int), male.to_numpy()):
        other = frame.assign(sex=coding)
        np.testing.assert_allclose(ActuarialScore().fit(other, y).predict_proba(other),
                                   reference, rtol=1e-10)
    bad = frame.assign(sex=frame["sex"].astype(object))
    bad.loc[[3, 9], "sex"] = ["unknown", None]
    with pytest.raises(RiskevalError, match=r"sex column 'sex' .* rows 3, 9 hold 'unknown', "
                                            r"None"):
        ActuarialScore().fit(bad, y)


def test_age_bands_enter_as_indicators_against_the_youngest_band():
    frame, y, _ = _offenders(3000, seed=8)
    score = ActuarialScore(age_bands=(25, 35, 50), history="n_previous").fit(frame, y)
    assert score.terms_ == ("age[25,35)", "age[35,50)", "age>=50", "male", "n_previous")
    coefs = score.coef_table()["coef"]
    assert coefs["age>=50"] < coefs["age[25,35)"] < 0  # reconviction falls with age
    young = frame[frame["age"] < 25]
    with pytest.raises(RiskevalError, match=r"age band\(s\) age\[25,35\), age\[35,50\), "
                                            "age>=50 hold no training cases"):
        ActuarialScore(age_bands=(25, 35, 50)).fit(young, y[young.index])
    with pytest.raises(RiskevalError, match="increasing order"):
        ActuarialScore(age_bands=(30, 25)).fit(frame, y)


def test_actuarial_score_refuses_bad_tables_naming_the_problem():
    frame, y, _ = _offenders(300, seed=2)
    with pytest.raises(RiskevalError, match=r"DataFrame .*\.set_output"):
        ActuarialScore().fit(frame.to_numpy(), y)
    with pytest.raises(RiskevalError, match=r"age column 'agee' is not in the table\. Did you "
                                            r"mean 'age'"):
        ActuarialScore(age="agee").fit(frame, y)
    with pytest.raises(RiskevalError, match=r"positive ages .* rows 2 hold 0.0"):
        ActuarialScore().fit(frame.assign(age=frame["age"].where(frame.index != 2, 0.0)), y)
    with pytest.raises(RiskevalError, match="history column 'n_previous' must hold finite "
                                            "numbers; rows 0 hold 'many'"):
        ActuarialScore().fit(frame.assign(n_previous=["many", *frame["n_previous"][1:]]), y)
    with pytest.raises(RiskevalError, match="'n_previous' take a single value"):
        ActuarialScore().fit(frame.assign(n_previous=3), y)
    with pytest.raises(RiskevalError, match="exactly two outcomes"):
        ActuarialScore().fit(frame, np.arange(300) % 3)
    with pytest.raises(RiskevalError, match="y has 299 values but X has 300 rows"):
        ActuarialScore().fit(frame, y[1:])
    with pytest.raises(RiskevalError, match="C must be a positive number"):
        ActuarialScore(C=0).fit(frame, y)
    with pytest.raises(RiskevalError, match="not fitted") as err:
        ActuarialScore().predict_proba(frame)
    assert isinstance(err.value, NotFittedError)


def test_actuarial_score_in_a_pipeline_and_cross_validation():
    frame, y, _ = _offenders(1500, seed=4)
    score = ActuarialScore()
    assert is_classifier(score) and clone(score).get_params() == score.get_params()
    gappy = frame.astype({"sex": object})
    gappy.loc[[1, 50, 99], "sex"] = np.nan
    gappy.loc[[7, 70], "n_previous"] = np.nan
    pipe = Pipeline([
        ("impute", SimpleImputer(strategy="most_frequent").set_output(transform="pandas")),
        ("score", ActuarialScore()),
    ])
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    got = cross_val_score(pipe, gappy, y, cv=folds, scoring="roc_auc")
    want = []
    for train, test in folds.split(gappy, y):
        fitted = clone(pipe).fit(gappy.iloc[train], y[train])
        want.append(auc(y[test], fitted.predict_proba(gappy.iloc[test])[:, 1]).estimate)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert 0.6 < got.mean() < 0.85
    plain = cross_val_score(ActuarialScore(), frame, y, cv=folds, scoring="roc_auc")
    assert np.all((plain > 0.55) & (plain < 0.9))


# ============================================================================= FixedScore


def test_fixed_score_reproduces_a_fitted_score_from_its_coefficients():
    frame, y, _ = _offenders(1000, seed=6)
    fitted = ActuarialScore().fit(frame, y)
    coefs = fitted.coefficients_
    assert coefs.equals(fitted.coef_table()["coef"])
    fixed = FixedScore(intercept=float(coefs["intercept"]),
                       coefficients=coefs.drop("intercept").to_dict(),
                       transforms={"1/age": ("age", "inverse"), "male": ("sex", "male")})
    np.testing.assert_allclose(fixed.predict_proba(frame), fitted.predict_proba(frame),
                               rtol=1e-10)
    np.testing.assert_allclose(fixed.decision_function(frame), fitted.decision_function(frame),
                               rtol=1e-10)
    assert (fixed.predict(frame) == fitted.predict(frame)).all()


def test_fixed_score_hand_computed_and_its_transforms():
    cases = pd.DataFrame({"age": [20.0, 40.0], "sex": ["m", "female"], "n_previous": [4, 0]})
    # Illustrative coefficients (made up): logit = -2 + 0.5 log(1 + previous) + 0.25 male
    #   + 0.01 * age
    #   case 1: -2 + 0.5 log 5 + 0.25 + 0.2 = -0.745281; case 2: -2 + 0 + 0 + 0.4 = -1.6
    score = FixedScore(intercept=-2.0,
                       coefficients={"log_prev": 0.5, "male": 0.25, "age": 0.01},
                       transforms={"log_prev": lambda d: np.log1p(d["n_previous"]),
                                   "male": ("sex", "male")})
    lp = np.array([-2 + 0.5 * math.log(5) + 0.25 + 0.2, -1.6])
    np.testing.assert_allclose(score.decision_function(cases), lp, rtol=1e-12)
    np.testing.assert_allclose(score.predict_proba(cases)[:, 1], special.expit(lp))
    np.testing.assert_allclose(score.transform(cases), special.expit(lp)[:, None])
    assert score.get_feature_names_out().tolist() == ["probability"]
    as_pair = FixedScore(intercept=-2.0,
                         coefficients={"log_prev": 0.5, "male": 0.25, "age": 0.01},
                         transforms={"log_prev": ("n_previous", np.log1p),
                                     "male": ("sex", "male")})
    np.testing.assert_allclose(as_pair.decision_function(cases), lp, rtol=1e-12)
    # fit learns nothing: same predictions, classes from y
    before = score.predict_proba(cases)
    score.fit(cases, [False, True])
    np.testing.assert_array_equal(score.predict_proba(cases), before)
    assert score.classes_.tolist() == [False, True]
    assert score.terms_ == ("log_prev", "male", "age")


def test_fixed_score_names_what_is_wrong():
    cases = pd.DataFrame({"age": [20.0, 0.0], "sex": ["m", "f"], "n_prev": [1, 2]})
    with pytest.raises(RiskevalError, match=r"term 'n_previous' is neither a column .* Did you "
                                            r"mean 'n_prev'"):
        FixedScore(coefficients={"n_previous": 0.1}).fit(cases)
    with pytest.raises(RiskevalError, match=r"log of column 'age', which must be positive; "
                                            r"rows 1 hold 0\.0"):
        FixedScore(coefficients={"la": 1.0}, transforms={"la": ("age", "log")}).fit(cases)
    with pytest.raises(RiskevalError, match="unknown transform 'cube'"):
        FixedScore(coefficients={"c": 1.0}, transforms={"c": ("age", "cube")}).fit(cases)
    with pytest.raises(RiskevalError, match=r"transform of term 'k' failed .* KeyError"):
        FixedScore(coefficients={"k": 1.0}, transforms={"k": lambda d: d["nope"]}).fit(cases)
    with pytest.raises(RiskevalError, match="coefficient of 'age' must be a finite number"):
        FixedScore(coefficients={"age": float("nan")}).fit(cases)
    with pytest.raises(RiskevalError, match="coefficients must be a mapping"):
        FixedScore().fit(cases)
    with pytest.raises(RiskevalError, match="output must be"):
        FixedScore(coefficients={"age": 1.0}, output="odds").fit(cases)


def test_fixed_score_feeds_a_recalibration_pipeline():
    frame, y, _ = _offenders(1500, seed=9)
    # Illustrative (made-up) score whose intercept is far off: recalibration repairs it.
    fixed = FixedScore(intercept=-3.0, coefficients={"n_previous": 0.12, "age": -0.03},
                       output="logit")
    assert is_classifier(fixed)
    folds = StratifiedKFold(4, shuffle=True, random_state=1)
    raw = cross_val_score(fixed, frame, y, cv=folds, scoring="roc_auc")
    recal = cross_val_score(make_pipeline(fixed, LogisticRegression()), frame, y, cv=folds,
                            scoring="roc_auc")
    np.testing.assert_allclose(raw, recal, atol=1e-12)  # a monotone recalibration keeps order
    pipe = make_pipeline(fixed, LogisticRegression()).fit(frame, y)
    assert calibration(y, fixed.predict_proba(frame)[:, 1]).intercept > 1.0
    assert abs(calibration(y, pipe.predict_proba(frame)[:, 1]).intercept) < 1e-3


# ============================================================================ calibration


def test_well_calibrated_predictions_have_slope_1_and_intercept_0():
    rng = np.random.default_rng(21)
    p = special.expit(rng.normal(-0.6, 1.0, 5000))
    y = (rng.random(5000) < p).astype(int)
    res = calibration(y, p)
    assert res.slope_ci[0] < 1.0 < res.slope_ci[1]
    assert res.intercept_ci[0] < 0.0 < res.intercept_ci[1]
    assert res.oe_ci[0] < 1.0 < res.oe_ci[1]
    assert abs(res.slope - 1) < 0.1 and abs(res.intercept) < 0.1
    assert res.slope_p > 0.05 and res.intercept_p > 0.05


def test_squared_probabilities_are_detected_as_miscalibrated():
    rng = np.random.default_rng(22)
    p = special.expit(rng.normal(-0.6, 1.0, 5000))
    y = (rng.random(5000) < p).astype(int)
    res = calibration(y, p ** 2)  # too low, and too spread out on the logit scale
    assert res.intercept_ci[0] > 0.3  # under-prediction
    assert res.oe_ci[0] > 1.3 and res.difference > 0.1
    assert res.slope_ci[1] < 0.8 and res.slope_p < 1e-10
    table = res.table
    assert (table["observed_rate"] > table["mean_predicted"]).all()
    assert (table["e_o"] < 1).all()


def test_calibration_statistics_equal_independent_computations():
    rng = np.random.default_rng(23)
    p = special.expit(rng.normal(-1.0, 0.8, 800))
    y = (rng.random(800) < special.expit(0.3 + 0.7 * special.logit(p))).astype(int)
    res = calibration(y, p, confidence=0.9)
    lp = special.logit(p)
    slope_fit = LogisticRegression(C=np.inf, tol=1e-10).fit(lp[:, None], y)
    assert res.slope == pytest.approx(slope_fit.coef_[0, 0], rel=1e-6)
    intercept = optimize.brentq(lambda a: np.sum(y - special.expit(a + lp)), -5, 5, xtol=1e-14)
    assert res.intercept == pytest.approx(intercept, abs=1e-8)
    assert res.brier == pytest.approx(brier_score_loss(y, p), abs=1e-15)
    ybar = y.mean()
    assert res.scaled_brier == pytest.approx(1 - res.brier / (ybar * (1 - ybar)))
    assert res.oe_ratio == pytest.approx(y.sum() / p.sum())
    assert res.difference == pytest.approx(ybar - p.mean())
    table = res.table
    assert len(table) == 10 and table["n"].sum() == 800
    assert table["observed"].sum() == y.sum()
    assert table["expected"].sum() == pytest.approx(p.sum())
    row = table.iloc[3]  # Wilson (1927) score interval by formula
    k, n, z = row["observed"], row["n"], stats.norm.ppf(0.95)
    centre = (k / n + z ** 2 / (2 * n)) / (1 + z ** 2 / n)
    half = z * math.sqrt(k / n * (1 - k / n) / n + z ** 2 / (4 * n ** 2)) / (1 + z ** 2 / n)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((centre - half, centre + half))
    assert row["e_o"] == pytest.approx(row["expected"] / row["observed"])
    assert list(res.to_frame().index)[:4] == ["observed - expected", "O/E ratio",
                                              "calibration intercept", "calibration slope"]


def test_reliability_table_by_cut_points_and_by_bands():
    rng = np.random.default_rng(24)
    p = rng.uniform(0.02, 0.95, 600)
    y = (rng.random(600) < p).astype(int)
    by_cuts = calibration(y, p, bins=(0, 0.25, 0.5, 0.75, 1))
    assert list(by_cuts.table.index) == ["0-0.25", "0.25-0.5", "0.5-0.75", "0.75-1"]
    assert by_cuts.table["n"].tolist() == [int(np.sum((p >= lo) & (p < hi))) for lo, hi in
                                           [(0, .25), (.25, .5), (.5, .75), (.75, 1.01)]]
    bands = np.select([p < 0.25, p < 0.5, p < 0.75], ["Low", "medium", "high"], "very high")
    by_band = calibration(y, p, bands=bands)
    assert list(by_band.table.index) == list(RISK_LEVELS)
    np.testing.assert_array_equal(by_band.table["n"], by_cuts.table["n"])
    assert by_band.table.index.name == "band"
    few = calibration(y, np.round(p, 1).clip(0.05, 0.95), bins=20)  # ties: fewer groups
    assert len(few.table) < 20


def test_no_event_group_has_infinite_e_o():
    p = np.array([0.01, 0.02, 0.03, 0.5, 0.6, 0.7, 0.8, 0.4])
    y = np.array([0, 0, 0, 1, 1, 0, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = calibration(y, p, bins=(0, 0.1, 1))
    assert math.isinf(res.table.loc["0-0.1", "e_o"])
    assert res.table.loc["0-0.1", "observed"] == 0


def test_calibration_refuses_bad_probabilities_and_groupings():
    y = [0, 1, 0, 1, 1]
    with pytest.raises(RiskevalError, match=r"strictly between 0 and 1 .* look like percentages"):
        calibration(y, [10, 20, 30, 40, 50])
    with pytest.raises(RiskevalError, match=r"positions 4 \(counting from 0\) hold 1.0"):
        calibration(y, [0.1, 0.2, 0.3, 0.4, 1.0])
    with pytest.raises(RiskevalError, match=r"either bins .* or bands"):
        calibration(y, [0.1, 0.2, 0.3, 0.4, 0.5], bins=3, bands=["low"] * 5)
    with pytest.raises(RiskevalError, match="outside the bins"):
        calibration(y, [0.1, 0.2, 0.3, 0.4, 0.5], bins=(0.2, 1))
    with pytest.raises(RiskevalError, match="p has 4 values but y has 5"):
        calibration(y, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(RiskevalError, match=r"p is 0\.3 for every case"):
        calibration(y, [0.3] * 5)


def test_close_quantile_groups_keep_distinct_labels_and_separation_warns_once():
    y = np.array([0, 1, 0, 1, 1, 0, 0, 0])
    p = np.array([0.10001, 0.10002, 0.10003, 0.10004, 0.2, 0.3, 0.4, 0.5])
    labels = calibration(y, p, bins=8).table.index.tolist()
    assert len(set(labels)) == len(labels) == 8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calibration([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.8, 0.9])
    separation = [w for w in caught if issubclass(w.category, DegenerateDataWarning)]
    assert len(separation) == 1 and "calibration slope" in str(separation[0].message)


def test_reliability_diagram_returns_a_figure_or_the_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(25)
    p = rng.uniform(0.05, 0.9, 400)
    y = (rng.random(400) < p).astype(int)
    res = calibration(y, p, bands=np.where(p < 0.5, "medium", "high"))
    fig = res.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("predicted probability")
    assert [t.get_text() for t in ax.texts] == ["medium", "high"]
    _, other = plt.subplots()
    assert res.plot(ax=other) is other
    plt.close("all")


# ======================================================================= reclassification


def _hand_example() -> tuple[list[str], list[str], list[int]]:
    """30 cases rated by a (clinical) and b (actuarial band), 10 of them reconvicted.

    Events (10): 4 moved up by b (low->medium x2, medium->high, high->very high), 1 down
    (high->medium), 5 unchanged (medium x3, high x2).
    Non-events (20): 3 up (low->medium x3), 7 down (medium->low x4, high->medium x2,
    very high->high), 10 unchanged (low x8, medium x2).
    """
    pairs = ([("low", "medium")] * 2 + [("medium", "high"), ("high", "very high"),
                                         ("high", "medium")]
             + [("medium", "medium")] * 3 + [("high", "high")] * 2)
    y = [1] * len(pairs)
    non = ([("low", "medium")] * 3 + [("medium", "low")] * 4 + [("high", "medium")] * 2
           + [("very high", "high")] + [("low", "low")] * 8 + [("medium", "medium")] * 2)
    pairs += non
    y += [0] * len(non)
    return [a for a, _ in pairs], [b for _, b in pairs], y


def test_nri_equals_the_hand_computed_example():
    a, b, y = _hand_example()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = reclassification(pd.Series(a, name="clinical"), pd.Series(b, name="actuarial"), y)
    nri = res.nri
    # events: (4 - 1) / 10 = 0.3; non-events: (7 - 3) / 20 = 0.2
    assert nri.nri_events == pytest.approx(0.3)
    assert nri.nri_nonevents == pytest.approx(0.2)
    assert nri.nri == pytest.approx(0.5)
    # Pencina et al. (2008): sqrt((0.4 + 0.1) / 10 + (0.15 + 0.35) / 20) = sqrt(0.075)
    assert nri.se == pytest.approx(0.27386127875258304)
    assert nri.z == pytest.approx(1.8257418583505538)
    assert nri.p_value == pytest.approx(0.06788915486182893)
    assert nri.ci == pytest.approx((0.5 - 1.959963984540054 * 0.27386127875258304,
                                    0.5 + 1.959963984540054 * 0.27386127875258304))
    # without the null: sqrt((0.5 - 0.3**2) / 10 + (0.5 - 0.2**2) / 20) = sqrt(0.064)
    assert nri.se_multinomial == pytest.approx(0.25298221281347033)
    assert nri.detail.loc["events", ["n", "up", "down", "unchanged"]].tolist() == [10, 4, 1, 5]
    assert nri.detail.loc["non-events", ["n", "up", "down", "unchanged"]].tolist() == [20, 3, 7,
                                                                                       10]


def test_cross_table_margins_and_event_rates_by_hand():
    a, b, y = _hand_example()
    res = reclassification(pd.Series(a, name="clinical"), pd.Series(b, name="actuarial"), y)
    assert res.names == ("clinical", "actuarial")
    levels = [*RISK_LEVELS, "total"]
    assert list(res.table.index) == levels and list(res.table.columns) == levels
    want = pd.DataFrame(
        [[8, 5, 0, 0, 13],
         [4, 5, 1, 0, 10],
         [0, 3, 2, 1, 6],
         [0, 0, 1, 0, 1],
         [12, 13, 4, 1, 30]], index=levels, columns=levels)
    np.testing.assert_array_equal(res.table.to_numpy(), want.to_numpy())
    assert res.events.at["low", "medium"] == 2 and res.events.at["total", "total"] == 10
    assert res.event_rate.at["low", "medium"] == pytest.approx(2 / 5)
    assert res.event_rate.at["high", "medium"] == pytest.approx(1 / 3)
    assert res.event_rate.at["total", "total"] == pytest.approx(1 / 3)
    assert math.isnan(res.event_rate.at["very high", "very high"])  # empty cell
    assert res.agreement == pytest.approx(15 / 30)
    assert "NRI of actuarial over clinical: 0.500" in res.summary()


def test_reclassification_without_outcome_and_with_different_levels():
    a, b, _ = _hand_example()
    plain = reclassification(a, b)
    assert plain.nri is None and plain.events is None and plain.table.at["total", "total"] == 30
    bands = pd.Categorical(["A", "B", "C"] * 10, categories=["A", "B", "C", "D"], ordered=True)
    with pytest.warns(DegenerateDataWarning, match="levels differ"):
        mixed = reclassification(a, bands, [0, 1] * 15)
    assert mixed.nri is None and list(mixed.table.columns) == ["A", "B", "C", "D", "total"]
    with pytest.warns(DegenerateDataWarning, match="order of their levels is not known"):
        reclassification(a, ["x", "y", "z"] * 10, [0, 1] * 15)
    declared = reclassification(["x", "y", "z"] * 2, ["y", "y", "z"] * 2, [0, 1, 1] * 2,
                                categories="x,y,z")
    assert declared.nri.detail.loc["non-events", "up"] == 2


def test_reclassification_refuses_mismatched_or_missing_levels():
    with pytest.raises(RiskevalError, match="a has 3 values and b has 2"):
        reclassification(["low", "high", "low"], ["low", "high"])
    with pytest.raises(RiskevalError, match=r"b has missing values at positions 1"):
        reclassification(["low", "high"], ["low", None])
    with pytest.raises(RiskevalError, match="'severe', which is not one of the levels"):
        reclassification(["low", "severe"], ["low", "high"], categories=RISK_LEVELS)


def test_results_follow_the_result_protocol():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from riskeval._core.results import Result

    rng = np.random.default_rng(11)
    p = rng.uniform(0.05, 0.9, 300)
    y = (rng.random(300) < p).astype(int)
    level = np.digitize(p, [0.25, 0.5, 0.75])
    band = np.digitize(p + rng.normal(0, 0.1, 300), [0.25, 0.5, 0.75])
    results = [auc(y, p), delong_test(y, p, level), calibration(y, p),
               reclassification(level, band, y)]
    results.append(results[-1].nri)
    for res in results:
        assert isinstance(res, Result)
        assert type(res.to_frame()) is pd.DataFrame and len(res.to_frame()) >= 1
        assert res.summary() and res._repr_html_().startswith("<h4>")
    assert results[-1].estimate == results[-1].nri
    fig = results[3].plot()  # the reclassification table as a heatmap
    assert fig.axes[0].get_xlabel() == "b" and fig.axes[0].get_ylabel() == "a"
    plt.close(fig)
