"""Supervision skills and reconviction: simulate a study, estimate the skill effect honestly.

See :mod:`riskeval.skills._model` for the generative model.
"""

from ._estimate import (
    CalibratedScores,
    KaplanMeier,
    calibrated_scores,
    corrected_effect,
    ipw_weights,
    km_by_group,
    officer_scores,
    rater_agreement,
    score_reliability,
    skill_effect,
    supervision_table,
)
from ._expected import expected_rates, reconviction_rate
from ._model import DOMAINS, ITEMS, SkillsData, parameters, simulate_skills, skills_params
from ._presets import PUBLISHED, jersey, stics_2011, stics_bc, training_meta

__all__ = [
    "DOMAINS",
    "ITEMS",
    "PUBLISHED",
    "CalibratedScores",
    "KaplanMeier",
    "SkillsData",
    "calibrated_scores",
    "corrected_effect",
    "expected_rates",
    "ipw_weights",
    "jersey",
    "km_by_group",
    "officer_scores",
    "parameters",
    "rater_agreement",
    "reconviction_rate",
    "score_reliability",
    "simulate_skills",
    "skill_effect",
    "skills_params",
    "stics_2011",
    "stics_bc",
    "supervision_table",
    "training_meta",
]
