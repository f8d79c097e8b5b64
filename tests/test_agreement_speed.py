"""The faster agreement paths give the numbers of the slower ones they replace.

- Deletions: a rater's change is computed once per (case, category) pair and shared by the
  coefficients with the same features; here against the earlier algorithm (every rating's
  change computed, summed per rater), kept below as a reference, and against recomputing the
  statistic without each rater from scratch.
- ``agreement_summary`` builds its tables once and shares them between the coefficients;
  here against the coefficient functions called one by one.
- ``pairwise_agreement`` against a loop over the pairs of raters.
- ``funnel(cluster=)`` codes (group, cluster) pairs from integers; here against a pandas
  groupby computation of its design effects.

Random designs: complete, sparse, with tied or constant columns, 2 raters, 2 cases, ordinal
and nominal, with and without missing ratings.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval.agreement._twoway import twoway_jackknife
from riskeval.agreement.categorical import _Alpha, _Categorical, _IntervalAlpha
from riskeval.data import as_ratings

TOL = {"rtol": 1e-12, "atol": 1e-12, "equal_nan": True}


def _design(seed: int) -> np.ndarray:
    """A random cases x raters table of category values, NaN where not rated."""
    rng = np.random.default_rng(1000 + seed)
    shape = seed % 6
    n = int(rng.choice([2, 3, 6, 15, 40]))
    m = int(rng.choice([2, 3, 5, 8]))
    if shape == 0:                                       # two raters
        m = 2
    elif shape == 1:                                     # two cases
        n = 2
    q = int(rng.choice([2, 3, 4, 6]))
    x = rng.integers(1, q + 1, (n, m)).astype(float)
    if shape == 2:                                       # latent case level: agreement
        x = np.clip(rng.integers(1, q + 1, (n, 1)) + rng.integers(-1, 2, (n, m)), 1, q)
        x = x.astype(float)
    if shape == 3:                                       # tied and constant columns
        x[:, 0] = x[0, 0]
        x[:, -1] = x[:, min(1, m - 1)]
    if shape == 4:                                       # sparse: most ratings missing
        x[rng.random(x.shape) < 0.6] = np.nan
    elif seed % 2:                                       # some missing
        x[rng.random(x.shape) < 0.2] = np.nan
    x[0, :2] = [1.0, 1.0] if np.isnan(x[0, :2]).any() else x[0, :2]
    x[1, 0] = 2.0 if np.isnan(x[1, 0]) else x[1, 0]
    return x


def _long(x: np.ndarray, labels: bool) -> pd.DataFrame:
    i, j = np.nonzero(np.isfinite(x))
    v = x[i, j]
    rating = (pd.Categorical([f"L{int(a)}" for a in v], categories=[f"L{k}" for k in
                                                                   range(1, 7)], ordered=True)
              if labels else v)
    return pd.DataFrame({"case": [f"c{a}" for a in i], "officer": [f"o{b:02d}" for b in j],
                         "rating": rating})


# -- the earlier deletion algorithm, kept as the reference ----------------------------------
def _reference_changes(stat) -> np.ndarray:
    """Every rating's change in its case's features when it alone is removed."""
    d = stat.data
    sel = np.arange(d.case_at.size)
    i = d.case_at
    return stat.full[i] - stat.features(d.sums[i] - d._terms(sel))


def _reference_rater_deleted(stat) -> np.ndarray:
    d = stat.data
    delta = _reference_changes(stat)
    D = np.zeros((d.n_raters, delta.shape[1]))
    np.add.at(D, d.rater_at, delta)
    return stat.value(stat.full.sum(axis=0) - D)


def _reference_both_deleted(stat) -> np.ndarray:
    d = stat.data
    delta = _reference_changes(stat)
    D = np.zeros((d.n_raters, delta.shape[1]))
    np.add.at(D, d.rater_at, delta)
    F = stat.full
    out = np.empty((d.n_cases, d.n_raters))
    own = {(int(c), int(r)): k for k, (c, r) in enumerate(zip(d.case_at, d.rater_at,
                                                              strict=True))}
    for i in range(d.n_cases):
        for j in range(d.n_raters):
            S = F.sum(axis=0) - F[i] - D[j]
            if (i, j) in own:
                S = S + delta[own[(i, j)]]
            out[i, j] = stat.value(S[None, :])[0]
    return out


def _scratch_rater_deleted(stat) -> np.ndarray:
    """The statistic recomputed without each rater: the sums less that rater's terms."""
    d = stat.data
    out = np.empty(d.n_raters)
    for j in range(d.n_raters):
        sel = np.flatnonzero(d.rater_at == j)
        sums = d.sums.copy()
        np.subtract.at(sums, d.case_at[sel], d._terms(sel))
        out[j] = stat.value(stat.features(sums).sum(axis=0)[None, :])[0]
    return out


def _statistics(x: np.ndarray, weights: str):
    state = _Categorical(x, None, None, None, None, weights)
    for kind in ("percent", "fleiss", "gwet", "bp"):
        yield kind, state.stat(kind)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        yield f"alpha_{level}", _Alpha(state, level)
    # scores with many distinct values: interval alpha from moments
    noise = np.random.default_rng(int(np.nansum(x))).normal(0, 0.3, x.shape)
    yield "alpha_scores", _IntervalAlpha(as_ratings(np.round(x + noise, 2)))
    yield "alpha_scores_tied", _IntervalAlpha(as_ratings(x))


@pytest.mark.parametrize("seed", range(36))
def test_rater_deletions_equal_the_earlier_algorithm(seed: int) -> None:
    x = _design(seed)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        for weights in ("identity", "quadratic"):
            for name, stat in _statistics(x, weights):
                got = stat.rater_deleted()
                np.testing.assert_allclose(got, _reference_rater_deleted(stat), **TOL,
                                           err_msg=f"{name} {weights}")
                np.testing.assert_allclose(got, _scratch_rater_deleted(stat), rtol=1e-10,
                                           atol=1e-10, equal_nan=True,
                                           err_msg=f"{name} {weights} (from scratch)")
                np.testing.assert_allclose(stat.both_deleted(),
                                           _reference_both_deleted(stat), **TOL,
                                           err_msg=f"{name} {weights} (case and rater)")


@pytest.mark.parametrize("seed", range(36))
def test_twoway_jackknife_equals_the_earlier_algorithm(seed: int) -> None:
    """The two-way jackknife's variances from the shared pair changes equal those from every
    rating's change (statistics sharing one table, evaluated in turn)."""
    x = _design(seed)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        for name, stat in _statistics(x, "quadratic" if seed % 2 else "identity"):
            n, m = stat.data.n_cases, stat.data.n_raters
            est = float(stat(np.ones((1, n)), None)[0])
            got = twoway_jackknife(stat, n, m, est)
            want = _twoway_reference(stat, n, m, est)
            for key in got:
                np.testing.assert_allclose(got[key], want[key], **TOL,
                                           err_msg=f"{name} {key}")


def _twoway_reference(stat, n: int, m: int, est: float) -> dict[str, float]:
    """:func:`twoway_jackknife` with the rater and joint deletions of the reference."""
    import riskeval.agreement._twoway as tw

    class Stat(type(stat)):
        def rater_deleted(self):
            return _reference_rater_deleted(self)

        def both_deleted(self):
            return _reference_both_deleted(self)

    copy = Stat.__new__(Stat)
    copy.__dict__.update(stat.__dict__)
    copy._store = {}
    return tw.twoway_jackknife(copy, n, m, est)


def test_pairs_are_shared_between_coefficients_of_one_table() -> None:
    x = _design(2)
    state = _Categorical(x, None, None, None, None, None)
    a, b = state.stat("fleiss"), state.stat("gwet")
    with np.errstate(invalid="ignore", divide="ignore"):
        a.rater_deleted()
    assert b._store is a._store and "rater_totals" in b._store
    other = _Categorical(x, None, None, None, None, "quadratic")
    assert other.stat("fleiss")._store is not a._store


# -- pairwise agreement ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("weights", ["identity", "linear", "quadratic"])
def test_pairwise_agreement_equals_a_loop_over_pairs(seed: int, weights: str) -> None:
    x = _design(seed)
    got = rv.agreement.pairwise_agreement(x, weights=weights)
    wide = as_ratings(x)
    codes, _, scale = wide.coded()
    w = rv.agreement.agreement_weights(weights, scale)
    m = x.shape[1]
    for a in range(m):
        for b in range(m):
            both = (codes[:, a] >= 0) & (codes[:, b] >= 0)
            assert got.shared.iloc[a, b] == both.sum()
            want = (w[codes[both, a], codes[both, b]].mean() if both.any() else np.nan)
            np.testing.assert_allclose(got.matrix.iloc[a, b], want, **TOL)
    assert got.shared.to_numpy().dtype.kind == "i"


# -- agreement_summary -----------------------------------------------------------------------
def _reference_row(result, suffix: str) -> dict:
    row = result.to_frame().reset_index().iloc[0].to_dict()
    row["coefficient"] = f"{result.coefficient}{suffix}"
    row.pop("confidence", None)
    row["note"] = result.note
    return row


def _reference_summary(x: np.ndarray, level: str, resample: str) -> pd.DataFrame:
    """The summary from the coefficient functions called one by one, each on the table."""
    wide = as_ratings(x, numeric=level in ("interval", "ratio"))
    categorical = level in ("nominal", "ordinal") or np.unique(wide.entries()[2]).size <= 20
    opts = {"confidence": 0.95, "resample": resample}
    results = []
    if categorical:
        results += [rv.percent_agreement(x, **opts), rv.fleiss_kappa(x, **opts),
                    rv.gwet_ac(x, **opts), rv.brennan_prediger(x, **opts)]
        if x.shape[1] == 2:
            results.append(rv.cohen_kappa(x))
        if level != "nominal":
            results += [rv.gwet_ac(x, weights="quadratic", **opts),
                        rv.brennan_prediger(x, weights="quadratic", **opts)]
            if x.shape[1] == 2:
                results.append(rv.cohen_kappa(x, weights="quadratic"))
    rows = [_reference_row(r, "" if r.extra.get("weights", "identity") == "identity"
                           else f" ({r.extra['weights']} weights)") for r in results]
    alpha_level = level if level != "ordinal" or categorical else "interval"
    rows.append(_reference_row(rv.krippendorff_alpha(x, level=alpha_level, **opts),
                               f" ({alpha_level})"))
    if level != "nominal":
        try:
            res = rv.icc(x)
        except rv.errors.RiskevalError as exc:
            rows.append({"coefficient": "ICC", "estimate": np.nan, "note": str(exc)})
        else:
            table = res.to_frame()
            for form in ("ICC1", "ICC2", "ICC3", "ICC2k"):
                rows.append({
                    "coefficient": f"{form} ({table.loc[form, 'description']})",
                    "estimate": table.loc[form, "ICC"], "se": np.nan,
                    "ci_low": table.loc[form, "ci_low"], "ci_high": table.loc[form, "ci_high"],
                    "ci_method": "exact F (McGraw & Wong 1996)", "n_cases": res.n_cases,
                    "n_raters": res.n_raters, "n_ratings": res.n_cases * res.n_raters,
                    "note": "; ".join(v for v in (
                        res.notes.get(form, ""),
                        f"{res.n_dropped} incomplete cases dropped" if res.n_dropped else "",
                    ) if v),
                })
    out = pd.DataFrame(rows).set_index("coefficient")
    return out.reindex(columns=["estimate", "se", "ci_low", "ci_high", "ci_method", "n_cases",
                                "n_raters", "n_ratings", "note"])


@pytest.mark.parametrize("seed", range(36))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_summary_equals_the_coefficients_one_by_one(seed: int, level: str) -> None:
    x = _design(seed)
    if seed % 9 == 8:
        x = np.round(x + np.random.default_rng(seed).normal(0, 1, x.shape), 1)  # scores
    resample = "cases+raters" if seed % 3 == 0 else "cases"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = _reference_summary(x, level, resample)
        except rv.errors.RiskevalError as exc:
            with pytest.raises(type(exc)):
                rv.agreement_summary(x, level=level, resample=resample)
            return
        got = rv.agreement_summary(x, level=level, resample=resample).to_frame()
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_summary_of_a_long_table_with_labels(seed: int) -> None:
    x = _design(seed)
    if x.shape[1] == 2:                       # three raters: no Cohen's kappa rows
        x = np.column_stack([x, x[:, 0]])
    frame = _long(x, labels=True)
    cats = [f"L{k}" for k in range(1, 7)]
    kw = {"case": "case", "rater": "officer", "rating": "rating", "categories": cats}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = rv.agreement_summary(frame, **kw, resample="cases+raters").to_frame()
        want = {"Percent agreement": rv.percent_agreement(frame, **kw),
                "Fleiss' kappa": rv.fleiss_kappa(frame, **kw, resample="cases+raters"),
                "Gwet's AC2 (quadratic weights)": rv.gwet_ac(frame, **kw, weights="quadratic",
                                                             resample="cases+raters"),
                "Krippendorff's alpha (ordinal)": rv.krippendorff_alpha(
                    frame, **kw, level="ordinal", resample="cases+raters")}
    for name, res in want.items():
        row = got.loc[name]
        if name != "Percent agreement":
            np.testing.assert_allclose([row["ci_low"], row["ci_high"]], res.ci, **TOL)
        np.testing.assert_allclose(row["estimate"], res.estimate, **TOL)


# -- the ICC's F table -----------------------------------------------------------------------
def _reference_f_quantiles(n: int, k: int, confidence: float, ems: float, jms: float,
                           r2: float) -> list[float]:
    """The six F quantiles of the ICC intervals, one scalar call each."""
    from scipy import stats

    alpha = 1 - confidence
    df1, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)
    fj = jms / ems
    vn = (k - 1) * (n - 1) * (k * r2 * fj + n * (1 + (k - 1) * r2) - k * r2) ** 2
    vd = (n - 1) * k**2 * r2**2 * fj**2 + (n * (1 + (k - 1) * r2) - k * r2) ** 2
    v = vn / vd
    q = 1 - alpha / 2
    return [stats.f.ppf(q, df1, df_w), stats.f.ppf(q, df_w, df1), stats.f.ppf(q, df1, df_e),
            stats.f.ppf(q, df_e, df1), stats.f.ppf(q, n - 1, v), stats.f.ppf(q, v, n - 1)]


@pytest.mark.parametrize("seed", range(30))
def test_icc_table_equals_scalar_f_calls(seed: int) -> None:
    """The ICC intervals and tests from vectorised F calls equal one scalar call each."""
    from scipy import stats

    x = _design(seed)
    x = x[np.isfinite(x).all(axis=1)]
    if x.shape[0] < 2:
        x = np.vstack([x, [[1.0] * x.shape[1], [2.0] * x.shape[1]]])
    confidence = (0.95, 0.9, 0.99)[seed % 3]
    r0 = (0.0, 0.3)[seed % 2]
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        res = rv.icc(x, confidence=confidence, r0=r0, ci=None)
        full = rv.icc(x, confidence=confidence, r0=r0)
        ms = res.mean_squares
        n, k = res.n_cases, res.n_raters
        bms, jms, ems = ms["BMS"], ms["JMS"], ms["EMS"]
        crit = _reference_f_quantiles(n, k, confidence, ems, jms, res.table.loc["ICC2", "ICC"])
        table = res.table
        for form in table.index:
            f, d1, d2 = table.loc[form, ["F", "df1", "df2"]]
            np.testing.assert_allclose(table.loc[form, "pval"], stats.f.sf(f, d1, d2), **TOL)
        # ICC1 and ICC3 limits from the quantiles
        for form, within, (lo_q, hi_q) in (("ICC1", ms["WMS"], crit[:2]),
                                           ("ICC3", ems, crit[2:4])):
            F = bms / within
            lo, hi = F / lo_q, F * hi_q
            want = [1.0 if np.isinf(v) else (v - 1) / (v + k - 1) for v in (lo, hi)]
            got = full.table.loc[form, ["ci_low", "ci_high"]].to_numpy(float)
            est = full.table.loc[form, "ICC"]
            if np.isfinite(got).all() and np.isfinite(est):
                np.testing.assert_allclose(got, np.clip(want, min(want[0], est),
                                                        max(want[1], est)), **TOL)
    assert np.isnan(res.table[["ci_low", "ci_high"]].to_numpy()).all()


# -- funnel ----------------------------------------------------------------------------------
def _funnel_frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(2, 9))
    rows = int(rng.integers(40, 400))
    group = rng.integers(0, n_groups, rows)
    officer = rng.integers(0, int(rng.integers(2, 25)), rows)      # shared across groups
    p = rng.uniform(0.1, 0.6, 30)[officer]
    frame = pd.DataFrame({"office": [f"office {g}" for g in group],
                          "officer": officer, "high": rng.random(rows) < p})
    frame["high"] = frame["high"].astype("boolean")
    frame.loc[rng.random(rows) < 0.1, "high"] = pd.NA                # some outcomes missing
    if seed % 3 == 1:
        frame["officer"] = frame["officer"].map(lambda o: f"o{o}").astype("category")
    elif seed % 3 == 2:
        frame["office"] = frame["office"].astype("category")
        frame["officer"] = frame["officer"].map(lambda o: f"officer {o}")
    return frame


def _design_effects_by_groupby(frame: pd.DataFrame) -> tuple[pd.Series, float]:
    """Kish design effects by office and the ICC, from pandas groupby sums (the nested
    one-way ANOVA of the funnel's documentation)."""
    kept = frame[frame["high"].notna()].assign(y=lambda d: d["high"].astype(float))
    cl = kept.groupby(["office", "officer"], observed=True)["y"].agg(["size", "sum"])
    gr = kept.groupby("office", observed=True)["y"].agg(["size", "sum"])
    m, e = cl["size"].astype(float), cl["sum"]
    total, n_clusters, n_groups = m.sum(), len(cl), len(gr)
    ss_within = (e - e ** 2 / m).sum()
    ss_between = (e ** 2 / m).sum() - (gr["sum"] ** 2 / gr["size"]).sum()
    ms_w = ss_within / (total - n_clusters)
    ms_b = ss_between / (n_clusters - n_groups)
    sum_m2 = (m ** 2).groupby(level="office", observed=True).sum()
    n0 = (total - (sum_m2 / gr["size"]).sum()) / (n_clusters - n_groups)
    var_b = (ms_b - ms_w) / n0
    rho = 0.0 if var_b + ms_w <= 0 else max(0.0, var_b / (var_b + ms_w))
    return 1.0 + rho * (sum_m2 / gr["size"] - 1.0), rho


@pytest.mark.parametrize("seed", range(24))
def test_funnel_design_effects_equal_a_groupby(seed: int) -> None:
    from riskeval.variation.funnel import funnel

    frame = _funnel_frame(seed)
    res = funnel(frame, group="office", outcome="high", cluster="officer")
    deff, rho = _design_effects_by_groupby(frame)
    table = res.table
    deff.index = deff.index.astype(str)
    np.testing.assert_allclose(table["deff"].to_numpy(),
                               deff.reindex(table.index.astype(str)).to_numpy(), **TOL)
    np.testing.assert_allclose(res.cluster_icc, rho, **TOL)
    counts = frame[frame["high"].notna()].groupby("office", observed=True)["high"]
    np.testing.assert_array_equal(table["n"].to_numpy(), counts.size().to_numpy())
    np.testing.assert_array_equal(table["events"].to_numpy(), counts.sum().to_numpy())
    np.testing.assert_allclose(table["n_eff"], table["n"] / table["deff"], **TOL)


def _by_rater_reference(pa):
    """Each rater's agreement with the others, as first written: copies with the diagonal's
    shared count zeroed and NaN agreement as 0, then the weighted row means."""
    m = np.nan_to_num(pa.matrix.to_numpy().copy(), nan=0.0)
    n = pa.shared.to_numpy().astype(float).copy()
    np.fill_diagonal(n, 0.0)
    total = n.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(total > 0, (m * n).sum(axis=1) / np.where(total > 0, total, 1), np.nan)
    return mean, total.astype(int)


@pytest.mark.parametrize("seed", range(30))
def test_by_rater_equals_the_weighted_row_means(seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, (int(rng.integers(2, 30)), int(rng.integers(2, 40)))).astype(float)
    X[rng.random(X.shape) < rng.uniform(0, 0.8)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pa = rv.agreement.pairwise_agreement(X, weights=("identity", "linear")[seed % 2])
        except rv.RiskevalError:  # too few raters or cases left
            return
    got = pa.by_rater()
    mean, total = _by_rater_reference(pa)
    np.testing.assert_array_equal(got["agreement"].to_numpy(), mean)
    np.testing.assert_array_equal(got["shared"].to_numpy(), total)
