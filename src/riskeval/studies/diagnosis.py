"""Study design diagnosis by simulation: will a planned study answer its question?

A design is declared from parts, as in DeclareDesign (Blair, Cooper, Coppock & Humphreys 2019):
a *population* -- any callable that, given a seed, returns simulated data together with the
true values of the *estimands* -- and *estimators*, callables that return an estimate (and
optionally an interval and a p-value) from the data. :func:`diagnose` runs the study many times
and reports, per estimator, the diagnosands -- bias, RMSE, coverage of the interval, mean
interval width and power -- each with its Monte Carlo standard error.

Reproducibility: simulation ``i`` always uses the ``i``-th child of
``numpy.random.SeedSequence(seed)``, whatever ``n_jobs`` and whether the run was interrupted
and resumed from its checkpoint file, so the final table is identical in every case. An
estimator that draws random numbers (a bootstrap) takes a ``seed`` keyword and gets its own
child of simulation ``i``'s seed, so its draws differ between simulated studies and between
estimators.

References
----------
Blair, G., Cooper, J., Coppock, A. & Humphreys, M. (2019). Declaring and diagnosing research
designs. *American Political Science Review* 113(3), 838-859.

Morris, T. P., White, I. R. & Crowther, M. J. (2019). Using simulation studies to evaluate
statistical methods. *Statistics in Medicine* 38(11), 2074-2102 (Monte Carlo SEs, table 6).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._core.checks import check_confidence, check_whole
from .._core.parallel import check_backend, check_jobs, map_chunks
from .._core.results import Result
from .._core.seeds import rng, seed_sequence, spawn
from ..errors import RiskevalError, RiskevalTypeError

__all__ = ["Design", "Diagnosis", "Estimator", "SampleSize", "diagnose", "population_alpha",
           "rater_study", "sample_size"]

Population = Callable[[np.random.SeedSequence], tuple[Any, Mapping[str, float]]]


@dataclass(frozen=True)
class Estimator(Result):
    """An estimator of one estimand.

    ``fn(data)`` returns a float (estimate only), or a mapping with ``estimate`` and any of
    ``ci_low``, ``ci_high``, ``p``. An ``fn`` that draws random numbers (a bootstrap, a
    permutation test) takes a ``seed`` keyword: :func:`diagnose` then passes it its own child
    seed for each simulated study (:attr:`takes_seed`), so its intervals differ from study to
    study and are reproducible.

    Examples
    --------
    >>> import numpy as np
    >>> est = Estimator("mean", "mu", lambda x: float(np.mean(x)))
    >>> est.fn(np.array([1.0, 2.0, 3.0])), est.takes_seed
    (2.0, False)
    >>> def boot(x, seed=None):
    ...     return {"estimate": float(np.mean(x))}
    >>> Estimator("mean (bootstrap)", "mu", boot).takes_seed
    True
    >>> Estimator("mean", "mu", np.mean).to_frame().shape
    (1, 3)
    """

    name: str
    estimand: str
    fn: Callable[..., Any]

    @property
    def takes_seed(self) -> bool:
        """Whether ``fn`` accepts a ``seed`` keyword (it then gets its own child seed)."""
        import inspect

        try:
            param = inspect.signature(self.fn).parameters.get("seed")
        except (TypeError, ValueError):   # builtins without a signature
            return False
        return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                    param.KEYWORD_ONLY)

    def _title(self) -> str:
        return f"estimator {self.name!r}"

    def to_frame(self) -> pd.DataFrame:
        """One row: the estimator's name, its estimand and whether it takes a seed."""
        return pd.DataFrame({"estimator": [self.name], "estimand": [self.estimand],
                             "takes_seed": [self.takes_seed]})


@dataclass(frozen=True)
class Design(Result):
    """A declared study: a population (data + true estimands per seed) and its estimators.

    ``population(seed)`` receives a :class:`numpy.random.SeedSequence` and returns the
    simulated data and a mapping of the estimands' true values.

    Examples
    --------
    >>> import numpy as np
    >>> def population(seed):
    ...     return np.random.default_rng(seed).normal(1.0, 1.0, size=50), {"mu": 1.0}
    >>> d = Design(population, (Estimator("mean", "mu", lambda x: float(np.mean(x))),),
    ...            name="fifty draws", params={"n": 50})
    >>> print(d.summary())
    design 'fifty draws' (n=50)
      mean: estimates mu
    >>> d.to_frame()["estimand"].tolist()
    ['mu']
    """

    population: Population
    estimators: tuple[Estimator, ...]
    name: str = "design"
    params: Mapping[str, Any] = field(default_factory=dict)

    def _title(self) -> str:
        return f"design {self.name!r}"

    def to_frame(self) -> pd.DataFrame:
        """One row per estimator: its name, its estimand and whether it takes a seed."""
        if not self.estimators:
            return pd.DataFrame(columns=["estimator", "estimand", "takes_seed"])
        return pd.concat([e.to_frame() for e in self.estimators], ignore_index=True)

    def summary(self) -> str:
        """The design's name and parameters, and what each estimator estimates."""
        settings = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        lines = [self._title() + (f" ({settings})" if settings else "")]
        lines += [f"  {e.name}: estimates {e.estimand}" for e in self.estimators]
        return "\n".join(lines)


def _whole(name: str, value: Any, least: int) -> int:
    """``value`` as an int: a whole number (``3`` or ``3.0``) of at least ``least``; what is
    not a number at all (text) is a type error."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise RiskevalTypeError(f"{name} must be a whole number; got {value!r}")
    return check_whole(value, name, least)


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


#: The key under which an estimator's child seeds hang from a simulation's SeedSequence: the
#: populations of the preset designs use the first few children of that SeedSequence (see
#: :func:`_child`), the estimators the children of this one, so the two never share a stream.
_ESTIMATOR_KEY = 0x65737469


def _estimator_seeds(seed: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """One child seed per estimator of a simulation (spawned from the simulation's seed)."""
    return spawn(_child(seed, _ESTIMATOR_KEY), n)


def _run_one(design: Design, index: int, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    data, truth = design.population(seed)
    rows = []
    seeds = _estimator_seeds(seed, len(design.estimators))
    for est, est_seed in zip(design.estimators, seeds, strict=True):
        out = est.fn(data, seed=est_seed) if est.takes_seed else est.fn(data)
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
class Diagnosis(Result):
    """Diagnosands per estimator, with Monte Carlo standard errors, and every simulation.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per estimator: ``bias``, ``rmse``, ``coverage``, ``width`` and ``power``, each
        with its Monte Carlo SE (``*_mcse``); ``to_frame()`` returns it.
    simulations : pandas.DataFrame
        One row per simulated study and estimator.
    design : str
        The design's name.
    n_sims : int
        Simulated studies.
    alpha : float
        Level of the tests behind ``power``.
    params : mapping
        The design's parameters (a rater study's ``null_icc`` names its test in the summary).

    Examples
    --------
    >>> d = diagnose(rater_study(4, 10, icc=0.6), n_sims=4, seed=1)
    >>> d.to_frame().shape
    (2, 15)
    >>> print(d.summary().splitlines()[0])
    4 officers x 10 vignettes: 4 simulated studies
    """

    table: pd.DataFrame
    simulations: pd.DataFrame
    design: str
    n_sims: int
    alpha: float = 0.05
    params: Mapping[str, Any] = field(default_factory=dict)

    def _title(self) -> str:
        return f"{self.design}: {self.n_sims} simulated studies"

    def summary(self) -> str:
        """One line per estimator: bias with its MC SE, coverage, mean interval width and
        power, where the design gives them (what ``riskeval diagnose`` prints)."""
        null_icc = self.params.get("null_icc")
        test = f" to show ICC > {null_icc}" if null_icc is not None else \
            f" (p < {self.alpha:g})"
        lines = [self._title()]
        for _, r in self.table.iterrows():
            parts = [f"  {r['estimator']}:"]
            if math.isfinite(r["bias"]):
                parts.append(f"bias {r['bias']:+.4f} (MC SE {r['bias_mcse']:.4f}),")
            if math.isfinite(r["coverage"]):
                parts.append(f"coverage {100 * r['coverage']:.1f}%,")
            if math.isfinite(r["width"]):
                parts.append(f"mean CI width {r['width']:.3f}")
            if math.isfinite(r["power"]):
                parts.append(f", power {100 * r['power']:.1f}%{test}")
            lines.append(" ".join(parts).replace(" ,", ","))
        return "\n".join(lines)

    def plot(self, ax: Any = None, diagnosand: str = "coverage") -> Any:
        """Each estimator's ``diagnosand`` with a 95% Monte Carlo interval."""
        from ._plots import diagnosis

        return diagnosis(self, ax=ax, diagnosand=diagnosand)


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


# -- checkpoints -------------------------------------------------------------------------------
#
# A checkpoint is a CSV file, one line per simulation and estimator, each line ending with a
# newline and carrying the CRC-32 of the rest of the line (column ``crc32``, 8 hex digits). Floats
# are written as ``repr(float)``, which reads back to the same float. A chunk of simulations is
# appended in one ``os.write`` (repeated only after a short write) and ``fsync``-ed. A kill during
# an append leaves a last line without its newline (or with a wrong CRC): on resuming, such lines
# and every simulation that lacks one of its estimators' lines are dropped -- the file is cut
# back to its last whole simulation (rewritten atomically when the damage is not at the end) --
# and those simulations run again. The sidecar ``<file>.meta.json`` holds the seed and the
# design's fingerprint (see :func:`_fingerprint`); a resume with another seed or design is refused.

_FORMAT = 2
_COLUMNS = ("sim", "estimator", "estimand", "truth", "estimate", "ci_low", "ci_high", "p")
_HEADER = ",".join((*_COLUMNS, "crc32")) + "\n"
_FLOATS = _COLUMNS[3:]
_PROBE_SEED = 20190606       # the population's data for this seed enter the fingerprint
_BUDGET = 200_000            # objects fed to the fingerprint at most (deep closures are cut)
_BINARY = getattr(os, "O_BINARY", 0)   # no newline translation on Windows


def _feed(h: Any, x: Any, depth: int = 0, stack: set[int] | None = None,
          budget: list[int] | None = None) -> None:
    """Feed a canonical, deterministic encoding of ``x`` to the hash ``h``.

    Values by content (numbers exactly, arrays and frames by their bytes, mappings and sets in
    a fixed order), functions by their module, name, byte code, constants, defaults, closure
    values and the data-valued globals they name (not other functions' or modules'), other
    objects by their type and attributes. Never ``repr`` of an arbitrary object (it may hold
    a memory address)."""
    import dataclasses
    import functools
    import hashlib
    import types

    stack = set() if stack is None else stack
    budget = [_BUDGET] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0 or depth > 12:
        h.update(b"<deep>")
        return

    def tag(t: str) -> None:
        h.update(t.encode() + b"\x00")

    def sub(v: Any) -> None:
        _feed(h, v, depth + 1, stack, budget)

    def digest(v: Any) -> bytes:
        g = hashlib.sha256()
        _feed(g, v, depth + 1, stack, budget)
        return g.digest()

    if x is None or isinstance(x, (bool, int, str, bytes)):
        tag(f"{type(x).__name__}:{x!r}")
        return
    if isinstance(x, float):
        tag(f"float:{x.hex()}")
        return
    if isinstance(x, complex):
        tag(f"complex:{x.real.hex()},{x.imag.hex()}")
        return
    if isinstance(x, (np.generic, np.ndarray)):
        a = np.asarray(x)
        tag(f"ndarray:{a.dtype.str}:{a.shape}")
        if a.dtype.hasobject:
            sub(a.ravel().tolist())
        else:
            h.update(np.ascontiguousarray(a).tobytes())
        return
    if id(x) in stack:
        tag("<cycle>")
        return
    stack.add(id(x))
    try:
        if isinstance(x, (pd.DataFrame, pd.Series, pd.Index)):
            tag(f"pandas:{type(x).__name__}:{x.shape}")
            frame = x.to_frame() if isinstance(x, pd.Series) else x
            if isinstance(frame, pd.DataFrame):
                sub([str(c) for c in frame.columns])
                sub([str(t) for t in frame.dtypes])
            try:
                h.update(pd.util.hash_pandas_object(x, index=not isinstance(x, pd.Index))
                         .to_numpy().tobytes())
            except TypeError:      # unhashable cells (lists...)
                sub(np.asarray(x, dtype=object))
        elif isinstance(x, np.random.SeedSequence):
            tag("SeedSequence")
            sub((x.entropy, tuple(x.spawn_key)))
        elif isinstance(x, np.random.Generator):
            tag("Generator")
            sub(x.bit_generator.state)
        elif isinstance(x, Mapping):
            tag(f"mapping:{len(x)}")
            for kd, vd in sorted((digest(k), digest(v)) for k, v in x.items()):
                h.update(kd + vd)
        elif isinstance(x, (set, frozenset)):
            tag(f"set:{len(x)}")
            for d in sorted(digest(v) for v in x):
                h.update(d)
        elif isinstance(x, (list, tuple)):
            tag(f"{type(x).__name__}:{len(x)}")
            for v in x:
                sub(v)
        elif isinstance(x, types.CodeType):
            tag("code")
            h.update(x.co_code)
            sub(x.co_names)
            sub(x.co_consts)
        elif isinstance(x, types.FunctionType):
            tag(f"function:{x.__module__}:{x.__qualname__}")
            sub(x.__code__)
            sub(x.__defaults__)
            sub(x.__kwdefaults__)
            sub([c.cell_contents if _filled(c) else "<empty>" for c in x.__closure__ or ()])
            glob = x.__globals__
            sub({n: glob[n] for n in x.__code__.co_names
                 if n in glob and _is_data(glob[n])})
        elif isinstance(x, types.MethodType):
            tag("method")
            sub(x.__func__)
            sub(x.__self__)
        elif isinstance(x, functools.partial):
            tag("partial")
            sub((x.func, x.args, x.keywords))
        elif isinstance(x, (type, types.ModuleType, types.BuiltinFunctionType, np.ufunc)):
            tag(f"{type(x).__name__}:{getattr(x, '__module__', '')}:"
                f"{getattr(x, '__qualname__', getattr(x, '__name__', ''))}")
        elif dataclasses.is_dataclass(x):
            tag(f"dataclass:{type(x).__module__}:{type(x).__qualname__}")
            sub({f.name: getattr(x, f.name) for f in dataclasses.fields(x)})
        else:
            tag(f"object:{type(x).__module__}:{type(x).__qualname__}")
            attrs = dict(getattr(x, "__dict__", {}))
            for slot in getattr(type(x), "__slots__", ()):
                if isinstance(slot, str) and hasattr(x, slot):
                    attrs[slot] = getattr(x, slot)
            sub(attrs)
    finally:
        stack.discard(id(x))


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _is_data(v: Any) -> bool:
    """A global worth fingerprinting: a value that is not changed in place -- a number, a
    string, a tuple of such, an array or a frame -- not a module, class or function, nor a list,
    dict or set (often a counter or a cache, which would make the fingerprint drift)."""
    if v is None or isinstance(v, (bool, int, float, complex, str, bytes, np.generic,
                                   np.ndarray, pd.DataFrame, pd.Series)):
        return True
    if isinstance(v, (tuple, frozenset)):
        return all(_is_data(e) for e in v)
    return False


def _fingerprint(design: Design) -> str:
    """A hash that changes when the design does.

    It covers the design's name, its estimators' names and estimands, ``design.params``, the
    estimators' functions (byte code, constants, defaults, closure values and the number-,
    string- and array-valued globals they name, followed into the functions they hold), and
    the data and true values that the population returns for a fixed probe seed. The population
    is judged by what it simulates, not by its code: two designs with the same name and
    parameters but another value inside the population's closure differ (their probe data
    do), while a population wrapped in another function that simulates the same data does not.
    An estimator's setting outside ``params`` (the intervals' confidence in
    :func:`rater_study`) or an edit of its code changes the fingerprint. So does a new Python
    (byte code) or a numpy release that changes the simulated data: such a checkpoint is
    refused rather than mixed.
    """
    import hashlib

    h = hashlib.sha256()
    data, truth = design.population(np.random.SeedSequence(_PROBE_SEED))
    _feed(h, ("riskeval design", _FORMAT, design.name,
              [(e.name, e.estimand, e.fn) for e in design.estimators], dict(design.params),
              data, dict(truth)))
    return h.hexdigest()


def _check_meta(path: Path, design: Design, ss: np.random.SeedSequence, fingerprint: str
                ) -> None:
    """A checkpoint belongs to one design and seed: record them, and refuse a mismatch."""
    import json

    meta = {"format": _FORMAT, "design": design.name,
            "params": {str(k): repr(v) for k, v in design.params.items()},
            "estimators": [[e.name, e.estimand] for e in design.estimators],
            "fingerprint": fingerprint, "seed": [str(ss.entropy), list(ss.spawn_key)]}
    side = path.with_name(path.name + ".meta.json")
    if side.exists():
        try:
            old = json.loads(side.read_text())
        except ValueError:
            old = None
        if not isinstance(old, dict) or old.get("format") != _FORMAT:
            raise RiskevalError(f"checkpoint {str(path)!r} was written by an earlier version of "
                                f"riskeval, without a fingerprint of its design or checks on its "
                                f"lines ({side.name}), and cannot be resumed safely; use a new "
                                f"file")
        if old.get("seed") != meta["seed"] or old.get("fingerprint") != fingerprint:
            what = [f"{k} {old.get(k)!r}, now {meta[k]!r}"
                    for k in ("design", "estimators", "params") if old.get(k) != meta[k]]
            if old.get("seed") != meta["seed"]:
                what.append(f"seed {old.get('seed', ['?'])[0]}, now {meta['seed'][0]}")
            if not what:
                what.append("same name and parameters, but the population's or estimators' "
                            "code, settings or simulated data differ")
            raise RiskevalError(f"checkpoint {str(path)!r} was written for another design or "
                                f"seed ({'; '.join(what)}); use a new file for "
                                f"{design.name!r}, or delete {path.name} and {side.name} to "
                                f"start again")
    else:
        if path.exists() and path.stat().st_size > 0:
            raise RiskevalError(f"checkpoint {str(path)!r} has no record of its design and seed "
                                f"({side.name}); use a new file")
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace(side, json.dumps(meta).encode())


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` atomically: a synced temporary file renamed over it."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o666)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:          # not on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _lines(rows: list[dict[str, Any]]) -> str:
    """Checkpoint lines for ``rows``: CSV fields, floats as ``repr``, then the CRC-32."""
    import csv
    import io
    import zlib

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow([int(r["sim"]), r["estimator"], r["estimand"],
                    *(repr(float(r[c])) for c in _FLOATS)])
    out = []
    for body in buf.getvalue().splitlines():
        out.append(f"{body},{zlib.crc32(body.encode()):08x}\n")
    return "".join(out)


def _parse(line: bytes) -> dict[str, Any] | None:
    """One complete checkpoint line (without its newline) as a row, or None if damaged."""
    import csv
    import zlib

    body, sep, crc = line.rpartition(b",")
    if not sep or len(crc) != 8 or crc != f"{zlib.crc32(body):08x}".encode():
        return None
    try:
        fields = next(csv.reader([body.decode()]))
        if len(fields) != len(_COLUMNS):
            return None
        row: dict[str, Any] = {"sim": int(fields[0]), "estimator": fields[1],
                               "estimand": fields[2]}
        row.update({c: float(v) for c, v in zip(_FLOATS, fields[3:], strict=True)})
    except (ValueError, StopIteration):
        return None
    return row


def _read_checkpoint(path: Path, design: Design, n_sims: int) -> list[dict[str, Any]]:
    """The whole simulations below ``n_sims`` that ``path`` holds, in file order.

    Damaged lines (no newline, wrong CRC) and simulations missing a line are dropped from the
    file -- cut back to its last whole simulation, or rewritten when the damage is not at the
    end -- so that they run again; whole simulations at or beyond ``n_sims`` are kept."""
    import warnings

    from ..errors import RiskevalWarning

    if not path.exists():
        return []
    raw = path.read_bytes()
    head = raw.find(b"\n") + 1
    if head == 0:                           # empty, or killed while writing the header
        if not _HEADER.encode().startswith(raw):
            raise RiskevalError(f"checkpoint {str(path)!r} is not a riskeval diagnosis file "
                                f"(its first line is {raw[:80]!r}; expected {_HEADER!r})")
        if raw:
            os.truncate(path, 0)
        return []
    if raw[:head] != _HEADER.encode():
        raise RiskevalError(f"checkpoint {str(path)!r} is not a riskeval diagnosis file of this "
                            f"version (its first line is {raw[:head].decode(errors='replace')!r}"
                            f"; expected {_HEADER!r}); use a new file")
    spans = []                               # (start, end incl. newline, row or None)
    pos = head
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        if nl < 0:                           # the last line has no newline: cut short
            spans.append((pos, len(raw), None))
            break
        spans.append((pos, nl + 1, _parse(raw[pos:nl])))
        pos = nl + 1
    expected = [(e.name, e.estimand) for e in design.estimators]
    by_sim: dict[int, list[int]] = {}
    for k, (_, _, row) in enumerate(spans):
        if row is not None:
            by_sim.setdefault(row["sim"], []).append(k)
    keep: set[int] = set()
    for ks in by_sim.values():
        first = ks[:len(expected)]
        if [(spans[k][2]["estimator"], spans[k][2]["estimand"]) for k in first] == expected:
            keep.update(first)
    if len(keep) < len(spans):
        kept = sorted(keep)
        if kept == list(range(len(kept))):   # damage only at the end: cut it off
            end = spans[kept[-1]][1] if kept else head
            fd = os.open(path, os.O_WRONLY | _BINARY)
            try:
                os.ftruncate(fd, end)
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            bad = [raw[a:b] for a, b, row in spans if row is None]
            touched = set(by_sim)
            for line in bad:             # the simulation a damaged line names, if legible
                first = line.split(b",", 1)[0]
                if first.isdigit():
                    touched.add(int(first))
            redo = sorted(touched - {spans[k][2]["sim"] for k in keep})
            shown = ", ".join(map(str, redo[:10])) + (", ..." if len(redo) > 10 else "")
            warnings.warn(f"checkpoint {str(path)!r}: {len(spans) - len(keep)} line(s) before "
                          f"its end dropped ({len(bad)} damaged: cut short or a wrong crc32; "
                          f"the others repeated or of a simulation missing a line); "
                          f"simulation(s) {shown or 'unknown'} run again", RiskevalWarning,
                          stacklevel=3)
            _replace(path, raw[:head] + b"".join(raw[spans[k][0]:spans[k][1]] for k in kept))
    return [spans[k][2] for k in sorted(keep) if spans[k][2]["sim"] < n_sims]


def _append(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append whole lines for ``rows`` (the header first if the file is empty) in one write,
    then fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _BINARY, 0o666)
    try:
        text = _lines(rows)
        if os.fstat(fd).st_size == 0:
            text = _HEADER + text
        _write_all(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


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
    seed : int, SeedSequence or Generator
        Required. Simulation ``i`` uses child ``i`` of the seed's SeedSequence
        (:mod:`riskeval._core.seeds`); an estimator whose function takes a ``seed`` keyword
        (:attr:`Estimator.takes_seed`) gets its own child of that simulation's seed.
    n_jobs : int
        Worker processes (joblib: 1 runs here, -1 uses every core, -2 all but one); results do
        not depend on it.
    alpha : float
        Level of the tests behind ``power``, in (0, 1).
    checkpoint : path, optional
        A CSV file to which every finished chunk of simulations is appended (one line per
        simulation and estimator, floats as ``repr`` so that they read back exactly, and a
        ``crc32`` column checking each line; each chunk in one write, synced to disk). If it
        exists, the whole simulations it holds are not run again: an interrupted diagnosis
        resumes where it stopped, and the final table equals an uninterrupted run's, bit for
        bit. A line cut short by a kill (no newline, or a wrong check) is dropped, the file cut
        back to its last whole simulation, and that simulation run again. A sidecar
        ``<file>.meta.json`` records the seed and a fingerprint of the design -- its name,
        ``params``, the estimators' names, code and closure values, and the data the
        population simulates for a fixed probe seed (one extra call of the population) -- and
        resuming with another seed or design is refused (as is a checkpoint written before
        this format). Every argument is checked before any file is written.
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

    Examples
    --------
    >>> d = diagnose(rater_study(4, 10, icc=0.6), n_sims=4, seed=7)
    >>> d.table["estimator"].tolist()
    ['ICC(2,1)', "Krippendorff's alpha"]
    >>> round(float(d.table.loc[0, "coverage"]), 2)
    1.0
    """
    n_sims = _whole("n_sims", n_sims, 2)
    chunk_size = _whole("chunk_size", chunk_size, 1)
    n_jobs = check_jobs(n_jobs)
    alpha = _proportion("alpha", alpha)
    if not isinstance(design, Design):
        raise RiskevalError(f"design must be a riskeval.studies.Design; got "
                            f"{type(design).__name__}")
    if not design.estimators or not all(isinstance(e, Estimator) for e in design.estimators):
        raise RiskevalError(f"design {design.name!r} must have at least one estimator, each a "
                            f"riskeval.studies.Estimator; got {design.estimators!r}")
    if backend not in ("local", "dask"):     # checked here; Dask is looked up below
        raise RiskevalError(f"backend={backend!r}; expected 'local' or 'dask'")
    path: Path | None = None
    if checkpoint is not None:          # every argument is checked before a file is touched
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise RiskevalTypeError(f"checkpoint must be a file path (str or Path); got "
                                    f"{type(checkpoint).__name__} {checkpoint!r}")
        path = Path(checkpoint)
        if path.is_dir():
            raise RiskevalError(f"checkpoint {str(path)!r} is a folder; expected a file")
        for e in design.estimators:
            if any(c in str(v) for v in (e.name, e.estimand) for c in "\r\n"):
                raise RiskevalError(f"estimator {e.name!r} (estimand {e.estimand!r}): names "
                                    f"written to a checkpoint must not contain line breaks")
    cl = check_backend(backend, client)
    ss = seed_sequence(seed)   # a copy of a SeedSequence: spawning changes the object
    children = spawn(ss, n_sims)
    done: list[dict[str, Any]] = []
    if path is not None:
        _check_meta(path, design, ss, _fingerprint(design))
        done = _read_checkpoint(path, design, n_sims)
    complete = {row["sim"] for row in done}
    todo = [(i, children[i]) for i in range(n_sims) if i not in complete]
    chunks = [todo[k:k + chunk_size] for k in range(0, len(todo), chunk_size)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_sims, initial=n_sims - len(todo), desc=design.name, unit="sim")
    results: list[dict[str, Any]] = list(done)

    def record(rows: list[dict[str, Any]], n: int) -> None:
        results.extend(rows)
        if path is not None:
            _append(path, rows)
        if bar is not None:
            bar.update(n)

    try:   # in order: checkpoint appends
        for c, rows in zip(chunks, map_chunks(_chunk, chunks, args=(design,), n_jobs=n_jobs,
                                              client=cl), strict=True):
            record(rows, len(c))
    finally:
        if bar is not None:
            bar.close()
    sims = pd.DataFrame(results, columns=list(_COLUMNS))
    order = {e.name: k for k, e in enumerate(design.estimators)}
    sims = sims.assign(_o=sims["estimator"].map(order)).sort_values(
        ["sim", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return Diagnosis(_summarise(sims, alpha), sims, design.name, n_sims, alpha,
                     dict(design.params))


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

    Examples
    --------
    >>> d = rater_study(5, 12, icc=0.6, null_icc=0.3)
    >>> d.name, [e.estimand for e in d.estimators]
    ('5 officers x 12 vignettes', ['icc', 'alpha'])
    >>> data, truth = d.population(np.random.SeedSequence(1))
    >>> data.shape, truth["icc"]
    ((12, 5), 0.6)
    """
    from ..agreement import icc as icc_fn
    from ..agreement import krippendorff_alpha

    if not 0 < icc < 1 or not 0 <= rater_share < 1 - icc:
        raise RiskevalError(f"need 0 < icc < 1 and 0 <= rater_share < 1 - icc; got icc={icc}, "
                            f"rater_share={rater_share}")
    n_raters = _whole("n_raters", n_raters, 2)
    n_cases = _whole("n_cases", n_cases, 2)
    check_confidence(confidence)
    err_var = 1 - icc - rater_share
    cuts = None if categories is None else _cut_points(categories)
    alpha_true = icc if cuts is None else population_alpha(icc, cuts)

    def population(seed: np.random.SeedSequence) -> tuple[np.ndarray, dict[str, float]]:
        gen = rng(seed)
        x = (math.sqrt(icc) * gen.standard_normal((n_cases, 1))
             + math.sqrt(rater_share) * gen.standard_normal((1, n_raters))
             + math.sqrt(err_var) * gen.standard_normal((n_cases, n_raters)))
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


@dataclass(frozen=True)
class SampleSize(Result):
    """What :func:`sample_size` found: the diagnosand at each size, and the smallest size that
    meets the target.

    Attributes
    ----------
    curve : pandas.DataFrame
        One row per size: ``size``, the diagnosand and its Monte Carlo SE.
    smallest : int or None
        The smallest size meeting the target (None when none does); also :attr:`estimate`.
    diagnosand : str
    target : float
    larger_is_better : bool
        Whether the target is a floor (power, coverage) or a ceiling (width).

    Examples
    --------
    >>> res = SampleSize(pd.DataFrame({"size": [10, 20], "power": [0.6, 0.85],
    ...                                "power_mcse": [0.05, 0.04]}), 20, "power", 0.8, True)
    >>> res.estimate
    20
    >>> print(res.summary().splitlines()[0])
    smallest size with power >= 0.8: 20
    """

    curve: pd.DataFrame
    smallest: int | None
    diagnosand: str
    target: float
    larger_is_better: bool

    @property
    def estimate(self) -> int | None:
        """The smallest size meeting the target (None when none does)."""
        return self.smallest

    def _title(self) -> str:
        sign = ">=" if self.larger_is_better else "<="
        found = "none of the sizes tried" if self.smallest is None else str(self.smallest)
        return f"smallest size with {self.diagnosand} {sign} {self.target:g}: {found}"

    def to_frame(self) -> pd.DataFrame:
        """The curve: one row per size."""
        return self.curve.copy()


def sample_size(make: Callable[[int], Design], sizes: Sequence[int], *, estimator: str,
                diagnosand: str, target: float, n_sims: int, seed: Any,
                larger_is_better: bool | None = None, **kwargs: Any) -> SampleSize:
    """The smallest size whose ``diagnosand`` meets ``target``, and the curve behind it.

    ``make(size)`` declares the design at each size (officers, vignettes...). ``diagnosand``
    is ``"width"`` (met when at most ``target``), ``"power"`` or ``"coverage"`` (met when at
    least ``target``). Every size uses the same ``seed``, so the curve is smooth in size.
    ``kwargs`` go to :func:`diagnose`.

    Returns
    -------
    SampleSize
        ``curve`` (one row per size with the diagnosand and its MC SE) and ``smallest``, the
        smallest size meeting the target (None when none does).

    Examples
    --------
    >>> res = sample_size(lambda m: rater_study(3, m, icc=0.6, rater_share=0.0), [5, 40],
    ...                   estimator="ICC(2,1)", diagnosand="width", target=0.6, n_sims=4,
    ...                   seed=1)
    >>> res.curve["size"].tolist(), res.smallest
    ([5, 40], 40)
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
    return SampleSize(curve, best, diagnosand, float(target), bool(larger_is_better))
