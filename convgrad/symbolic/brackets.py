"""Brackets: the Iverson bracket ``[P]``, the divisibility bracket ``[q | a]``, and their pruning.

A summation range that a Kronecker delta collapses does not disappear: it becomes a condition on
what is left, written as a bracket that is 1 when the condition holds and 0 otherwise (Knuth's Iverson
bracket).

* :class:`Iverson` ``[P]`` for a condition ``P`` (:func:`between` builds ``[lo <= e <= hi]``);
* :class:`Divides` ``[q | a]``, 1 when the integer ``q`` divides ``a``: what solving
  ``q*i = a`` for an integer ``i`` needs;
* :func:`implied` and :func:`prune_brackets`: drop the inequalities that the known ranges of the
  free indices imply (``[0 <= m <= M - 1]`` is 1 once ``x_bar_m`` is asked for at ``0 <= m < M``);
* :func:`as_deltas` and :func:`as_brackets`: convert between index brackets ``[a = b]`` (which
  evaluate correctly at concrete indices) and Kronecker deltas (which SymPy differentiates and
  :func:`convgrad.symbolic.deltas.sum_deltas` sums out).

Needs SymPy.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

__all__ = ["Divides", "Iverson", "as_brackets", "as_deltas", "between", "implied", "prune_brackets"]


class Iverson(sp.Function):
    """The Iverson bracket ``[P]``: 1 if the condition ``P`` holds, else 0.

    It stays unevaluated while ``P`` involves free symbols and becomes 1 or 0 once ``P`` can be
    decided, e.g. after :func:`convgrad.symbolic.instantiate` substitutes numbers. A chain
    ``lo <= e <= hi`` prints as one chain, ``[0 <= m - n <= K - 1]``.
    """

    is_integer = True
    is_nonnegative = True

    @classmethod
    def eval(cls, cond):
        if cond in (sp.true, True):
            return sp.S.One
        if cond in (sp.false, False):
            return sp.S.Zero
        return None

    def chain(self) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
        """``(lo, e, hi)`` if the condition is ``lo <= e <= hi``, else ``None``."""
        parts = sp.And.make_args(self.args[0])
        if len(parts) == 2 and all(isinstance(p, sp.Le) for p in parts):
            (a, b), (c, d) = (p.args for p in parts)
            if b == c:
                return a, b, d
            if d == a:
                return c, a, b
        return None

    def _latex(self, printer):
        chain = self.chain()
        if chain:
            inner = r" \le ".join(printer._print(t) for t in chain)
        else:
            inner = printer._print(self.args[0])
        return r"\left[" + inner + r"\right]"

    def _sympystr(self, printer):
        chain = self.chain()
        inner = " <= ".join(printer._print(t) for t in chain) if chain else printer._print(self.args[0])
        return "[" + inner + "]"


def between(lo: sp.Expr, e: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """The bracket ``[lo <= e <= hi]`` (an :class:`Iverson`), e.g. ``between(0, m - n, K - 1)``."""
    return Iverson(sp.And(sp.Le(lo, e), sp.Le(e, hi)))


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


def prune_brackets(
    expr: sp.Expr, known: Mapping[sp.Symbol, tuple], dropped: list[sp.Expr] | None = None
) -> sp.Expr:
    """Drop from every Iverson bracket in ``expr`` the inequalities the known ranges imply.

    Parameters
    ----------
    expr : an expression with :class:`Iverson` brackets
    known : ``{index: (lo, hi)}``, the ranges of the free indices
    dropped : list, optional
        What is dropped is appended to it, as brackets (``[0 <= m <= M - 1]``), each once.
    """

    def prune(bracket: Iverson) -> sp.Expr:
        parts = sp.And.make_args(bracket.args[0])
        kept = [part for part in parts if not implied(part, known)]
        gone = Iverson(sp.And(*[part for part in parts if part not in kept]))
        if dropped is not None and gone != 1 and gone not in dropped:
            dropped.append(gone)
        return Iverson(sp.And(*kept)) if kept else sp.S.One

    return expr.replace(lambda e: isinstance(e, Iverson), prune)


# --- brackets and deltas --------------------------------------------------------------------------


def as_deltas(expr: sp.Expr) -> sp.Expr:
    """Replace every bracket ``[a = b]`` by ``KroneckerDelta(a, b)`` (for differentiating)."""

    def is_eq_bracket(e):
        return isinstance(e, Iverson) and isinstance(e.args[0], sp.Eq)

    return expr.replace(is_eq_bracket, lambda e: sp.KroneckerDelta(*e.args[0].args))


def as_brackets(expr: sp.Expr) -> sp.Expr:
    """Replace every ``KroneckerDelta(a, b)`` by the bracket ``[a = b]`` (safe to evaluate).

    SymPy's summation of ``KroneckerDelta(m, s*i)`` over ``i`` does not check that ``m/s`` is an
    integer; the bracket, evaluated term by term at concrete indices, does.
    """
    return expr.replace(lambda e: isinstance(e, sp.KroneckerDelta), lambda e: Iverson(sp.Eq(*e.args)))
