"""Ready-made worlds: the six-office vignette study and a national-scale population.

Each preset returns a :class:`riskeval.world.World` with every mechanism on. Its
``parameters()`` table lists every number with its provenance; all effect sizes are named
assumptions because the study the presets mirror is qualitative (see ``CONTEXT.md``).
"""

from __future__ import annotations

from typing import Any

from .._core.params import P, ParamSet
from .._core.seeds import seed_sequence
from . import raters, vignettes
from .engine import Allocation, World

__all__ = ["national", "six_office_study"]


def six_office_study(*, n_offices: int = 6, officers_per_office: int = 8, n_vignettes: int = 24,
                     seed: Any = 2020, design: Allocation | None = None) -> World:
    """The focus-group vignette study: six offices, eight officers each, 24 vignettes.

    Mirrors the structure of the study of probation officers' risk judgements summarised in
    ``CONTEXT.md`` (Thornton, Institute of Criminology, Cambridge; reported 2020): constructed
    vignettes judged by officers in six probation offices. The numbers of officers and
    vignettes are assumptions (the study reports focus groups, not counts we reuse).

    Parameters
    ----------
    n_offices, officers_per_office, n_vignettes : int
        Size of the study.
    seed : int, SeedSequence, Generator or None
        Seed of the world itself (vignettes, offices, officers); fixed at 2020 so the named
        study is always the same world. The ratings have their own seed, given to
        :func:`riskeval.simulate`.
    design : Allocation, optional
        Default: fully crossed, one occasion in 2020.

    Returns
    -------
    World

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study()
    >>> len(world.offices), len(world.officers), len(world.vignettes)
    (6, 48, 24)
    >>> small = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> rv.simulate(small, seed=1).shape[0]
    36
    """
    why = "study size (user choice; the default sizes are assumptions: the study reports focus "
    why += "groups in six offices, not these counts)"
    return _world("six-office vignette study", n_offices, officers_per_office, n_vignettes,
                  seed, design or Allocation(allocation="crossed", start_year=2020.0), why)


def national(*, n_offices: int = 100, officers_per_office: int = 30, n_cases: int = 500,
             seed: Any = 2021, design: Allocation | None = None) -> World:
    """A national-scale exercise: 100 offices x 30 officers, all rating the same 500 cases.

    1.5 million ratings with the defaults (fully crossed). The population of cases follows
    :func:`riskeval.world.vignettes.population`. Pass
    ``design=Allocation(allocation="caseload")`` for cases allocated to officers as in ordinary
    supervision instead.

    Parameters
    ----------
    n_offices, officers_per_office, n_cases : int
        Size of the exercise.
    seed : int, SeedSequence, Generator or None
        Seed of the world itself (cases, offices, officers); fixed at 2021 by default.
    design : Allocation, optional
        Default: fully crossed, one occasion in 2020.

    Returns
    -------
    World

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.national(n_offices=3, officers_per_office=2, n_cases=10)
    >>> len(world.officers), len(world.vignettes)
    (6, 10)
    >>> world.name
    'national population'
    """
    return _world("national population", n_offices, officers_per_office, n_cases, seed,
                  design or Allocation(allocation="crossed", start_year=2020.0),
                  "study size (user choice; defaults give a national-scale run)")


def _world(name: str, n_offices: int, per_office: int, n_cases: int, seed: Any,
           design: Allocation, why: str) -> World:
    # one SeedSequence for the three tables: an int seed gives the tables it always gave; a
    # Generator or None is drawn from once and its entropy recorded, so the world can be rebuilt
    ss = seed_sequence(seed)
    key = f"; spawn key {ss.spawn_key}" if ss.spawn_key else ""
    sizes = ParamSet("scenario", (
        P("n_offices", n_offices, "count", "offices in the study", why),
        P("officers_per_office", per_office, "count", "officers in each office", why),
        P("n_cases", n_cases, "count", "vignettes (cases) every officer can be given", why),
        P("world_seed", ss.entropy, "seed", "seed of the vignettes, offices and officers (the "
          f"ratings take their own seed in simulate{key})", "study design (user choice)"),
    ))
    offices = raters.make_offices(n_offices, ss)
    officers = raters.make_officers(offices, per_office, ss)
    cases = vignettes.population(n_cases, ss)
    provenance = (sizes, vignettes.population_params(), vignettes.truth_params(),
                  raters.office_params(), raters.officer_params())
    return World(cases, offices, officers, design, name=name, provenance=provenance)
