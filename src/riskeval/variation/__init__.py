"""Where disagreement comes from: mixed models, bias diagnostics and funnel plots.

:func:`crossed_lmm` fits a linear mixed model with random intercepts for the case (vignette),
crossed with the officer, who is nested in an office, plus fixed effects for officer and case
covariates -- the model of R's ``lme4::lmer(y ~ x + (1|case) + (1|office) + (1|officer))`` --
by REML or ML, and reports variance components, variance shares, fixed effects and fit
statistics. :func:`ordinal_mixed` fits the cumulative probit (or logit) counterpart for the
ordered risk levels themselves -- the model of R's ``ordinal::clmm`` -- on the latent scale.
:mod:`.bias` diagnoses directional bias, inflation, anchoring and overrides;
:mod:`.funnel` compares officers or offices with control limits.
:func:`~.facets.many_facet_rasch` fits the many-facet Rasch (rating-scale) model by JMLE and
reports FACETS' tables: severities, fit, separation, the rating scale and bias analyses.
:func:`~.detection.detect_mechanisms` runs a detector for every mechanism of the simulated
world that a ratings table can show, and says what it lacks for the others.
"""

from . import bias, detection, facets, funnel
from ._fit import crossed_lmm
from ._lmm_result import LMMResult
from ._ofit import OrdinalMixedResult, ordinal_mixed
from ._slopes import SlopesLMMResult
from .detection import detect_mechanisms
from .facets import FacetsResult, many_facet_rasch

__all__ = ["FacetsResult", "LMMResult", "OrdinalMixedResult", "SlopesLMMResult", "bias",
           "crossed_lmm", "detect_mechanisms", "detection", "facets", "funnel",
           "many_facet_rasch", "ordinal_mixed"]
