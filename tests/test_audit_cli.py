"""`riskeval audit` on the command line: one-line errors (exit 2), safe output, pseudonyms.

Every bad input must give exit code 2 and a single line on stderr, starting
``riskeval: error:``, that names the column, value or line at fault -- never a traceback. A
crash inside riskeval gives exit code 1 and leaves no half-written report behind.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import riskeval as rv
from riskeval.audit import _report, pseudonym
from riskeval.cli import main

COLUMNS = ["case", "officer", "office", "rating", "reference", "officer_rating", "year"]
ROLES = ["--case", "case", "--rater", "officer", "--rating", "rating"]
FAST = [*ROLES, "--no-ordinal", "--quiet"]
CODE = re.compile(r"\b(?:officer|office)-[0-9a-f]{6,64}\b")


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    """The simulated six-office study as plain text columns, as a CSV would hold it."""
    sim = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)[COLUMNS]
    return pd.read_csv(io.StringIO(sim.to_csv(index=False)))


@pytest.fixture
def src(tmp_path: Path, ratings: pd.DataFrame) -> Path:
    return write(ratings, tmp_path / "ratings.csv")


def write(frame: pd.DataFrame, path: Path, **to_csv: object) -> Path:
    frame.to_csv(path, index=False, **to_csv)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(capsys: pytest.CaptureFixture[str], *argv: object) -> str:
    """Run, require exit code 2 and exactly one error line (no traceback); return it."""
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("riskeval: error: ")
    return lines[0]


def summary(outdir: Path) -> dict:
    return json.loads((outdir / "summary.json").read_text(encoding="utf-8"))


def leftovers(folder: Path) -> list[str]:
    """Hidden (temporary) entries left in a folder by an interrupted save."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ----------------------------------------------------------------------------- bad input


def test_wrong_delimiter_is_named_and_delimiter_option_reads_it(tmp_path, capsys, ratings):
    semi = write(ratings, tmp_path / "semi.csv", sep=";")
    out = tmp_path / "out"
    # a comma given for a file of semicolons: the error says which delimiter it seems to be
    msg = error_line(capsys, "audit", semi, *FAST, "--delimiter", ",", "-o", out)
    assert "semicolons" in msg and "--delimiter ';'" in msg
    assert not out.exists()

    code, _, err = run(capsys, "audit", semi, *FAST, "--delimiter", ";", "-o", out)
    assert code == 0, err
    assert summary(out)["meta"]["n_ratings"] == len(ratings)


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_semicolons_and_tabs_are_recognised_without_delimiter(tmp_path, capsys, ratings, sep,
                                                              name):
    path = write(ratings, tmp_path / f"{name}.csv", sep=sep)
    out = tmp_path / "out"
    code, _, err = run(capsys, "audit", path, *FAST, "-o", out)
    assert code == 0, err
    assert summary(out)["meta"]["n_ratings"] == len(ratings)
    code, stdout, err = run(capsys, "agreement", path, *ROLES, "--categories",
                            "low,medium,high,very high", "--json")
    assert code == 0, err
    assert json.loads(stdout)["n_ratings"] == len(ratings)


def test_utf8_bom_is_accepted(tmp_path, capsys, ratings):
    bom = write(ratings, tmp_path / "bom.csv", encoding="utf-8-sig")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    out = tmp_path / "out"
    # 'case' is the first column: it would read as '\ufeffcase' if the BOM were kept
    code, _, err = run(capsys, "audit", bom, *FAST, "--office", "office", "-o", out)
    assert code == 0, err
    meta = summary(out)["meta"]
    assert meta["n_ratings"] == len(ratings)
    assert meta["n_cases"] == ratings["case"].nunique()


@pytest.mark.parametrize(("flag", "wrong", "right"), [
    ("--office", "ofice", "office"),
    ("--case", "cases", "case"),
    ("--rating", "Rating", "rating"),
    ("--reference", "refrence", "reference"),
])
def test_missing_column_is_named_with_a_suggestion(tmp_path, capsys, src, flag, wrong, right):
    args = dict(zip(ROLES[::2], ROLES[1::2], strict=True)) | {flag: wrong}
    argv = [x for kv in args.items() for x in kv]
    out = tmp_path / "out"
    msg = error_line(capsys, "audit", src, *argv, "--no-ordinal", "--quiet", "-o", out)
    assert repr(wrong) in msg
    assert f"Did you mean {right!r}?" in msg
    assert not out.exists()


def test_duplicate_rows_name_their_lines(tmp_path, capsys, ratings):
    doubled = write(pd.concat([ratings, ratings.iloc[[5]]]), tmp_path / "dup.csv")
    msg = error_line(capsys, "audit", doubled, *FAST, "-o", tmp_path / "out")
    # row 5 is line 7 of the file (the header is line 1); its copy is the last line
    assert f"lines 7, {len(ratings) + 2}" in msg
    assert repr(ratings.at[5, "case"]) in msg and repr(ratings.at[5, "officer"]) in msg


def test_unknown_category_names_the_value_and_line(tmp_path, capsys, ratings):
    bad = ratings.copy()
    bad.loc[7, "rating"] = "extreme"
    path = write(bad, tmp_path / "extreme.csv")
    msg = error_line(capsys, "audit", path, *FAST, "-o", tmp_path / "out")
    assert "'extreme'" in msg and "'rating'" in msg and "line" in msg and "9" in msg


def test_mixed_case_label_suggests_lower_case(tmp_path, capsys, ratings):
    bad = ratings.copy()
    bad.loc[7, "rating"] = "High"
    path = write(bad, tmp_path / "high.csv")
    msg = error_line(capsys, "audit", path, *FAST, "-o", tmp_path / "out")
    assert "'High'" in msg and "'high'" in msg


@pytest.mark.parametrize(("content", "words"), [
    (b"", "empty"),
    (b"case,officer,office,rating\n", "no rows"),
    (b"\xef\xbb\xbf", "no columns"),
], ids=["zero-bytes", "header-only", "bom-only"])
def test_empty_and_header_only_files(tmp_path, capsys, content, words):
    path = tmp_path / "ratings.csv"
    path.write_bytes(content)
    msg = error_line(capsys, "audit", path, *FAST, "-o", tmp_path / "out")
    assert words in msg and "ratings.csv" in msg


def test_missing_file(tmp_path, capsys):
    msg = error_line(capsys, "audit", tmp_path / "nope.csv", *FAST, "-o", tmp_path / "out")
    assert "nope.csv" in msg


def test_one_officer_only(tmp_path, capsys, ratings):
    one = ratings[ratings["officer"] == ratings["officer"].iloc[0]]
    path = write(one, tmp_path / "one.csv")
    msg = error_line(capsys, "audit", path, *FAST, "-o", tmp_path / "out")
    assert "only 1 rater" in msg and "at least two raters" in msg
    assert repr(ratings["officer"].iloc[0]) in msg


# ----------------------------------------------------------------------------- the output folder


def test_non_empty_outdir_needs_force(tmp_path, capsys, src, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("an earlier file")
    msg = error_line(capsys, "audit", src, *FAST, "-o", out)
    assert "--force" in msg and "not empty" in msg and "out" in msg
    assert (out / "old.txt").read_text() == "an earlier file"

    # --force replaces only a report riskeval wrote, and says so before computing anything
    computed = []
    monkeypatch.setattr("riskeval.audit.audit", lambda *a, **k: computed.append(1))
    msg = error_line(capsys, "audit", src, *FAST, "--force", "-o", out)
    assert "only a report riskeval wrote" in msg and "old.txt" in msg
    assert computed == []
    assert (out / "old.txt").read_text() == "an earlier file"
    monkeypatch.undo()

    (out / "old.txt").unlink()
    code, _, err = run(capsys, "audit", src, *FAST, "-o", out)
    assert code == 0, err
    code, _, err = run(capsys, "audit", src, *FAST, "--force", "-o", out)
    assert code == 0, err
    assert (out / "report.html").is_file() and (out / "summary.json").is_file()
    assert leftovers(tmp_path) == []


def test_empty_outdir_is_used_without_force(tmp_path, capsys, src):
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = run(capsys, "audit", src, *FAST, "-o", out)
    assert code == 0, err
    assert (out / "report.html").is_file()


def test_outdir_holding_the_input_is_refused_even_with_force(tmp_path, capsys, ratings):
    data = tmp_path / "data"
    data.mkdir()
    path = write(ratings, data / "ratings.csv")
    before = path.read_bytes()
    for extra in ([], ["--force"]):
        msg = error_line(capsys, "audit", path, *FAST, *extra, "-o", data)
        assert "contains the input file" in msg and "ratings.csv" in msg
        assert path.read_bytes() == before
        assert sorted(p.name for p in data.iterdir()) == ["ratings.csv"]


def test_full_audit_leaves_the_input_untouched(tmp_path, capsys, src, ratings):
    """The one test with the ordinal model: every optional column, the input unchanged."""
    before, stat = src.read_bytes(), src.stat()
    out = tmp_path / "out"
    code, _, err = run(capsys, "audit", src, *ROLES, "--office", "office",
                       "--reference", "reference", "--original", "officer_rating",
                       "--year", "year", "--categories", "low,medium,high,very high",
                       "--quiet", "-o", out)
    assert code == 0, err
    assert src.read_bytes() == before
    assert src.stat().st_mtime_ns == stat.st_mtime_ns
    got = summary(out)
    assert got["meta"]["n_ratings"] == len(ratings)
    assert got["meta"]["n_officers"] == ratings["officer"].nunique()
    assert got["meta"]["n_offices"] == ratings["office"].nunique()
    assert {"ordinal_sd", "funnel", "directional", "overrides"} <= set(got["tables"])
    assert {p.name for p in (out / "tables").iterdir()} >= {"agreement.csv", "variance.csv"}
    assert (out / "figures" / "funnel.png").is_file()


# ----------------------------------------------------------------------------- help, vignettes


@pytest.mark.parametrize("command", ["audit", "demo", "vignettes"])
def test_help_shows_an_example(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text
    assert f"riskeval {command} " in text.split("example:", 1)[1]


def test_filled_vignette_rating_sheet_audits(tmp_path, capsys):
    pack = tmp_path / "pack"
    code, out, err = run(capsys, "vignettes", "--n", "6", "--seed", "1", "-o", pack)
    assert code == 0, err
    written = dict(re.findall(r"^\s+(\w+): (.+)$", out, flags=re.MULTILINE))
    sheet_path = Path(written["rating_sheet"])
    assert sheet_path.parent == pack and sheet_path.suffix == ".csv"

    blank = pd.read_csv(sheet_path, dtype=str, keep_default_na=False)
    assert list(blank.columns) == ["case", "officer", "office", "rating"]
    assert len(blank) == 6 and (blank[["officer", "office", "rating"]] == "").all().all()
    levels = list(rv.RISK_LEVELS)
    staff = [("A. Khan", "North"), ("B. Lowe", "North"), ("C. Okafor", "South")]
    filled = pd.concat([
        blank.assign(officer=name, office=office,
                     rating=[levels[(i + k * (i % 2)) % 4] for i in range(len(blank))])
        for k, (name, office) in enumerate(staff)
    ])[blank.columns]
    filled.to_csv(sheet_path, index=False)

    report = tmp_path / "audit"
    code, out, err = run(capsys, "audit", sheet_path, *ROLES, "--office", "office",
                         "--no-ordinal", "-o", report)
    assert code == 0, err
    assert out.splitlines()[1] == "18 ratings of 6 cases by 3 officers in 2 offices."
    assert summary(report)["meta"]["n_ratings"] == 18


# ----------------------------------------------------------------------------- pseudonyms


def _codes(outdir: Path) -> tuple[set[str], str]:
    files = [outdir / "report.html", outdir / "summary.json",
             *sorted((outdir / "tables").glob("*.csv"))]
    text = "\n".join(f.read_text(encoding="utf-8") for f in files)
    return set(CODE.findall(text)), text


def test_pseudonymise_hides_names_and_codes_are_stable(tmp_path, capsys, src, ratings):
    opts = [*FAST, "--office", "office", "--reference", "reference",
            "--original", "officer_rating"]
    runs = {}
    for label, salt in (("first", "s3cret-phrase-2026"), ("again", "s3cret-phrase-2026"),
                        ("other", "another-phrase-2027")):
        out = tmp_path / label
        code, _, err = run(capsys, "audit", src, *opts, "--pseudonymise", salt, "-o", out)
        assert code == 0, err
        runs[label] = _codes(out)

    codes, text = runs["first"]
    names = set(ratings["officer"]) | set(ratings["office"])
    leaked = sorted(n for n in names if n in text)
    assert leaked == []
    n_people = ratings["officer"].nunique() + ratings["office"].nunique()
    assert len(codes) == n_people
    assert pseudonym(ratings.at[0, "officer"], "s3cret-phrase-2026", "officer") in codes
    assert pseudonym(ratings.at[0, "office"], "s3cret-phrase-2026", "office") in codes
    assert summary(tmp_path / "first")["meta"]["pseudonymised"] is True

    assert runs["again"][0] == codes  # same salt, same codes
    assert runs["other"][0].isdisjoint(codes)  # another salt, other codes
    assert len(runs["other"][0]) == n_people


# ----------------------------------------------------------------------------- stdout


def test_quiet_prints_nothing_and_default_prints_five_lines(tmp_path, capsys, src, ratings):
    opts = [*ROLES, "--office", "office", "--reference", "reference", "--no-ordinal"]
    code, out, err = run(capsys, "audit", src, *opts, "--quiet", "-o", tmp_path / "quiet")
    assert code == 0, err
    assert out == ""

    loud = tmp_path / "loud"
    code, out, err = run(capsys, "audit", src, *opts, "-o", loud)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"report: {loud / 'report.html'}"
    assert len(lines) == 6
    result = rv.audit.audit(ratings, case="case", rater="officer", rating="rating",
                            office="office", reference="reference",
                            categories=rv.RISK_LEVELS, ordinal=False)
    assert lines[1:] == result.summary().splitlines()


# ----------------------------------------------------------------------------- crashes


def test_internal_error_exits_1(tmp_path, capsys, monkeypatch, src):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr("riskeval.audit.audit", boom)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "audit", src, *FAST, "-o", out)
    assert code == 1
    assert stdout == ""
    assert "internal error" in err and "simulated failure" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_crash_while_writing_leaves_no_half_written_report(tmp_path, capsys, monkeypatch, src):
    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(_report, "render_html", boom)
    out = tmp_path / "out"
    code, _, err = run(capsys, "audit", src, *FAST, "-o", out)
    assert code == 1, err
    assert "internal error" in err and "disk full" in err
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_crash_while_replacing_keeps_the_old_report(tmp_path, capsys, monkeypatch, src):
    out = tmp_path / "out"
    code, _, err = run(capsys, "audit", src, *FAST, "-o", out)
    assert code == 0, err
    old = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(_report, "render_html", boom)
    code, _, err = run(capsys, "audit", src, *FAST, "--force", "-o", out)
    assert code == 1, err
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == old
    assert leftovers(tmp_path) == []


def test_out_of_memory_names_the_step_and_what_to_do(tmp_path, capsys, src, monkeypatch):
    """A step that runs out of memory (the pairwise table on tens of thousands of officers)
    is named, with what scales and what to run instead; exit 1, no traceback, no folder."""
    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 3.78 GiB")
    monkeypatch.setattr("riskeval.audit._compute.pairwise_agreement", too_big)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "audit", src, *FAST, "-o", out)
    assert code == 1 and stdout == ""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "out of memory (pairwise agreement: Unable to allocate 3.78 GiB)" in err
    assert "riskeval agreement" in err
    assert not out.exists() or not any(out.iterdir())
