"""convgrad.symbolic.layers and convgrad.symbolic.double_backward: the derived adjoints come out in
the stated form and agree with convgrad.nn's backward passes (ReLU, max-pooling, dense, softmax
cross-entropy as the mean over the batch of one sample's loss) and with convgrad.second_order (the
derivatives of both gradients), at concrete sizes, exactly where the maps are polynomial and to
rounding where they are not."""

import numpy as np
import pytest
import sympy as sp

import convgrad as cg
from convgrad import nn
from convgrad import second_order as so
from convgrad.symbolic import Divides, Iverson, instantiate
from convgrad.symbolic.double_backward import grad_input_map_derivation, grad_weight_map_derivation
from convgrad.symbolic.layers import (
    batch_mean_derivation,
    cross_entropy_derivation,
    dense_derivation,
    maxpool_derivation,
    relu_derivation,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def evaluate(formula, arrays, sizes, shape, extra=None):
    """A derived formula at every index of ``shape``, as floats (``extra`` substitutes the rest)."""
    out = np.empty(shape)
    for idx in np.ndindex(*shape):
        e = instantiate(formula.rhs, arrays, {**sizes, **dict(zip(formula.lhs.indices, idx))})
        out[idx] = float(e.subs(extra or {}))
    return out


# --- the layers of convgrad.nn -------------------------------------------------------------------


def test_relu_adjoint_is_the_bracket_and_matches_nn():
    der = relu_derivation()
    s = der.symbols
    m = s["m"]
    assert der.adjoints["x"].rhs == s["ybar"][m] * Iverson(s["x"][m] > 0)
    assert not der.steps["x"][-1].rhs.has(sp.Heaviside)
    x = rng().standard_normal(12)
    x[3] = 0.0  # on the kink: the bracket and nn.ReLU both give 0
    ybar = rng(1).standard_normal(12)
    got = evaluate(der.adjoints["x"], {s["x"]: x, s["ybar"]: ybar}, {s["I"]: 12}, (12,))
    layer = nn.ReLU()
    layer.forward(x)
    np.testing.assert_array_equal(got, layer.backward(ybar))
    assert got[3] == 0.0


def test_maxpool_adjoint_routes_to_the_argmax_and_matches_nn():
    der = maxpool_derivation()
    s = der.symbols
    o, m, a = s["o"], s["m"], s["a"]
    assert der.adjoints["x"].rhs == sp.Sum(s["ybar"][o] * sp.KroneckerDelta(m, a(o)), (o, 0, s["O"] - 1))
    h, w, size = 4, 6, 2
    x = rng().standard_normal((1, 1, h, w))
    layer = nn.MaxPool2d(size)
    y = layer.forward(x)
    ybar = rng(1).standard_normal(y.shape)
    # a(o): the flat index of the maximum of window o, found here by a loop over the windows
    argmax = {}
    for i in range(h // size):
        for j in range(w // size):
            block = x[0, 0, size * i:size * i + size, size * j:size * j + size]
            r, c = np.unravel_index(block.argmax(), block.shape)
            argmax[a(i * (w // size) + j)] = (size * i + r) * w + size * j + c
    got = evaluate(der.adjoints["x"], {s["x"]: x.ravel(), s["ybar"]: ybar.ravel()},
                   {s["O"]: y.size, s["M"]: x.size}, (x.size,), extra=argmax)
    np.testing.assert_array_equal(got, layer.backward(ybar).ravel())


def test_dense_adjoints_equal_nn_dense_exactly():
    der = dense_derivation()

    def backward(x, W, b, ybar):
        layer = nn.Dense(*W.shape, rng=rng())
        layer.params.update(w=W, b=b)
        layer.forward(x)
        return layer.backward(ybar), layer.grads

    sizes = [{"N": 2, "I": 3, "J": 2}, {"N": 1, "I": 2, "J": 4}]
    agreement = der.check({"x": lambda x, W, b, ybar: backward(x, W, b, ybar)[0],
                           "W": lambda x, W, b, ybar: backward(x, W, b, ybar)[1]["w"],
                           "b": lambda x, W, b, ybar: backward(x, W, b, ybar)[1]["b"]}, sizes=sizes)
    assert len(agreement.lines) == 2
    s = der.symbols
    n, i, j = s["n"], s["i"], s["j"]
    assert der.adjoints["b"].rhs == sp.Sum(s["ybar"][n, j], (n, 0, s["N"] - 1))
    assert der.adjoints["W"].rhs == sp.Sum(s["ybar"][n, j] * s["x"][n, i], (n, 0, s["N"] - 1))


def test_dense_check_fails_for_a_gradient_not_summed_over_the_batch():
    der = dense_derivation()

    def last_sample_only(x, W, b, ybar):
        return np.outer(x[-1], ybar[-1])

    with pytest.raises(AssertionError, match="W"):
        der.check("W", last_sample_only, sizes={"N": 2, "I": 2, "J": 2})


def test_cross_entropy_and_the_batch_mean_compose_to_nn_softmax_cross_entropy():
    ce, mean = cross_entropy_derivation(), batch_mean_derivation()
    s, sm = ce.symbols, mean.symbols
    assert mean.adjoints["ell"].rhs == sm["Lbar"] / sm["N"]
    z = rng().standard_normal((3, 4))
    t = np.array([2, 0, 3])
    ellbar = float(mean.adjoints["ell"].rhs.subs({sm["Lbar"]: 1, sm["N"]: 3}))  # 1/3 each
    got = np.stack([evaluate(ce.adjoints["z"], {s["z"]: z[n]}, {s["J"]: 4}, (4,),
                             extra={s["t"]: t[n], s["ellbar"]: ellbar}) for n in range(3)])
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(z, t)
    np.testing.assert_allclose(got, loss.backward(), rtol=1e-13, atol=1e-16)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, (p - np.eye(4)[t]) / 3, rtol=1e-13, atol=1e-16)


def test_cross_entropy_steps_write_the_softmax_as_p():
    der = cross_entropy_derivation()
    s = der.symbols
    j, p, t = s["j"], s["p"], s["t"]
    want = s["ellbar"] * p[j] - s["ellbar"] * sp.KroneckerDelta(j, t)
    assert sp.simplify(der.steps["z"][-1].rhs - want) == 0
    assert not any(st.rhs.has(sp.exp) for st in der.steps["z"][1:])
    assert der.steps["z"][0].rhs.has(sp.exp)


def test_every_layer_derivation_shows_its_steps():
    for der in (relu_derivation(), maxpool_derivation(), dense_derivation(),
                cross_entropy_derivation(), batch_mean_derivation()):
        for steps in der.steps.values():
            assert steps[0].caption.startswith("the forward map")
            assert steps[-1].caption.startswith("read off")
            assert "aligned" in steps._repr_latex_()


# --- the double backward ---------------------------------------------------------------------------

# (N, C, F, M, K, O, s, d, p_lo, p_hi): plain, padded, strided with dilation, strided with remainder
DOUBLE = [
    (1, 2, 2, 5, 2, 4, 1, 1, 0, 0),
    (2, 1, 2, 4, 3, 4, 1, 1, 1, 1),
    (1, 2, 2, 8, 2, 4, 2, 2, 1, 0),
    (1, 2, 1, 7, 3, 3, 2, 1, 0, 0),
]


@pytest.mark.parametrize("case", DOUBLE)
def test_derivatives_of_the_input_gradient_are_conv_and_conv_grad_weight(case):
    N, C, F, M, K, O, s, d, p_lo, p_hi = case
    opts = dict(stride=s, dilation=d, padding=((p_lo, p_hi),))
    assert cg.conv_output_shape((N, C, M), (F, C, K), **opts)[-1] == O
    der = grad_input_map_derivation()
    sizes = dict(N=N, C=C, F=F, M=M, K=K, O=O, s=s, d=d, p_lo=p_lo)
    der.check({"ybar": lambda u, ybar, w: so.grad_input_vjp(u, ybar, w, **opts)[0],
               "w": lambda u, ybar, w: so.grad_input_vjp(u, ybar, w, **opts)[1]}, sizes=sizes)
    # and the first-order map itself is conv_grad_input
    der.check("forward", lambda ybar, w: cg.conv_grad_input(ybar, w, (N, C, M), **opts), sizes=sizes)


@pytest.mark.parametrize("case", DOUBLE)
def test_derivatives_of_the_weight_gradient_are_conv_and_conv_grad_input(case):
    N, C, F, M, K, O, s, d, p_lo, p_hi = case
    opts = dict(stride=s, dilation=d, padding=((p_lo, p_hi),))
    der = grad_weight_map_derivation()
    sizes = dict(N=N, C=C, F=F, M=M, K=K, O=O, s=s, d=d, p_lo=p_lo)
    der.check({"ybar": lambda V, ybar, x: so.grad_weight_vjp(V, ybar, x, **opts)[0],
               "x": lambda V, ybar, x: so.grad_weight_vjp(V, ybar, x, **opts)[1]}, sizes=sizes)
    der.check("forward", lambda ybar, x: cg.conv_grad_weight(ybar, x, (F, C, K), **opts), sizes=sizes)


def test_double_backward_reads_off_in_the_stated_form():
    gi, gw = grad_input_map_derivation(), grad_weight_map_derivation()
    S = gi.symbols
    n, c, f, o, k = (S[i] for i in "ncfok")
    i = S["s"] * o + S["d"] * k - S["p_lo"]
    u, w = gi.symbols["u"], S["w"]
    bracket = Iverson(sp.And(sp.Le(0, i), sp.Le(i, S["M"] - 1)))
    want = sp.Sum(u[n, c, i] * w[f, c, k] * bracket, (c, 0, S["C"] - 1), (k, 0, S["K"] - 1))
    assert sp.simplify(gi.adjoints["ybar"].rhs - want) == 0
    # the weight gradient's x-derivative is the input gradient with V for w: the kernel index
    # (m + p_lo - s*o)/d, an index only where d divides it
    V, m = gw.symbols["V"], S["m"]
    x_adj = gw.adjoints["x"].rhs
    assert x_adj.has(V[f, c, (m + S["p_lo"] - S["s"] * o) / S["d"]])
    assert x_adj.atoms(Divides)


def test_a_wrong_double_backward_fails_the_check():
    der = grad_input_map_derivation()
    sizes = dict(N=1, C=2, F=2, M=5, K=2, O=4, s=1, d=1, p_lo=0)
    with pytest.raises(AssertionError):  # u and w swapped roles: the weight gradient with w for u
        der.check("w", lambda u, ybar, w: cg.conv_grad_weight(ybar, u[:, ::-1], (2, 2, 2)), sizes=sizes)

