"""Agreement coefficients on degenerate data, custom weight matrices (issue 14, items 4 and 6c).

Every coefficient is either finite and inside its documented range, or NaN with a
DegenerateDataWarning; every interval either contains its estimate (low <= estimate <= high)
or is NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
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
