"""The fast paths of the crossed LMM give the numbers of the direct computation.

``Profiled`` groups the largest factor's levels by their number of ratings (one Gram matrix
per distinct count instead of a q_r x q_b product per evaluation) and merges levels with
identical rows of counts; ``grouping_factors`` combines integer codes instead of factorizing
a MultiIndex. Each is compared here with the direct route on random designs, and the kernel
with a dense computation of the lme4 deviance on small ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval.variation import _fit, _lmm
from riskeval.variation._boundary import minimize_nonneg
from riskeval.variation._lmm import Profiled, sufficient_stats


def _design(kind: str, seed: int, office: bool, p: int = 1
            ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[int]]:
    """(y, X, codes, levels) of a case x officer(-in-office) design; factor order as
    crossed_lmm: case, officer[, office]."""
    rng = np.random.default_rng(seed)
    if kind == "tiny":
        n_off, per, n_case = (3, 1, 2) if office else (1, 3, 2)
    else:
        n_off = int(rng.integers(2, 6)) if office else 1
        per = int(rng.integers(2, 7))
        n_case = int(rng.integers(3, 25))
    n_officer = n_off * per
    off_of = np.repeat(np.arange(n_off), per)
    cases, officers = np.meshgrid(np.arange(n_case), np.arange(n_officer), indexing="ij")
    cases, officers = cases.ravel(), officers.ravel()
    if kind == "few_counts":    # officer b rates the first k_b cases, k_b from a few values
        k = rng.choice([max(1, n_case // 3), max(1, n_case // 2), n_case], n_officer)
        keep = cases < k[officers]
        cases, officers = cases[keep], officers[keep]
    elif kind == "sparse":      # random pairs, every level kept
        keep = rng.random(len(cases)) < 0.35
        keep[np.unique(cases, return_index=True)[1]] = True
        keep[np.unique(officers, return_index=True)[1]] = True
        cases, officers = cases[keep], officers[keep]
    elif kind == "repeats":     # some pairs rated twice
        extra = rng.random(len(cases)) < 0.3
        cases = np.concatenate([cases, cases[extra]])
        officers = np.concatenate([officers, officers[extra]])
    n = len(cases)
    codes = [cases, officers] + ([off_of[officers]] if office else [])
    levels = [n_case, n_officer] + ([n_off] if office else [])
    effects = sum(rng.normal(0, 0.7, q)[c] for c, q in zip(codes, levels, strict=True))
    X = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in range(p - 1)])
    y = 2.5 + effects + rng.normal(0, 0.6, n) + (X[:, 1:] @ np.full(p - 1, 0.3) if p > 1 else 0)
    return y, X, codes, levels


KINDS = ["balanced", "few_counts", "sparse", "repeats", "tiny"]
CASES = [(kind, seed, office) for kind in KINDS for seed in range(4) for office in (True, False)]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    scale = max(float(np.max(np.abs(a))), 1e-12)
    return float(np.max(np.abs(a - b))) / scale


def _thetas(k: int, rng: np.random.Generator) -> list[np.ndarray]:
    some_zero = rng.uniform(0.1, 2, k)
    some_zero[rng.integers(0, k)] = 0.0
    big_zero = rng.uniform(0.1, 2, k)
    big_zero[1] = 0.0                      # the officer (usually the largest factor) at zero
    return [rng.uniform(0.05, 2.5, k), np.zeros(k), some_zero, big_zero]


@pytest.mark.parametrize(("kind", "seed", "office"), CASES)
def test_grouped_equals_direct(kind: str, seed: int, office: bool) -> None:
    y, X, codes, levels = _design(kind, seed, office, p=1 + seed % 2)
    st = sufficient_stats(y, X, codes, levels)
    rng = np.random.default_rng(100 + seed)
    for reml in (True, False):
        direct = Profiled(st, reml, grouped=False, distinct_rows=False)
        assert not direct.grouped and direct.row_of is None
        variants = [Profiled(st, reml, grouped=g, distinct_rows=r)
                    for g, r in ((True, False), (True, None), (False, None))]
        assert variants[0].grouped
        for theta in _thetas(len(levels), rng):
            ref = direct.solve(theta, gradient=True)
            ref_var = np.concatenate(direct.minv_diag(theta))
            for prof in variants:
                sol = prof.solve(theta, gradient=True)
                assert sol.deviance == pytest.approx(ref.deviance, rel=1e-11)
                assert sol.r2 == pytest.approx(ref.r2, rel=1e-10)
                assert _rel(ref.gradient, sol.gradient) < 1e-9
                assert _rel(ref.beta, sol.beta) < 1e-10
                assert _rel(ref.u, sol.u) < 1e-9
                assert _rel(ref_var, np.concatenate(prof.minv_diag(theta))) < 1e-10


def _dense_deviance(y: np.ndarray, X: np.ndarray, codes: list[np.ndarray],
                    levels: list[int], theta: np.ndarray, reml: bool
                    ) -> tuple[float, np.ndarray, np.ndarray]:
    """lme4's profiled deviance from the dense model matrices (Bates et al. 2015, 3.2-3.4)."""
    n, p = X.shape
    Z = np.hstack([np.eye(q)[c] for c, q in zip(codes, levels, strict=True)])
    lam = np.concatenate([np.full(q, t) for q, t in zip(levels, theta, strict=True)])
    zl = Z * lam
    q = zl.shape[1]
    # the penalised least-squares problem [Z Lambda, X; I, 0] (u, beta) ~ (y, 0)
    big = np.block([[zl, X], [np.eye(q), np.zeros((q, p))]])
    sol = np.linalg.lstsq(big, np.concatenate([y, np.zeros(q)]), rcond=None)[0]
    u, beta = sol[:q], sol[q:]
    r2 = float(np.sum((y - zl @ u - X @ beta) ** 2) + u @ u)
    m = zl.T @ zl + np.eye(q)
    logdet_l = np.linalg.slogdet(m)[1]
    if reml:
        rx = X.T @ X - X.T @ zl @ np.linalg.solve(m, zl.T @ X)
        dev = logdet_l + np.linalg.slogdet(rx)[1] + (n - p) * (
            1 + np.log(2 * np.pi * r2 / (n - p)))
    else:
        dev = logdet_l + n * (1 + np.log(2 * np.pi * r2 / n))
    return float(dev), beta, u


@pytest.mark.parametrize(("kind", "seed"), [(k, s) for k in KINDS for s in range(2)])
def test_kernel_matches_dense_computation(kind: str, seed: int) -> None:
    y, X, codes, levels = _design(kind, seed, office=True, p=2)
    st = sufficient_stats(y, X, codes, levels)
    rng = np.random.default_rng(seed)
    for reml in (True, False):
        prof = Profiled(st, reml)
        for theta in _thetas(len(levels), rng):
            dev, beta, u = _dense_deviance(y, X, codes, levels, theta, reml)
            sol = prof.solve(theta)
            assert sol.deviance == pytest.approx(dev, rel=1e-10)
            np.testing.assert_allclose(sol.beta, beta, rtol=1e-8, atol=1e-10)
            # u in the factors' order (the kernel stacks the largest factor first)
            np.testing.assert_allclose(np.concatenate(prof.unstack(sol.u)), u, rtol=1e-7,
                                       atol=1e-9)


def test_gradient_matches_finite_differences_on_grouped_path() -> None:
    y, X, codes, levels = _design("few_counts", 7, office=True, p=2)
    st = sufficient_stats(y, X, codes, levels)
    for reml in (True, False):
        prof = Profiled(st, reml, grouped=True)
        theta = np.array([0.8, 0.6, 0.4])
        grad = prof.solve(theta, gradient=True).gradient
        h = 1e-6
        num = [(prof.deviance(theta + h * e) - prof.deviance(theta - h * e)) / (2 * h)
               for e in np.eye(3)]
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-5)


def test_path_chosen_from_the_counts() -> None:
    y, X, codes, levels = _design("balanced", 1, office=True)
    prof = Profiled(sufficient_stats(y, X, codes, levels), True)
    assert prof.grouped                       # one count shared by every officer
    assert prof.row_of is not None            # officers of one office have one row of counts
    # every officer with a different number of ratings: the direct product
    rng = np.random.default_rng(3)
    officers = np.concatenate([np.full(k + 1, k) for k in range(40)])
    cases = rng.integers(0, 8, len(officers))
    cases[:8] = np.arange(8)
    st = sufficient_stats(rng.normal(size=len(officers)), np.ones((len(officers), 1)),
                          [cases, officers], [8, 40])
    prof = Profiled(st, True)
    assert not prof.grouped and prof.row_of is None
    sol = prof.solve(np.array([0.5, 0.7]), gradient=True)
    assert np.isfinite(sol.deviance) and np.all(np.isfinite(sol.gradient))


def test_solutions_are_kept_and_read_only() -> None:
    y, X, codes, levels = _design("balanced", 2, office=True)
    prof = Profiled(sufficient_stats(y, X, codes, levels), True)
    theta = np.array([0.9, 0.4, 0.3])
    plain = prof.solve(theta)
    full = prof.solve(theta, gradient=True)
    assert plain.gradient is None and full.gradient is not None
    assert prof.solve(theta.copy()) is full                  # a gradient solution serves both
    assert prof.solve(theta, gradient=True) is full
    with pytest.raises(ValueError):
        full.u[0] = 1.0
    fresh = Profiled(prof.s, True).solve(theta, gradient=True)
    assert fresh.deviance == full.deviance
    np.testing.assert_array_equal(fresh.gradient, full.gradient)


def _frame(kind: str, seed: int) -> pd.DataFrame:
    y, _, codes, _ = _design(kind, seed, office=True)
    return pd.DataFrame({"score": y, "case": [f"V{c:03d}" for c in codes[0]],
                         "officer": [f"O{c // 10}-{c % 10}" for c in codes[1]],
                         "office": [f"Office {c}" for c in codes[2]]})


@pytest.mark.parametrize(("kind", "seed", "ci", "office"), [
    ("balanced", 11, "profile", True), ("few_counts", 12, "wald", True),
    ("sparse", 13, "wald", True), ("repeats", 14, "profile", True),
    ("balanced", 22, "wald", True), ("sparse", 20, "wald", True),
    ("balanced", 15, "profile", False), ("few_counts", 16, "wald", False),
    ("tiny", 17, None, False)])  # (tiny with offices has one officer per office: refused)
def test_whole_fit_grouped_equals_direct(monkeypatch: pytest.MonkeyPatch, kind: str,
                                         seed: int, ci: str | None, office: bool) -> None:
    d = _frame(kind, seed)
    if not office:
        d["officer"] = d["office"] + "/" + d["officer"]
    fits = []
    for grouped, rows in ((True, None), (False, False)):
        monkeypatch.setattr(_lmm, "_GROUPED", grouped)
        monkeypatch.setattr(_lmm, "_DISTINCT_ROWS", rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(rv.variation.crossed_lmm(d, rating="score", case="case",
                                                 rater="officer", ci=ci,
                                                 office="office" if office else None))
    a, b = fits
    # The deviance and its gradient agree to rounding (test_grouped_equals_direct), so the
    # log-likelihood does; the point the optimiser stops at depends on that rounding in its
    # last step (it stops once the deviance changes by less than 1e-15 of itself), which
    # moves the estimates by up to about 1e-7 (the original kernel moves as much when the
    # data's rows are permuted).
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-5, atol=1e-9)
    pd.testing.assert_frame_equal(a.fixed_effects, b.fixed_effects, rtol=1e-5)
    for name in a.random_effects:
        pd.testing.assert_frame_equal(a.random_effects[name], b.random_effects[name],
                                      rtol=1e-5, atol=1e-6)


def _old_pairs(frame: pd.DataFrame, outer: str, inner: str) -> tuple[np.ndarray, pd.Index]:
    codes, levels = pd.factorize(pd.MultiIndex.from_arrays([frame[outer], frame[inner]]),
                                 sort=True)
    return codes, pd.MultiIndex.from_tuples(list(levels), names=[outer, inner])


def _columns(n: int, rng: np.random.Generator):
    o, r = rng.integers(0, 5, n), rng.integers(0, 7, n)
    on = np.array(["b", "a", "Office 10", "Office 2", "é"])
    rn = np.array(["x", "y1", "Y", "10", "9", "z", ""])
    yield pd.Series(on[o]), pd.Series(rn[r])
    yield pd.Series(on[o], dtype=object), pd.Series(rn[r], dtype=object)
    yield pd.Series(o * 3 - 4), pd.Series(r * 1.5)
    yield (pd.Series(pd.Categorical(on[o], categories=list(on[::-1]))),
           pd.Series(pd.Categorical(rn[r], categories=list(rn), ordered=True)))
    yield pd.Series(pd.Categorical(o, categories=[4, 3, 2, 1, 0])), pd.Series(r)
    yield pd.Series(np.where(o > 2, o, on[o]).astype(object)), pd.Series(r)   # mixed types
    yield pd.Series(o > 2), pd.Series(rn[r], dtype="string")
    yield pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(o, "D")), pd.Series(r)


@pytest.mark.parametrize("n", [1, 6, 400])
def test_officer_levels_as_the_multiindex_gave_them(n: int) -> None:
    rng = np.random.default_rng(n)
    for outer, inner in _columns(n, rng):
        frame = pd.DataFrame({"office": outer, "officer": inner})
        codes, levels = _old_pairs(frame, "office", "officer")
        new_codes, pairs = _fit._pair_codes(frame["office"], frame["officer"])
        new_levels = pd.MultiIndex.from_tuples(pairs, names=["office", "officer"])
        np.testing.assert_array_equal(new_codes, codes)
        assert new_codes.dtype == codes.dtype
        assert new_levels.equals(levels) and list(new_levels) == list(levels)
        assert [lv.dtype for lv in new_levels.levels] == [lv.dtype for lv in levels.levels]


def test_grouping_factors_officer_in_office() -> None:
    d = _frame("sparse", 5)
    d["office"] = pd.Categorical(d["office"], categories=sorted(d["office"].unique())[::-1])
    factors = _fit.grouping_factors(d, "case", "officer", "office")
    assert [f[0] for f in factors] == ["case", "officer", "office"]
    codes, levels = _old_pairs(d, "office", "officer")
    np.testing.assert_array_equal(factors[1][1], codes)
    assert factors[1][2].equals(levels) and factors[1][2].names == ["office", "officer"]


def test_settle_stops_a_line_search_in_rounding_noise() -> None:
    # a quadratic of size 3e6 whose value and gradient carry deterministic noise (as the
    # deviance of a million ratings does): L-BFGS-B's line searches near the minimum sample
    # that noise
    def noisy(x: np.ndarray) -> tuple[float, np.ndarray]:
        value = 100 * float(((x - 1.0) ** 2).sum()) + 3e6 + 3e-8 * np.sin(1e13 * x).sum()
        return value, 200 * (x - 1.0) + 2e-5 * np.sin(3e13 * x + 1)

    def clean(x: np.ndarray) -> tuple[float, np.ndarray]:
        return 100 * float(((x - 1.0) ** 2).sum()) + 3e6, 200 * (x - 1.0)

    x0 = np.array([3.0, 0.5])
    bounds = [(0.0, None)] * 2
    opts = {"ftol": 1e-15, "gtol": 1e-9}
    plain = minimize_nonneg(noisy, x0, bounds, jac=True, options=opts)
    settled = minimize_nonneg(noisy, x0, bounds, jac=True, options=opts, settle=(1e-10, 1e-4))
    assert settled.message.startswith("settled")
    assert settled.nfev < plain.nfev
    np.testing.assert_allclose(settled.x, plain.x, atol=1e-6)
    assert settled.fun == pytest.approx(plain.fun, abs=1e-6)
    # without noise the watch never steps in
    a = minimize_nonneg(clean, x0, bounds, jac=True, options=opts)
    b = minimize_nonneg(clean, x0, bounds, jac=True, options=opts, settle=(1e-10, 1e-4))
    np.testing.assert_array_equal(a.x, b.x)
    assert a.nfev == b.nfev and not b.message.startswith("settled")
