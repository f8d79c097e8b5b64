"""Plain-English narratives of vignettes and the files of a vignette study."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval.world import narratives as nar
from riskeval.world.vignettes import TRUTH_COLUMNS, factorial, population

LEVELS = "low,medium,high,very high"


def one(text: pd.Series) -> str:
    assert len(text) == 1
    return str(text.iloc[0])


def test_same_seed_same_text_other_seed_differs():
    cases = population(50, seed=11)
    a = nar.narratives(cases, seed=4)
    b = nar.narratives(cases, seed=4)
    c = nar.narratives(cases, seed=5)
    pd.testing.assert_series_equal(a, b)
    assert a.index.tolist() == cases["case"].tolist()
    assert a.index.name == "case" and a.name == "narrative"
    assert (a != c).any()
    # every phrasing is in use on 50 cases: the texts are not one template
    assert a.str.slice(0, 12).nunique() >= 2


def test_text_keyed_by_case_id_not_position():
    small = nar.narratives(population(5, seed=3), seed=8)
    large = nar.narratives(population(40, seed=3), seed=8)
    assert small["V0003"] == large["V0003"]
    assert small.to_dict() == large[small.index].to_dict()
    # reordering the table changes nothing either
    shuffled = population(5, seed=3).iloc[::-1]
    assert nar.narratives(shuffled, seed=8)["V0003"] == small["V0003"]


def test_input_is_not_modified():
    cases = population(6, seed=2)
    before = cases.copy()
    nar.narratives(cases, seed=0)
    pd.testing.assert_frame_equal(cases, before)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_arson_closed_interview(seed):
    text = one(nar.narratives(factorial({"offence": ["arson"], "openness": [0]}), seed=seed))
    assert "arson" in text
    assert "said little" in text and "closed" in text
    # the base case: a man of 32 with 6 previous sanctions since 17, moderate seriousness
    assert "32-year-old man" in text
    assert "six previous sanctions" in text and "17" in text
    assert "moderate seriousness" in text
    assert "new to the service" in text


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_previous_sanctions(seed):
    design = factorial({"previous_sanctions": [0]},
                       base={"years_since_last_sanction": np.nan, "age_first_sanction": 32})
    text = one(nar.narratives(design, seed=seed))
    assert "no previous sanctions" in text
    assert "most recent" not in text


@pytest.mark.parametrize("seed", range(6))
def test_content_of_each_attribute(seed):
    design = factorial({"sex": ["female"]}, base={
        "age": 18, "age_first_sanction": 13, "previous_sanctions": 14,
        "years_since_last_sanction": 0.5, "offence": "acquisitive", "seriousness": 3,
        "need_ete": 2, "need_thinking_behaviour": 1, "need_lifestyle": 0,
        "need_alcohol_misuse": 2, "protective_factors": 3, "psychological_risk": 2,
        "openness": 2, "accommodation": "no fixed abode", "recall": True,
        "months_known": 9.0})
    text = one(nar.narratives(design, seed=seed))
    assert "an 18-year-old woman" in text.lower()
    assert "theft or burglary" in text and "serious" in text
    assert "14 previous sanctions" in text and "13" in text and "about six months ago" in text
    assert "significant problems with" in text
    assert "education, training and employment" in text and "alcohol misuse" in text
    assert "some problems with thinking and behaviour" in text
    assert "lifestyle" not in text
    assert "three strengths" in text.lower()
    assert "marked psychological risk factors" in text
    assert "open and engaged" in text
    assert "no fixed abode" in text
    assert "following recall to custody" in text or "follows her recall to custody" in text
    assert "known to the service for nine months" in text
    pct = round(100 * design["actuarial_p"].iloc[0])
    assert f"OGRS-style static score puts the two-year reconviction likelihood at {pct}%" in text
    assert " he " not in text and " his " not in text


def test_every_offence_named_and_sentence_count():
    offences = list(rv.world.vignettes.OFFENCE_TYPES)
    design = factorial({"offence": offences, "seriousness": [1, 2, 3]})
    text = nar.narratives(design, seed=7)
    words = {"violence": "violent", "domestic_abuse": "domestic abuse", "sexual": "sexual",
             "acquisitive": "acquisitive", "drugs_supply": "drugs supply", "arson": "arson",
             "public_order": "public order", "weapons": "weapons"}
    seriousness = {1: "lower end", 2: "moderate", 3: "serious nature"}
    for (_, row), t in zip(design.iterrows(), text, strict=True):
        assert words[row["offence"]] in t
        assert seriousness[row["seriousness"]] in t
    sentences = population(200, seed=1).pipe(nar.narratives, seed=2).str.count(r"\.(?:\s|$)")
    assert sentences.between(4, 7).all()


def test_no_truth_leakage():
    cases = population(60, seed=21)
    text = nar.narratives(cases, seed=1)
    level_words = re.compile(r"\b(low|medium|high|very high)\s+(risk|harm)\b", re.IGNORECASE)
    for (_, row), t in zip(cases.iterrows(), text, strict=True):
        low = t.lower()
        assert "reference" not in low and "harm" not in low and "true" not in low
        assert not level_words.search(t)
        assert f"level {row['reference']}" not in low
        shown = round(100 * row["actuarial_p"])
        true = round(100 * row["p_reconviction"])
        assert f"{shown}%" in t
        if true != shown:
            assert f"{true}%" not in t
        # the only percentage in the text is the actuarial one
        assert re.findall(r"\d+%", t) == [f"{shown}%"]
    # changing a truth column does not change the text
    other = cases.copy()
    other["reference"] = "very high"
    pd.testing.assert_series_equal(nar.narratives(other, seed=1), text)
    assert set(TRUTH_COLUMNS) <= set(cases.columns)


def test_html_escapes_everything():
    design = factorial({"offence": ["weapons", "arson"]})
    design["case"] = ["<script>alert(1)</script>", "A&B"]
    page = nar.to_html(design, seed=0, title="Pack <b>1</b> & co")
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Case A&amp;B" in page
    assert "Pack &lt;b&gt;1&lt;/b&gt; &amp; co" in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "page-break-after" in page or "break-after: page" in page
    assert page.count('<section class="case">') == 2
    assert "http" not in page  # self-contained: no external resources


def test_markdown_and_csv_formats(tmp_path):
    cases = population(4, seed=6)
    text = nar.narratives(cases, seed=3)
    md = nar.to_markdown(cases, seed=3)
    assert md.count("## Case ") == 4 and "## Case V0002\n\n" + text["V0002"] in md
    csv_text = nar.to_csv(cases, seed=3)
    assert isinstance(csv_text, str) and csv_text.startswith("case,narrative\n")
    path = nar.to_csv(cases, tmp_path / "n.csv", seed=3)
    assert path == tmp_path / "n.csv" and path.read_text(encoding="utf-8") == csv_text
    back = pd.read_csv(path)
    assert back["narrative"].tolist() == text.tolist()
    with pytest.raises(rv.RiskevalError, match="does not exist"):
        nar.to_csv(cases, tmp_path / "missing" / "n.csv")


def test_rating_sheet_shapes_and_errors():
    cases = population(3, seed=1)
    blank = nar.rating_sheet(cases)
    assert blank.columns.tolist() == ["case", "officer", "office", "rating"]
    assert blank["case"].tolist() == ["V0001", "V0002", "V0003"]
    assert (blank[["officer", "office", "rating"]] == "").all().all()
    sheet = nar.rating_sheet(cases, officers=["a", "b"], office_of={"a": "N", "b": "S"})
    assert len(sheet) == 6
    assert sheet["officer"].tolist() == ["a"] * 3 + ["b"] * 3
    assert sheet["office"].tolist() == ["N"] * 3 + ["S"] * 3
    assert sheet.attrs["categories"] == rv.RISK_LEVELS
    from_map = nar.rating_sheet(cases, office_of={"x": "N", "y": "N"})
    assert sorted(set(from_map["officer"])) == ["x", "y"]
    with pytest.raises(rv.RiskevalError, match="'c'"):
        nar.rating_sheet(cases, officers=["a", "c"], office_of={"a": "N"})
    with pytest.raises(rv.RiskevalError, match="'a' appears more than once"):
        nar.rating_sheet(cases, officers=["a", "a"])
    with pytest.raises(TypeError, match="list of officer"):
        nar.rating_sheet(cases, officers="abc")


def test_write_pack_round_trip(tmp_path):
    cases = population(8, seed=4)
    officers = ["N01", "N02", "S01"]
    office_of = {"N01": "North", "N02": "North", "S01": "South"}
    out = tmp_path / "pack"
    paths = nar.write_pack(cases, out, seed=2, officers=officers, office_of=office_of)
    names = {p.name for p in paths.values()}
    assert names == {"vignettes.md", "vignettes.html", "vignettes.csv", "rating_sheet.csv",
                     "cases.csv", "README.txt"}
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary files left
    assert paths["markdown"].read_text(encoding="utf-8") == nar.to_markdown(cases, seed=2)
    assert paths["html"].read_text(encoding="utf-8") == nar.to_html(cases, seed=2)
    readme = paths["readme"].read_text(encoding="utf-8")
    assert "cases.csv" in readme and "organiser" in readme.lower()
    assert "only be given the narratives" in readme
    organiser = pd.read_csv(paths["cases"])
    assert set(TRUTH_COLUMNS) <= set(organiser.columns)
    for name in ("vignettes.md", "vignettes.html", "vignettes.csv", "rating_sheet.csv"):
        assert "p_reconviction" not in (out / name).read_text(encoding="utf-8")

    sheet = pd.read_csv(paths["rating_sheet"], keep_default_na=False)
    assert len(sheet) == len(cases) * len(officers)
    levels = LEVELS.split(",")
    sheet["rating"] = [levels[i % 4] for i in range(len(sheet))]
    sheet.to_csv(paths["rating_sheet"], index=False)
    ratings = rv.read_ratings(paths["rating_sheet"], case="case", rater="officer",
                              rating="rating", office="office", categories=LEVELS)
    assert len(ratings) == len(sheet)
    assert list(ratings.categories) == levels
    assert set(ratings.to_frame()["office"]) == {"North", "South"}


def test_write_pack_refuses_non_empty_dir(tmp_path):
    cases = population(3, seed=4)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(rv.RiskevalError, match="not empty"):
        nar.write_pack(cases, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    paths = nar.write_pack(cases, tmp_path, seed=0, overwrite=True)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert all(p.exists() for p in paths.values())
    empty = tmp_path / "empty"
    empty.mkdir()
    nar.write_pack(cases, empty, seed=0)  # an existing empty folder is fine
    with pytest.raises(rv.RiskevalError, match="is a file"):
        nar.write_pack(cases, tmp_path / "notes.txt")


def test_bad_input_names_the_column():
    cases = population(3, seed=1).drop(columns="openness")
    with pytest.raises(rv.RiskevalError, match="openness"):
        nar.narratives(cases)
    bad = population(3, seed=1)
    bad.loc[1, "offence"] = "arsen"
    with pytest.raises(rv.RiskevalError, match=r"'offence' row 1.*'arsen'"):
        nar.to_markdown(bad)
    with pytest.raises(TypeError):
        nar.narratives(cases.to_dict("list"))


def test_every_seed_kind_and_the_readme_records_a_fresh_seed(tmp_path):
    cases = population(3, seed=1)
    by_int = nar.narratives(cases, seed=5)
    pd.testing.assert_series_equal(nar.narratives(cases, seed=np.random.SeedSequence(5)),
                                   by_int)
    g1 = nar.narratives(cases, seed=np.random.default_rng(2))
    pd.testing.assert_series_equal(nar.narratives(cases, seed=np.random.default_rng(2)), g1)
    paths = nar.write_pack(cases, tmp_path / "fresh")  # seed None: fresh entropy, recorded
    readme = paths["readme"].read_text(encoding="utf-8")
    entropy = int(readme.split("(phrasing seed ")[1].split(")")[0])
    assert paths["markdown"].read_text(encoding="utf-8") == nar.to_markdown(cases, seed=entropy)
    with pytest.raises(rv.RiskevalError, match="non-negative"):
        nar.narratives(cases, seed=-1)
