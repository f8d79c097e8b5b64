"""The inspector's consistency audit: one call, every analysis, a report that can be filed.

>>> import riskeval as rv
>>> ratings = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)
>>> result = rv.audit.audit(ratings, case="case", rater="officer", rating="rating",
...                         office="office", reference="reference", ordinal=False)
>>> len(result.summary().splitlines())
5
"""

from ._compute import (
    MIN_SALT_LENGTH,
    RATER_EFFECTS_AUTO_MAX,
    Audit,
    Finding,
    RaterEffects,
    audit,
    check_salt,
    new_salt,
    pseudonym,
    read_salt,
)
from ._findings import METHODS

__all__ = ["METHODS", "MIN_SALT_LENGTH", "RATER_EFFECTS_AUTO_MAX", "Audit", "Finding",
           "RaterEffects", "audit", "check_salt", "new_salt", "pseudonym", "read_salt"]
