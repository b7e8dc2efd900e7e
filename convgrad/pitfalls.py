"""Deliberately wrong gradient code, kept so the book can show which check catches each mistake.

**Every function in this module is wrong** (except the small helpers marked correct). Each one is
a mistake that circulates or that people make when they write a convolution backward pass by
hand; its docstring says what it gets wrong, what it returns instead of the gradient, and which
test does or does not notice. The correct computation is always a call of :func:`convgrad.conv`,
:func:`convgrad.conv_grad_input` or :func:`convgrad.conv_grad_weight`.

====================================  ===================================================================
:func:`channel_mean_recipe`           broadcasts ``dz`` over the input channels: the channel mean of the
                                      kernel gradient (and a batch mean)
:func:`grad_input_forgot_flip`        full *correlation* of ``dy`` with the kernel, no flip
:func:`grad_input_double_flip`        the kernel flipped by hand *and* by a convolution routine
:func:`grad_input_wrong_crop`         the padding cropped off at the wrong offset (off by one)
:func:`grad_input_same_extra_first`   ``padding="same"`` with an even kernel: extra on the wrong side
:func:`grad_weight_divided_by_batch`  the gradient of the batch mean for a loss that is a batch sum
:func:`grad_input_remainder_first`    stride: the rows the stride never reaches padded at the front
:func:`grad_input_overdilated`        stride: ``s`` zeros between gradient entries, not ``s - 1``
:func:`grad_input_ignoring_groups`    groups: every input channel gets every output channel's share
:func:`grad_weight_first_group`       groups: every output channel paired with group 0's inputs
====================================  ===================================================================

All functions take channels-first batched arrays ``x (N, C, *in)``, ``w (F, C/G, *kernel)``,
``dy (N, F, *out)`` unless their docstring says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .functional import conv, conv_grad_input, conv_grad_weight
from .geometry import IntOrTuple, Padding, check_array_shape, conv_geometry, per_axis
from .rules import dilate, flip_transpose

# --- the im2col recipe that broadcasts dZ over the input channels ---------------------------------


def _to_channels_last(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 1, -1)


def channel_mean_recipe(
    dz: np.ndarray,
    x: np.ndarray,
    w_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: str = "channels_last",
    divide_by_batch: bool = True,
) -> np.ndarray:
    """WRONG kernel gradient: the im2col recipe that broadcasts ``dz`` over the input channels.

    The recipe, step by step, for a 2-D channels-last layer ``x (N, H, W, C)``,
    ``w (F, kh, kw, C)``, ``dz (N, Ho, Wo, F)``:

    1. move the axes of ``dz`` to ``(F, N, Ho, Wo)``;
    2. add a channel axis, broadcast it ``C`` times and divide by ``C``: ``(F, N, Ho, Wo, C)``;
    3. flatten to the matrix ``(F, N*Ho*Wo*C)``;
    4. cut the padded input into ``P = kh*kw`` patches, patch ``p = (i, j)`` being
       ``x_pad[n, s*ho + d*i, s*wo + d*j, c]`` for all ``(n, ho, wo, c)``: ``(P, N*Ho*Wo*C)``;
    5. contract the two matrices over their long axis: ``(F, P)``;
    6. reshape to ``(F, kh, kw, 1)``, broadcast ``C`` times to ``(F, kh, kw, C)`` and divide by
       ``N``.

    What it returns: step 5 sums over the input channel ``c`` together with ``n`` and ``o``, so
    every channel slice of the result is the same, the **mean over c** of the true gradient::

        recipe[f, i, j, c] = (1 / (C*N)) * sum_c' dw_true[f, i, j, c']

    where ``dw_true = conv_grad_weight(dz, x, w_shape)``. It is right only when ``C == 1`` or
    when the per-channel gradients ``dw_true[..., c]`` happen to be equal (an input whose channels
    are equal). The division by ``N`` in step 6 turns the gradient of a loss summed over the batch
    into that of the batch mean; if ``dz`` already belongs to a batch-mean loss it divides twice.

    Parameters
    ----------
    dz : array ``(N, Ho, Wo, F)``, or ``(N, F, Ho, Wo)`` with ``layout="channels_first"``
    x : array ``(N, H, W, C)``, or ``(N, C, H, W)``
    w_shape : ``(F, kh, kw, C)``, or ``(F, C, kh, kw)``
    stride, padding, dilation : as in :func:`convgrad.conv`
    groups : must be 1 (the recipe has no notion of groups)
    layout : {"channels_last", "channels_first"}
        The recipe works channels-last; channels-first arrays are viewed that way and the result
        is returned channels-first.
    divide_by_batch : bool
        Step 6's division by ``N``; ``False`` leaves only the channel mean.

    Returns
    -------
    dw : array of shape ``w_shape`` (object arrays of symbols work too)
    """
    geom = conv_geometry(x.shape, w_shape, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, layout=layout)
    if geom.ndim != 2 or geom.batch is None or groups != 1:
        raise ValueError(
            f"the recipe is written for batched 2-D layers without groups; got x.shape={x.shape}, "
            f"w_shape={tuple(w_shape)}, groups={groups}"
        )
    check_array_shape(dz, geom.y_shape, "dz", geom)
    if layout == "channels_first":
        dz, x = _to_channels_last(dz), _to_channels_last(x)
    n, c, f = geom.batch, geom.in_channels, geom.out_channels
    (kh, kw), (ho, wo) = geom.kernel_size, geom.out_size
    (sh, sw), (dh, dw_) = geom.stride, geom.dilation

    # dz: (N, Ho, Wo, F) -> (F, N, Ho, Wo) -> broadcast over C, divided by C -> (F, N*Ho*Wo*C)
    g = np.transpose(dz, (3, 0, 1, 2))[..., None]
    g = np.broadcast_to(g, (f, n, ho, wo, c)) / c
    g = g.reshape(f, n * ho * wo * c)

    # patches of the padded input: (P, N, Ho, Wo, C) -> (P, N*Ho*Wo*C)
    x_pad = np.pad(x, [(0, 0), *geom.padding, (0, 0)])
    patches = np.stack([
        x_pad[:, dh * i: dh * i + sh * (ho - 1) + 1: sh, dw_ * j: dw_ * j + sw * (wo - 1) + 1: sw, :]
        for i in range(kh) for j in range(kw)
    ])
    patches = patches.reshape(kh * kw, n * ho * wo * c)

    out = g @ patches.T  # (F, P): the sum runs over n, ho, wo *and c*
    out = np.broadcast_to(out.reshape(f, kh, kw, 1), (f, kh, kw, c))
    if divide_by_batch:
        out = out / n
    out = np.array(out)  # a writeable array, not a broadcast view
    return np.moveaxis(out, -1, 1).copy() if layout == "channels_first" else out


# --- convolution versus correlation ---------------------------------------------------------------


def _full_padding(dy: np.ndarray, kernel: Sequence[int]) -> np.ndarray:
    """Zero-pad every spatial axis of ``dy (N, F, *out)`` by ``k - 1`` on both sides."""
    return np.pad(dy, [(0, 0), (0, 0), *[(k - 1, k - 1) for k in kernel]])


def convolve(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(Correct.) A true convolution routine, as in signal processing: it flips its kernel.

    ``convolve(a, k)[n, f, o] = sum_{c, j} k[f, c, j] * a[n, c, o + K - 1 - j]``, valid part,
    i.e. ``conv(a, k flipped in space)``. It stands for any library "convolve" (``np.convolve``,
    ``scipy.signal.convolve``) that follows the textbook definition.
    """
    return conv(a, k[(Ellipsis, *(slice(None, None, -1),) * (k.ndim - 2))])


def grad_input_forgot_flip(dy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """WRONG input gradient: the full *correlation* of ``dy`` with the kernel (no flip).

    Stride 1, no padding, no dilation, no groups. The right input gradient is the full
    convolution: pad ``dy`` by ``k - 1`` on each side and correlate it with the kernel **flipped
    in space** and transposed in channels. This one forgets the flip, so ``x_bar[m]`` collects
    ``dy[o] * w[o - m + K - 1]`` instead of ``dy[o] * w[m - o]``. Invisible to any test whose
    kernel is symmetric under the flip (e.g. all ones).
    """
    wt = np.swapaxes(w, 0, 1)  # (C, F, *kernel): channels transposed, space NOT flipped
    return conv(_full_padding(dy, w.shape[2:]), wt)


def grad_input_double_flip(dy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """WRONG input gradient: the kernel flipped by hand and then once more by :func:`convolve`.

    Someone who knows the input gradient needs the flipped kernel flips it, then hands it to a
    textbook convolution routine, which flips it back. Two flips are none: the result equals
    :func:`grad_input_forgot_flip`.
    """
    wt = np.swapaxes(w, 0, 1)[(Ellipsis, *(slice(None, None, -1),) * (w.ndim - 2))]  # flipped once
    return convolve(_full_padding(dy, w.shape[2:]), wt)  # ...and once more inside convolve


# --- padding --------------------------------------------------------------------------------------


def grad_input_wrong_crop(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    padding: Padding,
    shift: IntOrTuple = 1,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """WRONG input gradient: the padding cropped off ``shift`` entries too far (off by one).

    The gradient of the padded input is right; the crop that removes the padding starts at
    ``p_lo + shift`` instead of ``p_lo`` (entries beyond the padded array read 0). The shape is
    right, the values are shifted: every input gradient entry is its neighbour's.
    """
    geom = conv_geometry(x_shape, w.shape, stride=stride, padding=padding, dilation=dilation)
    shifts = per_axis(shift, geom.ndim, "shift", minimum=-max(geom.padded_size))
    padded_shape = (*x_shape[:2], *geom.padded_size)
    dx_pad = conv_grad_input(dy, w, padded_shape, stride=stride, dilation=dilation)
    dx_pad = np.pad(dx_pad, [(0, 0), (0, 0), *[(abs(t), abs(t)) for t in shifts]])
    index = [slice(None), slice(None)]
    for n, (lo, _), t in zip(geom.in_size, geom.padding, shifts):
        start = lo + t + abs(t)
        index.append(slice(start, start + n))
    return dx_pad[tuple(index)]


def grad_input_same_extra_first(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """WRONG input gradient of ``padding="same"``: the odd extra padding put on the wrong side.

    With an even kernel (or an odd total padding under stride) ``"same"`` needs an odd total
    padding, and one side gets one more row than the other. convgrad, like TensorFlow's ``SAME``
    and PyTorch's ``padding="same"``, puts the extra at the **end** (``(lo, hi) = (t//2, t - t//2)``).
    This backward assumes it went to the **start** (``(t - t//2, t//2)``): same shapes, every
    value one row off. With an odd kernel at stride 1 both sides are equal and it is right.
    """
    geom = conv_geometry(x_shape, w.shape, stride=stride, padding="same", dilation=dilation)
    swapped = tuple((hi, lo) for lo, hi in geom.padding)
    return conv_grad_input(dy, w, x_shape, stride=stride, padding=swapped, dilation=dilation)


# --- sum versus mean over the batch ---------------------------------------------------------------


def grad_weight_divided_by_batch(dy: np.ndarray, x: np.ndarray, w_shape: Sequence[int], **opts) -> np.ndarray:
    """WRONG for a loss that is a **sum** over the batch: the weight gradient divided by ``N``.

    ``conv_grad_weight`` sums over the batch because the weight is shared by all samples; the loss
    reduction is already inside ``dy`` (a batch-mean loss gives ``dy`` with a factor ``1/N``).
    Dividing again gives the gradient of the batch mean of a summed loss: off by the factor
    ``1/N``. Invisible at ``N = 1`` and to optimisers that ignore the gradient's scale (Adam
    nearly does).
    """
    return conv_grad_weight(dy, x, w_shape, **opts) / x.shape[0]


# --- stride ---------------------------------------------------------------------------------------


def _grad_input_by_dilation(dy: np.ndarray, w: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Full convolution of ``dy`` dilated by ``factors`` with the kernel (flipped, transposed)."""
    u = dilate(dy, factors, first_axis=2)
    return conv(_full_padding(u, w.shape[2:]), flip_transpose(w, 1))


def grad_input_remainder_first(
    dy: np.ndarray, w: np.ndarray, x_shape: Sequence[int], *, stride: IntOrTuple
) -> np.ndarray:
    """WRONG strided input gradient: the rows the stride never reaches put at the front.

    No padding, no dilation, no groups. The transpose rule (dilate ``dy`` by the stride, full
    convolution with the flipped kernel) gives ``s*(out - 1) + k`` rows. When ``(n - k) % s = r > 0``
    the last ``r`` input rows are read by no output, so their gradient is zero, and they lie at
    the **end**. This code pads the missing rows at the **start**, shifting every row by ``r``.
    Right whenever ``r == 0``, so a test on sizes with ``(n - k) % s == 0`` never notices.
    """
    s = per_axis(stride, dy.ndim - 2, "stride", minimum=1)
    dx = _grad_input_by_dilation(dy, w, s)
    missing = [n - m for n, m in zip(x_shape[2:], dx.shape[2:])]
    return np.pad(dx, [(0, 0), (0, 0), *[(r, 0) for r in missing]])


def grad_input_overdilated(
    dy: np.ndarray, w: np.ndarray, x_shape: Sequence[int], *, stride: IntOrTuple
) -> np.ndarray:
    """WRONG strided input gradient: ``s`` zeros between the entries of ``dy`` instead of ``s - 1``.

    No padding, no dilation, no groups. Dilating by ``s + 1`` spreads the output gradients too
    far apart; the result is longer than the input and is cut to ``x_shape`` (and zero-padded at
    the end if it were shorter), so the shape check passes. Right only when ``out == 1``.
    """
    s = per_axis(stride, dy.ndim - 2, "stride", minimum=1)
    dx = _grad_input_by_dilation(dy, w, [t + 1 for t in s])
    dx = dx[(slice(None), slice(None), *[slice(0, n) for n in x_shape[2:]])]
    return np.pad(dx, [(0, 0), (0, 0), *[(0, n - m) for n, m in zip(x_shape[2:], dx.shape[2:])]])


# --- groups ---------------------------------------------------------------------------------------


def grad_input_ignoring_groups(
    dy: np.ndarray, w: np.ndarray, x_shape: Sequence[int], *, groups: int
) -> np.ndarray:
    """WRONG grouped input gradient: the weight used as if every output channel saw every group.

    ``w (F, C/G, *kernel)`` is tiled ``G`` times along the channel axis to a dense ``(F, C, *kernel)``
    weight, so input channel ``c`` receives the gradient of **every** output channel through
    ``w[f, c mod C/G]``. The right dense equivalent is block diagonal: zero outside ``f``'s group.
    Right only for ``groups == 1``.
    """
    dense = np.tile(w, (1, groups, *(1,) * (w.ndim - 2)))
    return conv_grad_input(dy, dense, x_shape)


def grad_weight_first_group(
    dy: np.ndarray, x: np.ndarray, w_shape: Sequence[int], *, groups: int
) -> np.ndarray:
    """WRONG grouped weight gradient: every output channel correlated with group 0's input channels.

    The dense weight gradient ``(F, C, *kernel)`` is computed and its first ``C/G`` input channels
    are kept for all ``F`` outputs, instead of the ``C/G`` channels of each output's own group.
    Right for the output channels of group 0 only.
    """
    dense_shape = (w_shape[0], x.shape[1], *w_shape[2:])
    return conv_grad_weight(dy, x, dense_shape)[:, : w_shape[1]]
