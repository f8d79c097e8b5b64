"""The ratings data model: a tidy (long) table, its wide form, and validation.

A *ratings table* has one row per (case, rater[, occasion]) with the rating given, and
optionally the office, cohort and a reference rating. Its *wide form* is a cases x raters
array with ``NaN`` where a rater did not rate a case.

Ordered categories are declared explicitly (for example ``RISK_LEVELS``: low < medium <
high < very high) and kept as such: string labels are never ordered by sort order. Numeric
ratings are allowed and keep their numeric values for interval and ratio coefficients.

Files are read by :func:`read_table` and :func:`read_ratings`: CSV, spreadsheets (``.xlsx``,
``.xlsm``, ``.ods``, a sheet chosen by name or position; :func:`sheet_names`) and Parquet,
recognised by their content (:func:`file_kind`), in the long layout or wide (one row per
case, one column per officer; :func:`wide_to_long`).

Every problem raises :class:`riskeval.errors.RiskevalError` with a message naming the
column, rows or values at fault and what was expected (rows as the file numbers them: the
lines of a CSV file, the rows of a sheet).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import html
import io
import math
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import (
    SHOWN,
    check_choice,
    check_columns,
    name_lines,
    plain_value,
    rows_named,
    suggest_column,
)
from .._core.results import Result
from ..errors import RiskevalError, RiskevalTypeError, RiskevalWarning, has_option, option

__all__ = [
    "RISK_LEVELS",
    "Ratings",
    "WideRatings",
    "as_ratings",
    "file_kind",
    "parse_categories",
    "read_ratings",
    "read_table",
    "sheet_names",
    "to_long",
    "to_wide",
    "validate_ratings",
    "wide_to_long",
]

#: The Risk of Serious Harm scale used in OASys, lowest first.
RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high", "very high")


#: roles whose columns hold identifiers: read as text from files, stripped of spaces
ID_ROLES: tuple[str, ...] = ("case", "rater", "office", "occasion")

#: ratings larger than this in magnitude (or whose spread is below its inverse) cannot be
#: squared, summed and squared again in double precision without overflow (underflow)
MAX_MAGNITUDE = 1e100

#: how an officer is identified when an office column is given / when it is not
OFFICER_IN_OFFICE = ("office and officer id together: the same officer id in two offices is "
                     "two officers")
OFFICER_BY_ID = "officer id"

# text that other tools read as missing; here only an empty cell is missing
_NA_LOOKALIKES = frozenset({"na", "n/a", "nan", "none", "null", "nil", "missing", "-", "?",
                            "#n/a", "<na>"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SMALL = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
          9: "nine"}


def parse_categories(categories: Any) -> tuple | None:
    """Normalise a declaration of ordered categories.

    Parameters
    ----------
    categories : None, str, sequence or pandas.CategoricalDtype
        ``"low,medium,high,very high"`` (comma-separated, lowest first), a sequence of labels
        or numbers (lowest first), or an ordered ``CategoricalDtype``.

    Returns
    -------
    tuple or None
        The categories, lowest first, or ``None`` when nothing was declared.

    Examples
    --------
    >>> parse_categories("low, medium ,high")
    ('low', 'medium', 'high')
    >>> parse_categories([1, 2, 3]), parse_categories(None)
    ((1, 2, 3), None)
    """
    if categories is None:
        return None
    if isinstance(categories, pd.CategoricalDtype):
        cats = tuple(categories.categories)
    elif isinstance(categories, str):
        cats = tuple(c.strip() for c in categories.split(","))
        if any(c == "" for c in cats):
            raise RiskevalError(
                f"categories {categories!r} contain an empty label; expected labels separated "
                "by commas, lowest first, e.g. 'low,medium,high,very high'"
            )
    elif isinstance(categories, Sequence | np.ndarray | pd.Index):
        cats = tuple(c.item() if isinstance(c, np.generic) else c for c in categories)
    else:
        raise RiskevalTypeError(
            f"categories must be a list of labels (lowest first) or a comma-separated string, "
            f"not {type(categories).__name__}"
        )
    if len(cats) < 2:
        raise RiskevalError(f"categories {cats!r}: at least two categories are needed")
    if len(set(cats)) != len(cats):
        dup = sorted({str(c) for c in cats if cats.count(c) > 1})
        raise RiskevalError(f"categories {cats!r} repeat {', '.join(dup)}; each must appear once")
    return cats


def level_codes(col: pd.Series, name: str, cats: tuple | None) -> tuple[np.ndarray, tuple]:
    """0-based codes of an ordered column (-1 = missing) and its levels, lowest first.

    Levels come from ``cats`` when given, else from an ordered categorical's categories, else
    from the sorted values of a numeric column; text without ``cats`` is an error, because
    sort order is not risk order. A value outside the levels is an error naming its row.
    """
    if cats is None:
        if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered:
            cats = tuple(col.cat.categories)
        elif pd.api.types.is_numeric_dtype(col):
            cats = tuple(sorted(pd.unique(col.dropna())))
        else:
            raise RiskevalError(f"column {name!r} holds text; give its levels lowest first with "
                                f"{option('categories')}, e.g. "
                                f"{option('categories', 'low,medium,high,very high')}")
    values = col.astype(object) if isinstance(col.dtype, pd.CategoricalDtype) else col
    codes = pd.Index(list(cats)).get_indexer(values).astype(np.int64)
    bad = (codes < 0) & col.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise RiskevalError(f"column {name!r} row {col.index[i]!r} holds "
                            f"{plain_value(col.iloc[i])!r}, which is not one of the levels "
                            f"{list(cats)}")
    return codes, tuple(cats)


def _is_numeric_cats(cats: tuple) -> bool:
    return all(isinstance(c, int | float | np.integer | np.floating) and not isinstance(c, bool)
               for c in cats)


@dataclass(frozen=True, init=False)
class WideRatings(Result):
    """Ratings of cases by raters: ``values[i, j]`` is rater ``j``'s rating of case ``i``.

    Held either as the dense cases x raters array (from a wide table or array) or, for a
    long table, as the ratings given, one entry per (case, rater) pair
    (:meth:`from_entries`): memory then grows with the number of ratings, not with
    cases x raters, which matters for real double-assessed cases (many officers, two ratings
    a case). The agreement coefficients read the entries (:meth:`coded_entries`); the dense
    array ``values`` is built only when asked for.

    Attributes
    ----------
    values : numpy.ndarray
        Cases x raters float array, ``NaN`` where not rated. For declared non-numeric
        categories the values are the ranks 1..q of the categories.
    cases, raters : pandas.Index
        Labels of the rows and columns.
    categories : tuple or None
        The ordered categories (lowest first) when declared or derived from labels; ``None``
        for numeric ratings without a declared set (categories are then the observed values).
    ordered : bool
        Whether the category order is meaningful (False only for undeclared string labels).

    Examples
    --------
    >>> import numpy as np
    >>> wide = WideRatings(np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 3.0]]),
    ...                    pd.Index(["c1", "c2", "c3"]), pd.Index(["anna", "ben"]))
    >>> wide.n_cases, wide.n_raters
    (3, 2)
    >>> wide.to_frame().loc["c2", "anna"]
    np.float64(2.0)
    >>> print(wide.summary().splitlines()[0])
    Ratings: 3 cases x 2 raters, 5 ratings given (1 cell not rated)
    """

    cases: pd.Index
    raters: pd.Index
    categories: tuple | None
    ordered: bool
    _store: dict = field(repr=False, compare=False)

    def __init__(self, values: np.ndarray, cases: pd.Index, raters: pd.Index,
                 categories: tuple | None = None, ordered: bool = True):
        self._set(cases, raters, categories, ordered, {"values": np.asarray(values, float)})

    def _set(self, cases: pd.Index, raters: pd.Index, categories: tuple | None, ordered: bool,
             store: dict) -> None:
        object.__setattr__(self, "cases", cases)
        object.__setattr__(self, "raters", raters)
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "ordered", ordered)
        object.__setattr__(self, "_store", store)

    @classmethod
    def from_entries(cls, case_index: np.ndarray, rater_index: np.ndarray, value: np.ndarray,
                     cases: pd.Index, raters: pd.Index, categories: tuple | None = None,
                     ordered: bool = True) -> WideRatings:
        """The ratings given, one entry per (case, rater) pair, without a dense array.

        ``case_index`` and ``rater_index`` are positions in ``cases`` and ``raters``;
        ``value`` is the rating (NaN entries are dropped: not rated). Each (case, rater)
        pair may appear once.
        """
        value = np.asarray(value, dtype=float)
        given = ~np.isnan(value)
        out = cls.__new__(cls)
        out._set(cases, raters, categories, ordered, {"entries": (
            np.asarray(case_index, np.int64)[given], np.asarray(rater_index, np.int64)[given],
            value[given])})
        return out

    @property
    def n_cases(self) -> int:
        return len(self.cases)

    @property
    def n_raters(self) -> int:
        return len(self.raters)

    @property
    def values(self) -> np.ndarray:
        """The dense cases x raters array (built from the entries when held as entries)."""
        if "values" not in self._store:
            i, j, v = self._store["entries"]
            dense = np.full((self.n_cases, self.n_raters), np.nan)
            dense[i, j] = v
            self._store["values"] = dense
        return self._store["values"]

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ratings given: case positions, rater positions and values (no NaN)."""
        if "entries" not in self._store:
            v = self._store["values"]
            i, j = np.nonzero(~np.isnan(v))
            self._store["entries"] = (i, j, v[i, j])
        return self._store["entries"]

    def coded_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple, np.ndarray]:
        """Case positions, rater positions and category codes 0..q-1 of the ratings given,
        with the categories and their numeric scale (see :meth:`coded`)."""
        if "coded_entries" not in self._store:
            i, j, v = self.entries()
            self._store["coded_entries"] = (i, j, *self._code(v, i, j))
        return self._store["coded_entries"]

    def coded(self) -> tuple[np.ndarray, tuple, np.ndarray]:
        """Category codes 0..q-1 (``-1`` = missing), the categories and their numeric scale.

        The scale is the numeric value of each category: the number itself for numeric
        categories, the rank 1..q for labels.
        """
        if "coded" not in self._store:
            i, j, c, cats, scale = self.coded_entries()
            codes = np.full((self.n_cases, self.n_raters), -1, dtype=np.int64)
            codes[i, j] = c
            self._store["coded"] = (codes, cats, scale)
        return self._store["coded"]

    def _code(self, v: np.ndarray, i: np.ndarray,
              j: np.ndarray) -> tuple[np.ndarray, tuple, np.ndarray]:
        """Codes of the given ratings ``v`` (cases ``i``, raters ``j``), categories, scale."""
        if self.categories is not None and not _is_numeric_cats(self.categories):
            q = len(self.categories)
            return (v - 1).astype(np.int64), self.categories, np.arange(1.0, q + 1.0)
        declared = None
        if self.categories is not None:
            declared = np.asarray(self.categories, dtype=float)
            if (np.diff(declared) <= 0).any():
                raise RiskevalError(
                    f"numeric categories {self.categories!r} must be listed in increasing order"
                )
        if v.size == 0:
            scale = np.zeros(0) if declared is None else declared
            return np.zeros(0, np.int64), tuple(s.item() for s in scale), scale
        lo, hi = float(v.min()), float(v.max())
        offset = (v - lo).astype(np.int64) if hi - lo <= 100_000 else None
        if offset is not None and (offset == v - lo).all():
            # small integer scale (the usual case): a lookup table instead of a sort
            used = np.bincount(offset, minlength=int(hi - lo) + 1) > 0
            values = np.flatnonzero(used) + lo
            scale = values.astype(float) if declared is None else declared
            pos = np.searchsorted(scale, values)
            hit = (pos < scale.size) & (scale[np.minimum(pos, scale.size - 1)] == values)
            lut = np.full(used.size, -1, dtype=np.int64)
            lut[np.flatnonzero(used)] = np.where(hit, pos, -2)
            codes = lut[offset]
        else:
            scale = np.unique(v) if declared is None else declared
            found = np.minimum(np.searchsorted(scale, v), scale.size - 1)
            codes = np.where(scale[found] == v, found, -2)
        bad = codes == -2
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise RiskevalError(
                f"rating {plain_value(v[k])!r} (case {plain_value(self.cases[i[k]])!r}, "
                f"rater {plain_value(self.raters[j[k]])!r}) "
                f"is not one of the declared categories {self.categories!r}"
            )
        return codes, tuple(s.item() for s in scale), scale

    @property
    def title(self) -> str:  # type: ignore[override]
        """Cases, raters and ratings given, in one line."""
        n = self.entries()[2].size
        empty = self.n_cases * self.n_raters - n
        return (f"Ratings: {self.n_cases} cases x {self.n_raters} raters, {n} ratings given "
                f"({empty} cell{'' if empty == 1 else 's'} not rated)")

    def counts(self) -> pd.DataFrame:
        """How many ratings fell in each category (lowest first), and their share.

        Examples
        --------
        >>> import riskeval as rv
        >>> wide = rv.as_ratings([["low", "high"], ["high", "high"]], categories="low,high")
        >>> wide.counts()["n"].tolist()
        [1, 3]
        """
        _, _, codes, cats, _ = self.coded_entries()
        n = np.bincount(codes, minlength=len(cats)) if codes.size else np.zeros(len(cats), int)
        total = max(int(n.sum()), 1)
        return pd.DataFrame({"n": n.astype(int), "share": n / total},
                            index=pd.Index(list(cats), name="category"))

    def summary(self) -> str:
        """The size of the table and how many ratings fell in each category."""
        order = ("ordered" if self.ordered else "unordered") if self.categories is not None \
            else "numeric, the observed values"
        with pd.option_context("display.max_rows", 30):
            table = self.counts().round({"share": 3}).to_string()
        return f"{self.title}\nCategories ({order}):\n{table}"

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(self.title)}</h4>",
                 self.counts().to_html(float_format=lambda x: f"{x:.3f}")]
        if self.n_cases * self.n_raters <= 1_000_000:  # the wide table, where it is small
            parts.append(self.to_frame().to_html(max_rows=20, max_cols=20))
        return "".join(parts)

    def to_frame(self) -> pd.DataFrame:
        """The wide table as a DataFrame, with category labels where they were declared."""
        if self.categories is not None and not _is_numeric_cats(self.categories):
            codes, cats, _ = self.coded()
            labels = np.asarray(cats, dtype=object)[np.maximum(codes, 0)]
            labels[codes < 0] = None
            out = pd.DataFrame(labels, index=self.cases, columns=self.raters)
            dtype = pd.CategoricalDtype(list(cats), ordered=self.ordered)
            return out.astype(dtype)
        return pd.DataFrame(self.values, index=self.cases, columns=self.raters)


def _encode_categorical(col: pd.Series, cats: tuple, name: str) -> pd.Series:
    """Map a column onto declared categories; raise naming every value that is not one."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    col = _strip_text(col)  # surrounding spaces go; a blank cell is an empty one
    present = col.notna()
    if _is_numeric_cats(cats):
        num = pd.to_numeric(col, errors="coerce")
        not_num = present & num.isna()
        if not_num.any():
            vals = col[not_num]
            labels = sorted(set(map(str, vals)))
            raise RiskevalError(
                f"column {name!r} has non-numeric values {labels[:SHOWN]} "
                f"({name_lines(vals.index)}); expected one of the numeric categories {cats!r}"
                f"{_na_hint(labels)}"
            )
        inside = num.isin(cats) | ~present
        values = num
    else:
        shown = col.astype(str)
        if pd.api.types.is_float_dtype(col):
            # a blank cell made pandas read 1, 2, 3 as 1.0, 2.0, 3.0: 1.0 matches category "1"
            shown = pd.Series([str(int(x)) if np.isfinite(x) and x == int(x) else str(x)
                               for x in col.to_numpy(dtype=float)], index=col.index)
        values = col.astype(object).where(~present, shown)
        inside = values.isin(cats) | ~present
    if not inside.all():
        bad = values[~inside]
        labels = sorted(set(map(str, bad)))
        hints = []
        lowered = {str(c).lower(): c for c in cats}
        for lab in labels[:SHOWN]:
            if lab.lower() in lowered:
                hints.append(f"{lab!r} -> {lowered[lab.lower()]!r}?")
        hint = f" (case differs: {'; '.join(hints)})" if hints else ""
        raise RiskevalError(
            f"column {name!r} has {len(bad)} rating(s) outside the declared categories "
            f"{list(cats)!r}: {labels[:SHOWN]!r} ({name_lines(bad.index)}){hint}. Declare every "
            f"category, lowest first, or correct the ratings.{_na_hint(labels)}"
        )
    return pd.Series(
        pd.Categorical(values, categories=list(cats), ordered=True), index=col.index, name=name
    )


def _na_hint(labels: Sequence[str]) -> str:
    """A reminder, when text that other tools treat as missing is what went wrong."""
    odd = [lab for lab in labels if str(lab).strip().lower() in _NA_LOOKALIKES]
    if not odd:
        return ""
    return (f" (only empty cells count as missing: {', '.join(map(repr, odd[:SHOWN]))} is "
            "read as text; empty such cells, or declare the label as a category if it is one)")


def _complex_at(values: Any) -> np.ndarray:
    """Where an array holds complex numbers with or without an imaginary part (a complex
    dtype, or complex objects among other values)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "c":
        return np.ones(arr.shape, dtype=bool)
    if arr.dtype == object:
        return np.vectorize(lambda x: isinstance(x, complex | np.complexfloating),
                            otypes=[bool])(arr) if arr.size else np.zeros(arr.shape, bool)
    return np.zeros(arr.shape, dtype=bool)


def _reject_complex(col: pd.Series, name: str) -> None:
    """Complex numbers are not ratings: an error naming the first, instead of silently
    dropping their imaginary part."""
    if isinstance(col.dtype, pd.CategoricalDtype):  # only its categories can be complex
        if not _complex_at(col.cat.categories.to_numpy()).any():
            return
        col = col.astype(object)
    bad = _complex_at(col.to_numpy())
    if bad.any():
        vals = col[bad]
        raise RiskevalError(
            f"column {name!r} holds complex numbers ({plain_value(vals.iloc[0])!r} on "
            f"{name_lines(vals.index)}); expected real numbers or category labels"
        )


def _is_text(col: pd.Series) -> bool:
    return col.dtype == object or isinstance(col.dtype, pd.StringDtype)


def _strip_text(col: pd.Series) -> pd.Series:
    """Text stripped of surrounding white space, blank text missing; other values as they are.

    Works on the distinct values (a few thousand identifiers in a million ratings), and returns
    the column itself when nothing changes.
    """
    if not _is_text(col):
        return col
    codes, uniques = pd.factorize(col)
    values = np.asarray(uniques, dtype=object)
    stripped = np.array([x.strip() if isinstance(x, str) else x for x in values] or [],
                        dtype=object)
    blank = np.array([isinstance(x, str) and x == "" for x in stripped], dtype=bool)
    changed = blank.any() or any(isinstance(x, str) and x != y
                                 for x, y in zip(values, stripped, strict=True))
    if not changed:
        return col
    stripped[blank] = np.nan
    out = np.where(codes < 0, np.nan, stripped[np.maximum(codes, 0)]) if len(stripped) else \
        np.full(len(col), np.nan, dtype=object)
    dtype = col.dtype if isinstance(col.dtype, pd.StringDtype) else object
    return pd.Series(out, index=col.index, name=col.name, dtype=dtype)


def _clean_ids(col: pd.Series, role: str, name: str) -> pd.Series:
    """An identifier column stripped of surrounding spaces (blank = missing).

    A column that mixes numbers and text (a DataFrame built by hand, or read from a
    spreadsheet) may hold ``1`` and ``"1"``: one identifier or two? That is an error naming
    both; numbers and text that cannot be confused are kept as they are.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        if not any(isinstance(c, str) and (c == "" or c != c.strip()) for c in cats):
            return col
        col = col.astype(object)
    col = _strip_text(col)
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True).startswith("mixed"):
        values = pd.unique(col.dropna())
        texts = {v for v in values if isinstance(v, str)}
        for v in values:
            if isinstance(v, bool | np.bool_) or not isinstance(
                    v, int | float | np.integer | np.floating):
                continue
            forms = {str(plain_value(v))} | ({str(int(v))} if float(v).is_integer() else set())
            clash = sorted(forms & texts)
            if clash:
                hit = col.map(lambda x, v=v, t=clash[0]: x == t if isinstance(x, str)
                              else (x == v if not isinstance(x, bool) else False))
                raise RiskevalError(
                    f"the {role} column {name!r} holds both {plain_value(v)!r} (a number) and "
                    f"{clash[0]!r} (text) ({name_lines(col.index[hit.to_numpy(dtype=bool)])}); "
                    f"they may be one {role} or two. Give the column one type: all text "
                    f"(df[{name!r}].astype(str)) or all numbers"
                )
    return col


def _officer_key(out: pd.DataFrame, rater: str, office: str
                 ) -> tuple[pd.Series, list[Any], list[str]]:
    """Officers keyed within their office: the rater column, the ids in several offices, warnings.

    When no officer id occurs in two offices the ids are kept as they are (they already
    identify the officer). Otherwise every officer is labelled ``"office / officer"``. When
    only a minority of the ids occur in several offices (ids otherwise unique across offices)
    a warning names them: each is counted as one officer per office, which is wrong if it
    is one person who moved office.
    """
    pairs = out[[office, rater]].drop_duplicates()
    counts = pairs[rater].value_counts(sort=False)
    counts = counts[counts > 0]
    shared = counts[counts > 1]
    if shared.empty:
        return out[rater], [], []
    labels = out[office].astype(str) + " / " + out[rater].astype(str)
    if labels.nunique() != len(pairs):
        raise RiskevalError(
            f"officers labelled 'office / officer' from columns {office!r} and {rater!r} "
            "collide (an office or officer name contains ' / '); rename them"
        )
    shared_ids = [plain_value(i) for i in shared.index]
    notes = []
    if len(shared) < len(counts) / 2:
        parts = []
        for ident in shared.index[:SHOWN]:
            offices = sorted(map(str, pairs.loc[pairs[rater] == ident, office]))
            n = len(offices)
            parts.append(f"{plain_value(ident)!r} in offices {', '.join(offices)} "
                         f"({_SMALL.get(n, str(n))} officers)")
        more = f" and {len(shared) - SHOWN} more" if len(shared) > SHOWN else ""
        notes.append(
            f"officer id {'; '.join(parts)}{more} occurs in more than one office, while "
            f"most ids occur in one. With an office column an officer is identified by "
            f"office and officer id together, so each is counted as separate officers, "
            f"labelled 'office / officer'. If it is one person who moved office, give them "
            f"one office, or leave out the office to identify officers by id alone."
        )
    return labels, shared_ids, notes


def _numbers(col: pd.Series, role: str, name: str, expected: str) -> pd.Series:
    """A column as floats: empty (or blank) cells missing; text or infinities an error."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if pd.api.types.is_bool_dtype(col) or not (
            pd.api.types.is_numeric_dtype(col) or _is_text(col)):
        raise RiskevalError(f"the {role} column {name!r} holds {col.dtype} values; expected "
                            f"{expected}")
    text = _strip_text(col)
    num = pd.to_numeric(text, errors="coerce").astype(float)
    bad = (text.notna() & num.isna()).to_numpy(dtype=bool) | np.isinf(num.to_numpy())
    if bad.any():
        vals = sorted(set(map(str, text[bad])))
        raise RiskevalError(
            f"the {role} column {name!r} holds {', '.join(map(repr, vals[:SHOWN]))} on "
            f"{name_lines(text.index[bad])}; expected {expected} or an empty cell"
        )
    return num


def _check_scale(values: np.ndarray, where: Any) -> None:
    """Finite numbers that can be squared and summed: ``|x| <= MAX_MAGNITUDE``, and a spread
    of at least ``1 / MAX_MAGNITUDE`` when the values differ at all.

    ``where(i)`` describes the value at flat index ``i`` (its column and line, or its case and
    rater) for the message.
    """
    flat = np.asarray(values, dtype=float).ravel()
    inf = np.isinf(flat)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise RiskevalError(f"{where(i)} is infinite ({plain_value(flat[i])!r}); expected a finite "
                            "number or missing")
    finite = ~np.isnan(flat)
    if not finite.any():
        return
    mag = np.where(finite, np.abs(flat), 0.0)
    i = int(np.argmax(mag))
    if mag[i] > MAX_MAGNITUDE:
        power = int(np.floor(np.log10(mag[i])))
        raise RiskevalError(
            f"{where(i)} is {plain_value(flat[i])!r}: ratings this large overflow when squared in "
            f"double precision (the limit is {MAX_MAGNITUDE:g} in magnitude); rescale the "
            f"ratings, e.g. divide them all by 1e{power} (interval and ratio coefficients do "
            f"not change when every rating is multiplied by the same number)"
        )
    lo, hi = float(np.min(flat[finite])), float(np.max(flat[finite]))
    spread = hi - lo
    if 0 < spread < 1 / MAX_MAGNITUDE:
        power = -int(np.floor(np.log10(spread)))
        raise RiskevalError(
            f"the ratings differ by at most {spread:.3g} (from {lo!r} to {hi!r}): differences "
            f"this small vanish when squared in double precision; rescale the ratings, e.g. "
            f"multiply them all by 1e{power} (interval and ratio coefficients do not change "
            f"when every rating is multiplied by the same number)"
        )


def validate_ratings(
    data: pd.DataFrame | Ratings,
    *,
    case: str | None = None,
    rater: str | None = None,
    rating: str | None = None,
    occasion: str | None = None,
    office: str | None = None,
    cohort: str | None = None,
    reference: str | None = None,
    categories: Any = None,
    numeric: bool = False,
) -> pd.DataFrame:
    """Check a long ratings table and return a clean copy.

    Parameters
    ----------
    data : pandas.DataFrame or Ratings
        One row per (case, rater[, occasion]).
    case, rater, rating : str
        Column names of the case (vignette) identifier, the rater (officer) identifier and
        the rating (for :class:`Ratings`, by default its own columns).
    occasion, office, cohort, reference : str, optional
        Optional columns: repeated-assessment occasion, the rater's office, the rater's
        training cohort, and a reference (e.g. expert or true) rating of the case.
    categories : sequence, str or CategoricalDtype, optional
        Ordered categories, lowest first. When given, the rating (and reference) columns are
        returned as ordered categoricals and any other value is an error.
    numeric : bool
        Require numeric ratings (interval/ratio coefficients such as the ICC).

    Returns
    -------
    pandas.DataFrame
        A copy containing only the named columns; the input is never modified.

    Notes
    -----
    *Identifiers* (case, rater, office, occasion) are stripped of surrounding spaces, so
    ``"A"`` and ``"A "`` are one officer; a blank identifier is an empty one. A column that
    holds both a number and the same text (``1`` and ``"1"``) is an error: it is not known
    whether they are one identifier or two; equal numbers (``1`` and ``1.0``) are one. Only
    an empty cell is missing; a blank rating is an empty one. (Files are read with
    identifiers as text, so there ``"1.0"`` and ``"1"`` are two: see :func:`read_table`.)

    *One officer, one identity.* When ``office`` is given, an officer is identified by office
    and officer id together: the same id in two offices is two officers (officers numbered
    1, 2, 3... within each office). The ids are kept as they are when none occurs in two
    offices; otherwise every officer is labelled ``"office / officer"`` (e.g. ``"A / 3"``) in
    the returned rater column, and every analysis of the table sees one identity per officer.
    When only a minority of ids occur in several offices (ids otherwise unique, perhaps a
    person who moved office) a :class:`~riskeval.errors.RiskevalWarning` names them.

    Numeric ratings must be finite and between -1e100 and 1e100 (and, if they differ at all,
    differ by more than 1e-100): beyond that their squares overflow (or vanish) in double
    precision and coefficients would silently be NaN. Rescale such ratings.

    Raises
    ------
    RiskevalError
        Missing or misspelt columns, empty identifiers, duplicate (case, rater[, occasion])
        rows, ratings outside the categories, non-numeric ratings where numbers are needed,
        fewer than two raters or cases with data, or an all-missing rating column.

    Examples
    --------
    >>> import pandas as pd
    >>> import riskeval as rv
    >>> long = pd.DataFrame({"case": ["v1", "v1", "v2", "v2"], "officer": ["a", "b", "a", "b"],
    ...                      "rosh": ["low", "high", "high", "high"]})
    >>> clean = rv.validate_ratings(long, case="case", rater="officer", rating="rosh",
    ...                            categories=rv.RISK_LEVELS)
    >>> clean.shape, clean["rosh"].cat.ordered
    ((4, 3), True)
    >>> clean["rosh"].max()
    'high'
    """
    out, info = _validate(data, case=case, rater=rater, rating=rating, occasion=occasion,
                          office=office, cohort=cohort, reference=reference,
                          categories=categories, numeric=numeric)
    for message in info["warnings"]:
        warnings.warn(message, RiskevalWarning, stacklevel=2)
    return out


#: The roles a column of a ratings table can play, in the order tables show them.
ROLES: tuple[str, ...] = ("case", "rater", "rating", "occasion", "office", "cohort",
                          "reference")

#: How a case and its occasion are joined into one unit label (a case assessed again is a
#: new unit of agreement).
UNIT_JOIN = " @ "


class Ratings(Result):
    """A checked ratings table that knows what each column is: validated once, used by all.

    Build it from a long DataFrame (or with :func:`read_ratings` from a file) and pass it to
    any analysis without column names: ``rv.krippendorff_alpha(ratings)``,
    ``rv.variation.crossed_lmm(ratings)``, ``rv.audit.audit(ratings)``. The checks of
    :func:`validate_ratings` run once, here; the analyses then neither check the table again
    nor rebuild its wide form (cached), which matters on national data. A column name given
    to an analysis still wins (e.g. ``rating="final"`` for another rating column kept in
    the table); a role the table does not have is asked for by name.

    The table cannot be changed in place: :meth:`to_frame` returns a copy, so what was
    checked stays what is analysed. Columns other than the roles are kept as they are
    (covariates such as ``experience``; they are not checked).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per (case, rater[, occasion]); never modified.
    case, rater, rating, occasion, office, cohort, reference, categories, numeric
        As for :func:`validate_ratings`: the columns of each role, the ordered categories
        (lowest first), and whether ratings must be numbers.

    Attributes
    ----------
    roles : dict
        The column of each role given (``{"case": "vignette", "rater": "officer", ...}``).
    categories : tuple or None
        The ordered categories of the rating, lowest first (None for numeric ratings).
    officer_identity : str
        How an officer is identified: by id, or by office and id together (see
        :func:`validate_ratings`).

    Examples
    --------
    >>> import pandas as pd
    >>> import riskeval as rv
    >>> long = pd.DataFrame({"case": ["v1", "v1", "v2", "v2", "v3", "v3"],
    ...                      "officer": ["a", "b", "a", "b", "a", "b"],
    ...                      "rosh": ["low", "high", "high", "high", "medium", "medium"]})
    >>> ratings = rv.Ratings(long, case="case", rater="officer", rating="rosh",
    ...                      categories=rv.RISK_LEVELS)
    >>> ratings.n_cases, ratings.n_raters, ratings.roles["rating"]
    (3, 2, 'rosh')
    >>> round(rv.percent_agreement(ratings).estimate, 3)
    0.667
    >>> print(ratings.summary().splitlines()[0])
    Ratings: 6 ratings of 3 cases by 2 raters
    """

    def __init__(self, data: pd.DataFrame, *, case: str, rater: str, rating: str,
                 occasion: str | None = None, office: str | None = None,
                 cohort: str | None = None, reference: str | None = None,
                 categories: Any = None, numeric: bool = False) -> None:
        roles = {"case": case, "rater": rater, "rating": rating, "occasion": occasion,
                 "office": office, "cohort": cohort, "reference": reference}
        self._build(data, roles, categories, numeric)
        for message in self.notes:
            warnings.warn(message, RiskevalWarning, stacklevel=2)

    def _build(self, data: pd.DataFrame | Ratings, roles: dict[str, str | None],
               categories: Any, numeric: bool) -> None:
        frame, info = _validate(data, categories=categories, numeric=numeric, **roles)
        source = data._frame if isinstance(data, Ratings) else data
        if isinstance(data, Ratings):  # its roles fill those not given here
            roles = {k: v if v is not None else data.roles.get(k) for k, v in roles.items()}
        others = [c for c in source.columns if c not in frame.columns]
        if others:
            frame = pd.concat([frame, source.loc[frame.index, others]], axis=1)
        self._set(frame, roles, info)

    @classmethod
    def _checked(cls, frame: pd.DataFrame, roles: dict[str, str | None],
                 info: dict[str, Any]) -> Ratings:
        """A Ratings over a table that is known to be checked (a part of a checked one)."""
        out = cls.__new__(cls)
        out._set(frame, roles, info)
        return out

    def _set(self, frame: pd.DataFrame, roles: dict[str, str | None],
             info: dict[str, Any]) -> None:
        self._frame = frame
        self._roles = {k: roles[k] for k in ROLES if roles.get(k) is not None}
        self._info = {"warnings": [], **info}
        dtype = frame[self._roles["rating"]].dtype
        self._categories = (tuple(dtype.categories) if isinstance(dtype, pd.CategoricalDtype)
                            and dtype.ordered else None)
        self._wide: WideRatings | None = None

    # -- what the table is ------------------------------------------------------------------
    @property
    def roles(self) -> dict[str, str]:
        return dict(self._roles)

    @property
    def categories(self) -> tuple | None:
        return self._categories

    @property
    def officer_identity(self) -> str:
        return self._info["officer_identity"]

    @property
    def notes(self) -> list[str]:
        """What the checks noticed and let pass (e.g. an officer id used in several offices
        while most are used in one), as warned when the ratings were built."""
        return list(self._info["warnings"])

    @property
    def shared_ids(self) -> list:
        """Officer ids used in more than one office (then labelled ``"office / officer"``)."""
        return list(self._info["shared_ids"])

    def __len__(self) -> int:
        return len(self._frame)

    def _count(self, role: str) -> int | None:
        col = self._roles.get(role)
        return None if col is None else int(self._frame[col].nunique())

    @property
    def n_cases(self) -> int:
        return self._count("case")  # type: ignore[return-value]

    @property
    def n_raters(self) -> int:
        return self._count("rater")  # type: ignore[return-value]

    @property
    def n_offices(self) -> int | None:
        return self._count("office")

    def units(self) -> pd.Series:
        """The unit of agreement of each row: the case, or ``"case @ occasion"`` when cases
        were assessed on several occasions (each assessment is then a unit)."""
        case = self._frame[self._roles["case"]]
        occasion = self._roles.get("occasion")
        if occasion is None:
            return case.copy()
        return (case.astype(str) + UNIT_JOIN + self._frame[occasion].astype(str)).rename(
            "unit")

    @property
    def wide(self) -> WideRatings:
        """The units x raters form (built once, then reused by every analysis)."""
        if self._wide is None:
            unit = self.units()
            rater, rating = self._roles["rater"], self._roles["rating"]
            long = pd.DataFrame({unit.name: unit, rater: self._frame[rater],
                                 rating: self._frame[rating]})
            wide = to_wide(long, case=unit.name, rater=rater, rating=rating, validate=False)
            _check_wide(wide)
            self._wide = wide
        return self._wide

    def checked_for(self, roles: dict[str, str | None], categories: Any = None,
                    numeric: bool = False) -> bool:
        """Whether these ratings were checked for what an analysis asks: the same column for
        every role it names (``{"case": "vignette", ...}``; None = this table's own), the
        same categories (None = its own), numbers when ``numeric``."""
        asked = {k: v if v is not None else self._roles.get(k) for k, v in roles.items()}
        return _known_copy(self, asked, categories, numeric, copy=False) is not None

    def by(self, *keys: str) -> Iterator[tuple[Any, Ratings]]:
        """The table split by columns, each named or given by its role (``"office"``), as
        ``(label, Ratings)`` (a tuple label for several keys).

        The parts are not checked again (an office with a single officer is a part like any
        other: an analysis that needs two says so).

        Examples
        --------
        >>> import riskeval as rv
        >>> data = rv.simulate(rv.world.scenarios.six_office_study(
        ...     n_offices=2, officers_per_office=3, n_vignettes=4), seed=1)
        >>> ratings = rv.Ratings(data, case="case", rater="officer", rating="rating",
        ...                      office="office")
        >>> [(office, part.n_raters) for office, part in ratings.by("office")]
        [('Office 1', 3), ('Office 2', 3)]
        """
        cols = [k if k in self._frame.columns else self.column_of(k) for k in keys]
        for label, part in self._frame.groupby(cols if len(cols) > 1 else cols[0],
                                               sort=True, observed=True):
            yield label, Ratings._checked(part, self._roles, self._info)

    def column_of(self, role: str) -> str:
        """The column holding ``role`` (an error naming the roles there are when absent)."""
        if role not in self._roles:
            raise RiskevalError(
                f"the ratings have no {role} column (their roles: "
                f"{', '.join(f'{k}={v!r}' for k, v in self._roles.items())}); give "
                f"{role}= the column's name")
        return self._roles[role]

    # -- the result protocol ----------------------------------------------------------------
    @property
    def title(self) -> str:  # type: ignore[override]
        offices = (f" in {self.n_offices} offices" if self.n_offices is not None else "")
        return (f"Ratings: {len(self)} ratings of {self.n_cases} cases by {self.n_raters} "
                f"raters{offices}")

    def to_frame(self) -> pd.DataFrame:
        """The checked table (a copy: changing it leaves these ratings as they were)."""
        return self._frame.copy()

    def summary(self) -> str:
        """What the table holds, which column is which, and how officers are identified."""
        roles = ", ".join(f"{k}={v!r}" for k, v in self._roles.items())
        scale = (" < ".join(map(str, self._categories)) if self._categories is not None
                 else "numbers")
        lines = [self.title, f"Columns: {roles}", f"Ratings: {scale}",
                 f"An officer is identified by {self.officer_identity}"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<br>{html.escape(line)}" for line in self.summary().splitlines()[1:])
        return (f"<h4>{html.escape(self.title)}</h4><p>{head[4:]}</p>"
                f"{self._frame.to_html(max_rows=10, max_cols=20)}")


def columns_of(data: Any, need: Sequence[str] = (), **given: str | None
               ) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """The table an analysis reads and the column of each role it asks for, checked.

    ``data`` is a DataFrame or :class:`Ratings`. For ratings, a role (see :data:`ROLES`) not
    given is its own column, and the table is its checked table (shared: the analysis only
    reads it). Every column named must be in the table, and no column may serve two roles;
    a role in ``need`` without a column is an error naming the keyword.
    """
    if isinstance(data, Ratings):
        cols = {k: v if v is not None or k not in ROLES else data.roles.get(k)
                for k, v in given.items()}
        frame = data._frame
    elif isinstance(data, pd.DataFrame):
        cols = dict(given)
        frame = data
    else:
        raise RiskevalTypeError(
            f"data must be a pandas DataFrame or riskeval.Ratings; got {type(data).__name__}")
    missing = [k for k in need if cols.get(k) is None]
    if missing:
        where = (" (these ratings have no such role)" if isinstance(data, Ratings) else
                 " (or pass riskeval.Ratings, which know their columns)")
        raise RiskevalError(
            f"give the column of the {', '.join(missing)}: "
            f"{', '.join(k + '=' for k in missing)}{where}")
    check_columns(frame, cols)
    return frame, cols


def _known_copy(data: Ratings, roles: dict[str, str | None], categories: Any,
                numeric: bool, *, copy: bool = True) -> pd.DataFrame | None:
    """The role columns of checked ratings (a copy) when they were checked for what is asked
    now (the same column for every role asked, the same categories, numbers where numbers
    are needed); None when the table must be checked again for it."""
    asked = {k: v for k, v in roles.items() if v is not None}
    if any(data.roles.get(k) != v for k, v in asked.items()):
        return None
    if categories is not None and parse_categories(categories) != data.categories:
        return None
    if numeric and not pd.api.types.is_float_dtype(data._frame[asked["rating"]]):
        return None
    if not copy:
        return data._frame
    return data._frame[list(dict.fromkeys(asked.values()))].copy()


def _validate(frame: pd.DataFrame | Ratings, **options: Any
              ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`validate_ratings` (its keyword options), returning also how officers are
    identified.

    The dict holds ``officer_identity`` (:data:`OFFICER_IN_OFFICE` or :data:`OFFICER_BY_ID`),
    ``shared_ids`` (officer ids used in more than one office; when not empty the rater column
    holds ``"office / officer"`` labels) and ``warnings`` (messages, not yet issued).
    Messages name the rows as the file the table was read from numbers them (the lines of
    a CSV file, the rows of a sheet: :func:`_row_names`).
    """
    source = frame._frame if isinstance(frame, Ratings) else frame
    with rows_named(*_row_names(source)):
        return _validate_rows(frame, **options)


def _row_names(frame: Any) -> tuple[str | None, Callable[[int], str] | None]:
    """How messages name the rows of ``frame`` (index labels as read): from the ``attrs``
    the readers set -- ``"sheet 'Ratings' rows"`` and the sheet row of row 0; for a table
    converted from a wide one, also the officer column of each rating. ``(None, None)``
    (lines of a CSV file) for a table that says nothing."""
    attrs = getattr(frame, "attrs", None) or {}
    label = attrs.get("riskeval_rows")
    if not isinstance(label, str):
        return None, None
    first = int(attrs.get("riskeval_first_row", 2))
    wide = attrs.get("riskeval_wide")
    if wide:
        width = len(wide)
        return label, lambda i: f"{i // width + first} (column {wide[i % width]!r})"
    return label, lambda i: str(i + first)


def _validate_rows(
    frame: pd.DataFrame | Ratings,
    *,
    case: str | None = None,
    rater: str | None = None,
    rating: str | None = None,
    occasion: str | None = None,
    office: str | None = None,
    cohort: str | None = None,
    reference: str | None = None,
    categories: Any = None,
    numeric: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    roles = {"case": case, "rater": rater, "rating": rating, "occasion": occasion,
             "office": office, "cohort": cohort, "reference": reference}
    if isinstance(frame, Ratings):  # checked already: its roles fill those not given
        roles = {k: v if v is not None else frame.roles.get(k) for k, v in roles.items()}
        known = _known_copy(frame, roles, categories, numeric)
        if known is not None:
            return known, {**frame._info, "warnings": []}  # warned when it was built
        case, rater, rating = roles["case"], roles["rater"], roles["rating"]
        occasion, office, reference = roles["occasion"], roles["office"], roles["reference"]
        frame = frame._frame
    if not isinstance(frame, pd.DataFrame):
        raise RiskevalTypeError(
            f"expected a pandas DataFrame of ratings, got {type(frame).__name__}"
        )
    columns_of(frame, ("case", "rater", "rating"), **roles)  # named, and in the table
    if len(frame) == 0:
        raise RiskevalError("the ratings table has no rows; expected one row per (case, rater)")
    out = frame[[c for c in roles.values() if c is not None]].copy()
    for role in ID_ROLES:
        col = roles[role]
        if col is None:
            continue
        out[col] = _clean_ids(out[col], role, col)
        missing = out[col].isna().to_numpy(dtype=bool)
        if missing.any():
            article = "an" if role[0] in "aeiou" else "a"
            raise RiskevalError(
                f"the {role} column {col!r} is empty on {name_lines(out.index[missing])}; "
                f"every row needs {article} {role} identifier"
            )
    info: dict[str, Any] = {"officer_identity": OFFICER_BY_ID, "shared_ids": [],
                            "warnings": []}
    if office is not None:
        out[rater], info["shared_ids"], info["warnings"] = _officer_key(out, rater, office)
        info["officer_identity"] = OFFICER_IN_OFFICE
    keys = [case, rater] + ([occasion] if occasion else [])
    dup = out.duplicated(keys, keep=False)
    if dup.any():
        first = out.loc[dup, keys].drop_duplicates().head(SHOWN)
        shown = "; ".join(
            ", ".join(f"{k}={plain_value(v)!r}" for k, v in zip(keys, row, strict=True))
            for row in first.itertuples(index=False)
        )
        what = "(case, rater, occasion)" if occasion else "(case, rater)"
        hint = ""
        if getattr(frame, "attrs", {}).get("riskeval_wide"):
            hint = " In a wide table each case has one row: merge the rows of a case."
        elif not occasion and has_option("occasion"):
            hint = (f" If officers rated cases more than once, give the column of the "
                    f"occasion: {option('occasion')}.")
        elif not occasion:
            hint = " Keep one rating per officer and case."
        raise RiskevalError(
            f"{int(dup.sum())} rows repeat a {what} pair ({name_lines(out.index[dup])}): {shown}. "
            f"Each {what} must appear once.{hint}"
        )
    cats = parse_categories(categories)
    if isinstance(out[rating].dtype, pd.CategoricalDtype) and cats is None:
        if out[rating].cat.ordered:
            cats = tuple(out[rating].cat.categories)
    for col in [rating] + ([reference] if reference else []):
        _reject_complex(out[col], col)
        if cats is not None:
            out[col] = _encode_categorical(out[col], cats, col)
        elif numeric or pd.api.types.is_numeric_dtype(out[col]):
            text = _strip_text(out[col])
            num = pd.to_numeric(text, errors="coerce")
            bad = (text.notna() & num.isna()).to_numpy(dtype=bool)
            if bad.any():
                vals = sorted(set(map(str, text[bad])))
                raise RiskevalError(
                    f"column {col!r} must hold numbers, but has {vals[:SHOWN]!r} "
                    f"({name_lines(out.index[bad])}). For labelled levels pass "
                    f"{option('categories', 'low,medium,high,very high')}.{_na_hint(vals)}"
                )
            out[col] = num.astype(float)
            index = out.index
            _check_scale(out[col].to_numpy(),
                         lambda i, c=col, ix=index: f"column {c!r} on {name_lines(ix[i:i + 1])}")
    if out[rating].isna().all():
        raise RiskevalError(f"the rating column {rating!r} is entirely missing")
    rated = out[out[rating].notna()]
    n_raters, n_cases = rated[rater].nunique(), rated[case].nunique()
    if n_raters < 2:
        raise RiskevalError(
            f"only {n_raters} rater ({rated[rater].unique()[:1].tolist()!r}) has ratings in "
            f"column {rater!r}; agreement needs at least two raters"
        )
    if n_cases < 2:
        raise RiskevalError(
            f"only {n_cases} case has ratings in column {case!r}; agreement needs at least "
            "two cases"
        )
    return out, info


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_SEPARATORS = ((";", "semicolons"), ("\t", "tabs"), ("|", "bars"))


def _shown_sep(sep: str) -> str:
    return "\\t" if sep == "\t" else sep


def _head(path: str) -> bytes:
    """The first bytes of a file, or an error saying why it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(65536)
    except PermissionError:
        raise RiskevalError(f"cannot read the ratings file {path!r}: permission denied; check "
                            "that you may read it (or copy it somewhere you can)") from None
    except OSError as exc:
        raise RiskevalError(f"cannot read the ratings file {path!r}: "
                            f"{exc.strerror or exc}") from None


def _encoding_of(head: bytes, encoding: str | None) -> str:
    """The encoding to read with: the caller's, else the one a byte-order mark names, else
    UTF-8 (with or without a mark)."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise RiskevalError(
                f"unknown encoding {encoding!r}; expected a name such as 'utf-8', 'cp1252' "
                "(Windows, Western European), 'latin-1' or 'utf-16'") from None
        return encoding
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return "utf-8-sig"


def _sniff(head: bytes, encoding: str) -> str:
    """The delimiter of a file whose header line holds no comma but semicolons or tabs."""
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    except LookupError:  # pragma: no cover - checked in _encoding_of
        return ","
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    if "," not in first:
        for sep in (";", "\t"):
            if sep in first:
                return sep
    return ","


def _decode_error(path: str, exc: UnicodeDecodeError) -> RiskevalError:
    byte = exc.object[exc.start:exc.start + 1].hex() if exc.object else "?"
    if exc.encoding.replace("-", "").replace("_", "").lower().startswith("utf8"):
        return RiskevalError(
            f"{path!r} is not UTF-8 text (byte 0x{byte} at position {exc.start}); it was "
            f"probably saved by a spreadsheet program in the Windows (Western European) "
            f"encoding: read it with {option('encoding', 'cp1252')} (or "
            f"{option('encoding', 'latin-1')}), or save the file as 'CSV UTF-8'")
    return RiskevalError(
        f"{path!r} cannot be read as {exc.encoding} (byte 0x{byte} at position "
        f"{exc.start}); give the file's encoding with {option('encoding')}, e.g. "
        f"{option('encoding', 'utf-8')} or {option('encoding', 'cp1252')}")


def read_table(path: str | os.PathLike, *, text_columns: Sequence[str] = (),
               encoding: str | None = None, sheet: str | int | None = None,
               **read_csv_kwargs: Any) -> pd.DataFrame:
    """Read a table of ratings as it is -- a CSV file, a spreadsheet's sheet or a Parquet
    file -- with clear errors for files that are not what we expect.

    Parameters
    ----------
    path : str or path-like
        The file (CSV, ``.xlsx``, ``.xlsm``, ``.ods``, ``.parquet``); only read, never
        modified. What the file is, is decided by its content (see Notes).
    text_columns : sequence of str
        Columns read as text, never as numbers: identifiers (case, officer, office,
        occasion), so that ``0001`` and ``1``, ``007`` and ``7``, ``1.0`` and ``1`` stay
        different identifiers. Names not in the file are ignored here.
    encoding : str, optional
        A CSV file's text encoding, e.g. ``"cp1252"`` (Windows, Western European) or
        ``"latin-1"``. By default UTF-8, or UTF-16 when the file starts with a UTF-16
        byte-order mark (as spreadsheet programs write "Unicode text"). CSV only.
    sheet : str or int, optional
        The sheet of a spreadsheet to read, by name or by 0-based position (default the
        first sheet). :func:`sheet_names` lists them. Spreadsheets only.
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv` (CSV only; ``sep=`` and ``delimiter=`` name the
        column delimiter).

    Returns
    -------
    pandas.DataFrame
        One row per row of the file. Its ``attrs`` say how error messages name the file's
        rows (``"lines"`` of a CSV file, ``"sheet 'Ratings' rows"`` of a spreadsheet), which
        :func:`validate_ratings` and :class:`Ratings` use.

    Notes
    -----
    *Formats.* A file is read by what it holds, whatever its extension: a zip archive
    (``PK``) is a spreadsheet -- an OpenDocument spreadsheet (``.ods``) when its
    ``mimetype`` entry says so, an Excel workbook (``.xlsx``, ``.xlsm``) when its
    ``[Content_Types].xml`` does; a file starting ``PAR1`` is Parquet; an old binary Excel
    workbook (``.xls``) is read when the spreadsheet reader can, else the error says to save
    it as ``.xlsx`` or CSV; anything else is CSV text. So a ``ratings.csv`` that is really a
    workbook is read as the workbook. Spreadsheets are read with ``python-calamine``,
    Parquet files with ``pyarrow`` (``pip install "riskeval[parquet]"``). :func:`file_kind`
    says what a file is.

    A sheet is read as its CSV export would be: the first row with a cell in it is the
    header, and rows are named as the spreadsheet numbers them (``sheet 'Ratings' rows 2,
    5`` in messages, the header being row 1). A number in a text column is written as a
    spreadsheet shows it (the officer ``7``, not ``7.0``). Rows of a Parquet file are
    counted from 1 (``Parquet rows 1, 4``).

    *Missing values.* Only an empty cell is missing: text such as ``NA``, ``None`` or
    ``null`` is read as the text it is (it may be a category or an officer's initials),
    unlike pandas' default. A cell holding only white space counts as empty, and surrounding
    white space is stripped from every text cell; a column whose cells are then all numbers
    (or empty) is numeric. For CSV, pass ``keep_default_na=True`` to get pandas' default
    missing-value tokens back.

    *CSV.* A UTF-8 or UTF-16 byte-order mark (as spreadsheet programs write) is accepted. A
    file that is not UTF-8 is an error suggesting ``encoding="cp1252"``. Without ``sep=``, a
    file whose header line holds no comma but semicolons (or tabs) is read with that
    delimiter. A file whose header is one column holding semicolons, tabs or bars, read
    with a comma, was written with another delimiter: the error says which and how to pass
    it (``sep=``, or ``--delimiter`` on the command line). ``sep=``, ``encoding=`` and the
    other options of :func:`pandas.read_csv` given for a spreadsheet or Parquet file are an
    error: they apply to CSV only.

    Examples
    --------
    Identifiers stay as written, and "NA" is text, not a missing value:

    >>> import os
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "ratings.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("case,officer,rating\\nv1,007,NA\\nv1,7,high\\n")
    >>> table = read_table(path, text_columns=["officer"])
    >>> table["officer"].tolist(), table["rating"].tolist()
    (['007', '7'], ['NA', 'high'])

    A sheet of a workbook, by name; the officer typed as the number 7 is the text ``"7"``:

    >>> import pandas as pd
    >>> book = os.path.join(tempfile.mkdtemp(), "ratings.xlsx")
    >>> with pd.ExcelWriter(book) as writer:
    ...     pd.DataFrame({"notes": ["none"]}).to_excel(writer, sheet_name="Notes", index=False)
    ...     pd.DataFrame({"case": ["v1", "v1"], "officer": ["007", 7],
    ...                   "rating": ["low", "high"]}).to_excel(writer, sheet_name="Ratings",
    ...                                                        index=False)
    >>> sheet_names(book)
    ['Notes', 'Ratings']
    >>> table = read_table(book, sheet="Ratings", text_columns=["officer"])
    >>> table["officer"].tolist(), table.attrs["riskeval_rows"]
    (['007', '7'], "sheet 'Ratings' rows")
    """
    return _read_table(path, text_columns=text_columns, encoding=encoding, sheet=sheet,
                       read_csv_kwargs=read_csv_kwargs)


#: What :func:`file_kind` answers, and what each is called in messages.
FILE_KINDS: dict[str, str] = {
    "csv": "a CSV file",
    "xlsx": "an Excel workbook (.xlsx or .xlsm)",
    "ods": "an OpenDocument spreadsheet (.ods)",
    "xls": "an old Excel workbook (.xls)",
    "parquet": "a Parquet file",
}
_SPREADSHEETS = ("xlsx", "ods", "xls")
_ZIP_MAGIC, _PARQUET_MAGIC, _OLE_MAGIC = b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0"
_UNNAMED = re.compile(r"Unnamed: \d+")
_MANGLED = re.compile(r"(.*)\.(\d+)")


def _file_path(path: str | os.PathLike) -> str:
    """The path as a string, or an error when there is no file to read there."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise RiskevalError(f"no such ratings file: {path!r}")
    if os.path.isdir(path):
        raise RiskevalError(f"{path!r} is a folder; expected a CSV file of ratings (or a "
                            f"spreadsheet or Parquet file)")
    return path


def file_kind(path: str | os.PathLike) -> str:
    """What a ratings file is, by its content (its extension is not trusted).

    Parameters
    ----------
    path : str or path-like
        The file; only its first bytes are read.

    Returns
    -------
    str
        ``"csv"`` (text; also an empty file), ``"xlsx"`` (an Excel workbook, ``.xlsx`` or
        ``.xlsm``), ``"ods"`` (an OpenDocument spreadsheet), ``"xls"`` (an old binary Excel
        workbook, or one protected by a password) or ``"parquet"``.

    Notes
    -----
    A zip archive (starting ``PK\\x03\\x04``) is an ``.ods`` spreadsheet when its
    ``mimetype`` entry names an OpenDocument spreadsheet and an Excel workbook when its
    ``[Content_Types].xml`` names a workbook; another zip archive (a Word document, say) is
    an error. A file starting ``PAR1`` is Parquet, one starting ``D0 CF 11 E0`` an old Excel
    workbook; anything else is read as CSV text.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> book = os.path.join(folder, "ratings.xlsx")
    >>> pd.DataFrame({"case": ["v1"]}).to_excel(book, index=False)
    >>> disguised = os.path.join(folder, "ratings.csv")  # a workbook named .csv
    >>> os.replace(book, disguised)
    >>> file_kind(disguised)
    'xlsx'
    >>> plain = os.path.join(folder, "plain.xlsx")  # text named .xlsx
    >>> with open(plain, "w") as f:
    ...     _ = f.write("case,officer,rating\\n")
    >>> file_kind(plain)
    'csv'
    """
    path = _file_path(path)
    return _kind_of(path, _head(path))


def _kind_of(path: str, head: bytes) -> str:
    if head.startswith(_ZIP_MAGIC):
        return _zip_kind(path)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_OLE_MAGIC):
        return "xls"
    return "csv"


def _zip_kind(path: str) -> str:
    """``"ods"`` or ``"xlsx"`` for a zip archive, by the entries that name what it holds."""
    damaged = (f"{path!r} starts as a spreadsheet does (.xlsx, .xlsm and .ods files are zip "
               f"archives) but cannot be opened: it is damaged or incomplete; open it in your "
               f"spreadsheet program and save it again, or save the sheet as CSV")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mime = archive.read("mimetype")[:200].decode("ascii", "replace").strip()
                if "opendocument.spreadsheet" in mime:
                    return "ods"
                raise RiskevalError(
                    f"{path!r} is an OpenDocument file of another kind ({mime!r}), not a "
                    f"spreadsheet; expected a CSV file, a spreadsheet (.xlsx, .xlsm, .ods) or "
                    f"a Parquet file of ratings")
            if "[Content_Types].xml" in names:
                types = archive.read("[Content_Types].xml")
                if b"spreadsheetml" in types or b"ms-excel" in types:
                    return "xlsx"
                raise RiskevalError(
                    f"{path!r} is an Office document that is not a workbook (a Word or "
                    f"PowerPoint file?); expected a CSV file, a spreadsheet (.xlsx, .xlsm, "
                    f".ods) or a Parquet file of ratings")
            if "content.xml" in names:
                return "ods"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError):
        raise RiskevalError(damaged) from None
    raise RiskevalError(f"{path!r} is a zip archive, not a spreadsheet; expected a CSV file, "
                        f"a spreadsheet (.xlsx, .xlsm, .ods) or a Parquet file of ratings "
                        f"(unzip it first if the ratings are inside)")


def sheet_names(path: str | os.PathLike) -> list[str]:
    """The names of a spreadsheet's sheets, in workbook order; ``[]`` for a CSV or Parquet
    file (which have none).

    Parameters
    ----------
    path : str or path-like
        The file (``.xlsx``, ``.xlsm``, ``.ods``; any other file gives ``[]``). What it is,
        is decided by its content, as :func:`file_kind` does.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import pandas as pd
    >>> book = os.path.join(tempfile.mkdtemp(), "offices.ods")
    >>> with pd.ExcelWriter(book, engine="odf") as writer:
    ...     for name in ("North", "South"):
    ...         pd.DataFrame({"case": ["v1"]}).to_excel(writer, sheet_name=name, index=False)
    >>> sheet_names(book)
    ['North', 'South']
    """
    path = _file_path(path)
    kind = _kind_of(path, _head(path))
    if kind not in _SPREADSHEETS:
        return []
    return [str(name) for name in _workbook(path, kind).sheet_names]


def _workbook(path: str, kind: str) -> Any:
    """The workbook as python-calamine opens it (from its content, not its extension)."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - a runtime dependency
        raise RiskevalError(f"{path!r} is {FILE_KINDS[kind]}; reading spreadsheets needs "
                            f"python-calamine: pip install python-calamine (or save the sheet "
                            f"as CSV)") from None
    try:
        with open(path, "rb") as fh:
            data = io.BytesIO(fh.read())
        return CalamineWorkbook.from_filelike(data)
    except OSError as exc:
        raise RiskevalError(f"cannot read the ratings file {path!r}: "
                            f"{exc.strerror or exc}") from None
    except Exception as exc:  # calamine's own errors on a damaged or foreign file
        if kind == "xls":
            raise RiskevalError(
                f"{path!r} is an old Excel workbook (.xls), or a workbook protected by a "
                f"password, and could not be read ({_reason(exc)}); open it in your "
                f"spreadsheet program and save it as .xlsx (Excel Workbook) or as CSV UTF-8, "
                f"without a password") from None
        raise RiskevalError(
            f"{path!r} is {FILE_KINDS[kind]} that could not be read ({_reason(exc)}); it may "
            f"be damaged: open it in your spreadsheet program and save it again, or save "
            f"the sheet as CSV") from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _choose_sheet(book: Any, sheet: Any, path: str) -> tuple[str, Any]:
    """The sheet asked for (by name or 0-based position; the first by default)."""
    names = [str(n) for n in book.sheet_names]
    listed = ", ".join(map(repr, names))
    if not names:
        raise RiskevalError(f"the spreadsheet {path!r} has no sheets")
    if sheet is None:
        pos = 0
    elif isinstance(sheet, bool) or not isinstance(sheet, str | int | np.integer):
        raise RiskevalTypeError(f"sheet must be a sheet's name or its 0-based position, not "
                                f"{type(sheet).__name__}")
    elif isinstance(sheet, str):
        if sheet not in names:
            close = [n for n in names if n.strip().casefold() == sheet.strip().casefold()]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RiskevalError(f"the spreadsheet {path!r} has no sheet {sheet!r}.{hint} Its "
                                f"sheets: {listed}")
        pos = names.index(sheet)
    else:
        pos = int(sheet)
        if not 0 <= pos < len(names):
            raise RiskevalError(
                f"the spreadsheet {path!r} has {len(names)} sheet"
                f"{'' if len(names) == 1 else 's'} ({listed}); sheet {pos} is not one of "
                f"them (positions count from 0: 0 to {len(names) - 1})")
    try:
        return names[pos], book.get_sheet_by_index(pos)
    except Exception as exc:  # a chart sheet or a damaged one
        raise RiskevalError(f"sheet {names[pos]!r} of {path!r} cannot be read as a table "
                            f"({_reason(exc)}); choose another with {option('sheet')}. Its "
                            f"sheets: {listed}") from None


def _cell_text(value: Any) -> str:
    """A cell as a spreadsheet shows it and its CSV export writes it: the number 7 (which
    the reader gives as 7.0) as ``"7"``, an empty cell as ``""``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime | pd.Timestamp):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _read_table(path: str | os.PathLike, *, text_columns: Sequence[str] = (),
                encoding: str | None = None, sheet: Any = None,
                read_csv_kwargs: dict[str, Any] | None = None,
                all_text: bool = False) -> pd.DataFrame:
    """:func:`read_table`; ``all_text`` reads every column as text (a wide table's cells)."""
    path = _file_path(path)
    head = _head(path)
    if os.path.getsize(path) == 0:
        raise RiskevalError(f"the ratings file {path!r} is empty; expected a CSV with a header")
    kind = _kind_of(path, head)
    kwargs = dict(read_csv_kwargs or {})
    text = [c for c in text_columns if c is not None]
    if kind == "csv":
        if sheet is not None:
            raise RiskevalError(f"{path!r} is a CSV file, which has no sheets; leave out "
                                f"{option('sheet')} (it chooses a sheet of a spreadsheet)")
        if all_text and kwargs.get("dtype") is None:
            kwargs["dtype"] = str
        frame = _read_csv(path, head, text, encoding, kwargs)
        frame.attrs.update({"riskeval_rows": "lines", "riskeval_first_row": 2})
        return frame
    given = [k for k, v in kwargs.items() if v is not None]
    if encoding is not None:
        given.insert(0, "encoding")
    if given:
        shown = ", ".join(option(k) for k in given)
        raise RiskevalError(f"{shown} appl{'ies' if len(given) == 1 else 'y'} to CSV files "
                            f"only; {path!r} is {FILE_KINDS[kind]}: leave "
                            f"{'it' if len(given) == 1 else 'them'} out")
    if kind == "parquet":
        if sheet is not None:
            raise RiskevalError(f"{path!r} is a Parquet file, which has no sheets; leave out "
                                f"{option('sheet')}")
        return _read_parquet(path, text, all_text)
    return _read_sheet(path, kind, sheet, text, all_text)


def _read_sheet(path: str, kind: str, sheet: Any, text: list[str],
                all_text: bool) -> pd.DataFrame:
    """A sheet read as its CSV export would be, rows named as the spreadsheet numbers them."""
    name, ws = _choose_sheet(_workbook(path, kind), sheet, path)
    try:
        rows = ws.to_python(skip_empty_area=False)
    except Exception as exc:
        raise RiskevalError(f"sheet {name!r} of {path!r} cannot be read ({_reason(exc)}); "
                            f"save it again, or save the sheet as CSV") from None
    cells = [[_cell_text(v) for v in row] for row in rows]
    filled = [any(c.strip() for c in row) for row in cells]
    if not any(filled):
        raise RiskevalError(f"sheet {name!r} of the ratings file {path!r} is empty; expected a "
                            f"header row naming the columns, then one row per rating"
                            f"{_other_sheets(ws, name, path)}")
    top = filled.index(True)  # the header: the first row with a cell in it
    last = len(filled) - 1 - filled[::-1].index(True)
    cells = cells[top:last + 1]
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    keep = [j for j in range(width) if any(row[j].strip() for row in cells)]
    cells = [[row[j] for j in keep] for row in cells]
    if len(cells) == 1:
        raise RiskevalError(f"the ratings file {path!r} has a header but no rows of ratings "
                            f"(sheet {name!r})")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(cells)
    buffer.seek(0)
    dtype: Any = str if all_text else {c: str for c in text}
    frame = pd.read_csv(buffer, sep=",", dtype=dtype, keep_default_na=False, na_values=[""])
    frame = _tidy_text(frame, set(frame.columns) if all_text else set(text))
    frame.attrs.update({"riskeval_rows": f"sheet {name!r} rows",
                        "riskeval_first_row": top + 2, "riskeval_header": cells[0]})
    return frame


def _other_sheets(ws: Any, name: str, path: str) -> str:
    try:
        names = _workbook(path, _kind_of(path, _head(path))).sheet_names
    except RiskevalError:  # pragma: no cover - it was read a moment ago
        return ""
    others = [n for n in names if n != name]
    if not others:
        return ""
    return (f"; the other sheets ({', '.join(map(repr, others))}) are chosen with "
            f"{option('sheet')}")


def _as_text(col: pd.Series) -> pd.Series:
    """A column as text, numbers written as a spreadsheet shows them (7.0 as ``"7"``),
    missing values missing."""
    if isinstance(col.dtype, pd.StringDtype):
        return col
    codes, uniques = pd.factorize(col.astype(object) if isinstance(col.dtype,
                                                                 pd.CategoricalDtype) else col)
    shown = np.array([_cell_text(v) for v in np.asarray(uniques, dtype=object)] or [],
                     dtype=object)
    shown[shown == ""] = np.nan
    out = np.where(codes < 0, np.nan, shown[np.maximum(codes, 0)]) if len(shown) else \
        np.full(len(col), np.nan, dtype=object)
    return pd.Series(out, index=col.index, name=col.name, dtype=str)


def _read_parquet(path: str, text: list[str], all_text: bool) -> pd.DataFrame:
    """A Parquet file, identifiers as text; its rows counted from 1 in messages."""
    need = (f"{path!r} is a Parquet file; reading Parquet files needs pyarrow: "
            f"pip install \"riskeval[parquet]\" (or save the table as CSV)")
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise RiskevalError(need) from None
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except ImportError:
        raise RiskevalError(need) from None
    except OSError as exc:
        raise RiskevalError(f"could not read {path!r} as a Parquet file "
                            f"({_reason(exc)}); it may be damaged or incomplete") from None
    except Exception as exc:  # pyarrow's own errors on a damaged file
        raise RiskevalError(f"could not read {path!r} as a Parquet file "
                            f"({_reason(exc)}); it may be damaged or incomplete") from None
    if not isinstance(frame.index, pd.RangeIndex):
        named = any(n is not None for n in frame.index.names)
        frame = frame.reset_index(drop=not named)
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[1] == 0:
        raise RiskevalError(f"the ratings file {path!r} has no columns")
    if frame.empty:
        raise RiskevalError(f"the ratings file {path!r} has a header but no rows of ratings")
    frame = frame.reset_index(drop=True)
    wanted = set(frame.columns) if all_text else set(text)
    for col in frame.columns:
        if col in wanted:
            frame[col] = _as_text(frame[col])
    frame = _tidy_text(frame, wanted)
    frame.attrs.update({"riskeval_rows": "Parquet rows", "riskeval_first_row": 1})
    return frame


def _read_csv(path: str, head: bytes, text: list[str], encoding: str | None,
              read_csv_kwargs: dict[str, Any]) -> pd.DataFrame:
    """A CSV file as :func:`read_table` reads it."""
    if "sep" in read_csv_kwargs and "delimiter" in read_csv_kwargs:
        raise RiskevalTypeError("give the delimiter once: sep= or delimiter=, not both")
    if "delimiter" in read_csv_kwargs:
        read_csv_kwargs["sep"] = read_csv_kwargs.pop("delimiter")
    given_encoding = read_csv_kwargs.pop("encoding", None)
    encoding = encoding if encoding is not None else given_encoding
    encoding = _encoding_of(head, encoding)
    read_csv_kwargs["encoding"] = encoding
    sep = read_csv_kwargs.get("sep")
    if sep is None:
        sep = read_csv_kwargs["sep"] = _sniff(head, encoding)
    elif not isinstance(sep, str) or sep == "":
        raise RiskevalError(
            f"the delimiter {sep!r} is empty; give the character between columns, e.g. "
            f"{option('sep', ';')} (a tab: {option('sep', _shown_sep(chr(9)))})")
    elif sep == "\\t":  # typed as backslash-t on the command line
        sep = read_csv_kwargs["sep"] = "\t"
    read_csv_kwargs.setdefault("keep_default_na", False)
    na_values = read_csv_kwargs.get("na_values")
    if na_values is None:
        read_csv_kwargs["na_values"] = [""]
    elif not isinstance(na_values, dict):
        extra = [na_values] if isinstance(na_values, str) else list(na_values)
        read_csv_kwargs["na_values"] = ["", *extra]
    dtype = read_csv_kwargs.get("dtype")
    if text and (dtype is None or isinstance(dtype, dict)):
        read_csv_kwargs["dtype"] = {**{c: str for c in text}, **(dtype or {})}
    try:
        frame = pd.read_csv(path, **read_csv_kwargs)
    except pd.errors.EmptyDataError as exc:
        raise RiskevalError(f"the ratings file {path!r} has no columns: {exc}") from None
    except UnicodeDecodeError as exc:
        raise _decode_error(path, exc) from None
    except PermissionError:
        raise RiskevalError(f"cannot read the ratings file {path!r}: permission denied")\
            from None
    except pd.errors.ParserError as exc:
        raise RiskevalError(f"could not read {path!r} as CSV: {exc}") from None
    if frame.shape[1] == 1 and sep == ",":
        header = str(frame.columns[0])
        for other, name in _SEPARATORS:
            if other in header:
                shown = _shown_sep(other)
                raise RiskevalError(
                    f"{path!r} has a single column {header!r}: its columns seem to be "
                    f"separated by {name}, not commas; give the delimiter "
                    f"({option('sep', shown)})")
    if frame.empty:
        raise RiskevalError(
            f"the ratings file {path!r} has a header but no rows of ratings"
        )
    as_given = set(frame.columns) if dtype is not None and not isinstance(dtype, dict) \
        else set(dtype or {})  # the caller's own dtype= is kept as given
    frame = _tidy_text(frame, set(text) | as_given)
    if any((m := _MANGLED.fullmatch(str(c))) and m.group(1) in frame.columns
           for c in frame.columns):
        # pandas renamed a repeated header ("ann", "ann.1"): keep the header as written
        with contextlib.suppress(Exception):
            keep = ("sep", "encoding", "skiprows", "comment", "quotechar", "escapechar")
            first = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False,
                                **{k: v for k, v in read_csv_kwargs.items() if k in keep})
            raw = ["" if pd.isna(h) else str(h) for h in first.iloc[0].tolist()]
            if len(raw) == frame.shape[1]:
                frame.attrs["riskeval_header"] = raw
    return frame




def _tidy_text(frame: pd.DataFrame, text: set[str]) -> pd.DataFrame:
    """Strip text cells, blank cells missing; a column of numbers and blanks becomes numeric
    (unless it is in ``text``: identifiers, or columns whose type the caller gave)."""
    for col in frame.columns:
        if not _is_text(frame[col]):
            continue
        before = frame[col]
        tidy = _strip_text(before)
        if col not in text and tidy.isna().to_numpy().sum() > before.isna().to_numpy().sum():
            # blank cells kept pandas from reading a column of numbers as numbers
            present = tidy.dropna().astype(str)
            if present.str.fullmatch(_NUMBER).all():
                tidy = pd.to_numeric(tidy)
        frame[col] = tidy
    return frame


def read_ratings(
    path: str | os.PathLike,
    *,
    case: str,
    rater: str = "officer",
    rating: str = "rating",
    occasion: str | None = None,
    office: str | None = None,
    cohort: str | None = None,
    reference: str | None = None,
    categories: Any = None,
    numeric: bool = False,
    encoding: str | None = None,
    sheet: str | int | None = None,
    layout: str = "long",
    office_row: bool = False,
    **read_csv_kwargs: Any,
) -> Ratings:
    """Read a ratings file -- CSV, spreadsheet or Parquet, long or wide -- and validate it
    (the file is only read, never modified).

    Parameters
    ----------
    path : str or path-like
        A CSV file, a spreadsheet (``.xlsx``, ``.xlsm``, ``.ods``) or a Parquet file; what
        it is, is decided by its content (see :func:`read_table`).
    case, rater, rating : str
        The columns of the case, the officer and the rating. In a wide file (``layout=
        "wide"``) ``case`` is the file's case column and ``rater`` and ``rating`` name the
        columns of the tidy table made from it.
    occasion, office, cohort, reference, categories, numeric
        As for :func:`validate_ratings`. In a wide file ``office`` names the office column
        made from the office row (default ``"office"``); the others have no column there.
    encoding : str, optional
        The text encoding of a CSV file (e.g. ``"cp1252"`` for a file saved by a Windows
        spreadsheet program); see :func:`read_table`.
    sheet : str or int, optional
        The sheet of a spreadsheet, by name or 0-based position (default the first).
    layout : {"long", "wide"}
        ``"long"``: one row per rating (case, officer, rating...). ``"wide"``: one row per
        case and one column per officer, the column's header being the officer's
        identifier (kept as text) and an empty cell meaning "not rated" (see
        :func:`wide_to_long`).
    office_row : bool
        In a wide file, the first row under the header gives each officer column's office
        (the case column's cell there is ignored).
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv` (CSV only).

    Returns
    -------
    Ratings
        The checked table, which every analysis accepts without column names
        (``.to_frame()`` gives it as a DataFrame). Other columns of the file are kept.

    Notes
    -----
    *Formats.* CSV, Excel workbooks (``.xlsx``, ``.xlsm``), OpenDocument spreadsheets
    (``.ods``) and Parquet files are read, by their content rather than their extension:
    :func:`read_table` says how, and :func:`file_kind` what a file is. The same ratings
    give the same checked table whatever the format. Messages about a sheet name its rows
    as the spreadsheet numbers them (``sheet 'Ratings' rows 2, 5``), those about a CSV file
    its lines.

    Identifier columns (case, rater, office, occasion) are read as text and stripped of
    surrounding spaces (the officer typed as the number 7 in a spreadsheet is ``"7"``), and
    only empty cells are missing (:func:`read_table`). When ``categories`` are declared,
    the rating and reference columns are read as text too, so that a file's ``1`` is
    matched with category ``"1"`` whatever else the column holds.

    A wide file is turned into one row per rating once, by :func:`wide_to_long`, and then
    checked as a long file is; a message about a rating names its row and officer column.

    Examples
    --------
    >>> import riskeval as rv
    >>> path = rv.data.datasets.example_ratings_path()
    >>> ratings = rv.read_ratings(path, case="vignette", rater="officer", rating="rosh",
    ...                           office="office", categories=rv.RISK_LEVELS)
    >>> len(ratings), ratings.n_raters, ratings.categories[-1]
    (283, 12, 'very high')
    >>> round(rv.krippendorff_alpha(ratings, level="ordinal").estimate, 3)
    0.652

    A wide sheet, one column per officer, the office of each in the row under the header:

    >>> import os
    >>> import tempfile
    >>> import pandas as pd
    >>> book = os.path.join(tempfile.mkdtemp(), "wide.xlsx")
    >>> pd.DataFrame({"case": [None, "v1", "v2", "v3"], "ann": ["North", "low", "high", None],
    ...               "7": ["South", "low", "very high", "medium"]}).to_excel(book, index=False)
    >>> wide = rv.read_ratings(book, case="case", layout="wide", office_row=True,
    ...                        categories=rv.RISK_LEVELS)
    >>> wide.to_frame()[["case", "officer", "office", "rating"]].iloc[:3].values.tolist()
    [['v1', 'ann', 'North', 'low'], ['v1', '7', 'South', 'low'], ['v2', 'ann', 'North', 'high']]
    """
    check_choice(layout, "layout", ("long", "wide"))
    if layout == "wide":
        unused = [n for n, v in (("occasion", occasion), ("cohort", cohort),
                                 ("reference", reference)) if v is not None]
        if unused:
            raise RiskevalError(
                f"{', '.join(option(n) for n in unused)}: a wide file has a case column and "
                f"one column per officer, nothing else; read a long file (one row per "
                f"rating) for {' and '.join(unused)}")
        long, office_col = _read_wide(path, case=case, rater=rater, rating=rating,
                                      office=office, office_row=office_row,
                                      numbers=categories is None, encoding=encoding,
                                      sheet=sheet, read_csv_kwargs=read_csv_kwargs)
        return Ratings(long, case=case, rater=rater, rating=rating, office=office_col,
                       categories=categories, numeric=numeric)
    if office_row:
        raise RiskevalError(f"{option('office_row')} is for a wide file (one column per "
                            f"officer); in a long file give the office column with "
                            f"{option('office')}")
    text = [c for c in (case, rater, office, occasion) if c is not None]
    if categories is not None:
        text += [c for c in (rating, reference) if c is not None]
    frame = _read_table(path, text_columns=text, encoding=encoding, sheet=sheet,
                        read_csv_kwargs=read_csv_kwargs)
    return Ratings(frame, case=case, rater=rater, rating=rating, occasion=occasion,
                   office=office, cohort=cohort, reference=reference, categories=categories,
                   numeric=numeric)


def _read_wide(path: str | os.PathLike, *, case: str, rater: str = "officer",
              rating: str = "rating", office: str | None = None, office_row: bool = False,
              numbers: bool = True, encoding: str | None = None, sheet: Any = None,
              read_csv_kwargs: dict[str, Any] | None = None) -> tuple[pd.DataFrame, str | None]:
    """A wide ratings file as a tidy table, not yet checked, and its office column (None
    without ``office_row``): every cell read as text, then :func:`wide_to_long`; with
    ``numbers``, a rating column of numbers only is made numeric, as a long file's is read.
    (For :func:`read_ratings` and the command line.)"""
    if office is not None and not office_row:
        raise RiskevalError(
            f"{option('office')} with a wide file names the office column made from the "
            f"office row: give {option('office_row')} too (the first row under the header "
            f"then holds each officer's office), or leave out {option('office')}")
    frame = _read_table(path, encoding=encoding, sheet=sheet,
                        read_csv_kwargs=read_csv_kwargs, all_text=True)
    office_col = (office or "office") if office_row else None
    long = wide_to_long(frame, case=case, rater=rater, rating=rating, office_row=office_row,
                        office=office or "office")
    if numbers:
        long[rating] = _numbers_if_all(long[rating])
    return long, office_col


def _numbers_if_all(col: pd.Series) -> pd.Series:
    """Text that is all numbers (or empty) as numbers, as a CSV reader reads such a column."""
    if not _is_text(col):
        return col
    present = col.dropna().astype(str)
    if len(present) and present.str.fullmatch(_NUMBER).all():
        return pd.to_numeric(col)
    return col


def _header_text(value: Any) -> str:
    """A header cell as text (the officer typed as 7 is ``"7"``), stripped; ``""`` when
    empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _cell_text(value).strip()


def _blank(values: np.ndarray) -> np.ndarray:
    """Where an object array holds no value: missing, or text of white space only."""
    missing = pd.isna(values)
    text = np.array([isinstance(v, str) and not v.strip() for v in values], dtype=bool) \
        if values.size else np.zeros(0, dtype=bool)
    return np.asarray(missing, dtype=bool) | text


def wide_to_long(frame: pd.DataFrame, *, case: str, rater: str = "officer",
                 rating: str = "rating", office_row: bool = False,
                 office: str = "office") -> pd.DataFrame:
    """A wide ratings table (one row per case, one column per officer) as a tidy one (one
    row per rating given).

    Parameters
    ----------
    frame : pandas.DataFrame
        The wide table as read (e.g. by :func:`read_table`): the ``case`` column and one
        column per officer, its header the officer's identifier.
    case : str
        The case column of ``frame`` (also the case column of the result).
    rater, rating : str
        The names of the officer and rating columns of the result.
    office_row : bool
        The first row of ``frame`` gives each officer column's office (the case column's
        cell there is ignored); the result then has an ``office`` column.
    office : str
        The name of the result's office column (with ``office_row``).

    Returns
    -------
    pandas.DataFrame
        Columns ``case``, ``rater``, ``rating`` (and ``office``), one row per rating
        given, case by case and officers in column order. Empty cells ("not rated") are
        dropped. Officers are text (a header typed as the number 7 is ``"7"``). The index
        is the cell's position (row ``i`` and officer column ``j`` of ``c`` officer
        columns: ``i * c + j``), and the ``attrs`` let :func:`validate_ratings` name the
        file's row and the officer column of a rating in its messages.

    Raises
    ------
    RiskevalError
        The case column is not in the table (the closest name is suggested); an officer
        column without a header; two columns with the same officer's header (both named);
        no officer column; with ``office_row``, an officer column without an office; no
        rows of ratings.

    Notes
    -----
    Nothing is checked here beyond the layout: the result is checked as any long table is
    (:class:`Ratings`, :func:`validate_ratings`). A column with neither a header nor a
    cell (a trailing delimiter of a CSV file) is ignored.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"vignette": ["", "v1", "v2"], "ann": ["North", "low", "high"],
    ...                      "007": ["South", "medium", None]})
    >>> long = wide_to_long(wide, case="vignette", office_row=True)
    >>> long.columns.tolist()
    ['vignette', 'officer', 'rating', 'office']
    >>> long.values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['v1', 'ann', 'low', 'North'], ['v1', '007', 'medium', 'South'],
     ['v2', 'ann', 'high', 'North']]
    """
    if not isinstance(frame, pd.DataFrame):
        raise RiskevalTypeError(f"expected a pandas DataFrame of wide ratings, got "
                                f"{type(frame).__name__}")
    names = [case, rater, rating] + ([office] if office_row else [])
    if len(set(names)) != len(names):
        raise RiskevalError(
            f"the case, officer, rating{' and office' if office_row else ''} columns of the "
            f"tidy table need different names; got {', '.join(map(repr, names))}")
    columns = list(frame.columns)
    raw = frame.attrs.get("riskeval_header")
    from_file = isinstance(raw, list) and len(raw) == len(columns) and all(
        _written_as(c, h) for c, h in zip(columns, raw, strict=True))
    header = [_header_text(h) for h in (raw if from_file else columns)]
    if not from_file:  # the name pandas gives a column without a header
        header = ["" if _UNNAMED.fullmatch(h) else h for h in header]
    where = [j for j, h in enumerate(header) if h == str(case).strip()]
    if not where:
        raise RiskevalError(f"the case column {case!r} is not in the wide table."
                            f"{suggest_column(case, [h for h in header if h])}")
    if len(where) > 1:
        raise RiskevalError(f"the header names the case column {case!r} twice (columns "
                            f"{where[0] + 1} and {where[1] + 1}); rename one")
    at = where[0]
    cells = frame.to_numpy(dtype=object)
    blank = _blank(cells.ravel()).reshape(cells.shape)
    officers = [j for j in range(len(header)) if j != at and (header[j] or not blank[:, j].all())]
    for j in officers:
        if not header[j]:
            raise RiskevalError(
                f"column {j + 1} of the wide table has ratings but no header: every column "
                f"other than the case column {case!r} is an officer, named by its header; "
                f"give it the officer's identifier, or delete the column")
    seen: dict[str, int] = {}
    for j in officers:
        if header[j] in seen:
            raise RiskevalError(
                f"two columns of the wide table have the header {header[j]!r} (columns "
                f"{seen[header[j]] + 1} and {j + 1}): each officer needs one column; rename "
                f"one, or put their ratings in one column")
        seen[header[j]] = j
    if not officers:
        raise RiskevalError(
            f"the wide table has no officer columns, only the case column {case!r}: a wide "
            f"table has one column per officer (its header the officer's identifier); for "
            f"one row per rating read the file as long")
    start = 0
    offices: list[str] = []
    if office_row:
        if len(frame) == 0:
            raise RiskevalError("the wide table has no office row (and no ratings): the first "
                                "row under the header must give each officer's office")
        for j in officers:
            text = _header_text(cells[0, j]) if not blank[0, j] else ""
            if not text:
                raise RiskevalError(
                    f"the office row (the first row under the header, {_row_of(frame, 0)}) "
                    f"has no office for officer column {header[j]!r}: give every officer's "
                    f"office there, or leave out {option('office_row')}")
            offices.append(text)
        start = 1
    n_rows, width = len(frame) - start, len(officers)
    if n_rows <= 0:
        raise RiskevalError("the wide table has a header but no rows of ratings"
                            + (" under its office row" if office_row else ""))
    values = cells[start:, officers].ravel()  # case by case, officers in column order
    given = ~blank[start:, officers].ravel()
    position = (np.repeat(np.arange(start, len(frame)), width) * width
                + np.tile(np.arange(width), n_rows))
    case_col = frame.iloc[start:, at]
    out = pd.DataFrame({
        case: pd.Series(np.repeat(case_col.to_numpy(dtype=object), width)[given],
                        dtype=case_col.dtype if _is_text(case_col) else None),
        rater: pd.Series(np.tile(np.array([header[j] for j in officers], dtype=object),
                                 n_rows)[given], dtype=str),
        rating: _rating_values(values[given]),
    })
    if office_row:
        out[office] = pd.Series(np.tile(np.array(offices, dtype=object), n_rows)[given],
                                dtype=str)
    out.index = pd.Index(position[given])
    label = frame.attrs.get("riskeval_rows")
    named = isinstance(label, str) and isinstance(frame.index, pd.RangeIndex)
    out.attrs.update({"riskeval_rows": label if named else "rows",
                      "riskeval_first_row": int(frame.attrs.get("riskeval_first_row", 2))
                      if named else 0,
                      "riskeval_wide": [header[j] for j in officers]})
    return out


def _written_as(column: Any, cell: Any) -> bool:
    """Whether ``column`` is the name pandas gave the header cell ``cell`` (itself, or
    ``"ann.1"`` for a repeated ``"ann"``, ``"Unnamed: 3"`` for an empty one)."""
    name, cell = str(column), str(cell)
    if name == cell:
        return True
    if not cell.strip():
        return bool(_UNNAMED.fullmatch(name))
    mangled = _MANGLED.fullmatch(name)
    return bool(mangled) and mangled.group(1) == cell


def _row_of(frame: pd.DataFrame, pos: int) -> str:
    """Row ``pos`` of a table read from a file, as the file numbers it."""
    label, describe = _row_names(frame)
    if label is None or describe is None or not isinstance(frame.index, pd.RangeIndex):
        return f"row {pos}"
    word = {"lines": "line"}.get(label, label[:-1] if label.endswith("rows") else label)
    return f"{word} {describe(pos)}"


def _rating_values(values: np.ndarray) -> pd.Series:
    """The ratings of a wide table in one column: numbers when all are numbers, text when
    all are text, and numbers among text written as a spreadsheet shows them."""
    series = pd.Series(values, dtype=object)
    kinds = {"text" if isinstance(v, str) else "number" for v in values}
    if kinds == {"text"}:
        return _strip_text(series.astype(str))
    if kinds == {"number"}:
        return series.infer_objects()
    return _strip_text(pd.Series([_cell_text(v) for v in values], dtype=str))


def to_wide(
    data: pd.DataFrame,
    *,
    case: str,
    rater: str,
    rating: str,
    categories: Any = None,
    validate: bool = True,
) -> WideRatings:
    """Long ratings table -> :class:`WideRatings` (cases x raters, NaN = not rated).

    Cases and raters keep their order of first appearance.

    Examples
    --------
    >>> import pandas as pd
    >>> import riskeval as rv
    >>> long = pd.DataFrame({"case": ["v1", "v1", "v2", "v2"], "officer": ["a", "b", "a", "b"],
    ...                      "rosh": ["low", "high", "high", "high"]})
    >>> wide = rv.to_wide(long, case="case", rater="officer", rating="rosh",
    ...                   categories=rv.RISK_LEVELS)
    >>> wide.n_cases, wide.n_raters
    (2, 2)
    >>> wide.to_frame().loc["v1", "b"]
    'high'
    """
    if validate:
        data = validate_ratings(data, case=case, rater=rater, rating=rating,
                                 categories=categories)
    col = data[rating]
    cases, case_idx = _factor(data[case])
    raters, rater_idx = _factor(data[rater])
    cats: tuple | None = None
    ordered = True
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = tuple(col.cat.categories)
        ordered = bool(col.cat.ordered)
        codes = col.cat.codes.to_numpy()
        if _is_numeric_cats(cats):
            v = np.where(codes >= 0, np.asarray(cats, dtype=float)[codes], np.nan)
        else:
            v = np.where(codes >= 0, codes + 1.0, np.nan)
    elif pd.api.types.is_numeric_dtype(col):
        v = col.to_numpy(dtype=float)
    else:
        # undeclared labels: usable for nominal coefficients only; order of first appearance
        seen = pd.unique(col.dropna())
        cats = tuple(seen)
        ordered = False
        lookup = {c: k + 1.0 for k, c in enumerate(seen)}
        v = np.array([lookup.get(x, np.nan) for x in col], dtype=float)
    return WideRatings.from_entries(case_idx, rater_idx, v, cases, raters, cats, ordered)


def _factor(col: pd.Series) -> tuple[pd.Index, np.ndarray]:
    codes, uniques = pd.factorize(col, sort=False)
    return pd.Index(uniques, name=col.name), codes


def to_long(
    wide: WideRatings | pd.DataFrame | np.ndarray,
    *,
    case: str = "case",
    rater: str = "rater",
    rating: str = "rating",
) -> pd.DataFrame:
    """Wide ratings -> long table with one row per rating given (missing cells dropped).

    Examples
    --------
    >>> import numpy as np
    >>> import riskeval as rv
    >>> long = rv.to_long(np.array([[1.0, 2.0], [3.0, np.nan]]), rater="officer")
    >>> long.columns.tolist(), len(long)
    (['case', 'officer', 'rating'], 3)
    """
    if not isinstance(wide, WideRatings):
        wide = as_ratings(wide)
    frame = wide.to_frame()
    long = frame.rename_axis(index=case, columns=rater).stack(future_stack=True)
    long = long.rename(rating).reset_index()
    return long[long[rating].notna()].reset_index(drop=True)


def as_ratings(
    data: Any,
    case: str | None = None,
    rater: str | None = None,
    rating: str | None = None,
    *,
    categories: Any = None,
    numeric: bool = False,
) -> WideRatings:
    """Normalise any accepted input to :class:`WideRatings`.

    Accepted inputs: a long DataFrame with ``case=``, ``rater=`` and ``rating=`` column names;
    a wide DataFrame (rows = cases, columns = raters) or a 2-D array (NaN = not rated); or a
    :class:`WideRatings`.

    Examples
    --------
    >>> import pandas as pd
    >>> import riskeval as rv
    >>> long = pd.DataFrame({"case": ["v1", "v1", "v2", "v2"], "officer": ["a", "b", "a", "b"],
    ...                      "rosh": ["low", "high", "high", "high"]})
    >>> wide = rv.as_ratings(long, "case", "officer", "rosh",
    ...                      categories="low,medium,high,very high")
    >>> wide.n_cases, wide.categories
    (2, ('low', 'medium', 'high', 'very high'))
    >>> rv.as_ratings([[1, 2], [3, None]]).values.shape
    (2, 2)
    """
    given = [k is not None for k in (case, rater, rating)]
    if isinstance(data, WideRatings):
        return data  # already normalised and checked
    if isinstance(data, Ratings):
        asked = {"case": case, "rater": rater, "rating": rating}
        asked = {k: v if v is not None else data.roles[k] for k, v in asked.items()}
        if data.checked_for(asked, categories, numeric):
            return data.wide  # checked, and its wide form built once
        frame = validate_ratings(data, categories=categories, numeric=numeric, **asked)
        wide = to_wide(frame, validate=False, **asked)
        _check_wide(wide)
        return wide
    if isinstance(data, pd.DataFrame) and any(given):
        if not all(given):
            names = [n for n, g in zip(("case", "rater", "rating"), given, strict=True) if not g]
            raise RiskevalError(
                f"a long table needs case=, rater= and rating= column names; missing "
                f"{', '.join(n + '=' for n in names)}"
            )
        frame = validate_ratings(data, case=case, rater=rater, rating=rating,
                                 categories=categories, numeric=numeric)
        wide = to_wide(frame, case=case, rater=rater, rating=rating, validate=False)
    elif isinstance(data, pd.DataFrame):
        wide = _wide_from_frame(data, categories)
    elif isinstance(data, np.ndarray | list | tuple):
        try:
            cplx = _complex_at(data if isinstance(data, np.ndarray)
                               else np.asarray(data, dtype=object)).any()
        except ValueError:  # ragged rows: reported below
            cplx = False
        if cplx:
            raise RiskevalError("the ratings array holds complex numbers; expected real "
                                "numbers (NaN = not rated) or category labels")
        strings = _has_strings(data)
        try:
            arr = np.asarray(data, dtype=object if strings else float)
        except (TypeError, ValueError):
            raise RiskevalError(
                "the ratings array holds values that are neither numbers nor labels; expected "
                "a 2-D cases x raters array of numbers (NaN = not rated) or of category labels"
            ) from None
        if arr.ndim != 2:
            raise RiskevalError(
                f"expected a 2-D cases x raters array, got an array of shape {arr.shape}"
            )
        if strings:
            wide = _wide_from_frame(pd.DataFrame(arr), categories)
        else:
            wide = _wide_numeric(arr, pd.RangeIndex(arr.shape[0]),
                                 pd.RangeIndex(arr.shape[1]), categories)
    else:
        raise RiskevalTypeError(
            "ratings must be a long DataFrame with case=, rater=, rating= columns, a wide "
            f"DataFrame or a 2-D array; got {type(data).__name__}"
        )
    _check_wide(wide)
    return wide


def _has_strings(data: Any) -> bool:
    if isinstance(data, np.ndarray):
        if data.dtype.kind in "biuf":
            return False
        return any(isinstance(x, str) for x in data.ravel()[:1000])
    rows = list(data)[:1000]
    return any(isinstance(x, str) for row in rows for x in np.ravel(np.asarray(row, object)))


def _wide_numeric(arr: np.ndarray, cases: pd.Index, raters: pd.Index,
                  categories: Any) -> WideRatings:
    """Fast path for numeric wide input: no reshaping, categories checked when coded."""
    cats = parse_categories(categories)
    if cats is not None and not _is_numeric_cats(cats):
        raise RiskevalError(
            f"the ratings are numbers but the categories {cats!r} are labels; pass the ratings "
            "as labels, or numeric categories (e.g. [1, 2, 3, 4])"
        )
    wide = WideRatings(np.array(arr, dtype=float), cases, raters, cats, True)
    if cats is not None:
        wide.coded_entries()  # raises on a value outside the declared categories
    return wide


def _wide_from_frame(frame: pd.DataFrame, categories: Any) -> WideRatings:
    for col in frame.columns:
        bad = _complex_at(frame[col].to_numpy())
        if bad.any():
            raise RiskevalError(
                f"the ratings of rater {plain_value(col)!r} include complex numbers (case "
                f"{plain_value(frame.index[np.flatnonzero(bad)[0]])!r}); expected real numbers "
                "(NaN = not rated) or category labels")
    if all(pd.api.types.is_numeric_dtype(frame[c]) and not isinstance(
            frame[c].dtype, pd.CategoricalDtype) for c in frame.columns):
        return _wide_numeric(frame.to_numpy(dtype=float), pd.Index(frame.index),
                             pd.Index(frame.columns), categories)
    cats = parse_categories(categories)
    long = frame.rename_axis(index="_case", columns="_rater").stack(future_stack=True)
    long = long.rename("_rating").reset_index()
    long["_rating"] = long["_rating"].where(long["_rating"].notna(), None)
    if cats is None and not all(
        pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns
    ):
        cat_dtypes = [frame[c].dtype for c in frame.columns
                      if isinstance(frame[c].dtype, pd.CategoricalDtype)]
        if cat_dtypes and cat_dtypes[0].ordered:
            cats = tuple(cat_dtypes[0].categories)
    if cats is not None:
        long["_rating"] = _encode_categorical(long["_rating"], cats, "rating")
    else:
        conv = pd.to_numeric(long["_rating"], errors="coerce")
        if (conv.notna() == long["_rating"].notna()).all():
            long["_rating"] = conv.astype(float)
    wide = to_wide(long, case="_case", rater="_rater", rating="_rating", validate=False)
    # keep every row and column of the input, rated or not
    full = np.full(frame.shape, np.nan)
    r = frame.index.get_indexer(wide.cases)
    c = frame.columns.get_indexer(wide.raters)
    full[np.ix_(r, c)] = wide.values
    return WideRatings(full, pd.Index(frame.index), pd.Index(frame.columns),
                       wide.categories, wide.ordered)


def _check_wide(wide: WideRatings) -> None:
    i, j, v = wide.entries()
    if wide.n_cases * wide.n_raters == 0:
        raise RiskevalError(
            f"the ratings table is empty (shape {(wide.n_cases, wide.n_raters)})")

    def where(k: int) -> str:
        return (f"the rating of case {plain_value(wide.cases[i[k]])!r} by rater "
                f"{plain_value(wide.raters[j[k]])!r}")
    _check_scale(v, where)
    if v.size == 0:
        raise RiskevalError("every rating is missing; the table has no data")
    if np.count_nonzero(np.bincount(j, minlength=wide.n_raters)) < 2:
        raise RiskevalError(
            "fewer than two raters have any ratings; agreement needs at least two raters"
        )
    if np.count_nonzero(np.bincount(i, minlength=wide.n_cases)) < 2:
        raise RiskevalError(
            "fewer than two cases have any ratings; agreement needs at least two cases"
        )
