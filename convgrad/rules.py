"""The transpose rules: both gradients of a convolution are convolutions, the operands' roles swapped.

Understanding the rules (the idea of JAX's ``lax.conv_general_dilated`` transposes). Ignore
space, and a convolution over channels is a matrix product::

    forward           [batch, C] @ [C, F]       -> [batch, F]
    input gradient    [batch, F] @ [F, C]       -> [batch, C]     (lhs transpose)
    weight gradient   [C, batch] @ [batch, F]   -> [C, F]         (rhs transpose)

With ``G`` feature groups the forward is ``[m, G*c] [c, G*f] -> [m, G*f]``; its lhs transpose is
again feature-grouped once the group axis of the kernel is moved from its input to its output
channels (:func:`flip_transpose`), and its rhs transpose ``[G*c, m] [m, G*f] -> [c, G*f]`` is
*batch*-grouped: output channel block ``g`` reads the batch block ``g``. With space back in, the
lhs transpose flips the kernel, turns the forward's stride into input dilation and its input
dilation into stride; the rhs transpose convolves the input by the output gradient used as the
kernel, with stride and kernel dilation trading places. Each call needs one padding, computed by
:func:`vjp_lhs_padding` and :func:`vjp_rhs_padding` (a negative pad crops).

These are the production gradients: :func:`convgrad.conv_grad_input`,
:func:`convgrad.conv_grad_weight`, :func:`convgrad.conv_backward` and
:func:`convgrad.conv_transpose` all run :func:`transpose_lhs` or :func:`transpose_rhs`, with any
method of :func:`convgrad.general.conv_general`. :func:`grad_input_via_conv` and
:func:`grad_weight_via_conv` are the same maps with a layer's arguments.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .arrays import (
    as_operand,
    dilate,
    from_internal,
    pad_or_crop,
    result_dtype,
    to_internal,
    weight_from_internal,
    weight_to_internal,
)
from .choice import choose_method
from .general import ConvSpec, conv_general, conv_spec
from .geometry import ConvGeometry, IntOrTuple, Padding, check_array_shape, conv_geometry

__all__ = [
    "backward_specs", "dilate", "flip_transpose", "grad_input_via_conv", "grad_weight_via_conv",
    "layer_spec", "lhs_transpose_options", "pad_or_crop", "rhs_transpose_options",
    "transpose_lhs", "transpose_rhs", "vjp_lhs_padding", "vjp_rhs_padding",
]


def vjp_lhs_padding(in_size, kernel_size, window_strides, out_size, padding, lhs_dilation,
                    rhs_dilation) -> list[tuple[int, int]]:
    """Padding of the lhs-transpose call, per axis: the full correlation of the dilated ``g``
    (``s*(o - 1) + 1`` long) with the dilated kernel (``r*(k - 1) + 1``), less the forward's pads.

    ``lo' = r*(k - 1) - lo`` and ``hi'`` such that the result has the dilated input's length
    ``l*(n - 1) + 1`` before the stride ``l`` of the call picks the input's ``n`` entries.
    """
    pairs = []
    for n, k, s, o, (lo, _), ld, rd in zip(in_size, kernel_size, window_strides, out_size, padding,
                                          lhs_dilation, rhs_dilation):
        before = rd * (k - 1) - lo
        pairs.append((before, ld * (n - 1) + 1 + rd * (k - 1) - (s * (o - 1) + 1) - before))
    return pairs


def vjp_rhs_padding(in_size, kernel_size, window_strides, out_size, padding, lhs_dilation,
                    rhs_dilation) -> list[tuple[int, int]]:
    """Padding of the rhs-transpose call, per axis: the forward's ``lo``, and ``hi'`` such that
    the output (one entry per kernel tap, ``r`` apart) is exactly ``k`` long."""
    pairs = []
    for n, k, s, o, (lo, _), ld, rd in zip(in_size, kernel_size, window_strides, out_size, padding,
                                          lhs_dilation, rhs_dilation):
        pairs.append((lo, (s * (o - 1) + 1) - (ld * (n - 1) + 1) + rd * (k - 1) - lo))
    return pairs


def flip_transpose(w: np.ndarray, groups: int) -> np.ndarray:
    """``w (F, C/G, *kernel)`` -> ``(C, F/G, *kernel)``: flipped in space, transposed per group."""
    f, cg, *kernel = w.shape
    wg = w.reshape(groups, f // groups, cg, *kernel).swapaxes(1, 2)
    flipped = wg[(Ellipsis, *(slice(None, None, -1),) * len(kernel))]
    return flipped.reshape(groups * cg, f // groups, *kernel)


def lhs_transpose_options(spec: ConvSpec, out_size: Sequence[int]) -> dict:
    """Options of the lhs-transpose call: the forward's stride becomes input dilation, its input
    dilation the stride, and its groups (batch groups too) feature groups."""
    pads = vjp_lhs_padding(spec.in_size, spec.kernel_size, spec.window_strides, out_size,
                           spec.padding, spec.lhs_dilation, spec.rhs_dilation)
    return dict(window_strides=spec.lhs_dilation, padding=pads, lhs_dilation=spec.window_strides,
                rhs_dilation=spec.rhs_dilation, feature_group_count=spec.groups)


def rhs_transpose_options(spec: ConvSpec, out_size: Sequence[int]) -> dict:
    """Options of the rhs-transpose call: stride and kernel dilation trade places, feature groups
    become batch groups and batch groups feature groups."""
    pads = vjp_rhs_padding(spec.in_size, spec.kernel_size, spec.window_strides, out_size,
                           spec.padding, spec.lhs_dilation, spec.rhs_dilation)
    return dict(window_strides=spec.rhs_dilation, padding=pads, lhs_dilation=spec.lhs_dilation,
                rhs_dilation=spec.window_strides, feature_group_count=spec.batch_group_count,
                batch_group_count=spec.feature_group_count)


def transpose_lhs(g: np.ndarray, rhs: np.ndarray, spec: ConvSpec, method: str = "auto") -> np.ndarray:
    """The lhs gradient ``(N, C, *in)`` of ``<g, conv_general(lhs, rhs, spec)>``.

    ``g`` may be shorter than ``spec.out_size`` on some axis (``conv_transpose`` with a large
    ``output_padding``): the outputs it lacks count as zeros.
    """
    out = conv_general(g, flip_transpose(rhs, spec.groups), method=method,
                       **lhs_transpose_options(spec, g.shape[2:]))
    b = spec.batch_group_count
    if b > 1:  # (N/B, B*C, *in): the batch group sits in the channels; move it to the batch
        m, _, *size = out.shape
        out = out.reshape(m, b, -1, *size).swapaxes(0, 1).reshape(m * b, -1, *size)
    return out


def transpose_rhs(g: np.ndarray, lhs: np.ndarray, spec: ConvSpec, method: str = "auto") -> np.ndarray:
    """The rhs gradient ``(F, C/G, *kernel)`` of ``<g, conv_general(lhs, rhs, spec)>``: a
    convolution of ``lhs`` with batch and channels swapped by ``g`` as the kernel."""
    out = conv_general(lhs.swapaxes(0, 1), g.swapaxes(0, 1), method=method,
                       **rhs_transpose_options(spec, g.shape[2:]))
    return out.swapaxes(0, 1)


def backward_specs(geom: ConvGeometry) -> list[ConvSpec]:
    """The two calls of a layer's backward pass: input gradient, then weight gradient."""
    spec = layer_spec(geom)
    n, (_, f, *out) = spec.batch, spec.out_shape
    return [conv_spec((n, f, *out), (spec.in_channels, f // spec.groups, *spec.kernel_size),
                      **lhs_transpose_options(spec, out)),
            conv_spec((spec.in_channels, n, *spec.in_size), (f, n, *out),
                      **rhs_transpose_options(spec, out))]


def layer_spec(geom: ConvGeometry) -> ConvSpec:
    """The :class:`~convgrad.general.ConvSpec` of a layer's forward map (batched)."""
    n = 1 if geom.batch is None else geom.batch
    return conv_spec((n, geom.in_channels, *geom.in_size),
                     (geom.out_channels, geom.in_channels // geom.groups, *geom.kernel_size),
                     window_strides=geom.stride, padding=geom.padding, rhs_dilation=geom.dilation,
                     feature_group_count=geom.groups)


def resolve(method: str, geom: ConvGeometry, dtype: np.dtype, op: str) -> str:
    """``method``, with ``"auto"`` replaced by :func:`convgrad.choice.choose_method`'s pick."""
    return choose_method(geom, dtype, op) if method == "auto" else method


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
    method: str = "auto",
) -> np.ndarray:
    """:func:`convgrad.conv_grad_input`: the lhs transpose of the layer's convolution.

    A stride-1 convolution of ``dy`` *dilated by the stride* with the kernel flipped in space and
    transposed in channels (per group), kernel dilation ``d``, padding ``d*(k - 1) - p_lo`` before
    and ``n + p_lo - s*(out - 1) - 1`` after (:func:`vjp_lhs_padding`; negative crops).
    """
    dy, w = as_operand(dy, "dy"), as_operand(w, "w")
    geom = conv_geometry(x_shape, w.shape, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, layout=layout)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    method = resolve(method, geom, result_dtype(dy, w), "input")
    dx = transpose_lhs(to_internal(dy, geom), weight_to_internal(w, layout), layer_spec(geom),
                       method)
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
    method: str = "auto",
) -> np.ndarray:
    """:func:`convgrad.conv_grad_weight`: the rhs transpose of the layer's convolution.

    The padded input, with its batch axis as the channel axis and its channels as the batch
    (groups become batch groups), convolved by ``dy`` as the kernel with **stride ``d`` and
    dilation ``s``**: stride and dilation trade places (:func:`vjp_rhs_padding`).
    """
    dy, x = as_operand(dy, "dy"), as_operand(x, "x")
    geom = conv_geometry(x.shape, w_shape, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, layout=layout)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    method = resolve(method, geom, result_dtype(dy, x), "weight")
    dw = transpose_rhs(to_internal(dy, geom), to_internal(x, geom), layer_spec(geom), method)
    return weight_from_internal(dw, layout)
