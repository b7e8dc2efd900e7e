"""Figures of the index map ``s*o + d*k - p_lo``: which input cells each output reads (padding,
stride, dilation chapters). Needs Matplotlib.

Every picture is computed by convgrad, not by re-deriving the index map here: the cells output
``o`` reads are the non-zero entries of ``conv_grad_input`` of a one-hot ``dy`` at ``o`` with a
kernel of ones, and the number of windows that read a cell (its *coverage*) is
``conv_grad_input`` of all-ones ``dy`` and kernel, on the zero-padded input, so that padding cells
are counted too.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from ..functional import conv_grad_input
from ..geometry import ConvGeometry, conv_geometry

UNREAD = "#d62728"       # real input cells that no window reads
PADDING = "#d9d9d9"      # zero-padding cells
READ = "#ffffff"


def _geometry(in_size, kernel, stride, dilation, padding) -> ConvGeometry:
    in_size, kernel = tuple(in_size), tuple(kernel)
    return conv_geometry((1, 1, *in_size), (1, 1, *kernel), stride=stride, padding=padding,
                         dilation=dilation)


def _padded(geom: ConvGeometry) -> dict:
    """Keyword arguments of the same convolution applied to the already padded input."""
    return dict(stride=geom.stride, dilation=geom.dilation, padding=0)


def coverage(in_size: Sequence[int], kernel: Sequence[int], *, stride=1, dilation=1, padding=0):
    """Number of (output, kernel offset) pairs that read each cell of the zero-padded input.

    Returns
    -------
    counts : int array of the padded spatial shape
    geom : the :class:`convgrad.geometry.ConvGeometry` (``geom.padding`` holds the resolved pairs)
    """
    geom = _geometry(in_size, kernel, stride, dilation, padding)
    ones_dy = np.ones((1, 1, *geom.out_size))
    ones_w = np.ones((1, 1, *geom.kernel_size))
    counts = conv_grad_input(ones_dy, ones_w, (1, 1, *geom.padded_size), **_padded(geom))[0, 0]
    return np.rint(counts).astype(int), geom


def reads_1d(n: int, k: int, *, stride=1, dilation=1, padding=0) -> tuple[list[list[int]], ConvGeometry]:
    """For each output ``o`` of a 1-D convolution, the padded-input positions ``j`` it reads."""
    geom = _geometry((n,), (k,), stride, dilation, padding)
    out = []
    for o in range(geom.out_size[0]):
        dy = np.zeros((1, 1, geom.out_size[0]))
        dy[0, 0, o] = 1.0
        g = conv_grad_input(dy, np.ones((1, 1, k)), (1, 1, geom.padded_size[0]), **_padded(geom))
        out.append([int(j) for j in np.flatnonzero(g[0, 0])])
    return out, geom


def draw_strip(ax: plt.Axes, n: int, k: int, *, stride=1, dilation=1, padding=0,
               title: str | None = None) -> ConvGeometry:
    """1-D strip diagram: the padded input at the bottom, the outputs on top, a line from each
    output to every cell it reads; padding cells grey, real cells that no output reads red, and
    under each input cell the number of outputs that read it.

    The x axis is the input index ``m`` (negative and ``>= n`` for padding cells).
    """
    reads, geom = reads_1d(n, k, stride=stride, dilation=dilation, padding=padding)
    counts, _ = coverage((n,), (k,), stride=stride, dilation=dilation, padding=padding)
    lo, hi = geom.padding[0]
    size = geom.padded_size[0]
    colors = plt.get_cmap("tab10")
    y_in, y_out, h = 0.0, 2.2, 0.7
    for j in range(size):
        m = j - lo
        real = 0 <= m < n
        face = READ if real and counts[j] else (UNREAD if real else PADDING)
        ax.add_patch(Rectangle((m - 0.4, y_in - h / 2), 0.8, h, facecolor=face, edgecolor="black",
                               hatch=None if real else "//", lw=1))
        ax.text(m, y_in, "0" if not real else f"$x_{{{m}}}$", ha="center", va="center", fontsize=9,
                bbox=None if real else dict(facecolor=PADDING, edgecolor="none", pad=1.5))
        ax.text(m, y_in - 0.62, f"{counts[j]}", ha="center", va="center", fontsize=9,
                color=UNREAD if real and not counts[j] else "black")
    for o, cells in enumerate(reads):
        centre = (cells[0] + cells[-1]) / 2 - lo
        color = colors(o % 10)
        ax.add_patch(Rectangle((centre - 0.4, y_out - h / 2), 0.8, h, facecolor=color, alpha=0.35,
                               edgecolor="black", lw=1))
        ax.text(centre, y_out, f"$y_{{{o}}}$", ha="center", va="center", fontsize=9)
        for j in cells:
            ax.plot([centre, j - lo], [y_out - h / 2, y_in + h / 2], color=color, lw=1.6, alpha=0.85)
    ax.set_xlim(-lo - 0.7, n + hi - 0.3)
    ax.set_ylim(y_in - 0.95, y_out + 0.6)
    ax.set_yticks([y_in - 0.62, y_in, y_out], ["times read", "input", "output"])
    ax.set_xticks(range(-lo, n + hi))
    ax.set_xlabel("input index m (grey: zero padding, red: never read)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if title is None:
        title = (f"n={n}, k={k}, stride {geom.stride[0]}, dilation {geom.dilation[0]}, "
                 f"padding ({lo}, {hi}): {geom.out_size[0]} outputs")
    ax.set_title(title)
    return geom


def draw_receptive_field(ax: plt.Axes, layers: Sequence[int], fields: dict[str, Sequence[int]]) -> None:
    """Receptive field size against depth, one line per stack of layers."""
    markers = "osD^v"
    for i, ((label, values), mk) in enumerate(zip(fields.items(), markers)):
        ax.plot(layers, values, marker=mk, lw=2, label=label)
        # the lowest line is labelled below its points, the others above, so labels never collide
        below = i == 0
        for x, y in zip(layers, values):
            ax.annotate(str(y), (x, y), textcoords="offset points", xytext=(0, -15 if below else 7),
                        ha="center", fontsize=9)
    ax.margins(y=0.12)
    ax.set_xticks(list(layers))
    ax.set_xlabel("number of layers L (kernel 3 each)")
    ax.set_ylabel("receptive field (input cells)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)

