"""Object arrays of SymPy symbols go through the same reference code as numbers."""

import numpy as np
import sympy as sp

import convgrad as cg


def symbols(name, shape):
    return np.array(sp.symbols(f"{name}0:{int(np.prod(shape))}"), dtype=object).reshape(shape)


def test_symbolic_forward_and_gradients_agree_with_numbers():
    x, w, dy = symbols("x", (1, 2, 5)), symbols("w", (2, 2, 2)), symbols("g", (1, 2, 3))
    opts = dict(stride=2, padding=((1, 0),), dilation=1)
    y = cg.conv(x, w, **opts)
    dx, dw, db = cg.conv_backward(dy, x, w, **opts)
    assert y.dtype == object and dx.dtype == object and dw.dtype == object
    rng = np.random.default_rng(0)
    vals = {s: rng.standard_normal() for a in (x, w, dy) for s in a.flat}

    def num(a):
        return np.array([float(sp.sympify(e).subs(vals)) for e in a.flat]).reshape(a.shape)

    xn, wn, dyn = num(x), num(w), num(dy)
    np.testing.assert_allclose(num(y), cg.conv(xn, wn, **opts), rtol=1e-13)
    ndx, ndw, ndb = cg.conv_backward(dyn, xn, wn, **opts)
    np.testing.assert_allclose(num(dx), ndx, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(num(dw), ndw, rtol=1e-13)
    np.testing.assert_allclose(num(db), ndb, rtol=1e-13)


def test_symbolic_pairing_identity_is_exact():
    """<y_bar, conv(x, w)> differentiated by each x[m] gives exactly conv_grad_input at m."""
    x, w, dy = symbols("x", (1, 1, 6)), symbols("w", (1, 1, 3)), symbols("g", (1, 1, 4))
    pairing = (cg.conv(x, w) * dy).sum()
    dx = cg.conv_grad_input(dy, w, x.shape)
    dw = cg.conv_grad_weight(dy, x, w.shape)
    for s, d in zip(x.flat, dx.flat):
        assert sp.expand(sp.diff(pairing, s) - d) == 0
    for s, d in zip(w.flat, dw.flat):
        assert sp.expand(sp.diff(pairing, s) - d) == 0
