"""A simulated study of officers' supervision skills and their supervisees' reconviction.

Structure (all sizes and effects are parameters, listed with their provenance by
:func:`parameters`):

* **Officers** have two latent skills, standardised to mean 0 and SD 1 across officers:
  relationship skills and structuring (change-promoting) skills, correlated ``skill_corr``.
  Experience in years is correlated with skill (``experience_skill_corr``).
* **Recorded sessions**: each officer has ``sessions_per_officer`` recorded supervision sessions.
  Each is scored on the checklist items of :data:`ITEMS` (relationship items load on the
  relationship skill, structuring items on the structuring skill) on a 0-4 scale, by one rater
  (a share ``double_scored`` of sessions by two). A score is
  ``clip(round(item_mean + loading * skill + session + rater + error), 0, 4)``: the session
  term is how the officer did that day, the rater term a scorer's leniency, the error the
  item-level noise. So an officer's observed skill score (the mean over items and sessions)
  measures the true skill with error, and its reliability grows with the number of sessions.
* **Training** (optional): a share ``trained_share`` of officers, drawn at random, has both
  skills raised by ``training_shift`` SD -- a randomised training trial such as STICS.
* **Supervisees**: ``supervisees_per_officer`` per officer, each with a baseline probability of
  reconviction within the follow-up window (Beta distributed: an actuarial score such as
  OGRS). Allocation is ``"random"`` or ``"risk"``: with ``"risk"``, higher-risk supervisees go
  to more experienced officers (a Gaussian copula with correlation ``allocation_strength``
  between risk and the officer's experience rank), so skill and risk are confounded whenever
  experience and skill are correlated.
* **Reconviction**: time to first reconviction is exponential with the hazard that gives the
  baseline probability over the window for an average officer, multiplied by
  ``hr_relationship ** R * hr_structuring ** S * hr_interaction ** (R * S)`` (R, S the officer's
  true skills in SD units) and by a log-normal officer frailty (SD ``frailty_sd``). Follow-up
  ends at ``follow_up_years`` (administrative censoring).

Randomness is keyed by officer, session, rater, item and supervisee identifiers through
:class:`riskeval._core.keyed.Streams`: the same seed gives the same data, and enlarging the study
does not change the existing officers' draws.

References
----------
Raynor, P., Ugwudike, P. & Vanstone, M. (2014). The impact of skills in probation work: a
reconviction study. *Criminology & Criminal Justice* 14(2), 235-249.

Raynor, P. & Vanstone, M. (2016). Moving away from social work and half way back again: new
research on skills in probation. *British Journal of Social Work* 46(4), 1131-1147.

Bonta, J. et al. (2011). An experimental demonstration of training probation officers in
evidence-based community supervision. *Criminal Justice and Behavior* 38(11), 1127-1148.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.keyed import Streams, hash_ids
from .._core.params import P, ParamSet, assumption, params_table
from .._core.results import Result
from ..errors import RiskevalError

__all__ = ["DOMAINS", "ITEMS", "SkillsData", "parameters", "simulate_skills", "skills_params"]

_A = assumption
_JERSEY = ("Raynor, Ugwudike & Vanstone (2014); Vanstone & Raynor (2012) conference "
           "slides: 95 recorded interviews from 14 staff")

#: Checklist items by domain, after the skill areas of the Jersey Supervision Interview
#: Checklist (Raynor, Ugwudike & Vanstone 2014): relationship skills and structuring skills.
ITEMS: dict[str, tuple[str, ...]] = {
    "relationship": ("set_up", "non_verbal", "verbal", "use_of_authority"),
    "structuring": ("motivational", "pro_social_modelling", "problem_solving",
                    "cognitive_restructuring", "overall_structure"),
}
DOMAINS: tuple[str, ...] = tuple(ITEMS)

_PARAMS = ParamSet("skills_study", (
    P("n_officers", 14, "count", "officers in the study", f"published: {_JERSEY}"),
    P("sessions_per_officer", 7, "count", "recorded sessions scored per officer",
      f"published (rounded): {_JERSEY}, 95 / 14 = 6.8"),
    P("supervisees_per_officer", 15, "count", "supervisees followed up per officer",
      _A("caseload-sample", "group sizes of the reconviction sample were not found")),
    P("follow_up_years", 2.0, "positive", "follow-up window for reconviction",
      "published: two-year reconviction (Raynor, Ugwudike & Vanstone 2014)"),
    P("skill_corr", 0.5, "real", "correlation of relationship and structuring skills",
      _A("skills-correlate", "skilled officers tend to be skilled in both domains")),
    P("experience_skill_corr", 0.3, "real", "correlation of experience with each skill",
      _A("experience-skill", "practice improves skills somewhat")),
    P("experience_mean", 10.0, "nonneg", "mean years of experience",
      _A("experience", "a typical probation workforce")),
    P("experience_sd", 6.0, "nonneg", "SD of years of experience",
      _A("experience", "a typical probation workforce")),
    P("risk_mean", 0.40, "prob", "mean baseline probability of reconviction in the window",
      _A("baseline-risk", "two-year proven reoffending of adults on probation is of this "
         "order; the study's own figure was not found")),
    P("risk_concentration", 6.0, "positive", "Beta concentration of baseline risk",
      _A("baseline-risk", "baseline risks spread over most of (0, 1)")),
    P("allocation", "random", "choice:random|risk", "how supervisees are allocated",
      _A("allocation", "a user choice: random, or higher risk to more experienced officers")),
    P("allocation_strength", 0.5, "real",
      "copula correlation of supervisee risk with officer experience rank ('risk' allocation)",
      _A("risk-allocation", "size of the non-random allocation to explore")),
    P("hr_relationship", 0.85, "positive", "hazard ratio per SD of relationship skill",
      _A("skill-effect", "direction published (skilled officers' cases reconvicted less); "
         "size assumed")),
    P("hr_structuring", 0.80, "positive", "hazard ratio per SD of structuring skill",
      _A("skill-effect", "direction published; structuring skills mattered more")),
    P("hr_interaction", 0.95, "positive", "hazard ratio per unit of (relationship x "
      "structuring)", _A("skills-combine", "the best supervisors combined both "
                         "(Raynor & Vanstone 2016); size assumed")),
    P("trained_share", 0.0, "prob", "share of officers who received skills training",
      _A("training", "a user choice; 0 means no training arm")),
    P("training_shift", 0.0, "real", "shift of trained officers' skills, in SD, on both "
      "domains", _A("training-effect", "what training achieves; 0 means it changes nothing")),
    P("frailty_sd", 0.2, "nonneg", "SD of the officer-level log-hazard frailty",
      _A("officer-frailty", "officers' caseloads differ in ways the model does not name")),
    P("item_mean", 2.0, "real", "mean item score on the 0-4 scale",
      _A("checklist-scale", "items scored 0-4; the checklist's own scale was not found")),
    P("loading", 0.8, "nonneg", "item score points per SD of the domain's skill",
      _A("checklist-loading", "items discriminate between officers")),
    P("session_sd", 0.5, "nonneg", "SD of an officer's performance from session to session",
      _A("occasion-variance", "officers are not equally skilful in every session")),
    P("rater_sd", 0.3, "nonneg", "SD of raters' leniency",
      _A("rater-variance", "trained scorers differ a little")),
    P("item_sd", 0.6, "nonneg", "SD of item-level scoring noise",
      _A("item-noise", "single items are coarse")),
    P("n_raters", 4, "count", "scorers in the pool", _A("raters", "a small research team")),
    P("double_scored", 0.2, "prob", "share of sessions scored by a second rater",
      _A("double-scoring", "a reliability subsample")),
))


def parameters() -> pd.DataFrame:
    """The default parameters of the skills study with their provenance (a data table).

    Examples
    --------
    >>> t = parameters()
    >>> t.loc[t["parameter"] == "n_officers", "value"].item()
    14
    >>> bool(t["is_assumption"].any())
    True
    """
    return params_table(_PARAMS.rows())


def skills_params(**overrides: Any) -> ParamSet:
    """The parameter set with some values replaced (validated, unknown names are errors).

    Examples
    --------
    >>> p = skills_params(n_officers=40, allocation="risk")
    >>> p["n_officers"], p["allocation"]
    (40, 'risk')
    >>> print(p.summary().splitlines()[1])
      n_officers = 40: officers in the study
    """
    return _PARAMS.updated(overrides)


@dataclass(frozen=True)
class SkillsData(Result):
    """A simulated skills-and-reconviction study.

    Attributes
    ----------
    officers : pandas.DataFrame
        One row per officer: ``officer``, ``experience``, ``trained``, the true skills
        ``relationship`` and ``structuring`` (SD units of the untrained population; trained
        officers are shifted by ``training_shift``), ``frailty`` (log-hazard).
    sessions : pandas.DataFrame
        Long item scores: ``officer``, ``session``, ``rater``, ``domain``, ``item``, ``score``.
    supervisees : pandas.DataFrame
        ``supervisee``, ``officer``, ``baseline_risk``, ``time`` (years to reconviction or to
        the end of follow-up), ``event`` (1 = reconvicted within the window).
    params : ParamSet
        The parameters used.

    ``to_frame()`` gives one row per officer: the officer's attributes, number of
    supervisees and share reconvicted.

    Examples
    --------
    >>> d = simulate_skills(seed=1, n_officers=4, supervisees_per_officer=5)
    >>> d.to_frame()[["n_supervisees"]].sum().item()
    20
    >>> print(d.summary())
    simulated skills study: 4 officers, 28 recorded sessions, 20 supervisees
      reconvicted within 2 years: 45.0%
    """

    officers: pd.DataFrame
    sessions: pd.DataFrame
    supervisees: pd.DataFrame
    params: ParamSet

    def _title(self) -> str:
        n_sessions = len(self.sessions.groupby(["officer", "session"]).size())
        return (f"simulated skills study: {len(self.officers)} officers, {n_sessions} recorded "
                f"sessions, {len(self.supervisees)} supervisees")

    def to_frame(self) -> pd.DataFrame:
        """One row per officer: attributes, ``n_supervisees`` and ``reconvicted`` (share)."""
        per = self.supervisees.groupby("officer")["event"].agg(["size", "mean"])
        per.columns = ["n_supervisees", "reconvicted"]
        return self.officers.join(per, on="officer")

    def summary(self) -> str:
        """The study's size and the share of supervisees reconvicted."""
        share = float(self.supervisees["event"].mean()) if len(self.supervisees) else np.nan
        return (f"{self._title()}\n  reconvicted within {self.params['follow_up_years']:g} "
                f"years: {100 * share:.1f}%")

    def true_log_hr(self) -> dict[str, float]:
        """True log hazard ratios per SD of each skill, and of their product."""
        p = self.params
        return {"relationship": float(np.log(p["hr_relationship"])),
                "structuring": float(np.log(p["hr_structuring"])),
                "interaction": float(np.log(p["hr_interaction"]))}


def _ids(prefix: str, n: int) -> list[str]:
    width = len(str(n))
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


def resolve_params(params: ParamSet | Mapping[str, Any] | None) -> ParamSet:
    """The skills model's parameters: the defaults, a ParamSet, or defaults updated by a
    mapping."""
    if params is None:
        return _PARAMS
    if isinstance(params, ParamSet):
        return params
    if isinstance(params, Mapping):
        return _PARAMS.updated(params)
    raise RiskevalError(f"params must be a ParamSet or a mapping; got {type(params).__name__}")


def simulate_skills(params: ParamSet | Mapping[str, Any] | None = None, *, seed: Any = None,
                    **overrides: Any) -> SkillsData:
    """Simulate officers, their scored sessions and their supervisees' reconviction.

    Parameters
    ----------
    params : ParamSet or mapping, optional
        Parameters (default :func:`parameters`); keyword ``overrides`` replace single values,
        e.g. ``simulate_skills(seed=1, n_officers=80, allocation="risk")``.
    seed : None, int, SeedSequence or Generator
        Seed of every draw (default None: fresh entropy; pass one for reproducible data).

    Returns
    -------
    SkillsData

    Examples
    --------
    >>> d = simulate_skills(seed=1, n_officers=6, supervisees_per_officer=4)
    >>> d.officers.shape, d.supervisees.shape
    ((6, 6), (24, 5))
    >>> round(float(d.officers["relationship"].iloc[0]), 3)
    -0.671
    """
    p = resolve_params(params).updated(overrides)
    for name in ("skill_corr", "experience_skill_corr", "allocation_strength"):
        if not -1 < p[name] < 1:
            raise RiskevalError(f"{name} must be a correlation strictly between -1 and 1; "
                                f"got {p[name]!r}")
    if not 0 < p["risk_mean"] < 1:
        raise RiskevalError(f"risk_mean must be strictly between 0 and 1; got {p['risk_mean']}")
    rs = Streams(seed)
    n_o = p["n_officers"]
    officers = _ids("officer-", n_o)
    h_o = hash_ids(officers)

    # officers: (relationship, structuring, experience) trivariate normal
    rho, ex = p["skill_corr"], p["experience_skill_corr"]
    cov = np.array([[1.0, rho, ex], [rho, 1.0, ex], [ex, ex, 1.0]])
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise RiskevalError(f"skill_corr={rho} and experience_skill_corr={ex} are not a valid "
                            f"correlation structure") from None
    z = np.column_stack([rs.normal(f"officer.{k}", h_o) for k in ("r", "s", "e")]) @ chol.T
    experience = np.maximum(0.0, p["experience_mean"] + p["experience_sd"] * z[:, 2])
    frailty = p["frailty_sd"] * rs.normal("officer.frailty", h_o)
    # training: the first round(trained_share * n) officers in a keyed random order
    n_trained = round(p["trained_share"] * n_o)
    trained = np.zeros(n_o, dtype=bool)
    trained[np.argsort(rs.uniform("officer.trained", h_o), kind="stable")[:n_trained]] = True
    shift = p["training_shift"] * trained
    off = pd.DataFrame({"officer": officers, "experience": experience, "trained": trained,
                        "relationship": z[:, 0] + shift, "structuring": z[:, 1] + shift,
                        "frailty": frailty})

    sessions = _sessions(p, rs, off, h_o)
    supervisees = _supervisees(p, rs, off)
    return SkillsData(off, sessions, supervisees, p)


def _sessions(p: ParamSet, rs: Streams, off: pd.DataFrame, h_o: np.ndarray) -> pd.DataFrame:
    n_o, k = len(off), p["sessions_per_officer"]
    raters = _ids("rater-", p["n_raters"])
    h_r = hash_ids(raters)
    leniency = p["rater_sd"] * rs.normal("rater.leniency", h_r)
    o_idx = np.repeat(np.arange(n_o), k)
    s_idx = np.tile(np.arange(k), n_o)
    h_s = hash_ids([f"session-{i}" for i in range(k)])[s_idx]
    h_os = h_o[o_idx] ^ (h_s * np.uint64(0x9E3779B97F4A7C15))
    perf = p["session_sd"] * rs.normal("session.performance", h_os)
    first = np.floor(rs.uniform("session.rater1", h_os) * len(raters)).astype(int)
    second = (first + 1 + np.floor(rs.uniform("session.rater2", h_os)
                                   * (len(raters) - 1)).astype(int)) % len(raters)
    double = (rs.uniform("session.double", h_os) < p["double_scored"]) & (len(raters) > 1)
    rows_o, rows_s, rows_r, rows_h, rows_perf = [o_idx], [s_idx], [first], [h_os], [perf]
    rows_o.append(o_idx[double])
    rows_s.append(s_idx[double])
    rows_r.append(second[double])
    rows_h.append(h_os[double])
    rows_perf.append(perf[double])
    o_all, s_all, r_all = (np.concatenate(x) for x in (rows_o, rows_s, rows_r))
    h_all, perf_all = np.concatenate(rows_h), np.concatenate(rows_perf)
    skill = {"relationship": off["relationship"].to_numpy(),
             "structuring": off["structuring"].to_numpy()}
    frames = []
    for domain, items in ITEMS.items():
        for item in items:
            h_i = hash_ids([item])[0]
            noise = p["item_sd"] * rs.normal("item.noise", h_all ^ h_i,
                                             hash_ids(raters)[r_all])
            raw = (p["item_mean"] + p["loading"] * skill[domain][o_all] + perf_all
                   + leniency[r_all] + noise)
            frames.append(pd.DataFrame({
                "officer": off["officer"].to_numpy()[o_all], "session": s_all + 1,
                "rater": np.asarray(raters)[r_all], "domain": domain, "item": item,
                "score": np.clip(np.round(raw), 0, 4).astype(int)}))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["officer", "session", "rater", "domain"], kind="stable",
                           ignore_index=True)


def _supervisees(p: ParamSet, rs: Streams, off: pd.DataFrame) -> pd.DataFrame:
    n_o, m = len(off), p["supervisees_per_officer"]
    n = n_o * m
    ids = _ids("person-", n)
    h = hash_ids(ids)
    mean, conc = p["risk_mean"], p["risk_concentration"]
    u_risk = rs.uniform("supervisee.risk", h)
    risk = stats.beta.ppf(u_risk, mean * conc, (1 - mean) * conc)
    risk = np.clip(risk, 1e-6, 1 - 1e-6)
    if p["allocation"] == "random":
        officer_of = np.repeat(np.arange(n_o), m)
        order = np.argsort(rs.uniform("supervisee.shuffle", h), kind="stable")
        officer_of = officer_of[np.argsort(order, kind="stable")]
    else:
        # Gaussian copula: a supervisee's risk and the experience rank of their officer
        c = p["allocation_strength"]
        zr = stats.norm.ppf(u_risk)
        key = c * zr + np.sqrt(1 - c * c) * rs.normal("supervisee.allocation", h)
        slots = np.repeat(np.argsort(off["experience"].to_numpy(), kind="stable"), m)
        officer_of = np.empty(n, dtype=int)
        officer_of[np.argsort(key, kind="stable")] = slots
    r = off["relationship"].to_numpy()[officer_of]
    s = off["structuring"].to_numpy()[officer_of]
    log_hr = (np.log(p["hr_relationship"]) * r + np.log(p["hr_structuring"]) * s
              + np.log(p["hr_interaction"]) * r * s + off["frailty"].to_numpy()[officer_of])
    window = p["follow_up_years"]
    rate = -np.log1p(-risk) / window * np.exp(log_hr)
    t = -np.log(rs.uniform("supervisee.time", h)) / rate
    event = t <= window
    return pd.DataFrame({"supervisee": ids, "officer": off["officer"].to_numpy()[officer_of],
                         "baseline_risk": risk, "time": np.minimum(t, window),
                         "event": event.astype(int)})
