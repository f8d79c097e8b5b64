"""Linear mixed model with correlated random slopes: the kernel and its result.

The model is ``y = X beta + sum_f Z_f b_f + e`` where factor ``f`` has ``q_f`` levels and
``r_f`` random coefficients per level (``r_f = 1``: a random intercept; ``r_f = 1 + k``: an
intercept and ``k`` slopes on numeric columns, lme4's ``(1 + x | officer)``). Row ``i`` of
``Z_f`` holds the row's covariates ``w_f(i) = (1, x_1(i), ..., x_k(i))`` in the columns of its
level. The random effects of one level are ``N(0, sigma^2 T_f T_f')`` with ``T_f`` lower
triangular (the relative covariance factor; lme4's ``theta`` lists its lower triangle column by
column), independent between levels and factors, so ``Lambda = blockdiag(I_{q_f} (x) T_f)``.

As in lme4 (Bates, Maechler, Bolker & Walker 2015, sections 3.2-3.4) the profiled deviances
are

* ML:   ``d(theta) = log|L|^2 + n (1 + log(2 pi r^2 / n))``
* REML: ``d_R(theta) = log|L|^2 + log|R_X|^2 + (n - p)(1 + log(2 pi r^2 / (n - p)))``

with ``L L' = Lambda' Z'Z Lambda + I``, ``R_X' R_X = X'X - R_ZX' R_ZX``,
``R_ZX = L^-1 Lambda' Z'X`` and ``r^2`` the penalised residual sum of squares.

Sufficient statistics still suffice: ``Z'Z`` is made of the ``r_f x r_g`` sums of
``w_f w_g'`` over the ratings of each pair of levels, computed once in O(n). The factor whose
block is largest (usually the officer with its slopes) has a block-diagonal part of
``Lambda' Z'Z Lambda + I`` -- one ``r x r`` block per level -- and is eliminated first: its
blocks are factorised as a batch and the remaining levels need one dense Cholesky factor of
the Schur complement. Each evaluation of the deviance is independent of the number of ratings.

The optimiser is L-BFGS-B with central finite-difference gradients over ``theta`` (diagonal
elements of each ``T_f`` bounded below by zero, off-diagonal ones free), started where lme4
starts (``T_f = I``), with the saddle at a zero diagonal element left by :func:`escape_zero`.

References
----------
Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *Journal of Statistical Software* 67(1), 1-48. https://doi.org/10.18637/jss.v067.i01
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats
from threadpoolctl import threadpool_limits

from ..errors import DegenerateDataWarning
from ._boundary import AT_ZERO, ESCAPE_GRID
from ._lmm_result import BOUNDARY_TOL, LMMResult, fixed_effects_table

#: Largest absolute projected gradient of the deviance accepted as converged.
GRADIENT_TOL = 1e-3

#: A correlation whose absolute value is above this is reported as on the boundary.
CORR_BOUNDARY = 1 - 1e-6


@dataclass(frozen=True)
class Term:
    """One random-effects term: a grouping factor and the covariates of its coefficients.

    ``w`` is ``n x r`` (first column ones) or None for a random intercept.
    """

    name: str
    codes: np.ndarray
    levels: int
    w: np.ndarray | None = None

    @property
    def r(self) -> int:
        return 1 if self.w is None else self.w.shape[1]

    @property
    def size(self) -> int:
        return self.levels * self.r


def _weights(t: Term) -> np.ndarray:
    return np.ones((len(t.codes), 1)) if t.w is None else t.w


def n_theta(r: int) -> int:
    """Number of elements of a lower-triangular ``r x r`` factor."""
    return r * (r + 1) // 2


def theta_to_factor(theta: np.ndarray, r: int) -> np.ndarray:
    """The lower-triangular ``T`` whose lower triangle, column by column, is ``theta``."""
    t = np.zeros((r, r))
    rows, cols = np.tril_indices(r)
    order = np.lexsort((rows, cols))               # column-major, as lme4
    t[rows[order], cols[order]] = theta
    return t


def factor_to_theta(t: np.ndarray) -> np.ndarray:
    """Inverse of :func:`theta_to_factor`."""
    r = t.shape[0]
    rows, cols = np.tril_indices(r)
    order = np.lexsort((rows, cols))
    return t[rows[order], cols[order]].copy()


def diagonal_mask(r: int) -> np.ndarray:
    """Which elements of ``theta`` (of one ``r x r`` factor) are on the diagonal."""
    rows, cols = np.tril_indices(r)
    order = np.lexsort((rows, cols))
    return rows[order] == cols[order]


@dataclass(frozen=True)
class SlopeSolution:
    """Everything the profiled deviance computes at one theta."""

    deviance: float
    beta: np.ndarray
    xtx_schur: np.ndarray     # R_X' R_X
    r2: float
    logdet_l: float
    logdet_rx: float
    u: np.ndarray | None      # spherical random effects, in the order of the terms


class SlopesProfiled:
    """The profiled (RE)ML deviance of a model with random intercepts and slopes.

    ``terms`` are the random-effects terms; ``y`` and ``X`` the response and fixed design.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, terms: Sequence[Term],
                 reml: bool) -> None:
        self.terms = list(terms)
        self.reml = reml
        n, p = X.shape
        self.n, self.p = n, p
        xtx = X.T @ X
        self.beta0 = np.linalg.lstsq(xtx, X.T @ y, rcond=None)[0]
        y = y - X @ self.beta0                       # centred: see riskeval.variation._lmm
        self.xtx, self.xty, self.yty = xtx, X.T @ y, float(y @ y)
        self.theta_sizes = [n_theta(t.r) for t in self.terms]
        self.theta_offsets = np.concatenate([[0], np.cumsum(self.theta_sizes)]).astype(int)
        lower = []
        for t in self.terms:
            lower += [0.0 if d else None for d in diagonal_mask(t.r)]
        self.bounds = [(lo, None) for lo in lower]
        # the term eliminated first: smallest cost of its batch plus the dense rest
        sizes = np.array([t.size for t in self.terms])
        total = int(sizes.sum())
        cost = [t.levels * t.r ** 3 + t.size * (total - t.size) ** 2
                + (total - t.size) ** 3 / 3 for t in self.terms]
        self.big = int(np.argmin(cost))
        self.rest = [j for j in range(len(self.terms)) if j != self.big]
        rest_sizes = [self.terms[j].size for j in self.rest]
        self.offsets = np.concatenate([[0], np.cumsum(rest_sizes)]).astype(int)
        q_r = int(self.offsets[-1])
        yx = np.column_stack([y, X])
        # Z'[y X] per term, cross-products of the big term's levels with the rest, the rest's
        # Gram matrix, and the big term's own r x r blocks
        big = self.terms[self.big]
        self.zt = [self._zt(t, yx) for t in self.terms]
        self.a_bb = self._own_blocks(big)                          # (q_b, r_b, r_b)
        self.z_br = np.hstack([self._cross(big, self.terms[j]) for j in self.rest]) \
            if self.rest else np.zeros((big.size, 0))
        self.z_rr = np.zeros((q_r, q_r))
        for a, j in enumerate(self.rest):
            sa = slice(self.offsets[a], self.offsets[a + 1])
            blocks = self._own_blocks(self.terms[j])
            rj = self.terms[j].r
            for lv in range(self.terms[j].levels):
                s0 = self.offsets[a] + lv * rj
                self.z_rr[s0:s0 + rj, s0:s0 + rj] = blocks[lv]
            for b in range(a + 1, len(self.rest)):
                sb = slice(self.offsets[b], self.offsets[b + 1])
                self.z_rr[sa, sb] = self._cross(self.terms[j], self.terms[self.rest[b]])
                self.z_rr[sb, sa] = self.z_rr[sa, sb].T

    @staticmethod
    def _zt(t: Term, yx: np.ndarray) -> np.ndarray:
        """``Z_t' [y X]`` (``q r x (p + 1)``), rows level-major."""
        w = _weights(t)
        out = np.empty((t.levels, t.r, yx.shape[1]))
        for a in range(t.r):
            for j in range(yx.shape[1]):
                out[:, a, j] = np.bincount(t.codes, weights=w[:, a] * yx[:, j],
                                           minlength=t.levels)
        return out.reshape(t.size, yx.shape[1])

    @staticmethod
    def _own_blocks(t: Term) -> np.ndarray:
        """The ``r x r`` blocks ``sum w w'`` over each level's ratings."""
        w = _weights(t)
        out = np.empty((t.levels, t.r, t.r))
        for a in range(t.r):
            for b in range(a, t.r):
                out[:, a, b] = np.bincount(t.codes, weights=w[:, a] * w[:, b],
                                           minlength=t.levels)
                out[:, b, a] = out[:, a, b]
        return out

    @staticmethod
    def _cross(s: Term, t: Term) -> np.ndarray:
        """``Z_s' Z_t`` (dense, ``q_s r_s x q_t r_t``)."""
        ws, wt = _weights(s), _weights(t)
        key = s.codes.astype(np.int64) * t.levels + t.codes
        out = np.empty((s.levels, s.r, t.levels, t.r))
        for a in range(s.r):
            for b in range(t.r):
                out[:, a, :, b] = np.bincount(key, weights=ws[:, a] * wt[:, b],
                                              minlength=s.levels * t.levels
                                              ).reshape(s.levels, t.levels)
        return out.reshape(s.size, t.size)

    # -- theta ----------------------------------------------------------------------------
    def factors(self, theta: np.ndarray) -> list[np.ndarray]:
        """``T_f`` of each term."""
        return [theta_to_factor(theta[self.theta_offsets[i]:self.theta_offsets[i + 1]], t.r)
                for i, t in enumerate(self.terms)]

    def start(self) -> np.ndarray:
        """lme4's start: ``T_f = I``."""
        return np.concatenate([factor_to_theta(np.eye(t.r)) for t in self.terms])

    def _lam_rows(self, a: np.ndarray, facs: list[np.ndarray]) -> np.ndarray:
        """``Lambda_r' A`` for ``A`` with the rest's rows."""
        out = np.empty_like(a)
        for i, j in enumerate(self.rest):
            t = self.terms[j]
            seg = a[self.offsets[i]:self.offsets[i + 1]]
            if t.r == 1:
                out[self.offsets[i]:self.offsets[i + 1]] = facs[j][0, 0] * seg
            else:
                blk = seg.reshape(t.levels, t.r, -1)
                out[self.offsets[i]:self.offsets[i + 1]] = np.matmul(
                    facs[j].T, blk).reshape(t.size, -1)
        return out

    @staticmethod
    def _lam_big(a: np.ndarray, tf: np.ndarray, levels: int) -> np.ndarray:
        """``(I (x) T)' A`` for ``A`` with one term's rows."""
        r = tf.shape[0]
        if r == 1:
            return tf[0, 0] * a
        return np.matmul(tf.T, a.reshape(levels, r, -1)).reshape(levels * r, -1)

    # -- the deviance -----------------------------------------------------------------------
    def solve(self, theta: np.ndarray, modes: bool = False) -> SlopeSolution:
        """Profiled deviance at ``theta`` (and the spherical random effects when ``modes``)."""
        theta = np.asarray(theta, dtype=float)
        facs = self.factors(theta)
        big = self.terms[self.big]
        tb = facs[self.big]
        rb = big.r
        # big term's blocks: T' A_l T + I, factorised as a batch
        m_bb = np.matmul(np.matmul(tb.T, self.a_bb), tb) + np.eye(rb)
        l_b = np.linalg.cholesky(m_bb)                               # (q_b, r, r)
        l_b_inv = np.linalg.inv(l_b)
        logdet = 2.0 * float(np.log(np.diagonal(l_b, axis1=1, axis2=2)).sum())
        h_b = self._lam_big(self.zt[self.big], tb, big.levels)        # Lambda_b' Z_b'[y X]
        z_b = np.matmul(l_b_inv, h_b.reshape(big.levels, rb, -1))
        z_b = z_b.reshape(big.size, -1)
        l_s = k = None
        if self.rest:
            m_br = self._lam_big(self.z_br, tb, big.levels)           # Lambda_b' Z_b'Z_r
            m_br = self._lam_rows(m_br.T, facs).T                     # ... Lambda_r
            k = np.matmul(l_b_inv, m_br.reshape(big.levels, rb, -1))
            k = k.reshape(big.size, -1)                               # L_b^-1 M_br
            m_rr = self._lam_rows(self._lam_rows(self.z_rr, facs).T, facs).T
            m_rr[np.diag_indices_from(m_rr)] += 1.0
            # S = M_rr - K'K, the lower triangle only (a symmetric rank-k update)
            s = linalg.blas.dsyrk(-1.0, k.T, beta=1.0, c=np.asfortranarray(m_rr), lower=1)
            l_s, info = linalg.lapack.dpotrf(s, lower=1, clean=1)
            if info != 0:  # pragma: no cover - S is positive definite (M = ... + I)
                raise np.linalg.LinAlgError("Schur complement not positive definite")
            logdet += 2.0 * float(np.log(np.diag(l_s)).sum())
            zt_r = np.vstack([self.zt[j] for j in self.rest])
            h_r = self._lam_rows(zt_r, facs)
            z_r = linalg.solve_triangular(l_s, h_r - k.T @ z_b, lower=True,
                                          check_finite=False)
            z = np.vstack([z_b, z_r])
        else:
            z = z_b
        c_y, r_zx = z[:, 0], z[:, 1:]
        a = self.xtx - r_zx.T @ r_zx
        a = (a + a.T) / 2
        rx = linalg.cholesky(a, lower=False, check_finite=False)
        rhs = self.xty - r_zx.T @ c_y
        beta = linalg.cho_solve((rx, False), rhs, check_finite=False)
        r2 = max(self.yty - float(c_y @ c_y) - float(rhs @ beta), np.finfo(float).tiny)
        logdet_rx = 2.0 * float(np.log(np.abs(np.diag(rx))).sum())
        n, p = self.n, self.p
        if self.reml:
            dev = logdet + logdet_rx + (n - p) * (1.0 + math.log(2 * math.pi * r2 / (n - p)))
        else:
            dev = logdet + n * (1.0 + math.log(2 * math.pi * r2 / n))
        u = None
        if modes:
            zu = c_y - r_zx @ beta
            nb = big.size
            if self.rest:
                u_r = linalg.solve_triangular(l_s, zu[nb:], lower=True, trans="T",
                                              check_finite=False)
                w = zu[:nb] - k @ u_r
            else:
                u_r, w = np.zeros(0), zu
            u_b = np.einsum("lji,lj->li", l_b_inv, w.reshape(big.levels, rb)).reshape(-1)
            u = self._order(u_b, u_r)
        return SlopeSolution(float(dev), beta + self.beta0, a, float(r2), logdet, logdet_rx, u)

    def _order(self, v_b: np.ndarray, v_r: np.ndarray) -> np.ndarray:
        """Stack per-term pieces (big term first, then the rest) in the order of the terms."""
        parts: list[np.ndarray] = [np.zeros(0)] * len(self.terms)
        parts[self.big] = v_b
        for i, j in enumerate(self.rest):
            parts[j] = v_r[self.offsets[i]:self.offsets[i + 1]]
        return np.concatenate(parts)

    def deviance(self, theta: np.ndarray) -> float:
        """The profiled (RE)ML deviance at ``theta``."""
        return self.solve(theta).deviance

    def full_deviance(self, theta: np.ndarray, sigma: float) -> float:
        """``D(theta, sigma)``: the (RE)ML deviance with ``sigma`` not profiled out."""
        sol = self.solve(theta)
        df = self.n - self.p if self.reml else self.n
        logdet = sol.logdet_l + (sol.logdet_rx if self.reml else 0.0)
        return logdet + df * math.log(2 * math.pi * sigma * sigma) + sol.r2 / sigma ** 2

    def conditional_cov(self, theta: np.ndarray) -> list[np.ndarray]:
        """Per term, the ``(q, r, r)`` blocks of ``Lambda M^-1 Lambda'`` (the conditional
        covariances of each level's random effects, in units of the residual variance).

        With ``L_b`` the big term's block factors, ``K = L_b^-1 M_br`` and ``S = L_S L_S'``
        the Schur complement, ``(M^-1)_bb = L_b^-T (I + Y'Y) L_b^-1`` with ``Y = L_S^-1 K'``
        and ``(M^-1)_rr = S^-1``.
        """
        theta = np.asarray(theta, dtype=float)
        facs = self.factors(theta)
        big = self.terms[self.big]
        tb, rb = facs[self.big], big.r
        m_bb = np.einsum("ji,ljk,km->lim", tb, self.a_bb, tb) + np.eye(rb)
        l_b_inv = np.linalg.inv(np.linalg.cholesky(m_bb))
        inner = np.broadcast_to(np.eye(rb), (big.levels, rb, rb)).copy()
        out: list[np.ndarray] = [np.zeros(0)] * len(self.terms)
        if self.rest:
            m_br = self._lam_rows(self._lam_big(self.z_br, tb, big.levels).T, facs).T
            k = np.einsum("lij,ljm->lim", l_b_inv, m_br.reshape(big.levels, rb, -1))
            k = k.reshape(big.size, -1)
            m_rr = self._lam_rows(self._lam_rows(self.z_rr, facs).T, facs).T
            s = m_rr - k.T @ k
            s[np.diag_indices_from(s)] += 1.0
            l_s = linalg.cholesky(s, lower=True, check_finite=False)
            y = linalg.solve_triangular(l_s, k.T, lower=True, check_finite=False)
            yb = y.reshape(len(s), big.levels, rb)
            inner += np.einsum("ali,alj->lij", yb, yb)
            s_inv = linalg.cho_solve((l_s, True), np.eye(len(s)), check_finite=False)
            for i, j in enumerate(self.rest):
                t = self.terms[j]
                seg = s_inv[self.offsets[i]:self.offsets[i + 1],
                            self.offsets[i]:self.offsets[i + 1]]
                idx = np.arange(t.levels)[:, None] * t.r + np.arange(t.r)[None, :]
                blocks = seg[idx[:, :, None], idx[:, None, :]]
                out[j] = np.einsum("ij,ljk,mk->lim", facs[j], blocks, facs[j])
        minv_b = np.einsum("lji,ljk,lkm->lim", l_b_inv, inner, l_b_inv)
        out[self.big] = np.einsum("ij,ljk,mk->lim", tb, minv_b, tb)
        return out


@dataclass(frozen=True)
class SlopeOptimum:
    theta: np.ndarray
    solution: SlopeSolution
    converged: bool
    message: str
    n_evaluations: int


def _gradient(f: Any, theta: np.ndarray, f0: float | None = None) -> np.ndarray:
    """Central finite differences."""
    g = np.empty(len(theta))
    for i in range(len(theta)):
        h = 1e-6 * max(abs(theta[i]), 0.1)
        up, dn = theta.copy(), theta.copy()
        up[i] += h
        dn[i] -= h
        g[i] = (f(up) - f(dn)) / (2 * h)
    return g


def projected_gradient(theta: np.ndarray, grad: np.ndarray, bounds: list) -> float:
    """Largest |gradient| that could still move theta (a zero diagonal may push outward)."""
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    g = np.where((theta <= lo) & (grad > 0), 0.0, grad)
    return float(np.max(np.abs(g), initial=0.0))


def optimise_slopes(prof: SlopesProfiled, start: np.ndarray | None = None) -> SlopeOptimum:
    """Minimise the profiled deviance over theta (diagonal elements >= 0).

    L-BFGS-B on central-difference gradients from lme4's start. A diagonal element that ends
    at zero is then moved off it (:func:`escape_zero`): the deviance is even in a column of
    ``T`` jointly, so its gradient vanishes there and a gradient method can stop on a saddle.
    The run is restarted from any point that lowers the deviance, and once more (the
    curvature memory rebuilt) when the projected gradient is not yet below
    :data:`GRADIENT_TOL`.
    """
    count = [0]
    lo = np.array([-np.inf if b[0] is None else b[0] for b in prof.bounds])

    def dev(t: np.ndarray) -> float:
        count[0] += 1
        return prof.deviance(t)

    def f(t: np.ndarray) -> tuple[float, np.ndarray]:
        t = np.maximum(t, lo)
        return dev(t), _gradient(dev, t)

    def run(x0: np.ndarray) -> Any:
        res = optimize.minimize(f, x0, jac=True, method="L-BFGS-B", bounds=prof.bounds,
                                options={"ftol": 1e-14, "gtol": 1e-7, "maxiter": 2000})
        res.x = np.maximum(res.x, lo)
        return res

    x0 = prof.start() if start is None else np.asarray(start, dtype=float)
    big = prof.terms[prof.big]
    threads = None if sum(t.size for t in prof.terms) - big.size >= 600 else 1
    with threadpool_limits(limits=threads, user_api="blas"):
        best = run(x0)
        for _ in range(MAX_RESTARTS):
            found = escape_zero(prof, dev, best.x, float(best.fun))
            if found is None:
                break
            again = run(found)
            if again.fun < best.fun:
                best = again
            else:
                break
        theta = best.x
        worst = projected_gradient(theta, _gradient(dev, theta), prof.bounds)
        if worst >= GRADIENT_TOL / 10:
            again = run(theta)
            if again.fun <= best.fun:
                best, theta = again, again.x
                worst = projected_gradient(theta, _gradient(dev, theta), prof.bounds)
        sol = prof.solve(theta, modes=True)
    converged = worst < GRADIENT_TOL
    msg = (f"max |projected gradient| {worst:.2g} after {count[0]} evaluations "
           f"(L-BFGS-B: {best.message})")
    return SlopeOptimum(theta, sol, converged, msg, count[0])


#: Restarts allowed after an escape from a zero diagonal element.
MAX_RESTARTS = 4


def escape_zero(prof: SlopesProfiled, dev: Any, theta: np.ndarray, value: float
                ) -> np.ndarray | None:
    """A theta with a lower deviance reached by moving a zero diagonal element of a ``T_f``.

    Each such element is set to the values of
    :data:`riskeval.variation._boundary.ESCAPE_GRID`, with the elements below it in its column
    kept or negated (``T`` and ``T`` with a column negated give the same covariance, so with
    the diagonal element at zero the sign of the rest of its column is arbitrary, but moving
    the diagonal off zero lowers the deviance for one sign only). None when nothing lowers it.
    """
    best, best_f = None, value - 1e-9 * max(1.0, abs(value))
    for i, t in enumerate(prof.terms):
        o = prof.theta_offsets[i]
        tf = theta_to_factor(theta[o:o + n_theta(t.r)], t.r)
        for j in range(t.r):
            if tf[j, j] > AT_ZERO:
                continue
            for sign in ((1.0, -1.0) if j < t.r - 1 and np.any(tf[j + 1:, j] != 0) else (1.0,)):
                for v in ESCAPE_GRID:
                    cand_t = tf.copy()
                    cand_t[j + 1:, j] *= sign
                    cand_t[j, j] = v
                    cand = theta.copy()
                    cand[o:o + n_theta(t.r)] = factor_to_theta(cand_t)
                    fv = dev(cand)
                    if np.isfinite(fv) and fv < best_f:
                        best, best_f = cand, fv
    return best


# -- the DataFrame-facing fit and its result -------------------------------------------------

_REFERENCES = (
    "Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects "
    "models using lme4. Journal of Statistical Software 67(1), 1-48.",
    "Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance "
    "components. Biometrics Bulletin 2(6), 110-114.",
)


@dataclass(frozen=True)
class SlopesLMMResult(LMMResult):
    """A fitted crossed linear mixed model with correlated random slopes for the officer.

    The same attributes as :class:`~riskeval.variation.LMMResult`, with these differences:

    Attributes
    ----------
    variance_table : pandas.DataFrame
        One row per variance (``case``, ``officer`` -- the officer intercept --, ``officer: x``
        for each slope, ``office``, interactions, ``residual``) and per correlation
        (``officer: corr(intercept, x)``, ``officer: corr(x, x2)``). Columns ``variance``,
        ``ci_low``, ``ci_high``, ``sd``, ``sd_low``, ``sd_high``; on a correlation row, as in
        lme4's ``as.data.frame(VarCorr(fit))``, ``variance`` holds the covariance and ``sd``,
        ``sd_low``, ``sd_high`` the correlation and its interval. Intervals are Wald
        intervals on the log-SD and atanh-correlation scales (NaN on the boundary).
    correlations : pandas.Series
        The correlations of the officer's intercept and slopes.
    covariance : pandas.DataFrame
        The officer's covariance matrix of intercept and slopes.
    variance_shares : pandas.DataFrame
        NaN: with random slopes the officer's variance depends on the slope columns, so the
        variance has no single decomposition into shares.
    random_effects : mapping of name to pandas.DataFrame
        Conditional modes; the officer's frame has ``estimate`` and ``se`` (intercept) and,
        for each slope ``x``, columns ``x`` and ``se_x``.
    slopes : tuple of str
        The slope columns.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskeval.variation import crossed_lmm
    >>> rng = np.random.default_rng(0)
    >>> case, officer = np.divmod(np.arange(600), 20)
    >>> x = rng.normal(size=30)[case]
    >>> slope = rng.normal(0, 0.5, 20)[officer]
    >>> y = (x + rng.normal(size=30)[case] + rng.normal(size=20)[officer] + slope * x
    ...      + rng.normal(0, 0.5, 600))
    >>> data = pd.DataFrame({"case": case, "officer": officer, "x": x, "y": y})
    >>> fit = crossed_lmm(data, rating="y", case="case", rater="officer", slopes="x")
    >>> fit.to_frame().index.tolist()
    ['case', 'officer', 'officer: x', 'officer: corr(intercept, x)', 'residual']
    >>> fit.random_effects["officer"].columns.tolist()
    ['estimate', 'se', 'x', 'se_x']

    References
    ----------
    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
    using lme4. *Journal of Statistical Software* 67(1), 1-48.
    """

    title: ClassVar[str] = "Crossed linear mixed model with random slopes"

    correlations: pd.Series | None = None
    covariance: pd.DataFrame | None = None
    slopes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Variances, SDs and correlations with their intervals, and the levels per factor."""
        out = self.variance_table.copy()
        out["n_levels"] = [self.n_groups.get(nm.split(":")[0] if nm.startswith("officer:")
                                             else nm, np.nan) for nm in out.index]
        return out

    def plot(self, ax: Any = None) -> Any:
        """Caterpillar plots of the officers' intercepts and of their slopes on each slope
        column (conditional modes with +/- 1.96 conditional SE); the variance shares of the
        intercepts model are not drawn, because with slopes the officers' variance depends on
        the slope columns.

        Returns the matplotlib Figure (or ``ax`` with the intercepts when it is given).
        """
        from .._core.plots import _pyplot, caterpillar

        effects = self.random_effects["officer"]
        slopes = [c for c in effects.columns if c not in ("estimate", "se")
                  and not c.startswith("se_")]
        panels = [("estimate", "se", "officers' intercepts")] + [
            (c, f"se_{c}", f"officers' slopes on {c}") for c in slopes]
        if ax is not None:
            return caterpillar(effects[["estimate", "se"]], ax, panels[0][2])
        fig = _pyplot().figure(figsize=(4.5 * len(panels), 4.5))
        for axis, (est, se, title) in zip(fig.subplots(1, len(panels), squeeze=False)[0],
                                          panels, strict=True):
            caterpillar(effects[[est, se]].set_axis(["estimate", "se"], axis=1), axis, title)
        fig.tight_layout()
        return fig

    def summary(self) -> str:
        """Plain text in the style of lme4's ``summary``."""
        kind = "REML" if self.reml else "ML"
        lines = [f"Linear mixed model with random slopes fit by {kind}: {self.n_obs} ratings"
                 + (f" ({self.n_dropped} incomplete rows dropped)" if self.n_dropped else ""),
                 f"  {kind} log-likelihood {self.loglik:.4f}, AIC {self.aic:.2f}, "
                 f"BIC {self.bic:.2f}", "Random effects:"]
        for name, row in self.variance_table.iterrows():
            if "corr(" in name:
                lines.append(f"  {name:<28} {row['sd']:>8.3f}  "
                             f"[{row['sd_low']:.3f}, {row['sd_high']:.3f}]")
            else:
                lines.append(f"  {name:<28} variance {row['variance']:.5g}, sd {row['sd']:.5g}  "
                             f"[{row['sd_low']:.4g}, {row['sd_high']:.4g}]")
        lines.append("Fixed effects:")
        for name, row in self.fixed_effects.iterrows():
            lines.append(f"  {name:<20} {row['estimate']:>10.5g}  se {row['se']:.4g}  "
                         f"df {row['df']:.1f}  p {row['p']:.3g}  "
                         f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}]")
        if not self.converged:
            lines.append(f"warning: the optimiser did not report convergence ({self.message})")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        fmt = {"float_format": lambda x: f"{x:.4g}"}
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        kind = "REML" if self.reml else "ML"
        return (f"<div><strong>{html.escape(self.title)} ({kind})</strong>: "
                f"{self.n_obs} ratings, log-likelihood {self.loglik:.4f}, AIC {self.aic:.2f}"
                f"{self.to_frame().to_html(**fmt)}{self.fixed_effects.to_html(**fmt)}"
                f"<ul>{notes}</ul></div>")


class _Psi:
    """The variance parameters on the Wald scale: log SDs, atanh correlations, log sigma.

    Terms whose covariance is singular (on the boundary) are held at their estimates.
    """

    def __init__(self, prof: SlopesProfiled, theta: np.ndarray, sigma: float) -> None:
        self.prof, self.theta, self.sigma = prof, theta.copy(), sigma
        facs = prof.factors(theta)
        self.free = [i for i, t in enumerate(prof.terms)
                     if np.all(np.abs(np.diag(facs[i])) >= BOUNDARY_TOL)]
        values = []
        for i in self.free:
            sd, cor = _sd_cor(facs[i] @ facs[i].T * sigma ** 2)
            values += list(np.log(sd)) + list(np.arctanh(cor[np.triu_indices(len(sd), 1)]))
        self.values = np.array([*values, math.log(sigma)])

    def phi(self, psi: np.ndarray) -> tuple[np.ndarray, float]:
        """``(theta, sigma)`` at ``psi``."""
        theta = self.theta.copy()
        sigma = math.exp(psi[-1])
        pos = 0
        for i in self.free:
            r = self.prof.terms[i].r
            sd = np.exp(psi[pos:pos + r])
            cor = np.eye(r)
            iu = np.triu_indices(r, 1)
            cor[iu] = np.tanh(psi[pos + r:pos + n_theta(r)])
            cor.T[iu] = cor[iu]
            pos += n_theta(r)
            t = np.linalg.cholesky(cor * np.outer(sd, sd)) / sigma
            o = self.prof.theta_offsets
            theta[o[i]:o[i + 1]] = factor_to_theta(t)
        return theta, sigma

    def deviance(self, psi: np.ndarray) -> float:
        theta, sigma = self.phi(psi)
        return self.prof.full_deviance(theta, sigma)


def _sd_cor(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        cor = cov / np.outer(sd, sd)
    return sd, cor


def _hessian(f: Any, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central second differences."""
    m = len(x)
    f0 = f(x)
    hess = np.empty((m, m))
    for i in range(m):
        e = np.zeros(m)
        e[i] = h
        hess[i, i] = (f(x + e) - 2 * f0 + f(x - e)) / h ** 2
        for j in range(i):
            d = np.zeros(m)
            d[j] = h
            hess[i, j] = hess[j, i] = (f(x + e + d) - f(x + e - d) - f(x - e + d)
                                       + f(x - e - d)) / (4 * h * h)
    return hess


def fit_slopes(y: np.ndarray, X: np.ndarray, factors: list, slope_cols: list[str],
               w: np.ndarray, names: list[str], reml: bool, confidence: float,
               n_dropped: int, notes: list[str], ci: str | None) -> SlopesLMMResult:
    """Fit the model with officer slopes on ``w`` and build its result (called by
    :func:`riskeval.variation.crossed_lmm`, which validated the data)."""

    n, p = X.shape
    wd = np.column_stack([np.ones(n), w])
    terms = [Term(nm, codes, len(lv), wd if nm == "officer" else None)
             for nm, codes, lv in factors]
    prof = SlopesProfiled(y, X, terms, reml)
    if n <= p + len(prof.bounds) + 1:
        from ..errors import RiskevalError

        raise RiskevalError(f"{n} ratings cannot estimate {p + len(prof.bounds) + 1} "
                            f"parameters")
    small = sum(t.size for t in terms) - terms[prof.big].size < 600
    with threadpool_limits(limits=1 if small else None, user_api="blas"):
        return _fit_slopes(prof, terms, factors, slope_cols, names, reml, confidence,
                           n_dropped, notes, ci)


def _fit_slopes(prof: SlopesProfiled, terms: list[Term], factors: list,
                slope_cols: list[str], names: list[str], reml: bool, confidence: float,
                n_dropped: int, notes: list[str], ci: str | None) -> SlopesLMMResult:
    from ._lmm_result import factor_order

    n, p = prof.n, prof.p
    opt = optimise_slopes(prof)
    sol = opt.solution
    sigma2 = sol.r2 / (n - p if reml else n)
    sigma = math.sqrt(sigma2)
    fnames = [f[0] for f in factors]
    order = factor_order(fnames)
    facs = prof.factors(opt.theta)
    coef = ["intercept", *slope_cols]
    # variance and correlation rows
    rows: dict[str, dict[str, float]] = {}
    boundary: list[str] = []
    cov_officer = corr = None
    for nm in order:
        i = fnames.index(nm)
        cov = facs[i] @ facs[i].T * sigma2
        sd, cor = _sd_cor(cov)
        labels = [nm] + [f"{nm}: {c}" for c in slope_cols] if terms[i].r > 1 else [nm]
        for j, lab in enumerate(labels):
            rows[lab] = {"variance": cov[j, j], "sd": sd[j]}
            if sd[j] < BOUNDARY_TOL * sigma:
                boundary.append(lab)
        if terms[i].r > 1:
            cov_officer = pd.DataFrame(cov, index=coef, columns=coef)
            corr = {}
            for a in range(terms[i].r):
                for b in range(a + 1, terms[i].r):
                    lab = f"{nm}: corr({coef[a]}, {coef[b]})"
                    rows[lab] = {"variance": cov[a, b], "sd": cor[a, b]}
                    corr[lab] = cor[a, b]
                    if np.isfinite(cor[a, b]) and abs(cor[a, b]) > CORR_BOUNDARY:
                        boundary.append(lab)
            if np.any(np.diag(facs[i]) < BOUNDARY_TOL) and not any(
                    b.startswith(f"{nm}:") or b == nm for b in boundary):
                boundary.append(f"{nm} (covariance matrix)")
    rows["residual"] = {"variance": sigma2, "sd": sigma}
    table = pd.DataFrame(rows).T[["variance", "sd"]]
    table.insert(1, "ci_low", np.nan)
    table.insert(2, "ci_high", np.nan)
    table["sd_low"], table["sd_high"] = np.nan, np.nan
    # Wald intervals and Satterthwaite df from the Hessian on the psi scale
    psi = _Psi(prof, opt.theta, sigma)
    cov_psi = None
    hess = _hessian(psi.deviance, psi.values)
    try:
        cov_psi = 2.0 * np.linalg.inv(hess)
        if np.any(np.diag(cov_psi) <= 0):
            cov_psi = None
    except np.linalg.LinAlgError:
        cov_psi = None
    if cov_psi is None:
        notes.append("the information matrix of the variance parameters is not positive "
                      "definite: no Wald intervals, and the fixed effects' df are infinite")
    z = stats.norm.ppf(0.5 + confidence / 2)
    if cov_psi is not None and ci is not None:
        pos = 0
        se_psi = np.sqrt(np.diag(cov_psi))
        for i in psi.free:
            nm, r = fnames[i], terms[i].r
            labels = [nm] + [f"{nm}: {c}" for c in slope_cols] if r > 1 else [nm]
            for j, lab in enumerate(labels):
                c = psi.values[pos + j]
                table.loc[lab, ["sd_low", "sd_high"]] = np.exp([c - z * se_psi[pos + j],
                                                                c + z * se_psi[pos + j]])
            k = pos + r
            for a in range(r):
                for b in range(a + 1, r):
                    lab = f"{nm}: corr({coef[a]}, {coef[b]})"
                    c = psi.values[k]
                    table.loc[lab, ["sd_low", "sd_high"]] = np.tanh([c - z * se_psi[k],
                                                                     c + z * se_psi[k]])
                    k += 1
            pos += n_theta(r)
        c = psi.values[-1]
        table.loc["residual", ["sd_low", "sd_high"]] = np.exp([c - z * se_psi[-1],
                                                               c + z * se_psi[-1]])
        var_rows = [lab for lab in table.index if "corr(" not in lab]
        table.loc[var_rows, "ci_low"] = table.loc[var_rows, "sd_low"] ** 2
        table.loc[var_rows, "ci_high"] = table.loc[var_rows, "sd_high"] ** 2
        notes.append("intervals for the variances, SDs and correlations are Wald intervals on "
                     "the log-SD and atanh-correlation scales")
    # fixed effects
    a_inv = np.linalg.inv(sol.xtx_schur)
    se = np.sqrt(sigma2 * np.diag(a_inv))
    df = np.full(p, np.inf)
    if cov_psi is not None:
        def variances(v: np.ndarray) -> np.ndarray:
            th, sg = psi.phi(v)
            return sg ** 2 * np.diag(np.linalg.inv(prof.solve(th).xtx_schur))

        grads = np.empty((len(psi.values), p))
        for j in range(len(psi.values)):
            e = np.zeros(len(psi.values))
            e[j] = 1e-5
            grads[j] = (variances(psi.values + e) - variances(psi.values - e)) / 2e-5
        denom = np.einsum("ip,ij,jp->p", grads, cov_psi, grads)
        v = se ** 2
        with np.errstate(divide="ignore"):
            df = np.where(denom > 0, 2 * v ** 2 / denom, np.inf)
    fe = fixed_effects_table(sol.beta, se, df, names, confidence)
    loglik = -0.5 * sol.deviance
    k = p + len(prof.bounds) + 1
    for b in boundary:
        notes.append(f"{b} is on the boundary of its parameter space (a singular fit, as lme4's "
                     f"isSingular): a variance estimated at zero or a correlation at +-1")
    if not opt.converged:
        warnings.warn(f"crossed_lmm: the optimiser did not report convergence ({opt.message})",
                      DegenerateDataWarning, stacklevel=3)
        notes.append(f"the optimiser did not report convergence ({opt.message})")
    # conditional modes and their conditional SDs
    offs = np.concatenate([[0], np.cumsum([t.size for t in terms])]).astype(int)
    u = sol.u
    ccov = prof.conditional_cov(opt.theta)
    ranef = {}
    for i, (nm, _, lv) in enumerate(factors):
        t = terms[i]
        b_all = np.einsum("ij,lj->li", facs[i], u[offs[i]:offs[i + 1]].reshape(t.levels, t.r))
        se_b = sigma * np.sqrt(np.diagonal(ccov[i], axis1=1, axis2=2))
        frame = pd.DataFrame({"estimate": b_all[:, 0], "se": se_b[:, 0]}, index=lv)
        for j, c in enumerate(slope_cols if t.r > 1 else []):
            frame[c] = b_all[:, j + 1]
            frame[f"se_{c}"] = se_b[:, j + 1]
        ranef[nm] = frame
    theta_names = []
    for t in terms:
        names_i = ["(Intercept)", *slope_cols] if t.r > 1 else ["(Intercept)"]
        rr, cc = np.tril_indices(t.r)
        for o in np.lexsort((rr, cc)):
            theta_names.append(f"{t.name}.{names_i[rr[o]]}" if rr[o] == cc[o] else
                               f"{t.name}.{names_i[rr[o]]}.{names_i[cc[o]]}")
    var = table.loc[[lab for lab in table.index if "corr(" not in lab], "variance"]
    var = var.astype(float)
    shares = pd.DataFrame({"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan},
                          index=var.index)
    n_groups = pd.Series({nm: len(factors[fnames.index(nm)][2]) for nm in order})
    return SlopesLMMResult(
        variance_components=var, sd=np.sqrt(var), variance_shares=shares, fixed_effects=fe,
        loglik=loglik, aic=-2 * loglik + 2 * k, bic=-2 * loglik + math.log(n) * k, reml=reml,
        n_obs=n, n_groups=n_groups, n_dropped=n_dropped,
        theta=pd.Series(opt.theta, index=theta_names), converged=opt.converged,
        message=opt.message, n_evaluations=opt.n_evaluations, boundary=tuple(boundary),
        notes=tuple(notes), random_effects=MappingProxyType({nm: ranef[nm] for nm in order}),
        variance_table=table.astype(float), confidence=confidence, references=_REFERENCES,
        correlations=pd.Series(corr if corr is not None else {}, dtype=float),
        covariance=cov_officer, slopes=tuple(slope_cols))
