"""Ratings held as the ratings given (issue 15, item 9): the same numbers, less memory.

A long table is held as its (case, rater, rating) entries, never as a cases x raters array;
a wide table or array is coded through the same entries. Every coefficient must give the
same estimate, standard error and interval either way, on random sparse designs of every
shape (few cases, few raters, officers who rated nothing, cases nobody rated, one
category, labels, non-integer scores), and the counts must equal an independent
cross-tabulation by pandas.
"""

from __future__ import annotations

import re
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval.agreement.categorical import _Categorical
from riskeval.data import as_ratings

SEEDS = range(40)


def _design(seed: int) -> tuple[np.ndarray, dict]:
    """A random cases x raters array with gaps, and the options it is rated with."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([2, 3, 5, 12, 40]))
    m = int(rng.choice([2, 3, 4, 9]))
    kind = seed % 4
    if kind == 0:
        x = rng.integers(1, 5, (n, m)).astype(float)          # four ordered levels
    elif kind == 1:
        x = rng.integers(0, 2, (n, m)).astype(float)          # binary, many ties
    elif kind == 2:
        x = np.round(rng.normal(10, 3, (n, m)), 1)            # scores: many distinct values
    else:
        x = rng.choice([0.5, 1.5, 2.5], (n, m))               # non-integer levels
    x[rng.random(x.shape) < rng.choice([0.0, 0.2, 0.5])] = np.nan
    # every design keeps two rated cases and two raters with ratings
    x[0, :2] = x[0, :2] if np.isfinite(x[0, :2]).all() else [x.flat[0] if np.isfinite(
        x.flat[0]) else 1.0, 1.0]
    x[1, 0] = 1.0 if np.isnan(x[1, 0]) else x[1, 0]
    return x, {"kind": kind}


def _long(x: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """The long table of ``x`` in shuffled row order, with string ids and a blank rating for
    some unrated pairs (a case or officer may appear only with blanks)."""
    i, j = np.nonzero(np.ones_like(x, dtype=bool))
    frame = pd.DataFrame({"case": [f"c{a}" for a in i], "officer": [f"o{b}" for b in j],
                          "rating": x[i, j]})
    keep = frame["rating"].notna() | (rng.random(len(frame)) < 0.3)
    frame = frame[keep]
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def _same(a: rv.AgreementResult, b: rv.AgreementResult) -> None:
    for got, want in ((a.estimate, b.estimate), (a.se, b.se), (a.ci[0], b.ci[0]),
                      (a.ci[1], b.ci[1])):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, equal_nan=True)
    assert (a.n_cases, a.n_ratings) == (b.n_cases, b.n_ratings)


def _coefficients(kind: int):
    yield "percent", lambda d, **k: rv.percent_agreement(d, **k)
    yield "fleiss", lambda d, **k: rv.fleiss_kappa(d, **k)
    yield "ac2", lambda d, **k: rv.gwet_ac(d, weights="quadratic", **k)
    yield "bp", lambda d, **k: rv.brennan_prediger(d, weights="linear", **k)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        yield f"alpha_{level}", lambda d, lv=level, **k: rv.krippendorff_alpha(d, level=lv, **k)


@pytest.mark.parametrize("seed", SEEDS)
def test_long_and_wide_give_the_same_coefficients(seed: int) -> None:
    x, _ = _design(seed)
    rng = np.random.default_rng(1000 + seed)
    frame = _long(x, rng)
    cols = {"case": "case", "rater": "officer", "rating": "rating"}
    options = [{}, {"resample": "cases+raters"},
               {"ci": "percentile", "n_boot": 200, "seed": seed}]
    # the long table lists cases and officers in first-appearance order; its dense array
    # (built only for the comparison) is the same data as a wide table
    dense = as_ratings(frame, **cols).values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in _coefficients(seed % 4):
            for opts in options:
                if name == "alpha_ratio" and np.nanmin(x) <= 0:
                    continue
                try:
                    want = fn(dense, **opts)
                except rv.RiskevalError as err:
                    with pytest.raises(rv.RiskevalError, match=re.escape(str(err))):
                        fn(frame, **cols, **opts)
                    continue
                _same(fn(frame, **cols, **opts), want)


@pytest.mark.parametrize("seed", SEEDS)
def test_counts_equal_a_pandas_crosstab(seed: int) -> None:
    x, _ = _design(seed)
    frame = _long(x, np.random.default_rng(seed))
    state = _Categorical(frame, "case", "officer", "rating", None, None)
    rated = frame.dropna(subset=["rating"])
    cases = pd.unique(frame["case"])
    levels = np.sort(rated["rating"].unique())

    def table(rows: pd.DataFrame) -> np.ndarray:
        return pd.crosstab(pd.Categorical(rows["case"], categories=cases),
                           pd.Categorical(rows["rating"], categories=levels),
                           dropna=False).to_numpy()
    full = table(rated)
    some = full.sum(axis=1) > 0                          # cases nobody rated carry nothing
    got = state.counts[:, : levels.size]
    np.testing.assert_array_equal(got, full[some])
    assert state.n_ratings == len(rated)
    # leaving one officer out subtracts exactly that officer's ratings
    drop = state.weighted(1.0 - np.eye(state.n_raters))
    for j, officer in enumerate(pd.unique(frame["officer"])):
        mine = table(rated[rated["officer"] == officer])
        np.testing.assert_array_equal(drop[j][:, : levels.size], got - mine[some])


@pytest.mark.parametrize("seed", range(20))
def test_icc_from_the_entries_equals_the_dense_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(4, 30)), int(rng.integers(3, 6))
    x = rng.integers(1, 6, (n, m)).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:3] = rng.integers(1, 6, (3, m))                    # at least three complete cases
    x[:, -1] = np.nan if seed % 3 == 0 else x[:, -1]    # an officer who rated nothing
    frame = _long(x, rng)
    wide = as_ratings(frame, "case", "officer", "rating")
    # listwise deletion by pandas: officers who rated something, cases they all rated
    table = pd.DataFrame(wide.values).dropna(axis=1, how="all")
    rated = table.notna().any(axis=1)
    complete = table.dropna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = rv.icc(frame, "case", "officer", "rating")
        want = rv.icc(complete.to_numpy())
    pd.testing.assert_frame_equal(got.table, want.table)
    assert (got.n_cases, got.n_raters) == complete.shape
    assert got.n_dropped == int(rated.sum()) - len(complete)


def test_labels_and_a_single_category() -> None:
    frame = pd.DataFrame({"case": [1, 1, 2, 2, 3], "officer": ["a", "b", "a", "b", "c"],
                          "rating": ["high", "low", "high", "high", "low"]})
    wide = as_ratings(frame, "case", "officer", "rating", categories="low,high")
    assert wide.coded_entries()[3] == ("low", "high")
    np.testing.assert_array_equal(wide.values, [[2, 1, np.nan], [2, 2, np.nan],
                                                [np.nan, np.nan, 1]])
    a = rv.krippendorff_alpha(frame, "case", "officer", "rating", categories="low,high")
    b = rv.krippendorff_alpha(wide.values, categories=[1, 2])
    assert a.estimate == pytest.approx(b.estimate, abs=1e-12)
    one = frame.assign(rating="low")
    assert rv.percent_agreement(one, "case", "officer", "rating").estimate == 1.0


def test_a_value_outside_the_categories_names_case_and_officer() -> None:
    frame = pd.DataFrame({"case": [1, 1, 2, 2], "officer": ["a", "b", "a", "b"],
                          "rating": [1.0, 2.0, 3.0, 7.0]})
    with pytest.raises(rv.RiskevalError, match=r"rating 7\.0 \(case 1, rater 1\)"):
        rv.fleiss_kappa(frame["rating"].to_numpy().reshape(2, 2), categories=[1, 2, 3])
    wide = rv.to_wide(frame.assign(rating=frame["rating"].astype(float)), case="case",
                      rater="officer", rating="rating")
    object.__setattr__(wide, "categories", (1, 2, 3))   # declared after the fact
    with pytest.raises(rv.RiskevalError, match=r"rating 7\.0 \(case 2, rater 'b'\)"):
        wide.coded_entries()


def test_memory_grows_with_the_ratings_not_cases_times_officers() -> None:
    """40,000 cases rated twice by officers drawn from 20,000: a cases x officers array
    would take 6.4 GB; the coefficients must stay within 200 MB of traced allocations."""
    rng = np.random.default_rng(3)
    n, m = 40_000, 20_000
    first = rng.integers(0, m, n)
    second = (first + rng.integers(1, m, n)) % m
    latent = rng.normal(0, 1, (n, 1)) + rng.normal(0, 0.7, (n, 2))
    levels = np.digitize(latent, [-0.8, 0.3, 1.2]) + 1
    frame = pd.DataFrame({"case": np.repeat(np.arange(n), 2),
                          "officer": np.stack([first, second], axis=1).ravel(),
                          "rating": levels.ravel()})
    tracemalloc.start()
    try:
        alpha = rv.krippendorff_alpha(frame, "case", "officer", "rating", level="ordinal")
        kappa = rv.fleiss_kappa(frame, "case", "officer", "rating")
        interval = rv.krippendorff_alpha(frame, "case", "officer", "rating", level="interval")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, f"peak traced memory {peak / 2**20:.0f} MB"
    # the coefficients are right too: two officers a case, as a two-column table
    pairs = levels.astype(float)
    np.testing.assert_allclose(alpha.estimate, rv.krippendorff_alpha(
        pairs, level="ordinal").estimate, rtol=1e-12)
    np.testing.assert_allclose(kappa.estimate, rv.fleiss_kappa(pairs).estimate, rtol=1e-12)
    np.testing.assert_allclose(interval.estimate, rv.krippendorff_alpha(
        pairs, level="interval").estimate, rtol=1e-12)


def _kernels(x: np.ndarray):
    """Every statistic with its own deletions, on the table ``x``."""
    from riskeval.agreement.categorical import _Alpha, _IntervalAlpha

    state = _Categorical(x, None, None, None, None, "quadratic")
    for kind in ("percent", "fleiss", "gwet", "bp"):
        yield kind, state.stat(kind)
    for level in ("nominal", "ordinal", "interval"):
        yield f"alpha_{level}", _Alpha(state, level)
    yield "alpha_scores", _IntervalAlpha(as_ratings(x))


@pytest.mark.parametrize("seed", range(30))
def test_deletions_from_sums_equal_the_batched_weights(seed: int) -> None:
    """Leaving out a case, a rater, or both, from per-case sums gives what the batched
    statistic gives with rows of ``1 - I`` as weights (the two-way jackknife's inputs)."""
    from riskeval.agreement._kernel import both_deleted, deleted
    from riskeval.agreement._twoway import twoway_jackknife

    x, _ = _design(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, stat in _kernels(x):
            n, m = stat.data.n_cases, stat.data.n_raters

            def plain(U, V, s=stat):          # the same statistic without its deletions
                return s(U, V)
            with np.errstate(invalid="ignore", divide="ignore"):
                pairs = [(stat.case_deleted(), deleted(plain, n, m, cases=True)),
                         (stat.rater_deleted(), deleted(plain, n, m, cases=False)),
                         (stat.both_deleted(), both_deleted(plain, n, m))]
            for fast, slow in pairs:
                np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-10, equal_nan=True,
                                           err_msg=name)
            est = float(stat(np.ones((1, n)), None)[0])
            fast = twoway_jackknife(stat, n, m, est)
            slow = twoway_jackknife(plain, n, m, est)
            for key in fast:
                np.testing.assert_allclose(fast[key], slow[key], rtol=1e-8, atol=1e-12,
                                           equal_nan=True, err_msg=f"{name} {key}")


@pytest.mark.parametrize("resample", ["cases", "cases+raters"])
def test_bootstrap_draws_do_not_depend_on_the_chunk_size(resample: str, monkeypatch) -> None:
    """The resamples are those of one multinomial draw for the cases and then one for the
    raters, however many are evaluated at once."""
    from riskeval.agreement import _bootstrap

    rng = np.random.default_rng(7)
    x = rng.integers(1, 5, (25, 6)).astype(float)
    x[rng.random(x.shape) < 0.3] = np.nan
    state = _Categorical(x, None, None, None, None, None)
    stat = state.stat("fleiss")
    n, m = state.n_cases, state.n_raters
    draw = np.random.default_rng(11)
    U = draw.multinomial(n, np.full(n, 1 / n), size=300).astype(float)
    V = (draw.multinomial(m, np.full(m, 1 / m), size=300).astype(float)
         if resample == "cases+raters" else None)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = stat(U, V)
    want = np.quantile(theta[np.isfinite(theta)], [0.025, 0.975])
    for cells in (4_000_000, 700):                     # one chunk, then many small ones
        monkeypatch.setattr(_bootstrap, "_CHUNK_CELLS", cells)
        got = _bootstrap.bootstrap_interval(stat, 0.5, n, m, n_boot=300, seed=11,
                                            resample=resample, width=stat.cells)
        np.testing.assert_allclose(got.ci, want, rtol=1e-12)
    after = np.random.default_rng(11)                  # the caller's generator moves on
    _bootstrap.bootstrap_interval(stat, 0.5, n, m, n_boot=300, seed=after,
                                  resample=resample, width=stat.cells)
    assert after.integers(1 << 30) == draw.integers(1 << 30)


def test_officer_intervals_stay_within_the_ratings_memory() -> None:
    """The two-way jackknife and the bootstrap on 20,000 double-assessed cases from 10,000
    officers: no cases x cases or cases x officers array (which would take 3.2 and 1.6 GB)."""
    rng = np.random.default_rng(5)
    n, m = 20_000, 10_000
    first = rng.integers(0, m, n)
    second = (first + rng.integers(1, m, n)) % m
    levels = np.digitize(rng.normal(0, 1, (n, 1)) + rng.normal(0, 0.7, (n, 2)),
                         [-0.8, 0.3, 1.2]) + 1
    frame = pd.DataFrame({"case": np.repeat(np.arange(n), 2),
                          "officer": np.stack([first, second], axis=1).ravel(),
                          "rating": levels.ravel()})
    cols = {"case": "case", "rater": "officer", "rating": "rating"}
    tracemalloc.start()
    try:
        twoway = rv.krippendorff_alpha(frame, **cols, level="ordinal", resample="cases+raters")
        boot = rv.fleiss_kappa(frame, **cols, ci="bca", n_boot=200, seed=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, f"peak traced memory {peak / 2**20:.0f} MB"
    assert twoway.ci[0] < twoway.estimate < twoway.ci[1]
    assert boot.ci[0] < boot.estimate < boot.ci[1]
    # officers like these add uncertainty: wider than the interval for these officers
    these = rv.krippendorff_alpha(frame, **cols, level="ordinal")
    assert twoway.ci[1] - twoway.ci[0] > these.ci[1] - these.ci[0]
