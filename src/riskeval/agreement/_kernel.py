"""Agreement statistics as functions of per-case sums: deletions and resamples at the cost of
the ratings given.

Every coefficient of :mod:`riskeval.agreement.categorical` is a function of sums over cases
of per-case *features*, and each case's features are a function of per-case *sums* of
per-rating terms (a rating's category as a one-hot row, or ``1, x, x^2`` for scores):

``stat(U, V) = value(sum_i U_i features(sums_i(V)))``

with ``U`` the case weights and ``V`` the rater weights (multiplicities in a bootstrap, 0/1 in
a jackknife). Writing them this way gives, with memory proportional to the ratings given:

- leave one case out: ``value(T - F_i)`` for all cases at once (``T`` the total of the
  features ``F``);
- leave one rater out: ``value(T - D_j)``, ``D_j`` summing, over the cases rater ``j`` rated,
  the change in features when that one rating is removed;
- leave a case and a rater out together: ``value(T - F_i - D_j + d_ij)``, ``d_ij`` being
  case ``i``'s change when ``j`` rated it (0 otherwise), so it is not removed twice.

These are the same numbers as the batched evaluation with ``1 - I`` weight matrices, without
building an n x n, m x n or n x m x n array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

#: Cells (rows x features) processed at once by the deletions.
CHUNK_CELLS = 4_000_000


class RatingSums:
    """Per-case sums of per-rating terms, with optional rater weights.

    Subclasses give the terms: :meth:`_coo` (all ratings, as sparse triplets of rating,
    term, value) and :meth:`_terms` (a dense block for some ratings).
    """

    def __init__(self, case_at: np.ndarray, rater_at: np.ndarray, n_cases: int,
                 n_raters: int, width: int):
        self.case_at = case_at
        self.rater_at = rater_at
        self.n_cases = n_cases
        self.n_raters = n_raters
        self.width = width
        rating, term, value = self._coo()
        self._cell = (rating, case_at[rating] * width + term, value)
        self.sums = np.bincount(self._cell[1], weights=value,
                                minlength=n_cases * width).reshape(n_cases, width)
        self._matrix: sparse.csr_matrix | None = None

    @property
    def _by_rater(self) -> sparse.csr_matrix:
        """Raters x (case, term): rater weights ``V`` give the weighted sums ``V @ this``."""
        if self._matrix is None:
            rating, cell, value = self._cell
            self._matrix = sparse.csr_matrix(
                (value, (self.rater_at[rating], cell)),
                shape=(self.n_raters, self.n_cases * self.width))
        return self._matrix

    def _coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _terms(self, sel: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def weighted(self, V: np.ndarray) -> np.ndarray:
        """Per-case sums (B, n, width) under rater weights ``V`` (B, raters)."""
        n, w = self.n_cases, self.width
        dropped = _one_rater_dropped(V)
        if dropped is not None:  # each row leaves out one rater: less that rater's terms
            out = self.sums.reshape(1, n * w) - self._by_rater[dropped].toarray()
        else:
            out = np.asarray(self._by_rater.T @ V.T).T
        return out.reshape(V.shape[0], n, w)


def _one_rater_dropped(V: np.ndarray) -> np.ndarray | None:
    """For rater weights that each leave out exactly one rater (the rows of ``1 - I``), the
    index dropped in each row; otherwise None (general weights)."""
    if V.ndim != 2 or V.shape[1] < 2:
        return None
    zero = V == 0
    if not (zero.sum(axis=1) == 1).all() or not (zero | (V == 1)).all():
        return None
    return np.argmax(zero, axis=1)


class SumStatistic:
    """A batched statistic ``value(U @ features(sums(V)))`` over a :class:`RatingSums`.

    Subclasses define :meth:`features` (per-case sums (..., width) -> (..., d)) and
    :meth:`value` (feature totals (B, d) -> (B,)).
    """

    def __init__(self, data: RatingSums):
        self.data = data
        self._full: np.ndarray | None = None

    def features(self, sums: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def value(self, S: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def full(self) -> np.ndarray:
        """Features of every case with every rater in (n, d)."""
        if self._full is None:
            self._full = self.features(self.data.sums)
        return self._full

    @property
    def cells(self) -> int:
        """Array cells one resample with rater weights needs (for sizing batches)."""
        return self.data.n_cases * (self.data.width + self.full.shape[1])

    def __call__(self, U: np.ndarray, V: np.ndarray | None) -> np.ndarray:
        if V is None:
            return self.value(U @ self.full)
        return self.value(np.einsum("bn,bnd->bd", U, self.features(self.data.weighted(V))))

    # -- deletions ----------------------------------------------------------------------------
    def case_deleted(self) -> np.ndarray:
        """The statistic without each case in turn (n,)."""
        F = self.full
        return self.value(F.sum(axis=0) - F)

    def _changes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each rating: its case, its rater and the change in its case's features when
        that rating alone is removed (ratings x d), in chunks of bounded size."""
        d = self.data
        F = self.full
        step = max(1, CHUNK_CELLS // max(1, F.shape[1] + d.width))
        out = np.empty((d.case_at.size, F.shape[1]))
        for start in range(0, d.case_at.size, step):
            sel = np.arange(start, min(start + step, d.case_at.size))
            i = d.case_at[sel]
            out[sel] = F[i] - self.features(d.sums[i] - d._terms(sel))
        return d.case_at, d.rater_at, out

    def _rater_totals(self, delta: np.ndarray) -> np.ndarray:
        """``D_j``: the changes summed over the ratings of each rater (m, d)."""
        d = self.data
        by = sparse.csr_matrix((np.ones(d.rater_at.size), (d.rater_at,
                                                           np.arange(d.rater_at.size))),
                               shape=(d.n_raters, d.rater_at.size))
        return np.asarray(by @ delta)

    def rater_deleted(self) -> np.ndarray:
        """The statistic without each rater in turn (m,)."""
        _, _, delta = self._changes()
        return self.value(self.full.sum(axis=0) - self._rater_totals(delta))

    def both_deleted(self) -> np.ndarray:
        """The statistic without case ``i`` and rater ``j`` together (n, m)."""
        d = self.data
        F = self.full
        total = F.sum(axis=0)
        case_at, rater_at, delta = self._changes()
        D = self._rater_totals(delta)
        n, m, k = d.n_cases, d.n_raters, F.shape[1]
        out = np.empty((n, m))
        order = np.argsort(case_at, kind="stable")
        bounds = np.searchsorted(case_at[order], np.arange(n + 1))
        step = max(1, CHUNK_CELLS // max(1, m * k))
        for start in range(0, n, step):
            stop = min(n, start + step)
            S = total - F[start:stop, None, :] - D[None, :, :]
            # where rater j rated case i, that rating's change went out with the case already
            sel = order[bounds[start]:bounds[stop]]
            S[case_at[sel] - start, rater_at[sel]] += delta[sel]
            out[start:stop] = self.value(S.reshape(-1, k)).reshape(stop - start, m)
        return out


def deleted(stat: Any, n: int, m: int, *, cases: bool) -> np.ndarray:
    """The statistic without each case (or each rater) in turn: from per-case sums for a
    :class:`SumStatistic`, otherwise in batches of rows of ``1 - I``."""
    if isinstance(stat, SumStatistic):
        return stat.case_deleted() if cases else stat.rater_deleted()
    if hasattr(stat, "case_deleted") and cases:
        return stat.case_deleted()
    size = n if cases else m
    step = max(1, CHUNK_CELLS // (n + m))
    out = np.empty(size)
    for start in range(0, size, step):
        rows = np.arange(start, min(size, start + step))
        drop = np.ones((rows.size, size))
        drop[np.arange(rows.size), rows] = 0.0
        keep = np.ones((rows.size, m if cases else n))
        out[rows] = stat(drop, None) if cases else stat(keep, drop)
    return out


def both_deleted(stat: Any, n: int, m: int) -> np.ndarray:
    """The statistic without case ``i`` and rater ``j`` together (n, m), in batches."""
    out = np.empty((n, m))
    step = max(1, CHUNK_CELLS // (m * (n + m)))          # cases per batch
    drop_rater = 1.0 - np.eye(m)
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        U = np.ones((rows.size * m, n))
        U[np.arange(rows.size * m), np.repeat(rows, m)] = 0.0
        V = np.tile(drop_rater, (rows.size, 1))
        out[rows] = stat(U, V).reshape(rows.size, m)
    return out
