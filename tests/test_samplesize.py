"""Analytic sample sizes against published values and against simulations of the studies they size.

Each formula of :mod:`riskeval.studies.samplesize` is checked twice: (a) against numbers published
for
it, quoted here with their source, and (b) by simulating the study it sizes with
:func:`riskeval.studies.diagnose` and comparing the simulated width, assurance or power with the
target, within 3 Monte Carlo standard errors plus a small allowance for the formulas'
large-sample approximations. The tolerances are tight enough that a factor-2 slip, or a
half-width read as a width, fails (see the negative controls in each simulation test).

The intervals and tests used in the simulations are written out here, independently of the
package's own estimators (the one-way F interval is compared once with
``riskeval.agreement.icc``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from riskeval import RiskevalError
from riskeval.agreement import icc as icc_fn
from riskeval.studies import Design, Estimator, diagnose
from riskeval.studies.samplesize import bonett_n, kappa_n, zou_n

# ----------------------------------------------------------------------------------------------
# The studies, written out independently of the package
# ----------------------------------------------------------------------------------------------


def one_way_population(icc: float, k: int, n: int):
    """n cases each rated k times: x = case + error, total variance 1, ICC(1) = icc."""

    def population(seed: np.random.SeedSequence) -> tuple[np.ndarray, dict[str, float]]:
        rng = np.random.default_rng(seed)
        x = (math.sqrt(icc) * rng.standard_normal((n, 1))
             + math.sqrt(1 - icc) * rng.standard_normal((n, k)))
        return x, {"icc": icc}

    return population


def one_way_f_interval(x: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """ICC(1) and its exact F interval (Shrout & Fleiss 1979, case 1; McGraw & Wong 1996)."""
    n, k = x.shape
    means = x.mean(axis=1)
    msb = k * ((means - x.mean()) ** 2).sum() / (n - 1)
    msw = ((x - means[:, None]) ** 2).sum() / (n * (k - 1))
    f = msb / msw
    a = 1 - confidence
    f_low = f / stats.f.ppf(1 - a / 2, n - 1, n * (k - 1))
    f_up = f * stats.f.ppf(1 - a / 2, n * (k - 1), n - 1)
    return {"estimate": (msb - msw) / (msb + (k - 1) * msw),
            "ci_low": (f_low - 1) / (f_low + k - 1), "ci_high": (f_up - 1) / (f_up + k - 1)}


def kappa_population(kappa: float, prevalence: float, n: int):
    """n pairs of binary ratings under the common-correlation model.

    With probability ``kappa`` the second rating copies the first, otherwise both are
    independent Bernoulli(prevalence) draws; then P(1, 1) = pi^2 + kappa pi (1 - pi) and so on,
    the model of Donner & Eliasziw (1992), reached here by a different route than its cell
    formulas.
    """

    def population(seed: np.random.SeedSequence) -> tuple[np.ndarray, dict[str, float]]:
        rng = np.random.default_rng(seed)
        first = rng.random(n) < prevalence
        copy = rng.random(n) < kappa
        second = np.where(copy, first, rng.random(n) < prevalence)
        return np.column_stack([first, second]), {"kappa": kappa}

    return population


def gof_kappa_test(kappa0: float, sides: int = 2):
    """Donner & Eliasziw's (1992) goodness-of-fit test of H0: kappa = kappa0.

    Observed counts of (both positive, discordant, both negative) against their expectation
    under kappa0 with the prevalence estimated from both raters' ratings; chi-square, 1 df.
    One-sided (``sides=1``): the signed root, positive when the estimate exceeds kappa0.
    """

    def estimator(pairs: np.ndarray) -> dict[str, float]:
        a, b = pairs[:, 0], pairs[:, 1]
        n = len(a)
        n11 = int((a & b).sum())
        nd = int((a ^ b).sum())
        obs = np.array([n11, nd, n - n11 - nd], float)
        p = (2 * n11 + nd) / (2 * n)
        q = 1 - p
        if p in (0.0, 1.0):
            return {"estimate": math.nan, "p": 1.0}
        exp = n * np.array([p * p + kappa0 * p * q, 2 * (1 - kappa0) * p * q,
                            q * q + kappa0 * p * q])
        chi2 = float(((obs - exp) ** 2 / exp).sum())
        kappa_hat = 1 - nd / (2 * n * p * q)
        if sides == 2:
            pval = stats.chi2.sf(chi2, 1)
        else:
            pval = stats.norm.sf(math.copysign(math.sqrt(chi2), kappa_hat - kappa0))
        return {"estimate": kappa_hat, "p": float(pval)}

    return estimator


def within(observed: float, target: float, mcse: float, allowance: float) -> bool:
    return abs(observed - target) <= 3 * mcse + allowance


# ----------------------------------------------------------------------------------------------
# zou_n: Zou (2012)
# ----------------------------------------------------------------------------------------------


def test_zou_n_without_assurance_is_bonetts_formula_and_reproduces_his_example():
    """Bonett (2002), Statistics in Medicine 21:1331-1335, worked example (as quoted in the
    documentation of R's presize::prec_icc): k = 4 raters, ICC 0.85, 95% interval of width
    0.2 needs n = 19.2, i.e. 20 cases. Zou's formula with no assurance (z_b = 0) is Bonett's."""
    assert zou_n(0.85, 4, 0.2) == 20
    assert zou_n(0.85, 4, 0.2, assurance=0.5) == 20
    assert bonett_n(0.85, 4, 0.2) == 20
    # the example by hand: 8 z^2 (1 - rho)^2 (1 + 3 rho)^2 / (k (k - 1) w^2) + 1
    by_hand = 8 * 1.959964 ** 2 * 0.15 ** 2 * 3.55 ** 2 / (12 * 0.2 ** 2) + 1
    assert by_hand == pytest.approx(19.15, abs=0.01)        # Bonett's 19.2
    for rho in (0.2, 0.5, 0.7, 0.9):
        for k in (2, 3, 5):
            for w in (0.1, 0.25):
                # bonett_n adds Bonett's own 5 rho for k = 2 and rho >= 0.7; Zou's has no term
                extra = 5 * rho if k == 2 and rho >= 0.7 else 0.0
                n0 = 8 * 1.959964 ** 2 * (1 - rho) ** 2 * (1 + (k - 1) * rho) ** 2 / (
                    k * (k - 1) * w ** 2) + 1
                assert zou_n(rho, k, w) == math.ceil(n0), (rho, k, w)
                assert bonett_n(rho, k, w) == math.ceil(n0 + extra), (rho, k, w)


def test_zou_n_with_assurance_by_hand_and_in_half_width_form():
    """rho 0.7, k = 3, full width 0.2, 95%, assurance 80%: A = (1 - rho)(1 + 2 rho) = 0.72,
    B = k - 2 + 2 rho - 2 k rho = -1.8, z = 1.959964, z_b = 0.841621;
    n = 1 + 2 (z A + sqrt(z^2 A^2 + 2 w z z_b A |B|))^2 / (k (k - 1) w^2) = 80.998 -> 81."""
    z, zb, a, b, w = 1.959964, 0.841621, 0.72, 1.8, 0.2
    n = 1 + 2 * (z * a + math.sqrt((z * a) ** 2 + 2 * w * z * zb * a * b)) ** 2 / (6 * w * w)
    assert n == pytest.approx(80.998, abs=1e-3)
    assert zou_n(0.7, 3, 0.2, assurance=0.8) == 81
    # the same formula written in the half-width omega = width / 2
    omega = w / 2
    n_half = 1 + (z * a + math.sqrt((z * a) ** 2 + 4 * omega * z * zb * a * b)) ** 2 / (
        2 * 6 * omega ** 2)
    assert n_half == pytest.approx(n)
    # more assurance, more cases; a tighter width, more cases (about 1 / width^2)
    sizes = [zou_n(0.7, 3, 0.2, assurance=g) for g in (0.5, 0.6, 0.8, 0.9, 0.95)]
    assert sizes == sorted(sizes) and sizes[0] == 68 and sizes[-1] > sizes[0] + 15
    assert zou_n(0.7, 3, 0.1, assurance=0.8) > 3.5 * (zou_n(0.7, 3, 0.2, assurance=0.8) - 1)
    # where B = 0 (rho = (k - 2) / (2 (k - 1)), 1/3 for k = 4) the assurance adds nothing
    assert zou_n(1 / 3, 4, 0.2, assurance=0.9) == zou_n(1 / 3, 4, 0.2)


def test_one_way_f_interval_written_here_matches_the_package():
    x, _ = one_way_population(0.7, 3, 40)(np.random.SeedSequence(11))
    row = icc_fn(x).to_frame().loc["ICC1"]
    mine = one_way_f_interval(x)
    assert mine["estimate"] == pytest.approx(row["ICC"], rel=1e-10)
    assert mine["ci_low"] == pytest.approx(row["ci_low"], rel=1e-10)
    assert mine["ci_high"] == pytest.approx(row["ci_high"], rel=1e-10)


def test_zou_n_simulated_width_and_assurance():
    """The exact F interval of ICC(1), rho 0.7, k = 3, target full width 0.2 (95%).

    Without assurance (n = 68) the mean width is the target and about half the intervals are
    narrower; with 80% assurance (n = 81) about 80% of them are at most 0.2 wide."""
    rho, k, w = 0.7, 3, 0.2
    n_mean = zou_n(rho, k, w)
    n_assured = zou_n(rho, k, w, assurance=0.8)
    assert (n_mean, n_assured) == (68, 81)
    est = (Estimator("F interval", "icc", one_way_f_interval),)
    n_sims = 2000
    res = {}
    for label, n in (("mean", n_mean), ("assured", n_assured)):
        d = Design(one_way_population(rho, k, n), est, name=f"one-way ICC, k={k}, n={n}",
                   params={"icc": rho, "k": k, "n": n})
        res[label] = diagnose(d, n_sims=n_sims, seed=20120)
    row = res["mean"].table.iloc[0]
    assert within(row["width"], w, row["width_mcse"], 0.005), row["width"]
    assert within(row["coverage"], 0.95, math.sqrt(0.95 * 0.05 / n_sims), 0.005)
    share = {}
    for label, r in res.items():
        sims = r.simulations
        share[label] = float(((sims["ci_high"] - sims["ci_low"]) <= w).mean())
    se = math.sqrt(0.8 * 0.2 / n_sims)
    assert within(share["assured"], 0.8, se, 0.03), share
    assert within(share["mean"], 0.5, math.sqrt(0.25 / n_sims), 0.05), share
    # negative controls: sizing for the mean width misses the assurance, and reading the
    # width as a half-width (n four times larger) would make the mean width half the target
    assert not within(share["mean"], 0.8, se, 0.03)
    assert zou_n(rho, k, w / 2) > 3.5 * (n_mean - 1)
    assert res["assured"].table.iloc[0]["width"] < w


# ----------------------------------------------------------------------------------------------
# kappa_n: Donner & Eliasziw (1992)
# ----------------------------------------------------------------------------------------------


def test_kappa_n_reproduces_kappasize_powerbinary():
    """R package kappaSize 1.2 (Rotondi), PowerBinary(kappa0 = 0.4, kappa1 = 0.7, props = 0.5,
    raters = 2, alpha = 0.05, power = 0.8) gives N = 73.26, i.e. 74 subjects, and 107 at
    props = 0.2. These outputs are quoted, with the calls, in a public sample-size guide on
    GitHub (kappaSize's own manual runs the example below without printing its output)."""
    assert kappa_n(0.4, 0.7, 0.5) == 74
    assert kappa_n(0.4, 0.7, 0.2) == 107
    # by hand at pi = 0.5: cells (both 1, discordant, both 0) are (0.35, 0.30, 0.35) at
    # kappa 0.4 and (0.425, 0.15, 0.425) at kappa 0.7
    effect = 2 * 0.075 ** 2 / 0.35 + 0.15 ** 2 / 0.30
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert z * z / effect == pytest.approx(73.26, abs=0.005)
    # kappaSize solves the non-centrality of the 1-df chi-square exactly: the asymptotic power
    # is just short of 80% at 73 subjects and reaches it at 74
    crit = stats.chi2.ppf(0.95, 1)
    assert stats.ncx2.sf(crit, 1, 73 * effect) < 0.8 <= stats.ncx2.sf(crit, 1, 74 * effect)
    # the example of the kappaSize manual (kappa0 0.4, kappa1 0.6, prevalence 0.3; its output
    # is not printed there): by hand, sum = 0.0412 and n = 7.849 / 0.0412 = 190.5 -> 191
    assert kappa_n(0.4, 0.6, 0.3) == 191
    # one-sided: z_{1 - alpha} replaces z_{1 - alpha / 2}
    assert kappa_n(0.4, 0.6, 0.3, sides=1) == math.ceil(
        (stats.norm.ppf(0.95) + stats.norm.ppf(0.8)) ** 2 / 0.0412114) == 151
    # only pi (1 - pi) and the squared distance matter: symmetric in pi and in the direction
    assert kappa_n(0.4, 0.7, 0.8) == kappa_n(0.4, 0.7, 0.2)
    assert kappa_n(0.6, 0.4, 0.3) != kappa_n(0.4, 0.6, 0.3)   # the null cells are the divisor


def test_kappa_n_simulated_power_of_the_goodness_of_fit_test():
    """Power of Donner & Eliasziw's goodness-of-fit test at n = kappa_n(...), simulated."""
    cases = [  # (kappa0, kappa1, prevalence, sides)
        (0.4, 0.6, 0.3, 2),
        (0.4, 0.7, 0.2, 2),
        (0.4, 0.6, 0.3, 1),
    ]
    n_sims = 2000
    for kappa0, kappa1, prev, sides in cases:
        n = kappa_n(kappa0, kappa1, prev, sides=sides)
        d = Design(kappa_population(kappa1, prev, n),
                   (Estimator("GOF test", "kappa", gof_kappa_test(kappa0, sides)),),
                   name=f"kappa {kappa0} vs {kappa1}, pi={prev}, n={n}",
                   params={"kappa0": kappa0, "kappa1": kappa1, "prevalence": prev, "n": n})
        row = diagnose(d, n_sims=n_sims, seed=1992, alpha=0.05).table.iloc[0]
        assert within(row["power"], 0.8, row["power_mcse"], 0.02), (kappa0, kappa1, prev,
                                                                     sides, n, row["power"])
        assert abs(row["bias"]) < 3 * row["bias_mcse"] + 0.01
        # negative control: half the cases (a factor-2 slip) is far outside the band
        half = Design(kappa_population(kappa1, prev, n // 2), d.estimators, name="half")
        low = diagnose(half, n_sims=300, seed=1992).table.iloc[0]
        assert not within(low["power"], 0.8, row["power_mcse"], 0.02), low["power"]
    # the test written here holds its level: kappa = kappa0 is rejected about 5% of the time
    null = Design(kappa_population(0.4, 0.3, 191),
                  (Estimator("GOF test", "kappa", gof_kappa_test(0.4)),), name="null")
    size = diagnose(null, n_sims=n_sims, seed=7).table.iloc[0]
    assert within(size["power"], 0.05, math.sqrt(0.05 * 0.95 / n_sims), 0.01), size["power"]


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"icc": 0.0}, r"icc must be in \(0, 1\); got icc=0.0"),
    ({"icc": 1.2}, "icc=1.2"),
    ({"raters": 1}, "raters must be a whole number of at least 2; got 1"),
    ({"raters": 2.5}, r"raters must be a whole number of at least 2; got 2\.5"),
    ({"width": 0.0}, r"width \(the full width of the interval\) must be in \(0, 2\); got width=0"),
    ({"width": 2.5}, "width=2.5"),
    ({"confidence": 95}, "confidence=95"),
    ({"assurance": 0.3}, r"assurance must be in \[0.5, 1\) or None; got assurance=0.3"),
    ({"assurance": 1.0}, "assurance=1.0"),
])
def test_zou_n_bad_input_is_named(kwargs, match):
    args = {"icc": 0.7, "raters": 3, "width": 0.2} | kwargs
    icc, raters, width = args.pop("icc"), args.pop("raters"), args.pop("width")
    with pytest.raises(RiskevalError, match=match):
        zou_n(icc, raters, width, **args)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"prevalence": 0.0}, r"prevalence must be in \(0, 1\); got prevalence=0.0"),
    ({"prevalence": 1.5}, "prevalence=1.5"),
    ({"kappa0": 1.0}, r"kappa0 must be in \(-0.4286, 1\) at prevalence=0.3"),
    ({"kappa1": -0.5}, "got kappa1=-0.5"),
    ({"kappa1": 0.4}, "kappa1 must differ from kappa0; got kappa0=kappa1=0.4"),
    ({"sides": 3}, "sides must be 1 or 2; got sides=3"),
    ({"alpha": 0.0}, "alpha=0.0"),
    ({"power": 1.0}, "power=1.0"),
    ({"power": 0.01}, r"power must be in \(alpha / sides, 1\)"),
])
def test_kappa_n_bad_input_is_named(kwargs, match):
    args = {"kappa0": 0.4, "kappa1": 0.6, "prevalence": 0.3} | kwargs
    k0, k1, prev = args.pop("kappa0"), args.pop("kappa1"), args.pop("prevalence")
    with pytest.raises(RiskevalError, match=match):
        kappa_n(k0, k1, prev, **args)
