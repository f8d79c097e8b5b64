"""Vectorised bootstrap of agreement coefficients.

A coefficient is bootstrapped through a *batched statistic*: a function ``stat(U, V)`` that
takes case multiplicities ``U`` (B x n) and rater multiplicities ``V`` (B x r, or ``None``)
and returns the B coefficient values. Every resample is then one row of a matrix, and a whole
batch of resamples is a few array operations: no Python loop per resample.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import check_choice, check_confidence, check_whole
from .._core.results import Result
from .._core.seeds import rng as make_rng
from ..errors import DegenerateDataWarning, RiskevalError
from ._kernel import deleted

BatchedStat = Callable[[np.ndarray, np.ndarray | None], np.ndarray]

CI_METHODS = ("analytic", "percentile", "bca", "none")
RESAMPLE = ("cases", "cases+raters")

# Cells per chunk of resamples processed at once (bounds memory, not a per-resample loop).
_CHUNK_CELLS = 4_000_000


def check_ci_options(ci: str | None, resample: str, n_boot: int, confidence: float) -> str:
    """Validate the shared interval options; return the normalised method name."""
    method = "none" if ci is None else str(ci).lower()
    if method not in CI_METHODS:
        check_choice(ci, "ci", CI_METHODS)
    check_choice(resample, "resample", RESAMPLE)
    check_confidence(confidence)
    if method in ("percentile", "bca"):
        try:
            check_whole(n_boot, "n_boot", least=100)
        except RiskevalError:
            raise RiskevalError(
                f"n_boot={n_boot!r}: a bootstrap interval needs a whole number of at least 100 "
                "resamples (2000 or more is usual)"
            ) from None
    return method


def _resampled(stat: BatchedStat, rng: np.random.Generator, n: int, m: int, n_boot: int,
               resample: str, width: int) -> np.ndarray:
    """``stat`` on ``n_boot`` resamples, drawn and evaluated a chunk at a time so that
    memory stays bounded.

    The draws are those of one ``multinomial(n, 1/n, size=n_boot)`` call for the cases
    followed, for ``"cases+raters"``, by one for the raters: drawing in chunks gives the same
    numbers, so the chunk size never changes a result. The rater draws come after all the
    case draws, so a second generator is first moved past them.
    """
    step = max(1, min(_CHUNK_CELLS // max(1, width), _CHUNK_CELLS // max(1, n + m)))
    sizes = [min(step, n_boot - start) for start in range(0, n_boot, step)]
    raters = None
    if resample == "cases+raters":
        raters = np.random.Generator(type(rng.bit_generator)())
        raters.bit_generator.state = rng.bit_generator.state
        for size in sizes:
            raters.multinomial(n, np.full(n, 1.0 / n), size=size)
    out = np.empty(n_boot)
    start = 0
    for size in sizes:
        U = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(float)
        V = (None if raters is None else
             raters.multinomial(m, np.full(m, 1.0 / m), size=size).astype(float))
        out[start:start + size] = stat(U, V)
        start += size
    if raters is not None:  # leave the caller's generator where one whole draw leaves it
        rng.bit_generator.state = raters.bit_generator.state
    return out


@dataclass(frozen=True)
class BootstrapInterval(Result):
    """A bootstrap confidence interval and what lies behind it (:func:`bootstrap_interval`).

    Attributes
    ----------
    estimate : float
        The statistic on the original data.
    ci : tuple of float
        ``(low, high)``; NaN when more than 10% of the resamples were undefined.
    method : str
        ``"percentile"`` or ``"bca"``.
    confidence : float
        Confidence level of ``ci``.
    n_boot : int
        Resamples drawn.
    n_boot_valid : int
        Resamples on which the statistic was finite.
    boot_sd : float
        Standard deviation of the valid resamples (NaN when the interval is).
    z0, acceleration : float or None
        BCa's bias correction and acceleration (``None`` for percentile intervals, and when
        the interval is NaN).

    Examples
    --------
    >>> r = BootstrapInterval(estimate=0.5, ci=(0.3, 0.7), method="percentile",
    ...                       confidence=0.95, n_boot=1000, n_boot_valid=1000, boot_sd=0.1)
    >>> r.to_frame().loc["estimate", "value"]
    0.5
    >>> r.info()
    {'boot_sd': 0.1, 'n_boot_valid': 1000}
    """

    estimate: float
    ci: tuple[float, float]
    method: str
    confidence: float
    n_boot: int
    n_boot_valid: int
    boot_sd: float
    z0: float | None = None
    acceleration: float | None = None

    @property
    def title(self) -> str:  # type: ignore[override]
        """What the interval is."""
        return (f"Bootstrap {self.method} interval ({100 * self.confidence:g}%, "
                f"{self.n_boot_valid} of {self.n_boot} resamples valid)")

    def info(self) -> dict[str, Any]:
        """``boot_sd``, ``n_boot_valid`` and, for a BCa interval, ``z0`` and
        ``acceleration``: what the agreement results carry in their ``extra``."""
        out: dict[str, Any] = {"boot_sd": self.boot_sd, "n_boot_valid": self.n_boot_valid}
        if self.z0 is not None:
            out.update({"z0": self.z0, "acceleration": self.acceleration})
        return out

    def to_frame(self) -> pd.DataFrame:
        """One column ``value`` indexed by estimate, ci_low, ci_high, boot_sd, n_boot_valid,
        n_boot (and z0, acceleration for BCa)."""
        rows = {"estimate": self.estimate, "ci_low": self.ci[0], "ci_high": self.ci[1],
                **self.info(), "n_boot": self.n_boot}
        return pd.DataFrame({"value": pd.Series(rows, dtype=object)})


def bootstrap_interval(
    stat: BatchedStat,
    estimate: float,
    n_cases: int,
    n_raters: int,
    *,
    n_boot: int = 2000,
    resample: str = "cases",
    method: str = "percentile",
    confidence: float = 0.95,
    seed: Any = None,
    width: int = 1,
) -> BootstrapInterval:
    """Percentile or BCa interval from ``n_boot`` resamples.

    Parameters
    ----------
    stat : callable
        Batched statistic ``stat(U, V) -> (B,)``.
    estimate : float
        The statistic on the original data.
    n_cases, n_raters : int
        Sizes of the two resampling dimensions.
    n_boot : int
        Number of resamples.
    resample : {"cases", "cases+raters"}
        Resample cases only (raters fixed), or cases and raters independently (two-way
        bootstrap, for generalising to other raters as well as other cases).
    method : {"percentile", "bca"}
        Interval type. BCa's acceleration comes from the leave-one-case-out jackknife.
    width : int
        Work per resample (cells), used only to size the chunks.

    confidence : float
        Confidence level, strictly between 0 and 1.
    seed : None, int, SeedSequence or Generator
        Seed of the resamples (:mod:`riskeval._core.seeds`); a Generator moves on by one
        whole set of draws.

    Returns
    -------
    BootstrapInterval
        ``ci`` (``(low, high)``, from the resamples where ``stat`` is finite; NaN, with a
        DegenerateDataWarning, when more than 10% of the resamples are not), ``boot_sd``
        (standard deviation of the resamples), ``n_boot_valid``, and for BCa the bias
        correction ``z0`` and ``acceleration``; ``info()`` gives the last ones as a dict.

    Examples
    --------
    The mean of 30 numbers, as a batched statistic of case multiplicities ``U``:

    >>> x = np.linspace(0.0, 1.0, 30)
    >>> def mean(U, V):
    ...     return U @ x / U.sum(axis=1)
    >>> res = bootstrap_interval(mean, 0.5, 30, 1, n_boot=500, seed=1)
    >>> [round(v, 2) for v in res.ci]
    [0.39, 0.61]
    >>> res.n_boot_valid
    500

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall,
    ch. 13-14 (percentile and BCa intervals).
    """
    rng = make_rng(seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = _resampled(stat, rng, n_cases, n_raters, n_boot, resample, width)
    ok = np.isfinite(theta)
    if ok.sum() < 0.9 * n_boot:
        warnings.warn(
            f"{n_boot - int(ok.sum())} of {n_boot} bootstrap resamples gave an undefined "
            "coefficient (e.g. every rating in one category, or a value outside the "
            "coefficient's range); the interval is NaN",
            DegenerateDataWarning,
            stacklevel=3,
        )
        return BootstrapInterval(float(estimate), (np.nan, np.nan), method, confidence, n_boot,
                                 int(ok.sum()), np.nan)
    theta = theta[ok]
    alpha = 1.0 - confidence
    common = {"estimate": float(estimate), "method": method, "confidence": confidence,
              "n_boot": n_boot, "n_boot_valid": int(ok.sum()),
              "boot_sd": float(theta.std(ddof=1))}
    if method == "percentile" or not np.isfinite(estimate):
        lo, hi = np.quantile(theta, [alpha / 2, 1 - alpha / 2])
        return BootstrapInterval(ci=(float(lo), float(hi)), **common)
    # BCa: bias correction from the share of resamples below the estimate (ties split) ...
    below = (theta < estimate).mean() + 0.5 * (theta == estimate).mean()
    below = np.clip(below, 1.0 / (2 * theta.size), 1 - 1.0 / (2 * theta.size))
    z0 = stats.norm.ppf(below)
    # ... and acceleration from the leave-one-case-out jackknife (as a batch of weights).
    with np.errstate(invalid="ignore", divide="ignore"):
        jack = deleted(stat, n_cases, n_raters, cases=True)
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack
    denom = 6.0 * (d**2).sum() ** 1.5
    a = float((d**3).sum() / denom) if denom > 0 else 0.0
    z = stats.norm.ppf([alpha / 2, 1 - alpha / 2])
    adj = stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    lo, hi = np.quantile(theta, adj)
    return BootstrapInterval(ci=(float(lo), float(hi)), z0=float(z0), acceleration=a, **common)
