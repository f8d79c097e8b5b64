"""Plain-language findings, each resting on one number, and the methods appendix."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._compute import Audit
    from ._rater_effects import RaterEffects


@dataclass(frozen=True)
class Finding:
    """One plain-language finding: a title, a paragraph, and the number it rests on.

    Examples
    --------
    >>> f = Finding("agreement", "How far officers agree", "Alpha is 0.62.", 0.62, 0.55, 0.68)
    >>> f.title, f.value
    ('How far officers agree', 0.62)
    """

    key: str
    title: str
    text: str
    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan


ALPHA = "Krippendorff's alpha (ordinal)"

#: (name, what it measures, reference) for the methods appendix
METHODS = (
    ("Officers and offices", "With an office column, an officer is the office and officer id "
     "together, in every table and model: officers numbered 1, 2, 3... within each office are "
     "different people, and an id used in two offices is two officers (labelled "
     "'office / officer' where ids repeat across offices). Identifiers are compared without "
     "surrounding spaces, and read from a file as text (007 and 7 are two officers); only "
     "an empty cell counts as missing.",
     "A convention of this report, not a published method."),
    ("Percent agreement", "Share of pairs of officers rating the same case who chose the same "
     "level; no allowance for chance.", "Gwet, K. L. (2014). Handbook of Inter-Rater "
     "Reliability, 4th ed. Advanced Analytics."),
    ("Fleiss' kappa", "Agreement beyond what chance would give, for many raters.",
     "Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. "
     "Psychological Bulletin 76(5), 378-382."),
    ("Gwet's AC1 / AC2", "Chance-corrected agreement that stays stable when one level is much "
     "more common than the others; AC2 gives partial credit to near misses.",
     "Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence "
     "of high agreement. British Journal of Mathematical and Statistical Psychology 61, 29-48."),
    ("Brennan-Prediger", "Chance-corrected agreement with every level equally likely by chance.",
     "Brennan, R. L. & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses, and "
     "alternatives. Educational and Psychological Measurement 41, 687-699."),
    ("Krippendorff's alpha (ordinal)", "Disagreement observed relative to disagreement "
     "expected by chance, with ordinal distances and missing ratings allowed. 0.8 or more is "
     "usually read as reliable, below 0.667 as too unreliable to draw conclusions.",
     "Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology, 2nd ed. "
     "Sage; Hayes, A. F. & Krippendorff, K. (2007). Communication Methods and Measures 1(1)."),
    ("Intervals: officers like these", "The intervals of the overall agreement coefficients "
     "allow for the officers being a sample of officers like them, as well as the cases "
     "being a sample of cases (a jackknife over cases and officers together); they are wider "
     "than intervals for these officers only. Within each office the intervals are for that "
     "office's own officers (cases vary, the team is fixed).",
     "Efron, B. & Stein, C. (1981). The jackknife estimate of variance. Annals of Statistics "
     "9(3), 586-596."),
    ("Intraclass correlations (ICC)", "Share of rating variance due to real differences "
     "between cases, treating the levels 1-4 as scores.", "Shrout, P. E. & Fleiss, J. L. "
     "(1979). Psychological Bulletin 86(2), 420-428; McGraw, K. O. & Wong, S. P. (1996). "
     "Psychological Methods 1(1), 30-46."),
    ("Crossed linear mixed model", "Splits the variance of the level scores into case, "
     "office, officer-within-office and residual parts (REML); profile-likelihood intervals.",
     "Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects "
     "models using lme4. Journal of Statistical Software 67(1)."),
    ("Ordinal mixed model", "The same split on the latent (probit) scale of a cumulative link "
     "model, which respects that the levels are ordered categories (Laplace approximation).",
     "Christensen, R. H. B. (2019). ordinal: regression models for ordinal data. R package."),
    ("Funnel plot", "Each office's share of high ratings against the overall share, with "
     "exact binomial 95% and 99.8% control limits: an office outside the 99.8% limits is "
     "unlikely to differ by chance alone.", "Spiegelhalter, D. J. (2005). Funnel plots for "
     "comparing institutional performance. Statistics in Medicine 24(8), 1185-1202."),
    ("Upward and downward departures", "Shares of ratings above and below the reference level, "
     "with intervals that allow for ratings by the same officer being related (cluster-robust).",
     "Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust "
     "inference. Journal of Human Resources 50(2), 317-372."),
    ("Many-facet Rasch analysis (rater effects)", "Each officer's and office's severity on "
     "one logit scale, estimated from the cases they share (a rating-scale model fitted by "
     "joint maximum likelihood, as FACETS does). The fair average is the level an officer "
     "would give a case of average risk. Separation reliability near 0 means officers are "
     "interchangeable; near 1, that they differ reliably. Infit mean-squares above 1.5 mark "
     "erratic ratings, below 0.5 ratings more predictable than the cases warrant. Central "
     "tendency compares an officer's share of ratings at the lowest or highest level with "
     "the share the model expects for the cases they rated. Differential severity and drift "
     "are FACETS' bias analyses (officer x case attribute, officer x year). Every flag uses "
     "Holm's adjustment over the officers or cells tested.",
     "Linacre, J. M. (1989). Many-Facet Rasch Measurement. MESA Press; Myford, C. M. & "
     "Wolfe, E. W. (2003, 2004). Detecting and measuring rater effects using many-facet "
     "Rasch measurement. Journal of Applied Measurement 4(4), 386-422; 5(2), 189-227."),
    ("Bowker's test of symmetry", "Whether moves from one level to another are as common as "
     "the reverse moves.", "Bowker, A. H. (1948). A test for symmetry in contingency tables. "
     "JASA 43(244), 572-574."),
)


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


def _ci(lo: float, hi: float, pct: bool = False) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f" (95% interval {_pct(lo)} to {_pct(hi)})" if pct else \
        f" (95% interval {lo:.2f} to {hi:.2f})"


def _alpha_words(a: float) -> str:
    if a >= 0.8:
        return "good enough to rely on (0.8 or more)"
    if a >= 0.667:
        return "enough only for tentative conclusions (between 0.667 and 0.8)"
    return "below 0.667, the level usually taken as too unreliable to draw conclusions from"


def _names(xs: list) -> str:
    return ", ".join(map(str, xs)) if xs else "none"


def findings(a: Audit) -> list[Finding]:
    """The findings of an audit, in reading order."""
    out: list[Finding] = []
    ag = a.agreement
    pa = ag.loc["Percent agreement"]
    al = ag.loc[ALPHA]
    if math.isfinite(al["estimate"]):
        chance = (f"Allowing for agreement by chance, Krippendorff's alpha is "
                  f"{al['estimate']:.2f}{_ci(al['ci_low'], al['ci_high'])}, which is "
                  f"{_alpha_words(al['estimate'])}."
                  + (" The interval allows for these officers being a sample of officers "
                     "like them." if math.isfinite(al["ci_low"]) else ""))
    elif "one category" in str(al.get("note", "")) or not str(al.get("note", "")):
        chance = ("Krippendorff's alpha is not defined here: every rating that can be "
                  "compared is in one level, so there is no variation for officers to agree "
                  "or disagree about.")
    else:
        chance = f"Krippendorff's alpha is not defined here ({al['note']})."
    out.append(Finding(
        "agreement", "How often officers agree",
        f"When two officers rated the same case they chose the same level "
        f"{_pct(pa['estimate'])} of the time{_ci(pa['ci_low'], pa['ci_high'], True)}. "
        + chance, float(al["estimate"]), float(al["ci_low"]), float(al["ci_high"])))

    v = a.variance
    share = v["share"]
    parts = [f"{_pct(share['case'])} lies between cases (the differences in risk the "
             f"assessments should reflect)"]
    if "office" in share.index:
        parts.append(f"{_pct(share['office'])} between offices")
    parts.append(f"{_pct(share['officer'])} between officers"
                 + (" in the same office" if "office" in share.index else ""))
    parts.append(f"{_pct(share['residual'])} is inconsistency that follows no officer or "
                 f"office pattern")
    judged = 1 - share["case"]
    if share.isna().all():
        text = ("The ratings do not vary at all, so there is no variation to divide between "
                "cases, offices and officers.")
    else:
        text = ("Of all the variation in ratings, " + ", ".join(parts[:-1])
                + f", and {parts[-1]}. So {_pct(judged)} of the variation comes from who "
                f"assessed the case and where, not from the case itself.")
    out.append(Finding("variation", "Where the differences come from", text, float(judged)))

    if a.agreement_by_office is not None:
        per = a.agreement_by_office[a.agreement_by_office["coefficient"] == ALPHA]
        per = per.dropna(subset=["estimate"])
        if len(per):
            key = per.columns[0]
            lo, hi = per.loc[per["estimate"].idxmin()], per.loc[per["estimate"].idxmax()]
            out.append(Finding(
                "office_agreement", "Agreement within each office",
                f"Within offices, alpha ranged from {lo['estimate']:.2f} ({lo[key]}) to "
                f"{hi['estimate']:.2f} ({hi[key]}). Officers in the same office agree with "
                f"each other no better than this, before any comparison with other offices.",
                float(per["estimate"].min())))

    if a.funnel is not None:
        t = a.funnel.table
        hi_lab = a.meta["high_from"]
        out99 = [f"{g} ({t.loc[g, 'direction']})" for g in t.index[t["outside_99.8"]]]
        out95 = [f"{g} ({t.loc[g, 'direction']})"
                 for g in t.index[t["outside_95"] & ~t["outside_99.8"]]]
        out.append(Finding(
            "funnel", "Offices compared fairly",
            f"Overall {_pct(a.funnel.target)} of ratings were '{hi_lab}' or above. Allowing "
            f"for ratings by the same officer being alike, offices outside the 99.8% limits "
            f"(very unlikely to differ by chance): {_names(out99)}. Outside only the 95% "
            f"limits (worth a look, could be chance): {_names(out95)}."
            + (f" Taken together the offices' rates vary more than chance alone allows "
               f"(overdispersion {a.funnel.phi_raw:.1f}, p = {a.funnel.phi_pvalue:.2g})."
               if a.funnel.phi_pvalue < 0.05 else ""),
            float(len(out99))))

    if a.reference is not None:
        d = a.reference["directional"].loc["(all)"]
        sym = a.reference["symmetry"]
        out.append(Finding(
            "direction", "Direction of disagreement with the reference",
            f"{_pct(d['upward'])} of ratings were above the reference level and "
            f"{_pct(d['downward'])} below it. The difference, {_pct(d['net'])}"
            f"{_ci(d['net_low'], d['net_high'], True)}, is the signature of defensive "
            f"inflation, but on its own it cannot separate inflation from officers who are "
            f"simply more severe. {sym.summary()}.", float(d["net"]), float(d["net_low"]),
            float(d["net_high"])))
    if a.inflation_trend is not None:
        tr = a.inflation_trend
        out.append(Finding(
            "inflation_trend", "Is inflation growing?",
            f"Relative to the reference, ratings drifted by {tr['estimate']:+.3f} latent "
            f"units per year{_ci(tr['ci_low'], tr['ci_high'])}; a positive drift means ratings "
            f"rise above the evidence more each year.", float(tr["estimate"]),
            float(tr["ci_low"]), float(tr["ci_high"])))
    if a.anchoring is not None and "asymmetry" in a.anchoring.index:
        an = a.anchoring
        gap = an.loc["asymmetry"]
        out.append(Finding(
            "anchoring", "Do ratings follow the evidence down as well as up?",
            f"When the evidence improved, {_pct(an.loc['down', 'downgraded'])} of repeat "
            f"assessments were lowered; when it worsened, {_pct(an.loc['up', 'upgraded'])} "
            f"were raised. The gap, {_pct(an.loc['asymmetry', 'upgraded'])}"
            f"{_ci(gap['upgraded_low'], gap['upgraded_high'], True)}"
            f", is the signature of anchoring: a high rating, once given, sticks.",
            float(an.loc["asymmetry", "upgraded"])))
    if a.overrides is not None:
        o = a.overrides.loc["(all)"]
        text = (f"Managers changed {_pct(o['changed'])} of officers' ratings "
                f"({_pct(o['raised'])} raised, {_pct(o['lowered'])} lowered).")
        if "agreement_change" in a.overrides.columns:
            text += (f" Agreement with the reference went from {_pct(o['agree_before'])} "
                     f"to {_pct(o['agree_after'])}.")
        out.append(Finding("overrides", "Manager overrides", text, float(o["changed"])))
    if a.rater_effects is not None:
        out.extend(_rater_findings(a.rater_effects))
    return out


def _level(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.2f}"


def _rater_findings(r: RaterEffects) -> list[Finding]:
    """Severity, fit, central tendency, differential severity and drift, one number each."""
    from ._rater_effects import ALPHA_FLAG, FIT_HIGH, FIT_LOW

    out = []
    t = r.officers[r.officers["extreme"] == ""]
    n = len(r.officers)
    rel = float(r.facets.loc["officer", "reliability"]) if "officer" in r.facets.index \
        else math.nan
    fair = t["fair_average"]
    sig = t[t["severity_p_holm"] < ALPHA_FLAG]
    within = " than colleagues in their office" if "office" in t.columns else \
        " than their colleagues"
    text = (f"On the cases they share, {len(sig)} of {n} officers rate reliably higher or "
            f"lower{within} (Holm-adjusted). Officer separation reliability is {_level(rel)}: "
            f"0 would mean the officers are interchangeable, 1 that their differences in "
            f"severity are measured precisely.")
    if len(fair):
        text += (f" Their fair averages, the level each would give a case of average risk "
                 f"(levels numbered from 1), run from {_level(fair.min())} ({fair.idxmin()}) "
                 f"to {_level(fair.max())} ({fair.idxmax()}).")
    if r.offices is not None and len(r.offices):
        of = r.offices["fair_average"]
        text += (f" Offices' fair averages run from {_level(of.min())} ({of.idxmin()}) to "
                 f"{_level(of.max())} ({of.idxmax()}).")
    out.append(Finding("rater_severity", "Officers' severity on the same cases", text, rel))

    erratic = t.index[t["infit"] > FIT_HIGH].tolist()
    muted = t.index[t["infit"] < FIT_LOW].tolist()
    out.append(Finding(
        "rater_fit", "Officers whose ratings fit the pattern poorly",
        f"{len(erratic)} of {n} officers rate more erratically than their cases and "
        f"colleagues predict (infit above {FIT_HIGH}): {_names(erratic[:10])}"
        f"{' ...' if len(erratic) > 10 else ''}. {len(muted)} rate more predictably than "
        f"expected (infit below {FIT_LOW}), often a sign of central tendency or of rating "
        f"every case alike.", float(len(erratic))))

    avoid = t.index[(t["end_p_holm"] < ALPHA_FLAG) & (t["end_z"] < 0)].tolist()
    ends = t.index[(t["end_p_holm"] < ALPHA_FLAG) & (t["end_z"] > 0)].tolist()
    c = r.centrality
    differ = ("differ in how often they use them more than chance allows"
              if c["p"] < ALPHA_FLAG else "differ in this no more than chance allows")
    out.append(Finding(
        "central_tendency", "Avoiding the lowest and highest levels (central tendency)",
        f"Compared with what the cases they rated warrant, officers {differ} (dispersion "
        f"{c['dispersion']:.2f}, where 1 is chance; chi-square {c['chi2']:.1f} on "
        f"{int(c['df'])} df, p = {c['p']:.2g}). {len(avoid)} of {n} officers avoid the "
        f"lowest and highest levels clearly enough to be named on their own (Holm-adjusted): "
        f"{_names(avoid[:10])}{' ...' if len(avoid) > 10 else ''}; {len(ends)} use them more "
        f"than expected.", float(c["dispersion"])))

    if r.differential is not None:
        d = r.differential
        hit = d[d["p_holm"] < ALPHA_FLAG]
        text = (f"Of {int(d['p'].notna().sum())} officer x "
                f"{' / '.join(r.attributes)} combinations tested, {len(hit)} show an officer "
                f"rating one kind of case differently from their own overall level "
                f"(Holm-adjusted p < {ALPHA_FLAG}).")
        if len(hit):
            top = hit.loc[hit["bias"].abs().idxmax()]
            text += (f" The largest: officer {top['officer']} rated cases with "
                     f"{top['attribute']} = {top['value']} {abs(top['bias']):.2f} logits "
                     f"{'higher' if top['bias'] > 0 else 'lower'} than expected "
                     f"({int(top['count'])} ratings).")
        out.append(Finding("differential_severity", "Officers who rate some kinds of case "
                           "differently", text, float(len(hit))))
    if r.drift is not None:
        d = r.drift
        hit = d[d["p_holm"] < ALPHA_FLAG]
        movers = sorted(set(map(str, hit["officer"])))
        out.append(Finding(
            "rater_drift", "Officers whose severity moved over the years",
            f"Of {int(d['p'].notna().sum())} officer x year combinations tested, {len(hit)} "
            f"depart from the officer's overall level (Holm-adjusted), for {len(movers)} "
            f"officer(s): {_names(movers[:10])}{' ...' if len(movers) > 10 else ''}.",
            float(len(hit))))
    return out
