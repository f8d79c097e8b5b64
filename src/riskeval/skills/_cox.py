"""Cox proportional hazards with case weights and officer-clustered robust errors.

Why here rather than statsmodels ``PHReg``: ``PHReg`` takes no case weights, which inverse
probability weighting needs, and its robust covariance builds the score residuals with a loop
over event times that takes seconds on a few thousand supervisees (and is repeated in every
bootstrap replicate). This module fits the same Breslow partial likelihood with sorted
cumulative sums, so a fit is O(n log n); ``tests/test_skills.py`` checks it against ``PHReg``
and against R's ``survival::coxph`` (fixture with the R call) to 1e-6.

Partial likelihood (Breslow ties), weights ``w_i``, linear predictor ``eta_i = x_i' beta``:
``l(beta) = sum_i d_i w_i (eta_i - log S0(t_i))``, ``S0(t) = sum_{j: t_j >= t} w_j exp(eta_j)``.
The robust covariance is ``I^-1 (sum_g U_g U_g') I^-1`` with ``U_g`` the sum over cluster
``g`` of the weighted score residuals (Lin & Wei 1989; Binder 1992) -- what ``coxph`` reports
as the robust SE with ``cluster()``.

References
----------
Cox, D. R. (1972). Regression models and life-tables. *JRSS B* 34(2), 187-220.

Lin, D. Y. & Wei, L. J. (1989). The robust inference for the Cox proportional hazards model.
*JASA* 84(408), 1074-1078.

Binder, D. A. (1992). Fitting Cox's proportional hazards models from survey data.
*Biometrika* 79(1), 139-147.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import RiskevalError


@dataclass(frozen=True)
class CoxFit:
    """Coefficients, covariances and convergence of a Cox fit."""

    params: np.ndarray
    cov_model: np.ndarray
    cov_robust: np.ndarray | None
    loglik: float
    iterations: int
    converged: bool


class _Sorted:
    """The data sorted by time, with the index of the last member of each tie group."""

    def __init__(self, time: np.ndarray, event: np.ndarray, X: np.ndarray, w: np.ndarray):
        order = np.argsort(-time, kind="stable")      # descending: risk sets are prefixes
        self.order = order
        self.t, self.d, self.X, self.w = time[order], event[order], X[order], w[order]
        # for every row, the end of its block of equal times (risk set includes the ties)
        n = len(time)
        new_block = np.r_[True, self.t[1:] != self.t[:-1]]
        block = np.cumsum(new_block) - 1
        last = np.r_[np.flatnonzero(new_block)[1:] - 1, n - 1]
        self.end = last[block]

    def sums(self, beta: np.ndarray, second: bool = True):
        eta = self.X @ beta
        eta -= eta.max()  # scale-free: cancels in every ratio below
        r = self.w * np.exp(eta)
        s0 = np.cumsum(r)[self.end]
        s1 = np.cumsum(r[:, None] * self.X, axis=0)[self.end]
        s2 = None
        if second:
            xx = self.X[:, :, None] * self.X[:, None, :]
            s2 = np.cumsum(r[:, None, None] * xx, axis=0)[self.end]
        return eta, r, s0, s1, s2


def _loglik(s: _Sorted, beta: np.ndarray) -> float:
    eta, _, s0, _, _ = s.sums(beta, second=False)
    dw = s.d * s.w
    return float((dw * (eta - np.log(s0))).sum())


def cox_fit(time: np.ndarray, event: np.ndarray, X: np.ndarray,
            weights: np.ndarray | None = None, groups: np.ndarray | None = None,
            max_iter: int = 50, tol: float = 1e-10) -> CoxFit:
    """Newton-Raphson on the Breslow partial likelihood (step-halving when it does not rise).

    ``groups`` gives the robust covariance clustered on them (each row its own cluster when
    ``groups`` is None but robust errors are wanted, pass ``np.arange(n)``).
    """
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    if (w < 0).any() or not np.isfinite(w).all():
        raise RiskevalError("case weights must be finite and non-negative")
    if event.sum() == 0:
        raise RiskevalError("no events (reconvictions): the Cox model cannot be fitted")
    s = _Sorted(time, event, X, w)
    beta = np.zeros(p)
    ll = _loglik(s, beta)
    converged, iterations = False, 0
    while iterations < max_iter:
        iterations += 1
        _, _, s0, s1, s2 = s.sums(beta)
        dw = s.d * s.w
        xbar = s1 / s0[:, None]
        grad = (dw[:, None] * (s.X - xbar)).sum(axis=0)
        info = (dw[:, None, None] * (s2 / s0[:, None, None]
                                     - xbar[:, :, None] * xbar[:, None, :])).sum(axis=0)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            raise RiskevalError("the Cox information matrix is singular: a covariate is "
                                "constant or collinear with others") from None
        for _ in range(30):
            new = beta + step
            ll_new = _loglik(s, new)
            if ll_new >= ll - 1e-12:
                break
            step /= 2
        change = abs(ll_new - ll)
        beta, ll = new, ll_new
        if change < tol * (abs(ll) + tol) and np.abs(step).max() < 1e-8:
            converged = True
            break
    eta, _, s0, s1, s2 = s.sums(beta)
    dw = s.d * s.w
    xbar = s1 / s0[:, None]
    info = (dw[:, None, None] * (s2 / s0[:, None, None]
                                 - xbar[:, :, None] * xbar[:, None, :])).sum(axis=0)
    cov = np.linalg.inv(info)
    robust = None
    if groups is not None:
        resid = _score_residuals(s, np.exp(eta), s0, xbar)
        g = np.asarray(groups)[s.order]
        codes, _ = _factorize(g)
        U = np.zeros((codes.max() + 1, p))
        np.add.at(U, codes, resid * s.w[:, None])
        robust = cov @ (U.T @ U) @ cov
    return CoxFit(beta, cov, robust, ll, iterations, converged)


def _factorize(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, codes = np.unique(g.astype(str) if g.dtype == object else g, return_inverse=True)
    return codes.reshape(-1), uniq


def _score_residuals(s: _Sorted, r: np.ndarray, s0: np.ndarray, xbar: np.ndarray
                     ) -> np.ndarray:
    """``r`` is ``exp(eta)`` on the same (shifted) scale as ``s0``."""
    # Score residual of each row (sorted order): d_j (x_j - xbar(t_j)) minus its share of
    # the expected score at every event time at which it was at risk (Breslow).
    # events in ascending time, accumulated: A(t) = sum_{event i, t_i <= t} w_i / S0(t_i),
    # B(t) = sum_{event i, t_i <= t} w_i xbar(t_i) / S0(t_i); row j at risk at t_i iff t_i <= t_j
    dw = s.d * s.w
    a = dw / s0
    b = a[:, None] * xbar
    # ascending order is the reverse; cumulate, and give tied rows the whole tie block
    A = np.cumsum(a[::-1])[::-1]
    B = np.cumsum(b[::-1], axis=0)[::-1]
    first = _first_of_block(s.t)
    A, B = A[first], B[first]
    return s.d[:, None] * (s.X - xbar) - r[:, None] * (s.X * A[:, None] - B)


def _first_of_block(t: np.ndarray) -> np.ndarray:
    new_block = np.r_[True, t[1:] != t[:-1]]
    starts = np.flatnonzero(new_block)
    return starts[np.cumsum(new_block) - 1]
