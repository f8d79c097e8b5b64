"""Design diagnosis for training evaluations: would a study detect what a programme achieves?

Two declared studies for :func:`riskeval.studies.diagnose`:

* :func:`training_study` -- trained and untrained officers of the same offices rate the same
  vignettes in a simulated world (:mod:`riskeval.simulate`, every mechanism on); the cohorts
  are compared with :func:`riskeval.studies.cohorts.compare_cohorts` on consistency, accuracy and
  inflation. The programme's effects are those of :func:`riskeval.world.raters.train`.
* :func:`skills_trial` -- officers are randomised to skills training, which shifts their
  supervision skills (:mod:`riskeval.skills`); their supervisees' reconviction within the
  follow-up window is compared with :func:`riskeval.studies.cohorts.compare_outcomes`.

References
----------
Blair, G., Cooper, J., Coppock, A. & Humphreys, M. (2019). Declaring and diagnosing research
designs. *American Political Science Review* 113(3), 838-859.

Bonta, J., Bourgon, G., Rugge, T., Scott, T.-L., Yessine, A. K., Gutierrez, L. & Li, J. (2011).
An experimental demonstration of training probation officers in evidence-based community
supervision. *Criminal Justice and Behavior* 38(11), 1127-1148.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import check_whole
from .._core.seeds import rng as make_rng
from ..errors import RiskevalError
from .diagnosis import Design, Estimator, _child

__all__ = ["skills_trial", "training_study"]

_RATING_STATS = ("ICC1", "ICC2", "ICC3", "alpha", "kappa", "accuracy", "inflation")

#: :func:`skills_trial`'s training shift (SD of each skill) when the parameters have none
_DEFAULT_SHIFT = 0.5


def _comparison(fn: Any, **kwargs: Any) -> Any:
    """An estimator function comparing cohorts with ``fn``; :func:`~riskeval.studies.diagnose`
    passes it its own ``seed`` in every simulated study (for the bootstrap and permutations)."""
    def estimate(data: pd.DataFrame, seed: Any = None) -> dict[str, float]:
        res = fn(data, seed=seed, **kwargs)
        lo, hi = res.ci
        return {"estimate": res.difference, "ci_low": lo, "ci_high": hi, "p": res.p_value}
    return estimate


def training_study(n_offices: int, officers_per_office: int, n_cases: int, *,
                   noise_factor: float = 1.0, actuarial_weight_shift: float = 0.0,
                   inflation_factor: float = 1.0,
                   statistics: Sequence[str] = ("ICC3", "accuracy", "inflation"),
                   score: str = "rating", only: Sequence[str] | None = None,
                   n_boot: int = 200, n_perm: int = 199) -> Design:
    """Trained against untrained officers rating the same vignettes, in a simulated world.

    Each simulated study draws a world with ``n_offices`` offices of ``officers_per_office``
    officers and ``n_cases`` vignettes (:func:`riskeval.world.scenarios.six_office_study`'s
    generators), trains half of the officers of every office, chosen at random, with the
    given effects (:func:`riskeval.world.raters.train`), simulates every officer rating every
    vignette, and compares the trained cohort with the untrained one on each of
    ``statistics`` (:func:`riskeval.studies.cohorts.compare_cohorts`, baseline ``"untrained"``).

    Parameters
    ----------
    n_offices, officers_per_office, n_cases : int
        Size of the study (``officers_per_office`` at least 2, so both cohorts are in every
        office).
    noise_factor, actuarial_weight_shift, inflation_factor : float
        What the programme achieves (:data:`riskeval.world.raters.TRAINING`). The defaults are a
        programme that changes nothing, so ``power`` is then the false-alarm rate.
    statistics : sequence of str
        Statistics of :func:`~riskeval.studies.cohorts.compare_cohorts`; one estimator each, named
        ``"<statistic>: trained - untrained"``.
    score : {"rating", "latent"}
        Compare the recorded levels (what a real study sees) or the latent judgements.
    only : sequence of str, optional
        Switch on only these mechanisms (and noise); default every mechanism of the world.
    n_boot, n_perm : int
        Bootstrap resamples and permutations of each comparison.

    Returns
    -------
    riskeval.studies.Design
        Estimands ``"<statistic> difference"``. Their true values are not known in closed
        form when the programme has an effect, so they are NaN and the diagnosis then reports
        power and interval width but no bias or coverage; for a programme with no effect the
        true differences are 0. Each comparison's bootstrap and permutations draw from the
        estimator's own seed, which :func:`~riskeval.studies.diagnose` gives it in every
        simulated study.

    Examples
    --------
    >>> from riskeval.studies import diagnose
    >>> design = training_study(2, 2, 6, statistics=("accuracy",), n_boot=20, n_perm=19)
    >>> [e.name for e in design.estimators]
    ['accuracy: trained - untrained']
    >>> d = diagnose(design, n_sims=2, seed=1)
    >>> round(float(d.table.loc[0, "truth"]), 1), int(d.table.loc[0, "n_sims"])
    (0.0, 2)
    """
    from ..world import raters, scenarios
    from ..world.engine import simulate
    from .cohorts import compare_cohorts

    for name, v in (("n_offices", n_offices), ("officers_per_office", officers_per_office),
                    ("n_cases", n_cases)):
        check_whole(v, name, least=2)
    if score not in ("rating", "latent"):
        raise RiskevalError(f"score={score!r}; expected 'rating' or 'latent'")
    stats = list(statistics)
    bad = [s for s in stats if s not in _RATING_STATS]
    if bad or not stats:
        raise RiskevalError(f"statistics {bad or stats!r}; expected some of {_RATING_STATS}")
    if score == "latent" and {"kappa", "accuracy", "inflation"} & set(stats):
        raise RiskevalError("kappa, accuracy and inflation compare levels; use score='rating'")
    effects = {"noise_factor": noise_factor, "actuarial_weight_shift": actuarial_weight_shift,
               "inflation_factor": inflation_factor}
    raters.TRAINING.updated(effects)  # checks the values
    null = noise_factor == 1 and actuarial_weight_shift == 0 and inflation_factor == 1
    truth = 0.0 if null else math.nan

    def population(seed: np.random.SeedSequence) -> tuple[pd.DataFrame, dict[str, float]]:
        world_seed = int(_child(seed, 0).generate_state(1)[0])
        world = scenarios.six_office_study(n_offices=n_offices,
                                           officers_per_office=officers_per_office,
                                           n_vignettes=n_cases, seed=world_seed)
        if only is not None:
            world = world.only(*only)
        rng = make_rng(_child(seed, 1))
        off = world.officers
        key = rng.random(len(off))
        rank = pd.Series(key).groupby(off["office"].to_numpy()).rank(method="first")
        size = off.groupby("office")["officer"].transform("size").to_numpy()
        chosen = rank.to_numpy() <= size // 2
        staff = raters.train(off, chosen, **effects)
        r = simulate(world.with_staff(officers=staff), seed=_child(seed, 2))
        trained = staff.set_index("officer")["trained"]
        r["cohort"] = np.where(r["officer"].astype(str).map(trained).to_numpy(bool),
                               "trained", "untrained")
        return r, {f"{s} difference": truth for s in stats}

    estimators = tuple(
        Estimator(f"{s}: trained - untrained", f"{s} difference",
                  _comparison(compare_cohorts, cohort="cohort", case="case", rater="officer",
                              rating=score, statistic=s, reference="reference",
                              baseline="untrained", n_boot=n_boot, n_perm=n_perm))
        for s in stats)
    return Design(population, estimators,
                  name=f"training study, {n_offices} offices x {officers_per_office} officers x "
                       f"{n_cases} vignettes",
                  params={**effects, "n_offices": n_offices,
                          "officers_per_office": officers_per_office, "n_cases": n_cases,
                          "statistics": tuple(stats), "score": score,
                          "only": None if only is None else tuple(only)})


def _reconviction_difference(p: Any) -> float:
    """Population difference in reconviction within the window, trained minus untrained.

    The probability of reconviction within the window of a supervisee with baseline risk
    ``b`` whose officer's log hazard ratio is ``h`` is ``1 - (1 - b)^exp(h)`` (the model of
    :func:`riskeval.skills.simulate_skills`); its expectation over the model's distributions
    of skills, frailty and baseline risk in each arm is computed exactly, by the closed form
    of :func:`riskeval.skills.expected_rates` (deterministic quadrature, no Monte Carlo).
    """
    from ..skills import expected_rates

    return float(expected_rates(p)["difference"])


def skills_trial(params: Any = None, *, n_officers: int | None = None,
                 supervisees_per_officer: int | None = None,
                 training_shift: float | None = None,
                 risk_adjusted: bool = True, n_boot: int = 200, n_perm: int = 199,
                 **overrides: Any) -> Design:
    """A randomised skills-training trial judged by supervisees' reconviction.

    Half of the officers (``trained_share`` 0.5) are trained, which raises both supervision
    skills by ``training_shift`` SD (by default the parameters' own when they describe a
    training trial, as the presets ``stics_bc()``, ``stics_2011()`` and ``training_meta()``
    do, else 0.5); supervisees are allocated at random and followed up for
    the window of the skills model (:func:`riskeval.skills.simulate_skills`). The estimand is
    the difference in the share reconvicted within the window, trained minus untrained
    (negative when training works), computed from the model's parameters
    (``_reconviction_difference``). Estimators: the difference in reconviction rates,
    and (``risk_adjusted``) the difference in observed minus expected reconviction, using
    each supervisee's baseline risk; both with the officer-level bootstrap and permutation
    test of :func:`riskeval.studies.cohorts.compare_outcomes`.

    Parameters
    ----------
    params : ParamSet or mapping, optional
        Skills-model parameters (default :func:`riskeval.skills.parameters`; the presets of
        :mod:`riskeval.skills` such as ``stics_2011()`` carry published values).
    n_officers, supervisees_per_officer : int, optional
        Size of the trial (default: the parameters').
    training_shift : float, optional
        What training achieves, in SD of each skill (a named assumption of the designer; 0
        makes ``power`` the false-alarm rate). Given explicitly, it always wins. ``None`` (the
        default) takes the parameters' ``training_shift`` when they describe a training
        trial -- a ``trained_share`` above 0 (as in the presets ``stics_bc()``,
        ``stics_2011()`` and ``training_meta()``, whose shifts are solved from published
        figures) or a nonzero ``training_shift`` (e.g. the mapping
        ``{"training_shift": 0.3}``) -- and otherwise 0.5 SD: the package defaults and
        ``jersey()`` have no trained arm (``trained_share`` 0, ``training_shift`` 0), so their
        0 means "no training", not "training with no effect". For a trial with no effect pass
        ``training_shift=0``.
    **overrides
        Other parameters of the skills model.

    Returns
    -------
    riskeval.studies.Design
        Each comparison's bootstrap and permutations draw from the estimator's own seed,
        which :func:`~riskeval.studies.diagnose` gives it in every simulated study.

    Examples
    --------
    >>> from riskeval.studies import diagnose
    >>> design = skills_trial(n_officers=6, supervisees_per_officer=5, n_boot=20, n_perm=19)
    >>> design.name
    'skills trial, 6 officers x 5 supervisees'
    >>> d = diagnose(design, n_sims=2, seed=1)
    >>> round(float(d.table.loc[0, "truth"]), 4), d.table.shape
    (-0.0511, (2, 15))
    """
    from ..skills import simulate_skills
    from ..skills._model import resolve_params
    from .cohorts import compare_outcomes

    extra = dict(overrides)
    if n_officers is not None:
        extra["n_officers"] = n_officers
    if supervisees_per_officer is not None:
        extra["supervisees_per_officer"] = supervisees_per_officer
    p = resolve_params(params).updated(extra)
    if training_shift is None:
        # the parameters' own shift if they describe a training trial, else the default 0.5
        own = p["trained_share"] > 0 or p["training_shift"] != 0
        training_shift = p["training_shift"] if own else _DEFAULT_SHIFT
    p = p.updated({"trained_share": 0.5, "training_shift": training_shift})
    if p["allocation"] != "random":
        raise RiskevalError("skills_trial needs allocation='random' (a randomised trial); got "
                            f"{p['allocation']!r}")
    if p["n_officers"] < 4:
        raise RiskevalError(f"n_officers={p['n_officers']}; a trial needs at least 4 officers "
                            f"(two per arm)")
    truth = {"reconviction difference": _reconviction_difference(p)}

    def population(seed: np.random.SeedSequence) -> tuple[pd.DataFrame, dict[str, float]]:
        d = simulate_skills(p, seed=seed)
        sup = d.supervisees.join(d.officers.set_index("officer")["trained"], on="officer")
        sup["cohort"] = np.where(sup["trained"], "trained", "untrained")
        return sup, truth

    common = {"cohort": "cohort", "officer": "officer", "outcome": "event",
              "baseline": "untrained", "n_boot": n_boot, "n_perm": n_perm}
    estimators = [Estimator("reconviction rate: trained - untrained", "reconviction difference",
                            _comparison(compare_outcomes, **common))]
    if risk_adjusted:
        estimators.append(Estimator("observed - expected: trained - untrained",
                                    "reconviction difference",
                                    _comparison(compare_outcomes, expected="baseline_risk",
                                                **common)))
    return Design(population, tuple(estimators),
                  name=f"skills trial, {p['n_officers']} officers x "
                       f"{p['supervisees_per_officer']} supervisees",
                  params={k: p[k] for k in ("n_officers", "supervisees_per_officer",
                                            "training_shift", "hr_relationship",
                                            "hr_structuring", "hr_interaction", "frailty_sd",
                                            "risk_mean", "follow_up_years")})
