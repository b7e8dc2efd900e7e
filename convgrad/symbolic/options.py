"""General-size derivations for padding, stride and dilation: the index map ``s*o + d*k - p_lo``.

The forward map of one channel pair in 1-D, with the input read as zero outside ``0 <= m < M``::

    z_o = sum_{k < K} c_k x_{s*o + d*k - p_lo} [0 <= s*o + d*k - p_lo <= M - 1],    o < O.

Its adjoints are read off the pairing ``<z_bar, z>`` as in :mod:`convgrad.symbolic.toolkit`, with
one difference: a Kronecker delta ``delta(m, s*o + d*k - p_lo)`` solved for ``k`` gives
``k = (m + p_lo - s*o)/d``, which is an index only when ``d`` divides ``m + p_lo - s*o``. The
general solver here (:func:`sum_deltas_lattice`) keeps that condition as a bracket
``[d | m + p_lo - s*o]`` (:class:`Divides`) next to the range bracket, instead of dropping it. It
also drops every bracket that the known ranges of the free indices imply (such as the padding
bracket ``[0 <= m <= M - 1]`` once ``x_bar_m`` is asked for at ``0 <= m < M``).

The two elimination orders give the two readings of the input gradient:

* sum over ``k`` first (solve the delta for ``k``): ``x_bar_m = sum_o z_bar_o c_{(m+p_lo-s*o)/d}
  [d | m+p_lo-s*o] [0 <= m+p_lo-s*o <= d*(K-1)]``, a full convolution with the kernel dilated by
  ``d``;
* sum over ``o`` first (solve for ``o``): ``x_bar_m = sum_k c_k z_bar_{(m+p_lo-d*k)/s}
  [s | m+p_lo-d*k] [0 <= m+p_lo-d*k <= s*(O-1)]``, a full convolution of ``z_bar`` dilated by
  ``s``.

Needs SymPy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import sympy as sp
from sympy.tensor.indexed import Indexed

from .derivations import Derivation
from .toolkit import Iverson, adjoint_from_pairing, linearise

__all__ = [
    "Divides",
    "adjoint_lattice",
    "conv1d_options_derivation",
    "implied",
    "pad_derivation",
    "sum_deltas_lattice",
]


class Divides(sp.Function):
    """The bracket ``[q | a]``: 1 if the integer ``q`` divides the integer ``a``, else 0.

    It evaluates as soon as it can be decided: at numbers, for ``q = +-1``, and when ``a / q`` is
    known to be an integer (``a = s*j`` with ``q = s``).
    """

    is_integer = True
    is_nonnegative = True

    @classmethod
    def eval(cls, q, a):
        if q in (sp.S.One, sp.S.NegativeOne):
            return sp.S.One
        if q.is_Integer and a.is_Integer:
            if q == 0:
                raise ValueError("Divides(0, a) is undefined")
            return sp.S.One if a % q == 0 else sp.S.Zero
        if (a / q).is_integer:
            return sp.S.One
        return None

    def _latex(self, printer):
        q, a = self.args
        return r"\left[" + printer._print(q) + r" \mid " + printer._print(a) + r"\right]"

    def _sympystr(self, printer):
        q, a = self.args
        return "[" + printer._print(q) + " | " + printer._print(a) + "]"


# --- brackets implied by known ranges -------------------------------------------------------------


def _lower_bound(expr: sp.Expr, known: Mapping[sp.Symbol, tuple]) -> sp.Expr | None:
    """The minimum of an expression linear in the known indices over their box, or ``None``."""
    expr = sp.expand(expr)
    for i, (lo, hi) in known.items():
        if i not in expr.free_symbols:
            continue
        coeff = expr.coeff(i)
        if i in coeff.free_symbols or sp.diff(expr, i, 2) != 0:
            return None
        if coeff.is_nonnegative:
            expr = sp.expand(expr.subs(i, lo))
        elif coeff.is_nonpositive:
            expr = sp.expand(expr.subs(i, hi))
        else:
            return None
    return expr


def implied(rel: sp.Basic, known: Mapping[sp.Symbol, tuple]) -> bool:
    """True if the inequality ``rel`` (``a <= b``) holds for every value of the known indices.

    ``known`` maps an index to its range ``(lo, hi)``; the other symbols are constrained only by
    their SymPy assumptions (``positive``, ``nonnegative``). Conservative: ``False`` means "not
    shown", not "false".
    """
    if rel in (sp.true, True):
        return True
    if not isinstance(rel, (sp.Le, sp.Ge)):
        return False
    small, big = (rel.lhs, rel.rhs) if isinstance(rel, sp.Le) else (rel.rhs, rel.lhs)
    bound = _lower_bound(big - small, known)
    return bool(bound is not None and bound.is_nonnegative)


def _prune(cond: sp.Basic, known: Mapping[sp.Symbol, tuple]) -> sp.Basic:
    kept = [part for part in sp.And.make_args(cond) if not implied(part, known)]
    return sp.And(*kept) if kept else sp.true


def _prune_brackets(expr: sp.Expr, known: Mapping[sp.Symbol, tuple]) -> sp.Expr:
    """Drop from every Iverson bracket in ``expr`` the inequalities the known ranges imply."""
    return expr.replace(lambda e: isinstance(e, Iverson), lambda e: Iverson(_prune(e.args[0], known)))


# --- summing out deltas on a lattice --------------------------------------------------------------


def _solve_linear(delta: sp.KroneckerDelta, index: sp.Symbol):
    """``(value, numerator, q)`` with ``index = value = numerator / q`` solving the delta, ``q > 0``
    when its sign is known; ``None`` if the delta is not linear in ``index``."""
    e = sp.expand(delta.args[0] - delta.args[1])
    alpha = e.coeff(index)
    if alpha == 0 or index in alpha.free_symbols or sp.diff(e, index, 2) != 0:
        return None
    beta = sp.expand(e - alpha * index)
    if alpha.is_negative:  # alpha*index + beta = 0  <=>  index = beta / |alpha|
        q, numerator = -alpha, beta
    else:
        q, numerator = alpha, -beta
    return numerator / q, numerator, q


def sum_deltas_lattice(
    summand: sp.Expr,
    limits: Iterable[tuple],
    *,
    eliminate: Sequence[sp.Symbol] = (),
    known: Mapping[sp.Symbol, tuple] | None = None,
) -> sp.Expr:
    """Sum out the Kronecker deltas of ``Sum(summand, *limits)``, keeping divisibility conditions.

    Like :func:`convgrad.symbolic.sum_deltas`, but a delta ``delta(a, b)`` with ``a - b =
    q*i + r`` is solved for the summation index ``i`` as ``i = -r/q`` together with the bracket
    ``[q | r]`` (:class:`Divides`), which is 1 exactly when that value is an integer. The range
    ``lo <= i <= hi`` becomes ``q*lo <= -r <= q*hi`` (for ``q > 0``), free of fractions. Every
    bracket, old or new, loses the inequalities implied by ``known`` (:func:`implied`).
    """
    known = dict(known or {})
    limits = [tuple(lim) for lim in limits]
    order = {s: i for i, s in enumerate(eliminate)}
    brackets: list[sp.Expr] = []
    while True:
        candidates = []
        for d in summand.atoms(sp.KroneckerDelta):
            for lim in limits:
                if lim[0] in d.free_symbols and _solve_linear(d, lim[0]) is not None:
                    candidates.append((order.get(lim[0], len(order)), str(lim[0]), d, lim))
        if not candidates:
            break
        _, _, delta, lim = min(candidates, key=lambda t: (t[0], t[1]))
        index, lo, hi = lim
        value, numerator, q = _solve_linear(delta, index)
        summand = summand.subs(delta, 1).subs(index, value)
        brackets = [b.subs(index, value) for b in brackets]
        limits.remove(lim)
        brackets.append(Divides(q, numerator))
        brackets.append(Iverson(sp.And(sp.Le(sp.expand(q * lo), numerator), sp.Le(numerator, q * hi))))
    result = _prune_brackets(summand * sp.Mul(*brackets), known)
    return sp.Sum(result, *limits) if limits else result


def adjoint_lattice(
    pairing_expr: sp.Expr,
    wrt: Indexed,
    *,
    eliminate: Sequence[sp.Symbol] = (),
    known: Mapping[sp.Symbol, tuple] | None = None,
) -> sp.Expr:
    """The adjoint ``a_bar[i] = d <z_bar, z> / d a[i]``, deltas summed out on the integer lattice.

    Same interface as :func:`convgrad.symbolic.adjoint_from_pairing`; the deltas are summed out by
    :func:`sum_deltas_lattice`, so strides and dilations in the index map give divisibility
    brackets instead of fractional indices.
    """
    return adjoint_from_pairing(pairing_expr, wrt, eliminate=eliminate, known=known,
                                sum_out=sum_deltas_lattice)


# --- the derivations ------------------------------------------------------------------------------


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
    xdot, xpdot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{x}_{\mathrm{pad}}")
    xpbar = sp.IndexedBase(r"\bar{x}_{\mathrm{pad}}")
    forward = x[j - p_lo] * Iverson(sp.And(sp.Le(0, j - p_lo), sp.Le(j - p_lo, M - 1)))
    tangent = linearise(forward, {x: xdot})
    pair = sp.Sum(xpbar[j] * forward, (j, 0, M + p_lo + p_hi - 1))
    xbar = adjoint_lattice(pair, x[m], eliminate=[j], known={m: (0, M - 1)})
    return Derivation(
        symbols=dict(j=j, m=m, M=M, p_lo=p_lo, p_hi=p_hi, x=x, xp=xp, xdot=xdot, xpdot=xpdot,
                     xpbar=xpbar),
        forward=sp.Eq(xp[j], forward),
        tangent=sp.Eq(xpdot[j], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[m], xbar)},
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
        with the output index ``(m + p_lo - d*k)/s``) and ``"c"`` (a sum over ``o``).
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
    forward = sp.Sum(c[k] * x[i] * Iverson(sp.And(sp.Le(0, i), sp.Le(i, M - 1))), (k, 0, K - 1))
    tangent = linearise(forward, {x: xdot, c: cdot})
    pair = sp.Sum(zbar[o] * forward, (o, 0, O - 1))
    known_m = {m: (0, M - 1)}
    xbar = adjoint_lattice(pair, x[m], eliminate=[k], known=known_m)
    xbar_by_k = adjoint_lattice(pair, x[m], eliminate=[o], known=known_m)
    cbar = adjoint_lattice(pair, c[k], known={k: (0, K - 1)})
    xb = sp.IndexedBase(r"\bar{x}")
    return Derivation(
        symbols=dict(o=o, k=k, m=m, O=O, K=K, M=M, s=s, d=d, p_lo=p_lo, x=x, c=c, z=z, zbar=zbar,
                     xdot=xdot, cdot=cdot, zdot=zdot),
        forward=sp.Eq(z[o], forward),
        tangent=sp.Eq(zdot[o], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(xb[m], xbar), "x_by_k": sp.Eq(xb[m], xbar_by_k),
                  "c": sp.Eq(sp.IndexedBase(r"\bar{c}")[k], cbar)},
    )
