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
"""

from __future__ import annotations

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


def render(path: str | os.PathLike[str], *, timeout: float = 30.0) -> PageReport:
    """Open the local HTML file ``path`` in headless Chromium and report on it.

    Waits for ``document.readyState == "complete"`` (the load event, so every eagerly loaded
    image has loaded or failed), then up to ``timeout`` seconds for every ``<img>`` to be
    ``complete``; one that never is (e.g. ``loading="lazy"`` below the fold) is reported with
    ``complete=False``.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    file = Path(path).resolve()
    if not file.is_file():
        raise FileNotFoundError(file)
    chromium = _executable(CHROMIUM, "chromium")
    chromedriver = _executable(CHROMEDRIVER, "chromedriver")
    if chromium is None or chromedriver is None:
        raise RuntimeError(f"headless browser not available: missing {', '.join(_missing())}")

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in _HEADLESS_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})

    # Chromium leaves its singleton-socket directory in $TMPDIR; keep it in one we remove.
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as tmp:
        service = Service(executable_path=chromedriver, env={**os.environ, "TMPDIR": tmp})
        page, console_errors, network_requests = _run(
            webdriver.Chrome(service=service, options=options), file, timeout
        )

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
    )


def _run(driver, file: Path, timeout: float) -> tuple[dict, list[str], list[str]]:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        driver.set_page_load_timeout(timeout)
        driver.get(file.as_uri())
        WebDriverWait(driver, timeout).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        try:
            WebDriverWait(driver, timeout).until(lambda d: d.execute_script(_IMAGES_SETTLED_JS))
        except TimeoutException:
            pass  # reported as complete=False below
        page = driver.execute_script(_COLLECT_JS)
        console_errors = [
            entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
        ]
        network_requests = _network_requests(driver.get_log("performance"))
    finally:
        driver.quit()
    return page, console_errors, network_requests
