"""The ``riskeval`` command-line tool.

Exit codes: 0 success, 2 bad input (a one-line message naming the problem), 1 internal error.

JSON output (``agreement --json``, ``demo --json``): a value that is not defined on the data
(NaN) is ``null`` and its row's ``note`` says why; an infinite interval limit (the lower limit
of a k-rater ICC, which has no lower bound) is the string ``"-inf"`` (``"inf"`` above), since
JSON has no infinity. Every other number is a JSON number.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, scenarios, simulate
from .agreement import agreement_summary, by_group, gwet_ac, krippendorff_alpha
from .data import RISK_LEVELS, read_ratings, read_table
from .errors import RiskevalError, RiskevalTypeError

_AGREEMENT_EXAMPLE = """example:
  riskeval agreement ratings.csv --case vignette --rater officer --rating rosh \\
      --categories "low,medium,high,very high" --level ordinal --office office
"""


_AUDIT_EXAMPLE = """example:
  riskeval audit ratings.csv --case vignette --rater officer --rating rosh \\
      --office office --reference evidence_level \\
      --categories "low,medium,high,very high" -o audit-2026/
"""

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
        description="Read a long ratings CSV (one row per case and rater) and print every "
                    "agreement coefficient suited to the level of measurement, with intervals. "
                    "Identifiers (case, rater, office) are read as text, so 0001 and 1 are "
                    "two cases, and stripped of surrounding spaces; only an empty cell is "
                    "missing (NA or None is text).",
        epilog=_AGREEMENT_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    agr.add_argument("file", help="ratings CSV (read only; never modified)")
    agr.add_argument("--case", required=True, help="column identifying the case (vignette)")
    agr.add_argument("--rater", required=True, help="column identifying the rater (officer)")
    agr.add_argument("--rating", required=True, help="column holding the rating")
    agr.add_argument("--categories", default=None,
                     help='ordered categories, lowest first, e.g. "low,medium,high,very high"')
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
                    "cell is missing (NA or None is text).",
        epilog=_AUDIT_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    aud.add_argument("file", help="ratings CSV, one row per rating (read only; never modified)")
    aud.add_argument("--case", required=True, help="column identifying the case (vignette)")
    aud.add_argument("--rater", required=True, help="column identifying the officer")
    aud.add_argument("--rating", required=True, help="column holding the rating")
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
                     help='ordered levels, lowest first (default "low,medium,high,very high")')
    aud.add_argument("--high-from", default=None,
                     help="level from which a rating counts as high in the funnel plot "
                          "(default: the second highest level)")
    aud.add_argument("--delimiter", default=",", help="column delimiter of the CSV (default ,)")
    aud.add_argument("--confidence", type=float, default=0.95, help="confidence level")
    aud.add_argument("--pseudonymise", metavar="SALT", default=None,
                     help="replace officer and office identifiers by stable codes keyed by "
                          "this secret salt")
    aud.add_argument("--no-ordinal", action="store_true",
                     help="skip the ordinal mixed model (it is skipped anyway above 50,000 "
                          "ratings)")
    aud.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                     help="folder to write the report into (must be new or empty)")
    aud.add_argument("--force", action="store_true",
                     help="replace OUTDIR even if it is not empty")
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
    return parser


def _agreement(file: str, case: str, rater: str, rating: str, categories: Any, level: str,
               office: str | None, confidence: float) -> dict[str, Any]:
    numeric = level in ("interval", "ratio") and categories is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_ratings(file, case=case, rater=rater, rating=rating, office=office,
                             categories=categories, numeric=numeric)
    out = _summarise(frame, file, case, rater, rating, categories, level, office, confidence)
    out["warnings"] = sorted({str(w.message) for w in caught} | set(out["warnings"]))
    return out


def _summarise(frame: pd.DataFrame, label: str, case: str, rater: str, rating: str,
               categories: Any, level: str, office: str | None,
               confidence: float) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = agreement_summary(frame, case=case, rater=rater, rating=rating,
                                  categories=categories, level=level, confidence=confidence)
        offices = None
        if office is not None:
            per = []
            coefs = [(krippendorff_alpha, {"level": level}, f"Krippendorff's alpha ({level})")]
            if level in ("nominal", "ordinal"):
                coefs.append((gwet_ac, {}, "Gwet's AC1"))
            for fn, kw, name in coefs:
                part = by_group(fn, frame, group=office, case=case, rater=rater,
                                rating=rating, categories=categories, confidence=confidence,
                                **kw)
                part["coefficient"] = name
                per.append(part)
            offices = pd.concat(per, ignore_index=True)
    notes = sorted({str(w.message) for w in caught})
    return {"file": label, "level": level, "confidence": confidence,
            "n_ratings": int(frame[rating].notna().sum()),
            "n_cases": int(frame[case].nunique()), "n_raters": int(frame[rater].nunique()),
            "coefficients": table, "by_office": offices, "warnings": notes}


def _demo(seed: int) -> dict[str, Any]:
    """Simulate the six-office vignette study and summarise agreement overall and per office."""
    world = scenarios.six_office_study()
    ratings = simulate.simulate(world, seed=seed)
    label = (f"simulated six-office vignette study (seed {seed}): {world.summary()}")
    out = _summarise(ratings, label, "case", "officer", "rating", list(RISK_LEVELS), "ordinal",
                     "office", 0.95)
    stats = simulate.disagreement_statistics(ratings)
    out["against_reference"] = {k: stats[k] for k in ("off_reference", "upward", "downward")}
    return out


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.3f}"
    return str(x)


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


class _Notes:
    """Numbered notes under a table: each distinct reason is printed once."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.printed = 0
        self.infinite: set[str] = set()

    def mark(self, note: Any) -> str:
        if not isinstance(note, str) or not note:
            return ""
        number = self.numbers.setdefault(note, len(self.numbers) + 1)
        return f"(note {number})"

    def cells(self, row: Any) -> tuple[str, str, str, str]:
        """Estimate, interval, method and note marker of one row, as printed."""
        est, lo, hi = (row.get(k, float("nan")) for k in ("estimate", "ci_low", "ci_high"))
        marker = self.mark(row.get("note"))
        if _nan(est):
            return "not defined", marker, "", ""
        if _nan(lo) or _nan(hi):
            return _fmt(est), f"no interval {marker}".strip(), "", ""
        for x in (lo, hi):
            if math.isinf(x):
                self.infinite.add("-inf" if x < 0 else "inf")
        method = row.get("ci_method")
        return (_fmt(est), f"[{_fmt(lo)}, {_fmt(hi)}]", "" if _nan(method) else str(method),
                marker)

    def flush(self) -> list[str]:
        """The notes numbered since the last flush, and the meaning of infinite limits."""
        new = list(self.numbers)[self.printed:]
        self.printed = len(self.numbers)
        lines = [f"  ({self.numbers[n]}) {n}" for n in new]
        legend = {"-inf": "-inf: the interval has no lower limit (a k-rater ICC has no lower "
                          "bound)",
                  "inf": "inf: the interval has no upper limit"}
        lines += [f"  {legend[k]}" for k in sorted(self.infinite)]
        self.infinite = set()
        return lines

    def said(self, message: str) -> bool:
        """Whether a warning's text is already given as a note."""
        return any(message in n for n in self.numbers)


def _print_table(out: dict[str, Any]) -> None:
    pct = f"{100 * out['confidence']:g}% CI"
    print(f"riskeval agreement: {out['file']}")
    print(f"{out['n_ratings']} ratings of {out['n_cases']} cases by {out['n_raters']} raters; "
          f"level: {out['level']}")
    print()
    notes = _Notes()
    table = out["coefficients"]
    width = max(len(c) for c in table.index) + 2
    print(f"{'coefficient':<{width}}{'estimate':>11}  {pct:<20}  method")
    for name, row in table.iterrows():
        est, ci, method, marker = notes.cells(row)
        print(f"{name:<{width}}{est:>11}  {ci:<20}  {method}  {marker}".rstrip())
    for line in notes.flush():
        print(line)
    if out["by_office"] is not None:
        per = out["by_office"]
        key = per.columns[0]
        print()
        print(f"by {key}:")
        for _, row in per.iterrows():
            est, ci, _method, marker = notes.cells(row)
            print(f"  {row[key]!s:<12} {row['coefficient']:<32} {est:>11}  {ci:<20}  "
                  f"raters={row['n_raters']}  {marker}".rstrip())
        for line in notes.flush():
            print(line)
    ref = out.get("against_reference")
    if ref:
        print()
        print(f"against the evidence-based reference level: {100 * ref['off_reference']:.1f}% "
              f"of ratings differ ({100 * ref['upward']:.1f}% higher, "
              f"{100 * ref['downward']:.1f}% lower)")
    for w in out["warnings"]:
        if not notes.said(w):
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
    """``out`` if it can take a command's files: not a file, and empty unless ``force``."""
    if out.exists() and not out.is_dir():
        raise RiskevalError(f"output {str(out)!r} is a file; -o needs a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise RiskevalError(f"output folder {str(out)!r} exists and is not empty; choose "
                            f"another folder or pass --force")
    return out


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _audit_cmd(args: argparse.Namespace) -> int:
    from .audit import audit

    src = Path(args.file)
    out = Path(args.output)
    if src.exists() and _inside(src, out):
        raise RiskevalError(f"the output folder {str(out)!r} contains the input file "
                            f"{str(src)!r}; choose a folder that does not hold your data")
    _output_folder(out, args.force)
    if args.high_from is not None and args.categories is None \
            and args.high_from not in RISK_LEVELS:
        raise RiskevalError(f"--high-from {args.high_from!r} is not one of the levels "
                            f"{', '.join(RISK_LEVELS)}")
    categories = args.categories if args.categories is not None else list(RISK_LEVELS)
    ids = [args.case, args.rater, args.office, args.occasion]  # read as text, never numbers
    frame = read_table(src, sep=args.delimiter, text_columns=[c for c in ids if c])
    result = audit(frame, case=args.case, rater=args.rater, rating=args.rating,
                   office=args.office, reference=args.reference, occasion=args.occasion,
                   original=args.original, year=args.year, categories=categories,
                   high_from=args.high_from, confidence=args.confidence,
                   pseudonymise=args.pseudonymise,
                   ordinal=False if args.no_ordinal else "auto",
                   progress=not args.quiet)
    report = result.save(out, force=args.force)
    if not args.quiet:
        print(f"report: {report}")
        print(result.summary())
    return 0


def _demo_report(args: argparse.Namespace) -> int:
    from .audit import audit

    out = Path(args.output)
    if out.is_dir() and any(out.iterdir()) and not (out / "summary.json").is_file():
        raise RiskevalError(f"{str(out)!r} exists, is not empty and holds no earlier riskeval "
                            f"report; choose another folder with -o")
    world = scenarios.six_office_study()
    ratings = simulate.simulate(world, seed=args.seed)
    result = audit(ratings, case="case", rater="officer", rating="rating", office="office",
                   reference="reference", original="officer_rating",
                   progress=not args.quiet)
    report = result.save(out, force=True)
    print(f"simulated six-office vignette study (seed {args.seed}): {world.summary()}")
    print(f"report: {report}")
    print(result.summary())
    return 0


def _vignettes_cmd(args: argparse.Namespace) -> int:
    from .narratives import write_pack
    from .vignettes import population

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
    from . import design as dz

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

    from .design import diagnose

    out = _output_folder(Path(args.output), args.force)
    if args.n_sims < 2 or args.jobs < 1:
        raise RiskevalError("--n-sims must be at least 2 and --jobs at least 1")
    design = _preset_design(args)
    result = diagnose(design, n_sims=args.n_sims, seed=args.seed, n_jobs=args.jobs,
                      checkpoint=args.checkpoint, progress=not args.quiet)
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "diagnosis.csv", index=False)
    fig = Figure(figsize=(6, 1.2 + 0.5 * len(result.table)))
    shown = "coverage" if result.table["coverage"].notna().any() else "power"
    result.plot(ax=fig.subplots(), diagnosand=shown)
    fig.tight_layout()
    fig.savefig(out / "diagnosis.png", dpi=110)
    print(f"{design.name}: {args.n_sims} simulated studies")
    for _, r in result.table.iterrows():
        parts = [f"  {r['estimator']}:"]
        if math.isfinite(r["bias"]):
            parts.append(f"bias {r['bias']:+.4f} (MC SE {r['bias_mcse']:.4f}),")
        if math.isfinite(r["coverage"]):
            parts.append(f"coverage {100 * r['coverage']:.1f}%,")
        if math.isfinite(r["width"]):
            parts.append(f"mean CI width {r['width']:.3f}")
        if math.isfinite(r["power"]):
            test = (f" to show ICC > {args.null_icc}" if args.design == "rater"
                    else " (p < 0.05)")
            parts.append(f", power {100 * r['power']:.1f}%{test}")
        print(" ".join(parts).replace(" ,", ","))
    print(f"written: {out / 'diagnosis.csv'}, {out / 'diagnosis.png'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskeval`` console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "audit":
            return _audit_cmd(args)
        if args.command == "vignettes":
            return _vignettes_cmd(args)
        if args.command == "diagnose":
            return _diagnose_cmd(args)
        if args.command == "demo" and not args.json:
            return _demo_report(args)
        if args.command == "agreement":
            out = _agreement(args.file, args.case, args.rater, args.rating, args.categories,
                             args.level, args.office, args.confidence)
        else:  # demo --json
            out = _demo(args.seed)
    except (RiskevalError, RiskevalTypeError) as exc:
        print(f"riskeval: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # an internal error: say so plainly, keep the exit code distinct
        print(f"riskeval: internal error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(_to_json(out))
    else:
        _print_table(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
