"""Linear mixed model with crossed and nested random intercepts (case x officer-in-office).

The kernel works on sufficient statistics: with random intercepts only, every quantity of the
profiled likelihood is a function of ``Z'Z``, ``Z'X``, ``Z'y``, ``X'X``, ``X'y`` and ``y'y``,
computed once in O(n). Each evaluation of the profiled deviance then costs O(q^3) in the number
of random-effect levels q -- independent of the number of ratings -- and less than that: the
factor with most levels has a diagonal block in ``Lambda' Z'Z Lambda + I`` and is eliminated
first (a Schur complement), leaving a dense Cholesky factorisation in the remaining levels.
The Schur complement's product of counts ``C' diag(1/d) C`` (``C``: the largest factor's
levels x the others) is a sum over the distinct numbers of ratings of the largest factor's
levels of Gram matrices computed once (see :class:`Profiled`): with few distinct counts an
evaluation needs only products of ``C`` with vectors, not with matrices.

The parametrisation and the profiled deviances are those of lme4 (Bates, Maechler, Bolker &
Walker 2015, sections 3.2-3.4): relative standard deviations ``theta_k = sigma_k / sigma``,
``Lambda = diag(theta_k I)``, and

* ML:   ``d(theta) = log|L|^2 + n (1 + log(2 pi r^2 / n))``
* REML: ``d_R(theta) = log|L|^2 + log|R_X|^2 + (n - p)(1 + log(2 pi r^2 / (n - p)))``

where ``L L' = Lambda' Z'Z Lambda + I``, ``R_X' R_X`` is the Schur complement of ``X'X`` and
``r^2`` the minimised penalised residual sum of squares.

References
----------
Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *Journal of Statistical Software* 67(1), 1-48. https://doi.org/10.18637/jss.v067.i01
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

from ._boundary import minimize_nonneg


@dataclass(frozen=True)
class Stats:
    """Sufficient statistics of a random-intercepts model (computed once per data set).

    ``y`` enters centred on its least-squares fit, ``y - X beta0``: the model for that
    residual is the same with ``beta - beta0`` as fixed effects, and its sums of squares are
    not differences of large, nearly equal numbers (which made the deviance of a million
    ratings noisy in its ninth significant digit, enough to stall the optimiser's line
    search).
    """

    n: int
    p: int
    levels: tuple[int, ...]           # levels per factor
    counts: tuple[np.ndarray, ...]    # ratings per level, per factor
    cross: dict[tuple[int, int], np.ndarray]  # Z_k' Z_l for k < l (dense counts)
    zty: tuple[np.ndarray, ...]
    ztx: tuple[np.ndarray, ...]
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    beta0: np.ndarray | None = None   # the centring: zty, xty and yty are of y - X beta0


def sufficient_stats(y: np.ndarray, X: np.ndarray, codes: list[np.ndarray],
                     levels: list[int]) -> Stats:
    """Cross-products of the design; ``codes[k]`` are 0-based level codes of factor k."""
    n, p = X.shape
    xtx = X.T @ X
    beta0 = np.linalg.lstsq(xtx, X.T @ y, rcond=None)[0]
    y = y - X @ beta0
    counts = tuple(np.bincount(c, minlength=q).astype(float) for c, q in
                   zip(codes, levels, strict=True))
    cross = {}
    for k in range(len(codes)):
        for m in range(k + 1, len(codes)):
            flat = np.bincount(codes[k] * levels[m] + codes[m],
                               minlength=levels[k] * levels[m])
            cross[(k, m)] = flat.reshape(levels[k], levels[m]).astype(float)
    zty = tuple(np.bincount(c, weights=y, minlength=q) for c, q in
                zip(codes, levels, strict=True))
    ztx = tuple(np.column_stack([np.bincount(c, weights=X[:, j], minlength=q)
                                 for j in range(p)]).reshape(q, p)
                for c, q in zip(codes, levels, strict=True))
    return Stats(n, p, tuple(levels), counts, cross, zty, ztx, xtx, X.T @ y, float(y @ y),
                 beta0)


@dataclass(frozen=True)
class Solution:
    """Everything the profiled deviance computes at one theta."""

    deviance: float
    beta: np.ndarray
    xtx_schur: np.ndarray     # R_X' R_X
    r2: float
    u: np.ndarray             # spherical random effects, all factors stacked
    logdet_l: float
    logdet_rx: float
    gradient: np.ndarray | None = None
    grad_logdet: np.ndarray | None = None   # d(log|L|^2 [+ log|R_X|^2]) / dtheta
    grad_r2: np.ndarray | None = None       # d r^2 / dtheta


#: Memory allowed for the Gram matrices of the largest factor's levels grouped by their
#: number of ratings (one dense matrix per distinct count; see :class:`Profiled`).
GROUP_BUDGET = 256 * 2 ** 20

#: Private switch for tests and benchmarks: None chooses the path from the design, True and
#: False force the grouped and the direct Schur complement.
_GROUPED: bool | None = None

#: Private switch for tests: None merges the big factor's levels with identical counts
#: against every other level when that halves their number; False never does.
_DISTINCT_ROWS: bool | None = None

#: Solutions kept per :class:`Profiled` (the same theta is evaluated again by the
#: optimiser's last step, the intervals and the Satterthwaite derivatives).
_CACHE_SIZE = 16


class Profiled:
    """The profiled (RE)ML deviance of a random-intercepts model as a function of theta.

    The factor with most levels (``q_b`` of them, the big factor) is eliminated first. Its
    block of ``M = Lambda' Z'Z Lambda + I`` is diagonal, ``d_b = theta_b^2 n_b + 1`` with
    ``n_b`` the ratings of level ``b``, and the Schur complement in the remaining ``q_r``
    levels is ``M_rr - theta_b^2 T C' diag(1/d) C T`` with ``C`` the ``q_b x q_r`` counts
    and ``T = diag(theta_rest)``. As ``d_b`` depends on ``b`` only through ``n_b``, grouping
    the levels by count gives ``C' diag(1/d) C = sum_g G_g / d_g`` with
    ``G_g = sum_{b: n_b = n_g} c_b c_b'`` computed once: each evaluation then costs
    ``O(G q_r^2)`` for that product instead of ``O(q_b q_r^2)``. The grouped path is taken
    when the distinct counts are few (at most a quarter of the levels) and their matrices
    fit in :data:`GROUP_BUDGET`; otherwise the product is formed directly.

    Levels of the big factor whose rows ``c_b`` are identical (in a complete design, the
    officers of one office: they rated the same cases, as often) are also merged, with their
    multiplicity, for the products with ``C`` that remain: ``C x`` is computed once per
    distinct row.
    """

    def __init__(self, stats: Stats, reml: bool, grouped: bool | None = None,
                 distinct_rows: bool | None = None) -> None:
        self.s = stats
        self.reml = reml
        k = len(stats.levels)
        self.big = int(np.argmax(stats.levels))       # eliminated first (diagonal block)
        self.rest = [j for j in range(k) if j != self.big]
        self.offsets = np.concatenate([[0], np.cumsum([stats.levels[j] for j in self.rest])])
        q_r = int(self.offsets[-1])
        # counts between the big factor and each other factor, stacked: (q_big, q_rest)
        blocks = [self._cross(self.big, j) for j in self.rest]
        self.c_br = np.hstack(blocks) if blocks else np.zeros((stats.levels[self.big], 0))
        self.c_rr = np.zeros((q_r, q_r))
        for a, j in enumerate(self.rest):
            sa = slice(self.offsets[a], self.offsets[a + 1])
            for b, m in enumerate(self.rest):
                if b > a:
                    sb = slice(self.offsets[b], self.offsets[b + 1])
                    self.c_rr[sa, sb] = self._cross(j, m)
                    self.c_rr[sb, sa] = self.c_rr[sa, sb].T

        # which factor each level of the "rest" belongs to, and Z'[y X] stacked per part
        self.rest_factor = np.concatenate(
            [np.full(stats.levels[j], j) for j in self.rest]).astype(int) if self.rest else \
            np.zeros(0, dtype=int)
        self.zt_b = np.column_stack([stats.zty[self.big], stats.ztx[self.big]])
        self.zt_r = (np.vstack([np.column_stack([stats.zty[j], stats.ztx[j]])
                                for j in self.rest]) if self.rest
                     else np.zeros((0, stats.p + 1)))
        self.counts_r = (np.concatenate([stats.counts[j] for j in self.rest]) if self.rest
                         else np.zeros(0))
        self.diag_idx = np.diag_indices(q_r)
        self._setup_rows(distinct_rows)
        self._setup_groups(grouped)
        self._cache: dict[bytes, Solution] = {}

    def _setup_rows(self, distinct_rows: bool | None) -> None:
        """The distinct rows of ``C`` (``c_rows``), each level's row (``row_of``, None when
        every level keeps its own), their multiplicities, counts and summed ``Z_b'[y X]``."""
        c = self.c_br
        n_b = self.s.counts[self.big]
        self.c_rows, self.row_of = c, None
        self.row_mult, self.row_counts, self.zt_rows = np.ones(len(c)), n_b, self.zt_b
        if distinct_rows is None:
            distinct_rows = _DISTINCT_ROWS
        if distinct_rows is False or c.shape[1] == 0 or len(c) < 2:
            return
        # rows with equal counts get equal keys (integer weights: exact sums of integers)
        weights = np.random.default_rng(20150101).integers(1, 2 ** 20, c.shape[1])
        _, first, row_of = np.unique(c @ weights.astype(float), return_index=True,
                                     return_inverse=True)
        if 2 * len(first) > len(c):
            return
        rows = c[first]
        if not (np.array_equal(rows[row_of], c) and np.array_equal(n_b[first][row_of], n_b)):
            return                        # two different rows with one key: keep them all
        self.c_rows, self.row_of = rows, row_of
        self.row_mult = np.bincount(row_of, minlength=len(first)).astype(float)
        self.row_counts = n_b[first]
        self.zt_rows = np.column_stack([np.bincount(row_of, weights=col, minlength=len(first))
                                        for col in self.zt_b.T])

    def _ct_times(self, x: np.ndarray) -> np.ndarray:
        """``C' x`` for ``x`` over the big factor's levels."""
        if self.row_of is None:
            return self.c_rows.T @ x
        return self.c_rows.T @ np.bincount(self.row_of, weights=x, minlength=len(self.c_rows))

    def _c_times(self, x: np.ndarray) -> np.ndarray:
        """``C x`` for every level of the big factor."""
        out = self.c_rows @ x
        return out if self.row_of is None else out[self.row_of]

    def _setup_groups(self, grouped: bool | None) -> None:
        """Gram matrices ``G_g`` and ``C_g' Z_g'[y X]`` of the big factor's levels grouped by
        their count, when that is the cheaper path (or when forced)."""
        q_b, q_r = len(self.s.counts[self.big]), len(self.c_rr)
        values, inverse = np.unique(self.row_counts, return_inverse=True)
        n_groups = len(values)
        if grouped is None:
            grouped = _GROUPED
        if grouped is None:
            grouped = (n_groups * q_r * q_r * 8 <= GROUP_BUDGET and 4 * n_groups <= q_b)
        self.grouped = bool(grouped) and q_r > 0
        if not self.grouped:
            return
        order = np.argsort(inverse, kind="stable")
        edges = np.searchsorted(inverse[order], np.arange(n_groups + 1))
        self.group_counts = values
        self.group_gram = np.empty((n_groups, q_r, q_r))
        self.group_zt = np.empty((n_groups, q_r, self.zt_b.shape[1]))
        # many small products: one BLAS thread unless they are large
        with threadpool_limits(limits=None if len(self.c_rows) * q_r * q_r > 10 ** 10
                               else 1, user_api="blas"):
            for g in range(n_groups):
                rows = order[edges[g]:edges[g + 1]]
                cg = self.c_rows[rows]
                self.group_gram[g] = cg.T @ (cg * self.row_mult[rows, None])
                self.group_zt[g] = cg.T @ self.zt_rows[rows]

    def _cross(self, k: int, m: int) -> np.ndarray:
        return self.s.cross[(k, m)] if k < m else self.s.cross[(m, k)].T

    def _gram(self, tb2: float, *powers: int) -> list[np.ndarray]:
        """``C' diag(d^-power) C`` (``q_r x q_r``) with ``d = tb2 n_b + 1``, per power (the
        grouped path reads its matrices once for all of them)."""
        if self.grouped:
            w = np.array([(tb2 * self.group_counts + 1.0) ** -pw for pw in powers])
            return list(np.tensordot(w, self.group_gram, axes=1))
        out = []
        for pw in powers:
            w = (tb2 * self.row_counts + 1.0) ** -pw * self.row_mult
            out.append(self.c_rows.T @ (self.c_rows * w[:, None]))
        return out

    def _czt(self, tb2: float) -> np.ndarray:
        """``C' diag(1/d) Z_b'[y X]`` (``q_r x (p + 1)``)."""
        if self.grouped:
            return np.tensordot(1.0 / (tb2 * self.group_counts + 1.0), self.group_zt, axes=1)
        return self.c_rows.T @ (self.zt_rows / (tb2 * self.row_counts + 1.0)[:, None])

    def _schur(self, t_rest: np.ndarray, tb2: float, k1: np.ndarray) -> np.ndarray:
        """``M_rr - M_br' diag(1/d) M_br`` with ``k1 = C' diag(1/d) C``."""
        schur = self.c_rr - tb2 * k1
        schur *= t_rest[:, None]
        schur *= t_rest[None, :]
        schur[self.diag_idx] += self.counts_r * t_rest ** 2 + 1.0   # c_rr's diagonal is 0
        return schur

    def solve(self, theta: np.ndarray, gradient: bool = False) -> Solution:
        """Profiled deviance at ``theta`` (and its gradient when asked).

        The last few solutions are kept: asking again at the same theta returns the same
        object (its arrays are read-only).
        """
        theta = np.array(theta, dtype=float)
        key = theta.tobytes()
        hit = self._cache.get(key)
        if hit is not None and (hit.gradient is not None or not gradient):
            return hit
        sol = self._solve(theta, gradient)
        for a in (sol.beta, sol.xtx_schur, sol.u, sol.gradient, sol.grad_logdet, sol.grad_r2):
            if a is not None:
                a.flags.writeable = False
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = sol
        return sol

    def _solve(self, theta: np.ndarray, gradient: bool) -> Solution:
        s = self.s
        tb = float(theta[self.big])
        tb2 = tb * tb
        t_rest = theta[self.rest_factor]
        d_b = tb2 * s.counts[self.big] + 1.0                          # diagonal block
        logdet_l = float(np.log(d_b).sum())
        # right-hand sides: Lambda Z' [y, X]
        rhs_b = tb * self.zt_b
        rhs_r = t_rest[:, None] * self.zt_r
        factor = czt = k1 = k2 = None
        if self.rest:
            if gradient and self.grouped:
                k1, k2 = self._gram(tb2, 1, 2)
            else:
                k1, = self._gram(tb2, 1)
            factor, info = linalg.lapack.dpotrf(self._schur(t_rest, tb2, k1), lower=1,
                                                clean=1)
            if info != 0:  # pragma: no cover - S is positive definite (M = ... + I)
                raise np.linalg.LinAlgError("Schur complement not positive definite")
            logdet_l += 2.0 * float(np.log(np.diag(factor)).sum())
            # M_br' diag(1/d) rhs_b = tb^2 T C' diag(1/d) Z_b'[y X]
            czt = self._czt(tb2)
            vr = linalg.cho_solve((factor, True), rhs_r - tb2 * t_rest[:, None] * czt,
                                  check_finite=False)
            cvr = self._c_times(t_rest[:, None] * vr)                 # C T vr
            vb = (rhs_b - tb * cvr) / d_b[:, None]
        else:
            vr = rhs_r
            cvr = np.zeros_like(rhs_b)
            vb = rhs_b / d_b[:, None]

        cu = np.concatenate([rhs_b[:, 0], rhs_r[:, 0]])
        cx = np.vstack([rhs_b[:, 1:], rhs_r[:, 1:]])
        minv_cu = np.concatenate([vb[:, 0], vr[:, 0]])
        minv_cx = np.vstack([vb[:, 1:], vr[:, 1:]])
        xtx_schur = s.xtx - cx.T @ minv_cx
        xtx_schur = (xtx_schur + xtx_schur.T) / 2
        rx = linalg.cholesky(xtx_schur, lower=False, check_finite=False)
        # fixed effects of the centred response (beta - beta0)
        beta = linalg.cho_solve((rx, False), s.xty - cx.T @ minv_cu, check_finite=False)
        u = minv_cu - minv_cx @ beta
        e2 = s.yty - 2.0 * beta @ s.xty + beta @ s.xtx @ beta
        # r^2 = |y - X beta - Z Lambda u|^2 + |u|^2 = e2 - 2 u'g + u'M u with g = Lambda Z'(y -
        # X beta); equal to e2 - u'g at the solution (M u = g), but stationary in u, so the
        # rounding error of u does not enter to first order
        g = cu - cx @ beta
        u_b, u_r = u[:len(d_b)], u[len(d_b):]
        mu_b = d_b * u_b
        mu_r = (self.counts_r * t_rest ** 2 + 1.0) * u_r
        if self.rest:
            ctu = cvr[:, 0] - cvr[:, 1:] @ beta                       # C T u_r
            mu_b += tb * ctu
            mu_r += t_rest * (self.c_rr @ (t_rest * u_r))
            mu_r += tb * t_rest * (self._ct_times(u_b))
        r2 = float(e2 - 2.0 * (g @ u) + (u_b @ mu_b + u_r @ mu_r))
        r2 = max(r2, np.finfo(float).tiny)
        logdet_rx = 2.0 * float(np.log(np.abs(np.diag(rx))).sum())
        n, p = s.n, s.p
        if self.reml:
            dev = logdet_l + logdet_rx + (n - p) * (1.0 + np.log(2.0 * np.pi * r2 / (n - p)))
        else:
            dev = logdet_l + n * (1.0 + np.log(2.0 * np.pi * r2 / n))
        grad = g_det = g_r2 = None
        if gradient:
            parts = _Parts(tb, t_rest, d_b, factor, k1, k2, czt, vb, vr, cvr)
            g_det, g_r2 = self._gradient(theta, beta, xtx_schur, parts)
            grad = g_det + (n - p if self.reml else n) * g_r2 / r2
        if s.beta0 is not None:
            beta = beta + s.beta0
        return Solution(float(dev), beta, xtx_schur, r2, u, logdet_l, logdet_rx, grad, g_det,
                        g_r2)

    def _gradient(self, theta: np.ndarray, beta: np.ndarray, a: np.ndarray,
                  pt: _Parts) -> tuple[np.ndarray, np.ndarray]:
        """Analytic gradient of the profiled deviance.

        With ``M = Lambda Z'Z Lambda + I``, ``W = M^-1 Lambda Z'X`` and ``R`` the block row of
        ``dM/dtheta_k`` (so ``dM = R + R'``):

        * ``d log|M| = 2 (q_k - tr((M^-1)_kk)) / theta_k`` (zero at ``theta_k = 0``);
        * ``d r^2 = -2 u_k' Z_k'(y - X beta - Z Lambda u)`` (envelope theorem);
        * ``d log|A| = tr(A^-1 dA)``, ``dA = -(X'Z_k W_k + W_k' Z_k'X) + W_k' H_k + H_k' W_k``,
          ``H_k = sum_j theta_j Z_k'Z_j W_j``.

        For the big factor, ``tr((M^-1)_bb) = sum 1/d_b + tr(S^-1 K)`` with ``S`` the Schur
        complement and ``K = tb^2 T C' diag(1/d^2) C T``. The products of ``C`` with the big
        factor's blocks of ``W`` and ``u`` follow from those formed in the solve.
        """
        s = self.s
        k_all = len(s.levels)
        tb, t_rest = pt.tb, pt.t_rest
        # [W, u] per part: columns 1.. are W, column 0 is u
        def wu(v: np.ndarray) -> np.ndarray:
            return np.column_stack([v[:, 0] - v[:, 1:] @ beta, v[:, 1:]])

        x_b = wu(pt.vb)
        x_r = wu(pt.vr)
        tr_minv = np.zeros(k_all)
        extra = 0.0
        h_b = tb * s.counts[self.big][:, None] * x_b
        if self.rest:
            sinv, info = linalg.lapack.dpotri(pt.factor, lower=1)
            if info != 0:  # pragma: no cover - the factor is nonsingular
                raise np.linalg.LinAlgError("Schur complement not invertible")
            sinv = np.tril(sinv)
            diag_sinv = np.diag(sinv).copy()
            for a_i, j in enumerate(self.rest):
                tr_minv[j] = diag_sinv[self.offsets[a_i]:self.offsets[a_i + 1]].sum()
            if tb != 0.0:
                k2 = self._gram(tb * tb, 2)[0] if pt.k2 is None else pt.k2.copy()
                k2 *= t_rest[:, None]
                k2 *= t_rest[None, :]
                extra = tb * tb * (2.0 * float(np.sum(sinv * k2))
                                   - float(diag_sinv @ np.diag(k2)))
            # H for the big factor: tb n_b X_b + C T X_r, with C T vr from the solve
            h_b += wu(pt.cvr)
            # C' X_b from C' vb = tb C' diag(1/d) Z_b'[y X] - tb k1 T vr
            ct_vb = tb * pt.czt - tb * (pt.k1 @ (t_rest[:, None] * pt.vr))
            tx_r = t_rest[:, None] * x_r
            h_r = (self.counts_r[:, None] * tx_r + self.c_rr @ tx_r + tb * wu(ct_vb))
        else:
            h_r = np.zeros_like(x_r)
        tr_minv[self.big] = float((1.0 / pt.d_b).sum()) + extra
        a_inv = np.linalg.inv(a)
        g_det = np.zeros(k_all)
        g_r2 = np.zeros(k_all)
        x_parts = self._unstack_rows(np.vstack([x_b, x_r]))
        h_parts = self._unstack_rows(np.vstack([h_b, h_r]))
        for k in range(k_all):
            tk = theta[k]
            u_k, w_k = x_parts[k][:, 0], x_parts[k][:, 1:]
            h_u, h_w = h_parts[k][:, 0], h_parts[k][:, 1:]
            dlogm = 2.0 * (s.levels[k] - tr_minv[k]) / tk if tk > 0 else 0.0
            zres = s.zty[k] - s.ztx[k] @ beta - h_u
            g_r2[k] = -2.0 * float(u_k @ zres)
            g_det[k] = dlogm
            if self.reml:
                xw = s.ztx[k].T @ w_k
                wh = w_k.T @ h_w
                da = -(xw + xw.T) + (wh + wh.T)
                g_det[k] += float(np.sum(a_inv * da))
        return g_det, g_r2

    def minv_diag(self, theta: np.ndarray) -> list[np.ndarray]:
        """Diagonal of ``(Lambda Z'Z Lambda + I)^-1`` per factor: the conditional variances
        of the spherical random effects, in units of the residual variance."""
        s = self.s
        theta = np.asarray(theta, dtype=float)
        tb = float(theta[self.big])
        t_rest = theta[self.rest_factor]
        d_b = tb * tb * s.counts[self.big] + 1.0
        out = np.zeros(sum(s.levels))
        qb = s.levels[self.big]
        out[:qb] = 1.0 / d_b
        if self.rest:
            schur = self._schur(t_rest, tb * tb, self._gram(tb * tb, 1)[0])
            factor, _ = linalg.lapack.dpotrf(schur, lower=1, clean=1)
            sinv, _ = linalg.lapack.dpotri(factor, lower=1)
            out[qb:] = np.diag(sinv)
            if tb != 0.0:
                # (M^-1)_bb = 1/d_b + tb^2 (T c_b)' S^-1 (T c_b) / d_b^2
                z = linalg.solve_triangular(factor, (self.c_rows * t_rest[None, :]).T,
                                            lower=True, check_finite=False)
                quad = (z ** 2).sum(axis=0)
                out[:qb] += tb * tb * (quad if self.row_of is None else quad[self.row_of]) \
                    / d_b ** 2
        return self.unstack(out)

    def blas_threads(self) -> int | None:
        """BLAS threads for evaluations of this model (a ``threadpool_limits`` limit): one
        unless the dense work per evaluation is large. Small factorisations are slower with
        several threads (synchronisation costs more than the arithmetic); the grouped path's
        dense work is only the factorisation of the Schur complement."""
        large = GROUPED_DENSE if self.grouped else SMALL_DENSE
        return None if len(self.c_rr) >= large else 1

    def _unstack_rows(self, w: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = [np.zeros((0, w.shape[1]))] * len(self.s.levels)
        qb = self.s.levels[self.big]
        out[self.big] = w[:qb]
        for a, j in enumerate(self.rest):
            out[j] = w[qb + self.offsets[a]: qb + self.offsets[a + 1]]
        return out

    def deviance(self, theta: np.ndarray) -> float:
        return self.solve(theta).deviance

    def unstack(self, u: np.ndarray) -> list[np.ndarray]:
        """Split stacked spherical effects (big factor first) back into per-factor arrays."""
        out: list[np.ndarray] = [np.zeros(0)] * len(self.s.levels)
        qb = self.s.levels[self.big]
        out[self.big] = u[:qb]
        for a, j in enumerate(self.rest):
            out[j] = u[qb + self.offsets[a]: qb + self.offsets[a + 1]]
        return out


@dataclass(frozen=True)
class _Parts:
    """Intermediate results of one solve that the gradient reuses."""

    tb: float
    t_rest: np.ndarray
    d_b: np.ndarray
    factor: np.ndarray | None     # Cholesky factor (lower) of the Schur complement
    k1: np.ndarray | None         # C' diag(1/d) C
    k2: np.ndarray | None         # C' diag(1/d^2) C, when formed with k1
    czt: np.ndarray | None        # C' diag(1/d) Z_b'[y X]
    vb: np.ndarray                # M^-1 Lambda Z'[y X], big factor's rows
    vr: np.ndarray                # ... and the other rows
    cvr: np.ndarray               # C T vr


#: Largest absolute projected gradient of the deviance accepted as converged (lme4 checks
#: 0.002 on its scaled gradient).
GRADIENT_TOL = 1e-3

#: Where the optimiser stops a line search that only samples rounding noise: moves below
#: 1e-10 (relative) from the best theta once its projected gradient is below
#: :data:`GRADIENT_TOL` (see :func:`riskeval.variation._boundary.minimize_nonneg`). With a
#: million ratings the deviance is about 3e6 and its rounding error about 1e-9, larger than
#: any change such a move makes.
SETTLE = (1e-10, GRADIENT_TOL)

#: Deviances within this relative distance of the lowest are ties (rounding error, the
#: optimiser's own ``ftol``); among tied thetas the one with the smallest projected gradient
#: is the optimum reported.
TIE = 1e-15

#: Size of the dense (Schur) block below which BLAS runs single-threaded.
SMALL_DENSE = 600

#: The same when the largest factor's levels are grouped by count (no q_r x q_b product).
GROUPED_DENSE = 1500


@dataclass(frozen=True)
class Optimum:
    theta: np.ndarray
    solution: Solution
    converged: bool
    message: str
    n_evaluations: int


def optimise(prof: Profiled, start: np.ndarray | None = None) -> Optimum:
    """Minimise the profiled deviance over theta >= 0.

    Bounded quasi-Newton (L-BFGS-B) with the analytic gradient, from theta = 1 (where lme4
    starts, inside the parameter space). A second run restarted from the first optimum
    confirms it (L-BFGS-B's curvature memory is rebuilt), which matters on flat ridges. A
    component that ends at zero is then checked off the bound with derivative-free steps
    (:func:`riskeval.variation._boundary.minimize_nonneg`): the deviance is even in each
    theta, so its gradient vanishes at zero and a gradient method can stop on a saddle there.

    Near the optimum of a large data set the deviance changes by less than its rounding
    error; of the thetas evaluated whose deviances tie with the lowest (within :data:`TIE`),
    the one with the smallest projected gradient is reported, as the gradient still tells
    them apart.
    """
    k = len(prof.s.levels)
    x0 = np.ones(k) if start is None else np.asarray(start, dtype=float)
    count = [0]
    seen: list[tuple[float, float, np.ndarray]] = []   # deviance, |projected gradient|, theta

    def f(t: np.ndarray) -> tuple[float, np.ndarray]:
        count[0] += 1
        t = np.maximum(t, 0.0)
        sol = prof.solve(t, gradient=True)
        seen.append((sol.deviance, _projected_gradient(t, sol.gradient), t))
        return sol.deviance, sol.gradient

    bounds = [(0.0, None)] * k
    opts = {"ftol": 1e-15, "gtol": 1e-9, "maxiter": 1000}
    # Small dense factorisations are slower with several BLAS threads, so the optimisation
    # runs single-threaded unless the dense part is large (Profiled.blas_threads).
    with threadpool_limits(limits=prof.blas_threads(), user_api="blas"):
        best = minimize_nonneg(f, x0, bounds, jac=True, options=opts, settle=SETTLE)
        theta, flat = _flattest(seen, best.x)
        if flat >= GRADIENT_TOL / 10:
            again = minimize_nonneg(f, theta, bounds, jac=True, options=opts, settle=SETTLE)
            best = again if again.fun <= best.fun else best
            theta, _ = _flattest(seen, best.x)
    sol = prof.solve(theta, gradient=True)
    # converged when the projected gradient vanishes (a component at zero may push outward)
    worst = _projected_gradient(theta, sol.gradient)
    converged = worst < GRADIENT_TOL
    msg = (f"max |projected gradient| {worst:.2g} after {count[0]} evaluations "
           f"(L-BFGS-B: {best.message})")
    return Optimum(theta, sol, converged, msg, count[0])


def _flattest(seen: list[tuple[float, float, np.ndarray]], x: np.ndarray
              ) -> tuple[np.ndarray, float]:
    """Of the evaluated thetas whose deviance ties with the lowest, the one with the smallest
    projected gradient (``x``, the optimiser's answer, unless another is flatter), and that
    gradient."""
    x = np.maximum(x, 0.0)
    low = min(dev for dev, _, _ in seen)
    ties = [(grad, t) for dev, grad, t in seen if dev <= low + TIE * max(abs(low), 1.0)]
    at_x = [grad for grad, t in ties if np.array_equal(t, x)]
    grad, t = min(ties, key=lambda item: item[0])
    return (x, at_x[0]) if at_x and at_x[0] <= grad else (t, grad)


def _projected_gradient(theta: np.ndarray, grad: np.ndarray) -> float:
    """Largest |gradient| that could still move theta (a zero component may push outward)."""
    g = np.where((np.asarray(theta) <= 0) & (np.asarray(grad) > 0), 0.0, grad)
    return float(np.max(np.abs(g)))
