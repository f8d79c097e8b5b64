"""Intervals for officers as a sample (issue 14, item 8).

``resample="cases+raters"`` with an analytic interval is the two-way jackknife over cases and
officers; ``resample="cases"`` keeps the officers fixed. The long study is
``papers/alpha_coverage.py``; here a small version of it, and the estimator's algebra.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import riskeval.agreement as ag
from riskeval.agreement._twoway import fisher_z_interval, twoway_jackknife
from riskeval.studies import Design, Estimator, diagnose, population_alpha, rater_study


def _grand_mean(values: np.ndarray):
    """The batched grand mean of a complete table: sum_ij U_i V_j x_ij / sum U_i V_j."""
    def stat(U, V):
        V = np.ones((len(U), values.shape[1])) if V is None else V   # None: every rater
        return np.einsum("bi,ij,bj->b", U, values, V) / (U.sum(1) * V.sum(1))
    return stat


@pytest.mark.parametrize("seed", range(5))
def test_two_way_jackknife_of_the_grand_mean_is_the_anova_estimate(seed: int) -> None:
    """For the grand mean of a complete n x m table the two-way jackknife variance is, by
    algebra, MS_rows / (n m) + (MS_cols - MS_int) / (n m): the unbiased ANOVA estimate of
    Var(grand mean) under the two-way random-effects model (when MS_cols > MS_int)."""
    rng = np.random.default_rng(seed)
    n, m = 12, 9
    x = (rng.normal(0, 1, (n, 1)) + rng.normal(0, 1.5, (1, m)) + rng.normal(0, .7, (n, m)))
    est = x.mean()
    tw = twoway_jackknife(_grand_mean(x), n, m, est)
    rows, cols = x.mean(1), x.mean(0)
    ms_rows = m * ((rows - est) ** 2).sum() / (n - 1)
    ms_cols = n * ((cols - est) ** 2).sum() / (m - 1)
    resid = x - rows[:, None] - cols[None, :] + est
    ms_int = (resid ** 2).sum() / ((n - 1) * (m - 1))
    assert tw["var_cases"] == pytest.approx(ms_rows / (n * m), rel=1e-10)
    assert tw["var_raters"] == pytest.approx(ms_cols / (n * m), rel=1e-10)
    assert tw["var_interaction"] == pytest.approx(ms_int / (n * m), rel=1e-10)
    assert tw["se"] ** 2 == pytest.approx(max(ms_rows + ms_cols - ms_int, ms_rows) / (n * m),
                                          rel=1e-10)


def test_fisher_z_interval_maps_back() -> None:
    lo, hi = fisher_z_interval(0.5, 0.1, 20, 4, 0.95)
    k = 4
    z = 0.5 * math.log((1 + (k - 1) * 0.5) / 0.5)
    dz = 0.5 * ((k - 1) / (1 + (k - 1) * 0.5) + 1 / 0.5)
    t = stats.t.ppf(0.975, 20)
    back = [(math.exp(2 * v) - 1) / (math.exp(2 * v) + k - 1) for v in (z - t * .1 * dz,
                                                                     z + t * .1 * dz)]
    assert (lo, hi) == pytest.approx(back, rel=1e-12)
    assert lo < 0.5 < hi and hi - 0.5 < 0.5 - lo          # longer towards the middle
    assert fisher_z_interval(1.0, 0.0, 10, 4, 0.95) == (1.0, 1.0)


def test_officers_like_these_is_wider_and_named() -> None:
    rng = np.random.default_rng(3)
    x = (rng.normal(0, .8, (20, 1)) + rng.normal(0, .5, (1, 12)) + rng.normal(0, .5, (20, 12)))
    fixed = ag.krippendorff_alpha(x, level="interval")
    sample = ag.krippendorff_alpha(x, level="interval", resample="cases+raters")
    assert sample.estimate == fixed.estimate
    assert sample.ci[0] < fixed.ci[0] and sample.ci[0] <= sample.estimate <= sample.ci[1]
    assert "two-way jackknife" in sample.ci_method
    assert sample.extra["var_raters"] > 0
    # every coefficient that goes through the shared interval code offers both targets
    levels = np.clip(np.round(x + 2), 1, 4)
    for fn in (ag.fleiss_kappa, ag.gwet_ac, ag.brennan_prediger, ag.percent_agreement):
        r = fn(levels, resample="cases+raters")
        assert "two-way jackknife" in r.ci_method
        assert r.ci[0] <= r.estimate <= r.ci[1]


def test_two_raters_cannot_generalise_to_officers() -> None:
    x = np.array([[1, 2], [2, 2], [3, 3], [1, 1], [4, 3]], float)
    with pytest.warns(Warning, match="3 cases and 3 raters"):
        r = ag.krippendorff_alpha(x, level="interval", resample="cases+raters")
    assert np.isnan(r.ci).all() and np.isfinite(r.estimate)


def test_population_alpha_is_the_limit_of_the_sample_alpha() -> None:
    # a large simulated study against the closed form (ordinal, four levels)
    cuts = [-0.8, 0.3, 1.2]
    rng = np.random.default_rng(7)
    x = (math.sqrt(.6) * rng.standard_normal((3000, 1)) + math.sqrt(.1)
         * rng.standard_normal((1, 400)) + math.sqrt(.3) * rng.standard_normal((3000, 400)))
    x = np.searchsorted(cuts, x) + 1.0
    sample = ag.krippendorff_alpha(x, level="ordinal", ci=None).estimate
    assert sample == pytest.approx(population_alpha(0.6, cuts), abs=0.01)


@pytest.mark.parametrize(("officers", "vignettes", "cuts"), [(15, 15, None),
                                                             (10, 20, (-0.8, 0.3, 1.2))])
def test_coverage_of_officers_like_these(officers, vignettes, cuts) -> None:
    """A small version of papers/alpha_coverage.py: 400 studies per design. The interval for
    officers like these covers alpha's population value at 93-97% there (2,000 studies);
    here at least 0.91 and at most 0.985 (3 MC SEs), and more often than the interval for
    these officers only, which misses the officers' part of the variation."""
    base = rater_study(officers, vignettes, icc=0.5, rater_share=0.15, categories=cuts)
    level = "interval" if cuts is None else "ordinal"

    def alpha(resample):
        def fn(x):
            r = ag.krippendorff_alpha(x, level=level, resample=resample)
            return {"estimate": r.estimate, "ci_low": r.ci[0], "ci_high": r.ci[1]}
        return fn

    design = Design(base.population, (Estimator("fixed", "alpha", alpha("cases")),
                                      Estimator("sample", "alpha", alpha("cases+raters"))))
    table = diagnose(design, n_sims=400, seed=14).table.set_index("estimator")
    assert 0.91 <= table.loc["sample", "coverage"] <= 0.985
    assert table.loc["sample", "coverage"] > table.loc["fixed", "coverage"]
    # rater_study itself reports this interval, against the population alpha
    own = diagnose(base, n_sims=50, seed=1).table.set_index("estimator")
    assert own.loc["Krippendorff's alpha", "truth"] == pytest.approx(
        0.5 if cuts is None else population_alpha(0.5, cuts))



def test_rater_jackknife_fast_path_equals_the_general_counts() -> None:
    """Leaving one rater out subtracts that rater's ratings from the counts; the shortcut
    gives exactly what the general weighted count gives (random levels, gaps)."""
    from riskeval.agreement.categorical import _Categorical

    rng = np.random.default_rng(12)
    x = rng.integers(1, 5, (30, 7)).astype(float)
    x[rng.random(x.shape) < 0.3] = np.nan
    state = _Categorical(x, None, None, None, None, None)
    codes = state.wide.coded()[0]
    codes = codes[(codes >= 0).any(axis=1)]            # the rated cases, as the state has them
    onehot = codes[:, :, None] == np.arange(state.q)
    drop = 1.0 - np.eye(7)
    general = np.einsum("nrq,br->bnq", onehot, drop)
    np.testing.assert_array_equal(state.weighted(drop), general)
    half = drop.copy()
    half[0, 1] = 0.5                                   # not a deletion: the general path
    np.testing.assert_allclose(state.weighted(half)[0], np.einsum("nrq,r->nq", onehot, half[0]))
