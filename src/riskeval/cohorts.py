"""Comparing cohorts of officers on consistency: is one cohort's agreement really higher?

Two cohorts (officers trained under different routes, two offices, or the same officers before
and after a training programme) rate the same vignettes. The difference in their ICC comes with:

* a bootstrap interval that respects the design -- vignettes are resampled once and shared by
  both cohorts (they rated the same cases), officers are resampled within their cohort; for the
  same officers measured twice (``paired``), officers are resampled jointly;
* a permutation test of no difference -- officers' cohort labels are shuffled (for paired data,
  each officer's two occasions are swapped at random).

Both run as one batched two-way ANOVA over all resamples (the mean-square kernel of
:func:`riskeval.agreement.icc`, with case and officer multiplicities as weights), so thousands
of resamples take well under a second.

References
----------
Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
reliability. *Psychological Bulletin* 86(2), 420-428.

Good, P. (2005). *Permutation, Parametric and Bootstrap Tests of Hypotheses* (3rd ed.).
Springer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .agreement._bootstrap import make_rng
from .agreement.icc import _icc_values, _mean_squares
from .data import _check_columns
from .errors import RiskevalError

__all__ = ["CohortComparison", "compare_icc"]

_FORMS = ("ICC1", "ICC2", "ICC3")


@dataclass(frozen=True)
class CohortComparison:
    """Difference in an ICC between two cohorts, with a bootstrap interval and a permutation p."""

    form: str
    cohorts: tuple[str, str]
    estimates: tuple[float, float]
    difference: float
    ci: tuple[float, float]
    p_value: float
    n_boot: int
    n_perm: int
    paired: bool

    def summary(self) -> str:
        a, b = self.cohorts
        return (f"{self.form}: {a} {self.estimates[0]:.3f}, {b} {self.estimates[1]:.3f}; "
                f"difference {self.difference:+.3f} [{self.ci[0]:+.3f}, {self.ci[1]:+.3f}], "
                f"permutation p = {self.p_value:.3g}")


def _wide(frame: pd.DataFrame, case: str, rater: str, rating: str) -> pd.DataFrame:
    w = frame.pivot_table(index=case, columns=rater, values=rating, aggfunc="first",
                          observed=True)
    if w.isna().any().any():
        raise RiskevalError("every officer must rate every vignette (a complete design) for "
                            "the cohort comparison; some ratings are missing")
    return w


def _icc_batch(X: np.ndarray, U: np.ndarray, V: np.ndarray, form: str) -> np.ndarray:
    return _icc_values(_mean_squares(X, U, V))[form]


def compare_icc(data: pd.DataFrame, *, cohort: str, case: str, rater: str, rating: str,
                form: str = "ICC2", paired: bool = False, n_boot: int = 2000,
                n_perm: int = 2000, seed: Any = 0, confidence: float = 0.95
                ) -> CohortComparison:
    """Compare the ICC of two cohorts of officers who rated the same vignettes.

    Parameters
    ----------
    data : DataFrame
        One row per rating: ``cohort``, ``case``, ``rater``, ``rating`` (numeric, or ordered
        levels, scored 1..q).
    cohort : str
        Column with exactly two values. Unpaired: each officer belongs to one cohort. Paired
        (``paired=True``): every officer appears in both (e.g. before and after training).
    form : {"ICC1", "ICC2", "ICC3"}
        Single-rater ICC form (Shrout & Fleiss 1979).

    Returns
    -------
    CohortComparison
        ``difference`` = first cohort (in sorted order) minus second, percentile bootstrap
        interval, two-sided permutation p-value (with the +1 correction of Phipson & Smyth
        2010).
    """
    if form not in _FORMS:
        raise RiskevalError(f"form={form!r}; expected one of {_FORMS}")
    _check_columns(data, {"cohort": cohort, "case": case, "rater": rater, "rating": rating})
    frame = data[[cohort, case, rater, rating]].copy()
    if isinstance(frame[rating].dtype, pd.CategoricalDtype):
        frame[rating] = frame[rating].cat.codes.astype(float) + 1.0
    frame[rating] = pd.to_numeric(frame[rating], errors="coerce")
    labels = sorted(frame[cohort].dropna().unique(), key=str)
    if len(labels) != 2:
        raise RiskevalError(f"column {cohort!r} must hold exactly two cohorts; it has "
                            f"{len(labels)}: {labels[:5]}")
    rng = make_rng(seed)
    key = frame[rater].astype(str)
    if paired:
        frame["__unit__"] = key + " @ " + frame[cohort].astype(str)
    else:
        per = frame.groupby(rater, observed=True)[cohort].nunique()
        if (per > 1).any():
            raise RiskevalError(f"officer {per.index[per > 1][0]!r} appears in both cohorts; "
                                f"pass paired=True for the same officers measured twice")
        frame["__unit__"] = key
    w = _wide(frame, case, "__unit__", rating)
    X = w.to_numpy(float)
    unit_cohort = frame.drop_duplicates("__unit__").set_index("__unit__")[cohort]
    in_a = (unit_cohort.reindex(w.columns) == labels[0]).to_numpy()
    n, k = X.shape
    ones_u = np.ones((1, n))
    va, vb = in_a[None, :].astype(float), (~in_a)[None, :].astype(float)
    if va.sum() < 2 or vb.sum() < 2:
        raise RiskevalError("each cohort needs at least two officers")
    est_a = float(_icc_batch(X, ones_u, va, form)[0])
    est_b = float(_icc_batch(X, ones_u, vb, form)[0])
    diff = est_a - est_b

    # bootstrap: vignettes resampled once for both cohorts; officers within cohort (paired:
    # the same officers drawn for both occasions)
    U = rng.multinomial(n, np.full(n, 1 / n), size=n_boot).astype(float)
    if paired:
        officers = frame.drop_duplicates("__unit__").set_index("__unit__")[rater]
        off = officers.reindex(w.columns).astype(str).to_numpy()
        names = np.unique(off)
        draws = rng.multinomial(len(names), np.full(len(names), 1 / len(names)),
                                size=n_boot).astype(float)
        idx = np.searchsorted(names, off)
        Va, Vb = draws[:, idx] * in_a, draws[:, idx] * ~in_a
    else:
        Va, Vb = np.zeros((n_boot, k)), np.zeros((n_boot, k))
        for mask, V in ((in_a, Va), (~in_a, Vb)):
            cols = np.flatnonzero(mask)
            V[:, cols] = rng.multinomial(len(cols), np.full(len(cols), 1 / len(cols)),
                                         size=n_boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = _icc_batch(X, U, Va, form) - _icc_batch(X, U, Vb, form)
    boot = boot[np.isfinite(boot)]
    a = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [a, 1 - a])

    # permutation: shuffle cohort labels among officers (paired: swap within officer)
    if paired:
        flip = rng.random((n_perm, len(names))) < 0.5
        perm_a = np.where(flip[:, idx], ~in_a, in_a)
    else:
        perm_a = np.zeros((n_perm, k), dtype=bool)
        n_a = int(in_a.sum())
        for b in range(n_perm):
            perm_a[b, rng.permutation(k)[:n_a]] = True
    ones = np.ones((n_perm, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        null = (_icc_batch(X, ones, perm_a.astype(float), form)
                - _icc_batch(X, ones, (~perm_a).astype(float), form))
    p = (1 + int(np.sum(np.abs(null) >= abs(diff) - 1e-12))) / (n_perm + 1)
    return CohortComparison(form, (str(labels[0]), str(labels[1])), (est_a, est_b), diff,
                            (float(lo), float(hi)), float(p), len(boot), n_perm, paired)
