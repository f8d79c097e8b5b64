"""Prediction: actuarial scores and their discrimination, calibration and reclassification
(:mod:`.actuarial`), fairness across groups (:mod:`.fairness`), base rates (:mod:`.baserates`)
and clinical judgement against the score (:mod:`.judgement`).
"""

from . import actuarial, baserates, fairness, judgement

__all__ = ["actuarial", "baserates", "fairness", "judgement"]
