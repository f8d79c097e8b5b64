"""Open a local, self-contained HTML file in headless Chromium and report what a reader would see.

Test helper (not a test module). Typical use::

    from _browser import render, require_chromium

    def test_report_renders(tmp_path):
        require_chromium()
        page = render(tmp_path / "report.html")
        assert page.console_errors == []
        assert page.network_requests == []
        assert all(img["complete"] and img["natural_width"] > 0 for img in page.images)
        assert "0.62" in page.text

It drives the system Chromium (``/usr/bin/chromium``) through the system chromedriver
(``/usr/bin/chromedriver``) with Selenium 4.  The driver path is passed explicitly, so Selenium
Manager is never run and nothing is downloaded.  The browser's host resolver is set to fail
every name lookup, so a page that depends on the network fails fast, and every request to a URL
other than ``file:``, ``data:``, ``blob:`` or ``about:`` is listed in
``PageReport.network_requests``.

Each :func:`render` call starts and stops its own browser (about a second), so reports never
share console logs or caches.

Layout checks: every report also holds the document's ``scroll_width``/``scroll_height`` and
the viewport's ``inner_width`` at the window size opened (``window``, 1280 x 1024 by default);
``widths=(1280, 800)`` lays the same page out again at each window width in the same browser
(``PageReport.layouts``), ``script=`` runs your own JavaScript (its ``return`` value is kept in
``script_result``, and per width in ``layouts``), and ``print_pdf=True`` prints the page to PDF
through the DevTools protocol (``Page.printToPDF``; the bytes are in ``pdf``)::

    page = render(report, widths=(1280, 800), print_pdf=True)
    for width, box in page.layouts.items():
        assert box["scroll_width"] <= box["inner_width"], width
    assert page.pdf.startswith(b"%PDF")
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

#: How much of each image's ``src`` is kept (data URIs run to many kilobytes).
SRC_PREFIX_CHARS = 40

#: URL schemes that do not need the network.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

_HEADLESS_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
    # No name resolves, so a page that needs the network fails at once instead of hanging.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-background-networking",
    "--no-first-run",
    "--no-default-browser-check",
)

# Runs in the page once the document is complete.
_COLLECT_JS = f"""
return {{
  title: document.title,
  text: document.body ? document.body.innerText : "",
  images: Array.from(document.images, (img) => ({{
    src_prefix: (img.currentSrc || img.getAttribute("src") || "").slice(0, {SRC_PREFIX_CHARS}),
    complete: img.complete,
    natural_width: img.naturalWidth,
  }})),
}};
"""

# The page's extent against the viewport's (CSS pixels).
_LAYOUT_JS = """
return {
  inner_width: window.innerWidth,
  inner_height: window.innerHeight,
  scroll_width: document.documentElement.scrollWidth,
  scroll_height: document.documentElement.scrollHeight,
};
"""

_IMAGES_SETTLED_JS = "return Array.from(document.images).every((img) => img.complete);"


@dataclass
class PageReport:
    """What the browser made of one page."""

    #: One dict per ``<img>`` in document order: ``src_prefix`` (first 40 characters of the
    #: source), ``complete`` and ``natural_width``; an image loaded iff complete and width > 0.
    images: list[dict] = field(default_factory=list)
    #: Messages of SEVERE browser log entries: ``console.error`` calls, uncaught exceptions,
    #: failed resource loads.
    console_errors: list[str] = field(default_factory=list)
    #: ``document.body.innerText``: the visible text, as laid out.
    text: str = ""
    title: str = ""
    #: URLs the page requested that are not ``file:``/``data:``/``blob:``/``about:``.
    network_requests: list[str] = field(default_factory=list)
    #: ``window.innerWidth`` at the window size the page was opened with (CSS pixels).
    inner_width: int = 0
    #: ``document.documentElement.scrollWidth``: wider than ``inner_width`` when the page
    #: scrolls sideways.
    scroll_width: int = 0
    #: ``document.documentElement.scrollHeight``: the height of the whole page.
    scroll_height: int = 0
    #: What ``script`` returned at the window size opened (None without one).
    script_result: object = None
    #: Per window width asked for with ``widths``: ``inner_width``, ``inner_height``,
    #: ``scroll_width``, ``scroll_height`` and ``script`` (what ``script`` returned there).
    layouts: dict[int, dict] = field(default_factory=dict)
    #: The page printed to PDF (``print_pdf=True``), else empty.
    pdf: bytes = b""

    @property
    def loaded_images(self) -> list[dict]:
        return [img for img in self.images if img["complete"] and img["natural_width"] > 0]

    @property
    def broken_images(self) -> list[dict]:
        return [img for img in self.images if not (img["complete"] and img["natural_width"] > 0)]


def _executable(default: str, name: str) -> str | None:
    if os.path.isfile(default) and os.access(default, os.X_OK):
        return default
    return shutil.which(name)


def _missing() -> list[str]:
    """Names of the pieces needed by :func:`render` that this machine lacks."""
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (Python package; `make test` installs it from the test extra)")
    if _executable(CHROMIUM, "chromium") is None:
        missing.append(f"chromium ({CHROMIUM})")
    if _executable(CHROMEDRIVER, "chromedriver") is None:
        missing.append(f"chromedriver ({CHROMEDRIVER})")
    return missing


def chromium_available() -> bool:
    """True when selenium, chromium and chromedriver are all installed."""
    return not _missing()


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def require_chromium() -> None:
    """Skip the calling test when the browser stack is missing; fail instead under ``CI``."""
    missing = _missing()
    if not missing:
        return
    what = ", ".join(missing)
    if _ci():
        pytest.fail(
            f"headless browser tests need {what}, but it is missing although CI is set: "
            ".ci/run should have installed it (apt-get install chromium chromium-driver).",
            pytrace=False,
        )
    pytest.skip(f"headless browser not available: missing {what}")


def _network_requests(performance_log: list[dict]) -> list[str]:
    urls = []
    for entry in performance_log:
        try:
            message = json.loads(entry["message"])["message"]
        except (KeyError, TypeError, ValueError):
            continue
        if message.get("method") != "Network.requestWillBeSent":
            continue
        url = message.get("params", {}).get("request", {}).get("url", "")
        if url and not url.lower().startswith(LOCAL_SCHEMES) and url not in urls:
            urls.append(url)
    return urls


def render(path: str | os.PathLike[str], *, timeout: float = 30.0,
           window: tuple[int, int] = (1280, 1024), widths: tuple[int, ...] = (),
           script: str | None = None, print_pdf: bool = False,
           media: str | None = None) -> PageReport:
    """Open the local HTML file ``path`` in headless Chromium and report on it.

    Waits for ``document.readyState == "complete"`` (the load event, so every eagerly loaded
    image has loaded or failed), then up to ``timeout`` seconds for every ``<img>`` to be
    ``complete``; one that never is (e.g. ``loading="lazy"`` below the fold) is reported with
    ``complete=False``.

    ``window`` is the browser window's (width, height) in pixels. For each width in
    ``widths`` the window is resized to (width, ``window[1]``) and the layout measured again
    (``PageReport.layouts``); ``script`` (JavaScript with a ``return``) runs at the opening
    size and at each width. ``print_pdf`` prints the page (at the opening size) to PDF with
    backgrounds, A4 portrait. ``media="print"`` lays the page out with its print stylesheet
    (CSS media emulation) before measuring and running ``script``.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise FileNotFoundError(file)
    with browser(window=window) as open_page:
        return open_page(file.as_uri(), timeout=timeout, widths=widths, script=script,
                         print_pdf=print_pdf, media=media)


@contextlib.contextmanager
def browser(*, window: tuple[int, int] = (1280, 1024)):
    """One headless Chromium for many pages: yields ``open_page(url, **options)``, which
    loads ``url`` (``file:`` or ``http:``), and returns its :class:`PageReport` as
    :func:`render` does (same options, and ``wait_for``: JavaScript returning true once the
    page is ready, waited for up to ``timeout``); console errors and requests are those of
    that page alone. Opening pages in one browser takes a fraction of a second each, against about a
    second for :func:`render`'s own browser."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = _executable(CHROMIUM, "chromium")
    chromedriver = _executable(CHROMEDRIVER, "chromedriver")
    if chromium is None or chromedriver is None:
        raise RuntimeError(f"headless browser not available: missing {', '.join(_missing())}")

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in _HEADLESS_ARGS:
        if arg.startswith("--window-size="):
            arg = f"--window-size={int(window[0])},{int(window[1])}"
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})

    # Chromium leaves its singleton-socket directory in $TMPDIR; keep it in one we remove.
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as tmp:
        service = Service(executable_path=chromedriver, env={**os.environ, "TMPDIR": tmp})
        driver = webdriver.Chrome(service=service, options=options)
        try:
            yield functools.partial(_open, driver, window=window)
        finally:
            driver.quit()


def _open(driver, url: str, *, timeout: float = 30.0, window: tuple[int, int] = (1280, 1024),
          widths: tuple[int, ...] = (), script: str | None = None, print_pdf: bool = False,
          media: str | None = None, wait_for: str | None = None) -> PageReport:
    # what an earlier page left in the logs is not this page's
    driver.get_log("browser")
    driver.get_log("performance")
    page, console_errors, network_requests = _run(
        driver, url, timeout, window=window, widths=widths, script=script,
        print_pdf=print_pdf, media=media, wait_for=wait_for)
    return PageReport(
        images=[
            {
                "src_prefix": str(img["src_prefix"]),
                "complete": bool(img["complete"]),
                "natural_width": int(img["natural_width"]),
            }
            for img in page["images"]
        ],
        console_errors=console_errors,
        text=page["text"],
        title=page["title"],
        network_requests=network_requests,
        inner_width=int(page["layout"]["inner_width"]),
        scroll_width=int(page["layout"]["scroll_width"]),
        scroll_height=int(page["layout"]["scroll_height"]),
        script_result=page.get("script"),
        layouts=page.get("layouts", {}),
        pdf=page.get("pdf", b""),
    )


def _layout(driver, script: str | None) -> dict:
    box = {k: int(v) for k, v in driver.execute_script(_LAYOUT_JS).items()}
    box["script"] = driver.execute_script(script) if script else None
    return box


def _resize(driver, width: int, height: int) -> None:
    """Set the window so that the viewport is ``width`` CSS pixels wide (headless windows
    have no frame, but a window manager's decoration is allowed for)."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return window.innerWidth")
    if inner != width:
        driver.set_window_size(width + (width - inner), height)
    # let the page lay itself out again before measuring
    driver.execute_script("return document.documentElement.getBoundingClientRect().width")


def _run(driver, url: str, timeout: float, *, window: tuple[int, int] = (1280, 1024),
         widths: tuple[int, ...] = (), script: str | None = None,
         print_pdf: bool = False, media: str | None = None,
         wait_for: str | None = None) -> tuple[dict, list[str], list[str]]:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_page_load_timeout(timeout)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.get(url)
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    try:
        WebDriverWait(driver, timeout).until(lambda d: d.execute_script(_IMAGES_SETTLED_JS))
    except TimeoutException:
        pass  # reported as complete=False below
    if wait_for is not None:
        # e.g. a search page filling its results after the load event
        WebDriverWait(driver, timeout).until(lambda d: d.execute_script(wait_for))
    page = driver.execute_script(_COLLECT_JS)
    if media is not None:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})
    _resize(driver, int(window[0]), int(window[1]))
    page["layout"] = _layout(driver, None)
    page["script"] = driver.execute_script(script) if script else None
    if print_pdf:
        printed = driver.execute_cdp_cmd("Page.printToPDF", {
            "printBackground": True, "paperWidth": 8.27, "paperHeight": 11.69,
            "preferCSSPageSize": True})
        page["pdf"] = base64.b64decode(printed["data"])
    page["layouts"] = {}
    for width in widths:
        _resize(driver, int(width), int(window[1]))
        page["layouts"][int(width)] = _layout(driver, script)
    console_errors = [
        entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
    ]
    network_requests = _network_requests(driver.get_log("performance"))
    return page, console_errors, network_requests
