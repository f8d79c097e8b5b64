"""Analytic sample sizes for reliability studies, to set beside the simulated ones.

The formulas here are the published closed forms; :mod:`riskeval.design` checks each of them
against a simulation of the study it sizes (see ``tests/test_samplesize.py`` and
``tests/test_design.py``).
"""

from __future__ import annotations

import math

from .errors import RiskevalError

__all__ = ["bonett_n", "walter_n"]


def bonett_n(icc: float, raters: int, width: float, confidence: float = 0.95) -> int:
    """Cases needed for an ICC confidence interval of expected width ``width`` (Bonett 2002).

    ``n = 8 z^2 (1 - rho)^2 (1 + (k - 1) rho)^2 / (k (k - 1) w^2) + 1``, rounded up, for the
    one-way ICC with ``k`` raters per case.

    References
    ----------
    Bonett, D. G. (2002). Sample size requirements for estimating intraclass correlations with
    desired precision. *Statistics in Medicine* 21(9), 1331-1335.
    """
    from scipy import stats

    if not 0 < icc < 1 or raters < 2 or not 0 < width < 2:
        raise RiskevalError("need 0 < icc < 1, raters >= 2 and 0 < width < 2")
    z = stats.norm.ppf(0.5 + confidence / 2)
    k = raters
    n = 8 * z * z * (1 - icc) ** 2 * (1 + (k - 1) * icc) ** 2 / (k * (k - 1) * width ** 2) + 1
    return math.ceil(n)


def walter_n(rho0: float, rho1: float, raters: int, *, alpha: float = 0.05,
             power: float = 0.8) -> int:
    """Cases needed to show an ICC exceeds ``rho0`` when it is ``rho1`` (Walter et al. 1998).

    One-sided test at level ``alpha`` with the given power, ``k`` raters per case:
    ``n = 1 + 2 (z_alpha + z_beta)^2 k / ((ln C0)^2 (k - 1))``, ``C0 = (1 + k theta0) /
    (1 + k theta1)``, ``theta = rho / (1 - rho)``; rounded up.

    References
    ----------
    Walter, S. D., Eliasziw, M. & Donner, A. (1998). Sample size and optimal designs for
    reliability studies. *Statistics in Medicine* 17(1), 101-110.
    """
    from scipy import stats

    if not (0 <= rho0 < rho1 < 1) or raters < 2:
        raise RiskevalError("need 0 <= rho0 < rho1 < 1 and raters >= 2")
    k = raters
    c0 = (1 + k * rho0 / (1 - rho0)) / (1 + k * rho1 / (1 - rho1))
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return math.ceil(1 + 2 * z * z * k / (math.log(c0) ** 2 * (k - 1)))
