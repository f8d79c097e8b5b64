"""Benchmark: many-facet Rasch analysis, riskeval.variation.many_facet_rasch vs raschpy.MFRM.

Data: 100,000 ratings of 1,000 cases by 300 officers, each case rated by 100 officers drawn
at random (an incomplete design), on four ordered categories, simulated from the
rating-scale model with known severities and thresholds (fixed seed). Both packages get the
same ratings and fit the same model, ``log(P_k / P_k-1) = B_case - C_officer - F_k``
(raschpy's ``model="global"`` with one item).

The estimators differ: riskeval uses joint maximum likelihood (JMLE, as FACETS), raschpy a
pairwise composite likelihood in which the cases cancel. So the measures are compared after
aligning their origins (each centred at 0): correlation, largest difference, and the slope
of ours on theirs (JMLE spreads measures by about L/(L-1), L = 100 ratings per case here).
riskeval's time is the whole analysis (measures, SEs, fit statistics, separation, category
and agreement tables); raschpy's is ``calibrate`` (severities and thresholds) plus its case
measures.

Run: ``.venv-bench/bin/python benchmarks/bench_facets.py`` (raschpy is in the bench extra).
Target: riskeval faster than raschpy with the same measures.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from _bench import emit, header, time_calls
from riskeval.variation import many_facet_rasch

SEED = 20261127
N_CASES, N_OFFICERS, PER_CASE = 1_000, 300, 100
THRESHOLDS = np.array([-1.2, 0.1, 1.1])
OUR_REPEAT = 5
PEER_REPEAT = 1
MIN_CORRELATION = 0.99


def make_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(SEED)
    case = np.repeat(np.arange(N_CASES), PER_CASE)
    officer = np.concatenate([rng.choice(N_OFFICERS, PER_CASE, replace=False)
                              for _ in range(N_CASES)])
    b = rng.normal(0.0, 1.5, N_CASES)
    c = rng.normal(0.0, 0.7, N_OFFICERS)
    c -= c.mean()
    tau = np.concatenate([[0.0], np.cumsum(THRESHOLDS)])
    logit = np.outer(b[case] - c[officer], np.arange(tau.size)) - tau
    p = np.exp(logit - logit.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    x = (rng.random(case.size)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    frame = pd.DataFrame({"case": [f"c{i:04d}" for i in case],
                          "officer": [f"o{j:03d}" for j in officer], "rating": x})
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True), c


def ours(frame: pd.DataFrame):
    return many_facet_rasch(frame, case="case", rater="officer", rating="rating",
                            categories=[0, 1, 2, 3])


def peer(frame: pd.DataFrame):
    import raschpy

    resp = pd.DataFrame({"score": frame["rating"].to_numpy(float)},
                        index=pd.MultiIndex.from_arrays([frame["officer"], frame["case"]],
                                                        names=["rater", "person"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = raschpy.MFRM(resp, max_score=3, facet="officer")
        model.calibrate(model="global")
        model.person_estimates(model="global")
    return model


def main() -> int:
    header("Many-facet Rasch: riskeval.many_facet_rasch vs raschpy.MFRM (model='global')")
    frame, truth = make_data()
    print(f"   data: {N_CASES:,} cases x {N_OFFICERS} officers, {PER_CASE} ratings a case, "
          f"{len(frame):,} ratings (seed {SEED})")
    mine = time_calls(lambda: ours(frame), repeat=OUR_REPEAT, warmup=1)
    fit = mine.result
    officers = [f"o{j:03d}" for j in range(N_OFFICERS)]
    est = fit.officers["measure"].reindex(officers).to_numpy(float)
    print(f"   riskeval: {mine.describe()}; {fit.n_iter} JMLE iterations, converged "
          f"{fit.converged}; correlation with the true severities "
          f"{np.corrcoef(est, truth)[0, 1]:.4f}")
    try:
        import raschpy
    except ImportError:
        print("   raschpy is not installed: riskeval timed alone")
        emit({"name": "facets", "ours_s": mine.median, "peer_s": None, "ratio": None,
              "ok": bool(fit.converged), "agree": bool(fit.converged), "targets": []})
        return 0
    theirs = time_calls(lambda: peer(frame), repeat=PEER_REPEAT)
    model = theirs.result
    sev = pd.Series(model.facet_effects_global).reindex(officers).to_numpy(float)
    sev = sev - sev.mean()  # origins aligned: both centred at 0
    thr_ours = fit.categories["threshold"].to_numpy(float)[1:]
    thr_peer = np.asarray(model.thresholds_global, float)
    thr_peer = thr_peer - thr_peer.mean()
    r = float(np.corrcoef(est, sev)[0, 1])
    diff = float(np.abs(est - sev).max())
    slope = float(est @ sev / (sev @ sev))
    persons = getattr(model, "persons_global", None)
    case_r = float("nan")
    if isinstance(persons, pd.Series | pd.DataFrame):
        pe = persons if isinstance(persons, pd.Series) else persons.iloc[:, 0]
        common = fit.cases.index.intersection(pe.index)
        a = fit.cases.loc[common, "measure"].to_numpy(float)
        b = pe.loc[common].to_numpy(float)
        ok_ = np.isfinite(a) & np.isfinite(b)
        case_r = float(np.corrcoef(a[ok_], b[ok_])[0, 1])
    corrected = many_facet_rasch(frame, case="case", rater="officer", rating="rating",
                                 categories=[0, 1, 2, 3], bias_correction=True)
    est_c = corrected.officers["measure"].reindex(officers).to_numpy(float)
    diff_c = float(np.abs(est_c - sev).max())
    ratio = theirs.median / mine.median
    print(f"   raschpy {raschpy.__version__ if hasattr(raschpy, '__version__') else ''}: "
          f"{theirs.describe()}")
    print(f"   officers: correlation {r:.5f}, largest difference {diff:.4f} logits, slope "
          f"of ours on raschpy's {slope:.4f} (JMLE's L/(L-1) = {PER_CASE / (PER_CASE - 1):.4f})")
    print(f"   with the (L-1)/L correction: largest difference {diff_c:.4f} logits, slope "
          f"{float(est_c @ sev / (sev @ sev)):.4f}")
    print(f"   thresholds: ours {np.round(thr_ours, 3)}, raschpy's {np.round(thr_peer, 3)}; "
          f"cases: correlation {case_r:.5f}")
    print(f"   ratio (raschpy / riskeval): {ratio:.1f}x")
    ok = r >= MIN_CORRELATION and bool(fit.converged)
    print(f"   {'OK' if ok else 'MISMATCH'}: same measures (correlation >= {MIN_CORRELATION})"
          f"{'; faster' if ratio > 1 else '; SLOWER than the peer'}")
    emit({"name": "facets", "ours_s": mine.median, "peer_s": theirs.median, "ratio": ratio,
          "correlation": r, "max_diff": diff, "max_diff_corrected": diff_c, "slope": slope,
          "ok": ok, "agree": ok,
          "targets": [{"what": "raschpy MFRM / riskeval", "value": ratio, "target": ">= 1x",
                       "met": ratio >= 1}]})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
