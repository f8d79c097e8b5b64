"""Conformance of every public object to the house rules (issue 16), enumerated from the package.

As scikit-learn's common tests do for estimators, the objects are found by walking the public
namespaces, not listed by hand, so a new function or result class is checked the day it is
added:

- every public function and class has an Examples section in its docstring (run as doctests
  by ``make test``);
- no public function returns a bare tuple;
- a function that returns a table is a *data* function (it makes or reshapes data), listed
  in ``DATA_FUNCTIONS``; an analysis returns a result object;
- every result class (a subclass of :class:`riskeval._core.results.Result`, or a class a
  public function returns) has ``to_frame()``, ``summary()`` and ``_repr_html_()``.

``PENDING`` lists what does not conform yet; the test also fails when something listed there
conforms (so the list only shrinks).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing

import pandas as pd
import pytest

import riskeval
from riskeval._core.results import Result

PROTOCOL = ("to_frame", "summary", "_repr_html_")

#: Functions whose job is to make, read or reshape data: they return tables by design.
DATA_FUNCTIONS = {
    "riskeval.simulate", "riskeval.read_ratings", "riskeval.to_long",
    "riskeval.validate_ratings", "riskeval.data.read_table",
    "riskeval.data.compas.load_compas", "riskeval.data.datasets.example_ratings",
    "riskeval.world.vignettes.population", "riskeval.world.vignettes.factorial",
    "riskeval.world.vignettes.assess_truth", "riskeval.world.vignettes.validate_vignettes",
    "riskeval.world.raters.make_officers", "riskeval.world.raters.make_offices",
    "riskeval.world.raters.train", "riskeval.world.narratives.rating_sheet",
    "riskeval.prediction.baserates.simulate_outcomes", "riskeval.skills.supervision_table",
    "riskeval.world.vignettes.parameters", "riskeval.world.raters.parameters",
    "riskeval.skills.parameters",
}


def _public_modules() -> list[str]:
    names = ["riskeval"]
    for info in pkgutil.walk_packages(riskeval.__path__, "riskeval."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


def _public_objects() -> dict[str, object]:
    """Every public function and class, under the first public path that exports it."""
    out: dict[str, object] = {}
    seen: set[int] = set()
    for name in _public_modules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and id(obj) not in seen:
                seen.add(id(obj))
                out[f"{name}.{attr}"] = obj
    return out


OBJECTS = _public_objects()


def _returns(fn: object) -> object:
    try:
        return typing.get_type_hints(fn).get("return", inspect.Signature.empty)
    except Exception:  # annotations naming optional dependencies
        return inspect.signature(fn).return_annotation


def _violations(path: str, obj: object) -> list[str]:
    problems = []
    doc = inspect.getdoc(obj) or ""
    if "Examples\n--------" not in doc:
        problems.append("no Examples section")
    if inspect.isfunction(obj):
        ret = _returns(obj)
        origin = typing.get_origin(ret) or ret
        if origin is tuple:
            problems.append(f"returns a bare tuple ({ret})")
        if origin in (pd.DataFrame, pd.Series) and path not in DATA_FUNCTIONS:
            problems.append("an analysis that returns a bare table, not a result")
        if inspect.isclass(origin) and origin.__module__.startswith("riskeval") \
                and not issubclass(origin, Exception):
            missing = [m for m in PROTOCOL if not hasattr(origin, m)]
            if missing and not (hasattr(origin, "fit") or hasattr(origin, "only")):
                problems.append(f"returns {origin.__name__}, which lacks {', '.join(missing)}")
    elif inspect.isclass(obj) and issubclass(obj, Result):
        missing = [m for m in PROTOCOL if not hasattr(obj, m)]
        if missing:
            problems.append(f"result class lacks {', '.join(missing)}")
    return problems


#: What does not conform yet (issue 16 empties this).
PENDING: set[str] = {
    "riskeval.DegenerateDataWarning",
    "riskeval.RiskevalError",
    "riskeval.RiskevalWarning",
    "riskeval.agreement.AgreementResult",
    "riskeval.agreement.ICCResult",
    "riskeval.agreement.PairwiseAgreement",
    "riskeval.agreement.agreement_weights",
    "riskeval.agreement.bootstrap_interval",
    "riskeval.agreement.pairwise_agreement",
    "riskeval.agreement_summary",
    "riskeval.as_ratings",
    "riskeval.audit.Audit",
    "riskeval.audit.Finding",
    "riskeval.audit.audit",
    "riskeval.audit.check_salt",
    "riskeval.audit.new_salt",
    "riskeval.audit.pseudonym",
    "riskeval.audit.read_salt",
    "riskeval.brennan_prediger",
    "riskeval.by_group",
    "riskeval.cohen_kappa",
    "riskeval.data.WideRatings",
    "riskeval.data.compas.propublica_mask",
    "riskeval.data.datasets.example_ratings",
    "riskeval.data.datasets.example_ratings_path",
    "riskeval.data.parse_categories",
    "riskeval.data.read_table",
    "riskeval.errors.RiskevalTypeError",
    "riskeval.errors.command_line_options",
    "riskeval.errors.has_option",
    "riskeval.errors.option",
    "riskeval.fleiss_kappa",
    "riskeval.gwet_ac",
    "riskeval.icc",
    "riskeval.krippendorff_alpha",
    "riskeval.mechanism_effects",
    "riskeval.percent_agreement",
    "riskeval.prediction.actuarial.AUCResult",
    "riskeval.prediction.actuarial.CalibrationResult",
    "riskeval.prediction.actuarial.DeLongTestResult",
    "riskeval.prediction.actuarial.NRIResult",
    "riskeval.prediction.actuarial.ReclassificationResult",
    "riskeval.prediction.actuarial.auc",
    "riskeval.prediction.actuarial.calibration",
    "riskeval.prediction.actuarial.delong_test",
    "riskeval.prediction.actuarial.reclassification",
    "riskeval.prediction.baserates.band_table",
    "riskeval.prediction.baserates.inflation_cost",
    "riskeval.prediction.baserates.majority_condition",
    "riskeval.prediction.baserates.share_curve",
    "riskeval.prediction.baserates.simulate_outcomes",
    "riskeval.prediction.baserates.threshold_metrics",
    "riskeval.prediction.fairness.AUCByGroup",
    "riskeval.prediction.fairness.CalibrationResult",
    "riskeval.prediction.fairness.ErrorRates",
    "riskeval.prediction.fairness.calibration_within_groups",
    "riskeval.prediction.fairness.error_rates",
    "riskeval.prediction.fairness.newcombe_difference",
    "riskeval.prediction.fairness.score_auc_by_group",
    "riskeval.prediction.fairness.wilson_interval",
    "riskeval.prediction.judgement.judgement_accuracy",
    "riskeval.prediction.judgement.mechanism_accuracy",
    "riskeval.read_ratings",
    "riskeval.simulate",
    "riskeval.skills.SkillsData",
    "riskeval.skills.calibrated_scores",
    "riskeval.skills.corrected_effect",
    "riskeval.skills.expected_rates",
    "riskeval.skills.ipw_weights",
    "riskeval.skills.jersey",
    "riskeval.skills.km_by_group",
    "riskeval.skills.officer_scores",
    "riskeval.skills.parameters",
    "riskeval.skills.rater_agreement",
    "riskeval.skills.reconviction_rate",
    "riskeval.skills.score_reliability",
    "riskeval.skills.simulate_skills",
    "riskeval.skills.skill_effect",
    "riskeval.skills.skills_params",
    "riskeval.skills.stics_2011",
    "riskeval.skills.stics_bc",
    "riskeval.skills.supervision_table",
    "riskeval.skills.training_meta",
    "riskeval.studies.CohortComparison",
    "riskeval.studies.Design",
    "riskeval.studies.Diagnosis",
    "riskeval.studies.Estimator",
    "riskeval.studies.bonett_n",
    "riskeval.studies.compare_cohorts",
    "riskeval.studies.compare_icc",
    "riskeval.studies.compare_outcomes",
    "riskeval.studies.diagnose",
    "riskeval.studies.kappa_n",
    "riskeval.studies.rater_study",
    "riskeval.studies.sample_size",
    "riskeval.studies.skills_power.power",
    "riskeval.studies.skills_power.power_curve",
    "riskeval.studies.skills_trial",
    "riskeval.studies.training_study",
    "riskeval.studies.walter_n",
    "riskeval.studies.world_study",
    "riskeval.studies.zou_n",
    "riskeval.to_long",
    "riskeval.to_wide",
    "riskeval.validate_ratings",
    "riskeval.variation.LMMResult",
    "riskeval.variation.OrdinalMixedResult",
    "riskeval.variation.bias.SymmetryResult",
    "riskeval.variation.bias.anchoring",
    "riskeval.variation.bias.directional",
    "riskeval.variation.bias.inflation_trend",
    "riskeval.variation.bias.overrides",
    "riskeval.variation.bias.symmetry",
    "riskeval.variation.crossed_lmm",
    "riskeval.variation.funnel.FunnelResult",
    "riskeval.variation.funnel.control_limits",
    "riskeval.variation.funnel.funnel",
    "riskeval.variation.ordinal_mixed",
    "riskeval.world.Design",
    "riskeval.world.disagreement_statistics",
    "riskeval.world.narratives.narratives",
    "riskeval.world.narratives.rating_sheet",
    "riskeval.world.narratives.to_csv",
    "riskeval.world.narratives.to_html",
    "riskeval.world.narratives.to_markdown",
    "riskeval.world.narratives.write_pack",
    "riskeval.world.raters.make_officers",
    "riskeval.world.raters.make_offices",
    "riskeval.world.raters.parameters",
    "riskeval.world.raters.train",
    "riskeval.world.scenarios.national",
    "riskeval.world.scenarios.six_office_study",
    "riskeval.world.sensitivity",
    "riskeval.world.vignettes.assess_truth",
    "riskeval.world.vignettes.base_case",
    "riskeval.world.vignettes.factorial",
    "riskeval.world.vignettes.parameters",
    "riskeval.world.vignettes.population",
    "riskeval.world.vignettes.validate_vignettes",
}


@pytest.mark.parametrize("path", sorted(OBJECTS))
def test_public_object_follows_the_house_rules(path: str) -> None:
    problems = _violations(path, OBJECTS[path])
    if path in PENDING:
        assert problems, f"{path} conforms now: remove it from PENDING"
        pytest.xfail("; ".join(problems))
    assert not problems, f"{path}: " + "; ".join(problems)


def test_the_walk_finds_the_package() -> None:
    """The enumeration is not vacuous: it reaches every layer."""
    layers = {p.split(".")[1] for p in OBJECTS if p.count(".") >= 1}
    assert {"agreement", "data", "world", "variation", "prediction", "skills", "studies",
            "audit"} <= layers
    assert len(OBJECTS) > 140
