"""Benchmark: ordinal Krippendorff's alpha (point estimate), riskeval vs the krippendorff package.

Data: 50,000 cases x 50 raters, 5 ordered categories (1..5, from a latent case score plus
rater noise), 20% of ratings missing at random (NaN); built once with a fixed seed.

- ours: ``riskeval.krippendorff_alpha(X, level="ordinal", ci=None)``
- peer: ``krippendorff.alpha(reliability_data=X.T, level_of_measurement="ordinal")``, timed
  both without and with ``value_domain=[1, 2, 3, 4, 5]``.

The ratio is taken against the faster peer variant. Target: ratio >= 1 (ours at least as fast).

Run: ``.venv/bin/python benchmarks/bench_alpha.py``
"""

from __future__ import annotations

import sys
from importlib.metadata import version

import krippendorff
import numpy as np

import riskeval
from _bench import emit, header, ordinal_ratings, time_calls

SEED = 20240612
N_CASES, N_RATERS, N_CATS = 50_000, 50, 5
MISSING = 0.20
REPEAT = 7  # every call is well under a second: median of 7 after 1 warm-up
TARGET = 1.0
TOL = 1e-9


def make_data() -> np.ndarray:
    return ordinal_ratings(SEED, N_CASES, N_RATERS, N_CATS, MISSING)


def main() -> int:
    header("Krippendorff's alpha (ordinal, point estimate): riskeval vs krippendorff")
    X = make_data()
    print(f"   data: {N_CASES:,} cases x {N_RATERS} raters, categories 1..{N_CATS}, "
          f"{np.isnan(X).mean():.1%} missing (seed {SEED}); krippendorff "
          f"{version('krippendorff')}")
    domain = list(range(1, N_CATS + 1))
    Xt = X.T  # the krippendorff package wants raters x units

    ours = time_calls(
        lambda: riskeval.krippendorff_alpha(X, level="ordinal", ci=None).estimate,
        repeat=REPEAT, warmup=1)
    peer_plain = time_calls(
        lambda: krippendorff.alpha(reliability_data=Xt, level_of_measurement="ordinal"),
        repeat=REPEAT, warmup=1)
    peer_domain = time_calls(
        lambda: krippendorff.alpha(reliability_data=Xt, level_of_measurement="ordinal",
                                   value_domain=domain),
        repeat=REPEAT, warmup=1)

    diff_plain = abs(ours.result - peer_plain.result)
    diff_domain = abs(ours.result - peer_domain.result)
    ok = diff_plain <= TOL and diff_domain <= TOL
    print(f"   riskeval.krippendorff_alpha(ci=None):        {ours.describe()}")
    print(f"   krippendorff.alpha (no value_domain):        {peer_plain.describe()}")
    print(f"   krippendorff.alpha (value_domain=[1..5]):    {peer_domain.describe()}")
    print(f"   alpha: riskeval {ours.result:.12f}, krippendorff {peer_plain.result:.12f} / "
          f"{peer_domain.result:.12f}")
    print(f"   agreement: {'OK' if ok else 'MISMATCH'}: |diff| {diff_plain:.1e} / "
          f"{diff_domain:.1e} (tol {TOL:g})")
    ratio_plain = peer_plain.median / ours.median
    ratio_domain = peer_domain.median / ours.median
    peer_best = min(peer_plain.median, peer_domain.median)
    ratio = peer_best / ours.median
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"   ratios peer/ours: {ratio_plain:.2f}x without value_domain, {ratio_domain:.2f}x "
          "with value_domain")
    print(f"RESULT alpha: riskeval {ours.median:.4f} s (median) | krippendorff "
          f"{peer_best:.4f} s (median, faster variant) | ratio peer/ours = {ratio:.2f}x "
          f"(target >= {TARGET:g}x: {verdict})")
    emit({"name": "alpha", "ours_s": ours.median, "peer_s": peer_best, "ratio": ratio,
          "agree": ok, "targets": [{"what": "krippendorff / riskeval", "value": ratio,
                                    "target": f">= {TARGET:g}x", "met": ratio >= TARGET}]})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
