"""Small timing helpers shared by the benchmark scripts (not a test, never asserts on time).

Each ``bench_*.py`` script imports this module from its own folder (Python puts the script's
folder first on ``sys.path``), prints human-readable lines, and ends with one machine-readable
line ``BENCH_JSON {...}`` that ``run_all.py`` parses for its summary table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON_PREFIX = "BENCH_JSON "

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def single_thread() -> None:
    """Limit BLAS/OpenMP to one thread; call before numpy is imported (this module does not
    import numpy at load time)."""
    for var in THREAD_VARIABLES:
        os.environ[var] = "1"


@dataclass
class Timing:
    """Wall-clock times (seconds, ``time.perf_counter``) of repeated calls of one function."""

    times: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def describe(self) -> str:
        if len(self.times) == 1:
            return f"{self.best:.4f} s (1 run)"
        return (f"median {self.median:.4f} s, best {self.best:.4f} s "
                f"({len(self.times)} runs)")


def ordinal_ratings(seed: int, n_cases: int, n_raters: int, n_cats: int,
                    missing: float) -> Any:
    """Synthetic ordinal ratings 1..n_cats: case severity + rater bias + noise, some missing."""
    import numpy as np  # imported late: bench_bootstrap sets thread limits before numpy loads

    rng = np.random.default_rng(seed)
    latent = rng.normal(0.0, 1.0, size=(n_cases, 1))
    rater_bias = rng.normal(0.0, 0.2, size=(1, n_raters))
    noise = rng.normal(0.0, 0.6, size=(n_cases, n_raters))
    X = np.clip(np.rint(3.0 + 1.1 * (latent + rater_bias + noise)), 1, n_cats)
    X[rng.random(X.shape) < missing] = np.nan
    return X


def time_calls(fn: Callable[[], Any], repeat: int, warmup: int = 0) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times timed; keep the last result."""
    for _ in range(warmup):
        fn()
    timing = Timing()
    for _ in range(repeat):
        start = time.perf_counter()
        timing.result = fn()
        timing.times.append(time.perf_counter() - start)
    return timing


def thread_info() -> str:
    """BLAS/OpenMP thread pools as seen by threadpoolctl (if installed), plus CPU count."""
    text = f"{os.cpu_count()} CPUs"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return text
    pools = [f"{p.get('internal_api')}={p.get('num_threads')}" for p in threadpool_info()]
    return f"{text}; thread pools: {', '.join(pools) or 'none loaded'}"


def header(title: str) -> None:
    import numpy as np

    print(f"== {title}")
    print(f"   python {platform.python_version()}, numpy {np.__version__}, {thread_info()}")


def emit(payload: dict[str, Any]) -> None:
    """The machine-readable last line for run_all.py (numpy scalars become Python ones)."""
    print(JSON_PREFIX + json.dumps(payload, default=_plain))


def _plain(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")
