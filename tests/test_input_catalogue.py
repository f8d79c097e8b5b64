"""A catalogue of the inputs people actually give ``riskeval`` on the command line.

Each row is one input: how to build it (files written into a fresh folder, the arguments),
the exit code expected and a fragment of the message. Every run goes through
``riskeval.cli.main`` as the console script does. The contract checked for every row:

* exit 2: exactly one line on stderr, ``riskeval: error: ...``, holding the fragment, nothing
  on stdout, no traceback, and no output folder written;
* exit 0: the command did its work (an audit's ``summary.json`` exists), no traceback;
* exit 130 (interrupted) and 141 (the reader of stdout went away): one line or none, no
  traceback.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import riskeval as rv
from riskeval.cli import main

ROLES = ["--case", "case", "--rater", "officer", "--rating", "rating"]
FAST = [*ROLES, "--no-ordinal", "--quiet"]
LEVELS = "low,medium,high,very high"
COLUMNS = ["case", "officer", "office", "rating", "reference"]


def _ratings() -> pd.DataFrame:
    """Two offices of the simulated six-office study, as plain text (384 ratings)."""
    sim = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)[COLUMNS]
    keep = sim["office"].isin(sorted(sim["office"].unique())[:2])
    return sim[keep].astype(str).reset_index(drop=True)


RATINGS = _ratings()


@dataclass
class Ctx:
    """What a row's builder gets: a fresh folder and pytest's monkeypatch."""

    tmp: Path
    monkeypatch: pytest.MonkeyPatch

    def csv(self, name: str, frame: pd.DataFrame | None = None, **to_csv: object) -> str:
        path = self.tmp / name
        (RATINGS if frame is None else frame).to_csv(path, index=False, **to_csv)
        return str(path)

    @property
    def out(self) -> str:
        return str(self.tmp / "out")


def _with_jose(frame: pd.DataFrame) -> pd.DataFrame:
    """An officer's name with an accent, which Latin-1 and UTF-8 write differently."""
    out = frame.copy()
    out.loc[out["officer"] == out.at[0, "officer"], "officer"] = "José"
    return out


def _comma_label(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(rating=frame["rating"].replace({"low": "low, but watch"}))


def _numbers_with_a_blank(frame: pd.DataFrame) -> pd.DataFrame:
    codes = {lab: str(k) for k, lab in enumerate(rv.RISK_LEVELS, start=1)}
    out = frame.assign(rating=frame["rating"].map(codes))
    out.loc[3, "rating"] = ""
    return out


def _interrupt(signum: int | None) -> Callable[..., object]:
    def stop(*args: object, **kwargs: object) -> object:
        if signum is None:
            raise KeyboardInterrupt
        os.kill(os.getpid(), signum)  # the handler installed by main turns it into Ctrl-C
        raise AssertionError("the signal did not interrupt")
    return stop


def _empty(c: Ctx) -> str:
    path = c.tmp / "empty.csv"
    path.write_bytes(b"")
    return str(path)


def _unreadable(c: Ctx) -> list[str]:
    path = Path(c.csv("secret.csv"))
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: simulate the refusal
        real = open

        def refuse(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real(file, *args, **kwargs)
        c.monkeypatch.setattr("riskeval.cli.open", refuse, raising=False)
        c.monkeypatch.setattr("riskeval.data.open", refuse, raising=False)
    return ["audit", str(path), *FAST, "-o", c.out]


def _unwritable_folder(c: Ctx) -> list[str]:
    parent = c.tmp / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    if os.access(parent, os.W_OK):  # root writes anything: simulate the refusal
        def refuse(*args: object, **kwargs: object) -> str:
            raise PermissionError(13, "Permission denied")
        c.monkeypatch.setattr("riskeval.cli.tempfile.mkdtemp", refuse)
    return ["audit", c.csv("r.csv"), *FAST, "-o", str(parent / "out")]


class _ClosedPipe(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def _closed_pipe(c: Ctx) -> list[str]:
    c.monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    return ["agreement", c.csv("r.csv"), *ROLES, "--categories", LEVELS, "--json"]


# (id, builder, expected exit code, fragments of the message on stderr)
CATALOGUE: list[tuple[str, Callable[[Ctx], list[str]], int, tuple[str, ...]]] = [
    ("good file", lambda c: ["audit", c.csv("r.csv"), *FAST, "-o", c.out], 0, ()),
    ("wrong delimiter given",
     lambda c: ["audit", c.csv("semi.csv", sep=";"), *FAST, "--delimiter", ",", "-o", c.out],
     2, ("semicolons", "--delimiter ';'")),
    ("semicolons recognised",
     lambda c: ["audit", c.csv("semi.csv", sep=";"), *FAST, "-o", c.out], 0, ()),
    ("tabs recognised",
     lambda c: ["audit", c.csv("tabs.tsv", sep="\t"), *FAST, "-o", c.out], 0, ()),
    ("agreement --delimiter",
     lambda c: ["agreement", c.csv("semi.csv", sep=";"), *ROLES, "--categories", LEVELS,
                "--delimiter", ";"], 0, ()),
    ("empty delimiter",
     lambda c: ["audit", c.csv("r.csv"), *FAST, "--delimiter", "", "-o", c.out],
     2, ("delimiter '' is empty", "--delimiter ';'")),
    ("missing column",
     lambda c: ["audit", c.csv("r.csv"), *FAST, "--office", "ofice", "-o", c.out],
     2, ("'ofice'", "Did you mean 'office'?")),
    ("duplicate rows (audit)",
     lambda c: ["audit", c.csv("dup.csv", pd.concat([RATINGS, RATINGS.iloc[[5]]])), *FAST,
                "-o", c.out],
     2, ("repeat a (case, rater) pair", "lines 7, 386", "--occasion")),
    ("duplicate rows (agreement has no --occasion)",
     lambda c: ["agreement", c.csv("dup.csv", pd.concat([RATINGS, RATINGS.iloc[[5]]])),
                *ROLES, "--categories", LEVELS],
     2, ("repeat a (case, rater) pair", "Keep one rating per officer and case")),
    ("unknown category",
     lambda c: ["audit", c.csv("x.csv", RATINGS.assign(rating=lambda d: d["rating"].where(
         d.index != 7, "extreme"))), *FAST, "-o", c.out],
     2, ("'extreme'", "lines 9")),
    ("empty file", lambda c: ["audit", _empty(c), *FAST, "-o", c.out], 2, ("is empty",)),
    ("header only", lambda c: ["audit", c.csv("h.csv", RATINGS.iloc[:0]), *FAST, "-o", c.out],
     2, ("no rows",)),
    ("one officer",
     lambda c: ["audit", c.csv("one.csv", RATINGS[RATINGS["officer"] == RATINGS.at[0,
                                                                                "officer"]]),
                *FAST, "-o", c.out],
     2, ("only 1 rater", "at least two raters")),
    ("one office",
     lambda c: ["audit", c.csv("office.csv", RATINGS[RATINGS["office"] == RATINGS.at[0,
                                                                                    "office"]]),
                *FAST, "--office", "office", "-o", c.out],
     2, ("only one office", "drop --office")),
    ("latin-1 file",
     lambda c: ["audit", c.csv("latin.csv", _with_jose(RATINGS), encoding="cp1252"), *FAST,
                "-o", c.out],
     2, ("not UTF-8", "--encoding 'cp1252'")),
    ("latin-1 file with --encoding",
     lambda c: ["audit", c.csv("latin.csv", _with_jose(RATINGS), encoding="cp1252"), *FAST,
                "--encoding", "cp1252", "-o", c.out], 0, ()),
    ("latin-1 file, agreement --encoding",
     lambda c: ["agreement", c.csv("latin.csv", _with_jose(RATINGS), encoding="cp1252"),
                *ROLES, "--categories", LEVELS, "--encoding", "latin-1"], 0, ()),
    ("unknown encoding",
     lambda c: ["audit", c.csv("r.csv"), *FAST, "--encoding", "klingon", "-o", c.out],
     2, ("unknown encoding 'klingon'",)),
    ("utf-16 file",
     lambda c: ["audit", c.csv("u16.csv", _with_jose(RATINGS), encoding="utf-16"), *FAST,
                "-o", c.out], 0, ()),
    ("utf-16 file, agreement",
     lambda c: ["agreement", c.csv("u16.csv", _with_jose(RATINGS), encoding="utf-16"), *ROLES,
                "--categories", LEVELS], 0, ()),
    ("comma in a category, quoted",
     lambda c: ["audit", c.csv("comma.csv", _comma_label(RATINGS)), *FAST, "--categories",
                '"low, but watch",medium,high,very high', "-o", c.out], 0, ()),
    ("comma in a category, --category",
     lambda c: ["audit", c.csv("comma.csv", _comma_label(RATINGS)), *FAST,
                "--category", "low, but watch", "--category", "medium", "--category", "high",
                "--category", "very high", "-o", c.out], 0, ()),
    ("comma in a category, agreement --category",
     lambda c: ["agreement", c.csv("comma.csv", _comma_label(RATINGS)), *ROLES,
                "--category", "low, but watch", "--category", "medium", "--category", "high",
                "--category", "very high"], 0, ()),
    ("comma in a category, not quoted",
     lambda c: ["audit", c.csv("comma.csv", _comma_label(RATINGS)), *FAST, "--categories",
                "low, but watch,medium,high,very high", "-o", c.out],
     2, ("outside the declared categories", "'low, but watch'")),
    ("--categories and --category together",
     lambda c: ["audit", c.csv("r.csv"), *FAST, "--categories", LEVELS, "--category", "low",
                "-o", c.out], 2, ("--categories or --category",)),
    ("unreadable file", _unreadable, 2, ("cannot read", "permission denied")),
    ("input is a folder",
     lambda c: ["audit", str(c.tmp), *FAST, "-o", c.out], 2, ("is a folder",)),
    ("missing file",
     lambda c: ["audit", str(c.tmp / "nope.csv"), *FAST, "-o", c.out], 2, ("nope.csv",)),
    ("output under a regular file",
     lambda c: ["audit", c.csv("r.csv"), *FAST, "-o", str(Path(c.csv("r.csv")) / "out")],
     2, ("cannot write the output folder", "is a file")),
    ("output folder not writable", _unwritable_folder, 2,
     ("cannot write the output folder", "permission denied")),
    ("vignettes into a folder under a file",
     lambda c: ["vignettes", "--n", "2", "-o", str(Path(c.csv("r.csv")) / "pack")],
     2, ("cannot write the output folder",)),
    ("numeric ratings with a blank",
     lambda c: ["audit", c.csv("num.csv", _numbers_with_a_blank(RATINGS)), *FAST,
                "--categories", "1,2,3,4", "-o", c.out], 0, ()),
    ("numeric ratings with a blank, agreement",
     lambda c: ["agreement", c.csv("num.csv", _numbers_with_a_blank(RATINGS)), *ROLES,
                "--categories", "1,2,3,4"], 0, ()),
    ("--high-from not a level",
     lambda c: ["audit", c.csv("r.csv"), *FAST, "--high-from", "lo", "-o", c.out],
     2, ("--high-from 'lo' is not one of the levels",)),
    ("--high-from not a declared level",
     lambda c: ["audit", c.csv("r.csv"), *FAST, "--categories", LEVELS, "--high-from",
                "severe", "-o", c.out], 2, ("--high-from 'severe'",)),
    ("Ctrl-C",
     lambda c: c.monkeypatch.setattr("riskeval.audit.audit", _interrupt(None)) or [
         "audit", c.csv("r.csv"), *FAST, "-o", c.out], 130, ("interrupted",)),
    ("SIGTERM",
     lambda c: c.monkeypatch.setattr("riskeval.audit.audit", _interrupt(signal.SIGTERM)) or [
         "audit", c.csv("r.csv"), *FAST, "-o", c.out], 130, ("interrupted",)),
    ("stdout closed by its reader", _closed_pipe, 141, ()),
]


@pytest.mark.parametrize(("builder", "code", "fragments"),
                         [pytest.param(b, c, f, id=i) for i, b, c, f in CATALOGUE])
def test_catalogue(tmp_path, monkeypatch, capsys, builder, code, fragments):
    ctx = Ctx(tmp_path, monkeypatch)
    argv = builder(ctx)
    got = main(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err
    assert got == code, err
    lines = err.strip().splitlines()
    if code == 2:
        assert len(lines) == 1, err
        assert lines[0].startswith("riskeval: error: ")
        assert captured.out == ""
        assert not (tmp_path / "out").exists()
    elif code == 0 and argv[0] == "audit":
        assert (Path(argv[argv.index("-o") + 1]) / "summary.json").is_file()
    elif code in (130, 141):
        assert len(lines) <= 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_catalogue_reads_the_same_ratings_whatever_the_encoding(tmp_path, capsys):
    """Latin-1, UTF-16 and UTF-8 copies of one file give one and the same agreement."""
    frame = _with_jose(RATINGS)
    results = []
    for name, encoding, extra in (("u8.csv", "utf-8", []), ("u16.csv", "utf-16", []),
                                  ("l1.csv", "cp1252", ["--encoding", "cp1252"])):
        frame.to_csv(tmp_path / name, index=False, encoding=encoding)
        assert main(["agreement", str(tmp_path / name), *ROLES, "--categories", LEVELS,
                     "--json", *extra]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0]["n_raters"] == RATINGS["officer"].nunique()
    assert [r["coefficients"] for r in results[1:]] == [results[0]["coefficients"]] * 2


def test_numbers_with_a_blank_match_declared_categories_in_python():
    """A blank cell makes pandas read 1, 2, 3 as 1.0, 2.0, 3.0: they still match "1", "2"..."""
    frame = _numbers_with_a_blank(RATINGS).assign(
        rating=lambda d: pd.to_numeric(d["rating"].replace("", None)))
    assert frame["rating"].dtype == float
    clean = rv.validate_ratings(frame, case="case", rater="officer", rating="rating",
                                categories="1,2,3,4")
    assert list(clean["rating"].cat.categories) == ["1", "2", "3", "4"]
    assert clean["rating"].isna().sum() == 1
    with pytest.raises(rv.RiskevalError, match=r"\['2\.5'\]"):
        rv.validate_ratings(frame.assign(rating=frame["rating"].where(frame.index != 0, 2.5)),
                            case="case", rater="officer", rating="rating",
                            categories="1,2,3,4")


@pytest.mark.parametrize("data", [
    pd.DataFrame({"c": [1, 1, 2, 2], "r": ["a", "b", "a", "b"], "x": [1 + 0j, 2, 3, 4j]}),
    pd.DataFrame({"c": [1, 1, 2, 2], "r": ["a", "b", "a", "b"],
                  "x": pd.Series([1.0, 2.0, 3.0, 1 + 2j], dtype=object)}),
], ids=["complex dtype", "complex among floats"])
def test_complex_ratings_are_refused(data):
    with pytest.raises(rv.RiskevalError, match="complex numbers"):
        rv.validate_ratings(data, case="c", rater="r", rating="x")
    with pytest.raises(rv.RiskevalError, match="complex numbers"):
        rv.krippendorff_alpha(data, case="c", rater="r", rating="x", level="interval")
    wide = data.pivot(index="c", columns="r", values="x")
    with pytest.raises(rv.RiskevalError, match="complex numbers"):
        rv.icc(wide)
    with pytest.raises(rv.RiskevalError, match="complex numbers"):
        rv.icc(wide.to_numpy())


def test_duplicate_hint_names_the_option_as_the_user_writes_it():
    frame = pd.concat([RATINGS, RATINGS.iloc[[5]]])
    with pytest.raises(rv.RiskevalError, match=r"occasion=\.") as err:
        rv.validate_ratings(frame, case="case", rater="officer", rating="rating")
    assert "--occasion" not in str(err.value)


def test_actuarial_rows_are_named_by_their_labels():
    from riskeval.prediction import ActuarialScore

    frame = pd.DataFrame({"age": [20.0, 30.0, 0.0, 40.0] * 5, "sex": ["m", "f"] * 10,
                          "n_previous": [1, 2, 3, 4] * 5}, index=range(100, 120))
    y = pd.Series([0, 1] * 10, index=frame.index)
    with pytest.raises(rv.RiskevalError, match="rows 102, 106") as err:
        ActuarialScore().fit(frame, y)
    assert "lines" not in str(err.value)
