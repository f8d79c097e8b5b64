"""The committed synthetic datasets are exactly what their generating script makes."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
SCRIPT = DATASETS / "make_vignette_set.py"
ROW = re.compile(r"^\|\s*`(?P<path>[^`]+)`\s*\|.*\|\s*`(?P<sha>[0-9a-f]{64})`\s*\|\s*$")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_vignette_set", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first_difference(a: bytes, b: bytes) -> str:
    for n, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), start=1):
        if x != y:
            k = next((i for i, (c, d) in enumerate(zip(x, y, strict=False)) if c != d),
                     min(len(x), len(y)))
            lo = max(0, k - 40)
            return (f"line {n}, byte {k + 1}: regenerated {x[lo:k + 40]!r} vs committed "
                    f"{y[lo:k + 40]!r}")
    return f"lengths differ: {len(a)} vs {len(b)} bytes"


def listed_hashes() -> dict[str, str]:
    text = (DATASETS / "README.md").read_text(encoding="utf-8")
    return {m["path"]: m["sha"] for m in map(ROW.match, text.splitlines()) if m}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("datasets")
    module = load_script()
    assert module.main(["--out", str(out)]) == 0
    files = {rel: out / rel for rel in module.render()}
    assert files and all(p.is_file() for p in files.values())
    return files


def test_script_reproduces_committed_files_byte_for_byte(regenerated):
    for rel, path in regenerated.items():
        committed = DATASETS / rel
        assert committed.is_file(), f"{rel} is not committed; run {SCRIPT.name}"
        new, old = path.read_bytes(), committed.read_bytes()
        assert new == old, (f"{rel} differs from the committed file ({first_difference(new, old)}"
                            f"); run python datasets/{SCRIPT.name} and update the sha256 in "
                            f"datasets/README.md")


def test_readme_lists_every_generated_file(regenerated):
    listed = listed_hashes()
    for rel in regenerated:
        assert f"datasets/{rel}" in listed, f"datasets/{rel} has no row in datasets/README.md"


def test_readme_sha256_match_committed_files():
    listed = listed_hashes()
    assert len(listed) >= 6
    for rel, sha in listed.items():
        path = ROOT / rel
        assert path.is_file(), f"datasets/README.md lists {rel}, which does not exist"
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        assert actual == sha, f"sha256 of {rel} is {actual}, README lists {sha}"


def test_committed_files_are_consistent():
    import pandas as pd

    import riskeval as rv

    cases = pd.read_csv(DATASETS / "vignettes" / "canonical_vignettes.csv")
    assert len(cases) == 24 and list(cases.columns) == ["case", *rv.world.vignettes.FEATURE_COLUMNS,
                                                        *rv.world.vignettes.TRUTH_COLUMNS]
    md = (DATASETS / "vignettes" / "canonical_vignettes.md").read_text(encoding="utf-8")
    assert md.count("## Case V00") == 24 and "p_reconviction" not in md
    ratings = rv.read_ratings(DATASETS / "six_office_demo_ratings.csv", case="case",
                              rater="officer", rating="rating", office="office",
                              reference="reference", categories=rv.RISK_LEVELS)
    assert len(ratings) == 1152 and ratings.n_offices == 6
    sheet = (DATASETS / "vignettes" / "DATASHEET.md").read_text(encoding="utf-8")
    assert "synthetic" in sheet.lower() and "assumption" in sheet
    assert not re.search(r"20\d\d-\d\d-\d\d", sheet)  # date-free
