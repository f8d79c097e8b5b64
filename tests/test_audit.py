"""The consistency audit: numbers equal the library's, the report renders, identifiers are safe."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from _browser import render, require_chromium
from riskeval import RiskevalError
from riskeval.agreement import pairwise_agreement
from riskeval.audit import audit, pseudonym
from riskeval.variation import crossed_lmm
from riskeval.variation.funnel import funnel

COLS = {"case": "case", "rater": "officer", "rating": "rating"}


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return rv.simulate(rv.world.scenarios.six_office_study(), seed=1)


@pytest.fixture(scope="module")
def result(ratings) -> rv.audit.Audit:
    return audit(ratings, **COLS, office="office", reference="reference",
                 original="officer_rating")


@pytest.fixture(scope="module")
def saved(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("audit") / "report"
    result.save(out)
    return out


def test_summary_json_equals_the_library_on_the_same_data(ratings, saved):
    summary = json.loads((saved / "summary.json").read_text())
    tables = summary["tables"]
    cats = list(rv.RISK_LEVELS)
    # the audit's overall intervals are for officers like these (cases and officers vary)
    alpha = rv.krippendorff_alpha(ratings, **COLS, categories=cats, level="ordinal",
                                  resample="cases+raters")
    row = next(r for r in tables["agreement"]
               if r["coefficient"] == "Krippendorff's alpha (ordinal)")
    assert row["estimate"] == pytest.approx(alpha.estimate, abs=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(alpha.ci, abs=1e-12)
    fk = rv.fleiss_kappa(ratings, **COLS, categories=cats)
    row = next(r for r in tables["agreement"] if r["coefficient"] == "Fleiss' kappa")
    assert row["estimate"] == pytest.approx(fk.estimate, abs=1e-12)

    scored = ratings.assign(score=ratings["rating"].cat.codes + 1.0)
    fit = crossed_lmm(scored, rating="score", case="case", rater="officer", office="office")
    var = {r["index"]: r for r in tables["variance"]}
    for comp in ("case", "office", "officer", "residual"):
        assert var[comp]["variance"] == pytest.approx(fit.variance_components[comp], rel=1e-9)
        assert var[comp]["share"] == pytest.approx(
            fit.variance_shares.loc[comp, "estimate"], rel=1e-9)
        assert var[comp]["share_low"] == pytest.approx(
            fit.variance_shares.loc[comp, "ci_low"], rel=1e-6)

    d = rv.variation.bias.directional(ratings, rating="rating", reference="reference", by="office",
                            cluster="officer")
    got = {r["office"]: r for r in tables["directional"]}
    for office, want in d.iterrows():
        for col in ("upward", "downward", "net", "net_low", "net_high"):
            assert got[office][col] == pytest.approx(want[col], abs=1e-12), (office, col)
    sym = rv.variation.bias.symmetry(ratings, rating="rating", reference="reference")
    assert summary["symmetry"]["statistic"] == pytest.approx(sym.statistic, rel=1e-12)
    assert summary["symmetry"]["upward"] == sym.upward

    high = ratings.assign(high=ratings["rating"].cat.codes >= 2)
    fun = funnel(high, group="office", outcome="high", cluster="officer")
    got = {r["office"]: r for r in tables["funnel"]}
    for office, want in fun.table.iterrows():
        assert got[office]["events"] == want["events"]
        assert got[office]["high_99.8"] == pytest.approx(want["high_99.8"], abs=1e-12)
        assert got[office]["outside_99.8"] == bool(want["outside_99.8"])
    assert summary["funnel"]["outside"] == [str(x) for x in fun.outside]

    o = rv.variation.bias.overrides(ratings, original="officer_rating", rating="rating",
                          reference="reference", by="office", cluster="officer")
    got = {r["office"]: r for r in tables["overrides"]}
    assert got["(all)"]["changed"] == pytest.approx(o.loc["(all)", "changed"], abs=1e-12)
    assert summary["meta"]["n_ratings"] == len(ratings) == 1152
    # the findings rest on the same numbers
    findings = {f["key"]: f for f in summary["findings"]}
    assert findings["agreement"]["value"] == pytest.approx(alpha.estimate, abs=1e-12)
    assert findings["direction"]["value"] == pytest.approx(d.loc["(all)", "net"], abs=1e-12)


def test_pairwise_agreement_equals_a_loop_over_pairs(ratings):
    pa = pairwise_agreement(ratings, **COLS)
    wide = ratings.pivot(index="case", columns="officer", values="rating")
    rng = np.random.default_rng(0)
    names = list(wide.columns)
    for _ in range(20):
        a, b = rng.choice(names, 2, replace=False)
        both = wide[a].notna() & wide[b].notna()
        assert pa.matrix.loc[a, b] == pytest.approx((wide[a] == wide[b])[both].mean())
        assert pa.shared.loc[a, b] == both.sum()
    # each officer against all others: every (other officer, case) pair counted once
    a = names[5]
    others = [b for b in names if b != a]
    same = sum(int((wide[a] == wide[b]).sum()) for b in others)
    row = pa.by_rater().loc[a]
    assert row["shared"] == 24 * 47
    assert row["agreement"] == pytest.approx(same / (24 * 47))
    # quadratic credit for near misses
    pq = pairwise_agreement(ratings, **COLS, weights="quadratic")
    a, b = names[3], names[17]
    x, y = wide[a].cat.codes, wide[b].cat.codes
    assert pq.matrix.loc[a, b] == pytest.approx((1 - ((x - y) / 3) ** 2).mean())
    # incomplete designs: pairs with nothing in common are NaN, not 0
    part = ratings[~((ratings["officer"] == names[0]) & (ratings["case"].isin(
        wide.index[:12]))) & ~((ratings["officer"] == names[1]) & ratings["case"].isin(
            wide.index[12:]))]
    pp = pairwise_agreement(part, **COLS)
    assert np.isnan(pp.matrix.loc[names[0], names[1]])
    assert pp.shared.loc[names[0], names[1]] == 0


def test_report_renders_in_headless_chromium(saved, result):
    require_chromium()
    page = render(saved / "report.html")
    pngs = sorted(p.name for p in (saved / "figures").glob("*.png"))
    assert len(page.images) == len(pngs) == 7   # with the per-office forest plot
    assert page.broken_images == [] and len(page.loaded_images) == 7
    assert all(img["natural_width"] > 300 for img in page.images)
    assert page.console_errors == []
    assert page.network_requests == []
    alpha = result.agreement.loc["Krippendorff's alpha (ordinal)", "estimate"]
    assert f"Krippendorff's alpha is {alpha:.2f}" in page.text
    for f in result.findings:
        assert f.title in page.text
    assert "Spiegelhalter" in page.text   # the methods appendix


def test_user_strings_are_escaped(ratings, tmp_path):
    evil = {"Office 1": '<script>console.error("pwned")</script>',
            "Office 2": 'A & "B" <img src=x onerror=alert(1)>'}
    data = ratings.assign(office=ratings["office"].astype(str).replace(evil))
    res = audit(data, **COLS, office="office", reference="reference", ordinal=False)
    report = res.save(tmp_path / "out")
    text = report.read_text()
    assert "<script>console.error" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text
    require_chromium()
    page = render(report)
    assert page.console_errors == [] and page.broken_images == []
    assert 'A & "B" <img src=x onerror=alert(1)>' in page.text


def test_pseudonymised_audit_names_no_officer_or_office(ratings, tmp_path):
    res = audit(ratings, **COLS, office="office", reference="reference", ordinal=False,
                pseudonymise="inspectorate-2026")
    res.save(tmp_path / "p")
    blob = "".join(p.read_text() for p in (tmp_path / "p").rglob("*")
                   if p.suffix in (".html", ".json", ".csv"))
    for name in set(ratings["officer"].astype(str)) | set(ratings["office"].astype(str)):
        assert name not in blob
    code = pseudonym("Office 1/01", "inspectorate-2026", "officer")
    assert re.fullmatch(r"officer-[0-9a-f]{6}", code) and code in blob
    assert pseudonym("Office 1/01", "inspectorate-2026", "officer") == code
    assert pseudonym("Office 1/01", "another salt", "officer") != code
    # the numbers do not depend on the names
    plain = audit(ratings, **COLS, office="office", reference="reference", ordinal=False)
    pd.testing.assert_frame_equal(plain.agreement, res.agreement)
    assert sorted(plain.variance["share"]) == pytest.approx(sorted(res.variance["share"]))


def test_save_refuses_a_non_empty_folder_and_replaces_with_force(result, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("x")
    with pytest.raises(RiskevalError, match=r"not empty.*force"):
        result.save(out)
    assert (out / "old.txt").read_text() == "x"
    # force replaces only an earlier riskeval report, never a user's files (issue 15, item 2)
    with pytest.raises(RiskevalError, match=r"not an earlier riskeval report.*old\.txt"):
        result.save(out, force=True)
    assert (out / "old.txt").read_text() == "x"
    (out / "old.txt").unlink()
    result.save(out)
    result.save(out, force=True)
    assert (out / "report.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]   # no temporary folders left


def test_minimal_audit_without_office_or_reference(ratings):
    res = audit(ratings[["case", "officer", "rating"]], **COLS, ordinal=False)
    assert res.funnel is None and res.reference is None and res.agreement_by_office is None
    assert [f.key for f in res.findings] == ["agreement", "variation", "rater_severity",
                                            "rater_fit", "central_tendency"]
    lines = res.summary().splitlines()
    assert len(lines) == 5 and lines[3].startswith("No office column")
    assert "Consistency audit" in res._repr_html_()


def test_repeat_assessments_and_years_add_anchoring_and_trend():
    world = rv.world.scenarios.six_office_study(n_vignettes=12).with_design(
        occasions=2, interval_years=2.0, evidence_change_sd=0.6)
    data = rv.simulate(world, seed=3)
    res = audit(data, **COLS, office="office", reference="reference", occasion="occasion",
                year="year", ordinal=False)
    want = rv.variation.bias.anchoring(data, rating="rating", case="case", rater="officer",
                             occasion="occasion", evidence="reference")
    pd.testing.assert_frame_equal(res.anchoring, want)
    assert res.inflation_trend is not None and np.isfinite(res.inflation_trend["estimate"])
    assert {"anchoring", "inflation_trend"} <= {f.key for f in res.findings}
    # agreement is among officers at the same occasion: 12 cases x 2 occasions = 24 units
    assert res.meta["n_units"] == 24 and res.meta["n_cases"] == 12


def test_bad_arguments_are_named(ratings):
    with pytest.raises(RiskevalError, match="original column 'original_rating' is not"):
        audit(ratings, **COLS, original="original_rating")
    with pytest.raises(RiskevalError, match="high_from='severe'"):
        audit(ratings, **COLS, high_from="severe")
    with pytest.raises(RiskevalError, match="salt is empty"):
        audit(ratings, **COLS, pseudonymise="")
    text = ratings.assign(rating=ratings["rating"].astype(str))
    with pytest.raises(RiskevalError, match="order of the levels"):
        audit(text, **COLS)


def test_per_office_agreement_is_every_coefficient_within_the_office(ratings, result):
    per = result.agreement_by_office
    assert set(per["office"]) == {f"Office {i}" for i in range(1, 7)}
    sub = ratings[ratings["office"] == "Office 4"]
    want = rv.agreement_summary(sub, **COLS, categories=list(rv.RISK_LEVELS), level="ordinal")
    got = per[per["office"] == "Office 4"].set_index("coefficient")
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["ci_high"], want["ci_high"], rtol=1e-12)
    lowest = per[per["coefficient"] == "Krippendorff's alpha (ordinal)"]["estimate"].min()
    finding = next(f for f in result.findings if f.key == "office_agreement")
    assert finding.value == pytest.approx(lowest)


def test_original_rating_is_checked_like_the_rating(ratings):
    bad = ratings.assign(officer_rating=ratings["officer_rating"].astype(str))
    bad.loc[7, "officer_rating"] = "High"
    with pytest.raises(RiskevalError, match=r"'High'.*line.*9.*'high'"):
        audit(bad, **COLS, original="officer_rating", categories=list(rv.RISK_LEVELS))


def test_a_failed_save_leaves_no_folders_it_created(result, tmp_path, monkeypatch):
    from riskeval.audit import _report

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(_report, "render_html", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        result.save(tmp_path / "deep" / "er" / "out")
    assert list(tmp_path.iterdir()) == []


def test_the_audit_validates_its_input_once_and_gets_the_same_report(monkeypatch):
    """Issue 16: the analyses the audit runs do not check its (validated) table again; with
    that shortcut switched off every number of the report is the same."""
    import riskeval.data.ratings as ratings_module

    world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=4,
                                                n_vignettes=10)
    data = rv.simulate(world, seed=3)
    kw = dict(case="case", rater="officer", rating="rating", office="office",
              reference="reference", ordinal=False)
    full = []
    checks = ratings_module._clean_ids          # a step of every full check, once per role

    def counted(col, role, name):
        if role == "case":
            full.append(len(col))
        return checks(col, role, name)
    monkeypatch.setattr(ratings_module, "_clean_ids", counted)
    fast = rv.audit.audit(data, **kw)
    assert full.count(len(data)) == 1, full      # the whole table: checked once
    full.clear()
    checked = rv.Ratings(data, case="case", rater="officer", rating="rating", office="office",
                         reference="reference")
    assert full.count(len(data)) == 1
    full.clear()
    given = rv.audit.audit(checked, ordinal=False)     # checked ratings: not checked again
    assert full == [], full
    monkeypatch.setattr(ratings_module, "_known_copy", lambda *a, **k: None)
    slow = rv.audit.audit(data, **kw)
    assert full.count(len(data)) > 1              # without the shortcut: checked again
    for other in (slow, given):
        assert json.dumps(fast.to_dict(), sort_keys=True, default=str) == json.dumps(
            other.to_dict(), sort_keys=True, default=str)


def test_saving_and_showing_the_report_leave_no_pyplot_figure_open(tmp_path):
    """The report draws on figures of its own: none is left with pyplot, where a notebook
    would show it again at the end of the cell (and a loop of audits would pile them up)."""
    import matplotlib.pyplot as plt

    plt.close("all")
    ratings = rv.simulate(rv.world.scenarios.six_office_study(), seed=2)
    result = audit(ratings, case="case", rater="officer", rating="rating", office="office",
                   reference="reference")
    assert result.rater_effects is not None          # the Wright map is among the figures
    result._repr_html_()
    result.save(tmp_path / "report")
    assert (tmp_path / "report" / "figures" / "wright_map.png").is_file()
    assert plt.get_fignums() == []
