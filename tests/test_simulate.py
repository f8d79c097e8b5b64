"""The generative world: reproducibility, independence of streams, ablations, errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval import RiskevalError
from riskeval.world.engine import MECHANISMS, Allocation, disagreement_statistics
from riskeval.world.vignettes import thresholds, truth_params

LATENT = ("offence_over_offender", "generic_factors", "psychological_ignored", "office_practice",
          "who_assesses", "familiarity", "actuarial_distrust", "trust_honesty", "noise")


@pytest.fixture(scope="module")
def world() -> rv.World:
    return rv.world.scenarios.six_office_study()


@pytest.fixture(scope="module")
def big() -> rv.World:
    """Twelve offices x ten officers x 150 cases: 18,000 ratings."""
    return rv.world.scenarios.six_office_study(n_offices=12, officers_per_office=10,
                                               n_vignettes=150, seed=77)


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def _code(col: pd.Series) -> np.ndarray:
    return col.cat.codes.to_numpy().astype(int)


# -- reproducibility and independent streams ---------------------------------------------------

def test_same_seed_same_bytes_and_different_seeds_differ(world):
    a, b = rv.simulate(world, seed=1), rv.simulate(world, seed=1)
    assert _digest(a) == _digest(b)
    pd.testing.assert_frame_equal(a, b)
    c = rv.simulate(world, seed=2)
    assert (a["latent"] != c["latent"]).mean() > 0.99
    assert (a["rating"] != c["rating"]).mean() > 0.1


def test_seed_forms_agree(world):
    a = rv.simulate(world, seed=5)
    b = rv.simulate(world, seed=np.random.SeedSequence(5))
    pd.testing.assert_frame_equal(a, b)
    g1 = rv.simulate(world, seed=np.random.default_rng(9))
    g2 = rv.simulate(world, seed=np.random.default_rng(9))
    pd.testing.assert_frame_equal(g1, g2)


def test_module_is_callable_and_function_agree(world):
    pd.testing.assert_frame_equal(rv.simulate(world, seed=3), rv.world.simulate(world, 3))


def _common(small: pd.DataFrame, large: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = ["case", "officer", "occasion"]
    s = small.assign(**{k: small[k].astype(str) for k in ("case", "officer", "office")})
    g = large.assign(**{k: large[k].astype(str) for k in ("case", "officer", "office")})
    g = g.merge(s[keys], on=keys)
    return (s.sort_values(keys).reset_index(drop=True),
            g.sort_values(keys).reset_index(drop=True))


def test_adding_officers_offices_or_cases_leaves_existing_ratings_unchanged():
    small = rv.simulate(rv.world.scenarios.six_office_study(), seed=11)
    for bigger in (rv.world.scenarios.six_office_study(officers_per_office=9),
                   rv.world.scenarios.six_office_study(n_offices=7),
                   rv.world.scenarios.six_office_study(n_vignettes=30)):
        large = rv.simulate(bigger, seed=11)
        assert len(large) > len(small)
        s, g = _common(small, large)
        assert len(g) == len(s)
        pd.testing.assert_frame_equal(s, g[s.columns])


def test_switching_one_mechanism_off_leaves_other_draws_unchanged(world):
    world = world.with_mechanisms(central_tendency=True)  # every component on
    full = rv.simulate(world, seed=4)
    for m in MECHANISMS:
        off = rv.simulate(world.with_mechanisms(**{m: False}), seed=4)
        assert f"changed_by_{m}" not in off
        # on one occasion, a rating can only differ where the mechanism itself was pivotal
        differs = (_code(full["rating"]) != _code(off["rating"]))
        assert not (differs & ~full[f"changed_by_{m}"].to_numpy()).any(), m
        if m not in LATENT and m != "time_resources":
            np.testing.assert_array_equal(full["latent"], off["latent"])


# -- the reference is reproduced when nothing distorts it --------------------------------------

@pytest.mark.parametrize("design", [
    Allocation(), Allocation(allocation="incomplete", vignettes_per_officer=5),
    Allocation(allocation="caseload", second_assessor=0.5),
    Allocation(occasions=3, evidence_change_sd=0.7),
])
def test_everything_off_reproduces_the_reference(world, design):
    calm = world.only(noise=False).with_design(design)
    assert calm.enabled == ()
    r = rv.simulate(calm, seed=8)
    assert len(r) > 0
    assert (r["rating"] == r["reference"]).all()
    np.testing.assert_allclose(r["latent"], r["true_latent"])
    assert not r.filter(like="changed_by_").columns.size
    if design.evidence_change_sd:
        assert (r.groupby("case", observed=True)["reference"].nunique() > 1).any()


def test_reference_is_the_cut_truth(world):
    r = rv.simulate(world, seed=1)
    cuts = thresholds(truth_params())
    np.testing.assert_array_equal(_code(r["reference"]),
                                  np.searchsorted(cuts, r["true_latent"], side="right"))
    v = world.vignettes.set_index("case")
    np.testing.assert_allclose(r["true_latent"], v.loc[r["case"].astype(str), "harm_latent"])


# -- ablations: each mechanism moves its statistic in the intended direction --------------------

def _stats(w: rv.World, seed: int = 5) -> dict[str, float]:
    return disagreement_statistics(rv.simulate(w, seed=seed))


def test_inflation_only_ever_raises_and_grows_with_scrutiny_over_time(big):
    on = rv.simulate(big, seed=6)
    off = rv.simulate(big.with_mechanisms(defensive_inflation=False), seed=6)
    assert (_code(on["rating"]) >= _code(off["rating"])).all()
    up_on = disagreement_statistics(on)["upward"]
    up_off = disagreement_statistics(off)["upward"]
    assert up_on - up_off > 0.08, (up_on, up_off)
    early = rv.simulate(big.with_design(start_year=2015.0), seed=6)
    late = rv.simulate(big.with_design(start_year=2025.0), seed=6)
    share = [f["changed_by_defensive_inflation"].mean() for f in (early, late)]
    assert share[1] - share[0] > 0.05, share


def test_inflation_as_a_latent_shift_is_exactly_tendency_times_pressure(world):
    w = world.only("defensive_inflation", noise=False).with_mechanisms(
        defensive_inflation={"form": "shift", "shift": 0.7}).with_design(occasions=2,
                                                                         interval_years=4.0)
    r = rv.simulate(w, seed=3)
    off = w.offices.set_index("office")
    ofc = w.officers.set_index("officer")
    o = r["officer"].astype(str)
    f = off.loc[ofc.loc[o, "office"]]
    pressure = np.maximum(0.0, f["scrutiny"].to_numpy()
                          + f["scrutiny_trend"].to_numpy() * (r["year"].to_numpy()
                                                              - f["base_year"].to_numpy()))
    want = 0.7 * ofc.loc[o, "inflation_tendency"].to_numpy() * pressure
    np.testing.assert_allclose(r["latent"] - r["true_latent"], want, atol=1e-12)
    assert (_code(r["rating"]) >= _code(r["reference"])).all()
    # the flag marks exactly the ratings the shift moved out of the reference band
    moved = _code(r["rating"]) != _code(r["reference"])
    assert moved.any()
    np.testing.assert_array_equal(r["changed_by_defensive_inflation"].to_numpy(), moved)
    # the step form is unchanged by the new parameters' defaults
    step = rv.simulate(world, seed=3)
    same = rv.simulate(world.with_mechanisms(defensive_inflation={"form": "step",
                                                                  "shift": 9.0}), seed=3)
    pd.testing.assert_frame_equal(step, same)


def test_office_practice_drives_the_between_office_share(big):
    alone = _stats(big.only("office_practice"))
    none = _stats(big.only())
    assert alone["office_share"] > 0.10, alone
    assert none["office_share"] < 0.02, none
    full = _stats(big)
    without = _stats(big.with_mechanisms(office_practice=False))
    assert without["office_share"] < 0.5 * full["office_share"], (full, without)


def test_who_assesses_drives_the_between_officer_share(big):
    full = _stats(big)
    without = _stats(big.with_mechanisms(who_assesses=False))
    assert without["officer_share"] < 0.6 * full["officer_share"], (full, without)


def test_anchoring_suppresses_downgrades_when_evidence_falls(world):
    w = rv.world.scenarios.six_office_study(n_vignettes=200).with_design(occasions=2,
                                                                   evidence_change_sd=0.6)

    def shares(ww: rv.World) -> tuple[float, float]:
        r = rv.simulate(ww, seed=3)
        a, b = r[r["occasion"] == 0], r[r["occasion"] == 1]
        dh = b["true_latent"].to_numpy() - a["true_latent"].to_numpy()
        dr = _code(b["rating"]) - _code(a["rating"])
        return float(np.mean(dr[dh < 0] < 0)), float(np.mean(dr[dh > 0] > 0))

    down_off, up_off = shares(w.with_mechanisms(anchoring=False))
    down_on, up_on = shares(w)
    assert abs(down_off - up_off) < 0.05, (down_off, up_off)   # as likely as upgrades
    assert up_on - down_on > 0.08, (down_on, up_on)             # downgrades suppressed
    assert down_off - down_on > 0.08
    assert abs(up_on - up_off) < 0.01                           # upgrades untouched


def _signed_error(r: pd.DataFrame) -> np.ndarray:
    return r["latent"].to_numpy() - r["true_latent"].to_numpy()


def _case_attr(world: rv.World, r: pd.DataFrame, col: str) -> np.ndarray:
    return world.vignettes.set_index("case").loc[r["case"].astype(str), col].to_numpy()


@pytest.mark.parametrize(("mechanism", "attribute", "sign"), [
    ("offence_over_offender", "harm_offence", +1),
    ("generic_factors", "need_drug_misuse", +1),
    ("psychological_ignored", "psychological_risk", -1),
    ("trust_honesty", "openness", -1),
    ("actuarial_distrust", "harm_offender", -1),
])
def test_case_level_mechanisms_bias_in_their_direction(big, mechanism, attribute, sign):
    """Alone, the mechanism correlates the officer's error with the case attribute it reads."""
    r = rv.simulate(big.only(mechanism, noise=False), seed=2)
    corr = np.corrcoef(_signed_error(r), _case_attr(big, r, attribute))[0, 1]
    assert sign * corr > 0.3, corr
    r0 = rv.simulate(big.only(noise=True), seed=2)
    corr0 = np.corrcoef(_signed_error(r0), _case_attr(big, r0, attribute))[0, 1]
    assert abs(corr0) < 0.05, corr0


def test_familiarity_lowers_ratings_of_locally_common_offences(big):
    r = rv.simulate(big.only("familiarity", noise=False), seed=2)
    offices = big.offices.set_index("office")
    local = np.array([offices.loc[o, f"share_{k}"] for o, k in
                      zip(r["office"].astype(str), _case_attr(big, r, "offence"), strict=True)])
    national = np.array([rv.world.vignettes.population_params()[f"share_{k}"]
                         for k in _case_attr(big, r, "offence")])
    exp_ = big.officers.set_index("officer").loc[r["officer"].astype(str),
                                                 "experience_years"].to_numpy()
    # locally common types and long experience both mean familiarity, hence lower ratings
    assert np.corrcoef(_signed_error(r), np.log((local + .01) / (national + .01)))[0, 1] < -0.5
    assert np.corrcoef(_signed_error(r), np.log1p(exp_))[0, 1] < -0.3


def test_time_resources_more_hours_higher_and_skipped_reviews_stick(big):
    w = big.with_design(occasions=2, evidence_change_sd=0.8)
    r = rv.simulate(w.only("time_resources", noise=True), seed=2)
    hours = big.officers.set_index("officer").loc[r["officer"].astype(str),
                                                  "hours_per_assessment"].to_numpy()
    assert np.corrcoef(_signed_error(r), np.log(hours))[0, 1] > 0.2

    def unchanged(ww: rv.World) -> float:
        rr = rv.simulate(ww, seed=2)
        return float(np.mean(_code(rr[rr["occasion"] == 1]["rating"])
                             == _code(rr[rr["occasion"] == 0]["rating"])))

    assert unchanged(w.only("time_resources")) - unchanged(w.only()) > 0.05


def test_resource_raising_lifts_homeless_and_recall_cases_to_high(big):
    on = rv.simulate(big.only("resource_raising"), seed=2)
    off = rv.simulate(big.only(), seed=2)
    needy = (_case_attr(big, on, "accommodation") == "no fixed abode") | _case_attr(
        big, on, "recall").astype(bool)
    raised = _code(on["rating"]) != _code(off["rating"])
    assert raised.any()
    assert not (raised & ~needy).any()
    assert (_code(on["rating"])[raised] == 2).all()
    assert (_code(off["rating"])[raised] == 1).all()
    assert on["changed_by_resource_raising"].to_numpy()[raised].all()


def test_manager_override_follows_the_office_rate(big):
    w = big.only("manager_override")
    r = rv.simulate(w, seed=2)
    by_office = r.groupby("office", observed=True)["changed_by_manager_override"].mean()
    rate = big.offices.set_index("office")["override_rate"].loc[by_office.index.astype(str)]
    assert np.corrcoef(by_office.to_numpy(), rate.to_numpy())[0, 1] > 0.7
    r_high = rv.simulate(big.with_mechanisms(manager_override={"rate_scale": 3.0}), seed=2)
    assert (r_high["changed_by_manager_override"].mean()
            > 2 * rv.simulate(big, seed=2)["changed_by_manager_override"].mean())


def test_mechanism_effects_table(world):
    eff = rv.mechanism_effects(world, seed=1, mechanisms=["defensive_inflation",
                                                          "office_practice"])
    assert set(eff["mechanism"]) == {"defensive_inflation", "office_practice"}
    up = eff.query("mechanism == 'defensive_inflation' and statistic == 'upward'").iloc[0]
    assert up["effect"] > 0.05
    np.testing.assert_allclose(up["effect"], up["with_all"] - up["without"])
    full = disagreement_statistics(rv.simulate(world, seed=1))
    assert up["with_all"] == pytest.approx(full["upward"])
    custom = rv.mechanism_effects(world, seed=1, mechanisms=["noise"],
                                  statistics={"n": lambda r: float(len(r))})
    assert custom.query("statistic == 'n'")["effect"].iloc[0] == 0


# -- designs ------------------------------------------------------------------------------------

def test_output_schema_and_agreement_compatibility(world):
    r = rv.simulate(world, seed=1)
    assert list(r.columns[:10]) == ["case", "officer", "office", "occasion", "rating",
                                    "officer_rating", "reference", "year", "latent",
                                    "true_latent"]
    moved = r["rating"] != r["officer_rating"]
    assert moved.any() and (r.loc[moved, "changed_by_manager_override"]).all()
    assert not (moved & ~r["changed_by_manager_override"]).any()
    assert r["rating"].cat.ordered and list(r["rating"].cat.categories) == list(rv.RISK_LEVELS)
    assert len(r) == 24 * 48
    assert r.groupby("officer", observed=True).size().eq(24).all()
    res = rv.krippendorff_alpha(r, case="case", rater="officer", rating="rating",
                                level="ordinal")
    assert 0 < res.estimate < 1
    assert res.n_raters == 48 and res.n_cases == 24


def test_incomplete_design_is_balanced(world):
    r = rv.simulate(world.with_design(allocation="incomplete", vignettes_per_officer=6), seed=1)
    assert r.groupby("officer", observed=True).size().eq(6).all()
    per_case = r.groupby("case", observed=True).size()
    assert per_case.max() - per_case.min() <= 1 and per_case.sum() == 48 * 6


def test_caseload_design_allocates_by_local_offence_mix():
    w = rv.world.scenarios.national(n_offices=10, officers_per_office=5, n_cases=4000, seed=3,
                              design=Allocation(allocation="caseload", second_assessor=0.2))
    r = rv.simulate(w, seed=1)
    counts = r.groupby("case", observed=True).size()
    assert set(counts.unique()) <= {1, 2}
    assert abs((counts == 2).mean() - 0.2) < 0.03
    both = r[r["case"].isin(counts.index[counts == 2])]
    assert both.groupby("case", observed=True)["office"].nunique().eq(1).all()
    first = r.drop_duplicates("case")
    offence = first["case"].astype(str).map(w.vignettes.set_index("case")["offence"])
    share = pd.crosstab(first["office"].astype(str), offence, normalize="columns")
    local = w.offices.set_index("office")[[f"share_{k}" for k in share.columns]]
    local.columns = share.columns
    local = local / local.sum(axis=0)        # P(office | offence type) with equal staffing
    # offices receive more of the offence types that are locally common
    corr = np.corrcoef(share.to_numpy().ravel(), local.loc[share.index].to_numpy().ravel())[0, 1]
    assert corr > 0.8, corr


def test_repeated_occasions_have_calendar_years(world):
    r = rv.simulate(world.with_design(occasions=3, interval_years=1.0, start_year=2019.0),
                    seed=1)
    assert sorted(r["year"].unique()) == [2019.0, 2020.0, 2021.0]
    assert (r.groupby("occasion")["year"].nunique() == 1).all()


# -- parameters and provenance ------------------------------------------------------------------

def test_parameters_table_lists_every_number_with_provenance(world):
    p = world.parameters()
    assert set(p["component"]) >= set(MECHANISMS) | {"design", "population", "truth",
                                                       "offices", "officers"}
    assert p["provenance"].str.len().gt(10).all()
    mech = p[p["component"].isin(MECHANISMS)]
    assert mech["is_assumption"].all()      # the study gives no effect sizes
    assert not p.loc[p["parameter"] == "allocation", "is_assumption"].any()
    off = world.with_mechanisms(anchoring=False).parameters()
    assert not off.loc[off["component"] == "anchoring", "enabled"].any()
    assert len(world.mechanisms) == 15 and world.mechanisms[-1] == "noise"
    changed = world.with_mechanisms(defensive_inflation={"strength": 0.9}).parameters()
    row = changed.query("component == 'defensive_inflation' and parameter == 'strength'")
    assert row["value"].iloc[0] == 0.9


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "match"), [
    ({"office_practice": {"sd": -0.1}}, r"office_practice\.sd must be a finite number >= 0"),
    ({"resource_raising": {"recall": 1.2}}, r"resource_raising\.recall must be a probability"),
    ({"defensive_inflaton": False}, r"unknown mechanism 'defensive_inflaton'.*did you mean "
                                    r"'defensive_inflation'"),
    ({"anchoring": {"strenght": 1}}, r"anchoring has no parameter 'strenght'.*did you mean"),
    ({"generic_factors": {"areas": ["drugs"]}}, r"generic_factors\.areas.*'drugs'"),
    ({"anchoring": {"from_level": "severe"}}, r"from_level must be one of"),
    ({"noise": "off"}, r"takes True, False or a dict"),
])
def test_bad_mechanism_settings_are_named(world, kwargs, match):
    with pytest.raises((RiskevalError, TypeError), match=match):
        world.with_mechanisms(**kwargs)


def test_bad_design_staff_and_seed(world):
    with pytest.raises(RiskevalError, match="allocation must be one of"):
        world.with_design(allocation="random")
    with pytest.raises(RiskevalError, match="occasions must be a whole number"):
        Allocation(occasions=0)
    with pytest.raises(RiskevalError, match="has no field 'occasion'"):
        world.with_design(occasion=2)
    with pytest.raises(RiskevalError, match="vignettes_per_officer is 30 but there are only 24"):
        rv.simulate(world.with_design(allocation="incomplete", vignettes_per_officer=30))
    officers = world.officers
    officers.loc[3, "actuarial_weight"] = 1.5
    with pytest.raises(RiskevalError, match=r"column 'actuarial_weight' row 3: 1.5 is not a "
                                            r"probability"):
        world.with_staff(officers=officers)
    officers = world.officers
    officers.loc[0, "office"] = "Atlantis"
    with pytest.raises(RiskevalError, match="office 'Atlantis' is not in the offices table"):
        world.with_staff(officers=officers)
    with pytest.raises(RiskevalError, match="seed must be a non-negative int"):
        rv.simulate(world, seed=-1)
    with pytest.raises(TypeError, match="seed must be"):
        rv.simulate(world, seed="one")
    with pytest.raises(TypeError, match="needs a riskeval World"):
        rv.simulate(pd.DataFrame(), seed=1)


def test_world_is_not_modified_in_place(world):
    before = world.parameters()
    world.with_mechanisms(noise=False, office_practice={"sd": 1.0})
    world.with_design(occasions=4)
    v = world.vignettes
    v.loc[0, "age"] = 99
    pd.testing.assert_frame_equal(before, world.parameters())
    assert world.vignettes.loc[0, "age"] != 99 or v is not world.vignettes
    assert world.design.occasions == 1


def test_sensitivity_curve_is_monotone_in_inflation_strength(world):
    curve = rv.world.sensitivity(world, "defensive_inflation", "strength", [0.0, 0.5, 1.0, 2.0],
                                    seed=3)
    up = curve.query("statistic == 'upward'").set_index("value")["estimate"]
    assert up.is_monotonic_increasing and up[2.0] - up[0.0] > 0.1
    zero = disagreement_statistics(rv.simulate(world.with_mechanisms(defensive_inflation=False),
                                               seed=3))["upward"]
    assert up[0.0] == pytest.approx(zero)     # strength 0 is the mechanism switched off
    with pytest.raises(RiskevalError, match="must be a finite number >= 0"):
        rv.world.sensitivity(world, "defensive_inflation", "strength", [-1.0])


# -- one seed rule and result protocol -----------------------------------------------------------

def test_seed_defaults_to_fresh_entropy_and_generators_are_accepted_everywhere():
    small = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3, n_vignettes=6)
    a, b = rv.simulate(small), rv.simulate(small)  # seed None: fresh entropy each call
    assert len(a) == len(b) == 36 and not a["latent"].equals(b["latent"])
    offices = rv.world.raters.make_offices(2, np.random.default_rng(1))
    rv.world.raters.make_officers(offices, 2, np.random.default_rng(1))
    rv.world.vignettes.population(3, np.random.default_rng(1))
    w1 = rv.world.scenarios.six_office_study(n_offices=2, seed=np.random.default_rng(4))
    entropy = w1.parameters().set_index("parameter").loc["world_seed", "value"]
    w2 = rv.world.scenarios.six_office_study(n_offices=2, seed=entropy)
    pd.testing.assert_frame_equal(w1.officers, w2.officers)
    pd.testing.assert_frame_equal(rv.world.scenarios.six_office_study(seed=2020).vignettes,
                                  rv.world.scenarios.six_office_study().vignettes)
    eff = rv.mechanism_effects(small, seed=np.random.default_rng(3), mechanisms=["noise"])
    assert len(eff) == 7


def test_statistics_and_effects_follow_the_result_protocol(world):
    from riskeval._core.results import SeriesResult, TableResult

    stats = disagreement_statistics(rv.simulate(world, seed=1))
    assert isinstance(stats, SeriesResult) and stats.to_frame().shape == (7, 1)
    assert stats["upward"] == pytest.approx(stats.upward)
    assert "Disagreement" in stats.summary() and "<table" in stats._repr_html_()
    eff = rv.mechanism_effects(world, seed=1, mechanisms=["anchoring"])
    assert isinstance(eff, TableResult) and "anchoring" in eff.summary()
    assert type(eff.to_frame()) is pd.DataFrame
    curve = rv.world.sensitivity(world, "anchoring", "strength", [0.5], seed=1)
    assert isinstance(curve, TableResult) and "anchoring.strength" in curve.summary()


def test_effects_and_sensitivity_draw_their_figures(world):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eff = rv.mechanism_effects(world, seed=1, mechanisms=["noise", "office_practice"])
    ax = eff.plot("office_share")
    assert len(ax.patches) == 2 and "office_share" in ax.get_xlabel()
    with pytest.raises(RiskevalError, match="statistic 'ofice_share' is not in the table"):
        eff.plot("ofice_share")
    curve = rv.world.sensitivity(world, "anchoring", "from_level", ["medium", "high"], seed=1)
    ax = curve.plot()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["medium", "high"]
    plt.close("all")
