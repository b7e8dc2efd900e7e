"""convgrad.symbolic: the general-size derivations of groups (.options), transposed convolution
(.transposed) and N dimensions (.ndim) come out in the stated form and agree with the package at
concrete sizes."""

import numpy as np
import pytest
import sympy as sp

import convgrad as cg
from convgrad.geometry import conv_geometry
from convgrad.symbolic import (
    Iverson,
    as_brackets,
    as_deltas,
    axis_factors,
    flatten_sum,
    grouped_conv_derivation,
    instantiate,
    is_zero,
    symbol_array,
)
from convgrad.symbolic.brackets import Divides
from convgrad.symbolic.ndim import nd_conv_derivation
from convgrad.symbolic.transposed import transposed_conv_derivation


def chain(lo, e, hi):
    return Iverson(sp.And(sp.Le(lo, e), sp.Le(e, hi)))


@pytest.fixture(scope="module")
def dg():
    return grouped_conv_derivation()


@pytest.fixture(scope="module")
def dt():
    return transposed_conv_derivation()


@pytest.fixture(scope="module")
def d2():
    return nd_conv_derivation(2)


# --- helpers ---------------------------------------------------------------------------------------


def test_brackets_and_deltas_convert_both_ways():
    i, m, s = sp.symbols("i m s", integer=True)
    bracket = Iverson(sp.Eq(m, s * i))
    assert as_deltas(bracket) == sp.KroneckerDelta(m, s * i)
    assert as_brackets(as_deltas(bracket)) == bracket
    # the bracket evaluates correctly where SymPy's delta summation would not check integrality
    x = sp.IndexedBase("x")
    assert sp.Sum(x[i] * bracket, (i, 0, 3)).subs({m: 3, s: 2}).doit() == 0
    assert sp.Sum(x[i] * bracket, (i, 0, 3)).subs({m: 4, s: 2}).doit() == x[2]


def test_flatten_sum_identifies_nested_and_flat_sums():
    o, k, O, K = sp.symbols("o k O K", integer=True)
    a, b = sp.IndexedBase("a"), sp.IndexedBase("b")
    nested = sp.Sum(a[o] * sp.Sum(b[k], (k, 0, K - 1)), (o, 0, O - 1))
    flat = sp.Sum(a[o] * b[k], (k, 0, K - 1), (o, 0, O - 1))
    assert flatten_sum(nested) == flatten_sum(flat)
    assert flatten_sum(nested) != flatten_sum(sp.Sum(a[o] * b[k], (k, 0, K - 2), (o, 0, O - 1)))


# --- groups ---------------------------------------------------------------------------------------


def test_grouped_adjoints_have_the_stated_form(dg):
    s = dg.symbols
    n, h, f, c, o, k, m = (s[i] for i in "nhfcokm")
    want_x = sp.Sum(s["ybar"][n, h, f, o] * s["w"][h, f, c, m - o] * chain(0, m - o, s["K"] - 1),
                    (f, 0, s["F_G"] - 1), (o, 0, s["O"] - 1))
    want_w = sp.Sum(s["ybar"][n, h, f, o] * s["x"][n, h, c, o + k], (n, 0, s["N"] - 1), (o, 0, s["O"] - 1))
    assert dg.adjoints["x"].rhs == want_x
    assert dg.adjoints["w"].rhs == want_w


def test_grouped_adjoints_read_their_own_group_only(dg):
    s = dg.symbols
    for side in ("x", "w"):
        for item in dg.adjoints[side].rhs.atoms(sp.Indexed):
            if item.base in (s["ybar"], s["x"], s["w"]):
                group_axis = 0 if item.base == s["w"] else 1
                assert item.indices[group_axis] == s["h"], item


@pytest.mark.parametrize("G,Cg,Fg", [(2, 1, 1), (2, 2, 1), (3, 1, 2)])
def test_grouped_adjoints_agree_with_convgrad(dg, G, Cg, Fg):
    s = dg.symbols
    N, O, K = 2, 3, 2
    M = O + K - 1
    x4 = symbol_array(s["x"], (N, G, Cg, M))
    w4 = symbol_array(s["w"], (G, Fg, Cg, K))
    y4 = symbol_array(s["ybar"], (N, G, Fg, O))
    dx, dw, _ = cg.conv_backward(y4.reshape(N, G * Fg, O), x4.reshape(N, G * Cg, M),
                                 w4.reshape(G * Fg, Cg, K), groups=G)
    dx, dw = dx.reshape(x4.shape), dw.reshape(w4.shape)
    arrays = {s["x"]: x4, s["w"]: w4, s["ybar"]: y4}
    sizes = {s["N"]: N, s["G"]: G, s["C_G"]: Cg, s["F_G"]: Fg, s["O"]: O, s["K"]: K}
    for idx in np.ndindex(*dx.shape):
        vals = {**sizes, s["n"]: idx[0], s["h"]: idx[1], s["c"]: idx[2], s["m"]: idx[3]}
        assert is_zero(instantiate(dg.adjoints["x"].rhs, arrays, vals) - dx[idx])
    for idx in np.ndindex(*dw.shape):
        vals = {**sizes, s["h"]: idx[0], s["f"]: idx[1], s["c"]: idx[2], s["k"]: idx[3]}
        assert is_zero(instantiate(dg.adjoints["w"].rhs, arrays, vals) - dw[idx])


# --- transposed convolution -----------------------------------------------------------------------


def test_transposed_adjoints_have_the_stated_form(dt):
    s = dt.symbols
    i, k, m = s["i"], s["k"], s["m"]
    at = s["s"] * i + s["d"] * k - s["p"]
    bracket = chain(0, at, s["M"] - 1)
    assert dt.adjoints["x"].rhs == sp.Sum(s["ybar"][at] * s["w"][k] * bracket, (k, 0, s["K"] - 1))
    assert dt.adjoints["w"].rhs == sp.Sum(s["ybar"][at] * s["x"][i] * bracket, (i, 0, s["I"] - 1))
    assert m not in dt.adjoints["x"].rhs.free_symbols


def test_conv_input_adjoint_is_the_transposed_scatter(dt):
    s = dt.symbols
    renamed = s["conv_input_adjoint"].xreplace({s["cbar"]: s["x"], s["o"]: s["i"], s["O"]: s["I"]})
    assert flatten_sum(renamed) == flatten_sum(dt.forward.rhs)


TRANSPOSED = [  # I, K, stride, dilation, (p_lo, p_hi), output_padding
    (4, 3, 2, 1, (0, 0), 0),
    (4, 3, 2, 1, (1, 0), 1),
    (3, 2, 3, 2, (2, 1), 2),
    (5, 3, 1, 3, (1, 1), 2),  # output_padding >= stride, allowed because dilation > stride
]


@pytest.mark.parametrize("I,K,stride,dilation,pad,op", TRANSPOSED)
def test_transposed_forward_and_adjoints_agree_with_convgrad(dt, I, K, stride, dilation, pad, op):
    s = dt.symbols
    x, w = symbol_array(s["x"], (I,)), symbol_array(s["w"], (K,))
    opts = dict(stride=stride, dilation=dilation, padding=(pad,))
    t = cg.conv_transpose(x[None, None], w[None, None], output_padding=op, **opts)[0, 0]
    M = t.shape[0]
    assert M == (I - 1) * stride - sum(pad) + dilation * (K - 1) + op + 1
    ybar = symbol_array(s["ybar"], (M,))
    arrays = {s["x"]: x, s["w"]: w, s["ybar"]: ybar}
    sizes = {s["I"]: I, s["K"]: K, s["M"]: M, s["s"]: stride, s["d"]: dilation, s["p"]: pad[0]}
    for mi in range(M):
        assert is_zero(instantiate(dt.forward.rhs, arrays, {**sizes, s["m"]: mi}) - t[mi])
    # x_bar: the convolution of y_bar with the same options, cut to x's length
    conv = cg.conv(ybar[None, None], w[None, None], **opts)[0, 0]
    assert conv.shape[0] >= I and (conv.shape[0] > I) == (op >= stride)
    for ii in range(I):
        assert is_zero(instantiate(dt.adjoints["x"].rhs, arrays, {**sizes, s["i"]: ii}) - conv[ii])
    # w_bar: the convolution's weight gradient with x in the role of the output gradient
    x_as_dy = np.concatenate([x, np.zeros(conv.shape[0] - I, dtype=object)])
    dw = cg.conv_grad_weight(x_as_dy[None, None], ybar[None, None], (1, 1, K), **opts)[0, 0]
    for ki in range(K):
        assert is_zero(instantiate(dt.adjoints["w"].rhs, arrays, {**sizes, s["k"]: ki}) - dw[ki])


# --- N dimensions ---------------------------------------------------------------------------------


def test_nd_adjoints_have_the_stated_form(d2):
    s = d2.symbols
    n, f, c = s["n"], s["f"], s["c"]
    o, k, m = s["o"], s["k"], s["m"]
    num = [m[a] + s["p"][a] - s["d"][a] * k[a] for a in range(2)]
    src = [num[a] / s["s"][a] for a in range(2)]
    brackets = sp.Mul(*[Divides(s["s"][a], num[a]) * chain(0, num[a], s["s"][a] * (s["O"][a] - 1))
                        for a in range(2)])
    want_x = sp.Sum(s["ybar"][(n, f, *src)] * s["w"][f, c, k[0], k[1]] * brackets,
                    (f, 0, s["F"] - 1), (k[0], 0, s["K"][0] - 1), (k[1], 0, s["K"][1] - 1))
    assert flatten_sum(d2.adjoints["x"].rhs) == flatten_sum(want_x)
    read = [s["s"][a] * o[a] + s["d"][a] * k[a] - s["p"][a] for a in range(2)]
    want_w = sp.Sum(s["ybar"][n, f, o[0], o[1]] * s["x"][(n, c, *read)]
                    * chain(0, read[0], s["M"][0] - 1) * chain(0, read[1], s["M"][1] - 1),
                    (n, 0, s["N"] - 1), (o[0], 0, s["O"][0] - 1), (o[1], 0, s["O"][1] - 1))
    assert flatten_sum(d2.adjoints["w"].rhs) == flatten_sum(want_w)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_nd_adjoint_conditions_factorise_per_axis(ndim):
    d = nd_conv_derivation(ndim)
    axes = d.symbols["axes"]
    for side in ("x", "w"):
        summand, _ = flatten_sum(d.adjoints[side].rhs)
        factors = axis_factors(summand, axes)
        assert sp.Mul(*factors) == summand
        for a in range(ndim):
            assert factors[a + 1] != 1  # every axis contributes its own brackets
            assert factors[a + 1].free_symbols <= axes[a] | {d.symbols["n"]}


def test_axis_factors_refuses_a_bracket_that_mixes_axes():
    i, j = sp.symbols("i j", integer=True)
    with pytest.raises(ValueError, match="mixes axes"):
        axis_factors(Iverson(sp.Le(i + j, 3)), [{i}, {j}])


ND_CASES = [  # (in_size, kernel, stride, dilation, padding pairs)
    ((7,), (3,), (2,), (2,), ((1, 2),)),
    ((4, 5), (2, 3), (2, 1), (1, 2), ((1, 0), (2, 1))),
    ((3, 4, 3), (2, 2, 1), (1, 2, 1), (2, 1, 1), ((1, 0), (0, 1), (1, 1))),
]


@pytest.mark.parametrize("in_size,kernel,stride,dilation,pads", ND_CASES)
def test_nd_formulas_agree_with_convgrad(in_size, kernel, stride, dilation, pads):
    ndim = len(in_size)
    d = nd_conv_derivation(ndim)
    s = d.symbols
    N, C, F = 1, 1, 2
    opts = dict(stride=stride, dilation=dilation, padding=pads)
    geom = conv_geometry((N, C, *in_size), (F, C, *kernel), **opts)
    x = symbol_array(s["x"], (N, C, *in_size))
    w = symbol_array(s["w"], (F, C, *kernel))
    ybar = symbol_array(s["ybar"], (N, F, *geom.out_size))
    y = cg.conv(x, w, **opts)
    dx, dw, _ = cg.conv_backward(ybar, x, w, **opts)
    arrays = {s["x"]: x, s["w"]: w, s["ybar"]: ybar}
    sizes = {s["N"]: N, s["C"]: C, s["F"]: F}
    for a in range(ndim):
        sizes.update({s["O"][a]: geom.out_size[a], s["K"][a]: kernel[a], s["M"][a]: in_size[a],
                      s["s"][a]: stride[a], s["d"][a]: dilation[a], s["p"][a]: pads[a][0]})

    def at(names, idx):
        out = dict(sizes)
        for name, i in zip(names, idx):
            out.update(dict(zip(s[name], i[:ndim])) if name in "okm" else {s[name]: i})
        return out

    for formula, names, got in [(d.forward.rhs, "nfo", y), (d.adjoints["x"].rhs, "ncm", dx),
                                (d.adjoints["w"].rhs, "fck", dw)]:
        for idx in np.ndindex(*got.shape):
            assert is_zero(instantiate(formula, arrays, at(names, (idx[0], idx[1], idx[2:]))) - got[idx])


def test_nd_rejects_zero_dimensions():
    with pytest.raises(ValueError, match="ndim"):
        nd_conv_derivation(0)
