"""The national audit end to end, and how often it validates its input (issue 16, item 2).

Simulates the national scenario (100 offices x 30 officers x 500 cases = 1.5M ratings, seed
2021), then times ``riskeval.audit.audit`` (reference level, offices; the ordinal model is
skipped above ``ORDINAL_AUTO_MAX`` ratings as by default) and ``Audit.save``. On the six-office
study it counts, with :mod:`cProfile`, the calls of the input checks
(``validate_ratings``, ``parse_categories``, ``level_codes``): validated once, each should be
called a handful of times, not once per analysis.

Target (issue 16): the national audit plus its save at least 3x faster than 63 s + 12 s = 75 s
(the figures measured before the change), the same report.

Run from the repository root: ``python benchmarks/bench_audit.py [--counts-only]``.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

from _bench import JSON_PREFIX

BEFORE_S = 63.0 + 12.0   # national audit + save before issue 16 (the figures)
CHECKS = ("validate_ratings", "parse_categories", "level_codes")


def call_counts() -> dict[str, int]:
    import riskeval as rv

    ratings = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)
    prof = cProfile.Profile()
    prof.enable()
    rv.audit.audit(ratings, case="case", rater="officer", rating="rating", office="office",
                   reference="reference", ordinal=False)
    prof.disable()
    stats = pstats.Stats(prof).stats
    counts = dict.fromkeys(CHECKS, 0)
    for (_, _, name), (calls, *_rest) in stats.items():
        if name in counts:
            counts[name] += calls
    return counts


def national() -> dict[str, float]:
    import riskeval as rv

    t0 = time.perf_counter()
    ratings = rv.simulate(rv.world.scenarios.national(), seed=2021)
    t1 = time.perf_counter()
    result = rv.audit.audit(ratings, case="case", rater="officer", rating="rating",
                            office="office", reference="reference")
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result.save(Path(tmp) / "report")
    t3 = time.perf_counter()
    return {"ratings": len(ratings), "simulate_s": t1 - t0, "audit_s": t2 - t1,
            "save_s": t3 - t2}


def main() -> None:
    counts = call_counts()
    print("input checks during the six-office audit: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    out: dict = {"name": "audit", "counts": counts}
    if "--counts-only" not in sys.argv:
        t = national()
        total = t["audit_s"] + t["save_s"]
        print(f"national audit: {t['ratings']:,} ratings; audit {t['audit_s']:.1f} s, save "
              f"{t['save_s']:.1f} s (simulation {t['simulate_s']:.1f} s, not counted)")
        ratio = BEFORE_S / total
        print(f"RESULT national audit + save: {total:.1f} s vs {BEFORE_S:.0f} s before "
              f"= {ratio:.2f}x faster (target >= 3x: {'met' if ratio >= 3 else 'NOT met'})")
        out.update(t, ratio=ratio)
    print(JSON_PREFIX + json.dumps(out))


if __name__ == "__main__":
    main()
