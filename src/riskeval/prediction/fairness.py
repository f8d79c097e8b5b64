"""Error rates, calibration and discrimination of a risk classification, group by group.

These functions take any outcome, any score or band and any grouping (offices, officers,
demographic groups) and answer the three questions of the COMPAS debate:

* :func:`error_rates` -- for each group, the base rate and the false positive and false
  negative rates (FPR, FNR) and the predictive values (PPV, NPV) of a yes/no flag, with Wilson
  intervals; the largest between-group gap in FPR and in FNR with a Newcombe interval; and
  Pearson chi-square tests that FPR (and FNR) are equal in every group. This is the "error rate
  balance" view taken by Angwin et al. (2016).
* :func:`calibration_within_groups` -- for each group and band, the observed outcome rate
  with a Wilson interval, and likelihood-ratio tests of whether the group adds anything to the
  band in predicting the outcome (logistic ``y ~ band`` against ``y ~ band + group +
  band:group``). This is the "calibration within groups" view of Flores, Bechtel & Lowenkamp
  (2016) and Northpointe's reply.
* :func:`score_auc_by_group` -- the area under the ROC curve of a score in each group, with
  DeLong standard errors and a chi-square test of equal AUCs.

When base rates differ between groups, a calibrated classification cannot have equal FPR and
FNR in every group (Chouldechova 2017; Kleinberg, Mullainathan & Raghavan 2017), so the two
views can both be right about the same data; look at both.

Every function takes its inputs either as arrays / Series of equal length, or as column names
together with ``data=`` (a DataFrame). Rows are matched by position, and problems are reported
with the row label of the offending argument.

References
----------
Angwin, J., Larson, J., Mattu, S. & Kirchner, L. (2016). Machine bias. *ProPublica*, 23 May
2016. https://www.propublica.org/article/machine-bias-risk-assessments-in-criminal-sentencing

Larson, J., Mattu, S., Kirchner, L. & Angwin, J. (2016). How we analyzed the COMPAS recidivism
algorithm. *ProPublica*, 23 May 2016.
https://www.propublica.org/article/how-we-analyzed-the-compas-recidivism-algorithm

Flores, A. W., Bechtel, K. & Lowenkamp, C. T. (2016). False positives, false negatives, and
false analyses: A rejoinder to "Machine Bias". *Federal Probation* 80(2), 38-46.

Chouldechova, A. (2017). Fair prediction with disparate impact: A study of bias in recidivism
prediction instruments. *Big Data* 5(2), 153-163. https://doi.org/10.1089/big.2016.0047

Kleinberg, J., Mullainathan, S. & Raghavan, M. (2017). Inherent trade-offs in the fair
determination of risk scores. *Proceedings of ITCS 2017*, 43:1-43:23.

Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*Journal of the American Statistical Association* 22(158), 209-212.

Newcombe, R. G. (1998). Interval estimation for the difference between independent
proportions: comparison of eleven methods. *Statistics in Medicine* 17(8), 873-890.

DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two or
more correlated receiver operating characteristic curves: a nonparametric approach.
*Biometrics* 44(3), 837-845.

Agresti, A. (2013). *Categorical Data Analysis* (3rd ed.), sections 3.2 and 4.5. Wiley.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import as_values, name_row, plain_value
from .._core.checks import check_confidence as _check_confidence
from .._core.intervals import newcombe_difference, wilson_interval
from .._core.results import Result
from ..errors import DegenerateDataWarning, RiskevalError
from ._common import _outcome

__all__ = [
    "AUCByGroup",
    "ErrorRates",
    "GroupCalibrationResult",
    "calibration_within_groups",
    "error_rates",
    "newcombe_difference",
    "score_auc_by_group",
    "wilson_interval",
]

_MAX_LEVELS = 20  # a numeric "band" with more distinct values than this needs bins=


# ---------------------------------------------------------------------------------------------
# intervals
# ---------------------------------------------------------------------------------------------


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


# ---------------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------------


def _same_length(named: dict[str, pd.Series]) -> int:
    lengths = {k: len(v) for k, v in named.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise RiskevalError(f"the inputs have different lengths ({detail}); expected one value "
                            "per person in each")
    n = next(iter(lengths.values()))
    if n == 0:
        raise RiskevalError(f"the inputs are empty ({', '.join(lengths)} have 0 rows); "
                            "expected at least one person")
    return n


def _group_codes(series: pd.Series, name: str) -> tuple[np.ndarray, list]:
    """Integer codes and the group labels in display order."""
    missing = series.isna().to_numpy()
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise RiskevalError(f"{name} is missing at {name_row(series.index, pos)} "
                            f"({int(missing.sum())} missing in all); every person needs a "
                            "group label")
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.unique())
        labels = [c for c in series.cat.categories if c in present]
    else:
        uniq = list(pd.unique(series))
        try:
            labels = sorted(uniq)
        except TypeError:
            labels = uniq
    codes = pd.Index(labels).get_indexer(series.to_numpy()).astype(np.int64)
    return codes, labels


def _band_codes(series: pd.Series, name: str, order: Sequence | None, bins: int | None
                ) -> tuple[np.ndarray, list]:
    """Integer codes of the band (lowest first) and the band labels."""
    missing = series.isna().to_numpy()
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise RiskevalError(f"{name} is missing at {name_row(series.index, pos)} "
                            f"({int(missing.sum())} missing in all); every person needs a band "
                            "or score")
    if bins is not None:
        if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
                series.dtype):
            raise RiskevalError(f"bins={bins!r} cuts a numeric score into quantile bands, but "
                                f"{name} is not numeric (dtype {series.dtype})")
        if not isinstance(bins, int | np.integer) or bins < 2:
            raise RiskevalError(f"bins={bins!r} is not a whole number of bands of at least 2")
        cut = pd.qcut(series.astype(float), int(bins), duplicates="drop")
        labels = [str(c) for c in cut.cat.categories]
        return cut.cat.codes.to_numpy(dtype=np.int64), labels
    if order is not None:
        labels = list(order)
        if len(set(labels)) != len(labels):
            raise RiskevalError(f"order={labels!r} lists a band twice; expected each band once, "
                                "lowest risk first")
    elif isinstance(series.dtype, pd.CategoricalDtype):
        if not series.cat.ordered:
            raise RiskevalError(f"{name} is an unordered categorical; pass order=[...] (lowest "
                                "risk first) or make it ordered")
        labels = list(series.cat.categories)
    elif pd.api.types.is_numeric_dtype(series.dtype):
        labels = sorted(pd.unique(series))
        if len(labels) > _MAX_LEVELS:
            raise RiskevalError(f"{name} is numeric with {len(labels)} distinct values; "
                                f"expected a band (at most {_MAX_LEVELS} levels). Pass bins=10 "
                                "to cut the score into quantile bands")
    else:
        raise RiskevalError(f"{name} holds text, whose sort order is not risk order; pass "
                            f"order=[...] with its levels lowest risk first (seen: "
                            f"{sorted(map(str, pd.unique(series)))})")
    codes = pd.Index(labels, dtype=object).get_indexer(series.to_numpy(dtype=object)
                                                       ).astype(np.int64)
    bad = codes < 0
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = plain_value(series.iloc[pos])
        raise RiskevalError(f"{name} has the value {value!r} at "
                            f"{name_row(series.index, pos)}, which is not one of the bands "
                            f"{labels!r}")
    return codes, labels


def _numeric_score(series: pd.Series, name: str) -> np.ndarray:
    missing = series.isna().to_numpy()
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise RiskevalError(f"{name} is missing at {name_row(series.index, pos)} "
                            f"({int(missing.sum())} missing in all); expected a number for "
                            "every person")
    if isinstance(series.dtype, pd.CategoricalDtype) and series.cat.ordered:
        return series.cat.codes.to_numpy(dtype=float)
    numeric = pd.to_numeric(series, errors="coerce")
    bad = numeric.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = plain_value(series.iloc[pos])
        raise RiskevalError(f"{name} has the value {value!r} at {name_row(series.index, pos)}; "
                            "expected a number (or an ordered categorical)")
    return numeric.to_numpy(dtype=float)


def _chi2_homogeneity(table: np.ndarray) -> tuple[float, int, float, float]:
    """Pearson chi-square test that the rows of a k x 2 table share one proportion."""
    table = np.asarray(table, dtype=float)
    df = table.shape[0] - 1
    col = table.sum(axis=0)
    if df < 1:
        return math.nan, 0, math.nan, math.nan
    expected = np.outer(table.sum(axis=1), col) / table.sum()
    if (col == 0).any():  # every group has rate 0 (or 1): no difference to test
        return 0.0, df, 1.0, float(expected.min())
    res = stats.chi2_contingency(table, correction=False)
    return float(res.statistic), df, float(res.pvalue), float(expected.min())


# ---------------------------------------------------------------------------------------------
# error rates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorRates(Result):
    """Per-group error rates of a yes/no flag, their largest gaps and tests of equality.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``n``, the confusion counts ``tp, fp, tn, fn``, ``positives``
        (outcome 1) and ``negatives`` (outcome 0), ``flagged`` (predicted positive), and
        ``base_rate``, ``flag_rate``, ``fpr``, ``fnr``, ``ppv``, ``npv`` each with ``_low`` and
        ``_high`` Wilson limits. A rate whose denominator is 0 is NaN.
    overall : pandas.Series
        The same quantities for everyone together.
    gaps : pandas.DataFrame
        Rows ``fpr`` and ``fnr``: the groups with the highest and lowest rate, the two rates,
        their ``difference`` (highest minus lowest) with a Newcombe interval (``low``,
        ``high``). The pair is chosen because its gap is largest, so the interval is that of
        the chosen pair and is not adjusted for the choice; ``tests`` is the honest test of
        any difference.
    tests : pandas.DataFrame
        Rows ``fpr`` and ``fnr``: Pearson chi-square test of equal rates in every group
        (``chi2``, ``df``, ``pvalue``), the number of ``groups`` that entered (those with a
        defined rate) and the smallest expected cell count ``min_expected`` (below about 5 the
        chi-square approximation is rough).
    confidence : float
        Level of every interval.

    Examples
    --------
    >>> import numpy as np
    >>> y    = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1])
    >>> flag = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    >>> office = np.repeat(["north", "south"], 8)
    >>> res = error_rates(y, flag, office)
    >>> res.to_frame().shape, float(res.to_frame().loc["south", "fpr"])
    ((2, 26), 0.75)
    >>> res.summary().splitlines()[0].split()[:3]
    ['n', 'base_rate', 'fpr']
    """

    title: ClassVar[str] = "Error rates by group"

    table: pd.DataFrame
    overall: pd.Series
    gaps: pd.DataFrame
    tests: pd.DataFrame
    confidence: float

    def plot(self, ax: Any = None) -> Any:
        """False positive and false negative rates by group, with their intervals.

        Returns the matplotlib Figure, or the Axes when ``ax`` is given.
        """
        from ._plots import error_rates

        return error_rates(self, ax)

    def summary(self, digits: int = 3) -> str:
        """Plain-text table of the per-group rates, the gaps and the tests."""
        cols = ["n", "base_rate", "fpr", "fnr", "ppv", "npv"]
        lines = [self.table[cols].round(digits).to_string(), ""]
        for rate in ("fpr", "fnr"):
            g, t = self.gaps.loc[rate], self.tests.loc[rate]
            lines.append(
                f"{rate.upper()}: largest gap {g['difference']:.{digits}f} "
                f"({g['higher_group']} - {g['lower_group']}, {self.confidence:.0%} CI "
                f"{g['low']:.{digits}f} to {g['high']:.{digits}f}); equal-rate chi2 = "
                f"{t['chi2']:.2f} on {int(t['df'])} df, p = {t['pvalue']:.3g}")
        return "\n".join(lines)


def _rates_row(tp: np.ndarray, fp: np.ndarray, tn: np.ndarray, fn: np.ndarray,
               confidence: float) -> dict[str, np.ndarray]:
    n = tp + fp + tn + fn
    pos, neg = tp + fn, fp + tn
    flagged, cleared = tp + fp, tn + fn
    out: dict[str, np.ndarray] = {
        "n": n, "positives": pos, "negatives": neg, "flagged": flagged,
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }
    pairs = {"base_rate": (pos, n), "flag_rate": (flagged, n), "fpr": (fp, neg),
             "fnr": (fn, pos), "ppv": (tp, flagged), "npv": (tn, cleared)}
    for key, (k, m) in pairs.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            est = np.where(m > 0, k / np.maximum(m, 1), np.nan)
        low, high = wilson_interval(k, m, confidence)
        out[key], out[f"{key}_low"], out[f"{key}_high"] = est, low, high
    return out


def error_rates(y: Any, predicted_positive: Any, groups: Any, confidence: float = 0.95, *,
                data: pd.DataFrame | None = None) -> ErrorRates:
    """False positive and false negative rates of a flag in each group, compared across groups.

    Parameters
    ----------
    y : array_like, Series or column name
        The outcome, 0/1 or False/True (for example two-year recidivism).
    predicted_positive : array_like, Series or column name
        The flag, 0/1 or False/True (for example "medium or high risk").
    groups : array_like, Series or column name
        Group of each person: office, officer, race... Any labels; missing labels are an error.
    confidence : float
        Level of the Wilson and Newcombe intervals.
    data : pandas.DataFrame, optional
        Table holding the columns when the first three arguments are column names.

    Returns
    -------
    ErrorRates
        ``table`` (one row per group), ``overall``, ``gaps`` and ``tests``; see
        :class:`ErrorRates`.

    Raises
    ------
    RiskevalError
        Inputs of different or zero length, a value of ``y`` or ``predicted_positive`` other
        than 0/1/True/False (the message names the value and its row), a missing value, or a
        column name not in ``data``.

    Warns
    -----
    DegenerateDataWarning
        When fewer than two groups have a defined FPR (or FNR), so nothing can be compared.

    Notes
    -----
    FPR = FP / (FP + TN) is the share of people without the outcome who were flagged; FNR =
    FN / (FN + TP) the share of people with the outcome who were not flagged; PPV and NPV are
    the outcome rates among the flagged and the cleared. Intervals are Wilson (1927) intervals
    for each rate and a Newcombe (1998) hybrid score interval for the largest gap. The test of
    equal FPR is the Pearson chi-square test of homogeneity on the groups x flag table of the
    people without the outcome (Agresti 2013, sec. 3.2), with groups - 1 degrees of freedom;
    likewise for FNR among the people with the outcome. Groups whose denominator is empty are
    left out of the gap and the test.

    Examples
    --------
    >>> import numpy as np
    >>> y    = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1])
    >>> flag = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    >>> office = np.repeat(["north", "south"], 8)
    >>> out = error_rates(y, flag, office)
    >>> out.table["fpr"].to_dict(), out.table["fnr"].to_dict()
    ({'north': 0.25, 'south': 0.75}, {'north': 0.25, 'south': 0.0})
    >>> round(float(out.gaps.loc["fpr", "difference"]), 2)
    0.5
    """
    level = _check_confidence(confidence)
    s_y = as_values(y, "y", data)
    s_p = as_values(predicted_positive, "predicted_positive", data)
    s_g = as_values(groups, "groups", data)
    _same_length({"y": s_y, "predicted_positive": s_p, "groups": s_g})
    yy = _outcome(s_y, "y")
    pp = _outcome(s_p, "predicted_positive")
    codes, labels = _group_codes(s_g, "groups")
    k = len(labels)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=k).astype(np.int64)

    tp, fp = count(yy & pp), count(~yy & pp)
    tn, fn = count(~yy & ~pp), count(yy & ~pp)
    index = pd.Index(labels, name=s_g.name if isinstance(s_g.name, str) else "group")
    table = pd.DataFrame(_rates_row(tp, fp, tn, fn, level), index=index)
    total = _rates_row(*(np.array([v.sum()]) for v in (tp, fp, tn, fn)), level)
    overall = pd.Series({key: val[0] for key, val in total.items()}, name="(all)")

    gap_rows, test_rows = {}, {}
    for rate, num, den_other in (("fpr", fp, tn), ("fnr", fn, tp)):
        den = num + den_other
        ok = den > 0
        names = [lab for lab, good in zip(labels, ok, strict=True) if good]
        if ok.sum() < 2:
            warnings.warn(f"fewer than two groups have a defined {rate.upper()} (groups with "
                          f"people in its denominator: {names!r}); gap and test are NaN",
                          DegenerateDataWarning, stacklevel=2)
            gap_rows[rate] = {"higher_group": None, "lower_group": None, "higher": math.nan,
                              "lower": math.nan, "difference": math.nan, "low": math.nan,
                              "high": math.nan}
            test_rows[rate] = {"chi2": math.nan, "df": 0, "pvalue": math.nan,
                               "groups": int(ok.sum()), "min_expected": math.nan}
            continue
        est = table[rate].to_numpy()
        idx = np.flatnonzero(ok)
        hi = int(idx[np.argmax(est[idx])])
        lo = int(idx[np.argmin(est[idx])])
        d, d_low, d_high = newcombe_difference(int(num[hi]), int(den[hi]), int(num[lo]),
                                               int(den[lo]), level)
        gap_rows[rate] = {"higher_group": labels[hi], "lower_group": labels[lo],
                          "higher": float(est[hi]), "lower": float(est[lo]), "difference": d,
                          "low": d_low, "high": d_high}
        chi2, df, pvalue, min_exp = _chi2_homogeneity(
            np.column_stack([num[idx], den_other[idx]]))
        test_rows[rate] = {"chi2": chi2, "df": df, "pvalue": pvalue, "groups": len(idx),
                           "min_expected": min_exp}
    gaps = pd.DataFrame.from_dict(gap_rows, orient="index")
    tests = pd.DataFrame.from_dict(test_rows, orient="index")
    tests[["df", "groups"]] = tests[["df", "groups"]].astype(int)
    return ErrorRates(table=table, overall=overall, gaps=gaps, tests=tests, confidence=level)


# ---------------------------------------------------------------------------------------------
# calibration within groups
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCalibrationResult(Result):
    """Observed outcome rates by group and band, and tests of whether group adds to band.

    Attributes
    ----------
    table : pandas.DataFrame
        Index (group, band); columns ``n``, ``events``, ``rate``, ``low``, ``high`` (Wilson).
        Only cells with people in them appear.
    tests : pandas.DataFrame
        Likelihood-ratio tests between nested logistic models, rows:

        * ``band`` -- ``y ~ 1`` against ``y ~ band``: how much the band predicts;
        * ``group`` -- ``y ~ band`` against ``y ~ band + group + band:group``: everything the
          group adds (the calibration test);
        * ``group_main`` -- ``y ~ band`` against ``y ~ band + group``: a common shift of every
          band in a group;
        * ``interaction`` -- ``y ~ band + group`` against the full model: bands that rank
          differently in different groups.

        Columns ``lr`` (twice the log-likelihood gain), ``df``, ``pvalue``.
    coefficients : pandas.DataFrame
        The additive model ``y ~ band + group``: log-odds ``estimate``, ``se``, ``odds_ratio``
        with ``or_low``/``or_high``, for each band and group term against the lowest band and
        the first group.
    group_share : float
        ``tests.loc["group", "lr"] / tests.loc["band", "lr"]``: what the group adds, as a share
        of what the band explains. "Calibration by band is similar across groups" means this
        is small (and ``interaction`` is not significant).
    bands, groups : tuple
        Band labels (lowest first) and group labels.
    confidence : float
        Level of every interval.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> band = rng.integers(0, 3, 300)
    >>> y = rng.random(300) < np.array([0.2, 0.45, 0.7])[band]
    >>> res = calibration_within_groups(y, band, rng.choice(["a", "b"], 300))
    >>> type(res).__name__, res.to_frame().shape, res.rates.shape
    ('GroupCalibrationResult', (6, 5), (3, 2))
    """

    title: ClassVar[str] = "Calibration within groups"

    table: pd.DataFrame
    tests: pd.DataFrame
    coefficients: pd.DataFrame
    group_share: float
    bands: tuple
    groups: tuple
    confidence: float

    def plot(self, ax: Any = None) -> Any:
        """Observed rate by band, one line per group, with Wilson intervals.

        Returns the matplotlib Figure, or the Axes when ``ax`` is given.
        """
        from ._plots import group_calibration

        return group_calibration(self, ax)

    @property
    def rates(self) -> pd.DataFrame:
        """Observed rates as a band x group table."""
        return self.table["rate"].unstack(0).reindex(index=list(self.bands),
                                                     columns=list(self.groups))

    def summary(self, digits: int = 3) -> str:
        """Plain-text rates by band and group, and the likelihood-ratio tests."""
        return "\n".join([self.rates.round(digits).to_string(), "",
                          self.tests.round(4).to_string(),
                          f"group adds {self.group_share:.1%} of the band's likelihood-ratio "
                          "statistic"])


def _bernoulli_loglik(events: np.ndarray, n: np.ndarray, p: np.ndarray) -> float:
    """sum of k log p + (n-k) log(1-p), with 0 log 0 = 0."""
    events = np.asarray(events, dtype=float)
    n = np.asarray(n, dtype=float)
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(events > 0, events * np.log(p), 0.0)
        b = np.where(n - events > 0, (n - events) * np.log1p(-p), 0.0)
    return float(np.sum(a + b))


def _saturated_loglik(events: np.ndarray, n: np.ndarray) -> float:
    return _bernoulli_loglik(events, n, events / n)


def calibration_within_groups(y: Any, band_or_score: Any, groups: Any,
                              confidence: float = 0.95, *, data: pd.DataFrame | None = None,
                              order: Sequence | None = None, bins: int | None = None
                              ) -> GroupCalibrationResult:
    """Does a band mean the same risk in every group? Rates by band and likelihood-ratio tests.

    Parameters
    ----------
    y : array_like, Series or column name
        The outcome, 0/1 or False/True.
    band_or_score : array_like, Series or column name
        The risk band (ordered categorical, or text with ``order=``), or a numeric score with
        few levels (each value a band, e.g. deciles 1-10), or any numeric score with ``bins=``.
    groups : array_like, Series or column name
        Group of each person (office, race...).
    confidence : float
        Level of the Wilson intervals and of the odds-ratio intervals.
    data : pandas.DataFrame, optional
        Table holding the columns when arguments are column names.
    order : sequence, optional
        Band levels lowest risk first; needed when the band is text.
    bins : int, optional
        Cut a numeric score into this many quantile bands first.

    Returns
    -------
    GroupCalibrationResult
        ``table``, ``tests``, ``coefficients``, ``group_share``; see
        :class:`GroupCalibrationResult`.

    Raises
    ------
    RiskevalError
        Inputs of different or zero length, non-binary ``y``, missing values, a band value
        outside ``order``, text bands without ``order``, a numeric score with more than 20
        levels without ``bins``.

    Notes
    -----
    The band and the full band x group models are saturated in their cells, so their maximised
    log-likelihoods are computed exactly from the cell counts (the value a logistic regression
    in statsmodels reaches, and free of its convergence trouble when a cell is all 0 or all 1).
    The additive model ``y ~ band + group`` is fitted by maximum likelihood with statsmodels
    (binomial GLM on the cell counts). Each statistic is referred to chi-square with the
    difference in the number of estimable parameters as degrees of freedom (Agresti 2013,
    sec. 4.5). With large samples a tiny, practically irrelevant group effect will be
    "significant"; ``group_share`` and the per-band rates say whether it matters.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> band = rng.integers(0, 3, 3000)
    >>> office = rng.choice(["a", "b"], 3000)
    >>> y = rng.random(3000) < np.array([0.2, 0.45, 0.7])[band]   # same meaning everywhere
    >>> res = calibration_within_groups(y, band, office)
    >>> bool(res.tests.loc["group", "pvalue"] > 0.05), bool(res.group_share < 0.05)
    (True, True)
    """
    import statsmodels.api as sm

    level = _check_confidence(confidence)
    s_y = as_values(y, "y", data)
    s_b = as_values(band_or_score, "band_or_score", data)
    s_g = as_values(groups, "groups", data)
    _same_length({"y": s_y, "band_or_score": s_b, "groups": s_g})
    yy = _outcome(s_y, "y").astype(float)
    bcodes, blabels = _band_codes(s_b, "band_or_score", order, bins)
    gcodes, glabels = _group_codes(s_g, "groups")

    frame = pd.DataFrame({"g": gcodes, "b": bcodes, "y": yy})
    cells = frame.groupby(["g", "b"], sort=True)["y"].agg(["size", "sum"])
    cells.columns = ["n", "events"]
    n_c, k_c = cells["n"].to_numpy(float), cells["events"].to_numpy(float)
    low, high = wilson_interval(k_c, n_c, level)
    gi = cells.index.get_level_values("g").to_numpy()
    bi = cells.index.get_level_values("b").to_numpy()
    table = pd.DataFrame(
        {"n": n_c.astype(np.int64), "events": k_c.astype(np.int64), "rate": k_c / n_c,
         "low": low, "high": high},
        index=pd.MultiIndex.from_arrays(
            [np.asarray(glabels, dtype=object)[gi], np.asarray(blabels, dtype=object)[bi]],
            names=["group", "band"]))

    band_tot = frame.groupby("b")["y"].agg(["size", "sum"])
    n_total, k_total = float(len(yy)), float(yy.sum())
    ll_null = _saturated_loglik(np.array([k_total]), np.array([n_total]))
    ll_band = _saturated_loglik(band_tot["sum"].to_numpy(float),
                                band_tot["size"].to_numpy(float))
    ll_full = _saturated_loglik(k_c, n_c)
    used_b = np.unique(bi)
    used_g = np.unique(gi)
    n_band, n_group, n_cells = len(used_b), len(used_g), len(cells)

    # additive model on the cells
    bdum = (bi[:, None] == used_b[None, 1:]).astype(float)
    gdum = (gi[:, None] == used_g[None, 1:]).astype(float)
    exog = np.column_stack([np.ones(n_cells), bdum, gdum])
    names = (["intercept"] + [f"band[{blabels[b]}]" for b in used_b[1:]]
             + [f"group[{glabels[g]}]" for g in used_g[1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(np.column_stack([k_c, n_c - k_c]), exog,
                     family=sm.families.Binomial()).fit()
    ll_add = _bernoulli_loglik(k_c, n_c, np.clip(fit.mu, 1e-300, 1 - 1e-16))
    ll_add = min(max(ll_add, ll_band), ll_full)  # guard against rounding at the boundary
    z = _z(level)
    est, se = np.asarray(fit.params), np.asarray(fit.bse)
    coefficients = pd.DataFrame({"estimate": est, "se": se, "odds_ratio": np.exp(est),
                                 "or_low": np.exp(est - z * se), "or_high": np.exp(est + z * se)},
                                index=pd.Index(names, name="term")).iloc[1:]

    def lr_row(ll0: float, ll1: float, df: int) -> dict[str, float]:
        lr = max(2.0 * (ll1 - ll0), 0.0)
        p = float(stats.chi2.sf(lr, df)) if df > 0 else math.nan
        return {"lr": lr, "df": df, "pvalue": p}

    tests = pd.DataFrame.from_dict({
        "band": lr_row(ll_null, ll_band, n_band - 1),
        "group": lr_row(ll_band, ll_full, n_cells - n_band),
        "group_main": lr_row(ll_band, ll_add, n_group - 1),
        "interaction": lr_row(ll_add, ll_full, n_cells - (n_band + n_group - 1)),
    }, orient="index")
    tests["df"] = tests["df"].astype(int)
    band_lr = float(tests.loc["band", "lr"])
    share = float(tests.loc["group", "lr"]) / band_lr if band_lr > 0 else math.nan
    if n_group < 2:
        warnings.warn(f"only one group ({glabels[0]!r}); nothing to compare",
                      DegenerateDataWarning, stacklevel=2)
    return GroupCalibrationResult(table=table, tests=tests, coefficients=coefficients,
                                  group_share=share, bands=tuple(blabels[b] for b in used_b),
                                  groups=tuple(glabels[g] for g in used_g), confidence=level)


# ---------------------------------------------------------------------------------------------
# discrimination (AUC) by group
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AUCByGroup(Result):
    """Area under the ROC curve of a score in each group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``n``, ``positives``, ``negatives``, ``auc``, ``se`` (DeLong),
        ``low``, ``high``. Groups with only one outcome value have NaN.
    overall : pandas.Series
        The same for everyone together.
    test : pandas.Series
        Chi-square test that the groups share one AUC (``chi2``, ``df``, ``pvalue``).
    confidence : float
        Level of the intervals.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    >>> s = np.array([1, 2, 3, 4, 2, 1, 3, 4])
    >>> res = score_auc_by_group(y, s, ["a"] * 4 + ["b"] * 4)
    >>> res.to_frame()["auc"].tolist(), round(float(res.overall["auc"]), 3)
    ([1.0, 0.5], 0.75)
    """

    title: ClassVar[str] = "AUC by group"

    table: pd.DataFrame
    overall: pd.Series
    test: pd.Series
    confidence: float

    def plot(self, ax: Any = None) -> Any:
        """Each group's AUC with its interval, the overall AUC and chance (0.5).

        Returns the matplotlib Figure, or the Axes when ``ax`` is given.
        """
        from ._plots import auc_by_group

        return auc_by_group(self, ax)

    def summary(self, digits: int = 3) -> str:
        """Plain-text per-group AUCs and the test of one common AUC."""
        cols = ["n", "positives", "negatives", "auc", "low", "high"]
        test = self.test
        chi2 = "nan" if pd.isna(test["chi2"]) else f"{float(test['chi2']):.2f}"
        p = "nan" if pd.isna(test["pvalue"]) else f"{float(test['pvalue']):.3g}"
        return "\n".join([
            f"{self.title} ({self.confidence:.0%} DeLong intervals)",
            self.table[cols].round(digits).to_string(), "",
            f"overall AUC {float(self.overall['auc']):.{digits}f}; one common AUC: chi2 = "
            f"{chi2} on {int(test['df'])} df, p = {p}"])


def _delong(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """AUC and its DeLong standard error (placement values of :mod:`riskeval.prediction`);
    a class with a single case contributes no variance term."""
    from ._discrimination import _delong as placements

    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return math.nan, math.nan
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # its covariance (unused) of one case
        aucs, v10, v01, _ = placements(y, np.asarray(score, dtype=float)[None, :])
    var = (v10[0].var(ddof=1) / m if m > 1 else 0.0) + (v01[0].var(ddof=1) / n if n > 1 else 0.0)
    return float(aucs[0]), math.sqrt(var)


def score_auc_by_group(y: Any, score: Any, groups: Any, confidence: float = 0.95, *,
                       data: pd.DataFrame | None = None) -> AUCByGroup:
    """AUC of a score for the outcome within each group, with DeLong intervals.

    Parameters
    ----------
    y : array_like, Series or column name
        The outcome, 0/1 or False/True.
    score : array_like, Series or column name
        Higher = riskier; numbers, or an ordered categorical (its codes are used).
    groups : array_like, Series or column name
        Group of each person.
    confidence : float
        Level of the Wald intervals on the AUC.
    data : pandas.DataFrame, optional
        Table holding the columns when arguments are column names.

    Returns
    -------
    AUCByGroup

    Notes
    -----
    The AUC is :func:`sklearn.metrics.roc_auc_score` (ties count one half, i.e. the
    Mann-Whitney statistic); its standard error is DeLong et al.'s (1988) from the placement
    values. Groups are independent samples, so the test of one common AUC is
    ``sum w_i (A_i - A_w)^2`` with ``w_i = 1 / se_i^2`` and ``A_w`` their weighted mean,
    referred to chi-square on (groups - 1) df.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    >>> s = np.array([1, 2, 3, 4, 2, 1, 3, 4])
    >>> score_auc_by_group(y, s, ["a"] * 4 + ["b"] * 4).table["auc"].tolist()
    [1.0, 0.5]
    """
    from sklearn.metrics import roc_auc_score

    level = _check_confidence(confidence)
    s_y = as_values(y, "y", data)
    s_s = as_values(score, "score", data)
    s_g = as_values(groups, "groups", data)
    _same_length({"y": s_y, "score": s_s, "groups": s_g})
    yy = _outcome(s_y, "y")
    ss = _numeric_score(s_s, "score")
    codes, labels = _group_codes(s_g, "groups")
    z = _z(level)

    def one(mask: np.ndarray) -> dict[str, float]:
        yk, sk = yy[mask], ss[mask]
        m = int(yk.sum())
        row: dict[str, float] = {"n": int(mask.sum()), "positives": m,
                                 "negatives": int(mask.sum()) - m}
        if m == 0 or m == len(yk):
            row.update(auc=math.nan, se=math.nan, low=math.nan, high=math.nan)
            return row
        auc = float(roc_auc_score(yk, sk))
        _, se = _delong(sk, yk)
        row.update(auc=auc, se=se, low=max(0.0, auc - z * se), high=min(1.0, auc + z * se))
        return row

    rows = [one(codes == i) for i in range(len(labels))]
    index = pd.Index(labels, name=s_g.name if isinstance(s_g.name, str) else "group")
    table = pd.DataFrame(rows, index=index)
    overall = pd.Series(one(np.ones(len(yy), dtype=bool)), name="(all)")
    undefined = table.index[table["auc"].isna()].tolist()
    if undefined:
        warnings.warn(f"groups {undefined!r} have only one outcome value; their AUC is NaN",
                      DegenerateDataWarning, stacklevel=2)
    ok = table["auc"].notna() & (table["se"] > 0)
    if ok.sum() >= 2:
        a, w = table.loc[ok, "auc"].to_numpy(), 1.0 / table.loc[ok, "se"].to_numpy() ** 2
        mean = float(np.sum(w * a) / np.sum(w))
        chi2 = float(np.sum(w * (a - mean) ** 2))
        df = int(ok.sum()) - 1
        test = pd.Series({"chi2": chi2, "df": df, "pvalue": float(stats.chi2.sf(chi2, df))},
                         dtype=object)
    else:
        test = pd.Series({"chi2": math.nan, "df": 0, "pvalue": math.nan}, dtype=object)
    return AUCByGroup(table=table, overall=overall, test=test, confidence=level)
