"""How a value that is not defined on the data is shown: `riskeval agreement` (table and
JSON), the audit's report and five-line summary, and `by_group`'s NaN rows.

Before: the table printed a NaN estimate as a blank cell with "[, ]" and its reason twice; the
JSON wrote an ICC2k lower limit of minus infinity as null (like a missing value); the audit's
HTML table dropped the notes and its summary printed "[nan, nan]" or blamed every NaN alpha on
"one level throughout"; by_group raised for a group whose raters share no case, and for
officers numbered within offices.
"""

from __future__ import annotations

import html
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval.audit import audit
from riskeval.audit._report import render_body, summary_dict
from riskeval.cli import main

LEVELS = ["low", "medium", "high", "very high"]
ALPHA = "Krippendorff's alpha (ordinal)"
NAN = re.compile(r"\bnan\b", re.IGNORECASE)
ICC2K = "ICC2k (mean of k raters, two-way random, absolute agreement)"


def long(X: np.ndarray | list, labels: list | None = None) -> pd.DataFrame:
    """A cases x raters table as a long one (``labels[code]`` for each rating, if given)."""
    X = np.asarray(X)
    return pd.DataFrame(
        [(f"case {i}", f"officer {j}", X[i, j] if labels is None else labels[X[i, j]])
         for i in range(X.shape[0]) for j in range(X.shape[1])],
        columns=["case", "officer", "rating"])


#: one level throughout: alpha, Fleiss' kappa and the ICCs are not defined
ONE_LEVEL = long(np.ones((5, 3), dtype=int), LEVELS)
#: three cases: alpha is 0.933, but its jackknife interval is not defined
THREE_CASES = long([[0, 0], [0, 0], [1, 2]], LEVELS)
#: two raters' noise: ICC2k = -5.27 with the interval [-inf, -0.289]
NOISE = long(np.array([[4, 4, 1, 2, 2, 3, 1, 1, 1, 4, 3, 3],
                       [2, 1, 2, 3, 2, 2, 2, 4, 4, 1, 2, 3]]).T - 1, LEVELS)


def agreement_cli(tmp_path: Path, frame: pd.DataFrame, capsys: pytest.CaptureFixture[str],
                  *extra: str) -> str:
    src = tmp_path / "ratings.csv"
    frame.to_csv(src, index=False)
    code = main(["agreement", str(src), "--case", "case", "--rater", "officer", "--rating",
                 "rating", "--categories", ",".join(LEVELS), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def library_table(frame: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rv.agreement_summary(frame, case="case", rater="officer", rating="rating",
                                    categories=LEVELS)


def line_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(name))


# -- 1. the table of `riskeval agreement` --------------------------------------------------------

def test_a_nan_estimate_reads_not_defined_with_its_reason_once(tmp_path, capsys):
    out = agreement_cli(tmp_path, ONE_LEVEL, capsys)
    notes = library_table(ONE_LEVEL)["note"]
    row = line_of(out, ALPHA)
    assert "not defined" in row and "[" not in row  # was a blank cell and "[, ]"
    assert "[, ]" not in out
    for coefficient in (ALPHA, "Fleiss' kappa"):
        assert out.count(notes[coefficient]) == 1  # was twice: in the row and as "note:"
    # the four ICCs share one reason, given once and referred to from each row
    assert out.count("every rating is identical (zero variance)") == 1
    marks = {line_of(out, f).split("(note ")[1] for f in ("ICC1", "ICC2 ", "ICC3", ICC2K)}
    assert len(marks) == 1
    body = out.split("\n", 1)[1]  # after the file name
    assert not NAN.search(body.replace("returning NaN", ""))


def test_a_finite_estimate_without_interval_reads_no_interval(tmp_path, capsys):
    out = agreement_cli(tmp_path, THREE_CASES, capsys)
    note = library_table(THREE_CASES).loc[ALPHA, "note"]
    assert note  # the interval is not defined on three cases
    row = line_of(out, ALPHA)
    assert "0.933" in row and "no interval" in row and "[" not in row  # was "0.933  [, ]"
    assert out.count(note) == 1


def test_a_lower_limit_of_minus_infinity_is_explained(tmp_path, capsys):
    out = agreement_cli(tmp_path, NOISE, capsys)
    assert "-5.266  [-inf, -0.289]" in line_of(out, ICC2K)
    assert "  -inf: the interval has no lower limit (a k-rater ICC has no lower bound)" in out


# -- 2. JSON: minus infinity is not a missing value -------------------------------------------

def test_json_writes_infinite_limits_as_strings_and_nan_as_null(tmp_path, capsys):
    rows = {r["coefficient"]: r for r in json.loads(
        agreement_cli(tmp_path, NOISE, capsys, "--json"))["coefficients"]}
    assert rows[ICC2K]["ci_low"] == "-inf"  # was null, as for a value not available
    assert rows[ICC2K]["ci_high"] == pytest.approx(-0.2887, abs=1e-4)
    rows = {r["coefficient"]: r for r in json.loads(
        agreement_cli(tmp_path, ONE_LEVEL, capsys, "--json"))["coefficients"]}
    assert rows[ALPHA]["estimate"] is None and rows[ALPHA]["ci_low"] is None
    assert rows[ALPHA]["note"] == library_table(ONE_LEVEL).loc[ALPHA, "note"]


def test_json_convention_is_documented(capsys):
    with pytest.raises(SystemExit):
        main(["agreement", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert 'string "-inf" or "inf"' in text and "is null" in text
    assert '"-inf"' in rv.cli.__doc__


# -- 3. the audit: the notes in the report and the five-line summary --------------------------

def quiet_audit(frame: pd.DataFrame, **kw: str) -> rv.audit.Audit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return audit(frame, case="case", rater="officer", rating="rating", categories=LEVELS,
                     ordinal=False, progress=False, **kw)


def test_audit_summary_alpha_without_interval_gives_the_reason():
    a = quiet_audit(THREE_CASES)
    assert np.isfinite(a.agreement.loc[ALPHA, "estimate"])
    assert np.isnan(a.agreement.loc[ALPHA, "ci_low"])
    line = a.summary().splitlines()[1]
    assert "alpha (ordinal) 0.933, no interval (" in line  # was "0.933 [nan, nan]."
    assert not NAN.search(line)
    assert "one level" not in line


def test_audit_summary_alpha_not_defined_gives_the_reason():
    frame = ONE_LEVEL.assign(office=["north", "north", "south"] * 5)
    a = quiet_audit(frame, office="office")
    line = a.summary().splitlines()[1]
    assert "alpha (ordinal) not defined: " in line  # the row's note, not a fixed guess
    reason = line.split("not defined: ")[1].rstrip(".")
    assert reason and reason in a.agreement.loc[ALPHA, "note"]
    assert not NAN.search(line) and "Krippendorff's alpha is" not in line


def test_audit_report_keeps_the_notes_of_the_agreement_table():
    a = quiet_audit(THREE_CASES)
    body = render_body(a, pngs={})
    start = body.index(">Agreement</h2>")      # the section, not the contents at the top
    table = body[start:body.index(">Agreement between pairs", start)]
    assert "<th>note</th>" in table  # the column was dropped
    assert a.agreement.loc[ALPHA, "note"] in html.unescape(table)


def test_audit_summary_json_writes_minus_infinity_as_a_string():
    a = quiet_audit(NOISE)
    rows = {r["coefficient"]: r for r in summary_dict(a)["tables"]["agreement"]}
    assert a.agreement.loc[ICC2K, "ci_low"] == -np.inf
    assert rows[ICC2K]["ci_low"] == "-inf"  # was null
    json.dumps(summary_dict(a), allow_nan=False)


# -- 4. by_group ---------------------------------------------------------------------------------

def numbered_officers(seed: int = 3) -> pd.DataFrame:
    """Four offices, officers numbered 1..5 in each, all rating the same eight vignettes."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, office in enumerate("ABCD"):
        for officer in range(1, 6):
            for v in range(8):
                level = int(np.clip(v // 2 + rng.integers(-1, 2) * (k % 3), 0, 3))
                rows.append((office, officer, f"v{v}", LEVELS[level]))
    return pd.DataFrame(rows, columns=["office", "officer", "vignette", "rating"])


COEFFICIENTS = [(rv.krippendorff_alpha, {"level": "ordinal"}), (rv.gwet_ac, {}),
                (rv.fleiss_kappa, {}), (rv.icc, {})]
COLS = {"case": "vignette", "rater": "officer", "rating": "rating", "categories": LEVELS}


@pytest.mark.parametrize(("fn", "kw"), COEFFICIENTS)
def test_by_group_with_officers_numbered_within_offices(fn, kw):
    data = numbered_officers()
    # was: "160 rows repeat a (case, rater) pair"
    per = rv.by_group(fn, data, group="office", **COLS, **kw).set_index("office")
    assert list(per.index) == list("ABCD") and (per["n_raters"] == 5).all()
    for office, sub in data.groupby("office"):
        res = fn(sub, **COLS, **kw)
        assert per.loc[office, "estimate"] == pytest.approx(res.estimate, abs=1e-12)
        assert (per.loc[office, "ci_low"], per.loc[office, "ci_high"]) == pytest.approx(
            res.ci, abs=1e-12)


def test_by_group_with_two_group_columns_and_numbered_officers():
    data = numbered_officers().assign(half=lambda d: np.where(d["vignette"] < "v4", 1, 2))
    per = rv.by_group(rv.gwet_ac, data, group=["office", "half"], **COLS)
    assert len(per) == 8 and (per["n_raters"] == 5).all()
    for (office, half), sub in data.groupby(["office", "half"]):
        row = per[(per["office"] == office) & (per["half"] == half)].iloc[0]
        assert row["estimate"] == pytest.approx(rv.gwet_ac(sub, **COLS).estimate, abs=1e-12)


@pytest.mark.parametrize(("fn", "kw"), COEFFICIENTS)
def test_by_group_a_group_whose_raters_share_no_case_is_a_nan_row(fn, kw):
    data = numbered_officers()
    data = data[data["office"].isin(["A", "B"])]
    data = data.assign(officer=data["office"] + data["officer"].astype(str))  # ids unique
    # office E: two officers, each rating vignettes the other did not
    alone = pd.DataFrame({"office": "E", "officer": ["E1", "E1", "E2", "E2"],
                          "vignette": ["v0", "v1", "v2", "v3"],
                          "rating": ["low", "high", "medium", "low"]})
    data = pd.concat([data, alone], ignore_index=True)
    # was: "... needs cases rated by at least two raters; no case has two ratings", for
    # every office
    per = rv.by_group(fn, data, group="office", **COLS, **kw).set_index("office")
    e = per.loc["E"]
    assert np.isnan(e["estimate"]) and e["n_raters"] == 2 and e["n_cases"] == 4
    assert "share no case" in e["note"]
    for office in "AB":
        res = fn(data[data["office"] == office], **COLS, **kw)
        assert per.loc[office, "estimate"] == pytest.approx(res.estimate, abs=1e-12)


def test_cli_by_office_notes_an_office_whose_officers_share_no_case(tmp_path, capsys):
    data = numbered_officers()
    data = pd.concat([data[data["office"] == "A"], pd.DataFrame(
        {"office": "E", "officer": [1, 2], "vignette": ["v0", "v1"], "rating": "low"})])
    src = tmp_path / "ratings.csv"
    data.to_csv(src, index=False)
    assert main(["agreement", str(src), "--case", "vignette", "--rater", "officer",
                 "--rating", "rating", "--categories", ",".join(LEVELS),
                 "--office", "office"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("E, ")]
    assert len(rows) == 2 and all("not defined  (note" in r for r in rows)
    assert out.count("its 2 raters share no case") == 1
