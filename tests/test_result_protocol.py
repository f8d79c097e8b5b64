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

``PENDING`` lists what does not conform yet (empty since issue 16); the test also fails when
something listed there conforms (so the list only shrinks).
"""

from __future__ import annotations

import importlib
import inspect
import typing

import pandas as pd
import pytest

from _api import public_modules
from riskeval._core.results import Result

PROTOCOL = ("to_frame", "summary", "_repr_html_")

#: Functions whose job is to make, read or reshape data: they return tables by design.
DATA_FUNCTIONS = {
    "riskeval.simulate", "riskeval.read_ratings", "riskeval.to_long", "riskeval.wide_to_long",
    "riskeval.validate_ratings", "riskeval.data.read_table",
    "riskeval.data.compas.load_compas", "riskeval.data.datasets.example_ratings",
    "riskeval.world.vignettes.population", "riskeval.world.vignettes.factorial",
    "riskeval.world.vignettes.assess_truth", "riskeval.world.vignettes.validate_vignettes",
    "riskeval.world.raters.make_officers", "riskeval.world.raters.make_offices",
    "riskeval.world.raters.train", "riskeval.world.narratives.rating_sheet",
    "riskeval.prediction.baserates.simulate_outcomes", "riskeval.skills.supervision_table",
    "riskeval.world.vignettes.parameters", "riskeval.world.raters.parameters",
    "riskeval.skills.parameters", "riskeval.world.narratives.narratives",
}


def _public_objects() -> dict[str, object]:
    """Every public function and class, under the first public path that exports it."""
    out: dict[str, object] = {}
    seen: set[int] = set()
    for name in public_modules():
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


#: What does not conform yet.
PENDING: set[str] = set()


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
