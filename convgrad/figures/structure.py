"""Figures of the structure chapters: groups (block-diagonal matrices), transposed convolution
(uneven overlap, the cause of checkerboard artefacts) and N dimensions (slices of a volume)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle


def draw_block_structure(
    matrices: Sequence[np.ndarray],
    groups: Sequence[int],
    *,
    in_channels: int,
    out_channels: int,
    in_size: int,
    out_size: int,
) -> plt.Figure:
    """The matrices of 1-D convolutions with different group counts, side by side.

    Parameters
    ----------
    matrices : arrays ``(out_channels * out_size, in_channels * in_size)``
        Rows ordered as (output channel f, output position o), columns as (input channel c,
        input position m), both in C order, as :func:`convgrad.symbolic.matrix_of` builds them.
    groups : the group count ``G`` of each matrix; each group's block is outlined
    in_channels, out_channels, in_size, out_size : int
    """
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.0 * len(matrices) + 0.8, 4.3), squeeze=False)
    vmax = max(np.abs(a).max() for a in matrices)
    cmap = plt.get_cmap("RdBu_r").copy()
    cmap.set_bad("0.88")  # entries that are not weights (structural zeros) in grey
    for i, (ax, a, g) in enumerate(zip(axes[0], matrices, groups)):
        shown = np.ma.masked_where(np.asarray(a) == 0, a)
        im = ax.imshow(shown, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
        for c in range(1, in_channels):
            ax.axvline(c * in_size - 0.5, color="white", lw=0.8)
        for f in range(1, out_channels):
            ax.axhline(f * out_size - 0.5, color="white", lw=0.8)
        rows_g, cols_g = out_channels // g * out_size, in_channels // g * in_size
        for j in range(1, g):
            ax.axvline(j * cols_g - 0.5, color="black", lw=1.6)
            ax.axhline(j * rows_g - 0.5, color="black", lw=1.6)
        ax.set_xticks([c * in_size + (in_size - 1) / 2 for c in range(in_channels)],
                      [f"c={c}" for c in range(in_channels)])
        ax.set_yticks([f * out_size + (out_size - 1) / 2 for f in range(out_channels)],
                      [f"f={f}" for f in range(out_channels)])
        ax.tick_params(length=0)
        ax.set_xlabel("input entry (channel c, position m)")
        if i == 0:
            ax.set_ylabel("output entry (channel f, position o)")
        name = "dense" if g == 1 else ("depthwise" if g == in_channels == out_channels else "grouped")
        ax.set_title(f"G = {g} ({name})")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.75, label="weight (grey: not a weight, 0)")
    fig.suptitle(
        f"Matrix of a 1-D convolution, C = F = {in_channels}: nonzero only in the "
        f"G diagonal group blocks (black lines)"
        if in_channels == out_channels else
        f"Matrix of a 1-D convolution, C = {in_channels}, F = {out_channels}: nonzero only in the "
        f"G diagonal group blocks (black lines)"
    )
    return fig


def draw_overlap(
    counts_1d: Mapping[str, np.ndarray], counts_2d: np.ndarray, *, title_1d: str, title_2d: str
) -> plt.Figure:
    """How many (input entry, kernel offset) pairs write to each output entry of a transposed conv.

    Parameters
    ----------
    counts_1d : ``{label: counts}``, one 1-D count array per configuration, drawn as step lines
    counts_2d : array ``(rows, columns)``, drawn as an annotated grid
    title_1d, title_2d : titles of the left and the right panel
    """
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.0, 4.2), width_ratios=[1.35, 1])
    width = 0.8 / len(counts_1d)
    for j, (label, c) in enumerate(counts_1d.items()):
        m = np.arange(len(c))
        ax1.bar(m - 0.4 + width * (j + 0.5), c, width=width, label=label)
    top = max(int(np.max(c)) for c in counts_1d.values())
    longest = max(len(c) for c in counts_1d.values())
    ax1.set_yticks(range(0, top + 2))
    ax1.set_ylim(0, top + 1.2)
    ax1.set_xticks(range(0, longest, 2))
    ax1.set_xlabel("output position m")
    ax1.set_ylabel("number of contributions")
    ax1.set_title(title_1d)
    ax1.legend(loc="upper center", ncols=len(counts_1d), fontsize=9)
    ax1.grid(axis="y", alpha=0.3)
    im = ax2.imshow(counts_2d, cmap="viridis", vmin=0, interpolation="nearest")
    for (i, j), v in np.ndenumerate(counts_2d):
        ax2.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=9,
                 color="white" if v < counts_2d.max() * 0.6 else "black")
    ax2.set_xlabel("output column")
    ax2.set_ylabel("output row")
    ax2.set_title(title_2d)
    fig.colorbar(im, ax=ax2, shrink=0.8, label="contributions", ticks=range(0, int(counts_2d.max()) + 1))
    fig.suptitle("Uneven overlap: entries of a transposed convolution receive different numbers of terms")
    return fig


def draw_volume_slices(
    volume: np.ndarray,
    *,
    title: str,
    slice_name: str = "t",
    row_name: str = "h",
    col_name: str = "w",
) -> plt.Figure:
    """A 3-D array as one panel per slice along its first axis, on one symmetric colour scale.

    Parameters
    ----------
    volume : array ``(slices, rows, columns)``
    title : figure title
    slice_name, row_name, col_name : names of the three axes (for the labels)
    """
    volume = np.asarray(volume, dtype=float)
    n = volume.shape[0]
    fig, axes = plt.subplots(1, n, figsize=(2.0 * n + 1.2, 3.0), squeeze=False)
    vmax = np.abs(volume).max() or 1.0
    for t, ax in enumerate(axes[0]):
        im = ax.imshow(volume[t], cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{slice_name} = {t}")
        ax.set_xticks(range(0, volume.shape[2], 2))
        ax.set_yticks(range(0, volume.shape[1], 2))
        ax.set_xlabel(col_name)
        if t == 0:
            ax.set_ylabel(row_name)
        for (i, j), v in np.ndenumerate(volume[t]):
            if v != 0:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="black", lw=0.8))
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="value")
    fig.suptitle(title)
    return fig
