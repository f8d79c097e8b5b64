"""DataFrame-facing fitting of the crossed random-intercepts model, and its result object.

Random intercepts of interactions (``interactions=["office:offence_type"]``) are more factors
of the same kernel (:mod:`._lmm`); a model with random officer slopes (``slopes=``) is fitted
by :mod:`._slopes`, whose result subclasses :class:`LMMResult`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .._core.checks import check_columns, check_confidence, plain_value
from ..data.ratings import Ratings, columns_of
from ..errors import DegenerateDataWarning, RiskevalError, RiskevalTypeError
from ._lmm import Optimum, Profiled, optimise, sufficient_stats
from ._lmm_result import BOUNDARY_TOL, LMMResult, factor_order, fixed_effects_table
from ._profile import FullDeviance, Profiler, sd_of, share_of, wald_log_intervals

#: Above this many levels outside the largest factor, ``ci='auto'`` uses Wald intervals.
AUTO_PROFILE_MAX = 400

def _rating_values(col: pd.Series, name: str) -> tuple[np.ndarray, str | None]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        if not col.cat.ordered:
            raise RiskevalError(f"rating column {name!r} is an unordered categorical; a linear "
                                f"mixed model needs numbers or ordered categories")
        codes = col.cat.codes.to_numpy().astype(float)
        codes[codes < 0] = np.nan
        cats = list(col.cat.categories)
        return codes + 1.0, (f"the ordered levels of {name!r} were scored 1..{len(cats)} "
                             f"({', '.join(map(str, cats))})")
    values = pd.to_numeric(col, errors="coerce")
    bad = col.notna() & values.isna()
    if bad.any():
        i = col.index[bad.to_numpy()][0]
        raise RiskevalError(f"rating column {name!r} must be numeric or an ordered categorical; "
                            f"row {i!r} holds {plain_value(col[i])!r}")
    v = values.to_numpy(float)
    if np.isinf(v).any():
        raise RiskevalError(f"rating column {name!r} holds an infinite value")
    return v, None


def _fixed_design(frame: pd.DataFrame, fixed: str | Sequence[str] | None) -> pd.DataFrame:
    """The fixed-effects design (with intercept); rows with a missing covariate are absent."""
    if fixed is None or (isinstance(fixed, str) and fixed.strip() in ("", "1")):
        return pd.DataFrame({"(Intercept)": np.ones(len(frame))}, index=frame.index)
    if not isinstance(fixed, str):
        if isinstance(fixed, Sequence) and all(isinstance(c, str) for c in fixed):
            check_columns(frame, {f"fixed-effect {i + 1}": c for i, c in enumerate(fixed)})
            fixed = " + ".join(f"Q('{c}')" for c in fixed)
        else:
            raise RiskevalTypeError("fixed must be a formula string such as 'experience + age' "
                                    "or a list of column names")
    import patsy

    try:
        dm = patsy.dmatrix(fixed, frame, NA_action="drop", return_type="dataframe")
    except (patsy.PatsyError, NameError, KeyError) as exc:
        msg = str(exc).splitlines()[0]
        cols = ", ".join(map(repr, map(str, frame.columns)))
        raise RiskevalError(f"fixed effects formula {fixed!r} could not be used: {msg}. "
                            f"Columns present: {cols}.") from None
    return dm.rename(columns={"Intercept": "(Intercept)"})


def satterthwaite(prof: Profiled, theta: np.ndarray, sigma: float) -> np.ndarray:
    """Satterthwaite degrees of freedom of each fixed effect (as lmerTest computes them).

    ``df_j = 2 V_j^2 / (g_j' C g_j)`` with ``V_j = sigma^2 [A(theta)^-1]_jj`` the variance of
    the coefficient, ``g_j`` its gradient in the variance parameters ``(theta, sigma)`` and
    ``C = 2 H^-1`` their asymptotic covariance from the Hessian ``H`` of the deviance
    (Satterthwaite 1946; Kuznetsova, Brockhoff & Christensen 2017). Components on the boundary
    are held fixed. Derivatives are central finite differences of analytic quantities.
    """
    inner = [k for k in range(len(theta)) if theta[k] > 1e-8]
    dev = FullDeviance(prof)
    phi = np.append(theta, sigma)
    idx = [*inner, len(theta)]
    steps = 1e-5 * np.maximum(np.abs(phi[idx]), 1e-2)

    def variances(ph: np.ndarray) -> np.ndarray:
        a = prof.solve(ph[:-1]).xtx_schur
        return ph[-1] ** 2 * np.diag(np.linalg.inv(a))

    m = len(idx)
    hess = np.empty((m, m))
    grads = np.empty((m, prof.s.p))
    for i, (j, h) in enumerate(zip(idx, steps, strict=True)):
        up, dn = phi.copy(), phi.copy()
        up[j] += h
        dn[j] -= h
        hess[:, i] = (dev(up)[1][idx] - dev(dn)[1][idx]) / (2 * h)
        grads[i] = (variances(up) - variances(dn)) / (2 * h)
    hess = (hess + hess.T) / 2
    try:
        cov = 2.0 * np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full(prof.s.p, np.inf)
    v = variances(phi)
    denom = np.einsum("ip,ij,jp->p", grads, cov, grads)
    with np.errstate(divide="ignore"):
        return np.where(denom > 0, 2 * v ** 2 / denom, np.inf)


def grouping_factors(frame: pd.DataFrame, case: str, rater: str, office: str | None
                     ) -> list[tuple[str, np.ndarray, pd.Index]]:
    """(name, 0-based codes, levels) of case, officer (nested in office) and office.

    The officer's levels are (office, officer) pairs when an office is given, so the same
    label in two offices is two officers. Each factor needs at least two levels.
    """
    factors: list[tuple[str, np.ndarray, pd.Index]] = []
    c_codes, c_levels = pd.factorize(frame[case], sort=True)
    factors.append(("case", c_codes, pd.Index(c_levels)))
    if office:
        o_codes, o_levels = _pair_codes(frame[office], frame[rater])
        factors.append(("officer", o_codes,
                        pd.MultiIndex.from_tuples(o_levels, names=[office, rater])))
        f_codes, f_levels = pd.factorize(frame[office], sort=True)
        factors.append(("office", f_codes, pd.Index(f_levels)))
    else:
        o_codes, o_levels = pd.factorize(frame[rater], sort=True)
        factors.append(("officer", o_codes, pd.Index(o_levels)))
    for name, _, lv in factors:
        if len(lv) < 2:
            raise RiskevalError(f"the {name} factor has {len(lv)} level(s); a variance "
                                f"component needs at least 2")
    if office and len(factors[1][2]) == len(factors[2][2]):
        raise RiskevalError(
            f"every office in {office!r} has a single officer ({len(factors[2][2])} offices, "
            f"as many officers): the officer and office variances cannot be told apart (the "
            f"likelihood splits them arbitrarily). Leave out office= to estimate the officer "
            f"variance, or add officers to the offices")
    return factors


def crossed_lmm(data: pd.DataFrame | Ratings, *, rating: str | None = None,
                case: str | None = None, rater: str | None = None, office: str | None = None,
                fixed: str | Sequence[str] | None = None, reml: bool = True,
                confidence: float = 0.95,
                ci: str | None = "auto", slopes: str | Sequence[str] | None = None,
                interactions: str | Sequence[str] | None = None) -> LMMResult:
    """Fit ``rating ~ fixed + (1|case) + (1|office) + (1|officer)`` by REML or ML.

    With ``slopes``, the officer also has random slopes on numeric columns, correlated with
    the intercept: ``rating ~ x + fixed + (1|case) + (1 + x|officer) + (1|office)``. With
    ``interactions``, each combination of the named columns' values is one more random
    intercept: ``(1|office:offence_type)``.

    Random intercepts for the case (vignette), crossed with the officer, who is nested in the
    office; fixed effects for officer or case covariates. Any pattern of missing pairs is
    allowed (unbalanced and incomplete designs).

    Parameters
    ----------
    data : pandas.DataFrame or riskeval.Ratings
        Long table, one row per rating; for :class:`riskeval.Ratings` the columns below
        default to its roles.
    rating : str
        Numeric column, or an ordered categorical (scored 1, 2, ... with a note).
    case, rater : str
        Columns identifying the case and the officer.
    office : str, optional
        Column of the officer's office. Officers are nested in offices: the same officer
        label in two offices is two officers.
    fixed : str or list of str, optional
        Right-hand side of a formula for the fixed effects, e.g. ``"experience + age"`` or
        ``"C(route)"`` (patsy syntax; an intercept is added), or a list of numeric columns.
        Default: intercept only.
    reml : bool
        REML (default) or maximum likelihood. Compare models differing in fixed effects by ML.
    confidence : float
        Level of the intervals.
    ci : {'auto', 'profile', 'profile-ml', 'wald', None}
        Intervals for the variance components and shares. ``'profile'``: profile likelihood
        of the criterion that was fitted (the REML criterion for a REML fit). ``'wald'``:
        Wald intervals on the log-SD and logit-share scales from the observed information
        (fast; accurate when every factor has many levels). ``'auto'`` (default): profile
        unless the design is large (more than 400 levels outside the largest factor), then
        Wald, with a note.
        ``'profile-ml'``: profile of the ML deviance around the ML fit, which is what lme4's
        ``confint(fit, method = "profile")`` reports even for a REML fit. ``None``: no
        intervals (faster; NaN limits). With ``slopes``, only ``'wald'`` and None: any other
        value gives Wald intervals (log SD and atanh correlation scales).
    slopes : str or list of str, optional
        Numeric columns with a random slope per officer (an unstructured covariance of the
        officer's intercept and slopes, lme4's ``(1 + x | officer)``). Each is also a fixed
        effect (added to ``fixed`` unless it is there already). Differential severity: officers
        harsher for some kinds of case.
    interactions : str or list of str, optional
        Random intercepts for combinations of columns, e.g. ``"office:offence_type"``
        (lme4's ``(1 | office:offence_type)``): local practice for one offence type.

    Returns
    -------
    LMMResult
        With ``slopes``, a :class:`~riskeval.variation._slopes.SlopesLMMResult` (a subclass
        with the correlations and the slopes' conditional modes).

    Raises
    ------
    RiskevalError
        On a missing column, a non-numeric rating, a factor with a single level, fewer ratings
        than parameters, or a rank-deficient fixed-effects design; a slope column that is not
        numeric, has a missing value or is constant; an interaction with a single level or
        one that groups the ratings as an existing factor does.

    Notes
    -----
    The fit follows lme4's formulation (Bates et al. 2015): the variance components are
    profiled into relative standard deviations ``theta`` and the profiled (RE)ML deviance is
    minimised over ``theta >= 0``. Because only random intercepts appear, the deviance is
    computed from sufficient statistics, so after one pass over the data each evaluation costs
    nothing per rating. A component whose relative SD falls below 1e-4 is on the boundary
    (estimated variance zero): the fit is still the maximum, and a note says so.

    References
    ----------
    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
    using lme4. *Journal of Statistical Software* 67(1), 1-48.
    Examples
    --------
    >>> import riskeval as rv
    >>> from riskeval.variation import crossed_lmm
    >>> world = rv.world.scenarios.six_office_study(n_offices=3, officers_per_office=3,
    ...                                             n_vignettes=8)
    >>> ratings = rv.simulate(world, seed=1)
    >>> fit = crossed_lmm(ratings, rating="rating", case="case", rater="officer",
    ...                   office="office")
    >>> fit.variance_shares["estimate"].round(2).to_dict()
    {'case': 0.19, 'officer': 0.02, 'office': 0.15, 'residual': 0.63}

    Officers who weigh the case's true risk differently (a random slope on it), and office
    habits for each reference level (an interaction):

    >>> sl = crossed_lmm(ratings, rating="latent", case="case", rater="officer",
    ...                  office="office", slopes="true_latent")
    >>> sl.to_frame().index.tolist()[1:4]
    ['officer', 'officer: true_latent', 'officer: corr(intercept, true_latent)']
    >>> sl.boundary
    ('officer: corr(intercept, true_latent)',)
    >>> it = crossed_lmm(ratings, rating="latent", case="case", rater="officer",
    ...                  office="office", interactions="office:reference", ci=None)
    >>> it.variance_components.index.tolist()
    ['case', 'officer', 'office', 'office:reference', 'residual']
    """
    confidence = check_confidence(confidence)
    data, c = columns_of(data, ("rating", "case", "rater"), rating=rating, case=case,
                         rater=rater, office=office)
    rating, case, rater, office = c["rating"], c["case"], c["rater"], c["office"]
    keys = [case, rater] + ([office] if office else [])
    slope_cols = _slope_columns(slopes)
    inter = _interaction_columns(interactions)
    check_columns(data, {f"slope {i + 1}": col for i, col in enumerate(slope_cols)})
    inter_cols = list(dict.fromkeys(col for it in inter for col in it.split(":")))
    check_columns(data, {f"interaction column {col!r}": col for col in inter_cols})
    keys_all = keys + [col for col in inter_cols if col not in keys]
    # the columns the model reads (a formula may read any), numbered 0..n-1
    read = list(dict.fromkeys([rating, *keys_all, *slope_cols]))
    data = (data[read] if fixed is None else data).reset_index(drop=True)
    y_all, scored = _rating_values(data[rating], rating)
    design = _fixed_design(data, fixed)
    keep = ~np.isnan(y_all) & data[keys_all].notna().all(axis=1).to_numpy()
    slope_values = _slope_values(data, slope_cols, keep)
    for col in slope_cols:
        if col not in design.columns and f"Q('{col}')" not in design.columns:
            design[col] = slope_values[col]
    keep &= data.index.isin(design.index)
    n_dropped = int((~keep).sum())
    frame = data.loc[keep, keys_all]
    y = y_all[keep]
    X = design.loc[frame.index].to_numpy(float)
    names = list(design.columns)
    notes = [scored] if scored else []
    if n_dropped:
        notes.append(f"{n_dropped} rows with a missing rating, identifier or covariate were "
                     f"dropped")

    factors = grouping_factors(frame, case, rater, office)
    factors += interaction_factors(frame, inter, factors)
    n, p = X.shape
    n_params = p + len(factors) + 1
    if n <= n_params:
        raise RiskevalError(f"{n} ratings cannot estimate {n_params} parameters")
    if np.linalg.matrix_rank(X) < p:
        raise RiskevalError(f"the fixed-effects design {names} is rank deficient (a covariate "
                            f"is constant or a combination of others)")

    if ci not in ("auto", "profile", "profile-ml", "wald", None):
        raise RiskevalError(f"ci must be 'auto', 'profile', 'profile-ml', 'wald' or None; "
                            f"got {ci!r}")
    spread = float(np.ptp(y))
    degenerate = spread == 0 or alike_within(factors[0][1], y)
    if slope_cols and not degenerate:
        from ._slopes import fit_slopes

        w = slope_values.loc[frame.index, slope_cols].to_numpy(float)
        return fit_slopes(y, X, factors, slope_cols, w, names, reml, confidence, n_dropped,
                          notes, ci)
    stats_ = sufficient_stats(y, X, [f[1] for f in factors], [len(f[2]) for f in factors])
    prof = Profiled(stats_, reml)
    if degenerate:
        return _exact_fit(y, factors, names, n, reml, confidence, n_dropped, notes,
                          "constant" if spread == 0 else "within-case")
    try:
        opt = optimise(prof)
    except (np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
        opt = None
    if opt is None or opt.solution.r2 <= 1e-12 * spread ** 2 * n:
        return _exact_fit(y, factors, names, n, reml, confidence, n_dropped, notes, "additive")
    return _result(opt, prof, factors, names, n, p, reml, confidence, n_dropped, notes, ci)


def _slope_values(data: pd.DataFrame, cols: list[str], keep: np.ndarray) -> pd.DataFrame:
    """The slope columns as numbers; an error naming the column when one is not numeric or
    misses a value in a row that is otherwise complete."""
    out = {}
    for col in cols:
        raw = data[col]
        if isinstance(raw.dtype, pd.CategoricalDtype) or raw.dtype == bool:
            raise RiskevalError(f"slope column {col!r} must be numeric; it is {raw.dtype}")
        values = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & values.isna()
        if bad.any():
            i = raw.index[bad.to_numpy()][0]
            raise RiskevalError(f"slope column {col!r} must be numeric; row {i!r} holds "
                                f"{plain_value(raw[i])!r}")
        v = values.to_numpy(float)
        missing = keep & ~np.isfinite(v)
        if missing.any():
            raise RiskevalError(f"slope column {col!r} has {int(missing.sum())} missing or "
                                f"infinite value(s) (first in row {int(np.argmax(missing))}); "
                                f"a random slope needs a value for every rating")
        used = v[keep]
        if len(used) and np.ptp(used) == 0:
            raise RiskevalError(f"slope column {col!r} is constant ({plain_value(used[0])}) in "
                                f"the ratings used; a random slope needs it to vary")
        out[col] = v
    return pd.DataFrame(out, index=data.index)


def interaction_factors(frame: pd.DataFrame, interactions: Sequence[str],
                        factors: list[tuple[str, np.ndarray, pd.Index]]
                        ) -> list[tuple[str, np.ndarray, pd.Index]]:
    """(name, codes, levels) of each interaction ``"a:b"``: a factor whose levels are the
    combinations of the columns' values present in the data.

    An interaction with a single level, or one that groups the ratings exactly as an existing
    factor (or an earlier interaction) does, is refused: its variance would not be
    identifiable.
    """
    out: list[tuple[str, np.ndarray, pd.Index]] = []
    for name in interactions:
        cols = name.split(":")
        codes, levels = pd.factorize(pd.MultiIndex.from_frame(frame[cols].astype(object)),
                                     sort=True)
        levels = pd.MultiIndex.from_tuples(list(levels), names=cols)
        if len(levels) < 2:
            raise RiskevalError(f"interaction {name!r} has {len(levels)} level(s) in the data; "
                                f"a variance component needs at least 2")
        for other, o_codes, o_levels in [*factors, *out]:
            pairs = len(np.unique(codes.astype(np.int64) * len(o_levels) + o_codes))
            if pairs == len(levels) == len(o_levels):
                raise RiskevalError(f"interaction {name!r} groups the ratings exactly as the "
                                    f"{other!r} factor does; its variance could not be told "
                                    f"apart from that factor's")
        out.append((name, codes.astype(np.intp), levels))
    return out


def _interaction_columns(interactions: str | Sequence[str] | None) -> list[str]:
    """The interactions as a list of ``"a:b"`` names (each of at least two columns)."""
    if interactions is None:
        return []
    if isinstance(interactions, str):
        interactions = [interactions]
    names = []
    for it in interactions:
        if not isinstance(it, str):
            raise RiskevalTypeError(f"interactions must be strings such as "
                                    f"'office:offence_type'; got {it!r}")
        cols = [c.strip() for c in it.split(":")]
        if len(cols) < 2 or not all(cols) or len(set(cols)) < len(cols):
            raise RiskevalError(f"interaction {it!r} must name two or more different columns "
                                f"joined by ':', e.g. 'office:offence_type'")
        name = ":".join(cols)
        if name in names:
            raise RiskevalError(f"interaction {name!r} is given twice")
        names.append(name)
    return names


def _slope_columns(slopes: str | Sequence[str] | None) -> list[str]:
    if slopes is None:
        return []
    if isinstance(slopes, str):
        slopes = [slopes]
    if not all(isinstance(c, str) for c in slopes) or len(set(slopes)) < len(slopes):
        raise RiskevalTypeError(f"slopes must be a column name or a list of distinct column "
                                f"names; got {slopes!r}")
    return list(slopes)


def alike_within(codes: np.ndarray, y: np.ndarray) -> bool:
    """Whether every group (e.g. every case) has one value throughout (exact comparison:
    no group mean, whose rounding could split equal values)."""
    low = np.full(int(codes.max()) + 1, np.inf)
    high = np.full(len(low), -np.inf)
    np.minimum.at(low, codes, y)
    np.maximum.at(high, codes, y)
    return bool(np.all(low == high))


#: What a degenerate fit reports, by the reason the likelihood has no maximum.
_EXACT_NOTES = {
    "constant": "every rating is the same ({value}): there is no variation to attribute to "
                "cases, officers or offices; every variance is 0 and the shares are undefined",
    "within-case": "every officer gave each case the same rating: there is no disagreement "
                   "between officers, so all the variation is between cases (case share 1; "
                   "officer, office and residual variances 0). The likelihood has no maximum "
                   "here (it grows without bound as the residual variance falls to 0), so "
                   "the case variance reported is the variance of the case means, with no "
                   "interval, and the fixed effects are not estimated",
    "additive": "the ratings are reproduced exactly by case, officer and office effects with "
                "no residual variation: the likelihood has no maximum and the variance "
                "components are not estimable (reported as NaN)",
}


def _exact_fit(y: np.ndarray, factors: list[tuple[str, np.ndarray, pd.Index]],
               names: list[str], n: int, reml: bool, confidence: float, n_dropped: int,
               notes: list[str], kind: str) -> LMMResult:
    """The documented result for data the model reproduces without residual error.

    ``kind`` is ``'constant'`` (one value throughout), ``'within-case'`` (perfect agreement:
    every officer gave each case the same rating) or ``'additive'`` (an exact fit by the
    random effects). lme4 stops with an error on such data; here the limit the likelihood
    tends to is reported where it is unique, NaN where it is not, with a warning.
    """
    fnames = [f[0] for f in factors]
    order = factor_order(fnames)
    note = _EXACT_NOTES[kind].format(value=plain_value(y[0]))
    warnings.warn(f"crossed_lmm: {note}", DegenerateDataWarning, stacklevel=3)
    nan = math.nan
    ranef: dict[str, pd.DataFrame] = {}
    if kind == "additive":
        var = pd.Series(nan, index=[*order, "residual"])
        shares = pd.Series(nan, index=var.index)
        for i, nm in enumerate(fnames):
            ranef[nm] = pd.DataFrame({"estimate": nan, "se": nan}, index=factors[i][2])
    else:
        var = pd.Series(0.0, index=[*order, "residual"])
        means = np.bincount(factors[0][1], weights=y) / np.bincount(factors[0][1])
        centre = float(means.mean())
        if kind == "within-case":
            var["case"] = float(np.var(means, ddof=1))
        total = float(var.sum())
        shares = var / total if total > 0 else pd.Series(nan, index=var.index)
        for i, nm in enumerate(fnames):
            est = means - centre if nm == "case" else np.zeros(len(factors[i][2]))
            ranef[nm] = pd.DataFrame({"estimate": est, "se": 0.0}, index=factors[i][2])
    table = pd.DataFrame({"variance": var, "ci_low": nan, "ci_high": nan,
                          "sd": np.sqrt(var), "sd_low": nan, "sd_high": nan})
    fe = pd.DataFrame(nan, index=pd.Index(names, name="term"),
                      columns=["estimate", "se", "df", "t", "p", "ci_low", "ci_high"])
    theta = pd.Series(math.inf if kind == "within-case" else nan, index=order)
    if kind != "additive":
        theta[[nm for nm in order if nm != "case"]] = 0.0
        if kind == "constant":
            theta["case"] = 0.0
    boundary = tuple(nm for nm in order if var[nm] == 0)
    return LMMResult(
        variance_components=var, sd=np.sqrt(var),
        variance_shares=pd.DataFrame({"estimate": shares, "ci_low": nan, "ci_high": nan}),
        fixed_effects=fe, loglik=nan, aic=nan, bic=nan, reml=reml, n_obs=n,
        n_groups=pd.Series({nm: len(factors[fnames.index(nm)][2]) for nm in order}),
        n_dropped=n_dropped, theta=theta, converged=False,
        message=f"not fitted: no residual variation ({kind})", n_evaluations=0,
        boundary=boundary, notes=(*notes, note),
        random_effects=MappingProxyType({nm: ranef[nm] for nm in order}),
        variance_table=table, confidence=confidence)


def _intervals(prof: Profiled, opt: Optimum, fnames: list[str], order: list[str],
               sigma: float, level: float, method: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Profile (or Wald log-scale) intervals of each SD and each variance share."""
    sd_rows, share_rows = {}, {}
    with threadpool_limits(limits=prof.blas_threads(), user_api="blas"):
        if method == "wald":
            sd_w, share_w = wald_log_intervals(prof, opt.theta, sigma, level)
        else:
            pr = Profiler(prof, opt.theta, sigma)
        for name in [*order, "residual"]:
            k = -1 if name == "residual" else fnames.index(name)
            index = None if k < 0 else k
            if method == "wald":
                sd_rows[name], share_rows[name] = sd_w[k], share_w[k]
            else:
                sd_rows[name] = pr.interval(sd_of(k), "positive", level, index)
                share_rows[name] = pr.interval(share_of(k), "share", level, index)
    sd = pd.DataFrame(sd_rows, index=["sd_low", "sd_high"]).T
    share = pd.DataFrame(share_rows, index=["ci_low", "ci_high"]).T
    return sd, share


def _result(opt: Optimum, prof: Profiled, factors: list[tuple[str, np.ndarray, pd.Index]],
            names: list[str], n: int, p: int, reml: bool, confidence: float, n_dropped: int,
            notes: list[str], ci: str | None) -> LMMResult:
    sol = opt.solution
    sigma2 = sol.r2 / (n - p if reml else n)
    fnames = [f[0] for f in factors]
    order = factor_order(fnames)
    theta = pd.Series(opt.theta, index=fnames).reindex(order)
    var = pd.concat([theta ** 2 * sigma2, pd.Series({"residual": sigma2})])
    total = float(var.sum())
    shares = pd.DataFrame({"estimate": var / total, "ci_low": np.nan, "ci_high": np.nan})
    table = pd.DataFrame({"variance": var, "ci_low": np.nan, "ci_high": np.nan,
                          "sd": np.sqrt(var), "sd_low": np.nan, "sd_high": np.nan})
    if ci == "auto":
        ci = "profile" if len(prof.c_rr) <= AUTO_PROFILE_MAX else "wald"
        if ci == "wald":
            notes.append(f"intervals for variances and shares are Wald intervals on the log "
                         f"(SD) and logit (share) scales: with {len(prof.c_rr)} levels outside "
                         f"the largest factor, profiling would be slow; pass ci='profile' for "
                         f"profile-likelihood intervals")
    if ci is not None:
        base, base_opt, base_s2 = prof, opt, sigma2
        if ci == "profile-ml" and reml:  # lme4's confint: the ML deviance, around the ML fit
            base = Profiled(prof.s, reml=False)
            base_opt = optimise(base, opt.theta)
            base_s2 = base_opt.solution.r2 / n
        sd_ci, share_ci = _intervals(base, base_opt, [f[0] for f in factors],
                                     list(theta.index), math.sqrt(base_s2), confidence,
                                     "wald" if ci == "wald" else "profile")
        table[["sd_low", "sd_high"]] = sd_ci.loc[table.index].to_numpy()
        table["ci_low"], table["ci_high"] = table["sd_low"] ** 2, table["sd_high"] ** 2
        shares[["ci_low", "ci_high"]] = share_ci.loc[shares.index].to_numpy()
    cov = sigma2 * np.linalg.inv(sol.xtx_schur)
    se = np.sqrt(np.diag(cov))
    with threadpool_limits(limits=prof.blas_threads(), user_api="blas"):
        df = satterthwaite(prof, opt.theta, math.sqrt(sigma2))
        cvar = prof.minv_diag(opt.theta)
    fe = fixed_effects_table(sol.beta, se, df, names, confidence)
    loglik = -0.5 * sol.deviance
    k = p + len(factors) + 1
    boundary = tuple(nm for nm in order if theta[nm] < BOUNDARY_TOL)
    for nm in boundary:
        notes.append(f"the {nm} variance is estimated at zero (a boundary fit): beyond the other "
                     f"components, the data show no {nm}-to-{nm} differences; its share is 0")
    if not opt.converged:
        warnings.warn(f"crossed_lmm: the optimiser did not report convergence ({opt.message})",
                      DegenerateDataWarning, stacklevel=3)
    u = prof.unstack(sol.u)
    sig = math.sqrt(sigma2)
    ranef = {nm: pd.DataFrame({"estimate": opt.theta[i] * u[i],
                               "se": opt.theta[i] * sig * np.sqrt(cvar[i])},
                              index=factors[i][2])
             for i, nm in enumerate(fnames)}
    n_groups = pd.Series({nm: len(factors[fnames.index(nm)][2]) for nm in order})
    return LMMResult(
        variance_components=var, sd=np.sqrt(var), variance_shares=shares, fixed_effects=fe,
        loglik=loglik, aic=-2 * loglik + 2 * k, bic=-2 * loglik + math.log(n) * k, reml=reml,
        n_obs=n, n_groups=n_groups, n_dropped=n_dropped, theta=theta,
        converged=opt.converged, message=opt.message, n_evaluations=opt.n_evaluations,
        boundary=boundary, notes=tuple(notes),
        random_effects=MappingProxyType({nm: ranef[nm] for nm in order}),
        variance_table=table, confidence=confidence)


def _pair_codes(outer: pd.Series, inner: pd.Series) -> tuple[np.ndarray, list[tuple]]:
    """0-based codes of the (outer, inner) pairs and the pairs themselves, in sorted order.

    The order is that of the pairs as tuples (Python's comparison of the values, outer
    first), which is what factorizing a MultiIndex of the two columns with ``sort=True``
    gives; but the columns are factorized one at a time and their integer codes combined,
    without building a tuple per row. Values that do not sort against each other (mixed
    types) take the MultiIndex route.
    """
    try:
        o_codes, o_values = _sorted_codes(outer)
        i_codes, i_values = _sorted_codes(inner)
    except TypeError:
        pair = pd.MultiIndex.from_arrays([outer, inner])
        codes, levels = pd.factorize(pair, sort=True)
        return codes, list(levels)
    n_inner = len(i_values)
    key = o_codes.astype(np.int64) * n_inner + i_codes
    size = len(o_values) * n_inner
    if size <= max(4 * len(key), 1 << 20):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        used = np.flatnonzero(present)
        rank = np.cumsum(present) - 1
        codes = rank[key]
    else:
        used, codes = np.unique(key, return_inverse=True)
    # one row per pair, to take its values from the columns as a MultiIndex would
    rows = np.empty(len(used), dtype=np.intp)
    rows[codes[::-1]] = np.arange(len(key) - 1, -1, -1)
    sample = pd.MultiIndex.from_arrays([outer.iloc[rows], inner.iloc[rows]])
    return codes.astype(np.intp), list(sample)


def _sorted_codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a column's values ranked in Python's order of the values themselves (for a
    categorical: of its categories' values, not the declared order); TypeError when the values
    do not sort against each other."""
    codes, uniques = pd.factorize(col)
    values = np.asarray(uniques, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) in ("mixed", "mixed-integer"):
        raise TypeError("mixed types")
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return rank[codes], values[order]
