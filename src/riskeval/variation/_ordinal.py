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

Correlated random slopes (:class:`LaplaceSlopes`, :func:`fit_slopes`): a factor may carry,
besides its intercept, slopes on numeric covariates, ``b_k[g]' z_ik`` with
``b_k[g] = L_k u_k[g]``, ``u ~ N(0, I)`` and ``L_k`` lower triangular (the Cholesky
parametrisation of lme4 and ``clmm``: the covariance ``L_k L_k'`` stays positive
semi-definite and the deviance is even in each diagonal entry, which is bounded at zero).
The Newton system then has an ``r x r`` block per level instead of a scalar; the factor with
most random effects is eliminated block by block and the rest factorised densely. The
intercept-only path (:class:`Laplace`, :func:`fit`) is kept as it was, so fits without slopes
give the same numbers. Standard errors of SDs and correlations come from the observed
information in those natural parameters; a parameter on the boundary (SD 0, correlation +-1)
is held fixed there and has none.

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

Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *Journal of Statistical Software*, 67(1), 1-48.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, special, stats
from threadpoolctl import threadpool_limits

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


class _Guarded:
    """The deviance an optimiser sees: a huge finite value where the Laplace deviance cannot
    be computed (overflow, a failed factorisation), so that a line search steps back."""

    u: np.ndarray

    def _deviance(self, params: np.ndarray, tol: float) -> float:
        raise NotImplementedError  # pragma: no cover - each model defines it

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


class Laplace(_Guarded):
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


def observed_cov(dev_nat, nat: np.ndarray, free: np.ndarray) -> np.ndarray:
    """The covariance of the natural parameters from the observed information: twice the
    inverse of the finite-difference Hessian of the deviance over the ``free`` coordinates
    (``dev_nat`` takes their values); NaN for the others (held on a boundary) and wherever
    the Hessian is not finite or not invertible."""
    hess = _hessian(dev_nat, nat[free])
    cov = np.full((len(nat), len(nat)), np.nan)
    try:
        if np.all(np.isfinite(hess)):
            cov[np.ix_(free, free)] = 2.0 * np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        pass
    return cov


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


# --- correlated random slopes -----------------------------------------------------------------
#
# A factor ``k`` with ``r_k`` terms (an intercept and ``r_k - 1`` slopes) contributes
# ``z_ik' L_k u_k[g]`` to rating ``i`` in its level ``g``, where ``z_ik = (1, x_i1, ...)``,
# ``u_k[g] ~ N(0, I)`` and ``L_k`` is lower triangular with ``L_k L_k'`` the covariance of the
# level's (intercept, slope ...) effects: the Cholesky parametrisation of lme4 and clmm. With
# ``zt_ik = L_k' z_ik`` the Hessian of the penalised log-likelihood in ``u`` is
# ``I + sum_i w_i zt_i zt_i'``: an ``r_k x r_k`` block per level of each factor and dense cross
# blocks between factors. The factor with most random effects is eliminated block by block
# (batched ``r x r`` Cholesky), the rest is factorised densely, as in the intercept-only case.


#: Size of the dense (Schur) block below which BLAS runs single-threaded (synchronising
#: threads costs more than the arithmetic on smaller blocks; the linear mixed model uses the
#: same bound).
SMALL_DENSE = 600


@dataclass(frozen=True)
class SlopeDesign:
    y: np.ndarray                 # 0-based levels
    X: np.ndarray                 # fixed effects, no intercept (n x p)
    codes: list[np.ndarray]
    levels: list[int]
    n_cat: int
    Z: list[np.ndarray]           # per factor: n x r_k terms (first column ones)


def n_theta(r: int) -> int:
    """Free entries of an ``r x r`` lower-triangular factor."""
    return r * (r + 1) // 2


def tril_index(r: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each free entry of ``L`` (row-major: L11, L21, L22, L31, ...)."""
    return np.tril_indices(r)


class LaplaceSlopes(_Guarded):
    """The Laplace-approximated deviance with correlated random slopes (see above)."""

    def __init__(self, d: SlopeDesign, link: str) -> None:
        self.d = d
        self.link = link
        self.k = len(d.codes)
        self.r = [z.shape[1] for z in d.Z]
        self.dim = [q * r for q, r in zip(d.levels, self.r, strict=True)]
        self.big = int(np.argmax(self.dim))
        self.rest = [j for j in range(self.k) if j != self.big]
        self.offsets = np.concatenate([[0], np.cumsum([self.dim[j] for j in self.rest])])
        self.u = np.zeros(sum(self.dim))
        self.n_theta = [n_theta(r) for r in self.r]
        self._probs = Laplace._probs.__get__(self)

    # parameters ------------------------------------------------------------------------
    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        j = self.d.n_cat - 1
        p = self.d.X.shape[1]
        tau = params[0] + np.concatenate([[0.0], np.cumsum(np.exp(params[1:j]))])
        beta = params[j:j + p]
        out, at = [], j + p
        for r, m in zip(self.r, self.n_theta, strict=True):
            lam = np.zeros((r, r))
            lam[tril_index(r)] = params[at:at + m]
            out.append(lam)
            at += m
        return tau, beta, out

    def diag_coords(self) -> list[int]:
        """Positions in ``params`` of the diagonal of every ``L_k`` (bounded below by 0)."""
        at = self.d.n_cat - 1 + self.d.X.shape[1]
        out = []
        for r, m in zip(self.r, self.n_theta, strict=True):
            rows, cols = tril_index(r)
            out += [at + i for i in range(m) if rows[i] == cols[i]]
            at += m
        return out

    # pieces ------------------------------------------------------------------------------
    def _zt(self, lams: list[np.ndarray]) -> list[np.ndarray]:
        return [z @ lam for z, lam in zip(self.d.Z, lams, strict=True)]   # rows z' L

    def _eta(self, fixed: np.ndarray, zt: list[np.ndarray], u: np.ndarray) -> np.ndarray:
        eta = fixed.copy()
        for k, part in enumerate(self._unstack(u)):
            eta += np.einsum("ij,ij->i", zt[k], part[self.d.codes[k]])
        return eta

    def _unstack(self, u: np.ndarray) -> list[np.ndarray]:
        """Per factor, a ``q_k x r_k`` array of spherical effects."""
        out: list[np.ndarray] = [np.zeros((0, 0))] * self.k
        nb = self.dim[self.big]
        out[self.big] = u[:nb].reshape(self.d.levels[self.big], self.r[self.big])
        for a_i, j in enumerate(self.rest):
            out[j] = u[nb + self.offsets[a_i]: nb + self.offsets[a_i + 1]].reshape(
                self.d.levels[j], self.r[j])
        return out

    def _stack(self, per_factor: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([per_factor[self.big].ravel()]
                              + [per_factor[j].ravel() for j in self.rest])

    def _gradient(self, g: np.ndarray, zt: list[np.ndarray], u: np.ndarray) -> np.ndarray:
        d = self.d
        parts = [np.stack([np.bincount(d.codes[k], weights=g * zt[k][:, a],
                                       minlength=d.levels[k]) for a in range(self.r[k])],
                          axis=1) for k in range(self.k)]
        return self._stack(parts) - u

    def _diag(self, k: int, w: np.ndarray, zt: list[np.ndarray]) -> np.ndarray:
        """``q_k x r_k x r_k`` diagonal blocks (identity added)."""
        d, r = self.d, self.r[k]
        out = np.empty((d.levels[k], r, r))
        for a in range(r):
            for b in range(a, r):
                v = np.bincount(d.codes[k], weights=w * zt[k][:, a] * zt[k][:, b],
                                minlength=d.levels[k])
                out[:, a, b] = v
                out[:, b, a] = v
        out += np.eye(r)
        return out

    def _cross(self, k: int, m: int, w: np.ndarray, zt: list[np.ndarray]) -> np.ndarray:
        """The ``(q_k r_k) x (q_m r_m)`` block between factors ``k`` and ``m``."""
        d = self.d
        qk, qm, rk, rm = d.levels[k], d.levels[m], self.r[k], self.r[m]
        idx = d.codes[k] * qm + d.codes[m]
        out = np.empty((qk, rk, qm, rm))
        for a in range(rk):
            for b in range(rm):
                out[:, a, :, b] = np.bincount(idx, weights=w * zt[k][:, a] * zt[m][:, b],
                                              minlength=qk * qm).reshape(qk, qm)
        return out.reshape(qk * rk, qm * rm)

    def _factor(self, w: np.ndarray, zt: list[np.ndarray]):
        """Cholesky pieces of ``M = I + Lambda' Z' W Z Lambda`` and ``log|M|``."""
        big = self.big
        chol_b = np.linalg.cholesky(self._diag(big, w, zt))        # q_b x r x r
        logdet = 2.0 * float(np.log(np.diagonal(chol_b, axis1=1, axis2=2)).sum())
        if not self.rest:
            return chol_b, None, None, logdet
        nr = int(self.offsets[-1])
        m_br = np.empty((self.dim[big], nr))
        m_rr = np.zeros((nr, nr))
        for a_i, j in enumerate(self.rest):
            sa = slice(self.offsets[a_i], self.offsets[a_i + 1])
            m_br[:, sa] = self._cross(big, j, w, zt)
            blocks = self._diag(j, w, zt)
            m_rr[sa, sa] = _block_diag(blocks)
            for b_i, m in enumerate(self.rest):
                if b_i > a_i:
                    sb = slice(self.offsets[b_i], self.offsets[b_i + 1])
                    blk = self._cross(j, m, w, zt)
                    m_rr[sa, sb] = blk
                    m_rr[sb, sa] = blk.T
        # solve the big factor's blocks against the cross block: C_b^-1 M_br, block by block
        qb, rb = self.d.levels[big], self.r[big]
        half = _batched_lower_solve(chol_b, m_br.reshape(qb, rb, nr)).reshape(qb * rb, nr)
        schur = m_rr - half.T @ half
        chol_r = linalg.cholesky(schur, lower=True, check_finite=False)
        logdet += 2.0 * float(np.log(np.diag(chol_r)).sum())
        return chol_b, half, chol_r, logdet

    def _solve(self, pieces, rhs: np.ndarray) -> np.ndarray:
        chol_b, half, chol_r, _ = pieces
        qb, rb = self.d.levels[self.big], self.r[self.big]
        nb = qb * rb
        # forward: L_b y_b = r_b ; L_r y_r = r_r - H' y_b ; back: L_r' v_r = y_r ;
        # L_b' v_b = y_b - H v_r
        yb = _batched_lower_solve(chol_b, rhs[:nb].reshape(qb, rb, 1)).reshape(nb)
        if chol_r is None:
            return _batched_upper_solve(chol_b, yb.reshape(qb, rb, 1)).reshape(nb)
        yr = linalg.solve_triangular(chol_r, rhs[nb:] - half.T @ yb, lower=True,
                                     check_finite=False)
        vr = linalg.solve_triangular(chol_r, yr, lower=True, trans="T", check_finite=False)
        vb = _batched_upper_solve(chol_b, (yb - half @ vr).reshape(qb, rb, 1)).reshape(nb)
        return np.concatenate([vb, vr])

    # the deviance ------------------------------------------------------------------------
    def _deviance(self, params: np.ndarray, tol: float) -> float:
        tau, beta, lams = self.split(params)
        d = self.d
        fixed = d.X @ beta if d.X.shape[1] else np.zeros(len(d.y))
        zt = self._zt(lams)
        u = self.u.copy()
        for _ in range(100):
            logp, g, w = self._probs(self._eta(fixed, zt, u), tau)
            obj = float(logp.sum() - 0.5 * u @ u)
            pieces = self._factor(w, zt)
            step = self._solve(pieces, self._gradient(g, zt, u))
            if float(np.max(np.abs(step), initial=0.0)) < tol:
                # at the mode (to within ``tol``; the objective is flat there to second
                # order): this factorisation is the one the deviance needs
                self.u = u
                return float(-2.0 * obj + pieces[3])
            t = 1.0
            for _ in range(30):   # Newton with step halving (concave in u)
                cand = u + t * step
                obj_c = float(self._probs(self._eta(fixed, zt, cand), tau)[0].sum()
                              - 0.5 * cand @ cand)
                if obj_c >= obj - 1e-12:
                    break
                t /= 2
            u = cand
            if float(np.max(np.abs(t * step), initial=0.0)) < tol:
                break
        logp, _, w = self._probs(self._eta(fixed, zt, u), tau)
        logdet = self._factor(w, zt)[3]
        self.u = u
        return float(-2.0 * (logp.sum() - 0.5 * u @ u) + logdet)

    def modes(self, params: np.ndarray) -> list[np.ndarray]:
        """Conditional modes ``b = L u`` per factor (``q_k x r_k``, latent scale)."""
        self.deviance(params)
        _, _, lams = self.split(params)
        return [part @ lam.T for part, lam in zip(self._unstack(self.u), lams, strict=True)]


def _block_diag(blocks: np.ndarray) -> np.ndarray:
    q, r, _ = blocks.shape
    out = np.zeros((q, r, q, r))
    idx = np.arange(q)
    out[idx, :, idx, :] = blocks
    return out.reshape(q * r, q * r)


def _batched_lower_solve(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``L_g x_g = b_g`` for every level ``g`` (``chol`` is ``q x r x r`` lower)."""
    r = chol.shape[1]
    if r == 1:
        return rhs / chol
    x = np.empty_like(rhs)
    for a in range(r):
        x[:, a] = (rhs[:, a] - np.einsum("qb,qbn->qn", chol[:, a, :a], x[:, :a])
                   ) / chol[:, a, a, None]
    return x


def _batched_upper_solve(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``L_g' x_g = b_g`` for every level ``g``."""
    r = chol.shape[1]
    if r == 1:
        return rhs / chol
    x = np.empty_like(rhs)
    for a in range(r - 1, -1, -1):
        x[:, a] = (rhs[:, a] - np.einsum("qb,qbn->qn", chol[:, a + 1:, a], x[:, a + 1:])
                   ) / chol[:, a, a, None]
    return x


def natural_to_lambda(sds: np.ndarray, cors: np.ndarray) -> np.ndarray | None:
    """``L`` with ``L L' = D R D`` (SDs ``D``, correlations below the diagonal of ``R`` in
    row-major order); None when that matrix is not positive semi-definite."""
    r = len(sds)
    corr = np.eye(r)
    rows, cols = np.tril_indices(r, -1)
    corr[rows, cols] = cors
    corr[cols, rows] = cors
    cov = corr * np.outer(sds, sds)
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        # semi-definite (a zero SD or a correlation of +-1): pivot-free LDL-style fallback
        vals, vecs = np.linalg.eigh(cov)
        if vals.min() < -1e-12 * max(1.0, vals.max()):
            return None
        _, lam = linalg.qr((vecs * np.sqrt(np.clip(vals, 0, None))).T)
        lam = lam.T
        return lam * np.where(np.diag(lam) < 0, -1.0, 1.0)


def lambda_to_natural(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SDs and correlations (row-major below the diagonal) of ``L L'``."""
    cov = lam @ lam.T
    sds = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sds, sds)
    rows, cols = np.tril_indices(len(sds), -1)
    return sds, corr[rows, cols]


def fit_slopes(d: SlopeDesign, link: str, start: np.ndarray | None = None
               ) -> tuple[OrdinalOptimum, LaplaceSlopes, np.ndarray]:
    """Maximise the Laplace likelihood with random slopes.

    Returns the optimum (``params`` in the optimiser's coordinates; ``cov`` over the natural
    parameters: thresholds, beta, then per factor its SDs and correlations, NaN where a
    parameter sits on the boundary), the kernel, and the natural parameters.
    """
    lap = LaplaceSlopes(d, link)
    j = d.n_cat - 1
    p = d.X.shape[1]
    if start is None:
        counts = np.bincount(d.y, minlength=d.n_cat).astype(float)
        cum = np.cumsum(counts)[:-1] / counts.sum()
        inv = stats.norm.ppf if link == "probit" else special.logit
        tau0 = inv(np.clip(cum, 1e-4, 1 - 1e-4))
        thetas = []
        for z in d.Z:
            spread = np.concatenate([[1.0], z[:, 1:].std(axis=0)]) if z.shape[1] > 1 else [1.0]
            thetas.append(np.diag(0.5 / np.asarray(spread))[tril_index(z.shape[1])])
        start = np.concatenate([[tau0[0]], np.log(np.maximum(np.diff(tau0), 1e-3)),
                                np.zeros(p), *thetas])
    diag = set(lap.diag_coords())
    bounds = [(0.0, None) if i in diag else (None, None) for i in range(len(start))]
    # small dense factorisations are slower with several BLAS threads
    threads = None if int(lap.offsets[-1]) >= SMALL_DENSE else 1
    with threadpool_limits(limits=threads, user_api="blas"):
        return _fit_slopes(d, lap, start, bounds, j, p)


def _fit_slopes(d: SlopeDesign, lap: LaplaceSlopes, start: np.ndarray, bounds: list,
                j: int, p: int) -> tuple[OrdinalOptimum, LaplaceSlopes, np.ndarray]:
    res = minimize_nonneg(lap.deviance, start, bounds, jac=False,
                          options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 3000, "eps": 1e-6})
    tau, beta, lams = lap.split(res.x)
    nat_parts, boundary = [tau, beta], [np.zeros(j + p, bool)]
    shape = []
    for lam in lams:
        sds, cors = lambda_to_natural(lam)
        cors = np.nan_to_num(cors)
        nat_parts += [sds, cors]
        shape.append((len(sds), len(cors)))
        at_zero = sds <= 1e-5
        rows, cols = np.tril_indices(len(sds), -1)
        boundary += [at_zero, (np.abs(cors) >= 1 - 1e-5) | at_zero[rows] | at_zero[cols]]
    nat = np.concatenate(nat_parts)
    fixed_out = np.concatenate(boundary)
    free = np.flatnonzero(~fixed_out)

    def dev_nat(v_free: np.ndarray) -> float:
        v = nat.copy()
        v[free] = v_free
        t = v[:j]
        if np.any(np.diff(t) <= 0):
            return np.inf
        par = [[t[0]], np.log(np.diff(t)), v[j:j + p]]
        at = j + p
        for r, c in shape:
            lam = natural_to_lambda(v[at:at + r], v[at + r:at + r + c])
            if lam is None or np.any(v[at:at + r] < 0):
                return np.inf
            par.append(lam[tril_index(r)])
            at += r + c
        return lap.deviance(np.concatenate(par))

    cov = observed_cov(dev_nat, nat, free)
    lap.deviance(res.x)
    opt = OrdinalOptimum(res.x, float(res.fun), cov, bool(res.success), str(res.message))
    return opt, lap, nat
