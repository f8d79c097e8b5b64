"""Confidence intervals for proportions, used by several layers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .checks import check_confidence
from .results import Result

__all__ = ["DifferenceInterval", "ProportionInterval", "newcombe_difference", "wilson_interval"]


@dataclass(frozen=True)
class ProportionInterval(Result):
    """Wilson limits of one or more proportions; unpacks as ``low, high``.

    Examples
    --------
    >>> low, high = wilson_interval(805, 1795)
    >>> round(float(low), 4)
    0.4256
    """

    low: np.ndarray
    high: np.ndarray
    confidence: float
    title = "Wilson interval"

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.low, self.high))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"ci_low": np.atleast_1d(self.low),
                             "ci_high": np.atleast_1d(self.high)})


@dataclass(frozen=True)
class DifferenceInterval(Result):
    """A difference of two proportions with its interval; unpacks as
    ``difference, low, high``.

    Examples
    --------
    >>> r = newcombe_difference(805, 1795, 349, 1488)
    >>> round(r.estimate, 4), [round(x, 4) for x in r.ci]
    (0.2139, [0.1821, 0.245])
    """

    difference: float
    low: float
    high: float
    confidence: float
    title = "Difference of two proportions (Newcombe's hybrid score interval)"

    @property
    def estimate(self) -> float:
        return self.difference

    @property
    def ci(self) -> tuple[float, float]:
        return (self.low, self.high)

    def __iter__(self) -> Iterator[float]:
        return iter((self.difference, self.low, self.high))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"difference": [self.difference], "ci_low": [self.low],
                             "ci_high": [self.high]})


def wilson_interval(successes: Any, trials: Any, confidence: float = 0.95
                    ) -> ProportionInterval:
    """Wilson score interval for binomial proportions (vectorised).

    Parameters
    ----------
    successes, trials : array_like of int
        Counts; where ``trials`` is 0 the interval is NaN.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    ProportionInterval
        ``low`` and ``high`` arrays (it unpacks as ``low, high``).

    Notes
    -----
    The interval inverts the score test of ``p`` (Wilson 1927; computed by statsmodels'
    ``proportion_confint(method="wilson")``; the package's one Wilson interval). Unlike the
    Wald interval it stays inside [0, 1] and keeps close to nominal coverage for small ``n`` and
    for rates near 0 or 1, which is where error rates of small groups live.

    Examples
    --------
    >>> low, high = wilson_interval(805, 1795)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4256, 0.4716)
    """
    from statsmodels.stats.proportion import proportion_confint

    level = check_confidence(confidence)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = proportion_confint(k, np.where(n > 0, n, 1.0), alpha=1 - level,
                                       method="wilson")
    low = np.where(n > 0, np.clip(low, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(high, 0.0, 1.0), np.nan)
    return ProportionInterval(low, high, level)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95
                        ) -> DifferenceInterval:
    """Difference of two independent proportions with Newcombe's hybrid score interval.

    Parameters
    ----------
    k1, n1, k2, n2 : int
        Successes and trials in the two samples.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    DifferenceInterval
        ``difference``, ``low``, ``high`` (it unpacks in that order)
        ``k1/n1 - k2/n2`` and its interval; NaN when a sample is empty.

    Notes
    -----
    Method 10 of Newcombe (1998): with Wilson limits ``(l1, u1)`` and ``(l2, u2)``, the
    interval is ``d - sqrt((p1-l1)^2 + (u2-p2)^2)`` to ``d + sqrt((u1-p1)^2 + (p2-l2)^2)``.
    It is what ``statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb")``
    computes.

    Examples
    --------
    >>> d, lo, hi = newcombe_difference(805, 1795, 349, 1488)
    >>> round(d, 4), round(lo, 4), round(hi, 4)
    (0.2139, 0.1821, 0.245)
    """
    if n1 <= 0 or n2 <= 0:
        return DifferenceInterval(math.nan, math.nan, math.nan, check_confidence(confidence))
    p1, p2 = k1 / n1, k2 / n2
    (l1, l2), (u1, u2) = wilson_interval([k1, k2], [n1, n2], confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return DifferenceInterval(float(d), float(max(low, -1.0)), float(min(high, 1.0)),
                              check_confidence(confidence))
