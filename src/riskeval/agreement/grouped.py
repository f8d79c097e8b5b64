"""The same coefficient for each office, cohort or other group, in one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import check_columns, check_whole
from .._core.seeds import spawn
from ..data.ratings import Ratings, _validate, columns_of
from ..errors import RiskevalError, RiskevalTypeError
from ._result import EstimatesTable

__all__ = ["by_group"]


def by_group(
    coefficient: Callable[..., Any],
    data: pd.DataFrame | Ratings,
    *,
    group: str | list[str],
    case: str | None = None,
    rater: str | None = None,
    rating: str | None = None,
    categories: Any = None,
    seed: Any = None,
    min_raters: int = 2,
    **options: Any,
) -> EstimatesTable:
    """Compute one agreement coefficient separately within each group.

    Parameters
    ----------
    coefficient : callable
        Any riskeval agreement function, e.g. :func:`~riskeval.agreement.fleiss_kappa`.
    data : pandas.DataFrame or riskeval.Ratings
        Long ratings table (checked ratings are not checked again, group by group).
    group : str or list of str
        Grouping column(s), e.g. ``"office"``.
    case, rater, rating : str
        Column names (for :class:`riskeval.Ratings`, by default its own).
    categories : sequence or str, optional
        Ordered categories, declared once for every group.
    seed : None, int, SeedSequence or Generator, optional
        Seed for bootstrap intervals; each group, in sorted order, gets its own independent
        child stream (:func:`riskeval._core.seeds.spawn`), so the table does not depend on
        the order of the rows. A SeedSequence is not consumed: the same one gives the same
        table every time.
    min_raters : int
        A whole number (a group always needs at least two raters). Groups with fewer
        raters, fewer than two cases, or raters who share no case are reported with NaN and a
        ``note`` instead of raising.
    **options
        Passed to ``coefficient`` (``level=``, ``weights=``, ``ci=``...).

    Returns
    -------
    EstimatesTable
        A DataFrame with a title and the result protocol (its ``summary()`` prints one line
        per group with its interval and numbered notes): one row per group: the group
        key(s), ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``n_cases``, ``n_raters``, ``n_ratings``, ``ci_method`` and ``note`` (too few raters
        or cases, raters who share no case, or why the coefficient or its interval is NaN in
        that group).

    Notes
    -----
    Each group's rows are checked on their own: a (case, rater) pair must appear once
    *within* a group. So officers numbered 1, 2, 3... within each office are distinct
    officers when ``group`` is the office (as ``office=`` makes them elsewhere), and an
    officer who rated the same vignettes in two cohorts is counted in each cohort.

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> per = rv.by_group(rv.fleiss_kappa, ratings, group="office", case="vignette",
    ...                   rater="officer", rating="rosh")
    >>> per["office"].tolist()
    ['Central', 'Coast', 'North']
    >>> per["estimate"].round(3).tolist()
    [0.46, 0.462, 0.443]
    >>> print(per.summary().splitlines()[0])
    Fleiss' kappa by office
    """
    if not isinstance(data, pd.DataFrame | Ratings):
        raise RiskevalTypeError(
            f"by_group needs a long pandas DataFrame of ratings with the group column(s) (or "
            f"riskeval.Ratings), got {type(data).__name__}"
        )
    min_raters = check_whole(min_raters, "min_raters", least=1)
    groups = [group] if isinstance(group, str) else list(group)
    checked = data
    data, cols = columns_of(data, ("case", "rater", "rating"), case=case, rater=rater,
                            rating=rating)
    case, rater, rating = cols["case"], cols["rater"], cols["rating"]
    check_columns(data, {f"group {g!r}": g for g in groups})
    for g in groups:
        if data[g].isna().any():
            raise RiskevalError(
                f"the group column {g!r} is empty on {int(data[g].isna().sum())} rows; every "
                "rating needs a group"
            )
    # raters are told apart within their group, as officers within offices: the same id in
    # two groups is two raters (officers numbered 1, 2, 3... in each office), so a (case,
    # rater) pair need only be unique within a group; each group's coefficient sees its rows
    if isinstance(checked, Ratings) and checked.checked_for(cols, categories):
        # checked once, as a whole: its parts are not checked again
        grouped = [(k if isinstance(k, tuple) else (k,), part.to_frame(), part)
                   for k, part in checked.by(*groups)]
    else:
        key = groups[0]
        keyed = data
        if len(groups) > 1:
            key = "__group__"
            while key in data.columns:
                key = f"_{key}_"
            keyed = data.assign(**{key: data[groups].astype(str).agg(", ".join, axis=1)})
        frame, _ = _validate(keyed, case=case, rater=rater, rating=rating, office=key,
                             categories=categories)
        for g in groups:
            frame[g] = data[g]
        grouped = [(k, sub, sub) for k, sub in frame.groupby(groups, sort=True)]
    rows = []
    for (key_values, sub, given), stream in zip(grouped, spawn(seed, len(grouped)),
                                                strict=True):
        label = dict(zip(groups, key_values, strict=True))
        rated = sub[sub[rating].notna()]
        n_r, n_c = rated[rater].nunique(), rated[case].nunique()
        note = ""
        if n_r < max(2, min_raters) or n_c < 2:
            note = f"too few raters/cases ({n_r} raters, {n_c} cases)"
        elif not rated[case].duplicated().any():
            note = (f"its {n_r} raters share no case (no case was rated by two of them); "
                    "there is no agreement to measure")
        if note:
            rows.append({**label, "estimate": np.nan, "n_cases": n_c, "n_raters": n_r,
                         "note": note})
            continue
        res = coefficient(given, case=case, rater=rater, rating=rating,
                          categories=categories, seed=stream, **options)
        out = _icc_row(res) if hasattr(res, "table") else res.to_frame().reset_index().iloc[
            0].to_dict()
        rows.append({**label, **out, "note": getattr(res, "note", "")})
    table = pd.DataFrame(rows)
    named = table["coefficient"].dropna() if "coefficient" in table else pd.Series(dtype=object)
    name = (named.iloc[0] if len(named) and named.nunique() == 1
            else getattr(coefficient, "__name__", "agreement"))
    confidence = float(options.get("confidence", 0.95))
    return EstimatesTable(table, confidence=confidence,
                          title=f"{name} by {', '.join(groups)}")


def _icc_row(res: Any) -> dict[str, Any]:
    lo, hi = res.ci
    return {"coefficient": res.form, "estimate": res.estimate, "se": np.nan, "ci_low": lo,
            "ci_high": hi, "n_cases": res.n_cases, "n_raters": res.n_raters,
            "ci_method": "F (McGraw & Wong 1996)"}
