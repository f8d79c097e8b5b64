"""Leaks from a report: row order under pseudonyms, spreadsheet formulas, maths in names."""

from __future__ import annotations

import csv
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval import RiskevalError
from riskeval._core.safecsv import neutralise, write_csv
from riskeval.audit import audit, pseudonym
from riskeval.audit._compute import MIN_SALT_LENGTH, read_salt

COLS = {"case": "case", "rater": "officer", "rating": "rating"}
SALT = "inspectorate-2026-x7"
FAST = {"ordinal": False}


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return rv.simulate(rv.world.scenarios.six_office_study(), seed=1)


@pytest.fixture(scope="module")
def pseudo(ratings, tmp_path_factory):
    res = audit(ratings, **COLS, office="office", reference="reference",
                original="officer_rating", pseudonymise=SALT, **FAST)
    out = tmp_path_factory.mktemp("pseudo") / "report"
    res.save(out)
    return res, out


# ----------------------------------------------------------------------------- row order


def _reidentified(codes: list[str], staff: list[str], kind: str) -> int:
    """How many codes an attacker matches to the (sorted) staff list by position alone."""
    truth = {pseudonym(s, SALT, kind): s for s in staff}
    return sum(truth.get(c) == s for c, s in zip(codes, staff, strict=False))


def test_pseudonymised_tables_and_figures_are_in_code_order(ratings, pseudo):
    res, out = pseudo
    staff = sorted(ratings["officer"].astype(str).unique())   # the input is in this order
    offices = sorted(ratings["office"].astype(str).unique())

    def ordered(labels: list[str], prefix: str) -> list[str]:
        coded = [str(x) for x in labels if str(x).startswith(prefix)]
        assert coded, labels
        assert coded == sorted(coded), labels
        return coded

    for stem in ("officer_agreement", "directional_by_officer", "pairwise_agreement"):
        frame = pd.read_csv(out / "tables" / f"{stem}.csv", dtype=str)
        codes = ordered(frame.iloc[:, 0].tolist(), "officer-")
        if stem != "pairwise_agreement":
            assert len(codes) == 48
            assert _reidentified(codes, staff, "officer") <= 3   # was 48 of 48
    # officer effects are listed by office, then officer (both in code order)
    nested = pd.read_csv(out / "tables" / "officer_effects.csv", dtype=str)
    pairs_ = list(zip(nested.iloc[:, 0], nested.iloc[:, 1], strict=True))
    assert pairs_ == sorted(pairs_) and len(pairs_) == 48
    assert _reidentified([p[1] for p in pairs_], staff, "officer") <= 3
    pairs = pd.read_csv(out / "tables" / "pairwise_agreement.csv", dtype=str)
    first = list(dict.fromkeys(pairs["rater_1"]))
    assert first == sorted(first)
    for stem in ("office_effects", "funnel", "directional", "overrides"):
        frame = pd.read_csv(out / "tables" / f"{stem}.csv", dtype=str)
        ordered(frame.iloc[:, 0].tolist(), "office-")
    by_office = pd.read_csv(out / "tables" / "agreement_by_office.csv", dtype=str)
    ordered(list(dict.fromkeys(by_office.iloc[:, 0])), "office-")

    summary = json.loads((out / "summary.json").read_text())["tables"]
    assert [tuple(list(r.values())[:2]) for r in summary["officer_effects"]] == pairs_
    for stem in ("officer_agreement", "directional_by_officer"):
        rows = [next(iter(r.values())) for r in summary[stem]]
        codes = ordered(rows, "officer-")
        assert _reidentified(codes, staff, "officer") <= 3
    rows = [next(iter(r.values())) for r in summary["office_effects"]]
    assert _reidentified(ordered(rows, "office-"), offices, "office") <= 1

    figs = res.figures()
    ax = figs["pairwise_agreement"].axes[0]
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        ordered([t.get_text() for t in labels], "officer-")
    assert list(res.pairwise.matrix.index) == sorted(res.pairwise.matrix.index)


def test_caterpillar_ties_are_broken_by_code_not_input_order(ratings):
    data = ratings.copy()
    data["rating"] = data["reference"]  # no officer or office effect: every estimate ties
    res = audit(data, **COLS, office="office", pseudonymise=SALT, **FAST)
    ax = res.figures()["effects"].axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    est = res.effects["office"].loc[labels, "estimate"].to_numpy()
    for i in range(len(labels) - 1):
        assert est[i] < est[i + 1] or (est[i] == est[i + 1] and labels[i] < labels[i + 1])


# ----------------------------------------------------------------------------- the salt


def test_short_or_repetitive_salt_is_refused(ratings):
    for salt in ("s3cret", "x" * 40, "abcabcabcabcabcabc"):
        with pytest.raises(RiskevalError, match="salt"):
            audit(ratings, **COLS, pseudonymise=salt, **FAST)
    assert MIN_SALT_LENGTH >= 16


def test_salt_from_environment_or_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKEVAL_SALT", SALT)
    assert read_salt() == SALT
    monkeypatch.delenv("RISKEVAL_SALT")
    with pytest.raises(RiskevalError, match="RISKEVAL_SALT"):
        read_salt()
    path = tmp_path / "salt.txt"
    path.write_text(SALT + "\n", encoding="utf-8")
    assert read_salt(file=path) == SALT
    with pytest.raises(RiskevalError, match=r"missing\.txt"):
        read_salt(file=tmp_path / "missing.txt")
    monkeypatch.setenv("OTHER_SALT", "short")
    with pytest.raises(RiskevalError, match="characters"):
        read_salt(env="OTHER_SALT")


def test_officer_and_office_codes_are_separate_spaces():
    same = "North"   # an office and an officer may carry the same name
    a = pseudonym(same, SALT, "officer").split("-", 1)[1]
    b = pseudonym(same, SALT, "office").split("-", 1)[1]
    assert a != b


def test_case_ids_can_be_pseudonymised(ratings, tmp_path):
    res = audit(ratings, **COLS, office="office", reference="reference", occasion="occasion",
                pseudonymise=SALT, pseudonymise_cases=True, **FAST)
    res.save(tmp_path / "r")
    blob = "".join(p.read_text() for p in (tmp_path / "r").rglob("*")
                   if p.suffix in (".html", ".json", ".csv"))
    for case in ratings["case"].astype(str).unique():
        assert case not in blob
    assert res.meta["pseudonymised_cases"] is True
    with pytest.raises(RiskevalError, match="pseudonymise"):
        audit(ratings, **COLS, pseudonymise_cases=True, **FAST)


# ----------------------------------------------------------------------------- formulas

EVIL_OFFICES = ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-cmd", "\tTab office",
                "\rCR office"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _evil(ratings: pd.DataFrame) -> pd.DataFrame:
    data = ratings.copy()
    offices = sorted(data["office"].unique())
    data["office"] = data["office"].map(dict(zip(offices, EVIL_OFFICES, strict=True)))
    officers = sorted(data["officer"].unique())
    names = {o: (EVIL_OFFICES[i % 6] + f" {i}") for i, o in enumerate(officers)}
    data["officer"] = data["officer"].map(names)
    return data


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_csv_cell_starts_a_formula(ratings, tmp_path):
    data = _evil(ratings)
    res = audit(data, **COLS, office="office", reference="reference",
                original="officer_rating", **FAST)
    res.save(tmp_path / "r")
    negatives = 0
    for path in sorted((tmp_path / "r" / "tables").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    if cell.startswith(TRIGGERS):
                        assert _is_number(cell), (path.name, cell)
                        negatives += 1
    assert negatives > 0   # negative numbers are still written as numbers
    effects = pd.read_csv(tmp_path / "r" / "tables" / "office_effects.csv", index_col=0)
    # identifiers are read without surrounding whitespace: a leading tab or CR goes there
    assert set(effects.index) == {neutralise(n.strip()) for n in EVIL_OFFICES}
    assert {"'" + n for n in EVIL_OFFICES[:4]} <= set(effects.index)
    assert effects["estimate"].dtype == float and (effects["estimate"] < 0).any()
    agree = pd.read_csv(tmp_path / "r" / "tables" / "officer_agreement.csv", index_col=0)
    assert "'" + '=HYPERLINK("http://x") 0' in set(agree.index)


def test_write_csv_neutralises_text_only():
    frame = pd.DataFrame({"name": ["=1+2", "-cmd", "plain", None, "@x"],
                          "value": [-0.5, 1.0, -2.0, np.nan, 3.0],
                          "level": pd.Categorical(["+a", "b", "+a", "b", "b"]),
                          "=col": [1, -1, 2, 3, 4]},
                         index=pd.Index(["\tA", "B", "C", "D", "E"], name="-id"))
    buf = io.StringIO()
    write_csv(frame, buf)
    back = pd.read_csv(io.StringIO(buf.getvalue()), index_col=0)
    assert back["name"].tolist()[:3] == ["'=1+2", "'-cmd", "plain"]
    assert back["name"].tolist()[4] == "'@x"
    assert back["value"].tolist()[:3] == [-0.5, 1.0, -2.0]
    assert back["level"].tolist()[0] == "'+a"
    assert list(back.columns) == ["name", "value", "level", "'=col"]
    assert back["'=col"].tolist() == [1, -1, 2, 3, 4]
    assert back.index.name == "'-id" and back.index[0] == "'\tA"
    assert neutralise("-0.5") == "'-0.5" and neutralise(-0.5) == -0.5
    assert write_csv(frame.iloc[:0]) .startswith("'-id")
    assert frame["name"].tolist()[0] == "=1+2"   # the caller's frame is not changed


# ----------------------------------------------------------------------------- figures

MATHS = ["J$mith {$", "Budget $5 & $10 team", r"\alpha_$x^2$", "plain"]


def test_dollar_names_are_drawn_literally(ratings, tmp_path):
    data = ratings.copy()
    offices = sorted(data["office"].unique())
    names = [*MATHS, "O5", "O6"]
    data["office"] = data["office"].map(dict(zip(offices, names, strict=True)))
    officers = sorted(data["officer"].unique())
    data = data[data["officer"].isin(officers[:12])]
    data["officer"] = data["officer"].map(
        {o: f"{MATHS[i % 4]} {i}" for i, o in enumerate(officers[:12])})
    res = audit(data, **COLS, office="office", reference="reference", **FAST)
    res.save(tmp_path / "r")   # drawing used to fail on an unbalanced $
    figs = res.figures()
    ax = figs["pairwise_agreement"].axes[0]
    figs["pairwise_agreement"].canvas.draw()
    texts = [t.get_text() for t in ax.get_yticklabels()]
    assert texts == [str(x) for x in res.pairwise.matrix.index][:len(texts)]
    assert "J$mith {$ 0" in texts
    for t in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        assert t._preprocess_math(t.get_text()) == (t.get_text(), False)
    eff = figs["effects"].axes[0]
    figs["effects"].canvas.draw()
    labels = [t.get_text() for t in eff.get_yticklabels()]
    assert sorted(labels) == sorted(res.effects["office"].index)
    assert "Budget $5 & $10 team" in labels
    for t in eff.get_yticklabels():
        assert t._preprocess_math(t.get_text()) == (t.get_text(), False)


def test_names_outside_the_font_warn_once(ratings):
    data = ratings.copy()
    offices = sorted(data["office"].unique())
    names = ["王伟办公室", "東京", "🙂 team", "Zürich", "O5", "O6"]
    data["office"] = data["office"].map(dict(zip(offices, names, strict=True)))
    res = audit(data, **COLS, office="office", **FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figs = res.figures()
        for fig in figs.values():
            fig.canvas.draw()
    glyphs = [w for w in caught if "Glyph" in str(w.message)]
    ours = [w for w in caught if issubclass(w.category, rv.errors.RiskevalWarning)]
    assert glyphs == []
    assert len(ours) == 1 and "王" in str(ours[0].message)
    labels = [t.get_text() for t in figs["effects"].axes[0].get_yticklabels()]
    assert "王伟办公室" in labels and "🙂 team" in labels


def test_cohort_names_with_dollars_are_drawn_literally():
    # the cohort comparison draws its own tick labels: "$" must not start mathtext there either
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(3)
    rows = [(c, f"{k}-{o}", k, int(np.clip(round(rng.normal(c % 4, 0.7)), 0, 3)))
            for k in ("J$mith {$", "Budget $5 & $10") for o in range(5) for c in range(12)]
    d = pd.DataFrame(rows, columns=["case", "officer", "cohort", "rating"])
    res = rv.studies.cohorts.compare_cohorts(d, cohort="cohort", case="case", rater="officer",
                                     rating="rating", n_boot=200, n_perm=200, seed=1)
    ax = res.plot().axes[0]
    labels = {t.get_text() for t in ax.get_yticklabels()}
    assert labels == {"J$mith {$", "Budget $5 & $10"}
    ax.figure.canvas.draw()   # before: mathtext parsing of "J$mith {$" raised ValueError
    assert not any(t.get_parse_math() for t in ax.get_yticklabels())


def test_narrative_rating_sheets_are_written_through_the_guard():
    from riskeval.world.narratives import _csv_text

    text = _csv_text(pd.DataFrame({"case": ["=HYPERLINK(\"x\")", "V2"], "score": [-1.5, 2]}))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0].startswith("'=") and rows[1][1] == "-1.5"


def test_cli_reads_the_salt_from_the_environment_or_a_file(ratings, tmp_path, monkeypatch):
    """The salt need not appear on the command line (ps, shell history): --salt-env and
    --salt-file give the same codes as the salt itself; --pseudonymise-cases codes cases."""
    from riskeval.cli import main

    salt = "a long secret salt for the tests"
    src = tmp_path / "r.csv"
    ratings.to_csv(src, index=False)
    base = ["audit", str(src), "--case", "case", "--rater", "officer", "--rating", "rating",
            "--office", "office", "--categories", ",".join(rv.RISK_LEVELS), "--no-ordinal",
            "--quiet"]
    monkeypatch.setenv("RISKEVAL_SALT", salt)
    (tmp_path / "salt.txt").write_text(salt + "\n")
    outs = {}
    for name, extra in {"arg": ["--pseudonymise", salt], "env": ["--salt-env"],
                        "file": ["--salt-file", str(tmp_path / "salt.txt")]}.items():
        assert main([*base, *extra, "-o", str(tmp_path / name)]) == 0
        outs[name] = (tmp_path / name / "tables" / "officer_agreement.csv").read_text()
    assert outs["arg"] == outs["env"] == outs["file"]
    assert main([*base, "--salt-env", "--pseudonymise-cases", "-o", str(tmp_path / "c")]) == 0
    text = (tmp_path / "c" / "summary.json").read_text()
    assert not any(str(c) in text for c in ratings["case"].unique())     # V0001 ... V0024
    monkeypatch.setenv("RISKEVAL_SALT", "short")
    assert main([*base, "--salt-env", "-o", str(tmp_path / "weak")]) == 2


def test_diagnosis_plot_draws_estimator_names_literally():
    import matplotlib

    matplotlib.use("Agg")
    from riskeval import studies as dz

    base = dz.rater_study(4, 6)
    named = dz.Design(base.population, tuple(
        dz.Estimator(f"J$mith {{$ {e.name}", e.estimand, e.fn) for e in base.estimators),
        name="Budget $5 & $10")
    ax = dz.diagnose(named, n_sims=5, seed=1).plot().axes[0]
    ax.figure.canvas.draw()      # before: mathtext raised on "J$mith {$"
    assert all(t.get_text().startswith("J$mith {$") for t in ax.get_yticklabels())
