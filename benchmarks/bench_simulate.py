"""Benchmark: throughput and memory of the generative model (``riskeval.simulate``).

Data: ``riskeval.world.scenarios.national()`` -- 100 offices x 30 officers, every officer rating the
same 500 cases: 1.5 million ratings, all fourteen components (thirteen mechanisms and noise)
switched on, with the ``changed_by_*`` attribution columns.

- ours: ``riskeval.simulate(world, seed=1)``, median of several runs after a warm-up.
  Target: at least 5 million ratings per second on one core.
- reference point: no other package simulates officers' risk ratings, so there is no peer to
  race. As a yardstick, the script times numpy's own ``default_rng`` drawing just the random
  numbers a per-rating simulator of this model needs (three normals and five uniforms per
  rating) -- a floor for any implementation built on numpy's generators. Ratio printed:
  that time / ours.
- national run: building the world (vignettes, offices, officers) plus simulating, once,
  from a cold start. Target: a few seconds.
- memory: peak memory allocated during one ``simulate`` call (``tracemalloc``; numpy reports
  its buffers to it) divided by the memory of the result table. Target: a small constant
  (<= 4), i.e. memory proportional to the output.

The whole script is single-threaded: OMP/OpenBLAS/MKL thread counts are set to 1 below,
before numpy is imported (numpy's elementwise kernels are single-threaded anyway).

Run: ``.venv/bin/python benchmarks/bench_simulate.py``
"""

from __future__ import annotations

from _bench import single_thread

single_thread()  # everything in this process on one thread: before numpy is imported

import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

import riskeval as rv  # noqa: E402
from _bench import emit, header, time_calls  # noqa: E402

TARGET_RATE = 5e6
TARGET_NATIONAL_S = 5.0
TARGET_MEMORY = 4.0


def numpy_draws(n: int) -> float:
    """Seconds numpy's Generator takes for 3 normals + 5 uniforms for each of n ratings."""
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(3):
        rng.standard_normal(n)
    for _ in range(5):
        rng.random(n)
    return time.perf_counter() - start


def main() -> None:
    header("simulate: national scenario, 100 offices x 30 officers x 500 cases")
    start = time.perf_counter()
    world = rv.world.scenarios.national()
    first = rv.simulate(world, seed=1)
    cold = time.perf_counter() - start
    n = len(first)
    print(f"   national run from a cold start (world + {n:,} ratings): {cold:.2f} s")

    timing = time_calls(lambda: rv.simulate(world, seed=1), repeat=7, warmup=1)
    rate = n / timing.median
    print(f"   riskeval.simulate: {timing.describe()} -> {rate / 1e6:.2f} M ratings/s "
          f"(best {n / timing.best / 1e6:.2f} M/s)")
    same = timing.result.equals(first)
    print(f"   identical table on every run: {same}")

    draws = min(numpy_draws(n) for _ in range(3))
    print(f"   numpy default_rng, only the 8 draws per rating: {draws:.4f} s "
          f"({draws / timing.median:.2f}x of riskeval's full simulation)")

    tracemalloc.start()
    out = rv.simulate(world, seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = out.memory_usage(deep=True).sum()
    ratio = peak / size
    print(f"   memory: result {size / 2**20:.0f} MiB, peak during simulate "
          f"{peak / 2**20:.0f} MiB -> {ratio:.2f}x the output")
    off = rv.simulate(world.only(noise=False), seed=1)
    print(f"   every mechanism off, no noise: rating == reference for all rows: "
          f"{bool((off['rating'] == off['reference']).all())}")
    print(f"RESULT rate={rate:.0f}/s national={cold:.2f}s memory_ratio={ratio:.2f} "
          f"numpy_draws_ratio={draws / timing.median:.2f}")
    emit({"name": "simulate", "agree": bool(same), "targets": [
        {"what": "ratings per second (M)", "value": rate / 1e6, "target": ">= 5", "unit": "M/s",
         "met": rate >= TARGET_RATE},
        {"what": "national run, cold (s)", "value": cold, "target": f"< {TARGET_NATIONAL_S:g} s",
         "met": cold < TARGET_NATIONAL_S},
        {"what": "peak memory / output", "value": ratio, "target": f"<= {TARGET_MEMORY:g}",
         "unit": "x", "met": ratio <= TARGET_MEMORY},
    ]})


if __name__ == "__main__":
    main()
