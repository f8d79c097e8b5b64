"""Loader for ProPublica's COMPAS two-year recidivism data (Broward County, Florida).

The data are not shipped with riskeval: ProPublica published them without a licence in the
repository ``propublica/compas-analysis`` (file ``compas-scores-two-years.csv``), so the user
supplies the path. :func:`load_compas` checks the columns it needs, parses the dates, applies
the row filters of ProPublica's analysis and adds two derived columns:

* ``band`` -- ``score_text`` as an ordered categorical ``Low < Medium < High``;
* ``high_risk`` -- ``score_text`` is Medium or High, the "higher risk" label of ProPublica's
  error-rate tables (nullable boolean, missing where the person has no score).

The filters (Larson et al. 2016, and the notebook ``Compas Analysis.ipynb`` in the same
repository) keep people whose COMPAS-scored charge is within 30 days of the arrest
(``-30 <= days_b_screening_arrest <= 30``; a missing value is dropped), who have a COMPAS case
(``is_recid != -1``), whose charge is not an ordinary traffic offence
(``c_charge_degree != "O"``) and who have a score (``score_text != "N/A"``). On the published
file they leave 6,172 of 7,214 rows.

Note that ProPublica's false positive / false negative table ("Prediction Fails Differently
for Black Defendants") was computed by the script ``truth_tables.py`` on the whole two-year
population, without the 30-day filter: use ``filters=None`` to reproduce it
(``papers/compas_reproduction.md``).

References
----------
Larson, J., Mattu, S., Kirchner, L. & Angwin, J. (2016). How we analyzed the COMPAS
recidivism algorithm. *ProPublica*, 23 May 2016.
https://www.propublica.org/article/how-we-analyzed-the-compas-recidivism-algorithm

Angwin, J., Larson, J., Mattu, S. & Kirchner, L. (2016). Machine bias. *ProPublica*, 23 May
2016. https://www.propublica.org/article/machine-bias-risk-assessments-in-criminal-sentencing

ProPublica (2016). compas-analysis [data and notebooks].
https://github.com/propublica/compas-analysis
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import plain_value, suggest_column
from .._core.results import SeriesResult
from ..errors import RiskevalError

__all__ = [
    "BANDS",
    "COMPAS_FILENAME",
    "DATE_COLUMNS",
    "REQUIRED_COLUMNS",
    "load_compas",
    "propublica_mask",
]

#: Name of ProPublica's file, looked for when ``path`` is a directory.
COMPAS_FILENAME = "compas-scores-two-years.csv"

#: Columns :func:`load_compas` needs: identification, demographics, the score, the fields of
#: the filters and the outcome.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "id",
    "sex",
    "age",
    "age_cat",
    "race",
    "priors_count",
    "compas_screening_date",
    "days_b_screening_arrest",
    "c_jail_in",
    "c_jail_out",
    "c_charge_degree",
    "is_recid",
    "decile_score",
    "score_text",
    "two_year_recid",
)

#: Date and date-time columns parsed when present (the first four are required above or by
#: the file's schema; the others are parsed if the file has them).
DATE_COLUMNS: tuple[str, ...] = (
    "compas_screening_date",
    "c_jail_in",
    "c_jail_out",
    "dob",
    "c_offense_date",
    "c_arrest_date",
    "r_offense_date",
    "r_jail_in",
    "r_jail_out",
    "vr_offense_date",
    "screening_date",
    "v_screening_date",
    "in_custody",
    "out_custody",
)

#: COMPAS risk bands, lowest first.
BANDS: tuple[str, ...] = ("Low", "Medium", "High")

_SCORE_TEXT = (*BANDS, "N/A")
_FILTERS = ("propublica", None)


def propublica_mask(data: pd.DataFrame) -> SeriesResult:
    """Rows kept by ProPublica's filters (see the module docstring).

    Parameters
    ----------
    data : pandas.DataFrame
        The two-year file, with at least ``days_b_screening_arrest``, ``is_recid``,
        ``c_charge_degree`` and ``score_text``.

    Returns
    -------
    SeriesResult
        A boolean :class:`pandas.Series` (with a title and the result protocol), True where
        the row is kept. A missing ``days_b_screening_arrest`` is not kept, as in
        ProPublica's R code (``filter`` drops rows whose condition is NA).

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"days_b_screening_arrest": [0, -45, None, 3],
    ...                       "is_recid": [0, 1, 0, -1], "c_charge_degree": ["F", "F", "M", "M"],
    ...                       "score_text": ["Low", "High", "Medium", "Low"]})
    >>> mask = propublica_mask(data)
    >>> mask.tolist(), int(mask.sum())
    ([True, False, False, False], 1)
    >>> len(data.loc[mask])
    1
    """
    days = pd.to_numeric(data["days_b_screening_arrest"], errors="coerce")
    keep = days.between(-30, 30) & days.notna()
    keep &= data["is_recid"] != -1
    keep &= data["c_charge_degree"].astype(str) != "O"
    keep &= data["score_text"].astype(str) != "N/A"
    keep = keep.fillna(False).astype(bool)
    return SeriesResult(keep, title=f"Rows kept by ProPublica's filters ({int(keep.sum())} of "
                                    f"{len(keep)})")


def _resolve_path(path: Any) -> Any:
    if hasattr(path, "read"):
        return path
    if not isinstance(path, str | os.PathLike):
        raise RiskevalError(f"path must be a file path, a directory or an open file; got "
                            f"{type(path).__name__}")
    p = Path(path)
    if p.is_dir():
        p = p / COMPAS_FILENAME
    if not p.is_file():
        raise RiskevalError(f"no COMPAS file at {str(p)!r}; expected ProPublica's "
                            f"{COMPAS_FILENAME} (from the repository propublica/compas-analysis)")
    return p


def _first_bad(frame: pd.DataFrame, bad: pd.Series, column: str, expected: str) -> None:
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        label = plain_value(frame.index[pos])
        ident = plain_value(frame["id"].iloc[pos]) if "id" in frame.columns else label
        value = plain_value(frame[column].iloc[pos])
        what = "is empty" if pd.isna(value) else f"has the value {value!r}"
        raise RiskevalError(
            f"column {column!r} {what} at row {label!r} (id {ident!r}; {int(bad.sum())} such "
            f"rows); expected {expected}")


def _validate(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        hint = suggest_column(missing[0], frame.columns)
        raise RiskevalError(f"the COMPAS file lacks the required column(s) "
                            f"{', '.join(map(repr, missing))}.{hint}")
    out = frame.copy()
    for col in ("age", "priors_count", "is_recid", "decile_score", "two_year_recid"):
        num = pd.to_numeric(out[col], errors="coerce")
        _first_bad(out, num.isna() | (num != np.floor(num)), col, "a whole number")
        out[col] = num.astype(np.int64)
    days = pd.to_numeric(out["days_b_screening_arrest"], errors="coerce")
    _first_bad(out, days.isna() & out["days_b_screening_arrest"].notna(),
               "days_b_screening_arrest", "a number of days (or empty)")
    out["days_b_screening_arrest"] = days
    _first_bad(out, ~out["two_year_recid"].isin([0, 1]), "two_year_recid", "0 or 1")
    _first_bad(out, ~out["is_recid"].isin([-1, 0, 1]), "is_recid", "-1, 0 or 1")
    _first_bad(out, ~out["score_text"].isin(_SCORE_TEXT), "score_text",
               "one of 'Low', 'Medium', 'High' or 'N/A'")
    scored = out["score_text"] != "N/A"
    _first_bad(out, scored & ~out["decile_score"].between(1, 10), "decile_score",
               "a decile from 1 to 10 for a scored person")
    for col in ("race", "sex", "c_charge_degree", "id"):
        _first_bad(out, out[col].isna(), col, "a value")
    for col in DATE_COLUMNS:
        if col not in out.columns:
            continue
        raw = out[col]
        parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601")
        _first_bad(out, parsed.isna() & raw.notna(), col,
                   "a date such as 2013-08-14 or 2013-08-13 06:03:42 (or empty)")
        out[col] = parsed
    return out


def load_compas(path: Any, *, filters: str | None = "propublica") -> pd.DataFrame:
    """Read, check and filter ProPublica's COMPAS two-year recidivism file.

    Parameters
    ----------
    path : str, path-like or file-like
        The file ``compas-scores-two-years.csv``, or a directory holding it, or an open file.
    filters : {"propublica", None}
        ``"propublica"`` (default) keeps the rows of ProPublica's analysis (6,172 of the
        published 7,214); ``None`` keeps every row.

    Returns
    -------
    pandas.DataFrame
        The file's columns, with dates parsed (see :data:`DATE_COLUMNS`), the whole-number
        columns as integers, and two added columns: ``band`` (ordered categorical Low < Medium
        < High) and ``high_risk`` (nullable boolean: Medium or High). The index is reset.

    Raises
    ------
    RiskevalError
        No file at ``path``; a required column (see :data:`REQUIRED_COLUMNS`) missing (the
        message names it); a value that is not what the column should hold, such as a
        ``two_year_recid`` other than 0/1, an unknown ``score_text`` or an unparseable date (the
        message names the column, the row, the person's id and the value); an unknown
        ``filters``.

    Notes
    -----
    The text "N/A" in ``score_text`` is ProPublica's marker of an unscored person; it is kept
    as text (R's ``read.csv`` does the same), not read as a missing value.

    Examples
    --------
    With ProPublica's file in ``../shared/datasets/compas``::

        df = load_compas("../shared/datasets/compas")
        len(df), round(df["two_year_recid"].mean(), 4)     # (6172, 0.4551)
        everyone = load_compas("../shared/datasets/compas", filters=None)   # 7,214 rows
    """
    if filters not in _FILTERS:
        raise RiskevalError(f"filters={filters!r} is not known; expected 'propublica' "
                            "(ProPublica's row filters) or None (all rows)")
    source = _resolve_path(path)
    try:
        raw = pd.read_csv(source, keep_default_na=False, na_values=[""], low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise RiskevalError(f"could not read the COMPAS file {str(path)!r} as CSV: {exc}"
                            ) from exc
    frame = _validate(raw)
    if filters == "propublica":
        frame = frame.loc[propublica_mask(frame)]
    frame = frame.reset_index(drop=True)
    text = frame["score_text"].where(frame["score_text"] != "N/A")
    frame["band"] = pd.Categorical(text, categories=list(BANDS), ordered=True)
    high = text.isin(["Medium", "High"]).astype("boolean")
    high[text.isna()] = pd.NA
    frame["high_risk"] = high
    return frame
