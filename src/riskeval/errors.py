"""Exceptions and warnings raised by riskeval.

Every problem with user input raises :class:`RiskevalError` (a ``ValueError``) whose message
names the column, row or value at fault and what was expected. Degenerate but legal data
(one category used, zero variance) emits :class:`DegenerateDataWarning` and returns a
documented value.
"""

from __future__ import annotations


class RiskevalError(ValueError):
    """Bad input that the user can fix; the message says what and where."""


class RiskevalTypeError(TypeError):
    """An argument of the wrong type (for example a list where a DataFrame is needed)."""


class RiskevalWarning(UserWarning):
    """Base class of riskeval warnings."""


class DegenerateDataWarning(RiskevalWarning):
    """The data are legal but the coefficient is undefined or uninformative on them."""
