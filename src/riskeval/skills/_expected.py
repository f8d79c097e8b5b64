"""Expected reconviction under the skills model, by deterministic integration (no simulation).

Under :func:`riskeval.skills.simulate_skills` a supervisee with baseline risk ``b`` whose
officer has true skills ``R``, ``S`` and frailty ``F`` is reconvicted within the window with
probability ``1 - (1 - b) ** exp(h)``, ``h = log(hr_R) R + log(hr_S) S + log(hr_RS) R S + F``
(an exponential time to reconviction whose hazard gives probability ``b`` for an average
officer). With random allocation the share of an arm's supervisees reconvicted has the
expectation

    E[1 - (1 - b) ** exp(h)]

over ``b ~ Beta(m c, (1 - m) c)`` (clipped to ``[1e-6, 1 - 1e-6]`` as in the simulation),
``(R, S)`` standard bivariate normal with correlation ``skill_corr``, both shifted by the
arm's training shift, and ``F ~ N(0, frailty_sd^2)``. Two steps make it exact:

* over ``b``, ``E[(1 - b) ** lam] = B(a, b0 + lam) / B(a, b0) * (I_hi(a, b0 + lam) -
  I_lo(a, b0 + lam)) + P(b < lo) (1 - lo) ** lam + P(b > hi) (1 - hi) ** lam``, with ``a = m
  c``, ``b0 = (1 - m) c``, ``B`` the beta function and ``I`` the regularised incomplete beta
  function (the clipped mass sits at the clip points);
* given the relationship skill's standard normal part ``Z``, ``h`` is normal: ``S = shift +
  skill_corr Z + sqrt(1 - skill_corr^2) E`` with ``E`` independent, so ``h | Z`` has mean
  ``log(hr_R) R + (log(hr_S) + log(hr_RS) R) (shift + skill_corr Z)`` and variance
  ``(log(hr_S) + log(hr_RS) R)^2 (1 - skill_corr^2) + frailty_sd^2`` with ``R = Z + shift``.

What is left is a two-dimensional normal expectation (over ``Z`` and the standardised ``h |
Z``), done by Gauss-Hermite quadrature; the integrand is smooth and bounded, and 48 x 48
nodes reproduce adaptive quadrature (``scipy.integrate.quad``) to about 1e-15.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special, stats

from .._core.params import ParamSet
from .._core.results import SeriesResult
from ..errors import RiskevalError
from ._model import resolve_params

__all__ = ["expected_rates", "reconviction_rate"]

#: the clip of the baseline risk in :func:`riskeval.skills.simulate_skills`
_CLIP = (1e-6, 1 - 1e-6)


def _mean_survival(lam: np.ndarray, mean: float, concentration: float) -> np.ndarray:
    """``E[(1 - b) ** lam]`` for ``b`` Beta(mean * conc, (1 - mean) * conc), clipped."""
    a, b0 = mean * concentration, (1 - mean) * concentration
    lo, hi = _CLIP
    inside = np.exp(special.betaln(a, b0 + lam) - special.betaln(a, b0)) * (
        special.betainc(a, b0 + lam, hi) - special.betainc(a, b0 + lam, lo))
    return (inside + stats.beta.cdf(lo, a, b0) * (1 - lo) ** lam
            + stats.beta.sf(hi, a, b0) * (1 - hi) ** lam)


def _rate(p: ParamSet, shift: float, nodes: int) -> float:
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)
    log_r, log_s, log_rs = (math.log(p[k]) for k in
                            ("hr_relationship", "hr_structuring", "hr_interaction"))
    rho, sd_f = p["skill_corr"], p["frailty_sd"]
    z = x[:, None]
    r = z + shift
    slope = log_s + log_rs * r                      # coefficient of S given R
    mean = log_r * r + slope * (shift + rho * z)
    sd = np.sqrt(slope ** 2 * (1 - rho * rho) + sd_f ** 2)
    lam = np.exp(mean + sd * x[None, :])
    surv = _mean_survival(lam, p["risk_mean"], p["risk_concentration"])
    return float(1 - (w[:, None] * w[None, :] * surv).sum())


def _checked(params: ParamSet | Mapping[str, Any] | None, overrides: Mapping[str, Any]
             ) -> ParamSet:
    p = resolve_params(params).updated(dict(overrides))
    if p["allocation"] != "random":
        raise RiskevalError(f"allocation={p['allocation']!r}: the expected reconviction rates "
                            f"are computed for random allocation only (with 'risk' allocation "
                            f"a supervisee's risk depends on the officer; simulate instead)")
    if not -1 < p["skill_corr"] < 1:
        raise RiskevalError(f"skill_corr must be a correlation strictly between -1 and 1; got "
                            f"{p['skill_corr']!r}")
    if not 0 < p["risk_mean"] < 1:
        raise RiskevalError(f"risk_mean must be strictly between 0 and 1; got "
                            f"{p['risk_mean']!r}")
    return p


def reconviction_rate(params: ParamSet | Mapping[str, Any] | None = None, *,
                      trained: bool = False, nodes: int = 48, **overrides: Any) -> float:
    """Expected share of supervisees reconvicted within the window, for one arm.

    The exact expectation of the skills model (see the module notes): what the share
    reconvicted among the supervisees of untrained (``trained=False``) or trained officers
    averages to over simulated studies with random allocation.

    Parameters
    ----------
    params : ParamSet or mapping, optional
        Skills-model parameters (default :func:`riskeval.skills.parameters`); ``overrides``
        replace single values.
    trained : bool
        The arm: officers whose skills are shifted by ``training_shift`` or not.
    nodes : int
        Gauss-Hermite nodes per dimension.

    Returns
    -------
    float

    Examples
    --------
    >>> round(reconviction_rate(), 4)
    0.4004
    >>> from riskeval.skills import training_meta
    >>> round(reconviction_rate(training_meta(), trained=True), 4)
    0.3109
    """
    p = _checked(params, overrides)
    return _rate(p, p["training_shift"] if trained else 0.0, nodes)


def expected_rates(params: ParamSet | Mapping[str, Any] | None = None,
                   **overrides: Any) -> SeriesResult:
    """Expected reconviction of untrained and trained officers' supervisees, exactly.

    Returns
    -------
    SeriesResult
        ``untrained`` and ``trained`` (expected shares reconvicted within the window, see
        :func:`reconviction_rate`), ``difference`` (trained minus untrained) and
        ``odds_ratio`` (odds of the trained arm over the untrained arm's, the direction of
        Lee et al.'s 0.48; Chadwick, DeWolf & Serin's 1.48 is its reciprocal), the odds
        ratio of the expected rates, i.e. of the population (a Series named ``expected``,
        with a title).

    Examples
    --------
    >>> from riskeval.skills import stics_bc
    >>> r = expected_rates(stics_bc())
    >>> round(float(r["untrained"]), 3), round(float(r["trained"]), 3)
    (0.614, 0.43)
    >>> round(float(r["odds_ratio"]), 3)
    0.474
    """
    p = _checked(params, overrides)
    u = _rate(p, 0.0, 48)
    t = _rate(p, p["training_shift"], 48)
    return SeriesResult({"untrained": u, "trained": t, "difference": t - u,
                         "odds_ratio": (t / (1 - t)) / (u / (1 - u))}, name="expected",
                        title="expected reconviction within the window, by arm")
