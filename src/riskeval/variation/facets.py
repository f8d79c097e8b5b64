"""Many-facet Rasch analysis of ratings, reported as FACETS users read it.

:func:`many_facet_rasch` fits the rating-scale many-facet Rasch model

``log(P_nj,k / P_nj,k-1) = B_n - C_j [- D_o] - F_k``

to ordered ratings: ``B_n`` the measure of case ``n`` (how high a rating it draws), ``C_j``
the severity of officer ``j``, ``D_o`` the severity of office ``o`` (optional) and ``F_k``
the Andrich thresholds of the rating scale (``F_1 + ... + F_m = 0``). Severity is meant in
FACETS' sense: **the higher the severity, the lower the ratings** -- an officer who rates
risk higher than colleagues has a *negative* measure. The fair average (the rating an
average case would get from the officer) reads without that convention.

Estimation is joint maximum likelihood (JMLE) as in FACETS (Linacre 1989; Wright & Masters
1982). Officer measures are centred at 0; when offices are given, officers are nested in
them (an officer is identified by office and officer id) and are centred at 0 within their
office, offices at 0 overall (FACETS' group-anchoring of a nested facet).

References
----------
Linacre, J. M. (1989). *Many-Facet Rasch Measurement*. Chicago: MESA Press.

Wright, B. D., & Masters, G. N. (1982). *Rating Scale Analysis*. Chicago: MESA Press.

Andrich, D. (1978). A rating formulation for ordered response categories. *Psychometrika*
43(4), 561-573.

Wright, B. D., & Douglas, G. A. (1977). Best procedures for sample-free item analysis.
*Applied Psychological Measurement* 1(2), 281-295.

Myford, C. M., & Wolfe, E. W. (2003, 2004). Detecting and measuring rater effects using
many-facet Rasch measurement, parts I and II. *Journal of Applied Measurement* 4(4), 386-422
and 5(2), 189-227.

Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics* 6(2), 65-70.
"""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import (
    SHOWN,
    check_choice,
    check_columns,
    check_confidence,
    check_whole,
    name_lines,
    plain_value,
)
from .._core.results import Result, TableResult
from ..data.ratings import Ratings, columns_of, level_codes, parse_categories
from ..errors import RiskevalError, RiskevalTypeError, RiskevalWarning
from . import _facets_fit as K

__all__ = ["FacetsResult", "many_facet_rasch"]

#: FACETS' default extreme-score adjustment, in score points
EXTREME_ADJUSTMENT = 0.3

_REFERENCES = (
    "Linacre, J. M. (1989). Many-Facet Rasch Measurement. Chicago: MESA Press.",
    "Wright, B. D., & Masters, G. N. (1982). Rating Scale Analysis. Chicago: MESA Press.",
    "Andrich, D. (1978). A rating formulation for ordered response categories. "
    "Psychometrika 43(4), 561-573.",
    "Wright, B. D., & Douglas, G. A. (1977). Best procedures for sample-free item analysis. "
    "Applied Psychological Measurement 1(2), 281-295.",
    "Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian "
    "Journal of Statistics 6(2), 65-70.",
)


@dataclass(frozen=True)
class FacetsResult(Result):
    """A fitted many-facet Rasch model: measures, fit, facet summaries, the scale.

    Attributes
    ----------
    officers : TableResult
        One row per officer: ``measure`` (severity, logits; higher = lower ratings), ``se``
        (model SE), ``ci_low``/``ci_high``, ``infit``/``outfit`` mean-squares with their
        ``infit_zstd``/``outfit_zstd``, ``count``, ``observed_average``, ``fair_average``
        (the expected rating of a case of average measure), ``exact_agree_obs`` and
        ``exact_agree_exp`` (share of pairs of ratings of the same case that agree, observed
        and expected under the model), ``end_observed`` and ``end_expected`` (share of the
        officer's ratings in the lowest or highest category, and the share the model
        expects from the cases they rated), ``end_z`` (observed minus expected count over
        its binomial SD; clearly negative: the ends avoided, central tendency) with
        ``end_p_holm`` (two-sided, Holm over officers), ``extreme`` ("", "minimum" or
        "maximum") and, with offices, ``office``.
    offices : TableResult or None
        The same for offices (when ``office=`` was given).
    cases : TableResult
        Case measures with SEs, fit, count, observed average and extreme flag.
    facets : TableResult
        One row per facet: elements, mean and SD of the measures, RMSE, true SD,
        ``separation`` G, ``strata`` (4G+1)/3, ``reliability``, the fixed (all same)
        chi-square with df and p, and the random (normal) chi-square with df and p; from the
        non-extreme elements.
    categories : TableResult
        Per rating category: count, percent, average measure, Andrich ``threshold`` (the
        step into this category) with ``threshold_se``, and disordering flags.
    residuals : pandas.DataFrame
        Every rating: case, officer, office, observed and expected score (0..m), residual and
        standardised residual ``z``.
    bias : TableResult or None
        Officer x attribute interactions when ``bias_by=`` was given: ``bias`` (logits,
        > 0 = rated higher than the model expects), ``se``, ``t``, ``df``, ``p`` and the
        Holm-adjusted ``p_holm``. With several attributes the cells are stacked, the
        attribute named in ``attribute`` and its value in ``value``, and Holm's
        adjustment runs over every cell of every attribute.

    References
    ----------
    Linacre, J. M. (1989). *Many-Facet Rasch Measurement*. Chicago: MESA Press.

    Myford, C. M., & Wolfe, E. W. (2003). Detecting and measuring rater effects using
    many-facet Rasch measurement: part I. *Journal of Applied Measurement* 4(4), 386-422.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import many_facet_rasch
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=10)
    >>> fit = many_facet_rasch(rv.simulate(world, seed=2), case="case", rater="officer",
    ...                        rating="rating", categories=rv.RISK_LEVELS)
    >>> fit.to_frame().columns[:4].tolist()
    ['measure', 'se', 'ci_low', 'ci_high']
    >>> print(fit.summary().splitlines()[0])  # doctest: +ELLIPSIS
    Many-facet Rasch analysis: 60 ratings, JMLE converged in ... iterations ...
    >>> fig = fit.plot("severity")
    """

    title: ClassVar[str] = "Many-facet Rasch analysis"

    officers: TableResult
    offices: TableResult | None
    cases: TableResult
    facets: TableResult
    categories: TableResult
    residuals: pd.DataFrame = field(repr=False)
    bias: TableResult | None
    n_ratings: int
    n_iter: int
    max_change: float
    converged: bool
    bias_correction: bool
    confidence: float
    notes: tuple[str, ...]
    references: tuple[str, ...] = _REFERENCES

    def to_frame(self) -> pd.DataFrame:
        """The officer table (measures, SEs, fit, averages, agreement)."""
        return self.officers.to_frame()

    def unexpected(self, z: float = 2.0) -> TableResult:
        """Ratings whose standardised residual is at least ``z`` in size, largest first.

        Examples
        --------
        >>> import riskeval as rv
        >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
        ...                                             n_vignettes=10)
        >>> fit = many_facet_rasch(rv.simulate(world, seed=2), case="case", rater="officer",
        ...                        rating="rating")
        >>> list(fit.unexpected(2.0).columns)
        ['case', 'officer', 'observed', 'expected', 'residual', 'z']
        """
        r = self.residuals
        out = r.loc[r["z"].abs() >= z].copy()
        out = out.iloc[np.argsort(-out["z"].abs().to_numpy(), kind="stable")]
        return TableResult(out.reset_index(drop=True),
                           title=f"Unexpected ratings (|z| >= {z:g})")

    def centrality(self) -> pd.Series:
        """Do officers differ in their use of the lowest and highest categories more than
        chance allows? The sum of the officers' squared ``end_z`` (non-extreme officers) is
        referred to a chi-square on as many degrees of freedom.

        Returns ``chi2``, ``df``, ``p`` (upper tail) and ``dispersion`` (chi2 / df, about 1
        when officers differ only by chance). Each officer's own measure is fitted, which
        makes the test slightly conservative. A central tendency shared by every officer is
        absorbed by the thresholds and is not seen here (it needs a reference level).

        Examples
        --------
        >>> import riskeval as rv
        >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
        ...                                             n_vignettes=10)
        >>> fit = many_facet_rasch(rv.simulate(world, seed=2), case="case", rater="officer",
        ...                        rating="rating")
        >>> sorted(fit.centrality().index)
        ['chi2', 'df', 'dispersion', 'p']
        """
        z = self.officers["end_z"].dropna().to_numpy(float)
        chi2 = float(np.sum(z * z))
        return pd.Series({"chi2": chi2, "df": float(z.size),
                          "p": float(stats.chi2.sf(chi2, z.size)) if z.size else math.nan,
                          "dispersion": chi2 / z.size if z.size else math.nan},
                         name="end-category use")

    def plot(self, kind: str = "wright", ax: Any = None) -> Any:
        """A Wright map (``kind="wright"``) or the officers' (``"severity"``) or offices'
        (``"office_severity"``) severities with intervals; a matplotlib Figure (or the Axes
        given)."""
        from . import _facets_plot as P

        check_choice(kind, "kind", ("wright", "severity", "office_severity"))
        if kind == "wright":
            return P.wright_map(self, ax)
        if kind == "office_severity":
            if self.offices is None:
                raise RiskevalError("kind='office_severity' needs offices: fit with office=")
            return P.severity(self, ax, facet="offices")
        return P.severity(self, ax, facet="officers")

    def summary(self) -> str:
        """Facet summaries, the rating scale, and the officers."""
        fmt = {"float_format": "{:.3f}".format}
        with pd.option_context("display.width", 120, "display.max_columns", 30,
                               "display.max_rows", 60):
            lines = [f"{self.title}: {self.n_ratings} ratings, JMLE "
                     f"{'converged' if self.converged else 'NOT converged'} in {self.n_iter} "
                     f"iterations (largest last change {self.max_change:.2g} logits)"
                     + ("; (L-1)/L bias correction applied" if self.bias_correction else ""),
                     "", "Facets:", self.facets.to_frame().to_string(**fmt), "",
                     "Rating scale:", self.categories.to_frame().to_string(**fmt), "",
                     "Officers (severity: higher = lower ratings):",
                     self.officers.to_frame().to_string(**fmt)]
            if self.offices is not None:
                lines += ["", "Offices:", self.offices.to_frame().to_string(**fmt)]
            if self.bias is not None:
                lines += ["", self.bias.title + ":", self.bias.to_frame().to_string(**fmt)]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        fmt = {"float_format": lambda x: f"{x:.3f}", "max_rows": 60}
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        parts = [f"<h4>{html.escape(self.title)}</h4><p>{self.n_ratings} ratings</p>",
                 "<h5>Facets</h5>", self.facets.to_frame().to_html(**fmt),
                 "<h5>Rating scale</h5>", self.categories.to_frame().to_html(**fmt),
                 "<h5>Officers</h5>", self.officers.to_frame().to_html(**fmt)]
        if self.offices is not None:
            parts += ["<h5>Offices</h5>", self.offices.to_frame().to_html(**fmt)]
        if self.bias is not None:
            parts += [f"<h5>{html.escape(self.bias.title)}</h5>",
                      self.bias.to_frame().to_html(**fmt)]
        return "".join(parts) + f"<ul>{notes}</ul>"


# ------------------------------------------------------------------------------ input


def _ids(col: pd.Series, role: str, column: str) -> None:
    absent = col.isna().to_numpy()
    if absent.any():
        rows = col.index[absent]
        raise RiskevalError(f"the {role} column {column!r} is empty at {name_lines(rows)} "
                            f"({int(absent.sum())} in all); every rating needs its {role}")


def _too_few(labels: pd.Index, role: str, keyword: str) -> None:
    if len(labels) < 2:
        only = f" ({plain_value(labels[0])!r})" if len(labels) else ""
        raise RiskevalError(
            f"the {role} facet has a single element{only}; a many-facet analysis needs at "
            f"least two {role}s to compare (or leave out {keyword})")


def _subset_message(k: int, case_lab: np.ndarray, off_lab: np.ndarray, cases: pd.Index,
                    officers: pd.Index) -> str:
    parts = []
    for s in range(min(k, SHOWN)):
        offs = officers[off_lab == s]
        cs = cases[case_lab == s]
        shown = ", ".join(repr(plain_value(o)) for o in offs[:SHOWN])
        more = " ..." if len(offs) > SHOWN else ""
        parts.append(f"subset {s + 1}: {len(offs)} officer(s) ({shown}{more}) and {len(cs)} "
                     f"case(s) (first {plain_value(cs[0])!r})" if len(cs) else
                     f"subset {s + 1}: {len(offs)} officer(s) ({shown}{more}) and no cases")
    more = f"; and {k - SHOWN} more" if k > SHOWN else ""
    return (f"the design is disconnected: {k} subsets of officers and cases share no ratings, "
            f"so their measures cannot be put on one scale ({'; '.join(parts)}{more}). Link "
            "the subsets with common cases (vignettes rated by officers of both), or analyse "
            "each subset on its own")


# ------------------------------------------------------------------------- statistics


def _summary_row(measure: np.ndarray, se: np.ndarray) -> dict[str, float]:
    """Separation statistics of one facet (population SD, as FACETS' "Populn" line)."""
    n = measure.size
    out: dict[str, float] = {"elements": float(n)}
    if n == 0:
        return out
    mean = float(measure.mean())
    sd = float(measure.std())
    rmse = float(np.sqrt(np.mean(se ** 2)))
    true_var = max(sd ** 2 - rmse ** 2, 0.0)
    true_sd = math.sqrt(true_var)
    g = true_sd / rmse if rmse > 0 else math.nan
    rel = true_var / sd ** 2 if sd > 0 else math.nan
    w = 1.0 / se ** 2
    fixed = float(np.sum(w * measure ** 2) - np.sum(w * measure) ** 2 / np.sum(w))
    wr = 1.0 / (true_var + se ** 2)
    centre = float(np.sum(wr * measure) / np.sum(wr))
    rand = float(np.sum(wr * (measure - centre) ** 2))
    out.update(mean=mean, sd=sd, rmse=rmse, true_sd=true_sd, separation=g,
               strata=(4 * g + 1) / 3, reliability=rel, chi2_fixed=fixed, df_fixed=n - 1.0,
               p_fixed=float(stats.chi2.sf(fixed, n - 1)) if n > 1 else math.nan,
               chi2_random=rand, df_random=n - 2.0,
               p_random=float(stats.chi2.sf(rand, n - 2)) if n > 2 else math.nan)
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN)."""
    out = np.full(p.size, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def _newton_shift(theta: np.ndarray, tau: np.ndarray, group: np.ndarray, n: int,
                  target: np.ndarray, iters: int = 100, tol: float = 1e-10
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The shift ``b_g`` added to ``theta`` in each group that makes the expected score
    equal ``target``; and its model SE."""
    b = np.zeros(n)
    for _ in range(iters):
        e, w = K.moments(theta + b[group], tau)
        info = np.bincount(group, w, minlength=n)
        step = np.clip((target - np.bincount(group, e, minlength=n)) / info, -1.0, 1.0)
        b += step
        if np.abs(step).max() < tol:
            break
    _, w = K.moments(theta + b[group], tau)
    return b, 1.0 / np.sqrt(np.bincount(group, w, minlength=n))


def _bias_cells(d: K.Design, est: K.Estimates, attr: pd.Series, officers: np.ndarray,
                column: str, officer_office: np.ndarray | None) -> pd.DataFrame:
    """FACETS' bias estimate for every officer x value of ``attr`` (p-values unadjusted)."""
    codes, levels = pd.factorize(attr, sort=True)
    ok = codes >= 0
    officer, code, x = d.officer[ok], codes[ok], d.x[ok].astype(float)
    theta = est.theta(d)[ok]
    cell = officer * len(levels) + code
    used, group = np.unique(cell, return_inverse=True)
    n = used.size
    cnt = np.bincount(group, minlength=n)
    obs = np.bincount(group, x, minlength=n)
    low = obs == 0
    high = obs == cnt * d.m
    target = obs.copy()
    target[low] = EXTREME_ADJUSTMENT
    target[high] = cnt[high] * d.m - EXTREME_ADJUSTMENT
    tau = est.tau()
    e, _ = K.moments(theta, tau)
    expected = np.bincount(group, e, minlength=n)
    b, se = _newton_shift(theta, tau, group, n, target)
    t = b / se
    df = cnt - 1.0
    with np.errstate(invalid="ignore"):
        p = np.where(df > 0, 2 * stats.t.sf(np.abs(t), np.maximum(df, 1)), np.nan)
    who = used // len(levels)
    return pd.DataFrame({
        "officer": officers[who],
        **({} if officer_office is None else {"office": officer_office[who]}),
        column: levels[used % len(levels)],
        "count": cnt, "observed": obs, "expected": expected,
        "bias": b, "se": se, "t": t, "df": df, "p": p,
        "extreme": np.where(low, "minimum", np.where(high, "maximum", ""))})


def _bias_table(d: K.Design, est: K.Estimates, frame: pd.DataFrame, columns: list[str],
                stacked: bool, officers: np.ndarray, officer_office: np.ndarray | None
                ) -> TableResult:
    """The bias analysis over one attribute, or several stacked (``attribute``, ``value``
    columns), with Holm's adjustment over every cell of every attribute."""
    parts = []
    for col in columns:
        cells = _bias_cells(d, est, frame[col], officers, col, officer_office)
        if stacked:
            at = cells.columns.get_loc(col)
            cells = cells.rename(columns={col: "value"})
            cells.insert(at, "attribute", col)
            cells["value"] = cells["value"].astype(object)
        parts.append(cells)
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    table.insert(table.columns.get_loc("p") + 1, "p_holm", _holm(table["p"].to_numpy(float)))
    what = ", ".join(columns)
    return TableResult(table, title=f"Bias: officer x {what} (bias > 0: rated higher than the "
                                    "model expects)")


def check_bias_by(frame: pd.DataFrame, bias_by: Any, officer: np.ndarray
                  ) -> tuple[list[str], list[str]]:
    """The bias_by columns, checked on the ratings analysed: each has two or more values
    and some officer rated more than one of them. Returns the columns and notes."""
    if bias_by is None:
        return [], []
    columns = [bias_by] if isinstance(bias_by, str) else list(bias_by)
    if not columns or not all(isinstance(col, str) for col in columns):
        raise RiskevalTypeError(f"bias_by must be a column name or a list of column names; "
                                f"got {bias_by!r}")
    if len(set(columns)) != len(columns):
        raise RiskevalError(f"bias_by names a column twice: {columns!r}")
    notes = []
    for col in columns:
        values = frame[col]
        missing = values.isna().to_numpy()
        if missing.all():
            raise RiskevalError(f"the bias_by column {col!r} is empty on every rating")
        if missing.any():
            notes.append(f"bias by {col}: {int(missing.sum())} rating(s) without a value were "
                         f"left out of that analysis")
        codes = pd.factorize(values, sort=True)[0]
        ok = codes >= 0
        if np.unique(codes[ok]).size < 2:
            raise RiskevalError(f"the bias_by column {col!r} has a single value "
                                f"({plain_value(values[ok].iloc[0])!r}) on the ratings "
                                f"analysed: there is nothing to compare an officer's ratings "
                                f"across")
        per = pd.DataFrame({"o": officer[ok], "v": codes[ok]}).groupby("o")["v"].nunique()
        if (per < 2).all():
            raise RiskevalError(f"every officer rated cases of a single value of {col!r}: an "
                                f"officer's bias for a value cannot be told apart from the "
                                f"officer's own severity (the facets are not separable). "
                                f"The bias analysis needs officers who rated cases of two or "
                                f"more values")
    return columns, notes


# ------------------------------------------------------------------------------- main


def many_facet_rasch(
    data: pd.DataFrame | Ratings,
    *,
    case: str | None = None,
    rater: str | None = None,
    rating: str | None = None,
    office: str | None = None,
    categories: Any = None,
    bias_by: str | list[str] | None = None,
    bias_correction: bool = False,
    confidence: float = 0.95,
    max_iter: int = 500,
    tol: float = 1e-6,
) -> FacetsResult:
    """Many-facet Rasch analysis (rating-scale model) of officers' ordered ratings.

    Fits ``log(P_nj,k / P_nj,k-1) = B_n - C_j [- D_o] - F_k`` by joint maximum likelihood
    (JMLE) as FACETS does, and reports FACETS' tables: measures with model SEs, infit and
    outfit mean-squares with ZSTD, observed and fair averages, exact agreement, separation,
    strata and reliability per facet, the rating scale's category statistics and Andrich
    thresholds, unexpected ratings and, with ``bias_by=``, an officer x case-attribute bias
    (interaction) analysis.

    Parameters
    ----------
    data : pandas.DataFrame or Ratings
        One row per rating. :class:`~riskeval.Ratings` give their columns as defaults.
    case, rater, rating, office : str, optional
        Column names. With ``office``, officers are nested in offices (office and officer id
        together identify an officer) and office severities are estimated too.
    categories : sequence or str, optional
        The ordered levels, lowest first (e.g. ``riskeval.RISK_LEVELS``); needed for text
        ratings. Numeric ratings without it use their sorted distinct values.
    bias_by : str or list of str, optional
        A case-attribute column (e.g. ``"offence_type"``): estimate each officer's bias for
        each of its values, holding the measures fixed (FACETS' bias/interaction analysis).
        A list analyses several (e.g. ``["offence_type", "year"]``: a bias by year is an
        officer's drift). Each needs two or more values among the ratings, and officers
        who rated cases of more than one value: when every officer rated a single value,
        the officer's bias cannot be told apart from the officer's severity and an error
        says so. Ratings without a value are left out of that analysis (a note).
    bias_correction : bool, default False
        Multiply the officer and office measures and the thresholds by ``(L-1)/L``, ``L``
        the mean number of ratings per case, then re-estimate the cases: Wright & Douglas'
        (1977) correction of JMLE's outward bias (an approximation for rating scales; FACETS
        reports uncorrected JMLE).
    confidence : float, default 0.95
        Level of the measures' intervals.
    max_iter : int, default 500
        Largest number of JMLE iterations (each: a Newton step for every element).
    tol : float, default 1e-6
        Convergence: the largest change of any measure in an iteration, in logits.

    Returns
    -------
    FacetsResult
        ``officers``, ``offices``, ``cases``, ``facets``, ``categories``, ``residuals``,
        ``bias``; ``unexpected(z)`` lists surprising ratings; ``plot()`` draws a Wright map.

    Raises
    ------
    RiskevalError
        A facet with a single element; a lowest or highest category (or one in between)
        that no rating uses; a disconnected design (the subsets are named); missing ids;
        offices that each have one officer (officer and office are not separable); a
        ``bias_by`` column with one value, or one that no officer crosses.

    Warns
    -----
    RiskevalWarning
        JMLE did not converge within ``max_iter`` (the message gives the largest change).

    Notes
    -----
    *Extreme scores.* A case, officer or office whose ratings are all in the lowest (or all
    in the highest) category has no finite measure. As in FACETS, its ratings are set aside
    while the other measures are estimated (repeatedly, since setting them aside can make
    other elements extreme); its measure is then estimated with the others fixed, from its
    raw score moved 0.3 score points inward, and flagged in ``extreme``. Fit statistics of
    extreme elements are not reported (NaN) and the facet summaries exclude them.

    *Fit.* For rating ``x`` with expectation ``E``, variance ``W`` and fourth central
    moment ``C``: ``z = (x - E) / sqrt(W)``; outfit is the mean of ``z^2``, infit
    ``sum (x - E)^2 / sum W``; ZSTD is the Wilson-Hilferty cube-root transform with model
    variances ``sum(C/W^2)/N^2 - 1/N`` (outfit) and ``sum(C - W^2)/(sum W)^2`` (infit)
    (Wright & Masters 1982).

    *Separation.* With population SD ``S`` of the measures and ``RMSE`` the root mean
    square SE: true SD ``T = sqrt(S^2 - RMSE^2)``, separation ``G = T / RMSE``, strata
    ``(4G + 1) / 3``, reliability ``T^2 / S^2``. Fixed chi-square: ``sum w D^2 -
    (sum w D)^2 / sum w`` with ``w = 1/SE^2``, df ``J - 1``; random chi-square: ``sum w'
    (D - M)^2`` with ``w' = 1/(T^2 + SE^2)`` and ``M`` its weighted mean, df ``J - 2``.

    *Averages.* Observed and fair averages are on the rating scale as numbered: numeric
    categories that are consecutive whole numbers keep their values, other categories are
    numbered 1..K. The fair average of an officer is the expected rating of a case of mean
    measure, every other facet at its mean.

    *Threshold SE* is ``1/sqrt`` of the threshold's information given the other measures.

    *Bias analysis.* For each officer x attribute value, the shift ``b`` added to the
    logit of those ratings that makes their expected score equal the observed one (0.3 points
    inward for an all-lowest or all-highest cell), the other measures held fixed, as FACETS
    does; ``se = 1/sqrt(information)``, ``t = b/se`` on ``count - 1`` df, Holm's adjustment
    over all cells. Holding the officer's own measure fixed makes the test conservative: part
    of a cell's bias is already in that measure (with two attribute values and no bias, about
    0.3% of cells reach p < 0.05 in simulation, not 5%).

    References
    ----------
    Linacre, J. M. (1989). *Many-Facet Rasch Measurement*. Chicago: MESA Press.

    Wright, B. D., & Masters, G. N. (1982). *Rating Scale Analysis*. Chicago: MESA Press.

    Andrich, D. (1978). A rating formulation for ordered response categories.
    *Psychometrika* 43(4), 561-573.

    Wright, B. D., & Douglas, G. A. (1977). Best procedures for sample-free item analysis.
    *Applied Psychological Measurement* 1(2), 281-295.

    Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
    Journal of Statistics* 6(2), 65-70.

    Examples
    --------
    Twelve vignettes rated by four officers in each of three offices:

    >>> import riskeval as rv
    >>> from riskeval.variation import many_facet_rasch
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=4,
    ...                                             n_vignettes=12)
    >>> ratings = rv.simulate(world, seed=1).merge(world.vignettes[["case", "sex"]],
    ...                                            on="case")
    >>> fit = many_facet_rasch(ratings, case="case", rater="officer", rating="rating",
    ...                        office="office", categories=rv.RISK_LEVELS, bias_by="sex")
    >>> fit.offices["measure"].round(2).tolist()
    [0.44, -0.5, 0.06]
    >>> fit.officers.loc["Office 1/02", ["measure", "se", "infit", "fair_average"]].round(2)
    measure         1.11
    se              0.46
    infit           0.40
    fair_average    2.23
    Name: Office 1/02, dtype: float64
    >>> fit.categories["threshold"].round(2).tolist()
    [nan, -2.25, 0.3, 1.95]
    >>> fit.facets.loc["officer", ["separation", "strata", "reliability"]].round(2).tolist()
    [1.39, 2.18, 0.66]
    >>> fit.bias.columns.tolist()[:6]
    ['officer', 'office', 'sex', 'count', 'observed', 'expected']
    >>> fig = fit.plot()  # a Wright map
    """
    confidence = check_confidence(confidence)
    max_iter = check_whole(max_iter, "max_iter", least=1)
    try:
        tol = float(tol)
    except (TypeError, ValueError):
        tol = math.nan
    if not tol > 0:
        raise RiskevalError(f"tol must be a positive number of logits; got {tol!r}")
    bias_one = bias_by if isinstance(bias_by, str) else None
    frame, c = columns_of(data, ("case", "rater", "rating"), case=case, rater=rater,
                          rating=rating, office=office, bias_by=bias_one)
    if bias_by is not None and bias_one is None and isinstance(bias_by, list | tuple):
        if len(set(bias_by)) != len(bias_by):
            raise RiskevalError(f"bias_by names a column twice: {list(bias_by)!r}")
        check_columns(frame, {f"bias_by {i + 1}": col for i, col in enumerate(bias_by)
                              if isinstance(col, str)})
    case, rater, rating, office = c["case"], c["rater"], c["rating"], c["office"]
    if categories is None and isinstance(data, Ratings):
        categories = data.categories
    frame = frame.reset_index(drop=True)
    codes, cats = level_codes(frame[rating], rating, parse_categories(categories))
    notes: list[str] = []
    keep = codes >= 0
    if not keep.all():
        notes.append(f"{int((~keep).sum())} rating(s) missing were left out")
    for role, col in (("case", case), ("rater", rater), ("office", office)):
        if col is not None:
            _ids(frame[col], role, col)
    frame = frame.loc[keep].reset_index(drop=True)
    x = codes[keep].astype(np.int64)
    m = len(cats) - 1
    counts = np.bincount(x, minlength=m + 1)
    if counts[0] == 0 or counts[m] == 0:
        ends = [repr(plain_value(cats[e])) for e in (0, m) if counts[e] == 0]
        raise RiskevalError(
            f"no rating uses the {'lowest' if counts[0] == 0 else 'highest'} categor"
            f"{'ies' if len(ends) > 1 else 'y'} {' and '.join(ends)} of {list(cats)}; the "
            "thresholds at the ends of the scale cannot be estimated. Declare only the "
            "categories in use (categories=...) or collect ratings that use them")
    if (counts == 0).any():
        empty = [repr(plain_value(cats[k])) for k in np.flatnonzero(counts == 0)]
        raise RiskevalError(
            f"no rating uses the categor{'ies' if len(empty) > 1 else 'y'} "
            f"{', '.join(empty)} inside the scale {list(cats)}; its threshold cannot be "
            "estimated. Merge it with a neighbour or declare only the categories in use")

    case_idx, cases = pd.factorize(frame[case], sort=False)
    if office is not None:
        pairs = pd.MultiIndex.from_arrays([frame[office], frame[rater]])
        off_idx, off_pairs = pd.factorize(pairs, sort=False)
        office_idx, offices = pd.factorize(frame[office], sort=False)
        officer_office = np.asarray(offices.get_indexer(off_pairs.get_level_values(0)))
        names = off_pairs.get_level_values(1)
        officers = pd.Index(names, name=rater) if names.is_unique else \
            off_pairs.set_names([office, rater])
        offices = pd.Index(offices, name=office)
    else:
        off_idx, officers = pd.factorize(frame[rater], sort=False)
        officers = pd.Index(officers, name=rater)
        office_idx, offices, officer_office = None, pd.Index([]), None
    cases = pd.Index(cases, name=case)
    _too_few(cases, "case", "")
    _too_few(officers, "officer", "")
    if office is not None:
        _too_few(offices, "office", "office=")
        if len(officers) == len(offices):
            raise RiskevalError(
                f"every office has a single officer ({len(offices)} offices, {len(officers)} "
                f"officers): an officer's severity cannot be told apart from the office's "
                f"(the officer and office facets are not separable). Leave out office= to "
                f"compare the officers, or add officers to the offices")
    d = K.Design(case_idx.astype(np.int64), np.asarray(off_idx, np.int64),
                 None if office_idx is None else office_idx.astype(np.int64), x,
                 len(cases), len(officers), len(offices), m, officer_office)
    n_sub, case_lab, off_lab = K.components(d)
    if n_sub > 1:
        raise RiskevalError(_subset_message(n_sub, case_lab, off_lab, cases, officers))
    bias_cols, bias_notes = check_bias_by(frame, bias_by, d.officer)
    notes += bias_notes

    # --- estimation: non-extreme elements jointly, then the extreme ones
    keep_r, flags = K.extreme_elements(d)
    if not keep_r.any():
        raise RiskevalError("every case or officer has an extreme score (all ratings in the "
                            "lowest or all in the highest category); there is nothing to "
                            "estimate the scale from")
    active = d.subset(keep_r)
    if np.count_nonzero(np.bincount(active.x, minlength=m + 1)) < m + 1:
        raise RiskevalError("after setting aside the cases and officers with extreme scores, "
                            "some categories are no longer used; the thresholds cannot be "
                            "estimated (merge rarely used categories)")
    _, case_lab, off_lab = K.components(active)
    rated_c = np.bincount(active.case, minlength=d.n_case) > 0
    rated_o = np.bincount(active.officer, minlength=d.n_officer) > 0
    linked = np.unique(np.concatenate([case_lab[rated_c], off_lab[rated_o]]))
    if linked.size > 1:
        relabel = {v: k for k, v in enumerate(linked)}
        c_lab = np.array([relabel.get(v, -1) for v in np.where(rated_c, case_lab, -2)])
        o_lab = np.array([relabel.get(v, -1) for v in np.where(rated_o, off_lab, -2)])
        raise RiskevalError("after setting aside the elements with extreme scores, "
                            + _subset_message(linked.size, c_lab, o_lab, cases, officers))
    free = {name: (flags[name] == 0) & (np.bincount(
        getattr(active, name), minlength=n) > 0) if getattr(active, name) is not None
        else np.zeros(n, bool)
        for name, n in (("case", d.n_case), ("officer", d.n_officer),
                        ("office", d.n_office))}
    est = K.Estimates(np.zeros(d.n_case), np.zeros(d.n_officer), np.zeros(d.n_office),
                      np.zeros(m))
    # start thresholds from the category counts (log-odds of adjacent categories)
    cnt_a = np.bincount(active.x, minlength=m + 1).astype(float) + 0.5
    start = np.log(cnt_a[:-1] / cnt_a[1:])
    est.thresholds[:] = start - start.mean()
    n_iter, change = K.jmle(active, est, free, max_iter=max_iter, tol=tol)
    converged = change < tol
    if not converged:
        far = max(np.abs(est.case).max(), np.abs(est.officer).max(),
                  np.abs(est.thresholds).max())
        hint = (f"; measures have reached {far:.1f} logits and may be growing without bound "
                "(too few ratings per case for finite JMLE estimates: add ratings or merge "
                "rarely used categories)" if far > 6 else "")
        warnings.warn(f"the JMLE did not converge in {max_iter} iterations: the largest "
                      f"change in the last was {change:.3g} logits (tol={tol:g}); raise "
                      f"max_iter or tol=, or check the design for sparse links{hint}",
                      RiskevalWarning, stacklevel=2)
    extreme_free = {k: v != 0 for k, v in flags.items()}
    if any(v.any() for v in extreme_free.values()):
        targets = K.adjusted_targets(d, flags, EXTREME_ADJUSTMENT)
        for k, v in flags.items():
            getattr(est, k)[v < 0] = -2.0
            getattr(est, k)[v > 0] = 2.0
            if k != "case":
                getattr(est, k)[v != 0] *= -1.0
        K.jmle(d, est, extreme_free, max_iter=max_iter, tol=tol, thresholds=False,
               centre=False, targets=targets)
        n_ext = {k: int((v != 0).sum()) for k, v in flags.items() if (v != 0).any()}
        notes.append("extreme scores (all ratings lowest or all highest), estimated from the "
                     f"score moved {EXTREME_ADJUSTMENT} points inward: " +
                     ", ".join(f"{n} {k}(s)" for k, n in n_ext.items()))
    if bias_correction:
        L = float(np.bincount(d.case, minlength=d.n_case).mean())
        factor = (L - 1.0) / L if L > 1 else 1.0
        est.officer *= factor
        est.office *= factor
        est.thresholds *= factor
        targets = K.adjusted_targets(d, flags, EXTREME_ADJUSTMENT)
        K.jmle(d, est, {"case": np.ones(d.n_case, bool),
                        "officer": np.zeros(d.n_officer, bool),
                        "office": np.zeros(d.n_office, bool)},
               max_iter=max_iter, tol=tol, thresholds=False, centre=False, targets=targets)
        notes.append(f"(L-1)/L bias correction with L = {L:.3g} ratings per case: officer "
                     f"and office measures and thresholds multiplied by {factor:.4f}")

    return _report(frame, d, est, flags, cases, officers, offices, cats, case, rater, office,
                   bias_by, bias_cols, confidence, n_iter, change, converged,
                   bias_correction, notes)


def _score_offset(cats: tuple) -> tuple[float, str | None]:
    numeric = all(isinstance(c, int | float | np.integer | np.floating)
                  and not isinstance(c, bool) for c in cats)
    if numeric and all(float(c) == float(cats[0]) + k for k, c in enumerate(cats)):
        return float(cats[0]), None
    return 1.0, f"averages number the categories 1..{len(cats)} ({cats[0]!r} = 1)"


def _report(frame: pd.DataFrame, d: K.Design, est: K.Estimates, flags: dict[str, np.ndarray],
            cases: pd.Index, officers: pd.Index, offices: pd.Index, cats: tuple, case: str,
            rater: str, office: str | None, bias_by: str | list[str] | None,
            bias_cols: list[str], confidence: float,
            n_iter: int, change: float, converged: bool, bias_correction: bool,
            notes: list[str]) -> FacetsResult:
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    offset, note = _score_offset(cats)
    if note:
        notes.append(note)
    tau = est.tau()
    theta = est.theta(d)
    p, e, w, c4 = K.fit_moments(theta, tau)
    x = d.x.astype(float)
    m = d.m
    # exact agreement: pairs of ratings of the same case
    cat_case = np.bincount(d.case * (m + 1) + d.x, minlength=d.n_case * (m + 1))
    p_case = np.stack([np.bincount(d.case, pk, minlength=d.n_case) for pk in p])
    r_case = np.bincount(d.case, minlength=d.n_case).astype(float)
    agree_obs = cat_case[d.case * (m + 1) + d.x] - 1.0
    agree_exp = (p * (p_case[:, d.case] - p)).sum(axis=0)
    pairs = r_case[d.case] - 1.0
    at_end = ((d.x == 0) | (d.x == m)).astype(float)
    p_end = p[0] + p[m]

    def element_table(name: str, idx: np.ndarray, labels: pd.Index, measure: np.ndarray,
                      others_mean: float, sign: float) -> pd.DataFrame:
        n = labels.size
        cnt = np.bincount(idx, minlength=n).astype(float)
        info = np.bincount(idx, w, minlength=n)
        se = 1.0 / np.sqrt(info)
        fit = K.fit_statistics(x, e, w, c4, idx, n)
        ext = flags[name]
        for v in fit.values():
            v[ext != 0] = np.nan
        fair_theta = others_mean + sign * measure
        fair_e, _ = K.moments(fair_theta, tau)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = pd.DataFrame({
                "measure": measure, "se": se, "ci_low": measure - z * se,
                "ci_high": measure + z * se, **fit, "count": cnt.astype(np.int64),
                "observed_average": np.bincount(idx, x, minlength=n) / cnt + offset,
                "fair_average": fair_e + offset}, index=labels)
            if name != "case":
                npair = np.bincount(idx, pairs, minlength=n)
                out["exact_agree_obs"] = np.bincount(idx, agree_obs, minlength=n) / npair
                out["exact_agree_exp"] = np.bincount(idx, agree_exp, minlength=n) / npair
                # central tendency: ratings at the ends of the scale, observed and expected
                e_end = np.bincount(idx, p_end, minlength=n)
                v_end = np.bincount(idx, p_end * (1 - p_end), minlength=n)
                end_z = (np.bincount(idx, at_end, minlength=n) - e_end) / np.sqrt(v_end)
                end_z[ext != 0] = np.nan
                out["end_observed"] = np.bincount(idx, at_end, minlength=n) / cnt
                out["end_expected"] = e_end / cnt
                out["end_z"] = end_z
                out["end_p_holm"] = _holm(2 * stats.norm.sf(np.abs(end_z)))
        out["extreme"] = np.where(ext < 0, "minimum", np.where(ext > 0, "maximum", ""))
        return out

    case_mean = float(est.case.mean())
    officers_t = element_table("officer", d.officer, officers, est.officer, case_mean, -1.0)
    if office is not None:
        officers_t.insert(0, "office", offices[d.officer_office])
        # the officer's severity within the office plus the office's: comparable across
        # offices
        officers_t.insert(2, "total_measure",
                          est.officer + est.office[d.officer_office])
        # an officer's fair average: an average case, in an average office
        offices_t = element_table("office", d.office, offices, est.office, case_mean, -1.0)
    else:
        offices_t = None
    cases_t = element_table("case", d.case, cases, est.case, 0.0, 1.0)
    cases_t = cases_t.drop(columns=["fair_average"])

    rows = {}
    for name, table in (("case", cases_t), ("officer", officers_t), ("office", offices_t)):
        if table is None:
            continue
        ok = (table["extreme"] == "").to_numpy()
        rows[name] = _summary_row(table["measure"].to_numpy(float)[ok],
                                  table["se"].to_numpy(float)[ok])
        rows[name]["extreme"] = float((~ok).sum())
    facets_t = pd.DataFrame(rows).T
    facets_t["elements"] = facets_t["elements"].astype(int)
    facets_t["extreme"] = facets_t["extreme"].astype(int)

    # the rating scale
    counts = np.bincount(d.x, minlength=m + 1)
    avg = np.bincount(d.x, theta, minlength=m + 1) / counts
    ge = K.greater_equal(p)
    thr_info = (ge * (1 - ge)).sum(axis=1)
    thr = np.concatenate([[np.nan], est.thresholds])
    thr_se = np.concatenate([[np.nan], 1.0 / np.sqrt(thr_info)])
    exp_cnt = p.sum(axis=1)
    cat_t = pd.DataFrame({
        "score": np.arange(m + 1) + offset, "count": counts,
        "percent": 100.0 * counts / counts.sum(), "average_measure": avg,
        "expected_count": exp_cnt, "threshold": thr, "threshold_se": thr_se,
        "threshold_disordered": np.concatenate([[False], np.r_[False, np.diff(est.thresholds)
                                                               < 0]]),
        "average_disordered": np.r_[False, np.diff(avg) < 0]},
        index=pd.Index([str(plain_value(cc)) for cc in cats], name="category"))
    if cat_t["threshold_disordered"].any():
        notes.append("Andrich thresholds are disordered: some category is never the most "
                      "probable one (see categories)")

    # officers by their id (with offices, the office is its own column)
    ids = np.asarray(officers.get_level_values(-1), dtype=object)
    resid = pd.DataFrame({"case": np.asarray(cases, dtype=object)[d.case],
                          "officer": ids[d.officer]})
    if office is not None:
        resid["office"] = np.asarray(offices, dtype=object)[d.office]
    resid["observed"] = x + offset
    resid["expected"] = e + offset
    resid["residual"] = x - e
    resid["z"] = (x - e) / np.sqrt(w)

    bias_t = None
    if bias_by is not None:
        bias_t = _bias_table(d, est, frame, bias_cols, not isinstance(bias_by, str), ids,
                             None if office is None else
                             np.asarray(offices, dtype=object)[d.officer_office])

    return FacetsResult(
        officers=TableResult(officers_t, title="Officers (severity, logits)"),
        offices=None if offices_t is None else TableResult(offices_t, title="Offices"),
        cases=TableResult(cases_t, title="Cases"),
        facets=TableResult(facets_t, title="Facet summaries (non-extreme elements)"),
        categories=TableResult(cat_t, title="Rating scale"),
        residuals=resid, bias=bias_t, n_ratings=int(d.x.size), n_iter=int(n_iter),
        max_change=float(change), converged=bool(converged),
        bias_correction=bool(bias_correction), confidence=confidence, notes=tuple(notes))
