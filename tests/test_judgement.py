"""Clinical judgement against the actuarial score in a simulated world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import riskeval as rv
from riskeval import RiskevalError, studies
from riskeval.prediction import baserates, judgement


@pytest.fixture(scope="module")
def world():
    return rv.world.scenarios.six_office_study(n_vignettes=400, seed=5)


def test_accuracy_table_equals_its_parts(world):
    r = rv.simulate(world, seed=1)
    o = baserates.simulate_outcomes(world.vignettes, seed=0)
    acc = judgement.judgement_accuracy(r, world.vignettes, o)
    direct = rv.prediction.auc(o["reconvicted"].to_numpy(),
                              world.vignettes["actuarial_p"].to_numpy())
    assert acc.loc["actuarial score", "auc"] == pytest.approx(direct.estimate)
    assert acc.loc["actuarial score", "auc_low"] == pytest.approx(direct.ci[0])
    y = o.set_index("case")["reconvicted"]
    per = [roc_auc_score(y.loc[g["case"]], g["rating"].cat.codes)
           for _, g in r.groupby("officer", observed=True)]
    assert acc.loc["officers' levels", "auc"] == pytest.approx(np.mean(per))
    # compared at equal workload: the same share of cases flagged
    assert acc.loc["actuarial score", "flagged_share"] == pytest.approx(
        acc.loc["officers' levels", "flagged_share"], abs=1 / 400)
    with pytest.raises(RiskevalError, match="lack column 'actuarial_p'"):
        judgement.judgement_accuracy(r, world.vignettes.drop(columns="actuarial_p"), o)


def test_officers_rating_harm_discriminate_serious_offences_less_than_the_reference():
    w = rv.world.scenarios.six_office_study(n_vignettes=3000, seed=5)
    r = rv.simulate(w, seed=1)
    o = baserates.simulate_outcomes(w.vignettes, seed=0)
    officers = judgement.judgement_accuracy(r, w.vignettes, o, outcome="serious")
    truth = judgement.judgement_accuracy(r.assign(rating=r["reference"]), w.vignettes, o,
                                         outcome="serious")
    assert (truth.loc["officers' levels", "auc"]
            > officers.loc["officers' levels", "auc_high"] + 0.05)


def test_switching_mechanisms_off_moves_what_they_should(world):
    eff = studies.mechanism_accuracy(world, seed=1, outcome_seed=0,
                                       mechanisms=["defensive_inflation", "anchoring",
                                                   "psychological_ignored"])
    assert list(eff.index) == ["(all on)", "defensive_inflation", "anchoring",
                               "psychological_ignored"]
    # inflation only raises ratings: without it fewer cases are flagged high or above
    assert eff.loc["defensive_inflation", "d_flagged_share"] < -0.02
    # anchoring needs repeat assessments: with one occasion it changes nothing
    assert eff.loc["anchoring", "d_auc"] == 0 and eff.loc["anchoring", "d_ppv"] == 0


def test_only_mechanisms_that_are_on_are_switched_off():
    w = rv.world.scenarios.six_office_study(n_vignettes=200, seed=5).with_mechanisms(
        familiarity=False, manager_override=False)
    eff = studies.mechanism_accuracy(w, seed=1, outcome_seed=0)
    assert "familiarity" not in eff.index and "manager_override" not in eff.index
    assert "defensive_inflation" in eff.index and "noise" not in eff.index


def test_seeds_follow_the_one_seed_rule():
    import numpy as np

    w = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3, n_vignettes=12)
    by_int = studies.mechanism_accuracy(w, seed=1, outcome_seed=2, mechanisms=["anchoring"])
    by_ss = studies.mechanism_accuracy(w, seed=np.random.SeedSequence(1),
                                         outcome_seed=np.random.SeedSequence(2),
                                         mechanisms=["anchoring"])
    pd.testing.assert_frame_equal(by_int.to_frame(), by_ss.to_frame())
    # a Generator or None is drawn from once: every world still shares its random numbers
    # (enough cases that fresh outcomes always hold both values)
    big = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
                                              n_vignettes=80)
    for seed in (np.random.default_rng(3), None):
        eff = studies.mechanism_accuracy(big, seed=seed, mechanisms=["anchoring"])
        assert eff.loc["anchoring", "d_auc"] == 0 and eff.loc["anchoring", "d_ppv"] == 0
    cases = w.vignettes
    pd.testing.assert_frame_equal(baserates.simulate_outcomes(cases, seed=4),
                                  baserates.simulate_outcomes(cases,
                                                              seed=np.random.SeedSequence(4)))
    assert len(baserates.simulate_outcomes(cases)) == len(cases)
