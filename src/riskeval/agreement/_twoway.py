"""Standard errors that treat the officers as a sample: the two-way (cases x raters) jackknife.

An agreement coefficient computed on ``n`` cases rated by ``m`` officers varies from study to
study for two reasons: other cases, and other officers. The leave-one-case-out jackknife
measures only the first (the officers are fixed: "these officers"). For "officers like these"
both must count. In a crossed design the variance of a smooth statistic is, to first order,

``Var = s_case / n + s_rater / m + s_int / (n m)``.

The case jackknife estimates ``s_case / n + s_int / (n m)``, the rater jackknife
``s_rater / m + s_int / (n m)``, so their sum counts the interaction term twice. The
interaction is measured by deleting a case and a rater together:
``D_ij = t(-i,-j) - t(-i) - t(-j) + t``, whose sum of squares times ``(n-1)(m-1)/(n m)``
estimates ``s_int / (n m)`` (exactly so for the grand mean of a complete table). The
variance is then ``V_case + V_rater - V_int``, floored at ``V_case`` (generalising to other
officers can only add uncertainty). The coefficients compute every deletion from per-case
sums (:mod:`riskeval.agreement._kernel`), in memory proportional to the ratings given; any
other batched statistic is evaluated on rows of ``1 - I``, a batch at a time.

References
----------
Efron, B. & Stein, C. (1981). The jackknife estimate of variance. *Annals of Statistics* 9(3),
586-596.

Fisher, R. A. (1925). *Statistical Methods for Research Workers*, section 39 (the z
transformation of an intraclass correlation). Oliver & Boyd.

Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
components. *Biometrics Bulletin* 2(6), 110-114.

Owen, A. B. (2007). The pigeonhole bootstrap. *Annals of Applied Statistics* 1(2), 386-411
(why resampling cases and raters independently overstates the variance of crossed data).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._bootstrap import BatchedStat
from ._kernel import SumStatistic, both_deleted, deleted

#: Above this many (case, rater) pairs the joint deletions are skipped and the sum of the
#: two one-way jackknife variances is used (conservative by ``s_int / (n m)``, which is then
#: negligible).
MAX_PAIRS = 250_000


def twoway_jackknife(stat: BatchedStat, n_cases: int, n_raters: int,
                     estimate: float) -> dict[str, float]:
    """Jackknife variances of ``stat`` over cases, over raters, and of their interaction.

    Parameters
    ----------
    stat : callable
        Batched statistic ``stat(U, V) -> (B,)`` with case weights ``U`` (B x n) and rater
        weights ``V`` (B x m).
    n_cases, n_raters : int
        Sizes of the two dimensions.
    estimate : float
        ``stat`` on the full data.

    Returns
    -------
    dict
        ``var_cases``, ``var_raters``, ``var_interaction``, ``se`` (the square root of
        ``var_cases + var_raters - var_interaction``, floored at ``var_cases``) and ``df``
        (Satterthwaite's, from the case part on ``n - 1`` and the officer part on ``m - 1``
        degrees of freedom), and ``bias_cases``, the leave-one-case-out jackknife's estimate of
        the bias ``(n - 1)(mean t(-i) - t)``; NaN entries when a deletion leaves the
        coefficient undefined.
    """
    n, m = int(n_cases), int(n_raters)
    nan = {"var_cases": np.nan, "var_raters": np.nan, "var_interaction": np.nan, "se": np.nan,
           "df": np.nan, "bias_cases": np.nan}
    if n < 3 or m < 3 or not np.isfinite(estimate):
        return nan
    fast = isinstance(stat, SumStatistic)   # deletions from per-case sums: no n x n array
    with np.errstate(invalid="ignore", divide="ignore"):
        t_case = deleted(stat, n, m, cases=True)
        t_rater = deleted(stat, n, m, cases=False)
    if not (np.isfinite(t_case).all() and np.isfinite(t_rater).all()):
        return nan
    v_case = (n - 1) / n * float(((t_case - t_case.mean()) ** 2).sum())
    bias = (n - 1) * float(t_case.mean() - estimate)   # the case jackknife's bias estimate
    v_rater = (m - 1) / m * float(((t_rater - t_rater.mean()) ** 2).sum())
    v_int = 0.0
    if n * m <= MAX_PAIRS:
        with np.errstate(invalid="ignore", divide="ignore"):
            both = stat.both_deleted() if fast else both_deleted(stat, n, m)
        d = both - t_case[:, None] - t_rater[None, :] + estimate
        d = d[np.isfinite(d)]
        v_int = (n - 1) * (m - 1) / (n * m) * float((d ** 2).sum())
    v_extra = max(v_rater - v_int, 0.0)      # what other officers add
    total = v_case + v_extra
    # Satterthwaite: the two parts rest on n - 1 and m - 1 degrees of freedom
    denom = v_case ** 2 / (n - 1) + v_extra ** 2 / (m - 1)
    df = total ** 2 / denom if denom > 0 else float(n - 1)
    return {"var_cases": v_case, "var_raters": v_rater, "var_interaction": v_int,
            "se": float(np.sqrt(total)), "df": float(df), "bias_cases": bias}


def twoway_interval(estimate: float, jack: dict[str, float], k: float,
                    confidence: float) -> tuple[float, float]:
    """The interval for officers like these from :func:`twoway_jackknife`'s output.

    Centred on the estimate less the case jackknife's bias estimate (agreement coefficients
    estimated from few cases run low: alpha by about ``icc (1 - icc) / n``), on Fisher's z
    scale (:func:`fisher_z_interval`), and widened where needed to contain the estimate
    itself, so the reported value always lies in its interval.
    """
    centre = estimate - jack["bias_cases"]
    if not np.isfinite(centre) or centre >= 1.0:
        centre = estimate
    lo, hi = fisher_z_interval(centre, jack["se"], jack["df"], k, confidence)
    return min(lo, estimate), max(hi, estimate)


def fisher_z_interval(estimate: float, se: float, df: float, k: float,
                      confidence: float) -> tuple[float, float]:
    """A t interval on the scale ``z = log((1 + (k - 1) r) / (1 - r)) / 2``, mapped back.

    The transform is Fisher's z for an intraclass correlation of ``k`` ratings per case
    (Fisher 1925, section 39); it makes the interval asymmetric, longer towards the middle
    of the range, where a coefficient estimated from few cases lies more often than towards
    its bound at 1. An estimate outside ``(-1 / (k - 1), 1)`` (e.g. perfect agreement) gets
    the plain interval ``estimate +/- t se``.

    Simulated coverage of the 95% interval for Krippendorff's alpha against its population
    value (centred as :func:`twoway_interval` does), 2,000 studies per design (ten designs of
    6-40 officers x 8-30 vignettes): 0.930-0.965 (``papers/alpha_coverage.md``).
    """
    crit = float(stats.t.ppf(0.5 + confidence / 2, df))
    k = max(float(k), 2.0)
    low_edge = -1.0 / (k - 1.0)
    if not low_edge < estimate < 1.0 or se == 0:
        return estimate - crit * se, estimate + crit * se
    z = 0.5 * np.log((1 + (k - 1) * estimate) / (1 - estimate))
    dz = 0.5 * ((k - 1) / (1 + (k - 1) * estimate) + 1 / (1 - estimate))
    lo, hi = z - crit * se * dz, z + crit * se * dz

    def back(v: float) -> float:
        e = np.exp(2 * v)
        return float((e - 1) / (e + k - 1))
    return back(lo), back(hi)
