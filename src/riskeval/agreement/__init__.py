"""Reliability and agreement coefficients with confidence intervals.

Every function accepts a wide cases x raters array (NaN = not rated) or a long DataFrame with
``case=``, ``rater=``, ``rating=`` column names, and returns a small immutable result with
``.estimate``, ``.ci``, ``.to_frame()``, ``.summary()`` and an HTML view for Jupyter.
"""

from ._bootstrap import BootstrapInterval, bootstrap_interval
from ._result import AgreementResult, ICCResult
from ._weights import agreement_weights
from .categorical import (
    brennan_prediger,
    fleiss_kappa,
    gwet_ac,
    krippendorff_alpha,
    percent_agreement,
)
from .cohen import cohen_kappa
from .grouped import by_group
from .icc import ICC_FORMS, icc
from .pairwise import PairwiseAgreement, pairwise_agreement
from .summary import agreement_summary

__all__ = [
    "ICC_FORMS",
    "AgreementResult",
    "BootstrapInterval",
    "ICCResult",
    "PairwiseAgreement",
    "agreement_summary",
    "agreement_weights",
    "bootstrap_interval",
    "brennan_prediger",
    "by_group",
    "cohen_kappa",
    "fleiss_kappa",
    "gwet_ac",
    "icc",
    "krippendorff_alpha",
    "pairwise_agreement",
    "percent_agreement",
]
