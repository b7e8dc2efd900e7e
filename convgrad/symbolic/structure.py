"""Symbolic derivations of the structure chapters: groups, transposed convolution, N dimensions.

* :func:`grouped_conv_derivation`: channels split into groups; the adjoints of one group involve
  only that group (block-diagonal channel mixing).
* :func:`transposed_conv_derivation`: the transposed convolution written as a scatter with an
  index bracket ``[m = s*i + d*k - p]``, for general stride, dilation and padding; its adjoints
  are a strided convolution and a weight gradient with the roles of input and output gradient
  exchanged.
* :func:`nd_conv_derivation`: the convolution in ``ndim`` spatial dimensions with one index symbol
  per axis, for general sizes, stride, dilation and padding; the adjoints come out as products of
  per-axis factors (:func:`axis_factors`).

:func:`flatten_sum` and :func:`axis_factors` are the small tools that compare such sums and check
the factorisation; :func:`as_deltas` and :func:`as_brackets` convert between Kronecker deltas
(which SymPy differentiates and sums out) and index brackets ``[a = b]`` (which evaluate correctly
at concrete indices: SymPy's summation of ``KroneckerDelta(m, s*i + d*k - p)`` over ``i`` and
``k`` does not check that the solution is an integer).

Strides and dilations in an index map are summed out on the integer lattice by
:func:`convgrad.symbolic.options.adjoint_lattice`, which keeps the divisibility bracket
``[s | m + p - d*k]`` (:class:`convgrad.symbolic.options.Divides`).

Needs SymPy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sympy as sp

from .derivations import Derivation
from .options import Divides, adjoint_lattice
from .toolkit import Iverson, adjoint_from_pairing, linearise


def _split(expr: sp.Expr) -> tuple[sp.Expr, list[tuple]]:
    """``(summand, limits)`` of a single term made of nested Sums."""
    limits: list[tuple] = []
    def has_sum(e):
        return isinstance(e, sp.Sum) or (isinstance(e, sp.Mul) and any(isinstance(a, sp.Sum) for a in e.args))

    while has_sum(expr):
        if isinstance(expr, sp.Sum):
            limits.extend(expr.limits)
            expr = expr.function
        else:
            inner = [a for a in expr.args if isinstance(a, sp.Sum)]
            if len(inner) != 1:
                raise ValueError(f"expected one Sum factor in {expr}")
            rest = sp.Mul(*[a for a in expr.args if a is not inner[0]])
            limits.extend(inner[0].limits)
            expr = rest * inner[0].function
    return expr, limits


def flatten_sum(expr: sp.Expr) -> tuple[sp.Expr, tuple]:
    """One summand and the sorted limits of a (nested) Sum of one term, to compare two such sums.

    ``Sum(a[o] * Sum(b[k], (k, 0, K-1)), (o, 0, O-1))`` and
    ``Sum(a[o] * b[k], (o, 0, O-1), (k, 0, K-1))`` flatten to the same pair.
    """
    summand, limits = _split(sp.expand(expr) if not isinstance(expr, sp.Sum) else expr)
    return sp.expand(summand), tuple(sorted((tuple(lim) for lim in limits), key=str))


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


def as_deltas(expr: sp.Expr) -> sp.Expr:
    """Replace every bracket ``[a = b]`` by ``KroneckerDelta(a, b)`` (for differentiating)."""
    def is_eq_bracket(e):
        return isinstance(e, Iverson) and isinstance(e.args[0], sp.Eq)

    return expr.replace(is_eq_bracket, lambda e: sp.KroneckerDelta(*e.args[0].args))


def as_brackets(expr: sp.Expr) -> sp.Expr:
    """Replace every ``KroneckerDelta(a, b)`` by the bracket ``[a = b]`` (safe to evaluate)."""
    return expr.replace(lambda e: isinstance(e, sp.KroneckerDelta), lambda e: Iverson(sp.Eq(*e.args)))


# --- groups ---------------------------------------------------------------------------------------


def grouped_conv_derivation() -> Derivation:
    """A grouped convolution with the channel axes split as (group, channel within the group).

    ``x (N, G, C/G, M)``, ``w (G, F/G, C/G, K)``, ``y (N, G, F/G, O)`` with ``M = O + K - 1``::

        y[n, g, f, o] = sum_{c < C/G, k < K} w[g, f, c, k] x[n, g, c, o + k]

    (``f`` and ``c`` are the channels *within* group ``g``; the full channel indices are
    ``g*F/G + f`` and ``g*C/G + c``). The adjoints come out as::

        x_bar[n, h, c, m] = sum_{f, o} y_bar[n, h, f, o] w[h, f, c, m - o] [0 <= m - o <= K - 1]
        w_bar[h, f, c, k] = sum_{n, o} y_bar[n, h, f, o] x[n, h, c, o + k]

    Group ``h`` of an adjoint reads group ``h`` only.
    """
    n, g, h, f, c, o, k, m = sp.symbols("n g h f c o k m", integer=True)
    N, G, Fg, Cg, O, K = sp.symbols("N G F_G C_G O K", integer=True, positive=True)  # noqa: E741
    x, w, y = sp.IndexedBase("x"), sp.IndexedBase("w"), sp.IndexedBase("y")
    ybar = sp.IndexedBase(r"\bar{y}")
    xdot, wdot, ydot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{w}"), sp.IndexedBase(r"\dot{y}")
    forward = sp.Sum(w[g, f, c, k] * x[n, g, c, o + k], (c, 0, Cg - 1), (k, 0, K - 1))
    tangent = linearise(forward, {x: xdot, w: wdot})
    pair = sp.Sum(ybar[n, g, f, o] * forward, (n, 0, N - 1), (g, 0, G - 1), (f, 0, Fg - 1), (o, 0, O - 1))
    M = O + K - 1
    xbar = adjoint_from_pairing(pair, x[n, h, c, m], eliminate=[k],
                                known={n: (0, N - 1), h: (0, G - 1), c: (0, Cg - 1), m: (0, M - 1)})
    wbar = adjoint_from_pairing(pair, w[h, f, c, k],
                                known={h: (0, G - 1), f: (0, Fg - 1), c: (0, Cg - 1), k: (0, K - 1)})
    return Derivation(
        symbols=dict(n=n, g=g, h=h, f=f, c=c, o=o, k=k, m=m, N=N, G=G, F_G=Fg, C_G=Cg, O=O, K=K, M=M,
                     x=x, w=w, y=y, ybar=ybar, xdot=xdot, wdot=wdot, ydot=ydot),
        forward=sp.Eq(y[n, g, f, o], forward),
        tangent=sp.Eq(ydot[n, g, f, o], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[n, h, c, m], xbar),
                  "w": sp.Eq(sp.IndexedBase(r"\bar{w}")[h, f, c, k], wbar)},
    )


# --- transposed convolution -----------------------------------------------------------------------


def transposed_conv_derivation() -> Derivation:
    """The 1-D transposed convolution as a scatter, for general stride, dilation and padding.

    Input ``x`` of length ``I``, kernel ``w`` of length ``K``, output ``t`` of length ``M``::

        t[m] = sum_{i < I, k < K} x[i] w[k] [m = s*i + d*k - p]

    (each input entry paints the kernel onto the output, starting at ``s*i - p``, every ``d``-th
    position; what falls outside ``0 <= m < M`` is cut off). Its adjoints come out as::

        x_bar[i] = sum_k y_bar[s*i + d*k - p] w[k] [0 <= s*i + d*k - p <= M - 1]
        w_bar[k] = sum_i y_bar[s*i + d*k - p] x[i] [0 <= s*i + d*k - p <= M - 1]

    a convolution of ``y_bar`` with stride ``s``, dilation ``d`` and zero padding ``p``, and the
    weight gradient of that convolution with ``x`` in the role of the output gradient.

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
    # The bracket [m = s*i + d*k - p] is written as an Iverson bracket, which evaluates correctly
    # at concrete sizes (SymPy's summation of a KroneckerDelta does not check that the solution
    # is an integer); for the derivation it becomes a Kronecker delta, which diff and the delta
    # elimination understand.
    forward = sp.Sum(x[i] * w[k] * Iverson(sp.Eq(m, s * i + d * k - p)), (i, 0, I - 1), (k, 0, K - 1))
    tangent = linearise(forward, {x: xdot, w: wdot})
    pair = sp.Sum(ybar[m] * as_deltas(forward), (m, 0, M - 1))
    xbar = adjoint_from_pairing(pair, x[i], eliminate=[m], known={i: (0, I - 1)})
    wbar = adjoint_from_pairing(pair, w[k], eliminate=[m], known={k: (0, K - 1)})
    # the convolution whose input adjoint this is, differentiated without summing the deltas
    u, cbar = sp.IndexedBase("u"), sp.IndexedBase(r"\bar{c}")
    conv_pair = sp.Sum(cbar[o] * sp.Sum(w[k] * u[s * o + d * k - p], (k, 0, K - 1)), (o, 0, O - 1))
    conv_input_adjoint = as_brackets(sp.diff(conv_pair, u[m]))
    return Derivation(
        symbols=dict(i=i, k=k, m=m, o=o, I=I, K=K, M=M, O=O, s=s, d=d, p=p, x=x, w=w, t=t, ybar=ybar,
                     xdot=xdot, wdot=wdot, tdot=tdot, u=u, cbar=cbar, conv_pairing=conv_pair,
                     conv_input_adjoint=conv_input_adjoint),
        forward=sp.Eq(t[m], forward),
        tangent=sp.Eq(tdot[m], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[i], xbar),
                  "w": sp.Eq(sp.IndexedBase(r"\bar{w}")[k], wbar)},
    )


# --- N dimensions ---------------------------------------------------------------------------------


def nd_conv_derivation(ndim: int) -> Derivation:
    """The convolution in ``ndim`` spatial dimensions, one index symbol per axis, general sizes.

    With axis ``a`` of input size ``M_a``, kernel size ``K_a``, output size ``O_a``, stride
    ``s_a``, dilation ``d_a`` and low padding ``p_a``::

        y[n, f, o_0, ..] = sum_{c, k_0, ..} w[f, c, k_0, ..] x[n, c, i_0, ..] prod_a [0 <= i_a <= M_a - 1]

    with ``i_a = s_a*o_a + d_a*k_a - p_a``; the bracket is the zero padding (entries outside the
    input read as zero). The adjoints come out as::

        x_bar[n, c, m] = sum_{f, k} y_bar[n, f, (m + p - d*k)/s] w[f, c, k]
                         prod_a [s_a | m_a + p_a - d_a*k_a] [0 <= m_a + p_a - d_a*k_a <= s_a*(O_a - 1)]
        w_bar[f, c, k] = sum_{n, o} y_bar[n, f, o] x[n, c, s*o + d*k - p] prod_a [0 <= i_a <= M_a - 1]

    ``symbols["axes"][a]`` is the set of symbols of axis ``a``, for :func:`axis_factors`.
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
    padding = sp.Mul(*[Iverson(sp.And(sp.Le(0, read[a]), sp.Le(read[a], M[a] - 1))) for a in ax])
    k_limits = [(k[a], 0, K[a] - 1) for a in ax]
    o_limits = [(o[a], 0, O[a] - 1) for a in ax]
    forward = sp.Sum(w[(f, c, *k)] * x[(n, c, *read)] * padding, (c, 0, C - 1), *k_limits)
    tangent = linearise(forward, {x: xdot, w: wdot})
    pair = sp.Sum(ybar[(n, f, *o)] * forward, (n, 0, N - 1), (f, 0, F - 1), *o_limits)

    # x_bar: sum out the deltas by solving for o (the stride stays a divisibility bracket)
    xbar = adjoint_lattice(pair, x[(n, c, *m)], eliminate=o,
                           known={n: (0, N - 1), c: (0, C - 1), **{m[a]: (0, M[a] - 1) for a in ax}})

    # w_bar: the deltas are on f, c, k and have unit coefficients
    wbar = adjoint_lattice(pair, w[(f, c, *k)],
                                known={f: (0, F - 1), c: (0, C - 1), **{k[a]: (0, K[a] - 1) for a in ax}})
    axes = [{o[a], k[a], m[a], O[a], K[a], M[a], s[a], d[a], p[a]} for a in ax]
    return Derivation(
        symbols=dict(n=n, f=f, c=c, N=N, F=F, C=C, o=o, k=k, m=m, O=O, K=K, M=M, s=s, d=d, p=p,
                     x=x, w=w, y=y, ybar=ybar, xdot=xdot, wdot=wdot, ydot=ydot, axes=axes),
        forward=sp.Eq(y[(n, f, *o)], forward),
        tangent=sp.Eq(ydot[(n, f, *o)], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[(n, c, *m)], xbar),
                  "w": sp.Eq(sp.IndexedBase(r"\bar{w}")[(f, c, *k)], wbar)},
    )
