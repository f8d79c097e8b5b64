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

A rating's change depends only on its case and on its term (its category, or its value): when
the terms come from a small set (:meth:`RatingSums._term_keys`), the changes are computed once
per (case, term) pair that occurs and ``D_j`` is a sparse product of the rater x pair counts
with them, so a table of 1.5 million ratings in 4 categories evaluates ``features`` on at most
``4 n`` rows, not on 1.5 million. Statistics of the same data whose features agree (the
chance-corrected coefficients with the same weights) share the features, the changes and
``D`` (:attr:`SumStatistic.feature_key`).
"""

from __future__ import annotations

from collections.abc import Hashable
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
        # what depends on the ratings only (kept by copies that differ in other respects)
        self._structure: dict[str, Any] = {}
        # per feature key: features, changes and rater totals shared by statistics
        self._features: dict[Hashable, dict[str, Any]] = {}

    @property
    def _by_rater(self) -> sparse.csr_matrix:
        """Raters x (case, term): rater weights ``V`` give the weighted sums ``V @ this``."""
        if "by_rater" not in self._structure:
            rating, cell, value = self._cell
            self._structure["by_rater"] = sparse.csr_matrix(
                (value, (self.rater_at[rating], cell)),
                shape=(self.n_raters, self.n_cases * self.width))
        return self._structure["by_rater"]

    def _coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _terms(self, sel: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _term_keys(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Each rating's term as an integer key (ratings,), and the terms of the keys
        (keys x width), the same values :meth:`_terms` gives; None when the terms are not
        drawn from a set (every rating's change is then computed)."""
        return None

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, sparse.csr_matrix] | None:
        """The (case, term) pairs that occur: each rating's pair (ratings,), each pair's case
        (P,) and terms (P, width), and the raters x pairs counts; None without term keys."""
        if "pairs" not in self._structure:
            self._structure["pairs"] = self._make_pairs()
        return self._structure["pairs"]

    def _make_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                   sparse.csr_matrix] | None:
        keys = self._term_keys()
        if keys is None:
            return None
        key, terms = keys
        k = max(1, terms.shape[0])
        code = self.case_at.astype(np.int64) * k + key
        if self.n_cases * k <= 4 * code.size + 4096:   # a table of every pair is small
            used = np.bincount(code, minlength=self.n_cases * k) > 0
            ids = np.flatnonzero(used)
            index = (np.cumsum(used) - 1)[code]
        else:
            ids, index = np.unique(code, return_inverse=True)
            index = index.reshape(-1)
        counts = sparse.csr_matrix((np.ones(code.size), (self.rater_at, index)),
                                   shape=(self.n_raters, ids.size))
        return index, ids // k, terms[ids % k], counts

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

    #: Statistics of the same data with equal keys have the same :meth:`features` (and
    #: share them, their changes and the rater totals); None: not shared.
    feature_key: Hashable | None = None

    def __init__(self, data: RatingSums):
        self.data = data
        key = self.feature_key
        self._store: dict[str, Any] = ({} if key is None else
                                       data._features.setdefault(key, {}))

    def features(self, sums: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def value(self, S: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def full(self) -> np.ndarray:
        """Features of every case with every rater in (n, d)."""
        if "full" not in self._store:
            self._store["full"] = self.features(self.data.sums)
        return self._store["full"]

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

    def _removed(self, case: np.ndarray, terms: np.ndarray) -> np.ndarray:
        """The change in the features of cases ``case`` when one rating with ``terms`` is
        removed from each ((rows,) and (rows, width) -> (rows, d)), in chunks of bounded
        size."""
        d = self.data
        F = self.full
        step = max(1, CHUNK_CELLS // max(1, F.shape[1] + d.width))
        out = np.empty((case.size, F.shape[1]))
        for start in range(0, case.size, step):
            stop = min(start + step, case.size)
            i = case[start:stop]
            out[start:stop] = F[i] - self.features(d.sums[i] - terms[start:stop])
        return out

    def _pair_changes(self) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix] | None:
        """Each rating's (case, term) pair, the change of each pair (P, d) and the raters x
        pairs counts (:meth:`RatingSums.pairs`); None when the data have no term keys."""
        pairs = self.data.pairs()
        if pairs is None:
            return None
        if "pair_changes" not in self._store:
            _, case, terms, _ = pairs
            self._store["pair_changes"] = self._removed(case, terms)
        return pairs[0], self._store["pair_changes"], pairs[3]

    def _changes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each rating: its case, its rater and the change in its case's features when
        that rating alone is removed (ratings x d)."""
        d = self.data
        by_pair = self._pair_changes()
        if by_pair is not None:
            index, G, _ = by_pair
            return d.case_at, d.rater_at, G[index]
        step = max(1, CHUNK_CELLS // max(1, self.full.shape[1] + d.width))
        out = np.empty((d.case_at.size, self.full.shape[1]))
        for start in range(0, d.case_at.size, step):
            sel = np.arange(start, min(start + step, d.case_at.size))
            out[sel] = self._removed(d.case_at[sel], d._terms(sel))
        return d.case_at, d.rater_at, out

    def _rater_totals(self, delta: np.ndarray | None = None) -> np.ndarray:
        """``D_j``: the changes summed over the ratings of each rater (m, d); from the
        (case, term) pairs where the data have them, else from ``delta`` (ratings x d, as
        :meth:`_changes` gives)."""
        if "rater_totals" in self._store:
            return self._store["rater_totals"]
        d = self.data
        by_pair = self._pair_changes()
        if by_pair is not None:
            _, G, counts = by_pair
            D = np.asarray(counts @ G)
        else:
            if delta is None:
                delta = self._changes()[2]
            by = sparse.csr_matrix((np.ones(d.rater_at.size), (d.rater_at,
                                                               np.arange(d.rater_at.size))),
                                   shape=(d.n_raters, d.rater_at.size))
            D = np.asarray(by @ delta)
        self._store["rater_totals"] = D
        return D

    def rater_deleted(self) -> np.ndarray:
        """The statistic without each rater in turn (m,)."""
        return self.value(self.full.sum(axis=0) - self._rater_totals())

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
