"""Index diagrams in the style of Dumoulin & Visin's "A guide to convolution arithmetic": 2-D grids of
input cells, kernel taps and output cells with the mapping between them drawn, for the forward map,
both gradients, stride, dilation, transposition and groups. Needs Matplotlib.

* :func:`draw_forward`: the window of one output (or a row of frames, one per output);
* :func:`draw_input_gradient`: the outputs that send gradient to one input cell, and their taps;
* :func:`draw_weight_gradient`: the sub-grid of input cells one tap meets, paired with ``ȳ``;
* :func:`draw_read_counts` (on an Axes) and :func:`draw_stride_gaps`: how many windows read each
  cell; unread cells get exactly zero gradient;
* :func:`draw_dilation`: spread taps, and stride and dilation trading places in the weight gradient;
* :func:`draw_transposed`: the transposed convolution as zeros inserted into ``ȳ``, a border, and the
  flipped kernel;
* :func:`draw_groups`: which input channel reaches which output channel, one colour per group.

Every picture is computed by convgrad; no drawing code re-derives the index map ``s*o + d*k - p_lo``:

* which padded-input cells output ``o`` reads, and through which tap: ``conv_grad_input`` of a
  one-hot ``dy`` at ``o`` with a kernel whose entry ``(a, b)`` is its own label ``1 + a*kw + b``
  (:func:`index_map`, all outputs in one batched call);
* which input cells tap ``k`` reads, paired with which output: ``conv_grad_weight`` of a labelled
  ``dy`` against one-hot input channels (:func:`tap_subgrid`);
* how often each cell is read: :func:`convgrad.figures.index_maps.coverage`;
* the zero-inserted, padded ``dy`` of a transposed convolution: :func:`convgrad.rules.dilate` and
  :func:`convgrad.rules.pad_or_crop`, checked against ``conv_grad_input`` on every call
  (:func:`transposed_layout`);
* which input channel reaches which output channel: :func:`convgrad.conv` of one-hot channels
  (:func:`group_connections`).

One visual language for all diagrams (:data:`ROLES`): colours name the *space* a cell lives in, not
its role in the current operation, so that a transposed convolution maps the green grid to the blue
one just as the input gradient does.

=================  ============================================================================
light blue         input cells ``x`` (and ``x̄``); strong blue: the chosen input cell
grey, hatched      zero padding
yellow, dotted     zeros inserted between entries (by a stride, in a transposed convolution)
orange             kernel taps ``w[a, b]``, and the input cells a tap multiplies, labelled
                   ``a,b``; a black frame outlines one output's window
light green        output cells ``y`` (and ``ȳ``); strong green: the outputs involved
red, crossed       input cells no window reads: their gradient is exactly 0
=================  ============================================================================

Every ``draw_*`` function returns the Figure (or draws on the Axes it is given) and what it computed,
so a notebook can assert on it, e.g.::

    fig, pairs = draw_input_gradient((6, 6), (3, 3), (2, 3), stride=2, padding=1)
    assert pairs == [((1, 1), (1, 2)), ((1, 2), (1, 0))]

Coordinates: input cells are named by their index ``(m, n)`` in the unpadded input, so padding cells
have ``m < 0`` or ``m >= H`` (as the tick labels show); outputs by ``(i, j)``, taps by ``(a, b)``.
Every drawn cell that a diagram singles out carries a ``gid`` ``"<panel>:<role>:<r>,<c>"`` (e.g.
``"input:tap:2,3"``), so tests can read back what was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import ConnectionPatch, Patch, Rectangle

from ..functional import conv, conv_grad_input, conv_grad_weight
from ..geometry import ConvGeometry, IntOrTuple, Padding, check_groups, conv_geometry
from ..rules import dilate, flip_transpose, pad_or_crop
from .index_maps import coverage

Cell = tuple[int, int]

# --- the visual language ---------------------------------------------------------------------

INPUT = "#d6e9f8"
INPUT_STRONG = "#0072B2"      # Okabe-Ito blue
PADDING = "#e4e4e4"
INSERTED = "#fbf3c4"
TAP = "#f3b54a"               # Okabe-Ito orange, lightened so that black labels stay readable
OUTPUT = "#d5f0e3"
OUTPUT_STRONG = "#009E73"     # Okabe-Ito green
NO_GRADIENT = "#d62728"       # as index_maps.UNREAD
WINDOW = "black"
EDGE = "0.55"
FONT = 10                     # the smallest font in any diagram (pt)

#: role -> (face colour, hatch, legend text); every legend is built from this table
ROLES: dict[str, tuple[str, str | None, str]] = {
    "input": (INPUT, None, "input cell"),
    "chosen input": (INPUT_STRONG, None, "chosen input cell"),
    "padding": (PADDING, "//", "zero padding"),
    "inserted": (INSERTED, "..", "inserted zero"),
    "tap": (TAP, None, "kernel tap / cell it multiplies (a,b)"),
    "tap on padding": (TAP, "//", "tap on padding (multiplies 0)"),
    "other tap": ("#fdf0dc", None, "other kernel taps"),
    "output": (OUTPUT, None, "output cell"),
    "chosen output": (OUTPUT_STRONG, None, "output involved"),
    "no gradient": (NO_GRADIENT, "x", "read by no window: gradient 0"),
}
#: colours that pair an output with its tap; none is close to the blue, green or orange fills
_PAIR_COLOURS = ("#CC79A7", "#D55E00", "#7f3c8d", "#56B4E9", "#1a1a1a", "#e73f74", "#8c564b", "#1f1f7a",
                 "#808000", "#8c1d40", "#7f7f7f", "#F0E442")
_GROUP_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7f3c8d", "#4d4d4d")


# --- arguments ---------------------------------------------------------------------------------

def _pair(value: IntOrTuple, name: str, *, allow_int: bool = True) -> Cell:
    """``value`` as a pair of ints (an int ``k`` means ``(k, k)`` where ``allow_int``)."""
    if allow_int and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    wanted = "an int or a pair of ints" if allow_int else "a pair of ints (row, column)"
    try:
        items = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be {wanted}, got {value!r}") from None
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  for v in items):
        raise ValueError(f"{name} must be {wanted} (a 2-D diagram), got {value!r}")
    return int(items[0]), int(items[1])


def layer_geometry(in_size: IntOrTuple, kernel: IntOrTuple, *, stride: IntOrTuple = 1,
                   padding: Padding = 0, dilation: IntOrTuple = 1) -> ConvGeometry:
    """The checked geometry of a 2-D single-channel convolution (padding in any convgrad form)."""
    in_size, kernel = _pair(in_size, "in_size"), _pair(kernel, "kernel")
    return conv_geometry((1, 1, *in_size), (1, 1, *kernel), stride=stride, padding=padding,
                         dilation=dilation)


def _describe(geom: ConvGeometry) -> str:
    return (f"in_size={geom.in_size}, kernel={geom.kernel_size}, stride={geom.stride}, "
            f"padding={geom.padding}, dilation={geom.dilation}")


def _check_cell(value: object, name: str, lo: Cell, hi: Cell, what: str, geom: ConvGeometry) -> Cell:
    cell = _pair(value, name, allow_int=False)  # type: ignore[arg-type]
    if not (lo[0] <= cell[0] < hi[0] and lo[1] <= cell[1] < hi[1]):
        raise ValueError(f"{name}={cell} is outside the {what} (rows {lo[0]}..{hi[0] - 1}, columns "
                         f"{lo[1]}..{hi[1] - 1}) of the layer {_describe(geom)}")
    return cell


# --- what convgrad computes --------------------------------------------------------------------

def _tap_labels(kernel: Sequence[int]) -> np.ndarray:
    """A kernel whose entry ``(a, b)`` is ``1 + a*kw + b``: a gradient through it names its tap."""
    return np.arange(1, prod(kernel) + 1, dtype=float).reshape(tuple(kernel))


@dataclass(frozen=True)
class IndexMap:
    """Which padded-input cell each output reads through each kernel tap, as computed by convgrad.

    Attributes
    ----------
    geom : the layer's :class:`~convgrad.geometry.ConvGeometry`
    taps : int array ``(Ho, Wo, Hp, Wp)``
        ``1 + a*kw + b`` where output ``(i, j)`` reads padded cell ``(r, c)`` through tap ``(a, b)``,
        0 where it does not read it.
    """

    geom: ConvGeometry
    taps: np.ndarray

    def _tap(self, label: int) -> Cell:
        a, b = divmod(int(label) - 1, self.geom.kernel_size[1])
        return a, b

    @property
    def offset(self) -> Cell:
        """``(p_lo_rows, p_lo_cols)``: padded index minus input index."""
        return self.geom.padding[0][0], self.geom.padding[1][0]

    def window(self, output: Cell) -> dict[Cell, Cell]:
        """``{input cell (m, n): tap (a, b)}`` read by one output (padding cells included)."""
        lr, lc = self.offset
        labels = self.taps[output[0], output[1]]
        return {(int(r) - lr, int(c) - lc): self._tap(labels[r, c]) for r, c in zip(*np.nonzero(labels))}

    def sources(self, cell: Cell) -> list[tuple[Cell, Cell]]:
        """``[(output (i, j), tap (a, b)), ...]`` of the outputs that read one input cell, in order."""
        lr, lc = self.offset
        labels = self.taps[:, :, cell[0] + lr, cell[1] + lc]
        return [((int(i), int(j)), self._tap(labels[i, j])) for i, j in zip(*np.nonzero(labels))]


def index_map(in_size: IntOrTuple, kernel: IntOrTuple, *, stride: IntOrTuple = 1, padding: Padding = 0,
              dilation: IntOrTuple = 1) -> IndexMap:
    """The whole index map of a 2-D layer, from one batched ``conv_grad_input`` call.

    Sample ``o`` of the batch is a one-hot ``dy`` at output ``o``; the kernel holds its own tap
    labels; the gradient of the already padded input then holds, at each cell output ``o`` reads,
    the label of the tap that multiplies it (a window never reads a cell twice, so labels do not add).

    Example: ``index_map((5, 5), 3, stride=2).window((1, 0))[(2, 1)] == (0, 1)``.
    """
    geom = layer_geometry(in_size, kernel, stride=stride, padding=padding, dilation=dilation)
    ho, wo = geom.out_size
    dy = np.eye(ho * wo).reshape(ho * wo, 1, ho, wo)
    w = _tap_labels(geom.kernel_size)[None, None]
    dx = conv_grad_input(dy, w, (ho * wo, 1, *geom.padded_size), stride=geom.stride,
                         dilation=geom.dilation, padding=0)
    taps = np.rint(dx[:, 0]).astype(int).reshape(ho, wo, *geom.padded_size)
    return IndexMap(geom, taps)


def tap_subgrid(in_size: IntOrTuple, kernel: IntOrTuple, tap: Cell, *, stride: IntOrTuple = 1,
                padding: Padding = 0, dilation: IntOrTuple = 1) -> tuple[np.ndarray, np.ndarray]:
    """The input cells one kernel tap reads, one per output: ``w̄[a, b] = Σ_o ȳ[o] x[rows[o], cols[o]]``.

    Computed by ``conv_grad_weight``: input channel ``q`` is one-hot at padded cell ``q``, ``dy``
    holds the output labels ``1 + i*Wo + j``, so ``w̄[0, q, a, b]`` names the output that pairs with
    cell ``q`` through tap ``(a, b)``.

    Returns
    -------
    rows, cols : int arrays ``(Ho, Wo)``, input coordinates (negative or ``>= H`` on padding)

    Example: ``tap_subgrid((5, 5), 3, (1, 2), stride=2)[0].tolist() == [[1, 1], [3, 3]]``.
    """
    geom = layer_geometry(in_size, kernel, stride=stride, padding=padding, dilation=dilation)
    a, b = _check_cell(tap, "tap", (0, 0), geom.kernel_size, "kernel", geom)
    hp, wp = geom.padded_size
    ho, wo = geom.out_size
    x = np.eye(hp * wp).reshape(hp * wp, hp, wp)                       # unbatched, one channel per cell
    dy = np.arange(1, ho * wo + 1, dtype=float).reshape(1, ho, wo)
    dw = conv_grad_weight(dy, x, (1, hp * wp, *geom.kernel_size), stride=geom.stride,
                          dilation=geom.dilation, padding=0)
    owner = np.rint(dw[0, :, a, b]).astype(int)                         # (Hp*Wp,) output label or 0
    rows = np.full((ho, wo), -10**6)
    cols = np.full((ho, wo), -10**6)
    lr, lc = geom.padding[0][0], geom.padding[1][0]
    for q in np.flatnonzero(owner):
        i, j = divmod(owner[q] - 1, wo)
        rows[i, j], cols[i, j] = q // wp - lr, q % wp - lc
    if (rows == -10**6).any():
        raise RuntimeError(f"conv_grad_weight left outputs without a cell for tap {tap}: {_describe(geom)}")
    return rows, cols


@dataclass(frozen=True)
class TransposedLayout:
    """The input gradient of a strided convolution drawn as a stride-1 convolution (a transposed
    convolution): ``dy`` with ``s - 1`` zeros between entries, bordered by ``d*(k-1) - p_lo`` zeros
    before and ``H + p_lo - s*(Ho-1) - 1`` after (negative: cropped), read by the flipped kernel.

    Attributes
    ----------
    geom : the forward (strided) layer
    pads : ``((lo, hi), (lo, hi))`` border per axis of the zero-inserted ``dy``
    grid : int array, the zero-inserted, bordered ``dy``: ``1 + i*Wo + j`` where ``dy[i, j]`` sits,
        0 on an inserted zero, -1 on the border
    window : ``{grid cell (r, c): tap (a, b) of the unflipped kernel}`` read by the chosen output
    """

    geom: ConvGeometry
    pads: tuple[Cell, Cell]
    grid: np.ndarray
    window: dict[Cell, Cell]

    def position(self, output: Cell) -> Cell | None:
        """Grid cell where ``dy[i, j]`` sits, or ``None`` if the border crops it."""
        hit = np.argwhere(self.grid == 1 + output[0] * self.geom.out_size[1] + output[1])
        return (int(hit[0][0]), int(hit[0][1])) if len(hit) else None


def transposed_layout(in_size: IntOrTuple, kernel: IntOrTuple, cell: Cell, *, stride: IntOrTuple = 1,
                      padding: Padding = 0, dilation: IntOrTuple = 1) -> TransposedLayout:
    """Lay out ``dy`` as :func:`convgrad.rules.grad_input_via_conv` does and find the window of the
    chosen cell ``(m, n)`` of ``x̄`` (the transposed convolution's output).

    The layout is checked on every call: the stride-1 convolution of the laid-out ``dy`` with the
    flipped kernel must equal ``conv_grad_input`` (random ``dy`` and ``w``), else RuntimeError.
    """
    geom = layer_geometry(in_size, kernel, stride=stride, padding=padding, dilation=dilation)
    m, n = _check_cell(cell, "cell", (0, 0), geom.in_size, "input (the transposed convolution's output)",
                       geom)
    ho, wo = geom.out_size
    pads = tuple((d * (k - 1) - lo, size + lo - s * (o - 1) - 1)   # as rules.grad_input_via_conv
                 for size, k, o, s, d, (lo, _) in zip(geom.in_size, geom.kernel_size, geom.out_size,
                                                      geom.stride, geom.dilation, geom.padding))

    def lay_out(a: np.ndarray) -> np.ndarray:
        return pad_or_crop(dilate(a, geom.stride, first_axis=2), pads, first_axis=2)

    labels = lay_out(np.arange(1, ho * wo + 1, dtype=float).reshape(1, 1, ho, wo))[0, 0]
    extent = pad_or_crop(np.ones((1, 1, *(s * (o - 1) + 1 for s, o in zip(geom.stride, geom.out_size)))),
                         pads, first_axis=2)[0, 0]
    grid = np.where(labels > 0, np.rint(labels), np.where(extent > 0, 0, -1)).astype(int)

    rng = np.random.default_rng(0)
    dy, w = rng.standard_normal((1, 1, ho, wo)), rng.standard_normal((1, 1, *geom.kernel_size))
    stride1 = conv(lay_out(dy), flip_transpose(w, 1), dilation=geom.dilation)
    if stride1.shape != (1, 1, *geom.in_size) or not np.allclose(
            stride1, conv_grad_input(dy, w, (1, 1, *geom.in_size), stride=geom.stride,
                                     padding=geom.padding, dilation=geom.dilation), atol=1e-12):
        raise RuntimeError(f"the zero-inserted layout does not reproduce conv_grad_input: {_describe(geom)}")

    onehot = np.zeros((1, 1, *geom.in_size))
    onehot[0, 0, m, n] = 1.0
    flipped = flip_transpose(_tap_labels(geom.kernel_size)[None, None], 1)
    read = np.rint(conv_grad_input(onehot, flipped, (1, 1, *grid.shape), dilation=geom.dilation)[0, 0])
    kw = geom.kernel_size[1]
    window = {(int(r), int(c)): divmod(int(read[r, c]) - 1, kw) for r, c in zip(*np.nonzero(read))}
    return TransposedLayout(geom, pads, grid, window)  # type: ignore[arg-type]


def group_connections(in_channels: int, out_channels: int, groups: int) -> np.ndarray:
    """Which input channel reaches which output channel of a grouped convolution, and in which group.

    Computed by :func:`convgrad.conv`: sample ``c`` of a batch is one-hot in channel ``c``, the
    kernel is all ones, and ``y[c, f] != 0`` means channel ``c`` reaches ``f``. The groups are the
    connected components of that bipartite graph, numbered by their first input channel.

    Returns
    -------
    int array ``(F, C)``: ``1 + g`` where ``c`` reaches ``f`` within group ``g``, else 0

    Example: ``group_connections(4, 4, 2)[0].tolist() == [1, 1, 0, 0]``.
    """
    groups = check_groups(groups)
    if in_channels < 1 or out_channels < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels} (both positive)")
    x = np.eye(in_channels).reshape(in_channels, in_channels, 1)
    y = conv(x, np.ones((out_channels, in_channels // groups, 1)), groups=groups)
    reach = y[:, :, 0].T != 0                                          # (F, C)
    group = np.zeros(reach.shape, dtype=int)
    label = 0
    for c0 in range(in_channels):
        if group[:, c0].any():
            continue
        label += 1
        ins, outs = {c0}, set()
        while True:   # grow the component until no new channel joins
            new_outs = {int(f) for c in ins for f in np.flatnonzero(reach[:, c])}
            new_ins = {int(c) for f in new_outs for c in np.flatnonzero(reach[f])}
            if new_outs == outs and new_ins == ins:
                break
            ins, outs = ins | new_ins, outs | new_outs
        for f in outs:
            for c in ins:
                if reach[f, c]:
                    group[f, c] = label
    return group


# --- drawing primitives ------------------------------------------------------------------------

def _cell(ax: plt.Axes, r: float, c: float, role: str, text: str | None = None, *, gid: str | None = None,
          edge: str = EDGE, lw: float = 0.8, text_colour: str = "black", fontsize: float = FONT,
          weight: str = "normal") -> None:
    face, hatch, _ = ROLES[role]
    ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=face, edgecolor=edge, hatch=hatch, lw=lw,
                           gid=gid, zorder=1))
    if text is not None:
        bbox = dict(facecolor=face, edgecolor="none", pad=1.5) if hatch else None
        ax.text(c, r, text, ha="center", va="center", fontsize=fontsize, color=text_colour,
                fontweight=weight, bbox=bbox, zorder=3)


def _frame(ax: plt.Axes, r0: float, c0: float, rows: float, cols: float, *, colour: str = WINDOW,
           lw: float = 2.6, ls: str = "-", gid: str | None = None, inset: float = 0.0) -> None:
    """Outline the block of cells ``[r0, r0+rows) x [c0, c0+cols)``."""
    ax.add_patch(Rectangle((c0 - 0.5 + inset, r0 - 0.5 + inset), cols - 2 * inset, rows - 2 * inset,
                           fill=False, edgecolor=colour, lw=lw, ls=ls, gid=gid, zorder=4))


def _axes_grid(ax: plt.Axes, rows: Sequence[int], cols: Sequence[int], *, title: str, xlabel: str,
               ylabel: str, tick_step: int = 1) -> None:
    """Square cells at integer positions ``rows x cols`` (labelled by those numbers), row 0 on top."""
    ax.set_xlim(cols[0] - 0.5, cols[-1] + 0.5)
    ax.set_ylim(rows[-1] + 0.5, rows[0] - 0.5)
    ax.set_aspect("equal")
    ax.set_xticks(list(cols)[::tick_step])
    ax.set_yticks(list(rows)[::tick_step])
    ax.tick_params(length=0, labelsize=FONT, pad=2)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)


def _legend(fig: plt.Figure, roles: Sequence[str], extra: Sequence[plt.Artist] = (), *, ncols: int = 4,
            labels: dict[str, str] | None = None, caption: str | None = None) -> None:
    """The legend of a diagram, built from :data:`ROLES` (``labels`` overrides a role's text), with
    ``caption`` (e.g. the sum the diagram explains) as its title, below all panels."""
    labels = labels or {}
    handles = [Patch(facecolor=ROLES[r][0], edgecolor=EDGE, hatch=ROLES[r][1],
                     label=labels.get(r, ROLES[r][2])) for r in roles]
    handles += list(extra)
    legend = fig.legend(handles=handles, loc="outside lower center", ncols=min(ncols, len(handles)),
                        fontsize=FONT, frameon=False, handlelength=1.6, columnspacing=1.4, title=caption,
                        title_fontsize=11)
    legend.get_title().set_multialignment("center")


def _window_frame() -> Line2D:
    return Line2D([], [], color=WINDOW, lw=2.6, label="window of one output")


def _draw_input(ax: plt.Axes, geom: ConvGeometry, *, panel: str = "input", title: str,
                read: dict[Cell, Cell] | None = None, label_taps: bool = True,
                chosen: Cell | None = None) -> None:
    """The padded input grid; ``read`` cells (input cell -> tap) orange and labelled with the tap."""
    (lr, hr), (lc, hc) = geom.padding
    h, w = geom.in_size
    rows, cols = range(-lr, h + hr), range(-lc, w + hc)
    for m in rows:
        for n in cols:
            real = 0 <= m < h and 0 <= n < w
            if read and (m, n) in read:
                a, b = read[(m, n)]
                _cell(ax, m, n, "tap" if real else "tap on padding", f"{a},{b}" if label_taps else None,
                      gid=f"{panel}:tap:{m},{n}")
            elif (m, n) == chosen:
                _cell(ax, m, n, "chosen input", f"{m},{n}", gid=f"{panel}:chosen:{m},{n}",
                      text_colour="white", weight="bold")
            else:
                _cell(ax, m, n, "input" if real else "padding")
    if lr or hr or lc or hc:
        _frame(ax, 0, 0, h, w, colour="0.25", lw=1.2)
    _axes_grid(ax, rows, cols, title=title, xlabel="input column n", ylabel="input row m")


def _draw_output(ax: plt.Axes, geom: ConvGeometry, *, panel: str = "output", title: str,
                 marked: dict[Cell, str | None] | None = None, edges: dict[Cell, str] | None = None,
                 strong: bool = True) -> None:
    """The output grid; ``marked`` cells strong green (light if not ``strong``) with their text."""
    ho, wo = geom.out_size
    for i in range(ho):
        for j in range(wo):
            if marked and (i, j) in marked:
                _cell(ax, i, j, "chosen output" if strong else "output", marked[(i, j)],
                      gid=f"{panel}:chosen:{i},{j}", text_colour="white" if strong else "black",
                      weight="bold" if strong else "normal")
                if edges and (i, j) in edges:
                    _frame(ax, i, j, 1, 1, colour=edges[(i, j)], lw=3.0, inset=0.06)
            else:
                _cell(ax, i, j, "output")
    _axes_grid(ax, range(ho), range(wo), title=title, xlabel="output column j", ylabel="output row i")


def _draw_kernel(ax: plt.Axes, kernel: Sequence[int], *, title: str, marked: dict[Cell, str] | None = None,
                 edges: dict[Cell, str] | None = None, all_labels: bool = True) -> None:
    kh, kw = kernel
    for a in range(kh):
        for b in range(kw):
            if marked is not None and (a, b) in marked:
                _cell(ax, a, b, "tap", marked[(a, b)], gid=f"kernel:tap:{a},{b}", weight="bold")
                if edges and (a, b) in edges:
                    _frame(ax, a, b, 1, 1, colour=edges[(a, b)], lw=3.0, inset=0.06)
            elif marked is None:
                _cell(ax, a, b, "tap", f"{a},{b}" if all_labels else None)
            else:
                _cell(ax, a, b, "other tap", f"{a},{b}", text_colour="0.45")
    _axes_grid(ax, range(kh), range(kw), title=title, xlabel="kernel column b", ylabel="kernel row a")


def _row_of_panels(widths: Sequence[float], rows: int, *, extra: float, width: float = 10.0):
    """A figure with one row of grid panels, ``widths`` in cells, 8 to 10 inches wide and tall enough
    that the tallest grid (``rows`` cells) keeps square cells; ``extra`` inches of titles, labels and
    legend."""
    cell = min((width - 0.8 * len(widths)) / sum(widths), 0.5)   # at most half an inch a cell
    width = max(8.0, cell * sum(widths) + 0.8 * len(widths))
    return plt.subplots(1, len(widths), figsize=(width, min(cell * rows + extra, 9.0)), width_ratios=widths)


def _connect(fig: plt.Figure, ax_a: plt.Axes, xy_a: tuple[float, float], ax_b: plt.Axes,
             xy_b: tuple[float, float], colour: str = WINDOW, lw: float = 1.4, ls: str = "-") -> None:
    """A line from a point of one panel to a point of the panel on its right, whose row labels move
    to its right side so that the line does not cross them."""
    ax_b.yaxis.tick_right()
    ax_b.yaxis.set_label_position("right")
    fig.add_artist(ConnectionPatch(xyA=xy_a, coordsA=ax_a.transData, xyB=xy_b, coordsB=ax_b.transData,
                                   color=colour, lw=lw, ls=ls, alpha=0.8, zorder=5))


def _bounds(cells: Sequence[Cell]) -> tuple[int, int, int, int]:
    rs, cs = [c[0] for c in cells], [c[1] for c in cells]
    return min(rs), min(cs), max(rs) - min(rs) + 1, max(cs) - min(cs) + 1


def _geometry_text(geom: ConvGeometry) -> str:
    def one(v: tuple) -> str:
        return str(v[0]) if len(set(v)) == 1 else f"{v}"
    pads = geom.padding
    pad = (str(pads[0][0]) if len({p for pair in pads for p in pair}) == 1 else
           f"{pads[0]}" if pads[0] == pads[1] else f"rows {pads[0]}, cols {pads[1]}")
    return (f"{geom.in_size[0]}x{geom.in_size[1]} input, {geom.kernel_size[0]}x{geom.kernel_size[1]} "
            f"kernel, stride {one(geom.stride)}, padding {pad}, dilation {one(geom.dilation)}")


def _input_title(geom: ConvGeometry) -> str:
    (h, w), (hp, wp) = geom.in_size, geom.padded_size
    return f"input {h}x{w}, padded to {hp}x{wp}" if (h, w) != (hp, wp) else f"input {h}x{w}"


def _sum(terms: Sequence[str]) -> str:
    """``a + b + c``, shortened to ``a + b + … + z`` beyond four terms."""
    return " + ".join(terms if len(terms) <= 4 else [*terms[:2], "…", terms[-1]])


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if abs(k) == 1 else "s")


def _ordinal(i: int) -> str:
    return {0: "first", 1: "second", 2: "third", 3: "fourth", 4: "fifth"}.get(i, f"{i + 1}th")


# --- 1. forward ---------------------------------------------------------------------------------

def draw_forward(in_size: IntOrTuple, kernel: IntOrTuple, outputs: Cell | Sequence[Cell] = (0, 0), *,
                 stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1,
                 title: str | None = None) -> tuple[plt.Figure, list[dict[Cell, Cell]]]:
    """Which input cells one output reads, and which tap multiplies each.

    One output: the padded input with that output's window framed and its cells labelled by the tap
    ``(a, b)`` they meet, the kernel, and the output with the cell highlighted. Several outputs: one
    small frame per output (D&V's first, second, ... frames), input above output.

    Returns
    -------
    fig, windows : one ``{input cell (m, n): tap (a, b)}`` per output

    Example: ``fig, (win,) = draw_forward((5, 5), 3, (1, 1), stride=2, padding=1)``.
    """
    imap = index_map(in_size, kernel, stride=stride, padding=padding, dilation=dilation)
    geom = imap.geom
    many = not (len(outputs) == 2 and all(isinstance(v, (int, np.integer)) for v in outputs))  # type: ignore
    chosen = [_check_cell(o, "outputs", (0, 0), geom.out_size, "output", geom)
              for o in (outputs if many else [outputs])]  # type: ignore[union-attr]
    windows = [imap.window(o) for o in chosen]
    hp, wp = geom.padded_size
    ho, wo = geom.out_size
    caption = None
    if len(chosen) == 1:
        (o,), (win,) = chosen, windows
        fig, axes = _row_of_panels([max(geom.kernel_size[1], 3), wp, max(wo, 3)], max(hp, ho), extra=2.6)
        ax_k, ax_in, ax_out = axes
        _draw_kernel(ax_k, geom.kernel_size, title="kernel w[a, b]")
        _draw_input(ax_in, geom, title=_input_title(geom), read=win)
        _draw_output(ax_out, geom, title=f"output {ho}x{wo}", marked={o: f"{o[0]},{o[1]}"})
        r0, c0, nr, nc = _bounds(list(win))
        _frame(ax_in, r0, c0, nr, nc, gid=f"input:window:{o[0]},{o[1]}")
        _connect(fig, ax_in, (c0 + nc - 0.5, r0 + (nr - 1) / 2), ax_out, (o[1] - 0.5, o[0]))
        by_tap = sorted(win.items(), key=lambda t: t[1])
        caption = f"y[{o[0]},{o[1]}] = " + _sum([f"w[{a},{b}]·x[{m},{n}]" for (m, n), (a, b) in by_tap])
        heading = f"Forward: output ({o[0]},{o[1]}) reads the framed window; each cell meets tap (a,b)"
    else:
        n = len(chosen)
        fig, axes = plt.subplots(2, n, figsize=(min(10.0, 2.6 * n + 0.6), 6.0),
                                 height_ratios=[hp, max(ho, 2)], squeeze=False)
        panel_inches = min(10.0, 2.6 * n + 0.6) / n - 0.6
        for k, (o, win) in enumerate(zip(chosen, windows)):
            ax_in, ax_out = axes[0, k], axes[1, k]
            _draw_input(ax_in, geom, panel=f"input{k}", title=f"{_ordinal(k)}: output ({o[0]},{o[1]})",
                        read=win, label_taps=panel_inches / wp >= 0.26)
            r0, c0, nr, nc = _bounds(list(win))
            _frame(ax_in, r0, c0, nr, nc, gid=f"input{k}:window:{o[0]},{o[1]}")
            _draw_output(ax_out, geom, panel=f"output{k}", title=f"output {ho}x{wo}",
                         marked={o: f"{o[0]},{o[1]}" if panel_inches / wo >= 0.4 else None})
        heading = "Forward, one frame per output: the window moves by the stride"
    fig.suptitle(title or f"{heading}\n{_geometry_text(geom)}", fontsize=12)
    roles = ["input", "tap", "output", "chosen output"]
    if geom.padded_size != geom.in_size:
        roles[1:1] = ["padding"]
        if any(not (0 <= m < geom.in_size[0] and 0 <= n < geom.in_size[1]) for w in windows for m, n in w):
            roles.insert(3, "tap on padding")
    _legend(fig, roles, [_window_frame()], ncols=4, labels={"chosen output": "the output drawn"},
            caption=caption)
    return fig, windows


# --- 2. input gradient ----------------------------------------------------------------------------

def draw_input_gradient(in_size: IntOrTuple, kernel: IntOrTuple, cell: Cell, *, stride: IntOrTuple = 1,
                        padding: Padding = 0, dilation: IntOrTuple = 1,
                        title: str | None = None) -> tuple[plt.Figure, list[tuple[Cell, Cell]]]:
    """Where ``x̄[m, n]`` comes from: the outputs whose windows contain input cell ``(m, n)``, each
    with the tap that connects them, and the kernel with those taps marked by their output.

    ``x̄[m, n] = Σ ȳ[i, j] w[a, b]`` over the returned pairs; as the output index grows the tap index
    falls (the taps meet the outputs in reversed order: the flipped kernel, a full convolution).
    Matching colours pair each output with its tap.

    Returns
    -------
    fig, pairs : ``[(output (i, j), tap (a, b)), ...]`` sorted by output; empty if no window reads
        the cell (then its gradient is 0)

    Example: ``fig, pairs = draw_input_gradient((6, 6), 3, (2, 3), stride=2, padding=1)``.
    """
    imap = index_map(in_size, kernel, stride=stride, padding=padding, dilation=dilation)
    geom = imap.geom
    m, n = _check_cell(cell, "cell", (0, 0), geom.in_size, "input", geom)
    pairs = imap.sources((m, n))
    colours = {o: _PAIR_COLOURS[i % len(_PAIR_COLOURS)] for i, (o, _) in enumerate(pairs)}
    hp, wp = geom.padded_size
    ho, wo = geom.out_size
    kh, kw = geom.kernel_size
    fig, (ax_in, ax_out, ax_k) = _row_of_panels([wp, max(wo, 3), max(kw, 3) + 0.6], max(hp, ho), extra=3.0)
    _draw_input(ax_in, geom, title=_input_title(geom), chosen=(m, n))
    # two of the windows that contain the cell, the first and the last, so the eye sees the range
    for i, (o, _) in enumerate(pairs):
        if i in (0, len(pairs) - 1):
            r0, c0, nr, nc = _bounds(list(imap.window(o)))
            _frame(ax_in, r0, c0, nr, nc, colour=colours[o], lw=2.4, inset=0.05 if i else 0.13,
                   gid=f"input:window:{o[0]},{o[1]}")
    _draw_output(ax_out, geom, title=f"ȳ {ho}x{wo}: label = tap",
                 marked={o: f"{a},{b}" for o, (a, b) in pairs}, edges=colours)
    _draw_kernel(ax_k, geom.kernel_size, title="w: label = output",
                 marked={t: f"{o[0]},{o[1]}" for o, t in pairs}, edges={t: colours[o] for o, t in pairs})
    if pairs:
        caption = f"x̄[{m},{n}] = " + _sum([f"ȳ[{i},{j}]·w[{a},{b}]" for (i, j), (a, b) in pairs])
        heading = (f"Input gradient of x[{m},{n}]: {len(pairs)} outputs read it and send gradient back;\n"
                   f"each meets it through the tap of its colour, in reversed order")
    else:
        caption = f"x̄[{m},{n}] = 0: no window reads x[{m},{n}]"
        heading = f"Input gradient of x[{m},{n}]: no output reads it, its gradient is exactly 0"
    fig.suptitle(title or f"{heading}\n{_geometry_text(geom)}", fontsize=12)
    roles = ["input", "chosen input"] + (["padding"] if (hp, wp) != geom.in_size else []) + \
            ["output", "chosen output", "tap"]
    frames = [Line2D([], [], color=_PAIR_COLOURS[0], lw=2.4, label="first and last window with the cell")]
    _legend(fig, roles, frames, ncols=4, caption=caption,
            labels={"chosen output": "output that reads the cell", "tap": "tap it reads the cell with"})
    return fig, pairs


# --- 3. weight gradient ---------------------------------------------------------------------------

def draw_weight_gradient(in_size: IntOrTuple, kernel: IntOrTuple, tap: Cell, *, stride: IntOrTuple = 1,
                         padding: Padding = 0, dilation: IntOrTuple = 1,
                         title: str | None = None) -> tuple[plt.Figure, tuple[np.ndarray, np.ndarray]]:
    """What ``w̄[a, b]`` sums: the input cells tap ``(a, b)`` meets across all outputs, a sub-grid
    of the padded input with step ``s`` (the stride) starting at ``d*(a, b) - p_lo``, each labelled
    by the output ``(i, j)`` it pairs with: ``w̄[a, b] = Σ ȳ[i, j] x[rows[i, j], cols[i, j]]``.

    Returns
    -------
    fig, (rows, cols) : int arrays ``(Ho, Wo)`` of input coordinates (see :func:`tap_subgrid`)

    Example: ``fig, (rows, cols) = draw_weight_gradient((7, 7), 3, (2, 1), stride=2)``.
    """
    geom = layer_geometry(in_size, kernel, stride=stride, padding=padding, dilation=dilation)
    a, b = _check_cell(tap, "tap", (0, 0), geom.kernel_size, "kernel", geom)
    rows, cols = tap_subgrid(in_size, kernel, (a, b), stride=stride, padding=padding, dilation=dilation)
    hp, wp = geom.padded_size
    ho, wo = geom.out_size
    kh, kw = geom.kernel_size
    fig, (ax_k, ax_in, ax_out) = _row_of_panels([max(kw, 3), wp, max(wo, 3)], max(hp, ho), extra=2.8)
    _draw_kernel(ax_k, geom.kernel_size, title=f"kernel: tap ({a},{b})", marked={(a, b): f"{a},{b}"})
    read = {(int(r), int(c)): (i, j) for (i, j), r, c in zip(np.ndindex(ho, wo), rows.flat, cols.flat)}
    _draw_input(ax_in, geom, title=_input_title(geom) + ":\nlabel = the output (i,j) it pairs with",
                read=read)
    _draw_output(ax_out, geom, title=f"ȳ {ho}x{wo}", strong=False,
                 marked={(i, j): f"{i},{j}" for i, j in np.ndindex(ho, wo)})

    def affine(step: int, start: int, var: str) -> str:
        lead = var if step == 1 else f"{step}{var}"
        return lead + (f" + {start}" if start > 0 else f" − {-start}" if start < 0 else "")

    s = geom.stride
    caption = (f"w̄[{a},{b}] = Σ_(i,j) ȳ[i,j]·x[{affine(s[0], int(rows[0, 0]), 'i')}, "
               f"{affine(s[1], int(cols[0, 0]), 'j')}]: the pairing of ȳ with the orange sub-grid")
    fig.suptitle(title or f"Weight gradient of tap ({a},{b}): it meets one input cell per output, "
                 f"{s[0]} apart (the stride)\n{_geometry_text(geom)}", fontsize=12)
    roles = ["input", "tap", "output"] + (["padding", "tap on padding"] if (hp, wp) != geom.in_size else [])
    _legend(fig, roles, ncols=3, caption=caption,
            labels={"tap": f"cell tap ({a},{b}) meets", "output": "ȳ[i,j], paired with cell (i,j)"})
    return fig, (rows, cols)


# --- 4. stride: cells without gradient ------------------------------------------------------------

def draw_read_counts(ax: plt.Axes, in_size: IntOrTuple, kernel: IntOrTuple, *, stride: IntOrTuple = 1,
                     padding: Padding = 0, dilation: IntOrTuple = 1, title: str | None = None) -> np.ndarray:
    """The padded input with the number of windows that read each cell written in; cells no window
    reads red and crossed (their gradient is exactly 0); the last output's window framed.

    Returns
    -------
    counts : int array ``(H, W)`` on the real input (0: no gradient), from
        :func:`convgrad.figures.index_maps.coverage`

    Example: ``counts = draw_read_counts(ax, (8, 8), 3, stride=2)``; ``counts[7]`` is all 0.
    """
    imap = index_map(in_size, kernel, stride=stride, padding=padding, dilation=dilation)
    geom = imap.geom
    padded_counts, _ = coverage(geom.in_size, geom.kernel_size, stride=geom.stride,
                                dilation=geom.dilation, padding=geom.padding)
    (lr, hr), (lc, hc) = geom.padding
    h, w = geom.in_size
    top = max(int(padded_counts.max()), 1)
    blues = plt.get_cmap("Blues")
    for m in range(-lr, h + hr):
        for n in range(-lc, w + hc):
            v = int(padded_counts[m + lr, n + lc])
            if not (0 <= m < h and 0 <= n < w):
                _cell(ax, m, n, "padding", str(v), text_colour="0.35")
            elif v == 0:
                _cell(ax, m, n, "no gradient", "0", gid=f"input:no-gradient:{m},{n}", text_colour="white",
                      weight="bold", edge="white")
            else:
                ax.add_patch(Rectangle((n - 0.5, m - 0.5), 1, 1, facecolor=blues(0.1 + 0.5 * v / max(top, 4)),
                                       edgecolor=EDGE, lw=0.8, zorder=1))
                ax.text(n, m, str(v), ha="center", va="center", fontsize=FONT, zorder=3)
    if lr or hr or lc or hc:
        _frame(ax, 0, 0, h, w, colour="0.25", lw=1.2)
    last = (geom.out_size[0] - 1, geom.out_size[1] - 1)
    r0, c0, nr, nc = _bounds(list(imap.window(last)))
    _frame(ax, r0, c0, nr, nc, gid=f"input:window:{last[0]},{last[1]}", ls="--")
    _axes_grid(ax, range(-lr, h + hr), range(-lc, w + hc),
               title=title or _geometry_text(geom).replace(" input,", ",", 1) + ":\nwindows per cell",
               xlabel="input column n", ylabel="input row m")
    return padded_counts[lr:lr + h, lc:lc + w]


def draw_stride_gaps(cases: Sequence[dict] | None = None, *,
                     title: str | None = None) -> tuple[plt.Figure, list[np.ndarray]]:
    """Side-by-side :func:`draw_read_counts` panels, by default the two ways a stride leaves input
    cells without gradient: 8x8 input, 3x3 kernel, stride 2 (the remainder row and column), and
    8x8, 2x2 kernel, stride 3 (a kernel shorter than the stride).

    Parameters
    ----------
    cases : dicts of :func:`draw_read_counts` keyword arguments (``in_size``, ``kernel``, ``stride``,
        ``padding``, ``dilation``, ``title``)

    Returns
    -------
    fig, counts : one int array ``(H, W)`` per case (0: the cell gets no gradient)

    Example: ``fig, (c1, c2) = draw_stride_gaps()``.
    """
    cases = list(cases) if cases is not None else [
        dict(in_size=(8, 8), kernel=(3, 3), stride=2,
             title="3x3 kernel, stride 2:\nremainder row and column unread"),
        dict(in_size=(8, 8), kernel=(2, 2), stride=3,
             title="2x2 kernel, stride 3: kernel\nshorter than the stride, gaps"),
    ]
    fig, axes = plt.subplots(1, len(cases), figsize=(min(10.0, 4.6 * len(cases) + 0.4), 6.4),
                             squeeze=False)
    counts = [draw_read_counts(ax, **case) for ax, case in zip(axes[0], cases)]
    fig.suptitle(title or "Stride: input cells that no window reads get exactly zero gradient",
                 fontsize=12)
    any_padding = any(layer_geometry(c["in_size"], c["kernel"], stride=c.get("stride", 1),
                                     padding=c.get("padding", 0), dilation=c.get("dilation", 1)).padded_size
                      != _pair(c["in_size"], "in_size") for c in cases)
    extra = [Patch(facecolor=plt.get_cmap("Blues")(0.35), edgecolor=EDGE, label="read by n windows"),
             Line2D([], [], color=WINDOW, lw=2.6, ls="--", label="window of the last output")]
    _legend(fig, ["no gradient"] + (["padding"] if any_padding else []), extra, ncols=3)
    return fig, counts


# --- 5. dilation -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DilationViews:
    """What :func:`draw_dilation` drew.

    Attributes
    ----------
    window, next_window : ``{input cell: tap}`` of the chosen output and of its right neighbour
        (``None`` if it has none)
    subgrid, next_subgrid : ``(rows, cols)`` of the first tap and of the second (see :func:`tap_subgrid`)
    """

    window: dict[Cell, Cell]
    next_window: dict[Cell, Cell] | None
    subgrid: tuple[np.ndarray, np.ndarray]
    next_subgrid: tuple[np.ndarray, np.ndarray]


def draw_dilation(in_size: IntOrTuple, kernel: IntOrTuple, output: Cell = (0, 0), *, stride: IntOrTuple = 1,
                  padding: Padding = 0, dilation: IntOrTuple = 2, taps: Sequence[Cell] = ((0, 0), (0, 1)),
                  title: str | None = None) -> tuple[plt.Figure, DilationViews]:
    """Dilation spreads the taps; in the weight gradient stride and dilation trade places.

    Left: the window of one output, its taps ``d`` apart with the gaps visible, and the window of the
    next output (dashed), ``s`` further. Right: the cells two taps meet across all outputs: ``s``
    apart within a sub-grid (ȳ acts as a kernel dilated by the stride), the second tap's sub-grid
    (dashed) ``d`` further (the dilation is the step).

    Returns
    -------
    fig, views : :class:`DilationViews`

    Example: ``fig, views = draw_dilation((9, 9), 3, (0, 0), dilation=2)``.
    """
    imap = index_map(in_size, kernel, stride=stride, padding=padding, dilation=dilation)
    geom = imap.geom
    o = _check_cell(output, "output", (0, 0), geom.out_size, "output", geom)
    if len(taps) != 2:
        raise ValueError(f"taps must name two kernel taps, got taps={taps!r}")
    t0, t1 = (_check_cell(t, "taps", (0, 0), geom.kernel_size, "kernel", geom) for t in taps)
    window = imap.window(o)
    nxt = (o[0], o[1] + 1) if o[1] + 1 < geom.out_size[1] else None
    next_window = imap.window(nxt) if nxt else None
    kwargs = dict(stride=geom.stride, padding=geom.padding, dilation=geom.dilation)
    sub0 = tap_subgrid(geom.in_size, geom.kernel_size, t0, **kwargs)
    sub1 = tap_subgrid(geom.in_size, geom.kernel_size, t1, **kwargs)
    hp, wp = geom.padded_size
    s, d = geom.stride, geom.dilation
    fig, (ax_f, ax_w) = _row_of_panels([wp, wp], hp, extra=3.2)
    _draw_input(ax_f, geom, panel="forward", title=f"forward, output {o}: taps {d[1]} apart\n"
                f"(dilation), next window {_count(s[1], 'column')} on (stride)", read=window)
    r0, c0, nr, nc = _bounds(list(window))
    _frame(ax_f, r0, c0, nr, nc, gid=f"forward:window:{o[0]},{o[1]}")
    second = "#7f3c8d"

    def mark(ax: plt.Axes, cells: Sequence[Cell], panel: str) -> None:
        """The second window / sub-grid: a dashed frame around it and a dot on each of its cells."""
        for m, n in cells:
            ax.plot(n + 0.3, m - 0.3, "o", color=second, ms=5, zorder=5, gid=f"{panel}:next:{m},{n}")
        r0, c0, nr, nc = _bounds(list(cells))
        _frame(ax, r0, c0, nr, nc, colour=second, lw=2.2, ls="--", inset=0.1)

    if next_window:
        mark(ax_f, list(next_window), "forward")
    read0 = {(int(r), int(c)): (i, j)
             for (i, j), r, c in zip(np.ndindex(*geom.out_size), sub0[0].flat, sub0[1].flat)}
    shift = (d[0] * (t1[0] - t0[0]), d[1] * (t1[1] - t0[1]))
    shift_text = (_count(shift[1], "column") if shift[0] == 0 else _count(shift[0], "row") if shift[1] == 0
                  else f"{shift} (rows, columns)")
    _draw_input(ax_w, geom, panel="weight", title=f"weight gradient, tap {t0}: cells {s[1]} apart\n"
                f"(stride), tap {t1}'s cells {shift_text} on (dilation)", read=read0)
    mark(ax_w, [(int(m), int(n)) for m, n in zip(sub1[0].flat, sub1[1].flat)], "weight")
    ax_f.set_xlabel("input column n\nlabels: the tap (a,b) each cell meets\n"
                    "y[o] = Σ_k w[k]·x[s·o + d·k − p]: k steps by d", fontsize=FONT)
    ax_w.set_xlabel("input column n\nlabels: the output (i,j) each cell pairs with\n"
                    "w̄[k] = Σ_o ȳ[o]·x[s·o + d·k − p]: o steps by s", fontsize=FONT)
    fig.suptitle(title or f"Dilation spreads the taps; in the weight gradient stride and dilation trade "
                 f"places\n{_geometry_text(geom)}", fontsize=12)
    roles = ["input", "tap"] + (["padding", "tap on padding"] if (hp, wp) != geom.in_size else [])
    extra = [_window_frame(),
             Line2D([], [], color=second, lw=2.2, ls="--", marker="o", ms=5,
                    label=f"output {nxt}'s window (left), tap {t1}'s cells (right)" if nxt else
                    f"tap {t1}'s cells (right)")]
    _legend(fig, roles, extra, ncols=2, labels={"tap": f"output {o}'s taps (left), tap {t0}'s cells (right)"})
    return fig, DilationViews(window, next_window, sub0, sub1)


# --- 6. transposed convolution ---------------------------------------------------------------------

def draw_transposed(in_size: IntOrTuple, kernel: IntOrTuple, cell: Cell = (0, 0), *, stride: IntOrTuple = 2,
                    padding: Padding = 0, dilation: IntOrTuple = 1,
                    title: str | None = None) -> tuple[plt.Figure, TransposedLayout]:
    """A transposed convolution as D&V draw it: the input gradient of the strided layer
    ``(in_size, kernel, stride, padding, dilation)`` is a stride-1 convolution of ``ȳ`` with ``s - 1``
    zeros inserted between entries and a border of ``d*(k-1) - p_lo`` zeros, by the flipped kernel.

    Panels: ``ȳ`` (the small map), the zero-inserted bordered ``ȳ`` with the window of the chosen
    output cell ``(m, n)`` of ``x̄`` (taps named by the unflipped kernel's ``(a, b)``: reversed), and
    ``x̄`` (the layer's input size) with the cell highlighted.

    Returns
    -------
    fig, layout : :class:`TransposedLayout` (``layout.grid``, ``layout.pads``, ``layout.window``)

    Example: ``fig, lay = draw_transposed((5, 5), 3, (2, 2), stride=2)``.
    """
    lay = transposed_layout(in_size, kernel, cell, stride=stride, padding=padding, dilation=dilation)
    geom = lay.geom
    m, n = _pair(cell, "cell")
    ho, wo = geom.out_size
    gr, gc = lay.grid.shape
    h, w = geom.in_size
    fig, (ax_y, ax_u, ax_x) = _row_of_panels([max(wo, 3), gc, max(w, 3)], max(gr, h), extra=3.0)
    _draw_output(ax_y, geom, panel="dy", title=f"ȳ: {ho}x{wo}",
                 marked={(i, j): f"{i},{j}" for i, j in np.ndindex(ho, wo)})
    for r in range(gr):
        for c in range(gc):
            v = int(lay.grid[r, c])
            role = "chosen output" if v > 0 else ("inserted" if v == 0 else "padding")
            kind = "dy" if v > 0 else ("inserted" if v == 0 else "border")
            text = "{},{}".format(*divmod(v - 1, wo)) if v > 0 else None
            tap = lay.window.get((r, c))
            _cell(ax_u, r, c, role, gid=f"grid:{kind}:{r},{c}")
            if tap is not None:   # the kernel over this cell: an orange veil, the tap below the entry
                ax_u.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=TAP, alpha=0.45,
                                         edgecolor="none", gid=f"grid:tap:{r},{c}", zorder=2))
                ax_u.text(c, r + 0.22, "{},{}".format(*tap), ha="center", va="center", fontsize=FONT,
                          zorder=3, bbox=dict(facecolor=TAP, edgecolor="none", pad=0.8))
            if text is not None:
                ax_u.text(c, r - 0.18 if tap is not None else r, text, ha="center", va="center",
                          fontsize=FONT, color="white", fontweight="bold", zorder=3)
    r0, c0, nr, nc = _bounds(list(lay.window))
    _frame(ax_u, r0, c0, nr, nc, gid=f"grid:window:{m},{n}")
    (plr, phr), (plc, phc) = lay.pads
    _axes_grid(ax_u, range(gr), range(gc),
               title=(f"ȳ, {geom.stride[0] - 1} zero{'s' * (geom.stride[0] != 2)} between entries,\n"
                      f"border {plr} before, {phr} after"
                      if (plr, phr) == (plc, phc) and len(set(geom.stride)) == 1 else
                      f"ȳ, zeros inserted (stride {geom.stride}),\n"
                      f"border rows {(plr, phr)}, cols {(plc, phc)}"),
               xlabel="column of the zero-inserted ȳ", ylabel="row of the zero-inserted ȳ")
    for i in range(h):
        for j in range(w):
            if (i, j) == (m, n):
                _cell(ax_x, i, j, "chosen input", f"{i},{j}", gid=f"dx:chosen:{i},{j}", text_colour="white",
                      weight="bold")
            else:
                _cell(ax_x, i, j, "input")
    _axes_grid(ax_x, range(h), range(w), title=f"x̄: {h}x{w} (stride-1 output)", xlabel="column n",
               ylabel="row m")
    _connect(fig, ax_u, (c0 + nc - 0.5, r0 + (nr - 1) / 2), ax_x, (n - 0.5, m))
    hits = sorted(((r, c), t) for (r, c), t in lay.window.items() if lay.grid[r, c] > 0)
    terms = ["ȳ[{},{}]·w[{},{}]".format(*divmod(int(lay.grid[r, c]) - 1, wo), *t) for (r, c), t in hits]
    caption = (f"x̄[{m},{n}] = " + _sum(terms) if hits
               else f"x̄[{m},{n}] = 0: the window meets only inserted zeros and border")
    fig.suptitle(title or "Transposed convolution = input gradient of a strided convolution:\n"
                 "insert zeros, add a border, slide the flipped kernel with stride 1\n"
                 + _geometry_text(geom), fontsize=12)
    roles = ["chosen output", "inserted", "padding", "tap", "chosen input"]
    _legend(fig, roles, [_window_frame()], ncols=3, caption=caption,
            labels={"chosen output": "entry of ȳ", "padding": "border of zeros",
                    "tap": "kernel tap (a,b) over the cell: reversed",
                    "chosen input": "the entry of x̄ drawn"})
    return fig, lay


# --- 7. groups -------------------------------------------------------------------------------------

def draw_groups(channels: int = 6, groups: Sequence[int] = (1, 2, 3, 6), *, out_channels: int | None = None,
                title: str | None = None) -> tuple[plt.Figure, dict[int, np.ndarray]]:
    """Which input channel feeds which output channel, one panel per group count: lines from input
    channels (bottom) to output channels (top) above the ``F x C`` connection matrix, one colour per
    group; the blocks sit on the diagonal. Each line is one ``kh x kw`` kernel ``w[f, c mod C/G]``.

    Returns
    -------
    fig, connections : ``{G: int array (F, C)}`` from :func:`group_connections`

    Example: ``fig, conn = draw_groups(6, (1, 2, 3, 6))``; ``conn[6]`` is diagonal.
    """
    c_in = channels
    f_out = channels if out_channels is None else out_channels
    conns = {g: group_connections(c_in, f_out, g) for g in groups}
    fig, axes = plt.subplots(2, len(groups), figsize=(min(10.0, max(8.0, 2.5 * len(groups) + 0.4)), 6.2),
                             height_ratios=[1.0, 1.0], squeeze=False)
    span = max(c_in, f_out)
    for k, g in enumerate(groups):
        conn = conns[g]
        ax_b, ax_m = axes[0, k], axes[1, k]
        xs_in = np.linspace(0, span - 1, c_in)
        xs_out = np.linspace(0, span - 1, f_out)
        for f, c in zip(*np.nonzero(conn)):
            ax_b.plot([xs_in[c], xs_out[f]], [0, 3.6], color=_GROUP_COLOURS[(conn[f, c] - 1) % 8], lw=1.6,
                      zorder=1)
        for c in range(c_in):
            ax_b.add_patch(Rectangle((xs_in[c] - 0.4, -0.4), 0.8, 0.8, facecolor=INPUT, edgecolor=EDGE,
                                     zorder=2))
            ax_b.text(xs_in[c], 0, str(c), ha="center", va="center", fontsize=FONT, zorder=3)
        for f in range(f_out):
            ax_b.add_patch(Rectangle((xs_out[f] - 0.4, 3.2), 0.8, 0.8, facecolor=OUTPUT, edgecolor=EDGE,
                                     zorder=2))
            ax_b.text(xs_out[f], 3.6, str(f), ha="center", va="center", fontsize=FONT, zorder=3)
        ax_b.set_xlim(-0.6, span - 0.4)
        ax_b.set_ylim(-0.6, 4.2)
        ax_b.set_aspect("equal")
        ax_b.set_yticks([0, 3.6], ["in c", "out f"])
        ax_b.set_xticks([])
        ax_b.tick_params(length=0, labelsize=FONT)
        for side in ax_b.spines.values():
            side.set_visible(False)
        name = "dense" if g == 1 else ("depthwise" if g == c_in == f_out else "grouped")
        ax_b.set_title(f"G = {g} ({name})\n{int((conn > 0).sum())} kernels, w: {f_out}x{c_in // g}",
                       fontsize=11)
        ax_b.set_xlabel("channel index", fontsize=FONT)
        ax_b.set_ylabel("channel", fontsize=FONT)
        for f in range(f_out):
            slots = np.flatnonzero(conn[f])   # w[f, c'] multiplies the c'-th input channel f reads
            for c in range(c_in):
                v = int(conn[f, c])
                state = "on" if v else "off"
                ax_m.add_patch(Rectangle((c - 0.5, f - 0.5), 1, 1, gid=f"groups{g}:{state}:{f},{c}",
                                         facecolor=_GROUP_COLOURS[(v - 1) % 8] if v else "white",
                                         alpha=0.85 if v else 1, edgecolor=EDGE, lw=0.6))
                if v:
                    ax_m.text(c, f, str(int(np.flatnonzero(slots == c)[0])), ha="center", va="center",
                              fontsize=FONT, color="white", fontweight="bold")
        _axes_grid(ax_m, range(f_out), range(c_in), title="w[f, c′]: c′ written in",
                   xlabel="input channel c", ylabel="output channel f")
    fig.suptitle(title or f"Groups: which input channel reaches which output channel "
                 f"(C = {c_in}, F = {f_out});\n"
                 f"each line / coloured cell is one kernel w[f, c′], one colour per group: diagonal blocks",
                 fontsize=12)
    extra = [Line2D([], [], color=_GROUP_COLOURS[i], lw=2.0, label=f"group {i}")
             for i in range(min(max(groups), 8))]
    _legend(fig, ["input", "output"], extra, ncols=8,
            labels={"input": "input channel", "output": "output channel"})
    return fig, conns
