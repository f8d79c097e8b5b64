"""Agreement coefficients on degenerate data, custom weight matrices (issue 14, items 4 and 6c).

Every coefficient is either finite and inside its documented range, or NaN with a
DegenerateDataWarning; every interval either contains its estimate (low <= estimate <= high)
or is NaN.
"""

from __future__ import annotations

import numpy as np
import pytest

import riskeval
from riskeval import RiskevalError
from riskeval.agreement import agreement_weights, pairwise_agreement
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
