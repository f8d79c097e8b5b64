"""The ratings data model: reading, validating and reshaping ratings; bundled datasets.

:mod:`riskeval.data.ratings` holds the long and wide ratings tables and their checks,
:mod:`riskeval.data.datasets` the bundled example, :mod:`riskeval.data.compas` the loader of
the ProPublica COMPAS data (not bundled).
"""

from . import compas, datasets, ratings
from .ratings import (
    RISK_LEVELS,
    Ratings,
    WideRatings,
    as_ratings,
    file_kind,
    parse_categories,
    read_ratings,
    read_table,
    sheet_names,
    to_long,
    to_wide,
    validate_ratings,
    wide_to_long,
)

__all__ = [
    "RISK_LEVELS",
    "Ratings",
    "WideRatings",
    "as_ratings",
    "compas",
    "datasets",
    "file_kind",
    "parse_categories",
    "ratings",
    "read_ratings",
    "read_table",
    "sheet_names",
    "to_long",
    "to_wide",
    "validate_ratings",
    "wide_to_long",
]
