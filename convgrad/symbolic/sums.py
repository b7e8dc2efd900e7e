"""Index sums as data: split a sum of terms, pull nested sums out of a product.

A pairing such as ``Sum(z_bar[n] * Sum(c[k] * x[n + k], (k, 0, K-1)), (n, 0, N-1))`` is one
term with one summand ``z_bar[n] * c[k] * x[n + k]`` and the limits ``(n, 0, N-1)`` and
``(k, 0, K-1)``, outermost first. The delta elimination (:mod:`convgrad.symbolic.deltas`) works
on such (summand, limits) pairs; :func:`flatten_sum` compares two sums written with different
nestings.

Needs SymPy.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["flatten_sum", "pull_sums", "split_terms"]


def split_terms(expr: sp.Expr) -> list[sp.Expr]:
    """Split a (nested) Sum of a sum of terms into a list of Sums of single terms.

    ``Sum(a[n] * (b[n] + Sum(c[k], (k, 0, K-1))), (n, 0, N-1))`` gives
    ``[Sum(a[n]*b[n], (n, 0, N-1)), Sum(a[n]*Sum(c[k], (k, 0, K-1)), (n, 0, N-1))]`` (in SymPy's
    order of the terms).
    """
    expr = sp.expand(expr)
    if isinstance(expr, sp.Sum):
        return [sp.Sum(t, *expr.limits) for t in split_terms(expr.function)]
    if isinstance(expr, sp.Add):
        return [t for arg in expr.args for t in split_terms(arg)]
    if isinstance(expr, sp.Mul):
        parts = [[f] if not isinstance(f, (sp.Sum, sp.Add)) else split_terms(f) for f in expr.args]
        out = [sp.S.One]
        for options in parts:
            out = [a * b for a in out for b in options]
        return out
    return [expr]


def pull_sums(term: sp.Expr) -> tuple[sp.Expr, list[tuple]]:
    """``(summand, limits)`` of one term made of nested Sums and products, limits outermost first.

    ``Sum(a[o] * Sum(b[k], (k, 0, K-1)), (o, 0, O-1))`` gives ``(a[o]*b[k], [(o, 0, O-1),
    (k, 0, K-1)])``. A summand that is itself a sum of terms is kept as it is.
    """
    if isinstance(term, sp.Sum):
        inner, inner_limits = pull_sums(term.function)
        return inner, [tuple(lim) for lim in term.limits] + inner_limits
    if isinstance(term, sp.Mul):
        limits: list[tuple] = []
        factors = []
        for factor in term.args:
            if isinstance(factor, sp.Sum):
                inner, inner_limits = pull_sums(factor)
                factors.append(inner)
                limits.extend(inner_limits)
            else:
                factors.append(factor)
        return sp.Mul(*factors), limits
    return term, []


def flatten_sum(expr: sp.Expr) -> tuple[sp.Expr, tuple]:
    """One summand and the sorted limits of a (nested) Sum of one term, to compare two such sums.

    ``Sum(a[o] * Sum(b[k], (k, 0, K-1)), (o, 0, O-1))`` and
    ``Sum(a[o] * b[k], (o, 0, O-1), (k, 0, K-1))`` flatten to the same pair.
    """
    summand, limits = pull_sums(expr)
    return sp.expand(summand), tuple(sorted((tuple(lim) for lim in limits), key=str))
