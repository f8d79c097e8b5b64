"""Prediction: actuarial reconviction scores and how to judge them (and clinical judgement)
against outcomes; fairness across groups (:mod:`.fairness`), base rates (:mod:`.baserates`) and
clinical judgement against the score (:mod:`.judgement`).

Probation services set an officer's clinical judgement of risk (an ordered level: low, medium,
high, very high) beside an actuarial score: a probability of proven reconviction within two
years, computed from a few static facts (age, sex, criminal history) by a logistic regression
fitted to a large cohort, as in the Offender Group Reconviction Scale (OGRS; Copas & Marshall
1998; Howard, Francis, Soothill & Humphreys 2009). This package builds and applies such scores
and compares them with the clinical levels on the same cases; every name below is exported
here (``riskeval.prediction.auc``...).

Scores
    * :class:`ActuarialScore` -- a scikit-learn classifier fitting an OGRS-style logistic
      regression on age, sex and criminal-history columns of a DataFrame, with a table of
      named coefficients (:meth:`ActuarialScore.coef_table`).
    * :class:`FixedScore` -- applies fixed coefficients (for example those of a published
      scale) with no fitting; also a transformer, so it can feed a recalibration model.

Discrimination: do higher scores go with reconviction?
    * :func:`auc` -- the area under the ROC curve (the probability that a reconvicted person
      scores higher than one who was not, ties counting one half) with DeLong's standard error,
      computed with the fast mid-rank algorithm of Sun & Xu (2014).
    * :func:`delong_test` -- DeLong's test comparing two correlated AUCs measured on the same
      cases (for example clinical level against actuarial score).

Calibration: are the probabilities right?
    * :func:`calibration` -- calibration-in-the-large, the calibration intercept and slope
      (Cox 1958), the Brier score and a reliability table with a reliability diagram.

Reclassification: how do two categorisations of the same cases differ?
    * :func:`reclassification` -- the cross-table of, say, clinical level by actuarial band,
      and with outcomes the event rate in each cell and the categorical net reclassification
      improvement (Pencina et al. 2008).

Conventions: an outcome ``y`` is 0/1 (1 = reconvicted); a higher score means a higher risk.
Ordered levels may be given as an ordered pandas Categorical, as numbers, or as the labels of
:data:`riskeval.RISK_LEVELS` (low, medium, high, very high), which are put in that order.

References
----------
Copas, J. & Marshall, P. (1998). The offender group reconviction scale: a statistical
reconviction score for use by probation officers. *Journal of the Royal Statistical Society
Series C (Applied Statistics)* 47(1), 159-171. https://doi.org/10.1111/1467-9876.00104

Howard, P., Francis, B., Soothill, K. & Humphreys, L. (2009). *OGRS 3: the revised Offender
Group Reconviction Scale*. Ministry of Justice Research Summary 7/09. London: Ministry of
Justice.

DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two or
more correlated receiver operating characteristic curves: a nonparametric approach.
*Biometrics* 44(3), 837-845. https://doi.org/10.2307/2531595

Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
under correlated receiver operating characteristic curves. *IEEE Signal Processing Letters*
21(11), 1389-1393. https://doi.org/10.1109/LSP.2014.2337313

Cox, D. R. (1958). Two further applications of a model for binary regression. *Biometrika*
45(3/4), 562-565. https://doi.org/10.2307/2333203

Van Calster, B., McLernon, D. J., van Smeden, M., Wynants, L. & Steyerberg, E. W. (2019).
Calibration: the Achilles heel of predictive analytics. *BMC Medicine* 17, 230.
https://doi.org/10.1186/s12916-019-1466-7

Pencina, M. J., D'Agostino, R. B. Sr, D'Agostino, R. B. Jr & Vasan, R. S. (2008). Evaluating
the added predictive ability of a new marker: from area under the ROC curve to reclassification
and beyond. *Statistics in Medicine* 27(2), 157-172. https://doi.org/10.1002/sim.2929
"""

from . import baserates, fairness, judgement
from ._calibration import CalibrationResult, calibration
from ._discrimination import AUCResult, DeLongTestResult, auc, delong_test
from ._reclassification import NRIResult, ReclassificationResult, reclassification
from ._scores import ActuarialScore, FixedScore

__all__ = [
    "AUCResult",
    "ActuarialScore",
    "CalibrationResult",
    "DeLongTestResult",
    "FixedScore",
    "NRIResult",
    "ReclassificationResult",
    "auc",
    "baserates",
    "calibration",
    "delong_test",
    "fairness",
    "judgement",
    "reclassification",
]
