"""Scenario presets for published studies of supervision skills (sources: papers/).

Each preset is a :class:`~riskeval._core.params.ParamSet` for :func:`simulate_skills`; the values it
changes carry their own provenance: a published figure with its citation, a value solved
exactly from a published figure by the model's closed form (:func:`expected_rates`), or a
named assumption. ``papers/skills_reconviction.md`` sets the published figures next to what
the presets reproduce.
"""

from __future__ import annotations

from .._core.params import Param, ParamSet, assumption
from ._expected import _rate
from ._model import skills_params

__all__ = ["PUBLISHED", "jersey", "stics_2011", "stics_bc", "training_meta"]

#: Published figures the presets are built on (value, citation).
PUBLISHED = {
    "jersey_staff": (14, "Raynor & Ugwudike (2013), 'Skills and outcomes: the results of the "
                         "Jersey supervision skills study', conference slides, Budapest"),
    "jersey_interviews": (95, "Raynor, Ugwudike & Vanstone (2014), Criminology & Criminal "
                              "Justice 14(2) 235-249; CEP research award note (2016)"),
    "bc_untrained_rate": (0.614, "Lee, Bonta, Pedneault, Rugge & Bourgon (2021), Journal of "
                                 "Criminal Justice 74:101816, abstract: 2-year general "
                                 "recidivism, probationers supervised before STICS training"),
    "bc_trained_rate": (0.430, "Lee et al. (2021), abstract: clients of STICS-trained officers"),
    "bc_odds_ratio": (0.48, "Lee et al. (2021), abstract: OR 0.48, 95% CI [0.37, 0.61]"),
    "bc_or_ci": ((0.37, 0.61), "Lee et al. (2021), abstract"),
    "stics_officers": (80, "Bonta, Bourgon, Rugge, Scott, Yessine, Gutierrez & Li (2011), "
                           "Criminal Justice and Behavior 38(11) 1127-1148, abstract: officers "
                           "randomised to training or not"),
    "meta_odds_ratio": (1.48, "Chadwick, DeWolf & Serin (2015), Criminal Justice and Behavior "
                              "42(10) 977-989, abstract: 10 studies, N = 8,335, odds ratio 1.48 "
                              "favouring trained officers"),
    "stics_clients": (143, "Bonta et al. (2011), abstract: probationers followed"),
}


#: How the calibrated values were found (the provenance of each says which figure).
_SOLVED = ("calibrated exactly: solved (scipy brentq) so that the model's closed form for the "
           "expected reconviction (riskeval.skills.expected_rates: Beta baseline risk, normal "
           "skills and frailty, integrated by Gauss-Hermite quadrature) equals")

#: The solutions of :func:`_solve_stics_bc` and :func:`_solve_training_meta` at the package's
#: default parameters, to 6 decimals (``tests/test_issue14_skills_design.py`` re-solves them).
_BC_RISK_MEAN, _BC_SHIFT = 0.623303, 1.378452
_META_SHIFT = 0.867854


def _brentq(f: object, lo: float, hi: float) -> float:
    from scipy.optimize import brentq

    return float(brentq(f, lo, hi, xtol=1e-12))


def _solve_stics_bc(base: ParamSet | None = None) -> tuple[float, float]:
    """``risk_mean`` and ``training_shift`` whose expected untrained and trained rates are
    the published 61.4% and 43.0% (Lee et al. 2021), under ``base``'s other parameters."""
    base = skills_params() if base is None else base
    untrained, trained = PUBLISHED["bc_untrained_rate"][0], PUBLISHED["bc_trained_rate"][0]
    risk_mean = _brentq(lambda m: _rate(base.updated({"risk_mean": m}), 0.0, 48) - untrained,
                        1e-4, 1 - 1e-4)
    at = base.updated({"risk_mean": risk_mean})
    shift = _brentq(lambda d: _rate(at, d, 48) - trained, 0.0, 10.0)
    return risk_mean, shift


def _solve_training_meta(base: ParamSet | None = None) -> float:
    """``training_shift`` whose expected odds ratio, untrained over trained, is the
    meta-analytic 1.48 (Chadwick, DeWolf & Serin 2015) at ``base``'s base rate."""
    base = skills_params() if base is None else base
    u = _rate(base, 0.0, 48)

    def gap(d: float) -> float:
        t = _rate(base, d, 48)
        return (u / (1 - u)) / (t / (1 - t)) - PUBLISHED["meta_odds_ratio"][0]

    return _brentq(gap, 0.0, 10.0)


def _with(base: ParamSet, values: dict[str, tuple[object, str]]) -> ParamSet:
    """``base`` with values replaced and their provenance rewritten."""
    out = base.updated({k: v for k, (v, _) in values.items()})
    params = tuple(Param(p.name, p.value, p.kind, p.meaning, values[p.name][1])
                   if p.name in values else p for p in out.params)
    return ParamSet(out.component, params)


def jersey() -> ParamSet:
    """The Jersey Supervision Skills Study's design: 14 staff, about 7 recorded interviews each,
    two-year reconviction. Effect sizes stay the package's labelled assumptions (the study's
    group reconviction rates were not found in a source we could read; see papers/).

    Examples
    --------
    >>> p = jersey()
    >>> p["n_officers"], p["sessions_per_officer"], p["trained_share"]
    (14, 7, 0.0)
    """
    base = skills_params()
    return _with(base, {
        "n_officers": (14, f"published: {PUBLISHED['jersey_staff'][1]}"),
        "sessions_per_officer": (7, f"published (rounded): 95 interviews / 14 staff; "
                                    f"{PUBLISHED['jersey_interviews'][1]}"),
    })


def stics_bc() -> ParamSet:
    """A trial in the image of the British Columbia roll-out of STICS training.

    Half the officers trained, clients followed for two years. The baseline risk is calibrated
    so that untrained officers' clients are reconvicted at the published 61.4%, and the
    training shift (both skills, in SD) so that trained officers' clients are at 43.0%, under
    the package's assumed skill effects (hazard ratios 0.85 and 0.80 per SD). Both are solved
    exactly with the model's closed form (:func:`riskeval.skills.expected_rates` gives 0.6140
    and 0.4300): ``risk_mean`` 0.623303 (the mean risk for an average officer; untrained
    officers' clients are reconvicted a little less, as the hazard ratios average over
    officers) and ``training_shift`` 1.378452. Group sizes of about 510 per arm are what the
    published odds-ratio interval implies (an inference, not a published count): 60 officers
    x 17 clients.

    Examples
    --------
    >>> p = stics_bc()
    >>> p["n_officers"], p["trained_share"], p["training_shift"]
    (60, 0.5, 1.378452)
    """
    base = skills_params()
    rates = (f"{_SOLVED} the published rates 61.4% (untrained) and 43.0% (trained): "
             f"{PUBLISHED['bc_untrained_rate'][1]}")
    return _with(base, {
        "risk_mean": (_BC_RISK_MEAN, rates),
        "trained_share": (0.5, assumption("stics-arms", "half the officers trained")),
        "training_shift": (_BC_SHIFT, rates),
        "n_officers": (60, assumption("stics-size", "about 510 clients per arm, implied by "
                                      "the published OR interval [0.37, 0.61]")),
        "supervisees_per_officer": (17, assumption("stics-size", "60 x 17 = 1,020 clients")),
    })


def stics_2011() -> ParamSet:
    """The design of the original STICS trial (Bonta et al. 2011): 80 officers randomised,
    143 probationers followed for two years -- about two per officer (2 x 80 = 160 here; the
    model gives every officer the same number). The trial's own recidivism rates were not
    found in a readable source, so the effect is the one calibrated to the British Columbia
    roll-out (:func:`stics_bc`), an assumption; the preset shows what a trial of this shape
    could detect.

    Examples
    --------
    >>> p = stics_2011()
    >>> p["n_officers"], p["supervisees_per_officer"], p["training_shift"]
    (80, 2, 1.378452)
    """
    bc = stics_bc()
    rows = {p.name: p for p in bc.params}
    return _with(bc, {
        "n_officers": (80, f"published: {PUBLISHED['stics_officers'][1]}"),
        "supervisees_per_officer": (2, f"published (rounded): 143 / 80 = 1.8; "
                                       f"{PUBLISHED['stics_clients'][1]}"),
        "risk_mean": (rows["risk_mean"].value, assumption(
            "stics-bc-effect", "rates of the British Columbia roll-out (Lee et al. 2021)")),
        "training_shift": (rows["training_shift"].value, assumption(
            "stics-bc-effect", "training effect of the British Columbia roll-out")),
    })


def training_meta() -> ParamSet:
    """A training trial whose effect is the meta-analytic one (Chadwick, DeWolf & Serin 2015):
    the odds of reconviction of untrained officers' supervisees are 1.48 times those of
    trained officers' (the odds ratio read as favouring training). The training shift is
    calibrated to that odds ratio at the package's default base rate (40% within two years;
    the meta-analysis's own rates were not found), under the assumed skill effects: solved
    exactly with the model's closed form (:func:`riskeval.skills.expected_rates`: expected
    rates 0.4004 and 0.3109, odds ratio 1.4800), giving 0.867854. The odds ratio is that of
    the expected rates (the population's); single simulated trials scatter around it.

    Examples
    --------
    >>> from riskeval.skills import expected_rates
    >>> p = training_meta()
    >>> p["training_shift"], round(1 / float(expected_rates(p)["odds_ratio"]), 3)
    (0.867854, 1.48)
    """
    base = skills_params()
    return _with(base, {
        "trained_share": (0.5, assumption("meta-arms", "half the officers trained")),
        "training_shift": (_META_SHIFT, f"{_SOLVED} the published odds ratio 1.48 (untrained "
                                        f"vs trained) at the default risk_mean: "
                                        f"{PUBLISHED['meta_odds_ratio'][1]}"),
        "n_officers": (60, assumption("meta-size", "a trial of the roll-out's size")),
        "supervisees_per_officer": (17, assumption("meta-size", "60 x 17 = 1,020 clients")),
    })
