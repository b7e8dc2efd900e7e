"""Figures of the forward map's geometry: which input cells each output cell reads."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from ..geometry import conv_geometry

COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple")


def _grid(ax: plt.Axes, rows: int, cols: int) -> None:
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.tick_params(length=0, labelsize=8)
    for r in range(rows + 1):
        ax.axhline(r - 0.5, color="0.8", lw=0.6)
    for c in range(cols + 1):
        ax.axvline(c - 0.5, color="0.8", lw=0.6)


def draw_receptive_windows(
    in_size: tuple[int, int],
    kernel: tuple[int, int],
    outputs: list[tuple[int, int]],
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | str | tuple = 0,
    dilation: int | tuple[int, int] = 1,
    title: str = "",
) -> plt.Figure:
    """Two panels: the (padded) input with the taps read by some output cells, and the output.

    Padding cells are grey and labelled by their position relative to the input (negative or
    beyond the edge). Each selected output cell and the taps it reads share a colour.

    Parameters
    ----------
    in_size : ``(H, W)`` of the input
    kernel : ``(kh, kw)``
    outputs : output positions ``(i, j)`` to highlight (at most five)
    stride, padding, dilation : as in :func:`convgrad.conv`
    title : figure title
    """
    geom = conv_geometry((1, *in_size), (1, 1, *kernel), stride=stride, padding=padding,
                         dilation=dilation)
    (plo_r, _), (plo_c, _) = geom.padding
    pr, pc = geom.padded_size
    orow, ocol = geom.out_size
    fig, (ax_in, ax_out) = plt.subplots(
        1, 2, figsize=(9.0, 4.6), gridspec_kw={"width_ratios": [pc, max(ocol, 3)]}
    )
    _grid(ax_in, pr, pc)
    ax_in.set_xticklabels([str(c - plo_c) for c in range(pc)])
    ax_in.set_yticklabels([str(r - plo_r) for r in range(pr)])
    for r in range(pr):
        for c in range(pc):
            inside = plo_r <= r < plo_r + in_size[0] and plo_c <= c < plo_c + in_size[1]
            if not inside:
                ax_in.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, color="0.88", zorder=0))
    _grid(ax_out, orow, ocol)
    for colour, (i, j) in zip(COLOURS, outputs):
        if not (0 <= i < orow and 0 <= j < ocol):
            raise ValueError(f"output position {(i, j)} outside the output of size {(orow, ocol)}")
        r0, c0 = geom.stride[0] * i, geom.stride[1] * j
        for a in range(kernel[0]):
            for b in range(kernel[1]):
                r, c = r0 + geom.dilation[0] * a, c0 + geom.dilation[1] * b
                ax_in.add_patch(Rectangle((c - 0.42, r - 0.42), 0.84, 0.84, fill=False,
                                          edgecolor=colour, lw=2.2))
        ax_out.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, color=colour, alpha=0.8))
    ax_in.set_title(f"input {in_size[0]}x{in_size[1]}" + (" (grey: padding)" if pr > in_size[0]
                                                           or pc > in_size[1] else ""))
    ax_in.set_xlabel("input column")
    ax_in.set_ylabel("input row")
    ax_out.set_title(f"output {orow}x{ocol}")
    ax_out.set_xlabel("output column")
    ax_out.set_ylabel("output row")
    fig.suptitle(title or f"kernel {kernel[0]}x{kernel[1]}, stride {geom.stride}, "
                 f"padding {geom.padding}, dilation {geom.dilation}")
    return fig


def draw_output_size(n_max: int, kernel: int, strides: tuple[int, ...], padding: int = 0,
                     dilation: int = 1) -> plt.Figure:
    """Output length against input length, one step curve per stride (from conv_output_shape)."""
    from ..geometry import conv_output_shape

    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    span = dilation * (kernel - 1) + 1
    ns = np.arange(max(1, span - 2 * padding), n_max + 1)
    for s in strides:
        outs = [conv_output_shape((1, 1, n), (1, 1, kernel), stride=s, padding=padding,
                                  dilation=dilation)[-1] for n in ns]
        ax.step(ns, outs, where="post", label=f"stride {s}")
    ax.set_xlabel("input length n")
    ax.set_ylabel("output length")
    ax.set_title(f"floor((n + 2p - d(k-1) - 1) / s) + 1 for k={kernel}, p={padding}, d={dilation}")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
