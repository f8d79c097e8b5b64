"""Calibrating five free parameters of the six-office world to one data set (issue 18).

Target: under 2 minutes on 2 cores. Prints the wall time of ``riskeval.studies.calibrate``
with the default reference table (20,000 simulations) on 2 joblib workers, the simulations per
second it reaches, and -- timed serially on 300 simulations -- the share of a simulation's time
spent simulating and computing the summaries. There is no peer package: no tool calibrates
this world; the target is absolute.

Run from the repository root: ``python benchmarks/bench_calibrate.py [--n N]``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

from _bench import JSON_PREFIX

FREE = ["office_practice.sd", "who_assesses.sd", "noise.sd", "defensive_inflation.strength",
        "trust_honesty.start"]


def main() -> None:
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 20_000
    import numpy as np

    import riskeval as rv
    from riskeval.studies import calibration as C

    world = rv.world.scenarios.six_office_study()
    observed = rv.simulate(world, seed=2026)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        post = C.calibrate(world, observed, free=FREE, reference="reference",
                           n_simulations=n, n_jobs=2, seed=1)
        took = time.perf_counter() - start
    print(f"calibrate: {len(FREE)} free parameters, {n:,} simulations on 2 workers: "
          f"{took:.1f} s ({n / took:.0f} simulations per second)")
    print(post.summary_table()[["mean", "sd", "q05", "q95", "contraction"]].round(3))

    # where a simulation's time goes (serially, one core)
    prob = C._Problem(world, tuple(FREE), tuple(tuple(f.split(".")) for f in FREE),
                      tuple(C.default_prior(world, f) for f in FREE),
                      {"categories": tuple(rv.RISK_LEVELS), "office": "office",
                       "reference": "reference"})
    rng = np.random.default_rng(0)
    t_sim = t_sum = 0.0
    for _ in range(300):
        theta = np.array([float(p.rvs(random_state=rng)) for p in prob.priors])
        a = time.perf_counter()
        sim = rv.simulate(prob.world_at(theta), seed=int(rng.integers(0, 2 ** 63)))
        b = time.perf_counter()
        C._summaries(sim, **prob.spec)
        c = time.perf_counter()
        t_sim += b - a
        t_sum += c - b
    share = t_sim / (t_sim + t_sum)
    print(f"per simulation (serial): simulate {1000 * t_sim / 300:.2f} ms, summaries "
          f"{1000 * t_sum / 300:.2f} ms ({100 * share:.0f}% of the time simulating)")
    met = took < 120
    print(f"RESULT {took:.1f} s for {n:,} simulations (target < 120 s: "
          f"{'met' if met else 'NOT met'})")
    print(JSON_PREFIX + json.dumps({
        "name": "calibrate", "seconds": took, "simulations": n,
        "per_second": n / took, "simulate_share": share,
        "targets": [{"what": "calibrate 5 parameters, six-office world", "value": took,
                     "target": "< 120 s", "met": met}]}))


if __name__ == "__main__":
    main()
