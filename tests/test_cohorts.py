"""Cohort comparison: estimates, design-respecting bootstrap, permutation test size and power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskeval import RiskevalError
from riskeval.agreement import icc
from riskeval.studies import cohorts


def _study(seed: int, icc_a: float = 0.6, icc_b: float = 0.6, n: int = 20, k: int = 10,
           paired: bool = False) -> pd.DataFrame:
    """Two cohorts of k officers rating the same n vignettes (two-way random effects, total
    variance 1, rater variance 0.1): the true ICC(2,1) of cohort c is icc_c."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(n)  # the vignettes' true standing, shared by both cohorts
    rows = []
    for coh, rho in (("after", icc_a), ("before", icc_b)):
        case = base * np.sqrt(rho)
        for j in range(k):
            officer = f"o{j}" if paired else f"{coh}-{j}"
            x = (case + rng.standard_normal() * np.sqrt(0.1)
                 + rng.standard_normal(n) * np.sqrt(1 - rho - 0.1))
            rows += [(coh, i, officer, x[i]) for i in range(n)]
    return pd.DataFrame(rows, columns=["cohort", "case", "officer", "y"])


COLS = {"cohort": "cohort", "case": "case", "rater": "officer", "rating": "y",
        "baseline": "before"}


def test_estimates_equal_the_icc_of_each_cohort():
    d = _study(1)
    res = cohorts.compare_icc(d, **COLS, seed=1)
    assert res.cohorts == ("after", "before")
    for name, est in res.estimates["estimate"].items():
        want = icc(d[d["cohort"] == name], case="case", rater="officer",
                   rating="y").to_frame().loc["ICC2", "ICC"]
        assert est == pytest.approx(want, rel=1e-10)
    est = res.estimates["estimate"]
    assert res.difference == pytest.approx(est["after"] - est["before"])
    assert res.ci[0] < res.difference < res.ci[1]
    again = cohorts.compare_icc(d, **COLS, seed=1)
    assert again == res                         # seeded: identical


def test_permutation_test_holds_its_size_and_has_power():
    null = [cohorts.compare_icc(_study(100 + s), **COLS, seed=s, n_boot=100,
                                n_perm=199).p_value < 0.05 for s in range(120)]
    assert 0.01 <= np.mean(null) <= 0.10, np.mean(null)   # 5% +- about 2 MC SE
    alt = [cohorts.compare_icc(_study(500 + s, icc_a=0.8, icc_b=0.4), **COLS, seed=s,
                               n_boot=100, n_perm=199).p_value < 0.05 for s in range(30)]
    assert np.mean(alt) >= 0.8


def test_bootstrap_interval_covers_the_true_difference():
    cover = []
    for s in range(60):
        r = cohorts.compare_icc(_study(900 + s, icc_a=0.7, icc_b=0.5, n=30), **COLS, seed=s,
                                n_boot=300, n_perm=9)
        cover.append(r.ci[0] <= 0.2 <= r.ci[1])
    assert np.mean(cover) >= 0.85


def test_paired_design_and_errors():
    d = _study(3, icc_a=0.8, icc_b=0.4, paired=True)
    res = cohorts.compare_icc(d, **COLS, paired=True, seed=2)
    assert res.paired and res.difference > 0 and res.p_value < 0.05
    with pytest.raises(RiskevalError, match="appears in more than one cohort"):
        cohorts.compare_icc(d, **COLS)
    with pytest.raises(RiskevalError, match="at least two cohorts"):
        cohorts.compare_icc(d.assign(cohort="a"), **{**COLS, "baseline": None})
    with pytest.raises(RiskevalError, match="baseline='during' is not a cohort"):
        cohorts.compare_icc(d, **{**COLS, "baseline": "during"}, paired=True)
    with pytest.raises(RiskevalError, match="complete design"):
        cohorts.compare_icc(_study(4).iloc[1:], **COLS)
    with pytest.raises(RiskevalError, match="form='ICC9'"):
        cohorts.compare_icc(_study(4), **COLS, form="ICC9")


def test_training_in_the_simulator_changes_traits_and_is_detected():
    import riskeval as rv
    from riskeval.world import raters

    w = rv.world.scenarios.six_office_study(seed=3)
    off = w.officers
    mask = np.arange(len(off)) % 2 == 0
    t = raters.train(off, mask, noise_factor=0.5, actuarial_weight_shift=0.1,
                     inflation_factor=0.0)
    assert "trained" not in off.columns                      # input untouched
    np.testing.assert_allclose(t.loc[mask, "noise_factor"], off.loc[mask, "noise_factor"] * 0.5)
    np.testing.assert_allclose(t.loc[~mask, "noise_factor"], off.loc[~mask, "noise_factor"])
    assert (t.loc[mask, "inflation_tendency"] == 0).all()
    assert (t["actuarial_weight"] <= 1).all()
    by_name = raters.train(off, off["officer"][mask])
    assert by_name["trained"].equals(pd.Series(mask, index=off.index, name="trained"))
    with pytest.raises(RiskevalError, match="officer 'nobody'"):
        raters.train(off, ["nobody"])
    # halving the noise of half the officers: their agreement is detectably higher
    r = rv.simulate(w.with_staff(officers=t).only("noise"), seed=1)
    r["cohort"] = np.where(r["officer"].map(t.set_index("officer")["trained"]), "trained",
                           "untrained")
    res = cohorts.compare_icc(r, cohort="cohort", case="case", rater="officer",
                              rating="latent", baseline="untrained", seed=1)
    assert res.cohorts == ("trained", "untrained") and res.difference > 0
    assert res.p_value < 0.01 and res.ci[0] > 0
    rows = {r["parameter"]: r for r in raters.TRAINING.rows()}
    assert rows["noise_factor"]["is_assumption"]


LEVELS = ["low", "medium", "high", "very high"]


def _levels_study(seed: int, n: int = 24, k: int = 8, lift: float = 0.0, noise_b: float = 0.7,
                  officer_sd: float = 0.3) -> pd.DataFrame:
    """Two cohorts of k officers rate n vignettes on four levels. The reference level is the
    vignette's true standing cut at fixed thresholds; each officer adds a personal severity
    (SD officer_sd, so ratings are clustered within officers) and noise (SD 0.7); cohort "b"
    has noise SD ``noise_b`` and rates ``lift`` higher on the latent scale."""
    rng = np.random.default_rng(seed)
    cuts = np.array([-0.8, 0.3, 1.2])
    truth = rng.standard_normal(n)
    ref = np.searchsorted(cuts, truth)
    rows = []
    for coh, noise, shift in (("a", 0.7, 0.0), ("b", noise_b, lift)):
        for j in range(k):
            x = truth + shift + officer_sd * rng.standard_normal() + noise * rng.standard_normal(n)
            lv = np.searchsorted(cuts, x)
            rows += [(coh, f"v{i}", f"{coh}{j}", LEVELS[lv[i]], LEVELS[ref[i]]) for i in range(n)]
    d = pd.DataFrame(rows, columns=["cohort", "case", "officer", "rating", "reference"])
    for c in ("rating", "reference"):
        d[c] = pd.Categorical(d[c], categories=LEVELS, ordered=True)
    return d


LV = {"cohort": "cohort", "case": "case", "rater": "officer", "rating": "rating",
      "baseline": "a"}


def test_each_statistic_equals_an_independent_computation():
    from riskeval import fleiss_kappa, krippendorff_alpha

    d = _levels_study(1, lift=0.4)
    for cohort_name, g in d.groupby("cohort"):
        codes = g["rating"].cat.codes.to_numpy()
        ref = g["reference"].cat.codes.to_numpy()
        hand = {"accuracy": float(np.mean(codes == ref)),
                "inflation": float(np.mean(codes - ref)),
                "alpha": krippendorff_alpha(g, "case", "officer", "rating",
                                            level="ordinal", ci=None).estimate,
                "kappa": fleiss_kappa(g, "case", "officer", "rating", ci=None).estimate}
        for stat, want in hand.items():
            res = cohorts.compare_cohorts(d, **LV, statistic=stat, reference="reference",
                                          n_boot=50, n_perm=19, seed=1)
            assert res.estimates.loc[cohort_name, "estimate"] == pytest.approx(want, abs=1e-12)
            assert res.estimates.loc[cohort_name, "officers"] == 8
    # a lift of 0.5 SD shows as inflation of about 0.4 of a level in cohort b
    res = cohorts.compare_cohorts(_levels_study(1, lift=0.5, k=14), **LV, statistic="inflation",
                                  reference="reference", seed=2)
    assert 0.2 < res.difference < 0.7 and res.ci[0] > 0 and res.contrasts["p"].iloc[0] < 0.01


@pytest.mark.parametrize("stat", ["accuracy", "inflation", "alpha", "kappa"])
def test_size_and_power_for_the_level_statistics(stat):
    """Type-I error over 150 null studies (same population in both cohorts), and power with 12
    officers per cohort when cohort b's noise SD is 0.3 instead of 0.7 (agreement; 0.2 for
    accuracy) or it rates 0.5 SD higher (inflation). Over 60 studies the power measured
    0.92 (accuracy), 0.87 (inflation), 0.95 (alpha), 0.88 (kappa)."""
    kw = {"statistic": stat, "reference": "reference", "n_boot": 20, "n_perm": 199}
    null = [cohorts.compare_cohorts(_levels_study(2000 + s), **LV, **kw, seed=s).p_value
            for s in range(150)]
    rate = np.mean(np.array(null) < 0.05)
    assert 0.015 <= rate <= 0.095, rate       # 5% within about 2.5 MC SE (1.8%)
    alt = {"inflation": {"lift": 0.5}, "accuracy": {"noise_b": 0.2}}.get(stat, {"noise_b": 0.3})
    power = np.mean([cohorts.compare_cohorts(_levels_study(3000 + s, k=12, **alt), **LV, **kw,
                                             seed=s).p_value < 0.05 for s in range(40)])
    assert power >= 0.7, power


def test_three_cohorts_and_paired_occasions():
    # the same 8 officers on three occasions; the third occasion is noisier
    rng = np.random.default_rng(5)
    truth = rng.standard_normal(20)
    sev = 0.5 * rng.standard_normal(8)
    rows = [(occ, i, f"o{j}", truth[i] + sev[j] + sd * rng.standard_normal())
            for occ, sd in (("1 before", 0.6), ("2 after", 0.6), ("3 follow-up", 1.5))
            for j in range(8) for i in range(20)]
    d = pd.DataFrame(rows, columns=["occasion", "case", "officer", "y"])
    res = cohorts.compare_cohorts(d, cohort="occasion", case="case", rater="officer",
                                  rating="y", statistic="ICC3", paired=True, seed=3)
    assert res.baseline == "1 before" and list(res.contrasts.index) == ["2 after", "3 follow-up"]
    assert res.contrasts.loc["3 follow-up", "p"] < 0.01 < res.contrasts.loc["2 after", "p"]
    assert res.p_value < 0.01 and "any difference" in res.summary()
    with pytest.raises(RiskevalError, match="2 contrasts"):
        _ = res.difference
    # under the null, the paired omnibus test holds its size
    ps = []
    for s in range(120):
        r = np.random.default_rng(100 + s)
        t, v = r.standard_normal(12), 0.5 * r.standard_normal(6)
        rows = [(occ, i, f"o{j}", t[i] + v[j] + 0.8 * r.standard_normal()) for occ in "xyz"
                for j in range(6) for i in range(12)]
        nd = pd.DataFrame(rows, columns=["occasion", "case", "officer", "y"])
        ps.append(cohorts.compare_cohorts(nd, cohort="occasion", case="case", rater="officer",
                                          rating="y", statistic="ICC3", paired=True,
                                          n_boot=20, n_perm=199, seed=s).p_value)
    assert 0.01 <= np.mean(np.array(ps) < 0.05) <= 0.10


def _caseloads(seed: int, n_officers: int = 40, per: int = 25, effect: float = 0.0,
               frailty_sd: float = 0.6) -> pd.DataFrame:
    """Half the officers trained; each supervises ``per`` people whose reconviction log-odds
    are their baseline risk's plus the officer's own frailty (clustering) minus ``effect``
    for the trained."""
    rng = np.random.default_rng(seed)
    officer = np.repeat(np.arange(n_officers), per)
    trained = officer % 2 == 0
    risk = rng.beta(2, 3, officer.size)
    logit = (np.log(risk / (1 - risk)) + frailty_sd * rng.standard_normal(n_officers)[officer]
             - effect * trained)
    y = rng.random(officer.size) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"cohort": np.where(trained, "trained", "untrained"),
                         "officer": [f"o{i}" for i in officer], "reconvicted": y.astype(int),
                         "risk": risk})


def test_outcomes_clustered_by_officer_hold_their_size_and_find_an_effect():
    OUT = {"cohort": "cohort", "officer": "officer", "outcome": "reconvicted",
           "baseline": "untrained"}
    d = _caseloads(1, effect=0.5)
    res = cohorts.compare_outcomes(d, **OUT, seed=1)
    rates = d.groupby("cohort")["reconvicted"].mean()
    assert res.estimates["estimate"].to_dict() == pytest.approx(rates.to_dict(), abs=1e-12)
    assert res.difference == pytest.approx(rates["trained"] - rates["untrained"], abs=1e-12)
    adj = cohorts.compare_outcomes(d, **OUT, expected="risk", seed=1)
    want = (d["reconvicted"] - d["risk"]).groupby(d["cohort"]).mean()
    assert adj.estimates["estimate"].to_dict() == pytest.approx(want.to_dict(), abs=1e-12)
    assert adj.statistic == "observed - expected reconviction"
    # officers' frailty makes supervisees' outcomes dependent: a test that treated the 1,000
    # supervisees as independent would reject far more than 5% of null studies; this one not
    null = [cohorts.compare_outcomes(_caseloads(200 + s), **OUT, n_boot=20, n_perm=199,
                                     seed=s).p_value < 0.05 for s in range(200)]
    assert 0.02 <= np.mean(null) <= 0.09, np.mean(null)
    from scipy import stats

    naive = []
    for s in range(200):
        c = _caseloads(200 + s)
        tab = pd.crosstab(c["cohort"], c["reconvicted"])
        naive.append(stats.chi2_contingency(tab, correction=False)[1] < 0.05)
    assert np.mean(naive) > 0.12                  # the independence assumption fails here
    # trained officers' supervisees: log-odds 0.8 lower, about 14 points less reconviction
    # (power measured 0.88 over 80 studies)
    power = np.mean([cohorts.compare_outcomes(_caseloads(600 + s, effect=0.8), **OUT,
                                              n_boot=20, n_perm=199, seed=s).p_value < 0.05
                     for s in range(40)])
    assert power >= 0.7, power


def test_bad_input_is_named():
    d = _levels_study(3)
    with pytest.raises(RiskevalError, match="needs reference="):
        cohorts.compare_cohorts(d, **LV, statistic="accuracy")
    with pytest.raises(RiskevalError, match="statistic='mean'"):
        cohorts.compare_cohorts(d, **LV, statistic="mean")
    bad = d.assign(reference=d["reference"].astype(str))
    bad.loc[0, "reference"] = "extreme"
    with pytest.raises(RiskevalError, match="differs between ratings of case 'v0'"):
        cohorts.compare_cohorts(bad, **LV, statistic="accuracy", reference="reference")
    lat = _study(1)
    with pytest.raises(RiskevalError, match="needs categorical ratings"):
        cohorts.compare_cohorts(lat, **COLS, statistic="kappa")
    with pytest.raises(RiskevalError, match="the reference column 'ref' is not in the table"):
        cohorts.compare_cohorts(d, **LV, statistic="accuracy", reference="ref")
    c = _caseloads(2)
    c.loc[5, "reconvicted"] = 2
    with pytest.raises(RiskevalError, match=r"'reconvicted'.*2"):
        cohorts.compare_outcomes(c, cohort="cohort", officer="officer", outcome="reconvicted")
    c = _caseloads(2)
    c.loc[3, "risk"] = 1.5
    with pytest.raises(RiskevalError, match=r"'risk' holds 1\.5 at row 3"):
        cohorts.compare_outcomes(c, cohort="cohort", officer="officer", outcome="reconvicted",
                                 expected="risk")
    with pytest.raises(RiskevalError, match="n_perm must be a whole number of at least 9; got 3"):
        cohorts.compare_outcomes(_caseloads(2), cohort="cohort", officer="officer",
                                 outcome="reconvicted", n_perm=3)
    with pytest.raises(RiskevalError, match=r"n_boot must be a whole number of at least 20; "
                                            r"got 2\.5"):
        cohorts.compare_outcomes(_caseloads(2), cohort="cohort", officer="officer",
                                 outcome="reconvicted", n_boot=2.5)
    with pytest.raises(RiskevalError, match=r"confidence=1\.5 is not a level"):
        cohorts.compare_outcomes(_caseloads(2), cohort="cohort", officer="officer",
                                 outcome="reconvicted", confidence=1.5)


def test_comparison_follows_the_result_protocol_and_draws_from_its_seed():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    d = _study(2)
    res = cohorts.compare_icc(d, **COLS, n_boot=200, n_perm=199, seed=np.random.default_rng(3))
    again = cohorts.compare_icc(d, **COLS, n_boot=200, n_perm=199,
                                seed=np.random.default_rng(3))
    assert res == again                       # a Generator is a seed like any other
    assert res.estimate == res.difference
    frame = res.to_frame()
    assert frame["kind"].tolist() == ["cohort", "cohort", "contrast"]
    assert frame.loc["after - before", "estimate"] == pytest.approx(res.difference)
    assert frame.loc["after - before", "p"] == pytest.approx(res.p_value)
    assert res.summary().startswith("ICC2, 95% bootstrap intervals:")
    assert "<table" in res._repr_html_()
    fig = res.plot()
    assert isinstance(fig, Figure) or hasattr(fig, "axes")
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert res.plot(ax=ax) is ax
    plt.close("all")
    # the default seed is fresh entropy: two calls differ (the bootstrap intervals)
    a = cohorts.compare_icc(d, **COLS, n_boot=50, n_perm=19)
    b = cohorts.compare_icc(d, **COLS, n_boot=50, n_perm=19)
    assert a.estimates["estimate"].equals(b.estimates["estimate"])
    assert not a.estimates["ci_low"].equals(b.estimates["ci_low"])
