"""Power of a skills study by simulation: how many officers and supervisees a study needs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._core.params import ParamSet
from .._core.results import SeriesResult, TableResult
from ..errors import RiskevalError
from ..skills._estimate import officer_scores, skill_effect, supervision_table
from ..skills._model import simulate_skills

__all__ = ["power", "power_curve"]

_ESTIMANDS = ("training", "skill")


def _estimator(estimand: str, method: str) -> Any:
    def estimate(d: Any) -> dict[str, float]:
        if estimand == "training":
            t = d.supervisees.join(d.officers.set_index("officer")["trained"].astype(float),
                                   on="officer")
            row = skill_effect(t, skill="trained", method=method, skill_sd=1.0).iloc[0]
        else:
            t = supervision_table(d.supervisees, officer_scores(d.sessions))
            row = skill_effect(t, skill="overall", method=method).iloc[0]
        return {"estimate": float(row["coef"]), "p": float(row["p"])}
    return estimate


def power(params: ParamSet, *, estimand: str = "skill", method: str = "cox",
          n_sims: int = 200, seed: Any = None, alpha: float = 0.05, n_jobs: int = 1,
          **overrides: Any) -> SeriesResult:
    """Share of simulated studies in which the effect is significant at ``alpha``.

    ``estimand="skill"`` tests the observed overall skill score (per SD, officer-clustered,
    adjusted for baseline risk), as an observational skills study would;
    ``estimand="training"`` tests trained vs untrained officers' supervisees, as a training
    trial would. The studies are run by :func:`riskeval.studies.diagnose`: study ``i`` uses
    child ``i`` of the seed's SeedSequence, so the result is the same for any ``n_jobs``;
    ``seed`` is None (fresh entropy), an int, a SeedSequence or a Generator.

    Returns
    -------
    SeriesResult
        ``power`` with its Monte Carlo SE (``power_se``), the mean estimated coefficient, the
        number of simulations, officers and supervisees per officer (a Series with a title).

    Examples
    --------
    >>> import warnings
    >>> from riskeval.skills import skills_params
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")   # few officers: clustered intervals too narrow
    ...     res = power(skills_params(), n_sims=3, seed=1, n_officers=6,
    ...                 supervisees_per_officer=5)
    >>> float(res["n_sims"]), float(res["n_officers"]), 0 <= float(res["power"]) <= 1
    (3.0, 6.0, True)
    """
    from .diagnosis import Design, Estimator, diagnose

    if estimand not in _ESTIMANDS:
        raise RiskevalError(f"estimand={estimand!r}; expected one of {_ESTIMANDS}")
    if n_sims < 2:
        raise RiskevalError(f"n_sims must be at least 2; got {n_sims}")
    p = params.updated(overrides)
    if estimand == "training" and not 0 < p["trained_share"] < 1:
        raise RiskevalError("estimand='training' needs 0 < trained_share < 1")

    def population(ss: np.random.SeedSequence) -> tuple[Any, dict[str, float]]:
        return simulate_skills(p, seed=ss), {estimand: math.nan}

    design = Design(population, (Estimator(estimand, estimand, _estimator(estimand, method)),),
                    name=f"skills {estimand} study")
    row = diagnose(design, n_sims=n_sims, seed=seed, n_jobs=n_jobs, alpha=alpha).table.iloc[0]
    return SeriesResult({"power": float(row["power"]), "power_se": float(row["power_mcse"]),
                         "mean_coef": float(row["mean_estimate"]), "n_sims": n_sims,
                         "n_officers": p["n_officers"],
                         "supervisees_per_officer": p["supervisees_per_officer"]},
                        name=estimand, title=f"power of a skills {estimand} study "
                                             f"(alpha {alpha:g})")


def power_curve(params: ParamSet, officers: Sequence[int], **kwargs: Any) -> TableResult:
    """:func:`power` at each number of officers (other settings as ``kwargs``), one row each.

    Examples
    --------
    >>> import warnings
    >>> from riskeval.skills import skills_params
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")   # few officers: clustered intervals too narrow
    ...     curve = power_curve(skills_params(), [4, 6], n_sims=2, seed=1,
    ...                         supervisees_per_officer=5)
    >>> curve["n_officers"].tolist(), list(curve.columns[:2])
    ([4.0, 6.0], ['power', 'power_se'])
    """
    rows = pd.DataFrame([power(params, n_officers=int(n), **kwargs) for n in officers])
    return TableResult(rows, title="power of a skills study by number of officers")
