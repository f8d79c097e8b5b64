"""Kernels of the many-facet Rasch analysis: arrays in, arrays out (no DataFrames).

The rating-scale model for a rating ``x`` in ``0..m`` of case ``n`` by officer ``j`` (in
office ``o``) is ``log(P_k / P_{k-1}) = theta - F_k`` with ``theta = B_n - C_j - D_o``;
``tau_k = F_1 + ... + F_k`` (``tau_0 = 0``) so that ``P_k`` is proportional to
``exp(k * theta - tau_k)``.

Estimation is joint maximum likelihood by alternating one-dimensional Newton-Raphson steps
for every element of a facet at once (cases, then officers, then offices, then the
thresholds), as FACETS does (Linacre 1989).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: largest Newton step in logits (FACETS limits its steps in the same way)
MAX_STEP = 1.0


def probabilities(theta: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Category probabilities, one column per rating: ``P[k, r]`` for ``k = 0..m`` (the
    categories along the first axis, so that every sum over them runs on whole rows)."""
    k = np.arange(tau.size, dtype=float)
    logit = np.multiply.outer(k, theta)
    logit -= tau[:, None]
    logit -= logit.max(axis=0)
    np.exp(logit, out=logit)
    logit /= logit.sum(axis=0)
    return logit


def greater_equal(p: np.ndarray) -> np.ndarray:
    """``P(x >= k)`` for ``k = 1..m`` from :func:`probabilities` (shape ``(m, n)``)."""
    m = p.shape[0] - 1
    out = np.empty((m, p.shape[1]))
    out[m - 1] = p[m]
    for k in range(m - 1, 0, -1):
        np.add(out[k], p[k], out=out[k - 1])
    return out


def moments(theta: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected score and its variance for each rating."""
    p = probabilities(theta, tau)
    k = np.arange(tau.size, dtype=float)
    e = k @ p
    w = (k * k) @ p - e * e
    return e, np.maximum(w, 1e-300)


def fit_moments(theta: np.ndarray, tau: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities, expectation, variance and fourth central moment of each rating."""
    p = probabilities(theta, tau)
    k = np.arange(tau.size, dtype=float)
    e = k @ p
    d2 = (k[:, None] - e) ** 2
    w = (p * d2).sum(axis=0)
    c = (p * d2 * d2).sum(axis=0)
    return p, e, w, c


@dataclass
class Design:
    """The ratings as integer arrays: element indices per facet and the score 0..m."""

    case: np.ndarray
    officer: np.ndarray
    office: np.ndarray | None
    x: np.ndarray
    n_case: int
    n_officer: int
    n_office: int
    m: int
    #: office of each officer (officers nested in offices), or None
    officer_office: np.ndarray | None

    def subset(self, keep: np.ndarray) -> Design:
        return Design(self.case[keep], self.officer[keep],
                      None if self.office is None else self.office[keep], self.x[keep],
                      self.n_case, self.n_officer, self.n_office, self.m, self.officer_office)


@dataclass
class Estimates:
    """Measures on the logit scale: cases B, officers C, offices D, thresholds F (1..m)."""

    case: np.ndarray
    officer: np.ndarray
    office: np.ndarray
    thresholds: np.ndarray

    def copy(self) -> Estimates:
        return Estimates(self.case.copy(), self.officer.copy(), self.office.copy(),
                         self.thresholds.copy())

    def tau(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(self.thresholds)])

    def theta(self, d: Design) -> np.ndarray:
        t = self.case[d.case] - self.officer[d.officer]
        if d.office is not None:
            t = t - self.office[d.office]
        return t


def extreme_elements(d: Design) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Ratings kept for the joint estimation and each facet's extreme flags.

    An element whose ratings are all in the lowest (flag -1) or all in the highest category
    (flag +1) has no finite measure; its ratings are set aside and the search repeated, since
    removing them can make other elements extreme.
    """
    keep = np.ones(d.x.size, dtype=bool)
    flags = {"case": np.zeros(d.n_case, np.int8), "officer": np.zeros(d.n_officer, np.int8),
             "office": np.zeros(d.n_office, np.int8)}
    facets = [("case", d.case, d.n_case), ("officer", d.officer, d.n_officer)]
    if d.office is not None:
        facets.append(("office", d.office, d.n_office))
    while True:
        changed = False
        for name, idx, n in facets:
            cnt = np.bincount(idx[keep], minlength=n)
            low = np.bincount(idx[keep], weights=(d.x[keep] == 0), minlength=n)
            high = np.bincount(idx[keep], weights=(d.x[keep] == d.m), minlength=n)
            new_low = (cnt > 0) & (low == cnt) & (flags[name] == 0)
            new_high = (cnt > 0) & (high == cnt) & (flags[name] == 0)
            if new_low.any() or new_high.any():
                flags[name][new_low] = -1
                flags[name][new_high] = 1
                bad = new_low | new_high
                keep &= ~bad[idx]
                changed = True
        if not changed or not keep.any():
            return keep, flags


def _centre(est: Estimates, d: Design, free: dict[str, np.ndarray]) -> None:
    """Officers centred at 0 (within their office when nested), offices at 0; the case
    measures take up the shift, so the model's probabilities do not change."""
    fo = free["officer"]
    if d.office is not None and d.officer_office is not None:
        # nested: centre the officers of each office, the office carries their mean
        cnt = np.bincount(d.officer_office[fo], minlength=d.n_office)
        mean = np.bincount(d.officer_office[fo], est.officer[fo], minlength=d.n_office)
        mean = np.divide(mean, cnt, out=np.zeros_like(mean), where=cnt > 0)
        est.officer -= mean[d.officer_office]
        est.office += mean
    elif fo.any():
        shift = est.officer[fo].mean()
        est.officer -= shift
        est.case -= shift
    if d.office is not None:
        ff = free["office"]
        if ff.any():
            shift = est.office[ff].mean()
            est.office -= shift
            est.case -= shift


def _facet_step(est: Estimates, d: Design, name: str, target: np.ndarray,
                free: np.ndarray, tau: np.ndarray) -> float:
    """One Newton step for every free element of one facet; the largest step."""
    idx = {"case": d.case, "officer": d.officer, "office": d.office}[name]
    n = target.size
    e, w = moments(est.theta(d), tau)
    expected = np.bincount(idx, e, minlength=n)
    info = np.bincount(idx, w, minlength=n)
    sign = 1.0 if name == "case" else -1.0
    step = np.zeros(n)
    ok = free & (info > 0)
    step[ok] = sign * (target[ok] - expected[ok]) / info[ok]
    np.clip(step, -MAX_STEP, MAX_STEP, out=step)
    getattr(est, name)[:] += step
    return float(np.abs(step).max()) if n else 0.0


def _threshold_step(est: Estimates, d: Design, observed_ge: np.ndarray) -> float:
    """Joint Newton step for the thresholds F_1..F_m, then recentred to sum 0 (the cases
    take up the shift)."""
    ge = greater_equal(probabilities(est.theta(d), est.tau()))
    total = ge.sum(axis=1)
    grad = total - observed_ge
    m = ge.shape[0]
    kk = np.maximum.outer(np.arange(m), np.arange(m))
    hess = total[kk] - ge @ ge.T
    try:
        step = np.linalg.solve(hess, grad)
    except np.linalg.LinAlgError:
        step = grad / np.maximum(np.diag(hess), 1e-12)
    np.clip(step, -MAX_STEP, MAX_STEP, out=step)
    est.thresholds += step
    shift = est.thresholds.mean()
    est.thresholds -= shift
    est.case -= shift
    return float(np.abs(step).max())


def jmle(d: Design, est: Estimates, free: dict[str, np.ndarray], *, max_iter: int,
         tol: float, thresholds: bool = True, centre: bool = True,
         targets: dict[str, np.ndarray] | None = None) -> tuple[int, float]:
    """Joint maximum likelihood by alternating Newton steps; ``est`` is updated in place.

    ``free`` says which elements of each facet are estimated (the others stay fixed);
    ``targets`` gives the raw score each element must reproduce (by default its observed
    score). Returns the number of iterations and the last largest change.
    """
    if targets is None:
        targets = {"case": np.bincount(d.case, d.x, minlength=d.n_case),
                   "officer": np.bincount(d.officer, d.x, minlength=d.n_officer)}
        if d.office is not None:
            targets["office"] = np.bincount(d.office, d.x, minlength=d.n_office)
    observed_ge = np.array([(d.x >= k).sum() for k in range(1, d.m + 1)], dtype=float)
    names = ["case", "officer"] + (["office"] if d.office is not None else [])
    change = np.inf
    for it in range(1, max_iter + 1):
        tau = est.tau()
        change = 0.0
        for name in names:
            if free[name].any():
                change = max(change, _facet_step(est, d, name, targets[name], free[name],
                                                 tau))
        if thresholds:
            change = max(change, _threshold_step(est, d, observed_ge))
        if centre:
            _centre(est, d, free)
        if change < tol:
            return it, change
    return max_iter, change


def adjusted_targets(d: Design, flags: dict[str, np.ndarray], adjust: float
                     ) -> dict[str, np.ndarray]:
    """Raw scores with extreme elements' scores moved ``adjust`` score points inward."""
    out = {}
    for name, idx, n in (("case", d.case, d.n_case), ("officer", d.officer, d.n_officer),
                         ("office", d.office, d.n_office)):
        if idx is None:
            continue
        score = np.bincount(idx, d.x, minlength=n).astype(float)
        cnt = np.bincount(idx, minlength=n)
        f = flags[name]
        score[f < 0] = adjust
        score[f > 0] = cnt[f > 0] * d.m - adjust
        out[name] = score
    return out


def components(d: Design) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected subsets of the design: cases and officers linked by a rating.

    Returns the number of subsets and the subset label of each case and officer.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = d.n_case + d.n_officer
    graph = coo_matrix((np.ones(d.x.size), (d.case, d.n_case + d.officer)), shape=(n, n))
    k, labels = connected_components(graph, directed=False)
    return k, labels[:d.n_case], labels[d.n_case:]


def fit_statistics(x: np.ndarray, e: np.ndarray, w: np.ndarray, c: np.ndarray,
                   idx: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Infit and outfit mean-squares and their ZSTD (Wilson-Hilferty) per element.

    Outfit = mean of ``z^2``; infit = ``sum y^2 / sum W``; their model variances are
    ``sum(C / W^2) / N^2 - 1 / N`` and ``sum(C - W^2) / (sum W)^2`` (Wright & Masters
    1982, ch. 5); ``ZSTD = (MnSq^(1/3) - 1) * 3 / q + q / 3``.
    """
    y = x - e
    z2 = y * y / w
    cnt = np.bincount(idx, minlength=n).astype(float)
    sw = np.bincount(idx, w, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        outfit = np.bincount(idx, z2, minlength=n) / cnt
        infit = np.bincount(idx, y * y, minlength=n) / sw
        q_out = np.sqrt(np.maximum(np.bincount(idx, c / (w * w), minlength=n) / cnt ** 2
                                   - 1.0 / cnt, 0.0))
        q_in = np.sqrt(np.maximum(np.bincount(idx, c - w * w, minlength=n) / sw ** 2, 0.0))
        zo = (np.cbrt(outfit) - 1.0) * 3.0 / q_out + q_out / 3.0
        zi = (np.cbrt(infit) - 1.0) * 3.0 / q_in + q_in / 3.0
    return {"infit": infit, "infit_zstd": zi, "outfit": outfit, "outfit_zstd": zo}
