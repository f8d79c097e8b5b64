"""Benchmark: crossed random-intercepts LMM, riskeval against statsmodels MixedLM (and lme4).

Data: 10,000 ratings -- 200 cases x 100 officers in 10 offices, half of the 20,000 pairs
missing at random -- simulated once with ``riskeval.simulate`` (national-style world, every
mechanism on), with the officer's experience as a fixed effect. The latent judgement is the
response.

- ours: ``riskeval.variation.crossed_lmm(df, rating="y", case="case", rater="officer",
  office="office", fixed="experience", reml=True, ci=None)``, median of several runs: the
  point estimates, as statsmodels gives (its fit has no intervals for variance components).
  The time with the default profile-likelihood intervals is printed too.
- peer: ``statsmodels`` ``MixedLM`` with the three crossed factors as variance components of a
  single group (``vc_formula``), REML, the usual way to fit crossed effects there. Run once.
  Target: ours >= 30x faster, same estimates (variance components and fixed effects to 1e-3
  relative, log-likelihood at least as high).
- lme4: if ``Rscript`` with lme4 is on the machine, ``lmer(y ~ experience + (1|case) +
  (1|office) + (1|officer))`` is timed inside R (``system.time``, excluding R's start-up) on
  the same data, for the record. Goal: no slower than lme4.

A second case times the national audit: 100 offices x 30 officers (3,000) x 500 cases, every
officer rating every case (1.5M ratings, ``rv.world.scenarios.national()``, seed 2021, the
ordered rating scored 1..4), ``crossed_lmm`` with its defaults (Wald intervals at this size),
once with the kernel's grouped path (the officers grouped by their number of ratings, and the
officers of an office with one row of counts merged) and once with the direct q_r x q_b
product per evaluation, printing both times, their ratio and the largest relative difference
between the two fits. Target: the grouped fit in 1.5 s or less.

Run: ``.venv-bench/bin/python benchmarks/bench_lmm.py`` (statsmodels is a runtime dependency,
so ``.venv/bin/python`` works too).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import riskeval as rv
from _bench import emit, header, time_calls

TARGET = 30.0
NATIONAL_TARGET = 1.5   # seconds for crossed_lmm on the national audit


def data() -> pd.DataFrame:
    world = rv.world.scenarios.national(n_offices=10, officers_per_office=10, n_cases=200, seed=11)
    r = rv.simulate(world, seed=1)
    keep = np.random.default_rng(2).permutation(len(r))[: len(r) // 2]
    r = r.iloc[np.sort(keep)]
    exp_ = world.officers.set_index("officer")["experience_years"]
    out = r[["case", "officer", "office"]].astype(str).reset_index(drop=True)
    out["y"] = r["latent"].to_numpy()
    out["experience"] = exp_.loc[out["officer"]].to_numpy()
    return out


def ours(df: pd.DataFrame, ci: str | None = None) -> rv.variation.LMMResult:
    return rv.variation.crossed_lmm(df, rating="y", case="case", rater="officer",
                                     office="office", fixed="experience", reml=True, ci=ci)


def statsmodels_fit(df: pd.DataFrame):
    import statsmodels.formula.api as smf

    vc = {"case": "0 + C(case)", "officer": "0 + C(officer)", "office": "0 + C(office)"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.mixedlm("y ~ experience", df.assign(g=1), groups="g", re_formula="0",
                            vc_formula=vc)
        return model.fit(reml=True, method="lbfgs")


R_SCRIPT = """
suppressPackageStartupMessages(library(lme4))
d <- read.csv("{path}")
t <- system.time(m <- lmer(y ~ experience + (1|case) + (1|office) + (1|officer), data = d,
                           REML = TRUE))[["elapsed"]]
v <- as.data.frame(VarCorr(m))
cat(sprintf('{{"seconds": %.6f, "loglik": %.10f, "officer": %.10g, "case": %.10g}}\\n', t,
            as.numeric(logLik(m)), v$vcov[v$grp == "officer"], v$vcov[v$grp == "case"]))
"""


def lme4_time(df: pd.DataFrame) -> dict | None:
    if shutil.which("Rscript") is None:
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


def national() -> pd.DataFrame:
    r = rv.simulate(rv.world.scenarios.national(), seed=2021)
    return r.assign(score=r["rating"].cat.codes.to_numpy() + 1.0)


def national_fit(df: pd.DataFrame, grouped: bool) -> rv.variation.LMMResult:
    from riskeval.variation import _lmm

    saved = _lmm._GROUPED, _lmm._DISTINCT_ROWS
    _lmm._GROUPED, _lmm._DISTINCT_ROWS = (None, None) if grouped else (False, False)
    try:
        return rv.variation.crossed_lmm(df, rating="score", case="case", rater="officer",
                                         office="office")
    finally:
        _lmm._GROUPED, _lmm._DISTINCT_ROWS = saved


def largest_difference(a: rv.variation.LMMResult, b: rv.variation.LMMResult) -> dict:
    def rel(x: pd.DataFrame, y: pd.DataFrame) -> float:
        x, y = x.to_numpy(float), y.to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(y)
        return float(np.max(np.abs(x[ok] - y[ok]) / np.maximum(np.abs(x[ok]), 1e-300)))

    cols = ["estimate", "se"]
    return {"variance table": rel(a.to_frame(), b.to_frame()),
            "log-likelihood": abs(a.loglik / b.loglik - 1),
            "fixed effects": rel(a.fixed_effects[cols], b.fixed_effects[cols]),
            "random effects": max(rel(a.random_effects[k], b.random_effects[k])
                                  for k in a.random_effects)}


def national_case() -> dict:
    header("crossed LMM: national audit, 1.5M ratings, 500 cases x 3,000 officers in 100 "
           "offices")
    df = national()
    grouped = time_calls(lambda: national_fit(df, True), repeat=3, warmup=1)
    direct = time_calls(lambda: national_fit(df, False), repeat=1)
    ratio = direct.median / grouped.median
    print(f"   grouped path: {grouped.describe()}")
    print(f"   direct path:  {direct.describe()}")
    diff = largest_difference(grouped.result, direct.result)
    print("   largest relative differences, grouped vs direct: "
          + ", ".join(f"{k} {v:.1e}" for k, v in diff.items()))
    print(f"RESULT national grouped={grouped.median:.3f}s direct={direct.median:.3f}s "
          f"ratio={ratio:.1f}x")
    return {"what": "national audit crossed_lmm (s)", "value": grouped.median,
            "target": f"<= {NATIONAL_TARGET:g} s", "met": grouped.median <= NATIONAL_TARGET,
            "ratio_direct": ratio}


def main() -> int:
    header("crossed LMM: 10,000 ratings, 200 cases x 100 officers in 10 offices")
    df = data()
    print(f"   {len(df):,} ratings, {df['case'].nunique()} cases, {df['officer'].nunique()} "
          f"officers, {df['office'].nunique()} offices")
    timing = time_calls(lambda: ours(df), repeat=5, warmup=1)
    fit = timing.result
    print(f"   riskeval.crossed_lmm (ci=None): {timing.describe()}")
    with_ci = time_calls(lambda: ours(df, "profile"), repeat=1)
    print(f"   riskeval.crossed_lmm with profile intervals for all 4 SDs and 4 shares: "
          f"{with_ci.describe()}")
    start = time.perf_counter()
    sm = statsmodels_fit(df)
    t_sm = time.perf_counter() - start
    print(f"   statsmodels MixedLM (variance components): {t_sm:.2f} s (1 run)")

    names = list(sm.model.exog_vc.names)
    rel = {n: abs(fit.variance_components[n] / v - 1) for n, v in zip(names, sm.vcomp,
                                                                      strict=True)}
    rel["residual"] = abs(fit.variance_components["residual"] / sm.scale - 1)
    rel["experience"] = abs(fit.fixed_effects.loc["experience", "estimate"]
                            / sm.fe_params["experience"] - 1)
    agree = max(rel.values()) < 1e-3 and fit.loglik >= sm.llf - 1e-6 * abs(sm.llf)
    print("   relative differences, ours vs statsmodels: "
          + ", ".join(f"{k} {v:.1e}" for k, v in rel.items()))
    print(f"   REML log-likelihood: ours {fit.loglik:.6f}, statsmodels {sm.llf:.6f}")
    ratio = t_sm / timing.median
    print(f"RESULT ours={timing.median:.4f}s statsmodels={t_sm:.3f}s ratio={ratio:.1f}x "
          f"agree={agree}")
    r = lme4_time(df)
    if r is not None:
        print(f"   lme4 (inside R): {r['seconds']:.3f} s, REML log-likelihood {r['loglik']:.6f}"
              f" -> lme4 time / ours = {r['seconds'] / timing.median:.1f}x")
    nat = national_case()
    emit({"name": "lmm", "agree": bool(agree), "targets": [
        {"what": "vs statsmodels MixedLM", "value": ratio, "target": f">= {TARGET:g}x",
         "met": ratio >= TARGET}]
        + ([{"what": "vs lme4 (time in R)", "value": r["seconds"] / timing.median,
             "target": ">= 1x", "met": r["seconds"] >= timing.median}] if r else [])
        + [nat]})
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
