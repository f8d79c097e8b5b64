"""The ``riskeval`` command-line tool.

Exit codes: 0 success, 2 bad input (a one-line message naming the problem: also a file that
cannot be read or an output folder that cannot be written, found before any computation),
1 internal error, 130 interrupted (Ctrl-C or SIGTERM; a report being written is not left
half-written), 141 output pipe closed by the reader (``riskeval agreement --json | head``:
no traceback, as other Unix tools).

Warnings: riskeval's own are one-line ``riskeval: note:`` messages on stderr (no file paths);
``--quiet`` silences every warning, including those of pandas and matplotlib. Progress: a bar
on a terminal; one plain line per step when stderr is a file or a pipe (logs, ``make demo``).

JSON output (``agreement --json``, ``demo --json``): a value that is not defined on the data
(NaN) is ``null`` and its row's ``note`` says why; an infinite interval limit (the lower limit
of a k-rater ICC, which has no lower bound) is the string ``"-inf"`` (``"inf"`` above), since
JSON has no infinity. Every other number is a JSON number.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import signal
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ._core.safecsv import write_csv
from ._version import __version__
from .agreement import agreement_summary, by_group, gwet_ac, krippendorff_alpha
from .agreement._result import EstimatesTable
from .data.ratings import (
    RISK_LEVELS,
    Ratings,
    _read_wide,
    read_ratings,
    read_table,
    sheet_names,
)
from .errors import RiskevalError, RiskevalTypeError, RiskevalWarning, command_line_options
from .world import engine as simulate
from .world import scenarios

_AGREEMENT_EXAMPLE = """example:
  riskeval agreement ratings.csv --case vignette --rater officer --rating rosh \\
      --categories "low,medium,high,very high" --level ordinal --office office
"""

__all__ = ["main"]


_AUDIT_EXAMPLE = """example:
  riskeval audit ratings.csv --case vignette --rater officer --rating rosh \\
      --office office --reference evidence_level \\
      --categories "low,medium,high,very high" -o audit-2026/
"""

_ENCODING_HELP = ("text encoding of a CSV file (default UTF-8; UTF-16 is recognised by its "
                  "byte-order mark); e.g. cp1252 for a CSV saved by Excel on Windows")
_DELIMITER_HELP = ("column delimiter of a CSV file (default: a comma, or semicolons or tabs "
                   "when the header line has no comma); '\\t' for tabs")
_SHEET_HELP = ("the sheet of a spreadsheet to read, by name or by position counting from 0 "
               "(default: the first sheet)")
_WIDE_HELP = ("the file is wide: one row per case and one column per officer (the column's "
              "header is the officer's identifier; an empty cell is not rated); --case names "
              "the case column, --rater and --rating name the columns made from it (default "
              "officer and rating)")
_OFFICE_ROW_HELP = ("with --wide: the first row under the header gives each officer column's "
                    "office (named --office, default office)")
_FORMATS = ("The file may be a CSV file, a spreadsheet (.xlsx, .xlsm, .ods; choose the sheet "
            "with --sheet) or a Parquet file, recognised by its content, in the long layout "
            "(one row per rating) or wide (--wide: one row per case, one column per officer).")
_FILE_HELP = ("ratings file: CSV, spreadsheet (.xlsx, .xlsm, .ods) or Parquet (read only; "
              "never modified)")
_CATEGORIES_HELP = ('ordered categories, lowest first, separated by commas, e.g. '
                    '"low,medium,high,very high"; quote a label that holds a comma: '
                    '\'"low, but watch",medium,high\' (or give --category once per label)')
_CATEGORY_HELP = "one category; repeat, lowest first (--category low --category medium ...)"

_JSON_HELP = ("print JSON for machines; a value not defined on the data is null (the row's "
              "note says why), an infinite interval limit is the string \"-inf\" or \"inf\" "
              "(JSON has no infinity)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskeval",
        description="Agreement and variation in probation officers' risk assessments.",
    )
    parser.add_argument("--version", action="version", version=f"riskeval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    agr = sub.add_parser(
        "agreement", help="every agreement coefficient, with confidence intervals",
        description="Read a ratings file (one row per case and rater) and print every "
                    "agreement coefficient suited to the level of measurement, with intervals. "
                    "Identifiers (case, rater, office) are read as text, so 0001 and 1 are "
                    "two cases, and stripped of surrounding spaces; only an empty cell is "
                    "missing (NA or None is text). " + _FORMATS,
        epilog=_AGREEMENT_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    agr.add_argument("file", help=_FILE_HELP)
    agr.add_argument("--case", required=True, help="column identifying the case (vignette)")
    agr.add_argument("--rater", default=None,
                     help="column identifying the rater (officer); required unless --wide")
    agr.add_argument("--rating", default=None,
                     help="column holding the rating; required unless --wide")
    agr.add_argument("--categories", default=None, help=_CATEGORIES_HELP)
    agr.add_argument("--category", action="append", default=None, metavar="LABEL",
                     help=_CATEGORY_HELP)
    agr.add_argument("--delimiter", default=None, help=_DELIMITER_HELP)
    agr.add_argument("--encoding", default=None, help=_ENCODING_HELP)
    _layout_options(agr)
    agr.add_argument("--level", default="ordinal",
                     choices=["nominal", "ordinal", "interval", "ratio"],
                     help="level of measurement (default: ordinal)")
    agr.add_argument("--office", default=None,
                     help="column of the rater's office: adds a per-office breakdown, and "
                          "officers are identified within their office (officer 3 of two "
                          "offices is two officers, labelled 'office / 3')")
    agr.add_argument("--confidence", type=float, default=0.95, help="confidence level")
    agr.add_argument("--json", action="store_true", help=_JSON_HELP)

    aud = sub.add_parser(
        "audit", help="the complete consistency audit: report.html, tables, summary.json",
        description="Audit the consistency of officers' ratings of the same cases: agreement "
                    "with intervals (overall, per office, between pairs of officers), office / "
                    "officer / case variance shares, offices compared on a funnel plot, and - "
                    "with a reference - the direction of disagreement. Writes report.html "
                    "(self-contained), summary.json, tables/*.csv and figures/*.png. "
                    "Identifiers (case, officer, office, occasion) are read as text, so 0001 "
                    "and 1 are two cases, and stripped of surrounding spaces; only an empty "
                    "cell is missing (NA or None is text). " + _FORMATS,
        epilog=_AUDIT_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    aud.add_argument("file", help=_FILE_HELP)
    aud.add_argument("--case", required=True, help="column identifying the case (vignette)")
    aud.add_argument("--rater", default=None,
                     help="column identifying the officer; required unless --wide")
    aud.add_argument("--rating", default=None,
                     help="column holding the rating; required unless --wide")
    aud.add_argument("--office", default=None,
                     help="column of the officer's office; officers are then identified "
                          "within their office (officer 3 of two offices is two officers, "
                          "labelled 'office / 3')")
    aud.add_argument("--reference", default=None,
                     help="column of a reference level (evidence-based, actuarial, panel)")
    aud.add_argument("--occasion", default=None, help="column of the assessment occasion")
    aud.add_argument("--original", default=None,
                     help="column of the officer's rating before a manager's review")
    aud.add_argument("--year", default=None, help="column of the calendar year of the rating")
    aud.add_argument("--categories", default=None,
                     help=_CATEGORIES_HELP + ' (default "low,medium,high,very high")')
    aud.add_argument("--category", action="append", default=None, metavar="LABEL",
                     help=_CATEGORY_HELP)
    aud.add_argument("--high-from", default=None,
                     help="level from which a rating counts as high in the funnel plot "
                          "(default: the second highest level)")
    aud.add_argument("--delimiter", default=None, help=_DELIMITER_HELP)
    aud.add_argument("--encoding", default=None, help=_ENCODING_HELP)
    _layout_options(aud)
    aud.add_argument("--confidence", type=float, default=0.95, help="confidence level")
    salt = aud.add_mutually_exclusive_group()
    salt.add_argument("--pseudonymise", metavar="SALT", default=None,
                      help="replace officer and office identifiers by stable codes keyed by "
                           "this secret salt (at least 16 characters); a salt on the command "
                           "line is visible in ps and kept in shell history: prefer "
                           "--salt-env or --salt-file")
    salt.add_argument("--salt-env", metavar="VAR", nargs="?", const="RISKEVAL_SALT",
                      default=None,
                      help="pseudonymise with the salt in environment variable VAR "
                           "(default RISKEVAL_SALT)")
    salt.add_argument("--salt-file", metavar="FILE", default=None,
                      help="pseudonymise with the salt held in FILE")
    aud.add_argument("--pseudonymise-cases", action="store_true",
                     help="code case identifiers too (real double-assessed cases); needs a "
                          "salt")
    aud.add_argument("--no-ordinal", action="store_true",
                     help="skip the ordinal mixed model (it is skipped anyway above 50,000 "
                          "ratings)")
    aud.add_argument("--case-attributes", default=None, metavar="COLS",
                     help="columns describing each case, separated by commas (e.g. "
                          "offence_type,openness): each officer's differential severity by "
                          "each, in the rater-effects section")
    aud.add_argument("--no-rater-effects", action="store_true",
                     help="skip the rater-effects section (many-facet Rasch analysis; it is "
                          "skipped anyway above 500,000 ratings)")
    aud.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                     help="folder to write the report into (must be new or empty)")
    aud.add_argument("--force", action="store_true",
                     help="replace an earlier riskeval report in OUTDIR (never other files)")
    aud.add_argument("--quiet", action="store_true", help="no progress bar or summary")

    demo = sub.add_parser(
        "demo", help="simulate the six-office study and write its audit",
        description="Simulate the six-office vignette study (6 offices x 8 officers rating 24 "
                    "synthetic vignettes, every mechanism of variation on), audit it, write "
                    "the report to ./riskeval-demo/ (or OUTDIR) and print a five-line summary.",
        epilog="example:\n  riskeval demo --seed 1 -o riskeval-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--seed", type=int, default=1, help="seed of the simulated ratings")
    demo.add_argument("-o", "--output", default="riskeval-demo", metavar="OUTDIR",
                      help="folder for the report (default ./riskeval-demo; a previous demo "
                           "report there is replaced)")
    demo.add_argument("--json", action="store_true",
                      help="print the agreement summary as JSON instead (writes no report); "
                           + _JSON_HELP[len("print JSON for machines; "):])
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    dg = sub.add_parser(
        "diagnose", help="diagnose a planned study by simulation",
        description="Simulate a planned study many times and write its diagnosis -- bias, "
                    "RMSE, coverage, interval width and power of each estimator, each with its "
                    "Monte Carlo SE -- as diagnosis.csv and diagnosis.png. Designs: 'rater' "
                    "(officers rate the same vignettes; ICC(2,1) and Krippendorff's alpha), "
                    "'world' (offices x officers x vignettes in a simulated world; the crossed "
                    "mixed model's office and officer variances and experience effect), "
                    "'training' (trained vs untrained officers on ICC(3,1), accuracy and "
                    "inflation) and 'skills' (a randomised skills-training trial; the "
                    "difference in reconviction).",
        epilog="examples:\n"
               "  riskeval diagnose --raters 30 --cases 20 --icc 0.6 --null-icc 0.4 "
               "--n-sims 1000 --jobs 2 -o plan/\n"
               "  riskeval diagnose --design world --offices 10 --officers 6 --cases 30 "
               "--n-sims 200 -o plan-world/\n"
               "  riskeval diagnose --design training --offices 6 --officers 8 --cases 24 "
               "--noise-factor 0.6 --n-sims 200 -o plan-training/\n"
               "  riskeval diagnose --design skills --officers 200 --supervisees 25 "
               "--training-shift 0.5 --n-sims 200 -o plan-trial/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dg.add_argument("--design", choices=("rater", "world", "training", "skills"),
                    default="rater", help="which study to diagnose (default rater)")
    dg.add_argument("--raters", type=int, help="rater: officers in the study")
    dg.add_argument("--cases", type=int,
                    help="rater, world, training: vignettes each officer rates")
    dg.add_argument("--icc", type=float, default=0.6,
                    help="rater: true ICC to simulate (default 0.6)")
    dg.add_argument("--rater-share", type=float, default=0.1,
                    help="rater: share of variance from officers' severity (default 0.1)")
    dg.add_argument("--null-icc", type=float, default=None, metavar="ICC",
                    help="rater: also test ICC(2,1) = ICC against a larger value; power is the "
                         "chance of showing agreement above it (e.g. 0.4)")
    dg.add_argument("--levels", action="store_true",
                    help="rater: record four ordered levels instead of scores")
    dg.add_argument("--offices", type=int, help="world, training: offices")
    dg.add_argument("--officers", type=int,
                    help="world, training: officers per office; skills: officers in the trial")
    dg.add_argument("--per-officer", type=int, default=None, metavar="K",
                    help="world: each officer rates only K of the vignettes")
    dg.add_argument("--noise-factor", type=float, default=1.0,
                    help="training: trained officers' noise multiplier (default 1: no effect)")
    dg.add_argument("--inflation-factor", type=float, default=1.0,
                    help="training: trained officers' inflation multiplier (default 1)")
    dg.add_argument("--actuarial-shift", type=float, default=0.0,
                    help="training: added to trained officers' actuarial weight (default 0)")
    dg.add_argument("--supervisees", type=int, help="skills: supervisees per officer")
    dg.add_argument("--training-shift", type=float, default=0.5,
                    help="skills: SD by which training raises both skills (default 0.5)")
    dg.add_argument("--n-sims", type=int, default=1000, help="simulated studies (default 1000)")
    dg.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    dg.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    dg.add_argument("--checkpoint", default=None,
                    help="CSV file to save progress to and resume from")
    dg.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder to write")
    dg.add_argument("--force", action="store_true", help="write into a non-empty OUTDIR")
    dg.add_argument("--quiet", action="store_true", help="no progress bar")

    vig = sub.add_parser(
        "vignettes", help="write a printable vignette pack and a blank rating sheet",
        description="Draw synthetic cases, write their narratives (Markdown and HTML), the "
                    "case table and a blank rating sheet (CSV) whose columns `riskeval audit` "
                    "reads back.",
        epilog="example:\n  riskeval vignettes --n 24 --seed 1 -o pack/\n"
               "  # after officers fill in pack/rating_sheet.csv:\n"
               "  riskeval audit pack/rating_sheet.csv --case case --rater officer "
               "--rating rating --office office -o audit/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    vig.add_argument("--n", type=int, default=24, help="number of vignettes (default 24)")
    vig.add_argument("--seed", type=int, default=1, help="seed of the cases and their wording")
    vig.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder to write")
    vig.add_argument("--force", action="store_true",
                     help="write into OUTDIR even if it is not empty")

    from .app import add_arguments as app_arguments

    app = sub.add_parser(
        "app", help="the audit as a local web page (for inspectors: no command line needed)",
        description="Start a small web server on this computer and open the audit page in "
                    "your browser: upload a spreadsheet or CSV, say which column is which, "
                    "put the levels in order, run, read the report and download it as a zip. "
                    "Uploads and reports stay in a private temporary folder, removed when the "
                    "app stops (Ctrl-C). Needs the app extra: pip install 'riskeval[app]'.",
        epilog="example:\n  riskeval app\n  riskeval app --no-browser --port 8765",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    app_arguments(app)
    return parser


def _layout_options(command: argparse.ArgumentParser) -> None:
    """--sheet, --wide and --office-row, for a command that reads a ratings file."""
    command.add_argument("--sheet", default=None, metavar="NAME", help=_SHEET_HELP)
    command.add_argument("--wide", action="store_true", help=_WIDE_HELP)
    command.add_argument("--office-row", action="store_true", help=_OFFICE_ROW_HELP)


def _layout(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """The columns a layout needs: --rater and --rating for a long file (as argparse says of
    a missing option); their defaults for a wide one, where they name the columns made."""
    if args.wide:
        args.rater = args.rater or "officer"
        args.rating = args.rating or "rating"
        return
    missing = [f"--{n}" for n in ("rater", "rating") if getattr(args, n) is None]
    if missing:
        command.error(f"the following arguments are required: {', '.join(missing)}")
    if args.office_row:
        raise RiskevalError("--office-row is for a wide file (add --wide); in a long file "
                            "give the office column with --office")


def _sheet(file: str, sheet: str | None) -> str | int | None:
    """--sheet as read_table takes it: a sheet's name, or a position when the workbook has
    no sheet of that name and it is a whole number."""
    if sheet is None:
        return None
    with contextlib.suppress(RiskevalError):
        if sheet not in sheet_names(file) and sheet.strip().isdigit():
            return int(sheet.strip())
    return sheet


def _categories(args: argparse.Namespace) -> list[str] | None:
    """The categories of ``--categories`` (read as one CSV line, so a quoted label may hold a
    comma) or of repeated ``--category`` options; None when neither is given."""
    if args.categories is not None and args.category:
        raise RiskevalError("give the categories once: --categories or --category, not both")
    if args.category:
        labels = [c.strip() for c in args.category]
        given = " ".join(f"--category {c!r}" for c in args.category)
    elif args.categories is not None:
        try:
            rows = list(csv.reader([args.categories], skipinitialspace=True, strict=True))
        except csv.Error as exc:
            raise RiskevalError(f"--categories {args.categories!r} cannot be read: {exc}; "
                                f"quote a label that holds a comma, e.g. "
                                f"'\"low, but watch\",medium,high'") from None
        labels = [c.strip() for c in (rows[0] if rows else [])]
        given = f"--categories {args.categories!r}"
    else:
        return None
    if any(c == "" for c in labels):
        raise RiskevalError(f"{given} contains an empty label; expected labels lowest first, "
                            f"e.g. --categories 'low,medium,high,very high'")
    if len(labels) < 2:
        raise RiskevalError(f"{given}: at least two categories are needed, lowest first")
    return labels


def _agreement(file: str, case: str, rater: str, rating: str, categories: Any, level: str,
               office: str | None, confidence: float, *, sep: str | None = None,
               encoding: str | None = None, sheet: str | None = None, wide: bool = False,
               office_row: bool = False) -> dict[str, Any]:
    numeric = level in ("interval", "ratio") and categories is None
    layout = {"layout": "wide", "office_row": office_row} if wide else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_ratings(file, case=case, rater=rater, rating=rating, office=office,
                             categories=categories, numeric=numeric, sep=sep,
                             encoding=encoding, sheet=_sheet(file, sheet), **layout)
    out = _summarise(frame, file, categories, level, confidence)
    out["warnings"] = sorted({str(w.message) for w in caught} | set(out["warnings"]))
    return out


def _summarise(ratings: Ratings, label: str, categories: Any, level: str,
               confidence: float) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = agreement_summary(ratings, categories=categories, level=level,
                                  confidence=confidence)
        offices = None
        if ratings.n_offices is not None:
            per = []
            coefs = [(krippendorff_alpha, {"level": level}, f"Krippendorff's alpha ({level})")]
            if level in ("nominal", "ordinal"):
                coefs.append((gwet_ac, {}, "Gwet's AC1"))
            for fn, kw, name in coefs:
                per.append(by_group(fn, ratings, group=ratings.roles["office"],
                                    categories=categories, confidence=confidence,
                                    **kw).assign(coefficient=name))
            offices = EstimatesTable(pd.concat(per, ignore_index=True), confidence=confidence,
                                     title=f"by {ratings.roles['office']}:")
    notes = sorted({str(w.message) for w in caught})
    return {"file": label, "level": level, "confidence": confidence,
            "n_ratings": int(ratings.to_frame()[ratings.roles["rating"]].notna().sum()),
            "n_cases": ratings.n_cases, "n_raters": ratings.n_raters,
            "coefficients": table, "by_office": offices, "warnings": notes}


def _demo(seed: int) -> dict[str, Any]:
    """Simulate the six-office vignette study and summarise agreement overall and per office."""
    world = scenarios.six_office_study()
    ratings = simulate.simulate(world, seed=seed)
    label = (f"simulated six-office vignette study (seed {seed}): {world.summary()}")
    checked = Ratings(ratings, case="case", rater="officer", rating="rating", office="office",
                      categories=RISK_LEVELS)
    out = _summarise(checked, label, list(RISK_LEVELS), "ordinal", 0.95)
    stats = simulate.disagreement_statistics(ratings)
    out["against_reference"] = {k: stats[k] for k in ("off_reference", "upward", "downward")}
    return out


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.3f}"
    return str(x)


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _print_table(out: dict[str, Any]) -> None:
    print(f"riskeval agreement: {out['file']}")
    print(f"{out['n_ratings']} ratings of {out['n_cases']} cases by {out['n_raters']} raters; "
          f"level: {out['level']}")
    printed = [out["coefficients"].summary()]
    if out["by_office"] is not None:
        printed.append(out["by_office"].summary())
    for text in printed:
        print()
        print(text)
    ref = out.get("against_reference")
    if ref:
        print()
        print(f"against the evidence-based reference level: {100 * ref['off_reference']:.1f}% "
              f"of ratings differ ({100 * ref['upward']:.1f}% higher, "
              f"{100 * ref['downward']:.1f}% lower)")
    for w in out["warnings"]:
        if not any(w in text for text in printed):
            print(f"note: {w}")


def _json_value(x: Any) -> Any:
    """Plain JSON: NaN is null, an infinity the string "inf" or "-inf" (JSON has none)."""
    if isinstance(x, dict):
        return {str(k): _json_value(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_value(v) for v in x]
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()  # numpy scalars
    if isinstance(x, float):
        if math.isnan(x):
            return None
        return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")
    return x


def _to_json(out: dict[str, Any]) -> str:
    def frame_records(frame: pd.DataFrame | None, index: bool) -> Any:
        if frame is None:
            return None
        f = frame.reset_index() if index else frame
        return f.astype(object).to_dict(orient="records")

    payload = dict(out)
    payload["coefficients"] = frame_records(out["coefficients"], True)
    payload["by_office"] = frame_records(out["by_office"], False)
    return json.dumps(_json_value(payload), indent=2, allow_nan=False)


def _output_folder(out: Path, force: bool) -> Path:
    """``out`` if it can take a command's files: not a file, empty unless ``force``, and
    writable (checked before any computation)."""
    if out.exists() and not out.is_dir():
        raise RiskevalError(f"output {str(out)!r} is a file; -o needs a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise RiskevalError(f"output folder {str(out)!r} exists and is not empty; choose "
                            f"another folder or pass --force")
    _writable(out)
    return out


def _writable(out: Path) -> None:
    """An error now, before any computation, if the folder ``out`` cannot be made or written
    (its parent is where the report is first assembled)."""
    here = out.absolute().parent
    while not here.exists() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        raise RiskevalError(f"cannot write the output folder {str(out)!r}: {str(here)!r} is a "
                            f"file, not a folder; choose another place with -o")
    try:
        probe = tempfile.mkdtemp(prefix=".riskeval-probe-", dir=here)
    except OSError as exc:
        reason = "permission denied" if isinstance(exc, PermissionError) else \
            (exc.strerror or str(exc))
        raise RiskevalError(f"cannot write the output folder {str(out)!r}: {reason} in "
                            f"{str(here)!r}; choose another place with -o") from None
    os.rmdir(probe)
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise RiskevalError(f"cannot write the output folder {str(out)!r}: permission denied; "
                            f"choose another place with -o")


def _readable(path: Path) -> None:
    """An error now if the input file cannot be opened (before any computation)."""
    try:
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise RiskevalError(f"no such ratings file: {str(path)!r}") from None
    except IsADirectoryError:
        raise RiskevalError(f"{str(path)!r} is a folder; expected a CSV file of "
                            f"ratings") from None
    except PermissionError:
        raise RiskevalError(f"cannot read the ratings file {str(path)!r}: permission denied; "
                            f"check that you may read it") from None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _audit_cmd(args: argparse.Namespace) -> int:
    from .audit import audit
    from .audit._report import check_outdir

    src = Path(args.file)
    out = Path(args.output)
    if src.exists() and _inside(src, out):
        raise RiskevalError(f"the output folder {str(out)!r} contains the input file "
                            f"{str(src)!r}; choose a folder that does not hold your data")
    _readable(src)
    _output_folder(out, args.force)
    check_outdir(out, force=args.force)  # what save() will refuse, refused before computing
    categories = _categories(args) or list(RISK_LEVELS)
    if args.high_from is not None and args.high_from not in categories:
        raise RiskevalError(f"--high-from {args.high_from!r} is not one of the levels "
                            f"{', '.join(map(repr, categories))}; give the lowest level that "
                            f"counts as high, e.g. --high-from {categories[-2]!r}")
    sheet = _sheet(str(src), args.sheet)
    if args.wide:
        frame, args.office = _wide_audit_table(src, args, sheet)
    else:
        # identifiers and levels are read as text, never numbers: a blank cell must not
        # turn the rating 1 into 1.0, nor the officer 007 into 7
        text = [args.case, args.rater, args.office, args.occasion, args.rating,
                args.reference, args.original]
        frame = read_table(src, sep=args.delimiter, encoding=args.encoding, sheet=sheet,
                           text_columns=[c for c in text if c])
    if args.office is not None and args.office in frame.columns:
        _one_office(frame[args.office], args.office)
    salt = args.pseudonymise
    if args.salt_file is not None or args.salt_env is not None:
        from .audit import read_salt

        salt = (read_salt(args.salt_file) if args.salt_file is not None
                else read_salt(env=args.salt_env))
    if args.pseudonymise_cases and salt is None:
        raise RiskevalError("--pseudonymise-cases needs a salt: give --salt-env, --salt-file "
                            "or --pseudonymise")
    result = audit(frame, case=args.case, rater=args.rater, rating=args.rating,
                   office=args.office, reference=args.reference, occasion=args.occasion,
                   original=args.original, year=args.year, categories=categories,
                   high_from=args.high_from, confidence=args.confidence,
                   pseudonymise=salt, pseudonymise_cases=args.pseudonymise_cases,
                   ordinal=False if args.no_ordinal else "auto",
                   case_attributes=args.case_attributes,
                   rater_effects=False if args.no_rater_effects else "auto",
                   progress=not args.quiet)
    report = result.save(out, force=args.force)
    if not args.quiet:
        print(f"report: {report}")
        print(result.summary())
    return 0


def _wide_audit_table(src: Path, args: argparse.Namespace,
                      sheet: str | int | None) -> tuple[pd.DataFrame, str | None]:
    """The tidy table of a wide file (--wide) and its office column (with --office-row)."""
    given = [f"--{n.replace('_', '-')}" for n in ("reference", "occasion", "original", "year",
                                                  "case_attributes")
             if getattr(args, n) is not None]
    if given:
        raise RiskevalError(f"{', '.join(given)}: a wide file has a case column and one column "
                            f"per officer, nothing else; give a long file (one row per rating) "
                            f"to use {'it' if len(given) == 1 else 'them'}")
    return _read_wide(src, case=args.case, rater=args.rater, rating=args.rating,
                      office=args.office, office_row=args.office_row, numbers=False,
                      encoding=args.encoding, sheet=sheet,
                      read_csv_kwargs={"sep": args.delimiter})


def _one_office(col: pd.Series, name: str) -> None:
    """One office in the file is an error saying what to do (the office variance and the
    funnel compare offices)."""
    offices = col.dropna().astype(str).str.strip()
    offices = offices[offices != ""].unique()
    if len(offices) == 1:
        raise RiskevalError(
            f"only one office ({offices[0]!r}) in column {name!r}: offices cannot be compared; "
            f"drop --office to audit its officers, or add the ratings of other offices")


def _demo_report(args: argparse.Namespace) -> int:
    from .audit import audit
    from .audit._report import check_outdir

    out = Path(args.output)
    check_outdir(out, force=True)  # only an earlier riskeval report is replaced
    _writable(out)
    world = scenarios.six_office_study()
    ratings = simulate.simulate(world, seed=args.seed)
    ratings = ratings.merge(world.vignettes[["case", "offence"]], on="case", how="left")
    result = audit(ratings, case="case", rater="officer", rating="rating", office="office",
                   reference="reference", original="officer_rating",
                   case_attributes=["offence"], progress=not args.quiet)
    report = result.save(out, force=True)
    print(f"simulated six-office vignette study (seed {args.seed}): {world.summary()}")
    print(f"report: {report}")
    print(result.summary())
    return 0


def _vignettes_cmd(args: argparse.Namespace) -> int:
    from .world.narratives import write_pack
    from .world.vignettes import population

    if args.n < 1:
        raise RiskevalError(f"--n must be at least 1; got {args.n}")
    out = _output_folder(Path(args.output), args.force)
    files = write_pack(population(args.n, seed=args.seed), out, seed=args.seed,
                       overwrite=args.force)
    print(f"wrote {args.n} vignettes to {out}:")
    for name, path in files.items():
        print(f"  {name}: {path}")
    return 0


def _preset_design(args: argparse.Namespace) -> Any:
    """The named preset design of ``riskeval diagnose``, from its options."""
    from . import studies as dz

    needs = {"rater": ("raters", "cases"), "world": ("offices", "officers", "cases"),
             "training": ("offices", "officers", "cases"), "skills": ("officers", "supervisees")}
    missing = [f"--{n}" for n in needs[args.design] if getattr(args, n) is None]
    if missing:
        raise RiskevalError(f"--design {args.design} needs {', '.join(missing)}")
    if args.design == "rater":
        return dz.rater_study(args.raters, args.cases, icc=args.icc,
                              rater_share=args.rater_share,
                              categories=[-0.7, 0.4, 1.4] if args.levels else None,
                              null_icc=args.null_icc)
    if args.design == "world":
        return dz.world_study(args.offices, args.officers, args.cases,
                              vignettes_per_officer=args.per_officer)
    if args.design == "training":
        return dz.training_study(args.offices, args.officers, args.cases,
                                 noise_factor=args.noise_factor,
                                 inflation_factor=args.inflation_factor,
                                 actuarial_weight_shift=args.actuarial_shift)
    return dz.skills_trial(n_officers=args.officers, supervisees_per_officer=args.supervisees,
                           training_shift=args.training_shift)


def _diagnose_cmd(args: argparse.Namespace) -> int:
    from matplotlib.figure import Figure

    from .studies.diagnosis import diagnose

    out = _output_folder(Path(args.output), args.force)
    if args.n_sims < 2 or args.jobs < 1:
        raise RiskevalError("--n-sims must be at least 2 and --jobs at least 1")
    design = _preset_design(args)
    result = diagnose(design, n_sims=args.n_sims, seed=args.seed, n_jobs=args.jobs,
                      checkpoint=args.checkpoint, progress=not args.quiet)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result.table, out / "diagnosis.csv", index=False)
    fig = Figure(figsize=(6, 1.2 + 0.5 * len(result.table)))
    shown = "coverage" if result.table["coverage"].notna().any() else "power"
    result.plot(ax=fig.subplots(), diagnosand=shown)
    fig.tight_layout()
    fig.savefig(out / "diagnosis.png", dpi=110)
    print(result.summary())
    print(f"written: {out / 'diagnosis.csv'}, {out / 'diagnosis.png'}")
    return 0


class _StepLines:
    """A stand-in for a tqdm bar that writes one plain line per step to stderr, for logs:
    a bar's carriage returns make one endless line in a file. Steps named by
    ``set_postfix_str`` (the audit's) are each a line; unnamed updates (the simulations of
    ``diagnose``) a line per tenth of the total."""

    def __init__(self, iterable: Any = None, *, total: int | None = None, desc: str = "",
                 initial: int = 0, unit: str = "it", **_: Any) -> None:
        self.iterable, self.total, self.desc, self.n, self.unit = (iterable, total, desc,
                                                                   initial, unit)
        self.shown = -1

    def __iter__(self) -> Iterator[Any]:  # pragma: no cover - riskeval passes no iterable
        for x in self.iterable:
            yield x
            self.update(1)

    def __enter__(self) -> _StepLines:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _line(self, text: str) -> None:
        print(f"{self.desc}: {text}", file=sys.stderr, flush=True)

    def set_postfix_str(self, label: str, refresh: bool = True) -> None:
        step = f" {self.n + 1}/{self.total}" if self.total else ""
        self._line(f"step{step}: {label}")
        self.shown = self.n + 1

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.shown >= self.n or not self.total:
            return
        tenth = max(1, self.total // 10)
        if self.n // tenth > max(self.shown, 0) // tenth or self.n >= self.total:
            self.shown = self.n
            self._line(f"{self.n}/{self.total} {self.unit}s")

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _plain_progress() -> Iterator[None]:
    """On a terminal, progress bars as they are; otherwise (a log file, ``make demo``) the
    bars riskeval makes with ``tqdm.auto.tqdm`` are :class:`_StepLines`."""
    if sys.stderr is not None and sys.stderr.isatty():
        yield
        return
    import tqdm.auto

    bar = tqdm.auto.tqdm
    tqdm.auto.tqdm = _StepLines
    try:
        yield
    finally:
        tqdm.auto.tqdm = bar


def _show_note(message: Any, category: type[Warning], filename: str, lineno: int,
               file: Any = None, line: str | None = None) -> None:
    """A warning as one line without a file path: riskeval's own as a note, others named
    by their kind."""
    text = " ".join(str(message).split())
    if issubclass(category, RiskevalWarning):
        print(f"riskeval: note: {text}", file=sys.stderr)
    else:
        print(f"riskeval: note ({category.__name__}): {text}", file=sys.stderr)


@contextlib.contextmanager
def _warnings_shown(quiet: bool) -> Iterator[None]:
    """Warnings as one-line notes, or none at all under ``--quiet``."""
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        else:
            warnings.showwarning = _show_note
        yield


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM is handled as Ctrl-C, so that a report being written is cleaned up."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    try:
        before = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _pipe_closed() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as other Unix tools do."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
    return 141  # 128 + SIGPIPE, what a shell reports for a tool stopped by a closed pipe


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskeval`` console script; returns the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The command line after ``riskeval`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 2 bad input, 1 internal error, 130 interrupted (see the module's notes).

    Examples
    --------
    The bundled example ratings, as ``riskeval agreement FILE ...`` would read them:

    >>> from riskeval.cli import main
    >>> from riskeval.data.datasets import example_ratings_path
    >>> main(["agreement", example_ratings_path(), "--case", "vignette", "--rater", "officer",
    ...       "--rating", "rosh", "--categories", "low,medium,high,very high",
    ...       "--level", "ordinal"])  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    riskeval agreement: ...example_ratings.csv
    283 ratings of 24 cases by 12 raters; level: ordinal
    ...
    Krippendorff's alpha (ordinal) 0.652 [0.484, 0.821] jackknife SE, t df=23
    ...
    0
    """
    try:
        with _sigterm_as_interrupt():
            return _main(argv)
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            print("riskeval: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _pipe_closed()


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    flags = {a.dest.replace("_", "-") for a in _subparser(parser, args.command)._actions}
    quiet = getattr(args, "quiet", False)
    try:
        with command_line_options(flags), _warnings_shown(quiet), _plain_progress():
            if args.command in ("audit", "agreement"):
                _layout(args, _subparser(parser, args.command))
            if args.command == "audit":
                return _audit_cmd(args)
            if args.command == "vignettes":
                return _vignettes_cmd(args)
            if args.command == "app":
                from .app import run as run_app

                return run_app(args)
            if args.command == "diagnose":
                return _diagnose_cmd(args)
            if args.command == "demo" and not args.json:
                return _demo_report(args)
            if args.command == "agreement":
                out = _agreement(args.file, args.case, args.rater, args.rating,
                                 _categories(args), args.level, args.office, args.confidence,
                                 sep=args.delimiter, encoding=args.encoding, sheet=args.sheet,
                                 wide=args.wide, office_row=args.office_row)
            else:  # demo --json
                out = _demo(args.seed)
    except (RiskevalError, RiskevalTypeError) as exc:
        print(f"riskeval: error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except MemoryError as exc:
        print(f"riskeval: out of memory ({exc or 'no detail'}). The agreement coefficients "
              "need memory in proportion to the ratings; the audit's pairwise agreement and "
              "mixed model grow with officers x officers and cases x officers, too much for "
              "tens of thousands of officers: use `riskeval agreement` on such data, or "
              "audit one office or sample at a time", file=sys.stderr)
        return 1
    except Exception as exc:  # an internal error: say so plainly, keep the exit code distinct
        print(f"riskeval: internal error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(_to_json(out))
    else:
        _print_table(out)
    sys.stdout.flush()
    return 0


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise AssertionError(command)  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
