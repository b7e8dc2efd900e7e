"""A small SymPy toolkit for deriving and checking convolution gradients.

Two ways to work, used side by side in the book:

* **General sizes.** Index expressions with :class:`sympy.IndexedBase` and :class:`sympy.Sum`:
  write the forward map, get its tangent with :func:`linearise`, and get each adjoint by
  differentiating the pairing ``<y_bar, y>`` with :func:`adjoint_from_pairing`, which sums out the
  Kronecker deltas and leaves the support conditions as Iverson brackets ``[lo <= i <= hi]``.
* **Concrete sizes.** Object arrays of symbols (:func:`symbol_array`) fed through convgrad's own
  functions, so the symbolic and the numeric paths run the same code; identities are checked by
  expanding to exactly zero (:func:`is_zero`), and a general formula is evaluated at concrete sizes
  with :func:`instantiate` to compare it with the package.

Needs SymPy (``pip install sympy``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.tensor.indexed import Indexed


class Iverson(sp.Function):
    """The Iverson bracket ``[P]``: 1 if the condition ``P`` holds, else 0.

    It stays unevaluated while ``P`` involves free symbols and becomes 1 or 0 once ``P`` can be
    decided, e.g. after :func:`instantiate` substitutes numbers.
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

    def _chain(self):
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
        chain = self._chain()
        if chain:
            inner = r" \le ".join(printer._print(t) for t in chain)
        else:
            inner = printer._print(self.args[0])
        return r"\left[" + inner + r"\right]"

    def _sympystr(self, printer):
        chain = self._chain()
        inner = " <= ".join(printer._print(t) for t in chain) if chain else printer._print(self.args[0])
        return "[" + inner + "]"


# --- concrete sizes -------------------------------------------------------------------------------


def symbol_array(base: str | sp.IndexedBase, shape: Sequence[int]) -> np.ndarray:
    """An object array whose entry at ``idx`` is the SymPy ``base[idx]``.

    >>> symbol_array("x", (2,))
    array([x[0], x[1]], dtype=object)
    """
    base = sp.IndexedBase(base) if isinstance(base, str) else base
    out = np.empty(tuple(shape), dtype=object)
    for idx in np.ndindex(*out.shape):
        out[idx] = base[idx]
    return out


def pairing(a: np.ndarray, b: np.ndarray) -> sp.Expr:
    """``<a, b> = sum_i a_i b_i`` of two arrays of the same shape, as one SymPy expression."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"pairing needs equal shapes, got {a.shape} and {b.shape}")
    return sp.Add(*[sp.sympify(u) * sp.sympify(v) for u, v in zip(a.flat, b.flat)])


def is_zero(expr: object) -> bool:
    """True if ``expr`` expands to exactly 0 (entrywise for arrays)."""
    if isinstance(expr, np.ndarray):
        return all(is_zero(e) for e in expr.flat)
    return sp.expand(sp.sympify(expr)) == 0


def linearise_arrays(
    f: Callable[..., np.ndarray], args: Sequence[np.ndarray], dots: Sequence[np.ndarray]
) -> np.ndarray:
    """The tangent ``d/de f(a + e a_dot)`` at ``e = 0`` of a function of object arrays."""
    eps = sp.Symbol("epsilon")
    moved = [np.asarray(a, dtype=object) + eps * np.asarray(d, dtype=object) for a, d in zip(args, dots)]
    y = f(*moved)
    return np.vectorize(lambda e: sp.expand(sp.diff(e, eps).subs(eps, 0)), otypes=[object])(y)


def matrix_of(f: Callable[[np.ndarray], np.ndarray], in_shape: Sequence[int]) -> sp.Matrix:
    """The matrix of a linear map between arrays: column ``j`` is ``f(e_j)`` flattened.

    Both the input and the output are flattened in C order. With symbol arrays inside ``f``
    (say a symbolic kernel) the entries are symbols; the transpose of this matrix is the matrix of
    the adjoint map.
    """
    size = int(np.prod(tuple(in_shape)))
    columns = []
    for j in range(size):
        e = np.zeros(size, dtype=object)
        e[j] = sp.Integer(1)
        columns.append(np.asarray(f(e.reshape(tuple(in_shape))), dtype=object).reshape(-1))
    return sp.Matrix(np.stack(columns, axis=1).tolist())


# --- general sizes --------------------------------------------------------------------------------


def linearise(expr: sp.Expr, tangents: Mapping[sp.IndexedBase, sp.IndexedBase]) -> sp.Expr:
    """Tangent of an index expression: replace every ``a[i]`` by ``a[i] + e * a_dot[i]`` for the
    bases in ``tangents`` and differentiate at ``e = 0`` (the product rule, done by SymPy)."""
    eps = sp.Symbol("epsilon")

    def move(e):
        return isinstance(e, Indexed) and e.base in tangents

    moved = expr.replace(move, lambda e: e + eps * tangents[e.base][e.indices])
    return sp.diff(moved, eps).subs(eps, 0)


def _flatten_sums(expr: sp.Expr) -> tuple[sp.Expr, list[tuple]]:
    """Pull every (possibly nested) Sum in a product out to one summand and one list of limits."""
    expr = sp.expand(expr)
    if isinstance(expr, sp.Add):
        raise ValueError("_flatten_sums takes one term; split sums of terms first")
    limits: list[tuple] = []
    factors = []
    for factor in sp.Mul.make_args(expr):
        if isinstance(factor, sp.Sum):
            inner, inner_limits = _flatten_sums(factor.function)
            factors.append(inner)
            limits.extend(factor.limits)
            limits.extend(inner_limits)
        else:
            factors.append(factor)
    return sp.Mul(*factors), limits


def _expand_sums(expr: sp.Expr) -> list[sp.Expr]:
    """Split a Sum of a sum of terms into a list of Sums of single terms."""
    expr = sp.expand(expr)
    if isinstance(expr, sp.Sum):
        terms = _expand_sums(expr.function)
        return [sp.Sum(t, *expr.limits) for t in terms]
    if isinstance(expr, sp.Add):
        return [t for arg in expr.args for t in _expand_sums(arg)]
    if isinstance(expr, sp.Mul):
        parts = [[f] if not isinstance(f, (sp.Sum, sp.Add)) else _expand_sums(f) for f in expr.args]
        out = [sp.S.One]
        for options in parts:
            out = [a * b for a in out for b in options]
        return out
    return [expr]


def sum_deltas(
    summand: sp.Expr,
    limits: Iterable[tuple],
    *,
    eliminate: Sequence[sp.Symbol] = (),
    known: Mapping[sp.Symbol, tuple] | None = None,
) -> sp.Expr:
    """Sum out the Kronecker deltas of ``Sum(summand, *limits)``.

    Each delta ``KroneckerDelta(a, b)`` that involves a summation index is solved for one such
    index (those in ``eliminate`` first, in that order), the index is substituted everywhere, and
    its range becomes an Iverson bracket. Brackets that hold for every index in ``known``
    (``{index: (lo, hi)}``, the ranges of free indices) are dropped.
    """
    known = dict(known or {})
    limits = [tuple(lim) for lim in limits]
    order = {s: i for i, s in enumerate(eliminate)}
    conditions = []
    while True:
        deltas = [d for d in summand.atoms(sp.KroneckerDelta)]
        candidates = []
        for d in deltas:
            for lim in limits:
                if lim[0] in d.free_symbols:
                    candidates.append((order.get(lim[0], len(order)), str(lim[0]), d, lim))
        if not candidates:
            break
        _, _, delta, lim = min(candidates, key=lambda t: (t[0], t[1]))
        index, lo, hi = lim
        difference = sp.expand(delta.args[0] - delta.args[1])
        coefficient = difference.coeff(index)
        if coefficient not in (1, -1) or index in (difference - coefficient * index).free_symbols:
            # Solving s*o = m for o needs the condition "s divides m", which a bracket of the
            # range alone would drop: convgrad.symbolic.options handles such deltas.
            raise ValueError(
                f"cannot sum out {delta} over {index}: the coefficient of {index} is "
                f"{coefficient}, not +1 or -1 (use convgrad.symbolic.options.adjoint_lattice)"
            )
        value = sp.solve(sp.Eq(*delta.args), index)[0]
        summand = summand.subs(delta, 1).subs(index, value)
        limits.remove(lim)
        conditions = [c.subs(index, value) for c in conditions]
        conditions.append(sp.And(sp.Le(lo, value), sp.Le(value, hi)))
    brackets = [_drop_known(c, known) for c in conditions]
    result = summand * sp.Mul(*[Iverson(c) for c in brackets if c is not sp.true])
    return sp.Sum(result, *limits) if limits else result


def _drop_known(cond: sp.Basic, known: Mapping[sp.Symbol, tuple]) -> sp.Basic:
    """Drop the inequalities ``lo <= i`` and ``i <= hi`` implied by a known range of ``i``."""
    kept = []
    for part in sp.And.make_args(cond):
        rel = part
        if rel in (sp.true, True):
            continue
        if isinstance(rel, (sp.Le, sp.Ge)):
            small, big = (rel.lhs, rel.rhs) if isinstance(rel, sp.Le) else (rel.rhs, rel.lhs)
            if big in known and sp.simplify(small - known[big][0]) == 0:
                continue
            if small in known and sp.simplify(big - known[small][1]) == 0:
                continue
        kept.append(rel)
    return sp.And(*kept) if kept else sp.true


def adjoint_from_pairing(
    pairing_expr: sp.Expr,
    wrt: Indexed,
    *,
    eliminate: Sequence[sp.Symbol] = (),
    known: Mapping[sp.Symbol, tuple] | None = None,
    sum_out: Callable[..., sp.Expr] | None = None,
) -> sp.Expr:
    """The adjoint ``a_bar[i] = d <y_bar, y> / d a[i]`` at a general index, deltas summed out.

    Parameters
    ----------
    pairing_expr : the pairing ``<y_bar, y>`` as nested Sums of an index expression
    wrt : ``a[i, ...]`` with symbolic indices, e.g. ``x[m]``
    eliminate : summation indices to solve the deltas for first (the rest stay summed)
    known : ranges ``{i: (lo, hi)}`` of the free indices of ``wrt``, whose brackets are implied
    sum_out : the function that sums out the deltas of one term, called as
        ``sum_out(summand, limits, eliminate=..., known=...)``; :func:`sum_deltas` by default,
        :func:`convgrad.symbolic.options.sum_deltas_lattice` for strides and dilations
    """
    # Differentiate by an entry with fresh index symbols, so that a free index that shares its
    # name with a summation index (x[n] and the sum over n) is not confused with it.
    fresh = {i: sp.Dummy(str(i), integer=True) for i in wrt.indices if isinstance(i, sp.Symbol)}
    known_fresh = {fresh.get(i, i): rng for i, rng in (known or {}).items()}
    derivative = sp.diff(pairing_expr, wrt.xreplace(fresh))
    terms = []
    for term in _expand_sums(derivative):
        summand, limits = _flatten_sums(term)
        terms.append((sum_out or sum_deltas)(summand, limits, eliminate=eliminate, known=known_fresh))
    result = sp.Add(*terms)
    bound = {lim[0] for s in result.atoms(sp.Sum) for lim in s.limits}
    # a summation index that still shares a name with a free index is renamed i -> i'
    result = result.xreplace({i: sp.Symbol(f"{i}'", integer=True) for i in fresh if i in bound})
    return result.xreplace({d: i for i, d in fresh.items()})


def instantiate(
    expr: sp.Expr,
    arrays: Mapping[sp.IndexedBase, np.ndarray],
    values: Mapping[sp.Symbol, int],
) -> sp.Expr:
    """Evaluate an index expression at concrete sizes and indices.

    Substitutes ``values`` (sizes and free indices), evaluates the now finite sums, and replaces
    every ``a[i]`` with ``arrays[a][i]`` (an entry of a symbol array or a number). An index outside
    an array raises ``IndexError`` instead of wrapping around.
    """
    e = sp.sympify(expr).subs(dict(values)).doit()

    def lookup(item):
        arr = arrays[item.base]
        if not all(getattr(i, "is_Integer", False) for i in item.indices):
            raise ValueError(f"{item} has an index that is not an integer after substitution")
        idx = tuple(int(i) for i in item.indices)
        if any(i < 0 or i >= n for i, n in zip(idx, arr.shape)):
            raise IndexError(f"{item} lies outside {item.base} of shape {arr.shape}")
        return sp.sympify(arr[idx])

    return e.replace(lambda t: isinstance(t, Indexed) and t.base in arrays, lookup)
