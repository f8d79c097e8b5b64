"""Exceptions and warnings raised by riskeval.

Every problem with user input raises :class:`RiskevalError` (a ``ValueError``) whose message
names the column, row or value at fault and what was expected. Degenerate but legal data
(one category used, zero variance) emits :class:`DegenerateDataWarning` and returns a
documented value.

A message that tells the user to pass an option names it as the user would write it:
``occasion=`` from Python, ``--occasion`` on the command line (:func:`option`; the command
line tool sets :func:`command_line_options` while it runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["DegenerateDataWarning", "RiskevalError", "RiskevalTypeError", "RiskevalWarning",
           "command_line_options", "has_option", "option"]


class RiskevalError(ValueError):
    """Bad input that the user can fix; the message says what and where.

    Examples
    --------
    >>> import riskeval as rv
    >>> try:
    ...     rv.icc([[1, 2], [2, 3]], form="ICC9")
    ... except rv.RiskevalError as exc:
    ...     print(exc)
    form='ICC9' is not known; expected one of 'ICC1', 'ICC2', 'ICC3', 'ICC1k', 'ICC2k', 'ICC3k'
    >>> issubclass(RiskevalError, ValueError)
    True
    """


class RiskevalTypeError(RiskevalError, TypeError):
    """An argument of the wrong type (for example a list where a DataFrame is needed).

    A :class:`RiskevalError`, so ``except RiskevalError`` catches every input problem, and a
    ``TypeError``, as Python's own type errors are.

    Examples
    --------
    >>> import riskeval as rv
    >>> try:
    ...     rv.by_group(rv.fleiss_kappa, [[1, 2]], group="office", case="case",
    ...                 rater="rater", rating="rating")
    ... except TypeError as exc:
    ...     print(type(exc).__name__, isinstance(exc, RiskevalError))
    RiskevalTypeError True
    """


class RiskevalWarning(UserWarning):
    """Base class of riskeval warnings.

    Examples
    --------
    Turn every riskeval warning into an error, leaving other warnings alone:

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", RiskevalWarning)
    ...     try:
    ...         warnings.warn("one category only", DegenerateDataWarning)
    ...     except RiskevalWarning as w:
    ...         print(type(w).__name__)
    DegenerateDataWarning
    """


class DegenerateDataWarning(RiskevalWarning):
    """The data are legal but the coefficient is undefined or uninformative on them.

    The result still comes back, with NaN where the value is undefined and the reason in
    its ``note``.

    Examples
    --------
    Every officer gave every case the same level, so Fleiss' kappa is 0 / 0:

    >>> import warnings
    >>> import riskeval as rv
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     res = rv.fleiss_kappa([[2, 2, 2], [2, 2, 2], [2, 2, 2]])
    >>> caught[0].category.__name__, res.estimate
    ('DegenerateDataWarning', nan)
    """


_COMMAND_LINE: ContextVar[frozenset[str] | None] = ContextVar("riskeval_command_line",
                                                              default=None)

#: Python keyword -> command-line option, where the two are not spelt alike
_FLAGS = {"sep": "delimiter", "rater": "rater", "n_jobs": "jobs"}


def option(name: str, value: str | None = None) -> str:
    """An option as the user writes it: ``name=`` (``name='value'``) from Python,
    ``--name`` (``--name 'value'``) on the command line.

    Examples
    --------
    >>> option("categories")
    'categories='
    >>> option("level", "nominal")
    "level='nominal'"
    >>> with command_line_options(["level"]):
    ...     option("level", "nominal")
    "--level 'nominal'"
    """
    if _COMMAND_LINE.get() is not None:
        flag = "--" + _FLAGS.get(name, name).replace("_", "-")
        return flag if value is None else f"{flag} '{value}'"
    return f"{name}=" if value is None else f"{name}='{value}'"


def has_option(name: str) -> bool:
    """Whether the user can pass this option where they are (every keyword from Python; on
    the command line, only the running command's flags).

    Examples
    --------
    >>> has_option("occasion")
    True
    >>> with command_line_options(["case", "rater"]):
    ...     has_option("case"), has_option("occasion")
    (True, False)
    """
    flags = _COMMAND_LINE.get()
    return flags is None or _FLAGS.get(name, name).replace("_", "-") in flags


@contextmanager
def command_line_options(flags: Iterable[str] = ()) -> Iterator[None]:
    """Within this block, messages name options as command-line flags (``--occasion``);
    ``flags`` are the running command's flags, without the dashes.

    Examples
    --------
    >>> with command_line_options(["jobs"]):
    ...     option("n_jobs"), has_option("n_jobs")
    ('--jobs', True)
    >>> option("n_jobs")
    'n_jobs='
    """
    token = _COMMAND_LINE.set(frozenset(flags))
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)
