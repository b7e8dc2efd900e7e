"""Figures of the chapter on convolution as matrix multiplication: the column matrix and its three
products, and the kernel-offset method's shifted slices. Needs Matplotlib.

* :func:`draw_gemm_products`: the input, then the same three matrices ``A``, ``W^T``, ``Y`` laid
  out for a matrix product (``A`` left, ``W^T`` above, ``Y`` where their rows and columns meet),
  three times: the forward ``Y = A W^T`` (a row of ``A`` meets a column of ``W^T``), the weight
  gradient ``W_bar^T = A^T Y_bar`` (a column of ``A`` meets a column of ``Y_bar``) and the
  product of the input gradient ``A_bar = Y_bar W`` (a row of ``Y_bar`` meets a row of ``W^T``).
  One trilinear sum ``sum Y_bar[q, f] A[q, j] W[f, j]``, read three ways;
* :func:`draw_offset_slices`: the input flattened into rows, and the column of ``A`` of each kernel
  offset as that flat input shifted by a constant number of rows (``convgrad.direct``'s plan).

Everything drawn is computed by convgrad: ``A`` is :func:`convgrad.im2col.im2col` of an input
whose entries are their own flat indices, the shifts are :func:`convgrad.direct.plan`'s, and the
shifted slices are checked against ``A`` on every call. Colours follow
:mod:`convgrad.figures.diagrams`: light blue for the input (and ``A``, which holds its copies),
orange for the kernels, green for the outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ..general import conv_spec
from ..geometry import conv_geometry
from ..im2col import im2col
from .diagrams import EDGE, FONT, INPUT, INPUT_STRONG, NO_GRADIENT, OUTPUT, OUTPUT_STRONG, TAP

TAP_STRONG = "#D55E00"  # Okabe-Ito vermillion: the kernel entries a product uses

_FILL = {"A": INPUT, "W": TAP, "Y": OUTPUT}
_STRONG = {"A": INPUT_STRONG, "W": TAP_STRONG, "Y": OUTPUT_STRONG}


@dataclass(frozen=True)
class ColumnPicture:
    """What :func:`draw_gemm_products` computed.

    Attributes
    ----------
    x_index : array ``(H, W)``, each input entry's own flat index
    columns : array ``(M, K)``, ``A = im2col(x_index)``: the index of the input entry each cell copies
    row : the row of ``A`` of the chosen output (its window)
    column : the column of ``A`` of the chosen kernel tap
    kernel : the chosen kernel ``f`` (a column of ``W^T`` and of ``Y``)
    shapes : ``{"A": (M, K), "W": (F, K), "Y": (M, F)}``
    """

    x_index: np.ndarray
    columns: np.ndarray
    row: int
    column: int
    kernel: int
    shapes: dict[str, tuple[int, int]]


def column_picture(in_size: tuple[int, int] = (4, 4), kernel: tuple[int, int] = (2, 2),
                   out_channels: int = 2, output: tuple[int, int] = (1, 1),
                   tap: tuple[int, int] = (0, 1), kernel_index: int = 1) -> ColumnPicture:
    """The column matrix of a one-channel 2-D input (stride 1, no padding) and the chosen lines."""
    geom = conv_geometry((1, 1, *in_size), (out_channels, 1, *kernel))
    for name, value, limit in (("output", output, geom.out_size), ("tap", tap, geom.kernel_size)):
        if not all(0 <= v < n for v, n in zip(value, limit)) or len(value) != 2:
            raise ValueError(f"{name}={value} is outside {limit} (in_size={in_size}, kernel={kernel})")
    if not 0 <= kernel_index < out_channels:
        raise ValueError(f"kernel_index={kernel_index} is outside range({out_channels})")
    x_index = np.arange(int(np.prod(in_size)), dtype=float).reshape(in_size)
    cols = im2col(x_index[None, None], geom)[:, 0, :].astype(int)  # (M, K)
    m, k = cols.shape
    row = output[0] * geom.out_size[1] + output[1]
    column = tap[0] * kernel[1] + tap[1]
    return ColumnPicture(x_index.astype(int), cols, row, column, kernel_index,
                         {"A": (m, k), "W": (out_channels, k), "Y": (m, out_channels)})


# --- drawing --------------------------------------------------------------------------------------

def _cell(ax, r, c, face, text=None, *, text_colour="black", hatch=None, lw=0.8, edge=EDGE):
    ax.add_patch(Rectangle((c, r), 1, 1, facecolor=face, edgecolor=edge, lw=lw, hatch=hatch))
    if text is not None:
        ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=FONT,
                color=text_colour)


def _outline(ax, r, c, rows, cols, lw=2.2):
    ax.add_patch(Rectangle((c, r), cols, rows, fill=False, edgecolor="black", lw=lw, zorder=4))


def _block(ax, r0, c0, kind, shape, *, texts=None, lines=(), strong_cell=None, result=False):
    """A matrix block of ``shape`` at ``(r0, c0)``; ``lines`` are ``("row"|"col", i)`` drawn in the
    block's strong colour, ``strong_cell`` the product's result cell (black frame)."""
    rows, cols = shape
    for i in range(rows):
        for j in range(cols):
            on_line = any((kind_ == "row" and i == v) or (kind_ == "col" and j == v) for kind_, v in lines)
            face = _STRONG[kind] if on_line or (i, j) == strong_cell else _FILL[kind]
            text = None if texts is None else str(texts[i, j])
            _cell(ax, r0 + i, c0 + j, face, text, text_colour="white" if face == _STRONG[kind] else "black",
                  hatch="..." if result and (i, j) != strong_cell else None)
    for kind_, v in lines:
        if kind_ == "row":
            _outline(ax, r0 + v, c0, 1, cols)
        else:
            _outline(ax, r0, c0 + v, rows, 1)
    if strong_cell is not None:
        _outline(ax, r0 + strong_cell[0], c0 + strong_cell[1], 1, 1, lw=3.2)


def _product_panel(ax, pic: ColumnPicture, which: str, title: str, names: dict[str, str]) -> None:
    """The three matrices in product layout; ``which`` in {"forward", "weight", "input"}."""
    m, k = pic.shapes["A"]
    f = pic.shapes["W"][0]
    gap = 0.6
    top, left = k + gap, k + gap  # A and Y start below W^T; W^T and Y start right of A
    q, j, fk = pic.row, pic.column, pic.kernel
    a_lines = {"forward": [("row", q)], "weight": [("col", j)], "input": []}[which]
    w_lines = {"forward": [("col", fk)], "weight": [], "input": [("row", j)]}[which]
    y_lines = {"forward": [], "weight": [("col", fk)], "input": [("row", q)]}[which]
    _block(ax, top, 0, "A", (m, k), texts=pic.columns, lines=a_lines,
           strong_cell=(q, j) if which == "input" else None, result=which == "input")
    _block(ax, 0, left, "W", (k, f), lines=w_lines,
           strong_cell=(j, fk) if which == "weight" else None, result=which == "weight")
    _block(ax, top, left, "Y", (m, f), lines=y_lines,
           strong_cell=(q, fk) if which == "forward" else None, result=which == "forward")
    ax.text(left - 0.25, k / 2, names["W"], ha="right", va="center", fontsize=FONT + 1)
    ax.text(k / 2, top - 0.25, names["A"], ha="center", va="bottom", fontsize=FONT + 1)
    ax.text(left + f / 2, top + m + 0.3, names["Y"], ha="center", va="top", fontsize=FONT + 1)
    ax.set_xlim(-0.2, left + f + 0.2)
    ax.set_ylim(top + m + 1.6, -0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)


def draw_gemm_products(in_size: tuple[int, int] = (4, 4), kernel: tuple[int, int] = (2, 2),
                       out_channels: int = 2, output: tuple[int, int] = (1, 1),
                       tap: tuple[int, int] = (0, 1), kernel_index: int = 1,
                       *, title: str | None = None) -> tuple[plt.Figure, ColumnPicture]:
    """The input and the three products of a convolution as matrix products (see the module
    docstring), for one input channel, stride 1 and no padding.

    Parameters
    ----------
    in_size, kernel : the 2-D input and kernel sizes
    out_channels : ``F``, the number of kernels (columns of ``W^T``)
    output : the output ``(i, j)`` whose window (row of ``A``) the forward panel follows
    tap : the kernel tap ``(a, b)`` whose column of ``A`` the gradient panels follow
    kernel_index : the kernel ``f`` the forward and weight-gradient panels follow
    title : the figure's title (a default names the sizes)

    Returns
    -------
    fig, picture : the Figure and the :class:`ColumnPicture` it draws
    """
    pic = column_picture(in_size, kernel, out_channels, output, tap, kernel_index)
    h, w = in_size
    m, k = pic.shapes["A"]
    f = out_channels
    panel_w = k + 0.6 + f
    fig, axes = plt.subplots(1, 4, figsize=(7.8, 5.6),
                             gridspec_kw={"width_ratios": [w + 0.6, panel_w, panel_w, panel_w]})
    ax = axes[0]
    window = set(pic.columns[pic.row].tolist())
    tapped = set(pic.columns[:, pic.column].tolist())
    for r in range(h):
        for c in range(w):
            idx = int(pic.x_index[r, c])
            face = TAP if idx in tapped else INPUT
            _cell(ax, r, c, face, str(idx))
    rows = sorted({i // w for i in window})
    cols = sorted({i % w for i in window})
    _outline(ax, rows[0], cols[0], len(rows), len(cols), lw=2.8)
    ax.set_xlim(-0.2, w + 0.2)
    ax.set_ylim(h + 0.2, -0.2)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(w) + 0.5, range(w))
    ax.set_yticks(np.arange(h) + 0.5, range(h))
    ax.tick_params(length=0, labelsize=FONT)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel("input column", fontsize=FONT)
    ax.set_ylabel("input row", fontsize=FONT)
    ax.set_title(f"input x, {h}x{w}\n(entries: flat index)", fontsize=11)
    oi, oj = output
    a, b = tap
    _product_panel(axes[1], pic, "forward", "forward\nY = A Wᵀ",
                   {"A": "A", "W": "Wᵀ", "Y": "Y"})
    _product_panel(axes[2], pic, "weight", "weight gradient\nW̄ᵀ = Aᵀ Ȳ",
                   {"A": "A", "W": "W̄ᵀ", "Y": "Ȳ"})
    _product_panel(axes[3], pic, "input", "input gradient\nĀ = Ȳ W",
                   {"A": "Ā", "W": "Wᵀ", "Y": "Ȳ"})
    handles = [
        Rectangle((0, 0), 1, 1, fill=False, edgecolor="black", lw=2.8,
                  label=f"window of output ({oi},{oj}) = row {pic.row} of A"),
        Patch(facecolor=TAP, edgecolor=EDGE, label=f"cells tap ({a},{b}) reads = column {pic.column} of A"),
        Patch(facecolor="white", edgecolor="black", lw=2.0, label="the lines a product multiplies"),
        Patch(facecolor="white", edgecolor="black", lw=3.2, label="the entry they make (dotted: result)"),
        Line2D([], [], color="none", label="col2im adds each entry of Ā into x̄ at the index it shows"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=FONT, frameon=False)
    fig.suptitle(title or (f"A = im2col(x), {m}x{k}: a row per output window, a column per "
                           f"tap\nThe same three matrices make all three products ({f} kernels)"),
                 fontsize=12)
    return fig, pic


# --- the kernel-offset method ---------------------------------------------------------------------

@dataclass(frozen=True)
class OffsetSlices:
    """What :func:`draw_offset_slices` computed.

    Attributes
    ----------
    flat : array ``(P,)``, the input's flat indices (one row of the flat input each)
    shifts : the row shift ``delta_k`` of each kernel offset (:func:`convgrad.direct.plan`)
    slices : array ``(K, L)``, slice ``k`` = ``flat[delta_k : delta_k + L]``
    kept : the slice positions ``q`` that are outputs (the others are thrown away)
    """

    flat: np.ndarray
    shifts: tuple[int, ...]
    slices: np.ndarray
    kept: tuple[int, ...]


def offset_slices(in_size: tuple[int, int] = (4, 4), kernel: tuple[int, int] = (2, 2)) -> OffsetSlices:
    """The shifted slices of a one-channel 2-D input (stride 1, no padding), checked against im2col:
    at the kept positions the slices side by side are exactly the column matrix."""
    from ..direct import plan  # the method's own plan: grid and shifts

    spec = conv_spec((1, 1, *in_size), (1, 1, *kernel))
    pl = plan(spec)
    if pl.grid != tuple(in_size):
        raise ValueError(f"expected the phase grid to be the input {in_size}, got {pl.grid}")
    flat = np.arange(int(np.prod(in_size)))
    length = flat.size - pl.max_shift
    slices = np.stack([flat[d:d + length] for d in pl.offset_shift])  # (K, L)
    out_h, out_w = spec.out_size
    kept = tuple(i * in_size[1] + j for i in range(out_h) for j in range(out_w))
    columns = im2col(flat.reshape(1, 1, *in_size).astype(float), conv_geometry(
        (1, 1, *in_size), (1, 1, *kernel)))[:, 0, :].astype(int)
    if not np.array_equal(slices[:, list(kept)].T, columns):
        raise AssertionError("the shifted slices at the kept rows differ from im2col's columns")
    return OffsetSlices(flat, tuple(pl.offset_shift), slices, kept)


def draw_offset_slices(in_size: tuple[int, int] = (4, 4), kernel: tuple[int, int] = (2, 2), *,
                       title: str | None = None) -> tuple[plt.Figure, OffsetSlices]:
    """The flat input and, below it, the column of ``A`` of each kernel offset as a contiguous
    slice of it, shifted by ``delta_k`` rows; positions whose window would wrap into the next image
    row are computed and thrown away (red).

    Returns
    -------
    fig, slices : the Figure and the :class:`OffsetSlices` it draws
    """
    sl = offset_slices(in_size, kernel)
    h, w = in_size
    taps, length = sl.slices.shape
    fig, ax = plt.subplots(figsize=(8.0, 3.7))
    p = sl.flat.size
    for i in range(p):
        _cell(ax, 1, i, INPUT, str(i))
    for r in range(h):
        ax.plot([r * w + 0.1, r * w + w - 0.1], [0.75, 0.75], color="0.35", lw=1.2)
        ax.text(r * w + w / 2, 0.6, f"row {r} of x", ha="center", va="bottom", fontsize=FONT)
    for t in range(taps):
        for q in range(length):
            kept = q in sl.kept
            _cell(ax, 3 + t, q, TAP if kept else "#f6c9c9", str(sl.slices[t, q]),
                  hatch=None if kept else "xx", edge=NO_GRADIENT if not kept else EDGE)
        a, b = divmod(t, kernel[1])
        ax.text(-0.3, 3.5 + t, f"tap ({a},{b}), δ = {sl.shifts[t]}", ha="right", va="center",
                fontsize=FONT)
    ax.text(-0.3, 1.5, "flat input", ha="right", va="center", fontsize=FONT)
    ax.text(-0.3, 3 + taps + 0.5, "output", ha="right", va="center", fontsize=FONT)
    for q in range(length):
        label = f"{q // w},{q % w}" if q in sl.kept else "–"
        ax.text(q + 0.5, 3 + taps + 0.5, label, ha="center", va="center", fontsize=FONT,
                color="black" if q in sl.kept else NO_GRADIENT)
    ax.set_xlim(-4.6, p + 0.2)
    ax.set_ylim(3 + taps + 1.1, 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    handles = [Patch(facecolor=TAP, edgecolor=EDGE, label="a column of the slices = the window "
                     "(row of A) of the output below it"),
               Patch(facecolor="#f6c9c9", edgecolor=NO_GRADIENT, hatch="xx",
                     label="window runs past the end of an image row: computed, thrown away")]
    fig.legend(handles=handles, loc="outside lower center", ncols=1, fontsize=FONT, frameon=False)
    ax.set_title(title or (f"{h}x{w} input, {kernel[0]}x{kernel[1]} kernel: tap k reads one "
                           f"contiguous slice of the flat input,\nshifted by δ_k rows; "
                           f"Y[q] = Σ_k x_flat[q + δ_k] W_kᵀ"), fontsize=12)
    return fig, sl
