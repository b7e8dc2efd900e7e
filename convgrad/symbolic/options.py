"""Derivations of the layer's options: zero padding, stride, dilation, groups, for general sizes.

With padding, stride and dilation the input is read at the index map ``s*o + d*k - p_lo`` and as
zero outside ``0 <= m < M``::

    z_o = sum_{k < K} c_k x_i [0 <= i <= M - 1],   i = s*o + d*k - p_lo,   o < O.

Reading the adjoint in ``x`` off the pairing leaves the delta ``delta(m, s*o + d*k - p_lo)``.
Solved for ``k`` it gives ``k = (m + p_lo - s*o)/d``, an index only when ``d`` divides
``m + p_lo - s*o``; :func:`convgrad.symbolic.deltas.sum_deltas` keeps that condition as the
bracket ``[d | m + p_lo - s*o]`` and drops the padding bracket ``[0 <= m <= M - 1]``, which the
range of ``m`` implies. The two elimination orders give the two readings of the input gradient:

* sum over ``k`` first: ``x_bar_m = sum_o z_bar_o c_{(m+p_lo-s*o)/d} [d | m+p_lo-s*o]
  [0 <= m+p_lo-s*o <= d*(K-1)]``, a full convolution with the kernel dilated by ``d``;
* sum over ``o`` first: ``x_bar_m = sum_k c_k z_bar_{(m+p_lo-d*k)/s} [s | m+p_lo-d*k]
  [0 <= m+p_lo-d*k <= s*(O-1)]``, a full convolution of ``z_bar`` dilated by ``s``.

* :func:`pad_derivation`: zero padding alone; its adjoint is cropping;
* :func:`conv1d_options_derivation`: the map above, with ``s`` and ``d`` symbols or numbers;
* :func:`grouped_conv_derivation`: channels split into groups; the adjoints of a group read that
  group only.

Needs SymPy.
"""

from __future__ import annotations

import sympy as sp

from .brackets import between
from .readoff import Derivation, Read, derive

__all__ = ["conv1d_options_derivation", "grouped_conv_derivation", "pad_derivation"]


def pad_derivation() -> Derivation:
    """Zero padding ``x (M,) -> x_pad (M + p_lo + p_hi,)`` and its adjoint, for general sizes.

    ``x_pad_j = x_{j - p_lo} [0 <= j - p_lo <= M - 1]``; the adjoint comes out as
    ``x_bar_m = x_pad_bar_{m + p_lo}``: cropping. Both brackets that appear on the way,
    ``[0 <= m + p_lo <= M + p_lo + p_hi - 1]`` and ``[0 <= m <= M - 1]``, are implied by
    ``0 <= m < M`` and ``p_lo, p_hi >= 0`` and are dropped.
    """
    j, m = sp.symbols("j m", integer=True)
    M = sp.Symbol("M", integer=True, positive=True)
    p_lo, p_hi = sp.symbols("p_lo p_hi", integer=True, nonnegative=True)
    x, xp = sp.IndexedBase("x"), sp.IndexedBase(r"x_{\mathrm{pad}}")
    # "{}" after the accented name: LaTeX (unlike MathJax) reads {\dot{x}_{pad}}_{j} as a double
    # subscript, since a group holding one accent atom is that atom; the empty group prevents it.
    xdot, xpdot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{x}_{\mathrm{pad}}{}")
    xpbar = sp.IndexedBase(r"\bar{x}_{\mathrm{pad}}{}")
    return derive(
        output=xp[j], forward=x[j - p_lo] * between(0, j - p_lo, M - 1), tangents={x: xdot},
        output_dot=xpdot, cotangent=xpbar, ranges=[(j, 0, M + p_lo + p_hi - 1)],
        reads={"x": Read(x[m], {m: (0, M - 1)}, eliminate=[j])},
        symbols=dict(j=j, m=m, M=M, p_lo=p_lo, p_hi=p_hi, x=x, xp=xp, xdot=xdot, xpdot=xpdot,
                     xpbar=xpbar),
        shapes={x: (M,), xp: (M + p_lo + p_hi,)},
    )


def conv1d_options_derivation(stride: int | None = None, dilation: int | None = None) -> Derivation:
    """``z_o = sum_k c_k x_{s*o + d*k - p_lo}`` with zero padding: forward, tangent and adjoints.

    Sizes ``O`` (outputs), ``K`` (kernel), ``M`` (input) and the padding ``p_lo`` are symbols; so
    are the stride ``s`` and the dilation ``d`` unless ``stride`` or ``dilation`` fixes them to a
    number (``stride=1, dilation=1`` is the padding-only case). The input is read as zero outside
    ``0 <= m < M``, written as the bracket ``[0 <= s*o + d*k - p_lo <= M - 1]`` (the padding on
    the high side, ``p_hi``, enters only through ``O``: ``O = floor((M + p_lo + p_hi - d*(K-1) - 1)
    / s) + 1``).

    Returns
    -------
    Derivation
        ``adjoints`` holds ``"x"`` (sum over ``k`` done first: a sum over ``o`` with the kernel
        index ``(m + p_lo - s*o)/d``), ``"x_by_k"`` (sum over ``o`` done first: a sum over ``k``
        with the output index ``(m + p_lo - d*k)/s``) and ``"c"`` (a sum over ``o``). Shapes:
        ``x (M,)``, ``c (K,)``, ``z (O,)``.
    """
    o, k, m = sp.symbols("o k m", integer=True)
    O, K, M = sp.symbols("O K M", integer=True, positive=True)  # noqa: E741
    p_lo = sp.Symbol("p_lo", integer=True, nonnegative=True)
    s = sp.Symbol("s", integer=True, positive=True) if stride is None else sp.Integer(stride)
    d = sp.Symbol("d", integer=True, positive=True) if dilation is None else sp.Integer(dilation)
    x, c, z = sp.IndexedBase("x"), sp.IndexedBase("c"), sp.IndexedBase("z")
    zbar = sp.IndexedBase(r"\bar{z}")
    xdot, cdot, zdot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{c}"), sp.IndexedBase(r"\dot{z}")
    i = s * o + d * k - p_lo
    known_m = {m: (0, M - 1)}
    return derive(
        output=z[o], forward=sp.Sum(c[k] * x[i] * between(0, i, M - 1), (k, 0, K - 1)),
        tangents={x: xdot, c: cdot}, output_dot=zdot, cotangent=zbar, ranges=[(o, 0, O - 1)],
        reads={"x": Read(x[m], known_m, eliminate=[k]), "x_by_k": Read(x[m], known_m, eliminate=[o]),
               "c": Read(c[k], {k: (0, K - 1)})},
        symbols=dict(o=o, k=k, m=m, O=O, K=K, M=M, s=s, d=d, p_lo=p_lo, x=x, c=c, z=z, zbar=zbar,
                     xdot=xdot, cdot=cdot, zdot=zdot),
        shapes={x: (M,), c: (K,), z: (O,)},
    )


def grouped_conv_derivation() -> Derivation:
    """A grouped convolution with the channel axes split as (group, channel within the group).

    ``x (N, G, C/G, M)``, ``w (G, F/G, C/G, K)``, ``y (N, G, F/G, O)`` with ``M = O + K - 1``::

        y[n, g, f, o] = sum_{c < C/G, k < K} w[g, f, c, k] x[n, g, c, o + k]

    (``f`` and ``c`` are the channels *within* group ``g``; the full channel indices are
    ``g*F/G + f`` and ``g*C/G + c``). The adjoints come out as::

        x_bar[n, h, c, m] = sum_{f, o} y_bar[n, h, f, o] w[h, f, c, m - o]
                                       [0 <= m - o <= K - 1]
        w_bar[h, f, c, k] = sum_{n, o} y_bar[n, h, f, o] x[n, h, c, o + k]

    Group ``h`` of an adjoint reads group ``h`` only.
    """
    n, g, h, f, c, o, k, m = sp.symbols("n g h f c o k m", integer=True)
    N, G, Fg, Cg, O, K = sp.symbols("N G F_G C_G O K", integer=True, positive=True)  # noqa: E741
    x, w, y = sp.IndexedBase("x"), sp.IndexedBase("w"), sp.IndexedBase("y")
    ybar = sp.IndexedBase(r"\bar{y}")
    xdot, wdot, ydot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{w}"), sp.IndexedBase(r"\dot{y}")
    M = O + K - 1
    return derive(
        output=y[n, g, f, o],
        forward=sp.Sum(w[g, f, c, k] * x[n, g, c, o + k], (c, 0, Cg - 1), (k, 0, K - 1)),
        tangents={x: xdot, w: wdot}, output_dot=ydot, cotangent=ybar,
        ranges=[(n, 0, N - 1), (g, 0, G - 1), (f, 0, Fg - 1), (o, 0, O - 1)],
        reads={"x": Read(x[n, h, c, m], {n: (0, N - 1), h: (0, G - 1), c: (0, Cg - 1), m: (0, M - 1)},
                         eliminate=[k]),
               "w": Read(w[h, f, c, k], {h: (0, G - 1), f: (0, Fg - 1), c: (0, Cg - 1), k: (0, K - 1)})},
        symbols=dict(n=n, g=g, h=h, f=f, c=c, o=o, k=k, m=m, N=N, G=G, F_G=Fg, C_G=Cg, O=O, K=K, M=M,
                     x=x, w=w, y=y, ybar=ybar, xdot=xdot, wdot=wdot, ydot=ydot),
        shapes={x: (N, G, Cg, M), w: (G, Fg, Cg, K), y: (N, G, Fg, O)},
    )
