"""Fitting the world to ratings (issue 18, first part): the summaries against their
definitions, the same posterior for the same seed wherever the simulations run, recovery of
known parameters, the regression adjustment on a problem with a known posterior, and bad
input named; repeat assessments (anchoring), overrides and published priors. The full
simulation-based calibration, in two designs, is papers/calibration.py."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import riskeval as rv
from riskeval.errors import RiskevalError
from riskeval.studies import calibration as C
from riskeval.studies.calibration import _summaries as summaries
from riskeval.studies.calibration import calibrate, default_prior

LEVELS = list(rv.RISK_LEVELS)


@pytest.fixture(scope="module")
def world():
    return rv.world.scenarios.six_office_study()


@pytest.fixture(scope="module")
def observed(world):
    return rv.simulate(world, seed=3)


# ------------------------------------------------------------------------------ summaries

@pytest.mark.parametrize("seed", range(3))
def test_summaries_by_their_definitions(world, seed):
    r = rv.simulate(world, seed=seed)
    s = summaries(r, categories=LEVELS, reference="reference")
    y = r["rating"].cat.codes.to_numpy() + 1.0
    for j, lv in enumerate(LEVELS[:-1]):
        assert s[f"share_{lv}"] == pytest.approx(np.mean(y == j + 1))
    frame = r.assign(y=y)
    case_mean = frame.groupby("case")["y"].transform("mean")
    dev = frame["y"] - case_mean
    officer_dev = dev.groupby([frame["office"], frame["officer"]]).transform("mean")
    assert s["sd_case"] == pytest.approx(frame.groupby("case")["y"].mean().std(ddof=0))
    assert s["sd_officer"] == pytest.approx(
        dev.groupby([frame["office"], frame["officer"]]).mean().std(ddof=0))
    assert s["sd_office"] == pytest.approx(dev.groupby(frame["office"]).mean().std(ddof=0))
    assert s["sd_residual"] == pytest.approx((dev - officer_dev).std(ddof=0))
    same = total = 0
    for _, g in frame.groupby("case"):
        v = g["y"].to_numpy()
        same += sum(int(a == b) for i, a in enumerate(v) for k, b in enumerate(v) if i != k)
        total += len(v) * (len(v) - 1)
    assert s["agreement"] == pytest.approx(same / total)
    ref = r["reference"].cat.codes.to_numpy() if hasattr(r["reference"], "cat") else \
        pd.Categorical(r["reference"], categories=LEVELS).codes
    assert s["above_reference"] == pytest.approx(np.mean(y - 1 > ref))
    assert s["below_reference"] == pytest.approx(np.mean(y - 1 < ref))


# -------------------------------------------------------------------- seeds and backends

def test_same_seed_same_posterior_serial_or_parallel(world, observed):
    kw = dict(free=["office_practice.sd", "noise.sd"], n_simulations=240, chunk_size=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = calibrate(world, observed, seed=5, **kw)
        b = calibrate(world, observed, seed=5, n_jobs=2, **kw)
        c = calibrate(world, observed, seed=6, **kw)
        d = calibrate(world, observed, seed=5, **{**kw, "chunk_size": 7})
    pd.testing.assert_frame_equal(a.draws, b.draws)
    pd.testing.assert_frame_equal(a.table, d.table)
    assert not a.table.equals(c.table)


def test_checked_ratings_give_the_posterior_of_the_same_table(world, observed):
    """The officers' own ratings (before overrides) are used when the table keeps them, as a
    DataFrame or as checked Ratings: the same data give the same posterior."""
    kw = dict(free=["office_practice.sd", "manager_override.rate_scale"], n_simulations=200,
              accept=0.1, seed=2)
    checked = rv.Ratings(observed, case="case", rater="officer", rating="rating",
                         office="office")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = calibrate(world, observed, **kw)
        b = calibrate(world, checked, **kw)
        c = calibrate(world, checked, own_rating=None, **kw)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert "override_share" in a.observed.index and "override_share" in b.observed.index
    pd.testing.assert_frame_equal(b.table, c.table)


# ------------------------------------------------------------ the regression adjustment

def test_adjustment_recovers_a_known_normal_posterior():
    """theta ~ N(0, 1), one summary s = theta + N(0, 0.5^2): the posterior given s is normal
    with mean 0.8 s and SD sqrt(0.2); the adjusted draws reproduce it."""
    rng = np.random.default_rng(0)
    n = 80_000
    theta = rng.normal(size=(n, 1))
    sims = theta + rng.normal(0, 0.5, size=(n, 1))
    prob = C._Problem(None, ("t",), (("x", "t"),), (stats.norm(0, 1),), {})
    for s_obs in (-1.0, 0.3, 1.5):
        post = C._posterior(prob, theta, sims, pd.Series([s_obs], index=["s"]), 0.05, None)
        tab = post.summary_table()
        assert tab.loc["t", "mean"] == pytest.approx(0.8 * s_obs, abs=0.03)
        assert tab.loc["t", "sd"] == pytest.approx(np.sqrt(0.2), rel=0.06)


# ---------------------------------------------------------------------------- recovery

THREE = ("office_practice.sd", "noise.sd", "defensive_inflation.strength")


@pytest.fixture(scope="module")
def three(world):
    """One reference table (4,000 simulations from the default priors) of three parameters,
    with the summaries ``calibrate`` uses for simulated ratings with a reference column: the
    recovery, the small SBC and the predictive checks share it (as a user's one table serves
    any data set of the design)."""
    prob = C._Problem(world, THREE, tuple(tuple(n.split(".")) for n in THREE),
                      tuple(default_prior(world, n) for n in THREE),
                      {"categories": tuple(LEVELS), "office": "office",
                       "reference": "reference", "occasion": "occasion",
                       "own": "officer_rating"})
    from riskeval._core.seeds import spawn

    parts = list(C.map_chunks(C._chunk, [spawn(1, 4000)[k:k + 500] for k in range(0, 4000, 500)],
                              args=(prob,), n_jobs=2))
    return prob, np.vstack([t for t, _ in parts]), np.vstack([s for _, s in parts])


def _fit(three, ratings, accept=0.05):
    """The posterior of the three parameters from the shared table, for these ratings."""
    prob, theta, sims = three
    obs = summaries(ratings, **prob.spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return C._posterior(prob, theta, sims, obs, accept, None)


def test_the_shared_table_is_the_one_calibrate_builds(world, three):
    obs = rv.simulate(world, seed=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = calibrate(world, obs, free=list(THREE), reference="reference",
                         n_simulations=500, n_jobs=2, seed=1)
    _, theta, sims = three
    assert post.table[list(THREE)].to_numpy() == pytest.approx(theta[:500])
    assert post.table[[f"s:{c}" for c in post.observed.index]].to_numpy() == \
        pytest.approx(sims[:500])


def test_known_parameters_are_recovered(world, three):
    truth = {"office_practice.sd": 0.35, "noise.sd": 0.35, "defensive_inflation.strength": 0.5}
    for seed in range(3):
        tab = _fit(three, rv.simulate(world, seed=100 + seed)).summary_table()
        for name, value in truth.items():
            assert abs(tab.loc[name, "mean"] - value) < 3 * tab.loc[name, "sd"], name
        assert (tab["contraction"] > 0.5).all()


def test_small_simulation_based_calibration(world, three):
    """A small version of the simulation-based calibration: one reference table, 40 data sets
    drawn from the prior; the 50% and 90% intervals cover the truth about as often as they
    say, pooled over the three parameters."""
    from riskeval._core.seeds import spawn

    prob, theta, sims = three
    truth, test = C._chunk(prob, spawn(2, 40))
    index = summaries(rv.simulate(world, seed=1), **prob.spec).index
    c50 = c90 = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(40):
            tab = C._posterior(prob, theta, sims, pd.Series(test[i], index=index), 0.05,
                               None).summary_table()
            for j, name in enumerate(THREE):
                c50 += tab.loc[name, "q25"] <= truth[i, j] <= tab.loc[name, "q75"]
                c90 += tab.loc[name, "q05"] <= truth[i, j] <= tab.loc[name, "q95"]
    # 120 intervals: MC SE of a 50% coverage is 0.046, of a 90% coverage 0.027
    assert 0.36 <= c50 / 120 <= 0.64
    assert c90 / 120 >= 0.82


# ----------------------------------------------------------------------------- bad input

def test_bad_input_is_named(world, observed):
    with pytest.raises(RiskevalError, match=r"no parameter 'office_practise\.sd'.*did you mean "
                                            r"'office_practice\.sd'"):
        calibrate(world, observed, free=["office_practise.sd"], n_simulations=100)
    with pytest.raises(RiskevalError, match="design"):
        calibrate(world, observed, free=["design.interval_years"], n_simulations=100)
    with pytest.raises(RiskevalError, match="switched off"):
        calibrate(world, observed, free=["central_tendency.strength"], n_simulations=100)
    with pytest.raises(RiskevalError, match="outside its domain"):
        calibrate(world, observed, free=["noise.sd"], priors={"noise.sd": stats.norm(0.3, 1)},
                  n_simulations=100)
    with pytest.raises(RiskevalError, match="not free parameters"):
        calibrate(world, observed, free=["noise.sd"], priors={"office_practice.sd": (0, 1)},
                  n_simulations=100)
    with pytest.raises(RiskevalError, match="twice"):
        calibrate(world, observed, free=["noise.sd", "noise.sd"], n_simulations=100)
    with pytest.raises(RiskevalError, match="is not a number to estimate"):
        calibrate(world, observed, free=["anchoring.from_level"], n_simulations=100)
    bad = observed.assign(rating=observed["rating"].astype(str).replace({"low": "minimal"}))
    with pytest.raises(RiskevalError, match="minimal"):
        calibrate(world, bad, free=["noise.sd"], n_simulations=100)
    assert default_prior(world, "noise.sd").support()[1] == pytest.approx(1.05)


# ------------------------------------------------------------ posterior predictive check

def test_predictive_check_passes_a_right_world_and_fails_a_wrong_one(world, three):
    right = _fit(three, rv.simulate(world, seed=11))
    check = right.check(n=60, seed=1, n_jobs=2)
    assert check.equals(right.check(n=60, seed=1))          # serial = parallel
    assert (check["p"] > 0.01).all()
    # the observed data pull every end rating inward; the fitted world cannot
    wrong = _fit(three, rv.simulate(world.with_mechanisms(central_tendency={"strength": 5.0}),
                                    seed=11))
    bad = wrong.check(n=60, seed=1, n_jobs=2)
    assert bad.loc["end_share", "p"] < 0.05
    assert bad.loc["end_share", "observed"] < bad.loc["end_share", "q05"]


# --------------------------------------------------------------------- counterfactuals

def test_counterfactuals(world):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = calibrate(world, rv.simulate(world, seed=12), reference="reference",
                         free=["noise.sd", "defensive_inflation.strength"],
                         n_simulations=1500, n_jobs=2, seed=3)
    off = post.predict({"defensive_inflation": False}, n=40, seed=5, n_jobs=2)
    assert off.equals(post.predict({"defensive_inflation": False}, n=40, seed=5))
    # inflation only raises ratings: without it fewer are above the reference
    assert off.loc["net_upward", "difference_q95"] < 0
    assert off.loc["net_upward", "after"] < off.loc["net_upward", "before"]
    same = post.predict(lambda w: w, n=10, seed=5)
    assert (same["difference"] == 0).all() and (same["difference_q95"] == 0).all()
    # the statistics by their definitions, on one simulated table
    r = rv.simulate(world, seed=1)
    h = C._headline(r, {"categories": LEVELS, "reference": "reference", "office": "office"})
    y = r["rating"].cat.codes.to_numpy()
    ref = pd.Categorical(r["reference"], categories=LEVELS).codes
    assert h["accuracy"] == pytest.approx(np.mean(y == ref))
    assert h["ppv_high"] == pytest.approx(np.mean(ref[y >= 2] >= 2))
    assert h["alpha"] == pytest.approx(rv.krippendorff_alpha(
        r, case="case", rater="officer", rating="rating", level="ordinal", ci=None).estimate)
    with pytest.raises(RiskevalError, match="defensive_inflaton"):
        post.predict({"defensive_inflaton": False}, n=5)
    with pytest.raises(RiskevalError, match=r"mapping .* or a function"):
        post.predict("no inflation", n=5)


def test_an_observed_design_unlike_the_world_is_refused(world, observed):
    fewer = observed[observed["officer"] != observed["officer"].iloc[0]]
    with pytest.raises(RiskevalError, match=r"officers: 47 observed, 48 in the world"):
        calibrate(world, fewer, free=["noise.sd"], n_simulations=100)
    small = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
                                                n_vignettes=8)
    with pytest.raises(RiskevalError, match="cases: 24 observed, 8 in the world"):
        calibrate(small, observed, free=["noise.sd"], n_simulations=100)


def test_a_mechanism_off_and_a_pair_the_data_cannot_separate(world, three):
    # inflation switched off in the data (strength 0): its posterior reaches zero
    data = rv.simulate(world.with_mechanisms(defensive_inflation={"strength": 0.0}), seed=21)
    tab = _fit(three, data).summary_table()
    assert tab.loc["defensive_inflation.strength", "q05"] < 0.1
    assert tab.loc["defensive_inflation.strength", "mean"] < 0.3
    # judgement noise and the clinical impression of distrustful officers both add
    # officer-by-case randomness: the data identify their combination, and the calibration
    # says so
    with pytest.warns(rv.RiskevalWarning, match="trade off"):
        pair = calibrate(world, rv.simulate(world, seed=22),
                         free=["noise.sd", "actuarial_distrust.clinical_sd"],
                         n_simulations=2000, n_jobs=2, seed=2)
    assert any("trade off" in n for n in pair.notes)


def test_dask_gives_the_local_posterior(world, observed):
    import importlib
    import os

    distributed = (importlib.import_module("distributed") if os.environ.get("CI")
                   else pytest.importorskip("distributed"))
    kw = dict(free=["noise.sd"], n_simulations=120, chunk_size=40, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = calibrate(world, observed, **kw)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            remote = calibrate(world, observed, backend="dask", client=client, **kw)
    pd.testing.assert_frame_equal(local.table, remote.table)
    pd.testing.assert_frame_equal(local.draws, remote.draws)


def test_plots(world, observed):
    from matplotlib.figure import Figure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = calibrate(world, observed, free=["office_practice.sd", "noise.sd"],
                         n_simulations=300, seed=1)
    assert len(post.plot().axes) == 4
    check = post.check(n=20, seed=1)
    fig = post.plot("check", check=check)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(lab.split(" (")[0] for lab in labels) == sorted(check.index)
    with pytest.raises(RiskevalError, match="kind must be"):
        post.plot("trace")


def test_a_budget_too_small_is_said(world, observed):
    with pytest.warns(rv.RiskevalWarning, match=r"only \d+ simulations were kept"):
        post = calibrate(world, observed, free=["noise.sd"], n_simulations=400, seed=1)
    assert any("raise n_simulations" in n for n in post.notes)


# ------------------------------------------- repeat assessments, overrides, provenance

def _slow_repeat_summaries(frame: pd.DataFrame) -> dict[str, float]:
    """The repeat-assessment summaries by their definitions, one officer and case at a time."""
    rows = []
    for _, g in frame.sort_values("occasion").groupby(["office", "officer", "case"],
                                                       observed=True):
        v = g["y"].to_list()
        rows += [(v[t], v[t - 1]) for t in range(1, len(v))]
    cur = np.array([a for a, _ in rows])
    prev = np.array([b for _, b in rows])
    upper = prev > len(LEVELS) / 2
    return {"repeat_same": np.mean(cur == prev),
            "lowered_upper": np.mean((cur < prev) & upper),
            "lowered_lower": np.mean((cur < prev) & ~upper),
            "raised": np.mean(cur > prev)}


@pytest.mark.parametrize("seed", range(4))
def test_repeat_override_and_end_summaries_by_their_definitions(seed):
    # small random designs, two or three occasions, some officers rating a subset
    rng = np.random.default_rng(seed)
    w = rv.world.scenarios.six_office_study(
        n_offices=int(rng.integers(2, 5)), officers_per_office=int(rng.integers(2, 5)),
        n_vignettes=int(rng.integers(5, 12))).with_design(occasions=int(rng.integers(2, 4)))
    r = rv.simulate(w, seed=seed)
    r = r.sample(frac=1.0, random_state=seed)          # the order of rows must not matter
    s = summaries(r, categories=LEVELS, occasion="occasion", own="officer_rating")
    frame = r.assign(y=r["rating"].cat.codes.to_numpy() + 1.0)
    for name, value in _slow_repeat_summaries(frame).items():
        assert s[name] == pytest.approx(value), name
    own = pd.Categorical(r["officer_rating"], categories=LEVELS).codes + 1.0
    assert s["override_share"] == pytest.approx(np.mean(frame["y"] != own))
    assert s["override_up"] == pytest.approx(np.mean(frame["y"] > own))
    ends = frame["y"].isin([1, len(LEVELS)])
    assert s["sd_officer_end"] == pytest.approx(
        ends.groupby([frame["office"], frame["officer"]], observed=True).mean().std(ddof=0))
    # a case on another occasion is another unit: agreement within case and occasion
    same = total = 0
    for _, g in frame.groupby(["case", "occasion"], observed=True):
        v = g["y"].to_numpy()
        same += int(np.sum(v[:, None] == v[None, :])) - len(v)
        total += len(v) * (len(v) - 1)
    assert s["agreement"] == pytest.approx(same / total)


def test_anchoring_is_recovered_from_repeat_assessments_and_its_absence_seen():
    world = rv.world.scenarios.six_office_study().with_design(occasions=2)
    free = ["anchoring.strength", "noise.sd"]
    # strength scales each officer's chance of holding a high rating (mean 0.6), capped at 1:
    # an interior value, 0.6, is identified; above about 1/0.6 the chances saturate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on = calibrate(world, rv.simulate(world.with_mechanisms(anchoring={"strength": 0.6}),
                                          seed=31),
                       free=free, n_simulations=2000, accept=0.1, n_jobs=2, seed=4)
        off = calibrate(world, rv.simulate(world.with_mechanisms(anchoring={"strength": 0.0}),
                                           seed=32),
                        free=free, n_simulations=2000, accept=0.1, n_jobs=2, seed=4)
    a_on = on.summary_table().loc["anchoring.strength"]
    a_off = off.summary_table().loc["anchoring.strength"]
    assert a_on["q05"] <= 0.6 <= a_on["q95"] and a_on["q05"] > 0.2 and a_on["q95"] < 1.2
    assert a_off["q05"] < 0.1 and a_off["q95"] < 1.0
    assert {"repeat_same", "lowered_upper", "override_share"} <= set(on.observed.index)


def test_inflation_without_a_reference_is_warned_and_foreign_levels_refused(world, observed):
    with pytest.warns(rv.RiskevalWarning, match=r"defensive_inflation\.strength raise.*"
                                                r"without a reference level"):
        calibrate(world, observed, free=["defensive_inflation.strength"], n_simulations=60)
    other = observed.assign(rating=observed["rating"].astype(str).replace("low", "minimal"))
    with pytest.raises(RiskevalError, match=r"'minimal', which is not one of the levels"):
        calibrate(world, other, free=["noise.sd"], n_simulations=60)


def test_anchoring_needs_repeat_assessments(world, observed):
    with pytest.raises(RiskevalError, match=r"repeat assessments.*a single occasion"):
        calibrate(world, observed, free=["anchoring.strength"], n_simulations=100)
    with pytest.raises(RiskevalError, match="no occasion column: give occasion="):
        calibrate(world, observed.drop(columns="occasion"), free=["anchoring.strength"],
                  n_simulations=100)
    twice = rv.simulate(world.with_design(occasions=2), seed=1)
    with pytest.raises(RiskevalError, match="occasions: 2 observed, 1 in the world"):
        calibrate(world, twice, free=["noise.sd"], n_simulations=100)


def test_a_published_figure_centres_the_default_prior(world):
    w = world.with_published("who_assesses.sd", 0.5, "a vignette study (2021), table 2")
    prior = default_prior(w, "who_assesses.sd")
    assert prior.mean() == pytest.approx(0.5) and prior.std() == pytest.approx(0.25)
    assert default_prior(world, "who_assesses.sd").support() == pytest.approx((0.0, 0.9))
    p = default_prior(world.with_published("resource_raising.recall", 0.2, "a survey"),
                      "resource_raising.recall")
    assert p.mean() == pytest.approx(0.2) and p.std() == pytest.approx(0.1)
    row = w.parameters().query("component == 'who_assesses' and parameter == 'sd'").iloc[0]
    assert not row["is_assumption"] and row["provenance"].startswith("published: ")
    with pytest.raises(RiskevalError, match=r"did you mean 'who_assesses\.sd'"):
        world.with_published("who_assesses.sdd", 0.5, "x")
    with pytest.raises(RiskevalError, match=r"where .* was published"):
        world.with_published("who_assesses.sd", 0.5, "assumption: mine")
    with pytest.raises(RiskevalError, match=r"who_assesses\.sd must be"):
        world.with_published("who_assesses.sd", -1.0, "a survey")
