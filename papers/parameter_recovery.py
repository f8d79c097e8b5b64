"""Parameter-recovery study of the crossed linear mixed model (writes parameter_recovery.md).

For each scenario, 200 independent worlds are simulated with ``riskeval.simulate`` at known
values -- office SD 0.35, officer SD 0.30, experience effect -0.015 per year, judgement noise
SD 0.5, every other mechanism off -- and ``riskeval.multilevel.crossed_lmm`` (REML, profile
likelihood intervals) is fitted to the officers' latent judgements with experience as a fixed
effect. Reported per estimand: mean estimate, bias with its Monte Carlo SE, RMSE, and the
coverage of the 95% interval with its Monte Carlo SE. Every replication has its own seed
(replication number), so the table is reproducible bit for bit.

Every replication's estimates and intervals are kept in ``parameter_recovery_replications.csv``.

Run from the repository root: ``python papers/parameter_recovery.py [--reps 200] [--jobs 2]``
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

import riskeval as rv
from riskeval.multilevel._recovery import Scenario, replicate, replicate_ordinal, summarise

SCENARIOS = (
    Scenario("A: 20 offices x 6 officers x 30 cases", 20, 6, 30),
    Scenario("B: the six-office study, 6 offices x 8 officers x 24 cases", 6, 8, 24),
)


def _run(args: tuple[int, int]) -> list[dict]:
    s, rep = args
    return replicate(SCENARIOS[s], rep)


def _run_ordinal(rep: int) -> list[dict]:
    return replicate_ordinal(SCENARIOS[0], rep)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    tasks = [(s, rep) for s in range(len(SCENARIOS)) for rep in range(args.reps)]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = [row for chunk in pool.map(_run, tasks, chunksize=4) for row in chunk]
        rows += [row for chunk in pool.map(_run_ordinal, range(args.reps), chunksize=4)
                 for row in chunk]
    raw = pd.DataFrame(rows)
    raw.to_csv(Path(__file__).with_name("parameter_recovery_replications.csv"), index=False,
               float_format="%.10g")
    table = summarise(raw)
    minutes = (time.perf_counter() - start) / 60
    lines = [
        "# Parameter recovery: crossed linear mixed model",
        "",
        f"Made by `papers/parameter_recovery.py` (riskeval {rv.__version__}), {args.reps} "
        f"replications per scenario, {minutes:.1f} minutes on {args.jobs} processes.",
        "",
        "Each replication draws new offices, officers and cases, simulates every officer "
        "rating every case with only office practice, the officer's own severity (and its "
        "experience slope) and judgement noise switched on, and fits "
        "`crossed_lmm(latent ~ experience + (1|case) + (1|office) + (1|officer))` by REML "
        "with profile-likelihood 95% intervals. Truth: office SD 0.35, officer SD 0.30, "
        "experience -0.015 per year, noise SD 0.5. The last rows fit "
        "`ordinal_mixed` (probit, Laplace) to the recorded levels of scenario A's worlds; on "
        "the probit scale the unit is the noise SD, so the truths are the SDs / 0.5, and its "
        "intervals are Wald (log scale for SDs).",
        "",
        "Unbiased means |bias| < 2 Monte Carlo SEs; the target coverage is 93-97%.",
        "",
        "| scenario | estimand | truth | mean estimate | bias (MC SE) | RMSE | coverage "
        "(MC SE) |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['scenario']} | {r['estimand']} | {r['truth']:.4g} | "
            f"{r['mean estimate']:.4g} | {r['bias']:+.4f} ({r['bias MC SE']:.4f}) | "
            f"{r['rmse']:.4f} | {100 * r['coverage']:.1f}% ({100 * r['coverage MC SE']:.1f}) |")
    lines.append("")
    Path(__file__).with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
