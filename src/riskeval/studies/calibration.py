"""Fitting the generative world to observed ratings: which mechanisms, how strong.

:func:`calibrate` estimates parameters of a :class:`riskeval.World` left free from a ratings
table by approximate Bayesian computation (ABC) with a reference table and local-linear
regression adjustment (Beaumont, Zhang & Balding 2002):

1. draw ``n_simulations`` parameter vectors from the prior, simulate the study's design with
   each (every simulation with its own child seed, so the table is the same serial, on joblib
   workers or on Dask), and compute the summary statistics (``_summaries``) of each;
2. keep the simulations whose summaries are nearest the observed ones (Euclidean distance on
   summaries scaled by their median absolute deviation over the table), the ``accept`` share;
3. regress the kept parameters -- on an unbounded scale: logit for a parameter with a bounded
   prior, log for one bounded below -- on their summaries with Epanechnikov weights, and move
   each kept draw along the regression to the observed summaries; back on the parameter's
   scale, the weighted draws are the posterior.

Why this method. The simulator is fast (a six-office study in a few milliseconds) and the
summaries cheap, so a reference table of tens of thousands of simulations costs about a
minute; one table then serves any observed data set of the same design, which makes the
simulation-based calibration check (hundreds of data sets) and posterior predictive checks
affordable. The regression adjustment removes most of the error of a finite tolerance, and is
deterministic given the table. An ABC-SMC sampler (pyabc) adapts its tolerance to one data
set and must be re-run for each; a neural posterior estimator needs a deep-learning stack that
riskeval's users do not otherwise install.

References
----------
Beaumont, M. A., Zhang, W. & Balding, D. J. (2002). Approximate Bayesian computation in
population genetics. *Genetics* 162(4), 2025-2035.

Blum, M. G. B., Nunes, M. A., Prangle, D. & Sisson, S. A. (2013). A comparative review of
dimension reduction methods in approximate Bayesian computation. *Statistical Science* 28(2),
189-208.

Talts, S., Betancourt, M., Simpson, D., Vehtari, A. & Gelman, A. (2018). Validating Bayesian
inference algorithms with simulation-based calibration. arXiv:1804.06788.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._core.checks import check_whole
from .._core.parallel import check_backend, check_jobs, map_chunks
from .._core.params import ASSUMPTION, suggest
from .._core.plots import _pyplot
from .._core.results import Result
from .._core.seeds import seed_sequence, spawn
from ..data.ratings import UNIT_JOIN, Ratings, columns_of, level_codes
from ..errors import RiskevalError, RiskevalTypeError, RiskevalWarning
from ..world import World, simulate

__all__ = ["Posterior", "calibrate", "default_prior"]

#: contraction (1 - posterior variance / prior variance) below which a parameter is flagged as
#: not identified by the summaries (a named assumption of this module)
WEAK_CONTRACTION = 0.2

#: absolute posterior correlation above which two parameters are flagged as trading off
STRONG_CORRELATION = 0.8

#: mechanisms that move ratings up from the evidence: without a reference level their strength
#: is confounded with the thresholds (warned)
UPWARD = ("defensive_inflation", "trust_honesty", "resource_raising")

#: fewest kept simulations the posterior is trusted from without a warning (a named
#: assumption: a local-linear regression on about a dozen summaries needs some hundreds)
MIN_KEPT = 200


# ------------------------------------------------------------------------------ summaries

def _summaries(ratings: pd.DataFrame | Ratings, *, categories: Sequence[Any],
              case: str = "case", rater: str = "officer", rating: str = "rating",
              office: str | None = "office", reference: str | None = None,
              occasion: str | None = None, own: str | None = None) -> pd.Series:
    """The summary statistics the calibration compares, for one ratings table.

    On the level scores ``1..K``, always:

    - ``share_<level>``: the share at each level but the last (the category marginals);
    - ``sd_case``, ``sd_officer``, ``sd_office`` (with offices) and ``sd_residual``: the SD
      of the case means, of the officers' and offices' mean departures from the case means
      (the office funnel's spread), and of what is left;
    - ``agreement``: exact agreement of pairs of ratings of the same case;
    - ``end_share``: the share at the lowest or highest level, and ``sd_officer_end``, the SD
      over officers of their own share there (a rater-effects summary: officers who avoid
      the ends, or use them erratically, widen it).

    With a ``reference`` level: ``above_reference`` and ``below_reference``, the shares of
    ratings above and below it. With an ``occasion`` column and repeat assessments (the same
    officer rating the same case again): ``repeat_same`` (the share of repeat ratings equal
    to the previous one), ``lowered_upper`` and ``lowered_lower`` (shares of repeat ratings
    lower than a previous one in the upper half of the levels, and in the lower half: a
    reluctance to lower a high rating -- anchoring -- shows as the first too rare against
    the second), and ``raised`` (higher than the previous one). With ``own``, the officer's
    own rating before a manager's review: ``override_share`` (the share changed) and
    ``override_up`` (changed upwards). A case on another occasion is another unit of
    agreement.

    Parameters
    ----------
    ratings : pandas.DataFrame or riskeval.Ratings
    categories : sequence
        The levels, lowest first.
    case, rater, rating, office, reference, occasion, own : str
        Columns (all but the first three may be None).

    Returns
    -------
    pandas.Series

    Examples
    --------
    >>> import riskeval as rv
    >>> ratings = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)
    >>> s = _summaries(ratings, categories=rv.RISK_LEVELS, reference="reference")
    >>> s.index.tolist()[:4]
    ['share_low', 'share_medium', 'share_high', 'sd_case']
    >>> round(float(s["agreement"]), 3)
    0.388
    """
    frame, c = columns_of(ratings, ("case", "rater", "rating"), case=case, rater=rater,
                          rating=rating, office=office, reference=reference,
                          occasion=occasion, own_rating=own)
    cats = tuple(categories)
    y, _ = level_codes(frame[c["rating"]], c["rating"], cats)
    keep = y >= 0
    y = y[keep].astype(float) + 1.0
    sub = frame.loc[keep]
    k = len(cats)
    out: dict[str, float] = {}
    counts = np.bincount(y.astype(int) - 1, minlength=k) / len(y)
    for j in range(k - 1):
        out[f"share_{cats[j]}"] = float(counts[j])
    case_raw = pd.factorize(sub[c["case"]])[0]
    case_i = case_raw
    if c["occasion"]:
        occ_i = pd.factorize(sub[c["occasion"]], sort=True)[0]
        case_i = pd.factorize(case_raw * (occ_i.max() + 1) + occ_i)[0]
    key = sub[c["rater"]].astype(str)
    if c["office"]:
        key = sub[c["office"]].astype(str) + " / " + key
    off_i = pd.factorize(key)[0]
    n_case = case_i.max() + 1
    case_n = np.bincount(case_i, minlength=n_case)
    case_mean = np.bincount(case_i, y, minlength=n_case) / case_n
    dev = y - case_mean[case_i]
    off_n = np.bincount(off_i)
    off_dev = np.bincount(off_i, dev) / off_n
    out["sd_case"] = float(np.std(case_mean))
    out["sd_officer"] = float(np.std(off_dev))
    if c["office"]:
        office_i = pd.factorize(sub[c["office"]])[0]
        out["sd_office"] = float(np.std(np.bincount(office_i, dev) / np.bincount(office_i)))
    out["sd_residual"] = float(np.std(dev - off_dev[off_i]))
    cell = np.bincount(case_i * k + (y.astype(int) - 1), minlength=n_case * k).astype(float)
    pairs = float(np.sum(case_n * (case_n - 1.0)))
    out["agreement"] = float(np.sum(cell * (cell - 1.0)) / pairs) if pairs > 0 else math.nan
    end = (y == 1) | (y == k)
    out["end_share"] = float(counts[0] + counts[-1])
    out["sd_officer_end"] = float(np.std(np.bincount(off_i, end) / off_n))
    if c["reference"]:
        ref, _ = level_codes(sub[c["reference"]], c["reference"], cats)
        ok = ref >= 0
        out["above_reference"] = float(np.mean(y[ok] - 1 > ref[ok]))
        out["below_reference"] = float(np.mean(y[ok] - 1 < ref[ok]))
    if c["occasion"] and occ_i.max() > 0:
        out.update(_repeat_summaries(y, off_i * (case_raw.max() + 1) + case_raw, occ_i, k))
    if c["own_rating"]:
        own_y, _ = level_codes(sub[c["own_rating"]], c["own_rating"], cats)
        ok = own_y >= 0
        out["override_share"] = float(np.mean(y[ok] - 1 != own_y[ok]))
        out["override_up"] = float(np.mean(y[ok] - 1 > own_y[ok]))
    return pd.Series(out, name="summaries")


def _repeat_summaries(y: np.ndarray, pair: np.ndarray, occ: np.ndarray, k: int
                      ) -> dict[str, float]:
    """Shares of repeat ratings (a pair of officer and case on a later occasion) against
    the pair's previous rating, as joint shares of all repeat ratings (never undefined)."""
    order = np.lexsort((occ, pair))
    ys, ps = y[order], pair[order]
    again = np.flatnonzero(ps[1:] == ps[:-1]) + 1
    if not len(again):
        return {"repeat_same": 0.0, "lowered_upper": 0.0, "lowered_lower": 0.0, "raised": 0.0}
    cur, prev = ys[again], ys[again - 1]
    upper = prev > k / 2
    return {"repeat_same": float(np.mean(cur == prev)),
            "lowered_upper": float(np.mean((cur < prev) & upper)),
            "lowered_lower": float(np.mean((cur < prev) & ~upper)),
            "raised": float(np.mean(cur > prev))}


# --------------------------------------------------------------------------------- priors

def _free_parameter(world: World, name: Any) -> tuple[str, str, Any]:
    """(component, parameter, Param) of a free parameter named ``component.parameter``."""
    table = world.parameters()
    names = [f"{a}.{b}" for a, b in zip(table["component"], table["parameter"], strict=True)]
    if not isinstance(name, str) or name.count(".") != 1 or name not in names:
        raise RiskevalError(f"the world has no parameter {name!r}; name one as "
                            f"'component.parameter', as in world.parameters()"
                            f"{suggest(str(name), names)}")
    comp, par = name.split(".")
    if comp == "design" or comp not in world.mechanisms:
        raise RiskevalError(f"{name!r} describes the study's design, not a mechanism: it is "
                            f"known, not estimated")
    component = world.component(comp)
    if not component.enabled:
        raise RiskevalError(f"{name!r} belongs to {comp!r}, which is switched off in this "
                            f"world: switch it on (world.with_mechanisms({comp}=True)) to "
                            f"calibrate its parameters")
    param = next(p for p in component.params.params if p.name == par)
    if param.kind not in ("real", "nonneg", "positive", "prob"):
        raise RiskevalError(f"{name!r} is not a number to estimate (it is {param.kind!r})")
    return comp, par, param


#: coefficient of variation of the default prior around a published figure (a named
#: assumption: another service's or study's figure is a guide to this one, not its value)
PUBLISHED_CV = 0.5


def default_prior(world: World, name: str) -> Any:
    """The default prior of a free parameter, from its domain and its provenance.

    A parameter whose value is a named assumption (every mechanism parameter riskeval ships:
    see ``world.parameters()``) gets a wide prior over its domain: a probability uniform on
    [0, 1]; a parameter at least 0 uniform from 0 to three times the assumed value (three
    times lets the data move it far), or to 1 when that is 0; a real parameter normal around
    the assumed value with SD its size (at least 0.5). A parameter set to a published figure
    (:meth:`riskeval.World.with_published`) gets a prior centred on the figure with a
    coefficient of variation of 0.5 (``PUBLISHED_CV``): a beta distribution for a
    probability, a gamma for a parameter at least 0, a normal for a real one. Returns a
    frozen :mod:`scipy.stats` distribution.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study()
    >>> [round(float(x), 3) for x in default_prior(world, "office_practice.sd").support()]
    [0.0, 1.05]
    >>> published = world.with_published("office_practice.sd", 0.4, "a 2022 study, table 2")
    >>> prior = default_prior(published, "office_practice.sd")
    >>> round(float(prior.mean()), 3), round(float(prior.std()), 3)
    (0.4, 0.2)
    """
    p = _free_parameter(world, name)[2]
    v = float(p.value)
    published = not p.provenance.startswith(ASSUMPTION)
    if published and p.kind == "prob" and 0 < v < 1:
        # beta with mean v and SD PUBLISHED_CV * v, its concentration at least 2
        conc = max(v * (1 - v) / (PUBLISHED_CV * v) ** 2 - 1, 2.0)
        return stats.beta(v * conc, (1 - v) * conc)
    if published and p.kind in ("nonneg", "positive") and v > 0:
        shape = 1 / PUBLISHED_CV ** 2
        return stats.gamma(shape, scale=v / shape)
    if published and p.kind == "real":
        return stats.norm(v, max(PUBLISHED_CV * abs(v), 0.25))
    if p.kind == "prob":
        return stats.uniform(0.0, 1.0)
    if p.kind in ("nonneg", "positive"):
        return stats.uniform(0.0, 3.0 * v if v > 0 else 1.0)
    return stats.norm(v, max(abs(v), 0.5))


_LIMITS = {"prob": (0.0, 1.0), "nonneg": (0.0, math.inf), "positive": (0.0, math.inf),
           "real": (-math.inf, math.inf)}


def _check_prior(name: str, prior: Any, kind: str) -> Any:
    if isinstance(prior, tuple) and len(prior) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in prior):
        low, high = map(float, prior)
        if not low < high:
            raise RiskevalError(f"the prior of {name!r} as (low, high) needs low < high; got "
                                f"{prior!r}")
        prior = stats.uniform(low, high - low)
    if not (hasattr(prior, "rvs") and hasattr(prior, "support") and hasattr(prior, "var")):
        raise RiskevalTypeError(f"the prior of {name!r} must be a frozen scipy.stats "
                                f"distribution (e.g. scipy.stats.uniform(0, 1)) or a "
                                f"(low, high) pair; got {prior!r}")
    low, high = (float(x) for x in prior.support())
    lo, hi = _LIMITS[kind]
    if low < lo or high > hi:
        raise RiskevalError(f"the prior of {name!r} reaches outside its domain: its support "
                            f"is [{low:g}, {high:g}], the parameter must lie in [{lo:g}, "
                            f"{hi:g}]")
    if not np.isfinite(prior.var()):
        raise RiskevalError(f"the prior of {name!r} has no finite variance")
    return prior


class _Scale:
    """Maps a parameter to an unbounded scale and back, from its prior's support."""

    def __init__(self, prior: Any) -> None:
        self.low, self.high = (float(x) for x in prior.support())

    def forward(self, x: np.ndarray) -> np.ndarray:
        if np.isfinite(self.low) and np.isfinite(self.high):
            u = (x - self.low) / (self.high - self.low)
            u = np.clip(u, 1e-9, 1 - 1e-9)
            return np.log(u / (1 - u))
        if np.isfinite(self.low):
            return np.log(np.maximum(x - self.low, 1e-12))
        return x

    def back(self, z: np.ndarray) -> np.ndarray:
        if np.isfinite(self.low) and np.isfinite(self.high):
            return self.low + (self.high - self.low) / (1 + np.exp(-z))
        if np.isfinite(self.low):
            return self.low + np.exp(z)
        return z


# ----------------------------------------------------------------------------- simulation

@dataclass(frozen=True)
class _Problem:
    world: World
    names: tuple[str, ...]
    where: tuple[tuple[str, str], ...]
    priors: tuple[Any, ...]
    spec: Mapping[str, Any]

    def world_at(self, theta: np.ndarray) -> World:
        settings: dict[str, dict[str, float]] = {}
        for (comp, par), v in zip(self.where, theta, strict=True):
            settings.setdefault(comp, {})[par] = float(v)
        return self.world.with_mechanisms(**settings)

    def run(self, seed: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
        r = np.random.default_rng(seed)
        theta = np.array([float(p.rvs(random_state=r)) for p in self.priors])
        sim = simulate(self.world_at(theta), seed=int(r.integers(0, 2 ** 63)))
        return theta, _summaries(sim, **self.spec).to_numpy(float)


def _predictive_chunk(problem: _Problem, items: list) -> np.ndarray:
    """Summaries of data sets simulated at given parameter vectors."""
    return np.array([_summaries(simulate(problem.world_at(theta),
                                         seed=int(np.random.default_rng(s).integers(0, 2 ** 63))),
                                **problem.spec).to_numpy(float) for theta, s in items])


def _headline(ratings: pd.DataFrame, spec: Mapping[str, Any]) -> dict[str, float]:
    """The audit's headline statistics of one simulated table (see Posterior.predict)."""
    from ..agreement import krippendorff_alpha

    cats = list(spec["categories"])
    y = pd.Categorical(ratings["rating"], categories=cats).codes
    high = y >= len(cats) - 2
    units = ratings
    if ratings["occasion"].nunique() > 1:     # a case on another occasion is another unit
        units = ratings.assign(case=ratings["case"].astype(str) + UNIT_JOIN
                               + ratings["occasion"].astype(str))
    alpha = krippendorff_alpha(units, case="case", rater="officer", rating="rating",
                               level="ordinal", categories=cats, ci=None).estimate
    out = {"alpha": float(alpha), "accuracy": math.nan, "net_upward": math.nan,
           "office_spread": math.nan, "ppv_high": math.nan}
    if spec.get("reference"):
        ref = pd.Categorical(ratings["reference"], categories=cats).codes
        out["accuracy"] = float(np.mean(y == ref))
        out["net_upward"] = float(np.mean(y > ref) - np.mean(y < ref))
        out["ppv_high"] = float(np.mean(ref[high] >= len(cats) - 2)) if high.any() else \
            math.nan
    if spec.get("office"):
        out["office_spread"] = float(pd.Series(high).groupby(
            ratings["office"].to_numpy()).mean().std(ddof=0))
    return out


def _counterfactual_chunk(problem: _Problem, changed: Any, items: list) -> list:
    """Headline statistics before and after the change, with the same simulation seed."""
    out = []
    for theta, s in items:
        world = problem.world_at(theta)
        seed = int(np.random.default_rng(s).integers(0, 2 ** 63))
        out.append((_headline(simulate(world, seed=seed), problem.spec),
                    _headline(simulate(changed(world), seed=seed), problem.spec)))
    return out


def _chunk(problem: _Problem, seeds: list[np.random.SeedSequence]
           ) -> tuple[np.ndarray, np.ndarray]:
    out = [problem.run(s) for s in seeds]
    return np.array([t for t, _ in out]), np.array([s for _, s in out])


# ------------------------------------------------------------------------------ posterior

@dataclass(frozen=True)
class Posterior(Result):
    """The posterior of the free parameters of a world, from :func:`calibrate`.

    Attributes
    ----------
    draws : pandas.DataFrame
        One row per posterior draw (the kept simulations, regression-adjusted), one column
        per free parameter, and ``weight`` (Epanechnikov kernel weights, summing to 1).
    prior : dict
        The prior of each parameter (frozen scipy.stats distributions).
    observed : pandas.Series
        The observed summaries.
    table : pandas.DataFrame
        The reference table: the prior draws, their summaries (``s:<name>``) and distance.
    notes : tuple of str
        Parameters not identified by these summaries, and pairs that trade off.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study()
    >>> observed = rv.simulate(world, seed=3)
    >>> post = calibrate(world, observed, free=["office_practice.sd", "noise.sd"],
    ...                  n_simulations=600, seed=1)
    >>> post.summary_table().columns.tolist()[:4]
    ['prior_mean', 'mean', 'sd', 'q05']
    """

    draws: pd.DataFrame
    prior: Mapping[str, Any]
    observed: pd.Series
    table: pd.DataFrame = field(repr=False)
    world: World = field(repr=False)
    accept: float = 0.025
    seed: Any = None
    notes: tuple[str, ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        """The free parameters."""
        return [c for c in self.draws.columns if c != "weight"]

    def summary_table(self) -> pd.DataFrame:
        """Per parameter: prior mean and SD, posterior mean, SD, 5/25/50/75/95% quantiles,
        and the contraction ``1 - posterior variance / prior variance``."""
        w = self.draws["weight"].to_numpy(float)
        rows = {}
        for name in self.names:
            x = self.draws[name].to_numpy(float)
            mean = float(np.sum(w * x))
            sd = float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0)))
            q = _weighted_quantiles(x, w, (0.05, 0.25, 0.5, 0.75, 0.95))
            pr = self.prior[name]
            rows[name] = {"prior_mean": float(pr.mean()), "prior_sd": float(pr.std()),
                          "mean": mean, "sd": sd, "q05": q[0], "q25": q[1], "q50": q[2],
                          "q75": q[3], "q95": q[4],
                          "contraction": 1.0 - sd ** 2 / float(pr.var())}
        out = pd.DataFrame(rows).T[["prior_mean", "mean", "sd", "q05", "q25", "q50", "q75",
                                    "q95", "contraction", "prior_sd"]]
        out.index.name = "parameter"
        return out

    def _problem(self) -> _Problem:
        where = tuple(tuple(n.split(".")) for n in self.names)
        return _Problem(self.world, tuple(self.names), where,
                        tuple(self.prior[n] for n in self.names), self.spec)

    def sample(self, n: int, seed: Any = None) -> pd.DataFrame:
        """``n`` parameter vectors drawn from the posterior (resampled by weight).

        Examples
        --------
        >>> import riskeval as rv
        >>> world = rv.world.scenarios.six_office_study()
        >>> post = calibrate(world, rv.simulate(world, seed=3), free=["noise.sd"],
        ...                  n_simulations=300, seed=1)
        >>> post.sample(5, seed=2).shape
        (5, 1)
        """
        n = check_whole(n, "n", least=1)
        w = self.draws["weight"].to_numpy(float)
        pick = np.random.default_rng(seed_sequence(seed)).choice(len(w), n, p=w)
        return self.draws[self.names].iloc[pick].reset_index(drop=True)

    def check(self, n: int = 200, seed: Any = None, n_jobs: int = 1) -> pd.DataFrame:
        """Posterior predictive check: each observed summary against its predictive
        distribution (``n`` data sets simulated from posterior draws).

        Returns one row per summary: ``observed``, the predictive ``mean``, ``q05`` and
        ``q95``, and ``p`` (two-sided: twice the smaller share of predictive values at or
        beyond the observed one). A small ``p`` marks a feature of the data the fitted world
        does not reproduce.

        Examples
        --------
        >>> import riskeval as rv
        >>> world = rv.world.scenarios.six_office_study()
        >>> post = calibrate(world, rv.simulate(world, seed=3), free=["noise.sd"],
        ...                  n_simulations=300, seed=1)
        >>> post.check(n=20, seed=2).columns.tolist()
        ['observed', 'mean', 'q05', 'q95', 'p']
        """
        prob = self._problem()
        theta = self.sample(n, seed).to_numpy(float)
        seeds = spawn(seed_sequence(seed).spawn(1)[0], n)
        chunks = [list(zip(theta[k:k + 50], seeds[k:k + 50], strict=True))
                  for k in range(0, n, 50)]
        sims = np.vstack(list(map_chunks(_predictive_chunk, chunks, args=(prob,),
                                         n_jobs=check_jobs(n_jobs))))
        obs = self.observed.to_numpy(float)
        low = np.mean(sims <= obs, axis=0)
        high = np.mean(sims >= obs, axis=0)
        return pd.DataFrame({"observed": obs, "mean": sims.mean(axis=0),
                             "q05": np.quantile(sims, 0.05, axis=0),
                             "q95": np.quantile(sims, 0.95, axis=0),
                             "p": np.minimum(1.0, 2 * np.minimum(low, high))},
                            index=self.observed.index)

    def predict(self, change: Any, n: int = 200, seed: Any = None, n_jobs: int = 1
                ) -> pd.DataFrame:
        """What would change: the audit's headline statistics in the fitted world and in the
        world after ``change``, with posterior predictive intervals.

        Parameters
        ----------
        change : mapping or callable
            A mapping as for :meth:`riskeval.World.with_mechanisms` (``{"defensive_inflation":
            False}`` switches a mechanism off, ``{"noise": {"sd": 0.2}}`` sets a parameter),
            or a function from a World to a World (e.g. a training programme:
            ``lambda w: w.with_staff(officers=raters.train(w.officers, trained=...))``).
        n : int
            Posterior draws; each is simulated before and after the change with the same
            seed, so the difference is the change's own effect.
        seed, n_jobs
            As for :meth:`check`.

        Returns
        -------
        pandas.DataFrame
            One row per statistic -- ``alpha`` (Krippendorff's, ordinal), ``accuracy``
            (share equal to the reference), ``net_upward`` (share above minus share below the
            reference), ``office_spread`` (SD over offices of the share rated at or above the
            second highest level), ``ppv_high`` (share of ratings at or above that level whose
            reference is too) -- with ``before``, ``after`` and ``difference``, each a mean
            and a 90% interval (``_q05``, ``_q95``). Statistics needing a reference or
            offices are NaN without them.

        Examples
        --------
        >>> import riskeval as rv
        >>> world = rv.world.scenarios.six_office_study()
        >>> post = calibrate(world, rv.simulate(world, seed=3), free=["noise.sd"],
        ...                  reference="reference", n_simulations=300, seed=1)
        >>> table = post.predict({"defensive_inflation": False}, n=10, seed=2)
        >>> table.columns.tolist()[:3]
        ['before', 'before_q05', 'before_q95']
        """
        if isinstance(change, Mapping):
            settings = dict(change)
            self.world.with_mechanisms(**settings)     # checked now: names and values

            def changed(w: World) -> World:
                return w.with_mechanisms(**settings)
        elif callable(change):
            changed = change
        else:
            raise RiskevalTypeError(f"change must be a mapping for world.with_mechanisms or "
                                    f"a function from World to World; got {change!r}")
        prob = self._problem()
        theta = self.sample(n, seed).to_numpy(float)
        seeds = spawn(seed_sequence(seed).spawn(2)[1], n)
        chunks = [list(zip(theta[k:k + 50], seeds[k:k + 50], strict=True))
                  for k in range(0, n, 50)]
        rows = [r for part in map_chunks(_counterfactual_chunk, chunks, args=(prob, changed),
                                         n_jobs=check_jobs(n_jobs)) for r in part]
        before = pd.DataFrame([b for b, _ in rows])
        after = pd.DataFrame([a for _, a in rows])
        out = {}
        for name, frame in (("before", before), ("after", after),
                            ("difference", after - before)):
            out[name] = frame.mean()
            out[f"{name}_q05"] = frame.quantile(0.05)
            out[f"{name}_q95"] = frame.quantile(0.95)
        table = pd.DataFrame(out)
        table.index.name = "statistic"
        return table

    def correlations(self) -> pd.DataFrame:
        """Weighted posterior correlations of the parameters."""
        x = self.draws[self.names].to_numpy(float)
        w = self.draws["weight"].to_numpy(float)
        cov = np.cov(x, rowvar=False, aweights=w)
        sd = np.sqrt(np.diag(np.atleast_2d(cov)))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.atleast_2d(cov) / np.outer(sd, sd)
        return pd.DataFrame(corr, index=self.names, columns=self.names)

    def to_frame(self) -> pd.DataFrame:
        """The summary table."""
        return self.summary_table()

    def plot(self, kind: str = "pairs", n: int = 1000, seed: Any = 0,
             check: pd.DataFrame | None = None) -> Any:
        """A pairs plot (``kind="pairs"``): each parameter's posterior (histogram, prior
        density as a line) on the diagonal, pairs of ``n`` draws below it. Or the posterior
        predictive check (``kind="check"``, of :meth:`check`'s table, made with ``n`` and
        ``seed`` when not given): each summary's 90% predictive range and the observed value,
        on a common scale (the range's half-width). Returns a matplotlib Figure.

        Examples
        --------
        >>> import riskeval as rv
        >>> world = rv.world.scenarios.six_office_study()
        >>> post = calibrate(world, rv.simulate(world, seed=3), n_simulations=300, seed=1,
        ...                  free=["office_practice.sd", "noise.sd"])
        >>> len(post.plot().axes)
        4
        """
        if kind not in ("pairs", "check"):
            raise RiskevalError(f"kind must be 'pairs' or 'check'; got {kind!r}")
        if kind == "check":
            table = self.check(n=min(n, 200), seed=seed) if check is None else check
            fig = _pyplot().figure(figsize=(6.0, 0.35 * len(table) + 1.2))
            ax = fig.subplots()
            centre = (table["q05"] + table["q95"]) / 2
            half = ((table["q95"] - table["q05"]) / 2).replace(0, np.nan)
            y = np.arange(len(table))[::-1]
            ax.hlines(y, -1, 1, color="#7f9fbf", lw=6)
            ax.plot(((table["observed"] - centre) / half).to_numpy(float), y, "o",
                    color="#1f4e79")
            ax.set_yticks(y)
            ax.set_yticklabels([f"{i} (p = {p:.2f})" for i, p in table["p"].items()],
                               fontsize=7)
            ax.axvline(0, color="grey", lw=0.6)
            ax.set_xlabel("observed, in half-widths of the 90% predictive range")
            ax.set_title("Posterior predictive check", fontsize=9)
            fig.tight_layout()
            return fig
        draws = self.sample(n, seed)
        k = len(self.names)
        fig = _pyplot().figure(figsize=(2.4 * k + 0.6, 2.4 * k))
        axes = np.atleast_2d(fig.subplots(k, k, squeeze=False))
        for i, a in enumerate(self.names):
            for j, b in enumerate(self.names):
                ax = axes[i, j]
                if j > i:
                    ax.set_axis_off()
                    continue
                if i == j:
                    ax.hist(draws[a], bins=30, density=True, color="#7f9fbf")
                    lo, hi = (float(v) for v in self.prior[a].support())
                    grid = np.linspace(max(lo, draws[a].min() - draws[a].std()),
                                       min(hi, draws[a].max() + draws[a].std()), 200)
                    ax.plot(grid, self.prior[a].pdf(grid), color="grey", lw=1)
                else:
                    ax.plot(draws[b], draws[a], ".", ms=2, alpha=0.4, color="#1f4e79")
                if i == k - 1:
                    ax.set_xlabel(b, fontsize=8)
                if j == 0 and i > 0:
                    ax.set_ylabel(a, fontsize=8)
                ax.tick_params(labelsize=7)
        fig.suptitle("Posterior (bars, points) and prior (line)", fontsize=9)
        fig.tight_layout()
        return fig

    def summary(self) -> str:
        """The summary table and the notes."""
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            text = self.summary_table().round(3).to_string()
        return "\n".join([f"Posterior of {len(self.names)} parameter(s) from "
                          f"{len(self.table)} simulations ({len(self.draws)} kept)", text,
                          *[f"prior: {n} ~ {_describe(self.prior[n])}; value before: "
                            f"{_free_parameter(self.world, n)[2].provenance}"
                            for n in self.names],
                          *[f"note: {n}" for n in self.notes]])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (self.summary_table().to_html(float_format=lambda v: f"{v:.3f}")
                + (f"<ul>{notes}</ul>" if notes else ""))


def _describe(prior: Any) -> str:
    """A prior in words: ``uniform(0, 1.05)``, or its family with mean and SD."""
    family = getattr(getattr(prior, "dist", None), "name", type(prior).__name__)
    low, high = (float(x) for x in prior.support())
    if family == "uniform":
        return f"uniform({low:g}, {high:g})"
    return f"{family} (mean {float(prior.mean()):.3g}, SD {float(prior.std()):.3g})"


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    cw = (cw - 0.5 * w[order]) / cw[-1]
    return [float(np.interp(q, cw, x[order])) for q in qs]


# ------------------------------------------------------------------------------ calibrate

def calibrate(world: World, observed: pd.DataFrame | Ratings, *, free: Sequence[str],
              priors: Mapping[str, Any] | None = None, n_simulations: int = 20_000,
              accept: float = 0.025, case: str | None = None, rater: str | None = None,
              rating: str | None = None, office: str | None = None,
              reference: str | None = None, occasion: str | None = None,
              own_rating: str | None = None, n_jobs: int = 1, backend: str = "local",
              client: Any = None, chunk_size: int = 250, seed: Any = None) -> Posterior:
    """Estimate free parameters of a world from observed ratings (ABC with regression
    adjustment on a reference table; see :mod:`riskeval.studies.calibration`).

    Parameters
    ----------
    world : World
        The world whose design (vignettes, staff, allocation) produced the observed ratings;
        its parameters not named in ``free`` stay fixed.
    observed : pandas.DataFrame or riskeval.Ratings
        The observed ratings, on the world's levels (``riskeval.RISK_LEVELS``).
    free : list of str
        Parameters to estimate, named ``"component.parameter"`` as in ``world.parameters()``
        (e.g. ``"office_practice.sd"``); each of a mechanism that is switched on.
    priors : mapping, optional
        A prior per free parameter: a frozen :mod:`scipy.stats` distribution or a
        ``(low, high)`` pair (uniform). Default: :func:`default_prior`. A prior must stay
        inside the parameter's domain.
    n_simulations : int
        Size of the reference table (simulations from the prior).
    accept : float
        Share of the table kept (nearest summaries). With the defaults (20,000 simulations,
        2.5% kept: 500 draws) a simulation-based calibration of five parameters of the
        six-office world gave uniform ranks (chi-square p > 0.17 for each) and 90% intervals
        covering 87.5-90% of 200 prior draws.
    case, rater, rating, office, reference, occasion : str, optional
        Columns of ``observed`` (default: the names of simulated ratings -- ``case``,
        ``officer``, ``rating``, and ``office`` and ``occasion`` when the table has them --
        or the roles of :class:`riskeval.Ratings`). With a reference column the summaries
        include the shares above and below it (the simulated world's ``reference`` column is
        used likewise); it is used only when named, since a study may have none. With an
        occasion column and repeat assessments they include how repeat ratings move
        (anchoring).
    own_rating : str, optional
        The column of each officer's own rating before a manager's review, when the data
        keep it (simulated ratings: ``officer_rating``, used by default when present); the
        summaries then include the share of ratings a manager changed, and upwards.
    n_jobs, backend, client, chunk_size
        Where the simulations run: here (``n_jobs=1``), on joblib workers, or on a Dask
        cluster (``backend="dask"``); ``chunk_size`` simulations per task. The posterior does
        not depend on them.
    seed : int, SeedSequence or Generator
        The same seed gives the same posterior, serial, parallel or on Dask.

    Returns
    -------
    Posterior

    Warns
    -----
    RiskevalWarning
        When a parameter's posterior is hardly narrower than its prior (contraction below
        0.2: not identified by these summaries, or the budget too small) or two parameters
        trade off (posterior correlation above 0.8 in size).

    Notes
    -----
    Which designs identify what. The office and officer SDs and the judgement noise are told
    apart by a crossed design (every officer rates the same vignettes). Mechanisms that add
    the same kind of randomness are not: judgement noise and the clinical impression of
    officers who distrust the actuarial score both add officer-by-case variation, and their
    posteriors trade off (flagged). Without a reference level, the strength of a mechanism
    that raises ratings (defensive inflation, trust) is read from the level shares against
    the world's fixed thresholds: if the service's own thresholds differ from the world's,
    that difference is taken for the mechanism; with a reference it is read from ratings
    above and below the evidence. Raising risk for resources needs cases with no fixed abode
    or a recall. Anchoring acts only on repeat assessments: it needs an occasion column and a
    design with more than one occasion (refused otherwise), and its strength -- a multiplier
    of each officer's chance of holding a high rating, capped at 1 -- is identified up to
    about the inverse of the officers' mean chance (0.6 by default), beyond which every
    officer holds and the data cannot tell larger values apart. Manager overrides are read
    from the officers' own ratings when the data keep them (``own_rating``); without them,
    only from the level shares, weakly. Central tendency shows in ``sd_officer_end`` and
    ``end_share``. Every mechanism parameter riskeval ships is a named assumption, so its
    default prior is wide; set a published figure with :meth:`riskeval.World.with_published`
    and the default prior centres on it (:func:`default_prior`).

    References
    ----------
    Beaumont, M. A., Zhang, W. & Balding, D. J. (2002). Approximate Bayesian computation in
    population genetics. *Genetics* 162(4), 2025-2035.

    Examples
    --------
    >>> import riskeval as rv
    >>> world = rv.world.scenarios.six_office_study()
    >>> observed = rv.simulate(world, seed=3)
    >>> post = calibrate(world, observed, free=["office_practice.sd", "noise.sd"],
    ...                  n_simulations=600, seed=1)
    >>> post.names
    ['office_practice.sd', 'noise.sd']
    """
    if not isinstance(world, World):
        raise RiskevalTypeError(f"world must be a riskeval.World; got {type(world).__name__}")
    if isinstance(free, str) or not isinstance(free, Sequence) or not free:
        raise RiskevalError(f"free must be a non-empty list of parameter names such as "
                            f"['office_practice.sd']; got {free!r}")
    if len(set(free)) != len(free):
        raise RiskevalError(f"free names a parameter twice: {list(free)!r}")
    n_simulations = check_whole(n_simulations, "n_simulations", least=50)
    chunk_size = check_whole(chunk_size, "chunk_size", least=1)
    if not (isinstance(accept, float | int) and 0 < accept <= 0.5):
        raise RiskevalError(f"accept must be a share in (0, 0.5]; got {accept!r}")
    n_jobs = check_jobs(n_jobs)
    cl = check_backend(backend, client)
    where, params = [], []
    for name in free:
        comp, par, p = _free_parameter(world, name)
        where.append((comp, par))
        params.append(p)
    priors = dict(priors or {})
    unknown = [k for k in priors if k not in free]
    if unknown:
        raise RiskevalError(f"priors given for {unknown!r}, which are not free parameters "
                            f"{list(free)!r}")
    prior_list = tuple(_check_prior(n, priors.get(n, None) or default_prior(world, n), p.kind)
                       for n, p in zip(free, params, strict=True))
    if not isinstance(observed, Ratings):   # the column names of simulated ratings
        case, rater, rating = case or "case", rater or "officer", rating or "rating"
        if isinstance(observed, pd.DataFrame):
            office = office or ("office" if "office" in observed else None)
            occasion = occasion or ("occasion" if "occasion" in observed else None)
    # the officers' own ratings, before any override: kept by simulated tables, checked or not
    columns = observed.columns if isinstance(observed, pd.DataFrame) else (
        observed.to_frame().columns if isinstance(observed, Ratings) else ())
    own_rating = own_rating or ("officer_rating" if "officer_rating" in columns else None)
    frame, cols = columns_of(observed, ("case", "rater", "rating"), case=case, rater=rater,
                             rating=rating, office=office, reference=reference,
                             occasion=occasion, own_rating=own_rating)
    from ..world.vignettes import RISK_LEVELS

    cats = tuple(RISK_LEVELS)
    _same_design(world, frame, cols)
    _identifiable(free, frame, cols)
    obs = _summaries(frame, categories=cats, case=cols["case"], rater=cols["rater"],
                    rating=cols["rating"], office=cols["office"], reference=cols["reference"],
                    occasion=cols["occasion"], own=cols["own_rating"])
    spec = {"categories": cats, "office": "office" if cols["office"] else None,
            "reference": "reference" if cols["reference"] else None,
            "occasion": "occasion" if cols["occasion"] else None,
            "own": "officer_rating" if cols["own_rating"] else None}
    problem = _Problem(world, tuple(free), tuple(where), prior_list, spec)
    children = spawn(seed, n_simulations)
    chunks = [children[k:k + chunk_size] for k in range(0, n_simulations, chunk_size)]
    parts = list(map_chunks(_chunk, chunks, args=(problem,), n_jobs=n_jobs, client=cl))
    theta = np.vstack([t for t, _ in parts])
    stats_ = np.vstack([s for _, s in parts])
    return _posterior(problem, theta, stats_, obs, accept, seed)


def _same_design(world: World, frame: pd.DataFrame, cols: Mapping[str, Any]) -> None:
    """Refuse an observed table whose design differs from the world's: the summaries of
    the simulations would describe another study."""
    probe = simulate(world, seed=0)
    counts = {"cases": (frame[cols["case"]].nunique(), probe["case"].nunique()),
              "officers": (frame[cols["rater"]].nunique() if not cols["office"] else
                           len(frame[[cols["office"], cols["rater"]]].drop_duplicates()),
                           len(probe[["office", "officer"]].drop_duplicates())),
              "ratings": (len(frame), len(probe))}
    if cols["office"]:
        counts["offices"] = (frame[cols["office"]].nunique(), probe["office"].nunique())
    if cols["occasion"]:
        counts["occasions"] = (frame[cols["occasion"]].nunique(), probe["occasion"].nunique())
    differ = [f"{k}: {a} observed, {b} in the world" for k, (a, b) in counts.items() if a != b]
    if differ:
        raise RiskevalError("the observed table's design differs from the world's ("
                            + "; ".join(differ) + "): calibrate a world with the observed "
                            "design (its vignettes, staff and allocation: world.with_vignettes, "
                            "world.with_staff, world.with_design)")


def _identifiable(free: Sequence[str], frame: pd.DataFrame, cols: Mapping[str, Any]) -> None:
    """Refuse a free parameter no summary of these data can inform."""
    repeats = bool(cols["occasion"]) and frame[cols["occasion"]].nunique() > 1
    for name in free:
        if name.startswith("anchoring.") and not repeats:
            raise RiskevalError(
                f"{name!r} acts only on repeat assessments (the same officer rating the same "
                f"case again), and these data have "
                + ("no occasion column: give occasion=" if not cols["occasion"] else
                   "a single occasion")
                + "; fix it at its assumed value, or calibrate on a design with occasions > 1")
    raising = [n for n in free if n.split(".")[0] in UPWARD]
    if raising and not cols["reference"]:
        import warnings

        warnings.warn(f"calibrate: {', '.join(raising)} raise(s) ratings, and without a "
                      f"reference level (reference=) the data show it only in the level "
                      f"shares against the world's fixed thresholds, where it cannot be told "
                      f"from the service's own thresholds or office severity; give the "
                      f"reference column if the study has one", RiskevalWarning, stacklevel=3)


def _posterior(problem: _Problem, theta: np.ndarray, sims: np.ndarray, obs: pd.Series,
               accept: float, seed: Any) -> Posterior:
    """Rejection and local-linear regression adjustment on a reference table."""
    names = list(problem.names)
    s_obs = obs.to_numpy(float)
    ok = np.all(np.isfinite(sims), axis=1)
    scale = stats.median_abs_deviation(sims[ok], axis=0, scale="normal")
    varying = scale > 0
    z = (sims[:, varying] - s_obs[varying]) / scale[varying]
    dist = np.where(ok, np.sqrt(np.sum(z * z, axis=1)), np.inf)
    n_keep = int(max(round(accept * ok.sum()), len(names) + varying.sum() + 2))
    keep = np.argsort(dist, kind="stable")[:n_keep]
    h = dist[keep].max()
    w = 1.0 - (dist[keep] / h) ** 2 if h > 0 else np.ones(n_keep)
    w = np.maximum(w, 0.0)
    scales = [_Scale(p) for p in problem.priors]
    t = np.column_stack([sc.forward(theta[keep, i]) for i, sc in enumerate(scales)])
    X = np.column_stack([np.ones(n_keep), z[keep]])
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], t * sw[:, None], rcond=None)
    adjusted = t - z[keep] @ beta[1:]
    draws = pd.DataFrame({n: sc.back(adjusted[:, i]) for i, (n, sc) in
                          enumerate(zip(names, scales, strict=True))})
    draws["weight"] = w / w.sum()
    table = pd.DataFrame(theta, columns=names)
    for i, col in enumerate(obs.index):
        table[f"s:{col}"] = sims[:, i]
    table["distance"] = dist
    post = Posterior(draws=draws, prior=dict(zip(names, problem.priors, strict=True)),
                     observed=obs, table=table, world=problem.world, accept=accept, seed=seed,
                     spec=dict(problem.spec))
    return _flagged(post)


def _flagged(post: Posterior) -> Posterior:
    import warnings
    from dataclasses import replace

    notes = []
    tab = post.summary_table()
    kept = len(post.draws)
    if kept < MIN_KEPT:
        notes.append(f"only {kept} simulations were kept ({len(post.table)} x accept "
                     f"{post.accept:g}): too few for the regression adjustment to move far "
                     f"from the prior reliably; raise n_simulations (the default 20,000 keeps "
                     f"500)")
    for name, row in tab.iterrows():
        if row["contraction"] < WEAK_CONTRACTION:
            notes.append(f"{name}: the posterior is hardly narrower than the prior "
                         f"(contraction {row['contraction']:.2f}): these data and summaries "
                         f"do not identify it (or the simulation budget is too small)")
    corr = post.correlations()
    names = post.names
    for i in range(len(names)):
        for j in range(i):
            r = corr.iloc[i, j]
            if abs(r) > STRONG_CORRELATION:
                notes.append(f"{names[j]} and {names[i]} trade off (posterior correlation "
                             f"{r:+.2f}): the data identify a combination of the two, not "
                             f"each")
    for n in notes:
        warnings.warn(f"calibrate: {n}", RiskevalWarning, stacklevel=3)
    return replace(post, notes=tuple(notes))
