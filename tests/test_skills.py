"""Supervision skills and reconviction: the Cox fit against R and statsmodels, and recovery."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from riskeval import RiskevalError
from riskeval import skills as sk
from riskeval.skills._cox import cox_fit
from riskeval.studies import skills_power

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def cox_data() -> pd.DataFrame:
    return pd.read_csv(FIX / "skills_cox.csv")


@pytest.fixture(scope="module")
def r_results() -> dict:
    return json.loads((FIX / "skills_cox_results.json").read_text())


def test_cox_matches_r_coxph_breslow_with_cluster_and_weights(cox_data, r_results):
    """tests/fixtures/skills_cox_fixtures.R: coxph(Surv(time, event) ~ ..., ties="breslow",
    cluster(officer) [, weights = w]) with survival 3.5-3; 387 tied times among 600 rows."""
    d = cox_data
    per = d.groupby("officer")["overall"].first()
    z = ((d["overall"] - per.mean()) / per.std(ddof=1)).to_numpy()
    g = d["officer"].to_numpy()
    cases = {"unweighted": (np.column_stack([z, d["cll_risk"]]), None),
             "weighted": (z[:, None], d["w"].to_numpy()),
             "two_skills": (d[["relationship", "structuring", "cll_risk"]].to_numpy(), None)}
    for name, (X, w) in cases.items():
        fit = cox_fit(d["time"].to_numpy(), d["event"].to_numpy(), X, weights=w, groups=g)
        want = r_results[name]
        np.testing.assert_allclose(fit.params, want["coef"], rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(np.sqrt(np.diag(fit.cov_robust)), want["robust_se"],
                                   rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(np.sqrt(np.diag(fit.cov_model)), want["naive_se"],
                                   rtol=1e-6, err_msg=name)
        assert fit.loglik == pytest.approx(want["loglik"][0], rel=1e-9)
        assert fit.converged


def test_cox_matches_statsmodels_phreg(cox_data):
    d = cox_data
    X = d[["relationship", "structuring", "cll_risk"]].to_numpy()
    g = pd.factorize(d["officer"])[0]
    ours = cox_fit(d["time"].to_numpy(), d["event"].to_numpy(), X, groups=g)
    sm = PHReg(d["time"].to_numpy(), X, status=d["event"].to_numpy(), ties="breslow").fit(
        groups=g)
    np.testing.assert_allclose(ours.params, sm.params, rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(ours.cov_robust)), sm.bse, rtol=1e-8)
    assert ours.loglik == pytest.approx(sm.llf, rel=1e-12)


def test_skill_effect_uses_officer_sd_and_cloglog_risk(cox_data, r_results):
    res = sk.skill_effect(cox_data, skill="overall", adjust=("baseline_risk",),
                          small_sample=False)
    want = r_results["unweighted"]
    assert list(res.index) == ["overall", "cloglog(baseline_risk)"]
    np.testing.assert_allclose(res["coef"], want["coef"], rtol=1e-6)
    np.testing.assert_allclose(res["se"], want["robust_se"], rtol=1e-6)
    assert res.attrs["officers"] == 30 and res.attrs["n"] == 600
    # default: CR1 scale and t on 29 df
    small = sk.skill_effect(cox_data, skill="overall", adjust=("baseline_risk",))
    np.testing.assert_allclose(small["se"], np.asarray(want["robust_se"]) * np.sqrt(30 / 29),
                               rtol=1e-6)
    t = stats.t(29).ppf(0.975)
    assert small.loc["overall", "ratio_high"] == pytest.approx(
        np.exp(want["coef"][0] + t * small.loc["overall", "se"]))


def _summary(values: list[float], truth: float) -> tuple[float, float]:
    v = np.asarray(values)
    return float(v.mean() - truth), float(v.std(ddof=1) / np.sqrt(len(v)))


def test_random_allocation_no_error_recovers_the_hazard_ratio():
    truth = np.log(0.8)
    est, cover = [], 0
    for rep in range(40):
        d = sk.simulate_skills(seed=rep, n_officers=60, supervisees_per_officer=25,
                               hr_relationship=1.0, hr_structuring=0.8, hr_interaction=1.0)
        t = d.supervisees.join(d.officers.set_index("officer")[["structuring"]], on="officer")
        sd = d.officers["structuring"].std(ddof=1)
        row = sk.skill_effect(t, skill="structuring", skill_sd=1.0).iloc[0]
        est.append(row["coef"] * 1.0)
        cover += row["ratio_low"] <= np.exp(truth) <= row["ratio_high"]
        assert sd > 0
    bias, mcse = _summary(est, truth)
    assert abs(bias) < 3 * mcse, (bias, mcse)
    assert 0.85 <= cover / 40 <= 1.0, cover


def test_measurement_error_attenuates_and_calibration_corrects():
    truth = np.log(0.7)
    naive, corrected = [], []
    for rep in range(12):
        d = sk.simulate_skills(seed=100 + rep, n_officers=100, supervisees_per_officer=30,
                               hr_relationship=1.0, hr_structuring=0.7, hr_interaction=1.0,
                               frailty_sd=0.0, session_sd=1.2, sessions_per_officer=2)
        sc = sk.officer_scores(d.sessions)
        t = sk.supervision_table(d.supervisees, sc)
        naive.append(sk.skill_effect(t, skill="structuring").loc["structuring", "coef"])
        cal = sk.calibrated_scores(d.sessions, which="structuring")
        tc = d.supervisees.join(cal.scores.rename("cal"), on="officer")
        corrected.append(sk.skill_effect(tc, skill="cal", skill_sd=cal.sd_true)
                         .loc["cal", "coef"])
    b_naive, se_naive = _summary(naive, truth)
    b_corr, se_corr = _summary(corrected, truth)
    # naive is pulled towards zero by far more than chance; the corrected one is not
    assert b_naive > 4 * se_naive and b_naive > 0.04, (b_naive, se_naive)
    assert abs(b_corr) < 3 * se_corr, (b_corr, se_corr)


def test_risk_based_allocation_biases_the_naive_estimate_and_adjustment_removes_it():
    truth = np.log(0.8)
    naive, adjusted = [], []
    for rep in range(15):
        d = sk.simulate_skills(seed=200 + rep, n_officers=80, supervisees_per_officer=30,
                               hr_relationship=1.0, hr_structuring=0.8, hr_interaction=1.0,
                               allocation="risk", allocation_strength=0.8,
                               experience_skill_corr=0.6, frailty_sd=0.0)
        t = d.supervisees.join(d.officers.set_index("officer")[["structuring"]], on="officer")
        naive.append(sk.skill_effect(t, skill="structuring", adjust=(),
                                     skill_sd=1.0).iloc[0]["coef"])
        adjusted.append(sk.skill_effect(t, skill="structuring", skill_sd=1.0).iloc[0]["coef"])
    b_naive, se_naive = _summary(naive, truth)
    b_adj, se_adj = _summary(adjusted, truth)
    assert b_naive > 5 * se_naive and b_naive > 0.08, (b_naive, se_naive)
    assert abs(b_adj) < 3 * se_adj, (b_adj, se_adj)


def test_reliability_matches_the_variance_components():
    d = sk.simulate_skills(seed=5, n_officers=400, sessions_per_officer=6, double_scored=0.0,
                           rater_sd=0.0)
    rel = sk.score_reliability(d.sessions, which="structuring")
    # structuring session score = 2 + 0.8 S + session + mean of 5 item errors (then rounded)
    assert rel["var_skill"] == pytest.approx(0.8 ** 2, rel=0.15)
    assert rel["var_session"] == pytest.approx(0.5 ** 2 + 0.6 ** 2 / 5 + 1 / 12 / 5, rel=0.15)
    assert rel["reliability"] == pytest.approx(
        6 * rel["icc"] / (1 + 5 * rel["icc"]), rel=1e-12)
    assert rel["icc_low"] < rel["icc"] < rel["icc_high"]


def test_same_seed_same_data_and_bad_parameters():
    a = sk.simulate_skills(seed=9)
    b = sk.simulate_skills(seed=9)
    pd.testing.assert_frame_equal(a.supervisees, b.supervisees)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    c = sk.simulate_skills(seed=10)
    assert not a.supervisees["time"].equals(c.supervisees["time"])
    with pytest.raises(RiskevalError, match="skill_corr"):
        sk.simulate_skills(seed=1, skill_corr=1.5)
    with pytest.raises(RiskevalError, match="no parameter 'n_oficers'"):
        sk.simulate_skills(seed=1, n_oficers=3)
    with pytest.raises(RiskevalError, match="allocation"):
        sk.simulate_skills(seed=1, allocation="by risk")
    prov = sk.parameters().set_index("parameter")["provenance"]
    assert prov["n_officers"].startswith("published") and prov["hr_structuring"].startswith(
        "assumption")


def test_user_data_errors_are_named(cox_data):
    bad = cox_data.assign(event=cox_data["event"].astype(object))
    bad.loc[3, "event"] = "yes"
    with pytest.raises(RiskevalError, match="column 'event' has the value 'yes' at row 3"):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match="time column 'days' is not"):
        sk.skill_effect(cox_data, time="days")
    bad = cox_data.assign(baseline_risk=cox_data["baseline_risk"].where(
        cox_data.index != 5, 1.2))
    with pytest.raises(RiskevalError, match=r"row 5 holds 1\.2"):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match="method='weibull'"):
        sk.skill_effect(cox_data, method="weibull")


def test_stics_bc_preset_reproduces_the_published_rates():
    """Lee et al. (2021), J Criminal Justice 74:101816: two-year recidivism 61.4% before vs
    43.0% after STICS training, OR 0.48 [0.37, 0.61]."""
    p = sk.stics_bc()
    prov = sk.parameters().set_index("parameter")["provenance"]
    assert prov["training_shift"].startswith("assumption")          # the package default ...
    rows = {r["parameter"]: r for r in p.rows()}
    assert "calibrated" in rows["training_shift"]["provenance"]     # ... the preset's own
    rates, log_or = [], []
    for rep in range(100):
        d = sk.simulate_skills(p, seed=rep)
        t = d.supervisees.join(d.officers.set_index("officer")["trained"], on="officer")
        r = t.groupby("trained")["event"].mean()
        rates.append((r[False], r[True]))
        log_or.append(np.log(r[True] / (1 - r[True]) / (r[False] / (1 - r[False]))))
    # the preset is solved so that the model's exact expected rates are the published ones
    expected = sk.expected_rates(p)
    assert expected["untrained"] == pytest.approx(0.614, abs=1e-6)
    assert expected["trained"] == pytest.approx(0.430, abs=1e-6)
    # ... and the simulation averages to them: the mean rate of each arm and their difference
    # within 4 Monte Carlo SEs (SD over the 100 runs / 10: about 0.003 per arm, 0.004 for the
    # difference). A correct model fails one of the three with probability about 2e-4 for a
    # fresh set of seeds. Seeds 0-99 are an unlucky block: untrained +2.8 SEs, trained -1.8,
    # difference -3.2 (seeds 1100-1199: +0.3, +1.5, +0.8; 2000-2099: +0.0, +0.7, +0.5;
    # 100-1099, 1,000 runs: untrained +0.2, trained +0.1): 3 SEs would fail on the difference.
    rates = np.asarray(rates)
    rates = np.column_stack([rates, rates[:, 1] - rates[:, 0]])
    mean, mcse = rates.mean(axis=0), rates.std(axis=0, ddof=1) / np.sqrt(len(rates))
    want = expected[["untrained", "trained", "difference"]].to_numpy()
    assert (mcse < 0.005).all(), mcse
    assert (np.abs(mean - want) < 4 * mcse).all(), (mean, want, (mean - want) / mcse)
    # the published rates are typical draws of the preset's study
    for k, pub in enumerate((0.614, 0.430)):
        lo, hi = np.quantile(rates[:, k], [0.025, 0.975])
        assert lo < pub < hi
    assert 0.37 < np.exp(np.median(log_or)) < 0.61
    # no training: both arms alike
    d = sk.simulate_skills(p.updated({"training_shift": 0.0, "n_officers": 400}), seed=1)
    t = d.supervisees.join(d.officers.set_index("officer")["trained"], on="officer")
    r = t.groupby("trained")["event"].mean()
    assert abs(r[True] - r[False]) < 0.04


def test_jersey_preset_records_the_published_design():
    p = sk.jersey()
    assert p["n_officers"] == 14 and p["sessions_per_officer"] == 7
    assert p["follow_up_years"] == 2.0
    rows = {r["parameter"]: r for r in p.rows()}
    assert rows["n_officers"]["provenance"].startswith("published")
    d = sk.simulate_skills(p, seed=1)
    assert d.sessions.groupby("officer")["session"].nunique().eq(7).all()
    assert len(d.officers) == 14


def test_power_is_reproducible_for_any_n_jobs_and_has_its_size_under_the_null():
    p = sk.stics_bc()
    a = skills_power.power(p, estimand="training", n_sims=8, seed=3)
    b = skills_power.power(p, estimand="training", n_sims=8, seed=3, n_jobs=2)
    pd.testing.assert_series_equal(a, b)
    null = skills_power.power(p, estimand="training", n_sims=120, seed=4, training_shift=0.0,
                    frailty_sd=0.0)
    assert null["power"] <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 120), null["power"]
    assert abs(null["mean_coef"]) < 0.05
    with pytest.raises(RiskevalError, match="trained_share"):
        skills_power.power(sk.jersey(), estimand="training", n_sims=4)


def test_few_officers_warn_that_clustered_intervals_are_too_narrow():
    from riskeval import RiskevalWarning

    d = sk.simulate_skills(sk.jersey(), seed=1)
    t = sk.supervision_table(d.supervisees, sk.officer_scores(d.sessions))
    with pytest.warns(RiskevalWarning, match="only 14 officers"):
        res = sk.skill_effect(t)
    assert res.attrs["officers"] == 14


def test_weights_and_trimming_are_checked(cox_data):
    with pytest.raises(RiskevalError, match="one weight per row"):
        sk.skill_effect(cox_data, weights=np.ones(len(cox_data) + 10))
    with pytest.raises(RiskevalError, match="finite and >= 0"):
        sk.skill_effect(cox_data, weights=np.r_[-1.0, np.ones(len(cox_data) - 1)])
    full = sk.ipw_weights(cox_data, skill="overall", confounders=["baseline_risk"], trim=None)
    cut = sk.ipw_weights(cox_data, skill="overall", confounders=["baseline_risk"])
    assert full.max() > cut.max() and np.allclose(np.clip(full, *np.quantile(full, [.01, .99])),
                                                  cut)
    with pytest.raises(RiskevalError, match="trim"):
        sk.ipw_weights(cox_data, skill="overall", confounders=["baseline_risk"], trim=(0.5, 0.1))


def test_users_own_data_with_their_column_names_runs_unchanged():
    d = sk.simulate_skills(seed=21, n_officers=30, supervisees_per_officer=12)
    sessions = d.sessions.rename(columns={"officer": "po_id", "session": "visit",
                                          "score": "points", "domain": "area"})
    people = d.supervisees.rename(columns={"officer": "po_id", "time": "years",
                                           "event": "reconvicted", "baseline_risk": "ogrs"})
    kw = {"session": "visit", "score": "points", "domain": "area"}
    scores = sk.officer_scores(sessions, officer="po_id", **kw)
    table = sk.supervision_table(people, scores, officer="po_id")
    mine = sk.skill_effect(table, skill="overall", adjust=("ogrs",), officer="po_id",
                           time="years", event="reconvicted")
    theirs = sk.skill_effect(sk.supervision_table(d.supervisees, sk.officer_scores(d.sessions)))
    np.testing.assert_allclose(mine["coef"], theirs["coef"], rtol=1e-12)
    lr = sk.km_by_group(table, officer="po_id", time="years", event="reconvicted").test
    assert 0 <= lr["p"] <= 1
    rel = sk.score_reliability(sessions, officer="po_id", **kw)
    assert 0 < rel["reliability"] < 1
    res = sk.corrected_effect(people, sessions, officer="po_id", time="years",
                              event="reconvicted", adjust=("ogrs",), n_boot=20, seed=1, **kw)
    assert list(res.index) == ["naive", "corrected"] and res.attrs["n_boot"] >= 19
    # a supervisee whose officer has no scored sessions is named
    with pytest.raises(RiskevalError, match="no scored sessions"):
        sk.supervision_table(people.assign(po_id="officer-999"), scores, officer="po_id")


def test_stics_2011_preset_is_the_published_design_with_the_roll_out_effect():
    p = sk.stics_2011()
    rows = {r["parameter"]: r for r in p.rows()}
    assert p["n_officers"] == 80 and p["supervisees_per_officer"] == 2
    assert rows["n_officers"]["provenance"].startswith("published")
    assert rows["training_shift"]["provenance"].startswith("assumption")
    assert p["training_shift"] == sk.stics_bc()["training_shift"]


def test_training_meta_preset_reproduces_the_meta_analytic_odds_ratio():
    """Chadwick, DeWolf & Serin (2015), CJB 42(10): odds ratio 1.48 favouring training."""
    p = sk.training_meta()
    log_or = []
    for rep in range(100):
        d = sk.simulate_skills(p, seed=500 + rep)
        t = d.supervisees.join(d.officers.set_index("officer")["trained"], on="officer")
        r = t.groupby("trained")["event"].mean()
        log_or.append(np.log(r[False] / (1 - r[False]) / (r[True] / (1 - r[True]))))
    log_or = np.asarray(log_or)
    mcse = log_or.std(ddof=1) / 10
    assert abs(log_or.mean() - np.log(1.48)) < 3 * mcse + 0.02, (np.exp(log_or.mean()), mcse)
    rows = {r["parameter"]: r for r in p.rows()}
    assert "Chadwick" in rows["training_shift"]["provenance"]


def test_rater_agreement_on_double_scored_sessions():
    exact = sk.simulate_skills(seed=1, n_officers=60, double_scored=0.5, rater_sd=0.0,
                               item_sd=0.01)
    res = sk.rater_agreement(exact.sessions)
    assert (res["estimate"] > 0.99).all() and res["n_sessions"].iloc[0] > 150
    noisy = sk.simulate_skills(seed=1, n_officers=60, double_scored=0.5, rater_sd=0.6)
    res2 = sk.rater_agreement(noisy.sessions)
    assert (res2["estimate"] < 0.8).all()
    assert abs(res2.loc["ICC1", "estimate"]
               - res2.loc["Krippendorff's alpha (interval)", "estimate"]) < 0.02
    single = sk.simulate_skills(seed=1, double_scored=0.0)
    with pytest.raises(RiskevalError, match="scored by two raters"):
        sk.rater_agreement(single.sessions)


@pytest.mark.filterwarnings("ignore:only 12 officers")
def test_skills_results_follow_the_result_protocol():
    from riskeval._core.params import ParamSet
    from riskeval._core.results import SeriesResult, TableResult

    d = sk.simulate_skills(seed=4, n_officers=12, supervisees_per_officer=6)
    assert d.summary().startswith("simulated skills study: 12 officers")
    assert d.to_frame()["n_supervisees"].tolist() == [6] * 12
    scores = sk.officer_scores(d.sessions)
    assert isinstance(scores, TableResult) and "<table" in scores._repr_html_()
    table = sk.supervision_table(d.supervisees, scores)
    assert type(table) is pd.DataFrame        # data, not a result
    fit = sk.skill_effect(table, skill="overall")
    assert isinstance(fit, TableResult) and fit.attrs["officers"] == 12
    assert fit.summary().splitlines()[0].startswith("skill effect (cox")
    rel = sk.score_reliability(d.sessions)
    assert isinstance(rel, SeriesResult) and rel.name == "overall"
    cal = sk.calibrated_scores(d.sessions)
    assert isinstance(cal, sk.CalibratedScores) and len(cal.scores) == 12
    assert cal.to_frame().shape == (12, 1) and cal.sd_true > 0
    km = sk.km_by_group(table)
    assert isinstance(km, sk.KaplanMeier) and set(km.curves) == {"higher", "lower"}
    assert km.to_frame().loc[0, "n_higher"] + km.to_frame().loc[0, "n_lower"] == 72
    assert isinstance(sk.expected_rates(), SeriesResult)
    params = sk.skills_params()
    assert isinstance(params, ParamSet)
    frame = params.to_frame()
    assert frame["parameter"].tolist() == list(params.names)
    assert frame.loc[0, "value"] == 14 and isinstance(frame.loc[0, "value"], int)
    assert params.summary().splitlines()[0] == "parameters of skills_study"
    assert "<table" in params._repr_html_()


def test_corrected_effect_and_power_take_any_seed():
    d = sk.simulate_skills(seed=np.random.SeedSequence(6), n_officers=20,
                           supervisees_per_officer=8)
    assert d.officers.equals(sk.simulate_skills(seed=6, n_officers=20,
                                                supervisees_per_officer=8).officers)
    a = sk.corrected_effect(d.supervisees, d.sessions, n_boot=20,
                            seed=np.random.default_rng(2))
    b = sk.corrected_effect(d.supervisees, d.sessions, n_boot=20,
                            seed=np.random.default_rng(2))
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(RiskevalError, match="seed"):
        sk.corrected_effect(d.supervisees, d.sessions, n_boot=20, seed=-3)
