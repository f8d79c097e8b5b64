"""Design diagnosis of a multilevel rating study in simulated worlds (riskeval.studies.worlds).

Timings on 2 cores: one crossed_lmm fit with profile intervals takes about 0.4 s at these
sizes, one without intervals about 0.03 s, one simulated world about 0.035 s.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import riskeval
from riskeval.studies import Design, diagnose, sample_size
from riskeval.studies import worlds as _world_design
from riskeval.studies._recovery import Scenario
from riskeval.studies.worlds import ESTIMANDS, world_study


def test_estimates_are_unbiased_and_intervals_cover():
    """30 studies of 8 offices x 4 officers x 12 cases, profile intervals (10-20 s on 2 cores)."""
    n = 30
    d = diagnose(world_study(8, 4, 12), n_sims=n, seed=7, n_jobs=2, chunk_size=5)
    t = d.table.set_index("estimator")
    assert list(t.index) == ["office variance", "officer variance", "experience"]
    assert list(t["estimand"]) == list(ESTIMANDS)
    assert t["truth"].tolist() == pytest.approx([0.35 ** 2, 0.30 ** 2, -0.015])
    se_nominal = math.sqrt(0.95 * 0.05 / n)
    for name, row in t.iterrows():
        assert row["n_sims"] == n
        assert abs(row["bias"]) < 3 * row["bias_mcse"], (name, row["bias"], row["bias_mcse"])
        assert abs(row["coverage"] - 0.95) <= 3 * se_nominal, (name, row["coverage"])
        assert row["width"] > 0
    # only the experience estimator has a test
    assert t[["power"]].iloc[:2].isna().all().all()
    assert 0 < t.loc["experience", "power"] < 1
    # the estimates vary between worlds: each study drew its own offices and officers
    sims = d.simulations[d.simulations["estimator"] == "experience"]
    assert sims["estimate"].nunique() == n


def test_same_seed_same_table_whatever_n_jobs():
    make = lambda: world_study(4, 3, 6, ci="wald")  # noqa: E731
    one = diagnose(make(), n_sims=6, seed=123, n_jobs=1)
    two = diagnose(make(), n_sims=6, seed=123, n_jobs=2, chunk_size=2)
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.simulations, two.simulations)
    other = diagnose(make(), n_sims=6, seed=124, n_jobs=1)
    assert not other.simulations["estimate"].equals(one.simulations["estimate"])


def test_power_for_experience_grows_with_officers():
    """The curve for 2, 4, 8 officers per office (10 offices, 12 cases), 60 studies each."""
    res = sample_size(
        lambda k: world_study(10, k, 12, ci=None, estimands=["experience per year"]),
        [2, 4, 8], estimator="experience", diagnosand="power", target=0.5, n_sims=60,
        seed=11, n_jobs=2, chunk_size=15)
    curve, best = res.curve, res.smallest
    power, se = curve["power"].to_numpy(), curve["power_mcse"].to_numpy()
    assert np.all(np.diff(power) > 0), curve
    assert power[2] - power[0] > 3 * math.hypot(se[0], se[2]), curve
    assert power[0] < 0.5 <= power[2]
    assert best in (4, 8)


def test_population_is_a_fresh_world_per_seed_and_repeatable():
    d = world_study(3, 2, 4, office_sd=0.5, per_decade_experience=0.2)
    a, truth = d.population(np.random.SeedSequence(5))
    b, _ = d.population(np.random.SeedSequence(5))
    c, _ = d.population(np.random.SeedSequence(6))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 3 * 2 * 4
    assert {"case", "officer", "office", "latent", "rating", "experience"} <= set(a.columns)
    assert truth == pytest.approx({"office variance": 0.25, "officer variance": 0.09,
                                   "experience per year": 0.02})
    assert not np.array_equal(a["latent"].to_numpy(), c["latent"].to_numpy())
    assert not np.array_equal(a["experience"].unique(), c["experience"].unique())


def test_defaults_are_the_recovery_studys_assumptions():
    sc = Scenario("x", 2, 2, 2)
    p = world_study(2, 2, 2).params
    assert (p["office_sd"], p["officer_sd"], p["per_decade_experience"], p["noise_sd"]) == (
        sc.office_sd, sc.officer_sd, sc.per_decade_experience, sc.noise_sd)


def test_estimators_share_one_fit(monkeypatch):
    calls = []
    real = _world_design.fit_latent

    def counting(data, **kw):
        calls.append(1)
        return real(data, **kw)

    monkeypatch.setattr(_world_design, "fit_latent", counting)
    d = world_study(4, 3, 6, ci=None)
    data, _ = d.population(np.random.SeedSequence(1))
    out = [e.fn(data) for e in d.estimators]
    assert len(calls) == 1
    assert set(out[2]) == {"estimate", "ci_low", "ci_high", "p"}
    assert math.isnan(out[0]["ci_low"])  # ci=None: no variance intervals


def test_levels_outcome_is_on_the_probit_scale():
    d = world_study(4, 3, 6, outcome="levels", noise_sd=0.5)
    assert isinstance(d, Design)
    t = diagnose(d, n_sims=2, seed=3).table.set_index("estimator")
    assert list(t["estimand"]) == [f"{e} (probit)" for e in ESTIMANDS]
    assert t["truth"].tolist() == pytest.approx([0.49, 0.36, -0.03])
    assert t[["mean_estimate", "width"]].notna().all().all()
    assert 0 <= t.loc["experience", "power"] <= 1


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"n_offices": 1}, "n_offices"),
    ({"n_offices": 2.5}, "n_offices"),
    ({"officers_per_office": 1}, "officers_per_office"),
    ({"n_cases": True}, "n_cases"),
    ({"office_sd": -0.1}, "office_sd"),
    ({"officer_sd": float("nan")}, "officer_sd"),
    ({"per_decade_experience": "0.1"}, "per_decade_experience"),
    ({"noise_sd": 0}, "noise_sd"),
    ({"outcome": "probit"}, "outcome"),
    ({"estimands": ["office variance", "case variance"]}, "estimands"),
    ({"estimands": []}, "estimands"),
    ({"ci": "bootstrap"}, "ci"),
    ({"outcome": "levels", "ci": "wald"}, "ci"),
    ({"confidence": 95}, "confidence"),
])
def test_bad_input_names_the_argument(kwargs, named):
    args = {"n_offices": 4, "officers_per_office": 3, "n_cases": 6}
    sizes = {k: kwargs.pop(k) for k in list(kwargs) if k in args}
    with pytest.raises(riskeval.RiskevalError, match=named):
        world_study(**{**args, **sizes}, **kwargs)


def test_incomplete_allocation_of_vignettes():
    """Each officer rates only ``vignettes_per_officer`` vignettes (cyclic allocation); the
    crossed model still recovers the variances (checked here over 12 studies, Wald speed)."""
    d = world_study(6, 4, 30, vignettes_per_officer=10, ci="wald")
    ratings, _ = d.population(np.random.SeedSequence(1))
    assert len(ratings) == 6 * 4 * 10
    assert set(ratings.groupby("officer", observed=True).size()) == {10}
    assert set(ratings.groupby("case", observed=True).size()) == {8}   # 24 x 10 / 30
    res = diagnose(d, n_sims=12, seed=3).table.set_index("estimator")
    assert abs(res.loc["officer variance", "bias"]) < 4 * res.loc["officer variance",
                                                                   "bias_mcse"]
    with pytest.raises(riskeval.RiskevalError,
                       match="vignettes_per_officer=40 exceeds n_cases=30"):
        world_study(6, 4, 30, vignettes_per_officer=40)
