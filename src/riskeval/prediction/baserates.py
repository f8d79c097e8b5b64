"""Base rates: where reoffences come from, what "high risk" buys, and what inflation costs.

Practitioners say most serious further offences come from people rated low or medium risk.
That is what base rates predict: a band's share of all events is its share of the population
times its event rate, so a large low/medium band with a small rate can outweigh a small high
band with a large rate. :func:`band_table` shows the shares, :func:`majority_condition` states
when the claim stops being true (the high bands' rate ratio must exceed their population
ratio), :func:`threshold_metrics` gives sensitivity, specificity, PPV and NPV of "high or above"
and how many people must be treated as high to capture one event, and :func:`inflation_cost`
prices a shift of ratings upwards in people, resources and PPV.

Every function takes plain columns (one row per person: their band and their outcome), so it
runs the same on simulated and on real data.

References
----------
Altman, D. G. & Bland, J. M. (1994). Diagnostic tests 2: predictive values. *BMJ* 309, 102.

Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*JASA* 22(158), 209-212.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._core.keyed import Streams, hash_ids
from .._core.params import P, ParamSet, assumption
from .._core.results import SeriesResult, TableResult
from ..data.ratings import RISK_LEVELS, level_codes, parse_categories
from ..errors import RiskevalError
from ._common import _outcome

__all__ = ["OUTCOME_PARAMS", "band_table", "inflation_cost", "majority_condition",
           "plot_base_rates",
           "share_curve", "simulate_outcomes", "threshold_metrics"]

OUTCOME_PARAMS = ParamSet("outcomes", (
    P("serious_rate", 0.01, "prob", "share of supervised people charged with a serious "
      "further offence within the follow-up",
      assumption("sfo-rare", "serious further offences are rare, of the order of 1% of people "
                 "under supervision; not a published figure")),
    P("harm_slope", 0.8, "nonneg", "log-odds of a serious offence per unit of the latent harm "
      "score", assumption("harm-gradient", "chosen so that, as practitioners report "
                          "(CONTEXT.md), most serious further offences (about 60%) come from "
                          "people at low or medium reference levels, while the high levels' "
                          "rate is 2.7 times the others'")),
))


def _wilson(k: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    from .._core.intervals import wilson_interval

    return wilson_interval(k, n, confidence)


def _bands(band: Any, categories: Any, name: str = "band") -> tuple[np.ndarray, tuple]:
    col = band if isinstance(band, pd.Series) else pd.Series(band, name=name)
    cats = parse_categories(categories)
    if cats is None and not isinstance(col.dtype, pd.CategoricalDtype):
        if set(col.dropna().astype(str)) <= set(RISK_LEVELS):
            cats = RISK_LEVELS
    codes, cats = level_codes(col, str(col.name or name), cats)
    if (codes < 0).any():
        i = int(np.flatnonzero(codes < 0)[0])
        raise RiskevalError(f"{name} row {i} is missing; every person needs a band")
    return codes, tuple(cats)


def _binary(y: Any, name: str, n: int) -> np.ndarray:
    return _outcome(y, name, n=n).astype(int)


def band_table(band: Any, outcome: Any, *, serious: Any = None, categories: Any = None,
               resources: Mapping[str, float] | None = None,
               confidence: float = 0.95) -> TableResult:
    """Population, events and their shares by risk band.

    Parameters
    ----------
    band : array-like or Series
        Each person's band (ordered categories, lowest first; the four RoSH levels are
        recognised).
    outcome : array-like of 0/1
        Reoffended (reconvicted) within the follow-up.
    serious : array-like of 0/1, optional
        A serious further offence (a subset of ``outcome`` in practice).
    categories : optional
        The bands, lowest first, when ``band`` is text.
    resources : mapping of band to float, optional
        Resource per person in each band (e.g. contact hours a year, or 1 for an Approved
        Premises bed in the bands that get one); adds ``resources``.

    Returns
    -------
    TableResult
        A DataFrame with one row per band: ``n``, ``population_share``, ``events``, ``rate``
        (with Wilson ``rate_low``/``rate_high``), ``event_share`` (the band's share of all
        events, with a Wilson interval treating the events as the sample), and the same for
        serious events when given. :func:`plot_base_rates` draws it.

    Examples
    --------
    >>> import numpy as np
    >>> band = np.repeat(["low", "medium", "high", "very high"], 50)
    >>> outcome = np.tile([0, 0, 0, 1, 1], 40)
    >>> table = band_table(band, outcome, categories="low,medium,high,very high")
    >>> table["n"].tolist(), round(float(table.loc["high", "event_share"]), 3)
    ([50, 50, 50, 50], 0.25)
    """
    codes, cats = _bands(band, categories)
    y = _binary(outcome, "outcome", len(codes))
    q = len(cats)
    n = np.bincount(codes, minlength=q)
    out = pd.DataFrame({"n": n, "population_share": n / n.sum()}, index=pd.Index(cats,
                                                                                 name="band"))
    cols = [("events", "rate", "event_share", y)]
    if serious is not None:
        cols.append(("serious", "serious_rate", "serious_share",
                     _binary(serious, "serious", len(codes))))
    for events, rate, share, v in cols:
        k = np.bincount(codes, weights=v, minlength=q)
        out[events] = k.astype(int)
        out[rate] = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        out[f"{rate}_low"], out[f"{rate}_high"] = _wilson(k, n, confidence)
        total = k.sum()
        out[share] = k / total if total > 0 else np.nan
        out[f"{share}_low"], out[f"{share}_high"] = _wilson(k, np.full(q, total), confidence)
    if resources is not None:
        unknown = [b for b in resources if b not in cats]
        if unknown:
            raise RiskevalError(f"resources names band {unknown[0]!r}, which is not one of "
                                f"{list(cats)}")
        per = np.array([float(resources.get(b, 0.0)) for b in cats])
        out["resource_per_person"] = per
        out["resources"] = per * n
    return TableResult(out, title="Population and events by risk band")


def threshold_metrics(band: Any, outcome: Any, *, at: str = "high", categories: Any = None,
                      confidence: float = 0.95) -> SeriesResult:
    """Treating bands at or above ``at`` as "high risk": how good a test is that?

    Returns
    -------
    SeriesResult
        A Series: ``sensitivity`` (share of events among people rated high or above),
        ``specificity``, ``ppv``, ``npv``, each with a Wilson interval; ``flagged`` (people
        rated high or above), ``events_captured``; ``number_needed`` -- people who must be
        treated as high risk to capture one event (``1 / ppv``); ``events_missed_share`` -- the
        share of all events among people *not* flagged, the figure behind "most serious
        further offences come from low or medium".

    Examples
    --------
    >>> import numpy as np
    >>> band = np.repeat(["low", "medium", "high", "very high"], 50)
    >>> outcome = np.r_[np.tile([0, 0, 0, 0, 1], 20), np.tile([0, 1], 50)]
    >>> m = threshold_metrics(band, outcome, categories="low,medium,high,very high")
    >>> round(float(m["ppv"]), 3), int(m["flagged"])
    (0.5, 100)
    """
    codes, cats = _bands(band, categories)
    if at not in cats:
        raise RiskevalError(f"at={at!r} is not one of the bands {list(cats)}")
    y = _binary(outcome, "outcome", len(codes)).astype(bool)
    pos = codes >= cats.index(at)
    tp, fp = int((pos & y).sum()), int((pos & ~y).sum())
    fn, tn = int((~pos & y).sum()), int((~pos & ~y).sum())
    out: dict[str, Any] = {"flagged": tp + fp, "events_captured": tp, "events": tp + fn}
    for name, k, m in (("sensitivity", tp, tp + fn), ("specificity", tn, tn + fp),
                       ("ppv", tp, tp + fp), ("npv", tn, tn + fn)):
        lo, hi = _wilson(np.array([k]), np.array([m]), confidence)
        out[name] = k / m if m else math.nan
        out[f"{name}_low"], out[f"{name}_high"] = float(lo[0]), float(hi[0])
    out["number_needed"] = 1 / out["ppv"] if out["ppv"] and out["ppv"] > 0 else math.inf
    out["events_missed_share"] = fn / (tp + fn) if tp + fn else math.nan
    return SeriesResult(out, name=f"{at} or above",
                        title=f'"{at} or above" as a test: sensitivity, specificity, PPV, NPV')


def majority_condition(table: pd.DataFrame, *, at: str = "high",
                       events: str = "serious") -> SeriesResult:
    """When do most events come from the bands at or above ``at``?

    With ``N_h, r_h`` the population and event rate of the high bands and ``N_l, r_l`` those of
    the rest, the high bands contribute most events exactly when ``r_h / r_l > N_l / N_h``: the
    rate ratio must exceed the population ratio. Returns both ratios, the high bands' share of
    events, and the smallest high-band population share at which they would contribute half
    the events with the rates unchanged.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`band_table`.
    events : {"serious", "events"}
        Which events to count (serious ones when the table has them).

    Returns
    -------
    SeriesResult
        A Series: ``rate_high``, ``rate_lower``, ``rate_ratio``, ``population_ratio``,
        ``share_from_high``, ``most_from_high``, ``high_population_share_for_half``,
        ``high_population_share``.

    Examples
    --------
    >>> import numpy as np
    >>> band = np.repeat(["low", "medium", "high", "very high"], 50)
    >>> outcome = np.r_[np.tile([0, 0, 0, 0, 1], 20), np.tile([0, 1], 50)]
    >>> table = band_table(band, outcome, categories="low,medium,high,very high")
    >>> cond = majority_condition(table, events="events")
    >>> round(float(cond["rate_ratio"]), 2), bool(cond["most_from_high"])
    (2.5, True)
    """
    if at not in table.index:
        raise RiskevalError(f"at={at!r} is not one of the bands {list(table.index)}")
    col = events if events in table.columns else "events"
    hi = table.index.get_loc(at)
    n_h, n_l = table["n"].iloc[hi:].sum(), table["n"].iloc[:hi].sum()
    e_h, e_l = table[col].iloc[hi:].sum(), table[col].iloc[:hi].sum()
    if n_h == 0 or n_l == 0 or e_l == 0:
        raise RiskevalError("both the high and the lower bands need people, and the lower "
                            "bands need events, to compare their rates")
    r_h, r_l = e_h / n_h, e_l / n_l
    ratio = r_h / r_l
    return SeriesResult({"rate_high": r_h, "rate_lower": r_l, "rate_ratio": ratio,
                      "population_ratio": n_l / n_h, "share_from_high": e_h / (e_h + e_l),
                      "most_from_high": bool(ratio > n_l / n_h),
                      "high_population_share_for_half": 1 / (1 + ratio),
                      "high_population_share": n_h / (n_h + n_l)}, name=col,
                        title=f"Do most {col} come from {at} or above?")


def inflation_cost(before: Any, after: Any, outcome: Any, *, at: str = "high",
                   categories: Any = None, resources: Mapping[str, float] | None = None,
                   confidence: float = 0.95) -> TableResult:
    """What moving ratings upwards costs, for the same people rated twice.

    ``before`` and ``after`` are each person's band without and with the shift (for example,
    a simulation with defensive inflation switched off and on, under common random numbers).
    Reports, for each, the number flagged at or above ``at``, total resources (``resources``:
    per person in each band), PPV and sensitivity of "high or above", and their changes.

    Returns
    -------
    TableResult
        A DataFrame with rows ``before``, ``after``, ``change``; ``attrs`` holds the numbers of
        people ``moved_up`` and ``moved_down``.

    Examples
    --------
    >>> import numpy as np
    >>> before = np.repeat(["low", "medium", "high", "very high"], 5)
    >>> after = np.repeat(["low", "high", "high", "very high"], 5)
    >>> outcome = np.tile([0, 1], 10)
    >>> cost = inflation_cost(before, after, outcome, categories="low,medium,high,very high")
    >>> int(cost.loc["change", "flagged"]), cost.attrs["moved_up"]
    (5, 5)
    """
    b_codes, cats = _bands(before, categories, "before")
    a_codes, _ = _bands(after, cats, "after")
    if len(b_codes) != len(a_codes):
        raise RiskevalError(f"before has {len(b_codes)} people and after {len(a_codes)}; they "
                            f"must be the same people")
    rows = {}
    for name, codes in (("before", b_codes), ("after", a_codes)):
        m = threshold_metrics(pd.Categorical.from_codes(codes, cats, ordered=True), outcome,
                              at=at, confidence=confidence)
        row = {"flagged": m["flagged"], "ppv": m["ppv"], "sensitivity": m["sensitivity"],
               "number_needed": m["number_needed"]}
        if resources is not None:
            t = band_table(pd.Categorical.from_codes(codes, cats, ordered=True), outcome,
                           resources=resources)
            row["resources"] = float(t["resources"].sum())
        rows[name] = row
    out = TableResult(pd.DataFrame(rows).T, title=f"What inflation costs ({at} or above)")
    out.loc["change"] = out.loc["after"] - out.loc["before"]
    out.attrs["moved_up"] = int((a_codes > b_codes).sum())
    out.attrs["moved_down"] = int((a_codes < b_codes).sum())
    return out


def share_curve(table: pd.DataFrame, *, at: str = "high", events: str = "serious",
                shares: Sequence[float] | None = None) -> TableResult:
    """The high bands' share of events as their population share varies, rates held fixed.

    Parameters
    ----------
    table : DataFrame
        :func:`band_table` output.
    at, events : str
        As for :func:`majority_condition`.
    shares : sequence of float, optional
        The population shares of the high bands to evaluate (default: 199 from 0.001 to
        0.999).

    Returns
    -------
    TableResult
        A DataFrame with columns ``high_population_share`` and ``share_from_high``.

    Examples
    --------
    >>> import numpy as np
    >>> band = np.repeat(["low", "medium", "high", "very high"], 50)
    >>> outcome = np.r_[np.tile([0, 0, 0, 0, 1], 20), np.tile([0, 1], 50)]
    >>> table = band_table(band, outcome, categories="low,medium,high,very high")
    >>> curve = share_curve(table, events="events", shares=[0.1, 0.5])
    >>> curve["share_from_high"].round(3).tolist()
    [0.217, 0.714]
    """
    cond = majority_condition(table, at=at, events=events)
    s = np.linspace(0.001, 0.999, 199) if shares is None else np.asarray(shares, float)
    r_h, r_l = cond["rate_high"], cond["rate_lower"]
    return TableResult({"high_population_share": s,
                        "share_from_high": s * r_h / (s * r_h + (1 - s) * r_l)},
                       title=f"Share of {cond.name} from {at} or above, rates held fixed")


def plot_base_rates(table: pd.DataFrame, ax: Any = None, *, at: str = "high",
                    events: str = "serious") -> Any:
    """Each band's share of the population next to its share of (serious) events, and the
    share of events from the bands at ``at`` or above as their population share varies.

    Parameters
    ----------
    table : DataFrame
        :func:`band_table` output.
    ax : matplotlib Axes, optional
        Draw only the bar panel there; without it a two-panel Figure is made.
    at, events : str
        As for :func:`share_curve`.

    Returns
    -------
    matplotlib Figure (two panels), or the Axes given.

    Examples
    --------
    >>> import numpy as np
    >>> band = np.repeat(["low", "medium", "high", "very high"], 50)
    >>> outcome = np.tile([0, 0, 0, 1, 1], 40)
    >>> table = band_table(band, outcome, serious=outcome,
    ...                    categories="low,medium,high,very high")
    >>> fig = plot_base_rates(table)
    >>> len(fig.axes)
    2
    """
    from .._core.plots import base_rates

    curve = share_curve(table, at=at, events=events) if ax is None else None
    cond = majority_condition(table, at=at, events=events) if ax is None else None
    return base_rates(table, curve, cond, ax=ax, at=at, events=events)


def simulate_outcomes(cases: pd.DataFrame, *, seed: Any = None, **params: Any) -> pd.DataFrame:
    """Draw each simulated case's outcomes from its ground truth.

    ``reconvicted`` is Bernoulli with the case's true two-year probability
    (``p_reconviction`` from :mod:`riskeval.world.vignettes`); ``serious`` (a serious further
    offence) is Bernoulli with ``sigmoid(a + harm_slope * harm_latent)``, ``a`` set so the
    population's mean probability is ``serious_rate``. Both are labelled assumptions
    (:data:`OUTCOME_PARAMS`). Draws are keyed by case identifier.

    Parameters
    ----------
    cases : DataFrame
        Cases with ``case``, ``p_reconviction`` and ``harm_latent``
        (:func:`riskeval.world.vignettes.population`).
    seed : None, int, numpy SeedSequence or Generator, optional
        Seed of the draws (None: fresh entropy; an int gives the same outcomes every time).
    **params
        Values of :data:`OUTCOME_PARAMS` to change (``serious_rate``, ``harm_slope``).

    Returns
    -------
    pandas.DataFrame
        ``case``, ``reconvicted``, ``serious``, ``p_serious``.

    Examples
    --------
    >>> import riskeval as rv
    >>> cases = rv.world.vignettes.population(20, seed=3)
    >>> out = simulate_outcomes(cases, seed=4)
    >>> out.shape, sorted(set(out["reconvicted"]) | set(out["serious"])) <= [0, 1]
    ((20, 4), True)
    """
    from scipy.optimize import brentq
    from scipy.special import expit

    missing = [c for c in ("case", "p_reconviction", "harm_latent") if c not in cases.columns]
    if missing:
        raise RiskevalError(f"cases lack column {missing[0]!r}; pass a table from "
                            f"riskeval.world.vignettes.population (or with its truth columns)")
    p = OUTCOME_PARAMS.updated(params)
    h = cases["harm_latent"].to_numpy(float)
    slope, rate = p["harm_slope"], p["serious_rate"]
    if not 0 < rate < 1:
        raise RiskevalError(f"serious_rate must be strictly between 0 and 1; got {rate}")
    a = brentq(lambda x: float(expit(x + slope * h).mean()) - rate, -50.0, 50.0)
    p_serious = expit(a + slope * h)
    rs = Streams(seed)
    ids = hash_ids(cases["case"].astype(str).to_numpy())
    return pd.DataFrame({
        "case": cases["case"].to_numpy(),
        "reconvicted": (rs.uniform("outcome.reconviction", ids)
                        < cases["p_reconviction"].to_numpy(float)).astype(int),
        "serious": (rs.uniform("outcome.serious", ids) < p_serious).astype(int),
        "p_serious": p_serious})
