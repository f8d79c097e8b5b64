"""Actuarial reconviction scores, and how to judge them (and clinical judgement) against outcomes.

Probation services set an officer's clinical judgement of risk (an ordered level: low, medium,
high, very high) beside an actuarial score: a probability of proven reconviction within two
years, computed from a few static facts (age, sex, criminal history) by a logistic regression
fitted to a large cohort, as in the Offender Group Reconviction Scale (OGRS; Copas & Marshall
1998; Howard, Francis, Soothill & Humphreys 2009). This module builds and applies such scores
and compares them with the clinical levels on the same cases.

Scores
    * :class:`ActuarialScore` -- a scikit-learn classifier fitting an OGRS-style logistic
      regression on age, sex and criminal-history columns of a DataFrame, with a table of
      named coefficients (:meth:`ActuarialScore.coef_table`).
    * :class:`FixedScore` -- applies fixed coefficients (for example those of a published
      scale) with no fitting; also a transformer, so it can feed a recalibration model.

Discrimination: do higher scores go with reconviction?
    * :func:`auc` -- the area under the ROC curve (the probability that a reconvicted person
      scores higher than one who was not, ties counting one half) with DeLong's standard error,
      computed with the fast mid-rank algorithm of Sun & Xu (2014).
    * :func:`delong_test` -- DeLong's test comparing two correlated AUCs measured on the same
      cases (for example clinical level against actuarial score).

Calibration: are the probabilities right?
    * :func:`calibration` -- calibration-in-the-large, the calibration intercept and slope
      (Cox 1958), the Brier score and a reliability table with a reliability diagram.

Reclassification: how do two categorisations of the same cases differ?
    * :func:`reclassification` -- the cross-table of, say, clinical level by actuarial band,
      and with outcomes the event rate in each cell and the categorical net reclassification
      improvement (Pencina et al. 2008).

Conventions: an outcome ``y`` is 0/1 (1 = reconvicted); a higher score means a higher risk.
Ordered levels may be given as an ordered pandas Categorical, as numbers, or as the labels of
:data:`riskeval.RISK_LEVELS` (low, medium, high, very high), which are put in that order.

References
----------
Copas, J. & Marshall, P. (1998). The offender group reconviction scale: a statistical
reconviction score for use by probation officers. *Journal of the Royal Statistical Society
Series C (Applied Statistics)* 47(1), 159-171. https://doi.org/10.1111/1467-9876.00104

Howard, P., Francis, B., Soothill, K. & Humphreys, L. (2009). *OGRS 3: the revised Offender
Group Reconviction Scale*. Ministry of Justice Research Summary 7/09. London: Ministry of
Justice.

DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two or
more correlated receiver operating characteristic curves: a nonparametric approach.
*Biometrics* 44(3), 837-845. https://doi.org/10.2307/2531595

Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
under correlated receiver operating characteristic curves. *IEEE Signal Processing Letters*
21(11), 1389-1393. https://doi.org/10.1109/LSP.2014.2337313

Cox, D. R. (1958). Two further applications of a model for binary regression. *Biometrika*
45(3/4), 562-565. https://doi.org/10.2307/2333203

Van Calster, B., McLernon, D. J., van Smeden, M., Wynants, L. & Steyerberg, E. W. (2019).
Calibration: the Achilles heel of predictive analytics. *BMC Medicine* 17, 230.
https://doi.org/10.1186/s12916-019-1466-7

Pencina, M. J., D'Agostino, R. B. Sr, D'Agostino, R. B. Jr & Vasan, R. S. (2008). Evaluating
the added predictive ability of a new marker: from area under the ROC curve to reclassification
and beyond. *Statistics in Medicine* 27(2), 157-172. https://doi.org/10.1002/sim.2929
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.exceptions import NotFittedError

from ..data.ratings import RISK_LEVELS, _py, _rows, _suggest, level_codes, parse_categories
from ..errors import DegenerateDataWarning, RiskevalError

__all__ = [
    "AUCResult",
    "ActuarialScore",
    "CalibrationResult",
    "DeLongTestResult",
    "FixedScore",
    "NRIResult",
    "ReclassificationResult",
    "auc",
    "calibration",
    "delong_test",
    "reclassification",
]

_SHOW = 5  # how many offending values or rows a message lists

_DELONG_REFS = (
    "DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under "
    "two or more correlated receiver operating characteristic curves: a nonparametric "
    "approach. Biometrics 44(3), 837-845.",
    "Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the "
    "areas under correlated receiver operating characteristic curves. IEEE Signal Processing "
    "Letters 21(11), 1389-1393.",
)


class _NotFittedError(RiskevalError, NotFittedError):
    """Predicting with an :class:`ActuarialScore` before :meth:`~ActuarialScore.fit`."""


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
    more = " ..." if len(idx) > _SHOW else ""
    if isinstance(values, pd.Series | pd.DataFrame):
        labels = ", ".join(repr(_py(v)) for v in values.index[idx[:_SHOW]])
        return f"rows {labels}{more}"
    return f"positions {', '.join(str(i) for i in idx[:_SHOW])}{more} (counting from 0)"


def _row_labels(index: Any) -> str:
    """The rows at fault by their index labels ("rows 3, 9"): a DataFrame's rows are not the
    lines of a file, so they are not counted from a header line."""
    return _rows(index, lines=False)


def _shown(values: np.ndarray) -> str:
    """A few distinct offending values, as the user wrote them."""
    seen: list[Any] = []
    for v in values:
        v = _py(v)
        if not any(v is s or (type(v) is type(s) and v == s) for s in seen):
            seen.append(v)
        if len(seen) == _SHOW:
            break
    return ", ".join(repr(v) for v in seen)


def _confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not (
        0.0 < float(confidence) < 1.0
    ):
        raise RiskevalError(
            f"confidence must be a number strictly between 0 and 1, e.g. 0.95; got {confidence!r}"
        )
    return float(confidence)


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


def _binary(y: Any, name: str = "y", n: int | None = None) -> np.ndarray:
    """A 0/1 outcome with both classes present, as a boolean array."""
    raw = _one_dim(y, name)
    if n is not None and len(raw) != n:
        raise RiskevalError(f"{name} has {len(raw)} values but the scores have {n}; expected one "
                            "outcome per case, in the same order")
    if len(raw) == 0:
        raise RiskevalError(f"{name} is empty; expected one 0/1 outcome per case")
    arr = np.asarray(raw)
    if arr.dtype.kind in "biuf":
        ok = (arr == 0) | (arr == 1)
        if ok.all():
            return _both(arr.astype(bool), name)
    obj = np.asarray(raw, dtype=object)
    ok = np.array([
        (isinstance(v, bool | np.bool_))
        or (isinstance(v, numbers.Real) and not isinstance(v, bool) and (v == 0 or v == 1))
        for v in obj
    ], dtype=bool)
    if not ok.all():
        raise RiskevalError(
            f"{name} must be 0/1 (1 = reconvicted) or True/False; {_where(y, ~ok)} hold "
            f"{_shown(obj[~ok])}"
        )
    return _both(np.array([bool(v) for v in obj], dtype=bool), name)


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
    if col not in frame.columns:
        raise RiskevalError(
            f"the {role} column {col!r} is not in the table.{_suggest(col, frame.columns)}"
        )
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
    key = s.astype(object).map(lambda v: str(_py(v)).strip().lower())
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


# ============================================================================ ActuarialScore


class ActuarialScore(ClassifierMixin, BaseEstimator):
    """An actuarial reconviction score: a logistic regression on age, sex and criminal history.

    In the manner of the Offender Group Reconviction Scale (Copas & Marshall 1998; Howard et
    al. 2009), the log-odds of proven reconviction within the follow-up period is a linear
    function of a few static facts read from named DataFrame columns:

    * **age** -- by default two terms, ``age`` and ``1/age``: a second-degree fractional
      polynomial with powers (1, -1) (Royston & Altman 1994). Reconviction falls steeply with
      age in the late teens and twenties and more slowly afterwards (the age-crime curve); the
      ``1/age`` term carries the steep early fall and the linear term the later slope, with two
      parameters and no cut points. With ``age_bands`` the age instead enters as indicators of
      bands (as the age-gender categories of OGRS do).
    * **sex** -- one indicator, male = 1, female = 0.
    * **history** -- each named column as it stands (counts of previous sanctions, a Copas
      rate, indicators of previous custody...). Transform them beforehand if a log or rate is
      wanted.

    The fit is scikit-learn's :class:`~sklearn.linear_model.LogisticRegression` (Newton-Cholesky
    solver) on the terms standardised to mean 0 and standard deviation 1, with a negligible
    ridge penalty (``C=1e6``), so the coefficients (reported on the original scale) are the
    maximum likelihood estimates for all practical purposes. Standardising makes the penalty
    and the convergence tolerance independent of the units of a term. The estimator works inside a
    :class:`~sklearn.pipeline.Pipeline` and with :func:`~sklearn.model_selection.cross_val_score`
    (for example ``scoring="roc_auc"``); its input must be a DataFrame (make earlier pipeline
    steps return DataFrames with ``.set_output(transform="pandas")``).

    Parameters
    ----------
    age : str or None, default "age"
        Column of age in years at sentence (or at the start of follow-up). ``None`` leaves age
        out. Without ``age_bands`` every age must be positive.
    sex : str or None, default "sex"
        Column of sex. Accepted values (case-insensitive): ``"male"``, ``"m"``, ``"man"``, 1,
        True for male; ``"female"``, ``"f"``, ``"woman"``, 0, False for female. Anything else,
        including a missing value, is an error naming the rows. ``None`` leaves sex out.
    history : sequence of str, default ("n_previous",)
        Numeric criminal-history columns, entered linearly. A single string is one column.
    age_bands : sequence of float or None, default None
        Cut points in years, increasing, e.g. ``(21, 25, 30, 40, 50)``. Age then enters as
        indicators of the bands ``[21, 25)``, ``[25, 30)``, ..., ``>= 50``, against the youngest
        band (``< 21``) as reference. Every band must contain training cases.
    C : float, default 1e6
        Inverse strength of scikit-learn's ridge penalty on the standardised coefficients. The
        default leaves the estimates unpenalised in effect; ``np.inf`` removes the penalty.
        Smaller values shrink the coefficients towards 0 (not the intercept).
    max_iter : int, default 100
        Newton iterations allowed to the solver.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two outcome labels, sorted; the second is the event whose probability is
        predicted (use 0/1 or False/True so that it is reconviction).
    terms_ : tuple of str
        Names of the design columns (the terms).
    coefficients_ : pandas.Series
        The intercept and the coefficient of each term on its original scale (log-odds per
        unit), indexed by ``"intercept"`` and ``terms_``; see also :meth:`coef_table`.
    model_ : sklearn.linear_model.LogisticRegression
        The fitted regression on the standardised design ``(terms - center_) / scale_``.
    center_, scale_ : ndarray of shape (n_terms,)
        Mean and standard deviation of each term in the training data.
    covariance_ : ndarray
        Inverse of the (penalised) information matrix of ``(intercept, *coefficients)``,
        behind the standard errors of :meth:`coef_table`.
    n_features_in_, feature_names_in_
        The columns of the DataFrame seen at fit (scikit-learn convention).

    See Also
    --------
    FixedScore : apply coefficients published elsewhere, without fitting.
    auc, calibration : judge the score's predictions on new cases.

    Notes
    -----
    A score fitted and judged on the same cases is optimistic; judge it on other cases or by
    cross-validation (``cross_val_score(ActuarialScore(), X, y, scoring="roc_auc")``).

    References
    ----------
    Copas, J. & Marshall, P. (1998). The offender group reconviction scale: a statistical
    reconviction score for use by probation officers. *Journal of the Royal Statistical
    Society Series C* 47(1), 159-171.

    Howard, P., Francis, B., Soothill, K. & Humphreys, L. (2009). *OGRS 3: the revised
    Offender Group Reconviction Scale*. Ministry of Justice Research Summary 7/09.

    Royston, P. & Altman, D. G. (1994). Regression using fractional polynomials of continuous
    covariates: parsimonious parametric modelling. *Journal of the Royal Statistical Society
    Series C* 43(3), 429-467. https://doi.org/10.2307/2986270

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskeval.prediction.actuarial import ActuarialScore
    >>> rng = np.random.default_rng(0)
    >>> cases = pd.DataFrame({"age": rng.uniform(18, 60, 500),
    ...                       "sex": rng.choice(["male", "female"], 500),
    ...                       "n_previous": rng.poisson(3, 500)})
    >>> y = rng.random(500) < 0.4
    >>> score = ActuarialScore().fit(cases, y)
    >>> list(score.coef_table().index)
    ['intercept', 'age', '1/age', 'male', 'n_previous']
    """

    def __init__(self, age: str | None = "age", sex: str | None = "sex",
                 history: Sequence[str] | str = ("n_previous",),
                 age_bands: Sequence[float] | None = None, C: float = 1e6,
                 max_iter: int = 100) -> None:
        self.age = age
        self.sex = sex
        self.history = history
        self.age_bands = age_bands
        self.C = C
        self.max_iter = max_iter

    # ------------------------------------------------------------------------------ design

    def _history(self) -> tuple:
        h = self.history
        if h is None:
            return ()
        if isinstance(h, str):
            return (h,)
        try:
            return tuple(h)
        except TypeError:
            raise RiskevalError(
                f"history must be a list of column names, e.g. ('n_previous',); got {h!r}"
            ) from None

    def _edges(self) -> np.ndarray | None:
        if self.age_bands is None:
            return None
        try:
            edges = np.asarray([float(e) for e in self.age_bands], dtype=float)
        except (TypeError, ValueError):
            raise RiskevalError(
                f"age_bands must be cut points in years, increasing, e.g. (21, 25, 30, 40, 50); "
                f"got {self.age_bands!r}"
            ) from None
        if edges.size == 0 or not np.isfinite(edges).all() or np.any(np.diff(edges) <= 0):
            raise RiskevalError(
                f"age_bands must be one or more finite cut points in increasing order, e.g. "
                f"(21, 25, 30, 40, 50); got {self.age_bands!r}"
            )
        return edges

    def _band_names(self, edges: np.ndarray) -> list[str]:
        names = [f"{self.age}[{lo:g},{hi:g})" for lo, hi in itertools.pairwise(edges)]
        return [*names, f"{self.age}>={edges[-1]:g}"]

    def _design(self, X: Any, fitting: bool) -> tuple[np.ndarray, list[str]]:
        frame = _frame(X)
        if self.age is None and self.sex is None and not self._history():
            raise RiskevalError("the score has no predictors: give at least one of age, sex "
                                "and history")
        cols: list[np.ndarray] = []
        names: list[str] = []
        if self.age is not None:
            age = _numeric(frame, self.age, "age")
            edges = self._edges()
            if edges is None:
                bad = age <= 0
                if bad.any():
                    raise RiskevalError(
                        f"the age column {self.age!r} must hold positive ages in years (the "
                        f"score uses 1/age); {_row_labels(frame.index[bad])} hold "
                        f"{_shown(age[bad])}"
                    )
                cols += [age, 1.0 / age]
                names += [str(self.age), f"1/{self.age}"]
            else:
                band = np.searchsorted(edges, age, side="right")
                band_names = self._band_names(edges)
                if fitting:
                    counts = np.bincount(band, minlength=len(edges) + 1)
                    every = [f"{self.age}<{edges[0]:g}", *band_names]
                    empty = [every[i] for i in np.flatnonzero(counts == 0)]
                    if empty:
                        raise RiskevalError(
                            f"age band(s) {', '.join(empty)} hold no training cases; merge "
                            f"them with a neighbour by removing cut points from age_bands="
                            f"{tuple(float(e) for e in edges)}"
                        )
                for k, name in enumerate(band_names, start=1):
                    cols.append((band == k).astype(float))
                    names.append(name)
        if self.sex is not None:
            cols.append(_male(frame, self.sex))
            names.append("male")
        for h in self._history():
            cols.append(_numeric(frame, h, "history"))
            names.append(str(h))
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise RiskevalError(f"the same term appears twice in the design: {', '.join(dup)}; "
                                "give each column one role")
        return np.column_stack(cols), names

    # -------------------------------------------------------------------------------- fit

    def fit(self, X: pd.DataFrame, y: Any) -> ActuarialScore:
        """Fit the logistic regression.

        Parameters
        ----------
        X : pandas.DataFrame
            One row per case, with the age, sex and history columns.
        y : array-like of shape (n_cases,)
            Two outcome labels, 0/1 (1 = reconvicted) or False/True.

        Returns
        -------
        ActuarialScore
            ``self``, fitted.
        """
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        C = _check_C(self.C)
        frame = _frame(X)
        yv = _two_classes(y, len(frame))
        design, names = self._design(frame, fitting=True)
        ones = np.column_stack([np.ones(len(design)), design])
        if np.linalg.matrix_rank(ones) < ones.shape[1]:
            const = [n for n, c in zip(names, design.T, strict=True) if np.ptp(c) == 0]
            what = (f"term(s) {', '.join(map(repr, const))} take a single value in the "
                    "training data"
                    if const else "some terms are linear combinations of others")
            raise RiskevalError(f"the design cannot be estimated: {what}; drop or merge them")
        # Standardised terms: the ridge penalty and the solver's tolerance then mean the same
        # whatever the units of a term (1/age spans about 0.04, previous sanctions dozens).
        center, scale = design.mean(axis=0), design.std(axis=0)
        model = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10,
                                   max_iter=self.max_iter)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit((design - center) / scale, yv)
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                warnings.warn(
                    f"the logistic regression did not converge in max_iter={self.max_iter} "
                    "iterations; a term may separate reconvicted from not reconvicted "
                    "perfectly (coefficients drifting to infinity). Check the coef_table, "
                    "merge sparse age bands, or lower C",
                    DegenerateDataWarning, stacklevel=2,
                )
            else:
                warnings.warn(w.message, w.category, stacklevel=2)
        self.model_ = model
        self.center_, self.scale_ = center, scale
        coef = model.coef_[0] / scale
        self.coefficients_ = pd.Series(
            np.concatenate([[model.intercept_[0] - coef @ center], coef]),
            index=pd.Index(["intercept", *names], name="term"), name="coef",
        )
        p = model.predict_proba((design - center) / scale)[:, 1]
        info = ones.T @ (ones * (p * (1.0 - p))[:, None])
        if math.isfinite(C):  # the penalty 1/(2C) * sum((coef * scale) ** 2)
            info[1:, 1:] += np.diag(scale ** 2) / C
        try:
            self.covariance_ = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            self.covariance_ = np.full_like(info, np.inf)
        self.classes_ = model.classes_
        self.terms_ = tuple(names)
        self.n_features_in_ = frame.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _fitted_design(self, X: Any) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise _NotFittedError(
                "this ActuarialScore is not fitted yet; call fit(X, y) before predicting"
            )
        design, _ = self._design(X, fitting=False)
        return (design - self.center_) / self.scale_

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The linear predictor: log-odds of the event (``classes_[1]``) for each case."""
        design = self._fitted_design(X)
        return self.model_.decision_function(design)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]`` (reconviction), one row a case."""
        design = self._fitted_design(X)
        return self.model_.predict_proba(design)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The more probable class of each case (threshold 0.5 on the probability)."""
        design = self._fitted_design(X)
        return self.model_.predict(design)

    def coef_table(self, confidence: float = 0.95) -> pd.DataFrame:
        """Named coefficients with Wald standard errors, intervals and odds ratios.

        Parameters
        ----------
        confidence : float, default 0.95
            Level of the intervals.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``intercept`` and the terms (``age``, ``1/age`` or the age bands,
            ``male``, the history columns), with columns ``coef`` (log-odds scale), ``se``,
            ``z``, ``p_value``, ``ci_low``, ``ci_high`` and ``odds_ratio`` (``exp(coef)``).
            Standard errors come from the inverse information matrix at the estimates
            (including the negligible ridge term), i.e. the usual maximum likelihood Wald
            errors when ``C`` is large.
        """
        if not hasattr(self, "model_"):
            raise _NotFittedError("this ActuarialScore is not fitted yet; call fit(X, y) first")
        conf = _confidence(confidence)
        coef = self.coefficients_.to_numpy()
        se = np.sqrt(np.diag(self.covariance_))
        z = coef / se
        q = stats.norm.ppf(0.5 + conf / 2)
        return pd.DataFrame(
            {"coef": coef, "se": se, "z": z, "p_value": 2 * stats.norm.sf(np.abs(z)),
             "ci_low": coef - q * se, "ci_high": coef + q * se, "odds_ratio": np.exp(coef)},
            index=pd.Index(["intercept", *self.terms_], name="term"),
        )


# ================================================================================ FixedScore

_NAMED: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda x: x,
    "log": np.log,
    "inverse": lambda x: 1.0 / x,
    "square": np.square,
    "sqrt": np.sqrt,
}
_DOMAIN = {"log": (lambda x: x > 0, "positive"), "inverse": (lambda x: x != 0, "non-zero"),
           "sqrt": (lambda x: x >= 0, "non-negative")}
_DEFAULT_CLASSES = np.array([0, 1])


class FixedScore(ClassifierMixin, TransformerMixin, BaseEstimator):
    """A score with fixed coefficients: ``logit(p) = intercept + sum(coefficient * term)``.

    Applies a scale whose coefficients were estimated elsewhere (a published actuarial scale,
    or a model fitted on another cohort) to new cases, with nothing learnt from them. ``fit``
    only checks that every term can be computed from the DataFrame and records the outcome
    labels; predictions need no fit at all. Each term is a column of the DataFrame or a
    derived quantity declared in ``transforms``.

    It is a classifier (``predict_proba``, ``decision_function``, usable with
    ``cross_val_score(..., scoring="roc_auc")``) and a transformer whose output is the
    probability or the log-odds, so it can feed a logistic recalibration model in a
    :class:`~sklearn.pipeline.Pipeline` (Steyerberg 2019, ch. 20).

    Parameters
    ----------
    intercept : float, default 0.0
        The constant of the linear predictor (log-odds scale).
    coefficients : mapping of str to float
        Term name to coefficient (log-odds per unit of the term). Required.
    transforms : mapping of str to transform, optional
        How to compute a term that is not a column. A transform is either a callable taking
        the DataFrame and returning one value per row, or a pair ``(column, function)`` where
        ``function`` is a callable applied to the column or one of ``"identity"``, ``"log"``,
        ``"inverse"`` (1/x), ``"square"``, ``"sqrt"`` and ``"male"`` (1 for male, 0 for
        female, with the labels accepted by :class:`ActuarialScore`). A transform takes
        precedence over a column of the same name.
    output : {"probability", "logit"}, default "probability"
        What :meth:`transform` returns.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The outcome labels seen by ``fit`` (sorted), or ``[0, 1]`` when fit had no ``y``.
    terms_ : tuple of str
        The terms, in the order of ``coefficients``.

    See Also
    --------
    ActuarialScore : fit the coefficients on your own cohort.

    Notes
    -----
    A scale's published coefficients describe the cohort it was built on. Before relying on
    its probabilities elsewhere, check them with :func:`calibration`; a recalibration (a
    logistic regression on the score's log-odds, as in the example below) corrects the
    intercept and slope while keeping the ranking.

    References
    ----------
    Steyerberg, E. W. (2019). *Clinical Prediction Models: A Practical Approach to
    Development, Validation, and Updating* (2nd ed.). Cham: Springer.
    https://doi.org/10.1007/978-3-030-16399-0

    Examples
    --------
    The coefficients below are made up for illustration. They are NOT those of OGRS or of any
    published scale.

    >>> import pandas as pd
    >>> from riskeval.prediction.actuarial import FixedScore
    >>> illustrative = FixedScore(
    ...     intercept=1.5,
    ...     coefficients={"1/age": 20.0, "age": -0.05, "male": 0.3, "n_previous": 0.1},
    ...     transforms={"1/age": ("age", "inverse"), "male": ("sex", "male")},
    ... )
    >>> cases = pd.DataFrame({"age": [19, 45], "sex": ["male", "F"], "n_previous": [6, 0]})
    >>> illustrative.predict_proba(cases)[:, 1].round(3)
    array([0.924, 0.424])

    Recalibrating the illustrative score on local outcomes:

    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> recalibrated = make_pipeline(FixedScore(intercept=1.5,
    ...                                         coefficients={"n_previous": 0.1},
    ...                                         output="logit"),
    ...                              LogisticRegression())
    """

    def __init__(self, *, intercept: float = 0.0,
                 coefficients: Mapping[str, float] | None = None,
                 transforms: Mapping[str, Any] | None = None,
                 output: str = "probability") -> None:
        self.intercept = intercept
        self.coefficients = coefficients
        self.transforms = transforms
        self.output = output

    def _spec(self) -> tuple[float, tuple[str, ...], np.ndarray, dict[str, Any]]:
        if isinstance(self.intercept, bool) or not isinstance(self.intercept, numbers.Real) or (
            not math.isfinite(float(self.intercept))
        ):
            raise RiskevalError(f"intercept must be a finite number; got {self.intercept!r}")
        if not isinstance(self.coefficients, Mapping) or len(self.coefficients) == 0:
            raise RiskevalError(
                "coefficients must be a mapping of term name to coefficient, e.g. "
                f"{{'age': -0.05, 'n_previous': 0.1}}; got {self.coefficients!r}"
            )
        terms, values = [], []
        for term, c in self.coefficients.items():
            if isinstance(c, bool) or not isinstance(c, numbers.Real) or not math.isfinite(
                float(c)
            ):
                raise RiskevalError(f"the coefficient of {term!r} must be a finite number; got "
                                    f"{c!r}")
            terms.append(term)
            values.append(float(c))
        transforms = self.transforms if self.transforms is not None else {}
        if not isinstance(transforms, Mapping):
            raise RiskevalError(
                f"transforms must be a mapping of term name to a transform; got {transforms!r}"
            )
        if self.output not in ("probability", "logit"):
            raise RiskevalError(
                f"output must be 'probability' or 'logit'; got {self.output!r}"
            )
        return float(self.intercept), tuple(terms), np.asarray(values), dict(transforms)

    def _term(self, frame: pd.DataFrame, term: str, transforms: dict[str, Any]) -> np.ndarray:
        if term in transforms:
            spec = transforms[term]
            if callable(spec):
                try:
                    out = spec(frame)
                except Exception as err:
                    raise RiskevalError(
                        f"the transform of term {term!r} failed on the table: "
                        f"{type(err).__name__}: {err}"
                    ) from err
                vals = np.asarray(out, dtype=object).reshape(-1)
                if len(vals) != len(frame):
                    raise RiskevalError(
                        f"the transform of term {term!r} returned {len(vals)} values for "
                        f"{len(frame)} rows; expected one per row"
                    )
                num = pd.to_numeric(pd.Series(vals), errors="coerce").astype(float).to_numpy()
                bad = ~np.isfinite(num)
                if bad.any():
                    raise RiskevalError(
                        f"the transform of term {term!r} gave non-finite or non-numeric values "
                        f"at {_row_labels(frame.index[bad])}: {_shown(vals[bad])}"
                    )
                return num
            if not (isinstance(spec, tuple | list) and len(spec) == 2):
                raise RiskevalError(
                    f"the transform of term {term!r} must be a callable of the table or a pair "
                    f"(column, function); got {spec!r}"
                )
            col, func = spec
            if isinstance(func, str):
                if func == "male":
                    return _male(frame, col)
                if func not in _NAMED:
                    raise RiskevalError(
                        f"unknown transform {func!r} for term {term!r}; expected a callable or "
                        f"one of {', '.join(map(repr, [*_NAMED, 'male']))}"
                    )
                x = _numeric(frame, col, f"term {term!r}'s")
                if func in _DOMAIN:
                    ok, what = _DOMAIN[func]
                    bad = ~ok(x)
                    if bad.any():
                        raise RiskevalError(
                            f"term {term!r} takes the {func} of column {col!r}, which must be "
                            f"{what}; {_row_labels(frame.index[bad])} hold {_shown(x[bad])}"
                        )
                return np.asarray(_NAMED[func](x), dtype=float)
            if not callable(func):
                raise RiskevalError(f"the function in the transform of term {term!r} must be a "
                                    f"callable or a name; got {func!r}")
            x = _column(frame, col, f"term {term!r}'s")
            return self._term(frame, term, {term: lambda _f: func(x)})
        if term in frame.columns:
            return _numeric(frame, term, "term")
        raise RiskevalError(
            f"term {term!r} is neither a column of the table nor declared in transforms."
            f"{_suggest(term, frame.columns)}"
        )

    def _linear(self, X: Any) -> np.ndarray:
        frame = _frame(X)
        intercept, terms, coefs, transforms = self._spec()
        lp = np.full(len(frame), intercept)
        for term, c in zip(terms, coefs, strict=True):
            lp = lp + c * self._term(frame, term, transforms)
        return lp

    def fit(self, X: pd.DataFrame, y: Any = None) -> FixedScore:
        """Check that every term can be computed from ``X``; learn nothing.

        Parameters
        ----------
        X : pandas.DataFrame
            Cases with the columns the terms need.
        y : array-like, optional
            Outcomes; when given, their two labels become ``classes_``.

        Returns
        -------
        FixedScore
            ``self``.
        """
        frame = _frame(X)
        self._linear(frame)
        if y is not None:
            arr = _two_classes(y, len(frame))
            self.classes_ = np.unique(np.asarray(arr))
        else:
            self.classes_ = _DEFAULT_CLASSES.copy()
        self.terms_ = tuple(self._spec()[1])
        self.n_features_in_ = frame.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # nothing to learn

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The linear predictor (log-odds of the event) of each case."""
        return self._linear(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of the two classes (the second is the event), one row a case."""
        p = special.expit(self._linear(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The more probable class of each case (threshold 0.5 on the probability)."""
        classes = getattr(self, "classes_", _DEFAULT_CLASSES)
        return classes[(self._linear(X) > 0).astype(int)]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The probability (or log-odds, with ``output="logit"``) as a one-column array."""
        lp = self._linear(X)
        out = lp if self.output == "logit" else special.expit(lp)
        return out.reshape(-1, 1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Name of the single output column: ``"probability"`` or ``"logit"``."""
        return np.asarray([self.output], dtype=object)


# ================================================================================= AUC


def _delong(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                        np.ndarray]:
    """AUCs, structural components and DeLong covariance by the mid-rank method of Sun & Xu.

    ``scores`` has shape (k, n_cases). For each score, with m events and n non-events, the
    mid-ranks among events (Tx), among non-events (Ty) and among all (Tz) give the
    components ``V10_i = (Tz_i - Tx_i) / n`` (share of non-events below event i, ties one
    half) and ``V01_j = 1 - (Tz_j - Ty_j) / m`` (share of events above non-event j); the AUC
    is their common mean and ``S = S10 / m + S01 / n`` their covariance (DeLong et al. 1988).
    """
    pos = scores[:, y]
    neg = scores[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    tx = stats.rankdata(pos, axis=1)
    ty = stats.rankdata(neg, axis=1)
    tz = stats.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, v10, v01, cov


def _class_counts(y: np.ndarray) -> tuple[int, int]:
    m = int(y.sum())
    n = int(len(y) - m)
    if m < 2 or n < 2:
        raise RiskevalError(
            f"DeLong's variance needs at least two cases of each outcome; y has {m} "
            f"reconvicted and {n} not"
        )
    return m, n


@dataclass(frozen=True, eq=False)
class AUCResult:
    """The area under the ROC curve with DeLong's standard error.

    Attributes
    ----------
    estimate : float
        The AUC: the probability that a randomly chosen event (reconvicted) case scores higher
        than a randomly chosen non-event case, ties counting one half.
    se : float
        DeLong's standard error.
    ci : tuple of float
        ``(low, high)`` interval at level ``confidence``.
    confidence : float
    ci_scale : str
        ``"plain"`` (Wald interval on the AUC scale, cut to [0, 1]) or ``"logit"``.
    n_events, n_nonevents : int
    v10, v01 : ndarray
        DeLong's structural components: for each event case the share of non-events scoring
        below it (``v10``), for each non-event case the share of events scoring above it
        (``v01``), in the order of the cases.
    name : str
    references : tuple of str
    """

    estimate: float
    se: float
    ci: tuple[float, float]
    confidence: float
    ci_scale: str
    n_events: int
    n_nonevents: int
    v10: np.ndarray
    v01: np.ndarray
    name: str = "score"
    references: tuple[str, ...] = _DELONG_REFS

    @property
    def variance(self) -> float:
        """DeLong's variance, ``se ** 2``."""
        return self.se ** 2

    def to_frame(self) -> pd.DataFrame:
        """One row: auc, se, ci_low, ci_high, confidence, ci_scale, n_events, n_nonevents."""
        return pd.DataFrame([{
            "auc": self.estimate, "se": self.se, "ci_low": self.ci[0], "ci_high": self.ci[1],
            "confidence": self.confidence, "ci_scale": self.ci_scale,
            "n_events": self.n_events, "n_nonevents": self.n_nonevents,
        }], index=pd.Index([self.name], name="score"))

    def summary(self) -> str:
        """One line of plain text."""
        return (f"AUC of {self.name}: {_fmt(self.estimate)} (SE {_fmt(self.se)}; "
                f"{100 * self.confidence:g}% CI {_fmt(self.ci[0])} to {_fmt(self.ci[1])}, DeLong, "
                f"{self.ci_scale} scale), {self.n_events} reconvicted and {self.n_nonevents} not")

    def __repr__(self) -> str:
        return (f"<AUC {self.name} = {_fmt(self.estimate)}, {100 * self.confidence:g}% CI "
                f"[{_fmt(self.ci[0])}, {_fmt(self.ci[1])}], n={self.n_events}+"
                f"{self.n_nonevents}>")


def _auc_ci(est: float, se: float, q: float, scale: str) -> tuple[float, float]:
    if se == 0.0:
        warnings.warn(
            f"the AUC is {est:g} with DeLong variance 0 (the scores order the outcomes without "
            "any overlap, or every score is tied); the interval is the single point",
            DegenerateDataWarning, stacklevel=3,
        )
        return est, est
    if scale == "plain":
        return max(0.0, est - q * se), min(1.0, est + q * se)
    if est <= 0.0 or est >= 1.0:
        return est, est
    centre = special.logit(est)
    half = q * se / (est * (1.0 - est))
    return float(special.expit(centre - half)), float(special.expit(centre + half))


def _name(x: Any, default: str) -> str:
    name = getattr(x, "name", None)
    return str(name) if name is not None and not isinstance(x, np.ndarray) else default


def auc(y: Any, score: Any, confidence: float = 0.95, *, ci_scale: str = "plain",
        name: str | None = None) -> AUCResult:
    """Area under the ROC curve with DeLong's variance and a confidence interval.

    Parameters
    ----------
    y : array-like of 0/1 or bool
        Outcome of each case (1 = reconvicted). Both outcomes must occur, at least twice each.
    score : array-like
        Score of each case, higher meaning riskier: probabilities, points, or ordered levels
        (an ordered pandas Categorical, or labels of :data:`riskeval.RISK_LEVELS`, which are
        ranked low < medium < high < very high). Ties are allowed (mid-ranks).
    confidence : float, default 0.95
        Level of the interval.
    ci_scale : {"plain", "logit"}, default "plain"
        ``"plain"``: ``AUC +/- z * SE``, cut to [0, 1], as in DeLong et al. (1988) and R's pROC
        (Robin et al. 2011), so published results can be reproduced. ``"logit"``: the interval
        computed for ``logit(AUC)`` with the delta-method error ``SE / (AUC (1 - AUC))`` and
        transformed back; it stays inside (0, 1) and is more accurate for AUCs near 1 in small
        samples (Pepe 2003, sec. 5.2; Qin & Hotilovac 2008).
    name : str, optional
        Label of the score in the result (default: the Series name, or ``"score"``).

    Returns
    -------
    AUCResult

    Notes
    -----
    The point estimate is scikit-learn's :func:`~sklearn.metrics.roc_auc_score` (the
    Mann-Whitney statistic). The variance is DeLong's nonparametric estimate
    ``var(V10) / m + var(V01) / n`` from the structural components of the m event and n
    non-event cases, computed from mid-ranks in O(N log N) time as in Sun & Xu (2014). The
    score is not reversed when its AUC is below 0.5: such a score ranks the wrong way.

    References
    ----------
    DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two
    or more correlated receiver operating characteristic curves: a nonparametric approach.
    *Biometrics* 44(3), 837-845.

    Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
    under correlated receiver operating characteristic curves. *IEEE Signal Processing
    Letters* 21(11), 1389-1393.

    Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under a receiver
    operating characteristic (ROC) curve. *Radiology* 143(1), 29-36.

    Robin, X., Turck, N., Hainard, A., Tiberti, N., Lisacek, F., Sanchez, J.-C. & Müller, M.
    (2011). pROC: an open-source package for R and S+ to analyze and compare ROC curves.
    *BMC Bioinformatics* 12, 77. https://doi.org/10.1186/1471-2105-12-77

    Pepe, M. S. (2003). *The Statistical Evaluation of Medical Tests for Classification and
    Prediction*. Oxford: Oxford University Press.

    Qin, G. & Hotilovac, L. (2008). Comparison of non-parametric confidence intervals for the
    area under the ROC curve of a continuous-scale diagnostic test. *Statistical Methods in
    Medical Research* 17(2), 207-221. https://doi.org/10.1177/0962280207087173

    Examples
    --------
    >>> from riskeval.prediction.actuarial import auc
    >>> res = auc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(res.estimate, 4)
    0.8889
    """
    from sklearn.metrics import roc_auc_score

    conf = _confidence(confidence)
    if ci_scale not in ("plain", "logit"):
        raise RiskevalError(f"ci_scale must be 'plain' or 'logit'; got {ci_scale!r}")
    s = _score(score, "score")
    yv = _binary(y, "y", len(s))
    m, n = _class_counts(yv)
    estimate = float(roc_auc_score(yv, s))
    _, v10, v01, cov = _delong(yv, s[None, :])
    se = math.sqrt(max(float(cov[0, 0]), 0.0))
    q = float(stats.norm.ppf(0.5 + conf / 2))
    ci = _auc_ci(estimate, se, q, ci_scale)
    return AUCResult(estimate=estimate, se=se, ci=(float(ci[0]), float(ci[1])), confidence=conf,
                     ci_scale=ci_scale, n_events=m, n_nonevents=n, v10=v10[0], v01=v01[0],
                     name=name if name is not None else _name(score, "score"))


@dataclass(frozen=True, eq=False)
class DeLongTestResult:
    """DeLong's test of the difference between two correlated AUCs.

    Attributes
    ----------
    names : tuple of str
        Labels of the two scores, ``(a, b)``.
    auc : tuple of float
        The two AUCs.
    se : tuple of float
        Their DeLong standard errors.
    covariance : ndarray of shape (2, 2)
        DeLong covariance matrix of the two AUCs.
    correlation : float
        Correlation of the two AUC estimates.
    difference : float
        ``auc[0] - auc[1]`` (a minus b).
    se_difference : float
        Its standard error, ``sqrt(S_aa + S_bb - 2 S_ab)``.
    z, p_value : float
        ``difference / se_difference`` and its two-sided normal p-value.
    ci : tuple of float
        Interval for the difference at level ``confidence``.
    confidence : float
    n_events, n_nonevents : int
    references : tuple of str
    """

    names: tuple[str, str]
    auc: tuple[float, float]
    se: tuple[float, float]
    covariance: np.ndarray
    correlation: float
    difference: float
    se_difference: float
    z: float
    p_value: float
    ci: tuple[float, float]
    confidence: float
    n_events: int
    n_nonevents: int
    references: tuple[str, ...] = _DELONG_REFS

    def to_frame(self) -> pd.DataFrame:
        """One row: the two AUCs, difference, se, z, p_value, ci_low, ci_high, correlation."""
        a, b = self.names
        return pd.DataFrame([{
            f"auc_{a}": self.auc[0], f"auc_{b}": self.auc[1], "difference": self.difference,
            "se": self.se_difference, "z": self.z, "p_value": self.p_value,
            "ci_low": self.ci[0], "ci_high": self.ci[1], "correlation": self.correlation,
            "n_events": self.n_events, "n_nonevents": self.n_nonevents,
        }], index=pd.Index([f"{a} - {b}"], name="comparison"))

    def summary(self) -> str:
        """A few lines of plain text."""
        a, b = self.names
        return "\n".join([
            f"DeLong's test for two correlated AUCs ({self.n_events} reconvicted, "
            f"{self.n_nonevents} not)",
            f"  AUC {a} = {_fmt(self.auc[0])} (SE {_fmt(self.se[0])}), AUC {b} = "
            f"{_fmt(self.auc[1])} (SE {_fmt(self.se[1])}), correlation {_fmt(self.correlation)}",
            f"  difference {_fmt(self.difference)} (SE {_fmt(self.se_difference)}, "
            f"{100 * self.confidence:g}% CI {_fmt(self.ci[0])} to {_fmt(self.ci[1])}), "
            f"z = {_fmt(self.z, 2)}, p = {self.p_value:.3g}",
        ])

    def __repr__(self) -> str:
        a, b = self.names
        return (f"<DeLong test {a} - {b}: difference {_fmt(self.difference)}, z = "
                f"{_fmt(self.z, 2)}, p = {self.p_value:.3g}>")


def delong_test(y: Any, score_a: Any, score_b: Any, confidence: float = 0.95, *,
                names: tuple[str, str] | None = None) -> DeLongTestResult:
    """Compare two AUCs measured on the same cases (paired DeLong test).

    Typical use: does the actuarial score rank reconvicted and non-reconvicted cases better
    than the officers' clinical levels on the same cases? Because both are measured on the
    same people their AUCs are correlated, and the test accounts for it.

    Parameters
    ----------
    y : array-like of 0/1 or bool
        Outcome of each case (1 = reconvicted); at least two cases of each.
    score_a, score_b : array-like
        Two scores of the same cases in the same order, higher meaning riskier (numbers, an
        ordered pandas Categorical, or :data:`riskeval.RISK_LEVELS` labels).
    confidence : float, default 0.95
        Level of the interval for the difference.
    names : pair of str, optional
        Labels of the scores (default: their Series names, or ``"a"`` and ``"b"``).

    Returns
    -------
    DeLongTestResult
        With ``difference = AUC(a) - AUC(b)``.

    Notes
    -----
    With structural components ``V10`` (events) and ``V01`` (non-events) of both scores, the
    covariance of the two AUCs is ``S = S10 / m + S01 / n``, where ``S10`` and ``S01`` are the
    2 x 2 sample covariance matrices of the components (DeLong et al. 1988); the components
    come from mid-ranks (Sun & Xu 2014). ``z = (AUC_a - AUC_b) / sqrt(S_aa + S_bb - 2 S_ab)``
    is referred to the standard normal distribution. When the two scores rank the cases
    identically the variance of the difference is 0; the result is then ``z = 0``, ``p = 1``
    with a warning.

    References
    ----------
    DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two
    or more correlated receiver operating characteristic curves: a nonparametric approach.
    *Biometrics* 44(3), 837-845.

    Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
    under correlated receiver operating characteristic curves. *IEEE Signal Processing
    Letters* 21(11), 1389-1393.
    """
    from sklearn.metrics import roc_auc_score

    conf = _confidence(confidence)
    sa = _score(score_a, "score_a")
    sb = _score(score_b, "score_b", len(sa), other="score_a")
    yv = _binary(y, "y", len(sa))
    m, n = _class_counts(yv)
    if names is None:
        names = (_name(score_a, "a"), _name(score_b, "b"))
        if names[0] == names[1]:
            names = (f"{names[0]} (a)", f"{names[1]} (b)")
    elif isinstance(names, str) or len(names) != 2:
        raise RiskevalError(f"names must be two labels, one per score; got {names!r}")
    names = (str(names[0]), str(names[1]))
    _, _, _, cov = _delong(yv, np.vstack([sa, sb]))
    aucs = (float(roc_auc_score(yv, sa)), float(roc_auc_score(yv, sb)))
    diff = aucs[0] - aucs[1]
    var_d = max(float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]), 0.0)
    se_d = math.sqrt(var_d)
    q = float(stats.norm.ppf(0.5 + conf / 2))
    if se_d == 0.0:
        warnings.warn(
            f"the AUC difference of {names[0]} and {names[1]} has variance 0 (the two scores "
            "order every event/non-event pair alike); reporting z = 0, p = 1"
            if diff == 0.0 else
            f"the AUC difference of {names[0]} and {names[1]} has variance 0 but is "
            f"{diff:g}; the test is degenerate",
            DegenerateDataWarning, stacklevel=2,
        )
        z = 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    else:
        z = diff / se_d
    p = float(2.0 * stats.norm.sf(abs(z)))
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    corr = float(cov[0, 1] / (sd[0] * sd[1])) if sd[0] > 0 and sd[1] > 0 else float("nan")
    return DeLongTestResult(
        names=names, auc=aucs, se=(float(sd[0]), float(sd[1])), covariance=cov,
        correlation=corr, difference=diff, se_difference=se_d, z=float(z), p_value=p,
        ci=(diff - q * se_d, diff + q * se_d), confidence=conf, n_events=m, n_nonevents=n,
    )


# ============================================================================= calibration


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Agreement between predicted probabilities and observed outcomes.

    Attributes
    ----------
    n, n_events : int
        Cases and events (reconvictions).
    observed_rate, expected_rate : float
        Mean outcome and mean predicted probability.
    difference : float
        Calibration-in-the-large on the probability scale: ``observed_rate - expected_rate``
        (positive: the score under-predicts).
    oe_ratio : float
        Observed over expected events, ``sum(y) / sum(p)``.
    oe_ci : tuple of float
        Interval of the O/E ratio (log scale, ``var(log O/E) = (1 - O/n) / O``; Debray et al.
        2017).
    intercept, intercept_se, intercept_p : float
        Calibration intercept ``a`` of ``logit P(y = 1) = a + logit(p)`` (slope fixed at 1,
        logit(p) as offset): 0 when the mean prediction is right, positive when the score
        under-predicts. ``intercept_p`` tests ``a = 0``.
    intercept_ci : tuple of float
    slope, slope_se, slope_p : float
        Calibration slope ``b`` of ``logit P(y = 1) = c + b logit(p)`` (Cox 1958): 1 when
        the spread of predictions is right, below 1 when predictions are too extreme, above 1
        when too modest. ``slope_p`` tests ``b = 1``.
    slope_ci : tuple of float
    brier : float
        Brier score, the mean of ``(y - p)**2`` (lower is better).
    scaled_brier : float
        ``1 - brier / (ybar (1 - ybar))``: 1 for perfect predictions, 0 for predicting the
        overall rate to everyone, negative for worse (Steyerberg et al. 2010).
    table : pandas.DataFrame
        Reliability table, one row per bin or band: ``n``, ``mean_predicted``,
        ``observed_rate`` with its Wilson interval ``ci_low``/``ci_high``, ``expected``
        (sum of p), ``observed`` (events) and ``e_o`` (expected / observed; ``inf`` in a bin
        without events).
    grouping : str
        How the rows of ``table`` were formed.
    confidence : float
    references : tuple of str
    """

    n: int
    n_events: int
    observed_rate: float
    expected_rate: float
    difference: float
    oe_ratio: float
    oe_ci: tuple[float, float]
    intercept: float
    intercept_se: float
    intercept_ci: tuple[float, float]
    intercept_p: float
    slope: float
    slope_se: float
    slope_ci: tuple[float, float]
    slope_p: float
    brier: float
    scaled_brier: float
    table: pd.DataFrame
    grouping: str
    confidence: float
    references: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The summary statistics, one row each: estimate, se, ci_low, ci_high, p_value."""
        nan = float("nan")
        rows = {
            "observed - expected": (self.difference, nan, nan, nan, nan),
            "O/E ratio": (self.oe_ratio, nan, *self.oe_ci, nan),
            "calibration intercept": (self.intercept, self.intercept_se, *self.intercept_ci,
                                      self.intercept_p),
            "calibration slope": (self.slope, self.slope_se, *self.slope_ci, self.slope_p),
            "Brier score": (self.brier, nan, nan, nan, nan),
            "scaled Brier score": (self.scaled_brier, nan, nan, nan, nan),
        }
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=["estimate", "se", "ci_low", "ci_high", "p_value"]
        ).rename_axis("statistic")

    def summary(self) -> str:
        """A few lines of plain text."""
        pct = f"{100 * self.confidence:g}%"
        return "\n".join([
            f"Calibration of {self.n} predictions ({self.n_events} reconvicted)",
            f"  observed rate {_fmt(self.observed_rate)}, mean predicted "
            f"{_fmt(self.expected_rate)} (O/E {_fmt(self.oe_ratio)}, {pct} CI "
            f"{_fmt(self.oe_ci[0])} to {_fmt(self.oe_ci[1])})",
            f"  calibration intercept {_fmt(self.intercept)} ({pct} CI "
            f"{_fmt(self.intercept_ci[0])} to {_fmt(self.intercept_ci[1])}), slope "
            f"{_fmt(self.slope)} ({pct} CI {_fmt(self.slope_ci[0])} to "
            f"{_fmt(self.slope_ci[1])}; test of slope 1: p = {self.slope_p:.3g})",
            f"  Brier score {_fmt(self.brier, 4)}, scaled Brier {_fmt(self.scaled_brier)}",
            f"  reliability table by {self.grouping}",
        ])

    def __repr__(self) -> str:
        return (f"<Calibration n={self.n}: O/E {_fmt(self.oe_ratio)}, intercept "
                f"{_fmt(self.intercept)}, slope {_fmt(self.slope)}, Brier {_fmt(self.brier, 4)}>")

    def plot(self, ax: Any = None) -> Any:
        """Reliability diagram: observed rate (with Wilson intervals) against mean prediction.

        Each bin or band of the reliability table is a point at its mean predicted
        probability and observed reconviction rate, with a vertical bar for the Wilson
        interval; the diagonal is perfect calibration. Bands are labelled with their names.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw there; otherwise a new Figure is made.

        Returns
        -------
        matplotlib Figure when it made one, else the Axes.
        """
        import matplotlib.pyplot as plt

        from .._core.plots import _literal

        made = ax is None
        if made:
            fig, ax = plt.subplots(figsize=(5, 5))
        t = self.table
        x = t["mean_predicted"].to_numpy(float)
        obs = t["observed_rate"].to_numpy(float)
        err = np.vstack([obs - t["ci_low"].to_numpy(float), t["ci_high"].to_numpy(float) - obs])
        top = float(min(1.0, 1.05 * max(np.max(x), np.max(t["ci_high"]))))
        ax.plot([0, top], [0, top], color="#7f7f7f", lw=1, ls="--",
                label="perfect calibration")
        ax.errorbar(x, obs, yerr=err, fmt="o", color="#1f4e79", ecolor="#1f4e79", capsize=3,
                    ms=5, label=f"observed rate ({100 * self.confidence:g}% Wilson interval)")
        if self.grouping.startswith("band"):
            for label, xi, yi in zip(t.index, x, obs, strict=True):
                ax.annotate(str(label), (xi, yi), xytext=(5, -10), textcoords="offset points",
                            fontsize=8)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_aspect("equal")
        ax.set_xlabel("predicted probability (mean in group)")
        ax.set_ylabel("observed reconviction rate")
        ax.set_title(f"Calibration slope {_fmt(self.slope, 2)}, intercept "
                     f"{_fmt(self.intercept, 2)}", fontsize=10)
        ax.legend(fontsize=8, frameon=False, loc="upper left")
        _literal(ax)  # band and group labels drawn as written ("$" is not maths)
        if made:
            fig.tight_layout()
            return fig
        return ax


def _glm(endog: np.ndarray, exog: np.ndarray, offset: np.ndarray | None, what: str) -> Any:
    import statsmodels.api as sm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = sm.GLM(endog, exog, family=sm.families.Binomial(), offset=offset).fit()
    seen: set[tuple[str, str]] = set()
    for w in caught:
        key = (w.category.__name__, str(w.message))
        if key in seen:
            continue
        seen.add(key)
        if "Separation" in key[0] or "Convergence" in key[0]:
            warnings.warn(f"fitting the {what}: {w.message}; its estimate and interval are "
                          "unreliable", DegenerateDataWarning, stacklevel=3)
        else:
            warnings.warn(w.message, w.category, stacklevel=3)
    return fit


def _groups(p: np.ndarray, bins: Any, bands: Any) -> tuple[pd.Categorical, str]:
    if bands is not None:
        if bins is not None:
            raise RiskevalError("give either bins (groups of predicted probability) or bands "
                                "(a label per case), not both")
        codes, levels, ordered = _ordinal_codes(bands, "bands", None)
        if len(codes) != len(p):
            raise RiskevalError(f"bands has {len(codes)} labels but p has {len(p)} values; "
                                "expected one band per case")
        if not ordered:
            # Unknown order: show bands from the lowest to the highest mean prediction.
            means = pd.Series(p).groupby(codes).mean()
            order = [levels[i] for i in means.sort_values(kind="stable").index]
            cat = pd.Categorical(np.asarray(levels, dtype=object)[codes], categories=order,
                                 ordered=True)
        else:
            cat = pd.Categorical.from_codes(codes, categories=list(levels), ordered=True)
        return cat, "band"
    bins = 10 if bins is None else bins
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if bins < 1:
            raise RiskevalError(f"bins must be a positive number of groups; got {bins}")
        cut = pd.qcut(p, q=int(bins), duplicates="drop")
        for digits in range(3, 18):  # enough digits to tell neighbouring groups apart
            labels = [f"{iv.left:.{digits}g}-{iv.right:.{digits}g}" for iv in cut.categories]
            if len(set(labels)) == len(labels):
                break
        cat = pd.Categorical.from_codes(cut.codes, categories=labels, ordered=True)
        return cat, f"{len(labels)} groups of equal size by predicted probability"
    try:
        edges = np.asarray([float(e) for e in bins], dtype=float)
    except (TypeError, ValueError):
        raise RiskevalError(
            f"bins must be a number of groups or increasing cut points on the probability "
            f"scale, e.g. (0, 0.25, 0.5, 0.75, 1); got {bins!r}"
        ) from None
    if edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0 or edges[-1] > 1:
        raise RiskevalError(
            f"bins as cut points must be at least two increasing probabilities between 0 and 1, "
            f"e.g. (0, 0.25, 0.5, 0.75, 1); got {tuple(bins)!r}"
        )
    outside = (p < edges[0]) | (p > edges[-1])
    if outside.any():
        raise RiskevalError(
            f"predicted probabilities {_shown(p[outside])} fall outside the bins "
            f"[{edges[0]:g}, {edges[-1]:g}]; extend the first or last cut point"
        )
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    labels = [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges)]
    cat = pd.Categorical.from_codes(idx, categories=labels, ordered=True)
    return cat, "bins with cut points " + ", ".join(f"{e:g}" for e in edges)


def calibration(y: Any, p: Any, bins: Any = None, *, bands: Any = None,
                confidence: float = 0.95) -> CalibrationResult:
    """Calibration of predicted reconviction probabilities against observed outcomes.

    Parameters
    ----------
    y : array-like of 0/1 or bool
        Outcome of each case (1 = reconvicted); both outcomes must occur.
    p : array-like of float
        Predicted probability of each case, strictly between 0 and 1 (percentages are
        refused with a hint).
    bins : int or sequence of float, optional
        Grouping of the reliability table by predicted probability: a number of groups of
        (nearly) equal size (quantiles of ``p``; default 10, the "deciles of risk"; fewer when
        predictions tie), or increasing cut points covering every prediction, e.g.
        ``(0, 0.25, 0.5, 0.75, 1)`` (intervals closed on the left, the last also on the right).
    bands : array-like, optional
        Instead of ``bins``, a band label per case (for example the actuarial band the scale
        assigned: low, medium, high, very high). Bands are shown in their order (ordered
        Categorical, numbers, or :data:`riskeval.RISK_LEVELS`), otherwise by mean prediction.
    confidence : float, default 0.95
        Level of every interval.

    Returns
    -------
    CalibrationResult
        With a :meth:`~CalibrationResult.plot` method drawing the reliability diagram.

    Notes
    -----
    * Calibration-in-the-large: ``observed - expected`` mean, the O/E ratio, and the
      calibration intercept, a logistic regression of ``y`` with ``logit(p)`` as offset
      (statsmodels GLM).
    * Calibration slope: logistic regression of ``y`` on ``logit(p)`` (Cox 1958). A score
      developed on the same data has slope 1 by construction; on new cases a slope below 1
      is the usual sign of overfitting.
    * Brier score from scikit-learn's :func:`~sklearn.metrics.brier_score_loss`; scaled as in
      Steyerberg et al. (2010).
    * Reliability table: Wilson score intervals for the observed rate (statsmodels
      ``proportion_confint``). Groups without cases are left out.

    References
    ----------
    Cox, D. R. (1958). Two further applications of a model for binary regression.
    *Biometrika* 45(3/4), 562-565.

    Van Calster, B., McLernon, D. J., van Smeden, M., Wynants, L. & Steyerberg, E. W. (2019).
    Calibration: the Achilles heel of predictive analytics. *BMC Medicine* 17, 230.

    Steyerberg, E. W., Vickers, A. J., Cook, N. R., Gerds, T., Gonen, M., Obuchowski, N.,
    Pencina, M. J. & Kattan, M. W. (2010). Assessing the performance of prediction models: a
    framework for traditional and novel measures. *Epidemiology* 21(1), 128-138.
    https://doi.org/10.1097/EDE.0b013e3181c30fb2

    Brier, G. W. (1950). Verification of forecasts expressed in terms of probability. *Monthly
    Weather Review* 78(1), 1-3.

    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *Journal of the American Statistical Association* 22(158), 209-212.

    Debray, T. P. A., Damen, J. A. A. G., Snell, K. I. E., Ensor, J., Hooft, L., Reitsma,
    J. B., Riley, R. D. & Moons, K. G. M. (2017). A guide to systematic review and
    meta-analysis of prediction model performance. *BMJ* 356, i6460.
    https://doi.org/10.1136/bmj.i6460

    Hosmer, D. W., Lemeshow, S. & Sturdivant, R. X. (2013). *Applied Logistic Regression*
    (3rd ed.). Hoboken: Wiley (grouping by deciles of risk).
    """
    import statsmodels.api as sm
    from sklearn.metrics import brier_score_loss
    from statsmodels.stats.proportion import proportion_confint

    conf = _confidence(confidence)
    pv = _probabilities(p, "p", len(_one_dim(y, "y")))
    yv = _binary(y, "y", len(pv))
    if np.ptp(pv) == 0:
        raise RiskevalError(
            f"p is {pv[0]:g} for every case; with a single prediction the calibration slope is "
            "undefined (compare the observed rate with it directly)"
        )
    yi = yv.astype(float)
    n, events = len(yv), int(yv.sum())
    q = float(stats.norm.ppf(0.5 + conf / 2))
    lp = special.logit(pv)
    alpha = 1.0 - conf

    fit_a = _glm(yi, np.ones((n, 1)), lp, "calibration intercept")
    a, a_se = float(fit_a.params[0]), float(fit_a.bse[0])
    a_ci = tuple(float(v) for v in np.asarray(fit_a.conf_int(alpha=alpha))[0])
    fit_b = _glm(yi, sm.add_constant(lp, has_constant="add"), None, "calibration slope")
    b, b_se = float(fit_b.params[1]), float(fit_b.bse[1])
    b_ci = tuple(float(v) for v in np.asarray(fit_b.conf_int(alpha=alpha))[1])
    b_p = float(2 * stats.norm.sf(abs((b - 1.0) / b_se)))

    expected = float(pv.sum())
    oe = events / expected
    se_log_oe = math.sqrt((1.0 - events / n) / events)
    oe_ci = (oe * math.exp(-q * se_log_oe), oe * math.exp(q * se_log_oe))
    brier = float(brier_score_loss(yv.astype(int), pv))
    ybar = events / n
    scaled = 1.0 - brier / (ybar * (1.0 - ybar))

    groups, grouping = _groups(pv, bins, bands)
    df = pd.DataFrame({"group": groups, "y": yi, "p": pv})
    g = df.groupby("group", observed=True)
    table = pd.DataFrame({"n": g.size(), "mean_predicted": g["p"].mean(),
                          "observed": g["y"].sum(), "expected": g["p"].sum()})
    table["observed"] = table["observed"].round().astype(int)
    table["observed_rate"] = table["observed"] / table["n"]
    low, high = proportion_confint(table["observed"].to_numpy(), table["n"].to_numpy(),
                                   alpha=alpha, method="wilson")
    table["ci_low"], table["ci_high"] = np.asarray(low, float), np.asarray(high, float)
    table["e_o"] = table["expected"] / table["observed"]  # inf where a group has no event
    table = table[["n", "mean_predicted", "observed_rate", "ci_low", "ci_high", "expected",
                   "observed", "e_o"]]
    table.index = pd.CategoricalIndex(table.index, name="band" if bands is not None
                                      else "predicted")
    return CalibrationResult(
        n=n, n_events=events, observed_rate=ybar, expected_rate=expected / n,
        difference=ybar - expected / n, oe_ratio=oe, oe_ci=oe_ci, intercept=a, intercept_se=a_se,
        intercept_ci=a_ci, intercept_p=float(fit_a.pvalues[0]), slope=b, slope_se=b_se,
        slope_ci=b_ci, slope_p=b_p, brier=brier, scaled_brier=scaled, table=table,
        grouping=grouping, confidence=conf,
        references=(
            "Cox, D. R. (1958). Two further applications of a model for binary regression. "
            "Biometrika 45(3/4), 562-565.",
            "Van Calster, B., McLernon, D. J., van Smeden, M., Wynants, L. & Steyerberg, E. W. "
            "(2019). Calibration: the Achilles heel of predictive analytics. BMC Medicine 17, "
            "230.",
            "Steyerberg, E. W. et al. (2010). Assessing the performance of prediction models. "
            "Epidemiology 21(1), 128-138.",
            "Wilson, E. B. (1927). Probable inference, the law of succession, and statistical "
            "inference. JASA 22(158), 209-212.",
        ),
    )


# ========================================================================= reclassification


@dataclass(frozen=True, eq=False)
class NRIResult:
    """Categorical net reclassification improvement of ``b`` over ``a`` (Pencina et al. 2008).

    Attributes
    ----------
    nri : float
        ``nri_events + nri_nonevents``, between -2 and 2.
    nri_events : float
        Among events (reconvicted): share moved up by ``b`` minus share moved down.
    nri_nonevents : float
        Among non-events: share moved down minus share moved up.
    se : float
        Standard error of Pencina et al. (2008),
        ``sqrt((p_up,e + p_down,e) / n_e + (p_up,ne + p_down,ne) / n_ne)``, derived under
        the null hypothesis of no net reclassification (McNemar-type); ``z`` and ``p_value``
        use it, as in the paper.
    z, p_value : float
    ci : tuple of float
        ``nri +/- z * se`` at level ``confidence``.
    se_multinomial : float
        Standard error without the null hypothesis,
        ``sqrt(sum over groups of (p_up + p_down - (p_up - p_down)**2) / n_group)``; prefer
        it (or a bootstrap; Kerr et al. 2014) for intervals when the NRI is far from 0.
    detail : pandas.DataFrame
        Rows ``events`` and ``non-events``; columns ``n``, ``up``, ``down``, ``unchanged``,
        ``p_up``, ``p_down`` and ``nri`` (the component).
    confidence : float
    """

    nri: float
    nri_events: float
    nri_nonevents: float
    se: float
    z: float
    p_value: float
    ci: tuple[float, float]
    se_multinomial: float
    detail: pd.DataFrame
    confidence: float

    def __repr__(self) -> str:
        return (f"<NRI = {_fmt(self.nri)} (events {_fmt(self.nri_events)}, non-events "
                f"{_fmt(self.nri_nonevents)}), z = {_fmt(self.z, 2)}, p = {self.p_value:.3g}>")


@dataclass(frozen=True, eq=False)
class ReclassificationResult:
    """Two categorisations of the same cases side by side.

    Attributes
    ----------
    names : tuple of str
        Labels of the two categorisations ``(a, b)``; ``a`` is the rows, ``b`` the columns.
    table : pandas.DataFrame
        Counts of cases, ``a`` levels by ``b`` levels, with a ``total`` row and column.
    events : pandas.DataFrame or None
        Counts of events (reconvicted) per cell with totals, when ``y`` was given.
    event_rate : pandas.DataFrame or None
        Share of events per cell with the marginal rates (NaN in an empty cell).
    nri : NRIResult or None
        The net reclassification improvement of ``b`` over ``a``, when ``y`` was given and the
        two share the same ordered levels.
    n : int
    """

    names: tuple[str, str]
    table: pd.DataFrame
    events: pd.DataFrame | None
    event_rate: pd.DataFrame | None
    nri: NRIResult | None
    n: int

    @property
    def agreement(self) -> float | None:
        """Share of cases placed at the same level by ``a`` and ``b`` (same levels only)."""
        inner = self.table.drop(index="total", columns="total")
        if list(inner.index) != list(inner.columns):
            return None
        return float(np.trace(inner.to_numpy())) / self.n

    def summary(self) -> str:
        """The cross-table and, with outcomes, the NRI, as plain text."""
        a, b = self.names
        lines = [f"Reclassification of {self.n} cases: {a} (rows) by {b} (columns)",
                 self.table.to_string()]
        if self.event_rate is not None:
            lines += ["Event rate per cell:",
                      self.event_rate.to_string(float_format="{:.3f}".format)]
        if self.nri is not None:
            r = self.nri
            lines.append(
                f"NRI of {b} over {a}: {_fmt(r.nri)} (events {_fmt(r.nri_events)}, non-events "
                f"{_fmt(r.nri_nonevents)}); SE {_fmt(r.se)}, z = {_fmt(r.z, 2)}, "
                f"p = {r.p_value:.3g}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        a, b = self.names
        nri = "" if self.nri is None else f", NRI {_fmt(self.nri.nri)}"
        return f"<Reclassification {a} x {b}, n={self.n}{nri}>"


def _cross(ca: np.ndarray, cb: np.ndarray, la: tuple, lb: tuple, weights: np.ndarray | None,
           names: tuple[str, str]) -> pd.DataFrame:
    counts = np.zeros((len(la), len(lb)))
    np.add.at(counts, (ca, cb), 1.0 if weights is None else weights)
    out = pd.DataFrame(counts, index=pd.Index([str(v) for v in la], name=names[0]),
                       columns=pd.Index([str(v) for v in lb], name=names[1]))
    out["total"] = out.sum(axis=1)
    out.loc["total"] = out.sum(axis=0)
    return out.round().astype(int)


def reclassification(a: Any, b: Any, y: Any = None, *, categories: Any = None,
                     names: tuple[str, str] | None = None,
                     confidence: float = 0.95) -> ReclassificationResult:
    """Cross-table two categorisations of the same cases; with outcomes, the categorical NRI.

    Typical use: the officers' clinical level (``a``) against the band of the actuarial score
    (``b``), or the bands of an old and a new scale. Rows are ``a``, columns ``b``.

    Parameters
    ----------
    a, b : array-like
        Levels of each case, in the same order. Each may be an ordered pandas Categorical
        (its categories, lowest first, are kept, including unused ones), numbers (numeric
        order), or labels of :data:`riskeval.RISK_LEVELS` (low < medium < high < very high,
        all four shown). Other text needs ``categories``.
    y : array-like of 0/1 or bool, optional
        Outcome of each case (1 = reconvicted). Adds the event counts and rates per cell and
        the net reclassification improvement of ``b`` over ``a``.
    categories : sequence or str, optional
        The common levels of ``a`` and ``b``, lowest first (e.g. ``riskeval.RISK_LEVELS``).
    names : pair of str, optional
        Labels of ``a`` and ``b`` (default: their Series names, or ``"a"`` and ``"b"``).
    confidence : float, default 0.95
        Level of the NRI interval.

    Returns
    -------
    ReclassificationResult

    Notes
    -----
    The categorical NRI (Pencina et al. 2008) counts, among events, the share placed higher
    by ``b`` than by ``a`` minus the share placed lower, and among non-events the share placed
    lower minus the share placed higher; it needs ``a`` and ``b`` to share the same ordered
    levels. It weighs every move of one level alike whatever the levels, and depends on how
    the levels are drawn; report its two components separately (Kerr et al. 2014; Leening et
    al. 2014). For a score against clinical judgement, a move "up" means ``b`` rates the case
    riskier than ``a`` does.

    References
    ----------
    Pencina, M. J., D'Agostino, R. B. Sr, D'Agostino, R. B. Jr & Vasan, R. S. (2008).
    Evaluating the added predictive ability of a new marker: from area under the ROC curve to
    reclassification and beyond. *Statistics in Medicine* 27(2), 157-172.

    Kerr, K. F., Wang, Z., Janes, H., McClelland, R. L., Psaty, B. M. & Pepe, M. S. (2014).
    Net reclassification indices for evaluating risk prediction instruments: a critical
    review. *Epidemiology* 25(1), 114-121. https://doi.org/10.1097/EDE.0000000000000018

    Leening, M. J. G., Vedder, M. M., Witteman, J. C. M., Pencina, M. J. & Steyerberg, E. W.
    (2014). Net reclassification improvement: computation, interpretation, and
    controversies. *Annals of Internal Medicine* 160(2), 122-131.
    https://doi.org/10.7326/M13-1522
    """
    conf = _confidence(confidence)
    cats = parse_categories(categories)
    ca, la, ordered_a = _ordinal_codes(a, "a", cats)
    cb, lb, ordered_b = _ordinal_codes(b, "b", cats)
    if len(ca) != len(cb):
        raise RiskevalError(f"a has {len(ca)} values and b has {len(cb)}; expected the two "
                            "categorisations of the same cases, in the same order")
    if names is None:
        names = (_name(a, "a"), _name(b, "b"))
        if names[0] == names[1]:
            names = (f"{names[0]} (a)", f"{names[1]} (b)")
    elif isinstance(names, str) or len(names) != 2:
        raise RiskevalError(f"names must be two labels, for a and b; got {names!r}")
    names = (str(names[0]), str(names[1]))
    table = _cross(ca, cb, la, lb, None, names)
    if y is None:
        return ReclassificationResult(names=names, table=table, events=None, event_rate=None,
                                      nri=None, n=len(ca))
    yv = _binary(y, "y", len(ca))
    events = _cross(ca, cb, la, lb, yv.astype(float), names)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = events / table.where(table > 0)
    nri = None
    same = ordered_a and ordered_b and tuple(map(str, la)) == tuple(map(str, lb))
    if not same:
        why = ("their levels differ" if ordered_a and ordered_b
               else "the order of their levels is not known")
        warnings.warn(
            f"no NRI: it needs a and b on the same ordered levels, but {why} (a: "
            f"{list(la)}, b: {list(lb)}); give categories= or ordered Categoricals",
            DegenerateDataWarning, stacklevel=2,
        )
    else:
        nri = _nri(ca, cb, yv, conf)
    return ReclassificationResult(names=names, table=table, events=events, event_rate=rate,
                                  nri=nri, n=len(ca))


def _nri(ca: np.ndarray, cb: np.ndarray, y: np.ndarray, conf: float) -> NRIResult:
    up, down = cb > ca, cb < ca
    rows = {}
    for label, mask in (("events", y), ("non-events", ~y)):
        k = int(mask.sum())
        u, d = int((up & mask).sum()), int((down & mask).sum())
        rows[label] = {"n": k, "up": u, "down": d, "unchanged": k - u - d,
                       "p_up": u / k, "p_down": d / k}
    detail = pd.DataFrame.from_dict(rows, orient="index")
    e, ne = detail.loc["events"], detail.loc["non-events"]
    nri_e = float(e["p_up"] - e["p_down"])
    nri_ne = float(ne["p_down"] - ne["p_up"])
    detail["nri"] = [nri_e, nri_ne]
    nri = nri_e + nri_ne
    var0 = (e["p_up"] + e["p_down"]) / e["n"] + (ne["p_up"] + ne["p_down"]) / ne["n"]
    var1 = ((e["p_up"] + e["p_down"] - nri_e ** 2) / e["n"]
            + (ne["p_up"] + ne["p_down"] - nri_ne ** 2) / ne["n"])
    se = math.sqrt(float(var0))
    q = float(stats.norm.ppf(0.5 + conf / 2))
    if se == 0.0:
        warnings.warn("no case changed level between a and b; the NRI is 0 with no variance",
                      DegenerateDataWarning, stacklevel=3)
        z, p = 0.0, 1.0
    else:
        z = nri / se
        p = float(2 * stats.norm.sf(abs(z)))
    return NRIResult(nri=nri, nri_events=nri_e, nri_nonevents=nri_ne, se=se, z=z, p_value=p,
                     ci=(nri - q * se, nri + q * se), se_multinomial=math.sqrt(max(var1, 0.0)),
                     detail=detail, confidence=conf)
