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

from .._core.results import Result
from ..data.ratings import Ratings, columns_of, level_codes, parse_categories
from ..errors import DegenerateDataWarning, RiskevalError
from ._fit import _fixed_design, alike_within, grouping_factors
from ._ordinal import Design, fit

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
        scale.
    variance_shares : pandas.Series
        Shares of the total latent variance.

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
            lines.append(f"  {name:<9} sd {row['estimate']:.4g} (se {row['se']:.3g}), share "
                         f"{self.variance_shares[name]:.3f}")
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
                f"{self.thresholds.to_html(**fmt)}{self.fixed_effects.to_html(**fmt)}"
                f"<ul>{notes}</ul></div>")


def ordinal_mixed(data: pd.DataFrame | Ratings, *, rating: str | None = None,
                  case: str | None = None, rater: str | None = None, office: str | None = None,
                  fixed: str | Sequence[str] | None = None,
                  link: str = "probit", categories: Any = None,
                  confidence: float = 0.95) -> OrdinalMixedResult:
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

    Returns
    -------
    OrdinalMixedResult

    Notes
    -----
    Estimation by the Laplace approximation (as R's ``ordinal::clmm``, default ``nAGQ = 1``);
    see :mod:`riskeval.variation._ordinal` for the method and why it was chosen. Officer-specific
    threshold shifts are not yet available.

    References
    ----------
    Christensen, R. H. B. (2019). Cumulative link models for ordinal regression with the R
    package ordinal.

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
    """
    if link not in ("probit", "logit"):
        raise RiskevalError(f"link must be 'probit' or 'logit'; got {link!r}")
    data, c = columns_of(data, ("rating", "case", "rater"), rating=rating, case=case,
                         rater=rater, office=office)
    rating, case, rater, office = c["rating"], c["case"], c["rater"], c["office"]
    data = data.reset_index(drop=True)
    y_all, cats = level_codes(data[rating], rating, parse_categories(categories))
    design = _fixed_design(data, fixed)
    design = design.drop(columns=[c for c in design.columns if c == "(Intercept)"])
    keys = [case, rater] + ([office] if office else [])
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
    d = Design(y, X, [f[1] for f in factors], [len(f[2]) for f in factors], len(cats))
    opt = fit(d, link)
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
