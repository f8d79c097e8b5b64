"""Crossed linear mixed model: agreement with lme4, statsmodels, and clear errors.

The lme4 reference values are in ``tests/fixtures/lme4_results.json``, written by
``tests/fixtures/lme4_fixtures.R`` (lme4 1.1-31, lmerTest 3.1-3, R 4.2.2) on the synthetic
data sets written by ``tests/fixtures/make_lmm_data.py``. Each entry carries the ``lmer`` call
that produced it (a tightly converged bobyqa fit) and the log-likelihood of lme4's default fit.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval import RiskevalError
from riskeval.variation import crossed_lmm

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LME4 = json.loads((FIXTURES / "lme4_results.json").read_text())


def _fit_like(entry: dict) -> rv.variation.LMMResult:
    data = pd.read_csv(FIXTURES / entry["data"])
    lhs, rhs = entry["formula"].split("~")
    fixed = rhs.split("+ (1|case)")[0].strip()
    return crossed_lmm(data, rating=lhs.strip(), case="case", rater="officer",
                       office="office", fixed=fixed, reml=entry["reml"])


@pytest.mark.parametrize("entry", LME4["fits"], ids=lambda e: f"{e['data']}:{e['formula'][:12]}"
                         f":{'REML' if e['reml'] else 'ML'}")
def test_matches_lme4(entry):
    fit = _fit_like(entry)
    assert fit.n_obs == entry["nobs"]
    # log-likelihood at least as high as lme4's default fit (which stops at about 1e-4) and
    # equal to its tightly converged fit
    assert fit.loglik >= entry["default_loglik"] - 1e-6 * abs(entry["default_loglik"])
    assert fit.loglik == pytest.approx(entry["loglik"], rel=1e-9, abs=1e-7)
    assert fit.converged
    for name, value in entry["variance"].items():
        if entry["singular"] and value < 1e-6:
            assert fit.variance_components[name] < 1e-6     # both on the boundary
            assert name in fit.boundary
        else:
            assert fit.variance_components[name] == pytest.approx(value, rel=1e-3), name
    for name, value in entry["fixef"].items():
        assert fit.fixed_effects.loc[name, "estimate"] == pytest.approx(value, rel=1e-3,
                                                                         abs=1e-6), name
        assert fit.fixed_effects.loc[name, "se"] == pytest.approx(entry["se"][name], rel=1e-3)
    if entry["satterthwaite"]:  # lmerTest's Satterthwaite degrees of freedom and p-values
        for name, value in entry["satterthwaite"]["df"].items():
            assert fit.fixed_effects.loc[name, "df"] == pytest.approx(value, rel=1e-4), name
            assert fit.fixed_effects.loc[name, "p"] == pytest.approx(
                entry["satterthwaite"]["p"][name], rel=1e-3), name


def test_boundary_fit_is_reported():
    entry = next(e for e in LME4["fits"] if e["singular"])
    fit = _fit_like(entry)
    assert fit.boundary == ("office",)
    assert fit.variance_shares.loc["office", "estimate"] < 1e-8
    assert any("office variance is estimated at zero" in n for n in fit.notes)
    assert "boundary" in fit.summary()


def test_matches_statsmodels_variance_components():
    """An independent implementation: statsmodels MixedLM with crossed variance components."""
    import statsmodels.formula.api as smf

    data = pd.read_csv(FIXTURES / "lmm_unbalanced.csv")
    data = data[data["office"].isin([f"Office {i}" for i in range(1, 6)])]
    data = data[data["case"].isin(sorted(data["case"].unique())[:25])]
    fit = crossed_lmm(data, rating="y", case="case", rater="officer", office="office",
                      fixed="experience")
    data = data.assign(g=1)
    vc = {"case": "0 + C(case)", "officer": "0 + C(officer)", "office": "0 + C(office)"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = smf.mixedlm("y ~ experience", data, groups="g", re_formula="0",
                         vc_formula=vc).fit(reml=True, method="lbfgs")
    assert fit.loglik >= sm.llf - 1e-6
    names = list(sm.model.exog_vc.names)
    for name, value in zip(names, sm.vcomp, strict=True):
        assert fit.variance_components[name] == pytest.approx(value, rel=2e-3, abs=1e-5)
    assert fit.variance_components["residual"] == pytest.approx(sm.scale, rel=1e-3)
    assert fit.fixed_effects.loc["experience", "estimate"] == pytest.approx(
        sm.fe_params["experience"], rel=1e-3)


def test_recovers_the_simulated_components_in_a_large_design():
    """Office and officer variances of a simulated world with known SDs (office practice 0.4,
    personal severity 0.3, noise 0.5) come back within sampling error."""
    world = rv.world.scenarios.six_office_study(n_offices=40, officers_per_office=10,
                                                n_vignettes=60, seed=9)
    world = world.only("office_practice", "who_assesses").with_mechanisms(
        office_practice={"sd": 0.4}, who_assesses={"sd": 0.3, "per_decade_experience": 0.0,
                                                   "per_decade_age": 0.0},
        noise={"sd": 0.5})
    r = rv.simulate(world, seed=1)
    fit = crossed_lmm(r, rating="latent", case="case", rater="officer", office="office",
                      ci=None)
    # the realised office and officer effects are the truth for this data set
    off = world.offices.set_index("office")["severity"] * 0.4
    ofc = world.officers.set_index("officer")["severity"] * 0.3
    assert fit.variance_components["office"] == pytest.approx(off.var(), rel=0.35)
    assert fit.variance_components["officer"] == pytest.approx(ofc.var(), rel=0.15)
    nf = world.officers["noise_factor"].to_numpy()
    assert fit.variance_components["residual"] == pytest.approx(0.25 * np.mean(nf ** 2),
                                                                rel=0.05)
    # conditional modes track the true office effects
    est = fit.random_effects["office"]["estimate"]
    assert np.corrcoef(est.to_numpy(), off.loc[est.index].to_numpy())[0, 1] > 0.95


def test_ordered_ratings_are_scored_with_a_note():
    r = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)
    fit = crossed_lmm(r, rating="rating", case="case", rater="officer", office="office")
    assert any("scored 1..4" in n for n in fit.notes)
    codes = pd.read_csv(FIXTURES / "lmm_balanced.csv")
    entry = next(e for e in LME4["fits"] if e["formula"].startswith("level"))
    assert fit.variance_components["case"] == pytest.approx(entry["variance"]["case"], rel=1e-3)
    assert len(codes) == fit.n_obs


def test_missing_values_are_dropped_and_counted():
    data = pd.read_csv(FIXTURES / "lmm_balanced.csv")
    full = crossed_lmm(data, rating="y", case="case", rater="officer", office="office")
    holes = data.copy()
    holes.loc[[3, 50], "y"] = np.nan
    holes.loc[7, "experience"] = np.nan
    fit = crossed_lmm(holes, rating="y", case="case", rater="officer", office="office",
                      fixed="experience")
    assert fit.n_dropped == 3 and fit.n_obs == len(data) - 3
    assert any("3 rows" in n for n in fit.notes)
    assert full.n_dropped == 0


def test_fit_statistics_and_outputs():
    data = pd.read_csv(FIXTURES / "lmm_balanced.csv")
    fit = crossed_lmm(data, rating="y", case="case", rater="officer", office="office",
                      fixed=["experience"])
    k = 2 + 3 + 1
    assert fit.aic == pytest.approx(-2 * fit.loglik + 2 * k)
    assert fit.bic == pytest.approx(-2 * fit.loglik + np.log(fit.n_obs) * k)
    assert fit.variance_shares["estimate"].sum() == pytest.approx(1)
    assert list(fit.variance_components.index) == ["case", "officer", "office", "residual"]
    assert fit.n_groups.to_dict() == {"case": 24, "officer": 48, "office": 6}
    assert set(fit.random_effects) == {"case", "officer", "office"}
    assert abs(fit.random_effects["case"]["estimate"].mean()) < 1e-6
    assert (fit.random_effects["office"]["se"] > 0).all()
    assert (fit.random_effects["office"]["se"] < fit.sd["office"]).all()
    assert fit.converged
    assert "Fixed effects" in fit.summary() and "<table" in fit._repr_html_()


def test_errors_name_the_problem():
    data = pd.read_csv(FIXTURES / "lmm_balanced.csv")
    with pytest.raises(RiskevalError, match="the rating column 'score' is not in the table"):
        crossed_lmm(data, rating="score", case="case", rater="officer")
    bad = data.assign(y=data["y"].astype(object))
    bad.loc[5, "y"] = "high"
    with pytest.raises(RiskevalError, match="row 5 holds 'high'"):
        crossed_lmm(bad, rating="y", case="case", rater="officer")
    with pytest.raises(RiskevalError, match="formula 'experiense' could not be used"):
        crossed_lmm(data, rating="y", case="case", rater="officer", fixed="experiense")
    one = data[data["office"] == "Office 1"]
    with pytest.raises(RiskevalError, match="the office factor has 1 level"):
        crossed_lmm(one, rating="y", case="case", rater="officer", office="office")
    with pytest.raises(RiskevalError, match="rank deficient"):
        crossed_lmm(data.assign(c=1.0), rating="y", case="case", rater="officer",
                    fixed="c")


def test_profile_intervals_match_lme4_confint():
    """lme4's confint(method = "profile") profiles the ML deviance, also for REML fits."""
    for entry in (e for e in LME4["fits"] if e.get("profile_sd")):
        data = pd.read_csv(FIXTURES / entry["data"])
        fixed = entry["formula"].split("~")[1].split("+ (1|case)")[0].strip()
        fit = crossed_lmm(data, rating="y", case="case", rater="officer", office="office",
                          fixed=fixed, reml=entry["reml"], ci="profile-ml")
        for name, (low, high) in entry["profile_sd"].items():
            row = fit.variance_table.loc[name]
            if high < 1e-6:
                assert row["sd_high"] < 1e-6 or row["sd_high"] == pytest.approx(high, abs=2e-3)
            else:
                assert row["sd_low"] == pytest.approx(low, rel=2e-3, abs=1e-6), name
                assert row["sd_high"] == pytest.approx(high, rel=2e-3), name


def test_reml_profile_limits_raise_the_criterion_by_the_chi2_quantile():
    """At each limit of a REML-profile interval the constrained REML deviance is 3.84 above
    its minimum (checked by an independent constrained fit: the component held fixed)."""
    from scipy import optimize, stats

    data = pd.read_csv(FIXTURES / "lmm_unbalanced.csv")
    data = data[data["office"].isin(["Office 2", "Office 5", "Office 7", "Office 9"])
                & data["case"].isin([f"V{i:04d}" for i in range(1, 15)])]
    fit = crossed_lmm(data, rating="y", case="case", rater="officer", office="office")
    y = data["y"].to_numpy()
    codes = [pd.factorize(data["case"], sort=True)[0],
             pd.factorize(pd.MultiIndex.from_arrays([data["office"], data["officer"]]),
                          sort=True)[0],
             pd.factorize(data["office"], sort=True)[0]]

    def neg2ll(var: dict[str, float]) -> float:
        """-2 REML log-likelihood from the marginal covariance, by brute force."""
        n = len(y)
        v = np.eye(n) * var["residual"]
        for k, name in enumerate(("case", "officer", "office")):
            v += var[name] * (codes[k][:, None] == codes[k][None, :])
        logdet = np.linalg.slogdet(v)[1]
        vinv = np.linalg.inv(v)
        x = np.ones((n, 1))
        xtvx = x.T @ vinv @ x
        beta = np.linalg.solve(xtvx, x.T @ vinv @ y)
        r = y - x @ beta
        return float(logdet + np.linalg.slogdet(xtvx)[1] + r @ vinv @ r
                     + (n - 1) * np.log(2 * np.pi))

    best = -2 * fit.loglik
    names = ["case", "officer", "office", "residual"]
    est = fit.variance_components
    assert neg2ll(dict(est)) == pytest.approx(best, rel=1e-9)
    for limit in ("sd_low", "sd_high"):
        sd_fixed = fit.variance_table.loc["office", limit]
        others = [n for n in names if n != "office"]

        def f(logv: np.ndarray, sd_fixed: float = sd_fixed, others: list = others) -> float:
            return neg2ll({**dict(zip(others, np.exp(logv), strict=True)),
                           "office": sd_fixed ** 2})

        res = optimize.minimize(f, np.log(est[others].to_numpy()), method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
        assert res.fun - best == pytest.approx(stats.chi2.ppf(0.95, 1), abs=2e-3)


def test_plot_draws_shares_and_caterpillars():
    import matplotlib

    matplotlib.use("Agg")
    data = pd.read_csv(FIXTURES / "lmm_balanced.csv")
    fit = crossed_lmm(data, rating="y", case="case", rater="officer", office="office")
    fig = fit.plot()
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(fit.variance_shares.index)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_conditional_variances_match_a_dense_inverse():
    """The random effects' conditional SDs (lme4's condVar) against a brute-force inverse."""
    from riskeval.variation._lmm import Profiled, sufficient_stats

    data = pd.read_csv(FIXTURES / "lmm_unbalanced.csv")
    fit = crossed_lmm(data, rating="y", case="case", rater="officer", office="office",
                      ci=None)
    codes = [pd.factorize(data["case"], sort=True)[0],
             pd.factorize(pd.MultiIndex.from_arrays([data["office"], data["officer"]]),
                          sort=True)[0],
             pd.factorize(data["office"], sort=True)[0]]
    levels = [int(c.max()) + 1 for c in codes]
    theta = fit.theta.to_numpy()
    z = np.hstack([np.eye(q)[c] for c, q in zip(codes, levels, strict=True)])
    lam = np.diag(np.concatenate([np.full(q, t) for q, t in zip(levels, theta, strict=True)]))
    dense = np.diag(np.linalg.inv(lam @ z.T @ z @ lam + np.eye(z.shape[1])))
    sigma = fit.sd["residual"]
    expected = np.concatenate([t * sigma * np.sqrt(part) for t, part in
                               zip(theta, np.split(dense, np.cumsum(levels)[:-1]), strict=True)])
    got = np.concatenate([fit.random_effects[n]["se"].to_numpy()
                          for n in ("case", "officer", "office")])
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    st = sufficient_stats(data["y"].to_numpy(), np.ones((len(data), 1)), codes, levels)
    assert Profiled(st, True).deviance(theta) == pytest.approx(-2 * fit.loglik)


def test_familiarity_and_time_effects_are_recovered_as_fixed_effects():
    """Familiarity (item 6) and time available (item 11) enter the simulator as latent shifts;
    entered as covariates, crossed_lmm recovers their slopes (over 8 simulated studies: mean
    within 3 Monte Carlo SEs of the truth, and most 95% intervals covering it)."""
    world = rv.world.scenarios.six_office_study(n_offices=15, officers_per_office=8, n_vignettes=40,
                                          seed=21)
    world = world.only("familiarity", "time_resources").with_mechanisms(
        familiarity={"strength": 0.25}, time_resources={"per_doubling": 0.15},
        noise={"sd": 0.4})
    shares = rv.world.vignettes.population_params()
    total = sum(shares[f"share_{k}"] for k in rv.world.vignettes.OFFENCE_TYPES)
    offices = world.offices.set_index("office")
    est = {"familiarity": [], "time": []}
    covered = {"familiarity": 0, "time": 0}
    truth = {"familiarity": -0.25, "time": 0.15}
    for seed in range(8):
        r = rv.simulate(world, seed=seed)
        officers = world.officers.set_index("officer").loc[r["officer"].astype(str)]
        offence = world.vignettes.set_index("case").loc[r["case"].astype(str),
                                                        "offence"].to_numpy()
        local = np.array([offices.loc[o, f"share_{k}"]
                          for o, k in zip(r["office"].astype(str), offence, strict=True)])
        national = np.array([shares[f"share_{k}"] for k in offence]) / total
        exp_ = officers["experience_years"].to_numpy()
        fam = (np.log((local + 0.01) / (national + 0.01)) + np.log((exp_ + 1) / 10)).clip(-2, 2)
        data = r.assign(familiarity=fam,
                        time=np.log2(officers["hours_per_assessment"].to_numpy() / 6.0))
        fe = crossed_lmm(data, rating="latent", case="case", rater="officer",
                         office="office", fixed="familiarity + time", ci=None).fixed_effects
        for name in est:
            est[name].append(fe.loc[name, "estimate"])
            covered[name] += fe.loc[name, "ci_low"] < truth[name] < fe.loc[name, "ci_high"]
    for name, values in est.items():
        values = np.array(values)
        mc_se = values.std(ddof=1) / np.sqrt(len(values))
        assert abs(values.mean() - truth[name]) < 3 * mc_se + 1e-12, (name, values)
        assert covered[name] >= 6, (name, covered[name])


def test_wald_log_scale_intervals_approximate_the_profile():
    """Two different interval methods agree closely when every factor has several levels."""
    data = pd.read_csv(FIXTURES / "lmm_unbalanced.csv")
    prof = crossed_lmm(data, rating="y", case="case", rater="officer", office="office",
                       ci="profile").to_frame()
    wald = crossed_lmm(data, rating="y", case="case", rater="officer", office="office",
                       ci="wald").to_frame()
    for col in ("sd_low", "sd_high", "share_low", "share_high"):
        np.testing.assert_allclose(wald[col], prof[col], rtol=0.1)
    assert (wald["sd_low"] < wald["sd"]).all() and (wald["sd"] < wald["sd_high"]).all()


def test_auto_intervals_switch_to_wald_for_large_designs():
    world = rv.world.scenarios.national(n_offices=41, officers_per_office=10, n_cases=420, seed=2)
    r = rv.simulate(world, seed=1)
    fit = crossed_lmm(r, rating="latent", case="case", rater="officer", office="office")
    assert any("Wald intervals" in n for n in fit.notes)
    assert fit.variance_table[["ci_low", "ci_high"]].notna().all().all()
    small = crossed_lmm(pd.read_csv(FIXTURES / "lmm_balanced.csv"), rating="y", case="case",
                        rater="officer", office="office")
    assert not any("Wald" in n for n in small.notes)
