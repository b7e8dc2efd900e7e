"""The receptive field of one output of a 3-D convolution, frame by frame (N dimensions chapter).
Needs Matplotlib.

:func:`receptive_taps` says which input cells one output reads and through which kernel tap;
:func:`draw_receptive_volume` draws it in the visual language of :mod:`convgrad.figures.diagrams`
(light blue input cells, orange cells that a tap reads), one panel per slice along the first
spatial axis. For one output, each slice is reached by at most one slice ``a`` of the kernel (the
slice index is fixed by ``t = s*o + d*a - p_lo``), so a panel names ``a`` in its title and labels
each orange cell with the rest of its tap, ``b,c``, as the 2-D diagrams do.

Both are computed by convgrad, not by the index formula ``s*o + d*k - p_lo``:
``conv_grad_input`` of a one-hot ``dy`` at the output, with a kernel whose entry ``(a, b, c)``
holds its own label ``1 + (a*kh + b)*kw + c``, holds at each input cell the output reads the label
of the tap that multiplies it (a window never reads a cell twice, so labels do not add). This is
the input gradient of that one output with the kernel ``w[f, c]`` in place of the labels: the
kernel placed on the receptive field.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, prod

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch, Rectangle

from ..functional import conv_grad_input
from ..geometry import ConvGeometry, IntOrTuple, Padding, conv_geometry
from .diagrams import EDGE, FONT, INPUT, TAP

Cell3 = tuple[int, int, int]

__all__ = ["draw_receptive_volume", "receptive_taps"]


def _triple(value: object, name: str) -> Cell3:
    """``value`` as a triple of ints (an int ``k`` means ``(k, k, k)``)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value), int(value)
    try:
        items = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an int or three ints, got {value!r}") from None
    if len(items) != 3 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  for v in items):
        raise ValueError(f"{name} must be an int or three ints (a 3-D layer), got {value!r}")
    return int(items[0]), int(items[1]), int(items[2])


def _geometry(in_size: IntOrTuple, kernel: IntOrTuple, stride: IntOrTuple, padding: Padding,
              dilation: IntOrTuple) -> ConvGeometry:
    in_size, kernel = _triple(in_size, "in_size"), _triple(kernel, "kernel")
    return conv_geometry((1, 1, *in_size), (1, 1, *kernel), stride=stride, padding=padding,
                         dilation=dilation)


def receptive_taps(in_size: IntOrTuple, kernel: IntOrTuple, output: Sequence[int], *,
                   stride: IntOrTuple = 1, padding: Padding = 0,
                   dilation: IntOrTuple = 1) -> dict[Cell3, Cell3]:
    """``{input cell (t, h, w): tap (a, b, c)}``: the input cells that output ``output`` of a 3-D
    single-channel convolution reads, each with the kernel tap that multiplies it.

    Taps that fall on the zero padding are left out (they multiply no input cell).

    Parameters
    ----------
    in_size, kernel : int or three ints, the spatial sizes ``(T, H, W)`` and ``(kT, kH, kW)``
    output : three ints, an output position inside the output ``(To, Ho, Wo)``
    stride, padding, dilation : as in :func:`convgrad.conv`

    Raises
    ------
    ValueError
        If ``output`` is not three ints inside the output of the layer.

    Example: ``receptive_taps((4, 4, 4), 2, (0, 1, 1))[(0, 1, 2)] == (0, 0, 1)``.
    """
    geom = _geometry(in_size, kernel, stride, padding, dilation)
    o = _triple(output, "output")
    if not all(0 <= oi < n for oi, n in zip(o, geom.out_size)):
        raise ValueError(f"output={o} is outside the output {geom.out_size} of the layer "
                         f"in_size={geom.in_size}, kernel={geom.kernel_size}, stride={geom.stride}, "
                         f"padding={geom.padding}, dilation={geom.dilation}")
    dy = np.zeros((1, 1, *geom.out_size))
    dy[(0, 0, *o)] = 1.0
    labels = np.arange(1, prod(geom.kernel_size) + 1, dtype=float).reshape(geom.kernel_size)
    dx = conv_grad_input(dy, labels[None, None], (1, 1, *geom.in_size), stride=geom.stride,
                         padding=geom.padding, dilation=geom.dilation)
    hit = np.rint(dx[0, 0]).astype(int)
    kt, kh, kw = geom.kernel_size
    taps = {}
    for cell in zip(*np.nonzero(hit)):
        a, rest = divmod(int(hit[cell]) - 1, kh * kw)
        taps[tuple(int(i) for i in cell)] = (a, *divmod(rest, kw))
    return dict(sorted(taps.items()))


def draw_receptive_volume(in_size: IntOrTuple, kernel: IntOrTuple, output: Sequence[int], *,
                          stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1,
                          ncols: int = 3, names: Sequence[str] = ("frame t", "row h", "column w"),
                          title: str | None = None) -> tuple[plt.Figure, dict[Cell3, Cell3]]:
    """The receptive field of one output of a 3-D convolution, one panel per slice along the first
    axis: the input cells the output reads, orange, the others light blue. A panel is titled with
    the kernel slice ``a`` that reaches it and labels its cells with ``b,c``, so that cell
    ``(t, h, w)`` carries tap ``(a, b, c)``; a panel that no slice reaches (``nothing``) receives
    no gradient from this output.

    Parameters
    ----------
    in_size, kernel, output, stride, padding, dilation : as in :func:`receptive_taps`
    ncols : panels per row
    names : the names of the three axes (panel titles, axis labels)
    title : the figure title (by default it names the layer and the output)

    Returns
    -------
    fig, taps : the Figure and :func:`receptive_taps` ``{input cell: tap}``

    Example: ``fig, taps = draw_receptive_volume((6, 7, 8), (3, 2, 3), (1, 1, 3), dilation=(2, 1, 1))``.
    """
    if not isinstance(ncols, (int, np.integer)) or isinstance(ncols, bool) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    if len(names) != 3:
        raise ValueError(f"names must name the three axes, got {names!r}")
    geom = _geometry(in_size, kernel, stride, padding, dilation)
    taps = receptive_taps(in_size, kernel, output, stride=stride, padding=padding, dilation=dilation)
    t_size, h, w = geom.in_size
    nrows = ceil(t_size / ncols)
    cell = min(0.42, 9.0 / (ncols * w + 0.6 * ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * w * ncols + 0.6 * ncols + 0.4,
                                                    cell * h * nrows + 0.9 * nrows + 1.3),
                             squeeze=False)
    for t, ax in enumerate(axes.flat):
        if t >= t_size:
            ax.set_visible(False)
            continue
        read = {(hh, ww): tap for (tt, hh, ww), tap in taps.items() if tt == t}
        slices = {a for a, _, _ in read.values()}
        if len(slices) > 1:  # t = s*o + d*a - p_lo has one solution a
            raise RuntimeError(f"slice {t} is reached by kernel slices {sorted(slices)}")
        for r in range(h):
            for c in range(w):
                face = TAP if (r, c) in read else INPUT
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=face, edgecolor=EDGE,
                                       lw=0.8, gid=f"{t}:{'tap' if (r, c) in read else 'input'}:{r},{c}"))
                if (r, c) in read:
                    ax.text(c, r, ",".join(map(str, read[(r, c)][1:])), ha="center",
                            va="center", fontsize=FONT)
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks(range(0, w, 2))
        ax.set_yticks(range(0, h, 2))
        ax.tick_params(length=0, labelsize=FONT - 1, pad=1)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_title(f"{names[0]} = {t}: " + (f"kernel slice a = {slices.pop()}" if read
                                               else "nothing"), fontsize=FONT)
        ax.set_xlabel(names[2], fontsize=FONT - 1)
        ax.set_ylabel(names[1], fontsize=FONT - 1)
    o = _triple(output, "output")
    fig.suptitle(title or f"Receptive field of output {o}: the input cells it reads, labelled by "
                 f"the tap (b,c)\n{'x'.join(map(str, geom.in_size))} input, "
                 f"{'x'.join(map(str, geom.kernel_size))} kernel, stride {geom.stride}, "
                 f"dilation {geom.dilation}", fontsize=11)
    fig.legend(handles=[Patch(facecolor=INPUT, edgecolor=EDGE, label="input cell"),
                        Patch(facecolor=TAP, edgecolor=EDGE,
                              label="read by the output through tap (a, b, c), labelled b,c")],
               loc="outside lower center", ncols=2, fontsize=FONT, frameon=False)
    return fig, taps
