"""The kernel-offset method: the general convolution as GEMMs on flat rows of the padded lhs.

Ignore channels for a moment. For a fixed kernel offset ``k`` the convolution reads the padded
lhs at ``s*o + r*k``. Split the padded lhs once into its ``s`` phases per axis (pixels
``s*u + rho``, the polyphase decomposition): offset ``k`` reads phase ``rho = (r*k) % s`` at
``u = o + e`` with ``e = (r*k) // s``. Lay a phase out so that each pixel is one row of numbers
and flatten all pixels (over the batch too) into a matrix of rows: then ``u = o + e`` lies a
*constant* number of rows ``delta_k`` (the flat offset of ``e``) after the row of ``o``, and the
rows offset ``k`` reads form one contiguous slice. The convolution is a sum of products of
slices, and which of the two loops runs outside is chosen by size (:func:`conv`):

* **taps** (``prod(kernel) <= prod(out)``, a layer's forward and input gradient): rows are
  ``(sample, output pixel)`` on the phase grid, columns the lhs channels::

      Y[q] = sum_k L_k[q + delta_k] @ W_k     W_k = rhs[:, :, k].T  (C/G, F/G)

  The block's slices of all offsets are copied side by side (``(rows, K*C/G)``) and multiplied by
  all kernels stacked, one GEMM ``K*C/G`` deep, or, when the output is the thinner side, one GEMM
  by all kernels side by side whose ``K`` column blocks are added back shifted.
* **outputs** (``prod(out) < prod(kernel)``, a layer's weight gradient, where the "kernel" is
  the output gradient): the same with ``o`` and ``k`` exchanged, rows ``(lhs channel, kernel
  pixel)`` on the grid of phases by ``r``, columns the lhs batch; one product per output position::

      out_o = sum_q L_o[q + delta_o].T @ R[q]      R = rhs on the grid

  ``R`` is ``(rows, F/G)``. Again the shifted slices of the thinner operand are stacked side by
  side, one GEMM per block.

``Y`` lives on the phase grid: its rows at pixels that are not outputs are computed and thrown
away (taps), or ``R`` is zero there (outputs). Caveat: a thrown-away row multiplies real input
values by exact zeros, so an ``inf`` or ``nan`` in the lhs can turn an entry of the weight gradient
into ``nan`` that the reference loops leave finite.

**Groups.** Buffers are group-major, ``(G*B, rows, columns)``: feature group ``g`` takes the
channels of block ``g``, batch group ``b`` the samples of block ``b``. They are held in the memory
order of the caller's arrays (channel-major for channels-first ones), so that filling them copies
whole contiguous lines. When every group's product is tiny (``(C/G)*(F/G) <= SMALL_PRODUCT``,
depthwise), the products are broadcast multiply-adds over all groups at once instead.

**Memory.** The rows are processed in chunks (whole samples, or whole lhs channels in the
outputs loop) of about :data:`CHUNK_BYTES` of lhs phases, and within a chunk in blocks of about
:data:`STACK_BYTES` of stacked slices. :func:`workspace_bytes` adds the buffers up. All of
them are cut from one block that :mod:`convgrad.workspace` keeps between calls, so only the
padding and margins (``_zero_outside``) are zeroed on each call, not whole buffers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from math import prod

import numpy as np

from . import workspace
from .arrays import empty_like_order
from .gemm import matmul_into, matmul_tn
from .workspace import Scratch

#: Bytes of (padded, phase-split) lhs handled per chunk (at least one sample or channel).
CHUNK_BYTES = 4 * 2**20
#: Bytes of operands (``rows * (C + F)`` numbers) per block of rows of the broadcast multiply-adds.
BLOCK_BYTES = 2**20
#: Bytes of one block of stacked slices (rows of ``taps * C`` or ``taps * F`` numbers).
STACK_BYTES = 4 * 2**20
#: Most rows in one block.
MAX_BLOCK_ROWS = 16384
#: Use broadcast multiply-adds instead of GEMMs when ``C/G * F/G`` is at most this.
SMALL_PRODUCT = 16


@dataclass(frozen=True)
class _Plan:
    grid: tuple[int, ...]  # U: the grid of one phase, per axis
    phases: tuple[tuple[int, ...], ...]  # residues rho, one tuple per phase
    offset_phase: tuple[int, ...]  # phase index of each shift item (kernel offset or output)
    offset_shift: tuple[int, ...]  # flat row shift delta of each shift item
    src: tuple[tuple[slice, ...], ...]  # per phase: lhs pixels step*u + rho - p_lo ...
    dst: tuple[tuple[slice, ...], ...]  # ... and the grid pixels u they go to

    @property
    def max_shift(self) -> int:
        return max(self.offset_shift)

    @property
    def pixels(self) -> int:
        return prod(self.grid)


@functools.lru_cache(maxsize=128)
def plan(geom, outputs: bool = False) -> _Plan:
    """Phase grid, shifts and copy slices (see the module docstring) of a layer's geometry or of a
    :class:`~convgrad.general.ConvSpec`: over the outputs with one shift per kernel offset, or,
    with ``outputs``, over the kernel offsets with one shift per output position."""
    count, items, step, item_step = geom.out_size, geom.kernel_size, geom.stride, geom.dilation
    if outputs:
        count, items, step, item_step = items, count, item_step, step
    shifts = [[(t * j) // s for j in range(m)] for m, s, t in zip(items, step, item_step)]
    residues = [[(t * j) % s for j in range(m)] for m, s, t in zip(items, step, item_step)]
    grid = tuple(c + max(e) for c, e in zip(count, shifts))
    axis_residues = [sorted(set(r)) for r in residues]
    phases = tuple(tuple(axis_residues[i][j] for i, j in enumerate(ph))
                   for ph in np.ndindex(*map(len, axis_residues)))
    index = {ph: i for i, ph in enumerate(phases)}
    row_stride = [prod(grid[i + 1:]) for i in range(len(grid))]
    offset_phase, offset_shift = [], []
    for k in np.ndindex(*items):
        offset_phase.append(index[tuple(residues[i][ki] for i, ki in enumerate(k))])
        offset_shift.append(sum(shifts[i][ki] * row_stride[i] for i, ki in enumerate(k)))
    src, dst = [], []
    for ph in phases:
        src_axes, dst_axes = [], []
        for n, u_count, s, (lo, _), r in zip(geom.in_size, grid, step, geom.padding, ph):
            u0 = max(0, -(-(lo - r) // s))  # first u with s*u + r - lo >= 0
            u1 = min(u_count, (n - 1 + lo - r) // s + 1)  # one past the last u inside the lhs
            i0 = s * u0 + r - lo
            src_axes.append(slice(i0, i0 + s * max(u1 - u0 - 1, 0) + 1, s) if u1 > u0 else slice(0, 0))
            dst_axes.append(slice(u0, max(u1, u0)))
        src.append(tuple(src_axes))
        dst.append(tuple(dst_axes))
    return _Plan(grid, phases, tuple(offset_phase), tuple(offset_shift), tuple(src), tuple(dst))


def _chunks(n: int, geom, pl: _Plan, itemsize: int, columns: int | None = None):
    """Yield ``(n0, n1)``: chunks of whole samples (or channels) of about :data:`CHUNK_BYTES` of
    lhs phases (``columns`` numbers per grid pixel; the layer's ``C`` by default)."""
    columns = geom.in_channels if columns is None else columns
    per_sample = max(1, pl.pixels * len(pl.phases) * columns * itemsize)
    step = max(1, min(n, CHUNK_BYTES // per_sample))
    for n0 in range(0, n, step):
        yield n0, min(n, n0 + step)


def _stack_rows(taps: int, width: int, itemsize: int) -> int:
    """Rows per block when ``taps`` slices of ``width`` numbers are stacked (:data:`STACK_BYTES`)."""
    return int(np.clip(STACK_BYTES // max(1, taps * width * itemsize), 256, MAX_BLOCK_ROWS))


def _block_rows(width: int, itemsize: int) -> int:
    """Rows per block of the broadcast multiply-adds (about :data:`BLOCK_BYTES` of operands)."""
    return int(np.clip(BLOCK_BYTES // max(1, width * itemsize), 512, MAX_BLOCK_ROWS))


@dataclass(frozen=True)
class _Layout:
    """The loop, the buffers and the block sizes of one call (see :func:`layout`)."""

    outputs: bool  # the loop over output positions (else over kernel offsets)
    plan: _Plan
    groups: int  # G * B
    outer: int  # row-outer count: samples N/B (taps) or channels C/G (outputs)
    cols: int  # lhs columns: channels C/G (taps) or samples N/B (outputs)
    fg: int  # F / (G * B)
    chunk: int  # row-outer entries per chunk
    variant: str  # "small" (multiply-adds), "gather" (stack lhs slices), "scatter" (taps: add
    #               shifted result blocks) or "stack-rhs" (outputs: stack shifted rhs slices)
    step: int  # rows per block
    by_phase: tuple[tuple[int, ...], ...]  # shift items of each phase

    @property
    def rows(self) -> int:
        return self.chunk * self.plan.pixels

    @property
    def margin(self) -> int:
        return self.plan.max_shift

    @property
    def width(self) -> int:
        """Columns of the block buffer (stacked slices, or the result blocks side by side)."""
        if self.variant == "small":
            return 1  # a (G, rows) scratch of products in the taps loop
        taps = len(self.plan.offset_shift) if not self.outputs and self.variant == "gather" \
            else max(map(len, self.by_phase))
        per = self.fg if self.variant in ("scatter", "stack-rhs") else self.cols
        return taps * per

    def buffer_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the buffers one call allocates (its result aside)."""
        g, rows, block = self.groups, self.rows, min(self.step, self.rows)
        extra = self.margin if self.outputs else 0
        shapes = {f"lhs phase {i}": (g, rows + extra, self.cols) for i in range(len(self.plan.phases))}
        shapes["grid operand"] = (g, extra + rows, self.fg)  # rhs on the grid, or the result rows
        shapes["block"] = (g, block, self.width)
        if self.outputs:
            shapes["sums"] = (len(self.plan.offset_shift), g, self.cols, self.fg)
        return shapes


@functools.lru_cache(maxsize=256)
def layout(spec, itemsize: int) -> _Layout:
    """How :func:`conv` runs a :class:`~convgrad.general.ConvSpec` (no input dilation)."""
    outputs = prod(spec.kernel_size) > prod(spec.out_size)
    pl = plan(spec, outputs)
    nb, cg = spec.batch // spec.batch_group_count, spec.in_channels // spec.feature_group_count
    groups, fg = spec.groups, spec.out_channels // spec.groups
    outer, cols = (cg, nb) if outputs else (nb, cg)
    n0, n1 = next(iter(_chunks(outer, spec, pl, itemsize, groups * cols)))
    by_phase = tuple(tuple(t for t, p in enumerate(pl.offset_phase) if p == ph)
                     for ph in range(len(pl.phases)))
    if groups > 1 and cols * fg <= SMALL_PRODUCT:
        variant, step = "small", _block_rows(cols + fg, itemsize)
    else:
        thin_side = fg < cols if not outputs else fg < cols
        variant = ("stack-rhs" if outputs else "scatter") if thin_side else "gather"
        taps = len(pl.offset_shift) if variant == "gather" and not outputs else max(map(len, by_phase))
        step = _stack_rows(taps, min(fg, cols) if thin_side else cols, itemsize)
    return _Layout(outputs, pl, groups, outer, cols, fg, n1 - n0, variant, step, by_phase)


def workspace_bytes(geom, itemsize: int = 4) -> int:
    """Peak bytes of the buffers of a layer's backward pass (``geom`` a layer's geometry) or of
    one general convolution (``geom`` a :class:`~convgrad.general.ConvSpec`), results excluded.

    The backward pass runs its two calls one after the other (the input gradient per output
    phase), so its peak is the largest call's: per chunk the lhs phases, the grid operand (the
    result rows, or the rhs on the grid after a margin of ``max_shift`` rows), one block of
    stacked slices (listed by the ``buffer_shapes`` of the call's :func:`layout`).
    """
    if not hasattr(geom, "batch_group_count"):
        from .general import dense_calls
        from .rules import backward_specs  # a layer: its two transposed calls

        return max(workspace_bytes(sub, itemsize) for spec in backward_specs(geom)
                   for *_, sub in dense_calls(spec) if sub is not None)
    return itemsize * sum(prod(shape) for shape in layout(geom, itemsize).buffer_shapes().values())


# --- buffers ---------------------------------------------------------------------------------------


def _planar(a: np.ndarray, column_axis: int) -> bool:
    """Whether ``a``'s column axis lies outside its spatial axes in memory (channels-first)."""
    return abs(a.strides[column_axis]) > abs(a.strides[-1]) or a.shape[-1] == 1


def _buffer(scratch: Scratch, groups: int, rows: int, columns: int, dtype, planar: bool,
            zero: bool) -> np.ndarray:
    """A ``(G, rows, columns)`` buffer; with ``planar`` a view of ``(G, columns, rows)`` memory,
    so that copies from and to a channels-first array move whole contiguous lines."""
    if planar:
        return scratch.take((groups, columns, rows), dtype, zero).transpose(0, 2, 1)
    return scratch.take((groups, rows, columns), dtype, zero)


def _scratch(lay: _Layout, itemsize: int):
    """The call's scratch memory (:mod:`convgrad.workspace`), room for every buffer."""
    return workspace.scratch(workspace.size(
        itemsize * prod(shape) for shape in lay.buffer_shapes().values()))


def _grouped(a: np.ndarray, spec, outputs: bool) -> np.ndarray:
    """``lhs (N, C, *in)`` as the view ``(G*B, N/B, *in, C/G)`` (taps) or ``(G*B, C/G, *in, N/B)``
    (outputs); one of ``G``, ``B`` is 1, so the group axes merge without a copy."""
    b = spec.batch_group_count
    g = spec.groups // b
    n, c, *size = a.shape
    a = a.reshape(b, n // b, g, c // g, *size)
    a = np.moveaxis(a, (0, 2, 3, 1) if outputs else (0, 2, 1, 3), (0, 1, 2, -1))
    return a.reshape(b * g, *a.shape[2:])


def _fill(buf: np.ndarray, src: np.ndarray, rows: int, grid, index_src, index_dst) -> None:
    """Copy ``src[:, :, *index_src, :]`` into the grid view of ``buf[:, :rows]``."""
    view = buf[:, :rows].reshape(buf.shape[0], -1, *grid, buf.shape[2])
    view[(slice(None), slice(None), *index_dst, slice(None))] = \
        src[(slice(None), slice(None), *index_src, slice(None))]


def _zero_outside(buf: np.ndarray, rows: int, grid, index_dst) -> None:
    """Zero what :func:`_fill` never writes: the entries of the grids in ``buf[:, :rows]``
    outside the box ``index_dst`` (the padding), and the rows after ``rows`` (a margin). The
    scratch memory holds the last call's numbers, and a read of padding must give 0 (and a
    thrown-away product must not meet a NaN), so this runs before the first fill."""
    view = buf[:, :rows].reshape(buf.shape[0], -1, *grid, buf.shape[2])
    for axis, box in enumerate(index_dst):
        for side in (slice(0, box.start), slice(box.stop, None)):
            index = [slice(None)] * view.ndim
            index[2 + axis] = side
            view[tuple(index)] = 0
    buf[:, rows:] = 0


def _gather(out: np.ndarray, sources) -> np.ndarray:
    """Copy the ``(G, B, P)`` slices side by side into ``out[:, :B, :len*P]``; return that view."""
    b, p = sources[0].shape[1], sources[0].shape[2]
    view = out[:, :b, :len(sources) * p]
    for j, src in enumerate(sources):
        view[:, :, j * p:(j + 1) * p] = src
    return view


def _lhs_phases(lhs_g, pl: _Plan, n0: int, n1: int, bufs) -> int:
    """Fill the phase buffers with samples (or channels) ``[n0, n1)``; return the rows used."""
    rows = (n1 - n0) * pl.pixels
    for buf, s, d in zip(bufs, pl.src, pl.dst):
        _fill(buf, lhs_g[:, n0:n1], rows, pl.grid, s, d)
    return rows


# --- the operator ----------------------------------------------------------------------------------


def conv(lhs: np.ndarray, rhs: np.ndarray, spec) -> np.ndarray:
    """``out (N/B, F, *out)`` of the general convolution without input dilation, non-negative
    padding (:func:`convgrad.general.conv_general` prepares that)."""
    lay = layout(spec, lhs.dtype.itemsize)
    with _scratch(lay, lhs.dtype.itemsize) as scratch:
        return (_outputs if lay.outputs else _taps)(scratch, lhs, rhs, spec)


def _taps(scratch: Scratch, lhs: np.ndarray, rhs: np.ndarray, spec) -> np.ndarray:
    dtype = lhs.dtype
    lay = layout(spec, dtype.itemsize)
    pl, groups, cg, fg, ntap = lay.plan, lay.groups, lay.cols, lay.fg, len(lay.plan.offset_shift)
    out = empty_like_order(spec.out_shape, lhs, dtype)
    planar = _planar(lhs, 1)
    shapes = lay.buffer_shapes()
    bufs = [_buffer(scratch, *shapes[f"lhs phase {i}"], dtype, planar, zero=False)
            for i in range(len(pl.phases))]
    for buf, d in zip(bufs, pl.dst):
        _zero_outside(buf, lay.rows, pl.grid, d)
    ybuf = _buffer(scratch, *shapes["grid operand"], dtype, planar, zero=False)
    block = _buffer(scratch, *shapes["block"], dtype, planar, zero=False)
    w = rhs.reshape(groups, fg, cg, ntap).transpose(3, 0, 2, 1)  # (K, G, C/G, F/G)
    if lay.variant == "small":
        w = np.ascontiguousarray(w)
        tmp = block[:, :, 0]  # (G, rows of a block): the products before they are added
    elif lay.variant == "scatter":  # per phase: all of its kernels side by side, (G, C/G, taps*F/G)
        wside = [np.ascontiguousarray(np.concatenate([w[k] for k in ks], axis=2)) for ks in lay.by_phase]
    else:  # all kernels stacked, (G, K*C/G, F/G)
        wcat = np.ascontiguousarray(np.moveaxis(w, 0, 1).reshape(groups, ntap * cg, fg))
    lhs_g = _grouped(lhs, spec, outputs=False)
    for n0 in range(0, lay.outer, lay.chunk):
        n1 = min(lay.outer, n0 + lay.chunk)
        rows = _lhs_phases(lhs_g, pl, n0, n1, bufs)
        last = rows - pl.max_shift  # rows q whose every read q + delta stays in the chunk
        if lay.variant == "scatter":
            ybuf[:, :rows] = 0
            _scatter_taps(ybuf, bufs, wside, lay, rows, last, block)
        for b0 in range(0, last, lay.step) if lay.variant != "scatter" else ():
            b1 = min(last, b0 + lay.step)
            slices = [bufs[p][:, b0 + sh:b1 + sh] for p, sh in zip(pl.offset_phase, pl.offset_shift)]
            if lay.variant == "small":
                _multiply_adds(ybuf[:, b0:b1], slices, w, tmp)
            else:
                matmul_into(_gather(block, slices), wcat, ybuf[:, b0:b1])
        grid = ybuf[:, :rows].reshape(groups, n1 - n0, *pl.grid, fg)
        _grouped_out(out, groups)[:, n0:n1] = \
            grid[(slice(None), slice(None), *(slice(0, o) for o in spec.out_size), slice(None))]
    return out


def _scatter_taps(ybuf, bufs, wside, lay: _Layout, rows: int, last: int, zbuf: np.ndarray) -> None:
    """``Y[q] += Z_k[q + delta_k]`` with ``Z = L_phase @ [W_k | W_k' | ...]``, block by block."""
    fg, pl, step = ybuf.shape[2], lay.plan, lay.step
    for p, ks in enumerate(lay.by_phase):
        for b0 in range(0, rows, step):
            b1 = min(rows, b0 + step)
            z = zbuf[:, :b1 - b0, :len(ks) * fg]
            matmul_into(bufs[p][:, b0:b1], wside[p], z)  # (G, B, taps*F/G)
            for j, k in enumerate(ks):
                sh = pl.offset_shift[k]
                q0, q1 = max(b0 - sh, 0), min(b1 - sh, last)
                if q1 > q0:
                    ybuf[:, q0:q1] += z[:, q0 + sh - b0:q1 + sh - b0, j * fg:(j + 1) * fg]


def _multiply_adds(out: np.ndarray, slices, w: np.ndarray, tmp: np.ndarray) -> None:
    """``out = sum_k slices[k] @ w[k]`` for tiny ``(P, Q)`` per group, entry by entry, as
    multiply-adds over all groups and rows at once on ``(G, B)`` slices."""
    first = [True] * out.shape[2]
    for a, wk in zip(slices, w):
        for p in range(a.shape[2]):
            for q in range(out.shape[2]):
                t = np.multiply(a[:, :, p], wk[:, p, q, None], out=tmp[:, :a.shape[1]])
                if first[q]:
                    out[:, :, q] = t
                    first[q] = False
                else:
                    out[:, :, q] += t


def _grouped_out(out: np.ndarray, groups: int) -> np.ndarray:
    """``out (M, F, *out)`` as the view ``(G, M, *out, F/G)``."""
    m, f, *size = out.shape
    return np.moveaxis(out.reshape(m, groups, f // groups, *size), (1, 2), (0, -1))


def _outputs(scratch: Scratch, lhs: np.ndarray, rhs: np.ndarray, spec) -> np.ndarray:
    dtype = lhs.dtype
    lay = layout(spec, dtype.itemsize)
    pl, groups, nb, fg, margin = lay.plan, lay.groups, lay.cols, lay.fg, lay.margin
    planar, rhs_planar = _planar(lhs, 0), _planar(rhs, 0)
    shapes = lay.buffer_shapes()
    kernel = tuple(slice(0, k) for k in spec.kernel_size)
    bufs = [_buffer(scratch, *shapes[f"lhs phase {i}"], dtype, planar, zero=False)
            for i in range(len(pl.phases))]
    rbuf = _buffer(scratch, *shapes["grid operand"], dtype, rhs_planar, zero=False)
    for buf, d in zip(bufs, pl.dst):
        _zero_outside(buf, lay.rows, pl.grid, d)
    rbuf[:, :margin] = 0
    _zero_outside(rbuf[:, margin:], lay.rows, pl.grid, kernel)
    block = _buffer(scratch, *shapes["block"], dtype,
                    rhs_planar if lay.variant == "stack-rhs" else planar, zero=False)
    # (outputs, G, N/B, F/G); the GEMM variants add into it per phase, as the products come
    sums = scratch.take(shapes["sums"], dtype, zero=True)
    tap_sums = _tap_sums(sums, lay)
    lhs_g = _grouped(lhs, spec, outputs=True)  # (G, C/G, *in, N/B)
    rhs_g = np.moveaxis(rhs.reshape(groups, fg, *rhs.shape[1:]), 1, -1)  # (G, C/G, *kernel, F/G)
    for c0 in range(0, lay.outer, lay.chunk):
        c1 = min(lay.outer, c0 + lay.chunk)
        rows = _lhs_phases(lhs_g, pl, c0, c1, bufs)
        _fill(rbuf[:, margin:], rhs_g[:, c0:c1], rows, pl.grid, kernel, kernel)
        r = rbuf[:, margin:margin + rows]
        for p, ts in enumerate(lay.by_phase):
            shifts = [pl.offset_shift[t] for t in ts]
            for b0 in range(0, rows, lay.step):
                b1 = min(rows, b0 + lay.step)
                if lay.variant == "small":
                    for t, sh in zip(ts, shifts):
                        sums[t] += np.einsum("gbm,gbf->gmf", bufs[p][:, b0 + sh:b1 + sh], r[:, b0:b1])
                elif lay.variant == "gather":  # lhs slices shifted by +delta, side by side
                    lb = _gather(block, [bufs[p][:, b0 + sh:b1 + sh] for sh in shifts])
                    tap_sums[p] += matmul_tn(lb, r[:, b0:b1])  # (G, taps*N/B, F/G)
                else:  # rhs slices shifted by -delta, side by side
                    rb = _gather(block, [rbuf[:, margin + b0 - sh:margin + b1 - sh] for sh in shifts])
                    tap_sums[p] += matmul_tn(bufs[p][:, b0:b1], rb)  # (G, N/B, taps*F/G)
    out = empty_like_order(spec.out_shape, lhs, dtype)
    # the sum of output t, (G, N/B, F/G) -> out[m, g*F/G + f, *t]
    out_t = np.moveaxis(out.reshape(nb, groups, fg, *spec.out_size), (1, 0, 2), (-3, -2, -1))
    for p, ts in enumerate(lay.by_phase):
        for j, t in enumerate(ts):
            out_t[np.unravel_index(t, spec.out_size)] = (
                sums[t] if lay.variant == "small"
                else tap_sums[p].reshape(groups, len(ts), nb, fg)[:, j] if lay.variant == "gather"
                else tap_sums[p].reshape(groups, nb, len(ts), fg)[:, :, j])
    return out


def _tap_sums(sums: np.ndarray, lay: _Layout) -> list[np.ndarray]:
    """Views of ``sums``'s memory, one per phase, shaped as the products of that phase's outputs
    come out of the GEMM (``(G, taps*N/B, F/G)`` or ``(G, N/B, taps*F/G)``), so that each block adds
    its product in place with no index and no transposition."""
    flat, views, start = sums.reshape(-1), [], 0
    for ts in lay.by_phase:
        n = len(ts) * lay.groups * lay.cols * lay.fg
        shape = ((lay.groups, len(ts) * lay.cols, lay.fg) if lay.variant == "gather"
                 else (lay.groups, lay.cols, len(ts) * lay.fg))
        views.append(flat[start:start + n].reshape(shape))
        start += n
    return views
