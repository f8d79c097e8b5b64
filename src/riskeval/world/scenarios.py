"""Ready-made worlds: the six-office vignette study and a national-scale population.

Each preset returns a :class:`riskeval.world.World` with every mechanism on. Its
``parameters()`` table lists every number with its provenance; all effect sizes are named
assumptions because the study the presets mirror is qualitative (see ``CONTEXT.md``).
"""

from __future__ import annotations

from typing import Any

from .._core.params import P, ParamSet
from . import raters, vignettes
from .engine import Design, World

__all__ = ["national", "six_office_study"]


def six_office_study(*, n_offices: int = 6, officers_per_office: int = 8, n_vignettes: int = 24,
                     seed: int = 2020, design: Design | None = None) -> World:
    """The focus-group vignette study: six offices, eight officers each, 24 vignettes.

    Mirrors the structure of the study of probation officers' risk judgements summarised in
    ``CONTEXT.md`` (Thornton, Institute of Criminology, Cambridge; reported 2020): constructed
    vignettes judged by officers in six probation offices. The numbers of officers and
    vignettes are assumptions (the study reports focus groups, not counts we reuse).

    Parameters
    ----------
    n_offices, officers_per_office, n_vignettes : int
        Size of the study.
    seed : int
        Seed of the world itself (vignettes, offices, officers). The ratings have their own
        seed, given to :func:`riskeval.simulate`.
    design : Design, optional
        Default: fully crossed, one occasion in 2020.

    Returns
    -------
    World
    """
    why = "study size (user choice; the default sizes are assumptions: the study reports focus "
    why += "groups in six offices, not these counts)"
    return _world("six-office vignette study", n_offices, officers_per_office, n_vignettes,
                  seed, design or Design(allocation="crossed", start_year=2020.0), why)


def national(*, n_offices: int = 100, officers_per_office: int = 30, n_cases: int = 500,
             seed: int = 2021, design: Design | None = None) -> World:
    """A national-scale exercise: 100 offices x 30 officers, all rating the same 500 cases.

    1.5 million ratings with the defaults (fully crossed). The population of cases follows
    :func:`riskeval.world.vignettes.population`. Pass ``design=Design(allocation="caseload")`` for
    cases allocated to officers as in ordinary supervision instead.
    """
    return _world("national population", n_offices, officers_per_office, n_cases, seed,
                  design or Design(allocation="crossed", start_year=2020.0),
                  "study size (user choice; defaults give a national-scale run)")


def _world(name: str, n_offices: int, per_office: int, n_cases: int, seed: Any,
           design: Design, why: str) -> World:
    sizes = ParamSet("scenario", (
        P("n_offices", n_offices, "count", "offices in the study", why),
        P("officers_per_office", per_office, "count", "officers in each office", why),
        P("n_cases", n_cases, "count", "vignettes (cases) every officer can be given", why),
        P("world_seed", seed, "seed", "seed of the vignettes, offices and officers (the "
          "ratings take their own seed in simulate)", "study design (user choice)"),
    ))
    offices = raters.make_offices(n_offices, seed)
    officers = raters.make_officers(offices, per_office, seed)
    cases = vignettes.population(n_cases, seed)
    provenance = (sizes, vignettes.population_params(), vignettes.truth_params(),
                  raters.office_params(), raters.officer_params())
    return World(cases, offices, officers, design, name=name, provenance=provenance)
