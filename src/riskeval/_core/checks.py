"""Input checks shared by every layer, with one wording.

Each check returns the clean value or raises :class:`~riskeval.errors.RiskevalError` naming
the argument (and, for arrays, the first offending row by its label and how many there are)
and what was expected.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import RiskevalError, RiskevalTypeError

__all__ = ["as_values", "check_binary", "check_choice", "check_columns", "check_confidence",
           "check_probability", "check_whole", "name_lines", "name_row", "plain_value",
           "rows_named", "suggest_column"]


def check_confidence(confidence: Any) -> float:
    """``confidence`` as a float strictly between 0 and 1, or a RiskevalError naming it.

    Examples
    --------
    >>> check_confidence(0.9)
    0.9
    """
    try:
        level = float(confidence)
    except (TypeError, ValueError):
        level = math.nan
    if not 0.0 < level < 1.0:
        raise RiskevalError(f"confidence={confidence!r} is not a level strictly between 0 and 1 "
                            "(for example 0.95)")
    return level


def check_whole(value: Any, name: str, least: int = 0) -> int:
    """``value`` as an int of at least ``least`` (a float such as 20.0 is accepted; 2.5 and
    True are not).

    Examples
    --------
    >>> check_whole(20.0, "n_boot", least=1)
    20
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(float(value)) and float(value) == int(value)
    if not ok or int(value) < least:
        raise RiskevalError(f"{name} must be a whole number of at least {least}; got {value!r}")
    return int(value)


def check_choice(value: Any, name: str, options: Sequence[str]) -> str:
    """``value`` if it is one of ``options``, else an error listing them.

    Examples
    --------
    >>> check_choice("ordinal", "level", ("nominal", "ordinal"))
    'ordinal'
    """
    if value not in options:
        raise RiskevalError(f"{name}={value!r} is not known; expected one of "
                            f"{', '.join(map(repr, options))}")
    return value


#: How many offending rows or values a message lists.
SHOWN = 5


def plain_value(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages read ``7``, not
    ``np.int64(7)``.

    Examples
    --------
    >>> plain_value(np.float64(2.5)), plain_value("a")
    (2.5, 'a')
    """
    return value.item() if isinstance(value, np.generic) else value


#: how the rows of the table being checked are named (set by :func:`rows_named`)
_ROWS: contextvars.ContextVar[tuple[str, Callable[[int], str]] | None] = \
    contextvars.ContextVar("riskeval_rows", default=None)


@contextlib.contextmanager
def rows_named(label: str | None = None,
               describe: Callable[[int], str] | None = None) -> Iterator[None]:
    """Within the block, :func:`name_lines` names rows as ``label`` followed by
    ``describe(i)`` for each row label ``i`` (e.g. ``"sheet 'Ratings' rows"`` and
    ``i + 2``, the header being row 1), instead of the lines of a CSV file. Without a
    ``label`` rows are lines of a CSV file again.

    Examples
    --------
    >>> with rows_named("sheet 'Ratings' rows", lambda i: str(i + 2)):
    ...     name_lines([0, 3])
    "sheet 'Ratings' rows 2, 5"
    >>> name_lines([0, 3])
    'lines 2, 5'
    """
    token = _ROWS.set(None if label is None else
                      (label, describe if describe is not None else lambda i: str(i + 2)))
    try:
        yield
    finally:
        _ROWS.reset(token)


def name_lines(index: Sequence, offset: int = 2, *, lines: bool = True) -> str:
    """The first rows of ``index`` as a person finds them: the lines of a CSV file (the
    header is line 1, so row 0 is line 2), the rows of a spreadsheet's sheet when the table
    was read from one (see :func:`rows_named`), or with ``lines=False`` (or labels that are
    not numbers) the rows' index labels.

    Examples
    --------
    >>> name_lines([0, 3])
    'lines 2, 5'
    >>> name_lines(["a", "b"], lines=False)
    "rows 'a', 'b'"
    """
    idx = list(index)[:SHOWN]
    more = " ..." if len(index) > SHOWN else ""
    if lines:
        named = _ROWS.get()
        try:
            if named is not None:
                label, describe = named
                return f"{label} {', '.join(describe(int(i)) for i in idx)}{more}"
            shown = ", ".join(str(int(i) + offset) for i in idx)
            return f"lines {shown}{more}"
        except (TypeError, ValueError, IndexError, KeyError):
            pass
    return f"rows {', '.join(repr(plain_value(i)) for i in idx)}{more}"


def name_row(index: pd.Index, pos: int) -> str:
    """Row ``pos`` (by position) as an error message names it: by its position when the
    index is the default one, else by its label (what ``.loc`` takes) and its position.

    Examples
    --------
    >>> name_row(pd.RangeIndex(5), 3)
    'row 3'
    >>> name_row(pd.Index([101, 102, 103]), 2)
    'row 103 (position 2)'
    """
    label = plain_value(index[pos])
    if isinstance(label, int | np.integer) and label == pos:
        return f"row {pos}"
    return f"row {label!r} (position {pos})"


def _row(values: pd.Series, pos: int) -> str:
    return name_row(values.index, pos)


def suggest_column(name: Any, columns: Sequence[Any]) -> str:
    """A hint for a column name that is not in a table: the closest name there (by spelling,
    or differing only in case), and the names present.

    Examples
    --------
    >>> suggest_column("ofice", ["case", "officer", "office"])
    " Did you mean 'office'? Columns present: 'case', 'officer', 'office'."
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in columns], n=1, cutoff=0.5)
    if not close:
        low = {str(c).lower(): str(c) for c in columns}
        if str(name).lower() in low:
            close = [low[str(name).lower()]]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{hint} Columns present: {', '.join(map(repr, map(str, columns)))}."


def check_columns(frame: pd.DataFrame, roles: dict[str, Any]) -> None:
    """Every column named (``{role: column}``; None = not used) is in ``frame``, and no
    column serves two roles; else an error naming the role, the column and the closest name.

    Examples
    --------
    >>> check_columns(pd.DataFrame(columns=["case", "officer"]), {"rater": "officer"})
    """
    for role, col in roles.items():
        if col is None:
            continue
        if col not in frame.columns:
            raise RiskevalError(
                f"the {role} column {col!r} is not in the table."
                f"{suggest_column(col, frame.columns)}")
    used = [c for c in roles.values() if c is not None]
    if len(set(used)) != len(used):
        raise RiskevalError(
            f"the same column is given for two roles: {roles!r}; each role needs its own column"
        )


def as_values(values: Any, name: str, data: pd.DataFrame | None = None) -> pd.Series:
    """One input as a Series: a column of ``data`` named by a string, or the values
    themselves (a Series, array, list, Categorical or one-column DataFrame).

    Examples
    --------
    >>> as_values([1, 0, 1], "y").tolist()
    [1, 0, 1]
    >>> as_values("y", "y", pd.DataFrame({"y": [0, 1]})).tolist()
    [0, 1]
    """
    if isinstance(values, str):
        if data is None:
            raise RiskevalError(f"{name}={values!r} is a column name, but no data= DataFrame "
                                f"was given; pass data=your_frame or pass the values themselves")
        if not isinstance(data, pd.DataFrame):
            raise RiskevalTypeError(f"data= must be a pandas DataFrame, not "
                                    f"{type(data).__name__}")
        check_columns(data, {name: values})
        return data[values]
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.Categorical | pd.Index):
        return pd.Series(values)
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise RiskevalError(f"{name} is a table with {values.shape[1]} columns; expected "
                                "one column (a Series), an array, or a column name with data=")
        return values.iloc[:, 0]
    if values is None or np.isscalar(values):
        raise RiskevalError(f"{name} must be an array, a Series or a column name; got "
                            f"{values!r}")
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise RiskevalError(f"{name} has shape {arr.shape}; expected a 1-D array, one value "
                            "per case")
    if not isinstance(values, np.ndarray):
        arr = pd.Series(list(values)).infer_objects().to_numpy()
    return pd.Series(arr)


def check_binary(values: Any, name: str, *, missing: str = "error",
                 n: int | None = None) -> np.ndarray:
    """A 0/1 outcome (1 = the event): numbers 0 and 1, True/False, or text "0"/"1".

    Parameters
    ----------
    values : array-like or Series
        One outcome per case.
    name : str
        The argument's name, for messages.
    missing : {"error", "keep"}
        A missing outcome is an error (the default), or kept as NaN.
    n : int, optional
        The number of values expected (one per score, per case...).

    Returns
    -------
    numpy.ndarray
        Booleans (``missing="error"``) or floats 0/1 with NaN (``missing="keep"``).

    Examples
    --------
    >>> check_binary([1, 0, True], "reconvicted")
    array([ True, False,  True])
    >>> check_binary([1, None], "reconvicted", missing="keep")
    array([ 1., nan])
    """
    series = as_values(values, name)
    if n is not None and len(series) != n:
        raise RiskevalError(f"{name} has {len(series)} values; expected {n} (one per case, in "
                            "the same order)")
    if len(series) == 0:
        raise RiskevalError(f"{name} is empty; expected one 0/1 outcome per case")
    plain = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    absent = plain.isna().to_numpy()
    if absent.any() and missing == "error":
        pos = int(np.flatnonzero(absent)[0])
        raise RiskevalError(f"{name} is missing at {_row(plain, pos)} ({int(absent.sum())} "
                            "missing in all); expected 0/1 or True/False for every case")

    def number(v: Any) -> float:
        if isinstance(v, bool | np.bool_):
            return float(v)
        if isinstance(v, numbers.Real):
            return float(v)
        if isinstance(v, str) and v.strip() in ("0", "1", "0.0", "1.0"):
            return float(v)
        return math.nan

    if pd.api.types.is_bool_dtype(plain.dtype) or (
            pd.api.types.is_numeric_dtype(plain.dtype)
            and not pd.api.types.is_complex_dtype(plain.dtype)):
        num = plain.to_numpy(dtype=float, na_value=np.nan)
    else:
        num = np.array([math.nan if a else number(v) for v, a in zip(plain, absent, strict=True)],
                       dtype=float)
    bad = ~absent & ~np.isin(num, (0.0, 1.0))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = plain_value(plain.iloc[pos])
        raise RiskevalError(f"{name} has the value {value!r} at {_row(plain, pos)} "
                            f"({int(bad.sum())} such values); expected 0/1 or True/False "
                            "(1 = the event)")
    return num == 1.0 if missing == "error" else np.where(absent, np.nan, num)


def check_probability(values: Any, name: str) -> np.ndarray:
    """Probabilities in [0, 1] as floats (no missing values).

    Examples
    --------
    >>> check_probability([0.2, 1.0], "p")
    array([0.2, 1. ])
    """
    series = as_values(values, name)
    num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    bad = ~((num >= 0) & (num <= 1))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = plain_value(series.iloc[pos])
        raise RiskevalError(f"{name} has the value {value!r} at {_row(series, pos)} "
                            f"({int(bad.sum())} such values); expected a probability between "
                            "0 and 1")
    return num
