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

Added for :func:`convgrad.diagnose.diagnose`, which names the mistake a user's backward pass made
by comparing its output with every recipe here (the list :data:`CATALOGUE`):

=======================================  ==================================================================
:func:`grad_input_flipped_all_axes`      ``np.flip(w)`` without axes: the channel axes reversed too
:func:`grad_input_channels_not_swapped`  the kernel flipped but not transposed in channels (``C == F``)
:func:`grad_input_not_cropped`           the padded input's gradient returned (padding ignored)
:func:`grad_input_crop_minus_p`          the padding cropped with ``a[p:-p]``: empty when ``p = 0``
:func:`grad_input_remainder_dropped`     stride: the rows no output reads left out of ``dx``
:func:`grad_input_stride_ignored`        ``dx`` scattered to ``o + d*k`` instead of ``s*o + d*k``
:func:`grad_input_undilated`             ``dx`` scattered to ``s*o + k`` instead of ``s*o + d*k``
:func:`grad_weight_last_sample`          ``dw`` overwritten for each sample instead of summed
:func:`grad_weight_convolved`            ``dw`` by a true convolution of ``x`` with ``dy`` (``dy`` flipped)
:func:`grad_weight_channels_swapped`     ``dw`` with its channel axes in the order ``(C, F)``
:func:`grad_weight_padding_ignored`      ``dw`` correlated with the unpadded input
:func:`grad_weight_stride_ignored`       ``dw`` reading ``x[o + d*k]`` instead of ``x[s*o + d*k]``
:func:`grad_weight_undilated`            ``dw`` reading ``x[s*o + k]`` instead of ``x[s*o + d*k]``
:func:`grad_bias_divided_by_batch`       ``db`` divided by ``N``
=======================================  ==================================================================

All functions take channels-first batched arrays ``x (N, C, *in)``, ``w (F, C/G, *kernel)``,
``dy (N, F, *out)`` unless their docstring says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import weight_from_internal, weight_to_internal
from .functional import conv, conv_backward, conv_grad_input, conv_grad_weight
from .geometry import IntOrTuple, Padding, check_array_shape, conv_geometry, per_axis
from .rules import dilate, flip_transpose, pad_or_crop

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


def _flip_space(a: np.ndarray) -> np.ndarray:
    """``a (A, B, *space)`` reversed along every spatial axis."""
    return a[(Ellipsis, *(slice(None, None, -1),) * (a.ndim - 2))]


def _transpose_per_group(w: np.ndarray, groups: int) -> np.ndarray:
    """``w (F, C/G, *kernel)`` -> ``(C, F/G, *kernel)``, transposed in channels per group, not flipped."""
    f, cg, *kernel = w.shape
    wg = w.reshape(groups, f // groups, cg, *kernel).swapaxes(1, 2)
    return wg.reshape(groups * cg, f // groups, *kernel)


def _transpose_rule(dy: np.ndarray, wt: np.ndarray, x_shape: Sequence[int], w_shape: Sequence[int],
                    stride: IntOrTuple, padding: Padding, dilation: IntOrTuple, groups: int) -> np.ndarray:
    """The transpose rule of :mod:`convgrad.rules` with a kernel ``wt (C, F/G, *kernel)`` given by the caller.

    ``dy`` dilated by the stride, padded by ``d*(k-1) - p_lo`` before and the rest after, and
    convolved (stride 1, dilation ``d``) with ``wt``. With ``wt = flip_transpose(w)`` this is the
    input gradient; the wrong recipes hand it a kernel prepared wrongly.
    """
    geom = conv_geometry(x_shape, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    u = dilate(dy, geom.stride, first_axis=2)
    pairs = [(d * (k - 1) - lo, n + lo - s * (o - 1) - 1)
             for n, k, o, s, d, (lo, _) in zip(geom.in_size, geom.kernel_size, geom.out_size,
                                               geom.stride, geom.dilation, geom.padding)]
    return conv(pad_or_crop(u, pairs, first_axis=2), wt, dilation=geom.dilation, groups=groups)


def grad_input_forgot_flip(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int] | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG input gradient: the full *correlation* of ``dy`` with the kernel (no flip).

    The right input gradient is the full convolution: pad ``dy`` by ``k - 1`` on each side and
    correlate it with the kernel **flipped in space** and transposed in channels. This one forgets
    the flip, so ``x_bar[m]`` collects ``dy[o] * w[o - m + K - 1]`` instead of ``dy[o] * w[m - o]``.
    Invisible to any test whose kernel is symmetric under the flip (e.g. all ones).

    Without ``x_shape`` and options: stride 1, no padding, no dilation, no groups, and ``dx`` of the
    full size ``out + k - 1``. With ``x_shape`` (and any options): the transpose rule of
    :mod:`convgrad.rules` (``dy`` dilated by the stride, padded, correlated with the kernel
    transposed per group) without the flip. It equals the right input gradient of the kernel
    flipped in space, ``conv_grad_input(dy, w[..., ::-1, ::-1], x_shape, ...)``.
    """
    if x_shape is None:
        if (stride, padding, dilation, groups) != (1, 0, 1, 1):
            raise ValueError("grad_input_forgot_flip needs x_shape with stride, padding, dilation or groups")
        wt = np.swapaxes(w, 0, 1)  # (C, F, *kernel): channels transposed, space NOT flipped
        return conv(_full_padding(dy, w.shape[2:]), wt)
    return _transpose_rule(dy, _transpose_per_group(w, groups), x_shape, w.shape,
                           stride, padding, dilation, groups)


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


# --- the kernel's axes: flipped too much, transposed too little -----------------------------------


def grad_input_flipped_all_axes(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG input gradient: the kernel flipped with ``np.flip(w)``, which reverses *every* axis.

    The transpose rule needs the kernel flipped in space only. ``np.flip`` without ``axis`` also
    reverses the output-channel and the input-channel axes, so ``dy[:, f]`` meets the flipped
    kernel ``w[F - 1 - f, C/G - 1 - c]`` on its way to input channel ``c``. Right only with one
    kernel and one input channel per group (``F == 1`` and ``C/G == 1``), the first test many
    people write.
    """
    wt = _transpose_per_group(np.flip(w), groups)  # space flipped (right), channels too (wrong)
    return _transpose_rule(dy, wt, x_shape, w.shape, stride, padding, dilation, groups)


def grad_input_channels_not_swapped(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG input gradient: the kernel flipped in space but not transposed in channels.

    The transpose rule convolves ``dy`` (``F`` channels) with a kernel ``(C, F/G, *kernel)``, the
    weight ``(F, C/G, *kernel)`` with its channel axes swapped. This code hands it the weight as it
    is. With ``F != C`` the shapes do not fit and the code raises; with ``F == C`` it runs, and
    input channel ``c`` receives ``sum_f dy[f] * w[c, f]`` (flipped) instead of
    ``sum_f dy[f] * w[f, c]``. Right only when the kernel is symmetric in its channel axes
    (``w[f, c] == w[c, f]``), e.g. ``F == C == 1``.

    Raises
    ------
    ValueError
        If ``F != C``, where the untransposed kernel does not fit.
    """
    if w.shape[0] != w.shape[1] * groups:
        raise ValueError(
            f"the untransposed kernel fits only when F == C; got w.shape={w.shape}, groups={groups}"
        )
    return _transpose_rule(dy, _flip_space(w), x_shape, w.shape, stride, padding, dilation, groups)


# --- more padding ---------------------------------------------------------------------------------


def grad_input_not_cropped(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG input gradient: the gradient of the zero-padded input, the padding not cropped off.

    Shape ``(N, C, *padded)`` instead of ``x_shape``. It is also what a backward pass returns when
    it ignores its ``padding`` argument: ``dy`` has the padded layer's size, and the full
    convolution of ``dy`` with the kernel covers the padded input. Right only without padding.
    """
    geom = conv_geometry(x_shape, w.shape, stride=stride, padding=padding, dilation=dilation, groups=groups)
    padded_shape = (*x_shape[:2], *geom.padded_size)
    return conv_grad_input(dy, w, padded_shape, stride=stride, dilation=dilation, groups=groups)


def grad_input_crop_minus_p(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    padding: IntOrTuple,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG without padding: the padding cropped off with ``dx_pad[..., p:-p]``.

    For ``p > 0`` the slice ``p:-p`` is exactly the crop; for ``p = 0`` it is ``0:0``, **empty**,
    so the input gradient of every unpadded layer has spatial size 0. Right for every ``p > 0``:
    a test suite that always pads never notices (write ``dx_pad[..., p:p + n]``).
    """
    p = per_axis(padding, len(x_shape) - 2, "padding", minimum=0)
    dx_pad = grad_input_not_cropped(dy, w, x_shape, stride=stride, padding=p, dilation=dilation,
                                    groups=groups)
    return dx_pad[(slice(None), slice(None), *[slice(q, -q) for q in p])]


# --- more stride and dilation: the index map of a hand-written loop -------------------------------


def grad_input_remainder_dropped(dy: np.ndarray, w: np.ndarray, *, stride: IntOrTuple) -> np.ndarray:
    """WRONG strided input gradient: the rows no output reads left out.

    No padding, no dilation, no groups. The transpose rule (``dy`` dilated by the stride, full
    convolution with the flipped kernel) gives ``s*(out - 1) + k`` rows. When
    ``r = (n - k) % s > 0`` the input has ``r`` more, read by no output, whose gradient is zero;
    this code returns the short array (shape ``n - r``). Right whenever ``r == 0``.
    """
    s = per_axis(stride, dy.ndim - 2, "stride", minimum=1)
    return _grad_input_by_dilation(dy, w, s)


def _grad_input_index_map(dy, w, x_shape, *, stride, padding, dilation, groups, step, spacing):
    """dx of a loop that adds ``dy[o] * w[k]`` to padded row ``step*o + spacing*k``, then crops."""
    geom = conv_geometry(x_shape, w.shape, stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    step, spacing = step or geom.stride, spacing or geom.dilation
    reach = [t * (o - 1) + e * (k - 1) + 1
             for o, k, t, e in zip(geom.out_size, geom.kernel_size, step, spacing)]
    part = conv_grad_input(dy, w, (*x_shape[:2], *reach), stride=step, dilation=spacing, groups=groups)
    dx_pad = np.zeros((*x_shape[:2], *geom.padded_size), dtype=part.dtype)
    dx_pad[(Ellipsis, *[slice(0, r) for r in reach])] = part  # reach <= padded size: step <= s, spacing <= d
    return dx_pad[(Ellipsis, *[slice(lo, lo + n) for n, (lo, _) in zip(geom.in_size, geom.padding)])]


def _grad_weight_index_map(dy, x, w_shape, *, stride, padding, dilation, groups, step, spacing):
    """dw of a loop that adds ``dy[o] * x_pad[step*o + spacing*k]`` to ``dw[k]``."""
    geom = conv_geometry(x.shape, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_array_shape(dy, geom.y_shape, "dy", geom)
    step, spacing = step or geom.stride, spacing or geom.dilation
    reach = [t * (o - 1) + e * (k - 1) + 1
             for o, k, t, e in zip(geom.out_size, geom.kernel_size, step, spacing)]
    x_pad = np.pad(x, [(0, 0), (0, 0), *geom.padding])
    x_part = x_pad[(Ellipsis, *[slice(0, r) for r in reach])]
    return conv_grad_weight(dy, x_part, w_shape, stride=step, dilation=spacing, groups=groups)


def grad_input_stride_ignored(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG strided input gradient: ``dy[o] * w[k]`` added to input row ``o + d*k``, not ``s*o + d*k``.

    A loop that forgets the stride in its index: the gradient lands in the first
    ``out + d*(k - 1)`` rows of the padded input, packed together, and the rest stay zero. The
    shape is right. Right only at stride 1.
    """
    return _grad_input_index_map(dy, w, x_shape, stride=stride, padding=padding, dilation=dilation,
                                 groups=groups, step=(1,) * (dy.ndim - 2), spacing=None)


def grad_input_undilated(
    dy: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG dilated input gradient: ``dy[o] * w[k]`` added to input row ``s*o + k``, not ``s*o + d*k``.

    The dilation left out of the backward index (the forward had it): every tap lands next to
    its neighbour instead of ``d`` rows away. The shape is right. Right only at dilation 1.
    """
    return _grad_input_index_map(dy, w, x_shape, stride=stride, padding=padding, dilation=dilation,
                                 groups=groups, step=None, spacing=(1,) * (dy.ndim - 2))


def grad_weight_stride_ignored(
    dy: np.ndarray,
    x: np.ndarray,
    w_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG strided kernel gradient: ``dw[k]`` collects ``dy[o] * x_pad[o + d*k]``, not ``x_pad[s*o + d*k]``.

    The stride left out of the index of the input window: each output meets a window shifted by
    ``o`` instead of ``s*o``. The shape is right. Right only at stride 1.
    """
    return _grad_weight_index_map(dy, x, w_shape, stride=stride, padding=padding, dilation=dilation,
                                  groups=groups, step=(1,) * (dy.ndim - 2), spacing=None)


def grad_weight_undilated(
    dy: np.ndarray,
    x: np.ndarray,
    w_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """WRONG dilated kernel gradient: ``dw[k]`` collects ``dy[o] * x_pad[s*o + k]``, not ``x_pad[s*o + d*k]``.

    The dilation left out of dW: the window of tap ``k`` is read at offset ``k`` instead of
    ``d*k``, so every tap but the first pairs ``dy`` with the wrong input rows. The shape is
    right. Right only at dilation 1.
    """
    return _grad_weight_index_map(dy, x, w_shape, stride=stride, padding=padding, dilation=dilation,
                                  groups=groups, step=None, spacing=(1,) * (dy.ndim - 2))


# --- more kernel-gradient mistakes ----------------------------------------------------------------


def grad_weight_last_sample(dy: np.ndarray, x: np.ndarray, w_shape: Sequence[int], **opts) -> np.ndarray:
    """WRONG kernel gradient: the last sample's only, as from ``dw = ...`` instead of ``dw += ...``.

    A loop over the batch that assigns the kernel gradient instead of accumulating it keeps the
    last sample's contribution. The kernel is shared by all ``N`` samples, so its gradient is the
    sum over the batch. Right only at ``N = 1``.
    """
    return conv_grad_weight(dy[-1:], x[-1:], w_shape, **opts)


def grad_weight_convolved(dy: np.ndarray, x: np.ndarray, w_shape: Sequence[int], **opts) -> np.ndarray:
    """WRONG kernel gradient: ``x`` *convolved* with ``dy``, reading "dL/dW = X * dL/dZ" literally.

    A convolution routine flips its second operand (see :func:`convolve`); the kernel gradient is
    a *correlation* of the input with ``dy``, ``dw[k] = sum_o dy[o] x[s*o + d*k]``. Convolving
    gives ``sum_o dy[O - 1 - o] x[s*o + d*k]``: the correlation with ``dy`` flipped in space,
    which is what this returns (at stride 1: ``convolve(x[n, c], dy[n, f])`` summed over ``n``).
    The shape is right. Right only when ``dy`` is symmetric under the flip, e.g. one output
    position.
    """
    return conv_grad_weight(_flip_space(dy), x, w_shape, **opts)


def grad_weight_channels_swapped(
    dy: np.ndarray, x: np.ndarray, w_shape: Sequence[int], *, groups: int = 1, **opts
) -> np.ndarray:
    """WRONG kernel gradient: computed with its channel axes in the order ``(C, F)``.

    E.g. ``np.einsum("nchw,nfhw->cf", ...)`` for each kernel offset, returned where ``(F, C)`` is
    expected. With ``F != C`` the shape gives it away; with ``F == C`` (per group) entry
    ``[f, c]`` holds the gradient of ``w[c, f]``. Right only when the gradient happens to be
    symmetric in its channel axes, e.g. ``F == C == 1``.

    Raises
    ------
    ValueError
        If ``F != C``.
    """
    if w_shape[0] != w_shape[1] * groups:
        raise ValueError(f"the swapped channel axes fit only when F == C; got w_shape={tuple(w_shape)}")
    return _transpose_per_group(conv_grad_weight(dy, x, w_shape, groups=groups, **opts), groups)


def grad_weight_padding_ignored(
    dy: np.ndarray, x: np.ndarray, w_shape: Sequence[int], *, groups: int = 1
) -> np.ndarray:
    """WRONG padded kernel gradient: the unpadded input correlated with ``dy`` (stride 1, no dilation).

    ``dy`` belongs to the padded layer: it has ``2p`` more rows than a valid correlation of the
    unpadded input leaves room for, so the correlation of ``x`` with ``dy`` has ``k - 2p`` rows
    instead of ``k``: a kernel gradient of the wrong shape (or, for ``2p >= k``, none, and the
    code raises). Right only without padding.

    Raises
    ------
    ValueError
        If ``2p >= k`` on some axis, where the correlation is empty.
    """
    kernel = [n - o + 1 for n, o in zip(x.shape[2:], dy.shape[2:])]
    if min(kernel) < 1:
        raise ValueError(f"dy of shape {dy.shape} is larger than x of shape {x.shape}: nothing to correlate")
    return conv_grad_weight(dy, x, (*w_shape[:2], *kernel), groups=groups)


def grad_bias_divided_by_batch(dy: np.ndarray) -> np.ndarray:
    """WRONG for a loss that is a **sum** over the batch: the bias gradient divided by ``N``.

    ``db[f] = sum_{n, o} dy[n, f, o]``: like the kernel, the bias is shared by the samples and the
    loss reduction is already inside ``dy``. Right only at ``N = 1``.
    """
    return dy.sum(axis=(0, *range(2, dy.ndim))) / dy.shape[0]


# --- the catalogue that convgrad.diagnose compares a user's gradients with -----------------------

#: The options of a layer and their defaults, the keywords a :class:`Mistake` is called with.
OPTION_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}


@dataclass(frozen=True)
class Mistake:
    """One wrong recipe of this module as :func:`convgrad.diagnose.diagnose` uses it."""

    #: A few words that name the mistake, e.g. ``"kernel not flipped"``.
    name: str
    #: The gradient it gets wrong, ``"dx"``, ``"dw"`` or ``"db"``.
    quantity: str
    #: What is wrong and what is right, in one sentence.
    explanation: str
    #: The book chapter (file name) that explains it.
    chapter: str
    #: The function of this module that computes it.
    recipe: Callable[..., np.ndarray]
    #: A function ``compute(dy, x, w, options)`` that returns the wrong quantity for a batched
    #: channels-first layer with integer ``options`` (the keys of ``OPTION_DEFAULTS``), or ``None``
    #: where the recipe is not defined.
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray, dict], np.ndarray | None]

    def __call__(self, dy: np.ndarray, x: np.ndarray, w: np.ndarray, **options: int) -> np.ndarray | None:
        """The wrong quantity for ``x (N, C, *in)``, ``w (F, C/G, *kernel)``, ``dy (N, F, *out)``."""
        unknown = set(options) - set(OPTION_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown options {sorted(unknown)}; known: {list(OPTION_DEFAULTS)}")
        return self.compute(dy, x, w, {**OPTION_DEFAULTS, **options})


def _only(o: dict, *allowed: str) -> bool:
    """True when every option not in ``allowed`` has its default value."""
    return all(o[k] == v for k, v in OPTION_DEFAULTS.items() if k not in allowed)


def _square(w: np.ndarray, o: dict) -> bool:
    return w.shape[0] == w.shape[1] * o["groups"]


#: Every wrong recipe that :func:`convgrad.diagnose.diagnose` can name, in the order it tries them.
CATALOGUE: tuple[Mistake, ...] = (
    # --- dx -------------------------------------------------------------------------------------
    Mistake("kernel not flipped", "dx",
            "dx correlates dy with the kernel; it must convolve: flip the kernel in space",
            "mistakes", grad_input_forgot_flip,
            lambda dy, x, w, o: grad_input_forgot_flip(dy, w, x.shape, **o)),
    Mistake("kernel flipped twice", "dx",
            "flipped by hand, then again by a convolve routine: two flips are none",
            "mistakes", grad_input_double_flip,
            lambda dy, x, w, o: grad_input_double_flip(dy, w) if _only(o) else None),
    Mistake("np.flip without axes", "dx",
            "np.flip(w) reverses the channel axes too; flip only the spatial axes",
            "mistakes", grad_input_flipped_all_axes,
            lambda dy, x, w, o: grad_input_flipped_all_axes(dy, w, x.shape, **o)),
    Mistake("kernel channels not swapped", "dx",
            "dx needs the kernel transposed in channels, (F, C) -> (C, F); with C = F the "
            "untransposed kernel has the right shape and the wrong values",
            "channels_batch", grad_input_channels_not_swapped,
            lambda dy, x, w, o: grad_input_channels_not_swapped(dy, w, x.shape, **o)
            if _square(w, o) else None),
    Mistake("padding not cropped", "dx",
            "dx is the padded input's gradient: crop p rows off each side (or the padding "
            "option was ignored)",
            "padding", grad_input_not_cropped,
            lambda dy, x, w, o: grad_input_not_cropped(dy, w, x.shape, **o) if o["padding"] else None),
    Mistake("crop written a[p:-p]", "dx",
            "with p = 0 the slice p:-p is empty; crop with a[p:p + H]",
            "padding", grad_input_crop_minus_p,
            lambda dy, x, w, o: None if o["padding"] else grad_input_crop_minus_p(dy, w, x.shape, **o)),
    Mistake("crop one row late", "dx",
            "the crop starts at p + 1, not p: every entry holds its neighbour's gradient",
            "padding", grad_input_wrong_crop,
            lambda dy, x, w, o: grad_input_wrong_crop(dy, w, x.shape, padding=o["padding"], shift=1,
                                                      stride=o["stride"], dilation=o["dilation"])
            if o["padding"] and o["groups"] == 1 else None),
    Mistake("crop one row early", "dx",
            "the crop starts at p - 1, not p: every entry holds its neighbour's gradient",
            "padding", grad_input_wrong_crop,
            lambda dy, x, w, o: grad_input_wrong_crop(dy, w, x.shape, padding=o["padding"], shift=-1,
                                                      stride=o["stride"], dilation=o["dilation"])
            if o["padding"] and o["groups"] == 1 else None),
    Mistake("stride remainder at the front", "dx",
            "the r rows no output reads are the last ones: their zero gradient goes at the end",
            "mistakes", grad_input_remainder_first,
            lambda dy, x, w, o: grad_input_remainder_first(dy, w, x.shape, stride=o["stride"])
            if _only(o, "stride") else None),
    Mistake("stride remainder dropped", "dx",
            "the transpose rule gives s*(out-1) + k rows; the r rows no output reads need "
            "their zero gradient",
            "stride", grad_input_remainder_dropped,
            lambda dy, x, w, o: grad_input_remainder_dropped(dy, w, stride=o["stride"])
            if _only(o, "stride") else None),
    Mistake("s zeros between dy entries", "dx",
            "dilating dy for the transpose rule puts s - 1 zeros between entries, not s",
            "mistakes", grad_input_overdilated,
            lambda dy, x, w, o: grad_input_overdilated(dy, w, x.shape, stride=o["stride"])
            if _only(o, "stride") else None),
    Mistake("stride left out of dx", "dx",
            "output o read input rows s*o + d*k; its gradient must go back there, not to o + d*k",
            "stride", grad_input_stride_ignored,
            lambda dy, x, w, o: grad_input_stride_ignored(dy, w, x.shape, **o)),
    Mistake("dilation left out of dx", "dx",
            "tap k read input row s*o + d*k; its gradient must go back there, not to s*o + k",
            "dilation", grad_input_undilated,
            lambda dy, x, w, o: grad_input_undilated(dy, w, x.shape, **o)),
    Mistake("channels mixed across groups", "dx",
            "output channel f reads only its group's input channels; its gradient must not reach "
            "the others",
            "groups", grad_input_ignoring_groups,
            lambda dy, x, w, o: grad_input_ignoring_groups(dy, w, x.shape, groups=o["groups"])
            if _only(o, "groups") else None),
    # --- dw -------------------------------------------------------------------------------------
    Mistake("channel-mean recipe", "dw",
            "dy broadcast over the C input channels and divided by C, then by N: every channel "
            "of dw is the mean over channels",
            "wrong_recipe", channel_mean_recipe,
            lambda dy, x, w, o: channel_mean_recipe(dy, x, w.shape, layout="channels_first", **o)
            if o["groups"] == 1 and x.ndim == 4 else None),
    Mistake("channel mean", "dw",
            "dy broadcast over the C input channels and divided by C: every channel of dw is "
            "the mean over channels",
            "wrong_recipe", channel_mean_recipe,
            lambda dy, x, w, o: channel_mean_recipe(dy, x, w.shape, layout="channels_first",
                                                    divide_by_batch=False, **o)
            if o["groups"] == 1 and x.ndim == 4 else None),
    Mistake("mean instead of sum over the batch", "dw",
            "the kernel is shared by the N samples: dw sums over the batch (the loss's reduction "
            "is already in dy); do not divide by N",
            "mistakes", grad_weight_divided_by_batch,
            lambda dy, x, w, o: grad_weight_divided_by_batch(dy, x, w.shape, **o)),
    Mistake("only the last sample", "dw",
            "dw = ... inside the loop over the batch keeps the last sample; accumulate with +=",
            "channels_batch", grad_weight_last_sample,
            lambda dy, x, w, o: grad_weight_last_sample(dy, x, w.shape, **o)),
    Mistake("x convolved with dy", "dw",
            "dw correlates x with dy; a convolve routine flips dy",
            "conv1d", grad_weight_convolved,
            lambda dy, x, w, o: grad_weight_convolved(dy, x, w.shape, **o)),
    Mistake("channel axes of dw swapped", "dw",
            "dw has the kernel's shape (F, C, ...), not (C, F, ...); with C = F the swapped "
            "array has the right shape",
            "channels_batch", grad_weight_channels_swapped,
            lambda dy, x, w, o: grad_weight_channels_swapped(dy, x, w.shape, **o) if _square(w, o) else None),
    Mistake("padding ignored in dw", "dw",
            "dw correlates the padded input with dy; the unpadded input gives k - 2p taps",
            "padding", grad_weight_padding_ignored,
            lambda dy, x, w, o: grad_weight_padding_ignored(dy, x, w.shape, groups=o["groups"])
            if o["padding"] and _only(o, "padding", "groups") and 2 * o["padding"] < min(w.shape[2:])
            else None),
    Mistake("stride left out of dw", "dw",
            "output o read input rows s*o + d*k: dw pairs dy[o] with those rows, not o + d*k",
            "stride", grad_weight_stride_ignored,
            lambda dy, x, w, o: grad_weight_stride_ignored(dy, x, w.shape, **o)),
    Mistake("dilation left out of dw", "dw",
            "tap k read input row s*o + d*k: dw pairs dy[o] with that row, not s*o + k",
            "dilation", grad_weight_undilated,
            lambda dy, x, w, o: grad_weight_undilated(dy, x, w.shape, **o)),
    Mistake("group 0's channels for all", "dw",
            "output channel f pairs with the input channels of its own group, not of group 0",
            "groups", grad_weight_first_group,
            lambda dy, x, w, o: grad_weight_first_group(dy, x, w.shape, groups=o["groups"])
            if _only(o, "groups") else None),
    # --- db -------------------------------------------------------------------------------------
    Mistake("db divided by N", "db",
            "the bias is shared by the N samples: db sums dy over the batch and the positions",
            "channels_batch", grad_bias_divided_by_batch,
            lambda dy, x, w, o: grad_bias_divided_by_batch(dy)),
)

#: Wrong recipes of this module that :data:`CATALOGUE` leaves out, and why.
NOT_DIAGNOSED: dict[str, str] = {
    "grad_input_same_extra_first": "needs padding='same' with an even kernel; diagnose passes padding "
                                   "as one integer, the same on both sides",
}


def wrong_backward(mistake: Mistake, *, layout: str = "channels_first") -> Callable[..., tuple]:
    """A backward pass that makes one mistake: for :func:`convgrad.diagnose.diagnose`, tests and the book.

    Returns ``backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1) -> (dx, dw, db)`` in
    ``layout``: the right gradients, except ``mistake.quantity``, which is the recipe's wherever
    the recipe is defined for the layer (and the right one elsewhere).
    """
    if layout not in ("channels_first", "channels_last"):
        raise ValueError(f"layout must be 'channels_first' or 'channels_last', got {layout!r}")
    last = layout == "channels_last"

    def backward(dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
        opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        dx, dw, db = conv_backward(dy, x, w, layout=layout, **opts)
        if last:
            dy, x = np.moveaxis(dy, -1, 1), np.moveaxis(x, -1, 1)
        wrong = mistake(dy, x, weight_to_internal(w, layout), **opts)
        if wrong is None:
            return dx, dw, db
        if mistake.quantity == "dx":
            return (np.moveaxis(wrong, 1, -1) if last else wrong), dw, db
        if mistake.quantity == "dw":
            return dx, weight_from_internal(wrong, layout), db
        return dx, dw, wrong

    backward.__name__ = backward.__qualname__ = "backward_" + "_".join(mistake.name.split())
    backward.__doc__ = f"A backward pass whose {mistake.quantity} makes the mistake: {mistake.name}."
    return backward
