"""The derivation of the transposed convolution, for general stride, dilation and padding.

The transposed convolution is the adjoint of a convolution in its input; written entry by entry
it is a scatter with the index bracket ``[m = s*i + d*k - p]``. :func:`transposed_conv_derivation`
derives its own adjoints from that form: a strided convolution, and a weight gradient with the
roles of input and output gradient exchanged.

Needs SymPy.
"""

from __future__ import annotations

import sympy as sp

from .brackets import Iverson, as_brackets
from .readoff import Derivation, Read, derive

__all__ = ["transposed_conv_derivation"]


def transposed_conv_derivation() -> Derivation:
    """The 1-D transposed convolution as a scatter, for general stride, dilation and padding.

    Input ``x`` of length ``I``, kernel ``w`` of length ``K``, output ``t`` of length ``M``::

        t[m] = sum_{i < I, k < K} x[i] w[k] [m = s*i + d*k - p]

    (each input entry paints the kernel onto the output, starting at ``s*i - p``, every ``d``-th
    position; what falls outside ``0 <= m < M`` is cut off). Its adjoints come out as::

        x_bar[i] = sum_k y_bar[s*i + d*k - p] w[k] [0 <= s*i + d*k - p <= M - 1]
        w_bar[k] = sum_i y_bar[s*i + d*k - p] x[i] [0 <= s*i + d*k - p <= M - 1]

    a convolution of ``y_bar`` with stride ``s``, dilation ``d`` and zero padding ``p``, and the
    weight gradient of that convolution with ``x`` in the role of the output gradient. (The
    pairing writes the bracket ``[m = s*i + d*k - p]`` as a Kronecker delta, which the read-off
    sums out; the bracket is the form that evaluates correctly at concrete sizes, since SymPy's
    summation of a delta does not check that its solution is an integer.)

    ``symbols["conv_input_adjoint"]`` holds, for comparison, the derivative of the pairing
    ``<c_bar, c>`` of a strided convolution ``c[o] = sum_k w[k] u[s*o + d*k - p]`` by ``u[m]``,
    with its deltas kept (as brackets ``[m = s*o + d*k - p]``): it is the same scatter with
    ``c_bar`` in place of ``x``.
    """
    i, k, m, o = sp.symbols("i k m o", integer=True)
    I, K, M, O = sp.symbols("I K M O", integer=True, positive=True)  # noqa: E741
    s, d = sp.symbols("s d", integer=True, positive=True)
    p = sp.Symbol("p", integer=True, nonnegative=True)
    x, w, t = sp.IndexedBase("x"), sp.IndexedBase("w"), sp.IndexedBase("t")
    ybar = sp.IndexedBase(r"\bar{y}")
    xdot, wdot, tdot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{w}"), sp.IndexedBase(r"\dot{t}")
    forward = sp.Sum(x[i] * w[k] * Iverson(sp.Eq(m, s * i + d * k - p)), (i, 0, I - 1), (k, 0, K - 1))
    # the convolution whose input adjoint this is, differentiated without summing the deltas
    u, cbar = sp.IndexedBase("u"), sp.IndexedBase(r"\bar{c}")
    conv_pair = sp.Sum(cbar[o] * sp.Sum(w[k] * u[s * o + d * k - p], (k, 0, K - 1)), (o, 0, O - 1))
    conv_input_adjoint = as_brackets(sp.diff(conv_pair, u[m]))
    return derive(
        output=t[m], forward=forward, tangents={x: xdot, w: wdot}, output_dot=tdot, cotangent=ybar,
        ranges=[(m, 0, M - 1)], deltas=True,
        reads={"x": Read(x[i], {i: (0, I - 1)}, eliminate=[m]),
               "w": Read(w[k], {k: (0, K - 1)}, eliminate=[m])},
        symbols=dict(i=i, k=k, m=m, o=o, I=I, K=K, M=M, O=O, s=s, d=d, p=p, x=x, w=w, t=t, ybar=ybar,
                     xdot=xdot, wdot=wdot, tdot=tdot, u=u, cbar=cbar, conv_pairing=conv_pair,
                     conv_input_adjoint=conv_input_adjoint),
        shapes={x: (I,), w: (K,), t: (M,)},
    )
