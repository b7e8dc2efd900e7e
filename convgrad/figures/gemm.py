"""Figures of the chapter on convolution as matrix multiplication (im2col, col2im, memory)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _grid(ax: plt.Axes, a: np.ndarray, title: str, xlabel: str, ylabel: str, cmap: str) -> None:
    """An integer array as coloured cells with its values written in (white on dark cells)."""
    a = np.asarray(a, dtype=float)
    ax.imshow(a, cmap=cmap, vmin=a.min(), vmax=a.max())
    colours = plt.get_cmap(cmap)((a - a.min()) / max(a.max() - a.min(), 1e-12))
    for (i, j), v in np.ndenumerate(a):
        lum = colours[i, j, :3] @ np.array([0.299, 0.587, 0.114])
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=10,
                color="white" if lum < 0.5 else "black")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(a.shape[1]))
    ax.set_yticks(range(a.shape[0]))


def draw_im2col(x_index: np.ndarray, cols_index: np.ndarray, counts: np.ndarray) -> plt.Figure:
    """Three panels: an input whose entries are their own flat indices, its column matrix (each
    cell shows which input entry it copies), and how often col2im adds into each input entry.

    Parameters
    ----------
    x_index : array ``(H, W)``, entry ``i`` at flat position ``i``
    cols_index : array ``(rows, taps)``, the column matrix of ``x_index``
    counts : array ``(H, W)``, ``col2im`` of a matrix of ones
    """
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 4.4),
                             gridspec_kw={"width_ratios": [x_index.shape[1], cols_index.shape[1] * 1.6,
                                                           counts.shape[1]]})
    _grid(axes[0], x_index, "input x: flat index of entries", "column", "row", "viridis")
    _grid(axes[1], cols_index, "im2col(x): copied entries", "kernel tap (i, j)",
          "output position", "viridis")
    _grid(axes[2], counts, "col2im(ones): copies per entry", "column", "row", "Greens")
    fig.suptitle("im2col copies each window into a row; col2im adds every row back (its transpose)")
    return fig


def draw_memory(names: list[str], columns_mib: list[float], offsets_mib: list[float],
                input_mib: list[float]) -> plt.Figure:
    """Grouped bars (log scale): the full column matrix, the kernel-offset method's buffers and the
    input itself, per layer.

    Parameters
    ----------
    names : layer names
    columns_mib, offsets_mib, input_mib : MiB per layer
    """
    fig, ax = plt.subplots(figsize=(9.0, 4.0))
    pos = np.arange(len(names))
    width = 0.27
    ax.bar(pos - width, columns_mib, width, label="full column matrix (im2col)", color="tab:red")
    ax.bar(pos, offsets_mib, width, label="kernel-offset buffers (direct)", color="tab:blue")
    ax.bar(pos + width, input_mib, width, label="input x", color="tab:gray")
    ax.set_yscale("log")
    ax.set_xticks(pos, names)
    ax.set_xlabel("layer (float32)")
    ax.set_ylabel("memory (MiB, log scale)")
    ax.set_title("Extra memory of the two GEMM formulations, against the input's size")
    ax.set_ylim(top=max(columns_mib) * 8)
    ax.legend(loc="upper left", ncols=3, fontsize=9)
    return fig
