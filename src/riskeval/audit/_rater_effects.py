"""The audit's rater-effects section: a many-facet Rasch analysis of the ratings, read for an
inspector -- officers' and offices' severity with fair averages, fit, central tendency,
differential severity by case attributes and drift over the years."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import check_columns
from ..errors import RiskevalError
from ..variation.facets import FacetsResult, _holm, check_bias_by, many_facet_rasch

#: largest number of ratings for which ``rater_effects="auto"`` runs the analysis (about three
#: seconds on two cores; 1.5 million ratings take about nine)
RATER_EFFECTS_AUTO_MAX = 500_000

#: infit mean-squares outside these limits are flagged: below, ratings more predictable than
#: the model expects (muted, often central tendency or halo); above, more erratic. Linacre's
#: range "productive for measurement" (Linacre, J. M. (2002). What do infit and outfit,
#: mean-square and standardized mean? Rasch Measurement Transactions 16(2), 878).
FIT_LOW, FIT_HIGH = 0.5, 1.5

#: a numeric case attribute with more distinct values than this is cut into thirds (a bias
#: analysis compares groups of cases; a named assumption of this report)
MAX_GROUPS = 6

#: significance level of the flags, after Holm's adjustment over the officers (or cells)
ALPHA_FLAG = 0.05

#: officers shown in the differential-severity figure (those with the largest bias)
DRF_FIGURE_OFFICERS = 40


@dataclass(frozen=True)
class RaterEffects:
    """The rater-effects section of an audit.

    Attributes
    ----------
    officers : pandas.DataFrame
        One row per officer: office, severity ``measure`` (logits; higher = lower ratings,
        FACETS' convention), ``se``, interval, ``fair_average`` (the level, numbered 1..K,
        the officer would give a case of average risk), ``observed_average``, ``count``,
        ``infit``/``outfit`` mean-squares, ``end_observed``/``end_expected`` (share of
        ratings at the lowest or highest level, and the share the cases rated warrant),
        ``end_z``, ``severity_p_holm`` and ``end_p_holm`` (Holm over officers), and ``flags``
        in words.
    offices : pandas.DataFrame or None
        The same for offices, when the audit has an office column.
    facets : pandas.DataFrame
        Separation, strata, reliability and chi-square tests per facet.
    scale : pandas.DataFrame
        The rating scale: category counts, thresholds, disordering.
    differential : pandas.DataFrame or None
        Officer x case-attribute bias (FACETS' bias/interaction analysis), Holm over every
        cell of every attribute; None without case attributes.
    drift : pandas.DataFrame or None
        Officer x year bias: an officer whose severity moved between years.
    centrality : pandas.Series
        Do officers differ in their use of the lowest and highest levels? ``chi2`` is the
        sum of the officers' squared ``end_z`` on ``df`` (their number) degrees of freedom,
        ``p`` its upper tail, ``dispersion`` = chi2 / df (about 1 when officers differ only
        by chance): :meth:`riskeval.variation.FacetsResult.centrality`.
    attributes : tuple of str
        The case attributes analysed.
    fit : FacetsResult
        The fitted model (for the Wright map).

    References
    ----------
    Myford, C. M., & Wolfe, E. W. (2003, 2004). Detecting and measuring rater effects using
    many-facet Rasch measurement, parts I and II. *Journal of Applied Measurement* 4(4),
    386-422 and 5(2), 189-227.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=4,
    ...                                             n_vignettes=12)
    >>> ratings = rv.simulate(world, seed=1).merge(world.vignettes[["case", "sex"]],
    ...                                            on="case")
    >>> result = rv.audit.audit(ratings, case="case", rater="officer", rating="rating",
    ...                         office="office", case_attributes="sex", ordinal=False)
    >>> r = result.rater_effects
    >>> r.officers.loc["Office 1/02", ["measure", "fair_average", "infit"]].round(2).tolist()
    [1.11, 2.23, 0.4]
    >>> r.officers.loc["Office 1/02", "flags"]
    'muted (infit < 0.5)'
    >>> r.centrality.round(2).to_dict()
    {'chi2': 16.48, 'df': 12.0, 'p': 0.17, 'dispersion': 1.37}
    >>> r.differential.columns.tolist()[:4]
    ['officer', 'office', 'attribute', 'value']
    """

    officers: pd.DataFrame
    offices: pd.DataFrame | None
    facets: pd.DataFrame
    scale: pd.DataFrame
    differential: pd.DataFrame | None
    drift: pd.DataFrame | None
    centrality: pd.Series
    attributes: tuple[str, ...]
    fit: FacetsResult


def case_attributes(source: pd.DataFrame, frame: pd.DataFrame, case: str,
                    attributes: Any, notes: list[str]) -> list[str]:
    """Copy the case-attribute columns into ``frame`` (aligned on its index), checked: one
    value per case, numeric ones with many values cut into thirds. Returns their names."""
    if attributes is None:
        return []
    cols = [a.strip() for a in attributes.split(",")] if isinstance(attributes, str) else \
        list(attributes)
    if not cols or not all(isinstance(c, str) and c for c in cols):
        raise RiskevalError(f"case_attributes must be column names (a list, or one string "
                            f"with commas); got {attributes!r}")
    if len(set(cols)) != len(cols):
        raise RiskevalError(f"case_attributes names a column twice: {cols!r}")
    check_columns(source, {f"case attribute {i + 1}": col for i, col in enumerate(cols)})
    for col in cols:
        if col in frame.columns:
            raise RiskevalError(f"the case attribute {col!r} is already a column of the "
                                f"audit (its case, officer, rating, office...); name another")
        values = source.loc[frame.index, col]
        per_case = values.groupby(frame[case].to_numpy(), sort=False).nunique(dropna=True)
        if (per_case > 1).any():
            first = per_case.index[per_case.to_numpy() > 1][0]
            seen = pd.unique(values[(frame[case] == first).to_numpy()].dropna())
            shown = ", ".join(repr(v) for v in seen[:4])
            raise RiskevalError(f"the case attribute {col!r} takes several values for case "
                                f"{first!r} ({shown}): a case attribute has one value per "
                                f"case (give a column of the case, not of the rating)")
        numeric = pd.api.types.is_numeric_dtype(values) and not \
            pd.api.types.is_bool_dtype(values)
        if numeric and values.nunique() > MAX_GROUPS:
            thirds = pd.qcut(values, 3, duplicates="drop")
            names = [f"{lab} {iv.left:g} to {iv.right:g}" for lab, iv in
                     zip(("low", "middle", "high"), thirds.cat.categories, strict=False)]
            values = thirds.cat.rename_categories(names)
            notes.append(f"rater effects: the case attribute {col!r} has more than "
                         f"{MAX_GROUPS} values and was cut at its thirds ({', '.join(names)})")
        frame[col] = values.astype(object).where(values.notna(), None)
    return cols


def rater_effects(frame: pd.DataFrame, *, unit: str, rater: str, rating: str,
                  office: str | None, cats: tuple, attributes: list[str], year: str | None,
                  confidence: float, notes: list[str]) -> RaterEffects | None:
    """The section, or None (with a note saying why) when the model cannot be fitted."""
    codes = pd.Categorical(frame[rating], categories=list(cats)).codes
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(cats)))
    if used.size < 2:
        notes.append("rater effects: not estimated: every rating is in one level")
        return None
    first = int(used[0])
    levels = list(cats[first:int(used[-1]) + 1])
    if len(levels) < len(cats):
        notes.append(f"rater effects: levels no rating uses at the ends of the scale are left "
                     f"out of the rating scale ({', '.join(map(str, cats[:first]))}"
                     f"{', ' if first and len(levels) + first < len(cats) else ''}"
                     f"{', '.join(map(str, cats[first + len(levels):]))}); averages keep "
                     f"the numbering 1..{len(cats)} of all the levels")
    officer_codes = pd.factorize(pd.MultiIndex.from_arrays([frame[office], frame[rater]])
                                 if office else frame[rater])[0]
    bias_by = []
    for col in attributes + ([year] if year else []):
        try:
            check_bias_by(frame, [col], officer_codes)
        except RiskevalError as exc:
            notes.append(f"rater effects: {'drift' if col == year else 'bias'} by {col} not "
                         f"analysed: {exc}")
            continue
        bias_by.append(col)
    try:
        fit = many_facet_rasch(frame, case=unit, rater=rater, rating=rating, office=office,
                               categories=levels, bias_by=bias_by or None,
                               confidence=confidence)
    except RiskevalError as exc:
        notes.append(f"rater effects: not estimated: {exc}")
        return None
    if not fit.converged:   # the reason is in the warning the audit step keeps as a note
        notes.append("rater effects: not reported: the many-facet Rasch analysis did not "
                     "converge (see the note above)")
        return None
    notes.extend(f"rater effects: {n}" for n in fit.notes if not n.startswith("averages"))
    shift = float(first)   # averages on the numbering 1..K of every level
    officers = _flagged(fit.officers.to_frame(), shift,
                        "colleagues in the office" if office else "colleagues")
    offices = None if fit.offices is None else _flagged(fit.offices.to_frame(), shift,
                                                        "other offices")
    differential = drift = None
    if fit.bias is not None:
        table = fit.bias.to_frame()
        differential = table[table["attribute"] != year].reset_index(drop=True)
        drift = table[table["attribute"] == year].reset_index(drop=True)
        differential = differential if len(differential) else None
        drift = drift if len(drift) else None
    scale = fit.categories.to_frame().assign(score=lambda t: t["score"] + shift)
    centrality = fit.centrality()
    return RaterEffects(officers=officers, offices=offices, facets=fit.facets.to_frame(),
                        scale=scale, differential=differential, drift=drift,
                        centrality=centrality,
                        attributes=tuple(c for c in bias_by if c != year), fit=fit)


def _flagged(table: pd.DataFrame, shift: float, others: str) -> pd.DataFrame:
    """The element table with averages on the full numbering, Holm-adjusted severity tests
    and flags in words."""
    keep = ["office", "measure", "se", "ci_low", "ci_high", "fair_average",
            "observed_average", "count", "infit", "outfit", "end_observed", "end_expected",
            "end_z", "end_p_holm", "extreme"]
    out = table[[c for c in keep if c in table.columns]].copy()
    out["fair_average"] += shift
    out["observed_average"] += shift
    z = (out["measure"] / out["se"]).to_numpy(float)
    with np.errstate(invalid="ignore"):
        p = np.where(out["extreme"] == "", 2 * stats.norm.sf(np.abs(z)), np.nan)
    out.insert(out.columns.get_loc("ci_high") + 1, "severity_p_holm", _holm(p))
    flags = []
    for row in out.itertuples(index=False):
        words = []
        if row.severity_p_holm < ALPHA_FLAG:
            words.append(f"rates {'higher' if row.measure < 0 else 'lower'} than {others}")
        if row.infit > FIT_HIGH:
            words.append("erratic (infit > 1.5)")
        elif row.infit < FIT_LOW:
            words.append("muted (infit < 0.5)")
        if row.end_p_holm < ALPHA_FLAG:
            words.append("avoids the lowest and highest levels" if row.end_z < 0 else
                         "uses the lowest and highest levels more than expected")
        if row.extreme:
            words.append("every rating at the " + ("lowest" if row.extreme == "minimum"
                                                   else "highest") + " level")
        flags.append("; ".join(words))
    out["flags"] = flags
    return out


def differential_figure(r: RaterEffects) -> Any:
    """Heatmap of the differential-severity estimates: officers (those with the largest
    bias, at most :data:`DRF_FIGURE_OFFICERS`) by attribute value, in logits. Cells of a
    single rating (no test) are left blank: their estimate is set by the extreme-score
    adjustment, not by the data."""
    from matplotlib.figure import Figure

    from .._core import plots

    d = r.differential
    cell = d.assign(column=d["attribute"].astype(str) + " = " + d["value"].astype(str),
                    bias=d["bias"].where(d["p"].notna()))
    table = cell.pivot_table(index="officer", columns="column", values="bias", sort=False,
                             dropna=False).dropna(axis=1, how="all")
    shown = table
    title = "Differential severity: officer x case attribute (logits; > 0 rated higher)"
    if len(table) > DRF_FIGURE_OFFICERS:
        largest = table.abs().max(axis=1).nlargest(DRF_FIGURE_OFFICERS).index
        shown = table.loc[[i for i in table.index if i in set(largest)]]
        title += f"\n({DRF_FIGURE_OFFICERS} of {len(table)} officers: the largest biases)"
    top = float(np.nanmax(np.abs(shown.to_numpy(float)))) if shown.size else 1.0
    top = top if np.isfinite(top) and top > 0 else 1.0
    fig = Figure(figsize=(min(12.0, 3.0 + 0.45 * shown.shape[1]),
                          min(12.0, 2.0 + 0.22 * len(shown))))
    plots.heatmap(shown, ax=fig.subplots(), cmap="RdBu_r", vmin=-top, vmax=top, title=title,
                  xlabel="", ylabel="officer", annotate=shown.size <= 150)
    fig.tight_layout()
    return fig
