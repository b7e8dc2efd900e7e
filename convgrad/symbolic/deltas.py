"""Summing out Kronecker deltas: index substitution on the integer lattice.

Differentiating a pairing by one entry ``x_m`` (or reading off the coefficient of ``x_dot_m``)
leaves a Kronecker delta per index, e.g. ``delta(m, n + k)`` in
``sum_n sum_k z_bar_n c_k delta(m, n + k)``. Summing it out over ``k`` sets ``k = m - n`` and
turns the range ``0 <= k <= K - 1`` into the bracket ``[0 <= m - n <= K - 1]``.

With a stride or a dilation the index enters with a coefficient: ``delta(m, s*o + k)`` solved for
``o`` gives ``o = (m - k)/s``, which is an index only when ``s`` divides ``m - k``. The solver
keeps that condition as the bracket ``[s | m - k]`` (:class:`convgrad.symbolic.brackets.Divides`)
next to the range bracket ``[0 <= m - k <= s*(O - 1)]``, instead of dropping it; with coefficient
``+-1`` the divisibility bracket is 1 and only the range bracket remains.

:func:`sum_deltas` is the solver; each delta it sums out can be recorded as an
:class:`Elimination`, which is what the displayed steps of a derivation are made of
(:mod:`convgrad.symbolic.readoff`).

Needs SymPy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from .brackets import Divides, Iverson, prune_brackets

__all__ = ["Elimination", "solve_delta", "sum_deltas"]


def solve_delta(delta: sp.KroneckerDelta, index: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """Solve ``delta(a, b)`` for ``index``: ``(value, numerator, q)`` with ``value = numerator / q``.

    ``a - b = alpha*index + beta`` gives ``index = -beta/alpha``, written with ``q = |alpha|``
    when the sign of ``alpha`` is known (``q > 0``) so that the range bracket needs no flip.
    ``None`` if the delta is not linear in ``index``.
    """
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


@dataclass(frozen=True)
class Elimination:
    """One Kronecker delta summed out of a sum.

    Attributes
    ----------
    delta : sympy.KroneckerDelta
        The delta that was summed out.
    index, lo, hi : sympy.Expr
        The summation index it fixed and its range ``lo <= index <= hi``.
    value : sympy.Expr
        The index's value, ``numerator / q``.
    numerator, q : sympy.Expr
        ``q*index = numerator`` with ``q > 0`` (``q = 1`` without stride or dilation).
    range_bracket : sympy.Expr
        ``[q*lo <= numerator <= q*hi]``, what the range becomes.
    divides : sympy.Expr
        ``[q | numerator]`` (a :class:`convgrad.symbolic.brackets.Divides`), or 1 if ``q = 1``.
    result : sympy.Expr
        The sum after this step, brackets not yet pruned.
    """

    delta: sp.KroneckerDelta
    index: sp.Symbol
    lo: sp.Expr
    hi: sp.Expr
    value: sp.Expr
    numerator: sp.Expr
    q: sp.Expr
    range_bracket: sp.Expr
    divides: sp.Expr
    result: sp.Expr

    @property
    def is_rename(self) -> bool:
        """True if the delta only renames the index (``n' = n``: its value is a single symbol)."""
        return self.q == 1 and isinstance(self.value, sp.Symbol)


def sum_deltas(
    summand: sp.Expr,
    limits: Iterable[tuple],
    *,
    eliminate: Sequence[sp.Symbol] = (),
    known: Mapping[sp.Symbol, tuple] | None = None,
    record: list[Elimination] | None = None,
    prune: bool = True,
) -> sp.Expr:
    """Sum out the Kronecker deltas of ``Sum(summand, *limits)``, keeping divisibility conditions.

    Each delta ``delta(a, b)`` linear in a summation index is solved for one such index (those in
    ``eliminate`` first, in that order; then in alphabetical order of the index names): with
    ``a - b = alpha*i + beta`` the index ``i`` becomes ``-beta/alpha`` everywhere, the sum over
    ``i`` disappears, and two brackets take its place: ``[q | -beta]`` (:class:`Divides`, 1 when
    ``q = |alpha| = 1``) and the range ``q*lo <= -beta <= q*hi``, free of fractions.

    Parameters
    ----------
    summand : the summand, with ``KroneckerDelta`` factors
    limits : ``(index, lo, hi)`` of each sum, outermost first; the limits left over keep this order
    eliminate : summation indices to solve the deltas for first
    known : ``{index: (lo, hi)}``, the ranges of the free indices; every bracket (old or new) loses
        the inequalities these ranges imply (:func:`convgrad.symbolic.brackets.implied`)
    record : list, optional
        Each delta summed out is appended to it as an :class:`Elimination`.
    prune : bool
        Drop the implied inequalities (default). ``False`` leaves every bracket as it came.

    Returns
    -------
    sympy.Expr
        ``Sum(new_summand * brackets, *remaining_limits)``, or the product itself when no sum is
        left.
    """
    limits = [tuple(lim) for lim in limits]
    order = {s: i for i, s in enumerate(eliminate)}
    brackets: list[sp.Expr] = []
    while True:
        candidates = []
        for d in summand.atoms(sp.KroneckerDelta):
            for lim in limits:
                if lim[0] in d.free_symbols and solve_delta(d, lim[0]) is not None:
                    candidates.append((order.get(lim[0], len(order)), str(lim[0]), d, lim))
        if not candidates:
            break
        _, _, delta, lim = min(candidates, key=lambda t: (t[0], t[1]))
        index, lo, hi = lim
        value, numerator, q = solve_delta(delta, index)
        summand = summand.subs(delta, 1).subs(index, value)
        brackets = [b.subs(index, value) for b in brackets]
        limits.remove(lim)
        divides = Divides(q, numerator)
        range_bracket = Iverson(sp.And(sp.Le(sp.expand(q * lo), numerator), sp.Le(numerator, q * hi)))
        brackets += [divides, range_bracket]
        if record is not None:
            now = summand * sp.Mul(*brackets)
            record.append(Elimination(delta=delta, index=index, lo=lo, hi=hi, value=value,
                                      numerator=numerator, q=q, range_bracket=range_bracket,
                                      divides=divides,
                                      result=sp.Sum(now, *limits) if limits else now))
    result = summand * sp.Mul(*brackets)
    if prune:
        result = prune_brackets(result, known or {})
    return sp.Sum(result, *limits) if limits else result
