"""The pages of ``riskeval app``: plain HTML built in Python, every string escaped here.

Each function returns the page's HTML; none reads a request. Values from the user or the
file (column names, cells, file names, messages) go through :func:`esc` and nothing else
reaches the page unescaped.

Internal to the app: no public names (``riskeval.app`` holds the entry points).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

STEPS = ("Upload", "Preview", "Columns", "Levels", "Options", "Run", "Report")

CSS = """
:root { --ink: #1f2933; --muted: #52606d; --line: #cbd2d9; --accent: #1d4e89;
        --bad: #9b1c1c; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: var(--bg); margin: 0; }
header { background: var(--accent); color: #fff; padding: .8rem 1.5rem; }
header h1 { font-size: 1.25rem; margin: 0; font-weight: 600; }
nav ol { list-style: none; display: flex; gap: .4rem; margin: .6rem 0 0; padding: 0;
         flex-wrap: wrap; }
nav li { padding: .15rem .6rem; border-radius: 1rem; background: rgba(255,255,255,.15);
         font-size: .9rem; }
nav li.now { background: #fff; color: var(--accent); font-weight: 600; }
nav li.done { background: rgba(255,255,255,.35); }
main { max-width: 76rem; margin: 1.2rem auto; padding: 0 1.5rem; }
section.card { background: #fff; border: 1px solid var(--line); border-radius: .5rem;
               padding: 1rem 1.3rem; margin-bottom: 1rem; }
h2 { font-size: 1.2rem; margin: 0 0 .6rem; }
p.hint { color: var(--muted); margin: .3rem 0 .8rem; }
.message { border-left: 4px solid var(--bad); background: #fdecea; padding: .7rem 1rem;
           margin-bottom: 1rem; white-space: pre-wrap; }
.message strong { color: var(--bad); }
table { border-collapse: collapse; font-size: .92rem; }
th, td { border: 1px solid var(--line); padding: .25rem .55rem; text-align: left;
         vertical-align: top; }
th { background: #e4e7eb; }
.scroll { overflow-x: auto; max-width: 100%; }
label { display: inline-block; min-width: 22rem; }
.check label { min-width: 0; margin-left: .45rem; }
.row { margin: .45rem 0; }
select, input[type=text], input[type=password], input[type=number] {
  font: inherit; padding: .2rem .35rem; border: 1px solid var(--line); border-radius: .3rem; }
button, .button { font: inherit; background: var(--accent); color: #fff; border: 0;
                  border-radius: .3rem; padding: .45rem 1rem; cursor: pointer;
                  text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #e4e7eb; color: var(--ink); }
.actions { margin-top: 1rem; display: flex; gap: .6rem; flex-wrap: wrap; }
progress { width: 100%; height: 1.4rem; }
.finding h3 { font-size: 1.02rem; margin: .8rem 0 .2rem; }
.finding p { margin: 0 0 .5rem; }
iframe { width: 100%; height: 60rem; border: 1px solid var(--line); background: #fff; }
pre { background: #f0f4f8; padding: .6rem; overflow-x: auto; }
#levels td { vertical-align: middle; }
#levels td.count { text-align: right; color: var(--muted); }
"""

#: the only script: polls the status URL, moves the bar, opens the report when done
POLL_JS = """
(function () {
  var box = document.getElementById("progress");
  var bar = document.getElementById("bar");
  var label = document.getElementById("step");
  function poll() {
    fetch(box.dataset.status, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.max = s.total; bar.value = s.done;
        label.textContent = (s.label || s.state) + " (" + s.done + " of " + s.total +
          " steps done)";
        if (s.state === "done" || s.state === "error") {
          window.location.assign(box.dataset.next);
        } else {
          window.setTimeout(poll, 400);
        }
      })
      .catch(function () { window.setTimeout(poll, 1500); });
  }
  poll();
}());
"""

__all__: list[str] = []


def esc(value: Any) -> str:
    """``value`` as text, HTML-escaped (quotes too), for element content and attributes.

    Examples
    --------
    >>> esc('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def layout(title: str, body: str, *, step: int | None, nonce: str, script: str = "",
           head: str = "") -> str:
    """A complete page: the header with the seven steps (``step`` 1-7 is the current one),
    then ``body`` (HTML already escaped by the caller)."""
    items = []
    for i, name in enumerate(STEPS, start=1):
        cls = "now" if step == i else ("done" if step is not None and i < step else "")
        items.append(f'<li class="{cls}">{i}. {esc(name)}</li>')
    js = f'<script nonce="{esc(nonce)}">{script}</script>' if script else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>{esc(title)} - riskeval</title>{head}"
        f"<style nonce=\"{esc(nonce)}\">{CSS}</style></head><body>"
        "<header><h1>riskeval: consistency audit of risk ratings</h1>"
        f"<nav aria-label=\"steps\"><ol>{''.join(items)}</ol></nav></header>"
        f"<main>{body}</main>{js}</body></html>"
    )


def checkbox(name: str, label: str, checked: bool) -> str:
    """A ticked-or-not box with its label after it."""
    tick = " checked" if checked else ""
    return (f'<div class="row check"><input type="checkbox" name="{esc(name)}" '
            f'id="{esc(name)}" value="1"{tick}><label for="{esc(name)}">{esc(label)}</label>'
            "</div>")


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'


def message_box(message: str, title: str = "Please check") -> str:
    return (f'<div class="message" role="alert"><strong>{esc(title)}:</strong> '
            f'{esc(message)}</div>')


def upload_page(*, csrf: str, nonce: str, limit_mb: float, spreadsheets: bool,
                message: str = "") -> str:
    kinds = ("CSV, Excel (.xlsx, .xlsm), OpenDocument (.ods) or Parquet" if spreadsheets
             else "CSV")
    accept = ".csv,.txt,.tsv,.xlsx,.xlsm,.ods,.parquet" if spreadsheets else ".csv,.txt,.tsv"
    body = (
        (message_box(message) if message else "")
        + '<section class="card"><h2>1. Upload the ratings</h2>'
        f'<p class="hint">A {esc(kinds)} file with a header row: one row per case and '
        "officer (columns such as case, officer, rating, office), or one column per officer. "
        f"At most {esc(_mb(limit_mb))}. The file stays on this computer, in a private "
        "folder that is removed when the app stops.</p>"
        '<form method="post" action="/upload" enctype="multipart/form-data">'
        f"{csrf_field(csrf)}"
        f'<div class="row"><input type="file" name="file" id="file" required '
        f'accept="{accept}"></div>'
        '<div class="actions"><button type="submit" id="upload">Upload</button></div>'
        "</form></section>"
    )
    return layout("Upload", body, step=1, nonce=nonce)


def _mb(limit_mb: float) -> str:
    return f"{limit_mb:.4g} MB"


def frame_table(frame: pd.DataFrame, *, table_id: str = "preview") -> str:
    """The first rows of a table as an HTML table (cells escaped; empty cells blank)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = "".join(f"<td>{'' if _missing(v) else esc(v)}</td>" for v in row.tolist())
        rows.append(f"<tr>{cells}</tr>")
    return (f'<div class="scroll"><table id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def preview_page(*, csrf: str, nonce: str, base: str, filename: str, frame: pd.DataFrame | None,
                 n_rows: int | None, sheets: Sequence[str], sheet: str | None, wide: bool,
                 office_row: bool, encodings: Sequence[tuple[str, str]] = (),
                 encoding: str = "", message: str = "") -> str:
    sheet_html = ""
    if len(sheets) > 1:
        opts = "".join(f'<option value="{i}"{" selected" if s == sheet else ""}>{esc(s)}'
                       "</option>" for i, s in enumerate(sheets))
        sheet_html = (f'<div class="row"><label for="sheet">Sheet</label>'
                      f'<select name="sheet" id="sheet">{opts}</select> '
                      '<button type="submit" name="action" value="show" class="secondary">'
                      "Show this sheet</button></div>")
    if encodings:
        opts = "".join(f'<option value="{esc(v)}"{" selected" if v == encoding else ""}>'
                       f"{esc(label)}</option>" for v, label in encodings)
        sheet_html += (f'<div class="row"><label for="encoding">Text encoding of the CSV '
                       f'file</label><select name="encoding" id="encoding">{opts}</select> '
                       '<button type="submit" name="action" value="show" class="secondary" '
                       'id="show">Read it again</button></div>')
    table = frame_table(frame) if frame is not None else ""
    shown = ""
    if frame is not None:
        shown = (f'<p class="hint">The first {len(frame)} of {n_rows} rows of '
                 f"<strong>{esc(filename)}</strong>"
                 + (f", sheet <strong>{esc(sheet)}</strong>" if sheet is not None else "")
                 + ".</p>")
    body = (
        (message_box(message) if message else "")
        + '<section class="card"><h2>2. Preview</h2>'
        f"{shown}{table}"
        f'<form method="post" action="{esc(base)}/preview">{csrf_field(csrf)}{sheet_html}'
        + checkbox("wide", "One column per officer (wide)", wide)
        + checkbox("office_row", "The second header row holds the office", office_row)
        + '<div class="actions"><a class="button secondary" href="/">Another file</a>'
        '<button type="submit" name="action" value="next" id="next">Next: columns</button>'
        "</div></form></section>"
    )
    return layout("Preview", body, step=2, nonce=nonce)


def columns_page(*, csrf: str, nonce: str, base: str, roles: Sequence[tuple[str, str, bool]],
                 columns: Sequence[str], chosen: dict[str, str | None], wide: bool,
                 message: str = "") -> str:
    rows = []
    for role, label, required in roles:
        if wide and role != "case":
            continue
        opts = [] if required else ['<option value="">(none)</option>']
        for i, c in enumerate(columns):
            sel = " selected" if chosen.get(role) == c else ""
            opts.append(f'<option value="{i}"{sel}>{esc(c)}</option>')
        star = " *" if required else ""
        rows.append(f'<div class="row"><label for="col-{role}">{esc(label)}{star}</label>'
                    f'<select name="{role}" id="col-{role}">{"".join(opts)}</select></div>')
    hint = ("The other columns are the officers; each cell is that officer's rating of the "
            "row's case." if wide else
            "Prefilled from the column names: check each one. Starred roles are needed.")
    body = (
        (message_box(message) if message else "")
        + '<section class="card"><h2>3. Which column is which?</h2>'
        f'<p class="hint">{esc(hint)}</p>'
        f'<form method="post" action="{esc(base)}/columns">{csrf_field(csrf)}{"".join(rows)}'
        f'<div class="actions"><a class="button secondary" href="{esc(base)}/preview">Back</a>'
        '<button type="submit" id="next">Next: levels</button></div></form></section>'
    )
    return layout("Columns", body, step=3, nonce=nonce)


def levels_page(*, csrf: str, nonce: str, base: str, levels: Sequence[str],
                present: dict[str, int], column: str, others: dict[str, int] | None = None,
                message: str = "") -> str:
    n = len(levels)
    rows = []
    for i, lev in enumerate(levels):
        opts = "".join(f'<option value="{k}"{" selected" if k == i + 1 else ""}>{k}</option>'
                       for k in range(1, n + 1))
        count = present.get(lev, 0)
        shown = str(count) if count else (
            "only in the reference or original rating" if lev in (others or {})
            else "not used")
        rows.append(f'<tr><td><select name="pos-{i}" id="pos-{i}" aria-label="position of '
                    f'{esc(lev)}">{opts}</select></td><td>{esc(lev)}</td>'
                    f'<td class="count">{esc(shown)}</td></tr>')
    body = (
        (message_box(message) if message else "")
        + '<section class="card"><h2>4. The order of the levels</h2>'
        f'<p class="hint">The values of column <strong>{esc(column)}</strong>, lowest first. '
        "To change the order, give each level its place (1 = lowest). A level that is not "
        "what it should be (a typing error) is corrected in the file, not here.</p>"
        f'<form method="post" action="{esc(base)}/levels">{csrf_field(csrf)}'
        '<table id="levels"><thead><tr><th>Place</th><th>Level</th><th>Ratings</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<div class="actions"><a class="button secondary" href="{esc(base)}/columns">Back</a>'
        '<button type="submit" id="next">Next: options</button></div></form></section>'
    )
    return layout("Levels", body, step=4, nonce=nonce)


def options_page(*, csrf: str, nonce: str, base: str, levels: Sequence[str],
                 confidence: float, pseudonymise: bool, pseudonymise_cases: bool,
                 high_from: str | None, has_office: bool, message: str = "") -> str:
    default_high = levels[-2] if len(levels) >= 3 else levels[-1]
    opts = "".join(f'<option value="{i}"{" selected" if lev == high_from else ""}>'
                   f"{esc(lev)}</option>" for i, lev in enumerate(levels))
    who = "officers and offices" if has_office else "officers"
    body = (
        (message_box(message) if message else "")
        + '<section class="card"><h2>5. Options</h2>'
        f'<form method="post" action="{esc(base)}/run">{csrf_field(csrf)}'
        + checkbox("pseudonymise", f"Pseudonymise: replace the names of {who} by codes",
                   pseudonymise)
        + '<div class="row"><label for="salt">Secret salt (optional)</label>'
        '<input type="password" name="salt" id="salt" autocomplete="off" size="36"></div>'
        '<p class="hint">The codes are keyed by this secret: use the same salt in every '
        "audit to get the same codes, and keep it away from the reports (at least 16 "
        "characters, 8 of them different). Left empty, a new random salt is used and "
        "forgotten: the codes then match no other audit.</p>"
        + checkbox("pseudonymise_cases", "Code the case identifiers too", pseudonymise_cases)
        + '<div class="row"><label for="confidence">Confidence level of the intervals</label>'
        f'<input type="number" name="confidence" id="confidence" min="0.5" max="0.999" '
        f'step="0.001" value="{esc(confidence)}"></div>'
        '<div class="row"><label for="high_from">A rating counts as high from</label>'
        f'<select name="high_from" id="high_from"><option value="">{esc(default_high)} '
        f"(default)</option>{opts}</select></div>"
        f'<div class="actions"><a class="button secondary" href="{esc(base)}/levels">Back</a>'
        '<button type="submit" id="run">Run the audit</button></div></form></section>'
    )
    return layout("Options", body, step=5, nonce=nonce)


def progress_page(*, nonce: str, base: str, status: dict[str, Any]) -> str:
    body = (
        '<section class="card"><h2>6. Running the audit</h2>'
        f'<div id="progress" data-status="{esc(base)}/status" data-next="{esc(base)}/report">'
        f'<progress id="bar" max="{esc(status["total"])}" value="{esc(status["done"])}">'
        "</progress>"
        f'<p id="step">{esc(status["label"] or "starting")}</p></div>'
        '<noscript><p>This page updates itself with JavaScript; without it, '
        f'<a href="{esc(base)}/report">open the report</a> in a minute.</p></noscript>'
        "</section>"
    )
    return layout("Running", body, step=6, nonce=nonce, script=POLL_JS)


def report_page(*, csrf: str, nonce: str, base: str, filename: str, summary: str,
                findings: Sequence[Any], notes: Sequence[str]) -> str:
    items = "".join(
        f'<div class="finding" data-key="{esc(f.key)}"><h3>{esc(f.title)}</h3>'
        f"<p>{esc(f.text)}</p></div>" for f in findings)
    note_html = ""
    if notes:
        note_html = ("<details><summary>Notes of the audit</summary><ul>"
                     + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul></details>")
    body = (
        '<section class="card"><h2>7. The report</h2>'
        f'<p class="hint">Audit of <strong>{esc(filename)}</strong>.</p>'
        f'<pre id="summary">{esc(summary)}</pre>'
        '<div class="actions">'
        f'<a class="button" id="download" href="{esc(base)}/report.zip" download>'
        "Download the report (zip)</a>"
        f'<a class="button secondary" href="{esc(base)}/report.html" target="_blank" '
        'rel="noopener">Open the report in a new tab</a>'
        f'<a class="button secondary" href="{esc(base)}/options">Change the options</a>'
        f'<form method="post" action="{esc(base)}/delete">{csrf_field(csrf)}'
        '<button type="submit" class="secondary" id="delete">Remove my files</button>'
        "</form></div></section>"
        f'<section class="card"><h2>Findings</h2><div id="findings">{items}</div>'
        f"{note_html}</section>"
        f'<section class="card"><iframe id="report" title="the report" '
        f'sandbox="allow-scripts" src="{esc(base)}/report.html"></iframe></section>'
    )
    return layout("Report", body, step=7, nonce=nonce)


def error_page(*, nonce: str, message: str, title: str = "Please check",
               links: Sequence[tuple[str, str]] = (), step: int | None = None) -> str:
    """A message and the ways on: ``links`` as (URL, label), then "Start again"."""
    buttons = "".join(f'<a class="button{" secondary" if i else ""}" href="{esc(url)}">'
                      f"{esc(label)}</a>" for i, (url, label) in enumerate(links))
    again = "secondary" if links else ""
    body = (f'<section class="card">{message_box(message, title)}<div class="actions">'
            f'{buttons}<a class="button {again}" href="/">Start again</a></div></section>')
    return layout(title, body, step=step, nonce=nonce)


def status_json(status: dict[str, Any]) -> str:
    return json.dumps(status)
