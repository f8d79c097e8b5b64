"""Benchmark: a design diagnosis of 1,000 simulated consistency studies.

Each replication simulates a 30-officer x 20-vignette study on the four-level scale
(``riskeval.studies.rater_study(30, 20, categories=...)``) and computes ICC(2,1) with its exact
F interval and Krippendorff's ordinal alpha with its interval. Target: 1,000 replications in
under 10 seconds on 2 cores. The script times 1 worker, then 2 worker processes twice (the
first call pays for starting the workers and importing riskeval in them; joblib keeps them for
the second), checks the tables are identical, and prints the scaling.

There is no peer package that diagnoses rater-study designs in Python (in R, DeclareDesign does
it for other kinds of study), so the comparison is with ourselves on one worker.

Run: ``.venv/bin/python benchmarks/bench_design.py``
"""

from __future__ import annotations

from _bench import single_thread

single_thread()  # BLAS threads off: the parallelism here is joblib's worker processes

import time  # noqa: E402

import pandas as pd  # noqa: E402

from _bench import emit, header  # noqa: E402
from riskeval import studies as dz  # noqa: E402

N_SIMS = 1000
TARGET_S = 10.0


def main() -> None:
    header("design diagnosis: 1,000 studies of 30 officers x 20 vignettes (ICC(2,1) + alpha)")
    d = dz.rater_study(30, 20, categories=[-0.7, 0.4, 1.4])
    dz.diagnose(d, n_sims=20, seed=0)  # warm-up (imports)
    times, tables = {}, {}
    for jobs, label in ((1, 1), (2, "2 (cold: workers start)"), (2, 2)):
        start = time.perf_counter()
        tables[jobs] = dz.diagnose(d, n_sims=N_SIMS, seed=1, n_jobs=jobs, chunk_size=100).table
        times[label] = time.perf_counter() - start
        print(f"  n_jobs={label}: {times[label]:.2f} s")
    same = tables[1].equals(tables[2])
    pd.testing.assert_frame_equal(tables[1], tables[2])
    print(f"  scaling 1 -> 2 warm workers: {times[1] / times[2]:.2f}x; tables identical: {same}")
    emit({"name": "design", "agree": bool(same), "targets": [
        {"what": "1,000 replications on 2 workers (s)", "value": times[2],
         "target": f"< {TARGET_S:g} s", "met": times[2] < TARGET_S},
        {"what": "speed-up 1 -> 2 workers", "value": times[1] / times[2], "target": "report",
         "unit": "x", "met": True},
    ]})


if __name__ == "__main__":
    main()
