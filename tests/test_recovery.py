"""Parameter recovery, small version (the full study: papers/parameter_recovery.py)."""

from __future__ import annotations

import pandas as pd

from riskeval.studies._recovery import Scenario, replicate, replicate_ordinal, summarise


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


def test_inflation_slope_is_recovered_on_latent_and_probit_scales():
    """Inflation as a latent shift growing with scrutiny: the year coefficient of the LMM and
    ``bias.inflation_trend`` on the recorded levels recover the worlds' own mean slope."""
    sc = Scenario("small inflation", n_offices=6, officers_per_office=4, n_cases=10,
                  inflation_shift=1.5, occasions=3)
    latent = summarise(pd.DataFrame(
        [row for rep in range(30) for row in replicate(sc, rep)])).set_index("estimand")
    probit = summarise(pd.DataFrame(
        [row for rep in range(6) for row in replicate_ordinal(sc, rep)])).set_index("estimand")
    assert list(latent.index) == ["experience per year", "inflation per year"]
    assert list(probit.index) == ["inflation per year (probit)"]
    for row in (latent.loc["inflation per year"], probit.loc["inflation per year (probit)"]):
        assert row["truth"] > 0.04, row.name
        assert abs(row["bias"]) < 3 * row["bias MC SE"], (row.name, row["bias"])
        assert abs(row["bias"]) < 0.2 * row["truth"], row.name
        assert row["coverage"] >= 0.8, row.name
