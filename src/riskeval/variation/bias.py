"""Is disagreement directional, sticky or imposed? Diagnostics against a reference.

* :func:`directional` -- shares of ratings above and below a reference level (evidence-based
  level, actuarial band or panel consensus), overall or per officer / office / cohort, with
  intervals that respect clustering (ratings by the same officer are not independent).
* :func:`symmetry` -- Bowker's test of symmetry of the officer-by-reference table (McNemar's
  test when there are two levels): are departures up and down equally common for every pair
  of levels? (Noise alone can break symmetry when levels are unequally common; see there.)
* :func:`anchoring` -- on repeated assessments of the same case by the same officer, how often
  the rating goes down when the evidence goes down, and up when it goes up.
* :func:`overrides` -- how often a manager changed the officer's rating, in which direction,
  and what it did to agreement with the reference.
* :func:`inflation_trend` -- the drift of ratings relative to the reference over calendar
  time, on the latent scale of an ordinal mixed model (defensive inflation is described as
  recent and growing).

Without a reference none of these is identifiable: an office whose officers all rate higher
may be severe, or may see riskier cases, so every function here requires a reference column.

References
----------
Bowker, A. H. (1948). A test for symmetry in contingency tables. *Journal of the American
Statistical Association* 43(244), 572-574.

McNemar, Q. (1947). Note on the sampling error of the difference between correlated proportions
or percentages. *Psychometrika* 12(2), 153-157.

Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
*Journal of Human Resources* 50(2), 317-372.

Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*Journal of the American Statistical Association* 22(158), 209-212.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._core.results import Result, SeriesResult, TableResult
from ..data.ratings import Ratings, _numbers, columns_of, level_codes, parse_categories
from ..errors import RiskevalError, RiskevalWarning

__all__ = ["SymmetryResult", "anchoring", "directional", "inflation_trend", "overrides",
           "symmetry"]


def _codes(frame: pd.DataFrame, col: str, cats: tuple | None) -> tuple[np.ndarray, tuple]:
    return level_codes(frame[col], col, cats)


def _levels(frame: pd.DataFrame, a: str, b: str, categories: Any
            ) -> tuple[np.ndarray, np.ndarray, tuple]:
    cats = parse_categories(categories)
    ca, cats_a = _codes(frame, a, cats)
    cb, cats_b = _codes(frame, b, cats if cats is not None else cats_a)
    if cats is None and cats_a != cats_b:
        raise RiskevalError(f"columns {a!r} and {b!r} have different levels ({list(cats_a)} vs "
                            f"{list(cats_b)}); pass categories= to put them on one scale")
    return ca, cb, cats_a


def _cluster_codes(values: Any) -> np.ndarray:
    """Clusters as 0-based integer codes (coded once for a table; missing is a cluster of
    its own, as factorizing per group made it before)."""
    return pd.factorize(np.asarray(values), use_na_sentinel=False)[0]


def _cluster_se(contributions: np.ndarray, codes: np.ndarray) -> float:
    """CR1 standard error of a sum of per-observation contributions (influence terms):
    ``sqrt(g/(g-1) * sum over clusters of (sum of contributions)^2)``, with ``g`` the
    clusters present; ``codes`` from :func:`_cluster_codes`."""
    sums = np.bincount(codes, weights=contributions)
    g = int(np.count_nonzero(np.bincount(codes)))
    return math.sqrt(g / max(g - 1, 1) * float(sums @ sums))


def _mean_ci(y: np.ndarray, cluster: np.ndarray | None, level: float,
             bounded: bool) -> tuple[float, float, float, float]:
    """Mean, SE and interval: Wilson for independent 0/1 data, else cluster-robust (CR1) with
    clusters given by their :func:`_cluster_codes`."""
    n = len(y)
    m = float(y.mean())
    z = stats.norm.ppf(0.5 + level / 2)
    if cluster is None:
        se = math.sqrt(max(m * (1 - m), 0.0) / n) if bounded else float(y.std(ddof=1)
                                                                          / math.sqrt(n))
        if bounded:  # Wilson score interval
            from .._core.intervals import wilson_interval

            lo, hi = wilson_interval(float(y.sum()), n, level)
            return m, se, float(lo), float(hi)
        return m, se, m - z * se, m + z * se
    if cluster.min() == cluster.max():  # one cluster
        return m, math.nan, math.nan, math.nan
    se = _cluster_se((y - m) / n, cluster)
    lo, hi = m - z * se, m + z * se
    if bounded:
        lo, hi = max(0.0, lo), min(1.0, hi)
    else:
        lo, hi = max(-1.0, lo), min(1.0, hi)
    return m, se, lo, hi


def _directional_counts(diff: np.ndarray, groups: list[tuple[Any, np.ndarray]],
                        level: float) -> pd.DataFrame:
    """:func:`directional` without clusters, for every group in one pass (the numbers of
    :func:`_mean_ci` per group: Wilson intervals for the shares, a t-free normal interval
    for the net direction)."""
    from .._core.intervals import wilson_interval

    n = np.array([len(rows) for _, rows in groups], dtype=float)
    up = np.array([(diff[rows] > 0).sum() for _, rows in groups], dtype=float)
    down = np.array([(diff[rows] < 0).sum() for _, rows in groups], dtype=float)
    agree = n - up - down
    shift = np.array([diff[rows].sum() for _, rows in groups], dtype=float) / n
    z = stats.norm.ppf(0.5 + level / 2)
    cols: dict[str, Any] = {"n": n.astype(int)}
    for name, k in (("upward", up), ("downward", down), ("agree", agree)):
        lo, hi = wilson_interval(k, n, level)
        cols.update({name: k / n, f"{name}_low": lo, f"{name}_high": hi})
    net = (up - down) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = up * (1 - net) ** 2 + down * (1 + net) ** 2 + agree * net ** 2
        se = np.sqrt(ss / (n - 1)) / np.sqrt(n)
    cols.update({"net": net, "net_low": net - z * se, "net_high": net + z * se,
                 "mean_shift": shift})
    return pd.DataFrame(cols, index=pd.Index([key for key, _ in groups]))


def directional(data: pd.DataFrame | Ratings, *, rating: str | None = None,
                reference: str | None = None, by: str | None = None,
                cluster: str | None = None, categories: Any = None,
                confidence: float = 0.95) -> TableResult:
    """Shares of ratings above and below the reference, with intervals.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per rating.
    rating, reference : str
        The officer's level and the reference level (same ordered scale).
    by : str, optional
        Group column (officer, office, cohort...): one row per group, plus ``(all)``.
    cluster : str, optional
        Column whose levels are independent units (typically the officer, or the case). The
        intervals are then cluster-robust (CR1 sandwich; Cameron & Miller 2015); without it,
        ratings are treated as independent and shares get Wilson intervals. Its values are
        taken as they are: officers numbered 1, 2, 3... within each office need a column keyed
        by office and officer, as :func:`riskeval.validate_ratings` with ``office=`` returns
        (and :func:`riskeval.audit.audit` uses).
    categories : optional
        Levels, lowest first, when the columns are text (default: their ordered categories).
    confidence : float

    Returns
    -------
    TableResult
        A DataFrame with one row per group: ``n``; ``upward``, ``downward``, ``agree``
        (shares) with ``*_low`` / ``*_high``; ``net`` = upward - downward with its interval
        (positive: rating above the reference more often than below -- the signature of
        inflation); ``mean_shift`` in levels.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import bias
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> ratings = rv.simulate(world, seed=1)
    >>> out = bias.directional(ratings, rating="rating", reference="reference", by="office")
    >>> out.index.tolist(), round(float(out.loc["(all)", "net"]), 3)
    (['(all)', 'Office 1', 'Office 2'], 0.417)
    """
    data, c = columns_of(data, ("rating", "reference"), rating=rating, reference=reference,
                         by=by, cluster=cluster)
    rating, reference = c["rating"], c["reference"]
    r, ref, _ = _levels(data, rating, reference, categories)
    ok = (r >= 0) & (ref >= 0)
    if not ok.any():
        raise RiskevalError("no row has both a rating and a reference level")
    rows_ok = np.flatnonzero(ok)
    groups = [("(all)", rows_ok)]
    if by is not None:  # one pass: rows of each group (in order of first appearance)
        codes, keys = pd.factorize(data[by].to_numpy()[rows_ok])
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
        groups += [(key, rows_ok[order[bounds[g]:bounds[g + 1]]])
                   for g, key in enumerate(keys)]
    cl = _cluster_codes(data[cluster]) if cluster is not None else None
    if cl is None:  # independent ratings: every group's counts and intervals at once
        out = _directional_counts(r - ref, groups, confidence)
        out.index.name = by or "group"
        return TableResult(out, title="Ratings above and below the reference")
    rows = []
    for key, mask in groups:
        diff = r[mask] - ref[mask]
        c = cl[mask] if cl is not None else None
        row: dict[str, Any] = {"group": key, "n": len(mask)}
        for name, y, bounded in (("upward", diff > 0, True), ("downward", diff < 0, True),
                                 ("agree", diff == 0, True),
                                 ("net", np.sign(diff), False)):
            m, _, lo, hi = _mean_ci(y.astype(float), c, confidence, bounded)
            row.update({name: m, f"{name}_low": lo, f"{name}_high": hi})
        row["mean_shift"] = float(diff.mean())
        rows.append(row)
    out = pd.DataFrame(rows).set_index("group")
    out.index.name = by or "group"
    return TableResult(out, title="Ratings above and below the reference")


@dataclass(frozen=True)
class SymmetryResult(Result):
    """Bowker's (or McNemar's) test of symmetry of the rating-by-reference table.

    Attributes
    ----------
    test : str
        ``"Bowker's test of symmetry"``, or ``"McNemar's test"`` with two levels.
    statistic, pvalue : float
        The chi-square statistic and its p-value.
    df : int
        Degrees of freedom (pairs of cells with at least one departure).
    table : pandas.DataFrame
        Counts, reference level (rows) by rating (columns).
    upward, downward : int
        Ratings above and below the reference.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import bias
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> ratings = rv.simulate(world, seed=1)
    >>> res = bias.symmetry(ratings, rating="rating", reference="reference")
    >>> res.df, round(res.statistic, 3), (res.upward, res.downward)
    (4, 15.444, (17, 2))
    >>> res.to_frame().shape
    (1, 6)
    """

    title: ClassVar[str] = "Symmetry of departures from the reference"

    test: str
    statistic: float
    df: int
    pvalue: float
    table: pd.DataFrame
    upward: int
    downward: int

    @property
    def estimate(self) -> float:
        """The chi-square statistic (the headline number)."""
        return self.statistic

    def to_frame(self) -> pd.DataFrame:
        """One row: test, statistic, df, pvalue, upward, downward."""
        return pd.DataFrame([{"test": self.test, "statistic": self.statistic, "df": self.df,
                              "pvalue": self.pvalue, "upward": self.upward,
                              "downward": self.downward}])

    def summary(self) -> str:
        """One line of plain text."""
        return (f"{self.test}: chi2 = {self.statistic:.3f} on {self.df} df, p = {self.pvalue:.3g}"
                f"; {self.upward} ratings above the reference, {self.downward} below")


def symmetry(data: pd.DataFrame | Ratings, *, rating: str | None = None,
             reference: str | None = None, categories: Any = None) -> SymmetryResult:
    """Test whether departures from the reference are symmetric (no directional bias).

    Bowker's test compares each pair of cells (i, j) and (j, i) of the square table of
    reference level (rows) by rating (columns); with two levels it is McNemar's test. Pairs
    with no departures in either direction carry no information and are skipped (as in
    Bowker 1948), which lowers the degrees of freedom.

    Two cautions. First, the test treats ratings as independent; with several ratings per
    officer, read its p-value as descriptive and use :func:`directional` with ``cluster=``
    for inference. Second, symmetry is a stronger hypothesis than "no directional bias":
    unbiased but noisy officers also break it when the reference levels are unequally common
    (more medium cases drift to high than high cases drift to medium, simply because there are
    more of them). A rejection says the table is asymmetric, not why; compare the net
    departure of :func:`directional`, or a world with and without the suspected mechanism.

    References
    ----------
    Bowker (1948); McNemar (1947).

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import bias
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> ratings = rv.simulate(world, seed=1)
    >>> res = bias.symmetry(ratings, rating="rating", reference="reference")
    >>> res.test, res.df, round(res.pvalue, 4)
    ("Bowker's test of symmetry", 4, 0.0039)
    """
    data, c = columns_of(data, ("rating", "reference"), rating=rating, reference=reference)
    rating, reference = c["rating"], c["reference"]
    r, ref, cats = _levels(data, rating, reference, categories)
    ok = (r >= 0) & (ref >= 0)
    q = len(cats)
    table = np.bincount(ref[ok] * q + r[ok], minlength=q * q).reshape(q, q)
    upper = np.triu_indices(q, 1)
    a, b = table[upper].astype(float), table.T[upper].astype(float)
    use = (a + b) > 0
    if not use.any():
        raise RiskevalError("no rating departs from the reference; symmetry cannot be tested")
    stat = float(((a[use] - b[use]) ** 2 / (a[use] + b[use])).sum())
    df = int(use.sum())
    frame = pd.DataFrame(table, index=pd.Index(cats, name=reference),
                         columns=pd.Index(cats, name=rating))
    return SymmetryResult("McNemar's test" if q == 2 else "Bowker's test of symmetry", stat,
                          df, float(stats.chi2.sf(stat, df)), frame,
                          upward=int(a.sum()), downward=int(b.sum()))


def anchoring(data: pd.DataFrame | Ratings, *, rating: str | None = None,
              case: str | None = None, rater: str | None = None, occasion: str | None = None,
              evidence: str | None = None, categories: Any = None, threshold: float = 0.0,
              confidence: float = 0.95) -> TableResult:
    """Upgrade and downgrade rates on repeat assessments, by the change in the evidence.

    Consecutive assessments of the same case by the same officer are paired. Occasions are
    put in order as numbers when every occasion is a number (also when read from a file as
    text, so ``"10"`` follows ``"9"``), otherwise as they sort (ISO dates sort in time order).
    The change in ``evidence`` (a numeric score, or a reference level) is classed as down,
    none or up (beyond ``threshold``); for each class the shares of ratings that went down,
    stayed and went up are reported, with cluster-robust intervals (clusters: officers).

    Returns
    -------
    TableResult
        A DataFrame with rows ``down``, ``none``, ``up`` (evidence), columns ``n``,
        ``downgraded``, ``unchanged``, ``upgraded`` with intervals, and a final row
        ``asymmetry``: P(upgraded | evidence up) - P(downgraded | evidence down) with its
        interval (positive when ratings rise with the evidence more readily than they fall --
        the signature of anchoring), bootstrap-free and cluster-robust.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskeval.variation import bias
    >>> data = pd.DataFrame({
    ...     "case": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e", "f", "f"],
    ...     "officer": ["o1"] * 6 + ["o2"] * 6,
    ...     "occasion": [1, 2] * 6,
    ...     "rating": ["low", "medium", "medium", "medium", "high", "high",
    ...                "low", "high", "medium", "low", "high", "medium"],
    ...     "evidence": [1, 2, 2, 1, 3, 2, 1, 3, 2, 1, 3, 2]})
    >>> out = bias.anchoring(data, rating="rating", case="case", rater="officer",
    ...                      occasion="occasion", evidence="evidence",
    ...                      categories="low,medium,high")
    >>> out["n"].tolist(), round(float(out.loc["asymmetry", "upgraded"]), 3)
    ([4.0, 0.0, 2.0, 6.0], 0.5)
    """
    data, c = columns_of(data, ("rating", "case", "rater", "occasion", "reference"),
                         rating=rating, case=case, rater=rater, occasion=occasion,
                         reference=evidence)
    rating, case, rater, occasion, evidence = (c[k] for k in ("rating", "case", "rater",
                                                              "occasion", "reference"))
    r, cats = _codes(data, rating, parse_categories(categories))
    ev = data[evidence]
    if isinstance(ev.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(ev):
        ev_num = _codes(data, evidence, cats)[0].astype(float)
        ev_num[ev_num < 0] = np.nan
    else:
        ev_num = ev.to_numpy(float)
    frame = pd.DataFrame({"c": data[case].to_numpy(), "o": data[rater].to_numpy(),
                          "t": _occasion_order(data[occasion]), "r": r, "e": ev_num})
    frame = frame[frame["r"] >= 0].sort_values(["o", "c", "t"], kind="stable")
    same = (frame["o"].shift() == frame["o"]) & (frame["c"].shift() == frame["c"])
    dr = (frame["r"] - frame["r"].shift())[same].to_numpy()
    de = (frame["e"] - frame["e"].shift())[same].to_numpy()
    off = _cluster_codes(frame["o"][same])
    keep = ~np.isnan(de)
    dr, de, off = dr[keep], de[keep], off[keep]
    if len(dr) == 0:
        raise RiskevalError("no officer assessed the same case twice; anchoring needs repeated "
                            "assessments (an occasion column with at least two values)")
    cls = np.where(de > threshold, "up", np.where(de < -threshold, "down", "none"))
    rows = {}
    for c in ("down", "none", "up"):
        mask = cls == c
        row: dict[str, Any] = {"n": int(mask.sum())}
        for name, y in (("downgraded", dr < 0), ("unchanged", dr == 0), ("upgraded", dr > 0)):
            if mask.sum() == 0:
                row.update({name: np.nan, f"{name}_low": np.nan, f"{name}_high": np.nan})
                continue
            m, _, lo, hi = _mean_ci(y[mask].astype(float), off[mask], confidence, True)
            row.update({name: m, f"{name}_low": lo, f"{name}_high": hi})
        rows[c] = row
    out = pd.DataFrame(rows).T
    # asymmetry: difference of two means over different subsets, with a joint CR1 variance
    up_m, dn_m = cls == "up", cls == "down"
    if up_m.any() and dn_m.any():
        p_up = float((dr[up_m] > 0).mean())
        p_dn = float((dr[dn_m] < 0).mean())
        infl = np.zeros(len(dr))
        infl[up_m] = ((dr[up_m] > 0) - p_up) / up_m.sum()
        infl[dn_m] = -((dr[dn_m] < 0) - p_dn) / dn_m.sum()
        se = _cluster_se(infl, off)
        z = stats.norm.ppf(0.5 + confidence / 2)
        est = p_up - p_dn
        out.loc["asymmetry", ["n", "upgraded", "upgraded_low", "upgraded_high"]] = [
            int(up_m.sum() + dn_m.sum()), est, est - z * se, est + z * se]
    out.index.name = "evidence"
    return TableResult(out, title="Rating changes on repeat assessments, by the change in "
                                  "the evidence")


def _occasion_order(col: pd.Series) -> np.ndarray:
    """Sort keys of occasions: numbers when every occasion is a number (read as text from a
    file, ``"10"`` must come after ``"9"``), else the values themselves (e.g. ISO dates)."""
    if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered:
        return col.cat.codes.to_numpy()
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy()
    num = pd.to_numeric(col.astype(object).map(
        lambda x: x.strip() if isinstance(x, str) else x), errors="coerce")
    if num.notna().sum() == col.notna().sum():
        return num.to_numpy(dtype=float)
    return col.astype(str).to_numpy()


def overrides(data: pd.DataFrame | Ratings, *, original: str, rating: str | None = None,
              reference: str | None = None, by: str | None = None, cluster: str | None = None,
              categories: Any = None, confidence: float = 0.95) -> TableResult:
    """How often a manager changed the officer's rating, which way, and with what effect.

    Parameters
    ----------
    data : DataFrame
        One row per assessment.
    original : str
        The column of the officer's own rating, before review (as ``original=`` of
        :func:`riskeval.audit.audit`).
    rating : str
        The column of the rating after review (the one recorded).
    reference, by, cluster, categories, confidence
        As for :func:`directional`.

    Returns
    -------
    TableResult
        A DataFrame with one row per group (``by``) and overall: ``n``, ``changed``,
        ``raised``, ``lowered`` (shares, with intervals), and with a ``reference``:
        ``agree_before`` and ``agree_after`` (shares of ratings equal to the reference before
        and after review) and their paired difference ``agreement_change`` with an interval.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import bias
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> ratings = rv.simulate(world, seed=1)
    >>> out = bias.overrides(ratings, original="officer_rating", rating="rating",
    ...                      reference="reference", by="office")
    >>> out.shape, round(float(out.loc["(all)", "agree_after"]), 3)
    ((3, 19), 0.472)
    """
    if categories is None and isinstance(data, Ratings):  # the original is on its scale
        categories = data.categories
    data, c = columns_of(data, ("original", "rating"), original=original, rating=rating,
                         reference=reference, by=by, cluster=cluster)
    rating, reference = c["rating"], c["reference"]
    before, after, cats = _levels(data, original, rating, categories)
    ref = _codes(data, reference, cats)[0] if reference is not None else None
    ok = (before >= 0) & (after >= 0) & (ref >= 0 if ref is not None else True)
    groups = [("(all)", ok)]
    if by is not None:
        keys = data[by].to_numpy()
        groups += [(k, ok & (keys == k)) for k in pd.unique(keys[ok])]
    cl = _cluster_codes(data[cluster]) if cluster is not None else None
    rows = []
    for key, mask in groups:
        d = after[mask] - before[mask]
        c = cl[mask] if cl is not None else None
        row: dict[str, Any] = {"group": key, "n": int(mask.sum())}
        series = [("changed", d != 0, True), ("raised", d > 0, True), ("lowered", d < 0, True)]
        if ref is not None:
            agree_b = before[mask] == ref[mask]
            agree_a = after[mask] == ref[mask]
            series += [("agree_before", agree_b, True), ("agree_after", agree_a, True),
                       ("agreement_change", agree_a.astype(float) - agree_b, False)]
        for name, y, bounded in series:
            m, _, lo, hi = _mean_ci(np.asarray(y, dtype=float), c, confidence, bounded)
            row.update({name: m, f"{name}_low": lo, f"{name}_high": hi})
        rows.append(row)
    out = pd.DataFrame(rows).set_index("group")
    out.index.name = by or "group"
    return TableResult(out, title="Managers' overrides of officers' ratings")


def inflation_trend(data: pd.DataFrame | Ratings, *, year: str, rating: str | None = None,
                    reference: str | None = None, case: str | None = None,
                    rater: str | None = None, office: str | None = None, categories: Any = None,
                    link: str = "probit", confidence: float = 0.95) -> SeriesResult:
    """Drift of ratings above the evidence per calendar year, on the latent scale.

    Fits the cumulative link mixed model
    ``rating ~ C(reference) + year + (1|case) + (1|officer) + (1|office)``
    (:func:`riskeval.variation.ordinal_mixed`). With the reference level held fixed and each
    officer's and office's own severity absorbed by their random effects, the ``year``
    coefficient is the yearly shift of judgements relative to the evidence, in units of the
    latent error SD (probit). Defensive inflation growing with scrutiny shows as a positive
    slope.

    What is *not* identified: the level of inflation at any one time. A constant upward shift
    is indistinguishable from officers' general severity and from the placement of the
    thresholds, so this function reports only the change over time. (The share of ratings
    above the reference, :func:`directional`, describes the level without separating its
    causes.)

    Returns
    -------
    SeriesResult
        A Series: ``estimate``, ``se``, ``ci_low``, ``ci_high`` (Wald), ``n``, ``years``
        (distinct years), ``link``.

    Raises
    ------
    RiskevalError
        When ratings come from a single calendar year (no trend can be estimated), or the
        year column holds text (the message names its line and value).

    Warns
    -----
    RiskevalWarning
        When some ratings have no year (an empty cell): they are left out of the trend.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import bias
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=4,
    ...                                             n_vignettes=8)
    >>> ratings = rv.simulate(world, seed=2)
    >>> ratings["year"] = 2018 + ratings["case"].str[-1].astype(int) % 3
    >>> trend = bias.inflation_trend(ratings, rating="rating", reference="reference",
    ...                              year="year", case="case", rater="officer", office="office")
    >>> round(float(trend["estimate"]), 2), int(trend["years"]), trend["link"]
    (0.21, 3, 'probit')
    """
    from . import ordinal_mixed

    data, c = columns_of(data, ("rating", "reference", "year", "case", "rater"),
                         rating=rating, reference=reference, year=year, case=case, rater=rater,
                         office=office)
    rating, reference, case, rater, office = (c[k] for k in ("rating", "reference", "case",
                                                             "rater", "office"))
    years = _numbers(data[year], "year", year, "a calendar year (a number)")
    missing = int(years.isna().sum())
    if missing:
        warnings.warn(f"{missing} ratings have no year and are left out of the trend",
                      RiskevalWarning, stacklevel=2)
    if years.nunique() < 2:
        raise RiskevalError(f"column {year!r} holds a single year; a trend over time needs "
                            f"ratings from at least two years")
    _, ref, cats = _levels(data, rating, reference, categories)
    frame = pd.DataFrame({"rating": data[rating].to_numpy(), "ref_level": ref,
                          "year_c": (years - years.mean()).to_numpy(),
                          "case": data[case].to_numpy(), "rater": data[rater].to_numpy()})
    if office is not None:
        frame["office"] = data[office].to_numpy()
    frame = frame[(frame["ref_level"] >= 0) & years.notna().to_numpy()]
    fit = ordinal_mixed(frame, rating="rating", case="case", rater="rater",
                        office="office" if office is not None else None,
                        fixed="C(ref_level) + year_c", link=link, categories=list(cats),
                        confidence=confidence)
    row = fit.fixed_effects.loc["year_c"]
    return SeriesResult({"estimate": row["estimate"], "se": row["se"],
                         "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n": fit.n_obs,
                         "years": int(years.nunique()), "link": link}, name="per year",
                        title=f"Drift of ratings above the evidence per year ({link})")
