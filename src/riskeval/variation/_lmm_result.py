"""The result of the crossed linear mixed model (with or without random slopes).

Shared by :mod:`._fit` (random intercepts) and :mod:`._slopes` (random slopes), which both
build it, so that neither imports the other's module.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .._core.results import Result

#: Relative standard deviation below which a variance component is reported as on the boundary
#: (the tolerance lme4 uses for a singular fit).
BOUNDARY_TOL = 1e-4

_REFERENCES = (
    "Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects "
    "models using lme4. Journal of Statistical Software 67(1), 1-48.",
)


@dataclass(frozen=True)
class LMMResult(Result):
    """A fitted crossed random-intercepts model.

    Attributes
    ----------
    variance_components : pandas.Series
        Variances indexed by ``case``, ``officer``, ``office`` (those in the model) and
        ``residual``.
    sd : pandas.Series
        Their square roots.
    variance_shares : pandas.DataFrame
        Each component's share of the total variance: ``estimate``, ``ci_low``, ``ci_high``
        (profile-likelihood intervals, or NaN when ``ci=None``).
    variance_table : pandas.DataFrame
        ``variance``, ``ci_low``, ``ci_high``, ``sd``, ``sd_low``, ``sd_high`` per component.
    fixed_effects : pandas.DataFrame
        ``estimate``, ``se`` (conditional on the variance components, as in lme4's
        ``summary``), ``df`` (Satterthwaite, as lmerTest), ``t``, ``p``, ``ci_low``,
        ``ci_high`` (t intervals on those df).
    loglik, aic, bic : float
        REML or ML log-likelihood (as ``reml``) and the information criteria built on it.
    random_effects : mapping of name to pandas.DataFrame
        Conditional modes (BLUPs) of each level's intercept, on the rating scale
        (``estimate``), with their conditional standard deviations (``se``; lme4's
        ``condVar``).
    boundary : tuple of str
        Components estimated at zero; see ``notes``.

    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import crossed_lmm, ordinal_mixed
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
    ...                                             n_vignettes=8)
    >>> ratings = rv.simulate(world, seed=1)
    >>> fit = crossed_lmm(ratings, rating="rating", case="case", rater="officer",
    ...                   office="office")
    >>> fit.to_frame().index.tolist()
    ['case', 'officer', 'office', 'residual']
    >>> round(float(fit.variance_shares["estimate"].sum()), 6), fit.n_obs
    (1.0, 72)
    """

    title: ClassVar[str] = "Crossed linear mixed model"

    variance_components: pd.Series
    sd: pd.Series
    variance_shares: pd.DataFrame
    fixed_effects: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    reml: bool
    n_obs: int
    n_groups: pd.Series
    n_dropped: int
    theta: pd.Series
    converged: bool
    message: str
    n_evaluations: int
    boundary: tuple[str, ...]
    notes: tuple[str, ...]
    random_effects: Mapping[str, pd.DataFrame] = field(repr=False)
    variance_table: pd.DataFrame | None = None
    confidence: float = 0.95
    references: tuple[str, ...] = _REFERENCES

    @property
    def deviance(self) -> float:
        """-2 log-likelihood (the REML criterion when ``reml``)."""
        return -2.0 * self.loglik

    def to_frame(self) -> pd.DataFrame:
        """Variance components with intervals, SDs and shares as one table."""
        out = self.variance_table.copy()
        out["share"] = self.variance_shares["estimate"]
        out["share_low"] = self.variance_shares["ci_low"]
        out["share_high"] = self.variance_shares["ci_high"]
        out["n_levels"] = self.n_groups.reindex(out.index)
        return out

    def plot(self, ax: Any = None) -> Any:
        """Variance shares with intervals, and caterpillar plots of office and officer effects.

        Returns the matplotlib Figure (or the Axes of the shares panel when ``ax`` is given).
        """
        from .._core.plots import lmm_overview

        return lmm_overview(self, ax=ax)

    def summary(self) -> str:
        """Plain text in the style of lme4's ``summary``."""
        kind = "REML" if self.reml else "ML"
        lines = [f"Linear mixed model fit by {kind}: {self.n_obs} ratings"
                 + (f" ({self.n_dropped} incomplete rows dropped)" if self.n_dropped else ""),
                 f"  {kind} log-likelihood {self.loglik:.4f}, AIC {self.aic:.2f}, "
                 f"BIC {self.bic:.2f}", "Random effects:"]
        for name in self.variance_components.index:
            n = "" if name == "residual" else f" ({int(self.n_groups[name])} levels)"
            lines.append(f"  {name:<9} variance {self.variance_components[name]:.5g}, "
                         f"sd {self.sd[name]:.5g}, share "
                         f"{self.variance_shares.loc[name, 'estimate']:.3f}{n}")
        lines.append("Fixed effects:")
        for name, row in self.fixed_effects.iterrows():
            lines.append(f"  {name:<20} {row['estimate']:>10.5g}  se {row['se']:.4g}  "
                         f"df {row['df']:.1f}  p {row['p']:.3g}  "
                         f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}]")
        if not self.converged and not self.message.startswith("not fitted"):
            lines.append(f"warning: the optimiser did not report convergence ({self.message})")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        fmt = {"float_format": lambda x: f"{x:.4g}"}
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        kind = "REML" if self.reml else "ML"
        return (f"<div><strong>Crossed linear mixed model ({kind})</strong>: "
                f"{self.n_obs} ratings, log-likelihood {self.loglik:.4f}, AIC {self.aic:.2f}"
                f"{self.to_frame().to_html(**fmt)}{self.fixed_effects.to_html(**fmt)}"
                f"<ul>{notes}</ul></div>")



def factor_order(fnames: Sequence[str]) -> list[str]:
    """Factors in the order results list them: case, officer, office, then interactions."""
    known = [nm for nm in ("case", "officer", "office") if nm in fnames]
    return known + [nm for nm in fnames if nm not in known]




def fixed_effects_table(beta: np.ndarray, se: np.ndarray, df: np.ndarray,
                        names: Sequence[str], confidence: float) -> pd.DataFrame:
    """Fixed effects with their SEs, t tests on ``df`` (Satterthwaite) degrees of freedom and
    intervals, one row per term."""
    tc = stats.t.ppf(0.5 + confidence / 2, df)
    tstat = beta / se
    return pd.DataFrame({"estimate": beta, "se": se, "df": df, "t": tstat,
                         "p": 2 * stats.t.sf(np.abs(tstat), df),
                         "ci_low": beta - tc * se, "ci_high": beta + tc * se},
                        index=pd.Index(names, name="term"))
