"""The readable definition: the index formula, one loop over output positions.

Each function reads like the formula it implements; the two gradients sit next to the forward
so one can be checked against the other at a glance. They work on any dtype NumPy can multiply
and add, including object arrays of SymPy symbols, which is how the book feeds symbols through
the very code it verifies.

All arrays are batched and channels-first here: ``x (N, C, *in)``, ``w (F, C/G, *kernel)``,
``y (N, F, *out)`` (views from :mod:`convgrad.arrays`). With ``x_pad`` the zero-padded input and
``g`` the group of output channel ``f``::

    forward      y[n, f, o]            = sum_{c,k} w[f, c, k] * x_pad[n, g*C/G + c, s*o + d*k]
    input grad   x_pad_bar[n, g*C/G + c, s*o + d*k] += sum_f y_bar[n, f, o] * w[f, c, k]
    weight grad  w_bar[f, c, k]        = sum_{n,o} y_bar[n, f, o] * x_pad[n, g*C/G + c, s*o + d*k]

and the input gradient is ``x_pad_bar`` with the padding cropped off.
"""

from __future__ import annotations

import numpy as np

from .arrays import crop, result_dtype, window, zero_pad
from .geometry import ConvGeometry


def _groups(geom: ConvGeometry):
    """Yield ``(input-channel slice, output-channel slice)`` for each group."""
    cg = geom.in_channels // geom.groups
    fg = geom.out_channels // geom.groups
    for g in range(geom.groups):
        yield slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)


def _windows(geom: ConvGeometry):
    """Yield ``(o, slices)``: each output position and the padded-input window it reads."""
    for o in np.ndindex(*geom.out_size):
        start = tuple(s * oi for s, oi in zip(geom.stride, o))
        yield o, window(start, geom.kernel_size, geom.dilation)


def forward(x: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``y (N, F, *out)`` from ``x (N, C, *in)`` and ``w (F, C/G, *kernel)``, without bias."""
    x_pad = zero_pad(x, geom.padding, first_axis=2)
    y = np.zeros((x.shape[0], geom.out_channels, *geom.out_size), dtype=result_dtype(x, w))
    axes = list(range(1, geom.ndim + 2))  # (c, *k) of the patch and of the kernel
    for o, win in _windows(geom):
        for cs, fs in _groups(geom):
            patch = x_pad[(slice(None), cs, *win)]  # (N, C/G, *kernel)
            y[(slice(None), fs, *o)] = np.tensordot(patch, w[fs], axes=(axes, axes))
    return y


def grad_input(dy: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``x_bar (N, C, *in)`` from ``y_bar (N, F, *out)``: scatter each output's share back."""
    n = dy.shape[0]
    dx_pad = np.zeros((n, geom.in_channels, *geom.padded_size), dtype=result_dtype(dy, w))
    for o, win in _windows(geom):
        for cs, fs in _groups(geom):
            # sum_f y_bar[n, f, o] * w[f, c, k]  -> (N, C/G, *kernel)
            dx_pad[(slice(None), cs, *win)] += np.tensordot(dy[(slice(None), fs, *o)], w[fs], axes=(1, 0))
    return crop(dx_pad, geom.padding, first_axis=2)


def grad_weight(dy: np.ndarray, x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w_bar (F, C/G, *kernel)`` from ``y_bar (N, F, *out)`` and ``x (N, C, *in)``."""
    x_pad = zero_pad(x, geom.padding, first_axis=2)
    cg = geom.in_channels // geom.groups
    dw = np.zeros((geom.out_channels, cg, *geom.kernel_size), dtype=result_dtype(dy, x))
    for o, win in _windows(geom):
        for cs, fs in _groups(geom):
            # sum_n y_bar[n, f, o] * x_pad[n, c, s*o + d*k]  -> (F/G, C/G, *kernel)
            dw[fs] += np.tensordot(dy[(slice(None), fs, *o)], x_pad[(slice(None), cs, *win)], axes=(0, 0))
    return dw
