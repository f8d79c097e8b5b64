"""The ratings data model: conversions, ordered categories and actionable validation errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval.data import WideRatings, as_ratings, parse_categories, to_long, to_wide

LEVELS = "low,medium,high,very high"


def long_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "vignette": ["V1", "V1", "V2", "V2", "V3", "V3", "V3"],
        "officer": ["a", "b", "a", "b", "a", "b", "c"],
        "office": ["N", "N", "N", "N", "N", "N", "S"],
        "rosh": ["low", "medium", "high", "high", "very high", "high", "medium"],
    })


def test_categories_keep_declared_order_not_sort_order():
    clean = rv.validate_ratings(long_frame(), case="vignette", rater="officer", rating="rosh",
                                categories=LEVELS)
    dtype = clean["rosh"].dtype
    assert isinstance(dtype, pd.CategoricalDtype) and dtype.ordered
    # alphabetical order would be high < low < medium < very high
    assert list(dtype.categories) == ["low", "medium", "high", "very high"]
    wide = to_wide(clean, case="vignette", rater="officer", rating="rosh")
    # values are ranks 1..4 of the declared order
    np.testing.assert_array_equal(wide.values[:, 0], [1, 3, 4])
    assert wide.categories == ("low", "medium", "high", "very high")


def test_wide_long_round_trip():
    wide = to_wide(long_frame(), case="vignette", rater="officer", rating="rosh",
                   categories=LEVELS)
    assert wide.values.shape == (3, 3)
    assert np.isnan(wide.values[0, 2]) and np.isnan(wide.values[1, 2])
    back = to_long(wide, case="vignette", rater="officer", rating="rosh")
    assert len(back) == 7
    merged = back.merge(long_frame(), on=["vignette", "officer"], suffixes=("", "_in"))
    assert (merged["rosh"].astype(str) == merged["rosh_in"]).all()
    assert list(back["rosh"].cat.categories) == ["low", "medium", "high", "very high"]


def test_numeric_wide_array_and_frame():
    arr = np.array([[1.0, 2.0, np.nan], [3.0, 3.0, 2.0]])
    wide = as_ratings(arr)
    assert isinstance(wide, WideRatings) and wide.categories is None
    codes, cats, scale = wide.coded()
    np.testing.assert_array_equal(scale, [1.0, 2.0, 3.0])
    assert cats == (1.0, 2.0, 3.0)
    np.testing.assert_array_equal(codes, [[0, 1, -1], [2, 2, 1]])
    frame = pd.DataFrame(arr, index=["c1", "c2"], columns=["r1", "r2", "r3"])
    assert list(as_ratings(frame).raters) == ["r1", "r2", "r3"]


def test_parse_categories_forms():
    assert parse_categories(" low, medium ,high ") == ("low", "medium", "high")
    assert parse_categories([1, 2, 3]) == (1, 2, 3)
    assert parse_categories(pd.CategoricalDtype(["a", "b"], ordered=True)) == ("a", "b")
    with pytest.raises(rv.RiskevalError, match="repeat"):
        parse_categories("low,low,high")
    with pytest.raises(rv.RiskevalError, match="at least two"):
        parse_categories(["low"])
    with pytest.raises(rv.RiskevalError, match="empty label"):
        parse_categories("low,,high")


# --- validation errors: each names the column/rows/values and what was expected -------------

def test_misspelt_column_suggests_closest():
    with pytest.raises(rv.RiskevalError, match=r"'offcer'.*Did you mean 'officer'"):
        rv.validate_ratings(long_frame(), case="vignette", rater="offcer", rating="rosh")


def test_missing_column_lists_columns():
    with pytest.raises(rv.RiskevalError, match=r"'score' is not in the table.*Columns present"):
        rv.validate_ratings(long_frame(), case="vignette", rater="officer", rating="score")


def test_duplicate_rows_are_shown():
    frame = pd.concat([long_frame(), long_frame().iloc[[2]]], ignore_index=True)
    with pytest.raises(rv.RiskevalError) as err:
        rv.validate_ratings(frame, case="vignette", rater="officer", rating="rosh")
    msg = str(err.value)
    assert "2 rows repeat a (case, rater) pair" in msg
    assert "vignette='V2', officer='a'" in msg
    assert "lines 4, 9" in msg  # CSV line numbers (header is line 1)
    assert "occasion=" in msg


def test_occasion_allows_repeated_ratings():
    frame = pd.concat([long_frame().assign(occ=1), long_frame().assign(occ=2)])
    clean = rv.validate_ratings(frame, case="vignette", rater="officer", rating="rosh",
                                occasion="occ", categories=LEVELS)
    assert len(clean) == 14


def test_rating_outside_categories_is_shown():
    frame = long_frame()
    frame.loc[3, "rosh"] = "High"
    frame.loc[5, "rosh"] = "extreme"
    with pytest.raises(rv.RiskevalError) as err:
        rv.validate_ratings(frame, case="vignette", rater="officer", rating="rosh",
                            categories=LEVELS)
    msg = str(err.value)
    assert "2 rating(s) outside the declared categories" in msg
    assert "'High'" in msg and "'extreme'" in msg
    assert "'High' -> 'high'?" in msg


def test_non_numeric_where_numbers_needed():
    frame = long_frame()
    with pytest.raises(rv.RiskevalError, match=r"must hold numbers.*'high'.*categories="):
        rv.validate_ratings(frame, case="vignette", rater="officer", rating="rosh",
                            numeric=True)


def test_too_few_raters_or_cases():
    frame = long_frame()
    with pytest.raises(rv.RiskevalError, match="only 1 rater"):
        rv.validate_ratings(frame[frame.officer == "a"], case="vignette", rater="officer",
                            rating="rosh")
    with pytest.raises(rv.RiskevalError, match="only 1 case"):
        rv.validate_ratings(frame[frame.vignette == "V1"], case="vignette", rater="officer",
                            rating="rosh")
    with pytest.raises(rv.RiskevalError, match="fewer than two raters"):
        as_ratings(np.array([[1.0], [2.0]]))
    with pytest.raises(rv.RiskevalError, match="fewer than two cases"):
        as_ratings(np.array([[1.0, 2.0], [np.nan, np.nan]]))


def test_all_missing_table():
    with pytest.raises(rv.RiskevalError, match="every rating is missing"):
        as_ratings(np.full((3, 3), np.nan))
    frame = long_frame().assign(rosh=np.nan)
    with pytest.raises(rv.RiskevalError, match="entirely missing"):
        rv.validate_ratings(frame, case="vignette", rater="officer", rating="rosh")


def test_missing_identifier():
    frame = long_frame()
    frame.loc[2, "officer"] = None
    with pytest.raises(rv.RiskevalError, match=r"rater column 'officer' is empty on lines 4"):
        rv.validate_ratings(frame, case="vignette", rater="officer", rating="rosh")


def test_wrong_types():
    with pytest.raises(TypeError, match="pandas DataFrame"):
        rv.validate_ratings([1, 2], case="a", rater="b", rating="c")
    with pytest.raises(TypeError, match="2-D array"):
        as_ratings("ratings.csv")
    with pytest.raises(rv.RiskevalError, match="shape"):
        as_ratings(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(rv.RiskevalError, match="needs case=, rater= and rating="):
        as_ratings(long_frame(), case="vignette")


def test_numeric_array_with_label_categories_is_refused():
    with pytest.raises(rv.RiskevalError, match="ratings are numbers but the categories"):
        as_ratings(np.array([[1.0, 2.0], [2.0, 1.0]]), categories=LEVELS)
    with pytest.raises(rv.RiskevalError, match=r"rating 7\.0.*not one of the declared"):
        as_ratings(np.array([[1.0, 7.0], [2.0, 1.0]]), categories=[1, 2, 3])


def test_read_csv_errors_and_never_modifies(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(rv.RiskevalError, match="is empty"):
        rv.read_ratings(empty, case="a", rater="b", rating="c")
    header = tmp_path / "header.csv"
    header.write_text("vignette,officer,rosh\n")
    with pytest.raises(rv.RiskevalError, match="header but no rows"):
        rv.read_ratings(header, case="vignette", rater="officer", rating="rosh")
    with pytest.raises(rv.RiskevalError, match="no such ratings file"):
        rv.read_ratings(tmp_path / "nope.csv", case="a", rater="b", rating="c")
    good = tmp_path / "ratings.csv"
    long_frame().to_csv(good, index=False)
    before = hashlib.sha256(good.read_bytes()).hexdigest()
    clean = rv.read_ratings(good, case="vignette", rater="officer", rating="rosh",
                            office="office", categories=LEVELS)
    assert len(clean) == 7 and list(clean.to_frame().columns) == [
        "vignette", "officer", "rosh", "office"]
    assert hashlib.sha256(good.read_bytes()).hexdigest() == before


def test_validate_returns_copy_and_leaves_input_alone():
    frame = long_frame()
    snapshot = frame.copy()
    clean = rv.validate_ratings(frame, case="vignette", rater="officer", rating="rosh",
                                categories=LEVELS)
    clean.loc[0, "rosh"] = "high"
    pd.testing.assert_frame_equal(frame, snapshot)


def test_example_dataset_loads():
    from riskeval.data.datasets import example_ratings

    ex = example_ratings()
    assert ex["rosh"].dtype.ordered
    assert ex["officer"].nunique() == 12 and ex["vignette"].nunique() == 24
    assert ex["office"].nunique() == 3
