"""Property-based tests of riskeval.agreement (hypothesis).

Invariances every coefficient must have whatever the data: to the order of cases and raters,
to the labels of nominal categories, to linear rescaling for the ICC and interval alpha; exact
values on perfect agreement; equal answers for equivalent inputs (long vs wide, an extra
unrated case); and the documented behaviour on degenerate data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import riskeval
from riskeval import DegenerateDataWarning
from riskeval.agreement import ICC_FORMS

SETTINGS = settings(max_examples=50, deadline=None)
TOL = 1e-9
LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _categorical_coefficients():
    """(name, function of a wide array) for every multi-rater categorical coefficient."""
    out = [
        ("fleiss", riskeval.fleiss_kappa),
        ("gwet_ac1", riskeval.gwet_ac),
        ("brennan_prediger", riskeval.brennan_prediger),
        ("percent", riskeval.percent_agreement),
    ]
    for level in LEVELS:
        out.append((f"alpha_{level}",
                    lambda X, level=level, **kw: riskeval.krippendorff_alpha(X, level=level,
                                                                              **kw)))
    return out


COEFFICIENTS = _categorical_coefficients()
NOMINAL = [c for c in COEFFICIENTS if c[0] in (
    "fleiss", "gwet_ac1", "brennan_prediger", "percent", "alpha_nominal")]
COEF_IDS = [c[0] for c in COEFFICIENTS]
NOMINAL_IDS = [c[0] for c in NOMINAL]


# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------


@st.composite
def ratings(draw, *, missing: bool = True, min_cases: int = 3, max_cases: int = 12,
            min_raters: int = 2, max_raters: int = 5, n_cat: int = 4) -> np.ndarray:
    """Wide cases x raters array of codes 1..n_cat, NaN where not rated.

    Always a legal input for every categorical coefficient: at least two raters and two cases
    with ratings, and at least one case rated twice. Cases rated once or not at all occur.
    """
    n = draw(st.integers(min_cases, max_cases))
    k = draw(st.integers(min_raters, max_raters))
    codes = draw(st.lists(st.integers(1, n_cat), min_size=n * k, max_size=n * k))
    X = np.array(codes, dtype=float).reshape(n, k)
    if missing:
        holes = draw(st.lists(st.booleans(), min_size=n * k, max_size=n * k))
        mask = np.array(holes).reshape(n, k)
        mask[0, :2] = False  # case 0 rated by raters 0 and 1 -> one pairable case
        mask[1, 1] = False  # a second rated case
        X[mask] = np.nan
    return X


def informative(X: np.ndarray) -> bool:
    """At least two distinct values among the ratings of cases rated at least twice, so that
    no coefficient is degenerate."""
    rated = ~np.isnan(X)
    pairable = X[rated.sum(axis=1) >= 2]
    return np.unique(pairable[~np.isnan(pairable)]).size >= 2


@st.composite
def numeric_table(draw, min_cases: int = 3, max_cases: int = 12, min_raters: int = 2,
                  max_raters: int = 5) -> np.ndarray:
    """Complete cases x raters table of integer scores 1..7 for the ICC."""
    n = draw(st.integers(min_cases, max_cases))
    k = draw(st.integers(min_raters, max_raters))
    values = draw(st.lists(st.integers(1, 7), min_size=n * k, max_size=n * k))
    return np.array(values, dtype=float).reshape(n, k)


def mean_squares(X: np.ndarray) -> tuple[float, float, float, float]:
    """BMS, JMS, EMS, WMS of a complete table, from centred data (numerically stable)."""
    n, k = X.shape
    D = X - X.mean()
    rows, cols = D.mean(axis=1), D.mean(axis=0)
    resid = D - rows[:, None] - cols[None, :]
    bms = k * (rows**2).sum() / (n - 1)
    jms = n * (cols**2).sum() / (k - 1)
    ems = (resid**2).sum() / ((n - 1) * (k - 1))
    wms = ((D - rows[:, None]) ** 2).sum() / (n * (k - 1))
    return bms, jms, ems, wms


def icc_ok(X: np.ndarray) -> bool:
    """Every ICC form is finite and well conditioned: variation between cases, within cases
    and in the residual, and no denominator close to zero (ICC2k's can vanish)."""
    bms, jms, ems, wms = mean_squares(X)
    return min(bms, ems, wms) > 1e-6 and bms + (jms - ems) / X.shape[0] > 1e-3


def icc_values(X: np.ndarray) -> np.ndarray:
    return riskeval.icc(X).to_frame().loc[list(ICC_FORMS), "ICC"].to_numpy(dtype=float)


def estimate(fn, X, **kw) -> float:
    return float(fn(X, ci=None, **kw).estimate)


def to_long(X: np.ndarray) -> pd.DataFrame:
    rows = [(f"case{i}", f"rater{j}", X[i, j])
            for i in range(X.shape[0]) for j in range(X.shape[1]) if not np.isnan(X[i, j])]
    return pd.DataFrame(rows, columns=["case", "rater", "rating"])


LONG = {"case": "case", "rater": "rater", "rating": "rating"}


# ---------------------------------------------------------------------------------------------
# invariance to the order of cases and raters
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fn"), COEFFICIENTS, ids=COEF_IDS)
@SETTINGS
@given(X=ratings(), data=st.data())
def test_invariant_to_permuting_cases_and_raters(name, fn, X, data):
    assume(informative(X))
    rows = data.draw(st.permutations(range(X.shape[0])))
    cols = data.draw(st.permutations(range(X.shape[1])))
    base = estimate(fn, X)  # NaN when outside its range (Fleiss' kappa below -1): NaN again
    assert estimate(fn, X[rows, :]) == pytest.approx(base, abs=TOL, nan_ok=True)
    assert estimate(fn, X[:, cols]) == pytest.approx(base, abs=TOL, nan_ok=True)
    assert estimate(fn, X[np.ix_(rows, cols)]) == pytest.approx(base, abs=TOL, nan_ok=True)


@SETTINGS
@given(X=numeric_table(), data=st.data())
def test_icc_invariant_to_permuting_cases_and_raters(X, data):
    assume(icc_ok(X))
    rows = data.draw(st.permutations(range(X.shape[0])))
    cols = data.draw(st.permutations(range(X.shape[1])))
    base = icc_values(X)
    np.testing.assert_allclose(icc_values(X[rows, :]), base, rtol=0, atol=TOL)
    np.testing.assert_allclose(icc_values(X[:, cols]), base, rtol=0, atol=TOL)


@SETTINGS
@given(X=ratings(missing=False, max_raters=2, min_raters=2), data=st.data())
def test_cohen_invariant_to_permuting_cases_and_swapping_raters(X, data):
    assume(informative(X))
    rows = data.draw(st.permutations(range(X.shape[0])))
    for weights in (None, "linear", "quadratic"):
        base = riskeval.cohen_kappa(X[:, 0], X[:, 1], weights=weights).estimate
        perm = riskeval.cohen_kappa(X[rows, 0], X[rows, 1], weights=weights).estimate
        swap = riskeval.cohen_kappa(X[:, 1], X[:, 0], weights=weights).estimate
        assert perm == pytest.approx(base, abs=TOL)
        assert swap == pytest.approx(base, abs=TOL)


# ---------------------------------------------------------------------------------------------
# nominal coefficients do not depend on the names of the categories
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fn"), NOMINAL, ids=NOMINAL_IDS)
@SETTINGS
@given(X=ratings(), relabel=st.permutations([1, 2, 3, 4]))
def test_nominal_coefficients_invariant_to_relabelling(name, fn, X, relabel):
    assume(informative(X))
    mapping = dict(zip([1, 2, 3, 4], relabel, strict=True))
    Y = np.vectorize(lambda v: mapping.get(v, np.nan), otypes=[float])(X)
    assert np.array_equal(np.isnan(Y), np.isnan(X))
    base = estimate(fn, X)  # NaN when outside its range (Fleiss' kappa below -1): NaN again
    assert estimate(fn, Y) == pytest.approx(base, abs=TOL, nan_ok=True)
    # and to replacing the codes by (undeclared, unordered) string labels
    labels = {1.0: "low", 2.0: "medium", 3.0: "high", 4.0: "very high"}
    L = np.array([[labels[v] if not np.isnan(v) else None for v in row] for row in Y],
                 dtype=object)
    assert estimate(fn, L) == pytest.approx(base, abs=TOL, nan_ok=True)


@SETTINGS
@given(X=ratings(missing=False, min_raters=2, max_raters=2), relabel=st.permutations([1, 2, 3, 4]))
def test_cohen_unweighted_invariant_to_relabelling(X, relabel):
    assume(informative(X))
    mapping = dict(zip([1, 2, 3, 4], relabel, strict=True))
    Y = np.vectorize(mapping.get)(X).astype(float)
    base = riskeval.cohen_kappa(X[:, 0], X[:, 1]).estimate
    assert riskeval.cohen_kappa(Y[:, 0], Y[:, 1]).estimate == pytest.approx(base, abs=TOL)


# ---------------------------------------------------------------------------------------------
# perfect agreement
# ---------------------------------------------------------------------------------------------


@st.composite
def perfect(draw, missing: bool = True) -> np.ndarray:
    """Every rater who rates a case gives it the same category; >= 2 categories used."""
    X = draw(ratings(missing=missing))
    truth = np.array(draw(st.lists(st.integers(1, 4), min_size=X.shape[0],
                                   max_size=X.shape[0])), dtype=float)
    Y = np.where(np.isnan(X), np.nan, truth[:, None])
    assume(informative(Y))
    return Y


@pytest.mark.parametrize(("name", "fn"), COEFFICIENTS, ids=COEF_IDS)
@SETTINGS
@given(X=perfect())
def test_perfect_agreement_is_exactly_one(name, fn, X):
    assert estimate(fn, X) == 1.0


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
@SETTINGS
@given(X=perfect())
def test_perfect_agreement_weighted_is_exactly_one(weights, X):
    cats = [1, 2, 3, 4]
    for fn in (riskeval.fleiss_kappa, riskeval.gwet_ac, riskeval.brennan_prediger,
               riskeval.percent_agreement):
        assert estimate(fn, X, weights=weights, categories=cats) == 1.0


@SETTINGS
@given(X=perfect(missing=False))
def test_perfect_agreement_cohen_is_one(X):
    a, b = X[:, 0], X[:, 1]
    for weights in (None, "linear", "quadratic"):
        est = riskeval.cohen_kappa(a, b, weights=weights).estimate
        assert est == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@SETTINGS
@given(X=perfect(missing=False))
def test_perfect_agreement_cohen_is_exactly_one(weights, X):
    # as exact as the multi-rater coefficients above: po is a sum of n identical counts / n
    assert riskeval.cohen_kappa(X[:, 0], X[:, 1], weights=weights).estimate == 1.0


@SETTINGS
@given(n=st.integers(2, 12), k=st.integers(2, 5), data=st.data())
def test_icc_perfect_agreement_is_one(n, k, data):
    # every rater gives each case the same score; the scores differ between cases
    truth = np.array(data.draw(st.lists(st.integers(1, 7), min_size=n, max_size=n)), float)
    assume(np.ptp(truth) > 0)
    X = np.repeat(truth[:, None], k, axis=1)
    np.testing.assert_allclose(icc_values(X), 1.0, rtol=0, atol=1e-12)


@SETTINGS
@given(n=st.integers(2, 12), k=st.integers(2, 5), data=st.data())
def test_icc_perfect_consistency_with_rater_offsets(n, k, data):
    # raters rank and space the cases identically but some are systematically harsher:
    # perfect consistency (ICC3 = ICC3k = 1) but not perfect absolute agreement
    truth = np.array(data.draw(st.lists(st.integers(1, 7), min_size=n, max_size=n)), float)
    offsets = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=k, max_size=k)), float)
    assume(np.ptp(truth) > 0 and np.ptp(offsets) > 0)
    table = riskeval.icc(truth[:, None] + offsets[None, :]).to_frame()
    assert table.loc["ICC3", "ICC"] == pytest.approx(1.0, abs=1e-12)
    assert table.loc["ICC3k", "ICC"] == pytest.approx(1.0, abs=1e-12)
    assert table.loc["ICC2", "ICC"] < 1.0
    assert table.loc["ICC1", "ICC"] < 1.0


# ---------------------------------------------------------------------------------------------
# linear rescaling: ICC and interval alpha
# ---------------------------------------------------------------------------------------------

shifts = st.integers(-1000, 1000).map(float) | st.floats(-50, 50, allow_nan=False)
scales = st.sampled_from([0.01, 0.5, 2.0, 3.7, 100.0]) | st.floats(0.1, 10.0)


@SETTINGS
@given(X=numeric_table(), shift=shifts, scale=scales)
def test_icc_invariant_to_shift_and_positive_scale(X, shift, scale):
    assume(icc_ok(X))
    base = icc_values(X)
    for Y in (X + shift, X * scale, scale * X + shift):
        np.testing.assert_allclose(icc_values(Y), base, rtol=1e-9, atol=1e-8)


@pytest.mark.parametrize("offset", [1e5, 1e7])
def test_icc_invariant_to_large_offset(offset):
    # Scores such as 100001..100007 are an ordinary scale shifted: the ICCs must not change.
    rng = np.random.default_rng(0)
    X = rng.integers(1, 8, size=(20, 4)).astype(float)
    np.testing.assert_allclose(icc_values(X + offset), icc_values(X), rtol=0, atol=1e-8)
    ms, ms_shifted = riskeval.icc(X).mean_squares, riskeval.icc(X + offset).mean_squares
    for key in ("BMS", "WMS", "JMS", "EMS"):
        assert ms_shifted[key] == pytest.approx(ms[key], rel=1e-8), key


@SETTINGS
@given(X=ratings(), shift=shifts, scale=scales)
def test_interval_alpha_invariant_to_shift_and_positive_scale(X, shift, scale):
    assume(informative(X))

    def alpha(Y):
        return estimate(riskeval.krippendorff_alpha, Y, level="interval")

    base = alpha(X)
    assert alpha(X + shift) == pytest.approx(base, abs=1e-8)
    assert alpha(X * scale) == pytest.approx(base, abs=1e-8)
    assert alpha(scale * X + shift) == pytest.approx(base, abs=1e-8)


@pytest.mark.parametrize("offset", [1e3, 1e6])
def test_interval_alpha_continuous_invariant_to_offset(offset):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 1)) + rng.normal(scale=0.7, size=(80, 4))
    X[rng.random(X.shape) < 0.2] = np.nan

    def alpha(Y):
        return estimate(riskeval.krippendorff_alpha, Y, level="interval")

    assert alpha(X + offset) == pytest.approx(alpha(X), abs=1e-8)
    assert alpha(3.0 * X + offset) == pytest.approx(alpha(X), abs=1e-8)


# ---------------------------------------------------------------------------------------------
# equivalent inputs give the same answer
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fn"), COEFFICIENTS, ids=COEF_IDS)
@SETTINGS
@given(X=ratings())
def test_long_and_wide_input_agree(name, fn, X):
    assume(informative(X))
    wide = fn(X)
    long = fn(to_long(X), **LONG)
    assert long.estimate == pytest.approx(wide.estimate, abs=1e-12, nan_ok=True)
    assert long.se == pytest.approx(wide.se, abs=1e-12, nan_ok=True)
    np.testing.assert_allclose(long.ci, wide.ci, rtol=0, atol=1e-12)


@SETTINGS
@given(X=numeric_table())
def test_icc_long_and_wide_input_agree(X):
    assume(icc_ok(X))
    wide = riskeval.icc(X).to_frame()
    long = riskeval.icc(to_long(X), **LONG).to_frame()
    cols = ["ICC", "F", "df1", "df2", "pval", "ci_low", "ci_high"]
    np.testing.assert_allclose(long[cols].to_numpy(float), wide[cols].to_numpy(float),
                               rtol=1e-12, atol=1e-12)


@SETTINGS
@given(X=ratings(missing=False, min_raters=2, max_raters=2))
def test_cohen_long_wide_and_vectors_agree(X):
    assume(informative(X))
    base = riskeval.cohen_kappa(X[:, 0], X[:, 1])
    assert riskeval.cohen_kappa(X).estimate == pytest.approx(base.estimate, abs=1e-12)
    long = riskeval.cohen_kappa(to_long(X), **LONG)
    assert long.estimate == pytest.approx(base.estimate, abs=1e-12)
    assert long.se == pytest.approx(base.se, abs=1e-12)


@pytest.mark.parametrize(("name", "fn"), COEFFICIENTS, ids=COEF_IDS)
@SETTINGS
@given(X=ratings(), where=st.integers(0, 12))
def test_extra_unrated_case_changes_nothing(name, fn, X, where):
    assume(informative(X))
    where = min(where, X.shape[0])
    Y = np.insert(X, where, np.nan, axis=0)
    base, extra = fn(X), fn(Y)
    assert extra.estimate == pytest.approx(base.estimate, abs=1e-12, nan_ok=True)
    assert extra.se == pytest.approx(base.se, abs=1e-12, nan_ok=True)
    np.testing.assert_allclose(extra.ci, base.ci, rtol=0, atol=1e-12)


@SETTINGS
@given(X=numeric_table(), where=st.integers(0, 12))
def test_icc_extra_unrated_case_changes_nothing(X, where):
    assume(icc_ok(X))
    Y = np.insert(X, min(where, X.shape[0]), np.nan, axis=0)
    res = riskeval.icc(Y)
    assert res.n_cases == X.shape[0]
    pd.testing.assert_frame_equal(res.to_frame(), riskeval.icc(X).to_frame(), rtol=1e-12)


@pytest.mark.parametrize(("name", "fn"), COEFFICIENTS, ids=COEF_IDS)
@SETTINGS
@given(X=ratings(missing=False))
def test_wide_dataframe_equals_array(name, fn, X):
    # a wide DataFrame with labelled rows and columns is the same data as the array
    assume(informative(X))
    frame = pd.DataFrame(X, index=[f"c{i}" for i in range(len(X))],
                         columns=[f"r{j}" for j in range(X.shape[1])])
    assert fn(frame).estimate == pytest.approx(fn(X).estimate, abs=1e-12, nan_ok=True)


# ---------------------------------------------------------------------------------------------
# degenerate data
# ---------------------------------------------------------------------------------------------


def single_category(X: np.ndarray, value: int) -> np.ndarray:
    return np.where(np.isnan(X), np.nan, float(value))


@SETTINGS
@given(X=ratings(), value=st.integers(1, 4))
def test_single_category_fleiss_is_nan_with_warning(X, value):
    Y = single_category(X, value)
    with pytest.warns(DegenerateDataWarning):
        res = riskeval.fleiss_kappa(Y)
    assert np.isnan(res.estimate)
    with pytest.warns(DegenerateDataWarning):
        res = riskeval.fleiss_kappa(Y, categories=[1, 2, 3, 4])
    assert np.isnan(res.estimate)


@pytest.mark.parametrize("level", LEVELS)
@SETTINGS
@given(X=ratings(), value=st.integers(1, 4))
def test_single_category_alpha_is_nan_with_warning(level, X, value):
    Y = single_category(X, value)
    with pytest.warns(DegenerateDataWarning):
        res = riskeval.krippendorff_alpha(Y, level=level)
    assert np.isnan(res.estimate)


@SETTINGS
@given(X=ratings(), value=st.integers(1, 4))
def test_single_category_ac1_and_percent_are_one(X, value):
    Y = single_category(X, value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not degenerate for AC1 or percent agreement
        for cats in (None, [1, 2, 3, 4]):
            assert riskeval.gwet_ac(Y, categories=cats).estimate == 1.0
            assert riskeval.percent_agreement(Y, categories=cats).estimate == 1.0


@SETTINGS
@given(n=st.integers(2, 30), value=st.integers(0, 4))
def test_single_category_cohen_is_nan_with_warning(n, value):
    a = np.full(n, value)
    with pytest.warns(DegenerateDataWarning):
        res = riskeval.cohen_kappa(a, a.copy())
    assert np.isnan(res.estimate)
    for weights in ("linear", "quadratic"):
        with pytest.warns(DegenerateDataWarning):
            res = riskeval.cohen_kappa(a, a.copy(), weights=weights, categories=[0, 1, 2, 3, 4])
        assert np.isnan(res.estimate)


@pytest.mark.parametrize(("shape", "value"), [
    ((5, 3), 0.0),  # exactly zero mean squares
    ((4, 2), 5.0),
    ((2, 3), 133.00431822403107),  # not a binary fraction: rounding leaves tiny mean squares
    ((10, 4), 0.1),
])
def test_icc_zero_variance_warns_and_is_nan(shape, value):
    X = np.full(shape, value)
    with pytest.warns(DegenerateDataWarning):
        res = riskeval.icc(X)
    assert res.to_frame()["ICC"].isna().all()
    assert np.isnan(res.estimate)


@SETTINGS
@given(n=st.integers(2, 20), k=st.integers(2, 6),
       value=st.floats(-1e3, 1e3, allow_nan=False))
def test_icc_zero_variance_warns_and_is_nan_property(n, k, value):
    with pytest.warns(DegenerateDataWarning):
        res = riskeval.icc(np.full((n, k), value))
    assert res.to_frame()["ICC"].isna().all()


def test_hypothesis_strategies_produce_legal_data():
    # guard against a strategy that silently never produces missing data
    @settings(max_examples=50, deadline=None)
    @given(X=ratings())
    def check(X):
        assert (~np.isnan(X)).sum(axis=1).max() >= 2
        assert (~np.isnan(X).all(axis=0)).sum() >= 2
        seen.append(np.isnan(X).any())

    seen: list[bool] = []
    check()
    assert any(seen)
