"""The audit's rater-effects section (issue 17, item 4).

Checked here: the section holds what :func:`riskeval.variation.many_facet_rasch` gives on the
same ratings (measures, fair averages on the numbering of every level, bias tables, Holm
adjustments); planted effects light up their finding -- central tendency from the simulator's
mechanism, an officer x offence-type interaction, an officer's drift between years -- and stay
dark when absent; bad case attributes are named; the report holds the tables and figures; the
section is skipped above its size limit with a note; pseudonyms hold in it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import riskeval as rv
from riskeval.audit import _rater_effects as RE
from riskeval.audit import audit
from riskeval.errors import RiskevalError
from riskeval.variation import many_facet_rasch

LEVELS = list(rv.RISK_LEVELS)
COLS = {"case": "case", "rater": "officer", "rating": "rating"}


def rasch_ratings(seed: int, n_cases: int = 60, n_officers: int = 8, *, planted: float = 0.0,
                  drift: float = 0.0, n_offices: int = 2, thresholds=(-1.5, 0.0, 1.5),
                  severity_sd: float = 0.5) -> pd.DataFrame:
    """Every officer rates every case (rating-scale model). ``planted`` logits are added to
    officer 0's ratings of violent cases; ``drift`` to officer 1's ratings in 2021."""
    rng = np.random.default_rng(seed)
    case, officer = (a.ravel() for a in np.meshgrid(np.arange(n_cases), np.arange(n_officers),
                                                    indexing="ij"))
    violent = rng.random(n_cases) < 0.5
    year = np.where(rng.random(case.size) < 0.5, 2020, 2021)
    theta = (rng.normal(0, 1.2, n_cases)[case] - rng.normal(0, severity_sd, n_officers)[officer]
             + planted * ((officer == 0) & violent[case])
             + drift * ((officer == 1) & (year == 2021)))
    tau = np.concatenate([[0.0], np.cumsum(thresholds)])
    logit = np.outer(theta, np.arange(len(tau))) - tau
    p = np.exp(logit - logit.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    x = (rng.random(case.size)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return pd.DataFrame({"case": [f"c{i:03d}" for i in case],
                         "officer": [f"o{j:02d}" for j in officer],
                         "office": [f"office {j % n_offices}" for j in officer],
                         "rating": pd.Categorical(np.asarray(LEVELS, object)[x],
                                                  categories=LEVELS, ordered=True),
                         "offence_type": np.where(violent[case], "violent", "acquisitive"),
                         "year": year})


def run(frame: pd.DataFrame, **kw) -> rv.audit.Audit:
    kw.setdefault("ordinal", False)
    return audit(frame, **COLS, **kw)


# ------------------------------------------------------- the section is the model's output

@pytest.mark.parametrize("seed", range(4))
def test_the_section_holds_the_many_facet_analysis(seed):
    frame = rasch_ratings(seed, 40, 6)
    a = run(frame, office="office", year="year", case_attributes=["offence_type"])
    fit = many_facet_rasch(frame, **COLS, office="office", categories=LEVELS,
                           bias_by=["offence_type", "year"])
    r = a.rater_effects
    off = fit.officers.to_frame()
    np.testing.assert_allclose(r.officers["measure"], off.loc[r.officers.index, "measure"])
    np.testing.assert_allclose(r.officers["fair_average"],
                               off.loc[r.officers.index, "fair_average"])
    np.testing.assert_allclose(r.offices["measure"], fit.offices.loc[r.offices.index, "measure"])
    bias = fit.bias.to_frame()
    np.testing.assert_allclose(r.differential["bias"],
                               bias[bias["attribute"] == "offence_type"]["bias"])
    np.testing.assert_allclose(r.drift["p_holm"], bias[bias["attribute"] == "year"]["p_holm"])
    # the severity test: Holm over officers of a two-sided z test of measure / se
    z = (r.officers["measure"] / r.officers["se"]).to_numpy()
    p = 2 * stats.norm.sf(np.abs(z))
    order = np.argsort(p)
    adj = np.minimum(np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]), 1)
    np.testing.assert_allclose(r.officers["severity_p_holm"].to_numpy()[order], adj)
    keys = [f.key for f in a.findings]
    for key in ("rater_severity", "rater_fit", "central_tendency", "differential_severity",
                "rater_drift"):
        assert key in keys
    rel = next(f for f in a.findings if f.key == "rater_severity").value
    assert rel == pytest.approx(fit.facets.loc["officer", "reliability"])


def test_unused_end_levels_keep_the_numbering_of_every_level():
    frame = rasch_ratings(3, 40, 6)
    frame["rating"] = frame["rating"].astype(str).replace({"low": "medium"})
    frame["rating"] = pd.Categorical(frame["rating"], categories=LEVELS, ordered=True)
    a = run(frame)
    fit = many_facet_rasch(frame, **COLS, categories=LEVELS[1:])
    # fitted on medium..very high (numbered 1..3 there); reported on low..very high = 1..4
    np.testing.assert_allclose(a.rater_effects.officers["fair_average"],
                               fit.officers["fair_average"] + 1.0)
    obs = frame.assign(s=frame["rating"].cat.codes + 1).groupby("officer")["s"].mean()
    np.testing.assert_allclose(a.rater_effects.officers["observed_average"],
                               obs.loc[a.rater_effects.officers.index])
    assert any("left out of the rating scale (low)" in n for n in a.notes)


# ------------------------------------------------------------------ planted effects found

def test_central_tendency_from_the_simulator_lights_its_finding():
    # the six-office study (24 ratings per officer) at twice the default strength: the
    # officers' use of the end levels is more dispersed than chance; with the mechanism off
    # it is not (the test is conservative: p-values run high under the null)
    world = rv.world.scenarios.six_office_study()
    on = world.only("central_tendency").with_mechanisms(central_tendency={"strength": 2.0})
    p_on, p_off = [], []
    for seed in range(6):
        for w, out in ((on, p_on), (world.only(), p_off)):
            a = run(rv.simulate(w, seed=seed), office="office")
            c = a.rater_effects.centrality
            out.append(c["p"])
            z = a.rater_effects.officers["end_z"].dropna()
            assert c["chi2"] == pytest.approx((z ** 2).sum())
            assert c["p"] == pytest.approx(stats.chi2.sf(c["chi2"], len(z)))
            f = next(f for f in a.findings if f.key == "central_tendency")
            assert f.value == pytest.approx(c["chi2"] / len(z))
    assert sum(p < 0.05 for p in p_on) >= 5
    assert sum(p < 0.05 for p in p_off) <= 1


def test_planted_differential_severity_and_drift_are_found():
    hits_drf = hits_drift = 0
    for seed in range(6):
        a = run(rasch_ratings(100 + seed, 160, planted=2.0, drift=2.0), office="office",
                year="year", case_attributes="offence_type")
        d = a.rater_effects.differential.set_index(["officer", "value"])
        hits_drf += d.loc[("o00", "violent"), "p_holm"] < 0.05
        t = a.rater_effects.drift
        hits_drift += bool(((t["officer"] == "o01") & (t["p_holm"] < 0.05)).any())
        f = next(f for f in a.findings if f.key == "differential_severity")
        assert f.value == (a.rater_effects.differential["p_holm"] < 0.05).sum()
    assert hits_drf >= 5 and hits_drift >= 5


def test_no_planted_effect_rarely_flags_a_cell():
    flagged = 0
    n = 20
    for seed in range(n):
        a = run(rasch_ratings(500 + seed), office="office", year="year",
                case_attributes="offence_type")
        flagged += bool((a.rater_effects.differential["p_holm"] < 0.05).any()
                        or (a.rater_effects.drift["p_holm"] < 0.05).any())
    assert flagged / n <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / n)


# -------------------------------------------------------------------- case attributes

def test_case_attributes_are_checked_and_named():
    frame = rasch_ratings(7, 20, 4)
    with pytest.raises(RiskevalError, match="'offence'"):
        run(frame, case_attributes=["offence"])
    bad = frame.copy()
    bad.loc[bad.index[0], "offence_type"] = "sexual"
    with pytest.raises(RiskevalError, match="several values for case 'c000'"):
        run(bad, case_attributes="offence_type")
    with pytest.raises(RiskevalError, match="names a column twice"):
        run(frame, case_attributes=["offence_type", "offence_type"])
    with pytest.raises(RiskevalError, match="already a column of the audit"):
        run(frame, case_attributes=["office"], office="office")
    with pytest.raises(RiskevalError, match="rater_effects must be"):
        run(frame, rater_effects="yes")
    one = frame.assign(region="north")
    a = run(one, case_attributes="region")
    assert a.rater_effects.differential is None
    assert any("bias by region not analysed" in n and "single value" in n for n in a.notes)


def test_a_numeric_attribute_with_many_values_is_cut_into_thirds():
    frame = rasch_ratings(8, 30, 4)
    score = {c: i for i, c in enumerate(sorted(frame["case"].unique()))}
    frame["openness"] = frame["case"].map(score).astype(float)
    a = run(frame, case_attributes=["openness", "offence_type"])
    d = a.rater_effects.differential
    assert set(d.loc[d["attribute"] == "openness", "value"].map(lambda v: v.split()[0])) == \
        {"low", "middle", "high"}
    assert any("'openness' has more than 6 values" in n for n in a.notes)


def test_skipped_above_the_limit_with_a_note(monkeypatch):
    frame = rasch_ratings(9, 20, 4)
    monkeypatch.setattr("riskeval.audit._compute.RATER_EFFECTS_AUTO_MAX", 50)
    a = run(frame)
    assert a.rater_effects is None
    assert any("rater effects: not estimated on 80 ratings" in n for n in a.notes)
    assert run(frame, rater_effects=True).rater_effects is not None
    assert run(frame.head(80), rater_effects=False).rater_effects is None


# --------------------------------------------------------------------------- the report

def test_report_files_and_pseudonyms(tmp_path):
    frame = rasch_ratings(11, 30, 6, planted=2.0)
    frame["officer"] = frame["officer"].map(lambda o: f"Smith {o}")
    a = run(frame, office="office", case_attributes=["offence_type"],
            pseudonymise="a-long-secret-salt-1234")
    a.save(tmp_path / "r")
    for name in ("rater_officers", "rater_offices", "rater_facets", "rating_scale",
                 "differential_severity"):
        assert (tmp_path / "r" / "tables" / f"{name}.csv").exists()
    for name in ("wright_map", "differential_severity"):
        assert (tmp_path / "r" / "figures" / f"{name}.png").exists()
    text = (tmp_path / "r" / "report.html").read_text()
    assert "Rater effects" in text and "Smith" not in text
    for csv in (tmp_path / "r" / "tables").glob("*.csv"):
        assert "Smith" not in csv.read_text()
    idx = [str(i) for i in a.rater_effects.officers.index]
    assert idx == sorted(idx) and all(i.startswith("officer-") for i in idx)


def test_the_figure_shows_the_officers_with_the_largest_bias(monkeypatch):
    frame = rasch_ratings(12, 30, 8, planted=3.0)
    monkeypatch.setattr(RE, "DRF_FIGURE_OFFICERS", 3)
    a = run(frame, case_attributes="offence_type")
    fig = RE.differential_figure(a.rater_effects)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 3 and "o00" in labels


def test_the_command_line_takes_case_attributes(tmp_path):
    from riskeval.cli import main

    frame = rasch_ratings(13, 30, 6)
    frame.to_csv(tmp_path / "r.csv", index=False)
    args = ["audit", str(tmp_path / "r.csv"), "--case", "case", "--rater", "officer",
            "--rating", "rating", "--office", "office", "--quiet"]
    assert main([*args, "--case-attributes", "offence_type", "-o", str(tmp_path / "a")]) == 0
    table = pd.read_csv(tmp_path / "a" / "tables" / "differential_severity.csv")
    assert set(table["value"]) == {"violent", "acquisitive"}
    assert main([*args, "--no-rater-effects", "-o", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "b" / "tables" / "rater_officers.csv").exists()


def test_officers_each_alone_in_an_office_are_refused_by_every_model():
    from riskeval.variation import crossed_lmm, ordinal_mixed

    frame = rasch_ratings(14, 30, 6)
    frame["office"] = "office of " + frame["officer"]
    frame["score"] = frame["rating"].cat.codes + 1.0
    alone = "every office (in .*)?has a single officer"
    with pytest.raises(RiskevalError, match=alone):
        crossed_lmm(frame, rating="score", case="case", rater="officer", office="office")
    with pytest.raises(RiskevalError, match=alone):
        ordinal_mixed(frame, rating="rating", case="case", rater="officer", office="office")
    with pytest.raises(RiskevalError, match=alone):
        many_facet_rasch(frame, **COLS, office="office", categories=LEVELS)
    with pytest.raises(RiskevalError, match=alone):
        run(frame, office="office")
    # one office with a single officer among others is a design these models handle
    frame["office"] = np.where(frame["officer"] == "o00", "A", "B")
    assert run(frame, office="office").rater_effects is not None


def test_no_heatmap_when_no_cell_can_be_tested():
    from dataclasses import replace

    # officers who rated one case of each kind: those cells hold one rating and are not
    # tested; the heatmap draws the cells that are
    frame = rasch_ratings(15, 2, 6)
    frame["offence_type"] = np.where(frame["case"] == "c000", "violent", "acquisitive")
    other = rasch_ratings(16, 20, 6).assign(offence_type="other")
    other["case"] = "d" + other["case"]
    a = run(pd.concat([frame, other], ignore_index=True), case_attributes="offence_type")
    d = a.rater_effects.differential
    assert d.loc[d["value"] != "other", "p"].isna().all()
    assert "differential_severity" in a.figures()
    untested = replace(a.rater_effects, differential=d.assign(p=np.nan))
    assert "differential_severity" not in replace(a, rater_effects=untested).figures()


def test_a_model_that_does_not_converge_is_not_reported():
    # two cases: JMLE measures grow without bound
    only = run(rasch_ratings(15, 2, 6), case_attributes="offence_type")
    assert only.rater_effects is None
    assert any("did not converge" in n for n in only.notes)
    assert not any(f.key.startswith("rater") for f in only.findings)
