"""One writer for every CSV file the project makes, safe to open in a spreadsheet.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
by Excel, LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)``, ``@SUM(...)``,
DDE payloads). Following the OWASP guidance on CSV injection, such a cell is written with a
single quote in front (``'=HYPERLINK(...)``), which spreadsheets show as text. Only text is
changed: numbers (``-0.5``) are written as numbers, whatever their sign. The same applies to
the header (column names) and to the index.

References
----------
OWASP Foundation. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import io
import os
from typing import Any

import pandas as pd

__all__ = ["FORMULA_STARTS", "neutralise", "neutralise_frame", "write_csv"]

#: first characters that make a spreadsheet read a text cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula.

    Anything that is not a ``str`` (numbers, missing values, dates) is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return pd.MultiIndex.from_tuples([tuple(neutralise(v) for v in t) for t in index],
                                         names=[neutralise(n) for n in index.names])
    if pd.api.types.is_object_dtype(index.dtype) or isinstance(
            index.dtype, pd.StringDtype | pd.CategoricalDtype):
        out = pd.Index([neutralise(x) for x in index], dtype=object)
    else:
        out = index.copy()
    return out.rename(neutralise(index.name))


def _column(col: pd.Series) -> pd.Series:
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        col = col.astype(object).where(col.notna(), None)
        return col.map(neutralise, na_action="ignore")
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
        return col.map(neutralise, na_action="ignore")
    return col


def neutralise_frame(frame: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index labels are neutralised."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    out = pd.DataFrame({i: _column(frame.iloc[:, i]) for i in range(frame.shape[1])},
                       index=frame.index)
    out.columns = _labels(frame.columns)
    out.index = _labels(frame.index)
    return out


def write_csv(frame: pd.DataFrame | pd.Series, path: str | os.PathLike | Any = None,
              **kwargs: Any) -> str | None:
    """``frame.to_csv(path, **kwargs)`` with formula-like text neutralised (see module doc).

    With ``path`` None, returns the CSV text (as ``DataFrame.to_csv`` does). ``index=False``
    and pandas' other ``to_csv`` options are passed on.
    """
    safe = neutralise_frame(frame)
    if path is None:
        buf = io.StringIO()
        safe.to_csv(buf, **kwargs)
        return buf.getvalue()
    return safe.to_csv(path, **kwargs)
