"""Design diagnosis for a multilevel rating study in simulated worlds of offices and officers.

:func:`world_study` declares, for :func:`riskeval.studies.diagnose`, a study in which every
officer of ``n_offices`` offices rates the same ``n_cases`` vignettes, analysed with the crossed
mixed model of :mod:`riskeval.variation`. Each simulated study draws a new world -- offices,
officers and vignettes -- from :mod:`riskeval.simulate`, built exactly as the parameter-recovery
study builds its worlds (``riskeval.studies._recovery.Scenario``), so the diagnosands
answer design questions such as "how many offices are needed to estimate the office variance
to a given precision?" or "how many officers to detect the experience effect?".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import stats

from .._core.checks import check_confidence, check_whole
from .._core.seeds import seed_sequence as seed_entropy
from ..errors import RiskevalError
from ._recovery import Scenario, fit_latent, fit_levels, simulated
from .diagnosis import Design, Estimator, _child

__all__ = ["ESTIMANDS", "world_study"]

#: The estimands, in the order of the estimators.
ESTIMANDS = ("office variance", "officer variance", "experience per year")

#: The recovery study's named assumptions (``Scenario``'s defaults): the single source of the
#: defaults of :func:`world_study`.
_ASSUMED = {f.name: f.default for f in dataclasses.fields(Scenario)
            if f.default is not dataclasses.MISSING}

_COMPONENT = {"office variance": "office", "officer variance": "officer"}


class _Fitter:
    """Fits the model once per simulated data set, shared by the estimators of one design.

    :func:`riskeval.studies.diagnose` calls every estimator on the same data object in turn; the
    last fit is kept with (and recognised by the identity of) its data. The cache is not pickled.
    """

    def __init__(self, outcome: str, ci: str | None, confidence: float) -> None:
        self.outcome, self.ci, self.confidence = outcome, ci, confidence
        self._last: tuple[Any, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_last": None}

    def __call__(self, data: Any) -> Any:
        last = self._last  # read once: another thread may replace it
        if last is not None and last[0] is data:
            return last[1]
        if self.outcome == "latent":
            fit = fit_latent(data, ci=self.ci, confidence=self.confidence)
        else:
            fit = fit_levels(data, confidence=self.confidence)
        self._last = (data, fit)
        return fit


def _check_int(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise RiskevalError(f"{name} must be an integer of at least {least}; got {value!r}")
    return check_whole(value, name, least)


def _check_real(name: str, value: Any, *, positive: bool = False,
                non_negative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise RiskevalError(f"{name} must be a finite number; got {value!r}")
    if positive and value <= 0:
        raise RiskevalError(f"{name} must be positive; got {value!r}")
    if non_negative and value < 0:
        raise RiskevalError(f"{name} must be zero or positive; got {value!r}")
    return float(value)


def world_study(n_offices: int, officers_per_office: int, n_cases: int, *,
                office_sd: float = _ASSUMED["office_sd"],
                officer_sd: float = _ASSUMED["officer_sd"],
                per_decade_experience: float = _ASSUMED["per_decade_experience"],
                noise_sd: float = _ASSUMED["noise_sd"],
                vignettes_per_officer: int | None = None,
                outcome: str = "latent",
                estimands: Sequence[str] = ESTIMANDS,
                ci: str | None = "auto", confidence: float = 0.95) -> Design:
    """A multilevel rating study in simulated worlds, declared for ``design.diagnose``.

    Every officer (``officers_per_office`` in each of ``n_offices`` offices) rates the same
    ``n_cases`` vignettes once. Each simulated study draws a new world -- offices, officers with
    their experience, and vignettes -- and simulates it with only office practice, the officer's
    own severity (with its experience slope) and judgement noise switched on, every officer
    equally reliable; then fits the crossed model ``y ~ experience + (1|case) + (1|office) +
    (1|officer)``.

    Parameters
    ----------
    n_offices : int
        Offices (at least 2: a variance component needs two levels).
    officers_per_office : int
        Officers in each office (at least 2, so that officers and offices can be told apart).
    n_cases : int
        Vignettes, each rated by every officer (at least 2).
    office_sd, officer_sd : float
        True standard deviations of the office's and the officer's shift of the latent
        judgement (zero or positive).
    per_decade_experience : float
        True change of the officer's latent judgement per ten years of experience.
    noise_sd : float
        Standard deviation of the judgement noise of each rating (positive).
    vignettes_per_officer : int, optional
        Each officer rates only this many of the ``n_cases`` vignettes, allocated cyclically
        (:class:`riskeval.world.Allocation`, ``allocation="incomplete"``), so that each vignette
        is rated by about ``officers x vignettes_per_officer / n_cases`` officers; the mixed
        model handles the incomplete design. Default: every officer rates every vignette.
    outcome : {'latent', 'levels'}
        ``'latent'`` (default): :func:`riskeval.variation.crossed_lmm` (REML) on the officers'
        latent judgements, as the recovery study fits it. ``'levels'``:
        :func:`riskeval.variation.ordinal_mixed` (probit, Laplace) on the recorded risk levels,
        which a real study observes. On the probit scale the unit is ``noise_sd``, so the
        estimands are the latent values divided by ``noise_sd`` (variances by its square) and
        are labelled ``"... (probit)"``.
    estimands : sequence of str
        Which of ``"office variance"``, ``"officer variance"`` and ``"experience per year"`` to
        estimate (default all three; fitting is shared, so fewer are not faster).
    ci : {'auto', 'profile', 'profile-ml', 'wald', None}
        Intervals of the variance components, passed to ``crossed_lmm`` (``'auto'``: profile
        likelihood at these sizes, as in the recovery study; ``'wald'`` is about ten times
        faster; ``None`` gives none -- power needs no variance intervals). Only for
        ``outcome='latent'``; the ordinal model's intervals are Wald (log scale for SDs).
    confidence : float
        Level of the intervals, hence the target of ``coverage``. (The level of the test behind
        ``power`` is ``diagnose``'s ``alpha``.)

    Returns
    -------
    riskeval.studies.Design
        Its population, given a ``numpy.random.SeedSequence`` ``s``, draws the world from child
        ``(*s.spawn_key, 0)`` of ``s`` and the ratings from child ``(*s.spawn_key, 1)``, and
        returns the ratings (a DataFrame with ``case``, ``officer``, ``office``, ``latent``,
        ``rating``, ``experience`` in years, ...) and the truths. Its estimators, in this order
        and named for :func:`~riskeval.studies.sample_size`:

        - ``"office variance"``: the office variance component with its interval;
        - ``"officer variance"``: the officer variance component with its interval;
        - ``"experience"``: the experience coefficient per year with its interval and the
          p-value of its test of zero (Satterthwaite t for ``'latent'``, Wald z for
          ``'levels'``), so its ``power`` is the power to detect the experience effect.

    Raises
    ------
    RiskevalError
        On a size, SD, ``outcome``, ``estimands``, ``ci`` or ``confidence`` out of range; the
        message names the argument.

    Notes
    -----
    The default true values are the parameter-recovery study's named assumptions (the defaults
    of ``riskeval.studies._recovery.Scenario``, reported in ``papers/parameter_recovery.md``:
    office SD 0.35, officer SD 0.30, experience -0.15 per decade, noise SD 0.5). They are
    assumptions for the designer to vary, not published estimates. With the defaults, the
    recovery study found the latent model's estimates nearly unbiased and its 95% intervals
    close to nominal at 20 x 6 x 30 and 6 x 8 x 24; the ordinal model's SDs were biased by about
    -3%.

    One fit of the latent model with profile intervals takes about 0.4 s at these sizes (about
    0.03 s with ``ci='wald'`` or ``None``); the ordinal model about 0.7 s.

    Examples
    --------
    >>> from riskeval.studies import diagnose, sample_size
    >>> small = diagnose(world_study(2, 3, 6, ci=None), n_sims=2, seed=1)
    >>> small.table["estimator"].tolist()
    ['office variance', 'officer variance', 'experience']
    >>> round(float(small.table.loc[2, "bias"]), 4)
    0.0053

    A real diagnosis and a search for the number of offices (slow: minutes):

    >>> d = diagnose(world_study(20, 6, 30), n_sims=200, seed=1, n_jobs=2)   # doctest: +SKIP
    >>> res = sample_size(lambda n: world_study(n, 6, 30, ci=None), [5, 10, 20],
    ...                   estimator="experience", diagnosand="power", target=0.8,
    ...                   n_sims=200, seed=1)                                # doctest: +SKIP
    >>> res.smallest                                                         # doctest: +SKIP

    References
    ----------
    Blair, G., Cooper, J., Coppock, A. & Humphreys, M. (2019). Declaring and diagnosing research
    designs. *American Political Science Review* 113(3), 838-859.

    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
    using lme4. *Journal of Statistical Software* 67(1), 1-48.

    Christensen, R. H. B. (2019). Cumulative link models for ordinal regression with the R
    package ordinal (for ``outcome='levels'``).
    """
    n_offices = _check_int("n_offices", n_offices, 2)
    officers_per_office = _check_int("officers_per_office", officers_per_office, 2)
    n_cases = _check_int("n_cases", n_cases, 2)
    office_sd = _check_real("office_sd", office_sd, non_negative=True)
    officer_sd = _check_real("officer_sd", officer_sd, non_negative=True)
    per_decade_experience = _check_real("per_decade_experience", per_decade_experience)
    noise_sd = _check_real("noise_sd", noise_sd, positive=True)
    if outcome not in ("latent", "levels"):
        raise RiskevalError(f"outcome must be 'latent' or 'levels'; got {outcome!r}")
    if isinstance(estimands, str):
        estimands = (estimands,)
    chosen = list(estimands)
    bad = [e for e in chosen if e not in ESTIMANDS]
    if bad or not chosen or len(set(chosen)) < len(chosen):
        raise RiskevalError(f"estimands must be distinct names among {list(ESTIMANDS)}; got "
                            f"{chosen!r}")
    if ci not in ("auto", "profile", "profile-ml", "wald", None):
        raise RiskevalError(f"ci must be 'auto', 'profile', 'profile-ml', 'wald' or None; "
                            f"got {ci!r}")
    if outcome == "levels" and ci != "auto":
        raise RiskevalError(f"ci={ci!r} applies to outcome='latent' only; the ordinal model's "
                            f"intervals are Wald")
    if isinstance(confidence, bool) or not isinstance(confidence, Real):
        raise RiskevalError(f"confidence must be a number between 0 and 1; got {confidence!r}")
    check_confidence(confidence)

    if vignettes_per_officer is not None:
        vignettes_per_officer = _check_int("vignettes_per_officer", vignettes_per_officer, 1)
        if vignettes_per_officer > n_cases:
            raise RiskevalError(f"vignettes_per_officer={vignettes_per_officer} exceeds "
                                f"n_cases={n_cases}")
    name = f"{n_offices} offices x {officers_per_office} officers x {n_cases} cases ({outcome})"
    if vignettes_per_officer:
        name += f", {vignettes_per_officer} per officer"
    sc = Scenario(name, n_offices, officers_per_office, n_cases, office_sd=office_sd,
                  officer_sd=officer_sd, per_decade_experience=per_decade_experience,
                  noise_sd=noise_sd, vignettes_per_officer=vignettes_per_officer or 0)
    latent_truth = sc.truth()
    if outcome == "latent":
        label = {e: e for e in ESTIMANDS}
        truth = {e: latent_truth[e] for e in chosen}
    else:
        label = {e: f"{e} (probit)" for e in ESTIMANDS}
        scale = {"office variance": noise_sd ** 2, "officer variance": noise_sd ** 2,
                 "experience per year": noise_sd}
        truth = {label[e]: latent_truth[e] / scale[e] for e in chosen}
    fitter = _Fitter(outcome, ci, float(confidence))

    def population(seed: np.random.SeedSequence) -> tuple[Any, dict[str, float]]:
        ss = seed_entropy(seed)
        _, ratings = simulated(sc, _child(ss, 0), _child(ss, 1))
        return ratings, dict(truth)

    def variance(component: str) -> Any:
        def fn(data: Any) -> dict[str, float]:
            fit = fitter(data)
            if outcome == "latent":
                row = fit.variance_table.loc[component]
                return {"estimate": row["variance"], "ci_low": row["ci_low"],
                        "ci_high": row["ci_high"]}
            row = fit.sd.loc[component]  # SD limits square to variance limits
            return {"estimate": row["estimate"] ** 2, "ci_low": row["ci_low"] ** 2,
                    "ci_high": row["ci_high"] ** 2}
        return fn

    def experience(data: Any) -> dict[str, float]:
        row = fitter(data).fixed_effects.loc["experience"]
        p = row["p"] if outcome == "latent" else 2 * stats.norm.sf(abs(row["z"]))
        return {"estimate": row["estimate"], "ci_low": row["ci_low"],
                "ci_high": row["ci_high"], "p": p}

    estimators = []
    for e in ESTIMANDS:
        if e in chosen:
            fn = experience if e == "experience per year" else variance(_COMPONENT[e])
            estimators.append(Estimator("experience" if e == "experience per year" else e,
                                        label[e], fn))
    params = {"n_offices": n_offices, "officers_per_office": officers_per_office,
              "n_cases": n_cases, "office_sd": office_sd, "officer_sd": officer_sd,
              "per_decade_experience": per_decade_experience, "noise_sd": noise_sd,
              "vignettes_per_officer": vignettes_per_officer,
              "outcome": outcome, "estimands": tuple(chosen), "ci": ci,
              "confidence": float(confidence)}
    return Design(population, tuple(estimators), name=name, params=params)
