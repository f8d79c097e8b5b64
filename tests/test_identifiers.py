"""Identifiers: one officer is one identity, ids are text, only empty cells are missing.

Issue 14, items 3, 5 and 6b. Every dataset is made here, in the test.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval import RiskevalError
from riskeval.agreement import agreement_summary
from riskeval.audit import audit
from riskeval.cli import main
from riskeval.errors import RiskevalWarning
from riskeval.variation.bias import inflation_trend

CATS = list(rv.RISK_LEVELS)
ALPHA = "Krippendorff's alpha (ordinal)"


def numbered_offices(seed: int = 3, offices: str = "ABCD", officers: int = 5,
                     vignettes: int = 8) -> pd.DataFrame:
    """Officers numbered 1..5 within each office, every officer rating the same vignettes,
    with a reference level, a manager's final rating, two occasions and a year."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, vignettes)
    rows = []
    for o in offices:
        o_shift = rng.normal(0, 0.4)
        for k in range(1, officers + 1):
            severity = o_shift + rng.normal(0, 0.4)
            for v in range(vignettes):
                for occ in (1, 2):
                    lat = truth[v] + severity + rng.normal(0, 0.6) + 0.3 * (occ - 1)
                    own = int(np.clip(np.rint(lat), 0, 3))
                    final = own if rng.random() < 0.8 else int(np.clip(own + 1, 0, 3))
                    rows.append({"case": f"V{v:02d}", "officer": k, "office": o,
                                 "occasion": occ, "reference": CATS[truth[v]],
                                 "officer_rating": CATS[own], "rating": CATS[final],
                                 "year": 2019 + occ})
    return pd.DataFrame(rows)


def unique_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """The same data with globally unique officer ids ("A-1")."""
    return frame.assign(officer=frame["office"] + "-" + frame["officer"].astype(str))


AUDIT = {"case": "case", "rater": "officer", "rating": "rating", "office": "office",
         "reference": "reference", "occasion": "occasion", "original": "officer_rating",
         "year": "year", "categories": CATS}


def numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """The numeric columns of a table, positionally (labels aside)."""
    return frame.select_dtypes("number").reset_index(drop=True)


# -- 3. one officer, one identity ------------------------------------------------------------

@pytest.fixture(scope="module")
def both_audits() -> tuple[rv.audit.Audit, rv.audit.Audit]:
    data = numbered_offices()
    return audit(data, **AUDIT), audit(unique_ids(data), **AUDIT)


def test_officers_numbered_within_offices_are_twenty_officers_everywhere(both_audits):
    numbered, unique = both_audits
    assert numbered.meta["n_officers"] == unique.meta["n_officers"] == 20
    assert numbered.pairwise.matrix.shape == (20, 20)
    assert len(numbered.effects["officer"]) == 20
    assert len(numbered.reference["by_officer"].drop(index="(all)", errors="ignore")) == 20
    by_office = numbered.agreement_by_office
    assert (by_office.groupby("office")["n_raters"].max() == 5).all()


def test_numbers_are_those_of_globally_unique_ids(both_audits):
    numbered, unique = both_audits
    a, b = numbered.tables(), unique.tables()
    assert a.keys() == b.keys()
    for name in a:
        if name == "findings":
            continue
        pd.testing.assert_frame_equal(numbers(a[name]), numbers(b[name]), rtol=1e-9,
                                      obj=name)
    assert numbered.pairwise.matrix.to_numpy() == pytest.approx(
        unique.pairwise.matrix.to_numpy(), nan_ok=True)
    assert [f.value for f in numbered.findings] == pytest.approx(
        [f.value for f in unique.findings])


def test_officer_labels_are_readable_and_the_reading_is_stated(both_audits, tmp_path):
    numbered, unique = both_audits
    labels = list(numbered.pairwise.matrix.index)
    assert "A / 3" in labels and "D / 5" in labels
    assert "A-3" in list(unique.pairwise.matrix.index)  # unique ids are kept as they are
    assert "A / 3" in set(numbered.reference["by_officer"].index)
    assert numbered.meta["officer_identity"].startswith("office and officer id together")
    numbered.save(tmp_path / "r")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["meta"]["officer_identity"] == numbered.meta["officer_identity"]
    assert summary["meta"]["n_officers"] == 20
    html = (tmp_path / "r" / "report.html").read_text()
    assert "identified by office and officer id together" in html
    assert any("labelled 'office / officer'" in n for n in numbered.notes)


def test_without_an_office_officer_ids_are_the_identity():
    data = numbered_offices()
    data = data[(data["occasion"] == 1) & (data["office"] == "A")]
    a = audit(data, case="case", rater="officer", rating="rating", categories=CATS,
              ordinal=False)
    assert a.meta["n_officers"] == 5
    assert a.meta["officer_identity"] == "officer id"


def test_validate_ratings_keys_officers_within_office():
    data = numbered_offices()
    data = data[data["occasion"] == 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numbering within offices is no cause for a warning
        clean = rv.validate_ratings(data, case="case", rater="officer", rating="rating",
                                    office="office", categories=CATS)
    assert clean["officer"].nunique() == 20
    assert set(clean.loc[clean["office"] == "B", "officer"]) == {f"B / {k}" for k in range(1, 6)}
    # the same ids without an office are five officers, and then the pairs repeat
    with pytest.raises(RiskevalError, match="repeat a"):
        rv.validate_ratings(data, case="case", rater="officer", rating="rating",
                            categories=CATS)


def test_an_officer_id_in_two_offices_of_otherwise_unique_ids_warns():
    data = unique_ids(numbered_offices())
    data = data[data["occasion"] == 1].copy()
    moved = data["officer"] == "A-1"
    data.loc[moved & (data["case"] >= "V04"), "office"] = "B"  # A-1 moved to office B
    with pytest.warns(RiskevalWarning, match=r"'A-1'.*offices A, B.*two officers"):
        clean = rv.validate_ratings(data, case="case", rater="officer", rating="rating",
                                    office="office", categories=CATS)
    assert clean["officer"].nunique() == 21
    a = audit(data, case="case", rater="officer", rating="rating", office="office",
              categories=CATS, ordinal=False)
    assert a.meta["n_officers"] == 21
    assert any("'A-1'" in n and "two officers" in n for n in a.notes)


def test_cli_agreement_with_an_office_counts_officers_within_offices(tmp_path, capsys):
    data = numbered_offices()
    data = data[data["occasion"] == 1]
    path = tmp_path / "r.csv"
    data.to_csv(path, index=False)
    code = main(["agreement", str(path), "--case", "case", "--rater", "officer", "--rating",
                 "rating", "--categories", ",".join(CATS), "--office", "office", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["n_raters"] == 20
    assert {r["n_raters"] for r in out["by_office"]} == {5}
    ref = agreement_summary(unique_ids(data), case="case", rater="officer", rating="rating",
                            categories=CATS)
    got = {r["coefficient"]: r["estimate"] for r in out["coefficients"]}
    assert got[ALPHA] == pytest.approx(ref.loc[ALPHA, "estimate"], abs=1e-12)


# -- 6b. an office whose officers share no case ----------------------------------------------

def office_sharing_no_case() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = [{"case": f"{o}{c}", "officer": f"{o}{k}", "office": o,
             "rating": CATS[int((c + rng.integers(0, 2)) % 4)]}
            for o in "ABC" for k in range(3) for c in range(10)]
    rows += [{"case": f"D{c}", "officer": f"D{c % 2}", "office": "D", "rating": CATS[c % 4]}
             for c in range(6)]  # office D: two officers, each with their own cases
    return pd.DataFrame(rows)


def test_an_office_whose_officers_share_no_case_is_skipped_with_a_note():
    a = audit(office_sharing_no_case(), case="case", rater="officer", rating="rating",
              office="office", categories=CATS, ordinal=False)
    assert set(a.agreement_by_office["office"]) == {"A", "B", "C"}
    assert any("D" in n and "share no case" in n for n in a.notes)
    assert a.meta["n_officers"] == 11


def test_cli_agreement_reports_an_office_sharing_no_case_instead_of_failing(tmp_path, capsys):
    path = tmp_path / "r.csv"
    office_sharing_no_case().to_csv(path, index=False)
    code = main(["agreement", str(path), "--case", "case", "--rater", "officer", "--rating",
                 "rating", "--categories", ",".join(CATS), "--office", "office", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = json.loads(captured.out)["by_office"]
    d = [r for r in rows if r["office"] == "D"]
    assert len(d) == 2 and all("share no case" in r["note"] for r in d)
    assert all(r["estimate"] is None and r["n_raters"] == 2 for r in d)
    assert {r["office"] for r in rows if r["estimate"] is not None} == {"A", "B", "C"}


# -- 5. identifiers read as text; only empty cells are missing --------------------------------

def write(tmp_path: Path, text: str, name: str = "r.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(path: Path, **kw) -> pd.DataFrame:
    return rv.read_ratings(path, case="case", rater="officer", rating="rating",
                           categories=kw.pop("categories", CATS), **kw).to_frame()


def test_case_ids_0001_and_1_are_two_cases(tmp_path):
    path = write(tmp_path, "case,officer,rating\n0001,a,low\n1,a,high\n0001,b,low\n"
                           "1,b,high\n2,a,low\n2,b,low\n")
    clean = read(path)
    assert sorted(clean["case"].unique()) == ["0001", "1", "2"]


def test_officer_ids_007_and_7_are_two_officers(tmp_path):
    path = write(tmp_path, "case,officer,rating\n1,007,low\n1,7,high\n2,007,low\n2,7,high\n")
    clean = read(path)
    assert sorted(clean["officer"].unique()) == ["007", "7"]


def test_ids_1_0_and_1_are_two_ids(tmp_path):
    path = write(tmp_path, "case,officer,rating\n1.0,a,low\n1,a,high\n1.0,b,low\n1,b,high\n")
    clean = read(path)
    assert clean["case"].nunique() == 2


def test_categories_named_none_and_na_are_ratings_not_missing(tmp_path):
    body = "".join(f"{c},{o},{r}\n" for c in range(6)
                   for o, r in zip(["NA", "b", "c", "d"], ["None", "low", "NA", "high"],
                                   strict=True))
    path = write(tmp_path, "case,officer,rating\n" + body)
    clean = read(path, categories=["None", "low", "NA", "high"])
    assert clean["rating"].notna().sum() == 24
    assert "NA" in set(clean["officer"])  # an officer called NA is an officer


def test_only_empty_and_blank_cells_are_missing(tmp_path):
    path = write(tmp_path, "case,officer,rating\n1,a,low\n1,b,  \n2,a,high\n2,b,\t\n"
                           "3,a,low\n3,b,medium\n")
    clean = read(path)
    assert clean["rating"].isna().sum() == 2
    num = write(tmp_path, "case,officer,rating\n1,a,1\n1,b, \n2,a,2\n2,b,3\n3,a,1\n3,b,2\n",
                "n.csv")
    clean = rv.read_ratings(num, case="case", rater="officer", rating="rating",
                            numeric=True).to_frame()
    assert clean["rating"].isna().sum() == 1
    assert clean["rating"].sum() == 9


def test_na_in_a_numeric_rating_column_is_named_not_dropped(tmp_path):
    path = write(tmp_path, "case,officer,rating\n1,a,1\n1,b,NA\n2,a,2\n2,b,3\n3,a,1\n3,b,2\n")
    with pytest.raises(RiskevalError, match=r"'NA'.*lines? 3.*only empty cells"):
        rv.read_ratings(path, case="case", rater="officer", rating="rating", numeric=True)


def test_ids_are_stripped_of_spaces_in_files_and_frames(tmp_path):
    path = write(tmp_path, "case,officer,office,rating\n1,A,X,low\n1, B ,X ,high\n"
                           "2,A ,X,low\n2,B,X,high\n")
    clean = read(path, office="office")
    assert sorted(clean["officer"].unique()) == ["A", "B"]
    assert set(clean["office"]) == {"X"}
    frame = pd.DataFrame({"case": [1, 1, 2, 2], "officer": ["A", "A ", "B", " B"],
                          "rating": ["low", "high", "low", "high"]})
    with pytest.raises(RiskevalError, match="repeat a"):
        rv.validate_ratings(frame, case="case", rater="officer", rating="rating",
                            categories=CATS)


def test_blank_officer_id_is_empty(tmp_path):
    frame = pd.DataFrame({"case": [1, 1, 2, 2], "officer": ["A", "  ", "A", "B"],
                          "rating": ["low", "high", "low", "high"]})
    with pytest.raises(RiskevalError, match=r"rater column 'officer' is empty on lines? 3"):
        rv.validate_ratings(frame, case="case", rater="officer", rating="rating",
                            categories=CATS)


def test_mixed_number_and_text_ids_that_collide_are_an_error():
    frame = pd.DataFrame({"case": [1, "1", 2, 2], "officer": ["a", "b", "a", "b"],
                          "rating": ["low", "high", "low", "high"]})
    frame["case"] = frame["case"].astype(object)
    with pytest.raises(RiskevalError, match=r"case column 'case' holds both 1 \(a number\) "
                                            r"and '1' \(text\)"):
        rv.validate_ratings(frame, case="case", rater="officer", rating="rating",
                            categories=CATS)
    # numbers and text that cannot be confused are kept as they are
    ok = frame.assign(case=pd.Series([1, "x", 2, 2], dtype=object))
    clean = rv.validate_ratings(ok, case="case", rater="officer", rating="rating",
                                categories=CATS)
    assert clean["case"].nunique() == 3


def test_cli_audit_reads_ids_as_text(tmp_path, capsys):
    data = numbered_offices()
    data = data[data["occasion"] == 1].copy()
    data["officer"] = data["officer"].map(lambda k: f"{k:03d}")  # 001 .. 005
    data.loc[data["officer"] == "005", "officer"] = "5"  # 005 and 5 are distinct in office A
    path = tmp_path / "r.csv"
    data.to_csv(path, index=False)
    code = main(["audit", str(path), "--case", "case", "--rater", "officer", "--rating",
                 "rating", "--office", "office", "--no-ordinal", "--quiet",
                 "-o", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["meta"]["n_officers"] == 20
    officers = {r["officer"] for r in summary["tables"]["officer_agreement"]}
    assert "A / 001" in officers and "A / 5" in officers


# -- 5. the year column --------------------------------------------------------------------

def test_text_in_the_year_column_is_an_error_naming_row_and_value():
    data = numbered_offices()
    data = data.astype({"year": object})
    data.loc[7, "year"] = "twenty"
    with pytest.raises(RiskevalError, match=r"year column 'year'.*'twenty'.*lines? 9"):
        audit(data, **AUDIT, ordinal=False)
    with pytest.raises(RiskevalError, match=r"'twenty'.*lines? 9"):
        inflation_trend(unique_ids(data), rating="rating", reference="reference",
                        year="year", case="case", rater="officer", categories=CATS)


def test_text_in_the_year_column_of_a_file_is_a_one_line_cli_error(tmp_path, capsys):
    data = numbered_offices().astype({"year": object})
    data.loc[7, "year"] = "2020x"
    path = tmp_path / "r.csv"
    data.to_csv(path, index=False)
    code = main(["audit", str(path), "--case", "case", "--rater", "officer", "--rating",
                 "rating", "--office", "office", "--occasion", "occasion", "--reference",
                 "reference", "--year", "year", "--no-ordinal", "--quiet",
                 "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "'2020x'" in err and "lines 9" in err


def test_a_missing_year_is_left_out_of_the_trend_with_a_note():
    data = numbered_offices().astype({"year": float})
    data.loc[[3, 40], "year"] = np.nan
    a = audit(data, **AUDIT, ordinal=False)
    assert a.inflation_trend["n"] == len(data) - 2
    assert any("2 ratings have no year" in n for n in a.notes)


# -- 5. values too large (or too close together) for double precision ------------------------

def interval_ratings(scale: float) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [{"case": c, "rater": r, "rating": (c + rng.normal(0, 1)) * scale}
            for c in range(10) for r in range(3)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("scale", [1e305, 1e-305])
def test_ratings_whose_squares_overflow_are_an_error_not_nan(scale):
    data = interval_ratings(scale)
    with pytest.raises(RiskevalError, match="rescale"):
        agreement_summary(data, case="case", rater="rater", rating="rating",
                          level="interval")
    with pytest.raises(RiskevalError, match="rescale"):
        rv.validate_ratings(data, case="case", rater="rater", rating="rating", numeric=True)
    wide = data.pivot(index="case", columns="rater", values="rating").to_numpy()
    with pytest.raises(RiskevalError, match="rescale"):
        rv.as_ratings(wide)


def test_ordinary_and_large_but_safe_scales_are_unchanged():
    base = agreement_summary(interval_ratings(1.0), case="case", rater="rater",
                             rating="rating", level="interval")
    big = agreement_summary(interval_ratings(1e60), case="case", rater="rater",
                            rating="rating", level="interval")
    assert big["estimate"].to_numpy() == pytest.approx(base["estimate"].to_numpy(), rel=1e-9)


def test_occasions_read_as_text_keep_their_numeric_order(tmp_path):
    rows = []
    for k in range(4):
        for c in range(6):  # evidence rises from occasion 9 to 10, and so do the ratings
            rows += [{"case": c, "officer": k, "occasion": 9, "evidence": "low",
                      "rating": "low"},
                     {"case": c, "officer": k, "occasion": 10, "evidence": "high",
                      "rating": "high" if (c + k) % 3 else "low"}]
    path = tmp_path / "r.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    clean = rv.read_ratings(path, case="case", rater="officer", rating="rating",
                            occasion="occasion", reference="evidence", categories=CATS)
    assert clean.to_frame()["occasion"].tolist()[:2] == ["9", "10"]  # identifiers are text
    table = rv.variation.bias.anchoring(clean, rating="rating", case="case", rater="officer",
                              occasion="occasion", evidence="evidence", categories=CATS)
    assert table.loc["up", "n"] == 24 and table.loc["down", "n"] == 0
    assert table.loc["up", "downgraded"] == 0


def test_read_table_text_rules(tmp_path):
    path = write(tmp_path, "case,officer,score,note,year\n0001,007, 3 ,NA,2020\n"
                           "0002,7,  ,None, \n")
    frame = rv.data.read_table(path, text_columns=["case", "officer"])
    assert frame["case"].tolist() == ["0001", "0002"]
    assert frame["officer"].tolist() == ["007", "7"]
    assert frame["score"].tolist()[0] == 3 and np.isnan(frame["score"].tolist()[1])
    assert frame["note"].tolist() == ["NA", "None"]  # text, not missing
    assert frame["year"].tolist()[0] == 2020 and np.isnan(frame["year"].tolist()[1])
    # pandas' own tokens on request; the caller's dtype is kept
    frame = rv.data.read_table(path, keep_default_na=True, dtype={"score": str})
    assert frame["note"].isna().all()
    assert frame["score"].tolist()[0] == "3"


def test_pseudonymised_officers_keyed_within_office_name_no_id():
    data = numbered_offices()
    data = data[data["occasion"] == 1]
    a = audit(data, case="case", rater="officer", rating="rating", office="office",
              categories=CATS, ordinal=False, pseudonymise="a long secret salt")
    assert a.meta["n_officers"] == 20
    labels = list(a.pairwise.matrix.index)
    assert all(str(x).startswith("officer-") for x in labels)
    assert not any("A / " in n or "1, 2, 3" in n for n in a.notes)
    assert any("5 officer id(s) are used in more than one office" in n for n in a.notes)


def test_ints_and_equal_floats_in_one_id_column_are_one_id():
    frame = pd.DataFrame({"case": pd.Series([1, 1.0, 2, 2.0], dtype=object),
                          "officer": ["a", "b", "a", "b"],
                          "rating": ["low", "high", "low", "high"]})
    clean = rv.validate_ratings(frame, case="case", rater="officer", rating="rating",
                                categories=CATS)
    assert clean["case"].nunique() == 2
