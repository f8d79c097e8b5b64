"""The checked ratings object (issue 16, item 2): validated once, accepted by every analysis.

Every analysis given :class:`riskeval.Ratings` must return exactly what it returns for the
same DataFrame with its column names, on random designs (sparse, tied, two raters, officer
ids repeated across offices); the table must not be checked again; it cannot be changed
behind the analyses' back; and a role it lacks is asked for by name.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
import riskeval.data.ratings as ratings_module
from riskeval.errors import RiskevalError, RiskevalTypeError

LEVELS = list(rv.RISK_LEVELS)


def random_design(seed: int) -> pd.DataFrame:
    """Officers numbered within offices, a random share of cells not rated, levels with
    ties, a reference level, an original (pre-override) rating and a cohort."""
    rng = np.random.default_rng(seed)
    n_offices = int(rng.integers(2, 4))
    per = int(rng.integers(2, 5))
    n_cases = int(rng.integers(4, 12))
    keep = rng.uniform(0.5, 1.0)
    truth = rng.integers(0, 4, n_cases)
    rows = []
    for f in range(n_offices):
        for k in range(per):
            lean = rng.integers(-1, 2)
            for c in range(n_cases):
                if rng.uniform() > keep and c > 1:
                    continue
                level = int(np.clip(truth[c] + lean + rng.integers(-1, 2), 0, 3))
                original = int(np.clip(level - rng.integers(0, 2), 0, 3))
                rows.append({"vignette": f"v{c}", "officer": k + 1, "office": f"O{f}",
                             "rosh": LEVELS[level], "evidence": LEVELS[truth[c]],
                             "own": LEVELS[original], "cohort": "A" if k % 2 else "B"})
    return pd.DataFrame(rows)


ROLES = dict(case="vignette", rater="officer", rating="rosh", office="office")


def checked(frame: pd.DataFrame, **extra) -> rv.Ratings:
    return rv.Ratings(frame, **ROLES, categories=LEVELS, **extra)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The DataFrame path: officers keyed within offices as the object keys them."""
    return rv.validate_ratings(frame, **ROLES, categories=LEVELS)


def same(a, b) -> None:
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)


COEFFICIENTS = [
    (rv.percent_agreement, {}), (rv.fleiss_kappa, {}), (rv.gwet_ac, {}),
    (rv.brennan_prediger, {}), (rv.krippendorff_alpha, {"level": "ordinal"}),
    (rv.krippendorff_alpha, {"level": "nominal"}), (rv.gwet_ac, {"weights": "quadratic"}),
]


@pytest.mark.parametrize("seed", range(24))
def test_agreement_is_the_same_from_the_object_and_from_the_frame(seed):
    frame = random_design(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj, clean = checked(frame), plain(frame)
        cols = dict(case="vignette", rater="officer", rating="rosh")
        for fn, kw in COEFFICIENTS:
            same(fn(obj, **kw), fn(clean, **cols, **kw))
        same(rv.icc(obj), rv.icc(clean, **cols))
        pd.testing.assert_frame_equal(
            rv.agreement_summary(obj, level="ordinal", confidence=0.9).to_frame(),
            rv.agreement_summary(clean, **cols, level="ordinal", confidence=0.9).to_frame())
        a = rv.agreement.pairwise_agreement(obj)
        b = rv.agreement.pairwise_agreement(clean, **cols)
        pd.testing.assert_frame_equal(a.matrix, b.matrix)
        pd.testing.assert_frame_equal(
            rv.by_group(rv.fleiss_kappa, obj, group="office").to_frame(),
            rv.by_group(rv.fleiss_kappa, clean, group="office", **cols).to_frame())


@pytest.mark.parametrize("seed", range(12))
def test_bias_models_and_cohorts_are_the_same_from_the_object(seed):
    frame = random_design(100 + seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = checked(frame, reference="evidence", cohort="cohort")
        clean = rv.validate_ratings(frame, **ROLES, reference="evidence", cohort="cohort",
                                    categories=LEVELS).assign(own=frame["own"].to_numpy())
    bias = rv.variation.bias
    cols = dict(rating="rosh", reference="evidence")
    same(bias.directional(obj, by="office"), bias.directional(clean, **cols, by="office"))
    assert bias.symmetry(obj).statistic == bias.symmetry(clean, **cols).statistic
    same(bias.overrides(obj, original="own", by="office"),
         bias.overrides(clean, original="own", by="office", categories=LEVELS, **cols))
    kw = dict(statistic="alpha", n_boot=50, n_perm=50, seed=seed)
    a = rv.studies.cohorts.compare_cohorts(obj, **kw)
    b = rv.studies.cohorts.compare_cohorts(clean, cohort="cohort", case="vignette",
                                           rater="officer", rating="rosh", **kw)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_the_ordinal_model_is_the_same_from_the_object():
    frame = random_design(7)
    obj, clean = checked(frame), plain(frame)
    a = rv.variation.ordinal_mixed(obj)
    b = rv.variation.ordinal_mixed(clean, rating="rosh", case="vignette", rater="officer",
                                   office="office")
    assert a.loglik == b.loglik
    pd.testing.assert_frame_equal(a.sd, b.sd)


def test_analyses_of_the_object_do_not_check_it_again(monkeypatch):
    frame = random_design(3)
    full = []
    step = ratings_module._clean_ids

    def counted(col, role, name):
        if role == "case":
            full.append(len(col))
        return step(col, role, name)
    monkeypatch.setattr(ratings_module, "_clean_ids", counted)
    obj = checked(frame, reference="evidence")
    assert full == [len(frame)]
    rv.krippendorff_alpha(obj, level="ordinal")
    rv.fleiss_kappa(obj)
    rv.agreement_summary(obj)
    rv.by_group(rv.gwet_ac, obj, group="office")
    rv.validate_ratings(obj)
    assert full == [len(frame)]
    # other categories than those checked: checked again, for them
    rv.fleiss_kappa(obj, categories=[*LEVELS, "extreme"])
    assert len(full) == 2


def test_the_wide_form_is_built_once():
    obj = checked(random_design(4))
    first = rv.as_ratings(obj)
    assert rv.as_ratings(obj) is first and obj.wide is first


def test_the_object_cannot_be_changed_behind_the_analyses_back():
    frame = random_design(5)
    obj = checked(frame)
    before = rv.fleiss_kappa(obj).estimate
    copy = obj.to_frame()
    copy["rosh"] = pd.Categorical(["low"] * len(copy), categories=LEVELS, ordered=True)
    frame["rosh"] = "low"                      # the user's table: the object took a copy
    assert rv.fleiss_kappa(obj).estimate == before
    assert not hasattr(obj, "__setitem__")


def test_a_column_given_by_name_wins_and_a_missing_role_is_asked_for():
    frame = random_design(6)
    obj = checked(frame)
    # another rating column kept in the table (the officer's own, before the manager)
    own = rv.fleiss_kappa(obj, rating="own", categories=LEVELS).estimate
    direct = rv.fleiss_kappa(plain(frame).assign(own=frame["own"].to_numpy()),
                             case="vignette", rater="officer", rating="own",
                             categories=LEVELS).estimate
    assert own == direct
    with pytest.raises(RiskevalError, match=r"reference=.*no such role"):
        rv.variation.bias.directional(obj)
    with pytest.raises(RiskevalError, match=r"reference=.*riskeval.Ratings"):
        rv.variation.bias.directional(frame, rating="rosh")
    with pytest.raises(RiskevalError, match=r"no office column"):
        one = frame[frame["office"] == "O0"].drop(columns="office")
        next(rv.Ratings(one, case="vignette", rater="officer", rating="rosh").by("office"))
    with pytest.raises(RiskevalTypeError, match=r"DataFrame or riskeval\.Ratings; got list"):
        rv.variation.bias.symmetry([[1, 2]], rating="a", reference="b")
    with pytest.raises(RiskevalError, match=r"the case column 'case' is not in the table"):
        rv.Ratings(frame, case="case", rater="officer", rating="rosh")


def test_officer_ids_repeated_across_offices_warn_once_when_built():
    frame = random_design(8)
    frame["officer"] += 10 * frame["office"].str[1].astype(int)   # ids unique in the service
    frame.loc[frame["officer"] == 11, "officer"] = 1      # but one: in O0 and in O1
    with pytest.warns(rv.RiskevalWarning):
        obj = checked(frame)
    assert obj.notes and obj.shared_ids
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # analyses do not warn again
        rv.fleiss_kappa(obj)
        rv.audit.audit(obj, ordinal=False)


def test_occasions_make_each_assessment_a_unit():
    rows = [{"case": c, "officer": k, "occasion": t, "rating": LEVELS[(c + k + t) % 4]}
            for c in range(5) for k in range(3) for t in (1, 2)]
    frame = pd.DataFrame(rows)
    obj = rv.Ratings(frame, case="case", rater="officer", rating="rating",
                     occasion="occasion", categories=LEVELS)
    units = frame.assign(unit=frame["case"].astype(str) + " @ " + frame["occasion"].astype(str))
    expected = rv.fleiss_kappa(units, case="unit", rater="officer", rating="rating",
                               categories=LEVELS).estimate
    assert rv.fleiss_kappa(obj).estimate == expected
    assert obj.wide.n_cases == 10


def test_summary_and_html_name_the_roles():
    obj = checked(random_design(9))
    text = obj.summary()
    assert "case='vignette'" in text and "low < medium < high < very high" in text
    assert "<h4>Ratings:" in obj._repr_html_()


def test_complex_categories_are_refused():
    frame = pd.DataFrame({"c": [1, 1, 2, 2], "r": [1, 2, 1, 2],
                          "y": pd.Categorical([1 + 2j, 1, 1, 1 + 2j])})
    with pytest.raises(RiskevalError, match="complex numbers"):
        rv.Ratings(frame, case="c", rater="r", rating="y")


def test_judgement_accuracy_is_the_same_from_the_object():
    from riskeval.prediction.baserates import simulate_outcomes
    from riskeval.prediction.judgement import judgement_accuracy

    world = rv.world.scenarios.six_office_study(n_offices=2, officers_per_office=3,
                                                n_vignettes=12)
    data = rv.simulate(world, seed=2)
    outcomes = simulate_outcomes(world.vignettes, seed=3)
    obj = rv.Ratings(data, case="case", rater="officer", rating="rating")
    pd.testing.assert_frame_equal(
        judgement_accuracy(obj, world.vignettes, outcomes).to_frame(),
        judgement_accuracy(data, world.vignettes, outcomes).to_frame())


@pytest.mark.parametrize("seed", range(6))
def test_the_linear_mixed_model_is_the_same_from_the_object(seed):
    frame = random_design(200 + seed).assign(score=lambda d: d["rosh"].map(
        {lv: k + 1.0 for k, lv in enumerate(LEVELS)}).astype(float))
    obj, clean = checked(frame), plain(frame).assign(score=frame["score"].to_numpy())
    a = rv.variation.crossed_lmm(obj, rating="score", ci="wald")
    b = rv.variation.crossed_lmm(clean, rating="score", case="vignette", rater="officer",
                                 office="office", ci="wald")
    assert a.loglik == b.loglik
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
