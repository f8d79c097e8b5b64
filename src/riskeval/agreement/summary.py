"""Every applicable agreement coefficient for one ratings table, as one tidy DataFrame."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import check_choice
from ..errors import RiskevalError, option
from ._common import prepare
from ._result import EstimatesTable
from .categorical import (
    _brennan_prediger,
    _Categorical,
    _fleiss_kappa,
    _gwet_ac,
    _krippendorff_alpha,
    _percent,
)
from .cohen import cohen_kappa
from .icc import icc

__all__ = ["agreement_summary"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def agreement_summary(
    data: Any, case: str | None = None, rater: str | None = None, rating: str | None = None,
    *, categories: Any = None, level: str = "ordinal", confidence: float = 0.95,
    weights: str = "quadratic", resample: str = "cases",
) -> EstimatesTable:
    """All standard coefficients that suit the level of measurement, with their intervals.

    Parameters
    ----------
    data, case, rater, rating, categories
        As for every agreement function.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Nominal: percent agreement, Fleiss' kappa, Gwet's AC1, Brennan-Prediger, Krippendorff's
        alpha (and Cohen's kappa for two raters). Ordinal adds the weighted coefficients
        (``weights``), ordinal alpha and the ICCs on the category scores. Interval and ratio
        give the ICCs and alpha at that level (plus the categorical coefficients when the
        ratings take at most 20 distinct values).
    confidence : float
        Confidence level of every interval (all analytic, so the table is deterministic).
    weights : str
        Weights for the weighted coefficients at ordinal level and above.
    resample : {"cases", "cases+raters"}
        Whom the intervals of the chance-corrected coefficients generalise to: *these
        officers* (``"cases"``, the leave-one-case-out jackknife) or *officers like these*
        (``"cases+raters"``, the two-way jackknife over cases and officers). Cohen's kappa
        (two raters) always treats its two raters as fixed; the ICC rows are as their
        forms define them (ICC2 and ICC2k generalise to other raters, ICC3 does not).

    Returns
    -------
    EstimatesTable
        A DataFrame with a title and the result protocol (its ``summary()`` is the printed
        table with numbered notes), one row per coefficient:
        ``estimate, se, ci_low, ci_high, ci_method, n_cases,
        n_raters, n_ratings, note``. A coefficient that is not defined on the data (or whose
        interval is not) has NaN there and the reason in ``note``, which also carries the
        number of incomplete cases the ICCs dropped.

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> table = rv.agreement_summary(ratings, "vignette", "officer", "rosh")
    >>> table.shape
    (11, 9)
    >>> round(float(table.loc["Fleiss' kappa", "estimate"]), 3)
    0.366
    >>> print(table.summary().splitlines()[0])
    Agreement coefficients (ordinal level, 95% intervals)
    """
    check_choice(level, "level", LEVELS)
    wide = prepare(data, case, rater, rating, categories, numeric=level in ("interval", "ratio"))
    if level != "nominal" and not wide.ordered:
        raise RiskevalError(
            f"level={level!r} needs ordered categories, but the ratings are labels with no "
            f"declared order; pass {option('categories')} (lowest first) or "
            f"{option('level', 'nominal')}"
        )
    n_distinct = np.unique(wide.entries()[2]).size
    categorical = level in ("nominal", "ordinal") or n_distinct <= 20
    fixed = {"confidence": confidence}
    # the interval options of every coefficient: analytic, deterministic
    opts = (confidence, "analytic", 2000, resample, None)
    results = []
    state = None   # the coded table, built once and shared by the coefficients
    if categorical:
        state = _Categorical(wide, None, None, None, None, None)
        results += [_percent(state, *opts), _fleiss_kappa(state, *opts),
                    _gwet_ac(state, *opts), _brennan_prediger(state, *opts)]
        if wide.n_raters == 2:
            results.append(cohen_kappa(wide, **fixed))
        if level != "nominal":
            weighted = state.reweighted(weights)
            results += [_gwet_ac(weighted, *opts), _brennan_prediger(weighted, *opts)]
            if wide.n_raters == 2:
                results.append(cohen_kappa(wide, weights=weights, **fixed))
    rows = [_row(r, "" if r.extra.get("weights", "identity") == "identity"
                 else f" ({r.extra['weights']} weights)") for r in results]
    alpha_level = level if level != "ordinal" or categorical else "interval"
    rows.append(_row(_krippendorff_alpha(wide, alpha_level, *opts, state=state),
                     f" ({alpha_level})"))
    if level != "nominal":
        try:
            res = icc(wide, **fixed)
        except RiskevalError as exc:  # e.g. fewer than two complete cases
            rows.append({"coefficient": "ICC", "estimate": np.nan, "note": str(exc)})
        else:
            table = res.table
            at = {form: i for i, form in enumerate(table.index)}
            description, value, low, high = (table[c].to_numpy() for c in (
                "description", "ICC", "ci_low", "ci_high"))
            for form in ("ICC1", "ICC2", "ICC3", "ICC2k"):
                i = at[form]
                rows.append({
                    "coefficient": f"{form} ({description[i]})",
                    "estimate": value[i], "se": np.nan,
                    "ci_low": low[i], "ci_high": high[i],
                    "ci_method": "exact F (McGraw & Wong 1996)", "n_cases": res.n_cases,
                    "n_raters": res.n_raters, "n_ratings": res.n_cases * res.n_raters,
                    "note": "; ".join(x for x in (
                        res.notes.get(form, ""),
                        f"{res.n_dropped} incomplete cases dropped" if res.n_dropped else "",
                    ) if x),
                })
    out = pd.DataFrame(rows).set_index("coefficient")
    out = out.reindex(columns=["estimate", "se", "ci_low", "ci_high", "ci_method", "n_cases",
                               "n_raters", "n_ratings", "note"])
    return EstimatesTable(out, confidence=confidence,
                          title=f"Agreement coefficients ({level} level, "
                                f"{100 * confidence:g}% intervals)")


def _row(result: Any, suffix: str) -> dict[str, Any]:
    """The result's row of the table (its ``to_frame()`` row, less the confidence)."""
    return {
        "coefficient": f"{result.coefficient}{suffix}",
        "estimate": result.estimate,
        "se": np.nan if result.se is None else float(result.se),
        "ci_low": result.ci[0], "ci_high": result.ci[1], "ci_method": result.ci_method,
        "n_cases": result.n_cases, "n_raters": result.n_raters,
        "n_ratings": result.n_ratings,
        "note": result.note,  # why the estimate or its interval is NaN, if it is
    }
