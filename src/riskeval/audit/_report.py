"""Rendering an audit: tables, summary.json, figures, a self-contained HTML page, atomic save."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import __version__
from .._safecsv import write_csv
from ..errors import RiskevalError
from ._findings import ALPHA, METHODS

if TYPE_CHECKING:
    from ._compute import Audit

#: above this many officers the list of every pair is left out of the files (it has n^2/2
#: rows); each officer's agreement with the others is always written
PAIRS_MAX_OFFICERS = 500

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;
padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
.finding{background:#f4f7fb;border-left:4px solid #1f4e79;padding:.6em 1em;margin:.8em 0}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#eef2f6}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;display:block;margin:.6em 0}
.meta{color:#555}.note{color:#7a4b00}
"""


def _records(frame: pd.DataFrame | pd.Series | None, index: bool = True) -> Any:
    if frame is None:
        return None
    if isinstance(frame, pd.Series):
        frame = frame.to_frame().T
    f = frame.reset_index() if index else frame.copy()
    f.columns = [str(c) for c in f.columns]
    for i in range(f.shape[1]):  # an infinity is kept apart from NaN (see _clean)
        col = f.iloc[:, i]
        if col.dtype == float and np.isinf(col).any():
            f.isetitem(i, col.astype(object).map(
                lambda x: ("inf" if x > 0 else "-inf") if np.isinf(x) else x))
    return json.loads(f.to_json(orient="records", double_precision=15, default_handler=str))


def tables(a: Audit) -> dict[str, pd.DataFrame]:
    """Every table of the report, by file stem."""
    out: dict[str, pd.DataFrame] = {"agreement": a.agreement}
    if a.agreement_by_office is not None:
        out["agreement_by_office"] = a.agreement_by_office.set_index(
            list(a.agreement_by_office.columns[:2]))
    out["officer_agreement"] = a.pairwise.by_rater()
    if len(a.pairwise.matrix) <= PAIRS_MAX_OFFICERS:
        out["pairwise_agreement"] = a.pairwise.long().set_index(["rater_1", "rater_2"])
    out["variance"] = a.variance
    if a.ordinal is not None:
        out["ordinal_sd"] = a.ordinal
    for name, eff in a.effects.items():
        out[f"{name}_effects"] = eff
    if a.funnel is not None:
        out["funnel"] = a.funnel.table
    if a.reference is not None:
        out["confusion"] = a.reference["confusion"]
        out["directional"] = a.reference["directional"]
        out["directional_by_officer"] = a.reference["by_officer"]
    if a.anchoring is not None:
        out["anchoring"] = a.anchoring
    if a.overrides is not None:
        out["overrides"] = a.overrides
    if a.inflation_trend is not None:
        out["inflation_trend"] = a.inflation_trend.to_frame().T
    out["findings"] = pd.DataFrame([f.__dict__ for f in a.findings]).set_index("key")
    return out


def summary_dict(a: Audit) -> dict[str, Any]:
    """Every number in the report, JSON-ready."""
    payload: dict[str, Any] = {
        "riskeval_version": __version__,
        "meta": a.meta,
        "findings": _records(pd.DataFrame([f.__dict__ for f in a.findings]), index=False),
        "tables": {k: _records(v) for k, v in tables(a).items() if k != "findings"},
        "notes": list(a.notes),
    }
    if a.funnel is not None:
        payload["funnel"] = {"target": a.funnel.target, "phi": a.funnel.phi,
                             "phi_pvalue": a.funnel.phi_pvalue,
                             "outside": [str(x) for x in a.funnel.outside]}
    if a.reference is not None:
        s = a.reference["symmetry"]
        payload["symmetry"] = {"test": s.test, "statistic": s.statistic, "df": s.df,
                               "pvalue": s.pvalue, "upward": s.upward, "downward": s.downward}
    return _clean(payload)


def _clean(x: Any) -> Any:
    """Plain JSON types throughout: NaN (not defined) becomes null, an infinity the string
    ``"inf"`` or ``"-inf"`` (JSON has none; e.g. the lower limit of a k-rater ICC)."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if isinstance(x, float):
        if math.isnan(x):
            return None
        return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")
    if x is None or isinstance(x, bool | int | str):
        return x
    return str(x)


def figures(a: Audit) -> dict[str, Any]:
    """The report's figures (matplotlib Figures, made without pyplot)."""
    from matplotlib.figure import Figure

    from .. import plots

    figs: dict[str, Any] = {}
    fig = Figure(figsize=(6, 3))
    shares = a.variance[["share", "share_low", "share_high"]].set_axis(
        ["estimate", "ci_low", "ci_high"], axis=1)
    plots.shares(shares, fig.subplots(), "Share of variance in the ratings (95% intervals)")
    fig.tight_layout()
    figs["variance_shares"] = fig

    panels = [k for k in ("office", "officer") if k in a.effects]
    rows = max(len(a.effects[k]) for k in panels)
    fig = Figure(figsize=(4.5 * len(panels), min(12.0, max(3.5, 0.16 * min(rows, 60)))))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, name in zip(axes, panels, strict=True):
        plots.caterpillar(a.effects[name], ax, f"{name} effects (95% intervals)")
    fig.tight_layout()
    figs["effects"] = fig

    if a.funnel is not None:
        fig = Figure(figsize=(6.5, 4.5))
        plots.funnel(a.funnel, fig.subplots(),
                     ylabel=f"share rated {a.meta['high_from']} or above")
        fig.tight_layout()
        figs["funnel"] = fig

    n = len(a.pairwise.matrix)
    side = min(12.0, max(5.0, 0.12 * n))
    fig = Figure(figsize=(side + 1, side))
    plots.heatmap(a.pairwise.matrix, ax=fig.subplots(), vmin=0.0, vmax=1.0,
                  title="Exact agreement between pairs of officers")
    fig.tight_layout()
    figs["pairwise_agreement"] = fig

    if a.reference is not None:
        fig = Figure(figsize=(5.5, 4.5))
        plots.confusion(a.reference["confusion"], ax=fig.subplots())
        fig.tight_layout()
        figs["confusion"] = fig
    return figs


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _table_html(frame: pd.DataFrame | pd.Series, digits: int = 3) -> str:
    if isinstance(frame, pd.Series):
        frame = frame.to_frame().T

    def fmt(x: Any) -> str:
        if isinstance(x, float):
            return "" if math.isnan(x) else f"{x:.{digits}f}"
        return str(x)
    # pandas escapes cell text and labels by default (escape=True)
    return frame.to_html(float_format=lambda x: fmt(float(x)), na_rep="", border=0,
                         escape=True)


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def render_body(a: Audit, pngs: dict[str, bytes] | None = None) -> str:
    """The report's body (used by Jupyter and inside the full page)."""
    if pngs is None:
        pngs = {k: _png(f) for k, f in figures(a).items()}

    def img(name: str, alt: str) -> str:
        if name not in pngs:
            return ""
        data = base64.b64encode(pngs[name]).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{_esc(alt)}">'

    m = a.meta
    offices = f" in {m['n_offices']} offices" if m["n_offices"] else ""
    parts = ["<h1>Consistency audit of risk assessments</h1>",
             f"<p class='meta'>{m['n_ratings']} ratings of {m['n_cases']} cases by "
             f"{m['n_officers']} officers{offices}; levels: "
             f"{_esc(', '.join(map(str, m['categories'])))}."
             + (" Officers are identified by office and officer id together (the same id "
                "in two offices is two officers)." if m["n_offices"] else "")
             + (" Officer and office identifiers are pseudonymised." if m.get("pseudonymised")
                else "") + f" riskeval {_esc(__version__)}.</p>",
             "<h2>Summary of findings</h2>"]
    for f in a.findings:
        parts.append(f"<div class='finding' id='finding-{_esc(f.key)}'><strong>"
                     f"{_esc(f.title)}.</strong> {_esc(f.text)}</div>")

    parts += ["<h2>Agreement</h2>",
              "<p>An empty estimate or interval is not defined on these data; the note on "
              "its row says why.</p>" if _any_note(a.agreement) else "",
              _table_html(a.agreement)]
    if a.agreement_by_office is not None:
        parts += ["<h3>By office</h3>", _table_html(a.agreement_by_office.set_index(
            list(a.agreement_by_office.columns[:2])))]
    parts += ["<h3>Agreement between pairs of officers</h3>",
              "<p>Each cell is the share of shared cases on which two officers chose the same "
              "level.</p>", img("pairwise_agreement", "pairwise agreement heatmap"),
              "<h3>Officers who agree least with their colleagues</h3>",
              "<p>Each officer's exact agreement with all other officers over the cases they "
              "share (the ten lowest; every officer is in tables/officer_agreement.csv).</p>",
              _table_html(a.pairwise.by_rater().nsmallest(10, "agreement"))]

    parts += ["<h2>Sources of variation</h2>", img("variance_shares", "variance shares"),
              _table_html(a.variance)]
    if a.ordinal is not None:
        parts += ["<h3>On the latent scale (ordinal probit model)</h3>",
                  "<p>Standard deviations of the effects in units of the unexplained "
                  "variation of one judgement.</p>", _table_html(a.ordinal)]

    parts += ["<h2>Offices compared fairly</h2>"]
    if a.funnel is not None:
        parts += [img("funnel", "funnel plot"), _table_html(a.funnel.table)]
    parts += [img("effects", "office and officer effects")]

    if a.reference is not None:
        parts += ["<h2>Direction of disagreement against the reference</h2>",
                  img("confusion", "ratings against the reference"),
                  _table_html(a.reference["confusion"]),
                  f"<p>{_esc(a.reference['symmetry'].summary())}</p>",
                  _table_html(a.reference["directional"])]
    if a.inflation_trend is not None:
        parts += ["<h3>Drift over calendar time</h3>", _table_html(a.inflation_trend)]
    if a.anchoring is not None:
        parts += ["<h2>Anchoring on repeat assessments</h2>", _table_html(a.anchoring)]
    if a.overrides is not None:
        parts += ["<h2>Manager overrides</h2>", _table_html(a.overrides)]

    parts.append("<h2>Methods</h2><dl>")
    for name, what, ref in METHODS:
        parts.append(f"<dt><strong>{_esc(name)}</strong></dt><dd>{_esc(what)} "
                     f"<em>{_esc(ref)}</em></dd>")
    parts.append("</dl>")
    if a.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(
            f"<li class='note'>{_esc(n)}</li>" for n in a.notes) + "</ul>")
    return "<div class='riskeval-audit'>" + "\n".join(parts) + "</div>"


def render_html(a: Audit, pngs: dict[str, bytes] | None = None) -> str:
    """A complete HTML page with no external resources."""
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>riskeval consistency audit</title>"
            f"<style>{_CSS}</style></head><body>\n{render_body(a, pngs)}\n</body></html>\n")


def _any_note(frame: pd.DataFrame) -> bool:
    return "note" in frame.columns and bool(
        frame["note"].map(lambda n: isinstance(n, str) and n != "").any())


def _reason(note: Any, name: str) -> str:
    """A row's note as a reason in running text: without the coefficient's name in front
    ("Krippendorff's alpha is undefined: ...") or "returning NaN" behind."""
    if not isinstance(note, str):
        return ""
    text = note.strip()
    head, sep, tail = text.partition(": ")
    if sep and name in head:
        text = tail
    return re.sub(r";?\s*(returning NaN|the interval is reported as NaN)\.?$", "", text)


def _alpha_words(row: pd.Series) -> str:
    """Krippendorff's alpha with its interval, or why either is not defined."""
    why = _reason(row.get("note"), "Krippendorff's alpha")
    if not math.isfinite(row["estimate"]):
        return "not defined" + (f": {why}." if why else ".")
    if not (math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"])):
        return f"{row['estimate']:.3f}, no interval" + (f" ({why})." if why else ".")
    return f"{row['estimate']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]."


def five_lines(a: Audit) -> list[str]:
    """The headline numbers in five lines."""
    m = a.meta
    al = a.agreement.loc[ALPHA]
    pa = a.agreement.loc["Percent agreement"]
    sh = a.variance["share"]
    offices = f" in {m['n_offices']} offices" if m["n_offices"] else ""
    lines = [f"{m['n_ratings']} ratings of {m['n_cases']} cases by {m['n_officers']} officers"
             f"{offices}.",
             f"Exact agreement {100 * pa['estimate']:.1f}%; Krippendorff's alpha (ordinal) "
             + _alpha_words(al),
             ("Variance shares: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in sh.items())
              + "." if sh.notna().any() else "Variance shares: not defined (no variation).")]
    if a.funnel is not None:
        out = ", ".join(map(str, a.funnel.outside)) or "none"
        lines.append(f"Offices outside the 99.8% funnel limits: {out}.")
    elif m["n_offices"]:
        lines.append("Offices not compared on the funnel (see the notes).")
    else:
        lines.append("No office column: offices not compared.")
    if a.reference is not None:
        d = a.reference["directional"].loc["(all)"]
        lines.append(f"Against the reference: {100 * d['upward']:.1f}% higher, "
                     f"{100 * d['downward']:.1f}% lower.")
    else:
        lines.append("No reference column: direction of disagreement not assessed.")
    return lines


def save(a: Audit, outdir: Any, *, force: bool = False) -> Path:
    """Write the report folder atomically; see :meth:`Audit.save`."""
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise RiskevalError(f"output {str(out)!r} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise RiskevalError(f"output folder {str(out)!r} exists and is not empty; choose "
                            f"another folder or pass --force (force=True) to replace it")
    parent = out.resolve().parent
    created = parent   # the highest folder this call creates, removed again on failure
    while not created.parent.exists():
        created = created.parent
    created = None if created.exists() else created
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    try:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        pngs = {}
        for name, fig in figures(a).items():
            pngs[name] = _png(fig)
            (tmp / "figures" / f"{name}.png").write_bytes(pngs[name])
        for name, frame in tables(a).items():
            write_csv(frame, tmp / "tables" / f"{name}.csv")
        (tmp / "summary.json").write_text(json.dumps(summary_dict(a), indent=2),
                                          encoding="utf-8")
        (tmp / "report.html").write_text(render_html(a, pngs), encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    return out / "report.html"
