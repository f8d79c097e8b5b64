"""DataFrame-facing ordinal mixed model and its result object."""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import check_columns
from .._core.results import Result
from ..data.ratings import Ratings, columns_of, level_codes, parse_categories
from ..errors import DegenerateDataWarning, RiskevalError, RiskevalTypeError, RiskevalWarning
from ._fit import _fixed_design, alike_within, grouping_factors
from ._ordinal import Design, SlopeDesign, fit, fit_slopes, tril_index
from ._spread import fit_spread

_REFERENCES = (
    "Christensen, R. H. B. (2019). Cumulative link models for ordinal regression with the R "
    "package ordinal.",
    "Agresti, A. (2010). Analysis of Ordinal Categorical Data (2nd ed.). Wiley.",
)


@dataclass(frozen=True)
class OrdinalMixedResult(Result):
    """A fitted cumulative link mixed model; everything is on the latent scale.

    Attributes
    ----------
    thresholds : pandas.DataFrame
        Cut points between consecutive levels (``low|medium`` ...), with ``se`` and interval.
    fixed_effects : pandas.DataFrame
        ``estimate``, ``se``, ``z``, ``ci_low``, ``ci_high`` (Wald).
    variance_components : pandas.Series
        ``case``, ``officer``, ``office`` and the fixed ``residual`` variance of the link
        (1 for probit, pi^2/3 for logit), which sets the scale.
    sd : pandas.DataFrame
        Random-effect SDs with SEs (observed information) and Wald intervals on the log
        scale. With ``slopes``, the officer's slope SDs follow its intercept SD as rows
        ``officer:<column>``; with ``spread``, the SD of the officers' log threshold spread
        follows as the row ``officer:spread``.
    variance_shares : pandas.Series
        Shares of the total latent variance. With ``slopes`` the shares are those of a
        rating whose slope covariates are 0 (intercept components and the residual; a slope's
        share depends on the covariate and is NaN). With ``spread`` the shares are those of
        the location effects and the residual; ``officer:spread`` is not a latent variance
        and its share is NaN.
    random_effects : mapping of str to pandas.Series or pandas.DataFrame
        Conditional modes (latent scale) by factor; with ``slopes`` the officer's is a
        DataFrame with columns ``(Intercept)`` and the slope columns; with ``spread``,
        ``officer:spread`` holds the officers' modes of the log spread ``s_j`` (positive:
        wider thresholds, more middle ratings).
    correlations : pandas.DataFrame
        With ``slopes``: the correlations of the officer's intercept and slopes (rows
        ``officer~officer:x`` ...), with SEs and Wald intervals on Fisher's z scale; empty
        otherwise. A correlation at +-1 or an SD at 0 is on the boundary: no SE, and a note.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import crossed_lmm, ordinal_mixed
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
    ...                                             n_vignettes=8)
    >>> ratings = rv.simulate(world, seed=1)
    >>> fit = ordinal_mixed(ratings, rating="rating", case="case", rater="officer",
    ...                     office="office")
    >>> fit.thresholds.index.tolist()
    ['low|medium', 'medium|high', 'high|very high']
    >>> fit.to_frame().columns.tolist()
    ['variance', 'share', 'sd', 'sd_se', 'sd_low', 'sd_high']
    """

    title: ClassVar[str] = "Cumulative link mixed model"

    link: str
    thresholds: pd.DataFrame
    fixed_effects: pd.DataFrame
    variance_components: pd.Series
    sd: pd.DataFrame
    variance_shares: pd.Series
    loglik: float
    aic: float
    bic: float
    n_obs: int
    n_groups: pd.Series
    n_dropped: int
    converged: bool
    message: str
    notes: tuple[str, ...]
    random_effects: Mapping[str, pd.Series] = field(repr=False)
    confidence: float = 0.95
    references: tuple[str, ...] = _REFERENCES
    correlations: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Variance components on the latent scale, their shares, and the random-effect SDs
        with SEs and intervals (NaN for the residual, fixed by the link)."""
        out = pd.DataFrame({"variance": self.variance_components,
                            "share": self.variance_shares})
        sd = self.sd.reindex(out.index)
        out["sd"] = sd["estimate"]
        out.loc["residual", "sd"] = math.sqrt(float(self.variance_components["residual"]))
        out["sd_se"], out["sd_low"], out["sd_high"] = sd["se"], sd["ci_low"], sd["ci_high"]
        return out

    def summary(self) -> str:
        """Plain text: random effects, thresholds and fixed effects on the latent scale."""
        lines = [f"Cumulative {self.link} mixed model (Laplace): {self.n_obs} ratings, "
                 f"log-likelihood {self.loglik:.4f}, AIC {self.aic:.2f}", "Random effects "
                 "(latent scale):"]
        for name, row in self.sd.iterrows():
            share = self.variance_shares[name]
            lines.append(f"  {name:<9} sd {row['estimate']:.4g} (se {row['se']:.3g})"
                         + (f", share {share:.3f}" if np.isfinite(share) else ""))
        for name, row in self.correlations.iterrows():
            lines.append(f"  corr {name}: {row['estimate']:.3f} (se {row['se']:.3g})")
        lines.append(f"  residual  variance {self.variance_components['residual']:.4g} "
                     f"(fixed by the {self.link} link)")
        lines.append("Thresholds:")
        for name, row in self.thresholds.iterrows():
            lines.append(f"  {name:<20} {row['estimate']:>9.4g}  se {row['se']:.3g}")
        if len(self.fixed_effects):
            lines.append("Fixed effects:")
            for name, row in self.fixed_effects.iterrows():
                lines.append(f"  {name:<20} {row['estimate']:>9.4g}  se {row['se']:.3g}  "
                             f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}]")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        fmt = {"float_format": lambda x: f"{x:.4g}"}
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<div><strong>Cumulative {self.link} mixed model</strong>: {self.n_obs} "
                f"ratings, log-likelihood {self.loglik:.4f}{self.sd.to_html(**fmt)}"
                f"{self.correlations.to_html(**fmt) if len(self.correlations) else ''}"
                f"{self.thresholds.to_html(**fmt)}{self.fixed_effects.to_html(**fmt)}"
                f"<ul>{notes}</ul></div>")


def ordinal_mixed(data: pd.DataFrame | Ratings, *, rating: str | None = None,
                  case: str | None = None, rater: str | None = None, office: str | None = None,
                  fixed: str | Sequence[str] | None = None,
                  link: str = "probit", categories: Any = None,
                  confidence: float = 0.95,
                  slopes: str | Sequence[str] | None = None,
                  spread: bool = False) -> OrdinalMixedResult:
    """Cumulative probit (or logit) model of ordered ratings with crossed random effects.

    ``P(rating <= level j) = F(tau_j - x'beta - b_case - b_officer - b_office)``: one latent
    scale on which cases, officers and offices shift the judgement, cut by thresholds into the
    ordered levels. The officer is nested in the office.

    Parameters
    ----------
    data : pandas.DataFrame or riskeval.Ratings
        One row per rating; for :class:`riskeval.Ratings` the columns below default to its
        roles.
    rating : str
        Ordered categorical, integer levels, or text with ``categories``.
    case, rater, office : str
        As in :func:`riskeval.variation.crossed_lmm`.
    fixed : str or list of str, optional
        Fixed effects (patsy right-hand side; no intercept: the thresholds take its place).
    link : {'probit', 'logit'}
        Probit puts the residual variance at 1 (a standard-normal latent error), logit at
        pi^2/3.
    categories : optional
        Levels of the rating, lowest first, when it is text.
    confidence : float
    slopes : str or list of str, optional
        Numeric columns on which each officer has a random slope, correlated with the
        officer's random intercept: the model of R's
        ``clmm(rating ~ x + ... + (1|case) + (1 + x|officer) + (1|office), nAGQ = 1)``.
        Each column is also a fixed effect (added when ``fixed`` does not name it). It must
        be numeric, without missing values on the ratings used, not constant, and vary
        within officers (a property of the officer has no within-officer slope); otherwise a
        :class:`riskeval.RiskevalError` names it. Default: intercepts only (today's model,
        the same numbers).
    spread : bool, default False
        Give each officer a threshold spread ``s_j ~ N(0, sigma_spread^2)`` besides the
        location ``b_officer``: officer ``j``'s thresholds become
        ``c + exp(s_j) (tau_k - c)`` around their centre ``c = mean(tau)``. ``s_j > 0``:
        the officer's thresholds lie further apart, so they use the middle levels more
        (central tendency, restriction of range); ``s_j < 0``: closer together, more ratings
        at the extremes. Use it when officers may differ in how much of the scale they use,
        not only in how severe they are. Needs at least 3 used levels and officers who each
        rate several cases; cannot be combined with ``slopes`` in this version (a
        :class:`riskeval.RiskevalError` says so).

    Returns
    -------
    OrdinalMixedResult

    Warns
    -----
    RiskevalWarning
        When the optimiser does not report convergence (also kept in ``notes``).

    Notes
    -----
    Estimation by the Laplace approximation (as R's ``ordinal::clmm``, default ``nAGQ = 1``);
    see :mod:`riskeval.variation._ordinal` for the method and why it was chosen. Officer-specific
    threshold shifts (a different threshold pattern per officer) are not yet available; a
    common stretch of the thresholds is (``spread``).

    With ``slopes``, officer ``o``'s effects ``(a_o, c_o1, ...)`` are multivariate normal with
    SDs and correlations to estimate, and a rating's latent judgement gains
    ``a_o + c_o1 x_1 + ...``. The covariance is estimated through its Cholesky factor (as in
    lme4 and clmm), so it stays positive semi-definite; an SD at zero or a correlation at
    +-1 is reported with a note. Centring a slope covariate changes the intercept SD and the
    correlation (they describe officers at ``x = 0``) but not the fit.

    With ``spread``, a location-scale cumulative model (Hedeker, Demirtas & Mermelstein,
    2009) with the random scale on the thresholds, as the rater criteria of DeCarlo, Kim &
    Johnson (2011); it measures the central-tendency rater effect of Myford & Wolfe (2003,
    2004) as a parameter. ``sd`` gains the row ``officer:spread`` (the SD of ``s_j``, on the
    log scale of the spread: 0.3 means a typical officer's thresholds are about 35% wider
    or 26% narrower than the average officer's), with a Wald interval on the log scale as the
    other SDs; ``random_effects["officer:spread"]`` holds the officers' conditional modes of
    ``s_j``. ``variance_components`` lists ``officer:spread`` (its variance, ``sigma^2``,
    not on the latent scale) with a NaN share: the spread changes how the latent scale is cut,
    not the latent variance, and the shares are those of the location effects as without
    it. The Laplace approximation (the inner mode uses the exact Hessian in the two officer
    effects) and the standard errors are as for the intercepts model. R's ``clmm`` has no
    random scale, so this model has no R reference: it is validated by parameter recovery
    on data simulated from it (``papers/ordinal_spread_recovery.md``: bias and coverage of
    the 95% intervals over 1000 replications per design). With ``sigma_spread = 0`` the fit is the
    intercepts model (same likelihood, same estimates); at that boundary a note says so.

    Raises :class:`riskeval.RiskevalError` with ``spread`` and ``slopes`` together, with
    fewer than 3 used levels, and when every officer rates one case.

    References
    ----------
    Christensen, R. H. B. (2019). Cumulative link models for ordinal regression with the R
    package ordinal.

    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects
    models using lme4. *Journal of Statistical Software*, 67(1), 1-48 (the Cholesky
    parametrisation of correlated random effects).

    Hedeker, D., Demirtas, H. & Mermelstein, R. J. (2009). A mixed ordinal location scale
    model for analysis of Ecological Momentary Assessment (EMA) data. *Statistics and Its
    Interface*, 2, 391-401.

    DeCarlo, L. T., Kim, Y. K. & Johnson, M. S. (2011). A hierarchical rater model for
    constructed responses, with a signal detection rater model. *Journal of Educational
    Measurement*, 48(3), 333-356.

    Myford, C. M. & Wolfe, E. W. (2003, 2004). Detecting and measuring rater effects using
    many-facet Rasch measurement, parts I and II. *Journal of Applied Measurement*, 4(4),
    386-422; 5(2), 189-227.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import crossed_lmm, ordinal_mixed
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
    ...                                             n_vignettes=8)
    >>> ratings = rv.simulate(world, seed=1)
    >>> fit = ordinal_mixed(ratings, rating="rating", case="case", rater="officer",
    ...                     office="office")
    >>> fit.variance_shares.round(2).to_dict()
    {'case': 0.22, 'officer': 0.03, 'office': 0.13, 'residual': 0.63}

    Officers who differ in how much a case feature ``x`` moves their rating (20 officers
    rating the same 30 cases):

    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> case, officer = np.divmod(np.arange(600), 20)
    >>> x = rng.normal(size=30)[case]
    >>> b = rng.normal(0, 0.5, 20)[officer] + rng.normal(0, 0.4, 20)[officer] * x
    >>> latent = 0.5 * x + rng.normal(size=30)[case] + b + rng.normal(size=600)
    >>> table = pd.DataFrame({"case": case, "officer": officer, "x": x,
    ...                       "rating": np.digitize(latent, [-1.0, 0.0, 1.0])})
    >>> slope = ordinal_mixed(table, rating="rating", case="case", rater="officer",
    ...                       slopes="x")
    >>> slope.sd["estimate"].round(2).to_dict()
    {'case': 1.09, 'officer': 0.51, 'officer:x': 0.62}
    >>> slope.correlations["estimate"].round(2).to_dict()
    {'officer~officer:x': -0.15}
    >>> slope.random_effects["officer"].columns.tolist()
    ['(Intercept)', 'x']

    Officers who differ in how much of the scale they use (each officer's thresholds
    stretched by ``exp(s_j)``, ``s_j ~ N(0, 0.5^2)``):

    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(0, 0.5, 20)
    >>> cuts = np.exp(s)[:, None] * np.array([-1.5, -0.5, 0.5, 1.5])
    >>> latent = rng.normal(size=30)[case] + rng.normal(0, 0.5, 20)[officer] + rng.normal(
    ...     size=600)
    >>> table = pd.DataFrame({"case": case, "officer": officer,
    ...                       "rating": (latent[:, None] > cuts[officer]).sum(axis=1)})
    >>> wide = ordinal_mixed(table, rating="rating", case="case", rater="officer",
    ...                      spread=True)
    >>> wide.sd["estimate"].round(2).to_dict()
    {'case': 0.91, 'officer': 0.49, 'officer:spread': 0.4}
    >>> round(float(np.corrcoef(wide.random_effects["officer:spread"], s)[0, 1]), 2)
    0.94
    """
    if link not in ("probit", "logit"):
        raise RiskevalError(f"link must be 'probit' or 'logit'; got {link!r}")
    if not isinstance(spread, (bool, np.bool_)):
        raise RiskevalTypeError(f"spread must be True or False; got {spread!r}")
    if spread and slopes is not None:
        raise RiskevalError(f"spread=True cannot be combined with slopes={slopes!r} in this "
                            f"version: fit the officers' threshold spread or their random "
                            f"slopes, not both")
    data, c = columns_of(data, ("rating", "case", "rater"), rating=rating, case=case,
                         rater=rater, office=office)
    rating, case, rater, office = c["rating"], c["case"], c["rater"], c["office"]
    data = data.reset_index(drop=True)
    y_all, cats = level_codes(data[rating], rating, parse_categories(categories))
    keys = [case, rater] + ([office] if office else [])
    slope_cols = _slope_columns(data, slopes, (y_all >= 0)
                                & data[keys].notna().all(axis=1).to_numpy())
    design = _fixed_design(data, fixed)
    design = design.drop(columns=[c for c in design.columns if c == "(Intercept)"])
    for col in slope_cols:   # the slope's mean is a fixed effect, as in clmm's formula
        if col not in design.columns and f"Q('{col}')" not in design.columns:
            design[col] = data.loc[design.index, col].astype(float)
    keep = (y_all >= 0) & data[keys].notna().all(axis=1).to_numpy()
    keep &= data.index.isin(design.index)
    n_dropped = int((~keep).sum())
    frame = data.loc[keep]
    y = y_all[keep]
    used = np.unique(y)
    if len(used) < 2:
        raise RiskevalError(f"rating column {rating!r} uses only one level; an ordinal model "
                            f"needs at least two")
    notes = []
    if len(used) < len(cats):
        missing = [cats[i] for i in range(len(cats)) if i not in set(used)]
        remap = {old: new for new, old in enumerate(used)}
        y = np.array([remap[v] for v in y])
        cats = tuple(cats[i] for i in used)
        notes.append(f"levels never used were dropped: {missing}")
    X = design.loc[frame.index].to_numpy(float)
    names = list(design.columns)
    factors = grouping_factors(frame, case, rater, office)
    per_level = len(y) / max(len(f[2]) for f in factors)
    if per_level < 5:
        notes.append(f"about {per_level:.1f} ratings per level of the largest factor: the "
                     f"Laplace approximation may understate variance components")
    if alike_within(factors[0][1], y.astype(float)):
        note = ("every officer gave each case the same level: the case SD has no finite "
                "estimate (the likelihood grows as it increases) and the reported value is "
                "where the optimiser stopped; there is no officer or office variation")
        warnings.warn(f"ordinal_mixed: {note}", DegenerateDataWarning, stacklevel=2)
        notes.append(note)
    if spread:
        return _with_spread(frame, y, X, names, factors, cats, rating, rater, link,
                            confidence, notes, n_dropped)
    if slope_cols:
        return _with_slopes(frame, y, X, names, factors, cats, slope_cols, link, confidence,
                            notes, n_dropped)
    d = Design(y, X, [f[1] for f in factors], [len(f[2]) for f in factors], len(cats))
    opt = fit(d, link)
    _check_converged(opt, notes, stacklevel=3)   # the user's call -> ordinal_mixed -> here
    j = len(cats) - 1
    from ._ordinal import Laplace

    lap = Laplace(d, link)
    tau, beta, theta = lap.split(opt.params)
    se = np.sqrt(np.maximum(np.diag(opt.cov), 0.0))
    z = stats.norm.ppf(0.5 + confidence / 2)
    th_names = [f"{cats[i]}|{cats[i + 1]}" for i in range(j)]
    thresholds = pd.DataFrame({"estimate": tau, "se": se[:j], "ci_low": tau - z * se[:j],
                               "ci_high": tau + z * se[:j]}, index=th_names)
    p = len(beta)
    fe = pd.DataFrame({"estimate": beta, "se": se[j:j + p], "z": beta / se[j:j + p],
                       "ci_low": beta - z * se[j:j + p], "ci_high": beta + z * se[j:j + p]},
                      index=pd.Index(names, name="term"))
    fnames = [f[0] for f in factors]
    order = [nm for nm in ("case", "officer", "office") if nm in fnames]
    sig = pd.Series(theta, index=fnames).reindex(order)
    sig_se = pd.Series(se[j + p:], index=fnames).reindex(order)
    # Wald on the log scale (never below zero; the likelihood is closer to quadratic there)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * sig_se / sig
        low = np.where(sig > 1e-8, sig * np.exp(-half), 0.0)
        high = np.where(sig > 1e-8, sig * np.exp(half), np.nan)
    sd = pd.DataFrame({"estimate": sig, "se": sig_se, "ci_low": low, "ci_high": high})
    resid = 1.0 if link == "probit" else math.pi ** 2 / 3
    var = pd.concat([sig ** 2, pd.Series({"residual": resid})])
    modes = lap.modes(opt.params)
    ranef = {nm: pd.Series(modes[i], index=factors[i][2], name=nm) for i, nm in
             enumerate(fnames)}
    loglik = -0.5 * opt.deviance
    k = j + p + len(factors)
    return OrdinalMixedResult(
        link=link, thresholds=thresholds, fixed_effects=fe, variance_components=var, sd=sd,
        variance_shares=var / var.sum(), loglik=loglik, aic=-2 * loglik + 2 * k,
        bic=-2 * loglik + math.log(len(y)) * k, n_obs=len(y),
        n_groups=pd.Series({nm: len(factors[fnames.index(nm)][2]) for nm in order}),
        n_dropped=n_dropped, converged=opt.converged, message=opt.message, notes=tuple(notes),
        random_effects=MappingProxyType({nm: ranef[nm] for nm in order}),
        confidence=confidence)


_NO_SE = ("the observed information is not positive definite at the optimum: standard "
          "errors are not available (NaN)")


def _check_converged(opt: Any, notes: list[str], stacklevel: int) -> None:
    """Warn (and note) when the optimiser did not report convergence."""
    if not opt.converged:
        note = (f"the optimiser did not report convergence ({opt.message}); the estimates "
                f"are where it stopped")
        warnings.warn(f"ordinal_mixed: {note}", RiskevalWarning, stacklevel=stacklevel)
        notes.append(note)


def _estimates(opt: Any, nat: np.ndarray, cats: tuple, names: list[str], p: int,
               confidence: float, notes: list[str]
               ) -> tuple[np.ndarray, float, pd.DataFrame, pd.DataFrame]:
    """After a fit with slopes or spread: the convergence warning, the standard errors of
    the natural parameters, the normal quantile of ``confidence``, and the thresholds and
    fixed-effects tables."""
    # the user's call -> ordinal_mixed -> _with_* -> here -> _check_converged
    _check_converged(opt, notes, stacklevel=5)
    j = len(cats) - 1
    se = np.sqrt(np.where(np.diag(opt.cov) >= 0, np.diag(opt.cov), np.nan))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    thresholds, fe = _coefficient_tables(nat[:j], nat[j:j + p], se[:j + p], cats, names, z)
    return se, z, thresholds, fe


def _coefficient_tables(tau: np.ndarray, beta: np.ndarray, se: np.ndarray, cats: tuple,
                        names: list[str], z: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Thresholds and fixed effects with SEs and Wald intervals (``se`` over both, in that
    order)."""
    j, p = len(tau), len(beta)
    th_names = [f"{cats[i]}|{cats[i + 1]}" for i in range(j)]
    thresholds = pd.DataFrame({"estimate": tau, "se": se[:j], "ci_low": tau - z * se[:j],
                               "ci_high": tau + z * se[:j]}, index=th_names)
    fe = pd.DataFrame({"estimate": beta, "se": se[j:j + p], "z": beta / se[j:j + p],
                       "ci_low": beta - z * se[j:j + p], "ci_high": beta + z * se[j:j + p]},
                      index=pd.Index(names, name="term"))
    return thresholds, fe


def _sd_table(sig: pd.Series, sig_se: pd.Series, z: float) -> pd.DataFrame:
    """SDs with SEs and Wald intervals on the log scale (never below zero; the likelihood is
    closer to quadratic there); an SD at zero has the interval ``[0, NaN]``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        half = z * sig_se / sig
        low = np.where(sig > 1e-8, sig * np.exp(-half), 0.0)
        high = np.where(sig > 1e-8, sig * np.exp(half), np.nan)
    return pd.DataFrame({"estimate": sig, "se": sig_se, "ci_low": low, "ci_high": high})


def _variances(sig: pd.Series, link: str) -> tuple[pd.Series, pd.Series]:
    """Variance components (the SDs squared and the link's residual) and the shares of the
    location components, ``factor`` rows only: a term ``factor:x`` (a slope, a spread) is not
    a share of the latent variance and gets NaN."""
    resid = 1.0 if link == "probit" else math.pi ** 2 / 3
    var = pd.concat([sig ** 2, pd.Series({"residual": resid})])
    base = var[[t for t in var.index if ":" not in t]]
    return var, (base / base.sum()).reindex(var.index)


def _slope_columns(data: pd.DataFrame, slopes: str | Sequence[str] | None,
                   used: np.ndarray) -> list[str]:
    """The slope columns, checked: present, numeric, no missing value and not constant on
    the ratings used (``used``)."""
    if slopes is None:
        return []
    cols = [slopes] if isinstance(slopes, str) else list(slopes)
    if not cols or not all(isinstance(col, str) for col in cols):
        raise RiskevalTypeError("slopes must be a column name or a list of column names; "
                                f"got {slopes!r}")
    if len(set(cols)) != len(cols):
        raise RiskevalError(f"slopes names a column twice: {cols!r}")
    check_columns(data, {f"slope {i + 1}": col for i, col in enumerate(cols)})
    for col in cols:
        values = data.loc[used, col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise RiskevalTypeError(f"the slope column {col!r} is not numeric (dtype "
                                    f"{values.dtype}); a random slope needs numbers")
        missing = values.isna().to_numpy()
        if missing.any():
            rows = values.index[missing]
            raise RiskevalError(f"the slope column {col!r} has {int(missing.sum())} missing "
                                f"value(s) (first at row {rows[0]}); fill or drop those rows")
        v = values.to_numpy(float)
        if not np.all(np.isfinite(v)):
            raise RiskevalError(f"the slope column {col!r} holds an infinite value")
        if len(v) and np.ptp(v) == 0:
            raise RiskevalError(f"the slope column {col!r} is constant ({v[0]:g}) on the "
                                f"ratings used; a slope needs a covariate that varies")
    return cols


def _with_slopes(frame: pd.DataFrame, y: np.ndarray, X: np.ndarray, names: list[str],
                 factors: list, cats: tuple, slope_cols: list[str], link: str,
                 confidence: float, notes: list[str], n_dropped: int) -> OrdinalMixedResult:
    """The model with correlated officer slopes on ``slope_cols``."""
    xs = frame[slope_cols].to_numpy(float)
    officer = factors[1][1]
    for i, col in enumerate(slope_cols):
        if alike_within(officer, xs[:, i]):
            raise RiskevalError(f"the slope column {col!r} does not vary within any officer "
                                f"(it is a property of the officer): an officer's slope on "
                                f"it cannot be told apart from the officer's intercept")
    n = len(y)
    ones = np.ones((n, 1))
    Z = [ones, np.column_stack([ones, xs])] + [ones] * (len(factors) - 2)
    d = SlopeDesign(y, X, [f[1] for f in factors], [len(f[2]) for f in factors], len(cats), Z)
    opt, lap, nat = fit_slopes(d, link)
    j, p = len(cats) - 1, X.shape[1]
    se, z, thresholds, fe = _estimates(opt, nat, cats, names, p, confidence, notes)
    # per factor: its SDs then its correlations, in the natural parameter vector
    sd_rows: dict[str, tuple[float, float]] = {}
    cor_rows: dict[str, tuple[float, float]] = {}
    at = j + p
    for (fname, _, _), zk in zip(factors, Z, strict=True):
        r = zk.shape[1]
        terms = [fname, *[f"{fname}:{col}" for col in slope_cols][:r - 1]]
        for a in range(r):
            sd_rows[terms[a]] = (nat[at + a], se[at + a])
        rows, cols = np.tril_indices(r, -1)
        for m, (a, b) in enumerate(zip(rows, cols, strict=True)):
            cor_rows[f"{terms[b]}~{terms[a]}"] = (nat[at + r + m], se[at + r + m])
        at += r + len(rows)
    fnames = [f[0] for f in factors]
    order = [nm for nm in ("case", "officer", "office") if nm in fnames]
    sd_order = [t for nm in order for t in sd_rows if t == nm or t.startswith(f"{nm}:")]
    sig = pd.Series({t: sd_rows[t][0] for t in sd_order})
    sig_se = pd.Series({t: sd_rows[t][1] for t in sd_order})
    sd = _sd_table(sig, sig_se, z)
    rho = pd.Series({k: v[0] for k, v in cor_rows.items()}, dtype=float)
    rho_se = pd.Series({k: v[1] for k, v in cor_rows.items()}, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Wald on Fisher's z = atanh(rho), whose SE is se / (1 - rho^2)
        zr, zse = np.arctanh(rho), rho_se / (1 - rho ** 2)
        correlations = pd.DataFrame({"estimate": rho, "se": rho_se,
                                     "ci_low": np.tanh(zr - z * zse),
                                     "ci_high": np.tanh(zr + z * zse)})
    correlations.index.name = "pair"
    for term, (value, _) in sd_rows.items():
        if value <= 1e-4:
            notes.append(f"the {term} SD is on the boundary (0): that term has no "
                         f"variation between levels; its correlations are undefined and it has "
                         f"no standard error")
    for pair, (value, _) in cor_rows.items():
        if abs(value) >= 0.999 and np.isfinite(value):
            notes.append(f"the correlation {pair} is on the boundary ({value:+.3f}): the "
                         f"officer covariance matrix is singular (the data do not separate "
                         f"the terms), so it has no standard error; a simpler model may suit")
    if not np.all(np.isfinite(se[:j + p])):
        notes.append(_NO_SE)
    # shares at x = 0: the intercept components and the residual (a slope's variance
    # depends on x; its share is NaN)
    var, shares = _variances(sig, link)
    modes = lap.modes(opt.params)
    ranef: dict[str, Any] = {}
    for i, nm in enumerate(fnames):
        if modes[i].shape[1] == 1:
            ranef[nm] = pd.Series(modes[i][:, 0], index=factors[i][2], name=nm)
        else:
            ranef[nm] = pd.DataFrame(modes[i], index=factors[i][2],
                                     columns=["(Intercept)", *slope_cols])
    loglik = -0.5 * opt.deviance
    k = j + p + sum(len(tril_index(zk.shape[1])[0]) for zk in Z)
    return OrdinalMixedResult(
        link=link, thresholds=thresholds, fixed_effects=fe, variance_components=var, sd=sd,
        variance_shares=shares, loglik=loglik, aic=-2 * loglik + 2 * k,
        bic=-2 * loglik + math.log(len(y)) * k, n_obs=len(y),
        n_groups=pd.Series({nm: len(factors[fnames.index(nm)][2]) for nm in order}),
        n_dropped=n_dropped, converged=opt.converged, message=opt.message, notes=tuple(notes),
        random_effects=MappingProxyType({nm: ranef[nm] for nm in order}),
        confidence=confidence, correlations=correlations)


def _with_spread(frame: pd.DataFrame, y: np.ndarray, X: np.ndarray, names: list[str],
                 factors: list, cats: tuple, rating: str, rater: str, link: str,
                 confidence: float, notes: list[str], n_dropped: int) -> OrdinalMixedResult:
    """The model with an officer-specific threshold spread (:mod:`._spread`)."""
    if len(cats) < 3:
        raise RiskevalError(f"spread=True needs at least 3 used levels of {rating!r} (2 "
                            f"thresholds to spread around their centre); the ratings used "
                            f"have {len(cats)}: {list(cats)}")
    case_codes, officer_codes = factors[0][1], factors[1][1]
    n_officers = len(factors[1][2])
    cases_per_officer = np.bincount(
        np.unique(officer_codes.astype(np.int64) * len(factors[0][2]) + case_codes)
        // len(factors[0][2]), minlength=n_officers)
    if cases_per_officer.max() < 2:
        raise RiskevalError(f"spread=True: every officer ({rater!r}) rates one case, so an "
                            f"officer's spread of the thresholds cannot be told apart from "
                            f"the case; the spread needs officers who rate several cases")
    few = int((cases_per_officer < 5).sum())
    if few:
        notes.append(f"{few} of {n_officers} officers rate fewer than 5 cases: their spread "
                     f"modes are shrunk strongly towards 0")
    d = Design(y, X, [f[1] for f in factors], [len(f[2]) for f in factors], len(cats))
    opt, lap, nat = fit_spread(d, link)
    j, p = len(cats) - 1, X.shape[1]
    se, z, thresholds, fe = _estimates(opt, nat, cats, names, p, confidence, notes)
    fnames = [f[0] for f in factors]
    order = [nm for nm in ("case", "officer", "office") if nm in fnames]
    k = len(fnames)
    sig_all = dict(zip(fnames, zip(nat[j + p:j + p + k], se[j + p:j + p + k], strict=True),
                       strict=True))
    sig_all["officer:spread"] = (nat[-1], se[-1])
    sd_order = [t for nm in order for t in ([nm, "officer:spread"] if nm == "officer"
                                            else [nm])]
    sig = pd.Series({t: sig_all[t][0] for t in sd_order})
    sig_se = pd.Series({t: sig_all[t][1] for t in sd_order})
    sd = _sd_table(sig, sig_se, z)
    for term in sd_order:
        if sig_all[term][0] <= 1e-4:
            what = ("the officers' threshold spreads do not vary detectably and the fit is "
                    "the intercepts model's" if term == "officer:spread"
                    else "that factor has no variation between levels")
            notes.append(f"the {term} SD is on the boundary (0): {what}; it has no standard "
                         f"error")
    if not np.all(np.isfinite(se[:j + p])):
        notes.append(_NO_SE)
    var, shares = _variances(sig, link)
    modes = lap.modes(opt.params)
    ranef: dict[str, Any] = {nm: pd.Series(modes[i][:, 0], index=factors[i][2], name=nm)
                             for i, nm in enumerate(fnames)}
    ranef["officer:spread"] = pd.Series(modes[1][:, 1], index=factors[1][2],
                                        name="officer:spread")
    loglik = -0.5 * opt.deviance
    n_par = j + p + k + 1
    return OrdinalMixedResult(
        link=link, thresholds=thresholds, fixed_effects=fe, variance_components=var, sd=sd,
        variance_shares=shares, loglik=loglik, aic=-2 * loglik + 2 * n_par,
        bic=-2 * loglik + math.log(len(y)) * n_par, n_obs=len(y),
        n_groups=pd.Series({nm: len(factors[fnames.index(nm)][2]) for nm in order}),
        n_dropped=n_dropped, converged=opt.converged, message=opt.message, notes=tuple(notes),
        random_effects=MappingProxyType({nm: ranef[nm] for nm in sd_order}),
        confidence=confidence)
