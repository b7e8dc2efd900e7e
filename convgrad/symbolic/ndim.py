"""The convolution in ``D`` spatial dimensions, one index symbol per axis, for general sizes.

:func:`nd_conv_derivation` derives the adjoints with a stride, a dilation and a padding per axis;
they come out as products of per-axis factors, which :func:`axis_factors` separates (and refuses
when a bracket mixes two axes, i.e. when the index map does not factorise).

Needs SymPy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sympy as sp

from .brackets import Divides, Iverson, between
from .readoff import Derivation, Read, derive

__all__ = ["axis_factors", "nd_conv_derivation"]


def axis_factors(expr: sp.Expr, axes: Sequence[Iterable[sp.Symbol]]) -> list[sp.Expr]:
    """Split a product into one factor per axis plus one factor that involves no axis.

    Parameters
    ----------
    expr : a product (the summand of an adjoint)
    axes : for each spatial axis, the symbols that belong to it (its index, size, stride, ...)

    Returns
    -------
    factors : ``[shared, axis_0, axis_1, ...]`` whose product is ``expr``. ``shared`` holds the
        factors with no axis symbol; an array entry such as ``w[f, c, k0, k1]`` carries every axis
        and is returned in ``shared`` as well, since it is not a per-axis condition.

    Raises
    ------
    ValueError
        If an Iverson bracket or a Kronecker delta mixes symbols of two axes: then the index map
        does not factorise.
    """
    axes = [set(a) for a in axes]
    out = [sp.S.One for _ in range(len(axes) + 1)]
    for factor in sp.Mul.make_args(expr):
        touched = [i for i, a in enumerate(axes) if factor.free_symbols & a]
        is_condition = isinstance(factor, (Iverson, Divides, sp.KroneckerDelta))
        if is_condition and len(touched) > 1:
            raise ValueError(f"{factor} mixes axes {touched}")
        if is_condition and touched:
            out[touched[0] + 1] *= factor
        else:
            out[0] *= factor
    return out


def nd_conv_derivation(ndim: int) -> Derivation:
    """The convolution in ``ndim`` spatial dimensions, one index symbol per axis, general sizes.

    With axis ``a`` of input size ``M_a``, kernel size ``K_a``, output size ``O_a``, stride
    ``s_a``, dilation ``d_a`` and low padding ``p_a``::

        y[n, f, o_0, ..] = sum_{c, k_0, ..} w[f, c, k_0, ..] x[n, c, i_0, ..]
                           prod_a [0 <= i_a <= M_a - 1]

    with ``i_a = s_a*o_a + d_a*k_a - p_a``; the bracket is the zero padding (entries outside the
    input read as zero). The adjoints come out as::

        x_bar[n, c, m] = sum_{f, k} y_bar[n, f, (m + p - d*k)/s] w[f, c, k]
                         prod_a [s_a | j_a] [0 <= j_a <= s_a*(O_a - 1)],
                         j_a = m_a + p_a - d_a*k_a
        w_bar[f, c, k] = sum_{n, o} y_bar[n, f, o] x[n, c, s*o + d*k - p]
                         prod_a [0 <= i_a <= M_a - 1]

    (``x_bar`` with the deltas solved for the output indices ``o``, where the strides leave
    divisibility brackets). ``symbols["axes"][a]`` is the set of symbols of axis ``a``, for
    :func:`axis_factors`. Shapes: ``x (N, C, M_0, ..)``, ``w (F, C, K_0, ..)``, ``y (N, F, O_0, ..)``.
    """
    if ndim < 1:
        raise ValueError(f"ndim must be at least 1, got {ndim}")
    n, f, c = sp.symbols("n f c", integer=True)
    N, F, C = sp.symbols("N F C", integer=True, positive=True)
    ax = range(ndim)
    o = [sp.Symbol(f"o_{a}", integer=True) for a in ax]
    k = [sp.Symbol(f"k_{a}", integer=True) for a in ax]
    m = [sp.Symbol(f"m_{a}", integer=True) for a in ax]
    O = [sp.Symbol(f"O_{a}", integer=True, positive=True) for a in ax]  # noqa: E741
    K = [sp.Symbol(f"K_{a}", integer=True, positive=True) for a in ax]
    M = [sp.Symbol(f"M_{a}", integer=True, positive=True) for a in ax]
    s = [sp.Symbol(f"s_{a}", integer=True, positive=True) for a in ax]
    d = [sp.Symbol(f"d_{a}", integer=True, positive=True) for a in ax]
    p = [sp.Symbol(f"p_{a}", integer=True, nonnegative=True) for a in ax]
    x, w, y = sp.IndexedBase("x"), sp.IndexedBase("w"), sp.IndexedBase("y")
    ybar = sp.IndexedBase(r"\bar{y}")
    xdot, wdot, ydot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{w}"), sp.IndexedBase(r"\dot{y}")
    read = [s[a] * o[a] + d[a] * k[a] - p[a] for a in ax]
    padding = sp.Mul(*[between(0, read[a], M[a] - 1) for a in ax])
    forward = sp.Sum(w[(f, c, *k)] * x[(n, c, *read)] * padding, (c, 0, C - 1),
                     *[(k[a], 0, K[a] - 1) for a in ax])
    axes = [{o[a], k[a], m[a], O[a], K[a], M[a], s[a], d[a], p[a]} for a in ax]
    return derive(
        output=y[(n, f, *o)], forward=forward, tangents={x: xdot, w: wdot}, output_dot=ydot,
        cotangent=ybar, ranges=[(n, 0, N - 1), (f, 0, F - 1), *[(o[a], 0, O[a] - 1) for a in ax]],
        reads={"x": Read(x[(n, c, *m)], {n: (0, N - 1), c: (0, C - 1), **{m[a]: (0, M[a] - 1) for a in ax}},
                         eliminate=o),
               "w": Read(w[(f, c, *k)], {f: (0, F - 1), c: (0, C - 1), **{k[a]: (0, K[a] - 1) for a in ax}})},
        symbols=dict(n=n, f=f, c=c, N=N, F=F, C=C, o=o, k=k, m=m, O=O, K=K, M=M, s=s, d=d, p=p,
                     x=x, w=w, y=y, ybar=ybar, xdot=xdot, wdot=wdot, ydot=ydot, axes=axes),
        shapes={x: (N, C, *M), w: (F, C, *K), y: (N, F, *O)},
    )
