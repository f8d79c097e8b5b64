"""Ordinal (cumulative link) mixed model against R's ordinal::clmm.

Reference values: ``tests/fixtures/clmm_results.json``, written by
``tests/fixtures/clmm_fixtures.R`` (ordinal 2022.11.16, R 4.2.2, Laplace approximation) on the
synthetic data of ``tests/fixtures/make_lmm_data.py``; each entry carries its ``clmm`` call.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval import RiskevalError
from riskeval.variation import ordinal_mixed

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLMM = json.loads((FIXTURES / "clmm_results.json").read_text())


@pytest.mark.parametrize("entry", CLMM["fits"], ids=lambda e: f"{e['data']}:{e['link']}")
def test_matches_clmm(entry):
    data = pd.read_csv(FIXTURES / entry["data"])
    fixed = entry["formula"].split("~")[1].split("+ (1|case)")[0].strip()
    fit = ordinal_mixed(data, rating="level", case="case", rater="officer", office="office",
                        fixed=fixed, link=entry["link"])
    assert fit.n_obs == entry["nobs"]
    assert fit.loglik >= entry["loglik"] - 1e-6 * abs(entry["loglik"])
    assert fit.loglik == pytest.approx(entry["loglik"], abs=1e-3)
    for name, value in entry["sd"].items():
        assert fit.sd.loc[name, "estimate"] == pytest.approx(value, rel=1e-3), name
    for name, value in entry["estimate"].items():
        table = fit.thresholds if "|" in name else fit.fixed_effects
        assert table.loc[name, "estimate"] == pytest.approx(value, rel=1e-3, abs=1e-4), name
        assert table.loc[name, "se"] == pytest.approx(entry["se"][name], rel=1e-2), name


def test_latent_scale_recovers_simulated_spread():
    """Officer and office SDs relative to the noise SD come back on the probit scale."""
    world = rv.world.scenarios.six_office_study(n_offices=10, officers_per_office=8,
                                          n_vignettes=40, seed=3)
    world = world.only("office_practice", "who_assesses").with_mechanisms(
        noise={"sd": 0.5}, office_practice={"sd": 0.4},
        who_assesses={"sd": 0.4, "per_decade_experience": 0.0, "per_decade_age": 0.0})
    officers = world.officers
    officers["noise_factor"] = 1.0            # equal reliability: a single latent error SD
    world = world.with_staff(officers=officers)
    r = rv.simulate(world, seed=2)
    fit = ordinal_mixed(r, rating="rating", case="case", rater="officer", office="office")
    off = world.offices.set_index("office")["severity"] * 0.4 / 0.5
    ofc = world.officers.set_index("officer")["severity"] * 0.4 / 0.5
    assert fit.sd.loc["office", "estimate"] == pytest.approx(off.std(), rel=0.3)
    assert fit.sd.loc["officer", "estimate"] == pytest.approx(ofc.std(), rel=0.2)
    # the thresholds are the reference cuts in noise-SD units, shifted by the case mean
    cuts = rv.world.vignettes.thresholds(rv.world.vignettes.truth_params()) / 0.5
    assert np.diff(fit.thresholds["estimate"]) == pytest.approx(np.diff(cuts), rel=0.15)


def test_errors():
    data = pd.read_csv(FIXTURES / "lmm_balanced.csv")
    with pytest.raises(RiskevalError, match="link must be 'probit' or 'logit'"):
        ordinal_mixed(data, rating="level", case="case", rater="officer", link="cloglog")
    one = data.assign(level=2)
    with pytest.raises(RiskevalError, match="uses only one level"):
        ordinal_mixed(one, rating="level", case="case", rater="officer")
    text = data.assign(level=data["level"].map({1: "low", 2: "medium", 3: "high", 4: "v"}))
    with pytest.raises(RiskevalError, match="column 'level' holds text; give its levels"):
        ordinal_mixed(text, rating="level", case="case", rater="officer")
    with pytest.raises(RiskevalError, match="holds 'v', which is not one of the levels"):
        ordinal_mixed(text, rating="level", case="case", rater="officer",
                      categories=rv.RISK_LEVELS)


def test_an_optimum_not_reached_is_said(monkeypatch):
    """The intercepts fit warns (and notes) when the optimiser does not report convergence,
    as the slopes and spread fits do: never a silent non-converged fit."""
    from dataclasses import replace

    import riskeval.variation._ofit as ofit

    real = ofit.fit
    monkeypatch.setattr(ofit, "fit", lambda d, link: replace(
        real(d, link), converged=False, message="ABNORMAL_TERMINATION_IN_LNSRCH"))
    world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
                                                n_vignettes=8)
    with pytest.warns(rv.RiskevalWarning, match="did not report convergence"):
        out = ordinal_mixed(rv.simulate(world, seed=1), rating="rating", case="case",
                            rater="officer", office="office")
    assert not out.converged and any("ABNORMAL" in n for n in out.notes)
