"""Regenerate the canonical synthetic vignette set and the six-office demo ratings.

Writes, under ``DIR`` (default: this ``datasets/`` folder):

* ``vignettes/canonical_vignettes.csv`` -- ``riskeval.world.vignettes.population(24, seed=2020)``,
  every column including the ground truth;
* ``vignettes/canonical_vignettes.md`` and ``.html`` -- the same cases as plain-English
  narratives (``riskeval.world.narratives``, phrasing seed 2020);
* ``vignettes/DATASHEET.md`` -- how the files were made and what every column means;
* ``six_office_demo_ratings.csv`` -- ``riskeval.simulate(six_office_study(), seed=2020)``
  (its vignettes are the canonical ones), without the ``latent`` column.

Run from the repository root::

    python datasets/make_vignette_set.py [--out DIR]

Everything is synthetic: no person, officer or office is real, and every number behind the
files is a named assumption of riskeval (see ``riskeval.world.vignettes.parameters()``). The output
is bit-identical on every run (no dates, fixed float format, ``\\n`` line endings) for a given
riskeval version, so ``tests/test_datasets.py`` can compare it with the committed files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
try:
    import riskeval as rv
    from riskeval.world import narratives
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(HERE.parent / "src"))
    import riskeval as rv
    from riskeval.world import narratives

VIGNETTE_SEED = 2020  # seed of the cases (the six-office preset's own) and of the phrasing
N_VIGNETTES = 24
RATINGS_SEED = 2020  # seed of rv.simulate for the demo ratings
FLOAT_FORMAT = "%.10g"

#: What each column of the canonical vignette table means (from riskeval.world.vignettes).
VIGNETTE_COLUMNS: dict[str, str] = {
    "case": "case identifier, V0001 to V0024",
    "age": "age in whole years (18 plus a gamma-distributed variable, at most 80)",
    "sex": "male or female",
    "previous_sanctions": "number of previous sanctions (negative binomial over the criminal "
                          "career)",
    "age_first_sanction": "age at the first sanction (12 plus a gamma-distributed variable, never "
                          "after the current age); equal to the current age when there are no "
                          "previous sanctions",
    "years_since_last_sanction": "years since the most recent previous sanction, one decimal; "
                                 "empty when there are no previous sanctions",
    "offence": "index offence type: " + ", ".join(rv.world.vignettes.OFFENCE_TYPES),
    "seriousness": "seriousness of the index offence: 1 minor, 2 moderate, 3 serious",
    "need_<area>": "OASys-style need area score, 0 no problem, 1 some problem, 2 significant "
                   "problem; the eleven areas are " + ", ".join(rv.world.vignettes.NEED_AREAS)
                   + " (all load on one latent need factor, so needs co-occur)",
    "protective_factors": "number of protective factors (strengths), 0 to 3; fewer with more "
                          "need",
    "psychological_risk": "supported psychological risk factors: 0 none, 1 some, 2 significant; "
                          "rises with need",
    "openness": "openness with the officer: 0 closed or silent, 1 guarded, 2 open; independent "
                "of true risk, so any weight an officer puts on it is bias",
    "accommodation": "settled, unsettled or no fixed abode (follows need_accommodation)",
    "recall": "whether the case is a recall to custody",
    "months_known": "months the person has already been supervised by the service (0 = new)",
    "copas_rate": "Copas rate, ln((previous_sanctions + 1) / (10 + years since the first "
                  "sanction))",
    "actuarial_p": "static two-year reconviction probability an actuarial (OGRS-style) tool "
                   "would show: age, sex, Copas rate and offence type; the narratives show it as "
                   "a percentage, and it is the only column from here down that officers see",
    "p_reconviction": "TRUTH: true two-year reconviction probability (the static score plus "
                      "dynamic needs)",
    "harm_offence": "TRUTH: serious-harm weight of the offence type plus seriousness",
    "harm_offender": "TRUTH: a weight times the true reconviction logit",
    "harm_psychological": "TRUTH: a weight times the psychological risk score",
    "harm_latent": "TRUTH: harm_offence + harm_offender + harm_psychological",
    "reference": "TRUTH: harm_latent cut at three thresholds into low < medium < high < very "
                 "high, the level an evidence-based assessment would give",
}

#: What each column of the demo ratings means (from riskeval.simulate).
RATING_COLUMNS: dict[str, str] = {
    "case": "case identifier (the six-office world's own 24 vignettes)",
    "officer": "officer identifier, 'Office k/nn'",
    "office": "the officer's office",
    "occasion": "assessment occasion, 0 (the study has one occasion)",
    "rating": "the recorded risk-of-serious-harm level: low, medium, high or very high",
    "officer_rating": "the officer's own level, before any manager override",
    "reference": "the evidence-based level of the case on that occasion",
    "year": "calendar year of the assessment",
    "true_latent": "the case's true harm score on that occasion",
    "changed_by_<mechanism>": "True when removing that mechanism alone (every random draw "
                              "equal) would have given a different level at its step",
}


def canonical_vignettes() -> pd.DataFrame:
    """The canonical 24 synthetic vignettes with their ground truth."""
    return rv.world.vignettes.population(N_VIGNETTES, seed=VIGNETTE_SEED)


def demo_ratings() -> pd.DataFrame:
    """Every rating of the six-office study world, simulated with seed 2020."""
    world = rv.world.scenarios.six_office_study().with_vignettes(canonical_vignettes())
    # the latent judgement involves single-precision transcendental functions whose last bits
    # can differ between CPU families, so it is left out to keep the file bit-reproducible
    return rv.simulate(world, seed=RATINGS_SEED).drop(columns=["latent"])


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n", float_format=FLOAT_FORMAT)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(value: object) -> str:
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def datasheet(ratings: pd.DataFrame) -> str:
    """The datasheet (Markdown) of the canonical vignettes and the demo ratings."""
    params = rv.world.vignettes.parameters()
    n_assumed = int(params["is_assumption"].sum())
    if n_assumed == len(params):
        share = f"all {len(params)} population and truth parameters below are labelled assumptions"
    else:
        share = (f"{n_assumed} of the {len(params)} population and truth parameters below are "
                 "labelled assumptions; the others are listed with their source")
    world = rv.world.scenarios.six_office_study()
    mechanisms = [c.removeprefix("changed_by_") for c in ratings.columns
                  if c.startswith("changed_by_")]
    lines = [
        "# Datasheet: canonical synthetic vignettes",
        "",
        "**Synthetic data.** No row describes a real person, officer or office. Every number "
        "that shaped these files is a named modelling assumption of riskeval, not an empirical "
        f"estimate ({share}).",
        "",
        "## How the files were made",
        "",
        f"Made by `datasets/make_vignette_set.py` with riskeval {rv.__version__}; running it "
        "again gives the same bytes (the files carry no dates).",
        "",
        "| file | what |",
        "|---|---|",
        f"| `canonical_vignettes.csv` | `riskeval.world.vignettes.population({N_VIGNETTES}, "
        f"seed={VIGNETTE_SEED})`: one row per case, all columns including the ground truth; "
        f"floats written with `{FLOAT_FORMAT}` |",
        f"| `canonical_vignettes.md`, `canonical_vignettes.html` | the same cases as "
        f"plain-English narratives, `riskeval.world.narratives` with seed {VIGNETTE_SEED}; they show "
        "no ground truth and are what officers would be given |",
        f"| `../six_office_demo_ratings.csv` | `riskeval.simulate(riskeval.world.scenarios."
        f"six_office_study(), seed={RATINGS_SEED})`: {len(ratings)} ratings, every officer of "
        f"the world rating every case once; floats written with `{FLOAT_FORMAT}` |",
        "",
        "The demo ratings are ratings of the canonical vignettes above, which are also the "
        f"six-office world's own ({len(world.vignettes)} cases, `population(24, seed=2020)`). "
        "The officers' latent judgement (`latent`) is left out of the file: it is computed "
        "with single-precision functions whose last digits can differ between CPU families. "
        "The offices, officers and mechanisms are listed, with every parameter and its "
        "provenance, by `riskeval.world.scenarios.six_office_study().parameters()`.",
        "",
        "The ground truth (`p_reconviction`, the `harm_*` columns and `reference`) is for the "
        "organiser of a study and for checking methods; never show it to the people who rate "
        "the cases.",
        "",
        "## Columns of canonical_vignettes.csv",
        "",
        "| column | meaning |",
        "|---|---|",
        *(f"| `{name}` | {_cell(meaning)} |" for name, meaning in VIGNETTE_COLUMNS.items()),
        "",
        "## Columns of six_office_demo_ratings.csv",
        "",
        "| column | meaning |",
        "|---|---|",
        *(f"| `{name}` | {_cell(meaning)} |" for name, meaning in RATING_COLUMNS.items()),
        "",
        "Mechanisms with a `changed_by_` column: " + ", ".join(f"`{m}`" for m in mechanisms)
        + " (see `riskeval.simulate`).",
        "",
        "## Parameters of the vignette population and ground truth",
        "",
        "From `riskeval.world.vignettes.parameters()`.",
        "",
        "| component | parameter | value | meaning | provenance |",
        "|---|---|---|---|---|",
        *(f"| {_cell(r.component)} | `{r.parameter}` | {_value(r.value)} | {_cell(r.meaning)} | "
          f"{_cell(r.provenance)} |" for r in params.itertuples(index=False)),
        "",
    ]
    return "\n".join(lines)


def render() -> dict[str, str]:
    """The text of every file, keyed by its path relative to the output folder."""
    cases = canonical_vignettes()
    ratings = demo_ratings()
    md = ("# Canonical vignettes (synthetic)\n\n"
          f"Generated by `datasets/make_vignette_set.py` (riskeval, seed {VIGNETTE_SEED}); "
          "see `DATASHEET.md`.\n\n" + narratives.to_markdown(cases, seed=VIGNETTE_SEED))
    page = narratives.to_html(cases, seed=VIGNETTE_SEED,
                              title="Canonical vignettes (synthetic, riskeval)")
    return {
        "vignettes/canonical_vignettes.csv": _csv(cases),
        "vignettes/canonical_vignettes.md": md,
        "vignettes/canonical_vignettes.html": page,
        "vignettes/DATASHEET.md": datasheet(ratings),
        "six_office_demo_ratings.csv": _csv(ratings),
    }


def write_all(out: str | Path = HERE) -> dict[str, Path]:
    """Write every file under ``out``; return the paths keyed by relative path."""
    out = Path(out)
    written = {}
    for rel, text in render().items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written[rel] = path
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python datasets/make_vignette_set.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE,
                        help="folder to write into (default: the datasets/ folder)")
    args = parser.parse_args(argv)
    for rel, path in write_all(args.out).items():
        print(f"wrote {rel} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
