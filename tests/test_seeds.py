"""Seeds are checked by riskeval, not by numpy (issue 15, item 11)."""

from __future__ import annotations

import numpy as np
import pytest

import riskeval.agreement as ag
from riskeval.errors import RiskevalError


@pytest.mark.parametrize("seed", [-1, True])
def test_a_negative_or_boolean_seed_is_named(seed) -> None:
    # issue 15, item 11: seed=-1 raised numpy's bare "expected non-negative integer"
    x = np.array([[1, 2], [2, 2], [3, 3], [1, 1]], float)
    with pytest.raises(RiskevalError, match="seed must be a non-negative int"):
        ag.krippendorff_alpha(x, ci="percentile", seed=seed)
