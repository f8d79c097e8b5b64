"""Input checks shared by every layer, with one wording.

Each check returns the clean value or raises :class:`~riskeval.errors.RiskevalError` naming
the argument (and, for arrays, the first offending row by its label and how many there are)
and what was expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import RiskevalError, RiskevalTypeError

__all__ = ["check_binary", "check_choice", "check_confidence", "check_probability",
           "check_whole"]


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


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``7``, not ``np.int64(7)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _row(values: pd.Series, pos: int) -> str:
    label = _plain(values.index[pos])
    return f"row {label!r}" if not isinstance(values.index, pd.RangeIndex) else f"row {pos}"


def _series(values: Any, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.DataFrame):
        raise RiskevalTypeError(f"{name} must be one column of values, not a table")
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise RiskevalError(f"{name} must be one value per case (1-D); got shape {arr.shape}")
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
    series = _series(values, name)
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
        value = _plain(plain.iloc[pos])
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
    series = _series(values, name)
    num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    bad = ~((num >= 0) & (num <= 1))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = _plain(series.iloc[pos])
        raise RiskevalError(f"{name} has the value {value!r} at {_row(series, pos)} "
                            f"({int(bad.sum())} such values); expected a probability between "
                            "0 and 1")
    return num
