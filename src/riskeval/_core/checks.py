"""Input checks shared by every layer, with one wording."""

from __future__ import annotations

import math
from typing import Any

from ..errors import RiskevalError

__all__ = ["check_confidence"]


def check_confidence(confidence: Any) -> float:
    """``confidence`` as a float strictly between 0 and 1, or a RiskevalError naming it.

    Examples
    --------
    >>> check_confidence(0.9)
    0.9
    """
    try:
        level = float(confidence)
    except (TypeError, ValueError):
        level = math.nan
    if not 0.0 < level < 1.0:
        raise RiskevalError(f"confidence={confidence!r} is not a level strictly between 0 and 1 "
                            "(for example 0.95)")
    return level
