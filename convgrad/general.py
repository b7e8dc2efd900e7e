"""The general convolution, one operator that every map of the package is a call of.

``conv_general`` takes the arguments of XLA's ``ConvGeneralDilated`` (and of JAX's
``lax.conv_general_dilated``), on batched channels-first arrays ``lhs (N, C, *in)``,
``rhs (F, C/G, *kernel)`` and a result ``out (N/B, F, *out)``::

    out[m, f, o] = sum_{c, k} rhs[f, c, k]
                   * lhs_hat[b*N/B + m, g*C/G + c, s*o + r*k]

where ``lhs_hat`` is ``lhs`` with ``l - 1`` zeros inserted between neighbouring entries (input,
or *lhs*, dilation ``l``) and then padded by ``lo`` before and ``hi`` after each spatial axis (a
negative pad crops); ``s`` is the window stride and ``r`` the kernel (*rhs*) dilation; the
output channel ``f`` belongs to the feature group ``g = f // (F/G)`` and to the batch group
``b = f // (F/B)`` (at most one of ``G``, ``B`` exceeds 1). Per spatial axis::

    out = floor((l*(n - 1) + 1 + lo + hi - r*(k - 1) - 1) / s) + 1

A layer's forward map is the case ``l = 1``, ``B = 1``; its two gradients and the transposed
convolution are calls with the operands' roles swapped (:mod:`convgrad.rules`).

**No product with an inserted zero.** Before a method sees the call, :func:`conv_general`
removes the input dilation by the polyphase decomposition (:func:`lhs_phases`): the outputs
``o = alpha + A*u`` of one phase ``alpha`` read only the kernel taps ``k = beta + B*v`` of one
residue ``beta``, and those taps read the undilated ``lhs`` at ``c + S*u + R*v``: a dense
convolution with stride ``S = s / gcd(s, l)`` and dilation ``R = r / gcd(r, l)``. Then
:func:`tighten` turns negative padding into views of ``lhs`` and drops the padding no window
reaches. So a method implements only ``l = 1`` with non-negative padding; each method
(:mod:`convgrad.reference` excepted, which reads like the formula above) does so once, in its
function ``conv``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import gcd, prod
from types import ModuleType

import numpy as np

from .arrays import as_operand, result_dtype
from .geometry import _is_int

Pairs = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ConvSpec:
    """The sizes of one general convolution, checked (see :func:`conv_spec`).

    ``batch`` and ``in_channels`` are ``N`` and ``C`` of ``lhs (N, C, *in_size)``;
    ``out_channels`` is ``F`` of ``rhs (F, C/G, *kernel_size)``; ``window_strides``,
    ``lhs_dilation`` and ``rhs_dilation`` are ``s``, ``l`` and ``r``, one positive entry per
    spatial axis; ``padding`` is one ``(lo, hi)`` pair per axis, applied to the lhs after its
    dilation (negative entries crop); ``feature_group_count`` and ``batch_group_count`` are
    ``G`` and ``B``.
    """

    batch: int
    in_channels: int
    out_channels: int
    in_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    out_size: tuple[int, ...]
    window_strides: tuple[int, ...]
    padding: Pairs
    lhs_dilation: tuple[int, ...]
    rhs_dilation: tuple[int, ...]
    feature_group_count: int = 1
    batch_group_count: int = 1

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.in_size)

    @property
    def stride(self) -> tuple[int, ...]:
        """The window strides (the name a layer's geometry uses)."""
        return self.window_strides

    @property
    def dilation(self) -> tuple[int, ...]:
        """The kernel dilation (the name a layer's geometry uses)."""
        return self.rhs_dilation

    @property
    def dilated_kernel_size(self) -> tuple[int, ...]:
        """Spatial extent ``r*(k-1) + 1`` covered by one kernel window."""
        return tuple(r * (k - 1) + 1 for k, r in zip(self.kernel_size, self.rhs_dilation))

    @property
    def groups(self) -> int:
        """Number of independent blocks, ``G * B`` (one of them is 1)."""
        return self.feature_group_count * self.batch_group_count

    @property
    def lhs_shape(self) -> tuple[int, ...]:
        return (self.batch, self.in_channels, *self.in_size)

    @property
    def rhs_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.feature_group_count, *self.kernel_size)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.batch // self.batch_group_count, self.out_channels, *self.out_size)

    @property
    def flops(self) -> int:
        """Two times the multiply-adds of the formula (inserted zeros included)."""
        per_out = self.in_channels // self.feature_group_count * prod(self.kernel_size)
        return 2 * prod(self.out_shape[:2]) * per_out * prod(self.out_size)


def _per_axis(value, ndim: int, name: str, minimum: int | None) -> tuple[int, ...]:
    values = (value,) * ndim if _is_int(value) else tuple(value)
    if len(values) != ndim or not all(_is_int(v) for v in values):
        raise TypeError(f"{name} must be an int or {ndim} ints, got {value!r}")
    if minimum is not None and min(values, default=minimum) < minimum:
        raise ValueError(f"{name} must be >= {minimum} on every axis, got {value!r}")
    return tuple(int(v) for v in values)


def _pairs(padding, ndim: int) -> Pairs:
    items = (padding,) * ndim if _is_int(padding) else tuple(padding)
    if len(items) != ndim:
        raise TypeError(f"padding must be an int or {ndim} ints or (lo, hi) pairs, got {padding!r}")
    return tuple(_per_axis(p, 2, "padding", None) for p in items)  # type: ignore[misc]


def conv_spec(
    lhs_shape: tuple[int, ...],
    rhs_shape: tuple[int, ...],
    *,
    window_strides=1,
    padding=0,
    lhs_dilation=1,
    rhs_dilation=1,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
) -> ConvSpec:
    """Check a general convolution's arguments and return its :class:`ConvSpec`.

    The shape rule of XLA's ConvGeneralDilated, loud: every violated constraint raises a
    ``ValueError`` (or ``TypeError`` for a wrong type) with the sizes in the message.
    """
    lhs_shape, rhs_shape = tuple(lhs_shape), tuple(rhs_shape)
    if len(lhs_shape) != len(rhs_shape) or len(rhs_shape) < 3:
        raise ValueError(f"lhs (N, C, *in) and rhs (F, C/G, *kernel) must have the same rank >= 3, "
                         f"got lhs.shape={lhs_shape}, rhs.shape={rhs_shape}")
    nd = len(lhs_shape) - 2
    (n, c, *in_size), (f, cg, *kernel) = lhs_shape, rhs_shape
    g, b = feature_group_count, batch_group_count
    if not (_is_int(g) and _is_int(b)) or g < 1 or b < 1 or (g > 1 and b > 1):
        raise ValueError(f"feature_group_count={g!r} and batch_group_count={b!r} must be positive "
                         f"ints, at most one of them above 1")
    if c != g * cg or f % g or f % b or n % b:
        raise ValueError(
            f"lhs.shape={lhs_shape}, rhs.shape={rhs_shape}: need C = G * rhs.shape[1], G | F, "
            f"B | F and B | N with G={g}, B={b}")
    if min(in_size) < 1 or min(kernel) < 1:
        raise ValueError(f"spatial sizes must be positive, got lhs.shape={lhs_shape}, "
                         f"rhs.shape={rhs_shape}")
    s = _per_axis(window_strides, nd, "window_strides", 1)
    ld = _per_axis(lhs_dilation, nd, "lhs_dilation", 1)
    rd = _per_axis(rhs_dilation, nd, "rhs_dilation", 1)
    pads = _pairs(padding, nd)
    out = []
    for axis, (ni, ki, si, li, ri, (lo, hi)) in enumerate(zip(in_size, kernel, s, ld, rd, pads)):
        room = li * (ni - 1) + 1 + lo + hi - ri * (ki - 1) - 1
        if room < 0:
            raise ValueError(
                f"the dilated kernel (extent {ri * (ki - 1) + 1}) is larger than the dilated, "
                f"padded lhs ({li * (ni - 1) + 1} + {lo} + {hi}) on spatial axis {axis}: "
                f"lhs.shape={lhs_shape}, rhs.shape={rhs_shape}")
        out.append(room // si + 1)
    return ConvSpec(n, c, f, tuple(in_size), tuple(kernel), tuple(out), s, pads, ld, rd, g, b)


# --- the polyphase decomposition of the input dilation -------------------------------------------


@dataclass(frozen=True)
class AxisPhase:
    """One output phase of one axis: outputs ``alpha + A*u`` (``u < count``) read the taps
    ``beta + B*v`` (``v < taps``) at undilated lhs positions ``start + S*u + R*v``."""

    alpha: int
    step: int  # A
    count: int  # U
    beta: int
    tap_step: int  # B
    taps: int  # V, 0 when no tap reaches this phase (its outputs are zero)
    start: int  # may be negative: reads the low padding
    stride: int  # S
    dilation: int  # R


def axis_phases(n: int, k: int, out: int, s: int, lo: int, ld: int, rd: int) -> list[AxisPhase]:
    """The output phases of one axis (see the module docstring); one phase when ``ld == 1``."""
    a_step, b_step = ld // gcd(s, ld), ld // gcd(rd, ld)
    phases = []
    for alpha in range(min(a_step, out)):
        count = (out - 1 - alpha) // a_step + 1
        beta = next((b for b in range(b_step) if (s * alpha + rd * b - lo) % ld == 0), None)
        taps = 0 if beta is None or beta >= k else (k - 1 - beta) // b_step + 1
        start = 0 if taps == 0 else (s * alpha + rd * beta - lo) // ld
        phases.append(AxisPhase(alpha, a_step, count, beta or 0, b_step, taps, start,
                                s // gcd(s, ld), rd // gcd(rd, ld)))
    return phases


def lhs_phases(spec: ConvSpec):
    """Yield ``(out_index, rhs_index, sub_spec)`` for each output phase of ``spec``:
    ``out[out_index]`` is the convolution of ``lhs`` with ``rhs[rhs_index]`` under ``sub_spec``,
    which has no input dilation; ``None`` and ``None`` for a phase that no tap reaches (its
    outputs are zero)."""
    per_axis = [axis_phases(n, k, o, s, lo, ld, rd) for n, k, o, s, (lo, _), ld, rd in zip(
        spec.in_size, spec.kernel_size, spec.out_size, spec.window_strides, spec.padding,
        spec.lhs_dilation, spec.rhs_dilation)]
    for combo in np.ndindex(*map(len, per_axis)):
        phases = [per_axis[i][j] for i, j in enumerate(combo)]
        out_index = (slice(None), slice(None), *(slice(p.alpha, None, p.step) for p in phases))
        if any(p.taps == 0 for p in phases):
            yield out_index, None, None
            continue
        rhs_index = (slice(None), slice(None), *(slice(p.beta, None, p.tap_step) for p in phases))
        pads = [(-p.start, p.stride * (p.count - 1) + p.dilation * (p.taps - 1) + p.start + 1 - n)
                for p, n in zip(phases, spec.in_size)]
        sub = conv_spec(spec.lhs_shape, (*spec.rhs_shape[:2], *(p.taps for p in phases)),
                        window_strides=[p.stride for p in phases], padding=pads,
                        rhs_dilation=[p.dilation for p in phases],
                        feature_group_count=spec.feature_group_count,
                        batch_group_count=spec.batch_group_count)
        yield out_index, rhs_index, sub


def tighten(spec: ConvSpec) -> tuple[tuple[slice, ...], ConvSpec] | None:
    """The crop of the lhs to the entries some window reads, and the spec on the cropped lhs with
    only the padding some window reaches (both pads non-negative); ``None`` if every window reads
    padding only (then the result is zero). Needs ``lhs_dilation == 1``."""
    index, pads = [slice(None), slice(None)], []
    for n, k, o, s, r, (lo, _) in zip(spec.in_size, spec.kernel_size, spec.out_size,
                                      spec.window_strides, spec.rhs_dilation, spec.padding):
        first, last = -lo, s * (o - 1) + r * (k - 1) - lo  # lhs positions read, padding included
        a, b = max(first, 0), min(last, n - 1)
        if a > b:
            return None
        index.append(slice(a, b + 1))
        pads.append((a - first, last - b))
    size = tuple(sl.stop - sl.start for sl in index[2:])
    return tuple(index), replace(spec, in_size=size, padding=tuple(pads))


def dense_calls(spec: ConvSpec):
    """Yield ``(out_index, rhs_index, lhs_index, dense_spec)``: the calls without input dilation
    and with non-negative padding that make up ``spec``; ``out[out_index]`` is the result of
    ``lhs[lhs_index]`` and ``rhs[rhs_index]`` under ``dense_spec``, or zero if that is ``None``."""
    whole = (slice(None),) * (spec.ndim + 2)
    parts = lhs_phases(spec) if max(spec.lhs_dilation) > 1 else [(whole, whole, spec)]
    for out_index, rhs_index, sub in parts:
        tight = None if sub is None or spec.batch == 0 else tighten(sub)
        if tight is None:
            yield out_index, None, None, None
        else:
            yield out_index, rhs_index, tight[0], tight[1]


# --- the operator ---------------------------------------------------------------------------------


def _methods() -> dict[str, ModuleType]:
    from . import direct, fft, im2col, reference

    return {"reference": reference, "direct": direct, "im2col": im2col, "fft": fft}


def check_method(method: str) -> ModuleType:
    """The module of a method name, or ``ValueError``."""
    methods = _methods()
    if method not in methods:
        raise ValueError(f"method must be 'auto' or one of {tuple(methods)}, got {method!r}")
    return methods[method]


def conv_general(
    lhs: np.ndarray,
    rhs: np.ndarray,
    *,
    window_strides=1,
    padding=0,
    lhs_dilation=1,
    rhs_dilation=1,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    method: str = "auto",
) -> np.ndarray:
    """The general convolution (see the module docstring): ``out (N/B, F, *out)``.

    Parameters
    ----------
    lhs : array ``(N, C, *in)``
    rhs : array ``(F, C/G, *kernel)``
    window_strides, lhs_dilation, rhs_dilation : int or tuple of int
        ``s``, ``l``, ``r``: one value, or one per spatial axis.
    padding : int, tuple of int, or tuple of (lo, hi) pairs
        Applied to the dilated lhs; negative values crop.
    feature_group_count, batch_group_count : int
        ``G`` and ``B``; at most one above 1.
    method : {"auto", "reference", "direct", "im2col", "fft"}
        ``"auto"`` is ``"reference"`` for object arrays and ``"direct"`` otherwise (the layer's
        functions choose by :func:`convgrad.choice.choose_method`).

    Returns
    -------
    out : array ``(N/B, F, *out)``, in the dtype of ``lhs`` and ``rhs`` combined
    """
    lhs, rhs = as_operand(lhs, "lhs"), as_operand(rhs, "rhs")
    spec = conv_spec(lhs.shape, rhs.shape, window_strides=window_strides, padding=padding,
                     lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                     feature_group_count=feature_group_count, batch_group_count=batch_group_count)
    dtype = result_dtype(lhs, rhs)
    if method == "auto":
        method = "reference" if dtype.kind == "O" else "direct"
    impl = check_method(method)
    if method == "reference":  # the formula itself, input dilation included
        return impl.conv(lhs, rhs, spec)
    if dtype.kind != "f":
        raise TypeError(f"method {method!r} computes in floating point, got dtype {dtype}; use "
                        f"method='reference' (or 'auto') for object arrays")
    return run(impl, lhs.astype(dtype, copy=False), rhs.astype(dtype, copy=False), spec)


def run(impl: ModuleType, lhs: np.ndarray, rhs: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """``conv_general`` with one method's module: its dense calls (:func:`dense_calls`), each
    written into its output phase."""
    dtype = lhs.dtype
    calls = list(dense_calls(spec))
    if len(calls) == 1 and calls[0][1] is not None:  # one dense call: its result is the result
        _, rhs_index, lhs_index, sub = calls[0]
        return impl.conv(lhs[lhs_index], rhs[rhs_index], sub)
    out = np.zeros(spec.out_shape, dtype)
    for out_index, rhs_index, lhs_index, sub in calls:
        if sub is not None:
            out[out_index] = impl.conv(lhs[lhs_index], rhs[rhs_index], sub)
    return out
