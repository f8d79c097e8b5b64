"""Which mechanisms of variation show in a ratings table: one detector per mechanism.

Each mechanism of :mod:`riskeval.world` leaves a trace that a statistic of the ratings can
test, if the table holds what the trace needs. :func:`detect_mechanisms` runs, for every
mechanism, the detector its data allow and says, for the others, what is missing:

* **Officers' and offices' severity** (``who_assesses``, ``office_practice``): F tests of the
  officer (within office) and office terms of the ratings scored 1..q after removing each
  case's mean (the cases are crossed with the officers).
* **Case attributes weighed wrongly** (``offence_over_offender``, ``generic_factors``,
  ``psychological_ignored``, ``trust_honesty``, ``actuarial_distrust``,
  ``resource_raising``): the slope of the departure from the reference level (rating minus
  reference, in levels) on the attribute, with a cluster-robust (by officer) standard error; a
  mechanism shows as a slope of its sign. An attribute is constant within its case, so the
  case is the unit: the cases' mean departures are regressed on the attributes together
  (each slope net of the others), with as many degrees of freedom as cases minus slopes,
  however many officers rated them (with 24 vignettes a case attribute has about 24 units of
  information). Treating the ratings as the units (even clustered by officer) rejected a
  true null in a third of data sets here.
* **Familiarity with the offence type**: the officer x offence-type interaction of the
  departures (F test against the model with officer and offence-type main effects).
* **Defensive inflation**: the net share of ratings above the reference (cases and officers random);
  with years, its drift is :func:`riskeval.variation.bias.inflation_trend`.
* **Anchoring**: the asymmetry of up- and downgrades on repeat assessments
  (:func:`riskeval.variation.bias.anchoring`).
* **Manager overrides**: the share of ratings a manager changed (needs the officer's own
  rating).
* **Central tendency**: officers' use of the lowest and highest levels against what a
  many-facet Rasch model expects for the cases each rated: the dispersion of their end-level
  z (:meth:`riskeval.variation.FacetsResult.centrality`). It needs no reference, and sees
  officers who differ in central tendency; a tendency shared by all is absorbed by the
  thresholds. (Against a reference level the end share could not tell an officer who avoids
  the ends from one who is less noisy.)

What cannot be identified from ratings alone is said, not guessed: time per assessment is
not in a ratings table (``time_resources`` needs it as a column of the cases or officers), and
judgement noise is always present (its size is the residual variance of
:func:`riskeval.variation.crossed_lmm`, not a yes/no test).

References
----------
Myford, C. M. & Wolfe, E. W. (2003). Detecting and measuring rater effects using many-facet
Rasch measurement: Part I. *Journal of Applied Measurement* 4(4), 386-422.
Cornfield, J. & Tukey, J. W. (1956). Average values of mean squares in factorials. *Annals
of Mathematical Statistics* 27(4), 907-949.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .._core.checks import check_columns, check_probability
from .._core.results import TableResult
from ..data.ratings import Ratings, columns_of, level_codes, parse_categories
from ..errors import RiskevalError

__all__ = ["ATTRIBUTES", "DetectionTable", "detect_mechanisms"]

#: Case attributes the detectors read, by role, with the column names of simulated vignettes
#: (:func:`riskeval.world.vignettes.population`) as defaults. A role maps to one column or a
#: list whose sum is the attribute; ``resource`` is true for a case with no fixed abode or on
#: recall.
ATTRIBUTES: dict[str, Any] = {
    "offence_harm": "harm_offence",
    "offender_harm": "harm_offender",
    "generic_needs": ["need_drug_misuse", "need_alcohol_misuse"],
    "psychological": "psychological_risk",
    "openness": "openness",
    "offence_type": "offence",
    "accommodation": "accommodation",
    "recall": "recall",
}


@dataclass(frozen=True)
class _Slope:
    """A detector that is the slope of the departures on one case attribute."""

    mechanism: str
    role: str
    sign: int
    what: str


_SLOPES = (
    _Slope("offence_over_offender", "offence_harm", +1,
           "slope of the departure on the offence's harm (more weight on the offence)"),
    _Slope("generic_factors", "generic_needs", +1,
           "slope of the departure on generic needs (substance misuse) read as risk"),
    _Slope("psychological_ignored", "psychological", -1,
           "slope of the departure on psychological risk factors (ignored: negative)"),
    _Slope("trust_honesty", "openness", -1,
           "slope of the departure on openness (silence read as risk: negative)"),
    _Slope("actuarial_distrust", "offender_harm", -1,
           "slope of the departure on the offender's (actuarial) risk (discounted: negative)"),
    _Slope("resource_raising", "resource", +1,
           "departure of cases with no fixed abode or on recall (raised for a resource)"),
)


class DetectionTable(TableResult):
    """One row per mechanism: the detector used, its estimate, SE, statistic, p-value and
    whether the mechanism is detected at level ``alpha`` (in the expected direction), or why
    it cannot be tested on this table (``note``).

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study()
    >>> ratings = rv.simulate(world, seed=1)
    >>> table = detect_mechanisms(ratings, case="case", rater="officer", rating="rating",
    ...                           reference="reference", office="office",
    ...                           original="officer_rating", cases=world.vignettes)
    >>> bool(table.loc["who_assesses", "detected"])
    True
    >>> table.loc["time_resources", "note"][:39]
    'needs the time available per assessment'
    """


def _case_means_ols(y: np.ndarray, X: np.ndarray, case: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """Least squares of the case means of ``y`` on case-level columns ``X`` (constant within
    a case), weighted by each case's number of ratings: coefficients, their classical
    standard errors and the residual degrees of freedom (cases minus coefficients)."""
    n = np.bincount(case).astype(float)
    ybar = np.bincount(case, y) / n
    first = np.unique(case, return_index=True)[1]
    Xc = X[first]
    w = np.sqrt(n / n.mean())
    coef, _, rank, _ = linalg.lstsq(Xc * w[:, None], ybar * w, cond=1e-10,
                                    lapack_driver="gelsy", check_finite=False)
    resid = (ybar - Xc @ coef) * w
    df = len(ybar) - int(rank)
    if df <= 0:
        return coef, np.full(len(coef), math.nan), 0
    sigma2 = float(resid @ resid) / df
    cov = sigma2 * np.linalg.pinv((Xc * w[:, None]).T @ (Xc * w[:, None]))
    return coef, np.sqrt(np.maximum(np.diag(cov), 0.0)), df


def _grand_mean(y: np.ndarray, case: np.ndarray, officer: np.ndarray
                ) -> tuple[float, float, float]:
    """The mean of ``y`` over a crossed design of cases and officers, its standard error with
    both cases and officers random, and Satterthwaite's degrees of freedom.

    ``Var(mean) = (MS_case + MS_officer - MS_residual) / N`` from the two-way mean squares
    (Cornfield & Tukey 1956; exact for a complete design, approximate otherwise); when that is
    not positive, the larger of the two main-effect terms is used.
    """
    n = len(y)
    m = float(y.mean())
    nc, no = np.bincount(case).astype(float), np.bincount(officer).astype(float)
    mc, mo = np.bincount(case, y) / nc, np.bincount(officer, y) / no
    c, o = len(nc), len(no)
    ms_c = float(nc @ (mc - m) ** 2) / max(c - 1, 1)
    ms_o = float(no @ (mo - m) ** 2) / max(o - 1, 1)
    r = y - mc[case] - mo[officer] + m
    df_r = max(n - c - o + 1, 1)
    ms_r = float(r @ r) / df_r
    terms = np.array([ms_c, ms_o, -ms_r]) / n
    var = float(terms.sum())
    if var <= 0:
        var = max(ms_c, ms_o) / n
        return m, math.sqrt(var), float(c - 1 if ms_c >= ms_o else o - 1)
    df = var ** 2 / (terms[0] ** 2 / max(c - 1, 1) + terms[1] ** 2 / max(o - 1, 1)
                     + terms[2] ** 2 / df_r)
    return m, math.sqrt(var), float(df)


def _f_test(y: np.ndarray, small: np.ndarray, big: np.ndarray) -> tuple[float, float, float]:
    """F statistic, p-value and numerator df of the nested least-squares models."""
    def rss(X: np.ndarray) -> tuple[float, int]:
        coef, _, rank, _ = linalg.lstsq(X, y, cond=1e-10, lapack_driver="gelsy",
                                        check_finite=False)
        r = y - X @ coef
        return float(r @ r), int(rank)
    rss0, p0 = rss(small)
    rss1, p1 = rss(big)
    df1, df2 = p1 - p0, len(y) - p1
    if df1 <= 0 or df2 <= 0 or rss1 <= 0:
        return math.nan, math.nan, float(df1)
    f = ((rss0 - rss1) / df1) / (rss1 / df2)
    return f, float(stats.f.sf(f, df1, df2)), float(df1)


def _dummies(codes: np.ndarray, drop_first: bool = True) -> np.ndarray:
    k = int(codes.max()) + 1
    out = np.zeros((len(codes), k))
    out[np.arange(len(codes)), codes] = 1.0
    return out[:, 1:] if drop_first else out


def _attribute(cases: pd.DataFrame, spec: Any) -> pd.Series:
    """The attribute (a column, or the sum of several) as numbers; KeyError naming a column
    the cases lack; an error naming a column that holds text."""
    cols = [spec] if isinstance(spec, str) else list(spec)
    absent = [c for c in cols if c not in cases.columns]
    if absent:
        raise KeyError(f"the cases have no column {absent[0]!r}")
    values = cases[cols].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & cases[cols].notna()
    if bad.any().any():
        col = bad.any().idxmax()
        raise RiskevalError(f"the case attribute {col!r} must hold numbers; it has "
                            f"{cases.loc[bad[col], col].iloc[0]!r}")
    return values.sum(axis=1, min_count=1)


def _centrality(sub: pd.DataFrame, case: str, rater: str, rating: str, occasion: str | None,
                cats: tuple) -> tuple:
    """The central-tendency row: the dispersion of the officers' end-level z in a many-facet
    Rasch analysis (:meth:`FacetsResult.centrality`), cases at each occasion as units."""
    from .facets import many_facet_rasch

    detector = ("dispersion of the officers' use of the lowest and highest levels against "
                "a many-facet Rasch model (chi-square of their end-level z; 1 = chance)")
    frame = sub[[case, rater, rating]].copy()
    if occasion is not None:
        frame[case] = sub[case].astype(str) + " @ " + sub[occasion].astype(str)
    levels = level_codes(frame[rating], rating, cats)[0]
    used = np.flatnonzero(np.bincount(levels[levels >= 0], minlength=len(cats)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = many_facet_rasch(frame, case=case, rater=rater, rating=rating,
                                   categories=list(cats[used[0]:used[-1] + 1]))
    except RiskevalError as exc:
        return detector, "", math.nan, math.nan, math.nan, math.nan, 0, f"not estimated: {exc}"
    c = fit.centrality()
    return (detector, "", c["dispersion"], math.nan, c["chi2"], c["p"], 0,
            "officers who differ in central tendency; one shared by every officer is "
            "absorbed by the rating scale's thresholds and cannot be seen without a "
            "reference level")


def detect_mechanisms(data: pd.DataFrame | Ratings, *, case: str | None = None,
                      rater: str | None = None, rating: str | None = None,
                      reference: str | None = None, office: str | None = None,
                      occasion: str | None = None, original: str | None = None,
                      cases: pd.DataFrame | None = None,
                      attributes: Mapping[str, Any] | None = None, categories: Any = None,
                      alpha: float = 0.05) -> DetectionTable:
    """Test, mechanism by mechanism, whether its trace is in the ratings.

    Parameters
    ----------
    data : pandas.DataFrame or riskeval.Ratings
        One row per rating. For :class:`riskeval.Ratings` the column names default to its
        roles.
    case, rater, rating, reference, office, occasion : str, optional
        Columns. ``reference`` (an evidence-based level per rating) is needed by every detector
        of a departure; ``office`` by the office test; ``occasion`` by anchoring.
    original : str, optional
        The officer's own rating before a manager's review (``rating`` is then the final one).
    cases : pandas.DataFrame, optional
        One row per case with its attributes, keyed by the ``case`` column (e.g. the
        ``vignettes`` of a simulated world).
    attributes : mapping, optional
        Which columns of ``cases`` hold each attribute the detectors read (see
        :data:`ATTRIBUTES`, the default names of simulated vignettes).
    categories : sequence or str, optional
        The levels, lowest first (default: the rating column's ordered categories).
    alpha : float
        The level of every test (two-sided p-values; "detected" also needs the expected sign).

    Returns
    -------
    DetectionTable
        Indexed by mechanism: ``detector``, ``estimate``, ``se``, ``statistic``, ``pvalue``,
        ``detected``, ``needs`` and ``note``.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study().only("office_practice")
    >>> ratings = rv.simulate(world, seed=2)
    >>> table = detect_mechanisms(ratings, case="case", rater="officer", rating="rating",
    ...                           office="office")
    >>> bool(table.loc["office_practice", "detected"])
    True

    References
    ----------
    Myford, C. M. & Wolfe, E. W. (2003). Detecting and measuring rater effects using
    many-facet Rasch measurement: Part I. *Journal of Applied Measurement* 4(4), 386-422.
    """
    alpha = float(check_probability([alpha], "alpha")[0])
    frame, c = columns_of(data, ("case", "rater", "rating"), case=case, rater=rater,
                          rating=rating, reference=reference, office=office,
                          occasion=occasion, original=original)
    case, rater, rating = c["case"], c["rater"], c["rating"]
    reference, office, occasion, original = (c["reference"], c["office"], c["occasion"],
                                             c["original"])
    cats = parse_categories(categories)
    if cats is None and isinstance(data, Ratings):
        cats = data.categories
    score, cats = level_codes(frame[rating], rating, cats)
    keep = score >= 0
    ref = level_codes(frame[reference], reference, cats)[0] if reference else None
    if ref is not None:
        keep &= ref >= 0
    sub = frame.loc[keep]
    y = score[keep].astype(float)
    case_codes = pd.factorize(sub[case])[0]
    officer_key = (sub[office].astype(str) + " / " + sub[rater].astype(str) if office
                   else sub[rater])
    officer = pd.factorize(officer_key)[0]
    d = y - ref[keep] if ref is not None else None
    attrs = {**ATTRIBUTES, **dict(attributes or {})}
    rows: dict[str, dict[str, Any]] = {}

    def row(mechanism: str, detector: str, needs: str, estimate: float = math.nan,
            se: float = math.nan, statistic: float = math.nan, pvalue: float = math.nan,
            sign: int = 0, note: str = "") -> None:
        ok = np.isfinite(pvalue) and pvalue < alpha and (
            sign == 0 or (np.isfinite(estimate) and np.sign(estimate) == sign))
        rows[mechanism] = {"detector": detector, "estimate": estimate, "se": se,
                           "statistic": statistic, "pvalue": pvalue, "detected": bool(ok),
                           "needs": needs, "note": note}

    # officers' and offices' severity: ratings net of each case's mean
    intercept = np.ones((len(y), 1))
    cases_x = _dummies(case_codes)
    base = np.hstack([intercept, cases_x])
    if office:
        office_codes = pd.factorize(sub[office])[0]
        base = np.hstack([base, _dummies(office_codes)])
    f, p, _ = _f_test(y, base, np.hstack([base, _dummies(officer)]))
    row("who_assesses", "F test of officers (within office) on the ratings net of each "
        "case's mean", "case, rater", statistic=f, pvalue=p)
    if office:
        # officers' mean departures from the case means are the units: office differences
        # are tested against the spread of officers within offices
        net = y - np.bincount(case_codes, y)[case_codes] / np.bincount(case_codes)[case_codes]
        means = np.bincount(officer, net) / np.bincount(officer)
        off_of = np.zeros(officer.max() + 1, dtype=int)
        off_of[officer] = office_codes
        groups = [means[off_of == g] for g in range(office_codes.max() + 1)]
        f_o, p_o = (stats.f_oneway(*groups) if len(groups) > 1
                    and sum(map(len, groups)) > len(groups) else (math.nan, math.nan))
        row("office_practice", "one-way ANOVA of officers' mean ratings (net of case means) "
            "by office", "case, rater, office", statistic=float(f_o), pvalue=float(p_o))
    else:
        row("office_practice", "one-way ANOVA of officers' means by office", "office",
            note="needs the office column")

    # departures from the reference, on case attributes
    case_table = None
    if cases is not None:
        check_columns(cases, {"case": case})
        case_table = cases.drop_duplicates(case).set_index(case)
    # one regression of the departures on every attribute there is, so that each slope is
    # net of the others (the attributes of real and simulated cases are correlated)
    columns: dict[str, np.ndarray] = {}
    missing_note: dict[str, str] = {}
    for s_ in _SLOPES:
        if d is None or case_table is None:
            missing_note[s_.mechanism] = "needs " + " and ".join(
                n for n, v in (("the reference level", d),
                               ("the case attributes (cases=)", case_table)) if v is None)
            continue
        try:
            if s_.role == "resource":
                acc = case_table[attrs["accommodation"]].astype(str) == "no fixed abode"
                rec = case_table[attrs["recall"]].astype(bool)
                x_case = (acc | rec).astype(float)
            else:
                x_case = _attribute(case_table, attrs[s_.role])
        except KeyError as exc:
            missing_note[s_.mechanism] = f"the case attribute is missing: {exc.args[0]}"
            continue
        x = x_case.reindex(sub[case]).to_numpy(dtype=float)
        finite = x[np.isfinite(x)]
        if finite.size == 0 or np.ptp(finite) == 0:
            missing_note[s_.mechanism] = "the attribute takes one value on these cases"
            continue
        columns[s_.mechanism] = x
    if columns:
        # a case attribute is constant within its case: the case is the unit (the mean
        # departure of its ratings), so the test has as many units as cases, however many
        # officers rated them
        X = np.column_stack([np.ones(len(d)), *columns.values()])
        ok = np.isfinite(X).all(axis=1)
        fit = _case_means_ols(d[ok], X[ok], case_codes[ok])
    for s_ in _SLOPES:
        if s_.mechanism not in columns:
            row(s_.mechanism, s_.what, "reference, cases", sign=s_.sign,
                note=missing_note.get(s_.mechanism, ""))
            continue
        k = list(columns).index(s_.mechanism) + 1
        est, se, df = float(fit[0][k]), float(fit[1][k]), fit[2]
        z = est / se if se > 0 else math.nan
        p = float(2 * stats.t.sf(abs(z), df)) if np.isfinite(z) and df > 0 else math.nan
        row(s_.mechanism, s_.what + "; net of the other attributes", "reference, cases",
            est, se, z, p, s_.sign)

    # familiarity: officer x offence type
    if d is not None and case_table is not None and attrs["offence_type"] in case_table:
        # familiarity grows with the offence type's share in the office's caseload (and
        # with experience): the office x offence-type interaction, tested net of every
        # officer's own level (officer dummies in both models)
        otype = pd.factorize(case_table[attrs["offence_type"]].reindex(sub[case]))[0]
        unit = office_codes if office else officer
        main = np.hstack([intercept, _dummies(officer), _dummies(otype)])
        inter = pd.factorize(unit.astype(np.int64) * (otype.max() + 1) + otype)[0]
        f, p, df1 = _f_test(d, main, np.hstack([main, _dummies(inter)]))
        by = "office" if office else "officer"
        row("familiarity", f"F test of the {by} x offence-type interaction of the departures "
            f"(net of each officer's level)", "reference, cases (offence type)", statistic=f,
            pvalue=p, note="" if df1 > 0 else f"each {by} rated one offence type")
    else:
        row("familiarity", "F test of the officer x offence-type interaction",
            "reference, cases (offence type)", note="needs the reference level and the "
            "cases' offence type")

    # defensive inflation: the net direction against the reference
    if d is not None:
        est, se, df = _grand_mean(np.sign(d), case_codes, officer)
        p = float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else math.nan
        row("defensive_inflation", "net share of ratings above the reference (cases and "
            "officers random)", "reference", est, se, est / se if se > 0 else math.nan, p, +1)
    else:
        row("defensive_inflation", "against the reference level", "reference",
            note="needs the reference level")

    # central tendency: officers' use of the end levels against a many-facet Rasch model
    row("central_tendency", *_centrality(sub, case, rater, rating, occasion, cats))

    # anchoring: repeat assessments
    if occasion is not None and reference is not None and sub[occasion].nunique() > 1:
        from .bias import anchoring as _anchoring

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = _anchoring(sub, rating=rating, case=case, rater=rater, occasion=occasion,
                               evidence=reference, categories=list(cats))
        if "asymmetry" in table.index:
            a = table.loc["asymmetry"]
            z = stats.norm.ppf(0.975)
            se = float((a["upgraded_high"] - a["upgraded"]) / z)
            est = float(a["upgraded"])
            p = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else math.nan
            row("anchoring", "share upgraded when the evidence rises minus share "
                "downgraded when it falls, on repeat assessments (bias.anchoring; a high "
                "rating kept: positive)", "occasion, reference", est, se,
                est / se if se > 0 else math.nan, p, +1)
        else:
            row("anchoring", "bias.anchoring", "occasion, reference",
                note="the evidence never moved both ways between occasions")
    else:
        row("anchoring", "bias.anchoring", "occasion, reference",
            note="needs repeat assessments (an occasion column with two or more values) "
                 "and the reference level")

    # manager overrides
    if original is not None:
        own = level_codes(sub[original], original, cats)[0]
        changed = ((own >= 0) & (own != score[keep])).astype(float)
        share = float(changed.mean())
        row("manager_override", "share of ratings a manager changed (observed, not "
            "estimated: p is 0 when any was changed)", "original", share, math.nan,
            math.nan, 0.0 if share > 0 else 1.0, +1,
            note="" if share > 0 else "no rating was changed")
    else:
        row("manager_override", "share of ratings a manager changed", "original",
            note="needs the officer's own rating before review (original=)")

    row("time_resources", "rating against the hours available per assessment",
        "hours per assessment", note="needs the time available per assessment, which a "
        "ratings table does not hold; give it as a case or officer column and regress on it")
    row("noise", "residual variance of riskeval.variation.crossed_lmm", "case, rater",
        note="always present: its size is the residual variance, not a yes/no test")

    order = [m for m in _ORDER if m in rows]
    out = pd.DataFrame([rows[m] for m in order], index=pd.Index(order, name="mechanism"))
    return DetectionTable(out, title=f"Mechanisms detected at level {alpha:g}")


#: The order of the rows: CONTEXT.md's, then the classic rater effect, then noise.
_ORDER = ("offence_over_offender", "generic_factors", "psychological_ignored",
          "office_practice", "who_assesses", "familiarity", "actuarial_distrust",
          "trust_honesty", "defensive_inflation", "anchoring", "time_resources",
          "resource_raising", "manager_override", "central_tendency", "noise")
