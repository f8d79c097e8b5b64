"""Supervision skills and reconviction: simulate a study, estimate the skill effect honestly.

See :mod:`riskeval.skills._model` for the generative model.
"""

from ._model import DOMAINS, ITEMS, SkillsData, parameters, simulate_skills, skills_params

__all__ = ["DOMAINS", "ITEMS", "SkillsData", "parameters", "simulate_skills", "skills_params"]
