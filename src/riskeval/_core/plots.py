"""Figures for result objects (matplotlib, imported only when a plot is asked for).

Statistics modules never draw; result objects' ``.plot()`` methods call these functions.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import RiskevalError


def _pyplot() -> Any:
    import matplotlib.pyplot as plt

    return plt


#: families tried, in order, for characters the default font lacks (CJK, emoji...); the
#: last, bundled with matplotlib, draws a placeholder box naming the script when none has them
_FALLBACK_FAMILIES = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC",
                      "Noto Sans CJK KR", "Source Han Sans", "WenQuanYi Zen Hei",
                      "WenQuanYi Micro Hei", "Droid Sans Fallback", "IPAGothic", "IPAexGothic",
                      "Microsoft YaHei", "SimHei", "MS Gothic", "Malgun Gothic",
                      "Arial Unicode MS", "Noto Sans", "Noto Sans Symbols",
                      "Noto Sans Symbols 2", "Noto Emoji", "Symbola", "Segoe UI Symbol")
_LAST_RESORT = "Last Resort High-Efficiency"
_warned_missing: set[str] = set()


@functools.lru_cache(maxsize=64)
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


@functools.lru_cache(maxsize=1)
def _installed() -> dict[str, str]:
    from matplotlib import font_manager

    return {f.name: f.fname for f in font_manager.fontManager.ttflist}


@functools.lru_cache(maxsize=1)
def _default_charmap() -> frozenset[int]:
    from matplotlib import font_manager

    return _charmap(font_manager.findfont(font_manager.FontProperties()))


def _families(texts: list[str]) -> list[str] | None:
    """A font family list covering every character of ``texts``, or None when the default
    font already does. Characters no installed font has are reported once (a warning)."""
    import matplotlib

    chars = {ch for t in texts for ch in t if ord(ch) >= 0x80 and not ch.isspace()}
    base = _default_charmap()
    missing = {ch for ch in chars if ord(ch) not in base}
    if not missing:
        return None
    installed = _installed()
    extra = []
    for name in _FALLBACK_FAMILIES:
        if name in installed and missing:
            cover = {ch for ch in missing if ord(ch) in _charmap(installed[name])}
            if cover:
                extra.append(name)
                missing -= cover
    new = sorted(missing - _warned_missing)
    if new:
        import warnings

        from ..errors import RiskevalWarning

        _warned_missing.update(new)
        shown = " ".join(new[:12]) + (" ..." if len(new) > 12 else "")
        warnings.warn(
            f"no installed font has the characters {shown}; names with them are drawn with "
            f"placeholder boxes in the figures (tables, summary.json and the report's text "
            f"keep them exactly). Install a font that covers them (e.g. Noto Sans CJK for "
            f"Chinese, Japanese and Korean) and clear matplotlib's font cache",
            RiskevalWarning, stacklevel=3)
    if _LAST_RESORT in installed:
        extra.append(_LAST_RESORT)
    return [*matplotlib.rcParams["font.family"], *extra]


def _text_artists(ax: Any) -> list[Any]:
    out = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label,
           *ax.texts]
    for axis in (ax.xaxis, ax.yaxis):
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            out += [tick.label1, tick.label2]
    legend = ax.get_legend()
    if legend is not None:
        out += [*legend.get_texts(), legend.get_title()]
    return out


def _literal(*axes: Any) -> None:
    """Draw every text on ``axes`` as written: no mathtext for ``$`` (an officer called
    ``J$mith {$`` would stop the figure; ``Budget $5 & $10`` would turn italic), no LaTeX,
    and a font family that covers the characters used where one is installed."""
    for ax in axes:
        artists = _text_artists(ax)
        family = _families([a.get_text() for a in artists])
        for a in artists:
            a.set_parse_math(False)
            a.set_usetex(False)
            if family is not None and a.get_text():
                a.set_fontfamily(family)


def caterpillar(effects: Any, ax: Any, title: str, z: float = 1.96) -> Any:
    """Effects sorted by size with +/- z SE bars (a caterpillar plot)."""
    # ties in code (index) order, never in the order the rows came in
    order = effects.sort_index(kind="stable").sort_values("estimate", kind="stable")
    y = np.arange(len(order), dtype=float)
    est = order["estimate"].to_numpy(dtype=float)
    half = z * order["se"].to_numpy(dtype=float)
    # every interval in one line broken by NaN, every point in one marker line: the picture
    # errorbar draws, without its artist per interval (thousands of officers)
    gaps = np.full_like(est, np.nan)
    ax.plot(np.column_stack([est - half, est + half, gaps]).ravel(),
            np.column_stack([y, y, gaps]).ravel(), color="#7f9fbf", lw=1,
            solid_capstyle="butt")
    ax.plot(est, y, "o", ms=3, color="#1f4e79")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y if len(order) <= 30 else [])
    if len(order) <= 30:
        ax.set_yticklabels([str(i) for i in order.index], fontsize=7)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("effect on the rating scale")
    _literal(ax)
    return ax


def shares(table: Any, ax: Any, title: str = "Share of variance") -> Any:
    """Horizontal bars of variance shares with interval whiskers."""
    y = np.arange(len(table))
    est = table["estimate"].to_numpy()
    lo = np.nan_to_num(est - table["ci_low"].to_numpy(), nan=0.0)
    hi = np.nan_to_num(table["ci_high"].to_numpy() - est, nan=0.0)
    ax.barh(y, est, color="#7f9fbf")
    ax.errorbar(est, y, xerr=[lo, hi], fmt="none", ecolor="black", lw=1, capsize=3)
    ax.set_yticks(y)
    ax.set_yticklabels(list(table.index))
    ax.set_xlim(0, 1)
    ax.set_title(title, fontsize=10)
    _literal(ax)
    return ax


def lmm_overview(fit: Any, ax: Any = None) -> Any:
    """Shares panel plus caterpillar panels for the office and officer effects."""
    if ax is not None:
        return shares(fit.variance_shares, ax)
    plt = _pyplot()
    panels = [n for n in ("office", "officer") if n in fit.random_effects]
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(4 + 3.5 * len(panels), 4))
    axes = np.atleast_1d(axes)
    shares(fit.variance_shares, axes[0])
    for a, name in zip(axes[1:], panels, strict=True):
        caterpillar(fit.random_effects[name], a, f"{name} effects (95%)")
    fig.tight_layout()
    return fig


_LEVEL_STYLES = ("--", ":", "-.")


def funnel(result: Any, ax: Any = None, ylabel: str = "share of ratings",
           xlabel: str | None = None) -> Any:
    """Funnel plot of a :class:`riskeval.variation.funnel.FunnelResult`.

    Each group's rate against its number of ratings (the effective number when the result was
    clustered), the target as a solid line, and the control limits of each level as curves
    (the first level dashed, the second dotted). Groups outside the widest limits are drawn
    in red (a second scatter) and labelled with their names.

    Parameters
    ----------
    result : FunnelResult
    ax : matplotlib Axes, optional
        Draw there; otherwise a new Figure is made.
    ylabel : str, default "share of ratings"
        Label of the rate axis, e.g. "share rated high or very high".
    xlabel : str, optional
        Label of the size axis (default "ratings in the office", or "effective ratings in the
        office (n / design effect)" for a clustered result).

    Returns
    -------
    matplotlib Figure when it made one, else the Axes.

    References
    ----------
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
    *Statistics in Medicine* 24(8), 1185-1202.
    """
    made = ax is None
    if made:
        fig, ax = _pyplot().subplots(figsize=(6.5, 4.5))
    table = result.table
    xcol = result.x
    curve = result.curve()
    ax.axhline(result.target, color="black", lw=1, label=f"target {result.target:.3g}")
    for i, level in enumerate(result.levels):
        name = f"{100 * level:g}"
        style = _LEVEL_STYLES[i % len(_LEVEL_STYLES)]
        ax.plot(curve["n"], curve[f"low_{name}"], ls=style, color="#595959", lw=1,
                label=f"{name}% limits")
        ax.plot(curve["n"], curve[f"high_{name}"], ls=style, color="#595959", lw=1)
    x = table[xcol].to_numpy(float)
    rate = table["rate"].to_numpy(float)
    out = table.index.isin(result.outside)
    ax.scatter(x[~out], rate[~out], color="#1f4e79", s=22, zorder=3, edgecolors="white",
               linewidths=0.5, label=str(result.group))
    if out.any():
        ax.scatter(x[out], rate[out], color="#c00000", s=22, zorder=3, edgecolors="white",
                   linewidths=0.5, label=f"outside the {100 * result.levels[-1]:g}% limits")
    for g in result.outside:
        ax.annotate(str(g), (float(table.at[g, xcol]), float(table.at[g, "rate"])),
                    xytext=(4, 3), textcoords="offset points", fontsize=8, color="#c00000")
    # Keep the view on the groups: the funnel at n = 1 spans the whole of [0, 1].
    smallest = table.iloc[int(np.argmin(x))]
    widest = f"{100 * result.levels[-1]:g}"
    lo = min(float(rate.min()), float(smallest[f"low_{widest}"]), result.target)
    hi = max(float(rate.max()), float(smallest[f"high_{widest}"]), result.target)
    pad = 0.05 * max(hi - lo, 0.02)
    ax.set_ylim(max(0.0, lo - pad), min(1.0, hi + pad))
    ax.set_xlim(0, float(curve["n"].max()))
    if xlabel is None:
        xlabel = ("effective ratings in the office (n / design effect)" if xcol == "n_eff"
                  else "ratings in the office")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, frameon=False, loc="best")
    _literal(ax)
    if made:
        fig.tight_layout()
        return fig
    return ax


def _matrix(table: Any) -> tuple[np.ndarray, list[str], list[str], Any, Any]:
    """Values, row and column labels and axis names of a 2-D table (DataFrame or array)."""
    if isinstance(table, pd.DataFrame):
        # by dtype, not column by column (a 3,000-officer matrix has 3,000 columns)
        bad = [c for c, d in zip(table.columns, table.dtypes, strict=True)
               if not (pd.api.types.is_numeric_dtype(d) or pd.api.types.is_bool_dtype(d))]
        if bad:
            raise RiskevalError(
                f"heatmap needs numbers; column {bad[0]!r} holds {table[bad[0]].dtype} values"
            )
        values = table.to_numpy(dtype=float, na_value=np.nan)
        rows = [str(i) for i in table.index]
        cols = [str(c) for c in table.columns]
        xname, yname = table.columns.name, table.index.name
    else:
        try:
            values = np.asarray(table, dtype=float)
        except (TypeError, ValueError):
            raise RiskevalError("heatmap needs a numeric table (DataFrame or 2-D array)") from None
        if values.ndim != 2:
            raise RiskevalError(f"heatmap needs a 2-D table; got {values.ndim} dimension(s)")
        rows = [str(i) for i in range(values.shape[0])]
        cols = [str(j) for j in range(values.shape[1])]
        xname = yname = None
    if values.size == 0:
        raise RiskevalError(f"heatmap needs a non-empty table; got shape {values.shape}")
    return values, rows, cols, xname, yname


def _label_ticks(ax: Any, axis: str, labels: list[str]) -> None:
    """Tick labels on one axis, shrunk and thinned so they do not overlap."""
    count = len(labels)
    size = 9 if count <= 15 else 8 if count <= 30 else 7
    bbox = ax.get_window_extent()
    span = bbox.width if axis == "x" else bbox.height  # display pixels
    span_pt = span * 72.0 / ax.figure.dpi
    longest = max(len(s) for s in labels)
    # x labels written side by side need room for their text, else they are turned upright;
    # upright x labels and y labels need room for one line each.
    wide = (0.65 * longest + 1.5) * size
    vertical = axis == "x" and count * wide > span_pt
    per_label = 1.8 * size if (axis == "y" or vertical) else wide
    room = max(1, int(span_pt // per_label))
    step = max(1, math.ceil(count / min(room, 25)))
    pos = np.arange(0, count, step)
    shown = [labels[i] for i in pos]
    if axis == "x":
        ax.set_xticks(pos)
        ax.set_xticklabels(shown, fontsize=size, rotation=90 if vertical else 0)
    else:
        ax.set_yticks(pos)
        ax.set_yticklabels(shown, fontsize=size)


def block_means(values: Any, block: int | tuple[int, int]) -> np.ndarray:
    """Means of consecutive ``block`` x ``block`` cells of a 2-D array (rows by columns).

    Cell ``(i, j)`` of the result is the mean of the defined (non-NaN) values in rows
    ``i*br .. (i+1)*br - 1`` and columns ``j*bc .. (j+1)*bc - 1``; the last row and column of
    blocks take what is left. A block with no defined value is NaN.
    """
    v = np.asarray(values, dtype=float)
    br, bc = (block, block) if isinstance(block, int | np.integer) else block
    if br < 1 or bc < 1:
        raise RiskevalError(f"block sizes must be at least 1; got {br} x {bc}")
    rows = np.arange(0, v.shape[0], br)
    cols = np.arange(0, v.shape[1], bc)
    missing = np.isnan(v)
    if missing.any():
        sums = np.add.reduceat(np.add.reduceat(np.where(missing, 0.0, v), rows, axis=0),
                               cols, axis=1)
        counts = np.add.reduceat(np.add.reduceat((~missing).astype(np.int64), rows, axis=0),
                                 cols, axis=1)
    else:
        sums = np.add.reduceat(np.add.reduceat(v, rows, axis=0), cols, axis=1)
        counts = np.outer(np.diff(np.r_[rows, v.shape[0]]), np.diff(np.r_[cols, v.shape[1]]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _heatmap(table: Any, ax: Any, title: str, cmap: Any, fmt: Any, vmin: Any, vmax: Any,
             xlabel: Any, ylabel: Any, annotate: Any,
             block: Any = None) -> tuple[Any, Any, Any, list, list]:
    values, rows, cols, xname, yname = _matrix(table)
    nr, nc = values.shape
    fig = None
    if ax is None:
        width = min(3.0 + 0.45 * nc, 10.0) + 1.5
        height = min(2.5 + 0.40 * nr, 9.0) + 0.5
        fig, ax = _pyplot().subplots(figsize=(width, height))
    br, bc = (1, 1) if block is None else (block, block) if isinstance(
        block, int | np.integer) else tuple(block)
    if br < 1 or bc < 1:
        raise RiskevalError(f"block sizes must be at least 1; got {br} x {bc}")
    br, bc = min(int(br), nr), min(int(bc), nc)
    if br > 1 or bc > 1:
        # each drawn cell is the mean of a block of cells, placed over the rows and columns it
        # covers (the axes keep the table's coordinates and labels; a last, partial block is
        # cut at the table's edge)
        shown = block_means(values, (br, bc))
        extent = (-0.5, shown.shape[1] * bc - 0.5, shown.shape[0] * br - 0.5, -0.5)
        im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=vmin, vmax=vmax,
                       aspect="auto", interpolation="nearest", interpolation_stage="data",
                       extent=extent)
        ax.set_xlim(-0.5, nc - 0.5)
        ax.set_ylim(nr - 0.5, -0.5)
        annotate = False
    else:
        # "data": the nearest cell is picked before colouring (the same pixels as colouring
        # first, which matplotlib does when cells are under 3 pixels wide, at half the cost)
        im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax,
                       aspect="auto", interpolation="nearest", interpolation_stage="data")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    if fig is not None:
        fig.tight_layout()  # so that the labels are thinned for the final size of the axes
    _label_ticks(ax, "x", cols)
    _label_ticks(ax, "y", rows)
    ax.tick_params(length=2)
    if annotate is None:
        annotate = nr <= 15 and nc <= 15
    if annotate:
        size = 9 if max(nr, nc) <= 8 else 8 if max(nr, nc) <= 15 else 6
        for i in range(nr):
            for j in range(nc):
                v = values[i, j]
                if np.isnan(v):
                    continue
                r, g, b, _ = im.cmap(im.norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                text = fmt(v) if callable(fmt) else fmt.format(v)
                ax.text(j, i, text, ha="center", va="center", fontsize=size,
                        color="white" if dark else "black")
    ax.set_xlabel(xlabel if xlabel is not None else (xname or ""))
    ax.set_ylabel(ylabel if ylabel is not None else (yname or ""))
    if title:
        ax.set_title(title, fontsize=10)
    _literal(ax)
    if fig is not None:
        fig.tight_layout()
    return fig, ax, values, rows, cols


def heatmap(table: Any, ax: Any = None, title: str = "", cmap: Any = "Blues",
            fmt: Any = "{:.2f}", vmin: float | None = None, vmax: float | None = None,
            xlabel: str | None = None, ylabel: str | None = None,
            annotate: bool | None = None, block: int | tuple[int, int] | None = None) -> Any:
    """A labelled matrix with a colorbar (pairwise agreement, a confusion table...).

    Parameters
    ----------
    table : pandas.DataFrame or 2-D array
        Numbers; missing values are left blank. A DataFrame's index and columns label the
        rows and columns, and their names the axes.
    ax : matplotlib Axes, optional
        Draw there; otherwise a new Figure is made, sized to the table.
    title : str
    cmap : str or Colormap, default "Blues"
    fmt : str or callable, default "{:.2f}"
        Format of the cell annotations (``fmt.format(value)``, or ``fmt(value)``).
    vmin, vmax : float, optional
        Colour scale limits (default: the data range).
    xlabel, ylabel : str, optional
        Axis labels (default: the names of the columns and of the index).
    annotate : bool, optional
        Write the values in the cells (default: only when the table is at most 15 x 15).
    block : int or (int, int), optional
        Draw each block of ``block`` x ``block`` consecutive cells (rows x columns) as one
        cell holding their mean (:func:`block_means`, missing values left out), for tables
        with more rows or columns than the axes have pixels: one cell per pixel cannot be
        shown anyway, and a mean keeps every value in the picture where resampling would
        drop most of them. The axes keep the table's coordinates and labels; nothing is
        written in the cells. Default: every cell drawn.

    Returns
    -------
    matplotlib Figure when it made one, else the Axes.

    Notes
    -----
    With many rows or columns the tick labels are shrunk and thinned (every k-th label, at
    most 25 per axis and no more than fit the axes) so that they do not overlap; a 100 x 100
    table stays readable.
    """
    fig, ax, *_ = _heatmap(table, ax, title, cmap, fmt, vmin, vmax, xlabel, ylabel, annotate,
                           block)
    return fig if fig is not None else ax


def confusion(table: Any, ax: Any = None, title: str = "") -> Any:
    """A count table of reference level (rows) by rating (columns), diagonal outlined.

    A thin wrapper of :func:`heatmap`: counts are written in the cells (tables up to 30 x 30)
    and the cells where the rating equals the reference -- the same label in row and column,
    or the positional diagonal when the labels differ -- are outlined.

    Parameters
    ----------
    table : pandas.DataFrame or 2-D array
        Non-negative counts, e.g. ``pd.crosstab(data["reference"], data["rating"])``.
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib Figure when it made one, else the Axes.
    """
    from matplotlib.patches import Rectangle

    values, rows, cols, xname, yname = _matrix(table)
    if np.nanmin(values) < 0:
        raise RiskevalError(
            f"confusion needs counts (>= 0); the table holds {float(np.nanmin(values)):g}"
        )
    nr, nc = values.shape
    fig, ax, *_ = _heatmap(table, ax, title, "Blues", "{:.0f}", None, None,
                           xname or "rating", yname or "reference level",
                           True if max(nr, nc) <= 30 else None)
    where = {c: j for j, c in enumerate(cols)}
    cells = [(i, where[r]) for i, r in enumerate(rows) if r in where]
    if not cells:
        cells = [(i, i) for i in range(min(nr, nc))]
    for i, j in cells:
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black",
                               lw=1.6, zorder=3, clip_on=False))
    return fig if fig is not None else ax


_KM_GROUPS = (("higher", "higher-skilled officers", "#1f4e79"),
              ("lower", "lower-skilled officers", "#c55a11"))


def _km_steps(curve: Any, z: float) -> tuple[np.ndarray, ...]:
    """Times, survival and clipped band of a SurvfuncRight as step vertices from time 0."""
    times = np.asarray(curve.surv_times, float)
    prob = np.asarray(curve.surv_prob, float)
    se = np.nan_to_num(np.asarray(curve.surv_prob_se, float), nan=0.0)
    end = float(np.max(curve.time)) if len(curve.time) else 0.0
    if len(times) and times[0] == 0.0:  # reconvicted at time 0: no leading point at 1
        x = np.r_[times, max(end, times[-1])]
        y, s = np.r_[prob, prob[-1]], np.r_[se, se[-1]]
    else:
        last_p = prob[-1] if len(prob) else 1.0
        last_s = se[-1] if len(se) else 0.0
        x = np.r_[0.0, times, max(end, times[-1] if len(times) else 0.0)]
        y, s = np.r_[1.0, prob, last_p], np.r_[0.0, se, last_s]
    return x, y, np.clip(y - z * s, 0.0, 1.0), np.clip(y + z * s, 0.0, 1.0)


def km(curves: Any, ax: Any = None, logrank: Any = None, title: str | None = None) -> Any:
    """Kaplan-Meier curves of the share not yet reconvicted, by officers' skill group.

    Each group's survival (the share of supervisees not reconvicted) is drawn as a step
    function from 1 at the start of supervision to the end of follow-up, with a shaded
    pointwise 95% band (``surv_prob`` +/- 1.96 ``surv_prob_se``, the Greenwood standard
    error, clipped to [0, 1]).

    Parameters
    ----------
    curves : dict
        statsmodels ``SurvfuncRight`` objects keyed ``"higher"`` and ``"lower"``, as returned
        by :func:`riskeval.skills.km_by_group`.
    ax : matplotlib Axes, optional
        Draw there; otherwise a new Figure is made.
    logrank : pandas.Series, optional
        The log-rank test from :func:`riskeval.skills.km_by_group`; its p-value is added to
        the title.
    title : str, optional

    Returns
    -------
    matplotlib Figure when it made one, else the Axes.
    """
    missing = [g for g, _, _ in _KM_GROUPS if g not in curves]
    if missing:
        raise RiskevalError(f"km needs curves keyed 'higher' and 'lower' (from "
                            f"skills.km_by_group); {missing[0]!r} is missing")
    made = ax is None
    if made:
        fig, ax = _pyplot().subplots(figsize=(6.5, 4.5))
    for key, name, colour in _KM_GROUPS:
        curve = curves[key]
        x, y, lo, hi = _km_steps(curve, 1.96)
        ax.step(x, y, where="post", color=colour, lw=1.6,
                label=f"{name} (n={len(curve.time)})")
        ax.fill_between(x, lo, hi, step="post", color=colour, alpha=0.18, lw=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel("years since start of supervision")
    ax.set_ylabel("share not reconvicted")
    parts = [title] if title else []
    if logrank is not None:
        p = float(logrank["p"])
        parts.append(f"log-rank p = {p:.3f}" if p >= 0.001 else "log-rank p < 0.001")
    if parts:
        ax.set_title("; ".join(parts), fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    _literal(ax)
    if made:
        fig.tight_layout()
        return fig
    return ax


def base_rates(table: Any, curve: Any, cond: Any, ax: Any = None, at: str = "high",
               events: str = "serious") -> Any:
    """Each band's share of the population next to its share of (serious) events, and the
    curve of the high bands' share of events as their population share varies.

    ``table`` is :func:`riskeval.prediction.baserates.band_table` output, ``curve`` and ``cond``
    its :func:`~riskeval.prediction.baserates.share_curve` and
    :func:`~riskeval.prediction.baserates.majority_condition` (users call
    :func:`riskeval.prediction.baserates.plot_base_rates`). Returns the Figure (two panels)
    when it makes one, else the bar panel's Axes.
    """
    col = f"{events}_share" if f"{events}_share" in table.columns else "event_share"
    made = ax is None
    if made:
        fig, (ax, ax2) = _pyplot().subplots(1, 2, figsize=(10, 4))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["population_share"], 0.4, label="share of people", color="#9fb7d0")
    err = np.vstack([table[col] - table[f"{col}_low"], table[f"{col}_high"] - table[col]])
    ax.bar(x + 0.2, table[col], 0.4, yerr=np.nan_to_num(err), capsize=3, color="#1f4e79",
           label="share of serious reoffences" if col == "serious_share" else
           "share of reoffences")
    ax.set_xticks(x)
    ax.set_xticklabels([str(i) for i in table.index])
    ax.set_ylabel("share")
    ax.set_title("Who the reoffences come from", fontsize=10)
    ax.legend(fontsize=8)
    _literal(ax)
    if not made:
        return ax
    ax2.plot(curve["high_population_share"], curve["share_from_high"], color="#1f4e79")
    ax2.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax2.axvline(cond["high_population_share"], color="#b2182b", lw=1,
                label=f"now: {100 * cond['high_population_share']:.0f}% rated {at}+")
    ax2.axvline(cond["high_population_share_for_half"], color="grey", lw=1, ls=":",
                label=f"half the events from {at}+ at "
                      f"{100 * cond['high_population_share_for_half']:.0f}%")
    ax2.set_xlabel(f"share of people rated {at} or above")
    ax2.set_ylabel(f"share of events from {at} or above")
    ax2.set_title(f"Rates held fixed (rate ratio {cond['rate_ratio']:.1f})", fontsize=10)
    ax2.legend(fontsize=8)
    _literal(ax2)
    fig.tight_layout()
    return fig
