"""convgrad.symbolic: the general-size derivations come out in the stated form, agree with the
package at concrete sizes, and the pairing identity holds exactly."""

import numpy as np
import pytest
import sympy as sp

import convgrad as cg
from convgrad.symbolic import (
    Iverson,
    adjoint_from_pairing,
    conv1d_derivation,
    conv_multichannel_derivation,
    instantiate,
    is_zero,
    linearise_arrays,
    pairing,
    symbol_array,
)


@pytest.fixture(scope="module")
def d1():
    return conv1d_derivation()


@pytest.fixture(scope="module")
def dm():
    return conv_multichannel_derivation()


def test_1d_adjoints_have_the_stated_form(d1):
    s = d1.symbols
    n, m, k, N, K = s["n"], s["m"], s["k"], s["N"], s["K"]
    full_conv = sp.Sum(s["zbar"][n] * s["c"][m - n] * Iverson(sp.And(sp.Le(0, m - n), sp.Le(m - n, K - 1))),
                       (n, 0, N - 1))
    valid_corr = sp.Sum(s["zbar"][n] * s["x"][n + k], (n, 0, N - 1))
    assert d1.adjoints["x"].rhs == full_conv
    assert d1.adjoints["c"].rhs == valid_corr
    assert d1.tangent.rhs == sp.Sum(s["cdot"][k] * s["x"][n + k] + s["c"][k] * s["xdot"][n + k],
                                    (k, 0, K - 1))


def test_1d_latex_shows_the_bracket_as_a_chain(d1):
    assert r"\left[0 \le m - n \le K - 1\right]" in sp.latex(d1.adjoints["x"])


@pytest.mark.parametrize("n_out,k_len", [(4, 3), (1, 2), (5, 1)])
def test_1d_adjoints_agree_with_convgrad(d1, n_out, k_len):
    s = d1.symbols
    m_len = n_out + k_len - 1
    x, c = symbol_array(s["x"], (m_len,)), symbol_array(s["c"], (k_len,))
    zbar = symbol_array(s["zbar"], (n_out,))
    arrays = {s["x"]: x, s["c"]: c, s["zbar"]: zbar}
    sizes = {s["N"]: n_out, s["K"]: k_len}
    # convgrad works on (batch, channel, length) arrays
    dx = cg.conv_grad_input(zbar[None, None], c[None, None], (1, 1, m_len))[0, 0]
    dc = cg.conv_grad_weight(zbar[None, None], x[None, None], (1, 1, k_len))[0, 0]
    for mi in range(m_len):
        assert is_zero(instantiate(d1.adjoints["x"].rhs, arrays, {**sizes, s["m"]: mi}) - dx[mi])
    for ki in range(k_len):
        assert is_zero(instantiate(d1.adjoints["c"].rhs, arrays, {**sizes, s["k"]: ki}) - dc[ki])
    z = cg.conv(x[None, None], c[None, None])[0, 0]
    for ni in range(n_out):
        assert is_zero(instantiate(d1.forward.rhs, arrays, {**sizes, s["n"]: ni}) - z[ni])


def test_multichannel_adjoints_have_the_stated_form(dm):
    s = dm.symbols
    n, c, f, o, k, m = (s[i] for i in "ncfokm")
    support = Iverson(sp.And(sp.Le(0, m - o), sp.Le(m - o, s["K"] - 1)))
    want_x = sp.Sum(s["ybar"][n, f, o] * s["w"][f, c, m - o] * support,
                    (f, 0, s["F"] - 1), (o, 0, s["O"] - 1))
    want_w = sp.Sum(s["ybar"][n, f, o] * s["x"][n, c, o + k], (n, 0, s["N"] - 1), (o, 0, s["O"] - 1))
    assert dm.adjoints["x"].rhs == want_x
    assert dm.adjoints["w"].rhs == want_w


def test_multichannel_adjoints_agree_with_convgrad(dm):
    s = dm.symbols
    N, C, F, O, K = 2, 2, 3, 3, 2
    M = O + K - 1
    x, w = symbol_array(s["x"], (N, C, M)), symbol_array(s["w"], (F, C, K))
    ybar = symbol_array(s["ybar"], (N, F, O))
    arrays = {s["x"]: x, s["w"]: w, s["ybar"]: ybar}
    sizes = {s["N"]: N, s["C"]: C, s["F"]: F, s["O"]: O, s["K"]: K}
    dx, dw, _ = cg.conv_backward(ybar, x, w)
    for idx in np.ndindex(N, C, M):
        vals = {**sizes, s["n"]: idx[0], s["c"]: idx[1], s["m"]: idx[2]}
        assert is_zero(instantiate(dm.adjoints["x"].rhs, arrays, vals) - dx[idx])
    for idx in np.ndindex(F, C, K):
        vals = {**sizes, s["f"]: idx[0], s["c"]: idx[1], s["k"]: idx[2]}
        assert is_zero(instantiate(dm.adjoints["w"].rhs, arrays, vals) - dw[idx])


@pytest.mark.parametrize("opts", [dict(), dict(stride=2, padding=1), dict(dilation=2, padding=((0, 2),)),
                                  dict(groups=2)])
def test_pairing_identity_is_exactly_zero(opts):
    """<z_bar, z_dot> - <x_bar, x_dot> - <w_bar, w_dot> expands to 0, all through convgrad."""
    groups = opts.get("groups", 1)
    x, w = symbol_array("x", (2, 2, 6)), symbol_array("w", (2, 2 // groups, 3))
    xdot, wdot = symbol_array("xd", x.shape), symbol_array("wd", w.shape)

    def f(x, w):
        return cg.conv(x, w, **opts)

    zdot = linearise_arrays(f, (x, w), (xdot, wdot))
    zbar = symbol_array("g", zdot.shape)
    xbar, wbar, _ = cg.conv_backward(zbar, x, w, **opts)
    assert is_zero(pairing(zbar, zdot) - pairing(xbar, xdot) - pairing(wbar, wdot))


def test_pairing_identity_detects_a_wrong_adjoint():
    x, w = symbol_array("x", (1, 1, 5)), symbol_array("w", (1, 1, 3))
    xdot = symbol_array("xd", x.shape)
    zdot = linearise_arrays(lambda x: cg.conv(x, w), (x,), (xdot,))
    zbar = symbol_array("g", zdot.shape)
    wrong = cg.conv_grad_input(zbar, w[..., ::-1], x.shape)  # the kernel flipped once too often
    assert not is_zero(pairing(zbar, zdot) - pairing(wrong, xdot))


def test_adjoint_from_pairing_keeps_free_and_bound_indices_apart():
    """Differentiating by x[n] where n is also a summation index must not confuse the two."""
    n, K, N = sp.symbols("n K N", integer=True)
    k = sp.Symbol("k", integer=True)
    x, c, zb = sp.IndexedBase("x"), sp.IndexedBase("c"), sp.IndexedBase("zb")
    pair = sp.Sum(zb[n] * sp.Sum(c[k] * x[n + k], (k, 0, K - 1)), (n, 0, N - 1))
    got = adjoint_from_pairing(pair, x[n], eliminate=[k])
    # the summation index is renamed n', the free n survives in the result
    assert n in got.free_symbols and sp.Symbol("n'", integer=True) not in got.free_symbols
    vals = {N: 3, K: 2}
    xs, cs, zs = symbol_array(x, (4,)), symbol_array(c, (2,)), symbol_array(zb, (3,))
    dx = cg.conv_grad_input(zs[None, None], cs[None, None], (1, 1, 4))[0, 0]
    for mi in range(4):
        assert is_zero(instantiate(got, {x: xs, c: cs, zb: zs}, {**vals, n: mi}) - dx[mi])


def test_instantiate_refuses_out_of_range_indices():
    x = sp.IndexedBase("x")
    with pytest.raises(IndexError):
        instantiate(x[3], {x: symbol_array(x, (2,))}, {})


def test_matrix_of_a_convolution_and_of_its_adjoint_are_transposes():
    from convgrad.symbolic import matrix_of

    w = symbol_array("w", (2, 1, 3))
    opts = dict(stride=2, padding=((1, 0),))
    a = matrix_of(lambda x: cg.conv(x, w, **opts), (1, 1, 6))
    at = matrix_of(lambda v: cg.conv_grad_input(v, w, (1, 1, 6), **opts), (1, 2, 3))
    assert a.shape == (6, 6) and at == a.T
    assert a[0, :].tolist()[0] == [w[0, 0, 1], w[0, 0, 2], 0, 0, 0, 0]  # output 0 reads x[-1..1]


def test_instantiate_refuses_fractional_indices():
    x = sp.IndexedBase("x")
    with pytest.raises(ValueError, match="not an integer"):
        instantiate(x[sp.Rational(1, 2)], {x: symbol_array(x, (2,))}, {})
