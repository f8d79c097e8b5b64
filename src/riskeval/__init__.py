"""riskeval: why probation officers' risk assessments of the same person differ.

The generative world (:mod:`riskeval.vignettes`, :mod:`riskeval.raters`,
:mod:`riskeval.simulate`, :mod:`riskeval.scenarios`), agreement and reliability coefficients
(:mod:`riskeval.agreement`), the ratings data model (:mod:`riskeval.data`) and a command-line
tool (``riskeval``). The inspector's consistency audit is :mod:`riskeval.audit`.

>>> import riskeval as rv
>>> world = rv.scenarios.six_office_study()
>>> ratings = rv.simulate(world, seed=1)     # riskeval.simulate is also callable
"""

from . import (
    actuarial,
    agreement,
    audit,
    baserates,
    bias,
    cohorts,
    compas,
    data,
    design,
    fairness,
    funnel,
    judgement,
    multilevel,
    narratives,
    raters,
    scenarios,
    simulate,
    skills,
    vignettes,
)
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
from .data import RISK_LEVELS, as_ratings, read_ratings, to_long, to_wide, validate_ratings
from .errors import DegenerateDataWarning, RiskevalError, RiskevalWarning
from .simulate import Design, World, mechanism_effects

__version__ = "0.1.0"

__all__ = [
    "RISK_LEVELS",
    "DegenerateDataWarning",
    "Design",
    "RiskevalError",
    "RiskevalWarning",
    "World",
    "__version__",
    "actuarial",
    "agreement",
    "agreement_summary",
    "as_ratings",
    "audit",
    "baserates",
    "bias",
    "brennan_prediger",
    "by_group",
    "cohen_kappa",
    "cohorts",
    "compas",
    "data",
    "design",
    "fairness",
    "fleiss_kappa",
    "funnel",
    "gwet_ac",
    "icc",
    "judgement",
    "krippendorff_alpha",
    "mechanism_effects",
    "multilevel",
    "narratives",
    "percent_agreement",
    "raters",
    "read_ratings",
    "scenarios",
    "simulate",
    "skills",
    "to_long",
    "to_wide",
    "validate_ratings",
    "vignettes",
]
