"""Issue 14, item 7: skills and study design.

Bad supervision data name the column, row and value at fault (``skill_effect``,
``km_by_group``); the sample-size formulas and the design helpers refuse arguments outside
their range; ``bonett_n`` carries Bonett's (2002) own adjustment for two raters; the STICS and
meta-analysis presets are solved exactly from the published figures by the model's closed
form.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskeval import skills as sk
from riskeval.errors import RiskevalError, RiskevalTypeError

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def cox_data() -> pd.DataFrame:
    """600 supervisees of 30 officers (the fixture of the R cross-check in test_skills.py)."""
    return pd.read_csv(FIX / "skills_cox.csv")


# ----------------------------------------------------------------------------------------------
# skill_effect and km_by_group: bad supervision data are named
# ----------------------------------------------------------------------------------------------


def _with(data: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    out = data.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


@pytest.mark.parametrize("method", ["cox", "logistic"])
def test_a_missing_skill_score_is_named_not_turned_into_nan_coefficients(cox_data, method):
    bad = _with(cox_data, "overall", 7, np.nan)
    with pytest.raises(RiskevalError, match=r"column 'overall' row 7 is missing; expected a "
                                            r"numeric skill score"):
        sk.skill_effect(bad, method=method)


def test_text_in_the_skill_column_is_named(cox_data):
    bad = _with(cox_data, "overall", 4, "high")
    with pytest.raises(RiskevalError, match=r"column 'overall' row 4 holds 'high'; expected "
                                            r"a numeric skill score"):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match=r"column 'overall' row 4 holds 'high'"):
        sk.km_by_group(bad)


def test_an_infinite_skill_score_is_named(cox_data):
    bad = _with(cox_data, "structuring", 2, np.inf).astype({"structuring": float})
    with pytest.raises(RiskevalError, match=r"column 'structuring' row 2 holds inf"):
        sk.skill_effect(bad, skill=["relationship", "structuring"])


def test_a_missing_officer_id_is_named_not_made_its_own_cluster(cox_data):
    bad = _with(cox_data, "officer", 11, None)
    with pytest.raises(RiskevalError, match=r"column 'officer' row 11 is missing"):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match=r"column 'officer' row 11 is missing"):
        sk.km_by_group(bad)


def test_a_skill_score_that_varies_within_an_officer_is_named(cox_data):
    officer = cox_data.loc[0, "officer"]
    second = int(np.flatnonzero(cox_data["officer"] == officer)[1])
    bad = _with(cox_data, "overall", second, 3.9).astype({"overall": float})
    msg = (rf"column 'overall' varies within officer '{officer}': row 0 holds "
           rf"{float(cox_data.loc[0, 'overall'])!r} but row {second} holds 3\.9")
    with pytest.raises(RiskevalError, match=msg):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match=msg):
        sk.km_by_group(bad)
    # rounding noise in a joined score is not a varying score
    jitter = cox_data.assign(overall=cox_data["overall"] * (1 + 1e-14))
    jitter.loc[::2, "overall"] = cox_data.loc[::2, "overall"]
    np.testing.assert_allclose(sk.skill_effect(jitter)["coef"],
                               sk.skill_effect(cox_data)["coef"], rtol=1e-9)


def test_infinite_or_negative_follow_up_is_named(cox_data):
    bad = cox_data.assign(time=cox_data["time"].where(cox_data.index != 3, np.inf))
    with pytest.raises(RiskevalError, match=r"column 'time' row 3 holds inf; expected a "
                                            r"finite non-negative follow-up time"):
        sk.skill_effect(bad)
    with pytest.raises(RiskevalError, match=r"column 'time' row 3 holds inf"):
        sk.km_by_group(bad)
    neg = cox_data.assign(time=cox_data["time"].where(cox_data.index != 5, -1.0))
    with pytest.raises(RiskevalError, match=r"column 'time' row 5 holds -1\.0"):
        sk.km_by_group(neg)


def test_km_by_group_refuses_an_outcome_that_is_not_0_or_1(cox_data):
    bad = cox_data.assign(event=cox_data["event"].astype(float))
    bad.loc[6, "event"] = 0.5
    with pytest.raises(RiskevalError, match=r"column 'event' row 6 holds 0\.5; expected 0 or "
                                            r"1"):
        sk.km_by_group(bad)
    with pytest.raises(RiskevalError, match=r"column 'event' row 6 holds 0\.5"):
        sk.skill_effect(bad)


def test_a_row_is_named_by_position_and_by_its_index_label(cox_data):
    bad = _with(cox_data, "overall", 4, "high")
    bad.index = bad.index + 1000
    with pytest.raises(RiskevalError, match=r"row 4 \(index 1004\) holds 'high'"):
        sk.skill_effect(bad)


def test_a_table_that_is_not_a_dataframe_is_a_type_error(cox_data):
    with pytest.raises(RiskevalTypeError, match="DataFrame"):
        sk.km_by_group(cox_data.to_dict())
