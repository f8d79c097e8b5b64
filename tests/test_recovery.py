"""Parameter recovery, small version (the full study: papers/parameter_recovery.py)."""

from __future__ import annotations

import pandas as pd

from riskeval.multilevel._recovery import Scenario, replicate, summarise


def test_variance_components_and_experience_are_recovered():
    sc = Scenario("small", n_offices=12, officers_per_office=5, n_cases=16)
    rows = [row for rep in range(20) for row in replicate(sc, rep)]
    table = summarise(pd.DataFrame(rows)).set_index("estimand")
    assert list(table.index) == ["office variance", "officer variance", "experience per year"]
    for name, row in table.iterrows():
        assert abs(row["bias"]) < 3 * row["bias MC SE"], name
        assert row["coverage"] >= 0.8, name
    # precision is real: the officer variance (60 officers) is estimated tightly
    assert table.loc["officer variance", "rmse"] < 0.5 * table.loc["officer variance", "truth"]
