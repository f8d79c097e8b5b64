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
        ``"radical"``, ``"ratio"``, or a q x q matrix of agreement weights (1 on the diagonal).
    scale : numpy.ndarray
        Numeric value of each category, increasing.
    ordered : bool
        Whether the categories have a declared order; non-identity weights need one.

    References
    ----------
    Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.), Table 3.x (weights).
    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin*, 70(4), 213-220.
    """
    x = np.asarray(scale, dtype=float)
    q = x.size
    if weights is None or (isinstance(weights, str) and weights == "identity"):
        return np.eye(q)
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
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise RiskevalTypeError(
            "weights must be a name or a q x q numeric matrix"
        ) from None
    if w.shape != (q, q):
        raise RiskevalError(
            f"the weight matrix has shape {w.shape}, but there are {q} categories; expected "
            f"({q}, {q})"
        )
    if not np.allclose(np.diag(w), 1.0) or (w < 0).any() or (w > 1).any():
        raise RiskevalError(
            "a weight matrix must hold agreement weights in [0, 1] with 1 on the diagonal"
        )
    return w
