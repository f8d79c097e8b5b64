"""The documentation site (``make docs``, built by ``make test`` before pytest runs).

Checks the built site as a reader meets it: every public module, class and function has its
reference page; every notebook and guide page carries its executed outputs; every internal
link and image resolves; every page loads in headless Chromium without a console error; and
the search page finds Krippendorff.

When ``docs/_build/html`` is missing (pytest run on its own), the site is built first, with
the cached notebook executions (``make docs``).
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from _api import public_modules, public_names
from _browser import browser, require_chromium

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = DOCS / "_build" / "html"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GUIDES = ("inspector", "criminologist", "training_designer")


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        subprocess.run(
            [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
             str(DOCS), str(SITE)],
            check=True, cwd=ROOT,
        )
    return SITE


def _pages(site: Path) -> list[Path]:
    """The site's HTML pages (not the theme's template fragments under _static)."""
    return [p for p in sorted(site.rglob("*.html")) if "_static" not in p.relative_to(site).parts]


# ---- the API reference -------------------------------------------------------------------

def _resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_public_module_and_name_has_a_reference_page(site):
    documented: dict[tuple[str, int], str] = {}
    for page in (site / "api" / "generated").glob("riskeval.*.html"):
        dotted = page.stem
        text = page.read_text(encoding="utf-8")
        assert f'id="{dotted}"' in text, f"{page.name} does not document {dotted}"
        obj = _resolve(dotted)
        documented[(dotted.rpartition(".")[2], id(obj))] = dotted

    modules = public_modules()
    assert len(modules) > 30
    assert "riskeval.audit" in modules and "riskeval.world.scenarios" in modules
    missing_modules = [m for m in modules if not (site / "api" / f"{m}.html").is_file()]
    assert missing_modules == [], f"public modules without a reference page: {missing_modules}"

    missing, checked = [], 0
    for name in modules:
        module = importlib.import_module(name)
        for public in public_names(module):
            obj = getattr(module, public)
            if isinstance(obj, types.ModuleType):
                continue
            checked += 1
            if (public, id(obj)) not in documented:
                missing.append(f"{name}.{public}")
    assert checked > 200
    assert missing == [], f"public names without a reference page: {missing}"


def test_a_reference_page_shows_the_docstring(site):
    page = (site / "api" / "generated" / "riskeval.agreement.krippendorff_alpha.html")
    text = page.read_text(encoding="utf-8")
    for section in ("Parameters", "Returns", "Examples", "References"):
        assert f">{section}<" in text, section
    assert "Krippendorff" in text and "level" in text


def test_references_in_docstrings_link_to_where_names_are_documented(site):
    # the engine's docstring says :func:`simulate`; the page of simulate is riskeval.world's
    engine = (site / "api" / "riskeval.world.engine.html").read_text(encoding="utf-8")
    assert 'href="generated/riskeval.world.simulate.html' in engine
    # a summary table on the top-level page links names re-exported from subpackages
    top = (site / "api" / "riskeval.html").read_text(encoding="utf-8")
    assert 'href="generated/riskeval.agreement.krippendorff_alpha.html' in top


# ---- the notebooks and the guides, executed ------------------------------------------------

def _image_outputs(notebook_page: str) -> int:
    return notebook_page.count('<img alt="_images/') + notebook_page.count('<img alt="../_images/')


def _shown_twice(page: str) -> list[str]:
    """Figures a page shows more than once (a cell's value and pyplot's own display of the
    same figure give the same image twice)."""
    sources = re.findall(r'<img[^>]*src="([^"]*_images/[^"]*)"', page)
    return sorted({src for src in sources if sources.count(src) > 1})


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_each_notebook_is_a_page_with_its_outputs(site, notebook):
    page = site / "notebooks" / f"{notebook.stem}.html"
    assert page.is_file(), f"no page for {notebook.name}"
    html = page.read_text(encoding="utf-8")
    assert 'class="cell_output' in html, f"{notebook.name} shows no outputs"
    assert "Traceback (most recent call last)" not in html
    source = json.loads(notebook.read_text(encoding="utf-8"))
    plots = any(".plot(" in "".join(c["source"]) or "plt." in "".join(c["source"])
                for c in source["cells"] if c["cell_type"] == "code")
    if plots:
        assert _image_outputs(html) > 0, f"{notebook.name} draws figures but its page has none"
    assert _shown_twice(html) == [], f"{notebook.name} shows a figure twice"


@pytest.mark.parametrize("guide", GUIDES)
def test_each_guide_is_a_page_with_its_outputs(site, guide):
    html = (site / "guides" / f"{guide}.html").read_text(encoding="utf-8")
    assert html.count('class="cell_output') >= 5, f"the {guide} guide shows few outputs"
    assert "Traceback (most recent call last)" not in html
    assert "import riskeval as rv" in re.sub(r"<[^>]+>", "", html)   # code shown, highlighted
    assert _shown_twice(html) == [], f"the {guide} guide shows a figure twice"


# ---- links, images, the browser ----------------------------------------------------------

class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag in ("a", "link") and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.links.append(attrs["src"])


def _parse(page: Path) -> _Refs:
    refs = _Refs()
    refs.feed(page.read_text(encoding="utf-8"))
    return refs


def test_every_internal_link_and_image_resolves(site):
    pages = _pages(site)
    parsed = {page: _parse(page) for page in pages}
    broken, checked = [], 0
    for page, refs in parsed.items():
        for link in refs.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # external (none should be needed to read the site: see the browser test)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {link}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)} -> {link} (no such anchor)")
    assert checked > 5000
    assert broken == [], f"{len(broken)} broken internal links, e.g. {broken[:10]}"


def test_every_page_loads_in_chromium_without_errors(site):
    require_chromium()
    pages = _pages(site)
    assert len(pages) > 250
    problems = []
    with browser() as open_page:
        for page in pages:
            report = open_page(page.as_uri())
            name = page.relative_to(site)
            if report.console_errors:
                problems.append(f"{name}: console {report.console_errors[:2]}")
            if report.broken_images:
                problems.append(f"{name}: images not loaded {report.broken_images[:2]}")
            if report.network_requests:
                problems.append(f"{name}: needs the network {report.network_requests[:2]}")
            if not report.title or not report.text.strip():
                problems.append(f"{name}: empty page")
    assert problems == [], "\n".join(problems[:20])


def test_search_finds_krippendorff(site):
    require_chromium()
    results = (
        "return Array.from(document.querySelectorAll('#search-results li a'),"
        " (a) => a.getAttribute('href'));"
    )
    with browser() as open_page:
        report = open_page(
            (site / "search.html").as_uri() + "?q=Krippendorff",
            wait_for="return document.querySelectorAll('#search-results li').length > 0",
            script=results,
        )
    assert report.console_errors == []
    hrefs = report.script_result
    assert any("riskeval.agreement.krippendorff_alpha.html" in h for h in hrefs), hrefs[:10]
