"""Clinical judgement against the actuarial score, on the same simulated cases.

Officers say they decide by clinical judgement rather than by the static actuarial score. In a
simulated world both are known for every case, together with the case's outcome (drawn from its
true probability by :func:`riskeval.prediction.baserates.simulate_outcomes`), so their
discrimination and calibration can be compared (:func:`judgement_accuracy`). What each
mechanism of the simulated world does to them is a study:
:func:`riskeval.studies.mechanism_accuracy`.

Discrimination is the AUC for the outcome: for the actuarial score over cases (DeLong
interval), for the officers' levels as the mean of each officer's own AUC over the cases they
rated (an interval from the spread between officers), since one officer's ratings of many cases
are the unit a service would audit. Calibration of a judgement on four levels is shown by the
outcome rate within each level and by the positive predictive value of "high or above".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .._core.results import TableResult
from ..data.ratings import Ratings, columns_of
from ..errors import RiskevalError
from ._discrimination import auc
from .baserates import threshold_metrics

__all__ = ["judgement_accuracy"]


def _officer_aucs(frame: pd.DataFrame, rater: str, score: str, y: str) -> np.ndarray:
    from sklearn.metrics import roc_auc_score

    out = []
    for _, g in frame.groupby(rater, sort=False, observed=True):
        if g[y].nunique() == 2 and g[score].nunique() > 1:
            out.append(roc_auc_score(g[y], g[score]))
        elif g[y].nunique() == 2:
            out.append(0.5)   # one level for everyone: no discrimination
    return np.asarray(out)


def judgement_accuracy(ratings: pd.DataFrame | Ratings, cases: pd.DataFrame,
                       outcomes: pd.DataFrame, *, outcome: str = "reconvicted",
                       rating: str | None = None, rater: str | None = None,
                       case: str | None = None,
                       actuarial: str = "actuarial_p", at: str = "high",
                       confidence: float = 0.95) -> TableResult:
    """Discrimination and calibration of officers' levels and of the actuarial score.

    Parameters
    ----------
    ratings : DataFrame or riskeval.Ratings
        One row per rating (e.g. from :func:`riskeval.simulate`), levels as an ordered
        categorical. The columns ``rating``, ``rater`` and ``case`` default to the roles of
        :class:`riskeval.Ratings`, and for a DataFrame to ``"rating"``, ``"officer"`` and
        ``"case"`` (the columns :func:`riskeval.simulate` writes); ``case`` also names the
        case column of ``cases`` and ``outcomes``.
    cases : DataFrame
        The cases with the actuarial probability (``actuarial``).
    outcomes : DataFrame
        Per case: the 0/1 ``outcome`` column
        (:func:`riskeval.prediction.baserates.simulate_outcomes`).

    Returns
    -------
    TableResult
        A DataFrame with rows ``actuarial score`` and ``officers' levels``: ``auc``,
        ``auc_low``, ``auc_high`` (officers: the mean of officers' AUCs with a t interval
        across officers), ``ppv`` and ``flagged_share`` of "``at`` or above" (the actuarial
        score is banded at the same share of cases flagged, so the two are compared at equal
        workload).

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.prediction.baserates import simulate_outcomes
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=12)
    >>> ratings = rv.simulate(world, seed=1)
    >>> outcomes = simulate_outcomes(world.vignettes, seed=2)
    >>> acc = judgement_accuracy(ratings, world.vignettes, outcomes)
    >>> acc["auc"].round(3).tolist(), acc["n"].tolist()
    ([0.771, 0.657], [12, 6])
    """
    if not isinstance(ratings, Ratings):  # the columns riskeval.simulate writes
        case, rater, rating = case or "case", rater or "officer", rating or "rating"
    ratings, c = columns_of(ratings, ("case", "rater", "rating"), case=case, rater=rater,
                            rating=rating)
    case, rater, rating = c["case"], c["rater"], c["rating"]
    for name, frame, cols in (("ratings", ratings, (case, rater, rating)),
                              ("cases", cases, (case, actuarial)),
                              ("outcomes", outcomes, (case, outcome))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise RiskevalError(f"{name} lack column {missing[0]!r}")
    y_case = outcomes.set_index(case)[outcome]
    act = cases.set_index(case)[actuarial]
    joined = ratings[[case, rater, rating]].assign(
        __y__=y_case.reindex(ratings[case]).to_numpy(),
        __score__=ratings[rating].cat.codes.to_numpy() if isinstance(
            ratings[rating].dtype, pd.CategoricalDtype) else pd.to_numeric(ratings[rating]))
    if joined["__y__"].isna().any():
        raise RiskevalError("some rated cases have no outcome; outcomes must cover every case")
    common = act.index.intersection(y_case.index)
    a = auc(y_case.loc[common].to_numpy(), act.loc[common].to_numpy(), confidence=confidence)
    per = _officer_aucs(joined, rater, "__score__", "__y__")
    if len(per) < 2:
        raise RiskevalError("need at least two officers who rated cases with both outcomes")
    t = stats.t.ppf(0.5 + confidence / 2, len(per) - 1)
    se = per.std(ddof=1) / math.sqrt(len(per))
    m = threshold_metrics(ratings[rating], joined["__y__"].astype(int), at=at)
    flagged_share = m["flagged"] / len(joined)
    cut = np.quantile(act.loc[common], 1 - flagged_share) if flagged_share > 0 else np.inf
    act_pos = act.loc[common].to_numpy() >= cut
    y_c = y_case.loc[common].to_numpy().astype(bool)
    ppv_act = float(y_c[act_pos].mean()) if act_pos.any() else math.nan
    return TableResult({
        "auc": [a.estimate, float(per.mean())],
        "auc_low": [a.ci[0], float(per.mean() - t * se)],
        "auc_high": [a.ci[1], float(per.mean() + t * se)],
        "ppv": [ppv_act, m["ppv"]],
        "flagged_share": [float(act_pos.mean()), flagged_share],
        "n": [len(common), len(per)]},
        index=["actuarial score", "officers' levels"],
        title="Officers' levels against the actuarial score")
