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


def _new_axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    """(figure made here or None, axes)."""
    if ax is not None:
        return None, ax
    fig, ax = _pyplot().subplots(figsize=size)
    return fig, ax


def _done(fig: Any, ax: Any) -> Any:
    _literal(ax)  # group and band labels drawn as written ("$" is not maths)
    if fig is not None:
        fig.tight_layout()
        return fig
    return ax


def reclassification_table(result: Any, ax: Any = None) -> Any:
    """The cross-table of a :class:`~riskeval.prediction.ReclassificationResult` (counts, the
    cells where both agree outlined); the Figure when one is made, else the Axes."""
    from .._core.plots import confusion

    inner = result.table.drop(index="total", columns="total")
    a, b = result.names
    fig, ax = _new_axes(ax, (5.5, 4.5))
    confusion(inner, ax=ax, title=f"{a} (rows) by {b} (columns), n = {result.n}")
    return _done(fig, ax)


def _points(ax: Any, labels: list[str], est: np.ndarray, low: np.ndarray, high: np.ndarray,
            offset: float, colour: str, label: str) -> None:
    y = np.arange(len(labels)) + offset
    err = np.vstack([np.clip(est - low, 0, None), np.clip(high - est, 0, None)])
    ax.errorbar(est, y, xerr=np.nan_to_num(err), fmt="o", color=colour, ecolor=colour,
                capsize=3, ms=5, label=label)


def auc_by_group(result: Any, ax: Any = None) -> Any:
    """Each group's AUC with its DeLong interval, and the overall AUC (dashed)."""
    t = result.table
    labels = [str(i) for i in t.index]
    fig, ax = _new_axes(ax, (6, 1.2 + 0.4 * len(labels)))
    _points(ax, labels, t["auc"].to_numpy(float), t["low"].to_numpy(float),
            t["high"].to_numpy(float), 0.0, "#1f4e79",
            f"AUC ({100 * result.confidence:g}% DeLong interval)")
    ax.axvline(float(result.overall["auc"]), color="#7f7f7f", lw=1, ls="--", label="overall")
    ax.axvline(0.5, color="#b2182b", lw=0.8, ls=":", label="chance")
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("area under the ROC curve")
    ax.legend(fontsize=8, frameon=False, loc="best")
    return _done(fig, ax)


def error_rates(result: Any, ax: Any = None) -> Any:
    """False positive and false negative rates by group, with Wilson intervals."""
    t = result.table
    labels = [str(i) for i in t.index]
    fig, ax = _new_axes(ax, (6, 1.2 + 0.5 * len(labels)))
    for rate, offset, colour, name in (("fpr", -0.15, "#c55a11", "false positive rate"),
                                       ("fnr", 0.15, "#1f4e79", "false negative rate")):
        _points(ax, labels, t[rate].to_numpy(float), t[f"{rate}_low"].to_numpy(float),
                t[f"{rate}_high"].to_numpy(float), offset, colour, name)
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"rate ({100 * result.confidence:g}% Wilson intervals)")
    ax.legend(fontsize=8, frameon=False, loc="best")
    return _done(fig, ax)


def group_calibration(result: Any, ax: Any = None) -> Any:
    """Observed outcome rate by band, one line per group, with Wilson intervals."""
    fig, ax = _new_axes(ax, (6.5, 4.5))
    bands = [str(b) for b in result.bands]
    x = np.arange(len(bands))
    width = 0.3 / max(len(result.groups), 1)
    for k, group in enumerate(result.groups):
        rows = result.table.xs(group, level="group").reindex(list(result.bands))
        est = rows["rate"].to_numpy(float)
        err = np.vstack([est - rows["low"].to_numpy(float), rows["high"].to_numpy(float) - est])
        shift = (k - (len(result.groups) - 1) / 2) * width
        ax.errorbar(x + shift, est, yerr=np.nan_to_num(err), fmt="o-", capsize=3, ms=4,
                    lw=1, label=str(group))
    ax.set_xticks(x)
    ax.set_xticklabels(bands)
    ax.set_ylim(0, 1)
    ax.set_xlabel("band")
    ax.set_ylabel(f"observed rate ({100 * result.confidence:g}% Wilson intervals)")
    ax.legend(fontsize=8, frameon=False, loc="best", title="group")
    return _done(fig, ax)
