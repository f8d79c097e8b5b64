"""riskeval.agreement checked against independent implementations.

Each coefficient is compared with a different implementation of the same definition: another
library (scikit-learn, statsmodels, scipy) or a deliberately naive loop written here from the
textbook formula, sharing no code with riskeval. Agreement is required to 1e-10, so any
difference is a difference in definition or a bug, not rounding.

The last tests check the bootstrap's reproducibility and behaviour and the coverage of the
analytic ICC interval by simulation.
"""

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

import riskeval

TOL = 1e-10
CATS5 = [0, 1, 2, 3, 4]
SEEDS = [0, 1, 2, 3, 4, 5, 6, 7]


def random_complete(seed: int, n: int = 30, k: int = 4, q: int = 5, agree: float = 0.5):
    """Complete cases x raters table of integer codes 0..q-1 with some real agreement.

    Each case has a 'true' category; each rating equals it with probability ``agree`` and is
    otherwise uniform over the q categories.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, q, size=(n, 1))
    noise = rng.integers(0, q, size=(n, k))
    keep = rng.random((n, k)) < agree
    return np.where(keep, truth, noise).astype(float)


def random_missing(seed: int, n: int = 30, k: int = 5, q: int = 5, p_missing: float = 0.3):
    """As :func:`random_complete`, with ratings missing at random (NaN).

    Some cases end up with a single rating or none at all, which exercises the rules for
    unpairable and unrated cases.
    """
    X = random_complete(seed, n, k, q)
    rng = np.random.default_rng(seed + 1000)
    X[rng.random(X.shape) < p_missing] = np.nan
    X[0, :] = np.nan  # one unrated case
    X[1, 1:] = np.nan  # one case with a single rating
    return X


# ---------------------------------------------------------------------------------------------
# Cohen's kappa vs scikit-learn
# ---------------------------------------------------------------------------------------------


def _cohen_pairs():
    """(a, b) integer rating vectors: random ones, and ones with unused categories."""
    out = []
    for seed in SEEDS:
        X = random_complete(seed, n=40, k=2).astype(int)
        out.append(pytest.param(X[:, 0], X[:, 1], id=f"seed{seed}"))
    # category 2 is never used: values 0, 1, 3, 4 -> distances must still use the values
    X = random_complete(11, n=40, k=2, q=4).astype(int)
    X[X >= 2] += 1
    out.append(pytest.param(X[:, 0], X[:, 1], id="unused-middle"))
    # categories 3 and 4 are never used: the span of the weights comes from `categories`
    X = random_complete(12, n=25, k=2, q=3).astype(int)
    out.append(pytest.param(X[:, 0], X[:, 1], id="unused-top"))
    # rater b never uses category 0
    X = random_complete(13, n=50, k=2).astype(int)
    X[X[:, 1] == 0, 1] = 1
    out.append(pytest.param(X[:, 0], X[:, 1], id="rater-b-skips-0"))
    return out


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize(("a", "b"), _cohen_pairs())
def test_cohen_kappa_matches_sklearn(a, b, weights):
    ours = riskeval.cohen_kappa(a, b, weights=weights, categories=CATS5)
    theirs = cohen_kappa_score(a, b, labels=CATS5, weights=weights)
    assert ours.estimate == pytest.approx(theirs, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_cohen_kappa_wide_and_long_input_match_sklearn(seed):
    X = random_complete(seed, n=30, k=2)
    theirs = cohen_kappa_score(X[:, 0].astype(int), X[:, 1].astype(int), labels=CATS5)
    assert riskeval.cohen_kappa(X, categories=CATS5).estimate == pytest.approx(theirs, abs=TOL)
    long = pd.DataFrame({
        "case": np.repeat(np.arange(len(X)), 2),
        "rater": np.tile(["a", "b"], len(X)),
        "rating": X.ravel(),
    })
    res = riskeval.cohen_kappa(long, case="case", rater="rater", rating="rating",
                               categories=CATS5)
    assert res.estimate == pytest.approx(theirs, abs=TOL)


# ---------------------------------------------------------------------------------------------
# Fleiss' kappa and Brennan-Prediger vs statsmodels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 6])
@pytest.mark.parametrize("seed", SEEDS)
def test_fleiss_kappa_matches_statsmodels(seed, k):
    X = random_complete(seed, n=35, k=k)
    table, _ = aggregate_raters(X.astype(int), n_cat=5)
    theirs = sm_fleiss_kappa(table, method="fleiss")
    assert riskeval.fleiss_kappa(X).estimate == pytest.approx(theirs, abs=TOL)
    # declaring unused categories must not change Fleiss' kappa
    assert riskeval.fleiss_kappa(X, categories=CATS5).estimate == pytest.approx(theirs, abs=TOL)


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("seed", SEEDS)
def test_brennan_prediger_matches_statsmodels_randolph(seed, k):
    # statsmodels' Randolph kappa uses 1 / n_cat with n_cat = the number of columns of the
    # count table; aggregate_raters(n_cat=5) makes that all 5 categories, used or not.
    X = random_complete(seed, n=35, k=k)
    X[X == 4] = 3  # category 4 unused: q must still be 5
    table, _ = aggregate_raters(X.astype(int), n_cat=5)
    assert table.shape[1] == 5
    theirs = sm_fleiss_kappa(table, method="randolph")
    ours = riskeval.brennan_prediger(X, categories=CATS5)
    assert ours.estimate == pytest.approx(theirs, abs=TOL)
    assert ours.extra["pe"] == pytest.approx(1 / 5, abs=TOL)


def _fleiss_1971_by_hand(X: np.ndarray):
    """Fleiss (1971) with a constant number of raters m: overall kappa, its null standard
    error (Fleiss, Nee & Landis 1979) and the category kappas, written with loops."""
    N, m = X.shape
    cats = sorted({v for v in X.ravel()})
    counts = [[sum(1 for v in row if v == c) for c in cats] for row in X]
    p = [sum(counts[i][j] for i in range(N)) / (N * m) for j in range(len(cats))]
    P_i = [(sum(c * c for c in counts[i]) - m) / (m * (m - 1)) for i in range(N)]
    P_bar = sum(P_i) / N
    P_e = sum(pj * pj for pj in p)
    kappa = (P_bar - P_e) / (1 - P_e)
    pq = [pj * (1 - pj) for pj in p]
    spq = sum(pq)
    se0 = (2 ** 0.5 / (spq * (N * m * (m - 1)) ** 0.5)
           * (spq**2 - sum(pq[j] * (1 - 2 * p[j]) for j in range(len(cats)))) ** 0.5)
    kappa_j = [
        1 - sum(counts[i][j] * (m - counts[i][j]) for i in range(N)) / (N * m * (m - 1) * pq[j])
        for j in range(len(cats))
    ]
    se_j = (2 / (N * m * (m - 1))) ** 0.5
    return kappa, se0, cats, kappa_j, se_j


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_fleiss_kappa_null_se_and_category_kappas_by_hand(seed):
    X = random_complete(seed, n=25, k=5)
    kappa, se0, cats, kappa_j, se_j = _fleiss_1971_by_hand(X)
    res = riskeval.fleiss_kappa(X)
    assert res.estimate == pytest.approx(kappa, abs=TOL)
    assert res.extra["se_null"] == pytest.approx(se0, abs=TOL)
    assert res.extra["z"] == pytest.approx(kappa / se0, abs=1e-8)
    table = res.per_category
    assert list(table.index) == cats
    np.testing.assert_allclose(table["kappa"].to_numpy(), kappa_j, rtol=0, atol=TOL)
    np.testing.assert_allclose(table["se"].to_numpy(), se_j, rtol=0, atol=TOL)


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha vs a naive coincidence-matrix implementation
# ---------------------------------------------------------------------------------------------


def naive_krippendorff_alpha(X: np.ndarray, level: str) -> float:
    """Krippendorff (2011), computed the slow way with dicts and loops."""
    units = []
    for row in X:
        values = [float(v) for v in row if not np.isnan(v)]
        if len(values) >= 2:  # only pairable units carry information
            units.append(values)
    # coincidence matrix: every ordered pair of values within a unit, weighted 1 / (m_u - 1)
    o: dict[tuple[float, float], float] = defaultdict(float)
    for values in units:
        m = len(values)
        for i, j in itertools.permutations(range(m), 2):
            o[(values[i], values[j])] += 1.0 / (m - 1)
    vals = sorted({v for values in units for v in values})
    n_c = {c: sum(o[(c, k)] for k in vals) for c in vals}
    n = sum(n_c.values())

    def delta2(c: float, k: float) -> float:
        if level == "nominal":
            return 0.0 if c == k else 1.0
        if level == "interval":
            return (c - k) ** 2
        if level == "ratio":
            return 0.0 if c == k else ((c - k) / (c + k)) ** 2
        if level == "ordinal":
            lo, hi = min(c, k), max(c, k)
            between = sum(n_c[g] for g in vals if lo <= g <= hi)
            return (between - (n_c[c] + n_c[k]) / 2) ** 2
        raise AssertionError(level)

    d_o = sum(o[(c, k)] * delta2(c, k) for c in vals for k in vals) / n
    d_e = sum(n_c[c] * n_c[k] * delta2(c, k) for c in vals for k in vals) / (n * (n - 1))
    return 1.0 - d_o / d_e


LEVELS = ["nominal", "ordinal", "interval", "ratio"]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", SEEDS)
def test_krippendorff_alpha_matches_naive(seed, level):
    X = random_missing(seed)
    if seed % 2:
        X = X + 1  # values 1..5 as well as 0..4 (zero is special for the ratio metric)
    ours = riskeval.krippendorff_alpha(X, level=level).estimate
    assert ours == pytest.approx(naive_krippendorff_alpha(X, level), abs=TOL)


@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_alpha_naive_on_unequal_spacing_and_complete_data(level):
    rng = np.random.default_rng(99)
    values = np.array([1.0, 2.0, 4.0, 7.5, 10.0])
    truth = rng.integers(0, 5, size=(40, 1))
    codes = np.where(rng.random((40, 3)) < 0.6, truth, rng.integers(0, 5, size=(40, 3)))
    X = values[codes]
    ours = riskeval.krippendorff_alpha(X, level=level).estimate
    assert ours == pytest.approx(naive_krippendorff_alpha(X, level), abs=TOL)
    X[rng.random(X.shape) < 0.25] = np.nan
    ours = riskeval.krippendorff_alpha(X, level=level).estimate
    assert ours == pytest.approx(naive_krippendorff_alpha(X, level), abs=TOL)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_krippendorff_alpha_continuous_ratings_match_naive(seed):
    # Many distinct values (continuous scores): every value is its own category.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 1)) + rng.normal(scale=0.7, size=(60, 4)) + 5.0
    X[rng.random(X.shape) < 0.2] = np.nan
    for level in ("interval", "ratio"):
        ours = riskeval.krippendorff_alpha(X, level=level).estimate
        assert ours == pytest.approx(naive_krippendorff_alpha(X, level), abs=TOL), level


def test_naive_krippendorff_reproduces_krippendorff_2011_example():
    # Sanity check of the naive reference itself on the worked example of Krippendorff
    # (2011), "Computing Krippendorff's alpha-reliability", 4 observers x 12 units: nominal
    # alpha = 0.743, interval 0.849, ratio 0.797 as printed there (ordinal 0.815 as well).
    nan = np.nan
    X = np.array([
        [1, 1, nan, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
        [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [nan, 5, 5, 5],
        [nan, nan, 1, 1], [nan, nan, 3, nan],
    ])
    printed = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
    for level, value in printed.items():
        assert naive_krippendorff_alpha(X, level) == pytest.approx(value, abs=5e-4)
        assert riskeval.krippendorff_alpha(X, level=level).estimate == pytest.approx(
            naive_krippendorff_alpha(X, level), abs=TOL)


# ---------------------------------------------------------------------------------------------
# ICC vs an ANOVA from statsmodels and the formulas of Shrout & Fleiss (1979)
# ---------------------------------------------------------------------------------------------


def _anova(X: np.ndarray) -> dict[str, float]:
    n, k = X.shape
    long = pd.DataFrame({
        "y": X.ravel(),
        "case": np.repeat(np.arange(n), k),
        "rater": np.tile(np.arange(k), n),
    })
    fit = smf.ols("y ~ C(case) + C(rater)", data=long).fit()
    table = anova_lm(fit)
    ss_r = table.loc["C(rater)", "sum_sq"]
    ss_e = table.loc["Residual", "sum_sq"]
    return {
        "BMS": table.loc["C(case)", "mean_sq"],
        "JMS": table.loc["C(rater)", "mean_sq"],
        "EMS": table.loc["Residual", "mean_sq"],
        "WMS": (ss_r + ss_e) / (table.loc["C(rater)", "df"] + table.loc["Residual", "df"]),
        "F_case": table.loc["C(case)", "F"],
        "p_case": table.loc["C(case)", "PR(>F)"],
    }


def _shrout_fleiss(ms: dict[str, float], n: int, k: int) -> dict[str, float]:
    bms, jms, ems, wms = ms["BMS"], ms["JMS"], ms["EMS"], ms["WMS"]
    return {
        "ICC1": (bms - wms) / (bms + (k - 1) * wms),
        "ICC2": (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n),
        "ICC3": (bms - ems) / (bms + (k - 1) * ems),
        "ICC1k": (bms - wms) / bms,
        "ICC2k": (bms - ems) / (bms + (jms - ems) / n),
        "ICC3k": (bms - ems) / bms,
    }


def _icc_data(seed: int, n: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 1)) + rng.normal(scale=0.6, size=(1, k))
            + rng.normal(scale=0.8, size=(n, k)) + 3.0)


ICC_SHAPES = [(8, 2), (15, 3), (30, 5), (12, 7)]


@pytest.mark.parametrize(("n", "k"), ICC_SHAPES)
@pytest.mark.parametrize("seed", SEEDS[:4])
def test_icc_matches_statsmodels_anova(seed, n, k):
    X = _icc_data(seed, n, k)
    ms = _anova(X)
    res = riskeval.icc(X)
    for key in ("BMS", "WMS", "JMS", "EMS"):
        assert res.mean_squares[key] == pytest.approx(ms[key], rel=TOL, abs=TOL), key
    table = res.to_frame()
    expected = _shrout_fleiss(ms, n, k)
    for form, value in expected.items():
        assert table.loc[form, "ICC"] == pytest.approx(value, abs=TOL), form
    assert res.estimate == pytest.approx(expected["ICC2"], abs=TOL)
    # F tests: one-way for ICC1/ICC1k, two-way (cases vs residual) for the others
    f1 = ms["BMS"] / ms["WMS"]
    for form in ("ICC1", "ICC1k"):
        row = table.loc[form]
        assert (row["df1"], row["df2"]) == (n - 1, n * (k - 1))
        assert row["F"] == pytest.approx(f1, rel=TOL)
        assert row["pval"] == pytest.approx(stats.f.sf(f1, n - 1, n * (k - 1)), rel=1e-8,
                                            abs=1e-14)
    for form in ("ICC2", "ICC3", "ICC2k", "ICC3k"):
        row = table.loc[form]
        assert (row["df1"], row["df2"]) == (n - 1, (n - 1) * (k - 1))
        assert row["F"] == pytest.approx(ms["F_case"], rel=TOL)
        assert row["pval"] == pytest.approx(ms["p_case"], rel=1e-8, abs=1e-14)
        assert row["pval"] == pytest.approx(
            stats.f.sf(ms["BMS"] / ms["EMS"], n - 1, (n - 1) * (k - 1)), rel=1e-8, abs=1e-14)


@pytest.mark.parametrize(("n", "k"), ICC_SHAPES)
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_icc_confidence_intervals_match_mcgraw_wong(seed, n, k):
    """The F-based intervals, written from McGraw & Wong (1996) Tables 7-8 (cases 1, 2A, 3A).

    ICC2's interval is written with McGraw & Wong's a, b and Satterthwaite's v, a different
    algebraic form from the one in riskeval.
    """
    X = _icc_data(seed, n, k)
    ms = _anova(X)
    bms, jms, ems, wms = ms["BMS"], ms["JMS"], ms["EMS"], ms["WMS"]
    icc_ = _shrout_fleiss(ms, n, k)
    q = 0.975
    F1, F3 = bms / wms, bms / ems
    fl1, fu1 = F1 / stats.f.ppf(q, n - 1, n * (k - 1)), F1 * stats.f.ppf(q, n * (k - 1), n - 1)
    fl3 = F3 / stats.f.ppf(q, n - 1, (n - 1) * (k - 1))
    fu3 = F3 * stats.f.ppf(q, (n - 1) * (k - 1), n - 1)
    rho = icc_["ICC2"]
    a = k * rho / (n * (1 - rho))
    b = 1 + k * rho * (n - 1) / (n * (1 - rho))
    v = (a * jms + b * ems) ** 2 / ((a * jms) ** 2 / (k - 1)
                                    + (b * ems) ** 2 / ((n - 1) * (k - 1)))
    f_lo = stats.f.ppf(q, n - 1, v)
    f_hi = stats.f.ppf(q, v, n - 1)
    lo2 = n * (bms - f_lo * ems) / (f_lo * (k * jms + (k * n - k - n) * ems) + n * bms)
    hi2 = n * (f_hi * bms - ems) / (k * jms + (k * n - k - n) * ems + n * f_hi * bms)
    expected = {
        "ICC1": ((fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1)),
        "ICC1k": (1 - 1 / fl1, 1 - 1 / fu1),
        "ICC3": ((fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1)),
        "ICC3k": (1 - 1 / fl3, 1 - 1 / fu3),
        "ICC2": (lo2, hi2),
        "ICC2k": (k * lo2 / (1 + (k - 1) * lo2), k * hi2 / (1 + (k - 1) * hi2)),
    }
    table = riskeval.icc(X).to_frame()
    for form, (lo, hi) in expected.items():
        assert table.loc[form, "ci_low"] == pytest.approx(lo, abs=1e-9), form
        assert table.loc[form, "ci_high"] == pytest.approx(hi, abs=1e-9), form


# ---------------------------------------------------------------------------------------------
# Gwet's AC1/AC2 and Fleiss' kappa with missing data vs naive loops of Gwet (2014)
# ---------------------------------------------------------------------------------------------


def _weight_matrix(values: list[float], kind: str | None) -> list[list[float]]:
    span = max(values) - min(values)
    q = len(values)
    if kind is None:
        return [[1.0 if k == j else 0.0 for j in range(q)] for k in range(q)]
    if kind == "linear":
        return [[1 - abs(values[k] - values[j]) / span for j in range(q)] for k in range(q)]
    if kind == "quadratic":
        return [[1 - (values[k] - values[j]) ** 2 / span**2 for j in range(q)] for k in range(q)]
    raise AssertionError(kind)


def naive_gwet(X: np.ndarray, categories: list[float], weights: str | None):
    """pa, pi and the chance agreements of Fleiss, Gwet and Brennan-Prediger (Gwet 2014)."""
    q = len(categories)
    w = _weight_matrix(categories, weights)
    pa_terms, pi_terms = [], []
    for row in X:
        rated = [v for v in row if not np.isnan(v)]
        r_i = len(rated)
        if r_i == 0:
            continue
        r_ik = [sum(1 for v in rated if v == c) for c in categories]
        pi_terms.append([r_ik[k] / r_i for k in range(q)])
        if r_i >= 2:
            total = 0.0
            for k in range(q):
                r_star = sum(w[k][j] * r_ik[j] for j in range(q))
                total += r_ik[k] * (r_star - 1)
            pa_terms.append(total / (r_i * (r_i - 1)))
    pa = sum(pa_terms) / len(pa_terms)
    pi = [sum(t[k] for t in pi_terms) / len(pi_terms) for k in range(q)]
    t_w = sum(sum(row) for row in w)
    pe_fleiss = sum(w[k][j] * pi[k] * pi[j] for k in range(q) for j in range(q))
    pe_gwet = t_w / (q * (q - 1)) * sum(p * (1 - p) for p in pi)
    pe_bp = t_w / q**2
    return pa, pe_fleiss, pe_gwet, pe_bp


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", SEEDS)
def test_gwet_fleiss_bp_with_missing_data_match_naive(seed, weights):
    X = random_missing(seed, n=35, k=6, p_missing=0.4)
    pa, pe_f, pe_g, pe_bp = naive_gwet(X, [float(c) for c in CATS5], weights)
    ac = riskeval.gwet_ac(X, weights=weights, categories=CATS5)
    fk = riskeval.fleiss_kappa(X, weights=weights, categories=CATS5)
    bp = riskeval.brennan_prediger(X, weights=weights, categories=CATS5)
    pct = riskeval.percent_agreement(X, weights=weights, categories=CATS5)
    for res, pe in ((ac, pe_g), (fk, pe_f), (bp, pe_bp)):
        assert res.extra["pa"] == pytest.approx(pa, abs=TOL), res.coefficient
        assert res.extra["pe"] == pytest.approx(pe, abs=TOL), res.coefficient
        assert res.estimate == pytest.approx((pa - pe) / (1 - pe), abs=TOL), res.coefficient
    assert pct.estimate == pytest.approx(pa, abs=TOL)


def test_naive_gwet_on_unequally_spaced_categories():
    # weights depend on the category values, not their ranks
    cats = [1.0, 2.0, 5.0, 10.0]
    rng = np.random.default_rng(5)
    X = np.array(cats)[rng.integers(0, 4, size=(30, 4))]
    X[rng.random(X.shape) < 0.3] = np.nan
    for weights in (None, "linear", "quadratic"):
        pa, pe_f, pe_g, _ = naive_gwet(X, cats, weights)
        ac = riskeval.gwet_ac(X, weights=weights, categories=cats)
        fk = riskeval.fleiss_kappa(X, weights=weights, categories=cats)
        assert ac.estimate == pytest.approx((pa - pe_g) / (1 - pe_g), abs=TOL)
        assert fk.estimate == pytest.approx((pa - pe_f) / (1 - pe_f), abs=TOL)


# ---------------------------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boot_data() -> np.ndarray:
    return random_missing(21, n=50, k=5, p_missing=0.2)


@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize("resample", ["cases", "cases+raters"])
def test_bootstrap_same_seed_same_interval(boot_data, method, resample):
    kw = {"ci": method, "n_boot": 500, "resample": resample}
    for fn, extra in ((riskeval.krippendorff_alpha, {"level": "ordinal"}),
                      (riskeval.gwet_ac, {}), (riskeval.fleiss_kappa, {})):
        first = fn(boot_data, seed=123, **kw, **extra).ci
        again = fn(boot_data, seed=123, **kw, **extra).ci
        other = fn(boot_data, seed=124, **kw, **extra).ci
        assert first == again
        assert np.isfinite(first).all()
        assert first != other
    # a Generator seeded alike gives the same interval as the int seed
    a = riskeval.gwet_ac(boot_data, seed=np.random.default_rng(7), **kw).ci
    b = riskeval.gwet_ac(boot_data, seed=np.random.default_rng(7), **kw).ci
    assert a == b


def test_bootstrap_icc_same_seed_same_interval():
    X = _icc_data(3, 25, 4)
    first = riskeval.icc(X, ci="percentile", n_boot=500, seed=5).ci
    assert first == riskeval.icc(X, ci="percentile", n_boot=500, seed=5).ci
    assert first != riskeval.icc(X, ci="percentile", n_boot=500, seed=6).ci


@pytest.mark.parametrize("level", LEVELS)
def test_percentile_interval_of_alpha_covers_estimate(boot_data, level):
    X = boot_data + 1
    res = riskeval.krippendorff_alpha(X, level=level, ci="percentile", n_boot=1000, seed=1)
    lo, hi = res.ci
    assert lo <= res.estimate <= hi
    assert lo < hi


def _rater_effect_data() -> np.ndarray:
    rng = np.random.default_rng(1)
    n = 40
    offsets = np.array([-2.0, -1.0, 0.0, 0.5, 1.5, 2.5])  # strongly harsher/softer raters
    return rng.normal(size=(n, 1)) + offsets + rng.normal(scale=0.5, size=(n, offsets.size))


def test_two_way_bootstrap_is_wider_with_strong_rater_effects():
    X = _rater_effect_data()

    def width(ci):
        return ci[1] - ci[0]

    kw = {"ci": "percentile", "n_boot": 2000, "seed": 3}
    icc_cases = riskeval.icc(X, resample="cases", **kw).ci
    icc_both = riskeval.icc(X, resample="cases+raters", **kw).ci
    assert width(icc_both) >= width(icc_cases)
    # the rater effects make this a large difference, not a tie
    assert width(icc_both) > 1.5 * width(icc_cases)

    R = np.round(X)
    a_cases = riskeval.krippendorff_alpha(R, level="interval", resample="cases", **kw).ci
    a_both = riskeval.krippendorff_alpha(R, level="interval", resample="cases+raters", **kw).ci
    assert width(a_both) >= width(a_cases)
    assert width(a_both) > 1.5 * width(a_cases)


# ---------------------------------------------------------------------------------------------
# Coverage of the analytic ICC2 interval (parameter recovery)
# ---------------------------------------------------------------------------------------------


def test_icc2_analytic_interval_coverage():
    var_case, var_rater, var_error = 1.0, 0.25, 0.5
    true_icc2 = var_case / (var_case + var_rater + var_error)
    n, k, reps = 30, 5, 200
    rng = np.random.default_rng(20240601)
    covered = 0
    estimates = []
    for _ in range(reps):
        X = (rng.normal(scale=np.sqrt(var_case), size=(n, 1))
             + rng.normal(scale=np.sqrt(var_rater), size=(1, k))
             + rng.normal(scale=np.sqrt(var_error), size=(n, k)))
        res = riskeval.icc(X, form="ICC2")
        lo, hi = res.ci
        covered += lo <= true_icc2 <= hi
        estimates.append(res.estimate)
    coverage = covered / reps
    assert 0.88 <= coverage <= 0.99, coverage
    assert abs(np.mean(estimates) - true_icc2) < 0.05, np.mean(estimates)


# ---------------------------------------------------------------------------------------------
# by_group vs the coefficient on each group's subset
# ---------------------------------------------------------------------------------------------


def test_by_group_matches_per_group_calls():
    rows = []
    for office, seed in (("north", 1), ("south", 2), ("west", 3)):
        X = random_missing(seed, n=20, k=4, p_missing=0.2)
        for i, row in enumerate(X):
            for j, v in enumerate(row):
                if not np.isnan(v):
                    rows.append((office, f"{office}-c{i}", f"{office}-r{j}", v))
    long = pd.DataFrame(rows, columns=["office", "case", "rater", "rating"])
    cols = {"case": "case", "rater": "rater", "rating": "rating"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = riskeval.by_group(riskeval.krippendorff_alpha, long, group="office",
                                level="ordinal", **cols)
    assert list(out["office"]) == ["north", "south", "west"]
    for office, est in zip(out["office"], out["estimate"], strict=True):
        sub = long[long["office"] == office]
        direct = riskeval.krippendorff_alpha(sub, level="ordinal", **cols).estimate
        assert est == pytest.approx(direct, abs=TOL)
    boot = {"ci": "percentile", "n_boot": 200, "seed": 9}
    first = riskeval.by_group(riskeval.gwet_ac, long, group="office", **cols, **boot)
    again = riskeval.by_group(riskeval.gwet_ac, long, group="office", **cols, **boot)
    pd.testing.assert_frame_equal(first, again)


def test_icc_tests_against_a_nonzero_null_are_dual_to_the_intervals_and_hold_their_size():
    """McGraw & Wong (1996) F tests of ICC = r0: for the one-way and consistency forms, whose
    intervals are exact, the one-sided p-value is below 2.5% exactly when r0 lies under the
    lower 95% limit; for absolute agreement (Satterthwaite's approximation) the test holds its
    size at r0 with 15 raters. (With 5 raters and rater variance 0.2 it rejected 7.3% of 1,500
    null studies: the approximation is liberal when the rater mean square has few df.)"""
    from riskeval.agreement import icc

    rng = np.random.default_rng(8)
    x = rng.standard_normal((25, 1)) + 0.4 * rng.standard_normal((1, 4)) \
        + 0.8 * rng.standard_normal((25, 4))
    for form in ("ICC1", "ICC3", "ICC1k", "ICC3k"):
        lo = icc(x).to_frame().loc[form, "ci_low"]
        for r0 in (lo - 0.01, lo + 0.01):
            p = icc(x, r0=max(r0, 0.0)).to_frame().loc[form, "pval"]
            assert (p < 0.025) == (r0 < lo), (form, r0, p)
        assert icc(x, r0=max(lo, 0.0)).to_frame().loc[form, "pval"] == pytest.approx(0.025)
    # size of the ICC2 test at its null, rho = 0.5 with rater variance 0.2
    rho, rv_, n, k = 0.5, 0.2, 30, 15
    rej = []
    for s in range(1000):
        r = np.random.default_rng(s)
        y = (np.sqrt(rho) * r.standard_normal((n, 1)) + np.sqrt(rv_) * r.standard_normal((1, k))
             + np.sqrt(1 - rho - rv_) * r.standard_normal((n, k)))
        rej.append(icc(y, r0=rho, ci=None).to_frame().loc["ICC2", "pval"] < 0.05)
    assert 0.035 <= np.mean(rej) <= 0.072, np.mean(rej)
    with pytest.raises(riskeval.RiskevalError, match="r0=1"):
        icc(x, r0=1)
