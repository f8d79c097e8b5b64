"""Correlated officer random slopes in the ordinal (cumulative link) mixed model.

Reference values: ``tests/fixtures/clmm_slopes_results.json``, written by
``tests/fixtures/clmm_slopes_fixtures.R`` (R's ``ordinal::clmm``, version recorded in the file,
Laplace approximation ``nAGQ = 1``) on the data of ``tests/fixtures/clmm_slopes_make_data.py``
(CSV files ``clmm_slopes_*.csv``); each entry carries its exact ``clmm`` call. The other checks
need no R: the Laplace deviance against a dense computation written here, and the optimum
against Nelder-Mead on the same objective.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import linalg, optimize, special
from threadpoolctl import threadpool_limits

from riskeval import RiskevalError
from riskeval.errors import RiskevalTypeError, RiskevalWarning
from riskeval.variation import _ordinal, ordinal_mixed
from riskeval.variation._ordinal import (
    Design,
    Laplace,
    LaplaceSlopes,
    SlopeDesign,
    fit_slopes,
    tril_index,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLMM = json.loads((FIXTURES / "clmm_slopes_results.json").read_text())


def _fit_entry(entry: dict):
    data = pd.read_csv(FIXTURES / entry["data"])
    slopes = ["x", "x2"] if "x2" in entry["formula"] else "x"
    return data, ordinal_mixed(data, rating="level", case="case", rater="officer",
                               office="office" if "office" in data else None, slopes=slopes,
                               link=entry["link"])


@pytest.fixture(scope="module")
def fits() -> dict:
    return {(e["data"], e["link"]): _fit_entry(e)[1] for e in CLMM["fits"]}


@pytest.mark.parametrize("entry", CLMM["fits"], ids=lambda e: f"{e['data']}:{e['link']}")
def test_matches_clmm(entry, fits):
    fit = fits[(entry["data"], entry["link"])]
    assert fit.n_obs == entry["nobs"]
    assert fit.converged
    # never below clmm's optimum, and the same optimum
    assert fit.loglik >= entry["loglik"] - 1e-6 * abs(entry["loglik"])
    assert fit.loglik == pytest.approx(entry["loglik"], abs=1e-4)
    for name, value in entry["sd"].items():
        if value < 0.01:
            # an SD this near zero sits where the log-likelihood is flat to 1e-8: clmm stops
            # (gradient ~1e-3) anywhere in that neighbourhood, and so may we; both are in it
            assert fit.sd.loc[name, "estimate"] < 0.01, name
            continue
        assert fit.sd.loc[name, "estimate"] == pytest.approx(value, rel=1e-3, abs=1e-4), name
    for name, value in entry["cor"].items():
        assert fit.correlations.loc[name, "estimate"] == pytest.approx(
            value, rel=1e-3, abs=1e-4), name
    for name, value in entry["estimate"].items():
        table = fit.thresholds if "|" in name else fit.fixed_effects
        assert table.loc[name, "estimate"] == pytest.approx(value, rel=1e-3, abs=1e-4), name
        if np.isfinite(entry["se"][name] or np.nan):
            assert table.loc[name, "se"] == pytest.approx(entry["se"][name], rel=2e-2), name
    # conditional modes of the officers' intercepts and slopes
    modes = entry["officer_modes"]
    ours = fit.random_effects["officer"]
    labels = ours.index.get_level_values(-1) if ours.index.nlevels > 1 else ours.index
    ours = ours.set_axis(labels).loc[modes["officer"]]
    np.testing.assert_allclose(ours["(Intercept)"], modes["intercept"], atol=2e-3)
    np.testing.assert_allclose(ours["x"], modes["slope"], atol=2e-3)


def test_boundary_notes(fits):
    balanced = fits[("clmm_slopes_balanced.csv", "probit")]
    assert balanced.correlations.loc["officer~officer:x", "estimate"] == pytest.approx(1, abs=1e-4)
    assert any("officer~officer:x is on the boundary" in n for n in balanced.notes)
    assert np.isnan(balanced.correlations.loc["officer~officer:x", "se"])
    unbalanced = fits[("clmm_slopes_unbalanced.csv", "probit")]
    assert unbalanced.sd.loc["office", "estimate"] < 1e-4
    assert any("office SD is on the boundary" in n for n in unbalanced.notes)
    interior = fits[("clmm_slopes_strong_corr.csv", "probit")]
    assert not interior.notes
    assert np.isfinite(interior.sd["se"]).all() and np.isfinite(interior.correlations["se"]).all()


def test_result_layout(fits):
    fit = fits[("clmm_slopes_two_slopes.csv", "probit")]
    assert fit.sd.index.tolist() == ["case", "officer", "officer:x", "officer:x2", "office"]
    assert fit.correlations.index.tolist() == ["officer~officer:x", "officer~officer:x2",
                                               "officer:x~officer:x2"]
    assert fit.fixed_effects.index.tolist() == ["x", "x2"]
    assert fit.random_effects["officer"].columns.tolist() == ["(Intercept)", "x", "x2"]
    # shares at x = 0 over the intercept components and the residual; none for the slopes
    shares = fit.variance_shares
    assert shares[["case", "officer", "office", "residual"]].sum() == pytest.approx(1.0)
    assert shares[["officer:x", "officer:x2"]].isna().all()
    table = fit.to_frame()
    assert table.loc["officer:x", "sd"] == pytest.approx(fit.sd.loc["officer:x", "estimate"])
    text = fit.summary()
    assert "officer:x" in text and "officer~officer:x" in text
    assert "officer~officer:x" in fit._repr_html_()


def test_without_slopes_unchanged():
    """``slopes=None`` is today's model; a design whose every factor has only an intercept
    gives the intercept-only kernel's deviance exactly."""
    data = pd.read_csv(FIXTURES / "clmm_slopes_small.csv")
    a = ordinal_mixed(data, rating="level", case="case", rater="officer", fixed="x")
    b = ordinal_mixed(data, rating="level", case="case", rater="officer", fixed="x",
                      slopes=None)
    assert a.loglik == b.loglik and a.correlations.empty
    d = _random_design(np.random.default_rng(0), slopes=0)
    lap0 = Laplace(Design(d.y, d.X, d.codes, d.levels, d.n_cat), "probit")
    lap1 = LaplaceSlopes(d, "probit")
    par = np.array([-0.8, -0.2, 0.3, 0.2, 0.7, 0.5, 0.3])
    assert lap1.deviance(par) == pytest.approx(lap0.deviance(par), rel=1e-13)


def test_slope_added_as_fixed_effect():
    data = pd.read_csv(FIXTURES / "clmm_slopes_small.csv")
    with_x = ordinal_mixed(data, rating="level", case="case", rater="officer", fixed="x",
                           slopes="x")
    without = ordinal_mixed(data, rating="level", case="case", rater="officer", slopes="x")
    assert with_x.loglik == pytest.approx(without.loglik, abs=1e-8)
    assert without.fixed_effects.index.tolist() == ["x"]


def test_bad_slopes():
    data = pd.read_csv(FIXTURES / "clmm_slopes_small.csv")
    kw = {"rating": "level", "case": "case", "rater": "officer"}
    with pytest.raises(RiskevalError, match="slope column 'z' is constant"):
        ordinal_mixed(data.assign(z=1.5), slopes="z", **kw)
    gap = data.assign(z=data["x"].where(data.index != 7))
    with pytest.raises(RiskevalError, match=r"slope column 'z' has 1 missing value\(s\) "
                                            r"\(first at row 7\)"):
        ordinal_mixed(gap, slopes="z", **kw)
    with pytest.raises(RiskevalTypeError, match="slope column 'z' is not numeric"):
        ordinal_mixed(data.assign(z=np.where(data["x"] > 0, "a", "b")), slopes="z", **kw)
    with pytest.raises(RiskevalError, match="slope 1 column 'xx' is not in the table"):
        ordinal_mixed(data, slopes="xx", **kw)
    per_officer = data.assign(z=data["officer"].str[1:].astype(float))
    with pytest.raises(RiskevalError, match="slope column 'z' does not vary within any officer"):
        ordinal_mixed(per_officer, slopes="z", **kw)
    with pytest.raises(RiskevalTypeError, match="slopes must be a column name"):
        ordinal_mixed(data, slopes=[1], **kw)


def test_non_convergence_warns(monkeypatch):
    real = _ordinal.minimize_nonneg

    def starved(fun, x0, bounds, **kw):
        kw["options"] = {**kw["options"], "maxiter": 2}
        return real(fun, x0, bounds, **kw)

    monkeypatch.setattr(_ordinal, "minimize_nonneg", starved)
    data = pd.read_csv(FIXTURES / "clmm_slopes_small.csv")
    with pytest.warns(RiskevalWarning, match="did not report convergence"):
        fit = ordinal_mixed(data, rating="level", case="case", rater="officer", slopes="x")
    assert not fit.converged and any("did not report convergence" in n for n in fit.notes)


# --- no R: the objective against a dense computation, the optimum against Nelder-Mead -------

def _random_design(rng: np.random.Generator, slopes: int = 1, office: bool | None = None
                   ) -> SlopeDesign:
    nc, no = int(rng.integers(5, 10)), int(rng.integers(4, 8))
    case = np.repeat(np.arange(nc), no)
    off = np.tile(np.arange(no), nc)
    keep = rng.random(len(case)) > rng.uniform(0.0, 0.3)
    case, off = case[keep], off[keep]
    case, off = np.unique(case, return_inverse=True)[1], np.unique(off, return_inverse=True)[1]
    n = len(case)
    xs = rng.normal(size=(n, max(slopes, 1)))
    codes, levels = [case, off], [int(case.max()) + 1, int(off.max()) + 1]
    with_office = bool(rng.integers(2)) if office is None else office
    if with_office:
        codes.append(off % 2)
        levels.append(2)
    eta = (xs[:, 0] * 0.5 + rng.normal(0, 1, levels[0])[case] + rng.normal(0, .5, levels[1])[off]
           + rng.normal(0, 0.3, levels[1])[off] * xs[:, 0])
    n_cat = int(rng.integers(3, 5))
    latent = eta + rng.normal(size=n)
    y = np.digitize(latent, np.quantile(latent, np.arange(1, n_cat) / n_cat))
    ones = np.ones((n, 1))
    z = [ones, np.column_stack([ones, xs[:, :slopes]])] + [ones] * (len(codes) - 2)
    return SlopeDesign(y, xs[:, :1], codes, levels, n_cat, z)


def _dense_deviance(d: SlopeDesign, params: np.ndarray, link: str) -> float:
    """The Laplace deviance by brute force: the whole random-effects design as one dense
    matrix, Newton's method for the mode, a dense log-determinant."""
    j, p = d.n_cat - 1, d.X.shape[1]
    tau = params[0] + np.concatenate([[0.0], np.cumsum(np.exp(params[1:j]))])
    beta = params[j:j + p]
    cols, at = [], j + p
    for codes, q, z in zip(d.codes, d.levels, d.Z, strict=True):
        r = z.shape[1]
        lam = np.zeros((r, r))
        lam[tril_index(r)] = params[at:at + r * (r + 1) // 2]
        at += r * (r + 1) // 2
        zl = z @ lam
        block = np.zeros((len(d.y), q * r))
        for a in range(r):
            block[np.arange(len(d.y)), codes * r + a] = zl[:, a]
        cols.append(block)
    A = np.hstack(cols)
    F = special.ndtr if link == "probit" else special.expit
    upper = np.concatenate([tau, [np.inf]])[d.y]
    lower = np.concatenate([[-np.inf], tau])[d.y]

    def pieces(u):
        """log p_i, and the first and negative second derivatives of log p_i in eta_i."""
        eta = d.X @ beta + A @ u
        a, c = upper - eta, lower - eta
        pr = F(a) - F(c)
        fa, fc = _density(a, link), _density(c, link)
        g = -(fa - fc) / pr
        w = -((_density_slope(a, link) - _density_slope(c, link)) / pr - g * g)
        return np.log(pr), g, w

    u = np.zeros(A.shape[1])
    for _ in range(200):
        _, g, w = pieces(u)
        step = np.linalg.solve(A.T @ (w[:, None] * A) + np.eye(A.shape[1]), A.T @ g - u)
        u = u + step
        if np.max(np.abs(step)) < 1e-13:
            break
    logp, _, w = pieces(u)
    hess = A.T @ (w[:, None] * A) + np.eye(A.shape[1])
    logdet = 2 * np.log(np.diag(linalg.cholesky(hess))).sum()
    return float(-2 * (logp.sum() - 0.5 * u @ u) + logdet)


def _density(x: np.ndarray, link: str) -> np.ndarray:
    """The link's density, 0 at +-inf."""
    fin = np.where(np.isinf(x), 0.0, x)
    if link == "probit":
        out = np.exp(-0.5 * fin ** 2) / np.sqrt(2 * np.pi)
    else:
        out = special.expit(fin) * (1 - special.expit(fin))
    return np.where(np.isinf(x), 0.0, out)


def _density_slope(x: np.ndarray, link: str) -> np.ndarray:
    """The derivative of the link's density, 0 at +-inf."""
    fin = np.where(np.isinf(x), 0.0, x)
    if link == "probit":
        out = -fin * _density(fin, link)
    else:
        out = _density(fin, link) * (1 - 2 * special.expit(fin))
    return np.where(np.isinf(x), 0.0, out)


@pytest.mark.parametrize("seed", range(20))
def test_deviance_matches_dense(seed):
    rng = np.random.default_rng(100 + seed)
    d = _random_design(rng, slopes=1 + seed % 2)
    link = "logit" if seed % 5 == 0 else "probit"
    lap = LaplaceSlopes(d, link)
    j = d.n_cat - 1
    thetas = []
    for z in d.Z:
        lam = np.tril(rng.uniform(-0.5, 0.5, (z.shape[1],) * 2))
        lam[np.diag_indices_from(lam)] = rng.uniform(0.1, 1.0, z.shape[1])
        thetas.append(lam[tril_index(z.shape[1])])
    params = np.concatenate([[rng.uniform(-1, 0)], rng.uniform(-1, 0.5, j - 1),
                             rng.normal(0, 0.3, d.X.shape[1]), *thetas])
    assert lap.deviance(params) == pytest.approx(_dense_deviance(d, params, link), rel=1e-8)


@pytest.mark.parametrize("seed", range(20))
def test_optimum_not_beaten_by_nelder_mead(seed):
    rng = np.random.default_rng(200 + seed)
    d = _random_design(rng)
    opt, lap, _ = fit_slopes(d, "probit")
    diag = lap.diag_coords()

    def objective(v):
        v = v.copy()
        v[diag] = np.abs(v[diag])   # the deviance is even in each diagonal entry
        return lap.deviance(v)

    best = np.inf
    with threadpool_limits(limits=1, user_api="blas"):   # tiny matrices: one thread is faster
        for start in range(3):
            x0 = opt.params + (rng.normal(0, 0.3, len(opt.params)) if start else 0.0)
            res = optimize.minimize(objective, x0, method="Nelder-Mead",
                                    options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000,
                                             "maxfev": 5000, "adaptive": True})
            best = min(best, res.fun)
    assert opt.deviance <= best + 1e-6 * abs(best)
