"""``riskeval app``: the consistency audit as a local web page, for inspectors who do not use a
terminal.

The page walks through seven steps, one server-rendered HTML form each: upload a ratings file
(CSV, or a spreadsheet or Parquet file once :mod:`riskeval.data.ratings` reads them), look at
its first rows (choose a sheet; a table with one column per officer), say which column is
which (prefilled from the column names), put the levels in order, choose the options
(pseudonymisation with a secret salt, the confidence level), run the audit with a progress
indicator, and read the report in the page or download the whole report folder as a zip.
The audit is the one ``riskeval audit`` runs, with the same library calls
(:func:`riskeval.audit.audit`, :meth:`riskeval.audit.Audit.save`).

Why Starlette (with uvicorn and python-multipart, the optional extra ``riskeval[app]``):
Starlette is small, well kept and ASGI, comes with a test client, and needs no template engine
or JavaScript framework: the pages are plain HTML strings built (and escaped) in Python, and
the only script is a few lines polling the progress of a running audit. Nothing is fetched
from the network: no CDN, no fonts, no analytics.

Security, for a page that holds officers' ratings:

- the server listens on 127.0.0.1 on a free port by default (another ``--host`` prints a
  warning) and accepts only requests whose ``Host`` header is ``127.0.0.1:PORT`` or
  ``localhost:PORT`` (a defence against DNS rebinding; others get 400);
- each browser gets a random session id in a cookie (HttpOnly, SameSite=Strict), each upload
  a random id within its session; a session sees only its own uploads and reports;
- every form carries the session's random CSRF token, checked on every POST (403 without it);
- uploads are limited in size while they stream in (``--max-upload-mb``; 413 and a message);
- uploads and reports live in a private temporary folder (mode 0700), stored under generated
  names (the file's own name is only shown, escaped), and removed when the app stops, also
  on Ctrl-C;
- every string shown in a page is HTML-escaped; a file that cannot be audited gives a message
  in the page, never a traceback.

The server itself (:func:`create_app`) needs the extra; :func:`add_arguments` does not, so
the command line can list the options without it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import RiskevalError

__all__ = ["DEFAULT_MAX_UPLOAD_MB", "add_arguments", "create_app", "run"]

#: default upload limit of ``riskeval app``, in megabytes (``--max-upload-mb``)
DEFAULT_MAX_UPLOAD_MB = 200

_MISSING_EXTRA = ("riskeval app needs the optional packages of the app extra (starlette, "
                  "uvicorn, python-multipart): install them with "
                  "pip install 'riskeval[app]'")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``riskeval app`` to ``parser``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="riskeval app")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["--no-browser", "--max-upload-mb", "50"])
    >>> args.host, args.port, args.max_upload_mb, args.no_browser
    ('127.0.0.1', 0, 50.0, True)
    """
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this computer only; "
                             "any other address lets other computers reach the page and its "
                             "reports, and prints a warning)")
    parser.add_argument("--port", type=int, default=0,
                        help="port to listen on (default 0: a free port)")
    parser.add_argument("--max-upload-mb", type=float, default=float(DEFAULT_MAX_UPLOAD_MB),
                        metavar="MB",
                        help=f"largest file accepted, in megabytes (default "
                             f"{DEFAULT_MAX_UPLOAD_MB})")
    parser.add_argument("--allow-host", action="append", default=None, metavar="NAME",
                        help="also accept requests addressed to NAME:PORT (e.g. the "
                             "machine's name with --host 0.0.0.0); repeat for several")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open the page in a web browser")


def create_app(*, upload_limit: int, workdir: Path, allowed_hosts: list[str]) -> Any:
    """The Starlette application of ``riskeval app``.

    Parameters
    ----------
    upload_limit : int
        Largest upload accepted, in bytes.
    workdir : path
        Folder in which the app makes its private folder (mode 0700) for uploads and
        reports; that folder (``app.state.folder``) is removed when the app shuts down or
        the process exits.
    allowed_hosts : list of str
        Accepted ``Host`` headers, with their port (``"127.0.0.1:8765"``); any other gets 400.

    Returns
    -------
    starlette.applications.Starlette

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> app = create_app(upload_limit=10_000_000, workdir=Path(tempfile.gettempdir()),
    ...                  allowed_hosts=["127.0.0.1:8765", "localhost:8765"])
    >>> oct(app.state.folder.stat().st_mode & 0o777)
    '0o700'
    >>> app.state.cleanup()
    >>> app.state.folder.exists()
    False
    """
    try:
        from .server import build_app
    except ImportError as exc:  # pragma: no cover - the extra is installed in the tests
        raise RiskevalError(_MISSING_EXTRA) from exc
    return build_app(upload_limit=upload_limit, workdir=Path(workdir),
                     allowed_hosts=list(allowed_hosts))


def run(args: argparse.Namespace) -> int:
    """Start ``riskeval app`` with the options of :func:`add_arguments`; returns the exit code
    when the server stops (0; Ctrl-C and SIGTERM stop it after removing its files).

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="riskeval app")
    >>> add_arguments(parser)
    >>> run(parser.parse_args(["--max-upload-mb", "0"]))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    riskeval.errors.RiskevalError: --max-upload-mb must be above 0; got 0.0
    """
    if not args.max_upload_mb > 0:
        raise RiskevalError(f"--max-upload-mb must be above 0; got {args.max_upload_mb}")
    if not 0 <= args.port <= 65535:
        raise RiskevalError(f"--port must be between 0 and 65535; got {args.port}")
    try:
        from .server import serve
    except ImportError as exc:
        raise RiskevalError(_MISSING_EXTRA) from exc
    return serve(host=args.host, port=args.port,
                 upload_limit=int(args.max_upload_mb * 1024 * 1024),
                 open_browser=not args.no_browser, extra_hosts=args.allow_host or [])
