"""The public API as the tests see it (test helper, not a test module): riskeval's modules
without a leading underscore anywhere in their path, and the names each makes public."""

from __future__ import annotations

import pkgutil
import types

import riskeval


def public_modules() -> list[str]:
    """``riskeval`` and every module below it whose path has no part starting with ``_``."""
    names = ["riskeval"]
    for info in pkgutil.walk_packages(riskeval.__path__, "riskeval."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


def public_names(module: types.ModuleType) -> list[str]:
    """``__all__`` where the module declares it (``__version__`` aside), else what it defines
    without a leading underscore."""
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return [n for n in declared if n != "__version__"]
    return [
        name for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    ]
