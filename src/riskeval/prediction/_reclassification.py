"""Reclassification: two categorisations of the same cases, and the categorical NRI."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._core.results import Result
from ..data.ratings import parse_categories
from ..errors import DegenerateDataWarning, RiskevalError
from ._common import (
    _binary,
    _confidence,
    _fmt,
    _name,
    _ordinal_codes,
)


@dataclass(frozen=True, eq=False)
class NRIResult(Result):
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

    Examples
    --------
    >>> from riskeval.prediction import reclassification
    >>> a = ["low", "low", "medium", "high", "medium", "low", "high", "medium"]
    >>> b = ["low", "medium", "high", "high", "medium", "low", "medium", "low"]
    >>> nri = reclassification(a, b, [0, 1, 1, 1, 0, 0, 0, 0]).nri
    >>> round(nri.nri, 3), nri.to_frame().shape
    (1.067, (1, 9))
    """

    title: ClassVar[str] = "Net reclassification improvement"

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

    @property
    def estimate(self) -> float:
        """The NRI (the headline number)."""
        return self.nri

    def to_frame(self) -> pd.DataFrame:
        """One row: nri, its two components, se, z, p_value, ci_low, ci_high, se_multinomial."""
        return pd.DataFrame([{
            "nri": self.nri, "nri_events": self.nri_events,
            "nri_nonevents": self.nri_nonevents, "se": self.se, "z": self.z,
            "p_value": self.p_value, "ci_low": self.ci[0], "ci_high": self.ci[1],
            "se_multinomial": self.se_multinomial,
        }], index=pd.Index(["NRI"], name="statistic"))

    def summary(self) -> str:
        """One line of plain text."""
        return (f"NRI {_fmt(self.nri)} (events {_fmt(self.nri_events)}, non-events "
                f"{_fmt(self.nri_nonevents)}); SE {_fmt(self.se)}, "
                f"{100 * self.confidence:g}% CI {_fmt(self.ci[0])} to {_fmt(self.ci[1])}, "
                f"z = {_fmt(self.z, 2)}, p = {self.p_value:.3g}")

    def __repr__(self) -> str:
        return (f"<NRI = {_fmt(self.nri)} (events {_fmt(self.nri_events)}, non-events "
                f"{_fmt(self.nri_nonevents)}), z = {_fmt(self.z, 2)}, p = {self.p_value:.3g}>")


@dataclass(frozen=True, eq=False)
class ReclassificationResult(Result):
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

    Examples
    --------
    >>> from riskeval.prediction import reclassification
    >>> a = ["low", "low", "medium", "high", "medium", "low", "high", "medium"]
    >>> b = ["low", "medium", "high", "high", "medium", "low", "medium", "low"]
    >>> res = reclassification(a, b)
    >>> int(res.to_frame().loc["total", "total"]), round(res.agreement, 3)
    (8, 0.5)
    """

    title: ClassVar[str] = "Reclassification table"

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

    def plot(self, ax: Any = None) -> Any:
        """The cross-table as a heatmap of counts, the cells where ``a`` and ``b`` agree outlined.

        Returns the matplotlib Figure, or the Axes when ``ax`` is given.
        """
        from ._plots import reclassification_table

        return reclassification_table(self, ax)

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

    Examples
    --------
    >>> from riskeval.prediction import reclassification
    >>> a = ["low", "low", "medium", "high", "medium", "low", "high", "medium"]
    >>> b = ["low", "medium", "high", "high", "medium", "low", "medium", "low"]
    >>> res = reclassification(a, b, [0, 1, 1, 1, 0, 0, 0, 0], names=("officer", "score"))
    >>> res.table.shape, round(res.nri.nri_events, 3), round(res.nri.nri_nonevents, 3)
    ((5, 5), 0.667, 0.4)
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
