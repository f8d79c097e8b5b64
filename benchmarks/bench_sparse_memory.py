"""Peak memory of agreement coefficients on sparse designs (issue 15, item 9).

Inspectors' usual data are double-assessed real cases: many officers, two ratings a case.
Memory should grow with the number of ratings, not with cases x officers. Each point runs in
its own process (peak resident memory from ``resource.getrusage``, with an address-space cap
so that a dense allocation fails quickly instead of swapping), on ``n_cases`` cases rated
twice each by officers drawn from ``n_officers``:

- ``default``: ordinal Krippendorff's alpha and Fleiss' kappa with their analytic intervals
  (these officers);
- ``officers``: the same with ``resample="cases+raters"`` (officers like these: the two-way
  jackknife over cases and officers);
- ``bootstrap``: the same with a percentile bootstrap of 200 resamples of cases;
- ``peer``: the ``krippendorff`` package's ordinal alpha (the peer in the ``bench`` extra),
  which takes the dense officers x cases reliability matrix, on the same data.

Target: 1M ratings (500,000 cases x 2) from 100,000 officers in under 2 GB.
Run from the repository root: ``python benchmarks/bench_sparse_memory.py [--full]`` (the
default stops at 100,000 ratings; ``--full`` adds the target point).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from _bench import JSON_PREFIX

CAP_BYTES = 6 * 2 ** 30        # address-space cap of each point's process

CHILD = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
n_cases, n_officers, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(1)
officer = np.stack([rng.integers(0, n_officers, n_cases),
                    rng.integers(0, n_officers, n_cases)], axis=1)
same = officer[:, 0] == officer[:, 1]
officer[same, 1] = (officer[same, 1] + 1) % n_officers      # two different officers a case
latent = rng.normal(0, 1, (n_cases, 1)) + rng.normal(0, .7, (n_cases, 2))
levels = np.digitize(latent, [-0.8, 0.3, 1.2]) + 1
frame = pd.DataFrame({"case": np.repeat(np.arange(n_cases), 2), "officer": officer.ravel(),
                      "rating": levels.ravel()})
options = {"default": {}, "officers": {"resample": "cases+raters"},
           "bootstrap": {"ci": "percentile", "n_boot": 200, "seed": 1}}
start = time.perf_counter()
out = {}
try:
    if mode == "peer":
        import krippendorff
        dense = np.full((n_officers, n_cases), np.nan)
        dense[officer.ravel(), np.repeat(np.arange(n_cases), 2)] = levels.ravel()
        out.update(alpha=float(krippendorff.alpha(reliability_data=dense,
                                                  level_of_measurement="ordinal")), ok=True)
    else:
        import riskeval as rv
        cols = {"case": "case", "rater": "officer", "rating": "rating"}
        a = rv.krippendorff_alpha(frame, **cols, level="ordinal", **options[mode])
        k = rv.fleiss_kappa(frame, **cols, **options[mode])
        out.update(alpha=a.estimate, kappa=k.estimate, ok=True)
except MemoryError:
    out.update(ok=False, error="MemoryError")
out["seconds"] = time.perf_counter() - start
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def point(n_cases: int, n_officers: int, mode: str) -> dict:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))

    proc = subprocess.run([sys.executable, "-c", CHILD, str(n_cases), str(n_officers), mode],
                          capture_output=True, text=True, preexec_fn=cap, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "error": tail[:120]}
    return json.loads(lines[-1])


def main() -> None:
    grid = [(5_000, 1_000), (20_000, 5_000), (50_000, 10_000)]
    if "--full" in sys.argv:
        grid += [(500_000, 100_000)]
    try:
        import krippendorff  # noqa: F401
        modes = ("default", "officers", "bootstrap", "peer")
    except ImportError:
        print("(the krippendorff package is not installed: no peer column; "
              "pip install -e '.[bench]')")
        modes = ("default", "officers", "bootstrap")
    rows = []
    for n_cases, n_officers in grid:
        dense_mb = n_cases * n_officers * 8 / 2**20
        print(f"{2 * n_cases:>9,} ratings, {n_officers:>7,} officers "
              f"(a dense cases x officers array: {dense_mb:,.0f} MB)")
        for mode in modes:
            r = point(n_cases, n_officers, mode)
            r.update(ratings=2 * n_cases, officers=n_officers, mode=mode)
            rows.append(r)
            state = (f"{r['peak_mb']:.0f} MB peak, {r['seconds']:.2f} s" if r.get("ok")
                     else f"failed ({r.get('error')})")
            print(f"    {mode:>9}: {state}")
        ours = next(r for r in rows[-len(modes):] if r["mode"] == "default")
        peer = [r for r in rows[-len(modes):] if r["mode"] == "peer"]
        if peer and peer[0].get("ok") and ours.get("ok"):
            print(f"    peak memory, krippendorff / riskeval: "
                  f"{peer[0]['peak_mb'] / ours['peak_mb']:.1f}x; alpha "
                  f"{peer[0]['alpha']:.6f} vs {ours['alpha']:.6f}")
    target = [r for r in rows if r["ratings"] == 1_000_000 and r["mode"] != "peer"]
    if target:
        met = all(r.get("ok") and r["peak_mb"] < 2048 for r in target)
        print(f"RESULT 1M ratings / 100k officers under 2 GB (default, officers like these, "
              f"bootstrap): {'met' if met else 'NOT met'}")
    print(JSON_PREFIX + json.dumps({"name": "sparse_memory", "points": rows}))


if __name__ == "__main__":
    main()
