"""What each mechanism of the simulated world does to the accuracy of officers' judgement.

A study built from the world (:mod:`riskeval.world`) and the accuracy measures of
:mod:`riskeval.prediction.judgement`: each mechanism is switched off in turn, with every random
draw unchanged, and the officers' discrimination and the PPV of their flags are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .._core.results import TableResult
from .._core.seeds import seed_sequence
from ..prediction.baserates import simulate_outcomes
from ..prediction.judgement import judgement_accuracy
from ..world.engine import simulate

__all__ = ["mechanism_accuracy"]


def mechanism_accuracy(world: Any, *, seed: Any = None, outcome_seed: Any = None,
                       mechanisms: Sequence[str] | None = None,
                       outcome: str = "reconvicted", at: str = "high") -> TableResult:
    """How each mechanism changes officers' discrimination and the PPV of "``at`` or above".

    Each mechanism that is on is switched off alone, all random draws unchanged (the same
    ``seed``), and the officers' mean AUC, the share flagged and the PPV are compared with the
    full world. The outcomes are drawn once per case (``outcome_seed``), so every row is scored
    against the same outcomes.

    Parameters
    ----------
    world : World
        The simulated world (e.g. :func:`riskeval.world.scenarios.six_office_study`).
    seed : None, int, numpy SeedSequence or Generator, optional
        Seed of the simulations; every world (full, and each mechanism off) is simulated from
        the same seed, so the rows differ by the mechanism only. None: fresh entropy.
    outcome_seed : None, int, numpy SeedSequence or Generator, optional
        Seed of the outcome draws (:func:`~riskeval.prediction.baserates.simulate_outcomes`).
    mechanisms : sequence of str, optional
        The mechanisms to switch off one at a time (default: every one that is on, except
        noise).
    outcome : str, default "reconvicted"
        The outcome column (``"reconvicted"`` or ``"serious"``).
    at : str, default "high"
        The level from which a rating counts as flagged.

    Returns
    -------
    TableResult
        A DataFrame with one row per mechanism (and ``(all on)``): ``auc``,
        ``flagged_share``, ``ppv``, and their changes ``d_auc`` etc. from switching the
        mechanism *off* (positive ``d_auc``: the mechanism was costing discrimination).

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
    ...                                             n_vignettes=12)
    >>> out = mechanism_accuracy(world, seed=1, outcome_seed=2, mechanisms=["anchoring"])
    >>> out.index.tolist(), round(float(out.loc["(all on)", "auc"]), 3)
    (['(all on)', 'anchoring'], 0.657)
    """
    # one SeedSequence each (an int gives the same numbers as before; a Generator or None is
    # drawn from once), reused for every world so that the rows share their random numbers
    seed = seed_sequence(seed)
    outcome_seed = seed_sequence(outcome_seed, "outcome_seed")
    cases = world.vignettes
    outs = simulate_outcomes(cases, seed=outcome_seed)
    on = list(world.enabled) if mechanisms is None else list(mechanisms)
    on = [m for m in on if m != "noise"]

    def score(w: Any) -> dict[str, float]:
        r = simulate(w, seed=seed)
        acc = judgement_accuracy(r, cases, outs, outcome=outcome, at=at)
        row = acc.loc["officers' levels"]
        return {"auc": row["auc"], "flagged_share": row["flagged_share"], "ppv": row["ppv"]}

    base = score(world)
    rows = [{"mechanism": "(all on)", **base, "d_auc": 0.0, "d_flagged_share": 0.0,
             "d_ppv": 0.0}]
    for m in on:
        s = score(world.with_mechanisms(**{m: False}))
        rows.append({"mechanism": m, **s, **{f"d_{k}": s[k] - base[k] for k in base}})
    return TableResult(pd.DataFrame(rows).set_index("mechanism"),
                       title=f'What each mechanism does to discrimination and the PPV of "{at} '
                             'or above"')
