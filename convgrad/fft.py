"""The Fourier method: the general convolution as products of spectra, with NumPy's real FFTs.

On a periodic grid of length ``L`` the discrete Fourier transform turns a convolution into a
product and a cross-correlation into a product with the *conjugate* spectrum (for real data)::

    corr(c, x)[o] = sum_k c[k] x[o + k]      <->   conj(C(xi)) X(xi)
    conv(a, b)[m] = sum_o a[o] b[m - o]      <->   A(xi) B(xi)

The general convolution (without input dilation, :mod:`convgrad.general`) is a correlation, so
with hats for spectra over the spatial axes and the kernel dilated by ``r`` (``r - 1`` zeros
between taps), per group::

    out_hat[m, f] = sum_c conj(rhs_hat[f, c]) lhs_hat[m, c]
    out = every s-th entry of the inverse transform of out_hat

A layer's three maps are three such calls (:mod:`convgrad.rules`): in the input gradient the lhs
is ``dy`` (one call per output phase when the layer has a stride, :func:`convgrad.general.lhs_phases`)
and the rhs the flipped kernel; in the weight gradient the lhs is the input with batch and
channels swapped and the rhs ``dy``, dilated by the layer's stride, with per frequency the
product ``sum_n conj(dy_hat[n, f]) x_hat[n, c]``. The spectra are products of length ``L``
periodic sequences, so ``L`` must be long enough that nothing wraps around into the entries that
are kept: the padded lhs length ``P`` is enough (see :func:`fft_size` for a layer's forward map).

Stride and dilation are handled exactly but not cheaply: the stride-1 correlation is computed
and subsampled, and the dilated kernel is transformed with its zeros. The method pays off when
the kernel is large (:func:`fft_flops` against :attr:`ConvGeometry.flops`; see
:func:`convgrad.choice.choose_method`).

**Memory.** The zero-padded lhs, its spectrum (``N * C * prod(L[:-1]) * (L[-1]//2 + 1)``
complex numbers, about the size of the padded lhs in bytes), the kernel's and the output's
spectra, and one transposed copy of each spectrum for the per-frequency matrix products.
float32 is computed in complex64 (NumPy 2), float64 in complex128.
"""

from __future__ import annotations

from math import log2, prod

import numpy as np

from .arrays import window, zero_pad
from .geometry import ConvGeometry


def next_fast_len(n: int) -> int:
    """The smallest ``m >= n`` whose only prime factors are 2, 3 and 5 (fast for FFTs)."""
    m = max(int(n), 1)
    while True:
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def fft_size(geom: ConvGeometry) -> tuple[int, ...]:
    """The periodic grid: per axis the first fast length at least the padded input length ``P``.

    No kept entry wraps around: an output ``o`` reads ``x_pad[s*o + d*k] <= P - 1``; the input
    gradient is a full convolution of length ``s*(out-1) + d*(k-1) + 1 <= P``; a weight-gradient
    tap reads ``x_pad[s*o + d*k] <= P - 1`` again.
    """
    return tuple(next_fast_len(p) for p in geom.padded_size)


def fft_flops(geom: ConvGeometry) -> tuple[float, float]:
    """A deterministic count of the real floating-point operations of one map by FFT.

    Returns ``(transforms, products)``. Each of the three maps transforms two arrays and
    transforms one back: among the ``N*C`` input channels, the ``F*C/G`` kernels and the ``N*F``
    output channels, each once, at ``2.5 * L * log2(L)`` operations per real transform of
    ``L = prod(fft_size)`` points (half of a complex FFT's ``5 L log2 L``). The spectral products
    are ``8`` real operations per complex multiply-add, at ``N * F * C/G`` pairs times
    ``prod(L[:-1]) * (L[-1]//2 + 1)`` frequencies. Compare with :attr:`ConvGeometry.flops`, the
    direct sum's count, which is also the same for all three maps.
    """
    n = 1 if geom.batch is None else geom.batch
    size = fft_size(geom)
    length = prod(size)
    half = prod(size[:-1]) * (size[-1] // 2 + 1)
    cg = geom.in_channels // geom.groups
    count = n * geom.in_channels + geom.out_channels * cg + n * geom.out_channels
    return 2.5 * length * log2(max(length, 2)) * count, 8.0 * n * geom.out_channels * cg * half


def _spatial(nd: int) -> tuple[int, ...]:
    return tuple(range(2, 2 + nd))


def _dilated_kernel(w: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    """``w (F, C/G, *kernel)`` with ``d - 1`` zeros between neighbouring taps."""
    f, cg, *kernel = w.shape
    out = np.zeros((f, cg, *(d * (k - 1) + 1 for k, d in zip(kernel, dilation))), dtype=w.dtype)
    out[(slice(None), slice(None), *(slice(None, None, d) for d in dilation))] = w
    return out


def _by_frequency(a: np.ndarray, blocks: int, batch_blocks: bool) -> np.ndarray:
    """Spectrum ``(M, P, *freq)`` -> ``(freq, G, M/G, P)`` (batch blocks) or
    ``(freq, G, M, P/G)`` (channel blocks), C-contiguous for per-frequency matrix products."""
    m, p = a.shape[:2]
    if batch_blocks:
        a = a.reshape(blocks, m // blocks, p, -1).transpose(3, 0, 1, 2)
    else:
        a = a.reshape(m, blocks, p // blocks, -1).transpose(3, 1, 0, 2)
    return np.ascontiguousarray(a)


def conv(lhs: np.ndarray, rhs: np.ndarray, spec) -> np.ndarray:
    """``out (N/B, F, *out)`` of the general convolution without input dilation, non-negative
    padding (:func:`convgrad.general.conv_general` prepares that): per frequency and group,
    ``out_hat[m, f] = sum_c conj(rhs_hat[f, c]) lhs_hat[m, c]``, then every ``s``-th entry."""
    dtype = lhs.dtype
    size = tuple(next_fast_len(n + lo + hi) for n, (lo, hi) in zip(spec.in_size, spec.padding))
    axes = _spatial(spec.ndim)
    xs = np.fft.rfftn(zero_pad(lhs, spec.padding, first_axis=2), s=size, axes=axes)
    ws = np.fft.rfftn(_dilated_kernel(rhs, spec.rhs_dilation), s=size, axes=axes)
    freq = xs.shape[2:]
    b, g = spec.batch_group_count, spec.feature_group_count
    x_f = _by_frequency(xs, b, True) if b > 1 else _by_frequency(xs, g, False)  # (fr, G, M, P)
    w_f = _by_frequency(ws, b * g, True).conj()  # (fr, G, F/G, P)
    ys = np.matmul(x_f, w_f.swapaxes(2, 3))  # (fr, G, M, F/G)
    fr, groups, m, q = ys.shape
    y = np.fft.irfftn(ys.transpose(2, 1, 3, 0).reshape(m, groups * q, *freq), s=size, axes=axes)
    keep = window((0,) * spec.ndim, spec.out_size, spec.stride)
    return y[(slice(None), slice(None), *keep)].astype(dtype, copy=False)
