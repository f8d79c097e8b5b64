"""Cohort comparison: estimates, design-respecting bootstrap, permutation test size and power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskeval import RiskevalError, cohorts
from riskeval.agreement import icc


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


COLS = {"cohort": "cohort", "case": "case", "rater": "officer", "rating": "y"}


def test_estimates_equal_the_icc_of_each_cohort():
    d = _study(1)
    res = cohorts.compare_icc(d, **COLS, seed=1)
    for name, est in zip(res.cohorts, res.estimates, strict=True):
        want = icc(d[d["cohort"] == name], case="case", rater="officer",
                   rating="y").to_frame().loc["ICC2", "ICC"]
        assert est == pytest.approx(want, rel=1e-10)
    assert res.difference == pytest.approx(res.estimates[0] - res.estimates[1])
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
    with pytest.raises(RiskevalError, match="appears in both cohorts"):
        cohorts.compare_icc(d, **COLS)
    three = d.assign(cohort=np.resize(["a", "b", "c"], len(d)))
    with pytest.raises(RiskevalError, match="exactly two cohorts"):
        cohorts.compare_icc(three, **COLS)
    with pytest.raises(RiskevalError, match="complete design"):
        cohorts.compare_icc(_study(4).iloc[1:], **COLS)
    with pytest.raises(RiskevalError, match="form='ICC9'"):
        cohorts.compare_icc(_study(4), **COLS, form="ICC9")


def test_training_in_the_simulator_changes_traits_and_is_detected():
    import riskeval as rv
    from riskeval import raters

    w = rv.scenarios.six_office_study(seed=3)
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
                              rating="latent", seed=1)
    assert res.cohorts == ("trained", "untrained") and res.difference > 0
    assert res.p_value < 0.01 and res.ci[0] > 0
    rows = {r["parameter"]: r for r in raters.TRAINING.rows()}
    assert rows["noise_factor"]["is_assumption"]
