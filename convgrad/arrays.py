"""Array plumbing shared by every method: dtypes, layouts, zero padding, cropping, dilation.

Internally every method sees arrays in *channels-first logical order*, batched: the input as
``(N, C, *spatial)``, the weight as ``(F, C/G, *kernel)`` and the output as ``(N, F, *out)``.
These are views (``np.moveaxis``, ``a[None]``), so a channels-last array is not copied here; a
method that prefers channels-last memory moves the axes back, again without a copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .geometry import ConvGeometry


def as_operand(a: object, name: str) -> np.ndarray:
    """Convert ``a`` to an array of a dtype the package computes in.

    Floating dtypes are kept (float16 is computed in float32), integers and booleans become
    float64, object arrays (e.g. of SymPy symbols) are kept. Anything else raises ``TypeError``.
    """
    arr = np.asarray(a)
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(np.float32) if arr.dtype == np.float16 else arr
    if kind in "iub":
        return arr.astype(np.float64)
    if kind == "O":
        return arr
    raise TypeError(
        f"{name} must be a real floating, integer or object array, got dtype {arr.dtype} "
        f"(shape {arr.shape})"
    )


def result_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype of a result computed from ``arrays`` (object if any operand is object)."""
    if any(a.dtype == object for a in arrays):
        return np.dtype(object)
    return np.result_type(*arrays)


def to_internal(a: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """View an input or output array of the user's layout as batched channels-first."""
    if geom.batch is None:
        a = a[None]
    return np.moveaxis(a, -1, 1) if geom.layout == "channels_last" else a


def from_internal(a: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Inverse of :func:`to_internal`; returns a C-contiguous array in the user's layout."""
    if geom.layout == "channels_last":
        a = np.moveaxis(a, 1, -1)
    if geom.batch is None:
        a = a[0]
    return np.ascontiguousarray(a)


def weight_to_internal(w: np.ndarray, layout: str) -> np.ndarray:
    """View a weight of the user's layout as ``(F, C/G, *kernel)``."""
    return np.moveaxis(w, -1, 1) if layout == "channels_last" else w


def weight_from_internal(w: np.ndarray, layout: str) -> np.ndarray:
    """Inverse of :func:`weight_to_internal`, C-contiguous."""
    return np.ascontiguousarray(np.moveaxis(w, 1, -1) if layout == "channels_last" else w)


def zero_pad(a: np.ndarray, pads: tuple[tuple[int, int], ...], first_axis: int) -> np.ndarray:
    """Zero-pad the axes ``first_axis, first_axis + 1, ...`` of ``a`` by ``(lo, hi)`` pairs.

    The result is a new C-contiguous array in ``a``'s axis order (so padding a moved-axes view
    also changes its memory layout, at no extra cost). Object arrays are padded with integer 0.
    """
    shape = list(a.shape)
    inner = [slice(None)] * a.ndim
    for i, (lo, hi) in enumerate(pads):
        ax = first_axis + i
        shape[ax] += lo + hi
        inner[ax] = slice(lo, lo + a.shape[ax])
    out = np.zeros(shape, dtype=a.dtype)
    out[tuple(inner)] = a
    return out


def crop(a: np.ndarray, pads: tuple[tuple[int, int], ...], first_axis: int) -> np.ndarray:
    """Inverse of :func:`zero_pad` up to the padded zeros: a view without the padding."""
    index = [slice(None)] * a.ndim
    for i, (lo, hi) in enumerate(pads):
        ax = first_axis + i
        index[ax] = slice(lo, a.shape[ax] - hi)
    return a[tuple(index)]


def window(start: tuple[int, ...], count: tuple[int, ...], step: tuple[int, ...]) -> tuple[slice, ...]:
    """Slices selecting ``start + step * j`` for ``j`` in ``range(count)`` on each spatial axis."""
    return tuple(slice(b, b + t * (m - 1) + 1, t) for b, m, t in zip(start, count, step))


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


def empty_like_order(shape: tuple[int, ...], like: np.ndarray, dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` whose axes lie in memory in the order of ``like``'s
    axes (outermost = largest stride), returned as a view in ``shape``'s axis order.

    A map's result so takes the memory layout of its first operand: channels-last in, channels-last
    out, with nothing for :func:`from_internal` to copy.
    """
    order = sorted(range(like.ndim), key=lambda ax: -abs(like.strides[ax]) if like.shape[ax] > 1 else 0)
    out = np.empty([shape[ax] for ax in order], dtype=dtype)
    return out.transpose(np.argsort(order))


def bias_view(b: np.ndarray, ndim: int, layout: str) -> np.ndarray:
    """``b (F,)`` shaped to broadcast against an output with ``ndim`` spatial axes in ``layout``."""
    return b if layout == "channels_last" else b.reshape(-1, *(1,) * ndim)
