"""Issue 14, item 7: skills and study design.

Bad supervision data name the column, row and value at fault (``skill_effect``,
``km_by_group``); the sample-size formulas and the design helpers refuse arguments outside
their range; ``bonett_n`` carries Bonett's (2002) own adjustment for two raters; the STICS and
meta-analysis presets are solved exactly from the published figures by the model's closed
form.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskeval import skills as sk
from riskeval.errors import RiskevalError, RiskevalTypeError

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def cox_data() -> pd.DataFrame:
    """600 supervisees of 30 officers (the fixture of the R cross-check in test_skills.py)."""
    return pd.read_csv(FIX / "skills_cox.csv")


# ----------------------------------------------------------------------------------------------
# skill_effect and km_by_group: bad supervision data are named
# ----------------------------------------------------------------------------------------------


def _with(data: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    out = data.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


@pytest.mark.parametrize("method", ["cox", "logistic"])
def test_a_missing_skill_score_is_named_not_turned_into_nan_coefficients(cox_data, method):
    bad = _with(cox_data, "overall", 7, np.nan)
    with pytest.raises(RiskevalError, match=r"column 'overall' row 7 is missing; expected a "
                                            r"numeric skill score"):
        sk.skill_effect(bad, method=method)


def test_text_in_the_skill_column_is_named(cox_data):
    bad = _with(cox_data, "overall", 4, "high")
    with pytest.raises(RiskevalError, match=r"column 'overall' row 4 holds 'high'; expected "
                                            r"a numeric skill score"):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match=r"column 'overall' row 4 holds 'high'"):
        sk.km_by_group(bad)


def test_an_infinite_skill_score_is_named(cox_data):
    bad = _with(cox_data, "structuring", 2, np.inf).astype({"structuring": float})
    with pytest.raises(RiskevalError, match=r"column 'structuring' row 2 holds inf"):
        sk.skill_effect(bad, skill=["relationship", "structuring"])


def test_a_missing_officer_id_is_named_not_made_its_own_cluster(cox_data):
    bad = _with(cox_data, "officer", 11, None)
    with pytest.raises(RiskevalError, match=r"column 'officer' row 11 is missing"):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match=r"column 'officer' row 11 is missing"):
        sk.km_by_group(bad)


def test_a_skill_score_that_varies_within_an_officer_is_named(cox_data):
    officer = cox_data.loc[0, "officer"]
    second = int(np.flatnonzero(cox_data["officer"] == officer)[1])
    bad = _with(cox_data, "overall", second, 3.9).astype({"overall": float})
    msg = (rf"column 'overall' varies within officer '{officer}': row 0 holds "
           rf"{float(cox_data.loc[0, 'overall'])!r} but row {second} holds 3\.9")
    with pytest.raises(RiskevalError, match=msg):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match=msg):
        sk.km_by_group(bad)
    # rounding noise in a joined score is not a varying score
    jitter = cox_data.assign(overall=cox_data["overall"] * (1 + 1e-14))
    jitter.loc[::2, "overall"] = cox_data.loc[::2, "overall"]
    np.testing.assert_allclose(sk.skill_effect(jitter)["coef"],
                               sk.skill_effect(cox_data)["coef"], rtol=1e-9)


def test_infinite_or_negative_follow_up_is_named(cox_data):
    bad = cox_data.assign(time=cox_data["time"].where(cox_data.index != 3, np.inf))
    with pytest.raises(RiskevalError, match=r"column 'time' row 3 holds inf; expected a "
                                            r"finite non-negative follow-up time"):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match=r"column 'time' row 3 holds inf"):
        sk.km_by_group(bad)
    neg = cox_data.assign(time=cox_data["time"].where(cox_data.index != 5, -1.0))
    with pytest.raises(RiskevalError, match=r"column 'time' row 5 holds -1\.0"):
        sk.km_by_group(neg)


def test_km_by_group_refuses_an_outcome_that_is_not_0_or_1(cox_data):
    bad = cox_data.assign(event=cox_data["event"].astype(float))
    bad.loc[6, "event"] = 0.5
    with pytest.raises(RiskevalError, match=r"column 'event' has the value 0\.5 at row 6 .*"
                                            r"expected 0/1"):
        sk.km_by_group(bad)
    with pytest.raises(RiskevalError, match=r"column 'event' has the value 0\.5 at row 6"):
        sk.skill_effect(bad)


def test_a_row_is_named_by_position_and_by_its_index_label(cox_data):
    bad = _with(cox_data, "overall", 4, "high")
    bad.index = bad.index + 1000
    with pytest.raises(RiskevalError, match=r"row 1004 \(position 4\) holds 'high'"):
        sk.skill_effect(bad)


def test_a_table_that_is_not_a_dataframe_is_a_type_error(cox_data):
    with pytest.raises(RiskevalTypeError, match="DataFrame"):
        sk.km_by_group(cox_data.to_dict())


# ----------------------------------------------------------------------------------------------
# bonett_n: Bonett's (2002) adjustment for two raters
# ----------------------------------------------------------------------------------------------


def _f_interval_widths(icc: float, k: int, n: int, sims: int, seed: int,
                       confidence: float = 0.95) -> np.ndarray:
    """Widths of the exact F interval for the one-way ICC (Shrout & Fleiss 1979, ICC(1);
    McGraw & Wong 1996) over ``sims`` simulated studies of n cases x k ratings, written out
    here independently of the package (vectorised over studies)."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    x = (np.sqrt(icc) * rng.standard_normal((sims, n, 1))
         + np.sqrt(1 - icc) * rng.standard_normal((sims, n, k)))
    means = x.mean(axis=2)
    msb = k * ((means - means.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / (n - 1)
    msw = ((x - means[:, :, None]) ** 2).sum(axis=(1, 2)) / (n * (k - 1))
    f = msb / msw
    a = 1 - confidence
    f_low = f / stats.f.ppf(1 - a / 2, n - 1, n * (k - 1))
    f_up = f * stats.f.ppf(1 - a / 2, n * (k - 1), n - 1)
    return (f_up - 1) / (f_up + k - 1) - (f_low - 1) / (f_low + k - 1)


def test_bonett_n_adds_bonetts_own_adjustment_for_two_raters_and_a_high_icc():
    """Bonett, D. G. (2002). Sample size requirements for estimating intraclass correlations
    with desired precision. Statistics in Medicine 21(9), 1331-1335: n0 = 8 z^2 (1 - rho)^2
    (1 + (k - 1) rho)^2 / (k (k - 1) w^2) + 1 (his equation 3), and for k = 2 and rho >= .7 he
    recommends n0 + 5 rho, which brings the approximation to the exact sample sizes of his
    table. Worked figures: k = 4, rho .85, w .2 gives n0 = 19.2, i.e. 20 cases (his example,
    as quoted by R's presize::prec_icc); k = 2, rho .8, w .2 gives n0 = 51 and n = 51 + 5 x 0.8
    = 55 (as quoted by the Psychometric sample size calculators of P. ten Klooster, citing
    Bonett 2002); the rule itself is also that of presize::prec_icc (ceiling of n0 + 5 rho)."""
    from riskeval.studies.samplesize import bonett_n, zou_n

    assert bonett_n(0.85, 4, 0.2) == 20                     # his worked example, no adjustment
    assert bonett_n(0.8, 2, 0.2) == 55                      # 50.78 + 4.0, was 51
    assert bonett_n(0.9, 2, 0.2) == 20                      # 14.87 + 4.5, was 15
    assert bonett_n(0.7, 2, 0.2) == 105                     # 100.92 + 3.5: .7 is adjusted
    assert bonett_n(0.69, 2, 0.2) == 107                    # 106.44: below .7, unadjusted
    assert bonett_n(0.8, 3, 0.2) == 36                      # 35.62: k = 3, unadjusted
    # Zou's (2012) formula without assurance is Bonett's equation 3 without the adjustment
    assert zou_n(0.8, 2, 0.2) == 51 and zou_n(0.8, 3, 0.2) == bonett_n(0.8, 3, 0.2)


def test_bonett_n_gives_the_target_width_in_simulated_studies():
    """The mean width of the exact F interval at Bonett's adjusted n is close to the target;
    at the unadjusted n0 it is clearly wider (the issue: 0.247 at n = 15 for rho .9)."""
    from riskeval.studies.samplesize import bonett_n

    for rho, n0 in ((0.8, 51), (0.9, 15)):
        n = bonett_n(rho, 2, 0.2)
        w = _f_interval_widths(rho, 2, n, sims=10_000, seed=14)
        mcse = w.std(ddof=1) / np.sqrt(len(w))
        assert abs(w.mean() - 0.2) < 3 * mcse + 0.005, (rho, n, w.mean(), mcse)
        w0 = _f_interval_widths(rho, 2, n0, sims=10_000, seed=14)
        assert w0.mean() - 0.2 > 3 * mcse + 0.005, (rho, n0, w0.mean())


# ----------------------------------------------------------------------------------------------
# sample-size formulas and design helpers: arguments outside their range
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    ({"confidence": 95}, r"confidence=95 is not a level strictly between 0 and 1"),
    ({"confidence": 0.0}, r"confidence=0\.0 is not a level strictly between 0 and 1"),
    ({"raters": 2.5}, r"raters must be a whole number of at least 2; got 2\.5"),
    ({"raters": 1}, r"raters must be a whole number of at least 2; got 1"),
    ({"icc": 1.0}, r"icc must be in \(0, 1\); got icc=1\.0"),
    ({"width": 0}, r"width .* must be in \(0, 2\); got width=0"),
])
def test_bonett_n_names_an_argument_outside_its_range(kwargs, match):
    from riskeval.studies.samplesize import bonett_n

    args = {"icc": 0.6, "raters": 3, "width": 0.2, **kwargs}
    with pytest.raises(RiskevalError, match=match):
        bonett_n(**args)


def test_bonett_n_accepts_a_whole_float_and_refuses_text():
    from riskeval.studies.samplesize import bonett_n

    assert bonett_n(0.6, 3.0, 0.2) == bonett_n(0.6, 3, 0.2) == 101
    with pytest.raises(RiskevalTypeError, match=r"icc must be a number; got '0\.6'"):
        bonett_n("0.6", 3, 0.2)


@pytest.mark.parametrize("power", [1.2, 1.0, 0, 0.01, 0.05])
def test_walter_n_refuses_a_power_outside_alpha_to_1(power):
    from riskeval.studies.samplesize import walter_n

    with pytest.raises(RiskevalError, match=rf"power must be in \(alpha, 1\) = \(0\.05, 1\).*"
                                            rf"got power={power!r}"):
        walter_n(0.4, 0.6, 3, power=power)


def test_walter_n_checks_raters_alpha_and_the_iccs():
    from riskeval.studies.samplesize import walter_n

    assert walter_n(0.4, 0.6, 3, power=0.06) < walter_n(0.4, 0.6, 3)     # legal, if weak
    with pytest.raises(RiskevalError, match=r"raters must be a whole number .* got 2\.5"):
        walter_n(0.4, 0.6, 2.5)
    with pytest.raises(RiskevalError, match=r"alpha must be in \(0, 1\); got alpha=5"):
        walter_n(0.4, 0.6, 3, alpha=5)
    with pytest.raises(RiskevalError, match=r"0 <= rho0 < rho1 < 1.*rho0=0\.6, rho1=0\.4"):
        walter_n(0.6, 0.4, 3)



@pytest.mark.parametrize("kwargs, error, match", [
    ({"chunk_size": 0}, RiskevalError, r"chunk_size must be a whole number of at least 1; got "
                                       r"0$"),
    ({"chunk_size": -1}, RiskevalError, r"chunk_size must be .* got -1$"),
    ({"chunk_size": 2.5}, RiskevalError, r"chunk_size must be .* got 2\.5$"),
    ({"n_sims": 2.5}, RiskevalError, r"n_sims must be a whole number of at least 2; got "
                                     r"2\.5$"),
    ({"n_sims": "10"}, RiskevalTypeError, r"n_sims must be a whole number; got '10'"),
    ({"n_jobs": 0}, RiskevalError, r"n_jobs must be a whole number other than 0 .* got "
                                   r"n_jobs=0"),
    ({"alpha": 5}, RiskevalError, r"alpha must be in \(0, 1\); got alpha=5"),
])
def test_diagnose_names_a_bad_run_setting(kwargs, error, match):
    from riskeval import studies as dz

    args = {"n_sims": 3, "seed": 1, **kwargs}
    with pytest.raises(error, match=match):
        dz.diagnose(dz.rater_study(3, 5), **args)


def test_diagnose_accepts_whole_floats():
    from riskeval import studies as dz

    d = dz.rater_study(3, 6)
    a = dz.diagnose(d, n_sims=4.0, seed=1, chunk_size=2.0)
    b = dz.diagnose(d, n_sims=4, seed=1, chunk_size=2)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.n_sims == 4 and isinstance(a.n_sims, int)


@pytest.mark.parametrize("args, kwargs, match", [
    ((2.5, 5), {}, r"n_raters must be a whole number of at least 2; got 2\.5"),
    ((3, 5.5), {}, r"n_cases must be a whole number of at least 2; got 5\.5"),
    ((3, 10), {"categories": [1.0, -0.5, 0.3]},
     r"categories must be strictly increasing cut points; got \[1\.0, -0\.5, 0\.3\] "
     r"\(cut 1, -0\.5, is not above cut 0, 1\.0\)"),
    ((3, 10), {"categories": [-0.5, 0.3, 0.3]}, r"cut 2, 0\.3, is not above cut 1, 0\.3"),
    ((3, 10), {"categories": [-0.5, np.nan]}, r"categories must be finite cut points"),
    ((3, 10), {"categories": []}, r"categories must hold at least one cut point"),
    ((3, 10), {"confidence": 95}, r"confidence=95 is not a level strictly between 0 and 1"),
])
def test_rater_study_names_a_bad_design(args, kwargs, match):
    from riskeval import studies as dz

    with pytest.raises(RiskevalError, match=match):
        dz.rater_study(*args, **kwargs)


# ----------------------------------------------------------------------------------------------
# The STICS and meta-analysis presets, solved exactly from the published figures
# ----------------------------------------------------------------------------------------------

# Lee, Bonta, Pedneault, Rugge & Bourgon (2021), Journal of Criminal Justice 74:101816,
# abstract: two-year general recidivism 61.4% (clients of officers before STICS training) and
# 43.0% (clients of STICS-trained officers).
BC_UNTRAINED, BC_TRAINED = 0.614, 0.430
# Chadwick, DeWolf & Serin (2015), Criminal Justice and Behavior 42(10) 977-989, abstract:
# odds ratio 1.48 favouring trained officers (10 studies, N = 8,335).
META_OR = 1.48


def test_the_beta_step_of_the_closed_form_matches_adaptive_quadrature():
    """E[(1 - b)^lam] over the clipped Beta baseline risk, against scipy.integrate.quad."""
    from scipy import integrate, stats

    from riskeval.skills._expected import _mean_survival

    lo, hi = 1e-6, 1 - 1e-6
    for mean, conc in ((0.623, 6.0), (0.4, 6.0), (0.3, 0.8)):
        a, b = mean * conc, (1 - mean) * conc
        for lam in (0.2, 1.0, 2.7, 40.0):
            inside = integrate.quad(lambda x, lam=lam, a=a, b=b: (1 - x) ** lam
                                    * stats.beta.pdf(x, a, b), lo, hi, epsabs=1e-13,
                                    epsrel=1e-11, limit=200, points=[1e-3, 0.5, 0.999])[0]
            want = (inside + stats.beta.cdf(lo, a, b) * (1 - lo) ** lam
                    + stats.beta.sf(hi, a, b) * (1 - hi) ** lam)
            got = float(_mean_survival(np.asarray(lam), mean, conc))
            assert got == pytest.approx(want, abs=1e-9), (mean, conc, lam)


def test_the_closed_form_has_converged_in_its_quadrature_nodes():
    from riskeval.skills import reconviction_rate

    p = sk.stics_bc().updated({"hr_interaction": 0.8, "frailty_sd": 0.5})
    for trained in (False, True):
        a = reconviction_rate(p, trained=trained, nodes=24)
        b = reconviction_rate(p, trained=trained)
        c = reconviction_rate(p, trained=trained, nodes=120)
        assert abs(a - c) < 1e-9 and abs(b - c) < 1e-12


def test_stics_bc_expectations_equal_the_published_rates():
    e = sk.expected_rates(sk.stics_bc())
    assert e["untrained"] == pytest.approx(BC_UNTRAINED, abs=1e-4)
    assert e["trained"] == pytest.approx(BC_TRAINED, abs=1e-4)
    assert abs(e["untrained"] - BC_UNTRAINED) < 1e-6 and abs(e["trained"] - BC_TRAINED) < 1e-6
    # the 2011 trial's design carries the roll-out's effect
    e11 = sk.expected_rates(sk.stics_2011())
    assert e11["untrained"] == pytest.approx(BC_UNTRAINED, abs=1e-6)
    assert e11["trained"] == pytest.approx(BC_TRAINED, abs=1e-6)


def test_training_meta_expectation_equals_the_published_odds_ratio():
    e = sk.expected_rates(sk.training_meta())
    assert 1 / e["odds_ratio"] == pytest.approx(META_OR, abs=1e-4)
    assert abs(1 / e["odds_ratio"] - META_OR) < 1e-5


def test_preset_values_are_the_solutions_and_say_so():
    from riskeval.skills._presets import _solve_stics_bc, _solve_training_meta

    bc, meta = sk.stics_bc(), sk.training_meta()
    risk_mean, shift = _solve_stics_bc()
    assert bc["risk_mean"] == pytest.approx(risk_mean, abs=1e-6)
    assert bc["training_shift"] == pytest.approx(shift, abs=1e-6)
    assert meta["training_shift"] == pytest.approx(_solve_training_meta(), abs=1e-6)
    for p, name, source in ((bc, "risk_mean", "Lee"), (bc, "training_shift", "Lee"),
                            (meta, "training_shift", "Chadwick")):
        prov = {r["parameter"]: r["provenance"] for r in p.rows()}[name]
        assert "solved" in prov and "closed form" in prov and source in prov, prov
        assert "by simulation" not in prov


def test_a_large_simulation_agrees_with_the_closed_form():
    """20,000 officers x 10 supervisees per preset: each arm's share reconvicted is within
    4 Monte Carlo SEs (clustered by officer, about 0.002) of the exact expectation."""
    for preset in (sk.stics_bc(), sk.training_meta()):
        d = sk.simulate_skills(preset, seed=2024, n_officers=20_000,
                               supervisees_per_officer=10, sessions_per_officer=1,
                               double_scored=0.0)
        t = d.supervisees.join(d.officers.set_index("officer")["trained"], on="officer")
        per = t.groupby(["trained", "officer"])["event"].mean()
        e = sk.expected_rates(preset)
        for arm, key in ((False, "untrained"), (True, "trained")):
            officer_means = per.loc[arm]
            sim = officer_means.mean()
            mcse = officer_means.std(ddof=1) / np.sqrt(len(officer_means))
            assert mcse < 0.0025
            assert abs(sim - e[key]) < 4 * mcse, (key, sim, e[key], mcse)


def test_skills_trial_truth_is_the_closed_form_difference():
    """The estimand of design.skills_trial is the exact expected difference, not a Monte
    Carlo average (which was off by about 6e-5 at a half-SD shift)."""
    from riskeval import studies as dz
    from riskeval.skills._model import resolve_params
    from riskeval.studies.trials import _reconviction_difference

    p = resolve_params(None).updated({"trained_share": 0.5, "training_shift": 0.5})
    assert _reconviction_difference(p) == pytest.approx(
        sk.expected_rates(p)["difference"], abs=1e-12)
    bc = sk.stics_2011()
    d = dz.skills_trial(bc, training_shift=bc["training_shift"])
    _, truth = d.population(np.random.SeedSequence(1))
    assert truth["reconviction difference"] == pytest.approx(BC_TRAINED - BC_UNTRAINED, abs=1e-6)
