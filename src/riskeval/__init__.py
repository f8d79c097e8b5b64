"""riskeval: why probation officers' risk assessments of the same person differ.

Agreement and reliability coefficients (:mod:`riskeval.agreement`), the ratings data model
(:mod:`riskeval.data`) and a command-line tool (``riskeval``).
"""

from . import agreement, data
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

__version__ = "0.1.0"

__all__ = [
    "RISK_LEVELS",
    "DegenerateDataWarning",
    "RiskevalError",
    "RiskevalWarning",
    "__version__",
    "agreement",
    "agreement_summary",
    "as_ratings",
    "brennan_prediger",
    "by_group",
    "cohen_kappa",
    "data",
    "fleiss_kappa",
    "gwet_ac",
    "icc",
    "krippendorff_alpha",
    "percent_agreement",
    "read_ratings",
    "to_long",
    "to_wide",
    "validate_ratings",
]
