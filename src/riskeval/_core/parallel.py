"""Running chunks of independent work here, on joblib workers or on a Dask cluster.

Every simulation study in riskeval gives each simulation its own seed before the work is cut
into chunks, so the results do not depend on where a chunk runs; this module only dispatches
the chunks and returns their results in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from numbers import Real
from typing import Any

from ..errors import RiskevalError

__all__ = ["check_backend", "check_jobs", "map_chunks"]


def check_jobs(n_jobs: Any) -> int:
    """``n_jobs`` as joblib reads it (1 here, -1 every core), checked.

    Examples
    --------
    >>> check_jobs(2)
    2
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Real) \
            or not float(n_jobs).is_integer() or n_jobs == 0:
        raise RiskevalError(f"n_jobs must be a whole number other than 0 (1 runs here, -1 uses "
                            f"every core); got n_jobs={n_jobs!r}")
    return int(n_jobs)


def check_backend(backend: Any, client: Any = None) -> Any:
    """The Dask client for ``backend="dask"`` (``client``, or the current default one), None
    for ``"local"``; a clear error for anything else or a missing Dask.

    Examples
    --------
    >>> check_backend("local") is None
    True
    """
    if backend not in ("local", "dask"):
        raise RiskevalError(f"backend={backend!r}; expected 'local' or 'dask'")
    if backend == "local":
        return None
    try:
        from distributed import get_client
    except ImportError:
        raise RiskevalError("backend='dask' needs the optional dependency: pip install "
                            "'riskeval[dask]'") from None
    try:
        return client if client is not None else get_client()
    except ValueError as exc:
        raise RiskevalError(f"backend='dask' needs a Dask client: pass client= or start "
                            f"a distributed.Client first ({exc})") from None


def map_chunks(fn: Callable[..., Any], chunks: Sequence[Any], *, args: tuple = (),
               n_jobs: int = 1, client: Any = None) -> Iterator[Any]:
    """``fn(*args, chunk)`` for every chunk, yielded in the order of ``chunks``: on the Dask
    ``client`` when given, else here (``n_jobs=1``) or on joblib worker processes.

    Examples
    --------
    >>> list(map_chunks(sum, [[1, 2], [3]]))
    [3, 3]
    """
    if client is not None:
        futures = client.map(fn, *[[a] * len(chunks) for a in args], chunks, pure=False)
        for fut in futures:
            yield fut.result()
    elif n_jobs == 1:
        for c in chunks:
            yield fn(*args, c)
    else:
        from joblib import Parallel, delayed

        yield from Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(fn)(*args, c) for c in chunks)
