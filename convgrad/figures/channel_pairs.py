"""The answer to the seed question in one picture: which channels meet in the gradients of a
convolutional layer with channels and a batch. Needs Matplotlib.

* :func:`channel_pairs`: computed by convgrad, which gradient-channel / input-channel pair each
  slice ``w̄[f, c]`` reads, which gradient channels reach each ``x̄[n, c]``, and where the
  ``ȳ`` window sits over ``x`` for a kernel tap;
* :func:`draw_channel_pairs`: the kernel gradient as an ``F x C`` table, one valid correlation
  ``ȳ[n, f] ⋆ x[n, c]`` per cell (summed over the batch), the input gradient as the column sums
  ``x̄[n, c] = Σ_f ȳ[n, f] ∗ w[f, c]``, and, for one pair, the ``ȳ`` channel sliding over the
  input channel, one position per kernel tap.

The colours are those of :mod:`convgrad.figures.diagrams`: light blue input (and ``x̄``), light
green output gradient ``ȳ``, orange kernel taps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

from ..functional import conv_grad_input, conv_grad_weight
from .diagrams import EDGE, FONT, INPUT, OUTPUT, OUTPUT_STRONG, TAP, layer_geometry, tap_subgrid

__all__ = ["ChannelPairs", "channel_pairs", "draw_channel_pairs"]

Cell = tuple[int, int]
#: frame colours of the tap positions in the zoomed pair (not blue, green or orange)
_TAP_COLOURS = ("#CC79A7", "#1a1a1a", "#7f3c8d", "#D55E00")
_MAX_CHANNELS = 8


@dataclass(frozen=True)
class ChannelPairs:
    """What :func:`draw_channel_pairs` draws, computed by convgrad.

    Attributes
    ----------
    weight : ``{(f, c): (f', c')}``: slice ``w̄[f, :, :, c]`` reads gradient channel ``f'`` and
        input channel ``c'`` only (``(f, c)`` itself for a convolution without groups)
    input : ``{c: (f, ...)}``: the gradient channels whose gradient reaches ``x̄[:, c]``
    windows : ``{(a, b): (row, col, height, width)}``: the block of input cells that tap
        ``(a, b)`` meets, one per output; ``ȳ`` sits there when it slides over ``x``
    out_size : the output (and ``ȳ``) size per channel
    """

    weight: dict[Cell, Cell]
    input: dict[int, tuple[int, ...]]
    windows: dict[Cell, tuple[int, int, int, int]]
    out_size: Cell


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not 1 <= value <= _MAX_CHANNELS:
        raise ValueError(f"{name} must be between 1 and {_MAX_CHANNELS} (one row or column of "
                         f"the table each), got {value}")
    return int(value)


def channel_pairs(in_size: int | Sequence[int] = (10, 10), kernel: int | Sequence[int] = 3,
                  in_channels: int = 3, out_channels: int = 5, *,
                  taps: Sequence[Cell] = ((0, 0), (2, 1))) -> ChannelPairs:
    """Which channels meet in ``w̄`` and ``x̄`` of a 2-D layer (channels first, no options).

    Every dependence is read off convgrad's own gradients of one-hot inputs with all-ones
    values (so no product cancels): ``conv_grad_weight`` of a ``ȳ`` that is nonzero in channel
    ``f'`` only and an ``x`` nonzero in channel ``c'`` only, and ``conv_grad_input`` of a ``ȳ``
    nonzero in channel ``f'`` only with an all-ones kernel.

    Parameters
    ----------
    in_size, kernel : int or pair, the input and kernel size of one channel
    in_channels, out_channels : int, ``C`` and ``F`` (1 to 8)
    taps : kernel taps ``(a, b)`` whose ``ȳ`` positions over ``x`` are returned

    Returns
    -------
    ChannelPairs

    Example: ``channel_pairs().weight[(4, 2)] == (4, 2)``; ``channel_pairs().input[0] ==
    (0, 1, 2, 3, 4)``.
    """
    c_in, f_out = _count(in_channels, "in_channels"), _count(out_channels, "out_channels")
    geom = layer_geometry(in_size, kernel)
    h, w = geom.in_size
    kh, kw = geom.kernel_size
    ho, wo = geom.out_size
    w_shape = (f_out, c_in, kh, kw)
    reads: dict[Cell, list[Cell]] = {(f, c): [] for f in range(f_out) for c in range(c_in)}
    for fp in range(f_out):
        dy = np.zeros((1, f_out, ho, wo))
        dy[0, fp] = 1.0
        for cp in range(c_in):
            x = np.zeros((1, c_in, h, w))
            x[0, cp] = 1.0
            dw = conv_grad_weight(dy, x, w_shape)
            for f, c in zip(*np.nonzero(np.abs(dw).sum(axis=(2, 3)))):
                reads[(int(f), int(c))].append((fp, cp))
    weight = {}
    for key, found in reads.items():
        if len(found) != 1:
            raise RuntimeError(f"w̄{list(key)} reads {found}, not one channel pair")
        weight[key] = found[0]
    reach: dict[int, list[int]] = {c: [] for c in range(c_in)}
    for fp in range(f_out):
        dy = np.zeros((1, f_out, ho, wo))
        dy[0, fp] = 1.0
        dx = conv_grad_input(dy, np.ones(w_shape), (1, c_in, h, w))
        for c in np.flatnonzero(np.abs(dx[0]).sum(axis=(1, 2))):
            reach[int(c)].append(fp)
    windows = {}
    for tap in taps:
        rows, cols = tap_subgrid(in_size, kernel, tap)
        windows[(int(tap[0]), int(tap[1]))] = (int(rows.min()), int(cols.min()),
                                               int(rows.max() - rows.min() + 1),
                                               int(cols.max() - cols.min() + 1))
    return ChannelPairs(weight, {c: tuple(v) for c, v in reach.items()}, windows, (ho, wo))


# --- drawing --------------------------------------------------------------------------------

def _tile(ax: plt.Axes, x0: float, y0: float, size: float, cells: int, face: str, *,
          gid: str | None = None, lw: float = 0.9) -> None:
    """A square ``size`` wide at ``(x0, y0)`` (top left) with a faint ``cells x cells`` grid."""
    ax.add_patch(Rectangle((x0, y0), size, size, facecolor=face, edgecolor=EDGE, lw=lw, gid=gid,
                           zorder=2))
    step = size / cells
    for k in range(1, cells):
        ax.plot([x0 + k * step] * 2, [y0, y0 + size], color=EDGE, lw=0.3, zorder=2.5)
        ax.plot([x0, x0 + size], [y0 + k * step] * 2, color=EDGE, lw=0.3, zorder=2.5)


def _draw_table(ax: plt.Axes, pairs: ChannelPairs, c_in: int, f_out: int, in_size: Cell,
                kernel: Cell, chosen: Cell) -> None:
    h, w = in_size
    ho, wo = pairs.out_size
    kh, kw = kernel
    col_x = [1.9 + 1.7 * c for c in range(c_in)]          # left edge of each table column
    row_y = [1.6 + 0.95 * f for f in range(f_out)]         # top edge of each table row
    big, mid, small = 0.8, 0.8 * max(ho, wo) / max(h, w), 0.42
    # column heads: the input channels
    for c in range(c_in):
        _tile(ax, col_x[c], 0.55, big, max(h, w), INPUT, gid=f"table:x:{c}")
        ax.text(col_x[c] + big / 2, 0.45, f"x[n, {c}]", ha="center", va="bottom",
                fontsize=FONT)
    # row heads: the gradient channels
    for f in range(f_out):
        y0 = row_y[f] + (big - mid) / 2
        _tile(ax, 0.9, y0, mid, max(ho, wo), OUTPUT, gid=f"table:ybar:{f}")
        ax.text(0.78, y0 + mid / 2, f"ȳ[n, {f}]", ha="right", va="center", fontsize=FONT)
    # the cells: one kernel-gradient slice per pair
    for (f, c), (fp, cp) in pairs.weight.items():
        x0, y0 = col_x[cp], row_y[fp] + (big - small) / 2
        _tile(ax, x0 + 0.05, y0, small, max(kh, kw), TAP, gid=f"table:wbar:{f},{c}")
        ax.text(x0 + small + 0.12, y0 + small / 2, f"w̄[{f},{c}]", ha="left", va="center",
                fontsize=FONT)
        if (f, c) == chosen:
            ax.add_patch(Rectangle((x0 - 0.08, row_y[fp] - 0.06), 1.6, big + 0.12, fill=False,
                                   edgecolor="black", lw=2.0, gid=f"table:chosen:{f},{c}",
                                   zorder=4))
    # the column sums: the input gradient
    y_sum = row_y[-1] + 1.45
    for c, fs in pairs.input.items():
        xm = col_x[c] + big / 2
        ax.add_patch(FancyArrowPatch((xm, row_y[-1] + big + 0.08), (xm, y_sum - 0.05),
                                     arrowstyle="-|>", mutation_scale=12, color="0.3", lw=1.2))
        ax.text(xm + 0.08, y_sum - 0.32, f"sum of {len(fs)}", ha="left", va="center",
                fontsize=FONT - 1, color="0.3")
        _tile(ax, col_x[c], y_sum, big, max(h, w), INPUT, gid=f"table:xbar:{c}")
        ax.text(xm, y_sum + big + 0.1, f"x̄[n, {c}]", ha="center", va="top", fontsize=FONT)
    ax.set_xlim(-0.1, col_x[-1] + 1.65)
    ax.set_ylim(y_sum + big + 0.5, 0.15)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel(f"columns: the {c_in} input channels c ({h}×{w} each)", fontsize=FONT)
    ax.set_ylabel(f"rows: the {f_out} gradient channels f ({ho}×{wo} each)", fontsize=FONT)
    ax.set_title("cell (f, c): w̄[f, c], ȳ[n, f] sliding over x[n, c],\n"
                 "summed over n; column c summed: x̄[n, c]", fontsize=11)


def _draw_zoom(ax: plt.Axes, ax_k: plt.Axes, pairs: ChannelPairs, in_size: Cell, kernel: Cell,
               chosen: Cell) -> None:
    h, w = in_size
    kh, kw = kernel
    f, c = chosen
    ho, wo = pairs.out_size
    for m in range(h):
        for n in range(w):
            ax.add_patch(Rectangle((n - 0.5, m - 0.5), 1, 1, facecolor=INPUT, edgecolor=EDGE,
                                   lw=0.6, zorder=1))
    for k, ((a, b), (r0, c0, nr, nc)) in enumerate(pairs.windows.items()):
        colour = _TAP_COLOURS[k % len(_TAP_COLOURS)]
        inset = 0.08 + 0.12 * k
        ax.add_patch(Rectangle((c0 - 0.5 + inset, r0 - 0.5 + inset), nc - 2 * inset,
                               nr - 2 * inset, fill=False, edgecolor=colour, lw=2.4,
                               gid=f"zoom:window:{a},{b}", zorder=4))
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), 1, 1, facecolor=OUTPUT_STRONG,
                               edgecolor=EDGE, lw=0.6, zorder=2))
    ax.set_xlim(-0.6, w - 0.4)
    ax.set_ylim(h - 0.4, -0.6)
    ax.set_aspect("equal")
    ax.set_xticks(range(w))
    ax.set_yticks(range(h))
    ax.tick_params(length=0, labelsize=FONT - 1, pad=2)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel("input column", fontsize=FONT)
    ax.set_ylabel("input row", fontsize=FONT)
    ax.set_title(f"one pair: ȳ[n, {f}] ({ho}×{wo}) slides over x[n, {c}];\n"
                 f"framed: ȳ at offset (a, b), its cell (0,0) green", fontsize=11)
    for a in range(kh):
        for b in range(kw):
            k = list(pairs.windows).index((a, b)) if (a, b) in pairs.windows else None
            face = TAP if k is not None else "#fdf0dc"
            edge = _TAP_COLOURS[k % len(_TAP_COLOURS)] if k is not None else EDGE
            ax_k.add_patch(Rectangle((b - 0.5, a - 0.5), 1, 1, facecolor=face, edgecolor=edge,
                                     lw=2.4 if k is not None else 0.8,
                                     gid=f"zoom:tap:{a},{b}" if k is not None else None))
            ax_k.text(b, a, f"{a},{b}", ha="center", va="center", fontsize=FONT - 1)
    ax_k.set_xlim(-0.6, kw - 0.4)
    ax_k.set_ylim(kh - 0.4, -0.6)
    ax_k.set_aspect("equal")
    ax_k.set_xticks(range(kw))
    ax_k.set_yticks(range(kh))
    ax_k.tick_params(length=0, labelsize=FONT - 1, pad=2)
    for side in ax_k.spines.values():
        side.set_visible(False)
    ax_k.set_xlabel("offset b", fontsize=FONT)
    ax_k.set_ylabel("offset a", fontsize=FONT)
    ax_k.set_title(f"w̄[{f},{c}], {kh}×{kw}: one entry\nper offset (a, b)", fontsize=11)


def draw_channel_pairs(in_size: int | Sequence[int] = (10, 10), kernel: int | Sequence[int] = 3,
                       in_channels: int = 3, out_channels: int = 5, *, pair: Cell = (1, 2),
                       taps: Sequence[Cell] = ((0, 0), (2, 1)),
                       title: str | None = None) -> tuple[plt.Figure, ChannelPairs]:
    """The gradients of a layer with channels, as a table of channel pairs, and one pair zoomed.

    Left: the ``F x C`` table with the input channels ``x[n, c]`` heading the columns, the
    gradient channels ``ȳ[n, f]`` heading the rows, and in every cell the kernel-gradient slice
    ``w̄[f, c]`` that the pair alone makes; below each column its sum, the input gradient
    ``x̄[n, c]``. Right: for ``pair = (f, c)``, the positions of ``ȳ[n, f]`` over ``x[n, c]``
    for the given kernel ``taps``, each framed in the colour of its tap in ``w̄[f, c]``.

    Returns
    -------
    fig, pairs : the Figure and the :class:`ChannelPairs` it draws

    Example: ``fig, pairs = draw_channel_pairs((10, 10), 3, 3, 5)`` (the seed question).
    """
    pairs = channel_pairs(in_size, kernel, in_channels, out_channels, taps=taps)
    geom = layer_geometry(in_size, kernel)
    c_in, f_out = int(in_channels), int(out_channels)
    try:
        f, c = (int(v) for v in pair)
    except (TypeError, ValueError):
        raise TypeError(f"pair must be a pair of ints (f, c), got {pair!r}") from None
    if not (0 <= f < f_out and 0 <= c < c_in):
        raise ValueError(f"pair {pair!r} is outside the {f_out}x{c_in} table of (f, c)")
    fig = plt.figure(figsize=(9.0, 5.9))
    grid = fig.add_gridspec(2, 2, width_ratios=[1.25, 1.0], height_ratios=[2.6, 1.0])
    ax_t = fig.add_subplot(grid[:, 0])
    ax_z, ax_k = fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])
    _draw_table(ax_t, pairs, c_in, f_out, geom.in_size, geom.kernel_size, (f, c))
    _draw_zoom(ax_z, ax_k, pairs, geom.in_size, geom.kernel_size, (f, c))
    ho, wo = pairs.out_size
    h, w = geom.in_size
    kh, kw = geom.kernel_size
    fig.suptitle(title or f"Nothing is broadcast: each of the {f_out} gradient channels meets "
                 f"each of the {c_in} input channels once,\n{f_out * c_in} valid "
                 f"correlations, ȳ ({ho}×{wo}) sliding over x ({h}×{w}) → {kh}×{kw}, "
                 f"each summed over the batch", fontsize=12)
    handles = [Patch(facecolor=INPUT, edgecolor=EDGE, label="input channel x, and x̄"),
               Patch(facecolor=OUTPUT, edgecolor=EDGE, label="gradient channel ȳ"),
               Patch(facecolor=TAP, edgecolor=EDGE, label="kernel-gradient slice w̄[f, c]")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=FONT,
               frameon=False, handlelength=1.6)
    return fig, pairs
