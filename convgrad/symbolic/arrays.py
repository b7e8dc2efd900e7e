"""Concrete sizes: object arrays of symbols, run through convgrad's own functions.

The symbolic and the numeric paths run the same code: an object array whose entries are SymPy
symbols (:func:`symbol_array`) goes through ``cg.conv``, ``cg.conv_grad_input``, ... with
``method="reference"`` (chosen automatically for object arrays) and comes out as an array of
polynomials. Identities are checked by expanding to exactly zero (:func:`is_zero`), tangents of
such functions are taken with :func:`linearise_arrays`, matrices of linear maps built with
:func:`matrix_of`, and a general-size formula is evaluated at concrete sizes with
:func:`instantiate`. :func:`check_formula` does the last one at every entry and compares with a
function of symbol arrays (what :meth:`convgrad.symbolic.readoff.Derivation.check` calls).

Needs SymPy.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.tensor.indexed import Indexed

from .steps import plain

__all__ = [
    "Agreement",
    "check_formula",
    "instantiate",
    "is_zero",
    "linearise_arrays",
    "matrix_of",
    "pairing",
    "symbol_array",
]


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


# --- a derived formula against the package, at concrete sizes --------------------------------------


#: The widest line a summary prints: the book's code column at a 1280-px window.
SUMMARY_WIDTH = 76


class Agreement:
    """The summary of a successful :func:`check_formula` run: one line per size set.

    ``str(agreement)`` (and its notebook display) is the lines, each wrapped at
    ``SUMMARY_WIDTH`` (76) characters after a comma (continued with an indent);
    ``agreement.lines`` the list, unwrapped.
    """

    def __init__(self, lines: Sequence[str]):
        self.lines = list(lines)

    def __str__(self) -> str:
        return "\n".join(textwrap.fill(line, SUMMARY_WIDTH, subsequent_indent="    ",
                                       break_long_words=False, break_on_hyphens=False)
                         for line in self.lines)

    __repr__ = __str__


def _shape_at(shape: tuple, sizes: Mapping[sp.Symbol, int], what: str) -> tuple[int, ...]:
    out = []
    for n in shape:
        v = sp.sympify(n).subs(dict(sizes))
        if not v.is_Integer:
            missing = sorted(str(s) for s in v.free_symbols)
            raise ValueError(f"the shape of {what} needs the sizes {missing}")
        out.append(int(v))
    return tuple(out)


def check_formula(
    formula: sp.Eq,
    compute: Callable[..., object],
    *,
    bases: Mapping[str, sp.IndexedBase],
    shapes: Mapping[sp.Basic, tuple],
    sizes: Mapping[sp.Symbol, int],
    label: str | None = None,
) -> int:
    """Compare a general-size formula, instantiated at ``sizes``, with ``compute``, entry by entry.

    Parameters
    ----------
    formula : ``a_bar[i, j] = expr`` (or ``q = expr`` for a scalar)
    compute : callable
        Called with symbol arrays for the parameters it names (keys of ``bases``; parameters
        with a default that are not array names keep their default); returns an array of the
        shape of ``formula``'s left-hand side.
    bases : ``{name: IndexedBase}``, the arrays that ``compute`` may ask for
    shapes : the shape of each base (of ``formula``'s left-hand side too) in the size symbols
    sizes : values of the size symbols
    label : how the left-hand side is named in an error message

    Returns
    -------
    int
        The number of entries compared.

    Raises
    ------
    AssertionError
        At the first entry where the two differ, with both values.
    ValueError
        If ``compute`` returns the wrong shape, or a shape needs a size not given.
    """
    lhs, rhs = formula.lhs, formula.rhs
    label = label or plain(lhs)
    params = inspect.signature(compute).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    unknown = [name for name, p in params.items()
               if name not in bases and p.default is inspect.Parameter.empty and p.kind not in variadic]
    if unknown:
        raise TypeError(f"compute asks for {unknown}; the arrays of this derivation are {sorted(bases)}")
    arrays = {base: symbol_array(base, _shape_at(shapes[base], sizes, name))
              for name, base in bases.items() if takes_all or name in params}
    got = np.asarray(compute(**{name: arrays[base] for name, base in bases.items() if base in arrays}),
                     dtype=object)
    if isinstance(lhs, Indexed):
        shape, index = _shape_at(shapes[lhs.base], sizes, label), tuple(lhs.indices)
    else:
        shape, index = (), ()
    if got.shape != shape:
        raise ValueError(f"compute returned shape {got.shape}; {label} has shape {shape} at these sizes")
    # every array of the formula, also those compute did not ask for
    for base in rhs.atoms(sp.IndexedBase):
        if base not in arrays and base in shapes:
            arrays[base] = symbol_array(base, _shape_at(shapes[base], sizes, plain(base)))
    at = ", ".join(f"{k}={v}" for k, v in sizes.items())
    for idx in np.ndindex(*shape):
        derived = instantiate(rhs, arrays, {**sizes, **dict(zip(index, idx))})
        if not is_zero(derived - got[idx]):
            raise AssertionError(f"{label}{list(idx) if idx else ''} at {at}: the derived formula gives "
                                 f"{plain(sp.expand(derived))}, compute gives {plain(sp.expand(got[idx]))}")
    return int(np.prod(shape, dtype=int))
