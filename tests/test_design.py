"""Design diagnosis: diagnosands and their Monte Carlo SEs, reproducibility, resuming."""

from __future__ import annotations

import importlib
import math
import os

import numpy as np
import pandas as pd
import pytest

from riskeval import RiskevalError
from riskeval import studies as dz


def test_icc_diagnosands_by_simulation_and_by_hand():
    d = dz.rater_study(30, 20, icc=0.6)
    res = dz.diagnose(d, n_sims=300, seed=2)
    row = res.table.set_index("estimator").loc["ICC(2,1)"]
    assert abs(row["bias"]) < 3 * row["bias_mcse"]
    assert 0.92 <= row["coverage"] <= 0.99
    sims = res.simulations[res.simulations["estimator"] == "ICC(2,1)"]
    err = sims["estimate"] - sims["truth"]
    assert row["bias_mcse"] == pytest.approx(err.std(ddof=1) / np.sqrt(300))
    assert row["rmse"] == pytest.approx(np.sqrt((err ** 2).mean()))
    assert np.isnan(row["power"])      # no null value declared: no test
    # "is agreement above 0.4?" with 30 officers x 20 vignettes, when it is 0.6
    tested = dz.diagnose(dz.rater_study(30, 20, icc=0.6, null_icc=0.4), n_sims=300, seed=2)
    power = tested.table.set_index("estimator").loc["ICC(2,1)", "power"]
    assert 0.5 < power < 0.95, power
    at_null = dz.diagnose(dz.rater_study(30, 20, icc=0.4, null_icc=0.4), n_sims=300, seed=2)
    size = at_null.table.set_index("estimator").loc["ICC(2,1)", "power"]
    assert size < 0.1, size
    # a much smaller study is less precise
    small = dz.diagnose(dz.rater_study(4, 6, icc=0.6), n_sims=300, seed=2).table
    assert small.loc[0, "width"] > 2 * res.table.loc[0, "width"]


def test_same_table_for_any_n_jobs_and_after_a_resume(tmp_path):
    d = dz.rater_study(10, 8)
    full = dz.diagnose(d, n_sims=60, seed=7)
    par = dz.diagnose(d, n_sims=60, seed=7, n_jobs=2, chunk_size=7)
    pd.testing.assert_frame_equal(full.table, par.table)
    pd.testing.assert_frame_equal(full.simulations, par.simulations)
    ck = tmp_path / "diag.csv"
    dz.diagnose(d, n_sims=60, seed=7, checkpoint=ck, chunk_size=10)
    # interrupt: keep 3 whole chunks and half of the next simulation (the header, then one
    # line per simulation and estimator)
    lines = ck.read_bytes().splitlines(keepends=True)
    ck.write_bytes(b"".join(lines[:1 + 2 * 30 + 1]))
    resumed = dz.diagnose(d, n_sims=60, seed=7, checkpoint=ck, chunk_size=10)
    pd.testing.assert_frame_equal(full.table, resumed.table)
    assert len(pd.read_csv(ck)) == 120          # every simulation once, nothing duplicated
    again = dz.diagnose(d, n_sims=60, seed=7, checkpoint=ck)   # nothing left to run
    pd.testing.assert_frame_equal(full.table, again.table)


def test_errors_are_named(tmp_path):
    d = dz.rater_study(5, 5)
    bad = dz.Design(d.population, (dz.Estimator("mean", "kappa", lambda x: float(x.mean())),))
    with pytest.raises(RiskevalError, match="targets 'kappa'"):
        dz.diagnose(bad, n_sims=3, seed=1)
    ck = tmp_path / "other.csv"
    ck.write_text("a,b\n1,2\n")
    with pytest.raises(RiskevalError, match="no record of its design and seed"):
        dz.diagnose(d, n_sims=3, seed=1, checkpoint=ck)
    with pytest.raises(RiskevalError, match="n_sims"):
        dz.diagnose(d, n_sims=1, seed=1)
    with pytest.raises(RiskevalError, match="rater_share"):
        dz.rater_study(5, 5, icc=0.9, rater_share=0.2)


def test_simulated_width_matches_bonetts_sample_size_formula():
    """Bonett (2002), Statistics in Medicine 21:1331: rho = 0.6, k = 3 raters, width 0.2
    needs n = 101 cases (8 z^2 (1 - rho)^2 (1 + 2 rho)^2 / (6 w^2) + 1 = 100.2)."""
    n = dz.bonett_n(0.6, 3, 0.2)
    assert n == 101
    res = dz.diagnose(dz.rater_study(3, n, icc=0.6, rater_share=0.0), n_sims=300, seed=3)
    row = res.table.set_index("estimator").loc["ICC(2,1)"]
    assert row["width"] == pytest.approx(0.2, rel=0.05)
    assert 0.92 <= row["coverage"] <= 0.98
    found = dz.sample_size(lambda m: dz.rater_study(3, m, icc=0.6, rater_share=0.0),
                           [40, 70, 100, 130], estimator="ICC(2,1)", diagnosand="width",
                           target=0.2, n_sims=150, seed=3)
    curve, best = found.curve, found.smallest
    assert found.estimate == best and found.to_frame().equals(curve)
    assert best == 100 and curve["width"].is_monotonic_decreasing
    # Bonett's n for a narrower interval grows as 1 / width^2
    assert dz.bonett_n(0.6, 3, 0.1) == pytest.approx(4 * (n - 1), abs=2)


def test_dask_backend_on_a_local_cluster_gives_the_local_table(tmp_path):
    # the test extra installs dask; outside CI a missing install skips, in CI it fails
    distributed = (importlib.import_module("distributed") if os.environ.get("CI")
                   else pytest.importorskip("distributed"))
    d = dz.rater_study(10, 8)
    local = dz.diagnose(d, n_sims=40, seed=11, chunk_size=7)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = dz.diagnose(d, n_sims=40, seed=11, chunk_size=7, backend="dask",
                             client=client, checkpoint=tmp_path / "ck.csv")
    pd.testing.assert_frame_equal(local.table, remote.table)
    pd.testing.assert_frame_equal(local.simulations, remote.simulations)
    with pytest.raises(RiskevalError, match="backend='spark'"):
        dz.diagnose(d, n_sims=3, seed=1, backend="spark")


def test_simulated_power_matches_walter_eliasziw_donner():
    """Walter, Eliasziw & Donner (1998), Statistics in Medicine 17:101: cases needed to show
    ICC > 0.4 when it is 0.6, k = 3, one-sided 5%, 80% power."""
    from scipy import stats

    rho0, rho1, k = 0.4, 0.6, 3
    n = dz.walter_n(rho0, rho1, k)
    theta0 = rho0 / (1 - rho0)
    assert n == math.ceil(1 + 2 * (1.6449 + 0.8416) ** 2 * 3
                          / (np.log((1 + 3 * theta0) / (1 + 3 * 1.5)) ** 2 * 2))

    def f_test(x: np.ndarray) -> dict[str, float]:
        """Exact one-way F test of ICC(1) = rho0 (written here, independently of the package)."""
        m, kk = x.shape
        means = x.mean(axis=1)
        msb = kk * ((means - x.mean()) ** 2).sum() / (m - 1)
        msw = ((x - means[:, None]) ** 2).sum() / (m * (kk - 1))
        f = msb / msw / (1 + kk * theta0)
        return {"estimate": (msb - msw) / (msb + (kk - 1) * msw),
                "p": float(stats.f.sf(f, m - 1, m * (kk - 1)))}

    base = dz.rater_study(k, n, icc=rho1, rater_share=0.0)
    d = dz.Design(base.population, (dz.Estimator("F test", "icc", f_test),))
    res = dz.diagnose(d, n_sims=600, seed=5, alpha=0.05)
    power = res.table.loc[0, "power"]
    assert abs(power - 0.8) < 3 * res.table.loc[0, "power_mcse"] + 0.02, power


def test_seed_objects_are_not_consumed_and_checkpoints_know_their_design(tmp_path):
    d = dz.rater_study(6, 6)
    ss = np.random.SeedSequence(1)
    a = dz.diagnose(d, n_sims=10, seed=ss)
    b = dz.diagnose(d, n_sims=10, seed=ss)
    pd.testing.assert_frame_equal(a.table, b.table)
    ck = tmp_path / "ck.csv"
    big = dz.diagnose(d, n_sims=20, seed=1, checkpoint=ck)
    small = dz.diagnose(d, n_sims=10, seed=1, checkpoint=ck)
    assert small.table["n_sims"].eq(10).all()
    pd.testing.assert_frame_equal(small.table, dz.diagnose(d, n_sims=10, seed=1).table)
    assert big.table["n_sims"].eq(20).all()
    with pytest.raises(RiskevalError, match="another design or seed"):
        dz.diagnose(dz.rater_study(6, 9), n_sims=10, seed=1, checkpoint=ck)
    with pytest.raises(RiskevalError, match="another design or seed"):
        dz.diagnose(d, n_sims=10, seed=2, checkpoint=ck)


# -- issue 16: one seed rule and the result protocol ------------------------------------------

def _draws(seed: np.random.SeedSequence) -> tuple[np.ndarray, dict[str, float]]:
    return np.random.default_rng(seed).normal(size=20), {"mu": 0.0}


def _noisy_mean(x: np.ndarray, seed: object = None) -> dict[str, float]:
    """An estimator that draws random numbers of its own (as a bootstrap does)."""
    jitter = float(np.random.default_rng(seed).normal(scale=1e-3))
    return {"estimate": float(np.mean(x)) + jitter}


def _seed_design() -> dz.Design:
    return dz.Design(_draws, (dz.Estimator("mean", "mu", lambda x: float(np.mean(x))),
                              dz.Estimator("noisy mean", "mu", _noisy_mean),
                              dz.Estimator("noisy mean again", "mu", _noisy_mean)),
                     name="draws")


def test_diagnose_takes_every_kind_of_seed_and_gives_estimators_their_own():
    design = _seed_design()
    assert [e.takes_seed for e in design.estimators] == [False, True, True]
    by_int = dz.diagnose(design, n_sims=6, seed=5)
    by_ss = dz.diagnose(design, n_sims=6, seed=np.random.SeedSequence(5))
    pd.testing.assert_frame_equal(by_int.simulations, by_ss.simulations)
    # a Generator is accepted (numpy raised a bare TypeError before)
    by_gen = dz.diagnose(design, n_sims=6, seed=np.random.default_rng(1))
    again = dz.diagnose(design, n_sims=6, seed=np.random.default_rng(1))
    pd.testing.assert_frame_equal(by_gen.simulations, again.simulations)
    with pytest.raises(RiskevalError, match="seed"):
        dz.diagnose(design, n_sims=6, seed=-1)
    # each estimator has its own stream in each simulation: the jitters all differ
    s = by_int.simulations.pivot(index="sim", columns="estimator", values="estimate")
    jitter = s[["noisy mean", "noisy mean again"]].sub(s["mean"], axis=0)
    assert jitter.abs().gt(0).all().all()
    assert not np.allclose(jitter["noisy mean"], jitter["noisy mean again"])
    assert jitter["noisy mean"].nunique() == 6
    # ... and the same streams whatever n_jobs
    par = dz.diagnose(design, n_sims=6, seed=5, n_jobs=2, chunk_size=2)
    pd.testing.assert_frame_equal(by_int.simulations, par.simulations)


def test_diagnosis_design_and_estimator_follow_the_result_protocol():
    tested = dz.rater_study(6, 12, icc=0.6, null_icc=0.3)
    res = dz.diagnose(tested, n_sims=5, seed=3, alpha=0.1)
    pd.testing.assert_frame_equal(res.to_frame(), res.table)
    text = res.summary()
    lines = text.splitlines()
    assert lines[0] == "6 officers x 12 vignettes: 5 simulated studies"
    assert lines[1].startswith("  ICC(2,1): bias ") and "to show ICC > 0.3" in lines[1]
    assert "coverage" in lines[2] and "power" not in lines[2]   # alpha has no test
    assert "<table" in res._repr_html_()
    plain = dz.diagnose(_seed_design(), n_sims=3, seed=1)
    assert plain.summary().splitlines()[1].startswith("  mean: bias ")
    assert tested.to_frame()["estimand"].tolist() == ["icc", "alpha"]
    assert tested.summary().startswith("design '6 officers x 12 vignettes' (n_raters=6")
    assert tested.estimators[0].to_frame()["takes_seed"].tolist() == [False]


def test_diagnosis_summary_is_the_text_of_riskeval_diagnose():
    """The lines ``riskeval diagnose`` prints, built here as the command built them."""
    res = dz.diagnose(dz.skills_trial(n_officers=8, supervisees_per_officer=5, n_boot=20,
                                      n_perm=19), n_sims=3, seed=2)
    expected = [f"{res.design}: 3 simulated studies"]
    for _, r in res.table.iterrows():
        parts = [f"  {r['estimator']}:"]
        if math.isfinite(r["bias"]):
            parts.append(f"bias {r['bias']:+.4f} (MC SE {r['bias_mcse']:.4f}),")
        if math.isfinite(r["coverage"]):
            parts.append(f"coverage {100 * r['coverage']:.1f}%,")
        if math.isfinite(r["width"]):
            parts.append(f"mean CI width {r['width']:.3f}")
        if math.isfinite(r["power"]):
            parts.append(f", power {100 * r['power']:.1f}% (p < 0.05)")
        expected.append(" ".join(parts).replace(" ,", ","))
    assert res.summary() == "\n".join(expected)


def test_sample_size_returns_a_result():
    found = dz.sample_size(lambda m: dz.rater_study(3, m, icc=0.6, rater_share=0.0), [5, 40],
                           estimator="ICC(2,1)", diagnosand="width", target=0.01, n_sims=3,
                           seed=1)
    assert found.smallest is None and found.estimate is None
    assert found.summary().startswith("smallest size with width <= 0.01: none of the sizes")
    assert list(found.to_frame().columns) == ["size", "width", "width_mcse"]
