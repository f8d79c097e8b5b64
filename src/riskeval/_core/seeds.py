"""The one seed rule: every public callable that draws random numbers takes ``seed`` and turns
it into random numbers here.

``seed`` may be

- ``None``: fresh entropy from the operating system (a different result each call);
- a non-negative ``int``: the same result every time;
- a :class:`numpy.random.SeedSequence`: as for an int, and the way to hand child streams on
  (:func:`spawn`);
- a :class:`numpy.random.Generator`: its next draws are used (the Generator moves on, as any
  use of it does).

An int ``s`` gives exactly ``numpy.random.default_rng(s)`` and ``SeedSequence(s)``, so results
are those of numpy's own seeding. Independent child streams (one per simulation, per group,
per estimator) come from :func:`spawn`, never from ``seed + i``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RiskevalError, RiskevalTypeError

__all__ = ["check_seed", "rng", "seed_sequence", "spawn"]

SEED_TYPES = "a non-negative int, a numpy SeedSequence or Generator, or None"


def check_seed(seed: Any, name: str = "seed") -> None:
    """Raise a clear error unless ``seed`` is one of the accepted kinds.

    Examples
    --------
    >>> check_seed(3)
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    riskeval.errors.RiskevalError: seed must be a non-negative int (numpy's seeds are); got -1
    """
    if seed is None or isinstance(seed, np.random.SeedSequence | np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise RiskevalTypeError(f"{name} must be {SEED_TYPES}; got {type(seed).__name__} "
                                f"{seed!r}")
    if seed < 0:
        raise RiskevalError(f"{name} must be a non-negative int (numpy's seeds are); got {seed}")


def seed_sequence(seed: Any, name: str = "seed") -> np.random.SeedSequence:
    """A :class:`numpy.random.SeedSequence` for ``seed``.

    A SeedSequence is copied (spawning from the copy leaves the caller's object unchanged); a
    Generator gives one 128-bit draw of entropy.

    Examples
    --------
    >>> seed_sequence(7).entropy
    7
    """
    check_seed(seed, name)
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key,
                                      pool_size=seed.pool_size)
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2 ** 63)) << 64
                                      | int(seed.integers(0, 2 ** 63)))
    return np.random.SeedSequence(None if seed is None else int(seed))


def rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """A :class:`numpy.random.Generator` for ``seed`` (a Generator is returned as it is).

    Examples
    --------
    >>> float(rng(1).random()) == float(np.random.default_rng(1).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed_sequence(seed, name))


def spawn(seed: Any, n: int, name: str = "seed") -> list[np.random.SeedSequence]:
    """``n`` independent child seeds of ``seed`` (the children of its SeedSequence).

    Examples
    --------
    >>> a, b = spawn(5, 2)
    >>> a.spawn_key, b.spawn_key
    ((0,), (1,))
    """
    return seed_sequence(seed, name).spawn(int(n))
