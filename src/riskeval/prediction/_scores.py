"""Actuarial reconviction scores: a fitted OGRS-style logistic score and fixed published
coefficients (scikit-learn estimators)."""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.exceptions import NotFittedError

from .._core.checks import suggest_column
from ..errors import DegenerateDataWarning, RiskevalError
from ._common import (
    _check_C,
    _column,
    _confidence,
    _frame,
    _male,
    _numeric,
    _row_labels,
    _shown,
    _two_classes,
)


class _NotFittedError(RiskevalError, NotFittedError):
    """Predicting with an :class:`ActuarialScore` before :meth:`~ActuarialScore.fit`."""



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
    >>> from riskeval.prediction import ActuarialScore
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
    >>> from riskeval.prediction import FixedScore
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
            f"{suggest_column(term, frame.columns)}"
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

