"""The Fourier method: the three maps as products of spectra, with NumPy's real FFTs.

On a periodic grid of length ``L`` the discrete Fourier transform turns a convolution into a
product and a cross-correlation into a product with the *conjugate* spectrum (for real data)::

    corr(c, x)[o] = sum_k c[k] x[o + k]      <->   conj(C(xi)) X(xi)
    conv(a, b)[m] = sum_o a[o] b[m - o]      <->   A(xi) B(xi)

A layer is a correlation, so with hats for spectra over the spatial axes and ``W`` the kernel
dilated by ``d`` (``d - 1`` zeros between taps)::

    forward   y_hat[n, f]  = sum_c conj(w_hat[f, c]) x_hat[n, c]    then keep every s-th output
    input     x_hat_bar[n, c] = sum_f w_hat[f, c] y_hat_bar[n, f]   (y_bar spread out by s first)
    weight    w_hat_bar[f, c] = sum_n conj(y_hat_bar[n, f]) x_hat[n, c]  then keep taps d*k

per group. The adjoint of "multiply by ``conj(w_hat)``" is "multiply by ``w_hat``": that is the
whole of the input gradient. The spectra are products of length ``L`` periodic sequences, so
``L`` must be long enough that nothing wraps around into the entries that are kept: the padded
input length ``P`` is enough for all three (see :func:`fft_size`).

Stride and dilation are handled exactly but not cheaply: the stride-1 correlation is computed
and subsampled, and the dilated kernel is transformed with its zeros. The method pays off when
the kernel is large (:func:`fft_flops` against :attr:`ConvGeometry.flops`; see
:func:`convgrad.functional.choose_method`).

**Memory.** The zero-padded input, its spectrum (``N * C * prod(L[:-1]) * (L[-1]//2 + 1)``
complex numbers, about the size of the padded input in bytes), the kernel's and the output's
spectra, and one transposed copy of each spectrum for the per-frequency matrix products.
float32 is computed in complex64 (NumPy 2), float64 in complex128.
"""

from __future__ import annotations

from math import log2, prod

import numpy as np

from .arrays import crop, result_dtype, window, zero_pad
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


def _check_dtype(dtype: np.dtype) -> None:
    if dtype.kind != "f":
        raise TypeError(
            f"method 'fft' computes in floating point, got dtype {dtype}; use method='reference' "
            f"(or 'auto') for object arrays"
        )


def _spatial(nd: int) -> tuple[int, ...]:
    return tuple(range(2, 2 + nd))


def _rfft(a: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    return np.fft.rfftn(a, s=size, axes=_spatial(len(size)))


def _irfft(a: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    return np.fft.irfftn(a, s=size, axes=_spatial(len(size)))


def _dilated_kernel(w: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    """``w (F, C/G, *kernel)`` with ``d - 1`` zeros between neighbouring taps."""
    f, cg, *kernel = w.shape
    out = np.zeros((f, cg, *(d * (k - 1) + 1 for k, d in zip(kernel, dilation))), dtype=w.dtype)
    out[(slice(None), slice(None), *(slice(None, None, d) for d in dilation))] = w
    return out


def _by_frequency(a: np.ndarray, groups: int) -> np.ndarray:
    """Spectrum ``(n, G*P, *freq)`` -> ``(freq, G, n, P)`` for per-frequency matrix products."""
    n, c = a.shape[:2]
    a = a.reshape(n, groups, c // groups, -1)
    return np.ascontiguousarray(a.transpose(3, 1, 0, 2))


def _kernel_by_frequency(a: np.ndarray, groups: int) -> np.ndarray:
    """Kernel spectrum ``(G*Q, P, *freq)`` -> ``(freq, G, Q, P)``."""
    f, cg = a.shape[:2]
    a = a.reshape(groups, f // groups, cg, -1)
    return np.ascontiguousarray(a.transpose(3, 0, 1, 2))


def _from_frequency(a: np.ndarray, freq: tuple[int, ...]) -> np.ndarray:
    """``(freq, G, n, Q)`` -> ``(n, G*Q, *freq)``."""
    q, g, n, p = a.shape
    return a.transpose(2, 1, 3, 0).reshape(n, g * p, *freq)


def forward(x: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``y (N, F, *out)`` from ``x (N, C, *in)`` and ``w (F, C/G, *kernel)``, without bias."""
    dtype = result_dtype(x, w)
    _check_dtype(dtype)
    size = fft_size(geom)
    xs = _rfft(zero_pad(x.astype(dtype, copy=False), geom.padding, first_axis=2), size)
    ws = _rfft(_dilated_kernel(w.astype(dtype, copy=False), geom.dilation), size)
    freq = xs.shape[2:]
    # y_hat[f] = sum_c conj(w_hat[f, c]) x_hat[c]: (freq, G, N, C/G) @ (freq, G, C/G, F/G)
    wc = _kernel_by_frequency(ws, geom.groups).conj().swapaxes(2, 3)
    ys = np.matmul(_by_frequency(xs, geom.groups), wc)
    y = _irfft(_from_frequency(ys, freq), size)
    keep = window((0,) * geom.ndim, geom.out_size, geom.stride)
    return y[(slice(None), slice(None), *keep)].astype(dtype, copy=False)


def _spread(dy: np.ndarray, geom: ConvGeometry, dtype) -> np.ndarray:
    """``y_bar (N, F, *out)`` placed at the stride-``s`` positions of a zero array of the padded size."""
    out = np.zeros((*dy.shape[:2], *geom.padded_size), dtype=dtype)
    out[(slice(None), slice(None), *window((0,) * geom.ndim, geom.out_size, geom.stride))] = dy
    return out


def _grad_input_from(ys: np.ndarray, w: np.ndarray, geom: ConvGeometry, size, dtype) -> np.ndarray:
    ws = _rfft(_dilated_kernel(w.astype(dtype, copy=False), geom.dilation), size)
    # x_hat_bar[c] = sum_f w_hat[f, c] y_hat_bar[f]: (freq, G, N, F/G) @ (freq, G, F/G, C/G)
    xs = np.matmul(_by_frequency(ys, geom.groups), _kernel_by_frequency(ws, geom.groups))
    x_pad = _irfft(_from_frequency(xs, ys.shape[2:]), size)
    x_pad = x_pad[(slice(None), slice(None), *(slice(0, p) for p in geom.padded_size))]
    return crop(x_pad, geom.padding, first_axis=2).astype(dtype, copy=False)


def _grad_weight_from(ys: np.ndarray, x: np.ndarray, geom: ConvGeometry, size, dtype) -> np.ndarray:
    xs = _rfft(zero_pad(x.astype(dtype, copy=False), geom.padding, first_axis=2), size)
    g = geom.groups
    # w_hat_bar[f, c] = sum_n conj(y_hat_bar[n, f]) x_hat[n, c]:
    # (freq, G, F/G, N) @ (freq, G, N, C/G) -> (freq, G, F/G, C/G)
    ws = np.matmul(_by_frequency(ys, g).conj().swapaxes(2, 3), _by_frequency(xs, g))
    _, _, fg, cg = ws.shape
    wfull = _irfft(ws.transpose(1, 2, 3, 0).reshape(g * fg, cg, *xs.shape[2:]), size)
    taps = tuple(slice(0, d * (k - 1) + 1, d) for k, d in zip(geom.kernel_size, geom.dilation))
    return np.ascontiguousarray(wfull[(slice(None), slice(None), *taps)], dtype=dtype)


def grad_input(dy: np.ndarray, w: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``x_bar (N, C, *in)`` from ``y_bar (N, F, *out)``."""
    dtype = result_dtype(dy, w)
    _check_dtype(dtype)
    size = fft_size(geom)
    return _grad_input_from(_rfft(_spread(dy, geom, dtype), size), w, geom, size, dtype)


def grad_weight(dy: np.ndarray, x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """``w_bar (F, C/G, *kernel)`` from ``y_bar (N, F, *out)`` and ``x (N, C, *in)``."""
    dtype = result_dtype(dy, x)
    _check_dtype(dtype)
    size = fft_size(geom)
    return _grad_weight_from(_rfft(_spread(dy, geom, dtype), size), x, geom, size, dtype)


def backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, geom: ConvGeometry):
    """``(x_bar, w_bar)`` together, transforming ``y_bar`` once."""
    dtype = result_dtype(dy, x, w)
    _check_dtype(dtype)
    size = fft_size(geom)
    ys = _rfft(_spread(dy, geom, dtype), size)
    return _grad_input_from(ys, w, geom, size, dtype), _grad_weight_from(ys, x, geom, size, dtype)
