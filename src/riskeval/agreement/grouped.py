"""The same coefficient for each office, cohort or other group, in one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..data import _check_columns, validate_ratings
from ..errors import RiskevalError
from ._bootstrap import make_rng

__all__ = ["by_group"]


def by_group(
    coefficient: Callable[..., Any],
    data: pd.DataFrame,
    *,
    group: str | list[str],
    case: str,
    rater: str,
    rating: str,
    categories: Any = None,
    seed: Any = None,
    min_raters: int = 2,
    **options: Any,
) -> pd.DataFrame:
    """Compute one agreement coefficient separately within each group.

    Parameters
    ----------
    coefficient : callable
        Any riskeval agreement function, e.g. :func:`~riskeval.agreement.fleiss_kappa`.
    data : pandas.DataFrame
        Long ratings table.
    group : str or list of str
        Grouping column(s), e.g. ``"office"``.
    case, rater, rating : str
        Column names.
    categories : sequence or str, optional
        Ordered categories, declared once for every group.
    seed : int, SeedSequence or Generator, optional
        Seed for bootstrap intervals; each group gets its own independent stream
        (``SeedSequence.spawn``), so results do not depend on the order of groups.
    min_raters : int
        Groups with fewer raters (or fewer than two cases) are reported with NaN and a
        ``note`` instead of raising.
    **options
        Passed to ``coefficient`` (``level=``, ``weights=``, ``ci=``...).

    Returns
    -------
    pandas.DataFrame
        One row per group: the group key(s), ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``n_cases``, ``n_raters``, ``n_ratings``, ``ci_method`` and ``note`` (too few raters
        or cases, or why the coefficient or its interval is NaN in that group).
    """
    groups = [group] if isinstance(group, str) else list(group)
    _check_columns(data, {f"group {g!r}": g for g in groups})
    frame = validate_ratings(data, case=case, rater=rater, rating=rating, categories=categories)
    for g in groups:
        if data[g].isna().any():
            raise RiskevalError(
                f"the group column {g!r} is empty on {int(data[g].isna().sum())} rows; every "
                "rating needs a group"
            )
        frame[g] = data[g]
    if isinstance(seed, np.random.Generator):
        seed = np.random.SeedSequence(int(seed.integers(2**63)))
    make_rng(seed)  # rejects a seed of the wrong type with a clear message
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    grouped = list(frame.groupby(groups, sort=True))
    rows = []
    for (key, sub), stream in zip(grouped, root.spawn(len(grouped)), strict=True):
        label = dict(zip(groups, key, strict=True))
        n_r, n_c = sub[rater].nunique(), sub[case].nunique()
        if n_r < max(2, min_raters) or n_c < 2:
            rows.append({**label, "estimate": np.nan, "n_cases": n_c, "n_raters": n_r,
                         "note": f"too few raters/cases ({n_r} raters, {n_c} cases)"})
            continue
        res = coefficient(sub, case=case, rater=rater, rating=rating, categories=categories,
                          seed=stream, **options)
        out = _icc_row(res) if hasattr(res, "table") else res.to_frame().reset_index().iloc[
            0].to_dict()
        rows.append({**label, **out, "note": getattr(res, "note", "")})
    return pd.DataFrame(rows)


def _icc_row(res: Any) -> dict[str, Any]:
    lo, hi = res.ci
    return {"coefficient": res.form, "estimate": res.estimate, "se": np.nan, "ci_low": lo,
            "ci_high": hi, "n_cases": res.n_cases, "n_raters": res.n_raters,
            "ci_method": "F (McGraw & Wong 1996)"}
