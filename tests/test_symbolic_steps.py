"""convgrad.symbolic.readoff and .steps: every derivation returns the steps that produced its
adjoints, each step is a valid equality, the rendering fits the book's text column, and
Derivation.check compares a derived formula with the package at concrete sizes."""

import dataclasses
import re

import numpy as np
import pytest
import sympy as sp

import convgrad as cg
import convgrad.symbolic as S
from convgrad.symbolic import Divides, Step, Steps, as_brackets, instantiate, is_zero, pairing, symbol_array
from convgrad.symbolic.steps import LINE_WIDTH, _width, latex

ALL = [
    (S.matvec_derivation, ()),
    (S.quadratic_form_derivation, ()),
    (S.convolution1d_derivation, ()),
    (S.conv1d_derivation, ()),
    (S.conv_multichannel_derivation, ()),
    (S.conv2d_nhwc_derivation, ()),
    (S.pad_derivation, ()),
    (S.conv1d_options_derivation, ()),
    (S.conv1d_options_derivation, (None, 1)),
    (S.grouped_conv_derivation, ()),
    (S.transposed_conv_derivation, ()),
    (S.nd_conv_derivation, (1,)),
    (S.nd_conv_derivation, (2,)),
]


def _id(v):
    return getattr(v, "__name__", str(v))


@pytest.fixture(scope="module")
def derivations():
    return {(make.__name__, args): make(*args) for make, args in ALL}


@pytest.mark.parametrize("make,args", ALL, ids=_id)
def test_every_adjoint_comes_with_its_steps(derivations, make, args):
    der = derivations[make.__name__, args]
    assert set(der.steps) == set(der.adjoints)
    for name, steps in der.steps.items():
        assert isinstance(steps, Steps) and len(steps) >= 5
        assert [s.number for s in steps] == list(range(1, len(steps) + 1))
        assert (steps[0].lhs, steps[0].rhs) == (der.forward.lhs, der.forward.rhs)
        assert (steps[1].lhs, steps[1].rhs) == (der.tangent.lhs, der.tangent.rhs)
        assert steps[0].caption.startswith("the forward map") and "tangent" in steps[1].caption
        assert steps[2].caption.startswith("the pairing")
        assert steps[3].caption.startswith("the terms in")
        assert steps[-1].caption.startswith("read off")
        # the last step is the adjoint
        assert (steps[-1].lhs, steps[-1].rhs) == (der.adjoints[name].lhs, der.adjoints[name].rhs)
        # the steps between the re-indexing and the read-off rewrite one pairing <x_bar, x_dot>
        assert len({s.lhs for s in steps[3:-1]}) == 1
        middle = [s.caption for s in steps[4:-1]]
        assert all(c.startswith(("sum over", "drop the brackets")) for c in middle)


def test_conv1d_input_gradient_steps():
    """The steps the reader sees for x_bar of z_n = sum_k c_k x_{n+k}, pinned."""
    der = S.conv1d_derivation()
    sy = der.symbols
    n, k, m, N, K = (sy[i] for i in ("n", "k", "m", "N", "K"))
    x, c, zbar, xdot = sy["x"], sy["c"], sy["zbar"], sy["xdot"]
    steps = der.steps["x"]
    assert [s.caption for s in steps] == [
        r"the forward map, for $0 \le n \le N - 1$",
        "its tangent (SymPy's product rule)",
        r"the pairing $\langle \bar{z}, \dot{z} \rangle = \sum_{n} {\bar{z}}_{n}\, {\dot{z}}_{n}$, expanded",
        r"the terms in $\dot{x}$ make up $\langle \bar{x}, \dot{x} \rangle$; write "
        r"${\dot{x}}_{k + n} = \sum_{m} \delta_{m,\, k + n}\, {\dot{x}}_{m}$",
        r"sum over $k$: the delta is 1 only at $k = m - n$; the range $0 \le k \le K - 1$ becomes "
        r"$\left[0 \le m - n \le K - 1\right]$",
        r"read off: ${\bar{x}}_{m}$ is the coefficient of ${\dot{x}}_{m}$",
    ]
    assert steps[3].rhs == sp.Sum(
        xdot[m] * sp.Sum(zbar[n] * c[k] * sp.KroneckerDelta(m, n + k), (n, 0, N - 1), (k, 0, K - 1)),
        (m, 0, N + K - 2),
    )
    assert steps[4].rhs == sp.Sum(
        xdot[m] * sp.Sum(zbar[n] * c[m - n] * S.between(0, m - n, K - 1), (n, 0, N - 1)), (m, 0, N + K - 2)
    )
    assert str(steps[-1]) == (
        "6. read off: x\u0304_m is the coefficient of x\u0307_m\n"
        "    x\u0304[m] = Sum(z\u0304[n]*c[m - n]*[0 <= m - n <= K - 1], (n, 0, N - 1))"
    )
    assert x not in steps[-1].rhs.atoms(sp.IndexedBase)


def test_strided_steps_show_the_divisibility_bracket_and_the_dropped_bracket():
    der = S.conv1d_options_derivation(dilation=1)
    steps = der.steps["x_by_k"]
    sy = der.symbols
    o, k, m, s, p = (sy[i] for i in ("o", "k", "m", "s", "p_lo"))
    captions = [st.caption for st in steps]
    assert captions[4] == (
        r"sum over $o$: the delta is 1 only at $o = (m + p_{\mathrm{lo}} - k)/s$, an index only "
        r"if $\left[s \mid m + p_{\mathrm{lo}} - k\right]$; the range $0 \le o \le O - 1$ "
        r"becomes $\left[0 \le m + p_{\mathrm{lo}} - k \le s \left(O - 1\right)\right]$"
    )
    assert captions[5] == r"drop the brackets that the range of $m$ makes 1: $\left[0 \le m \le M - 1\right]$"
    assert steps[4].rhs.has(Divides(s, m + p - k)) and steps[4].rhs.has(S.between(0, m, sy["M"] - 1))
    assert not steps[5].rhs.has(S.between(0, m, sy["M"] - 1))
    # the padding-only derivation has no divisibility bracket and nothing to drop but the padding
    plain = S.conv1d_options_derivation(stride=1, dilation=1).steps["x"]
    assert not any(st.rhs.atoms(Divides) for st in plain)
    assert o not in steps[-1].rhs.free_symbols and k not in steps[-1].rhs.free_symbols


# --- each step is a valid equality ----------------------------------------------------------------

# (derivation, its arguments, adjoint, sizes): small sizes at which the steps are instantiated
VALID = [
    (S.conv1d_derivation, (), "x", dict(N=3, K=2)),
    (S.conv1d_derivation, (), "c", dict(N=3, K=2)),
    (S.quadratic_form_derivation, (), "x", dict(I=3)),
    (S.matvec_derivation, (), "W", dict(I=2, J=2)),
    (S.pad_derivation, (), "x", dict(M=3, p_lo=2, p_hi=1)),
    (S.conv1d_options_derivation, (None, 1), "x_by_k", dict(M=7, K=3, s=2, p_lo=1, O=3)),
    (S.conv1d_options_derivation, (), "x", dict(M=7, K=2, s=2, d=2, p_lo=1, O=3)),
    (S.conv_multichannel_derivation, (), "x", dict(N=1, C=2, F=2, O=2, K=2)),
    (S.transposed_conv_derivation, (), "w", dict(I=3, K=2, M=6, s=2, d=1, p=1)),
]


@pytest.mark.parametrize("make,args,name,sizes", VALID, ids=_id)
def test_each_step_is_a_valid_equality(make, args, name, sizes):
    """Instantiated at concrete sizes: the pairing's terms in x_dot equal the re-indexed sum, every
    step after it rewrites the same number, and that number is <x_bar, x_dot> with x_bar the
    read-off adjoint at every index."""
    der = make(*args)
    sy = der.symbols
    values = {sy[k]: v for k, v in sizes.items()}
    arrays = {
        base: symbol_array(base, [int(sp.sympify(n).subs(values)) for n in shape])
        for base, shape in der.shapes.items()
    }
    steps = der.steps[name]
    operand = sy[name.split("_")[0]]
    dot_base = sp.IndexedBase(r"\dot{" + str(operand) + "}")

    def value(expr, zero_other_tangents=False):
        arrs = dict(arrays)
        if zero_other_tangents:
            for base in der.shapes:
                if str(base).startswith(r"\dot{") and base != dot_base:
                    arrs[base] = np.zeros(arrays[base].shape, dtype=object)
        return sp.expand(instantiate(as_brackets(expr), arrs, values))

    reindexed = value(steps[3].rhs)
    assert reindexed != 0
    assert is_zero(value(steps[2].rhs, zero_other_tangents=True) - reindexed)
    for step in steps[4:-1]:
        assert is_zero(value(step.rhs) - reindexed), step.caption
    adjoint = np.empty(arrays[operand].shape, dtype=object)
    index = steps[-1].lhs.indices
    for idx in np.ndindex(*adjoint.shape):
        adjoint[idx] = instantiate(steps[-1].rhs, arrays, {**values, **dict(zip(index, idx))})
    assert is_zero(pairing(adjoint, arrays[dot_base]) - reindexed)


# --- rendering ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make,args", ALL, ids=_id)
def test_rendering_fits_the_text_column(derivations, make, args):
    der = derivations[make.__name__, args]
    for steps in der.steps.values():
        tex = steps._repr_latex_()
        assert tex.startswith("$$\n\\begin{aligned}") and tex.endswith("\\end{aligned}\n$$")
        # MathJax refuses '\ ' in long input (its buffer limit), Sphinx splits math at blank lines
        assert "\\ " not in tex and "\n\n" not in tex
        lines = [
            line.removeprefix("& ").removesuffix(r" \\[1.2ex]").removesuffix(r" \\")
            for line in tex.splitlines()[2:-2]
        ]
        assert max(_width(line) for line in lines) <= LINE_WIDTH
        for step in steps:
            assert step._repr_latex_().count("&") == len(step.latex_lines())


# A group holding one accent atom is that atom in TeX, so {\dot{x}_{a}}_{j} is a "Double subscript"
# for LaTeX (the PDF) although MathJax renders it: the pattern that stopped the PDF build once.
ACCENT_GROUP_SUBSCRIPTED = re.compile(r"\{\\(?:dot|bar|hat|tilde)\{\w\}_\{(?:[^{}]|\{[^{}]*\})*\}\}_")


@pytest.mark.parametrize("make,args", ALL, ids=_id)
def test_latex_is_valid_for_latex_not_only_mathjax(derivations, make, args):
    der = derivations[make.__name__, args]
    texts = [steps._repr_latex_() for steps in der.steps.values()]
    texts += [sp.latex(e) for e in (der.forward, der.tangent, *der.adjoints.values())]
    for tex in texts:
        assert not ACCENT_GROUP_SUBSCRIPTED.search(tex), tex
    assert ACCENT_GROUP_SUBSCRIPTED.search(r"{\dot{x}_{\mathrm{pad}}}_{j}")


def test_long_sums_break_before_a_term_and_products_between_factors():
    i, n = sp.symbols("i n", integer=True)
    a = sp.IndexedBase("a_{\\mathrm{long}}")
    terms = sp.Add(*[sp.Sum(a[i + j] * a[i - j], (i, 0, n)) for j in range(6)])
    lines = Step("a long sum", sp.Symbol("y"), terms).latex_lines()
    assert len(lines) > 2 and all(_width(line) <= LINE_WIDTH for line in lines)
    assert all(line.startswith(r"\qquad {} + ") for line in lines[2:])
    product = sp.Mul(*[a[i + j] for j in range(40)])
    lines = Step("a long product", sp.Symbol("y"), product).latex_lines()
    assert len(lines) > 2 and all(line.startswith(r"\qquad {}\times ") for line in lines[2:])
    assert all(_width(line) <= LINE_WIDTH for line in lines)


def test_text_is_deterministic_and_readable():
    first, second = (
        str(S.conv1d_options_derivation().steps["x"]),
        str(S.conv1d_options_derivation().steps["x"]),
    )
    assert first == second
    assert first.startswith("1. the forward map, for 0 <= o <= O - 1\n    z[o] = Sum(")
    assert "\\" not in first and "{" not in first.replace("sum_{", "")
    assert "<x\u0304, x\u0307> = " in first and "[d | m + p_lo - o*s]" in first


def test_printer_follows_the_book():
    m, p, s, o = sp.symbols("m p_lo s o", integer=True)
    z = sp.IndexedBase(r"\bar{z}")
    assert latex(z[(m + p - s * o) / s]) == r"{\bar{z}}_{(m + p_{\mathrm{lo}} - o s)/s}"
    assert latex(S.between(0, m - o, 3) * z[o]) == r"{\bar{z}}_{o} \left[0 \le m - o \le 3\right]"
    assert latex(sp.KroneckerDelta(m, o)) == r"\delta_{m,\, o}"


# --- Derivation.check ------------------------------------------------------------------------------


def conv1d_dx(length):
    return lambda zbar, c: cg.conv_grad_input(zbar[None, None], c[None, None], (1, 1, length))[0, 0]


def test_check_passes_and_summarises():
    der = S.conv1d_derivation()
    got = der.check("x", conv1d_dx(6), sizes={"N": 4, "K": 3})
    assert str(got) == "x̄: all 6 entries equal convgrad's, at N=4, K=3"
    sy = der.symbols
    by_symbol = der.check("x", conv1d_dx(6), sizes={sy["N"]: 4, sy["K"]: 3})
    assert str(by_symbol) == str(got)


def test_check_the_strided_formula_as_in_the_brief():
    der = S.conv1d_options_derivation(dilation=1)
    sy = der.symbols
    M, K, s, p_lo, O = (sy[i] for i in ("M", "K", "s", "p_lo", "O"))  # noqa: E741

    def compute(x, c, zbar):
        return cg.conv_grad_input(zbar[None, None], c[None, None], (1, 1, 8), stride=2)[0, 0]

    report = der.check("x", compute, sizes={M: 8, K: 3, s: 2, p_lo: 0, O: 3})
    assert str(report) == "x̄: all 8 entries equal convgrad's, at M=8, K=3, s=2, p_lo=0, O=3"


def test_check_several_formulas_and_size_sets():
    der = S.conv1d_options_derivation()
    lines = []
    for M, K, s, d, lo, hi in [(8, 3, 2, 1, 0, 0), (9, 2, 3, 2, 1, 1)]:
        opts = dict(stride=s, dilation=d, padding=((lo, hi),))
        O = cg.conv_output_shape((1, 1, M), (1, 1, K), **opts)[-1]  # noqa: E741

        def dx(zbar, c, M=M, opts=opts):  # noqa: N803
            return cg.conv_grad_input(zbar[None, None], c[None, None], (1, 1, M), **opts)[0, 0]

        def dc(zbar, x, K=K, opts=opts):  # noqa: N803
            return cg.conv_grad_weight(zbar[None, None], x[None, None], (1, 1, K), **opts)[0, 0]

        lines += der.check(
            {"x": dx, "x_by_k": dx, "c": dc}, sizes=dict(M=M, K=K, s=s, d=d, p_lo=lo, O=O)
        ).lines
    assert lines == [
        "x̄ (8 entries), x̄ (x_by_k) (8 entries), c̄ (3 entries): all equal convgrad's, at M=8, K=3, s=2, d=1, "
        "p_lo=0, O=3",
        "x̄ (9 entries), x̄ (x_by_k) (9 entries), c̄ (2 entries): all equal convgrad's, at M=9, K=2, s=3, d=2, "
        "p_lo=1, O=3",
    ]
    # a list of size sets gives one line each
    conv1d = S.conv1d_derivation()
    report = conv1d.check(
        "c",
        lambda zbar, x: cg.conv_grad_weight(zbar[None, None], x[None, None], (1, 1, len(x) - len(zbar) + 1))[
            0, 0
        ],
        sizes=[dict(N=4, K=3), dict(N=2, K=5)],
    )
    assert report.lines == [
        "c̄: all 3 entries equal convgrad's, at N=4, K=3",
        "c̄: all 5 entries equal convgrad's, at N=2, K=5",
    ]


def test_check_raises_on_a_wrong_formula():
    """Without the divisibility bracket the formula is wrong at some entry; check names it."""
    der = S.conv1d_options_derivation()
    sizes = dict(M=6, K=3, s=1, d=2, p_lo=2, O=6)

    def compute(zbar, c):
        return cg.conv_grad_input(zbar[None, None], c[None, None], (1, 1, 6), dilation=2, padding=((2, 2),))[
            0, 0
        ]

    assert "all 6 entries" in str(der.check("x", compute, sizes=sizes))
    eq = der.adjoints["x"]
    dropped = eq.rhs.replace(lambda e: isinstance(e, Divides), lambda e: sp.S.One)
    wrong = dataclasses.replace(der, adjoints={**der.adjoints, "x": sp.Eq(eq.lhs, dropped)})
    with pytest.raises((AssertionError, ValueError)):
        wrong.check("x", compute, sizes=sizes)
    m = der.symbols["m"]
    shifted = dataclasses.replace(der, adjoints={**der.adjoints, "x": sp.Eq(eq.lhs, eq.rhs.subs(m, m + 1))})
    with pytest.raises(
        AssertionError, match=r"x̄\[\d\] at M=6, K=3, s=1, d=2, p_lo=2, O=6: the derived formula gives"
    ):
        shifted.check("x", compute, sizes=sizes)


def test_check_raises_on_a_wrong_compute_and_bad_arguments():
    der = S.conv1d_derivation()
    sizes = dict(N=4, K=3)
    flipped = lambda zbar, c: conv1d_dx(6)(zbar, c[::-1])  # noqa: E731
    with pytest.raises(AssertionError, match="compute gives"):
        der.check("x", flipped, sizes=sizes)
    with pytest.raises(ValueError, match=r"compute returned shape \(1, 1, 6\)"):
        der.check(
            "x", lambda zbar, c: cg.conv_grad_input(zbar[None, None], c[None, None], (1, 1, 6)), sizes=sizes
        )
    with pytest.raises(TypeError, match="compute asks for"):
        der.check("x", lambda zbar, w: zbar, sizes=sizes)
    with pytest.raises(ValueError, match="needs the sizes"):
        der.check("x", conv1d_dx(6), sizes=dict(N=4))
    with pytest.raises(KeyError, match="no size"):
        der.check("x", conv1d_dx(6), sizes=dict(N=4, K=3, Q=1))
    with pytest.raises(KeyError, match="no formula"):
        der.check("y", conv1d_dx(6), sizes=sizes)
    fixed = S.conv1d_options_derivation(stride=1)
    with pytest.raises(ValueError, match="s is 1 in this derivation, which is not 2"):
        fixed.check("c", lambda zbar, x: zbar, sizes=dict(M=4, K=2, s=2, d=1, p_lo=0, O=2))


def test_check_the_forward_map():
    der = S.conv_multichannel_derivation()
    report = der.check("forward", lambda x, w: cg.conv(x, w), sizes=dict(N=2, C=2, F=3, O=3, K=2))
    assert str(report) == "y: all 18 entries equal convgrad's, at N=2, C=2, F=3, O=3, K=2"


def test_alternative_reads_the_adjoint_again_with_another_elimination_order():
    der = S.conv1d_derivation()
    sy = der.symbols
    m, n, k, N = sy["m"], sy["n"], sy["k"], sy["N"]
    taps = der.alternative("x_by_taps", of="x", eliminate=[n])
    assert "x_by_taps" not in der.adjoints  # a copy
    want = S.adjoint_from_pairing(der.pairing, sy["x"][m], eliminate=[n], known={m: (0, sy["M"] - 1)})
    assert taps.adjoints["x_by_taps"].rhs == want
    assert want == sp.Sum(sy["zbar"][m - k] * sy["c"][k] * S.between(0, m - k, N - 1), (k, 0, sy["K"] - 1))
    steps = taps.steps["x_by_taps"]
    assert steps[4].caption.startswith("sum over $n$: the delta is 1 only at $n = m - k$")
    assert [s.caption for s in steps[:3]] == [s.caption for s in der.steps["x"][:3]]
    report = taps.check("x_by_taps", conv1d_dx(6), sizes=dict(N=4, K=3))
    assert str(report) == "x̄ (x_by_taps): all 6 entries equal convgrad's, at N=4, K=3"
    with pytest.raises(KeyError, match="no adjoint"):
        der.alternative("y2", of="y", eliminate=[n])


def test_a_slice_of_steps_keeps_its_numbers():
    steps = S.conv1d_derivation().steps["x"]
    tail = steps[3:]
    assert isinstance(tail, Steps) and [s.number for s in tail] == [4, 5, 6]
    assert tail._repr_latex_().count(r"\text{4. the terms in }") == 1


def test_check_takes_sizes_by_name_and_checks_derived_ones():
    der = S.conv1d_derivation()
    assert "at N=4, K=3, M=6" in str(der.check("x", conv1d_dx(6), sizes=dict(N=4, K=3, M=6)))
    with pytest.raises(ValueError, match="M is K \\+ N - 1 in this derivation, which is not 7"):
        der.check("x", conv1d_dx(6), sizes=dict(N=4, K=3, M=7))
    nd = S.nd_conv_derivation(1)  # the sizes of axis 0 are O_0, K_0, ... inside lists

    def dw(ybar, x):
        return cg.conv_grad_weight(ybar, x, (2, 1, 3), stride=2, padding=((1, 0),))

    sizes = dict(N=1, C=1, F=2, O_0=3, K_0=3, M_0=6, s_0=2, d_0=1, p_0=1)
    assert str(nd.check("w", dw, sizes=sizes)).startswith("w̄: all 6 entries equal convgrad's")


def test_a_long_summary_wraps_at_the_book_column():
    from convgrad.symbolic.arrays import Agreement

    line = "x̄: all 8 entries equal convgrad's, at " + ", ".join(f"A{i}={i}" for i in range(20))
    text = str(Agreement([line, "short"]))
    assert max(map(len, text.splitlines())) <= 76 and text.endswith("\nshort")
    assert text.replace("\n    ", " ").splitlines() == [line, "short"]
