"""Offices and officers of the generative world.

Offices carry a local severity, how common each offence type is locally, the manager's
propensity to override and own tendency, and the pressure of scrutiny over calendar time.
Officers carry their office, experience, age, training route, personal severity, reliability
(noise), the weight they give to actuarial scores, and their tendencies to inflate defensively,
to anchor, the time they have per assessment and how long trust takes them to extend.

Traits are stored in natural units where there are some (years, hours, probabilities) and as
standard scores otherwise (``severity``); the *effects* of traits on ratings are parameters of
the mechanisms in :mod:`riskeval.simulate`, so one set of officers can be assessed under many
mechanism settings. All traits are keyed by identifier (see :mod:`riskeval._core.keyed`): adding
offices or officers does not change the existing ones.

No trait distribution here is a published figure: each is a named assumption listed by
:func:`parameters`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.keyed import Streams, hash_ids
from .._core.params import P, ParamSet, assumption, params_table
from ..errors import RiskevalError, RiskevalTypeError
from .vignettes import OFFENCE_TYPES, population_params

__all__ = ["TRAINING", "TRAINING_ROUTES", "make_officers", "make_offices", "parameters", "train"]

_A = assumption

#: Officer qualification routes in England and Wales, oldest first, with the first year each
#: route qualified officers (approximate; an assumption used to label cohorts).
TRAINING_ROUTES: tuple[tuple[str, int], ...] = (("CQSW", 0), ("DipPS", 1998), ("PQiP", 2010))

_OFFICES = ParamSet("offices", (
    P("prevalence_concentration", 20.0, "positive",
      "Dirichlet concentration of an office's offence mix around the national mix",
      _A("local-offence-mix", "offices differ in their caseload mix by a few points per type")),
    P("override_mean", 0.08, "prob", "mean share of assessments a manager reviews and may change",
      _A("override-rate", "managers review a minority of cases")),
    P("override_concentration", 20.0, "positive", "Beta concentration of override rates",
      _A("override-rate", "offices differ moderately")),
    P("manager_shift_mean", 0.2, "real", "mean latent shift of managers' own judgement",
      _A("manager-caution", "managers reading only the file lean cautious")),
    P("manager_shift_sd", 0.3, "nonneg", "SD of managers' latent shifts across offices",
      _A("manager-caution", "managers differ")),
    P("scrutiny_mean", 1.0, "positive", "mean scrutiny pressure in the base year",
      _A("scrutiny", "pressure is measured relative to the national average")),
    P("scrutiny_sd", 0.3, "nonneg", "SD of log scrutiny pressure across offices",
      _A("scrutiny", "some offices recently had a serious further offence review")),
    P("scrutiny_trend", 0.08, "nonneg", "growth of scrutiny pressure per calendar year",
      _A("growing-scrutiny", "inflation described as recent and growing (CONTEXT.md item 9)")),
    P("base_year", 2015.0, "year", "calendar year at which pressure equals its base level",
      _A("growing-scrutiny", "reference year for the trend")),
))

_OFFICERS = ParamSet("officers", (
    P("experience_mean", 9.0, "positive", "mean years of experience (gamma, shape 1.5)",
      _A("experience-mix", "a young workforce with a long tail of veterans")),
    P("entry_age", 23.0, "positive", "youngest age at qualification",
      _A("officer-age", "age = entry age + gamma(2, 3) + experience")),
    P("reference_year", 2020.0, "year", "calendar year in which experience is counted",
      _A("cohort-labels", "the year of the vignette study (reported 2020)")),
    P("noise_dispersion", 0.3, "nonneg", "SD of log noise factor (officer reliability)",
      _A("reliability-spread", "some officers are much noisier than others")),
    P("actuarial_weight_mean", 0.3, "prob", "mean weight an officer gives actuarial scores",
      _A("actuarial-distrust", "officers say they rely mostly on clinical impression "
                               "(CONTEXT.md item 7)")),
    P("inflation_mean", 0.4, "prob", "mean defensive-inflation tendency (0..1)",
      _A("inflation-tendency", "varies between officers")),
    P("anchoring_mean", 0.6, "prob", "mean chance of holding a high rating against new evidence",
      _A("anchoring-tendency", "reluctance to lower a high rating is common (item 10)")),
    P("centrality_mean", 0.3, "prob", "mean chance that an officer pulls a rating at either end "
      "of the scale one level toward the middle (central tendency; used only when the "
      "central_tendency mechanism is on)",
      _A("central-tendency", "central tendency is a classic rater effect (Myford & Wolfe "
         "2003); its size among probation officers is not published")),
    P("trait_concentration", 6.0, "positive", "Beta concentration of the 0..1 traits",
      _A("trait-spread", "moderate spread between officers")),
    P("hours_mean", 6.0, "positive", "mean hours available per full assessment (gamma, shape 4)",
      _A("time-available", "a full assessment takes many hours; caseloads squeeze it")),
    P("trust_months_mean", 6.0, "positive", "mean months an officer takes to extend trust "
      "(gamma, shape 2)", _A("trust-time", "how long trust takes varies by officer (item 8)")),
))


def parameters() -> pd.DataFrame:
    """The office and officer trait distributions with their meaning and provenance.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``component``, ``enabled``, ``parameter``, ``value``,
        ``meaning``, ``provenance`` and ``is_assumption``.

    Examples
    --------
    >>> from riskeval.world import raters
    >>> table = raters.parameters()
    >>> sorted(set(table["component"]))
    ['officers', 'offices']
    >>> "override_mean" in set(table["parameter"])
    True
    """
    return params_table(_OFFICES.rows() + _OFFICERS.rows())


def office_params(values: Mapping[str, Any] | None = None) -> ParamSet:
    """The office parameter set (with optional replacements)."""
    return _OFFICES.updated(values or {})


def officer_params(values: Mapping[str, Any] | None = None) -> ParamSet:
    """The officer parameter set (with optional replacements)."""
    return _OFFICERS.updated(values or {})


def _beta(u: np.ndarray, mean: float, conc: float) -> np.ndarray:
    mean = float(np.clip(mean, 1e-6, 1 - 1e-6))
    return stats.beta.ppf(u, mean * conc, (1 - mean) * conc)


def make_offices(offices: int | Sequence[str], seed: Any = None, *,
                 params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Draw offices and their local practice.

    Parameters
    ----------
    offices : int or sequence of str
        How many offices (named ``Office 1`` ...) or their names.
    seed : None, int, SeedSequence or Generator
        An office's traits depend only on the seed and its name (None: fresh entropy).
    params : mapping, optional
        Replacement values for the office parameters (see :func:`parameters`).

    Returns
    -------
    pandas.DataFrame
        ``office``; ``severity`` (standard score of local severity); ``share_<offence>`` for
        each offence type (the local caseload mix, summing to 1); ``override_rate``;
        ``manager_shift`` (the manager's own latent tendency); ``scrutiny`` (pressure in the
        base year) and ``scrutiny_trend`` (growth per year).

    Examples
    --------
    >>> from riskeval.world import raters
    >>> offices = raters.make_offices(["North", "South"], seed=1)
    >>> offices["office"].tolist()
    ['North', 'South']
    >>> offices.filter(like="share_").sum(axis=1).round(6).tolist()  # each mix sums to 1
    [1.0, 1.0]
    """
    pp = office_params(params)
    names = _names(offices, "Office {}", "offices")
    h = hash_ids(names)
    rs = Streams(seed)
    national = population_params()
    shares = np.array([national[f"share_{o}"] for o in OFFENCE_TYPES])
    shares = shares / shares.sum()
    conc = pp["prevalence_concentration"]
    frame: dict[str, Any] = {"office": names, "severity": rs.normal("office.severity", h)}
    gam = np.column_stack([
        stats.gamma.ppf(rs.uniform(f"office.mix.{o}", h), conc * s)
        for o, s in zip(OFFENCE_TYPES, shares, strict=True)])
    gam = np.maximum(gam, 1e-12)
    mix_ = gam / gam.sum(axis=1, keepdims=True)
    for j, o in enumerate(OFFENCE_TYPES):
        frame[f"share_{o}"] = mix_[:, j]
    frame["override_rate"] = _beta(rs.uniform("office.override", h), pp["override_mean"],
                                   pp["override_concentration"])
    frame["manager_shift"] = pp["manager_shift_mean"] + pp["manager_shift_sd"] * rs.normal(
        "office.manager", h)
    frame["scrutiny"] = pp["scrutiny_mean"] * np.exp(
        pp["scrutiny_sd"] * rs.normal("office.scrutiny", h) - pp["scrutiny_sd"] ** 2 / 2)
    frame["scrutiny_trend"] = np.full(len(names), pp["scrutiny_trend"])
    frame["base_year"] = np.full(len(names), pp["base_year"])
    return pd.DataFrame(frame)


def _names(spec: int | Sequence[str], pattern: str, what: str) -> np.ndarray:
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 1:
            raise RiskevalError(f"{what} must be >= 1; got {spec}")
        return np.array([pattern.format(i) for i in range(1, int(spec) + 1)], dtype=object)
    if isinstance(spec, str) or not isinstance(spec, Sequence):
        raise RiskevalTypeError(f"{what} must be a count or a list of names; got {spec!r}")
    names = np.array([str(s) for s in spec], dtype=object)
    if len(names) == 0:
        raise RiskevalError(f"{what} must name at least one")
    dup = pd.Index(names).duplicated()
    if dup.any():
        raise RiskevalError(f"{what} names must be unique; {names[dup][0]!r} repeats")
    return names


def make_officers(offices: pd.DataFrame, per_office: int | Mapping[str, int],
                  seed: Any = None, *,
                  params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Draw officers for each office.

    Parameters
    ----------
    offices : pandas.DataFrame
        From :func:`make_offices` (only the ``office`` column is used).
    per_office : int or mapping of office name to int
        Officers in each office. Officer ``j`` of office ``X`` is called ``X/j`` (two digits);
        its traits depend only on the seed and that name, so raising ``per_office`` adds
        officers without changing existing ones.
    seed : None, int, SeedSequence or Generator
        Same seed, same officers (None: fresh entropy).
    params : mapping, optional
        Replacement values for the officer parameters (see :func:`parameters`).

    Returns
    -------
    pandas.DataFrame
        ``officer``, ``office``, ``experience_years``, ``age``, ``route`` (qualification
        route, from the year of qualification), ``severity`` (standard score),
        ``noise_factor`` (multiplies judgement noise; mean 1), ``actuarial_weight``,
        ``inflation_tendency``, ``anchoring_strength`` and ``centrality`` (0..1),
        ``hours_per_assessment`` and ``trust_months``. Each trait has its own keyed stream, so
        a trait added later leaves the others as they were.

    Examples
    --------
    >>> from riskeval.world import raters
    >>> offices = raters.make_offices(["North", "South"], seed=1)
    >>> officers = raters.make_officers(offices, {"North": 2, "South": 1}, seed=1)
    >>> officers["officer"].tolist()
    ['North/01', 'North/02', 'South/01']
    >>> more = raters.make_officers(offices, {"North": 3, "South": 1}, seed=1)
    >>> bool(more.head(2).equals(officers.head(2)))  # existing officers are unchanged
    True
    """
    if not isinstance(offices, pd.DataFrame) or "office" not in offices:
        raise RiskevalTypeError("offices must be a DataFrame with an 'office' column "
                                "(see make_offices)")
    pp = officer_params(params)
    office_names = offices["office"].astype(str).tolist()
    if isinstance(per_office, Mapping):
        unknown = [k for k in per_office if k not in office_names]
        if unknown:
            raise RiskevalError(f"per_office names unknown office {unknown[0]!r}; offices are "
                                f"{office_names}")
        counts = [per_office.get(o, 0) for o in office_names]
    else:
        counts = [per_office] * len(office_names)
    for o, c in zip(office_names, counts, strict=True):
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0:
            raise RiskevalError(f"per_office for {o!r} must be a whole number >= 0; got {c!r}")
    ids = [f"{o}/{j:02d}" for o, c in zip(office_names, counts, strict=True)
           for j in range(1, c + 1)]
    if not ids:
        raise RiskevalError("per_office gives no officers at all")
    office_col = np.repeat(np.array(office_names, dtype=object), counts)
    h = hash_ids(ids)
    rs = Streams(seed)
    exp_ = stats.gamma.ppf(rs.uniform("officer.experience", h), 1.5,
                           scale=pp["experience_mean"] / 1.5).clip(0, 40).round(1)
    age = np.floor(pp["entry_age"] + stats.gamma.ppf(rs.uniform("officer.age", h), 2, scale=3)
                   + exp_).astype(np.int16)
    qualified = pp["reference_year"] - exp_
    starts = np.array([y for _, y in TRAINING_ROUTES])
    route = np.array([r for r, _ in TRAINING_ROUTES], dtype=object)[
        np.searchsorted(starts, qualified, side="right") - 1]
    conc = pp["trait_concentration"]
    disp = pp["noise_dispersion"]
    frame = {
        "officer": np.array(ids, dtype=object), "office": office_col,
        "experience_years": exp_, "age": age, "route": route,
        "severity": rs.normal("officer.severity", h),
        "noise_factor": np.exp(disp * rs.normal("officer.noise", h) - disp ** 2 / 2),
        "actuarial_weight": _beta(rs.uniform("officer.actuarial", h),
                                  pp["actuarial_weight_mean"], conc),
        "inflation_tendency": _beta(rs.uniform("officer.inflation", h), pp["inflation_mean"],
                                    conc),
        "anchoring_strength": _beta(rs.uniform("officer.anchoring", h), pp["anchoring_mean"],
                                    conc),
        "centrality": _beta(rs.uniform("officer.centrality", h), pp["centrality_mean"], conc),
        "hours_per_assessment": stats.gamma.ppf(rs.uniform("officer.hours", h), 4,
                                                scale=pp["hours_mean"] / 4),
        "trust_months": stats.gamma.ppf(rs.uniform("officer.trust", h), 2,
                                        scale=pp["trust_months_mean"] / 2),
    }
    return pd.DataFrame(frame)


TRAINING = ParamSet("training", (
    P("noise_factor", 0.8, "positive", "multiplier of a trained officer's judgement noise",
      _A("training-noise", "training makes judgements more consistent; size to explore")),
    P("actuarial_weight_shift", 0.2, "real", "added to a trained officer's actuarial weight "
      "(kept within 0..1)", _A("training-actuarial", "training teaches use of the score")),
    P("inflation_factor", 0.5, "nonneg", "multiplier of a trained officer's inflation "
      "tendency", _A("training-inflation", "training addresses defensive practice")),
))


def train(officers: pd.DataFrame, trained: Any, **effects: Any) -> pd.DataFrame:
    """Officers after a training programme: the ``trained`` ones have their traits changed.

    Training can reduce judgement noise (``noise_factor``), raise the weight given to the
    actuarial score (``actuarial_weight_shift``) and reduce defensive inflation
    (``inflation_factor``); each effect is a parameter (:data:`TRAINING`, all labelled
    assumptions) so a designer can ask what a programme would have to achieve to be
    detectable. Supervision skills are raised in :mod:`riskeval.skills`
    (``training_shift``).

    Parameters
    ----------
    officers : DataFrame
        From :func:`make_officers` (not modified).
    trained : bool array, or collection of officer identifiers
        Who was trained.

    Returns
    -------
    pandas.DataFrame
        A copy with a ``trained`` column and the trained officers' traits changed.

    Examples
    --------
    >>> from riskeval.world import raters
    >>> offices = raters.make_offices(["North", "South"], seed=1)
    >>> officers = raters.make_officers(offices, 2, seed=1)
    >>> after = raters.train(officers, ["North/01"], noise_factor=0.5)
    >>> after["trained"].tolist()
    [True, False, False, False]
    >>> (after["noise_factor"] / officers["noise_factor"]).round(3).tolist()
    [0.5, 1.0, 1.0, 1.0]
    """
    p = TRAINING.updated(effects)
    out = officers.copy()
    ids = out["officer"].astype(str)
    mask = np.asarray(trained)
    if mask.dtype != bool:
        wanted = {str(x) for x in np.atleast_1d(trained)}
        unknown = sorted(wanted - set(ids))
        if unknown:
            raise RiskevalError(f"trained names officer {unknown[0]!r}, who is not in the "
                                f"table")
        mask = ids.isin(wanted).to_numpy()
    elif mask.shape != (len(out),):
        raise RiskevalError(f"trained has shape {mask.shape}; expected one flag per officer "
                            f"({len(out)})")
    out["trained"] = mask
    out.loc[mask, "noise_factor"] = out.loc[mask, "noise_factor"] * p["noise_factor"]
    out.loc[mask, "actuarial_weight"] = np.clip(
        out.loc[mask, "actuarial_weight"] + p["actuarial_weight_shift"], 0.0, 1.0)
    out.loc[mask, "inflation_tendency"] = np.clip(
        out.loc[mask, "inflation_tendency"] * p["inflation_factor"], 0.0, 1.0)
    return out
