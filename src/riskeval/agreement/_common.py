"""Plumbing shared by every coefficient: input handling and turning a statistic into a result."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.seeds import check_seed
from ..data.ratings import WideRatings, as_ratings
from ..errors import DegenerateDataWarning
from ._bootstrap import BatchedStat, bootstrap_interval, check_ci_options
from ._result import AgreementResult
from ._twoway import twoway_interval, twoway_jackknife


def prepare(data: Any, case: str | None, rater: str | None, rating: str | None,
            categories: Any, *, numeric: bool = False) -> WideRatings:
    """Normalise input (long frame, wide frame, array) to WideRatings."""
    return as_ratings(data, case, rater, rating, categories=categories, numeric=numeric)


# Values this close outside a coefficient's range are rounding error, not degenerate data.
RANGE_TOL = 1e-9


def warn_degenerate(message: str) -> None:
    warnings.warn(message, DegenerateDataWarning, stacklevel=4)


def in_range(estimate: float, lower: float | None, upper: float | None,
             why: str) -> tuple[float, str]:
    """The estimate if it lies in [``lower``, ``upper``], else NaN with a warning saying why.

    A value outside the range by no more than rounding error is moved onto the bound.
    Returns the estimate and the note (empty when the estimate is reported).
    """
    lo = -np.inf if lower is None else lower
    hi = np.inf if upper is None else upper
    if not np.isfinite(estimate) or lo - RANGE_TOL <= estimate <= hi + RANGE_TOL:
        return float(np.clip(estimate, lo, hi)) if np.isfinite(estimate) else estimate, ""
    warn_degenerate(why)
    return np.nan, why


def bounded(stat: BatchedStat, lower: float | None, upper: float | None) -> BatchedStat:
    """``stat`` with values outside [``lower``, ``upper``] made NaN (undefined resamples).

    A bootstrap resample is scored by the same rule as the data: a value outside the
    coefficient's range is not reported, so it does not enter an interval either.
    """
    lo = -np.inf if lower is None else lower
    hi = np.inf if upper is None else upper

    def clip(v: np.ndarray) -> np.ndarray:
        ok = (v >= lo - RANGE_TOL) & (v <= hi + RANGE_TOL)
        return np.where(ok, np.clip(v, lo, hi), np.nan)

    def inner(U: np.ndarray, V: np.ndarray | None) -> np.ndarray:
        return clip(stat(U, V))
    if hasattr(stat, "case_deleted"):  # the statistic's own leave-one-case-out values
        inner.case_deleted = lambda: clip(stat.case_deleted())  # type: ignore[attr-defined]
    return inner


def checked_interval(name: str, estimate: float, interval: tuple[float, float],
                     lower: float | None, upper: float | None, *, method: str,
                     why_nan: str = "its limits are undefined on these data",
                     warned: bool = False) -> tuple[tuple[float, float], str]:
    """An interval inside [``lower``, ``upper``] that contains the estimate, or NaN limits.

    Limits beyond the coefficient's range are moved onto it (the coefficient cannot lie
    there). NaN limits, inverted limits or limits that leave out the estimate give
    ``(nan, nan)`` and a DegenerateDataWarning; ``why_nan`` explains NaN limits (``warned``:
    that has been warned about already). No interval is reported for a NaN estimate: the
    estimate's own warning explains it. Returns the interval and its note.
    """
    if not np.isfinite(estimate):
        return (np.nan, np.nan), ""
    lo, hi = (float(x) for x in interval)
    lo = float(np.clip(lo, -np.inf if lower is None else lower, np.inf))
    hi = float(np.clip(hi, -np.inf, np.inf if upper is None else upper))
    if np.isnan(lo) or np.isnan(hi):
        note = f"no {method} interval for {name}: {why_nan}"
        if warned:
            return (np.nan, np.nan), note
    elif lo - RANGE_TOL <= estimate <= hi + RANGE_TOL:
        return (min(lo, estimate), max(hi, estimate)), ""
    else:
        note = (f"the {method} interval of {name} [{lo:.4g}, {hi:.4g}] does not contain the "
                f"estimate {estimate:.4g} on these data; the interval is reported as NaN")
    warn_degenerate(note)
    return (np.nan, np.nan), note


@functools.lru_cache(maxsize=1024)
def _quantile(p: float, df: float | None) -> float:
    """The normal (``df`` None) or Student t quantile: the coefficients of one table share
    their degrees of freedom, and each quantile is computed once."""
    return stats.norm.ppf(p) if df is None else stats.t.ppf(p, df)


def finish(
    name: str,
    stat: BatchedStat,
    *,
    n_cases: int,
    n_raters: int,
    n_ratings: int,
    se: float | None,
    ci: str | None,
    confidence: float,
    n_boot: int,
    resample: str,
    seed: Any,
    width: int,
    df: float | None = None,
    upper: float | None = 1.0,
    lower: float | None = -1.0,
    extra: Mapping[str, Any] | None = None,
    per_category: pd.DataFrame | None = None,
    references: tuple[str, ...] = (),
    estimate: float | None = None,
    se_method: str = "linearised SE",
    note: str = "",
) -> AgreementResult:
    """Point estimate from ``stat`` on the full data, then the requested interval.

    ``ci="analytic"`` uses ``estimate +/- t * se`` (Student t with ``df`` degrees of freedom,
    normal when ``df`` is None), truncated to [``lower``, ``upper``] (the coefficient's range)
    and labelled with ``se_method``;
    With ``resample="cases+raters"`` (officers like these) the analytic interval uses the
    two-way jackknife SE over cases and raters instead of ``se``, around the case jackknife's
    bias-corrected estimate, on Fisher's z scale with Satterthwaite's degrees of freedom
    (:mod:`riskeval.agreement._twoway`);
    ``"percentile"``/``"bca"`` use the vectorised bootstrap, in which a resample whose value
    falls outside [``lower``, ``upper``] counts as undefined. An interval that does not
    contain the estimate is reported as NaN with a warning (:func:`checked_interval`), and
    a NaN estimate has a NaN interval. ``note`` says why the estimate is NaN, if it is.
    """
    method = check_ci_options(ci, resample, n_boot, confidence)
    check_seed(seed)  # a bad seed is an error whatever the interval method
    if estimate is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            estimate = float(stat(np.ones((1, n_cases)), np.ones((1, n_raters)))[0])
    info: dict[str, Any] = dict(extra or {})
    label = method
    why_nan = "its limits are undefined on these data"
    warned = False
    twoway = method == "analytic" and resample == "cases+raters"
    if twoway:
        # officers like these: the two-way jackknife over cases and raters
        tw = twoway_jackknife(stat, n_cases, n_raters, estimate)
        info.update({k: v for k, v in tw.items() if k != "se"})
        se, df = tw["se"], tw["df"]
        se_method = "two-way jackknife SE (cases and raters)"
    if twoway and np.isfinite(se) and np.isfinite(estimate):
        label = f"{se_method}, bias-corrected, Fisher z, t df={df:.1f}"
        interval = twoway_interval(estimate, tw, n_ratings / max(n_cases, 1), confidence)
        why_nan = "its limits are undefined on these data"
    elif method == "analytic":
        label = (f"{se_method}, normal" if df is None else f"{se_method}, t df={df:g}"
                 if np.isfinite(df) else se_method)
        if se is None or not np.isfinite(se) or not np.isfinite(estimate):
            interval = (np.nan, np.nan)
            why_nan = (f"the {se_method} is undefined on these data (it needs at least 3 "
                       f"cases and 3 raters)" if resample == "cases+raters" else
                       f"the {se_method} is undefined on these data (too few cases)")
        else:
            crit = _quantile(0.5 + confidence / 2, df)
            interval = (estimate - crit * se, estimate + crit * se)
            why_nan = f"the t quantile is undefined with df={df} (too few cases)"
    elif method == "none" or not np.isfinite(estimate):
        interval = (np.nan, np.nan)
    else:
        boot = bootstrap_interval(
            bounded(stat, lower, upper), estimate, n_cases, n_raters, n_boot=n_boot,
            resample=resample, method=method, confidence=confidence, seed=seed, width=width,
        )
        interval = boot.ci
        info.update(boot.info())
        label = f"bootstrap {method} ({n_boot} x {resample})"
        se = None
        why_nan = (f"{n_boot - boot.n_boot_valid} of {n_boot} resamples gave an undefined "
                   "coefficient")
        warned = True  # by bootstrap_interval
    if method != "none":
        interval, ci_note = checked_interval(name, estimate, interval, lower, upper,
                                             method=label, why_nan=why_nan, warned=warned)
        note = "; ".join(x for x in (note, ci_note) if x)
    return AgreementResult(
        coefficient=name, estimate=estimate, ci=interval, se=se, confidence=confidence,
        ci_method=label, n_cases=n_cases, n_raters=n_raters, n_ratings=n_ratings,
        extra=info, per_category=per_category, references=references, note=note,
    )
