"""The agreement steps of the national audit, and the funnel, timed on their own.

Simulates the national scenario (100 offices x 30 officers, every officer rating the same 500
cases: 1.5M ratings, seed 2021) and times, as the audit runs them but with the input already
validated and made wide (validation is timed elsewhere, by ``bench_audit.py``):

- ``overall``: ``agreement_summary(level="ordinal", resample="cases+raters")`` of the whole
  table (the two-way jackknife of seven coefficients over 500 cases and 3,000 officers);
- ``per office``: the 100 offices' ``agreement_summary(level="ordinal")``, one after another;
- ``pairwise``: ``pairwise_agreement`` of the 3,000 officers;
- ``funnel``: ``variation.funnel.funnel`` of the share rated high or very high by office,
  clustered by officer (on the long table).

Targets: overall <= 0.6 s, per office <= 0.8 s together, pairwise <= 0.5 s, funnel <= 0.2 s
(set on the machine of the issue, where the version before took 2.3, 2.4, 1.27 and 0.8 s).

``--baseline DIR`` runs the same steps with the source tree in DIR (a checkout of the version
to compare with, e.g. ``git worktree add /tmp/before <commit>``) in the same run, and checks
that both give the same tables (to 1e-12). Each tree runs in its own child process; the time
of a step is the best of ``--repeat`` runs (default 3).

Run from the repository root:
``python benchmarks/bench_agreement_audit.py [--baseline DIR] [--repeat N]``.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from _bench import JSON_PREFIX

TARGETS = {"overall": 0.6, "per office": 0.8, "pairwise": 0.5, "funnel": 0.2}

#: the four steps in a child process, with the source tree given; prints the times as JSON
#: and pickles the results to the file given
CHILD = r"""
import json, pickle, sys, time, warnings
sys.path.insert(0, sys.argv[1] + "/src")
import riskeval as rv
from riskeval.data import as_ratings
from riskeval.variation.funnel import funnel

warnings.simplefilter("ignore")
ratings = rv.simulate(rv.world.scenarios.national(), seed=2021)
cats = list(rv.RISK_LEVELS)
kw = {"case": "case", "rater": "officer", "rating": "rating", "categories": cats}
wide = as_ratings(ratings, **kw)
offices = {name: as_ratings(sub, **kw)
           for name, sub in ratings.groupby("office", sort=True, observed=True)}
high = ratings.assign(high=ratings["rating"].cat.codes >= 2)
steps = {
    "overall": lambda: rv.agreement.agreement_summary(
        wide, categories=cats, level="ordinal", resample="cases+raters").to_frame(),
    "per office": lambda: {name: rv.agreement.agreement_summary(
        sub, categories=cats, level="ordinal").to_frame() for name, sub in offices.items()},
    "pairwise": lambda: rv.agreement.pairwise_agreement(wide, categories=cats).matrix,
    "funnel": lambda: funnel(high, group="office", outcome="high",
                             cluster="officer").to_frame(),
}
times, out = {}, {}
for name, step in steps.items():
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        t0 = time.perf_counter()
        out[name] = step()
        best = min(best, time.perf_counter() - t0)
    times[name] = best
with open(sys.argv[2], "wb") as fh:
    pickle.dump(out, fh)
print(json.dumps(times))
"""


def run(source: Path, repeat: int) -> tuple[dict[str, float], dict]:
    """Times and results of the four steps with the source tree ``source``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.pkl"
        proc = subprocess.run([sys.executable, "-c", CHILD, str(source), str(path),
                               str(repeat)], capture_output=True, text=True, check=True)
        with path.open("rb") as fh:
            results = pickle.load(fh)
    return json.loads(proc.stdout.strip().splitlines()[-1]), results


def _largest_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The largest absolute difference of the numeric entries (inf where the tables differ
    otherwise: shape, labels, text, or where the NaNs are)."""
    if a.shape != b.shape or not a.index.equals(b.index) or not a.columns.equals(b.columns):
        return float("inf")
    num = a.select_dtypes("number").columns
    if not a.drop(columns=num).equals(b.drop(columns=num)):
        return float("inf")
    x, y = a[num].to_numpy(float), b[num].to_numpy(float)
    if not (np.isnan(x) == np.isnan(y)).all():
        return float("inf")
    return float(np.nanmax(np.abs(x - y), initial=0.0))


def difference(new: dict, old: dict) -> float:
    worst = 0.0
    for name, table in new.items():
        pairs = ([(table[k], old[name][k]) for k in table] if isinstance(table, dict)
                 else [(table, old[name])])
        for a, b in pairs:
            worst = max(worst, _largest_difference(a, b))
    return worst


def main() -> None:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    here = Path(__file__).resolve().parents[1]
    times, results = run(here, repeat)
    out: dict = {"name": "agreement_audit", "times_s": times}
    base = None
    if "--baseline" in sys.argv:
        base = Path(sys.argv[sys.argv.index("--baseline") + 1])
        before, old = run(base, repeat)
        worst = difference(results, old)
        out.update(before_s=before, max_abs_difference=worst)
        print(f"baseline {base}: the same tables to {worst:.2g} (largest absolute "
              f"difference; {'same' if worst <= 1e-12 else 'DIFFERENT'})")
    for name, limit in TARGETS.items():
        line = f"RESULT {name}: {times[name]:.3f} s"
        if base is not None:
            line += (f" vs {out['before_s'][name]:.3f} s before = "
                     f"{out['before_s'][name] / times[name]:.1f}x faster")
        print(f"{line} (target <= {limit} s: {'met' if times[name] <= limit else 'NOT met'})")
    print(JSON_PREFIX + json.dumps(out))


if __name__ == "__main__":
    main()
