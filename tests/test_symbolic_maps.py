"""convgrad.symbolic.maps: the general-size derivations of the basic maps come out in the stated
form and agree, at concrete sizes, with NumPy/SciPy (independent of convgrad) and with convgrad."""

import numpy as np
import pytest
import sympy as sp
from scipy.signal import convolve2d, correlate2d

import convgrad as cg
from convgrad.symbolic import Iverson, instantiate, is_zero, linearise_arrays, pairing, symbol_array
from convgrad.symbolic.maps import (
    conv2d_nhwc_derivation,
    convolution1d_derivation,
    matvec_derivation,
    quadratic_form_derivation,
)


def bracket(lo, e, hi):
    return Iverson(sp.And(sp.Le(lo, e), sp.Le(e, hi)))


def numbers(rng, *arrays):
    """Random values for every symbol in the object arrays, and a function evaluating at them."""
    vals = {s: float(rng.standard_normal()) for a in arrays for s in np.asarray(a).flat}

    def num(e):
        return float(sp.sympify(e).xreplace(vals))

    return vals, num


@pytest.fixture(scope="module")
def mv():
    return matvec_derivation()


@pytest.fixture(scope="module")
def qf():
    return quadratic_form_derivation()


@pytest.fixture(scope="module")
def tc():
    return convolution1d_derivation()


@pytest.fixture(scope="module")
def seed():
    return conv2d_nhwc_derivation()


def test_matvec_adjoints_have_the_stated_form(mv):
    s = mv.symbols
    i, j = s["i"], s["j"]
    assert mv.adjoints["x"].rhs == sp.Sum(s["ybar"][i] * s["W"][i, j], (i, 0, s["I"] - 1))
    assert mv.adjoints["W"].rhs == s["ybar"][i] * s["x"][j]
    assert mv.tangent.rhs == sp.Sum(s["Wdot"][i, j] * s["x"][j] + s["W"][i, j] * s["xdot"][j],
                                    (j, 0, s["J"] - 1))


@pytest.mark.parametrize("rows,cols", [(2, 3), (4, 1)])
def test_matvec_adjoints_are_the_transpose_and_the_outer_product(mv, rows, cols):
    s = mv.symbols
    W, x = symbol_array(s["W"], (rows, cols)), symbol_array(s["x"], (cols,))
    yb = symbol_array(s["ybar"], (rows,))
    arrays, sizes = {s["W"]: W, s["x"]: x, s["ybar"]: yb}, {s["I"]: rows, s["J"]: cols}
    for jj in range(cols):
        assert is_zero(instantiate(mv.adjoints["x"].rhs, arrays, {**sizes, s["j"]: jj}) - (W.T @ yb)[jj])
    for ii, jj in np.ndindex(rows, cols):
        got = instantiate(mv.adjoints["W"].rhs, arrays, {**sizes, s["i"]: ii, s["j"]: jj})
        assert is_zero(got - np.outer(yb, x)[ii, jj])


def test_quadratic_form_adjoint_is_the_sum_of_both_slots(qf):
    s = qf.symbols
    n = 3
    W, x = symbol_array(s["W"], (n, n)), symbol_array(s["x"], (n,))
    q = x @ W @ x
    for m in range(n):
        got = instantiate(qf.adjoints["x"].rhs, {s["W"]: W, s["x"]: x}, {s["I"]: n, s["m"]: m})
        assert is_zero(got - s["qbar"] * sp.diff(q, x[m]))
        assert is_zero(got - s["qbar"] * ((W + W.T) @ x)[m])
        # one slot alone is not the gradient unless W is symmetric
        assert not is_zero(got - s["qbar"] * 2 * (W @ x)[m])


def test_true_convolution_adjoint_has_the_stated_form(tc):
    s = tc.symbols
    n, m, K, N = s["n"], s["m"], s["K"], s["N"]
    want = sp.Sum(bracket(0, n - m, K - 1) * s["zbar"][n] * s["a"][n - m], (n, K - 1, N + K - 2))
    assert tc.adjoints["x"].rhs == want


@pytest.mark.parametrize("n_out,k_len", [(4, 3), (2, 5), (3, 1)])
def test_true_convolution_adjoint_is_a_correlation(tc, n_out, k_len):
    """Instantiated, the general adjoint is np.correlate(z_bar, a, 'full'), and it passes the
    dot-product test against np.convolve(x, a, 'valid')."""
    s = tc.symbols
    m_len = n_out + k_len - 1
    x, a = symbol_array(s["x"], (m_len,)), symbol_array(s["a"], (k_len,))
    zb_valid = symbol_array(s["zbar"], (n_out,))
    zb = np.concatenate([np.zeros(k_len - 1, dtype=object), zb_valid])  # indexed as the full conv
    arrays, sizes = {s["x"]: x, s["a"]: a, s["zbar"]: zb}, {s["N"]: n_out, s["K"]: k_len}
    corr = np.correlate(zb_valid, a, "full")
    for mi in range(m_len):
        assert is_zero(instantiate(tc.adjoints["x"].rhs, arrays, {**sizes, s["m"]: mi}) - corr[mi])
    z = np.convolve(x, a, "valid")
    for ni in range(n_out):
        assert is_zero(instantiate(tc.forward.rhs, arrays, {**sizes, s["n"]: ni + k_len - 1}) - z[ni])
    an = np.random.default_rng(n_out).standard_normal(k_len)
    err = cg.check.adjoint_test(lambda u: np.convolve(u, an, "valid"), lambda v: np.correlate(v, an, "full"),
                                (m_len,), (n_out,))
    assert err < 1e-14


def test_the_two_flips_cancel(tc):
    """With a = rev(c), the adjoint of the true convolution is the layer's input gradient: a full
    convolution with c as stored (conv_grad_input)."""
    s = tc.symbols
    n_out, k_len = 3, 3
    m_len = n_out + k_len - 1
    c = symbol_array("c", (k_len,))
    zb_valid = symbol_array(s["zbar"], (n_out,))
    zb = np.concatenate([np.zeros(k_len - 1, dtype=object), zb_valid])
    arrays = {s["a"]: c[::-1], s["zbar"]: zb, s["x"]: symbol_array(s["x"], (m_len,))}
    dx = cg.conv_grad_input(zb_valid[None, None], c[None, None], (1, 1, m_len))[0, 0]
    for mi in range(m_len):
        got = instantiate(tc.adjoints["x"].rhs, arrays, {s["N"]: n_out, s["K"]: k_len, s["m"]: mi})
        assert is_zero(got - dx[mi])
        assert is_zero(got - np.convolve(zb_valid, c, "full")[mi])


def test_seed_derivation_has_the_stated_form(seed):
    s = seed.symbols
    n, a, b, f, i, j, c, p, q = (s[k] for k in "nabfijcpq")
    X, K, Zb = s["X"], s["K"], s["Zbar"]
    assert seed.adjoints["K"].rhs == sp.Sum(X[n, a + i, b + j, c] * Zb[n, a, b, f],
                                            (n, 0, s["N"] - 1), (a, 0, s["H_o"] - 1), (b, 0, s["W_o"] - 1))
    assert seed.adjoints["B"].rhs == sp.Sum(Zb[n, a, b, f], (n, 0, s["N"] - 1), (a, 0, s["H_o"] - 1),
                                            (b, 0, s["W_o"] - 1))
    want_x = sp.Sum(bracket(0, p - a, s["K_h"] - 1) * bracket(0, q - b, s["K_w"] - 1)
                    * K[f, p - a, q - b, c] * Zb[n, a, b, f],
                    (a, 0, s["H_o"] - 1), (b, 0, s["W_o"] - 1), (f, 0, s["F"] - 1))
    assert seed.adjoints["X"].rhs == want_x


def test_seed_derivation_agrees_with_convgrad_and_scipy(seed):
    s = seed.symbols
    N, H, W, C, F, kh, kw = 2, 3, 4, 2, 2, 2, 3
    Ho, Wo = H - kh + 1, W - kw + 1
    X, K = symbol_array(s["X"], (N, H, W, C)), symbol_array(s["K"], (F, kh, kw, C))
    Zb = symbol_array(s["Zbar"], (N, Ho, Wo, F))
    arrays = {s["X"]: X, s["K"]: K, s["Zbar"]: Zb}
    sizes = {s["N"]: N, s["C"]: C, s["F"]: F, s["K_h"]: kh, s["K_w"]: kw, s["H_o"]: Ho, s["W_o"]: Wo}
    dX, dK, dB = cg.conv_backward(Zb, X, K, layout="channels_last")
    rng = np.random.default_rng(1)
    _, num = numbers(rng, X, K, Zb)
    Xn, Kn, Zn = (np.vectorize(num)(A) for A in (X, K, Zb))
    for (f, i, j, c), e in np.ndenumerate(dK):
        at = {**sizes, s["f"]: f, s["i"]: i, s["j"]: j, s["c"]: c}
        got = instantiate(seed.adjoints["K"].rhs, arrays, at)
        assert is_zero(got - e)
        scipy = sum(correlate2d(Xn[n, :, :, c], Zn[n, :, :, f], mode="valid")[i, j] for n in range(N))
        assert abs(num(got) - scipy) < 1e-12
    for (n, p, q, c), e in np.ndenumerate(dX):
        at = {**sizes, s["n"]: n, s["p"]: p, s["q"]: q, s["c"]: c}
        got = instantiate(seed.adjoints["X"].rhs, arrays, at)
        assert is_zero(got - e)
        scipy = sum(convolve2d(Zn[n, :, :, f], Kn[f, :, :, c], mode="full")[p, q] for f in range(F))
        assert abs(num(got) - scipy) < 1e-12
    for f in range(F):
        assert is_zero(instantiate(seed.adjoints["B"].rhs, arrays, {**sizes, s["f"]: f}) - dB[f])


def test_seed_pairing_identity_is_exact_in_2d():
    """<Z_bar, Z_dot> = <X_bar, X_dot> + <K_bar, K_dot> + <B_bar, B_dot>, expanded to 0, NHWC."""
    X, K, B = symbol_array("X", (1, 3, 3, 2)), symbol_array("K", (2, 2, 2, 2)), symbol_array("B", (2,))
    dots = tuple(symbol_array(f"d{name}", a.shape) for name, a in (("X", X), ("K", K), ("B", B)))

    def f(X, K, B):
        return cg.conv(X, K, B, layout="channels_last")

    zdot = linearise_arrays(f, (X, K, B), dots)
    zbar = symbol_array("g", zdot.shape)
    xbar, kbar, bbar = cg.conv_backward(zbar, X, K, layout="channels_last")
    rhs = pairing(xbar, dots[0]) + pairing(kbar, dots[1]) + pairing(bbar, dots[2])
    assert is_zero(pairing(zbar, zdot) - rhs)
    # the channel mean of the kernel gradient (the recipe of the question thread) breaks it
    wrong = np.repeat(kbar.sum(axis=-1, keepdims=True) / 2, 2, axis=-1)
    assert not is_zero(pairing(zbar, zdot) - pairing(xbar, dots[0]) - pairing(wrong, dots[1])
                       - pairing(bbar, dots[2]))
