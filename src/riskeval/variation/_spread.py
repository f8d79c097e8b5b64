"""Cumulative link mixed model with an officer-specific spread of the thresholds.

Model, for a rating in ordered levels ``0 .. K-1`` by officer ``j``:

``P(Y <= k) = F(c + exp(s_j) (tau_k - c) - eta)``, ``c = mean(tau_1 .. tau_{K-1})``,
``eta = x' beta + b_case + b_officer + b_office``, ``s_j ~ N(0, sigma_spread^2)``
independent of the location effects, ``F`` the probit or logit CDF.

An officer with ``s_j > 0`` places their thresholds further from the centre ``c`` and so uses
the middle levels more (central tendency, restriction of range); ``s_j < 0`` pulls the
thresholds together, towards extreme responding. The officer's location ``b_officer`` is the
location effect of :mod:`riskeval.variation._ordinal`. This is a location-scale cumulative
model (Hedeker, Demirtas & Mermelstein, 2009) with the random scale acting on the thresholds
around their centre, close to the rater criteria of DeCarlo, Kim & Johnson (2011).

Method. The random effects are integrated out by the Laplace approximation, as in
:class:`riskeval.variation._ordinal.Laplace`, in the spherical parametrisation
``b = sigma u``, ``u ~ N(0, I)``. Each officer now carries two effects, ``(u_loc, u_spread)``,
with ``eta`` linear in the first and the thresholds nonlinear (``exp``) in the second. Per
rating, with ``a_k = c + exp(s) (tau_k - c) - eta`` the two bounding arguments,
``d a_k / d eta = -1`` and ``d a_k / d s = d^2 a_k / d s^2 = exp(s) (tau_k - c)``, which give
the gradient and the exact 2 x 2 Hessian of ``log(F(a_y) - F(a_{y-1}))`` in ``(eta, s)``. The
penalised log-likelihood is not concave in ``s`` in general, so the inner Newton iteration
uses the exact Hessian when ``I - Hessian`` is positive definite and the expected (Fisher)
information otherwise, with step halving on the penalised log-likelihood. The Laplace
log-determinant uses the exact Hessian at the mode.

The Newton system ``M = I + sum_i J_i' W_i J_i`` (``J_i`` maps ``u`` to the rating's
``(eta, s)``, ``W_i`` the 2 x 2 negative Hessian) has a 1 x 1 block per case and office and a
2 x 2 block per officer, with dense cross blocks between factors; the factor with most random
effects is eliminated block by block and the rest factorised densely, by the routines of
:class:`~riskeval.variation._ordinal.LaplaceSlopes` (shared, not copied). With
``sigma_spread = 0`` the spread effects are zero at the mode and add nothing to the
determinant, so the deviance is that of :class:`~riskeval.variation._ordinal.Laplace`.

The outer optimisation (thresholds as the first and log-increments, fixed effects, SDs bounded
at zero, L-BFGS-B with the saddle check of :mod:`riskeval.variation._boundary`) and the
standard errors (a finite-difference Hessian of the Laplace deviance in the natural
parameters: thresholds, beta, SDs) follow :func:`riskeval.variation._ordinal.fit`; an SD at
zero is on the boundary, held fixed there, and has no standard error.

References
----------
Hedeker, D., Demirtas, H. & Mermelstein, R. J. (2009). A mixed ordinal location scale model
for analysis of Ecological Momentary Assessment (EMA) data. *Statistics and Its Interface*,
2, 391-401.

DeCarlo, L. T., Kim, Y. K. & Johnson, M. S. (2011). A hierarchical rater model for
constructed responses, with a signal detection rater model. *Journal of Educational
Measurement*, 48(3), 333-356.

Myford, C. M. & Wolfe, E. W. (2003, 2004). Detecting and measuring rater effects using
many-facet Rasch measurement, parts I and II. *Journal of Applied Measurement*, 4(4), 386-422;
5(2), 189-227.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats
from threadpoolctl import threadpool_limits

from ._boundary import minimize_nonneg
from ._ordinal import (
    SMALL_DENSE,
    Design,
    LaplaceSlopes,
    OrdinalOptimum,
    _cdf_pdf,
    _Guarded,
    observed_cov,
)

#: An SD at or below this is on the boundary (held at zero, no standard error).
AT_BOUNDARY = 1e-5


class LaplaceSpread(_Guarded):
    """The Laplace-approximated deviance with an officer-specific threshold spread.

    ``params`` are the first threshold, the log-increments of the others, ``beta``, one SD per
    factor of ``d`` (location effects) and last the SD of the spread ``s_j`` of the factor
    ``spread_factor`` (the officer).
    """

    # the block structure (a q x r x r diagonal per factor, dense cross blocks, the largest
    # factor eliminated first) is that of the random-slopes kernel; only the blocks differ
    _unstack = LaplaceSlopes._unstack
    _stack = LaplaceSlopes._stack
    _factor = LaplaceSlopes._factor
    _solve = LaplaceSlopes._solve

    def __init__(self, d: Design, link: str, spread_factor: int = 1) -> None:
        if d.n_cat < 3:
            raise ValueError("a threshold spread needs at least 3 levels (2 thresholds)")
        self.d = d
        self.link = link
        self.k = len(d.codes)
        self.sf = spread_factor
        self.r = [2 if k == spread_factor else 1 for k in range(self.k)]
        # channel of each term: 0 the location eta, 1 the spread s
        self.channel = [[0, 1] if k == spread_factor else [0] for k in range(self.k)]
        self.dim = [q * r for q, r in zip(d.levels, self.r, strict=True)]
        self.big = int(np.argmax(self.dim))
        self.rest = [j for j in range(self.k) if j != self.big]
        self.offsets = np.concatenate([[0], np.cumsum([self.dim[j] for j in self.rest])])
        self.u = np.zeros(sum(self.dim))

    # parameters ------------------------------------------------------------------------
    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Thresholds, ``beta``, location SDs (per factor) and the spread SD."""
        j = self.d.n_cat - 1
        p = self.d.X.shape[1]
        tau = params[0] + np.concatenate([[0.0], np.cumsum(np.exp(params[1:j]))])
        beta = params[j:j + p]
        theta = np.abs(params[j + p:j + p + self.k])
        return tau, beta, theta, float(abs(params[j + p + self.k]))

    def _scales(self, theta: np.ndarray, sig_s: float) -> list[np.ndarray]:
        """Per factor, the SD multiplying each of its terms."""
        return [np.array([theta[k], sig_s]) if k == self.sf else np.array([theta[k]])
                for k in range(self.k)]

    # the model per rating ----------------------------------------------------------------
    def _predictors(self, fixed: np.ndarray, scales: list[np.ndarray], u: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        eta = fixed.copy()
        s = np.zeros(len(fixed))
        for k, part in enumerate(self._unstack(u)):
            eta += scales[k][0] * part[self.d.codes[k], 0]
            if k == self.sf:
                s = scales[k][1] * part[self.d.codes[k], 1]
        return eta, s

    def _derivs(self, eta: np.ndarray, s: np.ndarray, tau: np.ndarray):
        """``log p_i``, its gradient ``(l_eta, l_s)`` and the negative Hessian
        ``(w_ee, w_es, w_ss)`` in ``(eta, s)``, per rating."""
        y, last = self.d.y, self.d.n_cat - 1
        dev = tau - tau.mean()
        es = np.exp(s)
        top, bottom = y == last, y == 0
        da = np.where(top, 0.0, es * dev[np.minimum(y, last - 1)])      # d a_y / d s
        db = np.where(bottom, 0.0, es * dev[np.maximum(y - 1, 0)])      # d a_{y-1} / d s
        a = np.where(top, 0.0, tau.mean() + da - eta)
        b = np.where(bottom, 0.0, tau.mean() + db - eta)
        Fa, fa, dfa = _cdf_pdf(a, self.link)
        Fb, fb, dfb = _cdf_pdf(b, self.link)
        Fa, fa, dfa = np.where(top, 1.0, Fa), np.where(top, 0.0, fa), np.where(top, 0.0, dfa)
        Fb, fb, dfb = (np.where(bottom, 0.0, Fb), np.where(bottom, 0.0, fb),
                       np.where(bottom, 0.0, dfb))
        p = Fa - Fb
        # in the upper tail use the survival functions (F(-b) - F(-a)) to keep precision
        upper = (~bottom) & (b > 0)
        if upper.any():
            sa = np.where(top[upper], 0.0, _cdf_pdf(-a[upper], self.link)[0])
            p[upper] = _cdf_pdf(-b[upper], self.link)[0] - sa
        p = np.maximum(p, 1e-300)
        g_e = -(fa - fb) / p
        g_s = (fa * da - fb * db) / p
        w_ee = np.clip(-((dfa - dfb) / p - g_e * g_e), 1e-12, 1e8)
        w_es = (dfa * da - dfb * db) / p + g_e * g_s
        w_ss = -((dfa * da * da + fa * da - dfb * db * db - fb * db) / p - g_s * g_s)
        return np.log(p), (g_e, g_s), (w_ee, w_es, w_ss)

    def _fisher(self, eta: np.ndarray, s: np.ndarray, tau: np.ndarray):
        """The expected information per rating in ``(eta, s)`` (positive semi-definite)."""
        dev = tau - tau.mean()
        es = np.exp(s)[:, None]
        F, f, _ = _cdf_pdf(tau.mean() + es * dev[None, :] - eta[:, None], self.link)
        n = len(eta)
        zero, one = np.zeros((n, 1)), np.ones((n, 1))
        F = np.hstack([zero, F, one])
        f = np.hstack([zero, f, zero])
        delta = np.hstack([zero, es * dev[None, :], zero])
        p = np.maximum(np.diff(F, axis=1), 1e-300)
        dp_e = -np.diff(f, axis=1)
        dp_s = np.diff(f * delta, axis=1)
        return ((dp_e * dp_e / p).sum(axis=1), (dp_e * dp_s / p).sum(axis=1),
                (dp_s * dp_s / p).sum(axis=1))

    # the Newton system, in the form the slopes kernel's routines take ------------------------
    @staticmethod
    def _w(w: tuple, a: int, b: int) -> np.ndarray:
        return w[a + b]   # (0, 0) -> w_ee, (0, 1) or (1, 0) -> w_es, (1, 1) -> w_ss

    def _diag(self, k: int, w: tuple, scales: list[np.ndarray]) -> np.ndarray:
        """``q_k x r_k x r_k`` diagonal blocks of ``M`` (identity added)."""
        d, r, ch = self.d, self.r[k], self.channel[k]
        out = np.empty((d.levels[k], r, r))
        for a in range(r):
            for b in range(a, r):
                v = np.bincount(d.codes[k], weights=self._w(w, ch[a], ch[b]),
                                minlength=d.levels[k]) * scales[k][a] * scales[k][b]
                out[:, a, b] = v
                out[:, b, a] = v
        out += np.eye(r)
        return out

    def _cross(self, k: int, m: int, w: tuple, scales: list[np.ndarray]) -> np.ndarray:
        """The ``(q_k r_k) x (q_m r_m)`` block of ``M`` between factors ``k`` and ``m``."""
        d = self.d
        qk, qm, rk, rm = d.levels[k], d.levels[m], self.r[k], self.r[m]
        idx = d.codes[k] * qm + d.codes[m]
        out = np.empty((qk, rk, qm, rm))
        for a in range(rk):
            for b in range(rm):
                out[:, a, :, b] = (np.bincount(idx, weights=self._w(w, self.channel[k][a],
                                                                    self.channel[m][b]),
                                               minlength=qk * qm).reshape(qk, qm)
                                   * scales[k][a] * scales[m][b])
        return out.reshape(qk * rk, qm * rm)

    def _gradient(self, g: tuple, scales: list[np.ndarray], u: np.ndarray) -> np.ndarray:
        d = self.d
        parts = [np.stack([np.bincount(d.codes[k], weights=g[self.channel[k][a]],
                                       minlength=d.levels[k]) * scales[k][a]
                           for a in range(self.r[k])], axis=1) for k in range(self.k)]
        return self._stack(parts) - u

    # the deviance ------------------------------------------------------------------------
    def _objective(self, fixed, scales, tau, u) -> float:
        eta, s = self._predictors(fixed, scales, u)
        return float(self._derivs(eta, s, tau)[0].sum() - 0.5 * u @ u)

    def _deviance(self, params: np.ndarray, tol: float) -> float:
        tau, beta, theta, sig_s = self.split(params)
        d = self.d
        fixed = d.X @ beta if d.X.shape[1] else np.zeros(len(d.y))
        scales = self._scales(theta, sig_s)
        zero = np.zeros_like(self.u)
        # the previous mode is the usual start, unless it is worse than no effects at all
        # (after a large move of the parameters, exp(s) can make it a very poor start)
        u = self.u.copy()
        if self._objective(fixed, scales, tau, zero) > self._objective(fixed, scales, tau, u):
            u = zero
        try:
            return self._newton(fixed, scales, tau, u, tol)
        except np.linalg.LinAlgError:
            if not u.any():
                raise
            return self._newton(fixed, scales, tau, zero, tol)

    def _newton(self, fixed: np.ndarray, scales: list[np.ndarray], tau: np.ndarray,
                u: np.ndarray, tol: float) -> float:
        """Find the mode from ``u``; the Laplace deviance there (raises ``LinAlgError`` when
        the point reached is not a local maximum)."""
        for _ in range(200):
            eta, s = self._predictors(fixed, scales, u)
            logp, g, w = self._derivs(eta, s, tau)
            obj = float(logp.sum() - 0.5 * u @ u)
            grad = self._gradient(g, scales, u)
            exact = True
            try:
                pieces = self._factor(w, scales)
                step = self._solve(pieces, grad)
            except np.linalg.LinAlgError:
                # not a concave neighbourhood: the expected information gives an ascent
                # direction (and failing that, in a numerically extreme region, the gradient)
                exact = False
                try:
                    step = self._solve(self._factor(self._fisher(eta, s, tau), scales), grad)
                except np.linalg.LinAlgError:
                    step = grad / max(1.0, float(np.max(np.abs(grad))))
            if exact and float(np.max(np.abs(step), initial=0.0)) < tol:
                # at the mode: this factorisation (exact Hessian) is the one the deviance needs
                self.u = u
                return float(-2.0 * obj + pieces[3])
            t = 1.0
            for _ in range(30):   # step halving on the penalised log-likelihood
                cand = u + t * step
                if self._objective(fixed, scales, tau, cand) >= obj - 1e-12:
                    break
                t /= 2
            u = cand
            if exact and float(np.max(np.abs(t * step), initial=0.0)) < tol:
                break
        eta, s = self._predictors(fixed, scales, u)
        logp, _, w = self._derivs(eta, s, tau)
        logdet = self._factor(w, scales)[3]   # raises unless a local maximum
        self.u = u
        return float(-2.0 * (logp.sum() - 0.5 * u @ u) + logdet)

    def penalised(self, params: np.ndarray, u: np.ndarray) -> float:
        """The penalised log-likelihood ``sum log p_i - |u|^2 / 2`` at ``u`` (for checks)."""
        tau, beta, theta, sig_s = self.split(params)
        fixed = self.d.X @ beta if self.d.X.shape[1] else np.zeros(len(self.d.y))
        return self._objective(fixed, self._scales(theta, sig_s), tau, u)

    def modes(self, params: np.ndarray) -> list[np.ndarray]:
        """Conditional modes per factor on the latent scale: ``q_k x 1`` location effects, and
        for the spread factor ``q x 2`` (location, log-spread ``s_j``)."""
        self.deviance(params)
        _, _, theta, sig_s = self.split(params)
        return [part * sc for part, sc in zip(self._unstack(self.u),
                                              self._scales(theta, sig_s), strict=True)]


def fit_spread(d: Design, link: str, spread_factor: int = 1, start_sd: float = 0.5
               ) -> tuple[OrdinalOptimum, LaplaceSpread, np.ndarray]:
    """Maximise the Laplace likelihood of the spread model.

    The search starts with the spread SD at zero, where the deviance is that of the
    intercepts model and even in the spread SD (its derivative is zero there): the first
    quasi-Newton run fits the intercepts model, then the saddle check of
    :func:`~riskeval.variation._boundary.minimize_nonneg` moves the spread SD off zero along
    its grid and restarts from the best point, if any lowers the deviance. So the optimum is
    never worse than the intercepts model's, and the spread is searched from a good start (a
    large first step in the spread from a poor start makes the inner modes hard to find).

    Returns the optimum (``params`` in the optimiser's coordinates; ``cov`` over the natural
    parameters: thresholds, beta, the location SDs per factor and the spread SD, NaN where an
    SD sits on the boundary), the kernel, and the natural parameters.
    """
    lap = LaplaceSpread(d, link, spread_factor)
    j = d.n_cat - 1
    p = d.X.shape[1]
    counts = np.bincount(d.y, minlength=d.n_cat).astype(float)
    cum = np.cumsum(counts)[:-1] / counts.sum()
    inv = stats.norm.ppf if link == "probit" else special.logit
    tau0 = inv(np.clip(cum, 1e-4, 1 - 1e-4))
    x0 = np.concatenate([[tau0[0]], np.log(np.maximum(np.diff(tau0), 1e-3)), np.zeros(p),
                         np.full(lap.k, float(start_sd)), [0.0]])
    bounds = [(None, None)] * (j + p) + [(0.0, None)] * (lap.k + 1)
    # small dense factorisations are slower with several BLAS threads
    threads = None if int(lap.offsets[-1]) >= SMALL_DENSE else 1
    with threadpool_limits(limits=threads, user_api="blas"):
        res = minimize_nonneg(lap.deviance, x0, bounds, jac=False,
                              options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 2000,
                                       "eps": 1e-6})
        tau, beta, theta, sig_s = lap.split(res.x)
        nat = np.concatenate([tau, beta, theta, [sig_s]])
        free = np.concatenate([np.arange(j + p),
                               j + p + np.flatnonzero(nat[j + p:] > AT_BOUNDARY)])

        def dev_nat(v_free: np.ndarray) -> float:
            v = nat.copy()
            v[free] = v_free
            t = v[:j]
            if np.any(np.diff(t) <= 0) or np.any(v[j + p:] < 0):
                return np.inf
            return lap.deviance(np.concatenate([[t[0]], np.log(np.diff(t)), v[j:]]))

        cov = observed_cov(dev_nat, nat, free)
        lap.deviance(res.x)
    opt = OrdinalOptimum(res.x, float(res.fun), cov, bool(res.success), str(res.message))
    return opt, lap, nat
