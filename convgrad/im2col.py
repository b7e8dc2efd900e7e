"""The im2col method: gather every receptive field into a row, then one GEMM per group.

For the general convolution (:mod:`convgrad.general`, no input dilation) the column matrix
``cols (rows, C*prod(kernel))`` has one row per output ``(m, o)``, the window
``lhs_pad[m, :, s*o + r*k]`` flattened in ``(c, k)`` order, the same order as a weight
``rhs (F, C/G, *kernel)`` flattened to ``(F, C/G*K)``; then ``out = cols @ rhs_mat.T``, per
group. A layer's three maps are three such calls (:mod:`convgrad.rules`); in the weight gradient
the rows are ``(input channel, kernel tap)`` and the columns ``(sample, output pixel)``.

For a layer, ``im2col`` and its adjoint ``col2im`` (which adds every row back into the window it
came from) give the classic picture of the book's GEMM chapter::

    y        = cols @ W.T          (M, F)
    w_bar    = y_bar.T @ cols      (F, C/G*K)
    cols_bar = y_bar @ W           (M, C/G*K),  x_bar = col2im(cols_bar)

**Memory.** The whole column matrix has ``N * prod(out) * C * prod(kernel)`` entries, ``prod(kernel)``
times the input. The method never builds it whole: it works on pieces of at most
:data:`MAX_COLUMN_BYTES` (whole samples when they fit, else lines of the first output axis of one
sample). Per piece: the padded lhs of its samples and its column matrix. The results are the
same for any piece size up to rounding.
"""

from __future__ import annotations

from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .arrays import crop, window, zero_pad
from .gemm import matmul_into
from .geometry import ConvGeometry

#: Largest column matrix built at once, in bytes (one piece; at least one line of one sample).
MAX_COLUMN_BYTES = 32 * 2**20


def _padded_channels_last(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    return zero_pad(np.moveaxis(x, 1, -1), geom.padding, first_axis=1)  # (n, *padded, C)


def _columns(x_pad: np.ndarray, geom: ConvGeometry, a0: int = 0, a1: int | None = None,
             groups: int | None = None) -> np.ndarray:
    """Columns ``(rows, G, C/G*prod(kernel))`` of a padded channels-last ``x_pad (n, *padded, C)``,
    for the outputs whose index on the first spatial axis lies in ``[a0, a1)``."""
    nd = geom.ndim
    a1 = geom.out_size[0] if a1 is None else a1
    view = sliding_window_view(x_pad, geom.dilated_kernel_size, axis=tuple(range(1, nd + 1)))
    # view: (n, *positions, C, *dilated kernel); keep every s-th position and every d-th tap
    pos = window((geom.stride[0] * a0,) + (0,) * (nd - 1), (a1 - a0, *geom.out_size[1:]), geom.stride)
    taps = tuple(slice(None, None, d) for d in geom.dilation)
    patches = view[(slice(None), *pos, slice(None), *taps)]  # (n, a1-a0, *out[1:], C, *kernel)
    groups = geom.groups if groups is None else groups  # feature groups split the columns
    return patches.reshape(-1, groups, geom.in_channels // groups * prod(geom.kernel_size))


def im2col(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Columns ``(N*prod(out), G, C/G*prod(kernel))`` of ``x (N, C, *in)``, all at once."""
    return _columns(_padded_channels_last(x, geom), geom)


def col2im(cols: np.ndarray, geom: ConvGeometry, n: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: ``(N*prod(out), G, C/G*prod(kernel))`` -> ``(N, C, *in)``.

    Every row is added back into the window of the padded input it came from; the padding is
    then cropped off.
    """
    x_pad = np.zeros((n, *geom.padded_size, geom.in_channels), dtype=cols.dtype)
    patches = cols.reshape(n, *geom.out_size, geom.in_channels, *geom.kernel_size)
    for k in np.ndindex(*geom.kernel_size):
        start = tuple(d * ki for d, ki in zip(geom.dilation, k))
        x_pad[(slice(None), *window(start, geom.out_size, geom.stride))] += patches[(Ellipsis, *k)]
    return np.moveaxis(crop(x_pad, geom.padding, first_axis=1), -1, 1)


def pieces(n: int, geom: ConvGeometry, itemsize: int):
    """Yield ``(n0, n1, a0, a1)``: samples ``[n0, n1)`` and first-axis outputs ``[a0, a1)`` of each
    piece, whose column matrix takes at most :data:`MAX_COLUMN_BYTES` (or one output line)."""
    return _pieces(n, geom.in_channels * prod(geom.kernel_size) * itemsize, geom.out_size)


def _pieces(n: int, row_bytes: int, out_size: tuple[int, ...]):
    line_bytes = prod(out_size[1:]) * row_bytes
    sample_bytes = out_size[0] * line_bytes
    if sample_bytes <= MAX_COLUMN_BYTES:
        step = max(1, MAX_COLUMN_BYTES // sample_bytes)
        for n0 in range(0, n, step):
            yield n0, min(n, n0 + step), 0, out_size[0]
        return
    lines = max(1, MAX_COLUMN_BYTES // line_bytes)
    for n0 in range(n):
        for a0 in range(0, out_size[0], lines):
            yield n0, n0 + 1, a0, min(out_size[0], a0 + lines)


def column_matrix_bytes(geom: ConvGeometry, itemsize: int = 4) -> int:
    """Bytes of the whole column matrix ``(N*prod(out), C*prod(kernel))``, were it built at once."""
    n = 1 if geom.batch is None else geom.batch
    return itemsize * n * prod(geom.out_size) * geom.in_channels * prod(geom.kernel_size)


def _sample_chunks(n: int, row_bytes: int, out_size: tuple[int, ...]):
    """Group :func:`pieces` by their samples: ``(n0, n1, [(a0, a1), ...])``."""
    current = None
    for n0, n1, a0, a1 in _pieces(n, row_bytes, out_size):
        if current is None or current[0] != n0:
            if current is not None:
                yield current
            current = (n0, n1, [])
        current[2].append((a0, a1))
    if current is not None:
        yield current


def conv(lhs: np.ndarray, rhs: np.ndarray, spec) -> np.ndarray:
    """``out (N/B, F, *out)`` of the general convolution without input dilation, non-negative
    padding (:func:`convgrad.general.conv_general` prepares that).

    With ``B`` batch groups a piece takes the same samples of every batch block, so that its
    column matrix splits into ``B`` row blocks, one per group; with ``G`` feature groups its
    columns split into ``G`` blocks.
    """
    dtype = lhs.dtype
    b, groups = spec.batch_group_count, spec.groups
    nb, c, fg = spec.batch // b, spec.in_channels, spec.out_channels // groups
    out = np.empty((nb, *spec.out_size, spec.out_channels), dtype=dtype)  # channels-last memory
    wt = rhs.reshape(groups, fg, -1).swapaxes(1, 2)  # (G, C/G*K, F/G)
    lhs_b = lhs.reshape(b, nb, c, *spec.in_size)
    row_bytes = b * c * prod(spec.kernel_size) * dtype.itemsize
    for m0, m1, parts in _sample_chunks(nb, row_bytes, spec.out_size):
        x_pad = _padded_channels_last(lhs_b[:, m0:m1].reshape(-1, c, *spec.in_size), spec)
        for a0, a1 in parts:
            cols = _columns(x_pad, spec, a0, a1, spec.feature_group_count)  # (B*m*lines, G, C/G*K)
            cols = cols.reshape(b, -1, cols.shape[2]) if b > 1 else cols.swapaxes(0, 1)
            piece = np.empty((groups, cols.shape[1], fg), dtype)
            matmul_into(cols, wt, piece)  # (G, rows, F/G)
            piece = np.moveaxis(piece.reshape(groups, m1 - m0, a1 - a0, *spec.out_size[1:], fg), 0, -2)
            out[m0:m1, a0:a1] = piece.reshape(*piece.shape[:-2], spec.out_channels)
    return np.moveaxis(out, -1, 1)
