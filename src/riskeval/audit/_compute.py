"""The consistency audit: every analysis of a ratings table, computed once, kept in one object."""

from __future__ import annotations

import hashlib
import hmac
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import check_columns
from .._core.results import Result
from ..agreement import agreement_summary
from ..agreement.pairwise import PairwiseAgreement, pairwise_agreement
from ..data.ratings import (
    Ratings,
    _encode_categorical,
    _numbers,
    columns_of,
    level_codes,
    parse_categories,
)
from ..errors import RiskevalError, RiskevalTypeError, option
from ..variation import bias
from ..variation.funnel import FunnelResult, funnel
from ._findings import Finding, findings
from ._rater_effects import RATER_EFFECTS_AUTO_MAX, RaterEffects
from ._rater_effects import case_attributes as attach_attributes
from ._rater_effects import rater_effects as rater_effects_of

__all__ = ["MIN_SALT_LENGTH", "ORDINAL_AUTO_MAX", "RATER_EFFECTS_AUTO_MAX", "Audit", "Finding",
           "RaterEffects", "audit", "check_salt", "new_salt", "pseudonym", "read_salt"]

#: largest number of ratings for which ``ordinal="auto"`` fits the ordinal mixed model
ORDINAL_AUTO_MAX = 50_000


@dataclass(frozen=True)
class Audit(Result):
    """Everything an inspector's consistency audit reports, computed by :func:`audit`.

    Attributes
    ----------
    meta : dict
        Column roles, counts (ratings, cases, officers, offices), categories, options, and
        ``officer_identity``: with an office column an officer is identified by office and
        officer id together (the same id in two offices is two officers), labelled
        ``"office / officer"`` (``officer_label``) when some id is used in several offices.
    agreement : pandas.DataFrame
        Every coefficient with its interval (:func:`riskeval.agreement.agreement_summary`).
    agreement_by_office : pandas.DataFrame or None
        The same coefficients within each office (offices with two or more officers).
    pairwise : PairwiseAgreement
        Exact agreement of every pair of officers on the cases both rated.
    variance : pandas.DataFrame
        Variance components, shares and intervals from the crossed linear mixed model on the
        level scores (:func:`riskeval.variation.crossed_lmm`).
    ordinal : pandas.DataFrame or None
        SDs of the office, officer and case effects on the latent (probit) scale
        (:func:`riskeval.variation.ordinal_mixed`), or None when not fitted.
    effects : dict of str to pandas.DataFrame
        Office and officer effects (BLUPs) with standard errors.
    funnel : FunnelResult or None
        Offices' share of ratings at or above ``high_from`` against the overall rate.
    reference : dict or None
        Against the reference: ``confusion`` table, ``directional`` (overall and per office),
        ``symmetry`` test, ``by_officer`` directional table.
    anchoring, overrides, inflation_trend : pandas.DataFrame / Series or None
        When occasions (with a reference), a manager's original rating, or years exist.
    findings : list of Finding
    notes : list of str
        Warnings raised along the way, in plain words.
    rater_effects : RaterEffects or None
        Officers' and offices' severity with fair averages, fit and central tendency,
        differential severity by case attributes and drift by year, from a many-facet Rasch
        analysis (:func:`riskeval.variation.many_facet_rasch`); None when not run.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
    ...                                             n_vignettes=8)
    >>> result = rv.audit.audit(rv.simulate(world, seed=2), case="case", rater="officer",
    ...                         rating="rating", office="office", ordinal=False)
    >>> isinstance(result, Audit), len(result.summary().splitlines()) >= 3
    (True, True)
    >>> sorted(result.tables())[:2]
    ['agreement', 'agreement_by_office']
    """

    meta: dict[str, Any]
    agreement: pd.DataFrame
    agreement_by_office: pd.DataFrame | None
    pairwise: PairwiseAgreement
    variance: pd.DataFrame
    ordinal: pd.DataFrame | None
    effects: dict[str, pd.DataFrame]
    funnel: FunnelResult | None
    reference: dict[str, Any] | None
    anchoring: pd.DataFrame | None
    overrides: pd.DataFrame | None
    inflation_trend: pd.Series | None
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    rater_effects: RaterEffects | None = None

    def to_frame(self) -> pd.DataFrame:
        """The findings, one row each: title, the number it rests on and its interval."""
        return pd.DataFrame(
            [{"title": f.title, "value": f.value, "ci_low": f.ci_low, "ci_high": f.ci_high}
             for f in self.findings],
            index=pd.Index([f.key for f in self.findings], name="finding"),
            columns=["title", "value", "ci_low", "ci_high"])

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the report by file stem (what ``save`` writes to ``tables/``)."""
        from ._report import tables

        return tables(self)

    def to_dict(self) -> dict[str, Any]:
        """Every number in the report, JSON-ready (what ``save`` writes to summary.json)."""
        from ._report import summary_dict

        return summary_dict(self)

    def figures(self) -> dict[str, Any]:
        """The report's matplotlib figures by file stem."""
        from ._report import figures

        return figures(self)

    def to_html(self) -> str:
        """The complete, self-contained report page (figures embedded as PNG data)."""
        from ._report import render_html

        return render_html(self)

    def save(self, outdir: Any, *, force: bool = False) -> Any:
        """Write report.html, summary.json, tables/*.csv and figures/*.png atomically.

        Refuses an existing non-empty ``outdir``; with ``force`` it replaces only an earlier
        riskeval report (recognised by its ``.riskeval-report`` file), never other files. A
        failure or an interruption part-way leaves no half-written report, and a file that
        appears in ``outdir`` during the save is kept (the save stops). Returns the path of
        report.html.
        """
        from ._report import save

        return save(self, outdir, force=force)

    def summary(self) -> str:
        """Five lines: what was audited and the headline findings."""
        from ._report import five_lines

        return "\n".join(five_lines(self))

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        from ._report import render_body

        return render_body(self)


#: shortest salt accepted (characters). The codes are only as secret as the salt: anyone
#: holding a report and a staff list can try candidate salts until the codes of the listed
#: names appear. Sixteen characters drawn at random (``new_salt`` gives 32) put that search out
#: of reach (16 random letters and digits are ~95 bits; a four-word passphrase is ~50 bits and
#: near the limit), whereas a word, a team name or a year is found in seconds.
MIN_SALT_LENGTH = 16
#: fewest different characters in a salt ("aaaa..." or "abcabc..." are refused)
MIN_SALT_DISTINCT = 8
_MAKE_SALT = "python -c \"import secrets; print(secrets.token_urlsafe(24))\""
#: the environment variable :func:`read_salt` reads by default
SALT_ENV = "RISKEVAL_SALT"
#: the kinds of identifier a code can stand for; each has its own code space
CODE_KINDS = ("officer", "office", "case")


def pseudonym(value: Any, salt: str, prefix: str, length: int = 6) -> str:
    """A stable code for an identifier: ``prefix-`` + HMAC-SHA256 in hex.

    The HMAC is keyed by ``salt`` and computed over ``prefix``, a zero byte and the identifier,
    so an officer and an office with the same name get unrelated codes (separate code spaces).

    Examples
    --------
    >>> salt = "a-long-and-varied-secret-salt"
    >>> pseudonym("Smith", salt, "officer") == pseudonym("Smith", salt, "officer")
    True
    >>> pseudonym("Smith", salt, "officer")[:8], len(pseudonym("Smith", salt, "officer"))
    ('officer-', 14)
    >>> pseudonym("Smith", salt, "officer")[8:] == pseudonym("Smith", salt, "office")[7:]
    False
    """
    message = prefix.encode() + b"\0" + str(value).encode()
    digest = hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()
    return f"{prefix}-{digest[:length]}"


def check_salt(salt: Any, source: str = "the pseudonymisation salt") -> str:
    """``salt`` as a string if it is long and varied enough, else a :class:`RiskevalError`.

    See :data:`MIN_SALT_LENGTH` for why a short salt is refused.

    Examples
    --------
    >>> check_salt("Kx9-pQ2_vL7mN4zR")
    'Kx9-pQ2_vL7mN4zR'
    >>> try:
    ...     check_salt("probation")
    ... except ValueError as err:
    ...     print(str(err)[:60])
    the pseudonymisation salt is too weak to keep the codes secr
    """
    if not isinstance(salt, str):
        raise RiskevalTypeError(f"{source} must be a string; got {type(salt).__name__}")
    if not salt:
        raise RiskevalError(f"{source} is empty; give a secret string of at least "
                            f"{MIN_SALT_LENGTH} characters (e.g. from {_MAKE_SALT})")
    if len(salt) < MIN_SALT_LENGTH or len(set(salt)) < MIN_SALT_DISTINCT:
        raise RiskevalError(
            f"{source} is too weak to keep the codes secret ({len(salt)} characters, "
            f"{len(set(salt))} different); give at least {MIN_SALT_LENGTH} characters with "
            f"{MIN_SALT_DISTINCT} or more different ones, e.g. from {_MAKE_SALT} "
            f"(anyone with the report and a staff list could otherwise try likely salts until "
            f"the names' codes appear)")
    return salt


def new_salt() -> str:
    """A fresh random salt (32 URL-safe characters, 192 bits) to keep secret and reuse.

    Examples
    --------
    >>> salt = new_salt()
    >>> len(salt), check_salt(salt) == salt
    (32, True)
    """
    import secrets

    return secrets.token_urlsafe(24)


def read_salt(file: Any = None, *, env: str = SALT_ENV) -> str:
    """The pseudonymisation salt from a file or an environment variable (checked).

    A salt given on a command line is visible to other users (``ps``) and kept in shell
    history; reading it from a file or the environment avoids both.

    Parameters
    ----------
    file : path, optional
        A text file holding the salt; surrounding whitespace and the final newline are
        removed. Without it, the salt is read from the environment variable ``env``.
    env : str
        The environment variable to read (default ``RISKEVAL_SALT``).

    Examples
    --------
    >>> import os
    >>> os.environ["RISKEVAL_SALT"] = "Kx9-pQ2_vL7mN4zR"
    >>> read_salt()
    'Kx9-pQ2_vL7mN4zR'
    >>> del os.environ["RISKEVAL_SALT"]
    """
    import os
    from pathlib import Path

    if file is not None:
        try:
            salt = Path(file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise RiskevalError(f"cannot read the salt file {str(file)!r}: "
                                f"{err.strerror or err}") from None
        return check_salt(salt, f"the salt in {str(file)!r}")
    salt = os.environ.get(env)
    if salt is None:
        raise RiskevalError(f"the environment variable {env} is not set; set it to the secret "
                            f"salt (at least {MIN_SALT_LENGTH} characters)")
    return check_salt(salt.strip(), f"the salt in ${env}")


def _pseudonymise(frame: pd.DataFrame, col: str, salt: str, prefix: str) -> pd.DataFrame:
    # codes are assigned over the sorted identifiers, so nothing depends on the input order
    values = pd.Index(sorted(pd.unique(frame[col].astype(str))))
    for length in range(6, 65, 2):
        codes = [pseudonym(v, salt, prefix, length) for v in values]
        if len(set(codes)) == len(codes):
            break
    mapping = dict(zip(values, codes, strict=True))
    out = frame.copy()
    out[col] = frame[col].astype(str).map(mapping)
    return out


def _by_code(frame: Any, first: tuple = ("(all)",)) -> Any:
    """Rows in code order (a leading ``(all)`` row stays first); None passes through."""
    if frame is None or not isinstance(frame, pd.DataFrame | pd.Series) or not len(frame):
        return frame
    idx = frame.index
    if isinstance(idx, pd.MultiIndex):
        return frame.sort_index(kind="stable")
    keys = [(0 if x in first else 1, str(x)) for x in idx]
    order = sorted(range(len(idx)), key=keys.__getitem__)
    return frame.iloc[order]


def _in_code_order(result: Audit, office: str | None) -> Audit:
    """The audit with every table that lists officers or offices in code order.

    With pseudonyms the input order would otherwise survive into the report: an export
    sorted by surname re-identifies every officer from a staff list without the salt.
    """
    from dataclasses import replace

    names = sorted(result.pairwise.matrix.index, key=str)
    pairwise = replace(result.pairwise, matrix=result.pairwise.matrix.loc[names, names],
                       shared=result.pairwise.shared.loc[names, names])
    effects = {k: _by_code(v) for k, v in result.effects.items()}
    fun = result.funnel
    if fun is not None:
        fun = replace(fun, table=_by_code(fun.table),
                      outside=type(fun.outside)(sorted(fun.outside, key=str)))
    ref = result.reference
    if ref is not None:
        ref = dict(ref, by_officer=_by_code(ref["by_officer"]))
        if office is not None:
            ref["directional"] = _by_code(ref["directional"])
    by_office = result.agreement_by_office
    if by_office is not None:
        by_office = by_office.sort_values(by_office.columns[0], kind="stable",
                                          key=lambda s: s.astype(str)).reset_index(drop=True)
    over = result.overrides
    if over is not None and office is not None:
        over = _by_code(over)
    raters = result.rater_effects
    if raters is not None:
        raters = replace(raters, officers=_by_code(raters.officers),
                         offices=_by_code(raters.offices))
    return replace(result, pairwise=pairwise, effects=effects, funnel=fun, reference=ref,
                   agreement_by_office=by_office, overrides=over, rater_effects=raters)


def _identity_notes(identity: dict[str, Any], example: Any, hidden: bool) -> list[str]:
    """Notes on how officers are identified; no identifier is named when pseudonymised."""
    shared = identity["shared_ids"]
    if not shared:
        return []
    if hidden:
        notes = [f"officers: {len(shared)} officer id(s) are used in more than one office; "
                 f"each officer is identified by office and id together (labelled "
                 f"'office / officer' before pseudonymisation)"]
        if identity["warnings"]:
            notes.append("officers: a few officer ids occur in several offices while most "
                         "occur in one; each is counted as one officer per office (a person "
                         "who moved office counts twice)")
        return notes
    shown = ", ".join(map(str, shared[:5])) + (" ..." if len(shared) > 5 else "")
    return [f"officers: {w}" for w in identity["warnings"]] + [
        f"officers: officer ids {shown} are used in more than one office; each officer is "
        f"identified by office and id together and labelled 'office / officer' (e.g. "
        f"{example!r})"]


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="riskeval audit", unit="step", leave=False)


def audit(data: pd.DataFrame | Ratings, *, case: str | None = None, rater: str | None = None,
          rating: str | None = None, office: str | None = None,
          reference: str | None = None, occasion: str | None = None,
          original: str | None = None, year: str | None = None, categories: Any = None,
          high_from: str | None = None, confidence: float = 0.95,
          pseudonymise: str | None = None, pseudonymise_cases: bool = False,
          ordinal: bool | str = "auto", case_attributes: str | list[str] | None = None,
          rater_effects: bool | str = "auto", progress: bool = False) -> Audit:
    """Run the complete consistency audit of a ratings table.

    Parameters
    ----------
    data : pandas.DataFrame or riskeval.Ratings
        One row per rating (long form). Never modified. Checked ratings
        (:class:`riskeval.Ratings`) are not checked again, and give the columns of their
        roles (case, rater, rating, office, occasion, reference) by default.
    case, rater, rating : str
        Columns of the case (vignette or person), the officer and the rating.
    office : str, optional
        The officer's office: per-office agreement, the office variance component, the funnel
        plot and office effects. An officer is then identified by office and officer id
        together, in every table and model of the audit: officers numbered 1, 2, 3... within
        each office are distinct, labelled ``"office / officer"`` (e.g. ``"A / 3"``); ids
        used in one office only are kept as they are. A note names ids that occur in several
        offices when most ids occur in one (perhaps a person who moved office).
    reference : str, optional
        A reference level per rating (evidence-based level, actuarial band, panel consensus):
        confusion table, upward/downward shares, symmetry test.
    occasion : str, optional
        Repeat-assessment occasion. Agreement and the models then treat each (case, occasion)
        as a unit; with a reference, anchoring is analysed.
    original : str, optional
        The officer's own rating before a manager's review (``rating`` then holds the final
        one): override rates, directions and their effect on agreement with the reference.
    year : str, optional
        Calendar year of each rating; with a reference and two or more years, the drift of
        ratings above the evidence (:func:`riskeval.variation.bias.inflation_trend`).
    categories : sequence or str, optional
        Ordered levels, lowest first (default: the column's ordered categories).
    high_from : str, optional
        The level from which a rating counts as "high" for the funnel plot (default: the
        second highest level, i.e. high or very high on the four RoSH levels).
    confidence : float
        Level of every interval.
    pseudonymise : str, optional
        A secret salt of at least ``MIN_SALT_LENGTH`` (16) varied characters (see
        :func:`new_salt`; :func:`read_salt` reads one from ``$RISKEVAL_SALT`` or a file):
        officer and office identifiers are replaced by stable codes (HMAC-SHA256 keyed by the
        salt over the kind of identifier and the identifier, so officer and office codes are
        separate spaces) before anything is computed, and every table and figure that lists
        officers or offices is in code order, so that no input order (e.g. by surname)
        survives into the report.
    pseudonymise_cases : bool
        Also replace case identifiers by codes (``case-...``), e.g. for real double-assessed
        cases; needs ``pseudonymise``.
    ordinal : bool or "auto"
        Also fit the ordinal (probit) mixed model for latent-scale SDs. ``"auto"`` fits it up
        to ``ORDINAL_AUTO_MAX`` ratings and otherwise skips it with a note (its Laplace fit
        takes minutes on national-scale data).
    case_attributes : str or list of str, optional
        Columns describing each case (offence type, openness...), one value per case: the
        rater-effects section then estimates each officer's differential severity by each
        attribute (does an officer rate violent cases higher than their own level
        predicts?). A numeric attribute with more than six values is cut into thirds.
    rater_effects : bool or "auto"
        Run the rater-effects section: a many-facet Rasch analysis giving officers' and
        offices' severity with fair averages, fit flags and central tendency, differential
        severity by the case attributes, and drift when ``year`` is given. ``"auto"`` runs
        it up to ``RATER_EFFECTS_AUTO_MAX`` (500,000) ratings and otherwise skips it with a
        note.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Audit

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
    ...                                             n_vignettes=8)
    >>> ratings = rv.simulate(world, seed=1)
    >>> result = audit(ratings, case="case", rater="officer", rating="rating", office="office",
    ...                ordinal=False)
    >>> result.meta["n_officers"], result.meta["n_offices"]
    (9, 3)
    >>> list(result.to_frame().columns)
    ['title', 'value', 'ci_low', 'ci_high']

    References
    ----------
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
    *Statistics in Medicine* 24(8), 1185-1202.
    """
    if not isinstance(data, pd.DataFrame | Ratings):
        raise RiskevalTypeError(f"data must be a pandas DataFrame or riskeval.Ratings; got "
                                f"{type(data).__name__}")
    if not 0 < confidence < 1:
        raise RiskevalError(f"confidence must be between 0 and 1; got {confidence!r}")
    cats = parse_categories(categories)
    source, cols = columns_of(data, ("case", "rater", "rating"), case=case, rater=rater,
                              rating=rating, office=office, reference=reference,
                              occasion=occasion)
    case, rater, rating = cols["case"], cols["rater"], cols["rating"]
    office, reference, occasion = cols["office"], cols["reference"], cols["occasion"]
    check_columns(source, {"case": case, "rater": rater, "rating": rating, "office": office,
                            "reference": reference, "occasion": occasion,
                            "original": original, "year": year})
    if rater_effects not in (True, False, "auto"):
        raise RiskevalError(f"rater_effects must be True, False or 'auto'; got "
                            f"{rater_effects!r}")
    checked = Ratings.__new__(Ratings)  # what the checks notice goes into the notes
    checked._build(data, {"case": case, "rater": rater, "rating": rating,
                          "occasion": occasion, "office": office, "reference": reference},
                   cats, False)
    frame = checked.to_frame()[[c for c in (case, rater, rating, occasion, office, reference)
                                if c is not None]]
    identity = {"officer_identity": checked.officer_identity,
                "shared_ids": checked.shared_ids, "warnings": checked.notes}
    data = source
    if cats is None:
        dtype = frame[rating].dtype
        if not (isinstance(dtype, pd.CategoricalDtype) and dtype.ordered):
            raise RiskevalError(f"the order of the levels in column {rating!r} is not known; "
                                f"give categories, lowest first (e.g. \"low,medium,high,very "
                                f"high\")")
        cats = tuple(dtype.categories)
    if year is not None:  # a number or empty; text is an error naming its line
        frame[year] = _numbers(data.loc[frame.index, year], "year", year,
                               "a calendar year (a number)")
    if original is not None:  # checked like the rating: named values, file lines, hints
        frame[original] = _encode_categorical(data.loc[frame.index, original], cats, original)
    frame = frame[frame[rating].notna()]
    for col in (rater, office):  # offices or officers with no rating left are not reported
        if col is not None and isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].cat.remove_unused_categories()
    if pseudonymise_cases and pseudonymise is None:
        raise RiskevalError("pseudonymise_cases=True needs a salt: pass pseudonymise=SALT")
    if pseudonymise is not None:
        check_salt(pseudonymise)
        frame = _pseudonymise(frame, rater, pseudonymise, "officer")
        sort = [rater]
        if office is not None:
            frame = _pseudonymise(frame, office, pseudonymise, "office")
            sort = [office, rater]
        if pseudonymise_cases:
            frame = _pseudonymise(frame, case, pseudonymise, "case")
        # rows in code order: whatever keeps the order of first appearance shows no names
        frame = frame.sort_values([*sort, case], kind="stable", key=lambda s: s.astype(str))
    unit = case
    if occasion is not None:
        unit = "__unit__"
        frame[unit] = frame[case].astype(str) + " @ " + frame[occasion].astype(str)
    if high_from is None:
        high_from = cats[-2] if len(cats) >= 3 else cats[-1]
    elif high_from not in cats:
        raise RiskevalError(f"{option('high_from', high_from)} is not one of the levels "
                            f"{list(cats)}")
    if office is not None and frame[office].nunique() < 2:
        raise RiskevalError(f"only one office ({frame[office].iloc[0]!r}) in column {office!r}: "
                            f"offices cannot be compared; leave out {option('office')} to audit "
                            f"its officers, or add the ratings of other offices")

    if office is not None and frame.groupby(office, observed=True)[rater].nunique().max() == 1:
        raise RiskevalError(f"every office in column {office!r} has a single officer: "
                            f"officers cannot be told apart from their offices; leave out "
                            f"{option('office')} to compare the officers")
    bar = _progress(progress, 9)
    notes = _identity_notes(identity, frame[rater].iloc[0], pseudonymise is not None)
    attributes = attach_attributes(source, frame, case, case_attributes, notes)

    def step(label: str, fn: Callable[[], Any]) -> Any:
        if bar is not None:
            bar.set_postfix_str(label)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = fn()
            except MemoryError as exc:  # say which step: the user can drop or split it
                raise MemoryError(f"{label}: {exc}") from exc
        notes.extend(f"{label}: {w.message}" for w in caught
                     if f"{label}: {w.message}" not in notes)
        if bar is not None:
            bar.update(1)
        return out

    # validated once: the analyses below do not check this table again (its cases are the
    # units, case @ occasion, when there are occasions)
    units = Ratings._checked(frame, {"case": unit, "rater": rater, "rating": rating,
                                     "office": office, "reference": reference}, identity)
    try:
        result = _run(frame, units, step, notes, unit=unit, case=case, rater=rater,
                      rating=rating, office=office, reference=reference, occasion=occasion,
                      original=original, year=year, cats=cats, high_from=high_from,
                      confidence=confidence, ordinal=ordinal, attributes=attributes,
                      rater_effects=rater_effects)
    finally:
        if bar is not None:
            bar.close()
    if pseudonymise is not None:
        result = _in_code_order(result, office)
    result.meta.update({"officer_identity": identity["officer_identity"],
                        "officer_label": ("office / officer" if identity["shared_ids"]
                                          else "officer"),
                        "pseudonymised": pseudonymise is not None,
                        "pseudonymised_cases": bool(pseudonymise_cases),
                        "columns": {"case": case, "rater": rater, "rating": rating,
                                    "office": office, "reference": reference,
                                    "occasion": occasion, "original": original, "year": year,
                                    "case_attributes": attributes}})
    return result


def _run(frame: pd.DataFrame, units: Ratings, step: Callable[[str, Callable[[], Any]], Any],
         notes: list[str], *, unit: str, case: str, rater: str, rating: str, office: str | None,
         reference: str | None, occasion: str | None, original: str | None, year: str | None,
         cats: tuple, high_from: str, confidence: float, ordinal: bool | str,
         attributes: list[str], rater_effects: bool | str) -> Audit:
    from ..variation import crossed_lmm, ordinal_mixed

    cat_list = list(cats)
    codes = level_codes(frame[rating], rating, cats)[0]
    meta = {"n_ratings": len(frame), "n_cases": int(frame[case].nunique()),
            "n_units": int(frame[unit].nunique()), "n_officers": int(frame[rater].nunique()),
            "n_offices": int(frame[office].nunique()) if office else None,
            "categories": cat_list, "high_from": high_from, "confidence": confidence,
            "level_counts": {c: int((codes == i).sum()) for i, c in enumerate(cats)}}

    # the service's officers are a sample of officers like them: intervals over both
    agreement = step("agreement", lambda: agreement_summary(
        units, level="ordinal", confidence=confidence, resample="cases+raters"))
    by_office = None
    if office is not None:
        def per_office() -> pd.DataFrame:
            parts = []
            for name, part in units.by(office):
                if part.n_raters < 2:
                    notes.append(f"agreement by office: {name} has a single officer; no "
                                 f"agreement within it")
                    continue
                if not part.units().duplicated().any():
                    notes.append(f"agreement by office: the officers of {name} share no case "
                                 f"(no case was rated by two of them); no agreement within it")
                    continue
                table = agreement_summary(part, level="ordinal",
                                          confidence=confidence).reset_index()
                table.insert(0, office, name)
                parts.append(table)
            return pd.concat(parts, ignore_index=True) if parts else None
        by_office = step("agreement by office", per_office)
    pairwise = step("pairwise agreement", lambda: pairwise_agreement(units))

    scored = frame.assign(__score__=codes + 1.0)
    fit = step("linear mixed model", lambda: crossed_lmm(
        scored, rating="__score__", case=unit, rater=rater, office=office,
        confidence=confidence))
    variance = fit.to_frame()
    notes.extend(f"linear mixed model: {n}" for n in fit.notes
                 if f"linear mixed model: crossed_lmm: {n}" not in notes)
    effects = {k: v for k, v in fit.random_effects.items() if k in ("office", "officer")}
    ord_table = None
    if ordinal == "auto":
        ordinal = len(frame) <= ORDINAL_AUTO_MAX
        if not ordinal:
            notes.append(f"ordinal mixed model: not fitted on {len(frame)} ratings (more than "
                         f"{ORDINAL_AUTO_MAX}); pass ordinal=True to fit it anyway")
    if ordinal and len(np.unique(codes[codes >= 0])) < 2:
        notes.append(f"ordinal mixed model: not fitted: every rating is "
                     f"{cats[int(codes.max())]!r}, so there are no thresholds to estimate")
        ordinal = False
    if ordinal:
        def fit_ordinal() -> pd.DataFrame:
            ofit = ordinal_mixed(frame, rating=rating, case=unit, rater=rater, office=office,
                                 categories=cat_list, confidence=confidence)
            return ofit.sd
        ord_table = step("ordinal mixed model", fit_ordinal)
    else:
        step("ordinal mixed model", lambda: None)

    fun = None
    is_high = codes >= cats.index(high_from)
    if office is not None and is_high.all() | (~is_high).all():
        side = "at or above" if is_high.all() else "below"
        notes.append(f"funnel: not drawn: every rating is {side} {high_from!r}, so no office "
                     f"can differ from the others in its share of high ratings")
        step("funnel", lambda: None)
    elif office is not None:
        high = frame.assign(__high__=is_high)
        fun = step("funnel", lambda: funnel(high, group=office, outcome="__high__",
                                            cluster=rater))
    else:
        step("funnel", lambda: None)

    ref = None
    anchor = over = trend = None
    if reference is not None:
        def against_reference() -> dict[str, Any]:
            sym = bias.symmetry(frame, rating=rating, reference=reference, categories=cat_list)
            overall = bias.directional(frame, rating=rating, reference=reference, by=office,
                                       cluster=rater, categories=cat_list,
                                       confidence=confidence)
            per_officer = bias.directional(frame, rating=rating, reference=reference,
                                           by=rater, categories=cat_list,
                                           confidence=confidence)
            return {"confusion": sym.table, "symmetry": sym, "directional": overall,
                    "by_officer": per_officer}
        ref = step("reference", against_reference)
        if occasion is not None and frame[occasion].nunique() > 1:
            anchor = step("anchoring", lambda: bias.anchoring(
                frame, rating=rating, case=case, rater=rater, occasion=occasion,
                evidence=reference, categories=cat_list, confidence=confidence))
        if year is not None and frame[year].nunique() > 1:
            trend = step("inflation trend", lambda: bias.inflation_trend(
                frame, rating=rating, reference=reference, year=year, case=unit, rater=rater,
                office=office, categories=cat_list, confidence=confidence))
    if original is not None:
        over = step("overrides", lambda: bias.overrides(
            frame, original=original, rating=rating, reference=reference,
            by=office, cluster=rater, categories=cat_list, confidence=confidence))

    effects_of_raters = None
    if rater_effects == "auto":
        rater_effects = len(frame) <= RATER_EFFECTS_AUTO_MAX
        if not rater_effects:
            notes.append(f"rater effects: not estimated on {len(frame)} ratings (more than "
                         f"{RATER_EFFECTS_AUTO_MAX}); pass rater_effects=True to run them "
                         f"anyway")
    if rater_effects:
        effects_of_raters = step("rater effects", lambda: rater_effects_of(
            frame, unit=unit, rater=rater, rating=rating, office=office, cats=cats,
            attributes=attributes,
            year=year if year is not None and frame[year].nunique() > 1 else None,
            confidence=confidence, notes=notes))
    else:
        step("rater effects", lambda: None)

    result = Audit(meta=meta, agreement=agreement, agreement_by_office=by_office,
                   pairwise=pairwise, variance=variance, ordinal=ord_table, effects=effects,
                   funnel=fun, reference=ref, anchoring=anchor, overrides=over,
                   inflation_trend=trend, findings=[], notes=notes,
                   rater_effects=effects_of_raters)

    result.findings.extend(findings(result))
    return result
