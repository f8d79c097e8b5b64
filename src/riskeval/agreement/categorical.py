"""Chance-corrected agreement for categorical ratings with any number of raters.

All coefficients here are built from the case x category count matrix ``r[i, k]`` (how many
raters put case ``i`` in category ``k``); raters may differ from case to case and any pattern
of missing ratings is allowed. Observed agreement ``pa`` and the category shares ``pi`` follow
Gwet (2014), which reduces to Fleiss (1971) when every case has the same number of raters:

- ``pa``: mean over cases rated at least twice of
  ``sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))`` with ``r*_ik = sum_l w_kl r_il``;
- ``pi_k``: mean over rated cases of ``r_ik / r_i``.

Coefficients differ only in chance agreement ``pe``: Fleiss ``sum_kl w_kl pi_k pi_l``,
Gwet's AC1/AC2 ``T_w / (q (q - 1)) sum_k pi_k (1 - pi_k)``, Brennan-Prediger ``T_w / q^2``.
Krippendorff's alpha uses the coincidence matrix. Standard errors are Gwet's (2008)
linearisation, as in the R package irrCAC (finite-population correction off).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import check_choice
from ..errors import RiskevalError
from ._common import RANGE_TOL, finish, in_range, prepare, warn_degenerate
from ._kernel import RatingSums, SumStatistic
from ._result import AgreementResult
from ._weights import agreement_weights, weights_label

__all__ = [
    "brennan_prediger",
    "fleiss_kappa",
    "gwet_ac",
    "krippendorff_alpha",
    "percent_agreement",
]

REF_GWET_2008 = (
    "Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence "
    "of high agreement. British Journal of Mathematical and Statistical Psychology, 61(1), "
    "29-48."
)
REF_GWET_2014 = (
    "Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.). Advanced Analytics."
)
REF_FLEISS_1971 = (
    "Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. "
    "Psychological Bulletin, 76(5), 378-382."
)
REF_FNL_1979 = (
    "Fleiss, J. L., Nee, J. C. M., & Landis, J. R. (1979). Large sample variance of kappa in "
    "the case of different sets of raters. Psychological Bulletin, 86(5), 974-977."
)
REF_BP_1981 = (
    "Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses, and "
    "alternatives. Educational and Psychological Measurement, 41(3), 687-699."
)
REF_KRIPP_2004 = (
    "Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology (2nd ed.), "
    "ch. 11. Sage."
)
REF_KRIPP_2011 = (
    "Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School "
    "for Communication, University of Pennsylvania."
)

REF_EFRON_1993 = (
    "Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall "
    "(jackknife standard errors, ch. 11; percentile and BCa intervals, ch. 13-14)."
)

_COMMON_PARAMS = """
    data : DataFrame or array-like
        Long table (with ``case``, ``rater``, ``rating`` column names) or wide cases x raters
        array/DataFrame, NaN where a rater did not rate a case.
    case, rater, rating : str, optional
        Column names when ``data`` is a long table.
    categories : sequence or str, optional
        The categories, lowest first (e.g. ``"low,medium,high,very high"``). Numeric ratings
        without declared categories use the observed values; label ratings without declared
        categories are treated as unordered (nominal only).
    confidence : float
        Confidence level of the interval (default 0.95).
    ci : {"analytic", "percentile", "bca", None}
        Interval method: Gwet's linearised standard error with a t interval (default), or a
        vectorised bootstrap (percentile or BCa), or none.
    n_boot : int
        Bootstrap resamples (when ``ci`` is a bootstrap method).
    resample : {"cases", "cases+raters"}
        Whom the interval generalises to. ``"cases"`` (default): *these officers*, rating
        other cases like these; only the cases vary (the leave-one-case-out jackknife, or a
        bootstrap of cases). ``"cases+raters"``: *officers like these*, the officers being a
        sample too; with ``ci="analytic"`` the two-way jackknife over cases and raters
        (coverage 0.93-0.965 for alpha in simulated studies of 6-40 officers, see
        ``papers/alpha_coverage.md``; needs at least 3 of each),
        with a bootstrap method cases and raters resampled independently (conservative).
    seed : int, SeedSequence or Generator, optional
        Seed of the bootstrap; the same seed gives the same interval.
"""


class _Categorical(RatingSums):
    """The case x category counts of a categorical rating table and its agreement weights.

    Held as the ratings given (case, rater, category code): the counts under any rater
    weights, and every deletion, cost memory in proportion to the ratings, not to cases x
    raters (:mod:`riskeval.agreement._kernel`).
    """

    def __init__(self, data: Any, case: str | None, rater: str | None, rating: str | None,
                 categories: Any, weights: Any):
        wide = prepare(data, case, rater, rating, categories)
        case_at, rater_at, code, cats, scale = wide.coded_entries()
        case_at, n = _rated_cases(case_at, wide.n_cases)
        self.wide = wide
        self.code = code
        self.categories = cats
        self.scale = scale
        self.q = len(cats)
        if self.q < 2:
            # one observed category and nothing declared: agreement is trivially perfect
            self.q = 2
            self.categories = (*cats, "(other)")
            self.scale = np.array([scale[0], scale[0] + 1.0])
        self.W = agreement_weights(weights, self.scale, ordered=wide.ordered)
        self.weights_name = weights_label(weights)
        super().__init__(case_at, rater_at, n, wide.n_raters, self.q)
        self.counts = self.sums
        self.r = self.counts.sum(axis=1)
        self.n_ratings = int(code.size)

    def reweighted(self, weights: Any) -> _Categorical:
        """The same ratings with other agreement weights: the counts and every table built
        from the ratings alone are shared, the features (which use the weights) are not."""
        other = copy.copy(self)
        other.W = agreement_weights(weights, self.scale, ordered=self.wide.ordered)
        other.weights_name = weights_label(weights)
        other._features = {}
        return other

    def _coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.arange(self.code.size), self.code, np.ones(self.code.size)

    def _terms(self, sel: np.ndarray) -> np.ndarray:
        out = np.zeros((sel.size, self.q))
        out[np.arange(sel.size), self.code[sel]] = 1.0
        return out

    def _term_keys(self) -> tuple[np.ndarray, np.ndarray]:
        return self.code, np.eye(self.q)

    def pe(self, kind: str, pi: np.ndarray) -> np.ndarray:
        W, q = self.W, self.q
        if kind == "fleiss":
            return np.einsum("bk,kl,bl->b", pi, W, pi)
        if kind == "gwet":
            return W.sum() / (q * (q - 1)) * (pi * (1 - pi)).sum(axis=-1)
        if kind == "bp":
            return np.full(pi.shape[0], W.sum() / q**2)
        return np.zeros(pi.shape[0])  # percent agreement

    def stat(self, kind: str) -> _Chance:
        return _Chance(self, kind)

    # -- Gwet's linearised variance -----------------------------------------------------------
    def linearised(self, kind: str) -> tuple[float, float, float, float, int]:
        """Estimate, standard error, pa, pe and the number of rated cases (irrCAC's n)."""
        C, r = self.counts, self.r
        n = C.shape[0]
        two = r >= 2
        n2 = int(two.sum())
        chance = self.stat(kind)
        pa, pi = chance.parts(chance.full.sum(axis=0)[None, :])
        pa, pi = pa[0], pi[0]  # numpy scalars: 0/0 gives NaN (flagged by the caller)
        pe = self.pe(kind, pi[None, :])[0]
        pa_i = chance.full[:, 0]
        if kind == "percent":
            coef_i = (n / n2) * pa_i
            est = pa
            x = coef_i
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                est = 1 - (1 - pa) / (1 - pe)
                coef_i = (n / n2) * (pa_i - pe * two) / (1 - pe)
            if kind == "fleiss":
                pi_w = (self.W @ pi + self.W.T @ pi) / 2
                pe_i = (C @ pi_w) / r
            elif kind == "gwet":
                pe_i = self.W.sum() / (self.q * (self.q - 1)) * (C @ (1 - pi)) / r
            else:  # Brennan-Prediger: chance agreement is fixed
                pe_i = np.full(n, pe)
            with np.errstate(invalid="ignore", divide="ignore"):
                x = coef_i - 2 * (1 - est) * (pe_i - pe) / (1 - pe)
        var = ((x - est) ** 2).sum() / (n * (n - 1))
        return float(est), float(np.sqrt(var)), float(pa), float(pe), n


class _Chance(SumStatistic):
    """Observed agreement and category shares, and a chance-corrected coefficient of them.

    Per-case features: the case's weighted agreement among its rater pairs, whether it is
    rated twice, whether it is rated, and its category shares; ``pa`` and ``pi`` are their
    means over the cases rated twice (or once), as in Gwet (2014).
    """

    feature_key = "chance"  # the features depend on the weights only: a state has one

    def __init__(self, state: _Categorical, kind: str):
        super().__init__(state)
        self.s = state
        self.kind = kind

    def features(self, C: np.ndarray) -> np.ndarray:
        r = C.sum(axis=-1)
        two = r >= 2
        one = r >= 1
        star = C @ self.s.W.T
        a = np.where(two, (C * (star - 1)).sum(axis=-1) / np.where(two, r * (r - 1), 1), 0.0)
        P = C / np.where(one, r, 1)[..., None]
        return np.concatenate([a[..., None], two[..., None], one[..., None], P], axis=-1)

    def parts(self, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Observed agreement (B,) and category shares (B, q) from feature totals (NaN with
        no case rated twice, or none rated)."""
        two, one = S[:, 1], S[:, 2:3]   # whole numbers: exact under any deletion
        pa = np.where(two > 0, S[:, 0] / np.where(two > 0, two, 1), np.nan)
        return pa, np.where(one > 0, S[:, 3:] / np.where(one > 0, one, 1), np.nan)

    def value(self, S: np.ndarray) -> np.ndarray:
        pa, pi = self.parts(S)
        if self.kind == "percent":
            return pa
        gap = 1 - self.s.pe(self.kind, pi)
        # chance agreement 1 (one category) is undefined, also when a deletion's rounding
        # leaves it a hair below 1
        gap = np.where(np.abs(gap) > 1e-12, gap, np.nan)
        return 1 - (1 - pa) / gap


def _rated_cases(case_at: np.ndarray, n_cases: int) -> tuple[np.ndarray, int]:
    """Case positions renumbered over the rated cases only (cases nobody rated carry no
    information), and their number."""
    rated = np.bincount(case_at, minlength=n_cases) > 0
    n = int(rated.sum())
    return ((np.cumsum(rated) - 1)[case_at] if n < n_cases else case_at), n


def _check_pairs(state: _Categorical, name: str) -> None:
    if not (state.r >= 2).any():
        raise RiskevalError(
            f"{name} needs cases rated by at least two raters; no case has two ratings"
        )


def _chance_coefficient(kind: str, name: str, refs: tuple[str, ...], state: _Categorical,
                        confidence: float, ci: str | None, n_boot: int, resample: str, seed: Any,
                        per_category: pd.DataFrame | None = None,
                        tests: dict[str, float] | None = None) -> AgreementResult:
    _check_pairs(state, name)
    est, se, pa, pe, n = state.linearised(kind)
    note = ""
    lower = _lower_bound(kind, state)
    if kind != "percent" and np.isclose(pe, 1.0):
        note = (f"{name} is undefined: chance agreement is 1 (every rating is in one "
                "category); returning NaN. Percent agreement or Gwet's AC1 remain defined.")
        warn_degenerate(note)
        est, se = np.nan, np.nan
    else:
        est, note = in_range(est, lower, 1.0, _below_range(name, kind, state, est, pe, lower))
        se = se if np.isfinite(est) else np.nan
    extra = {"pa": pa, "pe": pe, "weights": state.weights_name, "n_categories": state.q,
             **(tests or {})}
    chance = state.stat(kind)
    return finish(
        name, chance, n_cases=n, n_raters=state.n_raters, n_ratings=state.n_ratings,
        se=se, ci=ci, confidence=confidence, n_boot=n_boot, resample=resample, seed=seed,
        width=chance.cells, df=n - 1,
        extra=extra, per_category=per_category, references=refs, estimate=est,
        se_method="Gwet linearised SE", lower=lower, note=note,
    )


def _lower_bound(kind: str, state: _Categorical) -> float:
    """The least value of each coefficient (see the Notes of each function).

    Percent agreement: 0. Fleiss' kappa: -1 (its least value when every case is rated at
    least twice, with weights of negative type, as every built-in weight is). Gwet's AC1/AC2
    and Brennan-Prediger: ``1 - 1 / (1 - T_w / q^2)``, since their chance agreement is at
    most ``T_w / q^2`` (``-1/(q - 1)`` unweighted).
    """
    if kind == "percent":
        return 0.0
    if kind == "fleiss":
        return -1.0
    t_w, q2 = float(state.W.sum()), float(state.q) ** 2
    return 1.0 - q2 / (q2 - t_w)


def _below_range(name: str, kind: str, state: _Categorical, est: float, pe: float,
                 lower: float) -> str:
    """The warning for a coefficient that falls below its least value."""
    single = int((state.r == 1).sum())
    if kind == "fleiss" and single:
        return (f"{name} is not defined on these data: its formula gives {est:.4g}, below -1, "
                "its least value when every case is rated at least twice. "
                f"{single} case{'s' if single > 1 else ''} rated by a single rater enter "
                "chance agreement (the category shares, as in Gwet 2014 and irrCAC) but not "
                f"observed agreement, and here raise chance agreement to pe = {pe:.4g}, more "
                "than the cases rated twice or more show; returning NaN. Krippendorff's alpha "
                "(which uses pairable ratings only) and percent agreement remain defined")
    return (f"{name} is not defined on these data: its formula gives {est:.4g}, below its "
            f"least value {lower:.4g}"
            + (" (the custom weight matrix is not of negative type)" if
            state.weights_name == "custom" else "") + "; returning NaN")


def percent_agreement(
    data: Any, case: str | None = None, rater: str | None = None, rating: str | None = None,
    *, categories: Any = None, weights: Any = None, confidence: float = 0.95,
    ci: str | None = "analytic", n_boot: int = 2000, resample: str = "cases", seed: Any = None,
) -> AgreementResult:
    """Observed (optionally weighted) agreement between pairs of raters, not chance-corrected.

    The share of agreeing rater pairs within each case, averaged over cases rated at least
    twice (Gwet 2014, eq. 2.x); with weights, partial credit ``w_kl`` for near-agreement.

    Parameters
    ----------%s
    weights : None, str or array
        Agreement weights (see :func:`riskeval.agreement.agreement_weights`).

    Returns
    -------
    AgreementResult

    Notes
    -----
    Lies in [0, 1] and is defined whenever a case is rated twice (1 when every rating is in
    one category).
    The interval contains the estimate or is NaN with a warning: analytic limits are
    truncated to the range, bootstrap resamples outside it count as undefined, and a
    bootstrap interval that leaves out the estimate is reported as NaN.

    References
    ----------
    .. [1] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.).

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> res = rv.percent_agreement(ratings, "vignette", "officer", "rosh")
    >>> round(res.estimate, 3)
    0.571
    """
    state = _Categorical(data, case, rater, rating, categories, weights)
    return _percent(state, confidence, ci, n_boot, resample, seed)


def _percent(state: _Categorical, confidence: float, ci: str | None, n_boot: int,
             resample: str, seed: Any) -> AgreementResult:
    return _chance_coefficient("percent", "Percent agreement", (REF_GWET_2014,), state,
                               confidence, ci, n_boot, resample, seed)


def brennan_prediger(
    data: Any, case: str | None = None, rater: str | None = None, rating: str | None = None,
    *, categories: Any = None, weights: Any = None, confidence: float = 0.95,
    ci: str | None = "analytic", n_boot: int = 2000, resample: str = "cases", seed: Any = None,
) -> AgreementResult:
    """Brennan & Prediger's (1981) coefficient: chance agreement is ``T_w / q^2``.

    Uniform chance agreement over the ``q`` declared categories, so declare every category
    of the scale (unused ones included): the value depends on ``q``.

    Parameters
    ----------%s
    weights : None, str or array
        Agreement weights.

    Returns
    -------
    AgreementResult

    Notes
    -----
    Chance agreement is the constant ``T_w / q^2`` (``T_w`` the sum of the weights), so the
    coefficient lies in [1 - q^2 / (q^2 - T_w), 1]: [-1/(q - 1), 1] unweighted, but -2 is
    the least value with quadratic weights on three categories. The formula's value is
    always reported, also below -1 (raters who systematically give opposite ends of the
    scale).
    The interval contains the estimate or is NaN with a warning: analytic limits are
    truncated to the range, bootstrap resamples outside it count as undefined, and a
    bootstrap interval that leaves out the estimate is reported as NaN.

    References
    ----------
    .. [1] Brennan, R. L., & Prediger, D. J. (1981). Educational and Psychological
       Measurement, 41(3), 687-699.
    .. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.).

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> res = rv.brennan_prediger(ratings, "vignette", "officer", "rosh", weights="quadratic")
    >>> res.coefficient, round(res.estimate, 3)
    ('Brennan-Prediger', 0.809)
    """
    state = _Categorical(data, case, rater, rating, categories, weights)
    return _brennan_prediger(state, confidence, ci, n_boot, resample, seed)


def _brennan_prediger(state: _Categorical, confidence: float, ci: str | None, n_boot: int,
                      resample: str, seed: Any) -> AgreementResult:
    return _chance_coefficient("bp", "Brennan-Prediger", (REF_BP_1981, REF_GWET_2014), state,
                               confidence, ci, n_boot, resample, seed)


def gwet_ac(
    data: Any, case: str | None = None, rater: str | None = None, rating: str | None = None,
    *, categories: Any = None, weights: Any = None, confidence: float = 0.95,
    ci: str | None = "analytic", n_boot: int = 2000, resample: str = "cases", seed: Any = None,
) -> AgreementResult:
    """Gwet's AC1 (unweighted) or AC2 (weighted) agreement coefficient.

    Chance agreement ``pe = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)``; unlike kappa, AC1
    stays stable when one category dominates (high prevalence), which is the usual state of
    risk ratings where most people are "medium".

    Parameters
    ----------%s
    weights : None, str or array
        ``None`` gives AC1; any weights give AC2.

    Returns
    -------
    AgreementResult
        ``extra`` holds ``pa`` and ``pe``.

    Notes
    -----
    Chance agreement is at most ``T_w / q^2`` (``T_w`` the sum of the weights), so AC1 lies
    in [-1/(q - 1), 1] and AC2 in [1 - q^2 / (q^2 - T_w), 1], the range of Brennan and
    Prediger's coefficient. With quadratic weights on three categories the least value is
    -2, so an AC2 below -1 is a value the coefficient can take (e.g. -1.67 on
    ``[[nan, nan], [nan, 2], [3, 1]]``, where the one pair of ratings is at opposite ends of
    the scale) and is reported as it is. AC1 is 1 when every rating is in one category.
    The interval contains the estimate or is NaN with a warning: analytic limits are
    truncated to the range, bootstrap resamples outside it count as undefined, and a
    bootstrap interval that leaves out the estimate is reported as NaN.

    References
    ----------
    .. [1] Gwet, K. L. (2008). British Journal of Mathematical and Statistical Psychology,
       61(1), 29-48.
    .. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.).

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> res = rv.gwet_ac(ratings, "vignette", "officer", "rosh")
    >>> res.coefficient, round(res.estimate, 3)
    ("Gwet's AC1", 0.447)
    >>> [round(x, 3) for x in res.ci]
    [0.363, 0.53]
    """
    state = _Categorical(data, case, rater, rating, categories, weights)
    return _gwet_ac(state, confidence, ci, n_boot, resample, seed)


def _gwet_ac(state: _Categorical, confidence: float, ci: str | None, n_boot: int,
             resample: str, seed: Any) -> AgreementResult:
    name = "Gwet's AC1" if state.weights_name == "identity" else "Gwet's AC2"
    return _chance_coefficient("gwet", name, (REF_GWET_2008, REF_GWET_2014), state, confidence,
                               ci, n_boot, resample, seed)


def fleiss_kappa(
    data: Any, case: str | None = None, rater: str | None = None, rating: str | None = None,
    *, categories: Any = None, weights: Any = None, confidence: float = 0.95,
    ci: str | None = "analytic", n_boot: int = 2000, resample: str = "cases", seed: Any = None,
) -> AgreementResult:
    """Fleiss' kappa for many raters, overall and per category.

    Raters may differ from case to case (Fleiss 1971 assumed a constant number ``m``; the
    generalisation of Gwet 2014 is used, identical when ``m`` is constant).

    Parameters
    ----------%s
    weights : None, str or array
        Agreement weights (weighted generalisation of Gwet 2014); the per-category kappas
        and the null test in ``extra`` are always of the unweighted kappa.

    Returns
    -------
    AgreementResult
        ``se`` is Gwet's (2008) non-null standard error behind ``ci``; ``extra["se_null"]``,
        ``extra["z"]`` and ``extra["pvalue"]`` test kappa = 0 with the Fleiss, Nee & Landis
        (1979) null standard error. ``per_category`` holds Fleiss' (1971) category kappas
        with their null standard errors, z and p-values.

    Notes
    -----
    With a varying number of raters ``r_i`` the null standard errors replace
    ``N m (m - 1)`` by ``sum_i r_i (r_i - 1)`` over cases rated at least twice.

    Range and degenerate data. When every case is rated at least twice, kappa lies in
    [-1, 1] (with any built-in weights, all of negative type). Gwet's (2014) generalisation
    to missing ratings, used here as in irrCAC, takes the category shares from every rated
    case, cases rated once included, but observed agreement only from cases rated at least
    twice; on small samples the formula can then fall below -1 (-1.67 on
    ``[[nan, nan, nan, 1], [nan, nan, 1, 2]]``). Such a value is not a kappa: it is reported
    as NaN with a :class:`~riskeval.errors.DegenerateDataWarning` (reason in ``note``), as
    are category kappas below -1 and the null test of a kappa below -1. Krippendorff's
    alpha, which uses pairable ratings only, stays defined. Chance agreement 1 (every rating
    in one category) also gives NaN with a warning.
    The interval contains the estimate or is NaN with a warning: analytic limits are
    truncated to the range, bootstrap resamples outside it count as undefined, and a
    bootstrap interval that leaves out the estimate is reported as NaN.

    References
    ----------
    .. [1] Fleiss, J. L. (1971). Psychological Bulletin, 76(5), 378-382.
    .. [2] Fleiss, J. L., Nee, J. C. M., & Landis, J. R. (1979). Psychological Bulletin,
       86(5), 974-977.
    .. [3] Gwet, K. L. (2008). British Journal of Mathematical and Statistical Psychology,
       61(1), 29-48.

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> res = rv.fleiss_kappa(ratings, "vignette", "officer", "rosh")
    >>> round(res.estimate, 3)
    0.366
    >>> res.per_category["kappa"].round(3).tolist()
    [0.33, 0.322, 0.296, 0.565]
    """
    state = _Categorical(data, case, rater, rating, categories, weights)
    return _fleiss_kappa(state, confidence, ci, n_boot, resample, seed)


def _fleiss_kappa(state: _Categorical, confidence: float, ci: str | None, n_boot: int,
                  resample: str, seed: Any) -> AgreementResult:
    _check_pairs(state, "Fleiss' kappa")
    table, tests = _fleiss_by_category(state)
    return _chance_coefficient(
        "fleiss", "Fleiss' kappa", (REF_FLEISS_1971, REF_FNL_1979, REF_GWET_2008), state,
        confidence, ci, n_boot, resample, seed, per_category=table, tests=tests,
    )


def _fleiss_by_category(state: _Categorical) -> tuple[pd.DataFrame, dict[str, float]]:
    """Fleiss' (1971) category kappas and the null tests of Fleiss, Nee & Landis (1979).

    Always unweighted, whatever weights the overall coefficient uses.
    """
    two = state.r >= 2
    C, r = state.counts[two], state.r[two]
    n_pairs = float((r * (r - 1)).sum())
    p = (state.counts / state.r[:, None]).mean(axis=0)
    pq = p * (1 - p)
    disagree = (C * (r[:, None] - C) / (r * (r - 1))[:, None]).sum(axis=0) / C.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa_j = np.where(pq > 0, 1 - disagree / pq, np.nan)
        # below -1 only through cases rated once (see fleiss_kappa's Notes): not reported
        below = kappa_j < -1 - RANGE_TOL
        if below.any():
            warn_degenerate(
                "the category kappas of "
                + ", ".join(str(c) for c, b in zip(state.categories, below, strict=True) if b)
                + " are below -1 because cases rated by a single rater enter the category "
                "shares but not the disagreement; they are reported as NaN")
        kappa_j = np.where(below, np.nan, np.maximum(kappa_j, -1.0))
        se_j = np.full(state.q, np.sqrt(2.0 / n_pairs))
        z_j = kappa_j / se_j
        spq = pq.sum()
        kappa = 1 - disagree.sum() / spq
        se0 = np.sqrt(2.0) / (spq * np.sqrt(n_pairs)) * np.sqrt(
            spq**2 - (pq * (1 - 2 * p)).sum())
        z = kappa / se0 if kappa >= -1 - RANGE_TOL else np.nan
    table = pd.DataFrame(
        {"kappa": kappa_j, "se": se_j, "z": z_j, "pval": 2 * stats.norm.sf(np.abs(z_j)),
         "share": p},
        index=pd.Index(state.categories, name="category"),
    )
    tests = {"se_null": float(se0), "z": float(z), "pvalue": float(2 * stats.norm.sf(abs(z)))}
    return table, tests


# --------------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------------
LEVELS = ("nominal", "ordinal", "interval", "ratio")
_MAX_CODED = 2000
_MAX_INTERVAL_CODED = 50  # above this many distinct values, interval alpha uses moments


def _delta2(level: str, scale: np.ndarray, nc: np.ndarray) -> np.ndarray:
    """Squared difference function(s), batched over the first axis of ``nc`` (B, q)."""
    q = scale.size
    if level == "nominal":
        d = 1.0 - np.eye(q)
        return np.broadcast_to(d, (nc.shape[0], q, q))
    if level == "interval":
        d = (scale[:, None] - scale[None, :]) ** 2
        return np.broadcast_to(d, (nc.shape[0], q, q))
    if level == "ratio":
        s = scale[:, None] + scale[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(s != 0, ((scale[:, None] - scale[None, :]) / s) ** 2, 0.0)
        return np.broadcast_to(d, (nc.shape[0], q, q))
    # ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2, from the marginals of each batch row
    S = np.cumsum(nc, axis=-1)
    diff = S[:, None, :] - S[:, :, None] + (nc[:, :, None] - nc[:, None, :]) / 2.0
    return diff**2


class _Alpha(SumStatistic):
    """Krippendorff's alpha from the coincidence matrix (batched).

    Per-case features: the case's contribution to the coincidence matrix,
    ``(c c' - diag(c)) / (m - 1)`` for a case with counts ``c`` rated ``m >= 2`` times (as its
    products ``c c' / (m - 1)`` and its diagonal ``c / (m - 1)``).
    """

    feature_key = "alpha"  # the features are the same at every level

    def __init__(self, state: _Categorical, level: str):
        super().__init__(state)
        self.s = state
        self.level = level
        self.pairable = state.r >= 2

    def features(self, C: np.ndarray) -> np.ndarray:
        m = C.sum(axis=-1)
        ok = m >= 2
        inv = np.where(ok, 1.0 / np.where(ok, m - 1, 1), 0.0)[..., None]
        q = C.shape[-1]
        outer = (C[..., :, None] * C[..., None, :]).reshape(*C.shape[:-1], q * q)
        return np.concatenate([outer * inv, C * inv], axis=-1)

    def value(self, S: np.ndarray) -> np.ndarray:
        q = self.s.q
        coin = S[:, : q * q].reshape(-1, q, q).copy()
        idx = np.arange(q)
        coin[:, idx, idx] -= S[:, q * q:]
        # a deletion by subtraction leaves rounding residue where a coincidence is 0; a true
        # coincidence is at least 1 / (m - 1) for m raters of a case, far above this
        tiny = 1e-12 * max(1.0, float(self.s.r.sum()))
        coin[np.abs(coin) <= tiny] = 0.0
        return self.from_coincidences(coin)

    def from_coincidences(self, coin: np.ndarray) -> np.ndarray:
        nc = coin.sum(axis=-1)
        n = nc.sum(axis=-1)
        d2 = _delta2(self.level, self.s.scale, nc)
        do = (coin * d2).sum(axis=(-2, -1))
        de = np.einsum("bc,bk,bck->b", nc, nc, d2)
        return 1.0 - (n - 1) * do / de

    def jackknife_se(self) -> float:
        """Jackknife standard error over pairable cases (leave one case out at a time); each
        leave-one-out value is the total less that case's features."""
        return _case_jackknife_se(self, self.pairable)


def _case_jackknife_se(stat: SumStatistic, keep: np.ndarray) -> float:
    """The leave-one-case-out jackknife SE over the cases ``keep`` (NaN below 3 of them or
    when a deletion leaves the statistic undefined)."""
    n = int(keep.sum())
    if n < 3:
        return np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        loo = stat.case_deleted()[keep]
    if not np.isfinite(loo).all():
        return np.nan
    return float(np.sqrt((n - 1) / n * ((loo - loo.mean()) ** 2).sum()))


class _Scores(RatingSums):
    """Per-case count, sum and sum of squares of numeric ratings (centred)."""

    def __init__(self, wide: Any):
        case_at, rater_at, v = wide.entries()
        case_at, n = _rated_cases(case_at, wide.n_cases)
        self.x = v - v.mean()  # centred: alpha is shift-invariant
        super().__init__(case_at, rater_at, n, wide.n_raters, 3)

    def _coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = self.x
        return (np.repeat(np.arange(x.size), 3), np.tile(np.arange(3), x.size),
                np.stack([np.ones_like(x), x, x**2], axis=1).ravel())

    def _terms(self, sel: np.ndarray) -> np.ndarray:
        x = self.x[sel]
        return np.stack([np.ones_like(x), x, x**2], axis=1)

    def _term_keys(self) -> tuple[np.ndarray, np.ndarray]:
        values, key = np.unique(self.x, return_inverse=True)
        return key.reshape(-1), np.stack([np.ones_like(values), values, values**2], axis=1)


class _IntervalAlpha(SumStatistic):
    """Interval alpha from per-case moments (no coincidence matrix), for continuous ratings.

    For the interval metric the coincidence sums reduce to within-case and total sums of
    squares: ``alpha = 1 - (n - 1) sum_u m_u SS_u / (m_u - 1) / (n SS_total)`` over pairable
    cases, ``n`` being the number of pairable values.
    """

    feature_key = "interval"

    def __init__(self, wide: Any):
        super().__init__(_Scores(wide))
        self.r = self.data.sums[:, 0]
        self.counts = self.r[:, None]  # (n, 1): only its first dimension is used by callers
        self.n_raters = self.data.n_raters
        self.n_ratings = int(self.data.x.size)
        self.q = 1

    def features(self, M: np.ndarray) -> np.ndarray:
        m, s1, s2 = M[..., 0], M[..., 1], M[..., 2]
        p = m >= 2
        mm = np.where(p, m, 2.0)
        within = np.where(p, (s2 - s1**2 / mm) * mm / (mm - 1), 0.0)
        return np.stack([m * p, s1 * p, s2 * p, within], axis=-1)

    def value(self, S: np.ndarray) -> np.ndarray:
        n = S[:, 0]
        total = S[:, 2] - S[:, 1] ** 2 / n
        # no variation (undefined), also when a deletion's rounding leaves a residue
        tiny = 1e-12 * float(self.full[:, 2].sum())
        total = np.where(total > tiny, total, np.nan)
        return 1.0 - (n - 1) * S[:, 3] / (n * total)

    def jackknife_se(self) -> float:
        return _case_jackknife_se(self, self.r >= 2)


def krippendorff_alpha(
    data: Any, case: str | None = None, rater: str | None = None, rating: str | None = None,
    *, level: str = "nominal", categories: Any = None, confidence: float = 0.95,
    ci: str | None = "analytic", n_boot: int = 2000, resample: str = "cases", seed: Any = None,
) -> AgreementResult:
    """Krippendorff's alpha for any number of raters and any pattern of missing ratings.

    ``alpha = 1 - (n - 1) * sum_ck o_ck d2_ck / sum_ck n_c n_k d2_ck`` with ``o`` the
    coincidence matrix over pairable cases (rated at least twice), ``n_c`` its marginals and
    ``d2`` the squared difference of the level of measurement.

    Parameters
    ----------%s
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement. Ordinal differences depend on how often each category is used;
        interval and ratio use the categories' numeric values (ranks 1..q for labels).

    Returns
    -------
    AgreementResult
        With ``ci="analytic"`` the interval is ``alpha +/- t * se`` with the jackknife
        (leave-one-case-out) standard error; Krippendorff recommends the bootstrap
        (``ci="percentile"`` or ``"bca"``), which is vectorised here.

    Notes
    -----
    Undefined (NaN, with a warning) when every pairable value is in one category, since then
    there is no variation to agree about. Otherwise alpha lies in [-1, 1] at every level (on
    positive values for the ratio level): it is at least ``1 - 2 (n - 1) / n`` for ``n``
    pairable values. A value outside would be reported as NaN with a warning.
    The interval contains the estimate or is NaN with a warning: analytic limits are
    truncated to the range, bootstrap resamples outside it count as undefined, and a
    bootstrap interval that leaves out the estimate is reported as NaN.

    References
    ----------
    .. [1] Krippendorff, K. (2004). Content Analysis (2nd ed.), ch. 11. Sage.
    .. [2] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
       School for Communication, University of Pennsylvania.
    .. [3] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.data.datasets.example_ratings()
    >>> res = rv.krippendorff_alpha(ratings, "vignette", "officer", "rosh", level="ordinal")
    >>> res.coefficient, round(res.estimate, 3)
    ("Krippendorff's alpha", 0.652)

    A bootstrap interval instead of the analytic one (the seed fixes it):

    >>> boot = rv.krippendorff_alpha(ratings, "vignette", "officer", "rosh", level="ordinal",
    ...                              ci="percentile", n_boot=500, seed=3)
    >>> boot.ci_method, [round(x, 3) for x in boot.ci]
    ('bootstrap percentile (500 x cases)', [0.46, 0.757])
    """
    check_choice(level, "level", LEVELS)
    wide = prepare(data, case, rater, rating, categories)
    return _krippendorff_alpha(wide, level, confidence, ci, n_boot, resample, seed)


def _krippendorff_alpha(wide: Any, level: str, confidence: float, ci: str | None,
                        n_boot: int, resample: str, seed: Any,
                        state: _Categorical | None = None) -> AgreementResult:
    """Krippendorff's alpha of normalised ratings; ``state``: their coded table when it has
    been built already (any weights: alpha does not use them)."""
    if level != "nominal" and not wide.ordered:
        raise RiskevalError(
            f"level={level!r} needs ordered categories, but the ratings are labels with no "
            "declared order; pass categories=, lowest first (e.g. 'low,medium,high,very high')"
        )
    n_distinct = len(wide.coded_entries()[3])
    if level != "interval" and n_distinct > _MAX_CODED:
        raise RiskevalError(
            f"{n_distinct} distinct rating values: level={level!r} builds a "
            f"{n_distinct} x {n_distinct} coincidence matrix; use level='interval' for "
            "continuous ratings or round them to categories"
        )
    if level == "interval" and n_distinct > _MAX_INTERVAL_CODED:
        kernel = _IntervalAlpha(wide)
        state = kernel
    else:
        state = state if state is not None else _Categorical(wide, None, None, None, None,
                                                             None)
        kernel = _Alpha(state, level)
    _check_pairs(state, "Krippendorff's alpha")
    with np.errstate(invalid="ignore", divide="ignore"):
        est = float(kernel(np.ones((1, state.counts.shape[0])), None)[0])
    se = np.nan
    note = ""
    if not np.isfinite(est):
        note = ("Krippendorff's alpha is undefined: every pairable rating is in one category "
                "(no variation to agree about); returning NaN")
        warn_degenerate(note)
    else:
        est, note = in_range(est, -1.0, 1.0, (
            f"Krippendorff's alpha ({level}) is not defined on these data: its formula "
            f"gives {est:.4g}, outside [-1, 1], the range of alpha at every level on positive "
            "values; returning NaN"))
    if np.isfinite(est) and ci == "analytic":
        se = kernel.jackknife_se()
    n_pairable = int((state.r >= 2).sum())
    return finish(
        "Krippendorff's alpha", kernel, n_cases=state.counts.shape[0],
        n_raters=state.n_raters, n_ratings=state.n_ratings, se=se, ci=ci,
        confidence=confidence, n_boot=n_boot, resample=resample, seed=seed,
        width=kernel.cells,
        df=max(n_pairable - 1, 1), extra={"level": level, "n_pairable_cases": n_pairable},
        references=(REF_KRIPP_2004, REF_KRIPP_2011, REF_EFRON_1993), estimate=est,
        se_method="jackknife SE", lower=-1.0, upper=1.0, note=note,
    )


for _f in (percent_agreement, brennan_prediger, gwet_ac, fleiss_kappa, krippendorff_alpha):
    _f.__doc__ = _f.__doc__ % _COMMON_PARAMS
