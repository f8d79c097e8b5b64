"""``riskeval app``, the audit as a local web page: its security checks, its steps, and that
its report is the library's own audit of the same file.

Most tests drive the Starlette app in process (``TestClient``); two drive the real server
(uvicorn on a free loopback port) in headless Chromium, and two start ``riskeval.app.run`` in
a subprocess to stop it with a signal.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.client
import io
import json
import math
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import riskeval as rv
from riskeval.data import ratings as ratings_module
from riskeval.data.ratings import RISK_LEVELS, read_table

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("python_multipart")

from riskeval.app import add_arguments, create_app
from riskeval.app.server import graphical_browser, host_warning, is_loopback


def _test_client() -> Any:
    """Starlette's TestClient, which needs httpx2 (or httpx); skipped without it, except
    under CI."""
    try:
        from starlette.testclient import TestClient
    except RuntimeError as exc:  # starlette says which package is missing
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off"):
            pytest.fail(f"the app's tests need Starlette's test client: {exc}", pytrace=False)
        pytest.skip(f"Starlette's test client is not available: {exc}")
    return TestClient


HOST = "127.0.0.1:8765"
EXAMPLE = Path(rv.data.datasets.example_ratings_path())
SPREADSHEETS = hasattr(ratings_module, "sheet_names")
needs_spreadsheets = pytest.mark.skipif(
    not SPREADSHEETS, reason="riskeval.data.ratings cannot read spreadsheets yet")


# -- helpers ------------------------------------------------------------------------------

class _Forms(HTMLParser):
    """The values a browser would send from a page's forms: hidden and text inputs, ticked
    boxes and each select's selected option (the first when none is)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._first: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("hidden", "text", "number", "password") or (
                    kind == "checkbox" and "checked" in a):
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first = a.get("name"), None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
                self.values.setdefault(self._select, self._first)
            if "selected" in a:
                self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_values(page: str) -> dict[str, str]:
    parser = _Forms()
    parser.feed(page)
    return parser.values


class Flow:
    """One browser session walking through the steps with a TestClient."""

    def __init__(self, client: Any) -> None:
        self.c = client
        page = client.get("/")
        assert page.status_code == 200
        self.token = form_values(page.text)["csrf"]
        self.base = ""

    def upload(self, name: str, data: bytes) -> Any:
        r = self.c.post("/upload", data={"csrf": self.token},
                        files={"file": (name, data, "application/octet-stream")},
                        follow_redirects=False)
        if r.status_code == 303:
            self.base = r.headers["location"].rsplit("/", 1)[0]
        return r

    def post(self, step: str, values: dict[str, str] | None = None, **extra: str) -> Any:
        data = dict(values or {})
        data.update(extra)
        data.setdefault("csrf", self.token)
        return self.c.post(f"{self.base}/{step}", data=data, follow_redirects=False)

    def through(self, step: str, **changes: str) -> Any:
        """GET a step's page and send its form as prefilled, with ``changes``."""
        page = self.c.get(f"{self.base}/{step}")
        assert page.status_code == 200, page.text
        values = form_values(page.text)
        values.update(changes)
        return self.post(step, values)

    def to_options(self, **columns: str) -> None:
        assert self.through("preview", action="next").status_code == 303
        r = self.through("columns", **columns)
        assert r.status_code == 303, r.text
        assert self.through("levels").status_code == 303

    def run(self, **options: str) -> dict:
        page = self.c.get(f"{self.base}/options")
        values = form_values(page.text)
        values.update(options)
        r = self.post("run", values)
        assert r.status_code == 303, r.text
        return self.wait()

    def wait(self, timeout: float = 60) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.c.get(f"{self.base}/status").json()
            if st["state"] in ("done", "error"):
                return st
            time.sleep(0.1)
        raise AssertionError("the audit did not finish")

    def summary(self) -> dict:
        r = self.c.get(f"{self.base}/report.zip")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            return json.loads(zf.read("riskeval-report/summary.json"))


def column_index(page: str, name: str) -> str:
    """The option value of column ``name`` in the columns page's drop-downs."""
    m = re.search(r'<option value="(\d+)"(?: selected)?>' + re.escape(name) + "</option>",
                  page)
    assert m, name
    return m.group(1)


def assert_same(got: Any, want: Any, where: str = "summary") -> None:
    """The same JSON: the same keys, equal numbers (to rounding), equal everything else."""
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        assert sorted(got) == sorted(want), where
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float | int) and not isinstance(want, bool):
        assert isinstance(got, float | int) and not isinstance(got, bool), where
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (where, got, want)
    else:
        assert got == want, (where, got, want)


def library_summary(path: Path, **columns: Any) -> dict:
    """What the library itself gives on the file, read as ``riskeval audit`` reads it."""
    return json.loads(_library_json(path, tuple(sorted(columns.items()))))


@functools.cache
def _library_json(path: Path, columns: tuple) -> str:  # one audit per file for the module
    cols = dict(columns)
    text = [cols[r] for r in ("case", "rater", "office", "rating") if cols.get(r)]
    frame = read_table(path, text_columns=text)
    return json.dumps(rv.audit.audit(frame, categories=list(RISK_LEVELS), **cols).to_dict())


EXAMPLE_COLUMNS = {"case": "vignette", "rater": "officer", "rating": "rosh",
                   "office": "office"}


@pytest.fixture()
def app(tmp_path: Path) -> Any:
    app = create_app(upload_limit=5_000_000, workdir=tmp_path,
                     allowed_hosts=[HOST, "localhost:8765"])
    yield app
    app.state.cleanup()


@pytest.fixture()
def client(app: Any) -> Any:
    with _test_client()(app, base_url=f"http://{HOST}") as c:
        yield c


# -- security ------------------------------------------------------------------------------

def test_post_without_the_sessions_csrf_token_is_refused(app: Any, client: Any) -> None:
    flow = Flow(client)
    data = EXAMPLE.read_bytes()
    for fields in ({}, {"csrf": "x" * 43}, {"csrf": ""}):
        r = client.post("/upload", data=fields, files={"file": ("r.csv", data, "text/csv")})
        assert r.status_code == 403
        assert "did not come from this page" in r.text
    assert flow.upload("r.csv", data).status_code == 303
    # the steps' forms too: missing, wrong, another session's token
    other = Flow(_test_client()(app, base_url=f"http://{HOST}"))
    for token in (None, "wrong", other.token):
        data = {"action": "next"} if token is None else {"action": "next", "csrf": token}
        r = client.post(f"{flow.base}/preview", data=data, follow_redirects=False)
        assert r.status_code == 403, token
    # a form posted from another site (the browser names it in Origin) is refused even with
    # the right token
    r = client.post(f"{flow.base}/preview", data={"csrf": flow.token},
                    headers={"Origin": "http://evil.example"}, follow_redirects=False)
    assert r.status_code == 403
    # no session cookie at all
    client.cookies.clear()
    r = client.post("/upload", data={"csrf": flow.token},
                    files={"file": ("r.csv", b"a,b\n1,2\n", "text/csv")})
    assert r.status_code == 403
    assert flow.post("preview", action="next").status_code in (403, 404)


def test_a_foreign_host_header_is_refused(client: Any) -> None:
    for host in ("evil.example", "evil.example:8765", "127.0.0.1:9999", "localhost",
                 "127.0.0.1"):
        r = client.get("/", headers={"Host": host})
        assert r.status_code == 400, host
        assert "set-cookie" not in r.headers
    assert client.get("/", headers={"Host": "localhost:8765"}).status_code == 200
    assert client.get("/").status_code == 200


def test_the_pages_security_headers(client: Any) -> None:
    r = client.get("/")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'nonce-" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_an_oversized_upload_is_refused_with_a_message(tmp_path: Path) -> None:
    app = create_app(upload_limit=2000, workdir=tmp_path, allowed_hosts=[HOST])
    with _test_client()(app, base_url=f"http://{HOST}") as client:
        flow = Flow(client)
        r = flow.upload("big.csv", b"case,officer,rating\n" + b"v1,a,low\n" * 1000)
        assert r.status_code == 413
        assert "larger than the limit" in r.text and "MB" in r.text
        assert not [p for p in app.state.folder.rglob("*") if p.is_file()]  # nothing kept
        # a file under the limit is taken
        assert flow.upload("small.csv", b"case,officer,rating\nv1,a,low\nv1,b,high\n"
                           ).status_code == 303
    assert not app.state.folder.exists()


def test_two_sessions_never_see_each_others_files(app: Any, client: Any) -> None:
    a = Flow(client)
    assert a.upload("ratings.csv", EXAMPLE.read_bytes()).status_code == 303
    a.to_options()
    assert a.run()["state"] == "done"
    assert client.get(f"{a.base}/report.zip").status_code == 200
    # a second browser (no second lifespan: its end would stop the app)
    other = _test_client()(app, base_url=f"http://{HOST}")
    b = Flow(other)
    assert b.token != a.token
    for step in ("preview", "columns", "levels", "options", "progress", "report",
                 "report.html", "report.zip"):
        r = other.get(f"{a.base}/{step}")
        assert r.status_code == 404, step
        assert "vignette" not in r.text and "Krippendorff" not in r.text
    assert other.get(f"{a.base}/status").status_code == 404
    # nor can it change or remove them with its own (valid) token
    for step in ("preview", "columns", "levels", "run", "delete"):
        r = other.post(f"{a.base}/{step}", data={"csrf": b.token},
                       follow_redirects=False)
        assert r.status_code == 404, step
    assert client.get(f"{a.base}/report.zip").status_code == 200
    # each session has its own folder
    assert len([p for p in app.state.folder.iterdir() if p.is_dir()]) == 2


def test_remove_my_files(app: Any, client: Any) -> None:
    flow = Flow(client)
    assert flow.upload("r.csv", EXAMPLE.read_bytes()).status_code == 303
    assert any(app.state.folder.rglob("upload-*"))
    assert flow.post("delete", {"csrf": "wrong"}).status_code == 403
    r = flow.post("delete")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert not any(app.state.folder.rglob("upload-*"))
    assert client.get(f"{flow.base}/preview").status_code == 404


def test_a_file_name_is_never_a_path(app: Any, client: Any, tmp_path: Path) -> None:
    flow = Flow(client)
    names = ["../../escape.csv", "..\\..\\escape2.csv", "/etc/passwd",
             '<img src=x onerror="alert(1)">.csv']
    for name in names:
        r = flow.upload(name, EXAMPLE.read_bytes())
        assert r.status_code == 303, name
        page = client.get(f"{flow.base}/preview").text
        assert "<img src=x" not in page
    assert "&lt;img src=x onerror=" in page  # the name shown, escaped
    stored = [p for p in app.state.folder.rglob("*") if p.is_file()]
    assert len(stored) == len(names)
    for p in stored:
        assert re.fullmatch(r"upload-[0-9a-f]{24}\.(csv|dat)", p.name)  # suffix from a list
        assert p.resolve().is_relative_to(app.state.folder.resolve())
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    outside = [p for p in tmp_path.rglob("*")
               if not p.resolve().is_relative_to(app.state.folder.resolve())]
    assert outside == [app.state.folder] or outside == []
    assert not Path("/etc/escape.csv").exists()


def test_every_string_from_the_file_is_escaped(client: Any) -> None:
    flow = Flow(client)
    evil = "<script>alert(1)</script>"
    csv = f"case,officer,rating,\"{evil}\"\nv1,a,low,x\nv1,b,high,\"{evil}\"\n".encode()
    assert flow.upload("x.csv", csv).status_code == 303
    for step in ("preview", "columns"):
        page = client.get(f"{flow.base}/{step}").text
        assert evil not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_private_folder_is_0700_and_removed_on_shutdown(tmp_path: Path) -> None:
    app = create_app(upload_limit=5_000_000, workdir=tmp_path, allowed_hosts=[HOST])
    folder = app.state.folder
    assert folder.parent == tmp_path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with _test_client()(app, base_url=f"http://{HOST}") as client:
        flow = Flow(client)
        assert flow.upload("r.csv", EXAMPLE.read_bytes()).status_code == 303
        for p in folder.rglob("*"):
            if p.is_dir():
                assert stat.S_IMODE(p.stat().st_mode) == 0o700, p
        assert any(folder.rglob("upload-*"))
    assert not folder.exists()  # the lifespan's shutdown removed it
    assert list(tmp_path.iterdir()) == []


# -- what a bad file gives -----------------------------------------------------------------

def _no_traceback(r: Any) -> None:
    assert r.status_code < 500
    assert "Traceback" not in r.text and 'File "' not in r.text


def test_a_file_that_is_not_a_table_gives_a_message(client: Any) -> None:
    flow = Flow(client)
    for name, data, words in (
            ("empty.csv", b"", "empty"),
            ("picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "UTF-8"),
            ("header.csv", b"case,officer,rating\n", "no rows"),
            ("broken.xlsx", b"PK\x03\x04" + bytes(range(256)) * 8, "")):
        r = flow.upload(name, data)
        _no_traceback(r)
        assert r.status_code in (400, 422), name
        assert words in r.text, (name, r.text[-800:])
        assert "upload-" not in r.text and "riskeval-app-" not in r.text  # no stored path


def test_a_rating_the_audit_refuses_gives_its_message_in_the_page(client: Any) -> None:
    flow = Flow(client)
    csv = "case,officer,office,rating,year\n" + "".join(
        f"v{c},{o},North,{lev},{'twenty' if c == 1 else 2024}\n"
        for c, lev in enumerate(["low", "high", "medium"]) for o in "abc")
    assert flow.upload("ratings.csv", csv.encode()).status_code == 303
    flow.to_options()
    st = flow.run()
    assert st["state"] == "error"
    r = flow.c.get(f"{flow.base}/report")
    _no_traceback(r)
    assert r.status_code == 422
    assert "only one office ('North')" in html.unescape(r.text)
    # without the office column, the year's text is the problem, named with its line
    flow.through("columns", office="")
    flow.through("levels")
    st = flow.run()
    assert st["state"] == "error" and "year" in st["message"] and "twenty" in st["message"]
    r = flow.c.get(f"{flow.base}/report")
    _no_traceback(r)
    assert "&#x27;twenty&#x27;" in r.text
    assert "upload-" not in r.text


def test_a_csv_file_saved_in_the_windows_encoding(client: Any) -> None:
    frame = read_table(EXAMPLE, text_columns=list(EXAMPLE_COLUMNS.values()))
    frame["officer"] = frame["officer"].str.replace("NO01", "Zoë")
    data = frame.to_csv(index=False).encode("cp1252")
    flow = Flow(client)
    assert flow.upload("excel.csv", data).status_code == 303  # taken, read in the preview
    page = client.get(f"{flow.base}/preview")
    _no_traceback(page)
    assert "not UTF-8" in page.text and "choose the file&#x27;s text encoding" in page.text
    values = {**form_values(page.text), "encoding": "cp1252", "action": "show"}
    assert flow.post("preview", values).status_code == 303
    page = client.get(f"{flow.base}/preview")
    assert page.status_code == 200 and "Zoë" in page.text
    flow.to_options()
    assert flow.run()["state"] == "done"
    assert "Zoë" in json.dumps(flow.summary(), ensure_ascii=False)


def test_choices_that_do_not_fit_are_refused_with_a_message(client: Any) -> None:
    flow = Flow(client)
    assert flow.upload("ratings.csv", EXAMPLE.read_bytes()).status_code == 303
    assert flow.through("preview", action="next").status_code == 303
    page = client.get(f"{flow.base}/columns").text
    r = flow.through("columns", rater=column_index(page, "vignette"))
    _no_traceback(r)
    assert r.status_code == 400 and "more than once" in r.text
    assert flow.through("columns").status_code == 303
    r = flow.through("levels", **{"pos-0": "2"})  # two levels in place 2
    assert r.status_code == 400 and "different place" in r.text
    assert flow.through("levels").status_code == 303
    for salt, words in (("short", "too weak"), ("a" * 20, "too weak")):
        r = flow.post("run", {**form_values(client.get(f"{flow.base}/options").text),
                              "pseudonymise": "1", "salt": salt})
        _no_traceback(r)
        assert r.status_code == 400 and words in r.text
    r = flow.post("run", {**form_values(client.get(f"{flow.base}/options").text),
                          "confidence": "2"})
    assert r.status_code == 400 and "confidence level" in r.text


# -- the steps, end to end ------------------------------------------------------------------

def test_the_columns_and_levels_are_prefilled(client: Any) -> None:
    flow = Flow(client)
    csv = ("Vignette ID,Assessor,Team,RoSH level,Evidence,Wave,Year\n"
           "v1,a,N,Low,low,1,2024\nv1,b,S,High,low,1,2024\n")
    assert flow.upload("r.csv", csv.encode()).status_code == 303
    flow.through("preview", action="next")
    page = client.get(f"{flow.base}/columns").text
    values = form_values(page)
    want = {"case": "Vignette ID", "rater": "Assessor", "office": "Team",
            "rating": "RoSH level", "reference": "Evidence", "occasion": "Wave",
            "year": "Year"}
    for role, col in want.items():
        assert values[role] == column_index(page, col), role
    assert values["original"] == ""
    # levels outside the four RoSH levels: the distinct values, to be put in order
    flow.through("columns")
    page = client.get(f"{flow.base}/levels").text
    # the RoSH levels however spelt, in their order, each with its count
    assert re.findall(r"<td>([A-Za-z ]+)</td><td class=\"count\">([^<]+)", page) == [
        ("Low", "1"), ("low", "only in the reference or original rating"), ("High", "1")]


def test_end_to_end_the_zip_holds_the_librarys_own_audit(client: Any) -> None:
    flow = Flow(client)
    assert flow.upload("ratings.csv", EXAMPLE.read_bytes()).status_code == 303
    preview = client.get(f"{flow.base}/preview").text
    assert "V01" in preview and "NO01" in preview
    flow.to_options()
    assert re.findall(r"<td>([a-z ]+)</td>", client.get(f"{flow.base}/levels").text) == \
        list(RISK_LEVELS)
    r = flow.post("run", form_values(client.get(f"{flow.base}/options").text))
    assert r.headers["location"] == f"{flow.base}/progress"
    progress = client.get(f"{flow.base}/progress")
    assert progress.status_code in (200, 303)
    st = flow.wait()
    assert st == {"state": "done", "done": 9, "total": 9, "label": "done", "message": ""}
    page = client.get(f"{flow.base}/report").text
    want = library_summary(EXAMPLE, **EXAMPLE_COLUMNS)
    for finding in want["findings"]:
        assert f"<h3>{finding['title']}</h3>" in page.replace("&#x27;", "'")
    html_report = client.get(f"{flow.base}/report.html")
    assert html_report.status_code == 200
    assert "sandbox" in html_report.headers["content-security-policy"]
    assert_same(flow.summary(), want)
    # other options: a new report replaces the first (its folder and zip removed)
    assert flow.run(confidence="0.9")["state"] == "done"
    assert flow.summary()["meta"]["confidence"] == 0.9
    job = next(p for p in client.app.state.folder.rglob(flow.base.rsplit("/", 1)[1]))
    assert len(list(job.glob("report-*"))) == 2  # the report folder and its zip


def test_pseudonymised_with_the_users_salt(client: Any) -> None:
    salt = "Kx9-pQ2_vL7mN4zR-test"
    flow = Flow(client)
    assert flow.upload("ratings.csv", EXAMPLE.read_bytes()).status_code == 303
    flow.to_options()
    assert flow.run(pseudonymise="1", salt=salt, confidence="0.9")["state"] == "done"
    got = flow.summary()
    assert got["meta"]["pseudonymised"] and got["meta"]["confidence"] == 0.9
    assert "NO01" not in json.dumps(got) and "North" not in json.dumps(got)
    frame = read_table(EXAMPLE, text_columns=list(EXAMPLE_COLUMNS.values()))
    want = rv.audit.audit(frame, categories=list(RISK_LEVELS), pseudonymise=salt,
                          confidence=0.9, **EXAMPLE_COLUMNS)
    assert_same(got, json.loads(json.dumps(want.to_dict())))


def test_a_wide_table_one_column_per_officer(client: Any) -> None:
    long = read_table(EXAMPLE, text_columns=list(EXAMPLE_COLUMNS.values()))
    north = long[long["office"] == "North"]
    wide = north.pivot(index="vignette", columns="officer", values="rosh").reset_index()
    flow = Flow(client)
    assert flow.upload("wide.csv", wide.to_csv(index=False).encode()).status_code == 303
    assert flow.through("preview", action="next", wide="1").status_code == 303
    page = client.get(f"{flow.base}/columns").text
    assert 'name="rater"' not in page  # the other columns are the officers
    assert flow.through("columns").status_code == 303
    assert flow.through("levels").status_code == 303
    assert flow.run()["state"] == "done"
    got = flow.summary()
    assert got["meta"]["n_officers"] == north["officer"].nunique()
    assert got["meta"]["n_ratings"] == north["rosh"].notna().sum()


def _xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    pytest.importorskip("openpyxl")
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


@needs_spreadsheets
def test_a_spreadsheet_with_two_sheets(client: Any, tmp_path: Path) -> None:
    frame = read_table(EXAMPLE, text_columns=list(EXAMPLE_COLUMNS.values()))
    path = _xlsx(tmp_path / "ratings.xlsx", {"Notes": pd.DataFrame({"note": []}),
                                             "Ratings": frame})
    flow = Flow(client)
    assert flow.upload("ratings.xlsx", path.read_bytes()).status_code == 303
    # the first sheet has no rows: said in the preview, where the other can be chosen
    page = client.get(f"{flow.base}/preview")
    _no_traceback(page)
    assert "no rows" in page.text and "<select name=\"sheet\"" in page.text
    values = {**form_values(page.text), "sheet": "1", "action": "show"}
    assert flow.post("preview", values).status_code == 303
    assert "V01" in client.get(f"{flow.base}/preview").text
    flow.to_options()
    assert flow.run()["state"] == "done"
    assert_same(flow.summary(), library_summary(EXAMPLE, **EXAMPLE_COLUMNS))


@needs_spreadsheets
def test_a_wide_spreadsheet_whose_second_header_row_holds_the_office(client: Any,
                                                                     tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    long = read_table(EXAMPLE, text_columns=list(EXAMPLE_COLUMNS.values()))
    wide = long.pivot(index="vignette", columns="officer", values="rosh")
    office_of = long.drop_duplicates("officer").set_index("officer")["office"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["vignette", *wide.columns])
    sheet.append(["", *(office_of[o] for o in wide.columns)])
    for case, row in wide.iterrows():
        sheet.append([case, *(None if pd.isna(v) else v for v in row)])
    path = tmp_path / "wide.xlsx"
    book.save(path)
    flow = Flow(client)
    assert flow.upload("wide.xlsx", path.read_bytes()).status_code == 303
    assert flow.through("preview", action="next", wide="1", office_row="1").status_code == 303
    assert flow.through("columns").status_code == 303
    assert flow.through("levels").status_code == 303
    assert flow.run()["state"] == "done"
    got = flow.summary()
    assert got["meta"]["n_offices"] == long["office"].nunique()
    assert got["meta"]["n_officers"] == long["officer"].nunique()
    assert got["meta"]["n_ratings"] == len(long)


@needs_spreadsheets
def test_a_parquet_file(client: Any, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "ratings.parquet"
    read_table(EXAMPLE, text_columns=list(EXAMPLE_COLUMNS.values())).to_parquet(path)
    flow = Flow(client)
    assert flow.upload("ratings.parquet", path.read_bytes()).status_code == 303
    flow.to_options()
    assert flow.run()["state"] == "done"
    assert_same(flow.summary(), library_summary(EXAMPLE, **EXAMPLE_COLUMNS))


# -- the command -----------------------------------------------------------------------------

def test_the_browser_is_opened_only_where_there_is_a_display(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(var, raising=False)
    assert not graphical_browser()  # webbrowser would start lynx in the app's terminal
    monkeypatch.setenv("DISPLAY", ":0")
    assert graphical_browser()


def test_the_options_and_the_host_warning() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.max_upload_mb, args.no_browser) == \
        ("127.0.0.1", 0, 200.0, False)
    assert parser.parse_args(["--no-browser"]).no_browser
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        assert is_loopback(host) and host_warning(host) is None
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.org"):
        assert "warning" in (host_warning(host) or "")


_RUNNER = """
import sys, webbrowser
webbrowser.open = lambda url, *a, **k: print("OPENED", url, flush=True) or True
import argparse
from riskeval.app import add_arguments, run
parser = argparse.ArgumentParser()
add_arguments(parser)
sys.exit(run(parser.parse_args(sys.argv[1:])))
"""


def _status(port: int, host: str) -> int:
    """The status of GET / with this Host header (the server may still be starting)."""
    for _ in range(100):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/", headers={"Host": host})
            return conn.getresponse().status
        except ConnectionRefusedError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise AssertionError("the server did not start")


@pytest.mark.parametrize(("sig", "browser"), [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "sigterm-no-browser"])
def test_run_serves_on_loopback_opens_the_browser_and_cleans_up(tmp_path: Path, sig: int,
                                                                  browser: bool) -> None:
    # $BROWSER: a browser is there to open (webbrowser.open is replaced by a print)
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1", "BROWSER": "true"}
    args = ["--max-upload-mb", "1"] + ([] if browser else ["--no-browser"])
    proc = subprocess.Popen([sys.executable, "-c", _RUNNER, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        text = proc.stdout.readline()
        url = re.search(r"open (http://127\.0\.0\.1:(\d+)/)", text)
        assert url, text + proc.stderr.read()
        folder = Path(re.search(r"kept in (.+) and removed", text).group(1))
        if browser:  # opened once the server is up
            assert proc.stdout.readline() == f"OPENED {url.group(1)}\n"
        port = int(url.group(2))
        assert folder.parent == tmp_path and stat.S_IMODE(folder.stat().st_mode) == 0o700
        for host, code in ((f"127.0.0.1:{port}", 200), (f"localhost:{port}", 200),
                           (f"attacker.example:{port}", 400)):
            assert _status(port, host) == code, host
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 130
        assert "OPENED" not in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []


# -- headless Chromium against the real server ------------------------------------------------

class _Server:
    """The app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, tmp_path: Path) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(upload_limit=5_000_000, workdir=tmp_path,
                              allowed_hosts=[f"127.0.0.1:{self.port}",
                                             f"localhost:{self.port}"])
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture()
def browser(tmp_path: Path) -> Any:
    from _browser import CHROMEDRIVER, CHROMIUM, require_chromium

    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1024", "--disable-background-networking",
                # a name that resolves to this computer: a page reached through it is what a
                # DNS-rebinding attack would load
                "--host-resolver-rules=MAP rebind.test 127.0.0.1",
                "--no-first-run", "--no-default-browser-check"):
        options.add_argument(arg)
    # Chromium keeps its singleton socket in $TMPDIR: a short path (a socket's is limited)
    tmp = tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True)
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "TMPDIR": tmp.name})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Page.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()
        tmp.cleanup()


@pytest.fixture()
def served(tmp_path: Path) -> Any:
    (tmp_path / "work").mkdir()
    server = _Server(tmp_path / "work")
    yield server
    server.stop()


def _click(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, element_id).click()


def test_in_chromium_upload_map_run_read_and_download(browser: Any, served: Any,
                                                      tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    frame = read_table(EXAMPLE, text_columns=list(EXAMPLE_COLUMNS.values()))
    if SPREADSHEETS:
        path = _xlsx(tmp_path / "ratings.xlsx", {"Ratings": frame})
    else:
        path = tmp_path / "ratings.csv"
        path.write_bytes(EXAMPLE.read_bytes())
    driver = browser
    driver.get(served.url + "/")
    driver.find_element(By.ID, "file").send_keys(str(path))
    _click(driver, "upload")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "preview"))
    assert "V01" in driver.find_element(By.ID, "preview").text
    _click(driver, "next")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "col-case"))
    assert Select(driver.find_element(By.ID, "col-rating")).first_selected_option.text == "rosh"
    _click(driver, "next")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "levels"))
    _click(driver, "next")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "run"))
    _click(driver, "run")
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "findings"))
    first = driver.find_element(By.CSS_SELECTOR, "#findings .finding")
    want = library_summary(EXAMPLE, **EXAMPLE_COLUMNS)
    assert first.find_element(By.TAG_NAME, "h3").text == want["findings"][0]["title"]
    assert first.find_element(By.TAG_NAME, "p").text == want["findings"][0]["text"]
    # the saved report.html, in the page's frame
    driver.switch_to.frame(driver.find_element(By.ID, "report"))
    WebDriverWait(driver, 20).until(
        lambda d: want["findings"][0]["title"] in d.find_element(By.TAG_NAME, "body").text)
    driver.switch_to.default_content()
    _click(driver, "download")
    target = driver.downloads / "riskeval-report.zip"
    WebDriverWait(driver, 30).until(lambda d: target.exists() and not list(
        driver.downloads.glob("*.crdownload")))
    with zipfile.ZipFile(target) as zf:
        assert_same(json.loads(zf.read("riskeval-report/summary.json")), want)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    # the report in a tab of its own: its print helper runs (allowed by its hash), nothing
    # is refused
    driver.get(driver.find_element(By.ID, "download").get_attribute("href")
               .replace("/report.zip", "/report.html"))
    assert want["findings"][0]["title"] in driver.find_element(By.TAG_NAME, "body").text
    closed = driver.execute_script(
        "dispatchEvent(new Event('beforeprint'));"
        "return document.querySelectorAll('details:not([open])').length;")
    assert closed == 0
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


def test_in_chromium_a_bad_file_shows_a_message(browser: Any, served: Any,
                                                tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path = tmp_path / "notes.csv"
    path.write_text("case,officer,rating\n", encoding="utf-8")
    browser.get(served.url + "/")
    browser.find_element(By.ID, "file").send_keys(str(path))
    _click(browser, "upload")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".message"))
    text = browser.find_element(By.CSS_SELECTOR, ".message").text
    assert "no rows of ratings" in text and "notes.csv" in text
    assert "Traceback" not in browser.page_source


def test_in_chromium_an_oversized_file_and_a_foreign_host_are_refused(browser: Any, served: Any,
                                                                     tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    big = tmp_path / "big.csv"                  # over the served app's 5 MB limit
    big.write_bytes(b"case,officer,rating\n" + b"v1,a,low\n" * 700_000)
    browser.get(served.url + "/")
    browser.find_element(By.ID, "file").send_keys(str(big))
    _click(browser, "upload")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".message"))
    assert "larger than the limit" in browser.find_element(By.CSS_SELECTOR, ".message").text
    assert not [p for p in served.app.state.folder.rglob("*") if p.is_file()]
    # the same server reached under another name (as after DNS rebinding) answers nothing
    browser.get(f"http://rebind.test:{served.port}/")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "answers only at the address the riskeval app printed" in body
    assert "Upload" not in body and "csrf" not in browser.page_source.lower()
