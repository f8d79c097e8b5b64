"""Linear mixed model with crossed and nested random intercepts (case x officer-in-office).

The kernel works on sufficient statistics: with random intercepts only, every quantity of the
profiled likelihood is a function of ``Z'Z``, ``Z'X``, ``Z'y``, ``X'X``, ``X'y`` and ``y'y``,
computed once in O(n). Each evaluation of the profiled deviance then costs O(q^3) in the number
of random-effect levels q -- independent of the number of ratings -- and less than that: the
factor with most levels has a diagonal block in ``Lambda' Z'Z Lambda + I`` and is eliminated
first (a Schur complement), leaving a dense Cholesky factorisation in the remaining levels.

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
from scipy import linalg, optimize


@dataclass(frozen=True)
class Stats:
    """Sufficient statistics of a random-intercepts model (computed once per data set)."""

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


def sufficient_stats(y: np.ndarray, X: np.ndarray, codes: list[np.ndarray],
                     levels: list[int]) -> Stats:
    """Cross-products of the design; ``codes[k]`` are 0-based level codes of factor k."""
    n, p = X.shape
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
    return Stats(n, p, tuple(levels), counts, cross, zty, ztx, X.T @ X, X.T @ y,
                 float(y @ y))


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


class Profiled:
    """The profiled (RE)ML deviance of a random-intercepts model as a function of theta."""

    def __init__(self, stats: Stats, reml: bool) -> None:
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

    def _cross(self, k: int, m: int) -> np.ndarray:
        return self.s.cross[(k, m)] if k < m else self.s.cross[(m, k)].T

    def solve(self, theta: np.ndarray) -> Solution:
        s = self.s
        theta = np.asarray(theta, dtype=float)
        tb = theta[self.big]
        t_rest = np.concatenate([np.full(s.levels[j], theta[j]) for j in self.rest]) \
            if self.rest else np.zeros(0)
        d_b = tb * tb * s.counts[self.big] + 1.0                      # diagonal block
        m_br = (tb * self.c_br) * t_rest[None, :]
        m_rr = self.c_rr * np.outer(t_rest, t_rest)
        if self.rest:
            diag_r = np.concatenate([s.counts[j] for j in self.rest]) * t_rest ** 2 + 1.0
            m_rr[np.diag_indices_from(m_rr)] = diag_r
        schur = m_rr - m_br.T @ (m_br / d_b[:, None])
        chol = linalg.cho_factor(schur, lower=True, check_finite=False) if self.rest else None
        logdet_l = float(np.log(d_b).sum()) + (
            2.0 * float(np.log(np.diag(chol[0])).sum()) if chol is not None else 0.0)

        # right-hand sides: Lambda Z' [y, X]
        rhs_b = tb * np.column_stack([s.zty[self.big], s.ztx[self.big]])
        rhs_r = (np.vstack([theta[j] * np.column_stack([s.zty[j], s.ztx[j]])
                            for j in self.rest]) if self.rest else np.zeros((0, s.p + 1)))

        def msolve(cb: np.ndarray, cr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            vr = (linalg.cho_solve(chol, cr - m_br.T @ (cb / d_b[:, None]), check_finite=False)
                  if chol is not None else cr)
            vb = (cb - m_br @ vr) / d_b[:, None]
            return vb, vr

        vb, vr = msolve(rhs_b, rhs_r)
        cu = np.concatenate([rhs_b[:, 0], rhs_r[:, 0]])
        cx = np.vstack([rhs_b[:, 1:], rhs_r[:, 1:]])
        minv_cu = np.concatenate([vb[:, 0], vr[:, 0]])
        minv_cx = np.vstack([vb[:, 1:], vr[:, 1:]])
        xtx_schur = s.xtx - cx.T @ minv_cx
        xtx_schur = (xtx_schur + xtx_schur.T) / 2
        rx = linalg.cholesky(xtx_schur, lower=False, check_finite=False)
        beta = linalg.cho_solve((rx, False), s.xty - cx.T @ minv_cu, check_finite=False)
        u = minv_cu - minv_cx @ beta
        e2 = s.yty - 2.0 * beta @ s.xty + beta @ s.xtx @ beta
        r2 = float(e2 - (cu - cx @ beta) @ u)
        r2 = max(r2, np.finfo(float).tiny)
        logdet_rx = 2.0 * float(np.log(np.abs(np.diag(rx))).sum())
        n, p = s.n, s.p
        if self.reml:
            dev = logdet_l + logdet_rx + (n - p) * (1.0 + np.log(2.0 * np.pi * r2 / (n - p)))
        else:
            dev = logdet_l + n * (1.0 + np.log(2.0 * np.pi * r2 / n))
        return Solution(float(dev), beta, xtx_schur, r2, u, logdet_l, logdet_rx)

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
class Optimum:
    theta: np.ndarray
    solution: Solution
    converged: bool
    message: str
    n_evaluations: int


def optimise(prof: Profiled, start: np.ndarray | None = None) -> Optimum:
    """Minimise the profiled deviance over theta >= 0.

    Bounded quasi-Newton (L-BFGS-B, finite-difference gradients) from theta = 1 -- the
    starting point lme4 uses -- followed by a bounded Nelder-Mead polish, which tightens the
    optimum on flat or boundary directions where finite-difference gradients are weak.
    """
    k = len(prof.s.levels)
    x0 = np.ones(k) if start is None else np.asarray(start, dtype=float)
    count = [0]

    def f(t: np.ndarray) -> float:
        count[0] += 1
        return prof.deviance(np.maximum(t, 0.0))

    bounds = [(0.0, None)] * k
    first = optimize.minimize(f, x0, method="L-BFGS-B", bounds=bounds,
                              options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 2000})
    polish = optimize.minimize(f, first.x, method="Nelder-Mead", bounds=bounds,
                               options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000,
                                        "initial_simplex": _simplex(first.x)})
    best = polish if polish.fun <= first.fun else first
    theta = np.maximum(best.x, 0.0)
    converged = bool(first.success or polish.success)
    msg = f"L-BFGS-B: {first.message}; Nelder-Mead: {polish.message}"
    return Optimum(theta, prof.solve(theta), converged, msg, count[0])


def _simplex(x: np.ndarray) -> np.ndarray:
    step = np.maximum(0.05 * np.abs(x), 1e-3)
    return np.vstack([x] + [x + np.eye(len(x))[i] * step[i] for i in range(len(x))])
