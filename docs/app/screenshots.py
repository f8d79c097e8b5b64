"""Screenshots of the seven steps of ``riskeval app``, for the documentation.

Serves the app on a free loopback port, walks through the steps in headless Chromium (the
system's /usr/bin/chromium and /usr/bin/chromedriver, driven by Selenium) with a simulated
six-office study, and writes ``step1_upload.png`` ... ``step7_report.png`` (1280 pixels
wide) beside this file. Not part of the tests::

    .venv/bin/python docs/app/screenshots.py
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import riskeval as rv
from riskeval.app import create_app

HERE = Path(__file__).resolve().parent
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WIDTH = 1280


def ratings_file(folder: Path) -> Path:
    """The six-office vignette study (simulated), as an inspector's file: a spreadsheet
    when this riskeval reads them, else CSV."""
    world = rv.world.scenarios.six_office_study()
    frame = rv.simulate(world, seed=1)[["case", "officer", "office", "rating", "reference"]]
    frame = frame.rename(columns={"case": "vignette", "rating": "rosh",
                                  "reference": "evidence_level"})
    if hasattr(rv.data.ratings, "sheet_names"):
        path = folder / "six-office ratings.xlsx"
        frame.to_excel(path, index=False, sheet_name="Ratings")
    else:
        path = folder / "six-office ratings.csv"
        frame.to_csv(path, index=False)
    return path


def serve(workdir: Path) -> tuple[uvicorn.Server, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(upload_limit=200 * 1024 * 1024, workdir=workdir,
                     allowed_hosts=[f"127.0.0.1:{port}", f"localhost:{port}"])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def browser(tmp: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},900", "--hide-scrollbars", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking"):
        options.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "TMPDIR": tmp})
    return webdriver.Chrome(service=service, options=options)


def shot(driver: webdriver.Chrome, name: str, height: int | None = None) -> None:
    """Save the page, ``height`` pixels of it (default: all of it)."""
    if height is None:
        driver.set_window_size(WIDTH, 300)  # so that the page's height is its content's
        height = driver.execute_script("return document.body.scrollHeight") + 8
    chrome = driver.execute_script("return window.outerHeight - window.innerHeight")
    driver.set_window_size(WIDTH, height + chrome)
    path = HERE / name
    driver.save_screenshot(str(path))
    print(f"wrote {path.relative_to(HERE.parent.parent)}")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="riskeval-shots-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        path = ratings_file(Path(tmp))
        server, url = serve(work)
        driver = browser(tmp)
        wait = WebDriverWait(driver, 120)
        try:
            driver.get(url + "/")
            driver.find_element(By.ID, "file").send_keys(str(path))
            shot(driver, "step1_upload.png")
            driver.find_element(By.ID, "upload").click()
            wait.until(lambda d: d.find_elements(By.ID, "preview"))
            shot(driver, "step2_preview.png")
            driver.find_element(By.ID, "next").click()
            wait.until(lambda d: d.find_elements(By.ID, "col-case"))
            shot(driver, "step3_columns.png")
            driver.find_element(By.ID, "next").click()
            wait.until(lambda d: d.find_elements(By.ID, "levels"))
            shot(driver, "step4_levels.png")
            driver.find_element(By.ID, "next").click()
            wait.until(lambda d: d.find_elements(By.ID, "run"))
            driver.find_element(By.ID, "pseudonymise").click()
            Select(driver.find_element(By.ID, "high_from")).select_by_index(0)
            shot(driver, "step5_options.png")
            driver.find_element(By.ID, "run").click()
            wait.until(lambda d: d.find_elements(By.ID, "bar") or
                       d.find_elements(By.ID, "findings"))
            if driver.find_elements(By.ID, "bar"):
                wait.until(lambda d: not d.find_elements(By.ID, "bar") or
                           d.execute_script("return document.getElementById('bar').value")
                           >= 2)
                if driver.find_elements(By.ID, "bar"):
                    shot(driver, "step6_run.png")
            wait.until(lambda d: d.find_elements(By.ID, "findings"))
            shot(driver, "step7_report.png", 1900)
        finally:
            driver.quit()
            server.should_exit = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
