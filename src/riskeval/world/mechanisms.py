"""The mechanisms of variation, one small function each, and the registry :func:`simulate` runs.

Each mechanism function takes the :class:`Inputs` of one simulation and the mechanism's
parameters and returns an :class:`Effect`: the parts of the rating it acts on. A mechanism may
add a latent term that depends on the case only (``case``), on the officer only (``officer``),
on the pair but not on the occasion (``pair``), or that is drawn afresh on every occasion
(``occasion``); and it may move the category after the cut (``step``). :data:`APPLY_ORDER`
lists the mechanisms in the order their parts are applied; the formulas are those listed in
:mod:`riskeval.world.engine`.

This module is private to the world: use the mechanisms through
:meth:`riskeval.world.World.with_mechanisms` and :func:`riskeval.world.simulate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._core.keyed import Streams, normal, rekey
from .._core.keyed import thresholds as _thresholds
from .._core.params import ParamSet
from ..data.ratings import RISK_LEVELS
from ..errors import RiskevalError
from .vignettes import OFFENCE_TYPES, population_params

__all__: list[str] = []

_TOP = len(RISK_LEVELS) - 1


@dataclass
class Inputs:
    """Everything a mechanism reads, fixed for one simulation.

    In a crossed design every per-rating array has shape (officers, cases) and per-case or
    per-officer vectors broadcast (``at_case``, ``at_officer``); otherwise arrays are flat, one
    entry per assessment (case ``ci``, officer ``oi``).
    """

    vignettes: pd.DataFrame
    offices: pd.DataFrame
    officers: pd.DataFrame
    col: dict[str, np.ndarray]      # case columns used by several mechanisms
    offence: np.ndarray             # offence-type code of each case
    experience: np.ndarray          # each officer's years of experience
    f_of_o: np.ndarray              # office index of each officer
    ci: np.ndarray
    oi: np.ndarray
    shape: tuple[int, ...]
    streams: Streams
    cuts: np.ndarray

    def at_case(self, x: np.ndarray) -> np.ndarray:
        """A per-case vector laid out like the ratings of one occasion."""
        return x[None, :] if len(self.shape) == 2 else x[self.ci]

    def at_officer(self, x: np.ndarray) -> np.ndarray:
        """A per-officer vector laid out like the ratings of one occasion."""
        return x[:, None] if len(self.shape) == 2 else x[self.oi]

    def officer_col(self, name: str) -> np.ndarray:
        return self.officers[name].to_numpy(float)

    def office_col(self, name: str) -> np.ndarray:
        return self.offices[name].to_numpy(float)


@dataclass
class Occasion:
    """The state of one occasion's ratings while the category steps act on them."""

    year: float
    keys: np.ndarray                 # the key of every rating, laid out as ``Inputs.shape``
    cur: np.ndarray                  # flat category codes, moved by the steps
    prev: np.ndarray | None          # flat codes of the previous occasion (None on the first)
    true: np.ndarray                 # flat true harm score of every rating
    flags: dict[str, np.ndarray] = field(default_factory=dict)  # flat changed_by_* views

    def draw_below(self, inp: Inputs, stream: str, thr: np.ndarray) -> np.ndarray:
        """Flat boolean: each rating's draw in ``stream`` is below its officer's threshold."""
        return (rekey(self.keys, inp.streams.key(stream)) < inp.at_officer(thr)).reshape(-1)


@dataclass
class Effect:
    """What a mechanism does to the ratings (any part may be absent)."""

    case: np.ndarray | None = None
    officer: np.ndarray | None = None
    pair: np.ndarray | None = None
    occasion: Callable[[Occasion], np.ndarray] | None = None
    step: Callable[[Occasion], None] | None = None
    #: the step is not the officer's: ``officer_rating`` is recorded before it acts
    after_officer: bool = False


Mechanism = Callable[[Inputs, ParamSet], Effect]


def cut(latent: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """The category code (0 = low, ...) of each latent judgement, cut at ``cuts``."""
    out = (latent >= cuts[0]).astype(np.int8)
    for c in cuts[1:]:
        out += latent >= c
    return out


# -- latent terms of the case ------------------------------------------------------------------

def offence_over_offender(inp: Inputs, p: ParamSet) -> Effect:
    """Item 1: ``+a * harm_offence - b * harm_offender``."""
    return Effect(case=p["offence_weight"] * inp.col["harm_offence"]
                  - p["offender_discount"] * inp.col["harm_offender"])


def generic_factors(inp: Inputs, p: ParamSet) -> Effect:
    """Item 2: ``+w * (sum of the named need scores)``."""
    needs = inp.vignettes[[f"need_{a}" for a in p["areas"]]].to_numpy(float)
    return Effect(case=p["weight"] * needs.sum(axis=1))


def psychological_ignored(inp: Inputs, p: ParamSet) -> Effect:
    """Item 3: ``-f * harm_psychological``."""
    return Effect(case=-p["fraction"] * inp.col["harm_psychological"])


# -- latent terms of the officer ---------------------------------------------------------------

def office_practice(inp: Inputs, p: ParamSet) -> Effect:
    """Item 4: ``+sd * office.severity``."""
    return Effect(officer=p["sd"] * inp.office_col("severity")[inp.f_of_o])


def who_assesses(inp: Inputs, p: ParamSet) -> Effect:
    """Item 5: personal severity, experience and age."""
    return Effect(officer=p["sd"] * inp.officer_col("severity")
                  + p["per_decade_experience"] * (inp.experience - p["experience_centre"]) / 10
                  + p["per_decade_age"] * (inp.officer_col("age") - p["age_centre"]) / 10)


# -- latent terms of the pair ------------------------------------------------------------------

def familiarity(inp: Inputs, p: ParamSet) -> Effect:
    """Item 6: familiar offence types (locally common, long experience) are rated lower."""
    nat = population_params()
    nat_share = np.array([nat[f"share_{o}"] for o in OFFENCE_TYPES])
    nat_share = nat_share / nat_share.sum()
    share = inp.offices[[f"share_{o}" for o in OFFENCE_TYPES]].to_numpy(float)[inp.f_of_o]
    fam = -p["strength"] * (np.log((share + 0.01) / (nat_share + 0.01))
                            + np.log((inp.experience + 1) / (p["experience_centre"] + 1))[:, None]
                            ).clip(-2, 2)
    return Effect(pair=fam[:, inp.offence] if len(inp.shape) == 2
                  else fam[inp.oi, inp.offence[inp.ci]])


def trust_honesty(inp: Inputs, p: ParamSet) -> Effect:
    """Item 8: risky until proven otherwise, and silence read as risk."""
    trust = inp.officer_col("trust_months")
    months = inp.col["months_known"].astype(float)
    openness = inp.col["openness"].astype(float)
    return Effect(pair=p["start"] * np.exp(-inp.at_case(months) / inp.at_officer(trust))
                  + inp.at_case(p["per_closed_point"] * (2 - openness)))


# -- latent terms drawn on every occasion ------------------------------------------------------

def actuarial_distrust(inp: Inputs, p: ParamSet) -> Effect:
    """Item 7: a fresh clinical impression replaces part of the actuarial score."""
    distrust = inp.at_officer(1.0 - inp.officer_col("actuarial_weight"))
    offender_loss = -p["discount"] * inp.at_case(inp.col["harm_offender"])
    key = inp.streams.key("actuarial")

    def term(occ: Occasion) -> np.ndarray:
        return distrust * (offender_loss + p["clinical_sd"] * normal(rekey(occ.keys, key)))
    return Effect(occasion=term)


def noise(inp: Inputs, p: ParamSet) -> Effect:
    """Judgement noise: ``noise.sd * noise_factor_o * N(0, 1)``."""
    sd = inp.at_officer(p["sd"] * inp.officer_col("noise_factor"))
    key = inp.streams.key("noise")

    def term(occ: Occasion) -> np.ndarray:
        return sd * normal(rekey(occ.keys, key))
    return Effect(occasion=term)


# -- steps on the category ---------------------------------------------------------------------

def resource_raising(inp: Inputs, p: ParamSet) -> Effect:
    """Item 12: a case one level below ``to_level`` raised to obtain a bed or at recall."""
    target = RISK_LEVELS.index(p["to_level"])
    nfa = inp.vignettes["accommodation"].to_numpy() == "no fixed abode"
    recall = inp.vignettes["recall"].to_numpy(bool)
    thr_ap, thr_recall = _thresholds(p["no_fixed_abode"]), _thresholds(p["recall"])
    key_ap, key_recall = inp.streams.key("resource.ap"), inp.streams.key("resource.recall")
    eligible = nfa | recall

    def step(occ: Occasion) -> None:
        cand = np.flatnonzero((occ.cur == target - 1) & eligible[inp.ci])
        bc, cc = occ.keys.reshape(-1)[cand], inp.ci[cand]
        hit = cand[(nfa[cc] & (rekey(bc, key_ap) < thr_ap))
                   | (recall[cc] & (rekey(bc, key_recall) < thr_recall))]
        occ.cur[hit] = target
        occ.flags["resource_raising"][hit] = True
    return Effect(step=step)


def central_tendency(inp: Inputs, p: ParamSet) -> Effect:
    """Central tendency: a rating at either end of the scale is pulled one level toward the
    middle with probability ``strength * centrality_o`` (capped at 1)."""
    if "centrality" not in inp.officers:
        raise RiskevalError("the central_tendency mechanism needs the officers' 'centrality' "
                            "trait (0..1), which riskeval.world.raters.make_officers draws; "
                            "add the column to the officers table")
    thr = _thresholds(np.minimum(1.0, p["strength"] * inp.officer_col("centrality")))

    def step(occ: Occasion) -> None:
        end = (occ.cur == 0) | (occ.cur == _TOP)
        pull = end & occ.draw_below(inp, "central_tendency", thr)
        occ.cur = np.where(pull, np.where(occ.cur == 0, 1, _TOP - 1), occ.cur).astype(
            occ.cur.dtype)
        occ.flags["central_tendency"][:] = pull
    return Effect(step=step)


def defensive_inflation(inp: Inputs, p: ParamSet) -> Effect:
    """Item 9: one level up with a hazard growing with scrutiny (or, ``form="shift"``, a
    latent shift)."""
    tend = inp.officer_col("inflation_tendency")
    scrutiny, trend = inp.office_col("scrutiny"), inp.office_col("scrutiny_trend")
    base_year = inp.office_col("base_year")

    def pressure_at(year: float) -> np.ndarray:
        """Each officer's scrutiny pressure in ``year`` (that of their office)."""
        return np.maximum(0.0, scrutiny + trend * (year - base_year))[inp.f_of_o]

    if p["form"] == "shift":
        def term(occ: Occasion) -> np.ndarray:
            return inp.at_officer(p["shift"] * tend * pressure_at(occ.year))
        return Effect(occasion=term)

    def step(occ: Occasion) -> None:
        p_up = -np.expm1(-p["strength"] * tend * pressure_at(occ.year))
        up = occ.draw_below(inp, "inflation", _thresholds(p_up)) & (occ.cur < _TOP)
        occ.cur += up
        occ.flags["defensive_inflation"][:] = up
    return Effect(step=step)


def anchoring(inp: Inputs, p: ParamSet) -> Effect:
    """Item 10: on a repeat assessment a high previous rating is kept instead of a lower one."""
    thr = _thresholds(p["strength"] * inp.officer_col("anchoring_strength"))
    anchor_from = RISK_LEVELS.index(p["from_level"])

    def step(occ: Occasion) -> None:
        if occ.prev is None:
            return
        keep = ((occ.prev >= anchor_from) & (occ.cur < occ.prev)
                & occ.draw_below(inp, "anchoring", thr))
        occ.cur = np.where(keep, occ.prev, occ.cur)
        occ.flags["anchoring"][:] = keep
    return Effect(step=step)


def time_resources(inp: Inputs, p: ParamSet) -> Effect:
    """Item 11: more time finds more risk (latent); too little time skips reviews (step)."""
    hours = inp.officer_col("hours_per_assessment")
    thr_skip = _thresholds(p["skip_review"] * np.clip(1 - hours / p["reference_hours"], 0, 1))

    def step(occ: Occasion) -> None:
        if occ.prev is None:
            return
        skip = occ.draw_below(inp, "skip", thr_skip) & (occ.cur != occ.prev)
        occ.cur = np.where(skip, occ.prev, occ.cur)
        occ.flags["time_resources"][:] |= skip
    return Effect(officer=p["per_doubling"] * np.log2(hours / p["reference_hours"]), step=step)


def manager_override(inp: Inputs, p: ParamSet) -> Effect:
    """Item 13: a manager who never met the person re-rates from the file."""
    thr_rate = _thresholds(np.minimum(1.0, p["rate_scale"]
                                      * inp.office_col("override_rate"))[inp.f_of_o])
    shift = inp.office_col("manager_shift")[inp.f_of_o]
    reading = inp.streams.key("override.reading")

    def step(occ: Occasion) -> None:
        rev = np.flatnonzero(occ.draw_below(inp, "override.review", thr_rate))
        mgr = cut(occ.true[rev] + shift[inp.oi[rev]]
                   + p["offence_emphasis"] * inp.col["harm_offence"][inp.ci[rev]]
                   + p["sd"] * normal(rekey(occ.keys.reshape(-1)[rev], reading)), inp.cuts)
        moved = mgr != occ.cur[rev]
        occ.cur[rev[moved]] = mgr[moved]
        occ.flags["manager_override"][rev[moved]] = True
    return Effect(step=step, after_officer=True)


#: Every component by name, in the order its parts apply: within each kind of latent term
#: (case, officer, pair, occasion) the terms are added in this order, and the category steps
#: act in this order.
APPLY_ORDER: dict[str, Mechanism] = {
    "offence_over_offender": offence_over_offender,
    "generic_factors": generic_factors,
    "psychological_ignored": psychological_ignored,
    "office_practice": office_practice,
    "who_assesses": who_assesses,
    "familiarity": familiarity,
    "trust_honesty": trust_honesty,
    "actuarial_distrust": actuarial_distrust,
    "noise": noise,
    "central_tendency": central_tendency,
    "resource_raising": resource_raising,
    "defensive_inflation": defensive_inflation,
    "anchoring": anchoring,
    "time_resources": time_resources,
    "manager_override": manager_override,
}


def prepare(inp: Inputs, params: dict[str, Any], on: set[str]) -> dict[str, Effect]:
    """The effect of every mechanism switched on, in :data:`APPLY_ORDER`."""
    return {m: fn(inp, params[m]) for m, fn in APPLY_ORDER.items() if m in on}
