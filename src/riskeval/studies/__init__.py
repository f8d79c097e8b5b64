"""Studies: designing and diagnosing them by simulation, sample sizes, comparing cohorts,
parameter recovery and the power of a skills trial.

:func:`diagnose` runs a :class:`Design` (a study: a population, estimators and their
estimands) many times; :func:`rater_study`, :func:`world_study`, :func:`training_study` and
:func:`skills_trial` are preset designs; :mod:`.samplesize` has closed-form sample sizes,
:mod:`.cohorts` compares training cohorts and :mod:`.skills_power` gives the power of a
skills study; :func:`world_study` checks that the mixed models recover the world's
parameters (the full recovery study is ``papers/parameter_recovery.py``).
:func:`calibrate` goes the other way: the world's parameters from observed ratings.
"""

from . import calibration, cohorts, diagnosis, samplesize, skills_power
from .calibration import Posterior, calibrate
from .cohorts import CohortComparison, compare_cohorts, compare_icc, compare_outcomes
from .diagnosis import (
    Design,
    Diagnosis,
    Estimator,
    SampleSize,
    diagnose,
    population_alpha,
    rater_study,
    sample_size,
)
from .mechanisms import mechanism_accuracy
from .samplesize import bonett_n, kappa_n, walter_n, zou_n
from .trials import skills_trial, training_study
from .worlds import world_study

__all__ = [
    "CohortComparison",
    "Design",
    "Diagnosis",
    "Estimator",
    "Posterior",
    "SampleSize",
    "bonett_n",
    "calibrate",
    "calibration",
    "cohorts",
    "compare_cohorts",
    "compare_icc",
    "compare_outcomes",
    "diagnose",
    "diagnosis",
    "kappa_n",
    "mechanism_accuracy",
    "mechanisms",
    "population_alpha",
    "rater_study",
    "sample_size",
    "samplesize",
    "skills_power",
    "skills_trial",
    "training_study",
    "walter_n",
    "world_study",
    "zou_n",
]
