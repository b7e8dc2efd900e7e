"""The im2col method: gather every receptive field into a row, then one GEMM per group.

``im2col`` turns the padded input into the column matrix ``cols (N*prod(out), C*prod(kernel))``
whose row ``(n, o)`` is the window ``x_pad[n, :, s*o + d*k]`` flattened in ``(c, k)`` order, the
same order as a channels-first weight ``w (F, C/G, *kernel)`` flattened to ``(F, C/G*K)``. Then::

    y      = cols @ W.T            (M, F)
    w_bar  = y_bar.T @ cols        (F, C/G*K)
    cols_bar = y_bar @ W           (M, C/G*K),  x_bar = col2im(cols_bar)

``col2im`` is the adjoint of ``im2col``: it adds every row back into the window it came from.
Extra memory: the column matrix, ``N * prod(out) * C * prod(kernel)`` elements.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .arrays import crop, result_dtype, window, zero_pad
from .gemm import grouped_matmul, grouped_matmul_tn
from .geometry import ConvGeometry


def im2col(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Columns ``(N*prod(out), G, C/G*prod(kernel))`` of ``x (N, C, *in)``."""
    nd = geom.ndim
    x_pad = zero_pad(np.moveaxis(x, 1, -1), geom.padding, first_axis=1)  # (N, *pad, C)
    view = sliding_window_view(x_pad, geom.dilated_kernel_size, axis=tuple(range(1, nd + 1)))
    # view: (N, *positions, C, *dilated kernel); keep every s-th position and every d-th tap
    pos = window((0,) * nd, geom.out_size, geom.stride)
    taps = tuple(slice(None, None, d) for d in geom.dilation)
    patches = view[(slice(None), *pos, slice(None), *taps)]  # (N, *out, C, *kernel)
    cg = geom.in_channels // geom.groups
    return patches.reshape(-1, geom.groups, cg * int(np.prod(geom.kernel_size)))


def col2im(cols: np.ndarray, geom: ConvGeometry, n: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: ``(N*prod(out), G, C/G*prod(kernel))`` -> ``(N, C, *in)``."""
    patches = cols.reshape(n, *geom.out_size, geom.in_channels, *geom.kernel_size)
    x_pad = np.zeros((n, *geom.padded_size, geom.in_channels), dtype=cols.dtype)
    for k in np.ndindex(*geom.kernel_size):
        start = tuple(d * ki for d, ki in zip(geom.dilation, k))
        x_pad[(slice(None), *window(start, geom.out_size, geom.stride))] += patches[(Ellipsis, *k)]
    return np.moveaxis(crop(x_pad, geom.padding, first_axis=1), -1, 1)


def _weight_matrix(w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w (F, C/G, *kernel)`` -> ``(G, F/G, C/G*prod(kernel))``."""
    return w.reshape(geom.groups, geom.out_channels // geom.groups, -1)


def _dy_rows(dy: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``(N, F, *out)`` -> ``(N*prod(out), G, F/G)``."""
    dy_cl = np.ascontiguousarray(np.moveaxis(dy, 1, -1))
    return dy_cl.reshape(-1, geom.groups, geom.out_channels // geom.groups)


def forward(x: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``y (N, F, *out)`` from ``x (N, C, *in)`` and ``w (F, C/G, *kernel)``, without bias."""
    cols = im2col(x, geom).astype(result_dtype(x, w), copy=False)
    y = grouped_matmul(cols, np.swapaxes(_weight_matrix(w, geom), 1, 2))  # (M, G, F/G)
    return np.moveaxis(y.reshape(x.shape[0], *geom.out_size, geom.out_channels), -1, 1)


def grad_input(dy: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``x_bar (N, C, *in)`` from ``y_bar (N, F, *out)``."""
    dcols = grouped_matmul(_dy_rows(dy, geom), _weight_matrix(w, geom))  # (M, G, C/G*K)
    return col2im(dcols, geom, dy.shape[0])


def grad_weight(dy: np.ndarray, x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w_bar (F, C/G, *kernel)`` from ``y_bar (N, F, *out)`` and ``x (N, C, *in)``."""
    dw = grouped_matmul_tn(_dy_rows(dy, geom), im2col(x, geom))  # (G, F/G, C/G*K)
    cg = geom.in_channels // geom.groups
    return dw.reshape(geom.out_channels, cg, *geom.kernel_size)
