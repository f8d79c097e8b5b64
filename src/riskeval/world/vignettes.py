"""Synthetic case vignettes and their ground truth.

A vignette is one row of a DataFrame describing a person under supervision: age, sex, criminal
history, index offence and its seriousness, the OASys-style need areas (each scored 0-2),
protective factors, psychological risk factors, openness with the officer, accommodation and
whether the case is a recall. Two generators make them:

* :func:`population` -- a random population with documented joint distributions;
* :func:`factorial` -- a factorial-survey design: named factors varied over given levels, the
  rest held at a base case.

:func:`assess_truth` adds the ground truth every simulation is measured against: a true two-year
reconviction probability (logistic, with the predictors of the published actuarial scales), the
static actuarial score an officer would be shown, and the true serious-harm level -- what an
evidence-based assessment would say -- on the ordered scale low < medium < high < very high.

Every number below is a :class:`~riskeval._core.params.Param` with provenance; :func:`parameters`
lists them. None of the coefficients is a published figure: the predictors follow the published
scales (Copas & Marshall 1998; Howard, Francis, Soothill & Humphreys 2009) but the weights are
named assumptions, chosen to give plausible orders of magnitude.

References
----------
Copas, J. & Marshall, P. (1998). The Offender Group Reconviction Scale: a statistical
reconviction score for use by probation officers. *Applied Statistics* 47(1), 159-171.

Howard, P., Francis, B., Soothill, K. & Humphreys, L. (2009). *OGRS 3: the revised Offender Group
Reconviction Scale*. Ministry of Justice Research Summary 7/09.

Auspurg, K. & Hinz, T. (2015). *Factorial Survey Experiments*. Sage.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from .._core.checks import check_whole, plain_value
from .._core.keyed import Streams, hash_ids
from .._core.params import P, ParamSet, assumption, check_value, params_table, suggest
from ..data.ratings import RISK_LEVELS
from ..errors import RiskevalError, RiskevalTypeError

__all__ = [
    "ACCOMMODATION",
    "FEATURE_COLUMNS",
    "NEED_AREAS",
    "OFFENCE_TYPES",
    "TRUTH_COLUMNS",
    "assess_truth",
    "base_case",
    "factorial",
    "parameters",
    "population",
    "validate_vignettes",
]

#: Index offence types (at least those named in the issue; lowest-harm order is not implied).
OFFENCE_TYPES: tuple[str, ...] = (
    "violence", "domestic_abuse", "sexual", "acquisitive", "drugs_supply", "arson",
    "public_order", "weapons",
)
#: OASys-style need areas, each scored 0 (no problem), 1 (some problem), 2 (significant problem).
NEED_AREAS: tuple[str, ...] = (
    "accommodation", "ete", "finances", "relationships", "lifestyle", "drug_misuse",
    "alcohol_misuse", "emotional_wellbeing", "thinking_behaviour", "attitudes", "health",
)
#: Accommodation status, most to least settled.
ACCOMMODATION: tuple[str, ...] = ("settled", "unsettled", "no fixed abode")
NEED_COLUMNS: tuple[str, ...] = tuple(f"need_{a}" for a in NEED_AREAS)

#: The columns that describe a case (inputs to :func:`assess_truth`).
FEATURE_COLUMNS: tuple[str, ...] = (
    "age", "sex", "previous_sanctions", "age_first_sanction", "years_since_last_sanction",
    "offence", "seriousness", *NEED_COLUMNS, "protective_factors", "psychological_risk",
    "openness", "accommodation", "recall", "months_known",
)
#: The ground-truth columns added by :func:`assess_truth`.
TRUTH_COLUMNS: tuple[str, ...] = (
    "copas_rate", "actuarial_p", "p_reconviction", "harm_offence", "harm_offender",
    "harm_psychological", "harm_latent", "reference",
)

_A = assumption

_POPULATION = ParamSet("population", (
    P("p_female", 0.10, "prob", "share of women among supervised people",
      _A("sex-mix", "a predominantly male caseload, as in probation in England and Wales")),
    P("age_shape", 2.0, "positive", "gamma shape of (age - 18)",
      _A("age-distribution", "right-skewed adult ages, mean near 33")),
    P("age_scale", 7.5, "positive", "gamma scale of (age - 18), years",
      _A("age-distribution", "right-skewed adult ages, mean near 33")),
    P("first_sanction_shape", 1.5, "positive", "gamma shape of (age at first sanction - 12)",
      _A("onset", "most careers start in the teens")),
    P("first_sanction_scale", 4.0, "positive", "gamma scale of (age at first sanction - 12)",
      _A("onset", "most careers start in the teens")),
    P("sanction_rate", 0.6, "positive", "mean previous sanctions per year of criminal career "
      "(rates gamma-distributed across people, shape 1)",
      _A("career-rate", "heavy-tailed sanction counts (negative binomial)")),
    *(P(f"share_{o}", v, "prob", f"share of index offences that are {o.replace('_', ' ')}",
        _A("offence-mix", "national mix of index offences, rounded"))
      for o, v in zip(OFFENCE_TYPES, (0.24, 0.15, 0.05, 0.26, 0.10, 0.02, 0.13, 0.05),
                      strict=True)),
    P("p_seriousness_2", 0.40, "prob", "share of offences of moderate seriousness (level 2)",
      _A("seriousness-mix", "40% minor, 40% moderate, 20% serious")),
    P("p_seriousness_3", 0.20, "prob", "share of offences of high seriousness (level 3)",
      _A("seriousness-mix", "40% minor, 40% moderate, 20% serious")),
    P("need_loading", 0.5, "prob", "loading of every need area on one latent 'need' factor",
      _A("need-correlation", "needs co-occur (inter-area correlation about 0.25)")),
    *(P(f"need_any_{a}", v, "prob", f"share with a problem (score >= 1) in {a}",
        _A("need-prevalence", "rough prevalence of each need area"))
      for a, v in zip(NEED_AREAS, (0.35, 0.50, 0.50, 0.50, 0.55, 0.40, 0.40, 0.45, 0.65,
                                   0.45, 0.30), strict=True)),
    P("need_significant", 0.40, "prob", "share of problems that are significant (score 2)",
      _A("need-severity", "two in five problems are significant")),
    P("protective_base", 0.45, "prob", "chance of each of 3 protective factors at average need",
      _A("strengths", "on average 1.35 of 3 strengths")),
    P("protective_need_slope", 0.7, "nonneg", "fall in the logit of each strength per SD of need",
      _A("strengths", "more needs, fewer strengths")),
    P("psych_any", 0.35, "prob", "share with psychological risk factors (score >= 1)",
      _A("psych-prevalence", "about a third show supported psychological risk factors")),
    P("psych_significant", 0.30, "prob", "share of those whose factors are significant (2)",
      _A("psych-prevalence", "about one in ten overall at score 2")),
    P("psych_need_loading", 0.4, "prob", "correlation of psychological risk with latent need",
      _A("psych-correlation", "moderately linked to general need")),
    P("p_closed", 0.20, "prob", "share closed or silent with the officer (openness 0)",
      _A("openness-mix", "20% closed, 45% guarded, 35% open; unrelated to true risk")),
    P("p_guarded", 0.45, "prob", "share guarded with the officer (openness 1)",
      _A("openness-mix", "20% closed, 45% guarded, 35% open; unrelated to true risk")),
    P("p_no_fixed_abode", 0.60, "prob", "share of significant accommodation need with no "
      "fixed abode", _A("accommodation", "most significant accommodation need is no home")),
    P("p_recall", 0.10, "prob", "share of cases that are recalls to custody",
      _A("recall-share", "one case in ten is a recall")),
    P("p_known", 0.40, "prob", "share already known to the service (months_known > 0)",
      _A("continuity", "most vignettes are new assessments")),
    P("months_known_max", 24.0, "positive", "longest prior supervision among known cases",
      _A("continuity", "uniform 1..24 months for cases already known")),
))

_STYLE = ("predictors follow OGRS 3 (Howard et al. 2009): age, sex, Copas rate, offence type; "
          "the weight is not the published one")
_TRUTH = ParamSet("truth", (
    P("intercept", 1.1, "real", "logit intercept of the two-year reconviction model",
      _A("reconviction-level", "population two-year reconviction rate near 38%")),
    P("copas", 1.25, "real", "logit weight of the Copas rate ln((sanctions+1)/(10+career))",
      _A("copas-weight", _STYLE)),
    P("age_per_decade", -0.25, "real", "logit change per 10 years of age above 30",
      _A("age-weight", _STYLE)),
    P("female", -0.3, "real", "logit change for women", _A("sex-weight", _STYLE)),
    *(P(f"offence_{o}", v, "real", f"logit change for an index offence of {o}",
        _A("offence-weights", _STYLE))
      for o, v in zip(OFFENCE_TYPES, (0.0, 0.1, -0.8, 0.5, 0.0, -0.2, 0.2, 0.0), strict=True)),
    P("need_per_point", 0.08, "real", "logit change per need point above 7 (dynamic risk; not "
      "in the static actuarial score)",
      _A("dynamic-needs", "needs add to static risk, as OGP/OASys combine them")),
    *(P(f"harm_{o}", v, "real", f"serious-harm weight of an index offence of {o}",
        _A("offence-harm", "violent, sexual and domestic-abuse offences carry most harm"))
      for o, v in zip(OFFENCE_TYPES, (0.6, 0.7, 0.9, -0.6, -0.1, 0.5, -0.4, 0.4), strict=True)),
    P("harm_seriousness", 0.4, "real", "serious-harm change per seriousness level above 2",
      _A("harm-model", "seriousness of the index offence matters")),
    P("harm_reconviction", 0.35, "real", "serious-harm change per logit of reconviction above "
      "-0.4", _A("harm-model", "likelier reoffending, likelier harm")),
    P("harm_psychological", 0.5, "real", "serious-harm change per point of psychological risk",
      _A("harm-model", "supported psychological risk factors predict serious harm")),
    P("threshold_medium", -0.38, "real", "latent harm at which 'medium' starts",
      _A("rosh-cuts", "about 25% low, 55% medium, 18% high, 2% very high in the population")),
    P("threshold_high", 0.86, "real", "latent harm at which 'high' starts",
      _A("rosh-cuts", "about 25% low, 55% medium, 18% high, 2% very high in the population")),
    P("threshold_very_high", 1.84, "real", "latent harm at which 'very high' starts",
      _A("rosh-cuts", "about 25% low, 55% medium, 18% high, 2% very high in the population")),
))


def parameters() -> pd.DataFrame:
    """The population and ground-truth parameters with their meaning and provenance.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``component``, ``enabled``, ``parameter``, ``value``,
        ``meaning``, ``provenance`` and ``is_assumption``.

    Examples
    --------
    >>> from riskeval.world import vignettes
    >>> table = vignettes.parameters()
    >>> float(table.set_index("parameter").loc["p_female", "value"])
    0.1
    >>> bool(table["provenance"].str.len().gt(0).all())
    True
    """
    return params_table(_POPULATION.rows() + _TRUTH.rows())


def _cut(latent: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    return np.searchsorted(thresholds, latent, side="right")


def thresholds(truth: ParamSet = _TRUTH) -> np.ndarray:
    """The latent cut points between low|medium, medium|high and high|very high."""
    return np.array([truth["threshold_medium"], truth["threshold_high"],
                     truth["threshold_very_high"]])


def _ordinal(z: np.ndarray, p_any: float, p_sig: float) -> np.ndarray:
    """0/1/2 scores from a standard-normal ``z`` with P(>=1) = p_any, P(2) = p_any * p_sig."""
    cuts = special.ndtri(np.array([1.0 - p_any, 1.0 - p_any * p_sig]).clip(1e-12, 1 - 1e-12))
    return _cut(z, cuts).astype(np.int8)


def population(n: int, seed: Any = None, *, ids: Sequence[str] | None = None,
               params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Draw ``n`` random vignettes with their ground truth.

    Parameters
    ----------
    n : int
        Number of cases.
    seed : None, int, SeedSequence or Generator
        Every attribute of case ``i`` depends only on the seed and the case's identifier, so
        drawing more cases leaves the first ``n`` unchanged (None: fresh entropy).
    ids : sequence of str, optional
        Case identifiers (default ``V0001``, ``V0002``, ...).
    params : mapping, optional
        Replacement values for population parameters (see :func:`parameters`).

    Returns
    -------
    pandas.DataFrame
        One row per case: :data:`FEATURE_COLUMNS` then :data:`TRUTH_COLUMNS`, indexed from 0,
        with the identifier in column ``case``.

    Notes
    -----
    Joint distribution (all parameters are named assumptions): age is 18 plus a gamma
    variable; the criminal career starts at 12 plus a gamma variable (never after the current
    age); previous sanctions are negative binomial (Poisson with gamma-distributed rates) over
    the career; the eleven need areas load on one latent need factor; protective factors fall
    and psychological risk rises with need; openness is independent of true risk, so any weight
    put on it is bias.

    Examples
    --------
    >>> from riskeval.world import vignettes
    >>> cases = vignettes.population(5, seed=1)
    >>> cases.shape
    (5, 33)
    >>> list(cases["case"][:2]), str(cases["reference"].iloc[1])
    (['V0001', 'V0002'], 'high')
    >>> more = vignettes.population(8, seed=1)  # more cases leave the first five unchanged
    >>> bool(more.head(5).equals(cases))
    True
    """
    n = check_whole(n, "n", least=1)
    pp = _POPULATION.updated(params or {})
    case = _case_ids(n, ids)
    h = hash_ids(case)
    rs = Streams(seed)

    female = rs.uniform("pop.sex", h) < pp["p_female"]
    age = np.floor(18 + stats.gamma.ppf(rs.uniform("pop.age", h), pp["age_shape"],
                                        scale=pp["age_scale"])).clip(18, 80).astype(np.int16)
    onset = np.floor(12 + stats.gamma.ppf(rs.uniform("pop.onset", h), pp["first_sanction_shape"],
                                          scale=pp["first_sanction_scale"]))
    onset = np.minimum(onset, age).astype(np.int16)
    career = (age - onset).astype(float)
    # negative binomial with shape 1: Poisson(rate * career), rate ~ exponential(mean)
    p_nb = 1.0 / (1.0 + pp["sanction_rate"] * career)
    prev = stats.nbinom.ppf(rs.uniform("pop.sanctions", h), 1, p_nb).astype(np.int32)
    prev = np.where(career <= 0, 0, np.minimum(prev, 150))
    onset = np.where(prev == 0, age, onset).astype(np.int16)
    # with one previous sanction it was the first one; otherwise the last came after it
    gap = np.clip(stats.expon.ppf(rs.uniform("pop.since", h), scale=1.5), 0.1, career)
    since = np.where(prev == 1, career, np.where(prev > 1, gap, np.nan)).round(1)

    shares = [pp[f"share_{o}"] for o in OFFENCE_TYPES]
    offence = np.asarray(OFFENCE_TYPES, dtype=object)[rs.categorical("pop.offence", shares, h)]
    s2, s3 = pp["p_seriousness_2"], pp["p_seriousness_3"]
    if s2 + s3 > 1:
        raise RiskevalError(f"p_seriousness_2 + p_seriousness_3 must be <= 1; got {s2 + s3}")
    seriousness = (1 + rs.categorical("pop.seriousness", [1 - s2 - s3, s2, s3], h)).astype(np.int8)

    lam = pp["need_loading"]
    eta = rs.normal("pop.need", h)
    frame: dict[str, Any] = {
        "case": case, "age": age, "sex": np.where(female, "female", "male"),
        "previous_sanctions": prev, "age_first_sanction": onset,
        "years_since_last_sanction": since, "offence": offence, "seriousness": seriousness,
    }
    for area in NEED_AREAS:
        z = lam * eta + np.sqrt(1 - lam ** 2) * rs.normal(f"pop.need.{area}", h)
        frame[f"need_{area}"] = _ordinal(z, pp[f"need_any_{area}"], pp["need_significant"])
    p_strength = special.expit(special.logit(pp["protective_base"])
                               - pp["protective_need_slope"] * eta)
    frame["protective_factors"] = stats.binom.ppf(
        rs.uniform("pop.protective", h), 3, p_strength).astype(np.int8)
    lp = pp["psych_need_loading"]
    zp = lp * eta + np.sqrt(1 - lp ** 2) * rs.normal("pop.psych", h)
    frame["psychological_risk"] = _ordinal(zp, pp["psych_any"], pp["psych_significant"])
    pc, pg = pp["p_closed"], pp["p_guarded"]
    if pc + pg > 1:
        raise RiskevalError(f"p_closed + p_guarded must be <= 1; got {pc + pg}")
    frame["openness"] = rs.categorical("pop.openness", [pc, pg, 1 - pc - pg], h).astype(np.int8)
    acc = frame["need_accommodation"].astype(np.int8).copy()
    nfa = rs.uniform("pop.nfa", h) < pp["p_no_fixed_abode"]
    acc_code = np.where(acc == 0, 0, np.where((acc == 2) & nfa, 2, 1))
    frame["accommodation"] = np.asarray(ACCOMMODATION, dtype=object)[acc_code]
    frame["recall"] = rs.uniform("pop.recall", h) < pp["p_recall"]
    # a recalled person was already supervised on licence, so is known to the service
    known = (rs.uniform("pop.known", h) < pp["p_known"]) | frame["recall"]
    months = np.ceil(rs.uniform("pop.months", h) * pp["months_known_max"])
    frame["months_known"] = np.where(known, months, 0.0)
    return assess_truth(pd.DataFrame(frame))


def _case_ids(n: int, ids: Sequence[str] | None) -> np.ndarray:
    if ids is None:
        width = max(4, len(str(n)))
        return np.array([f"V{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    ids = np.asarray(list(ids), dtype=object)
    if len(ids) != n:
        raise RiskevalError(f"ids has {len(ids)} identifiers but n = {n}")
    dup = pd.Index(ids).duplicated()
    if dup.any():
        raise RiskevalError(f"ids must be unique; {ids[dup][0]!r} appears more than once")
    return ids


def base_case() -> dict[str, Any]:
    """The case :func:`factorial` holds fixed for every factor it does not vary.

    A man of 32 with 6 previous sanctions since 17, last one 1.5 years ago, a moderate
    violence offence, need score 1 in 'thinking_behaviour', 'lifestyle' and 'ete', no other
    needs, 1 protective factor, no psychological risk factors, guarded (openness 1), settled
    accommodation, not a recall, new to the service. (Assumption: a typical mid-range case.)

    Returns
    -------
    dict
        One value for each attribute of :data:`FEATURE_COLUMNS`.

    Examples
    --------
    >>> from riskeval.world import vignettes
    >>> case = vignettes.base_case()
    >>> case["age"], case["offence"], case["openness"]
    (32, 'violence', 1)
    >>> set(case) == set(vignettes.FEATURE_COLUMNS)
    True
    """
    out: dict[str, Any] = {
        "age": 32, "sex": "male", "previous_sanctions": 6, "age_first_sanction": 17,
        "years_since_last_sanction": 1.5, "offence": "violence", "seriousness": 2,
    }
    out.update({c: 0 for c in NEED_COLUMNS})
    out.update(need_thinking_behaviour=1, need_lifestyle=1, need_ete=1, protective_factors=1,
               psychological_risk=0, openness=1, accommodation="settled", recall=False,
               months_known=0.0)
    return out


def factorial(factors: Mapping[str, Sequence[Any]], *, base: Mapping[str, Any] | None = None,
              replicates: int = 1, prefix: str = "F") -> pd.DataFrame:
    """A factorial vignette design: every combination of the given factor levels.

    Parameters
    ----------
    factors : mapping of column name to levels
        The factors to vary, e.g. ``{"offence": ["violence", "arson"], "openness": [0, 2]}``.
        Names are any of :data:`FEATURE_COLUMNS`.
    base : mapping, optional
        Values for the factors held fixed (default :func:`base_case`); partial mappings update
        the default base.
    replicates : int
        Copies of each cell (distinct case identifiers, identical content), as when a factorial
        survey shows the same cell to several respondents.
    prefix : str
        Start of the case identifiers (``F0001`` ...).

    Returns
    -------
    pandas.DataFrame
        One row per cell and replicate, in :func:`itertools.product` order (the first factor
        varies slowest), with the ground truth.

    References
    ----------
    Auspurg, K. & Hinz, T. (2015). *Factorial Survey Experiments*. Sage.

    Examples
    --------
    >>> from riskeval.world import vignettes
    >>> design = vignettes.factorial({"offence": ["violence", "arson"], "openness": [0, 2]})
    >>> print(design[["case", "offence", "openness"]].to_string(index=False))
     case  offence  openness
    F0001 violence         0
    F0002 violence         2
    F0003    arson         0
    F0004    arson         2
    >>> design["reference"].cat.categories.tolist()
    ['low', 'medium', 'high', 'very high']
    """
    if not isinstance(factors, Mapping) or not factors:
        raise RiskevalTypeError("factors must be a non-empty mapping of column name to levels, "
                                "e.g. {'offence': ['violence', 'arson']}")
    row = base_case()
    if base is not None:
        _check_feature_names(base, "base")
        row.update(base)
    _check_feature_names(factors, "factors")
    names = list(factors)
    levels = []
    for name in names:
        lv = factors[name]
        lv = [lv] if isinstance(lv, (str, bytes)) or not isinstance(lv, Sequence) else list(lv)
        if not lv:
            raise RiskevalError(f"factor {name!r} has no levels")
        levels.append(lv)
    replicates = check_value(replicates, "count", "replicates")
    cells = list(itertools.product(*levels))
    records = []
    for cell in cells:
        rec = dict(row)
        rec.update(zip(names, cell, strict=True))
        records.extend([rec] * replicates)
    frame = pd.DataFrame.from_records(records, columns=list(row))
    n = len(frame)
    width = max(4, len(str(n)))
    frame.insert(0, "case", [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)])
    cell_id = np.repeat(np.arange(1, len(cells) + 1), replicates)
    frame.insert(1, "cell", cell_id)
    return validate_vignettes(frame)


def _check_feature_names(mapping: Mapping[str, Any], what: str) -> None:
    for name in mapping:
        if name not in FEATURE_COLUMNS:
            raise RiskevalError(f"{what} names an unknown vignette attribute {name!r}; known "
                                f"attributes are {list(FEATURE_COLUMNS)}"
                                f"{suggest(str(name), FEATURE_COLUMNS)}")


_INT_RANGES = {
    "age": (10, 100), "previous_sanctions": (0, 500), "age_first_sanction": (5, 100),
    "seriousness": (1, 3), "protective_factors": (0, 3), "psychological_risk": (0, 2),
    "openness": (0, 2), **{c: (0, 2) for c in NEED_COLUMNS},
}


def validate_vignettes(data: pd.DataFrame) -> pd.DataFrame:
    """Check a vignette table and return a clean copy with the ground truth (re)computed.

    Every attribute in :data:`FEATURE_COLUMNS` must be present with a legal value; errors name
    the column, the first offending row and value, and what was expected. The input is never
    modified. If the table already carries a ``reference`` column (for example a panel's
    consensus level for real vignettes) it is kept and only the other truth columns are
    recomputed.

    Raises
    ------
    RiskevalError
        On a missing column, unknown offence type or accommodation status, out-of-range score,
        duplicate case identifier or a missing value.

    Returns
    -------
    pandas.DataFrame
        A checked copy with :data:`TRUTH_COLUMNS` added or recomputed.

    Examples
    --------
    >>> from riskeval.world import vignettes
    >>> cases = vignettes.population(3, seed=1)
    >>> bare = cases.drop(columns=list(vignettes.TRUTH_COLUMNS))
    >>> bool(vignettes.validate_vignettes(bare)["harm_latent"].equals(cases["harm_latent"]))
    True
    >>> vignettes.validate_vignettes(bare.assign(openness=[1, 2, 7]))
    Traceback (most recent call last):
    ...
    riskeval.errors.RiskevalError: column 'openness' row 2: 7 is not a whole number from 0 to 2
    """
    if not isinstance(data, pd.DataFrame):
        raise RiskevalTypeError(f"vignettes must be a pandas DataFrame; got {type(data).__name__}")
    missing = [c for c in ("case", *FEATURE_COLUMNS) if c not in data.columns]
    if missing:
        raise RiskevalError(f"vignette table lacks column(s) {missing}; a vignette needs "
                            f"'case' and {list(FEATURE_COLUMNS)}")
    if len(data) == 0:
        raise RiskevalError("vignette table has no rows")
    out = data.copy()
    if out["case"].isna().any():
        raise RiskevalError(f"column 'case' is missing at row {_first(out['case'].isna())}")
    out["case"] = out["case"].astype(str)
    dup = out["case"].duplicated()
    if dup.any():
        raise RiskevalError(f"column 'case' must be unique; {out['case'][dup].iloc[0]!r} "
                            f"appears more than once")
    for col, (lo, hi) in _INT_RANGES.items():
        v = pd.to_numeric(out[col], errors="coerce")
        bad = v.isna() | (v != np.floor(v)) | (v < lo) | (v > hi)
        if bad.any():
            i = _first(bad)
            raise RiskevalError(f"column {col!r} row {i}: {plain_value(out[col].iloc[i])!r} is "
                                f"not a whole number from {lo} to {hi}")
        out[col] = v.astype(np.int16 if col in ("age", "age_first_sanction") else
                            np.int32 if col == "previous_sanctions" else np.int8)
    _check_choice(out, "offence", OFFENCE_TYPES)
    _check_choice(out, "accommodation", ACCOMMODATION)
    _check_choice(out, "sex", ("male", "female"))
    for col in ("months_known", "years_since_last_sanction"):
        v = pd.to_numeric(out[col], errors="coerce")
        bad = (v < 0) | (v.isna() if col == "months_known" else out[col].notna() & v.isna())
        if bad.any():
            i = _first(bad)
            raise RiskevalError(f"column {col!r} row {i}: {plain_value(out[col].iloc[i])!r} is "
                                f"not a number >= 0")
        out[col] = v.astype(float)
    if (out["age_first_sanction"] > out["age"]).any():
        i = _first(out["age_first_sanction"] > out["age"])
        raise RiskevalError(f"row {i}: age_first_sanction {out['age_first_sanction'].iloc[i]} is "
                            f"after age {out['age'].iloc[i]}")
    rec = out["recall"]
    if rec.dtype != bool:
        ok = rec.isin([True, False, 0, 1])
        if not ok.all():
            i = _first(~ok)
            raise RiskevalError(f"column 'recall' row {i}: {plain_value(rec.iloc[i])!r} is not "
                                "true/false")
        out["recall"] = rec.astype(bool)
    return assess_truth(out)


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _check_choice(frame: pd.DataFrame, col: str, options: Sequence[str]) -> None:
    bad = ~frame[col].isin(options)
    if bad.any():
        i = _first(bad)
        val = frame[col].iloc[i]
        raise RiskevalError(f"column {col!r} row {i}: unknown value {plain_value(val)!r}; "
                            f"expected one of {list(options)}{suggest(str(val), options)}")
    frame[col] = frame[col].astype(object)


def assess_truth(data: pd.DataFrame, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Add (or recompute) the ground-truth columns :data:`TRUTH_COLUMNS` of a vignette table.

    Parameters
    ----------
    data : pandas.DataFrame
        Vignettes with :data:`FEATURE_COLUMNS` (as from :func:`population`).
    params : mapping, optional
        Replacement values for truth-model parameters (see :func:`parameters`).

    Returns
    -------
    pandas.DataFrame
        A copy with ``copas_rate``; ``actuarial_p``, the static two-year reconviction
        probability an actuarial tool would show (age, sex, Copas rate, offence); and
        ``p_reconviction``, the true probability, which adds dynamic needs. The serious-harm
        model is ``harm_latent = harm_offence + harm_offender + harm_psychological`` with

        * ``harm_offence``: weight of the offence type plus seriousness,
        * ``harm_offender``: a weight times the true reconviction logit,
        * ``harm_psychological``: a weight times the psychological risk score;

        ``reference`` is ``harm_latent`` cut at three thresholds into low < medium < high <
        very high (an ordered categorical), kept as given if the input already has it.

    Examples
    --------
    >>> from riskeval.world import vignettes
    >>> cases = vignettes.population(4, seed=1).drop(columns="reference")
    >>> truth = vignettes.assess_truth(cases)
    >>> [str(level) for level in truth["reference"]]
    ['medium', 'high', 'medium', 'medium']
    >>> round(float(truth["harm_latent"].iloc[0]), 3)
    0.793
    """
    tp = _TRUTH.updated(params or {})
    out = data.copy()
    age = out["age"].to_numpy(float)
    career = age - out["age_first_sanction"].to_numpy(float)
    copas = np.log((out["previous_sanctions"].to_numpy(float) + 1.0) / (10.0 + career))
    off_code = pd.Categorical(out["offence"], categories=OFFENCE_TYPES).codes
    w_off = np.array([tp[f"offence_{o}"] for o in OFFENCE_TYPES])
    static = (tp["intercept"] + tp["copas"] * copas + tp["age_per_decade"] * (age - 30) / 10
              + tp["female"] * (out["sex"].to_numpy() == "female") + w_off[off_code])
    needs = out[list(NEED_COLUMNS)].to_numpy(float).sum(axis=1)
    true_logit = static + tp["need_per_point"] * (needs - 7.0)
    h_w = np.array([tp[f"harm_{o}"] for o in OFFENCE_TYPES])
    harm_offence = h_w[off_code] + tp["harm_seriousness"] * (out["seriousness"].to_numpy(float) - 2)
    harm_offender = tp["harm_reconviction"] * (true_logit + 0.4)
    harm_psych = tp["harm_psychological"] * out["psychological_risk"].to_numpy(float)
    latent = harm_offence + harm_offender + harm_psych
    out["copas_rate"] = copas
    out["actuarial_p"] = special.expit(static)
    out["p_reconviction"] = special.expit(true_logit)
    out["harm_offence"] = harm_offence
    out["harm_offender"] = harm_offender
    out["harm_psychological"] = harm_psych
    out["harm_latent"] = latent
    if "reference" in data.columns:
        out["reference"] = _as_levels(data["reference"])
    else:
        out["reference"] = pd.Categorical.from_codes(
            _cut(latent, thresholds(tp)), categories=list(RISK_LEVELS), ordered=True)
    order = [c for c in ("case", "cell") if c in out] + list(FEATURE_COLUMNS) + list(
        TRUTH_COLUMNS)
    rest = [c for c in out.columns if c not in order]
    return out[order + rest].reset_index(drop=True)


def _as_levels(col: pd.Series) -> pd.Categorical:
    vals = col.astype(object)
    bad = vals.notna() & ~vals.isin(RISK_LEVELS)
    if bad.any() or vals.isna().any():
        i = _first(bad | vals.isna())
        raise RiskevalError(f"column 'reference' row {i}: {plain_value(col.iloc[i])!r} is not "
                            f"one of {list(RISK_LEVELS)}")
    return pd.Categorical(vals, categories=list(RISK_LEVELS), ordered=True)


def truth_params(values: Mapping[str, Any] | None = None) -> ParamSet:
    """The truth-model parameter set (with optional replacements)."""
    return _TRUTH.updated(values or {})


def population_params(values: Mapping[str, Any] | None = None) -> ParamSet:
    """The population parameter set (with optional replacements)."""
    return _POPULATION.updated(values or {})
