"""Cohen's kappa (unweighted and weighted) for two raters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..data.ratings import WideRatings
from ..errors import RiskevalError
from ._common import finish, in_range, prepare, warn_degenerate
from ._result import AgreementResult
from ._weights import agreement_weights, weights_label

__all__ = ["cohen_kappa"]

REF_COHEN_1960 = (
    "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and "
    "Psychological Measurement, 20(1), 37-46."
)
REF_COHEN_1968 = (
    "Cohen, J. (1968). Weighted kappa: nominal scale agreement with provision for scaled "
    "disagreement or partial credit. Psychological Bulletin, 70(4), 213-220."
)
REF_FCE_1969 = (
    "Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors of kappa "
    "and weighted kappa. Psychological Bulletin, 72(5), 323-327."
)


def _two_raters(a: Any, b: Any, case, rater, rating, categories) -> WideRatings:
    if b is None:
        wide = prepare(a, case, rater, rating, categories)
        if wide.n_raters != 2:
            raise RiskevalError(
                f"Cohen's kappa compares exactly two raters; the table has {wide.n_raters} "
                f"({', '.join(map(str, wide.raters[:6]))}{'...' if wide.n_raters > 6 else ''})."
                " Use fleiss_kappa, gwet_ac or krippendorff_alpha for more raters."
            )
        return wide
    if case is not None or rater is not None or rating is not None:
        raise RiskevalError("give either two rating vectors a, b or one table with column names")
    a_arr = np.asarray(a, dtype=object).ravel()
    b_arr = np.asarray(b, dtype=object).ravel()
    if a_arr.size != b_arr.size:
        raise RiskevalError(
            f"the two raters' rating vectors differ in length ({a_arr.size} and {b_arr.size}); "
            "they must rate the same cases in the same order"
        )
    frame = pd.DataFrame({"a": pd.Series(list(a_arr)).infer_objects(),
                          "b": pd.Series(list(b_arr)).infer_objects()})
    return prepare(frame, None, None, None, categories)


def cohen_kappa(
    a: Any, b: Any = None, case: str | None = None, rater: str | None = None,
    rating: str | None = None, *, weights: Any = None, categories: Any = None,
    confidence: float = 0.95, ci: str | None = "analytic", n_boot: int = 2000,
    seed: Any = None,
) -> AgreementResult:
    """Cohen's kappa between two raters, optionally weighted.

    ``kappa_w = (po - pe) / (1 - pe)`` with ``po = sum_kl w_kl p_kl`` and
    ``pe = sum_kl w_kl p_k. p_.l``. Cases not rated by both raters are left out.

    Parameters
    ----------
    a, b : array-like
        The two raters' ratings of the same cases (NaN = not rated); or ``a`` alone as a wide
        two-column array/DataFrame, or a long table with ``case``, ``rater``, ``rating``.
    case, rater, rating : str, optional
        Column names when ``a`` is a long table.
    weights : None, "linear", "quadratic", other name or q x q matrix
        Agreement weights; ``None`` is unweighted kappa. Linear and quadratic weights are
        ``1 - |x_k - x_l| / span`` and ``1 - (x_k - x_l)^2 / span^2`` on the categories'
        values (ranks for labels).
    categories : sequence or str, optional
        The categories, lowest first; they fix the weights when some are unused.
    confidence : float
        Confidence level.
    ci : {"analytic", "percentile", "bca", None}
        ``"analytic"`` uses the large-sample non-null standard error of Fleiss, Cohen & Everitt
        (1969) with a normal interval; bootstrap methods resample cases.
    n_boot : int
        Bootstrap resamples.
    seed : int, SeedSequence or Generator, optional
        Bootstrap seed.

    Returns
    -------
    AgreementResult
        ``extra`` holds ``po``, ``pe`` and the test of kappa = 0 (``se_null``, ``z``,
        ``pvalue``).

    Notes
    -----
    Undefined (NaN with a warning) when both raters use a single category (``pe = 1``).
    Kappa lies in [-1, 1] with every built-in weight (all of negative type); a custom weight
    matrix that gives a value below -1 gives NaN with a warning. The interval contains the
    estimate or is NaN with a warning: analytic limits are truncated to [-1, 1], bootstrap
    resamples outside it count as undefined, and a bootstrap interval that leaves out the
    estimate is reported as NaN.

    References
    ----------
    .. [1] Cohen, J. (1960). Educational and Psychological Measurement, 20(1), 37-46.
    .. [2] Cohen, J. (1968). Psychological Bulletin, 70(4), 213-220.
    .. [3] Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Psychological Bulletin, 72(5),
       323-327.

    Examples
    --------
    >>> import riskeval as rv
    >>> a = ["low", "high", "medium", "low", "high", "medium", "low", "high"]
    >>> b = ["low", "high", "high", "low", "medium", "medium", "medium", "high"]
    >>> res = rv.cohen_kappa(a, b, categories="low,medium,high")
    >>> res.coefficient, round(res.estimate, 3)
    ("Cohen's kappa", 0.442)
    >>> weighted = rv.cohen_kappa(a, b, categories="low,medium,high", weights="quadratic")
    >>> weighted.coefficient, round(weighted.estimate, 3)
    ('Weighted kappa', 0.727)
    """
    wide = _two_raters(a, b, case, rater, rating, categories)
    codes, cats, scale = wide.coded()
    both = (codes >= 0).all(axis=1)
    n = int(both.sum())
    if n < 2:
        raise RiskevalError(
            f"only {n} case is rated by both raters; Cohen's kappa needs at least two"
        )
    q = max(len(cats), 2)
    if len(cats) < 2:
        scale = np.array([scale[0], scale[0] + 1.0])
    W = agreement_weights(weights, scale, ordered=wide.ordered)
    pair = codes[both, 0] * q + codes[both, 1]
    onehot = np.zeros((n, q * q))
    onehot[np.arange(n), pair] = 1.0

    def stat(U: np.ndarray, V: np.ndarray | None) -> np.ndarray:
        p = (U @ onehot).reshape(-1, q, q) / U.sum(axis=1)[:, None, None]
        # 1 - observed / chance *disagreement*: exactly 1 under perfect agreement
        do = (p * (1 - W)).sum(axis=(1, 2))
        de = np.einsum("bk,kl,bl->b", p.sum(axis=2), 1 - W, p.sum(axis=1))
        return 1 - do / de

    p = onehot.sum(axis=0).reshape(q, q) / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    po = float((W * p).sum())
    pe = float(row @ W @ col)
    name = "Cohen's kappa" if weights_label(weights) == "identity" else "Weighted kappa"
    note = ""
    if np.isclose(pe, 1.0):
        note = ("Cohen's kappa is undefined: both raters used a single category (chance "
                "agreement is 1); returning NaN")
        warn_degenerate(note)
        est, se, se0 = np.nan, np.nan, np.nan
    else:
        raw = float(stat(np.ones((1, n)), None)[0])
        est, note = in_range(raw, -1.0, 1.0, (
            f"{name} is not defined on these data: its formula gives {raw:.4g}, below -1, "
            "which no weights of negative type (every built-in weight) can give; the custom "
            "weight matrix is at fault; returning NaN"))
        wr = W @ col  # wbar_i. = sum_j p_.j w_ij
        wc = row @ W  # wbar_.j = sum_i p_i. w_ij
        # Fleiss, Cohen & Everitt (1969), non-null variance
        term = (W * (1 - pe) - (wr[:, None] + wc[None, :]) * (1 - po)) ** 2
        var = ((p * term).sum() - (po * pe - 2 * pe + po) ** 2) / (n * (1 - pe) ** 4)
        se = float(np.sqrt(max(var, 0.0)))
        # and under the null hypothesis kappa = 0
        term0 = (W - (wr[:, None] + wc[None, :])) ** 2
        var0 = ((np.outer(row, col) * term0).sum() - pe**2) / (n * (1 - pe) ** 2)
        se0 = float(np.sqrt(max(var0, 0.0)))
    if not np.isfinite(est):
        se = se0 = np.nan
    z = est / se0 if se0 and np.isfinite(se0) else np.nan
    extra = {
        "po": po, "pe": pe, "se_null": se0, "z": z,
        "pvalue": float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan,
        "weights": weights_label(weights),
    }
    return finish(
        name, stat, n_cases=n, n_raters=2, n_ratings=2 * n, se=se, ci=ci,
        confidence=confidence, n_boot=n_boot, resample="cases", seed=seed, width=n * q * q,
        df=None, extra=extra, references=(REF_COHEN_1960, REF_COHEN_1968, REF_FCE_1969),
        estimate=est, se_method="Fleiss-Cohen-Everitt SE", note=note,
    )
