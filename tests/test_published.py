"""riskeval.agreement checked against published worked examples.

Every expected number below was printed in a paper, a book, a manual or the documentation of
another statistics package, and is cited next to the data it belongs to. The numbers are
written as the source printed them, and each comparison allows exactly the rounding the source
applied: half a unit in the last printed decimal (see ``printed``). Where the only published
number comes from another package's output rather than from the paper, the comment says so.

A failure here means riskeval disagrees with the literature. Do not loosen a tolerance or edit
an expected value to make a test pass; find out which side is wrong. Full citations are in
``papers/references.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskeval.agreement import (
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
    icc,
    krippendorff_alpha,
    percent_agreement,
)

nan = np.nan


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def printed(value: str):
    """``pytest.approx`` for a number as printed: equal up to the printed rounding.

    ``printed("0.430")`` accepts anything in [0.4295, 0.4305]. The tolerance is half a unit in
    the last printed decimal, plus a sliver for floating point.
    """
    decimals = len(value.split(".")[1]) if "." in value else 0
    return pytest.approx(float(value), abs=0.5 * 10.0**-decimals + 1e-12)


def as_long(wide) -> pd.DataFrame:
    """Cases x raters array -> long frame (case, rater, rating), missing ratings left out."""
    wide = np.asarray(wide, dtype=object)
    rows = [
        (f"c{i + 1}", f"r{j + 1}", wide[i, j])
        for i in range(wide.shape[0])
        for j in range(wide.shape[1])
        if not (isinstance(wide[i, j], float) and np.isnan(wide[i, j]))
    ]
    frame = pd.DataFrame(rows, columns=["case", "rater", "rating"])
    if all(isinstance(v, int | float | np.number) for v in frame["rating"]):
        frame["rating"] = frame["rating"].astype(float)
    return frame


def call(fn, data, layout: str, **kwargs):
    """Call an agreement function on the wide array or on its long form."""
    if layout == "wide":
        return fn(data, **kwargs)
    return fn(as_long(data), case="case", rater="rater", rating="rating", **kwargs)


def from_table(table) -> np.ndarray:
    """Two raters' contingency table (rows: rater 1, cols: rater 2) -> cases x 2 codes 1..q."""
    table = np.asarray(table)
    q = table.shape[0]
    pairs = [(i + 1, j + 1) for i in range(q) for j in range(q) for _ in range(table[i, j])]
    return np.array(pairs, dtype=float)


LAYOUTS = ["wide", "long"]


# ---------------------------------------------------------------------------------------------
# 1. Intraclass correlations: Shrout & Fleiss (1979)
# ---------------------------------------------------------------------------------------------

# Shrout & Fleiss (1979), Psychological Bulletin 86(2), Table 2: four judges (columns) rate six
# targets (rows).
SHROUT_FLEISS_TABLE2 = np.array(
    [
        [9, 2, 5, 8],
        [6, 1, 3, 2],
        [8, 4, 6, 8],
        [7, 1, 2, 6],
        [10, 5, 6, 9],
        [6, 2, 4, 7],
    ],
    dtype=float,
)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_shrout_fleiss_1979_mean_squares(layout):
    # Shrout & Fleiss (1979), ANOVA of the Table 2 data (Table 3): between-targets BMS = 11.24,
    # within-target WMS = 6.26, between-judges JMS = 32.49, residual EMS = 1.02.
    ms = call(icc, SHROUT_FLEISS_TABLE2, layout).mean_squares
    assert ms["BMS"] == printed("11.24")
    assert ms["WMS"] == printed("6.26")
    assert ms["JMS"] == printed("32.49")
    assert ms["EMS"] == printed("1.02")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_shrout_fleiss_1979_table4(layout):
    # Shrout & Fleiss (1979), Table 4: ICC(1,1) = .17, ICC(2,1) = .29, ICC(3,1) = .71,
    # ICC(1,4) = .44, ICC(2,4) = .62, ICC(3,4) = .91 (k = 4 judges).
    expected = {
        "ICC1": ".17",
        "ICC2": ".29",
        "ICC3": ".71",
        "ICC1k": ".44",
        "ICC2k": ".62",
        "ICC3k": ".91",
    }
    table = call(icc, SHROUT_FLEISS_TABLE2, layout).to_frame()
    assert list(table.index) == list(expected)
    for form, value in expected.items():
        assert table.loc[form, "ICC"] == printed(value), form
        # .estimate reports the requested form
        assert call(icc, SHROUT_FLEISS_TABLE2, layout, form=form).estimate == printed(value)


def test_shrout_fleiss_1979_confidence_intervals():
    # 95% intervals for the Table 2 data. These are package outputs, not numbers from the
    # paper: the intervals follow Shrout & Fleiss (1979) (F-based, Satterthwaite df for
    # ICC(2,1)), equivalently McGraw & Wong (1996) cases 1, 2A and 3.
    #  - Stata [R] icc, `webuse judges` (the same data), one-way model:
    #    individual .1657418 [-.1329323, .7225601], average .4427971 [-.8844422, .9124154];
    #    two-way random, absolute agreement, individual .2897638 [.0187865, ...].
    #  - The R `icc()` reference page in Andri Signorell's DescTools family, example
    #    "example from Shrout and Fleiss (1979)", prints all six forms (7 significant digits):
    #    ICC2 [0.01878651, 0.7610844], ICC1 [-0.13293232, 0.7225601],
    #    ICC3 [0.34246477, 0.9458583], ICC2k [0.07113682, 0.9272320],
    #    ICC1k [-0.88444216, 0.9124154], ICC3k [0.67567471, 0.9858917].
    #  Cross-check only: pingouin 0.6.1 intraclass_corr gives the same intervals to 2 dp.
    expected = {
        "ICC1": ("-0.13293232", "0.7225601"),
        "ICC2": ("0.01878651", "0.7610844"),
        "ICC3": ("0.34246477", "0.9458583"),
        "ICC1k": ("-0.88444216", "0.9124154"),
        "ICC2k": ("0.07113682", "0.9272320"),
        "ICC3k": ("0.67567471", "0.9858917"),
    }
    # The default level is 95% (the brief's signature named it alpha=0.05; the implementation
    # calls it confidence=0.95), so no keyword is passed.
    table = icc(SHROUT_FLEISS_TABLE2).to_frame()
    for form, (low, high) in expected.items():
        assert table.loc[form, "ci_low"] == printed(low), form
        assert table.loc[form, "ci_high"] == printed(high), form


def test_shrout_fleiss_1979_oneway_f_test():
    # Stata [R] icc, `webuse judges`, one-way random-effects model:
    # "F test that ICC=0.00: F(5.0, 18.0) = 1.79  Prob > F = 0.165".
    row = icc(SHROUT_FLEISS_TABLE2).to_frame().loc["ICC1"]
    assert row["F"] == printed("1.79")
    assert row["df1"] == 5
    assert row["df2"] == 18
    assert row["pval"] == printed("0.165")


# ---------------------------------------------------------------------------------------------
# 2. Fleiss' kappa: Fleiss (1971)
# ---------------------------------------------------------------------------------------------

# Fleiss (1971), Psychological Bulletin 76(5), Table 1: 30 patients, each diagnosed by 6
# psychiatrists (not the same six for every patient). Categories: 1 depression, 2 personality
# disorder, 3 schizophrenia, 4 neurosis, 5 other. Fleiss printed only the counts per category;
# this is the raw form distributed as `diagnoses` in the R package irr (taken here from the CSV
# export in the pyirr repository, pyrr/tests/diagnoses.csv). Checks: its category totals are
# 26, 26, 30, 55, 43, and rows 1-15 give exactly the counts of irrCAC's `distrib.6raters`.
FLEISS_1971_DIAGNOSES = np.array(
    [
        [4, 4, 4, 4, 4, 4],
        [2, 2, 2, 5, 5, 5],
        [2, 3, 3, 3, 3, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4],
        [1, 1, 3, 3, 3, 3],
        [3, 3, 3, 3, 5, 5],
        [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4],
        [5, 5, 5, 5, 5, 5],
        [1, 4, 4, 4, 4, 4],
        [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3],
        [1, 4, 4, 4, 4, 4],
        [2, 2, 4, 4, 4, 5],
        [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5],
        [1, 1, 1, 1, 1, 2],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 4, 4, 4, 4, 4],
        [2, 2, 4, 5, 5, 5],
        [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5],
        [2, 2, 2, 2, 2, 4],
        [1, 1, 1, 1, 5, 5],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3],
        [5, 5, 5, 5, 5, 5],
    ],
    dtype=float,
)
DIAGNOSES = [1, 2, 3, 4, 5]


def test_fleiss_1971_data_transcription():
    # Guard on the transcription above: category totals of Fleiss (1971) Table 1.
    totals = [int((FLEISS_1971_DIAGNOSES == c).sum()) for c in DIAGNOSES]
    assert totals == [26, 26, 30, 55, 43]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fleiss_1971_kappa(layout):
    # Fleiss (1971): overall kappa = .430 and category kappas .245 (depression),
    # .245 (personality disorder), .520 (schizophrenia), .471 (neurosis), .566 (other).
    # The same values are printed by irr::kappam.fleiss(diagnoses, detail=TRUE)
    # (Kappa = 0.430; 0.245, 0.245, 0.520, 0.471, 0.566).
    res = call(fleiss_kappa, FLEISS_1971_DIAGNOSES, layout)
    assert res.estimate == printed("0.430")
    per_category = res.per_category
    assert [float(c) for c in per_category.index] == DIAGNOSES
    expected = ["0.245", "0.245", "0.520", "0.471", "0.566"]
    for got, value in zip(per_category["kappa"], expected, strict=True):
        assert got == printed(value)


def test_fleiss_1971_kappa_z_tests():
    # z statistics for H0: kappa = 0, as printed by the R package irr,
    # kappam.fleiss(diagnoses, detail = TRUE) (current irr; the same output is reproduced in
    # the pyirr README): overall z = 17.652; category z = 5.192, 5.192, 11.031, 9.994, 12.009.
    # These use the null variances of Fleiss, Nee & Landis (1979) (also Fleiss, Levin & Paik
    # 2003, ch. 18): var(kappa) = 2 / (n m (m-1)) * [(sum p q)^2 - sum p q (q - p)] /
    # (sum p q)^2 and var(kappa_j) = 2 / (n m (m-1)). (The original 1971 variance formula,
    # used by some early irr versions, gives z = 15.64 here and is not what this checks.)
    # riskeval keeps this null standard error in extra["se_null"] (with z in extra["z"]);
    # its .se is Gwet's non-null standard error behind the interval (checked against irrCAC
    # below).
    res = fleiss_kappa(FLEISS_1971_DIAGNOSES)
    assert res.extra["z"] == printed("17.652")
    assert res.estimate / res.extra["se_null"] == printed("17.652")
    expected_z = ["5.192", "5.192", "11.031", "9.994", "12.009"]
    for got, value in zip(res.per_category["z"], expected_z, strict=True):
        assert got == printed(value)


# ---------------------------------------------------------------------------------------------
# 3. Krippendorff's alpha: Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability"
# ---------------------------------------------------------------------------------------------

# Krippendorff (2011), section C ("any number of observers, missing data"): observers A-D code
# 12 units; Krippendorff prints observers as rows, here the units are the rows. Identical to the
# irrCAC dataset `cac.raw4raters` (Gwet 2014).
KRIPPENDORFF_2011_C = np.array(
    [
        # A    B    C    D
        [1, 1, nan, 1],
        [2, 2, 3, 2],
        [3, 3, 3, 3],
        [3, 3, 3, 3],
        [2, 2, 2, 2],
        [1, 2, 3, 4],
        [4, 4, 4, 4],
        [1, 1, 2, 1],
        [2, 2, 2, 2],
        [nan, 5, 5, 5],
        [nan, nan, 1, 1],
        [nan, nan, 3, nan],
    ],
    dtype=float,
)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "level, expected",
    [("nominal", "0.743"), ("ordinal", "0.815"), ("interval", "0.849"), ("ratio", "0.797")],
)
def test_krippendorff_2011_four_observers_missing_data(layout, level, expected):
    # Krippendorff (2011), section C: alpha_nominal = 0.743, alpha_ordinal = 0.815,
    # alpha_interval = 0.849, alpha_ratio = 0.797. (The docstring of the `krippendorff` Python
    # package reproduces 0.743, 0.815 and 0.797 for these data.)
    res = call(krippendorff_alpha, KRIPPENDORFF_2011_C, layout, level=level)
    assert res.estimate == printed(expected)


# Krippendorff (2011), section A ("binary data, two observers, no missing data"): observers
# Ben and Gerry code ten units 0/1.
KRIPPENDORFF_2011_A = np.array(
    [[0, 1], [1, 1], [0, 1], [0, 0], [0, 0], [0, 1], [0, 0], [0, 0], [1, 0], [0, 0]],
    dtype=float,
)


def test_krippendorff_2011_binary_two_observers():
    # Krippendorff (2011), section A: alpha = 0.095.
    assert krippendorff_alpha(KRIPPENDORFF_2011_A, level="nominal").estimate == printed("0.095")


# Krippendorff (2011), section B ("nominal data, two observers, no missing data"): Ben and
# Gerry assign values a-e to twelve units.
KRIPPENDORFF_2011_B = np.array(
    [
        ["a", "b"],
        ["a", "a"],
        ["b", "b"],
        ["b", "b"],
        ["d", "b"],
        ["c", "c"],
        ["c", "c"],
        ["c", "c"],
        ["e", "e"],
        ["d", "d"],
        ["d", "d"],
        ["a", "d"],
    ],
    dtype=object,
)


def test_krippendorff_2011_nominal_two_observers():
    # Krippendorff (2011), section B: alpha = 0.692. The values are unordered labels.
    res = krippendorff_alpha(KRIPPENDORFF_2011_B, level="nominal")
    assert res.estimate == printed("0.692")


# The three-coder, fifteen-unit example with missing values from the Wikipedia article
# "Krippendorff's alpha" (section "A computational example"), itself taken from Krippendorff's
# own presentations. Units 2 and 14 have no ratings and unit 1 only one, so they are not
# pairable and must drop out.
KRIPPENDORFF_3_CODERS = np.array(
    [
        [nan, 1, nan],
        [nan, nan, nan],
        [nan, 2, 2],
        [nan, 1, 1],
        [nan, 3, 3],
        [3, 3, 4],
        [4, 4, 4],
        [1, 3, nan],
        [2, nan, 2],
        [1, nan, 1],
        [1, nan, 1],
        [3, nan, 3],
        [3, nan, 3],
        [nan, nan, nan],
        [3, nan, 4],
    ],
    dtype=float,
)


@pytest.mark.parametrize("level, expected", [("nominal", "0.691358"), ("interval", "0.810845")])
def test_krippendorff_three_coders_fifteen_units(level, expected):
    # Wikipedia, "Krippendorff's alpha": alpha_nominal = 0.691, alpha_interval = 0.811; to six
    # decimals (0.691358, 0.810845) in the docstring examples of the `krippendorff` Python
    # package (peer-package output).
    res = krippendorff_alpha(KRIPPENDORFF_3_CODERS, level=level)
    assert res.estimate == printed(expected)


# ---------------------------------------------------------------------------------------------
# 4. Gwet's AC1/AC2, Brennan-Prediger, percent agreement: Gwet (2014) via irrCAC
# ---------------------------------------------------------------------------------------------
# Expected values are the outputs printed in the documentation of Gwet's R package irrCAC 1.0
# (README / vignette "Calculating Chance-corrected Agreement Coefficients" and vignette
# "Weighted Chance-corrected Agreement Coefficients"), which implements Gwet (2014), Handbook
# of Inter-Rater Reliability, 4th ed. Standard errors are Gwet's (2008) variance estimators
# with finite-population correction 1 (irrCAC's default N = Inf). irrCAC rounds coeff.val,
# coeff.se to 5 decimals for raw data; other columns are printed to R's 7 significant digits.
# R drops trailing zeros, so "0.835" in a 7-digit column is written below as "0.8350000".


def test_irrcac_raw4raters_unweighted():
    # irrCAC README, cac.raw4raters (= KRIPPENDORFF_2011_C):
    #   pa.coeff.raw:      pa 0.8181818
    #   gwet.ac1.raw:      pa 0.8181818, pe 0.1903212, AC1 0.77544, se 0.14295
    #   bp.coeff.raw:      pa 0.8181818, pe 0.2, BP 0.77273, se 0.14472
    #   fleiss.kappa.raw:  0.76117, se 0.15302 (Fleiss' kappa as generalised by Gwet 2014 to
    #                      missing ratings: pa over cases with >= 2 ratings, pe from
    #                      case-averaged classification probabilities; se is Gwet's non-null
    #                      standard error, not the Fleiss-Nee-Landis null one)
    #   krippen.alpha.raw: 0.74342
    data = KRIPPENDORFF_2011_C

    ac1 = gwet_ac(data)
    assert ac1.estimate == printed("0.77544")
    assert ac1.se == printed("0.14295")
    assert ac1.extra["pa"] == printed("0.8181818")
    assert ac1.extra["pe"] == printed("0.1903212")

    bp = brennan_prediger(data)
    assert bp.estimate == printed("0.77273")
    assert bp.se == printed("0.14472")

    assert percent_agreement(data).estimate == printed("0.8181818")
    fleiss = fleiss_kappa(data)
    assert fleiss.estimate == printed("0.76117")
    assert fleiss.se == printed("0.15302")
    assert krippendorff_alpha(data, level="nominal").estimate == printed("0.74342")


def test_irrcac_raw4raters_quadratic_weights():
    # irrCAC vignette "Weighted Chance-corrected Agreement Coefficients", cac.raw4raters with
    # weights = "quadratic" (categories 1..5, w = 1 - (k - l)^2 / 4^2):
    #   gwet.ac1.raw: pa 0.9753788, pe 0.7137044, AC2 0.914 (= 0.91400), se 0.10396
    #   bp.coeff.raw: pa 0.9753788, pe 0.75, BP 0.90152, se 0.11089
    #   pa.coeff.raw: pa 0.9753788
    data = KRIPPENDORFF_2011_C

    ac2 = gwet_ac(data, weights="quadratic")
    assert ac2.estimate == printed("0.91400")
    assert ac2.se == printed("0.10396")
    assert ac2.extra["pa"] == printed("0.9753788")
    assert ac2.extra["pe"] == printed("0.7137044")

    bp = brennan_prediger(data, weights="quadratic")
    assert bp.estimate == printed("0.90152")
    assert bp.se == printed("0.11089")

    assert percent_agreement(data, weights="quadratic").estimate == printed("0.9753788")


def test_irrcac_distrib6raters_unweighted():
    # irrCAC README, distrib.6raters: the category counts of the first 15 patients of Fleiss
    # (1971), here given as raw ratings (FLEISS_1971_DIAGNOSES rows 1-15):
    #   gwet.ac1.dist:      AC1 0.4448007, stderr 0.08418757, pa 0.5511111, pe 0.1914815
    #   fleiss.kappa.dist:  0.4139265, stderr 0.08119291 (Gwet's non-null standard error)
    #   krippen.alpha.dist: 0.4204384
    #   bp.coeff.dist:      BP 0.4388889, stderr 0.08312142
    data = FLEISS_1971_DIAGNOSES[:15]

    ac1 = gwet_ac(data, categories=DIAGNOSES)
    assert ac1.estimate == printed("0.4448007")
    assert ac1.se == printed("0.08418757")
    assert ac1.extra["pa"] == printed("0.5511111")
    assert ac1.extra["pe"] == printed("0.1914815")

    bp = brennan_prediger(data, categories=DIAGNOSES)
    assert bp.estimate == printed("0.4388889")
    assert bp.se == printed("0.08312142")

    fleiss = fleiss_kappa(data, categories=DIAGNOSES)
    assert fleiss.estimate == printed("0.4139265")
    assert fleiss.se == printed("0.08119291")
    alpha = krippendorff_alpha(data, level="nominal", categories=DIAGNOSES)
    assert alpha.estimate == printed("0.4204384")


def test_irrcac_distrib6raters_quadratic_weights():
    # irrCAC vignette "Weighted Chance-corrected Agreement Coefficients", distrib.6raters with
    # quadratic.weights(1:5) (arithmetic only: the diagnoses are not really ordered):
    #   gwet.ac1.dist: AC2 0.4837438, stderr 0.1058227, pa 0.8544444, pe 0.7180556
    #   bp.coeff.dist: BP 0.4177778, stderr 0.1067493, pe 0.75
    data = FLEISS_1971_DIAGNOSES[:15]

    ac2 = gwet_ac(data, weights="quadratic", categories=DIAGNOSES)
    assert ac2.estimate == printed("0.4837438")
    assert ac2.se == printed("0.1058227")
    assert ac2.extra["pa"] == printed("0.8544444")
    assert ac2.extra["pe"] == printed("0.7180556")

    bp = brennan_prediger(data, weights="quadratic", categories=DIAGNOSES)
    assert bp.estimate == printed("0.4177778")
    assert bp.se == printed("0.1067493")


# Gwet (2014) / irrCAC `cont3x3abstractors`: two abstractors classify 100 pregnancies as
# ectopic (1), abnormal intrauterine (2) or normal intrauterine (3). Rows: abstractor 1.
ABSTRACTORS_TABLE = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]


def test_irrcac_two_raters_abstractors_unweighted():
    # irrCAC README, cont3x3abstractors:
    #   kappa2.table:   Cohen's kappa 0.7964094, se 0.05891072
    #   gwet.ac1.table: AC1 0.8493305
    #   bp2.table:      BP 0.835
    #   pa2.table:      0.89
    #   krippen2.table: alpha 0.7972585
    # The kappa se equals the large-sample (non-null) standard error of Fleiss, Cohen &
    # Everitt (1969). The AC1/BP standard errors of the *.table functions divide by n, while
    # the raw-ratings formula (which gwet_ac uses) divides by n - 1 (irrCAC raw: AC1 se
    # 0.04344), so only the AC1/BP estimates are compared here.
    data = from_table(ABSTRACTORS_TABLE)

    kappa = cohen_kappa(data[:, 0], data[:, 1])
    assert kappa.estimate == printed("0.7964094")
    assert kappa.se == printed("0.05891072")

    assert gwet_ac(data).estimate == printed("0.8493305")
    assert brennan_prediger(data).estimate == printed("0.8350000")
    assert percent_agreement(data).estimate == printed("0.8900000")
    assert krippendorff_alpha(data, level="nominal").estimate == printed("0.7972585")


def test_irrcac_two_raters_abstractors_quadratic_weights():
    # irrCAC vignette "Weighted Chance-corrected Agreement Coefficients", cont3x3abstractors
    # with quadratic.weights(1:3):
    #   kappa2.table:   weighted kappa 0.8921569, se 0.03535151 (Fleiss, Cohen & Everitt 1969)
    #   gwet.ac1.table: AC2 0.9402369
    #   bp2.table:      BP 0.9175
    #   pa2.table:      0.9725
    #   krippen2.table: alpha 0.8926487 (quadratic weights = Krippendorff's interval metric)
    data = from_table(ABSTRACTORS_TABLE)

    kappa = cohen_kappa(data[:, 0], data[:, 1], weights="quadratic")
    assert kappa.estimate == printed("0.8921569")
    assert kappa.se == printed("0.03535151")

    assert gwet_ac(data, weights="quadratic").estimate == printed("0.9402369")
    assert brennan_prediger(data, weights="quadratic").estimate == printed("0.9175000")
    assert percent_agreement(data, weights="quadratic").estimate == printed("0.9725000")
    assert krippendorff_alpha(data, level="interval").estimate == printed("0.8926487")


# ---------------------------------------------------------------------------------------------
# 5. Cohen's kappa and weighted kappa with asymptotic standard errors: SAS PROC FREQ
# ---------------------------------------------------------------------------------------------

# A 3 x 3 agreement table analysed with SAS PROC FREQ (AGREE); the SAS listing is reproduced in
# statsmodels' test suite (statsmodels/stats/tests/test_inter_rater.py, `table10`). Rows:
# rater 1, categories 1..3 (rater 2 never uses category 1).
SAS_TABLE = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]


def test_sas_simple_and_weighted_kappa():
    # SAS PROC FREQ output:
    #   Simple kappa 0.4842, ASE 0.1380, 95% CL 0.2137 to 0.7547
    #   Weighted kappa 0.4701, ASE 0.1457, 95% CL 0.1845 to 0.7558 (SAS's default
    #   Cicchetti-Allison weights, which for equally spaced scores are the linear weights
    #   1 - |i - j| / (q - 1)).
    # ASE is the large-sample non-null standard error of Fleiss, Cohen & Everitt (1969); the
    # limits are kappa -/+ 1.96 ASE.
    data = from_table(SAS_TABLE)

    simple = cohen_kappa(data[:, 0], data[:, 1])
    assert simple.estimate == printed("0.4842")
    assert simple.se == printed("0.1380")
    assert simple.ci[0] == printed("0.2137")
    assert simple.ci[1] == printed("0.7547")

    weighted = cohen_kappa(data[:, 0], data[:, 1], weights="linear")
    assert weighted.estimate == printed("0.4701")
    assert weighted.se == printed("0.1457")
    assert weighted.ci[0] == printed("0.1845")
    assert weighted.ci[1] == printed("0.7558")
