"""Rendering an audit: tables, summary.json, figures, a self-contained HTML page, atomic save."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import errno
import functools
import hashlib
import html
import io
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._core.safecsv import write_csv
from .._version import __version__
from ..errors import RiskevalError
from ._findings import ALPHA, METHODS

if TYPE_CHECKING:
    from ._compute import Audit

#: above this many officers the list of every pair is left out of the files (it has n^2/2
#: rows); each officer's agreement with the others is always written
PAIRS_MAX_OFFICERS = 500

#: the pairwise-agreement figure's axes are about 1,150 pixels on each side when saved (13 x 12
#: inches at 110 dpi); with more officers than this a cell per pair cannot be shown, so each
#: cell drawn is the mean of a block of k x k neighbouring pairs, k = ceil(officers / this)
PAIRWISE_FIGURE_CELLS = 1100

#: resolution of the saved figures
_DPI = 110

_CSS = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1160px;
margin:1.5em auto;padding:0 1em;color:#1b1b1b;line-height:1.45;overflow-wrap:anywhere}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;
padding-bottom:.2em;margin-top:1.8em}h3{font-size:1.05em;margin:1.2em 0 .4em}
.toc{background:#f7f7f7;border:1px solid #e2e2e2;padding:.4em 1em;margin:1em 0}
.toc ol{margin:.2em 0;padding-left:1.4em;columns:14em 3;column-gap:2em}
.toc li{break-inside:avoid}
.findings{columns:30em 2;column-gap:1em;margin:.6em 0}
.finding{background:#f4f7fb;border-left:4px solid #1f4e79;padding:.5em .9em;margin:0 0 .7em;
break-inside:avoid}
.table-wrap{max-width:100%;overflow-x:auto;margin:.5em 0}
table{border-collapse:collapse;font-size:.85em;margin:0}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:right;overflow-wrap:normal;
white-space:nowrap}
th{background:#eef2f6}td:first-child,th:first-child{text-align:left}
table.compact th{white-space:normal;min-width:5em;max-width:11em}
table.compact td:first-child{white-space:normal;overflow-wrap:anywhere;min-width:8em}
#office-agreement td:first-child{min-width:11em;max-width:24em}
table.compact caption{text-align:left;font-size:.95em}
td.text,th.text{white-space:normal;text-align:left;min-width:16em}
table.compact tfoot td{border-top:2px solid #999;font-weight:600}
.ci{color:#555;font-size:.92em}
figure{margin:.6em 0;max-width:100%}
figcaption{font-size:.9em;color:#444;margin-top:.2em}
img{max-width:100%;height:auto;display:block}
figure img{width:auto;max-height:80vh}
.row{display:flex;flex-wrap:wrap;gap:.5em 1.5em;align-items:flex-start}
.row>*{min-width:0;max-width:100%;flex:0 1 auto}.row>div{flex:1 1 16em}
details{margin:.5em 0}summary{cursor:pointer;color:#1f4e79}
.methods{columns:19em 3;column-gap:1.5em;font-size:.85em;line-height:1.35}
.methods dt{break-after:avoid}
.methods dd{margin:0 0 .6em 1em;break-inside:avoid}
.meta{color:#555}.note{color:#7a4b00}
@media (max-width:900px){table.compact .ci{display:block}}
@media print{
body{max-width:none;margin:0;padding:0;font-size:10pt;line-height:1.3}
.toc{display:none}
h2,h3{break-after:avoid}
figure,img,tr,.finding,dd{break-inside:avoid}
thead{display:table-header-group}
.table-wrap{overflow:visible}
table{font-size:7.5pt;max-width:100%}
th,td,table.compact td,table.compact th{padding:.1em .25em;white-space:normal;
overflow-wrap:anywhere}
img{max-height:22cm;width:auto}
.row{display:block}
.findings{display:block}.finding{margin:.4em 0}
summary{color:inherit}
details::details-content{content-visibility:visible;display:contents}
}
"""

#: opens every collapsed table for printing (in browsers whose print style cannot), and closes
#: them again afterwards
_PRINT_JS = """
addEventListener("beforeprint",function(){document.querySelectorAll("details:not([open])")
.forEach(function(d){d.open=true;d.setAttribute("data-print-opened","")})});
addEventListener("afterprint",function(){document.querySelectorAll("details[data-print-opened]")
.forEach(function(d){d.open=false;d.removeAttribute("data-print-opened")})});
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
    r = a.rater_effects
    if r is not None:
        out["rater_officers"] = r.officers
        if r.offices is not None:
            out["rater_offices"] = r.offices
        out["rater_facets"] = r.facets
        out["end_level_use"] = r.centrality.to_frame().T
        out["rating_scale"] = r.scale
        if r.differential is not None:
            out["differential_severity"] = r.differential
        if r.drift is not None:
            out["rater_drift"] = r.drift
    out["findings"] = pd.DataFrame([f.__dict__ for f in a.findings]).set_index("key")
    return out


def summary_dict(a: Audit, tabs: dict[str, pd.DataFrame] | None = None) -> dict[str, Any]:
    """Every number in the report, JSON-ready (``tabs``: :func:`tables` of ``a``, if made)."""
    if tabs is None:
        tabs = tables(a)
    payload: dict[str, Any] = {
        "riskeval_version": __version__,
        "meta": a.meta,
        "findings": _records(pd.DataFrame([f.__dict__ for f in a.findings]), index=False),
        "tables": {k: _records(v) for k, v in tabs.items() if k != "findings"},
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


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


class _NotPlain(Exception):
    """A value :func:`_json` leaves to :func:`json.dumps`."""


def _json(obj: Any) -> str:
    """``json.dumps(obj, indent=2)``, the same text, faster: a list of rows (dicts of scalars,
    a table's records) or a dict or list of scalars is written by the C encoder in one call,
    its separators carrying the indentation, instead of value by value in Python."""
    try:
        return _json_at(obj, 0)
    except _NotPlain:
        return json.dumps(obj, indent=2)


@functools.lru_cache(maxsize=32)
def _flat_encoder(level: int) -> Any:
    """Encodes a container of scalars (or a list of them) with items on lines at ``level``."""
    return json.JSONEncoder(separators=(",\n" + "  " * level, ": ")).encode


def _plain_row(x: Any) -> bool:
    return (type(x) is dict and bool(x) and all(type(k) is str for k in x)
            and all(type(v) in _JSON_SCALARS for v in x.values()))


def _json_at(obj: Any, level: int) -> str:
    t = type(obj)
    if t in _JSON_SCALARS:
        return json.dumps(obj)
    if t is not dict and t is not list:
        raise _NotPlain
    if not obj:
        return "{}" if t is dict else "[]"
    if t is dict and any(type(k) is not str for k in obj):
        raise _NotPlain
    outer, inner = "\n" + "  " * level, "\n" + "  " * (level + 1)
    if all(type(v) in _JSON_SCALARS for v in (obj.values() if t is dict else obj)):
        text = _flat_encoder(level + 1)(obj)
        return text[0] + inner + text[1:-1] + outer + text[-1]
    if t is list and all(_plain_row(v) for v in obj):
        # rows: encoded together with the rows' own separators; a row ends "}" and the next
        # begins "{" only between rows (a value is a scalar, and a string's newlines are
        # escaped), where the list's separator and the rows' brackets go
        deep = inner + "  "
        text = _flat_encoder(level + 2)(obj)[2:-2].replace(
            "}," + deep + "{", inner + "}," + inner + "{" + deep)
        return "[" + inner + "{" + deep + text + inner + "}" + outer + "]"
    if t is dict:
        items = [f"{json.dumps(k)}: {_json_at(v, level + 1)}" for k, v in obj.items()]
        return "{" + inner + ("," + inner).join(items) + outer + "}"
    items = [_json_at(v, level + 1) for v in obj]
    return "[" + inner + ("," + inner).join(items) + outer + "]"


def _clean(x: Any) -> Any:
    """Plain JSON types throughout: NaN (not defined) becomes null, an infinity the string
    ``"inf"`` or ``"-inf"`` (JSON has none; e.g. the lower limit of a k-rater ICC)."""
    # the plain types (nearly every value: the tables' records) first, by exact type
    t = type(x)
    if t is str or t is int or t is bool or x is None:
        return x
    if t is float:
        if x != x:
            return None
        return x if -math.inf < x < math.inf else ("inf" if x > 0 else "-inf")
    if t is dict:
        return {k if type(k) is str else str(k): _clean(v) for k, v in x.items()}
    if t is list:
        return [_clean(v) for v in x]
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
    """The report's figures (matplotlib Figures, made without pyplot), laid out and labelled
    with their names. The pairwise-agreement heatmap of more than
    :data:`PAIRWISE_FIGURE_CELLS` officers draws block means (see :func:`_pairwise_block`)."""
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    from .._core import plots

    figs: dict[str, Any] = {}
    fig = Figure(figsize=(6, 3))
    shares = a.variance[["share", "share_low", "share_high"]].set_axis(
        ["estimate", "ci_low", "ci_high"], axis=1)
    plots.shares(shares, fig.subplots(), "Share of variance in the ratings (95% intervals)")
    fig.tight_layout()
    figs["variance_shares"] = fig

    if a.agreement_by_office is not None:
        forest = _forest_figure(a)
        if forest is not None:
            figs["agreement_by_office"] = forest

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
    k = _pairwise_block(n)
    title = "Exact agreement between pairs of officers"
    if k > 1:
        title += f"\n(each cell: the mean of a block of {k} × {k} pairs; {n:,} officers)"
    plots.heatmap(a.pairwise.matrix, ax=fig.subplots(), vmin=0.0, vmax=1.0, title=title,
                  block=k if k > 1 else None)
    fig.tight_layout()
    figs["pairwise_agreement"] = fig

    if a.reference is not None:
        fig = Figure(figsize=(5.5, 4.5))
        plots.confusion(a.reference["confusion"], ax=fig.subplots())
        fig.tight_layout()
        figs["confusion"] = fig
    if a.rater_effects is not None:
        from ._rater_effects import differential_figure

        fig = Figure(figsize=(7.0, 5.5))     # the result's own plot is a pyplot figure
        a.rater_effects.fit.plot("wright", ax=fig.subplots())
        fig.tight_layout()
        figs["wright_map"] = fig
        drf = a.rater_effects.differential
        if drf is not None and drf["p"].notna().any():   # a cell with a test to draw
            figs["differential_severity"] = differential_figure(a.rater_effects)
    for name, fig in figs.items():
        fig.set_label(name)     # tells _png which figure it writes
        if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
            # the layout is done: without this, every savefig lays the figure out again in a
            # draw of its own before the one that renders
            fig.set_layout_engine(None)
    return figs


#: the coefficients of the compact per-office table (column heading, coefficient); the first
#: is the one the forest plot draws
OFFICE_COLUMNS = ((ALPHA, ALPHA),
                  ("Gwet's AC2 (quadratic weights)", "Gwet's AC2 (quadratic weights)"),
                  ("ICC2 (single rater)", "ICC2 (single rater, two-way random, absolute "
                                          "agreement)"),
                  ("percent agreement", "Percent agreement"))


#: the forest plot names each office up to this many offices
FOREST_LABELS_MAX = 60


def _office_rows(a: Audit, coefficient: str) -> pd.DataFrame:
    """One coefficient's rows of the per-office agreement, indexed by office (table order)."""
    by = a.agreement_by_office
    if by is None:
        return pd.DataFrame()
    rows = by[by["coefficient"].astype(str) == coefficient]
    return rows.set_index(by.columns[0])


def _wrap_label(name: str, width: int = 28, lines: int = 3) -> str:
    """A long name on up to ``lines`` lines of ``width`` characters (the rest as "…")."""
    import textwrap

    if len(name) <= width:
        return name
    return "\n".join(textwrap.wrap(name, width, max_lines=lines, placeholder=" …")) or name


def _finite(values: Any) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return np.where(np.isfinite(x), x, np.nan)


def _forest_figure(a: Audit) -> Any:
    """Krippendorff's alpha in each office with its interval, and all offices together (a
    forest plot); None when it is not defined in any office (nothing to draw)."""
    from matplotlib.figure import Figure

    from .._core import plots

    rows = _office_rows(a, ALPHA)
    if rows.empty or not np.isfinite(_finite(rows["estimate"])).any():
        return None
    labels = [_wrap_label(str(o)) for o in rows.index]
    lines = max(label.count("\n") + 1 for label in labels)
    n = len(rows)
    height = min(14.0, max(2.6, 1.3 + (n + 1.5) * (0.1 + 0.14 * lines)))
    fig = Figure(figsize=(6.5, height))
    ax = fig.subplots()
    est, lo, hi = (_finite(rows[c]) for c in ("estimate", "ci_low", "ci_high"))
    y = np.arange(n, dtype=float)
    gaps = np.full(n, np.nan)     # every interval in one line broken by NaN
    ax.plot(np.column_stack([lo, hi, gaps]).ravel(), np.column_stack([y, y, gaps]).ravel(),
            color="#7f9fbf", lw=2, solid_capstyle="butt")
    ax.plot(est, y, "s", ms=5, color="#1f4e79")
    ticks, names = list(y), labels
    every = [lo, hi, est]
    if ALPHA in a.agreement.index:
        o = a.agreement.loc[ALPHA]
        oe, ol, oh = (float(_finite([o[c]])[0]) for c in ("estimate", "ci_low", "ci_high"))
        yo = n + 0.5
        ax.plot([ol, oh], [yo, yo], color="#c55a11", lw=2, solid_capstyle="butt")
        ax.plot([oe], [yo], "D", ms=6, color="#c55a11")
        if math.isfinite(oe):
            ax.axvline(oe, color="#c55a11", lw=0.8, ls="--")
        ticks, names = [*ticks, yo], [*labels, "all offices"]
        every.append(np.array([oe, ol, oh]))
    for level in (0.667, 0.8):
        ax.axvline(level, color="grey", lw=0.8, ls=":")
    if n <= FOREST_LABELS_MAX:
        ax.set_yticks(ticks)
        ax.set_yticklabels(names, fontsize=8 if n <= 30 else 6)
    else:   # too many to read: the offices in the order of the table below
        ax.set_yticks([ticks[-1]] if len(ticks) > n else [])
        ax.set_yticklabels(names[n:], fontsize=8)
        ax.set_ylabel(f"{n} offices, in the order of the table", fontsize=9)
    ax.set_ylim(ticks[-1] + 0.7, -0.7)
    shown = np.concatenate(every)
    low = float(np.nanmin(shown)) if np.isfinite(shown).any() else 0.0
    ax.set_xlim(min(0.0, low) - 0.05, 1.02)
    conf = a.meta.get("confidence", 0.95)
    ax.set_xlabel("Krippendorff's alpha (ordinal); dotted: 0.667 and 0.8", fontsize=9)
    ax.set_title(f"Agreement within each office ({100 * conf:g}% intervals)", fontsize=10)
    plots._literal(ax)
    fig.tight_layout()
    return fig


def _pairwise_block(n: int) -> int:
    """Officers per block (each way) in the pairwise-agreement figure of ``n`` officers."""
    return max(1, math.ceil(n / PAIRWISE_FIGURE_CELLS))


#: figures drawn mostly as a heatmap of many cells: their PNG is written with the fastest
#: deflate level (a picture of noise-like cells shrinks by under 2% at the default level 6,
#: at four times the cost)
_FAST_PNG = frozenset({"pairwise_agreement"})


def _png(fig: Any) -> bytes:
    """The PNG file of a figure of :func:`figures` (which labels each with its name)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI,
                pil_kwargs={"compress_level": 1 if fig.get_label() in _FAST_PNG else 6})
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


#: columns an unsuffixed ``ci_low``/``ci_high`` pair is the interval of
_CI_OF = ("estimate", "variance", "measure")


def _interval_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """:func:`_table_html` of ``frame`` with each column and its interval in one cell,
    ``x [low, high]``: ``x`` with ``x_low``/``x_high``, and the first of :data:`_CI_OF` with
    ``ci_low``/``ci_high`` (the numbers are those of the full table, in fewer columns)."""
    cols = [str(c) for c in frame.columns]
    if len(set(cols)) != len(cols):
        return _table_html(frame, digits)
    pairs: dict[str, tuple[str, str]] = {}
    for c in cols:
        if f"{c}_low" in cols and f"{c}_high" in cols:
            pairs[c] = (f"{c}_low", f"{c}_high")
    if "ci_low" in cols and "ci_high" in cols:
        base = next((c for c in _CI_OF if c in cols and c not in pairs), None)
        if base is not None:
            pairs[base] = ("ci_low", "ci_high")
    if not pairs:
        return _table_html(frame, digits)
    frame = frame.set_axis(cols, axis=1)

    def num(x: Any) -> str:
        try:
            v = float(x)
        except (TypeError, ValueError):
            return str(x)
        return "" if math.isnan(v) else f"{v:.{digits}f}"

    merged = {}
    skip = {b for pair in pairs.values() for b in pair}
    for c in cols:
        if c in skip:
            continue
        if c in pairs:
            lo, hi = pairs[c]
            merged[c] = [
                num(e) + (f" [{num(a)}, {num(b)}]" if num(a) != "" and num(b) != "" else "")
                for e, a, b in zip(frame[c], frame[lo], frame[hi], strict=True)]
        else:
            merged[c] = frame[c].to_numpy()
    out = pd.DataFrame(merged, index=frame.index)
    return _table_html(out, digits)


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _num(x: Any, digits: int = 2) -> str:
    """A number for a compact table: NaN empty, an infinity as a sign and ∞."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return _esc(x)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.{digits}f}"


def _with_ci(row: Any, digits: int = 2) -> str:
    """``estimate [low, high]`` in a table cell; "not defined" (its note as a tooltip) when the
    estimate is not a number."""
    if row is None:
        return ""
    est = _num(row["estimate"], digits)
    if est == "":
        note = row.get("note") if hasattr(row, "get") else None
        tip = f" title='{_esc(note)}'" if isinstance(note, str) and note else ""
        return f"<span class='note'{tip}>not defined</span>"
    lo, hi = _num(row["ci_low"], digits), _num(row["ci_high"], digits)
    if lo == "" or hi == "":
        return est
    return f"{est} <span class='ci'>[{lo}, {hi}]</span>"


def _wrap(table: str) -> str:
    """A table in a box that scrolls sideways when the table is wider than the page."""
    return f"<div class='table-wrap'>{table}</div>"


def _details(summary: str, content: str) -> str:
    """Collapsed content (opened for printing) under a one-line summary (``summary`` is
    HTML, escaped by the caller)."""
    return f"<details><summary>{summary}</summary>{content}</details>"


def _agreement_table(a: Audit) -> str:
    """Every overall coefficient with its interval, compactly (the full table follows)."""
    conf = f"{100 * a.meta.get('confidence', 0.95):g}%"
    notes = _any_note(a.agreement)
    head = (f"<tr><th>coefficient</th><th>estimate [{conf} interval]</th><th>se</th>"
            + ("<th class='text'>note</th>" if notes else "") + "</tr>")
    body = []
    for name, row in a.agreement.iterrows():
        note = row.get("note")
        body.append(f"<tr><td>{_esc(name)}</td><td>{_with_ci(row)}</td>"
                    f"<td>{_num(row.get('se', math.nan), 3)}</td>"
                    + (f"<td class='text'>{_esc(note) if isinstance(note, str) else ''}</td>"
                       if notes else "") + "</tr>")
    return (f"<table class='compact' id='agreement-table'><thead>{head}</thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _office_table(a: Audit) -> str:
    """Offices as rows, the key coefficients as columns (with intervals), and the numbers of
    officers, cases and ratings; all offices together in the footer."""
    conf = f"{100 * a.meta.get('confidence', 0.95):g}%"
    by = a.agreement_by_office
    columns = [(head, _office_rows(a, name)) for head, name in OFFICE_COLUMNS]
    columns = [(head, rows) for head, rows in columns if not rows.empty]
    offices = list(dict.fromkeys(by.iloc[:, 0]))
    counts = by.drop_duplicates(by.columns[0]).set_index(by.columns[0])
    head = ("<tr><th>office</th>" + "".join(f"<th>{_esc(h)}</th>" for h, _ in columns)
            + "<th>officers</th><th>cases</th><th>ratings</th></tr>")

    def cells(get: Any) -> str:
        return "".join(f"<td>{_with_ci(get(rows))}</td>" for _, rows in columns)

    def count(x: Any) -> str:
        return _num(x, 0)

    body = []
    for office in offices:
        n = counts.loc[office]
        body.append(f"<tr><td>{_esc(office)}</td>"
                    + cells(lambda rows, o=office: rows.loc[o] if o in rows.index else None)
                    + f"<td>{count(n['n_raters'])}</td><td>{count(n['n_cases'])}</td>"
                      f"<td>{count(n['n_ratings'])}</td></tr>")
    names = dict(OFFICE_COLUMNS)
    overall = a.agreement
    first = overall.iloc[0] if len(overall) else None
    foot = ("<tr><td>all offices</td>"
            + "".join(f"<td>{_with_ci(overall.loc[names[h]]) if names[h] in overall.index else ''}"
                      "</td>" for h, _ in columns)
            + (f"<td>{count(first['n_raters'])}</td><td>{count(first['n_cases'])}</td>"
               f"<td>{count(first['n_ratings'])}</td>" if first is not None else
               "<td></td><td></td><td></td>") + "</tr>")
    return (f"<table class='compact' id='office-agreement'><caption class='meta'>Estimates "
            f"with {conf} intervals</caption><thead>{head}</thead>"
            f"<tbody>{''.join(body)}</tbody><tfoot>{foot}</tfoot></table>")


#: the alternative text and the one-line caption (what to look for) of each figure
_FIGURE_TEXT = {
    "agreement_by_office": (
        "Forest plot: Krippendorff's alpha (ordinal) in each office as a square with its "
        "interval as a horizontal line, and all offices together as a diamond with a dashed "
        "vertical line; dotted lines at 0.667 and 0.8",
        "Look for offices whose interval lies clear of the dashed all-offices line, and for "
        "intervals wholly below 0.667 (too unreliable to draw conclusions)."),
    "pairwise_agreement": (
        "Heatmap of exact agreement between every pair of officers, from 0 (never the same "
        "level, light) to 1 (always, dark)",
        "Look for light rows and columns: officers who seldom choose the level their "
        "colleagues choose."),
    "variance_shares": (
        "Horizontal bars: the share of the variance in the ratings due to cases, offices, "
        "officers and residual inconsistency, each with its interval",
        "The case bar should dominate: everything else is variation from who assessed the "
        "case, where, or chance."),
    "funnel": (
        "Funnel plot: each office's share of high ratings against its number of ratings, "
        "with control limits around the overall share",
        "Offices outside the outer limits rate high more (or less) often than chance allows "
        "for an office of their size."),
    "effects": (
        "Caterpillar plots: the estimated effect of each office and of each officer on the "
        "rating scale, sorted, with intervals",
        "Effects whose interval does not cross the zero line rate consistently higher "
        "(right) or lower (left) than average."),
    "confusion": (
        "Heatmap of counts: reference level (rows) by the officers' rating (columns), with "
        "the cells where the two agree outlined",
        "Counts off the outlined diagonal are disagreements; compare the two sides to see "
        "whether officers rate higher or lower than the reference."),
    "wright_map": (
        "Wright map: cases, officers (and offices) and the rating-scale thresholds on one "
        "logit scale",
        "Officers far from the others are unusually severe or lenient; thresholds should be "
        "in order and spread out."),
    "differential_severity": (
        "Heatmap of differential severity: officers (rows) by case attribute value "
        "(columns), in logits, red when rated higher and blue when lower than expected",
        "Strongly coloured cells are officers who rate one kind of case differently from "
        "how they rate the others."),
}


def render_body(a: Audit, pngs: dict[str, bytes] | None = None,
                tabs: dict[str, pd.DataFrame] | None = None) -> str:
    """The report's body (used by Jupyter and inside the full page); ``pngs`` and ``tabs``
    are the figures' PNG files and :func:`tables` of ``a``, if made.

    Laid out for reading: the headline, a table of contents, the findings, then each section
    with its figures (``<figure>`` with alternative text and a one-line caption) and compact
    tables; the long tables are collapsed (``<details>``, opened when printed) and every
    table sits in a box that scrolls sideways rather than the page."""
    if pngs is None:
        pngs = {k: _png(f) for k, f in figures(a).items()}
    if tabs is None:
        tabs = tables(a)

    def img(name: str, alt: str = "", caption: str = "") -> str:
        if name not in pngs:
            return ""
        png = pngs[name]
        data = base64.b64encode(png).decode("ascii")
        default_alt, default_caption = _FIGURE_TEXT.get(name, (name, ""))
        size = ""
        if png[12:16] == b"IHDR":   # the figure as wide as its picture: the caption wraps there
            w, h = struct.unpack(">II", png[16:24])
            size = f" width='{w}' height='{h}'"
            style = f" style='width:{w}px'"
        else:
            style = ""
        return (f"<figure id='figure-{_esc(name)}'{style}><img "
                f"src=\"data:image/png;base64,{data}\" alt=\"{_esc(alt or default_alt)}\"{size}>"
                f"<figcaption>{_esc(caption or default_caption)}</figcaption></figure>")

    toc: list[tuple[str, str]] = []

    def heading(level: int, anchor: str, title: str, listed: bool = True) -> str:
        if listed:
            toc.append((anchor, title))
        return f"<h{level} id='{anchor}'>{_esc(title)}</h{level}>"

    m = a.meta
    offices = f" in {m['n_offices']} offices" if m["n_offices"] else ""
    head = ["<h1>Consistency audit of risk assessments</h1>",
            f"<p class='meta'>{m['n_ratings']} ratings of {m['n_cases']} cases by "
            f"{m['n_officers']} officers{offices}; levels: "
            f"{_esc(', '.join(map(str, m['categories'])))}."
            + (" Officers are identified by office and officer id together (the same id "
               "in two offices is two officers)." if m["n_offices"] else "")
            + (" Officer and office identifiers are pseudonymised." if m.get("pseudonymised")
               else "") + f" riskeval {_esc(__version__)}. In the tables, x [low, high] is an "
            f"estimate with its {100 * m.get('confidence', 0.95):g}% interval; every table "
            "in full is in the tables folder beside this page (CSV) and every number in "
            "summary.json.</p>"]
    parts = [heading(2, "findings", "Summary of findings"), "<div class='findings'>"]
    for f in a.findings:
        parts.append(f"<div class='finding' id='finding-{_esc(f.key)}'><strong>"
                     f"{_esc(f.title)}.</strong> {_esc(f.text)}</div>")
    parts.append("</div>")

    noted = _any_note(a.agreement)
    overall = _wrap(_agreement_table(a))
    full = _details("Every column: standard errors, interval methods and counts "
                    "(tables/agreement.csv)", _wrap(_table_html(a.agreement)))
    parts += [heading(2, "agreement", "Agreement"),
              "<p>An empty estimate or interval is not defined on these data; the note on "
              "its row says why.</p>" if noted else ""]
    if a.agreement_by_office is None:
        parts += [overall, full]
    else:
        n_off = a.agreement_by_office.iloc[:, 0].nunique()
        n_coef = len(a.agreement)
        parts += ["<p>Agreement among the officers of each office, and of all officers "
                  "together (the last row). The offices' intervals are for their own officers "
                  "(cases vary, the team is fixed); the all-offices intervals allow for the "
                  "officers being a sample of officers like them, and are wider.</p>",
                  img("agreement_by_office"),
                  f"<div id='agreement-by-office'>{_wrap(_office_table(a))}</div>",
                  # open when a coefficient is not defined: the notes say why
                  f"<details{' open' if noted else ''}><summary>All {n_coef} coefficients "
                  f"over all offices</summary>{overall}{full}</details>",
                  _details(f"All {a.agreement_by_office['coefficient'].nunique()} "
                           f"coefficients in each of the {n_off} offices "
                           f"({len(a.agreement_by_office)} rows; "
                           "tables/agreement_by_office.csv)",
                           _wrap(_table_html(tabs["agreement_by_office"])))]
    n = len(a.pairwise.matrix)
    k = _pairwise_block(n)
    blocks = (f" With {n:,} officers the figure cannot give each pair a cell: each cell drawn "
              f"is the mean over a block of {k} × {k} pairs of neighbouring officers (in the "
              f"order of tables/officer_agreement.csv)." if k > 1 else "")
    parts += [heading(3, "pairs", "Agreement between pairs of officers"),
              "<p>Each cell is the share of shared cases on which two officers chose the same "
              f"level.{blocks}</p>",
              "<div class='row'>", img("pairwise_agreement"),
              "<div><h3 id='least'>Officers who agree least with their colleagues</h3>",
              "<p>Each officer's exact agreement with all other officers over the cases they "
              "share (the ten lowest; every officer is in tables/officer_agreement.csv).</p>",
              _wrap(_table_html(tabs["officer_agreement"].nsmallest(10, "agreement"))),
              "</div></div>"]

    parts += [heading(2, "variation", "Sources of variation"), "<div class='row'>",
              img("variance_shares")]
    if a.ordinal is not None:
        parts += ["<div><h3 id='latent'>On the latent scale (ordinal probit model)</h3>",
                  "<p>Standard deviations of the effects in units of the unexplained "
                  "variation of one judgement.</p>", _wrap(_interval_table(a.ordinal)), "</div>"]
    parts += ["</div>", _wrap(_interval_table(a.variance))]

    parts += [heading(2, "offices", "Offices compared fairly")]
    if a.funnel is not None:
        parts += [img("funnel"),
                  _details("The funnel table: each office's share of high ratings and its "
                           "limits (tables/funnel.csv)", _wrap(_table_html(a.funnel.table)))]
    parts += [img("effects")]

    if a.reference is not None:
        parts += [heading(2, "direction", "Direction of disagreement against the reference"),
                  "<div class='row'>", img("confusion"),
                  _wrap(_table_html(a.reference["confusion"])), "</div>",
                  f"<p>{_esc(a.reference['symmetry'].summary())}</p>",
                  _wrap(_interval_table(a.reference["directional"]))]
    if a.inflation_trend is not None:
        parts += [heading(3, "drift", "Drift over calendar time"),
                  _wrap(_table_html(a.inflation_trend))]
    if a.anchoring is not None:
        parts += [heading(2, "anchoring", "Anchoring on repeat assessments"),
                  _wrap(_interval_table(a.anchoring))]
    if a.overrides is not None:
        parts += [heading(2, "overrides", "Manager overrides"),
                  _wrap(_interval_table(a.overrides))]
    if a.rater_effects is not None:
        parts += _rater_section(a.rater_effects, img, heading, pngs)

    parts.append(heading(2, "methods", "Methods") + "<dl class='methods'>")
    for name, what, ref in METHODS:
        parts.append(f"<dt><strong>{_esc(name)}</strong></dt><dd>{_esc(what)} "
                     f"<em>{_esc(ref)}</em></dd>")
    parts.append("</dl>")
    if a.notes:
        parts.append(heading(2, "notes", "Notes") + "<ul>" + "".join(
            f"<li class='note'>{_esc(n)}</li>" for n in a.notes) + "</ul>")
    nav = ("<nav class='toc' aria-label='Contents'><strong>Contents</strong><ol>"
           + "".join(f"<li><a href='#{anchor}'>{_esc(title)}</a></li>" for anchor, title in toc)
           + "</ol></nav>")
    return "<div class='riskeval-audit'>" + "\n".join([*head, nav, *parts]) + "</div>"


def _rater_section(r: Any, img: Any, heading: Any, pngs: dict[str, bytes]) -> list[str]:
    """The rater-effects part of the report body."""
    from ._rater_effects import ALPHA_FLAG

    flagged = r.officers[r.officers["flags"] != ""]
    # the flags first: what an officer is flagged for is seen without scrolling sideways
    cols = [c for c in ("office", "flags", "measure", "se", "fair_average", "observed_average",
                        "count", "infit", "outfit", "end_observed", "end_expected")
            if c in r.officers.columns]
    parts = [heading(2, "rater-effects", "Rater effects"),
             "<p>A many-facet Rasch analysis puts cases, officers"
             + (" and offices" if r.offices is not None else "") + " on one logit scale. "
             "Severity follows FACETS' convention: a higher measure means lower ratings. The "
             "fair average is the level (numbered from 1) an officer would give a case of "
             "average risk.</p>",
             img("wright_map"),
             _details("Facets: spread, separation and reliability of cases, officers"
                      + (" and offices" if r.offices is not None else "")
                      + " (tables/rater_facets.csv)", _wrap(_table_html(r.facets)))]
    if r.offices is not None:
        parts += [heading(3, "rater-offices", "Offices", listed=False),
                  _wrap(_interval_table(r.offices[[
                      "flags", *(c for c in r.offices.columns if c != "flags")]]
                      if "flags" in r.offices.columns else r.offices))]
    parts += [heading(3, "rater-flagged", f"Officers flagged ({len(flagged)} of "
                      f"{len(r.officers)})", listed=False),
              "<p>Every officer is in tables/rater_officers.csv.</p>",
              _wrap(_table_html(flagged[cols].head(30))) if len(flagged) else "<p>None.</p>",
              _details("The rating scale: use of each level and its thresholds "
                       "(tables/rating_scale.csv)", _wrap(_table_html(r.scale)))]
    for title, table, what, anchor in (
            ("Differential severity", r.differential, "officer x case attribute",
             "differential"),
            ("Drift over the years", r.drift, "officer x year", "rater-drift")):
        if table is None:
            continue
        hit = table[table["p_holm"] < ALPHA_FLAG]
        parts += [heading(3, anchor, title, listed=False),
                  f"<p>{len(hit)} {what} combination(s) with Holm-adjusted p &lt; "
                  f"{ALPHA_FLAG} (all in tables/"
                  f"{'differential_severity' if table is r.differential else 'rater_drift'}"
                  f".csv).</p>"]
        if title == "Differential severity" and "differential_severity" in pngs:
            parts.append(_details("The figure: every officer's bias on each kind of case",
                                  img("differential_severity")))
        if len(hit):
            parts.append(_wrap(_table_html(hit.head(30))))
    return parts


def render_html(a: Audit, pngs: dict[str, bytes] | None = None,
                tabs: dict[str, pd.DataFrame] | None = None) -> str:
    """A complete HTML page with no external resources."""
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>riskeval consistency audit</title>"
            f"<style>{_CSS}</style><script>{_PRINT_JS}</script></head><body>\n"
            f"{render_body(a, pngs, tabs)}\n</body></html>\n")


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


#: the file in every report folder that lists what riskeval wrote there, with each file's
#: SHA-256, so that ``force`` can tell an earlier report from a folder of other files
MARKER = ".riskeval-report"

#: the figures a report can hold (to recognise a report written before the marker existed)
_FIGURES = ("variance_shares", "effects", "funnel", "pairwise_agreement", "confusion",
            "wright_map", "differential_severity", "agreement_by_office")

#: the folders in a report
_REPORT_FOLDERS = ("tables", "figures")

_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def save(a: Audit, outdir: Any, *, force: bool = False) -> Path:
    """Write the report folder so that it never deletes anything it did not check.

    The report is written into a private temporary folder (mode 0700) beside ``outdir``,
    named ``.<outdir>.riskeval-tmp.<host>.<pid>.<random>``, and only then moved into place:

    * ``outdir`` absent: the folder is renamed into place with a rename that never replaces
      (``renameat2(RENAME_NOREPLACE)`` on Linux, ``renamex_np(RENAME_EXCL)`` on macOS, plain
      rename on Windows); if anything appeared at ``outdir`` meanwhile, nothing is touched and
      a :class:`RiskevalError` says so. (Elsewhere a plain rename is used, which on POSIX can
      replace only an *empty* folder.)
    * ``outdir`` exists: at the start its entries are listed (name, type, inode, size, mtime);
      it must be empty, or with ``force`` an earlier riskeval report: every file listed in its
      :data:`MARKER` with an unchanged SHA-256 (a report of an older version without the marker
      is recognised by its summary.json and known file names). At the end ``outdir`` is renamed
      aside to ``.<outdir>.riskeval-old.<host>.<pid>.<random>`` (a name nobody else writes to)
      and listed again: if anything was added or changed since the check, it is renamed back
      and the save refuses. Otherwise the new report is renamed into place (never replacing) and
      exactly the checked files of the old folder are deleted. If that rename fails, the old
      folder is renamed back. No lock is needed: every decision is made by a rename the kernel
      performs atomically, and two saves into one folder cannot both succeed.

    SIGINT, SIGTERM and SIGHUP are caught while saving (main thread only), the temporary
    folder is removed, the previous handlers are restored and the signal is delivered to them
    again (SIGINT raises KeyboardInterrupt; SIGTERM ends the process as it would have). A save
    killed outright (SIGKILL) leaves its temporary folder; the next save into the same
    ``outdir`` removes it once its process is gone, and puts back an old report it had moved
    aside. Returns the path of report.html.
    """
    out = Path(outdir)
    target = Path(os.path.realpath(out))      # a symbolic link: its folder gets the report
    _remove_stale(target)
    before = _check_outdir(out, target, force)
    parent = target.parent
    created = parent   # the highest folder this call creates, removed again on failure
    while not created.parent.exists():
        created = created.parent
    created = None if created.exists() else created
    parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    with _Signals() as guard:
        try:
            with guard.held():
                tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target, "tmp"), dir=parent))
            os.chmod(tmp, 0o700)
            (tmp / "tables").mkdir()
            (tmp / "figures").mkdir()
            pngs = {}
            for name, fig in figures(a).items():
                pngs[name] = _png(fig)
                (tmp / "figures" / f"{name}.png").write_bytes(pngs[name])
            tabs = tables(a)
            for name, frame in tabs.items():
                write_csv(frame, tmp / "tables" / f"{name}.csv")
            (tmp / "summary.json").write_text(_json(summary_dict(a, tabs)), encoding="utf-8")
            (tmp / "report.html").write_text(render_html(a, pngs, tabs), encoding="utf-8")
            _write_marker(tmp)
            with guard.held():
                _place(tmp, out, target, before)
        except BaseException:
            with guard.held():
                if tmp is not None:
                    shutil.rmtree(tmp, ignore_errors=True)
                here = parent    # the folders this call made, if still empty (a folder
                while created is not None:   # that appeared meanwhile is not ours to delete)
                    try:
                        here.rmdir()
                    except OSError:
                        break
                    if here == created:
                        break
                    here = here.parent
            raise
    return out / "report.html"


def check_outdir(outdir: Any, *, force: bool = False) -> None:
    """Raise :class:`RiskevalError` unless :func:`save` may write to ``outdir`` (call it
    before a long computation; ``save`` checks again)."""
    out = Path(outdir)
    _check_outdir(out, Path(os.path.realpath(out)), force)


def _names(paths: Any, limit: int = 5) -> str:
    paths = sorted(p.rstrip("/") for p in paths)
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


def _listing(folder: Path, into: Any = None) -> dict[str, tuple[int, ...]]:
    """Every entry below ``folder`` (symbolic links not followed), folders as ``name/``; of the
    folders directly in ``folder`` only those named in ``into`` are entered (None: all)."""
    found: dict[str, tuple[int, ...]] = {}

    def walk(path: str, rel: str) -> None:
        with os.scandir(path) as entries:
            for e in entries:
                st = e.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    found[f"{rel}{e.name}/"] = (stat.S_IFDIR, st.st_ino)
                    if rel or into is None or e.name in into:
                        walk(e.path, f"{rel}{e.name}/")
                else:
                    found[rel + e.name] = (stat.S_IFMT(st.st_mode), st.st_ino, st.st_size,
                                           st.st_mtime_ns)
    walk(str(folder), "")
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_marker(folder: Path) -> None:
    written = {rel: _sha256(folder / rel) for rel in sorted(_listing(folder))
               if not rel.endswith("/")}
    (folder / MARKER).write_text(json.dumps(
        {"riskeval_report": 1, "riskeval_version": __version__, "files": written}, indent=1),
        encoding="utf-8")


def _report_files(folder: Path, found: dict[str, tuple[int, ...]]) -> dict[str, str | None]:
    """The files riskeval wrote into an earlier report in ``folder`` (with their SHA-256, or
    None for a report of an older version, which lists no hashes); {} if it is none."""
    if MARKER in found:
        try:
            marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
            listed = marker["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        if not isinstance(listed, dict):
            return {}
        return {MARKER: None, **{str(k): str(v) for k, v in listed.items()}}
    if "summary.json" not in found:
        return {}
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        names = [*summary["tables"], "findings"] if "riskeval_version" in summary else []
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not names:
        return {}
    legacy = ["report.html", "summary.json", *(f"tables/{n}.csv" for n in names),
              *(f"figures/{n}.png" for n in _FIGURES)]
    return dict.fromkeys(legacy)


def _check_outdir(out: Path, target: Path, force: bool) -> dict[str, tuple[int, ...]] | None:
    """None if ``out`` does not exist, else the listing of its entries, which may be replaced:
    none, or with ``force`` exactly the files of an earlier riskeval report."""
    if os.path.islink(out) and not target.exists():
        raise RiskevalError(f"output {str(out)!r} is a symbolic link to {str(target)!r}, "
                            f"which does not exist; create that folder or choose another")
    if not target.exists():
        return None
    if not target.is_dir():
        raise RiskevalError(f"output {str(out)!r} exists and is not a folder")
    with os.scandir(target) as entries:
        top = sorted(e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in entries)
    if not top:
        return {}
    if not force:
        raise RiskevalError(f"output folder {str(out)!r} exists and is not empty; choose "
                            f"another folder or pass --force (force=True) to replace an "
                            f"earlier riskeval report there")
    found = _listing(target, into=_REPORT_FOLDERS)
    ours = _report_files(target, found) if {MARKER, "summary.json"} & set(top) else {}
    files = {k: v for k, v in found.items() if not k.endswith("/")}
    if not ours:
        raise RiskevalError(
            f"output folder {str(out)!r} is not an earlier riskeval report (it has no "
            f"{MARKER} file) and --force replaces only a report riskeval wrote; it holds "
            f"{_names(top)}. Choose another folder, or move those files away yourself")
    dirs = {f"{d}/" for d in _REPORT_FOLDERS}
    foreign = [rel for rel, kind in found.items()
               if not (rel in dirs or (rel in ours and kind[0] == stat.S_IFREG))]
    if foreign:
        raise RiskevalError(f"output folder {str(out)!r} holds files riskeval did not write: "
                            f"{_names(foreign)}; --force replaces only riskeval's own report "
                            f"and never deletes other files. Move them elsewhere or choose "
                            f"another folder")
    changed = [rel for rel in files if ours[rel] is not None and _sha256(target / rel) != ours[rel]]
    if changed:
        raise RiskevalError(f"in output folder {str(out)!r} these files changed since riskeval "
                            f"wrote them: {_names(changed)}; --force will not delete edited "
                            f"files. Move them elsewhere or choose another folder")
    return found


def _place(tmp: Path, out: Path, target: Path, before: dict[str, tuple[int, ...]] | None) -> None:
    """Move the finished report ``tmp`` to ``target``, replacing only what ``before`` lists."""
    gone = (errno.EEXIST, errno.ENOTEMPTY)
    if before is None:
        os.chmod(tmp, stat.S_IMODE((tmp / "tables").stat().st_mode))   # as the umask says
        try:
            _rename_noreplace(tmp, target)
        except OSError as exc:
            if exc.errno not in gone:
                raise
            raise RiskevalError(f"output folder {str(out)!r} appeared while the report was "
                                f"written (another program or riskeval run?); nothing in it "
                                f"was touched and this report was not saved") from None
        return
    aside = target.parent / f"{_temp_prefix(target, 'old')}{secrets.token_hex(4)}"
    try:
        _rename_noreplace(target, aside)
    except FileNotFoundError:
        raise RiskevalError(f"output folder {str(out)!r} changed while the report was written "
                            f"(it was moved or removed); this report was not saved") from None
    except OSError as exc:     # e.g. a mount point, or a parent folder that is not writable
        raise RiskevalError(f"cannot replace the output folder {str(out)!r}: "
                            f"{exc.strerror or exc}; choose another folder") from None
    try:
        now = _listing(aside, into=_REPORT_FOLDERS)
        if now != before:
            news = [k for k in now if now[k] != before.get(k)]
            news += [k for k in before if k not in now]
            raise RiskevalError(f"output folder {str(out)!r} changed while the report was "
                                f"written ({_names(news)}); nothing in it was deleted and this "
                                f"report was not saved")
        os.chmod(tmp, stat.S_IMODE(aside.stat().st_mode))
        _rename_noreplace(tmp, target)
    except BaseException:
        try:
            _rename_noreplace(aside, target)
        except OSError as exc:
            raise RiskevalError(f"could not put the earlier contents of {str(out)!r} back: "
                                f"they are in {str(aside)!r} ({exc})") from exc
        raise
    _discard(aside, before)


def _discard(folder: Path, listing: dict[str, tuple[int, ...]]) -> None:
    """Delete the checked entries of ``folder`` and the folder; anything else stays."""
    for rel in sorted(listing, key=lambda r: (r.endswith("/"), -r.count("/"), r)):
        path = folder / rel.rstrip("/")
        try:
            if rel.endswith("/"):
                path.rmdir()
            else:
                path.unlink()
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        pass


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:24] or "host"


def _temp_stem(target: Path) -> str:
    """``.<name>.riskeval-``, the start of the temporary folders of saves into ``target``
    (a long name shortened, with a hash of the whole)."""
    name = target.name
    if len(name) > 120:
        name = name[:80] + "-" + hashlib.sha256(target.name.encode()).hexdigest()[:12]
    return f".{name}.riskeval-"


def _temp_prefix(target: Path, kind: str) -> str:
    """``.<name>.riskeval-<kind>.<host>.<pid>.``: a temporary folder of this process."""
    return f"{_temp_stem(target)}{kind}.{_host()}.{os.getpid()}."


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale(target: Path) -> None:
    """Remove what saves into ``target`` killed outright (SIGKILL, power loss) left beside it:
    their temporary folders, and an earlier report one of them had moved aside (put back if
    ``target`` is missing; deleted only if it is wholly a riskeval report)."""
    pattern = re.compile(re.escape(_temp_stem(target))
                         + r"(tmp|old)\.([A-Za-z0-9-]*)\.(\d+)\.[A-Za-z0-9_]+")
    legacy = re.compile(re.escape(f".{target.name}.tmp-") + r"[a-z0-9_]{8}")
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        m = pattern.fullmatch(entry.name)
        if m is None:   # an older version's temporary folder: removed after a day
            if legacy.fullmatch(entry.name) and time.time() - entry.stat().st_mtime > 86400:
                shutil.rmtree(path, ignore_errors=True)
            continue
        kind, host, pid = m.group(1), m.group(2), int(m.group(3))
        if host != _host() or _alive(pid):
            continue
        if kind == "tmp":
            shutil.rmtree(path, ignore_errors=True)
            continue
        try:
            if not os.path.lexists(target):
                _rename_noreplace(path, target)
            else:
                _discard(path, _check_outdir(path, path, force=True) or {})
        except (OSError, RiskevalError):
            pass    # not wholly a report: left for its owner


class _Interrupted(KeyboardInterrupt):
    """A signal that arrived during a save (re-delivered once the save has cleaned up)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


class _Signals:
    """While a save runs, SIGINT/SIGTERM/SIGHUP raise :class:`_Interrupted` (so the cleanup
    runs) or, inside :meth:`held`, wait until the end. On exit the previous handlers come back
    and a signal received is delivered to them."""

    def __enter__(self) -> _Signals:
        self.old: dict[int, Any] = {}
        self.pending: int | None = None
        self.depth = 0
        if threading.current_thread() is not threading.main_thread():
            return self     # signals reach the main thread only
        for sig in _SIGNALS:
            previous = signal.getsignal(sig)
            if previous in (signal.SIG_IGN, None):
                continue    # ignored (nohup), or set outside Python: left alone
            try:
                signal.signal(sig, self._handler)
            except (ValueError, OSError):
                continue
            self.old[sig] = previous
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        if self.depth:
            self.pending = self.pending or signum
            return
        raise _Interrupted(signum)

    @contextlib.contextmanager
    def held(self) -> Any:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        for sig, previous in self.old.items():
            signal.signal(sig, previous)
        signum = exc.signum if isinstance(exc, _Interrupted) else self.pending
        if signum is None or signum not in self.old:
            return False
        previous = self.old[signum]
        if callable(previous):
            previous(signum, None)      # Python's SIGINT handler raises KeyboardInterrupt
        elif previous == signal.SIG_DFL:
            os.kill(os.getpid(), signum)    # ends the process, as it would have
        return False


def _noreplace_function() -> Any:
    """The C function that renames without replacing, or None."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if hasattr(libc, "renameat2"):      # Linux (glibc 2.28+)
        fn = libc.renameat2
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                       ctypes.c_uint]
        fn.restype = ctypes.c_int
        return lambda a, b: fn(-100, a, -100, b, 1)    # AT_FDCWD, RENAME_NOREPLACE
    if hasattr(libc, "renamex_np"):     # macOS
        fn = libc.renamex_np
        fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        fn.restype = ctypes.c_int
        return lambda a, b: fn(a, b, 4)                # RENAME_EXCL
    return None


_NOREPLACE: list[Any] = []


def _rename_noreplace(src: Any, dst: Any) -> None:
    """Rename ``src`` to ``dst``; FileExistsError if ``dst`` exists (it is never replaced)."""
    if not _NOREPLACE:
        _NOREPLACE.append(_noreplace_function() if os.name == "posix" else None)
    fn = _NOREPLACE[0]
    if fn is not None:
        if fn(os.fsencode(src), os.fsencode(dst)) == 0:
            return
        err = ctypes.get_errno()
        unsupported = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP,
                       getattr(errno, "EOPNOTSUPP", errno.ENOTSUP))
        if err not in unsupported:
            raise OSError(err, os.strerror(err), str(src), None, str(dst))
    if os.name == "nt":
        os.rename(src, dst)     # never replaces on Windows
        return
    if os.path.lexists(dst):    # no such call here: a plain rename, which on POSIX replaces
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))   # only an
    os.rename(src, dst)         # empty folder
