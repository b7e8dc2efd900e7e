"""The public functions: forward, the three gradients, and their combination.

Every function checks its arguments through :func:`convgrad.geometry.conv_geometry` first, views
the arrays in the internal batched channels-first order (:mod:`convgrad.arrays`), and hands them
to one method module, each of which implements the same three maps:

===============  ==========================================================================
``reference``    the index formula, a loop over output positions (:mod:`convgrad.reference`)
``direct``       one GEMM per kernel offset on flat rows of the padded input
                 (:mod:`convgrad.direct`)
``im2col``       a column matrix (in chunks of bounded size) and one GEMM per group
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
from types import ModuleType

import numpy as np

from . import direct, fft, im2col, reference
from .arrays import (
    as_operand,
    from_internal,
    to_internal,
    weight_from_internal,
    weight_to_internal,
)
from .geometry import (
    ConvGeometry,
    IntOrTuple,
    Padding,
    check_array_shape,
    check_layout,
    conv_geometry,
)

METHODS: dict[str, ModuleType] = {
    "reference": reference, "direct": direct, "im2col": im2col, "fft": fft,
}

#: ``auto`` takes ``fft`` when the FFT's operation count times this is below the direct sum's.
FFT_PENALTY = 10.0
#: ``auto`` takes ``im2col`` when a group has fewer input channels than this (and is not tiny).
IM2COL_MAX_CHANNELS = 4
#: ... except in the forward map, which takes ``im2col`` for such layers only up to this many
#: operations and ``direct`` (its ``prod(kernel)*C/G``-deep stacked product) above.
IM2COL_FORWARD_MAX_FLOPS = 2**20
#: The maps ``choose_method`` distinguishes.
OPS = ("forward", "input", "weight", "backward")


def choose_method(geom: ConvGeometry, dtype: np.dtype, op: str = "backward") -> str:
    """The method ``"auto"`` resolves to for this geometry, dtype and map. The rule, in order:

    1. **Object arrays** (symbols) take ``"reference"``, which needs nothing but ``*`` and ``+``.
    2. **Large kernels** take ``"fft"``: when the FFT's operation count
       (:func:`convgrad.fft.fft_flops`, transforms plus spectral products) times
       :data:`FFT_PENALTY` is smaller than the direct sum's ``2*N*F*(C/G)*prod(kernel)*prod(out)``
       operations (:attr:`ConvGeometry.flops`). The penalty says that an operation of NumPy's
       FFT (one thread, strided passes over the data, complex arithmetic) costs about ten
       operations of a BLAS matrix product, so the FFT must save more than that factor. With a 3x3
       kernel this never happens; for 8 samples of 64x64 with 16 channels it starts at 9x9.
    3. **Very few input channels per group** (``C/G < 4``, e.g. an RGB input layer) take
       ``"im2col"``: the kernel-offset method would multiply by matrices only ``C/G`` deep, far too
       thin for GEMM, while the column matrix stacks all ``C/G * prod(kernel)`` taps into one
       product and is itself small. Depthwise-like layers are the exception: when
       ``(C/G) * (F/G) <= 16`` with ``G > 1`` every group's product is tiny, and ``"direct"`` does
       them as broadcast multiply-adds over all groups at once. The **forward** map of such a layer
       takes ``"im2col"`` only when it is tiny (at most :data:`IM2COL_FORWARD_MAX_FLOPS`
       operations, where the fixed cost of ``"direct"``'s set-up dominates); above that,
       ``"direct"``'s forward stacks all taps into one ``prod(kernel)*C/G``-deep product too and
       was measured about twice as fast (the RGB layer of the benchmark).
    4. Otherwise ``"direct"``: one GEMM per kernel offset over all rows of the batch, ``C/G``
       deep, without copying the input into a column matrix ``prod(kernel)`` times its size.

    Parameters
    ----------
    geom : the convolution's geometry
    dtype : the dtype it computes in
    op : {"forward", "input", "weight", "backward"}
        The map: :func:`conv`, :func:`conv_grad_input`, :func:`conv_grad_weight` or
        :func:`conv_backward` (both gradients, which share buffers).

    The rule looks only at the shapes, so a layer always runs the same code.
    """
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    if dtype.kind == "O":
        return "reference"
    if sum(fft.fft_flops(geom)) * FFT_PENALTY < geom.flops:
        return "fft"
    cg, fg = geom.in_channels // geom.groups, geom.out_channels // geom.groups
    if geom.groups > 1 and cg * fg <= direct.SMALL_PRODUCT:
        return "direct"
    if cg < IM2COL_MAX_CHANNELS:
        if op == "forward" and geom.flops > IM2COL_FORWARD_MAX_FLOPS:
            return "direct"
        return "im2col"
    return "direct"


def _method(method: str, geom: ConvGeometry, dtype: np.dtype, op: str) -> ModuleType:
    if method == "auto":
        method = choose_method(geom, dtype, op)
    if method not in METHODS:
        raise ValueError(f"method must be 'auto' or one of {tuple(METHODS)}, got {method!r}")
    return METHODS[method]


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


def _bias_view(b: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``b (F,)`` shaped to broadcast against the output in the user's layout."""
    return b if geom.layout == "channels_last" else b.reshape(-1, *(1,) * geom.ndim)


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
    impl = _method(method, geom, np.result_type(x, w), "forward")
    y = from_internal(impl.forward(to_internal(x, geom), weight_to_internal(w, layout), geom), geom)
    if b is not None:
        b = as_operand(b, "b")
        _check_bias(b, geom)
        y = y + _bias_view(b, geom)
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
    dy, w = as_operand(dy, "dy"), as_operand(w, "w")
    geom = _geometry(x_shape, w, stride, padding, dilation, groups, layout)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    impl = _method(method, geom, np.result_type(dy, w), "input")
    dx = impl.grad_input(to_internal(dy, geom), weight_to_internal(w, layout), geom)
    return from_internal(dx, geom)


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
    dy, x = as_operand(dy, "dy"), as_operand(x, "x")
    geom = conv_geometry(
        x.shape, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups,
        layout=layout,
    )
    check_array_shape(dy, geom.y_shape, "dy", geom)
    impl = _method(method, geom, np.result_type(dy, x), "weight")
    dw = impl.grad_weight(to_internal(dy, geom), to_internal(x, geom), geom)
    return weight_from_internal(dw, layout)


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
    impl = _method(method, geom, np.result_type(dy, x, w), "backward")
    dy_i, x_i, w_i = to_internal(dy, geom), to_internal(x, geom), weight_to_internal(w, layout)
    if hasattr(impl, "backward"):  # both gradients in one pass (shares the buffers of dy)
        dx_i, dw_i = impl.backward(dy_i, x_i, w_i, geom)
    else:
        dx_i, dw_i = impl.grad_input(dy_i, w_i, geom), impl.grad_weight(dy_i, x_i, geom)
    dx, dw = from_internal(dx_i, geom), weight_from_internal(dw_i, layout)
    db = conv_grad_bias(dy_i)  # dy_i: batched channels-first, whatever the caller's layout
    return dx, dw, db
