"""Figures for the book (needs Matplotlib). One style for every chapter, and drawing helpers.

Submodules hold the drawings of one topic each; this module holds what they share::

    from convgrad.figures import use_book_style, draw_array
    use_book_style()
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

BOOK_STYLE = {
    "figure.figsize": (8.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "figure.constrained_layout.use": True,
    "image.cmap": "RdBu_r",
    "svg.hashsalt": "convgrad",
}


def use_book_style() -> None:
    """Set Matplotlib's parameters to the book's style (readable sizes, one colour map)."""
    mpl.rcParams.update(BOOK_STYLE)


def draw_array(
    ax: plt.Axes,
    a: np.ndarray,
    *,
    title: str,
    xlabel: str = "column",
    ylabel: str = "row",
    annotate: bool = True,
    fmt: str = "{:.1f}",
    cmap: str | None = None,
    symmetric: bool = True,
) -> None:
    """Draw a 2-D array as a grid of coloured cells, optionally with the values written in.

    Parameters
    ----------
    ax : the Axes to draw on
    a : array ``(rows, columns)``
    title, xlabel, ylabel : str
    annotate : write each value into its cell
    fmt : format of the values
    cmap : colour map (the book's default if ``None``)
    symmetric : centre the colour scale at 0
    """
    a = np.asarray(a, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"draw_array needs a 2-D array, got shape {a.shape}")
    vmax = np.abs(a).max() if symmetric and a.size else None
    ax.imshow(a, cmap=cmap, vmin=-vmax if vmax else None, vmax=vmax or None)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(a.shape[1]))
    ax.set_yticks(range(a.shape[0]))
    if annotate:
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8)
