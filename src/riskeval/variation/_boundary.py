"""Bounded minimisation that does not stop on the saddle at a zero variance component.

A variance component enters the likelihood through its standard deviation ``theta_k >= 0``,
and the (RE)ML deviance is an even function of ``theta_k``: at ``theta_k = 0`` its derivative
in that direction vanishes whatever the data. A gradient method that reaches the bound (a
bounded quasi-Newton step overshooting to zero is common on small, discrete data) sees a zero
projected gradient there and reports convergence, although the deviance may fall again as the
component moves away from zero -- the point is then a saddle, not a minimum.

:func:`minimize_nonneg` guards against this. After each quasi-Newton run, every bounded
coordinate that sits at zero is moved off it along a fixed grid of values spanning small
(a finite-difference look at the second derivative in that direction) to large (a second
basin away from zero), one coordinate at a time and then all of them together. If any move
lowers the deviance the optimiser restarts from the best point; otherwise the zero is a
minimum in every direction the grid probes and is kept. The grid is deterministic, so the
fit stays reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize

#: Values (on the scale of the coordinate: a relative or latent SD) tried for a coordinate
#: found at zero. The smallest probes the curvature at zero, the largest a separate basin.
ESCAPE_GRID = (1e-3, 1e-2, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 1.5, 2.5)

#: A coordinate at or below this value counts as sitting on the bound.
AT_ZERO = 1e-6

#: Restarts allowed after an escape (each is a full quasi-Newton run).
MAX_RESTARTS = 4


def improvement_tol(value: float) -> float:
    """Smallest decrease of the deviance treated as real (not rounding)."""
    return 1e-9 * max(1.0, abs(value))


def escape_zero(fun: Callable[[np.ndarray], float], x: np.ndarray, coords: Sequence[int],
                value: float | None = None) -> tuple[np.ndarray, float] | None:
    """A point with a lower ``fun`` reached by moving coordinates that sit at zero.

    Parameters
    ----------
    fun : callable
        The objective (values only).
    x : ndarray
        The current point.
    coords : sequence of int
        Indices of coordinates bounded below by zero.
    value : float, optional
        ``fun(x)`` if already known.

    Returns
    -------
    (point, value) or None
        The best point found and its value, or None when no move lowers ``fun``.
    """
    x = np.asarray(x, dtype=float)
    at_zero = [k for k in coords if x[k] <= AT_ZERO]
    if not at_zero:
        return None
    f0 = float(fun(x)) if value is None else float(value)
    best_x, best_f = None, f0 - improvement_tol(f0)
    moves = [[k] for k in at_zero] + ([at_zero] if len(at_zero) > 1 else [])
    for group in moves:
        for v in ESCAPE_GRID:
            cand = x.copy()
            cand[group] = v
            fv = float(fun(cand))
            if np.isfinite(fv) and fv < best_f:
                best_x, best_f = cand, fv
    return None if best_x is None else (best_x, best_f)


def minimize_nonneg(fun: Callable, x0: np.ndarray, bounds: Sequence[tuple[float | None,
                                                                          float | None]],
                    *, jac: bool, options: dict | None = None,
                    settle: tuple[float, float] | None = None) -> optimize.OptimizeResult:
    """L-BFGS-B that leaves a saddle at zero of any coordinate bounded below by zero.

    Parameters
    ----------
    fun : callable
        The objective; returns ``(value, gradient)`` when ``jac`` is true, else the value.
    x0 : ndarray
        Start (inside the bounds).
    bounds : sequence of (low, high)
        As for :func:`scipy.optimize.minimize`; coordinates with ``low == 0`` and
        ``high`` None or positive are checked at zero.
    jac : bool
        Whether ``fun`` returns its gradient.
    options : dict, optional
        Passed to L-BFGS-B.
    settle : (step, gradient), optional
        With ``jac``: end a quasi-Newton run, at its best point, when it asks for a point
        within ``step`` (relative to ``max(|x|, 1)``, every coordinate) of the best point so
        far while the best point's projected gradient is below ``gradient``. Moves that small
        change the objective by less than its rounding error, so a line search there only
        samples noise; L-BFGS-B would try up to 20 of them, twice, before giving up. The
        run's message then starts with ``"settled"``.

    Returns
    -------
    scipy.optimize.OptimizeResult
        The best run; ``nit`` counts the restarts made after an escape in ``n_escapes``.
    """
    coords = [k for k, (lo, hi) in enumerate(bounds)
              if lo is not None and lo == 0 and (hi is None or hi > 0)]

    def value(t: np.ndarray) -> float:
        out = fun(t)
        return float(out[0] if jac else out)

    def run(start: np.ndarray) -> optimize.OptimizeResult:
        if settle is None or not jac:
            return optimize.minimize(fun, start, jac=jac, method="L-BFGS-B", bounds=bounds,
                                     options=options)
        watch = _Watch(fun, bounds, *settle)
        try:
            return optimize.minimize(watch, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                     options=options)
        except _Settled:
            return watch.result()

    best = run(x0)
    escapes = 0
    for _ in range(MAX_RESTARTS):
        found = escape_zero(value, best.x, coords, float(best.fun))
        if found is None:
            break
        escapes += 1
        again = run(found[0])
        if again.fun < found[1]:
            best = again
        else:  # the restart did not improve on the escape point itself: keep that point
            again.x, again.fun = found[0], found[1]
            best = again
    best.n_escapes = escapes
    return best


class _Settled(Exception):
    """A quasi-Newton run asked for a point indistinguishable from its best one."""


class _Watch:
    """``fun`` (returning value and gradient) that remembers its best point and raises
    :class:`_Settled` when asked for a point within ``step`` of it once the projected gradient
    there is below ``gradient``."""

    def __init__(self, fun: Callable, bounds: Sequence[tuple[float | None, float | None]],
                 step: float, gradient: float) -> None:
        self.fun = fun
        self.low = np.array([-np.inf if lo is None else lo for lo, _ in bounds], dtype=float)
        self.high = np.array([np.inf if hi is None else hi for _, hi in bounds], dtype=float)
        self.step, self.gradient = step, gradient
        self.x: np.ndarray | None = None
        self.f = np.inf
        self.g: np.ndarray | None = None
        self.calls = 0

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        x = np.asarray(x, dtype=float)
        if self.x is not None and self._flat() and np.all(
                np.abs(x - self.x) <= self.step * np.maximum(np.abs(self.x), 1.0)):
            raise _Settled
        self.calls += 1
        f, g = self.fun(x)
        if f < self.f:
            self.x, self.f, self.g = x.copy(), float(f), np.array(g, dtype=float)
        return f, g

    def _flat(self) -> bool:
        g = np.where(((self.x <= self.low) & (self.g > 0)) | ((self.x >= self.high) & (self.g < 0)),
                     0.0, self.g)
        return float(np.max(np.abs(g), initial=0.0)) < self.gradient

    def result(self) -> optimize.OptimizeResult:
        return optimize.OptimizeResult(
            x=self.x.copy(), fun=self.f, jac=self.g.copy(), success=True, status=0, nit=0,
            nfev=self.calls, njev=self.calls,
            message=f"settled: only moves below {self.step:g} from the best point were left, "
                    f"where the projected gradient is below {self.gradient:g}")

