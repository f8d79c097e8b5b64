"""The assessment process: officers in offices rate vignettes, with every mechanism switchable.

A :class:`World` holds the vignettes (:mod:`riskeval.world.vignettes`), the offices and officers
(:mod:`riskeval.world.raters`), an :class:`Allocation` of cases to officers and thirteen
mechanisms of variation -- one per item of the vignette study described in ``CONTEXT.md`` --
plus judgement noise. Calling :func:`simulate` (also available as
``riskeval.simulate(world, seed=...)``) returns a tidy ratings table.

How a rating is made
--------------------
Officer *o* in office *f* assessing case *c* on occasion *t* forms a latent judgement

``latent = harm(c, t) + sum of the active latent mechanisms + noise``

where ``harm(c, t)`` is the case's true serious-harm score (its ``harm_latent`` plus any change in
the evidence between occasions) and cuts it at the same thresholds that define the evidence-based
``reference`` level. With every mechanism off and no noise the officer therefore reproduces the
reference exactly. The latent mechanisms are:

- ``offence_over_offender`` (1) -- more weight on the offence, less on the offender:
  ``+a * harm_offence - b * harm_offender``.
- ``generic_factors`` (2) -- generic needs raise risk though nothing links them to harm:
  ``+w * (sum of the named need scores)``.
- ``psychological_ignored`` (3) -- a fraction of the psychological term is dropped:
  ``-f * harm_psychological``.
- ``office_practice`` (4) -- local severity: ``+sd * office.severity``.
- ``who_assesses`` (5) -- personal severity, experience and age:
  ``+sd * officer.severity + e * (experience - centre) / 10 + g * (age - centre) / 10``.
- ``familiarity`` (6) -- the more familiar the offence type (locally common, long experience), the
  lower the rating: ``-s * clip(log((share_fk + .01) / (national_k + .01))
  + log((experience + 1) / (centre + 1)), -2, 2)``.
- ``actuarial_distrust`` (7) -- an officer who gives weight ``w_o`` to actuarial scores replaces the
  rest by clinical impression: ``(1 - w_o) * (-d * harm_offender + sd * N(0, 1))``.
- ``trust_honesty`` (8) -- risky until proven otherwise, and silence read as risk:
  ``+s * exp(-months_known / trust_months_o) + c * (2 - openness)``.
- ``time_resources`` (11, latent part) -- more time finds more that supports a high rating:
  ``+k * log2(hours_o / reference_hours)``.

and judgement noise ``noise.sd * noise_factor_o * N(0, 1)``. After the cut, the category can be
moved by the mechanisms that act on categories, in this order:

- ``resource_raising`` (12) -- a case one level below ``to_level`` is raised to it, with one
  probability when there is no fixed abode (an Approved Premises bed) and another at recall.
- ``defensive_inflation`` (9) -- one level up (never down) with probability
  ``1 - exp(-strength * inflation_tendency_o * scrutiny_f(year))``, where scrutiny grows
  linearly with calendar year; so inflation is strictly upward and grows over time. With
  ``form="shift"`` it acts before the cut instead, as the latent term
  ``+shift * inflation_tendency_o * scrutiny_f(year)``; its yearly growth,
  ``shift * inflation_tendency_o * scrutiny_trend_f``, is then a latent-scale truth that
  :func:`riskeval.variation.bias.inflation_trend` estimates.
- ``anchoring`` (10) -- on a repeat assessment, a previous rating at or above ``from_level`` is kept
  instead of a lower one with probability ``strength * anchoring_strength_o`` (capped at 1).
- ``time_resources`` (11, recording part) -- on a repeat assessment, with probability
  ``skip_review * max(0, 1 - hours_o / reference_hours)`` the review is skipped and the previous
  rating stands, so the recorded risk drifts from the assessed risk.
- ``central_tendency`` (a rater effect, off by default) -- a rating at either end of the
  scale (low, very high) is pulled one level toward the middle with probability
  ``strength * centrality_o`` (capped at 1): the officer avoids the extreme categories
  (Myford & Wolfe 2003). It acts first among the steps.
- ``manager_override`` (13) -- with probability ``rate_scale * override_rate_f`` a manager who never
  met the person re-rates from the file, which records the offence far better than the
  person: ``cut(harm(c, t) + e * harm_offence + manager_shift_f + sd * N(0, 1))``.

Each mechanism is one small function in :mod:`riskeval.world.mechanisms` (private), returning
its latent terms and its step on the category; :data:`riskeval.world.mechanisms.APPLY_ORDER`
is the registry :func:`simulate` runs, in the order the parts apply.

The table records, for every rating, which mechanisms changed it: ``changed_by_<name>`` is true
when removing that mechanism alone, all else (including every random draw) equal, would have
given a different category at its step.

Randomness
----------
Every draw is keyed by (seed, mechanism, officer, case, occasion) -- see :mod:`riskeval._core.keyed`
-- so the same seed gives the same table byte for byte, adding officers or cases does not change
the ratings of the existing ones, and switching a mechanism off leaves every other draw as it
was (ablations use common random numbers).

The six-office study is qualitative (see ``CONTEXT.md``): it gives directions, not effect sizes.
Every default below is therefore a named assumption; :meth:`World.parameters` lists them with
their provenance, and :func:`mechanism_effects` is the sensitivity analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import plain_value
from .._core.keyed import Streams, hash_ids, mix, normal, rekey, small_ids
from .._core.params import P, ParamSet, assumption, check_value, params_table, suggest
from .._core.results import SeriesResult, TableResult
from .._core.seeds import seed_sequence
from ..data.ratings import RISK_LEVELS
from ..errors import RiskevalError, RiskevalTypeError
from .mechanisms import Inputs, Occasion, cut, prepare
from .vignettes import (
    NEED_AREAS,
    OFFENCE_TYPES,
    thresholds,
    truth_params,
    validate_vignettes,
)

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_NO_COPY: dict[str, Any] = {"copy": False} if int(pd.__version__.split(".")[0]) < 3 else {}

__all__ = ["MECHANISMS", "Allocation", "MechanismEffects", "SensitivityCurve", "World",
           "disagreement_statistics", "mechanism_effects", "sensitivity", "simulate"]

_A = assumption
_LEVELS = "|".join(RISK_LEVELS)
_C = "CONTEXT.md item"

#: The thirteen mechanisms of CONTEXT.md, in its order, then the classic rater effect of
#: central tendency (off by default, so worlds made before it give the same ratings), then
#: judgement noise.
_REGISTRY: dict[str, tuple[str, ParamSet]] = {
    "offence_over_offender": (f"{_C} 1: the offence, not the person, carries the weight",
                              ParamSet("offence_over_offender", (
        P("offence_weight", 0.3, "nonneg", "extra weight on the offence term (fraction)",
          _A("offence-emphasis", "direction from item 1; size assumed")),
        P("offender_discount", 0.5, "prob", "share of the offender (reconviction) term lost",
          _A("offence-emphasis", "direction from item 1; size assumed")),
    ))),
    "generic_factors": (f"{_C} 2: generic needs raise risk without a link to harm",
                        ParamSet("generic_factors", (
        P("weight", 0.1, "nonneg", "latent rise per need point in the named areas",
          _A("generic-weight", "direction from item 2; size assumed")),
        P("areas", ("drug_misuse", "alcohol_misuse"), "subset:" + "|".join(NEED_AREAS),
          "need areas read as generic risk", _A("generic-areas", "substance misuse, as in item 2")),
    ))),
    "psychological_ignored": (f"{_C} 3: supported psychological risk factors are not used",
                              ParamSet("psychological_ignored", (
        P("fraction", 0.8, "prob", "share of the psychological-risk term ignored",
          _A("psych-neglect", "item 3 says they are not used; a small residue assumed")),
    ))),
    "office_practice": (f"{_C} 4: local practice and training differ by office",
                        ParamSet("office_practice", (
        P("sd", 0.35, "nonneg", "latent SD of office severity",
          _A("office-sd", "offices differ (item 4); size assumed")),
    ))),
    "who_assesses": (f"{_C} 5: the officer's own severity, age and experience",
                     ParamSet("who_assesses", (
        P("sd", 0.3, "nonneg", "latent SD of personal severity between officers",
          _A("officer-sd", "officers differ (item 5); size assumed")),
        P("per_decade_experience", -0.15, "real", "latent shift per 10 years of experience",
          _A("experience-effect", "item 5 gives no direction; experience assumed to lower")),
        P("per_decade_age", 0.05, "real", "latent shift per 10 years of age",
          _A("age-effect", "item 5 gives no direction; older assumed slightly more severe")),
        P("experience_centre", 9.0, "nonneg", "experience (years) at which the shift is zero",
          _A("centring", "mean experience of the officer generator")),
        P("age_centre", 40.0, "positive", "age at which the shift is zero",
          _A("centring", "about the mean officer age")),
    ))),
    "familiarity": (f"{_C} 6: familiar offence types are rated lower, unusual ones higher",
                    ParamSet("familiarity", (
        P("strength", 0.25, "nonneg", "latent fall per unit of log familiarity",
          _A("familiarity-slope", "direction from item 6; size assumed")),
        P("experience_centre", 9.0, "nonneg", "experience at which familiarity is national",
          _A("centring", "mean experience of the officer generator")),
    ))),
    "actuarial_distrust": (f"{_C} 7: clinical impression replaces the actuarial score",
                           ParamSet("actuarial_distrust", (
        P("discount", 0.5, "prob", "share of the offender term a fully distrustful officer loses",
          _A("distrust-loss", "item 7: static scores not used for the final judgement")),
        P("clinical_sd", 0.4, "nonneg", "latent SD of clinical impression in its place",
          _A("clinical-noise", "impression is case-specific and idiosyncratic")),
    ))),
    "trust_honesty": (f"{_C} 8: risky until proven otherwise; silence read as risk",
                      ParamSet("trust_honesty", (
        P("start", 0.2, "nonneg", "latent uplift for a person the officer has just met",
          _A("initial-distrust", "direction from item 8; size assumed")),
        P("per_closed_point", 0.15, "nonneg", "latent uplift per point of openness below 2",
          _A("silence-as-risk", "direction from item 8; size assumed")),
    ))),
    "defensive_inflation": (f"{_C} 9: fear of blame raises ratings, only upward, growing",
                            ParamSet("defensive_inflation", (
        P("strength", 0.5, "nonneg", "hazard scale of a one-level upward step",
          _A("inflation-rate", "about one rating in six raised at base-year pressure")),
        P("form", "step", "choice:step|shift", "how inflation acts: a one-level step on the "
          "category, or a shift of the latent judgement",
          _A("inflation-form", "item 9 describes ratings moved up a level; the latent shift "
             "is the threshold-model reading, used where a latent-scale truth is needed")),
        P("shift", 0.5, "nonneg", "latent shift per unit of tendency x pressure (form 'shift')",
          _A("inflation-shift", "a third of the judgement-noise SD for a typical officer at "
             "base-year pressure")),
    ))),
    "anchoring": (f"{_C} 10: a high rating, once given, is not lowered",
                  ParamSet("anchoring", (
        P("strength", 1.0, "nonneg", "multiplier of each officer's anchoring strength",
          _A("anchoring-scale", "officer traits used as drawn")),
        P("from_level", "high", f"choice:{_LEVELS}", "ratings at or above this level anchor",
          _A("anchor-level", "item 10 speaks of cases once rated high")),
    ))),
    "time_resources": (f"{_C} 11: more time finds more risk; less time skips reviews",
                       ParamSet("time_resources", (
        P("per_doubling", 0.15, "real", "latent shift per doubling of hours available",
          _A("time-finds-risk", "direction from item 11; size assumed")),
        P("reference_hours", 6.0, "positive", "hours at which neither part acts",
          _A("time-reference", "mean hours of the officer generator")),
        P("skip_review", 0.5, "prob", "chance of skipping a review with no time at all",
          _A("skipped-reviews", "item 11: with less time reviews are skipped")),
    ))),
    "resource_raising": (f"{_C} 12: rating up to obtain a bed or at recall",
                         ParamSet("resource_raising", (
        P("no_fixed_abode", 0.5, "prob", "chance of raising a homeless case one level to obtain "
          "an Approved Premises bed", _A("ap-raising", "direction from item 12; size assumed")),
        P("recall", 0.3, "prob", "chance of raising a recall case one level",
          _A("recall-raising", "direction from item 12; size assumed")),
        P("to_level", "high", f"choice:{_LEVELS}", "the level that unlocks the resource",
          _A("ap-threshold", "AP beds and recall decisions turn on a high rating")),
    ))),
    "manager_override": (f"{_C} 13: a manager who never met the person changes the category",
                         ParamSet("manager_override", (
        P("rate_scale", 1.0, "nonneg", "multiplier of each office's override rate",
          _A("override-scale", "office traits used as drawn")),
        P("sd", 0.4, "nonneg", "latent SD of the manager's reading of the file",
          _A("manager-noise", "a file-only reading is noisy")),
        P("offence_emphasis", 0.3, "nonneg", "extra weight the file reading puts on the offence",
          _A("file-reading", "item 13: the manager never met the person, only read the file")),
    ))),
    "central_tendency": ("a classic rater effect (not in CONTEXT.md): ratings at either end "
                         "of the scale pulled toward the middle; off unless switched on",
                         ParamSet("central_tendency", (
        P("strength", 1.0, "nonneg", "multiplier of each officer's centrality (the chance of "
          "pulling an end rating one level inward)",
          _A("centrality-scale", "officer traits used as drawn; central tendency as catalogued "
             "by Myford & Wolfe (2003)")),
    ))),
    "noise": ("judgement noise (not a mechanism of CONTEXT.md; unreliability of any rating)",
              ParamSet("noise", (
        P("sd", 0.35, "nonneg", "latent SD of judgement noise for an officer of average "
          "reliability", _A("noise-sd", "comparable to the spread between officers")),
    ))),
}

#: Names of the components, in CONTEXT.md order, then ``central_tendency`` and ``noise``.
MECHANISMS: tuple[str, ...] = tuple(_REGISTRY)

#: Components a new world has switched off (switch on with ``with_mechanisms``).
OFF_BY_DEFAULT: frozenset[str] = frozenset({"central_tendency"})


@dataclass(frozen=True)
class Component:
    """A mechanism (or the noise) of a world: on or off, with its parameters."""

    name: str
    enabled: bool
    params: ParamSet

    @property
    def description(self) -> str:
        return _REGISTRY[self.name][0]


_DESIGN = ParamSet("design", (
    P("allocation", "crossed", "choice:crossed|incomplete|caseload",
      "which officer assesses which case", "study design (user choice)"),
    P("vignettes_per_officer", 1, "count", "vignettes each officer rates (allocation "
      "'incomplete')", "study design (user choice)"),
    P("second_assessor", 0.0, "prob", "share of cases double-assessed (allocation 'caseload')",
      "study design (user choice)"),
    P("occasions", 1, "count", "assessments of each case by the same officer over time",
      "study design (user choice)"),
    P("interval_years", 0.5, "nonneg", "calendar time between occasions",
      _A("review-interval", "reviews about every six months")),
    P("start_year", 2020.0, "year", "calendar year of the first occasion",
      _A("study-year", "the vignette study was reported in 2020")),
    P("evidence_change_sd", 0.0, "nonneg", "latent SD of the change in a case's true harm "
      "between occasions (symmetric: as likely up as down)",
      _A("evidence-change", "no change unless asked for")),
))


@dataclass(frozen=True)
class Allocation:
    """How officers are allocated to cases, and over how many occasions.

    Parameters
    ----------
    allocation : {'crossed', 'incomplete', 'caseload'}
        ``crossed``: every officer rates every vignette (officers are always nested in
        offices). ``incomplete``: a cyclic balanced-incomplete allocation -- the officer in
        position *p* of the officer table rates vignettes ``(p * k + i) mod V`` for
        ``i < k = vignettes_per_officer``, so each vignette is rated by about ``n * k / V``
        officers. ``caseload``: real cases, each allocated to one office with probability
        proportional to that office's officer count times its local share of the case's
        offence type, then to an officer of that office uniformly; a share
        ``second_assessor`` is also assessed by a second officer of the same office. The
        caseload allocation depends on the officer counts, so adding officers can move cases.
    vignettes_per_officer, second_assessor, occasions, interval_years, start_year,
    evidence_change_sd
        See :meth:`World.parameters` for meaning and provenance.

    Examples
    --------
    >>> import riskeval as rv
    >>> design = rv.world.Allocation(allocation="incomplete", vignettes_per_officer=4, occasions=2)
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6, design=design)
    >>> ratings = rv.simulate(world, seed=1)
    >>> len(ratings)  # 6 officers x 4 vignettes x 2 occasions
    48
    >>> sorted(set(ratings["occasion"]))
    [0, 1]
    """

    allocation: str = "crossed"
    vignettes_per_officer: int = 1
    second_assessor: float = 0.0
    occasions: int = 1
    interval_years: float = 0.5
    start_year: float = 2020.0
    evidence_change_sd: float = 0.0

    def __post_init__(self) -> None:
        for p in _DESIGN.params:
            object.__setattr__(self, p.name, check_value(getattr(self, p.name), p.kind,
                                                         f"design.{p.name}"))

    def params(self) -> ParamSet:
        return _DESIGN.updated({p.name: getattr(self, p.name) for p in _DESIGN.params})


_OFFICE_COLS = ("office", "severity", *(f"share_{o}" for o in OFFENCE_TYPES), "override_rate",
                "manager_shift", "scrutiny", "scrutiny_trend", "base_year")
_OFFICER_COLS = ("officer", "office", "experience_years", "age", "severity", "noise_factor",
                 "actuarial_weight", "inflation_tendency", "anchoring_strength",
                 "hours_per_assessment", "trust_months")
_UNIT_COLS = ("actuarial_weight", "inflation_tendency", "anchoring_strength", "override_rate")
_POSITIVE_COLS = ("noise_factor", "hours_per_assessment", "trust_months")


def _check_table(frame: Any, cols: Iterable[str], what: str, key: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise RiskevalTypeError(f"{what} must be a pandas DataFrame; got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise RiskevalError(f"{what} table lacks column(s) {missing}; see riskeval.world.raters."
                            f"make_{what} for the expected columns")
    if len(frame) == 0:
        raise RiskevalError(f"{what} table has no rows")
    out = frame.reset_index(drop=True).copy()
    out[key] = out[key].astype(str)
    dup = out[key].duplicated()
    if dup.any():
        raise RiskevalError(f"column {key!r} of the {what} table must be unique; "
                            f"{out[key][dup].iloc[0]!r} repeats")
    for c in cols:
        if c in (key, "office"):
            continue
        v = pd.to_numeric(out[c], errors="coerce")
        bad = v.isna() | ~np.isfinite(v)
        if c in _UNIT_COLS:
            bad |= (v < 0) | (v > 1)
        elif c in _POSITIVE_COLS:
            bad |= v <= 0
        elif c in ("experience_years", "scrutiny", "scrutiny_trend") or c.startswith("share_"):
            bad |= v < 0
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            want = ("a probability in [0, 1]" if c in _UNIT_COLS else
                    "a number > 0" if c in _POSITIVE_COLS else
                    "a number >= 0" if c in ("experience_years", "scrutiny", "scrutiny_trend")
                    or c.startswith("share_") else "a finite number")
            raise RiskevalError(f"{what} table column {c!r} row {i}: "
                                f"{plain_value(frame[c].iloc[i])!r} is not {want}")
        out[c] = v.astype(float)
    return out


class World:
    """Vignettes, offices, officers, a design and the mechanisms that turn them into ratings.

    Build one from :mod:`riskeval.world.scenarios` or from your own tables; change it with the
    ``with_*`` methods, which return a new world (a world is never modified in place).

    Parameters
    ----------
    vignettes : pandas.DataFrame
        Cases (see :func:`riskeval.world.vignettes.population`); validated and given ground truth.
    offices, officers : pandas.DataFrame
        See :func:`riskeval.world.raters.make_offices` and
        :func:`riskeval.world.raters.make_officers`.
    design : Allocation, optional
        Default: fully crossed, one occasion.
    name : str
        A label shown in summaries.
    provenance : iterable of ParamSet, optional
        The generator parameters the tables were drawn with (listed by :meth:`parameters`).

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study()
    >>> world = world.with_mechanisms(defensive_inflation={"strength": 0.6}, anchoring=False)
    >>> ratings = rv.simulate(world, seed=1)
    >>> list(ratings["rating"].cat.categories)
    ['low', 'medium', 'high', 'very high']
    """

    def __init__(self, vignettes: pd.DataFrame, offices: pd.DataFrame, officers: pd.DataFrame,
                 design: Allocation | None = None, *, name: str = "custom world",
                 provenance: Iterable[ParamSet] = (),
                 components: Iterable[Component] | None = None) -> None:
        self._vignettes = validate_vignettes(vignettes)
        self._offices = _check_table(offices, _OFFICE_COLS, "offices", "office")
        self._officers = _check_table(officers, _OFFICER_COLS, "officers", "officer")
        self._officers["office"] = self._officers["office"].astype(str)
        unknown = ~self._officers["office"].isin(self._offices["office"])
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise RiskevalError(f"officers table row {i}: office {self._officers['office'][i]!r} "
                                f"is not in the offices table")
        if design is None:
            design = Allocation()
        if not isinstance(design, Allocation):
            raise RiskevalTypeError(f"design must be a riskeval.world.Allocation; got {design!r}")
        self._design = design
        self._name = str(name)
        self._provenance = tuple(provenance)
        if components is None:
            components = [Component(n, n not in OFF_BY_DEFAULT, ps)
                          for n, (_, ps) in _REGISTRY.items()]
        self._components = {c.name: c for c in components}

    # -- read-only views ---------------------------------------------------------------------
    @property
    def vignettes(self) -> pd.DataFrame:
        """The cases with their ground truth (a copy)."""
        return self._vignettes.copy()

    @property
    def offices(self) -> pd.DataFrame:
        """The offices (a copy)."""
        return self._offices.copy()

    @property
    def officers(self) -> pd.DataFrame:
        """The officers (a copy)."""
        return self._officers.copy()

    @property
    def design(self) -> Allocation:
        return self._design

    @property
    def name(self) -> str:
        return self._name

    @property
    def mechanisms(self) -> tuple[str, ...]:
        """Names of all components, switchable by name (the thirteen mechanisms, central
        tendency, then noise)."""
        return MECHANISMS

    @property
    def enabled(self) -> tuple[str, ...]:
        """Names of the components that are switched on."""
        return tuple(n for n in MECHANISMS if self._components[n].enabled)

    def component(self, name: str) -> Component:
        """One component by name."""
        return self._components[_check_name(name)]

    # -- changing a world --------------------------------------------------------------------
    def _copy(self, **changes: Any) -> World:
        new = object.__new__(World)
        new.__dict__.update(self.__dict__)
        for k, v in changes.items():
            setattr(new, f"_{k}", v)
        return new

    def with_mechanisms(self, **settings: bool | Mapping[str, Any]) -> World:
        """Switch mechanisms on or off, or re-parameterise them.

        Parameters
        ----------
        **settings
            ``name=False`` switches a component off, ``name=True`` on, and
            ``name={"param": value}`` switches it on with new parameter values.

        Raises
        ------
        RiskevalError
            On an unknown mechanism or parameter name, or an illegal parameter value.
        """
        comps = dict(self._components)
        for name, setting in settings.items():
            name = _check_name(name)
            comp = comps[name]
            if isinstance(setting, (bool, np.bool_)):
                comps[name] = replace(comp, enabled=bool(setting))
            elif isinstance(setting, Mapping):
                comps[name] = Component(name, True, comp.params.updated(setting))
            else:
                raise RiskevalTypeError(
                    f"with_mechanisms({name}=...) takes True, False or a dict of parameters; "
                    f"got {setting!r}")
        return self._copy(components=comps)

    def with_published(self, parameter: str, value: Any, source: str) -> World:
        """This world with a mechanism's parameter set to a published figure, and that
        figure's source recorded as its provenance (so ``parameters()`` no longer calls it
        an assumption, and :func:`riskeval.studies.calibrate` centres its default prior on
        it).

        Parameters
        ----------
        parameter : str
            ``"component.parameter"``, as in :meth:`parameters` (e.g. ``"noise.sd"``).
        value : number
            The published figure, on the parameter's scale.
        source : str
            Where it was published (author, year, table), e.g. ``"Smith (2021), table 3"``.

        Examples
        --------
        >>> import riskeval as rv
        >>> w = rv.world.scenarios.six_office_study().with_published(
        ...     "noise.sd", 0.55, "a 2021 vignette study, table 3")
        >>> row = w.parameters().query("component == 'noise' and parameter == 'sd'")
        >>> row["provenance"].item(), bool(row["is_assumption"].item())
        ('published: a 2021 vignette study, table 3', False)
        """
        names = [f"{c}.{p.name}" for c in MECHANISMS for p in self._components[c].params.params]
        if not isinstance(parameter, str) or parameter not in names:
            raise RiskevalError(f"the world has no mechanism parameter {parameter!r}; name "
                                f"one as 'component.parameter', as in world.parameters()"
                                f"{suggest(str(parameter), names)}")
        if not isinstance(source, str) or not source.strip() or \
                source.strip().lower().startswith("assumption"):
            raise RiskevalError(f"source must say where {parameter!r} was published (author, "
                                f"year, table); got {source!r}")
        comp_name, name = parameter.split(".")
        comp = self._components[comp_name]
        params = tuple(replace(p.with_value(value, comp_name), provenance=f"published: "
                               f"{source.strip()}") if p.name == name else p
                       for p in comp.params.params)
        comps = dict(self._components)
        comps[comp_name] = replace(comp, params=replace(comp.params, params=params))
        return self._copy(components=comps)

    def only(self, *names: str, noise: bool = True) -> World:
        """This world with only the named mechanisms on (and noise on unless ``noise=False``)."""
        keep = {_check_name(n) for n in names}
        settings: dict[str, Any] = {n: n in keep for n in MECHANISMS if n != "noise"}
        settings["noise"] = noise or "noise" in keep
        return self.with_mechanisms(**settings)

    def with_design(self, design: Allocation | None = None, **changes: Any) -> World:
        """This world with a new design, or the current one with some fields changed."""
        base = design if design is not None else self._design
        if not isinstance(base, Allocation):
            raise RiskevalTypeError(f"design must be a riskeval.world.Allocation; got {base!r}")
        unknown = [k for k in changes if k not in _DESIGN.names]
        if unknown:
            raise RiskevalError(f"design has no field {unknown[0]!r}; fields are "
                                f"{list(_DESIGN.names)}{suggest(unknown[0], _DESIGN.names)}")
        return self._copy(design=replace(base, **changes))

    def with_vignettes(self, vignettes: pd.DataFrame) -> World:
        """This world with other vignettes (validated)."""
        return World(vignettes, self._offices, self._officers, self._design, name=self._name,
                     provenance=self._provenance, components=self._components.values())

    def with_staff(self, offices: pd.DataFrame | None = None,
                   officers: pd.DataFrame | None = None) -> World:
        """This world with other offices and/or officers (validated)."""
        return World(self._vignettes, self._offices if offices is None else offices,
                     self._officers if officers is None else officers, self._design,
                     name=self._name, provenance=self._provenance,
                     components=self._components.values())

    # -- reporting ---------------------------------------------------------------------------
    def parameters(self) -> pd.DataFrame:
        """Every parameter of the world with its value, meaning and provenance.

        Returns
        -------
        pandas.DataFrame
            Columns ``component``, ``enabled``, ``parameter``, ``value``, ``meaning``,
            ``provenance`` and ``is_assumption`` (true for named assumptions, false for
            published figures and the user's own design choices).
        """
        rows: list[dict[str, Any]] = []
        for name in MECHANISMS:
            comp = self._components[name]
            rows += comp.params.rows(enabled=comp.enabled)
        rows += self._design.params().rows()
        for ps in self._provenance:
            rows += ps.rows()
        frame = params_table(rows)
        frame.loc[frame["provenance"].str.startswith("study design"), "is_assumption"] = False
        return frame

    def summary(self) -> str:
        d = self._design
        off = [n for n in MECHANISMS if n not in self.enabled]
        return (f"World {self._name!r}: {len(self._vignettes)} vignettes, "
                f"{len(self._offices)} offices, {len(self._officers)} officers; design "
                f"{d.allocation}, {d.occasions} occasion(s) from {d.start_year:g}; "
                f"{len(self.enabled)} of {len(MECHANISMS)} components on"
                + (f" (off: {', '.join(off)})" if off else ""))

    def __repr__(self) -> str:
        return f"<{self.summary()}>"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{'on' if self._components[n].enabled else 'off'}"
            f"</td><td>{html.escape(self._components[n].description)}</td></tr>"
            for n in MECHANISMS)
        return (f"<p>{html.escape(self.summary())}</p><table><tr><th>component</th><th>state"
                f"</th><th>what it does</th></tr>{rows}</table>")


def _check_name(name: str) -> str:
    if name not in _REGISTRY:
        raise RiskevalError(f"unknown mechanism {name!r}; mechanisms are {list(MECHANISMS)}"
                            f"{suggest(str(name), MECHANISMS)}")
    return name


# ----------------------------------------------------------------------------------------------
# the kernel
# ----------------------------------------------------------------------------------------------

def _allocate(world: World, h_case: np.ndarray,
              streams: Streams) -> tuple[np.ndarray, np.ndarray]:
    """(case index, officer index) of every assessment on one occasion."""
    d = world._design
    n_c, n_o = len(world._vignettes), len(world._officers)
    if d.allocation == "crossed":
        return np.tile(np.arange(n_c), n_o), np.repeat(np.arange(n_o), n_c)
    if d.allocation == "incomplete":
        k = d.vignettes_per_officer
        if k > n_c:
            raise RiskevalError(f"design.vignettes_per_officer is {k} but there are only {n_c} "
                                f"vignettes")
        oi = np.repeat(np.arange(n_o), k)
        ci = (oi * k + np.tile(np.arange(k), n_o)) % n_c
        return ci, oi
    # caseload: office by local prevalence x size, then officer uniformly within office
    offices = world._offices
    off_code = pd.Categorical(world._officers["office"], categories=offices["office"]).codes
    n_per = np.bincount(off_code, minlength=len(offices)).astype(float)
    order = np.argsort(off_code, kind="stable")
    start = np.concatenate([[0], np.cumsum(n_per)[:-1]]).astype(np.int64)
    kind = pd.Categorical(world._vignettes["offence"], categories=OFFENCE_TYPES).codes
    u = streams.uniform("alloc.office", h_case)
    f_of_case = np.empty(n_c, dtype=np.int64)
    for k, o in enumerate(OFFENCE_TYPES):
        w = n_per * offices[f"share_{o}"].to_numpy()
        if w.sum() <= 0:
            w = n_per.copy()
        cum = np.cumsum(w) / w.sum()
        sel = kind == k
        f_of_case[sel] = np.searchsorted(cum[:-1], u[sel], side="right")
    size = n_per[f_of_case]
    j = np.minimum(np.floor(streams.uniform("alloc.officer", h_case) * size), size - 1)
    first = order[start[f_of_case] + j.astype(np.int64)]
    ci, oi = np.arange(n_c), first
    second = (streams.uniform("alloc.second", h_case) < d.second_assessor) & (size > 1)
    if second.any():
        s = size[second]
        j2 = (j[second] + 1 + np.floor(streams.uniform("alloc.second2", h_case[second])
                                       * (s - 1))) % s
        ci = np.concatenate([ci, np.flatnonzero(second)])
        oi = np.concatenate([oi, order[start[f_of_case[second]] + j2.astype(np.int64)]])
    return ci, oi


def simulate(world: World, seed: Any = None) -> pd.DataFrame:
    """Simulate every assessment of the world's design.

    Parameters
    ----------
    world : World
        The vignettes, staff, design and mechanisms (see :mod:`riskeval.world.scenarios`).
    seed : None, int, SeedSequence or Generator
        Same seed, same table byte for byte (None: fresh entropy, a different table each
        call). Draws are keyed by officer, case and occasion, so adding officers or cases
        leaves the existing ratings unchanged.

    Returns
    -------
    pandas.DataFrame
        One row per assessment, ordered by occasion, officer and case, with columns
        ``case``, ``officer``, ``office`` (categoricals), ``occasion`` (0, 1, ...), ``rating``
        (ordered categorical low < medium < high < very high), ``officer_rating`` (the
        officer's own rating, before any manager override), ``reference`` (the
        evidence-based level, same categories), ``year``, ``latent`` (the officer's latent
        judgement), ``true_latent`` (the case's true harm score on that occasion) and
        ``changed_by_<mechanism>`` for each component switched on. Use it directly with
        :mod:`riskeval.agreement`, e.g. ``rv.icc(ratings, case="case", rater="officer",
        rating="rating")`` (one occasion at a time).

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> ratings = rv.simulate(world, seed=1)
    >>> ratings.shape[0]  # 6 officers x 6 vignettes
    36
    >>> bool(rv.simulate(world, seed=1).equals(ratings))
    True
    """
    if not isinstance(world, World):
        raise RiskevalTypeError("simulate() needs a riskeval World (see "
                                f"riskeval.world.scenarios); "
                                f"got {type(world).__name__}")
    rs = Streams(seed)
    comp = world._components
    on = {n for n in MECHANISMS if comp[n].enabled}
    d = world._design
    cuts = thresholds(truth_params())
    v, offices, officers = world._vignettes, world._offices, world._officers

    h_case = hash_ids(v["case"].to_numpy())
    h_off = hash_ids(officers["officer"].to_numpy())
    ci, oi = _allocate(world, h_case, rs)
    inp = Inputs(
        vignettes=v, offices=offices, officers=officers,
        col={c: v[c].to_numpy() for c in ("harm_latent", "harm_offence", "harm_offender",
                                          "harm_psychological", "months_known", "openness")},
        offence=pd.Categorical(v["offence"], categories=OFFENCE_TYPES).codes.astype(np.int64),
        experience=officers["experience_years"].to_numpy(float),
        f_of_o=pd.Categorical(officers["office"], categories=offices["office"]
                              ).codes.astype(np.int64),
        ci=ci, oi=oi,
        # crossed: (officers x cases) arrays with broadcast vectors; otherwise flat arrays
        shape=(len(officers), len(v)) if d.allocation == "crossed" else (len(ci),),
        streams=rs, cuts=cuts)
    effects = prepare(inp, {n: comp[n].params for n in MECHANISMS}, on)

    # the latent terms that do not change between occasions: case, officer, then pair terms
    case_terms = {m: e.case for m, e in effects.items() if e.case is not None}
    officer_terms = {m: e.officer for m, e in effects.items() if e.officer is not None}
    pair_fixed = {m: e.pair for m, e in effects.items() if e.pair is not None}
    fixed = (inp.at_case(sum(case_terms.values(), np.zeros(len(v))))
             + inp.at_officer(sum(officer_terms.values(), np.zeros(len(officers)))))
    for arr in pair_fixed.values():
        fixed = fixed + arr
    fixed = np.broadcast_to(fixed, inp.shape)
    drawn = {m: e.occasion for m, e in effects.items() if e.occasion is not None}
    steps = [e for e in effects.values() if e.step is not None]

    h_case2 = mix(h_case + _GOLD)
    base = mix(inp.at_officer(h_off) ^ inp.at_case(h_case2)).reshape(inp.shape)
    harm_t = _true_harm(world, h_case2, rs)
    T = d.occasions
    flags_order = [m for m in MECHANISMS if m in on]
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    n = len(ci)
    N = n * T
    out_rating = np.empty(N, dtype=np.int8)
    out_officer = np.empty(N, dtype=np.int8)   # before any manager override
    out_ref = np.empty(N, dtype=np.int8)
    out_float = np.empty((3, N))  # year, latent, true_latent: one block of the result
    flag_block = np.zeros((len(flags_order), N), dtype=bool)
    years = d.start_year + d.interval_years * np.arange(T)
    prev = None
    for t in range(T):
        sl = slice(t * n, (t + 1) * n)
        true_t = inp.at_case(harm_t[:, t])
        occ = Occasion(year=years[t], keys=base if t == 0 else mix(base ^ small_ids(t)),
                       cur=np.empty(0, dtype=np.int8), prev=prev,
                       true=np.broadcast_to(true_t, inp.shape).reshape(-1),
                       flags={m: flag_block[j, sl] for j, m in enumerate(flags_order)})
        latent = true_t + fixed
        pair_t = {m: term(occ) for m, term in drawn.items()}
        for arr in pair_t.values():
            latent = latent + arr
        code = cut(latent, cuts)
        # a latent term x was pivotal iff latent - x leaves the band [lower, upper) of the code
        room_down, room_up = latent - edges[code], edges[code + 1] - latent
        for m, vec in case_terms.items():
            _pivotal(inp.at_case(vec), room_down, room_up, occ.flags[m].reshape(inp.shape))
        for m, vec in officer_terms.items():
            _pivotal(inp.at_officer(vec), room_down, room_up, occ.flags[m].reshape(inp.shape))
        for m, arr in (pair_fixed | pair_t).items():
            _pivotal(arr, room_down, room_up, occ.flags[m].reshape(inp.shape))

        occ.cur = code.reshape(-1)
        for e in steps:
            if e.after_officer:
                out_officer[sl] = occ.cur
            e.step(occ)
        if not any(e.after_officer for e in steps):
            out_officer[sl] = occ.cur
        out_rating[sl] = occ.cur
        out_ref[sl] = cut(occ.true, cuts)
        out_float[0, sl] = years[t]
        out_float[1, sl] = latent.reshape(-1)
        out_float[2, sl] = occ.true
        prev = occ.cur

    return _frame(world, ci, oi, inp.f_of_o, T, out_rating, out_officer, out_ref, out_float,
                  flags_order, flag_block)


def _true_harm(world: World, h_case2: np.ndarray, rs: Streams) -> np.ndarray:
    """The true harm of every case (rows) on each occasion (columns): a symmetric random walk
    when the evidence changes between occasions."""
    d = world._design
    T = d.occasions
    harm_t = np.repeat(world._vignettes["harm_latent"].to_numpy().astype(float)[:, None], T,
                       axis=1)
    if T > 1 and d.evidence_change_sd > 0:
        steps = np.column_stack([
            d.evidence_change_sd * normal(rekey(mix(h_case2 ^ small_ids(t)), rs.key("evidence")))
            for t in range(1, T)])
        harm_t[:, 1:] += np.cumsum(steps, axis=1)
    return harm_t


def _pivotal(d: np.ndarray, room_down: np.ndarray, room_up: np.ndarray, out: np.ndarray) -> None:
    """Write into ``out`` whether removing the latent term ``d`` changes the category."""
    np.greater(d, room_down, out=out)
    out |= d <= -room_up


def _frame(world: World, ci: np.ndarray, oi: np.ndarray, f_of_o: np.ndarray, T: int,
           rating: np.ndarray, officer_rating: np.ndarray, ref: np.ndarray,
           floats: np.ndarray, flag_names: list[str], flag_block: np.ndarray) -> pd.DataFrame:
    """Assemble the result without copying the large blocks (each is one pandas block)."""
    levels = pd.CategoricalDtype(list(RISK_LEVELS), ordered=True)
    if T > 1:
        ci, oi = np.tile(ci, T), np.tile(oi, T)
    n = len(ci) // T

    def cat(codes: np.ndarray, names: pd.Series) -> pd.Categorical:
        dtype = pd.CategoricalDtype(pd.Index(names.to_numpy(), dtype=object))
        return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)

    parts = [
        pd.DataFrame({
            "case": cat(ci, world._vignettes["case"]),
            "officer": cat(oi, world._officers["officer"]),
            "office": cat(f_of_o[oi], world._offices["office"]),
            "occasion": np.repeat(np.arange(T, dtype=np.int16), n),
            "rating": pd.Categorical.from_codes(rating, dtype=levels, validate=False),
            "officer_rating": pd.Categorical.from_codes(officer_rating, dtype=levels,
                                                        validate=False),
            "reference": pd.Categorical.from_codes(ref, dtype=levels, validate=False),
        }),
        pd.DataFrame(floats.T, columns=["year", "latent", "true_latent"], copy=False),
        pd.DataFrame(flag_block.T, columns=[f"changed_by_{m}" for m in flag_names], copy=False),
    ]
    # pandas 3 concatenates without copying by default; pandas 2 needs to be asked
    return pd.concat(parts, axis=1, **_NO_COPY)


def _codes(col: pd.Series) -> np.ndarray:
    return np.asarray(col.cat.codes, dtype=np.int64)


def disagreement_statistics(ratings: pd.DataFrame) -> SeriesResult:
    """Summary statistics of disagreement in a simulated ratings table.

    Parameters
    ----------
    ratings : pandas.DataFrame
        A table made by :func:`simulate` (it needs ``case``, ``officer``, ``office``,
        ``occasion``, ``rating`` and ``reference``).

    Returns
    -------
    SeriesResult
        One number per statistic, read by name (``stats["upward"]``): ``off_reference``
        (share of ratings differing from the reference), ``upward`` and ``downward``
        (shares above and below it), ``mean_abs_error`` (mean absolute difference in
        levels), ``pairwise_disagreement`` (chance that two officers rating the same case
        on the same occasion differ), ``office_share`` and ``officer_share`` (shares of the
        case-centred variance of the rating's level number lying between offices and between
        officers within offices; moment estimates).

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> stats = rv.world.disagreement_statistics(rv.simulate(world, seed=1))
    >>> list(stats.index[:3])
    ['off_reference', 'upward', 'downward']
    >>> bool(stats["upward"] + stats["downward"] == stats["off_reference"])
    True
    """
    return SeriesResult(_disagreement(ratings), title="Disagreement in simulated ratings")


def _disagreement(ratings: pd.DataFrame) -> dict[str, float]:
    """The statistics of :func:`disagreement_statistics`, as a dict."""
    r, ref = _codes(ratings["rating"]), _codes(ratings["reference"])
    diff = r - ref
    out = {"off_reference": float(np.mean(diff != 0)), "upward": float(np.mean(diff > 0)),
           "downward": float(np.mean(diff < 0)), "mean_abs_error": float(np.mean(np.abs(diff)))}
    occ = ratings["occasion"].to_numpy(np.int64)
    case = _codes(ratings["case"])
    n_case = int(case.max()) + 1
    group = occ * n_case + case
    q = len(RISK_LEVELS)
    counts = np.bincount(group * q + r, minlength=(int(group.max()) + 1) * q).reshape(-1, q)
    tot = counts.sum(axis=1)
    pairs = (tot * (tot - 1)).sum()
    same = (counts * (counts - 1)).sum()
    out["pairwise_disagreement"] = float(1 - same / pairs) if pairs > 0 else float("nan")
    g_mean = np.bincount(group, weights=r, minlength=int(group.max()) + 1) / np.maximum(
        np.bincount(group, minlength=int(group.max()) + 1), 1)
    resid = r - g_mean[group]
    total = float(np.mean(resid ** 2))
    for name in ("office", "officer"):
        g = _codes(ratings[name])
        m = np.bincount(g, weights=resid) / np.maximum(np.bincount(g), 1)
        if name == "office":
            office_m = m
            out["office_share"] = float(np.mean(m[g] ** 2) / total) if total > 0 else 0.0
        else:
            f_of = _codes(ratings["office"])
            between = np.mean((m[g] - office_m[f_of]) ** 2)
            out["officer_share"] = float(between / total) if total > 0 else 0.0
    return out


class MechanismEffects(TableResult):
    """The table of :func:`mechanism_effects` (a DataFrame), with a figure.

    Columns ``mechanism``, ``statistic``, ``with_all``, ``without`` and ``effect``.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> eff = rv.mechanism_effects(world, seed=1, mechanisms=["noise", "anchoring"])
    >>> isinstance(eff, rv.world.MechanismEffects), sorted(set(eff["mechanism"]))
    (True, ['anchoring', 'noise'])
    >>> ax = eff.plot("upward")
    >>> len(ax.patches)  # one bar per mechanism
    2
    """

    def plot(self, statistic: str = "off_reference", ax: Any = None) -> Any:
        """Bars of each mechanism's effect on ``statistic``; returns the matplotlib axes."""
        from ._plots import mechanism_effects as draw

        _check_statistic(self, statistic)
        return draw(self.to_frame(), statistic, ax)


class SensitivityCurve(TableResult):
    """The table of :func:`sensitivity` (a DataFrame), with a figure.

    Columns ``mechanism``, ``parameter``, ``value``, ``statistic`` and ``estimate``.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> curve = rv.world.sensitivity(world, "noise", "sd", [0.0, 0.5, 1.0], seed=1)
    >>> isinstance(curve, rv.world.SensitivityCurve), len(curve)
    (True, 21)
    >>> ax = curve.plot("pairwise_disagreement")
    >>> len(ax.lines[0].get_xdata())  # one point per value tried
    3
    """

    def plot(self, statistic: str = "off_reference", ax: Any = None) -> Any:
        """The statistic against the values tried; returns the matplotlib axes."""
        from ._plots import sensitivity as draw

        _check_statistic(self, statistic)
        return draw(self.to_frame(), statistic, ax)


def _check_statistic(table: pd.DataFrame, statistic: str) -> None:
    known = list(dict.fromkeys(table["statistic"]))
    if statistic not in known:
        raise RiskevalError(f"statistic {statistic!r} is not in the table; statistics are "
                            f"{known}{suggest(str(statistic), known)}")


def _statistics(world: World, seed: Any,
                statistics: Mapping[str, Callable[[pd.DataFrame], float]] | None
                ) -> dict[str, float]:
    """Simulate once; the built-in disagreement statistics plus the user's own."""
    r = simulate(world, seed)
    found = _disagreement(r)
    for k, fn in (statistics or {}).items():
        found[k] = float(fn(r))
    return found


def mechanism_effects(world: World, seed: Any = None, *,
                      statistics: Mapping[str, Callable[[pd.DataFrame], float]] | None = None,
                      mechanisms: Iterable[str] | None = None) -> MechanismEffects:
    """How much each mechanism changes the disagreement: switch it off, all else equal.

    Every simulation uses the same seed, and draws are keyed per mechanism, so the only
    difference between the full world and the world without mechanism *m* is *m* itself.

    Parameters
    ----------
    world : World
    seed : None, int, SeedSequence or Generator
        One seed for every simulation (None: fresh entropy, drawn once).
    statistics : mapping of name to callable, optional
        Extra statistics of a ratings table, e.g.
        ``{"alpha": lambda r: rv.krippendorff_alpha(r, case="case", rater="officer",
        rating="rating", level="ordinal").estimate}``. The built-in ones of
        :func:`disagreement_statistics` are always computed.
    mechanisms : iterable of str, optional
        Which mechanisms to switch off in turn (default: every one that is on).

    Returns
    -------
    MechanismEffects
        A table (a DataFrame) with one row per mechanism and statistic: ``with_all``
        (everything on), ``without`` (that mechanism off), and ``effect = with_all -
        without``, the part of the statistic the mechanism is responsible for given the
        others. ``plot(statistic)`` draws the effects as bars.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> eff = rv.mechanism_effects(world, seed=1, mechanisms=["defensive_inflation"])
    >>> eff.shape
    (7, 5)
    >>> row = eff.set_index("statistic").loc["upward"]
    >>> bool(abs(row["effect"] - (row["with_all"] - row["without"])) < 1e-12)
    True
    """
    if not isinstance(world, World):
        raise RiskevalTypeError("mechanism_effects() needs a riskeval World")
    names = list(world.enabled if mechanisms is None else mechanisms)
    for m in names:
        _check_name(m)
    ss = seed_sequence(seed)  # one SeedSequence reused: identical draws in every run

    def stats_of(w: World) -> dict[str, float]:
        return _statistics(w, ss, statistics)

    full = stats_of(world)
    rows = []
    for m in names:
        without = stats_of(world.with_mechanisms(**{m: False}))
        for k, val in full.items():
            rows.append({"mechanism": m, "statistic": k, "with_all": val,
                         "without": without[k], "effect": val - without[k]})
    return MechanismEffects(pd.DataFrame(rows), title=f"Mechanism effects in {world.name!r}: "
                            "each mechanism switched off in turn")


def sensitivity(world: World, mechanism: str, parameter: str, values: Iterable[Any],
                seed: Any = None, *,
                statistics: Mapping[str, Callable[[pd.DataFrame], float]] | None = None,
                ) -> SensitivityCurve:
    """How the disagreement statistics move as one assumed parameter varies.

    The defaults of the mechanisms are named assumptions (the study they come from gives
    directions, not sizes); this is the sensitivity analysis to run before relying on any of
    them. Every run uses the same seed, so the curve is free of Monte Carlo jitter between
    values (common random numbers).

    Parameters
    ----------
    world : World
    mechanism, parameter : str
        Which parameter to vary, e.g. ``"defensive_inflation", "strength"``.
    values : iterable
        The values to try (each validated like any parameter value).
    seed : None, int, SeedSequence or Generator
        One seed for every simulation (None: fresh entropy, drawn once).
    statistics : mapping of name to callable, optional
        Extra statistics of a ratings table, as in :func:`mechanism_effects`.

    Returns
    -------
    SensitivityCurve
        A table (a DataFrame) with one row per value and statistic: ``mechanism``,
        ``parameter``, ``value``, ``statistic``, ``estimate``; ``plot(statistic)`` draws the
        curve.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> curve = rv.world.sensitivity(world, "defensive_inflation", "strength", [0.0, 2.0],
    ...                              seed=1)
    >>> up = curve.query("statistic == 'upward'").set_index("value")["estimate"]
    >>> bool(up[2.0] >= up[0.0])
    True
    """
    if not isinstance(world, World):
        raise RiskevalTypeError("sensitivity() needs a riskeval World")
    _check_name(mechanism)
    ss = seed_sequence(seed)
    rows = []
    for value in values:
        w = world.with_mechanisms(**{mechanism: {parameter: value}})
        found = _statistics(w, ss, statistics)
        rows += [{"mechanism": mechanism, "parameter": parameter, "value": value,
                  "statistic": k, "estimate": est} for k, est in found.items()]
    if not rows:
        raise RiskevalError("sensitivity() needs at least one value to try")
    return SensitivityCurve(pd.DataFrame(rows), title=f"Sensitivity of the disagreement to "
                            f"{mechanism}.{parameter}")

