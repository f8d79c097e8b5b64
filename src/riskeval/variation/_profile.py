"""Profile-likelihood confidence intervals for functions of the variance parameters.

For a scalar function ``g`` of ``phi = (theta, sigma)`` -- a standard deviation
``sigma_k = theta_k sigma``, the residual SD ``sigma``, or a variance share
``theta_k^2 / (1 + sum theta_j^2)`` -- the profile deviance is

``D_g(c) = min { D(phi) : g(phi) = c }``

where ``D`` is the (RE)ML deviance with ``sigma`` not profiled out. The interval is
``{c : D_g(c) - D(phi_hat) <= chi2_1(level)}``, found on the signed square root
``zeta(c) = sign(c - c_hat) sqrt(D_g(c) - D_hat)``, which is close to linear on a log (SDs)
or logit (shares) scale, by secant steps. A parameter whose constrained minimum at zero stays
within the threshold has its lower limit at zero (a boundary).

This is the method of lme4's ``confint(..., method = "profile")`` (Bates et al. 2015,
section 5.1); the intervals of a REML fit are REML-profile intervals.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize, stats

from ._boundary import minimize_nonneg
from ._lmm import Profiled

Func = Callable[[np.ndarray], tuple[float, np.ndarray]]


class FullDeviance:
    """``D(theta, sigma)`` and its gradient (``sigma`` last)."""

    def __init__(self, prof: Profiled) -> None:
        self.prof = prof
        s = prof.s
        self.df = s.n - s.p if prof.reml else s.n

    def __call__(self, phi: np.ndarray) -> tuple[float, np.ndarray]:
        k = len(phi) - 1
        theta, sigma = np.maximum(phi[:k], 0.0), max(float(phi[k]), 1e-300)
        sol = self.prof.solve(theta, gradient=True)
        logdet = sol.logdet_l + (sol.logdet_rx if self.prof.reml else 0.0)
        s2 = sigma * sigma
        dev = logdet + self.df * math.log(2 * math.pi * s2) + sol.r2 / s2
        g_theta = sol.grad_logdet + sol.grad_r2 / s2
        g_sigma = 2 * self.df / sigma - 2 * sol.r2 / (s2 * sigma)
        return dev, np.append(g_theta, g_sigma)


def sd_of(k: int) -> Func:
    """``sigma_k = theta_k * sigma`` (k = -1: the residual SD)."""
    def g(phi: np.ndarray) -> tuple[float, np.ndarray]:
        grad = np.zeros_like(phi)
        if k < 0:
            grad[-1] = 1.0
            return float(phi[-1]), grad
        grad[k], grad[-1] = phi[-1], phi[k]
        return float(phi[k] * phi[-1]), grad
    g.spec = ("sd", k)  # type: ignore[attr-defined]
    return g


def share_of(k: int) -> Func:
    """Share of the total variance: ``theta_k^2 / S`` (k = -1: ``1 / S``), S = 1 + sum theta^2."""
    def g(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = phi[:-1]
        total = 1.0 + float(theta @ theta)
        grad = np.zeros_like(phi)
        if k < 0:
            grad[:-1] = -2.0 * theta / total ** 2
            return 1.0 / total, grad
        num = theta[k] ** 2
        grad[:-1] = -num * 2.0 * theta / total ** 2
        grad[k] += 2.0 * theta[k] / total
        return num / total, grad
    g.spec = ("share", k)  # type: ignore[attr-defined]
    return g


class Profiler:
    """Profile intervals around an optimum ``phi_hat`` of ``D``."""

    def __init__(self, prof: Profiled, theta_hat: np.ndarray, sigma_hat: float) -> None:
        self.dev = FullDeviance(prof)
        self.phi_hat = np.append(theta_hat, sigma_hat)
        self.d_hat = self.dev(self.phi_hat)[0]
        self.n_evals = 0
        self._zero: dict[int, float] = {}

    def constrained_min(self, g: Func, c: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        """``min D(phi)`` subject to ``g(phi) = c``.

        SDs and the shares of random-effect components are profiled by substitution (the
        constraint solved for one parameter, the rest free, L-BFGS-B with the chain-rule
        gradient); other functions by SLSQP with analytic gradients.
        """
        kind, k = getattr(g, "spec", (None, None))
        if kind == "sd":
            return self._min_sd(k, c, start)
        if kind == "share" and k >= 0:
            return self._min_share(k, c, start)
        return self._min_slsqp(g, c, start)

    def _lbfgs(self, f: Callable, x0: np.ndarray, bounds: list) -> tuple[float, np.ndarray]:
        res = minimize_nonneg(f, x0, bounds, jac=True,
                              options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 500})
        return float(res.fun), res.x

    def _min_sd(self, k: int, c: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        kk = len(start) - 1
        sig_hat = float(self.phi_hat[-1])
        if k < 0:  # residual SD fixed at c: free theta
            def f(t: np.ndarray) -> tuple[float, np.ndarray]:
                self.n_evals += 1
                d, gr = self.dev(np.append(t, c))
                return d, gr[:kk]
            val, t = self._lbfgs(f, np.maximum(start[:kk], 0.0), [(0.0, None)] * kk)
            return val, np.append(t, c)
        free = [j for j in range(kk) if j != k]

        def full(v: np.ndarray) -> np.ndarray:
            phi = np.empty(kk + 1)
            phi[free] = v[:-1]
            phi[k] = c / v[-1]
            phi[-1] = v[-1]
            return phi

        def f(v: np.ndarray) -> tuple[float, np.ndarray]:
            self.n_evals += 1
            d, gr = self.dev(full(v))
            g_sigma = gr[-1] - gr[k] * c / v[-1] ** 2
            return d, np.append(gr[free], g_sigma)

        v0 = np.append(np.maximum(start[free], 0.0), start[-1])
        bounds = [(0.0, None)] * len(free) + [(1e-3 * sig_hat, 1e3 * sig_hat)]
        val, v = self._lbfgs(f, v0, bounds)
        return val, full(v)

    def _min_share(self, k: int, c: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        """Share of component k fixed at c: theta_k^2 = c (1 + sum_{j!=k} theta_j^2)/(1-c);
        sigma is profiled out analytically (a share does not depend on it)."""
        kk = len(start) - 1
        prof = self.dev.prof
        free = [j for j in range(kk) if j != k]
        ratio = c / (1.0 - c)

        def theta_of(v: np.ndarray) -> np.ndarray:
            t = np.empty(kk)
            t[free] = v
            t[k] = math.sqrt(ratio * (1.0 + float(v @ v)))
            return t

        def f(v: np.ndarray) -> tuple[float, np.ndarray]:
            self.n_evals += 1
            t = theta_of(v)
            sol = prof.solve(t, gradient=True)
            gr = sol.gradient
            return sol.deviance, gr[free] + gr[k] * ratio * v / t[k]

        val, v = self._lbfgs(f, np.maximum(start[free], 0.0), [(0.0, None)] * len(free))
        t = theta_of(v)
        sol = prof.solve(t)
        sigma = math.sqrt(sol.r2 / self.dev.df)
        return val, np.append(t, sigma)

    def _min_slsqp(self, g: Func, c: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        def fun(phi: np.ndarray) -> tuple[float, np.ndarray]:
            self.n_evals += 1
            return self.dev(phi)

        cons = {"type": "eq", "fun": lambda phi: g(phi)[0] - c, "jac": lambda phi: g(phi)[1]}
        top = 1e3 * max(1.0, float(self.phi_hat[:-1].max()))
        sig = float(self.phi_hat[-1])
        bounds = [(0.0, top)] * (len(start) - 1) + [(1e-3 * sig, 1e3 * sig)]
        res = optimize.minimize(fun, start, jac=True, method="SLSQP", bounds=bounds,
                                constraints=[cons], options={"ftol": 1e-11, "maxiter": 200})
        return float(res.fun), res.x

    def zeta(self, g: Func, c: float, c_hat: float, start: np.ndarray
             ) -> tuple[float, np.ndarray]:
        d, phi = self.constrained_min(g, c, start)
        return math.copysign(math.sqrt(max(d - self.d_hat, 0.0)), c - c_hat), phi

    def interval(self, g: Func, kind: str, level: float,
                 index: int | None = None) -> tuple[float, float]:
        """Profile interval of ``g``; ``kind`` is 'positive' (log scale) or 'share' (logit).

        ``index`` is the component whose removal makes ``g`` zero (None for the residual).
        """
        z = math.sqrt(stats.chi2.ppf(level, 1))
        c_hat = g(self.phi_hat)[0]
        fwd, back = _scales(kind)
        out = []
        for sign in (-1.0, 1.0):
            try:
                out.append(self._limit(g, c_hat, sign, z, fwd, back, kind, index))
            except (np.linalg.LinAlgError, FloatingPointError, ValueError):
                out.append(math.nan)
        return out[0], out[1]

    def at_zero(self, k: int) -> float:
        """Deviance minimised with ``theta_k = 0`` (the component removed)."""
        if k not in self._zero:
            prof = self.dev.prof
            bounds = [(0.0, 0.0) if j == k else (0.0, None) for j in range(len(prof.s.levels))]
            start = np.where(np.arange(len(bounds)) == k, 0.0, self.phi_hat[:-1])

            def f(t: np.ndarray) -> tuple[float, np.ndarray]:
                sol = prof.solve(np.maximum(t, 0.0), gradient=True)
                return sol.deviance, sol.gradient

            res = minimize_nonneg(f, start, bounds, jac=True)
            self._zero[k] = float(res.fun)
        return self._zero[k]

    def _limit(self, g: Func, c_hat: float, sign: float, z: float,
               fwd: Callable[[float], float], back: Callable[[float], float], kind: str,
               index: int | None) -> float:
        lower_edge = 0.0
        upper_edge = 1.0 if kind == "share" else math.inf
        at_edge = c_hat <= 1e-10 if sign < 0 else (kind == "share" and c_hat >= 1 - 1e-10)
        if at_edge:
            return lower_edge if sign < 0 else upper_edge
        if sign < 0 and index is not None:  # is zero itself within the threshold?
            if self.at_zero(index) - self.d_hat <= z * z:
                return lower_edge
        phi = self.phi_hat.copy()
        if c_hat <= 1e-10:  # a boundary estimate: search upward from a small positive value
            small = 1e-3 * (float(self.phi_hat[-1]) if kind == "positive" else 1.0)
            t_prev = fwd(small)
            zeta_prev, phi = self.zeta(g, small, c_hat, phi)
            t = t_prev + 1.0
        else:
            # first step: a tenth of the scale, then secant steps on zeta(t) = sign * z
            t_prev, zeta_prev = fwd(c_hat), 0.0
            t = t_prev + sign * 0.1
        for _ in range(40):
            zt, phi = self.zeta(g, back(t), c_hat, phi)
            if abs(abs(zt) - z) < 1e-4:
                return back(t)
            slope = (zt - zeta_prev) / (t - t_prev) if t != t_prev else 0.0
            t_prev, zeta_prev = t, zt
            if slope <= 0 or not np.isfinite(slope):  # zeta must increase with t: step on
                t = t + sign * 0.5
            else:
                step = (sign * z - zt) / slope
                t = t + float(np.clip(step, -2.0, 2.0))
            if sign < 0 and kind == "positive" and back(t) < 1e-12:
                return lower_edge
        return back(t)  # pragma: no cover - secant iteration did not settle


def _scales(kind: str) -> tuple[Callable[[float], float], Callable[[float], float]]:
    if kind == "share":
        def logit(x: float) -> float:
            x = min(max(x, 1e-12), 1 - 1e-12)
            return math.log(x / (1 - x))
        return logit, lambda t: 1.0 / (1.0 + math.exp(-t))
    return (lambda x: math.log(max(x, 1e-300))), math.exp


def wald_log_intervals(prof: Profiled, theta_hat: np.ndarray, sigma_hat: float,
                       level: float) -> tuple[dict, dict]:
    """Wald intervals for SDs (log scale) and shares (logit scale) from the observed
    information of ``D(theta, sigma)`` (a finite-difference Jacobian of its analytic gradient).

    Used when profiling would be slow (large designs, where the likelihood is close to
    quadratic on these scales). A component on the boundary gets the interval [0, 0] for its
    SD and [0, 0] for its share, with the boundary noted by the caller.
    """
    dev = FullDeviance(prof)
    k = len(theta_hat)
    phi = np.append(theta_hat, sigma_hat)
    # work in psi = log(phi) for the components away from zero
    inner = np.flatnonzero(phi > 1e-8)
    psi = np.log(phi[inner])

    def grad_psi(v: np.ndarray) -> np.ndarray:
        full = phi.copy()
        full[inner] = np.exp(v)
        return dev(full)[1][inner] * full[inner]

    h = 1e-5
    hess = np.empty((len(inner), len(inner)))
    for i in range(len(inner)):
        e = np.zeros(len(inner))
        e[i] = h
        hess[:, i] = (grad_psi(psi + e) - grad_psi(psi - e)) / (2 * h)
    hess = (hess + hess.T) / 2
    cov = 2.0 * np.linalg.inv(hess)                     # D = -2 log L
    z = stats.norm.ppf(0.5 + level / 2)
    pos = {j: i for i, j in enumerate(inner)}
    sd_ci, share_ci = {}, {}
    theta = phi[:k]
    total = 1.0 + float(theta @ theta)
    for j in [*range(k), -1]:
        jj = k if j < 0 else j
        if jj not in pos:
            sd_ci[j] = (0.0, 0.0)
            share_ci[j] = (0.0, 0.0)
            continue
        # log sd_j = psi_j + psi_sigma (for j a component), psi_sigma (residual)
        grad = np.zeros(len(inner))
        grad[pos[jj]] += 1.0
        if j >= 0 and k in pos:
            grad[pos[k]] += 1.0
        var = float(grad @ cov @ grad)
        log_sd = math.log(phi[jj]) + (math.log(phi[k]) if j >= 0 else 0.0)
        half = z * math.sqrt(max(var, 0.0))
        sd_ci[j] = (math.exp(log_sd - half), math.exp(log_sd + half))
        # logit share: share = t_j^2 / total (residual: 1/total); derivative wrt psi_i
        share = (theta[j] ** 2 if j >= 0 else 1.0) / total
        gs = np.zeros(len(inner))
        for i_comp in range(k):
            if i_comp in pos:
                d_total = 2 * theta[i_comp] ** 2        # d total / d psi_i
                d_share = -share * d_total / total
                if i_comp == j:
                    d_share += 2 * share
                gs[pos[i_comp]] = d_share / (share * (1 - share))
        v_logit = float(gs @ cov @ gs)
        centre = math.log(share / (1 - share))
        half = z * math.sqrt(max(v_logit, 0.0))
        share_ci[j] = (1 / (1 + math.exp(-(centre - half))), 1 / (1 + math.exp(-(centre + half))))
    return sd_ci, share_ci
