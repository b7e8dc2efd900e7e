"""The im2col method: gather every receptive field into a row, then one GEMM per group.

``im2col`` turns the padded input into the column matrix ``cols (N*prod(out), C*prod(kernel))``
whose row ``(n, o)`` is the window ``x_pad[n, :, s*o + d*k]`` flattened in ``(c, k)`` order, the
same order as a channels-first weight ``w (F, C/G, *kernel)`` flattened to ``(F, C/G*K)``. Then::

    y        = cols @ W.T          (M, F)
    w_bar    = y_bar.T @ cols      (F, C/G*K)
    cols_bar = y_bar @ W           (M, C/G*K),  x_bar = col2im(cols_bar)

``col2im`` is the adjoint of ``im2col``: it adds every row back into the window it came from.

**Memory.** The whole column matrix has ``N * prod(out) * C * prod(kernel)`` entries, ``prod(kernel)``
times the input. The method never builds it whole: it works on pieces of at most
:data:`MAX_COLUMN_BYTES` (whole samples when they fit, else lines of the first output axis of one
sample). Per piece: the padded input of its samples, its column matrix and, for the input
gradient, the column gradient and the padded input gradient of its samples. The results are the
same for any piece size up to rounding (the weight gradient sums the pieces).
"""

from __future__ import annotations

from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .arrays import crop, result_dtype, window, zero_pad
from .gemm import grouped_matmul, grouped_matmul_tn
from .geometry import ConvGeometry

#: Largest column matrix built at once, in bytes (one piece; at least one line of one sample).
MAX_COLUMN_BYTES = 32 * 2**20


def _padded_channels_last(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    return zero_pad(np.moveaxis(x, 1, -1), geom.padding, first_axis=1)  # (n, *padded, C)


def _columns(x_pad: np.ndarray, geom: ConvGeometry, a0: int = 0, a1: int | None = None) -> np.ndarray:
    """Columns ``(rows, G, C/G*prod(kernel))`` of a padded channels-last ``x_pad (n, *padded, C)``,
    for the outputs whose index on the first spatial axis lies in ``[a0, a1)``."""
    nd = geom.ndim
    a1 = geom.out_size[0] if a1 is None else a1
    view = sliding_window_view(x_pad, geom.dilated_kernel_size, axis=tuple(range(1, nd + 1)))
    # view: (n, *positions, C, *dilated kernel); keep every s-th position and every d-th tap
    pos = window((geom.stride[0] * a0,) + (0,) * (nd - 1), (a1 - a0, *geom.out_size[1:]), geom.stride)
    taps = tuple(slice(None, None, d) for d in geom.dilation)
    patches = view[(slice(None), *pos, slice(None), *taps)]  # (n, a1-a0, *out[1:], C, *kernel)
    cg = geom.in_channels // geom.groups
    return patches.reshape(-1, geom.groups, cg * prod(geom.kernel_size))


def im2col(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Columns ``(N*prod(out), G, C/G*prod(kernel))`` of ``x (N, C, *in)``, all at once."""
    return _columns(_padded_channels_last(x, geom), geom)


def _add_columns(x_pad: np.ndarray, cols: np.ndarray, geom: ConvGeometry, a0: int, a1: int) -> None:
    """Add rows ``cols`` of the outputs ``[a0, a1)`` (first axis) into their windows of ``x_pad``."""
    n = x_pad.shape[0]
    patches = cols.reshape(n, a1 - a0, *geom.out_size[1:], geom.in_channels, *geom.kernel_size)
    for k in np.ndindex(*geom.kernel_size):
        start = tuple(d * ki for d, ki in zip(geom.dilation, k))
        start = (start[0] + geom.stride[0] * a0, *start[1:])
        x_pad[(slice(None), *window(start, (a1 - a0, *geom.out_size[1:]), geom.stride))] += \
            patches[(Ellipsis, *k)]


def col2im(cols: np.ndarray, geom: ConvGeometry, n: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: ``(N*prod(out), G, C/G*prod(kernel))`` -> ``(N, C, *in)``."""
    x_pad = np.zeros((n, *geom.padded_size, geom.in_channels), dtype=cols.dtype)
    _add_columns(x_pad, cols, geom, 0, geom.out_size[0])
    return np.moveaxis(crop(x_pad, geom.padding, first_axis=1), -1, 1)


def pieces(n: int, geom: ConvGeometry, itemsize: int):
    """Yield ``(n0, n1, a0, a1)``: samples ``[n0, n1)`` and first-axis outputs ``[a0, a1)`` of each
    piece, whose column matrix takes at most :data:`MAX_COLUMN_BYTES` (or one output line)."""
    row_bytes = geom.in_channels * prod(geom.kernel_size) * itemsize
    line_bytes = prod(geom.out_size[1:]) * row_bytes
    sample_bytes = geom.out_size[0] * line_bytes
    if sample_bytes <= MAX_COLUMN_BYTES:
        step = max(1, MAX_COLUMN_BYTES // sample_bytes)
        for n0 in range(0, n, step):
            yield n0, min(n, n0 + step), 0, geom.out_size[0]
        return
    lines = max(1, MAX_COLUMN_BYTES // line_bytes)
    for n0 in range(n):
        for a0 in range(0, geom.out_size[0], lines):
            yield n0, n0 + 1, a0, min(geom.out_size[0], a0 + lines)


def column_matrix_bytes(geom: ConvGeometry, itemsize: int = 4) -> int:
    """Bytes of the whole column matrix ``(N*prod(out), C*prod(kernel))``, were it built at once."""
    n = 1 if geom.batch is None else geom.batch
    return itemsize * n * prod(geom.out_size) * geom.in_channels * prod(geom.kernel_size)


def _weight_matrix(w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w (F, C/G, *kernel)`` -> ``(G, F/G, C/G*prod(kernel))``."""
    return w.reshape(geom.groups, geom.out_channels // geom.groups, -1)


def _dy_rows(dy: np.ndarray, geom: ConvGeometry, a0: int, a1: int) -> np.ndarray:
    """``(n, F, *out)`` -> ``(n*(a1-a0)*prod(out[1:]), G, F/G)`` for the outputs ``[a0, a1)``."""
    dy_cl = np.moveaxis(dy, 1, -1)[:, a0:a1]
    return dy_cl.reshape(-1, geom.groups, geom.out_channels // geom.groups)


def _sample_chunks(n: int, geom: ConvGeometry, itemsize: int):
    """Group :func:`pieces` by their samples: ``(n0, n1, [(a0, a1), ...])``."""
    current = None
    for n0, n1, a0, a1 in pieces(n, geom, itemsize):
        if current is None or current[0] != n0:
            if current is not None:
                yield current
            current = (n0, n1, [])
        current[2].append((a0, a1))
    if current is not None:
        yield current


def forward(x: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``y (N, F, *out)`` from ``x (N, C, *in)`` and ``w (F, C/G, *kernel)``, without bias."""
    dtype = result_dtype(x, w)
    n = x.shape[0]
    y = np.empty((n, *geom.out_size, geom.out_channels), dtype=dtype)  # channels-last memory
    wt = np.swapaxes(_weight_matrix(w, geom), 1, 2).astype(dtype, copy=False)  # (G, C/G*K, F/G)
    for n0, n1, parts in _sample_chunks(n, geom, np.dtype(dtype).itemsize):
        x_pad = _padded_channels_last(x[n0:n1], geom)
        for a0, a1 in parts:
            cols = _columns(x_pad, geom, a0, a1).astype(dtype, copy=False)
            piece = grouped_matmul(cols, wt)  # (rows, G, F/G)
            y[n0:n1, a0:a1] = piece.reshape(n1 - n0, a1 - a0, *geom.out_size[1:], geom.out_channels)
    return np.moveaxis(y, -1, 1)


def grad_input(dy: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``x_bar (N, C, *in)`` from ``y_bar (N, F, *out)``."""
    dtype = result_dtype(dy, w)
    n = dy.shape[0]
    dx = np.empty((n, *geom.in_size, geom.in_channels), dtype=dtype)  # channels-last memory
    wm = _weight_matrix(w, geom).astype(dtype, copy=False)
    for n0, n1, parts in _sample_chunks(n, geom, np.dtype(dtype).itemsize):
        dx_pad = np.zeros((n1 - n0, *geom.padded_size, geom.in_channels), dtype=dtype)
        for a0, a1 in parts:
            dcols = grouped_matmul(_dy_rows(dy[n0:n1], geom, a0, a1), wm)  # (rows, G, C/G*K)
            _add_columns(dx_pad, dcols, geom, a0, a1)
        dx[n0:n1] = crop(dx_pad, geom.padding, first_axis=1)
    return np.moveaxis(dx, -1, 1)


def grad_weight(dy: np.ndarray, x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w_bar (F, C/G, *kernel)`` from ``y_bar (N, F, *out)`` and ``x (N, C, *in)``."""
    dtype = result_dtype(dy, x)
    cg = geom.in_channels // geom.groups
    dw = np.zeros((geom.groups, geom.out_channels // geom.groups, cg * prod(geom.kernel_size)),
                  dtype=dtype)
    for n0, n1, parts in _sample_chunks(dy.shape[0], geom, np.dtype(dtype).itemsize):
        x_pad = _padded_channels_last(x[n0:n1], geom)
        for a0, a1 in parts:
            dw += grouped_matmul_tn(_dy_rows(dy[n0:n1], geom, a0, a1), _columns(x_pad, geom, a0, a1))
    return dw.reshape(geom.out_channels, cg, *geom.kernel_size)
