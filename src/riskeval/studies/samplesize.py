"""Analytic sample sizes for reliability studies, to set beside the simulated ones.

The formulas here are the published closed forms; :mod:`riskeval.studies` checks each of them
against a simulation of the study it sizes (see ``tests/test_samplesize.py`` and
``tests/test_design.py``).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from .._core.checks import check_confidence, check_whole
from ..errors import RiskevalError, RiskevalTypeError

__all__ = ["bonett_n", "kappa_n", "walter_n", "zou_n"]


def _real(name: str, value: Any) -> float:
    """``value`` as a float; anything that is not a real number is a type error naming it."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise RiskevalTypeError(f"{name} must be a number; got {value!r}")
    return float(value)


def _raters(value: Any) -> int:
    """The number of ratings per case: a whole number of at least 2 (3.0 is 3)."""
    _real("raters", value)          # text is a type error
    return check_whole(value, "raters", least=2)


def _confidence(value: Any) -> float:
    _real("confidence", value)      # text is a type error
    return check_confidence(value)


def _icc_width(icc: Any, width: Any) -> tuple[float, float]:
    rho, w = _real("icc", icc), _real("width", width)
    if not 0 < rho < 1:
        raise RiskevalError(f"icc must be in (0, 1); got icc={icc!r}")
    if not 0 < w < 2:
        raise RiskevalError(f"width (the full width of the interval) must be in (0, 2); got "
                            f"width={width!r}")
    return rho, w


#: Bonett (2002) adds ``5 rho`` to his approximation for two raters from this ICC up.
BONETT_K2_FROM = 0.7


def bonett_n(icc: float, raters: int, width: float, confidence: float = 0.95) -> int:
    """Cases needed for an ICC confidence interval of expected width ``width`` (Bonett 2002).

    Bonett's approximation (his equation 3) for the one-way ICC with ``k`` ratings per case,
    ``z = z_{(1 + confidence) / 2}``::

        n0 = 8 z^2 (1 - rho)^2 (1 + (k - 1) rho)^2 / (k (k - 1) w^2) + 1

    For two raters and ``rho >= 0.7`` the approximation is too small, and Bonett recommends
    ``n0 + 5 rho``, which this function adds (as R's ``presize::prec_icc`` does). The result
    is rounded up. For example ``rho = 0.8``, ``k = 2``, ``w = 0.2``: ``n0 = 50.8`` and
    ``n = 50.8 + 4 = 54.8``, i.e. 55 cases (51 without the adjustment, whose intervals
    average about 0.21 wide; ``tests/test_issue14_skills_design.py`` checks the widths by
    simulation).

    Parameters
    ----------
    icc : float
        Planning value of the ICC, in (0, 1).
    raters : int
        Ratings per case ``k``, a whole number of at least 2.
    width : float
        Target expected **full** width of the interval (upper minus lower limit), in (0, 2).
    confidence : float
        Confidence level, a proportion in (0, 1) (0.95, not 95).

    Returns
    -------
    int
        Number of cases.

    References
    ----------
    Bonett, D. G. (2002). Sample size requirements for estimating intraclass correlations with
    desired precision. *Statistics in Medicine* 21(9), 1331-1335.

    Examples
    --------
    >>> bonett_n(0.6, 3, 0.2)
    101
    """
    from scipy import stats

    rho, w = _icc_width(icc, width)
    k = _raters(raters)
    z = stats.norm.ppf(0.5 + _confidence(confidence) / 2)
    n = 8 * z * z * (1 - rho) ** 2 * (1 + (k - 1) * rho) ** 2 / (k * (k - 1) * w ** 2) + 1
    if k == 2 and rho >= BONETT_K2_FROM:
        n += 5 * rho
    return math.ceil(n)


def walter_n(rho0: float, rho1: float, raters: int, *, alpha: float = 0.05,
             power: float = 0.8) -> int:
    """Cases needed to show an ICC exceeds ``rho0`` when it is ``rho1`` (Walter et al. 1998).

    One-sided test at level ``alpha`` with the given power, ``k`` raters per case:
    ``n = 1 + 2 (z_alpha + z_beta)^2 k / ((ln C0)^2 (k - 1))``, ``C0 = (1 + k theta0) /
    (1 + k theta1)``, ``theta = rho / (1 - rho)``; rounded up.

    Parameters
    ----------
    rho0, rho1 : float
        ICC under the null and the alternative, ``0 <= rho0 < rho1 < 1``.
    raters : int
        Ratings per case ``k``, a whole number of at least 2.
    alpha : float
        Level of the one-sided test, in (0, 1).
    power : float
        Power at ``rho1``, in ``(alpha, 1)``. The test rejects with probability ``alpha`` when
        the ICC is ``rho0`` and more often as it grows, so a power at or below ``alpha`` asks
        for nothing (and the formula, which squares ``z_alpha + z_beta``, would return a
        meaningless size); a power of 1 needs infinitely many cases.

    References
    ----------
    Walter, S. D., Eliasziw, M. & Donner, A. (1998). Sample size and optimal designs for
    reliability studies. *Statistics in Medicine* 17(1), 101-110.

    Examples
    --------
    >>> walter_n(0.4, 0.6, 3)
    52
    """
    from scipy import stats

    r0, r1 = _real("rho0", rho0), _real("rho1", rho1)
    if not 0 <= r0 < r1 < 1:
        raise RiskevalError(f"need 0 <= rho0 < rho1 < 1; got rho0={rho0!r}, rho1={rho1!r}")
    k = _raters(raters)
    a, pw = _real("alpha", alpha), _real("power", power)
    if not 0 < a < 1:
        raise RiskevalError(f"alpha must be in (0, 1); got alpha={alpha!r}")
    if not a < pw < 1:
        raise RiskevalError(f"power must be in (alpha, 1) = ({a:.4g}, 1): a one-sided test at "
                            f"level alpha already rejects with probability alpha when the ICC "
                            f"is rho0; got power={power!r}")
    c0 = (1 + k * r0 / (1 - r0)) / (1 + k * r1 / (1 - r1))
    z = stats.norm.ppf(1 - a) + stats.norm.ppf(pw)
    return math.ceil(1 + 2 * z * z * k / (math.log(c0) ** 2 * (k - 1)))


def zou_n(icc: float, raters: int, width: float, *, confidence: float = 0.95,
          assurance: float | None = None) -> int:
    """Cases needed for a one-way ICC interval of a given full width, with assurance (Zou 2012).

    The number of cases ``n`` (each rated ``k`` times) so that the ``confidence`` interval for
    the one-way ICC is at most ``width`` wide with probability ``assurance``. With
    ``A = (1 - rho)(1 + (k - 1) rho)`` and ``B = k - 2 + 2 rho - 2 k rho`` (the derivative of
    ``A`` in ``rho``), ``z = z_{(1 + confidence) / 2}`` and ``z_b = z_{assurance}``::

        n = 1 + 2 (z A + sqrt(z^2 A^2 + 2 w z z_b A |B|))^2 / (k (k - 1) w^2)

    rounded up, ``w`` the full width. Behind it: the interval is ``2 z sqrt(2 / (k (k - 1)
    (n - 1))) A(rho_hat)`` wide (Fisher's large-sample variance of the ICC, at the estimate),
    and ``n`` makes the ``assurance`` quantile of that width, with ``A(rho_hat)`` linearised
    about ``rho``, equal to ``w``.

    Parameters
    ----------
    icc : float
        Planning value of the one-way ICC, in (0, 1).
    raters : int
        Ratings per case ``k`` (at least 2).
    width : float
        Target **full** width of the interval, upper limit minus lower limit (as in
        :func:`bonett_n`), in (0, 2). A half-width (margin) ``omega`` is ``width = 2 omega``;
        in ``omega`` the formula reads ``n = 1 + (z A + sqrt(z^2 A^2 + 4 omega z z_b A |B|))^2
        / (2 k (k - 1) omega^2)``.
    confidence : float
        Confidence level of the interval, in (0, 1).
    assurance : float, optional
        Probability, in [0.5, 1), that the realised width is at most ``width``. ``None``
        (or 0.5) sizes for the *expected* width: ``z_b = 0`` and the formula is Bonett's
        (2002) approximation, which gives the target width only about half the time.
        :func:`bonett_n` adds Bonett's own ``5 rho`` for two raters and ``rho >= 0.7``, where
        the approximation is too small; Zou's formula has no such term, so for those designs
        prefer :func:`bonett_n` for the expected width.

    Returns
    -------
    int
        Number of cases.

    Notes
    -----
    Where ``B = 0`` (``rho = (k - 2) / (2 (k - 1))``) the width does not change with the
    estimate to first order, and the assurance adds nothing. The formula approximates the
    exact F-based interval (McGraw & Wong 1996) that :func:`riskeval.agreement.icc` reports;
    ``tests/test_samplesize.py`` checks both the expected width and the assurance by
    simulating the study.

    References
    ----------
    Zou, G. Y. (2012). Sample size formulas for estimating intraclass correlation coefficients
    with precision and assurance. *Statistics in Medicine* 31(29), 3972-3981.

    Bonett, D. G. (2002). Sample size requirements for estimating intraclass correlations with
    desired precision. *Statistics in Medicine* 21(9), 1331-1335.

    Examples
    --------
    >>> zou_n(0.6, 3, 0.2), zou_n(0.6, 3, 0.2, assurance=0.8)
    (101, 114)
    """
    from scipy import stats

    rho, width = _icc_width(icc, width)
    k = _raters(raters)
    confidence = _confidence(confidence)
    if assurance is not None and not 0.5 <= _real("assurance", assurance) < 1:
        raise RiskevalError(f"assurance must be in [0.5, 1) or None; got assurance={assurance!r}")
    z = stats.norm.ppf(0.5 + confidence / 2)
    z_b = 0.0 if assurance is None else stats.norm.ppf(assurance)
    a = (1 - rho) * (1 + (k - 1) * rho)
    b = abs(k - 2 + 2 * rho - 2 * k * rho)
    root = z * a + math.sqrt(z * z * a * a + 2 * width * z * z_b * a * b)
    return math.ceil(1 + 2 * root * root / (k * (k - 1) * width ** 2))


def _kappa_cells(kappa: float, prevalence: float) -> tuple[float, float, float]:
    """Common-correlation model: P(both 1), P(discordant), P(both 0) for two raters."""
    pq = prevalence * (1 - prevalence)
    return (prevalence ** 2 + kappa * pq, 2 * (1 - kappa) * pq,
            (1 - prevalence) ** 2 + kappa * pq)


def kappa_n(kappa0: float, kappa1: float, prevalence: float, *, alpha: float = 0.05,
            power: float = 0.8, sides: int = 2) -> int:
    """Cases to test kappa = ``kappa0`` when it is ``kappa1``: two raters, binary rating.

    Donner & Eliasziw's (1992) goodness-of-fit approach. Under the common-correlation model
    with trait prevalence ``pi`` the cells have probabilities ``P_1(kappa) = pi^2 + kappa
    pi (1 - pi)`` (both positive), ``P_2(kappa) = 2 (1 - kappa) pi (1 - pi)`` (discordant)
    and ``P_3(kappa) = (1 - pi)^2 + kappa pi (1 - pi)`` (both negative), and::

        n = (z_{1 - alpha / sides} + z_{power})^2
            / sum_l (P_l(kappa1) - P_l(kappa0))^2 / P_l(kappa0)

    rounded up. The denominator times ``n`` is the non-centrality of the 1-df goodness-of-fit
    chi-square under ``kappa1``.

    Parameters
    ----------
    kappa0, kappa1 : float
        Kappa under the null and the alternative hypotheses (different). Each must leave all
        three cell probabilities positive: ``kappa < 1`` and ``kappa > -min(pi / (1 - pi),
        (1 - pi) / pi)``.
    prevalence : float
        Proportion ``pi`` of positive ratings, in (0, 1), the same for both raters.
    alpha : float
        Significance level, in (0, 1).
    power : float
        Power at ``kappa1``; must exceed ``alpha / sides``.
    sides : {2, 1}
        2: the 1-df goodness-of-fit chi-square test, which is two-sided (as in the R package
        kappaSize, ``PowerBinary``). 1: the one-sided test in the direction of ``kappa1``,
        using the signed root of the statistic.

    Returns
    -------
    int
        Number of cases (pairs of ratings).

    References
    ----------
    Donner, A. & Eliasziw, M. (1992). A goodness-of-fit approach to inference procedures for
    the kappa statistic: confidence interval construction, significance-testing and sample
    size estimation. *Statistics in Medicine* 11(11), 1511-1519.

    Examples
    --------
    >>> kappa_n(0.4, 0.6, 0.3)
    191
    """
    from scipy import stats

    if not 0 < prevalence < 1:
        raise RiskevalError(f"prevalence must be in (0, 1); got prevalence={prevalence!r}")
    low = -min(prevalence / (1 - prevalence), (1 - prevalence) / prevalence)
    for name, value in (("kappa0", kappa0), ("kappa1", kappa1)):
        if not low < value < 1:
            raise RiskevalError(f"{name} must be in ({low:.4g}, 1) at prevalence={prevalence!r}"
                                f" (every cell probability positive); got {name}={value!r}")
    if kappa0 == kappa1:
        raise RiskevalError(f"kappa1 must differ from kappa0; got kappa0=kappa1={kappa0!r}")
    if sides not in (1, 2):
        raise RiskevalError(f"sides must be 1 or 2; got sides={sides!r}")
    if not 0 < alpha < 1:
        raise RiskevalError(f"alpha must be in (0, 1); got alpha={alpha!r}")
    if not alpha / sides < power < 1:
        raise RiskevalError(f"power must be in (alpha / sides, 1) = ({alpha / sides:.4g}, 1); "
                            f"got power={power!r}")
    null = _kappa_cells(kappa0, prevalence)
    alt = _kappa_cells(kappa1, prevalence)
    effect = sum((p1 - p0) ** 2 / p0 for p0, p1 in zip(null, alt, strict=True))
    z = stats.norm.ppf(1 - alpha / sides) + stats.norm.ppf(power)
    return math.ceil(z * z / effect)
