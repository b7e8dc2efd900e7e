"""Two checks for gradients: the dot-product (adjoint) test and central finite differences.

For a linear map ``A`` the dot-product test is exact up to rounding: ``<A u, v> = <u, A^T v>``
for every ``u`` and ``v``, so one pair of random vectors catches any wrong term. For a map that
is not linear, finite differences compare a gradient with the slope of ``<y_bar, f(x)>``; they
carry truncation and rounding error and are trustworthy only in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _random(rng: np.random.Generator, shape: Sequence[int], dtype) -> np.ndarray:
    return rng.standard_normal(tuple(shape)).astype(dtype)


def adjoint_test(
    forward: Callable[[np.ndarray], np.ndarray],
    adjoint: Callable[[np.ndarray], np.ndarray],
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    *,
    seed: int = 0,
    dtype: type = np.float64,
    rtol: float | None = None,
) -> float:
    """Dot-product test of a linear map and its claimed adjoint.

    Draws standard normal ``u`` of ``in_shape`` and ``v`` of ``out_shape`` and compares
    ``<forward(u), v>`` with ``<u, adjoint(v)>``.

    Parameters
    ----------
    forward : callable, array of ``in_shape`` -> array of ``out_shape``
    adjoint : callable, array of ``out_shape`` -> array of ``in_shape``
    in_shape, out_shape : tuple of int
    seed : int
        Seed of the random vectors.
    dtype : NumPy dtype
        dtype of the random vectors (float64 unless float32 is what is being tested).
    rtol : float, optional
        If given, raise ``AssertionError`` when the error exceeds it.

    Returns
    -------
    error : float
        ``|<A u, v> - <u, A^T v>| / (|A u| |v| + |u| |A^T v|)``. Both pairings are bounded by
        their denominators' terms (Cauchy-Schwarz), and rounding in a dot product is of the order
        ``eps`` times those bounds, so a correct pair gives a few ``eps`` (about 1e-16 in float64)
        and a wrong term gives a number of order one over the square root of the size.
    """
    rng = np.random.default_rng(seed)
    u, v = _random(rng, in_shape, dtype), _random(rng, out_shape, dtype)
    au = np.asarray(forward(u))
    if au.shape != tuple(out_shape):
        raise ValueError(f"forward returned shape {au.shape}, expected out_shape {tuple(out_shape)}")
    atv = np.asarray(adjoint(v))
    if atv.shape != tuple(in_shape):
        raise ValueError(f"adjoint returned shape {atv.shape}, expected in_shape {tuple(in_shape)}")
    lhs = float(np.vdot(au, v))
    rhs = float(np.vdot(u, atv))
    scale = np.linalg.norm(au) * np.linalg.norm(v) + np.linalg.norm(u) * np.linalg.norm(atv)
    error = abs(lhs - rhs) / scale if scale > 0 else abs(lhs - rhs)
    if rtol is not None and not error <= rtol:
        raise AssertionError(
            f"adjoint test failed: <A u, v> = {lhs!r}, <u, A^T v> = {rhs!r}, "
            f"error {error:.3e} > rtol {rtol:.1e}"
        )
    return float(error)


def gradcheck(
    f: Callable[..., np.ndarray],
    grad_f: Callable[..., Sequence[np.ndarray | None]],
    args: Sequence[np.ndarray],
    *,
    cotangent: np.ndarray | None = None,
    eps: float = 1e-6,
    max_entries: int | None = None,
    seed: int = 0,
    rtol: float | None = None,
) -> float:
    """Compare analytic gradients with central finite differences of ``L = <y_bar, f(*args)>``.

    Parameters
    ----------
    f : callable
        ``f(*args) -> y``.
    grad_f : callable
        ``grad_f(y_bar, *args) -> (arg0_bar, arg1_bar, ...)``, one entry per argument, ``None``
        for an argument that is not checked.
    args : sequence of float64 arrays
        The point at which to check. Not modified.
    cotangent : array, optional
        ``y_bar``; standard normal (from ``seed``) if not given.
    eps : float
        Step of the central difference ``(L(a + eps e_i) - L(a - eps e_i)) / (2 eps)``.
    max_entries : int, optional
        Check at most this many randomly chosen entries per argument (all if ``None``).
    seed : int
    rtol : float, optional
        If given, raise ``AssertionError`` when the error exceeds it.

    Returns
    -------
    error : float
        Over the checked arguments, the largest ``max_i |numeric_i - analytic_i|`` divided by
        ``max(max_i |numeric_i|, max_i |analytic_i|)`` (the entries checked). A correct gradient
        gives about 1e-9 or less with the default ``eps`` in float64.

    Raises
    ------
    TypeError
        If an argument is not float64: in float32 the rounding error of ``L`` divided by
        ``2 eps`` swamps the derivative, and the check says nothing.
    """
    args = [np.array(a, copy=True) for a in args]
    for i, a in enumerate(args):
        if a.dtype != np.float64:
            raise TypeError(
                f"gradcheck needs float64 arguments (finite differences in lower precision are "
                f"dominated by rounding); argument {i} has dtype {a.dtype}"
            )
    rng = np.random.default_rng(seed)
    y = np.asarray(f(*args))
    ybar = _random(rng, y.shape, np.float64) if cotangent is None else np.asarray(cotangent)
    if ybar.shape != y.shape:
        raise ValueError(f"cotangent has shape {ybar.shape}, f returns shape {y.shape}")
    analytic = list(grad_f(ybar, *args))
    if len(analytic) != len(args):
        raise ValueError(f"grad_f returned {len(analytic)} gradients for {len(args)} arguments")

    def loss() -> float:
        return float(np.vdot(ybar, f(*args)))

    worst = 0.0
    for i, (a, g) in enumerate(zip(args, analytic)):
        if g is None:
            continue
        g = np.asarray(g)
        if g.shape != a.shape:
            raise ValueError(f"gradient {i} has shape {g.shape}, argument {i} has shape {a.shape}")
        flat = a.reshape(-1)  # a view: perturbing it perturbs args[i]
        idx = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            idx = rng.choice(flat.size, size=max_entries, replace=False)
        numeric = np.empty(idx.size)
        for j, e in enumerate(idx):
            orig = flat[e]
            flat[e] = orig + eps
            up = loss()
            flat[e] = orig - eps
            down = loss()
            flat[e] = orig
            numeric[j] = (up - down) / (2 * eps)
        ana = g.reshape(-1)[idx]
        scale = max(np.abs(numeric).max(initial=0.0), np.abs(ana).max(initial=0.0))
        err = np.abs(numeric - ana).max(initial=0.0) / scale if scale > 0 else 0.0
        worst = max(worst, float(err))
    if rtol is not None and not worst <= rtol:
        raise AssertionError(f"gradient check failed: error {worst:.3e} > rtol {rtol:.1e}")
    return worst
