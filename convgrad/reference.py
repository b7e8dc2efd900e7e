"""The readable definition: the general convolution's index formula, one loop over outputs.

It works on any dtype NumPy can multiply and add, including object arrays of SymPy symbols,
which is how the book feeds symbols through the very code it verifies. It is the one method that
takes the formula literally, input dilation included (zeros inserted, then padded or cropped)::

    lhs_hat = pad_or_crop(dilate(lhs, l), (lo, hi))
    out[m, f, o] = sum_{c, k} rhs[f, c, k]
                   * lhs_hat[b*N/B + m, g*C/G + c, s*o + r*k]

with ``g = f // (F/G)`` the feature group and ``b = f // (F/B)`` the batch group of ``f``. The
layer's gradients are this same loop run on swapped operands (:mod:`convgrad.rules`).
"""

from __future__ import annotations

import numpy as np

from .arrays import dilate, pad_or_crop, result_dtype, window


def _blocks(spec):
    """Yield ``(lhs batch slice, lhs channel slice, output channel slice)`` of each group."""
    nb, cg = spec.batch // spec.batch_group_count, spec.in_channels // spec.feature_group_count
    fg = spec.out_channels // spec.groups
    for j in range(spec.groups):
        b, g = j % spec.batch_group_count, j % spec.feature_group_count
        yield slice(b * nb, (b + 1) * nb), slice(g * cg, (g + 1) * cg), slice(j * fg, (j + 1) * fg)


def conv(lhs: np.ndarray, rhs: np.ndarray, spec) -> np.ndarray:
    """``out (N/B, F, *out)`` from ``lhs (N, C, *in)`` and ``rhs (F, C/G, *kernel)``."""
    lhs_hat = pad_or_crop(dilate(lhs, spec.lhs_dilation, 2), spec.padding, 2)
    out = np.zeros(spec.out_shape, dtype=result_dtype(lhs, rhs))
    axes = list(range(1, spec.ndim + 2))  # (c, *k) of the patch and of the kernel
    for o in np.ndindex(*spec.out_size):
        start = tuple(s * oi for s, oi in zip(spec.window_strides, o))
        taps = window(start, spec.kernel_size, spec.rhs_dilation)
        for bs, cs, fs in _blocks(spec):
            patch = lhs_hat[(bs, cs, *taps)]  # (N/B, C/G, *kernel)
            out[(slice(None), fs, *o)] = np.tensordot(patch, rhs[fs], axes=(axes, axes))
    return out
