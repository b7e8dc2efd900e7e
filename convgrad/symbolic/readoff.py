"""Tangent first, then the adjoint read off the pairing: the book's method, step by step.

For ``z = f(x, c)`` the adjoints are defined by ``<z_bar, z_dot> = <x_bar, x_dot> + <c_bar, c_dot>``
for every tangent. With index expressions (:class:`sympy.IndexedBase`, :class:`sympy.Sum`) and
general sizes:

1. the forward map, ``z_n = sum_k c_k x_{n+k}``;
2. its tangent by the product rule (:func:`linearise`), ``z_dot_n = sum_k (c_dot_k x_{n+k} +
   c_k x_dot_{n+k})``;
3. the pairing ``<z_bar, z_dot> = sum_n z_bar_n z_dot_n``, expanded into terms;
4. the terms in ``x_dot`` (they make up ``<x_bar, x_dot>``), re-indexed so that ``x_dot`` carries
   a free index: ``x_dot_{n+k} = sum_m delta(m, n+k) x_dot_m``;
5. each Kronecker delta summed out (:func:`convgrad.symbolic.deltas.sum_deltas`): ``k = m - n``,
   and the range of ``k`` becomes the bracket ``[0 <= m - n <= K - 1]`` (with a stride, also a
   divisibility bracket ``[s | ...]``);
6. the brackets that the range of ``m`` implies dropped (when there are any);
7. the read-off: ``x_bar_m`` is the coefficient of ``x_dot_m``.

:func:`read_off` does 4-7 and returns the steps; :func:`derive` does 1-7 for every operand and
returns a :class:`Derivation`, whose ``steps[name]`` display the whole chain and whose
:meth:`Derivation.check` compares a derived formula with the package at concrete sizes.
:func:`adjoint_from_pairing` is the same read-off starting from the pairing ``<z_bar, z>``.

Needs SymPy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.tensor.indexed import Indexed

from .arrays import Agreement, check_formula
from .brackets import as_deltas, prune_brackets
from .deltas import Elimination, sum_deltas
from .steps import Step, Steps, TeX, latex
from .sums import pull_sums, split_terms

__all__ = ["Derivation", "Read", "adjoint_from_pairing", "derive", "linearise", "read_off"]


def linearise(expr: sp.Expr, tangents: Mapping[sp.IndexedBase, sp.IndexedBase]) -> sp.Expr:
    """Tangent of an index expression: replace every ``a[i]`` by ``a[i] + e * a_dot[i]`` for the
    bases in ``tangents`` and differentiate at ``e = 0`` (the product rule, done by SymPy)."""
    eps = sp.Symbol("epsilon")

    def move(e):
        return isinstance(e, Indexed) and e.base in tangents

    moved = expr.replace(move, lambda e: e + eps * tangents[e.base][e.indices])
    return sp.diff(moved, eps).subs(eps, 0)


# --- reading an adjoint off the pairing -----------------------------------------------------------


def _primed(i: sp.Symbol, taken: set) -> sp.Symbol:
    """``i'`` (``k'_0`` for ``k_0``), with more primes if that name is taken."""
    head, sep, tail = str(i).partition("_")
    head += "'"
    while sp.Symbol(head + sep + tail, integer=True) in taken:
        head += "'"
    return sp.Symbol(head + sep + tail, integer=True)


def _split_linear(summand: sp.Expr, dot: sp.IndexedBase) -> tuple[sp.Expr, Indexed]:
    """``(rest, dot[idx])`` with ``summand = rest * dot[idx]``; the term must be linear in ``dot``."""
    found = [f for f in sp.Mul.make_args(summand) if isinstance(f, Indexed) and f.base == dot]
    rest = sp.Mul(*[f for f in sp.Mul.make_args(summand) if f not in found])
    if len(found) != 1 or rest.has(dot):
        raise ValueError(f"the term {summand} is not linear in {dot}")
    return rest, found[0]


def _range_tex(i: sp.Basic, lo: sp.Expr, hi: sp.Expr) -> str:
    return f"{latex(lo)} \\le {latex(i)} \\le {latex(hi)}"


def _elimination_caption(group: list[Elimination], term: int | None) -> str:
    where = f" (term {term})" if term is not None else ""
    if len(group) > 1 or group[0].is_rename:
        indices = ", ".join(f"${latex(e.index)}$" for e in group)
        sets = ", ".join(f"${latex(e.index)} = {latex(e.value)}$" for e in group)
        ranges = "its range becomes a bracket" if len(group) == 1 else "their ranges become brackets"
        deltas = "the deltas set" if len(group) > 1 else "the delta sets"
        return f"sum over {indices}{where}: {deltas} {sets}; {ranges}"
    e = group[0]
    i = latex(e.index)
    if e.q == 1:
        at = f"${i} = {latex(e.value)}$"
        lattice = ""
    else:
        at = f"${i} = ({latex(e.numerator)})/{latex(e.q)}$"
        lattice = f", an index only if ${latex(e.divides)}$"
    return (f"sum over ${i}${where}: the delta is 1 only at {at}{lattice}; the range "
            f"${_range_tex(e.index, e.lo, e.hi)}$ becomes ${latex(e.range_bracket)}$")


def read_off(
    pairing_dot: sp.Expr,
    dot_entry: Indexed,
    adjoint_entry: Indexed | sp.Symbol,
    *,
    eliminate: Sequence[sp.Symbol] = (),
    known: Mapping[sp.Symbol, tuple] | None = None,
) -> tuple[sp.Expr, list[Step]]:
    """Read the adjoint off a pairing of tangents as the coefficient of one tangent entry.

    Parameters
    ----------
    pairing_dot : the pairing ``<z_bar, z_dot>`` with the tangent put in, as nested Sums
    dot_entry : the tangent entry with symbolic indices, e.g. ``x_dot[m]``
    adjoint_entry : the adjoint's entry, e.g. ``x_bar[m]`` (the left-hand side of the last step)
    eliminate : summation indices to solve the deltas for first (the rest in alphabetical order)
    known : ranges ``{i: (lo, hi)}`` of the free indices of ``dot_entry``; brackets they imply are
        dropped

    Returns
    -------
    adjoint : sympy.Expr
        The coefficient of ``dot_entry``, deltas summed out, implied brackets dropped. A
        summation index that shares its name with a free index is renamed ``i'``.
    steps : list of Step
        The re-indexing, each delta summed out, the dropped brackets (if any) and the read-off.
    """
    known = dict(known or {})
    dot, free = dot_entry.base, tuple(dot_entry.indices)
    bar = adjoint_entry.base if isinstance(adjoint_entry, Indexed) else adjoint_entry
    part = TeX(rf"\langle {latex(bar)}, {latex(dot)} \rangle")
    terms = [t for t in split_terms(pairing_dot) if t.has(dot)]
    bound = {lim[0] for t in terms for s in t.atoms(sp.Sum) for lim in s.limits}
    taken = pairing_dot.free_symbols | bound | set(free)
    clash = {i: _primed(i, taken) for i in free if i in bound}
    # an index without a known range runs over all integers (only the displayed steps show it)
    free_limits = [(i, *known[i]) if i in known else (i, -sp.oo, sp.oo) for i in free]

    def whole(states: Sequence[sp.Expr]) -> sp.Expr:
        return sp.Sum(dot[free] * sp.Add(*states), *free_limits)

    states, limits_of, reindexed = [], [], []
    for term in terms:
        summand, limits = pull_sums(term.xreplace(clash))
        rest, item = _split_linear(summand, dot)
        deltas = sp.Mul(*[sp.KroneckerDelta(i, j) for i, j in zip(free, item.indices)])
        states.append(sp.Sum(rest * deltas, *limits) if limits else rest * deltas)
        limits_of.append((rest * deltas, limits))
        rule = (f"{latex(item)} = \\sum_{{{', '.join(latex(i) for i in free)}}} "
                f"{latex(deltas)}\\, {latex(dot[free])}")
        if rule not in reindexed:
            reindexed.append(rule)
    renamed = ""
    if clash:
        names = ", ".join(f"${latex(i)}$" for i in clash)
        primes = ", ".join(f"${latex(p)}$" for p in clash.values())
        renamed = f"rename the summation {'indices' if len(clash) > 1 else 'index'} {names} to {primes} and "
    steps = [Step(f"the terms in ${latex(dot)}$ make up ${latex(part)}$; {renamed}write "
                  + " and ".join(f"${r}$" for r in reindexed), part, whole(states))]

    for t, (summand, limits) in enumerate(limits_of):
        record: list[Elimination] = []
        states[t] = sum_deltas(summand, limits, eliminate=eliminate, known=known, record=record,
                               prune=False)
        groups: list[list[Elimination]] = []
        for e in record:
            if groups and e.is_rename and groups[-1][-1].is_rename:
                groups[-1].append(e)
            else:
                groups.append([e])
        shown = list(states)
        for group in groups:
            shown[t] = group[-1].result
            steps.append(Step(_elimination_caption(group, t + 1 if len(terms) > 1 else None), part,
                              whole(shown)))

    dropped: list[sp.Expr] = []
    states = [prune_brackets(s, known, dropped) for s in states]
    if dropped:
        ranges = ", ".join(f"${latex(i)}$" for i in free if i in known)
        brackets = ", ".join(f"${latex(b)}$" for b in dropped)
        steps.append(Step(f"drop the brackets that the range{'s' if len(free) > 1 else ''} of "
                          f"{ranges} make{'' if len(free) > 1 else 's'} 1: {brackets}", part, whole(states)))
    adjoint = sp.Add(*states)
    steps.append(Step(f"read off: ${latex(adjoint_entry)}$ is the coefficient of ${latex(dot_entry)}$",
                      adjoint_entry, adjoint))
    return adjoint, steps


def adjoint_from_pairing(
    pairing_expr: sp.Expr,
    wrt: Indexed,
    *,
    eliminate: Sequence[sp.Symbol] = (),
    known: Mapping[sp.Symbol, tuple] | None = None,
) -> sp.Expr:
    """The adjoint ``a_bar[i] = d <y_bar, y> / d a[i]`` at a general index, deltas summed out.

    The pairing is linearised in ``a`` and the adjoint read off as the coefficient of
    ``a_dot[i]`` (:func:`read_off`, whose steps this drops).

    Parameters
    ----------
    pairing_expr : the pairing ``<y_bar, y>`` as nested Sums of an index expression
    wrt : ``a[i, ...]`` with symbolic indices, e.g. ``x[m]``
    eliminate : summation indices to solve the deltas for first (the rest stay summed)
    known : ranges ``{i: (lo, hi)}`` of the free indices of ``wrt``, whose brackets are implied
    """
    dot = sp.IndexedBase(sp.Dummy("dot"))
    bar = sp.IndexedBase(sp.Dummy("bar"))
    pairing_dot = linearise(pairing_expr, {wrt.base: dot})
    adjoint, _ = read_off(pairing_dot, dot[wrt.indices], bar[wrt.indices], eliminate=eliminate,
                          known=known)
    return adjoint


# --- derivations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """How to read one adjoint off the pairing: at which entry, with which elimination order.

    Attributes
    ----------
    entry : sympy.Indexed
        The operand's entry with symbolic indices, e.g. ``x[m]``.
    known : dict
        ``{i: (lo, hi)}``, the range of each index of ``entry``.
    eliminate : tuple
        Summation indices to solve the deltas for first.
    adjoint : sympy.IndexedBase or None
        The adjoint's base (``\\bar{x}``); by default ``\\bar{name}`` of the operand's name.
    """

    entry: Indexed
    known: Mapping[sp.Symbol, tuple]
    eliminate: Sequence[sp.Symbol] = ()
    adjoint: sp.IndexedBase | None = None


def _entries(n: int, every: str = "") -> str:
    """``"3 entries"`` / ``"1 entry"`` (``every="all "``: ``"all 3 entries"`` / ``"the 1 entry"``)."""
    return f"the {n} entry" if n == 1 and every else f"{every}{n} entr{'y' if n == 1 else 'ies'}"


@dataclass
class Derivation:
    """One derivation: the forward map, its tangent, the pairing and the adjoints, with their steps.

    Attributes
    ----------
    symbols : dict
        The index, size and array symbols by name (``"x"``, ``"zbar"``, ``"m"``, ``"K"``, ...).
    forward, tangent : sympy.Eq
        ``z[n] = ...`` and ``z_dot[n] = ...``.
    pairing : sympy.Expr
        ``<z_bar, z>``, the forward map paired with the output adjoint.
    adjoints : dict
        ``{name: sympy.Eq}``, ``x_bar[m] = ...`` for each operand (and alternative forms, e.g.
        ``"x_by_k"``).
    steps : dict
        ``{name: Steps}``: for each adjoint, the displayed steps that produced it: forward map,
        tangent, pairing, re-indexing, deltas summed out, brackets dropped, read-off.
    shapes : dict
        The shape of every array (``x``, ``x_dot``, ``x_bar``, ``z_bar``, ...), keyed by its
        ``IndexedBase``, as a tuple of expressions in the size symbols; :meth:`check` builds
        symbol arrays from it.
    pairing_tangent : sympy.Expr or None
        ``<z_bar, z_dot>``, the pairing with the tangent put in, from which the adjoints are read.
    tangents : dict
        ``{x: x_dot, ...}``, the tangent base of each operand.
    reads : dict
        ``{name: Read}``, how each adjoint was read off (for :meth:`alternative`).
    """

    symbols: dict[str, Any]
    forward: sp.Eq
    tangent: sp.Eq
    pairing: sp.Expr
    adjoints: dict[str, sp.Eq]
    steps: dict[str, Steps] = field(default_factory=dict)
    shapes: dict[sp.Basic, tuple] = field(default_factory=dict)
    pairing_tangent: sp.Expr | None = None
    tangents: dict[sp.IndexedBase, sp.IndexedBase] = field(default_factory=dict)
    reads: dict[str, Read] = field(default_factory=dict)

    def alternative(self, name: str, of: str, *, eliminate: Sequence[sp.Symbol]) -> Derivation:
        """A copy with one more adjoint: that of ``of`` read off again, solving the deltas for the
        indices ``eliminate`` first, stored as ``adjoints[name]`` with its ``steps[name]``.

        ``conv1d_derivation().alternative("x_by_taps", of="x", eliminate=[n])`` sums over ``n``
        first and leaves a sum over the kernel taps ``k``.
        """
        if of not in self.reads or self.pairing_tangent is None:
            raise KeyError(f"no adjoint {of!r} to read again; this derivation has {sorted(self.reads)}")
        read = dataclasses.replace(self.reads[of], eliminate=tuple(eliminate))
        entry = self.adjoints[of].lhs
        dot_entry = self.tangents[read.entry.base][tuple(read.entry.indices)]
        rhs, read_steps = read_off(self.pairing_tangent, dot_entry, entry, eliminate=read.eliminate,
                                   known=read.known)
        return dataclasses.replace(self, adjoints={**self.adjoints, name: sp.Eq(entry, rhs)},
                                   steps={**self.steps, name: Steps([*self.steps[of][:3], *read_steps])},
                                   reads={**self.reads, name: read})

    def formula(self, name: str) -> sp.Eq:
        """``adjoints[name]``, or the forward map (``"forward"``) or its tangent (``"tangent"``)."""
        if name == "forward":
            return self.forward
        if name == "tangent":
            return self.tangent
        if name not in self.adjoints:
            raise KeyError(f"no formula {name!r}; this derivation has 'forward', 'tangent' and "
                           f"{sorted(self.adjoints)}")
        return self.adjoints[name]

    def check(
        self,
        name: str | Mapping[str, Callable[..., Any]],
        compute: Callable[..., Any] | None = None,
        *,
        sizes: Mapping[sp.Symbol | str, int] | Sequence[Mapping[sp.Symbol | str, int]],
        against: str = "convgrad's",
    ) -> Agreement:
        """Instantiate derived formulas at concrete sizes and compare them, entry by entry, exactly.

        Builds a symbol array for every array of the derivation (``x`` with entries ``x[0]``,
        ``x[1]``, ..., its shape from :attr:`shapes` at ``sizes``), calls ``compute`` with those it
        names as parameters (``compute(x=..., c=..., zbar=...)``, by their names in
        :attr:`symbols`), evaluates the derived formula at every index and checks that it equals
        ``compute``'s entry as a polynomial (:func:`convgrad.symbolic.arrays.is_zero`).

        Parameters
        ----------
        name : str or dict
            The formula (a key of :attr:`adjoints`, or ``"forward"``, ``"tangent"``); or a dict
            ``{name: compute}`` to check several at once.
        compute : callable
            Returns an array of the formula's shape (that of ``x`` for ``x_bar``), e.g.
            ``lambda zbar, c: cg.conv_grad_input(zbar[None, None], c[None, None], (1, 1, 8))[0, 0]``.
        sizes : dict or list of dicts
            Values of the size symbols, keyed by symbol or by name (``{"M": 8, "K": 3}``); a list
            checks each size set in turn.
        against : str
            How the summary names what was compared with.

        Returns
        -------
        Agreement
            One line per size set, e.g. ``x̄: all 8 entries equal convgrad's, at M=8, K=3``.

        Raises
        ------
        AssertionError
            At the first entry where the formula and ``compute`` differ, naming it.
        """
        computes = dict(name) if isinstance(name, Mapping) else {name: compute}
        if any(c is None for c in computes.values()):
            raise TypeError("check needs compute, a function returning the array to compare with")
        size_sets = [sizes] if isinstance(sizes, Mapping) else list(sizes)
        bases = {k: v for k, v in self.symbols.items() if isinstance(v, sp.IndexedBase) and v in self.shapes}
        lines = []
        for size_set in size_sets:
            values = self._sizes(size_set)
            counts = {key: check_formula(self.formula(key), fn, bases=bases, shapes=self.shapes,
                                         sizes=values, label=self._label(key))
                      for key, fn in computes.items()}
            at = ", ".join(f"{k}={v}" for k, v in self._size_names(size_set))
            if len(counts) == 1:
                (key, n), = counts.items()
                lines.append(f"{self._label(key)}: {_entries(n, 'all ')} equal{'s' if n == 1 else ''} "
                             f"{against}, at {at}")
            else:
                listed = ", ".join(f"{self._label(k)} ({_entries(n)})" for k, n in counts.items())
                lines.append(f"{listed}: all equal {against}, at {at}")
        return Agreement(lines)

    def _size_symbol(self, key: sp.Symbol | str) -> sp.Expr | None:
        """The size a key names: a symbol, or the expression or number the derivation fixes it to."""
        if not isinstance(key, str):
            return key
        value = self.symbols.get(key)
        if isinstance(value, sp.Expr) and not isinstance(value, sp.IndexedBase):
            return value
        for value in self.symbols.values():  # e.g. "O_0" inside the list symbols["O"]
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, sp.Expr):
                    found = [s for s in item.free_symbols if str(s) == key]
                    if found:
                        return found[0]
        return None

    def _sizes(self, size_set: Mapping[sp.Symbol | str, int]) -> dict[sp.Symbol, int]:
        values, derived = {}, []
        for key, value in size_set.items():
            sym = self._size_symbol(key)
            if sym is None:
                raise KeyError(f"no size {key!r} in this derivation; its symbols are {sorted(self.symbols)}")
            if isinstance(sym, sp.Symbol):
                values[sym] = int(value)
            else:
                derived.append((key, sym, value))
        for key, expr, value in derived:  # M = N + K - 1, or s fixed to 1
            if sp.sympify(expr).subs(values) != value:
                raise ValueError(f"{key} is {expr} in this derivation, which is not {value} at these sizes")
        return values

    def _size_names(self, size_set: Mapping[sp.Symbol | str, int]) -> list[tuple[str, int]]:
        return [(key if isinstance(key, str) else str(key), int(v)) for key, v in size_set.items()]

    def _label(self, key: str) -> str:
        from .steps import plain

        formula = self.formula(key)
        base = formula.lhs.base if isinstance(formula.lhs, Indexed) else formula.lhs
        label = plain(base)
        stripped = str(base).replace(r"\bar{", "").replace(r"\dot{", "").rstrip("}")
        return label if key in (stripped, "forward", "tangent") else f"{label} ({key})"


def _bar_of(base: sp.IndexedBase) -> sp.IndexedBase:
    return sp.IndexedBase(r"\bar{" + str(base) + "}")


def derive(
    *,
    output: Indexed | sp.Symbol,
    forward: sp.Expr,
    tangents: Mapping[sp.IndexedBase, sp.IndexedBase],
    output_dot: sp.IndexedBase | sp.Symbol,
    cotangent: sp.IndexedBase | sp.Symbol,
    ranges: Sequence[tuple],
    reads: Mapping[str, Read],
    symbols: dict[str, Any],
    shapes: Mapping[sp.IndexedBase, tuple] | None = None,
    deltas: bool = False,
) -> Derivation:
    """Carry out the whole method for one forward map and return the :class:`Derivation`.

    Parameters
    ----------
    output : ``z[n, ...]`` (or a scalar symbol ``q``), the forward map's left-hand side
    forward : its right-hand side, an index expression
    tangents : ``{x: x_dot, c: c_dot}``, the tangent base of each operand
    output_dot : the output's tangent base ``z_dot`` (a symbol for a scalar output)
    cotangent : the output adjoint ``z_bar`` (a symbol for a scalar output)
    ranges : ``(n, 0, N - 1), ...``: the ranges of the output's indices, for the pairing
    reads : ``{name: Read(...)}``, one per adjoint
    symbols : the derivation's symbols by name (stored in the result)
    shapes : the shape of each operand and of the output, keyed by base; the shapes of tangents
        and adjoints are filled in from them
    deltas : write index brackets ``[a = b]`` of the forward map as Kronecker deltas in the pairing

    Returns
    -------
    Derivation
    """
    indices = tuple(output.indices) if isinstance(output, Indexed) else ()
    zdot = output_dot[indices] if indices else output_dot
    zbar = cotangent[indices] if indices else cotangent
    tangent = linearise(forward, tangents)

    def paired(expr):
        expr = as_deltas(expr) if deltas else expr
        return sp.Sum(zbar * expr, *ranges) if ranges else zbar * expr

    pair, pair_dot = paired(forward), paired(tangent)
    part = TeX(rf"\langle {latex(cotangent)}, {latex(output_dot)} \rangle")
    sum_tex = (r"\sum_{" + ", ".join(latex(r[0]) for r in ranges) + "} ") if ranges else ""
    expanded = sp.Add(*[sp.Sum(s, *lims) if lims else s
                        for s, lims in (pull_sums(t) for t in split_terms(pair_dot))])
    note = r" (the brackets $[a = b]$ written as deltas $\delta_{a,b}$)" if deltas else ""
    where = ", ".join(f"${_range_tex(*r)}$" for r in ranges)
    common = [Step("the forward map" + (f", for {where}" if ranges else ""), output, forward),
              Step("its tangent (SymPy's product rule)", zdot, tangent),
              Step(f"the pairing ${latex(part)} = {sum_tex}{latex(zbar)}\\, {latex(zdot)}$, "
                   f"expanded{note}", part, expanded)]
    shapes = dict(shapes or {})
    for base, dot in tangents.items():
        if base in shapes:
            shapes.setdefault(dot, shapes[base])
    out_base = output.base if isinstance(output, Indexed) else None
    if out_base is not None and out_base in shapes:
        shapes.setdefault(output_dot, shapes[out_base])
        shapes.setdefault(cotangent, shapes[out_base])
    adjoints, steps = {}, {}
    for name, read in reads.items():
        base = read.entry.base
        bar = read.adjoint if read.adjoint is not None else _bar_of(base)
        if base in shapes:
            shapes.setdefault(bar, shapes[base])
        entry = bar[tuple(read.entry.indices)]
        rhs, read_steps = read_off(pair_dot, tangents[base][tuple(read.entry.indices)], entry,
                                   eliminate=read.eliminate, known=read.known)
        adjoints[name] = sp.Eq(entry, rhs)
        steps[name] = Steps(common + read_steps)
    return Derivation(symbols=symbols, forward=sp.Eq(output, forward), tangent=sp.Eq(zdot, tangent),
                      pairing=pair, adjoints=adjoints, steps=steps, shapes=shapes, pairing_tangent=pair_dot,
                      tangents=dict(tangents), reads=dict(reads))
