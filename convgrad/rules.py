"""The transpose rules: both gradients are again convolutions, with the roles of the operands swapped.

Ignore space and a convolution over channels is a matrix product ``[batch, C] @ [C, F]``; its two
transposes are the two gradients, ``[batch, F] @ [F, C]`` (input) and ``[C, batch] @ [batch, F]``
(weight). With space back in:

* **input gradient** = a stride-1 convolution of ``dy`` *dilated by the stride* (``s - 1`` zeros
  between entries) with the kernel *flipped in space* and *transposed in channels* (per group),
  kernel dilation ``d``, padding ``d*(k-1) - p_lo`` before and ``n + p_lo - s*(out-1) - 1`` after
  (a negative padding crops);
* **weight gradient** = a convolution of the padded input, with the batch axis as the channel axis
  and the channels as the batch axis, by ``dy`` used as the kernel, with **stride ``d`` and
  dilation ``s``** (stride and dilation trade places), cut to the kernel size.

These functions compute the gradients exactly that way, by calling :func:`convgrad.conv`. They
are slower than :func:`convgrad.conv_grad_input` and :func:`convgrad.conv_grad_weight` (the
dilated ``dy`` is mostly zeros) and exist to show, and test, that the rules hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .arrays import (
    as_operand,
    from_internal,
    to_internal,
    weight_from_internal,
    weight_to_internal,
    zero_pad,
)
from .functional import conv
from .geometry import IntOrTuple, Padding, check_array_shape, conv_geometry


def dilate(a: np.ndarray, factors: Sequence[int], first_axis: int) -> np.ndarray:
    """Insert ``factor - 1`` zeros between neighbouring entries along each of the given axes.

    An axis of length ``m`` becomes ``factor*(m - 1) + 1`` long. This is the adjoint of keeping
    every ``factor``-th entry (strided subsampling).
    """
    shape = list(a.shape)
    index = [slice(None)] * a.ndim
    for i, s in enumerate(factors):
        ax = first_axis + i
        shape[ax] = s * (a.shape[ax] - 1) + 1
        index[ax] = slice(None, None, s)
    out = np.zeros(shape, dtype=a.dtype)
    out[tuple(index)] = a
    return out


def pad_or_crop(a: np.ndarray, pairs: Sequence[tuple[int, int]], first_axis: int) -> np.ndarray:
    """Zero-pad by the positive and crop by the negative entries of ``(lo, hi)`` pairs."""
    index = [slice(None)] * a.ndim
    for i, (lo, hi) in enumerate(pairs):
        index[first_axis + i] = slice(max(-lo, 0), a.shape[first_axis + i] - max(-hi, 0))
    return zero_pad(a[tuple(index)], [(max(lo, 0), max(hi, 0)) for lo, hi in pairs], first_axis)


def flip_transpose(w: np.ndarray, groups: int) -> np.ndarray:
    """``w (F, C/G, *kernel)`` -> ``(C, F/G, *kernel)``: flipped in space, transposed per group."""
    f, cg, *kernel = w.shape
    wg = w.reshape(groups, f // groups, cg, *kernel).swapaxes(1, 2)
    flipped = wg[(Ellipsis, *(slice(None, None, -1),) * len(kernel))]
    return flipped.reshape(groups * cg, f // groups, *kernel)


def grad_input_via_conv(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: str = "channels_first",
) -> np.ndarray:
    """:func:`convgrad.conv_grad_input` computed as a stride-1 convolution (see module docstring)."""
    dy, w = as_operand(dy, "dy"), as_operand(w, "w")
    geom = conv_geometry(x_shape, w.shape, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, layout=layout)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    u = dilate(to_internal(dy, geom), geom.stride, first_axis=2)
    pairs = [
        (d * (k - 1) - lo, n + lo - s * (o - 1) - 1)
        for n, k, o, s, d, (lo, _) in zip(geom.in_size, geom.kernel_size, geom.out_size,
                                          geom.stride, geom.dilation, geom.padding)
    ]
    u = pad_or_crop(u, pairs, first_axis=2)
    wt = flip_transpose(weight_to_internal(w, layout), geom.groups)
    dx = conv(u, wt, dilation=geom.dilation, groups=geom.groups)
    return from_internal(dx, geom)


def grad_weight_via_conv(
    dy: np.ndarray,
    x: np.ndarray,
    w_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: str = "channels_first",
) -> np.ndarray:
    """:func:`convgrad.conv_grad_weight` computed as a convolution of ``x`` by ``dy``."""
    dy, x = as_operand(dy, "dy"), as_operand(x, "x")
    geom = conv_geometry(x.shape, w_shape, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, layout=layout)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    x_pad = zero_pad(to_internal(x, geom), geom.padding, first_axis=2)  # (N, C, *padded)
    dy_i = to_internal(dy, geom)  # (N, F, *out)
    cg, fg = geom.in_channels // geom.groups, geom.out_channels // geom.groups
    keep = tuple(slice(0, k) for k in geom.kernel_size)
    blocks = []
    for g in range(geom.groups):
        # batch <-> channels: input (C/G, N, *padded), kernel (F/G, N, *out)
        xg = np.swapaxes(x_pad[:, g * cg:(g + 1) * cg], 0, 1)
        kg = np.swapaxes(dy_i[:, g * fg:(g + 1) * fg], 0, 1)
        out = conv(xg, kg, stride=geom.dilation, dilation=geom.stride)  # (C/G, F/G, *>=kernel)
        blocks.append(np.swapaxes(out[(slice(None), slice(None), *keep)], 0, 1))
    return weight_from_internal(np.concatenate(blocks, axis=0), layout)
