"""The ordinal mixed model with a correlated officer random slope: ours against R's clmm.

Data: 10,000 ratings -- 200 cases x 50 officers in 10 offices, every officer rating every
case, four ordered levels from a probit model with a case-level covariate ``x`` (centred),
``(officer intercept, officer slope on x)`` bivariate normal (SDs 0.5 and 0.3, correlation
0.3), case SD 1 and office SD 0.3; seed 2024.

Fits ``rating ~ x + (1|case) + (1 + x|officer) + (1|office)`` with the probit link and the
Laplace approximation, by

- ours: ``riskeval.variation.ordinal_mixed(..., slopes="x")``, timed in this process;
- clmm: ``ordinal::clmm(..., link = "probit", nAGQ = 1)`` with its default control, timed by
  ``system.time`` around the ``clmm`` call alone in an ``Rscript`` child process on the same
  CSV in the same run (skipped when ``Rscript`` with ``ordinal`` is missing).

Prints both times, the ratio (clmm / ours: above 1 means ours is faster), both
log-likelihoods and the largest difference between the two fits' SDs, correlation,
thresholds and fixed effect. Target: ratio >= 1.

Run from the repository root: ``python benchmarks/bench_ordinal_slopes.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _bench import JSON_PREFIX
from riskeval.variation import ordinal_mixed

R_SCRIPT = r"""
suppressPackageStartupMessages({library(ordinal); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); d$level <- factor(d$level, ordered = TRUE)
t <- system.time(m <- clmm(level ~ x + (1|case) + (1 + x|officer) + (1|office), data = d,
                           link = "probit", nAGQ = 1))[["elapsed"]]
vc <- VarCorr(m)
out <- list(seconds = t, loglik = as.numeric(logLik(m)),
            sd = list(case = unname(attr(vc$case, "stddev")),
                      officer = unname(attr(vc$officer, "stddev")[1]),
                      `officer:x` = unname(attr(vc$officer, "stddev")[2]),
                      office = unname(attr(vc$office, "stddev"))),
            cor = attr(vc$officer, "correlation")[2, 1],
            estimate = as.list(coef(m)), version = as.character(packageVersion("ordinal")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), args[2])
"""


def data(seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_case, n_off, n_office = 200, 50, 10
    case = np.repeat(np.arange(n_case), n_off)
    off = np.tile(np.arange(n_off), n_case)
    office = off % n_office
    x_case = rng.normal(0.0, 1.0, n_case)
    x = x_case[case] - x_case.mean()
    cov = np.array([[0.25, 0.3 * 0.5 * 0.3], [0.3 * 0.5 * 0.3, 0.09]])
    b = rng.multivariate_normal([0.0, 0.0], cov, size=n_off)
    latent = (0.4 * x + rng.normal(0, 1, n_case)[case] + b[off, 0] + b[off, 1] * x
              + rng.normal(0, 0.3, n_office)[office] + rng.normal(size=len(case)))
    level = np.digitize(latent, np.quantile(latent, [0.25, 0.5, 0.75])) + 1
    return pd.DataFrame({"case": [f"V{c:03d}" for c in case],
                         "officer": [f"O{o:02d}" for o in off],
                         "office": [f"F{f:02d}" for f in office], "x": np.round(x, 6),
                         "level": level})


def main() -> None:
    frame = data()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "ratings.csv"
        frame.to_csv(csv, index=False)
        frame = pd.read_csv(csv)          # both fit exactly the same numbers
        t0 = time.perf_counter()
        fit = ordinal_mixed(frame, rating="level", case="case", rater="officer",
                            office="office", slopes="x")
        ours = time.perf_counter() - t0
        print(f"ours: {ours:.2f} s, log-likelihood {fit.loglik:.6f}, converged "
              f"{fit.converged}")
        print(fit.summary())
        if shutil.which("Rscript") is None:
            print("Rscript not found: clmm not timed")
            return
        script, result = Path(tmp) / "fit.R", Path(tmp) / "clmm.json"
        script.write_text(R_SCRIPT)
        run = subprocess.run(["Rscript", str(script), str(csv), str(result)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            print(f"clmm failed: {run.stderr.strip()[-400:]}")
            return
        ref = json.loads(result.read_text())
    diffs = {f"sd {k}": abs(fit.sd.loc[k, "estimate"] - v) for k, v in ref["sd"].items()}
    diffs["correlation"] = abs(fit.correlations["estimate"].iloc[0] - ref["cor"])
    for k, v in ref["estimate"].items():
        table = fit.thresholds if "|" in k else fit.fixed_effects
        diffs[k] = abs(table.loc[k, "estimate"] - v)
    worst = max(diffs, key=diffs.get)
    print(f"clmm (ordinal {ref['version']}): {ref['seconds']:.2f} s, log-likelihood "
          f"{ref['loglik']:.6f}")
    print(f"ratio clmm / ours: {ref['seconds'] / ours:.2f} (target >= 1)")
    print(f"log-likelihood ours - clmm: {fit.loglik - ref['loglik']:+.3g}")
    print(f"largest parameter difference: {diffs[worst]:.3g} ({worst})")
    ratio = ref["seconds"] / ours
    agree = bool(fit.loglik >= ref["loglik"] - 1e-6 * abs(ref["loglik"]) and diffs[worst] < 1e-2)
    print(JSON_PREFIX + json.dumps({
        "name": "ordinal_slopes", "agree": agree, "ours_s": ours, "peer_s": ref["seconds"],
        "targets": [{"what": "vs clmm (time in R)", "value": ratio, "target": ">= 1x",
                     "met": ratio >= 1}]}))


if __name__ == "__main__":
    main()
