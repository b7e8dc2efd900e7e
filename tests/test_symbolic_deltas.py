"""convgrad.symbolic.deltas: one delta solver for both kinds of index maps.

The package had two solvers: one for deltas whose summation index has coefficient +-1 (it refused
any other), one on the integer lattice that keeps a divisibility bracket. Frozen copies of both,
and of the read-off that differentiated the pairing with them, are kept here as references: the
single solver, reading each adjoint off the tangent, must give exactly their results on every
derivation that used them.
"""

from collections.abc import Mapping, Sequence

import pytest
import sympy as sp
from sympy.tensor.indexed import Indexed

import convgrad.symbolic as S
from convgrad.symbolic import (
    Divides,
    Elimination,
    Iverson,
    between,
    instantiate,
    is_zero,
    sum_deltas,
    symbol_array,
)
from convgrad.symbolic.brackets import prune_brackets

# --- the frozen references ------------------------------------------------------------------------


def _legacy_flatten(expr):
    expr = sp.expand(expr)
    limits, factors = [], []
    for factor in sp.Mul.make_args(expr):
        if isinstance(factor, sp.Sum):
            inner, inner_limits = _legacy_flatten(factor.function)
            factors.append(inner)
            limits.extend(factor.limits)
            limits.extend(inner_limits)
        else:
            factors.append(factor)
    return sp.Mul(*factors), limits


def _legacy_expand(expr):
    expr = sp.expand(expr)
    if isinstance(expr, sp.Sum):
        return [sp.Sum(t, *expr.limits) for t in _legacy_expand(expr.function)]
    if isinstance(expr, sp.Add):
        return [t for arg in expr.args for t in _legacy_expand(arg)]
    if isinstance(expr, sp.Mul):
        parts = [[f] if not isinstance(f, (sp.Sum, sp.Add)) else _legacy_expand(f) for f in expr.args]
        out = [sp.S.One]
        for options in parts:
            out = [a * b for a in out for b in options]
        return out
    return [expr]


def _legacy_drop_known(cond, known):
    kept = []
    for rel in sp.And.make_args(cond):
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


def legacy_unit(summand, limits, *, eliminate=(), known=None):
    """The old solver for coefficients +-1 (it raised on any other coefficient)."""
    known = dict(known or {})
    limits = [tuple(lim) for lim in limits]
    order = {s: i for i, s in enumerate(eliminate)}
    conditions = []
    while True:
        candidates = [
            (order.get(lim[0], len(order)), str(lim[0]), d, lim)
            for d in summand.atoms(sp.KroneckerDelta)
            for lim in limits
            if lim[0] in d.free_symbols
        ]
        if not candidates:
            break
        _, _, delta, lim = min(candidates, key=lambda t: (t[0], t[1]))
        index, lo, hi = lim
        difference = sp.expand(delta.args[0] - delta.args[1])
        coefficient = difference.coeff(index)
        if coefficient not in (1, -1) or index in (difference - coefficient * index).free_symbols:
            raise ValueError(f"cannot sum out {delta} over {index}: the coefficient is {coefficient}")
        value = sp.solve(sp.Eq(*delta.args), index)[0]
        summand = summand.subs(delta, 1).subs(index, value)
        limits.remove(lim)
        conditions = [c.subs(index, value) for c in conditions]
        conditions.append(sp.And(sp.Le(lo, value), sp.Le(value, hi)))
    brackets = [_legacy_drop_known(c, known) for c in conditions]
    result = summand * sp.Mul(*[Iverson(c) for c in brackets if c is not sp.true])
    return sp.Sum(result, *limits) if limits else result


def _legacy_solve_linear(delta, index):
    e = sp.expand(delta.args[0] - delta.args[1])
    alpha = e.coeff(index)
    if alpha == 0 or index in alpha.free_symbols or sp.diff(e, index, 2) != 0:
        return None
    beta = sp.expand(e - alpha * index)
    q, numerator = (-alpha, beta) if alpha.is_negative else (alpha, -beta)
    return numerator / q, numerator, q


def legacy_lattice(summand, limits, *, eliminate=(), known=None):
    """The old lattice solver (divisibility brackets, implied brackets pruned)."""
    known = dict(known or {})
    limits = [tuple(lim) for lim in limits]
    order = {s: i for i, s in enumerate(eliminate)}
    brackets = []
    while True:
        candidates = [
            (order.get(lim[0], len(order)), str(lim[0]), d, lim)
            for d in summand.atoms(sp.KroneckerDelta)
            for lim in limits
            if lim[0] in d.free_symbols and _legacy_solve_linear(d, lim[0]) is not None
        ]
        if not candidates:
            break
        _, _, delta, lim = min(candidates, key=lambda t: (t[0], t[1]))
        index, lo, hi = lim
        value, numerator, q = _legacy_solve_linear(delta, index)
        summand = summand.subs(delta, 1).subs(index, value)
        brackets = [b.subs(index, value) for b in brackets]
        limits.remove(lim)
        brackets.append(Divides(q, numerator))
        brackets.append(Iverson(sp.And(sp.Le(sp.expand(q * lo), numerator), sp.Le(numerator, q * hi))))
    result = prune_brackets(summand * sp.Mul(*brackets), known)
    return sp.Sum(result, *limits) if limits else result


def legacy_adjoint(pairing, wrt: Indexed, solver, *, eliminate: Sequence = (), known: Mapping | None = None):
    """The old read-off: differentiate the pairing by ``wrt`` and sum out each term's deltas."""
    fresh = {i: sp.Dummy(str(i), integer=True) for i in wrt.indices if isinstance(i, sp.Symbol)}
    known_fresh = {fresh.get(i, i): rng for i, rng in (known or {}).items()}
    derivative = sp.diff(pairing, wrt.xreplace(fresh))
    terms = [
        solver(*_legacy_flatten(t), eliminate=eliminate, known=known_fresh)
        for t in _legacy_expand(derivative)
    ]
    result = sp.Add(*terms)
    bound = {lim[0] for s in result.atoms(sp.Sum) for lim in s.limits}
    result = result.xreplace({i: sp.Symbol(f"{i}'", integer=True) for i in fresh if i in bound})
    return result.xreplace({d: i for i, d in fresh.items()})


# --- the single solver against them ---------------------------------------------------------------

# each derivation with the solver it used before
UNIT, LATTICE = "unit", "lattice"
CASES = [
    (S.matvec_derivation, (), UNIT),
    (S.quadratic_form_derivation, (), UNIT),
    (S.convolution1d_derivation, (), UNIT),
    (S.conv1d_derivation, (), UNIT),
    (S.conv_multichannel_derivation, (), UNIT),
    (S.conv2d_nhwc_derivation, (), UNIT),
    (S.grouped_conv_derivation, (), UNIT),
    (S.transposed_conv_derivation, (), UNIT),
    (S.pad_derivation, (), LATTICE),
    (S.conv1d_options_derivation, (), LATTICE),
    (S.conv1d_options_derivation, (2, None), LATTICE),
    (S.conv1d_options_derivation, (1, 1), LATTICE),
    (S.nd_conv_derivation, (2,), LATTICE),
]

# how each adjoint was read off before: the entry's indices, the elimination order, the known ranges
READS = {
    "matvec_derivation": {
        "x": ("j", [], {"j": (0, "J - 1")}),
        "W": ("i j", [], {"i": (0, "I - 1"), "j": (0, "J - 1")}),
    },
    "quadratic_form_derivation": {"x": ("m", [], {"m": (0, "I - 1")})},
    "convolution1d_derivation": {
        "x": ("m", ["j"], {"m": (0, "N + K - 2")}),
        "a": ("j", [], {"j": (0, "K - 1")}),
    },
    "conv1d_derivation": {"x": ("m", ["k"], {"m": (0, "N + K - 2")}), "c": ("k", [], {"k": (0, "K - 1")})},
    "conv_multichannel_derivation": {
        "x": ("n c m", ["k"], {"n": (0, "N - 1"), "c": (0, "C - 1"), "m": (0, "O + K - 2")}),
        "w": ("f c k", [], {"f": (0, "F - 1"), "c": (0, "C - 1"), "k": (0, "K - 1")}),
    },
    "conv2d_nhwc_derivation": {
        "X": (
            "n p q c",
            ["i", "j"],
            {"n": (0, "N - 1"), "c": (0, "C - 1"), "p": (0, "H_o + K_h - 2"), "q": (0, "W_o + K_w - 2")},
        ),
        "K": (
            "f i j c",
            [],
            {"f": (0, "F - 1"), "i": (0, "K_h - 1"), "j": (0, "K_w - 1"), "c": (0, "C - 1")},
        ),
        "B": ("f", [], {"f": (0, "F - 1")}),
    },
    "grouped_conv_derivation": {
        "x": (
            "n h c m",
            ["k"],
            {"n": (0, "N - 1"), "h": (0, "G - 1"), "c": (0, "C_G - 1"), "m": (0, "O + K - 2")},
        ),
        "w": (
            "h f c k",
            [],
            {"h": (0, "G - 1"), "f": (0, "F_G - 1"), "c": (0, "C_G - 1"), "k": (0, "K - 1")},
        ),
    },
    "transposed_conv_derivation": {
        "x": ("i", ["m"], {"i": (0, "I - 1")}),
        "w": ("k", ["m"], {"k": (0, "K - 1")}),
    },
    "pad_derivation": {"x": ("m", ["j"], {"m": (0, "M - 1")})},
    "conv1d_options_derivation": {
        "x": ("m", ["k"], {"m": (0, "M - 1")}),
        "x_by_k": ("m", ["o"], {"m": (0, "M - 1")}),
        "c": ("k", [], {"k": (0, "K - 1")}),
    },
}


def _symbols(der):
    """Every symbol of a derivation by name (sizes, indices; not the arrays)."""
    return {
        str(a): a
        for v in der.symbols.values()
        if isinstance(v, sp.Expr) and not isinstance(v, sp.IndexedBase)
        for a in v.free_symbols
    }


@pytest.mark.parametrize("make,args,which", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_single_solver_reproduces_the_old_solvers(make, args, which):
    der = make(*args)
    solver = legacy_unit if which == UNIT else legacy_lattice
    if make is S.nd_conv_derivation:
        sy = der.symbols
        ax = range(args[0])
        reads = {
            "x": (
                (sy["n"], sy["c"], *sy["m"]),
                list(sy["o"]),
                {
                    sy["n"]: (0, sy["N"] - 1),
                    sy["c"]: (0, sy["C"] - 1),
                    **{sy["m"][a]: (0, sy["M"][a] - 1) for a in ax},
                },
            ),
            "w": (
                (sy["f"], sy["c"], *sy["k"]),
                [],
                {
                    sy["f"]: (0, sy["F"] - 1),
                    sy["c"]: (0, sy["C"] - 1),
                    **{sy["k"][a]: (0, sy["K"][a] - 1) for a in ax},
                },
            ),
        }
    else:
        names = _symbols(der)
        reads = {}
        for key, (idx, elim, known) in READS[make.__name__].items():
            reads[key] = (
                tuple(names[i] for i in idx.split()),
                [names[e] for e in elim],
                {names[i]: (lo, sp.sympify(hi, locals=names)) for i, (lo, hi) in known.items()},
            )
    assert set(reads) == set(der.adjoints)
    for key, (indices, eliminate, known) in reads.items():
        base = der.symbols[key.split("_")[0]]
        want = legacy_adjoint(der.pairing, base[indices], solver, eliminate=eliminate, known=known)
        assert der.adjoints[key].rhs == want, key


def test_the_old_unit_solver_refused_what_the_lattice_solver_sums_exactly():
    """delta(m, 2*o) summed over o needs '2 divides m': the old solver refused, the new one keeps
    the bracket [2 | m] and is right at every m."""
    m, o = sp.symbols("m o", integer=True)
    z = sp.IndexedBase("z")
    with pytest.raises(ValueError, match="coefficient"):
        legacy_unit(z[o] * sp.KroneckerDelta(m, 2 * o), [(o, 0, 5)])
    got = sum_deltas(z[o] * sp.KroneckerDelta(m, 2 * o), [(o, 0, 5)])
    assert got == z[m / 2] * Divides(2, m) * between(0, m, 10)
    zs = symbol_array(z, (6,))
    for mi in range(-2, 14):
        want = zs[mi // 2] if mi % 2 == 0 and 0 <= mi <= 10 else 0
        assert is_zero(instantiate(got, {z: zs}, {m: mi}) - want)


def test_sum_deltas_records_each_elimination():
    m, n, k = sp.symbols("m n k", integer=True)
    N, K = sp.symbols("N K", integer=True, positive=True)
    zb, c = sp.IndexedBase("zb"), sp.IndexedBase("c")
    record: list[Elimination] = []
    got = sum_deltas(
        zb[n] * c[k] * sp.KroneckerDelta(m, n + k),
        [(n, 0, N - 1), (k, 0, K - 1)],
        eliminate=[k],
        record=record,
    )
    (e,) = record
    assert (e.index, e.value, e.lo, e.hi, e.q) == (k, m - n, 0, K - 1, 1)
    assert e.range_bracket == between(0, m - n, K - 1) and e.divides == 1 and not e.is_rename
    assert e.result == got == sp.Sum(zb[n] * c[m - n] * between(0, m - n, K - 1), (n, 0, N - 1))


def test_sum_deltas_records_the_divisibility_bracket():
    m, o, k = sp.symbols("m o k", integer=True)
    O = sp.Symbol("O", integer=True, positive=True)  # noqa: E741
    s = sp.Symbol("s", integer=True, positive=True)
    z = sp.IndexedBase("z")
    record = []
    got = sum_deltas(z[o] * sp.KroneckerDelta(m - k, s * o), [(o, 0, O - 1)], record=record)
    (e,) = record
    assert (e.value, e.numerator, e.q) == ((m - k) / s, m - k, s)
    assert e.divides == Divides(s, m - k)
    assert e.range_bracket == between(0, m - k, s * (O - 1))
    assert got == z[(m - k) / s] * Divides(s, m - k) * between(0, m - k, s * (O - 1))


def test_sum_deltas_prunes_only_what_the_known_ranges_imply():
    m, j = sp.symbols("m j", integer=True)
    M = sp.Symbol("M", integer=True, positive=True)
    p = sp.Symbol("p", integer=True, nonnegative=True)
    x = sp.IndexedBase("x")
    summand = x[j] * sp.KroneckerDelta(m + p, j)
    kept = sum_deltas(summand, [(j, 0, M + p - 1)])
    pruned = sum_deltas(summand, [(j, 0, M + p - 1)], known={m: (0, M - 1)})
    assert kept == x[m + p] * between(0, m + p, M + p - 1)
    assert pruned == x[m + p]
    assert sum_deltas(summand, [(j, 0, M + p - 1)], known={m: (0, M - 1)}, prune=False) == kept
