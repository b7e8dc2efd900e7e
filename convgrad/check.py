"""Two checks for gradients: the dot-product (adjoint) test and central finite differences.

For a linear map ``A`` the dot-product test is exact up to rounding: ``<A u, v> = <u, A^T v>``
for every ``u`` and ``v``, so one pair of random vectors catches any wrong term. For a map that
is not linear, finite differences compare a gradient with the slope of ``<y_bar, f(x)>``; they
carry truncation and rounding error and are trustworthy only in float64.

======================  ===================================================================
``adjoint_test``        the dot-product test of a linear map and its claimed adjoint
``gradcheck``           central differences against an analytic gradient, float64 only
``numeric_gradient``    the whole central-difference gradient of a scalar loss
``central_difference``  one directional central difference, in the input's dtype
``step_sweep``          its relative error over a range of steps (truncation vs rounding)
``taylor_test``         Taylor remainders and their observed order (2 if right, 1 if wrong)
``verify_layer``        all three checks of one layer configuration in one call
``diagnose``            check *your own* conv backward on a ladder of cases and name the
                        mistake (:mod:`convgrad.diagnose`)
======================  ===================================================================
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .diagnose import diagnose as diagnose  # re-exported: convgrad.check.diagnose
from .functional import conv, conv_grad_input, conv_grad_weight


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


# --- step sizes and convergence orders ------------------------------------------------------------


def _unit_direction(x: np.ndarray, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(x.shape)
    return (v / np.linalg.norm(v)).astype(x.dtype)


def central_difference(
    loss: Callable[[np.ndarray], float], x: np.ndarray, v: np.ndarray, eps: float
) -> float:
    """``(L(x + eps v) - L(x - eps v)) / (2 eps)``, the slope of ``L`` along ``v``, in ``x``'s dtype.

    Nothing is converted: with a float32 ``x`` the perturbed points, the loss values and their
    difference are all float32, which is what a float32 gradient check computes.
    """
    step = np.asarray(eps, dtype=x.dtype)
    up, down = loss(x + step * v), loss(x - step * v)
    return float((np.asarray(up, dtype=x.dtype) - np.asarray(down, dtype=x.dtype)) / (2 * step))


def step_sweep(
    loss: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    steps: Sequence[float],
    *,
    seed: int = 0,
) -> np.ndarray:
    """Relative error of the central difference along one random direction, for each step.

    Parameters
    ----------
    loss : callable, ``x -> L`` (scalar)
    grad : callable, ``x -> dL/dx``; best computed in float64, as the reference
    x : array, float32 or float64
        The point; its dtype is the precision of the finite differences.
    steps : sequence of float
    seed : int
        Seed of the unit direction ``v``.

    Returns
    -------
    errors : array, one per step
        ``|D_h - <g, v>| / |<g, v>|`` with ``D_h`` the :func:`central_difference` of step ``h``
        and ``g = grad(x)``. It falls like ``h**2`` (truncation) while ``h`` is large and rises
        like ``eps_machine / h`` (rounding) once ``h`` is small: a V on log-log axes.
    """
    v = _unit_direction(x, seed)
    slope = float(np.vdot(np.asarray(grad(x), dtype=np.float64), v.astype(np.float64)))
    return np.array([abs(central_difference(loss, x, v, h) - slope) / abs(slope) for h in steps])


def taylor_test(
    loss: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    steps: Sequence[float],
    *,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Taylor remainders ``r(h) = |L(x + h v) - L(x) - h <g, v>|`` and their observed orders.

    If ``g`` is the gradient, ``r(h)`` shrinks like ``h**2``; if it is not, like ``h`` (the wrong
    part of the slope is left over). The test needs no tolerance, only the slope on log-log
    axes: ``order_i = log(r_i / r_{i+1}) / log(h_i / h_{i+1})`` is close to 2 or close to 1.
    Use steps large enough for ``r(h)`` to stay above rounding (about ``eps_machine * |L|``).

    Returns
    -------
    remainders : array, one per step
    orders : array, one fewer
    """
    x = np.asarray(x, dtype=np.float64)
    v = _unit_direction(x, seed)
    slope = float(np.vdot(grad(x), v))
    base = float(loss(x))
    steps = np.asarray(steps, dtype=np.float64)
    r = np.array([abs(float(loss(x + h * v)) - base - h * slope) for h in steps])
    orders = np.log(r[:-1] / r[1:]) / np.log(steps[:-1] / steps[1:])
    return r, orders


def numeric_gradient(loss: Callable[[np.ndarray], float], x: np.ndarray, *, eps: float = 1e-6) -> np.ndarray:
    """The central-difference gradient of a scalar ``loss`` at ``x``, one entry at a time.

    ``g[i] = (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)``, ``2 * x.size`` evaluations of ``loss``,
    in ``x``'s dtype. :func:`gradcheck` compares such entries with an analytic gradient; this
    returns them all, e.g. to look at the entrywise errors.
    """
    x = np.array(x, copy=True)
    flat = x.reshape(-1)
    g = np.empty(flat.size)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        up = float(loss(x))
        flat[i] = orig - eps
        down = float(loss(x))
        flat[i] = orig
        g[i] = (up - down) / (2 * eps)
    return g.reshape(x.shape)


# --- one layer configuration, all three checks ----------------------------------------------------

#: Tolerances of :func:`verify_layer`: a correct adjoint gives a few float64 epsilons (about 1e-16),
#: a correct gradient a finite-difference error of about 1e-10 with the default step.
ADJOINT_RTOL = 1e-13
FINITE_DIFFERENCE_RTOL = 1e-7
#: The tolerance the book uses for ``max|a - b| / max|b|`` of a float32 result ``a`` against the
#: float64 result ``b`` of the same layer, for layers the size of small image networks (sums of
#: 27 to 8192 products): float32 rounding measures 1e-7 to 7e-7 there (at most 0.4 eps32 sqrt(n)
#: for n products per sum), every wrong recipe of :mod:`convgrad.pitfalls` 0.49 or more. For much
#: longer sums use a few ``eps32 * sqrt(n)``. Measured in the book's gradient-checking chapter.
FLOAT32_RTOL = 1e-5
#: The widest line ``str(LayerCheck)`` prints: the book's code column at a 1280-px window.
LINE_WIDTH = 76


def _tolerance(t: float) -> str:
    return f"{t:.0e}".replace("e-0", "e-")


@dataclass(frozen=True)
class LayerCheck:
    """The three errors of :func:`verify_layer` for one layer configuration.

    Attributes
    ----------
    x_shape, w_shape, y_shape : tuple of int
    options : dict
        The keyword arguments of ``conv`` (stride, padding, ...), as given.
    adjoint_x, adjoint_w : float
        Relative errors of the dot-product tests of ``x -> conv(x, w)`` against the input gradient
        and of ``w -> conv(x, w)`` against the weight gradient (:func:`adjoint_test`).
    finite_differences : float
        Relative error of the analytic gradients of ``<y_bar, conv(x, w)>`` against central
        differences (:func:`gradcheck`), both arguments.
    ok : bool
        ``adjoint_x`` and ``adjoint_w`` at most ``ADJOINT_RTOL`` (1e-13) and
        ``finite_differences`` at most ``FINITE_DIFFERENCE_RTOL`` (1e-7).

    ``str()`` (and a notebook cell's display) is one line that names the configuration and states
    the tolerances, not the errors, which depend on the BLAS kernel in their last digits; or it
    names the failed checks with their errors.
    """

    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    y_shape: tuple[int, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    adjoint_x: float = 0.0
    adjoint_w: float = 0.0
    finite_differences: float = 0.0

    @property
    def ok(self) -> bool:
        return (self.adjoint_x <= ADJOINT_RTOL and self.adjoint_w <= ADJOINT_RTOL
                and self.finite_differences <= FINITE_DIFFERENCE_RTOL)

    def __str__(self) -> str:
        head = ", ".join(f"{k}={v!r}" for k, v in self.options.items()) or "no options"
        if self.ok:
            verdict = (f"adjoint tests < {_tolerance(ADJOINT_RTOL)}, finite differences "
                       f"< {_tolerance(FINITE_DIFFERENCE_RTOL)}")
        else:
            verdict = "FAILED " + ", ".join(f"{name} {err:.1e} > {_tolerance(tol)}" for name, err, tol in (
                ("adjoint test in x", self.adjoint_x, ADJOINT_RTOL),
                ("adjoint test in w", self.adjoint_w, ADJOINT_RTOL),
                ("finite differences", self.finite_differences, FINITE_DIFFERENCE_RTOL))
                if not err <= tol)
        line = f"{head}: {verdict}"
        if len(line) <= LINE_WIDTH:
            return line
        # too wide for the book's column: the configuration, then the verdict below it
        return "\n".join([*textwrap.wrap(head + ":", LINE_WIDTH, break_on_hyphens=False),
                          *textwrap.wrap(verdict, LINE_WIDTH, initial_indent="  ",
                                         subsequent_indent="  ", break_on_hyphens=False)])

    def _repr_pretty_(self, printer, cycle) -> None:  # a notebook cell's value shows the line
        printer.text(str(self))


def verify_layer(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    *,
    grad_input: Callable[..., np.ndarray] | None = None,
    grad_weight: Callable[..., np.ndarray] | None = None,
    seed: int = 0,
    max_entries: int | None = 25,
    **options: Any,
) -> LayerCheck:
    """The dot-product tests in ``x`` and in ``w`` and finite differences, for one layer.

    Draws a standard normal float64 input ``x`` of ``x_shape`` and weight ``w`` of ``w_shape``
    (from ``seed``) and runs

    1. :func:`adjoint_test` of ``u -> conv(u, w, **options)`` against ``grad_input``;
    2. :func:`adjoint_test` of ``v -> conv(x, v, **options)`` against ``grad_weight``;
    3. :func:`gradcheck` of ``L = <y_bar, conv(x, w, **options)>`` against both gradients, at
       ``max_entries`` random entries per argument.

    Parameters
    ----------
    x_shape : tuple of int, ``(N, C, *in)`` (or ``(N, *in, C)`` with ``layout="channels_last"``)
    w_shape : tuple of int, ``(F, C/G, *kernel)`` (or ``(F, *kernel, C/G)``)
    grad_input : callable, optional
        ``grad_input(dy, w, x_shape, **options) -> dx``, the input gradient under test;
        :func:`convgrad.conv_grad_input` by default.
    grad_weight : callable, optional
        ``grad_weight(dy, x, w_shape, **options) -> dw``; :func:`convgrad.conv_grad_weight` by
        default.
    seed : int
        Seed of ``x``, ``w`` and of the checks' random vectors.
    max_entries : int, optional
        Entries per argument checked by finite differences (all if ``None``).
    **options
        Keyword arguments of :func:`convgrad.conv`: ``stride``, ``padding``, ``dilation``,
        ``groups``, ``layout``.

    Returns
    -------
    LayerCheck
        The three errors; ``result.ok`` is true when both adjoint tests are within 1e-13
        (relative, float64: a correct pair gives about 1e-16) and the finite differences within
        1e-7 (a correct gradient gives about 1e-10). Use as ``assert result.ok, result``.

    Examples
    --------
    >>> r = verify_layer((2, 3, 9, 9), (4, 3, 3, 3), stride=2, padding=1)
    >>> r.ok
    True
    >>> print(r)
    stride=2, padding=1: adjoint tests < 1e-13, finite differences < 1e-7
    >>> r.y_shape
    (2, 4, 5, 5)
    """
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    gi = grad_input or conv_grad_input
    gw = grad_weight or conv_grad_weight
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    y_shape = conv(x, w, **options).shape
    err_x = adjoint_test(lambda u: conv(u, w, **options), lambda g: gi(g, w, x_shape, **options),
                         x_shape, y_shape, seed=seed + 1)
    err_w = adjoint_test(lambda v: conv(x, v, **options), lambda g: gw(g, x, w_shape, **options),
                         w_shape, y_shape, seed=seed + 2)
    err_fd = gradcheck(lambda a, b: conv(a, b, **options),
                       lambda g, a, b: (gi(g, b, a.shape, **options), gw(g, a, b.shape, **options)),
                       (x, w), max_entries=max_entries, seed=seed + 3)
    return LayerCheck(x_shape, w_shape, tuple(y_shape), dict(options), err_x, err_w, err_fd)
