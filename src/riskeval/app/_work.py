"""What the page does with an uploaded file, apart from HTTP: read it (the spreadsheet readers
of :mod:`riskeval.data.ratings` where this riskeval has them, else CSV), guess which column is
which and the order of the levels, and run the audit as ``riskeval audit`` does, reporting
progress through the audit's own progress bar hook."""

from __future__ import annotations

import codecs
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..audit import audit, new_salt
from ..data import ratings as _ratings
from ..data.ratings import RISK_LEVELS, read_table
from ..errors import RiskevalError

#: the roles of the columns, in the order the page lists them: (role, label, required)
ROLES = (
    ("case", "Case (vignette or person)", True),
    ("rater", "Officer (who rated)", True),
    ("rating", "Rating (the level given)", True),
    ("office", "Office", False),
    ("reference", "Reference level (evidence, panel, actuarial)", False),
    ("occasion", "Occasion (repeat assessments)", False),
    ("year", "Year of the rating", False),
    ("original", "Officer's rating before a manager's review", False),
)

#: words in a column name that suggest each role, strongest first
ROLE_WORDS = {
    "case": ("case", "vignette", "case_id", "id", "person", "crn", "offender"),
    "rater": ("officer", "rater", "assessor", "practitioner", "staff", "pso"),
    "rating": ("rating", "rosh", "risk", "level", "score", "band"),
    "office": ("office", "team", "region", "area", "unit", "site", "pdu"),
    "reference": ("reference", "truth", "evidence", "evidence_level", "panel", "actuarial",
                  "gold"),
    "occasion": ("occasion", "time", "wave", "visit", "round"),
    "year": ("year",),
    "original": ("original", "officer_rating", "before", "initial", "pre_review"),
}

#: the step labels the audit's progress bar reports, and what the page says instead
PREVIEW_ROWS = 10


def _reader(name: str) -> Callable[..., Any] | None:
    """A reader of :mod:`riskeval.data.ratings` that not every riskeval has (``sheet_names``
    and ``wide_to_long`` came with the spreadsheet readers), or None."""
    return getattr(_ratings, name, None)


def spreadsheets_supported() -> bool:
    """Whether this riskeval reads .xlsx, .xlsm, .ods and .parquet files."""
    return _reader("sheet_names") is not None


_ZIP, _PARQUET = b"PK\x03\x04", b"PAR1"


def _binary_kind(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(_ZIP):
        return "a spreadsheet (.xlsx, .xlsm or .ods)"
    if head.startswith(_PARQUET):
        return "a Parquet file"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel file (.xls)"
    return None


def sheets_of(path: Path) -> list[str]:
    """The sheets of a spreadsheet; ``[]`` for a CSV or Parquet file."""
    names_of = _reader("sheet_names")
    if names_of is None:
        return []
    try:
        names = names_of(path)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception:  # a damaged file: reading it says what is wrong
        return []
    return [str(n) for n in names or []]


#: the text encodings the page offers for a CSV file: (value, label); "" is the reader's own
#: choice (UTF-8, or UTF-16 by its byte-order mark)
ENCODINGS = (("", "UTF-8 (or UTF-16 with a byte-order mark)"),
             ("cp1252", "Windows, Western European (cp1252)"),
             ("latin-1", "Latin-1 (ISO 8859-1)"),
             ("utf-16", "UTF-16"))


def is_text_file(path: Path) -> bool:
    """Whether the file is read as CSV text (not a spreadsheet or Parquet file)."""
    kind_of = _reader("file_kind")
    if kind_of is None:
        return _binary_kind(path) is None
    try:
        return kind_of(path) == "csv"
    except RiskevalError:
        return False


def legacy_text(path: Path) -> bool:
    """Whether a CSV file looks like text in another encoding than UTF-8 (a spreadsheet's
    "CSV" on Windows): no zero bytes, and not valid UTF-8. Such a file gets to the preview,
    where its encoding is chosen."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if not head or b"\0" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return True
    return False


def load_table(path: Path, *, sheet: str | None = None,
               text_columns: list[str] | tuple[str, ...] = (),
               encoding: str | None = None) -> pd.DataFrame:
    """The table of an uploaded file as :func:`riskeval.data.ratings.read_table` reads it
    (identifiers in ``text_columns`` as text), the sheet ``sheet`` of a spreadsheet, a CSV
    file in ``encoding`` (default UTF-8).

    A riskeval without the spreadsheet readers reads CSV only and says so for other files.
    Any failure is a :class:`RiskevalError` (a file the page cannot read is the file's
    problem, not the page's).
    """
    text = [c for c in text_columns if c]
    kwargs: dict[str, Any] = {"text_columns": text}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        if spreadsheets_supported():
            if sheet is not None:
                kwargs["sheet"] = sheet
            return read_table(path, **kwargs)
        kind = _binary_kind(path)
        if kind is not None:
            raise RiskevalError(f"this file is {kind}; this version of riskeval reads CSV files "
                                f"only: save the sheet as CSV (UTF-8) and upload that")
        return read_table(path, **kwargs)
    except RiskevalError as exc:
        if encoding is None and legacy_text(path):
            # the reader names its option (encoding='cp1252'); here it is the page's choice
            raise RiskevalError(f"{exc} -- here: choose the file's text encoding below "
                                f"(e.g. Windows, Western European)") from None
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a reader's own error on a damaged or foreign file
        raise RiskevalError(f"the file could not be read as a table ({type(exc).__name__}); "
                            f"expected a CSV file or a spreadsheet with a header row") from exc


def to_long(frame: pd.DataFrame, *, case: str, office_row: bool) -> pd.DataFrame:
    """A wide table (one column per officer) as one row per rating: columns ``case``,
    ``officer``, ``rating`` (and ``office`` when the second header row holds the office)."""
    wide_to_long = _reader("wide_to_long")
    if wide_to_long is None:
        if office_row:
            raise RiskevalError("this version of riskeval cannot read an office from a second "
                                "header row; untick it, or give the file one row per rating")
        long = frame.melt(id_vars=[case], var_name="officer", value_name="rating")
        return long[long["rating"].notna()].reset_index(drop=True)
    return wide_to_long(frame, case=case, rater="officer", rating="rating",
                               office_row=office_row, office="office")


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", name.lower()) if t]


def _score(name: str, words: tuple[str, ...]) -> tuple[int, int] | None:
    """How well a column name matches a role's words: (kind, -word rank), larger better."""
    low = name.strip().lower()
    norm = "_".join(_tokens(name))
    tokens = _tokens(name)
    best = None
    for rank, word in enumerate(words):
        if low == word or norm == word:
            kind = 3
        elif word in tokens:
            kind = 2
        elif len(word) >= 4 and word in norm:
            kind = 1
        else:
            continue
        score = (kind, -rank)
        if best is None or score > best:
            best = score
    return best


def guess_columns(columns: list[str]) -> dict[str, str | None]:
    """The column most likely holding each role (by its name), each column used once.

    Examples
    --------
    >>> guess_columns(["vignette", "officer", "office", "rosh", "evidence_level"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'case': 'vignette', 'rater': 'officer', 'rating': 'rosh', 'office': 'office',
     'reference': 'evidence_level', 'occasion': None, 'year': None, 'original': None}
    """
    used: set[str] = set()
    out: dict[str, str | None] = {}
    for role, _, _ in ROLES:
        scored = [(s, -i, c) for i, c in enumerate(columns) if c not in used
                  and (s := _score(str(c), ROLE_WORDS[role])) is not None]
        if scored:
            col = max(scored)[2]
            out[role] = col
            used.add(col)
        else:
            out[role] = None
    return out


def level_values(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """How often each distinct value of the rating columns occurs, as the audit compares
    them (text without surrounding spaces; a whole number read as 1.0 is ``"1"``).

    Examples
    --------
    >>> level_values(pd.DataFrame({"r": ["low", " high", "low", None]}), ["r"])
    {'high': 1, 'low': 2}
    """
    counts: dict[str, int] = {}
    for col in columns:
        for x, n in frame[col].dropna().value_counts(sort=False).items():
            text = str(int(x)) if isinstance(x, float) and x == int(x) else str(x).strip()
            if text:
                counts[text] = counts.get(text, 0) + int(n)
    return dict(sorted(counts.items()))


def guess_levels(values: list[str]) -> list[str]:
    """A first order of the levels: the four RoSH levels when the values are among them (any
    unused ones too; spelt otherwise, e.g. "Very High", the values in the RoSH order), else
    numbers in numeric order, else text in alphabetical order.

    Examples
    --------
    >>> guess_levels(["high", "low", "medium"])
    ['low', 'medium', 'high', 'very high']
    >>> guess_levels(["High", "Very High", "Low"])
    ['Low', 'High', 'Very High']
    >>> guess_levels(["10", "2", "1"]), guess_levels(["b", "a"])
    (['1', '2', '10'], ['a', 'b'])
    """
    if values and set(values) <= set(RISK_LEVELS):
        return list(RISK_LEVELS)
    rank = {lev.casefold(): i for i, lev in enumerate(RISK_LEVELS)}
    if values and all(" ".join(v.split()).casefold() in rank for v in values):
        return sorted(values, key=lambda v: (rank[" ".join(v.split()).casefold()], v))
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values, key=lambda v: (v.lower(), v))


@dataclass
class Progress:
    """The state of one audit run, read by the status URL (updated from the worker thread)."""

    state: str = "idle"   # idle, waiting, running, done, error
    done: int = 0
    total: int = 9
    label: str = ""
    message: str = ""
    #: "input" for a problem with the file or the choices (RiskevalError), "internal" else
    kind: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {"state": self.state, "done": self.done, "total": self.total,
                    "label": self.label, "message": self.message if self.state == "error"
                    else ""}

    def set(self, **kw: Any) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, v)


# -- the audit's progress bar, routed to the Progress of the thread running it -------------

_local = threading.local()
_hook_lock = threading.Lock()
_hook_users = 0
_hook_saved: Any = None


class _StatusBar:
    """Stands in for the tqdm bar the audit makes (``set_postfix_str`` names each step,
    ``update`` counts it) and writes into a :class:`Progress`."""

    def __init__(self, status: Progress, total: int | None = None, **_: Any) -> None:
        self.status = status
        self.n = 0
        status.set(total=int(total or 1), done=0)

    def set_postfix_str(self, label: str, refresh: bool = True) -> None:
        self.status.set(label=str(label))

    def update(self, n: int = 1) -> None:
        self.n += n
        self.status.set(done=self.n)

    def close(self) -> None:
        pass

    def __enter__(self) -> _StatusBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@contextmanager
def _progress_hook(status: Progress) -> Iterator[None]:
    """While the block runs in this thread, progress bars that riskeval makes with
    ``tqdm.auto.tqdm`` (the audit's ``progress=True``, as the command line shows it) report
    to ``status``; bars made in other threads are untouched."""
    global _hook_users, _hook_saved
    import tqdm.auto

    with _hook_lock:
        if _hook_users == 0:
            original = tqdm.auto.tqdm

            class _Routed(original):  # type: ignore[misc, valid-type]
                def __new__(cls, *args: Any, **kwargs: Any) -> Any:
                    target = getattr(_local, "status", None)
                    if target is not None:
                        return _StatusBar(target, total=kwargs.get("total"))
                    return original(*args, **kwargs)

            _hook_saved = original
            tqdm.auto.tqdm = _Routed
        _hook_users += 1
    _local.status = status
    try:
        yield
    finally:
        _local.status = None
        with _hook_lock:
            _hook_users -= 1
            if _hook_users == 0:
                tqdm.auto.tqdm = _hook_saved
                _hook_saved = None


@dataclass
class Choices:
    """Everything the user chose in the page, as ``riskeval audit``'s options."""

    sheet: str | None = None
    encoding: str | None = None
    wide: bool = False
    office_row: bool = False
    columns: dict[str, str | None] = field(default_factory=dict)
    levels: list[str] = field(default_factory=list)
    confidence: float = 0.95
    pseudonymise: bool = False
    pseudonymise_cases: bool = False
    high_from: str | None = None


def audit_frame(path: Path, choices: Choices) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """The table to audit and its columns by role: the file read as ``riskeval audit`` reads
    it (identifiers and levels as text), turned long when it has one column per officer."""
    cols = dict(choices.columns)
    if choices.wide:
        first = load_table(path, sheet=choices.sheet, encoding=choices.encoding)
        frame = load_table(path, sheet=choices.sheet, text_columns=[str(c) for c in first],
                           encoding=choices.encoding)
        frame = to_long(frame, case=str(cols["case"]), office_row=choices.office_row)
        roles: dict[str, str | None] = {r: None for r, _, _ in ROLES}
        roles.update(case=cols["case"], rater="officer", rating="rating",
                     office="office" if choices.office_row else None)
        return frame, roles
    text = [cols.get(r) for r in ("case", "rater", "office", "occasion", "rating",
                                  "reference", "original")]
    frame = load_table(path, sheet=choices.sheet, text_columns=[c for c in text if c],
                       encoding=choices.encoding)
    return frame, cols


def run_audit(path: Path, choices: Choices, outdir: Path, status: Progress,
              salt: str | None = None) -> Any:
    """Run the audit of the uploaded file with the user's choices and save its report into
    ``outdir``, as ``riskeval audit`` does; progress goes to ``status``.

    ``salt`` pseudonymises officers and offices (cases too with
    ``choices.pseudonymise_cases``); with ``choices.pseudonymise`` and no salt, a new random
    salt is used (the codes then match no other audit).
    """
    frame, cols = audit_frame(path, choices)
    office = cols.get("office")
    if office is not None and office in frame.columns:
        _one_office(frame[office], office)
    if choices.pseudonymise and not salt:
        salt = new_salt()
    if not choices.pseudonymise:
        salt = None
    levels = list(choices.levels) or list(RISK_LEVELS)
    if choices.high_from is not None and choices.high_from not in levels:
        raise RiskevalError(f"the level from which a rating counts as high "
                            f"({choices.high_from!r}) is not one of the levels {levels!r}")
    with _progress_hook(status):
        result = audit(frame, case=cols["case"], rater=cols["rater"], rating=cols["rating"],
                       office=office, reference=cols.get("reference"),
                       occasion=cols.get("occasion"), original=cols.get("original"),
                       year=cols.get("year"), categories=levels, high_from=choices.high_from,
                       confidence=choices.confidence, pseudonymise=salt,
                       pseudonymise_cases=bool(salt) and choices.pseudonymise_cases,
                       progress=True)
    status.set(label="writing the report")
    result.save(outdir)
    return result


def _one_office(col: pd.Series, name: str) -> None:
    """One office in the file: the same message as ``riskeval audit`` gives, in the page's
    words (the office variance and the funnel compare offices)."""
    offices = col.dropna().astype(str).str.strip()
    offices = offices[offices != ""].unique()
    if len(offices) == 1:
        raise RiskevalError(
            f"only one office ({offices[0]!r}) in column {name!r}: offices cannot be compared; "
            f"choose no office column to audit its officers, or add the ratings of other "
            f"offices")


def zip_folder(folder: Path, target: Path, top: str = "riskeval-report") -> Path:
    """Write every file under ``folder`` (hidden files left out) into the zip ``target``,
    under the folder name ``top``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    tmp = target.with_name(target.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            zf.write(p, f"{top}/{p.relative_to(folder).as_posix()}")
    tmp.replace(target)
    return target
