"""The audit report reads well in a browser: contents first, findings before the tables, one
compact per-office table with a forest plot, long tables collapsed, no sideways scrolling of
the page at 1280 and 800 pixels (nor when printed), every figure captioned and described.

Three simulated designs: the six-office demo (as ``riskeval demo`` writes it), twelve offices
with 60-character names (one a single unbroken word, one with HTML in it) and long officer
names, and a design without an office column. Each report is opened once in headless
Chromium and measured at every width.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

import riskeval as rv
from _browser import render, require_chromium
from riskeval.audit import audit

ROLES = {"case": "case", "rater": "officer", "rating": "rating"}

#: window widths the page must fit (CSS pixels)
WIDTHS = (1280, 800)

#: ``document.documentElement.scrollHeight`` of the six-office demo (seed 1) at 1280 x 1024
#: before the report was laid out for reading (riskeval 0.2.0: every table in full)
HEIGHT_BEFORE = 15682

#: what the page says about itself (run at every width)
_FACTS_JS = r"""
const rect = (e) => e.getBoundingClientRect();
const top = (e) => rect(e).top + window.scrollY;
const firstTable = document.querySelector("table");
const findings = document.getElementById("findings");
const office = document.getElementById("office-agreement");
const printRules = [];
for (const sheet of document.styleSheets) {
  for (const rule of sheet.cssRules) {
    if (rule.media && Array.from(rule.media).includes("print")) {
      for (const inner of rule.cssRules) {
        if (inner.style && inner.style.breakInside === "avoid") {
          printRules.push(inner.selectorText);
        }
      }
    }
  }
}
return {
  images: Array.from(document.images, (img) => {
    const fig = img.closest("figure");
    const cap = fig ? fig.querySelector("figcaption") : null;
    return {alt: img.getAttribute("alt") || "", in_figure: fig !== null,
            caption: cap ? cap.textContent.trim() : "",
            right: rect(img).right, width: rect(img).width};
  }),
  toc: Array.from(document.querySelectorAll("nav.toc a"), (a) => a.getAttribute("href")),
  toc_missing: Array.from(document.querySelectorAll("nav.toc a"))
    .map((a) => a.getAttribute("href"))
    .filter((h) => !h.startsWith("#") || document.getElementById(h.slice(1)) === null),
  toc_before_findings: (() => {
    const nav = document.querySelector("nav.toc");
    return nav !== null && findings !== null &&
      Boolean(nav.compareDocumentPosition(findings) & Node.DOCUMENT_POSITION_FOLLOWING);
  })(),
  findings_top: findings ? top(findings) : null,
  first_table_top: firstTable ? top(firstTable) : null,
  findings_before_tables: findings !== null && firstTable !== null &&
    Boolean(findings.compareDocumentPosition(firstTable) & Node.DOCUMENT_POSITION_FOLLOWING),
  office_rows: office ? Array.from(office.tBodies[0].rows, (r) => r.cells[0].innerText) : null,
  office_bold: office ? office.querySelectorAll("b").length : null,
  print_rules: printRules,
  details: Array.from(document.querySelectorAll("details"), (d) => ({
    open: d.open,
    height: rect(d).height,
    summary: rect(d.querySelector("summary")).height,
  })),
  // elements sticking out of the viewport on the right (should be none)
  sticking_out: Array.from(document.querySelectorAll("body *"))
    .filter((e) => rect(e).right > document.documentElement.clientWidth + 0.5 &&
                   !e.closest(".table-wrap"))
    .map((e) => e.tagName + (e.id ? "#" + e.id : "")).slice(0, 10),
};
"""


def _demo_ratings() -> pd.DataFrame:
    """The ratings ``riskeval demo --seed 1`` audits."""
    world = rv.world.scenarios.six_office_study()
    ratings = rv.simulate(world, seed=1)
    return ratings.merge(world.vignettes[["case", "offence"]], on="case", how="left")


def _long_names(ratings: pd.DataFrame) -> pd.DataFrame:
    """Office names of exactly 60 characters (one unbroken, one with markup in it) and officer
    names of over 40."""
    offices = sorted(ratings["office"].astype(str).unique())
    names = {}
    for i, o in enumerate(offices):
        name = f"Probation Delivery Unit {i + 1:02d} of the Northern Metropolitan Area Trust"
        names[o] = name[:60].ljust(60, ".")
    names[offices[0]] = ("Northamptonshire-Leicestershire-Rutland-ProbationDelivery-01"[:60])
    names[offices[1]] = 'Office <b>"Bold" & Sons</b> of the Western Reaches District 02'[:60]
    assert all(len(n) == 60 for n in names.values())
    office = ratings["office"].astype(str)
    officer = ratings["officer"].astype(str)
    return ratings.assign(
        office=office.map(names),
        officer=office.map(names).str[:20] + " / senior practitioner " + officer.str[-2:])


@pytest.fixture(scope="module")
def chromium():
    require_chromium()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    result = audit(_demo_ratings(), **ROLES, office="office", reference="reference",
                   original="officer_rating", case_attributes=["offence"])
    report = result.save(tmp_path_factory.mktemp("layout") / "demo")
    return result, report


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    world = rv.world.scenarios.six_office_study(n_offices=12, officers_per_office=4,
                                                n_vignettes=12)
    ratings = _long_names(rv.simulate(world, seed=2))
    result = audit(ratings, **ROLES, office="office", reference="reference", ordinal=False)
    report = result.save(tmp_path_factory.mktemp("layout") / "many")
    return result, report


@pytest.fixture(scope="module")
def demo_page(chromium, demo):
    return render(demo[1], widths=WIDTHS, script=_FACTS_JS, print_pdf=True)


@pytest.fixture(scope="module")
def many_page(chromium, many):
    return render(many[1], widths=WIDTHS, script=_FACTS_JS)


def _offices(result) -> list[str]:
    return list(dict.fromkeys(result.agreement_by_office.iloc[:, 0].astype(str)))


@pytest.mark.parametrize("design", ["demo", "many"])
def test_the_page_never_scrolls_sideways(design, request):
    page = request.getfixturevalue(f"{design}_page")
    assert page.console_errors == [] and page.network_requests == []
    assert set(page.layouts) == set(WIDTHS)
    for width, box in page.layouts.items():
        assert box["inner_width"] == width
        assert box["scroll_width"] <= box["inner_width"], (design, width, box)
        assert box["script"]["sticking_out"] == [], (design, width)
        for img in box["script"]["images"]:
            assert img["right"] <= width + 0.5, (design, width, img)


@pytest.mark.parametrize("design", ["demo", "many"])
def test_every_figure_is_described_and_captioned(design, request):
    _, report = request.getfixturevalue(design)
    page = request.getfixturevalue(f"{design}_page")
    images = page.layouts[800]["script"]["images"]
    figures = sorted(p.stem for p in (report.parent / "figures").glob("*.png"))
    assert "agreement_by_office" in figures        # the forest plot, saved with the others
    assert len(images) == len(figures) == len(page.images)
    assert page.broken_images == []
    for img in images:
        assert len(img["alt"].strip()) > 20, img
        assert img["in_figure"], img
        assert img["caption"] and "\n" not in img["caption"], img


@pytest.mark.parametrize("design", ["demo", "many"])
def test_contents_first_and_findings_before_the_tables(design, request):
    page = request.getfixturevalue(f"{design}_page")
    facts = page.layouts[1280]["script"]
    assert facts["toc_missing"] == []
    assert facts["toc"][0] == "#findings"
    assert {"#agreement", "#pairs", "#variation", "#offices", "#methods"} <= set(facts["toc"])
    assert facts["toc_before_findings"]
    assert facts["findings_before_tables"]
    assert facts["findings_top"] < facts["first_table_top"]
    assert page.text.index("Summary of findings") < page.text.index("Sources of variation")


@pytest.mark.parametrize("design", ["demo", "many"])
def test_per_office_agreement_is_one_row_per_office(design, request):
    result, report = request.getfixturevalue(design)
    page = request.getfixturevalue(f"{design}_page")
    facts = page.layouts[1280]["script"]
    offices = _offices(result)
    assert len(offices) == (6 if design == "demo" else 12)
    assert facts["office_rows"] == offices       # as written, in the table's order
    assert facts["office_bold"] == 0              # a name with markup in it stays text
    html = report.read_text(encoding="utf-8")
    table = re.search(r"<table class='compact' id='office-agreement'>.*?</table>", html,
                      re.S).group(0)
    alpha = result.agreement_by_office.set_index(result.agreement_by_office.columns[0])
    alpha = alpha[alpha["coefficient"] == "Krippendorff's alpha (ordinal)"]
    for office, row in alpha.iterrows():
        assert f"{row['estimate']:.2f} <span class='ci'>[{row['ci_low']:.2f}, " \
               f"{row['ci_high']:.2f}]</span>" in table, office
    # the full 11 x offices table is still there, collapsed
    assert len(result.agreement_by_office) == 11 * len(offices)
    assert "rows; tables/agreement_by_office.csv)</summary>" in html


def test_the_page_is_much_shorter_than_before(demo_page):
    height = demo_page.layouts[1280]["scroll_height"]
    assert height < 0.6 * HEIGHT_BEFORE, height
    # the long tables are collapsed, not gone
    details = demo_page.layouts[1280]["script"]["details"]
    assert len(details) >= 5
    assert all(not d["open"] and d["height"] <= d["summary"] + 1 for d in details)


def test_the_print_stylesheet_keeps_figures_and_rows_whole(chromium, demo, demo_page):
    rules = ",".join(demo_page.layouts[1280]["script"]["print_rules"])
    assert re.search(r"(^|,)\s*figure\s*(,|$)", rules), rules
    assert re.search(r"(^|,)\s*tr\s*(,|$)", rules), rules
    assert demo_page.pdf.startswith(b"%PDF") and len(demo_page.pdf) > 10_000
    assert len(re.findall(rb"/Type\s*/Page\b", demo_page.pdf)) >= 3
    # laid out for print on a page's width: nothing wider than the page, collapsed tables shown
    printed = render(demo[1], media="print", window=(720, 1024), widths=(720, 560),
                     script=_FACTS_JS)
    for width, box in printed.layouts.items():
        assert box["scroll_width"] <= box["inner_width"], (width, box)
        assert all(d["height"] > d["summary"] + 20 for d in box["script"]["details"]), width


def test_a_report_without_offices_fits_and_keeps_its_agreement_table(chromium, tmp_path):
    ratings = rv.simulate(rv.world.scenarios.six_office_study(n_offices=2, n_vignettes=12),
                          seed=3)
    result = audit(ratings, **ROLES, ordinal=False, rater_effects=False)
    assert result.agreement_by_office is None
    report = result.save(tmp_path / "plain")
    page = render(report, widths=(800,), script=_FACTS_JS)
    box = page.layouts[800]
    assert box["scroll_width"] <= box["inner_width"]
    facts = box["script"]
    assert facts["office_rows"] is None and facts["toc_missing"] == []
    assert "#findings" in facts["toc"] and facts["findings_before_tables"]
    assert "Krippendorff's alpha (ordinal)" in page.text    # the overall table, not collapsed
    assert "agreement_by_office" not in {p.stem for p in (tmp_path / "plain" / "figures").iterdir()}
    assert page.console_errors == []


def test_the_width_check_can_fail(chromium, tmp_path):
    """The measure itself: a wide table outside a scrolling box widens the page; inside one
    it does not (and print media lays out the print stylesheet)."""
    table = "<table><tr>" + "<td>0.123456789</td>" * 60 + "</tr></table>"
    style = "<style>.wrap{overflow-x:auto}@media print{p{display:none}}</style>"
    bare, wrapped = tmp_path / "bare.html", tmp_path / "wrapped.html"
    bare.write_text(f"<!doctype html><p>x</p>{table}", encoding="utf-8")
    wrapped.write_text(f"<!doctype html>{style}<p>x</p><div class='wrap'>{table}</div>",
                       encoding="utf-8")
    box = render(bare, widths=(800,)).layouts[800]
    assert box["scroll_width"] > box["inner_width"] == 800
    shown = "return document.querySelector('p').getBoundingClientRect().height"
    page = render(wrapped, widths=(800,), script=shown, media="print")
    box = page.layouts[800]
    assert box["scroll_width"] <= box["inner_width"] == 800
    assert box["script"] == 0      # hidden by the print stylesheet
