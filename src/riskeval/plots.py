"""Figures for result objects (matplotlib, imported only when a plot is asked for).

Statistics modules never draw; result objects' ``.plot()`` methods call these functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib.pyplot as plt

    return plt


def caterpillar(effects: Any, ax: Any, title: str, z: float = 1.96) -> Any:
    """Effects sorted by size with +/- z SE bars (a caterpillar plot)."""
    order = effects.sort_values("estimate")
    y = np.arange(len(order))
    ax.errorbar(order["estimate"], y, xerr=z * order["se"], fmt="o", ms=3, lw=1,
                color="#1f4e79", ecolor="#7f9fbf")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y if len(order) <= 30 else [])
    if len(order) <= 30:
        ax.set_yticklabels([str(i) for i in order.index], fontsize=7)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("effect on the rating scale")
    return ax


def shares(table: Any, ax: Any, title: str = "Share of variance") -> Any:
    """Horizontal bars of variance shares with interval whiskers."""
    y = np.arange(len(table))
    est = table["estimate"].to_numpy()
    lo = np.nan_to_num(est - table["ci_low"].to_numpy(), nan=0.0)
    hi = np.nan_to_num(table["ci_high"].to_numpy() - est, nan=0.0)
    ax.barh(y, est, color="#7f9fbf")
    ax.errorbar(est, y, xerr=[lo, hi], fmt="none", ecolor="black", lw=1, capsize=3)
    ax.set_yticks(y)
    ax.set_yticklabels(list(table.index))
    ax.set_xlim(0, 1)
    ax.set_title(title, fontsize=10)
    return ax


def lmm_overview(fit: Any, ax: Any = None) -> Any:
    """Shares panel plus caterpillar panels for the office and officer effects."""
    if ax is not None:
        return shares(fit.variance_shares, ax)
    plt = _pyplot()
    panels = [n for n in ("office", "officer") if n in fit.random_effects]
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(4 + 3.5 * len(panels), 4))
    axes = np.atleast_1d(axes)
    shares(fit.variance_shares, axes[0])
    for a, name in zip(axes[1:], panels, strict=True):
        caterpillar(fit.random_effects[name], a, f"{name} effects (95%)")
    fig.tight_layout()
    return fig
