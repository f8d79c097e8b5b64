"""Intraclass correlation coefficients (Shrout & Fleiss 1979; McGraw & Wong 1996)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import check_choice
from .._core.seeds import check_seed
from ..errors import RiskevalError
from ._bootstrap import bootstrap_interval, check_ci_options
from ._common import checked_interval, prepare, warn_degenerate
from ._result import ICCResult

__all__ = ["ICC_FORMS", "icc"]

ICC_FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
_DESCRIPTION = {
    "ICC1": "single rater, one-way random (absolute agreement)",
    "ICC2": "single rater, two-way random, absolute agreement",
    "ICC3": "single rater, two-way mixed, consistency",
    "ICC1k": "mean of k raters, one-way random",
    "ICC2k": "mean of k raters, two-way random, absolute agreement",
    "ICC3k": "mean of k raters, two-way mixed, consistency",
}
REFERENCES = (
    "Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater "
    "reliability. Psychological Bulletin, 86(2), 420-428.",
    "McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass "
    "correlation coefficients. Psychological Methods, 1(1), 30-46.",
)


def _mean_squares(X: np.ndarray, U: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
    """Two-way ANOVA mean squares, batched over case weights U (B, n), rater weights V (B, k).

    With all weights 1 this is the ordinary two-way table of Shrout & Fleiss (1979); integer
    weights are the multiplicities of cases and raters in a bootstrap resample.
    """
    N = U.sum(axis=1)
    K = V.sum(axis=1)
    X = X - X.mean()  # the ICCs are shift-invariant; centring avoids cancellation error
    total = np.einsum("bn,nk,bk->b", U, X, V)
    sumsq = np.einsum("bn,nk,bk->b", U, X * X, V)
    rows = V @ X.T  # (B, n): each case's sum over raters
    cols = U @ X  # (B, k): each rater's sum over cases
    correction = total**2 / (N * K)
    ss_total = sumsq - correction
    ss_rows = (U * rows**2).sum(axis=1) / K - correction
    ss_cols = (V * cols**2).sum(axis=1) / N - correction
    ss_err = ss_total - ss_rows - ss_cols
    return {
        "BMS": ss_rows / (N - 1),
        "JMS": ss_cols / (K - 1),
        "EMS": ss_err / ((N - 1) * (K - 1)),
        "WMS": (ss_cols + ss_err) / (N * (K - 1)),
        "N": N,
        "K": K,
    }


def _icc_values(ms: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    bms, jms, ems, wms, n, k = (ms[x] for x in ("BMS", "JMS", "EMS", "WMS", "N", "K"))
    return {
        "ICC1": (bms - wms) / (bms + (k - 1) * wms),
        "ICC2": (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n),
        "ICC3": (bms - ems) / (bms + (k - 1) * ems),
        "ICC1k": (bms - wms) / bms,
        "ICC2k": (bms - ems) / (bms + (jms - ems) / n),
        "ICC3k": (bms - ems) / bms,
    }


_PAIRS = (("ICC1", "ICC1k"), ("ICC2", "ICC2k"), ("ICC3", "ICC3k"))
# why a pair of forms is not reported: 0 both fine, 1 both undefined (zero denominator),
# 2 the single-rater form is below -1/(k - 1) (both NaN), 3 the k-rater form is -infinity
_OK, _ZERO, _BELOW, _MINUS_INF = 0, 1, 2, 3


def _parts(ms: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, ...]]:
    """Numerator, single-rater denominator and k-rater denominator of each pair of forms.

    ``den_k = (den_1 + (k - 1) num) / k``, so the single-rater form is at least its bound
    ``-1/(k - 1)`` exactly when ``den_k >= 0``, and the k-rater form (its Spearman-Brown
    step-up) is minus infinity when ``den_k = 0``.
    """
    bms, jms, ems, wms, n, k = (ms[x] for x in ("BMS", "JMS", "EMS", "WMS", "N", "K"))
    return {
        "ICC1": (bms - wms, bms + (k - 1) * wms, bms),
        "ICC2": (bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n, bms + (jms - ems) / n),
        "ICC3": (bms - ems, bms + (k - 1) * ems, bms),
    }


def _icc_codes(ms: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """For each single-rater form, why it and its k-rater form are (not) reported."""
    eps = 1e-12 * (np.abs(ms["BMS"]) + np.abs(ms["JMS"]) + np.abs(ms["EMS"])
                   + np.abs(ms["WMS"]))
    out = {}
    for single, (_, den1, denk) in _parts(ms).items():
        code = np.where(denk < -eps, _BELOW, np.where(np.abs(denk) <= eps, _MINUS_INF, _OK))
        out[single] = np.where(den1 <= eps, _ZERO, code)
    return out


def _icc_checked(ms: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The six ICCs where they lie in their range, NaN where they do not (batched).

    A single-rater form must lie in [-1/(k - 1), 1] and a k-rater form in (-inf, 1]; the
    k-rater form is reported only when its single-rater form is.
    """
    k = ms["K"]
    lb = -1.0 / (k - 1)
    codes = _icc_codes(ms)
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = _icc_values(ms)
        for single, avg in _PAIRS:
            code = codes[single]
            out[single] = np.where((code == _OK) | (code == _MINUS_INF),
                                   np.clip(raw[single], lb, 1.0), np.nan)
            out[avg] = np.where(code == _OK, np.minimum(raw[avg], 1.0), np.nan)
    return out


def _undefined_notes(ms: dict[str, float], raw: dict[str, float], n: int,
                     k: int) -> dict[str, str]:
    """Why each NaN form is not reported, in the terms of the mean squares."""
    batch = {key: np.atleast_1d(np.float64(v)) for key, v in ms.items()}
    codes = {f: int(c[0]) for f, c in _icc_codes(batch).items()}
    bms, jms, ems, wms = ms["BMS"], ms["JMS"], ms["EMS"], ms["WMS"]
    lb = -1.0 / (k - 1)
    if bms == 0 and jms == 0 and ems == 0 and wms == 0:
        why = "every rating is identical (zero variance); the ICCs are undefined"
        return dict.fromkeys(ICC_FORMS, why)
    notes = {}
    for single, avg in _PAIRS:
        code = codes[single]
        if code == _ZERO:
            if single == "ICC3":
                why = ("ICC3 and ICC3k are not defined on these data: the ratings differ only "
                       "between raters (BMS = EMS = 0: every case gets the same ratings), so "
                       "there is no difference between cases for raters to be consistent about")
            elif single == "ICC2":
                why = ("ICC2 and ICC2k are not defined on these data: the estimated variance of "
                       "a rating, BMS + (k - 1) EMS + k (JMS - EMS) / n, is zero")
            else:
                why = ("ICC1 and ICC1k are not defined on these data: the between-case and "
                       "within-case mean squares are both zero")
            notes[single] = notes[avg] = why
        elif code == _BELOW:
            why = (f"{single} and {avg} are not defined on these data: {single} = "
                   f"{raw[single]:.4g} lies below its lower bound -1/(k - 1) = {lb:.4g} (and "
                   f"{avg} = {raw[avg]:.4g} outside its range). The between-case mean square "
                   f"BMS = {bms:.4g} is below (EMS - JMS) / n = {(ems - jms) / n:.4g}: the "
                   "raters differ less than the residual noise implies and the cases hardly "
                   "differ, so the ANOVA estimate is an artefact of the sample")
            notes[single] = notes[avg] = why
        elif code == _MINUS_INF:
            what = "BMS = 0: the cases' mean ratings are identical" if single != "ICC2" else (
                "BMS + (JMS - EMS) / n = 0")
            notes[avg] = (f"{avg} is not defined on these data: {what}, so {single} is at its "
                          f"lower bound -1/(k - 1) = {lb:.4g} and the mean of k = {k} raters "
                          "would have an ICC of minus infinity")
    return notes



def _complete_cases(wide: Any) -> tuple[np.ndarray, int]:
    """The cases x raters array of the cases rated by every rater who rated anything, and
    the number of other rated cases (dropped listwise); built from the ratings given, so
    sparse designs need no cases x raters array."""
    case_at, rater_at, v = wide.entries()
    active = np.bincount(rater_at, minlength=wide.n_raters) > 0
    k = int(active.sum())
    per_case = np.bincount(case_at, minlength=wide.n_cases)
    complete = per_case == k
    keep = complete[case_at]
    row = (np.cumsum(complete) - 1)[case_at[keep]]
    col = (np.cumsum(active) - 1)[rater_at[keep]]
    X = np.empty((int(complete.sum()), k))
    X[row, col] = v[keep]
    return X, int((~complete & (per_case > 0)).sum())


def icc(
    data: Any, case: str | None = None, rater: str | None = None, rating: str | None = None,
    *, form: str = "ICC2", confidence: float = 0.95, missing: str = "listwise",
    categories: Any = None, ci: str | None = "analytic", n_boot: int = 2000,
    resample: str = "cases", seed: Any = None, r0: float = 0.0,
) -> ICCResult:
    """All six intraclass correlations with F tests and exact F-based confidence intervals.

    Shrout & Fleiss (1979) ICC(1,1), ICC(2,1), ICC(3,1) and their k-rater means ICC(1,k),
    ICC(2,k), ICC(3,k), named ``ICC1 ... ICC3k``. ICC2 (two-way random, absolute agreement)
    is the usual choice when the raters are a sample of officers who might have been others;
    ICC3 measures consistency only (a rater who is systematically harsher is not penalised).

    Parameters
    ----------
    data : DataFrame or array-like
        Long table (``case``, ``rater``, ``rating`` columns) or wide cases x raters array.
        Ratings must be numeric, or labels with declared ordered ``categories`` (then scored
        1..q).
    case, rater, rating : str, optional
        Column names for a long table.
    form : str
        Which form ``.estimate``/``.ci`` report (all six are in ``.to_frame()``).
    confidence : float
        Confidence level of the intervals.
    missing : {"listwise"}
        Cases not rated by every rater are dropped (the count is in ``n_dropped``). The two-way
        ANOVA estimators need a complete table; for unbalanced designs use the mixed models of
        :mod:`riskeval` (variance components by REML).
    categories : sequence or str, optional
        Ordered categories for label ratings.
    ci : {"analytic", "percentile", "bca", None}
        ``"analytic"`` (default): exact F-based intervals (McGraw & Wong 1996; Satterthwaite's
        approximation for ICC2/ICC2k). A bootstrap method replaces the interval of ``form``.
    n_boot, resample, seed
        Bootstrap options (``resample="cases+raters"`` for a two-way bootstrap).
    r0 : float
        The ICC under the null hypothesis of the F tests (``F``, ``df2``, ``pval``): each
        tests ``ICC = r0`` against ``ICC > r0`` (McGraw & Wong 1996, table 8; Satterthwaite's
        degrees of freedom for the absolute-agreement forms). The default 0 tests for any
        agreement at all; a study asking "is consistency acceptable?" tests e.g. ``r0=0.4``.

    Returns
    -------
    ICCResult

    Notes
    -----
    Degenerate data. A single-rater form lies in [-1/(k - 1), 1] and a k-rater form (its
    Spearman-Brown step-up) in (-inf, 1]. The forms are ratios of mean squares that can
    leave these ranges on small or unusual samples; a form outside its range is reported as
    NaN with a :class:`~riskeval.errors.DegenerateDataWarning` naming the cause (also in
    the result's ``notes``), never as the formula's value:

    - zero variance (every rating equal): all six forms;
    - ICC2 below -1/(k - 1), which happens when BMS < (EMS - JMS) / n: ICC2 and ICC2k (whose
      formula then gives values above 1, e.g. 3.0 on ``[[0, 0, 1], [0, 1, 0]]``);
    - identical case means (BMS = 0): ICC1 and ICC3 are at their bound -1/(k - 1) and the
      k-rater forms ICC1k and ICC3k (minus infinity) are NaN; likewise ICC2k when
      BMS + (JMS - EMS) / n = 0;
    - ratings that differ only between raters (BMS = EMS = 0): ICC3 and ICC3k.

    Negative values inside the ranges are reported as they are: ratings of the same case
    then differ more than ratings of different cases. Perfect agreement (no residual and no
    rater variance) gives 1 with intervals [1, 1].

    Intervals contain their estimate or are NaN (with a warning). The McGraw & Wong limits
    of ICC2 are moved into [-1/(k - 1), 1] before the step-up to ICC2k, so a k-rater lower
    limit can be minus infinity: the data do not bound the reliability of a mean of k
    ratings from below. Limits that still leave out the estimate, Satterthwaite's degrees of
    freedom when there is no residual variation but the raters differ, and a bootstrap
    interval that leaves out the estimate give NaN limits. A bootstrap resample whose form
    falls outside its range counts as undefined (more than 10% undefined: NaN interval). A
    NaN estimate has a NaN interval.

    References
    ----------
    .. [1] Shrout, P. E., & Fleiss, J. L. (1979). Psychological Bulletin, 86(2), 420-428.
    .. [2] McGraw, K. O., & Wong, S. P. (1996). Psychological Methods, 1(1), 30-46.

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> res = rv.icc(ratings, "vignette", "officer", "rosh", form="ICC3")
    >>> res.form, round(res.estimate, 3)
    ('ICC3', 0.743)
    >>> res.n_cases, res.n_dropped
    (19, 5)
    """
    check_choice(form, "form", ICC_FORMS)
    if missing != "listwise":
        raise RiskevalError(f"missing={missing!r} is not supported; expected 'listwise'")
    if not 0 <= r0 < 1:
        raise RiskevalError(f"r0={r0!r}: the null ICC must be in [0, 1)")
    method = check_ci_options(ci, resample, n_boot, confidence)
    check_seed(seed)  # a bad seed is an error whatever the interval method
    wide = prepare(data, case, rater, rating, categories, numeric=True)
    if wide.categories is not None and not wide.ordered:
        raise RiskevalError(
            "the ICC needs numeric or ordered ratings, but the ratings are labels with no "
            "declared order; pass categories=, lowest first"
        )
    X, n_dropped = _complete_cases(wide)
    n, k = X.shape
    if n < 2:
        raise RiskevalError(
            f"only {n} case is rated by all {k} raters; the ICC (listwise deletion) needs at "
            f"least two complete cases ({n_dropped} incomplete cases were dropped)"
        )
    ones_n, ones_k = np.ones((1, n)), np.ones((1, k))
    batch = _mean_squares(X, ones_n, ones_k)
    # sums of squares that are zero up to rounding are zero (relative to the total)
    scale = (batch["BMS"] + batch["JMS"] + batch["EMS"])[0]
    tiny = 1e-12 * scale
    for key in ("BMS", "JMS", "EMS", "WMS"):
        batch[key] = np.where(np.abs(batch[key]) <= tiny, 0.0, batch[key])
    ms = {key: np.float64(v[0]) for key, v in batch.items()}
    bms, jms, ems, wms = ms["BMS"], ms["JMS"], ms["EMS"], ms["WMS"]
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = {f: float(v[0]) for f, v in _icc_values(batch).items()}
        values = {f: float(v[0]) for f, v in _icc_checked(batch).items()}
        table = _f_table(values, bms, jms, ems, wms, n, k, confidence, r0)
    notes = _undefined_notes(ms, raw, n, k)
    for why in dict.fromkeys(notes.values()):  # each reason once
        warn_degenerate(why)
    lb = -1.0 / (k - 1)
    if method == "none":
        table[["ci_low", "ci_high"]] = np.nan
    else:  # the F-based intervals (a bootstrap replaces the one of ``form``)
        low, high = table["ci_low"].to_numpy().copy(), table["ci_high"].to_numpy().copy()
        for at, f in enumerate(ICC_FORMS):
            if f == form and method != "analytic":
                continue
            why_nan = ("Satterthwaite's degrees of freedom are undefined with no residual "
                       "variation (EMS = 0) and systematic rater differences"
                       if f.startswith("ICC2") and ems == 0 else
                       "the F-based limits are undefined on these data")
            (low[at], high[at]), note = checked_interval(
                f, values[f], (low[at], high[at]),
                None if f.endswith("k") else lb, 1.0, method="F-based (McGraw & Wong 1996)",
                why_nan=why_nan)
            if note:
                notes[f] = note
        table["ci_low"], table["ci_high"] = low, high   # one assignment per column
    if method in ("percentile", "bca"):
        table.loc[form, ["ci_low", "ci_high"]] = np.nan
        if np.isfinite(values[form]):
            def stat(U: np.ndarray, V: np.ndarray | None) -> np.ndarray:
                V = np.ones((U.shape[0], k)) if V is None else V
                return _icc_checked(_mean_squares(X, U, V))[form]

            boot = bootstrap_interval(
                stat, values[form], n, k, n_boot=n_boot, resample=resample, method=method,
                confidence=confidence, seed=seed, width=n * k,
            )
            interval, note = checked_interval(
                form, values[form], boot.ci, None if form.endswith("k") else lb, 1.0,
                method=f"bootstrap {method}", warned=True,
                why_nan=f"{n_boot - boot.n_boot_valid} of {n_boot} resamples gave an "
                        "undefined ICC")
            table.loc[form, ["ci_low", "ci_high"]] = interval
            if note:
                notes[form] = note
    return ICCResult(table=table, form=form,
                     mean_squares={x: ms[x] for x in ("BMS", "WMS", "JMS", "EMS")},
                     n_cases=n, n_raters=k, n_dropped=n_dropped, confidence=confidence,
                     references=REFERENCES, notes=notes)


def _f_tests(bms: float, jms: float, ems: float, wms: float, n: int, k: int,
             r0: float) -> dict[str, tuple[float, float, float]]:
    """F statistic and degrees of freedom of each form's test of ICC = r0 (McGraw & Wong 1996,
    table 8); with r0 = 0 these are the usual tests of no agreement."""
    out = {}
    for form, m in (("ICC1", k), ("ICC1k", 1), ("ICC3", k), ("ICC3k", 1)):
        ratio = (1 - r0) / (1 + (m - 1) * r0)
        within, df2 = (wms, n * (k - 1)) if form.startswith("ICC1") else (ems, (n - 1) * (k - 1))
        out[form] = (bms / within * ratio, n - 1, df2)
    for form, m in (("ICC2", k), ("ICC2k", 1)):
        a = m * r0 / (n * (1 - r0))
        b = 1 + m * r0 * (n - 1) / (n * (1 - r0))
        den = a * jms + b * ems
        df2 = (den**2 / ((a * jms) ** 2 / (k - 1) + (b * ems) ** 2 / ((n - 1) * (k - 1)))
               if den > 0 and r0 > 0 else (n - 1) * (k - 1))
        out[form] = (bms / den, n - 1, df2)
    return out


def _f_table(values: dict[str, float], bms: float, jms: float, ems: float, wms: float,
             n: int, k: int, confidence: float, r0: float = 0.0) -> pd.DataFrame:
    """F tests and McGraw & Wong (1996) intervals for the six forms."""
    alpha = 1 - confidence
    df1, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)
    # two-way, absolute agreement (ICC2, ICC2k): Satterthwaite degrees of freedom
    r2 = values["ICC2"]
    fj = jms / ems
    vn = (k - 1) * (n - 1) * (k * r2 * fj + n * (1 + (k - 1) * r2) - k * r2) ** 2
    vd = (n - 1) * k**2 * r2**2 * fj**2 + (n * (1 + (k - 1) * r2) - k * r2) ** 2
    v = vn / vd
    # the six F quantiles in one (elementwise) call
    crit1, crit1u, crit3, crit3u, fu, fl = stats.f.ppf(
        1 - alpha / 2, [df1, df_w, df1, df_e, n - 1, v], [df_w, df1, df_e, df1, v, n - 1])
    # one-way (ICC1, ICC1k)
    f1 = bms / wms
    fl1 = f1 / crit1
    fu1 = f1 * crit1u
    # two-way, consistency (ICC3, ICC3k)
    f3 = bms / ems
    fl3 = f3 / crit3
    fu3 = f3 * crit3u
    lo2 = n * (bms - fu * ems) / (fu * (k * jms + (k * n - k - n) * ems) + n * bms)
    hi2 = n * (fl * bms - ems) / (k * jms + (k * n - k - n) * ems + n * fl * bms)
    if ems == 0:  # no residual: raters are perfectly consistent
        # with no rater differences either, every bound is 1; otherwise Satterthwaite's
        # degrees of freedom are undefined and so is the ICC2 interval
        lo2 = hi2 = 1.0 if jms == 0 else np.nan

    lb = -1.0 / (k - 1)

    def single(f: float) -> float:  # ICC(1) or ICC(3) bound from an F bound
        return 1.0 if np.isinf(f) else (f - 1) / (f + k - 1)

    def step_up(r: float) -> float:  # Spearman-Brown: the k-rater ICC of a single-rater one
        return -np.inf if r <= lb else k * r / (1 + (k - 1) * r)

    # the ICC2 limits can leave the single-rater range [-1/(k - 1), 1]: a single-rater ICC
    # cannot lie there, so they are moved onto it before the step-up to k raters (where a
    # limit below the range used to become a lower limit above 1)
    lo2, hi2 = (float(np.clip(x, lb, 1.0)) if np.isfinite(x) else x for x in (lo2, hi2))
    ci = {
        "ICC1": (single(fl1), single(fu1)),
        "ICC2": (lo2, hi2),
        "ICC3": (single(fl3), single(fu3)),
        "ICC1k": (1 - 1 / fl1, 1 - 1 / fu1),
        "ICC2k": (step_up(lo2), step_up(hi2)),
        "ICC3k": (1 - 1 / fl3, 1 - 1 / fu3),
    }
    f_stat = _f_tests(bms, jms, ems, wms, n, k, r0)
    f, d1, d2 = (np.array([f_stat[form][at] for form in ICC_FORMS], dtype=float)
                 for at in range(3))
    return pd.DataFrame({
        "description": [_DESCRIPTION[form] for form in ICC_FORMS],
        "ICC": [values[form] for form in ICC_FORMS], "F": f, "df1": d1, "df2": d2,
        "pval": stats.f.sf(f, d1, d2),   # elementwise: the six tests in one call
        "ci_low": [float(ci[form][0]) for form in ICC_FORMS],
        "ci_high": [float(ci[form][1]) for form in ICC_FORMS],
    }, index=pd.Index(ICC_FORMS, name="form"))
