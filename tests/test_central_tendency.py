"""The central-tendency mechanism (issue 17, item 3): a classic rater effect, off by default.

An officer pulls a rating at either end of the scale one level toward the middle with
probability ``strength * centrality_o``. Checked here: worlds as before are unchanged; only end
ratings move, one level inward, and only those flagged; the share moved matches the officers'
chances; strength 0 is the mechanism off; a table without the trait is refused by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskeval as rv

LEVELS = list(rv.RISK_LEVELS)


@pytest.fixture(scope="module")
def world():
    return rv.world.scenarios.six_office_study()


def codes(frame: pd.DataFrame) -> np.ndarray:
    return pd.Categorical(frame["rating"], categories=LEVELS, ordered=True).codes


def test_off_by_default_and_named_in_the_summary(world):
    assert "central_tendency" in world.mechanisms
    assert "central_tendency" not in world.enabled
    assert "off: central_tendency" in world.summary()
    table = world.parameters()
    row = table[(table["component"] == "central_tendency") & (table["parameter"] == "strength")]
    assert len(row) == 1 and bool(row["is_assumption"].iloc[0])


@pytest.mark.parametrize("seed", range(5))
def test_only_end_ratings_move_one_level_inward(world, seed):
    # alone (with noise): every pull shows in the rating
    off = rv.simulate(world.only(), seed=seed)
    on = rv.simulate(world.only("central_tendency"), seed=seed)
    a, b = codes(off), codes(on)
    pulled = on["changed_by_central_tendency"].to_numpy()
    moved = a != b
    assert moved.any()
    np.testing.assert_array_equal(moved, pulled)        # moved exactly where flagged
    assert set(a[moved]) <= {0, 3}                      # only from the ends
    np.testing.assert_array_equal(b[moved], np.where(a[moved] == 0, 1, 2))  # one level in
    same = [c for c in off.columns if c not in ("rating", "officer_rating")]
    pd.testing.assert_frame_equal(off[same], on[same])  # the other draws are as they were
    # with every mechanism: a rating differs only where the pull was pivotal
    full_off = rv.simulate(world, seed=seed)
    full_on = rv.simulate(world.with_mechanisms(central_tendency=True), seed=seed)
    differs = codes(full_off) != codes(full_on)
    assert not (differs & ~full_on["changed_by_central_tendency"].to_numpy()).any()


def test_the_share_pulled_matches_the_officers_chances(world):
    strength = 1.5
    officers = rv.world.raters.make_officers(world.offices, 40, seed=5)
    staffed = world.with_staff(officers=officers)
    off = rv.simulate(staffed.only(), seed=11)
    on = rv.simulate(staffed.only("central_tendency").with_mechanisms(
        central_tendency={"strength": strength}), seed=11)
    at_end = np.isin(codes(off), [0, 3])
    trait = officers.set_index("officer").loc[off["officer"], "centrality"].to_numpy()
    chance = np.minimum(1.0, strength * trait)[at_end]
    observed = on["changed_by_central_tendency"].to_numpy()[at_end].sum()
    sd = np.sqrt((chance * (1 - chance)).sum())
    assert abs(observed - chance.sum()) < 4 * sd, (observed, chance.sum(), sd)


def test_strength_zero_is_the_mechanism_off(world):
    off = rv.simulate(world, seed=2)
    zero = rv.simulate(world.with_mechanisms(central_tendency={"strength": 0.0}), seed=2)
    np.testing.assert_array_equal(codes(off), codes(zero))
    assert not zero["changed_by_central_tendency"].any()


def test_officers_without_the_trait_are_refused_by_name(world):
    staff = world.officers.drop(columns="centrality")
    bare = world.with_staff(officers=staff)
    rv.simulate(bare, seed=1)                           # off: not needed
    with pytest.raises(rv.RiskevalError, match=r"central_tendency.*'centrality'"):
        rv.simulate(bare.with_mechanisms(central_tendency=True), seed=1)


def test_adding_the_trait_left_the_other_traits_unchanged():
    """Each officer trait has its own keyed stream: the new one did not move the others
    (values drawn before the trait existed, seed 1, recorded here)."""
    offices = rv.world.raters.make_offices(["North"], seed=1)
    officers = rv.world.raters.make_officers(offices, 2, seed=1)
    assert "centrality" in officers and officers["centrality"].between(0, 1).all()
    before = [[-0.34105989337, 0.860959998401, 0.345644727115, 7.200387750686],
              [1.149556159973, 0.878940786681, 0.543333772673, 1.631576527502]]
    np.testing.assert_allclose(officers[["severity", "noise_factor", "anchoring_strength",
                                         "hours_per_assessment"]].to_numpy(), before,
                               rtol=0, atol=1e-11)
    more = rv.world.raters.make_officers(offices, 3, seed=1)
    pd.testing.assert_frame_equal(officers, more.head(2))
