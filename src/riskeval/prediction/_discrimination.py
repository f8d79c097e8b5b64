"""Discrimination: the AUC with DeLong's standard error, and DeLong's paired test."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special, stats

from .._core.results import Result
from ..errors import DegenerateDataWarning, RiskevalError
from ._common import (
    _DELONG_REFS,
    _binary,
    _confidence,
    _fmt,
    _name,
    _score,
)


def _delong(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                        np.ndarray]:
    """AUCs, structural components and DeLong covariance by the mid-rank method of Sun & Xu.

    ``scores`` has shape (k, n_cases). For each score, with m events and n non-events, the
    mid-ranks among events (Tx), among non-events (Ty) and among all (Tz) give the
    components ``V10_i = (Tz_i - Tx_i) / n`` (share of non-events below event i, ties one
    half) and ``V01_j = 1 - (Tz_j - Ty_j) / m`` (share of events above non-event j); the AUC
    is their common mean and ``S = S10 / m + S01 / n`` their covariance (DeLong et al. 1988).
    """
    pos = scores[:, y]
    neg = scores[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    tx = stats.rankdata(pos, axis=1)
    ty = stats.rankdata(neg, axis=1)
    tz = stats.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, v10, v01, cov


def _class_counts(y: np.ndarray) -> tuple[int, int]:
    m = int(y.sum())
    n = int(len(y) - m)
    if m < 2 or n < 2:
        raise RiskevalError(
            f"DeLong's variance needs at least two cases of each outcome; y has {m} "
            f"reconvicted and {n} not"
        )
    return m, n


@dataclass(frozen=True, eq=False)
class AUCResult(Result):
    """The area under the ROC curve with DeLong's standard error.

    Attributes
    ----------
    estimate : float
        The AUC: the probability that a randomly chosen event (reconvicted) case scores higher
        than a randomly chosen non-event case, ties counting one half.
    se : float
        DeLong's standard error.
    ci : tuple of float
        ``(low, high)`` interval at level ``confidence``.
    confidence : float
    ci_scale : str
        ``"plain"`` (Wald interval on the AUC scale, cut to [0, 1]) or ``"logit"``.
    n_events, n_nonevents : int
    v10, v01 : ndarray
        DeLong's structural components: for each event case the share of non-events scoring
        below it (``v10``), for each non-event case the share of events scoring above it
        (``v01``), in the order of the cases.
    name : str
    references : tuple of str

    Examples
    --------
    >>> from riskeval.prediction import auc
    >>> res = auc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9], name="score")
    >>> type(res).__name__, round(res.estimate, 3), res.to_frame().shape
    ('AUCResult', 0.889, (1, 8))
    >>> res.summary().startswith("AUC of score: 0.889")
    True
    """

    title: ClassVar[str] = "Area under the ROC curve (DeLong)"

    estimate: float
    se: float
    ci: tuple[float, float]
    confidence: float
    ci_scale: str
    n_events: int
    n_nonevents: int
    v10: np.ndarray
    v01: np.ndarray
    name: str = "score"
    references: tuple[str, ...] = _DELONG_REFS

    @property
    def variance(self) -> float:
        """DeLong's variance, ``se ** 2``."""
        return self.se ** 2

    def to_frame(self) -> pd.DataFrame:
        """One row: auc, se, ci_low, ci_high, confidence, ci_scale, n_events, n_nonevents."""
        return pd.DataFrame([{
            "auc": self.estimate, "se": self.se, "ci_low": self.ci[0], "ci_high": self.ci[1],
            "confidence": self.confidence, "ci_scale": self.ci_scale,
            "n_events": self.n_events, "n_nonevents": self.n_nonevents,
        }], index=pd.Index([self.name], name="score"))

    def summary(self) -> str:
        """One line of plain text."""
        return (f"AUC of {self.name}: {_fmt(self.estimate)} (SE {_fmt(self.se)}; "
                f"{100 * self.confidence:g}% CI {_fmt(self.ci[0])} to {_fmt(self.ci[1])}, DeLong, "
                f"{self.ci_scale} scale), {self.n_events} reconvicted and {self.n_nonevents} not")

    def __repr__(self) -> str:
        return (f"<AUC {self.name} = {_fmt(self.estimate)}, {100 * self.confidence:g}% CI "
                f"[{_fmt(self.ci[0])}, {_fmt(self.ci[1])}], n={self.n_events}+"
                f"{self.n_nonevents}>")


def _auc_ci(est: float, se: float, q: float, scale: str) -> tuple[float, float]:
    if se == 0.0:
        warnings.warn(
            f"the AUC is {est:g} with DeLong variance 0 (the scores order the outcomes without "
            "any overlap, or every score is tied); the interval is the single point",
            DegenerateDataWarning, stacklevel=3,
        )
        return est, est
    if scale == "plain":
        return max(0.0, est - q * se), min(1.0, est + q * se)
    if est <= 0.0 or est >= 1.0:
        return est, est
    centre = special.logit(est)
    half = q * se / (est * (1.0 - est))
    return float(special.expit(centre - half)), float(special.expit(centre + half))


def auc(y: Any, score: Any, confidence: float = 0.95, *, ci_scale: str = "plain",
        name: str | None = None) -> AUCResult:
    """Area under the ROC curve with DeLong's variance and a confidence interval.

    Parameters
    ----------
    y : array-like of 0/1 or bool
        Outcome of each case (1 = reconvicted). Both outcomes must occur, at least twice each.
    score : array-like
        Score of each case, higher meaning riskier: probabilities, points, or ordered levels
        (an ordered pandas Categorical, or labels of :data:`riskeval.RISK_LEVELS`, which are
        ranked low < medium < high < very high). Ties are allowed (mid-ranks).
    confidence : float, default 0.95
        Level of the interval.
    ci_scale : {"plain", "logit"}, default "plain"
        ``"plain"``: ``AUC +/- z * SE``, cut to [0, 1], as in DeLong et al. (1988) and R's pROC
        (Robin et al. 2011), so published results can be reproduced. ``"logit"``: the interval
        computed for ``logit(AUC)`` with the delta-method error ``SE / (AUC (1 - AUC))`` and
        transformed back; it stays inside (0, 1) and is more accurate for AUCs near 1 in small
        samples (Pepe 2003, sec. 5.2; Qin & Hotilovac 2008).
    name : str, optional
        Label of the score in the result (default: the Series name, or ``"score"``).

    Returns
    -------
    AUCResult

    Notes
    -----
    The point estimate is scikit-learn's :func:`~sklearn.metrics.roc_auc_score` (the
    Mann-Whitney statistic). The variance is DeLong's nonparametric estimate
    ``var(V10) / m + var(V01) / n`` from the structural components of the m event and n
    non-event cases, computed from mid-ranks in O(N log N) time as in Sun & Xu (2014). The
    score is not reversed when its AUC is below 0.5: such a score ranks the wrong way.

    References
    ----------
    DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two
    or more correlated receiver operating characteristic curves: a nonparametric approach.
    *Biometrics* 44(3), 837-845.

    Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
    under correlated receiver operating characteristic curves. *IEEE Signal Processing
    Letters* 21(11), 1389-1393.

    Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under a receiver
    operating characteristic (ROC) curve. *Radiology* 143(1), 29-36.

    Robin, X., Turck, N., Hainard, A., Tiberti, N., Lisacek, F., Sanchez, J.-C. & Müller, M.
    (2011). pROC: an open-source package for R and S+ to analyze and compare ROC curves.
    *BMC Bioinformatics* 12, 77. https://doi.org/10.1186/1471-2105-12-77

    Pepe, M. S. (2003). *The Statistical Evaluation of Medical Tests for Classification and
    Prediction*. Oxford: Oxford University Press.

    Qin, G. & Hotilovac, L. (2008). Comparison of non-parametric confidence intervals for the
    area under the ROC curve of a continuous-scale diagnostic test. *Statistical Methods in
    Medical Research* 17(2), 207-221. https://doi.org/10.1177/0962280207087173

    Examples
    --------
    >>> from riskeval.prediction import auc
    >>> res = auc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(res.estimate, 4)
    0.8889
    """
    from sklearn.metrics import roc_auc_score

    conf = _confidence(confidence)
    if ci_scale not in ("plain", "logit"):
        raise RiskevalError(f"ci_scale must be 'plain' or 'logit'; got {ci_scale!r}")
    s = _score(score, "score")
    yv = _binary(y, "y", len(s))
    m, n = _class_counts(yv)
    estimate = float(roc_auc_score(yv, s))
    _, v10, v01, cov = _delong(yv, s[None, :])
    se = math.sqrt(max(float(cov[0, 0]), 0.0))
    q = float(stats.norm.ppf(0.5 + conf / 2))
    ci = _auc_ci(estimate, se, q, ci_scale)
    return AUCResult(estimate=estimate, se=se, ci=(float(ci[0]), float(ci[1])), confidence=conf,
                     ci_scale=ci_scale, n_events=m, n_nonevents=n, v10=v10[0], v01=v01[0],
                     name=name if name is not None else _name(score, "score"))


@dataclass(frozen=True, eq=False)
class DeLongTestResult(Result):
    """DeLong's test of the difference between two correlated AUCs.

    Attributes
    ----------
    names : tuple of str
        Labels of the two scores, ``(a, b)``.
    auc : tuple of float
        The two AUCs.
    se : tuple of float
        Their DeLong standard errors.
    covariance : ndarray of shape (2, 2)
        DeLong covariance matrix of the two AUCs.
    correlation : float
        Correlation of the two AUC estimates.
    difference : float
        ``auc[0] - auc[1]`` (a minus b).
    se_difference : float
        Its standard error, ``sqrt(S_aa + S_bb - 2 S_ab)``.
    z, p_value : float
        ``difference / se_difference`` and its two-sided normal p-value.
    ci : tuple of float
        Interval for the difference at level ``confidence``.
    confidence : float
    n_events, n_nonevents : int
    references : tuple of str

    Examples
    --------
    >>> from riskeval.prediction import delong_test
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
    >>> res = delong_test(y, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.3, 0.6],
    ...                   [1, 2, 2, 3, 1, 4, 2, 2], names=("score", "level"))
    >>> round(res.difference, 3), res.to_frame().index[0]
    (0.062, 'score - level')
    """

    title: ClassVar[str] = "DeLong's test of two correlated AUCs"

    names: tuple[str, str]
    auc: tuple[float, float]
    se: tuple[float, float]
    covariance: np.ndarray
    correlation: float
    difference: float
    se_difference: float
    z: float
    p_value: float
    ci: tuple[float, float]
    confidence: float
    n_events: int
    n_nonevents: int
    references: tuple[str, ...] = _DELONG_REFS

    @property
    def estimate(self) -> float:
        """The difference of the two AUCs (the headline number; ``ci`` is its interval)."""
        return self.difference

    def to_frame(self) -> pd.DataFrame:
        """One row: the two AUCs, difference, se, z, p_value, ci_low, ci_high, correlation."""
        a, b = self.names
        return pd.DataFrame([{
            f"auc_{a}": self.auc[0], f"auc_{b}": self.auc[1], "difference": self.difference,
            "se": self.se_difference, "z": self.z, "p_value": self.p_value,
            "ci_low": self.ci[0], "ci_high": self.ci[1], "correlation": self.correlation,
            "n_events": self.n_events, "n_nonevents": self.n_nonevents,
        }], index=pd.Index([f"{a} - {b}"], name="comparison"))

    def summary(self) -> str:
        """A few lines of plain text."""
        a, b = self.names
        return "\n".join([
            f"DeLong's test for two correlated AUCs ({self.n_events} reconvicted, "
            f"{self.n_nonevents} not)",
            f"  AUC {a} = {_fmt(self.auc[0])} (SE {_fmt(self.se[0])}), AUC {b} = "
            f"{_fmt(self.auc[1])} (SE {_fmt(self.se[1])}), correlation {_fmt(self.correlation)}",
            f"  difference {_fmt(self.difference)} (SE {_fmt(self.se_difference)}, "
            f"{100 * self.confidence:g}% CI {_fmt(self.ci[0])} to {_fmt(self.ci[1])}), "
            f"z = {_fmt(self.z, 2)}, p = {self.p_value:.3g}",
        ])

    def __repr__(self) -> str:
        a, b = self.names
        return (f"<DeLong test {a} - {b}: difference {_fmt(self.difference)}, z = "
                f"{_fmt(self.z, 2)}, p = {self.p_value:.3g}>")


def delong_test(y: Any, score_a: Any, score_b: Any, confidence: float = 0.95, *,
                names: tuple[str, str] | None = None) -> DeLongTestResult:
    """Compare two AUCs measured on the same cases (paired DeLong test).

    Typical use: does the actuarial score rank reconvicted and non-reconvicted cases better
    than the officers' clinical levels on the same cases? Because both are measured on the
    same people their AUCs are correlated, and the test accounts for it.

    Parameters
    ----------
    y : array-like of 0/1 or bool
        Outcome of each case (1 = reconvicted); at least two cases of each.
    score_a, score_b : array-like
        Two scores of the same cases in the same order, higher meaning riskier (numbers, an
        ordered pandas Categorical, or :data:`riskeval.RISK_LEVELS` labels).
    confidence : float, default 0.95
        Level of the interval for the difference.
    names : pair of str, optional
        Labels of the scores (default: their Series names, or ``"a"`` and ``"b"``).

    Returns
    -------
    DeLongTestResult
        With ``difference = AUC(a) - AUC(b)``.

    Notes
    -----
    With structural components ``V10`` (events) and ``V01`` (non-events) of both scores, the
    covariance of the two AUCs is ``S = S10 / m + S01 / n``, where ``S10`` and ``S01`` are the
    2 x 2 sample covariance matrices of the components (DeLong et al. 1988); the components
    come from mid-ranks (Sun & Xu 2014). ``z = (AUC_a - AUC_b) / sqrt(S_aa + S_bb - 2 S_ab)``
    is referred to the standard normal distribution. When the two scores rank the cases
    identically the variance of the difference is 0; the result is then ``z = 0``, ``p = 1``
    with a warning.

    References
    ----------
    DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two
    or more correlated receiver operating characteristic curves: a nonparametric approach.
    *Biometrics* 44(3), 837-845.

    Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
    under correlated receiver operating characteristic curves. *IEEE Signal Processing
    Letters* 21(11), 1389-1393.

    Examples
    --------
    >>> from riskeval.prediction import delong_test
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
    >>> res = delong_test(y, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.3, 0.6],
    ...                   [1, 2, 2, 3, 1, 4, 2, 2], names=("score", "level"))
    >>> round(res.auc[0], 3), round(res.auc[1], 3), round(res.p_value, 3)
    (0.938, 0.875, 0.48)
    """
    from sklearn.metrics import roc_auc_score

    conf = _confidence(confidence)
    sa = _score(score_a, "score_a")
    sb = _score(score_b, "score_b", len(sa), other="score_a")
    yv = _binary(y, "y", len(sa))
    m, n = _class_counts(yv)
    if names is None:
        names = (_name(score_a, "a"), _name(score_b, "b"))
        if names[0] == names[1]:
            names = (f"{names[0]} (a)", f"{names[1]} (b)")
    elif isinstance(names, str) or len(names) != 2:
        raise RiskevalError(f"names must be two labels, one per score; got {names!r}")
    names = (str(names[0]), str(names[1]))
    _, _, _, cov = _delong(yv, np.vstack([sa, sb]))
    aucs = (float(roc_auc_score(yv, sa)), float(roc_auc_score(yv, sb)))
    diff = aucs[0] - aucs[1]
    var_d = max(float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]), 0.0)
    se_d = math.sqrt(var_d)
    q = float(stats.norm.ppf(0.5 + conf / 2))
    if se_d == 0.0:
        warnings.warn(
            f"the AUC difference of {names[0]} and {names[1]} has variance 0 (the two scores "
            "order every event/non-event pair alike); reporting z = 0, p = 1"
            if diff == 0.0 else
            f"the AUC difference of {names[0]} and {names[1]} has variance 0 but is "
            f"{diff:g}; the test is degenerate",
            DegenerateDataWarning, stacklevel=2,
        )
        z = 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    else:
        z = diff / se_d
    p = float(2.0 * stats.norm.sf(abs(z)))
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    corr = float(cov[0, 1] / (sd[0] * sd[1])) if sd[0] > 0 and sd[1] > 0 else float("nan")
    return DeLongTestResult(
        names=names, auc=aucs, se=(float(sd[0]), float(sd[1])), covariance=cov,
        correlation=corr, difference=diff, se_difference=se_d, z=float(z), p_value=p,
        ci=(diff - q * se_d, diff + q * se_d), confidence=conf, n_events=m, n_nonevents=n,
    )

