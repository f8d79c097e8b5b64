"""Plain-English case summaries of vignettes, and the files of a vignette study.

A vignette table (see :mod:`riskeval.world.vignettes`) is a row of numbers and codes; officers in a
vignette study are handed a short written case instead. :func:`narratives` renders each case as
seven sentences covering who the person is, the index offence and its seriousness, their
supervision status, criminal history, need areas, strengths and psychological risk factors, how
they presented in interview, their accommodation and the static actuarial score. The ground
truth (:data:`riskeval.world.vignettes.TRUTH_COLUMNS`: the true reconviction probability, the harm
scores and the reference level) is never written into the text.

Each sentence has two or three phrasings so that a pack does not read like a form. The
phrasing of a sentence is chosen by a keyed random stream (:mod:`riskeval._core.keyed`), so a case's
text depends only on the seed and the case identifier: adding cases to a pack or reordering it
never changes the text of another case.

:func:`to_markdown`, :func:`to_html` and :func:`to_csv` format a pack; :func:`rating_sheet`
makes a blank sheet for officers' ratings that :func:`riskeval.read_ratings` reads back once it
is filled in; :func:`write_pack` writes all of these, plus the full vignette table for the
organiser, to a folder.

>>> import riskeval as rv
>>> from riskeval.world import narratives
>>> cases = rv.world.vignettes.population(3, seed=1)
>>> text = narratives.narratives(cases, seed=1)
>>> text.index.tolist()
['V0001', 'V0002', 'V0003']
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._core.keyed import Streams, hash_ids
from .._core.safecsv import write_csv
from .._core.seeds import seed_sequence
from ..data.ratings import RISK_LEVELS, parse_categories
from ..errors import RiskevalError, RiskevalTypeError
from .vignettes import NEED_AREAS, validate_vignettes

__all__ = [
    "NEED_WORDS",
    "OFFENCE_WORDS",
    "narratives",
    "rating_sheet",
    "to_csv",
    "to_html",
    "to_markdown",
    "write_pack",
]

#: How each index offence type is named in a narrative (with its article).
OFFENCE_WORDS: dict[str, str] = {
    "violence": "a violent offence",
    "domestic_abuse": "a domestic abuse offence",
    "sexual": "a sexual offence",
    "acquisitive": "an acquisitive offence (theft or burglary)",
    "drugs_supply": "a drugs supply offence",
    "arson": "an arson offence",
    "public_order": "a public order offence",
    "weapons": "a weapons offence",
}
#: How each need area is named in a narrative.
NEED_WORDS: dict[str, str] = {
    "accommodation": "accommodation",
    "ete": "education, training and employment",
    "finances": "finances",
    "relationships": "relationships",
    "lifestyle": "lifestyle and associates",
    "drug_misuse": "drug misuse",
    "alcohol_misuse": "alcohol misuse",
    "emotional_wellbeing": "emotional well-being",
    "thinking_behaviour": "thinking and behaviour",
    "attitudes": "attitudes",
    "health": "health",
}
_SERIOUSNESS = {1: "at the lower end of seriousness", 2: "of moderate seriousness",
                3: "of a serious nature"}
_PSYCH = {
    0: "no psychological risk factors",
    1: "some psychological risk factors (such as hostility or grievance thinking)",
    2: "marked psychological risk factors (such as hostility or grievance thinking)",
}
_OPENNESS = {0: "said little and was closed", 1: "was guarded", 2: "was open and engaged"}
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten")

# Phrasings of each sentence; the keyed stream "narrative.<name>" picks one per case.
_INTRO = (
    "This is {a_age} {person} under supervision for {offence} {seriousness}.",
    "The case concerns {a_age} {person} convicted of {offence} {seriousness}.",
    "{A_age} {person} has been convicted of {offence} {seriousness}.",
)
_STATUS = {
    (True, True): (
        "{Sub} is being assessed following recall to custody and has been known to the "
        "service for {months}.",
        "This assessment follows {pos} recall to custody; {sub} has been known to the service "
        "for {months}.",
    ),
    (True, False): (
        "{Sub} is being assessed following recall to custody and is new to the service.",
        "This assessment follows {pos} recall to custody; {sub} is new to the service.",
    ),
    (False, True): (
        "{Sub} has been known to the service for {months}.",
        "{Sub} is not new to probation: {sub} has been known to the service for {months}.",
    ),
    (False, False): (
        "{Sub} is new to the service.",
        "{Sub} is new to the service, so this is a first assessment.",
    ),
}
_HISTORY_NONE = (
    "{Sub} has no previous sanctions.",
    "There are no previous sanctions on {pos} record.",
    "{Pos} record shows no previous sanctions.",
)
_HISTORY_ONE = (
    "{Sub} has one previous sanction, received at age {first}, {ago}.",
    "{Pos} record shows one previous sanction, at age {first}, {ago}.",
    "{Sub} has a single previous sanction, at age {first}, {ago}.",
)
_HISTORY_MANY = (
    "{Sub} has {n_prev} previous sanctions, the first at age {first} and the most recent "
    "{ago}.",
    "{Pos} record shows {n_prev} previous sanctions since the age of {first}; the most recent "
    "was {ago}.",
    "{Sub} was first sanctioned at {first} and has {n_prev} previous sanctions in all, the "
    "most recent {ago}.",
)
_NEEDS = {
    (True, True): (
        "The assessment found significant problems with {sig}, and some problems with {some}.",
        "There are significant problems with {sig}, as well as some problems with {some}.",
    ),
    (True, False): (
        "The assessment found significant problems with {sig} and no problems in other need "
        "areas.",
        "Apart from significant problems with {sig}, no need area is a concern.",
    ),
    (False, True): (
        "The assessment found some problems with {some} and no problems in other need areas.",
        "Apart from some problems with {some}, no need area is a concern.",
    ),
    (False, False): (
        "The assessment found no problems in any need area.",
        "None of the need areas is a concern.",
    ),
}
_STRENGTHS = (
    "The assessment identified {strengths} and {psych}.",
    "{Strengths} {were} noted, and there are {psych}.",
)
_INTERVIEW = (
    "In interview {sub} {openness}; {accommodation}.",
    "{Sub} {openness} in interview, and {accommodation}.",
)
_SCORE = (
    "An OGRS-style static score puts the two-year reconviction likelihood at {pct}.",
    "As a guide, an OGRS-style static score puts the two-year reconviction likelihood at "
    "{pct}.",
)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _number(n: int) -> str:
    """Whole numbers up to ten in words, larger ones in digits."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def _decimal(x: float) -> str:
    """A non-negative quantity to one decimal place, without a trailing ``.0``."""
    r = round(float(x), 1)
    return _number(int(r)) if r == int(r) else f"{r:.1f}"


def _plural(x: float, unit: str) -> str:
    return f"{_decimal(x)} {unit}" + ("" if round(float(x), 1) == 1 else "s")


def _ago(years: float) -> str:
    """How long ago the last sanction was, in words."""
    if math.isnan(years):
        return "on a date not recorded"
    months = round(years * 12)
    if months < 1:
        return "within the last month"
    if years < 1:
        return f"about {_plural(months, 'month')} ago"
    return f"{_plural(years, 'year')} ago"


def _a_age(age: int) -> str:
    """``a 27-year-old`` / ``an 18-year-old`` (the article follows the spoken number)."""
    spoken_vowel = str(age).startswith("8") or age in (11, 18)
    return f"{'an' if spoken_vowel else 'a'} {age}-year-old"


def _join(items: Sequence[str]) -> str:
    """``a and b`` / ``a, b and c``; when an item has its own "and" or comma (``thinking and
    behaviour``), items are separated by semicolons so the list stays unambiguous."""
    if len(items) == 1:
        return items[0]
    if any("," in item or " and " in item for item in items):
        return "; ".join(items[:-1]) + "; and " + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _percent(p: float) -> str:
    pct = round(100 * float(p))
    if pct < 1:
        return "less than 1%"
    if pct > 99:
        return "more than 99%"
    return f"{pct}%"


def _pick(options: Sequence[str], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]


def _render(row: Mapping[str, Any], u: Mapping[str, float]) -> str:
    """The narrative of one validated vignette row, given its variant draws ``u``."""
    female = row["sex"] == "female"
    words = {"sub": "she" if female else "he", "pos": "her" if female else "his",
             "obj": "her" if female else "him"}
    words.update({_cap(k): _cap(v) for k, v in list(words.items())})
    age = int(row["age"])
    sentences = [_pick(_INTRO, u["intro"]).format(
        a_age=_a_age(age), A_age=_cap(_a_age(age)), person="woman" if female else "man",
        offence=OFFENCE_WORDS[row["offence"]],
        seriousness=_SERIOUSNESS[int(row["seriousness"])])]

    months = float(row["months_known"])
    status = _STATUS[(bool(row["recall"]), months > 0)]
    sentences.append(_pick(status, u["status"]).format(months=_plural(months, "month"),
                                                       **words))

    n_prev = int(row["previous_sanctions"])
    history = _HISTORY_NONE if n_prev == 0 else _HISTORY_ONE if n_prev == 1 else _HISTORY_MANY
    sentences.append(_pick(history, u["history"]).format(
        n_prev=_number(n_prev), first=int(row["age_first_sanction"]),
        ago=_ago(float(row["years_since_last_sanction"])), **words))

    sig = [NEED_WORDS[a] for a in NEED_AREAS if int(row[f"need_{a}"]) == 2]
    some = [NEED_WORDS[a] for a in NEED_AREAS if int(row[f"need_{a}"]) == 1]
    needs = _NEEDS[(bool(sig), bool(some))]
    sentences.append(_pick(needs, u["needs"]).format(
        sig=_join(sig) if sig else "", some=_join(some) if some else ""))

    n_strong = int(row["protective_factors"])
    strengths = (f"{_number(n_strong)} strength{'' if n_strong == 1 else 's'} (protective "
                 f"factor{'' if n_strong == 1 else 's'})")
    sentences.append(_pick(_STRENGTHS, u["strengths"]).format(
        strengths=strengths, Strengths=_cap(strengths), were="was" if n_strong == 1 else "were",
        psych=_PSYCH[int(row["psychological_risk"])]))

    accommodation = {"settled": "{pos} accommodation is settled",
                     "unsettled": "{pos} accommodation is unsettled",
                     "no fixed abode": "{sub} is of no fixed abode"}[row["accommodation"]]
    sentences.append(_pick(_INTERVIEW, u["interview"]).format(
        openness=_OPENNESS[int(row["openness"])], accommodation=accommodation.format(**words),
        **words))

    sentences.append(_pick(_SCORE, u["score"]).format(pct=_percent(row["actuarial_p"])))
    return " ".join(sentences)


_SENTENCES = ("intro", "status", "history", "needs", "strengths", "interview", "score")


def narratives(vignettes: pd.DataFrame, seed: Any = None) -> pd.Series:
    """Render each vignette as a short plain-English case summary.

    Parameters
    ----------
    vignettes : pandas.DataFrame
        A vignette table with ``case`` and :data:`riskeval.world.vignettes.FEATURE_COLUMNS`, as from
        :func:`riskeval.world.vignettes.population` or :func:`riskeval.world.vignettes.factorial`.
        It is
        checked with :func:`riskeval.world.vignettes.validate_vignettes` and never modified.
    seed : None, int, SeedSequence or Generator
        Chooses among the phrasings of each sentence. The text of a case depends only on the
        seed and its identifier (None: fresh entropy, so the phrasing may differ each call).

    Returns
    -------
    pandas.Series
        The narratives (str), named ``narrative`` and indexed by case identifier (index name
        ``case``), in the order of the table.

    Raises
    ------
    RiskevalError
        If the table lacks a column or holds an illegal value (the message names them).

    Notes
    -----
    Seven sentences per case: age, sex and index offence with its seriousness (lower end,
    moderate, serious); recall and time known to the service; previous sanctions, age at the
    first and time since the last; need areas scored 2 ("significant problems with ...") and
    1 ("some problems with ..."); protective factors (strengths) and psychological risk
    factors; openness in interview and accommodation; and the static actuarial score
    ``actuarial_p`` as a percentage. Nothing from the truth columns (``p_reconviction``,
    ``harm_*``, ``reference``) appears.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.world import narratives
    >>> cases = rv.world.vignettes.population(2, seed=1)
    >>> text = narratives.narratives(cases, seed=1)
    >>> text.index.tolist()
    ['V0001', 'V0002']
    >>> text["V0001"][:45]
    'A 24-year-old woman has been convicted of a v'
    >>> "reference" in text["V0001"] or "harm" in text["V0001"]  # no ground truth in the text
    False
    """
    v = validate_vignettes(vignettes)
    case = v["case"].to_numpy(dtype=object)
    h = hash_ids(case)
    rs = Streams(seed)
    draws = {name: rs.uniform(f"narrative.{name}", h) for name in _SENTENCES}
    texts = [
        _render(row, {name: float(draws[name][i]) for name in _SENTENCES})
        for i, row in enumerate(v.to_dict("records"))
    ]
    return pd.Series(texts, index=pd.Index(case, name="case", dtype=object), name="narrative",
                     dtype=object)


def to_markdown(vignettes: pd.DataFrame, seed: Any = None) -> str:
    """The narratives as Markdown: a ``## Case <id>`` heading and a paragraph per case.

    Parameters
    ----------
    vignettes : pandas.DataFrame
        A vignette table (see :func:`narratives`).
    seed : None, int, SeedSequence or Generator
        Seed of the phrasing (see :func:`narratives`).

    Returns
    -------
    str
        The document, ending with a newline.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.world import narratives
    >>> cases = rv.world.vignettes.population(2, seed=1)
    >>> md = narratives.to_markdown(cases, seed=1)
    >>> md.splitlines()[0], md.count("## Case ")
    ('## Case V0001', 2)
    """
    return _markdown(narratives(vignettes, seed))


def _markdown(text: pd.Series) -> str:
    return "\n".join(f"## Case {case}\n\n{body}\n" for case, body in text.items())


_CSS = """\
body { font-family: Georgia, 'Times New Roman', serif; max-width: 42em; margin: 2em auto;
       padding: 0 1em; line-height: 1.5; color: #111; }
h1 { font-size: 1.4em; }
h2 { font-size: 1.15em; margin-top: 0; }
section.case { padding: 1em 0; border-top: 1px solid #999; }
@media print {
  body { margin: 0; max-width: none; }
  section.case { border-top: none; break-after: page; page-break-after: always; }
  section.case:last-of-type { break-after: auto; page-break-after: auto; }
}
"""


def to_html(vignettes: pd.DataFrame, seed: Any = None, title: str = "Vignette pack") -> str:
    """The narratives as a self-contained, printable HTML page, one case per printed page.

    Parameters
    ----------
    vignettes : pandas.DataFrame
        A vignette table (see :func:`narratives`).
    seed : None, int, SeedSequence or Generator
        Seed of the phrasing (see :func:`narratives`).
    title : str
        Title of the page.

    Returns
    -------
    str
        The HTML document. Every piece of text (title, case identifiers, narratives) is
        escaped with :func:`html.escape`; the page needs no external files.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.world import narratives
    >>> cases = rv.world.vignettes.population(2, seed=1)
    >>> page = narratives.to_html(cases, seed=1, title="Pack <1>")
    >>> page.count('<section class="case">'), "<title>Pack &lt;1&gt;</title>" in page
    (2, True)
    """
    if not isinstance(title, str):
        raise RiskevalTypeError(f"title must be a str; got {type(title).__name__}")
    return _html(narratives(vignettes, seed), title)


def _html(text: pd.Series, title: str) -> str:
    t = html.escape(title)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{t}</title>",
        f"<style>\n{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{t}</h1>",
    ]
    for case, body in text.items():
        parts += ['<section class="case">', f"<h2>Case {html.escape(str(case))}</h2>",
                  f"<p>{html.escape(body)}</p>", "</section>"]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _csv_text(frame: pd.DataFrame) -> str:
    # through the formula-injection guard: a case label like "=HYPERLINK(...)" stays text
    return write_csv(frame, index=False, lineterminator="\n", float_format="%.10g")


def _write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file in the same folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def to_csv(vignettes: pd.DataFrame, path: str | os.PathLike | None = None,
           seed: Any = None) -> str | Path:
    """The narratives as CSV with columns ``case`` and ``narrative``.

    Parameters
    ----------
    vignettes : pandas.DataFrame
        A vignette table (see :func:`narratives`).
    path : str or path-like, optional
        Where to write the file (atomically). When omitted the CSV text is returned.
    seed : None, int, SeedSequence or Generator
        Seed of the phrasing (see :func:`narratives`).

    Returns
    -------
    str or pathlib.Path
        The CSV text when ``path`` is None, else the path written.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.world import narratives
    >>> cases = rv.world.vignettes.population(2, seed=1)
    >>> text = narratives.to_csv(cases, seed=1)
    >>> text.splitlines()[0]
    'case,narrative'
    >>> text.splitlines()[1][:13]
    'V0001,"A 24-y'
    """
    text = _csv_text(narratives(vignettes, seed).reset_index())
    if path is None:
        return text
    out = Path(path)
    if not out.parent.is_dir():
        raise RiskevalError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not "
                            f"exist")
    return _write_atomic(out, text)


def _officer_list(officers: Sequence[str] | None,
                  office_of: Mapping[str, str] | None) -> list[str] | None:
    if officers is None:
        return None if office_of is None else [str(o) for o in office_of]
    if isinstance(officers, (str, bytes)) or not isinstance(officers, Sequence | pd.Index |
                                                           np.ndarray):
        raise RiskevalTypeError(f"officers must be a list of officer identifiers; got "
                                f"{type(officers).__name__} {officers!r}")
    out = []
    for i, o in enumerate(officers):
        if o is None or (isinstance(o, float) and math.isnan(o)) or str(o).strip() == "":
            raise RiskevalError(f"officers[{i}] is empty ({o!r}); every officer needs an "
                                f"identifier")
        out.append(str(o))
    if not out:
        raise RiskevalError("officers is empty; give at least one officer identifier or "
                            "officers=None for a sheet without officers")
    seen: set[str] = set()
    for o in out:
        if o in seen:
            raise RiskevalError(f"officers must be unique; {o!r} appears more than once")
        seen.add(o)
    return out


def rating_sheet(vignettes: pd.DataFrame, officers: Sequence[str] | None = None,
                 office_of: Mapping[str, str] | None = None,
                 categories: Any = RISK_LEVELS) -> pd.DataFrame:
    """A blank long-format rating sheet: one row per case, or per officer and case.

    Parameters
    ----------
    vignettes : pandas.DataFrame
        A vignette table (see :func:`narratives`).
    officers : sequence of str, optional
        Officer identifiers. With officers the sheet has one row per officer and case (all of
        one officer's rows together, cases in table order); without, one row per case with
        ``officer`` left blank for the organiser to fill in. When omitted but ``office_of`` is
        given, its keys are the officers.
    office_of : mapping of str to str, optional
        Office of each officer; every officer must be in it. Without it ``office`` is blank.
    categories : sequence or str
        The allowed ratings, lowest first (default low, medium, high, very high). They are
        checked and recorded in ``sheet.attrs["categories"]``; :func:`write_pack` lists them
        in its README.

    Returns
    -------
    pandas.DataFrame
        Columns ``case``, ``officer``, ``office`` and ``rating`` (empty strings). Written with
        ``to_csv(index=False)`` and filled in, it reads back with
        ``riskeval.read_ratings(path, case="case", rater="officer", rating="rating",
        office="office", categories="low,medium,high,very high")``.

    Raises
    ------
    RiskevalError
        On an invalid vignette table, empty or repeated officer identifiers, an officer
        without an office in ``office_of``, or invalid categories.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.world import narratives
    >>> cases = rv.world.vignettes.population(2, seed=1)
    >>> sheet = narratives.rating_sheet(cases, officers=["A", "B"],
    ...                                 office_of={"A": "North", "B": "South"})
    >>> print(sheet[["case", "officer", "office"]].to_string(index=False))
     case officer office
    V0001       A  North
    V0002       A  North
    V0001       B  South
    V0002       B  South
    >>> list(sheet.attrs["categories"])
    ['low', 'medium', 'high', 'very high']
    """
    cats = parse_categories(categories)
    if cats is None:
        raise RiskevalError("categories must list the allowed ratings, lowest first, e.g. "
                            "'low,medium,high,very high'")
    case = validate_vignettes(vignettes)["case"].tolist()
    if office_of is not None and not isinstance(office_of, Mapping):
        raise RiskevalTypeError(f"office_of must be a mapping of officer to office; got "
                                f"{type(office_of).__name__}")
    staff = _officer_list(officers, office_of)
    if staff is None:
        frame = pd.DataFrame({"case": case, "officer": "", "office": "", "rating": ""})
    else:
        offices = []
        for o in staff:
            if office_of is None:
                offices.append("")
                continue
            if o not in office_of:
                raise RiskevalError(f"office_of has no office for officer {o!r}; give an office "
                                    f"for every officer (known: {sorted(map(str, office_of))})")
            offices.append(str(office_of[o]))
        n = len(case)
        frame = pd.DataFrame({
            "case": case * len(staff),
            "officer": np.repeat(np.asarray(staff, dtype=object), n),
            "office": np.repeat(np.asarray(offices, dtype=object), n),
            "rating": "",
        })
    frame = frame.astype(object)
    frame.attrs["categories"] = cats
    return frame


_README = """\
Vignette pack written by riskeval.world.narratives.write_pack (phrasing seed {seed}).

FOR THE ORGANISER ONLY -- officers must only be given the narratives.

Files to hand to officers:
  vignettes.html    the case summaries as a printable page (one case per printed page)
  vignettes.md      the same summaries as Markdown
  vignettes.csv     the same summaries as CSV (columns case, narrative)
  rating_sheet.csv  a blank sheet with columns case, officer, office, rating

Files to keep back:
  cases.csv         the full vignette table INCLUDING THE GROUND TRUTH (true reconviction
                    probability, harm scores and the reference risk level). Never give it,
                    or anything derived from it, to the officers who rate the cases.
  README.txt        this note

Filling in the rating sheet: one rating per row, exactly one of
  {categories}
(lowest first). Leave a rating blank if a case was not rated. {officer_note}

Reading the ratings back (Python):
  import riskeval as rv
  ratings = rv.read_ratings("rating_sheet.csv", case="case", rater="officer",
                            rating="rating", office="office",
                            categories="{categories_csv}")

The cases are synthetic unless you supplied your own table; see riskeval.world.vignettes for how
synthetic cases and their ground truth are generated.
"""


def write_pack(vignettes: pd.DataFrame, outdir: str | os.PathLike, seed: Any = None,
               officers: Sequence[str] | None = None,
               office_of: Mapping[str, str] | None = None, overwrite: bool = False, *,
               categories: Any = RISK_LEVELS) -> dict[str, Path]:
    """Write the files of a vignette study to a folder.

    Parameters
    ----------
    vignettes : pandas.DataFrame
        A vignette table (see :func:`narratives`).
    outdir : str or path-like
        The folder; created (with parents) if needed.
    seed : None, int, SeedSequence or Generator
        Seed of the phrasing (see :func:`narratives`).
    officers, office_of : optional
        Passed to :func:`rating_sheet`.
    overwrite : bool
        Allow writing into a folder that is not empty (files of the same names are replaced;
        other files are left alone).
    categories : sequence or str
        The allowed ratings, lowest first (see :func:`rating_sheet`).

    Returns
    -------
    dict of str to pathlib.Path
        ``markdown`` (``vignettes.md``), ``html`` (``vignettes.html``), ``narratives``
        (``vignettes.csv``), ``rating_sheet`` (``rating_sheet.csv``), ``cases``
        (``cases.csv``: the full table with the ground truth, for the organiser only) and
        ``readme`` (``README.txt``, which says which files officers may see).

    Raises
    ------
    RiskevalError
        If ``outdir`` is a file, or an existing non-empty folder and ``overwrite`` is False,
        or on invalid input (see :func:`narratives` and :func:`rating_sheet`).

    Notes
    -----
    Each file is written to a temporary file in ``outdir`` and then moved into place, so a
    file is either complete or absent. Everything is rendered before anything is written.
    The README records the phrasing seed; for a Generator or None it records the entropy
    drawn, so the same text can be rendered again.

    Examples
    --------
    >>> import tempfile
    >>> import riskeval as rv
    >>> from riskeval.world import narratives
    >>> cases = rv.world.vignettes.population(2, seed=1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = narratives.write_pack(cases, folder, seed=1, officers=["A", "B"])
    ...     readme = paths["readme"].read_text(encoding="utf-8")
    ...     sheet_rows = len(paths["rating_sheet"].read_text(encoding="utf-8").splitlines())
    >>> sorted(paths)
    ['cases', 'html', 'markdown', 'narratives', 'rating_sheet', 'readme']
    >>> "(phrasing seed 1)" in readme, sheet_rows  # a header and 2 officers x 2 cases
    (True, 5)
    """
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise RiskevalError(f"outdir {str(out)!r} is a file; expected a folder for the pack")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise RiskevalError(f"outdir {str(out)!r} is not empty; choose a new folder or pass "
                            f"overwrite=True to replace the pack's files in it")
    table = validate_vignettes(vignettes)
    sheet = rating_sheet(table, officers, office_of, categories)
    cats = sheet.attrs["categories"]
    officer_note = ("Fill in the officer (and office) column of each row before reading the "
                    "sheet back." if officers is None and office_of is None else
                    "Each officer rates the rows that carry their identifier.")
    ss = seed_sequence(seed)  # a Generator is drawn from once, here
    if isinstance(seed, (int, np.integer)):
        label = str(int(seed))
    elif ss.spawn_key:
        label = f"SeedSequence({ss.entropy}, spawn_key={ss.spawn_key})"
    else:
        label = str(ss.entropy)
    readme = _README.format(seed=label,
                            categories=" < ".join(map(str, cats)),
                            categories_csv=",".join(map(str, cats)), officer_note=officer_note)
    text = narratives(table, ss)
    texts = {
        "markdown": ("vignettes.md", _markdown(text)),
        "html": ("vignettes.html", _html(text, "Vignette pack")),
        "narratives": ("vignettes.csv", _csv_text(text.reset_index())),
        "rating_sheet": ("rating_sheet.csv", _csv_text(sheet)),
        "cases": ("cases.csv", _csv_text(table)),
        "readme": ("README.txt", readme),
    }
    out.mkdir(parents=True, exist_ok=True)
    return {key: _write_atomic(out / name, text) for key, (name, text) in texts.items()}
