"""The generative world: vignettes, officers and offices, the mechanisms that make their
ratings differ, and the simulation engine.

:mod:`.vignettes` (cases), :mod:`.raters` (offices and officers), :mod:`.engine` (the world,
its thirteen mechanisms and :func:`simulate`; each mechanism is one small function in the
private ``mechanisms`` module), :mod:`.scenarios` (preset worlds) and :mod:`.narratives`
(vignette texts and rating sheets).
"""

from . import engine, narratives, raters, scenarios, vignettes
from .engine import (
    MECHANISMS,
    Allocation,
    MechanismEffects,
    SensitivityCurve,
    World,
    disagreement_statistics,
    mechanism_effects,
    sensitivity,
    simulate,
)

__all__ = [
    "MECHANISMS",
    "Allocation",
    "MechanismEffects",
    "SensitivityCurve",
    "World",
    "disagreement_statistics",
    "engine",
    "mechanism_effects",
    "narratives",
    "raters",
    "scenarios",
    "sensitivity",
    "simulate",
    "vignettes",
]
