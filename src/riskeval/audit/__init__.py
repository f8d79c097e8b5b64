"""The inspector's consistency audit: one call, every analysis, a report that can be filed.

>>> import riskeval as rv
>>> ratings = rv.simulate(rv.scenarios.six_office_study(), seed=1)
>>> result = rv.audit.audit(ratings, case="case", rater="officer", rating="rating",
...                         office="office", reference="reference", ordinal=False)
>>> len(result.summary().splitlines())
5
"""

from ._compute import Audit, Finding, audit, pseudonym
from ._findings import METHODS

__all__ = ["METHODS", "Audit", "Finding", "audit", "pseudonym"]
