"""Cumulative link (probit or logit) mixed model with crossed random intercepts.

Model, for a rating in ordered levels ``0 .. J-1``:

``P(Y <= j) = F(tau_j - eta)``, ``eta = x' beta + b_case + b_officer + b_office``,
``b_k ~ N(0, sigma_k^2)`` independent, ``F`` the standard normal (probit) or logistic CDF.

The random effects are integrated out by the Laplace approximation, the method of R's
``ordinal::clmm`` (its default, ``nAGQ = 1``): for given parameters the mode of the random
effects is found by Newton's method in the spherical parametrisation ``b = Lambda u``, and

``-2 log L ~= -2 [sum_i log p_i(eta_hat) - |u_hat|^2 / 2] + log|Lambda Z'WZ Lambda + I|``

with ``W`` the negative second derivatives of the per-rating log-probabilities. The Newton
system has the same block structure as the linear mixed model (a diagonal block per factor and
dense cross blocks), so it is solved the same way: the factor with most levels is eliminated
first and the rest factorised densely. The outer optimisation over thresholds (as the first
threshold and log-increments, so they stay ordered), fixed effects and ``theta = sigma_k``
(>= 0) is L-BFGS-B, with a check that a standard deviation ending at zero is a minimum and
not a saddle (:mod:`riskeval.variation._boundary`); standard errors come from the observed
information (a finite-difference Hessian of the Laplace deviance), as in ``clmm``.

Why Laplace rather than a Gibbs sampler: it matches the established tool (``clmm``) exactly,
so validation is a direct comparison; it is deterministic; and for vignette studies -- where
every case is rated by many officers and every officer rates many cases -- the conditional
distribution of each random effect is close to normal, which is where Laplace is accurate.
With few ratings per level (say fewer than five) it can understate variance components; a
note says so.

References
----------
Christensen, R. H. B. (2019). Cumulative link models for ordinal regression with the R package
ordinal. https://cran.r-project.org/package=ordinal

Agresti, A. (2010). *Analysis of Ordinal Categorical Data* (2nd ed.), ch. 10. Wiley.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, special, stats

from ._boundary import minimize_nonneg


def _cdf_pdf(x: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F(x), f(x) and f'(x) for the link."""
    if link == "probit":
        f = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return special.ndtr(x), f, -x * f
    F = special.expit(x)
    f = F * (1 - F)
    return F, f, f * (1 - 2 * F)


@dataclass(frozen=True)
class Design:
    y: np.ndarray                 # 0-based levels
    X: np.ndarray                 # fixed effects, no intercept (n x p)
    codes: list[np.ndarray]
    levels: list[int]
    n_cat: int


class Laplace:
    """The Laplace-approximated deviance of the cumulative link mixed model."""

    def __init__(self, d: Design, link: str) -> None:
        self.d = d
        self.link = link
        self.k = len(d.codes)
        self.big = int(np.argmax(d.levels))
        self.rest = [j for j in range(self.k) if j != self.big]
        self.offsets = np.concatenate([[0], np.cumsum([d.levels[j] for j in self.rest])])
        self.u = np.zeros(sum(d.levels))
        self.starts = np.concatenate([[0], np.cumsum(d.levels)])

    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        j = self.d.n_cat - 1
        tau = params[0] + np.concatenate([[0.0], np.cumsum(np.exp(params[1:j]))])
        beta = params[j:j + self.d.X.shape[1]]
        theta = np.abs(params[j + self.d.X.shape[1]:])
        return tau, beta, theta

    def _probs(self, eta: np.ndarray, tau: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """log p_i, first and (negative) second derivative of log p_i wrt eta."""
        y = self.d.y
        ext = np.concatenate([[-np.inf], tau, [np.inf]])
        a, c = ext[y + 1] - eta, ext[y] - eta
        Fa, fa, dfa = _cdf_pdf(np.where(np.isinf(a), 0.0, a), self.link)
        Fc, fc, dfc = _cdf_pdf(np.where(np.isinf(c), 0.0, c), self.link)
        top, bottom = np.isinf(a), np.isinf(c)
        Fa, fa, dfa = np.where(top, 1.0, Fa), np.where(top, 0.0, fa), np.where(top, 0.0, dfa)
        Fc, fc, dfc = (np.where(bottom, 0.0, Fc), np.where(bottom, 0.0, fc),
                       np.where(bottom, 0.0, dfc))
        # in the upper tail use the survival functions (F(-c) - F(-a)) to keep precision
        upper = (~bottom) & (c > 0)
        if upper.any():
            sa = np.where(top[upper], 0.0, _cdf_pdf(-np.where(top, 0.0, a)[upper], self.link)[0])
            sc = _cdf_pdf(-c[upper], self.link)[0]
            Fa_minus_Fc = Fa - Fc
            Fa_minus_Fc[upper] = sc - sa
        else:
            Fa_minus_Fc = Fa - Fc
        p = np.maximum(Fa_minus_Fc, 1e-300)
        g = -(fa - fc) / p
        w = -((dfa - dfc) / p - g * g)
        return np.log(p), g, np.clip(w, 1e-12, 1e8)

    def _blocks(self, w: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
        """``M = Lambda Z'WZ Lambda + I`` split as diag (big factor), cross, dense rest."""
        d = self.d
        diag = [np.bincount(c, weights=w, minlength=q) for c, q in zip(d.codes, d.levels,
                                                                          strict=True)]
        tb = theta[self.big]
        d_b = tb * tb * diag[self.big] + 1.0
        q_r = int(self.offsets[-1])
        m_br = np.zeros((d.levels[self.big], q_r))
        m_rr = np.zeros((q_r, q_r))
        for a_i, j in enumerate(self.rest):
            sa = slice(self.offsets[a_i], self.offsets[a_i + 1])
            cb = np.bincount(d.codes[self.big] * d.levels[j] + d.codes[j], weights=w,
                             minlength=d.levels[self.big] * d.levels[j])
            m_br[:, sa] = tb * theta[j] * cb.reshape(d.levels[self.big], d.levels[j])
            m_rr[sa, sa] = np.diag(theta[j] ** 2 * diag[j] + 1.0)
            for b_i, m in enumerate(self.rest):
                if b_i > a_i:
                    sb = slice(self.offsets[b_i], self.offsets[b_i + 1])
                    cr = np.bincount(d.codes[j] * d.levels[m] + d.codes[m], weights=w,
                                     minlength=d.levels[j] * d.levels[m])
                    blk = theta[j] * theta[m] * cr.reshape(d.levels[j], d.levels[m])
                    m_rr[sa, sb] = blk
                    m_rr[sb, sa] = blk.T
        return d_b, m_br, m_rr

    def _stack(self, per_factor: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([per_factor[self.big]] + [per_factor[j] for j in self.rest])

    def _unstack(self, u: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = [np.zeros(0)] * self.k
        qb = self.d.levels[self.big]
        out[self.big] = u[:qb]
        for a_i, j in enumerate(self.rest):
            out[j] = u[qb + self.offsets[a_i]: qb + self.offsets[a_i + 1]]
        return out

    def deviance(self, params: np.ndarray, tol: float = 1e-10) -> float:
        """Laplace deviance at ``params``; a huge finite value where it cannot be computed."""
        if not np.all(np.isfinite(params)) or np.max(np.abs(params)) > 50:
            return 1e12
        try:
            with np.errstate(over="raise", invalid="raise", divide="ignore"):
                value = self._deviance(params, tol)
        except (FloatingPointError, np.linalg.LinAlgError, ValueError):
            self.u = np.zeros_like(self.u)
            return 1e12
        return value if np.isfinite(value) else 1e12

    def _deviance(self, params: np.ndarray, tol: float) -> float:
        tau, beta, theta = self.split(params)
        d = self.d
        fixed = d.X @ beta if d.X.shape[1] else np.zeros(len(d.y))
        u = self.u.copy()
        logdet = 0.0
        for _ in range(100):
            parts = self._unstack(u)
            eta = fixed + sum(theta[k] * parts[k][d.codes[k]] for k in range(self.k))
            logp, g, w = self._probs(eta, tau)
            obj = float(logp.sum() - 0.5 * u @ u)
            grad = self._stack([theta[k] * np.bincount(d.codes[k], weights=g,
                                                       minlength=d.levels[k])
                                for k in range(self.k)]) - u
            d_b, m_br, m_rr = self._blocks(w, theta)
            qb = len(d_b)
            if self.rest:
                schur = m_rr - m_br.T @ (m_br / d_b[:, None])
                chol = linalg.cho_factor(schur, lower=True, check_finite=False)
                rb, rr = grad[:qb], grad[qb:]
                vr = linalg.cho_solve(chol, rr - m_br.T @ (rb / d_b), check_finite=False)
                vb = (rb - m_br @ vr) / d_b
                step = np.concatenate([vb, vr])
                logdet = float(np.log(d_b).sum() + 2 * np.log(np.diag(chol[0])).sum())
            else:
                step = grad / d_b
                logdet = float(np.log(d_b).sum())
            # Newton with step halving (the objective is concave in u)
            t = 1.0
            for _ in range(30):
                cand = u + t * step
                parts = self._unstack(cand)
                eta_c = fixed + sum(theta[k] * parts[k][d.codes[k]] for k in range(self.k))
                obj_c = float(self._probs(eta_c, tau)[0].sum() - 0.5 * cand @ cand)
                if obj_c >= obj - 1e-12:
                    break
                t /= 2
            u = cand
            if float(np.max(np.abs(t * step))) < tol:
                break
        parts = self._unstack(u)
        eta = fixed + sum(theta[k] * parts[k][d.codes[k]] for k in range(self.k))
        logp, _, w = self._probs(eta, tau)
        d_b, m_br, m_rr = self._blocks(w, theta)
        if self.rest:
            schur = m_rr - m_br.T @ (m_br / d_b[:, None])
            logdet = float(np.log(d_b).sum()
                           + 2 * np.log(np.diag(linalg.cholesky(schur, lower=True))).sum())
        else:
            logdet = float(np.log(d_b).sum())
        self.u = u
        return float(-2.0 * (logp.sum() - 0.5 * u @ u) + logdet)

    def modes(self, params: np.ndarray) -> list[np.ndarray]:
        """Conditional modes of the random effects (on the latent scale) at ``params``."""
        self.deviance(params)
        _, _, theta = self.split(params)
        return [theta[k] * part for k, part in enumerate(self._unstack(self.u))]


@dataclass(frozen=True)
class OrdinalOptimum:
    params: np.ndarray
    deviance: float
    cov: np.ndarray           # of (thresholds, beta, sigma)
    converged: bool
    message: str


def fit(d: Design, link: str, start_sd: float = 0.5) -> OrdinalOptimum:
    """Maximise the Laplace likelihood; covariance from the observed information.

    ``start_sd`` is the starting value of every random-effect SD (inside the parameter
    space by default; zero is allowed, and the boundary check moves the fit off it).
    """
    lap = Laplace(d, link)
    j = d.n_cat - 1
    counts = np.bincount(d.y, minlength=d.n_cat).astype(float)
    cum = np.cumsum(counts)[:-1] / counts.sum()
    inv = stats.norm.ppf if link == "probit" else special.logit
    tau0 = inv(np.clip(cum, 1e-4, 1 - 1e-4))
    x0 = np.concatenate([[tau0[0]], np.log(np.maximum(np.diff(tau0), 1e-3)),
                         np.zeros(d.X.shape[1]), np.full(lap.k, float(start_sd))])
    bounds = [(None, None)] * (j + d.X.shape[1]) + [(0.0, None)] * lap.k
    # the Laplace deviance is even in each sigma, so a zero is checked off the bound
    res = minimize_nonneg(lap.deviance, x0, bounds, jac=False,
                          options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 2000, "eps": 1e-6})
    # natural parameters (thresholds, beta, sigma) and the Hessian of the deviance there
    tau, beta, theta = lap.split(res.x)
    nat = np.concatenate([tau, beta, theta])

    def dev_nat(v: np.ndarray) -> float:
        t = v[:j]
        if np.any(np.diff(t) <= 0):
            return np.inf
        par = np.concatenate([[t[0]], np.log(np.diff(t)), v[j:]])
        return lap.deviance(par)

    hess = _hessian(dev_nat, nat)
    try:
        cov = 2.0 * np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.full_like(hess, np.nan)
    lap.deviance(res.x)
    return OrdinalOptimum(res.x, float(res.fun), cov, bool(res.success), str(res.message))


def _hessian(f, x: np.ndarray) -> np.ndarray:
    """Central finite-difference Hessian (step scaled to each coordinate)."""
    k = len(x)
    h = 1e-4 * np.maximum(np.abs(x), 0.1)
    out = np.zeros((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        out[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for m in range(i + 1, k):
            em = np.zeros(k)
            em[m] = h[m]
            val = (f(x + ei + em) - f(x + ei - em) - f(x - ei + em) + f(x - ei - em)) / (
                4 * h[i] * h[m])
            out[i, m] = out[m, i] = val
    return out
