"""Training evaluations declared for diagnosis: skills trials (reconviction) and rating cohorts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskeval import RiskevalError
from riskeval import studies as dz
from riskeval.skills import simulate_skills
from riskeval.skills._model import _PARAMS
from riskeval.studies.trials import _reconviction_difference


def test_the_true_reconviction_difference_matches_a_very_large_trial():
    """The estimand is computed from the model's parameters; a 4,000-officer trial with 100
    supervisees each (400,000 people) must agree within 3 of its standard errors."""
    p = _PARAMS.updated({"trained_share": 0.5, "training_shift": 0.5, "n_officers": 4000,
                         "supervisees_per_officer": 100})
    truth = _reconviction_difference(p)
    assert -0.07 < truth < -0.03                  # half an SD of skill: about five points
    d = simulate_skills(p, seed=3)
    s = d.supervisees.join(d.officers.set_index("officer")["trained"], on="officer")
    per_officer = s.groupby(["trained", "officer"])["event"].mean()
    means = per_officer.groupby(level=0).mean()
    se = math.sqrt((per_officer.groupby(level=0).var() / per_officer.groupby(level=0).size())
                   .sum())
    assert abs((means[True] - means[False]) - truth) < 3 * se, (means, truth, se)
    assert _reconviction_difference(p.updated({"training_shift": 0.0})) == 0.0


def test_skills_trial_diagnosis_is_honest_at_no_effect_and_at_an_effect():
    null = dz.diagnose(dz.skills_trial(n_officers=30, supervisees_per_officer=20,
                                       training_shift=0.0), n_sims=200, seed=1, n_jobs=2)
    t = null.table.set_index("estimator")
    for name, row in t.iterrows():
        assert row["truth"] == 0.0
        assert abs(row["bias"]) < 3 * row["bias_mcse"], name
        assert 0.02 <= row["power"] <= 0.09, (name, row["power"])   # false alarms
    eff = dz.diagnose(dz.skills_trial(n_officers=60, supervisees_per_officer=30,
                                      training_shift=1.0), n_sims=300, seed=2, n_jobs=2)
    t = eff.table.set_index("estimator")
    for name, row in t.iterrows():
        assert row["truth"] < -0.08
        assert abs(row["bias"]) < 3 * row["bias_mcse"] + 0.003, name
        # the percentile bootstrap over 30 officers per arm runs a little narrow: over 800
        # trials it covered 93.3% (rates) and 93.9% (observed - expected), MC SE 0.9%
        assert 0.895 <= row["coverage"] <= 0.985, (name, row["coverage"])
        assert row["power"] > 0.6, (name, row["power"])
    # adjusting for baseline risk removes caseload noise: a narrower interval
    assert t.iloc[1]["width"] < t.iloc[0]["width"]


def test_training_study_false_alarms_and_power():
    kw = {"statistics": ("ICC3", "inflation"), "n_boot": 50, "n_perm": 199}
    null = dz.diagnose(dz.training_study(4, 8, 20, **kw), n_sims=40, seed=3, n_jobs=2)
    t = null.table.set_index("estimator")
    assert (t["truth"] == 0).all() and np.isfinite(t["bias"]).all()
    assert (t["power"] <= 0.15).all(), t["power"]          # 5% nominal; 40 studies
    eff = dz.diagnose(dz.training_study(4, 8, 20, noise_factor=0.4, inflation_factor=0.0,
                                        **kw), n_sims=40, seed=3, n_jobs=2)
    t = eff.table.set_index("estimator")
    assert t["truth"].isna().all() and t["bias"].isna().all() and t["coverage"].isna().all()
    assert np.isfinite(t["width"]).all()
    assert t.loc["ICC3: trained - untrained", "power"] >= 0.6
    assert t.loc["ICC3: trained - untrained", "mean_estimate"] > 0
    assert t.loc["inflation: trained - untrained", "mean_estimate"] < 0
    # same seed, same studies
    d = dz.training_study(3, 4, 10, statistics=("accuracy",), n_boot=20, n_perm=19)
    a = d.population(np.random.SeedSequence(5))[0]
    b = d.population(np.random.SeedSequence(5))[0]
    pd.testing.assert_frame_equal(a, b)
    assert (a.groupby("office", observed=True)["cohort"].apply(
        lambda c: (c == "trained").mean()) == 0.5).all()


def test_bad_input_is_named():
    with pytest.raises(RiskevalError, match="statistics"):
        dz.training_study(3, 4, 10, statistics=("mean",))
    with pytest.raises(RiskevalError, match="officers_per_office"):
        dz.training_study(3, 1, 10)
    with pytest.raises(RiskevalError, match="use score='rating'"):
        dz.training_study(3, 4, 10, score="latent", statistics=("accuracy",))
    with pytest.raises(RiskevalError, match="allocation='random'"):
        dz.skills_trial(allocation="risk")
    with pytest.raises(RiskevalError, match="n_officers=2"):
        dz.skills_trial(n_officers=2)


def test_skills_trial_keeps_a_presets_training_shift_unless_one_is_given():
    """``skills_trial(params=preset)`` used to replace the preset's solved training shift by
    its own default 0.5, so ``skills_trial(stics_bc())`` was not the roll-out's trial."""
    from riskeval import skills as sk

    def shift_and_truth(design):
        _, truth = design.population(np.random.SeedSequence(0))
        return design.params["training_shift"], truth["reconviction difference"]

    for preset in (sk.stics_bc(), sk.stics_2011(), sk.training_meta()):
        shift, truth = shift_and_truth(dz.skills_trial(preset))
        assert shift == preset["training_shift"] != 0.5
        assert truth == pytest.approx(sk.expected_rates(preset)["difference"], abs=1e-12)
    bc = sk.stics_bc()
    # an explicit shift always wins, 0 included (the false-alarm trial)
    assert shift_and_truth(dz.skills_trial(bc, training_shift=0.25))[0] == 0.25
    assert shift_and_truth(dz.skills_trial(bc, training_shift=0.0)) == (0.0, 0.0)
    # a training preset whose effect was set to 0 keeps it
    assert shift_and_truth(dz.skills_trial(bc.updated({"training_shift": 0.0}))) == (0.0, 0.0)
    # a mapping's own nonzero shift is used
    assert shift_and_truth(dz.skills_trial({"training_shift": 0.3}))[0] == 0.3
    # parameters without a trained arm (the defaults, jersey()) take the default 0.5
    for params in (None, sk.skills_params(), sk.jersey(), {"frailty_sd": 0.3}):
        assert shift_and_truth(dz.skills_trial(params))[0] == 0.5
    assert dz.skills_trial(bc).params["n_officers"] == bc["n_officers"]
