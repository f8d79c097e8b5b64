"""Figures of the world's analyses (drawing code only; the numbers come from engine.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.plots import _literal, _pyplot


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=size)
    return ax


def mechanism_effects(table: pd.DataFrame, statistic: str, ax: Any = None) -> Any:
    """Horizontal bars: each mechanism's effect on one statistic, largest at the top."""
    rows = table[table["statistic"] == statistic].sort_values("effect", kind="stable")
    ax = _axes(ax, (6.0, 0.35 * max(len(rows), 3) + 1.2))
    y = np.arange(len(rows))
    colours = np.where(rows["effect"].to_numpy() >= 0, "#b5523b", "#1f4e79")
    ax.barh(y, rows["effect"].to_numpy(), color=colours)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([str(m) for m in rows["mechanism"]], fontsize=8)
    ax.set_xlabel(f"effect on {statistic} (with all mechanisms - without this one)")
    ax.set_title(f"What each mechanism adds to {statistic}", fontsize=10)
    _literal(ax)
    return ax


def sensitivity(table: pd.DataFrame, statistic: str, ax: Any = None) -> Any:
    """The statistic against the values tried of one parameter."""
    rows = table[table["statistic"] == statistic]
    ax = _axes(ax, (5.5, 3.5))
    values = rows["value"].tolist()
    numeric = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                  for v in values)
    x = np.asarray(values, dtype=float) if numeric else np.arange(len(values))
    ax.plot(x, rows["estimate"].to_numpy(), marker="o", color="#1f4e79")
    if not numeric:
        ax.set_xticks(x)
        ax.set_xticklabels([str(v) for v in values], fontsize=8)
    if len(rows):
        first = rows.iloc[0]
        ax.set_xlabel(f"{first['mechanism']}.{first['parameter']}")
    ax.set_ylabel(statistic)
    ax.set_title(f"Sensitivity of {statistic}", fontsize=10)
    _literal(ax)
    return ax
