"""Study design diagnosis by simulation: will a planned study answer its question?

A design is declared from parts, as in DeclareDesign (Blair, Cooper, Coppock & Humphreys 2019):
a *population* -- any callable that, given a seed, returns simulated data together with the
true values of the *estimands* -- and *estimators*, callables that return an estimate (and
optionally an interval and a p-value) from the data. :func:`diagnose` runs the study many times
and reports, per estimator, the diagnosands -- bias, RMSE, coverage of the interval, mean
interval width and power -- each with its Monte Carlo standard error.

Reproducibility: simulation ``i`` always uses the ``i``-th child of
``numpy.random.SeedSequence(seed)``, whatever ``n_jobs`` and whether the run was interrupted
and resumed from its checkpoint file, so the final table is identical in every case.

References
----------
Blair, G., Cooper, J., Coppock, A. & Humphreys, M. (2019). Declaring and diagnosing research
designs. *American Political Science Review* 113(3), 838-859.

Morris, T. P., White, I. R. & Crowther, M. J. (2019). Using simulation studies to evaluate
statistical methods. *Statistics in Medicine* 38(11), 2074-2102 (Monte Carlo SEs, table 6).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import RiskevalError, RiskevalTypeError
from .samplesize import bonett_n, kappa_n, walter_n, zou_n

__all__ = ["Design", "Diagnosis", "Estimator", "bonett_n", "diagnose", "kappa_n",
           "rater_study", "sample_size", "skills_trial", "training_study", "walter_n",
           "world_study", "zou_n"]

Population = Callable[[np.random.SeedSequence], tuple[Any, Mapping[str, float]]]


@dataclass(frozen=True)
class Estimator:
    """An estimator of one estimand.

    ``fn(data)`` returns a float (estimate only), or a mapping with ``estimate`` and any of
    ``ci_low``, ``ci_high``, ``p``.
    """

    name: str
    estimand: str
    fn: Callable[[Any], Any]


@dataclass(frozen=True)
class Design:
    """A declared study: a population (data + true estimands per seed) and its estimators."""

    population: Population
    estimators: tuple[Estimator, ...]
    name: str = "design"
    params: Mapping[str, Any] = field(default_factory=dict)


def _whole(name: str, value: Any, least: int) -> int:
    """``value`` as an int: a whole number (``3`` or ``3.0``) of at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise RiskevalTypeError(f"{name} must be a whole number; got {value!r}")
    if not (float(value).is_integer() and value >= least):
        raise RiskevalError(f"{name} must be a whole number of at least {least}; got "
                            f"{name}={value!r}")
    return int(value)


def _proportion(name: str, value: Any) -> float:
    """``value`` as a float strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise RiskevalTypeError(f"{name} must be a number; got {value!r}")
    if not 0 < value < 1:
        raise RiskevalError(f"{name} must be in (0, 1); got {name}={value!r}")
    return float(value)


def _child(ss: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """Child ``k`` of ``ss``, derived without spawning (which would change ``ss``): the
    populations of the preset designs draw their parts from fixed children of their seed."""
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, k))


def _run_one(design: Design, index: int, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    data, truth = design.population(seed)
    rows = []
    for est in design.estimators:
        out = est.fn(data)
        if not isinstance(out, Mapping):
            out = {"estimate": out}
        if est.estimand not in truth:
            raise RiskevalError(f"estimator {est.name!r} targets {est.estimand!r}, which the "
                                f"population does not return; it returns {sorted(truth)}")
        rows.append({"sim": index, "estimator": est.name, "estimand": est.estimand,
                     "truth": float(truth[est.estimand]),
                     "estimate": float(out.get("estimate", math.nan)),
                     "ci_low": float(out.get("ci_low", math.nan)),
                     "ci_high": float(out.get("ci_high", math.nan)),
                     "p": float(out.get("p", math.nan))})
    return rows


def _chunk(design: Design, items: list[tuple[int, np.random.SeedSequence]]
           ) -> list[dict[str, Any]]:
    return [row for i, s in items for row in _run_one(design, i, s)]


@dataclass(frozen=True)
class Diagnosis:
    """Diagnosands per estimator, with Monte Carlo standard errors, and every simulation."""

    table: pd.DataFrame
    simulations: pd.DataFrame
    design: str
    n_sims: int

    def plot(self, ax: Any = None, diagnosand: str = "coverage") -> Any:
        """Each estimator's ``diagnosand`` with a 95% Monte Carlo interval."""
        from .plots import _pyplot

        t = self.table
        made = ax is None
        if made:
            fig, ax = _pyplot().subplots(figsize=(6, 0.5 + 0.5 * len(t)))
        y = np.arange(len(t))
        se = t[f"{diagnosand}_mcse"].to_numpy()
        ax.errorbar(t[diagnosand], y, xerr=1.96 * np.nan_to_num(se), fmt="o", color="#1f4e79")
        ax.set_yticks(y)
        ax.set_yticklabels([f"{e} ({m})" for e, m in zip(t["estimator"], t["estimand"],
                                                          strict=True)])
        if diagnosand == "coverage":
            ax.axvline(0.95, color="grey", ls="--", lw=0.8)
        ax.set_xlabel(diagnosand)
        ax.set_title(f"{self.design}: {self.n_sims} simulated studies", fontsize=10)
        return fig if made else ax


def _summarise(sims: pd.DataFrame, alpha: float) -> pd.DataFrame:
    out = []
    for (name, estimand), g in sims.groupby(["estimator", "estimand"], sort=False):
        n = len(g)
        err = (g["estimate"] - g["truth"]).to_numpy()
        row: dict[str, Any] = {"estimator": name, "estimand": estimand, "n_sims": n,
                               "truth": g["truth"].mean(), "mean_estimate": g["estimate"].mean(),
                               "bias": err.mean(), "bias_mcse": err.std(ddof=1) / math.sqrt(n)}
        mse = float((err ** 2).mean())
        row["rmse"] = math.sqrt(mse)
        row["rmse_mcse"] = ((err ** 2).std(ddof=1) / math.sqrt(n) / (2 * row["rmse"])
                            if row["rmse"] > 0 else 0.0)
        has_ci = g[["ci_low", "ci_high", "truth"]].notna().all(axis=1)
        if g["truth"].isna().any():  # truth unknown: no bias, RMSE or coverage
            row.update(bias=math.nan, bias_mcse=math.nan, rmse=math.nan, rmse_mcse=math.nan)
        if has_ci.any():
            gc = g[has_ci]
            cover = ((gc["ci_low"] <= gc["truth"]) & (gc["truth"] <= gc["ci_high"])).mean()
            row.update(coverage=cover, coverage_mcse=math.sqrt(cover * (1 - cover) / len(gc)))
        else:
            row.update(coverage=math.nan, coverage_mcse=math.nan)
        has_w = g[["ci_low", "ci_high"]].notna().all(axis=1)
        if has_w.any():
            width = g.loc[has_w, "ci_high"] - g.loc[has_w, "ci_low"]
            row.update(width=width.mean(), width_mcse=width.std(ddof=1) / math.sqrt(has_w.sum()))
        else:
            row.update(width=math.nan, width_mcse=math.nan)
        if g["p"].notna().any():
            power = float((g["p"].dropna() < alpha).mean())
            row.update(power=power, power_mcse=math.sqrt(power * (1 - power)
                                                         / g["p"].notna().sum()))
        else:
            row.update(power=math.nan, power_mcse=math.nan)
        out.append(row)
    return pd.DataFrame(out)


def _check_meta(path: Path, design: Design, ss: np.random.SeedSequence) -> None:
    """A checkpoint belongs to one design and seed: record them, and refuse a mismatch."""
    import json

    meta = {"design": design.name, "params": {k: repr(v) for k, v in design.params.items()},
            "estimators": [e.name for e in design.estimators],
            "seed": [str(ss.entropy), list(ss.spawn_key)]}
    side = path.with_name(path.name + ".meta.json")
    if side.exists():
        old = json.loads(side.read_text())
        if old != meta:
            raise RiskevalError(f"checkpoint {str(path)!r} was written for another design or "
                                f"seed ({old['design']!r}, seed {old['seed'][0]}); use a new "
                                f"file for {design.name!r}")
    else:
        if path.exists() and path.stat().st_size > 0:
            raise RiskevalError(f"checkpoint {str(path)!r} has no record of its design and seed "
                                f"({side.name}); use a new file")
        path.parent.mkdir(parents=True, exist_ok=True)
        side.write_text(json.dumps(meta))


def diagnose(design: Design, *, n_sims: int, seed: Any, n_jobs: int = 1, alpha: float = 0.05,
             checkpoint: str | Path | None = None, chunk_size: int = 50,
             progress: bool = False, backend: str = "local", client: Any = None
             ) -> Diagnosis:
    """Run the declared study ``n_sims`` times and summarise each estimator.

    Parameters
    ----------
    design : Design
    n_sims : int
        Number of simulated studies, a whole number of at least 2.
    seed : int or SeedSequence
        Simulation ``i`` uses child ``i`` of ``SeedSequence(seed)``.
    n_jobs : int
        Worker processes (joblib: 1 runs here, -1 uses every core, -2 all but one); results do
        not depend on it.
    alpha : float
        Level of the tests behind ``power``, in (0, 1).
    checkpoint : path, optional
        A CSV file to which every finished chunk of simulations is appended. If it exists, the
        simulations it holds are not run again: an interrupted diagnosis resumes where it
        stopped, and the final table equals an uninterrupted run's. A sidecar
        ``<file>.meta.json`` records the design and seed; resuming with another design or seed
        is refused.
    chunk_size : int
        Simulations per task (and per checkpoint write), a whole number of at least 1.
    progress : bool
        Show a progress bar (tqdm).
    backend : {"local", "dask"}
        ``"local"``: this machine, ``n_jobs`` joblib worker processes. ``"dask"``: the chunks
        run as tasks on a Dask distributed cluster -- ``client`` (a ``distributed.Client``),
        or the current default client. Dask is imported only here (``pip install
        riskeval[dask]``). The results are identical to a local run with the same seed.

    Returns
    -------
    Diagnosis
    """
    n_sims = _whole("n_sims", n_sims, 2)
    chunk_size = _whole("chunk_size", chunk_size, 1)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Real) \
            or not float(n_jobs).is_integer() or n_jobs == 0:
        raise RiskevalError(f"n_jobs must be a whole number other than 0 (1 runs here, -1 uses "
                            f"every core); got n_jobs={n_jobs!r}")
    n_jobs = int(n_jobs)
    alpha = _proportion("alpha", alpha)
    if not isinstance(design, Design):
        raise RiskevalError(f"design must be a riskeval.design.Design; got "
                            f"{type(design).__name__}")
    if isinstance(seed, np.random.SeedSequence):  # a fresh copy: spawning changes the object
        ss = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
    else:
        ss = np.random.SeedSequence(seed)
    children = ss.spawn(n_sims)
    done: pd.DataFrame | None = None
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None:
        _check_meta(path, design, ss)
    if path is not None and path.exists() and path.stat().st_size > 0:
        done = pd.read_csv(path)
        expected = {"sim", "estimator", "estimand", "truth", "estimate", "ci_low", "ci_high",
                    "p"}
        if not expected <= set(done.columns):
            raise RiskevalError(f"checkpoint {str(path)!r} is not a riskeval diagnosis file "
                                f"(columns {sorted(done.columns)})")
        done = done[done["sim"] < n_sims]
        per_sim = done.groupby("sim").size()
        complete = set(per_sim.index[per_sim == len(design.estimators)])
        done = done[done["sim"].isin(complete)]
        # keep only whole simulations, so a half-written chunk is redone exactly once
        tmp = path.with_name(path.name + ".tmp")
        done.to_csv(tmp, index=False, float_format="%.17g")
        tmp.replace(path)
    else:
        complete = set()
    todo = [(i, children[i]) for i in range(n_sims) if i not in complete]
    chunks = [todo[k:k + chunk_size] for k in range(0, len(todo), chunk_size)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_sims, initial=n_sims - len(todo), desc=design.name, unit="sim")
    results: list[dict[str, Any]] = []

    def record(rows: list[dict[str, Any]], n: int) -> None:
        results.extend(rows)
        if path is not None:
            frame = pd.DataFrame(rows)
            header = not path.exists() or path.stat().st_size == 0
            frame.to_csv(path, mode="a", header=header, index=False, float_format="%.17g")
        if bar is not None:
            bar.update(n)

    if backend not in ("local", "dask"):
        raise RiskevalError(f"backend={backend!r}; expected 'local' or 'dask'")
    try:
        if backend == "dask":
            try:
                from distributed import get_client
            except ImportError:
                raise RiskevalError("backend='dask' needs the optional dependency: pip install "
                                    "'riskeval[dask]'") from None
            cl = client if client is not None else get_client()
            futures = cl.map(_chunk, [design] * len(chunks), chunks, pure=False)
            for c, fut in zip(chunks, futures, strict=True):  # in order: checkpoint appends
                record(fut.result(), len(c))
        elif n_jobs == 1:
            for c in chunks:
                record(_chunk(design, c), len(c))
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
            for c, rows in zip(chunks, parallel(delayed(_chunk)(design, c) for c in chunks),
                               strict=True):
                record(rows, len(c))
    finally:
        if bar is not None:
            bar.close()
    sims = pd.DataFrame(results)
    if done is not None and len(done):
        sims = pd.concat([done, sims], ignore_index=True)
    order = {e.name: k for k, e in enumerate(design.estimators)}
    sims = sims.assign(_o=sims["estimator"].map(order)).sort_values(
        ["sim", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return Diagnosis(_summarise(sims, alpha), sims, design.name, n_sims)


def _cut_points(categories: Sequence[float]) -> np.ndarray:
    """Cut points of a latent scale into ordered levels: finite and strictly increasing."""
    try:
        cuts = np.asarray(categories, dtype=float)
    except (TypeError, ValueError):
        raise RiskevalError(f"categories must be numeric cut points; got {categories!r}") from None
    if cuts.ndim != 1 or cuts.size == 0:
        raise RiskevalError(f"categories must hold at least one cut point, in a flat sequence; "
                            f"got {categories!r}")
    if not np.isfinite(cuts).all():
        raise RiskevalError(f"categories must be finite cut points; got {cuts.tolist()!r}")
    step = np.diff(cuts)
    if (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        raise RiskevalError(f"categories must be strictly increasing cut points; got "
                            f"{cuts.tolist()!r} (cut {i}, {float(cuts[i])!r}, is not above "
                            f"cut {i - 1}, {float(cuts[i - 1])!r})")
    return cuts


def rater_study(n_raters: int, n_cases: int, *, icc: float = 0.6, rater_share: float = 0.1,
                categories: Sequence[float] | None = None, confidence: float = 0.95,
                null_icc: float | None = None) -> Design:
    """A rater-agreement study: ``n_raters`` officers each rate the same ``n_cases`` vignettes.

    Ratings follow the two-way random-effects model ``x = case + rater + error`` with total
    variance 1, case variance ``icc`` and rater variance ``rater_share``, so the true ICC(2,1)
    (Shrout & Fleiss 1979) is ``icc``. With ``categories`` (finite, strictly increasing cut
    points on that scale) the ratings are ordered levels, as on the risk scale, and the ICC
    then refers to the latent score. Estimators: ICC(2,1) with its F interval (McGraw & Wong
    1996), and Krippendorff's alpha (interval on latent scores, ordinal on levels) with its
    interval for *officers like these* (the two-way jackknife over vignettes and officers,
    ``resample="cases+raters"``), since a rater study generalises to other officers.

    With ``null_icc`` the ICC estimator also tests ``ICC(2,1) = null_icc`` against a larger
    ICC (McGraw & Wong's F test), and ``power`` in the diagnosis is the chance of showing that
    agreement exceeds that value (e.g. 0.4, "acceptable"); without it there is no test.

    The ICC is set against the latent ICC. With ``categories`` the data are recorded levels,
    whose agreement is lower than the latent score's, so the ICC's ``bias`` and ``coverage``
    rows then show what cutting the scale into levels costs (with 30 officers x 20 vignettes,
    default settings and cuts -0.8, 0.3, 1.2: ICC bias -0.08 and coverage 0.89 over 500
    simulated studies). Alpha is set against its own population value, the alpha of
    infinitely many officers rating infinitely many vignettes: ``icc`` on latent scores, and
    on levels ``1 - sum P2 d / sum p p' d`` with ``P2`` the bivariate normal probabilities (with
    correlation ``icc``) of the levels two officers give one vignette, ``p`` the levels'
    probabilities and ``d`` the ordinal distances (Krippendorff 2004). Its coverage is in
    ``papers/alpha_coverage.md``: 0.930-0.965 over ten designs of 6-40 officers and 8-30
    vignettes, latent scores and four levels (2,000 studies each; one design 0.9295, MC SE
    0.006); the interval over vignettes only, for these officers, covered 0.89-0.94.

    The default values are design choices for the user to vary, not published figures.
    """
    from .agreement import icc as icc_fn
    from .agreement import krippendorff_alpha

    if not 0 < icc < 1 or not 0 <= rater_share < 1 - icc:
        raise RiskevalError(f"need 0 < icc < 1 and 0 <= rater_share < 1 - icc; got icc={icc}, "
                            f"rater_share={rater_share}")
    n_raters = _whole("n_raters", n_raters, 2)
    n_cases = _whole("n_cases", n_cases, 2)
    _proportion("confidence", confidence)
    err_var = 1 - icc - rater_share
    cuts = None if categories is None else _cut_points(categories)
    alpha_true = icc if cuts is None else population_alpha(icc, cuts)

    def population(seed: np.random.SeedSequence) -> tuple[np.ndarray, dict[str, float]]:
        rng = np.random.default_rng(seed)
        x = (math.sqrt(icc) * rng.standard_normal((n_cases, 1))
             + math.sqrt(rater_share) * rng.standard_normal((1, n_raters))
             + math.sqrt(err_var) * rng.standard_normal((n_cases, n_raters)))
        if cuts is not None:
            x = np.searchsorted(cuts, x).astype(float) + 1.0
        return x, {"icc": icc, "alpha": alpha_true}

    if null_icc is not None and not 0 <= null_icc < 1:
        raise RiskevalError(f"null_icc={null_icc!r}; expected a value in [0, 1)")

    def icc2(x: np.ndarray) -> dict[str, float]:
        row = icc_fn(x, confidence=confidence, r0=null_icc or 0.0).to_frame().loc["ICC2"]
        out = {"estimate": row["ICC"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}
        if null_icc is not None:
            out["p"] = row["pval"]
        return out

    def alpha(x: np.ndarray) -> dict[str, float]:
        res = krippendorff_alpha(x, level="ordinal" if cuts is not None else "interval",
                                 confidence=confidence, resample="cases+raters")
        return {"estimate": res.estimate, "ci_low": res.ci[0], "ci_high": res.ci[1]}

    name = f"{n_raters} officers x {n_cases} vignettes"
    return Design(population, (Estimator("ICC(2,1)", "icc", icc2),
                               Estimator("Krippendorff's alpha", "alpha", alpha)),
                  name=name, params={"n_raters": n_raters, "n_cases": n_cases, "icc": icc,
                                     "rater_share": rater_share, "null_icc": null_icc,
                                     "categories": cuts})


def population_alpha(icc: float, cuts: Sequence[float]) -> float:
    """Ordinal Krippendorff's alpha of a population of officers rating a population of cases.

    Latent scores ``case + officer + error`` with total variance 1 and case variance ``icc``
    are cut into ordered levels at ``cuts``. Two officers' latent scores for one case are
    bivariate normal with correlation ``icc``; with ``P2`` the probabilities of the pairs of
    levels they give, ``p`` the levels' probabilities and ``d`` Krippendorff's ordinal
    distances computed from ``p``, alpha is ``1 - sum P2 d / sum p p' d`` -- the limit of the
    sample alpha as cases and officers grow.

    Examples
    --------
    >>> round(population_alpha(0.6, [-0.8, 0.3, 1.2]), 4)
    0.5272

    References
    ----------
    Krippendorff, K. (2004). *Content Analysis* (2nd ed.), ch. 11. Sage.
    """
    from scipy import stats

    edges = np.concatenate([[-np.inf], np.asarray(cuts, float), [np.inf]])
    p = np.diff(stats.norm.cdf(edges))
    lims = np.clip(edges, -40.0, 40.0)       # the normal CDF is 0 or 1 beyond +-40
    mvn = stats.multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, icc], [icc, 1.0]])
    grid = np.array([[mvn.cdf([a, b]) for b in lims] for a in lims])
    pairs = grid[1:, 1:] - grid[:-1, 1:] - grid[1:, :-1] + grid[:-1, :-1]
    q = len(p)
    cum = np.concatenate([[0.0], np.cumsum(p)])
    lo, hi = np.minimum.outer(np.arange(q), np.arange(q)), np.maximum.outer(np.arange(q),
                                                                             np.arange(q))
    d = (cum[hi + 1] - cum[lo] - (p[:, None] + p[None, :]) / 2) ** 2
    return float(1.0 - (pairs * d).sum() / (np.outer(p, p) * d).sum())


def sample_size(make: Callable[[int], Design], sizes: Sequence[int], *, estimator: str,
                diagnosand: str, target: float, n_sims: int, seed: Any,
                larger_is_better: bool | None = None, **kwargs: Any) -> tuple[pd.DataFrame,
                                                                               int | None]:
    """The smallest size whose ``diagnosand`` meets ``target``, and the curve behind it.

    ``make(size)`` declares the design at each size (officers, vignettes...). ``diagnosand``
    is ``"width"`` (met when at most ``target``), ``"power"`` or ``"coverage"`` (met when at
    least ``target``). Every size uses the same ``seed``, so the curve is smooth in size.
    Returns the curve (one row per size with the diagnosand and its MC SE) and the smallest
    size meeting the target (None when none does).
    """
    if larger_is_better is None:
        larger_is_better = diagnosand in ("power", "coverage")
    rows = []
    for size in sizes:
        t = diagnose(make(int(size)), n_sims=n_sims, seed=seed, **kwargs).table
        row = t[t["estimator"] == estimator]
        if row.empty:
            raise RiskevalError(f"no estimator {estimator!r}; the design has "
                                f"{list(t['estimator'])}")
        r = row.iloc[0]
        rows.append({"size": int(size), diagnosand: r[diagnosand],
                     f"{diagnosand}_mcse": r[f"{diagnosand}_mcse"]})
    curve = pd.DataFrame(rows)
    ok = curve[diagnosand] >= target if larger_is_better else curve[diagnosand] <= target
    best = int(curve.loc[ok, "size"].min()) if ok.any() else None
    return curve, best


# the multilevel preset builds on Design and Estimator above
from ._trial_design import skills_trial, training_study  # noqa: E402
from ._world_design import world_study  # noqa: E402
