"""Input checks and small helpers shared by the prediction modules (private)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import (
    SHOWN,
    check_binary,
    check_columns,
    check_confidence,
    name_lines,
    plain_value,
)
from ..data.ratings import RISK_LEVELS, level_codes
from ..errors import RiskevalError

_DELONG_REFS = (
    "DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under "
    "two or more correlated receiver operating characteristic curves: a nonparametric "
    "approach. Biometrics 44(3), 837-845.",
    "Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the "
    "areas under correlated receiver operating characteristic curves. IEEE Signal Processing "
    "Letters 21(11), 1389-1393.",
)



# ================================================================================ validation


def _fmt(x: Any, digits: int = 3) -> str:
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(xf):
        return "nan"
    return f"{xf:.{digits}f}"


def _where(values: Any, mask: np.ndarray) -> str:
    """Where the flagged entries of an array-like are: row labels of a Series, else positions."""
    idx = np.flatnonzero(mask)
    more = " ..." if len(idx) > SHOWN else ""
    if isinstance(values, pd.Series | pd.DataFrame):
        labels = ", ".join(repr(plain_value(v)) for v in values.index[idx[:SHOWN]])
        return f"rows {labels}{more}"
    return f"positions {', '.join(str(i) for i in idx[:SHOWN])}{more} (counting from 0)"


def _row_labels(index: Any) -> str:
    """The rows at fault by their index labels ("rows 3, 9"): a DataFrame's rows are not the
    lines of a file, so they are not counted from a header line."""
    return name_lines(index, lines=False)


def _shown(values: np.ndarray) -> str:
    """A few distinct offending values, as the user wrote them."""
    seen: list[Any] = []
    for v in values:
        v = plain_value(v)
        if not any(v is s or (type(v) is type(s) and v == s) for s in seen):
            seen.append(v)
        if len(seen) == SHOWN:
            break
    return ", ".join(repr(v) for v in seen)


def _confidence(confidence: Any) -> float:
    if isinstance(confidence, bool):  # True is not a level, though float(True) is 1.0
        raise RiskevalError(f"confidence={confidence!r} is not a level strictly between 0 and "
                            "1 (for example 0.95)")
    return check_confidence(confidence)


def _one_dim(values: Any, name: str) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise RiskevalError(
                f"{name} must be one column of values; got a table with {values.shape[1]} "
                "columns"
            )
        values = values.iloc[:, 0]
    if isinstance(values, str) or np.ndim(values) == 0:
        raise RiskevalError(f"{name} must be a sequence of values, one per case; got {values!r}")
    arr = np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else None
    if arr is not None and arr.ndim != 1:
        raise RiskevalError(f"{name} must be one-dimensional; got an array of shape {arr.shape}")
    return values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)


def _outcome(values: Any, name: str, *, n: int | None = None,
             missing: str = "error") -> np.ndarray:
    """A 0/1 outcome by :func:`riskeval._core.checks.check_binary` (booleans, or floats with
    NaN for ``missing="keep"``), its messages naming values and rows as the user wrote them
    (``7 at row 103``, not numpy's ``np.int64(7)``)."""
    if isinstance(values, pd.DataFrame) and values.shape[1] == 1:
        values = values.iloc[:, 0]
    try:
        return check_binary(values, name, missing=missing, n=n)
    except RiskevalError:
        if not isinstance(values, pd.Series):
            raise
        plain = values.astype(object).set_axis(values.index.astype(object))
        return check_binary(plain, name, missing=missing, n=n)


def _binary(y: Any, name: str = "y", n: int | None = None) -> np.ndarray:
    """A 0/1 outcome with both classes present, as a boolean array."""
    return _both(_outcome(y, name, n=n), name)


def _both(out: np.ndarray, name: str) -> np.ndarray:
    n_events = int(out.sum())
    if n_events == 0 or n_events == len(out):
        only = "1 (all reconvicted)" if n_events else "0 (none reconvicted)"
        raise RiskevalError(
            f"{name} holds only {only} in {len(out)} cases; both outcomes are needed"
        )
    return out


def _ordinal_codes(values: Any, name: str, cats: tuple | None) -> tuple[np.ndarray, tuple, bool]:
    """0-based codes of an ordered categorisation, its levels, and whether the order is known.

    Declared ``cats`` win; then an ordered Categorical's categories; then numbers in numeric
    order; then the labels of :data:`RISK_LEVELS` in their order. Other text is returned in
    sorted order with ``ordered=False`` (enough for a cross-table, not for ranking).
    """
    raw = _one_dim(values, name)
    col = values if isinstance(values, pd.Series) else pd.Series(raw)
    if isinstance(values, pd.Categorical):
        col = pd.Series(values)
    missing = col.isna().to_numpy()
    if missing.any():
        raise RiskevalError(f"{name} has missing values at {_where(values, missing)}; every case "
                            "needs a level")
    if cats is None:
        if isinstance(col.dtype, pd.CategoricalDtype):
            if col.cat.ordered:
                codes, levels = level_codes(col, name, None)
                return codes, levels, True
            col = col.astype(object)
        if pd.api.types.is_bool_dtype(col):
            col = col.astype(int)
        if pd.api.types.is_numeric_dtype(col):
            codes, levels = level_codes(col, name, None)
            return codes, levels, True
        text = col.astype(str).str.strip().str.lower()
        if text.isin(RISK_LEVELS).all():
            codes, levels = level_codes(text, name, RISK_LEVELS)
            return codes, levels, True
        levels = tuple(sorted(pd.unique(col.astype(str))))
        codes, levels = level_codes(col.astype(str), name, levels)
        return codes, levels, False
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    codes, levels = level_codes(col, name, cats)
    return codes, levels, True


def _score(score: Any, name: str, n: int | None = None, other: str = "y") -> np.ndarray:
    """Scores as finite floats; ordered levels (RISK_LEVELS, ordered Categorical) as codes."""
    raw = _one_dim(score, name)
    if n is not None and len(raw) != n:
        raise RiskevalError(f"{name} has {len(raw)} values but {other} has {n}; expected one "
                            "value per case, in the same order")
    is_cat = isinstance(getattr(score, "dtype", None), pd.CategoricalDtype)
    fast = np.asarray(raw)
    if not is_cat and fast.dtype.kind in "biuf" and np.isfinite(fast).all():
        return fast.astype(float)
    obj = np.asarray(raw, dtype=object)
    numeric = not is_cat and all(
        isinstance(v, numbers.Real) or v is None for v in obj
    )
    if not numeric:
        codes, levels, ordered = _ordinal_codes(score, name, None)
        if not ordered:
            raise RiskevalError(
                f"{name} holds text {_shown(np.asarray(levels, dtype=object))} whose order is not "
                "known; give numbers, an ordered pandas Categorical, or the labels "
                f"{', '.join(RISK_LEVELS)}"
            )
        return codes.astype(float)
    arr = np.array([np.nan if v is None else float(v) for v in obj], dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise RiskevalError(f"{name} must hold finite numbers; {_where(score, bad)} hold "
                            f"{_shown(obj[bad])}")
    return arr


def _probabilities(p: Any, name: str, n: int) -> np.ndarray:
    arr = _score(p, name, n)
    bad = (arr <= 0.0) | (arr >= 1.0)
    if bad.any():
        hint = ("; they look like percentages: divide by 100" if np.nanmax(arr) > 1.0
                and np.nanmax(arr) <= 100.0 else "")
        raise RiskevalError(
            f"{name} must be probabilities strictly between 0 and 1 (the logit of 0 or 1 is "
            f"infinite); {_where(p, bad)} hold {_shown(np.asarray(arr)[bad])}{hint}"
        )
    return arr


def _frame(X: Any, what: str = "X") -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise RiskevalError(
            f"{what} must be a pandas DataFrame whose columns are named (the score finds its "
            f"predictors by name); got {type(X).__name__}. Inside a Pipeline, make earlier "
            "steps return DataFrames with .set_output(transform='pandas')"
        )
    if len(X) == 0:
        raise RiskevalError(f"{what} has no rows")
    return X


def _column(frame: pd.DataFrame, col: Any, role: str) -> pd.Series:
    check_columns(frame, {role: col})
    return frame[col]


def _numeric(frame: pd.DataFrame, col: Any, role: str) -> np.ndarray:
    s = _column(frame, col, role)
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(float)
    num = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
    bad = ~np.isfinite(num)
    if bad.any():
        raise RiskevalError(
            f"the {role} column {col!r} must hold finite numbers; {_row_labels(s.index[bad])} hold "
            f"{_shown(s.to_numpy(dtype=object)[bad])}"
        )
    return num


_MALE = frozenset({"male", "m", "man", "1", "1.0", "true"})
_FEMALE = frozenset({"female", "f", "woman", "0", "0.0", "false"})


def _male(frame: pd.DataFrame, col: Any) -> np.ndarray:
    """Sex coded male = 1, female = 0, from labels such as 'male'/'M'/1 and 'female'/'F'/0."""
    s = _column(frame, col, "sex")
    key = s.astype(object).map(lambda v: str(plain_value(v)).strip().lower())
    male = key.isin(_MALE).to_numpy()
    female = key.isin(_FEMALE).to_numpy()
    bad = ~(male | female) | s.isna().to_numpy()
    if bad.any():
        raise RiskevalError(
            f"the sex column {col!r} must say male ('male', 'M', 1, True) or female ('female', "
            f"'F', 0, False); {_row_labels(s.index[bad])} hold "
            f"{_shown(s.to_numpy(dtype=object)[bad])}"
        )
    return male.astype(float)


def _two_classes(y: Any, n: int) -> np.ndarray:
    arr = _one_dim(y, "y")
    if len(arr) != n:
        raise RiskevalError(f"y has {len(arr)} values but X has {n} rows; expected one outcome "
                            "per row")
    missing = pd.isna(pd.Series(arr, dtype=object)).to_numpy()
    if missing.any():
        raise RiskevalError(f"y has missing values at {_where(y, missing)}; every case needs "
                            "an outcome")
    classes = pd.unique(pd.Series(arr, dtype=object))
    if len(classes) != 2:
        raise RiskevalError(
            f"y must have exactly two outcomes (0 = not reconvicted, 1 = reconvicted); it has "
            f"{len(classes)}: {_shown(np.asarray(classes, dtype=object))}"
        )
    return arr


def _check_C(C: Any) -> float:
    if isinstance(C, bool) or not isinstance(C, numbers.Real) or not float(C) > 0:
        raise RiskevalError(f"C must be a positive number (np.inf for no penalty); got {C!r}")
    return float(C)



def _name(x: Any, default: str) -> str:
    name = getattr(x, "name", None)
    return str(name) if name is not None and not isinstance(x, np.ndarray) else default
