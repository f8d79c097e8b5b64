"""Calibration: in the large, intercept and slope, Brier score and a reliability table."""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special, stats

from .._core.results import Result
from ..errors import DegenerateDataWarning, RiskevalError
from ._common import (
    _binary,
    _confidence,
    _fmt,
    _one_dim,
    _ordinal_codes,
    _probabilities,
    _shown,
)


@dataclass(frozen=True, eq=False)
class CalibrationResult(Result):
    """Agreement between predicted probabilities and observed outcomes.

    Attributes
    ----------
    n, n_events : int
        Cases and events (reconvictions).
    observed_rate, expected_rate : float
        Mean outcome and mean predicted probability.
    difference : float
        Calibration-in-the-large on the probability scale: ``observed_rate - expected_rate``
        (positive: the score under-predicts).
    oe_ratio : float
        Observed over expected events, ``sum(y) / sum(p)``.
    oe_ci : tuple of float
        Interval of the O/E ratio (log scale, ``var(log O/E) = (1 - O/n) / O``; Debray et al.
        2017).
    intercept, intercept_se, intercept_p : float
        Calibration intercept ``a`` of ``logit P(y = 1) = a + logit(p)`` (slope fixed at 1,
        logit(p) as offset): 0 when the mean prediction is right, positive when the score
        under-predicts. ``intercept_p`` tests ``a = 0``.
    intercept_ci : tuple of float
    slope, slope_se, slope_p : float
        Calibration slope ``b`` of ``logit P(y = 1) = c + b logit(p)`` (Cox 1958): 1 when
        the spread of predictions is right, below 1 when predictions are too extreme, above 1
        when too modest. ``slope_p`` tests ``b = 1``.
    slope_ci : tuple of float
    brier : float
        Brier score, the mean of ``(y - p)**2`` (lower is better).
    scaled_brier : float
        ``1 - brier / (ybar (1 - ybar))``: 1 for perfect predictions, 0 for predicting the
        overall rate to everyone, negative for worse (Steyerberg et al. 2010).
    table : pandas.DataFrame
        Reliability table, one row per bin or band: ``n``, ``mean_predicted``,
        ``observed_rate`` with its Wilson interval ``ci_low``/``ci_high``, ``expected``
        (sum of p), ``observed`` (events) and ``e_o`` (expected / observed; ``inf`` in a bin
        without events).
    grouping : str
        How the rows of ``table`` were formed.
    confidence : float
    references : tuple of str

    Examples
    --------
    >>> from riskeval.prediction import calibration
    >>> y = [0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0]
    >>> p = [0.1, 0.2, 0.3, 0.25, 0.7, 0.6, 0.4, 0.8, 0.15, 0.5, 0.45, 0.35]
    >>> res = calibration(y, p, bins=3)
    >>> round(float(res.to_frame().loc["calibration slope", "estimate"]), 3)
    2.386
    >>> res.table.shape
    (3, 8)
    """

    title: ClassVar[str] = "Calibration of predicted probabilities"

    n: int
    n_events: int
    observed_rate: float
    expected_rate: float
    difference: float
    oe_ratio: float
    oe_ci: tuple[float, float]
    intercept: float
    intercept_se: float
    intercept_ci: tuple[float, float]
    intercept_p: float
    slope: float
    slope_se: float
    slope_ci: tuple[float, float]
    slope_p: float
    brier: float
    scaled_brier: float
    table: pd.DataFrame
    grouping: str
    confidence: float
    references: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The summary statistics, one row each: estimate, se, ci_low, ci_high, p_value."""
        nan = float("nan")
        rows = {
            "observed - expected": (self.difference, nan, nan, nan, nan),
            "O/E ratio": (self.oe_ratio, nan, *self.oe_ci, nan),
            "calibration intercept": (self.intercept, self.intercept_se, *self.intercept_ci,
                                      self.intercept_p),
            "calibration slope": (self.slope, self.slope_se, *self.slope_ci, self.slope_p),
            "Brier score": (self.brier, nan, nan, nan, nan),
            "scaled Brier score": (self.scaled_brier, nan, nan, nan, nan),
        }
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=["estimate", "se", "ci_low", "ci_high", "p_value"]
        ).rename_axis("statistic")

    def summary(self) -> str:
        """A few lines of plain text."""
        pct = f"{100 * self.confidence:g}%"
        return "\n".join([
            f"Calibration of {self.n} predictions ({self.n_events} reconvicted)",
            f"  observed rate {_fmt(self.observed_rate)}, mean predicted "
            f"{_fmt(self.expected_rate)} (O/E {_fmt(self.oe_ratio)}, {pct} CI "
            f"{_fmt(self.oe_ci[0])} to {_fmt(self.oe_ci[1])})",
            f"  calibration intercept {_fmt(self.intercept)} ({pct} CI "
            f"{_fmt(self.intercept_ci[0])} to {_fmt(self.intercept_ci[1])}), slope "
            f"{_fmt(self.slope)} ({pct} CI {_fmt(self.slope_ci[0])} to "
            f"{_fmt(self.slope_ci[1])}; test of slope 1: p = {self.slope_p:.3g})",
            f"  Brier score {_fmt(self.brier, 4)}, scaled Brier {_fmt(self.scaled_brier)}",
            f"  reliability table by {self.grouping}",
        ])

    def __repr__(self) -> str:
        return (f"<Calibration n={self.n}: O/E {_fmt(self.oe_ratio)}, intercept "
                f"{_fmt(self.intercept)}, slope {_fmt(self.slope)}, Brier {_fmt(self.brier, 4)}>")

    def plot(self, ax: Any = None) -> Any:
        """Reliability diagram: observed rate (with Wilson intervals) against mean prediction.

        Each bin or band of the reliability table is a point at its mean predicted
        probability and observed reconviction rate, with a vertical bar for the Wilson
        interval; the diagonal is perfect calibration. Bands are labelled with their names.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw there; otherwise a new Figure is made.

        Returns
        -------
        matplotlib Figure when it made one, else the Axes.
        """
        from ._plots import reliability_diagram

        return reliability_diagram(self, ax)


def _glm(endog: np.ndarray, exog: np.ndarray, offset: np.ndarray | None, what: str) -> Any:
    import statsmodels.api as sm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = sm.GLM(endog, exog, family=sm.families.Binomial(), offset=offset).fit()
    seen: set[tuple[str, str]] = set()
    for w in caught:
        key = (w.category.__name__, str(w.message))
        if key in seen:
            continue
        seen.add(key)
        if "Separation" in key[0] or "Convergence" in key[0]:
            warnings.warn(f"fitting the {what}: {w.message}; its estimate and interval are "
                          "unreliable", DegenerateDataWarning, stacklevel=3)
        else:
            warnings.warn(w.message, w.category, stacklevel=3)
    return fit


def _groups(p: np.ndarray, bins: Any, bands: Any) -> tuple[pd.Categorical, str]:
    if bands is not None:
        if bins is not None:
            raise RiskevalError("give either bins (groups of predicted probability) or bands "
                                "(a label per case), not both")
        codes, levels, ordered = _ordinal_codes(bands, "bands", None)
        if len(codes) != len(p):
            raise RiskevalError(f"bands has {len(codes)} labels but p has {len(p)} values; "
                                "expected one band per case")
        if not ordered:
            # Unknown order: show bands from the lowest to the highest mean prediction.
            means = pd.Series(p).groupby(codes).mean()
            order = [levels[i] for i in means.sort_values(kind="stable").index]
            cat = pd.Categorical(np.asarray(levels, dtype=object)[codes], categories=order,
                                 ordered=True)
        else:
            cat = pd.Categorical.from_codes(codes, categories=list(levels), ordered=True)
        return cat, "band"
    bins = 10 if bins is None else bins
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if bins < 1:
            raise RiskevalError(f"bins must be a positive number of groups; got {bins}")
        cut = pd.qcut(p, q=int(bins), duplicates="drop")
        for digits in range(3, 18):  # enough digits to tell neighbouring groups apart
            labels = [f"{iv.left:.{digits}g}-{iv.right:.{digits}g}" for iv in cut.categories]
            if len(set(labels)) == len(labels):
                break
        cat = pd.Categorical.from_codes(cut.codes, categories=labels, ordered=True)
        return cat, f"{len(labels)} groups of equal size by predicted probability"
    try:
        edges = np.asarray([float(e) for e in bins], dtype=float)
    except (TypeError, ValueError):
        raise RiskevalError(
            f"bins must be a number of groups or increasing cut points on the probability "
            f"scale, e.g. (0, 0.25, 0.5, 0.75, 1); got {bins!r}"
        ) from None
    if edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0 or edges[-1] > 1:
        raise RiskevalError(
            f"bins as cut points must be at least two increasing probabilities between 0 and 1, "
            f"e.g. (0, 0.25, 0.5, 0.75, 1); got {tuple(bins)!r}"
        )
    outside = (p < edges[0]) | (p > edges[-1])
    if outside.any():
        raise RiskevalError(
            f"predicted probabilities {_shown(p[outside])} fall outside the bins "
            f"[{edges[0]:g}, {edges[-1]:g}]; extend the first or last cut point"
        )
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    labels = [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges)]
    cat = pd.Categorical.from_codes(idx, categories=labels, ordered=True)
    return cat, "bins with cut points " + ", ".join(f"{e:g}" for e in edges)


def calibration(y: Any, p: Any, bins: Any = None, *, bands: Any = None,
                confidence: float = 0.95) -> CalibrationResult:
    """Calibration of predicted reconviction probabilities against observed outcomes.

    Parameters
    ----------
    y : array-like of 0/1 or bool
        Outcome of each case (1 = reconvicted); both outcomes must occur.
    p : array-like of float
        Predicted probability of each case, strictly between 0 and 1 (percentages are
        refused with a hint).
    bins : int or sequence of float, optional
        Grouping of the reliability table by predicted probability: a number of groups of
        (nearly) equal size (quantiles of ``p``; default 10, the "deciles of risk"; fewer when
        predictions tie), or increasing cut points covering every prediction, e.g.
        ``(0, 0.25, 0.5, 0.75, 1)`` (intervals closed on the left, the last also on the right).
    bands : array-like, optional
        Instead of ``bins``, a band label per case (for example the actuarial band the scale
        assigned: low, medium, high, very high). Bands are shown in their order (ordered
        Categorical, numbers, or :data:`riskeval.RISK_LEVELS`), otherwise by mean prediction.
    confidence : float, default 0.95
        Level of every interval.

    Returns
    -------
    CalibrationResult
        With a :meth:`~CalibrationResult.plot` method drawing the reliability diagram.

    Notes
    -----
    * Calibration-in-the-large: ``observed - expected`` mean, the O/E ratio, and the
      calibration intercept, a logistic regression of ``y`` with ``logit(p)`` as offset
      (statsmodels GLM).
    * Calibration slope: logistic regression of ``y`` on ``logit(p)`` (Cox 1958). A score
      developed on the same data has slope 1 by construction; on new cases a slope below 1
      is the usual sign of overfitting.
    * Brier score from scikit-learn's :func:`~sklearn.metrics.brier_score_loss`; scaled as in
      Steyerberg et al. (2010).
    * Reliability table: Wilson score intervals for the observed rate (statsmodels
      ``proportion_confint``). Groups without cases are left out.

    References
    ----------
    Cox, D. R. (1958). Two further applications of a model for binary regression.
    *Biometrika* 45(3/4), 562-565.

    Van Calster, B., McLernon, D. J., van Smeden, M., Wynants, L. & Steyerberg, E. W. (2019).
    Calibration: the Achilles heel of predictive analytics. *BMC Medicine* 17, 230.

    Steyerberg, E. W., Vickers, A. J., Cook, N. R., Gerds, T., Gonen, M., Obuchowski, N.,
    Pencina, M. J. & Kattan, M. W. (2010). Assessing the performance of prediction models: a
    framework for traditional and novel measures. *Epidemiology* 21(1), 128-138.
    https://doi.org/10.1097/EDE.0b013e3181c30fb2

    Brier, G. W. (1950). Verification of forecasts expressed in terms of probability. *Monthly
    Weather Review* 78(1), 1-3.

    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *Journal of the American Statistical Association* 22(158), 209-212.

    Debray, T. P. A., Damen, J. A. A. G., Snell, K. I. E., Ensor, J., Hooft, L., Reitsma,
    J. B., Riley, R. D. & Moons, K. G. M. (2017). A guide to systematic review and
    meta-analysis of prediction model performance. *BMJ* 356, i6460.
    https://doi.org/10.1136/bmj.i6460

    Hosmer, D. W., Lemeshow, S. & Sturdivant, R. X. (2013). *Applied Logistic Regression*
    (3rd ed.). Hoboken: Wiley (grouping by deciles of risk).
    Examples
    --------
    >>> from riskeval.prediction import calibration
    >>> y = [0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0]
    >>> p = [0.1, 0.2, 0.3, 0.25, 0.7, 0.6, 0.4, 0.8, 0.15, 0.5, 0.45, 0.35]
    >>> res = calibration(y, p, bins=3)
    >>> round(res.oe_ratio, 3), round(res.brier, 3)
    (1.042, 0.146)
    >>> list(res.table["n"])
    [4, 4, 4]
    """
    import statsmodels.api as sm
    from sklearn.metrics import brier_score_loss
    from statsmodels.stats.proportion import proportion_confint

    conf = _confidence(confidence)
    pv = _probabilities(p, "p", len(_one_dim(y, "y")))
    yv = _binary(y, "y", len(pv))
    if np.ptp(pv) == 0:
        raise RiskevalError(
            f"p is {pv[0]:g} for every case; with a single prediction the calibration slope is "
            "undefined (compare the observed rate with it directly)"
        )
    yi = yv.astype(float)
    n, events = len(yv), int(yv.sum())
    q = float(stats.norm.ppf(0.5 + conf / 2))
    lp = special.logit(pv)
    alpha = 1.0 - conf

    fit_a = _glm(yi, np.ones((n, 1)), lp, "calibration intercept")
    a, a_se = float(fit_a.params[0]), float(fit_a.bse[0])
    a_ci = tuple(float(v) for v in np.asarray(fit_a.conf_int(alpha=alpha))[0])
    fit_b = _glm(yi, sm.add_constant(lp, has_constant="add"), None, "calibration slope")
    b, b_se = float(fit_b.params[1]), float(fit_b.bse[1])
    b_ci = tuple(float(v) for v in np.asarray(fit_b.conf_int(alpha=alpha))[1])
    b_p = float(2 * stats.norm.sf(abs((b - 1.0) / b_se)))

    expected = float(pv.sum())
    oe = events / expected
    se_log_oe = math.sqrt((1.0 - events / n) / events)
    oe_ci = (oe * math.exp(-q * se_log_oe), oe * math.exp(q * se_log_oe))
    brier = float(brier_score_loss(yv.astype(int), pv))
    ybar = events / n
    scaled = 1.0 - brier / (ybar * (1.0 - ybar))

    groups, grouping = _groups(pv, bins, bands)
    df = pd.DataFrame({"group": groups, "y": yi, "p": pv})
    g = df.groupby("group", observed=True)
    table = pd.DataFrame({"n": g.size(), "mean_predicted": g["p"].mean(),
                          "observed": g["y"].sum(), "expected": g["p"].sum()})
    table["observed"] = table["observed"].round().astype(int)
    table["observed_rate"] = table["observed"] / table["n"]
    low, high = proportion_confint(table["observed"].to_numpy(), table["n"].to_numpy(),
                                   alpha=alpha, method="wilson")
    table["ci_low"], table["ci_high"] = np.asarray(low, float), np.asarray(high, float)
    table["e_o"] = table["expected"] / table["observed"]  # inf where a group has no event
    table = table[["n", "mean_predicted", "observed_rate", "ci_low", "ci_high", "expected",
                   "observed", "e_o"]]
    table.index = pd.CategoricalIndex(table.index, name="band" if bands is not None
                                      else "predicted")
    return CalibrationResult(
        n=n, n_events=events, observed_rate=ybar, expected_rate=expected / n,
        difference=ybar - expected / n, oe_ratio=oe, oe_ci=oe_ci, intercept=a, intercept_se=a_se,
        intercept_ci=a_ci, intercept_p=float(fit_a.pvalues[0]), slope=b, slope_se=b_se,
        slope_ci=b_ci, slope_p=b_p, brier=brier, scaled_brier=scaled, table=table,
        grouping=grouping, confidence=conf,
        references=(
            "Cox, D. R. (1958). Two further applications of a model for binary regression. "
            "Biometrika 45(3/4), 562-565.",
            "Van Calster, B., McLernon, D. J., van Smeden, M., Wynants, L. & Steyerberg, E. W. "
            "(2019). Calibration: the Achilles heel of predictive analytics. BMC Medicine 17, "
            "230.",
            "Steyerberg, E. W. et al. (2010). Assessing the performance of prediction models. "
            "Epidemiology 21(1), 128-138.",
            "Wilson, E. B. (1927). Probable inference, the law of succession, and statistical "
            "inference. JASA 22(158), 209-212.",
        ),
    )

