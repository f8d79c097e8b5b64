"""Estimating the skill effect: scores, reliability, logistic and Cox models, weighting.

Everything here works on plain DataFrames, so a user's own supervision data (one row per
supervisee with officer, baseline risk, follow-up time and event; one row per scored item or
session with officer and score) runs through the same functions as a simulated study.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import check_binary, check_columns, name_row
from .._core.results import Result, SeriesResult, TableResult
from ..errors import RiskevalError, RiskevalTypeError, RiskevalWarning
from ._cox import cox_fit

__all__ = ["CalibratedScores", "KaplanMeier", "calibrated_scores", "corrected_effect",
           "ipw_weights", "km_by_group", "officer_scores", "rater_agreement",
           "score_reliability", "skill_effect", "supervision_table"]


def _table(frame: pd.DataFrame, title: str) -> TableResult:
    """``frame`` as a TableResult, keeping its ``attrs``."""
    out = TableResult(frame, title=title)
    out.attrs.update(frame.attrs)
    return out


def _frame(data: Any, roles: dict[str, str | None]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise RiskevalTypeError(f"expected a pandas DataFrame; got {type(data).__name__}")
    check_columns(data, roles)
    return data


def _row(frame: pd.DataFrame, i: int) -> str:
    return name_row(frame.index, i)


def _numeric(frame: pd.DataFrame, col: str, *, lo: float | None = None, hi: float | None = None,
             what: str = "a number") -> np.ndarray:
    """The column as finite floats: text, a missing or an infinite value, or one outside
    ``[lo, hi]`` is an error naming the column, the row and the value."""
    x = pd.to_numeric(frame[col], errors="coerce")
    bad = x.isna() & frame[col].notna()
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise RiskevalError(f"column {col!r} {_row(frame, i)} holds {frame[col].iloc[i]!r}; "
                            f"expected {what}")
    if x.isna().any():
        i = x.isna().to_numpy().nonzero()[0][0]
        raise RiskevalError(f"column {col!r} {_row(frame, i)} is missing; expected {what}")
    v = x.to_numpy(float)
    out = (~np.isfinite(v) | (v < (-np.inf if lo is None else lo))
           | (v > (np.inf if hi is None else hi)))
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise RiskevalError(f"column {col!r} {_row(frame, i)} holds {float(v[i])!r}; expected "
                            f"{what}")
    return v


def _event(frame: pd.DataFrame, col: str) -> np.ndarray:
    """The outcome column as 0/1 floats (:func:`riskeval._core.checks.check_binary`)."""
    return check_binary(frame[col], f"column {col!r}").astype(float)


def _officer_codes(frame: pd.DataFrame, officer: str) -> np.ndarray:
    """Integer codes of the officers (the clusters); a missing officer id is named."""
    ids = frame[officer]
    missing = ids.isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise RiskevalError(f"column {officer!r} {_row(frame, i)} is missing; expected the id of "
                            f"the supervisee's officer (the officer is the cluster of the "
                            f"analysis, so every supervisee needs one)")
    return pd.factorize(ids)[0]


def _officer_level(frame: pd.DataFrame, col: str, values: np.ndarray, officer: str,
                   codes: np.ndarray) -> np.ndarray:
    """Each officer's value of an officer-level column (a skill score), in the order of the
    officer ``codes``, checked to be the same on all of that officer's rows (up to rounding:
    1e-9 relative)."""
    first_row = pd.Series(np.arange(len(codes))).groupby(codes).transform("first").to_numpy()
    ref = values[first_row]
    differs = ~np.isclose(values, ref, rtol=1e-9, atol=1e-12)
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        j = int(first_row[i])
        raise RiskevalError(f"column {col!r} varies within officer {frame[officer].iloc[i]!r}: "
                            f"{_row(frame, j)} holds {float(values[j])!r} but {_row(frame, i)} "
                            f"holds {float(values[i])!r}; expected one skill score per officer, "
                            f"the same on each of the officer's supervisees' rows")
    out = np.empty(int(codes.max()) + 1 if len(codes) else 0)
    out[codes] = values
    return out


def officer_scores(sessions: pd.DataFrame, *, officer: str = "officer",
                   session: str = "session", score: str = "score",
                   domain: str | None = "domain") -> TableResult:
    """Each officer's observed skill scores: the mean over items, raters and sessions.

    A session's score is first averaged over its items (per domain) and raters, then sessions
    are averaged with equal weight, so a double-scored session does not count twice.

    Returns
    -------
    TableResult
        Indexed by officer: one column per domain (when ``domain`` is given) and ``overall``,
        plus ``n_sessions`` (a DataFrame with a title).

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=1, n_officers=4)
    >>> s = officer_scores(d.sessions)
    >>> s.shape, list(s.columns)
    ((4, 4), ['relationship', 'structuring', 'overall', 'n_sessions'])
    >>> round(float(s.loc["officer-1", "overall"]), 3)
    1.246
    """
    f = _frame(sessions, {"officer": officer, "session": session, "score": score,
                          "domain": domain})
    y = _numeric(f, score, what="a numeric item score")
    g = f.assign(__y__=y)
    per_session = g.groupby([officer, session], sort=True)["__y__"].mean()
    out = per_session.groupby(level=0).mean().to_frame("overall")
    if domain is not None:
        dom = g.groupby([officer, session, domain], sort=True)["__y__"].mean()
        dom = dom.groupby(level=[0, 2]).mean().unstack(domain)
        out = dom.join(out)
    out["n_sessions"] = per_session.groupby(level=0).size()
    out.index.name = officer
    return TableResult(out, title="officers' observed skill scores")


def score_reliability(sessions: pd.DataFrame, *, which: str = "overall",
                      officer: str = "officer", session: str = "session",
                      score: str = "score", domain: str | None = "domain",
                      confidence: float = 0.95) -> SeriesResult:
    """How reliably a mean over sessions measures an officer's skill (one-way random effects).

    Session scores (mean over items and raters; for one domain when ``which`` names it) are
    split into between-officer variance ``var_skill`` and within-officer variance
    ``var_session`` (session-to-session performance, raters, items) by one-way ANOVA, with the
    unbalanced-design coefficient ``n0`` (Searle 1971). ``icc`` is the reliability of a single
    session; ``reliability`` that of an officer's mean over the average number of sessions
    (Spearman-Brown), the attenuation factor of a naive analysis. The interval for ``icc`` is
    the exact F interval (Shrout & Fleiss 1979, ICC(1)).

    Returns
    -------
    SeriesResult
        ``var_skill``, ``var_session``, ``icc`` with ``icc_low``/``icc_high``,
        ``mean_sessions``, ``reliability`` and ``n_officers`` (a Series named ``which``, with a
        title).

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=1, n_officers=10)
    >>> r = score_reliability(d.sessions)
    >>> round(float(r["reliability"]), 3), int(r["n_officers"])
    (0.915, 10)

    References
    ----------
    Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
    reliability. *Psychological Bulletin* 86(2), 420-428.

    Searle, S. R. (1971). *Linear Models*, section 9.9. Wiley.
    """
    f = _frame(sessions, {"officer": officer, "session": session, "score": score,
                          "domain": domain})
    y = _numeric(f, score, what="a numeric item score")
    g = f.assign(__y__=y)
    if which != "overall":
        if domain is None or which not in set(g[domain]):
            raise RiskevalError(f"which={which!r} is not a domain of the scores; expected "
                                f"'overall' or one of {sorted(set(g[domain]))}"
                                if domain is not None else
                                f"which={which!r} needs a domain column")
        g = g[g[domain] == which]
    s = g.groupby([officer, session], sort=True)["__y__"].mean()
    codes = s.index.get_level_values(0)
    n_i = s.groupby(level=0).size().to_numpy(float)
    if len(n_i) < 2:
        raise RiskevalError("reliability needs at least two officers")
    if (n_i < 2).all():
        raise RiskevalError("reliability needs officers with at least two scored sessions")
    means = s.groupby(level=0).mean().to_numpy()
    N, k = float(n_i.sum()), len(n_i)
    grand = float(s.mean())
    ssb = float((n_i * (means - grand) ** 2).sum())
    ssw = float(((s.to_numpy() - means[pd.factorize(codes, sort=True)[0]]) ** 2).sum())
    msb, msw = ssb / (k - 1), ssw / (N - k)
    n0 = (N - (n_i ** 2).sum() / N) / (k - 1)
    var_skill = max((msb - msw) / n0, 0.0)
    icc1 = var_skill / (var_skill + msw) if var_skill + msw > 0 else math.nan
    m = float(n_i.mean())
    rel = m * icc1 / (1 + (m - 1) * icc1) if math.isfinite(icc1) else math.nan
    fobs = msb / msw if msw > 0 else math.inf
    a = (1 - confidence) / 2
    fl = fobs / stats.f.ppf(1 - a, k - 1, N - k)
    fu = fobs * stats.f.ppf(1 - a, N - k, k - 1)
    return SeriesResult({"var_skill": var_skill, "var_session": msw, "icc": icc1,
                         "icc_low": (fl - 1) / (fl + n0 - 1),
                         "icc_high": (fu - 1) / (fu + n0 - 1),
                         "mean_sessions": m, "reliability": rel, "n_officers": k},
                        name=which, title=f"reliability of officers' {which} skill scores")


def supervision_table(supervisees: pd.DataFrame, scores: pd.DataFrame, *,
                      officer: str = "officer") -> pd.DataFrame:
    """Supervisees joined to their officer's scores; every supervisee's officer must be scored.

    A data function: it returns the supervisee table with the officer's score columns added.

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=1, n_officers=4, supervisees_per_officer=3)
    >>> t = supervision_table(d.supervisees, officer_scores(d.sessions))
    >>> t.shape, "overall" in t.columns
    ((12, 9), True)
    """
    _frame(supervisees, {"officer": officer})
    missing = sorted(set(supervisees[officer]) - set(scores.index))
    if missing:
        raise RiskevalError(f"{len(missing)} officer(s) have supervisees but no scored "
                            f"sessions, e.g. {missing[0]!r}")
    return supervisees.join(scores, on=officer)


def ipw_weights(data: pd.DataFrame, *, skill: str, confounders: Sequence[str],
                officer: str = "officer",
                trim: tuple[float, float] | None = (0.01, 0.99)) -> np.ndarray:
    """Stabilised inverse-probability weights for a continuous exposure (skill).

    The officer's skill is the exposure, the supervisee's confounders (e.g. baseline risk)
    predict which officer they get. With a normal linear model for the exposure, the weight is
    ``f(skill) / f(skill | confounders)`` (Robins, Hernan & Brumback 2000), fitted by least
    squares across supervisees (statsmodels OLS). With ``trim`` the weights are truncated at
    those quantiles (default 1st and 99th percentiles): fewer extreme weights, less variance,
    but some confounding left in; ``trim=None`` keeps them all. Weighted fits estimate the
    *marginal* (population-average) effect, which for hazard and odds ratios differs from the
    conditional effect of a risk-adjusted model even without confounding.

    References
    ----------
    Robins, J. M., Hernan, M. A. & Brumback, B. (2000). Marginal structural models and causal
    inference in epidemiology. *Epidemiology* 11(5), 550-560.

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=1, n_officers=20, allocation="risk")
    >>> t = supervision_table(d.supervisees, officer_scores(d.sessions))
    >>> w = ipw_weights(t, skill="overall", confounders=["baseline_risk"])
    >>> w.shape, round(float(w.mean()), 2)
    ((300,), 1.0)
    """
    import statsmodels.api as sm

    f = _frame(data, {"skill": skill, "officer": officer,
                      **{f"confounder {c}": c for c in confounders}})
    x = _numeric(f, skill, what="a numeric skill score")
    Z = sm.add_constant(np.column_stack([_numeric(f, c) for c in confounders]))
    fit = sm.OLS(x, Z).fit()
    sd_cond = math.sqrt(fit.scale)
    sd_marg = float(x.std(ddof=1))
    num = stats.norm.logpdf(x, x.mean(), sd_marg)
    den = stats.norm.logpdf(x, fit.fittedvalues, sd_cond)
    w = np.exp(num - den)
    if trim is None:
        return w
    if not 0 <= trim[0] < trim[1] <= 1:
        raise RiskevalError(f"trim={trim!r}; expected two quantiles 0 <= low < high <= 1")
    lo, hi = np.quantile(w, trim)
    return np.clip(w, lo, hi)


#: below this many officers :func:`skill_effect` warns that clustered intervals are too narrow
FEW_OFFICERS = 20

_RISK_SCALES = {"logit": lambda p: np.log(p / (1 - p)),
                "cloglog": lambda p: np.log(-np.log1p(-p))}


def _design(frame: pd.DataFrame, skill: str | Sequence[str], adjust: Sequence[str],
            risk_scale: str | None, interaction: bool, officer: str, codes: np.ndarray,
            skill_sd: float | None = None) -> tuple[pd.DataFrame, float]:
    skills = [skill] if isinstance(skill, str) else list(skill)
    X = pd.DataFrame(index=frame.index)
    sds = {}
    for s in skills:
        v = _numeric(frame, s, what="a numeric skill score")
        per_officer = _officer_level(frame, s, v, officer, codes)
        sd = float(np.std(per_officer, ddof=1)) if skill_sd is None else float(skill_sd)
        if not sd > 0:
            raise RiskevalError(f"skill column {s!r} does not vary across officers")
        sds[s] = sd
        X[s] = (v - per_officer.mean()) / sd
    if interaction:
        if len(skills) != 2:
            raise RiskevalError("interaction=True needs exactly two skill columns")
        X[f"{skills[0]}:{skills[1]}"] = X[skills[0]] * X[skills[1]]
    for c in adjust:
        v = _numeric(frame, c, what="a numeric covariate")
        if risk_scale is not None and c == adjust[0]:
            if ((v <= 0) | (v >= 1)).any():
                i = int(np.flatnonzero((v <= 0) | (v >= 1))[0])
                raise RiskevalError(f"column {c!r} row {i} holds {float(v[i])!r}; it must hold "
                                    f"probabilities strictly between 0 and 1 (it is entered "
                                    f"as its {risk_scale})")
            X[f"{risk_scale}({c})"] = _RISK_SCALES[risk_scale](v)
        else:
            X[c] = v
    return X, sds[skills[0]]


def skill_effect(data: pd.DataFrame, *, skill: str | Sequence[str] = "overall",
                 method: str = "cox", adjust: Sequence[str] = ("baseline_risk",),
                 risk_scale: str | None = "auto", interaction: bool = False,
                 officer: str = "officer", time: str = "time", event: str = "event",
                 weights: np.ndarray | None = None, skill_sd: float | None = None,
                 small_sample: bool = True, confidence: float = 0.95) -> TableResult:
    """Effect of officers' skill on their supervisees' reconviction, officer-clustered.

    Skills are standardised to SD 1 across officers, so effects are per SD of the skill score
    (or per ``skill_sd`` units when given, e.g. the SD of true skill for calibrated scores).
    ``method="cox"``: proportional hazards on time to reconviction (Breslow ties; the fit of
    statsmodels ``PHReg`` and R's ``coxph(ties="breslow")``, computed by
    :mod:`riskeval.skills._cox`, which also takes case weights) with the robust covariance
    clustered by officer (Lin & Wei 1989); with ``weights`` (e.g. :func:`ipw_weights`) a
    weighted partial likelihood (Binder 1992), whose hazard ratio is marginal over the
    confounders (a marginal structural model), not the conditional ratio of an adjusted fit.
    ``method="logistic"``: reconviction within the window, binomial GEE with working
    independence (the logistic regression with a sandwich covariance clustered by officer;
    statsmodels ``GEE``); with ``weights`` (e.g. :func:`ipw_weights`) the weighted fit of a
    marginal structural model, whose odds ratio is marginal over the confounders.
    Clustering by officer is what makes the intervals honest -- supervisees of one officer
    share that officer's skill -- but the sandwich is too small when there are few officers
    (the Jersey study had 14). With ``small_sample`` (default) the robust variance is scaled
    by ``G / (G - 1)`` and intervals and p-values use Student's t on ``G - 1`` degrees of
    freedom, ``G`` the number of officers (Cameron & Miller 2015); ``small_sample=False``
    gives the plain sandwich with normal intervals, as R's ``coxph`` reports.
    The first ``adjust`` column is an actuarial probability of reconviction within the window,
    entered on the scale on which it acts in each model (``risk_scale="auto"``): its
    complementary log-log ``log(-log(1 - p))`` in the Cox model (the log of the cumulative
    hazard over the window, so a supervisee's hazard is proportional to it) and its logit in
    the logistic model; ``None`` enters it as it is.

    Every row must name its officer (a missing id is an error, not a cluster of its own) and
    carry a finite numeric skill score that is the same on all of that officer's rows (an
    officer-level score: one that varies within an officer is an error naming both rows);
    ``event`` must be 0 or 1 and ``time`` finite and non-negative. Each error names the
    column, the row (by position, with its index label when that differs) and the value.

    Returns
    -------
    TableResult
        One row per term: ``coef`` (log hazard or odds ratio), ``se``, ``ratio`` (hazard or
        odds ratio), ``ratio_low``, ``ratio_high``, ``p``; attributes ``method``, ``n``,
        ``events``, ``officers`` (a DataFrame with a title).

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=2, n_officers=30, supervisees_per_officer=20)
    >>> t = supervision_table(d.supervisees, officer_scores(d.sessions))
    >>> fit = skill_effect(t, skill="overall")
    >>> list(fit.index), round(float(fit.loc["overall", "ratio"]), 3)
    (['overall', 'cloglog(baseline_risk)'], 0.686)

    References
    ----------
    Lin, D. Y. & Wei, L. J. (1989). The robust inference for the Cox proportional hazards
    model. *JASA* 84(408), 1074-1078.

    Binder, D. A. (1992). Fitting Cox's proportional hazards models from survey data.
    *Biometrika* 79(1), 139-147.

    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    *Journal of Human Resources* 50(2), 317-372.
    """
    import statsmodels.api as sm

    if method not in ("cox", "logistic"):
        raise RiskevalError(f"method={method!r}; expected 'cox' or 'logistic'")
    skills = [skill] if isinstance(skill, str) else list(skill)
    roles = {"officer": officer, "event": event, **{f"skill {s}": s for s in skills},
             **{f"covariate {c}": c for c in adjust}}
    if method == "cox":
        roles["time"] = time
    f = _frame(data, roles)
    groups = _officer_codes(f, officer)
    ev = _event(f, event)
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (len(f),):
            raise RiskevalError(f"weights has shape {weights.shape}; expected one weight per "
                                f"row ({len(f)})")
        if not np.isfinite(weights).all() or (weights < 0).any():
            i = int(np.flatnonzero(~np.isfinite(weights) | (weights < 0))[0])
            raise RiskevalError(f"weight {i} is {weights[i]!r}; weights must be finite and "
                                f">= 0")
    if risk_scale == "auto":
        risk_scale = "cloglog" if method == "cox" else "logit"
    if risk_scale is not None and risk_scale not in _RISK_SCALES:
        raise RiskevalError(f"risk_scale={risk_scale!r}; expected 'auto', 'logit', 'cloglog' "
                            f"or None")
    if len(np.unique(groups)) < 2:
        raise RiskevalError("officer-clustered errors need at least two officers")
    X, _ = _design(f, skills, list(adjust), risk_scale if adjust else None, interaction,
                   officer, groups, skill_sd)
    if method == "cox":
        t = _numeric(f, time, lo=0, what="a finite non-negative follow-up time")
        res = cox_fit(t, ev, X.to_numpy(), weights=weights, groups=groups)
        coef, se = res.params, np.sqrt(np.diag(res.cov_robust))
    else:  # GEE with working independence: the binomial GLM with a sandwich by officer
        kw = {} if weights is None else {"weights": np.asarray(weights, float)}
        res = sm.GEE(ev, sm.add_constant(X.to_numpy()), groups=groups,
                     family=sm.families.Binomial(),
                     cov_struct=sm.cov_struct.Independence(), **kw).fit()
        coef, se = np.asarray(res.params)[1:], np.asarray(res.bse)[1:]
    n_groups = len(np.unique(groups))
    if n_groups < FEW_OFFICERS:
        warnings.warn(f"only {n_groups} officers: officer-clustered intervals are too narrow "
                      f"with so few clusters, even with the small-sample correction (in "
                      f"simulations of the 14-officer Jersey design a nominal 5% test "
                      f"rejected a true null about 11% of the time); read p-values near 0.05 "
                      f"with caution", RiskevalWarning, stacklevel=2)
    if small_sample:  # CR1 scale and t(G - 1) reference (Cameron & Miller 2015, section VI)
        se = se * math.sqrt(n_groups / (n_groups - 1))
        ref = stats.t(n_groups - 1)
    else:
        ref = stats.norm()
    z = ref.ppf(0.5 + confidence / 2)
    out = pd.DataFrame({"coef": coef, "se": se, "ratio": np.exp(coef),
                        "ratio_low": np.exp(coef - z * se), "ratio_high": np.exp(coef + z * se),
                        "p": 2 * ref.sf(np.abs(coef / se))}, index=X.columns)
    out.index.name = "term"
    out.attrs.update({"method": method, "n": len(f), "events": int(ev.sum()),
                      "officers": n_groups, "small_sample": small_sample})
    ratio = "hazard" if method == "cox" else "odds"
    return _table(out, f"skill effect ({method}: {ratio} ratios per SD, {n_groups} officers, "
                       f"clustered)")


@dataclass(frozen=True)
class KaplanMeier(Result):
    """Kaplan-Meier curves of supervisees of higher- and lower-skilled officers, and the
    log-rank test (what :func:`km_by_group` returns).

    Attributes
    ----------
    curves : dict
        statsmodels ``SurvfuncRight`` objects keyed ``"higher"`` and ``"lower"``.
    test : pandas.Series
        The log-rank ``statistic`` and ``p``, each group's share reconvicted by the end of
        follow-up (``reconvicted_higher``, ``reconvicted_lower``) and its size (``n_higher``,
        ``n_lower``); ``to_frame()`` gives it as one row.

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=3, n_officers=10, supervisees_per_officer=10)
    >>> km = km_by_group(supervision_table(d.supervisees, officer_scores(d.sessions)))
    >>> sorted(km.curves), int(km.test["n_higher"]) + int(km.test["n_lower"])
    (['higher', 'lower'], 100)
    >>> km.to_frame().shape
    (1, 6)
    """

    curves: dict[str, Any]
    test: pd.Series
    title = "reconviction by officers' skill (Kaplan-Meier, log-rank test)"

    def to_frame(self) -> pd.DataFrame:
        """The log-rank test and the groups' shares reconvicted, as one row."""
        return self.test.to_frame().T.reset_index(drop=True)

    def plot(self, ax: Any = None, title: str | None = None) -> Any:
        """The two curves with pointwise 95% bands (:func:`riskeval._core.plots.km`)."""
        from .._core.plots import km

        return km(self.curves, ax=ax, logrank=self.test, title=title)


def km_by_group(data: pd.DataFrame, *, skill: str = "overall", officer: str = "officer",
                time: str = "time", event: str = "event") -> KaplanMeier:
    """Kaplan-Meier curves of supervisees of officers above vs at-or-below the median skill.

    Officers (not supervisees) are split at the median of their skill score, as the published
    study compared higher- and lower-skilled officers' cases. The data are checked as in
    :func:`skill_effect`: an officer id on every row, one finite skill score per officer,
    ``event`` 0 or 1, finite non-negative ``time``.

    Returns
    -------
    KaplanMeier
        ``curves``: the two statsmodels ``SurvfuncRight`` objects keyed ``"higher"`` and
        ``"lower"``; ``test``: the log-rank test (statsmodels ``survdiff``), ``statistic``,
        ``p``, and each group's reconviction share by the end of follow-up; ``plot()`` draws
        the curves.

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=3, n_officers=30, supervisees_per_officer=20)
    >>> km = km_by_group(supervision_table(d.supervisees, officer_scores(d.sessions)))
    >>> bool(km.test["p"] < 0.01), int(km.test["n_higher"])
    (True, 300)
    """
    from statsmodels.duration.survfunc import SurvfuncRight, survdiff

    f = _frame(data, {"skill": skill, "officer": officer, "time": time, "event": event})
    codes = _officer_codes(f, officer)
    per = _officer_level(f, skill, _numeric(f, skill, what="a numeric skill score"), officer,
                         codes)
    grp = np.where((per > np.median(per))[codes], "higher", "lower")
    t = _numeric(f, time, lo=0, what="a finite non-negative follow-up time")
    ev = _event(f, event)
    curves = {g: SurvfuncRight(t[grp == g], ev[grp == g]) for g in ("higher", "lower")}
    stat, p = survdiff(t, ev, grp)
    share = {f"reconvicted_{g}": float(1 - c.surv_prob[-1]) if len(c.surv_prob) else 0.0
             for g, c in curves.items()}
    return KaplanMeier(curves, pd.Series({"statistic": float(stat), "p": float(p), **share,
                                          "n_higher": int((grp == "higher").sum()),
                                          "n_lower": int((grp == "lower").sum())}))


@dataclass(frozen=True)
class CalibratedScores(Result):
    """Regression-calibrated skill scores (what :func:`calibrated_scores` returns).

    Attributes
    ----------
    scores : pandas.Series
        Each officer's expected true skill given their mean score, indexed by officer.
    sd_true : float
        The SD of the true skill, ``sqrt(var_skill)``: the unit in which effects are
        expressed.

    Examples
    --------
    >>> import pandas as pd
    >>> cal = CalibratedScores(pd.Series([1.8, 2.2], index=["a", "b"], name="overall"), 0.5)
    >>> cal.to_frame().shape, cal.sd_true
    ((2, 1), 0.5)
    """

    scores: pd.Series
    sd_true: float

    def _title(self) -> str:
        return (f"calibrated {self.scores.name or 'skill'} scores (SD of true skill "
                f"{self.sd_true:.4g})")

    def to_frame(self) -> pd.DataFrame:
        """The calibrated scores, one row per officer."""
        return self.scores.to_frame()


def calibrated_scores(sessions: pd.DataFrame, *, which: str = "overall",
                      officer: str = "officer", session: str = "session",
                      score: str = "score", domain: str | None = "domain"
                      ) -> CalibratedScores:
    """Regression-calibrated skill scores: each officer's expected true skill given the mean.

    With ``var_skill`` and ``var_session`` from :func:`score_reliability`, an officer with mean
    ``w`` over ``k`` sessions gets ``mu + lambda_k (w - mu)``, ``lambda_k = var_skill /
    (var_skill + var_session / k)`` (Carroll et al. 2006, ch. 4): the best linear prediction
    of the true skill, so officers with few sessions are shrunk more.

    Returns
    -------
    CalibratedScores
        ``scores`` (one per officer) and ``sd_true``, the SD of the true skill,
        ``sqrt(var_skill)``, the unit in which effects are expressed.

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=1, n_officers=10)
    >>> cal = calibrated_scores(d.sessions, which="structuring")
    >>> len(cal.scores), round(cal.sd_true, 3)
    (10, 0.8)

    References
    ----------
    Carroll, R. J., Ruppert, D., Stefanski, L. A. & Crainiceanu, C. M. (2006). *Measurement
    Error in Nonlinear Models* (2nd ed.). Chapman & Hall/CRC.
    """
    rel = score_reliability(sessions, which=which, officer=officer, session=session,
                            score=score, domain=domain)
    scores = officer_scores(sessions, officer=officer, session=session, score=score,
                            domain=domain)
    w, k = scores[which], scores["n_sessions"]
    lam = rel["var_skill"] / (rel["var_skill"] + rel["var_session"] / k)
    mu = float(w.mean())
    if not rel["var_skill"] > 0:
        raise RiskevalError(f"the {which} scores show no variance between officers beyond "
                            f"session-to-session noise; the skill effect cannot be calibrated")
    return CalibratedScores((mu + lam * (w - mu)).rename(which), math.sqrt(rel["var_skill"]))


def corrected_effect(supervisees: pd.DataFrame, sessions: pd.DataFrame, *,
                     which: str = "overall", method: str = "cox",
                     adjust: Sequence[str] = ("baseline_risk",), officer: str = "officer",
                     time: str = "time", event: str = "event", session: str = "session",
                     score: str = "score", domain: str | None = "domain", n_boot: int = 200,
                     seed: Any = None, confidence: float = 0.95) -> TableResult:
    """Naive and measurement-error-corrected skill effects, per SD of skill.

    The naive analysis uses each officer's mean score, standardised by the SD of the means; its
    effect is attenuated towards zero because the means hold session-to-session error (by the
    square root of the reliability, per SD). The corrected analysis uses the
    regression-calibrated scores (:func:`calibrated_scores`) per SD of *true* skill. Its
    interval is a percentile bootstrap that resamples officers -- their scored sessions and
    their supervisees together -- so the uncertainty of the reliability is carried through.
    ``seed`` (None, an int, a SeedSequence or a Generator) seeds the bootstrap; the default
    None gives fresh entropy, so pass one for a reproducible interval.

    Returns
    -------
    TableResult
        Rows ``naive`` and ``corrected``: ``coef``, ``se`` (naive: robust; corrected: bootstrap
        SD), ``ratio``, ``ratio_low``, ``ratio_high``; attributes ``reliability`` and
        ``n_boot`` (resamples used: those with no skill variance beyond session noise cannot
        be calibrated and are left out, with a warning when they exceed 5%).

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=2, n_officers=24, supervisees_per_officer=10)
    >>> res = corrected_effect(d.supervisees, d.sessions, n_boot=10, seed=1)
    >>> list(res.index), round(float(res.loc["corrected", "ratio"]), 3)
    (['naive', 'corrected'], 0.771)
    """
    from .._core.seeds import rng as make_rng

    def fit(sup: pd.DataFrame, ses: pd.DataFrame) -> tuple[pd.Series, float]:
        naive_scores = officer_scores(ses, officer=officer, session=session, score=score,
                                      domain=domain)
        t = supervision_table(sup, naive_scores, officer=officer)
        naive = skill_effect(t, skill=which, method=method, adjust=adjust, officer=officer,
                             time=time, event=event, confidence=confidence).iloc[0]
        cal = calibrated_scores(ses, which=which, officer=officer, session=session,
                                score=score, domain=domain)
        tc = sup.join(cal.scores.rename("__cal__"), on=officer)
        corr = skill_effect(tc, skill="__cal__", method=method, adjust=adjust,
                            officer=officer, time=time, event=event, skill_sd=cal.sd_true,
                            confidence=confidence).iloc[0]
        return naive, float(corr["coef"])

    naive, coef = fit(supervisees, sessions)
    rng = make_rng(seed)
    officers = np.asarray(sorted(set(supervisees[officer])))
    sup_by = {o: g for o, g in supervisees.groupby(officer)}
    ses_by = {o: g for o, g in sessions.groupby(officer)}
    boots = []
    for _ in range(n_boot):
        pick = rng.choice(officers, size=len(officers), replace=True)
        sup_parts, ses_parts = [], []
        for j, o in enumerate(pick):
            new = f"{o}#{j}"
            sup_parts.append(sup_by[o].assign(**{officer: new}))
            ses_parts.append(ses_by[o].assign(**{officer: new}))
        try:
            with warnings.catch_warnings():  # the few-officers warning was given above
                warnings.simplefilter("ignore", RiskevalWarning)
                boots.append(fit(pd.concat(sup_parts), pd.concat(ses_parts))[1])
        except RiskevalError:  # a resample with no between-officer variance left
            continue
    boots_a = np.asarray(boots)
    a = (1 - confidence) / 2
    lo, hi = np.quantile(boots_a, [a, 1 - a]) if len(boots_a) else (math.nan, math.nan)
    out = pd.DataFrame({
        "coef": [naive["coef"], coef], "se": [naive["se"], float(boots_a.std(ddof=1))],
        "ratio": [naive["ratio"], math.exp(coef)],
        "ratio_low": [naive["ratio_low"], math.exp(lo)],
        "ratio_high": [naive["ratio_high"], math.exp(hi)]}, index=["naive", "corrected"])
    out.attrs["reliability"] = float(score_reliability(
        sessions, which=which, officer=officer, session=session, score=score,
        domain=domain)["reliability"])
    out.attrs["n_boot"] = len(boots_a)
    skipped = n_boot - len(boots_a)
    if skipped > 0.05 * n_boot:
        warnings.warn(f"{skipped} of {n_boot} bootstrap resamples showed no skill variance "
                      f"beyond session noise and were left out; the interval may be too "
                      f"narrow (the reliability is low)", RiskevalWarning, stacklevel=2)
    return _table(out, f"naive and measurement-error-corrected {which} skill effect "
                       f"({method}, per SD)")


def rater_agreement(sessions: pd.DataFrame, *, which: str = "overall",
                    officer: str = "officer", session: str = "session", rater: str = "rater",
                    score: str = "score", domain: str | None = "domain",
                    confidence: float = 0.95) -> TableResult:
    """Agreement of the scorers on double-scored sessions (the checklist's inter-rater
    reliability), with the package's agreement coefficients.

    Each double-scored session's score (mean over its items, per domain when ``which`` names
    one) by each of its raters is one rating of that session. Because different sessions are
    scored by different pairs of raters, the one-way ICC (Shrout & Fleiss ICC(1)) is the
    appropriate intraclass correlation; Krippendorff's interval alpha is given alongside.

    Returns
    -------
    TableResult
        Rows ``ICC1`` and ``Krippendorff's alpha (interval)``: ``estimate``, ``ci_low``,
        ``ci_high``, ``n_sessions`` (a DataFrame with a title).

    Examples
    --------
    >>> from riskeval.skills import simulate_skills
    >>> d = simulate_skills(seed=1, n_officers=10, double_scored=0.5)
    >>> a = rater_agreement(d.sessions)
    >>> round(float(a.loc["ICC1", "estimate"]), 3), int(a.loc["ICC1", "n_sessions"])
    (0.595, 37)
    """
    from ..agreement import icc, krippendorff_alpha

    f = _frame(sessions, {"officer": officer, "session": session, "rater": rater,
                          "score": score, "domain": domain})
    y = _numeric(f, score, what="a numeric item score")
    g = f.assign(__y__=y)
    if which != "overall":
        g = g[g[domain] == which] if domain is not None else g.iloc[:0]
        if g.empty:
            raise RiskevalError(f"which={which!r} is not a domain of the scores")
    per = g.groupby([officer, session, rater], sort=True)["__y__"].mean().reset_index()
    per["__unit__"] = per[officer].astype(str) + " / " + per[session].astype(str)
    per["__slot__"] = per.groupby("__unit__").cumcount()
    double = per[per.groupby("__unit__")["__unit__"].transform("size") >= 2]
    double = double[double["__slot__"] < 2]
    n = double["__unit__"].nunique()
    if n < 3:
        raise RiskevalError(f"only {n} session(s) were scored by two raters; inter-rater "
                            f"agreement needs at least 3")
    kw = {"case": "__unit__", "rater": "__slot__", "rating": "__y__"}
    i1 = icc(double, **kw, confidence=confidence).to_frame().loc["ICC1"]
    al = krippendorff_alpha(double, **kw, level="interval", confidence=confidence)
    out = pd.DataFrame({"estimate": [i1["ICC"], al.estimate],
                        "ci_low": [i1["ci_low"], al.ci[0]], "ci_high": [i1["ci_high"], al.ci[1]],
                        "n_sessions": [n, n]},
                       index=["ICC1", "Krippendorff's alpha (interval)"])
    return TableResult(out, title=f"agreement of the scorers on {n} double-scored sessions "
                                  f"({which})")
