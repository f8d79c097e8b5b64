"""Parameters with provenance, and their validation.

Every number in the generative world is a :class:`Param`: a value, a kind (what values are
legal), a one-line meaning and its provenance -- a published figure with its citation, or an
assumption with a name. ``World.parameters()`` lists them all as a table.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import RiskevalError
from .results import Result

#: Assumptions are labelled with this prefix in every provenance string.
ASSUMPTION = "assumption"


def assumption(label: str, why: str) -> str:
    """A provenance string for a modelling assumption with a name (no published source)."""
    return f"{ASSUMPTION} [{label}]: {why}"


_KINDS = {
    "real": "a finite number",
    "nonneg": "a finite number >= 0",
    "positive": "a finite number > 0",
    "prob": "a probability in [0, 1]",
    "count": "a whole number >= 1",
    "seed": "a whole number >= 0",
    "year": "a finite calendar year",
}


@dataclass(frozen=True)
class Param:
    """One parameter of the generative world."""

    name: str
    value: Any
    kind: str
    meaning: str
    provenance: str

    def with_value(self, value: Any, where: str) -> Param:
        """A copy holding ``value``, checked against the parameter's kind."""
        return replace(self, value=check_value(value, self.kind, f"{where}.{self.name}"))


def check_value(value: Any, kind: str, where: str) -> Any:
    """Validate ``value`` against ``kind``; raise a :class:`RiskevalError` naming ``where``."""
    if kind in ("real", "nonneg", "positive", "prob", "year"):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise RiskevalError(f"{where} must be {_KINDS[kind]}; got {value!r}")
        v = float(value)
        ok = math.isfinite(v) and (
            kind in ("real", "year") or (kind == "nonneg" and v >= 0)
            or (kind == "positive" and v > 0) or (kind == "prob" and 0 <= v <= 1))
        if not ok:
            raise RiskevalError(f"{where} must be {_KINDS[kind]}; got {value!r}")
        return v
    if kind in ("count", "seed"):
        low = 1 if kind == "count" else 0
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise RiskevalError(f"{where} must be {_KINDS[kind]}; got {value!r}")
        return int(value)
    if kind.startswith("choice:"):
        options = kind.split(":", 1)[1].split("|")
        if value not in options:
            raise RiskevalError(f"{where} must be one of {options}; got {value!r}"
                                f"{suggest(str(value), options)}")
        return value
    if kind.startswith("subset:"):
        options = kind.split(":", 1)[1].split("|")
        values = (value,) if isinstance(value, str) else tuple(value)
        bad = [v for v in values if v not in options]
        if bad or not values:
            hint = suggest(str(bad[0]), options) if bad else ""
            raise RiskevalError(f"{where} must be a non-empty list drawn from {options}; "
                                f"got {list(values)!r}{hint}")
        return values
    raise AssertionError(f"unknown parameter kind {kind!r}")  # pragma: no cover


def suggest(name: str, options: Iterable[str]) -> str:
    """A " (did you mean 'x'?)" hint, or an empty string."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class ParamSet(Result):
    """An ordered, immutable set of parameters (each a value with its meaning and
    provenance) belonging to one component.

    It follows the result protocol: ``to_frame()`` lists the parameters with their values,
    meanings and provenance, ``summary()`` prints them and Jupyter shows them as a table.

    Examples
    --------
    >>> ps = ParamSet("demo", (P("n", 3, "count", "officers", "a user choice"),
    ...                        P("p", 0.2, "prob", "share trained", "a user choice")))
    >>> ps["n"], ps.updated({"p": 0.5})["p"]
    (3, 0.5)
    >>> ps.to_frame()[["parameter", "value"]].values.tolist()
    [['n', 3], ['p', 0.2]]
    """

    component: str
    params: tuple[Param, ...]

    def _title(self) -> str:
        return f"parameters of {self.component}"

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: ``parameter``, ``value``, ``meaning``, ``provenance``,
        ``is_assumption``."""
        cols = ["parameter", "value", "meaning", "provenance", "is_assumption"]
        frame = pd.DataFrame(self.rows(), columns=["component", *cols])[cols]
        frame["value"] = pd.Series([p.value for p in self.params], dtype=object)  # as given
        return frame

    def summary(self) -> str:
        """One line per parameter: its name, value and meaning."""
        lines = [self._title()]
        lines += [f"  {p.name} = {p.value!r}: {p.meaning}" for p in self.params]
        return "\n".join(lines)

    def __getitem__(self, name: str) -> Any:
        for p in self.params:
            if p.name == name:
                return p.value
        raise RiskevalError(f"{self.component} has no parameter {name!r}; it has "
                            f"{[p.name for p in self.params]}{suggest(name, self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def updated(self, values: Mapping[str, Any]) -> ParamSet:
        """A copy with some values replaced (validated; unknown names are an error)."""
        unknown = [k for k in values if k not in self.names]
        if unknown:
            raise RiskevalError(
                f"{self.component} has no parameter {unknown[0]!r}; its parameters are "
                f"{list(self.names)}{suggest(unknown[0], self.names)}")
        new = tuple(p.with_value(values[p.name], self.component) if p.name in values else p
                    for p in self.params)
        return replace(self, params=new)

    def rows(self, **extra: Any) -> list[dict[str, Any]]:
        return [{"component": self.component, **extra, "parameter": p.name, "value": p.value,
                 "meaning": p.meaning, "provenance": p.provenance,
                 "is_assumption": p.provenance.startswith(ASSUMPTION)} for p in self.params]


def params_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The tidy parameter table shown by ``World.parameters()``."""
    cols = ["component", "enabled", "parameter", "value", "meaning", "provenance",
            "is_assumption"]
    frame = pd.DataFrame([{"enabled": True, **r} for r in rows], columns=cols)
    frame["enabled"] = frame["enabled"].astype(bool)
    return frame


def P(name: str, value: Any, kind: str, meaning: str, provenance: str) -> Param:
    """Shorthand constructor used in the parameter registries."""
    return Param(name, check_value(value, kind, name), kind, meaning, provenance)
