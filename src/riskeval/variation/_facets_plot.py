"""Figures of a many-facet Rasch analysis: the Wright map and the severity caterpillar.

Drawn on a :class:`matplotlib.figure.Figure` made without pyplot (no global figure state);
the statistics never draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.plots import _literal, _pyplot


def _figure(size: tuple[float, float]) -> tuple[Any, Any]:
    fig = _pyplot().figure(figsize=size)
    return fig, fig.add_subplot(1, 1, 1)


def wright_map(result: Any, ax: Any = None) -> Any:
    """Cases (a histogram), officers, offices and the Andrich thresholds on one logit
    scale: a Wright (variable) map. Officers are drawn as ``-C`` so that up is always
    "higher ratings", as in FACETS' vertical rulers."""
    made = ax is None
    if made:
        fig, ax = _figure((7.0, 5.5))
    cases = result.cases["measure"].to_numpy(float)
    cols: list[tuple[str, np.ndarray, list[str]]] = []
    off = result.officers
    cols.append(("officers\n(-severity)", -off["measure"].to_numpy(float),
                 [str(i) for i in off.index]))
    if result.offices is not None:
        cols.append(("offices\n(-severity)", -result.offices["measure"].to_numpy(float),
                     [str(i) for i in result.offices.index]))
    thr = result.categories["threshold"].to_numpy(float)[1:]
    cols.append(("thresholds", thr, list(result.categories.index[1:].astype(str))))
    finite = cases[np.isfinite(cases)]
    counts, edges = np.histogram(finite, bins=min(30, max(5, finite.size // 5)))
    width = counts / max(counts.max(), 1) * 0.8
    ax.barh(edges[:-1], width, height=np.diff(edges), align="edge", color="#7f9fbf",
            left=0.0)
    for pos, (_name, values, labels) in enumerate(cols, start=1):
        jitter = (np.arange(values.size) % 5 - 2) * 0.06
        ax.plot(pos + jitter, values, "o", ms=3, color="#1f4e79")
        if values.size <= 25:
            for xv, yv, lab in zip(pos + jitter, values, labels, strict=True):
                ax.annotate(lab, (xv, yv), xytext=(4, 0), textcoords="offset points",
                            fontsize=7, va="center")
    ax.set_xticks(range(len(cols) + 1))
    ax.set_xticklabels(["cases"] + [c[0] for c in cols], fontsize=8)
    ax.set_xlim(-0.2, len(cols) + 0.8)
    ax.set_ylabel("logits (up: higher ratings)")
    ax.set_title("Wright map", fontsize=10)
    ax.axhline(0, color="grey", lw=0.6)
    _literal(ax)
    if made:
        fig.tight_layout()
        return fig
    return ax


def severity(result: Any, ax: Any = None, facet: str = "officers") -> Any:
    """Severity measures sorted, with intervals at the result's confidence (a
    caterpillar)."""
    from scipy import stats

    made = ax is None
    table = result.officers if facet == "officers" else result.offices
    if made:
        fig, ax = _figure((6.5, max(3.0, min(12.0, 0.18 * len(table) + 1.5))))
    z = float(stats.norm.ppf(0.5 + result.confidence / 2))
    order = table.sort_values("measure", kind="stable")
    y = np.arange(len(order), dtype=float)
    est = order["measure"].to_numpy(float)
    half = z * order["se"].to_numpy(float)
    gaps = np.full_like(est, np.nan)
    ax.plot(np.column_stack([est - half, est + half, gaps]).ravel(),
            np.column_stack([y, y, gaps]).ravel(), color="#7f9fbf", lw=1)
    ax.plot(est, y, "o", ms=3, color="#1f4e79")
    ax.axvline(0, color="grey", lw=0.8)
    if len(order) <= 40:
        ax.set_yticks(y)
        ax.set_yticklabels([str(i) for i in order.index], fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_xlabel("severity (logits; higher = lower ratings)")
    ax.set_title(f"{facet.capitalize()}' severity ({100 * result.confidence:g}% intervals)",
                 fontsize=10)
    _literal(ax)
    if made:
        fig.tight_layout()
        return fig
    return ax
