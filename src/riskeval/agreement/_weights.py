"""Agreement weight matrices for weighted coefficients.

Weights are *agreement* weights: 1 on the diagonal (full agreement), between 0 and 1 off it.
They follow Gwet (2014), *Handbook of Inter-Rater Reliability*, 4th ed., ch. 3, where each is
a function of the categories' numeric values ``x_k`` (numbers for numeric categories, ranks
1..q for labels).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RiskevalError, RiskevalTypeError

WEIGHT_NAMES = ("identity", "linear", "quadratic", "ordinal", "radical", "ratio")


def agreement_weights(weights: Any, scale: np.ndarray, *, ordered: bool = True) -> np.ndarray:
    """Return the q x q agreement-weight matrix.

    Parameters
    ----------
    weights : None, str or array-like
        ``None``/``"identity"`` (unweighted), ``"linear"``, ``"quadratic"``, ``"ordinal"``,
        ``"radical"``, ``"ratio"``, or a q x q matrix of agreement weights: symmetric,
        values in [0, 1], 1 on the diagonal, rows and columns in the order of the categories
        (as declared, or the observed values sorted).
    scale : numpy.ndarray
        Numeric value of each category, increasing.
    ordered : bool
        Whether the categories have a declared order; named non-identity weights need one.

    Raises
    ------
    RiskevalError
        Unknown name, or a matrix of the wrong shape, not symmetric, not 1 on the diagonal,
        with values outside [0, 1], or with every weight 1.

    References
    ----------
    Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.), Table 3.x (weights).
    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin*, 70(4), 213-220.

    Examples
    --------
    >>> agreement_weights("linear", np.array([1.0, 2.0, 3.0])).tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    x = np.asarray(scale, dtype=float)
    q = x.size
    if weights is None or (isinstance(weights, str) and weights == "identity"):
        return np.eye(q)
    if isinstance(weights, str) and weights in WEIGHT_NAMES and q == 1:
        return np.eye(1)  # one category: a pair can only agree fully (no span to divide)
    if isinstance(weights, str):
        if weights not in WEIGHT_NAMES:
            raise RiskevalError(
                f"unknown weights {weights!r}; expected one of {', '.join(WEIGHT_NAMES)} or a "
                "q x q matrix"
            )
        if not ordered:
            raise RiskevalError(
                f"{weights!r} weights need ordered categories, but the ratings are labels with "
                "no declared order; pass categories=, lowest first (e.g. "
                "'low,medium,high,very high')"
            )
        d = np.abs(x[:, None] - x[None, :])
        span = x.max() - x.min()
        if weights == "linear":
            return 1.0 - d / span
        if weights == "quadratic":
            return 1.0 - (d / span) ** 2
        if weights == "radical":
            return 1.0 - np.sqrt(d) / np.sqrt(span)
        if weights == "ordinal":
            k = np.arange(q)
            m = np.abs(k[:, None] - k[None, :]) + 1.0
            m = m * (m - 1) / 2.0
            return 1.0 - m / m.max()
        # ratio
        if x.min() <= 0:
            raise RiskevalError(
                f"ratio weights need positive category values; got {float(x.min())!r}"
            )
        s = x[:, None] + x[None, :]
        r = ((x[:, None] - x[None, :]) / s) ** 2
        return 1.0 - r / ((x.max() - x.min()) / (x.max() + x.min())) ** 2
    return _check_matrix(weights, q)


def weights_label(weights: Any) -> str:
    """How a ``weights`` argument is reported: its name, or ``"custom"`` for a matrix."""
    if weights is None:
        return "identity"
    return weights if isinstance(weights, str) else "custom"


def _check_matrix(weights: Any, q: int) -> np.ndarray:
    """A user's q x q agreement-weight matrix, or a RiskevalError naming what is wrong."""
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise RiskevalTypeError(
            "weights must be a name (identity, linear, quadratic, ordinal, radical, ratio) or "
            f"a {q} x {q} numeric matrix of agreement weights"
        ) from None
    if w.shape != (q, q):
        raise RiskevalError(
            f"the weight matrix has shape {w.shape}, but there are {q} categories; expected "
            f"({q}, {q}), rows and columns in the order of the categories"
        )
    bad = ~np.isfinite(w)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise RiskevalError(
            f"the weight matrix holds {float(w[i, j])} at row {i}, column {j}; agreement weights "
            "must be numbers in [0, 1]"
        )
    out = (w < 0) | (w > 1)
    if out.any():
        i, j = np.argwhere(out)[0]
        raise RiskevalError(
            f"the weight matrix holds {w[i, j]:g} at row {i}, column {j}; agreement weights "
            "must lie in [0, 1] (1 = full agreement, 0 = none)"
        )
    diag = ~np.isclose(np.diag(w), 1.0)
    if diag.any():
        i = int(np.flatnonzero(diag)[0])
        raise RiskevalError(
            f"the weight matrix has {w[i, i]:g} on the diagonal at row {i}; identical ratings "
            "agree fully, so every diagonal weight must be 1"
        )
    asym = ~np.isclose(w, w.T)
    if asym.any():
        i, j = np.argwhere(asym)[0]
        raise RiskevalError(
            f"the weight matrix is not symmetric: row {i}, column {j} holds {w[i, j]:g} but "
            f"row {j}, column {i} holds {w[j, i]:g}; the agreement of two ratings cannot "
            "depend on which rater gave which"
        )
    if np.isclose(w, 1.0).all():
        raise RiskevalError(
            "every weight in the matrix is 1: all pairs of ratings would count as full "
            "agreement, so no agreement coefficient is defined; give partial credit below 1 "
            "off the diagonal"
        )
    return w
