"""Agreement coefficients on degenerate data, custom weight matrices (issue 14, items 4 and 6c).

Every coefficient is either finite and inside its documented range, or NaN with a
DegenerateDataWarning; every interval either contains its estimate (low <= estimate <= high)
or is NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskeval
from riskeval import DegenerateDataWarning, RiskevalError
from riskeval.agreement import ICC_FORMS, agreement_weights, pairwise_agreement
from riskeval.errors import RiskevalTypeError

nan = np.nan

# ---------------------------------------------------------------------------------------------
# item 6c: custom weight matrices
# ---------------------------------------------------------------------------------------------

WEIGHTED = {
    "gwet_ac": riskeval.gwet_ac,
    "fleiss_kappa": riskeval.fleiss_kappa,
    "brennan_prediger": riskeval.brennan_prediger,
    "percent_agreement": riskeval.percent_agreement,
    "cohen_kappa": riskeval.cohen_kappa,
}
TWO_RATERS = np.array([[1, 2], [2, 2], [3, 4], [4, 4], [1, 1], [2, 3], [4, 3], [3, 3]], float)
MANY_RATERS = np.array([[1, 2, nan], [2, 2, 3], [3, 4, 4], [4, 4, nan], [1, 1, 2],
                        [2, 3, 3], [nan, 3, 3]], float)
QUADRATIC = agreement_weights("quadratic", np.arange(1.0, 5.0))


@pytest.mark.parametrize("name", list(WEIGHTED))
@pytest.mark.parametrize("ci", ["analytic", "percentile"])
def test_custom_matrix_equal_to_quadratic_gives_the_quadratic_result(name, ci):
    fn = WEIGHTED[name]
    X = TWO_RATERS if name == "cohen_kappa" else MANY_RATERS
    kw = {"ci": ci, "n_boot": 200, "seed": 3}
    named = fn(X, weights="quadratic", **kw)
    custom = fn(X, weights=QUADRATIC, **kw)
    assert custom.estimate == pytest.approx(named.estimate, abs=1e-12)
    assert custom.ci == pytest.approx(named.ci, abs=1e-12)
    assert custom.extra["weights"] == "custom"
    assert custom.coefficient == named.coefficient  # AC2 / weighted kappa, not AC1 / kappa


def test_custom_matrix_as_nested_list_and_for_pairwise_agreement():
    listed = riskeval.gwet_ac(MANY_RATERS, weights=QUADRATIC.tolist())
    assert listed.estimate == pytest.approx(
        riskeval.gwet_ac(MANY_RATERS, weights="quadratic").estimate, abs=1e-12)
    pw = pairwise_agreement(MANY_RATERS, weights=QUADRATIC)
    assert pw.weights == "custom"
    assert np.allclose(pw.matrix, pairwise_agreement(MANY_RATERS,
                                                              weights="quadratic").matrix)


def _bad(change: dict) -> np.ndarray:
    w = QUADRATIC.copy()
    for (i, j), v in change.items():
        w[i, j] = v
    return w


BAD_MATRICES = {
    "shape": (np.eye(3), r"shape \(3, 3\).*4 categories.*\(4, 4\)"),
    "asymmetric": (_bad({(0, 1): 0.5}), r"not symmetric: row 0, column 1 holds 0\.5.*row 1, "
                                         r"column 0 holds 0\.888"),
    "diagonal": (_bad({(2, 2): 0.9}), r"0\.9 on the diagonal at row 2"),
    "above one": (_bad({(0, 3): 1.5, (3, 0): 1.5}), r"1\.5 at row 0, column 3.*\[0, 1\]"),
    "negative": (_bad({(1, 3): -0.2, (3, 1): -0.2}), r"-0\.2 at row 1, column 3.*\[0, 1\]"),
    "not finite": (_bad({(1, 2): nan, (2, 1): nan}), r"nan at row 1, column 2"),
    "all ones": (np.ones((4, 4)), r"every weight in the matrix is 1"),
}


@pytest.mark.parametrize("problem", list(BAD_MATRICES))
@pytest.mark.parametrize("name", [*WEIGHTED, "pairwise_agreement"])
def test_bad_weight_matrix_is_named(name, problem):
    fn = WEIGHTED.get(name, pairwise_agreement)
    X = TWO_RATERS if name == "cohen_kappa" else MANY_RATERS
    matrix, message = BAD_MATRICES[problem]
    with pytest.raises(RiskevalError, match=message):
        fn(X, weights=matrix)


def test_weight_matrix_of_text_is_a_type_error():
    with pytest.raises(RiskevalTypeError, match="4 x 4 numeric matrix"):
        riskeval.gwet_ac(MANY_RATERS, weights=[["a"] * 4] * 4)


# ---------------------------------------------------------------------------------------------
# item 4: every coefficient in its range or NaN with a warning; intervals contain estimates
# ---------------------------------------------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
SLACK = 1e-9
CATS = [1, 2, 3, 4]


@st.composite
def small_matrices(draw, max_raters: int = 6) -> np.ndarray:
    """Cases x raters ratings 1..4 (often fewer levels, so ties and single categories are
    common), 2-40 cases, 2-6 raters, with or without NaN holes."""
    n = draw(st.integers(2, 40))
    k = draw(st.integers(2, max_raters))
    levels = draw(st.integers(1, 4))
    codes = draw(st.lists(st.integers(1, levels), min_size=n * k, max_size=n * k))
    X = np.array(codes, dtype=float).reshape(n, k)
    if draw(st.booleans()):
        holes = draw(st.lists(st.booleans(), min_size=n * k, max_size=n * k))
        X[np.array(holes).reshape(n, k)] = nan
    return X


def run(fn, *args, **kw):
    """The result and the DegenerateDataWarnings, or None if the input is refused with a
    RiskevalError (e.g. no case rated twice): the refusal must be a riskeval error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = fn(*args, **kw)
        except RiskevalError:
            return None, []
    return res, [str(w.message) for w in caught
                 if issubclass(w.category, DegenerateDataWarning)]


def check(est: float, ci: tuple[float, float], note: str, warned: list[str], lower: float,
          upper: float, interval: bool) -> None:
    if np.isnan(est):  # no silent NaN
        assert note and note in warned, (note, warned)
        assert np.isnan(ci[0]) and np.isnan(ci[1]), ci
        return
    assert np.isfinite(est)
    assert lower - SLACK <= est <= upper + SLACK, (est, lower, upper)
    lo, hi = ci
    if np.isnan(lo) or np.isnan(hi):
        assert np.isnan(lo) and np.isnan(hi), ci
        if interval:
            assert note and warned, (note, warned)  # a NaN interval is explained
        return
    assert lower - SLACK <= lo <= est <= hi <= upper + SLACK, (lower, lo, est, hi, upper)


def chance_lower_bound(weights, declared: bool, X: np.ndarray) -> float:
    """1 - q^2 / (q^2 - T_w): Brennan-Prediger's least value, also AC1's and AC2's."""
    if declared:
        scale = np.array(CATS, dtype=float)
    else:
        rated = X[(~np.isnan(X)).any(axis=1)]
        scale = np.unique(rated[~np.isnan(rated)])
        if scale.size == 1:
            scale = np.array([scale[0], scale[0] + 1.0])
    W = agreement_weights(weights, scale)
    q2 = float(scale.size) ** 2
    return 1 - q2 / (q2 - W.sum())


CATEGORICAL = [
    ("percent_agreement", riskeval.percent_agreement, None, lambda *a: 0.0),
    ("fleiss_kappa", riskeval.fleiss_kappa, None, lambda *a: -1.0),
    ("fleiss_kappa", riskeval.fleiss_kappa, "linear", lambda *a: -1.0),
    ("fleiss_kappa", riskeval.fleiss_kappa, "quadratic", lambda *a: -1.0),
    ("gwet_ac", riskeval.gwet_ac, None, chance_lower_bound),
    ("gwet_ac", riskeval.gwet_ac, "linear", chance_lower_bound),
    ("gwet_ac", riskeval.gwet_ac, "quadratic", chance_lower_bound),
    ("brennan_prediger", riskeval.brennan_prediger, None, chance_lower_bound),
    ("brennan_prediger", riskeval.brennan_prediger, "quadratic", chance_lower_bound),
    ("percent_agreement", riskeval.percent_agreement, "quadratic", lambda *a: 0.0),
]
CI = st.sampled_from(["analytic", "analytic", "percentile", "bca", None])


@pytest.mark.parametrize(("name", "fn", "weights", "lower"), CATEGORICAL,
                         ids=[f"{c[0]}-{c[2]}" for c in CATEGORICAL])
@PROPERTY
@given(X=small_matrices(), declared=st.booleans(), ci=CI)
def test_categorical_coefficient_in_range_or_nan_with_warning(name, fn, weights, lower, X,
                                                              declared, ci):
    res, warned = run(fn, X, weights=weights, categories=CATS if declared else None, ci=ci,
                      n_boot=100, seed=1)
    if res is not None:
        check(res.estimate, res.ci, res.note, warned, lower(weights, declared, X), 1.0,
              ci is not None)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@PROPERTY
@given(X=small_matrices(), ci=CI)
def test_krippendorff_alpha_in_range_or_nan_with_warning(level, X, ci):
    res, warned = run(riskeval.krippendorff_alpha, X, level=level, ci=ci, n_boot=100, seed=1)
    if res is not None:
        check(res.estimate, res.ci, res.note, warned, -1.0, 1.0, ci is not None)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@PROPERTY
@given(X=small_matrices(max_raters=2), ci=CI)
def test_cohen_kappa_in_range_or_nan_with_warning(weights, X, ci):
    res, warned = run(riskeval.cohen_kappa, X, weights=weights, ci=ci, n_boot=100, seed=1)
    if res is not None:
        check(res.estimate, res.ci, res.note, warned, -1.0, 1.0, ci is not None)


@PROPERTY
@given(X=small_matrices(), form=st.sampled_from(ICC_FORMS), ci=CI)
def test_icc_forms_in_range_or_nan_with_warning(X, form, ci):
    res, warned = run(riskeval.icc, X, form=form, ci=ci, n_boot=100, seed=1)
    if res is None:
        return
    k = res.n_raters
    for f, row in res.to_frame().iterrows():
        lower = -np.inf if f.endswith("k") else -1.0 / (k - 1)
        check(row["ICC"], (row["ci_low"], row["ci_high"]), res.notes.get(f, ""), warned,
              lower, 1.0, ci is not None)
    assert res.estimate == res.to_frame().loc[form, "ICC"] or np.isnan(res.estimate)


# ---------------------------------------------------------------------------------------------
# item 4: the examples (values before the fix in the comments)
# ---------------------------------------------------------------------------------------------


def test_icc2_below_its_bound_is_nan_with_warning():
    # was ICC2 = -1 and ICC2k = 3.0, with no warning
    with pytest.warns(DegenerateDataWarning, match=r"ICC2 and ICC2k are not defined.*ICC2 = -1 "
                                                   r"lies below its lower bound.*-0\.5.*BMS"):
        res = riskeval.icc([[0, 0, 1], [0, 1, 0]], form="ICC2k")
    table = res.to_frame()
    assert np.isnan(table.loc["ICC2", "ICC"]) and np.isnan(table.loc["ICC2k", "ICC"])
    assert np.isnan(res.ci).all()
    assert "ICC2k" in res.notes and res.note == res.notes["ICC2k"]
    # was ICC2 = -2.0 with interval [-2.60, 0.58] and ICC2k = 4.0 with interval [3.25, 0.74]
    with pytest.warns(DegenerateDataWarning, match="ICC2 = -2 lies below"):
        table = riskeval.icc([[1, 3], [3, 1], [3, 2]]).to_frame()
    assert table.loc[["ICC2", "ICC2k"], ["ICC", "ci_low", "ci_high"]].isna().all().all()
    assert table.loc["ICC1", "ICC"] == pytest.approx(-0.8)  # the other forms are reported


def test_icc2k_interval_contains_its_estimate():
    # was ICC2k = -3 with the interval [5.34, 0.95] (ICC2's lower limit -0.695 stepped up)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # -3 is a legitimate k-rater value: no warning
        table = riskeval.icc([[0, 0, 0], [0, 1, 0], [0, 0, 1]]).to_frame()
    assert table.loc["ICC2k", "ICC"] == pytest.approx(-3.0)
    assert table.loc["ICC2", "ci_low"] == pytest.approx(-0.5)  # was -0.695, below -1/(k-1)
    assert table.loc["ICC2k", "ci_low"] == -np.inf
    assert table.loc["ICC2k", "ci_high"] == pytest.approx(0.948, abs=5e-4)


def test_icc2k_from_pure_noise_has_an_interval_that_contains_it():
    # `riskeval agreement` on these 12 cases x 2 raters printed
    # "ICC2k -5.266 [57.013, -0.289]"
    X = np.array([[4, 4, 1, 2, 2, 3, 1, 1, 1, 4, 3, 3],
                  [2, 1, 2, 3, 2, 2, 2, 4, 4, 1, 2, 3]], dtype=float).T
    row = riskeval.icc(X).to_frame().loc["ICC2k"]
    assert row["ICC"] == pytest.approx(-5.2658, abs=1e-4)
    assert row["ci_low"] == -np.inf
    assert row["ci_high"] == pytest.approx(-0.2887, abs=1e-4)


def test_icc_minus_infinity_and_no_case_variance_are_nan_with_warning():
    # was ICC1k = ICC3k = -inf and ICC3 = NaN, with no warning
    with pytest.warns(DegenerateDataWarning) as caught:
        res = riskeval.icc([[0, 1], [0, 1]])
    messages = " | ".join(str(w.message) for w in caught)
    assert "ICC1k is not defined on these data: BMS = 0" in messages
    assert "ICC3 and ICC3k are not defined on these data: the ratings differ only" in messages
    table = res.to_frame()
    assert table.loc[["ICC1k", "ICC3", "ICC3k"], "ICC"].isna().all()
    assert table.loc["ICC1", "ICC"] == -1.0  # at its bound -1/(k - 1), reported
    assert np.isfinite(table["ICC"]).sum() == 3
    # ICC2 = 0 has no F-based interval (EMS = 0 with rater differences): said so
    assert table.loc["ICC2", "ICC"] == 0.0 and np.isnan(table.loc["ICC2", "ci_low"])
    assert "Satterthwaite" in res.notes["ICC2"]
    summary = res.summary()
    assert "ICC3k  ICC3 and ICC3k are not defined on these data: the ratings" in summary
    assert "CI not available (no F-based" in summary


@pytest.mark.parametrize("ci", ["analytic", "percentile"])
def test_icc_zero_variance_has_no_interval(ci):
    # was ICC2 = NaN with the interval [1, 1] (and ICC2k likewise)
    with pytest.warns(DegenerateDataWarning, match="zero variance"):
        res = riskeval.icc(np.full((4, 3), 2.0), ci=ci, n_boot=200, seed=1)
    assert res.to_frame()[["ICC", "ci_low", "ci_high"]].isna().all().all()
    assert res.note == "every rating is identical (zero variance); the ICCs are undefined"


def test_icc_bootstrap_interval_stays_in_range():
    # was ICC2k = 0.662 with the percentile interval [-5.54, 1.375]: resamples in which ICC2
    # fell below -1/(k - 1) gave ICC2k above 1
    X = [[2, 2], [4, 2], [2, 4], [4, 4], [4, 3], [1, 1]]
    res = riskeval.icc(X, form="ICC2k", ci="percentile", n_boot=200, seed=0)
    lo, hi = res.ci
    assert lo <= res.estimate <= hi <= 1.0
    assert hi == pytest.approx(0.9715, abs=1e-4)
    # the other forms keep their F-based intervals
    assert res.to_frame().loc["ICC2", "ci_low"] == pytest.approx(
        riskeval.icc(X).to_frame().loc["ICC2", "ci_low"])


def test_fleiss_kappa_below_minus_one_is_nan_with_warning():
    # was -1.67 with the interval [-1, -0.25]: the case rated once enters the category
    # shares (chance agreement) but not observed agreement (Gwet 2014, irrCAC)
    X = [[nan, nan, nan, 1], [nan, nan, 1, 2]]
    with pytest.warns(DegenerateDataWarning, match=r"not defined on these data: its formula "
                                                   r"gives -1\.667.*1 case rated by a single"):
        res = riskeval.fleiss_kappa(X)
    assert np.isnan(res.estimate) and np.isnan(res.ci).all() and np.isnan(res.se)
    assert res.per_category["kappa"].isna().all()
    assert np.isnan(res.extra["z"]) and np.isnan(res.extra["pvalue"])
    assert res.summary().startswith("Fleiss' kappa is not defined on these data: its formula "
                                    "gives -1.667")
    # the same pair without the case rated once: -1, the least value, is reported
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert riskeval.fleiss_kappa([[1, 2], [2, 1]]).estimate == pytest.approx(-1.0)
    # alpha, which uses pairable ratings only, stays defined
    assert np.isfinite(riskeval.krippendorff_alpha(X).estimate)


def test_fleiss_kappa_with_cases_rated_once_still_matches_irrcac():
    # cases rated once count in the category shares as in irrCAC: cac.raw4raters (case 12
    # rated once) gives fleiss.kappa.raw 0.76117 (0.76248 if case 12 were left out)
    X = np.array([[1, 1, nan, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
                  [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [nan, 5, 5, 5],
                  [nan, nan, 1, 1], [nan, nan, 3, nan]])
    assert riskeval.fleiss_kappa(X).estimate == pytest.approx(0.76117, abs=5e-6)


def test_gwet_ac2_below_minus_one_is_in_its_range_and_in_its_interval():
    # was AC2 = -1.67 with the interval [-1, 1]; AC2 with quadratic weights on three
    # categories lies in [1 - 9 / (9 - 6), 1] = [-2, 1]: the one pair is at opposite ends
    X = [[nan, nan], [nan, 2], [3, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = riskeval.gwet_ac(X, weights="quadratic")
    assert res.estimate == pytest.approx(-5 / 3)
    assert res.ci == (-2.0, 1.0)
    bp = riskeval.brennan_prediger([[1, 3], [3, 1], [3, 2]], weights="quadratic")
    assert bp.estimate == pytest.approx(-1.25)
    assert bp.ci[0] <= bp.estimate <= bp.ci[1]  # was [-1, 1]


def test_bootstrap_interval_that_misses_the_estimate_is_nan_with_warning():
    # a narrow (10%) percentile interval of a skewed bootstrap distribution can leave out
    # the estimate: it was reported as [-0.364, -0.273] around ICC2 = -0.429
    X = [[3, 2, 4], [2, 3, 2], [2, 4, 1], [3, 2, 3], [4, 2, 3]]
    with pytest.warns(DegenerateDataWarning, match=r"percentile interval of ICC2 \[-0\.3636, "
                                                   r"-0\.2727\] does not contain the estimate"):
        res = riskeval.icc(X, ci="percentile", n_boot=200, seed=0, confidence=0.1)
    assert res.estimate == pytest.approx(-3 / 7) and np.isnan(res.ci).all()
    assert "does not contain" in res.note
    with pytest.warns(DegenerateDataWarning, match="bca.*Gwet's AC2.*does not contain"):
        ac2 = riskeval.gwet_ac(X, weights="quadratic", ci="bca", n_boot=200, seed=0,
                               confidence=0.1)
    assert np.isfinite(ac2.estimate) and np.isnan(ac2.ci).all()
    assert ac2.summary().startswith("Gwet's AC2: 0.348 (10% CI not available: the bootstrap")


def test_summary_table_and_by_group_say_why_a_value_is_nan():
    X = np.array([[1, 3], [3, 1], [3, 2], [2, 2]], dtype=float)
    rows = [(f"c{i}", f"r{j}", X[i, j]) for i in range(4) for j in range(2)]
    long = pd.DataFrame(rows, columns=["case", "rater", "rating"])
    with pytest.warns(DegenerateDataWarning):
        table = riskeval.agreement_summary(long, case="case", rater="rater", rating="rating",
                                           categories=[1, 2, 3])
    for form in ("ICC2", "ICC2k"):
        row = table.loc[next(i for i in table.index if i.startswith(f"{form} "))]
        assert np.isnan(row["estimate"])
        assert row["note"].startswith("ICC2 and ICC2k are not defined on these data")
    assert (table.loc[table["estimate"].notna(), "note"] == "").all()
    # by_group: Fleiss' kappa below -1 in one office (a case rated once), defined in another
    offices = pd.DataFrame({"office": ["north"] * 3 + ["south"] * 4,
                            "case": ["a", "b", "b", "c", "c", "d", "d"],
                            "rater": ["x", "x", "y", "x", "y", "x", "y"],
                            "rating": [1, 1, 2, 1, 2, 2, 2]})
    with pytest.warns(DegenerateDataWarning, match="rated by a single rater"):
        per = riskeval.by_group(riskeval.fleiss_kappa, offices, group="office", case="case",
                                rater="rater", rating="rating", categories=[1, 2])
    north, south = per.iloc[0], per.iloc[1]
    assert np.isnan(north["estimate"])
    assert north["note"].startswith("Fleiss' kappa is not defined on these data")
    assert np.isfinite(south["estimate"]) and south["note"] == ""


@pytest.mark.parametrize("weights", ["linear", "quadratic", "radical", "ordinal"])
def test_weighted_agreement_on_a_single_category_is_full_agreement(weights):
    """One category used (none declared): every pair agrees fully, as with identity weights
    (the weights divided by a span of zero: a NaN matrix and a bare numpy warning)."""
    X = np.array([[2.0, 2.0, np.nan], [2.0, 2.0, 2.0], [2.0, np.nan, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        pa = riskeval.agreement.pairwise_agreement(X, weights=weights)
        assert (pa.matrix.to_numpy() == 1.0).all()
        plain = riskeval.agreement.pairwise_agreement(X)
        np.testing.assert_array_equal(pa.matrix.to_numpy(), plain.matrix.to_numpy())
