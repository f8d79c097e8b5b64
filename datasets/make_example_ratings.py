"""Generate the small bundled example: 24 vignettes rated by 12 officers in 3 offices.

The file is synthetic (made here, no third-party data) and exists so that ``make demo`` and the
quick-start notebook run without any external data. Run from the repository root:

    python datasets/make_example_ratings.py

Every number below is a named ASSUMPTION chosen to give a plausible-looking table; none is an
empirical estimate (the six-office study the library models is qualitative, see CONTEXT).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261123
N_CASES = 24
OFFICES = {"North": 4, "Central": 4, "Coast": 4}  # officers per office (assumption)
LEVELS = ("low", "medium", "high", "very high")
CUTS = np.array([-1.0, 0.6, 1.8])  # latent thresholds between levels (assumption)
CASE_SD = 1.0  # spread of the vignettes' true severity (assumption)
OFFICE_SHIFT = {"North": 0.0, "Central": 0.35, "Coast": -0.2}  # local severity (assumption)
OFFICER_SD = 0.3  # personal severity between officers (assumption)
NOISE_SD = 0.45  # within-officer noise (assumption)
MISSING = 0.03  # share of vignettes an officer did not rate (assumption)


def make(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    severity = rng.normal(0.4, CASE_SD, N_CASES)
    rows = []
    for office, n in OFFICES.items():
        for k in range(n):
            officer = f"{office[:2].upper()}{k + 1:02d}"
            own = OFFICE_SHIFT[office] + rng.normal(0, OFFICER_SD)
            latent = severity + own + rng.normal(0, NOISE_SD, N_CASES)
            level = np.searchsorted(CUTS, latent)
            rated = rng.random(N_CASES) >= MISSING
            for i in np.flatnonzero(rated):
                rows.append({"vignette": f"V{i + 1:02d}", "officer": officer,
                             "office": office, "rosh": LEVELS[level[i]]})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "src" / "riskeval" / "_data"
    frame = make()
    frame.to_csv(out / "example_ratings.csv", index=False)
    print(f"wrote {len(frame)} ratings to {out / 'example_ratings.csv'}")
