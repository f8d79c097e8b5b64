"""Small immutable result objects returned by the agreement coefficients."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._core.results import Result, TableResult

__all__ = ["AgreementResult", "EstimatesTable", "ICCResult"]


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, int | np.integer) and not isinstance(x, bool):
        return str(x)
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if np.isnan(xf):
        return "nan"
    return f"{xf:.{digits}f}"


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class AgreementResult(Result):
    """One agreement coefficient with its uncertainty.

    Attributes
    ----------
    coefficient : str
        Name, e.g. ``"Fleiss' kappa"``.
    estimate : float
        The point estimate.
    ci : tuple of float
        ``(low, high)`` confidence interval at level ``confidence``.
    se : float or None
        Standard error behind the interval (``None`` for bootstrap intervals, whose standard
        deviation of resamples is in ``extra["boot_sd"]``).
    confidence : float
        Confidence level of ``ci``.
    ci_method : str
        How the interval was computed.
    n_cases, n_raters, n_ratings : int
        Cases and raters that entered the computation, and the number of ratings used.
    extra : Mapping
        Coefficient-specific quantities (observed and chance agreement ``pa``/``pe``, test
        statistics, weights, level of measurement...).
    per_category : pandas.DataFrame or None
        Category-wise values where the coefficient defines them (Fleiss' kappa).
    references : tuple of str
        The publications that define the coefficient and its interval.
    note : str
        Why the estimate or the interval is NaN on these data (empty when both are defined);
        the same text is issued as a :class:`~riskeval.errors.DegenerateDataWarning`.

    Examples
    --------
    >>> import riskeval as rv
    >>> res = rv.fleiss_kappa([[1, 1, 2], [2, 2, 2], [1, 2, 1], [3, 3, 3]])
    >>> res.coefficient, round(res.estimate, 3)
    ("Fleiss' kappa", 0.489)
    >>> [round(x, 3) for x in res.ci]
    [-0.503, 1.0]
    >>> res.to_frame().shape
    (1, 9)
    >>> print(res.summary().splitlines()[1])
      4 cases, 3 raters, 12 ratings
    """

    coefficient: str
    estimate: float
    ci: tuple[float, float]
    se: float | None
    confidence: float
    ci_method: str
    n_cases: int
    n_raters: int
    n_ratings: int
    extra: Mapping[str, Any] = field(default_factory=dict)
    per_category: pd.DataFrame | None = None
    references: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", _frozen(self.extra))
        object.__setattr__(self, "ci", (float(self.ci[0]), float(self.ci[1])))
        object.__setattr__(self, "estimate", float(self.estimate))

    @property
    def title(self) -> str:  # type: ignore[override]
        """The coefficient's name."""
        return self.coefficient

    def to_frame(self) -> pd.DataFrame:
        """One row: coefficient, estimate, se, ci_low, ci_high, confidence, method, n."""
        row = {
            "estimate": self.estimate,
            "se": np.nan if self.se is None else float(self.se),
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "confidence": self.confidence,
            "ci_method": self.ci_method,
            "n_cases": self.n_cases,
            "n_raters": self.n_raters,
            "n_ratings": self.n_ratings,
        }
        return pd.DataFrame([row], index=pd.Index([self.coefficient], name="coefficient"))

    def summary(self) -> str:
        """A few lines of plain text describing the result."""
        pct = f"{100 * self.confidence:g}%"
        if np.isnan(self.estimate):
            head = (self.note if self.note.startswith(self.coefficient) else
                    f"{self.coefficient}: not defined on these data"
                    + (f" ({self.note})" if self.note else ""))
        elif np.isnan(self.ci[0]) and np.isnan(self.ci[1]) and self.note:
            head = (f"{self.coefficient}: {_fmt(self.estimate)} ({pct} CI not available: "
                    f"{self.note})")
        else:
            head = (f"{self.coefficient}: {_fmt(self.estimate)} "
                    f"({pct} CI {_fmt(self.ci[0])} to {_fmt(self.ci[1])}, {self.ci_method})")
        lines = [head,
                 f"  {self.n_cases} cases, {self.n_raters} raters, {self.n_ratings} ratings"]
        shown = {k: v for k, v in self.extra.items() if np.isscalar(v)}
        if shown:
            lines.append("  " + ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<{self.coefficient} = {_fmt(self.estimate)}, "
            f"{100 * self.confidence:g}% CI [{_fmt(self.ci[0])}, {_fmt(self.ci[1])}], "
            f"n_cases={self.n_cases}, n_raters={self.n_raters}>"
        )

    def _repr_html_(self) -> str:
        table = self.to_frame().to_html(float_format=lambda x: f"{x:.4f}")
        extra = ""
        if self.per_category is not None:
            extra = "<p>By category</p>" + self.per_category.to_html(
                float_format=lambda x: f"{x:.4f}"
            )
        refs = "".join(f"<li>{html.escape(r)}</li>" for r in self.references)
        note = f"<p><em>{html.escape(self.note)}</em></p>" if self.note else ""
        return (
            f"<div><strong>{html.escape(self.coefficient)}</strong>{table}{note}{extra}"
            f"<ul style='font-size:smaller'>{refs}</ul></div>"
        )


@dataclass(frozen=True)
class ICCResult(Result):
    """All six intraclass correlations of Shrout & Fleiss (1979) with F tests and CIs.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by ``ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k`` with columns ``description,
        ICC, F, df1, df2, pval, ci_low, ci_high``.
    form : str
        The form reported by :attr:`estimate` and :attr:`ci`.
    mean_squares : Mapping
        ``BMS`` (between targets), ``WMS`` (within targets), ``JMS`` (between judges), ``EMS``
        (residual), as named by Shrout & Fleiss (1979).
    n_cases, n_raters : int
        Targets and judges in the (complete) two-way table used.
    n_dropped : int
        Cases removed because a rater had not rated them (listwise deletion).
    confidence : float
        Confidence level of the intervals.
    notes : Mapping
        For each form whose ICC or interval is NaN on these data, why (the same text is
        issued as a :class:`~riskeval.errors.DegenerateDataWarning`).

    Examples
    --------
    >>> import riskeval as rv
    >>> res = rv.icc([[1, 2], [2, 3], [3, 3], [4, 5], [5, 5]])
    >>> res.form, round(res.estimate, 3)
    ('ICC2', 0.87)
    >>> res.to_frame().shape
    (6, 8)
    >>> round(float(res["ICC3"]["ICC"]), 3)
    0.93
    >>> print(res.summary().splitlines()[0])
    Intraclass correlations (5 cases x 2 raters)
    """

    table: pd.DataFrame
    form: str
    mean_squares: Mapping[str, float]
    n_cases: int
    n_raters: int
    n_dropped: int
    confidence: float
    references: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean_squares", _frozen(self.mean_squares))
        object.__setattr__(self, "notes", _frozen(self.notes))

    @property
    def coefficient(self) -> str:
        """The reported form's name (``"ICC2"``...)."""
        return self.form

    @property
    def title(self) -> str:  # type: ignore[override]
        """The result's name, as shown above its table."""
        return "Intraclass correlations"

    @property
    def estimate(self) -> float:
        return float(self.table.loc[self.form, "ICC"])

    @property
    def ci(self) -> tuple[float, float]:
        row = self.table.loc[self.form]
        return float(row["ci_low"]), float(row["ci_high"])

    @property
    def note(self) -> str:
        """Why the reported form's ICC or interval is NaN (empty when both are defined)."""
        return self.notes.get(self.form, "")

    @property
    def se(self) -> None:
        """ICC intervals are exact F-based; no standard error is reported."""
        return None

    def __getitem__(self, form: str) -> pd.Series:
        return self.table.loc[form].copy()

    def summary(self) -> str:
        """Every form's ICC, interval and F test, one line each."""
        pct = f"{100 * self.confidence:g}%"
        lines = [f"Intraclass correlations ({self.n_cases} cases x {self.n_raters} raters"
                 + (f", {self.n_dropped} incomplete cases dropped" if self.n_dropped else "")
                 + ")"]
        for name, row in self.table.iterrows():
            note = self.notes.get(str(name), "")
            if np.isnan(row["ICC"]):
                lines.append(f"  {name:<6} {note or 'not defined on these data'}")
                continue
            if np.isnan(row["ci_low"]) and np.isnan(row["ci_high"]) and note:
                ci = f"{pct} CI not available ({note})"
            else:
                ci = f"{pct} CI [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]"
            lines.append(
                f"  {name:<6} {_fmt(row['ICC'])}  {ci}  F({row['df1']:g}, {row['df2']:.3g}) = "
                f"{_fmt(row['F'])}, p = {row['pval']:.3g}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        lo, hi = self.ci
        return (f"<ICC {self.form} = {_fmt(self.estimate)}, {100 * self.confidence:g}% CI "
                f"[{_fmt(lo)}, {_fmt(hi)}], n_cases={self.n_cases}, n_raters={self.n_raters}>")

    def _repr_html_(self) -> str:
        refs = "".join(f"<li>{html.escape(r)}</li>" for r in self.references)
        notes = "".join(f"<li><em>{html.escape(n)}</em></li>"
                        for n in dict.fromkeys(self.notes.values()))
        notes = f"<ul>{notes}</ul>" if notes else ""
        return (f"<div><strong>Intraclass correlations</strong>"
                f"{self.table.to_html(float_format=lambda x: f'{x:.4f}')}{notes}"
                f"<ul style='font-size:smaller'>{refs}</ul></div>")


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


class _Notes:
    """Numbered notes under a printed table: each distinct reason once."""

    LEGEND: ClassVar[dict[str, str]] = {
        "-inf": "-inf: the interval has no lower limit (a k-rater ICC has no lower bound)",
        "inf": "inf: the interval has no upper limit"}

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.infinite: set[str] = set()

    def cells(self, row: Mapping) -> tuple[str, str, str, str]:
        """Estimate, interval, method and note marker of one row, as printed."""
        est, lo, hi = (row.get(k, math.nan) for k in ("estimate", "ci_low", "ci_high"))
        note = row.get("note")
        marker = ""
        if isinstance(note, str) and note:
            marker = f"(note {self.numbers.setdefault(note, len(self.numbers) + 1)})"
        if _missing(est):
            return "not defined", marker, "", ""
        if _missing(lo) or _missing(hi):
            return f"{float(est):.3f}", f"no interval {marker}".strip(), "", ""
        for x in (lo, hi):
            if math.isinf(x):
                self.infinite.add("-inf" if x < 0 else "inf")
        method = row.get("ci_method")
        return (f"{float(est):.3f}", f"[{float(lo):.3f}, {float(hi):.3f}]",
                "" if _missing(method) else str(method), marker)

    def lines(self) -> list[str]:
        out = [f"  ({k}) {note}" for note, k in self.numbers.items()]
        return out + [f"  {self.LEGEND[k]}" for k in sorted(self.infinite)]


class EstimatesTable(TableResult):
    """A table of agreement estimates, one row per coefficient or per group, whose
    ``summary()`` is the printed table: estimate, interval, how it was computed, and
    numbered notes where an estimate or interval is not defined (what ``riskeval
    agreement`` prints).

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> table = rv.agreement_summary(ratings, "vignette", "officer", "rosh", level="nominal")
    >>> print(table.summary().splitlines()[2][:57])
    Percent agreement                   0.571  [0.505, 0.638]
    """

    _metadata: ClassVar[list[str]] = ["title", "confidence"]

    def __init__(self, data: Any = None, *args: Any, title: str = "",
                 confidence: float = 0.95, **kwargs: Any) -> None:
        super().__init__(data, *args, title=title, **kwargs)
        self.confidence = confidence

    def summary(self) -> str:
        """The title, one line per row, and the notes."""
        notes = _Notes()
        frame = pd.DataFrame(self)
        if {"estimate", "ci_low", "ci_high"} - set(frame.columns):
            return Result.summary(self)
        keys = [c for c in frame.columns if c not in _ESTIMATE_COLUMNS]
        if keys and "coefficient" in frame and frame["coefficient"].nunique() > 1:
            keys.append("coefficient")  # groups of several coefficients
        labels = (frame[keys].astype(str).agg(", ".join, axis=1) if keys
                  else frame.index.astype(str).to_series(index=frame.index))
        width = max([len(", ".join(keys) or "coefficient"), *map(len, labels)]) + 2
        pct = f"{100 * self.confidence:g}% CI"
        last = "raters" if keys else "method"
        lines = [self._title(), f"{(', '.join(keys) if keys else 'coefficient'):<{width}}"
                                f"{'estimate':>9}  {pct:<17}  {last}"]
        for label, (_, row) in zip(labels, frame.iterrows(), strict=True):
            est, ci, method, marker = notes.cells(row)
            if keys:  # a group: how many raters it has, rather than the method
                method = str(row.get("n_raters", ""))
            lines.append(f"{label:<{width}}{est:>9}  {ci:<17}  {method}  {marker}".rstrip())
        return "\n".join(lines + notes.lines())


#: The columns of an estimates table that are numbers about the estimate, not its label.
_ESTIMATE_COLUMNS = frozenset({"coefficient", "estimate", "se", "ci_low", "ci_high",
                               "confidence", "ci_method", "n_cases", "n_raters", "n_ratings",
                               "note", "ICC", "form", "F", "df1", "df2", "pvalue"})
