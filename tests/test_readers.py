"""The readers: CSV, spreadsheets (.xlsx, .xlsm, .ods) and Parquet give the same checked
ratings; files are read by their content; sheets are chosen by name or position; messages
name a sheet's rows; wide layouts (one column per officer) equal the long table; the
command line reads them all."""

from __future__ import annotations

import builtins
import json
import re
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import riskeval as rv
from riskeval.cli import main
from riskeval.data import file_kind, read_table, sheet_names, wide_to_long
from riskeval.errors import RiskevalError

FORMATS = ("csv", "xlsx", "xlsm", "ods", "parquet")
ROLES = {"case": "case", "rater": "officer", "rating": "rating", "office": "office"}
#: officer identifiers that a reader must keep apart and keep as written
OFFICERS = ["007", "7", "12", "Ann", "0", "1.0", "01", "B. Smith", "9", "010"]
CASES = ["c1", "10", "010", "C-3", "2", "x y", "11", "012", "c9", "100", "5", "c12", "13",
         "014", "c15"]


# ------------------------------------------------------------------ making the files


def random_ratings(seed: int) -> tuple[pd.DataFrame, bool]:
    """A random long table (text identifiers as a CSV holds them) and whether its ratings
    are the numbers 1..4 (else the labels of rv.RISK_LEVELS)."""
    rng = np.random.default_rng(seed)
    numeric = bool(seed % 3 == 0)
    n_cases = int(rng.integers(3, len(CASES) + 1))
    n_officers = int(rng.integers(2, len(OFFICERS) + 1))
    cases = list(rng.permutation(CASES)[:n_cases])
    officers = list(rng.permutation(OFFICERS)[:n_officers])
    offices = {o: ("North", "1", "01")[k % 3] for k, o in enumerate(officers)}
    rows = []
    for i, case in enumerate(cases):
        for j, officer in enumerate(officers):
            if i >= 2 or j >= 2:  # the first two cases are rated by the first two officers
                if rng.random() < 0.2:
                    continue  # not rated: no row
            level = int(rng.integers(1, 5))
            empty = (i >= 2 or j >= 2) and rng.random() < 0.1  # a row without a rating
            rating = None if empty else (level if numeric else rv.RISK_LEVELS[level - 1])
            rows.append({"case": case, "officer": officer, "office": offices[officer],
                         "rating": rating, "year": int(rng.integers(2019, 2025))})
    frame = pd.DataFrame(rows)
    if numeric:
        frame["rating"] = frame["rating"].astype("Int64")
    return frame, numeric


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as a person types it into a spreadsheet: an identifier such as 7 or 12 is
    a number cell, 007 or 1.0 a text cell; numbers are numbers, empty cells empty."""
    out = frame.astype(object).copy()
    for col in out.columns:
        out[col] = [None if pd.isna(v) else
                    int(v) if isinstance(v, str) and re.fullmatch(r"[1-9]\d*", v) else
                    (int(v) if isinstance(v, int | np.integer) else v)
                    for v in out[col]]
    return out


def write(frame: pd.DataFrame, path: Path, fmt: str, sheet: str = "Ratings") -> Path:
    """``frame`` written as ``fmt`` to ``path`` (with that format's extension)."""
    path = path.with_suffix("." + fmt)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt in ("xlsx", "xlsm"):
        tmp = path.with_suffix(".tmp.xlsx")
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            pd.DataFrame({"about": ["a cover sheet"]}).to_excel(writer, sheet_name="Cover",
                                                                index=False)
            _cells(frame).to_excel(writer, sheet_name=sheet, index=False)
        shutil.move(tmp, path)  # an .xlsm holds the same zip as an .xlsx
    elif fmt == "ods":
        with pd.ExcelWriter(path, engine="odf") as writer:
            pd.DataFrame({"about": ["a cover sheet"]}).to_excel(writer, sheet_name="Cover",
                                                                index=False)
            _cells(frame).to_excel(writer, sheet_name=sheet, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:  # pragma: no cover
        raise AssertionError(fmt)
    return path


def read(path: Path, numeric: bool, **kw: object) -> rv.Ratings:
    sheet = {} if path.suffix in (".csv", ".parquet") else {"sheet": "Ratings"}
    return rv.read_ratings(path, **ROLES, categories=None if numeric else rv.RISK_LEVELS,
                           **sheet, **kw)


# ---------------------------------------------------- 1. every format, the same ratings


@pytest.mark.parametrize("seed", range(12))
def test_every_format_gives_the_same_ratings(tmp_path, seed):
    frame, numeric = random_ratings(seed)
    got = {fmt: read(write(frame, tmp_path / "ratings", fmt), numeric) for fmt in FORMATS}
    ref = got["csv"].to_frame()
    # the CSV is read as written: identifiers as text, 007 and 7 two officers
    assert sorted(ref["officer"].unique()) == sorted(frame["officer"].unique())
    assert sorted(ref["case"].unique()) == sorted(frame["case"].unique())
    assert len(ref) == len(frame)
    assert ref["rating"].isna().sum() == frame["rating"].isna().sum()
    alpha = rv.krippendorff_alpha(got["csv"], level="ordinal").estimate
    assert np.isfinite(alpha)
    for fmt in FORMATS[1:]:
        pd.testing.assert_frame_equal(got[fmt].to_frame(), ref, obj=fmt)
        assert got[fmt].categories == got["csv"].categories
        assert rv.krippendorff_alpha(got[fmt], level="ordinal").estimate == alpha, fmt


def test_numbers_typed_as_numbers_are_identifiers_as_written(tmp_path):
    frame = pd.DataFrame({"case": ["v1", "v1", "v2", "v2"], "officer": [7, "007", 7, "007"],
                          "rating": ["low", "high", "high", "high"]})
    path = tmp_path / "ids.xlsx"
    frame.to_excel(path, index=False)
    table = read_table(path, text_columns=["officer"])
    assert table["officer"].tolist() == ["7", "007", "7", "007"]
    ratings = rv.read_ratings(path, case="case", categories=rv.RISK_LEVELS)
    assert ratings.n_raters == 2
    # not an identifier: numbers stay numbers (read as a CSV reads them)
    scores = pd.DataFrame({"case": ["a", "b"], "score": [1.5, 2.0], "n": [3, 4]})
    scores.to_excel(tmp_path / "s.xlsx", index=False)
    back = read_table(tmp_path / "s.xlsx")
    assert back["score"].tolist() == [1.5, 2.0] and back["n"].tolist() == [3, 4]


def test_only_empty_cells_are_missing_and_text_is_stripped(tmp_path):
    frame = pd.DataFrame({"case": [" v1 ", "v2", "v3"], "officer": ["NA", "None ", "  "],
                          "rating": ["null", None, "low"]})
    for fmt in ("xlsx", "ods", "parquet"):
        sheet = None if fmt == "parquet" else "Ratings"
        table = read_table(write(frame, tmp_path / "na", fmt), text_columns=["officer"],
                           sheet=sheet)
        assert table["case"].tolist() == ["v1", "v2", "v3"], fmt
        assert table["officer"].tolist()[:2] == ["NA", "None"], fmt
        assert pd.isna(table["officer"].iloc[2]), fmt
        assert table["rating"].iloc[0] == "null" and pd.isna(table["rating"].iloc[1]), fmt


# ------------------------------------------------------------- 2. content, not extension


def test_the_content_decides_the_format(tmp_path):
    frame, _ = random_ratings(4)
    ref = read(write(frame, tmp_path / "ratings", "csv"), False).to_frame()
    for fmt, kind in (("xlsx", "xlsx"), ("ods", "ods"), ("parquet", "parquet")):
        real = write(frame, tmp_path / f"real_{fmt}", fmt)
        for disguise in (".csv", ".txt", ".xlsx" if fmt != "xlsx" else ".ods", ""):
            path = tmp_path / f"{fmt}_as{disguise or '_none'}"
            path = path.with_name(path.name + disguise) if disguise else path
            shutil.copy(real, path)
            assert file_kind(path) == kind, (fmt, disguise)
            sheet = {} if fmt == "parquet" else {"sheet": "Ratings"}
            got = rv.read_ratings(path, **ROLES, categories=rv.RISK_LEVELS, **sheet)
            pd.testing.assert_frame_equal(got.to_frame(), ref)
    text = tmp_path / "text.xlsx"  # CSV text named .xlsx is read as CSV
    shutil.copy(tmp_path / "ratings.csv", text)
    assert file_kind(text) == "csv" and sheet_names(text) == []
    pd.testing.assert_frame_equal(
        rv.read_ratings(text, **ROLES, categories=rv.RISK_LEVELS).to_frame(), ref)


def test_file_kinds_and_sheet_names(tmp_path):
    frame, _ = random_ratings(1)
    assert file_kind(write(frame, tmp_path / "a", "csv")) == "csv"
    assert file_kind(write(frame, tmp_path / "a", "xlsm")) == "xlsx"
    assert file_kind(write(frame, tmp_path / "a", "ods")) == "ods"
    assert file_kind(write(frame, tmp_path / "a", "parquet")) == "parquet"
    assert sheet_names(tmp_path / "a.xlsm") == ["Cover", "Ratings"]
    assert sheet_names(tmp_path / "a.ods") == ["Cover", "Ratings"]
    assert sheet_names(tmp_path / "a.csv") == [] and sheet_names(tmp_path / "a.parquet") == []
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert file_kind(old) == "xls"


def test_files_that_are_not_tables(tmp_path):
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(RiskevalError, match=r"\.xls\).*save it as \.xlsx.*CSV"):
        rv.read_ratings(old, case="case")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(RiskevalError, match="damaged"):
        read_table(broken)
    doc = tmp_path / "letter.docx"
    import zipfile
    with zipfile.ZipFile(doc, "w") as z:
        z.writestr("[Content_Types].xml", '<Types><Override ContentType="application/vnd.'
                   'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    with pytest.raises(RiskevalError, match="not a workbook"):
        read_table(doc)
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(RiskevalError, match="is empty"):
        read_table(empty)


def test_empty_sheet_and_header_only_are_errors(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Blank"
    head = book.create_sheet("Head")
    head.append(["case", "officer", "rating"])
    book.save(tmp_path / "b.xlsx")
    with pytest.raises(RiskevalError, match=r"sheet 'Blank' .* is empty.*'Head'"):
        read_table(tmp_path / "b.xlsx")
    with pytest.raises(RiskevalError, match=r"header but no rows of ratings \(sheet 'Head'\)"):
        read_table(tmp_path / "b.xlsx", sheet="Head")
    pd.DataFrame({"case": pd.Series([], dtype=str)}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(RiskevalError, match="header but no rows"):
        read_table(tmp_path / "e.parquet")


def test_csv_options_for_other_files_are_errors(tmp_path):
    frame, _ = random_ratings(2)
    for fmt in ("xlsx", "ods", "parquet"):
        path = write(frame, tmp_path / "r", fmt)
        with pytest.raises(RiskevalError, match=r"sep= applies to CSV files only"):
            read_table(path, sep=";")
        with pytest.raises(RiskevalError, match=r"encoding= applies to CSV files only"):
            read_table(path, encoding="cp1252")
        with pytest.raises(RiskevalError, match=r"encoding=, delimiter= apply to CSV"):
            rv.read_ratings(path, case="case", encoding="latin-1", delimiter=";")
    with pytest.raises(RiskevalError, match="CSV file, which has no sheets"):
        read_table(write(frame, tmp_path / "r", "csv"), sheet="Ratings")
    with pytest.raises(RiskevalError, match="Parquet file, which has no sheets"):
        read_table(tmp_path / "r.parquet", sheet=0)


# ------------------------------------------------------------------ 3. choosing a sheet


def test_a_sheet_by_name_or_position(tmp_path):
    frame, _ = random_ratings(5)
    ref = read(write(frame, tmp_path / "r", "csv"), False).to_frame()
    for fmt in ("xlsx", "ods"):
        path = write(frame, tmp_path / "r", fmt)
        for sheet in ("Ratings", 1, np.int64(1)):
            got = rv.read_ratings(path, **ROLES, categories=rv.RISK_LEVELS, sheet=sheet)
            pd.testing.assert_frame_equal(got.to_frame(), ref)
        # the default is the first sheet: here the cover, which has no ratings columns
        with pytest.raises(RiskevalError, match="the case column 'case' is not in the table"):
            rv.read_ratings(path, **ROLES)
        assert read_table(path).columns.tolist() == ["about"]
        with pytest.raises(RiskevalError,
                           match=r"has no sheet 'Scores'\. Its sheets: 'Cover', 'Ratings'"):
            read_table(path, sheet="Scores")
        with pytest.raises(RiskevalError, match=r"Did you mean 'Ratings'\?"):
            read_table(path, sheet="ratings")
        with pytest.raises(RiskevalError, match=r"has 2 sheets \('Cover', 'Ratings'\); sheet 2 "
                                                r"is not one of them"):
            read_table(path, sheet=2)
        with pytest.raises(rv.errors.RiskevalTypeError, match="sheet must be"):
            read_table(path, sheet=1.5)


# ------------------------------------------------------------------ 4. rows in messages


def test_messages_name_the_sheet_rows(tmp_path):
    frame = pd.DataFrame({"case": ["v1", "v1", "v2", "v2", "v3"],
                          "officer": ["a", "b", "a", "b", "a"],
                          "rating": ["low", "high", "high", "huge", "low"]})
    for fmt in ("xlsx", "ods"):
        path = write(frame, tmp_path / "r", fmt)
        with pytest.raises(RiskevalError, match=r"\['huge'\] \(sheet 'Ratings' rows 5\)"):
            read3(path)
    # the same file as CSV: lines, as before
    with pytest.raises(RiskevalError, match=r"\['huge'\] \(lines 5\)"):
        read3(write(frame, tmp_path / "r", "csv"))
    # a rating off the scale on sheet row 4, and empty identifiers on rows 3 and 6
    frame.loc[2, "rating"] = "extreme"
    frame.loc[3, "rating"] = "low"
    with pytest.raises(RiskevalError, match=r"\['extreme'\] \(sheet 'Ratings' rows 4\)"):
        read3(write(frame, tmp_path / "r", "xlsx"))
    frame.loc[2, "rating"] = "low"
    frame["case"] = frame["case"].astype(object)
    frame.loc[[1, 4], "case"] = None
    with pytest.raises(RiskevalError, match=r"is empty on sheet 'Ratings' rows 3, 6;"):
        read3(write(frame, tmp_path / "r", "xlsx"))
    with pytest.raises(RiskevalError, match=r"is empty on Parquet rows 2, 5;"):
        read3(write(frame, tmp_path / "r", "parquet"))
    frame.loc[[1, 4], "case"] = ["v1", "v1"]  # a repeated (case, officer) pair
    with pytest.raises(RiskevalError, match=r"2 rows repeat a \(case, rater\) pair \(sheet "
                                            r"'Ratings' rows 2, 6\)"):
        read3(write(frame, tmp_path / "r", "ods"))


def read3(path: Path) -> rv.Ratings:
    sheet = {"sheet": "Ratings"} if path.suffix in (".xlsx", ".ods") else {}
    return rv.read_ratings(path, case="case", categories=rv.RISK_LEVELS, **sheet)


def test_rows_are_the_sheet_rows_below_a_title(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Q3"
    ws.append([])
    ws.append([])
    ws.append([None, "case", "officer", "rating"])  # the header on row 3, from column B
    for row in (["v1", "a", "low"], ["v1", "b", "high"], ["v2", "a", "high"],
                ["v2", "b", "severe"]):  # rows 4 to 7
        ws.append([None, *row])
    book.save(tmp_path / "below.xlsx")
    with pytest.raises(RiskevalError, match=r"\['severe'\] \(sheet 'Q3' rows 7\)"):
        rv.read_ratings(tmp_path / "below.xlsx", case="case", categories=rv.RISK_LEVELS)
    # the first row with a cell is the header: here a title, so the columns are not found
    ws["A1"] = "Risk ratings, third quarter"
    book.save(tmp_path / "titled.xlsx")
    with pytest.raises(RiskevalError, match="the case column 'case' is not in the table"):
        rv.read_ratings(tmp_path / "titled.xlsx", case="case")


def test_the_audit_of_a_sheet_names_its_rows(tmp_path):
    frame = pd.DataFrame({"case": ["v1", "v1", "v2", "v2", "v3", "v3"],
                          "officer": ["a", "b", "a", "b", "a", "b"],
                          "rating": ["low", "high", "high", "high", "low", "bad"]})
    table = read_table(write(frame, tmp_path / "r", "xlsx"), sheet="Ratings",
                       text_columns=["case", "officer", "rating"])
    with pytest.raises(RiskevalError, match=r"sheet 'Ratings' rows 7"):
        rv.audit.audit(table, case="case", rater="officer", rating="rating",
                       categories=rv.RISK_LEVELS, progress=False)
    # a table built by hand: rows are lines, as always
    with pytest.raises(RiskevalError, match=r"\(lines 7\)"):
        rv.Ratings(frame, case="case", rater="officer", rating="rating",
                   categories=rv.RISK_LEVELS)


# ---------------------------------------------------------------------- 5. Parquet needs


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    frame, _ = random_ratings(3)
    path = write(frame, tmp_path / "r", "parquet")
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    for mod in [m for m in __import__("sys").modules if m == "pyarrow"
                or m.startswith("pyarrow.")]:
        monkeypatch.delitem(__import__("sys").modules, mod)
    with pytest.raises(RiskevalError, match=re.escape('pip install "riskeval[parquet]"')):
        read_table(path)
    with pytest.raises(RiskevalError, match="is a Parquet file"):
        rv.read_ratings(path, case="case")


# -------------------------------------------------------------------------- 6. wide files


def to_wide_file(long: pd.DataFrame, office_row: bool) -> pd.DataFrame:
    """One row per case, one column per officer (an office row under the header)."""
    rated = long[long["rating"].notna()]
    wide = rated.pivot(index="case", columns="officer", values="rating")
    wide = wide.reindex(index=list(dict.fromkeys(rated["case"])),
                        columns=list(dict.fromkeys(rated["officer"])))
    wide = wide.astype(object).where(wide.notna(), None).reset_index()
    wide.columns.name = None
    if office_row:
        offices = rated.drop_duplicates("officer").set_index("officer")["office"]
        first = pd.DataFrame([{"case": None, **offices.to_dict()}])
        wide = pd.concat([first, wide], ignore_index=True)
    return wide


def tidy(ratings: rv.Ratings, columns: list[str]) -> pd.DataFrame:
    frame = ratings.to_frame()
    frame = frame[frame["rating"].notna()][columns]
    return frame.sort_values(["case", "officer"]).reset_index(drop=True)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("office_row", [False, True])
def test_a_wide_file_is_the_long_table(tmp_path, seed, office_row):
    long, numeric = random_ratings(seed)
    cats = None if numeric else rv.RISK_LEVELS
    office = {"office": "office"} if office_row else {}
    ref = rv.read_ratings(write(long, tmp_path / "long", "csv"), case="case",
                          rater="officer", rating="rating", categories=cats, **office)
    columns = ["case", "officer", "rating", *office]
    wide = to_wide_file(long, office_row)
    for fmt in ("csv", "xlsx", "ods", "parquet"):
        frame = wide.astype(str).where(wide.notna(), None) if fmt == "parquet" else wide
        path = write(frame, tmp_path / "wide", fmt)
        sheet = {"sheet": "Ratings"} if fmt in ("xlsx", "ods") else {}
        got = rv.read_ratings(path, case="case", layout="wide", office_row=office_row,
                              categories=cats, **sheet)
        pd.testing.assert_frame_equal(tidy(got, columns), tidy(ref, columns), obj=fmt)
        assert got.roles == ref.roles
        assert rv.krippendorff_alpha(got, level="ordinal").estimate == pytest.approx(
            rv.krippendorff_alpha(ref, level="ordinal").estimate, rel=1e-12, abs=1e-12)


def test_wide_names_its_columns_and_keeps_officers_as_text(tmp_path):
    path = tmp_path / "w.xlsx"
    pd.DataFrame({"vignette": [None, "v1", "v2"], "ann": ["North", "low", "high"],
                  7: ["South", "high", None], "007": ["South", "low", "low"]}).to_excel(
        path, index=False)
    got = rv.read_ratings(path, case="vignette", rater="who", rating="level",
                          layout="wide", office_row=True, office="team",
                          categories=rv.RISK_LEVELS)
    frame = got.to_frame()
    assert list(frame.columns) == ["vignette", "who", "level", "team"]
    assert frame["who"].tolist() == ["ann", "7", "007", "ann", "007"]
    assert frame["team"].tolist() == ["North", "South", "South", "North", "South"]
    assert got.n_offices == 2 and got.roles["office"] == "team"


def test_wide_to_long_on_a_frame(tmp_path):
    frame = pd.DataFrame({"case": ["v1", "v2", "v3"], "ann": [1, 2, np.nan],
                          "ben": [2.0, np.nan, 3.0], "7": ["1", " ", "4"]})
    long = wide_to_long(frame, case="case")
    assert long.columns.tolist() == ["case", "officer", "rating"]
    assert long[["case", "officer"]].values.tolist() == [
        ["v1", "ann"], ["v1", "ben"], ["v1", "7"], ["v2", "ann"], ["v3", "ben"], ["v3", "7"]]
    assert long["rating"].tolist() == ["1", "2", "1", "2", "3", "4"]  # mixed: as text
    numbers = wide_to_long(frame[["case", "ann", "ben"]], case="case")
    assert numbers["rating"].tolist() == [1.0, 2.0, 2.0, 3.0]
    # read_table's frame of a sheet, then wide_to_long (as the web page does)
    path = tmp_path / "w.xlsx"
    pd.DataFrame({"case": ["", "v1", "v2"], "ann": ["A", "low", "high"],
                  "bob": ["B", "huge", "low"]}).to_excel(path, index=False, sheet_name="W")
    long = wide_to_long(read_table(path, text_columns=["case"]), case="case",
                        office_row=True)
    with pytest.raises(RiskevalError, match=r"\(sheet 'W' rows 3 \(column 'bob'\)\)"):
        rv.Ratings(long, case="case", rater="officer", rating="rating", office="office",
                   categories=rv.RISK_LEVELS)
    # a repeated header in a CSV read by read_table (pandas renames it "ann.1")
    dup = tmp_path / "dup.csv"
    dup.write_text("case,ann,bob,ann\nv1,low,high,low\nv2,low,low,high\n")
    table = read_table(dup, text_columns=["case"])
    assert table.columns.tolist() == ["case", "ann", "bob", "ann.1"]
    with pytest.raises(RiskevalError, match=r"header 'ann' \(columns 2 and 4\)"):
        wide_to_long(table, case="case")
    # a real officer called "ann.1" beside "ann" is two officers when the header says so
    two = tmp_path / "two.csv"
    two.write_text("case,ann,ann.1\nv1,low,high\nv2,low,low\n")
    assert wide_to_long(read_table(two), case="case")["officer"].tolist() == [
        "ann", "ann.1", "ann", "ann.1"]
    # a column without a header, as pandas names it, in a frame without the file's header
    unnamed = pd.read_csv(tmp_path / "dup.csv").rename(columns={"bob": "Unnamed: 2"})
    with pytest.raises(RiskevalError, match="column 3 of the wide table has ratings but no "
                                            "header"):
        wide_to_long(unnamed, case="case")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_wide_errors(tmp_path, fmt):
    def wide_file(header: list, rows: list[list]) -> Path:
        path = tmp_path / f"w.{fmt}"
        if fmt == "csv":
            lines = [",".join("" if v is None else str(v) for v in r)
                     for r in [header, *rows]]
            path.write_text("\n".join(lines) + "\n")
        else:
            book = openpyxl.Workbook()
            ws = book.active
            ws.title = "W"
            for row in [header, *rows]:
                ws.append(row)
            book.save(path)
        return path

    def error(path: Path, **kw: object) -> str:
        with pytest.raises(RiskevalError) as info:
            rv.read_ratings(path, case="case", layout="wide", **kw)
        return str(info.value)

    rows = [["v1", "low", "high", "low"], ["v2", "high", "high", "low"]]
    msg = error(wide_file(["case", "ann", "bob", "ann"], rows))
    assert "two columns of the wide table have the header 'ann' (columns 2 and 4)" in msg
    msg = error(wide_file(["case", "ann", None, "bob"], rows))
    assert "column 3 of the wide table has ratings but no header" in msg
    msg = error(wide_file(["vignette", "ann", "bob", "cy"], rows))
    assert "the case column 'case' is not in the wide table" in msg
    assert "Columns present: 'vignette', 'ann', 'bob', 'cy'" in msg
    msg = error(wide_file(["kase", "ann", "bob", "cy"], rows))
    assert "Did you mean 'kase'?" in msg
    msg = error(wide_file(["case"], [["v1"], ["v2"]]))
    assert "the wide table has no officer columns, only the case column 'case'" in msg
    office = [None, "North", None, "South"]
    msg = error(wide_file(["case", "ann", "bob", "cy"], [office, *rows]), office_row=True)
    where = "line 2" if fmt == "csv" else "sheet 'W' row 2"
    assert f"the office row (the first row under the header, {where}) has no office for " \
           "officer column 'bob'" in msg
    msg = error(wide_file(["case", "ann", "bob", "cy"], [["", "N", "N", "S"]]),
                office_row=True)
    assert "no rows of ratings under its office row" in msg
    # a rating off the scale names its row and officer column
    bad = [["v1", "low", "high", "low"], ["v2", "high", "grave", "low"]]
    msg = error(wide_file(["case", "ann", "bob", "cy"], bad), categories=rv.RISK_LEVELS)
    rows_word = "lines" if fmt == "csv" else "sheet 'W' rows"
    assert f"['grave'] ({rows_word} 3 (column 'bob'))" in msg
    # a case on two rows
    twice = [["v1", "low", "high", "low"], ["v1", "high", "high", "low"]]
    msg = error(wide_file(["case", "ann", "bob", "cy"], twice))
    assert f"6 rows repeat a (case, rater) pair ({rows_word} 2 (column 'ann'), 2 (column " \
           "'bob')" in msg
    assert "In a wide table each case has one row" in msg
    # options that a wide file cannot have
    good = wide_file(["case", "ann", "bob", "cy"], rows)
    assert "a wide file has a case column and one column per officer" in error(
        good, reference="ref")
    assert "give office_row= too" in error(good, office="office")
    with pytest.raises(RiskevalError, match="office_row= is for a wide file"):
        rv.read_ratings(good, case="case", office_row=True)
    with pytest.raises(RiskevalError, match="layout='tall' is not known"):
        rv.read_ratings(good, case="case", layout="tall")


# ------------------------------------------------------------------- 7. the command line


AGREE = ["--case", "case", "--rater", "officer", "--rating", "rating",
         "--categories", "low,medium,high,very high", "--office", "office", "--json"]


def agreement_json(capsys, *argv: object) -> dict:
    code = main(["agreement", *map(str, argv)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    out.pop("file")
    return out


def cli_ratings() -> pd.DataFrame:
    sim = rv.simulate(rv.world.scenarios.six_office_study(
        n_offices=3, officers_per_office=4, n_vignettes=10), seed=3)
    return sim[["case", "officer", "office", "rating", "reference"]]


def test_agreement_command_reads_sheets_and_wide_files(tmp_path, capsys):
    long = cli_ratings()
    ref = agreement_json(capsys, write(long, tmp_path / "long", "csv"), *AGREE)
    assert ref["n_raters"] == 12 and ref["by_office"]
    for fmt in ("xlsx", "ods", "parquet"):
        sheet = ["--sheet", "Ratings"] if fmt != "parquet" else []
        assert agreement_json(capsys, write(long, tmp_path / "long", fmt), *AGREE,
                              *sheet) == ref, fmt
    path = tmp_path / "long.xlsx"
    assert agreement_json(capsys, path, *AGREE, "--sheet", "1") == ref
    wide = write(to_wide_file(long, office_row=True), tmp_path / "wide", "csv")
    got = agreement_json(capsys, wide, "--case", "case", "--wide", "--office-row",
                         "--categories", "low,medium,high,very high", "--json")
    assert got == ref
    code = main(["agreement", str(path), *AGREE, "--sheet", "Scores"])
    err = capsys.readouterr().err
    assert code == 2 and "has no sheet 'Scores'. Its sheets: 'Cover', 'Ratings'" in err
    code = main(["agreement", str(path), *AGREE, "--sheet", "Ratings", "--delimiter", ";"])
    err = capsys.readouterr().err
    assert code == 2 and "--delimiter applies to CSV files only" in err
    code = main(["agreement", str(wide), "--case", "case", "--wide", "--office", "office",
                 "--categories", "low,medium,high,very high"])
    err = capsys.readouterr().err
    assert code == 2 and "give --office-row too" in err
    with pytest.raises(SystemExit):  # a long file needs --rater and --rating, as before
        main(["agreement", str(path), "--case", "case", "--rating", "rating"])
    assert "the following arguments are required: --rater" in capsys.readouterr().err


def audit_numbers(outdir: Path) -> dict:
    summary = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    text = json.dumps(summary, sort_keys=True)
    return json.loads(text.replace(str(outdir), "OUT"))


def test_audit_command_reads_sheets_and_wide_files(tmp_path, capsys):
    long = cli_ratings().drop(columns="reference")
    fast = ["--no-ordinal", "--no-rater-effects", "--quiet"]
    roles = ["--case", "case", "--rater", "officer", "--rating", "rating", "--office",
             "office"]
    csv_path = write(long, tmp_path / "long", "csv")
    assert main(["audit", str(csv_path), *roles, *fast, "-o", str(tmp_path / "a")]) == 0
    xlsx = write(long, tmp_path / "long", "xlsx")
    assert main(["audit", str(xlsx), *roles, *fast, "--sheet", "Ratings",
                 "-o", str(tmp_path / "b")]) == 0
    wide = write(to_wide_file(long, office_row=True), tmp_path / "wide", "csv")
    assert main(["audit", str(wide), "--case", "case", "--wide", "--office-row", *fast,
                 "-o", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    ref = audit_numbers(tmp_path / "a")
    assert ref["meta"]["n_officers"] == 12 and ref["tables"]["agreement"]
    code = main(["audit", str(wide), "--case", "case", "--wide", "--reference", "ref",
                 *fast, "-o", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and "--reference: a wide file has a case column" in err
    got = audit_numbers(tmp_path / "b")  # the same rows from a sheet: the same numbers
    for key in ("meta", "tables", "funnel", "findings"):
        assert got[key] == ref[key], key
    got = audit_numbers(tmp_path / "c")  # the wide file's rows come case by case
    for key in ("meta", "tables", "funnel"):
        assert_close(got[key], ref[key], key)


def assert_close(got: object, ref: object, where: str) -> None:
    """Equal, numbers to 1e-9 (a model fitted to the rows in another order)."""
    if isinstance(ref, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(ref), where
        for k in ref:
            assert_close(got[k], ref[k], f"{where}.{k}")
    elif isinstance(ref, list):
        assert isinstance(got, list) and len(got) == len(ref), where
        for i, (g, r) in enumerate(zip(got, ref, strict=True)):
            assert_close(g, r, f"{where}[{i}]")
    elif isinstance(ref, float) and not isinstance(got, bool):
        assert got == pytest.approx(ref, rel=1e-9, abs=1e-12), where
    else:
        assert got == ref, where
