"""Benchmark: crossed LMM with a random officer slope, riskeval against lme4.

Data: 10,000 ratings -- 200 cases x 100 officers in 10 offices, half of the 20,000 pairs
missing at random -- simulated here with numpy (seed 7): a case attribute ``x`` (standard
normal), case intercepts (SD 0.8), office intercepts (SD 0.4), officer intercepts and slopes
on ``x`` (SDs 0.5 and 0.3, correlation 0.4), residual SD 0.7.

- ours: ``riskeval.variation.crossed_lmm(df, rating="y", case="case", rater="officer",
  office="office", slopes="x", reml=True, ci=None)``, median of several runs (the point
  estimates, as lme4's ``lmer`` gives them); the time with Wald intervals is printed too.
- lme4: ``lmer(y ~ x + (1|case) + (1 + x|officer) + (1|office), REML = TRUE)`` with its default
  settings, timed inside R (``system.time`` around ``lmer``, excluding R's start-up and
  reading the data), on the same data in the same run (an ``Rscript`` subprocess).

Prints both times, their ratio and the largest differences between the two fits (variances
and the correlation, fixed effects, log-likelihood). Target: ours no slower than lme4.

Run: ``.venv/bin/python benchmarks/bench_lmm_slopes.py``
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import riskeval as rv
from _bench import emit, header, time_calls


def data(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_cases, n_officers, n_offices = 200, 100, 10
    c, o = np.meshgrid(np.arange(n_cases), np.arange(n_officers), indexing="ij")
    keep = rng.permutation(c.size)[: c.size // 2]
    c, o = c.ravel()[np.sort(keep)], o.ravel()[np.sort(keep)]
    f = o % n_offices
    x = rng.normal(0, 1, n_cases)
    sd = np.array([0.5, 0.3])
    cov = np.array([[1.0, 0.4], [0.4, 1.0]]) * np.outer(sd, sd)
    eff = rng.multivariate_normal(np.zeros(2), cov, n_officers)
    y = (1.0 + 0.5 * x[c] + rng.normal(0, 0.8, n_cases)[c] + rng.normal(0, 0.4, n_offices)[f]
         + eff[o, 0] + eff[o, 1] * x[c] + rng.normal(0, 0.7, len(c)))
    return pd.DataFrame({"case": [f"c{i:03d}" for i in c], "officer": [f"o{i:03d}" for i in o],
                         "office": [f"f{i:02d}" for i in f], "x": x[c], "y": y})


def ours(df: pd.DataFrame, ci: str | None = None):
    return rv.variation.crossed_lmm(df, rating="y", case="case", rater="officer",
                                     office="office", slopes="x", reml=True, ci=ci)


R_SCRIPT = """
suppressPackageStartupMessages(library(lme4))
d <- read.csv("{path}")
t <- system.time(m <- lmer(y ~ x + (1|case) + (1 + x|officer) + (1|office), data = d,
                           REML = TRUE))[["elapsed"]]
v <- as.data.frame(VarCorr(m))
key <- ifelse(is.na(v$var2), paste(v$grp, v$var1), paste(v$grp, v$var1, v$var2))
out <- list(seconds = t, loglik = as.numeric(logLik(m)),
            vcov = as.list(setNames(v$vcov, key)), sdcor = as.list(setNames(v$sdcor, key)),
            fixef = as.list(fixef(m)), lme4 = as.character(packageVersion("lme4")))
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA), "\\n")
"""

#: lme4's VarCorr rows -> riskeval's variance-table rows
ROWS = {"case (Intercept)": "case", "officer (Intercept)": "officer", "officer x": "officer: x",
        "officer (Intercept) x": "officer: corr(intercept, x)", "office (Intercept)": "office",
        "Residual NA": "residual"}


def lme4_fit(df: pd.DataFrame) -> dict | None:
    if shutil.which("Rscript") is None:
        print("   lme4 not run: no Rscript")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        df.to_csv(path, index=False)
        script = Path(tmp) / "fit.R"
        script.write_text(R_SCRIPT.format(path=path))
        proc = subprocess.run(["Rscript", str(script)], capture_output=True, text=True,
                              check=False)
    if proc.returncode != 0:
        print(f"   lme4 not run: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    header("crossed LMM with a random officer slope: 10,000 ratings, 200 cases x 100 "
           "officers in 10 offices")
    df = data()
    print(f"   {len(df):,} ratings, {df['case'].nunique()} cases, {df['officer'].nunique()} "
          f"officers, {df['office'].nunique()} offices")
    timing = time_calls(lambda: ours(df), repeat=5, warmup=1)
    fit = timing.result
    print(f"   riskeval.crossed_lmm(slopes='x', ci=None): {timing.describe()}, "
          f"{fit.n_evaluations} deviance evaluations")
    with_ci = time_calls(lambda: ours(df, "wald"), repeat=3)
    print(f"   riskeval.crossed_lmm(slopes='x', ci='wald'): {with_ci.describe()}")
    r = lme4_fit(df)
    if r is None:
        emit({"name": "lmm_slopes", "agree": None, "targets": []})
        return 0
    table = fit.variance_table
    diffs = {}
    for key, row in ROWS.items():
        col = "sd" if "corr(" in row else "variance"
        ref = r["sdcor"][key] if "corr(" in row else r["vcov"][key]
        diffs[row] = abs(table.loc[row, col] - ref) / max(abs(ref), 1e-4)
    for name, ref in r["fixef"].items():
        diffs[f"fixed {name}"] = abs(fit.fixed_effects.loc[name, "estimate"] - ref) / max(
            abs(ref), 1e-4)
    worst = max(diffs, key=diffs.get)
    ratio = r["seconds"] / timing.median
    print(f"   lme4 {r['lme4']} (inside R, system.time around lmer): {r['seconds']:.3f} s")
    print("   relative differences, ours vs lme4: "
          + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    print(f"   REML log-likelihood: ours {fit.loglik:.6f}, lme4 {r['loglik']:.6f} "
          f"(ours - lme4 = {fit.loglik - r['loglik']:+.2e})")
    agree = diffs[worst] < 1e-3 and fit.loglik >= r["loglik"] - 1e-6 * abs(r["loglik"])
    print(f"RESULT ours={timing.median:.4f}s lme4={r['seconds']:.3f}s "
          f"lme4/ours={ratio:.2f}x largest difference {diffs[worst]:.1e} ({worst}) "
          f"agree={agree}")
    emit({"name": "lmm_slopes", "agree": bool(agree), "targets": [
        {"what": "vs lme4 (time in R)", "value": ratio, "target": ">= 1x",
         "met": ratio >= 1.0}]})
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
