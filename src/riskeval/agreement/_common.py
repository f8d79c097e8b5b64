"""Plumbing shared by every coefficient: input handling and turning a statistic into a result."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..data import WideRatings, as_ratings
from ..errors import DegenerateDataWarning
from ._bootstrap import BatchedStat, bootstrap_interval, check_ci_options
from ._result import AgreementResult


def prepare(data: Any, case: str | None, rater: str | None, rating: str | None,
            categories: Any, *, numeric: bool = False) -> WideRatings:
    """Normalise input (long frame, wide frame, array) to WideRatings."""
    return as_ratings(data, case, rater, rating, categories=categories, numeric=numeric)


def warn_degenerate(message: str) -> None:
    warnings.warn(message, DegenerateDataWarning, stacklevel=4)


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
) -> AgreementResult:
    """Point estimate from ``stat`` on the full data, then the requested interval.

    ``ci="analytic"`` uses ``estimate +/- t * se`` (Student t with ``df`` degrees of freedom,
    normal when ``df`` is None), truncated to [``lower``, ``upper``] (the coefficient's range)
    and labelled with ``se_method``;
    ``"percentile"``/``"bca"`` use the vectorised bootstrap.
    """
    method = check_ci_options(ci, resample, n_boot, confidence)
    if estimate is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            estimate = float(stat(np.ones((1, n_cases)), np.ones((1, n_raters)))[0])
    info: dict[str, Any] = dict(extra or {})
    label = method
    if method == "analytic":
        if se is None or not np.isfinite(se) or not np.isfinite(estimate):
            interval = (np.nan, np.nan)
        else:
            crit = stats.norm.ppf(0.5 + confidence / 2) if df is None else stats.t.ppf(
                0.5 + confidence / 2, df)
            lo, hi = estimate - crit * se, estimate + crit * se
            interval = (max(lo, lower) if lower is not None else lo,
                        min(hi, upper) if upper is not None else hi)
        label = f"{se_method}, normal" if df is None else f"{se_method}, t df={df:g}"
    elif method == "none":
        interval = (np.nan, np.nan)
    else:
        interval, boot = bootstrap_interval(
            stat, estimate, n_cases, n_raters, n_boot=n_boot, resample=resample,
            method=method, confidence=confidence, seed=seed, width=width,
        )
        info.update(boot)
        label = f"bootstrap {method} ({n_boot} x {resample})"
        se = None
    return AgreementResult(
        coefficient=name, estimate=estimate, ci=interval, se=se, confidence=confidence,
        ci_method=label, n_cases=n_cases, n_raters=n_raters, n_ratings=n_ratings,
        extra=info, per_category=per_category, references=references,
    )
