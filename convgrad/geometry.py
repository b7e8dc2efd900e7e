"""Shape rules of a convolution: every argument is normalised and checked here, before arithmetic.

A convolution is described by a :class:`ConvGeometry`, built by :func:`conv_geometry` from the
input shape, the weight shape and the options. The methods (``reference``, ``direct``,
``im2col``, ...) receive a geometry that is known to be valid, so they never need to check
anything themselves and a bad argument can never reach NumPy as an ``IndexError`` or a
broadcasting error.

Index convention (cross-correlation, as in deep-learning frameworks)::

    y[n, f, o] = b[f] + sum_{c, k} w[f, c, k] * x[n, g*C/G + c, s*o + d*k - p_lo]

where ``g = f // (F/G)`` is the group of output channel ``f`` and out-of-range input indices read
zeros (padding).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import numpy as np

LAYOUTS = ("channels_first", "channels_last")
PADDING_STRINGS = ("valid", "same", "full")

IntOrTuple = int | Sequence[int]
Padding = int | str | Sequence[int | Sequence[int]]


@dataclass(frozen=True)
class ConvGeometry:
    """All sizes of one convolution, validated and normalised to one entry per spatial axis.

    Attributes
    ----------
    batch : int or None
        Batch size ``N``; ``None`` when the input is unbatched.
    in_channels, out_channels, groups : int
        ``C``, ``F`` and ``G``; ``G`` divides both ``C`` and ``F``.
    in_size, kernel_size, out_size : tuple of int
        Spatial sizes of the input, of the (undilated) kernel and of the output.
    stride, dilation : tuple of int
        One positive entry per spatial axis.
    padding : tuple of (int, int)
        ``(lo, hi)`` zero padding per spatial axis, after resolving ``"same"`` etc.
    layout : str
        ``"channels_first"`` or ``"channels_last"``.
    """

    batch: int | None
    in_channels: int
    out_channels: int
    groups: int
    in_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    out_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    layout: str

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.in_size)

    @property
    def padded_size(self) -> tuple[int, ...]:
        """Spatial size of the zero-padded input."""
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.in_size, self.padding))

    @property
    def dilated_kernel_size(self) -> tuple[int, ...]:
        """Spatial extent ``d*(k-1) + 1`` covered by one kernel window."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    @property
    def flops(self) -> int:
        """Multiply-adds times two of one product (forward, input or weight gradient)."""
        n = 1 if self.batch is None else self.batch
        per_out = (self.in_channels // self.groups) * prod(self.kernel_size)
        return 2 * n * self.out_channels * per_out * prod(self.out_size)

    def _shape(self, channels: int, size: tuple[int, ...]) -> tuple[int, ...]:
        if self.layout == "channels_first":
            shape = (channels, *size)
        else:
            shape = (*size, channels)
        return shape if self.batch is None else (self.batch, *shape)

    @property
    def x_shape(self) -> tuple[int, ...]:
        """Shape of the input in the user's layout."""
        return self._shape(self.in_channels, self.in_size)

    @property
    def y_shape(self) -> tuple[int, ...]:
        """Shape of the output (and of its gradient ``dy``) in the user's layout."""
        return self._shape(self.out_channels, self.out_size)

    @property
    def w_shape(self) -> tuple[int, ...]:
        """Shape of the weight in the user's layout."""
        cg = self.in_channels // self.groups
        if self.layout == "channels_first":
            return (self.out_channels, cg, *self.kernel_size)
        return (self.out_channels, *self.kernel_size, cg)


def check_layout(layout: object) -> str:
    """Return ``layout`` if it names a known layout, else raise ``ValueError``."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    return layout  # type: ignore[return-value]


def _is_int(v: object) -> bool:
    # ``type(v) is int`` first: the ABC check alone was an eighth of the seed layer's backward
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))


def check_groups(groups: object) -> int:
    """Return ``groups`` as an int if it is a positive integer, else raise."""
    if not _is_int(groups):
        raise TypeError(f"groups must be an int, got {groups!r}")
    if groups <= 0:
        raise ValueError(f"groups must be positive, got groups={groups}")
    return int(groups)


def _check_shape(shape: object, name: str) -> tuple[int, ...]:
    try:
        shape = tuple(shape)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be a tuple of ints, got {shape!r}") from None
    if not all(_is_int(s) and s >= 0 for s in shape):
        raise TypeError(f"{name} must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def per_axis(value: object, ndim: int, name: str, *, minimum: int) -> tuple[int, ...]:
    """Normalise an int or a sequence of ``ndim`` ints to a tuple, each at least ``minimum``."""
    values = (value,) * ndim if _is_int(value) else value
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be an int or a sequence of {ndim} ints, got {value!r}")
    try:
        values = tuple(values)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of {ndim} ints, got {value!r}") from None
    if len(values) != ndim:
        raise ValueError(
            f"{name} must be an int or a sequence of {ndim} ints (one per spatial axis), "
            f"got {value!r}"
        )
    if not all(_is_int(v) for v in values):
        raise TypeError(f"{name} must contain ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{name} must be >= {minimum} on every axis, got {value!r}")
    return tuple(int(v) for v in values)


def padding_pairs(
    padding: Padding,
    in_size: tuple[int, ...],
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[tuple[int, int], ...]:
    """Resolve every accepted form of ``padding`` to one ``(lo, hi)`` pair per spatial axis.

    Accepted forms: an int; one int per axis; one ``(lo, hi)`` pair per axis (ints and pairs may
    be mixed); a string, in any case (TensorFlow's ``"SAME"`` too): ``"valid"`` (no padding);
    ``"full"`` (``d*(k-1)`` on both sides); ``"same"``
    (output size ``ceil(n / s)``; the total padding ``max((out-1)*s + d*(k-1) + 1 - n, 0)`` is
    split with the odd extra at the end, which is PyTorch's rule at stride 1 and TensorFlow's
    ``SAME`` at any stride).
    """
    ndim = len(in_size)
    if isinstance(padding, str):
        mode = padding.lower()  # TensorFlow spells them "SAME" and "VALID"
        if mode == "valid":
            return ((0, 0),) * ndim
        if mode == "full":
            return tuple((d * (k - 1),) * 2 for k, d in zip(kernel_size, dilation))
        if mode == "same":
            pairs = []
            for n, k, s, d in zip(in_size, kernel_size, stride, dilation):
                out = -(-n // s)
                total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ValueError(
            f"padding must be one of {PADDING_STRINGS} (any case) when a string, got {padding!r}"
        )
    if _is_int(padding):
        items: tuple = (padding,) * ndim
    else:
        try:
            items = tuple(padding)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                f"padding must be an int, a string, or a sequence of {ndim} ints or (lo, hi) "
                f"pairs, got {padding!r}"
            ) from None
    if len(items) != ndim:
        raise ValueError(
            f"padding must have one entry per spatial axis ({ndim}), got {padding!r}; "
            f"for per-side padding of a 1-D input write ((lo, hi),)"
        )
    pairs = []
    for item in items:
        pair = (item, item) if _is_int(item) else item
        try:
            pair = tuple(pair)
        except TypeError:
            raise TypeError(f"padding entries must be ints or (lo, hi) pairs, got {padding!r}") from None
        if len(pair) != 2 or not all(_is_int(v) for v in pair):
            raise TypeError(f"padding entries must be ints or (lo, hi) pairs of ints, got {padding!r}")
        if min(pair) < 0:
            raise ValueError(f"padding must be non-negative, got {padding!r}")
        pairs.append((int(pair[0]), int(pair[1])))
    return tuple(pairs)


def conv_geometry(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: str = "channels_first",
) -> ConvGeometry:
    """Check one convolution's arguments and return its :class:`ConvGeometry`.

    Parameters
    ----------
    x_shape : tuple of int
        ``(N, C, *spatial)`` or ``(N, *spatial, C)`` by ``layout``; without ``N`` if unbatched.
    w_shape : tuple of int
        ``(F, C/G, *kernel)`` or ``(F, *kernel, C/G)`` by ``layout``.

    Raises
    ------
    ValueError, TypeError
        With the offending argument and the shapes in the message.
    """
    layout = check_layout(layout)
    x_shape = _check_shape(x_shape, "x.shape")
    w_shape = _check_shape(w_shape, "w.shape")
    if len(w_shape) < 3:
        raise ValueError(
            f"w must have at least 3 dimensions (F, C/groups, *kernel), got w.shape={w_shape}"
        )
    ndim = len(w_shape) - 2
    if len(x_shape) not in (ndim + 1, ndim + 2):
        raise ValueError(
            f"x must have {ndim + 2} dimensions (batched) or {ndim + 1} (unbatched) to match "
            f"a weight with {ndim} spatial dimensions, got x.shape={x_shape}, w.shape={w_shape}"
        )
    batched = len(x_shape) == ndim + 2
    xs = x_shape if batched else (None, *x_shape)
    if layout == "channels_first":
        c, in_size = xs[1], xs[2:]
        f, cg, kernel = w_shape[0], w_shape[1], w_shape[2:]
    else:
        c, in_size = xs[-1], xs[1:-1]
        f, cg, kernel = w_shape[0], w_shape[-1], w_shape[1:-1]
    groups = check_groups(groups)
    if f == 0 or cg == 0 or 0 in kernel:
        raise ValueError(f"w must have no zero-length dimension, got w.shape={w_shape}")
    if 0 in in_size:
        raise ValueError(f"x must have no zero-length spatial dimension, got x.shape={x_shape}")
    if f % groups:
        raise ValueError(
            f"groups={groups} must divide the number of output channels F={f} "
            f"(w.shape={w_shape})"
        )
    if c != cg * groups:
        hint = "" if c % groups == 0 else f"; groups={groups} does not divide C={c}"
        raise ValueError(
            f"x has {c} channels but w expects w.shape[{1 if layout == 'channels_first' else -1}]"
            f" * groups = {cg} * {groups} = {cg * groups} (x.shape={x_shape}, "
            f"w.shape={w_shape}, layout={layout!r}){hint}"
        )
    stride_t = per_axis(stride, ndim, "stride", minimum=1)
    dilation_t = per_axis(dilation, ndim, "dilation", minimum=1)
    pads = padding_pairs(padding, in_size, kernel, stride_t, dilation_t)
    out = []
    for axis, (n, k, s, d, (lo, hi)) in enumerate(zip(in_size, kernel, stride_t, dilation_t, pads)):
        span = d * (k - 1) + 1
        if span > n + lo + hi:
            raise ValueError(
                f"the dilated kernel (extent {span} = dilation {d} * (k {k} - 1) + 1) is larger "
                f"than the padded input ({n} + {lo} + {hi} = {n + lo + hi}) on spatial axis "
                f"{axis}: x.shape={x_shape}, w.shape={w_shape}, padding={padding!r}"
            )
        out.append((n + lo + hi - span) // s + 1)
    return ConvGeometry(
        batch=xs[0],
        in_channels=c,
        out_channels=f,
        groups=groups,
        in_size=tuple(in_size),
        kernel_size=tuple(kernel),
        out_size=tuple(out),
        stride=stride_t,
        dilation=dilation_t,
        padding=pads,
        layout=layout,
    )


def conv_output_shape(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    *,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: str = "channels_first",
) -> tuple[int, ...]:
    """Shape of ``conv(x, w, ...)`` without computing it.

    Per spatial axis the output size is ``floor((n + p_lo + p_hi - d*(k-1) - 1) / s) + 1``.

    Examples
    --------
    >>> conv_output_shape((1, 10, 10, 3), (5, 3, 3, 3),
    ...                   layout="channels_last")
    (1, 8, 8, 5)
    """
    return conv_geometry(
        x_shape, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups,
        layout=layout,
    ).y_shape


def check_array_shape(a: np.ndarray, expected: tuple[int, ...], name: str, geom: ConvGeometry) -> None:
    """Raise ``ValueError`` unless ``a.shape == expected``, naming the convolution it belongs to."""
    if a.shape != expected:
        raise ValueError(
            f"{name} must have shape {expected} for this convolution (x.shape={geom.x_shape}, "
            f"w.shape={geom.w_shape}, stride={geom.stride}, padding={geom.padding}, "
            f"dilation={geom.dilation}, groups={geom.groups}, layout={geom.layout!r}), "
            f"got {name}.shape={a.shape}"
        )
