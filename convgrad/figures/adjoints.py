"""Figures of the chapters on tangents and adjoints and on the 1-D convolution.

* :func:`draw_check_errors`: what the numbers of the dot-product test and of finite differences
  mean (error against size, error against step).
* :func:`draw_matrix_and_transpose`: the banded matrix of a 1-D convolution next to its transpose,
  the matrix of the input gradient, with every entry named by the kernel tap it holds.
* :func:`draw_connections`: which input entries each output of a 1-D convolution reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

#: one colour per kernel tap c_0, c_1, ... (colour-blind safe, Okabe-Ito)
TAP_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
_MARKERS = ("o", "s", "^", "D", "v")


def draw_check_errors(
    sizes: Sequence[int],
    dot_errors: Mapping[str, np.ndarray],
    steps: Sequence[float],
    fd_errors: Mapping[str, np.ndarray],
    *,
    eps: float = float(np.finfo(np.float64).eps),
) -> plt.Figure:
    """Two panels: the dot-product test error against the input size, and the finite-difference
    error against the step.

    Parameters
    ----------
    sizes : input sizes of the dot-product tests
    dot_errors : ``{label: errors}``, each ``errors`` of shape ``(len(sizes), seeds)``; the panel
        draws every seed as a faint point and the root mean square over the seeds as a line
    steps : finite-difference steps
    fd_errors : ``{label: errors}``, each of shape ``(len(steps),)``
    eps : machine epsilon, drawn as a reference line
    """
    sizes = np.asarray(sizes, dtype=float)
    steps = np.asarray(steps, dtype=float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.0, 3.9))
    for i, (label, errs) in enumerate(dot_errors.items()):
        errs = np.maximum(np.asarray(errs, dtype=float), eps / 100)  # an exact 0 on a log axis
        colour = TAP_COLOURS[i % len(TAP_COLOURS)]
        for col in errs.T:
            ax1.scatter(sizes, col, s=12, color=colour, alpha=0.35, marker=_MARKERS[i % len(_MARKERS)])
        ax1.plot(sizes, np.sqrt(np.mean(errs**2, axis=1)), color=colour,
                 marker=_MARKERS[i % len(_MARKERS)], label=f"{label} (RMS)")
    ax1.axhline(eps, color="0.4", linestyle=":", label="float64 epsilon")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("input length M")
    ax1.set_ylabel("dot-product test error")
    ax1.set_title("Dot-product test")
    ax1.legend(loc="center right", fontsize=9)
    for i, (label, errs) in enumerate(fd_errors.items()):
        ax2.plot(steps, np.maximum(np.asarray(errs, dtype=float), eps / 100),
                 color=TAP_COLOURS[(i + 3) % len(TAP_COLOURS)], marker=_MARKERS[i % len(_MARKERS)],
                 label=label)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("finite-difference step h")
    ax2.set_ylabel("gradcheck error")
    ax2.set_title("Finite differences")
    ax2.legend(loc="upper center", fontsize=9)
    return fig


def _tap_index(matrix, taps: Sequence) -> np.ndarray:
    """``-1`` where the entry is 0, else the index ``k`` of the tap ``taps[k]`` it equals."""
    rows, cols = matrix.shape
    out = np.full((rows, cols), -1, dtype=int)
    for r in range(rows):
        for c in range(cols):
            e = matrix[r, c]
            if e == 0:
                continue
            hits = [k for k, t in enumerate(taps) if e == t]
            if len(hits) != 1:
                raise ValueError(f"entry ({r}, {c}) = {e} is neither 0 nor one of the taps {list(taps)}")
            out[r, c] = hits[0]
    return out


def _draw_taps(ax: plt.Axes, index: np.ndarray, names: Sequence[str], title: str, xlabel: str,
               ylabel: str, xnames: Sequence[str], ynames: Sequence[str]) -> None:
    k = len(names)
    cmap = ListedColormap(["white", *TAP_COLOURS[:k]])
    ax.imshow(index + 1, cmap=cmap, vmin=-0.5, vmax=k + 0.5)
    for (r, c), v in np.ndenumerate(index):
        if v >= 0:
            ax.text(c, r, names[v], ha="center", va="center", fontsize=13, color="white",
                    fontweight="bold")
    ax.set_xticks(range(index.shape[1]), xnames)
    ax.set_yticks(range(index.shape[0]), ynames)
    ax.set_xticks(np.arange(-0.5, index.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, index.shape[0]), minor=True)
    ax.grid(which="minor", color="0.8", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def draw_matrix_and_transpose(matrix, taps: Sequence) -> plt.Figure:
    """The matrix ``A`` of ``x -> c ⋆ x`` (valid) next to ``A^T``, the matrix of ``z_bar -> x_bar``.

    Parameters
    ----------
    matrix : SymPy matrix ``(N, M)`` whose entries are 0 or one of ``taps``
    taps : the kernel symbols ``c_0, ..., c_{K-1}``
    """
    index = _tap_index(matrix, taps)
    names = [f"$c_{k}$" for k in range(len(taps))]
    n_out, m_in = index.shape
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.0, 3.9), width_ratios=[m_in, n_out])
    _draw_taps(ax1, index, names, f"forward A ({n_out}×{m_in}): z = Ax", "input index m",
               "output index n", [str(m) for m in range(m_in)], [str(n) for n in range(n_out)])
    _draw_taps(ax2, index.T, names, f"input gradient Aᵀ ({m_in}×{n_out})",
               "output-gradient index n", "input index m", [str(n) for n in range(n_out)],
               [str(m) for m in range(m_in)])
    fig.suptitle("A valid 1-D correlation (left) and its input gradient x̄ = Aᵀz̄ (right)")
    return fig


def draw_connections(m_in: int, k_len: int) -> plt.Figure:
    """Inputs ``x_m`` (top) and outputs ``z_n`` (bottom) of ``z_n = sum_k c_k x_{n+k}``, joined by
    one line per product ``c_k x_{n+k}``, coloured by ``k``. Read downwards it is the forward map,
    upwards the input gradient ``x_bar_m = sum_n z_bar_n c_{m-n}``."""
    n_out = m_in - k_len + 1
    if n_out < 1:
        raise ValueError(f"kernel length {k_len} exceeds input length {m_in}")
    fig, ax = plt.subplots(figsize=(8.0, 3.4))
    offset = (k_len - 1) / 2  # centre each output under its window
    for n in range(n_out):
        for k in range(k_len):
            ax.plot([n + k, n + offset], [1, 0], color=TAP_COLOURS[k % len(TAP_COLOURS)], linewidth=2.2,
                    label=f"$c_{k}$" if n == 0 else None, zorder=1)
    ax.scatter(range(m_in), [1] * m_in, s=500, color="white", edgecolor="black", zorder=2)
    ax.scatter(np.arange(n_out) + offset, [0] * n_out, s=500, color="white", edgecolor="black", zorder=2)
    for m in range(m_in):
        ax.text(m, 1, f"$x_{m}$", ha="center", va="center", fontsize=11, zorder=3)
    for n in range(n_out):
        ax.text(n + offset, 0, f"$z_{n}$", ha="center", va="center", fontsize=11, zorder=3)
    ax.set_ylim(-0.35, 1.35)
    ax.set_xlim(-0.7, m_in - 0.3)
    ax.set_yticks([0, 1], ["output z", "input x"])
    ax.set_xlabel("position")
    ax.set_title(rf"$z = c \star x$ with M = {m_in}, K = {k_len}, N = {n_out}: "
                 "the border inputs feed fewer outputs")
    ax.legend(title="kernel tap", loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig
