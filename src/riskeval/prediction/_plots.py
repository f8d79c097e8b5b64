"""Figures of the prediction results (matplotlib, imported only when a plot is asked for).

The statistics modules never draw; the results' ``plot()`` methods call these functions, which
use the shared helpers of :mod:`riskeval._core.plots`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.plots import _literal, _pyplot
from ._common import _fmt


def reliability_diagram(result: Any, ax: Any = None) -> Any:
    """Observed rate (with Wilson intervals) against mean prediction, from a
    :class:`~riskeval.prediction.CalibrationResult`; the Figure when one is made, else the
    Axes."""
    made = ax is None
    if made:
        fig, ax = _pyplot().subplots(figsize=(5, 5))
    t = result.table
    x = t["mean_predicted"].to_numpy(float)
    obs = t["observed_rate"].to_numpy(float)
    err = np.vstack([obs - t["ci_low"].to_numpy(float), t["ci_high"].to_numpy(float) - obs])
    top = float(min(1.0, 1.05 * max(np.max(x), np.max(t["ci_high"]))))
    ax.plot([0, top], [0, top], color="#7f7f7f", lw=1, ls="--", label="perfect calibration")
    ax.errorbar(x, obs, yerr=err, fmt="o", color="#1f4e79", ecolor="#1f4e79", capsize=3,
                ms=5, label=f"observed rate ({100 * result.confidence:g}% Wilson interval)")
    if result.grouping.startswith("band"):
        for label, xi, yi in zip(t.index, x, obs, strict=True):
            ax.annotate(str(label), (xi, yi), xytext=(5, -10), textcoords="offset points",
                        fontsize=8)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel("predicted probability (mean in group)")
    ax.set_ylabel("observed reconviction rate")
    ax.set_title(f"Calibration slope {_fmt(result.slope, 2)}, intercept "
                 f"{_fmt(result.intercept, 2)}", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    _literal(ax)  # band and group labels drawn as written ("$" is not maths)
    if made:
        fig.tight_layout()
        return fig
    return ax
