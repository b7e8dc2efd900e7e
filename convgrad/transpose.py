"""Transposed convolution, defined as what it is: the adjoint of a convolution in its input.

``conv_transpose(x, w)`` with weight ``w (C_in, C_out/G, *kernel)`` is ``conv_grad_input`` of the
convolution that maps ``C_out`` channels to ``C_in`` with the same weight, stride, padding,
dilation and groups, evaluated at ``dy = x``. It matches PyTorch's ``conv_transposeNd``, including
``output_padding``, which picks one of the ``stride`` input sizes that the forward convolution
maps to the same output size.
"""

from __future__ import annotations

import numpy as np

from .arrays import as_operand, bias_view, from_internal, result_dtype, to_internal, weight_to_internal
from .geometry import (
    ConvGeometry,
    IntOrTuple,
    Padding,
    check_groups,
    check_layout,
    conv_geometry,
    padding_pairs,
    per_axis,
)
from .rules import layer_spec, resolve, transpose_lhs


def conv_transpose_geometry(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    layout: str = "channels_first",
) -> ConvGeometry:
    """Geometry of the convolution whose input gradient ``conv_transpose`` computes.

    Its ``x_shape`` is the transposed convolution's output shape, its ``y_shape`` the shape ``x``
    is embedded in (equal to ``x_shape`` unless ``output_padding >= stride``). Per spatial axis the
    output size is ``(in - 1)*s - p_lo - p_hi + d*(k - 1) + output_padding + 1``.
    """
    layout = check_layout(layout)
    groups = check_groups(groups)
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    if len(w_shape) < 3:
        raise ValueError(
            f"w must have at least 3 dimensions (C_in, C_out/groups, *kernel), got w.shape={w_shape}"
        )
    nd = len(w_shape) - 2
    if len(x_shape) not in (nd + 1, nd + 2):
        raise ValueError(
            f"x must have {nd + 2} dimensions (batched) or {nd + 1} (unbatched) to match a weight "
            f"with {nd} spatial dimensions, got x.shape={x_shape}, w.shape={w_shape}"
        )
    batched = len(x_shape) == nd + 2
    cf = layout == "channels_first"
    c_in = x_shape[int(batched)] if cf else x_shape[-1]
    in_size = x_shape[int(batched) + 1:] if cf else x_shape[int(batched):-1]
    kernel = w_shape[2:] if cf else w_shape[1:-1]
    if c_in != w_shape[0]:
        raise ValueError(
            f"x has {c_in} channels but the transposed convolution's weight expects "
            f"w.shape[0] = {w_shape[0]} (x.shape={x_shape}, w.shape={w_shape}, layout={layout!r})"
        )
    s = per_axis(stride, nd, "stride", minimum=1)
    d = per_axis(dilation, nd, "dilation", minimum=1)
    if isinstance(padding, str) and padding != "valid":
        raise ValueError(
            f"conv_transpose takes padding as ints or (lo, hi) pairs (or 'valid'), got {padding!r}"
        )
    pads = padding_pairs(padding, in_size, kernel, s, d)
    op = per_axis(output_padding, nd, "output_padding", minimum=0)
    for axis, (o, si, di) in enumerate(zip(op, s, d)):
        if o >= max(si, di):
            raise ValueError(
                f"output_padding must be smaller than stride or dilation on every axis, got "
                f"output_padding={output_padding!r} with stride={stride!r}, dilation={dilation!r} "
                f"(axis {axis})"
            )
    out_size = tuple(
        (n - 1) * si - lo - hi + di * (k - 1) + o + 1
        for n, si, (lo, hi), di, k, o in zip(in_size, s, pads, d, kernel, op)
    )
    if min(out_size) < 1:
        raise ValueError(
            f"the transposed convolution's output would be empty: size {out_size} from "
            f"x.shape={x_shape}, w.shape={w_shape}, stride={s}, padding={pads}, dilation={d}"
        )
    c_out = (w_shape[1] if cf else w_shape[-1]) * groups
    size_shape = (c_out, *out_size) if cf else (*out_size, c_out)
    fwd_x_shape = (x_shape[0], *size_shape) if batched else size_shape
    return conv_geometry(
        fwd_x_shape, w_shape, stride=s, padding=pads, dilation=d, groups=groups, layout=layout
    )


def conv_transpose(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    layout: str = "channels_first",
    method: str = "auto",
) -> np.ndarray:
    """Transposed convolution (PyTorch's ``conv_transposeNd``), the adjoint of :func:`conv` in x.

    Parameters
    ----------
    x : array ``(N, C_in, *in)`` or ``(N, *in, C_in)``; unbatched without ``N``
    w : array ``(C_in, C_out/G, *kernel)`` or ``(C_in, *kernel, C_out/G)``
        The weight of the convolution ``C_out -> C_in`` whose adjoint this is.
    b : array ``(C_out,)``, optional
    stride, dilation, groups, layout, method
        As in :func:`convgrad.conv`.
    padding : int, tuple of int, or tuple of (lo, hi) pairs
        The padding of that convolution; it is cropped from the result.
    output_padding : int or tuple of int
        Extra size added at the high end of each axis, each smaller than stride or dilation.

    Returns
    -------
    y : array ``(N, C_out, *out)`` or ``(N, *out, C_out)``
        ``out = (in - 1)*s - p_lo - p_hi + d*(k - 1) + output_padding + 1`` per axis.
    """
    x, w = as_operand(x, "x"), as_operand(w, "w")
    geom = conv_transpose_geometry(
        x.shape, w.shape, stride=stride, padding=padding, output_padding=output_padding,
        groups=groups, dilation=dilation, layout=layout,
    )
    # the lhs transpose of that convolution; with output_padding >= stride its output is longer
    # than x, and transpose_lhs reads the missing entries as zeros (the adjoint of cutting them off)
    method = resolve(method, geom, result_dtype(x, w), "input")
    y = transpose_lhs(to_internal(x, geom), weight_to_internal(w, layout), layer_spec(geom), method)
    y = from_internal(y, geom)
    if b is not None:
        b = as_operand(b, "b")
        c_out = geom.in_channels
        if b.shape != (c_out,):
            raise ValueError(
                f"b must have shape (C_out,) = ({c_out},) for w.shape={w.shape} and "
                f"groups={groups}, got b.shape={b.shape}"
            )
        y = y + bias_view(b, geom.ndim, layout)
    return y
