"""Simulation-based calibration of riskeval.studies.calibrate (issue 18).

Talts et al. (2018): draw parameters from the prior, simulate a data set with each, compute
the posterior from that data set, and record the rank of the true value among posterior
draws. If the posteriors are right, every rank is equally likely, and the 50% and 90%
intervals cover the truth 50% and 90% of the time.

Designs: (A) the six-office world (24 vignettes x 48 officers in 6 offices, a reference level,
the officers' own ratings before a manager's review), five free parameters of office, officer,
noise, inflation and trust; (B) the same staff rating the same vignettes on two occasions,
five free parameters of which two act only there or only through the managers: anchoring and
the override rate. Default priors. For each design one reference table of ``--table``
(default 20,000) simulations from the prior with the default ``accept`` share, as a single
``calibrate`` call builds it, and ``--datasets`` (default 200) data sets from the prior, each
with its own seed. Ranks among L = 99 draws resampled by the posterior weights (seeded), in
10 bins; a chi-square test of uniform bins per parameter (p > 0.01 wanted); coverage of the
central 50% and 90% posterior intervals with its Monte Carlo SE.

Run from the repository root (writes ``papers/calibration.md`` and
``papers/calibration_ranks.png``): ``python papers/calibration.py [--table N] [--datasets M]``.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import riskeval as rv
from riskeval._core.parallel import map_chunks
from riskeval._core.seeds import spawn
from riskeval.studies import calibration as C

DESIGNS = {
    "A": ("six offices, one occasion",
          ("office_practice.sd", "who_assesses.sd", "noise.sd", "defensive_inflation.strength",
           "trust_honesty.start"), 1),
    "B": ("six offices, two occasions",
          ("office_practice.sd", "noise.sd", "defensive_inflation.strength",
           "anchoring.strength", "manager_override.rate_scale"), 2),
}
L = 99
BINS = 10


def arg(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def problem(free: tuple[str, ...], occasions: int) -> C._Problem:
    """The problem ``calibrate`` builds for simulated observed ratings of this design with
    ``reference="reference"`` (offices, occasions and own ratings found by their names)."""
    world = rv.world.scenarios.six_office_study().with_design(occasions=occasions)
    return C._Problem(world, free, tuple(tuple(f.split(".")) for f in free),
                      tuple(C.default_prior(world, f) for f in free),
                      {"categories": tuple(rv.RISK_LEVELS), "office": "office",
                       "reference": "reference", "occasion": "occasion",
                       "own": "officer_rating"})


def run(prob: C._Problem, n_table: int, n_data: int, accept: float) -> pd.DataFrame:
    seeds = spawn(20261127, n_table)
    parts = list(map_chunks(C._chunk, [seeds[k:k + 250] for k in range(0, n_table, 250)],
                            args=(prob,), n_jobs=2))
    theta = np.vstack([t for t, _ in parts])
    sims = np.vstack([s for _, s in parts])
    truth, data = C._chunk(prob, spawn(1127, n_data))
    index = C._summaries(rv.simulate(prob.world, seed=1), **prob.spec).index
    rows = []
    for i in range(n_data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            post = C._posterior(prob, theta, sims, pd.Series(data[i], index=index), accept,
                                None)
        tab = post.summary_table()
        w = post.draws["weight"].to_numpy(float)
        pick = np.random.default_rng([1127, i]).choice(len(w), L, p=w)
        for j, name in enumerate(prob.names):
            x = post.draws[name].to_numpy(float)[pick]
            rows.append({"dataset": i, "parameter": name, "truth": truth[i, j],
                         "rank": int(np.sum(x < truth[i, j])),
                         "in50": bool(tab.loc[name, "q25"] <= truth[i, j] <= tab.loc[name, "q75"]),
                         "in90": bool(tab.loc[name, "q05"] <= truth[i, j] <= tab.loc[name, "q95"]),
                         "contraction": tab.loc[name, "contraction"]})
    return pd.DataFrame(rows)


def table(ranks: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name, g in ranks.groupby("parameter", sort=False):
        n = len(g)
        hist = np.bincount(g["rank"] * BINS // (L + 1), minlength=BINS)
        c50, c90 = g["in50"].mean(), g["in90"].mean()
        out[name] = {"n": n, "chi2": stats.chisquare(hist).statistic,
                     "p_uniform": stats.chisquare(hist).pvalue,
                     "coverage_50": c50, "mc_se_50": np.sqrt(0.25 / n),
                     "coverage_90": c90, "mc_se_90": np.sqrt(0.09 / n),
                     "mean_contraction": g["contraction"].mean(),
                     "bins": " ".join(map(str, hist))}
    t = pd.DataFrame(out).T
    t["ranks_ok"] = t["p_uniform"].astype(float) > 0.01
    t["coverage_ok"] = ((t["coverage_50"] - 0.5).abs() <= 2 * t["mc_se_50"]) & \
        ((t["coverage_90"] - 0.9).abs() <= 2 * t["mc_se_90"])
    return t


def figure(ranks: pd.DataFrame, path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 2.6))
    axes = fig.subplots(1, ranks["parameter"].nunique())
    for ax, (name, g) in zip(axes, ranks.groupby("parameter", sort=False), strict=True):
        hist = np.bincount(g["rank"] * BINS // (L + 1), minlength=BINS)
        ax.bar(np.arange(BINS), hist, color="#7f9fbf", width=0.9)
        n = len(g)
        lo, hi = stats.binom.ppf([0.005, 0.995], n, 1 / BINS)
        ax.axhspan(lo, hi, color="grey", alpha=0.2)
        ax.axhline(n / BINS, color="grey", lw=0.8)
        ax.set_title(name, fontsize=8)
        ax.set_xticks([])
    fig.suptitle(f"{title}: rank of the true value among 99 posterior draws (10 bins; band: "
                 f"99% range under uniform ranks)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(t: pd.DataFrame) -> list[str]:
    fmt = t.copy()
    for col in ("chi2", "p_uniform", "coverage_50", "mc_se_50", "coverage_90", "mc_se_90",
                "mean_contraction"):
        fmt[col] = fmt[col].astype(float).round(3)
    head = ["parameter", *fmt.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join([str(k), *map(str, r.tolist())]) + " |"
                    for k, r in fmt.iterrows()]


def main() -> None:
    n_table, n_data = arg("--table", 20_000), arg("--datasets", 200)
    accept = 0.025
    here = Path(__file__).resolve().parent
    parts = __doc__.split("\n\n")
    text = [parts[0].replace('"""', ""), "", parts[1], "", parts[2], "", "## Results", ""]
    for key, (title, free, occasions) in DESIGNS.items():
        start = time.perf_counter()
        ranks = run(problem(free, occasions), n_table, n_data, accept)
        took = time.perf_counter() - start
        t = table(ranks)
        print(title, f"{took:.0f} s")
        print(t.to_string())
        png = "calibration_ranks.png" if key == "A" else f"calibration_ranks_{key}.png"
        figure(ranks, here / png, f"({key}) {title}")
        text += [f"### ({key}) {title}", "",
                 f"Generated by `papers/calibration.py --table {n_table} --datasets {n_data}` "
                 f"(riskeval {rv.__version__}), accept = {accept}, in {took:.0f} s on 2 "
                 f"workers.", "", *markdown(t), "", f"![rank histograms, {title}]({png})", ""]
    text += ["`bins`: counts of the ranks in ten bins (uniform: "
             f"{n_data // BINS} each). `ranks_ok`: chi-square p > 0.01. `coverage_ok`: both "
             "coverages within 2 MC SE of their nominal level.", "",
             "The small version in the tests (`tests/test_calibration.py`, 40 data sets, three "
             "parameters) checks the pooled coverage on every run.", ""]
    (here / "calibration.md").write_text("\n".join(text), encoding="utf-8")


if __name__ == "__main__":
    main()
