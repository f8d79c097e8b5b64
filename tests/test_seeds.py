"""Seeds are checked by riskeval, not by numpy (issue 15, item 11)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
import riskeval.agreement as ag
from riskeval._core.seeds import spawn
from riskeval.errors import RiskevalError


@pytest.mark.parametrize("seed", [-1, True])
def test_a_negative_or_boolean_seed_is_named(seed) -> None:
    # issue 15, item 11: seed=-1 raised numpy's bare "expected non-negative integer"
    x = np.array([[1, 2], [2, 2], [3, 3], [1, 1]], float)
    with pytest.raises(RiskevalError, match="seed must be a non-negative int"):
        ag.krippendorff_alpha(x, ci="percentile", seed=seed)


def _offices() -> pd.DataFrame:
    return rv.data.datasets.example_ratings()


BOOT = {"case": "vignette", "rater": "officer", "rating": "rosh", "ci": "percentile",
        "n_boot": 200}


def test_by_group_children_come_from_spawn() -> None:
    """Each office's stream is the office's child of the seed (riskeval._core.seeds.spawn),
    the numbers numpy's SeedSequence(seed).spawn gave before the seed helpers."""
    data = _offices()
    per = rv.by_group(rv.gwet_ac, data, group="office", seed=4, **BOOT)
    children = spawn(4, 3)
    for row, child in zip(per.itertuples(), children, strict=True):
        sub = data[data["office"] == row.office]
        direct = rv.gwet_ac(sub, seed=child, **BOOT)
        assert (row.ci_low, row.ci_high) == direct.ci
    old = np.random.SeedSequence(4).spawn(3)
    assert [c.spawn_key for c in children] == [c.spawn_key for c in old]


def test_by_group_takes_every_seed_kind_and_leaves_a_seed_sequence_as_it_was() -> None:
    data = _offices()
    by_int = rv.by_group(rv.gwet_ac, data, group="office", seed=4, **BOOT)
    sequence = np.random.SeedSequence(4)
    first = rv.by_group(rv.gwet_ac, data, group="office", seed=sequence, **BOOT)
    again = rv.by_group(rv.gwet_ac, data, group="office", seed=sequence, **BOOT)
    pd.testing.assert_frame_equal(first, by_int)
    pd.testing.assert_frame_equal(again, by_int)
    assert sequence.n_children_spawned == 0
    gen = rv.by_group(rv.gwet_ac, data, group="office", seed=np.random.default_rng(4), **BOOT)
    assert gen["ci_low"].notna().all()
    with pytest.raises(RiskevalError, match="seed must be a non-negative int"):
        rv.by_group(rv.gwet_ac, data, group="office", seed=-3, **BOOT)


def test_by_group_names_a_min_raters_that_is_not_a_whole_number() -> None:
    with pytest.raises(RiskevalError, match="min_raters must be a whole number of at least 1"):
        rv.by_group(rv.gwet_ac, _offices(), group="office", case="vignette", rater="officer",
                    rating="rosh", min_raters=2.5)


@pytest.mark.parametrize("fn", ["krippendorff_alpha", "fleiss_kappa", "icc", "gwet_ac"])
def test_a_bad_seed_is_an_error_with_the_analytic_interval_too(fn) -> None:
    """The seed is checked whatever the interval method (it used to be ignored unless a
    bootstrap drew from it)."""
    import riskeval as rv

    x = np.array([[1, 2], [2, 2], [3, 3], [1, 1]], float)
    with pytest.raises(RiskevalError, match="seed must be a non-negative int"):
        getattr(rv, fn)(x, seed="abc")
    with pytest.raises(RiskevalError, match="seed must be a non-negative int"):
        getattr(rv, fn)(x, seed=-3, ci=None)
