"""Benchmark: 2,000-resample percentile bootstrap CI of ordinal Krippendorff's alpha.

Data: 200 cases x 30 raters, 5 ordered categories (1..5), 10% of ratings missing at random;
built once with a fixed seed (every case keeps at least two ratings).

- ours: ``riskeval.krippendorff_alpha(X, level="ordinal", ci="percentile", n_boot=2000,
  seed=1)`` (a vectorised bootstrap). Target: under 1 second on one core.
- peer: ``krippendorff.alpha`` called once per resample on the case-resampled table. The
  resamples are the very ones riskeval draws: for each resample, the multiplicities of the n
  cases (``numpy.random.default_rng(1).multinomial(n, [1/n] * n, size=2000)``, i.e. n case
  indices drawn with replacement, tallied) are expanded back to case indices. So the two
  2,000-value bootstrap distributions, and hence the two intervals, must coincide. If the
  first 200 peer calls project to more than PEER_BUDGET_S seconds for 2,000, the peer time is
  those 200 calls x 10 (stated in the output). Target: ratio peer/ours >= 20.

The whole script is single-threaded: OMP/OpenBLAS/MKL thread counts are set to 1 below,
before numpy is imported.

Run: ``.venv/bin/python benchmarks/bench_bootstrap.py``
"""

from __future__ import annotations

from _bench import single_thread

single_thread()  # everything in this process on one thread: before numpy is imported

import sys  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402

import krippendorff  # noqa: E402
import numpy as np  # noqa: E402

import riskeval  # noqa: E402
from _bench import emit, header, ordinal_ratings, time_calls  # noqa: E402

SEED_DATA = 20240613
BOOT_SEED = 1
N_BOOT = 2_000
N_CASES, N_RATERS, N_CATS = 200, 30, 5
MISSING = 0.10
CONFIDENCE = 0.95
OUR_REPEAT = 7  # median of 7 after 1 warm-up
PILOT = 200  # peer calls timed first
PEER_BUDGET_S = 60.0  # beyond this projected time, scale the pilot up instead of finishing
TARGET_TIME_S = 1.0
TARGET_RATIO = 20.0
TOL = 1e-9


def make_data() -> np.ndarray:
    X = ordinal_ratings(SEED_DATA, N_CASES, N_RATERS, N_CATS, MISSING)
    # every case rated at least twice, so riskeval keeps all N_CASES (its resampling frame)
    if not (np.sum(~np.isnan(X), axis=1) >= 2).all():
        raise RuntimeError("a case has fewer than two ratings; change SEED_DATA")
    return X


def peer_resample_indices() -> list[np.ndarray]:
    """The case indices of riskeval's resamples (same generator, same draws)."""
    rng = np.random.default_rng(BOOT_SEED)
    counts = rng.multinomial(N_CASES, np.full(N_CASES, 1.0 / N_CASES), size=N_BOOT)
    cases = np.arange(N_CASES)
    return [np.repeat(cases, c) for c in counts]


def peer_bootstrap(X: np.ndarray, indices: list[np.ndarray]) -> tuple[float, bool, np.ndarray]:
    """Seconds for all resamples (measured or pilot x scale), whether scaled, and the values."""
    domain = list(range(1, N_CATS + 1))

    def one(idx: np.ndarray) -> float:
        return krippendorff.alpha(reliability_data=X[idx].T, level_of_measurement="ordinal",
                                  value_domain=domain)

    start = time.perf_counter()
    values = [one(idx) for idx in indices[:PILOT]]
    pilot = time.perf_counter() - start
    if pilot * N_BOOT / PILOT > PEER_BUDGET_S:
        return pilot * N_BOOT / PILOT, True, np.asarray(values)
    start = time.perf_counter()
    values += [one(idx) for idx in indices[PILOT:]]
    return pilot + time.perf_counter() - start, False, np.asarray(values)


def main() -> int:
    header("Bootstrap CI of ordinal alpha (2,000 resamples, single thread): riskeval vs "
           "a krippendorff.alpha loop")
    print("   single-threaded: OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1 set "
          "before importing numpy")
    X = make_data()
    print(f"   data: {N_CASES} cases x {N_RATERS} raters, categories 1..{N_CATS}, "
          f"{np.isnan(X).mean():.1%} missing (seed {SEED_DATA}); krippendorff "
          f"{version('krippendorff')}")

    ours = time_calls(
        lambda: riskeval.krippendorff_alpha(X, level="ordinal", ci="percentile",
                                            n_boot=N_BOOT, seed=BOOT_SEED,
                                            confidence=CONFIDENCE),
        repeat=OUR_REPEAT, warmup=1)
    res = ours.result

    indices = peer_resample_indices()
    peer_s, scaled, values = peer_bootstrap(X, indices)
    point = krippendorff.alpha(reliability_data=X.T, level_of_measurement="ordinal",
                               value_domain=list(range(1, N_CATS + 1)))
    tail = (1 - CONFIDENCE) / 2
    peer_ci = tuple(float(v) for v in np.quantile(values[np.isfinite(values)],
                                                  [tail, 1 - tail]))
    d_est = abs(res.estimate - point)
    if scaled:
        d_ci = float("nan")
        ok = d_est <= TOL
        ci_note = (f"peer CI from only {PILOT} resamples [{peer_ci[0]:.4f}, {peer_ci[1]:.4f}] "
                   "(not comparable exactly)")
    else:
        d_ci = max(abs(res.ci[0] - peer_ci[0]), abs(res.ci[1] - peer_ci[1]))
        ok = d_est <= TOL and d_ci <= TOL
        ci_note = (f"peer CI [{peer_ci[0]:.10f}, {peer_ci[1]:.10f}], |CI diff| {d_ci:.1e} "
                   f"(tol {TOL:g}; same resamples)")
    how = (f"{PILOT} calls timed, x{N_BOOT // PILOT} (SCALED UP)" if scaled
           else f"all {N_BOOT} calls, 1 run")
    print(f"   riskeval (vectorised bootstrap): {ours.describe()}")
    print(f"   krippendorff.alpha loop:         {peer_s:.4f} s ({how})")
    print(f"   riskeval alpha {res.estimate:.10f}, {CONFIDENCE:.0%} percentile CI "
          f"[{res.ci[0]:.10f}, {res.ci[1]:.10f}]")
    print(f"   agreement: {'OK' if ok else 'MISMATCH'}: |alpha diff| {d_est:.1e}; {ci_note}")
    ratio = peer_s / ours.median
    time_ok = ours.median < TARGET_TIME_S
    ratio_ok = ratio >= TARGET_RATIO
    print(f"RESULT bootstrap: riskeval {ours.median:.4f} s (median, 1 thread; target < "
          f"{TARGET_TIME_S:g} s: {'met' if time_ok else 'NOT met'}) | krippendorff loop "
          f"{peer_s:.3f} s{' (scaled x10 from 200 calls)' if scaled else ''} | ratio "
          f"peer/ours = {ratio:.1f}x (target >= {TARGET_RATIO:g}x: "
          f"{'met' if ratio_ok else 'NOT met'})")
    emit({"name": "bootstrap", "ours_s": ours.median, "peer_s": peer_s, "ratio": ratio,
          "agree": ok, "peer_scaled": scaled, "targets": [
              {"what": "riskeval time (1 thread)", "value": ours.median,
               "target": f"< {TARGET_TIME_S:g} s", "met": time_ok},
              {"what": "krippendorff loop / riskeval", "value": ratio,
               "target": f">= {TARGET_RATIO:g}x", "met": ratio_ok}]})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
