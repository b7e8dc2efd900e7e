"""The kernel-offset method: one strided slice and one matrix product per kernel offset.

For a fixed kernel offset ``k`` the convolution is a plain channel mixing of a shifted, strided
view of the padded input::

    y[n, o, :]  += x_pad[n, s*o + d*k, :] @ W_k             W_k = w[:, :, k].T   (C/G, F/G) per group
    x_pad_bar[n, s*o + d*k, :] += y_bar[n, o, :] @ W_k.T
    w_bar[:, :, k] = (sum_{n,o} x_pad[n, s*o + d*k, :]^T y_bar[n, o, :]).T

Arrays are held channels-last in memory so each product is a GEMM over ``N * prod(out)`` rows.
Extra memory: the padded input (or its gradient) and one ``N * prod(out) * C`` slice at a time.
"""

from __future__ import annotations

import numpy as np

from .arrays import crop, result_dtype, window, zero_pad
from .gemm import grouped_matmul, grouped_matmul_tn
from .geometry import ConvGeometry


def _offsets(geom: ConvGeometry):
    """Yield ``(k, slices)``: each kernel offset and the strided window of the padded input."""
    for k in np.ndindex(*geom.kernel_size):
        start = tuple(d * ki for d, ki in zip(geom.dilation, k))
        yield k, (slice(None), *window(start, geom.out_size, geom.stride), slice(None))


def _rows(a: np.ndarray, groups: int) -> np.ndarray:
    """``(N, *spatial, G*P)`` -> ``(N*prod(spatial), G, P)`` (copies only if ``a`` is strided)."""
    return a.reshape(-1, groups, a.shape[-1] // groups)


def _kernel_major(w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w (F, C/G, *kernel)`` -> ``(*kernel, G, C/G, F/G)``: one stack of group matrices per offset."""
    g = geom.groups
    wg = w.reshape(g, geom.out_channels // g, w.shape[1], *geom.kernel_size)
    return np.moveaxis(wg, (0, 1, 2), (-3, -1, -2))


def _padded_channels_last(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    return zero_pad(np.moveaxis(x, 1, -1), geom.padding, first_axis=1)


def forward(x: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``y (N, F, *out)`` from ``x (N, C, *in)`` and ``w (F, C/G, *kernel)``, without bias."""
    x_pad = _padded_channels_last(x, geom)
    wk = _kernel_major(w, geom)
    n = x.shape[0]
    y = np.zeros((n * int(np.prod(geom.out_size)), geom.groups, geom.out_channels // geom.groups),
                 dtype=result_dtype(x, w))
    for k, sl in _offsets(geom):
        y += grouped_matmul(_rows(x_pad[sl], geom.groups), wk[k])
    return np.moveaxis(y.reshape(n, *geom.out_size, geom.out_channels), -1, 1)


def grad_input(dy: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``x_bar (N, C, *in)`` from ``y_bar (N, F, *out)``."""
    n = dy.shape[0]
    dy_rows = _rows(np.ascontiguousarray(np.moveaxis(dy, 1, -1)), geom.groups)
    wt = np.swapaxes(_kernel_major(w, geom), -1, -2)  # (*kernel, G, F/G, C/G)
    dx_pad = np.zeros((n, *geom.padded_size, geom.in_channels), dtype=result_dtype(dy, w))
    for k, sl in _offsets(geom):
        dx_pad[sl] += grouped_matmul(dy_rows, wt[k]).reshape(n, *geom.out_size, geom.in_channels)
    return np.moveaxis(crop(dx_pad, geom.padding, first_axis=1), -1, 1)


def grad_weight(dy: np.ndarray, x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w_bar (F, C/G, *kernel)`` from ``y_bar (N, F, *out)`` and ``x (N, C, *in)``."""
    x_pad = _padded_channels_last(x, geom)
    dy_rows = _rows(np.ascontiguousarray(np.moveaxis(dy, 1, -1)), geom.groups)
    g, cg = geom.groups, geom.in_channels // geom.groups
    dwk = np.empty((*geom.kernel_size, g, cg, geom.out_channels // g), dtype=result_dtype(dy, x))
    for k, sl in _offsets(geom):
        dwk[k] = grouped_matmul_tn(_rows(x_pad[sl], g), dy_rows)
    # (*kernel, G, C/G, F/G) -> (G, F/G, C/G, *kernel) -> (F, C/G, *kernel)
    dw = np.moveaxis(dwk, (-3, -1, -2), (0, 1, 2))
    return dw.reshape(geom.out_channels, cg, *geom.kernel_size)
