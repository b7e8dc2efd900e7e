"""The two gradients of a convolution, each taken as a forward map and differentiated again.

The double backward of a layer differentiates its backward pass: the input gradient
``x_bar = conv_grad_input(y_bar, w)`` as a function of ``(y_bar, w)`` and the weight gradient
``w_bar = conv_grad_weight(y_bar, x)`` as a function of ``(y_bar, x)``. Each is bilinear, so the
book's method applies unchanged: tangent, pairing with a cotangent (``u`` of ``x``'s shape,
``V`` of ``w``'s shape), read-off. One spatial axis, batch and channels, with the stride ``s``,
the dilation ``d`` and the low padding ``p_lo`` symbolic::

    x_bar[n, c, m] = sum_{f, o, k} y_bar[n, f, o] w[f, c, k] [m = i]
    w_bar[f, c, k] = sum_{n, o} y_bar[n, f, o] x[n, c, i] [0 <= i < M]
    with i = s*o + d*k - p_lo

for ``0 <= m < M`` (the input's length) and ``o < O``, ``k < K``. The read-offs come out as the
layer's three maps with the cotangent in an operand's place: ``conv(u, w)`` and
``conv_grad_weight(y_bar, u)`` from the first, ``conv(x, V)`` and ``conv_grad_input(y_bar, V)``
from the second.

Needs SymPy.
"""

from __future__ import annotations

import sympy as sp

from .brackets import Iverson, between
from .readoff import Derivation, Read, derive

__all__ = ["grad_input_map_derivation", "grad_weight_map_derivation"]


def _common() -> dict:
    n, c, f, o, k, m = sp.symbols("n c f o k m", integer=True)
    N, C, F, O, K, M = sp.symbols("N C F O K M", integer=True, positive=True)  # noqa: N806
    s, d = sp.symbols("s d", integer=True, positive=True)
    p_lo = sp.Symbol("p_lo", integer=True, nonnegative=True)
    ybar, x, w = sp.IndexedBase(r"\bar{y}"), sp.IndexedBase("x"), sp.IndexedBase("w")
    return dict(n=n, c=c, f=f, o=o, k=k, m=m, N=N, C=C, F=F, O=O, K=K, M=M, s=s, d=d, p_lo=p_lo,
                ybar=ybar, x=x, w=w)


def grad_input_map_derivation() -> Derivation:
    """``x_bar = conv_grad_input(y_bar, w)`` as a forward map of ``(y_bar, w)``, differentiated.

    Forward: ``x_bar[n, c, m] = sum_{f, o, k} y_bar[n, f, o] w[f, c, k] [m = s*o + d*k - p_lo]``
    (every output scatters its share back to the input cells its window read; cells in the
    padding are cut off by ``0 <= m < M``). Paired with the cotangent ``u`` of ``x``'s shape, the
    adjoints come out as::

        y_bar_bar[n, f, o] = sum_{c, k} w[f, c, k] u[n, c, i] [0 <= i < M]
        w_bar[f, c, k]     = sum_{n, o} y_bar[n, f, o] u[n, c, i] [0 <= i < M]
        with i = s*o + d*k - p_lo

    that is ``conv(u, w)`` (``u`` read as zero outside ``0 <= m < M``: the forward's padding) and
    ``conv_grad_weight(y_bar, u)``. Adjoint names: ``"ybar"`` (written ``\\bar{\\bar{y}}``) and
    ``"w"``. Arrays: ``ybar (N, F, O)``, ``w (F, C, K)``, ``u`` and ``xbar (N, C, M)``.
    """
    S = _common()
    n, c, f, o, k, m = (S[i] for i in "ncfokm")
    N, C, F, O, K, M = (S[i] for i in "NCFOKM")  # noqa: N806
    ybar, w = S["ybar"], S["w"]
    xbar, u = sp.IndexedBase(r"\bar{x}"), sp.IndexedBase("u")
    ybar_dot, w_dot, xbar_dot = (sp.IndexedBase(r"\dot{\bar{y}}"), sp.IndexedBase(r"\dot{w}"),
                                 sp.IndexedBase(r"\dot{\bar{x}}"))
    i = S["s"] * o + S["d"] * k - S["p_lo"]
    forward = sp.Sum(ybar[n, f, o] * w[f, c, k] * Iverson(sp.Eq(m, i)),
                     (f, 0, F - 1), (o, 0, O - 1), (k, 0, K - 1))
    return derive(deltas=True,
        output=xbar[n, c, m], forward=forward, tangents={ybar: ybar_dot, w: w_dot},
        output_dot=xbar_dot, cotangent=u, ranges=[(n, 0, N - 1), (c, 0, C - 1), (m, 0, M - 1)],
        reads={"ybar": Read(ybar[n, f, o], {n: (0, N - 1), f: (0, F - 1), o: (0, O - 1)},
                            eliminate=[m], adjoint=sp.IndexedBase(r"\bar{\bar{y}}")),
               "w": Read(w[f, c, k], {f: (0, F - 1), c: (0, C - 1), k: (0, K - 1)}, eliminate=[m])},
        symbols={**S, "xbar": xbar, "u": u, "ybar_dot": ybar_dot, "w_dot": w_dot},
        shapes={ybar: (N, F, O), w: (F, C, K), xbar: (N, C, M), u: (N, C, M)},
    )


def grad_weight_map_derivation() -> Derivation:
    """``w_bar = conv_grad_weight(y_bar, x)`` as a forward map of ``(y_bar, x)``, differentiated.

    Forward: ``w_bar[f, c, k] = sum_{n, o} y_bar[n, f, o] x[n, c, s*o + d*k - p_lo]
    [0 <= s*o + d*k - p_lo <= M - 1]`` (``y_bar`` slides over the zero-padded ``x``). Paired with
    the cotangent ``V`` of ``w``'s shape, the adjoints come out as::

        y_bar_bar[n, f, o] = sum_{c, k} V[f, c, k] x[n, c, i] [0 <= i < M]
        x_bar[n, c, m]     = sum_{f, o} y_bar[n, f, o] V[f, c, j/d]
                             [d | j] [0 <= j/d <= K - 1]
        with i = s*o + d*k - p_lo, j = m + p_lo - s*o

    that is ``conv(x, V)`` and ``conv_grad_input(y_bar, V)``. Adjoint names: ``"ybar"``
    (``\\bar{\\bar{y}}``) and ``"x"``. Arrays: ``ybar (N, F, O)``, ``x (N, C, M)``, ``V`` and
    ``wbar (F, C, K)``.
    """
    S = _common()
    n, c, f, o, k, m = (S[i] for i in "ncfokm")
    N, C, F, O, K, M = (S[i] for i in "NCFOKM")  # noqa: N806
    ybar, x = S["ybar"], S["x"]
    wbar, V = sp.IndexedBase(r"\bar{w}"), sp.IndexedBase("V")  # noqa: N806
    ybar_dot, x_dot, wbar_dot = (sp.IndexedBase(r"\dot{\bar{y}}"), sp.IndexedBase(r"\dot{x}"),
                                 sp.IndexedBase(r"\dot{\bar{w}}"))
    i = S["s"] * o + S["d"] * k - S["p_lo"]
    forward = sp.Sum(ybar[n, f, o] * x[n, c, i] * between(0, i, M - 1), (n, 0, N - 1), (o, 0, O - 1))
    return derive(
        output=wbar[f, c, k], forward=forward, tangents={ybar: ybar_dot, x: x_dot},
        output_dot=wbar_dot, cotangent=V, ranges=[(f, 0, F - 1), (c, 0, C - 1), (k, 0, K - 1)],
        reads={"ybar": Read(ybar[n, f, o], {n: (0, N - 1), f: (0, F - 1), o: (0, O - 1)},
                            adjoint=sp.IndexedBase(r"\bar{\bar{y}}")),
               "x": Read(x[n, c, m], {n: (0, N - 1), c: (0, C - 1), m: (0, M - 1)}, eliminate=[k])},
        symbols={**S, "wbar": wbar, "V": V, "ybar_dot": ybar_dot, "x_dot": x_dot},
        shapes={ybar: (N, F, O), x: (N, C, M), wbar: (F, C, K), V: (F, C, K)},
    )
