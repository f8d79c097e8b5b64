"""The audit on data the README promises to handle: perfect agreement, and one level used by
everyone (issue 14, item 6). Before the fix the first ended with exit 1 (``LinAlgError`` from
the mixed model), the second with exit 2 (the ordinal model and the funnel refused it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskeval.cli import main

LEVELS = ["low", "medium", "high", "very high"]


def _ratings(per_case: np.ndarray, n_officers: int = 12) -> pd.DataFrame:
    rows = [(f"case {c}", f"officer {o}", f"office {o // 4}", LEVELS[per_case[c]])
            for c in range(len(per_case)) for o in range(n_officers)]
    return pd.DataFrame(rows, columns=["case", "officer", "office", "rating"])


def _audit(tmp_path: Path, frame: pd.DataFrame, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, str, dict]:
    src = tmp_path / "ratings.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "report"
    code = main(["audit", str(src), "--case", "case", "--rater", "officer", "--rating",
                 "rating", "--office", "office", "--categories", ",".join(LEVELS), "-o",
                 str(out)])
    text = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text()) if code == 0 else {}
    return code, text, summary


def test_perfect_agreement_is_reported(tmp_path, capsys) -> None:
    code, text, summary = _audit(tmp_path, _ratings(np.array([0, 1, 2, 1, 3, 0, 1, 2, 2, 1])),
                                 capsys)
    assert code == 0
    assert "Krippendorff's alpha (ordinal) 1.000" in text
    assert "case 100.0%, officer 0.0%, office 0.0%, residual 0.0%" in text
    finding = {f["key"]: f for f in summary["findings"]}["variation"]
    assert finding["value"] == 0.0
    assert any("same rating" in n for n in summary["notes"])


def test_one_level_throughout_is_reported(tmp_path, capsys) -> None:
    code, text, summary = _audit(tmp_path, _ratings(np.ones(10, dtype=int)), capsys)
    assert code == 0
    assert "alpha (ordinal) not defined" in text
    assert "Variance shares: not defined" in text
    assert "nan" not in text.lower()
    findings = {f["key"]: f["text"] for f in summary["findings"]}
    assert "not defined" in findings["agreement"]
    assert "do not vary at all" in findings["variation"]
    notes = " ".join(summary["notes"])
    assert "ordinal mixed model: not fitted" in notes
    assert "funnel: not drawn" in notes


def test_one_office_in_the_python_api_says_what_to_do() -> None:
    # issue 15, item 11: the API surfaced the mixed model's "office factor has 1 level(s)"
    from riskeval.audit import audit
    from riskeval.errors import RiskevalError

    d = _ratings(np.array([0, 1, 2, 1, 3, 0, 1, 2]), n_officers=4)
    d["office"] = "office A"
    d.loc[d.index % 3 == 0, "rating"] = "high"
    with pytest.raises(RiskevalError, match=r"only one office \('office A'\).*leave out office="):
        audit(d, case="case", rater="officer", rating="rating", office="office",
              categories=LEVELS)
