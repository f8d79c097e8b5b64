"""The national audit end to end, and how often it validates its input (issue 16, item 2).

Simulates the national scenario (100 offices x 30 officers x 500 cases = 1.5M ratings, seed
2021), then times ``riskeval.audit.audit`` (reference level, offices; the ordinal model is
skipped above ``ORDINAL_AUTO_MAX`` ratings as by default) and ``Audit.save``. On the six-office
study it counts, with :mod:`cProfile`, the calls of the input checks
(``_validate``, ``parse_categories``, ``level_codes``): validated once, each should be
called a handful of times, not once per analysis.

Target (issue 16): the national audit plus its save at least 3x faster than before, the same
report. "Before" is measured in the same run, on the same machine: ``--baseline DIR`` runs the
same national audit with the source tree in DIR (a checkout of the version to compare with,
e.g. ``git worktree add /tmp/before b9929cf``) in a child process. (The issue quotes 63 s +
12 s, measured on another machine; on the machine of the first measurement here the version
before issue 16 took 22-24 s.)

Run from the repository root:
``python benchmarks/bench_audit.py [--counts-only] [--baseline DIR]``.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import JSON_PREFIX

#: the national audit and its save, in a child process, with the source tree given
CHILD = r"""
import sys, tempfile, time
sys.path.insert(0, sys.argv[1] + "/src")
import riskeval as rv
scenarios = rv.world.scenarios if hasattr(rv, "world") else rv.scenarios
ratings = rv.simulate(scenarios.national(), seed=2021)
t1 = time.perf_counter()
result = rv.audit.audit(ratings, case="case", rater="officer", rating="rating",
                        office="office", reference="reference")
t2 = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    result.save(tmp + "/report")
    t3 = time.perf_counter()
    with open(tmp + "/report/summary.json", encoding="utf-8") as fh, \
            open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write(fh.read())
print(t2 - t1, t3 - t2)
"""
CHECKS = ("_validate", "parse_categories", "level_codes")


def call_counts() -> dict[str, int]:
    import riskeval as rv
    import riskeval.data.ratings as module

    ratings = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)
    full = []
    step = module._clean_ids                  # a step of every full check, once per role

    def counted(col, role, name):
        if role == "case":
            full.append(len(col))
        return step(col, role, name)
    module._clean_ids = counted
    prof = cProfile.Profile()
    prof.enable()
    try:
        rv.audit.audit(ratings, case="case", rater="officer", rating="rating",
                       office="office", reference="reference", ordinal=False)
    finally:
        prof.disable()
        module._clean_ids = step
    stats = pstats.Stats(prof).stats
    counts = dict.fromkeys(CHECKS, 0)
    for (file, _, name), (calls, *_rest) in stats.items():
        if name in counts and "riskeval" in file:
            counts[name] += calls
    counts["full checks of the whole table"] = full.count(len(ratings))
    counts["full checks of a subset"] = len(full) - full.count(len(ratings))
    return counts


def national(source: Path) -> tuple[dict[str, float], dict]:
    """Audit and save times of the national audit with the source tree ``source``, and its
    report's ``summary.json``."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        proc = subprocess.run([sys.executable, "-c", CHILD, str(source), str(summary)],
                              capture_output=True, text=True, check=True)
        report = json.loads(summary.read_text(encoding="utf-8"))
    audit_s, save_s = (float(x) for x in proc.stdout.split()[-2:])
    return {"audit_s": audit_s, "save_s": save_s}, report


def differences(a: object, b: object, path: str = "") -> tuple[float, list[str]]:
    """The largest relative difference between the numbers of two reports, and where they
    differ otherwise (a key, a text, a length)."""
    if isinstance(a, dict) and isinstance(b, dict):
        worst, other = 0.0, [f"{path}/{k}: in one report only" for k in set(a) ^ set(b)]
        for k in set(a) & set(b):
            w, o = differences(a[k], b[k], f"{path}/{k}")
            worst, other = max(worst, w), other + o
        return worst, other
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return 0.0, [f"{path}: {len(a)} vs {len(b)} entries"]
        worst, other = 0.0, []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            w, o = differences(x, y, f"{path}[{i}]")
            worst, other = max(worst, w), other + o
        return worst, other
    if isinstance(a, int | float) and isinstance(b, int | float) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return abs(a - b) / max(abs(a), abs(b), 1e-12), []
    return 0.0, [] if a == b else [f"{path}: {str(a)[:60]!r} vs {str(b)[:60]!r}"]


def main() -> None:
    counts = call_counts()
    print("input checks during the six-office audit: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    out: dict = {"name": "audit", "counts": counts}
    if "--counts-only" not in sys.argv:
        here = Path(__file__).resolve().parents[1]
        t, report = national(here)
        total = t["audit_s"] + t["save_s"]
        print(f"national audit (1.5M ratings): audit {t['audit_s']:.1f} s, save "
              f"{t['save_s']:.1f} s")
        out.update(t)
        if "--baseline" in sys.argv:
            base = Path(sys.argv[sys.argv.index("--baseline") + 1])
            b, base_report = national(base)
            before = b["audit_s"] + b["save_s"]
            ratio = before / total
            print(f"baseline {base}: audit {b['audit_s']:.1f} s, save {b['save_s']:.1f} s")
            worst, other = differences(report, base_report)
            print(f"same report: every number of summary.json within {worst:.2g} (relative) "
                  f"of the baseline's; {len(other)} other differences"
                  + "".join(f"\n  {line}" for line in other[:20]))
            out.update(largest_relative_difference=worst, other_differences=other)
            print(f"RESULT national audit + save: {total:.1f} s vs {before:.1f} s before = "
                  f"{ratio:.2f}x faster (target >= 3x: {'met' if ratio >= 3 else 'NOT met'})")
            out.update(before_s=before, ratio=ratio)
    print(JSON_PREFIX + json.dumps(out))


if __name__ == "__main__":
    main()
