"""Parameter recovery of the officer threshold spread in ``ordinal_mixed(spread=True)``.

Data are simulated from the model itself,

    P(Y_ij <= k) = Phi(c + exp(s_j) (tau_k - c) - b_case[i] - b_officer[j]),
    c = mean(tau), b_case ~ N(0, sigma_case^2), b_officer ~ N(0, sigma_officer^2),
    s_j ~ N(0, sigma_spread^2),

every officer rating every case once, and fitted with
``ordinal_mixed(..., link="probit", spread=True)``. For each parameter (thresholds,
sigma_case, sigma_officer, sigma_spread) the script reports the mean estimate, the bias, the
Monte Carlo SE of the bias, whether |bias| <= 2 MC SE, the empirical coverage of the nominal
95% interval (the result's ``ci_low``/``ci_high``: Wald for thresholds, Wald on the log scale
for SDs) and its MC SE. The acceptance criterion (for sigma_spread): |bias| <= 2 MC SE and
coverage in [93%, 97%].

Run (about 45 minutes on 2 cores for all five designs; each block of the .md gives its
time):

    .venv/bin/python papers/ordinal_spread_recovery.py

It rewrites each design's block of ``papers/ordinal_spread_recovery.md`` (between its
``results:<design>`` markers, inside the ``results`` markers). ``--designs main,small`` runs
some designs; ``--reps N`` fewer replications (for a check: the .md is then not written
unless ``--write`` is given).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

# one BLAS thread per worker: the fits are small and the two workers use the two cores
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

MD = Path(__file__).with_suffix(".md")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


@dataclass(frozen=True)
class Design:
    """One simulation design; every default is a named assumption (see the .md)."""

    name: str
    n_cases: int
    n_officers: int
    #: Thresholds of the average officer (5 levels). Not symmetric about 0, so the centre
    #: c = 0.1 is not a special value; spaced so that every level is used (about 10-30% of
    #: the ratings each at the latent SD of about 1.5).
    tau: tuple[float, ...] = (-1.2, -0.4, 0.5, 1.5)
    #: Case SD 1: cases (vignettes) differ as much as the residual (ICC of cases ~ 0.44).
    sigma_case: float = 1.0
    #: Officer location SD 0.5: officers' severity differs by half a residual SD.
    sigma_officer: float = 0.5
    #: Spread SD 0.35: a typical officer's thresholds are exp(0.35) = 1.42 times wider or
    #: 0.70 times narrower than the average officer's -- a marked but not extreme central
    #: tendency, the size the rater-effects literature reports as visible in rating data.
    sigma_spread: float = 0.35
    seed: int = 20261127
    #: Replications. 1000 rather than the minimum 200: the MC SE of a 95% coverage is then
    #: 0.7 points, so the 93-97% window tests the intervals rather than the simulation noise
    #: (at 200 it is 1.5 points, and a correct interval falls outside the window about one
    #: time in six).
    reps: int = 1000
    #: Fit the spread model (False: the intercepts model, validated against R's clmm).
    spread_fit: bool = True


DESIGNS = {
    "main": Design("main", n_cases=60, n_officers=30),
    "small": Design("small", n_cases=40, n_officers=20),
    # controls, added after the main design's result (see the .md): the intercepts model on
    # spread-free data of the main layout (the maximum-likelihood bias of an SD from 30
    # officers, with an estimator that matches clmm); the main model with four times the
    # officers (that bias is O(1 / officers); a Laplace error, which depends on the ratings
    # per officer, would not shrink with it); and with twice the ratings per officer (a
    # Laplace error would shrink, that bias would not)
    "control": Design("control", n_cases=60, n_officers=30, sigma_spread=0.0,
                      spread_fit=False),
    "wide": Design("wide", n_cases=60, n_officers=120, reps=300),
    "deep": Design("deep", n_cases=120, n_officers=30, reps=500),
}


def simulate(design: Design, rep: int) -> tuple[pd.DataFrame, np.ndarray]:
    """One data set (fully crossed) and the officers' true spreads ``s_j``."""
    rng = np.random.default_rng([design.seed, design.n_cases, design.n_officers, rep])
    nc, no = design.n_cases, design.n_officers
    case, officer = np.divmod(np.arange(nc * no), no)
    b_case = rng.normal(0.0, design.sigma_case, nc)
    b_officer = rng.normal(0.0, design.sigma_officer, no)
    s = rng.normal(0.0, design.sigma_spread, no)
    tau = np.asarray(design.tau)
    centre = tau.mean()
    latent = b_case[case] + b_officer[officer] + rng.normal(size=nc * no)
    cuts = centre + np.exp(s[officer])[:, None] * (tau - centre)[None, :]
    level = (latent[:, None] > cuts).sum(axis=1)
    return pd.DataFrame({"case": case, "officer": officer, "level": level}), s


def one(design: Design, rep: int) -> dict:
    """Fit one replication; the estimates, intervals and diagnostics as a flat record."""
    from riskeval.variation import ordinal_mixed

    table, s = simulate(design, rep)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = ordinal_mixed(table, rating="level", case="case", rater="officer",
                            link="probit", spread=design.spread_fit)
    seconds = time.perf_counter() - start
    out = {"rep": rep, "seconds": seconds, "converged": fit.converged,
           "warnings": len(caught), "n_levels": len(fit.thresholds) + 1}
    truth = truths(design)
    rows = pd.concat([fit.thresholds[["estimate", "se", "ci_low", "ci_high"]],
                      fit.sd[["estimate", "se", "ci_low", "ci_high"]]])
    if len(fit.thresholds) != len(design.tau):   # a level never used: thresholds undefined
        rows = rows.drop(index=fit.thresholds.index)
    for name in truth:
        key = _row_name(name)
        for col in ("estimate", "se", "ci_low", "ci_high"):
            out[f"{name}:{col}"] = float(rows.loc[key, col]) if key in rows.index else np.nan
    out["r_spread_modes"] = np.nan
    if design.spread_fit:
        modes = fit.random_effects["officer:spread"].to_numpy()
        if np.std(modes) > 0 and np.std(s) > 0:
            out["r_spread_modes"] = float(np.corrcoef(modes, s)[0, 1])
    return out


def truths(design: Design) -> dict[str, float]:
    out = {f"tau{k + 1}": t for k, t in enumerate(design.tau)}
    out.update({"sigma_case": design.sigma_case, "sigma_officer": design.sigma_officer})
    if design.spread_fit:
        out["sigma_spread"] = design.sigma_spread
    return out


def _row_name(name: str) -> str:
    if name.startswith("tau"):
        k = int(name[3:])
        return f"{k - 1}|{k}"
    return {"sigma_case": "case", "sigma_officer": "officer",
            "sigma_spread": "officer:spread"}[name]


def ml_reference(true: float, q: int) -> float:
    """Bias of the maximum-likelihood SD of ``q`` *observed* normal effects with their mean
    estimated: ``q s^2 / sigma^2 ~ chi^2_{q-1}``, so ``E s = sigma sqrt(2/q)
    Gamma(q/2) / Gamma((q-1)/2)``. An SD estimated from ``q`` levels by ML is biased low by
    about this much even with no approximation error; the levels of a factor are not
    observed in the model, so its bias is at least of this order."""
    from scipy.special import gammaln

    return true * (np.sqrt(2.0 / q) * np.exp(gammaln(q / 2) - gammaln((q - 1) / 2)) - 1.0)


def summarise(design: Design, reps: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: mean estimate, bias, MC SE, |bias| <= 2 MC SE, coverage and its MC SE,
    mean SE against the empirical SD of the estimates, and for SDs the ML reference bias."""
    levels = {"sigma_case": design.n_cases, "sigma_officer": design.n_officers,
              "sigma_spread": design.n_officers}
    rows = []
    for name, true in truths(design).items():
        est = reps[f"{name}:estimate"].to_numpy(float)
        ok = np.isfinite(est)
        est = est[ok]
        r = len(est)
        bias = est.mean() - true
        mcse = est.std(ddof=1) / np.sqrt(r)
        low = reps.loc[ok, f"{name}:ci_low"].to_numpy(float)
        high = reps.loc[ok, f"{name}:ci_high"].to_numpy(float)
        covered = (low <= true) & (true <= high)     # NaN bounds (boundary) count as misses
        cover = covered.mean()
        rows.append({"parameter": name, "true": true, "n": r, "mean": est.mean(), "bias": bias,
                     "mc_se": mcse, "bias_ok": abs(bias) <= 2 * mcse,
                     "coverage": cover, "cover_mc_se": np.sqrt(cover * (1 - cover) / r),
                     "emp_sd": est.std(ddof=1),
                     "ml_ref": ml_reference(true, levels[name]) if name in levels else np.nan,
                     "mean_se": np.nanmean(reps.loc[ok, f"{name}:se"].to_numpy(float))})
    return pd.DataFrame(rows)


def markdown(design: Design, table: pd.DataFrame, reps: pd.DataFrame, wall: float,
             command: str) -> str:
    model = "spread model" if design.spread_fit else "intercepts model (no spread fitted)"
    lines = [
        f"### Design `{design.name}`: {design.n_cases} cases x {design.n_officers} officers, "
        f"fully crossed ({design.n_cases * design.n_officers} ratings), "
        f"{len(design.tau) + 1} levels, probit; {model}",
        "",
        f"Produced by {command} in {wall / 60:.1f} min (2 workers) on "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}. True values: thresholds "
        f"{list(design.tau)}, sigma_case {design.sigma_case}, sigma_officer "
        f"{design.sigma_officer}, sigma_spread {design.sigma_spread}; {len(reps)} "
        f"replications, seeds `[{design.seed}, {design.n_cases}, {design.n_officers}, rep]` "
        f"for rep = 0 .. {len(reps) - 1}.",
        "",
        "| parameter | true | mean estimate | bias | MC SE | abs(bias) <= 2 MC SE | "
        "coverage 95% | MC SE | empirical SD | mean SE | ML reference bias | "
        "abs(bias - reference) <= 2 MC SE |",
        "|---|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for _, row in table.iterrows():
        lines.append(
            f"| {row['parameter']} | {row['true']:g} | {row['mean']:.4f} | "
            f"{row['bias']:+.4f} | {row['mc_se']:.4f} | {'yes' if row['bias_ok'] else 'no'} | "
            f"{100 * row['coverage']:.1f}% | {100 * row['cover_mc_se']:.1f} | "
            f"{row['emp_sd']:.4f} | {row['mean_se']:.4f} | "
            + ("-- | -- |" if not np.isfinite(row["ml_ref"]) else
               f"{row['ml_ref']:+.4f} | "
               f"{'yes' if abs(row['bias'] - row['ml_ref']) <= 2 * row['mc_se'] else 'no'} |"))
    secs = reps["seconds"].to_numpy()
    lines.append("")
    if design.spread_fit:
        spread = table.set_index("parameter").loc["sigma_spread"]
        passed = bool(spread["bias_ok"]) and 0.93 <= spread["coverage"] <= 0.97
        at_zero = int((reps["sigma_spread:estimate"] <= 1e-4).sum())
        r = reps["r_spread_modes"].to_numpy(float)
        lines += [
            f"- Criterion for sigma_spread (|bias| <= 2 MC SE and coverage in 93-97%): "
            f"**{'met' if passed else 'not met'}** (bias "
            f"{'within' if spread['bias_ok'] else 'outside'} 2 MC SE, coverage "
            f"{'inside' if 0.93 <= spread['coverage'] <= 0.97 else 'outside'} 93-97%).",
            f"- sigma_spread estimated at 0: {at_zero}. Correlation of the officers' "
            f"conditional modes of s_j with the true s_j: median {np.nanmedian(r):.3f} "
            f"(5th-95th percentile {np.nanpercentile(r, 5):.3f}-"
            f"{np.nanpercentile(r, 95):.3f}).",
        ]
    lines += [
        f"- Fits not reporting convergence: {int((~reps['converged']).sum())}; fits with a "
        f"warning: {int((reps['warnings'] > 0).sum())}; replications with a level never "
        f"used: {int((reps['n_levels'] < len(design.tau) + 1).sum())}.",
        f"- Time per fit (one core; other jobs shared the 2 cores): median "
        f"{np.median(secs):.2f} s, 95th percentile {np.percentile(secs, 95):.2f} s, max "
        f"{secs.max():.2f} s.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=None,
                        help="replications per design (default: each design's own; the "
                             ".md is then not written unless --write is given)")
    parser.add_argument("--designs", default=",".join(DESIGNS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    import riskeval

    shown = " ".join(sys.argv[1:] if argv is None else argv)
    command = (f"`.venv/bin/python papers/ordinal_spread_recovery.py"
               f"{' ' + shown if shown else ''}` (riskeval {riskeval.__version__}, Python "
               f"{platform.python_version()}, numpy {np.__version__})")
    for name in args.designs.split(","):
        design = DESIGNS[name]
        n = design.reps if args.reps is None else args.reps
        t0 = time.time()
        records = Parallel(n_jobs=args.jobs)(delayed(one)(design, rep) for rep in range(n))
        wall = time.time() - t0
        reps = pd.DataFrame(records)
        block = markdown(design, summarise(design, reps), reps, wall, command)
        print(block, flush=True)
        if args.reps is None or args.write:
            write_block(name, block)


def write_block(name: str, block: str) -> None:
    """Replace the design's block in the .md (between its markers), or add it at the end of
    the results."""
    begin, end = f"<!-- results:{name}:begin -->", f"<!-- results:{name}:end -->"
    text = MD.read_text()
    if begin in text:
        head, rest = text.split(begin, 1)
        text = f"{head}{begin}\n{block}{end}{rest.split(end, 1)[1]}"
    else:
        head, tail = text.split(END, 1)
        text = f"{head}{begin}\n{block}{end}\n{END}{tail}"
    MD.write_text(text)


if __name__ == "__main__":
    main()
