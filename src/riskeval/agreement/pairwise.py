"""Agreement between every pair of raters on the cases both rated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._core.results import Result
from ._common import prepare
from ._weights import agreement_weights, weights_label

__all__ = ["PairwiseAgreement", "pairwise_agreement"]


@dataclass(frozen=True)
class PairwiseAgreement(Result):
    """Raters x raters agreement matrix (what :func:`pairwise_agreement` returns).

    Attributes
    ----------
    matrix : pandas.DataFrame
        Mean (weighted) agreement of each pair over the cases both rated; NaN on pairs with no
        case in common. The diagonal is 1 wherever a rater rated anything.
    shared : pandas.DataFrame
        Number of cases each pair both rated.
    weights : str
        The agreement weights used.

    Examples
    --------
    >>> import riskeval as rv
    >>> pa = rv.agreement.pairwise_agreement([[1, 1, 2], [2, 2, 2], [3, 3, 1]])
    >>> pa.matrix.shape
    (3, 3)
    >>> pa.to_frame()["agreement"].round(3).tolist()
    [1.0, 0.333, 0.333]
    >>> print(pa.summary().splitlines()[0])
    Pairwise agreement (identity weights): 3 raters, 3 pairs with a shared case, mean 0.556
    """

    matrix: pd.DataFrame
    shared: pd.DataFrame
    weights: str

    @property
    def title(self) -> str:  # type: ignore[override]
        """The result's name."""
        return f"Pairwise agreement ({self.weights} weights)"

    def to_frame(self) -> pd.DataFrame:
        """The long form: one row per unordered pair (see :meth:`long`)."""
        return self.long()

    def summary(self) -> str:
        """How many pairs, their mean agreement, and each rater's agreement with the others
        (:meth:`by_rater`), lowest first."""
        pairs = self.long()
        seen = pairs[pairs["shared"] > 0]
        mean = float(seen["agreement"].mean()) if len(seen) else float("nan")
        head = (f"{self.title}: {len(self.matrix)} raters, {len(seen)} pairs with a shared "
                f"case, mean {mean:.3f}")
        table = self.by_rater().sort_values("agreement", kind="stable")
        with pd.option_context("display.width", 100, "display.max_rows", 40,
                               "display.float_format", "{:.3f}".format):
            return f"{head}\nEach rater's agreement with the others:\n{table.to_string()}"

    def long(self) -> pd.DataFrame:
        """One row per unordered pair: ``rater_1``, ``rater_2``, ``agreement``, ``shared``."""
        i, j = np.triu_indices(len(self.matrix), 1)
        names = self.matrix.index
        return pd.DataFrame({"rater_1": names[i], "rater_2": names[j],
                             "agreement": self.matrix.to_numpy()[i, j],
                             "shared": self.shared.to_numpy()[i, j]})

    def by_rater(self) -> pd.DataFrame:
        """Each rater's agreement with all the others, over every case they share.

        ``agreement`` is the shared-case-weighted mean of the rater's row (the rater's own
        entry excluded); ``shared`` the number of (other rater, case) pairs behind it. Low
        values point to officers whose ratings are out of line with their colleagues'.
        """
        n = self.shared.to_numpy()
        with np.errstate(invalid="ignore"):
            agree = np.multiply(self.matrix.to_numpy(), n, dtype=float)  # one raters^2 array
        np.nan_to_num(agree, copy=False, nan=0.0)                         # NaN: none shared
        np.fill_diagonal(agree, 0.0)                                      # the rater's own
        total = (n.sum(axis=1) - np.diagonal(n)).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(total > 0, agree.sum(axis=1) / np.where(total > 0, total, 1),
                            np.nan)
        return pd.DataFrame({"agreement": mean, "shared": total.astype(int)},
                            index=self.matrix.index)

    def plot(self, ax: Any = None) -> Any:
        """Heatmap of the matrix (:func:`riskeval._core.plots.heatmap`)."""
        from .._core.plots import heatmap

        return heatmap(self.matrix, ax=ax, title=f"Pairwise agreement ({self.weights} weights)",
                       vmin=0.0, vmax=1.0)


#: Whole-number sums up to this size are exact in single precision.
_EXACT_FLOAT32 = 2**24


def _pair_sums(codes: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Agreement credit and number of shared cases of every pair of raters (raters x raters;
    single precision where that is exact).

    ``codes`` is cases x raters (-1 where not rated), ``w`` the q x q agreement weights. With
    ``A`` the (category, case) x raters indicator matrix of the ratings, the credit is
    ``A' (W kron I) A``, one matrix product; with the identity weights it is ``A' A``, whose
    entries are counts of cases, computed exactly in single precision (at twice the speed)
    while every count stays below 2^24.
    """
    n, m = codes.shape
    q = w.shape[0]
    exact = np.array_equal(w, np.eye(q)) and n < _EXACT_FLOAT32
    dtype = np.float32 if exact else np.float64
    A = np.empty((q * n, m), dtype=dtype)            # row k * n + i: case i in category k
    for k in range(q):
        A[k * n:(k + 1) * n] = codes == k
    if exact:
        agree = A.T @ A
    else:
        partner = np.tensordot(w, A.reshape(q, n, m), axes=(1, 0))  # credit against each k
        agree = A.T @ partner.reshape(q * n, m)
    given = codes >= 0
    if given.all():                                  # every rater rated every case
        return agree, np.full((m, m), n, dtype=np.float64)
    rated = given.astype(np.float32 if n < _EXACT_FLOAT32 else np.float64)
    return agree, rated.T @ rated


def pairwise_agreement(data: Any, case: str | None = None, rater: str | None = None,
                       rating: str | None = None, *, categories: Any = None,
                       weights: Any = "identity") -> PairwiseAgreement:
    """Observed agreement of every pair of raters (no chance correction).

    For raters ``a`` and ``b`` with ``n_ab`` cases in common, the entry is
    ``sum_i w(x_ia, x_ib) / n_ab``: the share of shared cases given the same level with the
    identity weights, or partial credit for near misses with ``"linear"`` or ``"quadratic"``
    weights (Cohen 1968). Computed for all pairs at once from category indicator matrices, so
    100 raters take milliseconds.

    Parameters
    ----------
    data, case, rater, rating, categories
        As for every agreement function.
    weights : {"identity", "linear", "quadratic"}, other name or q x q matrix
        Agreement weights (see :func:`riskeval.agreement.agreement_weights`); a matrix is
        reported as ``"custom"``.

    Returns
    -------
    PairwiseAgreement
        ``matrix`` and ``shared`` (raters x raters); ``to_frame()`` one row per pair,
        ``by_rater()`` one row per rater, ``plot()`` a heatmap.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=6)
    >>> ratings = rv.simulate(world, seed=1)
    >>> pa = pairwise_agreement(ratings, "case", "officer", "rating", weights="linear")
    >>> pa.matrix.shape
    (6, 6)
    >>> round(float(pa.by_rater()["agreement"].mean()), 3)
    0.711

    References
    ----------
    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin* 70(4), 213-220.
    """
    wide = prepare(data, case, rater, rating, categories)
    codes, _, scale = wide.coded()
    w = agreement_weights(weights, scale, ordered=wide.ordered)
    agree, shared = _pair_sums(codes, w)
    some = shared > 0
    mat = np.full(shared.shape, np.nan)
    np.divide(agree, shared, out=mat, where=some, dtype=np.float64)
    idx = pd.Index(wide.raters, name=rater or wide.raters.name or "rater")
    # the arrays are new: the frames take them without a copy
    return PairwiseAgreement(pd.DataFrame(mat, index=idx, columns=idx, copy=False),
                             pd.DataFrame(shared.astype(int), index=idx, columns=idx,
                                          copy=False),
                             weights_label(weights))
