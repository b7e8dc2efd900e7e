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

      Y[q] = sum_k L_k[q + delta_k] @ W_k          W_k = rhs[:, :, k].T   (C/G, F/G)

  The block's slices of all offsets are copied side by side (``(rows, K*C/G)``) and multiplied by
  all kernels stacked, one GEMM ``K*C/G`` deep, or, when the output is the thinner side, one GEMM
  by all kernels side by side whose ``K`` column blocks are added back shifted.
* **outputs** (``prod(out) < prod(kernel)``, a layer's weight gradient, where the "kernel" is
  the output gradient): the same with ``o`` and ``k`` exchanged, rows ``(lhs channel, kernel
  pixel)`` on the grid of phases by ``r``, columns the lhs batch; one product per output position::

      out_o = sum_q L_o[q + delta_o].T @ R[q]      R = rhs on the grid, (rows, F/G)

  Again the shifted slices of the thinner operand are stacked side by side, one GEMM per block.

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
:data:`STACK_BYTES` of stacked slices. :func:`workspace_bytes` adds the buffers up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from math import prod

import numpy as np

from .arrays import empty_like_order
from .gemm import matmul_into, matmul_tn

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
    covers_input: bool  # every lhs pixel lies in some phase's grid

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
    covers = all(
        len(res) == s and all((n - 1 + lo - r) // s + 1 <= u_count for r in res)
        for n, u_count, s, (lo, _), res in zip(geom.in_size, grid, step, geom.padding, axis_residues)
    )
    return _Plan(grid, phases, tuple(offset_phase), tuple(offset_shift), tuple(src), tuple(dst),
                 covers)


def _by_taps(spec) -> bool:
    return prod(spec.kernel_size) <= prod(spec.out_size)


def _sizes(spec, outputs: bool) -> tuple[int, int, int, int]:
    """``(groups, row-outer count, lhs columns, rhs columns)``: the taps loop has rows
    ``(sample, pixel)`` and lhs columns the channels of a group; the outputs loop has rows
    ``(channel, pixel)`` and lhs columns the samples of a group."""
    nb, cg = spec.batch // spec.batch_group_count, spec.in_channels // spec.feature_group_count
    fg = spec.out_channels // spec.groups
    return (spec.groups, cg, nb, fg) if outputs else (spec.groups, nb, cg, fg)


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


def workspace_bytes(geom, itemsize: int = 4) -> int:
    """Peak bytes of the buffers of a layer's backward pass (``geom`` a layer's geometry) or of
    one general convolution (``geom`` a :class:`~convgrad.general.ConvSpec`), results excluded.

    The backward pass runs its two calls one after the other (the input gradient per output
    phase), so its peak is the larger call's: per chunk the lhs phases, the grid operand (result
    rows, or the rhs on the grid with a margin of ``max_shift`` rows) and one stacked block.
    """
    if not hasattr(geom, "batch_group_count"):
        from .general import dense_calls
        from .rules import backward_specs  # a layer: its two transposed calls

        return max(workspace_bytes(sub, itemsize) for spec in backward_specs(geom)
                   for *_, sub in dense_calls(spec) if sub is not None)
    outputs = not _by_taps(geom)
    pl = plan(geom, outputs)
    groups, outer, cols, fg = _sizes(geom, outputs)
    n0, n1 = next(iter(_chunks(outer, geom, pl, itemsize, groups * cols)))
    rows = (n1 - n0) * pl.pixels
    taps = max(pl.offset_phase.count(p) for p in range(len(pl.phases)))
    block = min(_stack_rows(taps, max(cols, fg), itemsize), rows) * taps * max(cols, fg)
    grid = (pl.max_shift + rows) * fg
    return itemsize * groups * (len(pl.phases) * (rows + pl.max_shift) * cols + grid + block)


# --- buffers ---------------------------------------------------------------------------------------


def _planar(a: np.ndarray, column_axis: int) -> bool:
    """Whether ``a``'s column axis lies outside its spatial axes in memory (channels-first)."""
    return abs(a.strides[column_axis]) > abs(a.strides[-1]) or a.shape[-1] == 1


def _buffer(groups: int, rows: int, columns: int, dtype, planar: bool, zero: bool) -> np.ndarray:
    """A ``(G, rows, columns)`` buffer; with ``planar`` a view of ``(G, columns, rows)`` memory,
    so that copies from and to a channels-first array move whole contiguous lines."""
    alloc = np.zeros if zero else np.empty
    if planar:
        return alloc((groups, columns, rows), dtype=dtype).transpose(0, 2, 1)
    return alloc((groups, rows, columns), dtype=dtype)


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
    return _taps(lhs, rhs, spec) if _by_taps(spec) else _outputs(lhs, rhs, spec)


def _taps(lhs: np.ndarray, rhs: np.ndarray, spec) -> np.ndarray:
    dtype, size = lhs.dtype, lhs.dtype.itemsize
    groups, nb, cg, fg = _sizes(spec, outputs=False)
    pl = plan(spec)
    ntap = len(pl.offset_shift)
    out = empty_like_order(spec.out_shape, lhs, dtype)
    planar = _planar(lhs, 1)
    lhs_g = _grouped(lhs, spec, outputs=False)
    chunks = list(_chunks(nb, spec, pl, size, groups * cg))
    rows_max = (chunks[0][1] - chunks[0][0]) * pl.pixels
    bufs = [_buffer(groups, rows_max, cg, dtype, planar, zero=True) for _ in pl.phases]
    w = rhs.reshape(groups, fg, cg, ntap).transpose(3, 0, 2, 1)  # (K, G, C/G, F/G)
    small = groups > 1 and cg * fg <= SMALL_PRODUCT
    scatter = not small and fg < cg
    ybuf = _buffer(groups, rows_max, fg, dtype, planar, zero=scatter)
    if small:
        w = np.ascontiguousarray(w)
        step = _block_rows(cg + fg, size)
        tmp = np.empty((groups, step), dtype)
    elif scatter:  # per phase: all of its kernels side by side, (G, C/G, taps*F/G)
        by_phase = [[k for k, p in enumerate(pl.offset_phase) if p == ph] for ph in range(len(bufs))]
        wside = [np.ascontiguousarray(np.concatenate([w[k] for k in ks], axis=2)) for ks in by_phase]
        step = _stack_rows(max(map(len, by_phase)), fg, size)
        zbuf = _buffer(groups, min(step, rows_max), max(map(len, by_phase)) * fg, dtype, planar,
                       zero=False)
    else:  # all kernels stacked, (G, K*C/G, F/G)
        wcat = np.ascontiguousarray(np.moveaxis(w, 0, 1).reshape(groups, ntap * cg, fg))
        step = _stack_rows(ntap, cg, size)
        stack = _buffer(groups, min(step, rows_max), ntap * cg, dtype, planar, zero=False)
    for n0, n1 in chunks:
        rows = _lhs_phases(lhs_g, pl, n0, n1, bufs)
        last = rows - pl.max_shift  # rows q whose every read q + delta stays in the chunk
        if scatter:
            ybuf[:, :rows] = 0
            _scatter_taps(ybuf, bufs, wside, by_phase, pl, rows, last, step, zbuf)
        for b0 in range(0, last, step) if not scatter else ():
            b1 = min(last, b0 + step)
            slices = [bufs[p][:, b0 + sh:b1 + sh] for p, sh in zip(pl.offset_phase, pl.offset_shift)]
            if small:
                _multiply_adds(ybuf[:, b0:b1], slices, w, tmp)
            else:
                matmul_into(_gather(stack, slices), wcat, ybuf[:, b0:b1])
        grid = ybuf[:, :rows].reshape(groups, n1 - n0, *pl.grid, fg)
        _grouped_out(out, groups)[:, n0:n1] = \
            grid[(slice(None), slice(None), *(slice(0, o) for o in spec.out_size), slice(None))]
    return out


def _scatter_taps(ybuf, bufs, wside, by_phase, pl: _Plan, rows: int, last: int, step: int,
                  zbuf: np.ndarray) -> None:
    """``Y[q] += Z_k[q + delta_k]`` with ``Z = L_phase @ [W_k | W_k' | ...]``, block by block."""
    fg = ybuf.shape[2]
    for p, ks in enumerate(by_phase):
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


def _outputs(lhs: np.ndarray, rhs: np.ndarray, spec) -> np.ndarray:
    dtype, size = lhs.dtype, lhs.dtype.itemsize
    groups, cg, nb, fg = _sizes(spec, outputs=True)
    pl = plan(spec, outputs=True)
    nout = len(pl.offset_shift)
    margin = pl.max_shift
    planar = _planar(lhs, 0)
    lhs_g = _grouped(lhs, spec, outputs=True)  # (G, C/G, *in, N/B)
    rhs_g = np.moveaxis(rhs.reshape(groups, fg, *rhs.shape[1:]), 1, -1)  # (G, C/G, *kernel, F/G)
    chunks = list(_chunks(cg, spec, pl, size, groups * nb))
    rows_max = (chunks[0][1] - chunks[0][0]) * pl.pixels
    # the thinner operand's shifted slices are stacked: lhs (shift +delta) or rhs (shift -delta)
    small = groups > 1 and nb * fg <= SMALL_PRODUCT
    stack_lhs = nb <= fg
    bufs = [_buffer(groups, rows_max + margin, nb, dtype, planar, zero=True) for _ in pl.phases]
    rbuf = _buffer(groups, margin + rows_max, fg, dtype, _planar(rhs, 0), zero=True)
    acc = np.zeros((nout, groups, nb, fg), dtype)
    width = nb if stack_lhs else fg
    by_phase = [[t for t, p in enumerate(pl.offset_phase) if p == ph] for ph in range(len(bufs))]
    step = _stack_rows(max(map(len, by_phase)), width, size)
    stack = _buffer(groups, min(step, rows_max), max(map(len, by_phase)) * width, dtype,
                    planar if stack_lhs else _planar(rhs, 0), zero=False)
    kernel = tuple(slice(0, k) for k in spec.kernel_size)
    for c0, c1 in chunks:
        rows = _lhs_phases(lhs_g, pl, c0, c1, bufs)
        _fill(rbuf[:, margin:], rhs_g[:, c0:c1], rows, pl.grid, kernel, kernel)
        r = rbuf[:, margin:margin + rows]
        for p, ts in enumerate(by_phase):
            for b0 in range(0, rows, step):
                b1 = min(rows, b0 + step)
                if small:
                    lb = bufs[p][:, b0:b1]
                    for t in ts:
                        sh = pl.offset_shift[t]
                        acc[t] += np.einsum("gbm,gbf->gmf", bufs[p][:, b0 + sh:b1 + sh], r[:, b0:b1])
                    continue
                if stack_lhs:
                    lb = _gather(stack, [bufs[p][:, b0 + pl.offset_shift[t]:b1 + pl.offset_shift[t]]
                                         for t in ts])
                    part = matmul_tn(lb, r[:, b0:b1])  # (G, taps*N/B, F/G)
                    acc[ts] += np.moveaxis(part.reshape(groups, len(ts), nb, fg), 1, 0)
                else:
                    rb = _gather(stack, [rbuf[:, margin + b0 - pl.offset_shift[t]:
                                              margin + b1 - pl.offset_shift[t]] for t in ts])
                    part = matmul_tn(bufs[p][:, b0:b1], rb)  # (G, N/B, taps*F/G)
                    acc[ts] += np.moveaxis(part.reshape(groups, nb, len(ts), fg), 2, 0)
    out = empty_like_order(spec.out_shape, lhs, dtype)
    # acc[t, g, m, f] -> out[m, g*F/G + f, *t]
    out[...] = acc.reshape(*spec.out_size, groups, nb, fg).transpose(
        spec.ndim + 1, spec.ndim, spec.ndim + 2, *range(spec.ndim)).reshape(spec.out_shape)
    return out
