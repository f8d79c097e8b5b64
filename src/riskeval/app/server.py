"""The web server of ``riskeval app``: sessions, the seven steps' routes, the security checks,
the background audit runs, and :func:`serve` (uvicorn on a loopback port).

Sessions and files: a browser's session is a random id in a cookie (HttpOnly,
SameSite=Strict); each upload in it gets a random id that the step URLs carry
(``/a/<id>/...``), so two tabs of one browser work on their own files, and another session
asking for the same URL gets 404. Everything lives in one private folder (mode 0700) per
app, with a subfolder per session and per upload, under generated names only.

Internal to the app: no public names (``riskeval.app`` holds the entry points).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..audit import check_salt
from ..errors import RiskevalError
from . import pages
from ._upload import UploadError, display_name, receive_upload
from ._work import (
    ENCODINGS,
    PREVIEW_ROWS,
    ROLES,
    Choices,
    Progress,
    audit_frame,
    guess_columns,
    guess_levels,
    is_text_file,
    legacy_text,
    level_values,
    load_table,
    run_audit,
    sheets_of,
    spreadsheets_supported,
    zip_folder,
)

log = logging.getLogger("riskeval.app")

_ID = re.compile(r"[0-9a-f]{32}")
GENERIC = ("something went wrong inside riskeval while doing this (the details are in the "
           "terminal where the app runs); check the file and the choices, or try again")

__all__: list[str] = []


class Forbidden(Exception):
    """A POST without this session's CSRF token, or from another site."""


@dataclass
class Job:
    """One uploaded file and what was chosen and computed for it."""

    id: str
    folder: Path
    upload: Path
    name: str
    sheets: list[str] = field(default_factory=list)
    #: a CSV file (its encoding can be chosen), not a spreadsheet or Parquet file
    text: bool = False
    choices: Choices = field(default_factory=Choices)
    columns: list[str] = field(default_factory=list)
    #: each level's count in the rating column, and in the reference and original columns
    present: dict[str, int] = field(default_factory=dict)
    others: dict[str, int] = field(default_factory=dict)
    candidates: list[str] = field(default_factory=list)
    status: Progress = field(default_factory=Progress)
    result: Any = None
    report: Path | None = None
    zip: Path | None = None
    thread: threading.Thread | None = None
    cache: dict[Any, Any] = field(default_factory=dict)

    def clean(self, message: str) -> str:
        """A message with the stored file's path replaced by the file's own name."""
        for form in (repr(str(self.upload)), str(self.upload)):
            message = message.replace(form, repr(self.name) if form.startswith("'")
                                      else self.name)
        return message.replace(str(self.folder), "(the upload folder)")


@dataclass
class Session:
    id: str
    csrf: str
    folder: Path
    jobs: dict[str, Job] = field(default_factory=dict)


class AppState:
    """The app's sessions and private folder."""

    def __init__(self, *, upload_limit: int, workdir: Path, allowed_hosts: list[str]) -> None:
        self.upload_limit = int(upload_limit)
        self.folder = Path(tempfile.mkdtemp(prefix="riskeval-app-", dir=workdir))
        os.chmod(self.folder, 0o700)
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.origins = {f"http://{h}" for h in self.allowed_hosts}
        # one name per app, so two apps on one machine (other ports) keep their own cookie
        self.cookie = f"riskeval_{secrets.token_hex(4)}"
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self.run_lock = threading.Lock()  # one audit at a time: the machine's cores are shared
        self._cleaned = False

    def cleanup(self) -> None:
        """Remove the private folder and everything in it (safe to call more than once)."""
        if self._cleaned:
            return
        for _ in range(5):  # an audit may still be writing into it
            shutil.rmtree(self.folder, ignore_errors=True)
            if not self.folder.exists():
                break
            time.sleep(0.1)
        self._cleaned = not self.folder.exists()

    def session(self, request: Request) -> tuple[Session, bool]:
        """This request's session, or a new one (True when new: its cookie must be set)."""
        sid = request.cookies.get(self.cookie, "")
        with self.lock:
            found = self.sessions.get(sid) if sid else None
            if found is not None:
                return found, False
            sid = secrets.token_urlsafe(32)
            folder = self.folder / secrets.token_hex(16)
            folder.mkdir(mode=0o700)
            found = Session(sid, secrets.token_urlsafe(32), folder)
            self.sessions[sid] = found
            return found, True

    def existing(self, request: Request) -> Session | None:
        sid = request.cookies.get(self.cookie, "")
        with self.lock:
            return self.sessions.get(sid) if sid else None

    def check_post(self, request: Request, token: str | None) -> Session:
        """The session of a POST whose CSRF token is right and whose origin (when the browser
        names it) is this app; else :class:`Forbidden`."""
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            raise Forbidden
        session = self.existing(request)
        if session is None or not token or not hmac.compare_digest(
                token.encode("utf-8", "replace"), session.csrf.encode()):
            raise Forbidden
        return session


# -- responses ---------------------------------------------------------------------------

def _csp(nonce: str) -> str:
    return (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")


class Page:
    """A response being built: its nonce, and the session cookie to set."""

    def __init__(self, state: AppState, session: Session, new: bool) -> None:
        self.state, self.session, self.new = state, session, new
        self.nonce = secrets.token_urlsafe(16)

    def html(self, text: str, status: int = 200) -> HTMLResponse:
        resp = HTMLResponse(text, status_code=status,
                            headers={"Content-Security-Policy": _csp(self.nonce)})
        return self.finish(resp)

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, resp: Response) -> Response:
        if self.new:
            resp.set_cookie(self.state.cookie, self.session.id, httponly=True,
                            samesite="strict", path="/")
        return resp


def _plain_page(text: str, status: int, title: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    return HTMLResponse(pages.error_page(nonce=nonce, message=text, title=title),
                        status_code=status, headers={"Content-Security-Policy": _csp(nonce)})


def _forbidden() -> HTMLResponse:
    return _plain_page("this form did not come from this page or its session has ended "
                       "(the app was restarted?); reload the page and try again", 403,
                       "Refused")


def _not_found() -> HTMLResponse:
    return _plain_page("there is no such page or file in this session; the app may have been "
                       "restarted, or the files removed", 404, "Not found")


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(fn: Callable[[AppState, Request], Awaitable[Response]],
             state: AppState) -> Handler:
    """A route whose failures are pages: 403 for a bad CSRF token, a message for a
    :class:`RiskevalError`, a generic message (and the traceback in the log) for any other
    error; never a traceback in the page."""

    async def handler(request: Request) -> Response:
        try:
            return await fn(state, request)
        except Forbidden:
            return _forbidden()
        except _NoSuchJob:
            return _not_found()
        except HTTPException:
            raise
        except RiskevalError as exc:
            return _plain_page(_hide_paths(state, str(exc)), 422, "Please check")
        except Exception:
            log.exception("riskeval app: internal error on %s %s", request.method,
                          request.url.path)
            return _plain_page(GENERIC, 500, "Something went wrong")

    return handler


def _hide_paths(state: AppState, message: str) -> str:
    """A message with any path in the app's folder replaced by words (the steps replace
    the uploaded file's path by its name; this is the net under them)."""
    return re.sub(re.escape(str(state.folder)) + r"[^'\"\s]*", "(the uploaded file)",
                  message)


def _job(state: AppState, request: Request) -> tuple[Session, Job] | None:
    session = state.existing(request)
    job_id = request.path_params.get("job", "")
    if session is None or not _ID.fullmatch(job_id):
        return None
    job = session.jobs.get(job_id)
    return (session, job) if job is not None else None


class _NoSuchJob(Exception):
    """No upload of that id in this session (a page of 404, from :func:`_guarded`)."""


def _the_job(state: AppState, request: Request) -> tuple[Session, Job]:
    """The session and upload a request is about, or :class:`_NoSuchJob`."""
    found = _job(state, request)
    if found is None:
        raise _NoSuchJob
    return found


async def _form(state: AppState, request: Request) -> tuple[Session, Any]:
    form = await request.form(max_files=0, max_fields=200)
    token = form.get("csrf")
    session = state.check_post(request, token if isinstance(token, str) else None)
    return session, form


# -- the steps ---------------------------------------------------------------------------

async def home(state: AppState, request: Request) -> Response:
    session, new = state.session(request)
    page = Page(state, session, new)
    return page.html(pages.upload_page(csrf=session.csrf, nonce=page.nonce,
                                       limit_mb=state.upload_limit / 1024 / 1024,
                                       spreadsheets=spreadsheets_supported()))


async def upload(state: AppState, request: Request) -> Response:
    origin = request.headers.get("origin")
    session = state.existing(request)
    if session is None or (origin is not None and origin.lower() not in state.origins):
        return _forbidden()
    job_id = secrets.token_hex(16)
    folder = session.folder / job_id
    folder.mkdir(mode=0o700)
    page = Page(state, session, False)

    def again(message: str, status: int) -> Response:
        shutil.rmtree(folder, ignore_errors=True)
        return page.html(pages.upload_page(
            csrf=session.csrf, nonce=page.nonce, limit_mb=state.upload_limit / 1024 / 1024,
            spreadsheets=spreadsheets_supported(), message=message), status)

    try:
        got = await receive_upload(request.headers.get("content-type", ""), request.stream(),
                                   folder, state.upload_limit)
    except UploadError as exc:
        return again(str(exc), 400)
    token = got.fields.get("csrf")
    if not token or not hmac.compare_digest(token.encode("utf-8", "replace"),
                                            session.csrf.encode()):
        shutil.rmtree(folder, ignore_errors=True)
        return _forbidden()
    if got.too_large:
        return again(f"the file is larger than the limit of "
                     f"{state.upload_limit / 1024 / 1024:.4g} MB; nothing of it was kept "
                     f"(start the app with a larger --max-upload-mb to accept it)", 413)
    if got.path is None or got.size == 0:
        got.discard()
        return again("choose a file to upload (the one sent was empty)", 400)
    job = Job(job_id, folder, got.path, display_name(got.filename))
    try:
        job.sheets = await run_in_threadpool(sheets_of, job.upload)
        if job.sheets:
            job.choices.sheet = job.sheets[0]
        job.text = await run_in_threadpool(is_text_file, job.upload)
        # a file that is not a table is said now, on this page; a sheet that is not, or a
        # CSV file in another encoding, on the preview, where another sheet or encoding is
        # chosen
        if len(job.sheets) < 2 and not (job.text and legacy_text(job.upload)):
            await _table(job)
    except RiskevalError as exc:
        return again(job.clean(str(exc)), 422)
    with state.lock:
        session.jobs[job_id] = job
    return page.redirect(f"/a/{job_id}/preview")


async def _table(job: Job) -> Any:
    """The chosen sheet as read for display (cached)."""
    key = ("show", job.choices.sheet, job.choices.encoding)
    if key not in job.cache:
        frame = await run_in_threadpool(load_table, job.upload, sheet=job.choices.sheet,
                                        encoding=job.choices.encoding)
        job.cache = {key: frame}
        job.columns = [str(c) for c in frame.columns]
    return job.cache[key]


def _base(job: Job) -> str:
    return f"/a/{job.id}"


async def preview(state: AppState, request: Request) -> Response:
    session, job = _the_job(state, request)
    page = Page(state, session, False)
    if request.method == "POST":
        session, form = await _form(state, request)
        ch = job.choices
        sheet = form.get("sheet")
        if sheet is not None and str(sheet).isdigit() and int(sheet) < len(job.sheets):
            if job.sheets[int(sheet)] != ch.sheet:
                ch.sheet = job.sheets[int(sheet)]
                ch.columns = {}
        encoding = form.get("encoding")
        known = {value for value, _ in ENCODINGS}
        if job.text and encoding is not None and encoding in known:
            if (encoding or None) != ch.encoding:
                ch.encoding = encoding or None
                ch.columns = {}
        wide, office_row = form.get("wide") == "1", form.get("office_row") == "1"
        if (wide, office_row) != (ch.wide, ch.office_row):
            ch.columns = {}
        ch.wide, ch.office_row = wide, office_row
        if form.get("action") == "show":
            return page.redirect(f"{_base(job)}/preview")
        return page.redirect(f"{_base(job)}/columns")
    ch = job.choices
    try:
        frame, message, code = await _table(job), "", 200
    except RiskevalError as exc:  # e.g. an empty sheet: said here, another can be chosen
        frame, message, code = None, job.clean(str(exc)), 422
    return page.html(pages.preview_page(
        csrf=session.csrf, nonce=page.nonce, base=_base(job), filename=job.name,
        frame=None if frame is None else frame.head(PREVIEW_ROWS),
        n_rows=None if frame is None else len(frame), sheets=job.sheets, sheet=ch.sheet,
        encodings=ENCODINGS if job.text else (), encoding=ch.encoding or "",
        wide=ch.wide, office_row=ch.office_row, message=message), code)


async def columns(state: AppState, request: Request) -> Response:
    session, job = _the_job(state, request)
    page = Page(state, session, False)
    await _table(job)
    ch = job.choices
    chosen = dict(ch.columns) or guess_columns(job.columns)

    def show(message: str = "", status: int = 200) -> Response:
        return page.html(pages.columns_page(
            csrf=session.csrf, nonce=page.nonce, base=_base(job), roles=ROLES,
            columns=job.columns, chosen=chosen, wide=ch.wide, message=message), status)

    if request.method == "GET":
        return show()
    session, form = await _form(state, request)
    picked: dict[str, str | None] = {}
    for role, _label, _req in ROLES:
        value = form.get(role)
        idx = str(value) if value is not None else ""
        picked[role] = (job.columns[int(idx)] if idx.isdigit() and int(idx) < len(job.columns)
                        else None)
    if ch.wide:
        picked = {r: (picked["case"] if r == "case" else None) for r, _, _ in ROLES}
    chosen = picked
    needed = ["case"] if ch.wide else [r for r, _, req in ROLES if req]
    labels = {r: lab for r, lab, _ in ROLES}
    missing = [labels[r] for r in needed if picked.get(r) is None]
    if missing:
        return show(f"choose a column for: {', '.join(missing)}", 400)
    used = [c for c in picked.values() if c is not None]
    twice = sorted({c for c in used if used.count(c) > 1})
    if twice:
        return show(f"each column can have one role only; {', '.join(map(repr, twice))} "
                    f"is chosen more than once", 400)
    ch.columns = picked
    try:
        present, others = await run_in_threadpool(_present_levels, job)
    except RiskevalError as exc:
        return show(job.clean(str(exc)), 422)
    if not present:
        return show(f"the rating column {picked.get('rating') or 'rating'!r} is empty", 422)
    job.present, job.others = present, others
    values = set(present) | set(others)
    if not (job.candidates and values <= set(job.candidates)):
        job.candidates = guess_levels(sorted(values))
        ch.levels = []
    return page.redirect(f"{_base(job)}/levels")


def _present_levels(job: Job) -> tuple[dict[str, int], dict[str, int]]:
    """How often each level occurs in the rating column, and in the other columns holding
    levels (reference, original rating)."""
    frame, cols = audit_frame(job.upload, job.choices)
    rating = cols["rating"]
    others = [c for c in (cols.get("reference"), cols.get("original"))
              if c and c in frame.columns]
    return level_values(frame, [rating]), level_values(frame, others)


async def levels(state: AppState, request: Request) -> Response:
    session, job = _the_job(state, request)
    page = Page(state, session, False)
    if not job.candidates:
        return page.redirect(f"{_base(job)}/columns")
    ch = job.choices
    order = ch.levels or job.candidates
    column = ch.columns.get("rating") or "rating"

    def show(message: str = "", status: int = 200) -> Response:
        return page.html(pages.levels_page(csrf=session.csrf, nonce=page.nonce,
                                           base=_base(job), levels=order,
                                           present=job.present, others=job.others,
                                           column=column,
                                           message=message), status)

    if request.method == "GET":
        return show()
    session, form = await _form(state, request)
    places = []
    for i in range(len(order)):
        value = str(form.get(f"pos-{i}") or "")
        places.append(int(value) if value.isdigit() else 0)
    if sorted(places) != list(range(1, len(order) + 1)):
        return show("give each level a different place, from 1 (lowest) to "
                    f"{len(order)} (highest)", 400)
    ch.levels = [lev for _, lev in sorted(zip(places, order, strict=True))]
    if ch.high_from not in ch.levels:
        ch.high_from = None
    return page.redirect(f"{_base(job)}/options")


async def options(state: AppState, request: Request) -> Response:
    session, job = _the_job(state, request)
    page = Page(state, session, False)
    ch = job.choices
    if not ch.levels:
        return page.redirect(f"{_base(job)}/levels")
    return page.html(_options_html(session, job, page.nonce))


def _options_html(session: Session, job: Job, nonce: str, message: str = "") -> str:
    ch = job.choices
    return pages.options_page(csrf=session.csrf, nonce=nonce, base=_base(job),
                              levels=ch.levels, confidence=ch.confidence,
                              pseudonymise=ch.pseudonymise,
                              pseudonymise_cases=ch.pseudonymise_cases,
                              high_from=ch.high_from,
                              has_office=bool(ch.columns.get("office")) or ch.office_row,
                              message=message)


async def start(state: AppState, request: Request) -> Response:
    session, job = _the_job(state, request)
    page = Page(state, session, False)
    session, form = await _form(state, request)
    ch = job.choices
    if not ch.levels:
        return page.redirect(f"{_base(job)}/levels")
    ch.pseudonymise = form.get("pseudonymise") == "1"
    ch.pseudonymise_cases = form.get("pseudonymise_cases") == "1"
    high = str(form.get("high_from") or "")
    ch.high_from = ch.levels[int(high)] if high.isdigit() and int(high) < len(ch.levels) \
        else None
    salt = str(form.get("salt") or "").strip() or None
    try:
        confidence = float(str(form.get("confidence") or "0.95"))
    except ValueError:
        confidence = float("nan")
    if not 0.5 <= confidence < 1:
        return page.html(_options_html(session, job, page.nonce,
                                       "the confidence level is a number between 0.5 and "
                                       "1, e.g. 0.95"), 400)
    ch.confidence = confidence
    if ch.pseudonymise_cases and not ch.pseudonymise:
        return page.html(_options_html(session, job, page.nonce,
                                       "coding the case identifiers needs pseudonymisation: "
                                       "tick it too"), 400)
    if ch.pseudonymise and salt is not None:
        try:
            check_salt(salt, "the salt")
        except RiskevalError as exc:
            return page.html(_options_html(session, job, page.nonce, str(exc)), 400)
    if job.status.state in ("waiting", "running"):
        return page.redirect(f"{_base(job)}/progress")
    job.status.set(state="waiting", done=0, label="waiting to start", message="", kind="")
    choices = Choices(**{**ch.__dict__, "columns": dict(ch.columns), "levels": list(ch.levels)})
    job.thread = threading.Thread(target=_work, args=(state, job, choices, salt),
                                  name=f"riskeval-audit-{job.id[:6]}", daemon=True)
    job.thread.start()
    return page.redirect(f"{_base(job)}/progress")


def _work(state: AppState, job: Job, choices: Choices, salt: str | None) -> None:
    """The background run of one audit (one at a time in the app)."""
    status = job.status
    if not state.run_lock.acquire(blocking=False):
        status.set(label="waiting for another audit to finish")
        state.run_lock.acquire()
    try:
        status.set(state="running", label="reading the file", done=0)
        outdir = job.folder / f"report-{secrets.token_hex(8)}"
        result = run_audit(job.upload, choices, outdir, status, salt=salt)
        old, old_zip = job.report, job.zip
        job.report, job.result, job.zip = outdir, result, None
        if old is not None:  # the report of an earlier run, with other options
            shutil.rmtree(old, ignore_errors=True)
        if old_zip is not None:
            old_zip.unlink(missing_ok=True)
        status.set(state="done", done=status.total, label="done")
    except RiskevalError as exc:
        status.set(state="error", kind="input",
                   message=_hide_paths(state, job.clean(str(exc))))
    except Exception:
        if state.folder.exists():  # else the app is stopping and removed the files under it
            log.exception("riskeval app: internal error while auditing")
        status.set(state="error", kind="internal", message=GENERIC)
    finally:
        state.run_lock.release()


async def progress(state: AppState, request: Request) -> Response:
    session, job = _the_job(state, request)
    page = Page(state, session, False)
    st = job.status.as_dict()
    if st["state"] in ("done", "error", "idle"):
        return page.redirect(f"{_base(job)}/report")
    return page.html(pages.progress_page(nonce=page.nonce, base=_base(job), status=st))


async def status(state: AppState, request: Request) -> Response:
    found = _job(state, request)
    if found is None:
        return Response('{"state": "unknown"}', status_code=404, media_type="application/json")
    return Response(pages.status_json(found[1].status.as_dict()),
                    media_type="application/json")


async def report(state: AppState, request: Request) -> Response:
    session, job = _the_job(state, request)
    page = Page(state, session, False)
    st = job.status
    if st.state in ("waiting", "running"):
        return page.redirect(f"{_base(job)}/progress")
    if st.state == "error":
        base = _base(job)
        return page.html(pages.error_page(
            nonce=page.nonce, message=st.message, step=7,
            links=[(f"{base}/columns", "Back to the columns"),
                   (f"{base}/levels", "Back to the levels"),
                   (f"{base}/options", "Back to the options")],
            title="The audit could not be done" if st.kind == "input" else
            "Something went wrong"), 422 if st.kind == "input" else 500)
    if job.result is None:
        return page.redirect(f"{_base(job)}/options" if job.choices.levels
                             else f"{_base(job)}/preview")
    r = job.result
    return page.html(pages.report_page(csrf=session.csrf, nonce=page.nonce, base=_base(job),
                                       filename=job.name, summary=r.summary(),
                                       findings=r.findings, notes=list(r.notes)))


def _report_csp(page: str) -> str:
    """The report's policy: its own inline scripts (the print helper of the library's report,
    allowed by their hashes, nothing else), in a sandbox of its own origin, so that even a
    script there could not read this app's pages or cookie."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL))
    scripts = hashes or "'none'"
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src {scripts}; frame-ancestors 'self'; sandbox allow-scripts")


async def report_html(state: AppState, request: Request) -> Response:
    found = _job(state, request)
    if found is None or found[1].report is None:
        return _not_found()
    path = found[1].report / "report.html"
    if not path.is_file():
        return _not_found()
    page = await run_in_threadpool(path.read_text, encoding="utf-8")
    return HTMLResponse(page, headers={"Content-Security-Policy": _report_csp(page)})


async def report_zip(state: AppState, request: Request) -> Response:
    found = _job(state, request)
    if found is None or found[1].report is None:
        return _not_found()
    job = found[1]
    if job.zip is None or not job.zip.is_file():
        report_dir = job.report
        target = job.folder / f"report-{secrets.token_hex(8)}.zip"
        job.zip = await run_in_threadpool(zip_folder, report_dir, target)
    return FileResponse(job.zip, media_type="application/zip",
                        filename="riskeval-report.zip")


async def delete(state: AppState, request: Request) -> Response:
    session, job = _the_job(state, request)
    session, _form_data = await _form(state, request)
    if job.status.state in ("waiting", "running"):
        raise RiskevalError("the audit of this file is still running; remove the files when "
                            "it has finished")
    with state.lock:
        session.jobs.pop(job.id, None)
    shutil.rmtree(job.folder, ignore_errors=True)
    return Page(state, session, False).redirect("/")


# -- the application ----------------------------------------------------------------------

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class HostCheck:
    """ASGI middleware: 400 for a ``Host`` header that is not one of ``allowed`` (with its
    port; against DNS rebinding), and security headers on every response."""

    def __init__(self, app: Any, allowed: set[str]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
        if host not in self.allowed:
            resp = Response("Bad request: this page answers only at the address the "
                            "riskeval app printed (127.0.0.1 or localhost, with its port).\n",
                            status_code=400, media_type="text/plain; charset=utf-8")
            await resp(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _SECURITY_HEADERS if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy",
                                    b"default-src 'none'; frame-ancestors 'none'"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_app(*, upload_limit: int, workdir: Path, allowed_hosts: list[str]) -> Starlette:
    """The Starlette app (see :func:`riskeval.app.create_app`)."""
    state = AppState(upload_limit=upload_limit, workdir=workdir, allowed_hosts=allowed_hosts)
    atexit.register(state.cleanup)

    def route(path: str, fn: Any, methods: list[str]) -> Route:
        return Route(path, _guarded(fn, state), methods=methods)

    job = "/a/{job:str}"
    routes = [
        route("/", home, ["GET"]),
        route("/upload", upload, ["POST"]),
        route(f"{job}/preview", preview, ["GET", "POST"]),
        route(f"{job}/columns", columns, ["GET", "POST"]),
        route(f"{job}/levels", levels, ["GET", "POST"]),
        route(f"{job}/options", options, ["GET"]),
        route(f"{job}/run", start, ["POST"]),
        route(f"{job}/progress", progress, ["GET"]),
        route(f"{job}/status", status, ["GET"]),
        route(f"{job}/report", report, ["GET"]),
        route(f"{job}/report.html", report_html, ["GET"]),
        route(f"{job}/report.zip", report_zip, ["GET"]),
        route(f"{job}/delete", delete, ["POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        try:
            yield
        finally:
            state.cleanup()

    async def http_error(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 500)
        if code == 404:
            return _not_found()
        return _plain_page(str(getattr(exc, "detail", "")) or "this request is not "
                           "understood here", code, "Refused")

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error})
    app.add_middleware(HostCheck, allowed=state.allowed_hosts)
    app.state.folder = state.folder
    app.state.cleanup = state.cleanup
    app.state.app_state = state
    return app


# -- serving ------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only (127.0.0.0/8, ::1 or localhost).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.5")
    (False, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_warning(host: str) -> str | None:
    """The warning printed when the app listens on an address other computers can reach
    (None for this computer's own addresses).

    Examples
    --------
    >>> host_warning("127.0.0.1") is None
    True
    >>> host_warning("0.0.0.0")[:40]
    'riskeval app: warning: listening on 0.0.'
    """
    if is_loopback(host):
        return None
    return (f"riskeval app: warning: listening on {host}, not on 127.0.0.1: other computers "
            f"that can reach this one may open the page, upload files and read the reports "
            f"(requests are answered only when addressed to 127.0.0.1, localhost, this "
            f"address or a name given with --allow-host). Use the default --host 127.0.0.1 "
            f"unless you mean that.")


def _allowed_hosts(host: str, port: int, extra: list[str]) -> list[str]:
    names = ["127.0.0.1", "localhost"]
    h = host.strip("[]")
    if ":" in h:
        names.append(f"[{h}]")
    elif h not in ("0.0.0.0", ""):
        names.append(h)
    names += extra
    return [f"{n.lower()}:{port}" for n in dict.fromkeys(names)]


def serve(*, host: str, port: int, upload_limit: int, open_browser: bool,
          extra_hosts: list[str]) -> int:
    """Run the app with uvicorn until Ctrl-C or SIGTERM; its folder is removed on the way
    out. Returns 0 (130 when stopped by Ctrl-C)."""
    import uvicorn

    warning = host_warning(host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise RiskevalError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose "
                            f"another --port (or leave it out for a free one)") from None
    port = sock.getsockname()[1]
    app = build_app(upload_limit=upload_limit, workdir=Path(tempfile.gettempdir()),
                    allowed_hosts=_allowed_hosts(host, port, extra_hosts))
    state: AppState = app.state.app_state
    shown = "127.0.0.1" if not is_loopback(host) or host == "localhost" else host.strip("[]")
    url = f"http://{shown if ':' not in shown else f'[{shown}]'}:{port}/"
    print(f"riskeval app: open {url} in a web browser; press Ctrl-C here to stop "
          f"(uploads and reports are kept in {state.folder} and removed then)", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            server_header=False, timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    if open_browser and not graphical_browser():
        print("riskeval app: no graphical web browser here (no display, no $BROWSER): open "
              "the address above in one", file=sys.stderr, flush=True)
    elif open_browser:
        threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()

    def stop(signum: int, frame: Any) -> None:
        server.handle_exit(signal.SIGINT, frame)

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        # uvicorn stops gracefully on SIGINT and SIGTERM and then raises them again: SIGTERM
        # then as Ctrl-C, so the files are removed; a closed terminal (SIGHUP) stops it too
        for sig, handler in ((getattr(signal, "SIGHUP", None), stop),
                             (signal.SIGTERM, interrupt)):
            if sig is not None:
                saved[sig] = signal.signal(sig, handler)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        print("riskeval app: stopped; its files are removed", file=sys.stderr, flush=True)
        return 130
    finally:
        state.cleanup()
        sock.close()
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return 0


def graphical_browser() -> bool:
    """Whether :func:`webbrowser.open` would open a window: not on a Linux machine without a
    display, where it would start a text browser in the terminal the app prints to (unless
    ``$BROWSER`` names one)."""
    if sys.platform in ("darwin", "win32") or os.environ.get("BROWSER"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_when_started(server: Any, url: str) -> None:
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    with contextlib.suppress(Exception):
        webbrowser.open(url)
