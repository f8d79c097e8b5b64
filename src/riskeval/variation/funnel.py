"""Funnel plots: comparing offices' rates against a common target without league tables.

Each office (or any other unit) is a point: its rate -- for example the share of ratings
that are high or very high -- against the number of ratings behind it. Control limits around
the target form a funnel that narrows as the number of ratings grows, so a small office is
not flagged for a rate that chance alone could produce, and a large one is not excused
(Spiegelhalter 2005a).

* :func:`control_limits` -- exact binomial limits for a proportion, with Spiegelhalter's
  interpolation between the attainable values, at any number of ratings.
* :func:`funnel` -- per group: ratings, events, rate, z-score, the limits at its size and
  whether it falls outside them; the over-dispersion factor ``phi`` with a chi-square test,
  and optionally limits widened by ``phi`` (Spiegelhalter 2005b).

Reading a funnel plot: about 5% of groups that truly sit at the target fall outside the 95%
limits by chance, and 0.2% outside the 99.8% limits. When many more fall outside, either the
groups really differ or the ratings vary more than the binomial allows (over-dispersion:
ratings by the same officer are alike, case mixes differ). ``phi`` measures the latter; a
large ``phi`` is itself a finding, and ``overdispersion=True`` asks which groups stand out
*beyond* that common extra variation.

The limits assume a common target for all groups: a group whose cases are riskier will
legitimately have a higher share. Compare like with like (a reference level, vignettes rated
by every office) or read the plot as a description rather than a verdict.

References
----------
Spiegelhalter, D. J. (2005a). Funnel plots for comparing institutional performance.
*Statistics in Medicine* 24(8), 1185-1202. https://doi.org/10.1002/sim.1970

Spiegelhalter, D. J. (2005b). Handling over-dispersion of performance indicators. *Quality and
Safety in Health Care* 14(5), 347-351. https://doi.org/10.1136/qshc.2005.013755

Kish, L. (1965). *Survey Sampling*. New York: Wiley (design effect of cluster sampling).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import SHOWN, check_binary, check_columns, name_lines, plain_value
from .._core.results import Result, TableResult
from ..errors import RiskevalError, RiskevalTypeError

__all__ = ["FunnelResult", "control_limits", "funnel"]



# ----------------------------------------------------------------------------- validation

def _check_target(target: Any) -> float:
    try:
        t = float(target)
    except (TypeError, ValueError):
        raise RiskevalError(
            f"target must be a proportion strictly between 0 and 1; got {target!r}"
        ) from None
    if not (0.0 < t < 1.0):
        raise RiskevalError(
            f"target must be a proportion strictly between 0 and 1; got {plain_value(target)!r}"
        )
    return t


def _check_levels(levels: Any) -> tuple[float, ...]:
    if isinstance(levels, numbers.Real):
        levels = (levels,)
    try:
        out = tuple(float(x) for x in levels)
    except (TypeError, ValueError):
        raise RiskevalError(
            f"confidence must be coverage probabilities between 0 and 1, e.g. (0.95, 0.998); "
            f"got {levels!r}"
        ) from None
    if not out:
        raise RiskevalError("confidence is empty; expected at least one level, e.g. (0.95, 0.998)")
    bad = [x for x in out if not (0.0 < x < 1.0)]
    if bad:
        raise RiskevalError(
            f"confidence levels must lie strictly between 0 and 1 (0.95 for 95% limits); got "
            f"{bad[0]!r}"
        )
    out = tuple(sorted(set(out)))
    names = [_level_name(x) for x in out]
    if len(set(names)) != len(names):
        raise RiskevalError(
            f"confidence levels {out!r} are too close to be told apart in column names "
            f"({names!r}); expected distinct levels such as (0.95, 0.998)"
        )
    return out


def _level_name(level: float) -> str:
    """``0.95`` -> ``"95"``, ``0.998`` -> ``"99.8"`` (the suffix of the limit columns)."""
    return f"{100 * level:g}"


def _check_n(n: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(n))
    if arr.ndim != 1:
        raise RiskevalError(f"n must be a number or a one-dimensional list; got shape {arr.shape}")
    if arr.size == 0:
        raise RiskevalError("n is empty; expected at least one number of ratings")
    try:
        if arr.dtype.kind in "bUSV":
            raise TypeError
        num = arr.astype(float)
    except (TypeError, ValueError):
        bad = next(x for x in arr if isinstance(x, bool | str | bytes)
                   or not isinstance(x, numbers.Real))
        raise RiskevalError(
            f"n must hold positive whole numbers (numbers of ratings); got {plain_value(bad)!r}"
        ) from None
    bad = ~np.isfinite(num) | (num < 1) | (num != np.round(num))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise RiskevalError(
            f"n must hold positive whole numbers (numbers of ratings); got "
            f"{plain_value(arr[i])!r} at position {i}"
        )
    return num.astype(np.int64)


# ----------------------------------------------------------------------------- limits

def _exact(target: float, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Interpolated exact binomial limits (Spiegelhalter 2005a, appendix)."""
    q_low = (1.0 - level) / 2.0
    out = []
    for q in (q_low, 1.0 - q_low):
        r = stats.binom.ppf(q, n, target)
        f_r = stats.binom.cdf(r, n, target)
        f_below = stats.binom.cdf(r - 1, n, target)
        alpha = (f_r - q) / (f_r - f_below)
        out.append(np.clip((r - alpha) / n, 0.0, 1.0))
    return out[0], out[1]


def _normal(target: float, n: np.ndarray, level: float,
            phi: float) -> tuple[np.ndarray, np.ndarray]:
    """Normal-approximation limits with the binomial variance inflated by ``phi``."""
    z = stats.norm.ppf(1.0 - (1.0 - level) / 2.0)
    half = z * np.sqrt(phi * target * (1.0 - target) / np.asarray(n, float))
    return np.clip(target - half, 0.0, 1.0), np.clip(target + half, 0.0, 1.0)


def _limit_columns(target: float, n: np.ndarray, levels: tuple[float, ...],
                   phi: float | None) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for level in levels:
        if phi is None:
            low, high = _exact(target, n, level)
        else:
            low, high = _normal(target, n, level, phi)
        name = _level_name(level)
        cols[f"low_{name}"] = low
        cols[f"high_{name}"] = high
    return cols


def control_limits(target: float, n: Any, confidence: Sequence[float] = (0.95, 0.998)
                   ) -> TableResult:
    """Exact binomial funnel limits for a proportion, interpolated between attainable values.

    For a group of ``n`` ratings each positive with probability ``target``, the limit for the
    tail probability ``q`` (``(1 - level)/2`` below, ``1 - (1 - level)/2`` above) is found from
    the binomial quantile ``r = F^{-1}(q)`` (the smallest count with ``F(r) >= q``) and

    ``alpha = (F(r) - q) / (F(r) - F(r - 1))``,   ``limit = (r - alpha) / n``,

    that is, by linear interpolation of the binomial distribution function between the
    whole counts ``r - 1`` and ``r`` (Spiegelhalter 2005a, appendix). The interpolation
    gives smooth funnels and limits whose coverage is close to ``level`` at every ``n``,
    where the raw quantiles jump. Limits are clipped to ``[0, 1]``: for small ``n`` and a
    target near 0 or 1 the lower limit is 0 (or the upper 1) because no count there is
    surprising. At the other extreme, when even a count of 0 covers the upper tail
    (``(1 - target)^n >= 1 - q``, e.g. ``n = 1`` and ``target = 0.01``), the interpolation
    puts the upper limit below 0, so it is 0 -- below the target -- and any event in so
    small a group falls outside. (The lower limit has no such case: the interpolation starts
    from ``F(-1) = 0``.)

    Parameters
    ----------
    target : float
        The target proportion, strictly between 0 and 1.
    n : int or array-like of int
        Numbers of ratings (positive whole numbers).
    confidence : float or sequence of float, default ``(0.95, 0.998)``
        Two-sided coverage of the limits (0.95 and 0.998 are the conventional "2 and 3 standard
        deviation" limits of Spiegelhalter 2005a).

    Returns
    -------
    TableResult
        A DataFrame with one row per ``n``: ``n``, then ``low_<L>`` and ``high_<L>`` for each
        level, with ``<L>`` the level in percent formatted with ``:g`` (``low_95``,
        ``high_95``, ``low_99.8``, ``high_99.8``), levels in increasing order.

    Raises
    ------
    RiskevalError
        If ``target`` is not strictly between 0 and 1, a level is not strictly between 0 and 1,
        or ``n`` holds anything but positive whole numbers.

    References
    ----------
    Spiegelhalter (2005a).

    Examples
    --------
    >>> control_limits(0.3, [10, 100]).round(3)
         n  low_95  high_95  low_99.8  high_99.8
    0   10   0.000    0.561      0.00      0.741
    1  100   0.207    0.387      0.16      0.442
    """
    t = _check_target(target)
    lv = _check_levels(confidence)
    nn = _check_n(n)
    return TableResult({"n": nn, **_limit_columns(t, nn, lv, None)},
                       title=f"Funnel control limits around {t:g}")


# ----------------------------------------------------------------------------- result

@dataclass(frozen=True, eq=False)
class FunnelResult(Result):
    """Funnel-plot statistics for a set of groups (see :func:`funnel`).

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by group: ``n`` (ratings), ``events``, ``rate``, ``z``; with ``cluster=``
        also ``deff`` (design effect) and ``n_eff`` (``n / deff``); the limits at the group's
        size, ``low_<L>`` / ``high_<L>`` per level; ``outside_<L>`` flags; ``direction``
        (``"above"``, ``"below"`` or ``"within"`` the narrowest limits); and, when the limits
        were widened for over-dispersion, ``z_adjusted`` (``z / sqrt(phi)``).
    target : float
        The target proportion the limits are drawn around.
    phi : float
        Over-dispersion factor used to widen the limits: the mean of the squared z-scores,
        winsorised at their 10th and 90th percentiles when there are at least 10 groups
        (Spiegelhalter 2005b). Winsorising makes it robust to a few outlying groups but also
        shrinks it: with 10 or more groups that differ by binomial chance only it averages
        about 0.7, not 1 (see :func:`funnel`).
    phi_raw : float
        The mean of the squared z-scores without winsorising (Pearson's dispersion): about 1
        when the groups differ by binomial chance only.
    phi_pvalue : float
        P-value of the test of no over-dispersion: ``n_groups * phi_raw`` against a chi-square
        on ``n_groups - 1`` degrees of freedom.
    levels : tuple of float
        Coverage of the limits, increasing.
    outside : list
        Groups outside the widest limits, in table order.
    widened : bool
        Whether the limits were widened by ``phi`` (``overdispersion=True`` and ``phi > 1``).
    target_source : str
        ``"overall"`` (the pooled proportion) or ``"given"``.
    group : str
        Name of the group column (used in labels and the summary).
    cluster_icc : float or None
        With ``cluster=``, the estimated intra-cluster correlation behind the design effects.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation.funnel import funnel
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> ratings = rv.simulate(world, seed=1)
    >>> ratings["high"] = ratings["rating"].isin(["high", "very high"])
    >>> res = funnel(ratings, group="office", outcome="high")
    >>> res.to_frame()[["n", "events"]].to_numpy().tolist(), round(res.target, 3)
    ([[18, 9], [18, 15], [18, 10]], 0.63)
    >>> res.summary().split(";")[0]
    '3 office groups, target 0.630 (overall)'
    """

    title: ClassVar[str] = "Funnel plot"

    table: pd.DataFrame
    target: float
    phi: float
    phi_raw: float
    phi_pvalue: float
    levels: tuple[float, ...]
    outside: list
    widened: bool = False
    target_source: str = "overall"
    group: str = "group"
    cluster_icc: float | None = None

    @property
    def n_groups(self) -> int:
        return len(self.table)

    @property
    def x(self) -> str:
        """The table column plotted on the horizontal axis (``n``, or ``n_eff`` with clusters)."""
        return "n_eff" if "n_eff" in self.table.columns else "n"

    def curve(self, n_max: float | None = None, points: int = 200) -> pd.DataFrame:
        """The control limits along the number of ratings, for drawing the funnel.

        Parameters
        ----------
        n_max : float, optional
            Largest number of ratings (default: 5% beyond the largest group, on the plotted
            scale -- the effective number of ratings when the result was clustered).
        points : int, default 200
            Roughly how many values of ``n``; they are whole numbers from 1 to ``n_max``, spaced
            evenly and, for the quickly changing start of the funnel, geometrically, so the
            table may hold fewer rows after duplicates are dropped.

        Returns
        -------
        pandas.DataFrame
            ``n`` and the limit columns, computed as in the table (exact binomial, or the
            widened normal approximation when :attr:`widened`).
        """
        if n_max is None:
            n_max = max(2.0, math.ceil(1.05 * float(self.table[self.x].max())))
        if not isinstance(points, numbers.Integral) or points < 2:
            raise RiskevalError(f"points must be a whole number of at least 2; got {points!r}")
        try:
            top = float(n_max)
        except (TypeError, ValueError):
            raise RiskevalError(f"n_max must be a number of ratings >= 1; got {n_max!r}") from None
        if not (np.isfinite(top) and top >= 1):
            raise RiskevalError(f"n_max must be a number of ratings >= 1; got {n_max!r}")
        half = points // 2
        grid = np.concatenate([np.geomspace(1.0, top, half), np.linspace(1.0, top, points - half)])
        n = np.unique(np.clip(np.rint(grid), 1, max(1, math.floor(top)))).astype(np.int64)
        phi = self.phi if self.widened else None
        return pd.DataFrame({"n": n, **_limit_columns(self.target, n, self.levels, phi)})

    def summary(self) -> str:
        """One line: groups, target, who is outside the widest limits, and over-dispersion."""
        widest = _level_name(self.levels[-1])
        if self.outside:
            shown = ", ".join(
                f"{g} ({self.table.at[g, 'direction']})" for g in self.outside[:SHOWN]
            ) + (" ..." if len(self.outside) > SHOWN else "")
            out = f"{len(self.outside)} outside the {widest}% limits: {shown}"
        else:
            out = f"none outside the {widest}% limits"
        adj = ("limits widened for over-dispersion" if self.widened
               else "limits not adjusted for over-dispersion")
        return (f"{self.n_groups} {self.group} groups, target {self.target:.3f} "
                f"({self.target_source}); {out}; phi = {self.phi:.2f} (winsorised; unwinsorised "
                f"{self.phi_raw:.2f}, chi2 = {self.n_groups * self.phi_raw:.1f} on "
                f"{self.n_groups - 1} df, p = {self.phi_pvalue:.3g}); {adj}")

    def plot(self, ax: Any = None, ylabel: str = "share of ratings") -> Any:
        """Draw the funnel (see :func:`riskeval._core.plots.funnel`).

        Returns the matplotlib Figure, or the Axes when ``ax`` is given.
        """
        from .._core import plots

        return plots.funnel(self, ax, ylabel=ylabel)

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return f"<p>{self.summary()}</p>" + self.table._repr_html_()


# ----------------------------------------------------------------------------- funnel

def _outcome_values(col: pd.Series, name: str) -> np.ndarray:
    """A boolean / 0-1 column as floats (NaN where missing), checked by
    :func:`riskeval._core.checks.check_binary`; anything else is an error naming the value and
    the row."""
    what = f"the outcome column {name!r}"
    try:
        try:
            return check_binary(col, what, missing="keep")
        except RiskevalError:  # again on Python scalars, so the message reads 2, not np.int64(2)
            plain = col.astype(object).set_axis(col.index.astype(object))
            return check_binary(plain, what, missing="keep")
    except RiskevalError as err:
        raise RiskevalError(f"{err}. Derive it first, e.g. data['high'] = "
                            "data['rating'].isin(['high', 'very high'])") from None


def _winsorised_phi(z: np.ndarray) -> float:
    """Mean squared z-score, winsorised at the 10th/90th percentiles when >= 10 groups."""
    if z.size >= 10:
        lo, hi = np.percentile(z, [10, 90])
        z = np.clip(z, lo, hi)
    return float(np.mean(z ** 2))


def _design_effects(gcode: np.ndarray, ccode: np.ndarray, y: np.ndarray, n_groups: int
                    ) -> tuple[np.ndarray, float]:
    """Kish design effects per group from a nested one-way ANOVA estimate of the ICC.

    ``gcode`` are group codes, ``ccode`` codes of (group, cluster) pairs. Returns the design
    effect per group, ``1 + rho * (sum(m_c^2) / n_g - 1)``, and ``rho`` (NaN when every
    cluster has a single rating, in which case all design effects are 1).
    """
    n_clusters = int(ccode.max()) + 1
    m = np.bincount(ccode, minlength=n_clusters).astype(float)
    e = np.bincount(ccode, weights=y, minlength=n_clusters)
    c_group = np.zeros(n_clusters, dtype=np.int64)
    c_group[ccode] = gcode
    n_g = np.bincount(gcode, minlength=n_groups).astype(float)
    e_g = np.bincount(gcode, weights=y, minlength=n_groups)
    sum_m2 = np.bincount(c_group, weights=m ** 2, minlength=n_groups)
    total = float(m.sum())
    df_between = n_clusters - n_groups
    df_within = total - n_clusters
    if df_within <= 0:
        return np.ones(n_groups), float("nan")
    ss_within = float(np.sum(e - e ** 2 / m))
    ss_between = float(np.sum(e ** 2 / m) - np.sum(e_g ** 2 / n_g))
    ms_within = ss_within / df_within
    ms_between = ss_between / df_between
    n0 = (total - float(np.sum(sum_m2 / n_g))) / df_between
    var_between = (ms_between - ms_within) / n0
    denom = var_between + ms_within
    rho = 0.0 if denom <= 0 else max(0.0, var_between / denom)
    return 1.0 + rho * (sum_m2 / n_g - 1.0), rho


def _pair_codes(gcode: np.ndarray, clusters: pd.Series, keep: np.ndarray) -> np.ndarray:
    """Codes of the (group, cluster) pairs of the kept rows, numbered in order of first
    appearance (as factorizing the pairs would number them), from integer codes: the
    cluster's code within the column, combined with the group's code into one integer."""
    if isinstance(clusters.dtype, pd.CategoricalDtype):
        ccl = clusters.cat.codes.to_numpy().astype(np.int64)[keep]
    else:
        ccl = pd.factorize(clusters)[0].astype(np.int64)[keep]
    width = int(ccl.max()) + 1 if ccl.size else 1
    return pd.factorize(gcode.astype(np.int64) * width + ccl)[0].astype(np.int64)


def funnel(data: pd.DataFrame, *, group: str, outcome: str, target: float | None = None,
           confidence: Sequence[float] = (0.95, 0.998), overdispersion: bool = False,
           cluster: str | None = None) -> FunnelResult:
    """Funnel-plot statistics: which groups' rates differ from the target beyond chance.

    For each group (office) with ``n`` ratings of which ``events`` are positive, the rate
    ``events / n`` is compared with exact binomial limits at its ``n`` (see
    :func:`control_limits`) and summarised by the z-score
    ``(rate - target) / sqrt(target (1 - target) / n)``.

    Over-dispersion (Spiegelhalter 2005a, 2005b): ``phi`` is the mean of the
    squared z-scores, winsorised at their 10th and 90th percentiles when there are at least
    10 groups (the lowest z-scores are set to the 10th percentile and the highest to the
    90th, so that a few true outliers do not inflate it; with fewer groups no winsorising is
    done). Winsorising also shrinks ``phi`` when nothing is wrong: for z-scores that are
    standard normal its expectation is ``0.8 - 2 c pdf(c) + 0.2 c^2 = 0.68`` with ``c`` the
    90th normal percentile (about 0.70 for 20 groups), so widening only starts once the
    spread is clearly beyond the binomial -- the published recipe, kept as is so results
    match other implementations. ``phi_raw``, the unwinsorised mean of ``z^2``, is about 1
    under the binomial, and the test of over-dispersion, ``phi_pvalue``, refers
    ``n_groups * phi_raw`` to a chi-square on ``n_groups - 1`` degrees of freedom (the
    target is estimated). The test uses the unwinsorised statistic because the winsorised
    one is far from chi-square: referred to the same distribution it almost never rejects
    (simulated size 0.4% instead of 5% with 25 groups). With
    ``overdispersion=True`` and ``phi > 1`` the limits become
    ``target +/- z_q sqrt(phi * target (1 - target) / n)`` -- a *normal approximation*
    (the exact binomial limits have no over-dispersed analogue), less accurate for small
    ``n`` or a target near 0 or 1. With ``phi <= 1`` the exact limits are kept.

    Clustering (``cluster=``, e.g. the officer): ratings by the same officer are more alike
    than ratings by different officers, so an office's rate varies more than the binomial
    says. The intra-cluster correlation ``rho`` is estimated by a one-way ANOVA of the outcome
    on clusters nested in groups, and each group's ratings are discounted by the Kish design
    effect ``deff = 1 + rho (sum(m_c^2) / n - 1)`` (``m_c``: the group's cluster sizes), giving
    ``n_eff = n / deff``. The z-score then uses ``n_eff``, and the limits are the exact
    binomial limits at ``n_eff`` rounded to a whole number (an approximation: the clustered
    count is not binomial). Groups are plotted against ``n_eff``. A cluster is taken within
    its group (an officer who rated in two offices counts as two clusters). ``phi`` is then
    the over-dispersion left after clustering.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per rating.
    group : str
        The unit compared (office, officer, cohort...).
    outcome : str
        Boolean or 0/1 column, 1 for the event (e.g. "rated high or very high"). Rows with a
        missing outcome are left out.
    target : float, optional
        The proportion the groups are compared with (default: the overall proportion of all
        ratings). Strictly between 0 and 1.
    confidence : float or sequence of float, default ``(0.95, 0.998)``
        Coverage of the limits.
    overdispersion : bool, default False
        Widen the limits by ``phi`` when ``phi > 1``.
    cluster : str, optional
        Column of clusters within groups (e.g. the officer) for a design-effect correction.

    Returns
    -------
    FunnelResult
        ``table`` per group (see :class:`FunnelResult`), ``target``, ``phi``, ``phi_raw``,
        ``phi_pvalue``, ``outside`` (groups outside the widest limits), and ``curve()`` /
        ``plot()``.

    Raises
    ------
    RiskevalError
        If a column is missing; the outcome holds anything but booleans / 0 / 1 (the value and
        row are named); a group or cluster is missing; a group has no rating with an outcome;
        there are fewer than two groups; the target is not strictly between 0 and 1 (also
        when every rating has, or none has, the event); or ``cluster=`` gives each group a
        single cluster.

    References
    ----------
    Spiegelhalter (2005a, 2005b); Kish (1965) for the design effect.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation.funnel import funnel
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> ratings = rv.simulate(world, seed=1)
    >>> ratings["high"] = ratings["rating"].isin(["high", "very high"])
    >>> res = funnel(ratings, group="office", outcome="high")
    >>> res.outside, round(res.phi_raw, 3)
    ([], 1.641)
    >>> fig = res.plot()  # the funnel, with the offices as points
    >>> type(fig).__name__
    'Figure'
    """
    if not isinstance(data, pd.DataFrame):
        raise RiskevalTypeError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    check_columns(data, {"group": group, "outcome": outcome, "cluster": cluster})
    lv = _check_levels(confidence)
    y_all = _outcome_values(data[outcome], outcome)

    gcol = data[group]
    no_group = gcol.isna().to_numpy()
    if no_group.any():
        raise RiskevalError(
            f"the group column {group!r} is empty on {name_lines(data.index[no_group])}; "
            "every rating needs its group (drop those rows or give them a group)"
        )
    if cluster is not None:
        no_cluster = data[cluster].isna().to_numpy()
        if no_cluster.any():
            raise RiskevalError(
                f"the cluster column {cluster!r} is empty on {name_lines(data.index[no_cluster])}; "
                "every rating needs its cluster (e.g. the officer)"
            )

    if isinstance(gcol.dtype, pd.CategoricalDtype):
        names = list(gcol.cat.categories)
        gcode_all = gcol.cat.codes.to_numpy().astype(np.int64)
    else:
        gcode_all, uniq = pd.factorize(gcol, sort=True)
        names = list(uniq)
    n_groups = len(names)
    keep = ~np.isnan(y_all)
    y = y_all[keep]
    gcode = gcode_all[keep]
    n = np.bincount(gcode, minlength=n_groups).astype(np.int64)
    events = np.bincount(gcode, weights=y, minlength=n_groups)

    empty = [names[i] for i in np.flatnonzero(n == 0)]
    if empty:
        raise RiskevalError(
            f"group(s) {[plain_value(g) for g in empty[:SHOWN]]!r} of {group!r} have no "
            f"rating with an outcome in {outcome!r} (n = 0); every group needs at least one "
            f"rating. Drop "
            "unused categories (series.cat.remove_unused_categories()) or those groups"
        )
    if n_groups < 2:
        raise RiskevalError(
            f"the group column {group!r} has {n_groups} group(s) "
            f"({[plain_value(g) for g in names]!r}); a funnel plot compares at least 2 groups"
        )

    if target is None:
        pooled = float(events.sum() / n.sum())
        if not (0.0 < pooled < 1.0):
            raise RiskevalError(
                f"every rating in {outcome!r} is {int(pooled)}, so the overall proportion is "
                f"{pooled:g}; the target must be strictly between 0 and 1 (pass target=)"
            )
        t, source = pooled, "overall"
    else:
        t, source = _check_target(target), "given"

    rate = events / n
    cols: dict[str, Any] = {"n": n, "events": events.round().astype(np.int64), "rate": rate}
    size = n.astype(float)
    icc = None
    if cluster is not None:
        ccode = _pair_codes(gcode, data[cluster], keep)
        if int(ccode.max()) + 1 <= n_groups:
            raise RiskevalError(
                f"the cluster column {cluster!r} has a single cluster in every {group!r} group; "
                "the clustering within groups cannot be estimated (expected several clusters, "
                "e.g. officers, in at least one group)"
            )
        deff, icc = _design_effects(gcode, ccode, y, n_groups)
        size = n / deff
        cols["deff"] = deff
        cols["n_eff"] = size
    z = (rate - t) / np.sqrt(t * (1.0 - t) / size)
    cols["z"] = z

    phi = _winsorised_phi(z)
    phi_raw = float(np.mean(z ** 2))
    phi_pvalue = float(stats.chi2.sf(n_groups * phi_raw, n_groups - 1))
    widened = bool(overdispersion and phi > 1.0)
    n_lim = np.maximum(1, np.rint(size)).astype(np.int64)
    limits = _limit_columns(t, n_lim, lv, phi if widened else None)
    cols.update(limits)
    for level in lv:
        name = _level_name(level)
        cols[f"outside_{name}"] = (rate < limits[f"low_{name}"]) | (rate > limits[f"high_{name}"])
    narrow = _level_name(lv[0])
    cols["direction"] = np.where(rate > limits[f"high_{narrow}"], "above",
                                 np.where(rate < limits[f"low_{narrow}"], "below", "within"))
    if widened:
        cols["z_adjusted"] = z / math.sqrt(phi)
    index = pd.Index([plain_value(g) for g in names], name=group)
    table = pd.DataFrame(cols, index=index)
    widest = table[f"outside_{_level_name(lv[-1])}"]
    return FunnelResult(
        table=table, target=t, phi=phi, phi_raw=phi_raw, phi_pvalue=phi_pvalue, levels=lv,
        outside=list(table.index[widest.to_numpy()]), widened=widened, target_source=source,
        group=group, cluster_icc=icc,
    )
