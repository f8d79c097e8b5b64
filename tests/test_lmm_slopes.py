"""Crossed linear mixed model with random officer slopes and random intercepts of interactions.

The lme4 reference values are in ``tests/fixtures/lmm_slopes_results.json``, written by
``tests/fixtures/lmm_slopes_fixtures.R`` (lme4 1.1-31, R 4.2.2) on the synthetic data sets of
``tests/fixtures/lmm_slopes_data.csv`` (written by ``lmm_slopes_make_data.py``; the model of
each is in ``lmm_slopes_specs.json``). Each entry carries the ``lmer`` call that produced it (a
tightly converged bobyqa fit) and the log-likelihood of lme4's default fit.

The kernel is also checked without R: its deviance at arbitrary theta against a dense
computation of lme4's formula, and its optimum against Nelder-Mead from several starts.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import linalg, optimize

from riskeval import RiskevalError
from riskeval.errors import DegenerateDataWarning
from riskeval.variation import LMMResult, _slopes, crossed_lmm
from riskeval.variation._slopes import (
    SlopesLMMResult,
    SlopesProfiled,
    Term,
    n_theta,
    optimise_slopes,
    theta_to_factor,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LME4 = json.loads((FIXTURES / "lmm_slopes_results.json").read_text())
SPECS = {s["name"]: s for s in json.loads((FIXTURES / "lmm_slopes_specs.json").read_text())}
DATA = pd.read_csv(FIXTURES / "lmm_slopes_data.csv")


def _fit(entry: dict, **kw) -> LMMResult:
    spec = SPECS[entry["dataset"]]
    data = DATA[DATA["dataset"] == entry["dataset"]]
    return crossed_lmm(data, rating="y", case="case", rater="officer",
                       office="office" if spec["office"] else None,
                       fixed=" + ".join(spec["fixed"]) or None, slopes=spec["slopes"] or None,
                       interactions=spec["interactions"] or None, reml=entry["reml"], **kw)


def _label(row: dict) -> str:
    if row["grp"] == "Residual":
        return "residual"
    if not row["var2"]:
        return row["grp"] if row["var1"] == "(Intercept)" else f"{row['grp']}: {row['var1']}"
    v1 = "intercept" if row["var1"] == "(Intercept)" else row["var1"]
    return f"{row['grp']}: corr({v1}, {row['var2']})"


def _close(ours: float, ref: float, rel: float = 1e-3, near_zero: float = 1e-4) -> bool:
    return abs(ours - ref) <= max(rel * abs(ref), near_zero)


def _ranef_row(frame: pd.DataFrame, level: str) -> pd.Series:
    if isinstance(frame.index, pd.MultiIndex):
        return frame.xs(level, level=frame.index.names[-1]).iloc[0]
    return frame.loc[level]


IDS = [f"{e['dataset']}:{'REML' if e['reml'] else 'ML'}" for e in LME4["fits"]]


@pytest.fixture(scope="module", params=LME4["fits"], ids=IDS)
def fitted(request):
    entry = request.param
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateDataWarning)   # no convergence warning
        fit = _fit(entry, ci="wald" if SPECS[entry["dataset"]]["slopes"] else None)
    return entry, fit


def test_fixture_shapes():
    assert len(SPECS) >= 12
    assert len(LME4["fits"]) == 2 * len(SPECS)
    singular = {e["dataset"] for e in LME4["fits"] if e["singular"]}
    assert singular == {"zero_slope", "perfect_corr"}


def test_variance_parameters_match_lme4(fitted):
    entry, fit = fitted
    table = fit.variance_table
    for row in entry["varcorr"]:
        lab = _label(row)
        # variance (or covariance) and SD (or correlation), as lme4's VarCorr data frame
        assert _close(table.loc[lab, "variance"], row["vcov"]), (lab, table.loc[lab], row)
        assert _close(table.loc[lab, "sd"], row["sdcor"]), (lab, table.loc[lab], row)
    n_rows = len(entry["varcorr"])
    assert len(table) == n_rows


def test_fixed_effects_match_lme4(fitted):
    entry, fit = fitted
    fe = fit.fixed_effects
    assert sorted(fe.index) == sorted(entry["fixef"])
    for name, value in entry["fixef"].items():
        assert _close(fe.loc[name, "estimate"], value), name
        assert _close(fe.loc[name, "se"], entry["se"][name]), name
    assert fit.n_obs == entry["nobs"]


def test_loglik_at_least_lme4s(fitted):
    entry, fit = fitted
    for ref in (entry["loglik"], entry["default_loglik"]):
        assert fit.loglik >= ref - 1e-6 * abs(ref)
    assert fit.converged


def test_conditional_modes_match_lme4(fitted):
    entry, fit = fitted
    for group in ("officer", "case"):
        frame = fit.random_effects[group]
        for level, values in entry["ranef"][group].items():
            row = _ranef_row(frame, level)
            for coef, ref in values.items():
                ours = row["estimate"] if coef == "(Intercept)" else row[coef]
                assert abs(ours - ref) <= 1e-3 * max(1.0, abs(ref)), (group, level, coef)
        # conditional SDs (lme4's condVar)
        for level, values in entry["ranef_sd"][group].items():
            row = _ranef_row(frame, level)
            for coef, ref in values.items():
                ours = row["se"] if coef == "(Intercept)" else row[f"se_{coef}"]
                assert _close(ours, ref), (group, level, coef, ours, ref)


def test_boundary_is_noted(fitted):
    entry, fit = fitted
    if entry["singular"]:
        assert fit.boundary
        assert any("boundary" in n for n in fit.notes)
    else:
        assert fit.boundary == ()


def test_result_protocol(fitted):
    entry, fit = fitted
    spec = SPECS[entry["dataset"]]
    if not spec["slopes"]:
        assert type(fit) is LMMResult
        assert "office:offence_type" in fit.to_frame().index
        return
    assert isinstance(fit, SlopesLMMResult)
    frame = fit.to_frame()
    assert "officer: x" in frame.index and "officer: corr(intercept, x)" in frame.index
    text = fit.summary()
    assert "officer: corr(intercept, x)" in text and "Fixed effects" in text
    assert "officer: x" in fit._repr_html_()
    # Wald intervals bracket the estimates away from the boundary
    for lab, row in frame.iterrows():
        if lab not in fit.boundary and np.isfinite(row["sd_low"]):
            assert row["sd_low"] <= row["sd"] <= row["sd_high"], lab
    assert np.isnan(fit.variance_shares["estimate"]).all()
    cov = fit.covariance.to_numpy()
    assert np.allclose(cov, cov.T)
    assert set(fit.random_effects["officer"].columns) >= {"estimate", "se", "x", "se_x"}
    assert (fit.random_effects["officer"]["se_x"] >= 0).all()


# -- without R: the kernel against a dense computation and against Nelder-Mead ---------------

def _random_design(seed: int):
    rng = np.random.default_rng(seed)
    n_case, n_off = rng.integers(5, 15), rng.integers(4, 12)
    n_office = int(rng.integers(0, 4))
    k = int(rng.integers(1, 3))
    c, o = np.meshgrid(np.arange(n_case), np.arange(n_off), indexing="ij")
    c, o = c.ravel(), o.ravel()
    keep = rng.random(len(c)) > rng.uniform(0, 0.5)
    keep[:n_case] = True                                 # every case rated
    keep[np.arange(n_off) * 1] = True
    c, o = c[keep], o[keep]
    _, c = np.unique(c, return_inverse=True)
    _, o = np.unique(o, return_inverse=True)
    n = len(c)
    x = np.column_stack([rng.normal(size=c.max() + 1)[c], rng.normal(size=n)])[:, :k]
    w = np.column_stack([np.ones(n), x])
    slopes = rng.normal(0, rng.uniform(0, 0.8), (o.max() + 1, k + 1))
    y = (rng.normal(size=c.max() + 1)[c] + (w * slopes[o]).sum(axis=1)
         + rng.normal(0, 0.7, n))
    X = np.column_stack([np.ones(n), x[:, 0]])
    terms = [Term("case", c, int(c.max()) + 1), Term("officer", o, int(o.max()) + 1, w)]
    if n_office >= 2:
        f = o % n_office
        y = y + rng.normal(size=n_office)[f]
        terms.append(Term("office", f, n_office))
    return y, X, terms


def _dense_deviance(y, X, terms, theta, reml):
    """lme4's profiled deviance computed directly from dense Z and Lambda."""
    n, p = X.shape
    zs, lams, off = [], [], 0
    for t in terms:
        w = np.ones((n, 1)) if t.w is None else t.w
        z = np.zeros((n, t.levels * t.r))
        for a in range(t.r):
            z[np.arange(n), t.codes * t.r + a] = w[:, a]
        zs.append(z)
        lams.append(np.kron(np.eye(t.levels), theta_to_factor(theta[off:off + n_theta(t.r)],
                                                              t.r)))
        off += n_theta(t.r)
    zl = np.hstack(zs) @ linalg.block_diag(*lams)
    q = zl.shape[1]
    # penalised least squares in (u, beta) jointly
    big = np.block([[zl.T @ zl + np.eye(q), zl.T @ X], [X.T @ zl, X.T @ X]])
    sol = np.linalg.solve(big, np.concatenate([zl.T @ y, X.T @ y]))
    u, beta = sol[:q], sol[q:]
    r2 = float(np.sum((y - X @ beta - zl @ u) ** 2) + u @ u)
    m = zl.T @ zl + np.eye(q)
    logdet = np.linalg.slogdet(m)[1]
    if reml:
        rx = X.T @ X - X.T @ zl @ np.linalg.solve(m, zl.T @ X)
        return logdet + np.linalg.slogdet(rx)[1] + (n - p) * (1 + math.log(2 * math.pi * r2
                                                                            / (n - p)))
    return logdet + n * (1 + math.log(2 * math.pi * r2 / n))


@pytest.mark.parametrize("seed", range(30))
def test_kernel_deviance_equals_dense_formula(seed):
    y, X, terms = _random_design(seed)
    rng = np.random.default_rng(1000 + seed)
    for reml in (True, False):
        prof = SlopesProfiled(y, X, terms, reml)
        for _ in range(3):
            theta = rng.normal(0, 1, len(prof.bounds))
            ours = prof.deviance(theta)
            ref = _dense_deviance(y, X, terms, theta, reml)
            assert abs(ours - ref) <= 1e-8 * abs(ref)


@pytest.mark.parametrize("seed", range(30))
def test_optimum_not_beaten_by_nelder_mead(seed):
    y, X, terms = _random_design(seed)
    prof = SlopesProfiled(y, X, terms, reml=seed % 2 == 0)
    opt = optimise_slopes(prof)
    lo = np.array([-np.inf if b[0] is None else b[0] for b in prof.bounds])
    rng = np.random.default_rng(2000 + seed)
    starts = [prof.start(), prof.start() * 0.3, np.abs(rng.normal(0, 1, len(lo)))]
    for x0 in starts:
        nm = optimize.minimize(lambda t: prof.deviance(np.maximum(t, lo)), x0,
                               method="Nelder-Mead",
                               options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 3000,
                                        "maxfev": 3000})
        assert opt.solution.deviance <= nm.fun + 1e-6 * abs(nm.fun)


# -- bad input --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data():
    return DATA[DATA["dataset"] == "balanced_office"].copy()


def _call(frame, **kw):
    return crossed_lmm(frame, rating="y", case="case", rater="officer", office="office", **kw)


def test_constant_slope_column(data):
    data["c"] = 3.0
    with pytest.raises(RiskevalError, match="slope column 'c' is constant"):
        _call(data, slopes="c")


def test_slope_column_with_missing_values(data):
    data = data.copy()
    data.loc[data.index[5], "x"] = np.nan
    with pytest.raises(RiskevalError, match="slope column 'x' has 1 missing"):
        _call(data, slopes="x")


def test_slope_column_not_numeric(data):
    with pytest.raises(RiskevalError, match="slope column 'offence_type' must be numeric"):
        _call(data, slopes="offence_type")


def test_slope_column_absent(data):
    with pytest.raises(RiskevalError, match="'xx' is not in the table"):
        _call(data, slopes="xx")


def test_interaction_with_one_level(data):
    data = data.copy()
    data["one"] = "a"
    data["two"] = "b"
    with pytest.raises(RiskevalError, match="interaction 'one:two' has 1 level"):
        _call(data, interactions="one:two")


def test_interaction_same_as_existing_factor(data):
    # officers are nested in offices: office:officer is the officer factor again
    with pytest.raises(RiskevalError, match="'office:officer' groups the ratings exactly as "
                                            "the 'officer'"):
        _call(data, interactions=["office:officer"])
    with pytest.raises(RiskevalError, match="exactly as the 'office:offence_type'"):
        _call(data, interactions=["office:offence_type", "offence_type:office"])


def test_interaction_spelling(data):
    with pytest.raises(RiskevalError, match="two or more different columns"):
        _call(data, interactions="office")
    with pytest.raises(RiskevalError, match="'nope' is not in the table"):
        _call(data, interactions="office:nope")


def test_interaction_alongside_slopes_and_alone(data):
    both = _call(data, slopes="x", interactions="office:offence_type", ci=None)
    assert "office:offence_type" in both.variance_table.index
    alone = _call(data, interactions="office:offence_type", ci=None)
    assert list(alone.variance_components.index) == ["case", "officer", "office",
                                                     "office:offence_type", "residual"]
    assert alone.n_groups["office:offence_type"] == 12


def test_unchanged_without_slopes_or_interactions(data):
    plain = _call(data, ci=None)
    again = _call(data, ci=None, slopes=None, interactions=None)
    assert plain.loglik == again.loglik
    assert type(plain) is LMMResult


def test_non_convergence_is_reported(data, monkeypatch):
    monkeypatch.setattr(_slopes, "GRADIENT_TOL", -1.0)
    with pytest.warns(DegenerateDataWarning, match="did not report convergence"):
        fit = _call(data, slopes="x", ci=None)
    assert not fit.converged
    assert any("convergence" in n for n in fit.notes)
    assert "did not report convergence" in fit.summary()


def test_slope_added_to_fixed_effects_once(data):
    fit = _call(data, slopes="x", fixed="x", ci=None)
    assert list(fit.fixed_effects.index) == ["(Intercept)", "x"]
    fit = _call(data, slopes="x", fixed="experience", ci=None)
    assert list(fit.fixed_effects.index) == ["(Intercept)", "experience", "x"]


def test_row_order_and_slope_shift(data):
    """Permuting the rows changes nothing; shifting the slope column moves the officer's
    intercept variance but not the likelihood (the model is invariant under x -> x + c)."""
    base = _call(data, slopes="x", ci=None)
    shuffled = _call(data.sample(frac=1.0, random_state=3), slopes="x", ci=None)
    assert abs(shuffled.loglik - base.loglik) <= 1e-8 * abs(base.loglik)
    assert np.allclose(shuffled.variance_table["variance"], base.variance_table["variance"],
                       rtol=1e-4, atol=1e-7)
    moved = _call(data.assign(x=data["x"] + 2.0), slopes="x", ci=None)
    assert abs(moved.loglik - base.loglik) <= 1e-7 * abs(base.loglik)
    assert _close(moved.variance_table.loc["officer: x", "variance"],
                  base.variance_table.loc["officer: x", "variance"])


def test_the_plot_shows_each_officers_intercept_and_slope():
    import riskeval as rv

    world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=4,
                                                n_vignettes=10)
    data = rv.simulate(world, seed=1).merge(world.vignettes[["case", "openness"]], on="case")
    data["score"] = data["rating"].cat.codes + 1.0
    fit = rv.variation.crossed_lmm(data, rating="score", case="case", rater="officer",
                                   office="office", slopes="openness")
    fig = fit.plot()
    assert len(fig.axes) == 2
    effects = fit.random_effects["officer"]
    for axis, column in zip(fig.axes, ["estimate", "openness"], strict=True):
        points = axis.lines[1].get_xdata()            # intervals, points, the zero line
        assert sorted(points) == pytest.approx(sorted(effects[column].to_numpy()))
