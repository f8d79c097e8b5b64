"""Receiving an uploaded file: a multipart body streamed to a generated name, with a size limit
enforced while it streams (nothing of an oversized file is kept)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from python_multipart.multipart import MultipartParser, parse_options_header

#: suffixes kept on the stored file (taken from this list, never from the upload's name)
KNOWN_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".ods", ".parquet")

#: most bytes of the form fields besides the file (the CSRF token and the like)
FIELDS_LIMIT = 64 * 1024

_CHUNK_FIELDS = 16


class UploadError(Exception):
    """The request body is not a form upload this app accepts (the message says why)."""


@dataclass
class Upload:
    """What a form upload held: its text fields and at most one file, already on disk."""

    fields: dict[str, str] = field(default_factory=dict)
    #: the stored file (a generated name in the target folder), or None
    path: Path | None = None
    #: the name the browser gave, for display only (never used as a path)
    filename: str = ""
    size: int = 0
    too_large: bool = False

    def discard(self) -> None:
        """Remove the stored file, if any."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def display_name(filename: str) -> str:
    """The last part of a browser-given file name, for display (still to be escaped).

    Examples
    --------
    >>> display_name("../../etc/passwd"), display_name("C:\\\\Users\\\\me\\\\ratings.csv")
    ('passwd', 'ratings.csv')
    >>> display_name("")
    'upload'
    """
    name = PurePosixPath(filename.replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "upload"


def stored_suffix(filename: str) -> str:
    """A suffix from :data:`KNOWN_SUFFIXES` matching the upload's name, else ``.dat``.

    Examples
    --------
    >>> stored_suffix("Ratings.XLSX"), stored_suffix("x.csv/../../y"), stored_suffix("a.sh")
    ('.xlsx', '.dat', '.dat')
    """
    suffix = PurePosixPath(display_name(filename)).suffix.lower()
    return suffix if suffix in KNOWN_SUFFIXES else ".dat"


async def receive_upload(content_type: str, stream: AsyncIterator[bytes], folder: Path,
                         limit: int) -> Upload:
    """Parse a ``multipart/form-data`` body from ``stream``, writing its file part to a new
    random name in ``folder`` (mode 0600).

    Past ``limit`` bytes of file (or of the whole body, less :data:`FIELDS_LIMIT`) the file
    is removed and the rest of the body read and dropped, so the browser gets the answer
    page; the result then has ``too_large`` set and no file.
    """
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError("expected a file sent by the upload form (multipart/form-data)")
    out = Upload()
    state: dict = {"name": b"", "value": b"", "headers": {}, "field": None, "data": bytearray(),
                   "file": None, "files": 0}

    def on_part_begin() -> None:
        state.update(headers={}, field=None, data=bytearray(), file=None)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["name"].lower()] = state["value"]
        state["name"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["field"] = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in opts:
            state["files"] += 1
            if state["files"] > 1:
                raise UploadError("send one file at a time")
            out.filename = opts[b"filename"].decode("utf-8", "replace")
            path = folder / f"upload-{secrets.token_hex(12)}{stored_suffix(out.filename)}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            state["file"] = os.fdopen(fd, "wb")
            out.path = path

    def on_part_data(data: bytes, start: int, end: int) -> None:
        n = end - start
        if state["file"] is not None:
            out.size += n
            if out.size > limit:
                out.too_large = True
            if not out.too_large:
                state["file"].write(data[start:end])
        else:
            state["data"] += data[start:end]
            if len(state["data"]) > FIELDS_LIMIT:
                raise UploadError("a form field is too long")

    def on_part_end() -> None:
        if state["file"] is not None:
            state["file"].close()
            state["file"] = None
        elif state["field"] is not None:
            out.fields[state["field"]] = bytes(state["data"]).decode("utf-8", "replace")

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data,
        "on_part_end": on_part_end, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished})
    total = 0
    try:
        async for chunk in stream:
            total += len(chunk)
            if out.too_large or total > limit + FIELDS_LIMIT:
                out.too_large = True
                _close(state, out)
                continue  # read and drop the rest, so the browser sees the answer
            parser.write(chunk)
        if not out.too_large:
            parser.finalize()
    except UploadError:
        _close(state, out)
        raise
    except Exception as exc:  # the multipart parser's own errors: a malformed body
        _close(state, out)
        raise UploadError("the upload could not be read (a malformed form body)") from exc
    finally:
        if state["file"] is not None:
            state["file"].close()
    if out.too_large:
        _close(state, out)
    return out


def _close(state: dict, out: Upload) -> None:
    if state["file"] is not None:
        state["file"].close()
        state["file"] = None
    out.discard()
