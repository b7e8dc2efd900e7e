"""The kernel-offset method: the shifted views of the padded input are contiguous slices.

For a fixed kernel offset ``k`` a convolution is a plain channel mixing of a shifted view of the
padded input. Lay the padded input out so that each pixel is one row of ``C`` numbers and flatten
all pixels (over the batch too) into one matrix ``X`` of rows. At stride 1 the pixel ``o + d*k``
read by output ``o`` lies a *constant* number of rows ``delta_k`` after the row of ``o`` (the flat
offset of ``d*k``), so the rows read for offset ``k`` form one contiguous slice of ``X``. With
``W_k = w[:, :, k].T`` (``(C/G, F/G)`` per group)::

    forward   Y[q]     = sum_k X[q + delta_k] @ W_k
    input     X_bar[q] = sum_k Y_bar[q - delta_k] @ W_k.T
    weight    W_bar_k  = sum_q X[q].T @ Y_bar[q - delta_k]

``Y`` lives on the padded grid: its rows at pixels that are not outputs (the right and bottom
margins, and rows whose window wraps into the next line or sample) are computed and thrown away
in the forward map and are zero in ``Y_bar``, which makes the two gradients exact.

**Products.** The sum over ``k`` is done block by block of rows: the block's slices of all
offsets are copied side by side into one cache-sized buffer (``(B, K*C/G)``, or ``(B, K*F/G)`` of
``Y_bar`` for the gradients) and multiplied by all offsets' kernels stacked, one GEMM that is
``K*C/G`` deep instead of ``K`` GEMMs ``C/G`` deep. In the backward pass the one stacked block of
``Y_bar`` serves both gradients: ``X_bar[block] = S @ W_stacked.T`` and
``W_bar_stacked += X[block].T @ S``.

**Stride.** With stride ``s`` the pixel ``s*o + d*k`` is ``s*(o + e) + r`` with ``e = (d*k) // s``
and ``r = (d*k) % s``. So the padded input is split once into its ``s`` phases per axis (pixels
``s*u + r``, the polyphase decomposition), each on a grid of ``u`` where the same flat-row rule
holds with the shift ``e``: one copy of the input in all, and offset ``k`` reads phase ``r``.

**Layout and groups.** Buffers are held group-major, ``(G, rows, C/G)``, and in the memory order
of the caller's layout (channel-major for channels-first arrays), so that copying in and out moves
whole contiguous lines. When ``C/G * F/G`` is tiny (depthwise), the products are done as broadcast
multiply-adds over all groups at once instead.

**Memory.** The batch is processed in chunks of whole samples (about :data:`CHUNK_BYTES` of input
phases per chunk). Per chunk: the phases of the padded input (about the padded input's size), the
output gradient on the same grid (``F`` per pixel), the chunk's result on the grid, and one
stacked block of :data:`STACK_BYTES`; :func:`workspace_bytes` adds them up. Beyond the results,
nothing of the size of the whole batch is allocated. Caveat of the layout: a thrown-away row
multiplies real input values by exact zeros, so an ``inf`` or ``nan`` in the input can turn an
entry of ``w_bar`` into ``nan`` that the reference loops leave finite.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from math import prod

import numpy as np

from .arrays import result_dtype
from .geometry import ConvGeometry

#: Bytes of (padded, phase-split) input handled per chunk of samples (at least one sample).
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
    phases: tuple[tuple[int, ...], ...]  # residues r, one tuple per phase
    offset_phase: tuple[int, ...]  # phase index of each kernel offset (np.ndindex order)
    offset_shift: tuple[int, ...]  # flat row shift delta_k of each kernel offset
    src: tuple[tuple[slice, ...], ...]  # per phase: input pixels s*u + r - p_lo ...
    dst: tuple[tuple[slice, ...], ...]  # ... and the grid pixels u they go to
    covers_input: bool  # every input pixel lies in some phase's grid

    @property
    def max_shift(self) -> int:
        return max(self.offset_shift)

    @property
    def pixels(self) -> int:
        return prod(self.grid)


@functools.lru_cache(maxsize=128)
def plan(geom: ConvGeometry) -> _Plan:
    """Phase grid, shifts and copy slices of one geometry (see the module docstring)."""
    shifts = [[(d * k) // s for k in range(kn)] for kn, s, d in
              zip(geom.kernel_size, geom.stride, geom.dilation)]
    residues = [[(d * k) % s for k in range(kn)] for kn, s, d in
                zip(geom.kernel_size, geom.stride, geom.dilation)]
    grid = tuple(o + max(e) for o, e in zip(geom.out_size, shifts))
    axis_residues = [sorted(set(r)) for r in residues]
    phases = tuple(np.ndindex(*map(len, axis_residues)))
    phases = tuple(tuple(axis_residues[i][j] for i, j in enumerate(ph)) for ph in phases)
    index = {ph: i for i, ph in enumerate(phases)}
    row_stride = [prod(grid[i + 1:]) for i in range(len(grid))]
    offset_phase, offset_shift = [], []
    for k in np.ndindex(*geom.kernel_size):
        offset_phase.append(index[tuple(residues[i][ki] for i, ki in enumerate(k))])
        offset_shift.append(sum(shifts[i][ki] * row_stride[i] for i, ki in enumerate(k)))
    src, dst = [], []
    for ph in phases:
        src_axes, dst_axes = [], []
        for n, u_count, s, (lo, _), r in zip(geom.in_size, grid, geom.stride, geom.padding, ph):
            u0 = max(0, -(-(lo - r) // s))  # first u with s*u + r - lo >= 0
            u1 = min(u_count, (n - 1 + lo - r) // s + 1)  # one past the last u inside the input
            i0 = s * u0 + r - lo
            src_axes.append(slice(i0, i0 + s * max(u1 - u0 - 1, 0) + 1, s) if u1 > u0 else slice(0, 0))
            dst_axes.append(slice(u0, max(u1, u0)))
        src.append(tuple(src_axes))
        dst.append(tuple(dst_axes))
    covers = all(
        len(res) == s and all((n - 1 + lo - r) // s + 1 <= u_count for r in res)
        for n, u_count, s, (lo, _), res in zip(geom.in_size, grid, geom.stride, geom.padding,
                                               axis_residues)
    )
    return _Plan(grid, phases, tuple(offset_phase), tuple(offset_shift), tuple(src), tuple(dst),
                 covers)


def workspace_bytes(geom: ConvGeometry, itemsize: int = 4) -> int:
    """Bytes of the buffers :func:`backward` allocates besides its results ``x_bar`` and ``w_bar``.

    One chunk of input phases (``C`` per grid pixel), the output gradient on the grid (``F`` per
    pixel, plus the margin of ``max_shift`` rows), the chunk's ``x_bar`` on the grid and one
    block of stacked slices of the output gradient.
    """
    pl = plan(geom)
    n = 1 if geom.batch is None else geom.batch
    samples = next(iter(_chunks(n, geom, pl, itemsize)))
    rows = (samples[1] - samples[0]) * pl.pixels
    c, f = geom.in_channels, geom.out_channels
    taps = max(pl.offset_phase.count(p) for p in range(len(pl.phases)))
    block = min(_stack_rows(geom, itemsize, taps), rows) * taps * f
    return itemsize * (len(pl.phases) * rows * c + (pl.max_shift + rows) * f + rows * c + block)


# --- layout helpers -------------------------------------------------------------------------------


def _check_dtype(dtype: np.dtype) -> None:
    if dtype.kind != "f":
        raise TypeError(
            f"method 'direct' computes in floating point, got dtype {dtype}; use "
            f"method='reference' (or 'auto') for object arrays"
        )


def _group_major(a: np.ndarray, groups: int) -> np.ndarray:
    """``(n, G*P, *spatial)`` -> view ``(G, n, *spatial, P)``."""
    n, c, *spatial = a.shape
    return np.moveaxis(a.reshape(n, groups, c // groups, *spatial), (1, 2), (0, -1))


def _alloc_internal(n: int, channels: int, size: tuple[int, ...], geom: ConvGeometry, dtype,
                    zero: bool) -> np.ndarray:
    """A new array in the caller's memory layout, returned as the internal ``(n, channels, *size)``
    view, so that :func:`convgrad.arrays.from_internal` has nothing left to copy."""
    alloc = np.zeros if zero else np.empty
    if geom.layout == "channels_last":
        return np.moveaxis(alloc((n, *size, channels), dtype=dtype), -1, 1)
    return alloc((n, channels, *size), dtype=dtype)


def _buffer(groups: int, rows: int, channels: int, dtype, planar: bool, zero: bool) -> np.ndarray:
    """A ``(G, rows, channels)`` buffer; with ``planar`` it is a view of ``(G, channels, rows)``
    memory, so that copies from and to a channels-first array move whole contiguous lines."""
    alloc = np.zeros if zero else np.empty
    if planar:
        return alloc((groups, channels, rows), dtype=dtype).transpose(0, 2, 1)
    return alloc((groups, rows, channels), dtype=dtype)


def _chunks(n: int, geom: ConvGeometry, pl: _Plan, itemsize: int):
    """Yield ``(n0, n1)``: chunks of whole samples of about :data:`CHUNK_BYTES` of input phases."""
    per_sample = max(1, pl.pixels * len(pl.phases) * geom.in_channels * itemsize)
    step = max(1, min(n, CHUNK_BYTES // per_sample))
    for n0 in range(0, n, step):
        yield n0, min(n, n0 + step)


def _block_rows(geom: ConvGeometry, itemsize: int) -> int:
    """Rows per block of the broadcast multiply-adds (about :data:`BLOCK_BYTES` of operands)."""
    per_row = (geom.in_channels + geom.out_channels) * itemsize
    return int(np.clip(BLOCK_BYTES // per_row, 512, MAX_BLOCK_ROWS))


def _small(geom: ConvGeometry) -> bool:
    g = geom.groups
    return (geom.in_channels // g) * (geom.out_channels // g) <= SMALL_PRODUCT


def _offset_weights(w: np.ndarray, geom: ConvGeometry, dtype, transpose: bool) -> np.ndarray:
    """``w (F, C/G, *kernel)`` -> ``(K, G, C/G, F/G)`` (or ``(K, G, F/G, C/G)``), C-contiguous."""
    g = geom.groups
    wg = w.reshape(g, geom.out_channels // g, w.shape[1], -1)  # (G, F/G, C/G, K)
    order = (3, 0, 1, 2) if transpose else (3, 0, 2, 1)
    return np.ascontiguousarray(wg.transpose(order), dtype=dtype)


class _Buffers:
    """The per-chunk buffers: input phases ``(G, rows, C/G)`` and the output gradient on the grid
    ``(G, margin + rows, F/G)``, zero where nothing is copied in (padding, thrown-away pixels)."""

    def __init__(self, geom: ConvGeometry, pl: _Plan, samples: int, dtype, *, phases: bool, dy: bool):
        g = geom.groups
        self.rows = samples * pl.pixels
        self.margin = pl.max_shift
        self.planar = geom.layout == "channels_first"
        cg, fg = geom.in_channels // g, geom.out_channels // g
        self.x = [_buffer(g, self.rows, cg, dtype, self.planar, zero=True) for _ in pl.phases] \
            if phases else None
        self.dy = _buffer(g, self.margin + self.rows, fg, dtype, self.planar, zero=True) if dy else None

    def fill_x(self, x: np.ndarray, geom: ConvGeometry, pl: _Plan) -> None:
        n = x.shape[0]
        src = _group_major(x, geom.groups)
        for buf, s, d in zip(self.x, pl.src, pl.dst):
            view = buf[:, :n * pl.pixels].reshape(geom.groups, n, *pl.grid, -1)
            view[(slice(None), slice(None), *d, slice(None))] = \
                src[(slice(None), slice(None), *s, slice(None))]

    def fill_dy(self, dy: np.ndarray, geom: ConvGeometry, pl: _Plan) -> None:
        n = dy.shape[0]
        view = self.dy[:, self.margin:self.margin + n * pl.pixels].reshape(geom.groups, n, *pl.grid, -1)
        view[(slice(None), slice(None), *(slice(0, o) for o in geom.out_size), slice(None))] = \
            _group_major(dy, geom.groups)


def _accumulate(out: np.ndarray, terms, tmp: np.ndarray) -> None:
    """``out = sum_j a_j @ b_j`` for ``out (G, B, Q)``, ``a_j (G, B, P)``, ``b_j (G, P, Q)`` with
    tiny ``P`` and ``Q``: entry by entry, as multiply-adds over all groups and rows at once on 2-D
    ``(G, B)`` slices (``tmp`` is ``(G, >= B)`` scratch)."""
    first = [True] * out.shape[2]
    for a, b in terms:
        for p in range(a.shape[2]):
            ap = a[:, :, p]
            for q in range(out.shape[2]):
                t = np.multiply(ap, b[:, p, q, None], out=tmp[:, :a.shape[1]])
                if first[q]:
                    out[:, :, q] = t
                    first[q] = False
                else:
                    out[:, :, q] += t
    for q, f in enumerate(first):  # no terms
        if f:
            out[:, :, q] = 0


def _small_weight_gradient(xs: np.ndarray, dys: np.ndarray) -> np.ndarray:
    """``sum_b xs[g, b, c] * dys[g, b, f]`` -> ``(G, C/G, F/G)``, one ``(G, B)`` product per pair."""
    out = np.empty((xs.shape[0], xs.shape[2], dys.shape[2]), dtype=np.result_type(xs, dys))
    for c in range(xs.shape[2]):
        for f in range(dys.shape[2]):
            out[:, c, f] = np.einsum("gb,gb->g", xs[:, :, c], dys[:, :, f])
    return out


def _stack_rows(geom: ConvGeometry, itemsize: int, taps: int) -> int:
    """Rows per block when ``taps`` shifted slices are stacked side by side (:data:`STACK_BYTES`)."""
    per_row = taps * max(geom.in_channels, geom.out_channels) * itemsize
    return int(np.clip(STACK_BYTES // per_row, 256, MAX_BLOCK_ROWS))


def _gather(out: np.ndarray, sources) -> np.ndarray:
    """Copy the ``(G, B, P)`` slices side by side into ``out[:, :B, :len*P]``; return that view."""
    b, p = sources[0].shape[1], sources[0].shape[2]
    view = out[:, :b, :len(sources) * p]
    for j, src in enumerate(sources):
        view[:, :, j * p:(j + 1) * p] = src
    return view


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out[g] = a[g] @ b[g]`` for every group (one BLAS call per group)."""
    if a.shape[0] == 1:
        np.matmul(a[0], b[0], out=out[0])
    else:
        np.matmul(a, b, out=out)


def _stacked_weights(w: np.ndarray, geom: ConvGeometry, dtype, offsets, transpose: bool) -> np.ndarray:
    """The kernels of ``offsets`` stacked: ``(G, len*C/G, F/G)`` (rows ``(k, c)``), or with
    ``transpose`` ``(G, len*F/G, C/G)`` (rows ``(k, f)``)."""
    wk = _offset_weights(w, geom, dtype, transpose=transpose)[list(offsets)]  # (len, G, P, Q)
    return np.ascontiguousarray(np.moveaxis(wk, 0, 1).reshape(wk.shape[1], -1, wk.shape[3]))


# --- the three maps -------------------------------------------------------------------------------


def forward(x: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``y (N, F, *out)`` from ``x (N, C, *in)`` and ``w (F, C/G, *kernel)``, without bias."""
    dtype = result_dtype(x, w)
    _check_dtype(dtype)
    n, g = x.shape[0], geom.groups
    fg = geom.out_channels // g
    y = _alloc_internal(n, geom.out_channels, geom.out_size, geom, dtype, zero=False)
    if n == 0:
        return y
    pl, small = plan(geom), _small(geom)
    taps = len(pl.offset_shift)
    chunks = list(_chunks(n, geom, pl, dtype.itemsize))
    bufs = _Buffers(geom, pl, chunks[0][1] - chunks[0][0], dtype, phases=True, dy=False)
    ybuf = _buffer(g, bufs.rows, fg, dtype, bufs.planar, zero=False)
    if small:
        wk = _offset_weights(w, geom, dtype, transpose=False)  # (K, G, C/G, F/G)
        step = _block_rows(geom, dtype.itemsize)
        tmp = np.empty((g, step), dtype)
    else:
        wcat = _stacked_weights(w, geom, dtype, range(taps), transpose=False)  # (G, K*C/G, F/G)
        step = min(_stack_rows(geom, dtype.itemsize, taps), bufs.rows)
        stack = _buffer(g, step, wcat.shape[1], dtype, bufs.planar, zero=False)
    for n0, n1 in chunks:
        bufs.fill_x(x[n0:n1], geom, pl)
        rows = (n1 - n0) * pl.pixels
        for b0 in range(0, rows - pl.max_shift, step):
            b1 = min(rows - pl.max_shift, b0 + step)
            slices = [bufs.x[ph][:, b0 + sh:b1 + sh] for ph, sh in zip(pl.offset_phase, pl.offset_shift)]
            if small:
                _accumulate(ybuf[:, b0:b1], list(zip(slices, wk)), tmp)
            else:
                _matmul(_gather(stack, slices), wcat, ybuf[:, b0:b1])
        grid = ybuf[:, :rows].reshape(g, n1 - n0, *pl.grid, -1)
        _group_major(y[n0:n1], g)[...] = grid[(slice(None), slice(None),
                                                *(slice(0, o) for o in geom.out_size), slice(None))]
    return y


def _backward_chunk(dx, dwk, bufs: _Buffers, samples: int, weights, geom: ConvGeometry, pl: _Plan, xbar,
                    small: bool, scratch, step: int, first: bool) -> None:
    """Both gradients of the samples in ``bufs``: ``x_bar`` written into ``dx`` (their internal
    view, or ``None``), ``w_bar`` added into ``dwk (K, G, C/G, F/G)`` (or ``None``).

    Per phase of the input and block of its rows, the slices of ``y_bar`` that the phase's kernel
    offsets read are gathered side by side once (``S``, ``(G, B, taps*F/G)``); then
    ``x_bar[block] = S @ W_phase`` and ``w_bar_phase += x[block].T @ S``.
    """
    g = geom.groups
    rows, m = samples * pl.pixels, bufs.margin
    for p, (src_sl, dst_sl) in enumerate(zip(pl.src, pl.dst)):
        ks = [k for k, ph in enumerate(pl.offset_phase) if ph == p]
        shifts = [pl.offset_shift[k] for k in ks]
        for b0 in range(0, rows, step):
            b1 = min(rows, b0 + step)
            slices = [bufs.dy[:, m + b0 - sh:m + b1 - sh] for sh in shifts]
            xs = None if dwk is None else bufs.x[p][:, b0:b1]
            if small:
                if dx is not None:
                    _accumulate(xbar[:, b0:b1], [(s_, weights[k]) for s_, k in zip(slices, ks)], scratch)
                if dwk is not None:
                    for s_, k in zip(slices, ks):
                        part = _small_weight_gradient(xs, s_)
                        if first and b0 == 0:
                            dwk[k] = part
                        else:
                            dwk[k] += part
                continue
            stacked = _gather(scratch, slices)  # (G, B, taps*F/G)
            if dx is not None:
                _matmul(stacked, weights[p], xbar[:, b0:b1])
            if dwk is not None:
                part = np.matmul(np.swapaxes(xs, 1, 2), stacked)  # (G, C/G, taps*F/G)
                part = part.reshape(g, part.shape[1], len(ks), -1)
                for j, k in enumerate(ks):
                    if first and b0 == 0:
                        dwk[k] = part[:, :, j]
                    else:
                        dwk[k] += part[:, :, j]
        if dx is not None:
            grid = xbar[:, :rows].reshape(g, samples, *pl.grid, -1)
            _group_major(dx, g)[(slice(None), slice(None), *src_sl, slice(None))] = \
                grid[(slice(None), slice(None), *dst_sl, slice(None))]


def _weight_from_offsets(dwk: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``(K, G, C/G, F/G)`` -> ``(F, C/G, *kernel)``."""
    cg = dwk.shape[2]
    return dwk.transpose(1, 3, 2, 0).reshape(geom.out_channels, cg, *geom.kernel_size)


def grad_input(dy: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``x_bar (N, C, *in)`` from ``y_bar (N, F, *out)``."""
    return _backward(dy, None, w, geom, want_dx=True, want_dw=False)[0]


def grad_weight(dy: np.ndarray, x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w_bar (F, C/G, *kernel)`` from ``y_bar (N, F, *out)`` and ``x (N, C, *in)``."""
    return _backward(dy, x, None, geom, want_dx=False, want_dw=True)[1]


def backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, geom: ConvGeometry):
    """``(x_bar, w_bar)`` together, sharing the output gradient's buffer (one pass over the batch)."""
    return _backward(dy, x, w, geom, want_dx=True, want_dw=True)


def _backward(dy, x, w, geom: ConvGeometry, *, want_dx: bool, want_dw: bool):
    dtype = result_dtype(*[a for a in (dy, x, w) if a is not None])
    _check_dtype(dtype)
    n, g = dy.shape[0], geom.groups
    cg, fg = geom.in_channels // g, geom.out_channels // g
    pl, small = plan(geom), _small(geom)
    dx = dwk = weights = None
    if want_dx:
        dx = _alloc_internal(n, geom.in_channels, geom.in_size, geom, dtype, zero=not pl.covers_input)
    if want_dw:
        dwk = np.zeros((prod(geom.kernel_size), g, cg, fg), dtype)
    if n == 0:
        return dx, None if dwk is None else _weight_from_offsets(dwk, geom)
    chunks = list(_chunks(n, geom, pl, dtype.itemsize))
    bufs = _Buffers(geom, pl, chunks[0][1] - chunks[0][0], dtype, phases=want_dw, dy=True)
    xbar = _buffer(g, bufs.rows, cg, dtype, bufs.planar, zero=False) if want_dx else None
    if small:
        if want_dx:
            weights = _offset_weights(w, geom, dtype, transpose=True)  # (K, G, F/G, C/G)
        step = _block_rows(geom, dtype.itemsize)
        scratch = np.empty((g, step), dtype)
    else:
        phase_offsets = [[k for k, ph in enumerate(pl.offset_phase) if ph == p]
                         for p in range(len(pl.phases))]
        if want_dx:
            weights = [_stacked_weights(w, geom, dtype, ks, transpose=True) for ks in phase_offsets]
        taps = max(map(len, phase_offsets))
        step = min(_stack_rows(geom, dtype.itemsize, taps), bufs.rows)
        scratch = _buffer(g, step, taps * fg, dtype, bufs.planar, zero=False)
    for i, (n0, n1) in enumerate(chunks):
        bufs.fill_dy(dy[n0:n1], geom, pl)
        if want_dw:
            bufs.fill_x(x[n0:n1], geom, pl)
        _backward_chunk(None if dx is None else dx[n0:n1], dwk, bufs, n1 - n0, weights, geom, pl, xbar,
                        small, scratch, step, first=i == 0)
    return dx, None if dwk is None else _weight_from_offsets(dwk, geom)
