"""The public functions: forward, the three gradients, and their combination.

Every function checks its arguments through :func:`convgrad.geometry.conv_geometry` first and
views the arrays in the internal batched channels-first order (:mod:`convgrad.arrays`). Then
each map is one call of the general convolution :func:`convgrad.general.conv_general`: the
forward map directly, the input gradient and the weight gradient by the two transpose rules of
:mod:`convgrad.rules` (the operands' roles swapped). The call runs one of the methods, each of
which implements the general convolution once:

===============  ==========================================================================
``reference``    the index formula, a loop over output positions (:mod:`convgrad.reference`)
``direct``       one GEMM per block of flat rows of the padded input, the slices of all
                 kernel offsets side by side (:mod:`convgrad.direct`)
``im2col``       a column matrix (in pieces of bounded size) and one GEMM per group
                 (:mod:`convgrad.im2col`)
``fft``          products of real-FFT spectra (:mod:`convgrad.fft`)
``auto``         chosen from the shapes by :func:`choose_method`
===============  ==========================================================================

All methods give the same numbers up to rounding, in both layouts, with or without a batch, for
every padding form, stride, dilation and groups; float32 stays float32 and float64 float64. Only
``reference`` computes with object arrays (e.g. SymPy symbols).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import rules
from .arrays import (
    as_operand,
    bias_view,
    from_internal,
    result_dtype,
    to_internal,
    weight_from_internal,
    weight_to_internal,
)
from .choice import (  # noqa: F401  (re-exported: the rule's constants belong to the public maps)
    FFT_PENALTY,
    IM2COL_MAX_CHANNELS,
    IM2COL_MAX_FLOPS,
    OPS,
    choose_method,
)
from .general import conv_general
from .geometry import (
    ConvGeometry,
    IntOrTuple,
    Padding,
    check_array_shape,
    check_layout,
    conv_geometry,
)
from .rules import layer_spec, resolve, transpose_lhs, transpose_rhs

#: The methods by name (``auto`` resolves to one of them).
METHODS = ("reference", "direct", "im2col", "fft")


def _geometry(x_shape, w: np.ndarray, stride, padding, dilation, groups, layout) -> ConvGeometry:
    return conv_geometry(
        x_shape, w.shape, stride=stride, padding=padding, dilation=dilation, groups=groups,
        layout=layout,
    )


def _check_bias(b: np.ndarray, geom: ConvGeometry) -> None:
    if b.shape != (geom.out_channels,):
        raise ValueError(
            f"b must have shape (F,) = ({geom.out_channels},) for w.shape={geom.w_shape}, "
            f"got b.shape={b.shape}"
        )


def conv(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: str = "channels_first",
    method: str = "auto",
) -> np.ndarray:
    """N-D convolution (cross-correlation, as in deep-learning layers).

    ``y[n, f, o] = b[f] + sum_{c, k} w[f, c, k] * x[n, g*C/G + c, s*o + d*k - p_lo]``, summed over
    the input channels ``c`` of the group ``g`` of ``f`` and the kernel offsets ``k``.

    Parameters
    ----------
    x : array, ``(N, C, *in)`` or, with ``layout="channels_last"``, ``(N, *in, C)``
        Input. Without the leading ``N`` it is unbatched and so is the result.
    w : array, ``(F, C/G, *kernel)`` or ``(F, *kernel, C/G)``
        Weight; the number of spatial dimensions is ``w.ndim - 2``.
    b : array ``(F,)``, optional
        Bias.
    stride, dilation : int or tuple of int
        One value, or one per spatial axis.
    padding : int, tuple, or {"valid", "same", "full"}
        An int, one int per axis, one ``(lo, hi)`` pair per axis, or a string; see
        :func:`convgrad.geometry.padding_pairs`.
    groups : int
        Number of groups ``G``; divides ``C`` and ``F``. ``groups == C == F`` is depthwise.
    layout : {"channels_first", "channels_last"}
    method : {"auto", "reference", "direct", "im2col", "fft"}
        All give the same result; see :mod:`convgrad.functional`.

    Returns
    -------
    y : array, ``(N, F, *out)`` or ``(N, *out, F)``
        ``out = floor((in + p_lo + p_hi - d*(kernel-1) - 1) / s) + 1`` per axis. float32 stays
        float32, float64 stays float64, integers become float64.
    """
    x, w = as_operand(x, "x"), as_operand(w, "w")
    geom = _geometry(x.shape, w, stride, padding, dilation, groups, layout)
    spec = layer_spec(geom)
    method = resolve(method, geom, result_dtype(x, w), "forward")
    y = conv_general(to_internal(x, geom), weight_to_internal(w, layout),
                     window_strides=spec.window_strides, padding=spec.padding,
                     rhs_dilation=spec.rhs_dilation, feature_group_count=spec.feature_group_count,
                     method=method)
    y = from_internal(y, geom)
    if b is not None:
        b = as_operand(b, "b")
        _check_bias(b, geom)
        y = y + bias_view(b, geom.ndim, layout)
    return y


def conv_grad_input(
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
    """Gradient of ``<dy, conv(x, w)>`` with respect to ``x`` (the adjoint of ``x -> conv(x, w)``).

    Per group, a full convolution of ``dy`` with the kernel: with ``x_pad_bar`` the gradient of
    the padded input, ``x_pad_bar[n, c, s*o + d*k] += sum_f dy[n, f, o] * w[f, c, k]``, and the
    padding is cropped off.

    Parameters
    ----------
    dy : array, the shape of ``conv(x, w)``
    w : array ``(F, C/G, *kernel)`` or ``(F, *kernel, C/G)``
    x_shape : tuple of int
        Shape of the forward input (several input sizes can give the same output size).
    stride, padding, dilation, groups, layout, method
        As in :func:`conv`.

    Returns
    -------
    dx : array of shape ``x_shape``
    """
    return rules.grad_input_via_conv(dy, w, x_shape, stride=stride, padding=padding,
                                     dilation=dilation, groups=groups, layout=layout, method=method)


def conv_grad_weight(
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
    """Gradient of ``<dy, conv(x, w)>`` with respect to ``w``.

    ``dw[f, c, k] = sum_{n, o} dy[n, f, o] * x_pad[n, g*C/G + c, s*o + d*k]``: for each pair of
    output channel ``f`` and input channel ``c`` of its group, a valid cross-correlation of the
    input channel with the output-gradient channel, summed over the batch.

    Parameters
    ----------
    dy : array, the shape of ``conv(x, w)``
    x : array, the forward input
    w_shape : tuple of int
        Shape of the weight, ``(F, C/G, *kernel)`` or ``(F, *kernel, C/G)``.
    stride, padding, dilation, groups, layout, method
        As in :func:`conv`.

    Returns
    -------
    dw : array of shape ``w_shape``
    """
    return rules.grad_weight_via_conv(dy, x, w_shape, stride=stride, padding=padding,
                                      dilation=dilation, groups=groups, layout=layout,
                                      method=method)


def conv_grad_bias(dy: np.ndarray, *, layout: str = "channels_first") -> np.ndarray:
    """Gradient of ``<dy, conv(x, w, b)>`` with respect to ``b``: ``dy`` summed over all but channels.

    Parameters
    ----------
    dy : array ``(N, F, *out)`` or ``(N, *out, F)``
        Must be batched: an unbatched channels-first ``(F, *out)`` cannot be told apart from a
        batched one of lower rank, so pass ``dy[None]`` (:func:`conv_backward` does this itself).

    Returns
    -------
    db : array ``(F,)``
    """
    dy = as_operand(dy, "dy")
    check_layout(layout)
    if dy.ndim < 3:
        raise ValueError(
            f"dy must be batched with at least one spatial axis, (N, F, *out) or (N, *out, F); "
            f"got dy.shape={dy.shape}"
        )
    channel = 1 if layout == "channels_first" else dy.ndim - 1
    return dy.sum(axis=tuple(a for a in range(dy.ndim) if a != channel))


def conv_backward(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: str = "channels_first",
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All three gradients of ``<dy, conv(x, w, b)>``: ``(dx, dw, db)``.

    Same as :func:`conv_grad_input`, :func:`conv_grad_weight` and :func:`conv_grad_bias`, with
    the arguments checked once. ``db`` has shape ``(F,)`` whether or not the forward had a bias.
    """
    dy, x, w = as_operand(dy, "dy"), as_operand(x, "x"), as_operand(w, "w")
    geom = _geometry(x.shape, w, stride, padding, dilation, groups, layout)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    method = resolve(method, geom, result_dtype(dy, x, w), "backward")
    spec = layer_spec(geom)
    dy_i, x_i = to_internal(dy, geom), to_internal(x, geom)
    dx = from_internal(transpose_lhs(dy_i, weight_to_internal(w, layout), spec, method), geom)
    dw = weight_from_internal(transpose_rhs(dy_i, x_i, spec, method), layout)
    db = conv_grad_bias(dy_i)  # dy_i: batched channels-first, whatever the caller's layout
    return dx, dw, db
