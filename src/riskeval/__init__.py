"""riskeval: why probation officers' risk assessments of the same person differ.

The package is built in layers, each using only those below it:

- :mod:`riskeval.data`: the ratings data model, readers and bundled datasets;
- :mod:`riskeval.world`: the generative world (vignettes, officers, the thirteen mechanisms,
  :func:`simulate`) and :mod:`riskeval.agreement`: agreement and reliability coefficients;
- :mod:`riskeval.variation` (mixed models, bias, funnels), :mod:`riskeval.prediction`
  (actuarial scores, fairness, base rates, judgement) and :mod:`riskeval.skills`
  (supervision skills and reconviction);
- :mod:`riskeval.studies`: designing and diagnosing studies, sample sizes, cohorts;
- :mod:`riskeval.audit`: the inspector's consistency audit, and the ``riskeval`` command.

>>> import riskeval as rv
>>> world = rv.world.scenarios.six_office_study()
>>> ratings = rv.simulate(world, seed=1)
>>> len(ratings) > 0
True
"""

from . import agreement, audit, data, prediction, skills, studies, variation, world
from ._version import __version__
from .agreement import (
    agreement_summary,
    brennan_prediger,
    by_group,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
    icc,
    krippendorff_alpha,
    percent_agreement,
)
from .data import (
    RISK_LEVELS,
    Ratings,
    as_ratings,
    read_ratings,
    to_long,
    to_wide,
    validate_ratings,
    wide_to_long,
)
from .errors import DegenerateDataWarning, RiskevalError, RiskevalWarning
from .world import World, mechanism_effects, simulate

__all__ = [
    "RISK_LEVELS",
    "DegenerateDataWarning",
    "Ratings",
    "RiskevalError",
    "RiskevalWarning",
    "World",
    "__version__",
    "agreement",
    "agreement_summary",
    "as_ratings",
    "audit",
    "brennan_prediger",
    "by_group",
    "cohen_kappa",
    "data",
    "fleiss_kappa",
    "gwet_ac",
    "icc",
    "krippendorff_alpha",
    "mechanism_effects",
    "percent_agreement",
    "prediction",
    "read_ratings",
    "simulate",
    "skills",
    "studies",
    "to_long",
    "to_wide",
    "validate_ratings",
    "variation",
    "wide_to_long",
    "world",
]
