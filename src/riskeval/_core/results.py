"""The one result protocol: what every analysis in riskeval returns.

Every result has

- ``to_frame()``: its numbers as a :class:`pandas.DataFrame` (for tables, CSV, further work);
- ``summary()``: a short plain-text account (what the command line prints);
- ``_repr_html_()``: how it shows itself in Jupyter (the summary's title and the table);
- ``plot()`` where a figure makes sense, drawn by :mod:`riskeval._core.plots`;
- ``estimate`` and ``ci`` where there is one headline number.

:class:`Result` gives ``summary`` and ``_repr_html_`` from ``to_frame`` and ``title``, so a
result class need only say what its table is. A class may override either for a richer
account.
"""

from __future__ import annotations

import html
from typing import Any, ClassVar

import pandas as pd

__all__ = ["Result", "SeriesResult", "TableResult"]


class Result:
    """Base of every riskeval result (see the module docstring for the protocol)."""

    #: A one-line name of the result, shown above its table.
    title: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The result's numbers as a table: a copy of its ``table`` when it has one; other
        results define their own."""
        table = getattr(self, "table", None)
        if isinstance(table, pd.DataFrame):
            return table.copy()
        raise NotImplementedError(f"{type(self).__name__} must define to_frame()")

    def _title(self) -> str:
        return self.title or type(self).__name__

    def summary(self) -> str:
        """The title and the table, as plain text."""
        frame = self.to_frame()
        with pd.option_context("display.width", 100, "display.max_columns", 20,
                               "display.float_format", "{:.4g}".format):
            return f"{self._title()}\n{frame.to_string()}"

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        with pd.option_context("display.float_format", "{:.4g}".format):
            table = frame.to_html(max_rows=60, max_cols=20)
        return f"<h4>{html.escape(self._title())}</h4>{table}"


class TableResult(pd.DataFrame, Result):
    """A result that is one table: a :class:`pandas.DataFrame` with a title and the protocol.

    For analyses whose answer is a table (per officer, per band, per mechanism...). It *is*
    the table, so everything a DataFrame does works on it (``result.loc["(all)", "net"]``,
    ``result["net"]``, ``result.to_csv(...)``); anything derived from it (a selection, a
    copy, ``reset_index()``) is a plain DataFrame. ``to_frame()`` gives the plain table.

    Examples
    --------
    >>> t = TableResult({"net": [0.1, -0.2]}, index=["a", "b"], title="Net departures")
    >>> print(t.summary())
    Net departures
       net
    a  0.1
    b -0.2
    >>> type(t.to_frame()).__name__
    'DataFrame'
    """

    _metadata: ClassVar[list[str]] = ["title"]

    def __init__(self, data: Any = None, *args: Any, title: str = "", **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        self.title = title

    @property
    def _constructor(self) -> type:
        return pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The table as a plain DataFrame (a copy)."""
        return pd.DataFrame(self, copy=True)

    def _repr_html_(self) -> str:  # the result's, not pandas'
        return Result._repr_html_(self)


class SeriesResult(pd.Series, Result):
    """A result that is one labelled row of numbers: a :class:`pandas.Series` with a title.

    ``result["slope"]`` reads a number; ``to_frame()`` gives a one-column table.

    Examples
    --------
    >>> r = SeriesResult({"slope": 0.12, "se": 0.03}, title="Drift per year")
    >>> float(r["slope"])
    0.12
    >>> r.to_frame().shape
    (2, 1)
    """

    _metadata: ClassVar[list[str]] = ["title"]

    def __init__(self, data: Any = None, *args: Any, title: str = "", **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        self.title = title

    @property
    def _constructor(self) -> type:
        return pd.Series

    @property
    def _constructor_expanddim(self) -> type:
        return pd.DataFrame

    def to_frame(self, name: Any = None) -> pd.DataFrame:
        """The numbers as a one-column table."""
        plain = pd.Series(self, copy=True)
        return plain.to_frame() if name is None else plain.to_frame(name)

    def _repr_html_(self) -> str:
        return Result._repr_html_(self)
