"""Benchmark: all six ICCs with F-based CIs, riskeval.icc vs pingouin.intraclass_corr.

Data: 2,000 cases x 100 raters of continuous ratings (case effect + rater effect + noise),
as a long DataFrame of 200,000 rows in shuffled order, built once with a fixed seed. Both
functions get the same long frame. Target: riskeval at least 100x faster.

Run: ``.venv/bin/python benchmarks/bench_icc.py``
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pingouin

import riskeval
from _bench import emit, header, time_calls

SEED = 20240611
N_CASES, N_RATERS = 2_000, 100
OUR_REPEAT = 7  # riskeval takes a few hundredths of a second: median of 7 (after 1 warm-up)
PEER_REPEAT = 1  # pingouin takes tens of seconds here: a single run
TARGET = 100.0
ICC_TOL = 1e-8  # ICC values must agree to this (absolute)
CI_TOL = 0.005 + 1e-9  # pingouin rounds its CI bounds to 2 decimals
# pingouin's row labels, in the order of riskeval's ICC1 ... ICC3k
PG_TYPES = {"ICC1": "ICC(1,1)", "ICC2": "ICC(A,1)", "ICC3": "ICC(C,1)",
            "ICC1k": "ICC(1,k)", "ICC2k": "ICC(A,k)", "ICC3k": "ICC(C,k)"}


def make_data() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    case_effect = rng.normal(0.0, 1.0, size=(N_CASES, 1))
    rater_effect = rng.normal(0.0, 0.5, size=(1, N_RATERS))
    noise = rng.normal(0.0, 1.0, size=(N_CASES, N_RATERS))
    ratings = 10.0 + case_effect + rater_effect + noise
    long = pd.DataFrame({
        "case": np.repeat(np.arange(N_CASES), N_RATERS),
        "rater": np.tile(np.arange(N_RATERS), N_CASES),
        "rating": ratings.ravel(),
    })
    return long.iloc[rng.permutation(len(long))].reset_index(drop=True)


def compare(ours: pd.DataFrame, peer: pd.DataFrame) -> tuple[bool, dict[str, float]]:
    """Max absolute differences of ICC, F (relative), df and CI bounds; and whether all pass."""
    peer = peer.set_index("Type")
    rows = [PG_TYPES[f] for f in ours.index]
    pg_icc = peer.loc[rows, "ICC"].to_numpy(float)
    pg_f = peer.loc[rows, "F"].to_numpy(float)
    pg_df = peer.loc[rows, ["df1", "df2"]].to_numpy(float)
    pg_ci = np.vstack(peer.loc[rows, "CI95%" if "CI95%" in peer.columns else "CI95"].to_numpy())
    diffs = {
        "icc": float(np.max(np.abs(ours["ICC"].to_numpy() - pg_icc))),
        "f_rel": float(np.max(np.abs(ours["F"].to_numpy() / pg_f - 1.0))),
        "df": float(np.max(np.abs(ours[["df1", "df2"]].to_numpy() - pg_df))),
        "ci": float(np.max(np.abs(ours[["ci_low", "ci_high"]].to_numpy() - pg_ci))),
    }
    ok = (diffs["icc"] <= ICC_TOL and diffs["f_rel"] <= 1e-8 and diffs["df"] == 0.0
          and diffs["ci"] <= CI_TOL)
    return ok, diffs


def main() -> int:
    header("ICC: riskeval.icc vs pingouin.intraclass_corr")
    long = make_data()
    print(f"   data: {N_CASES:,} cases x {N_RATERS} raters, long DataFrame of {len(long):,} "
          f"rows (seed {SEED}); pingouin {pingouin.__version__}")

    ours = time_calls(
        lambda: riskeval.icc(long, case="case", rater="rater", rating="rating").to_frame(),
        repeat=OUR_REPEAT, warmup=1)
    peer = time_calls(
        lambda: pingouin.intraclass_corr(data=long, targets="case", raters="rater",
                                         ratings="rating"),
        repeat=PEER_REPEAT)

    ok, diffs = compare(ours.result, peer.result)
    print(f"   riskeval.icc:              {ours.describe()}")
    print(f"   pingouin.intraclass_corr:  {peer.describe()}")
    print(f"   agreement: {'OK' if ok else 'MISMATCH'}: max |ICC diff| {diffs['icc']:.2e} "
          f"(tol {ICC_TOL:g}), max rel F diff {diffs['f_rel']:.2e}, df diff {diffs['df']:g}, "
          f"max |CI diff| {diffs['ci']:.4f} (pingouin rounds CIs to 0.01)")
    ratio = peer.median / ours.median
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"RESULT icc: riskeval {ours.median:.4f} s (median) | pingouin {peer.median:.3f} s | "
          f"ratio peer/ours = {ratio:,.0f}x (target >= {TARGET:g}x: {verdict})")
    emit({"name": "icc", "ours_s": ours.median, "peer_s": peer.median, "ratio": ratio,
          "agree": ok, "targets": [{"what": "pingouin / riskeval", "value": ratio,
                                    "target": f">= {TARGET:g}x", "met": ratio >= TARGET}]})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
