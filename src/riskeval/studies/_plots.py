"""Figures of the studies' results (the drawing code of ``Diagnosis.plot`` and
``CohortComparison.plot``), built on the helpers of :mod:`riskeval._core.plots`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.plots import _literal, _pyplot


def diagnosis(result: Any, ax: Any = None, diagnosand: str = "coverage") -> Any:
    """Each estimator's ``diagnosand`` with a 95% Monte Carlo interval (a Figure when ``ax``
    is None, else ``ax``)."""
    t = result.table
    made = ax is None
    if made:
        fig, ax = _pyplot().subplots(figsize=(6, 0.5 + 0.5 * len(t)))
    y = np.arange(len(t))
    se = t[f"{diagnosand}_mcse"].to_numpy()
    ax.errorbar(t[diagnosand], y, xerr=1.96 * np.nan_to_num(se), fmt="o", color="#1f4e79")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{e} ({m})" for e, m in zip(t["estimator"], t["estimand"],
                                                      strict=True)])
    if diagnosand == "coverage":
        ax.axvline(0.95, color="grey", ls="--", lw=0.8)
    ax.set_xlabel(diagnosand)
    ax.set_title(f"{result.design}: {result.n_sims} simulated studies", fontsize=10)
    _literal(ax)  # design and estimator names drawn as written ("$" is not maths)
    return fig if made else ax


def cohorts(result: Any, ax: Any = None) -> Any:
    """Each cohort's statistic with its bootstrap interval (a Figure when ``ax`` is None,
    else ``ax``)."""
    t = result.estimates
    made = ax is None
    if made:
        fig, ax = _pyplot().subplots(figsize=(5.5, 0.8 + 0.45 * len(t)))
    y = np.arange(len(t))[::-1]
    ax.errorbar(t["estimate"], y, xerr=[t["estimate"] - t["ci_low"],
                                        t["ci_high"] - t["estimate"]],
                fmt="o", color="#1f4e79", capsize=3)
    ax.set_yticks(y)
    ax.set_yticklabels(list(t.index))
    ax.set_xlabel(f"{result.statistic} ({result.confidence:.0%} bootstrap interval)")
    ax.set_title(f"permutation p = {result.p_value:.3g}", fontsize=10)
    _literal(ax)  # cohort names drawn as written ("$" is not maths)
    return fig if made else ax
