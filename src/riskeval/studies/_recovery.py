"""Parameter recovery: simulate at known values, fit, and summarise bias and coverage.

The machinery of a validation study (private): users reach it through
:func:`riskeval.studies.world_study`, and ``papers/parameter_recovery.py`` runs it in full.

Used by ``tests/test_recovery.py`` (a small version) and ``papers/parameter_recovery.py``
(the full study, whose table is ``papers/parameter_recovery.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..variation._fit import LMMResult, crossed_lmm
from ..variation._ofit import OrdinalMixedResult, ordinal_mixed
from ..world import raters, vignettes
from ..world.engine import Allocation, World, simulate

__all__ = [
    "Scenario",
    "fit_latent",
    "fit_levels",
    "inflation_slope",
    "replicate",
    "replicate_ordinal",
    "simulated",
    "summarise",
]


@dataclass(frozen=True)
class Scenario:
    """A recovery scenario: design size and the true values of the estimands."""

    name: str
    n_offices: int
    officers_per_office: int
    n_cases: int
    office_sd: float = 0.35
    officer_sd: float = 0.30
    per_decade_experience: float = -0.15
    noise_sd: float = 0.5
    #: latent inflation shift per unit tendency x pressure (0: no inflation); when positive,
    #: every officer rates every case on ``occasions`` occasions ``interval_years`` apart
    inflation_shift: float = 0.0
    occasions: int = 1
    interval_years: float = 3.0
    #: vignettes each officer rates (cyclic incomplete allocation); 0: every officer rates all
    vignettes_per_officer: int = 0

    def truth(self, world: World | None = None) -> dict[str, float]:
        """True values; the inflation slope is that of the world's own officers."""
        out = {"office variance": self.office_sd ** 2,
               "officer variance": self.officer_sd ** 2,
               "experience per year": self.per_decade_experience / 10}
        if self.inflation_shift > 0:
            if world is None:
                raise ValueError("the inflation truth depends on the world's officers")
            out["inflation per year"] = inflation_slope(world, self.inflation_shift)
        return out

    def world(self, rep: int) -> World:
        """A fresh world for replication ``rep`` (new offices, officers and cases)."""
        return self.world_from(100_000 + rep)

    def world_from(self, seed: Any) -> World:
        """The scenario's world with offices, officers and cases all drawn from ``seed``.

        ``seed`` is an int or a ``numpy.random.SeedSequence``, as
        :func:`riskeval.world.raters.make_offices` accepts; :meth:`world` uses
        ``100_000 + rep``.
        """
        offices = raters.make_offices(self.n_offices, seed)
        # equal reliability: the model assumes one residual variance
        officers = raters.make_officers(offices, self.officers_per_office, seed,
                                        params={"noise_dispersion": 0.0})
        cases = vignettes.population(self.n_cases, seed)
        w = World(cases, offices, officers, name=self.name)
        on = ("office_practice", "who_assesses")
        if self.inflation_shift > 0:
            on += ("defensive_inflation",)
            w = w.with_design(Allocation(occasions=self.occasions,
                                     interval_years=self.interval_years))
        elif self.vignettes_per_officer:
            w = w.with_design(Allocation(allocation="incomplete",
                                     vignettes_per_officer=self.vignettes_per_officer))
        return w.only(*on).with_mechanisms(
            office_practice={"sd": self.office_sd},
            who_assesses={"sd": self.officer_sd, "per_decade_age": 0.0,
                          "per_decade_experience": self.per_decade_experience},
            defensive_inflation={"form": "shift", "shift": self.inflation_shift},
            noise={"sd": self.noise_sd})


def inflation_slope(world: World, shift: float) -> float:
    """Mean yearly growth of the latent inflation term over a crossed design's ratings.

    Officer ``o`` in office ``f`` adds ``shift * tendency_o * (scrutiny_f + trend_f * (year -
    base_year))``, so its slope is ``shift * tendency_o * trend_f``; every officer rates every
    case equally often, so the ratings' mean slope is the officers' mean.
    """
    off = world.offices.set_index("office")
    trend = off.loc[world.officers["office"], "scrutiny_trend"].to_numpy(float)
    return float(shift * np.mean(world.officers["inflation_tendency"].to_numpy(float) * trend))


def simulated(sc: Scenario, world_seed: Any, seed: Any) -> tuple[World, pd.DataFrame]:
    """The world drawn from ``world_seed`` and its ratings simulated from ``seed``, with each
    officer's experience (years) attached as column ``experience``."""
    w = sc.world_from(world_seed)
    r = simulate(w, seed=seed)
    exp_ = w.officers.set_index("officer")["experience_years"]
    return w, r.assign(experience=exp_.loc[r["officer"].astype(str)].to_numpy())


def _simulated(sc: Scenario, rep: int) -> tuple[World, pd.DataFrame]:
    """Replication ``rep``'s world and its ratings, with each officer's experience attached."""
    return simulated(sc, 100_000 + rep, rep)


def fit_latent(r: pd.DataFrame, *, ci: str | None = "auto",
               confidence: float = 0.95) -> LMMResult:
    """``crossed_lmm(latent ~ experience + (1|case) + (1|office) + (1|officer))`` (REML)."""
    return crossed_lmm(r, rating="latent", case="case", rater="officer", office="office",
                       fixed="experience", ci=ci, confidence=confidence)


def fit_levels(r: pd.DataFrame, *, confidence: float = 0.95) -> OrdinalMixedResult:
    """``ordinal_mixed(rating ~ experience + (1|case) + (1|office) + (1|officer))`` (probit)."""
    return ordinal_mixed(r, rating="rating", case="case", rater="officer", office="office",
                         fixed="experience", confidence=confidence)


def _rows(sc: Scenario, rep: int, truth: dict[str, float],
          found: dict[str, tuple[float, float, float]]) -> list[dict[str, float]]:
    return [{"scenario": sc.name, "rep": rep, "estimand": name, "truth": truth[name],
             "estimate": float(est), "ci_low": float(lo), "ci_high": float(hi)}
            for name, (est, lo, hi) in found.items()]


def replicate(sc: Scenario, rep: int) -> list[dict[str, float]]:
    """Estimates and 95% intervals of each estimand in one replication.

    The linear mixed model is fitted to the officers' latent judgements. With inflation on,
    calendar year enters as a fixed effect and its coefficient estimates the inflation slope;
    the variances are then not reported, because heterogeneous inflation adds to the officers'
    (and through their mean, the offices') spread, so they no longer equal the scenario's SDs.
    """
    w, r = _simulated(sc, rep)
    cols = ["estimate", "ci_low", "ci_high"]
    if sc.inflation_shift > 0:
        fit = crossed_lmm(r, rating="latent", case="case", rater="officer", office="office",
                          fixed="experience + year", ci=None)
        fe = fit.fixed_effects
        found = {"experience per year": tuple(fe.loc["experience", cols]),
                 "inflation per year": tuple(fe.loc["year", cols])}
        return _rows(sc, rep, sc.truth(w), found)
    fit = fit_latent(r)
    vt, fe = fit.variance_table, fit.fixed_effects
    found = {
        "office variance": tuple(vt.loc["office", ["variance", "ci_low", "ci_high"]]),
        "officer variance": tuple(vt.loc["officer", ["variance", "ci_low", "ci_high"]]),
        "experience per year": tuple(fe.loc["experience", cols])}
    return _rows(sc, rep, sc.truth(w), found)


def replicate_ordinal(sc: Scenario, rep: int) -> list[dict[str, float]]:
    """The ordinal (probit) model on the officers' recorded levels, same worlds.

    On the probit scale the unit is the judgement noise SD, so the truths are the latent values
    divided by ``noise_sd``; the case effects (the evidence) are not normal, which the model
    assumes. With inflation on, only the slope is reported, estimated by
    :func:`riskeval.variation.bias.inflation_trend` (recorded level against the reference level,
    calendar
    year as a fixed effect).
    """
    from ..variation.bias import inflation_trend

    w, r = _simulated(sc, rep)
    truth, cols = sc.truth(w), ["estimate", "ci_low", "ci_high"]
    if sc.inflation_shift > 0:
        trend = inflation_trend(r, rating="rating", reference="reference", year="year",
                                case="case", rater="officer", office="office")
        return _rows(sc, rep, {"inflation per year (probit)": truth["inflation per year"]
                               / sc.noise_sd}, {"inflation per year (probit)": tuple(trend[cols])})
    fit = fit_levels(r)
    probit = {"office SD (probit)": sc.office_sd / sc.noise_sd,
              "officer SD (probit)": sc.officer_sd / sc.noise_sd,
              "experience per year (probit)": truth["experience per year"] / sc.noise_sd}
    sd, fe = fit.sd, fit.fixed_effects.loc["experience"]
    found = {"office SD (probit)": tuple(sd.loc["office", cols]),
             "officer SD (probit)": tuple(sd.loc["officer", cols]),
             "experience per year (probit)": tuple(fe[cols])}
    return _rows(sc, rep, probit, found)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Bias, its Monte Carlo SE, RMSE and coverage (with its Monte Carlo SE) per estimand.

    ``truth`` is the mean true value (it varies between replications when it depends on the
    world drawn, as the inflation slope does); bias is the mean of estimate minus truth.
    """
    out = []
    for (sc, est), g in results.groupby(["scenario", "estimand"], sort=False):
        err = g["estimate"] - g["truth"]
        n = len(g)
        cover = ((g["ci_low"] <= g["truth"]) & (g["truth"] <= g["ci_high"])).mean()
        out.append({"scenario": sc, "estimand": est, "truth": g["truth"].mean(),
                    "replications": n, "mean estimate": g["estimate"].mean(),
                    "bias": err.mean(), "bias MC SE": err.std(ddof=1) / math.sqrt(n),
                    "rmse": math.sqrt(float((err ** 2).mean())),
                    "coverage": cover, "coverage MC SE": math.sqrt(cover * (1 - cover) / n)})
    return pd.DataFrame(out)



