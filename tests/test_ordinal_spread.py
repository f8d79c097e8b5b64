"""The officer threshold spread in the ordinal mixed model (``ordinal_mixed(spread=True)``).

R's ``clmm`` has no random scale, so there is no R reference. The checks here: the kernel's
pieces against finite differences (the per-rating derivatives in ``(eta, s)``, the expected
information as the expectation of the exact one, the inner mode as a zero of the gradient and
the Laplace log-determinant as that of the exact Hessian); the deviance at a zero spread SD
against the intercepts kernel; the fit against the intercepts fit on data without spread; a
small parameter recovery; the refusals. The full recovery study (bias and coverage) is
``papers/ordinal_spread_recovery.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from riskeval import RiskevalError
from riskeval.errors import RiskevalTypeError, RiskevalWarning
from riskeval.variation import _ofit, ordinal_mixed
from riskeval.variation._ordinal import Design, Laplace, OrdinalOptimum
from riskeval.variation._spread import LaplaceSpread


def simulate(seed: int, n_cases: int = 40, n_officers: int = 20, *, tau=(-1.2, -0.4, 0.5, 1.5),
             sd_case: float = 1.0, sd_officer: float = 0.5, sd_spread: float = 0.35,
             n_offices: int = 0, keep: float = 1.0, link: str = "probit", beta: float = 0.0
             ) -> tuple[pd.DataFrame, np.ndarray]:
    """Ratings from the spread model (officer ``j`` in office ``j % n_offices``, a fixed
    effect ``beta`` of a covariate ``x``), a share ``keep`` of the (case, officer) pairs kept
    at random; and the true ``s_j``."""
    rng = np.random.default_rng(seed)
    case, officer = np.divmod(np.arange(n_cases * n_officers), n_officers)
    s = rng.normal(0.0, sd_spread, n_officers)
    eta = rng.normal(0.0, sd_case, n_cases)[case] + rng.normal(0.0, sd_officer,
                                                                n_officers)[officer]
    office = officer % n_offices if n_offices else np.zeros_like(officer)
    if n_offices:
        eta = eta + rng.normal(0.0, 0.4, n_offices)[office]
    x = np.cos(np.arange(len(eta)))
    eta = eta + beta * x
    noise = rng.normal(size=len(eta)) if link == "probit" else rng.logistic(size=len(eta))
    tau = np.asarray(tau)
    cuts = tau.mean() + np.exp(s[officer])[:, None] * (tau - tau.mean())[None, :]
    table = pd.DataFrame({"case": case, "officer": officer, "office": office, "x": x,
                          "level": ((eta + noise)[:, None] > cuts).sum(axis=1)})
    if keep < 1:
        table = table[rng.random(len(table)) < keep].reset_index(drop=True)
    return table, s


def design(table: pd.DataFrame, office: bool, covariate: bool = False) -> Design:
    """The kernel's design (levels renumbered from 0, as ``ordinal_mixed`` does), with a
    covariate as a fixed effect if asked."""
    y = pd.factorize(table["level"], sort=True)[0]
    cols = ["case", "officer"] + (["office"] if office else [])
    codes = [pd.factorize(table[c], sort=True)[0] for c in cols]
    X = (np.sin(np.arange(len(y)))[:, None] if covariate else np.zeros((len(y), 0)))
    return Design(y, X, codes, [int(c.max()) + 1 for c in codes], int(y.max()) + 1)


# (seed, link, thresholds, office, share of pairs kept)
DESIGNS = [
    (1, "probit", (-1.2, -0.4, 0.5, 1.5), False, 1.0),
    (2, "logit", (-1.5, 0.0, 1.5), True, 1.0),
    (3, "probit", (-0.8, 0.9), True, 0.6),
    (4, "logit", (-2.0, -0.7, 0.4, 1.2), False, 0.5),
    (5, "probit", (-1.0, -0.2, 0.3, 1.6), True, 0.7),
]


def kernel_case(seed, link, tau, office, keep, n_cases=25, n_officers=12):
    table, _ = simulate(seed, n_cases, n_officers, tau=tau, n_offices=3 if office else 0,
                        keep=keep, link=link)
    d = design(table, office, covariate=office)
    rng = np.random.default_rng(100 + seed)
    j = d.n_cat - 1
    params = np.concatenate([[rng.normal(-1.0, 0.2)], np.log(rng.uniform(0.4, 1.0, j - 1)),
                             rng.normal(0.0, 0.5, d.X.shape[1]),
                             rng.uniform(0.2, 1.0, len(d.codes))])
    return d, params


@pytest.mark.parametrize("case", DESIGNS, ids=lambda c: f"seed{c[0]}-{c[1]}")
def test_deviance_at_zero_spread_is_the_intercepts_deviance(case):
    d, params = kernel_case(*case)
    assert len(np.unique(d.y)) == d.n_cat and 3 <= d.n_cat <= 5
    spread = LaplaceSpread(d, case[1])
    plain = Laplace(d, case[1])
    for scale in (1.0, 0.3, 1.8):   # several points, warm starts in between
        par = params.copy()
        par[d.n_cat - 1 + d.X.shape[1]:] *= scale
        assert spread.deviance(np.append(par, 0.0)) == pytest.approx(
            plain.deviance(par), abs=1e-8)
    # a positive spread SD changes it
    assert abs(spread.deviance(np.append(params, 0.4)) - plain.deviance(params)) > 1e-3


@pytest.mark.parametrize("case", DESIGNS, ids=lambda c: f"seed{c[0]}-{c[1]}")
def test_the_inner_mode_is_a_zero_of_the_gradient(case):
    d, params = kernel_case(*case)
    lap = LaplaceSpread(d, case[1])
    par = np.append(params, 0.5)
    lap.deviance(par)
    u = lap.u.copy()
    assert np.abs(u).max() > 0
    h = 1e-5
    grad = np.empty(len(u))
    for i in range(len(u)):
        e = np.zeros(len(u))
        e[i] = h
        grad[i] = (lap.penalised(par, u + e) - lap.penalised(par, u - e)) / (2 * h)
    assert np.abs(grad).max() < 1e-5
    # and a maximum: the penalised log-likelihood is lower a little way off in any direction
    rng = np.random.default_rng(case[0])
    f0 = lap.penalised(par, u)
    for _ in range(5):
        assert lap.penalised(par, u + 1e-2 * rng.normal(size=len(u))) < f0


def test_the_log_determinant_is_that_of_the_exact_hessian():
    """On a small design: -2 (penalised log-likelihood at the mode) + log|-Hessian|, with the
    Hessian by finite differences, is the Laplace deviance."""
    table, _ = simulate(7, 10, 6, tau=(-1.0, 0.0, 1.0))
    d = design(table, False)
    lap = LaplaceSpread(d, "probit")
    par = np.array([-1.0, 0.0, 0.0, 0.9, 0.6, 0.7])
    dev = lap.deviance(par)
    u = lap.u.copy()
    k, h = len(u), 1e-4
    f = lambda v: lap.penalised(par, v)   # noqa: E731
    hess = np.empty((k, k))
    for a in range(k):
        for b in range(a, k):
            ea, eb = np.eye(k)[a] * h, np.eye(k)[b] * h
            hess[a, b] = hess[b, a] = (f(u + ea + eb) - f(u + ea - eb) - f(u - ea + eb)
                                       + f(u - ea - eb)) / (4 * h * h)
    logdet = np.linalg.slogdet(-hess)[1]
    assert dev == pytest.approx(-2 * f(u) + logdet, abs=1e-5)


@pytest.mark.parametrize("link", ["probit", "logit"])
def test_per_rating_derivatives(link):
    """Gradient and negative Hessian of log p in (eta, s) against finite differences; the
    expected information is the probability-weighted mean of the exact one."""
    d = Design(np.array([0, 1, 2, 3, 1, 3, 0]), np.zeros((7, 0)), [np.arange(7)], [7], 4)
    lap = LaplaceSpread.__new__(LaplaceSpread)
    lap.d, lap.link = d, link
    tau = np.array([-1.1, 0.2, 1.4])
    eta = np.array([0.3, -0.5, 1.2, 2.5, -2.0, 0.0, 0.7])
    s = np.array([0.2, -0.4, 0.6, 0.1, -0.2, -0.6, 0.5])
    logp, (ge, gs), (wee, wes, wss) = lap._derivs(eta, s, tau)
    h = 1e-5

    def lp(e, t):
        return lap._derivs(e, t, tau)[0]

    np.testing.assert_allclose(ge, (lp(eta + h, s) - lp(eta - h, s)) / (2 * h), atol=1e-7)
    np.testing.assert_allclose(gs, (lp(eta, s + h) - lp(eta, s - h)) / (2 * h), atol=1e-7)
    h = 1e-4
    dee = (lp(eta + h, s) - 2 * logp + lp(eta - h, s)) / h ** 2
    dss = (lp(eta, s + h) - 2 * logp + lp(eta, s - h)) / h ** 2
    des = (lp(eta + h, s + h) - lp(eta + h, s - h) - lp(eta - h, s + h)
           + lp(eta - h, s - h)) / (4 * h * h)
    np.testing.assert_allclose(-wee, dee, atol=1e-5)
    np.testing.assert_allclose(-wes, des, atol=1e-5)
    np.testing.assert_allclose(-wss, dss, atol=1e-5)
    # E_y[W(y)] = Fisher information
    expected = [np.zeros(7) for _ in range(3)]
    for level in range(4):
        lap.d = Design(np.full(7, level), d.X, d.codes, d.levels, 4)
        lp_k, _, w_k = lap._derivs(eta, s, tau)
        for a in range(3):
            expected[a] += np.exp(lp_k) * w_k[a]
    for a, v in enumerate(lap._fisher(eta, s, tau)):
        np.testing.assert_allclose(v, expected[a], rtol=1e-8, atol=1e-12)


def _fit(table, **kw):
    return ordinal_mixed(table, rating="level", case="case", rater="officer", **kw)


def test_no_spread_in_the_data_gives_the_intercepts_fit():
    """sigma_spread = 0: never below the intercepts model; where the estimate is at zero the
    fits are the same."""
    at_zero = 0
    for seed in (11, 12, 13):
        table, _ = simulate(seed, 30, 15, sd_spread=0.0)
        plain = _fit(table)
        spread = _fit(table, spread=True)
        assert spread.loglik >= plain.loglik - 1e-6
        est = spread.sd.loc["officer:spread", "estimate"]
        if est <= 1e-4:
            at_zero += 1
            assert spread.loglik == pytest.approx(plain.loglik, abs=1e-5)
            np.testing.assert_allclose(spread.thresholds["estimate"],
                                       plain.thresholds["estimate"], atol=2e-3)
            np.testing.assert_allclose(spread.sd.loc[["case", "officer"], "estimate"],
                                       plain.sd.loc[["case", "officer"], "estimate"], atol=2e-3)
            assert np.isnan(spread.sd.loc["officer:spread", "se"])
            assert any("officer:spread SD is on the boundary" in n for n in spread.notes)
            assert np.all(spread.random_effects["officer:spread"].abs() < 1e-6)
        else:   # a small spread picked up by chance
            assert est < 0.25
    assert at_zero >= 1


def test_logit_with_a_fixed_effect():
    table, _ = simulate(61, 30, 15, link="logit", n_offices=3, beta=1.0)
    plain = _fit(table, office="office", fixed="x", link="logit")
    fit = _fit(table, office="office", fixed="x", link="logit", spread=True)
    assert fit.converged
    assert fit.loglik >= plain.loglik - 1e-6
    assert fit.fixed_effects.loc["x", "estimate"] == pytest.approx(1.0, abs=0.25)
    assert fit.fixed_effects.loc["x", "se"] < 0.2
    assert fit.variance_components["residual"] == pytest.approx(np.pi ** 2 / 3)


def test_result_layout():
    table, _ = simulate(21, 30, 15, n_offices=3)
    fit = _fit(table, office="office", spread=True)
    assert fit.sd.index.tolist() == ["case", "officer", "officer:spread", "office"]
    assert list(fit.random_effects) == ["case", "officer", "officer:spread", "office"]
    assert fit.random_effects["officer:spread"].index.equals(fit.random_effects["officer"].index)
    assert np.isnan(fit.variance_shares["officer:spread"])
    shares = fit.variance_shares.drop("officer:spread")
    assert shares.sum() == pytest.approx(1.0)
    assert fit.variance_components["officer:spread"] == pytest.approx(
        fit.sd.loc["officer:spread", "estimate"] ** 2)
    row = fit.sd.loc["officer:spread"]
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert row["ci_low"] * row["ci_high"] == pytest.approx(row["estimate"] ** 2)  # log scale
    assert "officer:spread" in fit.summary()
    assert "officer:spread" in fit.to_frame().index
    # one more parameter than the intercepts model
    plain = _fit(table, office="office")
    assert fit.aic - (-2 * fit.loglik) == pytest.approx(plain.aic - (-2 * plain.loglik) + 2)


def test_recovery_small():
    """A quick recovery check (the study is in papers/): sigma_spread near the truth on
    average, and the officers' modes of s_j track the true s_j in every replication."""
    est, r = [], []
    for seed in range(8):
        table, s = simulate(200 + seed, 40, 20, sd_spread=0.4)
        fit = _fit(table, spread=True)
        assert fit.converged
        est.append(fit.sd.loc["officer:spread", "estimate"])
        r.append(np.corrcoef(fit.random_effects["officer:spread"], s)[0, 1])
    assert np.mean(est) == pytest.approx(0.4, abs=0.06)
    assert min(r) > 0.7


def test_refusals():
    table, _ = simulate(31, 20, 10)
    with pytest.raises(RiskevalError, match="cannot be combined with slopes='x'"):
        _fit(table.assign(x=np.arange(len(table)) % 3), spread=True, slopes="x")
    with pytest.raises(RiskevalTypeError, match="spread must be True or False; got 'yes'"):
        _fit(table, spread="yes")
    two = table.assign(level=(table["level"] >= 2).astype(int))
    with pytest.raises(RiskevalError, match=r"at least 3 used levels of 'level'.*have 2"):
        _fit(two, spread=True)
    # levels that exist but are never used do not count
    cats = pd.Categorical(np.where(table["level"] >= 2, "high", "low"),
                          categories=["low", "medium", "high"], ordered=True)
    with pytest.raises(RiskevalError, match="at least 3 used levels"):
        _fit(table.assign(level=cats), spread=True)
    # every officer rates one case
    rng = np.random.default_rng(0)
    single = pd.DataFrame({"case": np.repeat(np.arange(10), 3), "officer": np.arange(30),
                           "level": rng.integers(0, 4, 30)})
    with pytest.raises(RiskevalError, match="every officer \\('officer'\\) rates one case"):
        _fit(single, spread=True)


def test_few_cases_per_officer_is_noted():
    table, _ = simulate(41, 30, 15)
    sparse = table[(table["officer"] > 0) | (table["case"] < 3)]
    fit = _fit(sparse, spread=True)
    assert any("1 of 15 officers rate fewer than 5 cases" in n for n in fit.notes)


def test_not_converging_warns(monkeypatch):
    table, _ = simulate(51, 20, 10)
    real = _ofit.fit_spread

    def stopped(*args, **kwargs):
        opt, lap, nat = real(*args, **kwargs)
        return (OrdinalOptimum(opt.params, opt.deviance, opt.cov, False, "ABNORMAL"), lap,
                nat)

    monkeypatch.setattr(_ofit, "fit_spread", stopped)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = _fit(table, spread=True)
    assert not fit.converged
    hits = [w for w in caught if issubclass(w.category, RiskevalWarning)]
    assert hits and "did not report convergence (ABNORMAL)" in str(hits[0].message)
    assert hits[0].filename == __file__
    assert any("did not report convergence" in n for n in fit.notes)
