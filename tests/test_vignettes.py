"""Vignettes, ground truth, offices and officers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

import riskeval as rv
from riskeval import RiskevalError
from riskeval.world.vignettes import (
    FEATURE_COLUMNS,
    NEED_COLUMNS,
    OFFENCE_TYPES,
    TRUTH_COLUMNS,
    base_case,
    factorial,
    population,
    validate_vignettes,
)


@pytest.fixture(scope="module")
def pop() -> pd.DataFrame:
    return population(40_000, seed=12)


def test_population_columns_and_ranges(pop):
    assert list(pop.columns) == ["case", *FEATURE_COLUMNS, *TRUTH_COLUMNS]
    assert pop["case"].is_unique
    assert set(pop["offence"]) == set(OFFENCE_TYPES)
    assert pop[list(NEED_COLUMNS)].isin([0, 1, 2]).all().all()
    assert (pop["age_first_sanction"] <= pop["age"]).all()
    first = pop["previous_sanctions"] == 0
    assert pop.loc[first, "years_since_last_sanction"].isna().all()
    assert pop.loc[~first, "years_since_last_sanction"].notna().all()
    assert pop["reference"].cat.ordered


def test_population_matches_its_documented_parameters(pop):
    """The documented calibration: reference shares 25/55/18/2 and sex and offence mixes."""
    share = pop["reference"].value_counts(normalize=True)
    for level, target in zip(rv.RISK_LEVELS, (0.25, 0.55, 0.18, 0.02), strict=True):
        assert abs(share[level] - target) < 0.015, (level, share[level])
    assert abs((pop["sex"] == "female").mean() - 0.10) < 0.01
    assert abs((pop["offence"] == "acquisitive").mean() - 0.26) < 0.01
    assert abs(pop["p_reconviction"].mean() - 0.38) < 0.02
    # needs load on one factor: areas are positively correlated
    c = np.corrcoef(pop[list(NEED_COLUMNS)].to_numpy(float).T)
    assert c[np.triu_indices(len(NEED_COLUMNS), 1)].min() > 0.05
    # openness is independent of true harm (so any weight on it is bias)
    assert abs(np.corrcoef(pop["openness"], pop["harm_latent"])[0, 1]) < 0.02


def test_population_is_keyed_by_case_id():
    small, large = population(5, seed=3), population(50, seed=3)
    pd.testing.assert_frame_equal(small, large.iloc[:5])   # more cases, same first five
    a = population(5, seed=3, ids=[f"C{i}" for i in range(5)])
    b = population(9, seed=3, ids=[f"C{i}" for i in range(9)])
    pd.testing.assert_frame_equal(a, b.iloc[:5])
    assert not population(5, seed=4, ids=list(a["case"]))["age"].equals(a["age"])


def test_truth_model_is_the_documented_formula(pop):
    tp = rv.world.vignettes.truth_params()
    row = pop.iloc[123]
    career = row["age"] - row["age_first_sanction"]
    copas = np.log((row["previous_sanctions"] + 1) / (10 + career))
    static = (tp["intercept"] + tp["copas"] * copas + tp["age_per_decade"] * (row["age"] - 30)
              / 10 + tp["female"] * (row["sex"] == "female") + tp[f"offence_{row['offence']}"])
    needs = sum(row[c] for c in NEED_COLUMNS)
    logit = static + tp["need_per_point"] * (needs - 7)
    assert row["actuarial_p"] == pytest.approx(special.expit(static))
    assert row["p_reconviction"] == pytest.approx(special.expit(logit))
    harm = (tp[f"harm_{row['offence']}"] + tp["harm_seriousness"] * (row["seriousness"] - 2)
            + tp["harm_reconviction"] * (logit + 0.4)
            + tp["harm_psychological"] * row["psychological_risk"])
    assert row["harm_latent"] == pytest.approx(harm)


def test_truth_responds_to_the_evidence_and_not_to_openness():
    f = factorial({"psychological_risk": [0, 1, 2], "openness": [0, 2],
                   "seriousness": [1, 3]})
    harm = f.groupby(["psychological_risk"])["harm_latent"].mean()
    assert harm.is_monotonic_increasing and harm.iloc[-1] - harm.iloc[0] > 0.9
    assert f.groupby("openness")["harm_latent"].mean().diff().iloc[-1] == 0
    assert f.groupby("seriousness")["harm_latent"].mean().diff().iloc[-1] > 0.7


def test_factorial_design():
    f = factorial({"offence": ["violence", "arson", "acquisitive"], "openness": [0, 2]},
                  replicates=2)
    assert len(f) == 12 and f["cell"].nunique() == 6
    assert (f.groupby("cell").size() == 2).all()
    held = [c for c in FEATURE_COLUMNS if c not in ("offence", "openness")]
    base = base_case()
    for c in held:
        assert (f[c] == base[c]).all() or (f[c].isna().all() and pd.isna(base[c])), c
    assert list(f.loc[f["cell"] == 1, ["offence", "openness"]].iloc[0]) == ["violence", 0]
    other = factorial({"age": [20, 60]}, base={"sex": "female"})
    assert (other["sex"] == "female").all()


@pytest.mark.parametrize(("factors", "match"), [
    ({"offence": ["burglary"]}, r"column 'offence' row 0: unknown value 'burglary'"),
    ({"need_drugs": [1]}, r"unknown vignette attribute 'need_drugs'.*did you mean "
                          r"'need_drug_misuse'"),
    ({"openness": [3]}, r"column 'openness' row 0: 3 is not a whole number from 0 to 2"),
    ({"accommodation": ["homeless"]}, r"unknown value 'homeless'"),
    ({"offence": []}, r"factor 'offence' has no levels"),
])
def test_factorial_errors_name_the_problem(factors, match):
    with pytest.raises(RiskevalError, match=match):
        factorial(factors)


def test_validate_vignettes_errors_and_never_modifies_input(pop):
    v = pop.head(10).copy()
    before = v.copy()
    bad = v.drop(columns=["openness"])
    with pytest.raises(RiskevalError, match=r"lacks column\(s\) \['openness'\]"):
        validate_vignettes(bad)
    dup = v.copy()
    dup.loc[3, "case"] = dup.loc[2, "case"]
    with pytest.raises(RiskevalError, match="appears more than once"):
        validate_vignettes(dup)
    late = v.copy()
    late.loc[4, "age_first_sanction"] = late.loc[4, "age"] + 1
    with pytest.raises(RiskevalError, match="row 4: age_first_sanction"):
        validate_vignettes(late)
    v["need_health"] = v["need_health"].astype(float)
    v.loc[0, "need_health"] = 1.5
    with pytest.raises(RiskevalError, match=r"'need_health' row 0: 1.5 is not a whole number"):
        validate_vignettes(v)
    pd.testing.assert_frame_equal(before, pop.head(10))
    with pytest.raises(RiskevalError, match="n must be a whole number"):
        population(0)


def test_a_panel_reference_is_kept():
    f = factorial({"offence": ["violence", "arson"]})
    f["reference"] = ["very high", "low"]
    out = validate_vignettes(f)
    assert list(out["reference"]) == ["very high", "low"]
    f["reference"] = ["severe", "low"]
    with pytest.raises(RiskevalError, match="'reference' row 0: 'severe' is not one of"):
        validate_vignettes(f)


def test_offices_and_officers_are_keyed_and_valid():
    offices = rv.world.raters.make_offices(6, seed=1)
    shares = offices[[f"share_{o}" for o in OFFENCE_TYPES]].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1)
    assert offices["override_rate"].between(0, 1).all()
    three = rv.world.raters.make_officers(offices, 3, seed=1)
    five = rv.world.raters.make_officers(offices, 5, seed=1)
    merged = three.merge(five, on="officer", suffixes=("", "_5"))
    assert len(merged) == len(three)
    for c in three.columns.drop("officer"):
        assert (merged[c] == merged[f"{c}_5"]).all(), c
    assert set(five["route"]) <= {"CQSW", "DipPS", "PQiP"}
    qualified = 2020 - five["experience_years"]
    assert (five.loc[qualified >= 2010, "route"] == "PQiP").all()
    for col in ("actuarial_weight", "inflation_tendency", "anchoring_strength"):
        assert five[col].between(0, 1).all()
    assert (five["age"] >= 23 + five["experience_years"] - 1).all()
    seven = rv.world.raters.make_offices(7, seed=1)
    pd.testing.assert_frame_equal(seven.iloc[:6], offices)


def test_raters_errors():
    offices = rv.world.raters.make_offices(2, seed=1)
    with pytest.raises(RiskevalError, match="per_office names unknown office 'Office 9'"):
        rv.world.raters.make_officers(offices, {"Office 9": 2})
    with pytest.raises(RiskevalError, match="gives no officers"):
        rv.world.raters.make_officers(offices, 0)
    with pytest.raises(RiskevalError, match=r"offices\.override_mean must be a probability"):
        rv.world.raters.make_offices(2, params={"override_mean": 2})
    with pytest.raises(RiskevalError, match="officers has no parameter 'noise'"):
        rv.world.raters.make_officers(offices, 2, params={"noise": 1})
    with pytest.raises(RiskevalError, match="names must be unique"):
        rv.world.raters.make_offices(["A", "A"])
