"""Parameter recovery: simulate at known values, fit, and summarise bias and coverage.

Used by ``tests/test_recovery.py`` (a small version) and ``papers/parameter_recovery.py``
(the full study, whose table is ``papers/parameter_recovery.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .. import raters, vignettes
from ..simulate import World, simulate
from ._fit import crossed_lmm
from ._ofit import ordinal_mixed


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

    def truth(self) -> dict[str, float]:
        return {"office variance": self.office_sd ** 2,
                "officer variance": self.officer_sd ** 2,
                "experience per year": self.per_decade_experience / 10}

    def world(self, rep: int) -> World:
        """A fresh world for replication ``rep`` (new offices, officers and cases)."""
        seed = 100_000 + rep
        offices = raters.make_offices(self.n_offices, seed)
        # equal reliability: the model assumes one residual variance
        officers = raters.make_officers(offices, self.officers_per_office, seed,
                                        params={"noise_dispersion": 0.0})
        cases = vignettes.population(self.n_cases, seed)
        w = World(cases, offices, officers, name=self.name)
        return w.only("office_practice", "who_assesses").with_mechanisms(
            office_practice={"sd": self.office_sd},
            who_assesses={"sd": self.officer_sd, "per_decade_age": 0.0,
                          "per_decade_experience": self.per_decade_experience},
            noise={"sd": self.noise_sd})


def replicate(sc: Scenario, rep: int) -> list[dict[str, float]]:
    """Estimates and 95% intervals of each estimand in one replication."""
    w = sc.world(rep)
    r = simulate(w, seed=rep)
    exp_ = w.officers.set_index("officer")["experience_years"]
    r = r.assign(experience=exp_.loc[r["officer"].astype(str)].to_numpy())
    fit = crossed_lmm(r, rating="latent", case="case", rater="officer", office="office",
                      fixed="experience")
    vt, fe = fit.variance_table, fit.fixed_effects.loc["experience"]
    rows = []
    for name, est, lo, hi in (
            ("office variance", vt.loc["office", "variance"], vt.loc["office", "ci_low"],
             vt.loc["office", "ci_high"]),
            ("officer variance", vt.loc["officer", "variance"], vt.loc["officer", "ci_low"],
             vt.loc["officer", "ci_high"]),
            ("experience per year", fe["estimate"], fe["ci_low"], fe["ci_high"])):
        rows.append({"scenario": sc.name, "rep": rep, "estimand": name,
                     "truth": sc.truth()[name], "estimate": float(est), "ci_low": float(lo),
                     "ci_high": float(hi)})
    return rows


def replicate_ordinal(sc: Scenario, rep: int) -> list[dict[str, float]]:
    """The ordinal (probit) model on the officers' recorded levels, same worlds.

    On the probit scale the unit is the judgement noise SD, so the truths are the SDs divided
    by ``noise_sd``; the case effects (the evidence) are not normal, which the model assumes.
    """
    w = sc.world(rep)
    r = simulate(w, seed=rep)
    exp_ = w.officers.set_index("officer")["experience_years"]
    r = r.assign(experience=exp_.loc[r["officer"].astype(str)].to_numpy())
    fit = ordinal_mixed(r, rating="rating", case="case", rater="officer", office="office",
                        fixed="experience")
    truth = {"office SD (probit)": sc.office_sd / sc.noise_sd,
             "officer SD (probit)": sc.officer_sd / sc.noise_sd,
             "experience per year (probit)": sc.per_decade_experience / 10 / sc.noise_sd}
    sd, fe = fit.sd, fit.fixed_effects.loc["experience"]
    rows = []
    for name, (est, lo, hi) in {
            "office SD (probit)": tuple(sd.loc["office", ["estimate", "ci_low", "ci_high"]]),
            "officer SD (probit)": tuple(sd.loc["officer", ["estimate", "ci_low", "ci_high"]]),
            "experience per year (probit)": (fe["estimate"], fe["ci_low"], fe["ci_high"]),
    }.items():
        rows.append({"scenario": sc.name, "rep": rep, "estimand": name, "truth": truth[name],
                     "estimate": float(est), "ci_low": float(lo), "ci_high": float(hi)})
    return rows


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Bias, its Monte Carlo SE, RMSE and coverage (with its Monte Carlo SE) per estimand."""
    out = []
    for (sc, est), g in results.groupby(["scenario", "estimand"], sort=False):
        err = g["estimate"] - g["truth"]
        n = len(g)
        cover = ((g["ci_low"] <= g["truth"]) & (g["truth"] <= g["ci_high"])).mean()
        out.append({"scenario": sc, "estimand": est, "truth": g["truth"].iloc[0],
                    "replications": n, "mean estimate": g["estimate"].mean(),
                    "bias": err.mean(), "bias MC SE": err.std(ddof=1) / math.sqrt(n),
                    "rmse": math.sqrt(float((err ** 2).mean())),
                    "coverage": cover, "coverage MC SE": math.sqrt(cover * (1 - cover) / n)})
    return pd.DataFrame(out)



